"""Pure-NumPy twin of the compiled kernels: the test oracle, the benchmark baseline and
the ``"numpy"`` backend of :mod:`fastrbm.ops`.

Everything the Cython kernels compute is written here for clarity, with the very same
random numbers (the Philox4x32-10 mapping of docs/rng.md), so tests can compare sampled
states exactly. The functions the kernels export (``hidden_conditional``,
``visible_conditional``, ``gibbs``, ``free_energy``, ``fit_epoch``, ``make_workspace``,
``fill_uniforms``, ``fill_normals``, ``ais``, ``reverse_ais``) have the kernels'
signatures, so choosing a backend is choosing a module. The deterministic unit maths comes from
:mod:`fastrbm._maths`, which the production code shares.

Conventions (see docs/units.md, "The model and the learning rule"):

* ``W`` is stored as ``components_``: shape ``(n_hidden, n_visible)``.
* Hidden input ``x = c + (v / s) @ W.T``; visible input ``y = b + s * (h @ W)``.
* Gaussian visible units are handled in *scaled* space ``vt = v / s`` inside the
  training step: ``vt | h ~ N(b / s + h @ W, 1)``.
* Unit codes: visible ``0`` bernoulli, ``1`` gaussian; hidden ``0`` bernoulli,
  ``1`` stepped (``n_copies`` tied copies), ``2`` nrelu.
"""
from __future__ import annotations

import numpy as np

from . import streams
# the deterministic maths is shared with the production code; re-exported so that the
# oracle offers every function the kernels have a twin of
from ._maths import (ais_log_z_base, hidden_input, hidden_mean, hidden_phi,  # noqa: F401
                     nrelu_mean, sigmoid, softplus)
from ._maths import free_energy as _free_energy
from ._maths import pseudo_likelihood as _pseudo_likelihood
from ._maths import log_likelihood  # noqa: F401
from .units import (HIDDEN_BERNOULLI, HIDDEN_NRELU, HIDDEN_STEPPED,  # noqa: F401
                    NRELU_CUTOFF, VISIBLE_BERNOULLI, VISIBLE_GAUSSIAN)
from ._constants import (NRELU_AIS_STRIDE, NRELU_WINDOW_FLOAT32, NRELU_WINDOW_FLOAT64,
                         OPTIMIZER_CODES)

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


def hidden_conditional(V, W, c, sigma, hidden, n_copies, seed, stream, step,
                       mean_out=None, sample_out=None, n_threads=None):
    """Means and samples of h | v; the kernel's signature.

    Fills ``mean_out`` / ``sample_out`` when given and returns them (as the kernel does);
    with neither it returns the new arrays (mean, sample). ``n_threads`` is accepted
    for the signature (NumPy's BLAS runs at the caller's setting).
    """
    x = hidden_input(V, W, c, sigma)
    mean = hidden_mean(x, hidden, n_copies)
    sample = hidden_sample(x, hidden, n_copies, seed, stream, step)
    if mean_out is None and sample_out is None:
        return mean, sample
    if mean_out is not None:
        mean_out[...] = mean
    if sample_out is not None:
        sample_out[...] = sample
    return mean_out, sample_out


def visible_conditional(H, W, b, sigma, visible, seed, stream, step, out=None, sample=None,
                        n_threads=None):
    """The visible sample (``sample=True``) or mean of v | h in data space, written into
    ``out``; the kernel's signature. Without ``out`` it returns (mean, sample)."""
    y = visible_input(H, W, b, sigma)
    if out is None:
        return visible_mean(y, visible), visible_sample(y, visible, sigma, seed, stream, step)
    out[...] = visible_sample(y, visible, sigma, seed, stream, step) if sample else \
        visible_mean(y, visible)
    return out


def free_energy(V, W, b, c, sigma, visible, hidden, n_copies=1, n_threads=None):
    """F(v) per row (float64): -log sum_h exp(-E(v, h)); the kernel's signature."""
    return _free_energy(V, W, b, c, sigma, visible, hidden, n_copies)


def pseudo_likelihood(V, W, b, c, hidden, n_copies=1, n_threads=None):
    """Exact pseudo-log-likelihood per row (float64, Bernoulli visible units); the
    kernel's signature."""
    return _pseudo_likelihood(V, W, b, c, hidden, n_copies)


def fill_uniforms(out, seed, stream, step):
    """Fill ``out`` with :func:`uniforms` of its shape and dtype; the kernel's signature."""
    out[...] = uniforms(seed, stream, step, out.shape, out.dtype)
    return out


def fill_normals(out, seed, stream, step):
    """Fill ``out`` with :func:`normals` (rounded to its dtype); the kernel's signature."""
    out[...] = normals(seed, stream, step, out.shape)
    return out


def make_workspace(hyper, n_visible, n_hidden, dtype):
    """No workspace: the NumPy twin allocates as it goes (the kernel's signature)."""
    return None


# ------------------------------------------------------------------ Gibbs / CD
def gibbs(V, W, b, c, sigma, visible, hidden, n_copies, n_steps, seed, step,
          purpose=streams.PURPOSE_GIBBS, sample_last=True, n_threads=None, progress=None):
    """Run ``n_steps`` of v -> h -> v from ``V``; returns the final visible state.

    Step ``t`` (1-based) samples h then v with the streams of :mod:`fastrbm.streams`.
    With ``sample_last=False`` the last visible is its mean. ``progress(t, n_steps)``
    after each step.
    """
    v = V
    for t in range(1, n_steps + 1):
        x = hidden_input(v, W, c, sigma)
        h = hidden_sample(x, hidden, n_copies, seed, streams.hidden(t, purpose), step)
        y = visible_input(h, W, b, sigma)
        if t == n_steps and not sample_last:
            v = visible_mean(y, visible)
        else:
            v = visible_sample(y, visible, sigma, seed, streams.visible(t, purpose), step)
        if progress is not None:
            progress(t, n_steps)
    return v


def cd_step(state, hyper, v_batch, seed, step):
    """One CD-k / PCD-k update of ``state`` (a :class:`fastrbm.state.TrainState`) in place.

    Positive phase: hidden means given the data. Negative phase: a k-step chain from
    the data's hidden sample (CD) or from ``state.chains`` (PCD); hidden means of the
    last visible. The last visible is sampled or its mean (``hyper.sample_visible``).
    Gradients are minibatch means; parameters move by momentum buffers:
    ``m = momentum * m + lr * grad``, ``theta += m``, or by Adam (``hyper.optimizer``).
    Fast PCD (``hyper.fast_weights``): the chains sample with W + fast_W, b + fast_b,
    c + fast_c, and the fast parameters follow the sampling gradient with their own
    learning rate and decay.
    """
    dt = state.W.dtype
    W, b, c = state.W, state.b, state.c
    gauss = hyper.visible == VISIBLE_GAUSSIAN
    s = state.sigma if gauss else None
    # the chains' parameters (the model's own without fast weights)
    Wn, bn, cn = ((W + state.fast_W, b + state.fast_b, c + state.fast_c)
                  if hyper.fast_weights else (W, b, c))
    vt0 = v_batch / s if gauss else v_batch
    n_pos = v_batch.shape[0]

    x0 = vt0 @ W.T + c
    h0 = hidden_mean(x0, hyper.hidden, hyper.n_copies)
    if hyper.persistent:
        h = state.chains
    else:
        h = hidden_sample(x0, hyper.hidden, hyper.n_copies, seed, streams.hidden(0), step)
    n_temps = max(1, len(hyper.betas))
    # parallel tempering: beta_m per chain row, the beta = 1 set of chains first (the
    # statistics come from it); beta scales -E but for the visible quadratic term of
    # Gaussian units (proper at beta = 0) and the stepped units' offsets
    beta = (np.repeat(np.asarray(hyper.betas, dtype=dt), h.shape[0] // n_temps)[:, None]
            if n_temps > 1 else dt.type(1))
    n_neg = h.shape[0] // n_temps
    for t in range(1, hyper.k + 1):
        bias_v = bn / s if gauss else bn
        # scaled-space visible input; tempered as the kernel does: beta x + (beta - 1) bias,
        # then + bias
        yt = (beta * (h @ Wn) if gauss or n_temps == 1
              else beta * (h @ Wn) + (beta - 1) * bias_v) + bias_v
        last_mean = t == hyper.k and not hyper.sample_visible
        if gauss:
            vt = yt if last_mean else (
                yt + normals(seed, streams.visible(t), step, yt.shape).astype(dt))
        else:
            p = sigmoid(yt)
            vt = p if last_mean else (
                uniforms(seed, streams.visible(t), step, yt.shape, dt) < p).astype(dt)
        interaction = vt @ Wn.T
        xt = (beta * interaction if n_temps == 1 else beta * interaction + (beta - 1) * cn) + cn
        if t < hyper.k or hyper.persistent:
            h = hidden_sample(xt, hyper.hidden, hyper.n_copies, seed, streams.hidden(t), step)
    hk = hidden_mean(xt[:n_neg], hyper.hidden, hyper.n_copies)
    v_chains, vt = vt, vt[:n_neg]
    if hyper.persistent:
        state.chains[...] = h
    if n_temps > 1:
        # the tempered part of -E: h . (W v + c), and b . v for Bernoulli visible units
        energy = (h.astype(np.float64) * (interaction.astype(np.float64) + c)).sum(1)
        if not gauss:
            energy = energy + (v_chains.astype(np.float64) * b).sum(1)
        _swaps(state, hyper, energy, seed, step)

    wp, wn = dt.type(1.0 / n_pos), dt.type(1.0 / n_neg)
    grad_W = (h0 * wp).T @ vt0 - (hk * wn).T @ vt
    grad_c = (h0 * wp).sum(0) - (hk * wn).sum(0)
    grad_b = (vt0 * wp).sum(0) - (vt * wn).sum(0)
    if gauss:
        grad_b = grad_b / s
    if hyper.fast_weights:
        # the fast parameters follow the sampling gradient alone
        decay, flr = dt.type(hyper.fast_decay), dt.type(hyper.fast_learning_rate)
        state.fast_W[...] = decay * state.fast_W + flr * grad_W
        state.fast_b[...] = decay * state.fast_b + flr * grad_b
        state.fast_c[...] = decay * state.fast_c + flr * grad_c
    if hyper.learn_sigma:
        # d(-E)/dz_i with z = log s^2:  (vt - b/s)^2 / 2 - vt * (h @ W) / 2
        def dz(vt_, h_):
            return 0.5 * ((vt_ - b / s) ** 2 - vt_ * (h_ @ W))
        grad_z = (dz(vt0, h0) * wp).sum(0) - (dz(vt, hk) * wn).sum(0)
        if not hyper.sample_visible:
            # a mean reconstruction leaves out the unit noise: E[eps^2] / 2 per row
            grad_z = grad_z - dt.type(0.5)

    lr, mom = dt.type(hyper.learning_rate), dt.type(hyper.momentum)
    if hyper.centering:
        # Melchior et al. 2016 in the ordinary parameters: the hidden offset moves first
        # (the model does not change with it), then the centered weight gradient
        # <(v - mu)(h - lambda)> of the rows weighted +1/n_pos, -1/n_neg (their weights
        # sum to 0, hence two rank-1 terms)
        mu, lam = state.visible_offset, state.hidden_offset
        rate = dt.type(hyper.centering_rate)
        lam[...] = (1 - rate) * lam + rate * (h0 * wp).sum(0)
        grad_W = grad_W - (np.outer(grad_c, mu) + np.outer(lam, (vt0 * wp).sum(0)
                                                           - (vt * wn).sum(0)))
    if hyper.sparsity_cost > 0:
        d = dt.type(hyper.sparsity_decay)
        state.q[...] = d * state.q + (1 - d) * h0.mean(0)
        pen = dt.type(hyper.sparsity_cost) * (dt.type(hyper.sparsity_target) - state.q)
        grad_c = grad_c + pen
        grad_W = grad_W + np.outer(pen, vt0.mean(0))
    grad_W = grad_W - dt.type(hyper.weight_decay) * W - dt.type(hyper.l1) * np.sign(W)

    if hyper.optimizer == OPTIMIZER_CODES["adam"]:
        alpha, alpha_z, adam = _adam(state, hyper, dt)
        step_W = adam(state.mW, state.vW, grad_W, alpha)
        step_b = adam(state.mb, state.vb, grad_b, alpha)
        step_c = adam(state.mc, state.vc, grad_c, alpha)
        if hyper.learn_sigma:
            step_z = adam(state.mz, state.vz, grad_z, alpha_z)
        state.adam_steps[0] += 1
    else:
        state.mW[...] = mom * state.mW + lr * grad_W
        state.mb[...] = mom * state.mb + lr * grad_b
        state.mc[...] = mom * state.mc + lr * grad_c
        step_W, step_b, step_c = state.mW, state.mb, state.mc
        if hyper.learn_sigma:
            state.mz[...] = mom * state.mz + dt.type(hyper.sigma_learning_rate) * grad_z
            step_z = state.mz
    W += step_W
    b += step_b
    c += step_c
    if hyper.centering:
        # the ordinary biases c' = c_c - W mu, b' = b_c - s W lambda follow the centered
        # ones: subtract the change of W times the offsets
        c -= step_W @ state.visible_offset
        b -= (s if gauss else 1) * (state.hidden_offset @ step_W)
    if hyper.learn_sigma:
        z = 2 * np.log(state.sigma) + step_z
        state.sigma[...] = np.maximum(np.exp(z / 2), dt.type(hyper.min_sigma))


def _swaps(state, hyper, energy, seed, step):
    """Parallel tempering's swaps after a sweep (fastrbm/_kernels.pyx, _swaps): for each
    ladder b and each pair (m, m + 1) with m of the step's parity, accept with
    min(1, exp((beta_m - beta_m+1)(T_m+1 - T_m))), T the tempered part of a chain state's
    -E, uniform b * n_temperatures + m of the swap stream; exchange the hidden states."""
    betas, chains = hyper.betas, state.chains
    n_temps = len(betas)
    per = chains.shape[0] // n_temps
    u = uniforms(seed, streams.swap(), step, (per * n_temps,), np.float64)
    for b in range(per):
        for m in range(step % 2, n_temps - 1, 2):
            lo, hi = m * per + b, (m + 1) * per + b
            log_r = (betas[m] - betas[m + 1]) * (energy[hi] - energy[lo])
            state.swap_attempts[m] += 1
            if log_r >= 0 or u[b * n_temps + m] < np.exp(log_r):
                state.swap_accepts[m] += 1
                chains[[lo, hi]] = chains[[hi, lo]]


def _adam(state, hyper, dt):
    """Adam's step sizes for update t = state.adam_steps + 1 and the moment update.

    ``alpha m / (sqrt(v) + eps)`` with ``alpha = lr sqrt(1 - b2^t) / (1 - b1^t)`` and
    ``eps = epsilon sqrt(1 - b2^t)`` is Kingma & Ba's ``lr m^ / (sqrt(v^) + epsilon)``
    with the bias-corrected moments m^, v^; computed in float64 as the kernel does.
    """
    t = int(state.adam_steps[0]) + 1
    c1 = 1 - hyper.beta_1 ** t
    c2 = np.sqrt(1 - hyper.beta_2 ** t)
    alpha = dt.type(hyper.learning_rate * c2 / c1)
    alpha_z = dt.type(hyper.sigma_learning_rate * c2 / c1)
    eps = dt.type(hyper.epsilon * c2)
    b1, b2 = dt.type(hyper.beta_1), dt.type(hyper.beta_2)

    def adam(m, v, g, step_size):
        m[...] = b1 * m + (1 - b1) * g
        v[...] = b2 * v + (1 - b2) * (g * g)
        return step_size * m / (np.sqrt(v) + eps)

    return alpha, alpha_z, adam


def fit_epoch(state, hyper, X, order, seed, step0, n_threads=None, workspace=None,
              small_gemm=None):
    """One epoch over ``X[order]`` in minibatches; returns the number of updates made.
    The kernel's signature (``workspace`` and ``small_gemm`` have no meaning here)."""
    n = order.shape[0]
    n_updates = 0
    for start in range(0, n, hyper.batch_size):
        rows = order[start:start + hyper.batch_size]
        cd_step(state, hyper, np.ascontiguousarray(X[rows], dtype=state.W.dtype),
                seed, step0 + n_updates)
        n_updates += 1
    return n_updates


# ------------------------------------------------------------------ evaluation
# Exact log Z, annealed importance sampling (Salakhutdinov & Murray 2008) and the
# small evaluation helpers, in NumPy: the oracle of fastrbm._ais and fastrbm.evaluation.


# AIS draws for the exact NReLU sampler: element ``i`` of the (runs x hidden) matrix
# uses uniforms ``i * NRELU_AIS_STRIDE + slot`` (slot < 2 * window, see nrelu_exact_sample).


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
        seed, purpose=None, n_threads=None, progress=None, chunk=None):
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
    called every ``chunk`` transitions (default 1000) and at the end. The kernel's
    signature: ``purpose`` None is ``streams.PURPOSE_AIS``.
    """
    purpose = streams.PURPOSE_AIS if purpose is None else purpose
    v0 = np.zeros((n_runs, np.asarray(W).shape[1]), dtype=np.asarray(W).dtype)
    return _anneal(W, b, c, sigma, visible, hidden, n_copies, np.asarray(betas, np.float64),
                   base_b, base_sigma, v0, False, seed, purpose, progress, chunk)


def reverse_ais(W, b, c, sigma, visible, hidden, n_copies, betas, base_b, base_sigma, X,
                n_runs, seed, purpose=None, n_threads=None, progress=None, chunk=None):
    """RAISE (Burda, Grosse & Salakhutdinov 2015): the reverse chains of every row of X.

    Returns (S, log_z_base), S of shape (n_rows, n_runs): chain ``i * n_runs + q`` starts
    at row i and runs the betas downwards, beta_K = 1 to beta_0 = 0. Transition t
    (0 <= t < K) is one Gibbs sweep at beta_{K-t}, h ~ p(h | v) then v ~ p(v | h),
    which is reversible for the marginal p_{K-t}(v), so it is its own reverse; after it
    the weight gets F_{K-t}(v) - F_{K-t-1}(v), minus AIS's increment at that state.
    With v_K = x and v_{k-1} the state after the sweep at beta_k,

        log w = log p_0(v_0) + sum_k [F_k(v_{k-1}) - F_k(v_k)]
              = -F(x) - log Z_0 - sum_{k=1..K} [F_{k-1}(v_{k-1}) - F_k(v_{k-1})],

    the paper's weight with the hidden units summed out (its h ~ p(h | x) at the top
    and f(x, h) / p(h | x) = exp(-F(x))); S is the sum, so log w = -F(x) - log_z_base +
    S. E[w] is the annealing model's p(x) (the forward chain followed by one sweep at
    beta = 1), so E[log w] <= log of it. Random streams as :func:`ais` in purpose
    ``streams.PURPOSE_RAISE``, transition t at step t (h at step t, v at step t).
    """
    purpose = streams.PURPOSE_RAISE if purpose is None else purpose
    X = np.asarray(X)
    v0 = np.repeat(X, n_runs, axis=0)
    down = np.asarray(betas, dtype=np.float64)[::-1]
    log_w, log_z_base = _anneal(W, b, c, sigma, visible, hidden, n_copies, down, base_b,
                                base_sigma, v0, True, seed, purpose, progress, chunk)
    return log_w.reshape(X.shape[0], n_runs), log_z_base


def _anneal(W, b, c, sigma, visible, hidden, n_copies, betas, base_b, base_sigma, v,
            from_data, seed, purpose, progress, chunk):
    """The annealing loop of :func:`ais` (``from_data`` False: ``v`` is replaced by the
    base sample) and :func:`reverse_ais` (True: transition 0 is a sweep at betas[0]
    from ``v``, without weight). log w += -F_k(v) + F_{k-1}(v) at every k >= 1, with
    F_k the free energy at betas[k]."""
    chunk = 1000 if chunk is None else chunk
    W = np.asarray(W)
    dt = W.dtype
    c = np.asarray(c)
    nh, nv = W.shape
    b64 = np.asarray(b, dtype=np.float64)
    bA = np.asarray(base_b, dtype=np.float64)
    gauss = visible == VISIBLE_GAUSSIAN
    s64 = np.asarray(sigma, dtype=np.float64) if gauss else None
    sA = np.asarray(base_sigma, dtype=np.float64) if gauss else None
    W_hid = (W / np.asarray(sigma, dtype=dt)).astype(dt) if gauss else W
    K = betas.size - 1
    s_hid, s_vis = streams.hidden(1, purpose), streams.visible(1, purpose)

    if not from_data:
        bias, scale, sd = ais_visible_coefficients(0.0, b64, bA, s64, sA, visible, dt)
        v = ais_visible_sample(np.zeros_like(v), bias, scale, sd, visible, seed, s_vis, 0)
    log_w = np.zeros(v.shape[0])
    for k in range(0 if from_data else 1, K + 1):
        a = v @ W_hid.T + c                                   # raw hidden input, dtype
        if k > 0:
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


