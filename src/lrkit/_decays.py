"""More decay shapes, each a curve over ``steps`` from ``start`` to ``end`` (or an unending decay from
``start``) with one formula: the cooldowns and decays of timm, Megatron-LM, MiniCPM, OLMo and REX."""
import math

from . import _checks as check
from ._base import register
from ._errors import LrkitValueError
from ._powers import _between
from ._shapes import _Aperiodic, _OverSteps


class _Cooldown(_OverSteps):
    """A decay from ``start`` to ``end`` over ``steps``: ``end + (start - end) * factor(u)``, ``u = min(t, steps) /
    steps``, with a factor from 1 (``u = 0``) to 0 (``u = 1``) in between; ``end`` from ``steps`` on."""

    def _validate_ends(self):
        self._validate("start", check.non_negative)
        self._validate("end", check.non_negative)
        self._validate("steps", check.positive)

    def _f(self, t, xp):
        u = xp.minimum(t, self.steps) / self.steps
        return xp.where(t >= self.steps, self.end, self.end + (self.start - self.end) * self._factor(u, xp))

    def bounds(self):
        return _between(self.start, self.end)


@register
class one_minus_power(_Cooldown):
    """The ``1 - u**power`` cooldown: ``power=2`` is the "1-square" cooldown (Hägele et al. 2024, "Scaling
    Laws and Compute-Optimal Training Beyond Fixed Training Durations"), 0.5 is "1-sqrt", 1 is linear
    (timm WSD ``decay_fn="power"`` with ``decay_power``).

    ``lr(t) = end + (start - end) * (1 - u ** power)``, ``u = min(t, steps) / steps``

    >>> [round(one_minus_power(1.0, 0.0, steps=4)(t), 4) for t in range(6)]
    [1.0, 0.9375, 0.75, 0.4375, 0.0, 0.0]
    """
    start: float
    end: float
    steps: float
    power: float = 2.0

    def __post_init__(self):
        self._validate_ends()
        self._validate("power", check.positive)

    def _factor(self, u, xp):
        return 1 - u ** self.power


@register
class shifted_exponential(_Cooldown):
    """A geometric curve shifted down to reach ``end``: Megatron-LM's WSD cooldown
    ``lr_wsd_decay_style="exponential"`` (``2 * 0.5**u - 1``: ``ratio=0.5``, as in MiniCPM, Hu et al. 2024)
    and timm WSD's ``decay_fn="exp"`` (``ratio=decay_ratio``). (``exponential`` is TF's unshifted decay.)

    ``lr(t) = end + (start - end) * (ratio ** u - ratio) / (1 - ratio)``, ``u = min(t, steps) / steps``

    >>> [round(shifted_exponential(1.0, 0.0, steps=2)(t), 4) for t in range(4)]
    [1.0, 0.4142, 0.0, 0.0]
    """
    start: float
    end: float
    steps: float
    ratio: float = 0.5

    def __post_init__(self):
        self._validate_ends()
        self._validate("ratio", check.fraction)

    def _factor(self, u, xp):
        return (self.ratio ** u - self.ratio) / (1 - self.ratio)


@register
class rex(_Cooldown):
    """REX, the reflected-exponential profile (Chen, Wolfe & Kyrillidis 2022, "REX: Revisiting Budgeted
    Training with an Improved Schedule").

    ``lr(t) = end + (start - end) * (1 - u) / (1/2 + (1 - u)/2)``, ``u = min(t, steps) / steps``

    >>> [round(rex(1.0, 0.0, steps=4)(t), 4) for t in range(6)]
    [1.0, 0.8571, 0.6667, 0.4, 0.0, 0.0]
    """
    start: float
    end: float
    steps: float

    def __post_init__(self):
        self._validate_ends()

    def _factor(self, u, xp):
        return (1 - u) / (0.5 + 0.5 * (1 - u))


@register
class tanh(_Cooldown):
    """Hyperbolic-tangent decay (Hsueh et al. 2019, "Stochastic Gradient Descent with Hyperbolic-Tangent
    Decay on Classification"; timm TanhLRScheduler, ``lb=-7``, ``ub=3``).

    ``lr(t) = end + (start - end) * (1 - tanh(lb * (1 - u) + ub * u)) / 2``, ``u = min(t, steps) / steps``,
    written as ``1 / (1 + exp(2 x))`` (the same number, without the cancellation of ``1 - tanh``). It
    does not quite reach ``start`` at 0 nor ``end`` at ``steps`` (``(1 - tanh(3)) / 2 = 0.0025``): it holds its
    value at ``steps`` from there on (timm drops to ``lr_min`` after its last cycle: ``restarts(..., limit=1)``).

    >>> [round(tanh(1.0, 0.0, steps=10)(t), 4) for t in (0, 5, 7, 10, 20)]
    [1.0, 0.982, 0.5, 0.0025, 0.0025]
    """
    start: float
    end: float
    steps: float
    lb: float = -7.0
    ub: float = 3.0

    def __post_init__(self):
        self._validate_ends()
        self._validate("lb", check.real)
        self._validate("ub", check.real)
        if not self.lb < self.ub:
            raise LrkitValueError(f"lb must be < ub, got lb={self._written('lb')!r}, ub={self._written('ub')!r}")

    def _f(self, t, xp):  # no jump to end at steps: the value at u = 1 is held
        u = xp.minimum(t, self.steps) / self.steps
        x = self.lb * (1.0 - u) + self.ub * u
        return self.end + (self.start - self.end) * (1.0 / (1.0 + xp.exp(2.0 * x)))


@register
class inverse_power(_Aperiodic):
    """Inverse-power decay from ``start``, the generalised inverse square root (timm WSD
    ``stable_fn="power"`` with ``stable_power``, ``"rsqrt"`` for 0.5; the Power scheduler of Shen et al.
    2024, "Power Scheduler: A Batch Size and Token Number Agnostic Learning Rate Scheduler", after its
    warmup ``w``: ``a * t ** -b`` is ``inverse_power(a * w ** -b, steps=w, power=b)`` from ``t = w``).

    ``lr(t) = start * (1 + t / steps) ** -power``

    >>> [round(inverse_power(1.0, steps=10, power=1.0)(t), 4) for t in (0, 10, 30)]
    [1.0, 0.5, 0.25]
    """
    start: float
    steps: float
    power: float = 0.5

    def __post_init__(self):
        self._validate("start", check.non_negative)
        self._validate("steps", check.positive)
        self._validate("power", check.positive)

    def _f(self, t, xp):
        return self.start * (1.0 + t / self.steps) ** -self.power

    def end_step(self):
        return 0.0 if self.start == 0 else None

    def bounds(self):
        return (0.0, self.start)

    def _unsettled_span(self):  # down to 10% of start (a tiny power: as far as floats reach)
        return self.steps * math.expm1(min(math.log(10.0) / self.power, 700.0))
