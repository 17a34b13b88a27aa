"""AIS and RAISE on a trained 784x500 model against their GEMM floor, and the sandwich
gap (AIS above, RAISE below) of CD-1 and PCD models.

Data: scikit-learn's handwritten digits (shipped inside scikit-learn; MNIST cannot be
fetched here), 8x8 images upsampled to 28x28 by pixel replication with a one-pixel
blur and binarised at 0.5, so that the models have MNIST's 784 x 500 shape. Both models
are trained on 1,500 rows; the sandwich is measured on the 297 held out (a subset).

* Timing: AIS with 100 runs and RAISE with 10 rows x 10 chains (the same 100 chains in
  each product) over the default 14,500-temperature schedule, against the floor of
  their products (two (100 x 784) x (784 x 500) gemms per temperature,
  ``floors.ais_floor``), float32, all threads.
* Sandwich: ``evaluation.sandwich`` with the default schedule (AIS 100 runs, RAISE
  ``--raise-runs`` chains on each of ``--rows`` held-out rows), base model of the
  training rows.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for this run (see machine.py); the BLAS
is reported as threadpoolctl sees it.

    python benchmarks/raise_bench.py [--quick] [--out benchmarks/results/raise.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import reexec_without_slow_env, unset_note  # noqa: E402

reexec_without_slow_env(__file__)

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

from floors import ais_floor  # noqa: E402
from machine import blas_summary  # noqa: E402


def digits_784(seed=0):
    """(train, held_out) binary 784-pixel rows from scikit-learn's digits."""
    from sklearn.datasets import load_digits

    X = load_digits().data.reshape(-1, 8, 8) / 16.0
    big = np.kron(X, np.ones((1, 3, 3)))                          # 24 x 24
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))                   # 28 x 28
    blur = (big + np.roll(big, 1, 1) + np.roll(big, 1, 2) + np.roll(big, (1, 1), (1, 2))) / 4
    B = (blur.reshape(len(X), 784) > 0.5).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(B))
    return B[order[:1500]], B[order[1500:]]


def train(X, sampler, n_iter):
    from fastrbm import RBM

    return RBM(n_components=500, sampler=sampler, learning_rate=0.05, batch_size=100,
               n_iter=n_iter, dtype="float32", random_state=0).fit(X)


def timing(rbm, train_rows, held_out, n_steps):
    """Seconds of AIS (100 runs) and RAISE (10 x 10 chains) over ``n_steps``
    temperatures, and of their floor, on 2 threads and on 1 (one call each: a full
    schedule lasts tens of seconds)."""
    from threadpoolctl import threadpool_limits
    from fastrbm import evaluation as E

    betas = E.ais_schedule() if n_steps == 14500 else np.linspace(0, 1, n_steps + 1)
    out = {"n_intermediate": n_steps}
    for nt in (2, 1):
        t0 = time.perf_counter()
        E.ais(rbm, n_runs=100, betas=betas, data=train_rows, random_state=0, n_threads=nt)
        t_ais = time.perf_counter() - t0
        t0 = time.perf_counter()
        E.reverse_ais(rbm, held_out[:10], n_runs=10, betas=betas, data=train_rows,
                      random_state=0, n_threads=nt)
        t_raise = time.perf_counter() - t0
        floor = ais_floor(784, 500, 100, n_steps, np.float32)
        with threadpool_limits(limits=nt, user_api="blas"):
            floor()                                               # warm
            t0 = time.perf_counter()
            floor()
            t_floor = time.perf_counter() - t0
        out[f"threads_{nt}"] = {"ais_seconds": t_ais, "raise_seconds": t_raise,
                                "floor_seconds": t_floor, "ais_over_floor": t_ais / t_floor,
                                "raise_over_floor": t_raise / t_floor,
                                "load_average": os.getloadavg()[0]}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (short schedule)")
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--raise-runs", type=int, default=4)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    from fastrbm import evaluation as E

    note = unset_note()
    if note:
        print(note)
    steps = 200 if args.quick else 14500
    epochs = 2 if args.quick else 20
    tr, ho = digits_784()
    result = {"blas": [{k: lib.get(k) for k in ("internal_api", "version", "num_threads",
                                                "architecture")}
                       for lib in threadpool_info() if lib.get("user_api") == "blas"],
              "data": "sklearn digits upsampled to 28x28, binarised", "models": {}}
    print(f"BLAS: {blas_summary(threadpool_info())}")
    rows = ho[:args.rows]
    betas = None if not args.quick else np.linspace(0, 1, steps + 1)
    for sampler in ("cd", "pcd"):
        rbm = train(tr, sampler, epochs)
        entry = {"epochs": epochs}
        if sampler == "cd":
            entry["timing"] = timing(rbm, tr, ho, steps)
            for nt in (2, 1):
                t = entry["timing"][f"threads_{nt}"]
                print(f"784x500 float32, {steps} temperatures, {nt} thread(s): AIS "
                      f"{t['ais_seconds']:.2f} s ({t['ais_over_floor']:.2f}x floor), RAISE "
                      f"10x10 {t['raise_seconds']:.2f} s ({t['raise_over_floor']:.2f}x "
                      f"floor), floor {t['floor_seconds']:.2f} s, load "
                      f"{t['load_average']:.1f}")
        t0 = time.perf_counter()
        sw = E.sandwich(rbm, rows, n_runs=100, n_runs_raise=args.raise_runs, betas=betas,
                        data=tr, random_state=1)
        entry["sandwich"] = {"ais": sw.upper, "ais_low": sw.ais.mean_low,
                             "ais_high": sw.ais.mean_high, "raise": sw.lower,
                             "raise_low": sw.reverse_ais.mean_low,
                             "raise_high": sw.reverse_ais.mean_high, "gap": sw.gap,
                             "rows": int(rows.shape[0]), "raise_runs": args.raise_runs,
                             "seconds": time.perf_counter() - t0}
        s = entry["sandwich"]
        print(f"{sampler.upper()}-1 ({epochs} epochs): AIS {s['ais']:.2f} "
              f"[{s['ais_low']:.2f}, {s['ais_high']:.2f}]  RAISE {s['raise']:.2f} "
              f"[{s['raise_low']:.2f}, {s['raise_high']:.2f}]  gap {s['gap']:.2f} nats "
              f"({s['seconds']:.0f} s)")
        result["models"][sampler] = entry
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
