"""Stepped sigmoid and NReLU hidden units: definitions, statistics, limits, free energy.

Generic kernel-vs-reference equality for every unit combination lives in
``test_kernels.py``; here each unit is checked against what it is *defined* to be:

* a stepped unit is N tied Bernoulli copies with bias offsets -0.5, -1.5, ...: its
  sample equals the sum of the copies of an explicit Bernoulli RBM drawn from the
  same uniforms, and its distribution is the Poisson-binomial of the copies;
* an NReLU unit samples ``max(0, x + sqrt(sigmoid(x)) eps)``; learning and
  ``transform`` use the exact mean of that rectified normal;
* free energies are the sums docs/units.md states, and their derivative is the mean.

Statistical checks use fixed seeds and 5-standard-error bounds from the sample size.
"""
from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest
from scipy import integrate
from scipy.special import ndtr

from fastrbm import _maths, RBM, reference
from fastrbm import ops
from fastrbm.units import HIDDEN_NAMES, VISIBLE_NAMES

from conftest import assert_close, assert_samples_equal, make_params

STEPPED, NRELU, BERNOULLI = (reference.HIDDEN_STEPPED, reference.HIDDEN_NRELU,
                             reference.HIDDEN_BERNOULLI)
BACKENDS = ["cython", "numpy"]
DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
#: Inputs at which statistics are checked: deep off, the kink, linear regime.
X_STATS = np.array([-4.0, -1.0, -0.3, 0.0, 0.7, 2.5, 6.0])


def _draw(backend, x, n_draws, hidden, n_copies, dtype, seed=11, step=3):
    """``n_draws`` independent samples of units whose total input is exactly ``x``.

    Visible input and weights are zero, so the hidden input is the bias ``x``; each
    row uses different uniform/normal indices of one stream.
    """
    dt = np.dtype(dtype)
    V = np.zeros((n_draws, 1), dtype=dt)
    W = np.zeros((x.size, 1), dtype=dt)
    c = np.asarray(x, dtype=dt)
    return ops.hidden_sample(V, W, c, None, hidden=HIDDEN_NAMES[hidden], n_copies=n_copies,
                             seed=seed, stream=5, step=step, n_threads=1, backend=backend)


# ------------------------------------------------------------ definitions
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_copies", [1, 3, 10])
def test_stepped_sample_is_sum_of_tied_copies(backend, n_copies, dtype):
    """Stepped sample == sum of an explicit Bernoulli RBM's N tied copies, same uniforms.

    Copy k of unit j becomes Bernoulli unit j*N + k with weights W_j and bias
    c_j - (k + 0.5); element (r, j*N + k) of that layer uses uniform
    (r * nh + j) * N + k, exactly the index the stepped unit documents.
    """
    W, b, c, _ = make_params(1, 7, 5, dtype, weight_scale=1.5)
    c = (c * 4).astype(dtype)            # spread the inputs over several copies
    V = (np.random.default_rng(2).random((40, 7)) < 0.5).astype(dtype)
    stepped = ops.hidden_sample(V, W, c, None, hidden="stepped", n_copies=n_copies, seed=9,
                                stream=4, step=2, n_threads=1, backend=backend)
    W_big = np.repeat(W, n_copies, axis=0)
    c_big = (np.repeat(c, n_copies) - np.tile(np.arange(n_copies) + 0.5, c.size)).astype(dtype)
    copies = ops.hidden_sample(V, W_big, c_big, None, hidden="bernoulli", n_copies=1, seed=9,
                               stream=4, step=2, n_threads=1, backend=backend)
    summed = copies.reshape(40, 5, n_copies).sum(-1)
    assert_samples_equal(stepped, summed, dtype)
    assert set(np.unique(stepped)) <= set(range(n_copies + 1))
    mean = ops.hidden_mean(V, W, c, None, hidden="stepped", n_copies=n_copies, n_threads=1,
                           backend=backend)
    mean_copies = ops.hidden_mean(V, W_big, c_big, None, hidden="bernoulli", n_copies=1,
                                  n_threads=1, backend=backend)
    assert_close(mean, mean_copies.reshape(40, 5, n_copies).sum(-1), dtype, factor=10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nrelu_sample_is_rectified_noisy_input(backend, dtype):
    """NReLU sample == max(0, x + sqrt(sigmoid(x)) * eps_i) with the documented normals."""
    W, b, c, _ = make_params(3, 6, 8, dtype, weight_scale=1.0)
    V = (np.random.default_rng(4).random((30, 6)) < 0.5).astype(dtype)
    x = reference.hidden_input(V.astype(np.float64), W.astype(np.float64), c.astype(np.float64))
    eps = reference.normals(9, 4, 2, x.shape)
    expected = np.maximum(0.0, x + np.sqrt(reference.sigmoid(x)) * eps)
    got = ops.hidden_sample(V, W, c, None, hidden="nrelu", n_copies=1, seed=9, stream=4, step=2,
                            n_threads=1, backend=backend)
    assert got.dtype == dtype and np.all(got >= 0)
    assert_close(got, expected, dtype, factor=10)
    # zeros exactly where the noisy input is <= 0 (float32 may round inputs within an
    # ulp of 0 the other way)
    if dtype == np.float64:
        assert np.array_equal(got == 0, expected == 0)


def _rectified_normal_moments(x):
    """E[Y^k], k = 1..4, of Y = max(0, x + sd eps) by quadrature (independent of the code)."""
    sd = np.sqrt(1 / (1 + np.exp(-x)))
    dens = lambda y: np.exp(-0.5 * ((y - x) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))  # noqa: E731
    return [integrate.quad(lambda y: y**k * dens(y), 0, max(x, 0) + 40 * sd,
                           epsabs=0, epsrel=1e-12, limit=200)[0] for k in (1, 2, 3, 4)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_nrelu_mean_is_exact_rectified_normal_mean(backend, dtype):
    """transform / the learning statistic == E[max(0, x + sd eps)] by quadrature."""
    xs = np.concatenate([X_STATS, [-30.0, -9.0, 15.0, 60.0]])
    exact = np.array([_rectified_normal_moments(x)[0] for x in xs])
    V = np.zeros((1, 1), dtype=dtype)
    got = ops.hidden_mean(V, np.zeros((xs.size, 1), dtype), xs.astype(dtype), None,
                          hidden="nrelu", n_threads=1, backend=backend)[0]
    np.testing.assert_allclose(got, exact, rtol=1e-6 if dtype == np.float32 else 1e-10,
                               atol=1e-30)


def test_nrelu_mean_kernel_series_on_a_dense_grid(dtype):
    """The kernels' vectorised mean (an erfc series, fastmath.h) against the reference's
    (scipy's ndtr in float64) at 280k inputs: float64 to 1e-12 where the mean is
    above 1e-8 and to 1e-16 absolute below; float32 to its rounding."""
    xs = np.linspace(-30.0, 40.0, 280_001).astype(dtype)
    got = ops.hidden_mean(np.zeros((1, 1), dtype), np.zeros((xs.size, 1), dtype), xs, None,
                          hidden="nrelu", n_threads=1)[0].astype(np.float64)
    ref = reference.nrelu_mean(xs.astype(np.float64))
    err = np.abs(got - ref)
    big = ref > 1e-8
    if dtype == np.float64:
        assert np.max(err[big] / ref[big]) < 1e-12     # x Phi + sd phi cancels below 0
        assert np.max(err[~big]) < 1e-16
    else:
        assert np.max(err / np.maximum(ref, 1.0)) < 3e-7


def _poisson_binomial(p):
    """pmf of a sum of independent Bernoulli(p_k), by convolution."""
    pmf = np.array([1.0])
    for pk in p:
        pmf = np.convolve(pmf, [1 - pk, pk])
    return pmf


def _central_moments(values, pmf):
    mean = pmf @ values
    d = values - mean
    return mean, pmf @ d**2, pmf @ d**4


# ------------------------------------------------------------ statistics
@pytest.mark.parametrize("n_copies", [1, 4, 10])
def test_stepped_sample_mean_and_variance(n_copies, dtype):
    """Sample mean -> sum_k sigma_k, sample variance -> sum_k sigma_k (1 - sigma_k).

    Bounds: 5 standard errors, sqrt(var / n) for the mean and sqrt((mu4 - var^2) / n)
    for the variance, with mu4 from the exact Poisson-binomial distribution.
    """
    n = 40000
    h = _draw("cython", X_STATS, n, STEPPED, n_copies, dtype).astype(np.float64)
    for j, x in enumerate(X_STATS):
        p = reference.sigmoid(np.float64(x) - (np.arange(n_copies) + 0.5))
        pmf = _poisson_binomial(p)
        mean, var, mu4 = _central_moments(np.arange(n_copies + 1.0), pmf)
        assert mean == pytest.approx(p.sum(), rel=1e-12)
        assert var == pytest.approx((p * (1 - p)).sum(), rel=1e-12, abs=1e-300)
        se_mean, se_var = np.sqrt(var / n), np.sqrt(max(mu4 - var**2, 0) / n)
        assert abs(h[:, j].mean() - mean) <= 5 * se_mean + 1e-12, (x, h[:, j].mean(), mean)
        assert abs(h[:, j].var() - var) <= 5 * se_var + 1e-12, (x, h[:, j].var(), var)
        # the full distribution: each count's frequency within 5 binomial SEs
        freq = np.bincount(h[:, j].astype(int), minlength=n_copies + 1) / n
        assert np.all(np.abs(freq - pmf) <= 5 * np.sqrt(pmf * (1 - pmf) / n) + 1e-12)


def test_nrelu_sample_mean_variance_and_zero_mass(dtype):
    """NReLU samples have the rectified normal's mean, variance and P(h = 0) = Phi(-x/sd)."""
    n = 40000
    h = _draw("cython", X_STATS, n, NRELU, 1, dtype).astype(np.float64)
    for j, x in enumerate(X_STATS):
        m1, m2, m3, m4 = _rectified_normal_moments(x)
        var = m2 - m1**2
        mu4 = m4 - 4 * m3 * m1 + 6 * m2 * m1**2 - 3 * m1**4
        assert abs(h[:, j].mean() - m1) <= 5 * np.sqrt(var / n), (x, h[:, j].mean(), m1)
        assert abs(h[:, j].var() - var) <= 5 * np.sqrt((mu4 - var**2) / n), (x, h[:, j].var(), var)
        p0 = ndtr(-x / np.sqrt(reference.sigmoid(np.float64(x))))
        assert abs(np.mean(h[:, j] == 0) - p0) <= 5 * np.sqrt(p0 * (1 - p0) / n) + 1e-12


def test_closed_form_nrelu_moments_match_quadrature():
    """The closed forms quoted in docs/units.md (via docs/units_table.py) are right."""
    table = _load_table_script()
    m, v = table.nrelu_moments(X_STATS)
    q = np.array([_rectified_normal_moments(x)[:2] for x in X_STATS])
    # the closed forms cancel for t << 0 (t = -30 at x = -4, moments ~1e-200): judge
    # them in absolute terms there, which is how the table uses them
    np.testing.assert_allclose(m, q[:, 0], rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(v, q[:, 1] - q[:, 0] ** 2, rtol=1e-10, atol=1e-15)


# ------------------------------------------------------------ limits as N grows
def test_stepped_mean_approaches_softplus_with_midpoint_error():
    """m_N -> sum_{k>=1} sigmoid(x - k + 0.5), which is softplus(x) up to the midpoint rule.

    The limit is the midpoint-rule sum of the integral of sigmoid(x - t) over t > 0
    (= softplus(x)); by Euler-Maclaurin its error is
    -sigmoid'(x) / 24 + 7 sigmoid'''(x) / 5760 + O(sigmoid^(5)(x) / 31000),
    at most 0.0106 in size (at x = 0), with sigmoid''' = sigmoid' (1 - 6 sigmoid').
    """
    x = np.linspace(-10, 10, 2001)
    sp = reference.softplus(x)
    limit = reference.hidden_mean(x, STEPPED, 200)
    ds = reference.sigmoid(x) * (1 - reference.sigmoid(x))
    np.testing.assert_allclose(limit - sp, -ds / 24 + 7 * ds * (1 - 6 * ds) / 5760, atol=1e-5)
    assert np.max(np.abs(limit - sp)) < 0.0107
    # finite N: the missing tail is sum_{k>N} sigmoid(x - k + 0.5) ~ softplus(x - N)
    errs = [np.max(np.abs(reference.hidden_mean(x, STEPPED, n) - limit)) for n in (5, 10, 20, 40)]
    assert all(a > b for a, b in zip(errs, errs[1:]))
    for n, e in zip((5, 10, 20, 40), errs):
        assert e == pytest.approx(reference.softplus(np.float64(10 - n)), rel=0.05)


def test_stepped_limit_is_not_nrelu_mean_near_zero():
    """The NReLU mean is the stepped limit only far from 0: measured gap 0.408 at x ~ -0.2.

    (The NReLU sample approximates the stepped unit's noise, sigmoid(x), but rectifying
    a normal does not reproduce the stepped mean near the kink.)
    """
    x = np.linspace(-10, 10, 4001)
    gap = np.abs(reference.hidden_mean(x, STEPPED, 200) - reference.nrelu_mean(x))
    assert gap.max() == pytest.approx(0.408, abs=1e-3)
    assert abs(x[gap.argmax()] + 0.21) < 0.02
    assert gap[np.abs(x) >= 8].max() < 1e-3


def test_docs_table_is_reproduced():
    """docs/units.md quotes exactly the table docs/units_table.py produces."""
    table = _load_table_script()
    text = (DOCS / "units.md").read_text()
    assert table.format_table(table.table_rows()) in text
    err, at = table.nrelu_vs_softplus()
    assert f"{err:.3g}" in text and f"{at:.2f}" in text


def _load_table_script():
    spec = importlib.util.spec_from_file_location("units_table", DOCS / "units_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------ free energy
def _hidden_free_energy_term(backend, x, hidden, n_copies):
    """-F of Bernoulli-visible model with v = 0 and hidden bias x: sum_j phi(x_j)."""
    V = np.zeros((1, 1))
    return -ops.free_energy(V, np.zeros((x.size, 1)), np.zeros(1), np.ascontiguousarray(x),
                            None, hidden=HIDDEN_NAMES[hidden], n_copies=n_copies,
                            n_threads=1, backend=backend)[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_free_energy_terms_are_the_stated_sums(backend):
    """phi_stepped = sum_k softplus(x - k + 0.5); phi_nrelu = the same sum to infinity."""
    for x in [-50.0, -3.0, 0.0, 0.4, 7.0, 39.7, 40.2, 95.5, 500.0]:
        xa = np.array([x])
        direct = sum(np.log1p(np.exp(x - k + 0.5)) if x - k + 0.5 < 30 else x - k + 0.5
                     for k in range(1, 8))
        assert _hidden_free_energy_term(backend, xa, STEPPED, 7) == pytest.approx(direct, rel=1e-13,
                                                                                  abs=1e-300)
        ks = np.arange(1, int(max(x, 0)) + 200)
        a = x - ks + 0.5
        infinite = np.sum(np.where(a > 30, a, np.log1p(np.exp(np.minimum(a, 30)))))
        assert _hidden_free_energy_term(backend, xa, NRELU, 1) == pytest.approx(
            infinite, rel=1e-13, abs=1e-17)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("hidden,n_copies", [(STEPPED, 1), (STEPPED, 6), (NRELU, 1)])
def test_free_energy_derivative_is_the_stepped_mean(backend, hidden, n_copies):
    """-dF/dc_j == mean of unit j for stepped units (central differences, float64).

    For NReLU units the derivative of the stated free energy (the infinite stepped
    sum) is the *stepped limit's* mean, not the rectified-normal mean that NReLU
    learning uses; docs/units.md says so.
    """
    x = np.array([-6.0, -0.8, 0.0, 1.3, 4.0, 12.0])
    eps = 1e-5
    fd = np.array([(_hidden_free_energy_term(backend, x + eps * e, hidden, n_copies)
                    - _hidden_free_energy_term(backend, x - eps * e, hidden, n_copies)) / (2 * eps)
                   for e in np.eye(x.size)])
    mean = reference.hidden_mean(x, STEPPED, 400 if hidden == NRELU else n_copies)
    np.testing.assert_allclose(fd, mean, rtol=1e-7, atol=1e-9)


def test_estimator_transform_uses_unit_means():
    """RBM.transform returns the stepped mean / NReLU rectified-normal mean of x."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((20, 4))
    for hidden, n_copies, mean in [("stepped", 5, lambda x: reference.hidden_mean(x, STEPPED, 5)),
                                   ("nrelu", 10, reference.nrelu_mean)]:
        m = RBM(3, visible="gaussian", hidden=hidden, n_copies=n_copies, n_iter=1,
                dtype="float64", random_state=0, init_scale=0.5).fit(X)
        x = (X / m.sigma_) @ m.components_.T + m.intercept_hidden_
        np.testing.assert_allclose(m.transform(X), mean(x), rtol=1e-12)


@pytest.mark.parametrize("visible", [reference.VISIBLE_BERNOULLI, reference.VISIBLE_GAUSSIAN])
def test_stepped_model_is_the_tied_copy_model(visible):
    """A stepped RBM *is* the Bernoulli RBM of its N tied copies: same F(v), same log Z.

    The stepped log Z sums (N+1)^nh levels with multiplicities; the copy model
    enumerates 2^(nh N) binary states (or the visible states): different code paths.
    """
    n_copies, nh, nv = 3, 3, 4
    W, b, c, s = make_params(8, nv, nh, np.float64, visible=visible, weight_scale=0.8)
    W_big = np.repeat(W, n_copies, axis=0)
    c_big = np.repeat(c, n_copies) - np.tile(np.arange(n_copies) + 0.5, nh)
    rng = np.random.default_rng(9)
    V = rng.standard_normal((10, nv)) if visible else (rng.random((10, nv)) < 0.5) * 1.0
    for backend in BACKENDS:
        def fe(W, c, hidden, n_copies, backend=backend):
            return ops.free_energy(V, W, b, np.ascontiguousarray(c), s,
                                   visible=VISIBLE_NAMES[visible], hidden=hidden,
                                   n_copies=n_copies, n_threads=1, backend=backend)
        np.testing.assert_allclose(fe(W, c, "stepped", n_copies),
                                   fe(W_big, c_big, "bernoulli", 1), rtol=1e-12)
    assert _maths.log_partition_exact(W, b, c, s, visible, STEPPED, n_copies) == pytest.approx(
        _maths.log_partition_exact(W_big, b, c_big, s, visible, BERNOULLI), rel=1e-12)
