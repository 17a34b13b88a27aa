"""Epoch times on a quiet machine and with one other CPU-bound process running.

    python benchmarks/contention.py [--rounds 7] [--json FILE]

One training epoch (784 visible x 500 hidden, minibatches of 100, 5000 rows, float32,
CD-1; scikit-learn runs its PCD-1, the same work per step) for: fastrbm with its
default threads, fastrbm with ``n_threads=1``, scikit-learn's BernoulliRBM and a plain
PyTorch loop (all cores), first on a quiet machine, then while one busy-looping
process competes for a core. The variants alternate round by round, so slow drifts of
the machine hit them alike; each reported figure is the median over the rounds, and
every ratio comes from this one run.

The "fair share" column: with one competitor, a process with two threads is owed two
thirds of a two-core machine, so its epoch should take at most 1.5x its quiet time;
the column is that ideal over the measured time (1.0: the full fair share).

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for this run (see machine.py); the BLAS
in use is printed and stored.
"""
from __future__ import annotations

import json
import sys

from machine import reexec_without_slow_env

reexec_without_slow_env(__file__)

import argparse  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import peers  # noqa: E402
from configs import Config  # noqa: E402
from machine import blas_summary, info as machine_info, settle  # noqa: E402

CONFIG = Config("contention", n_visible=784, n_hidden=500, batch_size=100, n_batches=50,
                label="784x500, batch 100, 5000 rows, CD-1, float32")


def variants(X) -> dict:
    """Zero-argument callables, each one training epoch over ``X``."""
    from fastrbm import RBM
    from fastrbm._blas_runtime import available_cores

    out = {}
    for name, n_threads in (("fastrbm default", None), ("fastrbm 1 thread", 1)):
        model = RBM(CONFIG.n_hidden, batch_size=CONFIG.batch_size, n_iter=1,
                    learning_rate=0.01, random_state=0, n_threads=n_threads).fit(X[:500])
        out[name] = (lambda m: lambda: m.partial_fit(X))(model)
    for peer, make in (("scikit-learn", lambda: peers.sklearn_callables(CONFIG, X)),
                       ("PyTorch", lambda: peers.torch_callables(CONFIG, X,
                                                                 available_cores()))):
        try:
            fns = make()
        except peers.PeerUnavailable as exc:
            print(f"{peer}: {exc}", file=sys.stderr)
            continue
        out[peer] = next(fn for key, fn in fns.items() if key.endswith("_epoch"))
    return out


def time_rounds(fns: dict, rounds: int) -> dict:
    """Median seconds of one call of each function, the functions alternating."""
    for fn in fns.values():     # warm up
        fn()
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(ts)) for name, ts in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    X = (np.random.default_rng(0).random((CONFIG.n_samples, CONFIG.n_visible)) < 0.3)
    X = X.astype(np.float32)
    fns = variants(X)
    quiet_probe = settle(30)
    quiet = time_rounds(fns, args.rounds)
    busy_proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        busy = time_rounds(fns, args.rounds)
    finally:
        busy_proc.kill()
        busy_proc.wait()
    ref = "fastrbm default"
    rows = []
    for name in fns:
        rows.append({
            "variant": name,
            "quiet_ms": round(1e3 * quiet[name], 1),
            "busy_ms": round(1e3 * busy[name], 1),
            "quiet_vs_default": round(quiet[name] / quiet[ref], 2),
            "busy_vs_default": round(busy[name] / busy[ref], 2),
            "slowdown": round(busy[name] / quiet[name], 2),
            "fair_share": round(1.5 * quiet[name] / busy[name], 2),
        })
    print(f"{CONFIG.label}; medians of {args.rounds} rounds; quiet probe {quiet_probe}")
    print(f"{'variant':18} {'quiet ms':>9} {'busy ms':>9} {'quiet/def':>9} "
          f"{'busy/def':>9} {'busy/quiet':>10} {'fair share':>10}")
    for r in rows:
        print(f"{r['variant']:18} {r['quiet_ms']:9.1f} {r['busy_ms']:9.1f} "
              f"{r['quiet_vs_default']:9.2f} {r['busy_vs_default']:9.2f} "
              f"{r['slowdown']:10.2f} {r['fair_share']:10.2f}")
    print("BLAS:", blas_summary(machine_info(None, {})["threadpools"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": CONFIG.label, "rounds": args.rounds, "rows": rows,
                       "quiet_probe": quiet_probe,
                       "machine": machine_info(None, {"sklearn": peers.sklearn_version(),
                                                      "torch": peers.torch_version()})},
                      f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
