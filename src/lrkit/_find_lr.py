"""The LR range test (Smith 2017, "Cyclical Learning Rates for Training Neural Networks", section 3.3;
popularised by fastai's ``lr_find``): train for a few hundred steps while the LR grows from tiny to huge,
record the loss, and read a good peak LR off the curve.

:func:`find_lr` works with any training loop: it takes ``step_fn(lr) -> loss``, a function that runs one
training step at that LR and returns the loss. It knows nothing of frameworks (``lrkit.torch.find_lr`` is
the PyTorch convenience that also restores the model and the optimizer). The result is a frozen
:class:`LRFinderResult` holding the sweep, the smoothed losses, why it stopped, and the suggestion rules
users know, each named:

- ``"steepest"``: where the smoothed loss falls fastest per unit of log-LR, before its minimum
  (torch-lr-finder and Lightning suggest the steepest point, Smith's "LR where the loss decreases
  fastest");
- ``"minimum/10"``: the LR of the lowest smoothed loss, divided by 10 (fastai's ``minimum``; the rule
  of thumb of the fastai course);
- ``"valley"``: the default of fastai's ``Learner.lr_find`` (``fastai.callback.schedule.valley``): the longest
  decreasing stretch of the smoothed loss, and the LR about halfway along it.

>>> import math
>>> def step(lr):  # falls fastest at lr = 1e-4, bottoms out near 1e-2, then explodes
...     return 1.5 - math.tanh(math.log10(lr) + 4.0) + (lr / 0.1) ** 2
>>> r = find_lr(step, start=1e-7, end=10.0, steps=81, smooth=0.0)
>>> r.stopped, len(r.lrs), r.lrs[0], round(r.stop_lr, 4)
('diverged', 63, 1e-07, 0.1585)
>>> {name: float(f"{lr:.3g}") for name, lr in r.suggestions.items()}
{'steepest': 0.0001, 'minimum/10': 0.00126, 'valley': 6.31e-05}
>>> r.suggestion == r.suggestions["valley"]
True
"""
import dataclasses
import functools
import json
import math
import numbers

import numpy as np

from . import _checks as check
from ._errors import LrkitTypeError, LrkitValueError
from ._progress import progress as _progress_bar

#: Sweeps shorter than this are refused (fastai forces at least 6; a useful curve needs many more).
MIN_STEPS = 10
#: After skipping the ends, at least this many points must remain for the suggestions.
MIN_WINDOW = 3
#: The rule :attr:`LRFinderResult.suggestion` follows.
SUGGESTED_BY = "valley"
#: The names in :attr:`LRFinderResult.suggestions`, in this order.
RULES = ("steepest", "minimum/10", "valley")
STOPS = ("end", "diverged", "nan")
MODES = ("exp", "linear")
FORMAT = "lrkit.find_lr"
VERSION = 1


# ---------------------------------------------------------------------------------------------
# the sweep
# ---------------------------------------------------------------------------------------------
def sweep(start, end, steps, mode="exp"):
    """The LRs a range test tries, steps 0..steps-1: geometric (``"exp"``) or evenly spaced
    (``"linear"``) from ``start`` to ``end``; the first is ``start`` and the last ``end`` exactly.

    >>> sweep(1e-4, 1.0, 5).tolist()
    [0.0001, 0.001, 0.01, 0.1, 1.0]
    >>> sweep(0.0, 1.0, 5, mode="linear").tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if mode == "exp":
        # lr_i = start * (end / start) ** (i / (steps - 1)), in base-10 logs (whole decades come out exact);
        # the powers with Python's float pow: numpy's SIMD pow can be an ulp off (10 ** -1 = 0.09999999999999999)
        t = np.arange(steps, dtype=np.float64) / (steps - 1)
        exponents = math.log10(start) + t * (math.log10(end) - math.log10(start))
        lrs = np.array([10.0 ** e for e in exponents.tolist()], dtype=np.float64)
    else:
        lrs = np.linspace(start, end, steps, dtype=np.float64)
    lrs[0], lrs[-1] = start, end  # exactly, not up to rounding
    return lrs


def _loss_value(raw):
    """``float(raw)``; a tensor is detached first (torch warns when a tensor that requires grad
    becomes a number), found by its ``detach`` method, so that no framework is imported here."""
    detach = getattr(raw, "detach", None)
    if callable(detach) and not isinstance(raw, (int, float)):
        raw = detach()
    return float(raw)


def _validate(step_fn, start, end, steps, mode, smooth, diverge, progress, skip_start, skip_end):
    if not callable(step_fn):
        raise LrkitTypeError(f"step_fn must be a callable step_fn(lr) -> loss, got {step_fn!r}")
    mode = check.choice("mode", mode, MODES)
    start = check.real("start", start)
    end = check.real("end", end)
    if mode == "exp" and start <= 0:
        raise LrkitValueError(f"start must be > 0 for mode='exp' (a geometric sweep), got {start!r}")
    if start < 0:
        raise LrkitValueError(f"start must be >= 0, got {start!r}")
    if not end > start:
        raise LrkitValueError(f"end must be > start, got end={end!r} and start={start!r}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise LrkitTypeError(f"steps must be an integer >= {MIN_STEPS}, got {steps!r}")
    steps = int(steps)
    if steps < MIN_STEPS:
        raise LrkitValueError(f"steps must be an integer >= {MIN_STEPS}, got {steps!r}")
    smooth = check.real("smooth", smooth)
    if not 0 <= smooth < 1:
        raise LrkitValueError(f"smooth must be in [0, 1) (0 = no smoothing), got {smooth!r}")
    if diverge is not None:
        diverge = check.real("diverge", diverge)
        if not diverge > 1:
            raise LrkitValueError(f"diverge must be > 1 (or None: never stop early), got {diverge!r}")
    if progress is not None and not isinstance(progress, bool):
        raise LrkitTypeError(f"progress must be None (a bar on a terminal only), True or False, got {progress!r}")
    skip_start = steps // 10 if skip_start is None else check.count("skip_start", skip_start)
    skip_end = check.count("skip_end", skip_end)
    if skip_start + skip_end + MIN_WINDOW > steps:
        raise LrkitValueError(
            f"skip_start + skip_end must leave at least {MIN_WINDOW} of the {steps} steps to suggest from, "
            f"got skip_start={skip_start!r} and skip_end={skip_end!r}")
    lrs = sweep(start, end, steps, mode)
    if not np.all(np.diff(lrs) > 0):
        raise LrkitValueError(f"start and end are too close for {steps} distinct LRs, got start={start!r} "
                              f"and end={end!r}")
    return lrs, dict(start=start, end=end, steps=steps, mode=mode, smooth=smooth, diverge=diverge,
                     skip_start=skip_start, skip_end=skip_end)


def find_lr(step_fn, start=1e-7, end=10.0, steps=100, mode="exp", smooth=0.98, diverge=4.0, progress=None, *,
            skip_start=None, skip_end=5):
    """LR range test: call ``step_fn(lr)`` for each LR of a sweep from ``start`` to ``end`` and record the
    loss it returns; returns an :class:`LRFinderResult` with the suggestions.

    ``step_fn(lr)`` runs one training step (forward, backward, update) at learning rate ``lr`` and returns
    the loss: a float or anything ``float()`` accepts (a 0-d tensor, a numpy scalar). The model keeps
    training from step to step; undoing that is the caller's business (``lrkit.torch.find_lr`` does it).

    - ``mode="exp"``: ``lr_i = start * (end / start) ** (i / (steps - 1))`` (geometric, the usual choice);
      ``"linear"``: evenly spaced. The first LR is ``start`` and the last ``end``, exactly.
    - ``smooth``: the loss is smoothed by an exponential moving average with bias correction (fastai's
      ``AvgSmoothLoss``): ``avg_i = smooth * avg_{i-1} + (1 - smooth) * loss_i``,
      ``smoothed_i = avg_i / (1 - smooth ** (i + 1))``. ``smooth=0`` records the raw loss.
    - Early stop: ``"diverged"`` when ``smoothed_i > diverge * min(smoothed_0..i)`` (the step that crossed
      is recorded; ``diverge=None`` never stops early; the ratio needs a positive loss, so a best loss
      <= 0 never counts as diverging); ``"nan"`` when the loss (or its average) is NaN or infinite: that
      step is not recorded, its LR is ``stop_lr``, so a non-finite loss never becomes a suggestion.
    - Suggestions are read from the smoothed losses of steps ``skip_start`` (default ``steps // 10``) to
      the ``skip_end``-th (default 5) from the end of what was recorded, as fastai does: the first steps
      are dominated by the average's warm-up, the last by the blow-up.
    - ``progress``: a bar on stderr; None shows it only when stderr is a terminal.

    Every argument is checked before the first step: bad values raise :class:`lrkit.LrkitValueError`,
    bad types :class:`lrkit.LrkitTypeError`, naming the argument and the value.
    """
    lrs, settings = _validate(step_fn, start, end, steps, mode, smooth, diverge, progress, skip_start, skip_end)
    smooth, diverge = settings["smooth"], settings["diverge"]
    done_lrs, losses, smoothed = [], [], []
    stopped, stop_lr = "end", None
    avg, best = 0.0, math.inf
    with _progress_bar(len(lrs), "find_lr", enabled=progress) as bar:
        for i, lr in enumerate(lrs.tolist()):
            raw = step_fn(lr)
            try:
                loss = _loss_value(raw)
            except (TypeError, ValueError):
                raise LrkitTypeError(f"step_fn must return the loss as a number (anything float() accepts), "
                                     f"got {raw!r} at lr={lr!r}") from None
            if smooth:
                avg = smooth * avg + (1.0 - smooth) * loss
                value = avg / (1.0 - smooth ** (i + 1))
            else:
                value = loss
            if not (math.isfinite(loss) and math.isfinite(value)):
                stopped, stop_lr = "nan", lr
                bar.update(lr=lr, loss=loss)
                break
            done_lrs.append(lr)
            losses.append(loss)
            smoothed.append(value)
            best = min(best, value)
            bar.update(lr=lr, loss=value)
            if diverge is not None and best > 0 and value > diverge * best:
                stopped, stop_lr = "diverged", lr
                break
        else:
            stop_lr = lrs[-1].item()
    return LRFinderResult(lrs=tuple(done_lrs), losses=tuple(losses), smoothed=tuple(smoothed), stopped=stopped,
                          stop_lr=stop_lr, **settings)


# ---------------------------------------------------------------------------------------------
# the suggestion rules (pure functions of a recorded curve)
# ---------------------------------------------------------------------------------------------
def _steepest(lrs, losses):
    """Index of the steepest descent of ``losses`` against log(lr) (second-order differences on the
    possibly uneven log grid, ``numpy.gradient``), up to the lowest loss: a fall after the minimum is the
    loss coming back down after a blow-up, not a good LR. None if the loss never falls."""
    if len(losses) < 2:
        return None
    slope = np.gradient(losses, np.log(lrs))[:int(np.argmin(losses)) + 1]
    i = int(np.argmin(slope))
    return i if slope[i] < 0 else None


def _valley(losses):
    """fastai's valley rule (``fastai.callback.schedule.valley``, the default ``suggest_funcs`` of
    ``Learner.lr_find``; read in github.com/fastai/fastai, fastai/callback/schedule.py, and restated
    here): ``lds[i]`` is the length of the longest strictly decreasing subsequence of the losses
    ending at ``i``; the valley ends at the first ``i`` of greatest ``lds`` and starts ``lds`` points
    before it; the suggestion is the point ``int(L/3) + int(L/6)`` (about half) of the way along,
    L = ``lds``.

    Differences, on edge cases only: no suggestion when nothing decreases (fastai returns the first LR),
    and the index is clamped to the curve (for a valley of 2 points at the very start fastai's index
    is -1, i.e. the last LR)."""
    n = len(losses)
    lds = np.ones(n, dtype=np.int64)
    max_start, max_end = 0, 0
    for i in range(1, n):
        higher = losses[:i] > losses[i]
        if higher.any():
            lds[i] = lds[:i][higher].max() + 1
        if lds[i] > lds[max_end]:
            max_end = i
            max_start = max_end - int(lds[max_end])
    if lds[max_end] < 2:
        return None
    sections = (max_end - max_start) / 3
    return min(max(max_start + int(sections) + int(sections / 2), 0), n - 1)


def _window(lrs, smoothed, skip_start, skip_end):
    """The steps suggestions are read from: ``skip_start:len-skip_end``, LR > 0, finite smoothed loss."""
    keep = np.zeros(len(lrs), dtype=bool)
    keep[skip_start:max(len(lrs) - skip_end, skip_start)] = True
    return keep & (lrs > 0) & np.isfinite(smoothed)


def suggest(lrs, smoothed, skip_start=0, skip_end=0):
    """``{rule: lr}`` from a recorded curve (the window ``skip_start:len-skip_end``, LRs > 0 only);
    a rule with no answer (too few points, a loss that never falls) is left out."""
    lrs = np.asarray(lrs, dtype=np.float64)
    smoothed = np.asarray(smoothed, dtype=np.float64)
    keep = _window(lrs, smoothed, skip_start, skip_end)
    lrs, smoothed = lrs[keep], smoothed[keep]
    out = {}
    if len(lrs) < MIN_WINDOW:
        return out
    i = _steepest(lrs, smoothed)
    if i is not None:
        out["steepest"] = float(lrs[i])
    out["minimum/10"] = float(lrs[int(np.argmin(smoothed))]) / 10.0
    i = _valley(smoothed)
    if i is not None:
        out["valley"] = float(lrs[i])
    return out


# ---------------------------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------------------------
def _floats(name, values):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise LrkitTypeError(f"{name} must be a list of numbers, got {values!r}")
    out = []
    for i, v in enumerate(values.tolist() if isinstance(values, np.ndarray) else values):
        out.append(float(check.real(f"{name}[{i}]", v)))
    return tuple(out)


@dataclasses.dataclass(frozen=True, repr=False)
class LRFinderResult:
    """What :func:`find_lr` recorded: ``lrs[i]`` gave the loss ``losses[i]``, smoothed to ``smoothed[i]``
    (tuples of floats, every value finite), and why the sweep stopped: ``"end"``, ``"diverged"`` (the
    last recorded step crossed the threshold) or ``"nan"`` (the step at ``stop_lr`` gave a NaN/inf loss
    and is not recorded). The other fields are the settings of the run.

    ``suggestions`` maps each rule (``"steepest"``, ``"minimum/10"``, ``"valley"``) to its LR, computed
    from ``lrs`` and ``smoothed``; a rule with no answer is left out. ``suggestion`` is the valley's LR
    (None when there is no valley). Why the valley: it is the default of fastai's ``lr_find`` (which
    earlier suggested minimum/10 and steepest), and it is the most robust of the three on noisy curves.
    It follows the longest decreasing stretch of the curve, so one noisy spike, which moves the steepest
    point by decades, moves it by a step or two (``tests/test_find_lr.py`` shows both on a known curve);
    it does not depend on where a flat floor happens to dip lowest, as minimum/10 does; and it sits well
    inside the falling part of the curve, away from the divergence edge, which is where a peak LR for
    one-cycle or warmup + decay should be. Use ``suggestions[...]`` for another rule.
    """
    lrs: tuple
    losses: tuple
    smoothed: tuple
    stopped: str
    stop_lr: float = None
    start: float = 1e-7
    end: float = 10.0
    steps: int = 100
    mode: str = "exp"
    smooth: float = 0.98
    diverge: float = 4.0
    skip_start: int = 10
    skip_end: int = 5

    def __post_init__(self):
        set_ = object.__setattr__
        for name in ("lrs", "losses", "smoothed"):
            set_(self, name, _floats(name, getattr(self, name)))
        if not len(self.lrs) == len(self.losses) == len(self.smoothed):
            raise LrkitValueError(f"lrs, losses and smoothed must have the same length, got {len(self.lrs)}, "
                                  f"{len(self.losses)} and {len(self.smoothed)}")
        check.choice("stopped", self.stopped, STOPS)
        check.choice("mode", self.mode, MODES)
        if self.stop_lr is not None:
            set_(self, "stop_lr", float(check.real("stop_lr", self.stop_lr)))
        if any(lr < 0 or (self.mode == "exp" and lr == 0) for lr in self.lrs):
            raise LrkitValueError(f"lrs must be > 0 (>= 0 for mode='linear'), got {list(self.lrs)!r}")
        if any(b <= a for a, b in zip(self.lrs, self.lrs[1:])):
            raise LrkitValueError(f"lrs must be strictly increasing, got {list(self.lrs)!r}")
        set_(self, "start", float(check.real("start", self.start)))
        set_(self, "end", float(check.real("end", self.end)))
        set_(self, "steps", check.count("steps", self.steps))
        set_(self, "smooth", float(check.real("smooth", self.smooth)))
        if self.diverge is not None:
            set_(self, "diverge", float(check.real("diverge", self.diverge)))
        set_(self, "skip_start", check.count("skip_start", self.skip_start))
        set_(self, "skip_end", check.count("skip_end", self.skip_end))

    # -- suggestions ----------------------------------------------------------------------------
    @functools.cached_property
    def suggestions(self):
        """``{"steepest": lr, "minimum/10": lr, "valley": lr}`` (rules with no answer left out)."""
        return suggest(self.lrs, self.smoothed, self.skip_start, self.skip_end)

    @property
    def suggestion(self):
        """The recommended peak LR: the ``"valley"`` rule's (see the class docstring), or None."""
        return self.suggestions.get(SUGGESTED_BY)

    def __repr__(self):
        shown = ", ".join(f"{k}={v:.3g}" for k, v in self.suggestions.items())
        at = f" at lr={self.stop_lr:.3g}" if self.stopped != "end" and self.stop_lr is not None else ""
        best = "None" if self.suggestion is None else f"{self.suggestion:.3g}"
        return (f"<LRFinderResult: {len(self.lrs)}/{self.steps} steps, {self.mode} {self.start:.3g}..{self.end:.3g}, "
                f"stopped={self.stopped!r}{at}; suggestion={best} ({SUGGESTED_BY}){'; ' + shown if shown else ''}>")

    def summary(self):
        """A few lines for people: the sweep, why it stopped, the lowest loss, each suggestion.

        >>> print(find_lr(lambda lr: 1.0 + (math.log10(lr) + 3.0) ** 2, steps=81, smooth=0).summary())
        LR range test: 59 of 81 steps, exp sweep from 1e-07 to 10, stopped: diverged at lr=0.0631
        lowest smoothed loss 1 at lr=0.001 in steps 8 to 53 (first 17)
        suggestions (read from steps 8 to 53):
          valley       2e-05  (suggested)
          steepest     6.31e-07
          minimum/10   0.0001
        """
        n = len(self.lrs)
        why = {"end": "ran to the end", "diverged": "stopped: diverged", "nan": "stopped: loss NaN/inf"}[self.stopped]
        at = f" at lr={self.stop_lr:.3g}" if self.stopped != "end" and self.stop_lr is not None else ""
        lines = [f"LR range test: {n} of {self.steps} steps, {self.mode} sweep from {self.start:.3g} to "
                 f"{self.end:.3g}, {why}{at}"]
        last = max(self.skip_start, n - self.skip_end - 1)
        if n:  # the lowest where the suggestions look (minimum/10 is its LR / 10), and lower ones skipped
            lrs, smoothed = np.asarray(self.lrs), np.asarray(self.smoothed)
            window = np.flatnonzero(_window(lrs, smoothed, self.skip_start, self.skip_end))
            overall = int(np.argmin(smoothed))
            i = int(window[np.argmin(smoothed[window])]) if window.size else overall
            where = f" in steps {self.skip_start} to {last}" if window.size else ""
            line = f"lowest smoothed loss {smoothed[i]:.4g} at lr={lrs[i]:.3g}{where} (first {smoothed[0]:.4g})"
            if window.size and smoothed[overall] < smoothed[i]:
                line += f"; {smoothed[overall]:.4g} at lr={lrs[overall]:.3g} in the skipped steps"
            lines.append(line)
        if not self.suggestions:
            lines.append("no suggestion: too few steps were recorded; start the sweep lower or run more steps")
            return "\n".join(lines)
        lines.append(f"suggestions (read from steps {self.skip_start} to {last}):")
        names = sorted(self.suggestions, key=lambda k: (k != SUGGESTED_BY, RULES.index(k)))
        for name in names:
            mark = "  (suggested)" if name == SUGGESTED_BY else ""
            lines.append(f"  {name:<12} {self.suggestions[name]:.3g}{mark}")
        if SUGGESTED_BY not in self.suggestions:
            lines.append(f"no {SUGGESTED_BY}: the loss never fell; start the sweep lower")
        return "\n".join(lines)

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self):
        """A JSON-safe dict: the recorded curve, the settings, and (for readers; recomputed on load)
        the suggestions."""
        out = {"format": FORMAT, "version": VERSION}
        out.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        for name in ("lrs", "losses", "smoothed"):
            out[name] = list(out[name])
        out["suggestions"] = dict(self.suggestions)
        out["suggestion"] = self.suggestion
        out["suggested_by"] = SUGGESTED_BY
        return out

    @classmethod
    def from_dict(cls, data):
        """The result back from :meth:`to_dict` (the suggestions are recomputed from the curve)."""
        if not isinstance(data, dict):
            raise LrkitTypeError(f"an LR range test result must be a dict, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise LrkitValueError(f"not an lrkit LR range test result: format must be {FORMAT!r}, "
                                  f"got {data.get('format')!r}")
        if data.get("version") != VERSION:
            raise LrkitValueError(f"version must be {VERSION}, got {data.get('version')!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names - {"format", "version", "suggestions", "suggestion", "suggested_by"})
        if unknown:
            raise LrkitValueError(f"unknown keys in an LR range test result: {unknown!r}")
        missing = sorted({"lrs", "losses", "smoothed", "stopped"} - set(data))
        if missing:
            raise LrkitValueError(f"missing keys in an LR range test result: {missing!r}")
        return cls(**{k: v for k, v in data.items() if k in names})

    def save(self, path):
        """Write :meth:`to_dict` as JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1, allow_nan=False)
            f.write("\n")

    @classmethod
    def load(cls, path):
        """Read a result written by :meth:`save`."""
        with open(path, encoding="utf-8") as f:
            try:
                data = json.load(f)
            except json.JSONDecodeError as error:
                raise LrkitValueError(f"{path!s} is not JSON: {error}") from None
        return cls.from_dict(data)

    # -- pictures -------------------------------------------------------------------------------
    def plot(self, ax=None, path=None, title=None):
        """Loss against LR (log axis for an ``"exp"`` sweep): the raw loss faint, the smoothed loss
        solid, each suggestion a labelled marker on the smoothed curve. Draws on ``ax`` (default: a new
        figure when ``path`` is given, else pyplot's current Axes); writes ``path`` (.png, .svg, .pdf)
        when given. Returns the Axes. matplotlib is imported here only."""
        from . import _plot
        _plot._matplotlib("LRFinderResult.plot")
        if ax is None:
            if path is not None:
                ax = _plot._figure().add_subplot()
            else:
                import matplotlib.pyplot as plt
                ax = plt.gca()
        _draw(ax, self, title=title)
        if path is not None:
            _plot._save(ax.figure, path)
        return ax

    def _repr_png_(self):
        """The plot inline in Jupyter (None without matplotlib: the text repr is shown instead)."""
        from . import _plot
        try:
            _plot._matplotlib()
        except _plot.NoMatplotlib:
            return None
        import io
        fig = _plot._figure((6.0, 3.5))
        _draw(fig.add_subplot(), self)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        return buffer.getvalue()


_MARKERS = {"steepest": "v", "minimum/10": "s", "valley": "o"}


def _on_curve(result, lr):
    """The smoothed loss at ``lr`` (interpolated in log-LR for an exp sweep; clamped at the ends)."""
    x = np.asarray(result.lrs)
    if result.mode == "exp":
        return float(np.interp(math.log(lr), np.log(x), result.smoothed))
    return float(np.interp(lr, x, result.smoothed))


def _draw(ax, result, title=None):
    lrs = np.asarray(result.lrs)
    smoothed = np.asarray(result.smoothed)
    if len(lrs):
        ax.plot(lrs, result.losses, color="0.6", linewidth=0.9, alpha=0.6, label="loss")
        if result.smooth:
            ax.plot(lrs, smoothed, color="C0", linewidth=1.8, label=f"smoothed (EMA {result.smooth:g})")
        for k, (name, lr) in enumerate(result.suggestions.items()):
            star = " (suggested)" if name == SUGGESTED_BY else ""
            ax.plot([lr], [_on_curve(result, lr)], linestyle="none", marker=_MARKERS.get(name, "D"), markersize=8,
                    color=f"C{k + 1}", markeredgecolor="black", markeredgewidth=0.8, zorder=5,
                    label=f"{name}: {lr:.2e}{star}")
        # keep the blow-up from flattening the curve: from the lowest loss to the highest smoothed one before
        # the smoothed minimum
        low = min(float(smoothed.min()), float(np.min(result.losses)))
        high = float(smoothed[:int(np.argmin(smoothed)) + 1].max())
        if high - low <= 1e-12 * max(1.0, abs(low)):
            high = float(smoothed.max())
        if high > low:
            pad = 0.08 * (high - low)
            ax.set_ylim(low - pad, high + 3 * pad)
    if result.mode == "exp":
        ax.set_xscale("log")
    ax.set_xlabel("learning rate" + (" (log scale)" if result.mode == "exp" else ""))
    ax.set_ylabel("loss")
    ax.grid(True, which="major", alpha=0.3)
    why = {"end": "ran to the end", "diverged": "stopped: loss diverged", "nan": "stopped: loss NaN/inf"}
    at = f" at lr={result.stop_lr:.2g}" if result.stopped != "end" and result.stop_lr is not None else ""
    ax.set_title(title if title is not None else
                 f"LR range test: {len(lrs)} of {result.steps} steps, {why[result.stopped]}{at}", fontsize="medium")
    if len(lrs):
        ax.legend(loc="best", fontsize="small", framealpha=0.9)
