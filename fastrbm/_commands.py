"""The work of the ``fit``, ``evaluate``, ``transform``, ``sample`` and ``show`` commands.

Each takes the parsed arguments and returns an exit status; :mod:`fastrbm.cli` builds
the parser and turns the ``ValueError`` / ``OSError`` / ``ImportError`` these raise into
one-line messages. Only the public API is used (estimators, ``io``, ``datasets``,
``evaluation``, ``plot``, ``progress``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Optional

import numpy as np

from .progress import Progress, is_terminal, tqdm_class

#: RBM parameters that the CLI names differently, or sets through options of its own.
RENAMED = {"n_iter": "epochs", "random_state": "seed"}
NOT_OPTIONS = ("verbose", "warm_start", "checkpoint_every", "checkpoint_path", "betas")

#: Rows the per-epoch reconstruction error is measured on: enough for 3 digits.
PROGRESS_ROWS = 1000


def read_data(path: str, args: argparse.Namespace) -> np.ndarray:
    """A data file as float rows, divided by ``--scale`` when given."""
    from . import datasets

    X = datasets.load(path, key=getattr(args, "key", None),
                      image_shape=getattr(args, "data_image_shape", None))
    X = X.astype(np.float64)
    scale = getattr(args, "scale", None)
    return X / scale if scale else X


def fit(args: argparse.Namespace) -> int:
    """Train an RBM (or, with ``--layers``, a DBN) and save it."""
    from . import DBN, RBM, io

    params = {name: getattr(args, name) for name in estimator_params()
              if hasattr(args, name)}
    X = read_data(args.data, args)
    V = None if args.validation is None else read_data(args.validation, args)
    if args.resume is not None:
        model = io.load(args.resume)
        if not isinstance(model, RBM):
            raise ValueError(f"--resume: {args.resume} holds a {type(model).__name__}; only "
                             f"an RBM's training can be resumed")
        # n_iter is the total to reach; the other settings are the checkpoint's own
        model.set_params(warm_start=True, **({"n_iter": params["n_iter"]}
                                               if "n_iter" in params else {}))
    elif args.layers is not None:
        if "n_components" in params:
            raise ValueError("--n-components and --layers exclude each other")
        if V is not None:
            raise ValueError("--validation is for an RBM; a DBN takes --validation-fraction")
        shared = {k: v for k, v in params.items()
                  if k not in ("visible", "hidden", "random_state")}
        model = DBN(args.layers, visible=params.get("visible"), hidden=params.get("hidden"),
                    rbm_params=shared, random_state=params.get("random_state"))
    else:
        model = RBM(**params)
    if args.checkpoint_every and not isinstance(model, DBN):
        model.set_params(checkpoint_every=args.checkpoint_every,
                         checkpoint_path=args.checkpoint_path or args.out)
    elif args.checkpoint_every:
        raise ValueError("--checkpoint-every is for an RBM: a DBN trains its layers afresh")
    progress = EpochProgress(X, enabled=show_progress(args))
    t0 = time.perf_counter()
    if isinstance(model, DBN):
        model.fit(X)
    else:
        model.fit(X, validation_data=V, callback=progress)
    io.save(model, args.out)
    progress.done(f"wrote {args.out} ({time.perf_counter() - t0:.1f} s)")
    return 0


def estimator_params() -> list:
    """The RBM parameters that ``fit`` takes as options (Python names)."""
    from . import RBM

    return [name for name in RBM().get_params() if name not in NOT_OPTIONS]


def show_progress(args: argparse.Namespace) -> bool:
    """``--progress`` / ``--no-progress``, or by default: is stderr a terminal."""
    return args.progress if args.progress is not None else sys.stderr.isatty()


class EpochProgress:
    """The ``fit`` callback: when enabled, a bar over the epochs on stderr (tqdm on a
    terminal) or one line per epoch there, with the reconstruction error (and the
    validation metric when there is one).

    The reconstruction error is measured on the first :data:`PROGRESS_ROWS` rows; it
    draws no random numbers, so the model trained is the same with or without it.
    """

    def __init__(self, X: np.ndarray, enabled: bool, bar: Optional[bool] = None):
        self.X = X[:PROGRESS_ROWS]
        self.enabled = enabled
        tqdm = tqdm_class()
        wanted = bar if bar is not None else is_terminal(sys.stderr)
        self._tqdm = tqdm if enabled and wanted else None
        self._bar = None

    def __call__(self, model, info: dict) -> None:
        if not self.enabled:
            return None
        figures = f"reconstruction error {model.reconstruction_error(self.X):.5f}"
        if info.get("validation_score") is not None:
            figures += f"  validation {model.validation_metric} {info['validation_score']:.5f}"
        if self._tqdm is not None:
            if self._bar is None:
                self._bar = self._tqdm(total=model.n_iter, desc="fit", unit=" epochs",
                                       initial=info["epoch"] - 1, file=sys.stderr)
            self._bar.set_postfix_str(figures, refresh=False)
            self._bar.update(info["epoch"] - self._bar.n)
            return None
        self.done(f"epoch {info['epoch']:4d}/{model.n_iter}  {figures}  "
                  f"{info['seconds']:.2f} s")
        return None

    def done(self, line: str) -> None:
        """Close the bar, then write ``line`` to stderr (when enabled)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.enabled:
            print(line, file=sys.stderr, flush=True)


def long_work(args: argparse.Namespace, label: str, unit: str):
    """The ``progress`` argument of a long call: a bar or lines on stderr when
    progress is shown (``--progress``, or stderr a terminal), else None."""
    if not show_progress(args):
        return None
    return Progress(label, unit, verbose=True, file=sys.stderr)


def evaluate(args: argparse.Namespace) -> int:
    """Print the model's figures on DATA as a table or JSON."""
    from . import DBN, io
    from . import evaluation as ev
    from .plot import reconstruct

    model = io.load(args.model)
    X = read_data(args.data, args)
    results = {"rows": int(X.shape[0])}
    if isinstance(model, DBN):
        results["log_likelihood_bound"] = float(np.mean(model.log_likelihood_bound(
            X, ais_runs=args.ais_runs, random_state=args.seed,
            progress=long_work(args, "DBN bound", "steps"))))
        results["reconstruction_error"] = float(np.mean((reconstruct(model, X) - X) ** 2))
    else:
        results.update(_rbm_figures(model, X, args, ev))
    if args.json:
        print(json.dumps(results))
    else:
        width = max(len(k) for k in results)
        for name, value in results.items():
            shown = value if isinstance(value, (str, int)) else f"{value:.5f}"
            print(f"{name.replace('_', ' '):<{width}}  {shown}")
    return 0


def _rbm_figures(model, X: np.ndarray, args: argparse.Namespace, ev) -> dict:
    """Log-likelihood (exact when it can be enumerated, else AIS), PL, error, gap."""
    out = {}
    try:
        ll = ev.log_likelihood(model, X, log_z="exact", progress=long_work(
            args, "exact log Z", "states")) if args.log_z != "ais" else None
    except ValueError:          # too many states to enumerate
        if args.log_z == "exact":
            raise
        ll = None
    if ll is None:
        ll = ev.log_likelihood(model, X, n_runs=args.ais_runs, random_state=args.seed,
                               progress=long_work(args, "AIS", "intermediate distributions"))
        out["log_likelihood_low"], out["log_likelihood_high"] = ll.mean_low, ll.mean_high
    out["log_likelihood"], out["log_z"], out["log_z_method"] = ll.mean, ll.log_z, ll.method
    if model.visible == "bernoulli":
        out["pseudo_likelihood"] = float(np.mean(ev.pseudo_likelihood(model, X)))
    out["reconstruction_error"] = ev.reconstruction_error(model, X)
    if args.train is not None:
        out["free_energy_gap"] = ev.free_energy_gap(model, read_data(args.train, args), X)
    return out


def transform(args: argparse.Namespace) -> int:
    """Save the hidden features of DATA as ``.npy``."""
    from . import io

    model = io.load(args.model)
    features = model.transform(read_data(args.data, args))
    np.save(_checked_out(args.out, (".npy",)), features)
    return 0


def sample(args: argparse.Namespace) -> int:
    """Draw samples by Gibbs sampling; save them as ``.npy`` or as a picture."""
    from . import DBN, io

    out = _checked_out(args.out, (".npy", ".png", ".svg", ".pdf"))
    model = io.load(args.model)
    steps = long_work(args, "sample", "Gibbs steps")
    if isinstance(model, DBN):
        if args.init != "random":
            raise ValueError("--init data is for an RBM; a DBN's chains start at random")
        S = model.sample(args.n, n_gibbs=args.steps, progress=steps)
    elif args.init == "data":
        if args.data is None:
            raise ValueError("--init data needs --data FILE (the rows the chains start at)")
        S = model.sample(args.n, n_steps=args.steps, init="data",
                         X=read_data(args.data, args), return_mean=args.mean,
                         progress=steps)
    else:
        S = model.sample(args.n, n_steps=args.steps, return_mean=args.mean, progress=steps)
    if out.endswith(".npy"):
        np.save(out, S)
        return 0
    from . import plot

    plot.samples(S, image_shape(args, S.shape[1]), out)
    return 0


def show(args: argparse.Namespace) -> int:
    """Draw the model's filters, samples, reconstructions or training history."""
    from . import io, plot

    out = _checked_out(args.out, (".png", ".svg", ".pdf"))
    model = io.load(args.model)
    n_features = model.n_features_in_
    if args.what == "filters":
        plot.filters(model, image_shape(args, n_features), out, n=args.n)
    elif args.what == "samples":
        plot.samples(model.sample(args.n, args.steps), image_shape(args, n_features), out)
    elif args.what == "reconstructions":
        if args.data is None:
            raise ValueError("--what reconstructions needs --data FILE")
        plot.reconstructions(model, read_data(args.data, args),
                             image_shape(args, n_features), out, n=args.n)
    else:
        scores = getattr(model, "validation_scores_", [])
        if not scores:
            raise ValueError(f"{args.model}: holds no training history (train with "
                             f"--validation or --validation-fraction)")
        plot.history({f"validation {model.validation_metric}": scores}, out)
    return 0


def image_shape(args: argparse.Namespace, n_features: int) -> tuple:
    """``--image-shape``, or the square that ``n_features`` pixels make."""
    from .datasets import check_image_shape

    if args.image_shape is not None:
        shape = check_image_shape(args.image_shape)
        if shape[0] * shape[1] != n_features:
            raise ValueError(f"--image-shape {shape[0]}x{shape[1]} has {shape[0] * shape[1]}"
                             f" pixels; the model has {n_features} visible units")
        return shape
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(f"{n_features} visible units are not a square image: give "
                         f"--image-shape HxW")
    return side, side


def _checked_out(path: str, suffixes: tuple) -> str:
    """``--out``, refused before any work when its suffix or folder is wrong."""
    if not path.lower().endswith(suffixes):
        raise ValueError(f"--out must end in {' or '.join(suffixes)}; got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"--out: the folder {folder} does not exist")
    return path


def demo_digits(args: argparse.Namespace) -> int:
    """Train on the shipped 8x8 digits; write the filters and samples as PNG files."""
    from . import RBM, plot
    from .datasets import load_digits

    out_dir = args.out_dir
    if not os.path.isdir(out_dir):
        raise ValueError(f"--out-dir: the folder {out_dir} does not exist")
    plot.default_zoom((8, 8))       # fails early, with the install hint, without matplotlib
    X = load_digits()
    print(f"8x8 UCI optical digits: {X.shape[0]} images of 64 pixels in [0, 1]; RBM with "
          f"{args.hidden} hidden units, PCD-{args.k}, {args.epochs} epochs\n")
    rbm = RBM(args.hidden, k=args.k, sampler="pcd", learning_rate=args.learning_rate,
              batch_size=20, n_iter=args.epochs, dtype=args.dtype, random_state=args.seed,
              n_threads=args.n_threads, backend=args.backend)

    def report(model, info):
        if info["epoch"] == 1 or info["epoch"] % args.report_every == 0 \
                or info["epoch"] == args.epochs:
            print(f"{info['epoch']:5d}  reconstruction error "
                  f"{model.reconstruction_error(X):.5f}  {info['seconds']:.3f} s")

    rbm.fit(X, callback=report)
    filters = os.path.join(out_dir, "digits_filters.png")
    samples = os.path.join(out_dir, "digits_samples.png")
    plot.filters(rbm, (8, 8), filters)
    plot.samples(rbm.sample(64, n_steps=1000, return_mean=True), (8, 8), samples)
    print(f"\nwrote {filters} and {samples}")
    return 0
