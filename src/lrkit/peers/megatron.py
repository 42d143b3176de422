"""Megatron-LM's ``OptimizerParamScheduler`` by its own arguments: ``lrkit.peers.megatron`` (specs:
``megatron.OptimizerParamScheduler(0.0, 3e-4, 3e-5, 2000, 100000, "WSD", wsd_decay_steps=20000,
lr_wsd_decay_style="exponential")``).

Every ``lr_decay_style`` (``"constant"``, ``"linear"``, ``"cosine"``, ``"inverse-square-root"``, ``"WSD"``
with each ``lr_wsd_decay_style``: ``"linear"``, ``"cosine"``, ``"exponential"``, ``"minus_sqrt"``), and its
weight-decay increment (``wd_incr_style`` ``"constant"``, ``"linear"``, ``"cosine"``) as a schedule for the
weight decay: :class:`wd_schedule`, or ``OptimizerParamScheduler(...).weight_decay()``. The value at lrkit
step k is Megatron's after ``num_steps`` reaches k (``get_lr`` / ``get_wd``).

>>> s = OptimizerParamScheduler(0.0, 1.0, 0.0, 2, 6, "linear")
>>> [s(t) for t in range(8)]
[0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
"""
from .. import _checks as check
from .._combinators import clip, sequence, warmup
from .._decays import shifted_exponential
from .._errors import LrkitValueError
from .._peers import Peer, peer
from .._shapes import constant, cosine, inverse_sqrt, linear, one_minus_sqrt
from .._warps import shift

__all__ = ["OptimizerParamScheduler", "wd_schedule"]

_STYLES = ("constant", "linear", "cosine", "inverse-square-root", "WSD")
_WSD_STYLES = ("linear", "cosine", "exponential", "minus_sqrt")
_WD_STYLES = ("constant", "linear", "cosine")


@peer("megatron")
class OptimizerParamScheduler(Peer):
    """Megatron-LM's ``OptimizerParamScheduler`` LR: ``init_lr + (max_lr - init_lr) * k / W`` up to
    ``k = lr_warmup_steps`` (W), then by ``lr_decay_style`` down to ``min_lr`` at ``lr_decay_steps`` (D),
    ``min_lr`` after: ``"linear"`` / ``"cosine"`` over ``D - W``; ``"inverse-square-root"``
    ``max(min_lr, max_lr * sqrt(max(W, 1) / max(k, 1)))``; ``"constant"`` ``max_lr`` (never ``min_lr``);
    ``"WSD"`` ``max_lr`` until ``D - wsd_decay_steps``, then ``lr_wsd_decay_style``'s cooldown
    (``"exponential"`` is ``2 * 0.5**x - 1``, MiniCPM's: lrkit's ``shifted_exponential``).

    >>> OptimizerParamScheduler(0.0, 1.0, 0.1, 10, 100, "WSD", wsd_decay_steps=20, lr_wsd_decay_style="minus_sqrt").expanded
    warmup(sequence([constant(value=1.0), one_minus_sqrt(start=1.0, end=0.1, steps=20)], boundaries=[70]), steps=10)
    """
    init_lr: float
    max_lr: float
    min_lr: float
    lr_warmup_steps: int
    lr_decay_steps: int
    lr_decay_style: str
    start_wd: float = 0.0
    end_wd: float = 0.0
    wd_incr_steps: int = 1
    wd_incr_style: str = "constant"
    wsd_decay_steps: int = None
    lr_wsd_decay_style: str = None

    def _expand(self):
        for name in ("init_lr", "max_lr", "min_lr"):
            self._validate(name, check.non_negative)
        self._validate("lr_warmup_steps", check.count)
        self._validate("lr_decay_steps", check.count)
        check.choice("lr_decay_style", self.lr_decay_style, _STYLES)
        init, top, low = (self._written(n) for n in ("init_lr", "max_lr", "min_lr"))
        w, d = self._written("lr_warmup_steps"), self._written("lr_decay_steps")
        if not top >= low:
            raise LrkitValueError(f"max_lr must be >= min_lr, got max_lr={top!r} < min_lr={low!r}")
        if not init <= top:
            raise LrkitValueError(f"init_lr must be <= max_lr, got init_lr={init!r} > max_lr={top!r}")
        if not d > 0:
            raise LrkitValueError(f"lr_decay_steps must be > 0, got {d!r}")
        if not w < d:
            raise LrkitValueError(f"lr_warmup_steps must be < lr_decay_steps, got {w!r} >= {d!r}")
        self.weight_decay()  # its arguments are checked too
        style = self.lr_decay_style
        if style == "constant":
            body = constant(top)
        elif style == "inverse-square-root":
            after = max(w, 1)  # the step whose value is max_lr: the decay starts one step later
            decay = clip(inverse_sqrt(top, steps=after), floor=low)
            body = sequence([decay, constant(low)], boundaries=[d - w + 1])
            if w == 0:  # k = 0 and k = 1 both give max_lr
                body = sequence([constant(top), clip(inverse_sqrt(top, steps=1), floor=low), constant(low)],
                                boundaries=[1, d + 1])
        elif style == "WSD":
            body = self._wsd(top, low, w, d)
        else:
            body = (linear if style == "linear" else cosine)(top, low, steps=d - w)
        if w == 0:
            return body
        if body(0) == top:
            return warmup(body, steps=w, start=init)
        # a WSD cooldown that begins inside the warmup: Megatron's warmup still ends at max_lr at k = W
        return sequence([linear(init, top, steps=w), shift(body, steps=1)], boundaries=[w + 1])

    def _wsd(self, top, low, w, d):
        if self.wsd_decay_steps is None:
            raise LrkitValueError("lr_decay_style='WSD' needs wsd_decay_steps, got None")
        self._validate("wsd_decay_steps", check.positive)
        check.choice("lr_wsd_decay_style", self.lr_wsd_decay_style, _WSD_STYLES)
        span = self._written("wsd_decay_steps")
        if span > d:
            raise LrkitValueError(f"wsd_decay_steps must be <= lr_decay_steps, got {span!r} > {d!r}")
        cooldown = {"linear": lambda: linear(top, low, steps=span), "cosine": lambda: cosine(top, low, steps=span),
                    "exponential": lambda: shifted_exponential(top, low, steps=span, ratio=0.5),
                    "minus_sqrt": lambda: one_minus_sqrt(top, low, steps=span)}[self.lr_wsd_decay_style]()
        stable = d - span - w  # steps after the warmup at max_lr
        if stable > 0:
            return sequence([constant(top), cooldown], boundaries=[stable])
        return shift(cooldown, steps=-stable) if stable < 0 else cooldown

    def weight_decay(self):
        """Megatron's weight decay at step k (``get_wd``), as :class:`wd_schedule`."""
        return wd_schedule(self._written("start_wd"), self._written("end_wd"), self._written("wd_incr_steps"),
                           self.wd_incr_style)


@peer("megatron")
class wd_schedule(Peer):
    """Megatron-LM's weight-decay increment (``OptimizerParamScheduler.get_wd``): from ``start_wd`` to
    ``end_wd`` over ``wd_incr_steps``, ``"linear"`` or ``"cosine"`` (``start + (end - start) * (1 - cos(pi r)) / 2``),
    ``end_wd`` after; ``"constant"`` needs ``start_wd == end_wd``.

    >>> [round(wd_schedule(0.0, 0.1, 4, "linear")(t), 4) for t in range(6)]
    [0.0, 0.025, 0.05, 0.075, 0.1, 0.1]
    """
    start_wd: float
    end_wd: float
    wd_incr_steps: int
    wd_incr_style: str

    def _expand(self):
        self._validate("start_wd", check.non_negative)
        self._validate("end_wd", check.non_negative)
        self._validate("wd_incr_steps", check.positive)
        check.choice("wd_incr_style", self.wd_incr_style, _WD_STYLES)
        start, end, steps = self._written("start_wd"), self._written("end_wd"), self._written("wd_incr_steps")
        if not end >= start:
            raise LrkitValueError(f"end_wd must be >= start_wd, got end_wd={end!r} < start_wd={start!r}")
        if self.wd_incr_style == "constant":
            if start != end:
                raise LrkitValueError(f"wd_incr_style='constant' needs start_wd == end_wd, got {start!r} != {end!r}")
            return constant(end)
        return (linear if self.wd_incr_style == "linear" else cosine)(start, end, steps=steps)
