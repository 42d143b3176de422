"""What ``lrkit describe`` says about a schedule before a run: its phases, key points and the
mistakes a practitioner wants to hear about before a long job.

Everything here is computed from the schedule's numpy curve (the values every update of the run
uses) and from its structure (where its phases begin, which cycles and milestones it holds). No
framework and no plotting library is imported.

>>> import lrkit
>>> s = lrkit.warmup(lrkit.cosine(0.1, 0.0, steps=900), steps=100)
>>> end_step(s), default_steps(s)
(1000.0, 1001)
>>> [e.step for e in events(s)]
[100.0, 1000.0]
>>> report = describe(s, steps=1000)
>>> report.warmup_end, report.peak_step, round(report.area, 4)
(100, 100, 50.0)
"""
import dataclasses
import math

import numpy as np

from ._base import Schedule
from ._combinators import add, clip, mul, repeat, sequence, warmup
from ._errors import LrkitValueError
from ._recipes import Recipe, multistep, step_decay
from ._shapes import (constant, cosine, cosine_restarts, cyclic, exponential, inverse_sqrt,
                      inverse_time, linear, linear_cosine, natural_exp, one_minus_sqrt, piecewise_constant,
                      piecewise_linear, polynomial)

#: Warmups shorter than this many updates are flagged for Adam-family optimizers on long runs.
MIN_ADAM_WARMUP = 300
#: ... when the run has at least this many updates (a short fine-tune needs no long warmup).
LONG_RUN = 3000
#: A final LR above this fraction of the peak is "far from zero".
FINAL_FRACTION = 0.1
#: describe evaluates every update of the run; beyond this it asks for a shorter run.
MAX_STEPS = 20_000_000
#: At most this many periodic events are generated (a tiny period over a huge run).
MAX_EVENTS = 100_000
ADAM_FAMILY = ("adam", "adamw", "nadam", "radam", "adamax", "lamb", "lion", "adafactor")


# ---------------------------------------------------------------------------------------------
# structure: where a schedule ends, and where its phases begin
# ---------------------------------------------------------------------------------------------
def end_step(schedule):
    """The step from which ``schedule`` holds its final value, or None if it never settles
    (exponential decay, cycles, restarts, a user function).

    >>> import lrkit
    >>> end_step(lrkit.one_cycle(0.1, steps=100)), end_step(lrkit.exponential(0.1, 0.9))
    (99.0, None)
    """
    s = schedule
    if isinstance(s, constant):
        return 0.0
    if isinstance(s, (linear, cosine, one_minus_sqrt, linear_cosine)):
        return float(s.steps)
    if isinstance(s, polynomial):
        return None if s.cycle else float(s.steps)
    if isinstance(s, exponential):
        return 0.0 if s.gamma == 1 or s.start == 0 else None
    if isinstance(s, (inverse_time, natural_exp)):
        return 0.0 if s.rate == 0 or s.start == 0 else None
    if isinstance(s, inverse_sqrt):
        return 0.0 if s.start == 0 else None
    if isinstance(s, piecewise_constant):
        return _switch_step(s.boundaries[-1], s.switch) if s.boundaries else 0.0
    if isinstance(s, piecewise_linear):
        return float(s.points[-1][0])
    if isinstance(s, sequence):
        last = end_step(s.schedules[-1])
        return None if last is None else float(s.boundaries[-1]) + last
    if isinstance(s, warmup):
        inner = end_step(s.schedule)
        return None if inner is None else float(s.steps) + inner
    if isinstance(s, (mul, add)):
        ends = [end_step(p) if isinstance(p, Schedule) else 0.0 for p in (s.left, s.right)]
        return None if None in ends else max(ends)
    if isinstance(s, clip):
        return end_step(s.schedule)
    if isinstance(s, repeat):
        return 0.0 if end_step(s.schedule) == 0 else None
    if isinstance(s, Recipe):
        return end_step(s.expanded)
    return None  # cyclic, cosine_restarts, function, and anything unknown


def _switch_step(boundary, switch):
    """The first step that sees the new value: ``boundary`` ("at"), the next whole step ("after")."""
    return float(boundary) if switch == "at" else float(math.floor(boundary) + 1)


def default_steps(schedule):
    """A run length that shows the whole curve: up to and including the step where the schedule
    reaches its final value, or a few periods / decades of decay for one that never settles.

    >>> import lrkit
    >>> default_steps(lrkit.cyclic(0.01, 0.1, steps_up=5)), default_steps(lrkit.step_decay(0.1, period=30))
    (30, 150)
    """
    end = end_step(schedule)
    if end is not None:
        return max(2, int(math.ceil(end)) + 1)
    return max(2, min(int(math.ceil(_span(schedule))), 10_000_000))


def _span(s):
    """How long a run must be to see what a never-settling schedule does."""
    end = end_step(s)
    if end is not None:
        return end + 1
    if isinstance(s, cyclic):
        return 3 * s._total
    if isinstance(s, cosine_restarts):
        return 4 * s.period if s.period_mult == 1 else s.cycle_start(3)
    if isinstance(s, repeat):
        return 3 * s.period
    if isinstance(s, polynomial):  # cycle=True
        return 3 * s.steps
    if isinstance(s, step_decay):
        return 5 * s.period
    if isinstance(s, exponential):
        if s.gamma == 0:
            return 2 * s.steps
        if s.gamma > 1:
            return 10 * s.steps
        if s.staircase:
            return s.steps * max(5, math.ceil(math.log(0.01) / math.log(s.gamma)) + 1)
        return s.steps * math.log(0.01) / math.log(s.gamma)  # down to 1% of start
    if isinstance(s, inverse_time):
        return s.steps * 99 / s.rate if s.rate else 100  # down to 1% of start
    if isinstance(s, natural_exp):
        return s.steps * math.log(100) / s.rate if s.rate else 100
    if isinstance(s, inverse_sqrt):
        return 99 * s.steps  # down to 10% of start
    if isinstance(s, sequence):
        return s.boundaries[-1] + _span(s.schedules[-1])
    if isinstance(s, warmup):
        return s.steps + _span(s.schedule)
    if isinstance(s, (mul, add)):
        return max(_span(p) if isinstance(p, Schedule) else 1 for p in (s.left, s.right))
    if isinstance(s, clip):
        return _span(s.schedule)
    if isinstance(s, Recipe):
        return _span(s.expanded)
    return 100  # function and anything unknown


@dataclasses.dataclass(frozen=True)
class Event:
    """A structural point of a schedule: ``step`` (first update that sees it), ``kind`` and the
    ``source`` node's name. ``declared`` events are numbers the user wrote (milestones, boundaries,
    warmup and decay lengths), as opposed to the periodic ones a cycle generates."""
    step: float
    kind: str
    source: str
    declared: bool = True


def events(schedule, until=None):
    """The structural events of ``schedule`` in step order (phase boundaries for the tables and
    the plot markers). Periodic events (cycles, staircase steps) are generated up to ``until``
    (default: ``default_steps``); declared ones are all returned, even beyond ``until``.
    """
    if until is None:
        until = default_steps(schedule)
    found = []
    _walk(schedule, 0.0, math.inf, float(until), found, cycles=None)
    found = [e for e in found if e.step > 0]
    seen, unique = set(), []
    for e in sorted(found, key=lambda e: (e.step, not e.declared)):
        if e.step not in seen:
            seen.add(e.step)
            unique.append(e)
    return unique


def marks(schedule, steps):
    """The phase boundaries inside a run of ``steps`` updates: sorted steps in ``(0, steps)``."""
    return [e.step for e in events(schedule, until=steps) if e.step < steps]


@dataclasses.dataclass(frozen=True)
class _Cycle:
    """A periodic node at ``offset`` (outer step of its local 0), used until ``stop``."""
    node: Schedule
    offset: float
    stop: float
    starts: object  # function(k) -> local start of cycle k


def _periodic(first, period, until, offset, kind, source, found):
    count = 0
    k = first
    while offset + k * period < until and count < MAX_EVENTS:
        found.append(Event(offset + k * period, kind, source, declared=False))
        k += 1
        count += 1


def _walk(s, offset, stop, until, found, cycles):
    """Append the events of node ``s`` (whose local step 0 is the outer step ``offset`` and which
    is used until outer step ``stop``) to ``found``; periodic nodes go to ``cycles``."""
    name = type(s).__name__
    horizon = min(stop, until)

    def add_event(local, kind, declared=True):
        found.append(Event(offset + float(local), kind, name, declared))

    if isinstance(s, (linear, cosine, one_minus_sqrt, linear_cosine)):
        add_event(s.steps, "end")
    elif isinstance(s, polynomial):
        if s.cycle:  # TF's cycle: the horizon grows at t > k * steps, so t = k * steps still ends
            k = 1
            while offset + math.floor(k * s.steps) + 1 < horizon and k <= MAX_EVENTS:
                found.append(Event(offset + math.floor(k * s.steps) + 1, "restart", name, declared=False))
                k += 1
            _cycle(cycles, s, offset, stop, lambda k, p=s.steps: k * p + (1 if k else 0))
        else:
            add_event(s.steps, "end")
    elif isinstance(s, (exponential, inverse_time, natural_exp)):
        if s.staircase:
            _periodic(1, s.steps, horizon, offset, "decay step", name, found)
    elif isinstance(s, piecewise_constant):
        for b in s.boundaries:
            add_event(_switch_step(b, s.switch), "milestone")
    elif isinstance(s, piecewise_linear):
        for step, _ in s.points:
            add_event(step, "point")
    elif isinstance(s, cosine_restarts):
        k = 1
        while offset + s.cycle_start(k) < horizon and k <= MAX_EVENTS:
            found.append(Event(offset + s.cycle_start(k), "restart", name, declared=False))
            k += 1
        _cycle(cycles, s, offset, stop, lambda k, s=s: s.cycle_start(k))
    elif isinstance(s, cyclic):
        up, total = float(s.steps_up), s._total
        k = 0
        while offset + k * total < horizon and k < MAX_EVENTS:
            found.append(Event(offset + k * total + up, "peak", name, declared=False))
            if k:
                found.append(Event(offset + k * total, "trough", name, declared=False))
            k += 1
        _cycle(cycles, s, offset, stop, lambda k, p=total: k * p)
    elif isinstance(s, sequence):
        starts = (0.0,) + tuple(float(b) for b in s.boundaries)
        ends = tuple(float(b) for b in s.boundaries) + (math.inf,)
        for b in s.boundaries:
            add_event(b, "switch")
        for part, begin, end in zip(s.schedules, starts, ends):
            inner = []
            _walk(part, offset + begin, min(stop, offset + end), until, inner, cycles)
            found.extend(e for e in inner if e.step < offset + end)
    elif isinstance(s, warmup):
        add_event(s.steps, "warmup end")
        _walk(s.schedule, offset + float(s.steps), stop, until, found, cycles)
    elif isinstance(s, repeat):
        _periodic(1, s.period, horizon, offset, "restart", name, found)
        inner = []
        _walk(s.schedule, 0.0, float(s.period), float(s.period), inner, None)
        local = sorted({e.step for e in inner if 0 < e.step < s.period})
        k = 0
        while local and offset + k * s.period < horizon and k < MAX_EVENTS:
            for step in local:
                found.append(Event(offset + k * s.period + step, "phase", name, declared=False))
            k += 1
        _cycle(cycles, s, offset, stop, lambda k, p=float(s.period): k * p)
    elif isinstance(s, (mul, add)):
        for part in (s.left, s.right):
            if isinstance(part, Schedule):
                _walk(part, offset, stop, until, found, cycles)
    elif isinstance(s, clip):
        _walk(s.schedule, offset, stop, until, found, cycles)
    elif isinstance(s, step_decay):
        _periodic(1, s.period, horizon, offset, "decay step", name, found)
    elif isinstance(s, multistep):
        for m in s.milestones:
            add_event(m, "milestone")
    elif isinstance(s, Recipe):
        _walk(s.expanded, offset, stop, until, found, cycles)
    # constant, function, inverse_sqrt and unknown nodes: no events


def _cycle(cycles, node, offset, stop, starts):
    if cycles is not None:
        cycles.append(_Cycle(node, offset, stop, starts))


def cycles(schedule):
    """The periodic nodes of ``schedule`` (outside ``repeat``) with where they start and stop."""
    found = []
    _walk(schedule, 0.0, math.inf, 0.0, [], found)
    return found


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Phase:
    """Updates ``first`` .. ``last`` (inclusive) between two structural boundaries."""
    first: int
    last: int
    start_lr: float
    end_lr: float
    low: float
    high: float
    shape: str  # "rise", "decay", "flat" or "rise+decay"


@dataclasses.dataclass(frozen=True)
class Report:
    schedule: Schedule
    steps: int              # updates in the run: 0 .. steps - 1
    start: float            # lr(0)
    peak: float
    peak_step: int
    peak_held_to: int       # last step of the run of peak values that starts at peak_step
    warmup_end: int         # first step after the initial rise (0: no warmup)
    final: float            # lr(steps - 1)
    minimum: float
    minimum_step: int
    area: float             # sum of lr over the run's updates
    end: object             # end_step(schedule) (None: never settles)
    phases: tuple
    warnings: tuple


def curve(schedule, steps):
    """``schedule`` at updates 0 .. steps - 1, float64."""
    if steps > MAX_STEPS:
        raise LrkitValueError(f"steps must be <= {MAX_STEPS:,} to describe every update, got {steps:,}")
    return schedule(np.arange(steps, dtype=np.float64))


def _shape(values, tol):
    if values.size < 2 or float(values.max() - values.min()) <= tol:
        return "flat"
    diff = np.diff(values)
    if np.all(diff >= -tol):
        return "rise"
    if np.all(diff <= tol):
        return "decay"
    return "rise+decay"


def _warmup_end(values, tol):
    """Index where the initial rise stops (0 when the curve does not start by rising)."""
    if values.size < 2 or values[1] <= values[0] + tol:
        return 0
    stops = np.nonzero(np.diff(values) <= tol)[0]
    return int(stops[0]) if stops.size else int(values.size - 1)


def describe(schedule, steps=None, optimizer=None):
    """The :class:`Report` of ``schedule`` over a run of ``steps`` updates (default:
    :func:`default_steps`). ``optimizer`` (e.g. ``"adamw"``, ``"sgd"``; None: unknown) tunes the
    warmup lint, which applies to Adam-family optimizers."""
    if steps is None:
        steps = default_steps(schedule)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise LrkitValueError(f"steps must be a positive integer, got {steps!r}")
    values = curve(schedule, steps)
    peak_step = int(np.argmax(values))
    peak = float(values[peak_step])
    tol = 1e-12 * max(abs(peak), 1e-300)
    held = peak_step
    below = np.nonzero(values[peak_step:] < peak - tol)[0]
    held = peak_step + int(below[0]) - 1 if below.size else steps - 1
    minimum_step = int(np.argmin(values))
    phases = _phases(values, marks(schedule, steps), tol)
    report = Report(
        schedule=schedule, steps=steps, start=float(values[0]), peak=peak, peak_step=peak_step,
        peak_held_to=held, warmup_end=_warmup_end(values, tol), final=float(values[-1]),
        minimum=float(values[minimum_step]), minimum_step=minimum_step, area=float(np.sum(values)),
        end=end_step(schedule), phases=tuple(phases), warnings=())
    return dataclasses.replace(report, warnings=tuple(lint(report, values, optimizer)))


def _phases(values, boundaries, tol):
    starts = sorted({0} | {int(math.ceil(b)) for b in boundaries if 0 < math.ceil(b) < values.size})
    phases = []
    for first, nxt in zip(starts, starts[1:] + [values.size]):
        part = values[first:nxt]
        phases.append(Phase(first, nxt - 1, float(part[0]), float(part[-1]), float(part.min()),
                            float(part.max()), _shape(part, tol)))
    return phases


def lint(report, values, optimizer=None):
    """The warnings for ``report`` (one sentence each)."""
    out = []
    n, peak = report.steps, report.peak
    last = n - 1
    # 1. the LR rises again after its decay (torch's CosineAnnealingLR past T_max, a cut cycle)
    tail = values[report.peak_step:]
    if tail.size > 1 and peak > 0 and not cycles(report.schedule):  # cycles rise on purpose
        low = float(tail.min())
        q = report.peak_step + int(np.nonzero(tail <= low + 1e-9 * peak)[0][-1])
        if q < last:
            top = q + int(np.argmax(values[q:]))
            if values[top] - values[q] > 0.01 * peak:
                out.append(f"the LR rises after its decay ends: {_num(values[q])} at step {q}, then up to "
                           f"{_num(values[top])} at step {top} (as torch's CosineAnnealingLR does past "
                           f"T_max); end the run at step {q} or make the schedule hold")
    # 2. the schedule ends long before the run
    if report.end is not None and report.end < last and peak > 0:
        held = last - int(math.ceil(report.end)) + 1
        if held > 0.05 * n and report.end > 0:
            out.append(f"the schedule ends at step {_num(report.end)}: the last {held:,} updates "
                       f"({held / n:.0%} of the run) all use lr={_num(values[-1])}")
    # 3. the final LR is far from zero
    if peak > 0 and report.final > FINAL_FRACTION * peak:
        out.append(f"the final LR {_num(report.final)} is {report.final / peak:.0%} of the peak "
                   f"{_num(peak)}: far from zero (most recipes end at <= 10% of the peak, often 0)")
    # 4. a short warmup for Adam-family optimizers on a long run
    family = optimizer is None or optimizer.lower() in ADAM_FAMILY
    if family and n >= LONG_RUN and report.warmup_end < MIN_ADAM_WARMUP:
        what = (f"a warmup of {report.warmup_end} steps" if report.warmup_end else
                "no warmup (the first update uses lr=" + _num(report.start) + ")")
        who = "Adam-family optimizers" if optimizer is None else optimizer
        hint = " (say --optimizer sgd if you do not use one)" if optimizer is None else ""
        out.append(f"{what} is short for {who} on a {n:,}-step run: use a few hundred steps or more "
                   f"(a rule of thumb is 2/(1-beta2) = 2000 for beta2=0.999){hint}")
    # 5. milestones and declared ends beyond the run
    for e in events(report.schedule, until=n):
        # a decay that ends at step n fits a run of n updates (its end value is never used)
        if e.declared and (e.step > n if e.kind == "end" else e.step > last):
            what = {"end": f"{e.source} ends", "warmup end": "the warmup ends",
                    "switch": "the sequence switches", "milestone": f"the {e.source} milestone is",
                    "point": f"the {e.source} point is"}.get(e.kind, f"{e.source} {e.kind} is")
            if e.kind in ("end", "warmup end"):
                out.append(f"{what} at step {_num(e.step)}, after the run's last step {last:,}: "
                           f"the run stops before it gets there (lr={_num(values[-1])})")
            else:
                out.append(f"{what} at step {_num(e.step)}, beyond the run's last step {last:,}: "
                           f"it never takes effect")
    # 6. cycles that do not fit the run
    for c in cycles(report.schedule):
        stop = min(c.stop, float(n))
        length = stop - c.offset
        if length <= 0:
            continue
        k = 0
        while c.starts(k + 1) < length and k < MAX_EVENTS:
            k += 1
        begin, end = c.starts(k), c.starts(k + 1)
        done = (length - begin) / (end - begin)
        name = type(c.node).__name__
        if k == 0 and done < 1 - 1e-9:
            out.append(f"{name}'s first cycle ({_num(end)} steps) is longer than the "
                       f"{_num(length)} steps it runs for: the cycle never completes")
        elif done < 1 - 1e-9 and length - begin >= 1:
            fit = c.offset + begin
            out.append(f"the run ends {done:.0%} into {name}'s cycle {k + 1} (steps {_num(c.offset + begin)}"
                       f" to {_num(c.offset + end - 1)}): stop at step {_num(fit)} or "
                       f"{_num(c.offset + end)}, or fit the period to the run")
    return out


def _num(x):
    """A short, readable number: 0.1, 3.05e-07, 1,000."""
    x = float(x)
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e15:
        return f"{int(x):,}" if abs(x) >= 10_000 else str(int(x))
    return f"{x:.3g}"


# ---------------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------------
def format_report(report, steps_per_epoch=None, max_phases=12):
    """The lines ``lrkit describe`` prints (each fits 80 columns)."""
    n = report.steps
    epoch = (lambda k: f"  epoch {_num(k / steps_per_epoch)}") if steps_per_epoch else (lambda k: "")
    lines = []
    end = ("never settles (cycles, restarts or endless decay)" if report.end is None
           else f"holds its final value from step {_num(report.end)}")
    lines.extend(_wrap(f"run: {n:,} updates (steps 0 to {n - 1:,}); the schedule {end}", "", "     "))
    lines.append("")
    held = ""
    if report.peak_held_to > report.peak_step:
        held = f"  (held to step {report.peak_held_to:,})"
    warm = (f"step {report.warmup_end:,}{epoch(report.warmup_end)}" if report.warmup_end
            else "none (does not start by rising)")
    rows = [
        ("start", _num(report.start), "step 0"),
        ("peak", _num(report.peak), f"step {report.peak_step:,}{epoch(report.peak_step)}{held}"),
        ("warmup end", _num(values_at(report, report.warmup_end)) if report.warmup_end else "", warm),
        ("minimum", _num(report.minimum), f"step {report.minimum_step:,}{epoch(report.minimum_step)}"),
        ("final", _num(report.final), f"step {n - 1:,}{epoch(n - 1)}"),
        ("area", f"{report.area:.4g}", f"sum of lr over the {n:,} updates (mean {_num(report.area / n)})"),
    ]
    for label, value, where in rows:
        lines.append(_fit(f"  {label:<11} {value:<10} {where}"))
    lines.append("")
    phases = list(report.phases)
    lines.append(f"phases ({len(phases)}):")
    lines.append(f"  {'#':>3}  {'steps':<23} {'lr':<24} shape")
    shown = phases if len(phases) <= max_phases else phases[:max_phases - 2] + [None] + phases[-1:]
    index = {id(p): i for i, p in enumerate(phases, 1)}
    for p in shown:
        if p is None:
            lines.append(f"  {'':>3}  ... {len(phases) - max_phases + 1} more phases ...")
            continue
        span = f"{p.first:,} to {p.last:,}" if p.last > p.first else f"{p.first:,}"
        lr = f"{_num(p.start_lr)} -> {_num(p.end_lr)}" if p.shape != "flat" else _num(p.start_lr)
        if p.shape == "rise+decay":
            lr = f"{_num(p.low)} .. {_num(p.high)}"
        lines.append(_fit(f"  {index[id(p)]:>3}  {span:<23} {lr:<24} {p.shape}"))
    lines.append("")
    if report.warnings:
        lines.append(f"warnings ({len(report.warnings)}):")
        for w in report.warnings:
            lines.extend(_wrap(w, first="  ! ", rest="    "))
    else:
        lines.append("warnings: none")
    return lines


def values_at(report, step):
    """The report's schedule at ``step``."""
    return report.schedule(step)


def _fit(line, width=80):
    return line if len(line) <= width else line[:width - 3] + "..."


def _wrap(text, first, rest, width=80):
    import textwrap
    return textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False, break_long_words=True)
