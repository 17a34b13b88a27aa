"""Evaluating RBMs: exact log partition function and log-likelihood for small models.

(Annealed importance sampling and pseudo-likelihood for every unit type: see the
evaluation issue; this module starts with the exact enumeration.)
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from . import reference

#: Largest number of states enumerated exactly.
MAX_EXACT_STATES = 2**25


def _binary_states(n: int, start: int, stop: int) -> np.ndarray:
    idx = np.arange(start, stop, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(np.float64)


def _params(rbm):
    rbm._check_fitted()
    hyper = rbm._hyper()
    W = np.asarray(rbm.components_, dtype=np.float64)
    b = np.asarray(rbm.intercept_visible_, dtype=np.float64)
    c = np.asarray(rbm.intercept_hidden_, dtype=np.float64)
    s = np.asarray(rbm.sigma_, dtype=np.float64) if hyper.visible == 1 else None
    return hyper, W, b, c, s


def log_partition_exact(rbm, chunk: int = 2**16) -> float:
    """log Z by enumerating the smaller binary side, in float64.

    Bernoulli visible units: enumerates the visible states (any hidden type; NReLU
    uses its free energy, the infinite stepped sum) or, for Bernoulli hidden units
    when there are fewer, the hidden states. Gaussian visible units with Bernoulli
    hidden units: hidden states are enumerated and v is integrated in closed form.
    Refuses more than ``MAX_EXACT_STATES`` states.
    """
    hyper, W, b, c, s = _params(rbm)
    nh, nv = W.shape
    if hyper.visible == 0:
        use_hidden = hyper.hidden == 0 and nh < nv
        n = nh if use_hidden else nv
        _check_size(n)
        parts = []
        for start in range(0, 2**n, chunk):
            states = _binary_states(n, start, min(2**n, start + chunk))
            if use_hidden:   # -F(h) = c.h + sum_i softplus(b_i + (h W)_i)
                parts.append(logsumexp(states @ c + reference.softplus(states @ W + b).sum(1)))
            else:
                parts.append(logsumexp(-reference.free_energy(states, W, b, c, None, 0,
                                                              hyper.hidden, hyper.n_copies)))
        return float(logsumexp(parts))
    if hyper.hidden != 0:
        raise ValueError("log_partition_exact: Gaussian visible units need Bernoulli hidden "
                         "units for an exact log Z here")
    _check_size(nh)
    parts = []
    for start in range(0, 2**nh, chunk):
        h = _binary_states(nh, start, min(2**nh, start + chunk))
        a = h @ W                                   # (states, nv)
        parts.append(logsumexp(h @ c + (a * (b / s) + 0.5 * a * a).sum(1)))
    return float(logsumexp(parts) + np.sum(np.log(np.sqrt(2 * np.pi) * s)))


def _check_size(n_binary: int) -> None:
    if 2.0**n_binary > MAX_EXACT_STATES:
        raise ValueError(
            f"exact enumeration needs 2**{n_binary} states, more than the limit "
            f"{MAX_EXACT_STATES} (2**25); use annealed importance sampling")


def log_likelihood_exact(rbm, X) -> np.ndarray:
    """log p(x) of each row with the exact log Z (small models only)."""
    return -rbm.free_energy(X) - log_partition_exact(rbm)
