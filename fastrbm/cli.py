"""Command line: ``fastrbm fit | evaluate | transform | sample | show | demo | info``.

Train an RBM or a DBN on a data file, evaluate it, compute features, draw samples and
pictures; ``fastrbm COMMAND --help`` shows each command's options and an example.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any, Callable, Optional, Sequence

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


def _bool(text: str) -> bool:
    """An argparse type: true/false, yes/no, 1/0."""
    lowered = text.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _param_type(default: Any) -> Callable[[str], Any]:
    """The argparse type of an estimator parameter, from its default's type.

    Only the kind of value is checked here; its range is the estimator's to check (it
    names the parameter in its ValueError, which becomes a one-line error).
    """
    if isinstance(default, bool):
        return _bool
    if isinstance(default, int):
        return _integer
    if isinstance(default, float):
        return _finite_float
    return _any_value


def _integer(text: str) -> int:
    """An argparse type: an int (its range is the estimator's to check)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _finite_float(text: str) -> float:
    """An argparse type: a finite float."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _any_value(text: str) -> Any:
    """An argparse type for parameters whose default is None or a string: an int, a
    float, none, true/false, JSON (``[...]``, ``{...}``) or else the string itself."""
    lowered = text.lower()
    if lowered in ("none", "true", "false"):
        return {"none": None, "true": True, "false": False}[lowered]
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected JSON, got {text!r}") from None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _layers(text: str) -> list:
    """An argparse type: hidden layer sizes, ``500,500,2000``."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes such as 500,500,2000, "
                                         f"got {text!r}")
    return sizes


def _add_data_options(p: argparse.ArgumentParser) -> None:
    """The options every command that reads a data file shares."""
    p.add_argument("--key", default=None, help="the array of an .npz file holding several")
    p.add_argument("--scale", type=_positive_float, default=None,
                   help="divide the data by this number, e.g. 255 for 8-bit images")
    p.add_argument("--data-image-shape", default=None, metavar="HxW",
                   help="for a folder of images: resize each to this size")


def _command(sub, name: str, help: str, example: str, func) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".",
                       epilog=f"example:\n  {example}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=func, parser=p)
    return p


def _add_fit(sub) -> None:
    from . import RBM
    from . import _commands as commands

    p = _command(sub, "fit", "train an RBM (or a DBN with --layers) on a data file",
                 "fastrbm fit train.npy --out model.npz --n-components 64 --epochs 20 "
                 "--seed 0", commands.fit)
    p.add_argument("data", help=".npy, .npz, .csv, .tsv, an IDX file or a folder of images")
    p.add_argument("--out", required=True, help="the model file to write (.npz)")
    p.add_argument("--layers", type=_layers, default=None,
                   help="hidden sizes of a DBN's layers, e.g. 500,500,2000")
    p.add_argument("--validation", default=None, metavar="DATA",
                   help="validation rows (scored after every epoch)")
    p.add_argument("--checkpoint-every", type=_int_type(1), default=None, metavar="N",
                   help="save the model every N epochs (to --checkpoint-path, else --out)")
    p.add_argument("--checkpoint-path", default=None,
                   help="where checkpoints go; may contain {epoch}")
    p.add_argument("--resume", default=None, metavar="MODEL",
                   help="continue the training saved in this checkpoint up to --epochs "
                        "(bitwise the uninterrupted run when given the same data)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a bar over the epochs on stderr, or a line per epoch when stderr is not a "
                        "terminal (default: when stderr is a terminal)")
    _add_data_options(p)
    params = RBM().get_params()
    group = p.add_argument_group("estimator parameters (as in fastrbm.RBM; default: RBM's)")
    for name in commands.estimator_params():
        flag = commands.RENAMED.get(name, name).replace("_", "-")
        group.add_argument(f"--{flag}", dest=name, type=_param_type(params[name]),
                           default=argparse.SUPPRESS, metavar="VALUE",
                           help=f"{name} (default {params[name]!r})")


def _add_evaluate(sub) -> None:
    from . import _commands as commands

    p = _command(sub, "evaluate", "log-likelihood, pseudo-likelihood, reconstruction error "
                 "and free-energy gap of a model on data",
                 "fastrbm evaluate model.npz test.npy --train train.npy --json",
                 commands.evaluate)
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("--train", default=None, metavar="DATA",
                   help="training rows: adds the free-energy gap (data minus train)")
    p.add_argument("--log-z", default="auto", choices=["auto", "exact", "ais"],
                   help="auto: exact when the model can be enumerated, else AIS")
    p.add_argument("--ais-runs", type=_int_type(2), default=100)
    p.add_argument("--seed", type=_int_type(0, 2**64 - 1), default=0,
                   help="seed of AIS (default 0)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress of long work (log Z, sampling) on stderr: a bar on a "
                        "terminal, else a line every 10 %% (default: when stderr is a terminal)")
    _add_data_options(p)


def _add_transform(sub) -> None:
    from . import _commands as commands

    p = _command(sub, "transform", "the hidden features (means) of data, saved as .npy",
                 "fastrbm transform model.npz data.npy --out features.npy",
                 commands.transform)
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("--out", required=True, help="the .npy file to write")
    _add_data_options(p)


def _add_sample(sub) -> None:
    from . import _commands as commands

    p = _command(sub, "sample", "draw samples by Gibbs sampling, as .npy or a picture",
                 "fastrbm sample model.npz -n 64 --steps 1000 --out samples.png",
                 commands.sample)
    p.add_argument("model")
    p.add_argument("-n", type=_int_type(1, _INT_MAX), default=64, help="samples (default 64)")
    p.add_argument("--steps", type=_int_type(1, _INT_MAX), default=1000,
                   help="Gibbs steps (default 1000)")
    p.add_argument("--init", default="random", choices=["random", "data"],
                   help="chains start at random or at the rows of --data")
    p.add_argument("--data", default=None)
    p.add_argument("--mean", action="store_true",
                   help="the visible means of the last step rather than a sample")
    p.add_argument("--image-shape", default=None, metavar="HxW",
                   help="for a picture (default: a square)")
    p.add_argument("--out", required=True, help=".npy, .png, .svg or .pdf")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress of long work (log Z, sampling) on stderr: a bar on a "
                        "terminal, else a line every 10 %% (default: when stderr is a terminal)")
    _add_data_options(p)


def _add_show(sub) -> None:
    from . import _commands as commands

    p = _command(sub, "show", "draw a model's filters, samples, reconstructions or history",
                 "fastrbm show model.npz --out filters.png --image-shape 28x28",
                 commands.show)
    p.add_argument("model")
    p.add_argument("--out", required=True, help=".png, .svg or .pdf")
    p.add_argument("--what", default="filters",
                   choices=["filters", "samples", "reconstructions", "history"])
    p.add_argument("--image-shape", default=None, metavar="HxW",
                   help="e.g. 28x28 (default: a square)")
    p.add_argument("-n", type=_int_type(1, _INT_MAX), default=64,
                   help="tiles at most (default 64)")
    p.add_argument("--steps", type=_int_type(1, _INT_MAX), default=1000,
                   help="Gibbs steps for samples (default 1000)")
    p.add_argument("--data", default=None, help="rows to reconstruct")
    _add_data_options(p)


def _add_demo(sub) -> None:
    positive = _int_type(1)
    demo = _command(sub, "demo", "train an RBM on built-in data and evaluate it",
                    "fastrbm demo --data digits --out-dir pictures", _run_demo)
    demo.add_argument("--data", default="bars", choices=["bars", "mixture", "digits"],
                      help="bars: bars-and-stripes 4x4, Bernoulli units (default); mixture: "
                           "a standardised Gaussian mixture, Gaussian visible units; digits: "
                           "the shipped 8x8 digits, writes filters and samples as PNG")
    demo.add_argument("--hidden", type=_int_type(1, _INT_MAX), default=None,
                      help="hidden units (default 16 for bars, 8 for mixture, 64 for digits;"
                           f" at most {_MAX_EXACT_HIDDEN} for mixture)")
    demo.add_argument("--epochs", type=positive, default=None, help="default 300 / 40 / 30")
    demo.add_argument("--k", type=_int_type(1, _INT_MAX), default=1,
                      help="Gibbs steps per update (default 1)")
    demo.add_argument("--learning-rate", type=_positive_float, default=None,
                      help="default 0.05 / 0.005 / 0.05")
    demo.add_argument("--repeats", type=positive, default=10,
                      help="copies of each pattern per epoch (bars; default 10)")
    demo.add_argument("--report-every", type=positive, default=None,
                      help="epochs between evaluations (default 25 / 5 / 5)")
    demo.add_argument("--out-dir", default=".",
                      help="digits: the folder for digits_filters.png and digits_samples.png")
    demo.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    demo.add_argument("--backend", default="cython", choices=["cython", "numpy"])
    demo.add_argument("--n-threads", type=_int_type(1, _INT_MAX), default=None,
                      help="threads (default: what the process may use)")
    demo.add_argument("--seed", type=_int_type(0, 2**64 - 1), default=0)


def _build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="fastrbm", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"fastrbm {__version__}")
    names = "fit,evaluate,transform,sample,show,demo,info"
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + names + "}",
                                parser_class=_Parser)
    for add in (_add_fit, _add_evaluate, _add_transform, _add_sample, _add_show, _add_demo):
        add(sub)
    info = _command(sub, "info", "show version, OpenMP and BLAS configuration",
                    "fastrbm info", _info)
    del info
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
        The exit status: 0 on success; 1 for a file that cannot be read, a value the
        estimator refuses, a missing extra, diverged training or memory running out,
        with a one-line message on stderr; 130 on Ctrl-C. Invalid arguments exit with status 2 (``SystemExit``) and a
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
    except (DivergenceError, ValueError, TypeError, OSError, ImportError) as exc:
        # bad input (files, values the estimator refuses, a missing extra) or an
        # outcome of the settings chosen: what the user can act on, in one line
        text = " ".join(str(exc).split()) or type(exc).__name__
        print(f"fastrbm {args.command}: error: {text}", file=sys.stderr)
        return 1


def _info(args: argparse.Namespace) -> int:
    from ._config import show_config

    show_config()
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    """Fill the data-dependent defaults, check what depends on them, run the demo."""
    if args.data == "digits":
        from ._commands import demo_digits

        args.hidden = args.hidden if args.hidden is not None else 64
        args.epochs = args.epochs if args.epochs is not None else 30
        args.learning_rate = args.learning_rate if args.learning_rate is not None else 0.05
        args.report_every = args.report_every if args.report_every is not None else 5
        return demo_digits(args)
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
