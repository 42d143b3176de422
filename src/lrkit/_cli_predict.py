"""``lrkit predict fit|show|optimize``: fit a loss-curve law to logged runs, predict schedules with it,
find the schedule of lowest predicted final loss (lrkit.predict; scipy for fit and optimize)."""
import argparse
import contextlib
import math
import os
import sys
import warnings

from ._errors import LrkitValueError

EXAMPLES = [
    "lrkit shootout --out runs/ --only constant,cosine        # two runs per seed to fit on",
    "lrkit predict fit runs/shootout.json --only constant,cosine -o law.json",
    'lrkit predict show law.json "wsd(0.01, steps=630, warmup=32, decay=126)" "linear_to_zero(0.01, steps=630)" -o predicted.png',
    "lrkit predict optimize law.json --family wsd",
    "lrkit predict optimize law.json --family free --steps 630 --peak 0.01",
]
INSTALL = "pip install 'lrkit[predict]'"
PLOT_FORMATS = (".png", ".svg", ".pdf")


def _law(path):
    from ._predict_fit import Law
    return Law.load(path)


@contextlib.contextmanager
def _warnings_to_stderr():
    """Extrapolation warnings as one line each on stderr (each message once); others pass through."""
    from ._predict_fit import ExtrapolationWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExtrapolationWarning)
        yield
    shown = []
    for w in caught:
        if not issubclass(w.category, ExtrapolationWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        elif str(w.message) not in shown:
            shown.append(str(w.message))
            print(f"lrkit predict: warning: {w.message}", file=sys.stderr)


def _fit(args):
    from . import _predict_fit as F
    from ._predict_runs import load_runs
    labels = [x.strip() for x in args.only.split(",") if x.strip()] if args.only else None
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else None
    runs = []
    for path in args.runs:
        options = {}
        if labels is not None or seeds is not None:
            options = {"labels": labels, "seeds": seeds}
        try:
            runs += load_runs(path, **options)
        except TypeError as error:  # an lrkit-run file takes no --only/--seeds
            raise LrkitValueError(f"{path}: {error}") from None
    if args.plot and os.path.splitext(args.plot)[1].lower() not in PLOT_FORMATS:
        raise LrkitValueError(f"--plot must end in {', '.join(PLOT_FORMATS)}; got {args.plot!r}")
    try:
        decay = args.decay if args.decay == "fit" else float(args.decay)
    except ValueError:
        raise LrkitValueError(f"--decay must be a number in (0, 1] or 'fit', got {args.decay!r}") from None
    try:
        law = F.fit(runs, args.law, points=args.points, skip=args.skip, decay=decay)
    except ImportError as error:
        print(f"lrkit predict: {error}", file=sys.stderr)
        return 1
    print(law.summary())
    law.save(args.output)
    print(f"wrote {args.output}")
    if args.plot:
        law.plot({r.label: r.lrs for r in runs}, path=args.plot, runs=runs, title="fitted runs and the law's curves")
        print(f"wrote {args.plot}")
    return 0


def _show(args):
    from ._spec import parse
    if args.output and os.path.splitext(args.output)[1].lower() not in PLOT_FORMATS:
        raise LrkitValueError(f"-o/--output must end in {', '.join(PLOT_FORMATS)}; got {args.output!r}")
    law = _law(args.law)
    schedules = {" ".join(spec.split()): parse(spec) for spec in args.specs}
    steps = args.steps
    n = int(law.domain["steps"]) if steps is None else steps
    marks = sorted({max(1, round(q * n)) for q in (0.25, 0.5, 0.75)} | {n})
    with _warnings_to_stderr():
        predictions = [law.predict(schedule, n, at=marks, label=label, extrapolate=args.extrapolate)
                       for label, schedule in schedules.items()]
    print(f"{law.kind.upper()} law from {args.law}: predicted training loss after n updates "
          f"(± the fit's error, {100 * law.error['rms']:.2g}% RMS)")
    print(f"{'schedule':<48}" + "".join(f"{'n=' + format(m, ','):>13}" for m in marks))
    for p in predictions:
        name = p.label if len(p.label) <= 46 else p.label[:43] + "..."
        print(f"{name:<48}" + "".join(f"{v:>13.5g}" for v in p.loss))
        print(f"{'':<48}{'':>{13 * (len(marks) - 1)}}{'±' + format(p.final * p.rel_error, '.2g'):>13}")
    if args.output:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # already said above
            law.plot(schedules, n, path=args.output, extrapolate=args.extrapolate)
        print(f"wrote {args.output}")
    return 0


def _optimize(args):
    import json
    from ._predict_optimize import optimize
    from ._shootout import standard_schedules
    law = _law(args.law)
    try:
        with _warnings_to_stderr():
                found = optimize(law, args.family, steps=args.steps, peak=args.peak, warmup=args.warmup,
                             knots=args.knots, extrapolate=args.extrapolate)
    except ImportError as error:
        print(f"lrkit predict: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"family": found.family, "steps": found.steps, "predicted": found.predicted,
                          "start_predicted": found.start_predicted, "schedule": found.schedule.to_config(),
                          "spec": repr(found.schedule), "params": found.params}, indent=1))
        return 0
    print(found.summary())
    peak = law.domain["peak"] if args.peak is None else args.peak
    print(f"\npredicted final loss of the standard schedules (peak {peak:g}, {found.steps:,} updates):")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, schedule in standard_schedules(peak, found.steps).items():
            print(f"  {name:<16}{law.final_loss(schedule, found.steps, extrapolate=True):.5g}")
    print(f"  {'(optimised)':<16}{found.predicted:.5g}")
    print(f"\n{found.schedule!r}")
    return 0


def _count(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}") from None
    if not (0 <= value < 1 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}")
    return value


def add_predict(commands, _positive_int, _positive_number):
    """The ``predict`` subcommand and its verbs, on the ``lrkit`` parser's subparsers (the argument
    types for positive integers and numbers are the CLI's own, passed in: no import of lrkit.cli here)."""
    from ._predict_fit import DECAY, LAWS, POINTS, SKIP
    from ._predict_optimize import FAMILIES, KNOTS
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES)
    raw = argparse.RawDescriptionHelpFormatter
    predict = commands.add_parser(
        "predict", help="fit a loss-curve law to logged runs; predict schedules; find a better one",
        description="Fit the Multi-Power Law (Luo et al. 2025) or the LR-annealing law (Tissue et al. 2024) to a\n"
                    "few logged runs (schedule + training loss), predict the loss curve of any schedule, and find\n"
                    "the schedule of lowest predicted final loss in a family. Needs scipy: " + INSTALL + ".",
        epilog=epilog, formatter_class=raw)
    verbs = predict.add_subparsers(dest="predict_command", required=True, metavar="{fit,show,optimize}")
    fit = verbs.add_parser("fit", help="fit a law to runs, write it as JSON", epilog=epilog, formatter_class=raw,
                           description="Fit a law to RUNS: shoot-out JSON files (lrkit shootout --out) or runs in\n"
                                       "lrkit's run format (JSON or JSON Lines; see lrkit.predict.load_runs).")
    fit.add_argument("runs", nargs="+", metavar="RUNS", help="files with logged runs")
    fit.add_argument("-o", "--output", default="law.json", metavar="FILE", help="where the law goes (default law.json)")
    fit.add_argument("--law", choices=LAWS, default="mpl", help="mpl (default) or lra")
    fit.add_argument("--only", metavar="LABELS", help="shoot-out schedules to fit on, comma separated (default all)")
    fit.add_argument("--seeds", metavar="SEEDS", help="shoot-out seeds, comma separated (default all; averaged)")
    fit.add_argument("--points", type=_positive_int, default=POINTS, metavar="N",
                     help=f"windows per run (default {POINTS})")
    fit.add_argument("--skip", type=_fraction, default=SKIP, metavar="F",
                     help=f"fraction of each run left out at its start (default {SKIP:g})")
    fit.add_argument("--decay", default=DECAY, metavar="D",
                     help="the lra law's momentum decay in (0, 1], or 'fit' (default: the best of 0.9 to 0.999)")
    fit.add_argument("--plot", metavar="FIG", help="also draw the runs and the fitted curves (.png, .svg, .pdf)")
    fit.set_defaults(run=_fit)
    show = verbs.add_parser("show", help="predicted loss curves of schedules (a table, a plot)", epilog=epilog,
                            formatter_class=raw,
                            description="Print the predicted training loss of each SPEC at 25/50/75% of the run and "
                                        "at its end,\nwith the fit's error; -o draws the LR and loss curves.")
    show.add_argument("law", metavar="LAW", help="a law written by lrkit predict fit")
    show.add_argument("specs", nargs="+", metavar="SPEC", help="schedules in lrkit's call syntax")
    show.add_argument("--steps", type=_positive_int, metavar="N", help="updates (default: the fitted runs' length)")
    show.add_argument("-o", "--output", metavar="FIG", help="draw the curves (.png, .svg, .pdf)")
    show.add_argument("--extrapolate", action="store_true", help="predict far outside the fitted range anyway")
    show.set_defaults(run=_show)
    opt = verbs.add_parser("optimize", help="the schedule of lowest predicted final loss in a family",
                           epilog=epilog, formatter_class=raw,
                           description="wsd: cooldown length, shape and final LR of lrkit.wsd; warmup: the warmup of\n"
                                       "lrkit.linear_to_zero; free: any non-increasing curve after the warmup (the MPL\n"
                                       "paper's), as lrkit.piecewise_linear. Prints the schedule as a spec.")
    opt.add_argument("law", metavar="LAW", help="a law written by lrkit predict fit")
    opt.add_argument("--family", choices=FAMILIES, default="wsd", help="default wsd")
    opt.add_argument("--steps", type=_positive_int, metavar="N", help="updates (default: the fitted runs' length)")
    opt.add_argument("--peak", type=_positive_number, metavar="LR", help="peak LR (default: the highest fitted one)")
    opt.add_argument("--warmup", type=_count, metavar="W", help="warmup updates (default 5%% of the run)")
    opt.add_argument("--knots", type=_positive_int, default=KNOTS, metavar="K",
                     help=f"segments of the free-form schedule (default {KNOTS})")
    opt.add_argument("--extrapolate", action="store_true", help="optimise far outside the fitted range anyway")
    opt.add_argument("--json", action="store_true", help="print the result as JSON (the schedule as its config)")
    opt.set_defaults(run=_optimize)

