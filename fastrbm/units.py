"""Unit types by name: validation and the integer codes the kernels understand."""
from __future__ import annotations

from ._constants import HIDDEN_CODES, VISIBLE_CODES

VISIBLE_UNITS = dict(VISIBLE_CODES)
HIDDEN_UNITS = dict(HIDDEN_CODES)


def _code(table: dict, value, argument: str) -> int:
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a string, one of {sorted(table)}; got {value!r}")
    try:
        return table[value.lower()]
    except KeyError:
        raise ValueError(f"{argument} must be one of {sorted(table)}; got {value!r}") from None


def visible_code(name: str) -> int:
    """Kernel code of a visible unit type ('bernoulli' or 'gaussian')."""
    return _code(VISIBLE_UNITS, name, "visible")


def hidden_code(name: str) -> int:
    """Kernel code of a hidden unit type ('bernoulli', 'stepped' or 'nrelu')."""
    return _code(HIDDEN_UNITS, name, "hidden")
