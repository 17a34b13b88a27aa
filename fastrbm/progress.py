"""Progress of long computations: a caller's callback, a bar or plain lines, and the
time left.

Long work (AIS and reverse AIS, exact enumeration, the DBN bound, long Gibbs chains,
training epochs) reports ``(done, total)`` to a :class:`Progress` between its segments.
A :class:`Progress` forwards each report to the caller's ``progress`` callback, and
when ``verbose`` shows it: as a tqdm bar on stderr when tqdm is installed (the
``progress`` extra) and stderr is a terminal, otherwise as a line on stdout at every
tenth of the work, with the seconds spent and an estimate of those left. Nothing is
shown unless asked.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, Optional

#: What a ``progress`` argument takes: called as ``progress(done, total)``.
ProgressCallback = Callable[[int, int], object]

#: Plain lines are written at each crossing of this fraction of the work.
LINE_EVERY = 0.1


def check_progress(progress, name: str = "progress") -> Optional[ProgressCallback]:
    """``progress`` if it is None or callable, else TypeError naming ``name``."""
    if progress is not None and not callable(progress):
        raise TypeError(f"{name} must be None or a callable(done, total); got "
                        f"{type(progress).__name__}")
    return progress


def seconds_left(elapsed: float, done: int, total: int) -> Optional[float]:
    """Linear estimate of the seconds still needed (None before any work is done)."""
    if done <= 0 or total <= 0:
        return None
    return elapsed * max(total - done, 0) / done


def format_seconds(seconds: Optional[float]) -> str:
    """``12.3 s``, ``4 min 05 s`` or ``2 h 03 min``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def tqdm_class():
    """tqdm's bar class (``tqdm.auto.tqdm``), or None when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class Progress:
    """Progress of one long computation (see the module docstring).

    Parameters
    ----------
    label : str
        What is running, e.g. ``"AIS"``; starts each plain line.
    unit : str
        What is counted, e.g. ``"intermediate distributions"``.
    verbose : bool or int
        Show the progress (a bar or lines).
    callback : callable(done, total) or None
        Called at every report, whether or not ``verbose``.
    bar : bool or None
        Force a bar (True) or plain lines (False); None: a bar when tqdm is installed
        and stderr is a terminal.
    file : text stream or None
        Where plain lines go (None: ``sys.stdout``; the command line uses stderr so
        that its results on stdout stay clean). A bar always goes to stderr.

    Use as a context manager, or call :meth:`close` when done; an instance is itself
    a ``callback(done, total)`` for the layers below.
    """

    def __init__(self, label: str, unit: str, verbose=False,
                 callback: Optional[ProgressCallback] = None, bar: Optional[bool] = None,
                 file=None):
        self.label = label
        self.file = file            # None: sys.stdout at the time of each line
        self.unit = unit
        self.verbose = bool(verbose)
        self.callback = check_progress(callback)
        self.t0 = time.perf_counter()
        self._next_line = LINE_EVERY
        self._bar = None
        self._use_bar = False
        if self.verbose:
            tqdm = tqdm_class()
            wanted = bar if bar is not None else (tqdm is not None and is_terminal(sys.stderr))
            self._use_bar = bool(wanted) and tqdm is not None
            self._tqdm = tqdm

    def __call__(self, done: int, total: int) -> None:
        done, total = int(done), int(total)
        if self.callback is not None:
            self.callback(done, total)
        if not self.verbose or total <= 0:
            return
        if self._use_bar:
            if self._bar is None:
                self._bar = self._tqdm(total=total, desc=self.label, unit=f" {self.unit}",
                                       leave=False, file=sys.stderr)
            self._bar.update(done - self._bar.n)
            return
        if done / total >= self._next_line or done == total:
            while self._next_line <= done / total:
                self._next_line += LINE_EVERY
            elapsed = time.perf_counter() - self.t0
            left = "" if done >= total else \
                f", about {format_seconds(seconds_left(elapsed, done, total))} left"
            print(f"[{self.label}] {done:6d}/{total} {self.unit}  "
                  f"{format_seconds(elapsed)}{left}", file=self.file or sys.stdout, flush=True)

    def close(self) -> None:
        """Close the bar, if one is shown."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def is_terminal(stream) -> bool:
    """Whether ``stream`` is an open terminal (False for files, pipes, replaced streams)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):     # replaced or closed streams
        return False
