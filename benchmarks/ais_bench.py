"""AIS cost against its GEMM floor (two products per intermediate distribution).

Times the compiled AIS kernel through ``fastrbm.ops.ais`` (the work behind
``fastrbm.evaluation.ais``) on a 784x500 Bernoulli RBM with 100 runs over a
linearly spaced schedule, and the same number of products alone, on all threads and
on one.
"""
from __future__ import annotations

import numpy as np

from threadpoolctl import threadpool_limits

from floors import ais_floor
from timing import measure


def available():
    """(True, None) or (False, reason)."""
    try:
        from fastrbm import ops  # noqa: F401
    except ImportError as exc:   # an unbuilt source tree
        return False, f"not available ({exc})"
    return True, None


def run(sizes, n_runs, n_steps, budget, n_threads, dtype=np.float32):
    """Seconds for ``n_steps`` intermediate distributions, kernel and floor.

    ``n_steps`` is below the 14,500 of the full Salakhutdinov-Murray schedule: the cost
    is linear in it, and the ratio to the floor is what is reported.
    """
    ok, reason = available()
    base = {"sizes": {"n_visible": sizes[0], "n_hidden": sizes[1]}, "n_runs": n_runs,
            "n_intermediate": n_steps, "dtype": np.dtype(dtype).name}
    if not ok:
        return dict(base, available=False, reason=reason, kernel=None, floor=None,
                    ratio_floor=None)
    from fastrbm import ops

    nv, nh = sizes
    dt = np.dtype(dtype)
    rng = np.random.default_rng(0)
    W = (0.05 * rng.standard_normal((nh, nv))).astype(dt)
    b = (0.1 * rng.standard_normal(nv)).astype(dt)
    c = (0.1 * rng.standard_normal(nh)).astype(dt)
    betas = np.linspace(0.0, 1.0, n_steps + 1)
    base_b = np.zeros(nv)
    def kernel(nt):
        return lambda: ops.ais(W, b, c, betas=betas, base_b=base_b, n_runs=n_runs, seed=1,
                               n_threads=nt)

    floor = ais_floor(nv, nh, n_runs, n_steps, dt)
    try:
        t = measure(kernel(n_threads), budget)
        with threadpool_limits(limits=1, user_api="blas"):
            t1 = measure(kernel(1), budget)
            f1 = measure(floor, budget)
    except TypeError as exc:   # the kernel's signature moved under us
        return dict(base, available=False, reason=f"kernel call failed: {exc}", kernel=None,
                    floor=None, ratio_floor=None)
    f = measure(floor, budget)
    return dict(base, available=True, reason=None, n_threads=n_threads, kernel=t, floor=f,
                ratio_floor=t["median"] / f["median"], kernel_1thread=t1, floor_1thread=f1,
                ratio_floor_1thread=t1["median"] / f1["median"])
