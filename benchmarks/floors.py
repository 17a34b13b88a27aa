"""GEMM floors: the matrix products of a step alone, into preallocated outputs.

The products go through ``scipy.linalg.blas`` (f2py wrappers of scipy's bundled
OpenBLAS), the very library behind ``scipy.linalg.cython_blas`` that fastrbm's kernels
call, so kernel and floor share one BLAS build and thread pool. Arrays are kept
row-major as in the kernels; each product is issued on Fortran-ordered *views*
(transposes), so f2py copies nothing and writes into the given output
(``overwrite_c``); :func:`_gemm_into` checks both.

A CD-k or PCD-k step does 2k + 2 products: data -> hidden, k times (hidden ->
visible, visible -> hidden), and the weight gradient as one stacked product
``[h0; -hk]^T [v0; vk]`` accumulated into the momentum buffer (alpha/beta).
"""
from __future__ import annotations

import time

import numpy as np
from scipy.linalg import blas as _blas


def _gemm_into(alpha, a, b, beta, c, trans_a=0, trans_b=0):
    """``c = alpha op(a) op(b) + beta c`` in place on Fortran-ordered arrays."""
    gemm = _blas.sgemm if c.dtype == np.float32 else _blas.dgemm
    for arr in (a, b, c):
        if not arr.flags.f_contiguous:
            raise ValueError("floor products need Fortran-ordered views (no hidden copies)")
    out = gemm(alpha, a, b, beta, c, trans_a=trans_a, trans_b=trans_b, overwrite_c=1)
    if not np.shares_memory(out, c):
        raise RuntimeError("f2py copied the output: the floor would measure a copy")
    return gemm


def cd_floor(n_visible, n_hidden, n_pos, n_neg, k, dtype, n_sweep=None):
    """A callable doing the 2k + 2 products of one CD-k / PCD-k step (parallel
    tempering: the Gibbs products over ``n_sweep`` chain rows, every temperature's; the
    gradient over the data and the ``n_neg`` rows at beta = 1).

    Returns
    -------
    callable
        No arguments; runs the products once.
    """
    dt = np.dtype(dtype)
    rng = np.random.default_rng(0)
    n_sweep = n_neg if n_sweep is None else n_sweep
    W = (0.01 * rng.standard_normal((n_hidden, n_visible))).astype(dt)
    V = (rng.random((n_pos + n_sweep, n_visible)) < 0.3).astype(dt)
    H = rng.random((n_pos + n_sweep, n_hidden)).astype(dt)
    chain = (rng.random((n_sweep, n_hidden)) < 0.5).astype(dt)
    mW = np.zeros_like(W)
    v0, vk, h0, hk = V[:n_pos], V[n_pos:], H[:n_pos], H[n_pos:]
    V, H = V[:n_pos + n_neg], H[:n_pos + n_neg]
    # row-major X = A @ B.T  <=>  column-major X.T = B @ A.T, all on transposed views
    g = _gemm_into(1.0, W.T, v0.T, 0.0, h0.T, trans_a=1)
    _gemm_into(1.0, W.T, chain.T, 0.0, vk.T)
    _gemm_into(0.01, V.T, H.T, 0.5, mW.T, trans_b=1)

    def products():
        g(1.0, W.T, v0.T, 0.0, h0.T, trans_a=1, overwrite_c=1)           # data -> hidden
        for _ in range(k):
            g(1.0, W.T, chain.T, 0.0, vk.T, overwrite_c=1)               # hidden -> visible
            g(1.0, W.T, vk.T, 0.0, hk.T, trans_a=1, overwrite_c=1)       # visible -> hidden
        g(0.01, V.T, H.T, 0.5, mW.T, trans_b=1, overwrite_c=1)           # stacked gradient

    return products


def hidden_floor(n_visible, n_hidden, n_rows, dtype):
    """A callable doing the one product of a hidden-layer conditional, V @ W.T."""
    dt = np.dtype(dtype)
    W = np.zeros((n_hidden, n_visible), dtype=dt)
    V = np.ones((n_rows, n_visible), dtype=dt)
    X = np.empty((n_rows, n_hidden), dtype=dt)
    g = _gemm_into(1.0, W.T, V.T, 0.0, X.T, trans_a=1)
    return lambda: g(1.0, W.T, V.T, 0.0, X.T, trans_a=1, overwrite_c=1)


def ais_floor(n_visible, n_hidden, n_runs, n_steps, dtype):
    """A callable doing AIS's 2 products per intermediate distribution, ``n_steps`` times."""
    dt = np.dtype(dtype)
    W = (0.01 * np.random.default_rng(0).standard_normal((n_hidden, n_visible))).astype(dt)
    V = np.ones((n_runs, n_visible), dtype=dt)
    H = np.ones((n_runs, n_hidden), dtype=dt)
    g = _gemm_into(1.0, W.T, V.T, 0.0, H.T, trans_a=1)

    def products():
        for _ in range(n_steps):
            g(1.0, W.T, V.T, 0.0, H.T, trans_a=1, overwrite_c=1)
            g(1.0, W.T, H.T, 0.0, V.T, overwrite_c=1)

    return products


def call_overhead_seconds(n_calls: int = 2000) -> float:
    """Median cost of one f2py gemm call on 1x1 matrices: the floor's per-product
    Python overhead, reported so small configurations can be read against it."""
    a = np.ones((1, 1), dtype=np.float32, order="F")
    c = np.zeros((1, 1), dtype=np.float32, order="F")
    g = _blas.sgemm
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n_calls):
            g(1.0, a, a, 0.0, c, overwrite_c=1)
        times.append((time.perf_counter() - t0) / n_calls)
    return float(np.median(times))


def blas_library() -> dict:
    """threadpoolctl's record of the OpenBLAS that scipy.linalg.blas loads."""
    from threadpoolctl import threadpool_info

    # scipy's wheel bundles its own OpenBLAS under site-packages/scipy.libs
    for lib in threadpool_info():
        if "scipy.libs" in (lib.get("filepath") or ""):
            return {k: lib.get(k) for k in ("internal_api", "version", "num_threads",
                                            "architecture", "filepath")}
    return {}
