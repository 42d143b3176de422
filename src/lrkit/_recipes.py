"""Named recipes: schedules defined only by shapes and combinators. Each keeps its own readable
repr (and config); ``.expanded`` shows what it is built from, and answers for it (where it ends, its
events, ...) unless the recipe knows better."""
import math
import typing

from . import _checks as check
from ._base import Schedule, bounds_of, register
from ._combinators import clip, repeat, sequence, warmup
from ._decays import one_minus_power, shifted_exponential
from ._errors import LrkitValueError
from ._shapes import constant, cosine, exponential, linear, one_minus_sqrt, piecewise_constant


class Recipe(Schedule):
    """A schedule whose formula is another lrkit schedule, ``expanded``, built once at construction by
    ``_expand()`` (which also validates the arguments). It describes itself as ``expanded`` does."""

    def _expand(self):
        raise NotImplementedError

    def __post_init__(self):
        object.__setattr__(self, "expanded", self._expand())

    def _f(self, t, xp):
        return self.expanded._f(t, xp)

    def end_step(self):
        return self.expanded.end_step()

    def span(self):
        return self.expanded.span()

    def events(self, until, offset=0.0):
        return self.expanded.events(until, offset)

    def cycles(self, offset=0.0, stop=math.inf):
        return self.expanded.cycles(offset, stop)

    def _whole(self):
        return self.expanded._whole()

    def bounds(self):
        return bounds_of(self.expanded)


@register
class step_decay(Recipe):
    """Multiply by ``gamma`` every ``period`` updates (torch StepLR): ``start * gamma ** floor(t / period)``.

    >>> [round(step_decay(0.1, period=3)(t), 6) for t in range(7)]
    [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001]
    """
    start: float
    period: float
    gamma: float = 0.1

    def _expand(self):
        self._validate("start", check.non_negative)
        self._validate("period", check.positive)
        self._validate("gamma", check.non_negative)
        w = self._written  # the arguments as written (an int stays an int in the expansion's repr)
        return exponential(w("start"), w("gamma"), steps=w("period"), staircase=True)

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else 5 * self.period

    def events(self, until, offset=0.0):
        return self._periodic_events(self.period, until, offset, "decay step")


@register
class multistep(Recipe):
    """Multiply by ``gamma`` at each milestone (torch MultiStepLR): ``start * gamma ** #{m <= t}``.

    >>> [round(multistep(0.1, milestones=[3, 7])(t), 6) for t in range(9)]
    [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001]
    """
    start: float
    milestones: typing.Tuple[float, ...]
    gamma: float = 0.1

    def _expand(self):
        self._validate("start", check.non_negative)
        self._validate("milestones", check.increasing, check.non_negative)
        self._validate("gamma", check.non_negative)
        w = self._written
        try:
            start, gamma = w("start"), w("gamma")
            values = [start * gamma ** i for i in range(len(self.milestones) + 1)]
        except OverflowError:
            raise LrkitValueError(f"gamma={self.gamma!r} over {len(self.milestones)} milestones takes start * "
                                  f"gamma ** k beyond float range") from None
        return piecewise_constant(w("milestones"), values)

    def events(self, until, offset=0.0):
        return [self._event(offset + float(m), "milestone") for m in self.milestones]


@register
class one_cycle(Recipe):
    """The 1cycle policy (Smith & Topin 2018, "Super-Convergence"), as torch OneCycleLR.

    Up from ``peak / div_factor`` to ``peak`` until step ``pct_start * steps - 1``, then down to
    ``peak / div_factor / final_div_factor`` at step ``steps - 1`` (with ``three_phase``, first back
    to ``peak / div_factor`` at ``2 * pct_start * steps - 2``). ``anneal`` is ``"cos"`` or ``"linear"``.

    >>> s = one_cycle(1.0, steps=10, pct_start=0.3, anneal="linear", div_factor=10.0, final_div_factor=1.0)
    >>> [round(s(t), 3) for t in range(10)]
    [0.1, 0.55, 1.0, 0.871, 0.743, 0.614, 0.486, 0.357, 0.229, 0.1]
    """
    peak: float
    steps: float
    pct_start: float = 0.3
    anneal: str = "cos"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False

    def _expand(self):
        self._validate("peak", check.non_negative)
        self._validate("steps", check.positive)
        self._validate("pct_start", check.fraction)
        check.choice("anneal", self.anneal, ("cos", "linear"))
        self._validate("div_factor", check.positive)
        self._validate("final_div_factor", check.positive)
        check.flag("three_phase", self.three_phase)
        initial = self.peak / self.div_factor
        final = initial / self.final_div_factor
        levels = [initial, self.peak, initial, final] if self.three_phase else [initial, self.peak, final]
        return self._phases(levels)

    def _phases(self, levels):
        """The ``anneal`` shape from each level to the next, one phase each, joined at the phase ends."""
        shape = cosine if self.anneal == "cos" else linear
        up_end = float(self.pct_start * self.steps) - 1
        if self.three_phase:
            ends = [up_end, float(2 * self.pct_start * self.steps) - 2, self._written("steps") - 1]
        else:
            ends = [up_end, self._written("steps") - 1]
        starts = [0.0] + ends[:-1]
        if not all(end > begin for begin, end in zip(starts, ends)):
            raise LrkitValueError(
                f"one_cycle phases need pct_start * steps > 1 and room after the warmup, got "
                f"pct_start={self._written('pct_start')!r}, steps={self._written('steps')!r} (phase ends {ends})")
        parts = [shape(levels[i], levels[i + 1], steps=ends[i] - starts[i]) for i in range(len(ends))]
        return sequence(parts, boundaries=ends[:-1])

    def momentum(self, high, low):
        """The momentum (or Adam's beta1) of the 1cycle policy, which moves against the LR: ``high`` at
        the start, ``low`` where the LR peaks, back to ``high`` where the LR is down again, each phase
        with the ``anneal`` shape (``three_phase``: ``high`` held through the last phase), then held
        (Smith & Topin 2018; torch OneCycleLR's ``cycle_momentum`` with ``max_momentum=high``,
        ``base_momentum=low``).

        >>> m = one_cycle(1.0, steps=10, pct_start=0.3, anneal="linear").momentum(0.95, 0.85)
        >>> [round(m(t), 4) for t in (0, 1, 2, 9, 12)]
        [0.95, 0.9, 0.85, 0.95, 0.95]
        """
        high, low = check.non_negative("high", high), check.non_negative("low", low)
        return self._phases([high, low, high, high] if self.three_phase else [high, low, high])

    def extrapolated(self, curve=None):
        """``curve`` (this schedule by default, or one of its ``momentum`` curves) with its last phase going
        on past step ``steps - 1`` as the anneal formula goes, instead of holding: the cosine turns back
        towards the level the phase started from, the line goes on beyond its end (down to 0 at most:
        where torch's line goes below 0, this one stops at 0). torch's OneCycleLR allows one scheduler step past ``total_steps - 1`` and computes
        it this way; ``lrkit.torch.OneCycleLR`` follows it.

        >>> s = one_cycle(1.0, steps=10, pct_start=0.3, anneal="linear", div_factor=10.0, final_div_factor=1.0)
        >>> round(s(10), 4), round(s.extrapolated()(10), 4), round(s.extrapolated()(12), 4)
        (0.1, 0.0, 0.0)
        """
        phases = self.expanded if curve is None else curve
        last = phases.schedules[-1]
        a, b = last.start, last.end  # exactly b at steps - 1, then back towards a (cos) or on beyond b (linear)
        if self.anneal == "cos":  # (the same curve both ways; each form keeps its intermediate terms >= 0)
            tail = cosine(0.0, 1.0, steps=last.steps) * (a - b) + b if a >= b else cosine(b, a, steps=last.steps)
        elif b >= a:
            tail = linear(0.0, 1.0, steps=last.steps) * (b - a) + b
        elif b - (a - b) >= 0:
            tail = linear(b, b - (a - b), steps=last.steps)
        else:  # a line that would cross 0: it stops at 0 (an LR is never negative; torch's goes below)
            tail = linear(b, 0.0, steps=last.steps * b / (a - b)) if b > 0 else constant(0.0)
        return sequence([self if curve is None else curve, tail], boundaries=[self._written("steps") - 1])


@register
class cosine_wave(Recipe):
    """A cosine that does not stop at ``steps``: down from ``start`` to ``end`` over ``steps`` updates,
    back up to ``start`` over the next ``steps``, and so on (period ``2 * steps``), for every ``t``
    ``lr(t) = end + (start - end) * (1 + cos(pi * t / steps)) / 2``. This is torch's CosineAnnealingLR,
    which follows its formula past ``T_max`` (``cosine`` holds ``end`` after ``steps`` instead).

    >>> s = cosine_wave(1.0, 0.0, steps=4)
    >>> [round(s(t), 4) for t in range(10)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.1464, 0.5, 0.8536, 1.0, 0.8536]
    """
    start: float
    end: float
    steps: float

    def _expand(self):
        self._validate("start", check.non_negative)
        self._validate("end", check.non_negative)
        self._validate("steps", check.positive)
        start, end, steps = self._written("start"), self._written("end"), self._written("steps")
        down = cosine(start, end, steps=steps)
        up = cosine(end, start, steps=steps)
        return repeat(sequence([down, up], boundaries=[steps]), period=2 * steps)


@register
class wsd(Recipe):
    """Warmup-stable-decay (Hägele et al. 2024; Hu et al. 2024 "MiniCPM"): linear warmup over
    ``warmup`` updates, ``peak`` held, then a cooldown of ``decay`` updates to ``end``, ``steps`` in all.

    ``shape``: ``"1-sqrt"`` (``one_minus_sqrt``), ``"linear"``, ``"cosine"``, ``"exponential"``
    (geometric from ``peak`` to ``end``, which must then be > 0), ``"1-square"`` (``one_minus_power``) or
    ``"shifted-exponential"`` (``shifted_exponential``: Megatron-LM's and MiniCPM's ``2 * 0.5**u - 1``).

    >>> s = wsd(1.0, steps=10, warmup=2, decay=4, shape="linear")
    >>> [s(t) for t in range(11)]
    [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    peak: float
    steps: float
    warmup: float
    decay: float
    shape: str = "1-sqrt"
    end: float = 0.0

    def _expand(self):
        self._validate("peak", check.non_negative)
        self._validate("steps", check.positive)
        self._validate("warmup", check.non_negative)
        self._validate("decay", check.positive)
        check.choice("shape", self.shape, ("1-sqrt", "linear", "cosine", "exponential", "1-square",
                                           "shifted-exponential"))
        self._validate("end", check.non_negative)
        if self.end > self.peak:
            raise LrkitValueError(f"end must be <= peak for a decay, got end={self._written('end')!r} > peak={self._written('peak')!r}")
        peak, end, steps, ramp, decay = (self._written(n) for n in ("peak", "end", "steps", "warmup", "decay"))
        stable = steps - ramp - decay
        if stable < 0:
            raise LrkitValueError(
                f"warmup + decay must fit in steps, got warmup={self._written('warmup')!r} + decay={self._written('decay')!r} > steps={self._written('steps')!r}")
        if self.shape == "exponential":
            if self.end <= 0:
                raise LrkitValueError(f"an exponential cooldown needs end > 0, got end={self._written('end')!r}")
            cooldown = clip(exponential(peak, end / peak, steps=decay), floor=end)
        elif self.shape in ("1-square", "shifted-exponential"):
            cooldown = (one_minus_power if self.shape == "1-square" else shifted_exponential)(peak, end, steps=decay)
        else:
            cooldown = {"1-sqrt": one_minus_sqrt, "linear": linear, "cosine": cosine}[self.shape](
                peak, end, steps=decay)
        body = sequence([constant(peak), cooldown], boundaries=[stable]) if stable > 0 else cooldown
        return warmup(body, steps=ramp) if ramp > 0 else body


@register
class linear_to_zero(Recipe):
    """The recommended default: a linear warmup to ``peak``, then a straight line down to 0 at ``steps``.

    With ``w = warmup`` (default ``round(0.05 * steps)``, 5% of the run):
    ``lr(t) = peak * t / w`` for ``t < w``, ``peak * (1 - (t - w) / (steps - w))`` for ``w <= t < steps``,
    and 0 from ``steps`` on; every update 0..steps-1 but the first has an LR > 0.

    Why this one: linear decay to zero matches or beats cosine and step decay across tasks
    (Defazio et al. 2023, "When, Why and How Much? Adaptive Learning Rate Scheduling by Refinement";
    Bergsma et al. 2025, "Straight to Zero: Why Linearly Decaying the Learning Rate to Zero Works Best
    for LLMs"). In lrkit's shoot-out (``lrkit shootout``: MNIST-5k, AdamW, 16 seeds, on three sets of CPU
    kernels) it beat constant, step and exponential decay on each, and no schedule beat it; the best
    decays are within noise of each other. If the length of the run is not known in advance, use ``wsd``
    (Hägele et al. 2024) instead.

    >>> s = linear_to_zero(1.0, steps=10, warmup=2)
    >>> [round(s(t), 3) for t in range(11)]
    [0.0, 0.5, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0]
    >>> linear_to_zero(3e-4, steps=10000).expanded
    warmup(linear(start=0.0003, end=0.0, steps=9500), steps=500)
    """
    peak: float
    steps: float
    warmup: typing.Optional[float] = None

    def _expand(self):
        self._validate("peak", check.non_negative)
        self._validate("steps", check.positive)
        if self.warmup is not None:
            self._validate("warmup", check.non_negative)
        steps = self._written("steps")
        ramp = round(0.05 * steps) if self.warmup is None else self._written("warmup")
        if ramp >= steps:
            raise LrkitValueError(f"warmup must be < steps, got warmup={self._written('warmup')!r} >= steps={self._written('steps')!r}")
        decay = linear(self._written("peak"), 0.0, steps=steps - ramp)
        return warmup(decay, steps=ramp) if ramp > 0 else decay
