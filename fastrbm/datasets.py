"""Built-in data: generated in code, nothing to download."""
from __future__ import annotations

import itertools

import numpy as np


def bars_and_stripes(size: int = 4, dtype="float64") -> np.ndarray:
    """Every distinct bars-and-stripes image of ``size`` x ``size`` pixels, flattened.

    Rows are each either all on or all off (stripes), or likewise columns (bars); the
    all-off and all-on images are both, so there are ``2 * 2**size - 2`` distinct
    patterns (30 for 4x4). A model that puts equal mass on each has average
    log-likelihood ``-log(30) = -3.40`` nats; the uniform model ``-16 log 2 = -11.09``.
    """
    if not isinstance(size, int) or size < 1 or size > 12:
        raise ValueError(f"size must be an int in [1, 12]; got {size!r}")
    patterns = set()
    for bits in itertools.product((0, 1), repeat=size):
        col = np.array(bits)[:, None]
        patterns.add(tuple(np.repeat(col, size, axis=1).ravel()))      # stripes (rows)
        patterns.add(tuple(np.repeat(col.T, size, axis=0).ravel()))    # bars (columns)
    return np.array(sorted(patterns), dtype=dtype)


def gaussian_mixture(n_samples: int = 1000, n_features: int = 8, n_components: int = 3,
                     separation: float = 4.0, random_state=0, dtype="float64"):
    """Samples of an isotropic Gaussian mixture with well separated means.

    Returns ``(X, labels, means)``; component means are ``separation`` times random
    unit vectors, each component has identity covariance, weights are equal.
    """
    rng = np.random.default_rng(random_state)
    means = rng.normal(size=(n_components, n_features))
    means *= separation / np.linalg.norm(means, axis=1, keepdims=True)
    labels = rng.integers(0, n_components, size=n_samples)
    X = means[labels] + rng.normal(size=(n_samples, n_features))
    return X.astype(dtype), labels, means
