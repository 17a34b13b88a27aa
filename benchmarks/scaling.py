"""Thread scaling: the kernel step (and its GEMM floor) on one thread versus all.

One thread means ``n_threads=1`` for fastrbm's OpenMP passes *and* BLAS limited to one
thread through threadpoolctl, as ``RBM(n_threads=1)`` does. The four subjects are
timed in interleaved rounds (:func:`timing.measure_many`), each round setting the BLAS
thread count its subject needs.
"""
from __future__ import annotations

from threadpoolctl import ThreadpoolController

from floors import cd_floor
from ours import step_callables
from timing import measure_many


def run(cfg, X, budget, n_all):
    """Kernel step and floor at 1 thread and at ``n_all`` threads, and the speed-ups."""
    ctl = ThreadpoolController()
    limiters = []

    def blas(n):
        return lambda: limiters.append(ctl.limit(limits=n, user_api="blas"))

    floor = cd_floor(cfg.n_visible, cfg.n_hidden, cfg.batch_size, cfg.batch_size, cfg.k,
                     X.dtype)
    fns = {"kernel_1": step_callables(cfg, X, 1)["kernel_step"],
           "kernel_all": step_callables(cfg, X, n_all)["kernel_step"],
           "floor_1": floor, "floor_all": floor}
    before = {"kernel_1": blas(1), "floor_1": blas(1),
              "kernel_all": blas(n_all), "floor_all": blas(n_all)}
    try:
        t = measure_many(fns, budget, before)
    finally:
        if limiters:
            limiters[0].restore_original_limits()
    return {"config": cfg.name, "dtype": X.dtype.name, "n_threads": n_all, **t,
            "kernel_speedup": t["kernel_1"]["median"] / t["kernel_all"]["median"],
            "floor_speedup": t["floor_1"]["median"] / t["floor_all"]["median"]}
