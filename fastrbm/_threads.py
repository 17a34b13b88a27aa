"""Thread-count resolution and the one lazily made threadpoolctl controller.

``n_threads`` sets both the OpenMP threads of the elementwise passes (passed to the
kernels) and the BLAS threads (through threadpoolctl). The controller is made on first
use, never at import: made at import time, such controllers have deadlocked elsewhere.
"""
from __future__ import annotations

import contextlib
import os
import threading

_controller = None
_lock = threading.Lock()


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def resolve_n_threads(n_threads) -> int:
    """``None`` -> all cores this process may use; a positive int -> itself."""
    if n_threads is None:
        return available_cores()
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int,)) and not (
        hasattr(n_threads, "__index__")
    ):
        raise TypeError(f"n_threads must be None or a positive int; got {n_threads!r}")
    n = int(n_threads)
    if n < 1:
        raise ValueError(f"n_threads must be None or a positive int; got {n_threads!r}")
    return n


def controller():
    """The process-wide ``threadpoolctl.ThreadpoolController``, made on first call."""
    global _controller
    with _lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller


@contextlib.contextmanager
def blas_threads(n_threads):
    """Limit BLAS to ``n_threads`` inside the block; ``None`` leaves BLAS as it is."""
    if n_threads is None:
        yield
        return
    with controller().limit(limits=resolve_n_threads(n_threads), user_api="blas"):
        yield


def single_blas_thread(active: bool):
    """A context in which BLAS runs one thread (when ``active``; otherwise nothing).

    Kernels that split rows over OpenMP threads call BLAS from each of them: BLAS's own
    threads would then oversubscribe the cores and, spinning, stall the other pool.
    The kernels enter this themselves, so a direct call is as safe as an estimator's.
    """
    if not active:
        return contextlib.nullcontext()
    return controller().limit(limits=1, user_api="blas")
