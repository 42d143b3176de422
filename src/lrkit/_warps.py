"""Combinators that move a schedule's clock: a shift, the k-decay time warp, and restarts whose cycles
stretch, decay towards a floor and stop after a limit. The inner schedule keeps its own formula."""
import math
import typing

from . import _checks as check
from ._base import MAX_EVENTS, Cycle, Schedule, bounds_of, register
from ._combinators import _times_bound
from ._errors import LrkitValueError
from ._powers import _power, _python_power
from ._shapes import cosine_restarts


@register
class shift(Schedule):
    """``schedule`` started ``steps`` updates into its curve: ``lr(t) = schedule(t + steps)``.

    HF's ``cosine_warmup_with_min_lr`` without warmup is its cosine one step in; timm's warmup without
    ``warmup_prefix`` overlaps the decay's clock: ``warmup(shift(decay, w), steps=w, peak=base)``.

    >>> [shift(linear(1.0, 0.0, steps=4), steps=1)(t) for t in range(5)]
    [0.75, 0.5, 0.25, 0.0, 0.0]
    """
    schedule: Schedule
    steps: float

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        self._validate("steps", check.non_negative)

    def _f(self, t, xp):
        return self.schedule._f(t + self.steps, xp)

    def end_step(self):
        inner = self.schedule.end_step()
        return None if inner is None else max(inner - float(self.steps), 0.0)

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else max(self.schedule.span() - self.steps, 1.0)

    def events(self, until, offset=0.0):
        begin = offset - float(self.steps)
        return [e for e in self.schedule.events(until, begin) if e.step > offset]

    def cycles(self, offset=0.0, stop=math.inf):  # a cycle of the inner clock that began before step 0 is left out
        return [c for c in self.schedule.cycles(offset - float(self.steps), stop) if c.offset >= 0]

    def bounds(self):
        return bounds_of(self.schedule)


@register
class k_decay(Schedule):
    """The k-decay time warp (Zhang et al. 2020, "k-decay: A New Method For Learning Rate Schedule";
    timm's ``k_decay``): ``schedule`` sees ``steps * (t / steps) ** k`` up to ``steps``, then ``t``.

    ``lr(t) = schedule(steps * (min(t, steps) / steps) ** k)`` for ``t < steps``, ``schedule(t)`` after;
    ``k > 1`` keeps the LR high longer, ``k < 1`` drops it sooner. timm's cosine with ``k_decay=k`` is
    ``k_decay(cosine(base, lr_min, steps=T), k=k, steps=T)`` (per cycle: inside ``restarts``).

    >>> [round(k_decay(linear(1.0, 0.0, steps=4), k=2.0, steps=4)(t), 4) for t in range(6)]
    [1.0, 0.9375, 0.75, 0.4375, 0.0, 0.0]
    """
    schedule: Schedule
    k: float
    steps: float

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        self._validate("k", check.positive)
        self._validate("steps", check.positive)

    def _f(self, t, xp):
        warped = self.steps * (xp.minimum(t, self.steps) / self.steps) ** self.k
        return self.schedule._f(xp.where(t >= self.steps, t, warped), xp)

    def _unwarp(self, x):
        """The step ``t`` at which the warped clock reads ``x``."""
        return self.steps * (x / self.steps) ** (1.0 / self.k) if x < self.steps else x

    def _warp(self, t):
        return self.steps * (t / self.steps) ** self.k if t < self.steps else t

    def end_step(self):
        inner = self.schedule.end_step()
        return None if inner is None else float(self._unwarp(inner))

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else max(self.schedule.span(), self.steps)

    def events(self, until, offset=0.0):
        horizon = self._warp(max(until - offset, 0.0))
        return [self._event(offset + self._unwarp(e.step), e.kind, e.declared)
                for e in self.schedule.events(horizon)]

    def cycles(self, offset=0.0, stop=math.inf):  # the warp bends the inner clock: its cycles no longer repeat
        return []

    def bounds(self):
        return bounds_of(self.schedule)


@register
class restarts(Schedule):
    """Warm restarts of any cycle shape (timm's ``cycle_mul``, ``cycle_decay``, ``cycle_limit``; SGDR,
    Loshchilov & Hutter 2017). Cycle ``n`` starts at ``S_n = period * (period_mult**n - 1) / (period_mult - 1)``
    (``period * n`` when ``period_mult == 1``) and lasts ``T_n = period * period_mult**n``; it runs
    ``schedule`` (written over ``period`` steps) stretched to ``T_n``, its peak decayed towards ``end``:

    ``lr(t) = end + (peak * decay**n - end) * schedule((t - S_n) * period / T_n)``, and ``end`` from the
    start of cycle ``limit`` on (``limit=None``: no limit). With a unit shape (from 1 to 0) this is timm's
    cycle, ``lr_min + (base * cycle_decay**n - lr_min) * shape``: ``restarts(cosine(1.0, 0.0, steps=T),
    period=T, peak=base, end=lr_min, decay=cycle_decay, period_mult=cycle_mul, limit=cycle_limit)``.
    With the defaults (``peak=1``, ``end=0``) cycle ``n`` is ``decay**n * schedule``.

    >>> s = restarts(cosine(1.0, 0.0, steps=4), period=4, peak=1.0, end=0.2, decay=0.5, limit=2)
    >>> [round(s(t), 3) for t in (0, 2, 4, 6, 8, 100)]
    [1.0, 0.6, 0.5, 0.35, 0.2, 0.2]
    """
    schedule: Schedule
    period: float
    period_mult: float = 1.0
    peak: float = 1.0
    end: float = 0.0
    decay: float = 1.0
    limit: typing.Optional[int] = None

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        self._validate("period", check.positive)
        self._validate("period_mult", check.at_least, 1)
        self._validate("peak", check.non_negative)
        self._validate("end", check.non_negative)
        self._validate("decay", check.non_negative)
        if self.limit is not None:
            object.__setattr__(self, "limit", check.count("limit", self.limit))
            if self.limit < 1:
                raise LrkitValueError(f"limit must be >= 1 (cycles) or None, got {self.limit!r}")
        elif self.decay > 1:
            raise LrkitValueError(f"decay > 1 grows every cycle without bound: it needs a limit, got "
                                  f"decay={self._written('decay')!r}, limit=None")
        if self.limit is not None and self.decay > 1:
            growth = _python_power(self.decay, self.limit - 1)
            if growth == math.inf or self.peak * growth == math.inf:
                raise LrkitValueError(
                    f"peak * decay ** (limit - 1), the peak of the last cycle, is beyond float range, got "
                    f"peak={self._written('peak')!r}, decay={self._written('decay')!r}, limit={self.limit!r}")
        object.__setattr__(self, "_clock", cosine_restarts(1.0, 0.0, period=self.period, period_mult=self.period_mult))

    def cycle_start(self, n):
        """The step where cycle ``n`` (from 0) starts: ``S_n`` above."""
        return self._clock.cycle_start(n)

    def _f(self, t, xp):
        n, start, length = self._clock._cycle(t, xp)
        elapsed = xp.minimum(xp.maximum(t - start, 0.0), length)
        local = elapsed if self.period_mult == 1 else elapsed * (self.period / length)
        shape = self.schedule._f(local, xp)
        if self.decay == 1:
            value = self.end + (self.peak - self.end) * shape
        else:
            value = self.end + (self.peak * _power(self.decay, xp.minimum(n, 1e38), xp) - self.end) * shape
        if self.limit is not None:
            value = xp.where(n >= self.limit, self.end, value)
        return value

    def end_step(self):
        return None if self.limit is None else float(self.cycle_start(self.limit))

    def span(self):
        end = self.end_step()
        if end is not None:
            return end + 1
        return 4 * self.period if self.period_mult == 1 else self.cycle_start(3)

    def events(self, until, offset=0.0):
        last = MAX_EVENTS if self.limit is None else self.limit - 1
        found = []
        k = 1
        while k <= last and offset + self.cycle_start(k) < until:
            found.append(self._event(offset + self.cycle_start(k), "restart", declared=False))
            k += 1
        if self.limit is not None:
            found.append(self._event(offset + float(self.cycle_start(self.limit)), "end"))
        return found

    def cycles(self, offset=0.0, stop=math.inf):
        if self.limit is not None:
            stop = min(stop, offset + self.cycle_start(self.limit))
        return [Cycle(self, offset, stop, self.cycle_start)]

    def bounds(self):
        low, high = bounds_of(self.schedule)
        top = self.peak - self.end  # the coefficient of cycle 0; decay moves it towards -end
        if self.decay == 1:
            coefficients = [top]
        elif self.limit is not None:
            coefficients = [top, self.peak * self.decay ** (self.limit - 1) - self.end]
        else:  # decay < 1: down to -end as the cycles go on
            coefficients = [top, -self.end]
        values = [self.end + _times_bound(c, s) for c in coefficients for s in (low, high)]
        if self.limit is not None:
            values.append(self.end)
        return (min(values), max(values))
