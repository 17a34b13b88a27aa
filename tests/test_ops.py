"""fastrbm.ops: every function on both backends against the NumPy reference's own
functions, both dtypes, 1 and 2 threads, C- and F-ordered data; a CD loop written with
ops alone reproduces RBM.fit bitwise; and the layering (who imports what)."""
from __future__ import annotations

import ast
import pathlib
import re

import numpy as np
import pytest
from conftest import (assert_close, assert_continuous_samples_close, assert_samples_equal,
                      make_data, make_params)

import fastrbm
from fastrbm import RBM, GaussianRBM, ops, reference, streams
from fastrbm.units import HIDDEN_UNITS, VISIBLE_UNITS

UNITS = [("bernoulli", "bernoulli", 1), ("bernoulli", "stepped", 4), ("bernoulli", "nrelu", 1),
         ("gaussian", "bernoulli", 1), ("gaussian", "nrelu", 1)]
NV, NH, N = 9, 6, 40


def _model(visible, dtype, seed=0):
    W, b, c, s = make_params(seed, NV, NH, dtype, visible=VISIBLE_UNITS[visible])
    return W, b, c, s


def _continuous(visible, hidden):
    return visible == "gaussian" or hidden == "nrelu"


@pytest.fixture(params=["cython", "numpy"])
def backend(request):
    return request.param


@pytest.mark.parametrize("visible,hidden,n_copies", UNITS)
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("order", ["C", "F"])
def test_conditionals_equal_the_reference(backend, visible, hidden, n_copies, n_threads, order,
                                          dtype):
    W, b, c, s = _model(visible, dtype)
    vis, hid = VISIBLE_UNITS[visible], HIDDEN_UNITS[hidden]
    V = make_data(1, N, NV, dtype, visible=vis, order=order)
    H = make_data(2, N, NH, dtype, order=order)
    mean, sample = reference.hidden_conditional(V, W, c, s, hid, n_copies, 5, 6, 7)
    got_mean = ops.hidden_mean(V, W, c, s, hidden=hidden, n_copies=n_copies,
                               n_threads=n_threads, backend=backend)
    mean_out = np.empty_like(got_mean)
    got = ops.hidden_sample(V, W, c, s, hidden=hidden, n_copies=n_copies, seed=5, stream=6,
                            step=7, mean_out=mean_out, n_threads=n_threads, backend=backend)
    assert got_mean.dtype == got.dtype == dtype
    assert_close(got_mean, mean, dtype, factor=10)
    assert_close(mean_out, mean, dtype, factor=10)
    if hidden == "nrelu":
        assert_continuous_samples_close(got, sample, dtype)
    else:
        assert_samples_equal(got, sample, dtype)
    vmean, vsample = reference.visible_conditional(H, W, b, s, vis, 8, 9, 10)
    assert_close(ops.visible_mean(H, W, b, s, visible=visible, n_threads=n_threads,
                                  backend=backend), vmean, dtype, factor=10)
    got_v = ops.visible_sample(H, W, b, s, visible=visible, seed=8, stream=9, step=10,
                               n_threads=n_threads, backend=backend)
    if visible == "gaussian":
        assert_continuous_samples_close(got_v, vsample, dtype)
    else:
        assert_samples_equal(got_v, vsample, dtype)


@pytest.mark.parametrize("visible,hidden,n_copies", UNITS)
@pytest.mark.parametrize("n_threads", [1, 2])
def test_gibbs_and_free_energy_equal_the_reference(backend, visible, hidden, n_copies,
                                                   n_threads, dtype):
    W, b, c, s = _model(visible, dtype)
    vis, hid = VISIBLE_UNITS[visible], HIDDEN_UNITS[hidden]
    V = make_data(3, N, NV, dtype, visible=vis, order="F")
    expected = reference.free_energy(V, W, b, c, s, vis, hid, n_copies)
    got = ops.free_energy(V, W, b, c, s, visible=visible, hidden=hidden, n_copies=n_copies,
                          n_threads=n_threads, backend=backend)
    assert got.dtype == np.float64
    assert_close(got, expected, dtype, factor=10)
    chain = reference.gibbs(V, W, b, c, s, vis, hid, n_copies, 1, 11, 3)
    got = ops.gibbs(V, W, b, c, s, visible=visible, hidden=hidden, n_copies=n_copies,
                    n_steps=1, seed=11, step=3, n_threads=n_threads, backend=backend)
    if _continuous(visible, hidden):
        assert_continuous_samples_close(got, chain, dtype, scale=10.0)
    else:
        assert_samples_equal(got, chain, dtype)


@pytest.mark.parametrize("kind", ["uniforms", "normals"])
def test_random_fills_are_the_documented_stream(backend, kind, dtype):
    got = getattr(ops, kind)((3, 5), dtype, seed=2**40 + 3, stream=7, step=9, backend=backend)
    if kind == "uniforms":
        expected = reference.uniforms(2**40 + 3, 7, 9, (3, 5), dtype)
        np.testing.assert_array_equal(got, expected)
    else:
        expected = reference.normals(2**40 + 3, 7, 9, (3, 5)).astype(dtype)
        assert_close(got, expected, dtype)
    out = np.empty((3, 5), dtype)
    assert getattr(ops, kind)(seed=2**40 + 3, stream=7, step=9, out=out, backend=backend) is out
    np.testing.assert_array_equal(out, got)


@pytest.mark.parametrize("visible,hidden,n_copies", UNITS)
@pytest.mark.parametrize("persistent", [False, True])
def test_fit_epoch_equals_the_reference_epoch(visible, hidden, n_copies, persistent, dtype):
    W, b, c, s = _model(visible, dtype, seed=4)
    X = make_data(5, 37, NV, dtype, visible=VISIBLE_UNITS[visible], order="F")
    hyper = ops.training_settings(visible=visible, hidden=hidden, n_copies=n_copies, k=2,
                                  persistent=persistent, batch_size=10, learning_rate=0.05,
                                  momentum=0.5, weight_decay=1e-3, sparsity_cost=0.01,
                                  learn_sigma=visible == "gaussian")
    states = {}
    for backend in ops.BACKENDS:
        st = ops.training_state(W.copy(), b.copy(), c.copy(),
                                None if s is None else s.copy(), n_chains=10)
        order = np.random.default_rng(0).permutation(37).astype(np.int64)
        assert ops.fit_epoch(st, hyper, X, order=order, seed=3, step=5, n_threads=2,
                             backend=backend) == 4
        states[backend] = st
    for name in ("W", "b", "c", "sigma", "mW", "mb", "mc", "chains", "q"):
        got, want = getattr(states["cython"], name), getattr(states["numpy"], name)
        if name == "chains" and not _continuous(visible, hidden):
            assert_samples_equal(got, want, dtype, max_flips=10)
        else:
            # sampled statistics: an occasional float32 flip moves a gradient slightly
            assert_close(got, want, dtype, factor=1e3 if dtype == np.float32 else 100)


@pytest.mark.parametrize("visible,hidden,n_copies", UNITS)
def test_ais_equals_the_reference(backend, visible, hidden, n_copies, dtype):
    W, b, c, s = _model(visible, dtype, seed=6)
    W *= np.dtype(dtype).type(0.5)
    betas = np.linspace(0.0, 1.0, 30)
    base_b = np.zeros(NV)
    base_s = None if s is None else np.ones(NV)
    log_w, log_z = ops.ais(W, b, c, s, visible=visible, hidden=hidden, n_copies=n_copies,
                           betas=betas, base_b=base_b, base_sigma=base_s, n_runs=7, seed=4,
                           n_threads=2, backend=backend)
    ref_w, ref_z = reference.ais(W, b, c, s, VISIBLE_UNITS[visible], HIDDEN_UNITS[hidden],
                                 n_copies, betas, base_b, base_s, 7, 4)
    assert log_z == pytest.approx(ref_z, rel=1e-12)
    np.testing.assert_allclose(log_w, ref_w, rtol=0, atol=1e-3 if dtype == np.float32 else 1e-9)


def test_names_and_contract_errors(backend):
    W, b, c, s = _model("bernoulli", np.float32)
    V = make_data(0, 4, NV, np.float32)
    with pytest.raises(ValueError, match="hidden must be one of"):
        ops.hidden_mean(V, W, c, hidden="relu", backend=backend)
    with pytest.raises(TypeError, match="hidden must be a string"):
        ops.hidden_mean(V, W, c, hidden=0, backend=backend)
    with pytest.raises(TypeError, match="dtype float32"):
        ops.hidden_mean(V.astype(np.float64), W, c, backend=backend)
    with pytest.raises(ValueError, match="C-contiguous"):
        ops.hidden_mean(V, np.asfortranarray(W), c, backend=backend)
    with pytest.raises(ValueError, match="read-only"):
        out = np.empty((4, NH), np.float32)
        out.flags.writeable = False
        ops.hidden_mean(V, W, c, out=out, backend=backend)
    with pytest.raises(ValueError, match="backend must be 'cython' or 'numpy'"):
        ops.hidden_mean(V, W, c, backend="torch")
    hyper = ops.training_settings(batch_size=4)
    st = ops.training_state(W.copy(), b.copy(), c.copy())
    with pytest.raises(ValueError, match="at most|1 to hyper.batch_size"):
        ops.cd_update(st, hyper, make_data(0, 5, NV, np.float32), seed=0, backend=backend)


def _cd_loop(X, n_hidden, n_epochs, seed, backend):
    """CD-1 with momentum, as RBM.fit does it, written with fastrbm.ops alone."""
    n, nv = X.shape
    W = ops.normals((n_hidden, nv), X.dtype, seed=seed, stream=streams.PURPOSE_INIT,
                    backend=backend)
    W *= X.dtype.type(0.01)
    b, c = np.zeros(nv, X.dtype), np.zeros(n_hidden, X.dtype)
    hyper = ops.training_settings(batch_size=10, learning_rate=0.1, momentum=0.5,
                                  weight_decay=1e-4)
    state = ops.training_state(W, b, c, n_chains=hyper.batch_size,
                               sparsity_target=hyper.sparsity_target)
    workspace = ops.make_workspace(hyper, nv, n_hidden, X.dtype, backend=backend)
    updates = 0
    for epoch in range(n_epochs):
        # the estimator's documented shuffle: a function of (seed, epoch)
        rng = np.random.default_rng([seed, epoch, streams.PURPOSE_TRAIN])
        order = rng.permutation(n).astype(np.int64)
        updates += ops.fit_epoch(state, hyper, X, order=order, seed=seed, step=updates,
                                 workspace=workspace, backend=backend)
    return state


@pytest.mark.parametrize("backend_name", ["cython", "numpy"])
def test_a_cd_loop_written_with_ops_reproduces_rbm_fit_bitwise(backend_name, dtype):
    X = make_data(7, 53, NV, dtype)
    model = RBM(NH, n_iter=4, batch_size=10, learning_rate=0.1, momentum=0.5,
                weight_decay=1e-4, random_state=42, dtype=np.dtype(dtype).name,
                backend=backend_name).fit(X)
    state = _cd_loop(X, NH, 4, 42, backend_name)
    np.testing.assert_array_equal(state.W, model.components_)
    np.testing.assert_array_equal(state.b, model.intercept_visible_)
    np.testing.assert_array_equal(state.c, model.intercept_hidden_)


def test_model_arrays_feed_ops():
    X = make_data(8, 50, NV, np.float64, visible=1)
    model = GaussianRBM(NH, n_iter=2, random_state=0, dtype="float64").fit(X)
    m = model.model_arrays()
    assert (m.visible, m.hidden, m.backend) == ("gaussian", "nrelu", "cython")
    np.testing.assert_array_equal(
        ops.hidden_mean(X, m.W, m.c, m.sigma, hidden=m.hidden, n_copies=m.n_copies),
        model.transform(X))
    np.testing.assert_array_equal(ops.free_energy(X, m.W, m.b, m.c, m.sigma, **m.units),
                                  model.free_energy(X))


# ------------------------------------------------------------------ layering
# the source tree beside the tests (an installed wheel holds no .pyx files)
PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "fastrbm"
if not (PACKAGE / "_kernels.pyx").exists():
    PACKAGE = pathlib.Path(fastrbm.__file__).parent
SOURCES = sorted(PACKAGE.glob("*.py")) + sorted(PACKAGE.glob("*.pyx"))


def _imports(path: pathlib.Path) -> set:
    """The fastrbm modules ``path`` imports (relative or absolute, at any depth)."""
    text = path.read_text()
    if path.suffix == ".pyx":     # Cython: keep the Python import statements only
        pattern = re.compile(r"^\s*(from\s+[\w.]+\s+import\s+[\w, ()]+|import\s+[\w.]+)\s*$")
        text = "\n".join(line.strip() for line in text.splitlines()
                         if pattern.match(line) and " cimport " not in line)
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level or mod.startswith("fastrbm"):
                base = mod.removeprefix("fastrbm").lstrip(".")
                if base:
                    found.add(base.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fastrbm."):
                    found.add(alias.name.split(".")[1])
    return found


def test_sources_are_found():
    names = {p.name for p in SOURCES}
    assert {"ops.py", "rbm.py"} <= names
    if not (PACKAGE / "_kernels.pyx").exists():
        pytest.skip("no source tree beside the tests: the .pyx imports are not checked")
    assert "_kernels.pyx" in names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_only_the_backend_switch_imports_the_reference(path):
    if path.name in ("ops.py", "reference.py"):
        return
    assert "reference" not in _imports(path), f"{path.name} imports fastrbm.reference"


# the modules above ops: they reach the kernels only through ops
ABOVE_OPS = ("rbm.py", "_bernoulli.py", "dbn.py", "sbn.py", "evaluation.py", "cli.py",
             "io.py", "datasets.py", "_estimator.py", "_commands.py", "plot.py",
             "scaling.py", "progress.py")


@pytest.mark.parametrize("name", ABOVE_OPS)
def test_estimators_and_tools_reach_the_kernels_only_through_ops(name):
    imported = _imports(PACKAGE / name)
    assert not imported & {"_kernels", "_ais", "reference"}, (name, imported)


# what a module above ops may call on another object's private names: scikit-learn's
# own protocol, and the DBN's checks of its layers' fitted structure against their
# settings (it owns its layers; the record is the RBM's, not an API)
ALLOWED_PRIVATE_CALLS = {"_param_names", "_fitted_record", "_structure"}


def _private_calls(path: pathlib.Path) -> set:
    """``obj._name(...)`` calls in ``path`` on anything but ``self``, ``cls`` or
    ``super()``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        attr, owner = node.func.attr, node.func.value
        if not attr.startswith("_") or attr.startswith("__"):
            continue
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and getattr(owner.func, "id", "") == "super":
            continue
        found.add(attr)
    return found


@pytest.mark.parametrize("name", ("dbn.py", "sbn.py", "evaluation.py", "cli.py",
                                  "datasets.py", "_commands.py", "plot.py", "scaling.py",
                                  "progress.py"))
def test_tools_use_the_models_public_accessors(name):
    calls = _private_calls(PACKAGE / name) - ALLOWED_PRIVATE_CALLS
    assert not calls, f"{name} calls private methods of other objects: {sorted(calls)}"


def test_public_accessors():
    X = make_data(8, 40, NV, np.float32, visible=0)
    model = RBM(NH, n_iter=1, random_state=3, batch_size=10).fit(X)
    hyper = model.training_settings()
    assert (hyper.batch_size, hyper.learning_rate, hyper.k) == (10, 0.1, 1)
    model.set_params(k=0)
    with pytest.raises(ValueError, match="k"):
        model.training_settings()
    model.set_params(k=1)
    assert model.validate_rows(X) is X
    with pytest.raises(ValueError, match="V"):
        model.validate_rows(X[:, :3], "V")
    seed, step = model.next_sample_stream()
    assert model.next_sample_stream() == (seed, step + 1)
    # the counter is the one gibbs draws from: a clone whose counter was advanced once
    # gives the same chain
    twin = RBM(NH, n_iter=1, random_state=3, batch_size=10).fit(X)
    twin.next_sample_stream()
    twin.next_sample_stream()
    np.testing.assert_array_equal(model.gibbs(X[:5]), twin.gibbs(X[:5]))
    with pytest.raises(ValueError, match="not fitted"):   # NotFittedError
        RBM().next_sample_stream()


@pytest.mark.parametrize("name", ["hidden_conditional", "visible_conditional", "gibbs",
                                  "free_energy", "fit_epoch", "make_workspace",
                                  "fill_uniforms", "fill_normals", "ais"])
def test_the_two_backends_have_the_same_signatures(name):
    import inspect

    from fastrbm import _ais, _kernels

    compiled = getattr(_ais if name == "ais" else _kernels, name)
    assert (list(inspect.signature(compiled).parameters) ==
            list(inspect.signature(getattr(reference, name)).parameters))
