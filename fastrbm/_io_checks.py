"""Validation of fastrbm model files, shared by :func:`fastrbm.io.load` and ``save``.

``load`` runs it on what it reads and ``save`` on what it is about to write, so ``save``
cannot write a file that ``load`` refuses. The work is split in three steps, each run
before anything costly happens:

1. :func:`plan_from_text` parses the JSON record (length and nesting bounded before
   parsing) and checks every field: types, ranges, class names and parameters (through
   the estimators' own settings checks). The result, a :class:`FilePlan`, knows exactly
   which arrays the file must hold and their shapes.
2. :meth:`FilePlan.check_headers` compares the arrays' names, dtypes and shapes with that
   list: ``load`` calls it on the ``.npy`` headers, before reading any array data.
3. :meth:`FilePlan.check_values` checks the data (finite, positive sigma), and
   :meth:`FilePlan.build` makes the model.

Every problem raises :class:`FormatError` (a ``ValueError``) naming the field or array.
Each field kind has its own small check function; the record's layout is described once,
by the ``_*_FIELDS`` tables and the plan classes.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Optional

import numpy as np

from ._validation import BLAS_INT_MAX, resolve_dtype
from ._kernel_args import MAX_TEMPERATURES
from .dbn import _MAX_LAYERS, DBN
from .rbm import RBM, BernoulliRBM, GaussianRBM
from .state import TrainState
from .units import hidden_code, visible_code

FORMAT = "fastrbm"
#: Version 2 (training control) added the optional ``fitted.validation`` record of an
#: RBM (early-stopping bookkeeping) with its ``best/`` arrays, and the parameters
#: ``learning_rate_schedule``, ``momentum_schedule``, ``validation_fraction``,
#: ``validation_metric``, ``patience``, ``checkpoint_every``, ``checkpoint_path`` and
#: ``warm_start``. Version 1 files (neither) are still read.
VERSION = 2
READ_VERSIONS = (1, 2)
META = "__fastrbm__"

RBM_CLASSES = {cls.__name__: cls for cls in (RBM, BernoulliRBM, GaussianRBM)}
CLASSES = dict(RBM_CLASSES, DBN=DBN)
RBM_ARRAYS = ("components_", "intercept_hidden_", "intercept_visible_", "sigma_")
STATE_ARRAYS = ("mW", "mb", "mc", "mz", "chains", "q")
#: Adam's second moments: written only for a state that Adam has updated (the fitted
#: record's ``adam_steps`` > 0), so files of momentum-SGD models are as before.
ADAM_ARRAYS = ("vW", "vb", "vc", "vz")
#: The centering offsets: written only once set (the record's ``centered``).
OFFSET_ARRAYS = ("visible_offset", "hidden_offset")
#: Fast PCD's fast parameters: written only once non-zero (the record's ``fast``).
FAST_ARRAYS = ("fast_W", "fast_b", "fast_c")
#: The kept training state of the best epoch (early stopping): TrainState's fields
#: (and ADAM_ARRAYS when Adam had updated it).
BEST_ARRAYS = ("W", "b", "c", "sigma") + STATE_ARRAYS

#: Layers of a DBN: the limit DBN itself enforces.
MAX_LAYERS = _MAX_LAYERS
#: Longest JSON record read. The largest legitimate one (a DBN of MAX_LAYERS layers given
#: as RBM objects) is about 0.5 M characters.
MAX_JSON_CHARS = 1 << 22
#: Deepest nesting of JSON arrays and objects read. The format nests at most 7 deep
#: (top, model, fitted, layers, layer record, its params, ...); the margin costs nothing.
MAX_JSON_DEPTH = 10
#: Most members an archive can need: the record and every array of MAX_LAYERS layers.
MAX_MEMBERS = 1 + MAX_LAYERS * (len(RBM_ARRAYS) + len(STATE_ARRAYS) + len(BEST_ARRAYS)
                                + 2 * (len(ADAM_ARRAYS) + len(OFFSET_ARRAYS)
                                       + len(FAST_ARRAYS)))
#: Counters (epochs, updates, sample calls) are kept below 2**63 (they index int64 streams).
COUNTER_LIMIT = 2**63
SEED_LIMIT = 2**64

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class FormatError(ValueError):
    """A model file (or the record ``save`` built) is not what the format allows.

    ``kind`` says how the caller words the error: ``'unreadable'`` (not a readable
    archive), ``'foreign'`` (an archive, but not a fastrbm model), ``'version'`` or
    ``'record'`` (a fastrbm file whose contents are wrong or inconsistent).
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def fail(where: str, why: str):
    """Raise the record error ``where: why``."""
    raise FormatError("record", f"{where}: {why}")


# ------------------------------------------------------------------ field kinds
def json_kind(value) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    for types, name in ((dict, "an object"), (list, "an array"), (str, "a string"),
                        (int, "an integer"), (float, "a number")):
        if isinstance(value, types):
            return name if types in (dict, list) else f"{name} {_short(value)}"
    return type(value).__name__


def _short(value) -> str:
    """A value for a message, cut short (a hostile file may hold huge strings)."""
    text = repr(value[:61] if isinstance(value, str) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_object(value, where: str, required=(), optional=()) -> dict:
    """A JSON object with all ``required`` keys and no keys outside ``optional``."""
    if not isinstance(value, dict):
        fail(where, f"must be a JSON object; got {json_kind(value)}")
    missing = [k for k in required if k not in value]
    if missing:
        fail(where, f"lacks the field {missing[0]!r}")
    known = set(required) | set(optional)
    unknown = [k for k in value if k not in known]
    if unknown:
        fail(where, f"has the unknown field {_short(unknown[0])} (known: {sorted(known)})")
    return value


def check_int(value, where: str, low: int, high: int) -> int:
    """An integer (not a bool, not a float) in [low, high)."""
    if isinstance(value, bool) or not isinstance(value, int):
        fail(where, f"must be an integer; got {json_kind(value)}")
    if not low <= value < high:
        fail(where, f"must be in [{low}, {_bound(high)}); got {_short(value)}")
    return value


def _bound(n: int) -> str:
    exp = n.bit_length() - 1
    return f"2**{exp}" if n == 1 << exp and exp > 16 else str(n)


def check_bool(value, where: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        fail(where, f"must be true or false; got {json_kind(value)}")
    return value


def check_str(value, where: str) -> str:
    """A JSON string."""
    if not isinstance(value, str):
        fail(where, f"must be a string; got {json_kind(value)}")
    return value


def check_list(value, where: str, min_len: int, max_len: int) -> list:
    """A JSON array of min_len to max_len items (the length checked before any item)."""
    if not isinstance(value, list):
        fail(where, f"must be a JSON array; got {json_kind(value)}")
    if not min_len <= len(value) <= max_len:
        fail(where, f"must hold {min_len} to {max_len} items; got {len(value)}")
    return value


def check_features(value, where: str) -> int:
    """n_features_in_: a positive int BLAS can index."""
    return check_int(value, where, 1, BLAS_INT_MAX + 1)


def check_counter(value, where: str) -> int:
    """An epoch, update or sample-call counter."""
    return check_int(value, where, 0, COUNTER_LIMIT)


def check_seed(value, where: str) -> int:
    """A seed of the counter-based generator: 64 bits."""
    return check_int(value, where, 0, SEED_LIMIT)


def check_scalar_param(value, where: str):
    """A plain parameter value; its meaning is checked by the estimator itself."""
    if value is not None and not isinstance(value, (bool, int, float, str)):
        fail(where, f"must be a number, string, boolean or null; got {json_kind(value)}")
    return value


def check_schedule_param(value, where: str):
    """A schedule as saved: null, a name, ``[name]``, ``[name, {"__dict__": {...}}]``
    or ``{"__dict__": {...}}`` (plain values); its meaning is checked by the estimator
    (:mod:`fastrbm.schedules`). Lists and dicts come back as the tuple and dict saved."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        check_list(value, where, 1, 2)
        name = check_str(value[0], f"{where}[0]")
        return (name,) if len(value) == 1 else (name, _plain_dict(value[1], f"{where}[1]"))
    if isinstance(value, dict):
        return _plain_dict(value, where)
    fail(where, f"must be null, a schedule name, [name, parameters] or parameters with a "
                f"name; got {json_kind(value)}")


def _plain_dict(value, where: str) -> dict:
    """``{"__dict__": {name: plain value}}`` as a dict."""
    inner = check_object(value, where, required=("__dict__",))["__dict__"]
    if not isinstance(inner, dict):
        fail(f"{where}.__dict__", f"must be a JSON object; got {json_kind(inner)}")
    return {k: check_scalar_param(v, f"{where}.__dict__.{k}") for k, v in inner.items()}


def check_betas_param(value, where: str):
    """``betas`` as saved: null or a list of numbers (their meaning is the estimator's)."""
    if value is None:
        return None
    return tuple(check_scalar_param(v, f"{where}[{i}]")
                 for i, v in enumerate(check_list(value, where, 0, MAX_TEMPERATURES)))


def check_swaps(value, where: str, n_temps: int) -> Optional[dict]:
    """Parallel tempering's swap counts: null, or attempts and accepts per temperature,
    accepts never above attempts."""
    if value is None:
        return None
    check_object(value, where, required=("attempts", "accepts"))
    counts = {k: [check_counter(v, f"{where}.{k}[{i}]") for i, v in
                  enumerate(check_list(value[k], f"{where}.{k}", n_temps, n_temps + 1))]
              for k in ("attempts", "accepts")}
    if any(a > t for a, t in zip(counts["accepts"], counts["attempts"])):
        fail(where, "has more accepted swaps than attempted ones")
    return counts


#: Parameters of an RBM that are not plain values.
_RBM_PARAM_DECODERS = {"betas": check_betas_param,
                       "learning_rate_schedule": check_schedule_param,
                       "momentum_schedule": check_schedule_param}


def check_random_state(value, where: str) -> Optional[int]:
    """random_state as saved: None or a 64-bit seed (generators are saved as None)."""
    return None if value is None else check_seed(value, where)


# ------------------------------------------------------------------ parameters
def _settings_check(model, where: str, check: Callable[[], object]) -> None:
    """Run an estimator's own settings validation; its error becomes a record error."""
    try:
        check()
    except (TypeError, ValueError) as exc:
        fail(where, f"invalid parameters for {type(model).__name__}: {exc}")


def _param_values(cls, params, where: str, decoders: Mapping[str, Callable]) -> dict:
    """Decoded parameters: names the class's ``__init__`` takes, each by its kind.

    Missing parameters take the class's defaults (files written before a parameter was
    added stay readable); unknown ones are refused.
    """
    names = cls._param_names()
    if not isinstance(params, dict):
        fail(where, f"must be a JSON object; got {json_kind(params)}")
    unknown = [k for k in params if k not in names]
    if unknown:
        fail(where, f"the params do not fit {cls.__name__}: unknown parameter "
                    f"{_short(unknown[0])}")
    return {k: decoders.get(k, check_scalar_param)(v, f"{where}.{k}")
            for k, v in params.items()}


def rbm_from_params(cls_name, params, where: str) -> RBM:
    """An unfitted RBM-family estimator from a saved ``class`` and ``params``."""
    cls = _rbm_class(cls_name, f"{where}.class")
    values = _param_values(cls, params, f"{where}.params",
                           dict(_RBM_PARAM_DECODERS, random_state=check_random_state))
    model = cls(**values)
    _settings_check(model, f"{where}.params", model._check_settings)
    return model


def _rbm_class(name, where: str):
    check_str(name, where)
    if name not in RBM_CLASSES:
        fail(where, f"a DBN layer must be one of {sorted(RBM_CLASSES)}; got {_short(name)}")
    return RBM_CLASSES[name]


def check_layers_param(value, where: str) -> list:
    """DBN ``layers``: layer sizes or RBM records ``{"__rbm__": {class, params}}``."""
    check_list(value, where, 1, MAX_LAYERS)
    out = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if isinstance(item, int) and not isinstance(item, bool):
            out.append(item)
            continue
        if not isinstance(item, dict):
            fail(at, f"must be a layer size or an RBM record; got {json_kind(item)}")
        rec = check_object(check_object(item, at, required=("__rbm__",))["__rbm__"],
                           f"{at}.__rbm__", required=("class", "params"))
        out.append(rbm_from_params(rec["class"], rec["params"], f"{at}.__rbm__"))
    return out


def check_hidden_param(value, where: str):
    """DBN ``hidden``: null, one unit name, or one name per layer."""
    if value is None or isinstance(value, str):
        return value
    return [check_str(v, f"{where}[{i}]")
            for i, v in enumerate(check_list(value, where, 0, MAX_LAYERS))]


def check_rbm_params_param(value, where: str) -> Optional[dict]:
    """DBN ``rbm_params``: null or ``{"__dict__": {name: plain value}}``."""
    if value is None:
        return None
    inner = check_object(value, where, required=("__dict__",))["__dict__"]
    if not isinstance(inner, dict):
        fail(f"{where}.__dict__", f"must be a JSON object; got {json_kind(inner)}")
    return {k: _RBM_PARAM_DECODERS.get(k, check_scalar_param)(v, f"{where}.__dict__.{k}")
            for k, v in inner.items()}


_DBN_PARAM_DECODERS = {
    "layers": check_layers_param,
    "hidden": check_hidden_param,
    "rbm_params": check_rbm_params_param,
    "random_state": check_random_state,
}


def dbn_from_params(params, where: str) -> tuple[DBN, list[RBM]]:
    """An unfitted DBN and the layers its ``fit`` would make (validated by DBN)."""
    values = _param_values(DBN, params, f"{where}.params", _DBN_PARAM_DECODERS)
    model = DBN(**values)
    made: list[RBM] = []
    _settings_check(model, f"{where}.params", lambda: made.extend(model._make_layers(None)))
    return model, made


# ------------------------------------------------------------------ arrays
@dataclass
class ArraySpec:
    """One array the file must hold: its shape, what implies it, its owner (one RBM)."""

    name: str
    shape: tuple
    origin: str
    owner: "RBMPlan"
    positive: bool = False


def array_dtype(name: str, dtype) -> np.dtype:
    """The native float dtype of an array, or a record error if it is not float32/64."""
    dt = np.dtype(dtype)
    if dt.hasobject:
        fail(f"array {name!r}", "is an object array; fastrbm never unpickles")
    native = dt.newbyteorder("=") if dt.kind == "f" and dt.byteorder in "<>" else dt
    if native not in _FLOATS or dt.fields is not None or dt.subdtype is not None:
        fail(f"array {name!r}", f"must be float32 or float64; got dtype {dt}")
    return native


def check_finite(name: str, a: np.ndarray, positive: bool) -> None:
    """Finite values (and all > 0 when ``positive``): min and max find NaN and inf."""
    lo, hi = a.min(), a.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        fail(f"array {name!r}", "contains NaN or infinity")
    if positive and lo <= 0:
        fail(f"array {name!r}", f"must be positive (standard deviations); its minimum is "
                                f"{float(lo):g}")


# ------------------------------------------------------------------ records
_RBM_FITTED_FIELDS = {
    "n_features_in_": check_features,
    "n_iter_": check_counter,
    "seed": check_seed,
    "n_updates": check_counter,
    "n_sample_calls": check_counter,
    "state": check_bool,
}
#: Fields a file may lack (written by later versions; absent means the value given).
_RBM_OPTIONAL_FITTED_FIELDS = {
    "adam_steps": (check_counter, 0),
    "centered": (check_bool, False),
    "fast": (check_bool, False),
    # checked by check_swaps once the number of temperatures is known
    "swaps": (lambda value, where: value, None),
    # checked by check_validation once n_iter_ is known
    "validation": (lambda value, where: value, None),
}
_DBN_FITTED_FIELDS = {
    "n_features_in_": check_features,
    "seed": check_seed,
    "n_sample_calls": check_counter,
}
_RECORD_FIELDS = ("class", "params", "fitted", "prefix")


def check_fields(value, where: str, table: Mapping[str, Callable], extra=(),
                 optional: Mapping[str, tuple] = None) -> dict:
    """A JSON object with exactly the keys of ``table`` (and ``extra``), and maybe those
    of ``optional`` (name: (check, default)), each checked."""
    optional = optional or {}
    check_object(value, where, required=tuple(table) + tuple(extra), optional=optional)
    fields = {k: check(value[k], f"{where}.{k}") for k, check in table.items()}
    for k, (check, default) in optional.items():
        fields[k] = check(value[k], f"{where}.{k}") if k in value else default
    return fields


def check_score(value, where: str) -> float:
    """A validation score: a finite JSON number (the parser refuses non-finite ones)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(where, f"must be a number; got {json_kind(value)}")
    return float(value)


_VALIDATION_FIELDS = ("scores", "best_epoch", "best_score", "since_best", "best_state")


def check_validation(value, where: str, n_iter: int) -> dict:
    """The early-stopping bookkeeping of an RBM, consistent in itself and with ``n_iter_``:
    at most one score per epoch, a best epoch among them whose score is one of them
    (null exactly when there are none), ``since_best`` at most the scores after it, a
    best state only with a best epoch."""
    check_object(value, where, required=_VALIDATION_FIELDS,
                 optional=("best_adam_steps", "best_centered", "best_fast"))
    scores = [check_score(v, f"{where}.scores[{i}]")
              for i, v in enumerate(check_list(value["scores"], f"{where}.scores", 0, n_iter))]
    best_epoch, best_score = value["best_epoch"], value["best_score"]
    if (best_epoch is None) != (not scores) or (best_score is None) != (not scores):
        fail(where, "best_epoch and best_score must be null exactly when there are no "
                    "scores")
    if scores:
        check_int(best_epoch, f"{where}.best_epoch", 1, n_iter + 1)
        if check_score(best_score, f"{where}.best_score") not in scores:
            fail(f"{where}.best_score", f"{_short(best_score)} is none of the scores")
    since = check_int(value["since_best"], f"{where}.since_best", 0, len(scores) + 1)
    if check_bool(value["best_state"], f"{where}.best_state") and not scores:
        fail(f"{where}.best_state", "a best state needs a best epoch")
    best_adam = check_counter(value.get("best_adam_steps", 0), f"{where}.best_adam_steps")
    if best_adam and not value["best_state"]:
        fail(f"{where}.best_adam_steps", "must be 0 when no best state is saved")
    best_centered = check_bool(value.get("best_centered", False), f"{where}.best_centered")
    if best_centered and not value["best_state"]:
        fail(f"{where}.best_centered", "must be false when no best state is saved")
    best_fast = check_bool(value.get("best_fast", False), f"{where}.best_fast")
    if best_fast and not value["best_state"]:
        fail(f"{where}.best_fast", "must be false when no best state is saved")
    return {"scores": scores, "best_epoch": best_epoch,
            "best_score": None if best_score is None else float(best_score),
            "since_best": since, "best_state": value["best_state"],
            "best_adam_steps": best_adam, "best_centered": best_centered,
            "best_fast": best_fast}


def check_prefix(value, where: str, expected: str) -> str:
    """Array-name prefix of a record: fixed by its place in the model."""
    if check_str(value, where) != expected:
        fail(where, f"must be {expected!r} for this record; got {_short(value)}")
    return value


class RBMPlan:
    """A validated RBM record: the unfitted model, fitted scalars and arrays expected."""

    def __init__(self, rec, where: str, prefix: str, require_fitted: bool = False):
        check_object(rec, where, required=_RECORD_FIELDS)
        check_prefix(rec["prefix"], f"{where}.prefix", prefix)
        self.where, self.prefix = where, prefix
        self.model = rbm_from_params(rec["class"], rec["params"], where)
        self.fitted = None
        self.dtype = resolve_dtype(self.model.dtype)   # None: either float type
        self.specs: list[ArraySpec] = []
        if rec["fitted"] is None:
            if require_fitted:
                fail(f"{where}.fitted", "must describe a fitted layer; got null")
            return
        at = f"{where}.fitted"
        self.fitted = check_fields(rec["fitted"], at, _RBM_FITTED_FIELDS,
                                   optional=_RBM_OPTIONAL_FITTED_FIELDS)
        if self.fitted["adam_steps"] and not self.fitted["state"]:
            fail(f"{at}.adam_steps", "must be 0 when no training state is saved")
        for group in ("centered", "fast"):
            if self.fitted[group] and not self.fitted["state"]:
                fail(f"{at}.{group}", "must be false when no training state is saved")
        self.n_temps = self.model._n_temperatures()
        self.swaps = check_swaps(self.fitted["swaps"], f"{at}.swaps", self.n_temps)
        if self.swaps is not None and (self.n_temps < 2 or not self.fitted["state"]):
            fail(f"{at}.swaps", "must be null without a parallel-tempering training state")
        self.validation = None
        if "validation" in rec["fitted"]:
            self.validation = check_validation(rec["fitted"]["validation"],
                                               f"{at}.validation", self.fitted["n_iter_"])
        self._expect_arrays()

    def _expect_arrays(self) -> None:
        nh, nv = int(self.model.n_components), self.fitted["n_features_in_"]
        bs = int(self.model.batch_size)
        hid = f"n_components={nh}"
        vis = f"n_features_in_={nv}"
        both = f"{hid}, {vis}"
        shapes = {"components_": ((nh, nv), both), "intercept_hidden_": ((nh,), hid),
                  "intercept_visible_": ((nv,), vis), "sigma_": ((nv,), vis)}
        rows, origin = bs * self.n_temps, f"batch_size={bs}, {hid}"
        if self.n_temps > 1:
            origin = f"batch_size={bs} x {self.n_temps} temperatures, {hid}"
        state = {"mW": ((nh, nv), both), "mb": ((nv,), vis), "mc": ((nh,), hid),
                 "mz": ((nv,), vis), "chains": ((rows, nh), origin), "q": ((nh,), hid)}
        adam = {"vW": ((nh, nv), both), "vb": ((nv,), vis), "vc": ((nh,), hid),
                "vz": ((nv,), vis)}
        if self.fitted["state"]:
            shapes.update({f"state/{k}": v for k, v in state.items()})
        offsets = {"visible_offset": ((nv,), vis), "hidden_offset": ((nh,), hid)}
        fast = {"fast_W": ((nh, nv), both), "fast_b": ((nv,), vis), "fast_c": ((nh,), hid)}
        if self.fitted["adam_steps"]:
            shapes.update({f"state/{k}": v for k, v in adam.items()})
        if self.fitted["centered"]:
            shapes.update({f"state/{k}": v for k, v in offsets.items()})
        if self.fitted["fast"]:
            shapes.update({f"state/{k}": v for k, v in fast.items()})
        if self.validation is not None and self.validation["best_state"]:
            params = {"W": shapes["components_"], "b": shapes["intercept_visible_"],
                      "c": shapes["intercept_hidden_"], "sigma": shapes["sigma_"]}
            shapes.update({f"best/{k}": v for k, v in {**params, **state}.items()})
            if self.validation["best_adam_steps"]:
                shapes.update({f"best/{k}": v for k, v in adam.items()})
            if self.validation["best_centered"]:
                shapes.update({f"best/{k}": v for k, v in offsets.items()})
            if self.validation["best_fast"]:
                shapes.update({f"best/{k}": v for k, v in fast.items()})
        for name, (shape, origin) in shapes.items():
            self.specs.append(ArraySpec(self.prefix + name, shape, origin, self,
                                        positive=name in ("sigma_", "best/sigma")))

    def signature(self) -> tuple:
        """What a layer's fitted arrays depend on, compared with the DBN's configuration."""
        return structure(self.model)

    def build(self, arrays: Mapping[str, np.ndarray]) -> RBM:
        """The model with its fitted state (arrays already checked and C-contiguous)."""
        m, f = self.model, self.fitted
        if f is None:
            return m
        p = self.prefix
        m.components_ = arrays[p + "components_"]
        m.intercept_hidden_ = arrays[p + "intercept_hidden_"]
        m.intercept_visible_ = arrays[p + "intercept_visible_"]
        m.sigma_ = arrays[p + "sigma_"]
        m.n_features_in_ = f["n_features_in_"]
        m.n_iter_ = f["n_iter_"]
        m._seed = f["seed"]
        m._n_updates = f["n_updates"]
        m._n_sample_calls = f["n_sample_calls"]
        m._state = None
        if f["state"]:
            m._state = TrainState(W=m.components_, b=m.intercept_visible_,
                                  c=m.intercept_hidden_, sigma=m.sigma_,
                                  **{k: arrays[f"{p}state/{k}"] for k in STATE_ARRAYS},
                                  **_optional_arrays(arrays, f"{p}state/", f["adam_steps"],
                                                     f["centered"], f["fast"]),
                                  **_swap_arrays(self.swaps, self.n_temps))
        self._build_validation(m, arrays)
        return m

    def _build_validation(self, m: RBM, arrays: Mapping[str, np.ndarray]) -> None:
        """The early-stopping bookkeeping (empty for files without it)."""
        v = self.validation or {"scores": [], "best_epoch": None, "best_score": None,
                                "since_best": 0, "best_state": False, "best_adam_steps": 0,
                                "best_centered": False, "best_fast": False}
        m.validation_scores_ = list(v["scores"])
        m.best_epoch_ = v["best_epoch"]
        m.best_validation_score_ = v["best_score"]
        m._since_best = v["since_best"]
        m._best_state = TrainState(
            **{k: arrays[f"{self.prefix}best/{k}"] for k in BEST_ARRAYS},
            **_optional_arrays(arrays, f"{self.prefix}best/", v["best_adam_steps"],
                               v["best_centered"], v["best_fast"])
        ) if v["best_state"] else None


def _swap_arrays(swaps: Optional[dict], n_temps: int) -> dict:
    """A TrainState's swap counts from the record (zeros when it holds none)."""
    return {f"swap_{k}": np.array(swaps[k] if swaps else [0] * n_temps, dtype=np.int64)
            for k in ("attempts", "accepts")}


def _optional_arrays(arrays: Mapping[str, np.ndarray], prefix: str, adam_steps: int,
                     centered: bool, fast: bool) -> dict:
    """A TrainState's optional fields from the file: Adam's, the centering offsets and
    fast PCD's fast parameters (None, which TrainState makes zeros, for a group the file
    does not hold)."""
    fields = {k: arrays[prefix + k] if adam_steps else None for k in ADAM_ARRAYS}
    fields.update({k: arrays[prefix + k] if centered else None for k in OFFSET_ARRAYS})
    fields.update({k: arrays[prefix + k] if fast else None for k in FAST_ARRAYS})
    return dict(fields, adam_steps=np.array([adam_steps], dtype=np.int64))


def structure(rbm: RBM) -> tuple:
    """The settings whose change makes a layer's fitted arrays meaningless."""
    return (type(rbm).__name__, int(rbm.n_components), visible_code(rbm.visible),
            hidden_code(rbm.hidden), int(rbm.n_copies), resolve_dtype(rbm.dtype))


_STRUCTURE_NAMES = ("class", "n_components", "visible", "hidden", "n_copies", "dtype")


class DBNPlan:
    """A validated DBN record: the unfitted DBN and a plan per fitted layer."""

    def __init__(self, rec, where: str):
        check_object(rec, where, required=_RECORD_FIELDS)
        check_prefix(rec["prefix"], f"{where}.prefix", "")
        self.model, made = dbn_from_params(rec["params"], where)
        self.fitted, self.layers = None, []
        if rec["fitted"] is None:
            return
        at = f"{where}.fitted"
        self.fitted = check_fields(rec["fitted"], at, _DBN_FITTED_FIELDS, extra=("layers",))
        records = check_list(rec["fitted"]["layers"], f"{at}.layers", 1, MAX_LAYERS)
        self.layers = [RBMPlan(r, f"{at}.layers[{l}]", f"layers/{l}/", require_fitted=True)
                       for l, r in enumerate(records)]
        self._check_stack(made, at)

    def _check_stack(self, made: list, at: str) -> None:
        """The fitted layers chain together and are the layers the parameters describe."""
        layers = self.layers
        if len(made) != len(layers):
            fail(f"{at}.layers", f"holds {len(layers)} fitted layers but the parameters "
                                 f"describe {len(made)}")
        if layers[0].fitted["n_features_in_"] != self.fitted["n_features_in_"]:
            fail(f"{at}.n_features_in_", f"is {self.fitted['n_features_in_']} but the first "
                                         f"layer has {layers[0].fitted['n_features_in_']}")
        for l, (config, plan) in enumerate(zip(made, layers)):
            want, got = structure(config), plan.signature()
            for name, a, b in zip(_STRUCTURE_NAMES, want, got):
                if a != b:
                    fail(f"{at}.layers[{l}]", f"was fitted with {name}={_show(b)} but the "
                                              f"DBN's parameters now give {name}={_show(a)}")
            if l and plan.fitted["n_features_in_"] != int(made[l - 1].n_components):
                fail(f"{at}.layers[{l}].fitted.n_features_in_",
                     f"is {plan.fitted['n_features_in_']} but the layer below has "
                     f"{made[l - 1].n_components} hidden units: the layers do not fit together")

    def build(self, arrays: Mapping[str, np.ndarray]) -> DBN:
        """The DBN with its fitted layers."""
        m, f = self.model, self.fitted
        if f is None:
            return m
        m.rbms_ = [plan.build(arrays) for plan in self.layers]
        m.n_features_in_ = f["n_features_in_"]
        m._seed = f["seed"]
        m._n_sample_calls = f["n_sample_calls"]
        return m


def _show(value) -> str:
    return value.name if isinstance(value, np.dtype) else repr(value)


def model_plan(rec, where: str = "model"):
    """The plan of the top-level model record (any class)."""
    check_object(rec, where, required=_RECORD_FIELDS)
    cls = check_str(rec["class"], f"{where}.class")
    if cls == "DBN":
        return DBNPlan(rec, where)
    if cls not in RBM_CLASSES:
        fail(f"{where}.class", f"unknown model class {_short(cls)}; known: {sorted(CLASSES)}")
    return RBMPlan(rec, where, "")


# ------------------------------------------------------------------ the JSON text
# Always matches from an opening quote (an unterminated string runs to the end), and in
# one pass: a pattern that could fail there would rescan the rest from every escaped
# quote, quadratic time on a hostile record.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.?[^"\\]*)*"?', re.S)
_OPEN = np.frombuffer(b"[{", np.uint8)
_CLOSE = np.frombuffer(b"]}", np.uint8)


def json_depth(text: str) -> int:
    """Deepest nesting of arrays and objects in JSON ``text``, without recursion.

    Strings are cut out first (brackets inside them do not nest); for text that is not
    valid JSON the figure is still right up to the first error, which is as far as the
    parser (whose recursion this protects) gets.
    """
    skeleton = _JSON_STRING.sub("", text).encode("utf-8", "replace")
    b = np.frombuffer(skeleton, np.uint8)
    step = np.isin(b, _OPEN).astype(np.int32) - np.isin(b, _CLOSE)
    return int(np.cumsum(step).max(initial=0))


def _pairs(pairs: list) -> dict:
    out = {}
    for k, v in pairs:
        if k in out:
            raise FormatError("record", f"the JSON record repeats the key {_short(k)}")
        out[k] = v
    return out


def _no_constant(name: str):
    raise FormatError("record", f"the JSON record holds {name}, which the format never "
                                f"uses (parameters and counters are finite)")


def _finite_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise FormatError("record", f"the JSON record holds the number {_short(text)}, which "
                                    f"is out of range for a float")
    return v


#: Digits of the longest integer read: seeds have at most 20; a long digit string only
#: costs time (integer parsing is quadratic in the digits before Python 3.11).
_MAX_INT_DIGITS = 40


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise FormatError("record", f"the JSON record holds an integer of "
                                    f"{len(text.lstrip('-'))} digits; the format needs at "
                                    f"most 20")
    return int(text)


def parse_record(text: str) -> dict:
    """The JSON object of a record, with its length and nesting bounded before parsing."""
    if len(text) > MAX_JSON_CHARS:
        raise FormatError("record", f"the JSON record has {len(text)} characters, more than "
                                    f"the {MAX_JSON_CHARS} any model needs")
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise FormatError("record", f"the JSON record is nested {depth} deep; the format "
                                    f"nests at most {MAX_JSON_DEPTH} deep")
    try:
        meta = json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant,
                          parse_float=_finite_float, parse_int=_bounded_int)
    except FormatError:
        raise
    except RecursionError:  # pragma: no cover - json_depth bounds the nesting first
        raise FormatError("record", "the JSON record is nested too deeply") from None
    except ValueError as exc:   # JSONDecodeError, or an integer of too many digits
        raise FormatError("record", f"the record is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise FormatError("record", f"the record must be a JSON object; got {json_kind(meta)}")
    return meta


def check_header(meta: dict) -> dict:
    """The top-level fields: format name and version first, then the model record."""
    if meta.get("format") != FORMAT:
        raise FormatError("foreign", f"its record's format is {json_kind(meta.get('format'))}"
                                     f", not {FORMAT!r}")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise FormatError("version", f"format version must be the integer {VERSION}; got "
                                     f"{json_kind(version)}")
    if version not in READ_VERSIONS:
        raise FormatError("version", f"has format version {version}; this fastrbm reads "
                                     f"versions {', '.join(map(str, READ_VERSIONS))}")
    check_object(meta, "record", required=("format", "version", "model"))
    return meta["model"]


class FilePlan:
    """Everything a valid file holds, derived from its record alone."""

    def __init__(self, root):
        self.root = root
        plans = root.layers if isinstance(root, DBNPlan) else [root]
        self.specs = {s.name: s for plan in plans for s in plan.specs}

    def check_headers(self, headers: Mapping[str, tuple]) -> None:
        """Names, dtypes and shapes of the arrays (``{name: (dtype, shape)}``) as planned.

        Run before any array data is read: a huge declared shape is refused here.
        """
        missing = [n for n in self.specs if n not in headers]
        if missing:
            fail("arrays", f"the file lacks the array {missing[0]!r}, which the record "
                           f"implies")
        unknown = sorted(n for n in headers if n not in self.specs)
        if unknown:
            fail("arrays", f"the file holds the array {unknown[0]!r}, which the record does "
                           f"not describe")
        first: dict[int, tuple[str, np.dtype]] = {}
        for name, spec in self.specs.items():
            dtype, shape = headers[name]
            dt = array_dtype(name, dtype)
            if tuple(shape) != spec.shape:
                fail("arrays", f"array shapes do not match the record: {name!r} has shape "
                               f"{tuple(shape)}, but {spec.origin} imply {spec.shape}")
            self._check_owner_dtype(spec, name, dt, first)

    @staticmethod
    def _check_owner_dtype(spec: ArraySpec, name: str, dt: np.dtype, first: dict) -> None:
        """One float type per RBM, the one its ``dtype`` parameter names (if any)."""
        owner = spec.owner
        seen = first.setdefault(id(owner), (name, dt))
        if seen[1] != dt:
            fail("arrays", f"the arrays of one model must all be float32 or all float64: "
                           f"{name!r} is {dt.name} while {seen[0]!r} is {seen[1].name}")
        if owner.dtype is not None and dt != owner.dtype:
            fail("arrays", f"{name!r} is {dt.name} but {owner.where}.params.dtype is "
                           f"{owner.dtype.name}")

    def check_values(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Every array finite; standard deviations positive."""
        for name, spec in self.specs.items():
            check_finite(name, arrays[name], spec.positive)

    def names(self) -> Iterator[str]:
        """The arrays to read, in record order."""
        return iter(self.specs)

    def build(self, arrays: Mapping[str, np.ndarray]):
        """The model, from checked arrays (C-contiguous, native float, owned)."""
        return self.root.build(arrays)


def plan_from_text(text: str) -> FilePlan:
    """Parse and check a JSON record; the plan of the arrays its file must hold."""
    return FilePlan(model_plan(check_header(parse_record(text))))
