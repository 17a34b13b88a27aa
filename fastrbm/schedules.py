"""Per-epoch schedules of the learning rate and the momentum.

A schedule is given to :class:`fastrbm.RBM` as ``learning_rate_schedule`` or
``momentum_schedule`` in one of these forms:

* ``None`` or ``"constant"``: the base value (``learning_rate``, ``momentum``) every epoch;
* a name with parameters, as a tuple ``(name, {param: value})`` or a dict
  ``{"name": name, param: value}``:

  - ``"exponential"`` (``decay`` in (0, 1]): ``base * decay**(epoch - 1)``;
  - ``"linear"`` (``final``, ``epochs`` >= 2): from ``base`` at epoch 1 in equal steps
    to ``final`` at epoch ``epochs``, then ``final``;
  - ``"practical"`` (momentum only; ``initial=0.5``, ``final=0.9``,
    ``switch_epoch=6``): ``initial`` before ``switch_epoch``, ``final`` from it on,
    the practical guide's 0.5 for the first five epochs and 0.9 after;

* a callable ``f(epoch) -> value``.

``epoch`` counts from 1 over the model's whole training (``n_iter_ + 1`` for the next
epoch), so that ``partial_fit`` loops and resumed runs follow the schedule of one
uninterrupted ``fit``.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Union

ScheduleSpec = Union[None, str, tuple, list, Mapping, Callable[[int], float]]

__all__ = ["Schedule", "ScheduleSpec", "resolve", "LEARNING_RATE", "MOMENTUM"]


@dataclass(frozen=True)
class Quantity:
    """What a schedule sets: its parameter name and the values it may take."""

    param: str          # the estimator parameter holding the schedule
    value_name: str     # the estimator parameter holding the base value
    low: float
    low_open: bool
    high: Optional[float]
    high_open: bool

    def check(self, value, where: str) -> float:
        """``value`` as a float inside the quantity's range, or a ValueError."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{where} must be a real number; got {value!r}")
        v = float(value)
        below = v < self.low or (self.low_open and v == self.low)
        above = self.high is not None and (v > self.high or (self.high_open and v == self.high))
        if not math.isfinite(v) or below or above:
            raise ValueError(f"{where} must be a finite number in {self.interval}; got "
                             f"{value!r}")
        return v

    @property
    def interval(self) -> str:
        high = "inf" if self.high is None else f"{self.high:g}"
        return (f"{'(' if self.low_open else '['}{self.low:g}, {high}"
                f"{')' if self.high_open or self.high is None else ']'}")


LEARNING_RATE = Quantity("learning_rate_schedule", "learning_rate", 0.0, True, None, True)
MOMENTUM = Quantity("momentum_schedule", "momentum", 0.0, False, 1.0, True)


def _check_decay(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not 0.0 < float(value) <= 1.0:
        raise ValueError(f"{where} must be a number in (0, 1]; got {value!r}")
    return float(value)


def _check_epochs(value, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{where} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _constant(base: float, quantity: Quantity, where: str) -> Callable[[int], float]:
    return lambda epoch: base


def _exponential(base: float, quantity: Quantity, where: str, decay) -> Callable:
    decay = _check_decay(decay, f"{where} parameter 'decay'")
    return lambda epoch: base * decay ** (epoch - 1)


def _linear(base: float, quantity: Quantity, where: str, final, epochs) -> Callable:
    final = quantity.check(final, f"{where} parameter 'final'")
    epochs = _check_epochs(epochs, f"{where} parameter 'epochs'", 2)

    def value(epoch: int) -> float:
        if epoch >= epochs:
            return final
        return base + (final - base) * ((epoch - 1) / (epochs - 1))
    return value


def _practical(base: float, quantity: Quantity, where: str, initial=0.5, final=0.9,
               switch_epoch=6) -> Callable:
    initial = quantity.check(initial, f"{where} parameter 'initial'")
    final = quantity.check(final, f"{where} parameter 'final'")
    switch = _check_epochs(switch_epoch, f"{where} parameter 'switch_epoch'", 1)
    return lambda epoch: initial if epoch < switch else final


# name -> (maker, required parameters, optional parameters, quantities it applies to)
_KINDS = {
    "constant": (_constant, (), (), (LEARNING_RATE, MOMENTUM)),
    "exponential": (_exponential, ("decay",), (), (LEARNING_RATE, MOMENTUM)),
    "linear": (_linear, ("final", "epochs"), (), (LEARNING_RATE, MOMENTUM)),
    "practical": (_practical, (), ("initial", "final", "switch_epoch"), (MOMENTUM,)),
}


def _split(spec, where: str) -> tuple[str, dict]:
    """(name, parameters) of a named schedule in any of its accepted forms."""
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, (tuple, list)):
        if not 1 <= len(spec) <= 2 or not isinstance(spec[0], str) or (
                len(spec) == 2 and not isinstance(spec[1], Mapping)):
            raise ValueError(f"{where} as a tuple must be (name,) or (name, {{parameter: "
                             f"value}}); got {spec!r}")
        return spec[0], dict(spec[1]) if len(spec) == 2 else {}
    if isinstance(spec, Mapping):
        params = dict(spec)
        name = params.pop("name", None)
        if not isinstance(name, str):
            raise ValueError(f"{where} as a dict needs a 'name' string; got {spec!r}")
        return name, params
    raise ValueError(f"{where} must be None, a name, (name, parameters), a dict with "
                     f"'name', or a callable f(epoch); got {type(spec).__name__}")


@dataclass(frozen=True)
class Schedule:
    """A validated schedule: ``value(epoch)`` for epochs counted from 1.

    Attributes
    ----------
    quantity : Quantity
        What it sets (the learning rate or the momentum) and the values allowed.
    function : callable
        ``epoch -> value``.
    user_callable : bool
        True when the function is the user's own (its values are checked per epoch).
    """

    quantity: Quantity
    function: Callable[[int], float]
    user_callable: bool

    def values(self, first: int, last: int) -> list[float]:
        """The values of epochs ``first`` to ``last`` (inclusive), each checked.

        Parameters
        ----------
        first, last : int
            Epochs counted from 1; an empty list when ``last < first``.

        Returns
        -------
        list of float

        Raises
        ------
        ValueError
            A value is not finite or outside the quantity's range (the message names
            the parameter and the epoch).
        """
        out = []
        for epoch in range(first, last + 1):
            where = f"{self.quantity.param} at epoch {epoch}"
            try:
                value = self.function(epoch)
            except Exception as exc:  # noqa: BLE001 - the user's function: say whose
                raise ValueError(f"{where}: the schedule raised {type(exc).__name__}: "
                                 f"{exc}") from exc
            out.append(self.quantity.check(value, where))
        return out


def resolve(spec: ScheduleSpec, base: float, quantity: Quantity) -> Schedule:
    """The :class:`Schedule` a specification describes around the base value.

    Parameters
    ----------
    spec : None, str, tuple, dict or callable
        See the module's description.
    base : float
        The estimator's ``learning_rate`` or ``momentum`` (already validated).
    quantity : Quantity
        :data:`LEARNING_RATE` or :data:`MOMENTUM`.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        An unknown name, a name that does not apply to the quantity, missing, unknown
        or out-of-range parameters; the message names the estimator parameter.
    """
    where = quantity.param
    if spec is None:
        spec = "constant"
    if callable(spec) and not isinstance(spec, (str, Mapping, tuple, list)):
        return Schedule(quantity, spec, True)
    name, params = _split(spec, where)
    if name not in _KINDS:
        raise ValueError(f"{where}: unknown schedule {name!r}; known: "
                         f"{sorted(k for k, v in _KINDS.items() if quantity in v[3])}")
    make, required, optional, applies = _KINDS[name]
    if quantity not in applies:
        raise ValueError(f"{where}: the schedule {name!r} is for "
                         f"{', '.join(q.value_name for q in applies)} only")
    missing = [p for p in required if p not in params]
    unknown = [p for p in params if p not in required + optional]
    if missing or unknown:
        raise ValueError(f"{where}: the schedule {name!r} takes the parameters "
                         f"{list(required) + list(optional)} ({', '.join(required) or 'none'}"
                         f" required); got {sorted(params)}")
    return Schedule(quantity, make(base, quantity, where, **params), False)
