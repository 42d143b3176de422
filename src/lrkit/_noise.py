"""LR noise that keeps the closed form: the noise at step k is a pure function of (seed, k), drawn by a
counter-based generator (splitmix64, Steele, Lea & Flood 2014) in exact 64-bit integer arithmetic, so that
Python ints and numpy's uint64 give the same numbers: random access, resume and every rank agree.

timm draws its noise from ``torch.Generator().manual_seed(noise_seed + t)``. lrkit does not reproduce those
numbers: they come from torch's Mersenne Twister and its normal sampler (an implementation detail of one
framework, which the numpy-only core cannot call, and which would have to be copied bit for bit). lrkit
draws from the same distributions (timm's "normal", resampled until ``|noise| < pct``, and "uniform") with
its own generator; the noise-free curve is timm's exactly.
"""
import math
import typing

import numpy as np

from . import _checks as check
from ._base import Schedule, bounds_of, register
from ._errors import LrkitTypeError, LrkitValueError, excerpt

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_UNIT = 2.0 ** -53
#: The normal kind resamples until |noise| < pct, at most this many times (then it takes the last
#: draw clipped to just inside pct); construction makes sure that is never reached in practice.
MAX_ROUNDS = 1024
#: The smallest probability of accepting a normal draw construction allows (1 - p) ** MAX_ROUNDS < 1e-22.
MIN_ACCEPT = 0.05


def _mix(z):
    """splitmix64's finaliser of a Python int in [0, 2**64)."""
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def _mix_array(z):
    """The same on a numpy uint64 array (its products wrap modulo 2**64, as the masks above do)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


def _stream(seed, k):
    """The stream of step ``k``: its first 64-bit word, from which draw ``j`` is ``mix(base + (j+1) * golden)``."""
    return _mix(_mix(seed & _MASK) ^ k)


def uniform(seed, k, j):
    """Draw ``j`` (from 0) of step ``k``: a float in [0, 1), 53 random bits.

    >>> uniform(42, 0, 0) == uniform(42, 0, 0) != uniform(42, 1, 0)
    True
    """
    return (_mix((_stream(seed, k) + (j + 1) * _GOLDEN) & _MASK) >> 11) * _UNIT


def _uniform_array(base, j):
    z = _mix_array(base + np.uint64(((j + 1) * _GOLDEN) & _MASK))
    return (z >> np.uint64(11)).astype(np.float64) * _UNIT


def _normals(u1, u2, xp):
    """Box-Muller: two independent standard normals (the cosine one first) from two uniforms in [0, 1)."""
    radius = xp.sqrt(-2.0 * xp.log(1.0 - u1))
    angle = 2.0 * math.pi * u2
    return radius * xp.cos(angle), radius * xp.sin(angle)


@register
class noise(Schedule):
    """``schedule`` with multiplicative LR noise (timm's ``noise_range_t``, ``noise_pct``, ``noise_std``,
    ``noise_type``, ``noise_seed``), a pure function of ``(seed, floor(t))``.

    ``lr(t) = s(t) + s(t) * n_k`` for ``begin <= t < stop`` (``stop=None``: on to the end), ``s(t)`` elsewhere,
    with ``k = floor(t)`` and ``n_k``: ``kind="normal"`` ``std * N(0, 1)``, drawn again until ``|n_k| < pct``;
    ``kind="uniform"`` ``2 * (U - 1/2) * pct``. ``pct <= 1`` keeps every value >= 0.

    Evaluates on Python numbers and numpy arrays (the per-step path of every ``lrkit.torch`` scheduler,
    curves, plots), not inside jax, Keras or torch graphs: its generator needs 64-bit integer arithmetic,
    which those may not have (jax without x64, Keras, torch on some devices); ``to_optax`` and
    ``KerasSchedule`` refuse it at construction.

    >>> s = noise(constant(1.0), pct=0.5, seed=7)
    >>> all(0.5 < s(k) < 1.5 for k in range(100)), s(3) == s(3.5) == noise(constant(1.0), pct=0.5, seed=7)(3)
    (True, True)
    """
    schedule: Schedule
    pct: float = 0.67
    std: float = 1.0
    kind: str = "normal"
    seed: int = 42
    begin: float = 0.0
    stop: typing.Optional[float] = None

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        self._validate("pct", check.non_negative)
        if self.pct > 1:
            raise LrkitValueError(f"pct must be <= 1 (s + s * noise with |noise| up to pct must stay >= 0), "
                                  f"got {self._written('pct')!r}")
        self._validate("std", check.non_negative)
        check.choice("kind", self.kind, ("normal", "uniform"))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise LrkitTypeError(f"seed must be an integer, got {excerpt(self.seed)}")
        self._validate("begin", check.non_negative)
        if self.stop is not None:
            self._validate("stop", check.non_negative)
            if self.stop <= self.begin:
                raise LrkitValueError(f"stop must be > begin, got begin={self._written('begin')!r}, "
                                      f"stop={self._written('stop')!r}")
        if self.kind == "normal" and self.std > 0:
            accept = math.erf(self.pct / (self.std * math.sqrt(2.0)))
            if not accept >= MIN_ACCEPT:
                raise LrkitValueError(
                    f"pct={self._written('pct')!r} is too small for std={self._written('std')!r}: a normal draw "
                    f"lands within pct with probability {accept:.3g}, below {MIN_ACCEPT} (the resampling would "
                    f"spin); use a larger pct, a smaller std or kind='uniform'")
        object.__setattr__(self, "_key", _mix(self.seed & _MASK))

    # ---- the noise of step k ---------------------------------------------------------------------
    def draw(self, k):
        """``n_k``, the relative noise of the whole step ``k >= 0`` (a Python int)."""
        base = _mix(self._key ^ k)
        if self.kind == "uniform":
            return 2.0 * (self._u(base, 0) - 0.5) * self.pct
        if self.std == 0:
            return 0.0
        n = 0.0
        for r in range(MAX_ROUNDS):
            for n in _normals(self._u(base, 2 * r), self._u(base, 2 * r + 1), math):
                n = n * self.std
                if abs(n) < self.pct:
                    return n
        return math.copysign(math.nextafter(self.pct, 0.0), n)

    @staticmethod
    def _u(base, j):
        return (_mix((base + (j + 1) * _GOLDEN) & _MASK) >> 11) * _UNIT

    def _draw_array(self, k):
        """``n_k`` for a numpy array of whole steps (float64), the same numbers as ``draw``."""
        base = _mix_array(np.uint64(self._key) ^ k.astype(np.uint64))
        if self.kind == "uniform":
            return 2.0 * (_uniform_array(base, 0) - 0.5) * self.pct
        out = np.zeros(k.shape)
        if self.std == 0:
            return out
        pending = np.arange(k.size)
        for r in range(MAX_ROUNDS):
            b = base[pending]
            first, second = _normals(_uniform_array(b, 2 * r), _uniform_array(b, 2 * r + 1), np)
            first, second = first * self.std, second * self.std
            # numpy's log/cos/sin may differ from math's by an ulp: near pct, decide as draw() does
            near = np.zeros(first.shape, dtype=bool)
            for n in (first, second):
                near |= np.abs(np.abs(n) - self.pct) <= 1e-9 * self.pct
            ok_first = np.abs(first) < self.pct
            ok_second = np.abs(second) < self.pct
            n = np.where(ok_first, first, second)
            accepted = ok_first | ok_second | near
            for i in np.flatnonzero(near):
                n[i] = self.draw(int(k[pending[i]]))
            out[pending[accepted]] = n[accepted]
            pending = pending[~accepted]
            if not pending.size:
                return out
        for i in pending:
            out[i] = self.draw(int(k[i]))
        return out

    def _noise_at(self, t):
        if isinstance(t, np.ndarray):
            wide = t.astype(np.float64)
            n = np.zeros(wide.shape)
            inside = wide >= self.begin if self.stop is None else (wide >= self.begin) & (wide < self.stop)
            if inside.any():
                n[inside] = self._draw_array(np.floor(wide[inside]))
            return n.astype(t.dtype) if t.dtype != np.float64 else n
        if not isinstance(t, (int, float)):
            raise LrkitTypeError(
                f"noise evaluates Python numbers and numpy arrays only (its generator counts in 64-bit integers), "
                f"got {type(t).__module__}.{type(t).__name__}: use it on the per-step path (lrkit.torch) or "
                f"on numpy curves")
        if t < self.begin or (self.stop is not None and t >= self.stop):
            return 0.0
        return self.draw(math.floor(t))

    def _f(self, t, xp):
        value = self.schedule._f(t, xp)
        return value + value * xp.apply(self._noise_at, t)

    # ---- what it says about itself -------------------------------------------------------------
    def end_step(self):
        inner = self.schedule.end_step()
        if inner is None or self.stop is None:
            return None
        return max(float(inner), float(self.stop))

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else max(self.schedule.span(), self.begin + 1)

    def events(self, until, offset=0.0):
        marks = [self._event(offset + float(self.begin), "phase")] if self.begin > 0 else []
        if self.stop is not None:
            marks.append(self._event(offset + float(self.stop), "phase"))
        return marks + self.schedule.events(until, offset)

    def cycles(self, offset=0.0, stop=math.inf):
        return self.schedule.cycles(offset, stop)

    def bounds(self):
        low, high = bounds_of(self.schedule)
        return (low * (1.0 - self.pct), high * (1.0 + self.pct))
