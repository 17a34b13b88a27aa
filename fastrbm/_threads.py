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


class _BlasLimit:
    """Set every BLAS library to ``n`` threads inside the block, restoring each after.

    The libraries' own get/set calls (about 1 us each) instead of threadpoolctl's
    ``limit`` (about 10 us, it re-reads every library's record): estimators enter this
    once per ``fit``/``partial_fit``/``transform``, and a ``partial_fit`` epoch of a
    small model takes under a millisecond.
    """

    __slots__ = ("n", "saved")

    def __init__(self, n):
        self.n = n
        self.saved = []

    def __enter__(self):
        for lib in controller().lib_controllers:
            if lib.user_api != "blas":
                continue
            before = lib.get_num_threads()
            if before is not None and before != self.n:
                lib.set_num_threads(self.n)
                self.saved.append((lib, before))
        return self

    def __exit__(self, *exc):
        for lib, before in reversed(self.saved):
            lib.set_num_threads(before)
        self.saved.clear()
        return False


def blas_threads(n_threads):
    """Limit BLAS to ``n_threads`` inside the block; ``None`` leaves BLAS as it is."""
    if n_threads is None:
        return contextlib.nullcontext()
    return _BlasLimit(resolve_n_threads(n_threads))


class _OneThread:
    """Hold one BLAS library at one thread inside the block, restoring its count after.

    A few ctypes calls (about 1 us) where threadpoolctl's ``limit`` over every library
    takes about 10 us: a kernel call on a 10-row minibatch takes 200 us.
    """

    __slots__ = ("lib", "before")

    def __init__(self, lib):
        self.lib = lib
        self.before = None

    def __enter__(self):
        before = self.lib.get_num_threads()
        if before is not None and before > 1:
            self.lib.set_num_threads(1)
            self.before = before
        return self

    def __exit__(self, *exc):
        if self.before is not None:
            self.lib.set_num_threads(self.before)
        return False


_kernels_blas = None


def _kernels_blas_controller():
    """threadpoolctl's controller of the BLAS the kernels call, or False if unknown."""
    global _kernels_blas
    if _kernels_blas is None:
        from ._blasinfo import kernels_blas_info

        path = kernels_blas_info().get("filepath")
        found = [lib for lib in controller().lib_controllers
                 if path and getattr(lib, "filepath", None) == path]
        _kernels_blas = found[0] if len(found) == 1 else False
    return _kernels_blas


def single_blas_thread(active: bool):
    """A context in which the kernels' BLAS runs one thread (when ``active``; otherwise
    nothing).

    Kernels that split work over OpenMP threads call BLAS from each of them: BLAS's own
    threads would then oversubscribe the cores and, spinning, stall the other pool.
    The kernels enter this themselves, so a direct call is as safe as an estimator's.
    Only the library behind ``scipy.linalg.cython_blas`` is touched (the kernels call
    no other); when it cannot be identified, every BLAS is limited.
    """
    if not active:
        return contextlib.nullcontext()
    lib = _kernels_blas_controller()
    if lib:
        return _OneThread(lib)
    return controller().limit(limits=1, user_api="blas")
