"""Parallel tempering in the fused epoch: kernel against the NumPy reference (same draws,
same swaps), the swap rule leaves every temperature's enumerated distribution
invariant, PT learns bars-and-stripes better than PCD-1, the estimator's face."""
from __future__ import annotations

import contextlib
import io as pyio
import itertools

import numpy as np
import pytest
from conftest import (assert_close, assert_samples_equal, assert_setting_refused,
                      bars_and_stripes_32, epochs_by_backend, make_data, make_params)

from fastrbm import RBM, io, ops, reference
from fastrbm.evaluation import log_likelihood
from fastrbm.units import VISIBLE_UNITS

UNITS = [("bernoulli", "bernoulli", 1), ("bernoulli", "stepped", 4), ("bernoulli", "nrelu", 1),
         ("gaussian", "bernoulli", 1), ("gaussian", "nrelu", 1)]
NV, NH, N = 9, 6, 37


@pytest.mark.parametrize("visible,hidden,n_copies", UNITS)
@pytest.mark.parametrize("k", [1, 2])
def test_tempered_epochs_equal_the_reference(visible, hidden, n_copies, k, dtype):
    hyper = ops.training_settings(visible=visible, hidden=hidden, n_copies=n_copies, k=k,
                                  batch_size=10, learning_rate=0.01, momentum=0.5,
                                  sampler="pt", n_temperatures=4)
    W, b, c, s = make_params(4, NV, NH, dtype, visible=VISIBLE_UNITS[visible],
                             weight_scale=0.3)
    X = make_data(5, N, NV, dtype, visible=VISIBLE_UNITS[visible], order="F")
    start = ops.training_state(W, b, c, s, n_chains=10, n_temperatures=4)
    got, want = epochs_by_backend(start, hyper, X)
    # the same swaps were tried and made: 10 ladders, each pair on every other step
    np.testing.assert_array_equal(got.swap_attempts, [60, 60, 60, 0])
    np.testing.assert_array_equal(got.swap_attempts, want.swap_attempts)
    np.testing.assert_array_equal(got.swap_accepts, want.swap_accepts)
    assert 0 < got.swap_accepts[:3].min()
    for name in ("W", "b", "c", "mW", "chains", "q"):
        if name == "chains" and not (visible == "gaussian" or hidden == "nrelu"):
            assert_samples_equal(got.chains, want.chains, dtype, max_flips=10)
        else:
            assert_close(getattr(got, name), getattr(want, name), dtype,
                         factor=1e3 if dtype == np.float32 else 100)


def _tempered_marginals(W, b, c, betas):
    """Exact p_beta(h) ~ sum_v exp(-beta E(v, h)) of each temperature (Bernoulli units),
    states in bit order."""
    states = np.array(list(itertools.product([0, 1], repeat=W.shape[0])))[:, ::-1]
    out = []
    for beta in betas:
        log_p = beta * (states @ c) + np.logaddexp(0, beta * (b + states @ W)).sum(1)
        p = np.exp(log_p - log_p.max())
        out.append(p / p.sum())
    return states, np.array(out)


def _run_ladders(backend, W, b, c, betas, n_ladders, n_steps):
    """The chains' hidden states after ``n_steps`` PT updates that do not move the model
    (a learning rate far below the weights' rounding)."""
    hyper = ops.training_settings(k=1, batch_size=n_ladders, learning_rate=1e-300,
                                  momentum=0.0, sampler="pt", betas=betas)
    st = ops.training_state(W.copy(), b.copy(), c.copy(), n_chains=n_ladders,
                            n_temperatures=len(betas))
    X = np.zeros((n_ladders, W.shape[1]))
    order = np.arange(n_ladders, dtype=np.int64)
    for step in range(n_steps):
        ops.fit_epoch(st, hyper, X, order=order, seed=9, step=step, backend=backend)
    np.testing.assert_array_equal(st.W, W)
    return st


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_the_swaps_leave_every_temperature_at_its_distribution(backend):
    # a model whose temperatures differ a lot, so that wrong swaps would show
    rng = np.random.default_rng(1)
    W = 2.0 * rng.standard_normal((2, 3))
    b, c = rng.standard_normal(3), rng.standard_normal(2)
    betas = (1.0, 0.6, 0.25)
    n = 2000
    st = _run_ladders(backend, W, b, c, betas, n, 40)
    states, exact = _tempered_marginals(W, b, c, betas)
    codes = st.chains @ (1 << np.arange(W.shape[0]))
    assert (st.swap_accepts[:2] > 0.1 * st.swap_attempts[:2]).all()   # swaps happen
    for m in range(len(betas)):
        counts = np.bincount(codes[m * n:(m + 1) * n].astype(int), minlength=len(states))
        p_hat = counts / n
        # independent ladders: binomial counts; 5 standard errors (plus one count)
        bound = 5 * np.sqrt(exact[m] * (1 - exact[m]) / n) + 1 / n
        assert (np.abs(p_hat - exact[m]) <= bound).all(), (m, p_hat, exact[m])


def test_the_invariance_test_sees_a_wrong_swap_rule(monkeypatch):
    # the same test's statistic, with swaps that are always accepted: a wrong rule that
    # mixes the temperatures' distributions must fail the bound
    rng = np.random.default_rng(1)
    W = 2.0 * rng.standard_normal((2, 3))
    b, c = rng.standard_normal(3), rng.standard_normal(2)
    betas = (1.0, 0.6, 0.25)

    def always(state, hyper, energy, seed, step):
        per = state.chains.shape[0] // len(hyper.betas)
        for m in range(step % 2, len(hyper.betas) - 1, 2):
            lo, hi = slice(m * per, (m + 1) * per), slice((m + 1) * per, (m + 2) * per)
            state.chains[lo], state.chains[hi] = state.chains[hi].copy(), state.chains[lo].copy()

    monkeypatch.setattr(reference, "_swaps", always)
    n = 2000
    st = _run_ladders("numpy", W, b, c, betas, n, 40)
    states, exact = _tempered_marginals(W, b, c, betas)
    codes = st.chains @ (1 << np.arange(2))
    worst = 0.0
    for m in range(len(betas)):
        p_hat = np.bincount(codes[m * n:(m + 1) * n].astype(int), minlength=4) / n
        bound = 5 * np.sqrt(exact[m] * (1 - exact[m]) / n) + 1 / n
        worst = max(worst, (np.abs(p_hat - exact[m]) / bound).max())
    assert worst > 1


def test_pt_learns_bars_and_stripes_better_than_pcd():
    # the anchor: 16 hidden, full batch, learning rate 0.1, no momentum, 3000
    # epochs, exact log-likelihood; an independent NumPy PT measured about -3.95 against
    # -6.84 for PCD-1 (median of 3 seeds); the optimum is -3.379
    X = bars_and_stripes_32()
    assert X.shape == (32, 16)
    results = {}
    for sampler in ("pcd", "pt"):
        lls = []
        for seed in range(3):
            model = RBM(16, sampler=sampler, n_temperatures=10, batch_size=32,
                        learning_rate=0.1, momentum=0.0, n_iter=3000, dtype="float64",
                        random_state=seed).fit(X)
            lls.append(log_likelihood(model, X).mean)
        results[sampler] = float(np.median(lls))
    assert results["pt"] > results["pcd"] + 1.0, results
    assert results["pt"] > -4.6, results


def test_estimator_face():
    X = make_data(3, 40, NV, np.float64)
    model = RBM(NH, sampler="pt", n_temperatures=5, n_iter=3, batch_size=10, random_state=0,
                dtype="float64").fit(X)
    assert model._state.chains.shape == (50, NH)
    acc = model.swap_acceptance_
    assert acc.shape == (4,) and ((acc >= 0) & (acc <= 1)).all()
    model.set_params(verbose=1, n_iter=4, warm_start=True)     # one more epoch, verbose
    with contextlib.redirect_stdout(pyio.StringIO()) as out:
        model.fit(X)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "swaps accepted" in lines[0], lines
    model.set_params(verbose=0)
    with pytest.raises(AttributeError, match="sampler='pt'"):
        RBM(NH, n_iter=1, batch_size=10).fit(X).swap_acceptance_
    assert RBM(sampler="pt", betas=[1, 0.5, 0]).training_settings().betas == (1.0, 0.5, 0.0)
    assert RBM(persistent=True).training_settings().persistent
    # save, load, go on: bitwise the uninterrupted model, swap counts included
    buf = pyio.BytesIO()
    io.save(model, buf)
    buf.seek(0)
    loaded = io.load(buf)
    np.testing.assert_array_equal(loaded._state.swap_attempts, model._state.swap_attempts)
    model.partial_fit(X)
    loaded.partial_fit(X)
    np.testing.assert_array_equal(model.components_, loaded.components_)
    np.testing.assert_array_equal(model._state.chains, loaded._state.chains)
    np.testing.assert_array_equal(model._state.swap_accepts, loaded._state.swap_accepts)


@pytest.mark.parametrize("kw,match", [
    ({"sampler": "gibbs"}, "sampler"),
    ({"sampler": "cd", "persistent": True}, "persistent"),
    ({"sampler": "pt", "n_temperatures": 1}, "n_temperatures"),
    ({"sampler": "pt", "betas": [0.9, 0.5]}, "betas"),
    ({"sampler": "pt", "betas": [1, 0.5, 0.5]}, "betas"),
    ({"sampler": "pt", "betas": [1, -0.5]}, "betas"),
    ({"sampler": "pt", "betas": "hot"}, "betas"),
    ({"sampler": "pt", "sample_visible": False}, "sample_visible"),
])
def test_bad_sampler_settings_are_refused_and_the_model_untouched(kw, match):
    assert_setting_refused(kw, match, NV, NH)


def test_kernel_refuses_chains_that_do_not_fit_the_ladder():
    hyper = ops.training_settings(batch_size=10, sampler="pt", n_temperatures=3)
    X = make_data(3, 20, NV, np.float64)
    W, b, c, _ = make_params(0, NV, NH, np.float64)
    st = ops.training_state(W, b, c, n_chains=10, n_temperatures=3)
    st.chains = np.zeros((25, NH))
    with pytest.raises(ValueError, match="temperature"):
        ops.fit_epoch(st, hyper, X, order=np.arange(20, dtype=np.int64), seed=0)
    st = ops.training_state(W, b, c, n_chains=10, n_temperatures=3)
    st.swap_accepts = np.zeros(2, np.int64)
    with pytest.raises(ValueError, match="swap_accepts"):
        ops.fit_epoch(st, hyper, X, order=np.arange(20, dtype=np.int64), seed=0)
