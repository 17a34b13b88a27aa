"""Save and load fastrbm models: one ``.npz`` file, no pickle.

The file holds the arrays (parameters, training state) and one JSON string,
``__fastrbm__``, with the format name and version, the class, ``get_params()`` and the
fitted scalars. A DBN stores each layer as an RBM record with its own array prefix, so
both share one format. Loading never unpickles anything (``allow_pickle=False``), and a
file that is not such a model, or is inconsistent, is refused with a ``ValueError``.

Layout of the JSON record of a model::

    {"class": "RBM", "params": {...}, "fitted": null | {...}, "prefix": "..."}

``fitted`` has ``n_features_in_``, ``n_iter_``, ``seed``, ``n_updates``,
``n_sample_calls`` and ``state`` (whether momentum and chains were saved) for an RBM;
``n_features_in_``, ``seed``, ``n_sample_calls`` and ``layers`` (records) for a DBN.
"""
from __future__ import annotations

import json
import numbers
import os
import zipfile
from typing import IO, Union

import numpy as np

from .dbn import DBN
from .rbm import RBM, BernoulliRBM, GaussianRBM
from .state import TrainState

FORMAT = "fastrbm"
VERSION = 1
_META = "__fastrbm__"
_CLASSES = {cls.__name__: cls for cls in (RBM, BernoulliRBM, GaussianRBM, DBN)}
_RBM_ARRAYS = ("components_", "intercept_hidden_", "intercept_visible_", "sigma_")
_STATE_ARRAYS = ("mW", "mb", "mc", "mz", "chains", "q")

PathOrFile = Union[str, os.PathLike, IO[bytes]]


# ----------------------------------------------------------------- save
def save(model, path: PathOrFile) -> None:
    """Write ``model`` (RBM, BernoulliRBM, GaussianRBM or DBN, fitted or not) to ``path``.

    Parameters
    ----------
    model : RBM or DBN
    path : str, path-like or binary file object
        Written exactly as given (no ``.npz`` suffix is added).
    """
    if type(model).__name__ not in _CLASSES or not isinstance(model, tuple(_CLASSES.values())):
        raise TypeError(f"model must be one of {sorted(_CLASSES)}; got {type(model).__name__}")
    arrays: dict[str, np.ndarray] = {}
    record = _record(model, "", arrays)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "model": record})
    arrays[_META] = np.array(meta)
    if isinstance(path, (str, os.PathLike)):
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    else:
        np.savez(path, **arrays)


def _record(model, prefix: str, arrays: dict) -> dict:
    record = {"class": type(model).__name__, "params": _params_to_json(model), "fitted": None,
              "prefix": prefix}
    if isinstance(model, DBN):
        if hasattr(model, "rbms_"):
            record["fitted"] = {
                "n_features_in_": int(model.n_features_in_), "seed": int(model._seed),
                "n_sample_calls": int(model._n_sample_calls),
                "layers": [_record(r, f"{prefix}layers/{l}/", arrays)
                           for l, r in enumerate(model.rbms_)]}
        return record
    if hasattr(model, "components_"):
        for name in _RBM_ARRAYS:
            arrays[prefix + name] = np.asarray(getattr(model, name))
        state = getattr(model, "_state", None)
        if state is not None:
            for name in _STATE_ARRAYS:
                arrays[f"{prefix}state/{name}"] = getattr(state, name)
        record["fitted"] = {
            "n_features_in_": int(model.n_features_in_), "n_iter_": int(model.n_iter_),
            "seed": int(model._seed), "n_updates": int(model._n_updates),
            "n_sample_calls": int(model._n_sample_calls), "state": state is not None}
    return record


def _params_to_json(model) -> dict:
    out = {}
    for name, value in model.get_params(deep=False).items():
        out[name] = _value_to_json(value, name)
    return out


def _value_to_json(value, name: str):
    """JSON form of a parameter; RBM objects (DBN layers) become nested records."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, RBM):
        return {"__rbm__": {"class": type(value).__name__, "params": _params_to_json(value)}}
    if isinstance(value, (list, tuple)):
        return [_value_to_json(v, name) for v in value]
    if isinstance(value, dict):
        return {"__dict__": {str(k): _value_to_json(v, f"{name}[{k!r}]")
                             for k, v in value.items()}}
    if isinstance(value, (np.random.RandomState, np.random.Generator)):
        return None     # a fitted model keeps the seed drawn from it (see "fitted")
    if isinstance(value, (np.dtype, type)):
        try:
            return np.dtype(value).name
        except TypeError:
            pass
    raise ValueError(f"cannot save parameter {name}={value!r}: not representable in the file")


def _value_from_json(value):
    if isinstance(value, list):
        return [_value_from_json(v) for v in value]
    if isinstance(value, dict):
        if "__rbm__" in value:
            rec = value["__rbm__"]
            return _construct(rec.get("class"), rec.get("params"))
        if "__dict__" in value:
            return {k: _value_from_json(v) for k, v in value["__dict__"].items()}
        raise ValueError(f"unexpected object in the parameters: {value!r}")
    return value


# ----------------------------------------------------------------- load
def load(path: PathOrFile):
    """Read a model written by :func:`save`.

    Parameters
    ----------
    path : str, path-like or binary file object

    Returns
    -------
    RBM, BernoulliRBM, GaussianRBM or DBN
        Fitted (with its training state) if it was saved fitted; its ``transform``,
        ``free_energy`` and samples equal the original's.

    Raises
    ------
    ValueError
        The file is not a fastrbm model file, is of a newer format version, or is
        corrupt or inconsistent.
    """
    name = path if isinstance(path, (str, os.PathLike)) else getattr(path, "name", "file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not hasattr(npz, "files") or _META not in npz.files:
                raise _Corrupt(f"{name!s} is not a fastrbm model file")
            meta = json.loads(str(npz[_META][()]))
            arrays = {k: npz[k] for k in npz.files if k != _META}
    except _Corrupt as exc:
        raise ValueError(str(exc)) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError,
            json.JSONDecodeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        why = "not an .npz archive" if "pickle" in str(exc) else f"{type(exc).__name__}: {exc}"
        raise ValueError(f"{name!s} is not a readable fastrbm model file ({why})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{name!s} is not a fastrbm model file")
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise ValueError(f"{name!s} has format version {meta.get('version')!r}; this fastrbm "
                         f"reads versions up to {VERSION}")
    try:
        return _restore(meta["model"], arrays)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{name!s} is a corrupt fastrbm model file ({exc!r})") from None


class _Corrupt(Exception):
    pass


def _construct(cls_name, params):
    if cls_name not in _CLASSES:
        raise ValueError(f"unknown model class {cls_name!r} in the file; known: "
                         f"{sorted(_CLASSES)}")
    if not isinstance(params, dict):
        raise ValueError("the file's parameters are not a mapping")
    params = {k: _value_from_json(v) for k, v in params.items()}
    try:
        return _CLASSES[cls_name](**params)
    except TypeError as exc:
        raise ValueError(f"the file's parameters do not fit {cls_name}: {exc}") from None


def _restore(record: dict, arrays: dict):
    model = _construct(record["class"], record["params"])
    fitted = record["fitted"]
    if fitted is None:
        return model
    if isinstance(model, DBN):
        rbms = [_restore(r, arrays) for r in fitted["layers"]]
        if not rbms or any(not hasattr(r, "components_") for r in rbms):
            raise ValueError("a fitted DBN in the file has missing or unfitted layers")
        for lower, upper in zip(rbms, rbms[1:]):
            if upper.n_features_in_ != lower.n_components:
                raise ValueError("the DBN's layers in the file do not fit together")
        if rbms[0].n_features_in_ != fitted["n_features_in_"]:
            raise ValueError("the DBN's n_features_in_ does not match its first layer")
        model.rbms_ = rbms
        model.n_features_in_ = int(fitted["n_features_in_"])
        model._seed = int(fitted["seed"])
        model._n_sample_calls = int(fitted["n_sample_calls"])
        return model
    _restore_rbm(model, record["prefix"], fitted, arrays)
    return model


def _restore_rbm(model, prefix: str, fitted: dict, arrays: dict) -> None:
    try:
        W, c, b, s = (arrays[prefix + name] for name in _RBM_ARRAYS)
    except KeyError as exc:
        raise ValueError(f"the file lacks the array {exc.args[0]!r}") from None
    nh, nv = int(model.n_components), int(fitted["n_features_in_"])
    dt = W.dtype
    if dt not in (np.float32, np.float64) or any(a.dtype != dt for a in (c, b, s)):
        raise ValueError("the file's parameters must all be float32 or all float64")
    if W.shape != (nh, nv) or c.shape != (nh,) or b.shape != (nv,) or s.shape != (nv,):
        raise ValueError(f"the file's parameter shapes do not match n_components={nh}, "
                         f"n_features_in_={nv}")
    model.components_, model.intercept_hidden_ = W.copy(), c.copy()
    model.intercept_visible_, model.sigma_ = b.copy(), s.copy()
    model.n_features_in_ = nv
    model.n_iter_ = int(fitted["n_iter_"])
    model._seed = int(fitted["seed"])
    model._n_updates = int(fitted["n_updates"])
    model._n_sample_calls = int(fitted["n_sample_calls"])
    model._state = None
    if fitted["state"]:
        extra = {name: arrays.get(f"{prefix}state/{name}") for name in _STATE_ARRAYS}
        if any(a is None or a.dtype != dt for a in extra.values()):
            raise ValueError("the file's training state is missing or of another dtype")
        state = TrainState(W=model.components_, b=model.intercept_visible_,
                           c=model.intercept_hidden_, sigma=model.sigma_,
                           **{k: a.copy() for k, a in extra.items()})
        shapes_ok = (state.mW.shape == W.shape and state.mb.shape == b.shape
                     and state.mc.shape == c.shape and state.mz.shape == s.shape
                     and state.chains.ndim == 2 and state.chains.shape[1] == nh
                     and state.q.shape == c.shape)
        if not shapes_ok:
            raise ValueError("the file's training state does not match the parameters")
        model._state = state
