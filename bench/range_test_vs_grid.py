"""Does the LR range test pick a good peak LR? A check on the shoot-out's built-in task.

    python bench/range_test_vs_grid.py            # full: 10 epochs, 5 peaks + the suggestion, 2 seeds (~2-4 min)
    python bench/range_test_vs_grid.py --quick    # 1 epoch on 400 digits, 2 peaks, 1 seed (seconds)

1. ``lrkit.torch.find_lr`` (100 steps, 1e-7 to 10, exponential sweep) on the task's tiny CNN with AdamW
   and its augmented batches; the model is restored afterwards, so the run is a pure measurement.
2. one-cycle (``lrkit.one_cycle(peak, steps)``, torch OneCycleLR's phases) is trained at each peak of a
   half-decade grid and at the suggested peak itself, ``--seeds`` seeds each, same budget.
3. Goal: the grid peak nearest the suggestion (in log space) is one of the two best grid peaks by mean
   test accuracy. The accuracy of one-cycle at the suggested peak is printed next to the grid.

Missing the goal is reported (``NOT MET``), not an error: the exit status is 0 (``--strict``: 1).
"""
import argparse
import os
import platform
import sys
import time

try:
    import lrkit  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))

from lrkit.torch import _shootout_task as task  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch on 400 digits, 2 peaks, 1 seed")
    parser.add_argument("--epochs", type=float, default=None, help=f"epochs per run (default {task.EPOCHS})")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per peak (default 2)")
    parser.add_argument("--peaks", default=None, help="comma-separated grid (default " +
                        ",".join(f"{p:g}" for p in task.GRID) + ")")
    parser.add_argument("--train-size", type=int, default=None, help="training digits (default 4000)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the goal is not met")
    args = parser.parse_args(argv)
    quick = args.quick
    epochs = args.epochs or (1 if quick else task.EPOCHS)
    seeds = args.seeds or (1 if quick else 2)
    peaks = tuple(float(p) for p in args.peaks.split(",")) if args.peaks else ((1e-3, 1e-2) if quick else task.GRID)
    train_size = args.train_size or (400 if quick else None)
    import torch
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (1 torch thread per run), python "
          f"{platform.python_version()}, torch {torch.__version__}")
    began = time.perf_counter()
    out = task.range_test_vs_grid(peaks=peaks, epochs=epochs, seeds=seeds, train_size=train_size,
                                  find_lr_steps=40 if quick else 100)
    print(f"range test: {out['finder'].summary().splitlines()[0]}")
    shown = ", ".join(f"{k} {v:.3g}" for k, v in out["suggestions"].items())
    print(f"suggestions: {shown}; used: {out['suggestion']:.3g} (valley)")
    rows = {r.label: r for r in out["result"].rows()}
    print(f"\none-cycle, {out['result'].steps} updates, {seeds} seed(s): mean test accuracy (%)")
    for rank, peak in enumerate(out["ranked"], 1):
        row = rows[f"one_cycle@{peak:g}"]
        mark = "  <- nearest the suggestion" if peak == out["nearest"] else ""
        print(f"  #{rank}  peak {peak:<8g} {row.mean:6.2f}" + (f" ± {row.std:.2f}" if row.n > 1 else "") + mark)
    label = next(k for k in rows if k.endswith("(range test)"))
    row = rows[label]
    print(f"      peak {out['suggestion']:<8.3g} {row.mean:6.2f}" + (f" ± {row.std:.2f}" if row.n > 1 else "")
          + "  (the suggestion itself)")
    goal = "met" if out["passed"] else "NOT MET"
    print(f"\ngoal: the suggestion's nearest grid peak ({out['nearest']:g}) is among the best two "
          f"({', '.join(f'{p:g}' for p in out['ranked'][:2])})  {goal}")
    print(f"wall time {time.perf_counter() - began:.0f} s (on a shared machine: timings are noisy)")
    return 1 if args.strict and not out["passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
