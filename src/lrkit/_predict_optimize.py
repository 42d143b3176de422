"""The schedule of lowest predicted final loss under a fitted law, within a family (numpy; scipy inside).

Families (``peak`` and ``steps`` fixed; ``warmup`` is linear from 0, ``round(0.05 * steps)`` by default):

- ``"wsd"``: ``lrkit.wsd(peak, steps, warmup, decay, shape, end)`` over the cooldown length ``decay``,
  its ``shape`` (1-sqrt, linear, cosine) and the final LR ``end`` (0 to peak / 2): a grid, then
  Nelder-Mead from the best point of each shape. Starts from the shoot-out's WSD (20% 1-sqrt cooldown to 0).
- ``"warmup"``: the warmup length ``w`` of ``lrkit.linear_to_zero(peak, steps, warmup=w)``, 0 to
  steps / 2. Both laws price a warmup by its area alone (less area, higher loss), so they favour the
  shortest warmup: they know nothing of the instability a warmup prevents. Starts from 5%.
- ``"free"``: the MPL paper's free-form schedule: after the warmup, any non-increasing curve from
  ``peak`` down to >= 0, as ``lrkit.piecewise_linear`` through ``knots`` + 1 evenly spaced points
  (L-BFGS-B on the ratios between consecutive knots, in [0, 1], with the law's exact gradient).
  Starts from cosine and from linear to 0.
- a callable ``build(x) -> schedule`` with ``bounds=[(low, high), ...]`` and ``start=[...]``: your own
  family, searched with scipy's bounded Powell method.
"""
import dataclasses
import math
import typing

import numpy as np

from . import _checks as check
from ._errors import LrkitTypeError, LrkitValueError
from ._predict_fit import as_law, one_thread
from ._recipes import linear_to_zero, wsd
from ._shapes import piecewise_linear
from ._shootout import COOLDOWN_FRACTION, WARMUP_FRACTION

FAMILIES = ("wsd", "warmup", "free")
WSD_SHAPES = ("1-sqrt", "linear", "cosine")
KNOTS = 64


@dataclasses.dataclass(frozen=True)
class Optimized:
    """The result of :func:`optimize`: ``schedule`` (an ordinary lrkit schedule) and its predicted
    final loss, and the family's starting point with its own."""
    family: str
    schedule: typing.Any
    predicted: float
    start: typing.Any
    start_predicted: float
    steps: int
    params: typing.Dict[str, typing.Any] = dataclasses.field(default_factory=dict)

    def summary(self):
        gain = self.start_predicted - self.predicted
        return (f"{self.family}: predicted final loss {self.predicted:.5g} after {self.steps:,} updates "
                f"(start {self.start_predicted:.5g}, {gain:+.3g} better)\n  {self.schedule!r}")

    def __str__(self):
        return self.summary()


def optimize(law, family="wsd", steps=None, peak=None, warmup=None, knots=KNOTS, shapes=WSD_SHAPES, bounds=None,
             start=None, extrapolate=False):
    """The schedule of lowest predicted final loss (after ``steps`` updates) in ``family``; an :class:`Optimized`.

    ``law``: a fitted :class:`lrkit.predict.Law` (or a path to one). ``steps``: default the fitted
    runs' length; ``peak``: default the highest fitted LR; ``warmup``: default 5% of ``steps``.
    ``family``: "wsd", "warmup", "free" or a callable (see the module docstring).
    """
    try:
        from scipy import optimize as sciopt
    except ImportError:
        raise ImportError("lrkit.predict.optimize needs scipy: pip install 'lrkit[predict]'") from None
    law = as_law(law)
    with one_thread():
        return _optimize(law, family, steps, peak, warmup, knots, shapes, bounds, start, extrapolate, sciopt)


def _optimize(law, family, steps, peak, warmup, knots, shapes, bounds, start, extrapolate, sciopt):
    steps = int(law.domain["steps"]) if steps is None else check.count("steps", steps)
    if steps < 4:
        raise LrkitValueError(f"steps must be >= 4, got {steps!r}")
    peak = float(law.domain["peak"]) if peak is None else float(check.positive("peak", peak))
    default_warmup = warmup is None
    warmup = round(WARMUP_FRACTION * steps) if default_warmup else check.count("warmup", warmup)
    if warmup > steps // 2:
        raise LrkitValueError(f"warmup must be <= steps / 2 ({steps // 2}), got {warmup!r}")
    grid = np.arange(steps, dtype=np.float64)

    def loss(schedule):
        return law.final_and_gradient(schedule(grid))[0]

    if callable(family) and not isinstance(family, str):
        return _custom(law, family, bounds, start, steps, loss, sciopt, extrapolate)
    check.choice("family", family, FAMILIES)
    if family == "wsd":
        first = wsd(peak, steps=steps, warmup=warmup, decay=max(1, min(round(COOLDOWN_FRACTION * steps), steps - warmup)))
        law.check(first(grid), extrapolate)
        return _wsd(first, peak, steps, warmup, shapes, loss, sciopt)
    if family == "warmup":
        first = linear_to_zero(peak, steps=steps, warmup=round(WARMUP_FRACTION * steps))
        law.check(first(grid), extrapolate)
        return _warmup(first, peak, steps, loss)
    knots = check.count("knots", knots)
    if knots < 2:
        raise LrkitValueError(f"knots must be >= 2, got {knots!r}")
    return _free(law, peak, steps, warmup, knots, sciopt, extrapolate)


def _result(family, schedule, loss, first, steps, params):
    return Optimized(family, schedule, float(loss(schedule)), first, float(loss(first)), steps, params)


def _wsd(first, peak, steps, warmup, shapes, loss, sciopt):
    shapes = tuple(shapes)
    for shape in shapes:
        check.choice("shapes[i]", shape, WSD_SHAPES + ("exponential",))
    room = steps - warmup

    def build(shape, fraction, end):
        decay = int(min(room, max(1, round(fraction * room))))
        end = min(max(end, 1e-4 if shape == "exponential" else 0.0), 0.5)
        return wsd(peak, steps=steps, warmup=warmup, decay=decay, shape=shape, end=_round(end * peak))

    best = (loss(first), first, {"decay": first.decay, "shape": first.shape, "end": first.end})
    for shape in shapes:
        cells = [(f, e) for f in np.linspace(0.02, 1.0, 50) for e in (0.0, 0.01, 0.03, 0.1, 0.3)]
        values = [loss(build(shape, f, e)) for f, e in cells]
        x0 = np.array(cells[int(np.argmin(values))])
        objective = lambda x, shape=shape: loss(build(shape, float(np.clip(x[0], 0.0, 1.0)), float(np.clip(x[1], 0.0, 0.5))))
        res = sciopt.minimize(objective, x0, method="Nelder-Mead",
                              options={"xatol": 0.5 / room, "fatol": 1e-10, "maxiter": 400, "initial_simplex":
                                       [x0, x0 + [0.05, 0.0], x0 + [0.0, 0.02]]})
        candidate = build(shape, float(np.clip(res.x[0], 0.0, 1.0)), float(np.clip(res.x[1], 0.0, 0.5)))
        value = loss(candidate)
        if value < best[0]:
            best = (value, candidate, {"decay": candidate.decay, "shape": shape, "end": candidate.end})
    return _result("wsd", best[1], loss, first, steps, best[2])


def _warmup(first, peak, steps, loss):
    build = lambda w: linear_to_zero(peak, steps=steps, warmup=int(w))
    candidates = np.unique(np.linspace(0, steps // 2, min(steps // 2 + 1, 401)).round())
    values = [loss(build(w)) for w in candidates]
    i = int(np.argmin(values))
    low, high = int(candidates[max(0, i - 1)]), int(candidates[min(len(candidates) - 1, i + 1)])
    best = min(range(low, high + 1), key=lambda w: (loss(build(w)), w))
    return _result("warmup", build(best), loss, first, steps, {"warmup": best})


def _free(law, peak, steps, warmup, knots, sciopt, extrapolate):
    positions = np.unique(np.linspace(warmup, steps - 1, knots + 1).round()).astype(np.int64)
    t = np.arange(warmup, steps)
    segment = np.clip(np.searchsorted(positions, t, side="right") - 1, 0, len(positions) - 2)
    left, right = positions[segment], positions[segment + 1]
    a = (t - left) / (right - left)                          # weight of the right knot
    ramp = peak * np.arange(warmup) / warmup if warmup else np.empty(0)

    def curve(v):                                            # knot values (fractions of peak) -> LRs
        return np.concatenate([ramp, peak * np.maximum((1.0 - a) * v[segment] + a * v[segment + 1], 0.0)])

    def values(r):                                           # ratios between knots -> knot values
        return np.concatenate([[1.0], np.cumprod(r)])

    def objective(r):
        v = values(r)
        loss, grad = law.final_and_gradient(curve(v), warmup)
        g = grad[warmup:] * peak                              # d loss / d (LR fraction) per update
        dv = np.bincount(segment, g * (1.0 - a), minlength=len(positions)) + \
            np.bincount(segment + 1, g * a, minlength=len(positions))
        # d v_i / d r_k = v_{k-1} * prod_{k<m<=i} r_m: h_k = dv_k + r_{k+1} * h_{k+1}, d loss / d r_k = v_{k-1} h_k
        h = np.zeros(len(r))
        acc = 0.0
        for k in range(len(r) - 1, -1, -1):
            acc = dv[k + 1] + (r[k + 1] * acc if k + 1 < len(r) else 0.0)
            h[k] = acc
        return loss, v[:-1] * h

    span = positions[-1] - positions[0]
    cosine = 0.5 * (1.0 + np.cos(math.pi * (positions - positions[0]) / span))
    linear = 1.0 - (positions - positions[0]) / span
    law.check(curve(cosine), extrapolate)
    n = len(positions) - 1
    best = None
    for shape in (cosine, linear):  # two starts; the lower predicted loss wins
        ratios = np.divide(shape[1:], shape[:-1], out=np.zeros(n), where=shape[:-1] > 0)
        res = sciopt.minimize(objective, np.clip(ratios, 0.0, 1.0), jac=True, method="L-BFGS-B",
                              bounds=[(0.0, 1.0)] * n, options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-12})
        if best is None or res.fun < best.fun:
            best = res
    v = np.clip(values(np.clip(best.x, 0.0, 1.0)), 0.0, 1.0)
    v = np.minimum.accumulate(v)                              # exactly non-increasing after rounding
    ramp_points = [(0, 0.0)] if warmup else []
    points = _monotone(ramp_points + [(int(p), _round(peak * x)) for p, x in zip(positions, v)], warmup)
    start = piecewise_linear(ramp_points + [(int(p), _round(peak * x)) for p, x in zip(positions, cosine)])
    grid = np.arange(steps, dtype=np.float64)
    loss = lambda s: law.final_and_gradient(s(grid), warmup)[0]
    found = piecewise_linear(points)
    if loss(found) > loss(start):  # the optimiser failed to improve on its start: say so by returning the start
        found = start
    return _result("free", found, loss, start, steps, {"knots": len(positions), "warmup": warmup})


def _round(x, digits=6):
    """``x`` to ``digits`` significant digits (readable specs), never below 0."""
    if x <= 0:
        return 0.0
    return float(f"{x:.{digits}g}")


def _monotone(points, warmup):
    out = list(points)
    for i in range(1, len(out)):
        if out[i][0] > warmup and out[i][1] > out[i - 1][1]:
            out[i] = (out[i][0], out[i - 1][1])
    return out


def _custom(law, build, bounds, start, steps, loss, sciopt, extrapolate):
    if bounds is None or start is None:
        raise LrkitTypeError("a callable family needs bounds=[(low, high), ...] and start=[...]")
    start = np.asarray(start, dtype=np.float64)
    bounds = [tuple(float(v) for v in b) for b in bounds]
    if start.ndim != 1 or len(bounds) != start.size or any(not low <= x <= high for x, (low, high) in zip(start, bounds)):
        raise LrkitValueError(f"start must be a point within bounds (one (low, high) per value), got {start.tolist()} "
                              f"and {bounds}")
    first = build(start)
    law.check(first(np.arange(steps, dtype=np.float64)), extrapolate)
    res = sciopt.minimize(lambda x: loss(build(x)), start, method="Powell", bounds=bounds,
                          options={"xtol": 1e-6, "ftol": 1e-12, "maxiter": 2000})
    best = build(res.x) if loss(build(res.x)) < loss(first) else first
    x = res.x if best is not first else start
    return _result(getattr(build, "__name__", "custom"), best, loss, first, steps, {"x": [float(v) for v in x]})
