"""Command line: ``python -m fastrbm demo | info``."""
from __future__ import annotations

import argparse
import time

import numpy as np


def _demo(args) -> int:
    from . import RBM, show_config
    from .datasets import bars_and_stripes
    from .evaluation import log_likelihood_exact

    show_config(args.n_threads)
    X = bars_and_stripes(4, dtype=args.dtype)
    data = np.repeat(X, args.repeats, axis=0)
    print(f"\nbars-and-stripes 4x4: {X.shape[0]} distinct patterns, training set "
          f"{data.shape[0]} rows; RBM with {args.hidden} hidden units, CD-{args.k}, "
          f"{args.epochs} epochs, backend {args.backend}\n")
    rbm = RBM(n_components=args.hidden, k=args.k, learning_rate=args.learning_rate,
              momentum=0.5, batch_size=10, n_iter=1, dtype=args.dtype,
              random_state=args.seed, n_threads=args.n_threads, backend=args.backend)
    print(f"{'epoch':>5}  {'recon. error':>12}  {'avg log-lik':>11}  {'seconds':>8}")
    rbm.n_iter = 1
    t_total = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        if epoch == 1:
            rbm.fit(data)
        else:
            rbm.partial_fit(data)
        dt = time.perf_counter() - t0
        if epoch == 1 or epoch % args.report_every == 0 or epoch == args.epochs:
            ll = log_likelihood_exact(rbm, X).mean()
            print(f"{epoch:5d}  {rbm.reconstruction_error(X):12.5f}  {ll:11.4f}  {dt:8.4f}")
    total = time.perf_counter() - t_total
    ll = log_likelihood_exact(rbm, X).mean()
    print(f"\nfinal average log-likelihood of the 30 patterns (exact log Z): {ll:.3f} nats")
    print(f"  uniform model: {-16 * np.log(2):.3f}   optimum (mass 1/30 each): {-np.log(30):.3f}")
    print(f"training time {total:.2f} s (incl. exact evaluation every {args.report_every} epochs)")
    return 0


def main(argv=None) -> int:
    """Entry point of ``fastrbm`` / ``python -m fastrbm``."""
    parser = argparse.ArgumentParser(prog="fastrbm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train an RBM on bars-and-stripes 4x4 and evaluate it")
    demo.add_argument("--hidden", type=int, default=16)
    demo.add_argument("--epochs", type=int, default=300)
    demo.add_argument("--k", type=int, default=1)
    demo.add_argument("--learning-rate", type=float, default=0.05)
    demo.add_argument("--repeats", type=int, default=10, help="copies of each pattern per epoch")
    demo.add_argument("--report-every", type=int, default=25)
    demo.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    demo.add_argument("--backend", default="cython", choices=["cython", "numpy"])
    demo.add_argument("--n-threads", type=int, default=None)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
    info = sub.add_parser("info", help="show version, OpenMP and BLAS configuration")
    info.set_defaults(func=lambda a: (__import__("fastrbm").show_config(), 0)[1])
    args = parser.parse_args(argv)
    return args.func(args)
