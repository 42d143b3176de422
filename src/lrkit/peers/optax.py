"""optax's schedules by their own names: ``lrkit.peers.optax`` (specs: ``optax.sgdr_schedule([...])``).

One class per function of ``optax.schedules`` (0.2.8) that returns a schedule: ``constant_schedule``,
``linear_schedule``, ``polynomial_schedule``, ``exponential_decay``, ``cosine_decay_schedule``,
``warmup_constant_schedule``, ``warmup_cosine_decay_schedule``, ``warmup_exponential_decay_schedule``,
``piecewise_constant_schedule``, ``piecewise_interpolate_schedule``, ``linear_onecycle_schedule``,
``cosine_onecycle_schedule``, ``sgdr_schedule``, ``join_schedules``, with optax's argument names and
defaults. The value at lrkit step k is the optax schedule at ``count = k``. A dict argument
(``boundaries_and_scales``, each of ``sgdr_schedule``'s ``cosine_kwargs``) is kept as sorted pairs or
tuples, so that the schedule stays a hashable value and saves to JSON. (``inject_hyperparams`` is an
optimizer wrapper, not a schedule: ``lrkit.optax.to_optax`` turns any of these into an optax schedule.)

>>> s = warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=2, decay_steps=6)
>>> [round(s(t), 4) for t in range(8)]
[0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
"""
from .. import _checks as check
from .._base import Schedule
from .._combinators import clip, sequence, warmup
from .._errors import LrkitTypeError, LrkitValueError, excerpt
from .._peers import Peer, peer
from .._shapes import constant, cosine, exponential, linear, piecewise_constant, polynomial

__all__ = ["constant_schedule", "linear_schedule", "polynomial_schedule", "exponential_decay",
           "cosine_decay_schedule", "warmup_constant_schedule", "warmup_cosine_decay_schedule",
           "warmup_exponential_decay_schedule", "piecewise_constant_schedule", "piecewise_interpolate_schedule",
           "linear_onecycle_schedule", "cosine_onecycle_schedule", "sgdr_schedule", "join_schedules"]


def _pairs(name, value):
    """``boundaries_and_scales`` (a dict, or pairs) as sorted ``((boundary, scale), ...)``, scales >= 0."""
    if value is None:
        return ()
    items = value.items() if isinstance(value, dict) else value
    try:
        pairs = sorted((check.real(f"{name} boundary", b), check.real(f"{name}[{b!r}]", s)) for b, s in items)
    except (TypeError, ValueError) as error:
        if "lrkit" in type(error).__module__:
            raise
        raise LrkitTypeError(f"{name} must be a dict {{boundary: scale}} or (boundary, scale) pairs, "
                             f"got {excerpt(value)}") from None
    if any(s < 0 for _, s in pairs):
        raise LrkitValueError(f"{name} expects non-negative scale factors, got {excerpt(value)}")
    return tuple(pairs)


def _line(init, end, steps, begin=0):
    """optax's ``linear_schedule``: ``init`` for ``steps <= 0``."""
    if steps <= 0:
        return constant(init)
    body = linear(init, end, steps=steps)
    return sequence([constant(init), body], boundaries=[begin]) if begin > 0 else body


def _exponential(init, steps, rate, begin=0, staircase=False, end=None):
    """optax's ``exponential_decay``: ``init`` until ``begin``, then ``init * rate ** ((t - begin) / steps)``
    (floored when ``staircase``), the whole curve clipped at ``end`` (a floor when ``rate < 1``, else a ceiling)."""
    if steps <= 0 or rate == 0:
        return constant(init)
    begin = max(begin, 0)
    body = exponential(init, rate, steps=steps, staircase=staircase)
    if begin > 0:
        body = sequence([constant(init), body], boundaries=[begin])
    if end is not None:
        body = clip(body, floor=end) if rate < 1 else clip(body, ceiling=end)
    return body


def _warmup_cosine(init, peak, warmup_steps, decay_steps, end=0.0, exponent=1.0):
    """optax's ``warmup_cosine_decay_schedule``: a line from ``init`` to ``peak`` over ``warmup_steps``
    joined with ``cosine_decay_schedule(peak, decay_steps - warmup_steps, alpha=end / peak)``."""
    if not decay_steps - warmup_steps > 0:
        raise LrkitValueError(f"The cosine_decay_schedule requires positive decay_steps, got decay_steps - "
                              f"warmup_steps = {decay_steps!r} - {warmup_steps!r}")
    alpha = 0.0 if peak == 0 else end / peak
    body = cosine(peak, alpha * peak, steps=decay_steps - warmup_steps, exponent=exponent)
    if warmup_steps <= 0:
        return body
    return warmup(body, steps=warmup_steps, start=init) if body(0) == peak else \
        sequence([linear(init, peak, steps=warmup_steps), body], boundaries=[warmup_steps])


def _interpolate(kind, init, pairs):
    """optax's ``piecewise_interpolate_schedule``: from each boundary to the next, ``kind`` ("linear" or
    "cosine") from the running product of the scales to the next one; the last product after the last."""
    values = [init]
    for _, scale in pairs:
        values.append(values[-1] * scale)
    bounds = [0] + [b for b, _ in pairs]
    shape = linear if kind == "linear" else cosine
    parts, starts = [], []
    for i in range(len(pairs)):
        length = bounds[i + 1] - bounds[i]
        if length > 0:
            parts.append(shape(values[i], values[i + 1], steps=max(length, 1)))
            starts.append(bounds[i])
    parts.append(constant(values[-1]))
    starts.append(bounds[-1])
    if starts[0] > 0:
        raise LrkitValueError(f"boundaries_and_scales must start at a boundary >= 0, got {excerpt(pairs)}")
    return sequence(parts, boundaries=starts[1:]) if len(parts) > 1 else parts[0]


_VALUES = {"value", "init_value", "end_value", "peak_value", "alpha", "div_factor", "final_div_factor"}


class _Optax(Peer):
    def _numbers(self, *names):
        """The fields ``names`` as written, checked: values of the curve >= 0, other numbers real."""
        return [self._validate(name, check.non_negative if name in _VALUES else check.real) or self._written(name)
                for name in names]


@peer("optax")
class constant_schedule(_Optax):
    """optax's ``constant_schedule(value)``: ``value`` at every count.

    >>> constant_schedule(0.1)(100)
    0.1
    """
    value: float

    def _expand(self):
        self._validate("value", check.non_negative)
        return constant(self._written("value"))


@peer("optax")
class linear_schedule(_Optax):
    """optax's ``linear_schedule``: ``init_value`` until ``transition_begin``, then a line to ``end_value``
    over ``transition_steps`` counts, ``end_value`` after (``transition_steps <= 0``: ``init_value``).

    >>> [linear_schedule(1.0, 0.0, 4)(t) for t in range(6)]
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    init_value: float
    end_value: float
    transition_steps: int
    transition_begin: int = 0

    def _expand(self):
        init, end, steps, begin = self._numbers("init_value", "end_value", "transition_steps", "transition_begin")
        return _line(init, end, steps, max(begin, 0))


@peer("optax")
class polynomial_schedule(_Optax):
    """optax's ``polynomial_schedule``: ``(init - end) * (1 - c / transition_steps) ** power + end`` with
    ``c = clip(count - transition_begin, 0, transition_steps)`` (``transition_steps <= 0``: ``init_value``).

    >>> [polynomial_schedule(1.0, 0.0, 2.0, 4)(t) for t in range(5)]
    [1.0, 0.5625, 0.25, 0.0625, 0.0]
    """
    init_value: float
    end_value: float
    power: float
    transition_steps: int
    transition_begin: int = 0

    def _expand(self):
        init, end, power, steps, begin = self._numbers("init_value", "end_value", "power", "transition_steps",
                                                       "transition_begin")
        if steps <= 0 or power == 0:
            return constant(init)
        if power < 0:
            raise LrkitValueError(f"power must be >= 0 (a negative power is inf at the end), got {power!r}")
        body = polynomial(init, end, steps=steps, power=power)
        return sequence([constant(init), body], boundaries=[begin]) if begin > 0 else body


@peer("optax")
class exponential_decay(_Optax):
    """optax's ``exponential_decay``: ``init_value`` until ``transition_begin``, then
    ``init_value * decay_rate ** ((count - transition_begin) / transition_steps)`` (the exponent floored
    when ``staircase``); with ``end_value``, the whole curve clipped there (below by it when
    ``decay_rate < 1``, above otherwise).

    >>> [exponential_decay(1.0, 2, 0.5, staircase=True)(t) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    init_value: float
    transition_steps: int
    decay_rate: float
    transition_begin: int = 0
    staircase: bool = False
    end_value: float = None

    def _expand(self):
        init, steps, rate, begin = self._numbers("init_value", "transition_steps", "decay_rate", "transition_begin")
        check.flag("staircase", self.staircase)
        end = None if self.end_value is None else self._numbers("end_value")[0]
        return _exponential(init, steps, rate, begin, self.staircase, end)


@peer("optax")
class cosine_decay_schedule(_Optax):
    """optax's ``cosine_decay_schedule``: ``init_value * ((1 - alpha) * c ** exponent + alpha)`` with
    ``c = (1 + cos(pi * min(count, decay_steps) / decay_steps)) / 2``.

    >>> cosine_decay_schedule(1.0, 100, alpha=0.1).expanded
    cosine(start=1.0, end=0.1, steps=100)
    """
    init_value: float
    decay_steps: int
    alpha: float = 0.0
    exponent: float = 1.0

    def _expand(self):
        init, steps, alpha, exponent = self._numbers("init_value", "decay_steps", "alpha", "exponent")
        if not steps > 0:
            raise LrkitValueError(f"The cosine_decay_schedule requires positive decay_steps, got decay_steps={steps!r}")
        return cosine(init, alpha * init, steps=steps, exponent=exponent)


@peer("optax")
class warmup_constant_schedule(_Optax):
    """optax's ``warmup_constant_schedule``: a line from ``init_value`` to ``peak_value`` over ``warmup_steps``.

    >>> [warmup_constant_schedule(0.0, 1.0, 2)(t) for t in range(4)]
    [0.0, 0.5, 1.0, 1.0]
    """
    init_value: float
    peak_value: float
    warmup_steps: int

    def _expand(self):
        init, peak, steps = self._numbers("init_value", "peak_value", "warmup_steps")
        return _line(init, peak, steps)


@peer("optax")
class warmup_cosine_decay_schedule(_Optax):
    """optax's ``warmup_cosine_decay_schedule``: a line from ``init_value`` to ``peak_value`` over
    ``warmup_steps``, then a cosine to ``end_value`` ending at ``decay_steps`` (optax counts the warmup
    inside ``decay_steps``).

    >>> warmup_cosine_decay_schedule(0.0, 1.0, 10, 100).expanded
    warmup(cosine(start=1.0, end=0.0, steps=90), steps=10)
    """
    init_value: float
    peak_value: float
    warmup_steps: int
    decay_steps: int
    end_value: float = 0.0
    exponent: float = 1.0

    def _expand(self):
        return _warmup_cosine(*self._numbers("init_value", "peak_value", "warmup_steps", "decay_steps", "end_value",
                                             "exponent"))


@peer("optax")
class warmup_exponential_decay_schedule(_Optax):
    """optax's ``warmup_exponential_decay_schedule``: a line from ``init_value`` to ``peak_value`` over
    ``warmup_steps``, then ``exponential_decay(peak_value, ...)`` on its own clock.

    >>> [round(warmup_exponential_decay_schedule(0.0, 1.0, 2, 1, 0.5)(t), 3) for t in range(5)]
    [0.0, 0.5, 1.0, 0.5, 0.25]
    """
    init_value: float
    peak_value: float
    warmup_steps: int
    transition_steps: int
    decay_rate: float
    transition_begin: int = 0
    staircase: bool = False
    end_value: float = None

    def _expand(self):
        init, peak, warm, steps, rate, begin = self._numbers("init_value", "peak_value", "warmup_steps",
                                                             "transition_steps", "decay_rate", "transition_begin")
        check.flag("staircase", self.staircase)
        end = None if self.end_value is None else self._numbers("end_value")[0]
        body = _exponential(peak, steps, rate, begin, self.staircase, end)
        if warm <= 0:
            return body
        if body(0) == peak:
            return warmup(body, steps=warm, start=init)
        return sequence([linear(init, peak, steps=warm), body], boundaries=[warm])


@peer("optax")
class piecewise_constant_schedule(_Optax):
    """optax's ``piecewise_constant_schedule``: ``init_value`` times every scale whose boundary the count has
    reached (``count >= boundary``).

    >>> [piecewise_constant_schedule(1.0, {2: 0.5, 4: 0.5})(t) for t in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    init_value: float
    boundaries_and_scales: tuple = None

    def _expand(self):
        init = self._numbers("init_value")[0]
        pairs = _pairs("boundaries_and_scales", self.boundaries_and_scales)
        object.__setattr__(self, "boundaries_and_scales", pairs or None)
        values, bounds = [init], []
        for boundary, scale in pairs:
            if boundary <= 0:  # reached from count 0 on
                values[-1] = scale * values[-1]
            else:
                bounds.append(boundary)
                values.append(scale * values[-1])
        return piecewise_constant(bounds, values) if bounds else constant(values[0])


@peer("optax")
class piecewise_interpolate_schedule(_Optax):
    """optax's ``piecewise_interpolate_schedule``: ``interpolate_type`` ("linear" or "cosine") from each
    boundary's running product of the scales to the next's.

    >>> [piecewise_interpolate_schedule("linear", 1.0, {4: 0.5})(t) for t in range(6)]
    [1.0, 0.875, 0.75, 0.625, 0.5, 0.5]
    """
    interpolate_type: str
    init_value: float
    boundaries_and_scales: tuple = None

    def _expand(self):
        check.choice("interpolate_type", self.interpolate_type, ("linear", "cosine"))
        init = self._numbers("init_value")[0]
        pairs = _pairs("boundaries_and_scales", self.boundaries_and_scales)
        object.__setattr__(self, "boundaries_and_scales", pairs or None)
        return _interpolate(self.interpolate_type, init, pairs)


class _OneCycle(_Optax):
    def _steps(self):
        steps = self._numbers("transition_steps")[0]
        if steps <= 0:
            raise LrkitValueError(f"transition_steps must be > 0 (a onecycle schedule), got {steps!r}")
        return steps


@peer("optax")
class linear_onecycle_schedule(_OneCycle):
    """optax's ``linear_onecycle_schedule``: lines from ``peak_value / div_factor`` up to ``peak_value`` at
    ``int(pct_start * T)``, down again at ``int(pct_final * T)``, and to ``1 / final_div_factor`` of that at
    ``T = transition_steps``.

    >>> [round(linear_onecycle_schedule(10, 1.0, 0.2, 0.4, 10.0, 1.0)(t), 3) for t in (0, 1, 2, 4, 10)]
    [0.1, 0.55, 1.0, 0.1, 0.1]
    """
    transition_steps: int
    peak_value: float
    pct_start: float = 0.3
    pct_final: float = 0.85
    div_factor: float = 25.0
    final_div_factor: float = 1e4

    def _expand(self):
        steps = self._steps()
        peak, start, final, div, final_div = self._numbers("peak_value", "pct_start", "pct_final", "div_factor",
                                                           "final_div_factor")
        scales = {int(start * steps): div, int(final * steps): 1.0 / div, steps: 1.0 / final_div}
        return _interpolate("linear", peak / div, _pairs("boundaries_and_scales", scales))


@peer("optax")
class cosine_onecycle_schedule(_OneCycle):
    """optax's ``cosine_onecycle_schedule``: a cosine from ``peak_value / div_factor`` up to ``peak_value`` at
    ``int(pct_start * T)``, then down to ``peak_value / div_factor / final_div_factor`` at ``T``.

    >>> [round(cosine_onecycle_schedule(10, 1.0, 0.2, 10.0, 1.0)(t), 3) for t in (0, 1, 2, 6, 10)]
    [0.1, 0.55, 1.0, 0.55, 0.1]
    """
    transition_steps: int
    peak_value: float
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4

    def _expand(self):
        steps = self._steps()
        peak, start, div, final_div = self._numbers("peak_value", "pct_start", "div_factor", "final_div_factor")
        scales = {int(start * steps): div, int(steps): 1.0 / (div * final_div)}
        return _interpolate("cosine", peak / div, _pairs("boundaries_and_scales", scales))


_SGDR_KEYS = ("init_value", "peak_value", "warmup_steps", "decay_steps", "end_value", "exponent")


@peer("optax")
class sgdr_schedule(_Optax):
    """optax's ``sgdr_schedule(cosine_kwargs)``: ``warmup_cosine_decay_schedule(**kw)`` for each dict of
    ``cosine_kwargs`` in turn, each starting where the previous one's ``decay_steps`` end (SGDR, Loshchilov
    & Hutter 2017). Each dict is kept as the tuple ``(init_value, peak_value, warmup_steps, decay_steps,
    end_value, exponent)``.

    >>> s = sgdr_schedule([{"init_value": 1.0, "peak_value": 1.0, "warmup_steps": 0, "decay_steps": 2}] * 2)
    >>> [s(t) for t in range(5)]
    [1.0, 0.5, 1.0, 0.5, 0.0]
    """
    cosine_kwargs: tuple

    def _expand(self):
        if isinstance(self.cosine_kwargs, (str, dict)) or not hasattr(self.cosine_kwargs, "__iter__"):
            raise LrkitTypeError(f"cosine_kwargs must be a list of dicts of warmup_cosine_decay_schedule's "
                                 f"arguments, got {excerpt(self.cosine_kwargs)}")
        rows = []
        for i, kw in enumerate(self.cosine_kwargs):
            if isinstance(kw, dict):
                unknown = sorted(set(kw) - set(_SGDR_KEYS))
                missing = [k for k in _SGDR_KEYS[:4] if k not in kw]
                if unknown or missing:
                    raise LrkitValueError(f"cosine_kwargs[{i}] needs {', '.join(_SGDR_KEYS[:4])} (and may have "
                                          f"end_value, exponent), got {excerpt(kw)}")
                kw = tuple(kw.get(k, d) for k, d in zip(_SGDR_KEYS, (None,) * 4 + (0.0, 1.0)))
            if not isinstance(kw, tuple) or len(kw) != len(_SGDR_KEYS):
                raise LrkitTypeError(f"cosine_kwargs[{i}] must be a dict of warmup_cosine_decay_schedule's "
                                     f"arguments, got {excerpt(kw)}")
            rows.append(tuple(check.real(f"cosine_kwargs[{i}].{k}", v) for k, v in zip(_SGDR_KEYS, kw)))
        if not rows:
            raise LrkitValueError("cosine_kwargs must hold at least one dict, got []")
        object.__setattr__(self, "cosine_kwargs", tuple(rows))
        parts, bounds, at = [], [], 0
        for row in rows:
            parts.append(_warmup_cosine(*row))
            at += row[3]
            bounds.append(at)
        return sequence(parts, boundaries=bounds[:-1]) if len(parts) > 1 else parts[0]


@peer("optax")
class join_schedules(_Optax):
    """optax's ``join_schedules(schedules, boundaries)``: ``schedules[i]`` from ``boundaries[i-1]`` on, on its
    own clock (``count - boundary``); any lrkit schedules (optax peers among them).

    >>> join_schedules([constant_schedule(1.0), linear_schedule(1.0, 0.0, 2)], [2]).expanded
    sequence([optax.constant_schedule(value=1.0), optax.linear_schedule(init_value=1.0, end_value=0.0, transition_steps=2)], boundaries=[2])
    """
    schedules: tuple
    boundaries: tuple

    def _expand(self):
        if isinstance(self.schedules, Schedule) or not hasattr(self.schedules, "__iter__"):
            raise LrkitTypeError(f"schedules must be a list of schedules, got {excerpt(self.schedules)}")
        object.__setattr__(self, "schedules", tuple(check.schedule(f"schedules[{i}]", s)
                                                    for i, s in enumerate(self.schedules)))
        self._validate("boundaries", check.increasing, check.positive)
        return sequence(list(self.schedules), boundaries=list(self._written("boundaries")))
