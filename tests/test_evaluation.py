"""fastrbm.evaluation: exact log Z against brute force, refusals, likelihoods, Monitor."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from fastrbm import _maths, RBM, reference
from fastrbm import evaluation as E
from fastrbm.datasets import bars_and_stripes


def _set_params(rbm, W, b, c, sigma=None, n_features=None):
    """A model with hand-set parameters (W: hidden x visible)."""
    rbm.components_ = np.asarray(W, dtype=np.float64)
    rbm.intercept_visible_ = np.asarray(b, dtype=np.float64)
    rbm.intercept_hidden_ = np.asarray(c, dtype=np.float64)
    nv = rbm.components_.shape[1]
    rbm.sigma_ = np.ones(nv) if sigma is None else np.asarray(sigma, dtype=np.float64)
    rbm.n_features_in_ = nv
    rbm.n_iter_ = 0
    rbm._seed = 0
    rbm._n_sample_calls = 0
    rbm._state = None
    return rbm


def _random_model(visible, hidden, nv, nh, seed=0, n_copies=3, scale=0.8):
    rng = np.random.default_rng(seed)
    rbm = RBM(n_components=nh, visible=visible, hidden=hidden, n_copies=n_copies,
              dtype="float64")
    sigma = rng.uniform(0.6, 1.4, nv) if visible == "gaussian" else None
    return _set_params(rbm, scale * rng.standard_normal((nh, nv)), rng.standard_normal(nv),
                       rng.standard_normal(nh), sigma)


def _brute_force_bernoulli(rbm):
    """log Z = log sum_v sum_{copy patterns} exp(-E): every binary copy enumerated.

    NReLU is the infinite stepped sum; 80 copies beyond the largest input are exact to
    double precision here (the inputs stay below 10).
    """
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    nh, nv = W.shape
    hidden = rbm.hidden
    n = {"bernoulli": 1, "stepped": rbm.n_copies, "nrelu": 90}[hidden]
    offsets = np.zeros(1) if hidden == "bernoulli" else np.arange(n) + 0.5
    total = []
    for v in itertools.product((0.0, 1.0), repeat=nv):
        v = np.array(v)
        x = c + W @ v
        # copies of one unit are independent given v: sum over their 2^n patterns is
        # prod_k (1 + exp(x - offset_k)); enumerating them literally for n <= 3
        log_units = 0.0
        for j in range(nh):
            inputs = x[j] - offsets
            if n <= 3:
                pats = np.array(list(itertools.product((0.0, 1.0), repeat=n)))
                log_units += np.log(np.exp(pats @ inputs).sum())
            else:
                log_units += np.log1p(np.exp(inputs)).sum()
        total.append(b @ v + log_units)
    return _maths._logsumexp(np.array(total))


@pytest.mark.parametrize("hidden", ["bernoulli", "stepped", "nrelu"])
def test_exact_log_z_bernoulli_visible_matches_brute_force(hidden):
    rbm = _random_model("bernoulli", hidden, nv=5, nh=3, seed=1)
    assert E.log_partition_exact(rbm) == pytest.approx(_brute_force_bernoulli(rbm), abs=1e-10)


@pytest.mark.parametrize("hidden", ["bernoulli", "stepped"])
def test_exact_log_z_hidden_side_equals_visible_side(hidden):
    # 14 visible, 2 hidden: the hidden side (4 or 16 states) is enumerated
    rbm = _random_model("bernoulli", hidden, nv=14, nh=2, seed=2)
    side, n = _maths.exact_states(0, rbm.training_settings().hidden, 14, 2, rbm.n_copies)
    assert side == "hidden" and n < 2**14
    V = ((np.arange(2**14)[:, None] >> np.arange(14)) & 1).astype(np.float64)
    visible_side = _maths._logsumexp(-rbm.free_energy(V))
    assert E.log_partition_exact(rbm) == pytest.approx(visible_side, abs=1e-9)


@pytest.mark.parametrize("hidden", ["bernoulli", "stepped"])
def test_exact_log_z_gaussian_visible_matches_quadrature(hidden):
    # two Gaussian visible units: integrate exp(-F(v)) on a fine grid (the integrand is
    # smooth with Gaussian tails, so the Riemann sum is exact to many digits)
    rbm = _random_model("gaussian", hidden, nv=2, nh=3, seed=3, scale=0.4)
    g = np.linspace(-14, 14, 1401)
    V = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    neg_f = -rbm.free_energy(V)
    quad = _maths._logsumexp(neg_f) + 2 * np.log(g[1] - g[0])
    assert E.log_partition_exact(rbm) == pytest.approx(quad, abs=1e-8)


def test_exact_refuses_too_many_states_and_nrelu_gaussian():
    big = _random_model("bernoulli", "bernoulli", nv=26, nh=26, seed=0)
    with pytest.raises(ValueError, match=r"limit 33554432 \(2\*\*25\)"):
        E.log_partition_exact(big)
    stepped = _random_model("gaussian", "stepped", nv=3, nh=8, n_copies=9, seed=0)
    with pytest.raises(ValueError, match="2\\*\\*25"):        # 10^8 count patterns
        E.log_partition_exact(stepped)
    nrelu = _random_model("gaussian", "nrelu", nv=2, nh=2, seed=0)
    with pytest.raises(ValueError, match="no exact form"):
        E.log_partition_exact(nrelu)
    with pytest.raises(Exception, match="not fitted"):
        E.log_partition_exact(RBM(n_components=2))
    with pytest.raises(TypeError, match="rbm must be a fastrbm RBM"):
        E.log_partition_exact(object())


@pytest.fixture(scope="module")
def bas_model():
    """16 hidden units trained on bars-and-stripes 4x4: far from the base model."""
    X = bars_and_stripes(4)
    rbm = RBM(n_components=16, learning_rate=0.05, batch_size=10, n_iter=150, k=1,
              momentum=0.5, dtype="float64", random_state=0)
    rbm.fit(np.repeat(X, 10, axis=0))
    return rbm, X


def test_log_likelihood_of_bars_and_stripes_agrees_with_enumeration(bas_model):
    rbm, X = bas_model
    exact = E.log_likelihood(rbm, X, log_z="exact")
    assert exact.method == "exact"
    # the model learned something: far above the uniform model's -11.09
    assert exact.mean > -8.0
    est = E.log_likelihood(rbm, X, n_runs=100, random_state=1, data=np.repeat(X, 10, 0))
    assert est.method == "ais" and est.ais.n_intermediate == 14500
    # log Z is far from the base model's (a real test of the annealing)
    assert est.ais.log_z - est.ais.log_z_base > 15
    assert abs(est.mean - exact.mean) < 0.1
    assert est.mean_low <= exact.mean <= est.mean_high
    np.testing.assert_allclose(est.per_row - exact.per_row, exact.log_z - est.log_z, atol=1e-9)
    given = E.log_likelihood(rbm, X, log_z=exact.log_z)
    assert given.method == "given" and given.mean == pytest.approx(exact.mean, abs=1e-12)
    reused = E.log_likelihood(rbm, X, log_z=est.ais)
    assert reused.method == "ais" and reused.mean == est.mean


def test_log_likelihood_bad_log_z(bas_model):
    rbm, X = bas_model
    with pytest.raises(ValueError, match="log_z"):
        E.log_likelihood(rbm, X, log_z="guess")
    with pytest.raises(TypeError, match="log_z"):
        E.log_likelihood(rbm, X, log_z=[1.0])
    with pytest.raises(ValueError, match="log_z must be finite"):
        E.log_likelihood(rbm, X, log_z=np.nan)


def test_pseudo_likelihood_exact_and_stochastic(bas_model):
    rbm, X = bas_model
    pl = E.pseudo_likelihood(rbm, X)
    # by definition: sum over sites of log sigmoid(F(flipped) - F(v))
    fe = rbm.free_energy(X)
    per_site = np.empty(X.shape)
    for i in range(X.shape[1]):
        Xf = X.copy()
        Xf[:, i] = 1 - Xf[:, i]
        per_site[:, i] = -np.logaddexp(0, -(rbm.free_energy(Xf) - fe))
    np.testing.assert_allclose(pl, per_site.sum(1), rtol=1e-10, atol=1e-10)
    # the stochastic estimate is n_features times one site's term, per row
    one = E.pseudo_likelihood(rbm, X, exact=False, random_state=3)
    scaled = per_site * X.shape[1]
    assert all(np.isclose(scaled[r], one[r], rtol=1e-10, atol=1e-10).any()
               for r in range(X.shape[0]))
    # unbiased: averaged over many draws it approaches the exact sum (bound: 5 s.e.)
    draws = np.array([E.pseudo_likelihood(rbm, X, exact=False, random_state=s)
                      for s in range(200)])
    se = draws.std(0, ddof=1) / np.sqrt(draws.shape[0])
    assert np.all(np.abs(draws.mean(0) - pl) <= 5 * se + 1e-9)
    with pytest.raises(TypeError, match="exact"):
        E.pseudo_likelihood(rbm, X, exact="yes")
    gauss = _random_model("gaussian", "bernoulli", nv=3, nh=2)
    with pytest.raises(ValueError, match="Bernoulli visible"):
        E.pseudo_likelihood(gauss, np.zeros((2, 3)))


def test_reconstruction_error_and_free_energy_gap(bas_model):
    rbm, X = bas_model
    assert E.reconstruction_error(rbm, X) == rbm.reconstruction_error(X)
    assert E.free_energy_gap(rbm, X, X) == 0.0
    gap = E.free_energy_gap(rbm, X, 1 - X[:5] * 0)   # all-ones rows vs the data
    assert gap == pytest.approx(rbm.free_energy(np.ones((5, 16))).mean()
                                - rbm.free_energy(X).mean())


def test_monitor_records_every_n_epochs():
    X = bars_and_stripes(3)
    data = np.repeat(X, 5, axis=0)
    mon = E.Monitor(X, "pseudo_likelihood", every=2)
    exact_mon = E.Monitor(X, "log_likelihood_exact", every=3)
    rbm = RBM(n_components=6, learning_rate=0.1, batch_size=10, n_iter=7, dtype="float64",
              random_state=0)
    rbm.fit(data, callback=lambda m, info: (mon(m, info), exact_mon(m, info)) and None)
    assert [h["epoch"] for h in mon.history] == [2, 4, 6]
    assert [h["epoch"] for h in exact_mon.history] == [3, 6]
    # the last recorded value is what the metric says of the model at epoch 6
    rbm6 = RBM(n_components=6, learning_rate=0.1, batch_size=10, n_iter=6, dtype="float64",
               random_state=0).fit(data)
    assert mon.values[-1] == pytest.approx(E.pseudo_likelihood(rbm6, X).mean(), abs=1e-12)
    assert exact_mon.values[-1] == pytest.approx(E.log_likelihood_exact(rbm6, X).mean(),
                                                 abs=1e-12)


def test_monitor_ais_tracks_exact_log_likelihood():
    X = bars_and_stripes(3)
    mon = E.Monitor(X, "log_likelihood", n_runs=50, betas=np.linspace(0, 1, 3001))
    rbm = RBM(n_components=6, learning_rate=0.1, batch_size=10, n_iter=30, dtype="float64",
              random_state=0).fit(np.repeat(X, 5, axis=0), callback=mon)
    assert len(mon.history) == 30
    assert mon.values[-1] == pytest.approx(E.log_likelihood_exact(rbm, X).mean(), abs=0.1)


def test_monitor_refusals():
    X = np.zeros((4, 3))
    with pytest.raises(ValueError, match="metric"):
        E.Monitor(X, "accuracy")
    with pytest.raises(ValueError, match="X_train"):
        E.Monitor(X, "free_energy_gap")
    with pytest.raises(ValueError, match="every"):
        E.Monitor(X, every=0)
    with pytest.raises(ValueError, match="2-D"):
        E.Monitor(np.zeros(3))
