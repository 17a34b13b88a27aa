"""Shared helpers for the kernel-vs-reference tests.

Kept small on purpose: parameter/state builders and the comparison rules every
kernel test applies (tolerances by dtype; the float32 rule for sampled states).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import fastrbm

from fastrbm import reference
from fastrbm.state import Hyper, TrainState

#: Relative tolerance of deterministic quantities (means, free energies, parameters).
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}

#: float32 sampled states may differ where a uniform sits within a few ulp of the
#: probability (BLAS and NumPy round the products differently); float64 never does.
MAX_F32_FLIPS = 3

DTYPES = [np.float32, np.float64]
VISIBLE = {"bernoulli": reference.VISIBLE_BERNOULLI, "gaussian": reference.VISIBLE_GAUSSIAN}
HIDDEN = {"bernoulli": reference.HIDDEN_BERNOULLI, "stepped": reference.HIDDEN_STEPPED,
          "nrelu": reference.HIDDEN_NRELU}


def assert_close(actual, expected, dtype, scale=None, factor=1.0):
    """Equal within the dtype's relative tolerance of the array's overall magnitude.

    Entries near zero are judged against ``scale`` (default: the largest |expected|,
    at least 1) so that cancellation in a sum does not demand impossible precision.
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    # a diverged run on both sides must not pass as "equal NaNs"
    assert np.all(np.isfinite(expected)) and np.all(np.isfinite(actual))
    tol = RTOL[np.dtype(dtype)] * factor
    if scale is None:
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)


def assert_samples_equal(actual, expected, dtype, max_flips=MAX_F32_FLIPS):
    """Discrete sampled states: identical in float64; at most ``max_flips`` differ in float32."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    n_diff = int(np.count_nonzero(actual != expected))
    limit = 0 if np.dtype(dtype) == np.float64 else max_flips
    assert n_diff <= limit, f"{n_diff} of {actual.size} sampled states differ (allowed {limit})"


def assert_continuous_samples_close(actual, expected, dtype, scale=None):
    """Continuous samples (Gaussian visible, NReLU hidden) from the same normals."""
    assert_close(actual, expected, dtype, scale=scale, factor=10.0)


def make_params(seed, n_visible, n_hidden, dtype, visible=reference.VISIBLE_BERNOULLI,
                weight_scale=0.3):
    """Random (W, b, c, sigma) with W of shape (n_hidden, n_visible); sigma None if Bernoulli."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    W = (weight_scale * rng.standard_normal((n_hidden, n_visible))).astype(dt)
    b = (0.5 * rng.standard_normal(n_visible)).astype(dt)
    c = (0.5 * rng.standard_normal(n_hidden)).astype(dt)
    gauss = visible == reference.VISIBLE_GAUSSIAN
    sigma = rng.uniform(0.5, 1.5, n_visible).astype(dt) if gauss else None
    return W, b, c, sigma


def make_data(seed, n_rows, n_visible, dtype, visible=reference.VISIBLE_BERNOULLI, order="C"):
    """Binary data (Bernoulli visible) or standard normal data (Gaussian), in ``order``."""
    rng = np.random.default_rng(seed)
    if visible == reference.VISIBLE_BERNOULLI:
        X = (rng.random((n_rows, n_visible)) < rng.uniform(0.2, 0.8, n_visible))
    else:
        X = rng.standard_normal((n_rows, n_visible))
    return np.asarray(X, dtype=dtype, order=order)


def make_hyper(**kw) -> Hyper:
    """A Hyper with plain CD-1 defaults; keyword arguments override."""
    base = dict(visible=reference.VISIBLE_BERNOULLI, hidden=reference.HIDDEN_BERNOULLI,
                n_copies=1, k=1, persistent=False, batch_size=10,
                learning_rate=0.1, momentum=0.0, weight_decay=0.0, l1=0.0,
                sparsity_target=0.1, sparsity_cost=0.0, sparsity_decay=0.95,
                learn_sigma=False, sigma_learning_rate=0.01, min_sigma=0.1,
                sample_visible=True)
    base.update(kw)
    return Hyper(**base)


def make_state(W, b, c, sigma, hyper: Hyper, chain_seed=None) -> TrainState:
    """A TrainState owning copies of the parameters (sigma of ones for Bernoulli).

    ``chain_seed`` fills the persistent chains with random hidden states of the right
    kind, so PCD does not start from the all-zero corner.
    """
    dt = W.dtype
    s = np.ones(W.shape[1], dtype=dt) if sigma is None else sigma.copy()
    st = TrainState.zeros_like_params(W.copy(), b.copy(), c.copy(), s,
                                      n_chains=hyper.batch_size,
                                      sparsity_target=hyper.sparsity_target)
    if chain_seed is not None:
        rng = np.random.default_rng(chain_seed)
        top = hyper.n_copies if hyper.hidden == reference.HIDDEN_STEPPED else 1
        if hyper.hidden == reference.HIDDEN_NRELU:
            st.chains[...] = np.abs(rng.standard_normal(st.chains.shape))
        else:
            st.chains[...] = rng.integers(0, top + 1, st.chains.shape)
    return st


@pytest.fixture(scope="module")
def one_blas_thread():
    """BLAS on one thread for a module (use with ``pytest.mark.usefixtures``).

    The kernels' ``n_threads`` is the OpenMP count under test; BLAS threads spinning
    beside OpenMP threads oversubscribe a 2-core machine and slow tests many-fold.
    """
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1, user_api="blas"):
        yield


@pytest.fixture(params=DTYPES, ids=["f32", "f64"])
def dtype(request):
    """Both float types of the fused kernels."""
    return np.dtype(request.param)


def run_python(code: str, *, env: dict | None = None, timeout: float = 300,
               check: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -c code`` in a child that imports the fastrbm under test.

    ``python -c`` puts its working folder first on ``sys.path``; started at the
    repository root after a non-editable ``pip install .`` it would find the unbuilt
    source folder. So the child starts in a neutral folder, with the folder this
    process imported fastrbm from first on its path.
    """
    env = dict(os.environ if env is None else env)
    here = str(Path(fastrbm.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([here] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=tempfile.gettempdir(),
                          capture_output=True, text=True, timeout=timeout, check=check)


def epochs_by_backend(start, hyper, X, n_epochs: int = 3, seed: int = 3):
    """``start`` (a TrainState) after ``n_epochs`` epochs of ``fastrbm.ops.fit_epoch`` in
    a fixed shuffled order, through the NumPy reference and through the kernels on 1
    and on 2 threads. Asserts that the kernels' thread count changed nothing (bitwise,
    every field) and returns (kernel state, reference state)."""
    import dataclasses

    from fastrbm import ops

    order = np.random.default_rng(0).permutation(X.shape[0]).astype(np.int64)
    n_batches = -(-X.shape[0] // hyper.batch_size)
    states = {}
    for name, backend, threads in (("numpy", "numpy", 1), ("cython1", "cython", 1),
                                   ("cython2", "cython", 2)):
        st = start.copy()
        for epoch in range(n_epochs):
            ops.fit_epoch(st, hyper, X, order=order, seed=seed, step=n_batches * epoch,
                          n_threads=threads, backend=backend)
        states[name] = st
    for f in dataclasses.fields(type(start)):
        np.testing.assert_array_equal(getattr(states["cython1"], f.name),
                                      getattr(states["cython2"], f.name), err_msg=f.name)
    return states["cython1"], states["numpy"]


def assert_setting_refused(kw: dict, match: str, n_features: int = 9, n_hidden: int = 6):
    """A fitted RBM given the settings ``kw``: ``partial_fit`` raises a ValueError or
    TypeError matching ``match`` and leaves the weights as they were."""
    from fastrbm import RBM

    X = make_data(3, 20, n_features, np.float32)
    model = RBM(n_hidden, n_iter=1, batch_size=10, random_state=0).fit(X)
    W = model.components_.copy()
    model.set_params(**kw)
    with pytest.raises((ValueError, TypeError), match=match):
        model.partial_fit(X)
    np.testing.assert_array_equal(model.components_, W)


def run_quick_benchmark(script: str, out, marker: str, timeout: float):
    """``benchmarks/<script> --quick --json out`` from the repository root, the
    environment passed on unchanged (the script alone decides about its own); it must
    succeed and print ``marker``. Returns (the JSON result, stdout)."""
    import json

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / script), "--quick",
                           "--json", str(out)], cwd=root, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert marker in proc.stdout
    with open(out) as f:
        return json.load(f), proc.stdout


def bars_and_stripes_32() -> np.ndarray:
    """Bars-and-stripes 4x4 in its 32-row form (all-off and all-on listed twice): the
    learning anchors of issue 12 were measured on it."""
    X = fastrbm.datasets.bars_and_stripes(4)
    ends = X[(X.sum(1) == 0) | (X.sum(1) == 16)]
    return np.vstack([X, ends])
