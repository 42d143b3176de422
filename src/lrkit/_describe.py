"""What ``lrkit describe`` says about a schedule before a run: its phases, key points and the
mistakes a practitioner wants to hear about before a long job.

Everything here is computed from the schedule's numpy curve (the values every update of the run
uses) and from what the schedule says about its structure (``Schedule.end_step``, ``span``,
``events``, ``cycles``): nothing here knows a schedule's type. No framework and no plotting library
is imported.

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

from ._base import MAX_EVENTS, Schedule
from ._errors import LrkitValueError

#: Warmups shorter than this many updates are flagged for Adam-family optimizers on long runs.
MIN_ADAM_WARMUP = 300
#: ... when the run has at least this many updates (a short fine-tune needs no long warmup).
LONG_RUN = 3000
#: A final LR above this fraction of the peak is "far from zero".
FINAL_FRACTION = 0.1
#: describe evaluates every update of the run; beyond this it asks for a shorter run.
MAX_STEPS = 20_000_000
#: The longest run shown by default (a decay so slow that its 1% point is further away).
MAX_DEFAULT_STEPS = 10_000_000
ADAM_FAMILY = ("adam", "adamw", "nadam", "radam", "adamax", "lamb", "lion", "adafactor")


# ---------------------------------------------------------------------------------------------
# structure: each schedule says where it ends and where its phases begin (Schedule's protocol)
# ---------------------------------------------------------------------------------------------
def end_step(schedule):
    """The step from which ``schedule`` holds its final value, or None if it never settles
    (exponential decay, cycles, restarts, a user function).

    >>> import lrkit
    >>> end_step(lrkit.one_cycle(0.1, steps=100)), end_step(lrkit.exponential(0.1, 0.9))
    (99.0, None)
    """
    return schedule.end_step()


def default_steps(schedule):
    """A run length that shows the whole curve: up to and including the step where the schedule
    reaches its final value, or a few periods / decades of decay for one that never settles.

    >>> import lrkit
    >>> default_steps(lrkit.cyclic(0.01, 0.1, steps_up=5)), default_steps(lrkit.step_decay(0.1, period=30))
    (30, 150)
    """
    end = schedule.end_step()
    if end is not None:
        return max(2, int(math.ceil(end)) + 1)
    return max(2, int(math.ceil(min(schedule.span(), MAX_DEFAULT_STEPS))))


def events(schedule, until=None):
    """The structural events of ``schedule`` in step order, one per step (phase boundaries for the
    tables and the plot markers). Periodic events (cycles, staircase steps) are generated up to
    ``until`` (default: ``default_steps``); declared ones are all returned, even beyond ``until``.
    """
    if until is None:
        until = default_steps(schedule)
    found = [e for e in schedule.events(float(until)) if e.step > 0]
    seen, unique = set(), []
    for e in sorted(found, key=lambda e: (e.step, not e.declared)):
        if e.step not in seen:
            seen.add(e.step)
            unique.append(e)
    return unique


def marks(schedule, steps):
    """The phase boundaries inside a run of ``steps`` updates: sorted steps in ``(0, steps)``."""
    return [e.step for e in events(schedule, until=steps) if e.step < steps]


def cycles(schedule):
    """The periodic parts of ``schedule`` (outside ``repeat``) with where they start and stop."""
    return schedule.cycles()


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
