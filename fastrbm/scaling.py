"""Scaling with fitted statistics, so that new data is scaled as the training data was.

Bernoulli visible units want values in [0, 1] (or binary); Gaussian visible units want
zero mean and unit variance per feature (their sigma then starts right). Each class has
``fit``, ``transform`` and ``fit_transform``, scikit-learn style, and keeps its
statistics as fitted attributes (``*_``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np


def _rows(X, name: str = "X") -> np.ndarray:
    """``X`` as a finite 2-D float64 array, or a ValueError naming ``name``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array; got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return X


class _Fitted:
    """fit_transform and the not-fitted refusal, shared by the scalers."""

    _fitted_attr = ""

    def fit_transform(self, X) -> np.ndarray:
        """``fit(X)``, then ``transform(X)``.

        Parameters
        ----------
        X : array-like (n_samples, n_features)

        Returns
        -------
        ndarray of float64 (n_samples, n_features)
        """
        return self.fit(X).transform(X)

    def _check(self, X) -> np.ndarray:
        if not hasattr(self, self._fitted_attr):
            raise ValueError(f"this {type(self).__name__} is not fitted; call fit first")
        X = _rows(X)
        expected = getattr(self, self._fitted_attr).shape[0]
        if X.shape[1] != expected:
            raise ValueError(f"X has {X.shape[1]} features; this {type(self).__name__} "
                             f"was fitted on {expected}")
        return X


class UnitScaler(_Fitted):
    """Map each feature (or, with ``per_feature=False``, all data) onto [0, 1].

    ``(X - min_) / (max_ - min_)`` with the training minimum and maximum; new data
    outside that range is clipped to [0, 1]. A constant feature maps to 0.

    Parameters
    ----------
    per_feature : bool, default=False
        False (default, right for images): one minimum and maximum over all pixels, so
        the relative brightness of pixels is kept.
    """

    _fitted_attr = "min_"

    def __init__(self, per_feature: bool = False):
        self.per_feature = per_feature

    def fit(self, X) -> "UnitScaler":
        """Record the minimum and maximum of ``X``.

        Parameters
        ----------
        X : array-like (n_samples, n_features)

        Returns
        -------
        self
        """
        X = _rows(X)
        lo, hi = (X.min(0), X.max(0)) if self.per_feature else (X.min(), X.max())
        self.min_ = np.broadcast_to(lo, X.shape[1]).copy()
        self.max_ = np.broadcast_to(hi, X.shape[1]).copy()
        return self

    def transform(self, X) -> np.ndarray:
        """``X`` scaled by the fitted range, clipped to [0, 1].

        Parameters
        ----------
        X : array-like (n_samples, n_features)

        Returns
        -------
        ndarray of float64
        """
        X = self._check(X)
        span = self.max_ - self.min_
        span = np.where(span > 0, span, 1.0)
        return np.clip((X - self.min_) / span, 0.0, 1.0)


class Binarizer(_Fitted):
    """Binary data for Bernoulli units: at a threshold, or stochastically.

    Input is first scaled to [0, 1] by a fitted :class:`UnitScaler`. Then each value
    becomes 1 where it exceeds ``threshold``, or, with ``stochastic=True``, 1 with
    probability the value (Salakhutdinov & Murray's binarised MNIST); a stochastic
    transform is reproducible from ``random_state`` and the call's order.

    Parameters
    ----------
    threshold : float, default=0.5
    stochastic : bool, default=False
    random_state : int or None, default=None
        Seed of the stochastic draws; each ``transform`` call continues the stream.
    """

    _fitted_attr = "min_"

    def __init__(self, threshold: float = 0.5, stochastic: bool = False,
                 random_state: Optional[int] = None):
        if not (isinstance(threshold, (int, float)) and 0.0 <= threshold <= 1.0):
            raise ValueError(f"threshold must be a number in [0, 1]; got {threshold!r}")
        self.threshold = float(threshold)
        self.stochastic = bool(stochastic)
        self.random_state = random_state

    def fit(self, X) -> "Binarizer":
        """Record the range of ``X`` (see :class:`UnitScaler`).

        Parameters
        ----------
        X : array-like (n_samples, n_features)

        Returns
        -------
        self
        """
        scaler = UnitScaler().fit(X)
        self.min_, self.max_ = scaler.min_, scaler.max_
        self._scaler = scaler
        self._rng = np.random.default_rng(self.random_state)
        return self

    def transform(self, X) -> np.ndarray:
        """``X`` in {0, 1}.

        Parameters
        ----------
        X : array-like (n_samples, n_features)

        Returns
        -------
        ndarray of float64
        """
        P = self._scaler.transform(self._check(X))
        if self.stochastic:
            return (self._rng.random(P.shape) < P).astype(np.float64)
        return (P > self.threshold).astype(np.float64)


class Standardizer(_Fitted):
    """Zero mean and unit variance per feature, for Gaussian visible units.

    ``(X - mean_) / scale_``; a constant feature has ``scale_`` 1. ``inverse_transform``
    maps model samples back to the data's units.
    """

    _fitted_attr = "mean_"

    def fit(self, X) -> "Standardizer":
        """Record the mean and standard deviation of each feature.

        Parameters
        ----------
        X : array-like (n_samples, n_features)

        Returns
        -------
        self
        """
        X = _rows(X)
        self.mean_ = X.mean(0)
        std = X.std(0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X) -> np.ndarray:
        """``X`` standardised with the fitted statistics.

        Parameters
        ----------
        X : array-like (n_samples, n_features)

        Returns
        -------
        ndarray of float64
        """
        return (self._check(X) - self.mean_) / self.scale_

    def inverse_transform(self, Z) -> np.ndarray:
        """Standardised rows back in the data's units.

        Parameters
        ----------
        Z : array-like (n_samples, n_features)

        Returns
        -------
        ndarray of float64
        """
        return self._check(Z) * self.scale_ + self.mean_
