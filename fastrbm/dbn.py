"""Deep belief nets: a stack of RBMs learned greedily (Hinton, Osindero & Teh, 2006).

Each layer is an :class:`~fastrbm.rbm.RBM` trained by the fast kernels on the hidden
activities of the layer below. The result is a generative model whose top two layers
form an RBM and whose lower layers are directed (sigmoid belief net) layers, with the
up pass ``transform`` as its approximate, factorial inference.
"""
from __future__ import annotations

import numbers
import sys
import time
from typing import Optional, Sequence, Union

import numpy as np

from . import sbn, streams
from ._estimator import EstimatorMixin
from .progress import Progress, ProgressCallback, check_progress
from ._validation import (check_data, check_int, check_param_array, check_positive_int,
                          not_fitted_error, resolve_dtype, seed_from)
from .rbm import RBM, STRUCTURAL_PARAMS, changed_structure
from . import ops
from ._maths import sigmoid, softplus
from .units import HIDDEN_BERNOULLI, HIDDEN_NAMES, HIDDEN_UNITS, hidden_code

# Stream offsets inside streams.PURPOSE_DBN (layer l adds l; at most _MAX_LAYERS).
_MAX_LAYERS = 1 << 8
_STREAM_FIT = 0                     # propagate='sample' in fit: step 0
_STREAM_SAMPLE = 1 << 8             # top-down pass of sample(): step = call counter
_STREAM_BOUND = 2 << 8              # bound's up-pass samples: step = sample index
_RESERVED = ("n_components", "visible", "hidden", "random_state")
#: RBM parameters a DBN's layers cannot use: every layer would write the same
#: checkpoint file, and DBN.fit always trains its layers afresh (no resuming).
_NOT_FOR_LAYERS = ("checkpoint_every", "checkpoint_path", "warm_start")
#: Layers trained by partial_fit (init='tied', above the first) have no validation.
_FIT_ONLY = ("validation_fraction", "patience")

#: Largest number of joint hidden states the bound enumerates exactly.
MAX_EXACT_PATHS = 2**14


class DBN(EstimatorMixin):
    """Deep belief net: RBMs stacked and learned greedily, one layer at a time.

    Parameters
    ----------
    layers : sequence of int or sequence of RBM, default=(256, 256)
        Either the number of hidden units of each layer (the layers are then made from
        ``visible``, ``hidden`` and ``rbm_params``) or configured :class:`RBM` objects
        (copied at ``fit``; their own settings are used). The first layer may have
        Gaussian visible units; each layer may have any hidden unit type. A layer above
        stepped or NReLU units must have Gaussian visible units (its input is not in
        [0, 1]); in the sizes form that is chosen automatically.
    visible : {'bernoulli', 'gaussian'} or None, default=None
        Visible units of the first layer (sizes form; None: 'bernoulli').
    hidden : str, sequence of str or None, default=None
        Hidden unit type of every layer or of each layer (sizes form; None: 'bernoulli').
    rbm_params : dict or None, default=None
        Settings shared by every layer (sizes form): any :class:`RBM` parameter except
        ``n_components``, ``visible``, ``hidden`` and ``random_state``, e.g.
        ``dict(k=1, learning_rate=0.05, n_iter=20, batch_size=50)``. Schedules apply
        to every layer; ``validation_fraction``/``patience`` make each layer (trained
        by ``fit``) hold out rows of its own input and stop early on its own (refused
        with ``init='tied'``); ``checkpoint_every``, ``checkpoint_path`` and
        ``warm_start`` are refused.
    propagate : {'mean', 'sample'}, default='mean'
        Each layer learns on the hidden means of the layer below, or on one sample of
        them (drawn by the kernels).
    init : {'random', 'tied'}, default='random'
        'tied' starts each layer above the first at the transpose of the layer below
        (weights ``W^T``, visible and hidden biases swapped): the case in which the
        variational bound provably does not fall as the layer learns. Needs each layer
        to have as many hidden units as the layer below has visible units.
    random_state : None, int, RandomState or Generator
        Seeds every layer (layer ``l`` gets a seed derived from ``(seed, l)``) and the
        DBN's own draws. None leaves RBM objects' own seeds alone.
    verbose : int, default=0
        1: one line per layer; 2: also the RBMs' per-epoch lines.

    Attributes
    ----------
    rbms_ : list of RBM
        The fitted layers, bottom first.
    n_features_in_ : int
    feature_names_in_ : ndarray of str (n_features_in_,)
        Column names of the dataframe given to ``fit`` (only when it had string names).
        The DBN checks them; its layers see arrays.
    """

    def __init__(self, layers: Sequence[Union[int, RBM]] = (256, 256), *,
                 visible: Optional[str] = None,
                 hidden: Union[str, Sequence[str], None] = None,
                 rbm_params: Optional[dict] = None, propagate: str = "mean",
                 init: str = "random", random_state=None, verbose: int = 0):
        self.layers = layers
        self.visible = visible
        self.hidden = hidden
        self.rbm_params = rbm_params
        self.propagate = propagate
        self.init = init
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ configuration
    def _make_layers(self, seed: Optional[int]) -> list[RBM]:
        """Fresh, validated, unfitted RBMs for every layer; ``self`` is not changed.

        ``seed`` (None: leave the layers' own random_state) seeds layer ``l`` with a
        seed derived from ``(seed, l)``.
        """
        layers = self.layers
        if isinstance(layers, (str, bytes, RBM)) or not hasattr(layers, "__iter__"):
            raise TypeError(f"layers must be a list of ints or of RBM objects; got {layers!r}")
        layers = list(layers)
        if not layers:
            raise ValueError("layers must hold at least one layer")
        if len(layers) > _MAX_LAYERS:
            raise ValueError(f"layers may hold at most {_MAX_LAYERS} layers; got {len(layers)}")
        if all(isinstance(r, RBM) for r in layers):
            for name in ("visible", "hidden", "rbm_params"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} must be None when layers holds RBM objects "
                                     f"(each RBM carries its own settings)")
            rbms = [type(r)(**r.get_params()) for r in layers]
        elif all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in layers):
            rbms = self._rbms_from_sizes([int(n) for n in layers])
        else:
            raise TypeError("layers must be a list of ints (layer sizes) or a list of RBM "
                            f"objects, not a mix; got {layers!r}")
        for opt, allowed in (("propagate", ("mean", "sample")), ("init", ("random", "tied"))):
            if getattr(self, opt) not in allowed:
                raise ValueError(f"{opt} must be one of {allowed}; got {getattr(self, opt)!r}")
        if not isinstance(self.verbose, (numbers.Integral, bool)):
            raise TypeError(f"verbose must be an int; got {self.verbose!r}")
        for l, rbm in enumerate(rbms):
            if seed is not None:
                rbm.random_state = _layer_seed(seed, l)
            if self.verbose > 1:
                rbm.verbose = 1
            rbm.training_settings()
            if l and not rbm._is_gaussian and hidden_code(rbms[l - 1].hidden) != HIDDEN_BERNOULLI:
                raise ValueError(
                    f"layers[{l}] has Bernoulli visible units but layers[{l - 1}] has "
                    f"{rbms[l - 1].hidden!r} hidden units, whose activities are not in [0, 1];"
                    f" give layers[{l}] visible='gaussian'")
            if l > 1 and self.init == "tied" and rbm.n_components != rbms[l - 2].n_components:
                raise ValueError(
                    f"init='tied' needs layers[{l}] to have as many hidden units as "
                    f"layers[{l - 1}] has visible units; got {rbm.n_components} and "
                    f"{rbms[l - 2].n_components}")
        return rbms

    def _rbms_from_sizes(self, sizes: list[int]) -> list[RBM]:
        hidden = "bernoulli" if self.hidden is None else self.hidden
        if isinstance(hidden, str):
            hidden = [hidden] * len(sizes)
        else:
            hidden = list(hidden)
            if len(hidden) != len(sizes):
                raise ValueError(f"hidden must be a string or one per layer ({len(sizes)}); "
                                 f"got {len(hidden)}")
        params = {} if self.rbm_params is None else self.rbm_params
        if not isinstance(params, dict):
            raise TypeError(f"rbm_params must be a dict or None; got {params!r}")
        valid = set(RBM._param_names())
        for key in params:
            if key in _RESERVED:
                raise ValueError(f"rbm_params may not set {key!r}: it is given per layer "
                                 f"by the DBN ('layers', 'visible', 'hidden', 'random_state')")
            if key not in valid:
                raise ValueError(f"rbm_params has an unknown RBM parameter {key!r}; valid: "
                                 f"{sorted(valid - set(_RESERVED) - set(_NOT_FOR_LAYERS))}")
            if key in _NOT_FOR_LAYERS:
                raise ValueError(f"rbm_params may not set {key!r}: a DBN trains its layers "
                                 f"afresh in one fit and has no checkpoints (every layer "
                                 f"would write the same file)")
            if key in _FIT_ONLY and params[key] is not None and self.init == "tied" \
                    and len(sizes) > 1:
                raise ValueError(f"rbm_params may not set {key!r} with init='tied': the "
                                 f"tied layers are trained by partial_fit, without "
                                 f"validation")
        rbms = []
        for l, (size, hid) in enumerate(zip(sizes, hidden)):
            if l == 0:
                vis = "bernoulli" if self.visible is None else self.visible
            else:
                vis = "bernoulli" if hidden[l - 1] == "bernoulli" else "gaussian"
            rbms.append(RBM(size, visible=vis, hidden=hid, **params))
        return rbms

    # ------------------------------------------------------------ training
    def fit(self, X, y=None):
        """Learn the stack greedily: each layer on the activities of the layer below.

        Parameters
        ----------
        X : array-like or sparse matrix (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        seed = seed_from(self.random_state)
        rbms = self._make_layers(None if self.random_state is None else seed)
        first = rbms[0]
        X_in, X = X, check_data(X, "X", dtype=_data_dtype(first),
                                bernoulli=not first._is_gaussian, estimator=type(self).__name__)
        if self.init == "tied" and len(rbms) > 1 and rbms[1].n_components != X.shape[1]:
            raise ValueError(f"init='tied' needs layers[1] to have as many hidden units as X "
                             f"has features; got {rbms[1].n_components} and {X.shape[1]}")
        data = X
        for l, rbm in enumerate(rbms):
            t0 = time.perf_counter()
            if l and self.init == "tied":
                _fit_tied(rbm, data, rbms[l - 1])
            else:
                rbm.fit(data)
            if self.verbose:
                print(f"[DBN] layer {l + 1}/{len(rbms)}: {data.shape[1]} -> {rbm.n_components}"
                      f" {rbm.hidden} units, {rbm.n_iter_} epochs, reconstruction error "
                      f"{rbm.reconstruction_error(data):.5f}, {time.perf_counter() - t0:.2f} s",
                      file=sys.stdout, flush=True)
            if l + 1 < len(rbms):
                data = (rbm.transform(data) if self.propagate == "mean" else sbn.sample_hidden(
                    rbm, data, seed, streams.PURPOSE_DBN + _STREAM_FIT + l, 0))
        self._check_feature_names(X_in, reset=True)
        self.rbms_ = rbms
        self.n_features_in_ = X.shape[1]
        self._seed = seed
        self._n_sample_calls = 0
        self._fit_record = self._layer_records(rbms)
        return self

    # ------------------------------------------------------------ inference
    @staticmethod
    def _layer_records(rbms) -> list:
        """Per fitted layer, what its parameters depend on: the RBM's structural settings
        (:data:`fastrbm.rbm.STRUCTURAL_PARAMS`, resolved), its dtype and input size."""
        keys = STRUCTURAL_PARAMS + ("n_features",)
        return [{k: rec[k] for k in keys} for rec in (rbm._fitted_record() for rbm in rbms)]

    def _check_fitted(self) -> list:
        """The one boundary between a fitted DBN's state and its computations.

        Checks that the DBN is fitted; that ``rbms_`` is a stack of fitted RBMs, the ones
        it fitted (same structure), whose sizes chain from ``n_features_in_`` (each
        layer's arrays are checked by that layer's own boundary when it computes); and
        that the DBN's structural settings still give those layers: ``layers`` (sizes,
        unit types, ``n_copies``, ``dtype`` of RBM objects), ``visible``, ``hidden`` and
        the structural entries of ``rbm_params``. Raises NotFittedError when unfitted or
        when a structural setting changed since fit (call ``fit``), ValueError or
        TypeError naming anything else that is wrong.

        Returns
        -------
        list of RBM
            ``rbms_``.
        """
        if not hasattr(self, "rbms_"):
            raise not_fitted_error(f"This {type(self).__name__} instance is not fitted yet. "
                                   f"Call 'fit' with appropriate arguments before using this "
                                   f"estimator.")
        rbms = self.rbms_
        if not isinstance(rbms, (list, tuple)) or not rbms or not all(
                isinstance(r, RBM) for r in rbms):
            raise TypeError("rbms_ must be a non-empty list of fitted RBM layers")
        layers = self._layer_records(rbms)
        record = self.__dict__.get("_fit_record")
        if record is None:      # restored by io.load: the present layers are what was fitted
            record = self._fit_record = layers
        if layers != record:
            raise ValueError("rbms_ does not hold the layers this DBN fitted (their sizes, "
                             "unit types or dtypes differ); call 'fit'")
        now = [rbm._structure() for rbm in self._make_layers(None)]
        if len(now) != len(record):
            raise not_fitted_error(
                f"{type(self).__name__} fitted {len(record)} layers and its settings give "
                f"{len(now)} now. Call 'fit' to train afresh.")
        for l, (was, new) in enumerate(zip(record, now)):
            name = changed_structure(was, new)
            if name is not None:
                raise not_fitted_error(
                    f"{type(self).__name__}'s layer {l} was fitted with {name}="
                    f"{was[name]!r} and its settings (layers, visible, hidden, "
                    f"rbm_params) give {new[name]!r} now. Call 'fit' to train afresh.")
        n_in = self.n_features_in_
        for l, rec in enumerate(record):
            if rec["n_features"] != n_in:
                below = f"layer {l - 1} gives" if l else "n_features_in_ is"
                raise ValueError(f"rbms_[{l}] takes {rec['n_features']} inputs but {below} "
                                 f"{n_in}")
            n_in = rec["n_components"]
        check_int(getattr(self, "_seed", None), "_seed", 0, 2**64 - 1)
        check_int(getattr(self, "_n_sample_calls", None), "_n_sample_calls", 0, 2**63 - 1)
        return list(rbms)

    _fitted_attribute = "rbms_"

    def _check_structure(self) -> None:
        self._check_fitted()

    @property
    def _n_features_out(self) -> int:
        return self.rbms_[-1].components_.shape[0]

    def _check_X(self, X) -> np.ndarray:
        """``X`` checked against the names seen in ``fit``, as an array for the layers
        (which were fitted on arrays and would warn about a dataframe's names)."""
        self._check_feature_names(X, reset=False)
        first = self.rbms_[0]
        return check_data(X, "X", dtype=first.components_.dtype, n_features=self.n_features_in_,
                          bernoulli=not first._is_gaussian, estimator=type(self).__name__)

    def _layer_index(self, layer) -> int:
        n = len(self.rbms_)
        if isinstance(layer, bool) or not isinstance(layer, numbers.Integral):
            raise TypeError(f"layer must be an int; got {layer!r}")
        if not -n <= layer < n:
            raise ValueError(f"layer must be in [{-n}, {n - 1}] for {n} layers; got {layer}")
        return int(layer) % n

    def transform(self, X, layer: int = -1) -> np.ndarray:
        """The up pass: hidden means of layer ``layer`` (0 = first hidden layer).

        Parameters
        ----------
        X : array-like (n_samples, n_features)
        layer : int, default=-1
            Which hidden layer to stop at (negative counts from the top).

        Returns
        -------
        ndarray (n_samples, n_units of that layer)
        """
        self._check_fitted()
        top = self._layer_index(layer)
        return self._up(self._check_X(X), top)

    def _up(self, H, top: int) -> np.ndarray:
        """The up pass of validated data to layer ``top``."""
        for rbm in self.rbms_[:top + 1]:
            H = rbm.transform(H)
        return H

    def fit_transform(self, X, y=None) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def _down(self, H, start: int, step: Optional[int], sample_bottom: bool) -> np.ndarray:
        """Top-down pass from the visible side of layer ``start`` to the data.

        Directed layers sample their Bernoulli units (``step`` not None); layers whose
        visible units are Gaussian (they model stepped/NReLU activities) pass their mean,
        and so does the bottom layer unless ``sample_bottom``.
        """
        for l in range(start, -1, -1):
            rbm = self.rbms_[l]
            use_mean = step is None or (l == 0 and not sample_bottom) or (
                l > 0 and rbm._is_gaussian)
            H = rbm.inverse_transform(H) if use_mean else sbn.sample_visible(
                rbm, H, self._seed, streams.PURPOSE_DBN + _STREAM_SAMPLE + l, step)
        return H

    def sample(self, n_samples: int = 1, n_gibbs: int = 1000, *, return_mean: bool = False,
               progress: Optional[ProgressCallback] = None) -> np.ndarray:
        """Generate data: Gibbs sampling in the top RBM, then one top-down pass.

        Parameters
        ----------
        n_samples : int, default=1
        n_gibbs : int, default=1000
            Gibbs steps in the top-level RBM (chains start at random states).
        return_mean : bool, default=False
            Return the bottom layer's means (smoother images) instead of a sample.
        progress : callable(done, total) or None
            Called after each Gibbs step; with ``verbose`` the steps are also shown.

        Returns
        -------
        ndarray (n_samples, n_features_in_)
        """
        self._check_fitted()
        n_samples = check_positive_int(n_samples, "n_samples")
        n_gibbs = check_positive_int(n_gibbs, "n_gibbs")
        if not isinstance(return_mean, (bool, np.bool_)):
            raise TypeError(f"return_mean must be a bool; got {return_mean!r}")
        check_progress(progress)
        top = self.rbms_[-1]
        with Progress("DBN.sample", "Gibbs steps", self.verbose, progress) as report:
            if len(self.rbms_) == 1:
                return top.sample(n_samples, n_gibbs, return_mean=bool(return_mean),
                                  progress=report)
            V = top.sample(n_samples, n_gibbs, return_mean=top._is_gaussian, progress=report)
        step = self._n_sample_calls % 2**32
        self._n_sample_calls += 1
        return self._down(V, len(self.rbms_) - 2, step, not return_mean)

    def reconstruct(self, X) -> np.ndarray:
        """Up pass (means) to the top layer, then down pass (means) to the data."""
        H = self.transform(X)
        return self._down(self.rbms_[-1].inverse_transform(H), len(self.rbms_) - 2, None, False)

    # ------------------------------------------------------------ the variational bound
    def log_likelihood_bound(self, X, *, n_samples: int = 100, exact: Optional[bool] = None,
                             log_z=None, ais_runs: int = 100, random_state=None,
                             progress: Optional[ProgressCallback] = None) -> np.ndarray:
        """Variational lower bound on log p(x) of each row (Hinton et al. 2006).

        With the factorial up-pass posterior ``Q(h1 | v) Q(h2 | h1) ...`` over the hidden
        layers below the top RBM,

        ``log p(v) >= E_Q[log p(v | h1) + sum_l log p(h_l | h_l+1) + log p_top(h_top)]
        + sum_l E_Q[H(Q(h_l | h_l-1))]``,

        where ``p_top`` is the top RBM's marginal over its visible units (free energy and
        log Z). The expectation is exact (enumerated) when the hidden states are few,
        otherwise a Monte Carlo average over ``n_samples`` up-pass samples per row (the
        entropies are exact given each sample). With one layer it is the RBM's exact
        log-likelihood. All layers but the top one need Bernoulli hidden units.

        Parameters
        ----------
        X : array-like (n_samples, n_features)
        n_samples : int, default=100
            Up-pass samples per row when not exact.
        exact : bool or None, default=None
            Enumerate the hidden states (None: when at most ``MAX_EXACT_PATHS``).
        log_z : float, 'exact', 'ais' or None, default=None
            log partition function of the top RBM: a given value, exact enumeration,
            annealed importance sampling, or None (exact when small enough, else AIS).
        ais_runs : int, default=100
            AIS runs when AIS is used.
        random_state : None, int, RandomState or Generator
            Seed of the Monte Carlo draws (and AIS); None uses the DBN's seed and a
            call counter.
        progress : callable(done, total) or None
            Called first for the top RBM's log Z (AIS's intermediate distributions, or
            the enumerated states), then again from 0 for the bound itself (up-pass
            samples, or blocks of rows when exact). With ``verbose`` both stages are
            shown (a bar, or a line every 10 % with the time left).

        Returns
        -------
        ndarray (n_samples,) float64
        """
        check_progress(progress)
        self._check_fitted()
        rbms = self.rbms_
        directed, top = rbms[:-1], rbms[-1]
        # Above the first layer every state is binary, so p and Q are probabilities of
        # the same discrete states; a density mixed in there would not bound anything.
        if any(hidden_code(r.hidden) != HIDDEN_BERNOULLI for r in directed) or any(
                r._is_gaussian for r in rbms[1:]):
            raise ValueError("log_likelihood_bound needs Bernoulli hidden units in every "
                             "layer below the top RBM and Bernoulli visible units above "
                             "the first layer")
        n_samples = check_positive_int(n_samples, "n_samples")
        V = self._check_X(X).astype(np.float64)
        sizes = [r.n_components for r in directed]
        too_many = sum(sizes) > np.log2(MAX_EXACT_PATHS)
        if exact is None:
            exact = not too_many
        elif not isinstance(exact, (bool, np.bool_)):
            raise TypeError(f"exact must be None or a bool; got {exact!r}")
        elif exact and too_many:
            raise ValueError(f"exact=True would enumerate 2**{sum(sizes)} hidden states, more "
                             f"than MAX_EXACT_PATHS = {MAX_EXACT_PATHS}")
        lz = self._top_log_z(log_z, ais_runs, random_state, lambda: (
            V if not directed else self._up(V, len(directed) - 1)), progress)
        if not directed:
            return -top.free_energy(V) - lz
        with Progress("DBN bound", "row blocks" if exact else "up-pass samples",
                      self.verbose, progress) as report:
            if exact:
                return self._bound_exact(V, sizes, lz, report)
            return self._bound_sampled(V, n_samples, lz, random_state, report)

    def _top_log_z(self, log_z, ais_runs, random_state, top_data, progress=None) -> float:
        """log Z of the top RBM; ``top_data()`` gives AIS its data-based base model."""
        from . import evaluation

        if isinstance(log_z, numbers.Real) and not isinstance(log_z, bool):
            if not np.isfinite(log_z):
                raise ValueError(f"log_z must be finite; got {log_z!r}")
            return float(log_z)
        if log_z not in (None, "exact", "ais"):
            raise ValueError(f"log_z must be a float, 'exact', 'ais' or None; got {log_z!r}")
        top = self.rbms_[-1]
        if log_z in (None, "exact"):
            try:
                return evaluation.log_partition_exact(top, verbose=self.verbose,
                                                      progress=progress)
            except ValueError:
                if log_z == "exact":
                    raise
        ais_runs = check_positive_int(ais_runs, "ais_runs")
        rs = self._seed if random_state is None else random_state
        return float(evaluation.ais(top, n_runs=ais_runs, data=top_data(), random_state=rs,
                                    verbose=self.verbose, progress=progress).log_z)

    def _path_terms(self, V, states, lz):
        """(integrand, log Q) per row for up-pass states ``states`` (one per directed layer).

        integrand = log p(v | h1) + sum log p(h_l | h_l+1) + log p_top(h_top)
                    + sum_l H(Q(h_l | h_l-1)).
        """
        rbms = self.rbms_
        f = np.zeros(V.shape[0])
        log_q = np.zeros(V.shape[0])
        below = V
        for l, h in enumerate(states):
            W, b, c, s = (None if a is None else np.asarray(a, dtype=np.float64)
                          for a in rbms[l].model_arrays()[:4])
            x = (below if s is None else below / s) @ W.T + c
            log_q += (h * x - softplus(x)).sum(1)
            f += (softplus(x) - sigmoid(x) * x).sum(1)                  # entropy of Q
            f += _log_visible(below, h, W, b, s)                         # log p(below | h)
            below = h
        return f - rbms[-1].free_energy(below) - lz, log_q

    def _bound_exact(self, V, sizes, lz, report) -> np.ndarray:
        n_paths = 2 ** sum(sizes)
        idx = np.arange(n_paths, dtype=np.int64)
        offsets = np.cumsum([0] + sizes)
        path_states = [((idx[:, None] >> np.arange(lo, hi)) & 1).astype(np.float64)
                       for lo, hi in zip(offsets[:-1], offsets[1:])]
        out = np.empty(V.shape[0])
        rows = max(1, 2**18 // n_paths)
        for start in range(0, V.shape[0], rows):
            chunk = V[start:start + rows]
            m = chunk.shape[0]
            f, log_q = self._path_terms(np.repeat(chunk, n_paths, axis=0),
                                        [np.tile(s, (m, 1)) for s in path_states], lz)
            q = np.exp(log_q.reshape(m, n_paths))
            out[start:start + m] = (q * f.reshape(m, n_paths)).sum(1) / q.sum(1)
            report(start // rows + 1, -(-V.shape[0] // rows))
        return out

    def _bound_sampled(self, V, n_samples, lz, random_state, report) -> np.ndarray:
        if random_state is None:    # a fresh seed per call, derived from the DBN's
            seed = _layer_seed(self._seed, 2**32 + self._n_sample_calls)
            self._n_sample_calls += 1
        else:
            seed = seed_from(random_state)
        total = np.zeros(V.shape[0])
        for s in range(n_samples):      # sample s of every row: step s
            below, states = V, []
            for l, rbm in enumerate(self.rbms_[:-1]):
                stream = streams.PURPOSE_DBN + _STREAM_BOUND + l
                below = sbn.sample_hidden(rbm, below, seed, stream, s).astype(np.float64)
                states.append(below)
            total += self._path_terms(V, states, lz)[0]
            report(s + 1, n_samples)
        return total / n_samples

    # ------------------------------------------------------------ export
    def to_arrays(self) -> list[dict]:
        """The up pass as plain arrays, one dict per layer, bottom first.

        Each dict has ``weight`` (n_out, n_in; the visible standard deviations of a
        Gaussian layer folded in, as ``torch.nn.Linear.weight``), ``bias`` (n_out,),
        ``activation`` ('bernoulli' (logistic), 'stepped' or 'nrelu': the mean of those
        units) and ``n_copies``. :func:`forward` runs them.
        """
        self._check_fitted()
        out = []
        for rbm in self.rbms_:
            W, _, c, s = rbm.model_arrays()[:4]
            weight = W / s if s is not None else W.copy()
            out.append({"weight": weight, "bias": c.copy(), "n_copies": int(rbm.n_copies),
                        "activation": HIDDEN_NAMES[hidden_code(rbm.hidden)]})
        return out

    def to_torch(self):
        """The up pass as a ``torch.nn.Sequential`` (Linear, activation, ...).

        The outputs equal :meth:`transform`; the activations are differentiable, so the
        net can be fine-tuned discriminatively (add a classifier layer on top). Needs
        PyTorch.
        """
        try:
            import torch
        except ImportError:
            raise ImportError("DBN.to_torch needs PyTorch (pip install torch)") from None
        modules = []
        for layer in self.to_arrays():
            w = torch.from_numpy(np.ascontiguousarray(layer["weight"]))
            lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=w.dtype)
            with torch.no_grad():
                lin.weight.copy_(w)
                lin.bias.copy_(torch.from_numpy(layer["bias"]))
            modules += [lin, _torch_activation(layer["activation"], layer["n_copies"])]
        return torch.nn.Sequential(*modules)


def forward(layers: list[dict], X) -> np.ndarray:
    """NumPy forward pass of :meth:`DBN.to_arrays` output; reproduces ``DBN.transform``.

    Parameters
    ----------
    layers : list of dict
        As returned by :meth:`DBN.to_arrays`.
    X : array-like (n_samples, n_features)

    Returns
    -------
    ndarray (n_samples, n_units of the last layer), in the weights' dtype.
    """
    codes = HIDDEN_UNITS
    if not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError("layers must be a non-empty list of dicts from DBN.to_arrays()")
    checked, n_in, dtype = [], None, None
    for l, layer in enumerate(layers):
        if not isinstance(layer, dict) or not {"weight", "bias", "activation",
                                               "n_copies"} <= set(layer):
            raise TypeError(f"layers[{l}] must be a dict with 'weight', 'bias', "
                            f"'activation' and 'n_copies' (from DBN.to_arrays())")
        W = np.asarray(layer["weight"]) if layer["weight"] is not None else None
        if dtype is None:
            if W is None or W.ndim != 2:
                raise ValueError("layers[0]['weight'] must be a 2-D array (n_out, n_in)")
            dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.dtype(np.float64)
            n_in = W.shape[1]
        name = f"layers[{l}]"
        W = check_param_array(layer["weight"], f"{name}['weight']",
                              (np.shape(layer["weight"])[0] if np.ndim(layer["weight"]) == 2
                               else -1, n_in), dtype)
        bias = check_param_array(layer["bias"], f"{name}['bias']", (W.shape[0],), dtype)
        if layer["activation"] not in codes:
            raise ValueError(f"{name}['activation'] must be one of {sorted(codes)}; got "
                             f"{layer['activation']!r}")
        n_copies = check_positive_int(layer["n_copies"], f"{name}['n_copies']")
        checked.append((W, bias, layer["activation"], n_copies))
        n_in = W.shape[0]
    H = check_data(X, "X", dtype=dtype, n_features=checked[0][0].shape[1], estimator="forward")
    for W, bias, activation, n_copies in checked:
        H = ops.hidden_mean(H, W, bias, hidden=activation, n_copies=n_copies)
    return H


def _torch_activation(name: str, n_copies: int):
    """The mean of a hidden unit type as a torch module (differentiable)."""
    import torch

    if name == "bernoulli":
        return torch.nn.Sigmoid()

    class SteppedSigmoid(torch.nn.Module):
        """sum_k sigmoid(x - k + 0.5), k = 1..n_copies."""

        def __init__(self, n):
            super().__init__()
            self.n_copies = n
            self.register_buffer("offsets", torch.arange(n, dtype=torch.float64) + 0.5)

        def forward(self, x):
            return torch.sigmoid(x[..., None] - self.offsets.to(x.dtype)).sum(-1)

    class NReLUMean(torch.nn.Module):
        """Mean of max(0, x + sqrt(sigmoid(x)) eps): x Phi(x / sd) + sd phi(x / sd)."""

        def forward(self, x):
            sd = torch.sqrt(torch.sigmoid(x))
            t = x / sd
            return x * torch.special.ndtr(t) + sd * torch.exp(-0.5 * t * t) / (2 * np.pi) ** 0.5

    return SteppedSigmoid(n_copies) if name == "stepped" else NReLUMean()


def _log_visible(v, h, W, b, s) -> np.ndarray:
    """log p(v | h) per row for the directed layer ``h -> v`` (Bernoulli or Gaussian v)."""
    if s is None:
        y = h @ W + b
        return (v * y - softplus(y)).sum(1)
    d = (v - b - s * (h @ W)) / s
    return -(0.5 * d * d).sum(1) - np.log(np.sqrt(2 * np.pi) * s).sum()


def _layer_seed(seed: int, layer: int) -> int:
    """A 64-bit seed derived from ``(seed, layer)`` (independent streams per layer)."""
    words = np.random.SeedSequence([seed, layer]).generate_state(2, np.uint32)
    return int(words[0]) | (int(words[1]) << 32)


def _data_dtype(rbm):
    return resolve_dtype(rbm.dtype)


def _fit_tied(rbm: RBM, X, below: RBM) -> None:
    """Train ``rbm`` on ``X`` for ``n_iter`` epochs, starting from the transpose of the
    layer ``below`` (weights transposed, visible and hidden biases swapped)."""
    rbm.init_params(X, components=below.components_.T,
                    intercept_visible=below.intercept_hidden_,
                    intercept_hidden=below.intercept_visible_)
    for _ in range(int(rbm.n_iter)):
        rbm.partial_fit(X)