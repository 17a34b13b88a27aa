"""The BLAS runtime: thread counts, the one shared hold on BLAS's threads, and what
the kernels' BLAS can do.

``n_threads=None`` means what the process is allowed: OpenMP's ``omp_get_max_threads()``
(which honours ``OMP_NUM_THREADS``, threadpoolctl's limits and joblib's per-worker
limits), capped by the cores this process may run on; an explicit count above those
cores is capped with a warning.

The compiled kernels split their work over OpenMP threads and call BLAS from each of
them, so BLAS must run one thread meanwhile (its own threads would oversubscribe the
cores). BLAS's thread count is process-wide, and its result can depend on it, so it is
changed only through :class:`BlasHold`: one lock, one count of holders, the caller's
setting saved by the first holder and restored by the last. Holders that want the same
setting share it; one that wants another waits until the others are done. Concurrent
calls from several Python threads therefore run with exactly the settings the same
calls would have one after another, and fastrbm never raises BLAS above its caller's
setting.

The threadpoolctl controller is made on first use, never at import: made at import
time, such controllers have deadlocked elsewhere.

What the BLAS behind ``scipy.linalg.cython_blas`` (the kernels' BLAS) can do:

OpenBLAS builds for AVX-512 cores (its SkylakeX, Cooperlake and SapphireRapids kernels,
since 0.3.17) multiply small products -- ``m * n * k`` up to 10^6 -- with kernels that
read the operands in place instead of packing them first. A training step on a small
minibatch multiplies a few rows by all of W, and packing W then costs more than the
multiplication itself: cut into calls under that bound, the products of a 784x500 step
with 10 rows run 2-4 times faster (see ``_kernels._chunk_units``). Elsewhere the same
cut only adds calls, so the kernels cut only when this module says the BLAS has them.

``FASTRBM_SMALL_GEMM=0`` / ``=1`` in the environment overrides the detection.
"""
from __future__ import annotations

import functools
import numbers
import os
import threading
import warnings

_controller = None
_controller_lock = threading.Lock()


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def openmp_max_threads() -> int:
    """``omp_get_max_threads()`` of the kernels' OpenMP (1 in a serial build)."""
    from ._kernels import openmp_max_threads as omp_max

    return max(1, int(omp_max()))


def resolve_n_threads(n_threads) -> int:
    """The thread count a kernel call uses for ``n_threads``.

    Parameters
    ----------
    n_threads : int or None
        None: OpenMP's default for this thread of the process, capped by the usable
        cores. A positive int: itself, capped (with a warning) by the usable cores.

    Returns
    -------
    int
        At least 1.
    """
    cores = available_cores()
    if n_threads is None:
        return min(openmp_max_threads(), cores)
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be None or a positive int; got {n_threads!r}")
    n = int(n_threads)
    if n < 1:
        raise ValueError(f"n_threads must be None or a positive int; got {n_threads!r}")
    if n > cores:
        warnings.warn(f"n_threads={n} exceeds the {cores} core(s) this process may use; "
                      f"using {cores}", RuntimeWarning, stacklevel=3)
        return cores
    return n


def controller():
    """The process-wide ``threadpoolctl.ThreadpoolController``, made on first call."""
    global _controller
    with _controller_lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller


def _blas_libraries() -> list:
    """threadpoolctl's controllers of every BLAS loaded in the process."""
    return [lib for lib in controller().lib_controllers if lib.user_api == "blas"]


def _set_num_threads(lib, n: int) -> None:
    """Set one library's thread count from whichever Python thread holds BLAS.

    threadpoolctl (3.8 and later) lets only one "controlling" Python thread change a
    process-wide (pthreads) OpenBLAS pool and silently ignores the others; the first
    thread to set a count keeps control until it clears it. The hold's lock already
    serialises fastrbm's changes, so control is taken for the one call and released
    at once, as ``threadpool_limits`` releases it on exit: a caller's own limits set
    later, from any thread, still take effect.
    """
    release = getattr(type(lib), "clear_controlling_thread", None)
    if release is not None:
        release(force=True)
    lib.set_num_threads(n)
    if release is not None:
        release()


class _BlasState:
    """The shared hold: who holds BLAS, at which setting, and what to restore."""

    def __init__(self):
        self.cond = threading.Condition()
        self.holders = 0
        self.target = None          # the held setting (None: the caller's, unchanged)
        self.saved = []             # (library, caller's count) to restore
        self.local = threading.local()


_state = _BlasState()


class BlasHold:
    """Hold every BLAS library at ``n`` threads (never above the caller's setting).

    Parameters
    ----------
    n : int or None
        The wanted thread count; None keeps the caller's setting (but still waits while
        another holder has changed it, so that the call sees the caller's setting).

    Nested holds in one Python thread share the outer hold's setting.
    """

    __slots__ = ("n", "nested")

    def __init__(self, n):
        self.n = n
        self.nested = False

    def __enter__(self):
        st = _state
        depth = getattr(st.local, "depth", 0)
        if depth:
            self.nested = True
            st.local.depth = depth + 1
            return self
        with st.cond:
            while st.holders and st.target != self._target(st):
                st.cond.wait()
            if not st.holders:
                self._apply(st)
            st.holders += 1
        st.local.depth = 1
        return self

    def _target(self, st):
        """The setting this hold needs, given what the caller had."""
        if self.n is None:
            return None
        callers = [count for _, count in st.saved] if st.holders else [
            lib.get_num_threads() for lib in _blas_libraries()]
        known = [c for c in callers if c is not None]
        low = min(known) if known else self.n
        return min(self.n, low)

    def _apply(self, st):
        st.saved = [(lib, lib.get_num_threads()) for lib in _blas_libraries()]
        st.target = self._target(st)
        if st.target is not None:
            for lib, before in st.saved:
                if before is not None and before > st.target:
                    _set_num_threads(lib, st.target)

    def __exit__(self, *exc):
        st = _state
        st.local.depth -= 1
        if self.nested:
            return False
        with st.cond:
            st.holders -= 1
            if not st.holders:
                if st.target is not None:
                    for lib, before in reversed(st.saved):
                        if before is not None and before > st.target:
                            _set_num_threads(lib, before)
                st.saved, st.target = [], None
                st.cond.notify_all()
        return False


def blas_held_at_one() -> BlasHold:
    """BLAS at one thread inside the block: the compiled kernels enter this themselves
    (they call BLAS from each of their OpenMP threads), so direct calls are safe too."""
    return BlasHold(1)


def blas_threads(n_threads) -> BlasHold:
    """BLAS at ``n_threads`` (at most the caller's setting) inside the block; None keeps
    the caller's setting. For code that multiplies through NumPy (the reference)."""
    return BlasHold(None if n_threads is None else resolve_n_threads(n_threads))


# ------------------------------------------------------ what the kernels' BLAS can do
#: OpenBLAS core names whose sgemm/dgemm have the small-matrix kernels.
SMALL_KERNEL_CORES = frozenset({"skylakex", "cooperlake", "sapphirerapids"})
SMALL_KERNEL_SINCE = (0, 3, 17)


def _version_tuple(version) -> tuple:
    """``"0.3.31.188.0"`` -> ``(0, 3, 31)``; unknown -> ``()`` (older than anything)."""
    if not version:
        return ()
    parts = []
    for piece in str(version).split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def kernels_blas_info() -> dict:
    """threadpoolctl's record of the BLAS the kernels call, or ``{}`` if unknown.

    scipy's wheels bundle their own OpenBLAS (under ``scipy.libs``); a scipy built
    against a shared BLAS uses the single OpenBLAS loaded in the process.
    """
    import scipy.linalg.cython_blas  # noqa: F401  (loads the library if not yet loaded)

    libs = [lib for lib in controller().info() if lib.get("user_api") == "blas"]
    vendored = [lib for lib in libs if "scipy" in os.path.basename(
        os.path.dirname(lib.get("filepath") or ""))]
    if len(vendored) == 1:
        return vendored[0]
    return libs[0] if len(libs) == 1 else {}


@functools.lru_cache(maxsize=None)
def has_small_gemm_kernels() -> bool:
    """True when the kernels' BLAS multiplies small products without packing them."""
    override = os.environ.get("FASTRBM_SMALL_GEMM", "").strip()
    if override in ("0", "1"):
        return override == "1"
    try:
        info = kernels_blas_info()
    except Exception:  # threadpoolctl cannot inspect this process: assume the plain path
        return False
    return (info.get("internal_api") == "openblas"
            and str(info.get("architecture") or "").lower() in SMALL_KERNEL_CORES
            and _version_tuple(info.get("version")) >= SMALL_KERNEL_SINCE)
