"""scikit-learn estimator protocol without a run-time dependency on scikit-learn.

``get_params``/``set_params``/``__repr__`` follow scikit-learn's conventions, so
``clone``, ``Pipeline`` and ``GridSearchCV`` work; ``__sklearn_tags__`` imports
scikit-learn lazily, only when scikit-learn itself asks.
"""
from __future__ import annotations

import functools
import inspect


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
    """Parameters are exactly the keyword arguments of ``__init__``, stored unchanged."""

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

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags, TransformerTags

        tags = Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags())
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "components_")
