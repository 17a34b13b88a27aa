"""Unit types by name: validation and the integer codes the kernels understand."""
from __future__ import annotations

from ._constants import HIDDEN_CODES, NRELU_CUTOFF, VISIBLE_CODES  # noqa: F401

#: Unit names and the kernels' codes (defined once, in fastrbm/_constants.pxd).
VISIBLE_UNITS = dict(VISIBLE_CODES)
HIDDEN_UNITS = dict(HIDDEN_CODES)
VISIBLE_BERNOULLI, VISIBLE_GAUSSIAN = VISIBLE_UNITS["bernoulli"], VISIBLE_UNITS["gaussian"]
HIDDEN_BERNOULLI, HIDDEN_STEPPED, HIDDEN_NRELU = (
    HIDDEN_UNITS["bernoulli"], HIDDEN_UNITS["stepped"], HIDDEN_UNITS["nrelu"])
VISIBLE_NAMES = {code: name for name, code in VISIBLE_UNITS.items()}
HIDDEN_NAMES = {code: name for name, code in HIDDEN_UNITS.items()}


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
