"""Validation, early stopping and checkpoints of :meth:`fastrbm.RBM.fit`.

Kept out of :mod:`fastrbm.rbm`: the estimator calls these small pieces from its epoch
loop. Everything here is a function of the model's seed and counters, so a resumed run
makes the same split, the same scores and the same decisions as an uninterrupted one.
"""
from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import _maths, streams
from ._validation import data_checked

#: Metrics and whether lower values are better.
METRICS = {"free_energy_gap": True, "reconstruction_error": True,
           "pseudo_likelihood": False, "log_likelihood": False}

#: Stream of the validation split and of the training rows the free-energy gap uses
#: (NumPy generators seeded with (seed, epoch 0, purpose), like the epoch order).
PURPOSE_VALIDATION = streams.PURPOSE_EVAL + 1


# ----------------------------------------------------------------- settings
def check_fraction(value) -> Optional[float]:
    """``validation_fraction``: None or a float in (0, 1)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not 0.0 < float(value) < 1.0:
        raise ValueError(f"validation_fraction must be None or a number in (0, 1); got "
                         f"{value!r}")
    return float(value)


def check_metric(value, gaussian: bool, n_visible: Optional[int], n_hidden: int,
                 codes: Optional[tuple]) -> str:
    """``validation_metric``: a known name the model can compute.

    'pseudo_likelihood' needs Bernoulli visible units; 'log_likelihood' an exactly
    enumerable model (``codes``: (visible, hidden, n_copies) unit codes; checked when
    ``n_visible`` is known).
    """
    if not isinstance(value, str) or value not in METRICS:
        raise ValueError(f"validation_metric must be one of {sorted(METRICS)}; got {value!r}")
    if value == "pseudo_likelihood" and gaussian:
        raise ValueError("validation_metric='pseudo_likelihood' needs Bernoulli visible "
                         "units; use 'free_energy_gap' or 'reconstruction_error'")
    if value == "log_likelihood" and n_visible is not None:
        side, n_states = _maths.exact_states(codes[0], codes[1], n_visible, n_hidden, codes[2])
        if side is None or n_states > _maths.MAX_EXACT_STATES:
            raise ValueError(
                f"validation_metric='log_likelihood' is computed exactly, by enumeration, "
                f"and this model ({n_visible} visible, {n_hidden} hidden units) cannot be "
                f"enumerated ({'no exact form' if side is None else f'{n_states} states'}"
                f", limit {_maths.MAX_EXACT_STATES}); use 'free_energy_gap'")
    return value


def check_patience(value) -> Optional[int]:
    """``patience``: None or a positive int."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"patience must be None or an integer >= 1; got {value!r}")
    return int(value)


def check_checkpoints(every, path) -> tuple[int, Optional[str]]:
    """``checkpoint_every`` (int >= 0) and ``checkpoint_path`` (needed when every > 0;
    may hold ``{epoch}``). The folder is checked at fit start only
    (:func:`check_checkpoint_folder`): a loaded checkpoint may have been moved."""
    if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 0:
        raise ValueError(f"checkpoint_every must be an integer >= 0; got {every!r}")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"checkpoint_path must be None or a path; got {path!r}")
    if every == 0:
        return 0, None
    if path is None:
        raise ValueError("checkpoint_every > 0 needs checkpoint_path (a file path, which "
                         "may contain '{epoch}')")
    path = os.fspath(path)
    try:
        path.format(epoch=0)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"checkpoint_path {path!r} may contain '{{epoch}}' and no other "
                         f"replacement field ({type(exc).__name__}: {exc})") from None
    return int(every), path


def check_checkpoint_folder(path: str) -> None:
    """The folder of ``checkpoint_path`` exists (so that a run does not fail at its
    first checkpoint for a typing error)."""
    folder = os.path.dirname(os.path.abspath(path.format(epoch=0)))
    if not os.path.isdir(folder):
        raise ValueError(f"checkpoint_path {path!r}: the folder {folder!r} does not exist")


# ----------------------------------------------------------------- split
def split_rows(n_rows: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, validation rows): ``round(fraction * n_rows)`` rows held out,
    chosen by the seed alone; both sorted, disjoint, together all rows."""
    n_valid = int(round(fraction * n_rows))
    if not 1 <= n_valid < n_rows:
        raise ValueError(f"validation_fraction={fraction:g} of {n_rows} rows leaves "
                         f"{n_valid} validation and {n_rows - n_valid} training rows; "
                         f"both need at least one")
    rng = np.random.default_rng([seed, 0, PURPOSE_VALIDATION])
    perm = rng.permutation(n_rows)
    return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])


def reference_rows(n_train: int, n_valid: int, seed: int) -> np.ndarray:
    """The training rows the free-energy gap compares with: as many as the validation
    rows (all when fewer), chosen by the seed alone, sorted."""
    if n_valid >= n_train:
        return np.arange(n_train)
    rng = np.random.default_rng([seed, 1, PURPOSE_VALIDATION])
    return np.sort(rng.choice(n_train, n_valid, replace=False))


# ----------------------------------------------------------------- scores
@dataclass(frozen=True)
class Validator:
    """Scores the model on validation rows after each epoch."""

    metric: str
    X_valid: np.ndarray
    X_reference: Optional[np.ndarray]   # training rows of the free-energy gap

    @property
    def lower_is_better(self) -> bool:
        return METRICS[self.metric]

    def score(self, rbm) -> float:
        """The metric of ``rbm`` now (rows validated at fit start)."""
        from . import evaluation

        X = self.X_valid
        with data_checked():
            if self.metric == "free_energy_gap":
                value = evaluation.free_energy_gap(rbm, self.X_reference, X)
            elif self.metric == "reconstruction_error":
                value = evaluation.reconstruction_error(rbm, X)
            elif self.metric == "pseudo_likelihood":
                value = float(evaluation.pseudo_likelihood(rbm, X).mean())
            else:
                value = float(evaluation.log_likelihood_exact(rbm, X).mean())
        return float(value)


@dataclass(frozen=True)
class Record:
    """The early-stopping bookkeeping: scores so far, the best and epochs since it.

    Immutable: the epoch loop makes the next record and commits it together with the
    epoch's counters, so an interrupt never leaves half of it updated.
    """

    scores: tuple = ()
    best_epoch: Optional[int] = None
    best_score: Optional[float] = None
    since_best: int = 0

    def after(self, epoch: int, score: float, lower_is_better: bool) -> "Record":
        """The record once ``epoch`` scored ``score``; a tie is no improvement."""
        best = self.best_score
        improved = best is None or (score < best if lower_is_better else score > best)
        if not math.isfinite(score):
            improved = False
        scores = self.scores + (score,)
        if improved:
            return Record(scores, epoch, score, 0)
        return Record(scores, self.best_epoch, best, self.since_best + 1)

    @property
    def improved(self) -> bool:
        """Whether the last score was the best so far."""
        return bool(self.scores) and self.since_best == 0


# ----------------------------------------------------------------- checkpoints
def write_checkpoint(model, path_template: str, epoch: int) -> str:
    """Save ``model`` with :func:`fastrbm.io.save` to the template filled with ``epoch``.

    ``io.save`` writes a temporary file in the same folder and renames it over the
    target, so a reader never sees a partial checkpoint.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    OSError
        The file cannot be written (the message names the path and the epoch).
    """
    from . import io

    path = path_template.format(epoch=epoch)
    try:
        io.save(model, path)
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot write the checkpoint of epoch {epoch} to "
                                   f"{path!r}: {exc.strerror or exc}") from exc
    return path
