"""Reverse annealing (RAISE): kernel vs reference, the estimator against enumeration,
the AIS / RAISE sandwich, refusals."""
from __future__ import annotations

import numpy as np
import pytest

from fastrbm import RBM, _ais, _maths, reference, streams
from fastrbm import evaluation as E
from fastrbm._constants import HIDDEN_CODES, VISIBLE_CODES
from fastrbm.datasets import bars_and_stripes, gaussian_mixture

COMBOS = [("bernoulli", "bernoulli"), ("bernoulli", "stepped"), ("bernoulli", "nrelu"),
          ("gaussian", "bernoulli"), ("gaussian", "stepped"), ("gaussian", "nrelu")]
EXACT = COMBOS[:5]                          # the combinations with an exact log Z
CODES = {**VISIBLE_CODES, **HIDDEN_CODES}   # "bernoulli" is 0 on either side


def _random_model(visible, hidden, dtype, nv=7, nh=5, seed=7):
    rng = np.random.default_rng(seed)
    vis = CODES[visible]
    W = (0.3 * rng.standard_normal((nh, nv))).astype(dtype)
    b = rng.standard_normal(nv).astype(dtype)
    c = rng.standard_normal(nh).astype(dtype)
    s = rng.uniform(0.7, 1.3, nv).astype(dtype) if vis else None
    X = (rng.standard_normal((30, nv)) if vis else (rng.random((30, nv)) < 0.3)).astype(dtype)
    return W, b, c, s, X


@pytest.mark.parametrize("visible,hidden", COMBOS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_kernel_raise_equals_reference(visible, hidden, dtype, n_threads):
    W, b, c, s, X = _random_model(visible, hidden, dtype)
    vis, hid = CODES[visible], CODES[hidden]
    base_b, base_s = _maths.ais_base(vis, X, b, s)
    betas = np.concatenate([np.linspace(0, 0.5, 20), np.linspace(0.5, 1, 41)[1:]])
    rows = X[:12:2]                                   # strided rows
    ref, ref_z = reference.reverse_ais(W, b, c, s, vis, hid, 3, betas, base_b, base_s, rows,
                                       7, 11)
    ker, ker_z = _ais.reverse_ais(W, b, c, s, vis, hid, 3, betas, base_b, base_s, rows, 7, 11,
                                  streams.PURPOSE_RAISE, n_threads, None, 17)  # odd segments
    assert ker.shape == ref.shape == (6, 7) and ker_z == ref_z
    # the same draws: a single differing sample moves a sum by ~1e-2 here. float32
    # kernels sum each transition's increments in float32 (the reference in float64):
    # ~60 transitions of terms of order 1 with float32 rounding (6e-8 relative) each
    # leave a few 1e-6 at most, far below a differing sample
    atol = 1e-9 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(ker, ref, rtol=0, atol=atol)
    # the chains differ from one another and from row to row
    assert np.unique(np.round(ref, 6)).size > ref.size // 2


def test_unit_split_path_equals_reference():
    """A model large enough for the unit-split products (barriers) on 2 threads."""
    rng = np.random.default_rng(3)
    nv, nh, rows, runs = 130, 120, 20, 7
    assert _ais.ais_unit_split(rows * runs, nv, nh, 2)
    W = 0.05 * rng.standard_normal((nh, nv))
    b = 0.1 * rng.standard_normal(nv)
    c = 0.1 * rng.standard_normal(nh)
    X = (rng.random((rows, nv)) < 0.3).astype(float)
    base_b, _ = _maths.ais_base(0, X, b, None)
    betas = np.linspace(0, 1, 31)
    ref, _ = reference.reverse_ais(W, b, c, None, 0, 1, 3, betas, base_b, None, X, runs, 5)
    for n_threads in (1, 2):
        ker, _ = _ais.reverse_ais(W, b, c, None, 0, 1, 3, betas, base_b, None, X, runs, 5,
                                  streams.PURPOSE_RAISE, n_threads, None, 11)
        np.testing.assert_allclose(ker, ref, rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def trained():
    """Tiny trained models of every combination that has an exact log Z."""
    bas = np.repeat(bars_and_stripes(3), 20, axis=0)
    G = gaussian_mixture(300, 6, 3, separation=3.0, random_state=0)[0]
    G = (G - G.mean(0)) / G.std(0)
    models = {}
    for visible, hidden in EXACT:
        data = bas if visible == "bernoulli" else G
        nh = 2 if hidden == "nrelu" else 6      # NReLU costs ~80 softplus terms a unit
        rbm = RBM(n_components=nh, visible=visible, hidden=hidden, n_copies=3,
                  learning_rate=0.05 if visible == "bernoulli" else 0.01, batch_size=10,
                  n_iter=200, dtype="float64", random_state=0).fit(data)
        models[visible, hidden] = (rbm, data)
    return models


def _exact_samples(rbm, n, seed):
    """n rows drawn exactly from a small Gaussian-visible model: h from its enumerated
    marginal, then v | h ~ N(b + s (h W), s^2)."""
    m = rbm.model_arrays()
    W, b, c, s = (np.asarray(a, dtype=np.float64) for a in (m.W, m.b, m.c, m.sigma))
    nh = W.shape[0]
    values, logmult = _maths._hidden_levels(HIDDEN_CODES[m.hidden], m.n_copies)
    idx = np.arange(values.size ** nh)
    digits = (idx[:, None] // values.size ** np.arange(nh)) % values.size
    h = values[digits]
    a = h @ W
    log_p = h @ c + logmult[digits].sum(1) + (a * (b / s) + 0.5 * a * a).sum(1)
    p = np.exp(log_p - log_p.max())
    rng = np.random.default_rng(seed)
    pick = rng.choice(idx.size, size=n, p=p / p.sum())
    return b + s * a[pick] + s * rng.standard_normal((n, b.size))


@pytest.mark.parametrize("visible,hidden", EXACT)
@pytest.mark.parametrize("n_betas", [30, 100])
def test_raise_weights_are_unbiased_for_a_normalised_model(trained, visible, hidden, n_betas):
    """E[w(x)] is p_ann(x), the annealing model's probability, for any schedule; p_ann
    sums to 1. Bernoulli visible: T = sum over all 2^9 states x of mean_q w_q(x);
    Gaussian visible: T = mean over x ~ p exactly of mean_q w_q(x) / p(x) (importance
    sampling of the integral of p_ann). Either way E[T] = 1, and T is a sum of
    independent terms whose variances the runs estimate, so |T - 1| <= 4 s.e. (a false
    alarm ~1e-4). Coarse schedules make p_ann far from p, so a weight with a wrong sign,
    a temperature off by one, a wrong base log Z or a transition that is not its own
    reverse moves T far outside (checked by planting each)."""
    rbm, data = trained[visible, hidden]
    runs = 20
    if visible == "bernoulli":
        X = ((np.arange(512)[:, None] >> np.arange(9)) & 1).astype(np.float64)
        scale = np.zeros(512)                          # sum: log 1
    else:
        X = _exact_samples(rbm, 400, seed=n_betas)
        scale = -E.log_likelihood_exact(rbm, X) - np.log(X.shape[0])   # mean of w / p
    res = E.reverse_ais(rbm, X, n_runs=runs, betas=np.linspace(0, 1, n_betas + 1),
                        data=data, random_state=n_betas)
    w = np.exp(res.log_weights + scale[:, None])
    T = w.mean(1).sum()
    se = np.sqrt((w.var(1, ddof=1) / runs).sum())
    assert abs(T - 1) <= 4 * se, (T, se)
    assert se < 0.1                                    # the test has power


@pytest.mark.parametrize("visible,hidden", EXACT)
def test_sandwich_brackets_the_exact_log_likelihood(trained, visible, hidden):
    """Default schedule. AIS: log Z from below in expectation, so its log-likelihood is
    above the exact one up to noise; its reported interval is 3 s.e. of mean(w), so it
    holds the exact value. RAISE: each row's log mean(w) has expectation about
    log p_ann(x) - d^2 / 2 (delta method; d = se(mean w) / mean w, the row's reported
    relative spread), and p_ann = p up to the path's error, which 14,500 temperatures
    make negligible here; the mean over rows has standard error sqrt(sum d^2) / n, so
    exact lies in [mean_low, mean_high + mean(d^2) / 2]."""
    rbm, data = trained[visible, hidden]
    X = bars_and_stripes(3) if visible == "bernoulli" else data[:20]
    exact = E.log_likelihood_exact(rbm, X).mean()
    sw = E.sandwich(rbm, X, n_runs=100, n_runs_raise=10, data=data, random_state=0)
    ais, low = sw.ais, sw.reverse_ais
    assert ais.method == "ais" and low.method == "raise"
    assert ais.mean_low <= exact <= ais.mean_high
    r = low.reverse_ais
    w = np.exp(r.log_weights - r.log_weights.max(1, keepdims=True))
    d2 = w.var(1, ddof=1) / w.shape[1] / w.mean(1) ** 2
    assert low.mean_low <= exact <= low.mean_high + d2.mean() / 2
    # and the two are tight: the whole sandwich within a few hundredths of a nat
    lo, hi = sw.interval
    assert lo <= exact <= hi and hi - lo < 0.15
    np.testing.assert_allclose(low.mean, r.per_row.mean())
    np.testing.assert_allclose(low.log_z, np.mean(-rbm.free_energy(X)) - low.mean)


def test_the_sandwich_narrows_as_the_temperatures_grow(trained):
    rbm, data = trained["bernoulli", "bernoulli"]
    X = bars_and_stripes(3)
    exact = E.log_likelihood_exact(rbm, X).mean()
    widths, gaps = [], []
    for n_betas in (30, 300, 3000):
        sw = E.sandwich(rbm, X, n_runs=100, n_runs_raise=10, data=data, random_state=2,
                        betas=np.linspace(0, 1, n_betas + 1))
        lo, hi = sw.interval
        assert lo <= exact <= hi
        widths.append(hi - lo)
        gaps.append(abs(sw.gap))
    # the log weights' variance falls about as 1 / n_betas: ten times the temperatures,
    # about sqrt(10) less spread; at least 2x narrower each time
    assert widths[1] < widths[0] / 2 and widths[2] < widths[1] / 2
    assert gaps[2] < 0.05


def test_same_estimate_any_thread_count_and_backend(trained):
    rbm, data = trained["bernoulli", "stepped"]
    X = bars_and_stripes(3)
    kw = dict(n_runs=5, betas=np.linspace(0, 1, 101), data=data, random_state=4)
    a = E.reverse_ais(rbm, X, n_threads=1, **kw)
    b = E.reverse_ais(rbm, X, n_threads=2, **kw)
    c = E.reverse_ais(rbm, X, backend="numpy", **kw)
    np.testing.assert_array_equal(a.log_weights, b.log_weights)
    np.testing.assert_allclose(a.log_weights, c.log_weights, rtol=0, atol=1e-9)
    ll = E.log_likelihood(rbm, X, method="raise", **kw)
    assert ll.method == "raise" and ll.mean == a.mean
    assert ll.mean_low < ll.mean < ll.mean_high
    assert np.all(a.per_row_low <= a.per_row) and np.all(a.per_row <= a.per_row_high)


def test_float32_model_runs_and_agrees_with_float64(trained):
    rbm64, data = trained["bernoulli", "bernoulli"]
    rbm32 = RBM(n_components=6, learning_rate=0.05, batch_size=10, n_iter=200,
                dtype="float32", random_state=0).fit(data)
    X = bars_and_stripes(3)
    exact = E.log_likelihood_exact(rbm32, X).mean()
    r = E.reverse_ais(rbm32, X, n_runs=10, betas=np.linspace(0, 1, 2001), data=data,
                      random_state=0)
    assert r.log_weights.dtype == np.float64
    assert r.mean_low <= exact <= r.mean_high + 0.01


def test_refusals_name_the_argument_and_leave_the_model_untouched(trained, capsys):
    rbm, data = trained["bernoulli", "bernoulli"]
    before = [a.copy() for a in (rbm.components_, rbm.intercept_visible_,
                                 rbm.intercept_hidden_)]
    X = bars_and_stripes(3)
    bad_nan = X.copy()
    bad_nan[0, 0] = np.nan
    for bad, pattern in ((X[:, :4], "X"), (X[0], "X"), (bad_nan, "X"),
                         (np.full((3, 9), 2.0), "X"), (X.astype(complex), "X")):
        with pytest.raises(ValueError, match=pattern):
            E.reverse_ais(rbm, bad, n_runs=2, betas=[0.0, 1.0])
    with pytest.raises(TypeError, match="X"):               # the project's dtype refusal
        E.reverse_ais(rbm, np.array([["a"] * 9]), n_runs=2, betas=[0.0, 1.0])
    with pytest.raises(ValueError, match="n_runs"):
        E.reverse_ais(rbm, X, n_runs=1)
    with pytest.raises(ValueError, match="betas"):
        E.reverse_ais(rbm, X, betas=[0.0, 0.7, 0.5, 1.0])
    with pytest.raises(ValueError, match="base"):
        E.reverse_ais(rbm, X, base="gaussian")
    with pytest.raises(ValueError, match="data"):
        E.reverse_ais(rbm, X, data=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="backend"):
        E.reverse_ais(rbm, X, backend="torch")
    with pytest.raises(ValueError, match="log_z"):
        E.log_likelihood(rbm, X, log_z=3.0, method="raise")
    with pytest.raises(ValueError, match="method"):
        E.log_likelihood(rbm, X, method="bogus")
    with pytest.raises(ValueError, match="X"):
        E.sandwich(rbm, X[:, :3])
    for a, b in zip(before, (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)):
        np.testing.assert_array_equal(a, b)
    # ops refuses what the kernels would misread, for both backends
    from fastrbm import ops
    m = rbm.model_arrays()
    for backend in ("cython", "numpy"):
        with pytest.raises(TypeError, match="X"):
            ops.reverse_ais(m.W, m.b, m.c, X=X.astype(np.float32), betas=np.linspace(0, 1, 3),
                            base_b=np.zeros(9), n_runs=2, seed=0, backend=backend)
    # verbose prints progress and the result; quiet prints nothing
    E.reverse_ais(rbm, X, n_runs=2, betas=np.linspace(0, 1, 2001), random_state=0)
    assert capsys.readouterr().out == ""
    E.reverse_ais(rbm, X, n_runs=2, betas=np.linspace(0, 1, 2001), verbose=True,
                  random_state=0)
    out = capsys.readouterr().out
    assert "[RAISE]" in out and "2000/2000" in out and "mean log p(x)" in out
