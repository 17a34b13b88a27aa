"""The public estimators: methods, fitted attributes, dtypes, backends, reproducibility.

Oracles are closed forms written here from the maths of docs/units.md (sigmoid, softplus,
the NReLU mean), exact enumeration of tiny models (fastrbm.evaluation), and the
'numpy' backend, which runs the same algorithm with the same random numbers.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, log_expit, ndtr

from fastrbm import RBM, BernoulliRBM, DivergenceError, GaussianRBM
from fastrbm.evaluation import log_likelihood_exact

PARAMS = ("components_", "intercept_hidden_", "intercept_visible_", "sigma_")


def binary_data(n=60, d=10, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, d)) < rng.uniform(0.2, 0.8, d)).astype(np.float64)


def normal_data(n=60, d=10, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def all_states(n):
    """Every binary vector of length n (rows)."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.float64)


def params64(model):
    W, b, c, s = (getattr(model, name).astype(np.float64) for name in
                  ("components_", "intercept_visible_", "intercept_hidden_", "sigma_"))
    return W, b, c, s


def assert_same_params(a, b, rtol=0.0, atol=0.0):
    for name in PARAMS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        if rtol == 0 and atol == 0:
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=name)


# ------------------------------------------------------------ fitted attributes
@pytest.mark.parametrize("cls", [RBM, BernoulliRBM, GaussianRBM])
def test_fitted_attributes(cls):
    X = binary_data(30, 7) if cls is not GaussianRBM else normal_data(30, 7)
    model = cls(5, n_iter=3, random_state=0)
    assert model.fit(X) is model
    assert model.components_.shape == (5, 7)
    assert model.intercept_hidden_.shape == (5,)
    assert model.intercept_visible_.shape == (7,)
    assert model.sigma_.shape == (7,)
    assert model.n_features_in_ == 7
    assert model.n_iter_ == 3
    assert all(np.isfinite(getattr(model, name)).all() for name in PARAMS)
    # training moved every parameter group away from its initial value
    init = cls(5, n_iter=0, random_state=0).fit(X)
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        assert not np.array_equal(getattr(model, name), getattr(init, name)), name


def test_initial_parameters():
    init = RBM(50, n_iter=0, init_scale=0.02, random_state=0, dtype="float64").fit(
        binary_data(10, 40))
    assert init.n_iter_ == 0
    np.testing.assert_array_equal(init.intercept_hidden_, 0)
    np.testing.assert_array_equal(init.intercept_visible_, 0)
    np.testing.assert_array_equal(init.sigma_, 1)
    W = init.components_
    # N(0, 0.02^2) on 2000 weights: the std estimate has relative SE 1/sqrt(2 n) ~ 1.6 %
    assert abs(W.std() / 0.02 - 1) < 5 / np.sqrt(2 * W.size)
    assert abs(W.mean()) < 5 * 0.02 / np.sqrt(W.size)
    g = RBM(3, visible="gaussian", sigma=0.5, n_iter=0, random_state=0).fit(normal_data())
    np.testing.assert_array_equal(g.sigma_, np.float32(0.5))


# --------------------------------------------------------------------- dtypes
def test_dtype_float32_default_float64_and_none():
    X = binary_data()
    assert RBM(3, n_iter=1).fit(X).components_.dtype == np.float32
    assert RBM(3, n_iter=1, dtype="float64").fit(X.astype(np.float32)).components_.dtype == np.float64
    assert RBM(3, n_iter=1, dtype=np.float32).fit(X).components_.dtype == np.float32
    assert RBM(3, n_iter=1, dtype=None).fit(X.astype(np.float32)).components_.dtype == np.float32
    assert RBM(3, n_iter=1, dtype=None).fit(X).components_.dtype == np.float64
    for name in PARAMS:
        assert getattr(RBM(3, n_iter=1).fit(X), name).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_rbm_preserves_dtype(dtype):
    X = binary_data().astype(dtype)
    model = BernoulliRBM(4, n_iter=2, random_state=0).fit(X)
    for name in PARAMS:
        assert getattr(model, name).dtype == dtype
    assert model.transform(X).dtype == dtype
    assert model.inverse_transform(model.transform(X)).dtype == dtype
    assert model.gibbs(X).dtype == dtype
    assert model.sample(3, 2).dtype == dtype
    assert model.h_samples_.dtype == dtype
    assert model.free_energy(X).dtype == np.float64


def test_bernoulli_rbm_matches_scikit_learn_parameters():
    from sklearn.neural_network import BernoulliRBM as SkRBM

    ours, theirs = BernoulliRBM().get_params(), SkRBM().get_params()
    assert {k: ours[k] for k in theirs} == theirs
    assert set(ours) - set(theirs) == {"n_threads", "backend"}


# ----------------------------------------------------------- get/set params
def test_get_params_is_the_init_signature_and_set_params_round_trips():
    model = RBM(7, hidden="stepped", k=2, random_state=3)
    params = model.get_params()
    assert params["n_components"] == 7 and params["hidden"] == "stepped"
    assert params["k"] == 2 and params["random_state"] == 3
    assert params["dtype"] == "float32" and params["learning_rate"] is None
    assert type(model)(**params).get_params() == params
    assert model.set_params(k=3, learning_rate=0.2) is model
    assert model.k == 3 and model.learning_rate == 0.2
    assert "k=3" in repr(model) and "n_components=7" in repr(model)
    assert repr(RBM()) == "RBM()"
    g = GaussianRBM().get_params()
    assert g["visible"] == "gaussian" and g["hidden"] == "nrelu"


def test_set_params_changes_the_next_fit():
    X = binary_data()
    model = RBM(4, n_iter=2, random_state=0).fit(X)
    W = model.components_.copy()
    model.set_params(learning_rate=0.5).fit(X)
    assert not np.array_equal(W, model.components_)
    np.testing.assert_array_equal(
        model.components_, RBM(4, n_iter=2, learning_rate=0.5, random_state=0).fit(X).components_)


# ------------------------------------------------------------- partial_fit
PCD = dict(n_components=5, persistent=True, momentum=0.7, batch_size=8, random_state=2)


def test_partial_fit_continues_an_epoch_at_a_time():
    X = binary_data(50, 8)
    whole = RBM(n_iter=3, **PCD).fit(X)
    stepped = RBM(n_iter=1, **PCD).fit(X)
    stepped.partial_fit(X).partial_fit(X)
    assert stepped.n_iter_ == 3
    assert_same_params(whole, stepped)
    from_scratch = RBM(**PCD)
    for _ in range(3):
        from_scratch.partial_fit(X)
    assert_same_params(whole, from_scratch)


@pytest.mark.parametrize("wipe", ["mW", "mb", "mc", "chains"])
def test_partial_fit_carries_momentum_and_chains(wipe):
    """Negative control: the test above fails if any carried state were reset."""
    X = binary_data(50, 8)
    whole = RBM(n_iter=3, **PCD).fit(X)
    model = RBM(n_iter=1, **PCD).fit(X)
    assert np.any(getattr(model._state, wipe) != 0)
    getattr(model._state, wipe)[...] = 0
    model.partial_fit(X).partial_fit(X)
    assert not np.array_equal(whole.components_, model.components_)


def test_bernoulli_rbm_partial_fit_one_batch_is_one_update():
    X = binary_data(10, 6)
    model = BernoulliRBM(3, batch_size=10, random_state=0).partial_fit(X)
    assert model.n_iter_ == 1 and model._n_updates == 1
    assert model.h_samples_.shape == (10, 3)
    assert set(np.unique(model.h_samples_)) <= {0.0, 1.0}
    model.partial_fit(X[:4])
    assert model._n_updates == 2


def test_fit_restarts_and_callback_can_stop():
    X = binary_data()
    model = RBM(4, n_iter=5, random_state=0).fit(X)
    first = model.components_.copy()
    model.fit(X)                                   # a fresh fit, not a continuation
    np.testing.assert_array_equal(first, model.components_)
    seen = []

    def stop_after_two(m, info):
        seen.append((info["epoch"], m.n_iter_))
        return info["epoch"] < 2

    model.fit(X, callback=stop_after_two)
    assert seen == [(1, 1), (2, 2)] and model.n_iter_ == 2
    np.testing.assert_array_equal(model.components_,
                                  RBM(4, n_iter=2, random_state=0).fit(X).components_)


# ------------------------------------------------------------- inference
HIDDEN_TYPES = [("bernoulli", 1), ("stepped", 4), ("nrelu", 1)]


def closed_form_hidden_mean(x, hidden, n_copies):
    if hidden == "bernoulli":
        return expit(x)
    if hidden == "stepped":
        return sum(expit(x - k + 0.5) for k in range(1, n_copies + 1))
    sd = np.sqrt(expit(x))
    return x * ndtr(x / sd) + sd * np.exp(-0.5 * (x / sd) ** 2) / np.sqrt(2 * np.pi)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("hidden, n_copies", HIDDEN_TYPES)
def test_transform_inverse_transform_free_energy_closed_forms(visible, hidden, n_copies):
    X = binary_data() if visible == "bernoulli" else normal_data()
    model = RBM(6, visible=visible, hidden=hidden, n_copies=n_copies, n_iter=3,
                init_scale=0.3, learn_sigma=visible == "gaussian", dtype="float64",
                random_state=1).fit(X)
    W, b, c, s = params64(model)
    x = c + (X / s) @ W.T
    H = model.transform(X)
    np.testing.assert_allclose(H, closed_form_hidden_mean(x, hidden, n_copies), rtol=1e-12,
                               atol=1e-13)
    y = H @ W
    V = model.inverse_transform(H)
    expected_v = expit(b + y) if visible == "bernoulli" else b + s * y
    np.testing.assert_allclose(V, expected_v, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(model.fit_transform(X), H)
    err = model.reconstruction_error(X)
    assert err == pytest.approx(np.mean((X - V) ** 2), rel=1e-12)
    if hidden != "nrelu":                      # nrelu's phi is the infinite stepped sum
        phi = (np.logaddexp(0, x) if hidden == "bernoulli" else
               sum(np.logaddexp(0, x - k + 0.5) for k in range(1, n_copies + 1)))
        vis = -X @ b if visible == "bernoulli" else 0.5 * (((X - b) / s) ** 2).sum(1)
        F = model.free_energy(X)
        assert F.dtype == np.float64
        np.testing.assert_allclose(F, vis - phi.sum(1), rtol=1e-12)


def test_nrelu_free_energy_is_the_limit_of_many_stepped_copies():
    X = binary_data(20, 5)
    nrelu = RBM(4, hidden="nrelu", n_iter=2, init_scale=0.5, dtype="float64",
                random_state=0).fit(X)
    stepped = RBM(4, hidden="stepped", n_copies=200, dtype="float64")
    for name in PARAMS + ("n_features_in_",):
        setattr(stepped, name, getattr(nrelu, name))
    # inputs are within a few units of 0: 200 copies leave terms below e^-190
    np.testing.assert_allclose(nrelu.free_energy(X), stepped.free_energy(X), rtol=1e-12)


def test_free_energy_gives_the_exact_distribution():
    """exp(-F) normalised over all 2^n states sums to 1 and matches the likelihood."""
    model = RBM(3, n_iter=20, init_scale=0.5, learning_rate=0.2, dtype="float64",
                random_state=0).fit(binary_data(40, 5))
    V = all_states(5)
    logp = log_likelihood_exact(model, V)
    assert np.exp(logp).sum() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(logp - logp[0], -(model.free_energy(V) - model.free_energy(V[:1])),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("hidden, n_copies", HIDDEN_TYPES)
def test_score_samples_is_the_exact_pseudo_likelihood(hidden, n_copies):
    """sum_i log p(v_i | v_-i), with p from the exactly normalised model."""
    model = RBM(3, hidden=hidden, n_copies=n_copies, n_iter=10, init_scale=0.5,
                learning_rate=0.2, dtype="float64", random_state=0).fit(binary_data(40, 5))
    V = all_states(5)
    logp = log_likelihood_exact(model, V)
    index = (V * (1 << np.arange(5))).sum(1).astype(int)      # row of each state
    expected = np.zeros(len(V))
    for i in range(5):
        flipped = index ^ (1 << i)
        expected += logp[index] - np.logaddexp(logp[index], logp[flipped])
    np.testing.assert_allclose(model.score_samples(V), expected, rtol=1e-10)
    # deterministic: repeated calls agree
    np.testing.assert_array_equal(model.score_samples(V), model.score_samples(V))


def test_bernoulli_rbm_score_samples_is_an_unbiased_one_site_estimate():
    d = 8
    X = binary_data(12, d, seed=4)
    model = BernoulliRBM(5, learning_rate=0.2, n_iter=20, random_state=0).fit(
        binary_data(80, d))
    exact = RBM.score_samples(model, X)               # all d sites
    F = model.free_energy(X)
    site_terms = np.empty((len(X), d))                 # d * log p(v_i | v_-i) per site
    for i in range(d):
        Xf = X.copy()
        Xf[:, i] = 1 - Xf[:, i]
        site_terms[:, i] = d * log_expit(model.free_energy(Xf) - F)
    np.testing.assert_allclose(site_terms.mean(1), exact, rtol=1e-10)
    n_calls = 600
    # as in scikit-learn the sites come from random_state at each call: an int would
    # give the same ones every time, a RandomState advances
    model.random_state = np.random.RandomState(0)
    draws = np.array([model.score_samples(X) for _ in range(n_calls)])
    # every draw is one of the d site terms of its row ...
    hit = np.isclose(draws[:, :, None], site_terms[None], rtol=1e-12, atol=1e-12)
    assert hit.any(2).all()
    # ... chosen uniformly: each site's share within 5 SE of 1/d (binomial)
    share = hit.argmax(2).reshape(-1)
    counts = np.bincount(share, minlength=d) / share.size
    assert np.all(np.abs(counts - 1 / d) < 5 * np.sqrt((1 / d) * (1 - 1 / d) / share.size))
    # ... so the mean over calls estimates the exact value within its standard error
    se = site_terms.std(1) / np.sqrt(n_calls)        # exact SD of one draw, per row
    z = (draws.mean(0) - exact) / se
    assert np.all(np.abs(z) < 4.5), z
    # the estimate is random: successive calls differ
    assert not np.array_equal(draws[0], draws[1])


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_gibbs_and_sample_shapes_values_and_sequence(visible):
    X = binary_data() if visible == "bernoulli" else normal_data()
    make = lambda: RBM(4, visible=visible, n_iter=2, random_state=3).fit(X)  # noqa: E731
    model, twin = make(), make()
    G1, G2 = model.gibbs(X[:7], n_steps=3), model.gibbs(X[:7], n_steps=3)
    assert G1.shape == (7, 10) and G1.dtype == np.float32
    assert not np.array_equal(G1, G2)                  # each call draws fresh numbers
    np.testing.assert_array_equal(twin.gibbs(X[:7], n_steps=3), G1)   # same sequence
    np.testing.assert_array_equal(twin.gibbs(X[:7], n_steps=3), G2)
    S = model.sample(9, n_steps=5)
    M = model.sample(9, n_steps=5, return_mean=True)
    assert S.shape == M.shape == (9, 10)
    if visible == "bernoulli":
        assert set(np.unique(G1)) <= {0.0, 1.0} and set(np.unique(S)) <= {0.0, 1.0}
        assert np.all((M > 0) & (M < 1))
    else:
        assert len(np.unique(S)) == S.size             # continuous samples


def test_sample_reaches_the_model_distribution():
    """Marginals of many Gibbs chains vs the exact marginals of a tiny model."""
    model = RBM(3, n_iter=30, init_scale=0.5, learning_rate=0.3, dtype="float64",
                random_state=0).fit(binary_data(40, 5))
    V = all_states(5)
    p = np.exp(log_likelihood_exact(model, V))
    exact = p @ V
    n = 4000
    S = model.set_params(n_threads=1).sample(n, n_steps=50)
    # chains are independent: binomial SE of each marginal
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(S.mean(0) - exact) < 5 * se), (S.mean(0), exact)
    # and the joint: total variation to the exact distribution small for 32 states
    counts = np.bincount((S * (1 << np.arange(5))).sum(1).astype(int), minlength=32) / n
    assert 0.5 * np.abs(counts - p).sum() < 0.06   # E[TV] ~ sum sqrt(p/n)/2.5 ~ 0.03 here


# ------------------------------------------------------------------ backends
BACKEND_CASES = {
    "CD-1": dict(),
    "CD-3": dict(k=3),
    "PCD-2": dict(persistent=True, k=2),
    "stepped": dict(hidden="stepped", n_copies=3),
    "nrelu": dict(hidden="nrelu"),
    "penalties+sparsity": dict(weight_decay=1e-3, l1=1e-3, sparsity_cost=0.1),
    "mean reconstruction": dict(sample_visible=False),
    "gaussian": dict(visible="gaussian"),
    "gaussian nrelu PCD": dict(visible="gaussian", hidden="nrelu", persistent=True),
    "gaussian learn_sigma": dict(visible="gaussian", learn_sigma=True),
    "gaussian stepped learn_sigma": dict(visible="gaussian", hidden="stepped",
                                         learn_sigma=True, sigma_learning_rate=0.01),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(BACKEND_CASES))
def test_cython_and_numpy_backends_train_the_same_model(case, dtype):
    kw = dict(BACKEND_CASES[case])
    X = normal_data(45, 9) if kw.get("visible") == "gaussian" else binary_data(45, 9)
    common = dict(n_components=6, n_iter=4, batch_size=10, momentum=0.6, init_scale=0.1,
                  dtype=dtype, random_state=11, n_threads=1, **kw)
    fast = RBM(backend="cython", **common).fit(X)
    slow = RBM(backend="numpy", **common).fit(X)
    if dtype == "float64":
        assert_same_params(fast, slow, rtol=1e-10, atol=1e-10)
        # PCD chains: discrete states drawn from the same uniforms are equal, NReLU
        # states (continuous) equal to rounding
        if kw.get("hidden") == "nrelu":
            np.testing.assert_allclose(fast._state.chains, slow._state.chains, rtol=1e-10,
                                       atol=1e-12)
        else:
            np.testing.assert_array_equal(fast._state.chains, slow._state.chains)
    else:
        # BLAS and NumPy round float32 products differently: a few ulps, no more
        assert_same_params(fast, slow, rtol=2e-5, atol=2e-6)
    assert not np.array_equal(fast.components_, RBM(**common).set_params(
        random_state=12).fit(X).components_)    # the comparison can tell models apart
    # the inference methods agree as well
    V = X[:10].astype(dtype)
    np.testing.assert_allclose(fast.transform(V), slow.transform(V), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fast.free_energy(V), slow.free_energy(V), rtol=1e-5, atol=1e-5)


def test_backends_draw_the_same_gibbs_samples():
    X = binary_data(30, 9)
    kw = dict(n_components=6, n_iter=3, dtype="float64", random_state=5)
    fast = RBM(backend="cython", **kw).fit(X)
    slow = RBM(backend="numpy", **kw).fit(X)
    np.testing.assert_array_equal(fast.gibbs(X, n_steps=4), slow.gibbs(X, n_steps=4))
    np.testing.assert_array_equal(fast.sample(8, n_steps=6), slow.sample(8, n_steps=6))
    b_fast = BernoulliRBM(6, n_iter=3, random_state=5, backend="cython").fit(X)
    b_slow = BernoulliRBM(6, n_iter=3, random_state=5, backend="numpy").fit(X)
    assert_same_params(b_fast, b_slow, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(b_fast.h_samples_, b_slow.h_samples_)
    # the same random sites (values differ only by the parameters' rounding)
    np.testing.assert_allclose(b_fast.score_samples(X), b_slow.score_samples(X), rtol=1e-12)


# ------------------------------------------------------------ reproducibility
# big enough that the elementwise passes really run on 2 threads
# (rows x hidden units >= the kernels' parallel threshold of 16384 elements)
# Two epochs of two minibatches keep the 2-thread runs short on a busy machine.
BIG = dict(n_components=128, batch_size=128, n_iter=2)


@pytest.mark.parametrize("dtype, hidden", [("float32", "bernoulli"), ("float64", "stepped")])
def test_same_seed_same_threads_is_bitwise_identical(dtype, hidden):
    X = binary_data(256, 64, seed=1)
    for n_threads in (1, 2):
        kw = dict(BIG, hidden=hidden, n_copies=2, dtype=dtype, random_state=9,
                  n_threads=n_threads)
        assert_same_params(RBM(**kw).fit(X), RBM(**kw).fit(X))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_and_two_threads_draw_the_same_numbers(dtype):
    X = binary_data(256, 64, seed=1)
    one = BernoulliRBM(128, batch_size=128, n_iter=2, random_state=4, n_threads=1).fit(
        X.astype(dtype))
    two = BernoulliRBM(128, batch_size=128, n_iter=2, random_state=4, n_threads=2).fit(
        X.astype(dtype))
    # the persistent chains are sampled states: the same uniforms give the same states
    np.testing.assert_array_equal(one.h_samples_, two.h_samples_)
    tol = 1e-12 if dtype == "float64" else 1e-5
    assert_same_params(one, two, rtol=tol, atol=tol)
    # with identical parameters, sampling is identical across thread counts
    for name in PARAMS:
        setattr(two, name, getattr(one, name).copy())
    np.testing.assert_array_equal(one.gibbs(X, n_steps=3), two.gibbs(X, n_steps=3))
    # the same random sites; free energies may round differently across BLAS threads
    np.testing.assert_allclose(one.score_samples(X), two.score_samples(X), rtol=1e-6)


def test_different_seeds_differ_and_seed_objects_work():
    X = binary_data()
    fit = lambda rs: RBM(4, n_iter=2, random_state=rs).fit(X).components_  # noqa: E731
    assert not np.array_equal(fit(0), fit(1))
    assert not np.array_equal(fit(None), fit(None))
    np.testing.assert_array_equal(fit(np.random.RandomState(3)), fit(np.random.RandomState(3)))
    np.testing.assert_array_equal(fit(np.random.default_rng(3)), fit(np.random.default_rng(3)))
    assert not np.array_equal(fit(np.random.default_rng(3)), fit(np.random.default_rng(4)))
    shared = np.random.default_rng(3)          # one generator, two fits: two draws
    assert not np.array_equal(fit(shared), fit(shared))
    np.testing.assert_array_equal(fit(2**64 - 1), fit(2**64 - 1))


# ------------------------------------------------------------- divergence
def diverging_model(**kw):
    # Gaussian visible, NReLU hidden: learning rate 0.5 (100x the default) blows up
    # in the second epoch with this seed, 10 in the first.
    return RBM(8, visible="gaussian", hidden="nrelu", batch_size=10, n_iter=50,
               random_state=0, **kw)


def test_divergence_keeps_the_last_good_epoch():
    Z = normal_data(100, 6)
    snapshots = []

    def record(model, info):
        snapshots.append({name: getattr(model, name).copy() for name in PARAMS})

    model = diverging_model(learning_rate=0.5)
    with pytest.raises(DivergenceError, match=r"diverged in epoch 2\b.*end of epoch 1 are kept"):
        model.fit(Z, callback=record)
    assert len(snapshots) == 1 and model.n_iter_ == 1
    for name in PARAMS:
        np.testing.assert_array_equal(getattr(model, name), snapshots[-1][name], err_msg=name)
    assert isinstance(DivergenceError("x"), FloatingPointError)


def test_divergence_in_first_epoch_keeps_the_initial_parameters():
    Z = normal_data(100, 6)
    model = diverging_model(learning_rate=10.0)
    with pytest.raises(DivergenceError, match=r"epoch 1\b.*lower learning_rate \(now 10\)"):
        model.fit(Z)
    init = diverging_model(learning_rate=10.0).set_params(n_iter=0).fit(Z)
    assert_same_params(model, init)


def test_divergence_in_partial_fit_and_recovery():
    Z = normal_data(100, 6)
    model = diverging_model(learning_rate=0.01, learn_sigma=True).set_params(n_iter=1).fit(Z)
    before = {name: getattr(model, name).copy() for name in PARAMS}
    model.set_params(learning_rate=1e3)
    with pytest.raises(DivergenceError, match=r"epoch 2\b.*or sigma_learning_rate"):
        model.partial_fit(Z)
    assert model.n_iter_ == 1
    for name in PARAMS:
        np.testing.assert_array_equal(getattr(model, name), before[name], err_msg=name)
    model.set_params(learning_rate=0.01).partial_fit(Z)       # still usable
    assert model.n_iter_ == 2 and np.isfinite(model.components_).all()


def test_score_samples_exists_only_for_bernoulli_visible_units():
    assert hasattr(RBM(), "score_samples") and hasattr(BernoulliRBM(), "score_samples")
    for model in (GaussianRBM(), RBM(visible="Gaussian")):
        assert not hasattr(model, "score_samples")
        with pytest.raises(AttributeError, match="needs Bernoulli visible units"):
            model.score_samples(normal_data())


def test_verbose_prints_one_line_per_epoch(capsys):
    X = binary_data()
    infos = []
    model = RBM(3, n_iter=3, verbose=1, random_state=0).fit(X, callback=lambda m, i: infos.append(i))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("[RBM] epoch") for line in lines)
    assert infos[-1]["reconstruction_error"] == pytest.approx(model.reconstruction_error(X))
    assert all(i["seconds"] >= 0 for i in infos)


# ----------------------------------------------------------------- sample(init=...)
def _sampling_model(**kw):
    from fastrbm import RBM

    X = (np.random.default_rng(4).random((40, 12)) < 0.3).astype(np.float64)
    return RBM(6, n_iter=3, batch_size=10, random_state=2, dtype="float64", **kw).fit(X), X


def test_sample_from_data_is_gibbs_from_those_rows():
    from fastrbm import ops

    model, X = _sampling_model()
    twin, _ = _sampling_model()
    got = model.sample(init="data", X=X[:5], n_steps=7)
    seed, step = twin.next_sample_stream()
    m = twin.model_arrays()
    want = ops.gibbs(X[:5], m.W, m.b, m.c, m.sigma, **m.units, n_steps=7, seed=seed, step=step)
    np.testing.assert_array_equal(got, want)
    # more chains than rows cycle through the rows; means on request
    means = model.sample(8, init="data", X=X[:3], n_steps=2, return_mean=True)
    assert means.shape == (8, 12) and ((means > 0) & (means < 1)).all()


@pytest.mark.parametrize("kw", [dict(persistent=True), dict(sampler="pt", n_temperatures=3)])
def test_sample_from_the_persistent_chains(kw):
    from fastrbm import ops, streams

    model, _ = _sampling_model(**kw)
    twin, _ = _sampling_model(**kw)
    got = model.sample(init="chains", n_steps=4)
    assert got.shape == (10, 12)             # one per chain at the model's temperature
    seed, step = twin.next_sample_stream()
    m = twin.model_arrays()
    v0 = ops.visible_sample(twin._state.chains[:10], m.W, m.b, m.sigma, visible=m.visible,
                            seed=seed, stream=streams.PURPOSE_GIBBS, step=step)
    want = ops.gibbs(v0, m.W, m.b, m.c, m.sigma, **m.units, n_steps=4, seed=seed, step=step)
    np.testing.assert_array_equal(got, want)


def test_sample_settings_are_checked():
    model, X = _sampling_model()
    for kw, match in ((dict(init="data"), "X"), (dict(X=X), "X"), (dict(init="prior"), "init"),
                      (dict(init="chains"), "persistent"), (dict(n_samples=0), "n_samples")):
        with pytest.raises(ValueError, match=match):
            model.sample(n_steps=1, **kw)
    with pytest.raises(ValueError, match="X"):
        model.sample(init="data", X=X[:, :5], n_steps=1)
    assert model.sample(n_steps=1).shape == (1, 12)      # the default: one random chain


def test_score_is_the_mean_pseudo_likelihood_and_grid_search_needs_no_scoring():
    from sklearn.model_selection import GridSearchCV

    from fastrbm.datasets import bars_and_stripes

    X = np.tile(bars_and_stripes(3), (12, 1))      # 14 patterns of 9 correlated pixels
    model = RBM(6, n_iter=3, batch_size=20, random_state=0, dtype="float64").fit(X)
    assert model.score(X) == pytest.approx(model.score_samples(X).mean(), rel=1e-15)
    search = GridSearchCV(RBM(n_iter=200, batch_size=12, learning_rate=0.1,
                              random_state=0, dtype="float64"),
                          {"n_components": [1, 12]}, cv=3).fit(X)
    # one hidden unit cannot hold the bars' correlations; twelve can, and the search,
    # scoring with RBM.score, sees it
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > scores[0] + 0.5, scores
    assert search.best_params_ == {"n_components": 12}
    with pytest.raises(AttributeError, match="Bernoulli"):
        RBM(visible="gaussian").score
