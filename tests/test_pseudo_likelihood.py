"""Exact pseudo-likelihood in the kernels (issue 13, item 3): equal to the NumPy
implementation and to flips of the free energy, for every hidden unit type and dtype,
independent of the thread count; the estimator and evaluation faces; refusals."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import make_data, make_params

from fastrbm import RBM, evaluation, ops

UNITS = [("bernoulli", 1), ("stepped", 3), ("nrelu", 1)]
NV, NH = 23, 37          # not multiples of the kernels' 8 partial sums


@pytest.mark.parametrize("hidden,n_copies", UNITS)
def test_kernel_equals_the_numpy_implementation(hidden, n_copies, dtype):
    W, b, c, _ = make_params(1, NV, NH, dtype, weight_scale=1.0)
    V = make_data(2, 40, NV, dtype)
    V[:5] = np.random.default_rng(3).random((5, NV))        # means, not only 0 / 1
    got = ops.pseudo_likelihood(V, W, b, c, hidden=hidden, n_copies=n_copies)
    want = ops.pseudo_likelihood(V, W, b, c, hidden=hidden, n_copies=n_copies,
                                 backend="numpy")
    assert got.dtype == np.float64 and got.shape == (40,)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("hidden,n_copies", UNITS)
def test_each_site_is_a_flip_of_the_free_energy(hidden, n_copies):
    # p(v_i | v_-i) = sigmoid(F(v with i flipped) - F(v)), from ops.free_energy alone
    W, b, c, _ = make_params(4, 7, 5, np.float64, weight_scale=1.5)
    V = make_data(5, 6, 7, np.float64)
    f0 = ops.free_energy(V, W, b, c, hidden=hidden, n_copies=n_copies)
    want = np.zeros(6)
    for i in range(7):
        flipped = V.copy()
        flipped[:, i] = 1 - flipped[:, i]
        d = ops.free_energy(flipped, W, b, c, hidden=hidden, n_copies=n_copies) - f0
        want += -np.logaddexp(0, -d)
    got = ops.pseudo_likelihood(V, W, b, c, hidden=hidden, n_copies=n_copies)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_the_thread_count_changes_nothing():
    W, b, c, _ = make_params(1, 200, 64, np.float32)
    V = make_data(2, 300, 200, np.float32)
    one = ops.pseudo_likelihood(V, W, b, c, n_threads=1)
    two = ops.pseudo_likelihood(V, W, b, c, n_threads=2)
    np.testing.assert_array_equal(one, two)


def test_estimator_and_evaluation_use_it():
    X = make_data(3, 60, NV, np.float32)
    model = RBM(NH, n_iter=2, batch_size=10, random_state=0).fit(X)
    W, b, c = model.components_, model.intercept_visible_, model.intercept_hidden_
    want = ops.pseudo_likelihood(X, W, b, c, backend="numpy")
    np.testing.assert_allclose(model.score_samples(X), want, rtol=1e-11)
    np.testing.assert_allclose(evaluation.pseudo_likelihood(model, X), want, rtol=1e-11)
    model.set_params(backend="numpy")
    np.testing.assert_allclose(model.score_samples(X), want, rtol=1e-14)


def test_bad_arguments_are_refused():
    W, b, c, _ = make_params(1, NV, NH, np.float64)
    V = make_data(2, 4, NV, np.float64)
    for backend in ("cython", "numpy"):
        with pytest.raises((TypeError, ValueError), match="V"):
            ops.pseudo_likelihood(V[:, :-1], W, b, c, backend=backend)
        with pytest.raises((TypeError, ValueError), match="V"):
            ops.pseudo_likelihood(V.astype(np.float32), W, b, c, backend=backend)
        with pytest.raises((TypeError, ValueError), match="c"):
            ops.pseudo_likelihood(V, W, b, c[:-1], backend=backend)
        with pytest.raises(ValueError, match="hidden"):
            ops.pseudo_likelihood(V, W, b, c, hidden="relu", backend=backend)
