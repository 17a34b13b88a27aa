"""Pure-NumPy reference implementation of fastrbm: the test oracle and benchmark baseline.

Everything the Cython kernels compute is written here for clarity, with the same
signatures and the very same random numbers (the Philox4x32-10 mapping documented in
``src_c/philox.h``), so tests can compare sampled states exactly. This module imports
nothing from :mod:`fastrbm._kernels`; it reads only the shared constants (unit codes,
NReLU's cutoff and window) from the compiled :mod:`fastrbm._constants`.

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
from ._constants import (HIDDEN_CODES, NRELU_AIS_STRIDE, NRELU_CUTOFF, NRELU_WINDOW_FLOAT32,
                         NRELU_WINDOW_FLOAT64, VISIBLE_CODES)

VISIBLE_BERNOULLI, VISIBLE_GAUSSIAN = VISIBLE_CODES["bernoulli"], VISIBLE_CODES["gaussian"]
HIDDEN_BERNOULLI, HIDDEN_STEPPED, HIDDEN_NRELU = (
    HIDDEN_CODES["bernoulli"], HIDDEN_CODES["stepped"], HIDDEN_CODES["nrelu"])

# NRELU_CUTOFF: terms of the NReLU free energy (infinite stepped sum) below this input
# are dropped, above it softplus(a) == a to double precision.

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
    with np.errstate(divide="ignore", invalid="ignore"):   # sd underflows to 0 far below
        t = x64 / sd
        pdf = np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)
        mean = x64 * ndtr(t) + sd * pdf
    return np.where(sd > 0, mean, 0.0).astype(x.dtype, copy=False)


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
        if not hyper.sample_visible:
            # a mean reconstruction leaves out the unit noise: E[eps^2] / 2 per row
            grad_z = grad_z - dt.type(0.5)

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


# ------------------------------------------------------------------ evaluation
# Exact log Z, annealed importance sampling (Salakhutdinov & Murray 2008) and the
# small evaluation helpers, in NumPy: the oracle of fastrbm._ais and fastrbm.evaluation.

#: Largest number of states log_partition_exact enumerates.
MAX_EXACT_STATES = 2**25

# AIS draws for the exact NReLU sampler: element ``i`` of the (runs x hidden) matrix
# uses uniforms ``i * NRELU_AIS_STRIDE + slot`` (slot < 2 * window, see nrelu_exact_sample).


def _hidden_levels(hidden: int, n_copies: int):
    """Values a hidden unit takes and their log multiplicity when enumerated.

    A stepped unit is N tied binary copies with offsets -(k - 1/2); grouping the 2^N
    copy states by their count m gives the weight e_m(exp(-1/2), ..., exp(-(N - 1/2))),
    the elementary symmetric polynomial, computed in log space.
    """
    if hidden == HIDDEN_BERNOULLI:
        return np.array([0.0, 1.0]), np.zeros(2)
    logw = np.full(n_copies + 1, -np.inf)
    logw[0] = 0.0
    for k in range(1, n_copies + 1):
        shifted = np.concatenate(([-np.inf], logw[:-1] - (k - 0.5)))
        logw = np.logaddexp(logw, shifted)
    return np.arange(n_copies + 1, dtype=np.float64), logw


def exact_states(visible: int, hidden: int, n_visible: int, n_hidden: int,
                 n_copies: int = 1):
    """(side, n_states) that log_partition_exact would enumerate; side None: no exact form.

    Bernoulli visible: the visible states, or the hidden configurations when fewer
    (not for NReLU, whose unit has infinitely many states). Gaussian visible: the
    hidden configurations (v is integrated in closed form); NReLU: no exact form.
    """
    n_vis_states = 2**n_visible if visible == VISIBLE_BERNOULLI else None
    if hidden == HIDDEN_NRELU:
        return ("visible", n_vis_states) if n_vis_states is not None else (None, None)
    levels = 2 if hidden == HIDDEN_BERNOULLI else n_copies + 1
    n_hid_states = levels**n_hidden
    if n_vis_states is not None and n_vis_states <= n_hid_states:
        return "visible", n_vis_states
    return "hidden", n_hid_states


def log_partition_exact(W, b, c, sigma, visible, hidden, n_copies=1, chunk=2**16) -> float:
    """log Z by enumeration, in float64 (see :func:`exact_states` for which side).

    Raises ValueError when the model has no exact form or needs more than
    ``MAX_EXACT_STATES`` states.
    """
    W, b, c = (np.asarray(a, dtype=np.float64) for a in (W, b, c))
    nh, nv = W.shape
    side, n_states = exact_states(visible, hidden, nv, nh, n_copies)
    if side is None:
        raise ValueError("log Z of Gaussian visible units with NReLU hidden units has no "
                         "exact form; estimate it with AIS")
    if n_states > MAX_EXACT_STATES:
        raise ValueError(f"exact enumeration needs {n_states} {side} states, more than the "
                         f"limit {MAX_EXACT_STATES} (2**25); estimate log Z with AIS")
    s = None if visible == VISIBLE_BERNOULLI else np.asarray(sigma, dtype=np.float64)
    parts = []
    if side == "visible":
        for start in range(0, n_states, chunk):
            idx = np.arange(start, min(n_states, start + chunk), dtype=np.int64)
            v = ((idx[:, None] >> np.arange(nv, dtype=np.int64)) & 1).astype(np.float64)
            parts.append(_logsumexp(-free_energy(v, W, b, c, None, visible, hidden, n_copies)))
        return float(_logsumexp(np.array(parts)))
    values, logmult = _hidden_levels(hidden, n_copies)
    n_levels = values.size
    for start in range(0, n_states, chunk):
        idx = np.arange(start, min(n_states, start + chunk), dtype=np.int64)
        digits = (idx[:, None] // n_levels ** np.arange(nh, dtype=np.int64)) % n_levels
        h = values[digits]
        a = h @ W                                          # (states, nv)
        neg_f = h @ c + logmult[digits].sum(1)
        if visible == VISIBLE_BERNOULLI:                   # sum over v of exp(b.v + a.v)
            neg_f += softplus(a + b).sum(1)
        else:                                              # Gaussian integral over v
            neg_f += (a * (b / s) + 0.5 * a * a).sum(1)
        parts.append(_logsumexp(neg_f))
    log_z = float(_logsumexp(np.array(parts)))
    if visible == VISIBLE_GAUSSIAN:
        log_z += float(np.sum(np.log(np.sqrt(2 * np.pi) * s)))
    return log_z


def _logsumexp(x: np.ndarray) -> float:
    m = np.max(x)
    if not np.isfinite(m):
        return float(m)
    return float(m + np.log(np.sum(np.exp(x - m))))


def ais_schedule() -> np.ndarray:
    """Salakhutdinov & Murray's inverse temperatures: 0 to 0.5 by 1e-3, 0.5 to 0.9 by
    1e-4, 0.9 to 1 by 1e-5; 14,501 values (14,500 intermediate distributions)."""
    return np.concatenate([np.linspace(0.0, 0.5, 501)[:-1], np.linspace(0.5, 0.9, 4001)[:-1],
                           np.linspace(0.9, 1.0, 10001)])


def ais_base(visible: int, X=None, b=None, sigma=None, pseudo_count: float = 0.5,
             min_std: float = 1e-3):
    """Visible parameters ``(base_b, base_sigma)`` of the AIS base model (zero weights).

    Bernoulli visible: the base-rate model, logit of the data's marginals with
    ``pseudo_count`` added to the counts of ones and of zeros; uniform (zero biases)
    without data (``base_sigma`` None). Gaussian visible: N(mean, std^2) of the data
    per unit (std floored at ``min_std``); without data the model's own b and sigma.
    """
    if visible == VISIBLE_BERNOULLI:
        if X is None:
            return np.zeros(np.asarray(b).shape[0]), None
        X = np.asarray(X, dtype=np.float64)
        p = (X.sum(0) + pseudo_count) / (X.shape[0] + 2 * pseudo_count)
        return np.log(p) - np.log1p(-p), None
    if X is None:
        return np.asarray(b, dtype=np.float64).copy(), np.asarray(sigma, dtype=np.float64).copy()
    X = np.asarray(X, dtype=np.float64)
    return X.mean(0), np.maximum(X.std(0), min_std)


def ais_log_z_base(visible, hidden, n_copies, n_hidden, base_b, base_sigma) -> float:
    """log Z of the base model: its visible factor times the hidden units at zero input."""
    hid = n_hidden * float(hidden_phi(np.zeros(1), hidden, n_copies)[0])
    if visible == VISIBLE_BERNOULLI:
        return float(softplus(np.asarray(base_b, dtype=np.float64)).sum()) + hid
    return float(np.sum(0.5 * np.log(2 * np.pi * np.asarray(base_sigma) ** 2))) + hid


def ais_visible_coefficients(beta: float, b, base_b, sigma, base_sigma, visible, dtype):
    """(bias, scale, sd) of the tempered visible conditional at inverse temperature beta.

    The path interpolates the parameters: ``b_beta = (1 - beta) base_b + beta b``,
    weights and hidden biases times beta. Bernoulli: p(v_i = 1 | h) =
    sigmoid(bias_i + scale_i (h W)_i) with bias = b_beta, scale = beta. Gaussian: the
    visible term is the geometric mix of N(base_b, base_sigma^2) and N(b, sigma^2), so
    v_i | h ~ N(bias_i + scale_i (h W)_i, sd_i^2) with precision
    lam = (1 - beta)/base_sigma^2 + beta/sigma^2, bias the precision-weighted mean,
    scale = beta / (sigma lam), sd = lam^-1/2. Computed in float64, returned in dtype;
    fastrbm._ais evaluates the same expressions in the same order.
    """
    dt = np.dtype(dtype)
    if visible == VISIBLE_BERNOULLI:
        bias = (1 - beta) * base_b + beta * b
        return bias.astype(dt), np.full(bias.shape, beta, dtype=dt), None
    lam = (1 - beta) / (base_sigma * base_sigma) + beta / (sigma * sigma)
    mu = ((1 - beta) * base_b / (base_sigma * base_sigma) + beta * b / (sigma * sigma)) / lam
    kappa = beta / (sigma * lam)
    sd = 1 / np.sqrt(lam)
    return mu.astype(dt), kappa.astype(dt), sd.astype(dt)


def ais_visible_sample(Y, bias, scale, sd, visible, seed, stream, step):
    """Tempered visible sample from products ``Y = h @ W`` (see ais_visible_coefficients)."""
    y = Y * scale + bias
    if visible == VISIBLE_BERNOULLI:
        return (uniforms(seed, stream, step, y.shape, y.dtype) < sigmoid(y)).astype(y.dtype)
    return y + sd * normals(seed, stream, step, y.shape).astype(y.dtype)


def nrelu_exact_window(dtype) -> int:
    """Half-width T of the exact NReLU sampler's window for ``dtype``.

    Copies with input >= T always fire and copies with input <= -T never do, for any
    uniform of that precision: sigmoid(T) rounds to 1 and sigmoid(-T) is below the
    smallest uniform (float32: T = 17; float64: T = 37).
    """
    return NRELU_WINDOW_FLOAT32 if np.dtype(dtype) == np.float32 else NRELU_WINDOW_FLOAT64


def nrelu_exact_sample(x, seed, stream, step):
    """Exact sample of the infinite stepped sum sum_{k>=1} Bernoulli(sigmoid(x - k + 1/2)).

    This is the unit whose free energy defines an NReLU unit; max(0, x + N(0,
    sigmoid(x))) only approximates it. With T = nrelu_exact_window(dtype): the first
    ``m = max(0, floor(x + 1/2 - T))`` copies always fire; copy ``k = m + 1 + j``
    (slot j < 2T) fires when its input ``x - (k - 1/2)`` is above -T and uniform
    ``i * NRELU_AIS_STRIDE + j`` is below its sigmoid; later copies never fire.
    """
    dt = x.dtype
    T = nrelu_exact_window(dt)
    m = np.maximum(0.0, np.floor(x.astype(np.float64) + 0.5 - T))
    u = uniforms(seed, stream, step, x.shape + (NRELU_AIS_STRIDE,), dt)
    count = m.copy()
    for j in range(2 * T):
        a = x - (m + 1 + j - 0.5).astype(dt)
        fire = (a > -T) & (u[..., j] < sigmoid(a))
        count += fire
    return count.astype(dt)


def ais(W, b, c, sigma, visible, hidden, n_copies, betas, base_b, base_sigma, n_runs,
        seed, purpose=streams.PURPOSE_AIS, progress=None, chunk=1000):
    """Annealed importance sampling of log Z; returns (log_weights, log_z_base).

    The path of intermediate models interpolates the parameters from the base model
    (zero weights and hidden biases, visible parameters ``base_b``/``base_sigma``) to
    the model: weights and hidden biases times beta, visible term as in
    :func:`ais_visible_coefficients`; the unit types are kept, so every intermediate
    is an RBM of the same kind. For Bernoulli visible and hidden units this is
    Salakhutdinov & Murray's path.

    Random streams: the base sample is step 0 of stream ``streams.visible(1, purpose)``;
    transition k (1 <= k < K) samples h with ``streams.hidden(1, purpose)`` and v with
    ``streams.visible(1, purpose)``, both at step k; element indices as in Gibbs
    sampling (NReLU: :func:`nrelu_exact_sample`).

    log w = sum_k [-F_k(v_k) + F_{k-1}(v_k)] in float64, with F_beta the free energy of
    the model at beta; log Z ~ log_z_base + log mean exp(log w). ``progress(k, K)`` is
    called every ``chunk`` transitions and at the end.
    """
    dt = np.asarray(W).dtype
    W = np.asarray(W)
    c = np.asarray(c)
    nh, nv = W.shape
    b64 = np.asarray(b, dtype=np.float64)
    bA = np.asarray(base_b, dtype=np.float64)
    gauss = visible == VISIBLE_GAUSSIAN
    s64 = np.asarray(sigma, dtype=np.float64) if gauss else None
    sA = np.asarray(base_sigma, dtype=np.float64) if gauss else None
    W_hid = (W / np.asarray(sigma, dtype=dt)).astype(dt) if gauss else W
    betas = np.asarray(betas, dtype=np.float64)
    K = betas.size - 1
    s_hid, s_vis = streams.hidden(1, purpose), streams.visible(1, purpose)

    bias, scale, sd = ais_visible_coefficients(0.0, b64, bA, s64, sA, visible, dt)
    v = ais_visible_sample(np.zeros((n_runs, nv), dtype=dt), bias, scale, sd, visible,
                           seed, s_vis, 0)
    log_w = np.zeros(n_runs)
    for k in range(1, K + 1):
        a = v @ W_hid.T + c                                   # raw hidden input, dtype
        a64 = a.astype(np.float64)
        v64 = v.astype(np.float64)
        if gauss:
            vis = (0.5 * ((v64 - bA) / sA) ** 2 - 0.5 * ((v64 - b64) / s64) ** 2).sum(1)
        else:
            vis = v64 @ (b64 - bA)
        hid = ais_phi_increment(a64, betas[k - 1], betas[k], hidden, n_copies).sum(1)
        log_w += (betas[k] - betas[k - 1]) * vis + hid
        if progress is not None and (k % chunk == 0 or k == K):
            progress(k, K)
        if k == K:
            break
        x = a * dt.type(betas[k])
        if hidden == HIDDEN_NRELU:
            h = nrelu_exact_sample(x, seed, s_hid, k)
        else:
            h = hidden_sample(x, hidden, n_copies, seed, s_hid, k)
        bias, scale, sd = ais_visible_coefficients(betas[k], b64, bA, s64, sA, visible, dt)
        v = ais_visible_sample(h @ W, bias, scale, sd, visible, seed, s_vis, k)
    return log_w, ais_log_z_base(visible, hidden, n_copies, nh, bA, sA)


def ais_phi_increment(a, beta_prev, beta, hidden, n_copies=1):
    """phi(beta a) - phi(beta_prev a) elementwise, in float64, without cancellation.

    For a binary copy with input x0 = beta_prev a - offset, softplus(x0 + d) -
    softplus(x0) = log1p(sigmoid(x0) expm1(d)) with d = (beta - beta_prev) a: one
    exponential fewer than two softplus, and exact where the two are nearly equal.
    NReLU units (about 80 terms) use the plain difference of free-energy terms.
    """
    a = np.asarray(a, dtype=np.float64)
    if hidden == HIDDEN_NRELU:
        return hidden_phi(beta * a, hidden) - hidden_phi(beta_prev * a, hidden)
    x0 = beta_prev * a
    em = np.expm1((beta - beta_prev) * a)
    if hidden == HIDDEN_BERNOULLI:
        return np.log1p(sigmoid(x0) * em)
    return sum(np.log1p(sigmoid(x0 - (k - 0.5)) * em) for k in range(1, n_copies + 1))


def log_likelihood(v, W, b, c, sigma, visible, hidden, n_copies, log_z) -> np.ndarray:
    """log p(v) = -F(v) - log Z per row."""
    return -free_energy(v, W, b, c, sigma, visible, hidden, n_copies) - log_z
