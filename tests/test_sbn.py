"""The infinite sigmoid-belief-net view of an RBM, checked on tiny enumerable models."""
from __future__ import annotations

import numpy as np
import pytest

from fastrbm import RBM, sbn


def tiny_rbm(seed=3, scale=2.0, n_visible=4, n_hidden=3, **kw):
    """An RBM with hand-set random parameters (seed 3, scale 2 mixes slowly: TV 0.13 at
    depth 8, 0.002 at depth 40, 7e-7 at depth 100)."""
    rbm = RBM(n_hidden, n_iter=0, dtype="float64", random_state=seed, **kw).fit(
        np.zeros((1, n_visible)))
    g = np.random.default_rng(seed)
    rbm.components_ = g.normal(0, scale, (n_hidden, n_visible))
    rbm.intercept_visible_ = g.normal(0, 1, n_visible)
    rbm.intercept_hidden_ = g.normal(0, 1, n_hidden)
    return rbm


def state_index(V):
    return (V.astype(np.int64) << np.arange(V.shape[1])).sum(1)


def empirical(V, n_units):
    return np.bincount(state_index(V), minlength=2**n_units) / V.shape[0]


def tv(p, q):
    return 0.5 * np.abs(p - q).sum()


def tv_noise(p, n):
    """Expected TV between an n-sample empirical distribution and p (normal approximation)."""
    return 0.5 * np.sum(np.sqrt(2 * p * (1 - p) / (np.pi * n)))


def test_bottom_layer_tends_to_equilibrium_with_depth():
    rbm = tiny_rbm()
    n = 20000
    p_eq = sbn.equilibrium_marginal(rbm)
    exact_tv = []
    for i, depth in enumerate((2, 8, 16, 100)):
        V = sbn.ancestral_sample(rbm, n, depth, random_state=i)
        p_d = sbn.layer_distribution(rbm, depth)
        # the sampler draws from the exact depth-d distribution ...
        assert tv(empirical(V, 4), p_d) < 3 * tv_noise(p_d, n)
        exact_tv.append(tv(p_d, p_eq))
        if depth <= 8:   # ... which is measurably off equilibrium when shallow
            assert tv(empirical(V, 4), p_eq) > 3 * tv_noise(p_eq, n)
    # and reaches the RBM's marginal: TV falls to sampling noise
    assert tv(empirical(V, 4), p_eq) < 3 * tv_noise(p_eq, n)
    assert np.all(np.diff(exact_tv) < 0) and exact_tv[-1] < 1e-5


def test_ancestral_sampling_is_block_gibbs_from_a_random_state():
    rbm = tiny_rbm()
    layers = sbn.ancestral_sample(rbm, 50, 5, random_state=7, return_layers=True)
    assert [a.shape for a in layers] == [(50, 4), (50, 3)] * 3
    assert all(np.isin(a, (0, 1)).all() for a in layers)
    again = sbn.ancestral_sample(rbm, 50, 5, random_state=7)
    np.testing.assert_array_equal(again, layers[0])
    assert not np.array_equal(sbn.ancestral_sample(rbm, 50, 5, random_state=8), layers[0])
    # the NumPy reference backend draws exactly the same states
    ref = tiny_rbm(backend="numpy")
    np.testing.assert_array_equal(sbn.ancestral_sample(ref, 50, 5, random_state=7), layers[0])


@pytest.mark.parametrize("visible,hidden", [("gaussian", "bernoulli"), ("bernoulli", "stepped"),
                                            ("gaussian", "nrelu")])
def test_ancestral_sample_any_unit_types(visible, hidden):
    rbm = tiny_rbm(visible=visible, hidden=hidden)
    V = sbn.ancestral_sample(rbm, 30, 4, random_state=0)
    assert V.shape == (30, 4) and np.isfinite(V).all()
    layers = sbn.ancestral_sample(rbm, 30, 3, random_state=0, return_layers=True)
    assert [a.shape for a in layers] == [(30, 4), (30, 3), (30, 4), (30, 3)]
    assert all((h >= 0).all() for h in layers[1::2])


def test_up_pass_is_the_exact_posterior_of_the_infinite_net():
    rbm = tiny_rbm()
    V = sbn.binary_states(4)
    factorial = sbn.factorial_distribution(rbm.transform(V))
    # complementary prior: the RBM's marginal over h, given by the infinite net above
    np.testing.assert_allclose(sbn.posterior_exact(rbm, V), factorial, atol=1e-12)
    # a deep enough finite net gives that prior to its first hidden layer
    deep_prior = sbn.layer_distribution(rbm, 200, bottom="hidden")
    np.testing.assert_allclose(sbn.posterior_exact(rbm, V, deep_prior), factorial, atol=1e-9)
    # one directed layer under a factorial (uniform) prior explains away: not factorial
    flat = sbn.posterior_exact(rbm, V, np.full(8, 1 / 8))
    assert np.abs(flat - factorial).max() > 0.1
    for post in flat:      # and not a product of its own marginals either
        marg = post @ sbn.binary_states(3)
        assert np.abs(post - sbn.factorial_distribution(marg[None])[0]).max() > 1e-3


def test_summed_sbn_rule_equals_rbm_rule_in_expectation():
    rbm = tiny_rbm()
    data = sbn.binary_states(4)[[1, 6, 9, 14, 15]]
    V = np.repeat(data, 400, axis=0)                # 2000 rows per batch
    depth = 80                                      # 40 up-down steps: mixed to < 1e-6
    grads = [sbn.learning_rule(rbm, V, depth, random_state=s) for s in range(20)]
    est = {k: np.mean([getattr(g, k) for g in grads], 0) for k in "Wbc"}
    se = {k: np.std([getattr(g, k) for g in grads], 0, ddof=1) / np.sqrt(len(grads))
          for k in "Wbc"}

    # exact RBM gradient by enumeration: <h v>_data - <h v>_model
    vs, hs = sbn.binary_states(4), sbn.binary_states(3)
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    joint = np.exp((vs @ b)[:, None] + (hs @ c)[None] + vs @ W.T @ hs.T)
    joint /= joint.sum()
    h_data = rbm.transform(data)
    exact = {"W": h_data.T @ data / len(data) - hs.T @ joint.T @ vs,
             "b": data.mean(0) - joint.sum(1) @ vs,
             "c": h_data.mean(0) - joint.sum(0) @ hs}
    for k in "Wbc":
        # precise enough to tell the summed rule from a single layer's rule (below)
        assert np.all(se[k] > 0) and 4.5 * se[k].max() < 0.1
        z = np.abs(est[k] - exact[k]) / se[k]
        assert z.max() < 4.5, (k, z.max())
    # the rule over one layer only is the SBN rule, not the RBM's: far from it
    one = sbn.learning_rule(rbm, V, 1, random_state=0).W
    assert np.abs(one - exact["W"]).max() > 0.1


def test_summed_rule_telescopes_exactly_at_finite_depth():
    """E[sum] = E[v0 h0] - E[v_k h_k] for depth 2k, with E[v_k h_k] from the exact chain."""
    rbm = tiny_rbm()
    data = sbn.binary_states(4)[[3, 12]]
    V = np.repeat(data, 1000, axis=0)
    grads = [sbn.learning_rule(rbm, V, 2, random_state=s).W for s in range(20)]
    p_hv, p_vh = sbn.conditional_matrices(rbm)
    vs = sbn.binary_states(4)
    d1 = np.bincount(state_index(data), minlength=16) / len(data) @ p_hv @ p_vh
    h0 = rbm.transform(data)
    expected = h0.T @ data / len(data) - (rbm.transform(vs) * d1[:, None]).T @ vs
    se = np.std(grads, 0, ddof=1) / np.sqrt(len(grads))
    assert (np.abs(np.mean(grads, 0) - expected) / se).max() < 4.5


def test_bad_input():
    rbm = tiny_rbm()
    with pytest.raises(ValueError, match="depth"):
        sbn.ancestral_sample(rbm, 5, -1)
    with pytest.raises(TypeError, match="n_samples"):
        sbn.ancestral_sample(rbm, 2.5, 3)
    with pytest.raises(ValueError, match="Bernoulli"):
        sbn.learning_rule(tiny_rbm(visible="gaussian"), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="features"):
        sbn.learning_rule(rbm, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="prior"):
        sbn.posterior_exact(rbm, np.zeros((1, 4)), np.ones(3))
    with pytest.raises(ValueError, match="16 units"):
        sbn.binary_states(17)
    with pytest.raises(ValueError, match="bottom"):
        sbn.layer_distribution(rbm, 2, bottom="top")
