"""``lrkit report RUN.jsonl -o report.html``: the monitor's run log as one interactive, self-contained page."""
import argparse
import sys

EXAMPLES = ["lrkit report lrkit-run.jsonl -o report.html",
            "lrkit report run.jsonl --log --summary"]


def _report(args):
    from ._monitor_log import read_log
    log = read_log(args.run_log)
    if args.summary:
        if log.summary is None:
            print("no audit summary in the log (no plan, or the run did not close its monitor)")
        else:
            for e in log.summary.get("matched", []):
                print(f"matched: {e['key']} of param group {e['group']}: {e['matched']}/{e['observed']} updates")
            for e in log.summary.get("parted", []):
                print(f"parted: {e['key']} of param group {e['group']}: {e['clock']}")
        for f in log.findings:
            print(f"{f.get('finding')}: {f.get('text')}")
    try:
        from .report import report
    except ModuleNotFoundError as error:  # (plotly)
        print(f"lrkit report: {error}", file=sys.stderr)
        return 1
    try:
        path = report(log, args.output, log_scale=args.log, title=args.title)
    except ModuleNotFoundError as error:
        print(f"lrkit report: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}: {len(log.steps):,} updates, {len(log.groups)} param groups, keys {', '.join(log.keys)}, "
          f"{len(log.events)} events, {len(log.findings)} audit findings")
    return 0


def add_report(commands):
    """The ``report`` subcommand on the ``lrkit`` parser's subparsers."""
    report = commands.add_parser(
        "report", help="a monitored run (lrkit.monitor's JSON lines) as one interactive HTML page (needs plotly)",
        description="Planned and applied values per param group, the metrics and the events (restarts, plateau\n"
                    "cuts, resumes, changes of plan, audit findings) of a run logged by lrkit's monitor, with\n"
                    "zoom and hover, in one HTML file that opens without a network. Needs plotly: "
                    "pip install 'lrkit[report]'.",
        epilog="examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES), formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_argument("run_log", metavar="RUN", help="the run log (JSON lines written by lrkit's monitor)")
    report.add_argument("-o", "--output", default="report.html", metavar="FILE", help="the page (default report.html)")
    report.add_argument("--log", action="store_true", help="logarithmic value axes")
    report.add_argument("--title", help="the page's title (default: the run's label, optimizer and length)")
    report.add_argument("--summary", action="store_true", help="also print the audit's summary and findings")
    report.set_defaults(run=_report)
