"""Ctrl-C: a real SIGINT reaches the long-running kernels, and an interrupted fit leaves
the model exactly as after its last complete epoch.

Each case runs in a subprocess that sends itself SIGINT from a timer while a call that
would take far longer is running. The checks are about *where* the interrupt was seen
(inside the compiled call, not after it) and about the model's state, never about
wall-clock times (benchmarks/interrupts.py measures the latency).
"""
from __future__ import annotations

import json
import os
import signal
import textwrap

import numpy as np
import pytest
from conftest import run_python

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt",
                                reason="needs POSIX signals")

PRELUDE = """
import json, os, signal, sys, threading, traceback
import numpy as np
import fastrbm
from fastrbm import RBM, evaluation

# A shell starts background jobs with SIGINT ignored, and Python then keeps it ignored:
# restore the handler that turns SIGINT into KeyboardInterrupt, as an interactive
# session has it, whoever started the test run.
signal.signal(signal.SIGINT, signal.default_int_handler)

def interrupt_after(seconds):
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()

def where(exc):
    # the innermost frame: a compiled function when the kernel itself saw the signal
    frames = traceback.extract_tb(exc.__traceback__)
    return [f.name for f in frames]
"""


def _run(body: str, timeout=300) -> dict:
    code = PRELUDE + textwrap.dedent(body)
    out = run_python(code, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _interrupted(call: str) -> str:
    """Lines that run ``call`` with a SIGINT due after 0.2 s and print where it landed
    (indented as the bodies given to :func:`_run`)."""
    return textwrap.indent(f"""
interrupt_after(0.2)
try:
    {call}
    print(json.dumps({{"interrupted": False}}))
except KeyboardInterrupt as exc:
    print(json.dumps({{"interrupted": True, "where": where(exc)}}))
""", "    ")


def _data_lines():
    return """
    rng = np.random.default_rng(0)
    X = (rng.random((20000, 400)) < 0.3).astype(np.float32)
    """


def test_sigint_inside_an_epoch_restores_the_last_complete_epoch(tmp_path):
    path = tmp_path / "interrupted.npz"
    # fit validates once, then loops over epochs: between two epochs there is well under
    # a millisecond of Python, so the signal lands inside an epoch's kernel
    result = _run(_data_lines() + f"""
    model = RBM(200, batch_size=50, n_iter=1000, random_state=3, momentum=0.5)
    interrupt_after(1.0)
    try:
        model.fit(X)                    # epochs on 20000 rows: far longer than 1 s
        print(json.dumps({{"interrupted": False}}))
    except KeyboardInterrupt as exc:
        np.savez({str(path)!r}, W=model.components_, b=model.intercept_visible_,
                 c=model.intercept_hidden_, mW=model._state.mW)
        print(json.dumps({{"interrupted": True, "where": where(exc),
                          "n_iter": model.n_iter_, "updates": model._n_updates}}))
    """)
    assert result["interrupted"]
    # seen inside the kernel, not between epochs
    assert any(name.endswith("fit_epoch") for name in result["where"]), result["where"]
    # the same fit for the epochs that completed: bitwise equal, momentum included
    from fastrbm import RBM

    rng = np.random.default_rng(0)
    X = (rng.random((20000, 400)) < 0.3).astype(np.float32)
    ref = RBM(200, batch_size=50, n_iter=result["n_iter"], random_state=3, momentum=0.5)
    ref.fit(X)
    saved = np.load(path)
    np.testing.assert_array_equal(saved["W"], ref.components_)
    np.testing.assert_array_equal(saved["b"], ref.intercept_visible_)
    np.testing.assert_array_equal(saved["c"], ref.intercept_hidden_)
    if ref._state is not None:
        np.testing.assert_array_equal(saved["mW"], ref._state.mW)
    assert result["updates"] == ref._n_updates


def test_continuing_after_an_interrupt_gives_the_uninterrupted_run():
    result = _run(_data_lines() + """
    model = RBM(200, batch_size=50, n_iter=1, random_state=4, persistent=True)
    model.fit(X[:1000])
    interrupt_after(0.2)
    try:
        while True:
            model.partial_fit(X)
    except KeyboardInterrupt:
        pass
    done = model.n_iter_
    model.partial_fit(X[:3000])
    print(json.dumps({"n_iter": done, "W": model.components_[:3, :5].tolist(),
                      "sum": float(np.sum(model.components_, dtype=np.float64))}))
    """)
    from fastrbm import RBM

    rng = np.random.default_rng(0)
    X = (rng.random((20000, 400)) < 0.3).astype(np.float32)
    ref = RBM(200, batch_size=50, n_iter=1, random_state=4, persistent=True).fit(X[:1000])
    for _ in range(result["n_iter"] - 1):
        ref.partial_fit(X)
    ref.partial_fit(X[:3000])
    np.testing.assert_array_equal(np.array(result["W"], np.float32), ref.components_[:3, :5])
    assert result["sum"] == float(np.sum(ref.components_, dtype=np.float64))


@pytest.mark.parametrize("n_hidden,call,frame", [
    (300, "model.sample(5000, n_steps=10**6)", "gibbs"),
    # 60000 x 400 x 1500 products: seconds even on a fast idle machine
    (1500, "model.transform(big)", "hidden_conditional"),
    (300, "evaluation.ais(model, n_runs=500, betas=np.linspace(0, 1, 10**6), random_state=0)",
     "_ais_segments"),
])
def test_sigint_reaches_long_inference_calls(n_hidden, call, frame):
    result = _run(_data_lines() + f"""
    model = RBM({n_hidden}, n_iter=1, random_state=0).fit(X[:500])
    big = np.tile(X, (3, 1))
    model.transform(big[:1000])         # threads and BLAS warmed before the clock starts
    """ + _interrupted(call))
    assert result["interrupted"]
    assert any(name.endswith(frame) for name in result["where"]), result["where"]


@pytest.mark.parametrize("call", [
    # up-pass samples and free energies of 2000 rows x 500 samples: about 30 s
    "dbn.log_likelihood_bound(X[:2000], n_samples=500, log_z=0.0)",
    # the top RBM's log Z by AIS inside the bound
    "dbn.log_likelihood_bound(X[:5], n_samples=2, ais_runs=2000)",
])
def test_sigint_reaches_the_dbn_bound(call):
    result = _run(_data_lines() + f"""
    from fastrbm.dbn import DBN
    dbn = DBN([300, 300], rbm_params=dict(n_iter=1), random_state=0).fit(X[:500])
    """ + _interrupted(call))
    assert result["interrupted"]
    assert "log_likelihood_bound" in result["where"], result["where"]
