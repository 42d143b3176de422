"""Combinators: schedules made of schedules. Each part keeps its own formula; these only move the clock.
The arithmetic operators of every schedule (``s * 0.5``, ``s1 + s2``) build ``mul`` and ``add`` and are
attached to :class:`Schedule` here, beside the classes they build."""
import math
import numbers
import typing

import numpy as np

from . import _checks as check
from ._base import MAX_EVENTS, Cycle, Schedule, bounds_of, register
from ._errors import LrkitTypeError, LrkitValueError, excerpt
from ._namespace import NUMPY
from ._segments import MIN_PARTS, by_parts, linear_ramp, split, worth_it


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
                f"got {len(self.boundaries)}: {excerpt(list(self._written('boundaries')))}")

    def __repr__(self):
        parts = ", ".join(repr(s) for s in self.schedules)
        return f"sequence([{parts}], boundaries={list(self._written('boundaries'))!r})"

    def _f(self, t, xp):
        if xp is NUMPY and worth_it(t, len(self.schedules)):  # each part on its own steps only
            value = by_parts(t, self._edges(), self._part)
            if value is not None:
                return value
        value = self.schedules[0]._f(t, xp)
        for boundary, part in zip(self.boundaries, self.schedules[1:]):
            value = xp.where(t >= boundary, part._f(xp.maximum(t - boundary, 0.0), xp), value)
        return value

    def _edges(self):
        edges = getattr(self, "_edge_array", None)
        if edges is None:
            edges = np.asarray(self.boundaries, dtype=np.float64)
            object.__setattr__(self, "_edge_array", edges)
        return edges

    def _whole(self):
        return len(self.schedules) >= MIN_PARTS

    def _part(self, i, t):
        """Part ``i`` on its own steps ``t`` (numpy), as the ``where`` form computes it there."""
        if i == 0:
            return self.schedules[0]._f(t, NUMPY)
        return self.schedules[i]._f(np.maximum(t - self.boundaries[i - 1], 0.0), NUMPY)

    def end_step(self):
        last = self.schedules[-1].end_step()
        return None if last is None else float(self.boundaries[-1]) + last

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else self.boundaries[-1] + self.schedules[-1].span()

    def _timeline(self):
        """(part, its first step, the step where the next part takes over) for each part."""
        starts = (0.0,) + tuple(float(b) for b in self.boundaries)
        ends = tuple(float(b) for b in self.boundaries) + (math.inf,)
        return zip(self.schedules, starts, ends)

    def events(self, until, offset=0.0):
        found = [self._event(offset + float(b), "switch") for b in self.boundaries]
        for part, begin, end in self._timeline():
            inner = part.events(min(until, offset + end), offset + begin)
            found.extend(e for e in inner if e.step < offset + end)
        return found

    def cycles(self, offset=0.0, stop=math.inf):
        return [c for part, begin, end in self._timeline()
                for c in part.cycles(offset + begin, min(stop, offset + end))]

    def bounds(self):
        found = [bounds_of(part) for part in self.schedules]
        return (min(low for low, _ in found), max(high for _, high in found))


_WARMUP_SHAPES = ("linear", "cosine", "exponential", "1-sqrt", "log")


@register
class warmup(Schedule):
    """Warm up over ``steps`` from ``start`` to ``peak`` (default ``schedule(0)``), then ``schedule(t - steps)``.

    Shapes, with ``u = t / steps``: ``"linear"`` ``start + (peak - start) u``; ``"cosine"``
    ``start + (peak - start) (1 - cos(pi u)) / 2``; ``"exponential"`` ``start (peak / start) ** u`` (needs
    ``start > 0``); ``"1-sqrt"`` ``start + (peak - start) (1 - sqrt(1 - u))`` (HF WSD ``warmup_type="1-sqrt"``);
    ``"log"`` ``start + (peak - start) min(1, log(1 + t) / log(steps))`` (DeepSpeed WarmupLR's default
    ``warmup_type="log"``: at ``peak`` from ``t = steps - 1``; needs ``steps > 1``). Continuous at the join
    when ``peak`` is ``schedule(0)``; another ``peak`` (timm's warmup to the base LR over a decay that
    keeps its own clock: ``warmup(shift(decay, w), steps=w, peak=base)``) jumps there.

    >>> s = warmup(cosine(1.0, 0.0, steps=4), steps=2)
    >>> [round(s(t), 4) for t in range(7)]
    [0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0]
    """
    schedule: Schedule
    steps: float
    start: float = 0.0
    shape: str = "linear"
    peak: typing.Optional[float] = None

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        self._validate("steps", check.positive)
        self._validate("start", check.non_negative)
        check.choice("shape", self.shape, _WARMUP_SHAPES)
        if self.shape == "log" and not self.steps > 1:
            raise LrkitValueError(f"a log warmup needs steps > 1 (its ramp is log(1 + t) / log(steps)), "
                                  f"got steps={self._written('steps')!r}")
        if self.peak is not None:
            self._validate("peak", check.non_negative)
        peak = self.schedule(0) if self.peak is None else self.peak
        if self.shape == "exponential" and (self.start <= 0 or peak <= 0):
            raise LrkitValueError(
                f"an exponential warmup needs start > 0 and schedule(0) > 0, got start={self._written('start')!r}, "
                f"schedule(0)={peak!r}")
        object.__setattr__(self, "_peak", peak)

    def _f(self, t, xp):
        if xp is NUMPY and type(t) is np.ndarray and t.ndim == 1:  # each side on its own steps only
            value = split(t, t < self.steps, self._warming, self._warmed,
                          self._warming_into if self.shape == "linear" else None)
            if value is not None:
                return value
        ramp = self._ramp(t, xp.minimum(t, self.steps) / self.steps, xp)
        after = self.schedule._f(xp.maximum(t - self.steps, 0.0), xp)
        return xp.where(t < self.steps, ramp, after)

    def _warming(self, t):  # numpy steps t < self.steps, where min(t, steps) is t
        if self.shape == "linear":  # (one buffer)
            return linear_ramp(t, self.start, self._peak, self.steps)
        return self._ramp(t, t / self.steps, NUMPY)

    def _warming_into(self, t, out):  # the linear ramp straight into the curve's slice ``out``
        linear_ramp(t, self.start, self._peak, self.steps, out)

    def _warmed(self, t):  # numpy steps t >= self.steps (or NaN), where max(t - steps, 0.0) is t - steps
        return self.schedule._f(t - self.steps, NUMPY)

    def _ramp(self, t, u, xp):
        """The warmup's value at steps ``t < self.steps``, ``u = t / steps``."""
        if self.shape == "linear":
            ramp = self.start + (self._peak - self.start) * u
        elif self.shape == "cosine":
            ramp = self.start + (self._peak - self.start) * ((1 - xp.cos(math.pi * u)) * 0.5)
        elif self.shape == "1-sqrt":
            ramp = self.start + (self._peak - self.start) * (1 - xp.sqrt(xp.maximum(1 - u, 0.0)))
        elif self.shape == "log":
            # DeepSpeed's gamma: log(t + 1) times the constant 1 / log(steps), held at 1 from t = steps - 1
            ramp = self.start + (self._peak - self.start) * xp.minimum((1.0 / math.log(self.steps)) * xp.log(t + 1.0), 1.0)
        elif self._peak / self.start < math.inf:
            ramp = self.start * (self._peak / self.start) ** u
        else:  # peak / start overflows: the same geometric ramp in the log domain
            ramp = xp.exp(math.log(self.start) + u * (math.log(self._peak) - math.log(self.start)))
        return ramp

    def end_step(self):
        inner = self.schedule.end_step()
        return None if inner is None else float(self.steps) + inner

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else self.steps + self.schedule.span()

    def events(self, until, offset=0.0):
        return [self._event(offset + float(self.steps), "warmup end")] + self.schedule.events(
            until, offset + float(self.steps))

    def cycles(self, offset=0.0, stop=math.inf):
        return self.schedule.cycles(offset + float(self.steps), stop)

    def bounds(self):  # the ramp stays between start and peak (schedule(0) unless given)
        low, high = bounds_of(self.schedule)
        return (min(low, self.start, self._peak), max(high, self.start, self._peak))


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

    def end_step(self):
        return 0.0 if self.schedule.end_step() == 0 else None

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else 3 * self.period

    def events(self, until, offset=0.0):
        """A restart at each period, and the inner schedule's own points repeated in each period."""
        found = self._periodic_events(self.period, until, offset, "restart")
        period = float(self.period)
        local = sorted({e.step for e in self.schedule.events(period) if 0 < e.step < self.period})
        k = 0
        while local and offset + k * self.period < until and k < MAX_EVENTS:
            found.extend(self._event(offset + k * self.period + step, "phase", declared=False) for step in local)
            k += 1
        return found

    def cycles(self, offset=0.0, stop=math.inf):
        period = float(self.period)
        return [Cycle(self, offset, stop, lambda k: k * period)]

    def bounds(self):
        return bounds_of(self.schedule)


class _Pointwise(Schedule):
    symbol = "?"

    def __post_init__(self):
        self._validate("left", check.schedule_or_real)
        self._validate("right", check.schedule_or_real)
        if not isinstance(self.left, Schedule) and not isinstance(self.right, Schedule):
            raise LrkitTypeError(f"{type(self).__name__} needs at least one schedule, got "
                                 f"{self.left!r} and {self.right!r}")

    def __repr__(self):
        return f"({self._written('left')!r} {self.symbol} {self._written('right')!r})"

    def _parts(self, t, xp):
        left = self.left._f(t, xp) if isinstance(self.left, Schedule) else self.left
        right = self.right._f(t, xp) if isinstance(self.right, Schedule) else self.right
        return left, right

    def _schedules(self):
        return [part for part in (self.left, self.right) if isinstance(part, Schedule)]

    def end_step(self):
        ends = [part.end_step() if isinstance(part, Schedule) else 0.0 for part in (self.left, self.right)]
        return None if None in ends else max(ends)

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else max(
            part.span() if isinstance(part, Schedule) else 1 for part in (self.left, self.right))

    def events(self, until, offset=0.0):
        return [e for part in self._schedules() for e in part.events(until, offset)]

    def cycles(self, offset=0.0, stop=math.inf):
        return [c for part in self._schedules() for c in part.cycles(offset, stop)]

    def _part_bounds(self):
        return [bounds_of(p) if isinstance(p, Schedule) else (p, p) for p in (self.left, self.right)]


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
        product = left * right
        if self._zero_times_inf():  # 0 * inf: the true product is 0 (inf stands for a huge finite value)
            product = xp.where(product == product, product, 0.0)
        return product

    def _zero_times_inf(self):
        """Whether one side can be 0 while the other overflows to inf (their bounds say so)."""
        (a, b), (c, d) = self._part_bounds()
        return (a == 0 and d == math.inf) or (c == 0 and b == math.inf)

    def bounds(self):
        (a, b), (c, d) = self._part_bounds()
        products = [_times_bound(x, y) for x in (a, b) for y in (c, d)]
        return (min(products), max(products))


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

    def bounds(self):
        (a, b), (c, d) = self._part_bounds()
        return (a + c, b + d)


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
            raise LrkitValueError(f"floor must be <= ceiling, got floor={self._written('floor')!r} > ceiling={self._written('ceiling')!r}")

    def _f(self, t, xp):
        value = self.schedule._f(t, xp)
        if self.floor is not None:
            value = xp.maximum(value, self.floor)
        if self.ceiling is not None:
            value = xp.minimum(value, self.ceiling)
        return value

    def end_step(self):
        return self.schedule.end_step()

    def span(self):
        return self.schedule.span()

    def events(self, until, offset=0.0):
        return self.schedule.events(until, offset)

    def cycles(self, offset=0.0, stop=math.inf):
        return self.schedule.cycles(offset, stop)

    def bounds(self):
        return tuple(self._clamp(x) for x in bounds_of(self.schedule))

    def _clamp(self, x):
        if self.floor is not None:
            x = max(x, self.floor)
        return x if self.ceiling is None else min(x, self.ceiling)


def _times_bound(x, y):
    """``x * y`` for ends of bounds: 0 when either is 0 (an infinite end is a limit, never a value)."""
    return 0.0 if x == 0 or y == 0 else x * y


# ---- the arithmetic operators of every schedule -----------------------------------------------------
def _times(self, other):
    return mul(self, other) if isinstance(other, (Schedule, numbers.Real)) else NotImplemented


def _times_from_left(self, other):
    return mul(other, self) if isinstance(other, numbers.Real) else NotImplemented


def _plus(self, other):
    return add(self, other) if isinstance(other, (Schedule, numbers.Real)) else NotImplemented


def _plus_from_left(self, other):
    return add(other, self) if isinstance(other, numbers.Real) else NotImplemented


Schedule.__mul__, Schedule.__rmul__ = _times, _times_from_left
Schedule.__add__, Schedule.__radd__ = _plus, _plus_from_left
