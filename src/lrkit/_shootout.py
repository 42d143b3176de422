"""Schedule shoot-out: train under several schedules x seeds with the same budget and peak LR, and
compare them with their uncertainty (numpy only; matplotlib is imported by ``plot`` alone).

The training function is yours: ``train(schedule, seed, steps, record)`` runs ``steps`` optimizer
updates with ``schedule(k)`` as the LR of update ``k``, seeded with ``seed``, calls
``record.eval(step, metric)`` at each evaluation (``step`` = updates done so far) and
``record.loss(step, loss)`` for the training loss, and returns the final metric (or None: the last
evaluation's metric). The seed is shared across schedules, so the comparison is paired: with the same
seed, every schedule starts from the same weights and sees the same data order.

For each schedule: mean and sample std over seeds; the paired differences against the baseline
(``constant`` by default) with a Student t-interval and a sign count ("wins 3/3"): "within noise"
when the interval contains 0; and the steps it needs to reach the baseline's final metric of the
same seed (first evaluation at least as good).

>>> import numpy as np
>>> def train(schedule, seed, steps, record):   # SGD with noisy gradients on |x - 1|^2 / 2, 100-d
...     rng, x = np.random.default_rng(seed), np.zeros(100)
...     for k in range(steps):
...         x -= schedule(k) * ((x - 1.0) + rng.normal(size=100))
...         if (k + 1) % 50 == 0:
...             record.eval(k + 1, np.mean((x - 1.0) ** 2))
...     return None  # the last evaluation is the final metric
>>> result = shootout(train, peak=0.2, steps=200, seeds=4, schedules=["constant", "cosine"], mode="min",
...                   metric="error", progress=False)
>>> row = result.row("cosine")
>>> row.wins, row.n, row.verdict
(4, 4, 'better')
"""
import dataclasses
import json
import math
import numbers
import os
import time
import typing

import numpy as np

from . import _checks as check
from ._combinators import warmup
from ._errors import LrkitTypeError, LrkitValueError
from ._plot import NoMatplotlib
from ._progress import progress as _progress_bar
from ._recipes import linear_to_zero, multistep, one_cycle, wsd
from ._shapes import constant, cosine, exponential
from ._spec import as_schedule, parse

#: Warmup of the warmup schedules, as a fraction of the budget.
WARMUP_FRACTION = 0.05
#: The WSD cooldown, as a fraction of the budget (Hägele et al. 2024: 20% matches cosine).
COOLDOWN_FRACTION = 0.2
#: The standard contestants, in table order.
STANDARD = ("constant", "step", "exponential", "cosine", "one_cycle", "warmup_cosine", "wsd", "linear_to_zero")
#: The built-in task's defaults (``lrkit shootout``; the task is in lrkit.torch._shootout_task).
BUILTIN_EPOCHS, BUILTIN_SEEDS, BUILTIN_PEAK = 10, 16, 1e-2
FORMAT = "lrkit-shootout"
VERSION = 1


def standard_schedules(peak, steps, names=None):
    """The shoot-out's schedules, all from the same ``peak`` and budget of ``steps`` updates.

    ``constant``: ``peak`` throughout. ``step``: x0.1 at 50% and 75% of the run (torch MultiStepLR).
    ``exponential``: ``peak * 0.01 ** (t / steps)``. ``cosine``: to 0 at ``steps``. ``one_cycle``:
    torch OneCycleLR's defaults. ``warmup_cosine``: linear warmup over ``WARMUP_FRACTION`` of the
    run, then cosine to 0 at ``steps``. ``wsd``: the same warmup, ``peak`` held, a 1-sqrt cooldown
    over the last ``COOLDOWN_FRACTION`` (Hägele et al. 2024). ``linear_to_zero``: the recommended
    recipe (the same warmup, then linear to 0 at ``steps``).

    >>> s = standard_schedules(1.0, 100)
    >>> list(s) == list(STANDARD)
    True
    >>> [round(s[name](50), 3) for name in ("constant", "step", "cosine", "linear_to_zero")]
    [1.0, 0.1, 0.5, 0.526]
    """
    check.positive("peak", peak)
    steps = _steps(steps)
    names = STANDARD if names is None else tuple(names)
    unknown = [n for n in names if n not in STANDARD]
    if unknown:
        raise LrkitValueError(f"names must be among {', '.join(STANDARD)}, got {unknown!r}")
    ramp = max(1, round(WARMUP_FRACTION * steps))
    if steps <= ramp:
        raise LrkitValueError(f"steps must be > {ramp} for the warmup schedules, got {steps!r}")
    cooldown = max(1, round(COOLDOWN_FRACTION * steps))
    build = {
        "constant": lambda: constant(peak),
        "step": lambda: multistep(peak, milestones=sorted({max(1, round(0.5 * steps)), max(2, round(0.75 * steps))})),
        "exponential": lambda: exponential(peak, 0.01, steps=steps),
        "cosine": lambda: cosine(peak, 0.0, steps=steps),
        "one_cycle": lambda: one_cycle(peak, steps=steps),
        "warmup_cosine": lambda: warmup(cosine(peak, 0.0, steps=steps - ramp), steps=ramp),
        "wsd": lambda: wsd(peak, steps=steps, warmup=ramp, decay=min(cooldown, steps - ramp)),
        "linear_to_zero": lambda: linear_to_zero(peak, steps=steps),
    }
    return {name: build[name]() for name in names}


def _steps(steps):
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise LrkitValueError(f"steps must be a positive integer, got {steps!r}")
    return int(steps)


# ---------------------------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------------------------
def t_cdf_two_sided(t, df):
    """P(|T| < t) for Student's t with ``df`` (a positive integer) degrees of freedom, in closed form
    (Abramowitz & Stegun 26.7.3-4).

    >>> round(t_cdf_two_sided(4.302653, 2), 6)
    0.95
    """
    if df < 1 or int(df) != df:
        raise LrkitValueError(f"df must be a positive integer, got {df!r}")
    df = int(df)
    if t <= 0:
        return 0.0
    if math.isinf(t):
        return 1.0
    theta = math.atan(t / math.sqrt(df))
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    if df % 2:  # odd
        total, term = 0.0, math.cos(theta)
        for k in range(1, (df - 1) // 2 + 1):
            if k > 1:
                term *= c2 * (2 * k - 2) / (2 * k - 1)
            total += term
        return min(1.0, 2.0 / math.pi * (theta + s * total)) if df > 1 else 2.0 * theta / math.pi
    total, term = 1.0, 1.0
    for k in range(1, df // 2):
        term *= c2 * (2 * k - 1) / (2 * k)
        total += term
    return min(1.0, s * total)


def t_quantile(confidence, df):
    """The ``t`` with ``P(|T| < t) = confidence`` (the two-sided critical value), by bisection.

    >>> [round(t_quantile(0.95, df), 3) for df in (1, 2, 4, 30)]
    [12.706, 4.303, 2.776, 2.042]
    """
    confidence = check.fraction("confidence", confidence)
    low, high = 0.0, 1.0
    while t_cdf_two_sided(high, df) < confidence:
        high *= 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if t_cdf_two_sided(mid, df) < confidence:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * high:
            break
    return 0.5 * (low + high)


@dataclasses.dataclass(frozen=True)
class Paired:
    """Paired differences ``schedule - baseline`` over the seeds both ran (metric units)."""
    n: int
    mean: float
    std: float            #: sample std of the differences (ddof=1; nan for one seed)
    low: float            #: t-interval at the result's confidence (nan for one seed)
    high: float
    wins: int             #: seeds where the schedule is better (by ``mode``)
    ties: int
    losses: int
    verdict: str          #: "better", "worse", "within noise", or "one seed" (no interval)


def paired(values, baseline, mode="max", confidence=0.95):
    """Compare ``values`` with ``baseline`` seed by seed (same order): the mean difference, its
    t-interval, the sign count and the verdict ("within noise" when the interval contains 0).

    >>> p = paired([97.2, 97.5, 97.1], [96.7, 96.8, 96.6])
    >>> round(p.mean, 3), round(p.std, 3), p.wins, p.verdict
    (0.567, 0.115, 3, 'better')
    >>> paired([1.0, 2.0], [1.5, 1.5]).verdict
    'within noise'
    """
    check.choice("mode", mode, ("max", "min"))
    a, b = np.asarray(values, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise LrkitValueError(f"values and baseline must be two lists of the same length >= 1, got {a.size} and {b.size}")
    d = a - b
    better = d > 0 if mode == "max" else d < 0
    worse = d < 0 if mode == "max" else d > 0
    n, mean = d.size, float(d.mean())
    if n < 2:
        return Paired(n, mean, math.nan, math.nan, math.nan, int(better.sum()), int((d == 0).sum()),
                      int(worse.sum()), "one seed")
    std = float(d.std(ddof=1))
    half = t_quantile(confidence, n - 1) * std / math.sqrt(n)
    low, high = mean - half, mean + half
    if not (math.isfinite(low) and math.isfinite(high)):
        verdict = "within noise" if not math.isfinite(mean) else "n/a"
    elif low <= 0.0 <= high:
        verdict = "within noise"
    else:
        verdict = "better" if (low > 0) == (mode == "max") else "worse"
    return Paired(n, mean, std, low, high, int(better.sum()), int((d == 0).sum()), int(worse.sum()), verdict)


def steps_to_reach(evals, target, mode="max"):
    """The first evaluation step whose metric is at least as good as ``target``; None if none is.

    >>> steps_to_reach([(100, 0.90), (200, 0.95), (300, 0.97)], 0.95)
    200
    >>> steps_to_reach([(100, 0.5), (200, 0.4)], 0.3, mode="min") is None
    True
    """
    for step, metric in evals:
        if metric is not None and (metric >= target if mode == "max" else metric <= target):
            return step
    return None


# ---------------------------------------------------------------------------------------------
# runs and results
# ---------------------------------------------------------------------------------------------
class Recorder:
    """What your training function is given to report: ``eval(step, metric)`` at each evaluation,
    ``loss(step, value)`` for the training loss (every update or every few)."""

    def __init__(self):
        self.evals = []
        self.losses = []

    def eval(self, step, metric):
        self.evals.append((_count("step", step), _number("metric", metric)))

    def loss(self, step, value):
        self.losses.append((_count("step", step), _number("loss", value)))


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise LrkitValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:  # a 0-dim tensor or array
            value = float(value)
        except (TypeError, ValueError):
            raise LrkitTypeError(f"{name} must be a real number, got {value!r}") from None
    return float(value)  # nan / inf are kept: a diverged run is a result


@dataclasses.dataclass
class Run:
    """One training run: a schedule (by label) and a seed."""
    schedule: str
    seed: int
    final: float
    evals: typing.List[typing.Tuple[int, float]]
    losses: typing.List[typing.Tuple[int, float]]
    seconds: float


@dataclasses.dataclass(frozen=True)
class Row:
    """One schedule's line of the table."""
    label: str
    spec: str
    n: int
    mean: float
    std: float
    paired: typing.Optional[Paired]                    #: None for the baseline itself
    reach: typing.Tuple[typing.Optional[int], ...]      #: per seed: steps to the baseline's final
    finals: typing.Tuple[float, ...]

    @property
    def wins(self):
        return None if self.paired is None else self.paired.wins

    @property
    def verdict(self):
        return "baseline" if self.paired is None else self.paired.verdict

    @property
    def reach_mean(self):
        """Mean steps to the baseline's final over the seeds that reach it (None if none does)."""
        hit = [r for r in self.reach if r is not None]
        return float(np.mean(hit)) if hit else None


@dataclasses.dataclass
class ShootoutResult:
    """Every run of a shoot-out and what it shows: ``table()``, ``rows()``, ``row(label)``,
    ``save(path)`` / ``ShootoutResult.load(path)`` (JSON), ``plot(path)``."""
    schedules: typing.Dict[str, str]       #: label -> spec (repr), in table order
    runs: typing.List[Run]
    steps: int
    seeds: typing.Tuple[int, ...]
    peak: typing.Optional[float] = None
    metric: str = "metric"
    mode: str = "max"
    baseline: typing.Optional[str] = "constant"
    confidence: float = 0.95
    seconds: float = 0.0                   #: wall time of the whole shoot-out
    task: typing.Dict[str, typing.Any] = dataclasses.field(default_factory=dict)

    # ---- statistics ---------------------------------------------------------------------------
    def finals(self, label):
        """{seed: final metric} of one schedule."""
        return {r.seed: r.final for r in self.runs if r.schedule == label}

    def row(self, label):
        for row in self.rows():
            if row.label == label:
                return row
        raise LrkitValueError(f"label must be one of {', '.join(self.schedules)}, got {label!r}")

    def rows(self):
        """One :class:`Row` per schedule, in table order."""
        base = self.finals(self.baseline) if self.baseline is not None else {}
        base_runs = {r.seed: r for r in self.runs if r.schedule == self.baseline}
        rows = []
        for label, spec in self.schedules.items():
            finals = self.finals(label)
            seeds = [s for s in self.seeds if s in finals]
            values = np.array([finals[s] for s in seeds], dtype=np.float64)
            mean = float(values.mean()) if values.size else math.nan
            std = float(values.std(ddof=1)) if values.size > 1 else math.nan
            pair, reach = None, ()
            if self.baseline is not None:
                common = [s for s in seeds if s in base]
                if label != self.baseline and common:
                    pair = paired([finals[s] for s in common], [base[s] for s in common], self.mode, self.confidence)
                runs = {r.seed: r for r in self.runs if r.schedule == label}
                reach = tuple(steps_to_reach(runs[s].evals, base_runs[s].final, self.mode)
                              for s in seeds if s in base_runs)
            rows.append(Row(label, spec, len(seeds), mean, std, pair, reach, tuple(values.tolist())))
        return rows

    def best(self):
        """The label with the best mean final metric."""
        rows = [r for r in self.rows() if math.isfinite(r.mean)]
        pick = max if self.mode == "max" else min
        return pick(rows, key=lambda r: r.mean).label

    # ---- text ---------------------------------------------------------------------------------
    def table(self):
        """The markdown table: mean ± std, the paired difference against the baseline with its
        t-interval, wins, the verdict and the steps to reach the baseline's final metric."""
        rows = self.rows()
        digits = _digits([r.std for r in rows] + [r.paired.std for r in rows if r.paired])
        conf = f"{self.confidence * 100:g}%"
        head = ["schedule", f"{self.metric} (mean ± std)"]
        if self.baseline is not None:
            head += [f"Δ vs {self.baseline} ({conf} CI)", "wins", "verdict", f"steps to {self.baseline}'s final"]
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        for r in rows:
            cells = [f"`{r.label}`", _pm(r.mean, r.std, digits)]
            if self.baseline is not None:
                if r.paired is None:
                    cells += ["—", "—", "baseline"]
                elif r.paired.n < 2:
                    cells += [_num(r.paired.mean, digits, "+"), f"{r.paired.wins}/{r.paired.n}", r.paired.verdict]
                else:
                    p = r.paired
                    cells += [f"{_num(p.mean, digits, '+')} [{_num(p.low, digits, '+')}, {_num(p.high, digits, '+')}]",
                              f"{p.wins}/{p.n}", f"**{p.verdict}**" if p.verdict != "within noise" else p.verdict]
                cells.append(self._reach_text(r))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def _reach_text(self, row):
        hit = [r for r in row.reach if r is not None]
        if not row.reach:
            return "—"
        if not hit:
            return f"not reached (0/{len(row.reach)})"
        mean = float(np.mean(hit))
        text = f"{mean:,.0f} ({100 * mean / self.steps:.0f}%)"
        return text if len(hit) == len(row.reach) else f"{text}, {len(hit)}/{len(row.reach)} seeds"

    def summary(self):
        """The table with a header line (budget, peak, seeds) and the specs below it."""
        peak = f", peak LR {self.peak:g}" if self.peak is not None else ""
        head = [f"{len(self.schedules)} schedules x {len(self.seeds)} seeds, {self.steps:,} updates each{peak}"
                + (f", {self.seconds:.3g} s wall" if self.seconds else "")]
        if self.baseline is not None:
            head.append(f"Δ: paired difference against `{self.baseline}` (same seed = same init and data order), "
                        f"{self.confidence * 100:g}% Student t-interval over seeds; \"within noise\" when it contains 0. "
                        f"Steps to {self.baseline}'s final: first evaluation at least as good as "
                        f"{self.baseline}'s final {self.metric} with the same seed (mean over seeds).")
        specs = [f"- `{label}`: `{spec}`" for label, spec in self.schedules.items()]
        return "\n".join(head + ["", self.table(), "", "schedules:"] + specs)

    def __str__(self):
        return self.summary()

    # ---- JSON ---------------------------------------------------------------------------------
    def to_dict(self):
        return {
            "format": FORMAT, "version": VERSION, "task": _json_safe(self.task), "metric": self.metric,
            "mode": self.mode, "baseline": self.baseline, "confidence": self.confidence, "peak": self.peak,
            "steps": self.steps, "seeds": list(self.seeds), "seconds": self.seconds,
            "schedules": dict(self.schedules),
            "runs": [{"schedule": r.schedule, "seed": r.seed, "final": _finite_or_none(r.final),
                      "seconds": r.seconds, "evals": [[s, _finite_or_none(m)] for s, m in r.evals],
                      "losses": [[s, _finite_or_none(v)] for s, v in r.losses]} for r in self.runs],
        }

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LrkitValueError(f"not a shoot-out result (no 'format': {FORMAT!r} key)")
        if data.get("version") != VERSION:
            raise LrkitValueError(f"shoot-out result version must be {VERSION}, got {data.get('version')!r}")
        nan = lambda v: math.nan if v is None else float(v)
        runs = [Run(r["schedule"], int(r["seed"]), nan(r["final"]), [(int(s), nan(m)) for s, m in r["evals"]],
                    [(int(s), nan(v)) for s, v in r["losses"]], float(r["seconds"])) for r in data["runs"]]
        return cls(schedules=dict(data["schedules"]), runs=runs, steps=int(data["steps"]),
                   seeds=tuple(int(s) for s in data["seeds"]), peak=data["peak"], metric=data["metric"],
                   mode=data["mode"], baseline=data["baseline"], confidence=float(data["confidence"]),
                   seconds=float(data["seconds"]), task=dict(data.get("task") or {}))

    def save(self, path):
        """Write the result as JSON (non-finite numbers as null): one line per key, one line per run."""
        data = self.to_dict()
        runs = data.pop("runs")
        dump = lambda v: json.dumps(v, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        lines = [f" {dump(k)}: {dump(v)}," for k, v in data.items()]
        lines.append(' "runs": [' + ",".join(f"\n  {dump(r)}" for r in runs) + "\n ]")
        with open(path, "w", encoding="utf-8") as f:
            f.write("{\n" + "\n".join(lines) + "\n}\n")

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    # ---- picture ------------------------------------------------------------------------------
    def plot(self, path=None, bins=40):
        """LR curves, training loss and the evaluated metric side by side (means over seeds; the loss
        is averaged in ``bins`` windows). Writes ``path`` (.png/.svg/.pdf) if given; returns the Figure."""
        from . import _plot
        _plot._matplotlib("ShootoutResult.plot")
        panels = 3 if any(r.evals for r in self.runs) else 2
        fig = _plot._figure((5.0 * panels, 4.4))
        axes = fig.subplots(1, panels)
        colors = _colors(list(self.schedules), self.baseline)
        lr_ax, loss_ax = axes[0], axes[1]
        for label, spec in self.schedules.items():
            schedule = _maybe_parse(spec)
            style = _line_style(label, self.baseline, colors)
            if schedule is not None:
                _plot.plot_on(lr_ax, schedule, self.steps, label=label, markers=False, **style)
            x, y = self._mean_loss(label, bins)
            if x.size:
                loss_ax.plot(x, y, label=label, **style)
        lr_ax.set_title(f"learning rate ({self.steps:,} updates)")
        _plot._style(lr_ax, self.steps, "update", "learning rate", None, legend=True)
        loss_ax.set_title(f"training loss (mean of {len(self.seeds)} seeds)")
        loss_ax.set_xlabel("update")
        loss_ax.set_ylabel("loss")
        loss_ax.set_xlim(0, self.steps)
        if all(v > 0 for r in self.runs for _, v in r.losses if math.isfinite(v)):
            loss_ax.set_yscale("log")
        loss_ax.grid(True, alpha=0.3, which="both")
        if panels == 3:
            ax = axes[2]
            lows = []
            for label in self.schedules:
                x, y = self._mean_evals(label)
                if x.size:
                    ax.plot(x, y, marker="o", markersize=3, label=label, **_line_style(label, self.baseline, colors))
                    late = y[x >= 0.3 * self.steps]
                    lows.append(late if late.size else y)
            if lows:  # zoom on the second part of training, where schedules differ
                late = np.concatenate(lows)
                late = late[np.isfinite(late)]
                if late.size:
                    lo, hi = float(late.min()), float(late.max())
                    pad = 0.08 * (hi - lo or abs(hi) or 1.0)
                    ax.set_ylim(lo - pad, hi + pad)
            ax.set_title(f"{self.metric} (mean of {len(self.seeds)} seeds)")
            ax.set_xlabel("update")
            ax.set_ylabel(self.metric)
            ax.set_xlim(0, self.steps)
            ax.grid(True, alpha=0.3)
        if self.task.get("title"):
            fig.suptitle(self.task["title"])
        if path is not None:
            _plot._save(fig, path)
        return fig

    def _mean_loss(self, label, bins):
        runs = [r for r in self.runs if r.schedule == label and r.losses]
        if not runs:
            return np.empty(0), np.empty(0)
        edges = np.linspace(0, self.steps, bins + 1)
        sums, counts = np.zeros(bins), np.zeros(bins)
        for r in runs:
            s, v = np.array([p[0] for p in r.losses], float), np.array([p[1] for p in r.losses], float)
            ok = np.isfinite(v)
            idx = np.clip(np.searchsorted(edges, s[ok], side="right") - 1, 0, bins - 1)
            np.add.at(sums, idx, v[ok])
            np.add.at(counts, idx, 1)
        keep = counts > 0
        centers = 0.5 * (edges[:-1] + edges[1:])
        return centers[keep], sums[keep] / counts[keep]

    def _mean_evals(self, label):
        by_step = {}
        for r in self.runs:
            if r.schedule == label:
                for s, m in r.evals:
                    by_step.setdefault(s, []).append(m)
        steps = sorted(by_step)
        return np.array(steps, float), np.array([np.mean(by_step[s]) for s in steps], float)


def _maybe_parse(spec):
    try:
        return parse(spec)
    except Exception:  # a schedule whose repr is not a spec (a lambda in function(...)): no LR curve
        return None


def _colors(labels, baseline):
    import matplotlib
    cmap = matplotlib.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    others = [label for label in labels if label != baseline]
    colors = {label: cmap(i % cmap.N) for i, label in enumerate(others)}
    colors[baseline] = "black"
    return colors


def _line_style(label, baseline, colors):
    style = {"color": colors[label], "linewidth": 1.6}
    if label == baseline:
        style.update(linestyle="--", linewidth=1.8)
    return style


def _finite_or_none(x):
    return x if x is not None and math.isfinite(x) else None


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return _finite_or_none(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return repr(value)


def _digits(stds):
    """Decimals so that the smallest spread shows two significant digits (at least 0)."""
    positive = [s for s in stds if s is not None and math.isfinite(s) and s > 0]
    if not positive:
        return 2
    return max(0, 1 - math.floor(math.log10(min(positive))))


def _num(x, digits, sign=""):
    """``x`` to ``digits`` decimals; beyond 4 decimals (a small metric: a loss of 1e-6, say) in
    scientific notation to the same absolute resolution, so that nothing prints as -0.0000.

    >>> _num(97.4321, 2), _num(-3.1e-7, 8, "+"), _num(1.234e-5, 8), _num(0.0, 8)
    ('97.43', '-3.1e-07', '1.234e-05', '0')
    """
    if digits <= 4 or not math.isfinite(x):
        return f"{x:{sign}.{min(digits, 4)}f}"
    if x == 0:
        return "+0" if sign == "+" else "0"
    significant = max(1, math.floor(math.log10(abs(x))) + digits + 1)
    return f"{x:{sign}.{significant - 1}e}"


def _pm(mean, std, digits):
    if not math.isfinite(std):
        return _num(mean, digits)
    return f"{_num(mean, digits)} ± {_num(std, digits)}"


# ---------------------------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------------------------
def _contestants(peak, steps, schedules, add, baseline):
    if schedules is None or (isinstance(schedules, (list, tuple)) and all(isinstance(s, str) for s in schedules)):
        if peak is None:
            raise LrkitValueError("peak must be given for the standard schedules (or pass schedules={label: schedule})")
        chosen = standard_schedules(peak, steps, schedules)
    elif isinstance(schedules, dict):
        chosen = {str(k): as_schedule(v, f"schedules[{k!r}]") for k, v in schedules.items()}
    else:
        raise LrkitTypeError(f"schedules must be None, a list of standard names ({', '.join(STANDARD)}) "
                             f"or a dict label -> schedule/spec, got {schedules!r}")
    if add:
        items = add.items() if isinstance(add, dict) else ((None, s) for s in add)
        for label, value in items:
            text = value
            if isinstance(value, str):  # {peak} and {steps} stand for the shoot-out's own
                value = value.replace("{peak}", repr(peak)).replace("{steps}", str(steps))
            schedule = as_schedule(value, "add")
            label = label if label is not None else (text if isinstance(text, str) else repr(schedule))
            label = " ".join(str(label).split())
            if label in chosen:
                raise LrkitValueError(f"add: label {label!r} is already taken")
            chosen[label] = schedule
    if not chosen:
        raise LrkitValueError("schedules must not be empty")
    if baseline is not None and baseline not in chosen:
        raise LrkitValueError(f"baseline must be one of the schedules ({', '.join(chosen)}) or None, got {baseline!r}")
    return chosen


def _seeds(seeds):
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise LrkitValueError(f"seeds must be >= 1 (a count) or a list of ints, got {seeds!r}")
        return tuple(range(int(seeds)))
    try:
        out = tuple(_count("seeds[i]", s) for s in seeds)
    except TypeError:
        raise LrkitTypeError(f"seeds must be a count or a list of ints, got {seeds!r}") from None
    if not out or len(set(out)) != len(out):
        raise LrkitValueError(f"seeds must be distinct and not empty, got {list(out)!r}")
    return out


def shootout(train, *, steps, peak=None, seeds=3, schedules=None, add=None, baseline="constant",
             metric="metric", mode="max", confidence=0.95, progress=None, task=None):
    """Run ``train(schedule, seed, steps, record)`` for each schedule and seed; a :class:`ShootoutResult`.

    ``schedules``: None (every standard one, from ``peak`` and ``steps``: see
    :func:`standard_schedules`), a list of standard names, or a dict ``{label: schedule or spec}``.
    ``add``: more contestants, a dict ``{label: schedule or spec}`` or a list of specs (labelled by
    their text); in a spec, ``{peak}`` and ``{steps}`` stand for ``peak`` and ``steps``. ``seeds``: a count (0, 1, ...) or a list of ints. ``mode``: ``"max"`` if a higher
    ``metric`` is better (accuracy), ``"min"`` if lower is (loss, error). ``baseline``: the label the
    others are compared with (None: no comparison). ``progress``: a bar on stderr (None: if a terminal).

    Runs go seed by seed, every schedule within a seed, so that a shoot-out cut short is still balanced.
    """
    if not callable(train):
        raise LrkitTypeError(f"train must be a callable train(schedule, seed, steps, record), got {train!r}")
    steps = _steps(steps)
    if peak is not None:
        peak = float(check.positive("peak", peak))
    check.choice("mode", mode, ("max", "min"))
    confidence = check.fraction("confidence", confidence)
    seeds = _seeds(seeds)
    chosen = _contestants(peak, steps, schedules, add, baseline)
    result = ShootoutResult(schedules={k: repr(v) for k, v in chosen.items()}, runs=[], steps=steps, seeds=seeds,
                            peak=peak, metric=metric, mode=mode, baseline=baseline, confidence=confidence,
                            task=dict(task or {}))
    began = time.perf_counter()
    with _progress_bar(len(seeds) * len(chosen), "shootout", enabled=progress) as bar:
        for seed in seeds:
            for label, schedule in chosen.items():
                record = Recorder()
                start = time.perf_counter()
                final = train(schedule, seed, steps, record)
                seconds = time.perf_counter() - start
                if final is None:
                    if not record.evals:
                        raise LrkitValueError(f"train returned None and recorded no evaluation "
                                              f"(schedule {label!r}, seed {seed}): return the final metric")
                    final = record.evals[-1][1]
                final = _number("train's return value", final)
                result.runs.append(Run(label, seed, final, record.evals, record.losses, seconds))
                bar.update(schedule=label, seed=seed, **{"final": final})
    result.seconds = time.perf_counter() - began
    return result


def load(path):
    """A saved :class:`ShootoutResult` (``lrkit shootout --load``)."""
    return ShootoutResult.load(path)


def save_outputs(result, out, name="shootout"):
    """Write ``out/name.json`` and ``out/name.png`` (``lrkit shootout``). Returns the paths written and
    None, or the :class:`NoMatplotlib` error that kept the figure from being drawn."""
    os.makedirs(out, exist_ok=True)
    written = [os.path.join(out, f"{name}.json")]
    result.save(written[0])
    figure = os.path.join(out, f"{name}.png")
    try:
        result.plot(figure)
    except NoMatplotlib as error:
        return written, error
    written.append(figure)
    return written, None
