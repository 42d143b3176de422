"""``lrkit``: see a schedule before training, and run the seed tutorial end to end."""
import argparse
import json
import sys

from ._errors import LrkitError
from ._spec import parse

EXAMPLE = 'lrkit show "warmup(cosine(0.1, 0.0, steps=900), steps=100)" --steps 1000'


def _demo(args):
    from . import _seed
    print("== TensorFlow: y = x^2 from x = 5, tf.train.exponential_decay(0.1, global_step, 1, 0.96, "
          "staircase=True) (lrkit.tf)")
    print("\n".join(_seed.tf_square_run()))
    for title, schedule in _seed.TORCH_EXAMPLES.items():
        print(f"\n== PyTorch {title}, initial lr 0.1  ->  lrkit: {schedule!r}")
        print("\n".join(_seed.epoch_table(schedule)))
    return 0


def _show(args):
    import numpy as np
    schedule = parse(args.spec)
    if args.json:
        print(json.dumps(schedule.to_config(), indent=2))
        return 0
    steps = np.arange(args.steps)
    values = schedule(steps)
    if args.csv:
        print("step,lr")
        for step, value in zip(steps.tolist(), values.tolist()):
            print(f"{step},{value!r}")
        return 0
    print(repr(schedule))
    picks = sorted({int(round(q * (args.steps - 1))) for q in (0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)})
    print(f"{'step':>10}  lr")
    for step in picks:
        print(f"{step:>10}  {values[step]:.6g}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="lrkit", description="Learning-rate schedules: look before you train.",
                                     epilog=f"example: {EXAMPLE}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the seed tutorial's examples on lrkit",
                               epilog="example: lrkit demo")
    demo.set_defaults(run=_demo)
    show = commands.add_parser("show", help="print a schedule's values", epilog=f"example: {EXAMPLE}")
    show.add_argument("spec", help='a schedule in Python call syntax, e.g. "cosine(0.1, 0.0, steps=100)"')
    show.add_argument("--steps", type=int, default=100, help="number of updates to evaluate (default 100)")
    show.add_argument("--csv", action="store_true", help="print step,lr for every step")
    show.add_argument("--json", action="store_true", help="print the schedule's config")
    show.set_defaults(run=_show)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except LrkitError as error:
        print(f"lrkit: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
