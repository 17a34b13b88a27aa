"""RBM.init_params: start a model from given parameters (warm start), then train it."""
import numpy as np
import pytest

from fastrbm import RBM


def _data(seed=0, n=60, nv=7):
    return (np.random.default_rng(seed).random((n, nv)) < 0.4).astype(np.float64)


def test_init_params_without_arrays_equals_fit_with_zero_epochs():
    X = _data()
    a = RBM(5, n_iter=0, random_state=3, dtype="float64").fit(X)
    b = RBM(5, random_state=3, dtype="float64").init_params(X)
    for name in ("components_", "intercept_visible_", "intercept_hidden_", "sigma_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert b.n_iter_ == 0 and b.n_features_in_ == 7


def test_given_parameters_are_copied_and_training_continues_from_them():
    X = _data()
    rng = np.random.default_rng(1)
    W = rng.normal(size=(5, 7))
    bvis, chid = rng.normal(size=7), rng.normal(size=5)
    m = RBM(5, random_state=0, dtype="float64", learning_rate=0.05, batch_size=10)
    m.init_params(X, components=W, intercept_visible=bvis, intercept_hidden=chid)
    np.testing.assert_array_equal(m.components_, W)
    W[0, 0] += 1.0                                   # the model holds its own copy
    assert m.components_[0, 0] != W[0, 0]
    m.partial_fit(X)
    # the same epoch through the NumPy backend from the same start gives the same result
    r = RBM(5, random_state=0, dtype="float64", learning_rate=0.05, batch_size=10,
            backend="numpy")
    W[0, 0] -= 1.0
    r.init_params(X, components=W, intercept_visible=bvis, intercept_hidden=chid)
    r.partial_fit(X)
    np.testing.assert_allclose(m.components_, r.components_, rtol=0, atol=1e-12)
    assert np.abs(m.components_ - W).max() > 1e-3    # it did train


@pytest.mark.parametrize("kwargs,message", [
    (dict(components=np.zeros((4, 7))), "components must have shape"),
    (dict(intercept_visible=np.zeros(6)), "intercept_visible must have shape"),
    (dict(intercept_hidden=np.full(5, np.nan)), "intercept_hidden contains NaN"),
])
def test_bad_arrays_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RBM(5, dtype="float64").init_params(_data(), **kwargs)


def test_sigma_must_be_positive_for_gaussian_units():
    Z = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match="sigma must be positive"):
        RBM(4, visible="gaussian").init_params(Z, sigma=np.array([1.0, 0.0, 1.0]))
    m = RBM(4, visible="gaussian", dtype="float64").init_params(Z, sigma=[0.5, 1.0, 2.0])
    np.testing.assert_array_equal(m.sigma_, [0.5, 1.0, 2.0])

