"""Plans that change: a run resumed with a new plan, extended, forked into a cooldown, re-warmed.

Each operation is a schedule value (closed form, readable repr, spec and config, saved and loaded): the
old plan until the step ``at`` where the change happens, then the new part, continuous at ``at`` where the
operation says so. :func:`replan` is the one rule every adapter applies when a resumed run finds a
schedule other than the saved one: ``on_change`` is ``"raise"`` (the default), ``"keep"`` (the saved
plan), ``"new"`` (the new plan as written) or ``"smooth"`` (the new plan re-anchored, :class:`rejoin`).
"""
import math

from . import _checks as check
from ._base import Schedule, bounds_of, register
from ._combinators import sequence
from ._combinators import warmup as warmup_combinator
from ._errors import LrkitError, LrkitValueError, excerpt
from ._recipes import Recipe
from ._shapes import cosine, linear, one_minus_sqrt

#: what a resumed run may do when its schedule is not the saved one (one vocabulary for every adapter)
POLICIES = ("raise", "keep", "new", "smooth")

_COOLDOWNS = {"1-sqrt": one_minus_sqrt, "linear": linear, "cosine": cosine}


class _Fork(Schedule):
    """``schedule`` until the step ``at``, then ``_tail(t)`` (written by the subclass)."""

    def _tail(self, t, xp):
        raise NotImplementedError

    def _f(self, t, xp):
        before = self.schedule._f(xp.minimum(t, self.at), xp)
        return xp.where(t < self.at, before, self._tail(xp.maximum(t, self.at), xp))

    def _tail_events(self, until, offset):
        return []

    def events(self, until, offset=0.0):
        at = float(self.at)
        found = [e for e in self.schedule.events(min(until, offset + at), offset) if e.step < offset + at]
        return found + [self._event(offset + at, "phase")] + self._tail_events(until, offset)

    def cycles(self, offset=0.0, stop=math.inf):
        return self.schedule.cycles(offset, min(stop, offset + float(self.at)))

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else max(self.schedule.span(), float(self.at) + self.schedule.span())


def _final(schedule):
    """The value a schedule settles at, or (when it never settles) the low end of its bounds."""
    end = schedule.end_step()
    return schedule(end) if end is not None else bounds_of(schedule)[0]


@register
class rejoin(_Fork):
    """``before`` until step ``at``, then ``after`` re-anchored so that the LR is continuous at ``at``: a
    run resumed at ``at`` under a new plan continues smoothly. With ``f`` the value ``after`` settles at
    (its lower bound when it never settles) and ``r = (before(at) - f) / (after(at) - f)``,
    ``lr(t) = max(f + (after(t) - f) * r, 0)`` for ``t >= at``: the new plan's shape and its end, from the
    current LR (the floor at 0 only matters where the rescaled shape would overshoot 0, as a rising plan
    rescaled by ``r > 1`` would before ``at``, or by rounding).

    >>> s = rejoin(linear(1.0, 0.0, steps=10), linear(1.0, 0.0, steps=20), at=5)
    >>> [round(s(t), 4) for t in (4, 5, 10, 15, 20, 30)]
    [0.6, 0.5, 0.3333, 0.1667, 0.0, 0.0]
    """
    schedule: Schedule
    after: Schedule
    at: float

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        check.schedule("after", self.after)
        self._validate("at", check.non_negative)
        final, here, target = _final(self.after), self.after(self.at), self.schedule(self.at)
        if here == final:
            raise LrkitValueError(
                f"rejoin cannot re-anchor {excerpt(self.after)} at step {self._written('at')!r}: it is already "
                f"at its final value {final!r} there (nothing left to rescale); take the new plan as written "
                f"(on_change='new') or extend the old one (lrkit.extend)")
        object.__setattr__(self, "_anchor", final)
        object.__setattr__(self, "_ratio", (target - final) / (here - final))

    def _tail(self, t, xp):
        return xp.maximum(self._anchor + (self.after._f(t, xp) - self._anchor) * self._ratio, 0.0)

    def _rescaled(self, x):
        if self._ratio == 0:
            return self._anchor
        if math.isinf(x):
            return x if self._ratio > 0 else -x
        return self._anchor + (x - self._anchor) * self._ratio

    def end_step(self):
        end = self.after.end_step()
        return None if end is None else max(end, float(self.at))

    def _tail_events(self, until, offset):
        return [e for e in self.after.events(until, offset) if e.step >= offset + float(self.at)]

    def bounds(self):
        ends = [max(self._rescaled(x), 0.0) for x in bounds_of(self.after)]
        a, b = bounds_of(self.schedule)
        return (min(a, *ends), max(b, *ends))


@register
class extend(_Fork):
    """``schedule`` extended at step ``at`` to end at ``steps`` instead of where it ended
    (``E = schedule.end_step()``). ``how="stretch"``: the rest of it slowed down to fit,
    ``lr(t) = schedule(at + (t - at) * (E - at) / (steps - at))``; ``how="hold"``: its value at ``at``
    held for ``steps - E`` more updates, then the rest as it was, ``lr(t) = schedule(t - (steps - E))``.
    Continuous at ``at`` either way (OLMo-core PR #368 stretched a run this way by hand).

    >>> s = extend(linear(1.0, 0.0, steps=10), steps=20, at=6)
    >>> [round(s(t), 4) for t in (5, 6, 13, 20)]
    [0.5, 0.4, 0.2, 0.0]
    >>> [round(extend(linear(1.0, 0.0, steps=10), steps=20, at=6, how="hold")(t), 4) for t in (6, 15, 16, 20)]
    [0.4, 0.4, 0.4, 0.0]
    """
    schedule: Schedule
    steps: float
    at: float
    how: str = "stretch"

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        self._validate("steps", check.positive)
        self._validate("at", check.non_negative)
        check.choice("how", self.how, ("stretch", "hold"))
        end = self.schedule.end_step()
        if end is None:
            raise LrkitValueError(f"extend needs a schedule that ends (end_step() is not None), got "
                                  f"{excerpt(self.schedule)}: it has no end to move")
        if not self.at < end:
            raise LrkitValueError(f"at must be before the schedule's end ({end:g}), got at={self._written('at')!r}")
        if not self.steps >= end:
            raise LrkitValueError(f"steps (the new end) must be >= the schedule's end ({end:g}), got "
                                  f"steps={self._written('steps')!r}")
        object.__setattr__(self, "_end", end)

    def _tail(self, t, xp):
        if self.how == "stretch":
            rate = (self._end - self.at) / (self.steps - self.at)
            return self.schedule._f(self.at + (t - self.at) * rate, xp)
        delay = self.steps - self._end
        return self.schedule._f(xp.maximum(t - delay, self.at), xp)

    def end_step(self):
        return float(self.steps)

    def _tail_events(self, until, offset):
        """The schedule's own points after ``at``, moved where the extension puts them, and the new end."""
        at, end = float(self.at), self._end
        if self.how == "stretch":
            moved = lambda step: at + (step - at) * (self.steps - at) / (end - at)  # noqa: E731
        else:
            moved = lambda step: step + (self.steps - end)  # noqa: E731
        inner = [e for e in self.schedule.events(offset + end, offset) if offset + at < e.step <= offset + end]
        return [self._event(offset + moved(e.step - offset), e.kind, e.declared) for e in inner] + [
            self._event(offset + float(self.steps), "end")]

    def bounds(self):
        return bounds_of(self.schedule)


def _forked(recipe, tail):
    """``recipe.schedule`` until ``recipe.at``, then ``tail`` (on its own clock): the expansion of a fork."""
    if recipe.at > 0:
        return sequence([recipe.schedule, tail], boundaries=[recipe._written("at")])
    return tail


@register
class cooldown(Recipe):
    """A cooldown forked from ``schedule`` at step ``at``: from its value there down to ``end`` over
    ``steps`` updates, ``shape`` ``"1-sqrt"`` (default), ``"linear"`` or ``"cosine"``; continuous at
    ``at``. The "anytime" checkpoints of a warmup-stable-decay run (Hägele et al. 2024, "Scaling Laws
    and Compute-Optimal Training Beyond Fixed Training Durations"): one stable run, a cooldown forked
    from any of its steps.

    >>> s = cooldown(wsd(1.0, steps=100, warmup=10, decay=20), at=40, steps=10, shape="linear")
    >>> [round(s(t), 4) for t in (39, 40, 45, 50, 60)]
    [1.0, 1.0, 0.5, 0.0, 0.0]
    """
    schedule: Schedule
    at: float
    steps: float
    shape: str = "1-sqrt"
    end: float = 0.0

    def _expand(self):
        check.schedule("schedule", self.schedule)
        self._validate("at", check.non_negative)
        self._validate("steps", check.positive)
        check.choice("shape", self.shape, tuple(_COOLDOWNS))
        self._validate("end", check.non_negative)
        peak = self.schedule(self.at)
        if self.end > peak:
            raise LrkitValueError(f"end must be <= the value at the fork ({peak!r} at step {self._written('at')!r}) "
                                  f"for a cooldown, got end={self._written('end')!r}")
        return _forked(self, _COOLDOWNS[self.shape](peak, self._written("end"), steps=self._written("steps")))


@register
class rewarm(Recipe):
    """Continual pre-training (Ibrahim et al. 2024, "Simple and Scalable Strategies to Continually
    Pre-train Large Language Models"): ``schedule`` until step ``at``, then a linear re-warming from its
    value there to ``peak`` over ``warmup`` updates and a re-decay (``shape`` ``"cosine"``, ``"linear"``
    or ``"1-sqrt"``) to ``end``, ``steps`` updates for both. Continuous at ``at``.

    >>> s = rewarm(linear(1.0, 0.1, steps=10), at=10, peak=1.0, warmup=2, steps=12, shape="linear", end=0.1)
    >>> [round(s(t), 4) for t in (9, 10, 11, 12, 17, 22)]
    [0.19, 0.1, 0.55, 1.0, 0.55, 0.1]
    """
    schedule: Schedule
    at: float
    peak: float
    warmup: float
    steps: float
    shape: str = "cosine"
    end: float = 0.0

    def _expand(self):
        check.schedule("schedule", self.schedule)
        self._validate("at", check.non_negative)
        self._validate("peak", check.non_negative)
        self._validate("warmup", check.positive)
        self._validate("steps", check.positive)
        check.choice("shape", self.shape, tuple(_COOLDOWNS))
        self._validate("end", check.non_negative)
        if not self.warmup < self.steps:
            raise LrkitValueError(f"warmup must be < steps (the re-warming and the re-decay), got warmup="
                                  f"{self._written('warmup')!r}, steps={self._written('steps')!r}")
        w = self._written
        decay = _COOLDOWNS[self.shape](w("peak"), w("end"), steps=w("steps") - w("warmup"))
        return _forked(self, warmup_combinator(decay, steps=w("warmup"), start=self.schedule(self.at)))


# ---- the rule on resume ------------------------------------------------------------------------------
def check_policy(on_change, allowed=POLICIES, name="on_change"):
    """``on_change`` if it is one of ``allowed``; lrkit's error naming it otherwise."""
    return check.choice(name, on_change, allowed)


def continues(saved, current):
    """Whether ``saved`` is ``current`` continued: the same value, or a :class:`rejoin` onto it (a plan
    chosen on an earlier resume)."""
    return saved == current or (isinstance(saved, rejoin) and saved.after == current)


def jump(saved, current, at):
    """``(old, new)``: the two plans' values at step ``at``."""
    return saved(at), current(at)


def change_message(saved, current, at, where="schedule"):
    """The text of a changed plan: both schedules (bounded excerpts), the step and the LR jump there."""
    old, new = jump(saved, current, at)
    ratio = f" ({new / old:.4g}x)" if old else ""
    return (f"the {where} changed on resume at step {at:g}: saved {excerpt(saved)}, now {excerpt(current)}; "
            f"the value at step {at:g} jumps {old:.6g} -> {new:.6g}{ratio}")


def replan(saved, current, at, on_change="raise", where="schedule"):
    """The schedule a run resumed at step ``at`` follows when it was saved under ``saved`` and now has
    ``current``: ``current`` when nothing changed (or ``saved`` continues it, see :func:`continues`);
    else per ``on_change``: ``"raise"`` lrkit's error (both schedules, the step, the jump), ``"keep"``
    ``saved``, ``"new"`` ``current``, ``"smooth"`` ``rejoin(saved, current, at)``.

    >>> old, new = cosine(1.0, 0.0, steps=100), cosine(1.0, 0.0, steps=200)
    >>> replan(old, new, 50, "smooth")(50) == old(50)
    True
    """
    check_policy(on_change)
    if continues(saved, current):
        return saved
    if on_change == "raise":
        raise LrkitValueError(
            f"{change_message(saved, current, at, where)}. A changed plan is never taken silently: choose "
            f"on_change='keep' (the saved plan), 'new' (the new plan as written, with this jump) or 'smooth' "
            f"(the new plan re-anchored to the current value: lrkit.rejoin)")
    if on_change == "keep":
        return saved
    if on_change == "new":
        return current
    try:
        return rejoin(saved, current, at)
    except LrkitError as error:
        raise type(error)(f"on_change='smooth' at step {at:g}: {error}") from None


def diff(old, new, steps=None, at=None, tolerance=1e-12):
    """Where two schedules differ over ``steps`` (an array; default 0 .. the longer span): a dict with
    ``first`` and ``last`` (the first and last step where they differ by more than ``tolerance``
    relative, None if nowhere), ``largest`` (the step of the largest difference), ``old`` and ``new``
    (the values there), and with ``at`` (a resume step) ``at_old`` / ``at_new``.

    >>> d = diff(linear(1.0, 0.0, steps=10), linear(1.0, 0.0, steps=20))
    >>> d["first"], d["largest"], round(d["new"] - d["old"], 4)
    (1.0, 10.0, 0.5)
    """
    import numpy as np
    old, new = check.schedule("old", old), check.schedule("new", new)
    if steps is None:
        length = max(old.span(), new.span(), 0 if at is None else at + 1)
        steps = np.arange(math.ceil(min(length, 1e6)) + 1, dtype=np.float64)
    t = np.asarray(steps, dtype=np.float64)
    a, b = old(t), new(t)
    gap = np.abs(a - b)
    differ = gap > tolerance * np.maximum(np.abs(a), np.abs(b))
    where = np.flatnonzero(differ)
    out = {"first": float(t[where[0]]) if where.size else None,
           "last": float(t[where[-1]]) if where.size else None}
    i = int(np.argmax(gap))
    out.update(largest=float(t[i]), old=float(a[i]), new=float(b[i]))
    if at is not None:
        out.update(at=float(at), at_old=float(old(at)), at_new=float(new(at)))
    return out

