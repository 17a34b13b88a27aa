"""scikit-learn estimator protocol without a run-time dependency on scikit-learn.

``get_params``/``set_params``/``__repr__`` follow scikit-learn's conventions, so
``clone``, ``Pipeline`` and ``GridSearchCV`` work; ``__sklearn_tags__`` imports
scikit-learn lazily, only when scikit-learn itself asks. Feature names
(``feature_names_in_``, ``get_feature_names_out``) are recorded and checked with
scikit-learn's rules, warnings and messages, without importing it or pandas.
"""
from __future__ import annotations

import functools
import inspect
import sys
import warnings
from typing import Optional

import numpy as np

from ._validation import caller_stacklevel, inside_data_checked


def feature_names(X) -> Optional[np.ndarray]:
    """The column names of a dataframe ``X`` as an object array, or None.

    As scikit-learn: names are kept only when every one is a ``str``; a mix of str and
    other types is a ``TypeError``; names of other types, arrays, lists and sparse
    matrices give None. pandas is recognised directly, other dataframe libraries
    (polars, pyarrow, modin, ...) through the dataframe interchange protocol. Neither
    is imported here: an object of a library that is not loaded cannot be its frame.

    Parameters
    ----------
    X : object
        Anything given as data.

    Returns
    -------
    ndarray of object (n_features,) or None
    """
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(X, pd.DataFrame):
        names = np.asarray(X.columns, dtype=object)
    elif hasattr(X, "__dataframe__") and not isinstance(X, np.ndarray):
        try:
            names = np.asarray(list(X.__dataframe__().column_names()), dtype=object)
        except Exception:  # noqa: BLE001 - a broken protocol is no frame
            return None
    else:
        return None
    if len(names) == 0:
        return None
    types = sorted(t.__qualname__ for t in {type(v) for v in names})
    if len(types) > 1 and "str" in types:
        # scikit-learn's message, word for word
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {types} as feature name / column name types. "
            "If you want feature names to be stored and validated, you must convert "
            "them all to strings, by using X.columns = X.columns.astype(str) for "
            "example. Otherwise you can remove feature / column names from your input "
            "data, or convert them all to a non-string data type.")
    if types == ["str"]:
        return names
    return None


def _list_names(names) -> str:
    out = ""
    for i, name in enumerate(names):
        if i >= 5:
            out += "- ...\n"
            break
        out += f"- {name}\n"
    return out


class available_if:  # noqa: N801 - used as a decorator, like property
    """Decorator: the method exists only when ``check(self)`` is true.

    scikit-learn (its estimator checks, ``Pipeline``) decides what an estimator can do
    with ``hasattr``, so a method that cannot apply to a configuration must raise
    ``AttributeError`` on access rather than fail when called. ``check`` returns True
    or raises ``AttributeError`` saying why.
    """

    def __init__(self, check):
        self.check = check
        self.fn = None

    def __call__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)
        return self

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        self.check(obj)
        return self.fn.__get__(obj, owner)


class EstimatorMixin:
    """Parameters are exactly the keyword arguments of ``__init__``, stored unchanged.

    Also scikit-learn's feature-name protocol. Subclasses that use it provide
    ``_check_fitted()`` and, once fitted, ``n_features_in_`` and ``_n_features_out``
    (the width of ``transform``'s output).
    """

    #: the attribute ``fit`` sets (subclasses); its absence means "not fitted"
    _fitted_attribute = ""

    def _check_structure(self) -> None:
        """Raise NotFittedError when a structural setting changed since fit (subclasses)."""

    def __sklearn_is_fitted__(self) -> bool:
        if not hasattr(self, self._fitted_attribute):
            return False
        try:
            self._check_structure()
        except AttributeError:      # NotFittedError: a structural setting changed
            return False
        except (TypeError, ValueError):     # invalid settings: the methods will say so
            return True
        return True

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict:
        """Parameters of this estimator (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set parameters (scikit-learn protocol); unknown names raise ValueError."""
        valid = set(self._param_names())
        for name in params:
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {sorted(valid)!r}.")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = value is default or (type(value) is type(default) and value == default)
            except Exception:  # noqa: BLE001 - arrays and odd objects compare badly
                same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    # ------------------------------------------------------------ feature names
    def _check_feature_names(self, X, *, reset: bool) -> None:
        """Set (``reset``) or check ``feature_names_in_`` against the columns of ``X``.

        scikit-learn's rules, warnings and messages: ``reset`` (in ``fit`` and the first
        ``partial_fit``) records a dataframe's string column names, or removes the
        attribute when ``X`` has none. Otherwise names seen now but not at fit (or the
        reverse) give a ``UserWarning``; names that differ, or come in another order,
        raise ``ValueError`` listing them. Call it before the data are converted (an
        array has no names) and, with ``reset``, only once the data are known to be
        valid, so that a refused call leaves the model as it was.

        Parameters
        ----------
        X : array-like, sparse matrix or dataframe
            The data as the caller gave it.
        reset : bool
            Record the names (True) or check them (False).
        """
        names = feature_names(X)     # first: mixed names are an error in every case
        if reset:
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return
        if inside_data_checked():       # the calling method has checked them
            return
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is None and names is None:
            return
        cls = type(self).__name__
        if fitted is None:
            warnings.warn(f"X has feature names, but {cls} was fitted without feature names",
                          UserWarning, stacklevel=caller_stacklevel())
            return
        if names is None:
            warnings.warn(f"X does not have valid feature names, but {cls} was fitted with "
                          f"feature names", UserWarning, stacklevel=caller_stacklevel())
            return
        if len(fitted) == len(names) and np.all(fitted == names):
            return
        message = "The feature names should match those that were passed during fit.\n"
        unexpected = sorted(set(names) - set(fitted))
        missing = sorted(set(fitted) - set(names))
        if unexpected:
            message += "Feature names unseen at fit time:\n" + _list_names(unexpected)
        if missing:
            message += "Feature names seen at fit time, yet now missing:\n" + _list_names(missing)
        if not unexpected and not missing:
            message += "Feature names must be in the same order as they were in fit.\n"
        raise ValueError(message)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output features of ``transform`` (scikit-learn protocol).

        The lowercased class name and the output index: ``rbm0``, ``rbm1``, ... (as
        scikit-learn names the outputs of ``PCA`` or its ``BernoulliRBM``).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked: it must have ``n_features_in_`` entries and equal
            ``feature_names_in_`` when the model was fitted with names.

        Returns
        -------
        ndarray of str objects (n_outputs,)
        """
        self._check_fitted()
        if input_features is not None:
            given = np.asarray(input_features, dtype=object)
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None and not np.array_equal(fitted, given):
                raise ValueError("input_features is not equal to feature_names_in_")
            if len(given) != self.n_features_in_:
                raise ValueError(
                    f"input_features should have length equal to number of features "
                    f"({self.n_features_in_}), got {len(given)}")
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self._n_features_out)], dtype=object)

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags, TransformerTags

        tags = Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags())
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
