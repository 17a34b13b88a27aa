"""Fast PCD (Tieleman & Hinton 2009) in the fused epoch: kernel against the NumPy
reference (same draws), the fast parameters' update and decay written out, the chains
sampling W + fast_W, FPCD learning bars-and-stripes better than PCD-1, the estimator's
face (save, load, resume), refusals."""
from __future__ import annotations

import dataclasses
import io as pyio

import numpy as np
import pytest
from conftest import (assert_close, assert_samples_equal, assert_setting_refused,
                      bars_and_stripes_32, epochs_by_backend, make_data, make_params)

from fastrbm import RBM, GaussianRBM, io, ops
from fastrbm.evaluation import log_likelihood
from fastrbm.units import VISIBLE_UNITS

UNITS = [("bernoulli", "bernoulli", 1), ("bernoulli", "stepped", 4), ("bernoulli", "nrelu", 1),
         ("gaussian", "bernoulli", 1), ("gaussian", "nrelu", 1)]
NV, NH, N = 9, 6, 37
FAST = ("fast_W", "fast_b", "fast_c")


def _settings(visible="bernoulli", hidden="bernoulli", n_copies=1, **kw):
    base = dict(visible=visible, hidden=hidden, n_copies=n_copies, k=2, sampler="fpcd",
                batch_size=10, learning_rate=0.02, momentum=0.5, weight_decay=1e-3,
                l1=1e-4, sparsity_cost=0.01, fast_learning_rate=0.05)
    base.update(kw)
    return ops.training_settings(**base)


def _state(visible="bernoulli", dtype=np.float64, seed=4, fast_scale=0.0):
    # small weights: a Gaussian-NReLU model with large ones has no normalisable
    # distribution, and its persistent chains run off to infinity
    W, b, c, s = make_params(seed, NV, NH, dtype, visible=VISIBLE_UNITS[visible],
                             weight_scale=0.1)
    st = ops.training_state(W, b, c, s, n_chains=10)
    rng = np.random.default_rng(seed + 1)
    for name in FAST:
        a = getattr(st, name)
        a[...] = fast_scale * rng.standard_normal(a.shape)
    return st


@pytest.mark.parametrize("visible,hidden,n_copies", UNITS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fast_pcd_epochs_equal_the_reference(visible, hidden, n_copies, optimizer, dtype):
    hyper = _settings(visible, hidden, n_copies, optimizer=optimizer)
    X = make_data(5, N, NV, dtype, visible=VISIBLE_UNITS[visible], order="F")
    start = _state(visible, dtype, fast_scale=0.05)
    kernel, ref = epochs_by_backend(start, hyper, X)
    assert np.abs(kernel.fast_W - start.fast_W).max() > 1e-3      # they did move
    for name in ("W", "b", "c", "mW", "mb", "mc", "chains", "q") + FAST:
        got, want = getattr(kernel, name), getattr(ref, name)
        if name == "chains" and not (visible == "gaussian" or hidden == "nrelu"):
            assert_samples_equal(got, want, dtype, max_flips=10)
        else:
            assert_close(got, want, dtype, factor=1e3 if dtype == np.float32 else 100)


def _sampling_gradient(state, hyper, V, seed, step, backend):
    """The gradient of the sampling terms at ``state`` with the draws of (seed, step):
    one SGD step with learning rate 1, no momentum and no penalties leaves it in the
    momentum buffers (the chains sample W + fast_W as in the real step)."""
    probe = state.copy()
    plain = dataclasses.replace(hyper, learning_rate=1.0, momentum=0.0, weight_decay=0.0,
                                l1=0.0, sparsity_cost=0.0)
    ops.cd_update(probe, plain, V, seed=seed, step=step, backend=backend)
    return {"fast_W": probe.mW, "fast_b": probe.mb, "fast_c": probe.mc}


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_fast_parameters_follow_the_sampling_gradient_and_decay(backend, visible):
    # fast = decay * fast + fast_lr * g with g free of weight decay, L1 and sparsity
    # (all large here, so that leaking them in would show)
    hyper = _settings(visible, weight_decay=0.1, l1=0.05, sparsity_cost=0.5,
                      fast_learning_rate=0.2, fast_decay=0.5, k=1)
    V = make_data(7, 10, NV, np.float64, visible=VISIBLE_UNITS[visible])
    state = _state(visible, fast_scale=0.3)
    for step in range(4):
        before = {n: getattr(state, n).copy() for n in FAST}
        g = _sampling_gradient(state, hyper, V, 11, step, backend)
        ops.cd_update(state, hyper, V, seed=11, step=step, backend=backend)
        for name in FAST:
            np.testing.assert_allclose(getattr(state, name), 0.5 * before[name] + 0.2 * g[name],
                                       rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_without_a_gradient_the_fast_weights_decay_geometrically(backend):
    hyper = _settings(fast_learning_rate=0.0, fast_decay=0.8)
    state = _state(fast_scale=1.0)
    start = {n: getattr(state, n).copy() for n in FAST}
    V = make_data(7, N, NV, np.float64)
    ops.fit_epoch(state, hyper, V, order=np.arange(N, dtype=np.int64), seed=1,
                  backend=backend)
    for name in FAST:       # 4 updates
        np.testing.assert_allclose(getattr(state, name), 0.8 ** 4 * start[name], rtol=1e-13)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_the_chains_sample_the_model_with_the_fast_parameters_added(backend):
    # an FPCD update's chains are those of a PCD update of the model (W + fast_W,
    # b + fast_b, c + fast_c) with the same draws; its positive phase uses W alone
    state = _state(fast_scale=0.5)
    summed = state.copy()
    for name, fast in (("W", "fast_W"), ("b", "fast_b"), ("c", "fast_c")):
        getattr(summed, name)[...] += getattr(state, fast)
    V = make_data(7, 10, NV, np.float64)
    ops.cd_update(state, _settings(k=3), V, seed=5, step=2, backend=backend)
    ops.cd_update(summed, _settings(k=3, sampler="pcd"), V, seed=5, step=2, backend=backend)
    np.testing.assert_array_equal(state.chains, summed.chains)
    assert state.chains.any()
    # and the positive statistics are W's: the two hidden-bias gradients differ
    assert not np.allclose(state.mc, summed.mc)


def test_fast_pcd_learns_bars_and_stripes_better_than_pcd():
    # the anchor setting (16 hidden, full batch, learning rate 0.1, no momentum,
    # 3000 epochs, exact log-likelihood); measured here: PCD-1 -5.54 / -6.34 / -6.22,
    # FPCD (fast learning rate 0.1, decay 19/20) -4.65 / -4.24 / -4.48; optimum -3.379
    X = bars_and_stripes_32()
    results = {}
    for sampler in ("pcd", "fpcd"):
        lls = [log_likelihood(RBM(16, sampler=sampler, batch_size=32, learning_rate=0.1,
                                  momentum=0.0, n_iter=3000, dtype="float64",
                                  random_state=seed).fit(X), X).mean
               for seed in range(3)]
        results[sampler] = float(np.median(lls))
    assert results["fpcd"] > results["pcd"] + 1.0, results
    assert results["fpcd"] > -5.0, results


def _saved(model):
    buf = pyio.BytesIO()
    io.save(model, buf)
    names = set(np.load(pyio.BytesIO(buf.getvalue())).files)
    buf.seek(0)
    return io.load(buf), names


def test_estimator_face():
    X = make_data(3, 40, NV, np.float64)
    model = RBM(NH, sampler="fpcd", n_iter=3, batch_size=10, random_state=0, dtype="float64",
                learning_rate=0.05).fit(X)
    settings = model.training_settings()
    assert settings.fast_weights and settings.persistent
    assert settings.fast_learning_rate == 0.05 and settings.fast_decay == 0.95
    assert np.abs(model._state.fast_W).max() > 0
    # a schedule moves the learning rate, not the fast one
    scheduled = RBM(NH, sampler="fpcd", learning_rate_schedule=("exponential", {"decay": 0.5}))
    assert scheduled._epoch_hyper(scheduled.training_settings(), 0.01, 0.5).fast_learning_rate \
        == scheduled.training_settings().fast_learning_rate
    # the backends agree through the estimator
    other = RBM(NH, sampler="fpcd", n_iter=3, batch_size=10, random_state=0, dtype="float64",
                learning_rate=0.05, backend="numpy").fit(X)
    np.testing.assert_allclose(model.components_, other.components_, atol=1e-12)
    # save, load, go on: bitwise the uninterrupted model, the fast parameters included
    loaded, names = _saved(model)
    assert {f"state/{n}" for n in FAST} <= names, names
    model.partial_fit(X)
    loaded.partial_fit(X)
    for name in ("W", "chains") + FAST:
        np.testing.assert_array_equal(getattr(model._state, name),
                                      getattr(loaded._state, name), err_msg=name)
    # a model trained without them writes none
    _, names = _saved(RBM(NH, sampler="pcd", n_iter=1, batch_size=10).fit(X))
    assert not [n for n in names if "fast_" in n]
    # GaussianRBM too
    g = GaussianRBM(NH, sampler="fpcd", n_iter=2, batch_size=10, random_state=0).fit(
        make_data(3, 40, NV, np.float32, visible=VISIBLE_UNITS["gaussian"]))
    assert np.isfinite(g.components_).all() and np.abs(g._state.fast_b).max() > 0


@pytest.mark.parametrize("kw,match", [
    ({"sampler": "fpcd", "centering": True}, "fpcd"),
    ({"sampler": "fpcd", "fast_decay": 1.5}, "fast_decay"),
    ({"sampler": "fpcd", "fast_decay": float("nan")}, "fast_decay"),
    ({"sampler": "fpcd", "fast_learning_rate": -0.1}, "fast_learning_rate"),
    ({"sampler": "fpcd", "fast_learning_rate": "fast"}, "fast_learning_rate"),
])
def test_bad_fast_settings_are_refused_and_the_model_untouched(kw, match):
    assert_setting_refused(kw, match, NV, NH)


def test_fast_pcd_with_a_learned_sigma_is_refused():
    with pytest.raises(ValueError, match="fpcd"):
        GaussianRBM(NH, sampler="fpcd", learn_sigma=True).training_settings()


def test_kernel_refuses_inconsistent_fast_buffers():
    hyper = _settings()
    X = make_data(3, 20, NV, np.float64)
    order = np.arange(20, dtype=np.int64)
    st = _state()
    st.fast_W = np.zeros((NH + 1, NV))
    with pytest.raises(ValueError, match="fast_W"):
        ops.fit_epoch(st, hyper, X, order=order, seed=0)
    st = _state()
    st.fast_W = st.mW           # written by the epoch twice
    with pytest.raises(ValueError, match="overlap|share"):
        ops.fit_epoch(st, hyper, X, order=order, seed=0)
    # a workspace made for plain PCD has no room for the chains' W + fast_W
    st = _state()
    W0 = st.W.copy()
    ws = ops.make_workspace(dataclasses.replace(hyper, fast_weights=False), NV, NH,
                            np.float64)
    with pytest.raises(ValueError, match="workspace"):
        ops.fit_epoch(st, hyper, X, order=order, seed=0, workspace=ws)
    np.testing.assert_array_equal(st.W, W0)
