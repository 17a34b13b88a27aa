"""AIS timing: the kernel (fastrbm._ais) vs its GEMMs alone vs the NumPy reference.

Prints a table and writes JSON. Default: a 784 x 500 Bernoulli RBM, 100 runs, the
default 14,500-step schedule, float32. The GEMM floor runs the same two products per
intermediate distribution through the same BLAS (nothing else); the reference is timed
on a slice of the schedule and scaled (it takes tens of minutes in full).

    python benchmarks/bench_ais.py [--visible 784] [--hidden 500] [--runs 100]
        [--dtype float32] [--hidden-type bernoulli] [--json ais.json]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from fastrbm import _ais, reference, streams
from fastrbm._constants import HIDDEN_CODES


def gemm_floor(W, n_runs, n_steps):
    """Seconds for n_steps of (V @ W.T, H @ W) through BLAS with preallocated outputs."""
    dt = W.dtype
    nh, nv = W.shape
    V = np.ones((n_runs, nv), dtype=dt)
    P = np.empty((n_runs, nh), dtype=dt)
    H = np.ones((n_runs, nh), dtype=dt)
    Y = np.empty((n_runs, nv), dtype=dt)
    t0 = time.perf_counter()
    for _ in range(n_steps):
        np.matmul(V, W.T, out=P)
        np.matmul(H, W, out=Y)
    return time.perf_counter() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--visible", type=int, default=784)
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--hidden-type", default="bernoulli", choices=["bernoulli", "stepped", "nrelu"])
    p.add_argument("--n-copies", type=int, default=10)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--steps", type=int, default=None,
                   help="time only the first STEPS transitions and scale (default: all)")
    p.add_argument("--reference-steps", type=int, default=50)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    rng = np.random.default_rng(0)
    dt = np.dtype(args.dtype)
    hid = HIDDEN_CODES[args.hidden_type]
    W = (0.05 * rng.standard_normal((args.hidden, args.visible))).astype(dt)
    b = (rng.standard_normal(args.visible) - 1).astype(dt)
    c = (0.1 * rng.standard_normal(args.hidden) - 1).astype(dt)
    X = rng.random((1000, args.visible)) < 0.15
    base_b, _ = reference.ais_base(0, X)
    betas = reference.ais_schedule()
    K = betas.size - 1
    # a prefix of the schedule ending at 1 costs the same per step as the full one
    timed = betas if args.steps is None else np.concatenate([betas[:args.steps], [1.0]])
    scale = K / (timed.size - 1)
    threads = args.threads or len(__import__("os").sched_getaffinity(0))

    # the kernel splits runs over OpenMP threads, each calling single-threaded BLAS
    kernel_blas = 1 if _ais.ais_threads(args.runs, args.visible, args.hidden, threads) > 1 \
        else threads
    with threadpool_limits(kernel_blas, user_api="blas"):
        t0 = time.perf_counter()
        log_w, log_z_base = _ais.ais(W, b, c, None, 0, hid, args.n_copies, timed, base_b,
                                     None, args.runs, 0, streams.PURPOSE_AIS, threads)
        t_kernel = (time.perf_counter() - t0) * scale
    limits = threadpool_limits(threads, user_api="blas")   # the floor and the reference
    t_floor = gemm_floor(W, args.runs, timed.size - 1) * scale

    short = np.concatenate([betas[:args.reference_steps], [1.0]])
    t0 = time.perf_counter()
    reference.ais(W, b, c, None, 0, hid, args.n_copies, short, base_b, None, args.runs, 0)
    t_ref = (time.perf_counter() - t0) * K / (short.size - 1)
    limits.restore_original_limits()

    m = log_w.max()
    log_z = log_z_base + m + np.log(np.mean(np.exp(log_w - m)))
    rows = [("kernel AIS (fastrbm._ais)", t_kernel), ("GEMM floor (2 gemms/step)", t_floor),
            (f"NumPy reference (scaled from {args.reference_steps} steps)", t_ref)]
    print(f"AIS, {args.visible} x {args.hidden} {args.hidden_type} RBM, {args.runs} runs, "
          f"{K} intermediate distributions, {args.dtype}, {threads} threads")
    for name, t in rows:
        print(f"  {name:<45s} {t:9.2f} s   {t / t_floor:6.2f} x floor")
    if args.steps is None:
        print(f"  log Z estimate {log_z:.3f} (base {log_z_base:.3f})")
    else:
        print(f"  (kernel and floor timed on {args.steps} steps and scaled to {K})")
    blas = [{k: i.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for i in threadpool_info() if i.get("user_api") == "blas"]
    print(f"  BLAS: {blas}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": vars(args), "threads": threads, "kernel_s": t_kernel,
                       "gemm_floor_s": t_floor, "reference_s_scaled": t_ref,
                       "log_z": float(log_z), "blas": blas}, f, indent=2)


if __name__ == "__main__":
    main()
