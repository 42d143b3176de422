"""OLMo-core's schedulers by their own names: ``lrkit.peers.olmo`` (specs: ``olmo.WSD(warmup=2000, t_max=100000)``).

``WSD``, ``PowerLR``, ``CosWithWarmup``, ``LinearWithWarmup`` and ``InvSqrtWithWarmup`` of
``olmo_core.optim.scheduler`` with OLMo's field names and defaults (``warmup`` or ``warmup_fraction``,
``decay`` or ``decay_fraction``, ``alpha_f``, ``warmup_min_lr``, ``decay_min_lr``, ``b``). OLMo passes the
trainer's ``max_steps`` to ``get_lr``: here it is ``t_max`` (for ``CosWithWarmup`` and
``LinearWithWarmup`` their own ``t_max`` field, which overrides the trainer's in OLMo). ``lr`` is the
group's initial LR. The value at lrkit step k is ``get_lr(lr, k, t_max)`` (``units="steps"``).

Deliberate difference: OLMo's ``WSD`` and ``PowerLR`` keep their linear decay going past ``t_max`` (down
below ``decay_min_lr`` and then below 0); lrkit holds ``decay_min_lr`` from ``t_max`` on.

>>> [round(WSD(warmup=2, decay=2, decay_fraction=None, t_max=6)(t), 2) for t in range(8)]
[0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
"""
from .. import _checks as check
from .._combinators import sequence, warmup
from .._decays import inverse_power
from .._errors import LrkitValueError, excerpt
from .._peers import Peer, peer
from .._shapes import constant, cosine, inverse_sqrt, linear
from .._warps import shift

__all__ = ["WSD", "PowerLR", "CosWithWarmup", "LinearWithWarmup", "InvSqrtWithWarmup"]


class _OLMo(Peer):
    def _lr(self):
        self._validate("lr", check.non_negative)
        self._validate("warmup_min_lr", check.non_negative)
        lr, low = self._written("lr"), self._written("warmup_min_lr")
        if not low < lr:
            raise LrkitValueError(f"warmup_min_lr must be < the initial lr (OLMo asserts 0 <= warmup_min_lr < "
                                  f"initial_lr), got warmup_min_lr={low!r}, lr={lr!r}")
        return lr

    def _count(self, name, fraction_name, t_max, positive=False):
        """``name``, or ``round(t_max * fraction)``: exactly one of the two (OLMo's rule)."""
        value, fraction = getattr(self, name), getattr(self, fraction_name)
        if (value is None) == (fraction is None):
            raise LrkitValueError(f"Either '{fraction_name}' or '{name}' must be specified, not both, got "
                                  f"{name}={excerpt(value)}, {fraction_name}={excerpt(fraction)}")
        if fraction is not None:
            fraction = check.real(fraction_name, fraction)
            if not 0 <= fraction <= 1:
                raise LrkitValueError(f"{fraction_name} must be between 0 and 1, got {fraction!r}")
            if t_max is None:
                raise LrkitValueError(f"{fraction_name} needs t_max (the trainer's max_steps), got None")
            value = round(t_max * fraction)
        else:
            value = check.count(name, value)
        if positive and value == 0:
            raise LrkitValueError(f"{name} must be > 0 here (OLMo divides by it at step 0), got {name}=0"
                                  + ("" if fraction is None else f" from {fraction_name}={fraction!r}"))
        return value

    def _t_max(self):
        if self.t_max is None:
            raise LrkitValueError("t_max (the trainer's max_steps) is needed, got None")
        self._validate("t_max", check.count)
        return self._written("t_max")

    def _warmed(self, body, w, through_warmup):
        """OLMo's ``_linear_warmup`` from ``warmup_min_lr`` to ``lr`` until ``w`` (``k <= w`` when
        ``through_warmup``, else ``k < w``), then ``body`` on the step count itself (``body(k)``)."""
        lr, low = self._written("lr"), self._written("warmup_min_lr")
        if w == 0:
            return body
        if body(w) == lr or not through_warmup:
            return warmup(shift(body, steps=w), steps=w, start=low)
        return sequence([linear(low, lr, steps=w), shift(body, steps=w + 1)], boundaries=[w + 1])


def _decay_tail(top, low, decay, t_max, before):
    """``before`` until ``t_max - decay``, then OLMo's ``_linear_decay`` from ``top`` to ``low`` at ``t_max``."""
    tail = linear(top, low, steps=decay) if decay > 0 else constant(low)
    start = t_max - decay
    if start > 0:
        return sequence([before, tail], boundaries=[start])
    return shift(tail, steps=-start) if start < 0 else tail


@peer("olmo")
class WSD(_OLMo):
    """OLMo-core's ``WSD``: the linear warmup (through ``k = warmup``), ``lr`` held, and a linear decay to
    ``decay_min_lr`` over the last ``decay`` steps before ``t_max`` (default ``decay_fraction=0.1`` of it).

    >>> WSD(warmup=100, t_max=1000, lr=3e-4).expanded
    warmup(shift(sequence([constant(value=0.0003), linear(start=0.0003, end=0.0, steps=100)], boundaries=[900]), steps=100), steps=100)
    """
    warmup: int = None
    warmup_fraction: float = None
    decay: int = None
    decay_fraction: float = 0.1
    warmup_min_lr: float = 0.0
    decay_min_lr: float = 0.0
    t_max: int = None
    lr: float = 1.0

    def _expand(self):
        lr, t_max = self._lr(), self._t_max()
        w = self._count("warmup", "warmup_fraction", t_max, positive=True)
        d = self._count("decay", "decay_fraction", t_max)
        self._validate("decay_min_lr", check.non_negative)
        low = self._written("decay_min_lr")
        if not low < lr:
            raise LrkitValueError(f"decay_min_lr must be < the initial lr, got decay_min_lr={low!r}, lr={lr!r}")
        return self._warmed(_decay_tail(lr, low, d, t_max, constant(lr)), w, through_warmup=True)


@peer("olmo")
class PowerLR(_OLMo):
    """OLMo-core's ``PowerLR`` (Shen et al. 2024, "Power Scheduler"): the linear warmup, then
    ``lr * (k / warmup) ** b`` (``b < 0``), and over the last ``decay`` steps a line from its value at
    ``t_max - decay`` down to ``decay_min_lr``.

    >>> [round(PowerLR(b=-1.0, warmup=2, decay=2, decay_fraction=None, t_max=8)(t), 3) for t in range(9)]
    [0.0, 0.5, 1.0, 0.667, 0.5, 0.4, 0.333, 0.167, 0.0]
    """
    b: float = -0.51
    warmup: int = None
    warmup_fraction: float = None
    warmup_min_lr: float = 0.0
    decay: int = None
    decay_fraction: float = 0.1
    decay_min_lr: float = 0.0
    t_max: int = None
    lr: float = 1.0

    def _expand(self):
        lr, t_max = self._lr(), self._t_max()
        self._validate("b", check.real)
        if not self.b < 0:
            raise LrkitValueError(f"'b' must be negative for a decaying power-law, got b={self._written('b')!r}")
        w = self._count("warmup", "warmup_fraction", t_max, positive=True)
        d = self._count("decay", "decay_fraction", t_max)
        self._validate("decay_min_lr", check.non_negative)
        low, b = self._written("decay_min_lr"), self._written("b")
        power = inverse_power(lr, steps=w, power=-b)  # lr * (k / w) ** b at k = w + t
        tail_top = lr * ((t_max - d) / w) ** b
        if not low < tail_top:
            raise LrkitValueError(f"decay_min_lr must be < the LR where the decay starts ({tail_top!r}), got "
                                  f"{low!r}")
        body = _decay_tail(tail_top, low, d, t_max, shift_back(power, w))
        return self._warmed(body, w, through_warmup=True)


def shift_back(schedule, w):
    """``schedule`` whose step 0 is the step count ``w``: for ``k >= w`` it is ``schedule(k - w)``; before,
    ``schedule(0)`` (the warmup covers those steps)."""
    return sequence([constant(schedule(0)), schedule], boundaries=[w]) if w > 0 else schedule


class _Decay(_OLMo):
    def _parts(self):
        lr = self._lr()
        self._validate("alpha_f", check.non_negative)
        t_max = self._t_max()
        w = self._count("warmup", "warmup_fraction", t_max)
        if not t_max > w:
            raise LrkitValueError(f"t_max must be > the warmup, got t_max={t_max!r}, warmup={w!r}")
        return lr, lr * self._written("alpha_f"), w, t_max

    def _expand(self):
        lr, low, w, t_max = self._parts()
        body = type(self)._shape(lr, low, steps=t_max - w)
        return warmup(body, steps=w, start=self._written("warmup_min_lr")) if w else body


@peer("olmo")
class CosWithWarmup(_Decay):
    """OLMo-core's ``CosWithWarmup``: the linear warmup (``k < warmup``), then a cosine from ``lr`` to
    ``alpha_f * lr`` at ``t_max``, held after.

    >>> CosWithWarmup(warmup=100, t_max=1000).expanded
    warmup(cosine(start=1.0, end=0.1, steps=900), steps=100)
    """
    warmup: int = None
    warmup_fraction: float = None
    alpha_f: float = 0.1
    t_max: int = None
    warmup_min_lr: float = 0.0
    lr: float = 1.0
    _shape = cosine


@peer("olmo")
class LinearWithWarmup(_Decay):
    """OLMo-core's ``LinearWithWarmup``: the linear warmup (``k < warmup``), then a line from ``lr`` to
    ``alpha_f * lr`` at ``t_max``, held after.

    >>> [round(LinearWithWarmup(warmup=2, t_max=6, alpha_f=0.0)(t), 2) for t in range(8)]
    [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    alpha_f: float = 0.1
    t_max: int = None
    warmup: int = None
    warmup_fraction: float = None
    warmup_min_lr: float = 0.0
    lr: float = 1.0
    _shape = linear


@peer("olmo")
class InvSqrtWithWarmup(_OLMo):
    """OLMo-core's ``InvSqrtWithWarmup``: the linear warmup (``k < warmup``), then
    ``eta_min + (lr - eta_min) * sqrt(warmup / k)`` with ``eta_min = alpha_f * lr``.

    >>> [round(InvSqrtWithWarmup(alpha_f=0.0, warmup=4)(t), 3) for t in (2, 4, 16)]
    [0.5, 1.0, 0.5]
    """
    alpha_f: float = 0.1
    warmup: int = None
    warmup_fraction: float = None
    warmup_min_lr: float = 0.0
    t_max: int = None
    lr: float = 1.0

    def _expand(self):
        lr = self._lr()
        self._validate("alpha_f", check.non_negative)
        t_max = self._t_max() if self.t_max is not None else None
        w = self._count("warmup", "warmup_fraction", t_max, positive=True)
        low = lr * self._written("alpha_f")
        body = inverse_sqrt(lr - low, steps=w) + low if low else inverse_sqrt(lr, steps=w)
        return warmup(body, steps=w, start=self._written("warmup_min_lr"))
