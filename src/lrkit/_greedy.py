"""The greedy controller: raises the LR while a metric keeps improving and lowers it when it stalls
(GreedyLR, Subramanian et al. 2025, arXiv 2512.14527; transformers' ``greedy`` scheduler type). Like
``plateau`` it is a value (the rules) with a pure ``update(state, metric) -> state``; the state is a second
small value of plain numbers, the LR of each param group included (its clamps make the LRs depend on the
path, not only on how many raises and cuts there were). No framework import.

>>> ctl = greedy(factor=0.5, patience=1, min_lr=0.1, max_lr=1.0)
>>> state = ctl.init([0.4])
>>> for loss in [5.0, 4.0, 3.0, 3.0, 3.0]:
...     state = ctl.update(state, loss)
>>> state.lrs, state.increases, state.reductions
((0.4,), 1, 1)
"""
import dataclasses
import math
import numbers
import typing

from . import _checks as check
from ._errors import LrkitTypeError, LrkitValueError, excerpt
from ._plateau import Controller, _metric_float, counts_nonfinite, plateau, state_fields


class GreedyState(typing.NamedTuple):
    """Where a greedy controller stands: plain numbers only (``to_dict`` / ``from_dict`` round-trip).

    ``lrs``: each param group's LR now; ``initial``: the LRs a reset returns to; ``best``: the best
    (smoothed) metric since the last reset; ``bad_epochs`` / ``good_epochs``: epochs since the last
    improvement / improvements in a row; ``cooldown_left`` / ``warmup_left``: epochs still to wait after a cut /
    a raise; ``reset_left``: cuts with every group at its floor still allowed before a reset; ``window`` and
    ``window_sum``: the smoothing window and its running sum (``smooth=True``); ``epochs``, ``increases``,
    ``reductions``, ``resets``: counts.
    """
    lrs: typing.Tuple[float, ...]
    initial: typing.Tuple[float, ...]
    best: float
    reset_left: int
    bad_epochs: int = 0
    good_epochs: int = 0
    cooldown_left: int = 0
    warmup_left: int = 0
    window: typing.Tuple[float, ...] = ()
    window_sum: float = 0.0
    epochs: int = 0
    increases: int = 0
    reductions: int = 0
    resets: int = 0

    def to_dict(self):
        """A dict of plain ints, floats and lists of floats."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._asdict().items()}

    @classmethod
    def from_dict(cls, data):
        """The state a ``to_dict()`` output describes (validated first; the dict is not modified)."""
        state_fields("greedy", cls, data)
        missing = [n for n in ("lrs", "initial", "best", "reset_left") if n not in data]
        if missing:
            raise LrkitValueError(f"greedy state lacks {missing}")
        values = {}
        for name in ("lrs", "initial", "window"):
            items = data.get(name, [])
            if not isinstance(items, (list, tuple)):
                raise LrkitValueError(f"greedy state {name} must be a list of numbers, got {excerpt(items)}")
            values[name] = tuple(_number(f"greedy state {name}[{i}]", v, finite=name != "window")
                                 for i, v in enumerate(items))
        if len(values["lrs"]) != len(values["initial"]) or not values["lrs"]:
            raise LrkitValueError(f"greedy state lrs and initial must be lists of the same non-zero length, got "
                                  f"{len(values['lrs'])} and {len(values['initial'])}")
        if any(v < 0 for v in values["lrs"] + values["initial"]):
            raise LrkitValueError(f"greedy state LRs must be >= 0, got {excerpt(data['lrs'])}")
        values["best"] = _number("greedy state best", data["best"], finite=False)
        values["window_sum"] = _number("greedy state window_sum", data.get("window_sum", 0.0), finite=False)
        for name in ("reset_left", "bad_epochs", "good_epochs", "cooldown_left", "warmup_left", "epochs",
                     "increases", "reductions", "resets"):
            if name == "reset_left":
                value = data[name]
                if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                    raise LrkitTypeError(f"greedy state reset_left must be an integer, got {excerpt(value)}")
                values[name] = int(value)
            else:
                values[name] = check.count(f"greedy state {name}", data.get(name, 0))
        return cls(**values)


def _number(name, value, finite=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LrkitTypeError(f"{name} must be a number, got {excerpt(value)}")
    value = float(value)
    if value != value or (finite and not math.isfinite(value)):
        raise LrkitValueError(f"{name} must be {'finite' if finite else 'a number (inf allowed)'}, got {excerpt(value)}")
    return value


@dataclasses.dataclass(frozen=True)
class greedy(Controller):
    """Raise-and-lower rules (GreedyLR's, as a value; Subramanian et al. 2025, "GreedyLR: A Novel Adaptive
    Learning Rate Scheduler", arXiv 2512.14527).

    Each epoch's metric (with ``smooth=True`` the mean of the last ``window_size``, kept as a running sum) is
    compared with ``best`` (the improvement test of ``plateau``: ``threshold``, ``threshold_mode``, ``mode``,
    ``threshold_rule``). During a cooldown (after a cut) or a warmup (after a raise) the epoch only counts
    down. Otherwise ``patience + 1`` improvements in a row raise every group's LR to
    ``min(lr / factor, max_lr)`` (kept when it changes it by more than ``eps``) and start a warmup of
    ``warmup`` epochs; ``patience + 1`` epochs without one cut it to ``max(lr * factor, min_lr)`` (the same
    ``eps``) and start a cooldown of ``cooldown``. A cut that leaves every group at its floor uses up one of
    ``reset_start``; when none is left the state resets (the initial LRs, a fresh best, an empty window)
    and the cooldown starts; a raise gives all of ``reset_start`` back. ``nonfinite``: ``"raise"``
    (default), ``"bad"`` (the metric goes through the same steps: never an improvement, and in a smoothing
    window it stays in the sum, as in transformers) or ``"ignore"`` (the call changes nothing).

    >>> ctl = greedy(factor=0.5, patience=0, min_lr=0.01, max_lr=1.0)
    >>> state = ctl.init([0.1])
    >>> ctl.update(state, 1.0).lrs  # an improvement on the fresh best: patience 0, a raise
    (0.2,)
    """
    mode: str = "min"
    factor: float = 0.95
    patience: int = 10
    threshold: float = 1e-6
    threshold_mode: str = "abs"
    cooldown: int = 0
    warmup: int = 0
    min_lr: typing.Union[float, typing.Tuple[float, ...]] = 1e-3
    max_lr: typing.Union[float, typing.Tuple[float, ...]] = 1.0
    eps: float = 1e-8
    smooth: bool = False
    window_size: int = 50
    reset_start: int = 500
    nonfinite: str = "raise"
    threshold_rule: str = "magnitude"

    def __post_init__(self):
        factor = check.real("factor", self.factor)
        if not 0 < factor < 1:
            raise LrkitValueError(f"factor must be in (0, 1) (a raise divides by it, a cut multiplies), got "
                                  f"{excerpt(factor)}")
        object.__setattr__(self, "factor", float(factor))
        for name in ("patience", "cooldown", "warmup", "reset_start"):
            object.__setattr__(self, name, check.count(name, getattr(self, name)))
        object.__setattr__(self, "window_size", check.count("window_size", self.window_size))
        if self.window_size < 1:
            raise LrkitValueError(f"window_size must be >= 1, got {self.window_size}")
        object.__setattr__(self, "eps", float(check.non_negative("eps", self.eps)))
        check.flag("smooth", self.smooth)
        check.choice("nonfinite", self.nonfinite, ("raise", "bad", "ignore"))
        for name in ("min_lr", "max_lr"):
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                value = tuple(float(check.non_negative(f"{name}[{i}]", v)) for i, v in enumerate(value))
                if not value:
                    raise LrkitValueError(f"{name} must be a number or a non-empty list of numbers, got []")
            else:
                value = float(check.non_negative(name, value))
            object.__setattr__(self, name, value)
        # the improvement test: plateau's, one rule for both controllers
        object.__setattr__(self, "_test", plateau(mode=self.mode, threshold=self.threshold,
                                                  threshold_mode=self.threshold_mode,
                                                  threshold_rule=self.threshold_rule))
        object.__setattr__(self, "threshold", self._test.threshold)

    @property
    def worst(self):
        """The ``best`` of a fresh state: ``inf`` for mode "min", ``-inf`` for "max"."""
        return self._test.worst

    def bounds(self, groups):
        """``(min_lrs, max_lrs)`` for ``groups`` param groups (a list of numbers must have one per group)."""
        out = []
        for name in ("min_lr", "max_lr"):
            value = getattr(self, name)
            if isinstance(value, tuple):
                if len(value) != groups:
                    raise LrkitValueError(f"{name} has {len(value)} entries, expected {groups} (one per param group)")
                out.append(value)
            else:
                out.append((value,) * groups)
        return tuple(out)

    def init(self, lrs):
        """The state before any metric, the groups starting at ``lrs`` (a number or one per group)."""
        if isinstance(lrs, numbers.Real):
            lrs = [lrs]
        lrs = tuple(float(check.non_negative(f"lrs[{i}]", v)) for i, v in enumerate(lrs))
        if not lrs:
            raise LrkitValueError("lrs must hold at least one LR, got []")
        self.bounds(len(lrs))
        return GreedyState(lrs=lrs, initial=lrs, best=self.worst, reset_left=self.reset_start)

    def is_better(self, metric, best):
        return self._test.is_better(metric, best)

    def update(self, state, metric):
        """The state after one epoch's ``metric`` (a pure function; ``state`` is not modified)."""
        if type(state) is not GreedyState:
            raise LrkitTypeError(f"state must be a GreedyState (from greedy.init(lrs)), got {excerpt(state)}")
        current = _metric_float(metric)
        if not math.isfinite(current) and not counts_nonfinite("greedy", self.nonfinite, current):
            return state
        s = state._asdict()
        if self.smooth:
            window, total = list(state.window) + [current], state.window_sum + current
            if len(window) > self.window_size:
                total -= window.pop(0)
            s["window"], s["window_sum"] = tuple(window), total
            current = total / len(window)
        s["epochs"] += 1
        if s["cooldown_left"] > 0:
            s.update(cooldown_left=s["cooldown_left"] - 1, bad_epochs=0, good_epochs=0)
        elif s["warmup_left"] > 0:
            s.update(warmup_left=s["warmup_left"] - 1, bad_epochs=0, good_epochs=0)
        else:
            if self.is_better(current, s["best"]):
                s.update(best=current, bad_epochs=0, good_epochs=s["good_epochs"] + 1)
            else:
                s.update(bad_epochs=s["bad_epochs"] + 1, good_epochs=0)
            if s["good_epochs"] > self.patience:
                self._raise(s)
                s.update(warmup_left=self.warmup, good_epochs=0)
            elif s["bad_epochs"] > self.patience:
                self._cut(s)
                s.update(cooldown_left=self.cooldown, bad_epochs=0)
        return GreedyState(**s)

    def _cut(self, s):
        floors, _ = self.bounds(len(s["lrs"]))
        lrs = []
        for old, floor in zip(s["lrs"], floors):
            new = max(old * self.factor, floor)
            lrs.append(new if old - new > self.eps else old)
        s.update(lrs=tuple(lrs), reductions=s["reductions"] + 1)
        if all(lr <= floor for lr, floor in zip(lrs, floors)):
            s["reset_left"] -= 1
            if s["reset_left"] <= 0:
                s.update(lrs=s["initial"], best=self.worst, bad_epochs=0, good_epochs=0, cooldown_left=0,
                         warmup_left=0, reset_left=self.reset_start, resets=s["resets"] + 1)
                if self.smooth:
                    s.update(window=(), window_sum=0.0)

    def _raise(self, s):
        _, ceilings = self.bounds(len(s["lrs"]))
        lrs = []
        for old, ceiling in zip(s["lrs"], ceilings):
            new = min(old / self.factor, ceiling)
            lrs.append(new if new - old > self.eps else old)
        s.update(lrs=tuple(lrs), increases=s["increases"] + 1, reset_left=self.reset_start)

    # ---- as a stage over a schedule --------------------------------------------------------------
    def scale(self, state, group=0):
        """``lrs[group] / initial[group]``: the multiplier the controller has put on the group's first LR
        (1 for an initial LR of 0)."""
        first = state.initial[group]
        return state.lrs[group] / first if first else 1.0

    def apply(self, value, state, group=0):
        """The greedy stage over a schedule value: ``value * lrs / initial`` of the group, exactly the
        controller's LR where the schedule is at the value it started from (a constant schedule).

        >>> ctl = greedy(factor=0.5, patience=0)
        >>> state = ctl.update(ctl.init([0.1]), 1.0)
        >>> ctl.apply(0.1, state), ctl.apply(0.05, state)
        (0.2, 0.1)
        """
        value = float(value)
        if value == state.initial[group]:
            return state.lrs[group]
        return value * self.scale(state, group)
