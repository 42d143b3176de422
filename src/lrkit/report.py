"""``lrkit report RUN.jsonl -o report.html``: one self-contained interactive page of a monitored run.

The page shows, per recorded hyperparameter, the values applied to each param group (solid) and the
planned ones (dashed, the plan's schedules from the log's header, evaluated in closed form), the
metrics, and the events: the plan's own (restarts, milestones, phase ends), the run's (resumes, plateau
cuts, changes of plan, skipped steps) and the audit's findings, as markers with their text on hover.
It is drawn with plotly (``pip install 'lrkit[report]'``), whose JavaScript is inlined in the page: it
opens without a network. Zoom with the mouse, double-click to reset.

>>> import lrkit, os, tempfile
>>> from lrkit.monitor import Recorder
>>> path = os.path.join(tempfile.mkdtemp(), "run.jsonl")
>>> rec = Recorder(["lr"], ["pg1"], plan={("lr", 0): lrkit.cosine(0.1, 0.0, steps=10)}, log=path)
>>> for k in range(10):
...     rec.record(k, [[float(lrkit.cosine(0.1, 0.0, steps=10)(k))]])
>>> rec.close()
>>> html = report(path, path + ".html")
>>> os.path.getsize(html) > 1_000_000  # (plotly.js inlined)
True
"""
import math

import numpy as np

from ._errors import LrkitValueError
from ._monitor_log import RunLog, read_log

__all__ = ["report", "figure"]

INSTALL = "pip install 'lrkit[report]'"
#: plotly's default colours, one per param group
_COLOURS = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880", "#ff97ff",
            "#fecb52")
#: at most this many plan events are drawn per column (a cyclic plan over a long run)
MAX_PLAN_EVENTS = 200


def _plotly():
    try:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("plotly"):
            raise
        raise ModuleNotFoundError(f"lrkit report needs plotly: {INSTALL}", name="plotly") from None
    return go, make_subplots


def _planned(log, key, group, steps):
    """The plan's values of ``key`` in ``group`` at ``steps`` (None: no plan), and its schedule."""
    specs = log.plan.get(key)
    if not specs or group >= len(specs) or specs[group] is None:
        return None, None
    from ._spec import as_schedule
    schedule = as_schedule(specs[group], f"the log's plan[{key!r}][{group}]")
    positions = np.asarray(steps, dtype=np.int64)
    if log.header.get("plan_per") == "epoch" and log.header.get("steps_per_epoch"):
        positions = positions // int(log.header["steps_per_epoch"])
    times = positions.astype(np.float64)
    per_update = (log.header.get("plan_time") or {}).get(key)
    if per_update and group < len(per_update) and isinstance(per_update[group], (int, float)):
        times = times * float(per_update[group])  # (a schedule in epochs, at fractional epochs)
    return np.asarray(schedule(times), dtype=np.float64), schedule


def figure(log, log_scale=False, title=None):
    """The plotly figure of a run log (a :class:`lrkit.monitor.RunLog` or a path)."""
    go, make_subplots = _plotly()
    if not isinstance(log, RunLog):
        log = read_log(log)
    keys, constants = [], []
    for k in log.keys:
        columns = [[v for v in col if v == v] for col in log.values[k]]
        if not any(columns):
            continue
        if k in log.plan or any(min(col) != max(col) for col in columns if col):
            keys.append(k)
        else:  # (a key that never changed: said in the title, not drawn)
            constants.append(f"{k} {', '.join(f'{col[0]:g}' for col in columns if col)}")
    metrics = list(log.metrics)
    rows = len(keys) + (1 if metrics else 0)
    if rows == 0:
        raise LrkitValueError("the run log has no values and no metrics to show")
    titles = [f"{k} (applied: solid, planned: dashed)" for k in keys] + (["metrics"] if metrics else [])
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06, subplot_titles=titles)
    steps = np.asarray(log.steps, dtype=np.int64)
    groups = log.groups
    for row, key in enumerate(keys, 1):
        for i, name in enumerate(groups):
            colour = _COLOURS[i % len(_COLOURS)]
            values = np.asarray(log.values[key][i], dtype=np.float64)
            fig.add_trace(go.Scatter(x=steps, y=values, mode="lines", name=f"{key} {name} applied",
                                     line=dict(color=colour), legendgroup=f"{key}{i}",
                                     hovertemplate=f"{name} update %{{x}}<br>{key} applied %{{y:.6g}}<extra></extra>"),
                          row=row, col=1)
            planned, schedule = _planned(log, key, i, steps) if steps.size else (None, None)
            if planned is not None:
                fig.add_trace(go.Scatter(x=steps, y=planned, mode="lines", name=f"{key} {name} planned",
                                         line=dict(color=colour, dash="dash"), legendgroup=f"{key}{i}",
                                         hovertemplate=f"{name} update %{{x}}<br>{key} planned %{{y:.6g}}"
                                                       f"<extra>{_short(repr(schedule))}</extra>"),
                              row=row, col=1)
                _plan_events(go, fig, log, schedule, steps, planned, row, colour, f"{key} {name}")
        if log_scale:
            fig.update_yaxes(type="log", row=row, col=1)
    for name in metrics:
        s, v = log.metrics[name]
        fig.add_trace(go.Scatter(x=s, y=[x if isinstance(x, (int, float)) else math.nan for x in v], mode="lines",
                                 name=name, hovertemplate=f"update %{{x}}<br>{name} %{{y:.6g}}<extra></extra>"),
                      row=rows, col=1)
    _run_events(go, fig, log, keys, steps)
    fig.update_xaxes(title_text="optimizer update", row=rows, col=1)
    constant_text = f"<br><sup>constant: {'; '.join(constants)}</sup>" if constants else ""
    fig.update_layout(title=title or f"lrkit run: {log.label} ({log.header.get('optimizer', '')}, "
                                     f"{len(groups)} param group{'s' if len(groups) != 1 else ''}, "
                                     f"{len(log.steps):,} updates){constant_text}",
                      hovermode="closest", height=max(420, 300 * rows), template="plotly_white")
    return fig


def _short(text, n=80):
    return text if len(text) <= n else text[:n - 3] + "..."


def _plan_events(go, fig, log, schedule, steps, planned, row, colour, label):
    from ._describe import events
    last = int(steps[-1])
    try:
        found = [e for e in events(schedule, until=last + 1) if e.step <= last][:MAX_PLAN_EVENTS]
    except Exception:  # (a plan without events: nothing to mark)
        return
    if not found:
        return
    x = [e.step for e in found]
    y = np.interp(x, steps, planned)
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", marker=dict(symbol="diamond-open", size=9, color=colour),
                             name=f"{label} plan events", text=[f"plan: {e.kind} ({e.source})" for e in found],
                             hovertemplate="update %{x}<br>%{text}<extra></extra>"), row=row, col=1)


def _run_events(go, fig, log, keys, steps):
    """Resumes, plateau cuts, changes of plan, skipped steps and the audit's findings, on the first row."""
    marks = [(e.get("step"), e.get("event"), e.get("text", ""), "triangle-up", e.get("group", 0)) for e in log.events]
    marks += [(f.get("step"), f.get("finding"), f.get("text", ""), "x", f.get("group", 0)) for f in log.findings]
    marks += [(k, "skipped", "GradScaler skipped this optimizer step", "circle-open", 0) for k in log.skipped]
    marks = [m for m in marks if isinstance(m[0], (int, float))]
    if not marks or not keys or not steps.size:
        return
    columns = [np.asarray(col, dtype=np.float64) for col in log.values[keys[0]]]
    for symbol, colour, name in (("triangle-up", "#2a9d8f", "events"), ("x", "#d62728", "audit findings"),
                                 ("circle-open", "#7f7f7f", "skipped steps")):
        chosen = [m for m in marks if m[3] == symbol]
        if not chosen:
            continue
        x = [m[0] for m in chosen]
        y = [float(np.interp(m[0], steps, columns[m[4] if isinstance(m[4], int) and 0 <= m[4] < len(columns) else 0]))
             for m in chosen]
        fig.add_trace(go.Scatter(x=x, y=y, mode="markers", name=name,
                                 marker=dict(symbol=symbol, size=12, color=colour, line=dict(width=2, color=colour)),
                                 text=[f"{m[1]}: {m[2]}" for m in chosen],
                                 hovertemplate="update %{x}<br>%{text}<extra></extra>"), row=1, col=1)


def report(log, output="report.html", log_scale=False, title=None):
    """Write the page of a run log (a path or a :class:`lrkit.monitor.RunLog`) to ``output``; returns its path."""
    fig = figure(log, log_scale=log_scale, title=title)
    fig.write_html(output, include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    return output
