"""Ctrl-C latency: from SIGINT to KeyboardInterrupt inside fastrbm's long calls.

    python benchmarks/interrupts.py [--repeats 5] [--json FILE]

Each long call (a training epoch at 784 x 500, a transform of 60000 rows, long Gibbs
chains, AIS with a million temperatures, the DBN bound) is started, a timer thread sends
the process SIGINT after a random delay of 0.2 to 0.6 s, and the time from the send to
the ``except KeyboardInterrupt`` is recorded. Reported: the median and the largest
latency over the repeats, on a quiet machine and with one busy-looping process
competing for a core. The calls check for signals between segments of about 20 ms of
work (see fastrbm/_segments.pxd), so the latency is that plus the time to leave the
call (the epoch restores the state it started from).

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for this run (see machine.py); the BLAS
in use is printed and stored.
"""
from __future__ import annotations

import json
import os
import sys

from machine import reexec_without_slow_env

reexec_without_slow_env(__file__)

import argparse  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from machine import blas_summary, info as machine_info  # noqa: E402


def calls() -> dict:
    """Zero-argument callables, each taking many seconds if not interrupted."""
    from fastrbm import RBM, evaluation
    from fastrbm.dbn import DBN

    rng = np.random.default_rng(0)
    X = (rng.random((20000, 784)) < 0.3).astype(np.float32)
    big = np.tile(X, (3, 1))
    epoch_model = RBM(500, batch_size=100, n_iter=1, random_state=0).fit(X[:500])
    wide = RBM(2000, n_iter=1, random_state=0).fit(X[:500])
    model = RBM(300, n_iter=1, random_state=0).fit(X[:500])
    dbn = DBN([300, 300], rbm_params=dict(n_iter=1), random_state=0).fit(X[:500])
    return {
        "epoch 784x500, 60000 rows": lambda: epoch_model.partial_fit(big),
        "transform 60000 x 784 x 2000": lambda: wide.transform(big),
        "sample 5000 chains, 10^6 steps": lambda: model.sample(5000, n_steps=10**6),
        "AIS 500 runs, 10^6 betas": lambda: evaluation.ais(
            model, n_runs=500, betas=np.linspace(0, 1, 10**6), random_state=0),
        "DBN bound 2000 rows x 500 samples": lambda: dbn.log_likelihood_bound(
            X[:2000], n_samples=500, log_z=0.0),
    }


def latency(fn, delay: float) -> float:
    """Seconds from SIGINT (sent after ``delay``) to KeyboardInterrupt out of ``fn``."""
    sent = []

    def fire():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay, fire)
    timer.start()
    try:
        fn()
    except KeyboardInterrupt:
        caught = time.perf_counter()
    else:
        timer.cancel()
        raise RuntimeError("the call finished before the signal: make it longer")
    timer.join()
    return caught - sent[0]


def measure(fns: dict, repeats: int, rng) -> dict:
    out = {}
    for name, fn in fns.items():
        lat = [latency(fn, float(rng.uniform(0.2, 0.6))) for _ in range(repeats)]
        out[name] = {"median_ms": round(1e3 * float(np.median(lat)), 1),
                     "max_ms": round(1e3 * max(lat), 1)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(1)
    fns = calls()
    quiet = measure(fns, args.repeats, rng)
    busy_proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        busy = measure(fns, args.repeats, rng)
    finally:
        busy_proc.kill()
        busy_proc.wait()
    print(f"SIGINT to KeyboardInterrupt, ms; {args.repeats} signals per call")
    print(f"{'call':36} {'quiet med':>9} {'quiet max':>9} {'busy med':>9} {'busy max':>9}")
    for name in fns:
        q, b = quiet[name], busy[name]
        print(f"{name:36} {q['median_ms']:9.1f} {q['max_ms']:9.1f} "
              f"{b['median_ms']:9.1f} {b['max_ms']:9.1f}")
    print("BLAS:", blas_summary(machine_info(None, {})["threadpools"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"repeats": args.repeats, "quiet": quiet, "busy": busy,
                       "machine": machine_info(None, {})}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
