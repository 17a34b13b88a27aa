"""Model quality: the exact log-likelihood of RBMs trained by each method (issue 12).

    python benchmarks/quality.py [--quick] [--json FILE] [--seeds N]

Tasks: scikit-learn's handwritten digits (1797 x 64, pixels / 16 binarised at 0.5, a
fixed seeded 1500 / 297 train / test split) with 16 and 20 hidden units, and
bars-and-stripes 4x4 with 16 hidden units (the 32-row form that lists the all-off and
all-on images twice; full batch; train = test). Every model is small enough for an
exact log Z (the 2^16 or 2^20 hidden states are enumerated), so every figure is the
exact average log-likelihood in nats per example.

A method (``METHODS``) is a dict of ``fastrbm.RBM`` keyword arguments; each is trained
at every learning rate of its optimizer's grid (``GRID``) and every seed. The grid
point with the best median *train* log-likelihood is selected and its test
log-likelihood reported as the median and min-max over the seeds. The JSON keeps every
run of every grid point, the seeds, the epochs and the machine record.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for this run (see machine.py); the BLAS
in use is printed and stored.
"""
from __future__ import annotations

import sys

# Must run before numpy loads OpenBLAS: the variables are read at library load.
from machine import reexec_without_slow_env, unset_note

reexec_without_slow_env(__file__)

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from typing import Optional  # noqa: E402

import numpy as np  # noqa: E402

import peers  # noqa: E402
from machine import blas_summary, info as machine_info  # noqa: E402

#: The training methods: keyword arguments of fastrbm.RBM, one line each. The learning
#: rate comes from GRID, chosen by the method's optimizer.
METHODS = {
    "CD-1": {"k": 1, "persistent": False},
    "PCD-1": {"k": 1, "persistent": True},
    "CD-1 Adam": {"k": 1, "persistent": False, "optimizer": "adam"},
    "PCD-1 Adam": {"k": 1, "persistent": True, "optimizer": "adam"},
    "CD-1 centered": {"k": 1, "persistent": False, "centering": True},
    "PCD-1 centered": {"k": 1, "persistent": True, "centering": True},
    "PT-1 x 10": {"k": 1, "sampler": "pt", "n_temperatures": 10},
    "PT-1 x 10 centered": {"k": 1, "sampler": "pt", "n_temperatures": 10, "centering": True},
    "FPCD-1": {"k": 1, "sampler": "fpcd"},
}
#: Learning rates tried per optimizer. SGD keeps the constant momentum 0.5 (COMMON), so
#: that methods differ in one thing at a time; Adam ignores momentum.
GRID = {"sgd": (0.01, 0.03, 0.1, 0.3), "adam": (0.001, 0.003, 0.01, 0.03)}
#: Settings shared by every model. float64 so that the comparison of methods is not
#: also a comparison of rounding; the log-likelihood is computed in float64 anyway.
COMMON = {"momentum": 0.5, "weight_decay": 0.0, "dtype": "float64"}
SEEDS = (0, 1, 2)
#: Seed of the digits train / test split (fixed: every model sees the same split).
SPLIT_SEED = 0
N_TEST_DIGITS = 297


@dataclass(frozen=True)
class Task:
    """One data set and model size, with its training length."""

    name: str
    data: str            # 'digits' or 'bas'
    n_hidden: int
    n_epochs: int
    batch_size: int      # 0: full batch
    momentum: Optional[float] = None     # None: COMMON's


def tasks(quick: bool) -> list:
    """The default tasks, or tiny ones (8 hidden units, few epochs) for ``--quick``."""
    if quick:
        return [Task("digits, 8 hidden", "digits", 8, 3, 50),
                Task("BAS 4x4, 8 hidden", "bas", 8, 200, 0)]
    return [Task("digits, 16 hidden", "digits", 16, 50, 20),
            Task("digits, 20 hidden", "digits", 20, 50, 20),
            Task("BAS 4x4, 16 hidden", "bas", 16, 2000, 0),
            # the anchor setting: no momentum, 3000 epochs
            Task("BAS 4x4, 16 hidden, no momentum", "bas", 16, 3000, 0, momentum=0.0)]


def grid(quick: bool) -> dict:
    """Learning rates per optimizer: the middle two for ``--quick``."""
    return {opt: lrs[1:3] if quick else lrs for opt, lrs in GRID.items()}


# ----------------------------------------------------------------- data
def digits_split():
    """(train, test) of the binarised digits: pixel / 16 >= 0.5, seeded split."""
    from sklearn.datasets import load_digits

    X = (load_digits().data / 16.0 >= 0.5).astype(np.float64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(X))
    return X[order[N_TEST_DIGITS:]], X[order[:N_TEST_DIGITS]]


def bars_and_stripes_32() -> np.ndarray:
    """Bars-and-stripes 4x4 with the all-off and all-on images listed twice (32 rows):
    each is both two bars and two stripes, the usual generative count of the set."""
    from fastrbm.datasets import bars_and_stripes

    distinct = bars_and_stripes(4)
    return np.vstack([distinct, np.zeros((1, 16)), np.ones((1, 16))])


def task_data(task: Task):
    """(train, test) of a task; BAS is its own test set."""
    if task.data == "digits":
        return digits_split()
    X = bars_and_stripes_32()
    return X, X


# ----------------------------------------------------------------- references
def empirical_optimum(X) -> float:
    """Best average log-likelihood any model can reach on ``X`` itself: minus the
    entropy of the rows' empirical distribution (-3.379 nats for BAS 32)."""
    _, counts = np.unique(X, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(np.sum(p * np.log(p)))


def independent_pixels(train, test) -> dict:
    """Log-likelihood of the independent-pixel model fitted on ``train`` (the RBM
    without hidden units; marginals with a pseudo-count of one): a floor to beat."""
    p = (train.sum(axis=0) + 1.0) / (len(train) + 2.0)

    def ll(X):
        return float(np.mean(X @ np.log(p) + (1 - X) @ np.log1p(-p)))

    return {"train": ll(train), "test": ll(test)}


def references(train, test) -> dict:
    """The lines a task's numbers are read against."""
    n = train.shape[1]
    return {"uniform": -n * float(np.log(2.0)),
            "independent_pixels": independent_pixels(train, test),
            "train_optimum": empirical_optimum(train)}


# ----------------------------------------------------------------- training
def settings(task: Task, method: dict, learning_rate: float, n_train: int) -> dict:
    """All RBM keyword arguments of one grid point (seed excluded)."""
    out = {**COMMON, **method, "learning_rate": learning_rate,
           "batch_size": task.batch_size or n_train, "n_iter": task.n_epochs}
    if task.momentum is not None:
        out["momentum"] = task.momentum
    return out


def train_and_score(task: Task, kwargs: dict, seed: int, train, test) -> dict:
    """Train one model and return its exact train / test log-likelihood (nats/example).

    A run that diverges (fastrbm.DivergenceError) or ends with non-finite parameters
    is recorded with ``None`` figures and its reason: it cannot be selected.
    """
    import fastrbm
    from fastrbm.evaluation import log_partition_exact

    t0 = time.perf_counter()
    rbm = fastrbm.RBM(task.n_hidden, random_state=seed, **kwargs)
    try:
        rbm.fit(train)
    except fastrbm.DivergenceError as exc:
        return {"seed": seed, "train_ll": None, "test_ll": None, "log_z": None,
                "fit_seconds": time.perf_counter() - t0, "failed": str(exc)}
    t1 = time.perf_counter()
    log_z = log_partition_exact(rbm)     # one log Z serves train and test
    train_ll = float(np.mean(-rbm.free_energy(train) - log_z))
    test_ll = float(np.mean(-rbm.free_energy(test) - log_z))
    finite = all(np.isfinite(v) for v in (log_z, train_ll, test_ll))
    return {"seed": seed, "train_ll": train_ll if finite else None,
            "test_ll": test_ll if finite else None,
            "log_z": float(log_z) if finite else None,
            "fit_seconds": t1 - t0, "log_z_seconds": time.perf_counter() - t1,
            "failed": None if finite else "non-finite log-likelihood"}


def summary(values) -> dict:
    """Median and min-max of a list of numbers (None when any is missing)."""
    if not values or any(v is None for v in values):
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def run_grid_point(task, method, learning_rate, seeds, train, test) -> dict:
    """Every seed of one (method, learning rate), and its summaries."""
    kwargs = settings(task, method, learning_rate, len(train))
    runs = [train_and_score(task, kwargs, s, train, test) for s in seeds]
    return {"learning_rate": learning_rate, "settings": kwargs, "runs": runs,
            "train": summary([r["train_ll"] for r in runs]),
            "test": summary([r["test_ll"] for r in runs])}


def select(points: list):
    """Index of the grid point with the best median train log-likelihood (among those
    whose every seed finished), or None."""
    ok = [i for i, p in enumerate(points) if p["train"] is not None]
    return max(ok, key=lambda i: points[i]["train"]["median"]) if ok else None


def run_method(task, name, method, lrs, seeds, train, test) -> dict:
    """The whole grid of one method on one task, with the selected point."""
    points = []
    for lr in lrs:
        _log(f"  {task.name}: {name}, learning rate {lr:g}")
        points.append(run_grid_point(task, method, lr, seeds, train, test))
    best = select(points)
    return {"method": name, "kwargs": method, "grid": points, "selected_index": best,
            "selected": None if best is None else {
                "learning_rate": points[best]["learning_rate"],
                "settings": points[best]["settings"],
                "train": points[best]["train"], "test": points[best]["test"]}}


def run_task(task: Task, lr_grid: dict, seeds, methods: dict) -> dict:
    """Every method of ``methods`` on one task."""
    train, test = task_data(task)
    methods = [run_method(task, name, m, lr_grid[m.get("optimizer", "sgd")], seeds,
                          train, test)
               for name, m in methods.items()]
    return {**asdict(task), "n_visible": int(train.shape[1]), "n_train": len(train),
            "n_test": len(test), "test_is_train": task.data == "bas",
            "references": references(train, test), "methods": methods}


# ----------------------------------------------------------------- output
def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def _range(s) -> str:
    if s is None:
        return "failed"
    return f"{s['median']:.3f} [{s['min']:.3f}, {s['max']:.3f}]"


def render_grid(result: dict) -> str:
    """Every grid point's median train / test log-likelihood (a Markdown table)."""
    lines = ["| task | method | learning rate: median train / test LL |", "|---|---|---|"]
    for t in result["tasks"]:
        for m in t["methods"]:
            cells = []
            for i, p in enumerate(m["grid"]):
                text = "failed" if p["train"] is None else (
                    f"{p['train']['median']:.2f} / {p['test']['median']:.2f}")
                star = " (selected)" if i == m["selected_index"] else ""
                cells.append(f"{p['learning_rate']:g}: {text}{star}")
            lines.append(f"| {t['name']} | {m['method']} | {'; '.join(cells)} |")
    return "\n".join(lines)


def render(result: dict) -> str:
    """The summary tables (Markdown) of a result: selected points, references, grid."""
    n = len(result["seeds"])
    lines = [f"| task | method | selected learning rate | train LL, median [min, max] of "
             f"{n} seeds | test LL, median [min, max] | test LL - independent pixels |",
             "|---|---|---|---|---|---|"]
    for t in result["tasks"]:
        base = t["references"]["independent_pixels"]["test"]
        for m in t["methods"]:
            s = m["selected"]
            if s is None:
                lines.append(f"| {t['name']} | {m['method']} | — | failed | failed | — |")
                continue
            lines.append(f"| {t['name']} | {m['method']} | {s['learning_rate']:g} | "
                         f"{_range(s['train'])} | {_range(s['test'])} | "
                         f"{s['test']['median'] - base:+.3f} |")
    lines.append("")
    lines.append("| task | uniform | independent pixels, train / test | optimum on train |")
    lines.append("|---|---|---|---|")
    for t in result["tasks"]:
        r = t["references"]
        ip = r["independent_pixels"]
        lines.append(f"| {t['name']} | {r['uniform']:.3f} | {ip['train']:.3f} / "
                     f"{ip['test']:.3f} | {r['train_optimum']:.3f} |")
    return "\n".join(lines) + "\n\n" + render_grid(result)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny models, two learning rates, two seeds: seconds")
    p.add_argument("--json", metavar="FILE", help="write the results here")
    p.add_argument("--seeds", type=int, default=None,
                   help=f"number of seeds (default {len(SEEDS)}, --quick 2)")
    p.add_argument("--methods", default=None, metavar="NAMES",
                   help=f"comma-separated subset of the methods ({', '.join(METHODS)})")
    args = p.parse_args(argv)
    unknown = [] if args.methods is None else \
        [m for m in args.methods.split(",") if m not in METHODS]
    if unknown:
        p.error(f"unknown methods: {', '.join(unknown)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from fastrbm._blas_runtime import available_cores

    if unset_note():
        print(unset_note(), flush=True)
    n_seeds = args.seeds or (2 if args.quick else len(SEEDS))
    seeds = list(range(n_seeds))
    lr_grid = grid(args.quick)
    methods = METHODS if args.methods is None else \
        {name: METHODS[name] for name in args.methods.split(",")}
    t_start = time.perf_counter()
    result = {"schema": 1, "benchmark": "quality", "quick": args.quick,
              "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                  timespec="seconds"),
              "argv": sys.argv[1:], "seeds": seeds, "split_seed": SPLIT_SEED,
              "methods": methods, "grid": lr_grid, "common": COMMON,
              "selection": "best median train log-likelihood over the seeds",
              "units": "nats per example, exact log Z",
              "tasks": [run_task(t, lr_grid, seeds, methods) for t in tasks(args.quick)]}
    n_threads = available_cores()
    result["machine"] = machine_info(n_threads, {"scikit-learn": peers.sklearn_version()})
    result["seconds"] = time.perf_counter() - t_start
    print(render(result))
    print(f"BLAS: {blas_summary(result['machine']['threadpools'])}; "
          f"{result['seconds']:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
