"""Centered training (Melchior, Wang & Wiskott 2016) in the fused epoch: kernel against
the NumPy reference, both against the centered algorithm written out in the centered
parameters, the estimator's offsets, save/load and validation."""
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


def _settings(visible, hidden, n_copies, **kw):
    base = dict(visible=visible, hidden=hidden, n_copies=n_copies, k=2, batch_size=10,
                learning_rate=0.02, momentum=0.5, weight_decay=1e-3, sparsity_cost=0.01,
                centering=True, centering_rate=0.1)
    base.update(kw)
    return ops.training_settings(**base)


def _state(visible, dtype, X, seed=4) -> TrainState:
    W, b, c, s = make_params(seed, NV, NH, dtype, visible=VISIBLE_UNITS[visible],
                             weight_scale=0.1)
    st = ops.training_state(W, b, c, s, n_chains=10)
    st.visible_offset[...] = X.mean(0) / (1 if s is None else s)
    st.hidden_offset[...] = np.linspace(0.2, 0.6, NH)
    return st


@pytest.mark.parametrize("visible,hidden,n_copies", UNITS)
@pytest.mark.parametrize("persistent", [False, True])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_centered_epochs_equal_the_reference(visible, hidden, n_copies, persistent, optimizer,
                                             dtype):
    hyper = _settings(visible, hidden, n_copies, persistent=persistent, optimizer=optimizer)
    X = make_data(5, N, NV, dtype, visible=VISIBLE_UNITS[visible], order="F")
    start = _state(visible, dtype, X)
    kernel, ref = epochs_by_backend(start, hyper, X)
    assert not np.array_equal(ref.hidden_offset, start.hidden_offset)
    for name in ("W", "b", "c", "mW", "mb", "mc", "chains", "q", "hidden_offset",
                 "visible_offset"):
        got, want = getattr(kernel, name), getattr(ref, name)
        if name == "chains" and not (visible == "gaussian" or hidden == "nrelu"):
            assert_samples_equal(got, want, dtype, max_flips=10)
        else:
            assert_close(got, want, dtype, factor=1e3 if dtype == np.float32 else 100)


def _statistics(state, hyper, V, seed, step, backend):
    """The minibatch statistics of the update at ``state`` with the draws of (seed, step):
    an ordinary SGD step with learning rate 1 and no momentum leaves the weighted sums
    sum_r w_r h_r v_r^T in mW, sum_r w_r v_r (divided by sigma) in mb, sum_r w_r h_r in mc,
    and, through a sparsity estimate with decay 0 (and a negligible cost), the data's
    mean hidden activation in q."""
    probe_hyper = dataclasses.replace(
        hyper, centering=False, learning_rate=1.0, momentum=0.0, weight_decay=0.0, l1=0.0,
        sparsity_cost=1e-300, sparsity_decay=0.0)
    probe = state.copy()
    ops.cd_update(probe, probe_hyper, V, seed=seed, step=step, backend=backend)
    return probe.mW.copy(), probe.mb.copy(), probe.mc.copy(), probe.q.copy()


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_the_update_is_the_centered_algorithm_in_centered_parameters(backend, visible):
    # Melchior et al.'s step in the centered parameters (W, b_c, c_c; offsets mu, lambda):
    # move lambda (and b_c with it, so the model stays), take the centered gradient, then
    # express the result as the ordinary RBM (b' = b_c - s W lambda, c' = c_c - W mu).
    # The estimator's kernel keeps only the ordinary parameters: they must agree.
    dtype = np.float64
    hyper = _settings(visible, "bernoulli", 1, k=1, momentum=0.0, weight_decay=0.0,
                      sparsity_cost=0.0, learning_rate=0.1, centering_rate=0.2)
    V = make_data(7, 10, NV, dtype, visible=VISIBLE_UNITS[visible])
    state = _state(visible, dtype, V)
    s = state.sigma if visible == "gaussian" else np.ones(NV)
    mu, lam = state.visible_offset.copy(), state.hidden_offset.copy()
    W = state.W.copy()
    b_c, c_c = state.b + s * (lam @ W), state.c + W @ mu
    lr, rate = hyper.learning_rate, hyper.centering_rate
    for t in range(1, 5):
        G, vs_over_s, hs, h_data = _statistics(state, hyper, V, 11, t, backend)
        vs = vs_over_s * s                              # sum w_r v_r / s, in v / s units
        ops.cd_update(state, hyper, V, seed=11, step=t, backend=backend)
        new_lam = (1 - rate) * lam + rate * h_data
        b_c = b_c + s * ((new_lam - lam) @ W)           # the model does not move
        lam = new_lam
        W = W + lr * (G - np.outer(hs, mu) - np.outer(lam, vs))
        b_c = b_c + lr * vs_over_s
        c_c = c_c + lr * hs
        np.testing.assert_allclose(state.W, W, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(state.hidden_offset, lam, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(state.b, b_c - s * (lam @ W), rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(state.c, c_c - W @ mu, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_zero_offsets_that_do_not_move_give_the_ordinary_update_bitwise(backend, optimizer,
                                                                       dtype):
    hyper = _settings("bernoulli", "bernoulli", 1, centering_rate=0.0, optimizer=optimizer)
    X = make_data(5, N, NV, dtype)
    W, b, c, s = make_params(4, NV, NH, dtype, weight_scale=0.1)
    order = np.arange(N, dtype=np.int64)
    states = []
    for centering in (True, False):
        st = ops.training_state(W.copy(), b.copy(), c.copy(), n_chains=10)
        ops.fit_epoch(st, dataclasses.replace(hyper, centering=centering), X, order=order,
                      seed=1, backend=backend)
        states.append(st)
    for f in dataclasses.fields(TrainState):
        np.testing.assert_array_equal(getattr(states[0], f.name), getattr(states[1], f.name))


def test_estimator_sets_the_offsets_from_the_data_and_keeps_them():
    X = make_data(3, 60, NV, np.float64)
    model = RBM(NH, centering=True, n_iter=1, batch_size=10, random_state=0, dtype="float64")
    model.init_params(X)
    hidden_means = model.transform(X).mean(0)
    model.partial_fit(X)
    np.testing.assert_allclose(model._state.visible_offset, X.mean(0), rtol=1e-12)
    # lambda started at the data's hidden means and moved by 1 % per update since
    assert np.abs(model._state.hidden_offset - hidden_means).max() < 0.05
    lam = model._state.hidden_offset.copy()
    model.partial_fit(X)                               # not measured again
    assert not np.array_equal(model._state.hidden_offset, lam)
    np.testing.assert_allclose(model._state.visible_offset, X.mean(0), rtol=1e-12)


def test_gaussian_offsets_are_in_units_of_sigma():
    X = make_data(3, 60, NV, np.float64, visible=1) * 2 + 1
    model = GaussianRBM(NH, centering=True, sigma=2.0, n_iter=1, dtype="float64",
                        random_state=0).fit(X)
    np.testing.assert_allclose(model._state.visible_offset, X.mean(0) / 2, rtol=1e-12)


def test_centered_fit_backends_agree_and_fitted_attributes_are_ordinary():
    X = make_data(3, 60, NV, np.float64)
    models = [RBM(NH, centering=True, n_iter=3, batch_size=10, random_state=5,
                  dtype="float64", backend=b).fit(X) for b in ("cython", "numpy")]
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        np.testing.assert_allclose(getattr(models[0], name), getattr(models[1], name),
                                   atol=1e-12)
    m = models[0]
    expected = 1 / (1 + np.exp(-(X @ m.components_.T + m.intercept_hidden_)))
    np.testing.assert_allclose(m.transform(X), expected, rtol=1e-12)


def _reloaded(model):
    buf = pyio.BytesIO()
    io.save(model, buf)
    names = set(np.load(pyio.BytesIO(buf.getvalue())).files)
    buf.seek(0)
    return io.load(buf), names


def test_offsets_survive_save_and_load():
    X = make_data(3, 40, NV, np.float32)
    model = RBM(NH, centering=True, n_iter=2, batch_size=10, random_state=2).fit(X)
    loaded, names = _reloaded(model)
    assert any(n.endswith("state/hidden_offset") for n in names)
    np.testing.assert_array_equal(loaded._state.hidden_offset, model._state.hidden_offset)
    model.partial_fit(X)
    loaded.partial_fit(X)
    np.testing.assert_array_equal(model.components_, loaded.components_)
    # models trained without centering write no offsets
    _, names = _reloaded(RBM(NH, n_iter=1, batch_size=10, random_state=2).fit(X))
    assert not [n for n in names if "offset" in n]


@pytest.mark.parametrize("kw,match", [({"centering": 1}, "centering"),
                                      ({"centering_rate": 1.5}, "centering_rate"),
                                      ({"centering_rate": -0.1}, "centering_rate")])
def test_bad_centering_settings_are_refused_and_the_model_untouched(kw, match):
    assert_setting_refused(kw, match, NV, NH)


def test_centering_with_a_learned_sigma_is_refused():
    with pytest.raises(ValueError, match="learn_sigma"):
        GaussianRBM(NH, centering=True, learn_sigma=True).fit(make_data(3, 20, NV, np.float32,
                                                                        visible=1))
    hyper = dataclasses.replace(_settings("gaussian", "bernoulli", 1, centering=False),
                                centering=True, learn_sigma=True)
    X = make_data(3, 20, NV, np.float32, visible=1)
    st = _state("gaussian", np.float32, X)
    with pytest.raises(ValueError, match="learn_sigma"):
        ops.fit_epoch(st, hyper, X, order=np.arange(20, dtype=np.int64), seed=0)
