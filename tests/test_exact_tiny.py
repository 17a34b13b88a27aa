"""A tiny RBM (4 visible x 3 hidden) enumerated exactly, against the compiled kernels.

Conditionals and free energies must equal the enumeration; Gibbs chains must follow the
exact k-step transition and reach the exact equilibrium; the average CD-k / PCD update
must equal the exact expected CD-k gradient within its exact standard error, and approach
the exact log-likelihood gradient as k grows. Statistical checks use fixed seeds and
bounds from the sample size, and each is shown able to reject a slightly wrong answer.
"""
import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, logsumexp

from fastrbm import RBM, _kernels, reference, streams
from conftest import assert_close, make_hyper, make_state

NV, NH = 4, 3
STEPPED, NRELU = reference.HIDDEN_STEPPED, reference.HIDDEN_NRELU
BACKENDS = {"kernel": _kernels.fit_epoch, "reference": reference.fit_epoch}
pytestmark = pytest.mark.usefixtures("one_blas_thread")


def binary_states(n):
    """All 2^n binary vectors, row r = the bits of r (most significant first)."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


VS, HS = binary_states(NV), binary_states(NH)


def state_index(V):
    """Row index into ``binary_states`` of each binary row of ``V``."""
    return (np.asarray(V) @ (2 ** np.arange(V.shape[1] - 1, -1, -1))).round().astype(int)


def tiny_params(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    W = scale * rng.standard_normal((NH, NV))
    b = 0.5 * rng.standard_normal(NV)
    c = 0.5 * rng.standard_normal(NH)
    return W, b, c


class Exact:
    """Everything about a Bernoulli-Bernoulli RBM, by summing over all (v, h)."""

    def __init__(self, W, b, c):
        self.W, self.b, self.c = W, b, c
        # -E(v, h) = b.v + c.h + h W v over the 16 x 8 grid
        self.neg_energy = VS @ b[:, None] + (HS @ c)[None, :] + VS @ W.T @ HS.T
        self.log_z = logsumexp(self.neg_energy)
        joint = np.exp(self.neg_energy - self.log_z)
        self.p_v = joint.sum(1)
        self.p_h_given_v = joint / joint.sum(1, keepdims=True)          # (16, 8)
        self.p_v_given_h = (joint / joint.sum(0, keepdims=True)).T      # (8, 16)
        self.T = self.p_h_given_v @ self.p_v_given_h                    # v -> v'
        self.Th = self.p_v_given_h @ self.p_h_given_v                   # h -> h'
        self.free_energy = -logsumexp(self.neg_energy, axis=1)
        self.h_mean = self.p_h_given_v @ HS                             # E[h | v], (16, 3)
        self.v_mean_given_h = self.p_v_given_h @ VS                     # E[v | h], (8, 4)

    def stats(self, weights, V):
        """E[(mu(v) v^T, v, mu(v))] and per-sample second moments, v ~ weights over rows V."""
        mu = expit(V @ self.W.T + self.c)
        f = np.concatenate([(mu[:, :, None] * V[:, None, :]).reshape(len(V), -1), V, mu], 1)
        return weights @ f, weights @ f ** 2

    def negative_law(self, h_start, k, sample_visible=True):
        """Law of the chain's last visible state: (weights, states).

        ``h_start`` is the law of the hidden state the chain starts from (over HS); k
        steps h -> v -> h ... end at visible step k, sampled or its mean.
        """
        h_law = h_start @ np.linalg.matrix_power(self.Th, k - 1)
        if sample_visible:
            return h_law @ self.p_v_given_h, VS
        return h_law, self.v_mean_given_h


def flat_update(before, after, lr):
    """(W, b, c) change of one update, divided by lr, in the order of Exact.stats."""
    return np.concatenate([(after.W - before[0]).ravel(), after.b - before[1],
                           after.c - before[2]]) / lr


# ------------------------------------------------------------ conditionals
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conditionals_equal_enumeration(dtype):
    W, b, c = tiny_params(1, scale=1.5)
    ex = Exact(W, b, c)
    Wd, bd, cd = W.astype(dtype), b.astype(dtype), c.astype(dtype)
    mean = np.empty((16, NH), dtype=dtype)
    _kernels.hidden_conditional(VS.astype(dtype), Wd, cd, None, 0, 1, 0, 0, 0, mean, None)
    assert_close(mean, ex.h_mean, dtype, factor=10.0)
    out = np.empty((8, NV), dtype=dtype)
    _kernels.visible_conditional(HS.astype(dtype), Wd, bd, None, 0, 0, 0, 0, out, False)
    assert_close(out, ex.v_mean_given_h, dtype, factor=10.0)
    F = _kernels.free_energy(VS.astype(dtype), Wd, bd, cd, None, 0, 0)
    assert_close(F, ex.free_energy, dtype, scale=np.abs(ex.free_energy).max(),
                 factor=10.0 if dtype == np.float32 else 1.0)


def _stepped_as_binary_copies(W, c, n_copies):
    """The explicit RBM of n_copies tied binary copies per hidden unit, offsets -k+1/2."""
    Wc = np.repeat(W, n_copies, axis=0)
    cc = (c[:, None] - (np.arange(n_copies) + 0.5)).ravel()
    return Wc, cc


@pytest.mark.parametrize("visible", [0, 1], ids=["bernoulli", "gaussian"])
def test_stepped_free_energy_and_mean_equal_binary_copies(visible):
    """Stepped units are N tied binary copies: enumerate all 2^(3N) copy states."""
    n_copies = 3
    W, b, c = tiny_params(2, scale=0.8)
    rng = np.random.default_rng(3)
    sigma = rng.uniform(0.6, 1.4, NV) if visible else None
    V = VS if not visible else rng.standard_normal((10, NV))
    Wc, cc = _stepped_as_binary_copies(W, c, n_copies)
    H = binary_states(NH * n_copies)                           # 512 copy states
    Vt = V if sigma is None else V / sigma
    neg_e = (H @ cc)[None, :] + Vt @ Wc.T @ H.T
    vis = -(V @ b) if sigma is None else 0.5 * (((V - b) / sigma) ** 2).sum(1)
    F_exact = vis - logsumexp(neg_e, axis=1)
    post = np.exp(neg_e - logsumexp(neg_e, axis=1, keepdims=True))
    mean_exact = (post @ H).reshape(len(V), NH, n_copies).sum(2)

    F = _kernels.free_energy(V, W, b, c, sigma, visible, STEPPED, n_copies)
    np.testing.assert_allclose(F, F_exact, rtol=1e-12, atol=1e-12)
    mean = np.empty((len(V), NH))
    _kernels.hidden_conditional(V, W, c, sigma, STEPPED, n_copies, 0, 0, 0, mean, None)
    np.testing.assert_allclose(mean, mean_exact, rtol=1e-12, atol=1e-12)


def test_nrelu_free_energy_is_the_stepped_limit():
    """NReLU's phi is the infinite stepped sum: 80 copies leave terms below e^-70."""
    W, b, c = tiny_params(4, scale=1.0)
    F_nrelu = _kernels.free_energy(VS, W, b, c, None, 0, NRELU)
    F_80 = _kernels.free_energy(VS, W, b, c, None, 0, STEPPED, 80)
    np.testing.assert_allclose(F_nrelu, F_80, rtol=1e-13, atol=1e-13)
    # and large inputs, where the closed-form part of the sum is used
    cb = c + 60.0
    Wc, cc = _stepped_as_binary_copies(W, cb, 1)
    F_big = _kernels.free_energy(VS, W, b, cb, None, 0, NRELU)
    F_200 = _kernels.free_energy(VS, W, b, cb, None, 0, STEPPED, 200)
    np.testing.assert_allclose(F_big, F_200, rtol=1e-13)


# ------------------------------------------------------------------- Gibbs
N_CHAINS = 20_000


def chi2_pvalue(states, probs):
    """Chi-square goodness of fit of integer ``states`` to ``probs``; sparse cells pooled."""
    counts = np.bincount(states, minlength=len(probs)).astype(float)
    expected = len(states) * probs
    small = expected < 5
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    return stats.chisquare(obs[keep], exp[keep]).pvalue


def _gibbs_from(v0, ex, n_steps, seed, hidden=0, n_copies=1):
    V = np.tile(v0, (N_CHAINS, 1))
    out = _kernels.gibbs(V, ex.W, ex.b, ex.c, None, 0, hidden, n_copies, n_steps, seed, 0,
                         streams.PURPOSE_GIBBS, True, 1)
    return state_index(out)


@pytest.mark.parametrize("n_steps", [1, 2])
def test_gibbs_follows_exact_transition(n_steps):
    """From a fixed start, the k-step law is row v0 of T^k (no mixing assumption)."""
    W, b, c = tiny_params(5, scale=1.5)
    ex = Exact(W, b, c)
    i0 = 6
    law = np.linalg.matrix_power(ex.T, n_steps)[i0]
    got = _gibbs_from(VS[i0], ex, n_steps, seed=10 + n_steps)
    assert chi2_pvalue(got, law) > 1e-6
    # power: one step fewer (or the start itself for k = 1) is rejected
    wrong = np.linalg.matrix_power(ex.T, n_steps - 1)[i0]
    wrong = 0.999 * wrong + 0.001 / 16
    assert chi2_pvalue(got, wrong) < 1e-6


def test_gibbs_reaches_exact_equilibrium():
    W, b, c = tiny_params(6, scale=1.5)
    ex = Exact(W, b, c)
    # 60 steps of T from the worst start are within 1e-9 of p(v): the target is exact
    assert np.abs(np.linalg.matrix_power(ex.T, 60) - ex.p_v).max() < 1e-9
    got = _gibbs_from(np.zeros(NV), ex, 60, seed=77)
    assert chi2_pvalue(got, ex.p_v) > 1e-6
    tv = 0.5 * np.abs(np.bincount(got, minlength=16) / N_CHAINS - ex.p_v).sum()
    assert tv < 5 * 0.5 * np.sqrt(ex.p_v * (1 - ex.p_v) / N_CHAINS).sum()
    # power: a model with visible biases moved by 0.1 is rejected
    assert chi2_pvalue(got, Exact(W, b + 0.1, c).p_v) < 1e-6


def test_stepped_gibbs_reaches_tied_copy_equilibrium():
    """Stepped sampling is exact: the chain's law is exp(-F_stepped(v)) / Z, F by copies."""
    n_copies = 3
    W, b, c = tiny_params(7, scale=1.0)
    Wc, cc = _stepped_as_binary_copies(W, c, n_copies)
    H = binary_states(NH * n_copies)
    log_p = VS @ b + logsumexp((H @ cc)[None, :] + VS @ Wc.T @ H.T, axis=1)
    p_v = np.exp(log_p - logsumexp(log_p))
    ex = Exact(W, b, c)
    got = _gibbs_from(np.ones(NV), ex, 60, seed=8, hidden=STEPPED, n_copies=n_copies)
    assert chi2_pvalue(got, p_v) > 1e-6
    assert chi2_pvalue(got, ex.p_v) < 1e-6     # the binary-hidden model is a different law


def test_rbm_sample_reaches_exact_equilibrium():
    """The public path: RBM.sample with hand-set parameters."""
    W, b, c = tiny_params(8, scale=1.5)
    ex = Exact(W, b, c)
    rbm = RBM(n_components=NH, n_iter=1, dtype="float64", random_state=3, n_threads=1)
    rbm.fit(VS)
    rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_ = W.copy(), b.copy(), c.copy()
    got = state_index(rbm.sample(N_CHAINS, n_steps=60))
    assert chi2_pvalue(got, ex.p_v) > 1e-6
    assert chi2_pvalue(got, Exact(W, b + 0.1, c).p_v) < 1e-6


# ------------------------------------------------------------ CD gradients
DATA_IDX = np.array([0, 3, 5, 10, 15])        # the data distribution: 5 patterns
N_REPEAT, N_SEEDS, LR = 400, 20, 0.01         # 20 updates x 2000 rows = 40000 chains


def _average_update(ex, hyper, h_start_rows=None, backend="kernel"):
    """Mean over seeds of (parameter change / lr) of one full-batch update."""
    data = np.repeat(VS[DATA_IDX], N_REPEAT, axis=0)
    order = np.arange(len(data), dtype=np.int64)
    updates = []
    for seed in range(N_SEEDS):
        st = make_state(ex.W, ex.b, ex.c, None, hyper)
        if h_start_rows is not None:
            st.chains[...] = h_start_rows
        assert BACKENDS[backend](st, hyper, data, order, 1000 + seed, 0) == 1
        updates.append(flat_update((ex.W, ex.b, ex.c), st, LR))
    return np.mean(updates, axis=0)


def _expected_cd(ex, k, sample_visible=True, h_start=None):
    """Exact expected CD-k gradient and its standard error for N_SEEDS x data rows.

    Per data row the positive statistics are fixed; the negative ones are a function of
    the chain's last visible state, whose law is known exactly.
    """
    pos, _ = ex.stats(np.eye(16)[DATA_IDX].mean(0), VS)
    neg_mean, var_sum = 0.0, 0.0
    for i in DATA_IDX:
        start = ex.p_h_given_v[i] if h_start is None else h_start
        w, V = ex.negative_law(start, k, sample_visible)
        m1, m2 = ex.stats(w, V)
        neg_mean = neg_mean + m1 / len(DATA_IDX)
        var_sum = var_sum + (m2 - m1 ** 2)
    n_total = N_SEEDS * N_REPEAT * len(DATA_IDX)
    se = np.sqrt(var_sum * N_SEEDS * N_REPEAT) / n_total
    return pos - neg_mean, se


def _ml_gradient(ex):
    pos, _ = ex.stats(np.eye(16)[DATA_IDX].mean(0), VS)
    model, _ = ex.stats(ex.p_v, VS)
    return pos - model


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("k,sample_visible", [(1, True), (3, True), (1, False), (2, False)])
def test_cd_update_equals_exact_expected_cd_gradient(k, sample_visible, backend):
    """The oracle is checked too: the reference must also meet the exact expectation."""
    ex = Exact(*tiny_params(9, scale=1.5))
    hyper = make_hyper(k=k, batch_size=N_REPEAT * len(DATA_IDX), learning_rate=LR,
                       sample_visible=sample_visible)
    got = _average_update(ex, hyper, backend=backend)
    expect, se = _expected_cd(ex, k, sample_visible)
    assert np.all(np.abs(got - expect) < 5 * se + 1e-12), np.abs(got - expect) / se
    # power: CD-k is measurably not the log-likelihood gradient at this sample size
    assert np.max(np.abs(_ml_gradient(ex) - expect) / se) > 10


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_pcd_update_equals_exact_expectation_from_chain_states(backend):
    """PCD: the negative chain starts from the stored hidden states, not from the data."""
    ex = Exact(*tiny_params(10, scale=1.5))
    n = N_REPEAT * len(DATA_IDX)
    k = 2
    hyper = make_hyper(k=k, persistent=True, batch_size=n, learning_rate=LR)
    h0 = 5                                              # every chain at hidden state 101
    got = _average_update(ex, hyper, h_start_rows=np.tile(HS[h0], (n, 1)), backend=backend)
    expect, se = _expected_cd(ex, k, h_start=np.eye(8)[h0])
    assert np.all(np.abs(got - expect) < 5 * se + 1e-12), np.abs(got - expect) / se
    # the chains move on: after the update they hold h_k ~ law(v_k) @ p(h | v)
    st = make_state(ex.W, ex.b, ex.c, None, hyper)
    st.chains[...] = HS[h0]
    data = np.repeat(VS[DATA_IDX], N_REPEAT, axis=0)
    BACKENDS[backend](st, hyper, data, np.arange(n, dtype=np.int64), 5, 0)
    w, _ = ex.negative_law(np.eye(8)[h0], k)
    assert chi2_pvalue(state_index(st.chains), w @ ex.p_h_given_v) > 1e-6


def test_cd_k_approaches_log_likelihood_gradient():
    ex = Exact(*tiny_params(11, scale=1.5))
    ml = _ml_gradient(ex)
    gaps = [np.abs(_expected_cd(ex, k)[0] - ml).max() for k in (1, 2, 5, 10, 30)]
    assert gaps[0] > 0.05                                   # CD-1 is biased here
    assert all(a > b for a, b in zip(gaps, gaps[1:]))       # and the bias shrinks with k
    assert gaps[-1] < 1e-6
    hyper = make_hyper(k=30, batch_size=N_REPEAT * len(DATA_IDX), learning_rate=LR)
    got = _average_update(ex, hyper)
    _, se = _expected_cd(ex, 30)
    assert np.all(np.abs(got - ml) < 5 * se + gaps[-1]), np.abs(got - ml) / se
