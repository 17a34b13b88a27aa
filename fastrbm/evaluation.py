"""Evaluating RBMs: exact log Z, annealed importance sampling, log-likelihood,
pseudo-likelihood, reconstruction error, and a per-epoch monitor.

The log-likelihood of held-out data needs the partition function Z. Small models are
enumerated exactly (:func:`log_partition_exact`); any model can be estimated with
annealed importance sampling (:func:`ais`, Salakhutdinov & Murray 2008), which runs in
the compiled kernels (through :func:`fastrbm.ops.ais`) with all runs as one batch
through BLAS. Reverse annealing (:func:`reverse_ais`, RAISE, Burda, Grosse &
Salakhutdinov 2015) gives a conservative estimate of each row's log p(x) from the
other side; :func:`sandwich` puts the two side by side.
"""
from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

from typing import NamedTuple

from . import _maths, ops, streams
from .progress import Progress, ProgressCallback, check_progress
from ._validation import check_positive_int, data_checked, seed_from
from .units import (HIDDEN_NRELU, VISIBLE_BERNOULLI, VISIBLE_GAUSSIAN, hidden_code,
                    visible_code)

#: Largest number of states enumerated exactly.
MAX_EXACT_STATES = _maths.MAX_EXACT_STATES


class _Codes(NamedTuple):
    """A model's unit codes, as the exact maths takes them."""

    visible: int
    hidden: int
    n_copies: int

__all__ = ["AISResult", "LogLikelihood", "Monitor", "ReverseAISResult", "Sandwich", "ais",
           "ais_schedule", "free_energy_gap", "log_likelihood", "log_likelihood_exact",
           "log_partition_exact", "pseudo_likelihood", "reconstruction_error",
           "reverse_ais", "sandwich", "MAX_EXACT_STATES"]


# ----------------------------------------------------------------- helpers
def _model(rbm):
    """(hyper, W, b, c, sigma or None) of a fitted model: its parameters validated by the
    model's own boundary (:meth:`fastrbm.rbm.RBM._check_fitted`), no copies made."""
    from .rbm import RBM

    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm must be a fastrbm RBM; got {type(rbm).__name__}")
    m = rbm.model_arrays()
    hyper = _Codes(visible_code(m.visible), hidden_code(m.hidden), m.n_copies)
    return hyper, m.W, m.b, m.c, m.sigma


def _check_rows(rbm, X, name="X"):
    return rbm.validate_rows(X, name)


# ----------------------------------------------------------------- exact
def log_partition_exact(rbm, *, verbose: Union[bool, int] = False,
                        progress: Optional[ProgressCallback] = None) -> float:
    """log Z of a small model by exact enumeration, in float64.

    Enumerates the smaller side: the 2^n_visible visible states (Bernoulli visible
    units, any hidden type; NReLU through its free energy, the infinite stepped sum),
    or the hidden configurations (Bernoulli hidden: 2^n_hidden; stepped: the copy
    counts 0..N of each unit, (N + 1)^n_hidden states weighted by how many copy
    patterns give each count). Gaussian visible units are integrated in closed form.

    Parameters
    ----------
    rbm : fitted RBM
    verbose : bool or int, default=False
        Show progress over the states (see :func:`ais`).
    progress : callable(done, total) or None
        Called after each block of states with the states done and their number.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When more than ``MAX_EXACT_STATES`` (2^25) states would be enumerated, or for
        Gaussian visible with NReLU hidden units, which have no exact form.
    """
    check_progress(progress)
    hyper, W, b, c, s = _model(rbm)
    with Progress("exact log Z", "states", verbose, progress) as report:
        return _maths.log_partition_exact(W, b, c, s, hyper.visible, hyper.hidden,
                                          hyper.n_copies, progress=report)


def log_likelihood_exact(rbm, X) -> np.ndarray:
    """log p(x) of each row with the exact log Z (small models only).

    Parameters
    ----------
    rbm : fitted RBM
    X : array-like (n_samples, n_features)

    Returns
    -------
    ndarray (n_samples,)
    """
    return -rbm.free_energy(X) - log_partition_exact(rbm)


# ----------------------------------------------------------------- AIS
def ais_schedule() -> np.ndarray:
    """The default inverse temperatures (Salakhutdinov & Murray 2008).

    0 to 0.5 in steps of 1e-3, 0.5 to 0.9 in 1e-4, 0.9 to 1 in 1e-5: 14,501 values,
    14,500 intermediate distributions.

    Returns
    -------
    ndarray of float64
    """
    return _maths.ais_schedule()


@dataclass(frozen=True)
class AISResult:
    """An AIS estimate of log Z.

    Attributes
    ----------
    log_z : float
        log Z_base + log mean(w).
    log_z_low, log_z_high : float
        log(mean(w) -/+ 3 standard errors of mean(w)) + log Z_base, the interval of
        Salakhutdinov & Murray; ``log_z_low`` is -inf when the interval reaches 0.
    log_weights : ndarray (n_runs,)
        log importance weights of the runs.
    log_z_base : float
        Exact log Z of the base model.
    n_intermediate : int
        Number of intermediate distributions (len(betas) - 1).
    base : str
        Which base model was used ('data', 'uniform' or 'model').
    seconds : float
    """

    log_z: float
    log_z_low: float
    log_z_high: float
    log_weights: np.ndarray = field(repr=False)
    log_z_base: float
    n_intermediate: int
    base: str
    seconds: float

    @property
    def n_runs(self) -> int:
        """Number of AIS runs."""
        return int(self.log_weights.shape[0])

    @classmethod
    def from_weights(cls, log_weights, log_z_base, n_intermediate, base, seconds):
        """Summarise log importance weights (stable in log space)."""
        lw = np.asarray(log_weights, dtype=np.float64)
        if not np.all(np.isfinite(lw)):
            raise FloatingPointError(
                "AIS produced non-finite importance weights: the model's partition function "
                "may be infinite (Gaussian visible with NReLU hidden units and weights whose "
                "largest singular value is >= 1) or its parameters are not finite")
        m = lw.max()
        w = np.exp(lw - m)
        mean = w.mean()
        se = w.std(ddof=1) / np.sqrt(w.size) if w.size > 1 else 0.0
        shift = log_z_base + m
        low = shift + np.log(mean - 3 * se) if mean - 3 * se > 0 else -np.inf
        return cls(float(shift + np.log(mean)), float(low), float(shift + np.log(mean + 3 * se)),
                   lw, float(log_z_base), int(n_intermediate), base, float(seconds))


def _check_betas(betas) -> np.ndarray:
    if betas is None:
        return ais_schedule()
    try:
        b = np.asarray(betas, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"betas must be a 1-D array of numbers; got {betas!r}") from None
    if b.ndim != 1 or b.size < 2:
        raise ValueError(f"betas must be a 1-D array of at least 2 values; got shape {b.shape}")
    if not np.all(np.isfinite(b)) or b[0] != 0 or b[-1] != 1 or np.any(np.diff(b) < 0):
        raise ValueError("betas must increase from exactly 0 to exactly 1 (non-decreasing, "
                         "finite)")
    if b.size - 1 >= 2**32:
        raise ValueError("betas has too many values (the random stream's step is 32-bit)")
    return b


def ais(rbm, n_runs: int = 100, betas=None, base: str = "data", data=None,
        random_state=None, n_threads: Optional[int] = None, verbose: Union[bool, int] = False,
        backend: Optional[str] = None,
        progress: Optional[ProgressCallback] = None) -> AISResult:
    """Estimate log Z by annealed importance sampling (Salakhutdinov & Murray 2008).

    The intermediate models interpolate the parameters from a base model with zero
    weights and zero hidden biases to the model: weights and hidden biases are scaled
    by beta, the visible term moves from the base's to the model's (for Bernoulli
    units this is exactly the paper's path). Each transition is one Gibbs sweep
    h ~ p_beta(h | v), v ~ p_beta(v | h) with the exact conditionals of the unit
    types; NReLU units are sampled exactly as the infinite stepped sum whose free
    energy defines them (not with the max(0, x + noise) approximation used in training).

    Parameters
    ----------
    rbm : fitted RBM
    n_runs : int, default=100
        Independent AIS runs, simulated as one batch.
    betas : array-like or None
        Inverse temperatures from 0 to 1; None: :func:`ais_schedule` (14,500
        intermediate distributions).
    base : {'data', 'uniform'}, default='data'
        'data': the base-rate model of ``data`` (Bernoulli visible: logits of the
        marginals with a pseudo-count of 0.5; Gaussian visible: N(mean, std^2) per
        unit). Falls back to 'uniform' when ``data`` is None. 'uniform': zero visible
        biases (Bernoulli); for Gaussian visible units the model's own N(b, sigma^2)
        (reported as 'model').
    data : array-like (n_samples, n_features), optional
        Data for the base model (usually the training set).
    random_state : None, int, RandomState or Generator
        Seed of the counter-based generator; the estimate does not depend on n_threads.
    n_threads : int or None
        Threads for the elementwise passes and BLAS; None uses the model's setting.
    verbose : bool or int, default=False
        Show progress (a bar on stderr when tqdm is installed and stderr is a terminal,
        else a line on stdout every 10 %, with the time left) and the result.
    backend : {'cython', 'numpy'} or None
        None: the model's backend. 'numpy' runs the NumPy twin (slow).
    progress : callable(done, total) or None
        Called between segments of the work (about every 20 ms) with the intermediate
        distributions done and their number, whether or not ``verbose``.

    Returns
    -------
    AISResult
    """
    check_progress(progress)
    setup = _annealing(rbm, n_runs, betas, base, data, random_state, n_threads, backend)
    t0 = time.perf_counter()
    with Progress("AIS", "intermediate distributions", verbose, progress) as report:
        log_w, log_z_base = ops.ais(*setup.model, **setup.units, betas=setup.betas,
                                    base_b=setup.base_b, base_sigma=setup.base_sigma,
                                    n_runs=setup.n_runs, seed=setup.seed,
                                    n_threads=setup.n_threads, progress=report,
                                    backend=setup.backend)
    betas, base_name = setup.betas, setup.base_name
    result = AISResult.from_weights(log_w, log_z_base, betas.size - 1, base_name,
                                    time.perf_counter() - t0)
    if verbose:
        print(f"[AIS] log Z = {result.log_z:.4f}  (3 s.e.: {result.log_z_low:.4f} .. "
              f"{result.log_z_high:.4f}), {n_runs} runs, {result.seconds:.2f} s",
              file=sys.stdout, flush=True)
    return result


class _Annealing(NamedTuple):
    """What AIS and RAISE share: the model, its path and the random stream, checked."""

    model: tuple
    units: dict
    betas: np.ndarray
    base_b: np.ndarray
    base_sigma: Optional[np.ndarray]
    base_name: str
    n_runs: int
    seed: int
    n_threads: Optional[int]
    backend: str


def _annealing(rbm, n_runs, betas, base, data, random_state, n_threads, backend) -> _Annealing:
    """Check the arguments AIS and RAISE share and build the base model (nothing of the
    model is changed)."""
    hyper, W, b, c, s = _model(rbm)
    n_runs = check_positive_int(n_runs, "n_runs", minimum=2)
    betas = _check_betas(betas)
    if base not in ("data", "uniform"):
        raise ValueError(f"base must be 'data' or 'uniform'; got {base!r}")
    if data is not None:
        data = _check_rows(rbm, data, "data")
    backend = ops.check_backend(rbm.backend if backend is None else backend)
    n_threads = rbm.n_threads if n_threads is None else n_threads
    seed = seed_from(random_state)
    use_data = base == "data" and data is not None
    base_b, base_s = _maths.ais_base(hyper.visible, data if use_data else None, b, s)
    base_name = "data" if use_data else (
        "uniform" if hyper.visible == VISIBLE_BERNOULLI else "model")
    if hyper.visible == VISIBLE_GAUSSIAN and hyper.hidden == HIDDEN_NRELU:
        norm = np.linalg.norm(np.asarray(W, dtype=np.float64), 2)
        if norm >= 1:
            warnings.warn(f"Gaussian visible with NReLU hidden units: the weights' largest "
                          f"singular value is {norm:.3g} >= 1, so Z may be infinite",
                          RuntimeWarning, stacklevel=3)
    return _Annealing((W, b, c, s), rbm.model_arrays().units, betas, base_b, base_s,
                      base_name, n_runs, seed, n_threads, backend)


# ----------------------------------------------------------------- likelihoods
@dataclass(frozen=True)
class LogLikelihood:
    """Average and per-row log p(x), and where log Z came from.

    Attributes
    ----------
    mean : float
        Average log-likelihood (nats per row).
    per_row : ndarray (n_samples,)
    log_z : float
    method : str
        'exact', 'ais', 'raise' or 'given'.
    mean_low, mean_high : float
        AIS: the mean under the AIS interval of log Z (a lower log Z gives a higher
        likelihood, so ``mean_high`` uses ``log_z_low``). RAISE: the mean -/+ 3 of its
        standard errors (:class:`ReverseAISResult`). Otherwise equal to ``mean``.
    ais : AISResult or None
    reverse_ais : ReverseAISResult or None
        RAISE's per-row details (``method='raise'``); ``log_z`` is then the log Z its
        mean implies, mean(-F(x)) - mean.
    """

    mean: float
    per_row: np.ndarray = field(repr=False)
    log_z: float
    method: str
    mean_low: float
    mean_high: float
    ais: Optional[AISResult] = field(default=None, repr=False)
    reverse_ais: Optional["ReverseAISResult"] = field(default=None, repr=False)


def log_likelihood(rbm, X, log_z=None, method: Optional[str] = None,
                   **ais_options) -> LogLikelihood:
    """Log-likelihood of the rows of ``X``: log p(x) = -F(x) - log Z.

    Parameters
    ----------
    rbm : fitted RBM
    X : array-like (n_samples, n_features)
    log_z : None, 'ais', 'exact', float or AISResult
        None or 'ais': estimate log Z with :func:`ais` (``ais_options`` are passed on;
        the base model defaults to the marginals of ``X`` unless ``data`` is given).
        'exact': :func:`log_partition_exact` (of ``ais_options`` only ``verbose`` and
        ``progress`` apply). A float or an AISResult is used as is.
    method : None or 'raise'
        'raise': no log Z; each row's log p(x) by :func:`reverse_ais` (``log_z`` must be
        None; ``ais_options`` are its keyword arguments), a conservative estimate.
        None: as ``log_z`` says.
    **ais_options
        Keyword arguments of :func:`ais` (or :func:`reverse_ais`).

    Returns
    -------
    LogLikelihood
        ``.method`` says which log Z was used ('raise': none).
    """
    if method is not None:
        if not isinstance(method, str) or method not in ("raise", "ais", "exact"):
            raise ValueError(f"method must be None, 'ais', 'exact' or 'raise'; got {method!r}")
        if method == "raise":
            if log_z is not None:
                raise ValueError("method='raise' estimates log p(x) without log Z; "
                                 "log_z must be None")
            return reverse_ais(rbm, X, **ais_options).log_likelihood()
        if log_z is None:
            log_z = method
        elif not (isinstance(log_z, str) and log_z == method) and \
                not (method == "ais" and isinstance(log_z, AISResult)):
            raise ValueError(f"method={method!r} contradicts log_z={log_z!r}")
    X = _check_rows(rbm, X)
    with data_checked():            # X is checked (feature names too): not again
        fe = rbm.free_energy(X)
    result = None
    if log_z is None or (isinstance(log_z, str) and log_z == "ais"):
        if "data" in ais_options:
            result = ais(rbm, **ais_options)
        else:
            with data_checked():
                result = ais(rbm, data=X, **ais_options)
    elif isinstance(log_z, AISResult):
        result = log_z
    elif isinstance(log_z, str):
        if log_z != "exact":
            raise ValueError(f"log_z must be None, 'ais', 'exact', a float or an AISResult; "
                             f"got {log_z!r}")
        lz = log_partition_exact(rbm, verbose=ais_options.get("verbose", False),
                                 progress=ais_options.get("progress"))
        per_row = -fe - lz
        return LogLikelihood(float(per_row.mean()), per_row, lz, "exact",
                             float(per_row.mean()), float(per_row.mean()))
    elif isinstance(log_z, (int, float, np.floating, np.integer)) and not isinstance(log_z, bool):
        lz = float(log_z)
        if not np.isfinite(lz):
            raise ValueError(f"log_z must be finite; got {log_z!r}")
        per_row = -fe - lz
        return LogLikelihood(float(per_row.mean()), per_row, lz, "given",
                             float(per_row.mean()), float(per_row.mean()))
    else:
        raise TypeError(f"log_z must be None, 'ais', 'exact', a float or an AISResult; "
                        f"got {type(log_z).__name__}")
    per_row = -fe - result.log_z
    m = float(per_row.mean())
    return LogLikelihood(m, per_row, result.log_z, "ais", m - (result.log_z_high - result.log_z),
                         m + (result.log_z - result.log_z_low), result)


# ----------------------------------------------------------------- RAISE
@dataclass(frozen=True)
class ReverseAISResult:
    """RAISE's estimate of log p(x) per row (Burda, Grosse & Salakhutdinov 2015).

    Each row's estimate is log mean(w) over its runs, w the reverse chains' importance
    weights: E[w] is p(x) under the annealing model (AIS's forward chain followed by one
    sweep at beta = 1), so by Jensen E[log mean(w)] <= log of that, which approaches
    log p(x) as the schedule gets finer. In practice: a conservative estimate.

    Attributes
    ----------
    per_row : ndarray (n_rows,)
        log mean(w) of each row.
    per_row_low, per_row_high : ndarray (n_rows,)
        log(mean(w) -/+ 3 standard errors of mean(w)), as :class:`AISResult`'s interval
        (-inf where it reaches 0).
    mean : float
        Mean of ``per_row``.
    mean_low, mean_high : float
        ``mean`` -/+ 3 standard errors: the rows' chains are independent, and the
        standard error of a row's log mean(w) is se(mean w) / mean w (delta method), so
        that of the mean is sqrt(sum of their squares) / n_rows.
    log_weights : ndarray (n_rows, n_runs)
        log w of every chain.
    free_energy : ndarray (n_rows,)
        F(x) of each row (the weights' top term is -F(x)).
    log_z_base : float
    n_intermediate : int
    base : str
    seconds : float
    """

    per_row: np.ndarray = field(repr=False)
    per_row_low: np.ndarray = field(repr=False)
    per_row_high: np.ndarray = field(repr=False)
    mean: float
    mean_low: float
    mean_high: float
    log_weights: np.ndarray = field(repr=False)
    free_energy: np.ndarray = field(repr=False)
    log_z_base: float
    n_intermediate: int
    base: str
    seconds: float

    @property
    def n_runs(self) -> int:
        """Chains per row."""
        return int(self.log_weights.shape[1])

    @classmethod
    def from_weights(cls, log_weights, free_energy, log_z_base, n_intermediate, base,
                     seconds) -> "ReverseAISResult":
        """Summarise the (n_rows, n_runs) log weights (stable in log space)."""
        lw = np.asarray(log_weights, dtype=np.float64)
        if not np.all(np.isfinite(lw)):
            raise FloatingPointError(
                "RAISE produced non-finite importance weights: the model's parameters are "
                "not finite, or its partition function is infinite")
        top = lw.max(axis=1, keepdims=True)
        w = np.exp(lw - top)
        mean = w.mean(axis=1)
        se = w.std(axis=1, ddof=1) / np.sqrt(w.shape[1])
        shift = top[:, 0]
        per_row = shift + np.log(mean)
        with np.errstate(divide="ignore", invalid="ignore"):
            low = np.where(mean - 3 * se > 0, shift + np.log(mean - 3 * se), -np.inf)
        high = shift + np.log(mean + 3 * se)
        m = float(per_row.mean())
        se_mean = float(np.sqrt(np.sum((se / mean) ** 2)) / per_row.size)
        return cls(per_row, low, high, m, m - 3 * se_mean, m + 3 * se_mean, lw,
                   np.asarray(free_energy, dtype=np.float64), float(log_z_base), int(n_intermediate), base, float(seconds))

    def log_likelihood(self) -> LogLikelihood:
        """This estimate as a :class:`LogLikelihood` (``method='raise'``; its ``log_z``
        is the log Z the mean implies, mean(-F(x)) - mean)."""
        implied = float(np.mean(-self.free_energy) - self.mean)
        return LogLikelihood(self.mean, self.per_row, implied, "raise", self.mean_low,
                             self.mean_high, None, self)


def reverse_ais(rbm, X, n_runs: int = 10, betas=None, base: str = "data", data=None,
                random_state=None, n_threads: Optional[int] = None,
                verbose: Union[bool, int] = False, backend: Optional[str] = None,
                progress: Optional[ProgressCallback] = None) -> ReverseAISResult:
    """Conservative estimates of log p(x) per row by reverse annealing (RAISE).

    Burda, Grosse & Salakhutdinov (AISTATS 2015): each of ``n_runs`` chains per row
    starts at the row (with h ~ p(h | x) under the model), anneals down the path of
    :func:`ais` to its base model, one Gibbs sweep per temperature, and weighs itself by
    the free-energy differences on the way (the hidden units summed out) and the base
    model's normalised probability at the bottom. The weight's expectation is the
    probability of x under the annealing model, so log mean(w) is, in expectation, below
    it: beside AIS (optimistic in expectation) it brackets log p(x).

    Parameters
    ----------
    rbm : fitted RBM
    X : array-like (n_samples, n_features)
        The rows to evaluate.
    n_runs : int, default=10
        Chains per row (at least 2, for the interval); the cost is that of AIS with
        n_samples * n_runs runs.
    betas : array-like or None
        Inverse temperatures from 0 to 1 (run downwards); None: :func:`ais_schedule`.
    base : {'data', 'uniform'}, default='data'
        The base model, as :func:`ais`; 'data' uses ``data`` or, when it is None, ``X``.
    data : array-like (n_samples, n_features), optional
        Data for the base model (the training set is the sound choice: a base fitted to
        X itself favours X at coarse schedules).
    random_state : None, int, RandomState or Generator
        Seed (stream ``streams.PURPOSE_RAISE``); the estimate does not depend on
        n_threads.
    n_threads : int or None
        None: the model's setting.
    verbose : bool or int, default=False
        Show progress and the result, as :func:`ais`.
    backend : {'cython', 'numpy'} or None
        None: the model's backend.
    progress : callable(done, total) or None
        As :func:`ais`.

    Returns
    -------
    ReverseAISResult
    """
    check_progress(progress)
    X = _check_rows(rbm, X)
    if data is None:
        data = X
    with data_checked():
        setup = _annealing(rbm, n_runs, betas, base, data, random_state, n_threads, backend)
        fe = rbm.free_energy(X)
    t0 = time.perf_counter()
    with Progress("RAISE", "intermediate distributions", verbose, progress) as report:
        S, log_z_base = ops.reverse_ais(*setup.model, X=X, **setup.units, betas=setup.betas,
                                        base_b=setup.base_b, base_sigma=setup.base_sigma,
                                        n_runs=setup.n_runs, seed=setup.seed,
                                        n_threads=setup.n_threads, progress=report,
                                        backend=setup.backend)
    # the chain's log weight: -F(x) at the top, the base model's log Z at the bottom
    log_w = (-fe - log_z_base)[:, None] + S
    base_name = setup.base_name if not (setup.base_name == "data" and data is X) else "rows"
    result = ReverseAISResult.from_weights(log_w, fe, log_z_base, setup.betas.size - 1,
                                           base_name, time.perf_counter() - t0)
    if verbose:
        print(f"[RAISE] mean log p(x) = {result.mean:.4f}  (3 s.e.: {result.mean_low:.4f} .. "
              f"{result.mean_high:.4f}), {X.shape[0]} rows x {setup.n_runs} runs, "
              f"{result.seconds:.2f} s", file=sys.stdout, flush=True)
    return result


@dataclass(frozen=True)
class Sandwich:
    """AIS and RAISE on the same rows, side by side.

    AIS's log-likelihood is optimistic in expectation (log Z from below), RAISE's
    conservative; the truth lies between them when both have converged, and the gap
    says how far from converged they are.

    Attributes
    ----------
    ais : LogLikelihood
        ``method='ais'``.
    reverse_ais : LogLikelihood
        ``method='raise'``.
    """

    ais: LogLikelihood
    reverse_ais: LogLikelihood

    @property
    def upper(self) -> float:
        """AIS's mean log-likelihood (optimistic in expectation)."""
        return self.ais.mean

    @property
    def lower(self) -> float:
        """RAISE's mean log-likelihood (conservative in expectation)."""
        return self.reverse_ais.mean

    @property
    def gap(self) -> float:
        """``upper - lower`` in nats per row (negative when noise or a coarse schedule
        puts RAISE above AIS)."""
        return self.upper - self.lower

    @property
    def interval(self) -> tuple:
        """(low, high): the hull of the two 3-s.e. intervals, everything the two
        estimates leave open for the mean log-likelihood."""
        return (min(self.ais.mean_low, self.reverse_ais.mean_low),
                max(self.ais.mean_high, self.reverse_ais.mean_high))

    def __repr__(self) -> str:
        return (f"Sandwich(raise={self.lower:.4f} [{self.reverse_ais.mean_low:.4f}, "
                f"{self.reverse_ais.mean_high:.4f}], ais={self.upper:.4f} "
                f"[{self.ais.mean_low:.4f}, {self.ais.mean_high:.4f}], gap={self.gap:.4f})")


def sandwich(rbm, X, n_runs: int = 100, n_runs_raise: int = 10, betas=None,
             base: str = "data", data=None, random_state=None,
             n_threads: Optional[int] = None, verbose: Union[bool, int] = False,
             backend: Optional[str] = None,
             progress: Optional[ProgressCallback] = None) -> Sandwich:
    """AIS's and RAISE's log-likelihood of the rows of ``X`` on the same path.

    Parameters
    ----------
    rbm : fitted RBM
    X : array-like (n_samples, n_features)
    n_runs : int, default=100
        AIS runs.
    n_runs_raise : int, default=10
        RAISE chains per row.
    betas, base, data, random_state, n_threads, verbose, backend
        As :func:`ais` and :func:`reverse_ais` (both use the same base model: that of
        ``data``, or of ``X`` when it is None).
    progress : callable(done, total) or None
        Called for AIS's transitions, then again from 0 for RAISE's.

    Returns
    -------
    Sandwich
    """
    X = _check_rows(rbm, X)
    if data is None:
        data = X
    seed = seed_from(random_state)
    with data_checked():
        upper = log_likelihood(rbm, X, n_runs=n_runs, betas=betas, base=base, data=data,
                               random_state=seed, n_threads=n_threads, verbose=verbose,
                               backend=backend, progress=progress)
        lower = reverse_ais(rbm, X, n_runs=n_runs_raise, betas=betas, base=base, data=data,
                            random_state=seed, n_threads=n_threads, verbose=verbose,
                            backend=backend, progress=progress).log_likelihood()
    return Sandwich(upper, lower)


def pseudo_likelihood(rbm, X, exact: bool = True, random_state=None) -> np.ndarray:
    """Pseudo-log-likelihood sum_i log p(x_i | x_-i) of each row (Bernoulli visible).

    Parameters
    ----------
    rbm : fitted RBM with Bernoulli visible units
    X : array-like (n_samples, n_features)
    exact : bool, default=True
        True: the sum over every site, exactly (one flip per visible unit).
        False: scikit-learn's stochastic estimate, n_features * log p(x_i | x_-i) for
        one site i drawn per row: unbiased for the sum, but noisy.
    random_state : None, int, RandomState or Generator
        Chooses the sites when ``exact=False``.

    Returns
    -------
    ndarray (n_samples,)
    """
    hyper, W, b, c, _ = _model(rbm)
    if hyper.visible != VISIBLE_BERNOULLI:
        raise ValueError("pseudo_likelihood needs Bernoulli visible units; use "
                         "log_likelihood for Gaussian ones")
    if not isinstance(exact, (bool, np.bool_)):
        raise TypeError(f"exact must be a bool; got {exact!r}")
    X = _check_rows(rbm, X)
    if exact:
        m = rbm.model_arrays()
        return ops.pseudo_likelihood(X, W, b, c, hidden=m.hidden, n_copies=m.n_copies,
                                     n_threads=m.n_threads, backend=m.backend)
    seed = seed_from(random_state)
    u = ops.uniforms(X.shape[0], seed=seed, stream=streams.PURPOSE_EVAL, step=0)
    sites = np.minimum((u * X.shape[1]).astype(np.int64), X.shape[1] - 1)
    flipped = X.copy()
    rows = np.arange(X.shape[0])
    flipped[rows, sites] = 1 - flipped[rows, sites]
    with data_checked():            # X is checked (feature names too): not again
        d = rbm.free_energy(flipped) - rbm.free_energy(X)
    return X.shape[1] * -np.logaddexp(0, -d)


def reconstruction_error(rbm, X) -> float:
    """Mean squared error of the deterministic reconstruction E[v | h = E[h | v]].

    Parameters
    ----------
    rbm : fitted RBM
    X : array-like (n_samples, n_features)

    Returns
    -------
    float
    """
    _model(rbm)
    return rbm.reconstruction_error(X)


def free_energy_gap(rbm, X_train, X_valid) -> float:
    """mean F(X_valid) - mean F(X_train): grows when the model overfits (Hinton's guide).

    Parameters
    ----------
    rbm : fitted RBM
    X_train, X_valid : array-like (n_samples, n_features)

    Returns
    -------
    float
    """
    _model(rbm)
    return float(rbm.free_energy(X_valid).mean() - rbm.free_energy(X_train).mean())


# ----------------------------------------------------------------- monitor
_METRICS = ("pseudo_likelihood", "reconstruction_error", "free_energy_gap",
            "log_likelihood", "log_likelihood_exact")


class Monitor:
    """Per-epoch evaluation on a validation set, usable as ``fit(X, callback=...)``.

    Parameters
    ----------
    X_valid : array-like (n_samples, n_features)
    metric : str, default='pseudo_likelihood'
        'pseudo_likelihood' (mean exact PL, Bernoulli visible), 'reconstruction_error',
        'free_energy_gap' (needs ``X_train``), 'log_likelihood' (AIS with ``n_runs``
        runs over ``betas``) or 'log_likelihood_exact' (small models).
    every : int, default=1
        Evaluate every ``every`` epochs (and never in between).
    max_rows : int or None, default=1000
        Evaluate on a fixed random subset of at most this many rows (cheap).
    X_train : array-like, optional
        Training rows for 'free_energy_gap' (the same subset size is used) and the AIS
        base model.
    n_runs : int, default=16
        AIS runs for 'log_likelihood'.
    betas : array-like or None
        AIS schedule for 'log_likelihood'; None: 1,000 evenly spaced temperatures.
    random_state : int, default=0
        Seed of the subset and of AIS.
    verbose : bool, default=False
        Print each value.

    Attributes
    ----------
    history : list of dict
        One ``{'epoch', 'value', 'seconds'}`` per evaluation.
    """

    def __init__(self, X_valid, metric: str = "pseudo_likelihood", *, every: int = 1,
                 max_rows: Optional[int] = 1000, X_train=None, n_runs: int = 16,
                 betas=None, random_state=0, verbose: bool = False):
        if metric not in _METRICS:
            raise ValueError(f"metric must be one of {list(_METRICS)}; got {metric!r}")
        self.every = check_positive_int(every, "every")
        if max_rows is not None:
            max_rows = check_positive_int(max_rows, "max_rows")
        if metric == "free_energy_gap" and X_train is None:
            raise ValueError("metric='free_energy_gap' needs X_train")
        self.n_runs = check_positive_int(n_runs, "n_runs", minimum=2)
        self.betas = np.linspace(0.0, 1.0, 1001) if betas is None else _check_betas(betas)
        self.metric = metric
        self.random_state = random_state
        self.verbose = verbose
        rng = np.random.default_rng(random_state)
        self.X_valid = self._subset(np.asarray(X_valid), max_rows, rng)
        self.X_train = None if X_train is None else self._subset(np.asarray(X_train),
                                                                 max_rows, rng)
        self.history = []

    @staticmethod
    def _subset(X, max_rows, rng):
        if X.ndim != 2:
            raise ValueError(f"validation data must be 2-D; got shape {X.shape}")
        if max_rows is None or X.shape[0] <= max_rows:
            return X
        return X[np.sort(rng.choice(X.shape[0], max_rows, replace=False))]

    def evaluate(self, rbm) -> float:
        """The metric of ``rbm`` now.

        Parameters
        ----------
        rbm : fitted RBM

        Returns
        -------
        float
        """
        X = self.X_valid
        if self.metric == "pseudo_likelihood":
            return float(pseudo_likelihood(rbm, X).mean())
        if self.metric == "reconstruction_error":
            return reconstruction_error(rbm, X)
        if self.metric == "free_energy_gap":
            return free_energy_gap(rbm, self.X_train, X)
        if self.metric == "log_likelihood_exact":
            return float(log_likelihood_exact(rbm, X).mean())
        base_data = self.X_train if self.X_train is not None else X
        return log_likelihood(rbm, X, n_runs=self.n_runs, betas=self.betas, data=base_data,
                              random_state=self.random_state).mean

    def __call__(self, rbm, info) -> None:
        """The ``fit`` callback: evaluate every ``every`` epochs, record, never stop."""
        epoch = info.get("epoch", rbm.n_iter_)
        if epoch % self.every:
            return None
        t0 = time.perf_counter()
        value = self.evaluate(rbm)
        seconds = time.perf_counter() - t0
        self.history.append({"epoch": epoch, "value": value, "seconds": seconds})
        info[self.metric] = value
        if self.verbose:
            print(f"[Monitor] epoch {epoch:4d}  {self.metric} {value:.5f}  ({seconds:.3f} s)",
                  file=sys.stdout, flush=True)
        return None

    @property
    def values(self) -> np.ndarray:
        """The recorded values in order."""
        return np.array([h["value"] for h in self.history])
