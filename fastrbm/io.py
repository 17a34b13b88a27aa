"""Save and load fastrbm models: one ``.npz`` file, no pickle.

The file holds the arrays (parameters, training state) and one JSON string,
``__fastrbm__``, with the format name and version, the class, ``get_params()`` and the
fitted scalars. A DBN stores each layer as an RBM record with its own array prefix, so
both share one format.

Layout of the JSON record of a model::

    {"class": "RBM", "params": {...}, "fitted": null | {...}, "prefix": "..."}

``fitted`` has ``n_features_in_``, ``n_iter_``, ``seed``, ``n_updates``,
``n_sample_calls``, ``state`` (whether momentum and chains were saved), ``adam_steps``
(Adam updates made; when above 0, Adam's second moments ``state/vW``, ``state/vb``,
``state/vc``, ``state/vz`` are saved too; files without the field load as 0),
``centered`` (whether the centering offsets ``state/visible_offset``,
``state/hidden_offset`` are saved; absent means no), ``fast`` (whether fast PCD's
``state/fast_W``, ``state/fast_b``, ``state/fast_c`` are saved; absent means no) and, from
format version 2, ``validation`` (the early-stopping bookkeeping: ``scores``,
``best_epoch``, ``best_score``, ``since_best``, ``best_state``, whether the best epoch's
training state was saved as the ``best/`` arrays, ``best_adam_steps`` and
``best_centered``, ``best_fast``) for an RBM;
``n_features_in_``, ``seed``, ``n_sample_calls`` and ``layers`` (records) for a DBN.

Loading trusts nothing in the file. The archive is read member by member with the
``.npy`` headers checked before any data (no pickle is ever loaded, an object array is
refused, a member cannot declare more data than the archive holds), and the record and
arrays are checked by :mod:`fastrbm._io_checks`, field by field: types and ranges, the
estimators' own settings checks, the exact shapes the record implies, one float type
per model, finite values and positive sigma. Any problem is a ``ValueError`` saying
what is wrong. ``save`` runs the same checks on what it is about to write.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import secrets
import struct
import sys
import zipfile
from dataclasses import dataclass
from typing import IO, Union

import numpy as np
import numpy.lib.format as npy_format

from . import _io_checks as checks
from ._io_checks import (ADAM_ARRAYS, BEST_ARRAYS, FAST_ARRAYS, FORMAT, META, OFFSET_ARRAYS,
                         RBM_ARRAYS, STATE_ARRAYS, VERSION, FormatError)
from .dbn import DBN
from .rbm import RBM

__all__ = ["save", "load", "FORMAT", "VERSION"]

PathOrFile = Union[str, os.PathLike, IO[bytes]]
_CLASSES = checks.CLASSES


# ----------------------------------------------------------------- save
def save(model: Union[RBM, DBN], path: PathOrFile) -> None:
    """Write ``model`` (RBM, BernoulliRBM, GaussianRBM or DBN, fitted or not) to ``path``.

    The record and arrays are checked with the validator :func:`load` uses before
    anything is written, so a file that ``load`` would refuse is never written: on a
    problem nothing is written (no file is created at a path).

    Parameters
    ----------
    model : RBM, BernoulliRBM, GaussianRBM or DBN
    path : str, path-like or binary file object
        Written exactly as given (no ``.npz`` suffix is added).

    Raises
    ------
    TypeError
        ``model`` is not one of the classes above.
    ValueError
        The model cannot be stored as a valid file: a parameter that is not
        representable (an object as ``random_state``), or a fitted state that does not
        match the parameters (e.g. ``n_components`` changed after ``fit``), non-finite
        parameters or non-positive ``sigma_``. The message names the field.
    """
    if type(model).__name__ not in _CLASSES or not isinstance(model, tuple(_CLASSES.values())):
        raise TypeError(f"model must be one of {sorted(_CLASSES)}; got {type(model).__name__}")
    _check_fitted(model)
    arrays: dict[str, np.ndarray] = {}
    record = _record(model, "", arrays)
    text = json.dumps({"format": FORMAT, "version": VERSION, "model": record})
    try:
        plan = checks.plan_from_text(text)
        plan.check_headers({k: (a.dtype, a.shape) for k, a in arrays.items()})
        plan.check_values(arrays)
    except FormatError as exc:
        raise ValueError(f"cannot save this {type(model).__name__}: the file would be "
                         f"refused by io.load: {exc}") from None
    arrays[META] = np.array(text)
    if isinstance(path, (str, os.PathLike)):
        _write_path(path, arrays)
    else:
        np.savez(path, **arrays)


def _write_path(path, arrays: dict) -> None:
    """Write the archive to ``path`` atomically: into a temporary file in the same
    folder, then renamed over ``path`` (``os.replace``), so that ``path`` is always
    either the old file or the whole new one (a checkpoint read while it is written, a
    full disk, a Ctrl-C); the temporary file is removed on any failure."""
    path = os.fspath(path)
    fd, tmp = _temporary_file(path)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _temporary_file(path: str) -> tuple[int, str]:
    """(descriptor, name) of a new hidden file beside ``path``, created with the
    permissions a plain ``open`` would give (mode 0o666 less the umask)."""
    folder, base = os.path.split(os.path.abspath(path))
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {path!r}")


def _check_fitted(model) -> None:
    """The estimators' own fitted-state checks (structural changes after fit), if fitted."""
    if isinstance(model, DBN):
        if hasattr(model, "rbms_"):
            model._check_fitted()
            for rbm in getattr(model, "rbms_", None) or ():
                if isinstance(rbm, RBM) and hasattr(rbm, "components_"):
                    rbm._check_fitted()
    elif hasattr(model, "components_"):
        model._check_fitted()


def _fitted_attr(model, name: str):
    try:
        return getattr(model, name)
    except AttributeError:
        raise ValueError(f"cannot save this {type(model).__name__}: it has components_ or "
                         f"rbms_ but lacks the fitted attribute {name} (fit it again)") from None


def _json_int(value):
    """A counter as a JSON int (None as null); anything else is kept recognisable for
    the validator, which then names the field."""
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return float(value)
    return repr(value)


def _record(model, prefix: str, arrays: dict) -> dict:
    record = {"class": type(model).__name__, "params": _params_to_json(model), "fitted": None,
              "prefix": prefix}
    if isinstance(model, DBN):
        if hasattr(model, "rbms_"):
            rbms = model.rbms_
            layers = list(rbms) if isinstance(rbms, (list, tuple)) else []
            record["fitted"] = {
                "n_features_in_": _json_int(_fitted_attr(model, "n_features_in_")),
                "seed": _json_int(_fitted_attr(model, "_seed")),
                "n_sample_calls": _json_int(_fitted_attr(model, "_n_sample_calls")),
                "layers": [_layer_record(r, f"{prefix}layers/{l}/", arrays)
                           for l, r in enumerate(layers)]}
        return record
    if hasattr(model, "components_"):
        for name in RBM_ARRAYS:
            arrays[prefix + name] = np.asarray(_fitted_attr(model, name))
        state = getattr(model, "_state", None)
        if state is not None and not _state_is_current(model, state):
            state = None
        groups = _save_state(state, STATE_ARRAYS, f"{prefix}state/", arrays)
        record["fitted"] = {
            "n_features_in_": _json_int(_fitted_attr(model, "n_features_in_")),
            "n_iter_": _json_int(_fitted_attr(model, "n_iter_")),
            "seed": _json_int(_fitted_attr(model, "_seed")),
            "n_updates": _json_int(_fitted_attr(model, "_n_updates")),
            "n_sample_calls": _json_int(_fitted_attr(model, "_n_sample_calls")),
            "state": state is not None, "adam_steps": groups["adam_steps"],
            "centered": groups["centered"], "fast": groups["fast"],
            "swaps": None if state is None or state.swap_attempts.shape[0] < 2 else
            {"attempts": [int(v) for v in state.swap_attempts],
             "accepts": [int(v) for v in state.swap_accepts]},
            "validation": _validation_record(model, prefix, arrays)}
    return record


def _validation_record(model, prefix: str, arrays: dict) -> dict:
    """The early-stopping bookkeeping and, when kept and current, the best epoch's
    training state (``best/`` arrays), so that a resumed run decides as the original."""
    best = getattr(model, "_best_state", None)
    if best is not None and not _state_is_current(model, best):
        best = None
    groups = _save_state(best, BEST_ARRAYS, f"{prefix}best/", arrays)
    scores = getattr(model, "validation_scores_", [])
    best_score = getattr(model, "best_validation_score_", None)
    return {"scores": [_json_float(v) for v in scores] if isinstance(scores, list)
            else repr(scores),
            "best_epoch": _json_int(getattr(model, "best_epoch_", None)),
            "best_score": None if best_score is None else _json_float(best_score),
            "since_best": _json_int(getattr(model, "_since_best", 0)),
            "best_state": best is not None, "best_adam_steps": groups["adam_steps"],
            "best_centered": groups["centered"], "best_fast": groups["fast"]}


def _save_state(state, names: tuple, prefix: str, arrays: dict) -> dict:
    """A training state's arrays into ``arrays``: ``names``, and the optional groups
    that are in use (Adam's second moments once Adam ran, the centering offsets once
    set, fast PCD's fast parameters once non-zero), which the returned record names for
    the loader."""
    if state is None:
        return {"adam_steps": 0, "centered": False, "fast": False}
    groups = {"adam_steps": int(state.adam_steps[0]),
              "centered": bool(state.visible_offset.any() or state.hidden_offset.any()),
              "fast": bool(state.fast_W.any() or state.fast_b.any() or state.fast_c.any())}
    names = (names + (ADAM_ARRAYS if groups["adam_steps"] else ())
             + (OFFSET_ARRAYS if groups["centered"] else ())
             + (FAST_ARRAYS if groups["fast"] else ()))
    for name in names:
        arrays[prefix + name] = np.asarray(getattr(state, name))
    return groups


def _json_float(value):
    """A score as a JSON number; anything else kept recognisable for the validator."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) \
            and math.isfinite(value):
        return float(value)
    return repr(value)


def _layer_record(rbm, prefix: str, arrays: dict) -> dict:
    if not isinstance(rbm, RBM):
        raise ValueError(f"cannot save this DBN: rbms_ holds {type(rbm).__name__}, not an RBM")
    return _record(rbm, prefix, arrays)


def _state_is_current(model, state) -> bool:
    """Whether the next ``partial_fit`` would keep this training state.

    Mirrors ``RBM._train_state``: momentum and chains are dropped when ``batch_size``
    changed (another number of chains) or the weights changed shape. Such a state is
    not saved, so continuing the loaded model matches continuing the original.
    """
    batch_size = getattr(model, "batch_size", None)
    chains, W = getattr(state, "chains", None), getattr(state, "W", None)
    try:
        n_temps = model._n_temperatures()
    except (TypeError, ValueError):     # settings that fit cannot use either
        return False
    return (isinstance(batch_size, numbers.Integral) and chains is not None
            and W is not None and np.shape(chains)[:1] == (batch_size * n_temps,)
            and np.shape(getattr(state, "swap_attempts", ())) == (n_temps,)
            and np.shape(W) == np.shape(model.components_))


def _params_to_json(model) -> dict:
    out = {}
    for name, value in model.get_params(deep=False).items():
        out[name] = _value_to_json(value, name)
    return out


def _value_to_json(value, name: str):
    """JSON form of a parameter; RBM objects (DBN layers) become nested records."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise ValueError(f"cannot save parameter {name}={value!r}: not finite")
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


# ----------------------------------------------------------------- load
def load(path: PathOrFile) -> Union[RBM, DBN]:
    """Read a model written by :func:`save`, checking everything the file holds.

    Nothing is unpickled. Every field of the record is checked for type and range, the
    parameters by the estimator's own settings checks, and every array for presence,
    exact shape (implied by the record), dtype (float32 or float64, one per model) and
    finite values (positive for ``sigma_``); unknown fields and arrays are refused.

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
    FileNotFoundError, OSError
        ``path`` cannot be opened.
    ValueError
        The file is not a readable archive, not a fastrbm model file, of another format
        version, or corrupt or inconsistent; the message says what is wrong.
    """
    name = path if isinstance(path, (str, os.PathLike)) else getattr(path, "name", "file")
    try:
        if isinstance(path, (str, os.PathLike)):
            with open(path, "rb") as fp:
                return _load(fp)
        return _load(path)
    except FormatError as exc:
        raise ValueError(_wording(name, exc)) from None


def _wording(name, exc: FormatError) -> str:
    if exc.kind == "unreadable":
        return f"{name!s} is not a readable fastrbm model file ({exc})"
    if exc.kind == "foreign":
        return f"{name!s} is not a fastrbm model file ({exc})"
    if exc.kind == "version":
        return f"{name!s}: {exc}"
    return f"{name!s} is a corrupt or inconsistent fastrbm model file: {exc}"


def _load(fp):
    with _Archive(fp) as archive:
        plan = checks.plan_from_text(archive.read_record())
        plan.check_headers({k: (h.dtype, h.shape) for k, h in archive.headers.items()
                            if k != META})
        arrays = {k: archive.read_array(k) for k in plan.names()}
    plan.check_values(arrays)
    return plan.build(arrays)


# ----------------------------------------------------------------- the archive
def _unreadable(why: str):
    raise FormatError("unreadable", why)


@dataclass
class _Header:
    """A member's ``.npy`` header: where its data starts and what it declares."""

    info: zipfile.ZipInfo
    offset: int
    shape: tuple
    fortran: bool
    dtype: np.dtype

    @property
    def count(self) -> int:
        return math.prod(self.shape)


# what zipfile and numpy's header parser raise on damaged input
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                   NotImplementedError, RuntimeError, struct.error, SyntaxError,
                   RecursionError, UnicodeDecodeError, OverflowError, MemoryError)
_CHUNK = 1 << 24


class _Archive:
    """An ``.npz`` opened for checked reading: every member a plain stored ``.npy``.

    The members' headers are read and checked on opening; no data is read until asked
    for, and no member may declare more bytes than the archive holds, so a hostile
    header cannot make the reader allocate more memory than the file's size.
    """

    def __init__(self, fp):
        self.fp = fp
        self.size = _stream_size(fp)
        why = _sniff(fp)
        try:
            self.zf = zipfile.ZipFile(fp)
        except _ARCHIVE_ERRORS as exc:
            _unreadable(why or f"a truncated or damaged zip archive: {exc}")
        try:
            self.headers = self._read_headers()
        except FormatError:
            self.zf.close()
            raise
        except _ARCHIVE_ERRORS as exc:
            self.zf.close()
            _unreadable(f"a damaged archive: {type(exc).__name__}: {exc}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zf.close()
        return False

    def _read_headers(self) -> dict:
        infos = self.zf.infolist()
        if len(infos) > checks.MAX_MEMBERS:
            _unreadable(f"it holds {len(infos)} members; a model has at most "
                        f"{checks.MAX_MEMBERS}")
        headers = {}
        for info in infos:
            key = self._member_key(info)
            if key in headers:
                _unreadable(f"the member {info.filename!r} appears twice")
            headers[key] = self._header(info)
        if META not in headers:
            raise FormatError("foreign", f"it has no {META} record")
        return headers

    def _member_key(self, info: zipfile.ZipInfo) -> str:
        name = info.filename
        if info.is_dir() or not name.endswith(".npy"):
            _unreadable(f"the member {name[:80]!r} is not an .npy array")
        if info.flag_bits & 0x1:
            _unreadable(f"the member {name[:80]!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            _unreadable(f"the member {name[:80]!r} is compressed; io.save stores members "
                        f"uncompressed, and only such files are read")
        if info.header_offset + info.file_size > self.size:
            _unreadable(f"the member {name[:80]!r} declares {info.file_size} bytes, more than "
                        f"the archive holds")
        return name[:-4]

    def _header(self, info: zipfile.ZipInfo) -> _Header:
        with self.zf.open(info) as f:
            try:
                version = npy_format.read_magic(f)
            except ValueError:
                _unreadable(f"the member {info.filename[:80]!r} is not an .npy array")
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = npy_format.read_array_header_2_0(f)
            else:
                _unreadable(f"the member {info.filename[:80]!r} has .npy format version "
                            f"{version}; 1.0 and 2.0 are read")
            offset = f.tell()
        h = _Header(info, offset, tuple(shape), bool(fortran), np.dtype(dtype))
        if h.dtype.hasobject:
            _unreadable(f"the member {info.filename[:80]!r} is an object array, which only "
                        f"pickle could read; fastrbm never unpickles")
        if any(n < 0 for n in h.shape):
            _unreadable(f"the member {info.filename[:80]!r} declares the shape {h.shape}")
        nbytes = h.count * h.dtype.itemsize
        if offset + nbytes != info.file_size:
            _unreadable(f"the member {info.filename[:80]!r} declares shape {h.shape} of "
                        f"{h.dtype} ({nbytes} bytes) but holds {info.file_size - offset} "
                        f"bytes of data")
        return h

    def _read_data(self, h: _Header) -> np.ndarray:
        """The member's data as a flat array of its declared dtype (sizes checked)."""
        out = np.empty(h.count, dtype=h.dtype)
        raw = memoryview(out.view(np.uint8).reshape(-1))
        try:
            with self.zf.open(h.info) as f:
                f.read(h.offset)
                got = 0
                while got < len(raw):
                    n = f.readinto(raw[got:got + _CHUNK])
                    if not n:
                        _unreadable(f"the member {h.info.filename[:80]!r} ends early")
                    got += n
                f.read(1)       # reaching the end checks the member's CRC
        except FormatError:
            raise
        except _ARCHIVE_ERRORS as exc:
            _unreadable(f"the member {h.info.filename[:80]!r} is damaged: "
                        f"{type(exc).__name__}: {exc}")
        return out

    def read_record(self) -> str:
        """The JSON text of the record (a unicode or UTF-8 bytes scalar)."""
        h = self.headers[META]
        limit = checks.MAX_JSON_CHARS
        if h.shape != () or h.dtype.kind not in "US":
            raise FormatError("record", f"{META} must be a string scalar; got shape "
                                        f"{h.shape} of {h.dtype}")
        chars = h.dtype.itemsize // (4 if h.dtype.kind == "U" else 1)
        if chars > limit:
            raise FormatError("record", f"the JSON record has {chars} characters, more "
                                        f"than the {limit} any model needs")
        raw = self._read_data(h).tobytes()
        if h.dtype.kind == "S":
            codec, what = "utf-8", "valid UTF-8"
        else:
            order = {">": "big", "<": "little"}.get(h.dtype.byteorder, sys.byteorder)
            codec, what = f"utf-32-{order[0]}e", "valid Unicode text"
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise FormatError("record", f"the JSON record is not {what} ({exc.reason} at "
                                        f"byte {exc.start})") from None
        return text.rstrip("\0")    # numpy pads fixed-width strings with NULs

    def read_array(self, key: str) -> np.ndarray:
        """A parameter array: native byte order, C-contiguous, owned by the caller."""
        h = self.headers[key]
        flat = self._read_data(h)
        a = flat.reshape(h.shape, order="F" if h.fortran else "C")
        native = h.dtype.newbyteorder("=")
        return np.ascontiguousarray(a, dtype=native)


def _stream_size(fp) -> int:
    """Bytes in the file, from the current position of ``fp`` to its end."""
    try:
        start = fp.tell()
        end = fp.seek(0, os.SEEK_END)
        fp.seek(start)
    except (AttributeError, OSError, ValueError) as exc:
        raise FormatError("unreadable", f"the file object is not seekable ({exc})") from None
    return end


def _sniff(fp) -> str:
    """What a file that is not a zip archive is, from its first bytes ('' for a zip)."""
    start = fp.tell()
    head = fp.read(8)
    fp.seek(start)
    if not isinstance(head, bytes):
        raise FormatError("unreadable", "the file object is not opened in binary mode")
    if not head:
        return "the file is empty"
    if head.startswith(b"\x93NUMPY"):
        return "it is a single .npy array, not an .npz archive"
    if head[:1] == b"\x80":
        return "it is a Python pickle, which fastrbm never loads"
    if head.startswith(b"PK"):
        return ""
    return "it is not a zip (.npz) archive"
