"""Repeat-and-summarise timing: warm-up, calibrated inner loops, median and range.

The machine these numbers come from is shared and has two cores, so a single call
says little. :func:`measure` warms a callable up, picks an inner loop count so that
one repeat lasts long enough for ``perf_counter`` to be meaningful, then times
``repeats`` such loops and reports seconds *per call*: the median and the min-max.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional

import numpy as np


@dataclass(frozen=True)
class Budget:
    """How hard to measure: repeats after warm-up and the target length of one repeat."""

    repeats: int = 7
    warmup: int = 2
    min_repeat_seconds: float = 0.05
    #: idle pause before each timed block of :func:`measure_many`, then untimed calls
    settle_seconds: float = 0.15
    #: untimed calls after the pause, for at least this long (one call at least)
    rewarm_seconds: float = 0.02

    @classmethod
    def quick(cls) -> "Budget":
        """One timed repeat of one call: enough to prove the code path runs."""
        return cls(repeats=1, warmup=0, min_repeat_seconds=0.0, settle_seconds=0.0,
                   rewarm_seconds=0.0)


def _inner_count(fn: Callable[[], object], min_seconds: float) -> int:
    """Calls per repeat so that a repeat lasts at least ``min_seconds`` (at least 1)."""
    if min_seconds <= 0:
        return 1
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    return max(1, int(np.ceil(min_seconds / max(one, 1e-7))))


def measure(fn: Callable[[], object], budget: Budget,
            setup: Optional[Callable[[], object]] = None) -> dict:
    """Time ``fn()`` and summarise seconds per call.

    Parameters
    ----------
    fn : callable
        The work to time, called with no arguments.
    budget : Budget
        Repeats, warm-up calls and the minimum length of one repeat.
    setup : callable, optional
        Called (untimed) before the warm-up, the calibration and every repeat.

    Returns
    -------
    dict
        ``median``, ``min``, ``max`` (seconds per call), ``repeats`` and ``inner``
        (calls per repeat).
    """
    return measure_many({"fn": fn}, budget, {"fn": setup} if setup else None)["fn"]


def measure_many(fns: Dict[str, Callable[[], object]], budget: Budget,
                 before: Optional[Dict[str, Callable[[], object]]] = None) -> dict:
    """Time several callables in interleaved rounds; ``{name: measure-style dict}``.

    Every callable is warmed up and calibrated first; then each round times one
    repeat of each in turn. Load from other processes that comes and goes during the
    run then falls on all of them alike, so ratios of medians are steadier than when
    each callable is timed in its own stretch of time. ``before[name]``, if given, runs
    untimed before that callable's warm-up, calibration and each repeat (e.g. to set
    a thread count).

    Between blocks the process sleeps ``budget.settle_seconds``, then makes untimed
    calls for ``budget.rewarm_seconds`` (at least one). The reason for the pause: after
    a multi-threaded call OpenBLAS's idle workers spin for up to ~0.1 s (and OpenMP's
    for a few ms), holding a core; a block that follows a subject with another thread
    pool would otherwise pay for that subject's spinners. The reason for the calls:
    after the pause the first calls of any subject run slow (measured on the 2-core
    KVM guest: the first of a millisecond-long step 1.5-1.9x, settling over ~10 calls),
    which one untimed call did not absorb.
    """
    names = list(fns)
    before = before or {}

    def prepare(name):
        if before.get(name) is not None:
            before[name]()

    inner = {}
    for n in names:
        prepare(n)
        for _ in range(budget.warmup):
            fns[n]()
        inner[n] = _inner_count(fns[n], budget.min_repeat_seconds)
    per_call = {n: [] for n in names}
    for _ in range(budget.repeats):
        for n in names:
            fn, k = fns[n], inner[n]
            prepare(n)
            if budget.settle_seconds > 0:
                time.sleep(budget.settle_seconds)
                t_end = time.perf_counter() + budget.rewarm_seconds
                fn()
                while time.perf_counter() < t_end:
                    fn()
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            per_call[n].append((time.perf_counter() - t0) / k)
    out = {}
    for n in names:
        a = np.asarray(per_call[n])
        out[n] = {"median": float(np.median(a)), "min": float(a.min()),
                  "max": float(a.max()), "repeats": int(budget.repeats),
                  "inner": int(inner[n])}
    return out


def scaled(result: Optional[dict], factor: float) -> Optional[dict]:
    """``result`` with its times multiplied by ``factor`` (e.g. per epoch -> per batch)."""
    if result is None:
        return None
    out = dict(result)
    for key in ("median", "min", "max"):
        out[key] = result[key] * factor
    return out


def ratio(numerator: Optional[dict], denominator: Optional[dict]) -> Optional[float]:
    """Ratio of two medians from the same run (None when either is missing)."""
    if not numerator or not denominator or denominator["median"] <= 0:
        return None
    return numerator["median"] / denominator["median"]


class BlasThreads:
    """Hooks for :func:`measure_many` that set the BLAS thread count before a block.

    One threadpoolctl controller for the whole run; each hook limits every BLAS
    library loaded (NumPy's and SciPy's OpenBLAS alike) to ``n`` threads. Call
    :meth:`restore` at the end to put back the counts found at the start.
    """

    def __init__(self):
        from threadpoolctl import ThreadpoolController

        self._ctl = ThreadpoolController()
        self._first = None

    def hook(self, n: int) -> Callable[[], None]:
        def set_threads():
            limiter = self._ctl.limit(limits=int(n), user_api="blas")
            if self._first is None:
                self._first = limiter
        return set_threads

    def restore(self) -> None:
        if self._first is not None:
            self._first.restore_original_limits()
            self._first = None

