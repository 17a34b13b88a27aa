"""scikit-learn sees proper estimators: estimator checks, clone, Pipeline, GridSearchCV.

fastrbm does not depend on scikit-learn at run time (its estimators do not inherit
from ``BaseEstimator``; scikit-learn warns about that when it collects the checks),
but it follows the protocol, and scikit-learn's own check suite says so.
"""
from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from conftest import run_python

from fastrbm import DBN, RBM, BernoulliRBM, GaussianRBM
from fastrbm.rbm import DataRangeWarning

# Checks whose data are real numbers outside [0, 1]. Bernoulli visible units model
# probabilities, and RBM refuses such data with a ValueError (a deliberate choice:
# scikit-learn's BernoulliRBM trains on them). scikit-learn has no tag for "inputs in
# [0, 1]" (only positive_only, which shifts data to >= 0 but not <= 1), so these
# checks cannot feed a Bernoulli-visible RBM valid data. The same checks pass for
# Gaussian visible units below, which share every protocol code path, and for
# BernoulliRBM, the drop-in, which accepts such data with a DataRangeWarning as
# scikit-learn's does (and passes every check: no expected failures).
_OUT_OF_RANGE = (
    "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input",
    "check_n_features_in_after_fitting", "check_estimators_dtypes",
    "check_pipeline_consistency", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_transformer_data_not_an_array",
    "check_transformer_general", "check_transformer_preserve_dtypes",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_fit2d_1sample", "check_fit2d_1feature", "check_dict_unchanged",
    "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in",
    "check_fit2d_predict1d",
)
_RANGE_REASON = ("data outside [0, 1] are refused for Bernoulli visible units; "
                 "scikit-learn has no tag for [0, 1]-bounded input")


def expected_failed_checks(estimator) -> dict:
    """Checks that cannot pass, with the reason (see the comment above)."""
    if getattr(estimator, "visible", "bernoulli") == "gaussian" or isinstance(
            estimator, BernoulliRBM):
        return {}
    return {name: _RANGE_REASON for name in _OUT_OF_RANGE}


ESTIMATORS = [
    BernoulliRBM(n_components=8, n_iter=3, random_state=0),
    RBM(n_components=8, n_iter=3, random_state=0),
    RBM(n_components=8, visible="gaussian", hidden="stepped", n_copies=3, k=2, n_iter=3,
        random_state=0),
    RBM(n_components=8, visible="gaussian", persistent=True, learn_sigma=True, n_iter=3,
        dtype=None, random_state=0),
    GaussianRBM(n_components=8, n_iter=3, random_state=0),
]

with warnings.catch_warnings():
    # "does not inherit from BaseEstimator": by design (no run-time dependency)
    warnings.filterwarnings("ignore", message=".*does not inherit from", category=UserWarning)
    _checks = parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)


# the checks feed BernoulliRBM data outside [0, 1]: its warning is expected there
@pytest.mark.filterwarnings("ignore::fastrbm.rbm.DataRangeWarning")
@_checks
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_expected_failures_are_only_the_out_of_range_ones():
    """The Bernoulli checks listed as failing do fail, and only for the documented reason."""
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(RBM(8, n_iter=2, random_state=0), on_fail=None)
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    assert set(failed) == set(_OUT_OF_RANGE)
    for exc in failed.values():
        assert "must lie in [0, 1] for Bernoulli visible units" in str(exc)


def test_bernoulli_rbm_passes_every_check_and_warns_where_rbm_refuses():
    """The drop-in passes all of check_estimator; the data RBM refuses, it is warned
    about (the checks feed data outside [0, 1], so the warning must have been said)."""
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = check_estimator(BernoulliRBM(8, n_iter=2, random_state=0), on_fail=None)
    assert [r["check_name"] for r in results if r["status"] == "failed"] == []
    assert {r["check_name"] for r in results if r["status"] == "passed"} >= set(_OUT_OF_RANGE)
    assert any(issubclass(w.category, DataRangeWarning) for w in caught)


# scikit-learn runs these from its own test suite, not from check_estimator; a
# Bernoulli-visible RBM is left out (their data are normal, so it refuses them).
FEATURE_NAME_ESTIMATORS = [
    BernoulliRBM(n_components=8, n_iter=2, random_state=0),
    RBM(n_components=8, visible="gaussian", hidden="nrelu", n_iter=2, random_state=0),
    GaussianRBM(n_components=8, n_iter=2, random_state=0),
    DBN([6, 4], visible="gaussian", rbm_params=dict(n_iter=2), random_state=0),
]


@pytest.mark.parametrize("estimator", FEATURE_NAME_ESTIMATORS, ids=repr)
@pytest.mark.parametrize("check", [
    "check_dataframe_column_names_consistency",
    "check_transformer_get_feature_names_out",
    "check_transformer_get_feature_names_out_pandas"])
def test_scikit_learn_feature_name_checks(estimator, check):
    from sklearn.utils import estimator_checks

    if check != "check_transformer_get_feature_names_out":
        pytest.importorskip("pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRangeWarning)
        getattr(estimator_checks, check)(type(estimator).__name__, estimator)


# ---------------------------------------------------------------------- clone
def test_clone_gives_an_unfitted_copy_with_the_same_parameters():
    X = (np.random.default_rng(0).random((30, 6)) < 0.5).astype(float)
    for model in (RBM(5, hidden="nrelu", k=2, random_state=3), BernoulliRBM(4, random_state=1),
                  GaussianRBM(3, learn_sigma=True, random_state=2)):
        data = X if not isinstance(model, GaussianRBM) else X - 0.5
        model.set_params(n_iter=2).fit(data)
        copy = clone(model)
        assert type(copy) is type(model)
        assert copy.get_params() == model.get_params()
        assert not hasattr(copy, "components_")
        with pytest.raises(NotFittedError):
            check_is_fitted(copy)
        check_is_fitted(model)
        np.testing.assert_array_equal(copy.fit(data).components_, model.components_)


def test_tags():
    assert get_tags(RBM()).input_tags.sparse
    assert get_tags(RBM()).input_tags.positive_only
    assert not get_tags(GaussianRBM()).input_tags.positive_only
    assert get_tags(RBM()).transformer_tags.preserves_dtype == ["float32"]
    assert get_tags(RBM(dtype="float64")).transformer_tags.preserves_dtype == ["float64"]
    assert set(get_tags(BernoulliRBM()).transformer_tags.preserves_dtype) == {"float32",
                                                                              "float64"}
    assert get_tags(RBM()).target_tags.required is False


def test_pickle_keeps_training_state():
    """A pickled model continues exactly as the original would (momentum, chains)."""
    X = (np.random.default_rng(0).random((40, 6)) < 0.5).astype(float)
    model = RBM(4, persistent=True, momentum=0.8, batch_size=8, n_iter=2, random_state=0).fit(X)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.transform(X), model.transform(X))
    np.testing.assert_array_equal(copy.gibbs(X), model.gibbs(X))
    model.partial_fit(X)
    copy.partial_fit(X)
    np.testing.assert_array_equal(copy.components_, model.components_)


# ---------------------------------------------------------- Pipeline / search
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0)


# LogisticRegression's many tiny BLAS calls crawl with 2 BLAS threads on a shared
# machine (seconds instead of a tenth); one thread changes the speed only.
@pytest.mark.parametrize("rbm", [
    BernoulliRBM(n_components=64, learning_rate=0.06, n_iter=10, random_state=0),
    RBM(n_components=64, learning_rate=0.05, batch_size=20, n_iter=10, random_state=0),
], ids=["BernoulliRBM", "RBM"])
def test_pipeline_with_logistic_regression_on_digits(digits, rbm):
    X_train, X_test, y_train, y_test = digits
    pipe = Pipeline([("rbm", rbm), ("logistic", LogisticRegression(max_iter=1000))])
    with threadpool_limits(1, user_api="blas"):
        pipe.fit(X_train, y_train)
        accuracy = pipe.score(X_test, y_test)
    # chance is 0.1; 64 RBM features reach about 0.8 (raw pixels about 0.96)
    assert accuracy > 0.7
    assert pipe.named_steps["rbm"].components_.shape == (64, 64)


def test_grid_search(digits):
    X_train, _, y_train, _ = digits
    pipe = Pipeline([("rbm", BernoulliRBM(n_iter=3, random_state=0)),
                     ("logistic", LogisticRegression(max_iter=300))])
    grid = {"rbm__n_components": [8, 32], "rbm__learning_rate": [0.02, 0.1]}
    with threadpool_limits(1, user_api="blas"):
        search = GridSearchCV(pipe, grid, cv=2).fit(X_train[:600], y_train[:600])
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_.named_steps["rbm"]
    assert best.n_components == search.best_params_["rbm__n_components"]
    assert best.learning_rate == search.best_params_["rbm__learning_rate"]
    assert best.components_.shape == (best.n_components, 64)
    # the searched estimator itself was cloned, never fitted
    assert not hasattr(pipe.named_steps["rbm"], "components_")


# ------------------------------------------------------------- feature names
def _binary(n=40, d=5, seed=0):
    return (np.random.default_rng(seed).random((n, d)) < 0.5).astype(float)


def _frame(X, names=None):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])] if names is None
                        else names)


def _methods(model):
    """Every method of a fitted model that takes data (as scikit-learn checks them)."""
    calls = {"transform": model.transform, "free_energy": model.free_energy,
             "reconstruction_error": model.reconstruction_error,
             "gibbs": model.gibbs, "partial_fit": model.partial_fit}
    if hasattr(model, "score_samples"):
        calls["score_samples"] = model.score_samples
    return calls


MODELS = {
    "RBM": lambda: RBM(4, n_iter=2, random_state=0),
    "BernoulliRBM": lambda: BernoulliRBM(4, n_iter=2, random_state=0),
    "GaussianRBM": lambda: GaussianRBM(4, n_iter=2, random_state=0),
}


@pytest.mark.parametrize("make", list(MODELS.values()), ids=list(MODELS))
def test_dataframe_names_are_recorded_and_checked(make):
    X = _binary()
    df = _frame(X)
    model = make().fit(df)
    assert isinstance(model.feature_names_in_, np.ndarray)
    assert model.feature_names_in_.dtype == object
    assert list(model.feature_names_in_) == list(df.columns)
    cls = type(model).__name__
    for name, method in _methods(model).items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            method(df)                                         # same names: silent
        with pytest.warns(UserWarning, match=f"X does not have valid feature names, but "
                                             f"{cls} was fitted with feature names"):
            method(X)
        with pytest.raises(ValueError, match="Feature names must be in the same order as "
                                             "they were in fit"):
            method(df[df.columns[::-1]])
        renamed = _frame(X, ["f0", "f1", "g2", "f3", "f4"])
        with pytest.raises(ValueError, match=r"should match those that were passed during "
                                             r"fit.\nFeature names unseen at fit time:\n- g2\n"
                                             r"Feature names seen at fit time, yet now "
                                             r"missing:\n- f2\n"):
            method(renamed)
        # a missing column is reported by name, before the count of features
        with pytest.raises(ValueError, match=r"yet now missing:\n- f3\n- f4\n"):
            method(df[["f0", "f1", "f2"]])


def test_names_seen_only_later_warn_and_refits_forget_them():
    X = _binary()
    df = _frame(X)
    model = RBM(4, n_iter=1, random_state=0).fit(X)
    assert not hasattr(model, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but RBM was fitted without "
                                         "feature names"):
        model.transform(df)
    model.fit(df)
    assert hasattr(model, "feature_names_in_")
    model.fit(X)                        # a new dataset without names: the old names go
    assert not hasattr(model, "feature_names_in_")
    model.init_params(df)
    assert list(model.feature_names_in_) == list(df.columns)


def test_partial_fit_records_names_on_the_first_call_only():
    X = _binary()
    df = _frame(X)
    model = BernoulliRBM(4, random_state=0)
    model.partial_fit(df)
    assert list(model.feature_names_in_) == list(df.columns)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        model.partial_fit(df[df.columns[::-1]])
    # a second partial_fit does not reset: a frame without names is warned about
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.partial_fit(X)
    assert list(model.feature_names_in_) == list(df.columns)


def test_refused_data_leave_the_names_as_they_were():
    X = _binary()
    model = RBM(4, n_iter=1, random_state=0).fit(_frame(X))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(_frame(bad, ["a", "b", "c", "d", "e"]))
    assert list(model.feature_names_in_) == ["f0", "f1", "f2", "f3", "f4"]


def test_only_all_string_names_count():
    X = _binary()
    model = RBM(4, n_iter=1, random_state=0)
    model.fit(_frame(X, list(range(5))))          # integer columns: no names
    assert not hasattr(model, "feature_names_in_")
    with pytest.raises(TypeError, match="Feature names are only supported if all input "
                                        "features have string names"):
        model.fit(_frame(X, ["a", "b", 3, "d", "e"]))


def test_no_spurious_warnings_when_fitted_on_a_frame():
    """Internal passes over data already converted (verbose lines, reconstruction_error,
    fit_transform, DBN layers) must not take the array for a frame without names."""
    X = _binary(60, 6)
    df = _frame(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for model in (RBM(4, n_iter=2, verbose=1, random_state=0),
                      BernoulliRBM(4, n_iter=2, verbose=1, random_state=0)):
            model.fit_transform(df)
            model.reconstruction_error(df)
        dbn = DBN([4, 3], rbm_params=dict(n_iter=2), random_state=0)
        dbn.fit_transform(df)
        dbn.reconstruct(df)
        dbn.log_likelihood_bound(df)
    assert list(dbn.feature_names_in_) == list(df.columns)
    assert not any(hasattr(r, "feature_names_in_") for r in dbn.rbms_)
    from fastrbm import evaluation, sbn

    model = BernoulliRBM(4, n_iter=2, random_state=0).fit(df)
    functions = {
        "log_likelihood": lambda data: evaluation.log_likelihood(model, data, n_runs=4),
        "log_likelihood_exact": lambda data: evaluation.log_likelihood_exact(model, data),
        "pseudo_likelihood": lambda data: evaluation.pseudo_likelihood(model, data,
                                                                       exact=False),
        "reconstruction_error": lambda data: evaluation.reconstruction_error(model, data),
        "learning_rule": lambda data: sbn.learning_rule(model, data, depth=3)}
    for name, function in functions.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            function(df)
            assert caught == [], name
            function(X)                     # the one warning the caller is owed
        assert [str(w.message) for w in caught] == [
            "X does not have valid feature names, but BernoulliRBM was fitted with "
            "feature names"], name
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        dbn.transform(df[df.columns[::-1]])
    with pytest.warns(UserWarning, match="X does not have valid feature names, but DBN"):
        dbn.transform(X)


def test_feature_names_need_neither_scikit_learn_nor_pandas_imported_by_fastrbm():
    """scikit-learn is optional at run time: block it and check names in a subprocess."""
    pytest.importorskip("pandas")
    code = (
        "import sys, warnings\n"
        "sys.modules['sklearn'] = None\n"           # any import of sklearn now fails
        "import fastrbm, numpy as np\n"
        "assert 'pandas' not in sys.modules\n"
        "import pandas as pd\n"
        "X = (np.random.default_rng(0).random((20, 3)) < 0.5).astype(float)\n"
        "df = pd.DataFrame(X, columns=['a', 'b', 'c'])\n"
        "m = fastrbm.BernoulliRBM(2, n_iter=1, random_state=0).fit(df)\n"
        "print(list(m.feature_names_in_), list(m.get_feature_names_out()))\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    m.transform(X)\n"
        "print(w[0].message)\n"
        "try:\n"
        "    m.transform(df[['c', 'b', 'a']])\n"
        "except ValueError as e:\n"
        "    print(str(e).splitlines()[-1])\n")
    out = run_python(code, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "['a', 'b', 'c'] ['bernoullirbm0', 'bernoullirbm1']",
        "X does not have valid feature names, but BernoulliRBM was fitted with feature names",
        "Feature names must be in the same order as they were in fit."]


# --------------------------------------------------------- get_feature_names_out
@pytest.mark.parametrize("model, prefix, width", [
    (RBM(3, n_iter=1, random_state=0), "rbm", 3),
    (BernoulliRBM(5, n_iter=1, random_state=0), "bernoullirbm", 5),
    (GaussianRBM(2, n_iter=1, random_state=0), "gaussianrbm", 2),
    (DBN([4, 2], rbm_params=dict(n_iter=1), random_state=0), "dbn", 2),
], ids=["RBM", "BernoulliRBM", "GaussianRBM", "DBN"])
def test_get_feature_names_out(model, prefix, width):
    with pytest.raises(NotFittedError):
        model.get_feature_names_out()
    X = _binary(30, 6)
    out = model.fit(X).get_feature_names_out()
    assert out.dtype == object
    assert list(out) == [f"{prefix}{i}" for i in range(width)]
    assert model.transform(X).shape[1] == width
    assert list(model.get_feature_names_out([f"x{i}" for i in range(6)])) == list(out)
    with pytest.raises(ValueError, match=r"input_features should have length equal to "
                                         r"number of features \(6\), got 2"):
        model.get_feature_names_out(["a", "b"])


def test_get_feature_names_out_checks_input_features_against_the_names_seen():
    df = _frame(_binary())
    model = BernoulliRBM(3, n_iter=1, random_state=0).fit(df)
    assert list(model.get_feature_names_out(list(df.columns))) == [
        "bernoullirbm0", "bernoullirbm1", "bernoullirbm2"]
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        model.get_feature_names_out([f"g{i}" for i in range(5)])


def test_pipeline_get_feature_names_out():
    df = _frame(_binary())
    pipe = Pipeline([("rbm", BernoulliRBM(3, n_iter=1, random_state=0))]).fit(df)
    assert list(pipe.get_feature_names_out()) == ["bernoullirbm0", "bernoullirbm1",
                                                  "bernoullirbm2"]
    assert list(pipe.feature_names_in_) == list(df.columns)


# ---------------------------------------------- data outside [0, 1]: warn or refuse
def _out_of_range(n=30, d=5, seed=0):
    return 3 * np.random.default_rng(seed).standard_normal((n, d))


def _range_warnings(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [w for w in caught if issubclass(w.category, DataRangeWarning)]


def test_bernoulli_rbm_warns_once_per_call_about_data_outside_0_1():
    Z = _out_of_range()
    assert issubclass(DataRangeWarning, UserWarning)
    model = BernoulliRBM(4, n_iter=3, random_state=0)
    calls = {"fit": lambda: model.fit(Z), "partial_fit": lambda: model.partial_fit(Z),
             "fit_transform": lambda: model.fit_transform(Z),
             "verbose fit": lambda: model.set_params(verbose=1).fit(Z),
             "transform": lambda: model.transform(Z),
             "free_energy": lambda: model.free_energy(Z),
             "score_samples": lambda: model.score_samples(Z),
             "reconstruction_error": lambda: model.reconstruction_error(Z),
             "gibbs": lambda: model.gibbs(Z),
             "_mean_hiddens": lambda: model._mean_hiddens(Z[0])}
    for name, call in calls.items():
        caught = _range_warnings(call)
        assert len(caught) == 1, name
        message = str(caught[0].message)
        assert "values in [" in message and "expect values in [0, 1]" in message
        assert caught[0].filename == __file__, name        # points at the caller's line
        model.set_params(verbose=0)
    # data in [0, 1] are not warned about
    assert _range_warnings(lambda: model.fit(_binary()).transform(_binary())) == []


def test_bernoulli_rbm_trains_on_such_data_and_rbm_refuses_them():
    Z = _out_of_range(60, 6)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\] for Bernoulli visible units"):
        RBM(4, n_iter=1).fit(Z)
    for backend in ("cython", "numpy"):
        with pytest.warns(DataRangeWarning):
            model = BernoulliRBM(4, n_iter=3, random_state=0, backend=backend).fit(Z)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataRangeWarning)
            for out in (model.components_, model.transform(Z), model.free_energy(Z),
                        model.score_samples(Z), model.gibbs(Z)):
                assert np.all(np.isfinite(out))
    # NaN and infinity are still refused, and the model is left as it was
    before = model.components_.copy()
    for bad in (np.nan, np.inf):
        Zb = Z.copy()
        Zb[1, 2] = bad
        with pytest.raises(ValueError, match="NaN or infinity"):
            model.partial_fit(Zb)
    np.testing.assert_array_equal(model.components_, before)


def test_out_of_range_data_give_the_same_model_on_both_backends():
    """The kernels take such values as plain numbers, as the NumPy reference does."""
    Z = _out_of_range(64, 6, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRangeWarning)
        fast = BernoulliRBM(5, n_iter=3, random_state=2, backend="cython").fit(Z)
        slow = BernoulliRBM(5, n_iter=3, random_state=2, backend="numpy").fit(Z)
        np.testing.assert_allclose(fast.components_, slow.components_, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(fast.h_samples_, slow.h_samples_)
        np.testing.assert_allclose(fast.score_samples(Z), slow.score_samples(Z), rtol=1e-10)


def test_check_data_out_of_range_options():
    from fastrbm._validation import check_data, data_checked

    Z = _out_of_range()
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        check_data(Z, bernoulli=True)
    with pytest.warns(DataRangeWarning, match=r"Bernoulli visible units of Est expect"):
        out = check_data(Z, bernoulli=True, out_of_range="warn", estimator="Est")
    np.testing.assert_array_equal(out, Z)
    assert _range_warnings(lambda: check_data(Z, bernoulli=False, out_of_range="warn")) == []
    with pytest.raises(ValueError, match="out_of_range must be 'raise' or 'warn'"):
        check_data(Z, bernoulli=True, out_of_range="ignore")
    # data_checked silences this thread only
    import threading

    def other_thread():
        check_data(Z, bernoulli=True, out_of_range="warn")

    def quiet_here():
        with data_checked():
            check_data(Z, bernoulli=True, out_of_range="warn")
            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join()
        check_data(Z, bernoulli=True, out_of_range="warn")
    assert len(_range_warnings(quiet_here)) == 2


# ------------------------------------------------ BernoulliRBM as scikit-learn's
def test_score_samples_draws_from_random_state_at_each_call():
    X = _binary(50, 8)
    model = BernoulliRBM(6, n_iter=5, random_state=3).fit(X)
    np.testing.assert_array_equal(model.score_samples(X), model.score_samples(X))
    model.random_state = 11
    first = model.score_samples(X)
    assert not np.array_equal(first, BernoulliRBM(**model.get_params()).set_params(
        random_state=3).fit(X).score_samples(X))
    model.random_state = np.random.RandomState(0)
    a, b = model.score_samples(X), model.score_samples(X)
    assert not np.array_equal(a, b)                         # a RandomState advances
    model.random_state = np.random.RandomState(0)
    np.testing.assert_array_equal(model.score_samples(X), a)  # ... reproducibly
    # scoring changes nothing in the model: the next Gibbs draws are the same
    twin = pickle.loads(pickle.dumps(model))
    model.score_samples(X)
    np.testing.assert_array_equal(model.gibbs(X), twin.gibbs(X))


def test_score_samples_of_a_row_depends_on_its_values_not_its_place():
    X = _binary(40, 7, seed=5)
    model = BernoulliRBM(5, n_iter=4, random_state=0).fit(X)
    full = model.score_samples(X)
    order = np.random.default_rng(1).permutation(len(X))
    np.testing.assert_allclose(model.score_samples(X[order]), full[order], rtol=1e-12)
    np.testing.assert_allclose(model.score_samples(X[7:9]), full[7:9], rtol=1e-12)
    # float32 data of the same values choose the same sites
    m32 = BernoulliRBM(5, n_iter=4, random_state=0).fit(X.astype(np.float32))
    np.testing.assert_allclose(m32.score_samples(X.astype(np.float32)),
                               m32.score_samples(X.astype(np.float32)[order])[
                                   np.argsort(order)], rtol=1e-6)


def test_verbose_prints_scikit_learns_line(capsys):
    X = _binary(40, 6)
    rs = np.random.RandomState(7)
    quiet = BernoulliRBM(4, n_iter=3, random_state=np.random.RandomState(7)).fit(X)
    model = BernoulliRBM(4, n_iter=3, verbose=1, random_state=rs).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines, 1):
        assert re.fullmatch(rf"\[BernoulliRBM\] Iteration {i}, pseudo-likelihood = "
                            r"-?\d+\.\d\d, time = \d+\.\d\ds", line), line
    # printing draws nothing from random_state and changes nothing in the model
    np.testing.assert_array_equal(model.components_, quiet.components_)
    assert rs.randint(2**31) == quiet.random_state.randint(2**31)


def test_scikit_learns_private_helpers():
    X = _binary(30, 6)
    model = BernoulliRBM(4, n_iter=3, random_state=0).fit(X)
    np.testing.assert_array_equal(model._mean_hiddens(X), model.transform(X))
    np.testing.assert_array_equal(model._mean_hiddens(X[0]), model.transform(X[:1])[0])
    np.testing.assert_array_equal(model._free_energy(X), model.free_energy(X))
    assert model._free_energy(X[0]) == model.free_energy(X[:1])[0]
    rng = np.random.RandomState(0)
    h = model._sample_hiddens(X, rng)
    assert h.shape == (30, 4) and h.dtype == bool
    v = model._sample_visibles(h, rng)
    assert v.shape == (30, 6) and v.dtype == bool
    # the draws are rng's: the same generator state gives the same sample
    np.testing.assert_array_equal(model._sample_hiddens(X, np.random.RandomState(5)),
                                  model._sample_hiddens(X, np.random.RandomState(5)))
    mean = np.mean([model._sample_hiddens(X[0], rng) for _ in range(2000)], axis=0)
    np.testing.assert_allclose(mean, model._mean_hiddens(X[0]), atol=0.05)
