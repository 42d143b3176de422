"""Combinators: schedules made of schedules. Each part keeps its own formula; these only move the clock."""
import math
import typing

from . import _checks as check
from ._base import Schedule, register
from ._errors import LrkitTypeError, LrkitValueError


@register
class sequence(Schedule):
    """Schedules one after another, each on its own clock: ``schedules[i]`` runs from
    ``boundaries[i-1]`` (0 for the first), seeing ``t - boundaries[i-1]``; the switch is at
    ``t >= boundary`` (optax ``join_schedules``, torch SequentialLR).

    >>> s = sequence([constant(1.0), linear(1.0, 0.0, steps=2)], boundaries=[2])
    >>> [s(t) for t in range(5)]
    [1.0, 1.0, 1.0, 0.5, 0.0]
    """
    schedules: typing.Tuple[Schedule, ...]
    boundaries: typing.Tuple[float, ...]

    def __post_init__(self):
        if isinstance(self.schedules, Schedule) or not hasattr(self.schedules, "__iter__"):
            raise LrkitTypeError(f"schedules must be a list of lrkit schedules, got {self.schedules!r}")
        object.__setattr__(self, "schedules", tuple(check.schedule(f"schedules[{i}]", s) for i, s in enumerate(self.schedules)))
        self._validate("boundaries", check.increasing, check.positive)
        if len(self.schedules) != len(self.boundaries) + 1:
            raise LrkitValueError(
                f"boundaries must have one entry fewer than schedules ({len(self.schedules)}), "
                f"got {len(self.boundaries)}: {list(self.boundaries)!r}")

    def __repr__(self):
        parts = ", ".join(repr(s) for s in self.schedules)
        return f"sequence([{parts}], boundaries={list(self.boundaries)!r})"

    def _f(self, t, xp):
        value = self.schedules[0]._f(t, xp)
        for boundary, part in zip(self.boundaries, self.schedules[1:]):
            value = xp.where(t >= boundary, part._f(xp.maximum(t - boundary, 0.0), xp), value)
        return value


@register
class warmup(Schedule):
    """Warm up over ``steps`` from ``start`` to ``schedule(0)``, then ``schedule(t - steps)``.

    Shapes, with ``u = t / steps`` and ``peak = schedule(0)``: ``"linear"``
    ``start + (peak - start) u``; ``"cosine"`` ``start + (peak - start) (1 - cos(pi u)) / 2``;
    ``"exponential"`` ``start (peak / start) ** u`` (needs ``start > 0``). Continuous at the join.

    >>> s = warmup(cosine(1.0, 0.0, steps=4), steps=2)
    >>> [round(s(t), 4) for t in range(7)]
    [0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0]
    """
    schedule: Schedule
    steps: float
    start: float = 0.0
    shape: str = "linear"

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        self._validate("steps", check.positive)
        self._validate("start", check.non_negative)
        check.choice("shape", self.shape, ("linear", "cosine", "exponential"))
        peak = self.schedule(0)
        if self.shape == "exponential" and (self.start <= 0 or peak <= 0):
            raise LrkitValueError(
                f"an exponential warmup needs start > 0 and schedule(0) > 0, got start={self.start!r}, "
                f"schedule(0)={peak!r}")
        object.__setattr__(self, "_peak", peak)

    def _f(self, t, xp):
        u = xp.minimum(t, self.steps) / self.steps
        if self.shape == "linear":
            ramp = self.start + (self._peak - self.start) * u
        elif self.shape == "cosine":
            ramp = self.start + (self._peak - self.start) * ((1 - xp.cos(math.pi * u)) * 0.5)
        else:
            ramp = self.start * (self._peak / self.start) ** u
        after = self.schedule._f(xp.maximum(t - self.steps, 0.0), xp)
        return xp.where(t < self.steps, ramp, after)


@register
class repeat(Schedule):
    """``schedule`` restarted every ``period`` updates: ``schedule(t mod period)``.

    >>> [repeat(linear(1.0, 0.0, steps=2), period=3)(t) for t in range(7)]
    [1.0, 0.5, 0.0, 1.0, 0.5, 0.0, 1.0]
    """
    schedule: Schedule
    period: float

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        self._validate("period", check.positive)

    def _f(self, t, xp):
        local = xp.maximum(t - self.period * xp.floor(t / self.period), 0.0)
        return self.schedule._f(local, xp)


class _Pointwise(Schedule):
    symbol = "?"

    def __post_init__(self):
        self._validate("left", check.schedule_or_real)
        self._validate("right", check.schedule_or_real)
        if not isinstance(self.left, Schedule) and not isinstance(self.right, Schedule):
            raise LrkitTypeError(f"{type(self).__name__} needs at least one schedule, got "
                                 f"{self.left!r} and {self.right!r}")

    def __repr__(self):
        return f"({self.left!r} {self.symbol} {self.right!r})"

    def _parts(self, t, xp):
        left = self.left._f(t, xp) if isinstance(self.left, Schedule) else self.left
        right = self.right._f(t, xp) if isinstance(self.right, Schedule) else self.right
        return left, right


@register
class mul(_Pointwise):
    """Pointwise product of two schedules, or of a schedule and a number: ``s * 0.5``, ``s1 * s2``.

    >>> (linear(1.0, 0.0, steps=2) * 0.5)(1)
    0.25
    """
    left: typing.Union[Schedule, float]
    right: typing.Union[Schedule, float]
    symbol = "*"

    def _f(self, t, xp):
        left, right = self._parts(t, xp)
        return left * right


@register
class add(_Pointwise):
    """Pointwise sum of two schedules, or of a schedule and a number: ``s + 1e-5``.

    >>> (linear(1.0, 0.0, steps=2) + 0.25)(2)
    0.25
    """
    left: typing.Union[Schedule, float]
    right: typing.Union[Schedule, float]
    symbol = "+"

    def _f(self, t, xp):
        left, right = self._parts(t, xp)
        return left + right


@register
class clip(Schedule):
    """``schedule`` held between ``floor`` and ``ceiling`` (either may be None).

    >>> [clip(linear(1.0, 0.0, steps=4), floor=0.3)(t) for t in range(5)]
    [1.0, 0.75, 0.5, 0.3, 0.3]
    """
    schedule: Schedule
    floor: typing.Optional[float] = None
    ceiling: typing.Optional[float] = None

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        if self.floor is None and self.ceiling is None:
            raise LrkitValueError("clip needs a floor or a ceiling, got neither")
        if self.floor is not None:
            self._validate("floor", check.real)
        if self.ceiling is not None:
            self._validate("ceiling", check.real)
        if self.floor is not None and self.ceiling is not None and self.floor > self.ceiling:
            raise LrkitValueError(f"floor must be <= ceiling, got floor={self.floor!r} > ceiling={self.ceiling!r}")

    def _f(self, t, xp):
        value = self.schedule._f(t, xp)
        if self.floor is not None:
            value = xp.maximum(value, self.floor)
        if self.ceiling is not None:
            value = xp.minimum(value, self.ceiling)
        return value
