"""The plateau controller: lrkit's one stateful, metric-driven piece (no framework imports).

A controller is a value, like a schedule: ``plateau(...)`` is a frozen dataclass holding the rules
(mode, threshold, patience, cooldown, factor, floor). Its state is a second small value,
:class:`PlateauState`, made of plain ints and floats. ``update`` is a pure function
``(state, metric) -> state``; nothing is mutated, so a state can be saved, compared, restored, and the
same metric sequence always gives the same decisions (on every rank of a distributed job, as long as
every rank sees the same metric).

Two ways to turn decisions into learning rates:

- ``reduce(lr)`` is torch's ``ReduceLROnPlateau`` rule for one LR that lives in an optimizer:
  ``max(lr * factor, min_lr)``, applied only when it lowers the LR by more than ``eps``.
  ``lrkit.torch.ReduceLROnPlateau`` calls it on each param group when ``update`` reports a new reduction.
- ``apply(value, state)`` is the plateau *as a stage* over any schedule: the schedule's value times
  ``factor ** reductions``, never pushed below ``min_lr`` by the plateau (a schedule that is already
  below ``min_lr`` is left alone). Warmup then plateau-driven decay is ``apply(warmup(...)(t), state)``
  with metrics counted from the end of the warmup; plateau decay after a cosine is the same with the
  cosine's held final value.

NaN and infinite metrics follow an explicit rule, ``nonfinite``:

- ``"raise"`` (default): ``update`` raises ``LrkitValueError`` naming the metric.
- ``"bad"``: the epoch counts as one without improvement (``bad_epochs`` grows, ``best`` is untouched),
  as torch does for NaN. (torch takes ``-inf`` in mode "min" as a new best that nothing can beat; lrkit
  never lets a non-finite value become ``best``.)
- ``"ignore"``: the call is skipped; the state is returned unchanged (no epoch is counted).

>>> ctl = plateau(factor=0.1, patience=2)
>>> state = ctl.init()
>>> for loss in [2.0, 2.0, 2.0, 2.0]:
...     state = ctl.update(state, loss)
>>> state.reductions, state.bad_epochs, round(ctl.apply(0.1, state), 6)
(1, 0, 0.01)
"""
import dataclasses
import functools
import math
import numbers
import typing

from . import _checks as check
from ._errors import LrkitTypeError, LrkitValueError, excerpt

_INF = math.inf
_new_state = tuple.__new__  # PlateauState from a tuple, without the namedtuple's Python-level __new__
_MODES = ("min", "max")
_THRESHOLD_MODES = ("rel", "abs")
_NONFINITE = ("raise", "bad", "ignore")
_THRESHOLD_RULES = ("magnitude", "torch")


class PlateauState(typing.NamedTuple):
    """Where a plateau controller stands: plain numbers only (``to_dict`` / ``from_dict`` round-trip).

    ``best`` is the best metric seen (``inf`` for mode "min" / ``-inf`` for "max" before the first);
    ``bad_epochs`` the epochs since the last improvement; ``cooldown_left`` the epochs of cooldown still
    to wait; ``epochs`` the metrics counted; ``reductions`` how many times the LR was cut.
    """
    best: float
    bad_epochs: int = 0
    cooldown_left: int = 0
    epochs: int = 0
    reductions: int = 0

    def to_dict(self):
        """A dict of plain ints and floats (``best`` may be ``inf``)."""
        return dict(self._asdict())

    @classmethod
    def from_dict(cls, data):
        """The state a ``to_dict()`` output describes (validated; the dict is not modified)."""
        names = state_fields("plateau", cls, data)
        if "best" not in data:
            raise LrkitValueError("plateau state lacks 'best'")
        best = data["best"]
        if isinstance(best, bool) or not isinstance(best, numbers.Real) or math.isnan(best):
            raise LrkitValueError(f"plateau state best must be a number (inf allowed), got {excerpt(best)}")
        counts = {n: check.count(f"plateau state {n}", data.get(n, 0)) for n in names[1:]}
        return cls(best=float(best), **counts)


def state_fields(kind, cls, data):
    """The fields of the state NamedTuple ``cls``, after checking that ``data`` is a dict with no others."""
    if not isinstance(data, dict):
        raise LrkitTypeError(f"{kind} state must be a dict, got {excerpt(data)}")
    names = list(cls._fields)
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise LrkitValueError(f"{kind} state has unknown key(s) {excerpt(unknown)}; allowed: {names}")
    return names


class Controller:
    """What a metric-driven controller value (``plateau``, ``greedy``: a frozen dataclass) shares: its config."""

    def to_config(self):
        """A JSON-safe dict that ``from_config`` turns back into an equal controller."""
        config = {"name": type(self).__name__}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            config[f.name] = list(value) if isinstance(value, tuple) else value
        return config

    @classmethod
    def from_config(cls, config):
        name = cls.__name__
        if not isinstance(config, dict) or config.get("name") != name:
            raise LrkitValueError(f"config must be a dict with name {name!r}, got {excerpt(config)}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(config) - set(names) - {"name"})
        if unknown:
            raise LrkitValueError(f"config for {name} has unknown key(s) {unknown}; allowed: {names}")
        return cls(**{k: v for k, v in config.items() if k != "name"})


@dataclasses.dataclass(frozen=True)
class plateau(Controller):
    """Reduce-on-plateau rules (torch ``ReduceLROnPlateau``'s, as a value).

    A metric is an improvement when, with ``best`` the best so far,
    ``mode="min"``: ``metric < best - threshold * |best|`` (``threshold_mode="rel"``) or
    ``metric < best - threshold`` (``"abs"``); ``mode="max"``: ``metric > best + threshold * |best|`` or
    ``metric > best + threshold``. ``threshold_rule="torch"`` is torch's relative rule instead,
    ``best * (1 - threshold)`` ("min") and ``best * (1 + threshold)`` ("max"): the same for a positive
    ``best``, but for a negative one its margin points the wrong way (pytorch#38622, #47513: a flat
    metric of -1.0 counts as an improvement every epoch and never reduces; a slowly worsening
    negative metric keeps replacing ``best``); ``lrkit.torch.ReduceLROnPlateau`` keeps it. After more than ``patience`` epochs without improvement the
    controller counts a reduction, then waits ``cooldown`` epochs (bad epochs are not counted during a
    cooldown). ``min_lr`` is a floor (one number, or one per param group); ``eps`` is torch's minimal
    change for ``reduce``; ``nonfinite`` is the NaN/inf rule (see the module docstring).

    >>> ctl = plateau(mode="max", factor=0.5, patience=0, threshold_mode="abs", threshold=0.0)
    >>> state = ctl.init()
    >>> for accuracy in [0.5, 0.6, 0.6, 0.55]:
    ...     state = ctl.update(state, accuracy)
    >>> state.best, state.reductions, ctl.scale(state)
    (0.6, 2, 0.25)
    """
    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: typing.Union[float, typing.Tuple[float, ...]] = 0.0
    eps: float = 1e-8
    nonfinite: str = "raise"
    threshold_rule: str = "magnitude"

    def __post_init__(self):
        check.choice("mode", self.mode, _MODES)
        check.choice("threshold_rule", self.threshold_rule, _THRESHOLD_RULES)
        check.choice("threshold_mode", self.threshold_mode, _THRESHOLD_MODES)
        check.choice("nonfinite", self.nonfinite, _NONFINITE)
        factor = check.real("factor", self.factor)
        if not 0 <= factor < 1:
            raise LrkitValueError(f"factor must be in [0, 1) (new_lr = lr * factor), got {excerpt(factor)}")
        object.__setattr__(self, "factor", float(factor))
        object.__setattr__(self, "patience", check.count("patience", self.patience))
        object.__setattr__(self, "cooldown", check.count("cooldown", self.cooldown))
        object.__setattr__(self, "threshold", float(check.non_negative("threshold", self.threshold)))
        object.__setattr__(self, "eps", float(check.non_negative("eps", self.eps)))
        min_lr = self.min_lr
        if isinstance(min_lr, (list, tuple)):
            min_lr = tuple(float(check.non_negative(f"min_lr[{i}]", v)) for i, v in enumerate(min_lr))
            if not min_lr:
                raise LrkitValueError("min_lr must be a number or a non-empty list of numbers, got []")
        else:
            min_lr = float(check.non_negative("min_lr", min_lr))
        object.__setattr__(self, "min_lr", min_lr)
        self._specialize()

    def _specialize(self):
        object.__setattr__(self, "_rule", self._improvement_rule())
        object.__setattr__(self, "advance", self._advance())
        object.__setattr__(self, "update", self._fast_update())

    def __getstate__(self):  # the per-epoch functions are rebuilt, not pickled
        state = dict(self.__dict__)
        for name in ("_rule", "advance", "update"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        for key, value in state.items():
            object.__setattr__(self, key, value)
        self._specialize()

    def _improvement_rule(self):
        """The improvement test as four numbers ``(s, a, a_negative, b)``, computed here only: ``metric``
        improves on ``best`` when ``metric * s < best * a - b``, with ``a_negative`` for ``a`` where
        ``best < 0`` (``is_better`` and ``advance`` evaluate it).

        Mode "max" is mode "min" on the negated metric: ``s = 1`` ("min") or ``-1`` ("max");
        ``(a, b) = (1 - threshold, 0)`` ("rel") or ``(1, threshold)`` ("abs"), ``a`` negated in mode "max";
        for a negative ``best`` the relative margin ``threshold * |best|`` turns ``1 - threshold`` into
        ``1 + threshold`` (and back in mode "max"), except under torch's rule. Negation is exact in IEEE
        arithmetic, so the test is exactly ``metric < best * (1 - threshold)`` (a negative best:
        ``best * (1 + threshold)``), ``metric > best * (1 + threshold)`` (``best * (1 - threshold)``),
        ``metric < best - threshold``, ``metric > best + threshold``. ``best * a`` is never ``inf - inf``:
        ``best = inf`` (a fresh state) gives ``inf``."""
        threshold = self.threshold
        s = 1.0 if self.mode == "min" else -1.0
        if self.threshold_mode == "abs":
            return s, s, s, threshold
        a = 1.0 - threshold if self.mode == "min" else -(threshold + 1.0)
        if self.threshold_rule == "torch":
            return s, a, a, 0.0
        return s, a, (1.0 + threshold if self.mode == "min" else -(1.0 - threshold)), 0.0

    def _advance(self):
        """The decision rule, the one place it is written: a function of plain numbers
        ``advance(best, bad_epochs, cooldown_left, epochs, reductions, metric)`` -> the five numbers after one
        epoch's ``metric`` (a float; NaN counts as an epoch without improvement), in ``PlateauState``'s
        order. ``update`` is built on it; a drop-in that keeps the numbers as its own attributes calls it
        directly."""
        s, a, a_negative, b = self._rule
        patience, cooldown = self.patience, self.cooldown

        def advance(best, bad, cooldown_left, epochs, reductions, metric):
            if metric * s < best * (a if best >= 0.0 else a_negative) - b:  # is_better(metric, best)
                best, bad = metric, 0
            else:
                bad += 1
            if cooldown_left > 0:
                cooldown_left -= 1
                bad = 0  # bad epochs in a cooldown do not count
            if bad > patience:
                return best, 0, cooldown, epochs + 1, reductions + 1
            return best, bad, cooldown_left, epochs + 1, reductions
        return advance

    def _fast_update(self):
        """``update`` for the common call (a PlateauState and a finite python float) as one closure around
        ``advance``; anything else goes to the general method."""
        general = functools.partial(plateau.update, self)
        advance, new, State = self.advance, _new_state, PlateauState

        def update(state, metric):
            if type(metric) is not float or type(state) is not State or metric - metric != 0.0:
                return general(state, metric)
            return new(State, advance(state[0], state[1], state[2], state[3], state[4], metric))

        update.__doc__ = plateau.update.__doc__
        return update

    # ---- state -------------------------------------------------------------------------------
    @property
    def worst(self):
        """The ``best`` of a fresh state: ``inf`` for mode "min", ``-inf`` for "max"."""
        return math.inf if self.mode == "min" else -math.inf

    def init(self):
        """The state before any metric."""
        return PlateauState(best=self.worst)

    def is_better(self, metric, best):
        """True when ``metric`` improves on ``best`` by more than the threshold (see ``_improvement_rule``)."""
        s, a, a_negative, b = self._rule
        return metric * s < best * (a if best >= 0.0 else a_negative) - b

    def update(self, state, metric):
        """The state after one epoch's ``metric`` (a pure function; ``state`` is not modified)."""
        if type(state) is not PlateauState:
            raise LrkitTypeError(f"state must be a PlateauState (from plateau.init()), got {excerpt(state)}")
        if type(metric) is not float:
            if isinstance(metric, bool) or not isinstance(metric, numbers.Real):
                try:
                    metric = float(metric)  # 0-dim tensors and numpy scalars
                except (TypeError, ValueError):
                    raise LrkitTypeError(f"metric must be a real number, got {excerpt(metric)}") from None
            metric = float(metric)
        if not -_INF < metric < _INF:
            if not counts_nonfinite("plateau", self.nonfinite, metric):
                return state
            metric = math.nan  # "bad": never an improvement, never the best
        return _new_state(PlateauState, self.advance(state[0], state[1], state[2], state[3], state[4], metric))

    # ---- learning rates ----------------------------------------------------------------------
    def floor(self, group=0):
        """``min_lr`` of param group ``group``."""
        if isinstance(self.min_lr, tuple):
            if not 0 <= group < len(self.min_lr):
                raise LrkitValueError(f"min_lr has {len(self.min_lr)} entries, no entry for group {group}")
            return self.min_lr[group]
        return self.min_lr

    def reduce_all(self, lrs, min_lrs):
        """``reduce`` of every LR of ``lrs`` with its floor in ``min_lrs`` (python numbers)."""
        factor, eps = self.factor, self.eps
        out = []
        for lr, floor in zip(lrs, min_lrs):
            new = lr * factor
            if new < floor:
                new = floor
            out.append(new if lr - new > eps else lr)
        return out

    def reduce(self, lr, group=0, min_lr=None):
        """One reduction of one LR, torch's rule: ``max(lr * factor, min_lr)``, kept only when it lowers
        the LR by more than ``eps`` (else ``lr`` is returned unchanged).

        >>> plateau(factor=0.5, min_lr=0.3).reduce(1.0), plateau(factor=0.5, min_lr=0.3).reduce(0.5)
        (0.5, 0.3)
        """
        old = float(lr)
        floor = self.floor(group) if min_lr is None else float(min_lr)
        new = max(old * self.factor, floor)
        return new if old - new > self.eps else lr

    def scale(self, state):
        """``factor ** reductions``: the multiplier the plateau stage puts on a schedule."""
        return self.factor ** state.reductions

    def apply(self, value, state, group=0, min_lr=None):
        """The plateau as a stage over a schedule value: ``value * factor ** reductions``, but never
        below ``min(value, min_lr)``: the plateau stops at the floor, and a schedule already below
        the floor is not raised to it.

        >>> ctl = plateau(factor=0.5, min_lr=0.2)
        >>> s = PlateauState(best=1.0, reductions=3)
        >>> ctl.apply(1.0, s), ctl.apply(0.1, s)
        (0.2, 0.1)
        """
        floor = self.floor(group) if min_lr is None else float(min_lr)
        value = float(value)
        return max(value * self.factor ** state.reductions, min(value, floor))

def counts_nonfinite(kind, rule, metric):
    """Whether the non-finite ``metric`` counts as an epoch (``rule`` "bad") or is skipped ("ignore");
    ``rule`` "raise": LrkitValueError naming the controller ``kind`` and the metric."""
    if rule == "raise":
        raise LrkitValueError(
            f"metric must be finite, got {excerpt(metric)} ({kind} nonfinite='raise'; nonfinite='bad' counts it "
            f"as an epoch without improvement, nonfinite='ignore' skips it)")
    return rule != "ignore"


# ---- one metric from several (the ranks of a distributed job) ---------------------------------------
REDUCE_CHOICES = ("mean", "min", "max", None)


def check_reduce(value):
    """``value`` if it is a valid ``reduce`` ("mean", "min", "max" or None), else LrkitValueError."""
    if value is None or (isinstance(value, str) and value in REDUCE_CHOICES):
        return value
    raise LrkitValueError(f"reduce must be one of 'mean', 'min', 'max' or None, got {excerpt(value)}")


def combine_metrics(values, reduce):
    """The one metric every rank uses, from every rank's metric in rank order (a pure function).

    NaN anywhere gives NaN; "mean" is ``math.fsum(values) / len(values)``; "min" / "max" as named.
    """
    if check_reduce(reduce) is None:
        raise LrkitValueError("reduce must be 'mean', 'min' or 'max' to combine metrics, got None")
    values = [_metric_float(v) for v in values]
    if not values:
        raise LrkitValueError("values must hold at least one metric, got []")
    if any(v != v for v in values):
        return math.nan
    if reduce == "min":
        return min(values)
    if reduce == "max":
        return max(values)
    n = len(values)
    if not all(math.isfinite(v) for v in values):
        return sum(values) / n  # infinities: IEEE arithmetic (inf - inf is NaN)
    try:
        return math.fsum(values) / n
    except OverflowError:  # finite values whose sum overflows
        return math.fsum(v / n for v in values)


def _metric_float(metric):
    """``metric`` (a number, a numpy scalar or a one-element tensor) as a Python float."""
    if type(metric) is float:
        return metric
    if not isinstance(metric, (bool, str, bytes)):
        try:
            return float(metric)
        except (TypeError, ValueError, RuntimeError):
            pass
    raise LrkitTypeError(f"metric must be a real number (or a one-element tensor), got {excerpt(metric)}")
