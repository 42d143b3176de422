"""The monitor's run log: one JSON-lines file per run (python's ``json`` only; numpy for reading).

A run log (``format: "lrkit-monitor"``) is JSON Lines. The first line is the header::

    {"format": "lrkit-monitor", "version": 1, "label": "run", "optimizer": "AdamW", "groups": ["pg1", "pg2"],
     "keys": ["lr", "weight_decay"], "plan": {"lr": ["cosine(...)", null]}, "plan_per": "update",
     "steps_per_epoch": null, "start": 0}

then one line per optimizer step, with each scheduled key's value in every param group (a key whose
values did not change since the previous step line is left out: read it forward)::

    {"step": 0, "lr": [0.001, 0.0001], "weight_decay": [0.01, 0.0]}
    {"step": 1, "lr": [0.00099, 9.9e-05]}
    {"step": 2, "skipped": true}                      # GradScaler skipped this optimizer step

and, anywhere after the header, metrics, events and the audit's findings::

    {"step": 1, "metrics": {"loss": 2.31}}
    {"step": 40, "event": "plateau cut", "source": "ReduceLROnPlateau", "text": "lr x0.1"}
    {"step": 37, "finding": "per-epoch", "text": "..."}
    {"summary": {"matched": [...], "parted": [...]}}

``step`` is the optimizer step (update) index from 0, the axis every sink uses. A resumed run appends
to the same file: a second header line starts a new segment (a ``resume`` event).
"""
import json
import math

FORMAT = "lrkit-monitor"
VERSION = 1


def plain(value):
    """A float for JSON: NaN and infinities as strings (``"nan"``, ``"inf"``), as JSON has none."""
    if value != value or value in (math.inf, -math.inf):
        return str(value)
    return value


def _number(value):
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    return value


class JsonLinesSink:
    """The default sink: the run log as JSON Lines at ``path`` (appended to: a resumed run continues it).

    Lines are buffered in memory and written every ``flush_every`` step lines, at ``flush()`` and at
    ``close()``; a step line is built by ``json`` from the values as recorded.
    """

    name = "jsonl"

    def __init__(self, path="lrkit-run.jsonl", flush_every=256):
        if not isinstance(path, str) or not path:
            from ._errors import LrkitTypeError
            raise LrkitTypeError(f"path must be a file name (a non-empty str), got {path!r}")
        self.path = path
        self.flush_every = int(flush_every)
        self._lines = []
        self._file = open(path, "a", encoding="utf-8")

    def header(self, header):
        self._lines.append(json.dumps(header, allow_nan=False))

    def steps(self, rows):
        """``rows``: ``(step, {key: [value per group]} or None for a skipped step)``, in order."""
        dumps = json.dumps
        lines = self._lines
        for step, values in rows:
            if values is None:
                lines.append(f'{{"step": {step}, "skipped": true}}')
            else:
                row = {"step": step}
                row.update(values)
                try:
                    lines.append(dumps(row, allow_nan=False))
                except ValueError:  # (a NaN or an infinity: written as a string, JSON has none)
                    lines.append(dumps({k: v if k == "step" else [plain(x) for x in v] for k, v in row.items()}))
        if len(lines) >= self.flush_every:
            self.flush()

    def scalars(self, step, scalars):
        """Per-step scalars under the trackers' tag names: the JSON-lines file has its own layout."""

    def metrics(self, step, metrics):
        self._lines.append(json.dumps({"step": step, "metrics": {k: plain(v) for k, v in metrics.items()}}))

    def event(self, record):
        self._lines.append(json.dumps(record, default=str))

    def flush(self):
        if self._lines and self._file is not None:
            self._file.write("\n".join(self._lines) + "\n")
            self._file.flush()
        self._lines = []

    def close(self):
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None


class RunLog:
    """A run log as read back: per key, the steps recorded and each group's values (``values[key][i]``,
    a list per group, aligned with ``steps``); skipped steps, metrics, events, findings and the plan."""

    def __init__(self, header, steps, values, skipped, metrics, events, findings, summary):
        self.header = header
        self.steps = steps            # [k, ...] of the step lines (not skipped), increasing
        self.values = values          # {key: [[value per step] per group]}
        self.skipped = skipped        # [k, ...]
        self.metrics = metrics        # {name: ([steps], [values])}
        self.events = events          # [{"step", "event", ...}]
        self.findings = findings      # [{"step", "finding", "text", ...}]
        self.summary = summary

    @property
    def label(self):
        return self.header.get("label", "run")

    @property
    def groups(self):
        return list(self.header.get("groups", []))

    @property
    def keys(self):
        return list(self.values)

    @property
    def plan(self):
        """``{key: [spec or None per group]}``: the schedules the run meant to follow."""
        return dict(self.header.get("plan") or {})

    def __repr__(self):
        return (f"RunLog({self.label!r}, {len(self.steps):,} steps, keys {self.keys}, {len(self.groups)} groups, "
                f"{len(self.events)} events, {len(self.findings)} findings)")


def read_log(path):
    """The run log at ``path`` (a file written by :class:`JsonLinesSink`) as a :class:`RunLog`."""
    from ._errors import LrkitValueError, excerpt
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as error:
        raise LrkitValueError(f"cannot read a run log from {path!r}: {error.strerror or error}") from None
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                item = json.loads(line)
            except ValueError as error:
                raise LrkitValueError(f"{path!r} line {number} is not JSON ({error}): {excerpt(line)}") from None
            if not isinstance(item, dict):
                raise LrkitValueError(f"{path!r} line {number} must be a JSON object, got {excerpt(item)}")
            lines.append(item)
    return parse_log(lines, path)


def parse_log(lines, path="<log>"):
    """A :class:`RunLog` from the parsed lines of a run log."""
    from ._errors import LrkitValueError
    if not lines or lines[0].get("format") != FORMAT:
        raise LrkitValueError(f"{path!r}: the first line must be an {FORMAT} header, got "
                              f"{lines[0].get('format') if lines else None!r}")
    header = lines[0]
    if header.get("version") != VERSION:
        raise LrkitValueError(f"{path!r}: {FORMAT} version must be {VERSION}, got {header.get('version')!r}")
    n = len(header.get("groups", []))
    keys = list(header.get("keys", []))
    steps, values, skipped, metrics, events, findings, summary = [], {k: [[] for _ in range(n)] for k in keys}, [], {}, [], [], None
    current = {}
    last_step = None
    for number, item in enumerate(lines[1:], 2):
        if item.get("format") == FORMAT:  # a resumed run: a new segment
            if item.get("groups") and len(item["groups"]) != n:
                raise LrkitValueError(f"{path!r} line {number}: a resumed segment has {len(item['groups'])} param "
                                      f"groups, the run {n}")
            for key in item.get("keys", []):
                if key not in values:
                    values[key] = [[math.nan] * len(steps) for _ in range(n)]
                    keys.append(key)
            continue  # (the monitor logs a "resume" event when it starts after update 0)
        if "summary" in item:
            summary = item["summary"]
            continue
        step = item.get("step")
        if "event" in item:
            events.append(item)
        elif "finding" in item:
            findings.append(item)
        elif "metrics" in item:
            for name, v in item["metrics"].items():
                s, vs = metrics.setdefault(name, ([], []))
                s.append(step)
                vs.append(_number(v))
        elif item.get("skipped"):
            skipped.append(step)
        elif isinstance(step, int):
            if last_step is not None and step <= last_step:  # a resumed run that went back: the new values win
                cut = next(i for i, s in enumerate(steps) if s >= step)
                del steps[cut:]
                for key in values:
                    for column in values[key]:
                        del column[cut:]
            for key in keys:
                if key in item:
                    vals = item[key]
                    if not isinstance(vals, list) or len(vals) != n:
                        raise LrkitValueError(f"{path!r} line {number}: {key!r} must list one value per param "
                                              f"group ({n})")
                    current[key] = [_number(v) for v in vals]
            steps.append(step)
            for key in keys:
                row = current.get(key, [math.nan] * n)
                for i in range(n):
                    values[key][i].append(row[i])
            last_step = step
        else:
            raise LrkitValueError(f"{path!r} line {number}: not a step, metrics, event or finding line")
    return RunLog(header, steps, values, skipped, metrics, events, findings, summary)
