"""Annealed importance sampling: kernel vs reference, accuracy against enumeration."""
from __future__ import annotations

import numpy as np
import pytest

from fastrbm import _maths, RBM, _ais, reference, streams
from fastrbm import evaluation as E
from fastrbm._constants import HIDDEN_CODES, VISIBLE_CODES
from fastrbm.datasets import bars_and_stripes, gaussian_mixture

COMBOS = [("bernoulli", "bernoulli"), ("bernoulli", "stepped"), ("bernoulli", "nrelu"),
          ("gaussian", "bernoulli"), ("gaussian", "stepped"), ("gaussian", "nrelu")]
CODES = {**VISIBLE_CODES, **HIDDEN_CODES}   # "bernoulli" is 0 on either side


@pytest.mark.parametrize("visible,hidden", COMBOS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_kernel_ais_equals_reference(visible, hidden, dtype, n_threads):
    rng = np.random.default_rng(7)
    nv, nh, n_runs = 7, 5, 40
    vis, hid = CODES[visible], CODES[hidden]
    W = (0.3 * rng.standard_normal((nh, nv))).astype(dtype)
    b = rng.standard_normal(nv).astype(dtype)
    c = rng.standard_normal(nh).astype(dtype)
    s = rng.uniform(0.7, 1.3, nv).astype(dtype) if vis else None
    X = rng.standard_normal((30, nv)) if vis else (rng.random((30, nv)) < 0.3)
    base_b, base_s = _maths.ais_base(vis, X, b, s)
    betas = np.concatenate([np.linspace(0, 0.5, 20), np.linspace(0.5, 1, 41)[1:]])
    ref_w, ref_z = reference.ais(W, b, c, s, vis, hid, 3, betas, base_b, base_s, n_runs, 11)
    ker_w, ker_z = _ais.ais(W, b, c, s, vis, hid, 3, betas, base_b, base_s, n_runs, 11,
                            streams.PURPOSE_AIS, n_threads, None, 17)   # odd chunking too
    assert np.all(np.isfinite(ref_w))
    # a single differing sample changes a log weight by about 1e-2 here, far more than
    # this; float32 kernels sum their free-energy increments in float32 (the reference
    # in float64), hence the looser bound there
    atol = 1e-9 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(ker_w, ref_w, rtol=0, atol=atol)
    assert ker_z == ref_z
    # the runs differ from one another (the draws are not all the same)
    assert np.unique(np.round(ref_w, 6)).size > n_runs // 2


def test_nrelu_exact_sampler_matches_the_stepped_sum():
    # the sum of infinitely many Bernoulli(sigmoid(x - k + 1/2)): mean and variance
    x = np.array([-3.0, 0.0, 2.5, 30.0, 55.3])
    n = 4000
    for dtype in (np.float32, np.float64):
        X = np.tile(x, (n, 1)).astype(dtype)
        h = reference.nrelu_exact_sample(X, 5, 1, 0)
        assert np.all(h == np.round(h)) and np.all(h >= 0)
        k = np.arange(1, 200)
        p = reference.sigmoid(x[:, None] - k + 0.5)
        mean, var = p.sum(1), (p * (1 - p)).sum(1)
        se = np.sqrt(var / n)
        assert np.all(np.abs(h.mean(0) - mean) < 5 * se)
        # variance of the sample variance ~ 2 var^2 / n for these near-normal counts
        assert np.all(np.abs(h.var(0) - var) < 5 * var * np.sqrt(2 / n) + 1e-12)


@pytest.fixture(scope="module")
def trained():
    """Tiny trained models of every combination that has an exact log Z."""
    bas = np.repeat(bars_and_stripes(3), 20, axis=0)
    G = gaussian_mixture(300, 6, 3, separation=3.0, random_state=0)[0]
    G = (G - G.mean(0)) / G.std(0)
    models = {}
    for visible, hidden in COMBOS[:5]:
        data = bas if visible == "bernoulli" else G
        nh = 2 if hidden == "nrelu" else 6      # NReLU costs ~80 softplus terms a unit
        rbm = RBM(n_components=nh, visible=visible, hidden=hidden, n_copies=3,
                  learning_rate=0.05 if visible == "bernoulli" else 0.01, batch_size=10,
                  n_iter=200, dtype="float64", random_state=0).fit(data)
        models[visible, hidden] = (rbm, data, E.log_partition_exact(rbm))
    return models


@pytest.mark.parametrize("visible,hidden", COMBOS[:5])
def test_ais_default_schedule_within_a_tenth_of_a_nat(trained, visible, hidden):
    rbm, data, exact = trained[visible, hidden]
    n_runs = 30 if hidden == "nrelu" else 100
    res = E.ais(rbm, n_runs=n_runs, data=data, random_state=0)
    assert res.n_intermediate == 14500 and res.n_runs == n_runs and res.base == "data"
    assert abs(res.log_z - exact) < 0.1
    assert res.log_z_low <= exact <= res.log_z_high
    # the interval is a real bound: narrower than the 0.1 nat target on these models
    assert res.log_z_high - res.log_z_low < 0.2
    # far from the base model: the annealing has real work to do
    assert exact - res.log_z_base > (5 if visible == "bernoulli" else 1.5)


def test_more_intermediate_distributions_shrink_the_spread(trained):
    rbm, data, exact = trained["bernoulli", "bernoulli"]
    spreads, errors = [], []
    for n_betas in (100, 1000, 10000):
        res = E.ais(rbm, n_runs=100, betas=np.linspace(0, 1, n_betas + 1), data=data,
                    random_state=1)
        spreads.append(np.std(res.log_weights))
        errors.append(abs(res.log_z - exact))
        assert res.log_z_low <= exact <= res.log_z_high
    # the variance of the log weights falls roughly as 1 / n_betas (std by sqrt(10));
    # ten times the distributions, at least 2.5 times less spread
    assert spreads[1] < spreads[0] / 2.5 and spreads[2] < spreads[1] / 2.5
    assert errors[2] < 0.05


def test_reported_interval_is_calibrated(trained):
    # 1,000 runs cut into 20 estimates of 50 runs: their +/- 3 s.e. intervals should
    # (almost) all cover the exact value, and the pooled estimate be very close
    rbm, data, exact = trained["bernoulli", "bernoulli"]
    res = E.ais(rbm, n_runs=1000, betas=np.linspace(0, 1, 1001), data=data, random_state=3)
    covered = 0
    for g in range(20):
        part = E.AISResult.from_weights(res.log_weights[g * 50:(g + 1) * 50], res.log_z_base,
                                        1000, "data", 0.0)
        covered += part.log_z_low <= exact <= part.log_z_high
    assert covered >= 19
    assert abs(res.log_z - exact) < res.log_z_high - res.log_z     # 3 s.e. of 1,000 runs


def test_uniform_base_also_converges(trained):
    rbm, data, exact = trained["bernoulli", "bernoulli"]
    res = E.ais(rbm, n_runs=100, base="uniform", data=data, random_state=2,
                betas=np.linspace(0, 1, 5001))
    assert res.base == "uniform"
    assert res.log_z_base == pytest.approx(9 * np.log(2) + 6 * np.log(2))
    assert abs(res.log_z - exact) < 0.1


def test_same_seed_same_estimate_any_thread_count_and_backend(trained):
    rbm, data, _ = trained["bernoulli", "stepped"]
    betas = np.linspace(0, 1, 201)
    a = E.ais(rbm, n_runs=20, betas=betas, data=data, random_state=5, n_threads=1)
    b = E.ais(rbm, n_runs=20, betas=betas, data=data, random_state=5, n_threads=2)
    c = E.ais(rbm, n_runs=20, betas=betas, data=data, random_state=5, backend="numpy")
    np.testing.assert_array_equal(a.log_weights, b.log_weights)
    np.testing.assert_allclose(a.log_weights, c.log_weights, rtol=0, atol=1e-9)


def test_gaussian_nrelu_runs_and_is_consistent_between_schedules(trained):
    # no exact form: the default-free check is that two schedules agree
    G = trained["gaussian", "bernoulli"][1]
    rbm = RBM(n_components=3, visible="gaussian", hidden="nrelu", learning_rate=0.01,
              batch_size=10, n_iter=50, dtype="float64", random_state=0).fit(G)
    short = E.ais(rbm, n_runs=30, betas=np.linspace(0, 1, 1001), data=G, random_state=0)
    long = E.ais(rbm, n_runs=30, betas=np.linspace(0, 1, 4001), data=G, random_state=1)
    assert abs(short.log_z - long.log_z) < 0.1


def test_ais_refusals_leave_the_model_untouched(trained, capsys):
    rbm, data, _ = trained["bernoulli", "bernoulli"]
    before = [a.copy() for a in (rbm.components_, rbm.intercept_visible_,
                                 rbm.intercept_hidden_)]
    with pytest.raises(ValueError, match="n_runs"):
        E.ais(rbm, n_runs=1)
    with pytest.raises(TypeError, match="n_runs"):
        E.ais(rbm, n_runs=2.5)
    with pytest.raises(ValueError, match="betas"):
        E.ais(rbm, betas=[0.1, 1.0])
    with pytest.raises(ValueError, match="betas"):
        E.ais(rbm, betas=[0.0, 0.6, 0.5, 1.0])
    with pytest.raises(ValueError, match="betas"):
        E.ais(rbm, betas=[[0.0, 1.0]])
    with pytest.raises(ValueError, match="base"):
        E.ais(rbm, base="gaussian")
    with pytest.raises(ValueError, match="backend"):
        E.ais(rbm, backend="torch")
    with pytest.raises(ValueError, match="features"):
        E.ais(rbm, data=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        E.ais(rbm, data=np.full((3, 9), 2.0))
    for a, b in zip(before, (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)):
        np.testing.assert_array_equal(a, b)
    # verbose prints progress lines and the result
    E.ais(rbm, n_runs=4, betas=np.linspace(0, 1, 2001), verbose=True, random_state=0)
    out = capsys.readouterr().out
    assert "2000/2000" in out and "log Z =" in out


@pytest.mark.parametrize("visible,hidden", [("bernoulli", "bernoulli"), ("gaussian", "stepped")])
def test_unit_split_path_equals_reference(visible, hidden):
    """Models large enough for AIS to split its products by units over 2 threads (with
    barriers) give the reference's log weights, as the run split does on 1 thread."""
    rng = np.random.default_rng(3)
    nv, nh, n_runs = 130, 120, 140
    assert _ais.ais_unit_split(n_runs, nv, nh, 2)
    assert not _ais.ais_unit_split(n_runs, nv, nh, 1)
    vis, hid = CODES[visible], CODES[hidden]
    W = 0.05 * rng.standard_normal((nh, nv))
    b = 0.1 * rng.standard_normal(nv)
    c = 0.1 * rng.standard_normal(nh)
    s = rng.uniform(0.8, 1.2, nv) if vis else None
    X = rng.standard_normal((50, nv)) if vis else (rng.random((50, nv)) < 0.3)
    base_b, base_s = _maths.ais_base(vis, X, b, s)
    betas = np.linspace(0, 1, 31)
    ref_w, _ = reference.ais(W, b, c, s, vis, hid, 3, betas, base_b, base_s, n_runs, 5)
    for n_threads in (1, 2):
        ker_w, _ = _ais.ais(W, b, c, s, vis, hid, 3, betas, base_b, base_s, n_runs, 5,
                            streams.PURPOSE_AIS, n_threads, None, 11)
        np.testing.assert_allclose(ker_w, ref_w, rtol=0, atol=1e-9)
