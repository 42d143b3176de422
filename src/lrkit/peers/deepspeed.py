"""DeepSpeed's LR schedules by their own names: ``lrkit.peers.deepspeed`` (specs: ``deepspeed.WarmupLR(...)``).

``WarmupLR``, ``WarmupDecayLR``, ``WarmupCosineLR``, ``OneCycle`` (its stairs too; its momentum:
``OneCycle(...).momentum()``, ``OneCycleMomentum``) and ``LRRangeTest`` (staircase too) of
``deepspeed.runtime.lr_schedules`` (0.19.8) with DeepSpeed's argument names and defaults, and
:func:`from_ds_config`, which reads the ``"scheduler"`` block of a DeepSpeed JSON config (a dict or a path:
data only). ``lr`` is the optimizer's LR (``WarmupLR``'s ``warmup_max_lr`` default, ``WarmupCosineLR``'s
base). The value at lrkit step k is DeepSpeed's LR at ``last_batch_iteration = k`` (``get_lr()`` after
``step(k)``; DeepSpeed's engine steps the scheduler after each update, so its update k uses
``last_batch_iteration = k - 1``, and update 0 the value before the first step).

>>> [round(WarmupLR(warmup_max_lr=1.0, warmup_num_steps=4, warmup_type="linear")(t), 2) for t in range(6)]
[0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
"""
import dataclasses
import json
import os

from .. import _checks as check
from .._combinators import sequence, warmup
from .._epochs import per_epoch, stairs
from .._errors import LrkitTypeError, LrkitValueError, SpecError, excerpt
from .._peers import Peer, peer
from .._shapes import constant, cosine, cyclic, inverse_time, linear
from .._warps import shift

__all__ = ["WarmupLR", "WarmupDecayLR", "WarmupCosineLR", "OneCycle", "OneCycleMomentum", "LRRangeTest",
           "from_ds_config"]

_WARMUP_TYPES = ("log", "linear")
#: LRRangeTest's line rises without end; lrkit's line holds after this many steps (about 1.1e12).
RANGE_TEST_HORIZON = 2 ** 40


class _DeepSpeed(Peer):
    def _warmup_steps(self):
        value = self.warmup_num_steps
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise LrkitValueError(f"warmup_num_steps must be a positive integer, got {excerpt(value)}")
        check.choice("warmup_type", self.warmup_type, _WARMUP_TYPES)
        return max(2, value)  # DeepSpeed's own floor

    def _ramp(self, body, steps, start, peak):
        """DeepSpeed's warmup from ``start`` to ``peak`` over ``steps``: ``log(k + 1) / log(steps)`` or ``k / steps``."""
        return warmup(body, steps=steps, start=start, peak=peak, shape=self.warmup_type)


@peer("deepspeed")
class WarmupLR(_DeepSpeed):
    """DeepSpeed's ``WarmupLR``: from ``warmup_min_lr`` up to ``warmup_max_lr`` (default: the optimizer's
    ``lr``) over ``warmup_num_steps`` (W, at least 2), ``min + (max - min) * log(k + 1) / log(W)`` (or
    ``k / W`` for ``warmup_type="linear"``), then ``warmup_max_lr``.

    >>> WarmupLR(warmup_max_lr=0.1, warmup_num_steps=100).expanded
    warmup(constant(value=0.1), steps=100, shape='log', peak=0.1)
    """
    warmup_min_lr: float = 0.0
    warmup_max_lr: float = None
    warmup_num_steps: int = 1000
    warmup_type: str = "log"
    lr: float = 1.0

    def _expand(self):
        w = self._warmup_steps()
        self._validate("warmup_min_lr", check.non_negative)
        self._validate("lr", check.non_negative)
        if self.warmup_max_lr is not None:
            self._validate("warmup_max_lr", check.non_negative)
        top = self._written("lr") if self.warmup_max_lr is None else self._written("warmup_max_lr")
        return self._ramp(constant(top), w, self._written("warmup_min_lr"), top)


@peer("deepspeed")
class WarmupDecayLR(_DeepSpeed):
    """DeepSpeed's ``WarmupDecayLR``: ``WarmupLR``'s warmup, then a line from ``warmup_max_lr`` down to
    ``warmup_min_lr`` at ``total_num_steps``, ``warmup_min_lr`` after.

    >>> [WarmupDecayLR(6, warmup_max_lr=1.0, warmup_num_steps=2, warmup_type="linear")(t) for t in range(8)]
    [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    total_num_steps: int
    warmup_min_lr: float = 0.0
    warmup_max_lr: float = 0.001
    warmup_num_steps: int = 1000
    warmup_type: str = "log"

    def _expand(self):
        w = self._warmup_steps()
        self._validate("total_num_steps", check.count)
        self._validate("warmup_min_lr", check.non_negative)
        self._validate("warmup_max_lr", check.non_negative)
        low, top, n = self._written("warmup_min_lr"), self._written("warmup_max_lr"), self._written("total_num_steps")
        body = linear(top, low, steps=n - w) if n > w else constant(low)
        return self._ramp(body, w, low, top)


@peer("deepspeed")
class WarmupCosineLR(_DeepSpeed):
    """DeepSpeed's ``WarmupCosineLR``: ratios of the optimizer's ``lr``, from ``warmup_min_ratio`` up to 1 over
    ``warmup_num_steps`` (W), then ``cos_min_ratio + (1 - cos_min_ratio) * (1 + cos(pi p)) / 2`` with
    ``p = min(1, (k - W + 1) / max(1, total_num_steps - W))`` (one step into its cosine at W: lrkit's ``shift``).

    >>> WarmupCosineLR(1100, warmup_num_steps=100, lr=0.1).expanded
    warmup(shift(cosine(start=0.1, end=1e-05, steps=1000), steps=1), steps=100, shape='log', peak=0.1)
    """
    total_num_steps: int
    warmup_min_ratio: float = 0.0
    warmup_num_steps: int = 1000
    cos_min_ratio: float = 0.0001
    warmup_type: str = "log"
    lr: float = 1.0

    def _expand(self):
        w = self._warmup_steps()
        self._validate("total_num_steps", check.count)
        self._validate("warmup_min_ratio", check.non_negative)
        self._validate("cos_min_ratio", check.non_negative)
        self._validate("lr", check.non_negative)
        lr = self._written("lr")
        decay = max(1, self._written("total_num_steps") - w)
        body = shift(cosine(lr, self._written("cos_min_ratio") * lr, steps=decay), steps=1)
        return self._ramp(body, w, self._written("warmup_min_ratio") * lr, lr)


@peer("deepspeed")
class OneCycle(_DeepSpeed):
    """DeepSpeed's ``OneCycle`` LR (Smith 2018): a triangle from ``cycle_min_lr`` up to ``cycle_max_lr`` over
    ``cycle_first_step_size`` and back over ``cycle_second_step_size`` (torch CyclicLR's formula at
    ``k + 1``: lrkit's ``shift(cyclic(...), 1)``), then ``cycle_min_lr / (1 + decay_lr_rate * d / decay_step_size)``
    at the ``d``-th step after the cycle. A stair count ``c > 0`` holds its half of the cycle on ``c`` stairs
    (``floor(i * c / size) / c`` of the way, ``i`` the updates into the half, counted from its far end on the
    way down: lrkit's ``stairs``). The momentum (Adam's ``betas[0]``) it cycles the other way, from
    ``cycle_max_mom`` down to ``cycle_min_mom`` and back, then ``cycle_max_mom * (1 + decay_mom_rate * d /
    decay_step_size)``, is :meth:`momentum` (:class:`OneCycleMomentum`).

    >>> [OneCycle(0.0, 1.0, cycle_first_step_size=2)(t) for t in range(5)]
    [0.5, 1.0, 0.5, 0.0, 0.0]
    >>> [OneCycle(0.0, 1.0, cycle_first_step_size=4, cycle_first_stair_count=2)(t) for t in range(8)]
    [0.0, 0.5, 0.5, 1.0, 0.5, 0.5, 0.0, 0.0]
    """
    cycle_min_lr: float
    cycle_max_lr: float
    decay_lr_rate: float = 0.0
    cycle_first_step_size: int = 2000
    cycle_second_step_size: int = None
    cycle_first_stair_count: int = 0
    cycle_second_stair_count: int = None
    decay_step_size: int = 0
    cycle_momentum: bool = True
    cycle_min_mom: float = 0.8
    cycle_max_mom: float = 0.9
    decay_mom_rate: float = 0.0

    def _shape(self):
        """``(first, second, total, first stair count, second stair count)``, checked as DeepSpeed does."""
        first = check.real("cycle_first_step_size", self.cycle_first_step_size)
        if first <= 0:
            raise LrkitValueError(f"cycle_first_step_size must be positive, got {first!r}")
        self._validate("cycle_first_step_size", check.positive)
        if self.cycle_second_step_size is not None:
            self._validate("cycle_second_step_size", check.positive)
        first = self._written("cycle_first_step_size")
        second = first if self.cycle_second_step_size is None else self._written("cycle_second_step_size")
        up = check.count("cycle_first_stair_count", self.cycle_first_stair_count)
        down = up if self.cycle_second_stair_count is None else check.count("cycle_second_stair_count",
                                                                            self.cycle_second_stair_count)
        self._validate("decay_step_size", check.non_negative)
        check.flag("cycle_momentum", self.cycle_momentum)
        return first, second, float(first) + float(second), up, down

    def _cycle(self, start, turn):
        """The cycle from ``start`` to ``turn`` and back, on DeepSpeed's clock (``k + 1``), with its stairs."""
        first, second, _, up, down = self._shape()
        if not up and not down:
            return shift(cyclic(start, turn, steps_up=first, steps_down=second), steps=1)
        rise = linear(start, turn, steps=first)
        fall = linear(turn, start, steps=second)
        if up:
            rise = stairs(rise, steps=first, count=up)
        if down:
            fall = stairs(fall, steps=second, count=down, hold="end")
        return shift(sequence([rise, fall], boundaries=[first]), steps=1)

    def _expand(self):
        total = self._shape()[2]
        self._validate("cycle_min_lr", check.non_negative)
        self._validate("cycle_max_lr", check.non_negative)
        self._validate("decay_lr_rate", check.non_negative)
        low, top = self._written("cycle_min_lr"), self._written("cycle_max_lr")
        rate, size = self._written("decay_lr_rate"), self._written("decay_step_size")
        if rate == 0 or size == 0:  # DeepSpeed: math.isclose(x, 0), which only 0 is, skips the decay
            after = constant(low)
        else:
            after = shift(inverse_time(low, rate, steps=size), steps=1)
        return sequence([self._cycle(low, top), after], boundaries=[total])

    def momentum(self):
        """DeepSpeed's momentum at step k (``get_mom()``, the ``betas[0]`` it writes into an Adam-like
        optimizer's groups), as :class:`OneCycleMomentum`; ``cycle_momentum=False`` has none."""
        return OneCycleMomentum(**{f.name: self._written(f.name) for f in dataclasses.fields(self)})


@peer("deepspeed")
class OneCycleMomentum(OneCycle):
    """DeepSpeed's ``OneCycle`` momentum (``get_mom()``: Adam's ``betas[0]``), with ``OneCycle``'s arguments:
    from ``cycle_max_mom`` down to ``cycle_min_mom`` and back as the LR cycles up and down (its stairs too),
    then ``cycle_max_mom * (1 + decay_mom_rate * d / decay_step_size)`` at the ``d``-th step after the cycle
    (DeepSpeed's momentum "decay" grows it; ``cycle_max_mom`` if either is 0). DeepSpeed writes
    ``betas = (momentum, 0.99)``: with ``lrkit.torch.ScheduleLR(opt, s, beta1=s.momentum(), beta2="constant(0.99)")``
    an optimizer gets what DeepSpeed sets.

    >>> [round(OneCycleMomentum(0.0, 1.0, cycle_first_step_size=2)(t), 3) for t in range(5)]
    [0.85, 0.8, 0.85, 0.9, 0.9]
    """

    def _expand(self):
        total = self._shape()[2]
        if not self.cycle_momentum:
            raise LrkitValueError("cycle_momentum=False: DeepSpeed's OneCycle leaves the momentum alone, got "
                                  "cycle_momentum=False")
        self._validate("cycle_min_mom", check.non_negative)
        self._validate("cycle_max_mom", check.non_negative)
        self._validate("decay_mom_rate", check.non_negative)
        low, top = self._written("cycle_min_mom"), self._written("cycle_max_mom")
        rate, size = self._written("decay_mom_rate"), self._written("decay_step_size")
        if rate == 0 or size == 0:
            after = constant(top)
        else:  # DeepSpeed's line rises without end; lrkit's holds after RANGE_TEST_HORIZON steps
            after = shift(linear(top, top + top * rate * (RANGE_TEST_HORIZON / size), steps=RANGE_TEST_HORIZON),
                          steps=1)
        return sequence([self._cycle(top, low), after], boundaries=[total])

    def end_step(self):  # a growing momentum never settles (lrkit's line holds only after ~1.1e12 steps)
        end = self.expanded.end_step()
        return None if end is not None and end > RANGE_TEST_HORIZON else end

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else self._shape()[2] + 10 * max(float(self.decay_step_size), 1.0)


@peer("deepspeed")
class LRRangeTest(_DeepSpeed):
    """DeepSpeed's ``LRRangeTest`` (Smith 2017): ``lr_range_test_min_lr * (1 + lr_range_test_step_rate * x)``
    with ``x = (k + 1) / lr_range_test_step_size``, a line rising without end (lrkit's line holds after
    ``RANGE_TEST_HORIZON`` steps, about 1.1e12); ``lr_range_test_staircase=True`` floors ``x`` (lrkit's
    ``per_epoch``: the line held for each ``lr_range_test_step_size`` updates).

    >>> [LRRangeTest(1.0, 2)(t) for t in range(4)]
    [1.5, 2.0, 2.5, 3.0]
    >>> [LRRangeTest(1.0, 2, lr_range_test_staircase=True)(t) for t in range(4)]
    [1.0, 2.0, 2.0, 3.0]
    """
    lr_range_test_min_lr: float = 1e-3
    lr_range_test_step_size: int = 2000
    lr_range_test_step_rate: float = 1.0
    lr_range_test_staircase: bool = False

    def _expand(self):
        size = self.lr_range_test_step_size
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise LrkitValueError(f"lr_range_test_step_size must be a positive integer, got {excerpt(size)}")
        check.flag("lr_range_test_staircase", self.lr_range_test_staircase)
        self._validate("lr_range_test_min_lr", check.non_negative)
        self._validate("lr_range_test_step_rate", check.non_negative)
        low, rate = self._written("lr_range_test_min_lr"), self._written("lr_range_test_step_rate")
        if self.lr_range_test_staircase:  # the line over stairs: 1 + rate * floor((k + 1) / size)
            stairs_ = RANGE_TEST_HORIZON // size
            return shift(per_epoch(linear(low, low + low * rate * stairs_, steps=stairs_), updates=size), steps=1)
        top = low + low * rate * (RANGE_TEST_HORIZON / size)
        return shift(linear(low, top, steps=RANGE_TEST_HORIZON), steps=1)

    def end_step(self):  # DeepSpeed's line never settles (lrkit's holds only after ~1.1e12 steps)
        return None if self.lr_range_test_step_rate else 0.0

    def span(self):  # a range test is looked at over a few of its step sizes
        return 10 * self.lr_range_test_step_size


_TYPES = {"WarmupLR": WarmupLR, "WarmupDecayLR": WarmupDecayLR, "WarmupCosineLR": WarmupCosineLR,
          "OneCycle": OneCycle, "LRRangeTest": LRRangeTest}


def from_ds_config(config, lr=None):
    """The schedule of a DeepSpeed config's ``"scheduler"`` block: ``config`` is the whole config or that
    block, as a dict or the path of a JSON file (read as data: nothing is run). ``lr``: the optimizer's LR,
    for ``WarmupLR`` without ``warmup_max_lr`` and ``WarmupCosineLR`` (default: the config's
    ``"optimizer": {"params": {"lr": ...}}``, else 1.0).

    >>> from_ds_config({"scheduler": {"type": "WarmupDecayLR", "params": {"total_num_steps": 1000,
    ...     "warmup_max_lr": 3e-4, "warmup_num_steps": 100}}})
    deepspeed.WarmupDecayLR(total_num_steps=1000, warmup_max_lr=0.0003, warmup_num_steps=100)
    """
    if isinstance(config, (str, os.PathLike)):
        try:
            with open(config, encoding="utf-8") as handle:
                config = json.load(handle)
        except (OSError, ValueError) as error:
            raise SpecError(f"cannot read the DeepSpeed config {excerpt(str(config))}: {excerpt(str(error))}") from None
    if not isinstance(config, dict):
        raise LrkitTypeError(f"config must be a DeepSpeed config dict or a JSON path, got {excerpt(config)}")
    block = config.get("scheduler", config)
    if not isinstance(block, dict) or "type" not in block:
        raise SpecError(f"a DeepSpeed scheduler block needs a 'type' ({', '.join(_TYPES)}), got {excerpt(block)}")
    kind = _TYPES.get(block["type"])
    if kind is None:
        raise SpecError(f"scheduler type must be one of {', '.join(_TYPES)}, got {excerpt(block['type'])}")
    params = block.get("params", {})
    if not isinstance(params, dict):
        raise SpecError(f"scheduler params must be a dict, got {excerpt(params)}")
    params = dict(params)
    params.pop("last_batch_iteration", None)
    if lr is None:
        lr = ((config.get("optimizer") or {}).get("params") or {}).get("lr")
    if lr is not None and kind in (WarmupLR, WarmupCosineLR):
        params["lr"] = lr
    try:
        return kind(**params)
    except TypeError as error:
        raise SpecError(f"DeepSpeed {block['type']} params: {excerpt(str(error))}") from None
