"""Every compiled kernel against its NumPy twin in :mod:`fastrbm.reference`.

Same random stream on both sides, so sampled states are compared exactly (float32: at
most a handful of flips where a uniform sits within a few ulp of the probability);
means, free energies and parameters within tight tolerances (see conftest.RTOL).
"""
import math

import numpy as np
import pytest
from scipy import stats

from fastrbm import _kernels, reference, streams
from conftest import (HIDDEN, VISIBLE, assert_close, assert_continuous_samples_close,
                      assert_samples_equal, make_data, make_hyper, make_params, make_state)

NRELU = reference.HIDDEN_NRELU
GAUSS = reference.VISIBLE_GAUSSIAN
N_COPIES = 3

pytestmark = pytest.mark.usefixtures("one_blas_thread")
UNITS = [(v, h) for v in VISIBLE for h in HIDDEN]
THREADS = [1, 2]

# Large enough that the row-split inference kernels take the OpenMP path:
# 300 rows x (64 + 200) units >= PARALLEL_MIN_ELEMENTS = 8192, 150 rows per thread.
BIG_ROWS, BIG_VIS, BIG_HID = 300, 64, 200


def _n_copies(hidden):
    return N_COPIES if hidden == reference.HIDDEN_STEPPED else 1


def _assert_hidden_samples(actual, expected, hidden, dtype):
    if hidden == NRELU:
        assert_continuous_samples_close(actual, expected, dtype)
    else:
        assert_samples_equal(actual, expected, dtype)


def _assert_visible_samples(actual, expected, visible, dtype):
    if visible == GAUSS:
        assert_continuous_samples_close(actual, expected, dtype)
    else:
        assert_samples_equal(actual, expected, dtype)


def _hidden_states(seed, n, nh, hidden, dtype):
    """Hidden states of the right kind: binary, 0..N counts, or non-negative reals."""
    rng = np.random.default_rng(seed)
    if hidden == NRELU:
        return np.maximum(rng.standard_normal((n, nh)) * 1.5, 0).astype(dtype)
    return rng.integers(0, _n_copies(hidden) + 1, (n, nh)).astype(dtype)


# ------------------------------------------------------------- conditionals
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("vis,hid", UNITS)
def test_hidden_conditional(vis, hid, dtype, n_threads):
    v, h = VISIBLE[vis], HIDDEN[hid]
    nc = _n_copies(h)
    W, b, c, s = make_params(1, BIG_VIS, BIG_HID, dtype, v, weight_scale=0.25)
    V = make_data(2, BIG_ROWS, BIG_VIS, dtype, v)
    seed, stream, step = 12345, streams.hidden(1), 7
    mean = np.empty((BIG_ROWS, BIG_HID), dtype=dtype)
    samp = np.empty_like(mean)
    _kernels.hidden_conditional(V, W, c, s, h, nc, seed, stream, step, mean, samp, n_threads)
    rmean, rsamp = reference.hidden_conditional(V, W, c, s, h, nc, seed, stream, step)
    assert rmean.dtype == dtype and rsamp.dtype == dtype
    assert_close(mean, rmean, dtype)
    _assert_hidden_samples(samp, rsamp, h, dtype)
    # the sample is a real draw: neither constant nor equal to the mean
    assert 0.05 < np.mean(samp > 0) < 0.95
    # mean only / sample only give the same numbers as both together
    m2 = np.empty_like(mean)
    s2 = np.empty_like(mean)
    _kernels.hidden_conditional(V, W, c, s, h, nc, seed, stream, step, m2, None, n_threads)
    _kernels.hidden_conditional(V, W, c, s, h, nc, seed, stream, step, None, s2, n_threads)
    np.testing.assert_array_equal(m2, mean)
    np.testing.assert_array_equal(s2, samp)


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("sample", [False, True], ids=["mean", "sample"])
@pytest.mark.parametrize("vis,hid", UNITS)
def test_visible_conditional(vis, hid, sample, dtype, n_threads):
    v, h = VISIBLE[vis], HIDDEN[hid]
    W, b, c, s = make_params(3, BIG_VIS, BIG_HID, dtype, v, weight_scale=0.1)
    H = _hidden_states(4, BIG_ROWS, BIG_HID, h, dtype)
    seed, stream, step = 777, streams.visible(2), 3
    out = np.empty((BIG_ROWS, BIG_VIS), dtype=dtype)
    ret = _kernels.visible_conditional(H, W, b, s, v, seed, stream, step, out, sample, n_threads)
    assert ret is out
    rmean, rsamp = reference.visible_conditional(H, W, b, s, v, seed, stream, step)
    if sample:
        _assert_visible_samples(out, rsamp, v, dtype)
        if v == GAUSS:
            # noise has the right size: (v - mean) / sigma is standard normal
            z = (out.astype(np.float64) - rmean) / s
            assert abs(z.var() - 1) < 5 * math.sqrt(2 / z.size)
    else:
        assert_close(out, rmean, dtype)


def test_hidden_conditional_seed_and_threads():
    """Same seed: identical draws for 1 and 2 threads; another seed or step: other draws."""
    W, b, c, _ = make_params(5, BIG_VIS, BIG_HID, np.float32)
    V = make_data(6, BIG_ROWS, BIG_VIS, np.float32)
    out = {}
    for key in [(1, 1, 0), (2, 1, 0), (1, 2, 0), (2, 1, 1)]:
        n_threads, seed, step = key
        samp = np.empty((BIG_ROWS, BIG_HID), dtype=np.float32)
        _kernels.hidden_conditional(V, W, c, None, 0, 1, seed, 0, step, None, samp, n_threads)
        out[key] = samp
    np.testing.assert_array_equal(out[(1, 1, 0)], out[(2, 1, 0)])
    for other in [(1, 2, 0), (2, 1, 1)]:
        # independent draws disagree where p(1-p) is large: about 2 p (1-p) of elements
        assert np.mean(out[other] != out[(1, 1, 0)]) > 0.2


# ------------------------------------------------------------------- Gibbs
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("sample_last", [True, False], ids=["sample", "mean"])
@pytest.mark.parametrize("vis,hid", UNITS)
def test_gibbs(vis, hid, sample_last, dtype, n_threads):
    v, h = VISIBLE[vis], HIDDEN[hid]
    nc = _n_copies(h)
    W, b, c, s = make_params(7, BIG_VIS, BIG_HID, dtype, v, weight_scale=0.1)
    V = make_data(8, BIG_ROWS, BIG_VIS, dtype, v)
    V0 = V.copy()
    seed, step, purpose = 4242, 5, streams.PURPOSE_GIBBS
    out = _kernels.gibbs(V, W, b, c, s, v, h, nc, 3, seed, step, purpose, sample_last,
                         n_threads)
    ref = reference.gibbs(V, W, b, c, s, v, h, nc, 3, seed, step, purpose, sample_last)
    np.testing.assert_array_equal(V, V0)          # input untouched
    if sample_last:
        _assert_visible_samples(out, ref, v, dtype)
    else:
        assert_close(out, ref, dtype, factor=10.0)


def test_gibbs_threads_identical_and_seed_matters():
    W, b, c, _ = make_params(9, BIG_VIS, BIG_HID, np.float64, weight_scale=0.2)
    V = make_data(10, BIG_ROWS, BIG_VIS, np.float64)
    args = (W, b, c, None, 0, 0, 1)
    a = _kernels.gibbs(V, *args, 4, 1, 0, streams.PURPOSE_GIBBS, True, 1)
    b2 = _kernels.gibbs(V, *args, 4, 1, 0, streams.PURPOSE_GIBBS, True, 2)
    d = _kernels.gibbs(V, *args, 4, 2, 0, streams.PURPOSE_GIBBS, True, 2)
    np.testing.assert_array_equal(a, b2)
    assert np.mean(a != d) > 0.2


# ------------------------------------------------------------- free energy
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("vis,hid", UNITS)
def test_free_energy(vis, hid, dtype, n_threads):
    v, h = VISIBLE[vis], HIDDEN[hid]
    nc = _n_copies(h)
    W, b, c, s = make_params(11, BIG_VIS, BIG_HID, dtype, v, weight_scale=0.3)
    V = make_data(12, BIG_ROWS, BIG_VIS, dtype, v)
    F = _kernels.free_energy(V, W, b, c, s, v, h, nc, n_threads)
    ref = reference.free_energy(V, W, b, c, s, v, h, nc)
    assert F.dtype == np.float64 and ref.dtype == np.float64
    # float32 inputs: both sides round the products to float32 before the float64 sum
    assert_close(F, ref, dtype, factor=10.0 if dtype == np.float32 else 1.0)


@pytest.mark.parametrize("x", [-60.0, -39.7, -3.0, 0.0, 0.3, 2.5, 39.4, 40.6, 41.0, 150.25, 1e4])
def test_nrelu_phi_matches_long_stepped_sum(x):
    """The NReLU free-energy term is sum_{k>=1} softplus(x - k + 0.5), here summed plainly."""
    n_terms = int(max(x, 0)) + 200
    k = np.arange(1, n_terms + 1, dtype=np.float64)
    direct = math.fsum(reference.softplus(x - k + 0.5))
    W = np.zeros((1, 1))
    F = _kernels.free_energy(np.zeros((1, 1)), W, np.zeros(1), np.array([x]), None, 0, NRELU)
    assert -F[0] == pytest.approx(direct, rel=1e-12, abs=1e-12)
    assert reference.hidden_phi(np.array([x]), NRELU)[0] == pytest.approx(direct, rel=1e-12,
                                                                          abs=1e-12)


def test_nrelu_mean_formula_extremes():
    x = np.array([-40.0, -8.0, -1.0, 0.0, 1.0, 8.0, 40.0])
    m = reference.nrelu_mean(x)
    assert np.all(np.isfinite(m)) and np.all(m >= 0)
    np.testing.assert_allclose(m[-2:], x[-2:], rtol=1e-12)      # large x: the unit is linear
    assert m[0] < 1e-300 or m[0] == 0
    mean = np.empty((1, x.size))
    _kernels.hidden_conditional(np.zeros((1, 1)), np.zeros((x.size, 1)), x, None, NRELU, 1,
                                0, 0, 0, mean, None)
    np.testing.assert_allclose(mean[0], m, rtol=1e-13, atol=1e-300)


# ----------------------------------------------------- sampler distributions
N_DRAWS = 40_000


def _draws(x_value, hidden, n_copies, dtype=np.float64, seed=3):
    """N_DRAWS hidden samples of one unit with total input ``x_value``."""
    c = np.array([x_value], dtype=dtype)
    out = np.empty((N_DRAWS, 1), dtype=dtype)
    _kernels.hidden_conditional(np.zeros((N_DRAWS, 1), dtype=dtype), np.zeros((1, 1), dtype),
                                c, None, hidden, n_copies, seed, 0, 0, None, out, 2)
    return out[:, 0].astype(np.float64)


@pytest.mark.parametrize("x", [-1.0, 0.7, 2.4])
def test_stepped_sample_is_sum_of_binary_copies(x):
    """Counts follow the Poisson-binomial law of N independent Bernoulli(sigmoid(x-k+1/2))."""
    n = 5
    p = 1 / (1 + np.exp(-(x - np.arange(n) - 0.5)))
    law = np.array([1.0])
    for pk in p:
        law = np.convolve(law, [1 - pk, pk])
    counts = np.bincount(_draws(x, reference.HIDDEN_STEPPED, n).astype(int), minlength=n + 1)
    expected = N_DRAWS * law
    keep = expected > 5
    chi2 = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    assert counts[~keep].sum() <= max(10, 5 * expected[~keep].sum())
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-5
    # the mean the kernel reports is the mean of that law
    assert reference.hidden_mean(np.array([x]), reference.HIDDEN_STEPPED, n)[0] == \
        pytest.approx(law @ np.arange(n + 1), rel=1e-12)


@pytest.mark.parametrize("x", [-1.5, 0.0, 1.2, 4.0])
def test_nrelu_sample_distribution(x):
    """max(0, x + sqrt(sigmoid(x)) eps): P(0), mean and spread of the positive part."""
    sd = math.sqrt(1 / (1 + math.exp(-x)))
    h = _draws(x, NRELU, 1)
    p0 = stats.norm.cdf(-x / sd)
    assert abs(np.mean(h == 0) - p0) < 5 * math.sqrt(p0 * (1 - p0) / N_DRAWS) + 1e-12
    mean = reference.nrelu_mean(np.array([x]))[0]
    assert abs(h.mean() - mean) < 5 * h.std() / math.sqrt(N_DRAWS)
    # the positive part is the normal N(x, sd^2) truncated at 0
    pos = h[h > 0]
    ks = stats.kstest(pos, stats.truncnorm(-x / sd, np.inf, loc=x, scale=sd).cdf)
    assert ks.pvalue > 1e-5


# --------------------------------------------------------------- fit_epoch
SMALL = dict(n_rows=57, nv=12, nh=9, batch=10)      # the last minibatch has 7 rows

OPTIONS = {
    "cd1": dict(),
    "cd3": dict(k=3),
    "pcd2": dict(k=2, persistent=True),
    "mom_l2_l1": dict(momentum=0.9, weight_decay=0.01, l1=0.003),
    "sparsity": dict(sparsity_cost=0.5, sparsity_target=0.05, sparsity_decay=0.9),
    "mean_recon": dict(sample_visible=False, k=2),
    "learn_sigma": dict(learn_sigma=True, sigma_learning_rate=0.02, min_sigma=0.6,
                        momentum=0.5),
}


def _run_both(hyper, dtype, n_epochs, n_rows, nv, nh, n_threads=1, order="C",
              seed=2718, param_seed=13, small_gemm=None):
    """Train a kernel state and a reference state from the same start; return both."""
    W, b, c, s = make_params(param_seed, nv, nh, dtype, hyper.visible,
                             weight_scale=0.6 / math.sqrt(nv))
    X = make_data(param_seed + 1, n_rows, nv, dtype, hyper.visible, order=order)
    ker = make_state(W, b, c, s, hyper, chain_seed=5)
    ref = make_state(W, b, c, s, hyper, chain_seed=5)
    ws = _kernels.make_workspace(hyper, nv, nh, np.dtype(dtype))
    step = 0
    for epoch in range(n_epochs):
        order_ = np.random.default_rng([seed, epoch]).permutation(n_rows).astype(np.int64)
        n1 = _kernels.fit_epoch(ker, hyper, X, order_, seed, step, n_threads, ws, small_gemm)
        n2 = reference.fit_epoch(ref, hyper, X, order_, seed, step)
        assert n1 == n2 == -(-n_rows // hyper.batch_size)
        step += n1
    return ker, ref, W


def _assert_states_close(ker, ref, hyper, dtype, W0):
    for name in ("W", "b", "c", "sigma", "mW", "mb", "mc", "mz", "q"):
        assert_close(getattr(ker, name), getattr(ref, name), dtype, factor=10.0)
    if hyper.persistent:
        _assert_hidden_samples(ker.chains, ref.chains, hyper.hidden, dtype)
    # training did something
    assert np.max(np.abs(ker.W - W0)) > 1e-3


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("vis,hid", UNITS)
def test_fit_epoch_matches_reference(vis, hid, option, dtype):
    v, h = VISIBLE[vis], HIDDEN[hid]
    if option == "learn_sigma" and v != GAUSS:
        pytest.skip("sigma is learned for Gaussian visible units only")
    lr = 0.02 if v == GAUSS else 0.1
    hyper = make_hyper(visible=v, hidden=h, n_copies=_n_copies(h), batch_size=SMALL["batch"],
                       learning_rate=lr, **OPTIONS[option])
    ker, ref, W0 = _run_both(hyper, dtype, 3, SMALL["n_rows"], SMALL["nv"], SMALL["nh"])
    _assert_states_close(ker, ref, hyper, dtype, W0)
    if option == "learn_sigma":
        assert np.any(ker.sigma != 1) and np.all(ker.sigma >= hyper.min_sigma)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("vis", list(VISIBLE))
def test_fit_epoch_threads_and_memory_order(vis, n_threads, order, dtype):
    hyper = make_hyper(visible=VISIBLE[vis], hidden=0, batch_size=SMALL["batch"], k=2,
                       momentum=0.5, learning_rate=0.05)
    ker, ref, W0 = _run_both(hyper, dtype, 2, SMALL["n_rows"], SMALL["nv"], SMALL["nh"],
                             n_threads=n_threads, order=order)
    _assert_states_close(ker, ref, hyper, dtype, W0)


def _big_hyper(**kw):
    # batch 128 x 200 hidden, 128 x 130 visible: every pass of the step is parallel;
    # 300 rows -> minibatches of 128, 128, 44.
    lr = 0.002 if kw.get("visible") == GAUSS else 0.05
    return make_hyper(batch_size=128, learning_rate=lr, momentum=0.5, weight_decay=1e-3,
                      sparsity_cost=0.1, **kw)


@pytest.mark.parametrize("opt", [dict(k=1), dict(k=2, persistent=True),
                                 dict(visible=GAUSS, hidden=NRELU, learn_sigma=True)],
                         ids=["cd1", "pcd2", "gauss_nrelu_sigma"])
def test_fit_epoch_openmp_path_matches_reference(opt, dtype):
    hyper = _big_hyper(**opt)
    ker, ref, W0 = _run_both(hyper, dtype, 2, BIG_ROWS, 130, BIG_HID, n_threads=2)
    _assert_states_close(ker, ref, hyper, dtype, W0)


# Small minibatches: with small_gemm the passes are cut into calls OpenBLAS runs on its
# unpacked kernels. 12 rows x 600 visible x 260 hidden gives 100 hidden units per call
# (positive and negative hidden passes), 320 visible units and 69 gradient rows: every
# pass is cut on one thread, and the last minibatch (6 rows) is cut differently again.
SMALL_GEMM = dict(n_rows=30, nv=600, nh=260, batch=12)


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("opt", [dict(k=1, weight_decay=1e-3, sparsity_cost=0.1),
                                 dict(k=2, persistent=True),
                                 dict(visible=GAUSS, hidden=NRELU, learn_sigma=True)],
                         ids=["cd1", "pcd2", "gauss_nrelu_sigma"])
def test_fit_epoch_small_gemm_path_matches_reference(opt, n_threads, dtype):
    lr = 0.002 if opt.get("visible") == GAUSS else 0.05
    hyper = make_hyper(batch_size=SMALL_GEMM["batch"], learning_rate=lr, momentum=0.5, **opt)
    ker, ref, W0 = _run_both(hyper, dtype, 2, SMALL_GEMM["n_rows"], SMALL_GEMM["nv"],
                             SMALL_GEMM["nh"], n_threads=n_threads, small_gemm=True)
    _assert_states_close(ker, ref, hyper, dtype, W0)


@pytest.mark.parametrize("persistent", [False, True])
def test_small_gemm_cut_keeps_every_draw(persistent, dtype):
    """Cutting the products into small calls changes rounding at most: the sampled
    chains are identical and the parameters agree to rounding."""
    hyper = make_hyper(batch_size=SMALL_GEMM["batch"], learning_rate=0.05, momentum=0.5,
                       k=2, persistent=persistent)
    runs = [_run_both(hyper, dtype, 2, SMALL_GEMM["n_rows"], SMALL_GEMM["nv"],
                      SMALL_GEMM["nh"], small_gemm=flag)[0] for flag in (False, True)]
    if persistent:
        np.testing.assert_array_equal(runs[0].chains, runs[1].chains)
    for name in ("W", "b", "c", "mW"):
        assert_close(getattr(runs[0], name), getattr(runs[1], name), dtype, factor=10.0)


@pytest.mark.parametrize("persistent", [False, True])
def test_fit_epoch_bitwise_same_for_order_and_same_draws_for_threads(persistent, dtype):
    """For a fixed n_threads the result does not depend on the input's memory order
    (bitwise); across thread counts the random draws are the same, so sampled states
    agree exactly and parameters agree to rounding (the split of the products between
    threads may change the last bit)."""
    hyper = _big_hyper(k=2, persistent=persistent)
    W, b, c, s = make_params(21, 130, BIG_HID, dtype)
    Xc = make_data(22, BIG_ROWS, 130, dtype)
    inputs = [(Xc, 2), (np.asfortranarray(Xc), 2),
              (np.repeat(Xc, 2, axis=1)[:, ::2], 2), (Xc, 1)]     # strided, non-contiguous
    results = []
    for X, n_threads in inputs:
        st = make_state(W, b, c, s, hyper, chain_seed=1)
        order = np.random.default_rng(0).permutation(BIG_ROWS).astype(np.int64)
        _kernels.fit_epoch(st, hyper, X, order, 99, 0, n_threads)
        results.append(st)
    names = ("W", "b", "c", "mW", "mb", "mc", "chains", "q")
    for other in results[1:3]:
        for name in names:
            np.testing.assert_array_equal(getattr(other, name), getattr(results[0], name))
    one_thread = results[3]
    assert_samples_equal(one_thread.chains, results[0].chains, dtype)
    for name in names:
        assert_close(getattr(one_thread, name), getattr(results[0], name), dtype)


def test_fit_epoch_seed_changes_result():
    hyper = make_hyper(batch_size=10)
    W, b, c, s = make_params(31, 12, 9, np.float64)
    X = make_data(32, 40, 12, np.float64)
    order = np.arange(40, dtype=np.int64)
    out = []
    for seed in (1, 1, 2):
        st = make_state(W, b, c, s, hyper)
        _kernels.fit_epoch(st, hyper, X, order, seed, 0)
        out.append(st.W)
    np.testing.assert_array_equal(out[0], out[1])
    assert np.max(np.abs(out[0] - out[2])) > 1e-3


def test_fit_epoch_step_counter_continues_stream():
    """Two half epochs with step0 = 0 and 2 equal one epoch over the same rows."""
    hyper = make_hyper(batch_size=10)
    W, b, c, s = make_params(33, 12, 9, np.float64)
    X = make_data(34, 40, 12, np.float64)
    order = np.random.default_rng(3).permutation(40).astype(np.int64)
    one = make_state(W, b, c, s, hyper)
    assert _kernels.fit_epoch(one, hyper, X, order, 5, 0) == 4
    two = make_state(W, b, c, s, hyper)
    _kernels.fit_epoch(two, hyper, X, order[:20], 5, 0)
    _kernels.fit_epoch(two, hyper, X, order[20:], 5, 2)
    np.testing.assert_array_equal(one.W, two.W)
