"""lrkit core benchmark: every figure is a ratio of two timings taken in the same run.

    python bench/bench_core.py            # full run (about 20 s on 2 cores)
    python bench/bench_core.py --quick    # smaller sizes, a few seconds (what the smoke test runs)

Options: ``--quick``, ``--repeat N`` (timing repeats, the minimum is kept), ``--no-torch`` (skip row c),
``--rows a,d`` (only those rows: a letter per row, a' with a).

The schedule is ``lrkit.warmup(lrkit.cosine(3e-4, 0.0, steps=9000), steps=1000)`` and the rows are:

(a) one scalar evaluation ``s(t)`` (a Python int) per call, over the steps 0..10999 (warmup, decay and
    hold), against a hand-written ``math`` closed form of the same curve.  Goal: <= 3x.
(b) the whole 10,000,000-step curve ``s(np.arange(10_000_000))`` against a hand-written numpy closed
    form.  Goal: <= 1.5x.
(c) the 1,000,000 values of a cosine annealing curve read from torch, stepping
    ``CosineAnnealingLR(optimizer, T_max=10**6)`` on a real ``torch.optim.SGD`` and reading
    ``optimizer.param_groups[0]["lr"]`` before each ``scheduler.step()``, against
    ``lrkit.cosine(3e-4, 0.0, steps=10**6)(np.arange(10**6))``.  Goal: lrkit >= 200x faster.
    ``optimizer.step()`` runs once before the loop (torch warns otherwise), not per step: the row times
    getting the LR curve, not training. torch is imported only here; without it the row is skipped
    with a message.
(d)-(f), issue 13's, each against hand-written numpy, goal <= 1.5x: short curves (1,000 and 10,000 steps, and
    1,000 steps across the warmup's end), a ``sequence`` of many cosine parts, a ``multistep`` of many
    milestones.

Before timing, each row checks that lrkit and its reference produce the same numbers (so both sides do
the same work) and stops with exit status 1 if they do not. Goals are printed next to the ratios;
missing a goal is reported, not an error: the exit status is 0.
Only lrkit's public API is used.
"""
import argparse
import collections
import math
import os
import platform
import sys
import timeit

import numpy as np

try:
    import lrkit
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))
    import lrkit

PEAK, WARMUP, DECAY = 3e-4, 1000, 9000


def schedule():
    return lrkit.warmup(lrkit.cosine(PEAK, 0.0, steps=DECAY), steps=WARMUP)


# ---- hand-written references ----------------------------------------------------------------------
def reference_scalar(t):
    """Linear warmup 0 -> PEAK over WARMUP steps, then cosine PEAK -> 0 over DECAY steps, then 0."""
    if t < WARMUP:
        return PEAK * t / WARMUP
    k = min(t - WARMUP, DECAY)
    return 0.5 * PEAK * (1.0 + math.cos(math.pi * k / DECAY))


def reference_numpy(steps):
    t = np.asarray(steps, dtype=np.float64)
    k = np.minimum(np.maximum(t - WARMUP, 0.0), DECAY)
    decay = 0.5 * PEAK * (1.0 + np.cos(k * (np.pi / DECAY)))
    return np.where(t < WARMUP, t * (PEAK / WARMUP), decay)


def torch_cosine_curve(torch, n, peak=PEAK):
    """The LR of each of n updates, read off a real optimizer driven by CosineAnnealingLR(T_max=n)."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=peak)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=n, eta_min=0.0)
    optimizer.step()  # once, so that torch does not warn about scheduler.step() before optimizer.step()
    group = optimizer.param_groups[0]
    lrs = []
    append = lrs.append
    for _ in range(n):
        append(group["lr"])
        scheduler.step()
    return lrs


# ---- timing and checks ----------------------------------------------------------------------------
def best(fn, repeat):
    """The fastest of ``repeat`` runs of fn(), in seconds (timeit: garbage collection off)."""
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def best_pair(ours, reference, repeat):
    """Fastest runs of both, the runs interleaved so that a change in machine load hits both sides."""
    times = [(best(ours, 1), best(reference, 1)) for _ in range(repeat)]
    return min(t[0] for t in times), min(t[1] for t in times)


def consume(fn, steps):
    """Call fn on every step with as little loop overhead as Python allows."""
    return lambda: collections.deque(map(fn, steps), maxlen=0)


def check(row, ours, reference, rtol, atol):
    ours, reference = np.asarray(ours, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if ours.shape != reference.shape or not np.allclose(ours, reference, rtol=rtol, atol=atol):
        worst = int(np.argmax(np.abs(ours - reference))) if ours.shape == reference.shape else None
        sys.exit(f"{row}: lrkit and its reference disagree (rtol={rtol}, atol={atol}); "
                 f"worst step {worst}: {ours[worst] if worst is not None else ours.shape} vs "
                 f"{reference[worst] if worst is not None else reference.shape}. Not timing different work.")


def seconds(value):
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    if value >= 1e-6:
        return f"{value * 1e6:.3g} us"
    return f"{value * 1e9:.0f} ns"


def machine(torch_version):
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    load = ", load average %.2f" % os.getloadavg()[0] if hasattr(os, "getloadavg") else ""
    return (f"machine: {platform.system()} {platform.machine()}, {usable} usable core(s) of {cores}{load}; "
            f"Python {platform.python_version()}, numpy {np.__version__}, torch {torch_version}, "
            f"lrkit {getattr(lrkit, '__version__', '?')}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run (a few seconds)")
    parser.add_argument("--repeat", type=int, default=None, help="timing repeats; the minimum is kept")
    parser.add_argument("--no-torch", action="store_true", help="skip row (c)")
    parser.add_argument("--rows", default="abcdef", help="only these rows, e.g. a,d (default: all)")
    args = parser.parse_args(argv)
    want = set(args.rows.replace(",", "").replace("'", "").lower())
    if not want <= set("abcdef"):
        parser.error(f"--rows takes letters among a-f, got {args.rows!r}")
    if args.repeat is not None and args.repeat < 1:
        parser.error(f"--repeat must be a positive integer, got {args.repeat}")

    quick = args.quick
    repeat = args.repeat or (3 if quick else 7)
    scalar_passes = 1 if quick else 20              # passes over the 11,000 steps 0..10999
    curve_steps = 10 ** 6 if quick else 10 ** 7
    torch_steps = 20_000 if quick else 10 ** 6

    torch = None
    torch_note = "not installed"
    if not args.no_torch and "c" in want:
        try:
            import torch
            torch_note = torch.__version__
        except ImportError:
            torch = None
    else:
        torch_note = "not used (--no-torch)" if args.no_torch else "not used (--rows)"

    s = schedule()
    print(f"lrkit core benchmark{' (--quick: sizes reduced, ratios indicative only)' if quick else ''}")
    print(machine(torch_note))
    print(f"schedule: {s!r}")
    print(f"timings: minimum of {repeat} runs; ratio a, b = lrkit / reference (lower is better), "
          f"c = torch / lrkit (higher is better)")

    rows = []

    # (a) scalar path
    steps = list(range(WARMUP + DECAY + 1000)) if "a" in want else []
    check("(a)", [s(t) for t in steps], [reference_scalar(t) for t in steps], rtol=1e-12, atol=1e-18)
    calls = steps * scalar_passes
    if calls:
        ours, ref = (t / len(calls) for t in best_pair(consume(s, calls), consume(reference_scalar, calls), repeat))
        rows.append(("(a) scalar s(t), per call", f"{len(calls):,} calls", seconds(ours), seconds(ref) + " math",
                     ours / ref, "x", "<= 3x", ours / ref <= 3))
        rows.append(("(a') the same, issue 13's goal", f"{len(calls):,} calls", seconds(ours), seconds(ref) + " math",
                     ours / ref, "x", "<= 1.5x", ours / ref <= 1.5))

    # (b) numpy curve
    if "b" in want:
        grid = np.arange(curve_steps)
        ours_curve, ref_curve = s(grid), reference_numpy(grid)
        check("(b)", ours_curve, ref_curve, rtol=1e-12, atol=1e-18)
        del ours_curve, ref_curve
        ours, ref = best_pair(lambda: s(grid), lambda: reference_numpy(grid), repeat)
        rows.append(("(b) numpy curve s(np.arange(n))", f"n = {curve_steps:,}", seconds(ours), seconds(ref) + " numpy",
                     ours / ref, "x", "<= 1.5x", ours / ref <= 1.5))
        del grid
    rows.extend(issue13_rows(s, quick, repeat, want))

    # (c) torch stepping vs the lrkit numpy curve
    if torch is None:
        print_table(rows)
        print(f"(c) skipped: torch {torch_note}")
        return 0
    cosine = lrkit.cosine(PEAK, 0.0, steps=torch_steps)
    grid = np.arange(torch_steps)
    torch_lrs = torch_cosine_curve(torch, torch_steps)
    # torch's recursive (chainable) form drifts from the closed form by rounding: compare against the peak
    check("(c)", cosine(grid), torch_lrs, rtol=0, atol=1e-9 * PEAK)
    ours, theirs = best_pair(lambda: cosine(grid), lambda: torch_cosine_curve(torch, torch_steps),
                             repeat if quick else 2)
    rows.append(("(c) CosineAnnealingLR stepped vs numpy", f"n = {torch_steps:,}", seconds(ours),
                 seconds(theirs) + " torch", theirs / ours, "x faster", ">= 200x", theirs / ours >= 200))
    print_table(rows)
    return 0


def issue13_rows(s, quick, repeat, want="def"):
    """Issue 13: short curves, a sequence of many parts, a long lookup table, each against hand-written numpy."""
    rows = []
    if "d" in want:
        rows.extend(short_rows(s, quick, repeat))
    if "e" in want:
        rows.extend(sequence_rows(quick, repeat))
    if "f" in want:
        rows.extend(table_rows(quick, repeat))
    return rows


def short_rows(s, quick, repeat):
    rows = []
    # short curves: the fixed cost of a call shows. np.arange(1000) lies inside the warmup (lrkit evaluates its
    # ramp only); steps 500..1499 cross the warmup's end (each side on its own 500 steps)
    for work, size, grid in (("(d) short curve s(np.arange(n))", "n = 1,000", np.arange(1000)),
                             ("(d) short curve s(np.arange(n))", "n = 10,000", np.arange(10000)),
                             ("(d) the same across the warmup's end", "steps 500..1,499", np.arange(500, 1500))):
        check(f"(d) {size}", s(grid), reference_numpy(grid), rtol=1e-12, atol=1e-18)
        number = max(1, (200 if quick else 2000) * 1000 // grid.size)
        times = [(min(timeit.repeat(lambda: s(grid), number=number, repeat=1)),
                  min(timeit.repeat(lambda: reference_numpy(grid), number=number, repeat=1))) for _ in range(repeat)]
        ours, ref = (min(t[i] for t in times) / number for i in (0, 1))
        rows.append((work, size, seconds(ours), seconds(ref) + " numpy", ours / ref, "x", "<= 1.5x", ours / ref <= 1.5))
    return rows


def sequence_rows(quick, repeat):
    """A sequence of many parts: each part only on its own steps."""
    rows = []
    parts, length = (200, 1000) if quick else (1000, 1000)
    seq = lrkit.sequence([lrkit.cosine(1.0, 0.1, steps=length)] * parts, boundaries=[length * (i + 1) for i in range(parts - 1)])
    steps = parts * length

    def reference_sequence(t):
        t = np.asarray(t, dtype=np.float64)
        k = np.minimum(np.floor(t / length), parts - 1)
        local = np.minimum(t - k * length, length)
        return 0.1 + 0.9 * ((1.0 + np.cos(np.pi * local / length)) * 0.5)

    grid = np.arange(steps)
    check("(e)", seq(grid), reference_sequence(grid), rtol=1e-12, atol=1e-15)
    ours, ref = best_pair(lambda: seq(grid), lambda: reference_sequence(grid), repeat)
    rows.append((f"(e) sequence of {parts:,} parts", f"n = {steps:,}", seconds(ours), seconds(ref) + " numpy",
                 ours / ref, "x", "<= 1.5x", ours / ref <= 1.5))
    return rows


def table_rows(quick, repeat):
    """A long lookup table: one binary search over the whole curve."""
    rows = []
    m = 2000 if quick else 9999  # (lrkit.MAX_PARTS: 10,000 values)
    milestones = list(range(50, 50 * m + 1, 50))
    table = lrkit.multistep(1.0, milestones=milestones, gamma=0.9999)
    values = np.asarray([0.9999 ** i for i in range(m + 1)])
    bounds = np.asarray(milestones, dtype=np.float64)
    grid = np.arange(10 ** 6 if not quick else 2 * 10 ** 5)

    def reference_table(t):
        return values[np.searchsorted(bounds, np.asarray(t, dtype=np.float64), side="right")]

    check("(f)", table(grid), reference_table(grid), rtol=1e-12, atol=0)
    ours, ref = best_pair(lambda: table(grid), lambda: reference_table(grid), repeat)
    rows.append((f"(f) multistep, {m:,} milestones", f"n = {grid.size:,}", seconds(ours), seconds(ref) + " numpy",
                 ours / ref, "x", "<= 1.5x", ours / ref <= 1.5))
    return rows


def print_table(rows):
    header = ("work", "size", "lrkit", "reference", "ratio", "goal", "status")
    body = [(work, size, ours, ref, f"{ratio:,.2f}{unit}", goal, "met" if met else "NOT MET")
            for work, size, ours, ref, ratio, unit, goal, met in rows]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    line = "  ".join("{:<%d}" % w for w in widths)
    print()
    print(line.format(*header).rstrip())
    print("  ".join("-" * w for w in widths).rstrip())
    for r in body:
        print(line.format(*r).rstrip())


if __name__ == "__main__":
    sys.exit(main())
