"""Argument checks of the compiled kernels' Python entry points.

Every ``def`` (and ``cpdef``) function of :mod:`fastrbm._kernels` and
:mod:`fastrbm._ais` calls the function of its family here as its first statement, so
that no call from Python reaches the C code with arrays it would index out of bounds,
write through when read-only, or read in another type. The kernels index their arrays
as C-contiguous buffers of one float type with the shapes documented below; these
checks make that an enforced contract instead of a trusted one.

Rules common to every family:

* Parameters (``W``, ``b``, ``c``, ``sigma``, the training state, workspaces) and
  outputs must be C-contiguous ``numpy.ndarray`` objects of ``W``'s dtype (float32 or
  float64) with the documented shapes; nothing is converted (a conversion would hide
  a copy in a hot loop, or write results into a copy). Data rows (``V``, ``H``, ``X``)
  may have any strides, as the kernels copy or stride through them, but must have
  ``W``'s dtype too.
* Outputs and arrays a kernel updates must be writeable and must not overlap each
  other or the inputs.
* ``sigma`` must be finite and positive (the kernels divide by it). Weights and data
  are not scanned for NaN: a NaN in gives NaN out and endangers nothing, while a scan
  per call would cost as much as the call on small inputs.
* Integers must be Python or NumPy ints (not bools) in the range of the C type they
  become: seeds 64-bit unsigned, streams and steps 32-bit unsigned, sizes 32-bit
  (BLAS), unit codes and ``n_copies`` the kernels' ranges, ``n_threads`` in
  ``[1, MAX_THREADS]``.

A wrong argument raises ``TypeError`` (wrong type or dtype) or ``ValueError`` (wrong
shape, layout, range or value) naming it. Only cheap checks are made: shapes, flags,
address ranges and a pass over the 1-D ``sigma``-like vectors; nothing is copied.
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from ._constants import HIDDEN_CODES, MAX_COPIES, MAX_THREADS, OPTIMIZER_CODES, VISIBLE_CODES

#: Most temperatures of parallel tempering (each is a set of chains; far more than a
#: ladder needs).
MAX_TEMPERATURES = 1024
#: BLAS takes 32-bit ints: no dimension may exceed this.
BLAS_INT_MAX = 2**31 - 1

# MAX_COPIES: stepped units draw their copies' words in one stack buffer.
# MAX_THREADS: more OpenMP threads are refused rather than attempted (each costs a stack,
# and AIS allocates coefficient rows per thread). Both from fastrbm/_constants.pxd.

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_INT64 = np.dtype(np.int64)
_FLOAT64 = np.dtype(np.float64)

#: Unit codes (fastrbm/_constants.pxd).
_N_VISIBLE_CODES = len(VISIBLE_CODES)
_N_HIDDEN_CODES = len(HIDDEN_CODES)
_GAUSSIAN = VISIBLE_CODES["gaussian"]

#: The arrays of a training state (fastrbm.state.TrainState) and their shapes in units
#: of (n_hidden, n_visible): 'h' and 'v' stand for those sizes, None for any.
_STATE_SHAPES = {
    "W": ("h", "v"), "b": ("v",), "c": ("h",), "sigma": ("v",), "mW": ("h", "v"),
    "mb": ("v",), "mc": ("h",), "mz": ("v",), "chains": (None, "h"), "q": ("h",),
    "vW": ("h", "v"), "vb": ("v",), "vc": ("h",), "vz": ("v",),
    "visible_offset": ("v",), "hidden_offset": ("h",),
    "fast_W": ("h", "v"), "fast_b": ("v",), "fast_c": ("h",),
}
_STATE_FIELDS = {f: (f"state.{f}", shape) for f, shape in _STATE_SHAPES.items()}


# ------------------------------------------------------------------ building blocks
def _describe(value) -> str:
    """A short description of ``value`` for messages (never a huge repr)."""
    if isinstance(value, np.ndarray):
        return f"{type(value).__name__} of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 60 else f"{type(value).__name__} object"


def _int(value, name: str, low: int, high: int) -> int:
    """An int (Python or NumPy, not bool) in [low, high]."""
    if type(value) is int:      # the common case, without the ABC checks
        if not low <= value <= high:
            raise ValueError(f"{name} must be in [{low}, {high}]; got {value}")
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {_describe(value)}")
    v = int(value)
    if not low <= v <= high:
        raise ValueError(f"{name} must be in [{low}, {high}]; got {v}")
    return v


def _bool(value, name: str) -> bool:
    if value is True or value is False:
        return value
    if not isinstance(value, np.bool_):
        raise TypeError(f"{name} must be a bool; got {_describe(value)}")
    return bool(value)


def _real(value, name: str, *, positive: bool = False) -> float:
    if type(value) is float and value - value == 0 and (value > 0 or not positive):
        return value        # finite (inf - inf and NaN - NaN are NaN), without the ABCs
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {_describe(value)}")
    v = float(value)
    if not np.isfinite(v) or (positive and v <= 0):
        raise ValueError(f"{name} must be {'positive and ' if positive else ''}finite; "
                         f"got {value!r}")
    return v


def _seed(value, name: str = "seed") -> int:
    return _int(value, name, 0, 2**64 - 1)


def _u32(value, name: str) -> int:
    return _int(value, name, 0, 2**32 - 1)


def _threads(n_threads) -> int:
    """``n_threads`` of a kernel: None (one thread) or an int in [1, MAX_THREADS]."""
    if n_threads is None:
        return 1
    return _int(n_threads, "n_threads", 1, MAX_THREADS)


def _codes(visible=None, hidden=None, n_copies=None) -> None:
    if visible is not None:
        _int(visible, "visible", 0, _N_VISIBLE_CODES - 1)
    if hidden is not None:
        _int(hidden, "hidden", 0, _N_HIDDEN_CODES - 1)
    if n_copies is not None:
        _int(n_copies, "n_copies", 1, MAX_COPIES)


def _ndarray(a, name: str, dtype=None) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy ndarray; got {_describe(a)}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype).name} (that of W); "
                        f"got {a.dtype}")
    return a


def _shape_text(shape) -> str:
    return "(" + ", ".join("any" if s is None else str(s) for s in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _array(a, name: str, dtype, shape, *, writeable: bool = False, contiguous: bool = True,
           optional: bool = False):
    """``a`` as the kernels index it: an ndarray of ``dtype`` and ``shape`` (None: any
    size), C-contiguous unless ``contiguous`` is False, writeable if ``writeable``."""
    if a is None:
        if optional:
            return None
        raise TypeError(f"{name} must be a {np.dtype(dtype).name} ndarray; got None")
    if type(a) is not np.ndarray or a.dtype != dtype:
        _ndarray(a, name, dtype)
    got = a.shape
    if got != shape and (len(got) != len(shape) or any(
            s is not None and s != t for s, t in zip(shape, got))):
        raise ValueError(f"{name} must have shape {_shape_text(shape)}; got {got}")
    flags = a.flags
    if contiguous and not flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (np.ascontiguousarray)")
    if writeable and not flags.writeable:
        raise ValueError(f"{name} is read-only, but the kernel writes to it")
    return a


def _weights(W, name: str = "W", writeable: bool = False) -> np.ndarray:
    """The weight matrix, whose dtype every other float array must share."""
    _ndarray(W, name)
    if W.dtype not in _FLOATS:
        raise TypeError(f"{name} must have dtype float32 or float64; got {W.dtype}")
    if W.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_hidden, n_visible); got shape {W.shape}")
    if W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(f"{name} must have at least one row and one column; got {W.shape}")
    if max(W.shape) > BLAS_INT_MAX:
        raise ValueError(f"{name} is too large for 32-bit BLAS: shape {W.shape}")
    return _array(W, name, W.dtype, W.shape, writeable=writeable)


def _rows(a, name: str, dtype, n_cols: int, n_rows=None) -> np.ndarray:
    """Data rows of any strides: 2-D, ``n_cols`` columns, ``dtype``."""
    if type(a) is not np.ndarray or a.dtype != dtype:
        _ndarray(a, name, dtype)
    shape = a.shape
    if len(shape) != 2 or shape[1] != n_cols or (n_rows is not None and shape[0] != n_rows):
        raise ValueError(f"{name} must be 2-D with {n_cols} columns (to match W)"
                         + ("" if n_rows is None else f" and {n_rows} rows") +
                         f"; got shape {shape}")
    if shape[0] > BLAS_INT_MAX:
        raise ValueError(f"{name} has too many rows for 32-bit BLAS: {a.shape[0]}")
    return a


def _positive(a, name: str) -> None:
    """Every entry finite and > 0 (``a`` non-empty); two passes, no temporary."""
    if a.size == 0:
        return
    lo, hi = a.min(), a.max()
    # NaN propagates through min and max, so it fails the first test
    if not (lo > 0 and np.isfinite(hi)):
        raise ValueError(f"{name} must be finite and positive; got values in [{lo}, {hi}]")


def _sigma(sigma, dtype, nv: int, *, required: bool = False, name: str = "sigma"):
    s = _array(sigma, name, dtype, (nv,), optional=not required)
    if s is not None:
        _positive(s, name)
    return s


def _disjoint(written: dict, read: dict) -> None:
    """No written array overlaps another written or a read one. ``np.may_share_memory``
    compares address ranges (cheap; exact for the contiguous buffers the kernels
    write). Arrays are validated ndarrays or None."""
    seen = []
    for name, a in written.items():
        if a is None:
            continue
        for other, b in seen:
            if np.may_share_memory(a, b):
                raise ValueError(f"{other} and {name} overlap in memory; the kernel writes "
                                 f"both: pass separate arrays")
        for other, b in read.items():
            if b is not None and np.may_share_memory(a, b):
                raise ValueError(f"{name} overlaps {other} in memory; the kernel writes one "
                                 f"while reading the other: pass separate arrays")
        seen.append((name, a))


def _attr(obj, field: str, owner: str):
    try:
        return getattr(obj, field)
    except AttributeError:
        raise TypeError(f"{owner} has no attribute {field!r}; pass a "
                        f"{'fastrbm.state.Hyper' if owner == 'hyper' else 'fastrbm.state.TrainState'}"
                        ) from None


# ------------------------------------------------------------------ families
def thread_counts(**sizes) -> None:
    """``epoch_threads``, ``row_threads``, ``ais_threads``, ``ais_unit_split``: sizes
    in [0, 2**31 - 1] and ``n_threads`` an int in [1, MAX_THREADS]."""
    for name, value in sizes.items():
        if name == "n_threads":
            _int(value, name, 1, MAX_THREADS)
        else:
            _int(value, name, 0, BLAS_INT_MAX)


def philox_block(*words) -> None:
    """``philox_block(c0, c1, c2, c3, k0, k1)``: six 32-bit unsigned words."""
    for name, w in zip(("c0", "c1", "c2", "c3", "k0", "k1"), words):
        _u32(w, name)


def n_copies(value) -> None:
    """``_check_copies``: copies of a stepped unit, 1 to MAX_COPIES."""
    _int(value, "n_copies", 1, MAX_COPIES)


def hyper(h) -> None:
    """A :class:`fastrbm.state.Hyper` (or an object with its fields) the epoch kernel can
    copy into its C configuration."""
    if h is None:
        raise TypeError("hyper must be a fastrbm.state.Hyper; got None")
    visible = _attr(h, "visible", "hyper")
    _codes(visible, _attr(h, "hidden", "hyper"), _attr(h, "n_copies", "hyper"))
    _int(_attr(h, "k", "hyper"), "hyper.k", 1, BLAS_INT_MAX)
    _int(_attr(h, "batch_size", "hyper"), "hyper.batch_size", 1, BLAS_INT_MAX)
    for field in ("persistent", "sample_visible", "learn_sigma"):
        _bool(_attr(h, field, "hyper"), f"hyper.{field}")
    for field in ("learning_rate", "momentum", "weight_decay", "l1", "sparsity_target",
                  "sparsity_cost", "sparsity_decay", "sigma_learning_rate"):
        _real(_attr(h, field, "hyper"), f"hyper.{field}")
    _real(_attr(h, "min_sigma", "hyper"), "hyper.min_sigma", positive=True)
    _int(_attr(h, "optimizer", "hyper"), "hyper.optimizer", 0, len(OPTIMIZER_CODES) - 1)
    for field in ("beta_1", "beta_2"):
        value = _real(_attr(h, field, "hyper"), f"hyper.{field}")
        if not 0 <= value < 1:
            raise ValueError(f"hyper.{field} must be in [0, 1); got {value!r}")
    _real(_attr(h, "epsilon", "hyper"), "hyper.epsilon", positive=True)
    _bool(_attr(h, "centering", "hyper"), "hyper.centering")
    rate = _real(_attr(h, "centering_rate", "hyper"), "hyper.centering_rate")
    if not 0 <= rate <= 1:
        raise ValueError(f"hyper.centering_rate must be in [0, 1]; got {rate!r}")
    _temperature_ladder(_attr(h, "betas", "hyper"), h.persistent)
    _bool(_attr(h, "fast_weights", "hyper"), "hyper.fast_weights")
    _real(_attr(h, "fast_learning_rate", "hyper"), "hyper.fast_learning_rate")
    decay = _real(_attr(h, "fast_decay", "hyper"), "hyper.fast_decay")
    if not 0 <= decay <= 1:
        raise ValueError(f"hyper.fast_decay must be in [0, 1]; got {decay!r}")
    if h.fast_weights and not h.persistent:
        raise ValueError("hyper.fast_weights needs persistent chains (hyper.persistent)")
    if h.fast_weights and len(h.betas) > 1:
        raise ValueError("hyper.fast_weights cannot be combined with parallel tempering")
    if h.fast_weights and (h.centering or h.learn_sigma):
        raise ValueError("hyper.fast_weights cannot be combined with hyper.centering or "
                         "hyper.learn_sigma")
    if h.centering and h.learn_sigma:
        raise ValueError("hyper.centering with hyper.learn_sigma is not supported (the "
                         "visible offset is in units of sigma)")
    if h.learn_sigma and int(visible) != _GAUSSIAN:
        raise ValueError("hyper.learn_sigma needs Gaussian visible units (hyper.visible=1)")


def _temperature_ladder(betas, persistent) -> None:
    """Parallel tempering's inverse temperatures: a tuple, empty or 1 = b_0 > ... >= 0."""
    if not isinstance(betas, tuple):
        raise TypeError(f"hyper.betas must be a tuple of floats; got {_describe(betas)}")
    if not betas:
        return
    if len(betas) > MAX_TEMPERATURES:
        raise ValueError(f"hyper.betas holds at most {MAX_TEMPERATURES} temperatures; got "
                         f"{len(betas)}")
    values = [_real(b, f"hyper.betas[{i}]") for i, b in enumerate(betas)]
    if values[0] != 1 or values[-1] < 0 or any(a <= b for a, b in zip(values, values[1:])):
        raise ValueError("hyper.betas must start at 1 and decrease strictly to a value >= 0")
    if len(values) > 1 and not persistent:
        raise ValueError("parallel tempering (hyper.betas) needs hyper.persistent=True")


def make_workspace(h, n_visible, n_hidden, dtype) -> None:
    """``make_workspace(hyper, n_visible, n_hidden, dtype)``."""
    hyper(h)
    _int(n_visible, "n_visible", 1, BLAS_INT_MAX)
    _int(n_hidden, "n_hidden", 1, BLAS_INT_MAX)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64; got {_describe(dtype)}") from None
    if dt not in _FLOATS:
        raise TypeError(f"dtype must be float32 or float64; got {dt}")
    if 2 * int(h.batch_size) > BLAS_INT_MAX:
        raise ValueError(f"hyper.batch_size={h.batch_size} is too large for 32-bit BLAS")


def _workspace_shapes(h, nv: int, nh: int, n_neg: int) -> dict:
    """Smallest shape of each workspace buffer (rows: at least; columns: exactly)."""
    n_tot = int(h.batch_size) + n_neg
    return {"vstack": (n_tot, nv), "hstack": (n_tot, nh), "hsample": (int(h.batch_size), nh),
            # vec_v / vec_h: VEC_V_ROWS / VEC_H_ROWS of fastrbm/_kernels.pyx
            "scratch": (n_tot if h.learn_sigma else 1, nv), "vec_v": (7, nv), "vec_h": (5, nh),
            "gradient": (nh if int(h.optimizer) == OPTIMIZER_CODES["adam"] or h.fast_weights
                         else 1, nv),
            "chain_W": (nh if h.fast_weights else 1, nv),
            # parallel tempering (the energies' columns are checked by the kernel)
            "pt_input": (n_neg if len(h.betas) > 1 else 1, nh if len(h.betas) > 1 else 1),
            "pt_energy": (n_neg if len(h.betas) > 1 else 1, None)}


def fit_epoch(state, h, X, order, seed, step0, n_threads, workspace, small_gemm) -> None:
    """``fit_epoch(state, hyper, X, order, seed, step0, n_threads, workspace, small_gemm)``.

    ``state`` holds C-contiguous writeable arrays of one float type: ``W`` (nh, nv),
    ``b``, ``sigma``, ``mb``, ``mz`` (nv,), ``c``, ``mc``, ``q`` (nh,), ``mW`` (nh, nv),
    ``chains`` (n_chains, nh) with n_chains >= 1 for PCD, Adam's ``vW``, ``vb``, ``vc``,
    ``vz`` like ``mW``, ``mb``, ``mc``, ``mz``, and ``adam_steps`` (int64, (1,)). ``X`` (n_rows, nv) has that
    dtype and any strides; ``order`` is int64, 1-D, C-contiguous, with every entry in
    [0, n_rows). ``workspace`` is None or :func:`fastrbm._kernels.make_workspace`'s dict.
    """
    hyper(h)
    if state is None:
        raise TypeError("state must be a fastrbm.state.TrainState; got None")
    W = _weights(_attr(state, "W", "state"), "state.W", writeable=True)
    dt, (nh, nv) = W.dtype, W.shape
    for field, name, shape in ((f, n, (None, nh) if f == "chains" else
                                ((nh, nv) if len(s) == 2 else (nv,) if s == ("v",) else (nh,)))
                               for f, (n, s) in _STATE_FIELDS.items()):
        _array(_attr(state, field, "state"), name, dt, shape, writeable=True)
    _array(_attr(state, "adam_steps", "state"), "state.adam_steps", _INT64, (1,),
           writeable=True)
    n_temps = max(1, len(h.betas))
    for field in ("swap_attempts", "swap_accepts"):
        a = _array(_attr(state, field, "state"), f"state.{field}", _INT64, (None,),
                   writeable=True)
        if a.shape[0] != n_temps:
            raise ValueError(f"state.{field} must have one entry per temperature ({n_temps});"
                             f" got {a.shape[0]}")
    if not 0 <= int(state.adam_steps[0]) < 2**62:
        raise ValueError(f"state.adam_steps must be in [0, 2**62); got {state.adam_steps[0]}")
    chains = state.chains
    if h.persistent and chains.shape[0] < 1:
        raise ValueError("state.chains must have at least one row for persistent CD")
    if n_temps > 1 and chains.shape[0] % n_temps:
        raise ValueError(f"state.chains must hold {n_temps} sets of chains (one per "
                         f"temperature); got {chains.shape[0]} rows")
    if int(h.visible) == _GAUSSIAN:
        _positive(state.sigma, "state.sigma")
    _rows(X, "X", dt, nv)
    _array(order, "order", _INT64, (None,))
    if order.shape[0] > BLAS_INT_MAX:
        raise ValueError(f"order is too long for 32-bit indexing: {order.shape[0]}")
    if order.size and (order.min() < 0 or order.max() >= X.shape[0]):
        raise ValueError(f"order must hold row indices of X in [0, {X.shape[0]})")
    _seed(seed)
    _u32(step0, "step0")
    _threads(n_threads)
    if small_gemm is not None:
        _bool(small_gemm, "small_gemm")
    if workspace is not None:
        if not isinstance(workspace, Mapping):
            raise TypeError(f"workspace must be None or the dict of make_workspace; got "
                            f"{_describe(workspace)}")
        n_neg = chains.shape[0] if h.persistent else int(h.batch_size)
        for key, (rows, cols) in _workspace_shapes(h, nv, nh, n_neg).items():
            if key not in workspace:
                raise TypeError(f"workspace lacks {key!r}: make it with make_workspace("
                                f"hyper, n_visible, n_hidden, dtype)")
            name = f"workspace[{key!r}]"
            a = _array(workspace[key], name, _FLOAT64 if key == "pt_energy" else dt,
                       (None, cols), writeable=True)
            if a.shape[0] < rows:
                raise ValueError(f"{name} has {a.shape[0]} rows; this model and batch_size "
                                 f"need {rows}: make it with make_workspace(hyper, "
                                 f"n_visible, n_hidden, dtype)")
    # overlaps between these buffers (and with X, order) are refused by the epoch's own
    # check, _check_epoch_shapes, which compares their address ranges in C


def fit_epoch_typed(h, n_threads) -> None:
    """``_fit_epoch_typed``: the hyper-parameters it copies into C and its thread count
    (its arrays are checked by ``_check_epoch_shapes`` in the kernel module)."""
    hyper(h)
    _threads(n_threads)


def hidden_conditional(V, W, c, sigma, hidden, n_copies, seed, stream, step, mean_out,
                       sample_out, n_threads) -> None:
    """``hidden_conditional``: V (n, nv) any strides; W (nh, nv); c (nh,); sigma None or
    (nv,) positive; outputs None or (n, nh), writeable and separate."""
    W = _weights(W)
    dt, (nh, nv) = W.dtype, W.shape
    _rows(V, "V", dt, nv)
    n = V.shape[0]
    _array(c, "c", dt, (nh,))
    _sigma(sigma, dt, nv)
    _codes(hidden=hidden, n_copies=n_copies)
    _seed(seed)
    _u32(stream, "stream")
    _u32(step, "step")
    _array(mean_out, "mean_out", dt, (n, nh), writeable=True, optional=True)
    _array(sample_out, "sample_out", dt, (n, nh), writeable=True, optional=True)
    _threads(n_threads)
    _disjoint({"mean_out": mean_out, "sample_out": sample_out},
              {"V": V, "W": W, "c": c, "sigma": sigma})


def visible_conditional(H, W, b, sigma, visible, seed, stream, step, out, sample,
                        n_threads) -> None:
    """``visible_conditional``: H (n, nh) any strides; b (nv,); sigma None or (nv,)
    positive; ``out`` (n, nv) writeable and separate; ``sample`` a bool."""
    W = _weights(W)
    dt, (nh, nv) = W.dtype, W.shape
    _rows(H, "H", dt, nh)
    _array(b, "b", dt, (nv,))
    _sigma(sigma, dt, nv)
    _codes(visible=visible)
    _seed(seed)
    _u32(stream, "stream")
    _u32(step, "step")
    _array(out, "out", dt, (H.shape[0], nv), writeable=True)
    _bool(sample, "sample")
    _threads(n_threads)
    _disjoint({"out": out}, {"H": H, "W": W, "b": b, "sigma": sigma})


def gibbs(V, W, b, c, sigma, visible, hidden, n_copies, n_steps, seed, step, purpose,
          sample_last, n_threads, progress=None) -> None:
    """``gibbs``: V (n, nv) any strides; the parameters as in the conditionals;
    ``progress`` None or callable."""
    W = _weights(W)
    dt, (nh, nv) = W.dtype, W.shape
    _rows(V, "V", dt, nv)
    _array(b, "b", dt, (nv,))
    _array(c, "c", dt, (nh,))
    _sigma(sigma, dt, nv)
    _codes(visible, hidden, n_copies)
    _int(n_steps, "n_steps", 1, BLAS_INT_MAX)
    _seed(seed)
    _u32(step, "step")
    _u32(purpose, "purpose")
    _bool(sample_last, "sample_last")
    _threads(n_threads)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be None or callable; got {_describe(progress)}")


def free_energy(V, W, b, c, sigma, visible, hidden, n_copies, n_threads) -> None:
    """``free_energy``: as the conditionals; Gaussian visible units need ``sigma``."""
    W = _weights(W)
    dt, (nh, nv) = W.dtype, W.shape
    _rows(V, "V", dt, nv)
    _array(b, "b", dt, (nv,))
    _array(c, "c", dt, (nh,))
    _codes(visible, hidden, n_copies)
    _sigma(sigma, dt, nv, required=int(visible) == _GAUSSIAN)
    _threads(n_threads)


def pseudo_likelihood(V, W, b, c, hidden, n_copies, n_threads) -> None:
    """``pseudo_likelihood``: as ``free_energy`` for Bernoulli visible units."""
    free_energy(V, W, b, c, None, 0, hidden, n_copies, n_threads)


def fill(out, seed, stream, step) -> None:
    """``fill_uniforms`` / ``fill_normals``: a C-contiguous writeable float array (filled
    in place: a copy would be filled instead of ``out``)."""
    _ndarray(out, "out")
    if out.dtype not in _FLOATS:
        raise TypeError(f"out must have dtype float32 or float64; got {out.dtype}")
    _array(out, "out", out.dtype, out.shape, writeable=True)
    _seed(seed)
    _u32(stream, "stream")
    _u32(step, "step")


def fill_typed(out) -> None:
    """``_fill_uniforms_typed`` / ``_fill_normals_typed``: ``out`` is not None (the
    typed signature has checked the rest)."""
    if out is None:
        raise TypeError("out must be a 1-D float ndarray; got None")


def _betas(betas, name: str = "betas", downwards: bool = False) -> None:
    """Inverse temperatures: float64, 1-D, from exactly 0 to exactly 1, non-decreasing
    (``downwards``: RAISE's buffers, from exactly 1 to exactly 0, non-increasing)."""
    if betas is None:
        raise TypeError(f"{name} must be a 1-D float64 array; got None")
    a = np.asarray(betas)
    if downwards and a.ndim == 1:
        a = a[::-1]
    if a.dtype != np.float64:
        raise TypeError(f"{name} must have dtype float64; got {a.dtype}")
    if a.ndim != 1 or a.shape[0] < 2:
        raise ValueError(f"{name} must be 1-D with at least 2 values; got shape {a.shape}")
    if a.shape[0] - 1 > 2**32 - 1:
        raise ValueError(f"{name} has too many values for the 32-bit random step")
    if not (np.isfinite(a).all() and a[0] == 0 and a[-1] == 1 and (np.diff(a) >= 0).all()):
        raise ValueError(f"{name} must be finite and non-decreasing from exactly 0 to 1")


def _vector64(a, name: str, nv: int, *, positive: bool = False) -> None:
    """A 1-D real vector of ``nv`` finite values (converted to float64 by the caller)."""
    if a is None:
        raise TypeError(f"{name} must be a 1-D array of {nv} numbers; got None")
    _ndarray(a, name)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {a.dtype}")
    if a.shape != (nv,):
        raise ValueError(f"{name} must have shape ({nv},); got {a.shape}")
    if positive:
        _positive(a, name)
    elif a.size and not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite")


def ais(W, b, c, sigma, visible, hidden, n_copies, betas, base_b, base_sigma, n_runs, seed,
        purpose, n_threads, progress, chunk) -> None:
    """``fastrbm._ais.ais``: W (nh, nv) C-contiguous; c (nh,) of W's dtype; b, base_b
    (nv,) real and finite; sigma, base_sigma (nv,) positive for Gaussian visible units
    (ignored otherwise); betas as :func:`_betas`; ``progress`` None or callable;
    ``chunk`` None or an int >= 1."""
    W = _weights(W)
    dt, (nh, nv) = W.dtype, W.shape
    _codes(visible, hidden, n_copies)
    _array(c, "c", dt, (nh,))
    _vector64(b, "b", nv)
    _vector64(base_b, "base_b", nv)
    if int(visible) == _GAUSSIAN:
        _vector64(sigma, "sigma", nv, positive=True)
        _vector64(base_sigma, "base_sigma", nv, positive=True)
    _betas(betas)
    _int(n_runs, "n_runs", 1, BLAS_INT_MAX)
    _seed(seed)
    if purpose is not None:
        _u32(purpose, "purpose")
    _threads(n_threads)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be None or callable; got {_describe(progress)}")
    if chunk is not None:
        _int(chunk, "chunk", 1, 2**63 - 1)


def reverse_ais(W, b, c, sigma, visible, hidden, n_copies, betas, base_b, base_sigma, X,
                n_runs, seed, purpose, n_threads, progress, chunk) -> None:
    """``fastrbm._ais.reverse_ais``: as :func:`ais`, and ``X`` rows of W's dtype (any
    strides); at most 2^31 - 1 chains (rows x n_runs)."""
    ais(W, b, c, sigma, visible, hidden, n_copies, betas, base_b, base_sigma, n_runs, seed,
        purpose, n_threads, progress, chunk)
    W = np.asarray(W)
    X = _rows(X, "X", W.dtype, W.shape[1])
    if X.shape[0] < 1:
        raise ValueError("X must hold at least one row")
    if X.shape[0] * int(n_runs) > BLAS_INT_MAX:
        raise ValueError(f"X rows times n_runs must be at most {BLAS_INT_MAX} chains")


def _ais_arrays(W, W_hid, c, zero_h, b64, bA, b_delta, s64, sA, betas, V, P, H, coef, log_w,
                visible, n_threads, *, values: bool, from_data: bool = False) -> None:
    """The buffers of an AIS run (``_ais_segments`` / ``_ais_typed``); ``values`` also
    checks what the arrays hold (zero_h zero, b_delta = b64 - bA, positive sigmas)."""
    W = _weights(np.asarray(W) if W is not None else None)
    dt, (nh, nv) = W.dtype, W.shape
    arrays = {"W": W}
    for name, a, dtype, shape, writeable in (
            ("W_hid", W_hid, dt, (nh, nv), False), ("c", c, dt, (nh,), False),
            ("zero_h", zero_h, dt, (nh,), False), ("b64", b64, np.float64, (nv,), False),
            ("bA", bA, np.float64, (nv,), False), ("s64", s64, np.float64, (nv,), False),
            ("sA", sA, np.float64, (nv,), False), ("betas", betas, np.float64, (None,), False),
            ("V", V, dt, (None, nv), True), ("P", P, dt, (None, nh), True),
            ("H", H, dt, (None, nh), True), ("coef", coef, dt, (None, nv), True),
            ("log_w", log_w, np.float64, (None,), True)):
        if a is None:
            raise TypeError(f"{name} must be an array; got None")
        arrays[name] = _array(np.asarray(a), name, dtype, shape, writeable=writeable)
    if b_delta is not None:
        arrays["b_delta"] = _array(np.asarray(b_delta), "b_delta", np.float64, (nv,))
    n = arrays["V"].shape[0]
    if n < 1:
        raise ValueError("AIS needs at least one run (V has no rows)")
    for name in ("P", "H"):
        if arrays[name].shape[0] != n:
            raise ValueError(f"{name} must have {n} rows (one per run, as V)")
    if arrays["log_w"].shape[0] != n:
        raise ValueError(f"log_w must have {n} entries (one per run, as V)")
    if arrays["coef"].shape[0] < 3 * n_threads:
        raise ValueError(f"coef must have 3 rows per thread: at least {3 * n_threads}")
    if values:
        _betas(arrays["betas"], downwards=from_data)
        if arrays["zero_h"].any():
            raise ValueError("zero_h must be zeros")
        if b_delta is not None and not np.array_equal(arrays["b_delta"],
                                                      arrays["b64"] - arrays["bA"]):
            raise ValueError("b_delta must equal b64 - bA")
        if int(visible) == _GAUSSIAN:
            _positive(arrays["s64"], "s64")
            _positive(arrays["sA"], "sA")
    _disjoint({k: arrays[k] for k in ("V", "P", "H", "coef", "log_w")},
              {k: a for k, a in arrays.items() if k not in ("V", "P", "H", "coef", "log_w")})


def ais_segments(W, W_hid, c, zero_h, b64, bA, s64, sA, betas, V, P, H, coef, log_w,
                 visible, hidden, n_copies, seed, purpose, n_threads, progress,
                 max_segment, from_data=False) -> None:
    """``_ais_segments``: the AIS buffers, codes and a segment cap >= 1 (``from_data``:
    RAISE's, betas from 1 down to 0)."""
    _codes(visible, hidden, n_copies)
    _seed(seed)
    _u32(purpose, "purpose")
    n_threads = _threads(n_threads)
    from_data = _bool(from_data, "from_data")
    _ais_arrays(W, W_hid, c, zero_h, b64, bA, None, s64, sA, betas, V, P, H, coef, log_w,
                visible, n_threads, values=True, from_data=from_data)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be None or callable; got {_describe(progress)}")
    _int(max_segment, "max_segment", 1, 2**63 - 1)


def ais_typed(W, W_hid, c, zero_h, b64, bA, b_delta, s64, sA, betas, V, P, H, coef, log_w,
              visible, hidden, n_copies, seed, purpose, n_threads, k_start, k_stop,
              from_data=False) -> None:
    """``_ais_typed``: the AIS buffers (typed memoryviews, None refused) and transitions
    0 <= k_start <= k_stop <= len(betas)."""
    _codes(visible, hidden, n_copies)
    n_threads = _threads(n_threads)
    if betas is None:
        raise TypeError("betas must be an array; got None")
    n_betas = np.asarray(betas).shape[0]
    from_data = _bool(from_data, "from_data")
    _ais_arrays(W, W_hid, c, zero_h, b64, bA, b_delta, s64, sA, betas, V, P, H, coef, log_w,
                visible, n_threads, values=True, from_data=from_data)
    _int(k_start, "k_start", 0, n_betas)
    _int(k_stop, "k_stop", int(k_start), n_betas)
