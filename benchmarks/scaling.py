"""Thread scaling: the kernel step (and its GEMM floor) on one thread versus all.

One thread means ``n_threads=1`` for fastrbm's kernels *and* BLAS at one thread, as
``RBM(n_threads=1)`` runs; all threads means BLAS at the count the estimator would set
for the kernel (:func:`ours.kernel_blas_threads`) and at all threads for the floor.
The four subjects are timed in interleaved rounds (:func:`timing.measure_many`).
"""
from __future__ import annotations

from floors import cd_floor
from ours import kernel_blas_threads, step_callables
from timing import BlasThreads, measure_many


def run(cfg, X, budget, n_all):
    """Kernel step and floor at 1 thread and at ``n_all`` threads, and the speed-ups."""
    floor = cd_floor(cfg.n_visible, cfg.n_hidden, cfg.batch_size, cfg.batch_size, cfg.k,
                     X.dtype)
    fns = {"kernel_1": step_callables(cfg, X, 1)["kernel_step"],
           "kernel_all": step_callables(cfg, X, n_all)["kernel_step"],
           "floor_1": floor, "floor_all": floor}
    blas = BlasThreads()
    before = {"kernel_1": blas.hook(1), "floor_1": blas.hook(1),
              "kernel_all": blas.hook(kernel_blas_threads(cfg, n_all)),
              "floor_all": blas.hook(n_all)}
    try:
        t = measure_many(fns, budget, before)
    finally:
        blas.restore()
    return {"config": cfg.name, "dtype": X.dtype.name, "n_threads": n_all, **t,
            "kernel_speedup": t["kernel_1"]["median"] / t["kernel_all"]["median"],
            "floor_speedup": t["floor_1"]["median"] / t["floor_all"]["median"]}
