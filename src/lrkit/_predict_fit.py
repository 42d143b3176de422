"""Fit a loss-curve law to logged runs and predict other schedules with it (numpy; scipy is imported
by :func:`fit` alone).

The fit, as both papers do it: least squares on ``log(predicted) - log(observed)`` with a Huber loss
(``huber=1e-3``: scipy's ``least_squares(loss="huber", f_scale=1e-3)``), analytic Jacobian, bounded
parameters, from a fixed grid of starts (so the same runs give the same law), keeping the lowest cost.
Each run's losses are averaged in ``points`` windows of consecutive logged steps (the law evaluated at
each window's middle step); the first ``skip`` of each run and its warmup are left out. LRs are
divided by the highest LR of the fitted runs (``lr_scale``), so the parameters are in those units.
"""
import contextlib
import dataclasses
import json
import math
import typing
import warnings

import numpy as np

from . import _checks as check
from . import _predict_laws as laws
from ._errors import ExtrapolationWarning, LrkitTypeError, LrkitValueError, excerpt
from ._predict_runs import _lrs, as_runs
from ._spec import as_schedule

LAWS = ("mpl", "lra")
NAMES = {"mpl": "Multi-Power Law (Luo et al. 2025)", "lra": "LR-annealing law (Tissue et al. 2024)"}
FORMAT, VERSION = "lrkit-law", 1
#: Defaults of :func:`fit`: windows per run; the fraction of each run left out at its start (the early
#: transient, where the loss falls unlike any power law of the LR area: on lrkit's LM task a plateau,
#: then a second fall, over the first ~15% of the run; 0.2 gave the lowest in-sample error of the
#: final loss of the fitting runs among 0.05, 0.1, 0.2 and 0.3); the Huber scale (both papers'); the
#: LR-annealing law's momentum decay: ``"fit"`` picks the best of DECAYS on the fitted runs (the paper
#: uses 0.999 for runs of tens of thousands of updates; the decay counts updates, and shorter runs need less).
POINTS, SKIP, HUBER, DECAY = 100, 0.2, 1e-3, "fit"
DECAYS = (0.9, 0.95, 0.99, 0.995, 0.999)
#: Extrapolation: a warning beyond these factors of what was fitted, an error beyond the REFUSE ones
#: (unless ``extrapolate=True``). Lower peaks than LOW_PEAK x the lowest fitted one also warn.
STEPS_WARN, STEPS_REFUSE, PEAK_WARN, PEAK_REFUSE, LOW_PEAK = 1.25, 4.0, 1.1, 2.0, 0.5


@dataclasses.dataclass(frozen=True)
class Prediction:
    """A law's predicted training-loss curve for one schedule: ``loss[i]`` after ``steps[i]`` updates;
    ``rel_error``: the fit's RMS relative error (``low``/``high`` = ``loss * (1 -/+ rel_error)``)."""
    label: str
    length: int
    steps: np.ndarray
    loss: np.ndarray
    rel_error: float
    warnings: typing.Tuple[str, ...] = ()

    @property
    def final(self):
        """The prediction at the last step predicted: after all ``length`` updates unless ``at`` ended earlier."""
        return float(self.loss[-1])

    @property
    def low(self):
        return self.loss * (1.0 - self.rel_error)

    @property
    def high(self):
        return self.loss * (1.0 + self.rel_error)


@dataclasses.dataclass(frozen=True)
class Law:
    """A fitted loss-curve law: ``kind`` ("mpl" or "lra"), its ``params``, the LR unit ``lr_scale``,
    the ``domain`` it was fitted on, its ``error`` on the fitted runs, and what it was fitted to.
    ``predict(schedule, steps)``, ``final_loss(schedule, steps)``, ``save(path)``/``Law.load(path)``."""
    kind: str
    params: typing.Dict[str, float]
    lr_scale: float
    domain: typing.Dict[str, float]
    error: typing.Dict[str, typing.Any]
    runs: typing.Tuple[typing.Dict[str, typing.Any], ...] = ()
    settings: typing.Dict[str, typing.Any] = dataclasses.field(default_factory=dict)

    @property
    def decay(self):
        return float(self.settings.get("decay", 0.999))

    @property
    def vector(self):
        return np.array([self.params[name] for name in laws.PARAMS[self.kind]], dtype=np.float64)

    # ---- evaluation ------------------------------------------------------------------------
    def lrs(self, schedule, steps=None, name="schedule"):
        """(label, LR of every update 0..steps-1) of ``schedule`` (a schedule, spec, config or LR values)."""
        if isinstance(schedule, (str, dict)) or hasattr(schedule, "to_config"):
            s = as_schedule(schedule, name)
            steps = int(self.domain["steps"]) if steps is None else _updates(steps)
            return repr(s), np.asarray(s(np.arange(steps, dtype=np.float64)), dtype=np.float64)
        values = _lrs(schedule)
        if steps is not None and _updates(steps) != len(values):
            raise LrkitValueError(f"steps must equal the number of LR values ({len(values)}), got {steps!r}")
        return f"{len(values)} LR values", values

    def check(self, lrs, extrapolate=False):
        """Warnings (a list of str) for a run of ``lrs`` outside the fitted range; raises beyond the
        REFUSE factors unless ``extrapolate``."""
        steps, peak = len(lrs), float(np.max(lrs)) if len(lrs) else 0.0
        if not (np.all(np.isfinite(lrs)) and np.all(lrs >= 0)) or peak <= 0:
            raise LrkitValueError(f"schedule's LR values must be finite, >= 0 and not all 0, got {excerpt(lrs.tolist())}")
        fitted_steps, fitted_peak = self.domain["steps"], self.domain["peak"]
        notes = []
        if steps > STEPS_REFUSE * fitted_steps and not extrapolate:
            raise LrkitValueError(f"steps must be <= {STEPS_REFUSE:g}x the longest fitted run ({fitted_steps:,.0f} "
                                  f"updates), got {steps:,} (extrapolate=True, or --extrapolate, predicts anyway)")
        if peak > PEAK_REFUSE * fitted_peak and not extrapolate:
            raise LrkitValueError(f"the schedule's peak LR must be <= {PEAK_REFUSE:g}x the highest fitted one "
                                  f"({fitted_peak:g}), got {peak:g} (extrapolate=True, or --extrapolate, predicts anyway)")
        if steps > STEPS_WARN * fitted_steps:
            notes.append(f"{steps:,} updates is {steps / fitted_steps:.3g}x the longest fitted run ({fitted_steps:,.0f})")
        if peak > PEAK_WARN * fitted_peak:
            notes.append(f"peak LR {peak:g} is {peak / fitted_peak:.3g}x the highest fitted one ({fitted_peak:g})")
        if peak < LOW_PEAK * self.domain["min_peak"]:
            notes.append(f"peak LR {peak:g} is below {LOW_PEAK:g}x the lowest fitted peak ({self.domain['min_peak']:g})")
        for note in notes:
            warnings.warn(f"extrapolating: {note}", ExtrapolationWarning, stacklevel=3)
        return notes

    def curve(self, lrs, queries, warmup=None):
        """The law's loss after each of ``queries`` updates of a run with LRs ``lrs`` (no checks)."""
        terms = laws.Terms(np.asarray(lrs, dtype=np.float64) / self.lr_scale, queries,
                           self.settings.get("max_terms", laws.MAX_TERMS), warmup)
        if self.kind == "mpl":
            return laws.mpl(self.vector, terms)
        return laws.lra(self.vector, terms, self.decay)

    def predict(self, schedule, steps=None, points=200, at=None, label=None, extrapolate=False):
        """The predicted loss curve of ``schedule`` over ``steps`` updates (default: the fitted runs'
        length), at ``points`` evenly spaced steps from the end of the warmup to the last update, or at
        the steps ``at``.
        Warns (:class:`ExtrapolationWarning`) outside the fitted range, refuses far outside it."""
        text, lrs = self.lrs(schedule, steps)
        notes = self.check(lrs, extrapolate)
        n = len(lrs)
        if at is None:  # from the first update after the warmup (the laws describe what follows it)
            first = min(laws.warmup_end(lrs) + 1, n)
            queries = np.unique(np.concatenate([np.linspace(first, n, max(2, int(points))).round(), [n]])).astype(np.int64)
        else:
            queries = np.unique(np.asarray(at, dtype=np.int64))
            if queries.size == 0 or queries[0] < 1 or queries[-1] > n:
                raise LrkitValueError(f"at must hold steps within 1..{n}, got {excerpt(list(at))}")
        return Prediction(text if label is None else str(label), n, queries, self.curve(lrs, queries),
                          float(self.error["rms"]), tuple(notes))

    def final_loss(self, schedule, steps=None, extrapolate=False):
        """The predicted loss after the last of ``steps`` updates of ``schedule`` (exact, O(steps))."""
        _, lrs = self.lrs(schedule, steps)
        self.check(lrs, extrapolate)
        return float(self.final_and_gradient(lrs)[0])

    def final_and_gradient(self, lrs, warmup=None):
        """(loss after all of ``lrs``'s updates, its gradient in each LR) in O(len(lrs))."""
        eta = np.asarray(lrs, dtype=np.float64) / self.lr_scale
        w = laws.warmup_end(eta) if warmup is None else warmup
        if self.kind == "mpl":
            loss, grad = laws.mpl_final_and_gradient(self.vector, eta, w)
        else:
            loss, grad = laws.lra_final_and_gradient(self.vector, eta, w, self.decay)
        return float(loss), grad / self.lr_scale

    def plot(self, schedules, steps=None, path=None, runs=(), title=None, extrapolate=False):
        """LR curves and predicted loss curves (with the fit's error band) of ``schedules`` (a dict
        label -> schedule, or a list); ``runs``, e.g. the fitted ones, as dots (their windowed means).
        Needs matplotlib."""
        from ._predict_plot import plot_predictions
        dots = [windows(run, points=60, skip=0.0) for run in as_runs(runs)] if runs else []
        return plot_predictions(self, schedules, steps, path, dots, title, extrapolate)

    # ---- text and JSON ---------------------------------------------------------------------
    def summary(self):
        runs = ", ".join(r["label"] for r in self.runs) or "?"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        extra = f", decay={self.decay:g}" if self.kind == "lra" else ""
        lines = [f"{NAMES[self.kind]} fitted on {len(self.runs)} run{'s' if len(self.runs) != 1 else ''} ({runs})",
                 f"  {params}{extra}   (LRs in units of lr_scale={self.lr_scale:g})",
                 f"  fit error: {100 * self.error['rms']:.2f}% RMS, {100 * self.error['max']:.2f}% max (relative, "
                 f"on {self.error['points']} windows)",
                 f"  fitted range: up to {self.domain['steps']:,.0f} updates, peak LR {self.domain['min_peak']:g} to "
                 f"{self.domain['peak']:g}"]
        for label, e in self.error.get("runs", {}).items():
            lines.append(f"    {label}: {100 * e['rms']:.2f}% RMS, last window {100 * e['final']:+.2f}%")
        return "\n".join(lines)

    def __str__(self):
        return self.summary()

    def to_dict(self):
        return {"format": FORMAT, "version": VERSION, "law": self.kind, "params": dict(self.params),
                "lr_scale": self.lr_scale, "domain": dict(self.domain), "error": self.error,
                "runs": list(self.runs), "settings": dict(self.settings)}

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LrkitValueError(f"not a fitted law (no 'format': {FORMAT!r} key)")
        if data.get("version") != VERSION:
            raise LrkitValueError(f"law version must be {VERSION}, got {excerpt(data.get('version'))}")
        kind = data.get("law")
        if kind not in LAWS:
            raise LrkitValueError(f"law must be one of {', '.join(LAWS)}, got {excerpt(kind)}")
        params = data.get("params")
        names = laws.PARAMS[kind]
        if not isinstance(params, dict) or sorted(params) != sorted(names):
            raise LrkitValueError(f"params must have exactly the keys {', '.join(names)}, got {excerpt(params)}")
        params = {k: float(check.real(f"params[{k!r}]", params[k])) for k in names}
        domain = data.get("domain")
        if not isinstance(domain, dict) or any(k not in domain for k in ("steps", "peak", "min_peak")):
            raise LrkitValueError(f"domain must have steps, peak and min_peak, got {excerpt(domain)}")
        domain = {k: float(check.positive(f"domain[{k!r}]", domain[k])) for k in ("steps", "peak", "min_peak")}
        error = data.get("error")
        if not isinstance(error, dict) or "rms" not in error or "max" not in error:
            raise LrkitValueError(f"error must have rms and max, got {excerpt(error)}")
        check.non_negative("error['rms']", error["rms"])
        settings = data.get("settings") or {}
        if not isinstance(settings, dict):
            raise LrkitValueError(f"settings must be a dict, got {excerpt(settings)}")
        if "decay" in settings:
            decay = check.positive("settings['decay']", settings["decay"])
            if decay > 1:
                raise LrkitValueError(f"settings['decay'] must be in (0, 1], got {decay!r}")
        if "max_terms" in settings:
            check.positive("settings['max_terms']", settings["max_terms"])
        runs = data.get("runs") or []
        if not isinstance(runs, list) or not all(isinstance(r, dict) and isinstance(r.get("label"), str) for r in runs):
            raise LrkitValueError(f"runs must be a list of {{'label': ...}} dicts, got {excerpt(runs)}")
        return cls(kind, params, float(check.positive("lr_scale", data.get("lr_scale"))), domain, dict(error),
                   tuple(runs), dict(settings))

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1, allow_nan=False)
            f.write("\n")

    @classmethod
    def load(cls, path):
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except OSError as error:
            raise LrkitValueError(f"cannot read a law from {path!r}: {error.strerror or error}") from None
        except ValueError as error:
            raise LrkitValueError(f"{path!r} is not JSON: {error}") from None
        return cls.from_dict(data)


def _updates(steps):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise LrkitValueError(f"steps must be a positive integer, got {steps!r}")
    return int(steps)


# ---------------------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------------------
def windows(run, points=POINTS, skip=SKIP):
    """(query steps, mean losses): ``run``'s logged losses after its warmup and its first ``skip``,
    averaged in ``points`` windows of consecutive logged steps, each at its middle logged step."""
    first = max(laws.warmup_end(run.lrs) + 1, int(math.ceil(skip * run.length)), 1)
    keep = run.steps >= first
    steps, losses = run.steps[keep], run.losses[keep]
    if steps.size < 2:
        raise LrkitValueError(f"run {run.label!r} has {steps.size} logged loss(es) after its warmup and first "
                              f"{skip:g} of the run: the fit needs more")
    parts = np.array_split(np.arange(steps.size), min(int(points), steps.size))
    return (np.array([steps[p[len(p) // 2]] for p in parts], dtype=np.int64),
            np.array([losses[p].mean() for p in parts], dtype=np.float64))


def one_thread():
    """BLAS on one thread while fitting or optimising (``threadpoolctl``, if installed): these problems
    are small, and a multi-threaded BLAS on a busy machine made them several times slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def fit(runs, law="mpl", points=POINTS, skip=SKIP, huber=HUBER, decay=DECAY, max_terms=laws.MAX_TERMS):
    """Fit ``law`` ("mpl" or "lra") to ``runs`` (LossRun values, files, shoot-out results); a :class:`Law`.

    ``decay``: the LR-annealing law's momentum decay, a number in (0, 1] or ``"fit"`` (default: the
    best of :data:`DECAYS` on these runs). Needs scipy (``pip install 'lrkit[predict]'``).
    """
    try:
        from scipy.optimize import least_squares
    except ImportError:
        raise ImportError("lrkit.predict.fit needs scipy: pip install 'lrkit[predict]'") from None
    with one_thread():
        return _fit(runs, law, points, skip, huber, decay, max_terms, least_squares)


def _fit(runs, law, points, skip, huber, decay, max_terms, least_squares):
    check.choice("law", law, LAWS)
    points = check.positive("points", points)
    skip = check.non_negative("skip", skip)
    if skip >= 1:
        raise LrkitValueError(f"skip must be a fraction of the run in [0, 1), got {skip!r}")
    huber = check.positive("huber", huber)
    runs = as_runs(runs)
    scale = max(r.peak for r in runs)
    data = []
    for r in runs:
        q, y = windows(r, points, skip)
        data.append((laws.Terms(r.lrs / scale, q, max_terms), y))
    y = np.concatenate([d[1] for d in data])
    if law == "lra":
        decays = DECAYS if decay == "fit" else (_decay(decay),)
        best = None
        for value in decays:
            theta, cost = _fit_lra(data, y, value, huber, least_squares)
            if best is None or cost < best[2]:
                best = (theta, value, cost)
        vector, decay = best[0], best[1]
    else:
        vector = _fit_mpl(data, y, huber, least_squares)
    names = laws.PARAMS[law]
    settings = {"points": points, "skip": skip, "huber": huber, "max_terms": max_terms}
    if law == "lra":
        settings["decay"] = decay
    result = Law(law, {k: float(v) for k, v in zip(names, vector)}, float(scale),
                 {"steps": float(max(r.length for r in runs)), "peak": float(scale), "min_peak": float(min(r.peak for r in runs))},
                 {"rms": 0.0, "max": 0.0}, tuple({"label": r.label, "schedule": r.schedule, "length": r.length,
                                                  "peak": r.peak} for r in runs), settings)
    return dataclasses.replace(result, error=_errors(result, runs, data))


def _decay(value):
    value = check.positive("decay", value)
    if value > 1:
        raise LrkitValueError(f"decay must be in (0, 1] or 'fit', got {value!r}")
    return float(value)


def _errors(law, runs, data):
    per, all_rel = {}, []
    for r, (terms, y) in zip(runs, data):
        pred = law.curve(r.lrs, terms.queries)
        rel = pred / y - 1.0
        all_rel.append(rel)
        per[r.label] = {"rms": float(np.sqrt(np.mean(rel ** 2))), "final": float(rel[-1])}
    rel = np.concatenate(all_rel)
    return {"rms": float(np.sqrt(np.mean(rel ** 2))), "max": float(np.max(np.abs(rel))), "points": int(rel.size),
            "runs": per}


def _residuals(model, data, y, to_params, dparams):
    """least_squares' fun and jac for log-loss residuals of ``model(params, terms, jacobian)``;
    ``params = to_params(theta)``, ``dparams(theta)`` the matrix d params / d theta."""
    tiny = 1e-12 * float(np.min(y))
    log_y = np.log(y)

    last = {}

    def evaluate(theta):  # fun and jac at the same theta share one evaluation
        key = theta.tobytes()
        if key not in last:
            p = to_params(theta)
            preds, jacs = zip(*(model(p, terms, True) for terms, _ in data))
            pred = np.concatenate(preds)
            last.clear()
            last[key] = (np.maximum(pred, tiny), np.concatenate(jacs), pred)
        return last[key]

    def fun(theta):
        safe, _, _ = evaluate(theta)
        return np.log(safe) - log_y

    def jac(theta):
        safe, j, pred = evaluate(theta)
        return (j @ dparams(theta)) / safe[:, None] * (pred > tiny)[:, None]

    return fun, jac


def _power_starts(data, y):
    """Stage 1 (the MPL authors' initialisation): L0 + A * S**-alpha - B * (LR drop so far), from a grid."""
    y_min, y_max = float(np.min(y)), float(np.max(y))
    first = [(terms.area[0], yy[0]) for terms, yy in data]
    area0 = float(np.median([a for a, _ in first]))
    y0 = float(np.median([v for _, v in first]))
    grid = []
    for l0 in (0.5 * y_min, 0.9 * y_min):
        for alpha in (0.3, 1.0):
            a = max(y0 - l0, 1e-3 * y0) * max(area0, 1e-12) ** alpha
            grid.append(np.array([l0, math.log(a), alpha, math.log(1e-2 * y_max)]))
    return grid


class _Proxy:
    """Stage 1's view of a run: the areas at its queries and the LR dropped since the peak."""

    def __init__(self, terms):
        self.area = terms.area
        peak = terms.eta[terms.warmup] if len(terms.eta) else 0.0
        self.dropped = peak - terms.eta[np.maximum(terms.queries - 1, 0)]


def _proxy_law(p, terms, jacobian):
    L0, A, alpha, B = p
    area = np.maximum(terms.area, laws.TINY)
    base = area ** -alpha
    loss = L0 + A * base - B * terms.dropped
    return loss, np.stack([np.ones_like(loss), base, -A * base * np.log(area), -terms.dropped], axis=1)


def _stage1(data, y, huber, least_squares):
    data = [(_Proxy(terms), yy) for terms, yy in data]
    to_params = lambda t: np.array([t[0], math.exp(t[1]), t[2], math.exp(t[3])])
    dparams = lambda t: np.diag([1.0, math.exp(t[1]), 1.0, math.exp(t[3])])
    fun, jac = _residuals(_proxy_law, data, y, to_params, dparams)
    bounds = ([0.0, -50.0, 1e-3, -50.0], [float(np.max(y)), 50.0, 3.0, 50.0])
    return _multistart(least_squares, fun, jac, _power_starts(data, y), bounds, huber, polish=1).x


def _multistart(least_squares, fun, jac, starts, bounds, huber, max_nfev=200, polish=2, ftol=1e-6):
    """Plain least squares from every start (smooth, quick to converge), then the Huber loss from the
    ``polish`` best of those; the lowest Huber cost wins (ties: the earlier start). ``ftol``: noisy
    runs leave a flat valley (the MPL's beta is barely determined by constant and cosine runs, e.g.),
    along which the cost falls by parts per billion per step: the fit stops there."""
    options = dict(bounds=bounds, x_scale="jac", max_nfev=max_nfev, ftol=ftol)
    first = [least_squares(fun, _clip(s, bounds), jac, **options) for s in starts]
    order = sorted(range(len(first)), key=lambda i: (first[i].cost, i))[:polish]
    best = None
    for i in order:
        res = least_squares(fun, _clip(first[i].x, bounds), jac, loss="huber", f_scale=huber, **options)
        if best is None or res.cost < best.cost:
            best = res
    return best


def _clip(theta, bounds):
    low, high = np.asarray(bounds[0]), np.asarray(bounds[1])
    return np.clip(theta, low + 1e-9 * np.maximum(1.0, np.abs(low)), high - 1e-9 * np.maximum(1.0, np.abs(high)))


def _mpl_params(t):
    """theta = (L0, ln A, alpha, ln(B * beta), ln C, beta, gamma): B * beta, not B, so that the
    direction beta -> 0, B -> inf (where G tends to beta * ln(1 + Cx)) is one axis, not a valley."""
    return np.array([t[0], math.exp(t[1]), t[2], math.exp(t[3]) / t[5], math.exp(t[4]), t[5], t[6]])


def _mpl_dparams(t):
    b = math.exp(t[3]) / t[5]
    m = np.diag([1.0, math.exp(t[1]), 1.0, b, math.exp(t[4]), 1.0, 1.0])
    m[3, 5] = -b / t[5]                                       # dB/dbeta at fixed B * beta
    return m


def _fit_mpl(data, y, huber, least_squares):
    l0, log_a, alpha, log_b = _stage1(data, y, huber, least_squares)
    typical = float(np.median(np.concatenate([terms.area for terms, _ in data])))
    fun, jac = _residuals(laws.mpl, data, y, _mpl_params, _mpl_dparams)
    bounds = ([0.0, -50.0, 1e-3, -50.0, -50.0, 1e-3, 0.0], [float(np.max(y)), 50.0, 3.0, 50.0, 50.0, 5.0, 3.0])
    starts = [np.array([l0, log_a, alpha, log_b + math.log(beta), math.log(c / max(typical, 1e-12)), beta, gamma])
              for c in (0.1, 10.0) for beta in (0.3, 1.0) for gamma in (0.3, 0.7)]
    return _mpl_params(_multistart(least_squares, fun, jac, starts, bounds, huber).x)


def _fit_lra(data, y, decay, huber, least_squares):
    l0, log_a, alpha, log_b = _stage1(data, y, huber, least_squares)
    to_params = lambda t: np.array([t[0], math.exp(t[1]), t[2], math.exp(t[3])])
    dparams = lambda t: np.diag([1.0, math.exp(t[1]), 1.0, math.exp(t[3])])
    fun, jac = _residuals(lambda p, terms, j: laws.lra(p, terms, decay, j), data, y, to_params, dparams)
    bounds = ([0.0, -50.0, 1e-3, -80.0], [float(np.max(y)), 50.0, 3.0, 50.0])
    memory = 1.0 / (1.0 - decay) if decay < 1 else float(max(terms.queries.max() for terms, _ in data))
    starts = [np.array([l0, log_a, alpha, log_b + math.log(factor / memory)]) for factor in (0.1, 1.0, 10.0)]
    best = _multistart(least_squares, fun, jac, starts, bounds, huber)
    return to_params(best.x), float(best.cost)


def as_law(law):
    """A :class:`Law` from a Law, a path to a saved one, or its dict."""
    if isinstance(law, Law):
        return law
    if isinstance(law, str):
        return Law.load(law)
    if isinstance(law, dict):
        return Law.from_dict(law)
    raise LrkitTypeError(f"law must be a fitted Law, a path to one or its dict, got {excerpt(law)}")
