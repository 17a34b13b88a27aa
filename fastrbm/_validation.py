"""Input checks shared by the estimators: clear errors that name the argument.

Nothing here changes a model; estimators validate everything before touching state.
"""
from __future__ import annotations

import contextlib
import numbers
import os
import sys
import threading
import warnings

import numpy as np

#: BLAS takes 32-bit ints: no dimension (nor leading dimension) may exceed this.
BLAS_INT_MAX = 2**31 - 1

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class DataRangeWarning(UserWarning):
    """Data outside [0, 1] given to Bernoulli visible units, accepted as scikit-learn does.

    Only :class:`~fastrbm.BernoulliRBM` (the scikit-learn drop-in) accepts such data;
    :class:`~fastrbm.RBM` refuses it.
    """


def caller_stacklevel() -> int:
    """``stacklevel`` for ``warnings.warn`` in the calling function: the first frame
    outside fastrbm, so that a warning names the user's line, however deep the call."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


# Per thread, so that another thread's calls still check while one call is inside.
_inside = threading.local()


@contextlib.contextmanager
def data_checked():
    """Within the block, data handed on have been checked already by the calling method.

    A public method that checks its data and then passes them to other public methods
    (``fit_transform``, the evaluation functions) wraps those calls in this block so
    that the checks are not repeated: :func:`check_data` does not warn a second time
    about values outside [0, 1], and feature names are not looked for again (the
    array made from a dataframe has none, which would be warned about). Shapes, types
    and finiteness are still checked. Per thread.
    """
    before = getattr(_inside, "on", False)
    _inside.on = True
    try:
        yield
    finally:
        _inside.on = before


def inside_data_checked() -> bool:
    """True within :func:`data_checked` in this thread."""
    return getattr(_inside, "on", False)


def resolve_dtype(dtype, argument: str = "dtype"):
    """``'float32'``/``'float64'`` (or the NumPy types) -> np.dtype; None stays None."""
    if dtype is None:
        return None
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{argument} must be 'float32' or 'float64'; got {dtype!r}") from None
    if dt not in _FLOAT_DTYPES:
        raise ValueError(f"{argument} must be 'float32' or 'float64'; got {dtype!r}")
    return dt


def check_data(X, name: str = "X", *, dtype=None, n_features=None, bernoulli=False,
               out_of_range: str = "raise", estimator: str = "RBM") -> np.ndarray:
    """Validate a 2-D data matrix and return it as a float array of ``dtype``.

    Parameters
    ----------
    X : array-like, sparse matrix or dataframe (n_samples, n_features)
    name : str, default='X'
        The argument's name in messages.
    dtype : np.dtype or None, default=None
        The float type returned; None keeps float32/float64 and turns everything else
        into float64.
    n_features : int or None, default=None
        The number of columns required.
    bernoulli : bool, default=False
        The data feed Bernoulli visible units, which model values in [0, 1].
    out_of_range : {'raise', 'warn'}, default='raise'
        With ``bernoulli``, what finite values outside [0, 1] do: raise ``ValueError``
        (:class:`~fastrbm.RBM`), or pass with one :class:`DataRangeWarning`
        (:class:`~fastrbm.BernoulliRBM`, as scikit-learn's accepts them).
    estimator : str, default='RBM'
        The estimator's name in messages.

    Returns
    -------
    ndarray (n_samples, n_features) of ``dtype``

    Notes
    -----
    * scipy.sparse matrices are densified (fastrbm's kernels are dense).
    * bool and integer inputs are converted exactly; integers too large for the
      target float type are refused instead of being rounded.
    * Non-contiguous and read-only arrays are accepted as they are when no conversion
      is needed (the kernels read any strides and never write to inputs).
    * NaN and infinity are always refused.
    """
    if out_of_range not in ("raise", "warn"):
        raise ValueError(f"out_of_range must be 'raise' or 'warn'; got {out_of_range!r}")
    try:
        import scipy.sparse as sp

        if sp.issparse(X):
            X = X.toarray()
    except ImportError:  # pragma: no cover - scipy is a dependency
        pass
    if X is None:
        raise TypeError(f"{name} must be an array-like of numbers; got None")
    if not hasattr(X, "dtype"):
        try:
            X = np.asarray(X)
        except Exception as exc:  # noqa: BLE001 - anything unconvertible
            raise TypeError(f"{name} must be an array-like of numbers: {exc}") from None
    X = np.asarray(X)
    if X.dtype.kind == "c":
        # the wording is scikit-learn's, which its estimator checks look for
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}")
    if X.dtype.kind == "O":
        # object arrays of numbers are numbers (scikit-learn's convention)
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold real numbers: {exc}") from None
    kind = X.dtype.kind
    if kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_samples, n_features); got {X.ndim}-D with shape "
            f"{X.shape}. Reshape your data with x.reshape(1, -1) for one sample.")
    if X.shape[0] < 1:
        raise ValueError(f"{name} has 0 sample(s) (shape={X.shape}) while a minimum of 1 "
                         f"is required.")
    if X.shape[1] < 1:
        raise ValueError(f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 "
                         f"is required.")
    if max(X.shape) > BLAS_INT_MAX:
        # every BLAS dimension and leading dimension is a 32-bit int
        raise ValueError(f"{name} is too large for 32-bit BLAS: shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but {estimator} is expecting {n_features} "
            f"features as input")
    target = dtype if dtype is not None else (X.dtype if X.dtype in _FLOAT_DTYPES else np.dtype(np.float64))
    if kind in "iu":
        limit = 2**24 if target == np.float32 else 2**53
        if X.size and np.abs(X).max() > limit:
            raise ValueError(
                f"{name} holds integers beyond {limit}, which {target} cannot represent "
                f"exactly; convert {name} yourself if rounding is acceptable")
    X = X.astype(target, copy=False)
    # min and max propagate NaN and reach any infinity: two passes, no temporary
    lo, hi = X.min(), X.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{name} contains NaN or infinity")
    if bernoulli and (lo < 0 or hi > 1):
        if out_of_range == "warn":
            if not inside_data_checked():
                warnings.warn(
                    f"{name} has values in [{lo:g}, {hi:g}], but the Bernoulli visible "
                    f"units of {estimator} expect values in [0, 1] (probabilities or "
                    f"binary data); rescale {name} to [0, 1]", DataRangeWarning,
                    stacklevel=caller_stacklevel())
            return X
        raise ValueError(
            f"{name} must lie in [0, 1] for Bernoulli visible units; got values in "
            f"[{lo:g}, {hi:g}]" + (" (Negative values in data)" if lo < 0 else "")
            + " (use visible='gaussian' for real-valued data)")
    return X


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """An int >= minimum (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    if value > BLAS_INT_MAX:
        raise ValueError(f"{name}={value} exceeds what 32-bit BLAS can index")
    return int(value)


def check_float(value, name: str, *, low=None, high=None, low_open=False) -> float:
    """A finite real number in [low, high] (or (low, high] when ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite; got {value!r}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}; got {value!r}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}; got {value!r}")
    return v


def seed_from(random_state) -> int:
    """A 64-bit seed for the counter-based generator from a scikit-learn random_state.

    None draws fresh entropy; an int is used as it is (it must fit in 64 bits);
    a ``RandomState``/``Generator`` gives one draw.
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
    if isinstance(random_state, (np.random.RandomState,)):
        return int(random_state.randint(0, 2**63 - 1, dtype=np.int64))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1, dtype=np.int64))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if not 0 <= int(random_state) < 2**64:
            raise ValueError(f"random_state must be in [0, 2**64); got {random_state!r}")
        return int(random_state)
    raise TypeError(
        f"random_state must be None, an int, a numpy RandomState or Generator; got {random_state!r}")


_NOT_FITTED_FALLBACK = None


def not_fitted_error(message: str) -> Exception:
    """A ``sklearn.exceptions.NotFittedError`` (a ValueError and an AttributeError).

    scikit-learn is imported only here, when the error is raised (it is optional and
    slow to import); without it an equivalent local class with the same bases is used.
    """
    global _NOT_FITTED_FALLBACK
    try:
        from sklearn.exceptions import NotFittedError
    except ImportError:  # pragma: no cover - scikit-learn is optional
        if _NOT_FITTED_FALLBACK is None:
            _NOT_FITTED_FALLBACK = type("NotFittedError", (ValueError, AttributeError),
                                        {"__module__": __name__})
        NotFittedError = _NOT_FITTED_FALLBACK  # noqa: N806
    return NotFittedError(message)


def check_param_array(value, name: str, shape: tuple, dtype, *, positive: bool = False,
                      context: str = "") -> np.ndarray:
    """A model parameter as a finite, C-contiguous array of ``shape`` and ``dtype``.

    Parameters set by hand (e.g. copied from another library) may come in any memory
    order, as lists, or in another real type; they are converted (a copy only when
    needed). The shape is checked before anything is converted, so a wrong one costs
    nothing whatever its size.

    Parameters
    ----------
    value : array-like
    name : str
        The attribute or argument, for messages.
    shape : tuple of int
    dtype : np.dtype
        float32 or float64.
    positive : bool, default=False
        Also require every entry > 0 (standard deviations).
    context : str, default=''
        Appended to the shape message (e.g. which sizes the shape comes from).

    Returns
    -------
    ndarray
    """
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array of shape {shape}; got {value!r}")
    try:
        a = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - ragged lists and odd objects
        raise TypeError(f"{name} must be an array of numbers of shape {shape}: {exc}") from None
    if a.dtype.kind == "O":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold real numbers: {exc}") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {a.dtype}")
    if a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}{context}; got {a.shape}")
    with np.errstate(over="ignore"):     # out-of-range values become inf: refused below
        a = np.ascontiguousarray(a, dtype=dtype)
    if a.size:
        lo, hi = a.min(), a.max()
        # NaN propagates through min and max; infinities reach one of them
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"{name} contains NaN or infinity")
        if positive and lo <= 0:
            raise ValueError(f"{name} must be positive; its smallest entry is {lo:g}")
    return a


def check_int(value, name: str, low: int, high: int) -> int:
    """An int (not a bool) in [low, high], for counters and seeds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be in [{low}, {high}]; got {int(value)}")
    return int(value)
