"""Logged runs for the loss-curve laws (numpy only): a schedule (or the LR of every update) and its
training-loss curve, from your own loop, a saved shoot-out, or a file in lrkit's run format.

A run's ``steps`` count the updates applied before each loss was measured: the loss of the batch that
update ``k`` trains on is logged at step ``k`` (the shoot-out's ``record.loss(k, loss)``).

The run format (``format: "lrkit-run"``), JSON::

    {"format": "lrkit-run", "version": 1, "label": "cosine", "schedule": "cosine(0.01, 0.0, steps=1000)",
     "steps": [0, 1, 2, ...], "losses": [4.61, 4.32, 4.18, ...]}

or JSON Lines: that header without ``steps``/``losses`` on the first line, then one ``{"step": k,
"loss": v}`` per line. Instead of ``"schedule"`` (a spec or a config dict), ``"lrs"`` may give the LR
of every update 0..T-1 (or, in JSON Lines, an ``"lr"`` on every line from step 0 on, one line per update).

Readers are looked up by the file's ``format`` key in :data:`READERS`; a new log format plugs in with
:func:`register_reader` (a function ``(data, path, **options) -> [LossRun, ...]``).
"""
import dataclasses
import json
import math
import numbers
import typing

import numpy as np

from ._errors import LrkitTypeError, LrkitValueError, excerpt
from ._spec import as_schedule

FORMAT = "lrkit-run"
VERSION = 1


@dataclasses.dataclass(frozen=True, eq=False)
class LossRun:
    """One logged run: the LR of every update (``lrs[k]`` for update ``k``), the steps at which the
    training loss was logged (updates done, increasing) and the losses. ``schedule``: the spec it came
    from (None when given as LR values)."""
    label: str
    lrs: np.ndarray
    steps: np.ndarray
    losses: np.ndarray
    schedule: typing.Optional[str] = None

    @property
    def length(self):
        """Updates in the run (``len(lrs)``)."""
        return len(self.lrs)

    @property
    def peak(self):
        return float(self.lrs.max())

    def __repr__(self):
        return (f"LossRun({self.label!r}, {self.length:,} updates, {len(self.steps):,} losses, "
                f"peak {self.peak:g}{', ' + self.schedule if self.schedule else ''})")

    def to_dict(self):
        data = {"format": FORMAT, "version": VERSION, "label": self.label}
        if self.schedule is not None:
            data["schedule"] = self.schedule
            data["length"] = self.length
        else:
            data["lrs"] = self.lrs.tolist()
        data["steps"] = self.steps.tolist()
        data["losses"] = self.losses.tolist()
        return data

    def save(self, path):
        """Write the run as JSON in lrkit's run format."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, allow_nan=False)
            f.write("\n")


def run(schedule, steps, losses, label=None, length=None):
    """A :class:`LossRun` from your own loop.

    ``schedule``: an lrkit schedule, a spec string or config dict (evaluated for updates
    0..length-1), or a 1-D sequence with the LR of every update. ``steps``/``losses``: where the
    training loss was logged (updates done) and its values, finite and > 0. ``length``: updates in
    the run (default: the length of ``schedule`` values, or the last logged step + 1).

    >>> r = run("cosine(0.1, 0.0, steps=100)", [10, 50, 90], [2.0, 1.5, 1.2], label="cos")
    >>> r
    LossRun('cos', 91 updates, 3 losses, peak 0.1, cosine(start=0.1, end=0.0, steps=100))
    """
    steps = _steps(steps)
    losses = _losses(losses, len(steps))
    spec = None
    if isinstance(schedule, (str, dict)) or hasattr(schedule, "to_config"):
        s = as_schedule(schedule, "schedule")
        spec = repr(s)
        n = int(steps[-1]) + 1 if length is None else _length(length)
        lrs = np.asarray(s(np.arange(n, dtype=np.float64)), dtype=np.float64)
    else:
        lrs = _lrs(schedule)
        if length is not None and _length(length) != len(lrs):
            raise LrkitValueError(f"length must equal the number of LR values ({len(lrs)}), got {length!r}")
    if len(lrs) < 1 or steps[-1] > len(lrs):
        raise LrkitValueError(f"steps must be within 0..{len(lrs)} (the run's updates), got a last step of {int(steps[-1])}")
    if not np.all(np.isfinite(lrs)) or np.any(lrs < 0) or not np.any(lrs > 0):
        raise LrkitValueError(f"the LR of every update must be finite and >= 0, some > 0; got {excerpt(lrs.tolist())}")
    label = (spec or "run") if label is None else str(label)
    return LossRun(label, lrs, steps, losses, spec)


def _length(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise LrkitValueError(f"length must be a positive integer, got {value!r}")
    return int(value)


def _steps(steps):
    try:
        raw = np.asarray(steps)
    except Exception:
        raise LrkitTypeError(f"steps must be a list of integers, got {excerpt(steps)}") from None
    if raw.ndim != 1 or raw.size < 1 or raw.dtype.kind not in "iuf":
        raise LrkitValueError(f"steps must be a non-empty list of integers >= 0, got {excerpt(steps)}")
    out = raw.astype(np.int64)
    if raw.dtype.kind == "f" and (not np.all(np.isfinite(raw)) or np.any(out != raw)):
        raise LrkitValueError(f"steps must be integers (updates done), got {excerpt(raw.tolist())}")
    if out[0] < 0 or np.any(np.diff(out) <= 0):
        raise LrkitValueError(f"steps must be >= 0 and strictly increasing, got {excerpt(out.tolist())}")
    return out


def _losses(losses, n):
    try:
        out = np.asarray(losses, dtype=np.float64)
    except (TypeError, ValueError):
        raise LrkitTypeError(f"losses must be a list of numbers, got {excerpt(losses)}") from None
    if out.shape != (n,):
        raise LrkitValueError(f"losses must have one value per step ({n}), got shape {out.shape}")
    bad = np.flatnonzero(~(np.isfinite(out) & (out > 0)))
    if bad.size:
        raise LrkitValueError(f"losses must be finite and > 0 (the laws model log-loss), got {out[bad[0]]!r} "
                              f"at index {int(bad[0])}")
    return out


def _lrs(values):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise LrkitTypeError(f"schedule must be an lrkit schedule, a spec, a config dict or a list of LR values, "
                             f"got {excerpt(values)}")
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise LrkitTypeError(f"schedule's LR values must be numbers, got {excerpt(values)}") from None
    if out.ndim != 1:
        raise LrkitValueError(f"schedule's LR values must be a 1-D list, got shape {out.shape}")
    return out


# ---------------------------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------------------------
READERS = {}


def register_reader(format_name, reader):
    """Read files whose ``format`` key is ``format_name`` with ``reader(data, path, **options)``, which
    returns a list of :class:`LossRun` (for JSON Lines, ``data`` is the list of parsed lines)."""
    if not isinstance(format_name, str) or not callable(reader):
        raise LrkitTypeError(f"register_reader needs a format name and a callable, got {format_name!r}, {reader!r}")
    READERS[format_name] = reader


def load_runs(path, **options):
    """Every run in the file at ``path`` (JSON or JSON Lines), read by the reader of its ``format``.

    Options of the shoot-out reader: ``labels`` (the schedules to keep, in that order), ``seeds``,
    ``average`` (default True: one run per schedule, the mean loss over its seeds at each step)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as error:
        raise LrkitValueError(f"cannot read runs from {path!r}: {error.strerror or error}") from None
    data = _parse(text, path)
    head = data[0] if isinstance(data, list) else data
    kind = head.get("format") if isinstance(head, dict) else None
    if kind not in READERS:
        raise LrkitValueError(f"{path!r}: format must be one of {', '.join(sorted(READERS))}, got {kind!r}")
    return READERS[kind](data, path, **options)


def _parse(text, path):
    try:
        return json.loads(text)
    except ValueError:
        pass
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                lines.append(json.loads(line))
            except ValueError as error:
                raise LrkitValueError(f"{path!r} line {number} is not JSON ({error}): {excerpt(line)}") from None
    if not lines or not all(isinstance(x, dict) for x in lines):
        raise LrkitValueError(f"{path!r} must hold a JSON object or JSON Lines of objects")
    return lines


def _read_run(data, path, **options):
    if options:
        raise LrkitTypeError(f"an lrkit-run file takes no options, got {sorted(options)}")
    if isinstance(data, list):  # JSON Lines: a header, then {"step", "loss"[, "lr"]} per line
        head, rows = data[0], data[1:]
        if not rows:
            raise LrkitValueError(f"{path!r}: no loss lines after the header")
        try:
            steps = [r["step"] for r in rows]
            losses = [r["loss"] for r in rows]
        except KeyError as error:
            raise LrkitValueError(f"{path!r}: every line after the header needs 'step' and 'loss', missing {error}") from None
        if "schedule" not in head and "lrs" not in head:
            if not all("lr" in r for r in rows) or steps != list(range(len(rows))):
                raise LrkitValueError(f"{path!r}: without a 'schedule' or 'lrs' in the header, every update "
                                      f"0, 1, 2, ... needs a line with its 'lr'")
            head = dict(head, lrs=[r["lr"] for r in rows])
        head = dict(head, steps=steps, losses=losses)
    else:
        head = data
    if head.get("version") != VERSION:
        raise LrkitValueError(f"{path!r}: lrkit-run version must be {VERSION}, got {head.get('version')!r}")
    for key in ("steps", "losses"):
        if key not in head:
            raise LrkitValueError(f"{path!r}: an lrkit-run needs {key!r}")
    if ("schedule" in head) == ("lrs" in head):
        raise LrkitValueError(f"{path!r}: an lrkit-run needs exactly one of 'schedule' and 'lrs'")
    schedule = head["schedule"] if "schedule" in head else head["lrs"]
    return [run(schedule, head["steps"], head["losses"], label=head.get("label"), length=head.get("length"))]


def _read_shootout(data, path, labels=None, seeds=None, average=True):
    from ._shootout import ShootoutResult
    result = ShootoutResult.from_dict(data)
    return from_shootout(result, labels=labels, seeds=seeds, average=average)


def from_shootout(result, labels=None, seeds=None, average=True):
    """The runs of a :class:`lrkit.ShootoutResult`: for each schedule in ``labels`` (default all, in
    table order), its runs over ``seeds`` (default all); with ``average``, one run per schedule whose
    loss is the mean over seeds at each step (steps every seed logged)."""
    labels = list(result.schedules) if labels is None else list(labels)
    unknown = [label for label in labels if label not in result.schedules]
    if unknown:
        raise LrkitValueError(f"labels must be among {', '.join(result.schedules)}, got {unknown!r}")
    out = []
    for label in labels:
        schedule = as_schedule(result.schedules[label], f"the shoot-out's schedule {label!r}")
        runs = [r for r in result.runs if r.schedule == label and (seeds is None or r.seed in seeds)]
        if not runs:
            raise LrkitValueError(f"schedule {label!r} has no run with seeds {seeds!r}")
        curves = []
        for r in runs:
            steps = np.array([s for s, _ in r.losses], dtype=np.int64)
            losses = np.array([v for _, v in r.losses], dtype=np.float64)
            if not steps.size:
                raise LrkitValueError(f"run {label!r} seed {r.seed} recorded no training loss")
            curves.append((r.seed, steps, losses))
        if average:
            common = curves[0][1]
            for _, s, _ in curves[1:]:
                common = np.intersect1d(common, s)
            mean = np.mean([v[np.searchsorted(s, common)] for _, s, v in curves], axis=0)
            out.append(run(schedule, common, mean, label=label, length=result.steps))
        else:
            out += [run(schedule, s, v, label=f"{label} seed {seed}", length=result.steps) for seed, s, v in curves]
    return out


def _read_monitor(data, path, key="lr", group=0, metric=None):
    """A run log of lrkit's monitor (``lrkit.monitor``): the ``key`` applied to param group ``group`` at
    every update (a skipped update keeps the value before it) and the ``metric`` logged (default: the
    first of "loss", "train_loss", "train/loss")."""
    from ._monitor_log import parse_log
    log = parse_log(data if isinstance(data, list) else [data], path)
    if key not in log.values or not 0 <= group < len(log.groups):
        raise LrkitValueError(f"{path!r}: no {key!r} of param group {group} in the log (keys {log.keys}, "
                              f"{len(log.groups)} groups)")
    names = [metric] if metric is not None else ["loss", "train_loss", "train/loss"]
    name = next((m for m in names if m in log.metrics), None)
    if name is None:
        raise LrkitValueError(f"{path!r}: the log has no metric {' or '.join(map(repr, names))} "
                              f"(its metrics: {sorted(log.metrics)})")
    by_step = dict(zip(log.steps, log.values[key][group]))
    skipped = set(log.skipped)
    last = max(log.steps) if log.steps else -1
    lrs, previous = [], None
    for k in range(last + 1):
        if k in by_step:
            previous = by_step[k]
        elif k not in skipped or previous is None:
            raise LrkitValueError(f"{path!r}: update {k} is not in the log (a run read by predict starts at "
                                  f"update 0 and logs every update)")
        lrs.append(previous)
    steps, losses = log.metrics[name]
    pairs = sorted({s: v for s, v in zip(steps, losses) if s is not None and s <= last}.items())
    return [run(lrs, [s for s, _ in pairs], [v for _, v in pairs], label=log.label)]


register_reader(FORMAT, _read_run)
register_reader("lrkit-shootout", _read_shootout)
register_reader("lrkit-monitor", _read_monitor)


def as_runs(runs):
    """A list of :class:`LossRun` from runs, paths, shoot-out results or lists of those."""
    if isinstance(runs, (LossRun, str)) or hasattr(runs, "runs") and hasattr(runs, "schedules"):
        runs = [runs]
    out = []
    for item in runs:
        if isinstance(item, LossRun):
            out.append(item)
        elif isinstance(item, str):
            out += load_runs(item)
        elif hasattr(item, "runs") and hasattr(item, "schedules"):
            out += from_shootout(item)
        else:
            raise LrkitTypeError(f"runs must be LossRun values, paths or shoot-out results, got {excerpt(item)}")
    if not out:
        raise LrkitValueError("runs must not be empty")
    if any(not math.isfinite(r.peak) or r.peak <= 0 for r in out):
        raise LrkitValueError("every run needs an LR > 0 somewhere")
    return out
