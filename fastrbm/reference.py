"""Pure-NumPy reference implementation of fastrbm: the test oracle and benchmark baseline.

Everything the Cython kernels compute is written here for clarity, with the same
signatures and the very same random numbers (the Philox4x32-10 mapping documented in
``src_c/philox.h``), so tests can compare sampled states exactly. This module imports
nothing from :mod:`fastrbm._kernels`.

Conventions (see README "Maths"):

* ``W`` is stored as ``components_``: shape ``(n_hidden, n_visible)``.
* Hidden input ``x = c + (v / s) @ W.T``; visible input ``y = b + s * (h @ W)``.
* Gaussian visible units are handled in *scaled* space ``vt = v / s`` inside the
  training step: ``vt | h ~ N(b / s + h @ W, 1)``.
* Unit codes: visible ``0`` bernoulli, ``1`` gaussian; hidden ``0`` bernoulli,
  ``1`` stepped (``n_copies`` tied copies), ``2`` nrelu.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from . import streams

VISIBLE_BERNOULLI, VISIBLE_GAUSSIAN = 0, 1
HIDDEN_BERNOULLI, HIDDEN_STEPPED, HIDDEN_NRELU = 0, 1, 2

#: Terms of the NReLU free energy (infinite stepped sum) below this input are dropped,
#: above it softplus(a) == a to double precision.
NRELU_CUTOFF = 40.0

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = np.uint32(0x9E3779B9), np.uint32(0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)


# --------------------------------------------------------------------------- RNG
def philox4x32_10(counter: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    """Philox4x32-10 block function, vectorised over rows of ``counter`` (n, 4) uint32."""
    c = [counter[:, i].astype(np.uint64) for i in range(4)]
    k0, k1 = np.uint32(key[0]), np.uint32(key[1])
    with np.errstate(over="ignore"):
        for _ in range(10):
            p0 = _M0 * c[0]
            p1 = _M1 * c[2]
            n0 = (p1 >> np.uint64(32)) ^ c[1] ^ np.uint64(k0)
            n2 = (p0 >> np.uint64(32)) ^ c[3] ^ np.uint64(k1)
            c = [n0, p1 & _MASK32, n2, p0 & _MASK32]
            k0 = np.uint32(k0 + _W0)
            k1 = np.uint32(k1 + _W1)
    return np.stack(c, axis=1).astype(np.uint32)


def random_words(seed: int, stream: int, step: int, n_words: int) -> np.ndarray:
    """Words ``0 .. n_words-1`` of the (seed, stream, step) sequence as uint32."""
    n_blocks = (n_words + 3) // 4
    block = np.arange(n_blocks, dtype=np.uint64)
    counter = np.empty((n_blocks, 4), dtype=np.uint32)
    counter[:, 0] = (block & _MASK32).astype(np.uint32)
    counter[:, 1] = (block >> np.uint64(32)).astype(np.uint32)
    counter[:, 2] = np.uint32(step)
    counter[:, 3] = np.uint32(stream)
    seed = int(seed)
    key = (seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF)
    return philox4x32_10(counter, key).reshape(-1)[:n_words]


def words_to_uniform(words: np.ndarray, dtype) -> np.ndarray:
    """Map uint32 words to uniforms strictly inside (0, 1), exactly as the kernels do."""
    if np.dtype(dtype) == np.float32:
        return ((words >> np.uint32(9)).astype(np.float32) + np.float32(0.5)) * np.float32(2.0**-23)
    return (words.astype(np.float64) + 0.5) * 2.0**-32


def uniforms(seed: int, stream: int, step: int, shape, dtype) -> np.ndarray:
    """Uniforms for a C-ordered array of ``shape``: element ``i`` uses word ``i``."""
    n = int(np.prod(shape))
    return words_to_uniform(random_words(seed, stream, step, n), dtype).reshape(shape)


def normals(seed: int, stream: int, step: int, shape) -> np.ndarray:
    """Standard normals (float64) for a C-ordered array of ``shape`` (Box-Muller pairs)."""
    n = int(np.prod(shape))
    n_pairs = (n + 1) // 2
    u = words_to_uniform(random_words(seed, stream, step, 2 * n_pairs), np.float64)
    r = np.sqrt(-2.0 * np.log(u[0::2]))
    t = 2.0 * np.pi * u[1::2]
    z = np.empty(2 * n_pairs)
    z[0::2] = r * np.cos(t)
    z[1::2] = r * np.sin(t)
    return z[:n].reshape(shape)


# ------------------------------------------------------------------ unit maths
def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, stable for large |x|, in the dtype of ``x``."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x), stable."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def nrelu_mean(x: np.ndarray) -> np.ndarray:
    """E[max(0, x + sqrt(sigmoid(x)) * eps)]: the mean of the rectified normal.

    Computed in float64 (as the kernels do) and returned in the dtype of ``x``.
    """
    x64 = np.asarray(x, dtype=np.float64)
    sd = np.sqrt(sigmoid(x64))
    t = x64 / sd
    pdf = np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)
    return (x64 * ndtr(t) + sd * pdf).astype(x.dtype, copy=False)


def hidden_mean(x: np.ndarray, hidden: int, n_copies: int = 1) -> np.ndarray:
    """Mean of the hidden units given their total input ``x`` (bias included)."""
    if hidden == HIDDEN_BERNOULLI:
        return sigmoid(x)
    if hidden == HIDDEN_STEPPED:
        m = np.zeros_like(x)
        for k in range(1, n_copies + 1):
            m += sigmoid(x - x.dtype.type(k - 0.5))
        return m
    if hidden == HIDDEN_NRELU:
        return nrelu_mean(x)
    raise ValueError(f"unknown hidden unit code {hidden}")


def hidden_sample(x: np.ndarray, hidden: int, n_copies: int, seed: int, stream: int, step: int):
    """Sample hidden states for input ``x`` (n_rows, n_hidden) with the documented stream.

    Bernoulli: element ``i`` (C order) uses uniform ``i``. Stepped: copy ``k`` of
    element ``i`` uses uniform ``i * n_copies + k``. NReLU: element ``i`` uses normal ``i``.
    """
    dt = x.dtype
    if hidden == HIDDEN_BERNOULLI:
        u = uniforms(seed, stream, step, x.shape, dt)
        return (u < sigmoid(x)).astype(dt)
    if hidden == HIDDEN_STEPPED:
        u = uniforms(seed, stream, step, x.shape + (n_copies,), dt)
        s = np.zeros_like(x)
        for k in range(n_copies):
            s += (u[..., k] < sigmoid(x - dt.type(k + 0.5))).astype(dt)
        return s
    if hidden == HIDDEN_NRELU:
        eps = normals(seed, stream, step, x.shape).astype(dt)
        return np.maximum(x + np.sqrt(sigmoid(x)) * eps, 0).astype(dt)
    raise ValueError(f"unknown hidden unit code {hidden}")


def hidden_input(v: np.ndarray, W: np.ndarray, c: np.ndarray, sigma=None) -> np.ndarray:
    """x = c + (v / sigma) @ W.T (sigma None for Bernoulli visible units)."""
    vt = v if sigma is None else v / sigma
    return vt @ W.T + c


def visible_input(h: np.ndarray, W: np.ndarray, b: np.ndarray, sigma=None) -> np.ndarray:
    """y = b + sigma * (h @ W): the Bernoulli logit or the Gaussian mean."""
    return b + h @ W if sigma is None else b + sigma * (h @ W)


def visible_mean(y: np.ndarray, visible: int) -> np.ndarray:
    """Mean of the visible units given their input ``y``."""
    return sigmoid(y) if visible == VISIBLE_BERNOULLI else y


def visible_sample(y, visible, sigma, seed, stream, step):
    """Sample visible states: Bernoulli uses uniform ``i``, Gaussian normal ``i``."""
    dt = y.dtype
    if visible == VISIBLE_BERNOULLI:
        return (uniforms(seed, stream, step, y.shape, dt) < sigmoid(y)).astype(dt)
    return (y + sigma * normals(seed, stream, step, y.shape).astype(dt)).astype(dt)


def hidden_conditional(v, W, c, sigma, hidden, n_copies, seed, stream, step):
    """(mean, sample) of h | v."""
    x = hidden_input(v, W, c, sigma)
    return hidden_mean(x, hidden, n_copies), hidden_sample(x, hidden, n_copies, seed, stream, step)


def visible_conditional(h, W, b, sigma, visible, seed, stream, step):
    """(mean, sample) of v | h, in data space."""
    y = visible_input(h, W, b, sigma)
    return visible_mean(y, visible), visible_sample(y, visible, sigma, seed, stream, step)


def hidden_phi(x: np.ndarray, hidden: int, n_copies: int = 1) -> np.ndarray:
    """phi(x) with F(v) = visible term - sum_j phi(x_j), computed in float64."""
    x = np.asarray(x, dtype=np.float64)
    if hidden == HIDDEN_BERNOULLI:
        return softplus(x)
    if hidden == HIDDEN_STEPPED:
        return sum(softplus(x - (k - 0.5)) for k in range(1, n_copies + 1))
    if hidden == HIDDEN_NRELU:
        # Infinite stepped sum: terms with input >= cutoff are linear (closed form),
        # terms with input < -cutoff vanish; about 2 * cutoff terms remain.
        m = np.maximum(0.0, np.floor(x + 0.5 - NRELU_CUTOFF))
        total = m * (x + 0.5) - m * (m + 1) / 2
        for j in range(1, int(2 * NRELU_CUTOFF) + 2):
            a = x - (m + j) + 0.5
            total += np.where(a > -NRELU_CUTOFF, softplus(a), 0.0)
        return total
    raise ValueError(f"unknown hidden unit code {hidden}")


def free_energy(v, W, b, c, sigma, visible, hidden, n_copies=1) -> np.ndarray:
    """F(v) per row (float64): -log sum_h exp(-E(v, h))."""
    x = hidden_input(v, W, c, sigma)
    v64 = np.asarray(v, dtype=np.float64)
    if visible == VISIBLE_BERNOULLI:
        vis = -(v64 @ np.asarray(b, dtype=np.float64))
    else:
        d = (v64 - b) / np.asarray(sigma, dtype=np.float64)
        vis = 0.5 * np.sum(d * d, axis=1)
    return vis - hidden_phi(x, hidden, n_copies).sum(axis=1)


# ------------------------------------------------------------------ Gibbs / CD
def gibbs(v, W, b, c, sigma, visible, hidden, n_copies, n_steps, seed, step,
          purpose=streams.PURPOSE_GIBBS, sample_last=True):
    """Run ``n_steps`` of v -> h -> v from ``v``; returns the final visible state.

    Step ``t`` (1-based) samples h then v with the streams of :mod:`fastrbm.streams`. With ``sample_last=False`` the last visible is its mean.
    """
    for t in range(1, n_steps + 1):
        x = hidden_input(v, W, c, sigma)
        h = hidden_sample(x, hidden, n_copies, seed, streams.hidden(t, purpose), step)
        y = visible_input(h, W, b, sigma)
        if t == n_steps and not sample_last:
            v = visible_mean(y, visible)
        else:
            v = visible_sample(y, visible, sigma, seed, streams.visible(t, purpose), step)
    return v


def cd_step(state, hyper, v_batch, seed, step):
    """One CD-k / PCD-k update of ``state`` (a :class:`fastrbm.state.TrainState`) in place.

    Positive phase: hidden means given the data. Negative phase: a k-step chain from
    the data's hidden sample (CD) or from ``state.chains`` (PCD); hidden means of the
    last visible. The last visible is sampled or its mean (``hyper.sample_visible``).
    Gradients are minibatch means; parameters move by momentum buffers:
    ``m = momentum * m + lr * grad``, ``theta += m``.
    """
    dt = state.W.dtype
    W, b, c = state.W, state.b, state.c
    gauss = hyper.visible == VISIBLE_GAUSSIAN
    s = state.sigma if gauss else None
    vt0 = v_batch / s if gauss else v_batch
    n_pos = v_batch.shape[0]

    x0 = vt0 @ W.T + c
    h0 = hidden_mean(x0, hyper.hidden, hyper.n_copies)
    if hyper.persistent:
        h = state.chains
    else:
        h = hidden_sample(x0, hyper.hidden, hyper.n_copies, seed, streams.hidden(0), step)
    n_neg = h.shape[0]
    for t in range(1, hyper.k + 1):
        yt = h @ W + (b / s if gauss else b)   # scaled-space visible input
        last_mean = t == hyper.k and not hyper.sample_visible
        if gauss:
            vt = yt if last_mean else (
                yt + normals(seed, streams.visible(t), step, yt.shape).astype(dt))
        else:
            p = sigmoid(yt)
            vt = p if last_mean else (
                uniforms(seed, streams.visible(t), step, yt.shape, dt) < p).astype(dt)
        xt = vt @ W.T + c
        if t < hyper.k or hyper.persistent:
            h = hidden_sample(xt, hyper.hidden, hyper.n_copies, seed, streams.hidden(t), step)
    hk = hidden_mean(xt, hyper.hidden, hyper.n_copies)
    if hyper.persistent:
        state.chains[...] = h

    wp, wn = dt.type(1.0 / n_pos), dt.type(1.0 / n_neg)
    grad_W = (h0 * wp).T @ vt0 - (hk * wn).T @ vt
    grad_c = (h0 * wp).sum(0) - (hk * wn).sum(0)
    grad_b = (vt0 * wp).sum(0) - (vt * wn).sum(0)
    if gauss:
        grad_b = grad_b / s
    if hyper.learn_sigma:
        # d(-E)/dz_i with z = log s^2:  (vt - b/s)^2 / 2 - vt * (h @ W) / 2
        def dz(vt_, h_):
            return 0.5 * ((vt_ - b / s) ** 2 - vt_ * (h_ @ W))
        grad_z = (dz(vt0, h0) * wp).sum(0) - (dz(vt, hk) * wn).sum(0)

    lr, mom = dt.type(hyper.learning_rate), dt.type(hyper.momentum)
    if hyper.sparsity_cost > 0:
        d = dt.type(hyper.sparsity_decay)
        state.q[...] = d * state.q + (1 - d) * h0.mean(0)
        pen = dt.type(hyper.sparsity_cost) * (dt.type(hyper.sparsity_target) - state.q)
        grad_c = grad_c + pen
        grad_W = grad_W + np.outer(pen, vt0.mean(0))
    grad_W = grad_W - dt.type(hyper.weight_decay) * W - dt.type(hyper.l1) * np.sign(W)

    state.mW[...] = mom * state.mW + lr * grad_W
    state.mb[...] = mom * state.mb + lr * grad_b
    state.mc[...] = mom * state.mc + lr * grad_c
    W += state.mW
    b += state.mb
    c += state.mc
    if hyper.learn_sigma:
        state.mz[...] = mom * state.mz + dt.type(hyper.sigma_learning_rate) * grad_z
        z = 2 * np.log(state.sigma) + state.mz
        state.sigma[...] = np.maximum(np.exp(z / 2), dt.type(hyper.min_sigma))


def fit_epoch(state, hyper, X, order, seed, step0, n_threads=None):
    """One epoch over ``X[order]`` in minibatches; returns the number of updates made."""
    n = order.shape[0]
    n_updates = 0
    for start in range(0, n, hyper.batch_size):
        rows = order[start:start + hyper.batch_size]
        cd_step(state, hyper, np.ascontiguousarray(X[rows], dtype=state.W.dtype),
                seed, step0 + n_updates)
        n_updates += 1
    return n_updates


def pseudo_likelihood(v, W, b, c, hidden, n_copies=1, chunk_elements=2**22) -> np.ndarray:
    """Exact pseudo-log-likelihood sum_i log p(v_i | v_-i) per row (Bernoulli visible).

    Flipping unit i changes the free energy by
    ``-b_i d_i - sum_j [phi(x_j + d_i W_ji) - phi(x_j)]`` with ``d_i = 1 - 2 v_i``, and
    ``p(v_i | v_-i) = sigmoid(F(v flipped) - F(v))``. Rows are processed in chunks of
    about ``chunk_elements`` (row, site, hidden) triples.
    """
    v = np.asarray(v, dtype=np.float64)
    W64, b64 = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)
    x = v @ W64.T + np.asarray(c, dtype=np.float64)
    n, nv = v.shape
    nh = W64.shape[0]
    out = np.empty(n)
    rows = max(1, chunk_elements // max(1, nv * nh))
    for s in range(0, n, rows):
        vs, xs = v[s:s + rows], x[s:s + rows]
        d = 1 - 2 * vs                                        # (r, nv)
        phi0 = hidden_phi(xs, hidden, n_copies).sum(1)        # (r,)
        xf = xs[:, None, :] + d[:, :, None] * W64.T[None]     # (r, nv, nh)
        phi1 = hidden_phi(xf, hidden, n_copies).sum(2)        # (r, nv)
        delta = -b64 * d - (phi1 - phi0[:, None])             # F(flipped) - F(v)
        out[s:s + rows] = -np.logaddexp(0, -delta).sum(1)
    return out
