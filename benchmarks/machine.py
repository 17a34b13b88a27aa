"""What a run ran on: machine, versions, BLAS and threads as threadpoolctl sees them."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

#: Variables that select slower OpenBLAS code paths on this kind of machine.
SLOW_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: Set by run.py when it re-executed itself without SLOW_ENV (holds the old values).
UNSET_MARKER = "FASTRBM_BENCH_UNSET_ENV"


def reexec_without_slow_env(script: str) -> None:
    """Run ``script`` again, with its arguments, in a process without SLOW_ENV.

    Call before numpy or scipy is imported (OpenBLAS reads the variables when it loads);
    returns only when nothing is to be unset or this process is the re-executed one.
    The old values travel in UNSET_MARKER, for the record of the run.
    """
    found = {k: os.environ[k] for k in SLOW_ENV if k in os.environ}
    if UNSET_MARKER in os.environ or not found:
        return
    env = {k: v for k, v in os.environ.items() if k not in SLOW_ENV}
    env[UNSET_MARKER] = json.dumps(found)
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, os.path.abspath(script)] + sys.argv[1:], env)


def unset_note() -> str:
    """The line a benchmark prints when reexec_without_slow_env dropped SLOW_ENV for it
    ("" when nothing was unset)."""
    unset = json.loads(os.environ.get(UNSET_MARKER, "{}") or "{}")
    if not unset:
        return ""
    return ("Note: unset " + ", ".join(f"{k}={v}" for k, v in unset.items())
            + " for this benchmark process (they force slower OpenBLAS kernels); "
            "tests and CI keep them.")


def blas_summary(threadpools: list) -> str:
    """One line naming each BLAS of threadpoolctl's ``threadpools`` and its kernels."""
    return "; ".join(f"{lib.get('internal_api')} {lib.get('version')} "
                     f"({lib.get('architecture')})"
                     for lib in threadpools if lib.get("user_api") == "blas")


def _cpu_times():
    """(busy, total) jiffies of all CPUs from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)     # idle + iowait
    total = sum(fields[:8])                                      # up to steal
    return total - idle, total


def cpu_busy(seconds: float = 1.0):
    """Fraction of all cores busy during ``seconds`` while this process sleeps: the load
    other processes put on the machine (None where /proc/stat is unavailable)."""
    a = _cpu_times()
    time.sleep(seconds)
    b = _cpu_times()
    if a is None or b is None or b[1] == a[1]:
        return None
    return (b[0] - a[0]) / (b[1] - a[1])


def settle(max_wait: float, threshold: float = 0.15) -> dict:
    """Wait up to ``max_wait`` seconds for other processes to leave the cores idle.

    With two cores and threads that synchronise several times per step, another busy
    process can slow a two-thread step tenfold; results taken under load say so.
    Returns ``{'busy': fraction, 'waited': seconds}`` from the last one-second probe.
    """
    t0 = time.perf_counter()
    busy = cpu_busy(0.5)
    while busy is not None and busy > threshold and time.perf_counter() - t0 < max_wait:
        busy = cpu_busy(1.0)
    return {"busy": busy, "waited": round(time.perf_counter() - t0, 1)}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args) -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        return subprocess.run(["git", *args], cwd=here, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def info(n_threads, peer_versions) -> dict:
    """A JSON-ready record of the machine, the software and the thread pools."""
    from fastrbm._config import config_info
    from threadpoolctl import threadpool_info

    cfg = config_info(n_threads)
    import json
    unset = json.loads(os.environ.get(UNSET_MARKER, "{}") or "{}")
    return {
        "cpu": _cpu_model(),
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "platform": cfg["platform"],
        "python": sys.version.split()[0],
        "fastrbm": cfg["fastrbm"], "numpy": cfg["numpy"], "scipy": cfg["scipy"],
        "peers": peer_versions,
        "openmp": cfg["openmp"], "openmp_max_threads": cfg["openmp_max_threads"],
        "n_threads": n_threads,
        "small_gemm": cfg["small_gemm"],
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty_kernels": bool(_git("status", "--porcelain", "--", "fastrbm", "src_c")),
        "threadpools": threadpool_info(),   # after peers are imported: their pools too
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "env_unset_for_this_run": unset,
        "env_still_set": {k: os.environ[k] for k in SLOW_ENV if k in os.environ},
    }
