"""See what the optimizer actually did: log every scheduled value, audit it against the plan.

The framework forms (``lrkit.torch.Monitor`` and its Lightning / HF Trainer callbacks,
``lrkit.keras.MonitorCallback``, ``lrkit.optax.OptaxMonitor``) read the values applied at each optimizer
update and hand them to a :class:`Recorder`, which writes them to its sinks and audits them:

- sinks: :class:`JsonLinesSink` (the default: ``lrkit-run.jsonl``, read back by :func:`read_log`,
  ``lrkit report`` and ``lrkit.predict.load_runs``), :class:`TensorBoardSink`, :class:`WandbSink`,
  :class:`MLflowSink` (``pip install 'lrkit[monitor]'``); tags as Lightning's ``LearningRateMonitor``
  names them (``lr-AdamW/pg1``), the step axis the optimizer update;
- the audit (:class:`Audit`): per param group and hyperparameter, the values applied against the
  schedule planned, with one ``MonitorWarning`` per kind of mistake (stepped per epoch instead of per
  update or the reverse, stepped several times per update or not at all, a value written by something
  else, a decay that ends before the run, a plateau cut) and a summary.

Events. ``recorder.event(step, kind, source, text)`` logs one (a restart, a resume, a change of plan).
A scheduler that keeps a list ``lrkit_events`` of dicts (at least ``"kind"`` and ``"step"``, the update;
any other plain values, e.g. ``"text"``) has them logged as they appear: the monitor reads new entries
at each flush (``Recorder.watch_events(obj)``; the torch monitor watches every scheduler it knows).

>>> import lrkit, os, tempfile
>>> from lrkit.monitor import Recorder, JsonLinesSink, read_log
>>> path = os.path.join(tempfile.mkdtemp(), "run.jsonl")
>>> rec = Recorder(["lr"], ["pg1"], plan={("lr", 0): lrkit.step_decay(0.1, period=2, gamma=0.5)},
...                sinks=[JsonLinesSink(path)])
>>> for k in range(4):
...     rec.record(k, [[0.1 * 0.5 ** (k // 2)]])
>>> rec.close()
>>> log = read_log(path)
>>> log.steps, log.values["lr"][0], rec.audit.findings
([0, 1, 2, 3], [0.1, 0.1, 0.05, 0.05], [])
"""
from ._audit import RTOL, Audit, Finding, MonitorWarning
from ._errors import LrkitTypeError, LrkitValueError, excerpt
from ._monitor_log import FORMAT, VERSION, JsonLinesSink, RunLog, read_log
from ._sinks import MLflowSink, TensorBoardSink, WandbSink

__all__ = ["Recorder", "JsonLinesSink", "TensorBoardSink", "WandbSink", "MLflowSink", "Audit", "Finding",
           "MonitorWarning", "RunLog", "read_log", "tag_names", "FORMAT", "VERSION", "RTOL"]

#: the first flushes come after 1, 2, 4, ... updates (an early mistake is told early), then every FLUSH_EVERY
FLUSH_EVERY = 256

_SUFFIX = {"lr": "", "momentum": "-momentum", ("betas", 0): "-momentum", ("betas", 1): "-beta2",
           "weight_decay": "-weight_decay"}


def key_label(key):
    """The name of a param-group key in the log: ``"lr"``, ``"betas[0]"``."""
    return key if isinstance(key, str) else f"{key[0]}[{key[1]}]"


def tag_names(optimizer_name, group_names, keys):
    """Lightning's ``LearningRateMonitor`` names: ``{key: [tag per group]}``, e.g. ``lr-AdamW/pg1``.

    >>> tag_names("AdamW", ["pg1", "pg2"], ["lr", ("betas", 0)])["betas[0]"]
    ['lr-AdamW/pg1-momentum', 'lr-AdamW/pg2-momentum']
    """
    base = [f"lr-{optimizer_name}" if len(group_names) == 1 else f"lr-{optimizer_name}/{g}" for g in group_names]
    out = {}
    for key in keys:
        label = key_label(key)
        suffix = _SUFFIX.get(key, f"-{label}")
        out[label] = [b + suffix for b in base]
    return out


def _as_sinks(sinks, log):
    if sinks is None:
        return [JsonLinesSink(log)]
    if not isinstance(sinks, (list, tuple)):
        sinks = [sinks]
    out = []
    for i, s in enumerate(sinks):
        if isinstance(s, str):
            if s == "jsonl":
                s = JsonLinesSink(log)
            elif s == "tensorboard":
                s = TensorBoardSink()
            elif s == "wandb":
                s = WandbSink()
            elif s == "mlflow":
                s = MLflowSink()
            else:
                raise LrkitValueError(f"sinks[{i}] must be 'jsonl', 'tensorboard', 'wandb', 'mlflow' or a sink "
                                      f"object, got {excerpt(s)}")
        elif not all(callable(getattr(s, m, None)) for m in ("header", "steps", "scalars", "metrics", "event",
                                                               "flush", "close")):
            raise LrkitTypeError(f"sinks[{i}] must be a sink (header, steps, scalars, metrics, event, flush, "
                                 f"close), got {excerpt(s)}")
        out.append(s)
    return out


class Recorder:
    """The framework-free engine of every monitor: values in, sinks and the audit out.

    ``keys``: the param-group keys recorded (``"lr"``, ``("betas", 0)``, ...); ``groups``: the groups'
    names (``pg1``, ... or their ``"name"``); ``plan``: ``{(key, group index): lrkit schedule}`` (absolute
    values, in updates; see :class:`Audit` for ``plan_per``/``steps_per_epoch``); ``sinks``: sink objects
    or names (default: a :class:`JsonLinesSink` at ``log``). ``record(step, values)`` takes, per key in
    order, the list of each group's value applied at that update (None: a skipped update).
    """

    def __init__(self, keys, groups, plan=None, sinks=None, log="lrkit-run.jsonl", label="run", optimizer="Optimizer",
                 start=0, steps_per_epoch=None, plan_per="update", total_steps=None, audit=True, warn=True,
                 plan_specs=None):
        self.keys = list(keys)
        self.labels = [key_label(k) for k in self.keys]
        self.groups = list(groups)
        self.sinks = _as_sinks(sinks, log)
        self.trackers = [s for s in self.sinks if not isinstance(s, JsonLinesSink)]
        self.tags = tag_names(optimizer, self.groups, self.keys)
        plan = dict(plan or {})
        for (key, i) in plan:
            if key not in self.keys or not 0 <= i < len(self.groups):
                raise LrkitValueError(f"plan has a schedule for {key_label(key)} of param group {i}, which is not "
                                      f"recorded (keys {self.labels}, {len(self.groups)} groups)")
        self.audit = (Audit({(key_label(k), i): s for (k, i), s in plan.items()}, steps_per_epoch=steps_per_epoch,
                            plan_per=plan_per, total_steps=total_steps, warn=warn)
                      if audit and plan else None)
        plan_time = {}  # (a plan written in epochs and evaluated at fractional epochs: its time per update)
        if plan_specs is None:
            plan_specs = {}
            for (key, i), s in plan.items():
                plan_specs.setdefault(key_label(key), [None] * len(self.groups))[i] = repr(s)
                if getattr(s, "per_update", None) is not None:
                    plan_time.setdefault(key_label(key), [1.0] * len(self.groups))[i] = s.per_update
        self.header = {"format": FORMAT, "version": VERSION, "label": str(label), "optimizer": str(optimizer),
                       "groups": self.groups, "keys": self.labels, "plan": plan_specs, "plan_per": plan_per,
                       "steps_per_epoch": steps_per_epoch, "start": int(start)}
        if plan_time:
            self.header["plan_time"] = plan_time
        self._rows = []
        self._metrics = []
        self._last = None
        self._flushed = 0
        self._next_flush = 1
        self._watched = []
        self.closed = False
        for s in self.sinks:
            s.header(self.header)
        if start:
            self.event(start, "resume", "monitor", f"the run resumes at update {start}")
        if self.audit is not None:
            self.audit.on_finding = self._finding
            for f in self.audit.findings:  # (found at construction: a decay shorter than total_steps)
                self._finding(f)

    # ---- the per-step path ---------------------------------------------------------------------------
    def record(self, step, values):
        """The values applied at update ``step``: per key, each group's value (None: a skipped update)."""
        rows = self._rows
        rows.append((step, values))
        if len(rows) >= self._next_flush:
            self.flush()

    # ---- the rest ----------------------------------------------------------------------------------------
    def metrics(self, step, metrics):
        """Metrics measured at update ``step`` (a dict of name -> number), written with the next flush
        (a tracker then gets each update's values and metrics in one call, in step order)."""
        self._metrics.append((step, {str(k): float(v) for k, v in metrics.items()}))

    def event(self, step, kind, source="user", text="", **info):
        """An event at update ``step``: a restart, a resume, a plateau cut, a change of plan."""
        record = {"step": step, "event": str(kind), "source": str(source), "text": str(text)}
        record.update({k: v for k, v in info.items() if k not in record})
        for s in self.sinks:
            s.event(record)

    def watch_events(self, obj):
        """Log the dicts ``obj.lrkit_events`` gains (a scheduler's own events), and the changes of plan
        ``obj.plan_changes`` lists (lrkit's schedulers, on a resume with a changed plan)."""
        if all(o is not obj for o, _ in self._watched):
            self._watched.append((obj, {"lrkit_events": 0, "plan_changes": 0}))

    def _drain_events(self):
        for obj, seen in self._watched:
            for attr in ("lrkit_events", "plan_changes"):
                entries = getattr(obj, attr, None)
                if not isinstance(entries, (list, tuple)) or len(entries) <= seen[attr]:
                    continue
                for e in entries[seen[attr]:]:
                    if not isinstance(e, dict):
                        continue
                    if attr == "plan_changes":
                        self.event(e.get("step"), "change of plan", type(obj).__name__, plan_change_text(e),
                                   **{k: v for k, v in e.items() if k in ("policy", "key", "group")})
                    elif "kind" in e:
                        info = {k: v for k, v in e.items() if k not in ("kind", "step", "text", "source")}
                        self.event(e.get("step"), e["kind"], e.get("source", type(obj).__name__), e.get("text", ""),
                                   **info)
                seen[attr] = len(entries)

    def _finding(self, finding):
        record = finding.to_record()
        for s in self.sinks:
            s.event(record)

    def flush(self):
        """Write the buffered updates to the sinks and audit them."""
        rows, self._rows = self._rows, []
        metrics, self._metrics = self._metrics, []
        self._flushed += len(rows)
        self._next_flush = min(max(self._flushed, 1), FLUSH_EVERY)
        if rows or metrics:
            self._write(rows, metrics)
        self._drain_events()
        for s in self.sinks:
            s.flush()

    def _write(self, rows, metrics):
        labels = self.labels
        last = self._last
        delta = []
        for step, values in rows:
            if values is None:
                delta.append((step, None))
                continue
            if last is None:
                changed = dict(zip(labels, values))
            else:
                changed = {k: v for k, v, o in zip(labels, values, last) if v != o}
            delta.append((step, changed))
            last = values
        self._last = last
        for s in self.sinks:
            s.steps(delta)
            if s not in self.trackers:
                for step, m in metrics:
                    s.metrics(step, m)
        if self.trackers:
            by_step = {}
            for step, m in metrics:
                by_step.setdefault(step, {}).update(m)
            row_steps = {step for step, values in rows if values is not None}
            first = min(row_steps, default=None)
            early = sorted(k for k in by_step if k not in row_steps and (first is None or k < first))
            for step in early:  # (metrics of an update written before this flush's rows: in step order)
                m = by_step.pop(step)
                for s in self.trackers:
                    s.metrics(step, m)
            tags = [self.tags[k] for k in labels]
            for step, values in rows:
                if values is None:
                    continue
                scalars = {t: float(v) for names, vals in zip(tags, values) for t, v in zip(names, vals)}
                scalars.update(by_step.pop(step, {}))
                for s in self.trackers:
                    s.scalars(step, scalars)
            for step in sorted(by_step):
                for s in self.trackers:
                    s.metrics(step, by_step[step])
        if self.audit is not None:
            applied = [(step, values) for step, values in rows if values is not None]
            if applied:
                steps = [step for step, _ in applied]
                columns = {}
                for j, label in enumerate(labels):
                    for i in range(len(self.groups)):
                        if (label, i) in self.audit.columns:
                            columns[(label, i)] = [_float(values[j][i]) for _, values in applied]
                self.audit.observe(steps, columns)

    def summary(self):
        """What matched the plan and what did not (``Audit.summary``; None without a plan)."""
        return None if self.audit is None else self.audit.summary()

    def summary_text(self):
        return "no plan to audit against" if self.audit is None else self.audit.summary_text()

    def close(self):
        """Flush, finish the audit, write its summary, close the sinks (once)."""
        if self.closed:
            return
        self.flush()
        if self.audit is not None:
            self.audit.finish()
            summary = self.audit.summary()
            for s in self.sinks:
                if isinstance(s, JsonLinesSink):
                    s.event({"summary": summary})
        for s in self.sinks:
            s.close()
        self.closed = True


def plan_change_text(change):
    """One line for a scheduler's ``plan_changes`` entry: a drop-in's changed arguments, or a schedule's."""
    policy = change.get("policy") or "the saved arguments win (torch's rule)"
    if isinstance(change.get("changes"), dict):
        parts = [f"{name} {pair[0]} -> {pair[1]}" for name, pair in change["changes"].items()
                 if isinstance(pair, (list, tuple)) and len(pair) == 2]
        return f"{', '.join(parts)} (policy: {policy})"
    if "key" in change:
        text = (f"{change['key']} of param group {change.get('group')}: {change.get('saved')} -> "
                f"{change.get('current')} (policy: {policy})")
        if isinstance(change.get("old"), float) and isinstance(change.get("applied"), float):
            text += f"; at the step {change['old']:.6g} by the saved plan, {change['applied']:.6g} applied"
        return text
    return str(excerpt(change))


class Closing:
    """``with`` for the monitors: ``close()`` at the end of the block, errors or not."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")

