"""Memory of a fit: peak NumPy allocations against the data and parameters, and
growth across epochs.

NumPy reports its allocations to ``tracemalloc``, so the traced peak during ``fit``
(above what was allocated before it) is the memory the fit itself needs: parameters,
momentum buffers, the divergence guard's copy, the workspace. The resident set size
after each epoch (psutil, else /proc) shows whether anything leaks across epochs.
"""
from __future__ import annotations

import os
import tracemalloc

import numpy as np


def rss_bytes():
    """Resident set size of this process, or None when it cannot be read."""
    try:
        import psutil
        return int(psutil.Process().memory_info().rss)
    except ImportError:
        pass
    try:
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


def run(cfg, make_model, make_data, n_epochs, n_threads, dtype=np.float32):
    """Peak traced bytes of ``fit`` and per-epoch memory for configuration ``cfg``."""
    X = make_data(cfg, dtype)
    model = make_model(cfg, dtype, n_threads)
    model.n_iter = n_epochs
    nh, nv = cfg.n_hidden, cfg.n_visible
    itemsize = np.dtype(dtype).itemsize
    params = (nh * nv + nh + 2 * nv) * itemsize          # W, c, b, sigma
    per_epoch = []

    def record(m, info):
        per_epoch.append({"epoch": info["epoch"],
                          "traced_bytes": tracemalloc.get_traced_memory()[0] - base,
                          "rss_bytes": rss_bytes()})

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    try:
        model.fit(X, callback=record)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    rss = [e["rss_bytes"] for e in per_epoch if e["rss_bytes"] is not None]
    traced = [e["traced_bytes"] for e in per_epoch]
    # epoch 1 may still grow (first-touch of buffers, BLAS/OpenMP thread stacks)
    return {
        "config": cfg.name, "dtype": np.dtype(dtype).name, "n_epochs": n_epochs,
        "data_bytes": int(X.nbytes), "param_bytes": int(params),
        "peak_traced_bytes": int(peak),
        "peak_over_params": peak / params,
        "peak_over_data_plus_params": peak / (X.nbytes + params),
        "traced_growth_after_epoch1": int(traced[-1] - traced[0]) if traced else None,
        "rss_growth_after_epoch1": int(rss[-1] - rss[0]) if len(rss) > 1 else None,
        "per_epoch": per_epoch,
    }
