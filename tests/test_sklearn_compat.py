"""scikit-learn sees proper estimators: estimator checks, clone, Pipeline, GridSearchCV.

fastrbm does not depend on scikit-learn at run time (its estimators do not inherit
from ``BaseEstimator``; scikit-learn warns about that when it collects the checks),
but it follows the protocol, and scikit-learn's own check suite says so.
"""
from __future__ import annotations

import pickle
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
