"""Hugging Face transformers' schedules by their own names: ``lrkit.peers.hf`` (specs: ``hf.cosine(...)``).

One class per ``transformers.SchedulerType`` name (``linear``, ``cosine``, ``cosine_with_restarts``,
``polynomial``, ``constant``, ``constant_with_warmup``, ``inverse_sqrt``, ``cosine_with_min_lr``,
``cosine_warmup_with_min_lr``, ``warmup_stable_decay``), each also under its ``get_*_schedule*`` name,
and ``get_scheduler(name, ...)``. ``reduce_lr_on_plateau`` (``get_reduce_on_plateau_schedule``) and
``greedy`` (``get_greedy_schedule``) give lrkit's plateau and greedy controllers with transformers' rules. The arguments are transformers' own, without the
optimizer: ``lr`` is the optimizer's LR (``optimizer.defaults["lr"]``, default 1.0: the ``LambdaLR``
multiplier itself). The value at step k is ``lr * lr_lambda(k)``, transformers' LR at its step k.

transformers' cosines keep going past ``num_training_steps`` (``cosine`` rises again): these do too;
lrkit's own ``warmup(cosine(lr, 0.0, steps=N - w), steps=w)`` holds its end instead.

>>> s = cosine(num_warmup_steps=2, num_training_steps=6, lr=1.0)
>>> [round(s(t), 4) for t in range(8)]
[0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0, 0.1464]
"""
import warnings

from .. import _checks as check
from .._combinators import sequence, warmup
from .._errors import LrkitValueError, excerpt
from .._peers import Peer, peer, peer_function, phases, steps, then
from .._greedy import greedy as _greedy
from .._plateau import plateau
from .._warps import shift
from .._recipes import cosine_wave
from .._shapes import constant as _constant
from .._shapes import cosine as _cosine
from .._shapes import cosine_restarts, inverse_sqrt as _inverse_sqrt, linear as _linear, one_minus_sqrt
from .._shapes import polynomial as _polynomial

__all__ = ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
           "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr",
           "warmup_stable_decay", "greedy", "get_scheduler", "HF_LAMBDAS", "SCHEDULER_TYPES",
           "get_linear_schedule_with_warmup", "get_cosine_schedule_with_warmup",
           "get_cosine_with_hard_restarts_schedule_with_warmup", "get_polynomial_decay_schedule_with_warmup",
           "get_constant_schedule", "get_constant_schedule_with_warmup", "get_inverse_sqrt_schedule",
           "get_reduce_on_plateau_schedule", "get_cosine_with_min_lr_schedule_with_warmup",
           "get_cosine_with_min_lr_schedule_with_warmup_lr_rate", "get_wsd_schedule", "get_greedy_schedule"]


class _HF(Peer):
    """The checks every transformers schedule shares: ``lr`` >= 0, step counts whole numbers >= 0."""

    def _steps(self, *names):
        for name in names:
            self._validate(name, steps)

    def span(self):
        """The run, ``num_training_steps`` updates, where one is given (transformers' cosines go on past
        it, so ``show`` and ``describe`` would otherwise draw several periods)."""
        n = getattr(self, "num_training_steps", None)
        return n + 1 if isinstance(n, (int, float)) and not isinstance(n, bool) and n > 0 else super().span()

    def _lr(self):
        self._validate("lr", check.non_negative)
        return self._written("lr")

    def _ramp(self, body, w):
        """transformers' linear warmup ``lr * t / w`` for ``t < w``, then ``body``."""
        return then(_linear(0.0, self._written("lr"), steps=w), body, w) if w else body

    def _wave(self, top, bottom, decay):
        """``top * (1 + cos(2 pi c p)) / 2`` with ``p = t / decay``, scaled between ``bottom`` and ``top``:
        transformers' cosine with ``num_cycles = c``, which goes on past ``decay`` (period ``decay / c``)."""
        cycles = self._written("num_cycles")
        if cycles == 0:
            return _constant(top)
        return cosine_wave(top, bottom, steps=decay / (2 * cycles))


@peer("hf", "get_linear_schedule_with_warmup")
class linear(_HF):
    """transformers' ``linear`` (``get_linear_schedule_with_warmup``): up from 0 over
    ``num_warmup_steps`` (w), then down to 0 at ``num_training_steps`` (N), 0 after:
    ``lr * t / w`` for ``t < w``, else ``lr * max(0, (N - t) / max(1, N - w))``.

    >>> linear(2, 6)
    hf.linear(num_warmup_steps=2, num_training_steps=6)
    >>> linear(2, 6).expanded
    warmup(linear(start=1.0, end=0.0, steps=4), steps=2)
    """
    num_warmup_steps: int
    num_training_steps: int
    lr: float = 1.0

    def _expand(self):
        self._steps("num_warmup_steps", "num_training_steps")
        lr, w, n = self._lr(), self._written("num_warmup_steps"), self._written("num_training_steps")
        return self._ramp(_linear(lr, 0.0, steps=n - w) if n > w else _constant(0.0), w)


@peer("hf", "get_cosine_schedule_with_warmup")
class cosine(_HF):
    """transformers' ``cosine`` (``get_cosine_schedule_with_warmup``): the linear warmup, then
    ``lr * max(0, (1 + cos(2 pi c p)) / 2)`` with ``p = (t - w) / max(1, N - w)``, ``c = num_cycles``.
    Past ``N`` it goes on (with c = 0.5 it rises again), as transformers' does.

    >>> cosine(0, 4).expanded
    cosine_wave(start=1.0, end=0.0, steps=4.0)
    """
    num_warmup_steps: int
    num_training_steps: int
    num_cycles: float = 0.5
    lr: float = 1.0

    def _expand(self):
        self._steps("num_warmup_steps", "num_training_steps")
        self._validate("num_cycles", check.non_negative)
        lr, w, n = self._lr(), self._written("num_warmup_steps"), self._written("num_training_steps")
        return self._ramp(self._wave(lr, 0.0, max(1, n - w)), w)


@peer("hf", "get_cosine_with_hard_restarts_schedule_with_warmup")
class cosine_with_restarts(_HF):
    """transformers' ``cosine_with_restarts`` (``get_cosine_with_hard_restarts_schedule_with_warmup``):
    the linear warmup, then ``num_cycles`` (c) cosines from ``lr`` to 0, each restarting at ``lr``:
    ``lr * (1 + cos(pi * ((c * p) % 1))) / 2`` with ``p = (t - w) / max(1, N - w)``; 0 from ``N`` on.

    >>> [round(cosine_with_restarts(0, 4, num_cycles=2)(t), 3) for t in range(6)]
    [1.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    """
    num_warmup_steps: int
    num_training_steps: int
    num_cycles: int = 1
    lr: float = 1.0

    def _expand(self):
        self._steps("num_warmup_steps", "num_training_steps")
        self._validate("num_cycles", check.non_negative)
        lr, w, n = self._lr(), self._written("num_warmup_steps"), self._written("num_training_steps")
        decay, cycles = max(1, n - w), self._written("num_cycles")
        waves = _constant(lr) if cycles == 0 else cosine_restarts(lr, 0.0, period=decay / cycles)
        return self._ramp(sequence([waves, _constant(0.0)], boundaries=[decay]), w)


@peer("hf", "get_polynomial_decay_schedule_with_warmup")
class polynomial(_HF):
    """transformers' ``polynomial`` (``get_polynomial_decay_schedule_with_warmup``): the linear warmup,
    then ``(lr - lr_end) * (1 - (t - w) / (N - w)) ** power + lr_end``, ``lr_end`` from ``N`` on.
    ``lr`` is the optimizer's LR here (``lr_end`` is absolute), and must be > ``lr_end``.

    >>> [round(polynomial(0, 4, lr_end=0.0, power=2.0)(t), 4) for t in range(6)]
    [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """
    num_warmup_steps: int
    num_training_steps: int
    lr_end: float = 1e-7
    power: float = 1.0
    lr: float = 1.0

    def _expand(self):
        self._steps("num_warmup_steps", "num_training_steps")
        self._validate("lr_end", check.non_negative)
        self._validate("power", check.positive)
        lr, w, n = self._lr(), self._written("num_warmup_steps"), self._written("num_training_steps")
        end = self._written("lr_end")
        if not lr > end:
            raise LrkitValueError(f"lr_end ({end!r}) must be smaller than initial lr ({lr!r})")
        if n == w:
            raise LrkitValueError(f"num_training_steps must differ from num_warmup_steps (transformers divides "
                                  f"by their difference at step {w}), got both {n!r}")
        body = _polynomial(lr, end, steps=n - w, power=self._written("power")) if n > w else _constant(end)
        return self._ramp(body, w)


@peer("hf", "get_constant_schedule")
class constant(_HF):
    """transformers' ``constant`` (``get_constant_schedule``): ``lr`` at every step.

    >>> constant(lr=0.1)(1000)
    0.1
    """
    lr: float = 1.0

    def _expand(self):
        return _constant(self._lr())


@peer("hf", "get_constant_schedule_with_warmup")
class constant_with_warmup(_HF):
    """transformers' ``constant_with_warmup`` (``get_constant_schedule_with_warmup``):
    ``lr * t / max(1, w)`` for ``t < w``, then ``lr``.

    >>> [constant_with_warmup(4)(t) for t in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    num_warmup_steps: int
    lr: float = 1.0

    def _expand(self):
        self._steps("num_warmup_steps")
        return self._ramp(_constant(self._lr()), self._written("num_warmup_steps"))


@peer("hf", "get_inverse_sqrt_schedule")
class inverse_sqrt(_HF):
    """transformers' ``inverse_sqrt`` (``get_inverse_sqrt_schedule``): the linear warmup, then
    ``lr / sqrt((t - w + T) / T)`` with ``T = timescale`` (default ``w``, or 10,000 without warmup).

    >>> inverse_sqrt(100).expanded
    warmup(inverse_sqrt(start=1.0, steps=100), steps=100)
    """
    num_warmup_steps: int
    timescale: int = None
    lr: float = 1.0

    def _expand(self):
        self._steps("num_warmup_steps")
        if self.timescale is not None:
            self._validate("timescale", check.positive)
        w = self._written("num_warmup_steps")
        scale = self._written("timescale") if self.timescale is not None else (w or 10_000)
        return self._ramp(_inverse_sqrt(self._lr(), steps=scale), w)


class _MinLR(_HF):
    def _min_rate(self):
        """``min_lr_rate``, from ``min_lr / lr`` when ``min_lr`` is given (exactly one of them)."""
        if self.min_lr is not None and self.min_lr_rate is not None:
            raise LrkitValueError(f"Only one of min_lr or min_lr_rate should be set, got min_lr="
                                  f"{self._written('min_lr')!r} and min_lr_rate={self._written('min_lr_rate')!r}")
        if self.min_lr is not None:
            self._validate("min_lr", check.non_negative)
            if self.lr == 0:
                raise LrkitValueError("min_lr needs lr > 0 (min_lr_rate = min_lr / lr), got lr=0")
            return self.min_lr / self.lr
        if self.min_lr_rate is None:
            raise LrkitValueError("One of min_lr or min_lr_rate should be set, got neither")
        self._validate("min_lr_rate", check.non_negative)
        return self._written("min_lr_rate")


@peer("hf", "get_cosine_with_min_lr_schedule_with_warmup")
class cosine_with_min_lr(_MinLR):
    """transformers' ``cosine_with_min_lr`` (``get_cosine_with_min_lr_schedule_with_warmup``): the linear
    warmup, then ``lr * (f * (1 - r) + r)``, ``f = (1 + cos(2 pi c p)) / 2``, ``p = (t - w) / max(1, N - w)``,
    ``r = min_lr_rate`` (or ``min_lr / lr``). Past ``N`` it goes on (rises again), as transformers' does.

    >>> s = cosine_with_min_lr(num_warmup_steps=0, num_training_steps=4, min_lr_rate=0.1)
    >>> [round(s(t), 4) for t in (0, 2, 4, 6)]
    [1.0, 0.55, 0.1, 0.55]
    """
    num_warmup_steps: int
    num_training_steps: int
    num_cycles: float = 0.5
    min_lr: float = None
    min_lr_rate: float = None
    lr: float = 1.0

    def _expand(self):
        self._steps("num_warmup_steps", "num_training_steps")
        self._validate("num_cycles", check.non_negative)
        lr, w, n = self._lr(), self._written("num_warmup_steps"), self._written("num_training_steps")
        rate = self._min_rate()
        return self._ramp(self._wave(lr, rate * lr, max(1, n - w)), w)


@peer("hf", "get_cosine_with_min_lr_schedule_with_warmup_lr_rate")
class cosine_warmup_with_min_lr(_MinLR):
    """transformers' ``cosine_warmup_with_min_lr`` (``get_cosine_with_min_lr_schedule_with_warmup_lr_rate``):
    a warmup that ends at ``lr`` on its last step, ``lr * (t + 1) / max(1, w)`` (or, with ``warmup_lr_rate``
    ``r0``, ``lr * (r0 + (1 - r0) * t / max(1, w - 1))``), then the cosine of ``cosine_with_min_lr`` one step
    in: ``p = (t - w + 1) / max(1, N - w)`` (lrkit's ``shift`` by 1; without warmup too).

    >>> s = cosine_warmup_with_min_lr(2, 6, min_lr_rate=0.0)
    >>> [round(s(t), 4) for t in range(7)]
    [0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0, 0.1464]
    """
    num_warmup_steps: int
    num_training_steps: int
    num_cycles: float = 0.5
    min_lr: float = None
    min_lr_rate: float = None
    warmup_lr_rate: float = None
    lr: float = 1.0

    def _expand(self):
        self._steps("num_warmup_steps", "num_training_steps")
        self._validate("num_cycles", check.non_negative)
        lr, w, n = self._lr(), self._written("num_warmup_steps"), self._written("num_training_steps")
        body = shift(self._wave(lr, self._min_rate() * lr, max(1, n - w)), steps=1)
        if w == 0:
            return body
        if self.warmup_lr_rate is None:
            ramp = shift(_linear(0.0, lr, steps=w), steps=1)
        else:
            self._validate("warmup_lr_rate", check.non_negative)
            ramp = _linear(self._written("warmup_lr_rate") * lr, lr, steps=max(1, w - 1))
        return sequence([ramp, body], boundaries=[w])


@peer("hf", "get_wsd_schedule")
class warmup_stable_decay(_HF):
    """transformers' ``warmup_stable_decay`` (``get_wsd_schedule``): a warmup of ``num_warmup_steps``
    from ``min_lr_ratio * lr`` (``warmup_type`` "linear", "cosine" or "1-sqrt"), ``lr`` held for
    ``num_stable_steps`` (default ``num_training_steps - num_warmup_steps - num_decay_steps``), a decay
    of ``num_decay_steps`` to ``min_lr_ratio * lr`` (``decay_type`` "linear", "cosine" with
    ``num_cycles``, or "1-sqrt"), then ``min_lr_ratio * lr``.

    >>> s = warmup_stable_decay(2, 2, num_stable_steps=2, decay_type="linear")
    >>> [s(t) for t in range(8)]
    [0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    """
    num_warmup_steps: int
    num_decay_steps: int
    num_training_steps: int = None
    num_stable_steps: int = None
    warmup_type: str = "linear"
    decay_type: str = "cosine"
    min_lr_ratio: float = 0
    num_cycles: float = 0.5
    lr: float = 1.0

    def _expand(self):
        self._steps("num_warmup_steps", "num_decay_steps")
        if self.num_training_steps is None and self.num_stable_steps is None:
            raise LrkitValueError("Either num_training_steps or num_stable_steps must be specified, got neither")
        if self.num_training_steps is not None:
            self._validate("num_training_steps", steps)
        if self.num_stable_steps is not None:
            self._validate("num_stable_steps", steps)
            if self.num_training_steps is not None:
                warnings.warn("Both num_training_steps and num_stable_steps are specified. num_stable_steps "
                              "will be used.", stacklevel=4)
        check.choice("warmup_type", self.warmup_type, ("linear", "cosine", "1-sqrt"))
        check.choice("decay_type", self.decay_type, ("linear", "cosine", "1-sqrt"))
        self._validate("min_lr_ratio", check.non_negative)
        if self.min_lr_ratio > 1:
            raise LrkitValueError(f"min_lr_ratio must be <= 1, got {self._written('min_lr_ratio')!r}")
        self._validate("num_cycles", check.non_negative)
        lr, w, d = self._lr(), self._written("num_warmup_steps"), self._written("num_decay_steps")
        if self.num_stable_steps is not None:
            stable = self._written("num_stable_steps")
        else:
            stable = self._written("num_training_steps") - w - d
            if stable < 0:
                raise LrkitValueError(
                    f"num_warmup_steps + num_decay_steps must fit in num_training_steps, got {w!r} + {d!r} > "
                    f"{self._written('num_training_steps')!r}")
        low = self._written("min_lr_ratio") * lr
        if self.decay_type == "linear":
            decay = _linear(lr, low, steps=d) if d else None
        elif self.decay_type == "1-sqrt":
            decay = one_minus_sqrt(lr, low, steps=d) if d else None
        else:
            decay = (_cosine(lr, low, steps=d) if self._written("num_cycles") == 0.5 else self._wave(lr, low, d)) \
                if d else None
        body = phases([(stable, _constant(lr)), (d, decay), (0, _constant(low))])
        if w == 0:
            return body
        if body(0) == lr:
            return warmup(body, steps=w, start=low, shape=self.warmup_type)
        ramp = warmup(_constant(lr), steps=w, start=low, shape=self.warmup_type)
        return sequence([ramp, body], boundaries=[w])


@peer_function("hf", "get_reduce_on_plateau_schedule")
def reduce_lr_on_plateau(mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel", cooldown=0,
                         min_lr=0, eps=1e-8):
    """transformers' ``reduce_lr_on_plateau`` (``get_reduce_on_plateau_schedule``): torch's
    ``ReduceLROnPlateau`` with its own defaults, as lrkit's :func:`lrkit.plateau` controller with
    torch's threshold rule (a controller, not a schedule: use it with ``lrkit.torch.ScheduleLR(...,
    plateau=...)`` over ``hf.constant(lr=...)``).

    >>> reduce_lr_on_plateau(patience=2).patience
    2
    """
    return plateau(mode=mode, factor=factor, patience=patience, threshold=threshold,
                   threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr, eps=eps,
                   threshold_rule="torch")


@peer_function("hf", "get_greedy_schedule")
def greedy(mode="min", factor=0.95, patience=10, threshold=1e-6, threshold_mode="abs", cooldown=0, warmup=0,
           min_lr=1e-3, max_lr=1.0, eps=1e-8, smooth=False, window_size=50, reset_start=500):
    """transformers' ``greedy`` (``get_greedy_schedule``, ``GreedyLR``): its raise-and-lower rules with its
    own defaults, as lrkit's :class:`lrkit.greedy` controller with torch's threshold rule (a controller, not
    a schedule: ``lrkit.torch.GreedyLR`` drives an optimizer with it).

    >>> greedy(patience=2).factor
    0.95
    """
    return _greedy(mode=mode, factor=factor, patience=patience, threshold=threshold, threshold_mode=threshold_mode,
                   cooldown=cooldown, warmup=warmup, min_lr=tuple(min_lr) if isinstance(min_lr, list) else min_lr,
                   max_lr=tuple(max_lr) if isinstance(max_lr, list) else max_lr, eps=eps, smooth=smooth,
                   window_size=window_size, reset_start=reset_start, threshold_rule="torch")


get_linear_schedule_with_warmup = linear
get_cosine_schedule_with_warmup = cosine
get_cosine_with_hard_restarts_schedule_with_warmup = cosine_with_restarts
get_polynomial_decay_schedule_with_warmup = polynomial
get_constant_schedule = constant
get_constant_schedule_with_warmup = constant_with_warmup
get_inverse_sqrt_schedule = inverse_sqrt
get_reduce_on_plateau_schedule = reduce_lr_on_plateau
get_cosine_with_min_lr_schedule_with_warmup = cosine_with_min_lr
get_wsd_schedule = warmup_stable_decay
get_cosine_with_min_lr_schedule_with_warmup_lr_rate = cosine_warmup_with_min_lr
get_greedy_schedule = greedy

@peer_function("hf")
def get_scheduler(name, num_warmup_steps=None, num_training_steps=None, scheduler_specific_kwargs=None, lr=1.0):
    """transformers' ``get_scheduler(name, optimizer, ...)`` without the optimizer (``lr`` is its LR):
    the schedule of the ``SchedulerType`` ``name`` with ``scheduler_specific_kwargs`` passed on, the
    arguments each name needs checked as transformers checks them.

    >>> get_scheduler("cosine", num_warmup_steps=10, num_training_steps=100, scheduler_specific_kwargs={"num_cycles": 1})
    hf.cosine(num_warmup_steps=10, num_training_steps=100, num_cycles=1)
    """
    make = SCHEDULER_TYPES.get(name)
    if make is None:
        raise LrkitValueError(f"name must be one of {', '.join(map(repr, SCHEDULER_TYPES))}, got {excerpt(name)}")
    extra = dict(scheduler_specific_kwargs or {})
    if name == "constant":
        return make(lr=lr)
    if name in ("reduce_lr_on_plateau", "greedy"):
        return make(**extra)
    if num_warmup_steps is None:
        raise LrkitValueError(f"{name} requires `num_warmup_steps`, please provide that argument.")
    if name == "constant_with_warmup":
        return make(num_warmup_steps=num_warmup_steps, lr=lr)
    if name == "inverse_sqrt":
        return make(num_warmup_steps=num_warmup_steps, lr=lr, **extra)
    if name == "warmup_stable_decay":
        return make(num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps, lr=lr, **extra)
    if num_training_steps is None:
        raise LrkitValueError(f"{name} requires `num_training_steps`, please provide that argument.")
    return make(num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps, lr=lr, **extra)


#: transformers' SchedulerType names and what each is here.
SCHEDULER_TYPES = {"linear": linear, "cosine": cosine, "cosine_with_restarts": cosine_with_restarts,
                   "polynomial": polynomial, "constant": constant, "constant_with_warmup": constant_with_warmup,
                   "inverse_sqrt": inverse_sqrt, "reduce_lr_on_plateau": reduce_lr_on_plateau,
                   "cosine_with_min_lr": cosine_with_min_lr, "cosine_warmup_with_min_lr": cosine_warmup_with_min_lr,
                   "warmup_stable_decay": warmup_stable_decay, "greedy": greedy}


def _polynomial_lambda(keywords, base_lr):
    lr_init = keywords["lr_init"]
    s = polynomial(**{k: v for k, v in keywords.items() if k != "lr_init"}, lr=lr_init)
    return s if base_lr == lr_init else s * (base_lr / lr_init)  # LambdaLR: base_lr * (decay / lr_init)


def _cosine_lambda(keywords, base_lr):
    keywords = dict(keywords)
    rate = keywords.pop("min_lr_rate", 0.0)
    return cosine_with_min_lr(**keywords, min_lr_rate=rate, lr=base_lr) if rate else cosine(**keywords, lr=base_lr)


#: For reading a live transformers scheduler (``lrkit.torch.schedule_of``): a ``get_*_schedule*`` gives a
#: torch ``LambdaLR`` whose ``lr_lambdas`` are ``functools.partial``s of transformers' module-level
#: functions with keywords (``_get_constant_lambda`` is the function itself, no keywords). This maps each
#: function's ``__name__`` to ``(keywords, base_lr) -> schedule``: the peer whose value at step k is
#: ``base_lr * lr_lambda(k)``.
HF_LAMBDAS = {
    "_get_constant_lambda": lambda keywords, base_lr: constant(lr=base_lr),
    "_get_constant_schedule_with_warmup_lr_lambda":
        lambda keywords, base_lr: constant_with_warmup(**keywords, lr=base_lr),
    "_get_linear_schedule_with_warmup_lr_lambda": lambda keywords, base_lr: linear(**keywords, lr=base_lr),
    "_get_cosine_schedule_with_warmup_lr_lambda": _cosine_lambda,
    "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda":
        lambda keywords, base_lr: cosine_with_restarts(**keywords, lr=base_lr),
    "_get_polynomial_decay_schedule_with_warmup_lr_lambda": _polynomial_lambda,
    "_get_inverse_sqrt_schedule_lr_lambda": lambda keywords, base_lr: inverse_sqrt(**keywords, lr=base_lr),
    "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda":
        lambda keywords, base_lr: cosine_warmup_with_min_lr(**keywords, lr=base_lr),
    "_get_wsd_scheduler_lambda": lambda keywords, base_lr: warmup_stable_decay(**keywords, lr=base_lr),
}
