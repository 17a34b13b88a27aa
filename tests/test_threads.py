"""Thread etiquette: what n_threads=None means, the shared BLAS hold, concurrent calls.

The process-wide settings are read through threadpoolctl; every test restores them.
"""
from __future__ import annotations

import os
import threading
import warnings

import numpy as np
import pytest
from conftest import run_python

from fastrbm import RBM, GaussianRBM
from fastrbm._blas_runtime import (BlasHold, available_cores, blas_held_at_one, blas_threads,
                                   openmp_max_threads, resolve_n_threads)

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_counts():
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas"]


def _data(n=600, nv=64, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, nv)) < 0.3).astype(np.float32)


# ----------------------------------------------------------------- n_threads=None
def test_default_is_openmp_max_threads_capped_by_cores():
    assert resolve_n_threads(None) == min(openmp_max_threads(), available_cores())


def test_default_honours_omp_num_threads():
    code = ("from fastrbm._blas_runtime import resolve_n_threads; "
            "print(resolve_n_threads(None))")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = run_python(code, env=env, timeout=120, check=True)
    assert out.stdout.strip() == "1"


def test_default_honours_threadpoolctl_openmp_limit():
    resolve_n_threads(None)         # loads the kernels' OpenMP so threadpoolctl sees it
    if not any(lib["user_api"] == "openmp" for lib in threadpoolctl.threadpool_info()):
        pytest.skip("no OpenMP runtime visible to threadpoolctl (serial build)")
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert resolve_n_threads(None) == 1


def test_default_honours_joblib_worker_limits():
    joblib = pytest.importorskip("joblib")
    if available_cores() < 2:
        pytest.skip("needs two cores for joblib to split them")
    counts = joblib.Parallel(n_jobs=2, backend="loky")(
        joblib.delayed(resolve_n_threads)(None) for _ in range(2))
    # loky gives each of 2 workers cores // 2 OpenMP threads
    assert all(c == max(1, available_cores() // 2) for c in counts)


def test_explicit_count_above_the_cores_is_capped_with_a_warning():
    with pytest.warns(RuntimeWarning, match="exceeds"):
        assert resolve_n_threads(available_cores() + 62) == available_cores()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_n_threads(1) == 1


@pytest.mark.parametrize("bad", [0, -1])
def test_nonpositive_counts_are_refused(bad):
    with pytest.raises(ValueError, match="n_threads"):
        resolve_n_threads(bad)


@pytest.mark.parametrize("bad", [1.5, "2", True])
def test_non_integer_counts_are_refused(bad):
    with pytest.raises(TypeError, match="n_threads"):
        resolve_n_threads(bad)


# ----------------------------------------------------------------- the BLAS hold
def test_hold_at_one_sets_one_and_restores_the_callers_setting():
    for start in (2, 1):
        with threadpoolctl.threadpool_limits(start, user_api="blas"):
            before = _blas_counts()
            with blas_held_at_one():
                assert all(c == 1 for c in _blas_counts())
            assert _blas_counts() == before


def test_hold_never_raises_blas_above_the_callers_setting():
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        with blas_threads(available_cores()):
            assert all(c == 1 for c in _blas_counts())
        with BlasHold(None):
            assert all(c == 1 for c in _blas_counts())
        assert all(c == 1 for c in _blas_counts())


def test_estimators_leave_a_callers_blas_limit_alone():
    X = _data()
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        for backend in ("cython", "numpy"):
            m = RBM(16, n_iter=1, random_state=0, backend=backend).fit(X)
            m.transform(X)
            assert all(c == 1 for c in _blas_counts())


def test_nested_holds_share_the_outer_setting_and_restore_once():
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_counts()
        with blas_held_at_one():
            with blas_held_at_one():
                assert all(c == 1 for c in _blas_counts())
            assert all(c == 1 for c in _blas_counts())     # the outer hold still holds
        assert _blas_counts() == before


def test_a_hold_takes_effect_from_any_python_thread():
    # threadpoolctl >= 3.8 lets only a "controlling" Python thread change OpenBLAS's
    # pool; a hold in the main thread must not keep that control from later holders
    # in other threads, nor from the caller's own limits afterwards
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_counts()
        if max(before, default=1) < 2:
            pytest.skip("BLAS runs one thread here")
        with blas_held_at_one():
            assert set(_blas_counts()) == {1}
        seen = []

        def worker():
            with blas_held_at_one():
                seen.append(_blas_counts())

        t = threading.Thread(target=worker)
        t.start()
        t.join(30)
        assert seen and set(seen[0]) == {1}
        assert _blas_counts() == before
        with threadpoolctl.threadpool_limits(1, user_api="blas"):
            assert set(_blas_counts()) == {1}
        assert _blas_counts() == before


def test_a_hold_wanting_another_setting_waits_for_the_holders():
    entered = threading.Event()
    release = threading.Event()
    seen = []

    def holder():
        with blas_held_at_one():
            entered.set()
            release.wait(30)

    def other():
        with BlasHold(None):
            seen.append(_blas_counts())

    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_counts()
        t1 = threading.Thread(target=holder)
        t1.start()
        assert entered.wait(30)
        t2 = threading.Thread(target=other)
        t2.start()
        t2.join(0.5)
        assert t2.is_alive() and not seen       # waiting: BLAS is held at one
        release.set()
        t1.join(30)
        t2.join(30)
        assert seen == [before]                 # ran with the caller's setting
        assert _blas_counts() == before


# ----------------------------------------------------------------- concurrent calls
def _fit(model, X):
    return model.fit(X).components_.copy()


@pytest.mark.parametrize("n_threads", [1, None])
def test_separate_models_fitted_at_once_equal_fits_one_after_another(n_threads):
    # big enough for the epoch kernel to split its work over two threads
    X1, X2 = _data(600, 100, seed=1), _data(600, 100, seed=2)
    G = np.random.default_rng(3).standard_normal((600, 100)).astype(np.float32)

    def models():
        return [RBM(64, n_iter=3, batch_size=50, random_state=1, n_threads=n_threads),
                RBM(64, n_iter=3, batch_size=50, random_state=2, n_threads=n_threads,
                    persistent=True, momentum=0.0),
                GaussianRBM(64, n_iter=3, random_state=3, n_threads=n_threads),
                RBM(64, n_iter=2, batch_size=50, random_state=4, backend="numpy",
                    n_threads=n_threads)]

    data = [X1, X2, G, X1]
    sequential = [_fit(m, X) for m, X in zip(models(), data)]
    results = [None] * 4
    ms = models()

    def run(i):
        results[i] = _fit(ms[i], data[i])

    for _ in range(3):
        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for got, want in zip(results, sequential):
            np.testing.assert_array_equal(got, want)


def test_one_fitted_model_shared_for_inference_by_threads():
    X = _data(2000, 100)
    model = RBM(64, n_iter=2, random_state=0).fit(X)
    want = (model.transform(X), model.free_energy(X), model.inverse_transform(model.transform(X)))
    errors = []

    def run():
        try:
            for _ in range(5):
                got = (model.transform(X), model.free_energy(X),
                       model.inverse_transform(model.transform(X)))
                for g, w in zip(got, want):
                    np.testing.assert_array_equal(g, w)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


@pytest.mark.parametrize("kw", [{}, {"persistent": True, "k": 2},
                                {"visible": "gaussian", "learn_sigma": True},
                                {"hidden": "stepped", "n_copies": 3, "sparsity_cost": 0.1}])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_does_not_depend_on_the_thread_count(kw, dtype):
    # the epoch's chunks are fixed by the shapes, so 1 and 2 threads give the same bits
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((400, 96)) if "visible" in kw
         else (rng.random((400, 96)) < 0.3)).astype(dtype)
    W = [RBM(80, n_iter=2, batch_size=40, random_state=5, n_threads=n, dtype=dtype, **kw)
         .fit(X).components_ for n in (1, min(2, available_cores()))]
    np.testing.assert_array_equal(W[0], W[1])
