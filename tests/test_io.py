"""save/load: one .npz per model; loaded models compute exactly what the originals do."""
from __future__ import annotations

import io as _io
import json
import zipfile

import numpy as np
import pytest

from fastrbm import RBM, BernoulliRBM, GaussianRBM, io
from fastrbm.datasets import bars_and_stripes, gaussian_mixture
from fastrbm.dbn import DBN

BAS = bars_and_stripes(3)
Z = gaussian_mixture(200, 6, 3, random_state=0)[0]
Z = (Z - Z.mean(0)) / Z.std(0)


def roundtrip(model, tmp_path):
    path = tmp_path / "model.npz"
    io.save(model, path)
    return io.load(path)


MODELS = [
    lambda: (RBM(5, n_iter=3, persistent=True, momentum=0.9, random_state=1).fit(BAS), BAS),
    lambda: (RBM(4, hidden="stepped", n_copies=3, dtype="float64", n_iter=2,
                 sparsity_cost=0.1, random_state=2).fit(BAS), BAS),
    lambda: (BernoulliRBM(6, n_iter=2, random_state=np.random.RandomState(0)).fit(BAS), BAS),
    lambda: (GaussianRBM(4, learn_sigma=True, n_iter=3, random_state=3).fit(Z), Z),
]


@pytest.mark.parametrize("make", MODELS)
def test_rbm_roundtrip_equal_outputs_and_training_continues_identically(make, tmp_path):
    model, X = make()
    loaded = roundtrip(model, tmp_path)
    assert type(loaded) is type(model)
    assert loaded.get_params().keys() == model.get_params().keys()
    for name in ("components_", "intercept_hidden_", "intercept_visible_", "sigma_"):
        a, b = getattr(model, name), getattr(loaded, name)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert (loaded.n_features_in_, loaded.n_iter_) == (model.n_features_in_, model.n_iter_)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    np.testing.assert_array_equal(loaded.free_energy(X), model.free_energy(X))
    np.testing.assert_array_equal(loaded.sample(4, 3), model.sample(4, 3))
    # momentum, persistent chains and counters were saved: one more epoch is identical
    model.partial_fit(X)
    loaded.partial_fit(X)
    np.testing.assert_array_equal(loaded.components_, model.components_)


def test_unfitted_model_roundtrip(tmp_path):
    model = RBM(7, hidden="nrelu", learning_rate=0.02, dtype=np.float64)
    loaded = roundtrip(model, tmp_path)
    assert not hasattr(loaded, "components_")
    assert loaded.get_params() == dict(model.get_params(), dtype="float64")


def test_dbn_roundtrip(tmp_path):
    dbn = DBN([RBM(6, hidden="stepped", n_copies=4, n_iter=2),
               RBM(4, visible="gaussian", hidden="nrelu", n_iter=2, learning_rate=0.01),
               RBM(3, visible="gaussian", n_iter=2, learning_rate=0.01)],
              propagate="sample", random_state=5).fit(BAS)
    loaded = roundtrip(dbn, tmp_path)
    assert [type(r) for r in loaded.layers] == [RBM] * 3
    assert loaded.layers[0].n_copies == 4 and loaded.propagate == "sample"
    for layer in (0, 1, 2):
        np.testing.assert_array_equal(loaded.transform(BAS, layer), dbn.transform(BAS, layer))
    for layer, (a, b) in enumerate(zip(loaded.rbms_, dbn.rbms_)):
        X = BAS if layer == 0 else dbn.transform(BAS, layer - 1)
        np.testing.assert_array_equal(a.free_energy(X), b.free_energy(X))
    np.testing.assert_array_equal(loaded.sample(5, 4), dbn.sample(5, 4))
    np.testing.assert_array_equal(loaded.reconstruct(BAS), dbn.reconstruct(BAS))
    # refitting the loaded DBN reproduces the original (settings and seed survived)
    np.testing.assert_array_equal(loaded.fit(BAS).transform(BAS), dbn.fit(BAS).transform(BAS))


def test_dbn_from_sizes_roundtrip_file_object():
    dbn = DBN([5, 3], hidden=["bernoulli", "nrelu"], rbm_params=dict(n_iter=2, dtype="float64"),
              random_state=0).fit(BAS)
    buf = _io.BytesIO()
    io.save(dbn, buf)
    buf.seek(0)
    loaded = io.load(buf)
    assert loaded.rbm_params == {"n_iter": 2, "dtype": "float64"}
    assert loaded.hidden == ["bernoulli", "nrelu"]
    np.testing.assert_array_equal(loaded.transform(BAS), dbn.transform(BAS))


def test_path_is_used_exactly(tmp_path):
    path = tmp_path / "weights.rbm"
    io.save(RBM(2, n_iter=1, random_state=0).fit(BAS), str(path))
    assert path.exists() and not (tmp_path / "weights.rbm.npz").exists()
    assert io.load(str(path)).n_components == 2


def _rewrite(path, change):
    """Rewrite a saved file with its JSON record changed by ``change(meta)``."""
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["__fastrbm__"][()]))
    change(meta, arrays)
    arrays["__fastrbm__"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("change,match", [
    (lambda m, a: m.update(format="other"), "not a fastrbm model"),
    (lambda m, a: m.update(version=99), "version 99"),
    (lambda m, a: m["model"].update({"class": "Evil"}), "unknown model class 'Evil'"),
    (lambda m, a: m["model"]["params"].update(bogus=1), "do not fit GaussianRBM"),
    (lambda m, a: a.pop("components_"), "components_"),
    (lambda m, a: a.update(components_=np.zeros((3, 9), np.float32)), "shapes"),
    (lambda m, a: a.update(sigma_=a["sigma_"].astype(np.float64)), "float32 or all float64"),
    (lambda m, a: m["model"].pop("fitted"), "corrupt"),
    # values a later computation would choke on, refused when the file is read
    (lambda m, a: a["components_"].__setitem__((0, 0), np.nan), "components_.*NaN"),
    (lambda m, a: a["state/mW"].__setitem__((0, 0), np.inf), "state/mW.*infinity"),
    (lambda m, a: a["sigma_"].__setitem__(0, 0.0), "sigma_.*positive"),
    (lambda m, a: a["sigma_"].__setitem__(1, -1.0), "sigma_.*positive"),
    (lambda m, a: m.update(version=True), "version.*boolean"),
    (lambda m, a: m["model"]["fitted"].update(seed=2**70), r"seed.*2\*\*64"),
    (lambda m, a: m["model"]["params"].update(random_state=2**64), "random_state"),
    (lambda m, a: m["model"]["fitted"].update(n_iter_=-1), "n_iter_"),
    (lambda m, a: m["model"]["fitted"].update(n_iter_=1.5), "n_iter_.*integer"),
    (lambda m, a: m["model"]["params"].update(n_components="4"), "n_components"),
])
def test_inconsistent_files_are_refused(tmp_path, change, match):
    path = tmp_path / "m.npz"
    # Gaussian, so that the file holds sigma_ and the training state's arrays
    io.save(GaussianRBM(4, n_iter=1, random_state=0).fit(Z[:, :9]), path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=match):
        io.load(path)


def test_unreadable_files_are_refused(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a readable fastrbm model file"):
        io.load(path)
    np.savez(path, x=np.zeros(3))                       # an .npz, but not ours
    with pytest.raises(ValueError, match="not a fastrbm model file"):
        io.load(path)
    good = tmp_path / "good.npz"
    io.save(RBM(4, n_iter=1, random_state=0).fit(BAS), good)
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2])            # truncated
    with pytest.raises(ValueError, match="not a readable fastrbm model file"):
        io.load(path)
    with zipfile.ZipFile(path, "w") as zf:             # an object array needs pickle
        buf = _io.BytesIO()
        np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        zf.writestr("__fastrbm__.npy", buf.getvalue())
    with pytest.raises(ValueError, match="object array, which only pickle could read"):
        io.load(path)
    npy = tmp_path / "array.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ValueError, match="single .npy array, not an .npz archive"):
        io.load(npy)
    with pytest.raises(FileNotFoundError):
        io.load(tmp_path / "missing.npz")


def test_a_deeply_nested_record_is_refused_without_recursing(tmp_path):
    path = tmp_path / "m.npz"
    io.save(RBM(4, n_iter=1, random_state=0).fit(BAS), path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    record = str(arrays["__fastrbm__"][()])
    deep = record.replace('"random_state": 0', '"random_state": ' + "[" * 10**5 + "]" * 10**5)
    assert deep != record
    arrays["__fastrbm__"] = np.array(deep)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ValueError, match="nested .* deep"):
        io.load(path)


def test_save_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="model must be one of"):
        io.save(object(), tmp_path / "x.npz")
    with pytest.raises(ValueError, match="random_state"):
        io.save(RBM(3, random_state=object()), tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize("make,change", [
    (lambda: RBM(4, n_iter=1, random_state=0).fit(BAS), dict(n_components=6)),
    (lambda: RBM(4, n_iter=1, random_state=0).fit(BAS), dict(hidden="stepped")),
    (lambda: RBM(4, n_iter=1, random_state=0).fit(BAS), dict(dtype="float64")),
    (lambda: GaussianRBM(4, n_iter=1, random_state=0).fit(Z), dict(visible="bernoulli")),
    (lambda: DBN([4, 3], rbm_params=dict(n_iter=1), random_state=0).fit(BAS),
     dict(layers=[4, 5])),
])
def test_save_refuses_a_model_whose_structure_changed_after_fit(tmp_path, make, change):
    from sklearn.exceptions import NotFittedError

    model = make().set_params(**change)
    path = tmp_path / "m.npz"
    with pytest.raises(NotFittedError, match="Call 'fit'"):
        io.save(model, path)
    assert not path.exists()


# ----------------------------------------------------------------- training control (v2)
def _early_stopped(tmp_path):
    model = RBM(4, n_iter=5, batch_size=4, random_state=0, persistent=True,
                validation_fraction=0.3, patience=2, validation_metric="reconstruction_error",
                learning_rate_schedule=("exponential", {"decay": 0.9}),
                momentum_schedule={"name": "practical", "switch_epoch": 3},
                checkpoint_every=2, checkpoint_path=str(tmp_path / "ck-{epoch}.npz"))
    return model.fit(BAS)


def test_training_control_roundtrip(tmp_path):
    model = _early_stopped(tmp_path)
    back = roundtrip(model, tmp_path)
    assert back.get_params() == model.get_params()
    assert back.learning_rate_schedule == ("exponential", {"decay": 0.9})
    for name in ("validation_scores_", "best_epoch_", "best_validation_score_",
                 "_since_best"):
        assert getattr(back, name) == getattr(model, name), name
    for name in ("W", "b", "c", "sigma", "mW", "mb", "mc", "mz", "chains", "q"):
        np.testing.assert_array_equal(getattr(back._best_state, name),
                                      getattr(model._best_state, name))


def test_version_1_files_still_load(tmp_path):
    path = tmp_path / "m.npz"
    model = RBM(5, n_iter=2, random_state=1).fit(BAS)
    io.save(model, path)

    def to_version_1(meta, arrays):
        meta["version"] = 1
        del meta["model"]["fitted"]["validation"]
        for name in ("learning_rate_schedule", "momentum_schedule", "validation_fraction",
                     "validation_metric", "patience", "checkpoint_every", "checkpoint_path",
                     "warm_start"):
            del meta["model"]["params"][name]

    _rewrite(path, to_version_1)
    back = io.load(path)
    np.testing.assert_array_equal(back.components_, model.components_)
    assert back.validation_scores_ == [] and back.best_epoch_ is None
    assert back.get_params() == model.get_params()


def _validation(meta):
    return meta["model"]["fitted"]["validation"]


@pytest.mark.parametrize("change,match", [
    (lambda m, a: _validation(m).update(scores=[1.0] * 9), "scores.*0 to"),
    (lambda m, a: _validation(m).update(scores="x"), "scores.*JSON array"),
    (lambda m, a: _validation(m)["scores"].__setitem__(0, True), r"scores\[0\].*number"),
    (lambda m, a: _validation(m).update(best_epoch=99), "best_epoch"),
    (lambda m, a: _validation(m).update(best_epoch=None), "null exactly"),
    (lambda m, a: _validation(m).update(best_score=-123.0), "none of the scores"),
    (lambda m, a: _validation(m).update(since_best=17), "since_best"),
    (lambda m, a: _validation(m).update(best_state="yes"), "best_state"),
    (lambda m, a: _validation(m).update(extra=1), "unknown field"),
    (lambda m, a: _validation(m).update(best_state=False), "best/W.*not describe"),
    (lambda m, a: a.pop("best/chains"), "lacks the array 'best/chains'"),
    (lambda m, a: a.update({"best/W": a["best/W"][:2]}), "best/W"),
    (lambda m, a: a["best/sigma"].__setitem__(0, 0.0), "best/sigma.*positive"),
    (lambda m, a: a["best/mW"].__setitem__((0, 0), np.nan), "best/mW.*NaN"),
    (lambda m, a: m["model"]["params"].update(learning_rate_schedule=["cosine"]),
     "unknown schedule 'cosine'"),
    (lambda m, a: m["model"]["params"].update(momentum_schedule=[1, 2]),
     r"momentum_schedule\[0\].*string"),
    (lambda m, a: m["model"]["params"].update(learning_rate_schedule={"decay": 0.9}),
     "__dict__"),
    (lambda m, a: m["model"]["params"].update(patience=0), "patience"),
    (lambda m, a: m["model"]["params"].update(validation_fraction=2.0),
     "validation_fraction"),
    (lambda m, a: m["model"]["params"].update(warm_start=1), "warm_start"),
    (lambda m, a: m["model"]["params"].update(checkpoint_every=1, checkpoint_path=None),
     "checkpoint_path"),
])
def test_hostile_training_control_fields_are_refused(tmp_path, change, match):
    path = tmp_path / "m.npz"
    io.save(_early_stopped(tmp_path), path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=match):
        io.load(path)
