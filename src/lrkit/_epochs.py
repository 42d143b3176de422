"""Clocks that hold a value: a schedule written per epoch, used per optimizer update (``per_epoch``), and a
schedule held on equal stairs (``stairs``). Their floors are exact, as Python's ``//``: a whole number of
epochs or stairs is never one too many where ``t / d`` rounds up to it (``3 / 0.1`` is ``30.0`` in floats,
``3 // 0.1`` is ``29.0``: the float 0.1 is a little above a tenth)."""
import math

from . import _checks as check
from ._base import Schedule, bounds_of, register
from ._errors import LrkitValueError
from ._namespace import MATH
from ._shapes import linear  # noqa: F401  (the doctests)

#: 2**27 + 1: Veltkamp's split of a float64 into two halves of 26 bits (Dekker's exact product).
_SPLIT = 134217729.0


def _halves(x):
    c = _SPLIT * x
    high = c - (c - x)
    return high, x - high


def _beyond(q, d, t):
    """A number with the sign of ``q * d - t`` in exact arithmetic (Dekker: ``q * d == p + e`` exactly)."""
    p = q * d
    q_high, q_low = _halves(q)
    d_high, d_low = _halves(d)
    e = ((q_high * d_high - p) + q_high * d_low + q_low * d_high) + q_low * d_low
    return (p - t) + e


def floor_divide(t, d, xp):
    """``floor(t / d)`` for ``t >= 0`` and a number ``d > 0``, exactly as Python's ``t // d``: the floor
    of the rounded quotient, less one where ``t / d`` rounded up to a whole number that ``q * d`` exceeds."""
    q = xp.floor(t / d)
    return xp.where(_beyond(q, d, t) > 0, q - 1.0, q)


def ceil_divide(t, d, xp):
    """``ceil(t / d)`` for ``t >= 0`` and a number ``d > 0``, exactly (``-(-t // d)``)."""
    q = xp.ceil(t / d)
    return xp.where(_beyond(q, d, t) < 0, q + 1.0, q)


def _whole(x):
    return float(x).is_integer()


def _first_at(n, d):
    """The first step ``t`` with ``t // d >= n``: ``n * d``, or the float just above where it rounded down."""
    t = float(n * d)
    while floor_divide(t, d, MATH) < n:
        t = math.nextafter(t, math.inf)
    return t


@register
class per_epoch(Schedule):
    """``schedule`` written per epoch, held for each epoch of ``updates`` optimizer updates:
    ``lr(t) = schedule(t // updates)`` (timm's ``t_in_epochs=True``: it steps at the end of each epoch,
    so every update of epoch e uses its value at e). The floor is exact for a fractional ``updates`` too
    (timm's ``StepLRScheduler`` with ``decay_t=0.1``: ``t // 0.1``).

    >>> [per_epoch(linear(1.0, 0.0, steps=2), updates=3)(t) for t in range(8)]
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.0, 0.0]
    >>> per_epoch(linear(0.0, 1.0, steps=100), updates=0.1)(3)
    0.29
    """
    schedule: Schedule
    updates: float

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        self._validate("updates", check.positive)

    def _f(self, t, xp):
        if _whole(self.updates):  # (whole: the float floor is exact below 2**53)
            return self.schedule._f(xp.floor(t / self.updates), xp)
        return self.schedule._f(floor_divide(t, self.updates, xp), xp)

    def _to_updates(self, epoch):
        """The first update whose epoch reaches ``epoch``: ``ceil(epoch) * updates``."""
        return _first_at(math.ceil(epoch), self.updates)

    def end_step(self):
        inner = self.schedule.end_step()
        return None if inner is None else self._to_updates(inner)

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else self.schedule.span() * self.updates

    def events(self, until, offset=0.0):
        inner = self.schedule.events(max(until - offset, 0.0) / self.updates + 1)
        return [self._event(offset + self._to_updates(e.step), e.kind, e.declared) for e in inner]

    def cycles(self, offset=0.0, stop=math.inf):  # the epoch clock holds each value: no exact cycle on updates
        return []

    def bounds(self):
        return bounds_of(self.schedule)


_HOLDS = ("start", "end")


@register
class stairs(Schedule):
    """``schedule`` held on stairs: ``count`` equal stairs every ``steps`` updates, each at the value the
    schedule has where the stair starts (``hold="start"``) or where it ends (``hold="end"``, a descent
    that reaches each value a stair early):

    ``lr(t) = schedule(steps * n / count)`` with ``n = t * count // steps`` (``hold="end"``: the ceiling),
    exact as Python's ``//``. DeepSpeed's ``OneCycle`` with ``cycle_first_stair_count`` /
    ``cycle_second_stair_count`` and ``LRRangeTest(lr_range_test_staircase=True)`` hold their lines so.

    >>> [stairs(linear(0.0, 1.0, steps=4), steps=4, count=2)(t) for t in range(6)]
    [0.0, 0.0, 0.5, 0.5, 1.0, 1.0]
    >>> [stairs(linear(1.0, 0.0, steps=4), steps=4, count=2, hold="end")(t) for t in range(6)]
    [1.0, 0.5, 0.5, 0.0, 0.0, 0.0]
    """
    schedule: Schedule
    steps: float
    count: int = 1
    hold: str = "start"

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        self._validate("steps", check.positive)
        if check.count("count", self.count) < 1:
            raise LrkitValueError(f"count must be an integer >= 1 (stairs every steps updates), got {self.count!r}")
        self._validate("count", check.count)
        check.choice("hold", self.hold, _HOLDS)

    def _stair(self, t, xp):
        x = t * self.count
        if _whole(self.steps):  # (whole: the float floor and ceiling of t * count / steps are exact below 2**53)
            return xp.floor(x / self.steps) if self.hold == "start" else xp.ceil(x / self.steps)
        return (floor_divide if self.hold == "start" else ceil_divide)(x, self.steps, xp)

    def _f(self, t, xp):
        return self.schedule._f(self.steps * self._stair(t, xp) / self.count, xp)

    def _reached(self, s):
        """The first step whose stair holds the schedule's value at its step ``s`` or a later one."""
        n = math.ceil(s * self.count / self.steps)
        while self.steps * n / self.count < s:
            n += 1
        t = float(self.steps * n / self.count)
        while self._stair(t, MATH) < n:
            t = math.nextafter(t, math.inf)
        return t

    def end_step(self):
        inner = self.schedule.end_step()
        return None if inner is None else self._reached(inner)

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else max(self.schedule.span(), float(self.steps))

    def events(self, until, offset=0.0):
        inner = self.schedule.events(max(until - offset, 0.0))
        return [self._event(offset + self._reached(e.step), e.kind, e.declared) for e in inner]

    def cycles(self, offset=0.0, stop=math.inf):  # the stairs hold each value: no exact cycle of the inner clock
        return []

    def bounds(self):
        return bounds_of(self.schedule)
