"""The audit of a run against its plan (numpy only): did the optimizer apply the values the schedules say?

A plan gives, for a hyperparameter ``key`` of param group ``i``, the lrkit schedule the run meant to follow
(absolute values, in optimizer updates; ``plan_per="epoch"`` with ``steps_per_epoch=E``: a schedule in
epochs, stepped at each epoch's end, so update ``k`` uses ``s(k // E)``). The audit reads the values
applied at each update, in chunks (``observe``), and compares them with the plan evaluated in closed
form, vectorised. When they part it tells which mistake explains the values, warning once per kind:

- ``"per-epoch"``: the values follow ``s(k // E)``: the scheduler steps once per epoch of ``E`` updates,
  the plan is per update (Lightning's default ``interval="epoch"``);
- ``"per-update"``: they follow ``s(k * E)`` with ``E = steps_per_epoch``: the scheduler steps every
  update, the plan is per epoch;
- ``"repeated"``: they follow ``s(n * k)``: the scheduler steps ``n`` times per update (Accelerate's
  ``num_processes``, two loops stepping one scheduler);
- ``"not stepped"``: they stay at ``s(0)`` while the plan moves;
- ``"foreign"``: something else wrote the value (a config's default, a hand edit, another scheduler):
  the first update, both values;
- ``"plateau cut"``: from some update on, the values are the plan times a constant factor below 1
  (a plateau controller's cut), which the audit takes into the plan from there;
- ``"decay ended"``: the run goes on after the plan's decay ended (the schedule holds its final value).

Values are compared with a relative tolerance of ``RTOL`` (a float32 tensor LR holds the plan's value
rounded to float32).

>>> import numpy as np, lrkit
>>> audit = Audit({("lr", 0): lrkit.cosine(0.1, 0.0, steps=100)}, warn=False)
>>> plan = lrkit.cosine(0.1, 0.0, steps=100)(np.arange(100.0))
>>> audit.observe(np.arange(100), {("lr", 0): plan[np.arange(100) // 10]})  # stepped every 10 updates
>>> [(f.kind, f.step) for f in audit.findings]
[('per-epoch', 1)]
"""
import dataclasses
import math
import os
import sys
import warnings

import numpy as np

#: relative tolerance of a match (a float32 LR holds the value rounded to 24 bits: 6e-8)
RTOL = 1e-6
#: multiples tried for a scheduler stepped several times per update
REPEATS = (2, 3, 4, 8)
#: the largest multiple searched for at update 1 (a plan per epoch stepped per update)
MAX_MULTIPLE = 100_000
#: updates kept per column to explain a late mismatch: the first HISTORY_HEAD and the last ones
MAX_HISTORY, HISTORY_HEAD = 200_000, 10_000


_LRKIT = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _caller_level():
    """The ``stacklevel`` of the first frame outside lrkit and installed packages (the user's line that
    stepped the optimizer or called the trainer), else the first outside lrkit."""
    frames, frame = [], sys._getframe(2)
    while frame is not None:
        frames.append(frame.f_code.co_filename)
        frame = frame.f_back
    for i, name in enumerate(frames):
        if not name.startswith(_LRKIT) and "site-packages" not in name and not name.startswith("<frozen"):
            return i + 3
    for i, name in enumerate(frames):
        if not name.startswith(_LRKIT):
            return i + 3
    return 2


class MonitorWarning(UserWarning):
    """The values an optimizer applied parted from the run's plan (lrkit's monitor audit)."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """One way the applied values parted from the plan: ``kind`` (see the module), the column
    (``key``, param ``group``), the first update ``step`` where it shows, the value applied there and the
    plan's, and a sentence for a person."""
    kind: str
    key: str
    group: int
    step: int
    applied: float
    planned: float
    text: str

    def to_record(self):
        return {"step": self.step, "finding": self.kind, "key": self.key, "group": self.group,
                "applied": _plain(self.applied), "planned": _plain(self.planned), "text": self.text}


def _plain(x):
    return x if math.isfinite(x) else str(x)


def _close(applied, planned, peak=0.0):
    """Equal within ``RTOL`` of the larger value, or of ``peak`` (the column's largest planned value: a
    float32 formula near the end of a decay is off by float32 ulps of the peak, not of the value)."""
    return np.abs(applied - planned) <= RTOL * np.maximum(np.maximum(np.abs(planned), np.abs(applied)), peak) + 1e-300


class _Column:
    """The audit of one column: its schedule, the hypothesis its values follow, the plateau factors."""

    def __init__(self, schedule):
        self.schedule = schedule
        self.rate = (1, 1)           # update k uses plan position k * num // den
        self.factor = 1.0            # plateau cuts so far
        self.cuts = []               # (step, factor)
        self.foreign = None          # first foreign update
        self.mismatches = 0
        self.matched = 0
        self.steps = []              # the updates observed (for a late explanation; capped)
        self.values = []
        self.pending = None          # index in steps of a mismatch not explained yet
        self.peak = 0.0              # the largest planned value met (the scale of the tolerance)

    def planned(self, steps, rate=None):
        num, den = self.rate if rate is None else rate
        positions = (np.asarray(steps, dtype=np.int64) * num) // den
        values = np.asarray(self.schedule(positions.astype(np.float64)), dtype=np.float64)
        if values.size:
            self.peak = max(self.peak, float(np.max(np.abs(values))))
        return values


class Audit:
    """Compare applied values with a plan: ``plan`` maps ``(key, group)`` to an lrkit schedule.

    ``observe(steps, values)`` takes a chunk of updates (``values[(key, group)]``: the applied values at
    ``steps``); each kind of mistake is warned about once (``MonitorWarning``) and listed in
    ``findings``; ``summary()`` says what matched and what did not. ``total_steps`` (the run's length,
    if known) lets the audit say up front that a decay ends before the run does.
    """

    def __init__(self, plan, steps_per_epoch=None, plan_per="update", total_steps=None, warn=True, on_finding=None):
        if plan_per not in ("update", "epoch"):
            from ._errors import LrkitValueError
            raise LrkitValueError(f"plan_per must be 'update' or 'epoch', got {plan_per!r}")
        if plan_per == "epoch" and not steps_per_epoch:
            from ._errors import LrkitValueError
            raise LrkitValueError("plan_per='epoch' needs steps_per_epoch (the updates of one epoch)")
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        self.plan_per = plan_per
        self.columns = {}
        for column, schedule in plan.items():
            if schedule is None:
                continue
            c = _Column(schedule)
            if plan_per == "epoch":
                c.rate = (1, self.steps_per_epoch)
            self.columns[column] = c
        self.warn = warn
        self.on_finding = on_finding
        self.findings = []
        self._kinds = set()
        self.last_step = None
        self.total_steps = total_steps
        if total_steps is not None:
            self._check_end(int(total_steps) - 1, up_front=True)

    # ---- findings ----------------------------------------------------------------------------------
    def _report(self, finding):
        self.findings.append(finding)
        if self.on_finding is not None:
            self.on_finding(finding)
        if finding.kind not in self._kinds:
            self._kinds.add(finding.kind)
            if self.warn:
                warnings.warn(f"lrkit monitor: {finding.text}", MonitorWarning, stacklevel=_caller_level())

    def _name(self, key, group):
        return f"{key} of param group {group}"

    # ---- observing -----------------------------------------------------------------------------------
    def observe(self, steps, values):
        """Audit the updates ``steps`` (increasing ints) with the applied ``values[(key, group)]``."""
        steps = np.asarray(steps, dtype=np.int64)
        if steps.size == 0:
            return
        for column, c in self.columns.items():
            applied = values.get(column)
            if applied is None:
                continue
            applied = np.asarray(applied, dtype=np.float64)
            keep = np.isfinite(applied)  # (NaN: a value that is not a number, compared nowhere)
            self._observe_column(column, c, steps[keep], applied[keep])
        self.last_step = int(steps[-1])
        self._check_end(self.last_step)

    def _observe_column(self, column, c, steps, applied, final=False):
        first = len(c.steps)
        c.steps.extend(steps.tolist())
        c.values.extend(applied.tolist())
        if c.pending is not None:  # a mismatch waiting for more updates to be explained: from there again
            first, c.pending = c.pending, None
        self._process(column, c, first, final)
        if len(c.steps) > MAX_HISTORY and c.pending is None:  # (the explanations need the start of the run)
            del c.steps[HISTORY_HEAD:HISTORY_HEAD + len(c.steps) - MAX_HISTORY]
            del c.values[HISTORY_HEAD:HISTORY_HEAD + len(c.values) - MAX_HISTORY]

    def _process(self, column, c, first, final):
        steps = np.asarray(c.steps[first:], dtype=np.int64)
        applied = np.asarray(c.values[first:], dtype=np.float64)
        start = 0
        key, group = column
        while start < steps.size:
            s, a = steps[start:], applied[start:]
            planned = c.planned(s) * c.factor
            ok = _close(a, planned, c.peak)
            if ok.all():
                c.matched += s.size
                return
            bad = int(np.argmin(ok))
            c.matched += bad
            k = int(s[bad])
            explained = self._explain(column, c, k, final) if c.foreign is None else False
            if explained is None:  # not enough updates yet to tell: wait for the next chunk
                c.pending = first + start + bad
                return
            if explained:  # the clock changed: audit the rest under it
                start += bad
                continue
            # a plateau cut: the plan times a constant factor < 1 from here on (as far as the chunk shows)
            ratio = a[bad] / planned[bad] if planned[bad] > 0 else math.nan
            if 0 < ratio < 1 and self._cut_holds(c, s[bad:], a[bad:], c.factor * ratio):
                c.factor *= ratio
                c.cuts.append((k, c.factor))
                self._report(Finding("plateau cut", key, group, k, float(a[bad]), float(planned[bad]),
                                     f"update {k}: {self._name(key, group)} was cut to {a[bad]:.6g} "
                                     f"({ratio:.6g} x the plan's {planned[bad]:.6g}; {c.factor:.6g} x the plan "
                                     f"from here on): a plateau cut, not in the schedule"))
                start += bad
                continue
            # something else wrote the value: said once per column; the audit goes on where the values
            # come back to the plan (a scheduler that overwrites an edit at its next step)
            back = np.flatnonzero(ok[bad:])
            end = bad + int(back[0]) if back.size else ok.size
            c.mismatches += end - bad
            if c.foreign is None:
                c.foreign = k
                self._report(Finding("foreign", key, group, k, float(a[bad]), float(planned[bad]),
                                     f"update {k}: {self._name(key, group)} was {a[bad]:.6g}, the plan says "
                                     f"{planned[bad]:.6g}: something other than the scheduler wrote it (a config's "
                                     f"default, a hand edit, another scheduler)"))
            start += end

    def finish(self):
        """Explain what is still waiting for more updates (the end of the run): call once, at the end."""
        for column, c in self.columns.items():
            if c.pending is not None:
                first, c.pending = c.pending, None
                self._process(column, c, first, True)

    def _cut_holds(self, c, steps, applied, factor):
        planned = c.planned(steps) * factor
        ok = _close(applied, planned, c.peak)
        return bool(ok[: min(len(ok), 3)].all())

    def _explain(self, column, c, k, final=False):
        """Update ``k`` parted from the current hypothesis: is there a clock (epochs, repeats, none) under
        which every update seen so far matches? Adopt it and report, or False."""
        if c.cuts or c.rate != (1, 1) and c.rate != (1, self.steps_per_epoch or 0):
            return False
        steps = np.asarray(c.steps, dtype=np.int64)
        values = np.asarray(c.values, dtype=np.float64)
        key, group = column
        name = self._name(key, group)
        for rate, kind in self._candidates(c, steps, values):
            if rate == c.rate:
                continue
            planned = c.planned(steps, rate)
            if not _close(values, planned, c.peak).all():
                continue
            if kind != "not stepped" and _close(planned, c.planned(steps, (0, 1)), c.peak).all():
                if not final:
                    return None  # (as good as "not stepped" so far: wait for the updates that tell them apart)
                continue
            num, den = rate
            if kind == "not stepped" and not final and not self._moved_enough(c, steps, values):
                return None  # (an epoch may not have ended yet)
            old = c.rate
            c.rate = rate
            applied, plan = float(values[steps == k][0]), float(c.planned([k], old)[0])
            if kind == "not stepped":
                text = (f"update {k}: {name} is still {applied:.6g}, its value at update 0, the plan says "
                        f"{plan:.6g}: the scheduler is not stepped (or stepped per epoch, and no epoch has "
                        f"ended yet)")
            elif kind == "per-epoch":
                text = (f"update {k}: {name} is {applied:.6g}, the plan says {plan:.6g}: the value changes every "
                        f"{den} updates, as the plan's value at update k // {den}: the scheduler steps once per "
                        f"epoch, the plan is per update (Lightning: interval='step')")
            elif kind == "per-update":
                text = (f"update {k}: {name} is {applied:.6g}, the plan says {plan:.6g}: the values are the "
                        f"plan's at update k * {num}: the scheduler steps every update, the plan is per epoch "
                        f"({num} updates)")
            else:
                text = (f"update {k}: {name} is {applied:.6g}, the plan says {plan:.6g}: the values are the "
                        f"plan's at update {num} * k: the scheduler steps {num} times per optimizer update "
                        f"(Accelerate's num_processes, two loops stepping one scheduler)")
            self._report(Finding(kind, key, group, k, applied, plan, text))
            return True
        return False

    def _moved_enough(self, c, steps, values):
        """Enough updates to call the values unmoving: past an epoch if known, else 4x the mismatch's step."""
        last = int(steps[-1])
        if self.steps_per_epoch:
            return last >= self.steps_per_epoch
        bad = np.flatnonzero(~_close(values, c.planned(steps), c.peak))
        return bad.size > 0 and last >= 4 * max(int(steps[bad[0]]), 1) and last >= 16

    def _candidates(self, c, steps, values):
        """The clocks to try, most likely first."""
        out = []
        spe = self.steps_per_epoch
        if self.plan_per == "epoch":
            out.append(((spe, spe), "per-update"))  # (plan s(k // E) stepped per update: s(k))
        else:
            if spe:
                out.append(((1, spe), "per-epoch"))
            # the first change of value: an epoch's length
            change = np.flatnonzero(values[1:] != values[:-1])
            if change.size:
                first = int(steps[change[0] + 1])
                if first >= 2 and first != spe:
                    out.append(((1, first), "per-epoch"))
            if spe:
                out.append(((spe, 1), "per-update"))
        if self.plan_per == "update":
            out += [((n, 1), "repeated") for n in REPEATS if n != spe]
            # a multiple found from update 1's value
            at1 = values[steps == 1]
            if at1.size:
                positions = np.arange(2, MAX_MULTIPLE, dtype=np.float64)
                hits = np.flatnonzero(_close(at1[0], np.asarray(c.schedule(positions), dtype=np.float64), c.peak))
                for h in hits[:3]:
                    n = int(positions[h])
                    if n not in REPEATS:
                        out.append(((n, 1), "repeated"))
        out.append(((0, 1), "not stepped"))
        return out

    def _check_end(self, step, up_front=False):
        """The plan's decay ends (its schedule holds its final value) before update ``step``."""
        if "decay ended" in self._kinds:
            return
        for (key, group), c in self.columns.items():
            end = c.schedule.end_step()
            if end is None or c.rate != self._planned_rate():  # (a wrong clock is the finding already)
                continue
            num, den = c.rate
            end_update = math.ceil(end * den / num) if num else math.inf
            if step > end_update:
                final = float(c.schedule(float(end)))
                peak = float(np.max(c.schedule(np.linspace(0.0, float(end), 257))))
                if final >= peak:  # (a warmup to a constant has no decay to end)
                    continue
                when = f"the run has {step + 1} updates" if up_front else f"the run is at update {step}"
                self._report(Finding("decay ended", key, group, end_update, final, final,
                                     f"the plan's decay of {self._name(key, group)} ends at update {end_update} "
                                     f"(then holds {final:.6g}), {when}: the schedule's length is shorter than "
                                     f"the run"))
                return

    # ---- the summary ---------------------------------------------------------------------------------
    def summary(self):
        """``{"matched": [...], "parted": [...], "findings": [...]}``: per column, what matched the plan."""
        matched, parted = [], []
        for (key, group), c in self.columns.items():
            entry = {"key": key, "group": group, "matched": c.matched, "observed": len(c.steps),
                     "clock": self._clock(c), "cuts": [list(x) for x in c.cuts]}
            if c.foreign is not None:
                entry["foreign_from"] = c.foreign
                entry["foreign_updates"] = c.mismatches
            (parted if (c.foreign is not None or c.rate != self._planned_rate() or c.cuts) else matched).append(entry)
        return {"matched": matched, "parted": parted, "findings": [f.to_record() for f in self.findings]}

    def _planned_rate(self):
        return (1, self.steps_per_epoch) if self.plan_per == "epoch" else (1, 1)

    def _clock(self, c):
        num, den = c.rate
        if (num, den) == (1, 1):
            return "per update"
        if num == 0:
            return "not stepped"
        return f"plan position = update * {num} // {den}"

    def summary_text(self):
        """The summary as lines of text."""
        s = self.summary()
        lines = []
        for e in s["matched"]:
            lines.append(f"matched: {e['key']} of param group {e['group']}: {e['matched']}/{e['observed']} updates "
                         f"as planned")
        for e in s["parted"]:
            extra = f", cut at {', '.join(str(k) for k, _ in e['cuts'])}" if e["cuts"] else ""
            extra += (f", {e['foreign_updates']} update(s) with foreign values from update {e['foreign_from']}"
                      if "foreign_from" in e else "")
            lines.append(f"parted: {e['key']} of param group {e['group']}: {e['clock']}{extra}")
        for f in self.findings:
            lines.append(f"  {f.kind}: {f.text}")
        return "\n".join(lines) if lines else "nothing to audit (no plan)"


class TimeScaled:
    """A plan in updates from a schedule written in another time: update ``k`` uses ``schedule(k * per_update)``
    (``per_update = 1 / steps_per_epoch`` for a schedule in epochs evaluated at fractional epochs)."""

    def __init__(self, schedule, per_update):
        self.schedule, self.per_update = schedule, float(per_update)

    def __call__(self, t):
        return self.schedule(np.asarray(t, dtype=np.float64) * self.per_update)

    def end_step(self):
        end = self.schedule.end_step()
        return None if end is None else end / self.per_update

    def events(self, until):
        from ._base import Event
        return [Event(e.step / self.per_update, e.kind, e.source, e.declared)
                for e in self.schedule.events(until * self.per_update)]

    def __repr__(self):
        return repr(self.schedule)
