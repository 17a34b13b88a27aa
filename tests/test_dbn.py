"""Deep belief nets: greedy stacking, up/down passes, the variational bound, export."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from fastrbm import RBM, evaluation, sbn, streams
from fastrbm.datasets import bars_and_stripes, gaussian_mixture
from fastrbm.dbn import DBN, forward

BAS = bars_and_stripes(3)                       # 14 patterns, 9 pixels
BAS_TRAIN = np.repeat(BAS, 20, axis=0)
FAST = dict(n_iter=5, batch_size=20, learning_rate=0.1)


def real_data():
    X, _, _ = gaussian_mixture(300, 6, 3, random_state=0)
    return (X - X.mean(0)) / X.std(0)


# ----------------------------------------------------------------- stacking
@pytest.mark.parametrize("sizes", [[12, 10], [12, 10, 8]])
def test_stack_on_bars_and_stripes(sizes):
    dbn = DBN(sizes, rbm_params=dict(n_iter=40, batch_size=10, learning_rate=0.3),
              random_state=0).fit(BAS_TRAIN)
    assert [r.n_components for r in dbn.rbms_] == sizes
    assert [r.n_features_in_ for r in dbn.rbms_] == [9] + sizes[:-1]
    assert dbn.n_features_in_ == 9
    for layer, size in enumerate(sizes):
        H = dbn.transform(BAS, layer=layer)
        assert H.shape == (14, size) and H.dtype == np.float32
        np.testing.assert_array_equal(dbn.transform(BAS, layer=layer - len(sizes)), H)
    S = dbn.sample(7, n_gibbs=20)
    assert S.shape == (7, 9) and np.isin(S, (0, 1)).all()
    M = dbn.sample(7, n_gibbs=20, return_mean=True)
    assert M.shape == (7, 9) and ((M > 0) & (M < 1)).all()
    R = dbn.reconstruct(BAS)
    assert R.shape == (14, 9)
    # the stack has learned something: up-down reconstructions beat the pixel means
    assert np.mean((R - BAS) ** 2) < 0.5 * np.mean((BAS - BAS.mean(0)) ** 2)


def test_layers_are_trained_greedily_on_the_layer_below():
    dbn = DBN([8, 5], rbm_params=FAST, random_state=4).fit(BAS_TRAIN)
    lower, upper = dbn.rbms_
    twin = RBM(5, random_state=upper.random_state, **FAST).fit(lower.transform(BAS_TRAIN))
    np.testing.assert_array_equal(twin.components_, upper.components_)
    # propagate='sample': one hidden sample of the data, drawn by the kernels
    dbn = DBN([8, 5], rbm_params=FAST, propagate="sample", random_state=4).fit(BAS_TRAIN)
    lower, upper = dbn.rbms_
    H = sbn.sample_hidden(lower, BAS_TRAIN.astype(np.float32), dbn._seed,
                          streams.PURPOSE_DBN, 0)
    assert np.isin(H, (0, 1)).all()
    twin = RBM(5, random_state=upper.random_state, **FAST).fit(H)
    np.testing.assert_array_equal(twin.components_, upper.components_)


def test_reproducible_with_random_state():
    def fit(seed):
        return DBN([6, 4], rbm_params=FAST, random_state=seed).fit(BAS_TRAIN)
    a, b, c = fit(1), fit(1), fit(2)
    for ra, rb in zip(a.rbms_, b.rbms_):
        np.testing.assert_array_equal(ra.components_, rb.components_)
    assert not np.array_equal(a.rbms_[0].components_, c.rbms_[0].components_)
    np.testing.assert_array_equal(a.sample(5, 10), b.sample(5, 10))
    # successive calls draw fresh samples
    assert not np.array_equal(a.sample(20, 10), a.sample(20, 10))


def test_real_valued_data_gaussian_bottom():
    Z = real_data()
    dbn = DBN([10, 6, 4], visible="gaussian", hidden=["nrelu", "bernoulli", "bernoulli"],
              rbm_params=dict(n_iter=5, batch_size=50, learning_rate=0.01, dtype="float64"),
              random_state=0).fit(Z)
    assert [r.visible for r in dbn.rbms_] == ["gaussian", "gaussian", "bernoulli"]
    assert dbn.transform(Z).shape == (300, 4)
    S = dbn.sample(5, 10)
    assert S.shape == (5, 6) and np.isfinite(S).all() and S.dtype == np.float64
    assert dbn.reconstruct(Z).shape == (300, 6)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("hidden", ["bernoulli", "stepped", "nrelu"])
def test_all_unit_types(visible, hidden):
    X = BAS_TRAIN if visible == "bernoulli" else real_data()
    dbn = DBN([6, 5], visible=visible, hidden=hidden,
              rbm_params=dict(n_iter=2, batch_size=50, learning_rate=0.01),
              random_state=0).fit(X)
    assert dbn.rbms_[1].visible == ("bernoulli" if hidden == "bernoulli" else "gaussian")
    H = dbn.transform(X[:10])
    assert H.shape == (10, 5) and np.isfinite(H).all()
    np.testing.assert_allclose(forward(dbn.to_arrays(), X[:10]), H, rtol=2e-5, atol=2e-6)
    assert dbn.sample(3, 5).shape == (3, X.shape[1])


def test_rbm_objects_are_copied_and_keep_their_settings():
    layers = [RBM(6, hidden="stepped", n_copies=3, **FAST), RBM(4, visible="gaussian", **FAST)]
    dbn = DBN(layers, random_state=0).fit(BAS_TRAIN)
    assert not hasattr(layers[0], "components_")        # the arguments are not fitted
    assert dbn.rbms_[0].n_copies == 3 and dbn.rbms_[0] is not layers[0]
    H = dbn.transform(BAS)
    assert H.shape == (14, 4)


def test_verbose_prints_one_line_per_layer(capsys):
    DBN([5, 3], rbm_params=FAST, random_state=0, verbose=1).fit(BAS_TRAIN)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("[DBN]")]
    assert len(lines) == 2 and "layer 2/2" in lines[1]


def test_sklearn_protocol():
    from sklearn.base import clone

    dbn = DBN([RBM(5, **FAST), RBM(3, **FAST)], random_state=0)
    twin = clone(dbn)
    assert twin.layers[0] is not dbn.layers[0]
    assert twin.layers[0].get_params() == dbn.layers[0].get_params()
    a = dbn.fit(BAS_TRAIN).transform(BAS)
    np.testing.assert_array_equal(twin.fit(BAS_TRAIN).transform(BAS), a)
    assert DBN().set_params(propagate="sample").propagate == "sample"


# ----------------------------------------------------------------- the bound
def tiny_dbn(sizes, n_visible=4, visible="bernoulli", seed=0, scale=1.5):
    """A DBN with hand-set random parameters (float64)."""
    X = np.zeros((1, n_visible))
    dbn = DBN(sizes, visible=visible, rbm_params=dict(n_iter=0, dtype="float64"),
              random_state=seed).fit(X)
    g = np.random.default_rng(seed)
    for rbm in dbn.rbms_:
        nh, nv = rbm.components_.shape
        rbm.components_ = g.normal(0, scale, (nh, nv))
        rbm.intercept_visible_ = g.normal(0, 1, nv)
        rbm.intercept_hidden_ = g.normal(0, 1, nh)
        if rbm._is_gaussian:
            rbm.sigma_ = g.uniform(0.5, 2.0, nv)
    return dbn


def states(n):
    return [np.array(s, dtype=float) for s in itertools.product((0, 1), repeat=n)]


def log_sigmoid(x):
    return -np.logaddexp(0, -x)


def log_bernoulli(x, logits):
    return np.sum(x * log_sigmoid(logits) + (1 - x) * log_sigmoid(-logits))


def brute_force(dbn, v):
    """(bound, log p(v)) for one row by summing over every hidden configuration."""
    rbms = dbn.rbms_
    top = rbms[-1]
    Wt, bt, ct = top.components_, top.intercept_visible_, top.intercept_hidden_
    log_z = logsumexp([x @ bt + h @ ct + x @ Wt.T @ h
                       for x in states(Wt.shape[1]) for h in states(Wt.shape[0])])
    bound_terms, log_joint = [], []
    for path in itertools.product(*[states(r.n_components) for r in rbms[:-1]]):
        below, log_q, log_p = v, 0.0, 0.0
        for rbm, h in zip(rbms[:-1], path):
            W, b, c, s = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_, rbm.sigma_
            gauss = rbm._is_gaussian
            log_q += log_bernoulli(h, c + (below / s if gauss else below) @ W.T)
            if gauss:
                mean = b + s * (h @ W)
                log_p += np.sum(-0.5 * ((below - mean) / s) ** 2 - np.log(np.sqrt(2 * np.pi) * s))
            else:
                log_p += log_bernoulli(below, b + h @ W)
            below = h
        log_p += logsumexp([below @ bt + h @ ct + below @ Wt.T @ h
                            for h in states(Wt.shape[0])]) - log_z
        bound_terms.append((np.exp(log_q), log_p - log_q))
        log_joint.append(log_p)
    bound = sum(q * term for q, term in bound_terms)
    return bound, logsumexp(log_joint)


@pytest.mark.parametrize("sizes,visible", [([3, 2], "bernoulli"), ([3, 2, 2], "bernoulli"),
                                           ([3, 3], "gaussian")])
def test_bound_equals_enumeration(sizes, visible):
    dbn = tiny_dbn(sizes, visible=visible)
    V = sbn.binary_states(4) if visible == "bernoulli" else np.random.default_rng(1).normal(
        size=(6, 4))
    bound = dbn.log_likelihood_bound(V)
    expected = np.array([brute_force(dbn, v) for v in V])
    np.testing.assert_allclose(bound, expected[:, 0], rtol=1e-10, atol=1e-10)
    # a lower bound on log p(v), not log p(v) itself (the up pass is not the posterior)
    assert np.all(bound <= expected[:, 1] + 1e-10)
    assert np.max(expected[:, 1] - bound) > 1e-3
    if visible == "bernoulli":       # p sums to one over every visible vector
        assert abs(logsumexp(expected[:, 1])) < 1e-10


def test_bound_monte_carlo_agrees_with_exact():
    dbn = tiny_dbn([3, 2, 2])
    V = sbn.binary_states(4)
    exact = dbn.log_likelihood_bound(V, exact=True)
    runs = np.array([dbn.log_likelihood_bound(V, exact=False, n_samples=50, random_state=s)
                     for s in range(12)])
    se = runs.std(0, ddof=1) / np.sqrt(len(runs))
    assert np.all(se > 0)
    assert np.max(np.abs(runs.mean(0) - exact) / se) < 4.5
    np.testing.assert_array_equal(
        dbn.log_likelihood_bound(V, exact=False, n_samples=5, random_state=3),
        dbn.log_likelihood_bound(V, exact=False, n_samples=5, random_state=3))


def test_one_layer_bound_is_the_exact_log_likelihood():
    dbn = tiny_dbn([3])
    V = sbn.binary_states(4)
    np.testing.assert_allclose(dbn.log_likelihood_bound(V),
                               evaluation.log_likelihood_exact(dbn.rbms_[0], V), rtol=1e-12)
    np.testing.assert_allclose(dbn.log_likelihood_bound(V, log_z=0.0),
                               -dbn.rbms_[0].free_energy(V), rtol=1e-12)


def test_adding_a_tied_layer_does_not_lower_the_bound():
    """Hinton et al. 2006: a second layer initialised at W^T leaves the bound tight and
    equal to the first RBM's log-likelihood; learning it on samples of Q(h | v) raises it."""
    # many copies of each pattern: layer 2 learns on many samples of Q(h | v), the
    # aggregated posterior the theory is about (a few samples per pattern it overfits)
    data = np.repeat(BAS, 100, axis=0)
    kw = dict(dtype="float64", batch_size=10, learning_rate=0.1, n_iter=15)
    one = DBN([6], rbm_params=kw, random_state=0).fit(data)
    ll_one = evaluation.log_likelihood_exact(one.rbms_[0], BAS)

    def two(n_iter):
        layers = [RBM(6, **kw), RBM(9, **dict(kw, learning_rate=0.05, n_iter=n_iter))]
        return DBN(layers, init="tied", propagate="sample", random_state=0).fit(data)

    start, trained = two(0), two(10)
    np.testing.assert_array_equal(start.rbms_[0].components_, one.rbms_[0].components_)
    np.testing.assert_array_equal(start.rbms_[1].components_, one.rbms_[0].components_.T)
    np.testing.assert_allclose(start.log_likelihood_bound(BAS), ll_one, rtol=1e-12)
    gain = trained.log_likelihood_bound(BAS).mean() - ll_one.mean()
    assert gain > 0.05, gain


def test_bound_with_ais_log_z():
    if not hasattr(evaluation, "ais"):
        pytest.skip("evaluation.ais is not available yet")
    dbn = tiny_dbn([3, 2], scale=1.0)
    V = sbn.binary_states(4)
    exact = dbn.log_likelihood_bound(V)
    approx = dbn.log_likelihood_bound(V, log_z="ais", ais_runs=100, random_state=0)
    # only log Z differs, by the AIS error, which lies inside AIS's own +-3 SE interval
    res = evaluation.ais(dbn.rbms_[-1], n_runs=100, data=dbn.transform(V, 0), random_state=0)
    log_z = evaluation.log_partition_exact(dbn.rbms_[-1])
    np.testing.assert_allclose(approx, exact - (res.log_z - log_z), rtol=1e-12)
    assert res.log_z_low <= log_z <= res.log_z_high


def test_bound_refuses_what_it_cannot_bound():
    dbn = DBN([4, 3], hidden="nrelu", rbm_params=dict(FAST, n_iter=1)).fit(BAS_TRAIN)
    with pytest.raises(ValueError, match="Bernoulli hidden"):
        dbn.log_likelihood_bound(BAS)
    dbn = tiny_dbn([3, 2])
    with pytest.raises(ValueError, match="exact=True"):
        DBN([20, 2], rbm_params=dict(n_iter=0)).fit(BAS).log_likelihood_bound(BAS, exact=True)
    with pytest.raises(ValueError, match="log_z"):
        dbn.log_likelihood_bound(sbn.binary_states(4), log_z="guess")
    with pytest.raises(ValueError, match="n_samples"):
        dbn.log_likelihood_bound(sbn.binary_states(4), n_samples=0)


# ----------------------------------------------------------------- export
def test_numpy_forward_pass_equals_transform_float64_and_gaussian_sigma():
    Z = real_data()
    dbn = DBN([RBM(7, visible="gaussian", hidden="stepped", n_copies=4, learn_sigma=True,
                   dtype="float64", n_iter=3, learning_rate=0.01, batch_size=50),
               RBM(5, visible="gaussian", hidden="nrelu", dtype="float64", n_iter=3,
                   learning_rate=0.01, batch_size=50)], random_state=0).fit(Z)
    assert not np.allclose(dbn.rbms_[0].sigma_, 1.0)
    layers = dbn.to_arrays()
    assert [l["weight"].shape for l in layers] == [(7, 6), (5, 7)]
    assert [l["activation"] for l in layers] == ["stepped", "nrelu"]
    np.testing.assert_allclose(forward(layers, Z), dbn.transform(Z), rtol=1e-12, atol=1e-12)


def test_to_torch_equals_transform():
    torch = pytest.importorskip("torch")
    for hidden, dtype in [("bernoulli", "float32"), ("stepped", "float64"), ("nrelu", "float64")]:
        dbn = DBN([6, 4], hidden=hidden, rbm_params=dict(FAST, dtype=dtype),
                  random_state=0).fit(BAS_TRAIN)
        net = dbn.to_torch()
        assert isinstance(net, torch.nn.Sequential) and len(net) == 4
        with torch.no_grad():
            out = net(torch.from_numpy(BAS.astype(dtype))).numpy()
        tol = 2e-6 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(out, dbn.transform(BAS), rtol=tol, atol=tol)


def test_readme_fine_tuning_example():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    X, y, _ = gaussian_mixture(400, 8, 3, random_state=1)
    Z = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    dbn = DBN([16, 8], visible="gaussian", rbm_params=dict(n_iter=10, learning_rate=0.01),
              random_state=0).fit(Z)
    model = torch.nn.Sequential(dbn.to_torch(), torch.nn.Linear(8, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(Z), torch.from_numpy(y)
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
    accuracy = (model(xt).argmax(1) == yt).float().mean().item()
    assert accuracy > 0.9


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,error,match", [
    (dict(layers=[]), ValueError, "at least one"),
    (dict(layers=5), TypeError, "layers"),
    (dict(layers=[4, RBM(3)]), TypeError, "not a mix"),
    (dict(layers=[4, 2.5]), TypeError, "layers"),
    (dict(layers=[RBM(3)], hidden="bernoulli"), ValueError, "hidden must be None"),
    (dict(layers=[4, 3], hidden=["bernoulli"]), ValueError, "one per layer"),
    (dict(layers=[4], hidden="relu"), ValueError, "hidden"),
    (dict(layers=[4], rbm_params=dict(n_components=3)), ValueError, "n_components"),
    (dict(layers=[4], rbm_params=dict(learning_rat=0.1)), ValueError, "learning_rat"),
    (dict(layers=[4], rbm_params=[("k", 1)]), TypeError, "rbm_params"),
    (dict(layers=[4], rbm_params=dict(k=0)), ValueError, "k must"),
    (dict(layers=[4], propagate="max"), ValueError, "propagate"),
    (dict(layers=[4], init="zeros"), ValueError, "init"),
    (dict(layers=[4, 5], init="tied"), ValueError, "tied"),
    (dict(layers=[RBM(4, hidden="nrelu"), RBM(3)]), ValueError, "visible='gaussian'"),
])
def test_bad_settings_leave_the_model_untouched(kwargs, error, match):
    dbn = DBN([3], rbm_params=FAST, random_state=0).fit(BAS_TRAIN)
    before = dbn.rbms_
    dbn.set_params(**{"layers": [3], "hidden": None, "rbm_params": None, **kwargs})
    with pytest.raises(error, match=match):
        dbn.fit(BAS_TRAIN)
    assert dbn.rbms_ is before


def test_bad_calls():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DBN([3]).transform(BAS)
    dbn = DBN([4, 3], rbm_params=FAST, random_state=0).fit(BAS_TRAIN)
    with pytest.raises(ValueError, match="layer must be in"):
        dbn.transform(BAS, layer=2)
    with pytest.raises(TypeError, match="layer must be an int"):
        dbn.transform(BAS, layer=1.0)
    with pytest.raises(ValueError, match="features"):
        dbn.transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dbn.fit(BAS_TRAIN * 2)
    with pytest.raises(ValueError, match="n_gibbs"):
        dbn.sample(2, n_gibbs=0)


def test_structural_settings_changed_after_fit_make_it_unfitted():
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    dbn = DBN([4, 3], rbm_params=FAST, random_state=0).fit(BAS_TRAIN)
    check_is_fitted(dbn)
    for change in (dict(layers=[4, 5]), dict(hidden="nrelu"),
                   dict(rbm_params=dict(FAST, dtype="float64"))):
        changed = DBN([4, 3], rbm_params=FAST, random_state=0).fit(BAS_TRAIN)
        changed.set_params(**change)
        with pytest.raises(NotFittedError, match="Call 'fit'"):
            check_is_fitted(changed)
        with pytest.raises(NotFittedError, match="Call 'fit'"):
            changed.transform(BAS)
        changed.fit(BAS_TRAIN)          # fit starts afresh with the new settings
        check_is_fitted(changed)
