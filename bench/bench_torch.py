"""lrkit.torch benchmark: ``scheduler.step()`` of each drop-in against the torch class it replaces, with 1,
100 and 1000 param groups. Every figure is a ratio of two timings taken in the same run.

    python bench/bench_torch.py            # full run (about 30 s on 2 cores)
    python bench/bench_torch.py --quick    # fewer repeats and steps (tests/test_torch_bench.py runs a subset)

Options: ``--quick``, ``--repeat N`` (timing repeats, the minimum is kept), ``--groups 1,100,1000``,
``--only StepLR,OneCycleLR`` (rows of the table; ``tensor``, ``plateau``, ``run``, ``milestones``: the
sections of issue 13), ``--no-issue13``.

After the table against torch, the goals of issue 13 (``bench/_issue13_torch.py``): tensor LRs against
the cheaper of two floors, one ``fill_`` per group and one fused write (ScheduleLR's tensor path, a drop-in
on tensor LRs, device mode), the float path of every drop-in at 1000 groups against the read+write floor
(<= 2x), ReduceLROnPlateau and ChainedScheduler against torch at 1 group (>= 1x), the plateau stage's
``report()`` with a cut at the largest group count (<= 2x the floor), the per-step cost at update 1e7
against update 1e3 (flat: <= 1.5x), MultiStepLR's construction and ``state_dict()`` per milestone (linear)
and MultiplicativeLR's memory.

Each row builds two identical ``torch.optim.SGD(momentum=0.9)`` optimizers with ``n`` param groups (each
group its own float LR, as when layers get different LRs), one driven by ``torch.optim.lr_scheduler.X``
and one by ``lrkit.torch.X`` with the same arguments. Before timing, the row checks that both write the
same LRs (and momenta) into the groups for the first steps it times (up to 60; to 1e-12 relative; exit
status 1 otherwise), so that both sides do the same work. Then it times blocks of consecutive ``step()`` calls,
alternating torch and lrkit, and keeps the fastest block of each (per step). ``optimizer.step()`` runs
once before, not in the timed loop (the rows time the scheduler, not training). ``ScheduleLR`` (the native
adapter, a shape relative to each group's initial LR) is timed against torch's ``LambdaLR`` computing the
same values. Goals: never slower than torch with 1 group, >= 10x faster with 1000 groups; a missed goal
is reported, not an error.

The last line is a reference, not a scheduler: the time to read every group's ``"lr"``, compare it with
the value written last (to see a hand edit, as torch's chainable classes do) and write a new float into
it, at C speed: the least a drop-in that keeps torch's observable behaviour must do per step. A torch
class whose step costs less than 10x that floor cannot be beaten 10x by such a drop-in; a missed goal
says so.
"""
import argparse
import collections
import itertools
import math
import operator
import os
import platform
import sys
import time
import warnings

try:
    import lrkit
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))
    import lrkit

import torch
from torch.optim import lr_scheduler as T

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # (bench/_issue13_torch.py)

import lrkit.torch as K

_SHAPE = lrkit.warmup(lrkit.cosine(1.0, 0.01, steps=10 ** 7), steps=1000)


def _shape(epoch):
    return _SHAPE(epoch)


#: (name, arguments for both classes, how step() is called)
ROWS = [
    ("LambdaLR", lambda M, o: M.LambdaLR(o, lr_lambda=lambda e: 0.9999 ** e)),
    ("StepLR", lambda M, o: M.StepLR(o, step_size=3, gamma=0.99)),
    ("MultiStepLR", lambda M, o: M.MultiStepLR(o, milestones=[2, 4, 8, 16, 32, 64, 128, 256, 512], gamma=0.9)),
    ("ConstantLR", lambda M, o: M.ConstantLR(o, factor=0.5, total_iters=10 ** 6)),
    ("LinearLR", lambda M, o: M.LinearLR(o, start_factor=0.01, total_iters=10 ** 6)),
    ("ExponentialLR", lambda M, o: M.ExponentialLR(o, gamma=0.9999)),
    ("PolynomialLR", lambda M, o: M.PolynomialLR(o, total_iters=10 ** 6, power=2.0)),
    ("CosineAnnealingLR", lambda M, o: M.CosineAnnealingLR(o, T_max=10 ** 6, eta_min=1e-6)),
    ("CyclicLR", lambda M, o: M.CyclicLR(o, base_lr=0.001, max_lr=0.1, step_size_up=2000)),
    ("OneCycleLR", lambda M, o: M.OneCycleLR(o, max_lr=0.1, total_steps=10 ** 7)),
    ("CosineAnnealingWarmRestarts", lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=1000, T_mult=2)),
    ("ReduceLROnPlateau", lambda M, o: M.ReduceLROnPlateau(o, patience=5, factor=0.999, eps=0.0)),
    ("SequentialLR", lambda M, o: M.SequentialLR(o, [M.LinearLR(o, 0.01, total_iters=50),
                                                     M.ExponentialLR(o, 0.9999)], milestones=[50])),
    ("ChainedScheduler", lambda M, o: M.ChainedScheduler([M.LinearLR(o, 0.01, total_iters=10 ** 6),
                                                          M.ExponentialLR(o, 0.9999)])),
    ("ScheduleLR vs LambdaLR", lambda M, o: (K.ScheduleLR(o, _SHAPE, relative=True) if M is K
                                            else T.LambdaLR(o, _shape))),
]


def optimizer(n):
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1 * (1 + i / n)} for i in range(n)]
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9)


def stepper(name, sched):
    if name == "ReduceLROnPlateau":
        return lambda: sched.step(1.0)
    return sched.step


def values(opt):
    return [(float(g["lr"]), g["momentum"]) for g in opt.param_groups]


def check(name, make, n, steps):
    """Both libraries write the same values for the steps timed (else the comparison is meaningless)."""
    opt_t, opt_k = optimizer(n), optimizer(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st, sk = stepper(name, make(T, opt_t)), stepper(name, make(K, opt_k))
        for k in range(steps):
            for (a, ma), (b, mb) in zip(values(opt_t), values(opt_k)):
                if not (abs(a - b) <= 1e-12 * abs(a) and abs(ma - mb) <= 1e-12):
                    raise SystemExit(f"{name} with {n} groups: torch {a!r} / {ma!r} != lrkit {b!r} / {mb!r} at step {k}")
            st()
            sk()


def timing(name, make, n, steps, repeat):
    """Seconds per step() for torch and lrkit: the fastest of ``repeat`` alternating blocks."""
    runs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for M in (T, K):
            opt = optimizer(n)
            runs[M] = stepper(name, make(M, opt))
            opt.step()  # once, after building (torch warns otherwise)
    best = {T: math.inf, K: math.inf}
    for _ in range(repeat):
        for M in (T, K):
            step = runs[M]
            start = time.perf_counter()
            for _ in range(steps):
                step()
            best[M] = min(best[M], (time.perf_counter() - start) / steps)
    return best[T], best[K]


def floor(n, steps, repeat):
    """Seconds per step of the least a closed-form scheduler that sees hand edits must do in Python: read
    ``"lr"`` from ``n`` param groups, compare with the values written last, write a new float into each,
    all three at C speed (``map`` over ``itemgetter`` / ``setitem``; the new floats are made before the
    clock starts, so computing them is not counted)."""
    groups = optimizer(n).param_groups
    get = operator.itemgetter("lr")
    best = math.inf
    for _ in range(repeat):
        rows = [[0.1 * (1 + i / n) * (k + 2) for i in range(n)] for k in range(steps)]
        last = [g["lr"] for g in groups]
        start = time.perf_counter()
        for new in rows:
            if list(map(get, groups)) != last:
                break
            collections.deque(map(operator.setitem, groups, itertools.repeat("lr"), new), maxlen=0)
            last = new
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--groups", default="1,100,1000")
    parser.add_argument("--only", default="")
    parser.add_argument("--no-issue13", action="store_true", help="only the table against torch")
    args = parser.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 7)
    sizes = [int(x) for x in args.groups.split(",")]
    only = set(filter(None, args.only.split(",")))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {platform.machine()}, {cores} usable cores, Python {platform.python_version()}, "
          f"torch {torch.__version__}, lrkit {lrkit.__version__}")
    print("scheduler.step() time per call, torch / lrkit (ratio > 1: lrkit faster); goals: >= 1x at 1 group, "
          ">= 10x at 1000 groups")
    header = f"{'scheduler':30s}" + "".join(f"{f'{n} groups':>30s}" for n in sizes)
    print(header)
    floors = {n: floor(n, max(10, (200 if args.quick else 600) // max(1, n // 20)), repeat) for n in sizes}
    missed = []
    results = {}  # (name, n) -> torch and lrkit seconds per step, for the issue 13 sections
    for name, make in ROWS:
        if only and name.split()[0] not in only:
            continue
        cells = []
        for n in sizes:
            steps = max(10, (200 if args.quick else 600) // max(1, n // 20))
            check(name, make, n, min(steps, 60))
            t, k = timing(name, make, n, steps, repeat)
            ratio = t / k
            results[name, n] = (t, k)
            cells.append(f"{t * 1e6:9.1f} / {k * 1e6:7.1f} us {ratio:6.2f}x")
            if n == 1 and ratio < 1.0:
                missed.append(f"{name} at 1 group: {ratio:.2f}x")
            elif n >= 1000 and ratio < 10.0:
                reach = t / floors[n]
                missed.append(f"{name} at {n} groups: {ratio:.2f}x" +
                              (f" (out of reach: torch takes only {reach:.1f}x the floor)" if reach < 10 else
                               f" (torch takes {reach:.1f}x the floor)"))
        print(f"{name:30s}" + "".join(f"{c:>30s}" for c in cells), flush=True)
    cells = [f"{floors[n] * 1e6:9.1f} us" for n in sizes]
    print(f"{'(read + compare + write floor)':30s}" + "".join(f"{c:>30s}" for c in cells))
    print("goals: " + ("all met" if not missed else "NOT MET for " + "; ".join(missed)))
    if not args.no_issue13:
        import _issue13_torch
        _issue13_torch.main(args, results, floors, sizes, dict(ROWS), stepper)
    return 0


if __name__ == "__main__":
    sys.exit(main())
