"""The per-call cost of fastrbm.ops over the compiled call it makes.

    python benchmarks/ops_overhead.py [--calls 20000]

A tiny model (16 visible x 8 hidden, 4 rows), so that the work of a call is a few
microseconds and what is measured is the layer: unit names to codes, the thread count,
output allocation. Each pair (ops function, the compiled function with the same
arguments and a preallocated output) alternates in rounds; reported is the median
microseconds per call of each and their difference.
"""
from __future__ import annotations

import json
import sys

from machine import blas_summary, info as machine_info, reexec_without_slow_env

reexec_without_slow_env(__file__)

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from fastrbm import _kernels, ops  # noqa: E402


def pairs():
    rng = np.random.default_rng(0)
    W = (0.1 * rng.standard_normal((8, 16))).astype(np.float32)
    b, c = np.zeros(16, np.float32), np.zeros(8, np.float32)
    V = (rng.random((4, 16)) < 0.5).astype(np.float32)
    out = np.empty((4, 8), np.float32)
    hyper = ops.training_settings(batch_size=4, momentum=0.5)
    state = ops.training_state(W.copy(), b.copy(), c.copy(), n_chains=4)
    ws = ops.make_workspace(hyper, 16, 8, np.float32)
    order = np.arange(4, dtype=np.int64)
    return {
        "hidden_mean": (
            lambda: ops.hidden_mean(V, W, c, n_threads=1),
            lambda: _kernels.hidden_conditional(V, W, c, None, 0, 1, 0, 0, 0, out, None, 1)),
        "hidden_sample (out given)": (
            lambda: ops.hidden_sample(V, W, c, seed=1, stream=2, out=out, n_threads=1),
            lambda: _kernels.hidden_conditional(V, W, c, None, 0, 1, 1, 2, 0, None, out, 1)),
        "free_energy": (
            lambda: ops.free_energy(V, W, b, c, n_threads=1),
            lambda: _kernels.free_energy(V, W, b, c, None, 0, 0, 1, 1)),
        "fit_epoch (one update)": (
            lambda: ops.fit_epoch(state, hyper, V, order=order, seed=1, n_threads=1,
                                  workspace=ws),
            lambda: _kernels.fit_epoch(state, hyper, V, order, 1, 0, 1, ws)),
    }


def per_call(fn, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    rows = []
    print(f"{'function':28} {'ops us':>8} {'kernel us':>10} {'overhead us':>12}")
    for name, (via_ops, direct) in pairs().items():
        via_ops(), direct()
        a, k = [], []
        for _ in range(args.rounds):
            a.append(per_call(via_ops, args.calls // args.rounds))
            k.append(per_call(direct, args.calls // args.rounds))
        a_us, k_us = 1e6 * float(np.median(a)), 1e6 * float(np.median(k))
        rows.append({"function": name, "ops_us": round(a_us, 2), "kernel_us": round(k_us, 2),
                     "overhead_us": round(a_us - k_us, 2)})
        print(f"{name:28} {a_us:8.2f} {k_us:10.2f} {a_us - k_us:12.2f}")
    info = machine_info(None, {})
    print("BLAS:", blas_summary(info["threadpools"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "machine": info}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
