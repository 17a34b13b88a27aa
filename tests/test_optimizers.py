"""Adam in the fused epoch: kernel against the NumPy reference (same draws), both against
Kingma & Ba's update written out, the optimizer switch, save/load, validation."""
from __future__ import annotations

import dataclasses
import io as pyio

import numpy as np
import pytest
from conftest import (assert_close, assert_samples_equal, assert_setting_refused,
                      epochs_by_backend, make_data, make_params)

from fastrbm import RBM, GaussianRBM, io, ops
from fastrbm.state import TrainState
from fastrbm.units import VISIBLE_UNITS

UNITS = [("bernoulli", "bernoulli", 1), ("bernoulli", "stepped", 4), ("bernoulli", "nrelu", 1),
         ("gaussian", "bernoulli", 1), ("gaussian", "nrelu", 1)]
NV, NH, N = 9, 6, 37


def _adam_settings(visible, hidden, n_copies, persistent=False, **kw):
    base = dict(visible=visible, hidden=hidden, n_copies=n_copies, k=2, persistent=persistent,
                batch_size=10, learning_rate=0.01, weight_decay=1e-3, l1=1e-4,
                sparsity_cost=0.01, learn_sigma=visible == "gaussian", optimizer="adam")
    base.update(kw)
    return ops.training_settings(**base)


def _state(visible, dtype, seed=4):
    # small weights: a Gaussian-NReLU model with large ones has no normalisable
    # distribution, and its persistent chains run off to infinity
    W, b, c, s = make_params(seed, NV, NH, dtype, visible=VISIBLE_UNITS[visible],
                             weight_scale=0.1)
    return ops.training_state(W, b, c, s, n_chains=10)


@pytest.mark.parametrize("visible,hidden,n_copies", UNITS)
@pytest.mark.parametrize("persistent", [False, True])
def test_adam_epochs_equal_the_reference(visible, hidden, n_copies, persistent, dtype):
    hyper = _adam_settings(visible, hidden, n_copies, persistent)
    X = make_data(5, N, NV, dtype, visible=VISIBLE_UNITS[visible], order="F")
    start = _state(visible, dtype)
    kernel, ref = epochs_by_backend(start, hyper, X)
    # Adam's step count is the number of updates
    assert kernel.adam_steps[0] == ref.adam_steps[0] == 12
    for name in ("W", "b", "c", "sigma", "mW", "mb", "mc", "mz", "vW", "vb", "vc", "vz",
                 "chains", "q"):
        got, want = getattr(kernel, name), getattr(ref, name)
        if name == "chains" and not (visible == "gaussian" or hidden == "nrelu"):
            assert_samples_equal(got, want, dtype, max_flips=10)
        else:
            assert_close(got, want, dtype, factor=1e3 if dtype == np.float32 else 100)


def _gradient(state: TrainState, hyper, V, seed, step, backend):
    """The update's gradient at ``state``'s parameters with the draws of (seed, step): one
    SGD step with learning rate 1 and no momentum moves the momentum buffers to it."""
    sgd = dataclasses.replace(hyper, optimizer=0, learning_rate=1.0, momentum=0.0,
                              sigma_learning_rate=1.0)
    probe = state.copy()
    ops.cd_update(probe, sgd, V, seed=seed, step=step, backend=backend)
    return {"W": probe.mW, "b": probe.mb, "c": probe.mc, "z": probe.mz}


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_adam_is_kingma_and_ba_written_out(backend, visible):
    dtype = np.float64
    hyper = _adam_settings(visible, "bernoulli", 1, k=1, beta_1=0.8, beta_2=0.99,
                           epsilon=1e-6, learning_rate=0.05)
    V = make_data(7, 10, NV, dtype, visible=VISIBLE_UNITS[visible])
    state = _state(visible, dtype)
    m = {k: 0.0 for k in "Wbcz"}
    v = {k: 0.0 for k in "Wbcz"}
    expected = {"W": state.W.copy(), "b": state.b.copy(), "c": state.c.copy(),
                "z": 2 * np.log(state.sigma)}
    for t in range(1, 6):
        g = _gradient(state, hyper, V, 11, t, backend)
        ops.cd_update(state, hyper, V, seed=11, step=t, backend=backend)
        for k in "Wbcz":
            if k == "z" and visible != "gaussian":
                continue
            m[k] = hyper.beta_1 * m[k] + (1 - hyper.beta_1) * g[k]
            v[k] = hyper.beta_2 * v[k] + (1 - hyper.beta_2) * g[k] ** 2
            m_hat = m[k] / (1 - hyper.beta_1 ** t)
            v_hat = v[k] / (1 - hyper.beta_2 ** t)
            lr = hyper.sigma_learning_rate if k == "z" else hyper.learning_rate
            expected[k] = expected[k] + lr * m_hat / (np.sqrt(v_hat) + hyper.epsilon)
        assert state.adam_steps[0] == t
        for k, got in (("W", state.W), ("b", state.b), ("c", state.c)):
            np.testing.assert_allclose(got, expected[k], rtol=1e-10, atol=1e-11)
        if visible == "gaussian":
            np.testing.assert_allclose(2 * np.log(state.sigma), expected["z"], rtol=1e-10,
                                       atol=1e-11)


def test_the_first_adam_steps_move_every_weight_by_about_the_learning_rate():
    # with bias correction, |step 1| = lr |g| / (|g| + eps) ~ lr for every weight whose
    # gradient is well above eps: a wrong correction would show as a factor 1 / (1 - b1)
    dtype = np.float64
    hyper = _adam_settings("bernoulli", "bernoulli", 1, weight_decay=0.0, l1=0.0,
                           sparsity_cost=0.0, learning_rate=0.01)
    state = _state("bernoulli", dtype)
    W0 = state.W.copy()
    ops.cd_update(state, hyper, make_data(1, 10, NV, dtype), seed=2, step=0)
    moved = np.abs(state.W - W0)
    big = np.abs(state.mW) > 1e-4
    assert big.sum() > NV * NH // 2
    np.testing.assert_allclose(moved[big], 0.01, rtol=1e-3)


def test_estimator_trains_with_adam_and_the_backends_agree():
    X = make_data(3, 60, NV, np.float64)
    models = [RBM(NH, optimizer="adam", learning_rate=0.02, n_iter=4, batch_size=10,
                  random_state=5, dtype="float64", backend=b).fit(X) for b in ("cython", "numpy")]
    np.testing.assert_allclose(models[0].components_, models[1].components_, atol=1e-10)
    assert models[0].training_settings().optimizer == 1
    # learning_rate=None means Adam's customary 0.001
    assert RBM(optimizer="adam").training_settings().learning_rate == 0.001
    g = GaussianRBM(4, optimizer="adam", beta_1=0.5)
    assert (g.training_settings().beta_1, g.get_params()["optimizer"]) == (0.5, "adam")


def test_switching_optimizer_restarts_the_moments():
    X = make_data(3, 40, NV, np.float32)
    a = RBM(NH, n_iter=2, batch_size=10, random_state=1).fit(X)
    b = RBM(NH, n_iter=2, batch_size=10, random_state=1).fit(X)
    a.set_params(optimizer="adam")
    a.partial_fit(X)
    # the same, with the SGD momentum zeroed by hand: Adam starts from zero moments
    b._state.mW[...] = 0
    b._state.mb[...] = 0
    b._state.mc[...] = 0
    b.set_params(optimizer="adam")
    b.partial_fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert a._state.adam_steps[0] == 4
    a.set_params(optimizer="sgd")
    a.partial_fit(X)
    assert a._state.adam_steps[0] == 0


def test_match_optimizer():
    st = _state("bernoulli", np.float64)
    st.mW[...] = 1
    st.match_optimizer(0)                       # SGD going on: kept
    assert st.mW.min() == 1
    st.match_optimizer(1)                       # Adam starting: zero moments
    assert not st.mW.any() and st.adam_steps[0] == 0
    st.mW[...] = 2
    st.vW[...] = 3
    st.adam_steps[0] = 5
    st.match_optimizer(1)                       # Adam going on: kept
    assert st.mW.min() == 2 and st.adam_steps[0] == 5
    st.match_optimizer(0)                       # SGD after Adam: zero, count reset
    assert not st.mW.any() and not st.vW.any() and st.adam_steps[0] == 0


def _saved(model) -> tuple:
    buf = pyio.BytesIO()
    io.save(model, buf)
    buf.seek(0)
    names = set(np.load(pyio.BytesIO(buf.getvalue())).files)
    return io.load(buf), names


def test_adam_state_survives_save_and_load():
    X = make_data(3, 40, NV, np.float32)
    model = RBM(NH, optimizer="adam", learning_rate=0.01, n_iter=2, batch_size=10,
                persistent=True, random_state=2).fit(X)
    loaded, names = _saved(model)
    for name in ("vW", "vb", "vc", "vz"):
        assert any(n.endswith(f"state/{name}") for n in names), (name, names)
    assert loaded._state.adam_steps[0] == model._state.adam_steps[0] == 8
    model.partial_fit(X)
    loaded.partial_fit(X)
    np.testing.assert_array_equal(model.components_, loaded.components_)
    np.testing.assert_array_equal(model._state.vW, loaded._state.vW)


def test_sgd_files_hold_no_adam_arrays():
    X = make_data(3, 40, NV, np.float32)
    _, names = _saved(RBM(NH, n_iter=1, batch_size=10, random_state=2).fit(X))
    assert not [n for n in names if n.endswith(("vW", "vb", "vc", "vz"))]


@pytest.mark.parametrize("kw,match", [({"optimizer": "rmsprop"}, "optimizer"),
                                      ({"optimizer": 1}, "optimizer"),
                                      ({"beta_1": 1.0}, "beta_1"),
                                      ({"beta_2": -0.1}, "beta_2"),
                                      ({"epsilon": 0.0}, "epsilon"),
                                      ({"epsilon": float("nan")}, "epsilon")])
def test_bad_optimizer_settings_are_refused_and_the_model_untouched(kw, match):
    assert_setting_refused(kw, match, NV, NH)


def test_kernel_refuses_inconsistent_adam_buffers():
    hyper = _adam_settings("bernoulli", "bernoulli", 1)
    X = make_data(3, 20, NV, np.float32)
    order = np.arange(20, dtype=np.int64)
    st = _state("bernoulli", np.float32)
    st.vW = np.zeros((NH, NV - 1), np.float32)
    with pytest.raises(ValueError, match="vW"):
        ops.fit_epoch(st, hyper, X, order=order, seed=0)
    st = _state("bernoulli", np.float32)
    st.adam_steps = np.zeros(1, np.int32)
    with pytest.raises(TypeError, match="adam_steps"):
        ops.fit_epoch(st, hyper, X, order=order, seed=0)
    st = _state("bernoulli", np.float32)
    sgd_ws = ops.make_workspace(dataclasses.replace(hyper, optimizer=0), NV, NH, np.float32)
    with pytest.raises(ValueError, match="gradient"):
        ops.fit_epoch(st, hyper, X, order=order, seed=0, workspace=sgd_ws)
