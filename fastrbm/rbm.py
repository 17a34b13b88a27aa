"""Restricted Boltzmann Machine estimators in the scikit-learn style.

:class:`RBM` is the general model (Bernoulli or Gaussian visible units; Bernoulli,
stepped-sigmoid or NReLU hidden units; CD-k or PCD-k); :class:`BernoulliRBM` is a
drop-in for ``sklearn.neural_network.BernoulliRBM``; :class:`GaussianRBM` has defaults
for standardised real-valued data. Training runs one compiled call per epoch.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import numbers
import sys
import time
from typing import Callable, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import streams
from . import ops
from . import _training_control as control
from .schedules import LEARNING_RATE, MOMENTUM, Schedule, ScheduleSpec
from .schedules import resolve as resolve_schedule
from ._estimator import EstimatorMixin, available_if
from ._blas_runtime import resolve_n_threads
from .progress import Progress, ProgressCallback, check_progress
from ._validation import (BLAS_INT_MAX, check_data, check_float, check_int, check_param_array,
                          check_positive_int, data_checked, not_fitted_error, resolve_dtype,
                          seed_from)
from ._validation import DataRangeWarning  # noqa: F401 - public here, with DivergenceError
from .state import Hyper, TrainState
from .units import (HIDDEN_NAMES, HIDDEN_UNITS, VISIBLE_NAMES, VISIBLE_UNITS, hidden_code,
                    visible_code)
from ._constants import MAX_COPIES

ArrayLike = Union[np.ndarray, "list"]


class DivergenceError(FloatingPointError):
    """Training produced non-finite parameters; the model keeps its last good values."""


#: Settings that fix what the fitted parameters mean: changed after ``fit``, they make
#: the fitted state meaningless, so the methods that use it refuse (NotFittedError) and
#: ``partial_fit`` does not train on, until ``fit`` starts afresh. ``n_copies`` counts
#: only for stepped hidden units (nothing else reads it); ``dtype`` changes only when the
#: new value names another type than the fitted one (None, "follow the data", allows
#: either). Everything else (learning rate, momentum, k, batch_size, persistent, sigma,
#: learn_sigma, init_scale, random_state, n_threads, backend, ...) steers training or
#: computation, not the meaning of the parameters, and may change between calls.
STRUCTURAL_PARAMS = ("n_components", "visible", "hidden", "n_copies", "dtype")

#: Rows per block when the centering offsets are measured on the data.
_OFFSET_BLOCK = 4096

_PARAM_NAMES = ("components_", "intercept_visible_", "intercept_hidden_", "sigma_")
_STEPPED = HIDDEN_UNITS["stepped"]
_GAUSSIAN = VISIBLE_UNITS["gaussian"]


class FittedParams(NamedTuple):
    """The validated parameters of a fitted RBM, as the kernels take them.

    ``W`` is ``components_`` (n_components, n_features); ``sigma`` is None for Bernoulli
    visible units (they have none) unless asked for training, which keeps it.
    """

    W: np.ndarray
    b: np.ndarray
    c: np.ndarray
    sigma: Optional[np.ndarray]


class ModelArrays(NamedTuple):
    """A fitted RBM as :mod:`fastrbm.ops` takes it (:meth:`RBM.model_arrays`).

    The arrays are the model's own (no copies, when already in C order): treat them as
    read-only. ``sigma`` is None for Bernoulli visible units.
    """

    W: np.ndarray
    b: np.ndarray
    c: np.ndarray
    sigma: Optional[np.ndarray]
    visible: str
    hidden: str
    n_copies: int
    n_threads: int
    backend: str

    @property
    def units(self) -> dict:
        """``visible``, ``hidden`` and ``n_copies``, as keyword arguments of ops."""
        return {"visible": self.visible, "hidden": self.hidden, "n_copies": self.n_copies}


class _EpochPlan(NamedTuple):
    """What one call of the epoch loop does: per-epoch scheduled values (their number
    is the number of epochs), validation, early stopping and checkpoints."""

    learning_rates: list
    momenta: list
    validator: Optional[control.Validator] = None
    patience: Optional[int] = None
    checkpoint_every: int = 0
    checkpoint_path: Optional[str] = None


class RBM(EstimatorMixin):
    """Restricted Boltzmann Machine trained by contrastive divergence.

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units.
    visible : {'bernoulli', 'gaussian'}, default='bernoulli'
        Visible unit type. Gaussian units model real-valued data: standardise it
        (zero mean, unit variance per feature) and keep ``sigma=1``, or learn sigma.
    hidden : {'bernoulli', 'stepped', 'nrelu'}, default='bernoulli'
        Hidden unit type: binary; stepped sigmoid (``n_copies`` tied binary copies with
        bias offsets -0.5, -1.5, ...; sampled exactly); or noisy rectified linear,
        ``max(0, x + sqrt(sigmoid(x)) * eps)``.
    n_copies : int, default=10
        Number of tied copies of a stepped sigmoid unit (1 to 1024).
    k : int, default=1
        Gibbs steps per update (CD-k / PCD-k).
    persistent : bool, default=False
        Persistent CD: the negative chains (``batch_size`` of them) carry over between
        updates instead of restarting at the data (``sampler='pcd'``).
    sampler : {'cd', 'pcd', 'pt', 'fpcd'} or None, default=None
        The negative phase: contrastive divergence, persistent CD, parallel
        tempering: ``n_temperatures`` sets of ``batch_size`` persistent chains at
        inverse temperatures ``betas`` (beta scales -E; docs/training.md), ``k`` Gibbs
        sweeps at each and Metropolis swaps of neighbours per update, the beta = 1 set
        giving the statistics (``swap_acceptance_`` records the swaps), or fast PCD
        (Tieleman & Hinton 2009): persistent chains that sample the model with fast
        weights added, which learn fast and decay fast (``fast_learning_rate``,
        ``fast_decay``) and push the chains away from the modes they sit in (not with
        ``centering`` or ``learn_sigma``). None: 'pcd' when ``persistent`` else 'cd'.
    n_temperatures : int, default=10
        Chain sets of parallel tempering when ``betas`` is None (betas evenly spaced
        from 1 to 0).
    betas : sequence of float or None, default=None
        The inverse temperatures of parallel tempering, 1 first, strictly decreasing.
    fast_learning_rate : float or None, default=None
        Fast PCD: the learning rate of the fast weights, bias and hidden bias; None: the
        base ``learning_rate`` (which a schedule then does not change: the paper keeps
        the fast rate at the initial one while the regular rate decays).
    fast_decay : float, default=0.95
        Fast PCD: after each update ``fast = fast_decay * fast + fast_learning_rate *
        gradient`` (the sampling gradient, without weight decay, L1 or sparsity); the
        paper's 19/20.
    learning_rate : float or None, default=None
        Step size on the minibatch-mean gradient. None: 0.1 for Bernoulli visible
        units, 0.005 for Gaussian ones (the practical guide's one to two orders smaller).
    momentum : float, default=0.5
        ``m = momentum * m + learning_rate * gradient``; parameters move by ``m``
        (``optimizer='sgd'``).
    optimizer : {'sgd', 'adam'}, default='sgd'
        'sgd': momentum SGD. 'adam': Adam (Kingma & Ba 2015) on the same gradient
        (weight decay, L1 and sparsity included; ``momentum`` unused), inside the same
        fused update pass; ``learning_rate=None`` then means 0.001. Switching optimizer
        between calls restarts the moment buffers at zero.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's moment decays and its denominator's epsilon.
    centering : bool, default=False
        Centered training (Melchior, Wang & Wiskott 2016): the gradient of the energy
        written in ``v - mu`` and ``h - lambda``, ``mu`` the mean of the data (of
        ``v / sigma`` for Gaussian units) given to the first ``fit`` / ``partial_fit``,
        ``lambda`` a sliding mean of the hidden means on the data. The fitted
        attributes stay those of the equivalent ordinary RBM (the biases are
        re-parametrised after every update), so everything else works unchanged; the
        offsets are kept with the training state and saved. Not with ``learn_sigma``.
    centering_rate : float, default=0.01
        Share by which ``lambda`` moves toward each minibatch's mean hidden activation.
    weight_decay : float, default=0.0
        L2 penalty on the weights (not the biases).
    l1 : float, default=0.0
        L1 penalty on the weights.
    sparsity_target, sparsity_cost, sparsity_decay : float, default=0.1, 0.0, 0.95
        Sparsity: a running mean ``q`` of each hidden unit's activation is pulled
        toward the target with this cost (off when the cost is 0).
    sigma : float, default=1.0
        Initial (and, without ``learn_sigma``, fixed) standard deviation of Gaussian
        visible units.
    learn_sigma : bool, default=False
        Learn a per-unit sigma through z = log sigma^2, with its own learning rate and
        a floor ``min_sigma`` (learning tight variances is unstable).
    sigma_learning_rate : float or None, default=None
        Learning rate of z; None: a tenth of the learning rate.
    min_sigma : float, default=0.1
        Floor on the learned sigma.
    sample_visible : bool or None, default=None
        Whether the last visible state of the chain (the reconstruction used in the
        negative statistics) is sampled or its mean. None: sample for Bernoulli units
        (as scikit-learn) and for Gaussian units with ``learn_sigma``; the mean for
        Gaussian units with fixed sigma (noise-free reconstructions give a
        lower-variance gradient; the practical guide's advice). Chains always sample.
    batch_size : int, default=100
    n_iter : int, default=10
        Epochs made by :meth:`fit`.
    init_scale : float, default=0.01
        Weights start as N(0, init_scale^2); biases at 0.
    dtype : {'float32', 'float64'} or None, default='float32'
        Precision of the parameters and the computation; None follows the data
        (float32 stays float32, anything else becomes float64).
    n_threads : int or None, default=None
        Threads for the elementwise passes and BLAS; None uses every core the process
        may run on (and leaves BLAS as it is configured).
    random_state : None, int, RandomState or Generator
        Seed of the counter-based generator: the same seed gives bitwise identical
        models for the same ``n_threads`` and the same random draws for any.
    verbose : int, default=0
        Print one line per epoch (epoch, reconstruction error, seconds).
    backend : {'cython', 'numpy'}, default='cython'
        'numpy' runs the same algorithm through :mod:`fastrbm.reference`.
    learning_rate_schedule, momentum_schedule : None, str, tuple, dict or callable
        Per-epoch values of ``learning_rate`` and ``momentum`` (see
        :mod:`fastrbm.schedules`): None or ``'constant'``; ``('exponential',
        {'decay': d})`` (``base * d**(epoch - 1)``); ``('linear', {'final': f,
        'epochs': n})`` (from the base value at epoch 1 to ``f`` at epoch ``n``, then
        ``f``); for the momentum ``'practical'`` (``initial=0.5`` before
        ``switch_epoch=6``, ``final=0.9`` from it on); or a callable ``f(epoch)``.
        Epochs count from 1 over the model's whole training (``n_iter_ + 1``), so
        ``partial_fit`` and resumed runs follow the schedule of one ``fit``. When
        ``sigma_learning_rate`` is None it follows the scheduled learning rate (a tenth).
    validation_fraction : float in (0, 1) or None, default=None
        Hold out ``round(fraction * n_samples)`` rows of ``X`` (chosen by the seed
        alone) and score the model on them after every epoch of :meth:`fit`.
        Exclusive with ``fit(validation_data=...)``.
    validation_metric : str, default='free_energy_gap'
        'free_energy_gap' (mean free energy of the validation rows minus that of as
        many training rows, chosen by the seed; lower is better: the practical guide's
        over-fitting monitor), 'reconstruction_error' (lower is better),
        'pseudo_likelihood' (Bernoulli visible units; higher is better) or
        'log_likelihood' (exact, by enumeration: small models only, refused at fit
        start otherwise; higher is better).
    patience : int or None, default=None
        With validation: stop after this many epochs without a strict improvement of
        the metric, and at the end of :meth:`fit` restore the training state of the
        best epoch (parameters, momentum, chains, sparsity estimate; not the counters).
        Keeps one copy of the training state (about twice the parameters plus the
        chains) while fitting.
    checkpoint_every : int, default=0
        Save the model with :func:`fastrbm.io.save` after every this many epochs of
        :meth:`fit` (0: never), atomically (a temporary file renamed over the target).
        Needs schedules that the file can store (not callables).
    checkpoint_path : str or None, default=None
        The checkpoint file; may contain ``{epoch}``. Required with ``checkpoint_every``.
    warm_start : bool, default=False
        When True and the model is fitted, :meth:`fit` continues training until
        ``n_iter_ == n_iter`` (at once done when already there) instead of starting
        afresh: with a loaded checkpoint, this resumes the run bitwise.

    Attributes
    ----------
    components_ : ndarray (n_components, n_features)
        Weights ``W`` (hidden x visible).
    intercept_hidden_ : ndarray (n_components,)
    intercept_visible_ : ndarray (n_features,)
    sigma_ : ndarray (n_features,)
        Standard deviations of the visible units (ones for Bernoulli units).
    n_features_in_ : int
    feature_names_in_ : ndarray of str (n_features_in_,)
        Column names of the dataframe given to ``fit`` (only when it had string
        names); later calls check that their data have the same columns in order.
    n_iter_ : int
        Epochs trained so far (with early stopping: epochs run, not the best epoch).
    validation_scores_ : list of float
        The validation metric after each epoch of :meth:`fit` (empty without validation).
    best_epoch_ : int or None
        The epoch of the best validation score.
    best_validation_score_ : float or None
    """

    _default_batch_size = 100
    #: What Bernoulli visible units do with data outside [0, 1]: refuse them.
    _out_of_range = "raise"

    def __init__(self, n_components: int = 256, *, visible: str = "bernoulli",
                 hidden: str = "bernoulli", n_copies: int = 10, k: int = 1,
                 persistent: bool = False, sampler: Optional[str] = None,
                 n_temperatures: int = 10, betas: Optional[Sequence[float]] = None,
                 fast_learning_rate: Optional[float] = None, fast_decay: float = 0.95,
                 learning_rate: Optional[float] = None,
                 momentum: float = 0.5, optimizer: str = "sgd", beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, centering: bool = False,
                 centering_rate: float = 0.01,
                 weight_decay: float = 0.0, l1: float = 0.0,
                 sparsity_target: float = 0.1, sparsity_cost: float = 0.0,
                 sparsity_decay: float = 0.95, sigma: float = 1.0, learn_sigma: bool = False,
                 sigma_learning_rate: Optional[float] = None, min_sigma: float = 0.1,
                 sample_visible: Optional[bool] = None, batch_size: int = 100,
                 n_iter: int = 10, init_scale: float = 0.01, dtype="float32",
                 n_threads: Optional[int] = None, random_state=None, verbose: int = 0,
                 backend: str = "cython", learning_rate_schedule: ScheduleSpec = None,
                 momentum_schedule: ScheduleSpec = None,
                 validation_fraction: Optional[float] = None,
                 validation_metric: str = "free_energy_gap", patience: Optional[int] = None,
                 checkpoint_every: int = 0, checkpoint_path: Optional[str] = None,
                 warm_start: bool = False):
        self.n_components = n_components
        self.visible = visible
        self.hidden = hidden
        self.n_copies = n_copies
        self.k = k
        self.persistent = persistent
        self.sampler = sampler
        self.n_temperatures = n_temperatures
        self.betas = betas
        self.fast_learning_rate = fast_learning_rate
        self.fast_decay = fast_decay
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.optimizer = optimizer
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.centering = centering
        self.centering_rate = centering_rate
        self.weight_decay = weight_decay
        self.l1 = l1
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.sparsity_decay = sparsity_decay
        self.sigma = sigma
        self.learn_sigma = learn_sigma
        self.sigma_learning_rate = sigma_learning_rate
        self.min_sigma = min_sigma
        self.sample_visible = sample_visible
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.init_scale = init_scale
        self.dtype = dtype
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.backend = backend
        self.learning_rate_schedule = learning_rate_schedule
        self.momentum_schedule = momentum_schedule
        self.validation_fraction = validation_fraction
        self.validation_metric = validation_metric
        self.patience = patience
        self.checkpoint_every = checkpoint_every
        self.checkpoint_path = checkpoint_path
        self.warm_start = warm_start

    # ------------------------------------------------------------ settings
    def _hyper(self) -> Hyper:
        """Validate every hyper-parameter; raises before any state is touched."""
        gauss = visible_code(self.visible) == _GAUSSIAN
        lr = self.learning_rate
        if lr is None:
            lr = 0.001 if self.optimizer == "adam" else 0.005 if gauss else 0.1
        check_float(self.sigma, "sigma", low=0.0, low_open=True)
        return ops.training_settings(
            visible=self.visible, hidden=self.hidden, n_copies=_check_n_copies(self.n_copies),
            k=self.k, persistent=self.persistent, batch_size=self.batch_size,
            learning_rate=lr, momentum=self.momentum, weight_decay=self.weight_decay,
            l1=self.l1, sparsity_target=self.sparsity_target,
            sparsity_cost=self.sparsity_cost, sparsity_decay=self.sparsity_decay,
            learn_sigma=self.learn_sigma, sigma_learning_rate=self.sigma_learning_rate,
            min_sigma=self.min_sigma, sample_visible=self.sample_visible,
            optimizer=self.optimizer, beta_1=self.beta_1, beta_2=self.beta_2,
            epsilon=self.epsilon, centering=self.centering,
            centering_rate=self.centering_rate, sampler=self.sampler,
            n_temperatures=self.n_temperatures, betas=self.betas,
            fast_learning_rate=self.fast_learning_rate, fast_decay=self.fast_decay)

    def _check_settings(self):
        """Validate the settings every method shares; returns (hyper, backend, n_threads)."""
        hyper = self._hyper()
        check_positive_int(self.n_components, "n_components")
        check_positive_int(self.n_iter, "n_iter", minimum=0)
        check_float(self.init_scale, "init_scale", low=0.0)
        resolve_dtype(self.dtype)
        backend = ops.check_backend(self.backend)
        n_threads = resolve_n_threads(self.n_threads)
        if not isinstance(self.verbose, (int, np.integer, bool)):
            raise TypeError(f"verbose must be an int; got {self.verbose!r}")
        self._schedules(hyper)
        self._check_control()
        return hyper, backend, n_threads

    def _schedules(self, hyper: Hyper) -> tuple[Schedule, Schedule]:
        """The learning-rate and momentum schedules around the validated base values."""
        return (resolve_schedule(self.learning_rate_schedule, hyper.learning_rate,
                                 LEARNING_RATE),
                resolve_schedule(self.momentum_schedule, hyper.momentum, MOMENTUM))

    def _check_control(self) -> tuple:
        """The validation, early-stopping and checkpoint settings, checked on their own
        (what needs the data is checked at fit start): (fraction, patience, every, path)."""
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise TypeError(f"warm_start must be a bool; got {self.warm_start!r}")
        fraction = control.check_fraction(self.validation_fraction)
        control.check_metric(self.validation_metric, self._is_gaussian, None, 0, None)
        patience = control.check_patience(self.patience)
        every, path = control.check_checkpoints(self.checkpoint_every, self.checkpoint_path)
        return fraction, patience, every, path

    def _epoch_hyper(self, hyper: Hyper, learning_rate: float, momentum: float) -> Hyper:
        """The settings of one epoch: the scheduled learning rate and momentum."""
        changes = {"learning_rate": learning_rate, "momentum": momentum}
        if self.sigma_learning_rate is None:
            # ops.training_settings' default, "a tenth of the learning rate", follows
            # the schedule too (the same value a set_params(learning_rate=...) gives)
            changes["sigma_learning_rate"] = learning_rate / 10
        return dataclasses.replace(hyper, **changes)

    def _epoch_values(self, hyper: Hyper, first: int, last: int) -> tuple[list, list]:
        """The scheduled (learning rates, momenta) of epochs ``first`` to ``last``."""
        lr, mom = self._schedules(hyper)
        return lr.values(first, last), mom.values(first, last)

    def training_settings(self) -> Hyper:
        """Every setting validated as ``fit`` validates it, and the training settings
        that ``fit`` hands to :func:`fastrbm.ops.fit_epoch`.

        Returns
        -------
        fastrbm.state.Hyper

        Raises
        ------
        ValueError, TypeError
            Naming the first setting that is out of range or of the wrong type.
        """
        return self._check_settings()[0]

    @property
    def _is_gaussian(self) -> bool:
        return visible_code(self.visible) == _GAUSSIAN

    def _structure(self) -> dict:
        """The structural settings (:data:`STRUCTURAL_PARAMS`) as the fitted state depends
        on them: unit codes, n_copies only for stepped units, the resolved dtype."""
        hid = hidden_code(self.hidden)
        return {"n_components": check_positive_int(self.n_components, "n_components"),
                "visible": visible_code(self.visible), "hidden": hid,
                "n_copies": _check_n_copies(self.n_copies) if hid == _STEPPED else None,
                "dtype": resolve_dtype(self.dtype)}

    def _make_record(self, dtype, n_features: int) -> dict:
        """What is fitted: the structure, the parameters' dtype and the feature count,
        and the settings as given (for messages)."""
        rec = self._structure()
        rec["dtype"] = np.dtype(dtype)
        rec["n_features"] = int(n_features)
        rec["given"] = {name: getattr(self, name) for name in STRUCTURAL_PARAMS}
        return rec

    def _adopt_fitted(self) -> dict:
        """Make the record of a model whose parameters were set without :meth:`fit` (an
        :func:`fastrbm.io.load` restore, or attributes assigned by hand): its arrays'
        dtype and ``n_features_in_`` (else the width of ``components_``) and its present
        structural settings; counters it lacks start as after :meth:`init_params`."""
        W = np.asarray(self.components_)
        dt = W.dtype if W.dtype in (np.float32, np.float64) else (
            resolve_dtype(self.dtype) or np.dtype(np.float64))
        nv = getattr(self, "n_features_in_", None)
        if nv is None and W.ndim == 2:
            nv = W.shape[1]
        rec = self._make_record(dt, check_int(nv, "n_features_in_", 1, BLAS_INT_MAX))
        seed = getattr(self, "_seed", None)
        if seed is None:
            seed = seed_from(self.random_state)
        self.__dict__.setdefault("n_features_in_", rec["n_features"])
        for name, default in (("n_iter_", 0), ("_n_updates", 0), ("_n_sample_calls", 0),
                              ("_state", None), ("_seed", seed), ("validation_scores_", []),
                              ("best_epoch_", None), ("best_validation_score_", None),
                              ("_since_best", 0), ("_best_state", None)):
            self.__dict__.setdefault(name, default)
        self._fit_record = rec
        return rec

    def _fitted_record(self) -> dict:
        """The record of what was fitted, made once at initialisation.

        Raises NotFittedError when the model is not fitted, or when a structural
        setting has changed since (the fitted state would be read as something else).
        A model restored by :func:`fastrbm.io.load` or assembled by hand has no record
        yet: its present arrays and settings are taken as what was fitted.
        """
        if not hasattr(self, "components_"):
            raise not_fitted_error(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                f"appropriate arguments before using this estimator.")
        rec = self.__dict__.get("_fit_record")
        if rec is None:
            rec = self._adopt_fitted()
        name = changed_structure(rec, self._structure())
        if name is not None:
            raise not_fitted_error(
                f"{type(self).__name__}'s {name} was {rec['given'][name]!r} when the model "
                f"was fitted and is {getattr(self, name)!r} now: the fitted parameters "
                f"do not fit the new setting. Call 'fit' to train afresh (or set "
                f"{name} back to {rec['given'][name]!r}).")
        return rec

    def _check_fitted(self, training: bool = False) -> FittedParams:
        """The one boundary between the fitted state and the computations.

        Checks that the model is fitted and its structural settings unchanged
        (:meth:`_fitted_record`), then every fitted attribute, whoever set it: shapes
        from the record (``components_`` (n_components, n_features_in_), the intercepts,
        ``sigma_``), finite values, positive ``sigma_``, ``n_features_in_`` and the
        counters. Parameters set by hand in any memory order or real type are converted
        to C-contiguous arrays of the fitted dtype (copies only when needed); nothing
        of the model is changed. A wrong attribute raises ValueError or TypeError
        naming it.

        Parameters
        ----------
        training : bool, default=False
            Return ``sigma`` for Bernoulli visible units too (the training state has it).

        Returns
        -------
        FittedParams
            (W, b, c, sigma); sigma None for Bernoulli visible units unless training.
        """
        rec = self._fitted_record()
        nh, nv, dt = rec["n_components"], rec["n_features"], rec["dtype"]
        n_features = getattr(self, "n_features_in_", None)
        if isinstance(n_features, bool) or not isinstance(n_features, numbers.Integral) \
                or n_features != nv:
            raise ValueError(f"n_features_in_ is {n_features!r}, but the model was fitted on "
                             f"{nv} features")
        context = f" (n_components={nh}, n_features_in_={nv})"
        arrays = []
        for name, shape in zip(_PARAM_NAMES, ((nh, nv), (nv,), (nh,), (nv,))):
            if not hasattr(self, name):
                raise ValueError(f"{name} is missing: the model is only partly fitted (use "
                                 f"init_params to set parameters)")
            arrays.append(check_param_array(getattr(self, name), name, shape, dt,
                                            positive=name == "sigma_", context=context))
        # the counters reach the kernels as 64- and 32-bit random-stream coordinates
        check_int(getattr(self, "_seed", None), "_seed", 0, 2**64 - 1)
        for name in ("n_iter_", "_n_updates", "_n_sample_calls"):
            check_int(getattr(self, name, None), name, 0, 2**63 - 1)
        W, b, c, s = arrays
        return FittedParams(W, b, c, s if training or rec["visible"] == _GAUSSIAN else None)

    _fitted_attribute = "components_"

    def _check_structure(self) -> None:
        self._fitted_record()

    def _check_X(self, X, name="X", fitted=True):
        if fitted:
            rec = self._fitted_record()
            dtype, n_features = rec["dtype"], rec["n_features"]
            # on the data as given (an array has no names), and before the shape check
            # so that missing columns are named, as scikit-learn does
            self._check_feature_names(X, reset=False)
        else:
            dtype, n_features = resolve_dtype(self.dtype), None
        return check_data(
            X, name, dtype=dtype, n_features=n_features,
            bernoulli=not self._is_gaussian, out_of_range=self._out_of_range,
            estimator=type(self).__name__)

    def validate_rows(self, X, name: str = "X") -> np.ndarray:
        """``X`` checked as every method of the fitted model checks its input.

        Parameters
        ----------
        X : array-like (n_rows, n_features_in_)
        name : str
            The argument's name in error messages.

        Returns
        -------
        ndarray (n_rows, n_features_in_) in the model's dtype
            ``X`` itself when it already is one.

        Raises
        ------
        ValueError, TypeError
            Wrong shape, non-finite values, values outside [0, 1] for Bernoulli visible
            units (``BernoulliRBM`` warns instead), other feature names than at fit.
        sklearn.exceptions.NotFittedError
        """
        self._check_fitted()
        return self._check_X(X, name)

    def next_sample_stream(self) -> tuple:
        """``(seed, step)`` of the model's next sampling call, as ``gibbs`` and
        ``sample`` draw them, and advance the counter (the next call gets fresh random
        numbers; the sequence is fixed by ``random_state``).

        Returns
        -------
        (int, int)

        Raises
        ------
        sklearn.exceptions.NotFittedError
        """
        self._check_fitted()
        return self._seed, self._next_sample_step()

    # ------------------------------------------------------------ training
    def _initialise(self, X, hyper, backend, seed: Optional[int] = None):
        """Fresh parameters for data ``X`` (already validated), and the record of what
        is fitted (structure, dtype, features) that every later call is checked against.
        ``seed``: the one drawn from ``random_state`` already (None: draw it here)."""
        dt = X.dtype
        nv, nh = X.shape[1], int(self.n_components)
        record = self._make_record(dt, nv)
        self._seed = seed_from(self.random_state) if seed is None else seed
        W = ops.normals((nh, nv), dt, seed=self._seed, stream=streams.PURPOSE_INIT,
                        backend=backend)
        W *= dt.type(self.init_scale)
        self.components_ = W
        self.intercept_hidden_ = np.zeros(nh, dtype=dt)
        self.intercept_visible_ = np.zeros(nv, dtype=dt)
        self.sigma_ = np.full(nv, self.sigma if hyper.visible == _GAUSSIAN else 1.0, dtype=dt)
        self.n_features_in_ = nv
        self.n_iter_ = 0
        self._n_updates = 0
        self._n_sample_calls = 0
        self._state = None
        self._commit_validation(control.Record(), None)
        self._fit_record = record

    def _train_state(self, hyper) -> TrainState:
        """The TrainState around the validated parameters (momentum etc. kept across calls).

        Everything is checked before anything changes: the parameters through
        :meth:`_check_fitted`, and the kept state's arrays (shapes, dtype, layout, no
        shared memory). The kernels then update the parameters in place, so a read-only
        parameter, or one sharing memory with another, is replaced by a copy first. A
        state for another ``batch_size`` (its chains) starts afresh.
        """
        params = list(self._check_fitted(training=True))
        st = getattr(self, "_state", None)
        if st is not None:
            _check_state(st, params)
        for i, name in enumerate(_PARAM_NAMES):
            a = params[i]
            if not a.flags.writeable or any(np.may_share_memory(a, p) for p in params[:i]):
                a = a.copy()
            setattr(self, name, a)
            params[i] = a
        n_temps = max(1, len(hyper.betas))
        if st is None or st.chains.shape[0] != hyper.batch_size * n_temps \
                or st.swap_attempts.shape[0] != n_temps:
            old, st = st, TrainState.zeros_like_params(*params, n_chains=hyper.batch_size,
                                                       sparsity_target=hyper.sparsity_target,
                                                       n_temperatures=n_temps)
            if old is not None:     # the offsets do not depend on the number of chains
                st.visible_offset[...] = old.visible_offset
                st.hidden_offset[...] = old.hidden_offset
        else:
            st.W, st.b, st.c, st.sigma = params
        st.match_optimizer(hyper.optimizer)
        self._state = st
        return st

    def init_params(self, X, *, components=None, intercept_visible=None,
                    intercept_hidden=None, sigma=None) -> "RBM":
        """Initialise the model for data like ``X`` without training it.

        Parameters start as in :meth:`fit` (weights N(0, init_scale^2), biases 0) unless
        given here, e.g. to start from another model's weights; :meth:`partial_fit`
        then trains from them. Given arrays must have the model's shapes and be finite.

        Parameters
        ----------
        X : array-like (n_samples, n_features)
            Data of the kind the model will see (sets n_features and the dtype).
        components : array-like (n_components, n_features), optional
        intercept_visible : array-like (n_features,), optional
        intercept_hidden : array-like (n_components,), optional
        sigma : array-like (n_features,), optional
            Standard deviations of Gaussian visible units (positive).

        Returns
        -------
        self
        """
        hyper, backend, _ = self._check_settings()
        X_in, X = X, self._check_X(X, fitted=False)
        nv, nh = X.shape[1], int(self.n_components)
        given = {}
        for name, value, shape in (("components", components, (nh, nv)),
                                   ("intercept_visible", intercept_visible, (nv,)),
                                   ("intercept_hidden", intercept_hidden, (nh,)),
                                   ("sigma", sigma, (nv,))):
            if value is None:
                continue
            a = check_param_array(value, name, shape, X.dtype, positive=name == "sigma",
                                  context=f" (n_components={nh}, n_features={nv})")
            # a copy the model owns: training updates it in place
            given[name] = a.copy() if np.may_share_memory(a, value) else a
        self._check_feature_names(X_in, reset=True)
        self._initialise(X, hyper, backend)
        for name, a in given.items():
            setattr(self, name + "_", a)
        return self

    def fit(self, X, y=None, *, validation_data=None, callback: Optional[Callable] = None):
        """Train a fresh model for ``n_iter`` epochs (with ``warm_start``: continue a
        fitted one until ``n_iter_ == n_iter``).

        Every setting, the schedules' values for the epochs to run and the validation
        settings are checked before the model changes.

        Parameters
        ----------
        X : array-like or sparse matrix (n_samples, n_features)
        y : ignored
        validation_data : array-like (n_valid, n_features), optional
            Rows to score after every epoch with ``validation_metric`` (exclusive with
            ``validation_fraction``). A resumed run must be given the same rows.
        callback : callable, optional
            Called as ``callback(model, epoch_info)`` after every epoch, where
            ``epoch_info`` is a dict with ``epoch``, ``seconds``,
            ``reconstruction_error`` (None unless ``verbose``), ``learning_rate`` and
            ``momentum`` (the epoch's scheduled values) and ``validation_score`` (None
            without validation); returning ``False`` stops training early.

        Returns
        -------
        self
        """
        hyper, backend, n_threads = self._check_settings()
        warm = bool(self.warm_start) and hasattr(self, "components_")
        X_in = X
        X = self._fitted_rows(X, warm_start=True) if warm else self._check_X(X, fitted=False)
        first = self.n_iter_ + 1 if warm else 1
        rates, momenta = self._epoch_values(hyper, first, int(self.n_iter))
        fraction, patience, every, path = self._check_control()
        if every:
            self._check_checkpoint_settings(path)
        valid = self._validation_rows(X, validation_data, fraction)
        seed = self._seed if warm else seed_from(self.random_state)
        X, validator = self._validator(X, valid, fraction, seed)
        if not warm:
            self._check_feature_names(X_in, reset=True)     # once X is known to be valid
            self._initialise(X, hyper, backend, seed=seed)
        elif validator is not None and self._best_state is not None \
                and self._best_state.chains.shape[0] != hyper.batch_size:
            # the kept best state has the chains of another batch_size: it could not
            # be restored into the training state, so early stopping starts afresh
            self._commit_validation(control.Record(), None)
        plan = _EpochPlan(rates, momenta, validator, patience if validator else None,
                          every, path)
        return self._train(X, hyper, backend, n_threads, plan, callback)

    def _fitted_rows(self, X, warm_start: bool = False) -> np.ndarray:
        """``X`` checked against the fitted model, to train on; a copy when it shares
        memory with the parameters (the epoch updates them in place while reading X)."""
        try:
            self._fitted_record()       # refuses a changed structure before reading X
        except ValueError as exc:       # NotFittedError: say how to train afresh
            if not warm_start:
                raise
            raise ValueError(f"warm_start=True continues the fitted model, but: {exc}; "
                             f"set warm_start=False to train afresh") from None
        X = self._check_X(X)
        if any(np.may_share_memory(X, getattr(self, name, None)) for name in _PARAM_NAMES
               if isinstance(getattr(self, name, None), np.ndarray)):
            X = X.copy()
        return X

    def _check_checkpoint_settings(self, path: str) -> None:
        """Checkpoints need an existing folder and schedules the file can store."""
        control.check_checkpoint_folder(path)
        for name in ("learning_rate_schedule", "momentum_schedule"):
            if callable(getattr(self, name)):
                raise ValueError(f"checkpoint_every > 0 needs a {name} that fastrbm.io.save "
                                 f"can store (None, a name, (name, parameters) or a dict); "
                                 f"a callable cannot be saved")

    def _validation_rows(self, X, validation_data, fraction) -> Optional[np.ndarray]:
        """``validation_data`` checked as training data of the model's kind and cast to
        the training dtype (None when not given); the metric checked for the model."""
        if validation_data is not None and fraction is not None:
            raise ValueError("give either validation_data or validation_fraction, not both")
        if validation_data is None and fraction is None:
            if self.patience is not None:
                raise ValueError("patience needs validation: set validation_fraction or "
                                 "give fit(validation_data=...)")
            return None
        control.check_metric(self.validation_metric, self._is_gaussian, X.shape[1],
                             int(self.n_components),
                             (visible_code(self.visible), hidden_code(self.hidden),
                              _check_n_copies(self.n_copies)))
        if validation_data is None:
            return None
        V = self._check_X(validation_data, "validation_data", fitted=False)
        if V.shape[1] != X.shape[1]:
            raise ValueError(f"validation_data has {V.shape[1]} features; X has {X.shape[1]}")
        return np.ascontiguousarray(V, dtype=X.dtype)

    def _validator(self, X, valid, fraction, seed) -> tuple:
        """(training rows, Validator or None): the split made by the seed alone."""
        if valid is None and fraction is None:
            return X, None
        if valid is None:
            train_rows, valid_rows = control.split_rows(X.shape[0], fraction, seed)
            X, valid = X[train_rows], X[valid_rows]
        reference = None
        if self.validation_metric == "free_energy_gap":
            reference = X[control.reference_rows(X.shape[0], valid.shape[0], seed)]
        return X, control.Validator(self.validation_metric, valid, reference)

    def partial_fit(self, X, y=None):
        """One epoch over ``X`` in minibatches (one update when ``X`` is one batch).

        Initialises the model on the first call. Parameters, momentum and persistent
        chains carry over between calls; the schedules give the epoch ``n_iter_ + 1``
        its values. Validation, early stopping and checkpoints are :meth:`fit`'s only.
        Refuses (NotFittedError) to go on training a model whose structural settings
        (:data:`STRUCTURAL_PARAMS`) changed since it was fitted: call :meth:`fit` to
        start afresh.
        """
        hyper, backend, n_threads = self._check_settings()
        fitted = hasattr(self, "components_")
        X_in = X
        first = self.n_iter_ + 1 if fitted else 1
        X = self._fitted_rows(X) if fitted else self._check_X(X, fitted=False)
        rates, momenta = self._epoch_values(hyper, first, first)
        if not fitted:
            self._check_feature_names(X_in, reset=True)
            self._initialise(X, hyper, backend)
        return self._train(X, hyper, backend, n_threads, _EpochPlan(rates, momenta), None)

    def _epoch_order(self, n: int) -> np.ndarray:
        """The shuffled row order of the next epoch: a function of (seed, epoch)."""
        rng = np.random.default_rng([self._seed, self.n_iter_, streams.PURPOSE_TRAIN])
        return rng.permutation(n).astype(np.int64)

    # ------------------------------------------------------------ early stopping
    def _validation_record(self) -> control.Record:
        """The early-stopping bookkeeping as one immutable record."""
        return control.Record(tuple(self.validation_scores_), self.best_epoch_,
                              self.best_validation_score_, self._since_best)

    def _commit_validation(self, record: control.Record, best_state) -> None:
        """Set the bookkeeping attributes from ``record`` and the kept best state."""
        self.validation_scores_ = list(record.scores)
        self.best_epoch_ = record.best_epoch
        self.best_validation_score_ = record.best_score
        self._since_best = record.since_best
        self._best_state = best_state

    def _restore_best(self, state: TrainState, plan: "_EpochPlan") -> None:
        """With patience: the training state of the best epoch back into the model's
        arrays (array identity kept); the counters stay (epochs run, random streams)."""
        if plan.patience is not None and self._best_state is not None:
            state.restore(self._best_state)

    # ------------------------------------------------------------ the epoch loop
    def _train(self, X, hyper, backend, n_threads, plan: "_EpochPlan", callback):
        state = self._train_state(hyper)
        if hyper.centering and not (state.visible_offset.any() or state.hidden_offset.any()):
            self._set_offsets(state, X, hyper, backend, n_threads)
        # kept between calls: partial_fit loops reuse the buffers, and the kernel keeps
        # its measurements of which thread count is faster there (see docs/threads.md)
        key = (backend, hyper.batch_size, hyper.learn_sigma, hyper.optimizer, X.shape[1],
               state.W.shape[0], X.dtype)
        cached = getattr(self, "_workspace", None)
        if cached is None or cached[0] != key:
            cached = self._workspace = (key, ops.make_workspace(
                hyper, X.shape[1], state.W.shape[0], X.dtype, backend))
        workspace = cached[1]
        last_good = None    # the state at the start of the epoch, to roll back a divergence
        for lr, momentum in zip(plan.learning_rates, plan.momenta):
            if plan.patience is not None and self._since_best >= plan.patience:
                break       # also at once when a resumed run had already run out
            epoch = self.n_iter_ + 1
            epoch_hyper = self._epoch_hyper(hyper, lr, momentum)
            order = self._epoch_order(X.shape[0])
            if last_good is None:
                last_good = state.copy()
            else:
                last_good.restore(state)          # reuse the buffers: no allocation
            t0 = time.perf_counter()
            updates_before = self._n_updates
            before = (self._validation_record(), self._best_state)
            try:
                n_updates = ops.fit_epoch(state, epoch_hyper, X, order=order, seed=self._seed,
                                          step=updates_before % 2**32,
                                          n_threads=n_threads, workspace=workspace,
                                          backend=backend)
                seconds = time.perf_counter() - t0
                if not state.is_finite():
                    state.restore(last_good)
                    raise DivergenceError(
                        f"{type(self).__name__} diverged in epoch {epoch}: parameters "
                        f"became non-finite. The parameters of the end of epoch "
                        f"{epoch - 1} are kept; lower learning_rate (now "
                        f"{epoch_hyper.learning_rate:g})"
                        + (" or sigma_learning_rate" if hyper.learn_sigma else "") + ".")
                score, record, best = self._score_epoch(state, plan, epoch, before)
                # the epoch and its bookkeeping are committed together
                self._commit_validation(record, best)
                self._n_updates = updates_before + n_updates
                self.n_iter_ = epoch
            except KeyboardInterrupt:
                # Ctrl-C inside the epoch (or before its counters were all set):
                # back to the end of the last complete epoch, so that going on
                # repeats this epoch's order and random numbers exactly
                state.restore(last_good)
                self._commit_validation(*before)
                self._n_updates, self.n_iter_ = updates_before, epoch - 1
                raise
            info = {"epoch": epoch, "seconds": seconds, "reconstruction_error": None,
                    "learning_rate": lr, "momentum": momentum, "validation_score": score}
            if self.verbose:
                info["reconstruction_error"] = self._reconstruction_error(X)
                self._print_epoch(X, info)
            if plan.checkpoint_every and epoch % plan.checkpoint_every == 0:
                control.write_checkpoint(self, plan.checkpoint_path, epoch)
            if callback is not None and callback(self, info) is False:
                break
        self._restore_best(state, plan)
        return self

    def _score_epoch(self, state, plan: "_EpochPlan", epoch: int, before) -> tuple:
        """(score, next record, best state) after ``epoch``; nothing is committed."""
        record, best = before
        if plan.validator is None:
            return None, record, best
        score = plan.validator.score(self)
        record = record.after(epoch, score, plan.validator.lower_is_better)
        if plan.patience is not None and record.improved:
            best = state.copy()     # a new copy: the kept one stays valid until commit
        return score, record, best

    def _set_offsets(self, state: TrainState, X, hyper, backend: str, n_threads: int) -> None:
        """Centering's offsets from the data ``X`` (validated): mu its mean (of v / sigma
        for Gaussian units), lambda the mean of its hidden means under the current
        parameters; rows in blocks, so that no (n_rows, n_components) array is made."""
        gauss = self._is_gaussian
        sigma = state.sigma if gauss else None
        mu = np.zeros(X.shape[1])
        lam = np.zeros(state.W.shape[0])
        for start in range(0, X.shape[0], _OFFSET_BLOCK):
            rows = X[start:start + _OFFSET_BLOCK]
            mu += (rows / sigma if gauss else rows).sum(0, dtype=np.float64)
            lam += ops.hidden_mean(rows, state.W, state.c, sigma,
                                   hidden=HIDDEN_NAMES[hyper.hidden], n_copies=hyper.n_copies,
                                   n_threads=n_threads, backend=backend).sum(0, dtype=np.float64)
        state.visible_offset[...] = mu / X.shape[0]
        state.hidden_offset[...] = lam / X.shape[0]

    def _print_epoch(self, X, info) -> None:
        """The verbose line of an epoch (``X`` validated)."""
        score = "" if info.get("validation_score") is None else (
            f"  validation {self.validation_metric} {info['validation_score']:.5f}")
        st = getattr(self, "_state", None)
        if st is not None and st.swap_attempts.shape[0] > 1 and st.swap_attempts[0]:
            # parallel tempering: the weakest link of the ladder says most
            rates = st.swap_accepts[:-1] / np.maximum(st.swap_attempts[:-1], 1)
            score += f"  swaps accepted {rates.min():.2f}-{rates.max():.2f}"
        print(f"[{type(self).__name__}] epoch {info['epoch']:4d}  reconstruction error "
              f"{info['reconstruction_error']:.5f}{score}  {info['seconds']:.3f} s",
              file=sys.stdout, flush=True)

    # ------------------------------------------------------------ inference
    @property
    def _n_features_out(self) -> int:
        return self.components_.shape[0]

    def _units(self, hyper) -> dict:
        """The unit settings as :mod:`fastrbm.ops` takes them."""
        return {"visible": VISIBLE_NAMES[hyper.visible], "hidden": HIDDEN_NAMES[hyper.hidden],
                "n_copies": hyper.n_copies}

    def transform(self, X) -> np.ndarray:
        """Hidden means E[h | v] (n_samples, n_components)."""
        W, _, c, s = self._check_fitted()
        hyper, backend, n_threads = self._check_settings()
        X = self._check_X(X)
        return ops.hidden_mean(X, W, c, s, hidden=HIDDEN_NAMES[hyper.hidden],
                               n_copies=hyper.n_copies, n_threads=n_threads, backend=backend)

    def fit_transform(self, X, y=None, **fit_params) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        self.fit(X, y, **fit_params)
        with data_checked():    # fit has checked X (and warned): once per call
            return self.transform(X)

    def inverse_transform(self, H) -> np.ndarray:
        """Visible means E[v | h] for hidden states ``H`` (n_samples, n_components)."""
        W, b, _, s = self._check_fitted()
        hyper, backend, n_threads = self._check_settings()
        H = check_data(H, "H", dtype=W.dtype, n_features=W.shape[0],
                       estimator=type(self).__name__)
        return ops.visible_mean(H, W, b, s, visible=VISIBLE_NAMES[hyper.visible],
                                n_threads=n_threads, backend=backend)

    def _next_sample_step(self) -> int:
        step = self._n_sample_calls % 2**32
        self._n_sample_calls += 1
        return step

    def gibbs(self, v, n_steps: int = 1) -> np.ndarray:
        """Run ``n_steps`` of block Gibbs sampling v -> h -> v from ``v``.

        Returns the final visible sample. Successive calls draw fresh random numbers
        (each call advances a counter); the sequence is fixed by ``random_state``.
        """
        W, b, c, s = self._check_fitted()
        hyper, backend, n_threads = self._check_settings()
        n_steps = check_positive_int(n_steps, "n_steps")
        v = self._check_X(v, "v")
        step = self._next_sample_step()
        return ops.gibbs(v, W, b, c, s, **self._units(hyper), n_steps=n_steps, seed=self._seed,
                         step=step, n_threads=n_threads, backend=backend)

    def sample(self, n_samples: Optional[int] = None, n_steps: int = 1000, *,
               init: str = "random", X=None, return_mean: bool = False,
               progress: Optional[ProgressCallback] = None) -> np.ndarray:
        """Draw visible vectors by ``n_steps`` of Gibbs sampling (v -> h -> v).

        Parameters
        ----------
        n_samples : int or None
            Chains to run. None: 1 for ``init='random'``, one per row of ``X`` or per
            persistent chain otherwise; more than those cycles through them.
        n_steps : int
        init : {'random', 'data', 'chains'}
            Where the chains start: uniform random binary vectors (Bernoulli units) or
            N(b, sigma^2) (Gaussian); the rows of ``X``; or the persistent chains of
            training (PCD, or the beta = 1 chains of parallel tempering), whose hidden
            states give the first visible sample.
        X : array-like (n_rows, n_features_in_), only with ``init='data'``
        return_mean : bool
            Return the visible means of the last step instead of a sample (smoother
            pictures).
        progress : callable(done, total) or None
            Called after each Gibbs step; with ``verbose`` the steps are also shown (a
            bar, or a line every 10 % with the time left).

        Returns
        -------
        ndarray (n_samples, n_features_in_)

        Successive calls draw fresh random numbers (each advances the model's sampling
        counter); the sequence is fixed by ``random_state``.
        """
        W, b, c, s = self._check_fitted()
        hyper, backend, n_threads = self._check_settings()
        if init not in ("random", "data", "chains"):
            raise ValueError(f"init must be 'random', 'data' or 'chains'; got {init!r}")
        if (X is None) == (init == "data"):
            raise ValueError("X is given with init='data', and only then")
        if n_samples is not None:
            n_samples = check_positive_int(n_samples, "n_samples")
        n_steps = check_positive_int(n_steps, "n_steps")
        if not isinstance(return_mean, (bool, np.bool_)):
            raise TypeError(f"return_mean must be a bool; got {return_mean!r}")
        check_progress(progress)
        starts = None
        if init == "data":
            starts = self._check_X(X, "X")
        elif init == "chains":
            starts = self._stationary_chains(hyper)
        dt = W.dtype
        step = self._next_sample_step()
        if starts is not None:
            n = starts.shape[0] if n_samples is None else n_samples
            starts = starts[np.arange(n) % starts.shape[0]]
        if init == "chains":        # the chains hold hidden states: v ~ p(v | h) first
            v0 = ops.visible_sample(np.ascontiguousarray(starts), W, b, s,
                                    visible=VISIBLE_NAMES[hyper.visible], seed=self._seed,
                                    stream=streams.PURPOSE_GIBBS, step=step,
                                    n_threads=n_threads, backend=backend)
        elif init == "data":
            v0 = starts
        elif hyper.visible == 0:
            shape = (1 if n_samples is None else n_samples, W.shape[1])
            v0 = (ops.uniforms(shape, dt, seed=self._seed, stream=streams.PURPOSE_GIBBS,
                               step=step, backend=backend) < 0.5).astype(dt)
        else:
            shape = (1 if n_samples is None else n_samples, W.shape[1])
            v0 = b + s * ops.normals(shape, dt, seed=self._seed, stream=streams.PURPOSE_GIBBS,
                                     step=step, backend=backend)
            v0 = v0.astype(dt)
        with Progress(f"{type(self).__name__}.sample", "Gibbs steps", self.verbose,
                      progress) as report:
            return ops.gibbs(v0, W, b, c, s, **self._units(hyper), n_steps=n_steps,
                             seed=self._seed, step=step, sample_last=not return_mean,
                             n_threads=n_threads, backend=backend, progress=report)

    def _stationary_chains(self, hyper) -> np.ndarray:
        """The persistent chains of training at the model's own temperature."""
        st = getattr(self, "_state", None)
        if not hyper.persistent or st is None or st.chains.shape[0] == 0:
            raise ValueError("init='chains' needs the persistent chains of a model trained "
                             "with persistent=True or sampler='pt' (and its training state)")
        return st.chains[:st.chains.shape[0] // max(1, len(hyper.betas))]

    def free_energy(self, X) -> np.ndarray:
        """Free energy F(v) = -log sum_h exp(-E(v, h)) of each row (float64)."""
        W, b, c, s = self._check_fitted()
        hyper, backend, n_threads = self._check_settings()
        X = self._check_X(X)
        return ops.free_energy(X, W, b, c, s, **self._units(hyper), n_threads=n_threads,
                               backend=backend)

    def reconstruction_error(self, X) -> float:
        """Mean squared error between ``X`` and its deterministic reconstruction.

        The reconstruction is E[v | h = E[h | v]] (hidden means, then visible means),
        so the figure does not depend on random draws.
        """
        self._check_fitted()
        return self._reconstruction_error(self._check_X(X))

    def _reconstruction_error(self, X) -> float:
        """:meth:`reconstruction_error` of validated data (checked once per call)."""
        with data_checked():
            R = self.inverse_transform(self.transform(X))
        d = X.astype(np.float64) - R
        return float(np.mean(d * d))

    def _has_pseudo_likelihood(self) -> bool:
        if isinstance(self.visible, str) and self.visible.lower() == "gaussian":
            raise AttributeError(
                "score_samples (pseudo-likelihood) needs Bernoulli visible units; use "
                "fastrbm.evaluation.log_likelihood for Gaussian ones")
        return True

    @available_if(_has_pseudo_likelihood)
    def score_samples(self, X) -> np.ndarray:
        """Pseudo-log-likelihood of each row: sum_i log p(v_i | v_-i), exact.

        Defined for Bernoulli visible units only (with Gaussian ones the method does
        not exist); costs one hidden-layer evaluation per visible unit.
        (:class:`BernoulliRBM` keeps scikit-learn's one-site estimate.)
        """
        W, b, c, _ = self._check_fitted()
        hyper, backend, n_threads = self._check_settings()
        X = self._check_X(X)
        return ops.pseudo_likelihood(X, W, b, c, hidden=HIDDEN_NAMES[hyper.hidden],
                                     n_copies=hyper.n_copies, n_threads=n_threads,
                                     backend=backend)

    @available_if(_has_pseudo_likelihood)
    def score(self, X, y=None) -> float:
        """Mean of :meth:`score_samples` over the rows of ``X`` (higher is better), as
        scikit-learn's density estimators score, so that ``GridSearchCV`` and
        ``cross_val_score`` need no ``scoring`` argument. ``y`` is ignored.

        Parameters
        ----------
        X : array-like (n_samples, n_features)
        y : ignored

        Returns
        -------
        float
        """
        return float(np.mean(self.score_samples(X)))

    def _n_temperatures(self) -> int:
        """Chain sets of the training state the settings ask for (1 unless 'pt')."""
        return max(1, len(self.training_settings().betas))

    @property
    def swap_acceptance_(self) -> np.ndarray:
        """Parallel tempering: the share of accepted swaps per neighbour pair
        (beta_m, beta_m+1) since the chains were made (NaN for a pair not tried yet)."""
        self._check_fitted()
        st = getattr(self, "_state", None)
        if st is None or st.swap_attempts.shape[0] < 2:
            raise AttributeError("swap_acceptance_ exists for sampler='pt' models only")
        tried = st.swap_attempts[:-1].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tried > 0, st.swap_accepts[:-1] / tried, np.nan)

    def model_arrays(self) -> ModelArrays:
        """The fitted parameters and settings, validated, for :mod:`fastrbm.ops`.

        Returns
        -------
        ModelArrays
            ``(W, b, c, sigma, visible, hidden, n_copies, n_threads, backend)``: the
            weights are ``components_``; ``n_threads`` is resolved to a count.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the model is not fitted, or a structural setting changed since.
        """
        W, b, c, s = self._check_fitted()
        hyper, backend, n_threads = self._check_settings()
        return ModelArrays(W, b, c, s, VISIBLE_NAMES[hyper.visible],
                           HIDDEN_NAMES[hyper.hidden], hyper.n_copies, n_threads, backend)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        dt = resolve_dtype(self.dtype) if _is_valid_dtype(self.dtype) else None
        tags.transformer_tags.preserves_dtype = (
            ["float64", "float32"] if dt is None else [dt.name])
        tags.input_tags.positive_only = isinstance(self.visible, str) and \
            self.visible == "bernoulli"
        return tags


def changed_structure(fitted: dict, now: dict) -> Optional[str]:
    """The first of :data:`STRUCTURAL_PARAMS` whose resolved value ``now`` differs from
    the ``fitted`` record's, or None. ``dtype=None`` follows the data, so it fits any
    fitted dtype."""
    for name in STRUCTURAL_PARAMS:
        if name == "dtype":
            if now["dtype"] is not None and now["dtype"] != fitted["dtype"]:
                return name
        elif now[name] != fitted[name]:
            return name
    return None


def _check_n_copies(value) -> int:
    n = check_positive_int(value, "n_copies")
    if n > MAX_COPIES:
        raise ValueError(f"n_copies must be at most {MAX_COPIES}; got {n}")
    return n


def _check_state(st, params) -> None:
    """The kept training state must fit the validated parameters ``params`` (W, b, c,
    sigma): a TrainState whose momentum buffers, chains and sparsity estimate have the
    parameters' dtype and shapes, C-contiguous, writeable, sharing memory with nothing
    else (the kernels update them all in place)."""
    if not isinstance(st, TrainState):
        raise TypeError(f"_state must be a fastrbm.state.TrainState or None; got "
                        f"{type(st).__name__}")
    W = params[0]
    nh, nv = W.shape
    arrays = []
    for field, shape in (("mW", (nh, nv)), ("mb", (nv,)), ("mc", (nh,)), ("mz", (nv,)),
                         ("vW", (nh, nv)), ("vb", (nv,)), ("vc", (nh,)), ("vz", (nv,)),
                         ("visible_offset", (nv,)), ("hidden_offset", (nh,)),
                         ("fast_W", (nh, nv)), ("fast_b", (nv,)), ("fast_c", (nh,)),
                         ("chains", (None, nh)), ("q", (nh,))):
        a = getattr(st, field)
        name = f"_state.{field}"
        if not isinstance(a, np.ndarray) or a.dtype != W.dtype:
            raise TypeError(f"{name} must be a {W.dtype} ndarray; got "
                            f"{getattr(a, 'dtype', type(a).__name__)}")
        if a.ndim != len(shape) or any(s is not None and s != t for s, t in zip(shape, a.shape)):
            raise ValueError(f"{name} has shape {a.shape}; the parameters need "
                             f"{tuple('any' if s is None else s for s in shape)}")
        if not (a.flags.c_contiguous and a.flags.writeable):
            raise ValueError(f"{name} must be C-contiguous and writeable")
        for other_name, other in arrays + [(n, p) for n, p in zip(_PARAM_NAMES, params)]:
            if np.may_share_memory(a, other):
                raise ValueError(f"{name} shares memory with {other_name}")
        arrays.append((name, a))


def _is_valid_dtype(dtype) -> bool:
    try:
        resolve_dtype(dtype)
        return True
    except (TypeError, ValueError):
        return False


def _init_with_defaults(init, **defaults):
    """``init`` with other defaults for some parameters. The signature scikit-learn reads
    (``get_params``, ``clone``, the estimator checks) shows them, and a call passes every
    argument on, so a subclass that only changes defaults does not repeat the
    parameter list."""
    sig = inspect.signature(init)
    unknown = set(defaults) - set(sig.parameters)
    if unknown:
        raise TypeError(f"no parameters {sorted(unknown)} to give defaults to")
    new_sig = sig.replace(parameters=[p.replace(default=defaults.get(p.name, p.default))
                                      for p in sig.parameters.values()])

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        bound = new_sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(*bound.args, **bound.kwargs)

    __init__.__signature__ = new_sig
    return __init__


class GaussianRBM(RBM):
    """``RBM(visible='gaussian', hidden='nrelu')`` with defaults for standardised data.

    Standardise each feature to zero mean and unit variance first (e.g.
    ``(X - X.mean(0)) / X.std(0)``); sigma stays 1 unless ``learn_sigma=True``.
    Defaults: learning_rate 0.005 (Gaussian visible units want a rate one to two orders
    below binary ones), momentum 0.5, weight_decay 1e-4, batch_size 100,
    reconstructions use the visible mean.
    """

    __init__ = _init_with_defaults(RBM.__init__, visible="gaussian", hidden="nrelu",
                                   learning_rate=0.005, weight_decay=1e-4)


# The scikit-learn drop-in lives in its own module; it is imported here last (it
# subclasses RBM) so that ``fastrbm.rbm.BernoulliRBM`` stays where it always was.
from ._bernoulli import BernoulliRBM  # noqa: E402,F401  (re-export)
