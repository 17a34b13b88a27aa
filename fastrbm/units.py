"""Unit types by name: validation and the integer codes the kernels understand."""
from __future__ import annotations

#: The kernels' unit codes.
VISIBLE_BERNOULLI, VISIBLE_GAUSSIAN = 0, 1
HIDDEN_BERNOULLI, HIDDEN_STEPPED, HIDDEN_NRELU = 0, 1, 2

#: Terms of the NReLU free energy (infinite stepped sum) below this input are dropped,
#: above it softplus(a) == a to double precision.
NRELU_CUTOFF = 40.0

VISIBLE_UNITS = {"bernoulli": VISIBLE_BERNOULLI, "gaussian": VISIBLE_GAUSSIAN}
HIDDEN_UNITS = {"bernoulli": HIDDEN_BERNOULLI, "stepped": HIDDEN_STEPPED,
                "nrelu": HIDDEN_NRELU}
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
