"""Keras 3's ``keras.optimizers.schedules`` by their own names: ``lrkit.peers.keras`` (specs:
``keras.CosineDecay(0.1, 1000, warmup_target=0.5, warmup_steps=100)``).

``ExponentialDecay``, ``PiecewiseConstantDecay``, ``PolynomialDecay``, ``InverseTimeDecay``, ``CosineDecay``
(with its warmup) and ``CosineDecayRestarts``, with Keras' argument names and defaults (``name`` is
left out). The value at lrkit step k is the Keras schedule at ``step = k``. Keras switches a piecewise
constant at ``step > boundary`` (lrkit's ``switch="after"``), and its ``CosineDecay`` counts
``decay_steps`` after the warmup. (``lrkit.keras.KerasSchedule`` turns any lrkit schedule into a Keras one.)

>>> [round(CosineDecay(0.0, 2, warmup_target=1.0, warmup_steps=2)(t), 4) for t in range(6)]
[0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
"""
from .. import _checks as check
from .._combinators import warmup
from .._errors import LrkitValueError
from .._peers import Peer, peer
from .._shapes import cosine, cosine_restarts, exponential, inverse_time, piecewise_constant, polynomial

__all__ = ["ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay", "InverseTimeDecay", "CosineDecay",
           "CosineDecayRestarts"]


class _Keras(Peer):
    def _decay_steps(self, name="decay_steps"):
        value = check.real(name, getattr(self, name))
        if not value > 0:
            raise LrkitValueError(f"Argument `{name}` must be > 0. Received: {name}={value!r}")
        self._validate(name, check.positive)
        return self._written(name)

    def _lr(self):
        self._validate("initial_learning_rate", check.non_negative)
        return self._written("initial_learning_rate")


class _RateDecay(_Keras):
    """``ExponentialDecay`` and ``InverseTimeDecay``: one set of arguments, one lrkit shape each."""
    _shape = None

    def _expand(self):
        lr, steps = self._lr(), self._decay_steps()
        self._validate("decay_rate", check.non_negative)
        check.flag("staircase", self.staircase)
        return type(self)._shape(lr, self._written("decay_rate"), steps=steps, staircase=self.staircase)


@peer("keras")
class ExponentialDecay(_RateDecay):
    """Keras' ``ExponentialDecay``: ``initial_learning_rate * decay_rate ** (step / decay_steps)``, the
    exponent floored when ``staircase``.

    >>> ExponentialDecay(0.1, 100, 0.96).expanded
    exponential(start=0.1, gamma=0.96, steps=100)
    """
    initial_learning_rate: float
    decay_steps: int
    decay_rate: float
    staircase: bool = False
    _shape = exponential


@peer("keras")
class PiecewiseConstantDecay(_Keras):
    """Keras' ``PiecewiseConstantDecay``: ``values[i]`` while ``boundaries[i-1] < step <= boundaries[i]``.

    >>> [PiecewiseConstantDecay([2], [1.0, 0.5])(t) for t in range(4)]
    [1.0, 1.0, 1.0, 0.5]
    """
    boundaries: tuple
    values: tuple

    def _expand(self):
        self._validate("boundaries", check.increasing, check.non_negative)
        self._validate("values", check.non_negative_list)
        if len(self.boundaries) != len(self.values) - 1:
            raise LrkitValueError(f"The length of boundaries should be 1 less than the length of values. Received: "
                                  f"boundaries of length {len(self.boundaries)} and values of length {len(self.values)}")
        return piecewise_constant(self._written("boundaries"), self._written("values"), switch="after")


@peer("keras")
class PolynomialDecay(_Keras):
    """Keras' ``PolynomialDecay``: ``(initial - end) * (1 - step / decay_steps) ** power + end``, the step
    clamped at ``decay_steps``, or with ``cycle`` the horizon ``decay_steps * ceil(step / decay_steps)``.

    >>> [PolynomialDecay(1.0, 4, end_learning_rate=0.0)(t) for t in range(6)]
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    initial_learning_rate: float
    decay_steps: int
    end_learning_rate: float = 0.0001
    power: float = 1.0
    cycle: bool = False

    def _expand(self):
        lr, steps = self._lr(), self._decay_steps()
        self._validate("end_learning_rate", check.non_negative)
        self._validate("power", check.positive)
        check.flag("cycle", self.cycle)
        return polynomial(lr, self._written("end_learning_rate"), steps=steps, power=self._written("power"),
                          cycle=self.cycle)


@peer("keras")
class InverseTimeDecay(_RateDecay):
    """Keras' ``InverseTimeDecay``: ``initial_learning_rate / (1 + decay_rate * step / decay_steps)``, the
    quotient floored when ``staircase``.

    >>> [round(InverseTimeDecay(1.0, 1, 0.5)(t), 4) for t in range(3)]
    [1.0, 0.6667, 0.5]
    """
    initial_learning_rate: float
    decay_steps: int
    decay_rate: float
    staircase: bool = False
    _shape = inverse_time


@peer("keras")
class CosineDecay(_Keras):
    """Keras' ``CosineDecay``: with ``warmup_target`` a line from ``initial_learning_rate`` up to it over
    ``warmup_steps``, then ``decay_steps`` of ``peak * ((1 - alpha) * (1 + cos(pi * s / decay_steps)) / 2 + alpha)``
    (``peak`` the warmup target, or ``initial_learning_rate`` without one), held after.

    >>> CosineDecay(0.0, 900, warmup_target=0.1, warmup_steps=100).expanded
    warmup(cosine(start=0.1, end=0.0, steps=900), steps=100)
    """
    initial_learning_rate: float
    decay_steps: int
    alpha: float = 0.0
    warmup_target: float = None
    warmup_steps: int = 0

    def _expand(self):
        lr, steps = self._lr(), self._decay_steps()
        self._validate("alpha", check.non_negative)
        self._validate("warmup_steps", check.non_negative)
        alpha = self._written("alpha")
        if self.warmup_target is None:
            return cosine(lr, alpha * lr, steps=steps)
        self._validate("warmup_target", check.non_negative)
        target, w = self._written("warmup_target"), self._written("warmup_steps")
        body = cosine(target, alpha * target, steps=steps)
        return warmup(body, steps=w, start=lr) if w > 0 else body


@peer("keras")
class CosineDecayRestarts(_Keras):
    """Keras' ``CosineDecayRestarts`` (SGDR, Loshchilov & Hutter 2017): cycles of ``first_decay_steps * t_mul**i``,
    ``initial * ((1 - alpha) * m_mul**i * (1 + cos(pi * x)) / 2 + alpha)``.

    >>> CosineDecayRestarts(0.1, 100).expanded
    cosine_restarts(start=0.1, end=0.0, period=100, period_mult=2.0)
    """
    initial_learning_rate: float
    first_decay_steps: int
    t_mul: float = 2.0
    m_mul: float = 1.0
    alpha: float = 0.0

    def _expand(self):
        lr, steps = self._lr(), self._decay_steps("first_decay_steps")
        self._validate("t_mul", check.at_least, 1)
        self._validate("m_mul", check.non_negative)
        self._validate("alpha", check.non_negative)
        return cosine_restarts(lr, self._written("alpha") * lr, period=steps, period_mult=self._written("t_mul"),
                               peak_mult=self._written("m_mul"))
