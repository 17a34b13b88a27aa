"""Thread scaling: the kernel step (and its GEMM floor) on one thread versus all.

One thread means ``n_threads=1`` for fastrbm's OpenMP passes *and* BLAS limited to one
thread through threadpoolctl, as ``RBM(n_threads=1)`` does.
"""
from __future__ import annotations

from threadpoolctl import threadpool_limits

from floors import cd_floor
from ours import step_callables
from timing import measure


def _timed(cfg, X, n_threads, budget):
    step = step_callables(cfg, X, n_threads)["kernel_step"]
    n_neg = cfg.batch_size
    floor = cd_floor(cfg.n_visible, cfg.n_hidden, cfg.batch_size, n_neg, cfg.k, X.dtype)
    return measure(step, budget), measure(floor, budget)


def run(cfg, X, budget, n_all):
    """Kernel step and floor at 1 thread and at ``n_all`` threads, and the speed-ups."""
    with threadpool_limits(limits=1, user_api="blas"):
        k1, f1 = _timed(cfg, X, 1, budget)
    with threadpool_limits(limits=n_all, user_api="blas"):
        kn, fn = _timed(cfg, X, n_all, budget)
    return {"config": cfg.name, "dtype": X.dtype.name, "n_threads": n_all,
            "kernel_1": k1, "kernel_all": kn, "floor_1": f1, "floor_all": fn,
            "kernel_speedup": k1["median"] / kn["median"],
            "floor_speedup": f1["median"] / fn["median"]}
