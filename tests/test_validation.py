"""Input checks of the estimators: the right error, naming the argument, model untouched.

Also the other side of the contract: every input form that *should* work (sparse,
integer, boolean, F-ordered, strided, read-only, lists) works and gives exactly what
the equivalent dense C-ordered float array gives.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fastrbm import RBM, BernoulliRBM, GaussianRBM
from fastrbm._constants import MAX_COPIES
from fastrbm._validation import BLAS_INT_MAX, check_data

PARAMS = ("components_", "intercept_hidden_", "intercept_visible_", "sigma_")


def _binary(n=40, d=6, seed=0):
    return (np.random.default_rng(seed).random((n, d)) < 0.4).astype(np.float64)


def _snapshot(model):
    """Copies of everything a refused call must leave alone."""
    snap = {name: getattr(model, name).copy() for name in PARAMS}
    snap["n_iter_"] = model.n_iter_
    snap["n_features_in_"] = model.n_features_in_
    snap["params"] = model.get_params()
    if model._state is not None:
        snap["mW"] = model._state.mW.copy()
        snap["chains"] = model._state.chains.copy()
    return snap


def _assert_unchanged(model, snap):
    for name in PARAMS:
        np.testing.assert_array_equal(getattr(model, name), snap[name], err_msg=name)
        assert getattr(model, name).dtype == snap[name].dtype
    assert model.n_iter_ == snap["n_iter_"]
    assert model.n_features_in_ == snap["n_features_in_"]
    if "mW" in snap:
        np.testing.assert_array_equal(model._state.mW, snap["mW"])
        np.testing.assert_array_equal(model._state.chains, snap["chains"])


@pytest.fixture
def fitted():
    """A small fitted PCD model with momentum (so momentum and chains are non-trivial)."""
    return RBM(5, persistent=True, batch_size=10, n_iter=2, random_state=0).fit(_binary())


# ------------------------------------------------------------------ bad data
BAD_X = {
    "1-D": (np.zeros(6), ValueError, r"X must be a 2-D array.*Reshape your data"),
    "3-D": (np.zeros((2, 3, 6)), ValueError, r"X must be a 2-D array.*3-D"),
    "0-D": (np.float64(0.5), ValueError, r"X must be a 2-D array"),
    "NaN": (np.where(np.eye(4, 6) > 0, np.nan, 0.0), ValueError, r"X contains NaN or infinity"),
    "inf": (np.where(np.eye(4, 6) > 0, np.inf, 0.0), ValueError, r"X contains NaN or infinity"),
    "-inf": (np.where(np.eye(4, 6) > 0, -np.inf, 0.0), ValueError, r"X contains NaN"),
    "above 1": (np.full((3, 6), 1.5), ValueError, r"X must lie in \[0, 1\]"),
    "negative": (np.full((3, 6), -0.1), ValueError, r"X must lie in \[0, 1\].*Negative"),
    "object (dicts)": (np.array([[{"a": 1}] * 6], dtype=object), TypeError,
                       r"X must hold real numbers"),
    "object (words)": (np.array([["a"] * 6], dtype=object), TypeError, r"X must hold real"),
    "complex": (np.zeros((3, 6), dtype=complex), ValueError, r"Complex data not supported: X"),
    "strings": (np.array([["0"] * 6]), TypeError, r"X must hold real numbers; got dtype <U1"),
    "bytes": (np.array([[b"0"] * 6]), TypeError, r"X must hold real numbers"),
    "datetime": (np.zeros((2, 6), dtype="datetime64[s]"), TypeError, r"X must hold real"),
    "no rows": (np.zeros((0, 6)), ValueError, r"X has 0 sample\(s\)"),
    "no columns": (np.zeros((4, 0)), ValueError, r"X has 0 feature\(s\)"),
    "None": (None, TypeError, r"X must be an array-like"),
    "ragged": ([[0, 1], [1]], TypeError, r"X must be an array-like of numbers"),
}


@pytest.mark.parametrize("case", list(BAD_X))
def test_bad_X_refused_by_fit_on_fresh_model(case):
    X, error, match = BAD_X[case]
    model = RBM(3)
    with pytest.raises(error, match=match):
        model.fit(X)
    assert not hasattr(model, "components_")


@pytest.mark.parametrize("case", list(BAD_X))
@pytest.mark.parametrize("method", ["fit", "partial_fit", "transform", "free_energy",
                                    "score_samples", "reconstruction_error", "gibbs"])
def test_bad_X_leaves_fitted_model_untouched(fitted, case, method):
    X, error, match = BAD_X[case]
    if method == "gibbs":
        match = match.replace("X ", "v ").replace(": X", ": v").replace("^X", "v")
        match = match.replace(r"X must", "v must").replace(r"X has", "v has")
        match = match.replace(r"X contains", "v contains")
    snap = _snapshot(fitted)
    with pytest.raises(error, match=match):
        getattr(fitted, method)(X)
    _assert_unchanged(fitted, snap)


@pytest.mark.parametrize("method", ["partial_fit", "transform", "free_energy",
                                    "score_samples", "reconstruction_error"])
def test_wrong_number_of_features(fitted, method):
    snap = _snapshot(fitted)
    with pytest.raises(ValueError, match="X has 7 features, but RBM is expecting 6 features"):
        getattr(fitted, method)(_binary(d=7))
    _assert_unchanged(fitted, snap)


def test_wrong_number_of_features_names_v_and_H(fitted):
    with pytest.raises(ValueError, match="v has 4 features, but RBM is expecting 6"):
        fitted.gibbs(_binary(d=4))
    with pytest.raises(ValueError, match="H has 6 features, but RBM is expecting 5"):
        fitted.inverse_transform(np.zeros((2, 6)))


def test_gaussian_models_accept_any_real_but_not_nonfinite():
    rng = np.random.default_rng(1)
    Z = 10 * rng.standard_normal((30, 4))
    model = GaussianRBM(3, n_iter=1, random_state=0).fit(Z)     # values far outside [0, 1]
    snap = _snapshot(model)
    Z[3, 2] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        model.partial_fit(Z)
    _assert_unchanged(model, snap)


# ------------------------------------------------------------ large integers
def test_integers_float32_cannot_hold_are_refused(fitted):
    X = np.zeros((3, 6), dtype=np.int64)
    X[1, 1] = 2**24 + 1                   # float32 would round this to 2**24
    snap = _snapshot(fitted)
    with pytest.raises(ValueError, match=r"X holds integers beyond 16777216.*float32"):
        fitted.transform(X)
    _assert_unchanged(fitted, snap)
    with pytest.raises(ValueError, match=r"X holds integers beyond"):
        GaussianRBM(2, dtype="float32").fit(X)
    # float64 holds them exactly: accepted
    GaussianRBM(2, n_iter=1, dtype="float64", random_state=0).fit(X)
    X[1, 1] = 2**53 + 1
    with pytest.raises(ValueError, match=r"X holds integers beyond 9007199254740992"):
        GaussianRBM(2, dtype="float64").fit(X)
    with pytest.raises(ValueError, match=r"X holds integers beyond 9007199254740992"):
        GaussianRBM(2, dtype=None).fit(X.astype(np.uint64))


# ------------------------------------------------------------- 32-bit BLAS
def test_dimensions_beyond_32_bit_blas_are_refused_without_allocating():
    # broadcast views: the shape is huge, the memory one element
    tall = np.broadcast_to(np.float32(0.5), (BLAS_INT_MAX + 1, 2))
    wide = np.broadcast_to(np.float32(0.5), (2, BLAS_INT_MAX + 1))
    for X in (tall, wide):
        with pytest.raises(ValueError, match=r"X is too large for 32-bit BLAS"):
            check_data(X, "X", dtype=np.dtype(np.float32))
        with pytest.raises(ValueError, match=r"too large for 32-bit BLAS"):
            RBM(2).fit(X)
    # the largest legal dimension passes the size check (and only then fails on features)
    edge = np.broadcast_to(np.float32(0.5), (BLAS_INT_MAX, 2))
    with pytest.raises(ValueError, match="features"):
        check_data(edge, "X", dtype=np.dtype(np.float32), n_features=3)


def test_hidden_layer_beyond_32_bit_blas_is_refused():
    with pytest.raises(ValueError, match=r"n_components=2147483648 exceeds what 32-bit BLAS"):
        RBM(BLAS_INT_MAX + 1).fit(_binary())


# ------------------------------------------------------------ hyper-parameters
BAD_PARAMS = [
    (dict(learning_rate=-0.1), ValueError, "learning_rate must be > 0.0"),
    (dict(learning_rate=0.0), ValueError, "learning_rate must be > 0.0"),
    (dict(learning_rate=np.nan), ValueError, "learning_rate must be finite"),
    (dict(learning_rate="fast"), TypeError, "learning_rate must be a real number"),
    (dict(k=0), ValueError, "k must be an int >= 1"),
    (dict(k=1.0), TypeError, "k must be an int >= 1"),
    (dict(k=True), TypeError, "k must be an int"),
    (dict(n_components=0), ValueError, "n_components must be an int >= 1"),
    (dict(batch_size=0), ValueError, "batch_size must be an int >= 1"),
    (dict(n_copies=0), ValueError, "n_copies must be an int >= 1"),
    (dict(n_iter=-1), ValueError, "n_iter must be an int >= 0"),
    (dict(visible="binary"), ValueError, r"visible must be one of \['bernoulli', 'gaussian'\]"),
    (dict(visible=0), TypeError, "visible must be a string"),
    (dict(hidden="relu"), ValueError, r"hidden must be one of \['bernoulli', 'nrelu', 'stepped'\]"),
    (dict(dtype="float16"), ValueError, "dtype must be 'float32' or 'float64'"),
    (dict(dtype="int32"), ValueError, "dtype must be 'float32' or 'float64'"),
    (dict(dtype="no such type"), TypeError, "dtype must be 'float32' or 'float64'"),
    (dict(n_threads=0), ValueError, "n_threads must be None or a positive int"),
    (dict(n_threads=-2), ValueError, "n_threads must be None or a positive int"),
    (dict(n_threads=1.5), TypeError, "n_threads must be None or a positive int"),
    (dict(learn_sigma=True), ValueError, "learn_sigma=True needs visible='gaussian'"),
    (dict(learn_sigma="yes"), TypeError, "learn_sigma must be a bool"),
    (dict(persistent=1), TypeError, "persistent must be a bool"),
    (dict(sample_visible="no"), TypeError, "sample_visible must be None or a bool"),
    (dict(momentum=1.5), ValueError, "momentum must be <= 1.0"),
    (dict(momentum=-0.5), ValueError, "momentum must be >= 0.0"),
    (dict(weight_decay=-1e-4), ValueError, "weight_decay must be >= 0.0"),
    (dict(l1=-1.0), ValueError, "l1 must be >= 0.0"),
    (dict(sparsity_decay=2.0), ValueError, "sparsity_decay must be <= 1.0"),
    (dict(sparsity_cost=-1.0), ValueError, "sparsity_cost must be >= 0.0"),
    (dict(sigma=0.0), ValueError, "sigma must be > 0.0"),
    (dict(min_sigma=0.0), ValueError, "min_sigma must be > 0.0"),
    (dict(sigma_learning_rate=-1.0), ValueError, "sigma_learning_rate must be >= 0.0"),
    (dict(init_scale=-0.01), ValueError, "init_scale must be >= 0.0"),
    (dict(backend="torch"), ValueError, "backend must be 'cython' or 'numpy'"),
    (dict(verbose="loud"), TypeError, "verbose must be an int"),
    (dict(random_state=-1), ValueError, r"random_state must be in \[0, 2\*\*64\)"),
    (dict(random_state="seed"), TypeError, "random_state must be None, an int"),
]


@pytest.mark.parametrize("params, error, match", BAD_PARAMS,
                         ids=[f"{next(iter(p))}={next(iter(p.values()))!r}" for p, _, _ in BAD_PARAMS])
def test_bad_hyper_parameters_refused_before_anything_changes(fitted, params, error, match):
    fresh = RBM(3).set_params(**params)
    with pytest.raises(error, match=match):
        fresh.fit(_binary())
    assert not hasattr(fresh, "components_")

    snap = _snapshot(fitted)
    fitted.set_params(**params)
    with pytest.raises(error, match=match):
        fitted.fit(_binary())
    _assert_unchanged(fitted, snap)
    if "random_state" not in params:        # the seed is only read when a fit starts
        with pytest.raises(error, match=match):
            fitted.partial_fit(_binary())
        _assert_unchanged(fitted, snap)


def test_learn_sigma_accepted_for_gaussian_visible():
    Z = np.random.default_rng(0).standard_normal((20, 3))
    RBM(2, visible="gaussian", learn_sigma=True, n_iter=1, random_state=0).fit(Z)


@pytest.mark.parametrize("method, args, match", [
    ("gibbs", (_binary(3), 0), "n_steps must be an int >= 1"),
    ("gibbs", (_binary(3), 1.5), "n_steps must be an int >= 1"),
    ("sample", (0,), "n_samples must be an int >= 1"),
    ("sample", (2, 0), "n_steps must be an int >= 1"),
])
def test_bad_sampling_arguments(fitted, method, args, match):
    snap = _snapshot(fitted)
    with pytest.raises((ValueError, TypeError), match=match):
        getattr(fitted, method)(*args)
    _assert_unchanged(fitted, snap)


def test_unknown_parameter_name_refused():
    with pytest.raises(ValueError, match="Invalid parameter 'n_hidden' for estimator RBM"):
        RBM().set_params(n_hidden=3)
    # BernoulliRBM is scikit-learn's model: its unit types are not parameters
    with pytest.raises(ValueError, match="Invalid parameter 'visible' for estimator BernoulliRBM"):
        BernoulliRBM().set_params(visible="gaussian")


@pytest.mark.parametrize("method", ["transform", "inverse_transform", "gibbs", "free_energy",
                                    "score_samples", "reconstruction_error", "sample"])
def test_methods_before_fit_raise_not_fitted(method):
    from sklearn.exceptions import NotFittedError

    arg = 3 if method == "sample" else _binary()
    with pytest.raises(NotFittedError, match="This RBM instance is not fitted yet"):
        getattr(RBM(3), method)(arg)


# ------------------------------------------------------- inputs that must work
def _forms(X):
    """Equivalent inputs to a dense C-ordered float64 array of zeros and ones."""
    ro = X.copy()
    ro.setflags(write=False)
    wide = np.zeros((X.shape[0] * 2, X.shape[1] * 3))
    wide[::2, ::3] = X                                   # strided view onto X's values
    return {
        "csr": sp.csr_matrix(X),
        "csc_array": sp.csc_array(X),
        "int64": X.astype(np.int64),
        "uint8": X.astype(np.uint8),
        "bool": X.astype(bool),
        "F-ordered": np.asfortranarray(X),
        "strided": wide[::2, ::3],
        "read-only": ro,
        "list": X.tolist(),
        "object of floats": X.astype(object),
    }


@pytest.mark.parametrize("form", list(_forms(_binary())))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_equivalent_inputs_give_identical_models(form, dtype):
    X = _binary(50, 7, seed=3)
    base = RBM(4, k=2, persistent=True, batch_size=8, n_iter=2, dtype=dtype, random_state=7)
    dense = base.fit(X.astype(dtype))
    other_in = _forms(X)[form]
    other = RBM(**base.get_params()).fit(other_in)
    for name in PARAMS:
        np.testing.assert_array_equal(getattr(other, name), getattr(dense, name), err_msg=name)
    # and the fitted model reads the form identically
    np.testing.assert_array_equal(other.transform(other_in), dense.transform(X.astype(dtype)))
    np.testing.assert_array_equal(other.free_energy(other_in), dense.free_energy(X))
    np.testing.assert_array_equal(other.score_samples(other_in), dense.score_samples(X))
    if isinstance(other_in, np.ndarray) and not other_in.flags.writeable:
        assert not other_in.flags.writeable      # never written to, never made writable


@pytest.mark.parametrize("order", ["C", "F"])
def test_transform_of_strided_and_f_ordered_gaussian_data(order):
    rng = np.random.default_rng(5)
    Z = np.asarray(rng.standard_normal((30, 5)), order=order)
    model = GaussianRBM(4, n_iter=2, batch_size=10, dtype="float64", random_state=0).fit(Z)
    big = np.zeros((60, 10), order=order)
    big[::2, 1::2] = Z
    view = big[::2, 1::2]
    np.testing.assert_array_equal(model.transform(view), model.transform(np.ascontiguousarray(Z)))
    np.testing.assert_array_equal(model.gibbs(view), RBM(**model.get_params()).fit(Z).gibbs(Z))


def test_read_only_parameters_set_by_hand_are_used_not_written():
    model = RBM(3, n_iter=1, random_state=0, dtype="float64").fit(_binary())
    W = model.components_.copy()
    W.setflags(write=False)
    before = W.copy()
    model.components_ = W
    np.testing.assert_array_equal(model.transform(_binary()),
                                  RBM(**model.get_params()).fit(_binary()).transform(_binary()))
    model.partial_fit(_binary())           # training works on a copy of the user's array
    np.testing.assert_array_equal(W, before)
    assert not W.flags.writeable
    assert not np.array_equal(model.components_, before)


def test_dtype_none_follows_data():
    X = _binary()
    assert RBM(2, dtype=None, n_iter=1).fit(X.astype(np.float32)).components_.dtype == np.float32
    assert RBM(2, dtype=None, n_iter=1).fit(X).components_.dtype == np.float64
    assert RBM(2, dtype=None, n_iter=1).fit(X.astype(int)).components_.dtype == np.float64
    assert RBM(2, dtype=None, n_iter=1).fit(X.astype(bool)).components_.dtype == np.float64


def _binary_data():
    return (np.random.default_rng(0).random((60, 7)) < 0.4).astype(np.float64)


def test_n_copies_beyond_the_kernel_limit_is_refused():
    from fastrbm import _kernels
    with pytest.raises(ValueError, match=f"n_copies must be at most {MAX_COPIES}"):
        RBM(4, hidden="stepped", n_copies=1025).fit(_binary_data())
    W = np.zeros((3, 7))
    with pytest.raises(ValueError, match="n_copies must be in"):
        _kernels.hidden_conditional(_binary_data(), W, np.zeros(3), None, 1, 5000, 0, 0, 0,
                                    np.empty((60, 3)), None)
