"""Maths that needs no random numbers, in NumPy: unit means, free-energy terms, exact
enumeration, pseudo-likelihood, the AIS schedule and base models.

Both backends and the estimators use these (the compiled kernels have no twin of them);
:mod:`fastrbm.reference`, the oracle of the kernels, imports its unit maths from here.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from .units import (HIDDEN_BERNOULLI, HIDDEN_NRELU, HIDDEN_STEPPED, NRELU_CUTOFF,
                    VISIBLE_BERNOULLI, VISIBLE_GAUSSIAN)


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

    Computed in float64 and returned in the dtype of ``x`` (the kernels compute it in
    the model's precision, src_c/fastmath.h).
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


def hidden_input(v: np.ndarray, W: np.ndarray, c: np.ndarray, sigma=None) -> np.ndarray:
    """x = c + (v / sigma) @ W.T (sigma None for Bernoulli visible units)."""
    vt = v if sigma is None else v / sigma
    return vt @ W.T + c


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


# ------------------------------------------------------------------ exact evaluation
#: Largest number of states log_partition_exact enumerates.
MAX_EXACT_STATES = 2**25


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


def log_partition_exact(W, b, c, sigma, visible, hidden, n_copies=1, chunk=2**16,
                        progress=None) -> float:
    """log Z by enumeration, in float64 (see :func:`exact_states` for which side);
    ``progress(done, n_states)`` after each block of ``chunk`` states.

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
            if progress is not None:
                progress(idx[-1] + 1, n_states)
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
        if progress is not None:
            progress(idx[-1] + 1, n_states)
    log_z = float(_logsumexp(np.array(parts)))
    if visible == VISIBLE_GAUSSIAN:
        log_z += float(np.sum(np.log(np.sqrt(2 * np.pi) * s)))
    return log_z


def _logsumexp(x: np.ndarray) -> float:
    m = np.max(x)
    if not np.isfinite(m):
        return float(m)
    return float(m + np.log(np.sum(np.exp(x - m))))


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


def log_likelihood(v, W, b, c, sigma, visible, hidden, n_copies, log_z) -> np.ndarray:
    """log p(v) = -F(v) - log Z per row."""
    return -free_energy(v, W, b, c, sigma, visible, hidden, n_copies) - log_z
