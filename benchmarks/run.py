"""fastrbm benchmark suite: one entry point, a printed table and a JSON file.

    python benchmarks/run.py [--quick] [--json FILE] [--only NAME] [--dtype float32]

For each configuration and dtype: the fastrbm kernel step (one CD update, parameter
update included) and a whole epoch through ``RBM.partial_fit``; the same through
``fastrbm.reference``; the GEMM floor (the step's products alone, same BLAS); the peers
when installed (scikit-learn's BernoulliRBM, a PyTorch CPU loop); and every ratio
against fastrbm from this same run. Then: stepped sigmoid vs NReLU, AIS vs its floor,
1 vs all threads, memory of a fit. ``--only`` takes configuration names (a, b, c, d,
e, a_pcd1, a_cd10, a_adam, a_centered, a_pt10, a_fpcd; prefixes, comma-separated) or a
section (configs, units, ais, threads, memory).

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set, force slower OpenBLAS kernels: this
script re-executes itself once without them (its own process only; pass
``--keep-env`` to keep them) and records that in its output and JSON.
"""
from __future__ import annotations

import json
import os
import sys

# Must run before numpy/scipy load OpenBLAS: the variables are read at library load.
from machine import reexec_without_slow_env, unset_note

if "--keep-env" not in sys.argv:
    reexec_without_slow_env(__file__)

# Must also precede numpy: BLAS and OpenMP worker threads inherit the policy of the
# thread that creates them, and OpenBLAS creates its workers when it is loaded.
REALTIME = None
if "--realtime" in sys.argv:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        REALTIME = "SCHED_FIFO priority 10"
    except (AttributeError, PermissionError, OSError) as _exc:
        REALTIME = f"not available ({_exc})"

import argparse  # noqa: E402
import datetime  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import ais_bench  # noqa: E402
import memory  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
import scaling  # noqa: E402
import unit_tradeoff  # noqa: E402
from configs import configs, make_data  # noqa: E402
from floors import blas_library, call_overhead_seconds, cd_floor  # noqa: E402
from machine import info as machine_info, settle  # noqa: E402
from ours import epoch_callables, kernel_blas_threads, make_model, step_callables  # noqa: E402
from timing import Budget, BlasThreads, measure_many, ratio, scaled  # noqa: E402

SECTIONS = ("configs", "units", "ais", "threads", "memory")
DTYPES = ("float32", "float64")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="every benchmark once at small sizes (a smoke run, < 1 minute)")
    p.add_argument("--json", metavar="FILE", help="write the results here "
                   "(default: benchmarks/results/<date>.json; none with --quick)")
    p.add_argument("--only", metavar="NAME",
                   help="configurations (name prefixes, comma-separated: a, a_pcd1, "
                        f"a_fpcd, ...) or one section ({', '.join(SECTIONS)})")
    p.add_argument("--dtype", choices=DTYPES, action="append",
                   help="restrict to this dtype (repeatable; default both)")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats after warm-up")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for fastrbm and the peers (default: all available)")
    p.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                   help="before each measurement block wait up to this long for other "
                        "processes to leave the cores idle (the CPU share they used "
                        "is recorded either way)")
    p.add_argument("--realtime", action="store_true",
                   help="run under SCHED_FIFO (Linux, root): other processes then cannot "
                        "preempt the benchmark's threads, as on a dedicated machine; the "
                        "kernel's throttling still leaves them 5%% of each second")
    p.add_argument("--keep-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE if set")
    return p.parse_args(argv)


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_config(cfg, dtype, budget, n_threads):
    """Every subject on one configuration and dtype; ratios from these numbers."""
    X = make_data(cfg, dtype)
    subjects = {}
    skipped = {}
    subjects["floor_step"] = cd_floor(cfg.n_visible, cfg.n_hidden, cfg.batch_size,
                                      cfg.batch_size, cfg.k, dtype,
                                      n_sweep=cfg.batch_size * cfg.n_temperatures)
    subjects.update(step_callables(cfg, X, n_threads))
    subjects.update(epoch_callables(cfg, X, n_threads))
    for name, make in (("sklearn", lambda: peers.sklearn_callables(cfg, X)),
                       ("torch", lambda: peers.torch_callables(cfg, X, n_threads))):
        try:
            subjects.update(make())
        except peers.PeerUnavailable as exc:
            skipped[f"{name}_step"] = skipped[f"{name}_epoch"] = str(exc)
    _log(f"  {cfg.name} {dtype}: {', '.join(n for n in report.TIMED if n in subjects)}")
    # the raw kernel calls get the BLAS threads RBM.fit would give them; everything
    # else (floor, estimator, reference, peers) runs with BLAS at n_threads
    blas = BlasThreads()
    kernel_blas = kernel_blas_threads(cfg, n_threads)
    before = {n: blas.hook(kernel_blas if n.startswith("kernel_") else n_threads)
              for n in subjects}
    try:
        measured = measure_many({n: subjects[n] for n in report.TIMED if n in subjects},
                                budget, before)
    finally:
        blas.restore()
    timings = {name: measured.get(name) for name in report.TIMED}
    per_batch = {k: scaled(timings[k], 1.0 / cfg.n_batches) for k in
                 ("kernel_epoch", "fit_epoch", "reference_epoch", "sklearn_epoch",
                  "torch_epoch")}
    ratios = {
        "step": {"floor": ratio(timings["kernel_step"], timings["floor_step"]),
                 **{p: ratio(timings[f"{p}_step"], timings["kernel_step"])
                    for p in report.COMPARED}},
        "epoch": {"floor": ratio(per_batch["fit_epoch"], timings["floor_step"]),
                  **{p: ratio(timings[f"{p}_epoch"], timings["fit_epoch"])
                     for p in report.COMPARED}},
        # per-batch cost of an RBM.partial_fit epoch over one kernel step (> 1: overhead)
        "epoch_overhead": ratio(per_batch["fit_epoch"], timings["kernel_step"]),
    }
    return {"timings": timings, "per_batch": per_batch, "skipped": skipped,
            "kernel_blas_threads": kernel_blas,
            "ratios": ratios}


def main(argv=None):
    args = parse_args(argv)
    budget = Budget.quick() if args.quick else Budget(repeats=args.repeats)
    from fastrbm._blas_runtime import available_cores
    n_threads = args.threads or available_cores()
    dtypes = args.dtype or list(DTYPES)
    only = args.only
    sections = [only] if only in SECTIONS else (["configs"] if only else list(SECTIONS))
    t_start = time.perf_counter()

    if unset_note():
        print(unset_note(), flush=True)

    if REALTIME:
        print(f"Note: scheduling {REALTIME} (--realtime).", flush=True)
    result = {"schema": 1, "quick": args.quick, "scheduling": REALTIME or "default",
              "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "argv": sys.argv[1:], "budget": vars(budget),
              "floor_blas": {"via": "scipy.linalg.blas (f2py) -> the OpenBLAS that "
                                    "scipy.linalg.cython_blas (fastrbm's kernels) uses",
                             "library": blas_library(),
                             "call_overhead_seconds": call_overhead_seconds()}}

    if "configs" in sections:
        result["configs"] = []
        for cfg in configs(args.quick, None if only in SECTIONS else only):
            entry = {"name": cfg.name, "label": cfg.label, "describe": cfg.describe(),
                     "n_visible": cfg.n_visible, "n_hidden": cfg.n_hidden,
                     "batch_size": cfg.batch_size, "n_batches": cfg.n_batches,
                     "visible": cfg.visible, "hidden": cfg.hidden, "k": cfg.k,
                     "persistent": cfg.persistent, "basis": cfg.basis,
                     "results": {}}
            for dt in dtypes:
                quiet = settle(args.wait_idle)
                busy = "?" if quiet["busy"] is None else f"{100 * quiet['busy']:.0f}%"
                _log(f"config {cfg.name} {dt} (other processes' CPU share: {busy})")
                entry["results"][dt] = run_config(cfg, np.dtype(dt), budget, n_threads)
                entry["results"][dt]["others_cpu_before"] = quiet
            result["configs"].append(entry)
    else:
        result["configs"] = []

    if "units" in sections:
        _log("units: stepped sigmoid vs NReLU")
        settle(args.wait_idle)
        sizes = (96, 64, 16) if args.quick else (784, 500, 100)
        result["units"] = unit_tradeoff.run(sizes, budget, n_threads,
                                            n_sample_rows=200 if args.quick else 2000)
    if "ais" in sections:
        _log("ais")
        settle(args.wait_idle)
        sizes, runs, steps = ((96, 64), 10, 20) if args.quick else ((784, 500), 100, 200)
        result["ais"] = ais_bench.run(sizes, runs, steps, budget, n_threads)
    if "threads" in sections:
        result["threads"] = []
        for cfg in configs(args.quick):
            if cfg.name in ("a", "d"):
                for dt in dtypes:
                    _log(f"threads {cfg.name} {dt}")
                    settle(args.wait_idle)
                    X = make_data(cfg, np.dtype(dt))
                    result["threads"].append(scaling.run(cfg, X, budget, n_threads))
    if "memory" in sections:
        _log("memory")
        settle(args.wait_idle)
        cfg = configs(args.quick, "a")[0]
        result["memory"] = memory.run(cfg, make_model, make_data, 3 if args.quick else 6,
                                      n_threads)

    # machine info last: by now the peers' thread pools are loaded and visible
    result["machine"] = machine_info(n_threads, {"scikit-learn": peers.sklearn_version(),
                                                 "torch": peers.torch_version()})
    result["seconds"] = time.perf_counter() - t_start

    m = result["machine"]
    print(f"fastrbm {m['fastrbm']} on {m['cpu']} ({m['cores_available']} cores), "
          f"{n_threads} threads, numpy {m['numpy']}, scipy {m['scipy']}, "
          f"scikit-learn {m['peers']['scikit-learn']}, torch {m['peers']['torch']}, "
          f"commit {m['git_commit'][:10]}{' (kernels modified)' if m['git_dirty_kernels'] else ''}")
    for lib in m["threadpools"]:
        print(f"  {lib.get('user_api')}: {lib.get('internal_api')} {lib.get('version')} "
              f"{lib.get('architecture') or ''} threads={lib.get('num_threads')} "
              f"{lib.get('filepath')}")
    print("  small minibatches: products cut into calls for OpenBLAS's small-matrix kernels"
          if m["small_gemm"] else "  small minibatches: products not cut (no small-matrix "
          "kernels in this BLAS)")
    fb = result["floor_blas"]
    print(f"GEMM floor through {fb['via']} ({(fb['library'] or {}).get('filepath')}); "
          f"per-call Python overhead {report.fmt_time(fb['call_overhead_seconds'])}")
    print()
    print(report.render(result))
    print(f"\n({result['seconds']:.0f} s)")

    path = args.json
    if path is None and not args.quick:
        here = os.path.dirname(os.path.abspath(__file__))
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = os.path.join(here, "results", f"{stamp}.json")
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump(result, f, indent=1, default=float)
        print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
