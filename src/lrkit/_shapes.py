"""The shapes: one frozen dataclass per curve, one formula each, validated at construction; each also
says where it ends, what its events are and how long a run shows it (see ``Schedule``)."""
import bisect
import inspect
import math
import typing

import numpy as np

from . import _checks as check
from ._base import MAX_EVENTS, Cycle, Schedule, register
from ._errors import LrkitTypeError, LrkitValueError, excerpt
from ._functions import resolve
from ._namespace import MATH, NUMPY
from ._powers import _BIG, _between, _periods_elapsed, _power, _scaled_power
from ._segments import _FLOAT64, arrays as _arrays, cosine_curve as _cosine_curve


class _Aperiodic(Schedule):
    """A shape without cycles and, unless it says otherwise, without events. It shows in ``end_step() + 1``
    steps when it settles, else in ``_unsettled_span()``."""

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else self._unsettled_span()

    def events(self, until, offset=0.0):
        return []

    def cycles(self, offset=0.0, stop=math.inf):
        return []


class _OverSteps(_Aperiodic):
    """A curve over ``steps`` updates that holds its last value from ``steps`` on."""

    def end_step(self):
        return float(self.steps)

    def events(self, until, offset=0.0):
        return [self._event(offset + float(self.steps), "end")]


def _user_function(name, value):
    """A callable, or the name of an allowed one (configs and specs: see lrkit.allow_function)."""
    if isinstance(value, str):
        return resolve(value, name)
    if not callable(value):
        raise LrkitTypeError(f"{name} must be a callable or the name of an allowed function, got {excerpt(value)}")
    return value


def _positional_count(fn):
    """How many positional parameters ``fn`` requires (None when it cannot be told)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds and p.default is inspect.Parameter.empty for p in parameters)


@register
class constant(_Aperiodic):
    """The same value at every step: ``value``.

    >>> constant(0.1)(12345)
    0.1
    """
    value: float

    def __post_init__(self):
        self._validate("value", check.non_negative)

    def _f(self, t, xp):
        return t * 0.0 + self.value

    def end_step(self):
        return 0.0

    def bounds(self):
        return (self.value, self.value)


@register
class linear(_OverSteps):
    """Straight line from ``start`` to ``end`` over ``steps`` updates, then ``end``.

    ``lr(t) = start + (end - start) * min(t, steps) / steps``

    >>> [round(linear(0.0, 1.0, steps=4)(t), 3) for t in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    start: float
    end: float
    steps: float

    def __post_init__(self):
        self._validate("start", check.non_negative)
        self._validate("end", check.non_negative)
        self._validate("steps", check.positive)

    def _f(self, t, xp):  # exactly `end` from `steps` on (start + (end - start) * 1 may round off it)
        if abs(self.end - self.start) * self.steps < _BIG:
            line = self.start + (self.end - self.start) * xp.minimum(t, self.steps) / self.steps
        else:  # (end - start) * t would overflow: divide first
            line = self.start + (self.end - self.start) * (xp.minimum(t, self.steps) / self.steps)
        return xp.where(t >= self.steps, self.end, line)

    def bounds(self):
        return _between(self.start, self.end)


@register
class polynomial(Schedule):
    """Polynomial decay from ``start`` to ``end`` over ``steps`` (TF ``polynomial_decay``, torch PolynomialLR).

    ``lr(t) = (start - end) * (1 - min(t, steps) / steps) ** power + end``; with ``cycle=True`` the
    horizon restarts at every multiple of ``steps``: ``steps * ceil(t / steps)`` (1 at ``t = 0``).

    >>> [round(polynomial(1.0, 0.0, steps=4, power=2.0)(t), 4) for t in range(6)]
    [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """
    start: float
    end: float
    steps: float
    power: float = 1.0
    cycle: bool = False

    def __post_init__(self):
        self._validate("start", check.non_negative)
        self._validate("end", check.non_negative)
        self._validate("steps", check.positive)
        self._validate("power", check.positive)
        check.flag("cycle", self.cycle)

    def _f(self, t, xp):
        if self.cycle:
            # at least one cycle: 1 at t = 0 (TF), and where t / steps underflows to 0 (t = 5e-324: no division by 0)
            horizon = self.steps * xp.maximum(xp.ceil(t / self.steps), 1.0)
            p = t / horizon
        else:
            p = xp.minimum(t, self.steps) / self.steps
        # the clamp keeps 1 - p >= 0 where a compiler rounds t / steps above 1 (NaN for a real power)
        return (self.start - self.end) * xp.maximum(1 - p, 0.0) ** self.power + self.end

    def end_step(self):
        return None if self.cycle else float(self.steps)

    def bounds(self):  # (1 - p) ** power is in [0, 1]
        return _between(self.start, self.end)

    def span(self):
        return 3 * self.steps if self.cycle else self.end_step() + 1

    def events(self, until, offset=0.0):
        if not self.cycle:
            return [self._event(offset + float(self.steps), "end")]
        # TF's cycle: the horizon grows at t > k * steps, so t = k * steps still ends the cycle before
        found = []
        k = 1
        while offset + math.floor(k * self.steps) + 1 < until and k <= MAX_EVENTS:
            found.append(self._event(offset + math.floor(k * self.steps) + 1, "restart", declared=False))
            k += 1
        return found

    def cycles(self, offset=0.0, stop=math.inf):
        steps = self.steps
        return [Cycle(self, offset, stop, lambda k: k * steps + (1 if k else 0))] if self.cycle else []


class _DecayEvery(_Aperiodic):
    """TF's decays of ``start`` by a number (``gamma`` or ``rate``, >= 0) every ``steps`` updates,
    continuous or ``staircase``: one validation and one description for the three of them. The factor
    ``_steady`` (a rate of 0, a gamma of 1) does not decay."""
    _factor = "rate"
    _steady = 0

    def __post_init__(self):
        self._validate("start", check.non_negative)
        self._validate(self._factor, check.non_negative)
        self._validate("steps", check.positive)
        check.flag("staircase", self.staircase)

    def end_step(self):
        return 0.0 if getattr(self, self._factor) == self._steady or self.start == 0 else None

    def events(self, until, offset=0.0):
        return self._periodic_events(self.steps, until, offset, "decay step") if self.staircase else []


@register
class exponential(_DecayEvery):
    """Exponential decay, TF ``exponential_decay`` semantics; torch ExponentialLR is ``steps=1``.

    ``lr(t) = start * gamma ** (t / steps)``, the exponent floored when ``staircase``.

    >>> [round(exponential(0.1, 0.96, steps=1)(t), 6) for t in (0, 1, 11)]
    [0.1, 0.096, 0.063824]
    >>> [exponential(1.0, 0.5, steps=2, staircase=True)(t) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    start: float
    gamma: float
    steps: float = 1
    staircase: bool = False
    _factor = "gamma"
    _steady = 1

    def bounds(self):
        if self.start == 0 or self.gamma == 1:
            return (self.start, self.start)
        return (0.0, self.start) if self.gamma < 1 else (self.start, math.inf)

    def _f(self, t, xp):
        return _scaled_power(self.start, self.gamma, _periods_elapsed(t, self.steps, self.staircase, xp), xp)

    def _unsettled_span(self):
        if self.gamma == 0:
            return 2 * self.steps
        if self.gamma > 1:
            return 10 * self.steps
        if self.staircase:
            return self.steps * max(5, math.ceil(math.log(0.01) / math.log(self.gamma)) + 1)
        return self.steps * math.log(0.01) / math.log(self.gamma)  # down to 1% of start


@register
class inverse_time(_DecayEvery):
    """Inverse-time decay (TF ``inverse_time_decay``).

    ``lr(t) = start / (1 + rate * t / steps)``, ``t / steps`` floored when ``staircase``.

    >>> [round(inverse_time(0.1, 0.5, steps=1)(t), 4) for t in range(4)]
    [0.1, 0.0667, 0.05, 0.04]
    """
    start: float
    rate: float
    steps: float = 1
    staircase: bool = False

    def bounds(self):
        return (self.start, self.start) if self.rate == 0 else (0.0, self.start)

    def _f(self, t, xp):
        return self.start / (1 + self.rate * _periods_elapsed(t, self.steps, self.staircase, xp))

    def _unsettled_span(self):
        return self.steps * 99 / self.rate if self.rate else 100  # down to 1% of start


@register
class natural_exp(_DecayEvery):
    """Natural-exponential decay (TF ``natural_exp_decay``).

    ``lr(t) = start * exp(-rate * t / steps)``, ``t / steps`` floored when ``staircase``.

    >>> [round(natural_exp(0.1, 0.5, steps=1)(t), 4) for t in range(4)]
    [0.1, 0.0607, 0.0368, 0.0223]
    """
    start: float
    rate: float
    steps: float = 1
    staircase: bool = False

    def bounds(self):
        return (self.start, self.start) if self.rate == 0 else (0.0, self.start)

    def _f(self, t, xp):
        return self.start * xp.exp(-self.rate * _periods_elapsed(t, self.steps, self.staircase, xp))

    def _unsettled_span(self):
        return self.steps * math.log(100) / self.rate if self.rate else 100  # down to 1% of start


@register
class inverse_sqrt(_Aperiodic):
    """Inverse square-root decay (Vaswani et al. 2017 "Attention is all you need"; HF ``inverse_sqrt``).

    ``lr(t) = start / sqrt((t + steps) / steps)``: ``start`` at ``t = 0``, halved at ``t = 3 * steps``.
    After a warmup of ``w`` updates, ``warmup(inverse_sqrt(peak, steps=w), steps=w)`` is the Noam
    schedule ``peak * sqrt(w / t)`` and HF's ``get_inverse_sqrt_schedule`` (timescale ``steps``).

    >>> [round(inverse_sqrt(1.0, steps=100)(t), 4) for t in (0, 100, 300)]
    [1.0, 0.7071, 0.5]
    """
    start: float
    steps: float

    def __post_init__(self):
        self._validate("start", check.non_negative)
        self._validate("steps", check.positive)

    def _f(self, t, xp):
        return self.start / xp.sqrt((t + self.steps) / self.steps)

    def end_step(self):
        return 0.0 if self.start == 0 else None

    def bounds(self):
        return (0.0, self.start)

    def _unsettled_span(self):
        return 99 * self.steps  # down to 10% of start


@register
class cosine(_OverSteps):
    """Cosine annealing from ``start`` to ``end`` over ``steps``, then ``end`` (Loshchilov & Hutter 2017).

    ``lr(t) = end + (start - end) * ((1 + cos(pi * min(t, steps) / steps)) / 2) ** exponent``.
    ``end > start`` gives the rising half-cosine used by one-cycle's warmup.

    >>> [round(cosine(1.0, 0.0, steps=4)(t), 4) for t in range(6)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
    """
    start: float
    end: float
    steps: float
    exponent: float = 1.0

    def __post_init__(self):
        self._validate("start", check.non_negative)
        self._validate("end", check.non_negative)
        self._validate("steps", check.positive)
        self._validate("exponent", check.positive)

    def _f(self, t, xp):
        if xp is NUMPY and type(t) is np.ndarray and t.ndim and t.dtype is _FLOAT64:  # (one buffer)
            return _cosine_curve(t, self.start, self.end, self.steps, self.exponent, not self.steps < _BIG)
        if self.steps < _BIG:
            wave = (1 + xp.cos(math.pi * xp.minimum(t, self.steps) / self.steps)) * 0.5
        else:  # pi * t would overflow: divide first
            wave = (1 + xp.cos(math.pi * (xp.minimum(t, self.steps) / self.steps))) * 0.5
        if self.exponent != 1:
            wave = wave ** self.exponent
        return self.end + (self.start - self.end) * wave

    def bounds(self):
        return _between(self.start, self.end)


@register
class one_minus_sqrt(_OverSteps):
    """The "1-sqrt" cooldown of warmup-stable-decay (Hägele et al. 2024, "Scaling Laws and
    Compute-Optimal Training Beyond Fixed Training Durations").

    ``lr(t) = end + (start - end) * (1 - sqrt(min(t, steps) / steps))``

    >>> [round(one_minus_sqrt(1.0, 0.0, steps=4)(t), 4) for t in range(6)]
    [1.0, 0.5, 0.2929, 0.134, 0.0, 0.0]
    """
    start: float
    end: float
    steps: float

    def __post_init__(self):
        self._validate("start", check.non_negative)
        self._validate("end", check.non_negative)
        self._validate("steps", check.positive)
        if self.end > self.start:
            raise LrkitValueError(f"end must be <= start for a decay, got end={self._written('end')!r} > start={self._written('start')!r}")

    def _f(self, t, xp):
        return self.end + (self.start - self.end) * (1 - xp.sqrt(xp.minimum(t, self.steps) / self.steps))

    def bounds(self):
        return (self.end, self.start)


_MAX_PERIODS = float.fromhex("0x1.fffffffffffffp+1023") / (2.0 * math.pi)


@register
class linear_cosine(_OverSteps):
    """Linear-cosine decay (Bello et al. 2017, "Neural Optimizer Search with RL"; TF ``linear_cosine_decay``).

    With ``u = min(t, steps) / steps``:
    ``lr(t) = start * ((alpha + 1 - u) * (1 + cos(2 pi periods u)) / 2 + beta)``.

    >>> [round(linear_cosine(1.0, steps=4)(t), 4) for t in (0, 2, 4)]
    [1.001, 0.251, 0.001]
    """
    start: float
    steps: float
    periods: float = 0.5
    alpha: float = 0.0
    beta: float = 0.001

    def __post_init__(self):
        self._validate("start", check.non_negative)
        self._validate("steps", check.positive)
        self._validate("periods", check.non_negative)
        if not math.isfinite(math.pi * (2.0 * self.periods)):
            raise LrkitValueError(f"periods must be < {_MAX_PERIODS:.3g} (its angle 2 pi periods must be finite), "
                                  f"got {self.periods!r}")
        self._validate("alpha", check.non_negative)
        self._validate("beta", check.non_negative)

    def _f(self, t, xp):
        clamped = xp.minimum(t, self.steps)
        linear_part = (self.steps - clamped) / self.steps
        wave = 0.5 * (1.0 + xp.cos(math.pi * (2.0 * self.periods * (clamped / self.steps))))
        return self.start * ((self.alpha + linear_part) * wave + self.beta)

    def bounds(self):  # linear_part and wave are in [0, 1]
        return (self.start * self.beta, self.start * (self.alpha + 1.0 + self.beta))


@register
class piecewise_constant(_Aperiodic):
    """Constant pieces: ``values[i]`` between ``boundaries[i-1]`` and ``boundaries[i]``.

    ``switch="at"`` (default; torch, optax): the value changes at ``t >= boundary``.
    ``switch="after"`` (Keras ``PiecewiseConstantDecay``, TF ``piecewise_constant``): at ``t > boundary``.

    >>> s = piecewise_constant([2, 4], [1.0, 0.5, 0.25])
    >>> [s(t) for t in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    >>> [piecewise_constant([2], [1.0, 0.5], switch="after")(t) for t in range(4)]
    [1.0, 1.0, 1.0, 0.5]
    """
    boundaries: typing.Tuple[float, ...]
    values: typing.Tuple[float, ...]
    switch: str = "at"

    def __post_init__(self):
        self._validate("boundaries", check.increasing, check.non_negative)
        self._validate("values", check.non_negative_list)
        check.choice("switch", self.switch, ("at", "after"))
        if len(self.values) != len(self.boundaries) + 1:
            raise LrkitValueError(
                f"values must have one more entry than boundaries ({len(self.boundaries)}), "
                f"got {len(self.values)}: {excerpt(list(self._written('values')))}")

    def _f(self, t, xp):
        if len(self.boundaries) > 8 and xp.name in ("math", "numpy", "trace"):
            return xp.apply(self._lookup, t)  # a binary search, not one where() per boundary
        value = t * 0.0 + self.values[0]
        after = self.switch == "after"
        for boundary, v in zip(self.boundaries, self.values[1:]):
            value = xp.where(t > boundary if after else t >= boundary, v, value)
        return value

    def _lookup(self, t):
        """``values[#{b <= t}]`` (``#{b < t}`` for ``switch="after"``), on a number or a numpy array."""
        if isinstance(t, np.ndarray):  # (the arrays built once: long curves are searched in one pass)
            boundaries, values = getattr(self, "_arrays", None) or _arrays(self, self.boundaries, self.values)
            return values[np.searchsorted(boundaries, t, side="left" if self.switch == "after" else "right")]
        search = bisect.bisect_left if self.switch == "after" else bisect.bisect_right
        return self.values[search(self.boundaries, t)]

    def _whole(self):
        return len(self.boundaries) > 8

    def _switch_step(self, boundary):
        """The first step that sees the new value: ``boundary`` ("at"), the next whole step ("after")."""
        return float(boundary) if self.switch == "at" else float(math.floor(boundary) + 1)

    def end_step(self):
        return self._switch_step(self.boundaries[-1]) if self.boundaries else 0.0

    def events(self, until, offset=0.0):
        return [self._event(offset + self._switch_step(b), "milestone") for b in self.boundaries]

    def bounds(self):
        return (min(self.values), max(self.values))


@register
class piecewise_linear(_Aperiodic):
    """Straight lines through ``points`` ``[(step, value), ...]``; the first value before the first
    point, the last after the last (ignite ``PiecewiseLinear``, fastai-style).

    >>> s = piecewise_linear([(0, 0.0), (2, 1.0), (6, 0.0)])
    >>> [s(t) for t in range(8)]
    [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    points: typing.Tuple[typing.Tuple[float, float], ...]

    def __post_init__(self):
        points = self.points
        if isinstance(points, (str, bytes)) or not hasattr(points, "__iter__"):
            raise LrkitTypeError(f"points must be a list of (step, value) pairs, got {excerpt(points)}")
        pairs = []
        for i, p in enumerate(points):
            if isinstance(p, (str, bytes)) or not hasattr(p, "__len__") or len(p) != 2:
                raise LrkitTypeError(f"points[{i}] must be a (step, value) pair, got {excerpt(p)}")
            pairs.append((check.non_negative(f"points[{i}] step", p[0]), check.non_negative(f"points[{i}] value", p[1])))
        if not pairs:
            raise LrkitValueError("points must hold at least one (step, value) pair, got []")
        check.increasing("points steps", [p[0] for p in pairs])
        self._keep_floats("points", tuple(pairs))

    def _f(self, t, xp):
        value = t * 0.0 + self.points[0][1]
        for (s0, v0), (s1, v1) in zip(self.points, self.points[1:]):
            if abs(v1 - v0) * (s1 - s0) < _BIG:
                line = v0 + (v1 - v0) * (xp.clip(t, s0, s1) - s0) / (s1 - s0)
            else:  # (v1 - v0) * (t - s0) would overflow: divide first
                line = v0 + (v1 - v0) * ((xp.clip(t, s0, s1) - s0) / (s1 - s0))
            segment = xp.where(t >= s1, v1, line)
            value = xp.where(t >= s0, segment, value)
        return value

    def end_step(self):
        return float(self.points[-1][0])

    def events(self, until, offset=0.0):
        return [self._event(offset + float(step), "point") for step, _ in self.points]

    def bounds(self):
        values = [v for _, v in self.points]
        return (min(values), max(values))


@register
class cosine_restarts(Schedule):
    """Cosine annealing with warm restarts, SGDR (Loshchilov & Hutter 2017): torch
    CosineAnnealingWarmRestarts (``period=T_0, period_mult=T_mult, end=eta_min``) and Keras
    CosineDecayRestarts (``period_mult=t_mul, peak_mult=m_mul, end=alpha*start``).

    Cycle ``n`` starts at ``S_n = period * (period_mult**n - 1) / (period_mult - 1)`` (``period * n``
    when ``period_mult == 1``), lasts ``T_n = period * period_mult**n`` and, with ``u = (t - S_n) / T_n``,
    ``lr(t) = end + (start - end) * peak_mult**n * (1 + cos(pi u)) / 2``.

    >>> s = cosine_restarts(1.0, 0.0, period=2, period_mult=2.0)
    >>> [round(s(t), 3) for t in range(8)]
    [1.0, 0.5, 1.0, 0.854, 0.5, 0.146, 1.0, 0.962]
    """
    start: float
    end: float
    period: float
    period_mult: float = 1.0
    peak_mult: float = 1.0

    def __post_init__(self):
        self._validate("start", check.non_negative)
        self._validate("end", check.non_negative)
        self._validate("period", check.positive)
        self._validate("period_mult", check.at_least, 1)
        self._validate("peak_mult", check.non_negative)

    def cycle_start(self, n, xp=None):
        """The step where cycle ``n`` (from 0) starts: ``S_n`` above."""
        m = self.period_mult
        return self.period * n if m == 1 else self.period * (_power(m, n, xp) - 1) / (m - 1)

    def cycle_at(self, t):
        """The cycle that step ``t >= 0`` falls in: ``(n, S_n, T_n)``, its index (from 0), the step where it
        starts and its length (what the formula uses: a restart is exactly at ``S_n``).

        >>> cosine_restarts(1.0, 0.0, period=2, period_mult=2).cycle_at(6)
        (2, 6.0, 8.0)
        """
        n, start, length = self._cycle(t, MATH)
        return int(n), start, length

    def _cycle(self, t, xp):
        m = self.period_mult
        if m == 1:
            n = xp.floor(t / self.period)
            # t / P can round across a restart n * P: settle it with the cycle starts, as below
            n = xp.where(t < n * self.period, n - 1, n)
            n = xp.where(t >= (n + 1) * self.period, n + 1, n)
            return n, n * self.period, self.period
        if m - 1 < 1e-6:  # log1p(x) as x log(u) / (u - 1), u = 1 + x: the sum below would drop t / period
            x = t / self.period * (m - 1)
            d = (1 + x) - 1
            n = xp.floor(xp.where(d == 0, x, xp.log(1 + x) * (x / xp.where(d == 0, 1.0, d))) / math.log1p(m - 1))
        else:  # log(t / period * (m - 1) + 1), written so that it stays finite for a huge m
            n = xp.floor((xp.log(t / self.period + 1 / (m - 1)) + math.log(m - 1)) / math.log(m))
        n = xp.minimum(n, 1e38)  # (inf where t / period leaves float range: a finite stand-in for m ** n, finite in float32 too)
        # the log can land one cycle off at an exact restart: settle it with the cycle starts
        n = xp.where(t < self.cycle_start(n, xp), n - 1, n)
        n = xp.where(t >= self.cycle_start(n + 1, xp), n + 1, n)
        return n, self.cycle_start(n, xp), self.period * _power(m, n, xp)

    def _f(self, t, xp):
        if self.start == self.end:
            return t * 0.0 + self.end
        n, start, length = self._cycle(t, xp)
        # in [0, length]: where t / period leaves float range, the cycle index is inf and t - start -inf
        elapsed = xp.minimum(xp.maximum(t - start, 0.0), length)
        wave = (1 + xp.cos(math.pi * elapsed / length)) * 0.5
        if self.peak_mult != 1:
            # (n is inf where t / period leaves float range: a finite stand-in keeps the power 0 or inf)
            wave = wave * _power(self.peak_mult, xp.minimum(n, 1e38), xp)
        return self.end + (self.start - self.end) * wave

    def end_step(self):
        return None

    def span(self):
        return 4 * self.period if self.period_mult == 1 else self.cycle_start(3)

    def events(self, until, offset=0.0):
        found = []
        k = 1
        while offset + self.cycle_start(k) < until and k <= MAX_EVENTS:
            found.append(self._event(offset + self.cycle_start(k), "restart", declared=False))
            k += 1
        return found

    def cycles(self, offset=0.0, stop=math.inf):
        return [Cycle(self, offset, stop, self.cycle_start)]

    def bounds(self):
        """``end + (start - end) * f`` with ``f = peak_mult ** n * (1 + cos) / 2`` in ``[0, 1]``, or in
        ``[0, inf)`` when ``peak_mult > 1``: then ``start < end`` goes below 0 (without bound)."""
        amplitude = self.start - self.end
        if amplitude == 0:
            return (self.end, self.end)
        most = amplitude if self.peak_mult <= 1 else math.copysign(math.inf, amplitude)
        return _between(self.end, self.end + most)


@register
class cyclic(Schedule):
    """Cyclical learning rate (Smith 2017, "Cyclical Learning Rates for Training Neural Networks"),
    as torch CyclicLR: up from ``start`` to ``peak`` in ``steps_up``, down in ``steps_down``.

    With ``c = floor(1 + t / (up + down))`` and ``x = 1 + t / (up + down) - c``, the height is
    ``x / r`` if ``x <= r`` else ``(x - 1) / (r - 1)`` (``r = up / (up + down)``), scaled by
    1 (``"triangular"``), ``1 / 2**(c - 1)`` (``"triangular2"``) or ``gamma**t`` (``"exp_range"``):
    ``lr(t) = start + (peak - start) * height * scale``. A ``scale_fn`` replaces ``mode``'s scale by
    ``scale_fn(c)`` (``scale_mode="cycle"``) or ``scale_fn(t)`` (``"iterations"``), as in torch.

    >>> [cyclic(0.0, 1.0, steps_up=2)(t) for t in range(6)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.5]
    >>> [cyclic(0.0, 1.0, steps_up=1, mode="triangular2")(t) for t in range(6)]
    [0.0, 1.0, 0.0, 0.5, 0.0, 0.25]
    """
    start: float
    peak: float
    steps_up: float
    steps_down: typing.Optional[float] = None
    mode: str = "triangular"
    gamma: float = 1.0
    scale_fn: typing.Optional[typing.Callable] = None
    scale_mode: str = "cycle"

    def __post_init__(self):
        self._validate("start", check.non_negative)
        self._validate("peak", check.non_negative)
        self._validate("steps_up", check.positive)
        if self.steps_down is not None:
            self._validate("steps_down", check.positive)
        check.choice("mode", self.mode, ("triangular", "triangular2", "exp_range"))
        self._validate("gamma", check.positive)
        if self.scale_fn is not None:
            self._validate("scale_fn", _user_function)
        check.choice("scale_mode", self.scale_mode, ("cycle", "iterations"))
        if self.mode == "exp_range" and self.gamma > 1:
            raise LrkitValueError(f"gamma must be <= 1 for mode='exp_range' (the amplitude gamma**t would grow "
                                  f"without bound), got {self._written('gamma')!r}")
        down = self.steps_up if self.steps_down is None else self.steps_down
        total = float(self.steps_up + down)
        object.__setattr__(self, "_total", total)
        ratio = self.steps_up / total
        object.__setattr__(self, "_ratio", ratio)
        # where one phase is too short to show in float (up/total rounds to 0 or 1), its branch is only taken
        # at x == 0 (value 0) or never: a stand-in divisor keeps the branch not taken from dividing by zero
        object.__setattr__(self, "_up_divisor", ratio if ratio > 0 else math.inf)
        object.__setattr__(self, "_down_divisor", ratio - 1 if ratio < 1 else -math.inf)

    def _f(self, t, xp):
        cycle = xp.floor(1 + t / self._total)
        x = 1.0 + t / self._total - cycle
        height = xp.where(x <= self._ratio, x / self._up_divisor, (x - 1) / self._down_divisor)
        rise = (self.peak - self.start) * height
        if self.scale_fn is not None:
            rise = rise * xp.apply(self.scale_fn, cycle if self.scale_mode == "cycle" else t)
        elif self.mode == "triangular2":
            rise = rise * 0.5 ** (cycle - 1)  # = torch's 1 / 2.0 ** (cycle - 1), without its overflow
        elif self.mode == "exp_range":
            rise = rise * self.gamma ** t
        return self.start + rise

    def end_step(self):
        return None

    def span(self):
        return 3 * self._total

    def events(self, until, offset=0.0):
        """A peak ``steps_up`` into each cycle, a trough where each cycle after the first begins."""
        up, total = float(self.steps_up), self._total
        found = []
        k = 0
        while offset + k * total < until and k < MAX_EVENTS:
            found.append(self._event(offset + k * total + up, "peak", declared=False))
            if k:
                found.append(self._event(offset + k * total, "trough", declared=False))
            k += 1
        return found

    def cycles(self, offset=0.0, stop=math.inf):
        total = self._total
        return [Cycle(self, offset, stop, lambda k: k * total)]

    def bounds(self):  # height and scale are in [0, 1] (gamma <= 1; a scale_fn by torch's contract)
        return _between(self.start, self.peak)


@register
class function(_Aperiodic):
    """A user function of the step: ``lr(t) = fn(t)`` (torch LambdaLR's case is ``function(f) * base_lr``).

    ``fn`` receives what the schedule is called with (a float, or an array with its namespace). A
    function of two arguments, ``fn(t, xp)``, also gets the array namespace (``xp.exp``, ``xp.cos``,
    ``xp.where``, ``xp.minimum``, ...), so one definition runs on floats, numpy, jax, keras and torch.
    A function allowed by name (``lrkit.allow_function``) saves in configs and specs under that name,
    and only allowed names resolve there; any other function works but cannot be saved (``to_config``
    says so).

    >>> s = function(lambda epoch: 1 / (epoch + 1)) * 0.1
    >>> [round(s(t), 6) for t in range(4)]
    [0.1, 0.05, 0.033333, 0.025]
    >>> round(function(lambda t, xp: xp.exp(-t / 10))(10), 6)
    0.367879
    """
    fn: typing.Callable

    def __post_init__(self):
        self._validate("fn", _user_function)
        object.__setattr__(self, "_takes_xp", _positional_count(self.fn) == 2)

    def _f(self, t, xp):
        return self.fn(t, xp) if self._takes_xp else xp.apply(self.fn, t)

    def end_step(self):  # a user function may change at any step
        return None

    def _unsettled_span(self):
        return 100

    def bounds(self):  # a user function is taken at its contract: values >= 0
        return (0.0, math.inf)


@register
class multiplicative(_Aperiodic):
    """A running product of a user factor (torch MultiplicativeLR):
    ``lr(t) = start * fn(1) * fn(2) * ... * fn(floor(t))``.

    Not a formula but still a pure function of ``t``: the products are computed once, in order, and
    kept. Evaluates on Python numbers and numpy arrays (up to 10,000,000 updates), not inside jax,
    keras or torch graphs. ``fn`` saves in configs by its allowed name like ``function``'s.

    >>> [round(multiplicative(lambda epoch: 0.5, start=0.8)(t), 3) for t in range(4)]
    [0.8, 0.4, 0.2, 0.1]
    """
    fn: typing.Callable
    start: float = 1.0

    LIMIT = 10_000_000

    def __post_init__(self):
        self._validate("fn", _user_function)
        self._validate("start", check.non_negative)
        object.__setattr__(self, "_products", [self.start])

    def _f(self, t, xp):
        return xp.apply(self._product, t)

    def end_step(self):  # the user's factor may change at any step
        return None

    def _unsettled_span(self):
        return 100

    def bounds(self):  # start times factors >= 0 (a user function, taken at its contract)
        return (0.0, 0.0) if self.start == 0 else (0.0, math.inf)

    def _product(self, t):
        import numpy as np
        if isinstance(t, np.ndarray):
            k = np.floor(t).astype(np.int64)
            self._extend(int(k.max()) if k.size else 0)
            return np.asarray(self._products, dtype=np.float64)[k]
        if not isinstance(t, (int, float)):
            raise LrkitTypeError(f"multiplicative evaluates Python numbers and numpy arrays only, got {type(t).__name__}")
        k = math.floor(t)
        self._extend(k)
        return self._products[k]

    def _extend(self, k):
        products = self._products
        if k >= len(products):
            if k > self.LIMIT:
                raise LrkitValueError(f"multiplicative keeps a running product: step must be <= {self.LIMIT:,}, got {k}")
            value = products[-1]
            for j in range(len(products), k + 1):
                value = value * self.fn(j)
                products.append(value)
