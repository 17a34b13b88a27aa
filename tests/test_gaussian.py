"""Gaussian visible units: conditionals, exact log Z and gradients, CD, learning, failure.

A tiny Gaussian-Bernoulli RBM is solved exactly: given h, v is Gaussian, so

    p(h) ∝ exp(c.h + sum_i (a_i b_i / s_i + a_i^2 / 2)),   a = h W,
    v_i | h ~ N(b_i + s_i a_i, s_i^2),

and every model expectation of the log-likelihood gradient is a finite sum over h.
With vt = v / s and z = log s^2 the gradient of the mean log-likelihood is

    dW_ji : <vt_i h_j>_data - E_h[h_j (b_i / s_i + a_i)]
    db_i  : <(v_i - b_i) / s_i^2>_data - E_h[a_i / s_i]
    dc_j  : <h_j>_data - E_h[h_j]
    dz_i  : <(vt_i - b_i/s_i)^2 / 2 - vt_i (h W)_i / 2>_data - E_h[(1 - a_i b_i / s_i) / 2]

(data terms use the hidden means; the last line integrates v out:
E[(vt - b/s)^2] = a^2 + 1 and E[vt] a = (b/s + a) a).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.special import logsumexp

from fastrbm import RBM, GaussianRBM, reference
from fastrbm import ops
from fastrbm.datasets import gaussian_mixture
from fastrbm.evaluation import log_likelihood_exact, log_partition_exact
from fastrbm.rbm import DivergenceError

from conftest import make_hyper, make_state

GAUSS = reference.VISIBLE_GAUSSIAN
BACKENDS = ["cython", "numpy"]


# ------------------------------------------------------------ helpers
def _tiny(seed=0, nv=3, nh=5):
    """A tiny Gaussian-Bernoulli model and off-model data (float64)."""
    rng = np.random.default_rng(seed)
    W = 0.6 * rng.standard_normal((nh, nv))
    b = 0.5 * rng.standard_normal(nv)
    c = 0.5 * rng.standard_normal(nh)
    s = rng.uniform(0.6, 1.4, nv)
    X = rng.standard_normal((50, nv)) * np.linspace(1.5, 0.7, nv) + 0.3
    return W, b, c, s, X


def _rbm(W, b, c, s, **kw):
    """A fitted-looking Gaussian-Bernoulli RBM holding the given parameters."""
    m = RBM(W.shape[0], visible="gaussian", hidden="bernoulli", dtype="float64", **kw)
    m.components_, m.intercept_visible_, m.intercept_hidden_ = W.copy(), b.copy(), c.copy()
    m.sigma_ = s.copy()
    m.n_features_in_, m.n_iter_, m._seed = W.shape[1], 0, 0
    m._n_updates = m._n_sample_calls = 0
    m._state = None
    return m


def _hidden_states(n):
    i = np.arange(2**n)
    return ((i[:, None] >> np.arange(n)) & 1).astype(np.float64)


def _mean_loglik(W, b, c, s, X):
    return float(np.mean(log_likelihood_exact(_rbm(W, b, c, s), X)))


def _exact_gradient(W, b, c, s, X):
    """(dW, db, dc, dz) of the mean log-likelihood, by enumeration (module docstring)."""
    H = _hidden_states(W.shape[0])
    a = H @ W
    logp = H @ c + (a * (b / s) + 0.5 * a * a).sum(1)
    p = np.exp(logp - logsumexp(logp))
    vt = X / s
    hd = reference.sigmoid(vt @ W.T + c)
    dW = hd.T @ vt / len(X) - (p[:, None] * H).T @ (b / s + a)
    db = ((X - b) / s**2).mean(0) - p @ a / s
    dc = hd.mean(0) - p @ H
    dz = (0.5 * (vt - b / s) ** 2 - 0.5 * vt * (hd @ W)).mean(0) - p @ (0.5 * (1 - a * b / s))
    return dW, db, dc, dz


# ------------------------------------------------------------ conditionals
@pytest.mark.parametrize("backend", BACKENDS)
def test_visible_sample_is_mean_plus_sigma_noise(backend, dtype):
    """v = b + s (h W) + s eps_i with the documented normals, non-unit sigma."""
    W, b, c, s, _ = _tiny(1, nv=6, nh=4)
    W, b, s = W.astype(dtype), b.astype(dtype), s.astype(dtype)
    H = (np.random.default_rng(2).random((25, 4)) < 0.5).astype(dtype)
    mean = b.astype(np.float64) + s * (H.astype(np.float64) @ W.astype(np.float64))
    expected = mean + s.astype(np.float64) * reference.normals(7, 3, 5, mean.shape)
    got = ops.visible_sample(H, W, b, s, visible="gaussian", seed=7, stream=3, step=5,
                             n_threads=1, backend=backend)
    got_mean = ops.visible_mean(H, W, b, s, visible="gaussian", n_threads=1, backend=backend)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(got_mean, mean, rtol=tol, atol=tol)


def test_visible_sample_mean_and_variance(dtype):
    """Samples of v | h have mean y_i and variance s_i^2 (5 SE; Var(s^2 hat) = 2 s^4 / n)."""
    n = 40000
    y = np.array([-3.0, -0.5, 0.0, 1.2, 4.0])
    s = np.array([0.1, 0.5, 1.0, 2.0, 3.5])
    H = np.zeros((n, 1), dtype=dtype)
    v = ops.visible_sample(H, np.zeros((1, 5), dtype), y.astype(dtype), s.astype(dtype),
                           visible="gaussian", seed=3, stream=9, step=1, n_threads=1)
    v = v.astype(np.float64)
    assert np.all(np.abs(v.mean(0) - y) <= 5 * s / np.sqrt(n) + 1e-6 * np.abs(y))
    assert np.all(np.abs(v.var(0) - s**2) <= 5 * np.sqrt(2 / n) * s**2)


# ------------------------------------------------------------ exact log Z
def test_log_partition_exact_matches_quadrature():
    """log Z: closed-form Gaussian integral (evaluation) == 1-D quadrature per unit, summed over h."""
    W, b, c, s, _ = _tiny(3)
    H = _hidden_states(W.shape[0])
    terms = []
    for h in H:
        a = h @ W
        log_int = [np.log(integrate.quad(
            lambda v: np.exp(-(v - b[i]) ** 2 / (2 * s[i] ** 2) + v / s[i] * a[i]),
            -np.inf, np.inf, epsabs=0, epsrel=1e-12)[0]) for i in range(W.shape[1])]
        terms.append(h @ c + sum(log_int))
    assert log_partition_exact(_rbm(W, b, c, s)) == pytest.approx(logsumexp(terms), rel=1e-10)


def test_free_energy_integrates_to_partition_function():
    """∫ exp(-F(v)) dv over a 2-D grid == exp(log Z): free energy and log Z agree."""
    W, b, c, s, _ = _tiny(4, nv=2, nh=4)
    m = _rbm(W, b, c, s)
    g = np.linspace(-14, 14, 1401)
    V = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    dv = (g[1] - g[0]) ** 2
    log_int = logsumexp(-m.free_energy(V)) + np.log(dv)
    assert log_int == pytest.approx(log_partition_exact(m), abs=1e-8)
    assert np.isclose(np.exp(log_likelihood_exact(m, V)).sum() * dv, 1.0, atol=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sample_reaches_exact_model_moments(backend):
    """RBM.sample (Gibbs) on a tiny Gaussian-Bernoulli model: per-unit mean and variance
    of v match the enumerated mixture sum_h p(h) N(b + s a_h, s^2) within 5 SE.

    SEs use the exact variance and fourth central moment of the mixture.
    """
    W, b, c, s, _ = _tiny(6, nv=3, nh=4)
    n = 4000
    v = _rbm(W, b, c, s, random_state=1, backend=backend).sample(n, n_steps=40)
    H = _hidden_states(W.shape[0])
    a = H @ W
    logp = H @ c + (a * (b / s) + 0.5 * a * a).sum(1)
    p = np.exp(logp - logsumexp(logp))
    mu_h = b + s * a                                    # (states, nv)
    mean = p @ mu_h
    d = mu_h - mean
    var = p @ d**2 + s**2
    mu4 = p @ (d**4 + 6 * d**2 * s**2) + 3 * s**4
    assert np.all(np.abs(v.mean(0) - mean) <= 5 * np.sqrt(var / n)), (v.mean(0), mean)
    assert np.all(np.abs(v.var(0) - var) <= 5 * np.sqrt((mu4 - var**2) / n)), (v.var(0), var)
    assert np.max(np.abs(mean - b)) > 0.2          # the hidden units matter here


# ------------------------------------------------------------ exact gradient
def test_exact_gradient_matches_finite_differences():
    """Enumerated gradient (W, b, c and z = log s^2) == central differences of the exact LL."""
    W, b, c, s, X = _tiny(5)
    dW, db, dc, dz = _exact_gradient(W, b, c, s, X)
    eps = 1e-5

    def fd(param, f):
        out = np.empty(param.shape)
        for idx in np.ndindex(param.shape):
            e = np.zeros(param.shape)
            e[idx] = eps
            out[idx] = (f(param + e) - f(param - e)) / (2 * eps)
        return out

    tol = dict(rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fd(W, lambda p: _mean_loglik(p, b, c, s, X)), dW, **tol)
    np.testing.assert_allclose(fd(b, lambda p: _mean_loglik(W, p, c, s, X)), db, **tol)
    np.testing.assert_allclose(fd(c, lambda p: _mean_loglik(W, b, p, s, X)), dc, **tol)
    z = np.log(s**2)
    np.testing.assert_allclose(fd(z, lambda p: _mean_loglik(W, b, c, np.exp(p / 2), X)), dz,
                               **tol)


def _cd_gradients(backend, W, b, c, s, X, n_repeats, **hyper_kw):
    """CD-k update / learning rate, one full-batch step per repeat (fresh random draws).

    Learning rates of 1 and no momentum make the parameter change the gradient
    estimate; for z = log s^2 the change is 2 (log s_new - log s_old).
    """
    hyper = make_hyper(visible=GAUSS, hidden=0, batch_size=len(X), learning_rate=1.0,
                       learn_sigma=True, sigma_learning_rate=1.0, min_sigma=1e-6, **hyper_kw)
    order = np.arange(len(X), dtype=np.int64)
    est = []
    for rep in range(n_repeats):
        st = make_state(W, b, c, s, hyper)
        ops.fit_epoch(st, hyper, X, order=order, seed=7, step=rep, n_threads=1,
                      backend=backend)
        est.append(np.concatenate([(st.W - W).ravel(), st.b - b, st.c - c,
                                   2 * (np.log(st.sigma) - np.log(s))]))
    return np.array(est)


def test_cd_gradient_with_long_chains_matches_exact_in_expectation():
    """CD-30 with sampled reconstructions: mean over repeats within 5 SE of the exact gradient.

    A biased statistic (e.g. b's 1/s factor, the 1/2 in dz) moves some component by
    0.1-1, i.e. hundreds of SEs here.
    """
    W, b, c, s, X = _tiny(0)
    Xb = np.ascontiguousarray(np.tile(X, (60, 1)))          # 3000 rows
    est = _cd_gradients("cython", W, b, c, s, Xb, 24, k=30, sample_visible=True)
    exact = np.concatenate([g.ravel() for g in _exact_gradient(W, b, c, s, X)])
    se = est.std(0, ddof=1) / np.sqrt(len(est))
    assert np.all(np.abs(est.mean(0) - exact) <= 5 * se), np.round((est.mean(0) - exact) / se, 1)
    assert np.max(np.abs(exact)) > 0.5          # the check is not against a zero gradient


def test_cd_numpy_backend_gives_the_same_gradient_estimate():
    """The reference backend's CD step draws the same numbers: the same estimates."""
    W, b, c, s, X = _tiny(0)
    Xb = np.ascontiguousarray(np.tile(X, (4, 1)))
    kw = dict(k=3, sample_visible=True)
    np.testing.assert_allclose(_cd_gradients("numpy", W, b, c, s, Xb, 2, **kw),
                               _cd_gradients("cython", W, b, c, s, Xb, 2, **kw),
                               rtol=1e-9, atol=1e-11)


def test_mean_reconstruction_sigma_gradient_includes_the_noise_term():
    """With the visible *mean* as the last reconstruction (the Gaussian default) the
    negative z-statistic adds the E[eps^2] / 2 = 1/2 per row that the mean leaves out.

    Without that term the bias was +0.45..+0.48 per unit; with it what remains is the
    usual mean-field bias of the hidden statistic (measured -0.02..-0.05).
    """
    W, b, c, s, X = _tiny(0)
    Xb = np.ascontiguousarray(np.tile(X, (60, 1)))
    est = _cd_gradients("cython", W, b, c, s, Xb, 8, k=30, sample_visible=False)
    dz_exact = _exact_gradient(W, b, c, s, X)[3]
    bias = est[:, -3:].mean(0) - dz_exact
    assert np.all(np.abs(bias) < 0.1), bias


# ------------------------------------------------------------ learning
def _standardised_mixture(n=3000, d=2, k=3, sep=4.0, seed=0):
    X, labels, _ = gaussian_mixture(n, d, k, separation=sep, random_state=seed)
    return (X - X.mean(0)) / X.std(0), labels


def test_tiny_model_learns_mixture_exact_loglik_improves():
    """Learned sigma + PCD on a standardised 2-D three-component mixture: exact LL rises.

    N(0, I) (the model at W = 0, b = 0, s = 1) scores -log(2 pi) - 1 = -2.838 nats on
    standardised data and no single Gaussian does better. Measured at epochs 10..40:
    -2.79, -2.70, -2.60, -2.54. (With s fixed at 1 a mixture of unit-variance
    Gaussians cannot fit clusters of variance ~0.16: CD-1 with sampled reconstructions
    reaches only -2.78; with the default mean reconstruction the LL *falls* to -2.99.)
    """
    Z, _ = _standardised_mixture()
    baseline = -np.log(2 * np.pi) - 1
    m = RBM(8, visible="gaussian", hidden="bernoulli", learning_rate=0.005,
            sigma_learning_rate=0.005, learn_sigma=True, sample_visible=True, persistent=True,
            n_iter=1, batch_size=50, dtype="float64", random_state=0, init_scale=0.1).fit(Z)
    lls = []
    for epoch in range(2, 41):
        m.partial_fit(Z)
        if epoch % 10 == 0:
            lls.append(float(np.mean(log_likelihood_exact(m, Z))))
    assert all(a < b for a, b in zip(lls, lls[1:])), lls
    assert lls[-1] > baseline + 0.25, lls


def test_learned_sigma_recovers_data_scale():
    """learn_sigma with sampled reconstructions: sigma -> the per-feature std of the data."""
    rng = np.random.default_rng(1)
    scales = np.array([0.5, 1.0, 2.0])
    X = rng.standard_normal((5000, 3)) * scales
    m = RBM(4, visible="gaussian", learn_sigma=True, sample_visible=True, n_iter=30,
            learning_rate=0.01, sigma_learning_rate=0.01, dtype="float64",
            random_state=0).fit(X)
    np.testing.assert_allclose(m.sigma_, scales, rtol=0.03)


def test_learned_sigma_recovers_data_scale_with_defaults():
    """The same with the default (mean) reconstruction: the negative z-statistic adds the
    noise term E[eps^2]/2 the mean leaves out (before that fix sigma came out ~4x too big)."""
    rng = np.random.default_rng(1)
    scales = np.array([0.5, 1.0, 2.0])
    X = rng.standard_normal((5000, 3)) * scales
    m = RBM(4, visible="gaussian", learn_sigma=True, n_iter=30, learning_rate=0.01,
            sigma_learning_rate=0.01, dtype="float64", random_state=0).fit(X)
    np.testing.assert_allclose(m.sigma_, scales, rtol=0.03)


def test_sigma_floor_holds():
    """A feature with std 0.01 drives sigma down to min_sigma and no further."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((2000, 2)) * [1.0, 0.01]
    m = RBM(3, visible="gaussian", learn_sigma=True, sample_visible=True, min_sigma=0.2,
            n_iter=20, learning_rate=0.01, sigma_learning_rate=0.05, dtype="float64",
            random_state=0).fit(X)
    assert m.sigma_[1] == pytest.approx(0.2, rel=1e-12)
    assert m.sigma_[0] == pytest.approx(1.0, rel=0.05)


def test_gaussian_rbm_features_separate_mixture_components():
    """GaussianRBM (NReLU hidden) features cluster by mixture component.

    8-D, four components, separation 4. k-means on the features: adjusted Rand index
    measured 0.905 (k-means on the data itself: 0.906; on the untrained model's
    features: 0.60, so the bound below fails without learning). Held-out nearest
    class mean in feature space: 0.963, the same as on the raw data.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    Z, labels = _standardised_mixture(n=4000, d=8, k=4, sep=4.0, seed=3)
    F = {}
    for n_iter in (0, 30):
        m = GaussianRBM(16, n_iter=n_iter, learning_rate=0.01, batch_size=20,
                        random_state=0).fit(Z[:3000])
        F[n_iter] = m.transform(Z).astype(np.float64)
    assert np.all(np.isfinite(F[30])) and np.all(F[30] >= 0)
    ari = {n: adjusted_rand_score(labels, KMeans(4, n_init=4, random_state=0).fit_predict(f))
           for n, f in F.items()}
    assert ari[30] > 0.85 and ari[0] < 0.75, ari
    means = np.array([F[30][:3000][labels[:3000] == k].mean(0) for k in range(4)])
    pred = np.argmin(((F[30][3000:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert np.mean(pred == labels[3000:]) > 0.95


# ------------------------------------------------------------ defaults and failure
def test_gaussian_defaults():
    """GaussianRBM = RBM(gaussian, nrelu), small learning rate, mean reconstructions."""
    m = GaussianRBM()
    assert (m.visible, m.hidden, m.learning_rate, m.sigma) == ("gaussian", "nrelu", 0.005, 1.0)
    h = m.training_settings()
    assert h.sample_visible is False and h.sigma_learning_rate == pytest.approx(0.0005)
    assert RBM(visible="gaussian").training_settings().learning_rate == 0.005
    assert RBM().training_settings().learning_rate == 0.1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("learn_sigma", [False, True])
def test_divergence_raises_and_keeps_last_good_parameters(backend, learn_sigma):
    """A huge learning rate: DivergenceError naming the epoch; last good epoch kept."""
    Z, _ = _standardised_mixture(n=400, d=4)
    m = GaussianRBM(6, n_iter=1, random_state=0, backend=backend, learn_sigma=learn_sigma,
                    sample_visible=True if learn_sigma else None)
    m.partial_fit(Z)
    m.partial_fit(Z)
    good = {k: getattr(m, k).copy() for k in
            ("components_", "intercept_visible_", "intercept_hidden_", "sigma_")}
    m.set_params(learning_rate=1e8, sigma_learning_rate=1e3 if learn_sigma else None)
    with pytest.raises(DivergenceError, match=r"epoch 3\b.*epoch 2 are kept"):
        m.partial_fit(Z)
    for k, v in good.items():
        np.testing.assert_array_equal(getattr(m, k), v, err_msg=k)
    assert m.n_iter_ == 2
    with pytest.raises(DivergenceError, match=r"epoch 1\b"):
        GaussianRBM(6, n_iter=3, learning_rate=1e8, random_state=0, backend=backend).fit(Z)
