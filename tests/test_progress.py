"""Progress of long computations: callbacks, verbose lines, the time-left estimate."""
from __future__ import annotations

import numpy as np
import pytest

from fastrbm import DBN, RBM, ops
from fastrbm import progress as _progress
from fastrbm import evaluation as E
from fastrbm.datasets import bars_and_stripes


class Recorder:
    """A progress callback that keeps every (done, total) it is given."""

    def __init__(self):
        self.calls = []

    def __call__(self, done, total):
        self.calls.append((done, total))

    def check_complete(self, total=None):
        """Reports are nondecreasing, of one total, and end at that total."""
        assert self.calls, "no progress was reported"
        dones = [d for d, _ in self.calls]
        totals = {t for _, t in self.calls}
        assert len(totals) == 1, totals
        (t,) = totals
        if total is not None:
            assert t == total
        assert all(a <= b for a, b in zip(dones, dones[1:])), dones
        assert dones[0] > 0 and dones[-1] == t
        return t


@pytest.fixture(scope="module")
def model():
    X = bars_and_stripes(3)
    return RBM(n_components=6, n_iter=30, learning_rate=0.1, batch_size=4,
               random_state=0).fit(X), X


def test_ais_reports_every_intermediate_distribution(model):
    rbm, X = model
    rec = Recorder()
    betas = np.linspace(0, 1, 301)
    plain = E.ais(rbm, n_runs=8, betas=betas, random_state=1)
    watched = E.ais(rbm, n_runs=8, betas=betas, random_state=1, progress=rec)
    rec.check_complete(300)
    assert len(rec.calls) >= 2
    # watching does not change the answer
    np.testing.assert_array_equal(plain.log_weights, watched.log_weights)


def test_reverse_ais_and_sandwich_report(model):
    rbm, X = model
    rec = Recorder()
    E.reverse_ais(rbm, X[:5], n_runs=3, betas=np.linspace(0, 1, 101), random_state=2,
                  progress=rec)
    rec.check_complete(100)
    # the sandwich runs AIS then RAISE, each reporting from the start to its end
    rec = Recorder()
    E.sandwich(rbm, X[:5], n_runs=4, n_runs_raise=2, betas=np.linspace(0, 1, 51),
               random_state=2, progress=rec)
    ends = [i for i, (d, t) in enumerate(rec.calls) if d == t]
    assert len(ends) >= 2 and ends[-1] == len(rec.calls) - 1


def test_exact_log_z_reports_the_states(model):
    rbm, _ = model
    rec = Recorder()
    lz = E.log_partition_exact(rbm, progress=rec)
    assert lz == E.log_partition_exact(rbm)
    rec.check_complete(2 ** min(rbm.n_components, rbm.n_features_in_))


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_gibbs_reports_each_step_in_both_backends(model, backend):
    rbm, X = model
    rec = Recorder()
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    V = np.ascontiguousarray(X[:4], dtype=W.dtype)
    out = ops.gibbs(V, W, b, c, n_steps=7, seed=3, backend=backend, progress=rec)
    assert rec.calls == [(t, 7) for t in range(1, 8)]
    np.testing.assert_array_equal(out, ops.gibbs(V, W, b, c, n_steps=7, seed=3,
                                                 backend=backend))


def test_sample_reports_and_verbose_prints_time_left(model, capsys):
    rbm, _ = model
    rec = Recorder()
    rbm.sample(3, n_steps=50, progress=rec)
    assert rec.calls == [(t, 50) for t in range(1, 51)]
    assert capsys.readouterr().out == ""          # silent unless asked
    rbm.set_params(verbose=True)
    try:
        rbm.sample(3, n_steps=50)
    finally:
        rbm.set_params(verbose=False)
    lines = capsys.readouterr().out.strip().splitlines()
    # a line every tenth of the work, the last without an estimate
    assert len(lines) == 10, lines
    assert all("RBM.sample" in line for line in lines)
    assert all("left" in line for line in lines[:-1]) and "left" not in lines[-1]
    assert "50/50" in lines[-1]


def test_dbn_bound_and_sample_report_both_stages():
    X = bars_and_stripes(3)
    dbn = DBN([5, 4], rbm_params=dict(n_iter=5), random_state=0).fit(X)
    rec = Recorder()
    dbn.log_likelihood_bound(X, n_samples=20, exact=False, log_z="exact", progress=rec)
    # stage 1: the top RBM's states (2**4 as the smaller side); stage 2: the samples
    totals = [t for _, t in rec.calls]
    assert totals[0] == 2 ** 4 and totals[-1] == 20
    stage2 = Recorder()
    stage2.calls = [c for c in rec.calls if c[1] == 20]
    stage2.check_complete(20)
    rec = Recorder()
    dbn.sample(2, n_gibbs=9, progress=rec)
    assert rec.calls == [(t, 9) for t in range(1, 10)]


@pytest.mark.parametrize("call", [
    lambda rbm, X: E.ais(rbm, n_runs=2, progress=3),
    lambda rbm, X: E.reverse_ais(rbm, X[:2], n_runs=2, progress="bar"),
    lambda rbm, X: E.log_partition_exact(rbm, progress=[1]),
    lambda rbm, X: rbm.sample(2, n_steps=3, progress=object()),
])
def test_a_non_callable_progress_is_refused_untouched(model, call):
    rbm, X = model
    before = [a.copy() for a in (rbm.components_, rbm.intercept_visible_,
                                 rbm.intercept_hidden_)]
    calls = rbm._n_sample_calls if hasattr(rbm, "_n_sample_calls") else None
    with pytest.raises(TypeError, match="progress"):
        call(rbm, X)
    for a, b in zip(before, (rbm.components_, rbm.intercept_visible_,
                             rbm.intercept_hidden_)):
        np.testing.assert_array_equal(a, b)
    if calls is not None:
        assert rbm._n_sample_calls == calls


def test_ops_gibbs_refuses_a_non_callable_progress(model):
    rbm, X = model
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    with pytest.raises(TypeError, match="progress"):
        ops.gibbs(np.ascontiguousarray(X[:2], dtype=W.dtype), W, b, c, seed=0,
                  progress=5)


def test_a_callback_error_propagates(model):
    rbm, _ = model

    def stop(done, total):
        if done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rbm.sample(2, n_steps=100, progress=stop)


def test_time_formatting_and_estimate():
    assert _progress.format_seconds(None) == "?"
    assert _progress.format_seconds(3.25) == "3.2 s" or \
        _progress.format_seconds(3.25) == "3.3 s"
    assert _progress.format_seconds(125) == "2 min 05 s"
    assert _progress.format_seconds(2 * 3600 + 3 * 60 + 10) == "2 h 03 min"
    assert _progress.seconds_left(10.0, 0, 100) is None
    assert _progress.seconds_left(10.0, 25, 100) == pytest.approx(30.0)
    assert _progress.seconds_left(10.0, 100, 100) == 0.0


def test_forced_lines_without_a_terminal(capsys):
    rec = Recorder()
    with _progress.Progress("job", "items", True, rec, bar=False) as p:
        for i in range(1, 21):
            p(i, 20)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("[job]")
    assert rec.calls == [(i, 20) for i in range(1, 21)]
