"""Exact pseudo-likelihood: the compiled kernel against the NumPy implementation it
replaced (issue 13, item 3), on the issue's case: 200 rows of a 784 x 500 model.

    python benchmarks/pseudo_likelihood.py [--quick] [--json FILE]

The NumPy implementation (``backend='numpy'``, the one ``RBM.score_samples`` ran
before) and the kernel on 1 and on all threads alternate in rounds, so that other load
hits them alike; reported are the median seconds of each, the ratios, and the largest
relative difference of the results. The model is random with weights of a trained
model's scale (N(0, 0.1^2)); the data binary with per-pixel rates like MNIST's.
"""
from __future__ import annotations

import json
import sys

from machine import blas_summary, info as machine_info, reexec_without_slow_env

reexec_without_slow_env(__file__)

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from fastrbm import ops  # noqa: E402
from fastrbm._blas_runtime import available_cores  # noqa: E402


def case(n_rows: int, nv: int, nh: int, dtype=np.float32):
    rng = np.random.default_rng(0)
    W = (0.1 * rng.standard_normal((nh, nv))).astype(dtype)
    b = (0.5 * rng.standard_normal(nv)).astype(dtype)
    c = (0.5 * rng.standard_normal(nh)).astype(dtype)
    V = (rng.random((n_rows, nv)) < rng.beta(0.5, 2.0, nv)).astype(dtype)
    return V, W, b, c


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="20 rows of 196 x 100, 2 rounds")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    n_rows, nv, nh, rounds = (20, 196, 100, 2) if args.quick else (200, 784, 500, 5)
    V, W, b, c = case(n_rows, nv, nh)
    n_all = available_cores()
    subjects = {"numpy": dict(backend="numpy", n_threads=n_all),
                "kernel_1_thread": dict(n_threads=1),
                f"kernel_{n_all}_threads": dict(n_threads=n_all)}
    times = {name: [] for name in subjects}
    results = {}
    for _ in range(rounds):
        for name, kw in subjects.items():
            t0 = time.perf_counter()
            results[name] = ops.pseudo_likelihood(V, W, b, c, **kw)
            times[name].append(time.perf_counter() - t0)
    median = {name: statistics.median(t) for name, t in times.items()}
    ref = results["numpy"]
    out = {"benchmark": "pseudo_likelihood", "quick": args.quick,
           "case": {"rows": n_rows, "n_visible": nv, "n_hidden": nh, "dtype": "float32"},
           "rounds": rounds, "seconds": times, "median_seconds": median,
           "speedup_vs_numpy": {n: median["numpy"] / s for n, s in median.items()},
           "max_relative_difference": {
               n: float(np.max(np.abs(r - ref) / np.abs(ref))) for n, r in results.items()},
           "machine": machine_info(n_all, {})}
    print(f"pseudo-likelihood, {n_rows} rows of {nv} x {nh} (median of {rounds} rounds)")
    for name, s in median.items():
        print(f"  {name:18s} {s:8.3f} s   x{median['numpy'] / s:6.1f} vs numpy   max rel. "
              f"difference {out['max_relative_difference'][name]:.1e}")
    print(f"BLAS: {blas_summary(out['machine']['threadpools'])}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
