"""timm's schedulers by their own names: ``lrkit.peers.timm`` (specs: ``timm.cosine(t_initial=100, lr=0.1)``).

One class per ``timm.scheduler`` class, named by its ``create_scheduler_v2`` name and also by the class
name: ``cosine`` (``CosineLRScheduler``), ``tanh`` (``TanhLRScheduler``), ``poly`` (``PolyLRScheduler``),
``step`` (``StepLRScheduler``), ``multistep`` (``MultiStepLRScheduler``), ``wsd`` (``WSDLRScheduler``);
``rsqrt`` and ``constant`` build ``wsd`` and ``step`` as ``create_scheduler_v2`` does; ``plateau``
(``PlateauLRScheduler``) gives lrkit's plateau controller; ``create_scheduler_v2(sched, ...)`` takes that
function's arguments. The arguments are timm's own, without the optimizer: ``lr`` is its LR (timm's
``base_values``; ``lr_min`` and ``warmup_lr_init`` are absolute).

Step convention: the value at lrkit step k is timm's ``_get_lr(k)``, what timm sets after ``step(k)``
(``t_in_epochs=True``: k counts epochs) or ``step_update(k)`` (``t_in_epochs=False``: k counts updates;
``create_scheduler_v2(step_on_epochs=False, updates_per_epoch=n)`` multiplies its epoch counts by n).
lrkit's own argument ``updates_per_epoch=n`` with ``t_in_epochs=True`` makes the step count updates:
``_get_lr(k // n)``, the value timm's epoch stepping gives every update of epoch ``k // n``. With
``noise_range_t`` the curve gets lrkit's ``noise`` (timm's distribution, lrkit's own generator: the same
noise-free curve, not timm's torch-generator draws).

>>> s = cosine(t_initial=4, lr=1.0, warmup_t=2, warmup_lr_init=0.0)
>>> [round(s(t), 4) for t in range(7)]
[0.0, 0.5, 0.5, 0.1464, 0.0, 0.0, 0.0]
"""
from .. import _checks as check
from .._combinators import clip, sequence, warmup
from .._decays import inverse_power, one_minus_power, shifted_exponential
from .._epochs import per_epoch
from .._decays import tanh as _tanh
from .._errors import LrkitTypeError, LrkitValueError, excerpt
from .._noise import noise
from .._peers import Peer, peer, peer_function
from .._plateau import plateau as _plateau
from .._shapes import constant as _constant
from .._shapes import cosine as _cosine
from .._shapes import exponential, linear, one_minus_sqrt, piecewise_constant, polynomial
from .._warps import k_decay as _k_decay
from .._warps import restarts, shift

__all__ = ["cosine", "tanh", "poly", "step", "multistep", "wsd", "rsqrt", "constant", "plateau",
           "create_scheduler_v2", "CosineLRScheduler", "TanhLRScheduler", "PolyLRScheduler", "StepLRScheduler",
           "MultiStepLRScheduler", "WSDLRScheduler", "PlateauLRScheduler", "TIMM_SCHEDULERS"]


class _Timm(Peer):
    """What every timm scheduler shares: ``lr``, the warmup (``warmup_t``, ``warmup_lr_init``,
    ``warmup_prefix``), ``t_in_epochs`` and the noise (``noise_range_t``, ``noise_pct``, ``noise_std``,
    ``noise_seed``)."""
    _warmup_to_base = True  # tanh without prefix warms up to its own value at warmup_t instead

    def _common(self):
        if isinstance(self.noise_range_t, list):
            object.__setattr__(self, "noise_range_t", tuple(self.noise_range_t))
        self._validate("lr", check.non_negative)
        self._validate("warmup_t", check.non_negative)
        self._validate("warmup_lr_init", check.non_negative)
        if hasattr(self, "warmup_prefix"):
            check.flag("warmup_prefix", self.warmup_prefix)
        check.flag("t_in_epochs", self.t_in_epochs)
        self._validate("noise_pct", check.non_negative)
        self._validate("noise_std", check.non_negative)
        if isinstance(self.noise_seed, bool) or not isinstance(self.noise_seed, int):
            raise LrkitTypeError(f"noise_seed must be an integer, got {excerpt(self.noise_seed)}")
        return self._written("lr")

    def _finish(self, body):
        """``body`` (timm's curve after the warmup, on its own clock when ``warmup_prefix``) with timm's
        warmup and noise."""
        w, lr = self._written("warmup_t"), self._written("lr")
        if w:
            start = self._written("warmup_lr_init")
            if getattr(self, "warmup_prefix", True):
                body = warmup(body, steps=w, start=start, peak=lr)
            else:
                body = warmup(shift(body, steps=w), steps=w, start=start, peak=lr if self._warmup_to_base else None)
        return self._noisy(body)

    def _noisy(self, body):
        return self._per_update(self._with_noise(body))

    def _per_update(self, body):
        """With ``t_in_epochs`` and ``updates_per_epoch = n > 0``: the epoch curve held for each epoch's n
        updates (timm steps at each epoch's end), lrkit's ``per_epoch``; else timm's ``t`` is the step."""
        n = check.count("updates_per_epoch", self.updates_per_epoch)
        if n == 0:
            return body
        if not self.t_in_epochs:
            raise LrkitValueError(f"updates_per_epoch applies to t_in_epochs=True (with t_in_epochs=False timm's "
                                  f"t already counts updates), got updates_per_epoch={n}")
        return per_epoch(body, updates=n)

    def _with_noise(self, body):
        span = self.noise_range_t
        if span is None:
            return body
        if isinstance(span, (tuple, list)):
            if len(span) != 2:
                raise LrkitValueError(f"noise_range_t must be a number or a [start, end] pair, got {excerpt(span)}")
            begin, stop = span
        else:
            begin, stop = span, None
        return noise(body, pct=self._written("noise_pct"), std=self._written("noise_std"), kind="normal",
                     seed=self.noise_seed, begin=begin, stop=stop)

    def _cycles(self, unit):
        """timm's cycles of ``unit`` (a curve from 1 to 0 over ``t_initial``): ``cycle_mul``, ``cycle_decay``
        (the peak decays towards ``lr_min``), ``cycle_limit`` (``lr_min`` from there on)."""
        self._validate("t_initial", check.positive)
        self._validate("lr_min", check.non_negative)
        self._validate("cycle_mul", check.at_least, 1)
        self._validate("cycle_decay", check.non_negative)
        limit = check.count("cycle_limit", self.cycle_limit)
        lr_min = self._written("lr_min")
        if limit == 0:
            return _constant(lr_min)
        return restarts(unit, period=self._written("t_initial"), period_mult=self._written("cycle_mul"),
                        peak=self._written("lr"), end=lr_min, decay=self._written("cycle_decay"), limit=limit)

    def _warped(self, unit):
        if getattr(self, "k_decay", 1.0) == 1.0:
            return unit
        self._validate("k_decay", check.positive)
        return _k_decay(unit, k=self._written("k_decay"), steps=self._written("t_initial"))


@peer("timm", "CosineLRScheduler")
class cosine(_Timm):
    """timm's ``CosineLRScheduler`` (``sched="cosine"``): SGDR cycles (Loshchilov & Hutter 2017) from
    ``lr * cycle_decay**i`` to ``lr_min``, ``lr_min + (peak_i - lr_min) * (1 + cos(pi * x**k / T_i**k)) / 2``
    (``x`` the step within cycle ``i``, ``T_i = t_initial * cycle_mul**i``, ``k = k_decay``), ``lr_min``
    after ``cycle_limit`` cycles; a linear warmup from ``warmup_lr_init`` to ``lr``.

    >>> cosine(100, lr=0.1, lr_min=1e-5, warmup_t=5, warmup_lr_init=1e-6).expanded
    warmup(shift(restarts(cosine(start=1.0, end=0.0, steps=100), period=100, peak=0.1, end=1e-05, limit=1), steps=5), steps=5, start=1e-06, peak=0.1)
    """
    t_initial: int
    lr_min: float = 0.0
    cycle_mul: float = 1.0
    cycle_decay: float = 1.0
    cycle_limit: int = 1
    warmup_t: int = 0
    warmup_lr_init: float = 0.0
    warmup_prefix: bool = False
    t_in_epochs: bool = True
    noise_range_t: object = None
    noise_pct: float = 0.67
    noise_std: float = 1.0
    noise_seed: int = 42
    k_decay: float = 1.0
    updates_per_epoch: int = 0
    lr: float = 1.0

    def _expand(self):
        self._common()
        self._validate("t_initial", check.positive)
        unit = self._warped(_cosine(1.0, 0.0, steps=self._written("t_initial")))
        return self._finish(self._cycles(unit))


@peer("timm", "TanhLRScheduler")
class tanh(_Timm):
    """timm's ``TanhLRScheduler`` (``sched="tanh"``; Hsueh et al. 2019): cycles of
    ``lr_min + (peak_i - lr_min) * (1 - tanh(lb * (1 - x/T_i) + ub * x/T_i)) / 2``; without
    ``warmup_prefix`` its warmup rises to the curve's value at ``warmup_t``, not to ``lr``.

    >>> round(tanh(10, lr=1.0)(5), 4)
    0.982
    """
    t_initial: int
    lb: float = -7.0
    ub: float = 3.0
    lr_min: float = 0.0
    cycle_mul: float = 1.0
    cycle_decay: float = 1.0
    cycle_limit: int = 1
    warmup_t: int = 0
    warmup_lr_init: float = 0.0
    warmup_prefix: bool = False
    t_in_epochs: bool = True
    noise_range_t: object = None
    noise_pct: float = 0.67
    noise_std: float = 1.0
    noise_seed: int = 42
    updates_per_epoch: int = 0
    lr: float = 1.0

    def _expand(self):
        self._common()
        self._validate("t_initial", check.positive)
        object.__setattr__(self, "_warmup_to_base", bool(self.warmup_prefix))
        unit = _tanh(1.0, 0.0, steps=self._written("t_initial"), lb=self._written("lb"), ub=self._written("ub"))
        return self._finish(self._cycles(unit))


@peer("timm", "PolyLRScheduler")
class poly(_Timm):
    """timm's ``PolyLRScheduler`` (``sched="poly"``, ``decay_rate`` its ``power``): cycles of
    ``lr_min + (peak_i - lr_min) * (1 - x**k / T_i**k) ** power``.

    >>> [round(poly(4, power=2.0, lr=1.0)(t), 4) for t in range(5)]
    [1.0, 0.5625, 0.25, 0.0625, 0.0]
    """
    t_initial: int
    power: float = 0.5
    lr_min: float = 0.0
    cycle_mul: float = 1.0
    cycle_decay: float = 1.0
    cycle_limit: int = 1
    warmup_t: int = 0
    warmup_lr_init: float = 0.0
    warmup_prefix: bool = False
    t_in_epochs: bool = True
    noise_range_t: object = None
    noise_pct: float = 0.67
    noise_std: float = 1.0
    noise_seed: int = 42
    k_decay: float = 1.0
    updates_per_epoch: int = 0
    lr: float = 1.0

    def _expand(self):
        self._common()
        self._validate("t_initial", check.positive)
        self._validate("power", check.positive)
        unit = self._warped(polynomial(1.0, 0.0, steps=self._written("t_initial"), power=self._written("power")))
        return self._finish(self._cycles(unit))


@peer("timm", "StepLRScheduler")
class step(_Timm):
    """timm's ``StepLRScheduler`` (``sched="step"``): ``lr * decay_rate ** (t // decay_t)`` (``t`` counted
    after the warmup with ``warmup_prefix``, its default here); a fractional ``decay_t`` divides as Python's
    ``//`` does, exactly (lrkit's ``per_epoch``): ``3 // 0.1`` is 29.

    >>> [step(2, decay_rate=0.5, lr=1.0)(t) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    >>> step(0.1, decay_rate=0.5, lr=1.0).expanded
    per_epoch(exponential(start=1.0, gamma=0.5), updates=0.1)
    """
    decay_t: float
    decay_rate: float = 1.0
    warmup_t: int = 0
    warmup_lr_init: float = 0.0
    warmup_prefix: bool = True
    t_in_epochs: bool = True
    noise_range_t: object = None
    noise_pct: float = 0.67
    noise_std: float = 1.0
    noise_seed: int = 42
    updates_per_epoch: int = 0
    lr: float = 1.0

    def _expand(self):
        lr = self._common()
        self._validate("decay_t", check.positive)
        self._validate("decay_rate", check.non_negative)
        rate, d = self._written("decay_rate"), self._written("decay_t")
        if rate == 1:
            body = _constant(lr)
        elif float(d).is_integer():
            body = exponential(lr, rate, steps=d, staircase=True)
        else:  # timm's t // decay_t, exact (3 // 0.1 is 29, where floor(3 / 0.1) is 30): lrkit's per_epoch
            body = per_epoch(exponential(lr, rate), updates=d)
        return self._finish(body)


@peer("timm", "MultiStepLRScheduler")
class multistep(_Timm):
    """timm's ``MultiStepLRScheduler`` (``sched="multistep"``): ``lr * decay_rate ** n`` with ``n`` the
    milestones ``m`` of ``decay_t`` with ``m <= t + 1`` (timm compares with ``t + 1``: a milestone of 10
    applies from ``t = 9``, one step before torch's MultiStepLR).

    >>> [multistep([2, 4], decay_rate=0.5, lr=1.0)(t) for t in range(5)]
    [1.0, 0.5, 0.5, 0.25, 0.25]
    """
    decay_t: tuple
    decay_rate: float = 1.0
    warmup_t: int = 0
    warmup_lr_init: float = 0.0
    warmup_prefix: bool = True
    t_in_epochs: bool = True
    noise_range_t: object = None
    noise_pct: float = 0.67
    noise_std: float = 1.0
    noise_seed: int = 42
    updates_per_epoch: int = 0
    lr: float = 1.0

    def _expand(self):
        lr = self._common()
        self._validate("decay_t", check.increasing)
        self._validate("decay_rate", check.non_negative)
        rate = self._written("decay_rate")
        milestones = self._written("decay_t")
        early = sum(1 for m in milestones if m - 1 <= 0)  # applied from t = 0 on
        later = [m - 1 for m in milestones if m - 1 > 0]
        try:
            values = [lr * rate ** (early + i) for i in range(len(later) + 1)]
        except OverflowError:
            raise LrkitValueError(f"decay_rate={rate!r} over {len(milestones)} milestones leaves float range") from None
        body = piecewise_constant(later, values) if later else _constant(values[0])
        return self._finish(body)


_WSD_DECAYS = ("linear", "1-sqrt", "cosine", "power", "exp")


@peer("timm", "WSDLRScheduler")
class wsd(_Timm):
    """timm's ``WSDLRScheduler`` (``sched="wsd"``; ``"rsqrt"`` is its ``stable_fn="rsqrt"``): a linear warmup
    (always a prefix), then ``lr_min + (max(lr * stable(t_s), lr_min) - lr_min) * decay(frac)`` over
    ``t_initial`` steps whose last ``decay_t`` decay, ``lr_min`` after; ``stable`` is 1 (``"constant"``) or
    ``(1 + t_s / stable_timescale) ** -p`` (``"rsqrt"``: p = 0.5, ``"power"``: ``stable_power``), ``decay``
    ``"linear"``, ``"1-sqrt"``, ``"cosine"``, ``"power"`` (``1 - frac ** decay_power``) or ``"exp"``.

    >>> [wsd(4, 2, decay_fn="linear", lr=1.0)(t) for t in range(6)]
    [1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    """
    t_initial: int
    decay_t: int
    lr_min: float = 0.0
    stable_fn: str = "constant"
    stable_timescale: float = None
    stable_power: float = 0.5
    decay_fn: str = "1-sqrt"
    decay_power: float = 0.5
    decay_ratio: float = 0.1
    warmup_t: int = 0
    warmup_lr_init: float = 0.0
    t_in_epochs: bool = True
    noise_range_t: object = None
    noise_pct: float = 0.67
    noise_std: float = 1.0
    noise_seed: int = 42
    updates_per_epoch: int = 0
    lr: float = 1.0

    def _expand(self):
        lr = self._common()
        self._validate("t_initial", check.positive)
        self._validate("decay_t", check.positive)
        total, d = self._written("t_initial"), self._written("decay_t")
        if d > total:
            raise LrkitValueError(f"decay_t must be in (0, t_initial], got decay_t={d!r} > t_initial={total!r}")
        self._validate("lr_min", check.non_negative)
        check.choice("stable_fn", self.stable_fn, ("constant", "rsqrt", "power"))
        check.choice("decay_fn", self.decay_fn, _WSD_DECAYS)
        self._validate("decay_ratio", check.fraction)
        self._validate("decay_power", check.positive)
        self._validate("stable_power", check.positive)
        low = self._written("lr_min")
        if self.stable_fn == "constant":
            stable = _constant(max(lr, low))
        else:
            scale = self.stable_timescale if self.stable_timescale is not None else self.warmup_t
            if not scale > 0:
                raise LrkitValueError(f"stable_fn={self.stable_fn!r} needs stable_timescale > 0 (it defaults to "
                                      f"warmup_t), got stable_timescale={self.stable_timescale!r}, "
                                      f"warmup_t={self._written('warmup_t')!r}")
            power = 0.5 if self.stable_fn == "rsqrt" else self._written("stable_power")
            stable = clip(inverse_power(lr, steps=scale, power=power), floor=low)
        decay = {"linear": lambda: linear(1.0, 0.0, steps=d), "1-sqrt": lambda: one_minus_sqrt(1.0, 0.0, steps=d),
                 "cosine": lambda: _cosine(1.0, 0.0, steps=d),
                 "power": lambda: one_minus_power(1.0, 0.0, steps=d, power=self._written("decay_power")),
                 "exp": lambda: shifted_exponential(1.0, 0.0, steps=d, ratio=self._written("decay_ratio"))}[
            self.decay_fn]()
        if total > d:
            decay = sequence([_constant(1.0), decay], boundaries=[total - d])
        body = (stable + (-low)) * decay + low if low else stable * decay
        w = self._written("warmup_t")
        if w:
            body = warmup(body, steps=w, start=self._written("warmup_lr_init"), peak=lr)
        return self._noisy(body)


@peer_function("timm")
def rsqrt(t_initial, decay_t, decay_fn="linear", **kwargs):
    """timm's ``sched="rsqrt"``: ``WSDLRScheduler`` with ``stable_fn="rsqrt"`` (the Big Vision reciprocal
    square root, timescale ``warmup_t`` by default) and a ``"linear"`` cooldown.

    >>> rsqrt(100, 20, warmup_t=10, lr=0.1)
    timm.wsd(t_initial=100, decay_t=20, stable_fn='rsqrt', decay_fn='linear', warmup_t=10, lr=0.1)
    """
    return wsd(t_initial, decay_t, stable_fn="rsqrt", decay_fn=decay_fn, **kwargs)


@peer_function("timm")
def constant(**kwargs):
    """timm's ``sched="constant"``: ``StepLRScheduler(decay_t=1, decay_rate=1.)``, the LR held after its warmup.

    >>> constant(warmup_t=2, lr=1.0)
    timm.step(decay_t=1, warmup_t=2)
    """
    return step(decay_t=1, decay_rate=1.0, **kwargs)


@peer_function("timm", "PlateauLRScheduler")
def plateau(decay_rate=0.1, patience_t=10, threshold=1e-4, cooldown_t=0, warmup_t=0, warmup_lr_init=0.0, lr_min=0.0,
            mode="max"):
    """timm's ``PlateauLRScheduler`` (``sched="plateau"``): torch's ``ReduceLROnPlateau`` rules (its
    ``patience``, ``factor``, ...) as lrkit's plateau controller (a controller, not a schedule). timm's warmup
    before it is ``lrkit.torch.ScheduleLR(..., plateau=..., plateau_start=warmup_t)`` over
    ``timm.constant(warmup_t=..., warmup_lr_init=..., lr=...)``.

    >>> plateau(patience_t=3).patience
    3
    """
    if warmup_t:
        check.count("warmup_t", warmup_t)
        check.non_negative("warmup_lr_init", warmup_lr_init)
    return _plateau(mode=mode, factor=decay_rate, patience=patience_t, threshold=threshold, cooldown=cooldown_t,
                    min_lr=lr_min, threshold_rule="torch")


@peer_function("timm")
def create_scheduler_v2(sched="cosine", num_epochs=300, decay_epochs=None, decay_milestones=(90, 180, 270),
                        cooldown_epochs=0, patience_epochs=10, decay_rate=0.1, min_lr=0.0, warmup_lr=1e-5,
                        warmup_epochs=0, warmup_prefix=False, noise=None, noise_pct=0.67, noise_std=1.0,
                        noise_seed=42, cycle_mul=1.0, cycle_decay=0.1, cycle_limit=1, k_decay=1.0, decay_fn=None,
                        stable_timescale=None, plateau_mode="max", step_on_epochs=True, updates_per_epoch=0, lr=1.0):
    """timm's ``create_scheduler_v2(optimizer, sched, ...)`` without the optimizer (``lr`` is its LR): the
    scheduler of ``sched`` (``"cosine"``, ``"tanh"``, ``"step"``, ``"multistep"``, ``"plateau"``, ``"poly"``,
    ``"wsd"``, ``"rsqrt"``, ``"constant"``) built from these arguments as timm builds it (its epoch counts
    times ``updates_per_epoch`` when ``step_on_epochs=False``; ``noise`` as fractions of ``num_epochs``).
    With ``step_on_epochs=True`` and ``updates_per_epoch > 0`` the schedule counts updates, each epoch's
    value held for its updates (timm ignores ``updates_per_epoch`` there: its step counts epochs).
    timm also returns the number of epochs to train; this returns the schedule.

    >>> create_scheduler_v2("cosine", num_epochs=10, warmup_epochs=2, lr=0.1)
    timm.cosine(t_initial=10, cycle_decay=0.1, warmup_t=2, warmup_lr_init=1e-05, lr=0.1)
    """
    choices = ("cosine", "tanh", "step", "multistep", "plateau", "poly", "wsd", "rsqrt", "constant")
    check.choice("sched", sched, choices)
    if decay_epochs is None:
        decay_epochs = 0.2 if sched in ("wsd", "rsqrt") else 90
    t_initial, warmup_t, decay_t, timescale_t = num_epochs, warmup_epochs, decay_epochs, stable_timescale
    if not step_on_epochs:
        if check.count("updates_per_epoch", updates_per_epoch) == 0:
            raise LrkitValueError("updates_per_epoch must be set to the number of dataloader batches when "
                                  "step_on_epochs=False, got 0")
        t_initial, warmup_t, decay_t = (x * updates_per_epoch for x in (t_initial, warmup_t, decay_t))
        decay_milestones = [d * updates_per_epoch for d in decay_milestones]
        if timescale_t is not None:
            timescale_t = timescale_t * updates_per_epoch
    warm = dict(warmup_lr_init=warmup_lr, warmup_t=warmup_t, warmup_prefix=warmup_prefix)
    if noise is not None:
        if isinstance(noise, (list, tuple)):
            noise_range = [n * t_initial for n in noise]
            noise_range = noise_range[0] if len(noise_range) == 1 else noise_range
        else:
            noise_range = noise * t_initial
    else:
        noise_range = None
    noisy = dict(noise_range_t=noise_range, noise_pct=noise_pct, noise_std=noise_std, noise_seed=noise_seed)
    cycles = dict(cycle_mul=cycle_mul, cycle_decay=cycle_decay, cycle_limit=cycle_limit)
    epochs = dict(t_in_epochs=step_on_epochs, lr=lr, updates_per_epoch=updates_per_epoch if step_on_epochs else 0)
    if sched == "cosine":
        return cosine(t_initial, lr_min=min_lr, **cycles, **warm, **noisy, k_decay=k_decay, **epochs)
    if sched == "tanh":
        return tanh(t_initial, lr_min=min_lr, **cycles, **warm, **noisy, **epochs)
    if sched == "poly":
        return poly(t_initial, power=decay_rate, lr_min=min_lr, **cycles, **warm, **noisy, k_decay=k_decay, **epochs)
    if sched == "step":
        return step(decay_t, decay_rate=decay_rate, **warm, **noisy, **epochs)
    if sched == "constant":
        return step(1, decay_rate=1.0, **warm, **noisy, **epochs)
    if sched == "multistep":
        return multistep(decay_milestones, decay_rate=decay_rate, **warm, **noisy, **epochs)
    if sched == "plateau":
        return plateau(decay_rate=decay_rate, patience_t=patience_epochs, cooldown_t=0, warmup_t=warmup_t,
                       warmup_lr_init=warmup_lr, lr_min=min_lr, mode=plateau_mode)
    t_sched = t_initial if warmup_prefix else t_initial - warmup_t
    if 0 < decay_epochs < 1:
        decay_t = decay_epochs * t_sched
    decay_t = int(round(decay_t))
    if not 0 < decay_t <= t_sched:
        raise LrkitValueError(f"{sched} schedule requires 0 < decay_epochs <= epochs"
                              f"{'' if warmup_prefix else ' - warmup_epochs'}, got decay {decay_t} and stable + "
                              f"decay length {t_sched}")
    return wsd(t_sched, decay_t, lr_min=min_lr, stable_fn="rsqrt" if sched == "rsqrt" else "constant",
               stable_timescale=timescale_t, decay_fn=decay_fn or ("linear" if sched == "rsqrt" else "1-sqrt"),
               warmup_t=warmup_t, warmup_lr_init=warmup_lr, **noisy, **epochs)


CosineLRScheduler, TanhLRScheduler, PolyLRScheduler = cosine, tanh, poly
StepLRScheduler, MultiStepLRScheduler, WSDLRScheduler, PlateauLRScheduler = step, multistep, wsd, plateau


def _reader(cls):
    import dataclasses
    names = [f.name for f in dataclasses.fields(cls) if f.name != "lr"]

    def read(attributes, base_lr):
        return cls(**{name: attributes[name] for name in names if name in attributes}, lr=base_lr)
    return read


#: For reading a live timm scheduler (``lrkit.torch.schedule_of``): timm's scheduler class name to
#: ``(attributes, base_lr) -> schedule``, ``attributes`` the scheduler's ``vars()`` (timm keeps every
#: constructor argument as an attribute of the same name) and ``base_lr`` one of its ``base_values``.
#: (``PlateauLRScheduler`` is metric-driven: not a schedule.)
TIMM_SCHEDULERS = {name: _reader(cls) for name, cls in (
    ("CosineLRScheduler", cosine), ("TanhLRScheduler", tanh), ("PolyLRScheduler", poly),
    ("StepLRScheduler", step), ("MultiStepLRScheduler", multistep), ("WSDLRScheduler", wsd))}
