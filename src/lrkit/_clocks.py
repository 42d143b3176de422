"""Clocks: a schedule written in samples, tokens, epochs or fractions of the run, evaluated per update.

The core counts optimizer updates. :class:`clocked` converts at the edge: update ``k`` sees the time
its schedule was written in, computed in closed form from the batch size (a number, or a
:class:`batch_sizes` schedule, which ramps), the sequence length, the updates per epoch or the total.
So every adapter (torch, Keras, optax) evaluates the same value at update ``k``, and any update is
random access: the tokens consumed before update ``k`` are a sum over the batch schedule's pieces.
The batch-size transforms of the literature are values too: :class:`batch_scaled` (the LR scaled with
the batch: sqrt or linear) and :func:`seesaw` (Meterez et al. 2025).
"""
import collections
import math
import typing

import numpy as np

from . import _checks as check
from ._base import MAX_PARTS, Schedule, bounds_of, register
from ._errors import LrkitValueError, excerpt
from ._recipes import Recipe
from ._shapes import piecewise_constant
from ._shares import with_shares

_LARGEST = 1.7976931348623157e308

#: the units a schedule may be written in
UNITS = ("updates", "samples", "tokens", "epochs", "fraction")


@register
class batch_sizes(Schedule):
    """A batch-size schedule: ``values[i]`` samples per update from ``boundaries[i-1]`` on (the first from
    0), the boundaries counted in ``unit``: ``"updates"``, ``"samples"`` or ``"tokens"`` (``seq_len``
    tokens a sample). A boundary in samples or tokens is crossed at the first update that starts with at
    least that many consumed. ``schedule(k)`` is update ``k``'s batch size; ``samples(k)`` and
    ``tokens(k)`` are what the updates before ``k`` consumed, in closed form.

    >>> b = batch_sizes([2, 4], boundaries=[6], unit="samples")
    >>> [b(k) for k in range(5)], [b.samples(k) for k in range(5)]
    ([2.0, 2.0, 2.0, 4.0, 4.0], [0.0, 2.0, 4.0, 6.0, 10.0])
    """
    values: typing.Tuple[float, ...]
    boundaries: typing.Tuple[float, ...] = ()
    unit: str = "updates"
    seq_len: float = 1

    def __post_init__(self):
        self._validate("values", check.non_negative_list)
        self._validate("boundaries", check.increasing, check.non_negative)
        check.choice("unit", self.unit, ("updates", "samples", "tokens"))
        self._validate("seq_len", check.positive)
        if len(self.values) != len(self.boundaries) + 1:
            raise LrkitValueError(f"values must have one more entry than boundaries ({len(self.boundaries)}), "
                                  f"got {len(self.values)}: {excerpt(list(self._written('values')))}")
        if not all(v >= 1 for v in self.values):
            raise LrkitValueError(f"values (batch sizes) must be >= 1, got {excerpt(list(self._written('values')))}")
        starts, consumed = [], 0.0
        per = 1.0 if self.unit == "updates" else (self.seq_len if self.unit == "tokens" else 1.0)
        k = 0.0
        for i, boundary in enumerate(self.boundaries):
            if self.unit == "updates":
                k = float(boundary)
            else:  # updates of piece i until the consumed count reaches the boundary
                n = max(0.0, math.ceil((boundary - consumed) / (self.values[i] * per)))
                k, consumed = k + n, consumed + n * self.values[i] * per
            starts.append(k)
        object.__setattr__(self, "_starts", tuple(starts))  # the update where each piece after the first begins
        edges = (0.0,) + tuple(starts)
        before, total = [], 0.0
        for i, start in enumerate(edges):
            before.append(total)
            if i + 1 < len(edges):
                total += (edges[i + 1] - start) * self.values[i]
        object.__setattr__(self, "_before", tuple(before))  # samples consumed before each piece

    def _f(self, t, xp):
        value = t * 0.0 + self.values[0]
        for start, v in zip(self._starts, self.values[1:]):
            value = xp.where(t >= start, v, value)
        return value

    def samples(self, k, xp=None):
        """The samples the updates before ``k`` consumed (``k`` a number or an array of update counts)."""
        if xp is None:
            t = np.asarray(k, dtype=np.float64)
            out = self._samples(t, np)
            return float(out) if out.ndim == 0 else out
        return self._samples(k, xp)

    def _samples(self, t, xp):
        total = t * self.values[0]
        for start, before, v in zip(self._starts, self._before[1:], self.values[1:]):
            total = xp.where(t >= start, before + (t - start) * v, total)
        return total

    def tokens(self, k, xp=None):
        """The tokens the updates before ``k`` consumed: ``samples(k) * seq_len``."""
        return self.samples(k, xp) * self.seq_len

    def update_at(self, samples):
        """The first update that starts with at least ``samples`` consumed (the inverse of ``samples``)."""
        samples = check.non_negative("samples", samples)
        for i in range(len(self.values) - 1, -1, -1):
            if samples >= self._before[i]:
                start = 0.0 if i == 0 else self._starts[i - 1]
                return start + math.ceil((samples - self._before[i]) / self.values[i])
        return 0.0

    def end_step(self):
        return self._starts[-1] if self._starts else 0.0

    def span(self):
        return self.end_step() + 1

    def events(self, until, offset=0.0):
        return [self._event(offset + s, "switch") for s in self._starts]

    def cycles(self, offset=0.0, stop=math.inf):
        return []

    def bounds(self):
        return (min(self.values), max(self.values))


@register
class batch_ramp(Recipe):
    """Megatron's batch-size ramp-up: from ``start`` samples per update up to ``end`` in steps of
    ``increment``, evenly over the first ``over`` ``unit`` (``"samples"``, ``"tokens"`` or
    ``"updates"``): the batch is ``start + increment * floor(consumed / (over / n))`` with
    ``n = (end - start) / increment`` increments, then ``end``. A :class:`batch_sizes` schedule.

    >>> r = batch_ramp(2, 6, increment=2, over=8, unit="samples")
    >>> [r(k) for k in range(6)], r.samples(6)
    ([2.0, 2.0, 4.0, 6.0, 6.0, 6.0], 26.0)
    """
    start: float
    end: float
    increment: float
    over: float
    unit: str = "samples"
    seq_len: float = 1

    def _expand(self):
        for name in ("start", "end", "increment", "over"):
            self._validate(name, check.positive)
        n = (self.end - self.start) / self.increment
        if n < 0 or (math.isfinite(n) and n != int(n)):
            raise LrkitValueError(f"end - start must be a whole number (>= 0) of increments, got start="
                                  f"{self._written('start')!r}, end={self._written('end')!r}, "
                                  f"increment={self._written('increment')!r}")
        if n > MAX_PARTS:
            raise LrkitValueError(f"batch_ramp has {n:,.0f} increments, more than {MAX_PARTS:,} (lrkit.MAX_PARTS): "
                                  f"use a larger increment")
        n = int(n)
        w = self._written
        values = [w("start") + w("increment") * i for i in range(n + 1)]
        return batch_sizes(values, boundaries=[self.over * i / n for i in range(1, n + 1)] if n else [],
                           unit=self.unit, seq_len=w("seq_len"))

    def samples(self, k, xp=None):
        return self.expanded.samples(k, xp)

    def tokens(self, k, xp=None):
        return self.expanded.tokens(k, xp)

    def update_at(self, samples):
        return self.expanded.update_at(samples)


def _batch_schedule(value):
    return isinstance(value, (batch_sizes, batch_ramp))


@register
class clocked(Schedule):
    """``schedule`` written in ``unit`` (``"updates"``, ``"samples"``, ``"tokens"``, ``"epochs"`` or
    ``"fraction"`` of the run), evaluated per update: update ``k`` uses ``schedule(time(k))`` with
    ``time(k)`` the samples (tokens: times ``seq_len``) the updates before ``k`` consumed at ``batch``
    samples per update (a number or a :class:`batch_sizes` / :class:`batch_ramp` schedule),
    ``k / updates_per_epoch`` epochs, or ``k / total`` of the run. ``total`` (updates) also lets
    ``warnings()`` say when the schedule cannot finish within the run, and resolves the shares of the
    run written in ``schedule`` (``steps="5%"``, see ``lrkit._shares``): the run is ``time(total)`` in
    ``unit``; ``resolved`` is the schedule with them resolved (``schedule`` stays as written).

    >>> s = clocked(linear(1.0, 0.0, steps=1000), unit="tokens", batch=2, seq_len=100)
    >>> [s(k) for k in (0, 1, 5, 9)]
    [1.0, 0.8, 0.0, 0.0]
    >>> clocked(warmup(constant(1.0), steps=0.05), unit="fraction", total=200)(5)
    0.5
    >>> t = clocked(warmup(cosine(1.0, 0.0, steps="95%"), steps="5%"), unit="tokens", batch=2, seq_len=100, total=200)
    >>> t.resolved, t(5)
    (warmup(cosine(start=1.0, end=0.0, steps=38000), steps=2000), 0.5)
    """
    _resolves_shares = True  # (a share of the run in ``schedule`` is resolved here, not deferred)
    schedule: Schedule
    unit: str
    batch: typing.Union[float, Schedule] = 1
    seq_len: typing.Optional[float] = None
    updates_per_epoch: typing.Optional[float] = None
    total: typing.Optional[float] = None

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        check.choice("unit", self.unit, UNITS)
        if isinstance(self.batch, Schedule):
            if not _batch_schedule(self.batch):
                raise LrkitValueError(f"batch must be a number or lrkit.batch_sizes / batch_ramp, got "
                                      f"{excerpt(self.batch)}")
        else:
            self._validate("batch", check.positive)
        if self.seq_len is not None:
            self._validate("seq_len", check.positive)
            own = getattr(self.batch, "seq_len", None)
            if own not in (None, 1) and own != self.seq_len:
                raise LrkitValueError(f"seq_len={self._written('seq_len')!r} differs from the batch schedule's "
                                      f"seq_len={own!r}")
        if self.updates_per_epoch is not None:
            self._validate("updates_per_epoch", check.positive)
        if self.total is not None:
            self._validate("total", check.positive)
        if self.unit == "epochs" and self.updates_per_epoch is None:
            raise LrkitValueError("unit='epochs' needs updates_per_epoch")
        if self.unit == "fraction" and self.total is None:
            raise LrkitValueError("unit='fraction' needs total (the updates of the run)")
        inner = self.schedule
        if isinstance(inner, with_shares):
            if self.total is None:
                raise LrkitValueError(f"schedule has shares of the run ({', '.join(inner.shares()[:4])}): clocked "
                                      f"needs total (the updates of the run) to resolve them")
            inner = inner.resolve(self.time(self.total))
        object.__setattr__(self, "resolved", inner)

    def _tokens_per_sample(self):
        if self.seq_len is not None:
            return self.seq_len
        return getattr(self.batch, "seq_len", 1.0) if isinstance(self.batch, Schedule) else 1.0

    def time(self, k, xp=None):
        """The time of update ``k`` in ``unit`` (``k`` a number or an array; ``xp`` an array namespace)."""
        if xp is None:
            t = np.asarray(k, dtype=np.float64)
            out = self._time(t, np)
            return float(out) if np.ndim(out) == 0 else out
        return self._time(k, xp)

    def _time(self, t, xp):
        if self.unit == "updates":
            return t
        if self.unit == "epochs":
            time = t / self.updates_per_epoch
        elif self.unit == "fraction":
            time = t / self.total
        else:
            time = self.batch._samples(t, xp) if isinstance(self.batch, batch_sizes) else (
                self.batch.expanded._samples(t, xp) if isinstance(self.batch, Schedule) else t * self.batch)
            if self.unit == "tokens":
                time = time * self._tokens_per_sample()
        return xp.minimum(time, _LARGEST)  # a time beyond float range is the largest float, never inf

    def update_of(self, time):
        """The first update whose time is at least ``time`` (in ``unit``): where a point of the schedule falls."""
        time = float(time)
        if self.unit == "updates":
            return time
        if self.unit == "epochs":
            return time * self.updates_per_epoch
        if self.unit == "fraction":
            return time * self.total
        samples = time / self._tokens_per_sample() if self.unit == "tokens" else time
        if isinstance(self.batch, Schedule):
            return float(self.batch.update_at(samples))
        return float(math.ceil(samples / self.batch))

    def batch_size(self, k):
        """Update ``k``'s batch size in samples."""
        return float(self.batch(k)) if isinstance(self.batch, Schedule) else float(self.batch)

    def _f(self, t, xp):
        return self.resolved._f(self._time(t, xp), xp)

    def end_step(self):
        end = self.resolved.end_step()
        return None if end is None else self.update_of(end)

    def span(self):
        end = self.end_step()
        if end is not None:
            return end + 1
        return max(self.update_of(self.resolved.span()), 2)

    def events(self, until, offset=0.0):
        found = []
        horizon = self.time(max(until - offset, 0.0)) if math.isfinite(until) else math.inf
        for e in self.resolved.events(horizon):
            if math.isfinite(e.step):
                found.append(self._event(offset + self.update_of(e.step), e.kind, e.declared))
        return found

    def cycles(self, offset=0.0, stop=math.inf):
        return []  # (a cycle written in tokens has no fixed period in updates under a ramp)

    def bounds(self):
        return bounds_of(self.resolved)

    def warnings(self):
        """What cannot work within ``total`` updates: a schedule that ends after the run (Megatron-Bridge#2609:
        a decay written for a constant batch that a ramp leaves unfinished)."""
        found = []
        end = self.end_step()
        if self.total is not None and end is not None and end > self.total:
            at_end = self.time(self.total)
            found.append(f"the schedule ends at update {end:g} ({self.resolved.end_step():g} {self.unit}) but the "
                         f"run has {self._written('total')} updates ({at_end:g} {self.unit}): its decay cannot "
                         f"finish within the run")
        return found


@register
class batch_scaled(Schedule):
    """The LR scaled with the batch size: ``schedule(k) * (batch(k) / base) ** p``, ``rule="sqrt"``
    (``p = 1/2``; Adam-family optimizers, Malladi et al. 2022; OLMo-core's batch-size scheduler
    multiplies the LR by ``sqrt(new / current)`` at each change) or ``"linear"`` (``p = 1``; SGD,
    Goyal et al. 2017, "Accurate, Large Minibatch SGD").

    >>> s = batch_scaled(constant(1.0), batch_sizes([256, 1024], boundaries=[10]), base=256)
    >>> s(9), s(10)
    (1.0, 2.0)
    """
    schedule: Schedule
    batch: Schedule
    base: float
    rule: str = "sqrt"

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        check.schedule("batch", self.batch)
        self._validate("base", check.positive)
        check.choice("rule", self.rule, ("sqrt", "linear"))

    def _power(self):
        return 0.5 if self.rule == "sqrt" else 1.0

    def _f(self, t, xp):
        ratio = self.batch._f(t, xp) / self.base
        return self.schedule._f(t, xp) * (xp.sqrt(ratio) if self.rule == "sqrt" else ratio)

    def end_step(self):
        ends = [self.schedule.end_step(), self.batch.end_step()]
        return None if None in ends else max(ends)

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else max(self.schedule.span(), self.batch.span())

    def events(self, until, offset=0.0):
        return self.schedule.events(until, offset) + self.batch.events(until, offset)

    def cycles(self, offset=0.0, stop=math.inf):
        return self.schedule.cycles(offset, stop)

    def bounds(self):
        (a, b), (c, d) = bounds_of(self.schedule), bounds_of(self.batch)
        p = self._power()
        return (a * (c / self.base) ** p, b * (d / self.base) ** p if math.isfinite(d) else math.inf)


Seesaw = collections.namedtuple("Seesaw", "lr batch")


def seesaw(schedule, batch, factor=2.0, max_batch=None, unit="tokens", seq_len=1, grid=1 << 16):
    """Seesaw (Meterez et al. 2025, "Seesaw: Accelerating Training by Balancing Learning Rate and Batch
    Size Scheduling", arXiv 2510.14717): whenever ``schedule`` (written in ``unit``, tokens or samples)
    has decayed by another ``factor`` from its peak, the batch is multiplied by ``factor`` and the LR cut
    by ``sqrt(factor)`` only: after ``n`` such points the LR is ``schedule(time) * factor ** (n / 2)`` and
    the batch ``batch * factor ** n`` (at most ``max_batch``). Returns ``Seesaw(lr, batch)``: the LR per
    update (a :class:`clocked` value) and the :class:`batch_sizes` schedule to train with.

    >>> plan = seesaw(linear(1.0, 0.0, steps=1000), batch=10, unit="samples", max_batch=40)
    >>> plan.batch.values, [round(plan.lr(k), 4) for k in (0, 49, 50, 62, 63)]
    ((10.0, 20.0, 40.0), [1.0, 0.51, 0.7071, 0.3677, 0.48])
    """
    check.schedule("schedule", schedule)
    batch = check.positive("batch", batch)
    factor = check.real("factor", factor)
    if not factor > 1:
        raise LrkitValueError(f"factor must be > 1, got {factor!r}")
    check.choice("unit", unit, ("tokens", "samples"))
    end = schedule.end_step()
    horizon = end if end is not None else schedule.span()
    t = np.linspace(0.0, horizon, int(grid) + 1)
    values = schedule(t)
    top = int(np.argmax(values))
    peak = float(values[top])
    thresholds, sizes = [], [batch]
    n = 1
    while max_batch is None or batch * factor ** n <= max_batch:
        below = np.flatnonzero(values[top:] <= peak / factor ** n)
        if not below.size or peak / factor ** n <= 0:
            break
        i = top + int(below[0])
        lo, hi = float(t[i - 1]), float(t[i])  # the crossing lies in (lo, hi]: bisect it to a whole number
        while hi - lo > 1:
            mid = math.floor((lo + hi) / 2)
            lo, hi = (mid, hi) if schedule(mid) > peak / factor ** n else (lo, mid)
        thresholds.append(float(math.ceil(hi)))
        sizes.append(batch * factor ** n)
        n += 1
        if n > 64:
            break
    batches = batch_sizes(sizes, boundaries=thresholds, unit=unit, seq_len=seq_len)
    boost = piecewise_constant(thresholds, [factor ** (i / 2) for i in range(len(sizes))])
    lr = clocked(schedule * boost, unit=unit, batch=batches, seq_len=seq_len if unit == "tokens" else None)
    return Seesaw(lr, batches)
