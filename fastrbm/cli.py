"""Command line: ``fastrbm demo [--data bars|mixture] | info``, ``fastrbm --version``."""
from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Callable, Optional, Sequence

import numpy as np

#: Largest int the kernels' 32-bit BLAS can take as a dimension or a count.
_INT_MAX = 2**31 - 1

#: Largest hidden layer whose exact log-likelihood the mixture demo can compute: with
#: Gaussian visible units the 2^hidden hidden states are enumerated, at most 2^25.
_MAX_EXACT_HIDDEN = 25


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, with a pointer to ``--help``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _int_type(low: int, high: Optional[int] = None) -> Callable[[str], int]:
    """An argparse type: an int in [low, high]."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            wanted = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value
    return parse


def _positive_float(text: str) -> float:
    """An argparse type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _demo(args: argparse.Namespace) -> int:
    """Bernoulli units on bars-and-stripes 4x4, with the exact log-likelihood."""
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


def _demo_mixture(args: argparse.Namespace) -> int:
    """Gaussian visible units on real-valued data: standardise, train, exact log-likelihood."""
    from . import RBM, show_config
    from .datasets import gaussian_mixture
    from .evaluation import log_likelihood_exact

    show_config(args.n_threads)
    X, _, _ = gaussian_mixture(3000, n_features=2, n_components=3, separation=4.0,
                               random_state=args.seed)
    mean, std = X.mean(0), X.std(0)
    Z = (X - mean) / std                 # standardise: Gaussian units start at sigma = 1
    baseline = -np.log(2 * np.pi) - 1    # N(0, I), the model with W = 0, on standardised data
    print(f"\nGaussian mixture: 3 components in 2-D, {len(Z)} rows, standardised "
          f"(per-feature mean {np.round(mean, 2)}, std {np.round(std, 2)} removed).\n"
          f"RBM: Gaussian visible with learned sigma, {args.hidden} Bernoulli hidden units, "
          f"PCD-{args.k}, {args.epochs} epochs; exact log-likelihood (Gaussian integral, "
          f"hidden states enumerated)\n")
    rbm = RBM(args.hidden, visible="gaussian", hidden="bernoulli", learn_sigma=True,
              persistent=True, k=args.k, learning_rate=args.learning_rate,
              sigma_learning_rate=args.learning_rate, batch_size=50, n_iter=1,
              init_scale=0.1, dtype=args.dtype, random_state=args.seed,
              n_threads=args.n_threads, backend=args.backend)
    print(f"{'epoch':>5}  {'recon. error':>12}  {'avg log-lik':>11}  {'seconds':>8}")
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        rbm.fit(Z) if epoch == 1 else rbm.partial_fit(Z)
        dt = time.perf_counter() - t0
        if epoch == 1 or epoch % args.report_every == 0 or epoch == args.epochs:
            ll = float(np.mean(log_likelihood_exact(rbm, Z)))
            print(f"{epoch:5d}  {rbm.reconstruction_error(Z):12.5f}  {ll:11.4f}  {dt:8.4f}")
    ll = float(np.mean(log_likelihood_exact(rbm, Z)))
    print(f"\nfinal average log-likelihood {ll:.3f} nats per standardised row "
          f"(N(0, I): {baseline:.3f}); learned sigma {np.round(rbm.sigma_, 3)}")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    from . import __version__

    positive = _int_type(1)
    parser = _Parser(prog="fastrbm", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fastrbm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,info}")
    demo = sub.add_parser("demo", help="train an RBM on built-in data and evaluate it exactly")
    demo.add_argument("--data", default="bars", choices=["bars", "mixture"],
                      help="bars: bars-and-stripes 4x4, Bernoulli units (default); mixture: "
                           "a standardised Gaussian mixture, Gaussian visible units")
    demo.add_argument("--hidden", type=_int_type(1, _INT_MAX), default=None,
                      help="hidden units (default 16 for bars, 8 for mixture, at most "
                           f"{_MAX_EXACT_HIDDEN} for mixture)")
    demo.add_argument("--epochs", type=positive, default=None, help="default 300 / 40")
    demo.add_argument("--k", type=_int_type(1, _INT_MAX), default=1,
                      help="Gibbs steps per update (default 1)")
    demo.add_argument("--learning-rate", type=_positive_float, default=None,
                      help="default 0.05 / 0.005")
    demo.add_argument("--repeats", type=positive, default=10,
                      help="copies of each pattern per epoch (bars; default 10)")
    demo.add_argument("--report-every", type=positive, default=None,
                      help="epochs between evaluations (default 25 / 5)")
    demo.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    demo.add_argument("--backend", default="cython", choices=["cython", "numpy"])
    demo.add_argument("--n-threads", type=_int_type(1, _INT_MAX), default=None,
                      help="threads (default: what the process may use)")
    demo.add_argument("--seed", type=_int_type(0, 2**64 - 1), default=0)
    demo.set_defaults(func=_run_demo, parser=demo)
    info = sub.add_parser("info", help="show version, OpenMP and BLAS configuration")
    info.set_defaults(func=_info, parser=info)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``fastrbm`` command (and of ``python -m fastrbm``).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        The exit status: 0 on success, 1 when training diverged or memory ran out,
        130 on Ctrl-C. Invalid arguments exit with status 2 (``SystemExit``) and a
        one-line message on stderr.
    """
    from .rbm import DivergenceError

    args = _build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("fastrbm: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"fastrbm {args.command}: error: out of memory; try smaller sizes",
              file=sys.stderr)
        return 1
    except DivergenceError as exc:  # an outcome of the settings chosen, not a bug
        print(f"fastrbm {args.command}: error: {exc}", file=sys.stderr)
        return 1


def _info(args: argparse.Namespace) -> int:
    from ._config import show_config

    show_config()
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    """Fill the data-dependent defaults, check what depends on them, run the demo."""
    bars = args.data == "bars"
    args.hidden = args.hidden if args.hidden is not None else (16 if bars else 8)
    if not bars and args.hidden > _MAX_EXACT_HIDDEN:
        args.parser.error(f"argument --hidden: at most {_MAX_EXACT_HIDDEN} with --data "
                          f"mixture (its exact log-likelihood enumerates 2^hidden states), "
                          f"got {args.hidden}")
    args.epochs = args.epochs if args.epochs is not None else (300 if bars else 40)
    args.learning_rate = (args.learning_rate if args.learning_rate is not None
                          else (0.05 if bars else 0.005))
    if args.report_every is None:
        args.report_every = 25 if bars else 5
    return _demo(args) if bars else _demo_mixture(args)
