"""``BernoulliRBM``: the drop-in for ``sklearn.neural_network.BernoulliRBM``.

It behaves as scikit-learn's where code may depend on it: the same parameters and
defaults, data outside [0, 1] accepted (with a :class:`~fastrbm.rbm.DataRangeWarning`
here), ``score_samples`` drawing its random sites from ``random_state`` at each call,
the same ``verbose`` line, ``get_feature_names_out`` and the private helpers
(``_mean_hiddens``, ``_sample_hiddens``, ``_sample_visibles``, ``_free_energy``) that
code written against scikit-learn's class calls. scikit-learn's own test module for
its BernoulliRBM runs against it (``tests/test_sklearn_suite.py``).
"""
from __future__ import annotations

import sys
from typing import Optional

import numpy as np

from . import streams
from ._validation import data_checked, seed_from
from .rbm import RBM


class BernoulliRBM(RBM):
    """Drop-in for ``sklearn.neural_network.BernoulliRBM`` on fastrbm's kernels.

    Same parameters, defaults and meaning: PCD-1 with ``batch_size`` persistent chains,
    learning rate applied to the minibatch-mean gradient, no momentum or weight decay,
    float32 and float64 input preserved. Differences: minibatches are reshuffled every
    epoch, the last short minibatch weights its negative statistics by the number of
    chains, and ``partial_fit`` makes one pass over ``X`` in minibatches (a single
    update when ``X`` has at most ``batch_size`` rows, as in scikit-learn).

    As scikit-learn's, it accepts any finite data, also outside [0, 1], but says so
    with a :class:`~fastrbm.rbm.DataRangeWarning` (a ``UserWarning``): Bernoulli
    units model probabilities. (:class:`~fastrbm.RBM` refuses such data.)

    Parameters
    ----------
    n_components : int, default=256
    learning_rate : float, default=0.1
    batch_size : int, default=10
    n_iter : int, default=10
    verbose : int, default=0
        Print scikit-learn's line after every epoch,
        ``[BernoulliRBM] Iteration 1, pseudo-likelihood = -25.39, time = 0.01s``
        (the pseudo-likelihood of the training data; the time of the epoch).
    random_state : None, int, RandomState or Generator
        Seeds training (once, at ``fit``) and, as in scikit-learn, the random sites of
        every :meth:`score_samples` call: an int gives the same sites at every call, a
        ``RandomState`` advances.
    n_threads : int or None, default=None
    backend : {'cython', 'numpy'}, default='cython'

    Attributes
    ----------
    components_ : ndarray (n_components, n_features)
    intercept_hidden_ : ndarray (n_components,)
    intercept_visible_ : ndarray (n_features,)
    h_samples_ : ndarray (batch_size, n_components)
        Hidden states of the persistent chains.
    n_features_in_ : int
    feature_names_in_ : ndarray of str (n_features_in_,)
        Column names of the dataframe given to ``fit`` (only when it had string names).
    n_iter_ : int
    """

    #: scikit-learn's BernoulliRBM trains on any finite data: so does its drop-in.
    _out_of_range = "warn"

    def __init__(self, n_components: int = 256, *, learning_rate: float = 0.1,
                 batch_size: int = 10, n_iter: int = 10, verbose: int = 0,
                 random_state=None, n_threads: Optional[int] = None,
                 backend: str = "cython"):
        # scikit-learn's parameters only; the fixed settings below are class attributes
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.n_threads = n_threads
        self.backend = backend

    # fixed settings of scikit-learn's model, read by RBM's methods
    visible = "bernoulli"
    hidden = "bernoulli"
    n_copies = 1
    k = 1
    persistent = True
    sampler = None
    n_temperatures = 10
    betas = None
    fast_learning_rate = None
    fast_decay = 0.95
    momentum = 0.0
    optimizer = "sgd"
    beta_1 = 0.9
    beta_2 = 0.999
    epsilon = 1e-8
    centering = False
    centering_rate = 0.01
    weight_decay = 0.0
    l1 = 0.0
    sparsity_target = 0.1
    sparsity_cost = 0.0
    sparsity_decay = 0.95
    sigma = 1.0
    learn_sigma = False
    sigma_learning_rate = None
    min_sigma = 0.1
    sample_visible = True
    init_scale = 0.01
    dtype = None
    # fastrbm's training control is not scikit-learn's: off, and not parameters here
    learning_rate_schedule = None
    momentum_schedule = None
    validation_fraction = None
    validation_metric = "free_energy_gap"
    patience = None
    checkpoint_every = 0
    checkpoint_path = None
    warm_start = False

    @property
    def h_samples_(self) -> np.ndarray:
        """Hidden states of the persistent chains (batch_size, n_components)."""
        self._check_fitted()
        if self._state is None:
            return np.zeros((self.batch_size, self.n_components), dtype=self.components_.dtype)
        return self._state.chains

    # ------------------------------------------------------------ pseudo-likelihood
    def score_samples(self, X) -> np.ndarray:
        """scikit-learn's stochastic pseudo-likelihood: one random site per row.

        ``n_features * log sigmoid(F(v~) - F(v))`` where ``v~`` flips one randomly
        chosen unit of each row (``1 - v``). As in scikit-learn the sites are drawn
        from ``random_state`` at each call: an int gives the same sites (and score)
        every time, a ``RandomState`` or ``Generator`` advances, None draws afresh.
        Unlike scikit-learn, a row's site depends on the draw and the row's values
        only, not on its position: the score of a row is the same in any order and
        any subset of rows (so the estimator checks pass without exceptions). Over
        draws, every site of a row is equally likely, so the mean over calls is the
        exact pseudo-likelihood. For that exact sum over all sites use
        ``RBM.score_samples(model, X)`` or ``fastrbm.evaluation.pseudo_likelihood``.

        Parameters
        ----------
        X : array-like or sparse matrix (n_samples, n_features)

        Returns
        -------
        ndarray (n_samples,) float64
        """
        self._check_fitted()
        X = self._check_X(X)
        return self._one_site_pseudo_likelihood(X, seed_from(self.random_state), 0)

    def _one_site_pseudo_likelihood(self, X, seed: int, step: int) -> np.ndarray:
        """:meth:`score_samples` of validated ``X`` with the sites of ``(seed, step)``."""
        n, d = X.shape
        sites = _row_sites(X, seed, step)
        flipped = X.copy()
        rows = np.arange(n)
        flipped[rows, sites] = 1 - flipped[rows, sites]
        with data_checked():
            fe, fe_flipped = self.free_energy(X), self.free_energy(flipped)
        return d * -np.logaddexp(0, -(fe_flipped - fe))

    def _print_epoch(self, X, info) -> None:
        """scikit-learn's verbose line, character for character (logs get parsed)."""
        # the sites come from the model's seed and the epoch, so that printing changes
        # nothing: not the model, not a RandomState given as random_state
        pl = self._one_site_pseudo_likelihood(X, self._seed, info["epoch"] % 2**32).mean()
        print(f"[{type(self).__name__}] Iteration {info['epoch']}, pseudo-likelihood = "
              f"{pl:.2f}, time = {info['seconds']:.2f}s", file=sys.stdout, flush=True)

    # ------------------------------------------------------------ scikit-learn's helpers
    # Private in scikit-learn, but called by code written against it (and by its
    # tests). Thin: the public methods do the work; a 1-D argument is one row.
    def _mean_hiddens(self, v) -> np.ndarray:
        """P(h = 1 | v): :meth:`transform`."""
        return _one_row(self.transform, v)

    def _sample_hiddens(self, v, rng) -> np.ndarray:
        """A sample of h given v, drawn from ``rng`` (a RandomState or Generator)."""
        p = self._mean_hiddens(v)
        return rng.uniform(size=p.shape) < p

    def _sample_visibles(self, h, rng) -> np.ndarray:
        """A sample of v given h, drawn from ``rng`` (a RandomState or Generator)."""
        p = _one_row(self.inverse_transform, h)
        return rng.uniform(size=p.shape) < p

    def _free_energy(self, v) -> np.ndarray:
        """Free energy F(v): :meth:`free_energy`."""
        return _one_row(self.free_energy, v)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # negative values are accepted (with a warning), as by scikit-learn's model
        tags.input_tags.positive_only = False
        return tags


_SPLITMIX = (np.uint64(30), np.uint64(0xBF58476D1CE4E5B9), np.uint64(27),
             np.uint64(0x94D049BB133111EB), np.uint64(31))
_ROWS_PER_BLOCK = 2048


def _row_sites(X, seed: int, step: int) -> np.ndarray:
    """One site (column) per row of ``X``, a function of ``(seed, step)`` and the row's
    values only: the same row gets the same site at any position, in any subset.

    Each value's float64 bits (-0.0 as 0.0, so equal values are equal words; float32
    and float64 data alike) are folded and multiplied by a random odd key of its
    column; the sum modulo 2**64 (exact, so independent of summation order) is
    finalised by splitmix64. For a fixed row, the site is uniform over draws of the
    keys up to 2**-53.
    """
    n, d = X.shape
    words = np.random.default_rng([seed, step, streams.PURPOSE_EVAL]).bit_generator.random_raw(
        d + 1)
    keys = words[:d] | np.uint64(1)
    h = np.empty(n, dtype=np.uint64)
    for start in range(0, n, _ROWS_PER_BLOCK):
        z = (np.asarray(X[start:start + _ROWS_PER_BLOCK], dtype=np.float64) + 0.0).view(np.uint64)
        z ^= z >> np.uint64(32)     # the exponent reaches the low bits the product keeps
        z *= keys
        h[start:start + z.shape[0]] = z.sum(axis=1, dtype=np.uint64)
    h ^= words[d]
    s1, m1, s2, m2, s3 = _SPLITMIX
    h ^= h >> s1
    h *= m1
    h ^= h >> s2
    h *= m2
    h ^= h >> s3
    u = (h >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return np.minimum((u * d).astype(np.int64), d - 1)


def _one_row(method, a):
    """``method(a)``, where a 1-D ``a`` is taken as one row (and one row is returned)."""
    if not hasattr(a, "tocsr") and np.ndim(a) == 1:
        return method(np.asarray(a)[None, :])[0]
    return method(a)
