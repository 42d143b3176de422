"""``lrkit diff OLD NEW [--at K]``: where two plans differ, the largest jump, the jump at a resume step, and a
chart of both (text, or ``-o file.png`` with matplotlib). Also the clock lines of ``show`` and ``describe``
for a schedule written in tokens or samples (``lrkit.clocked``)."""
import os

from ._clocks import clocked
from ._describe import _num
from ._plans import diff, rejoin
from ._shares import with_shares
from ._spec import parse


def run_spec(spec, args, error):
    """The schedule of ``spec`` for ``show``/``describe``/``plot``: one written with shares of the run
    (``steps='5%'``) is measured against the run's length, ``--steps`` (or ``--epochs`` with
    ``--steps-per-epoch``): ``clocked(schedule, unit='updates', total=N)``."""
    schedule = parse(spec)
    if not isinstance(schedule, with_shares):
        return schedule
    epochs, per_epoch = getattr(args, "epochs", None), getattr(args, "steps_per_epoch", None)
    n = args.steps if args.steps is not None else (
        max(1, -(-epochs * per_epoch // 1)) if epochs is not None and per_epoch is not None else None)
    if n is None:
        raise error(f"{spec!r} has shares of the run ({', '.join(schedule.shares()[:4])}): give the run's length "
                    f"with --steps N (or --epochs E --steps-per-epoch S), or write it in "
                    f"clocked(..., total=N)")
    return clocked(schedule, unit="updates", total=int(n))


def clock_of(schedule):
    """The :class:`clocked` value a schedule is (its time axis), or None."""
    return schedule if isinstance(schedule, clocked) and schedule.unit != "updates" else None


def clock_lines(schedule, steps):
    """What a clocked schedule adds to ``describe``: its unit at the run's end and what cannot work."""
    clock = clock_of(schedule)
    if clock is None:
        return []
    lines = [f"clock: written in {clock.unit}; update {steps - 1:,} is at {_num(clock.time(steps - 1))} {clock.unit}"
             + (f", batch {_num(clock.batch_size(0))} -> {_num(clock.batch_size(steps - 1))} samples"
                if clock.unit in ("samples", "tokens") else "")]
    lines += [f"warning: {w}" for w in clock.warnings()]
    return lines


def _diff(args, run_steps, text_chart, glyphs, CliError):
    old, new = parse(args.old), parse(args.new)
    n = run_steps(args, [old, new])
    at = args.at
    if at is not None and at >= n:
        n = at + 1
    import numpy as np
    d = diff(old, new, steps=np.arange(n, dtype=np.float64), at=at)
    out = [f"old: {old!r}", f"new: {new!r}", ""]
    if d["first"] is None:
        out.append(f"identical over updates 0..{n - 1:,}")
    else:
        out.append(f"they differ from update {_num(d['first'])} to {_num(d['last'])} (of 0..{n - 1:,})")
        ratio = f", {d['new'] / d['old']:.4g}x" if d["old"] else ""
        out.append(f"largest difference at update {_num(d['largest'])}: {d['old']:.6g} -> {d['new']:.6g}{ratio}")
    if at is not None:
        jump = d["at_new"] - d["at_old"]
        out.append(f"resumed at update {_num(at)}: the LR jumps {d['at_old']:.6g} -> {d['at_new']:.6g} "
                   f"({jump:+.6g})" if jump else f"resumed at update {_num(at)}: no jump ({d['at_old']:.6g})")
        if jump:
            try:
                smooth = rejoin(old, new, at)
                out.append(f"on_change='smooth' continues from {smooth(at):.6g} to {smooth(n - 1):.6g} at update "
                           f"{n - 1:,}: {smooth!r}"[:400])
            except Exception as error:  # (the new plan has ended there)
                out.append(f"on_change='smooth' is not possible there: {error}"[:400])
    for name, schedule in (("old", old), ("new", new)):
        out += ["", name] + text_chart(schedule, n, glyphs=glyphs)
    print("\n".join(out))
    if args.output:
        extension = os.path.splitext(args.output)[1].lower()
        if extension not in (".png", ".svg", ".pdf"):
            raise CliError(f"-o/--output must end in .png, .svg, .pdf; got {args.output!r}")
        from . import _plot
        try:
            _plot.save_figure([("old: " + args.old, old), ("new: " + args.new, new)], n, args.output,
                              title=f"two plans over {n:,} updates" + (f", resumed at {_num(at)}" if at else ""))
        except OSError as error:
            raise CliError(f"cannot write {args.output!r}: {error.strerror or error}") from None
        print(f"wrote {args.output}")
    return 0


def _non_negative(text):
    import argparse
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an update count >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an update count >= 0, got {text!r}")
    return value


def add_diff(command, add_run_options, run_steps, text_chart, glyphs, CliError):
    """Register ``lrkit diff`` (``command(name, help, description)`` makes the sub-parser)."""
    p = command("diff", "where two schedules differ, the largest jump, the jump at a resume step",
                "Compare two plans (say, a run's saved schedule and its new one): the updates where\n"
                "they differ, the largest difference, with --at K the LR jump when a run resumes at\n"
                "update K (and where on_change='smooth' would take it), and a chart of both.")
    p.add_argument("old", metavar="OLD", help="the first (saved) schedule, a spec")
    p.add_argument("new", metavar="NEW", help="the second (new) schedule, a spec")
    add_run_options(p)
    p.add_argument("--at", type=_non_negative, metavar="K", help="the update a run resumes at")
    p.add_argument("-o", "--output", metavar="FILE", help="also draw both to a .png/.svg/.pdf (needs matplotlib)")
    p.set_defaults(run=lambda args: _diff(args, run_steps, text_chart, glyphs(), CliError))
