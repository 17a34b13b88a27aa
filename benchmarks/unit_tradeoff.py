"""Stepped sigmoid units versus NReLU: cost per sample against faithfulness.

The lecture's trade-off: a stepped sigmoid unit with N tied binary copies (bias
offsets -0.5, -1.5, ...) has mean sum_k sigmoid(x - k + 0.5), which tends to
log(1 + e^x) as N grows, and variance sum_k p_k (1 - p_k), which tends to sigmoid(x);
but a sample costs N sigmoids and N uniforms. NReLU, max(0, x + N(0, sigmoid(x))),
stands in for the infinite sum at the cost of one normal.

For each unit this module times one hidden-layer sample through the kernels
(``fastrbm.ops.hidden_sample``, products included, and the product alone) on
one thread -- the cost of the unit itself -- and, for reference, on all threads,
and measures over inputs x in [X_LOW, X_HIGH] how far its mean and variance are from
softplus / sigmoid and from each other -- exactly (float64 formulas) and, as a check
of the kernels, from their own samples.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, ndtr

from threadpoolctl import threadpool_limits

from fastrbm import ops

from floors import hidden_floor
from timing import measure

X_LOW, X_HIGH = -5.0, 20.0
COPIES = (1, 5, 10, 20, 50)


def softplus(x):
    return np.logaddexp(0.0, x)


def stepped_moments(x, n):
    """Exact mean and variance of a stepped sigmoid unit with ``n`` copies."""
    p = expit(x[:, None] - (np.arange(n) + 0.5)[None, :])
    return p.sum(1), (p * (1 - p)).sum(1)


def nrelu_moments(x):
    """Exact mean and variance of max(0, x + s eps), s^2 = sigmoid(x)."""
    s = np.sqrt(expit(x))
    t = x / s
    pdf = np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)
    m1 = x * ndtr(t) + s * pdf
    m2 = (x * x + s * s) * ndtr(t) + x * s * pdf
    return m1, m2 - m1 * m1


def _gap(a, b) -> dict:
    d = np.abs(a - b)
    return {"mean_abs": float(d.mean()), "max_abs": float(d.max())}


def _kernel_samples(hidden, n_copies, x, n_rows, dtype, n_threads):
    """Hidden samples from the kernels with inputs ``x`` (zero weights, biases = x)."""
    dt = np.dtype(dtype)
    V = np.zeros((n_rows, 1), dtype=dt)
    W = np.zeros((x.size, 1), dtype=dt)
    out = np.empty((n_rows, x.size), dtype=dt)
    ops.hidden_sample(V, W, x.astype(dt), hidden=hidden, n_copies=n_copies, seed=7,
                      stream=3, step=1, out=out, n_threads=n_threads)
    return out.astype(np.float64)


def run(sizes, budget, n_threads, dtype=np.float32, n_sample_rows=2000, grid_step=0.1):
    """Rows of the trade-off table, one per unit type.

    Parameters
    ----------
    sizes : tuple (n_visible, n_hidden, batch)
        Layer sizes of the timed hidden-layer sample.
    budget : timing.Budget
    n_threads : int
    dtype : float dtype of the timed sample and of the kernel samples.
    n_sample_rows : int
        Samples per input value for the kernel check.
    """
    nv, nh, B = sizes
    dt = np.dtype(dtype)
    rng = np.random.default_rng(0)
    W = (0.05 * rng.standard_normal((nh, nv))).astype(dt)
    V = (rng.random((B, nv)) < 0.3).astype(dt)
    c = np.zeros(nh, dtype=dt)
    out = np.empty((B, nh), dtype=dt)
    with threadpool_limits(limits=1, user_api="blas"):
        gemm_only = measure(hidden_floor(nv, nh, B, dt), budget)

    x = np.arange(X_LOW, X_HIGH + grid_step / 2, grid_step)
    sp, sig = softplus(x), expit(x)
    nr_mean, nr_var = nrelu_moments(x)
    units = [("stepped", n) for n in COPIES] + [("nrelu", 1)]
    rows = []
    for name, n in units:
        def sample(nt):
            return lambda: ops.hidden_sample(V, W, c, hidden=name, n_copies=n, seed=1,
                                             stream=2, step=3, out=out, n_threads=nt)
        with threadpool_limits(limits=1, user_api="blas"):
            t1 = measure(sample(1), budget)
        t = measure(sample(n_threads), budget)
        mean, var = stepped_moments(x, n) if name == "stepped" else (nr_mean, nr_var)
        S = _kernel_samples(name, n, x, n_sample_rows, dt, n_threads)
        se = np.sqrt(np.maximum(var, 1e-12) / n_sample_rows)
        z_mean = np.abs(S.mean(0) - mean) / se
        rows.append({
            "unit": name if name == "nrelu" else f"stepped N={n}",
            "n_copies": n if name == "stepped" else None,
            "sample": t1,
            "elementwise_seconds": max(t1["median"] - gemm_only["median"], 0.0),
            "sample_all_threads": t,
            "mean_vs_softplus": _gap(mean, sp),
            "mean_vs_nrelu": _gap(mean, nr_mean),
            "var_vs_sigmoid": _gap(var, sig),
            "var_vs_nrelu": _gap(var, nr_var),
            "kernel_samples_max_z_mean": float(z_mean.max()),
            "kernel_samples_var_max_abs": float(np.abs(S.var(0) - var).max()),
        })
    nrelu_t = rows[-1]["sample"]["median"]
    for r in rows:
        r["time_vs_nrelu"] = r["sample"]["median"] / nrelu_t
    return {"sizes": {"n_visible": nv, "n_hidden": nh, "batch_size": B},
            "dtype": dt.name, "x_range": [X_LOW, X_HIGH, grid_step],
            "n_sample_rows": n_sample_rows, "gemm_only": gemm_only, "units": rows}
