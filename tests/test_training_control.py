"""Training control: schedules, validation and early stopping, checkpoints, resuming.

Tiny models throughout (the whole file runs in seconds); every comparison of training
runs is bitwise (the same seed, the same n_threads).
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from fastrbm import RBM, GaussianRBM, io
from fastrbm import _training_control as control
from fastrbm.datasets import bars_and_stripes
from fastrbm.dbn import DBN

BAS = bars_and_stripes(3)                       # 14 rows of 9 binary features
X = np.random.default_rng(0).random((40, 9)) < 0.4
X = X.astype(np.float64)
ARRAYS = ("components_", "intercept_visible_", "intercept_hidden_", "sigma_")
STATE = ("mW", "mb", "mc", "mz", "chains", "q", "vW", "vb", "vc", "vz", "adam_steps")


def small(**kw) -> RBM:
    params = dict(n_components=5, batch_size=8, n_iter=6, random_state=3, n_threads=1,
                  momentum=0.5)
    params.update(kw)
    return RBM(**params)


def assert_same_model(a: RBM, b: RBM, state: bool = True) -> None:
    """Bitwise equal parameters, training state and counters."""
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype
    if state:
        for name in STATE:
            np.testing.assert_array_equal(getattr(a._state, name), getattr(b._state, name),
                                          err_msg=name)
    for name in ("n_iter_", "_n_updates", "_n_sample_calls", "_seed"):
        assert getattr(a, name) == getattr(b, name), name


def epoch_infos(model, data=X, **fit_kw) -> list:
    infos = []
    model.fit(data, callback=lambda m, info: infos.append(dict(info)), **fit_kw)
    return infos


# ----------------------------------------------------------------- schedules
@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_constant_schedule_equals_no_schedule_bitwise(backend):
    plain = small(backend=backend).fit(X)
    for spec in ("constant", ("constant",), {"name": "constant"}):
        scheduled = small(backend=backend, learning_rate_schedule=spec,
                          momentum_schedule=spec).fit(X)
        assert_same_model(plain, scheduled)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_exponential_schedule_equals_manual_partial_fit_loop(backend):
    fitted = small(backend=backend, learning_rate_schedule=("exponential", {"decay": 0.8}),
                   learning_rate=0.2).fit(X)
    manual = small(backend=backend, learning_rate=0.2)
    for epoch in range(1, 7):
        manual.set_params(learning_rate=0.2 * 0.8 ** (epoch - 1))
        manual.partial_fit(X)
    assert_same_model(fitted, manual)


def test_partial_fit_follows_the_schedule_of_fit():
    spec = ("linear", {"final": 0.01, "epochs": 4})
    fitted = small(learning_rate_schedule=spec, momentum_schedule="practical").fit(X)
    looped = small(learning_rate_schedule=spec, momentum_schedule="practical")
    for _ in range(6):
        looped.partial_fit(X)
    assert_same_model(fitted, looped)


def test_gaussian_sigma_learning_rate_follows_the_schedule():
    Z = np.random.default_rng(1).standard_normal((30, 4))
    kw = dict(n_components=3, batch_size=10, n_iter=3, random_state=0, n_threads=1,
              learn_sigma=True)
    fitted = GaussianRBM(learning_rate_schedule=("exponential", {"decay": 0.5}), **kw).fit(Z)
    manual = GaussianRBM(**kw)
    for epoch in range(1, 4):
        manual.set_params(learning_rate=0.005 * 0.5 ** (epoch - 1))
        manual.partial_fit(Z)
    assert_same_model(fitted, manual)


def test_schedule_values_in_epoch_info_equal_their_formulas():
    infos = epoch_infos(small(n_iter=8, learning_rate=0.1,
                              learning_rate_schedule=("linear", {"final": 0.02, "epochs": 5}),
                              momentum_schedule="practical"))
    lr = [0.1 + (0.02 - 0.1) * (e - 1) / 4 if e < 5 else 0.02 for e in range(1, 9)]
    assert [i["learning_rate"] for i in infos] == pytest.approx(lr, rel=1e-15)
    assert [i["momentum"] for i in infos] == [0.5] * 5 + [0.9] * 3
    infos = epoch_infos(small(n_iter=4, momentum=0.8,
                              momentum_schedule={"name": "exponential", "decay": 0.5},
                              learning_rate_schedule=lambda e: 0.01 * e))
    assert [i["momentum"] for i in infos] == [0.8 * 0.5 ** (e - 1) for e in range(1, 5)]
    assert [i["learning_rate"] for i in infos] == [0.01 * e for e in range(1, 5)]
    infos = epoch_infos(small(n_iter=3, momentum_schedule=(
        "practical", {"initial": 0.1, "final": 0.7, "switch_epoch": 3})))
    assert [i["momentum"] for i in infos] == [0.1, 0.1, 0.7]


def test_warm_start_continues_the_schedule_epochs():
    model = small(n_iter=3, learning_rate_schedule=lambda e: 0.01 * e).fit(X)
    infos = epoch_infos(model.set_params(warm_start=True, n_iter=5))
    assert [i["epoch"] for i in infos] == [4, 5]
    assert [i["learning_rate"] for i in infos] == [0.04, 0.05]


@pytest.mark.parametrize("param,spec,match", [
    ("learning_rate_schedule", "cosine", "unknown schedule 'cosine'"),
    ("learning_rate_schedule", "practical", "for momentum only"),
    ("learning_rate_schedule", ("exponential", {}), "decay"),
    ("learning_rate_schedule", ("exponential", {"decay": 1.5}), "decay"),
    ("learning_rate_schedule", ("exponential", {"decay": 0.9, "rate": 1}), "rate"),
    ("learning_rate_schedule", ("linear", {"final": -1.0, "epochs": 3}), "final"),
    ("learning_rate_schedule", ("linear", {"final": 0.1, "epochs": 1}), "epochs"),
    ("learning_rate_schedule", ("linear", 0.1), "tuple"),
    ("learning_rate_schedule", {"decay": 0.9}, "'name'"),
    ("learning_rate_schedule", 0.1, "callable"),
    ("learning_rate_schedule", lambda e: float("nan") if e == 3 else 0.1, "epoch 3"),
    ("learning_rate_schedule", lambda e: 0.0, "epoch 1"),
    ("learning_rate_schedule", lambda e: 1 / 0, "ZeroDivisionError"),
    ("momentum_schedule", lambda e: 1.0, "momentum_schedule at epoch 1"),
    ("momentum_schedule", ("practical", {"final": 1.2}), "final"),
    ("momentum_schedule", ("practical", {"switch_epoch": 0}), "switch_epoch"),
])
def test_bad_schedules_are_refused_and_the_model_is_untouched(param, spec, match):
    model = small(n_iter=2).fit(X)
    before = {name: getattr(model, name).copy() for name in ARRAYS}
    model.set_params(**{param: spec}, n_iter=6)
    with pytest.raises(ValueError) as err:
        model.fit(X)
    assert param in str(err.value) and match in str(err.value)
    assert model.n_iter_ == 2
    for name, a in before.items():
        np.testing.assert_array_equal(getattr(model, name), a)
    with pytest.raises(ValueError, match=param):
        model.partial_fit(X)
    assert model.n_iter_ == 2


# ----------------------------------------------------------------- validation
def test_validation_fraction_split_is_deterministic_and_disjoint():
    train, valid = control.split_rows(40, 0.25, seed=7)
    again = control.split_rows(40, 0.25, seed=7)
    other = control.split_rows(40, 0.25, seed=8)
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(valid, again[1])
    assert not np.array_equal(valid, other[1])
    assert len(valid) == 10 and len(train) == 30
    assert np.intersect1d(train, valid).size == 0
    np.testing.assert_array_equal(np.union1d(train, valid), np.arange(40))
    # the model trains on the training rows only, in the order of a fit on them alone
    held = small(validation_fraction=0.25, random_state=7).fit(X)
    alone = small(random_state=7).fit(X[train])
    assert_same_model(held, alone)
    assert len(held.validation_scores_) == 6


def test_validation_scores_are_the_metric_of_each_epoch():
    V = X[:10]
    for metric in ("free_energy_gap", "reconstruction_error", "pseudo_likelihood",
                   "log_likelihood"):
        seen = []

        def record(m, info):
            seen.append(info["validation_score"])
            from fastrbm import evaluation
            ref = {"reconstruction_error": lambda: evaluation.reconstruction_error(m, V),
                   "pseudo_likelihood": lambda: evaluation.pseudo_likelihood(m, V).mean(),
                   "log_likelihood": lambda: evaluation.log_likelihood_exact(m, V).mean(),
                   "free_energy_gap": lambda: evaluation.free_energy_gap(
                       m, X[control.reference_rows(40, 10, m._seed)], V)}
            assert info["validation_score"] == pytest.approx(ref[metric](), rel=1e-12)

        model = small(n_iter=3, validation_metric=metric)
        model.fit(X, validation_data=V, callback=record)
        assert model.validation_scores_ == seen
        best = (np.argmin if metric in ("free_energy_gap", "reconstruction_error")
                else np.argmax)(seen)
        assert model.best_epoch_ == best + 1
        assert model.best_validation_score_ == seen[best]


def test_validation_settings_are_refused_before_training():
    model = small()
    with pytest.raises(ValueError, match="not both"):
        model.set_params(validation_fraction=0.2).fit(X, validation_data=X[:5])
    with pytest.raises(ValueError, match="patience needs validation"):
        small(patience=2).fit(X)
    with pytest.raises(ValueError, match="validation_fraction"):
        small(validation_fraction=1.0).fit(X)
    with pytest.raises(ValueError, match="validation_metric"):
        small(validation_metric="accuracy").fit(X)
    with pytest.raises(ValueError, match="cannot be enumerated"):
        small(n_components=30, validation_metric="log_likelihood").fit(
            np.zeros((4, 30)), validation_data=np.zeros((2, 30)))
    with pytest.raises(ValueError, match="Bernoulli visible"):
        GaussianRBM(3, validation_metric="pseudo_likelihood", validation_fraction=0.5).fit(
            np.random.default_rng(0).standard_normal((10, 3)))
    with pytest.raises(ValueError, match="features"):
        small().fit(X, validation_data=X[:4, :5])
    assert not hasattr(model, "components_")


# ----------------------------------------------------------------- early stopping
SCRIPTED = [5.0, 4.0, 3.0, 3.5, 3.0, 3.9, 2.0, 1.0]


@pytest.fixture
def scripted_scores(monkeypatch):
    """The metric of epoch e is SCRIPTED[e - 1] (the epoch is n_iter_ + 1 while scoring)."""
    monkeypatch.setattr(control.Validator, "score", lambda self, rbm: SCRIPTED[rbm.n_iter_])


def test_early_stopping_stops_at_the_predicted_epoch_and_restores_the_best(
        scripted_scores, tmp_path):
    path = str(tmp_path / "ck-{epoch}.npz")
    model = small(n_iter=8, validation_fraction=0.25, patience=3, checkpoint_every=1,
                  checkpoint_path=path, persistent=True)
    infos = epoch_infos(model)
    # best 3.0 at epoch 3 (epoch 5 ties: no improvement); epochs 4, 5, 6 do not improve
    assert [i["epoch"] for i in infos] == [1, 2, 3, 4, 5, 6]
    assert model.n_iter_ == 6 and model.best_epoch_ == 3
    assert model.validation_scores_ == SCRIPTED[:6] and model.best_validation_score_ == 3.0
    at_best = io.load(path.format(epoch=3))
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(model, name), getattr(at_best, name))
    for name in STATE:
        np.testing.assert_array_equal(getattr(model._state, name),
                                      getattr(at_best._state, name))
    last = io.load(path.format(epoch=6))        # counters are not restored
    assert (model._n_updates, model.n_iter_) == (last._n_updates, last.n_iter_)
    assert not os.path.exists(path.format(epoch=7))


def test_no_patience_records_scores_but_keeps_the_last_epoch(scripted_scores):
    model = small(n_iter=8, validation_fraction=0.25)
    model.fit(X)
    plain = small(n_iter=8, validation_fraction=0.25, validation_metric="pseudo_likelihood")
    plain.fit(X)
    assert model.n_iter_ == 8 and model.best_epoch_ == 8
    assert_same_model(model, plain)


def test_early_stopping_on_tiny_data_that_overfits():
    model = RBM(16, n_iter=60, batch_size=4, learning_rate=0.3, random_state=0, n_threads=1,
                validation_fraction=0.3, patience=4)
    model.fit(BAS)
    scores = model.validation_scores_
    assert model.n_iter_ == len(scores)
    assert model.best_epoch_ == int(np.argmin(scores)) + 1
    assert model.n_iter_ == 60 or model.n_iter_ == model.best_epoch_ + 4


def test_interrupt_while_scoring_leaves_the_last_complete_epoch(monkeypatch):
    reference = small(n_iter=2, validation_fraction=0.25).fit(X)

    def score(self, rbm):
        if rbm.n_iter_ == 2:
            raise KeyboardInterrupt
        return float(-rbm.n_iter_)

    monkeypatch.setattr(control.Validator, "score", score)
    model = small(n_iter=6, validation_fraction=0.25, patience=5)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X)
    assert_same_model(model, reference)
    assert model.validation_scores_ == [0.0, -1.0] and model.best_epoch_ == 2
    assert model._since_best == 0 and model._best_state is not None


# ----------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("persistent", [False, True])
def test_resume_from_a_checkpoint_is_bitwise_equal(tmp_path, backend, dtype, persistent):
    kw = dict(n_iter=7, backend=backend, dtype=dtype, persistent=persistent,
              momentum_schedule="practical")
    whole = small(**kw).fit(X)
    path = str(tmp_path / "ck-{epoch}.npz")
    small(checkpoint_every=3, checkpoint_path=path, **kw).fit(X)
    assert sorted(os.listdir(tmp_path)) == ["ck-3.npz", "ck-6.npz"]
    resumed = io.load(path.format(epoch=3))
    assert resumed.n_iter_ == 3
    resumed.set_params(warm_start=True, checkpoint_every=0).fit(X)
    assert_same_model(whole, resumed)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_of_an_early_stopped_run_decides_as_the_uninterrupted_one(tmp_path,
                                                                         optimizer):
    # with Adam, the best state's moments and step count are saved too
    kw = dict(n_iter=40, validation_fraction=0.3, patience=3, n_components=12, batch_size=4,
              validation_metric="reconstruction_error", optimizer=optimizer,
              learning_rate=0.5 if optimizer == "sgd" else 0.05)
    whole = small(**kw).fit(X)
    assert whole.n_iter_ < 40, "the case must stop early"
    path = str(tmp_path / "ck-{epoch}.npz")
    small(checkpoint_every=2, checkpoint_path=path, **kw).fit(X)
    for epoch in range(2, whole.n_iter_ + 1, 2):
        resumed = io.load(path.format(epoch=epoch)).set_params(warm_start=True)
        resumed.fit(X)
        assert_same_model(whole, resumed)
        assert resumed.validation_scores_ == whole.validation_scores_
        assert resumed.best_epoch_ == whole.best_epoch_


def test_warm_start_when_done_trains_no_epoch():
    model = small(n_iter=3).fit(X)
    before = model.components_.copy()
    infos = epoch_infos(model.set_params(warm_start=True))
    assert infos == [] and model.n_iter_ == 3
    np.testing.assert_array_equal(model.components_, before)
    # warm_start on an unfitted model is a plain fit
    assert small(n_iter=3, warm_start=True).fit(X).n_iter_ == 3


def test_warm_start_refuses_a_changed_structure():
    model = small(n_iter=2).fit(X).set_params(warm_start=True, n_components=7)
    with pytest.raises(ValueError, match="warm_start=False"):
        model.fit(X)


def test_checkpoint_settings_are_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="needs checkpoint_path"):
        small(checkpoint_every=2).fit(X)
    with pytest.raises(ValueError, match="does not exist"):
        small(checkpoint_every=2, checkpoint_path=str(tmp_path / "no" / "ck.npz")).fit(X)
    with pytest.raises(ValueError, match="replacement field"):
        small(checkpoint_every=2, checkpoint_path=str(tmp_path / "{step}.npz")).fit(X)
    with pytest.raises(ValueError, match="callable cannot be saved"):
        small(checkpoint_every=2, checkpoint_path=str(tmp_path / "c.npz"),
              learning_rate_schedule=lambda e: 0.1).fit(X)
    with pytest.raises(ValueError, match="checkpoint_every"):
        small(checkpoint_every=-1).fit(X)
    assert os.listdir(tmp_path) == []


def test_an_unwritable_checkpoint_gives_a_clear_error(tmp_path):
    path = tmp_path / "ck.npz"
    small(checkpoint_every=1, checkpoint_path=str(path)).fit(X)
    assert os.listdir(tmp_path) == ["ck.npz"]    # one file, replaced every epoch
    assert io.load(path).n_iter_ == 6
    path.unlink()
    path.mkdir()                                 # a folder in the way: cannot be replaced
    model = small(checkpoint_every=2, checkpoint_path=str(path))
    with pytest.raises(OSError, match="checkpoint of epoch 2 to"):
        model.fit(X)
    assert model.n_iter_ == 2                    # the model as after its last epoch
    assert os.listdir(tmp_path) == ["ck.npz"] and os.listdir(path) == []


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    io.save(small(n_iter=1).fit(X), path)
    old = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="No space"):
        io.save(small(n_iter=2).fit(X), path)
    assert path.read_bytes() == old              # the old file, whole
    assert os.listdir(tmp_path) == ["m.npz"]     # and no temporary file
    with pytest.raises(OSError):
        io.save(small(n_iter=2).fit(X), tmp_path / "new.npz")
    assert os.listdir(tmp_path) == ["m.npz"]


def test_saved_file_has_the_usual_permissions(tmp_path):
    path = tmp_path / "m.npz"
    io.save(small(n_iter=1).fit(X), path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


# ----------------------------------------------------------------- DBN
def test_dbn_layers_take_schedules_and_validation_but_not_checkpoints():
    dbn = DBN((6, 4), rbm_params=dict(n_iter=4, batch_size=8, n_threads=1,
                                      learning_rate_schedule=("exponential", {"decay": 0.5}),
                                      validation_fraction=0.25, patience=2),
              random_state=0).fit(X)
    for rbm in dbn.rbms_:
        assert 1 <= len(rbm.validation_scores_) == rbm.n_iter_ <= 4
        assert rbm.learning_rate_schedule == ("exponential", {"decay": 0.5})
    for key, value in (("checkpoint_every", 1), ("checkpoint_path", "x"),
                       ("warm_start", True)):
        with pytest.raises(ValueError, match=f"may not set '{key}'"):
            DBN((6, 4), rbm_params={key: value}).fit(X)
    with pytest.raises(ValueError, match="init='tied'"):
        DBN((6, 9), init="tied", rbm_params=dict(validation_fraction=0.2)).fit(X)
