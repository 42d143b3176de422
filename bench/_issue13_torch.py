"""The sections of ``bench/bench_torch.py`` for issue 13 (scheduler cost at scale): tensor LRs against the
floor of writing them, the float path at 1000 groups against the read+write floor (CyclicLR and OneCycleLR,
which write LR and momentum, also against the floor of those two keys), the plateau stage's
cuts, ReduceLROnPlateau and ChainedScheduler at 1 group, the per-step cost at step 1e3 against 1e7, MultiStepLR's
construction and state_dict per milestone, MultiplicativeLR's memory. Each figure is a ratio of two
timings taken in the same run, printed next to its goal."""
import collections
import gc
import itertools
import math
import operator
import time
import tracemalloc
import warnings

import torch
from torch.optim import lr_scheduler as T

import lrkit
import lrkit.torch as K

SHAPE = lrkit.warmup(lrkit.cosine(1.0, 0.01, steps=10 ** 8), steps=1000)
_fill = torch.Tensor.fill_


def best(fn, steps, repeat):
    """Seconds per call of ``fn``: the fastest of ``repeat`` blocks of ``steps`` calls."""
    out = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        out = min(out, (time.perf_counter() - start) / steps)
    return out


def interleaved(fns, steps, repeat):
    """``best`` of several functions, their blocks interleaved (a change of load hits all of them)."""
    out = [math.inf] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            out[i] = min(out[i], best(fn, steps, 1))
    return out


def optimizer(n, tensor=False, initial=False):
    groups = []
    for i in range(n):
        lr = 0.1 * (1 + i / n)
        group = {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": torch.tensor(lr) if tensor else lr}
        if initial:
            group["initial_lr"] = lr
        groups.append(group)
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9)


def quiet(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make()


class Goals:
    """The rows of the goal table: figure, lrkit's time, the reference's, the ratio, the goal, met?"""

    def __init__(self):
        self.rows = []

    def add(self, figure, ours, reference, ratio, goal, met, unit="us"):
        scale = 1e6 if unit == "us" else 1.0
        self.rows.append((figure, f"{ours * scale:,.1f} {unit}" if unit else f"{ours:,.0f}",
                          f"{reference * scale:,.1f} {unit}" if unit else f"{reference:,.0f}",
                          f"{ratio:.2f}x", goal, "met" if met else "NOT MET"))

    def print(self, title):
        header = ("figure", "lrkit", "reference / floor", "ratio", "goal", "status")
        widths = [max(len(str(r[i])) for r in [header] + self.rows) for i in range(len(header))]
        line = "  ".join("{:<%d}" % w for w in widths)
        print()
        print(title)
        print(line.format(*header).rstrip())
        print("  ".join("-" * w for w in widths))
        for r in self.rows:
            print(line.format(*r).rstrip())


# ---- tensor LRs ---------------------------------------------------------------------------------------
def fill_floor(n):
    """One ``fill_`` per group with the values ready (map at C speed): the least an in-place writer does."""
    lrs = [torch.tensor(0.1) for _ in range(n)]
    rows = itertools.cycle([[0.1 * (1 + i / n) * k for i in range(n)] for k in (1, 2, 3)])
    return lambda: collections.deque(map(_fill, lrs, next(rows)), maxlen=0)


def fused_floor(n):
    """One fused write with the values ready (lists, as for ``fill_floor``): a float64 buffer filled, its views
    copied into the tensors in one ``torch._foreach_copy_`` (lrkit's write from ``_fused.FUSED_FROM`` tensors)."""
    lrs = [torch.tensor(0.1) for _ in range(n)]
    buffer = torch.empty(n, dtype=torch.float64)
    views = list(buffer.unbind())
    rows = itertools.cycle([[0.1 * (1 + i / n) * k for i in range(n)] for k in (1, 2, 3)])

    def write():
        buffer.numpy()[:] = next(rows)
        torch._foreach_copy_(lrs, views)
    return write


def tensor_lrs(goals, sizes, quick, repeat):
    """Blocks of about 1 ms (and eight times as many as elsewhere): on a machine shared with other jobs the
    fastest of many short blocks is the one nobody preempted; every variant and the floors alike. The floor
    is the cheaper of one ``fill_`` per group and one fused write (issue 13)."""
    blocks = repeat * 8
    for n in sizes:
        steps = max(5, (100 if quick else 400) // max(1, n // 20) // 4)
        tensor_opt, device_opt, drop_opt = optimizer(n), optimizer(n), optimizer(n, tensor=True)
        tensor = K.ScheduleLR(tensor_opt, SHAPE, relative=True, tensor_lr=True)
        device = K.ScheduleLR(device_opt, SHAPE, relative=True, on_device=True)
        drop = quiet(lambda: K.CosineAnnealingLR(drop_opt, T_max=10 ** 6))
        for o in (tensor_opt, device_opt, drop_opt):
            o.step()
        ft, fd, fc, f1, f2 = interleaved([tensor.step, device.step, drop.step, fill_floor(n), fused_floor(n)],
                                         steps, blocks)
        ff = min(f1, f2)
        which = "fill_" if f1 <= f2 else "fused"
        goals.add(f"floor: one fused write / one fill_ per group, {n} groups", f2, f1, f2 / f1, "(reported)", True)
        goals.add(f"tensor path ScheduleLR(tensor_lr=True), {n} groups", ft, ff, ft / ff, f"<= 1.5x {which} floor",
                  ft / ff <= 1.5)
        goals.add(f"tensor path CosineAnnealingLR on tensor LRs, {n} groups", fc, ff, fc / ff,
                  f"<= 1.5x {which} floor", fc / ff <= 1.5)
        goals.add(f"device mode ScheduleLR(on_device=True), {n} groups (CPU)", fd, ff, fd / ff,
                  "(reported: see README)", True)


# ---- the float path at 1000 groups, the plateau stage's cuts, ReduceLROnPlateau at 1 group -------------
#: the drop-ins that write two keys of every group at every step (LR and momentum)
TWO_KEYS = ("CyclicLR", "OneCycleLR")


def rw_floor(n, key="lr", groups=None):
    """``bench_torch.floor`` as a step: read ``key`` from ``n`` groups (``groups``, or those of a new optimizer),
    compare with the values written last, write new floats (made beforehand, kept alive, as there), at C speed."""
    groups = optimizer(n).param_groups if groups is None else groups
    get = operator.itemgetter(key)
    rows = itertools.cycle([[0.1 * (1 + i / n) * k for i in range(n)] for k in (1, 2, 3)])
    state = [list(map(get, groups))]

    def step():
        new = next(rows)
        if list(map(get, groups)) != state[0]:
            raise SystemExit("the floor's groups changed")
        collections.deque(map(operator.setitem, groups, itertools.repeat(key), new), maxlen=0)
        state[0] = new
    return step


def two_key_floor(n):
    """The read+write floor of ``"lr"``, then of ``"momentum"``, in the same ``n`` groups."""
    groups = optimizer(n).param_groups
    lr, momentum = rw_floor(n, "lr", groups), rw_floor(n, "momentum", groups)

    def step():
        lr()
        momentum()
    return step


def float_path(goals, results, floors, quick, repeat, rows, stepper):
    """Each drop-in's step at 1000 groups or more against the read+write floor (CyclicLR and OneCycleLR also
    against the floor of the two keys they write), in alternating blocks of their own (as the floor is timed
    alone: the table's lrkit times alternate with torch's on another optimizer of as many groups, whose blocks
    leave the caches cold; those times are printed too)."""
    for (name, n), (t, k) in results.items():
        if n < 1000:
            continue
        opt = optimizer(n)
        step = stepper(name, quiet(lambda: rows[name](K, opt)))
        opt.step()
        for _ in range(3):
            step()
        steps = 5 if quick else 20
        fns = [step, rw_floor(n)] + ([two_key_floor(n)] if name in TWO_KEYS else [])
        k_alone, f, *f2 = interleaved(fns, steps, repeat * 4)
        goals.add(f"float path {name}, {n} groups", k_alone, f, k_alone / f, "<= 2x read+write floor",
                  k_alone / f <= 2.0)
        goals.add(f"  the same, timed in the table (between torch's blocks) vs the floor", k, floors[n],
                  k / floors[n], "(reported)", True)
        if f2:
            goals.add(f"float path {name}, {n} groups, vs the two-key floor (lr, momentum)", k_alone, f2[0],
                      k_alone / f2[0], "(reported: it writes two keys)", True)


def plateau_cuts(goals, n, quick, repeat):
    """ScheduleLR's plateau stage: report() with a cut at every call (factor 0.999, patience 0), against the
    read+write floor, the two in alternating blocks of their own (as for the float path)."""
    opt = optimizer(n)
    sched = K.ScheduleLR(opt, "constant(1.0)", relative=True,
                         plateau=lrkit.plateau(patience=0, factor=0.999, threshold=0.0, cooldown=0, eps=0.0))
    opt.step()
    metric = itertools.count(1.0)  # (worse every time: a cut at every report)
    steps = 20 if quick else 60
    sched.report(0.0)  # (the best so far: every later report is worse)
    t, floor = interleaved([lambda: sched.report(float(next(metric))), rw_floor(n)], steps, repeat)
    if sched.plateau_state.reductions < steps * repeat:
        raise SystemExit(f"plateau stage: {sched.plateau_state.reductions} cuts in {steps * repeat} reports")
    goals.add(f"plateau stage report() with a cut, {n} groups", t, floor, t / floor, "<= 2x read+write floor",
              t / floor <= 2.0)


# ---- no cost that grows with the run ----------------------------------------------------------------------
def _at(make, epoch):
    opt = optimizer(1, initial=True)
    sched = quiet(lambda: make(opt, epoch))
    opt.step()
    return sched


def _multiplicative_at(epoch):
    """MultiplicativeLR at update ``epoch`` from a loaded state (its running product and step)."""
    opt = optimizer(1)
    sched = K.MultiplicativeLR(opt, lambda k: 0.9999999)
    opt.step()
    state = sched.state_dict()
    if epoch > 0:
        state["last_epoch"], state["_step_count"] = epoch, epoch + 1
        state["lrkit"]["products"] = [{"step": epoch, "value": 0.5, "previous": 0.5 / 0.9999999}]
        sched.load_state_dict(state)
    return sched


RUN = [
    ("LambdaLR", lambda o, e: K.LambdaLR(o, lambda k: 1.0 / (1.0 + 1e-7 * k), last_epoch=e)),
    ("StepLR", lambda o, e: K.StepLR(o, step_size=3, gamma=0.9999999, last_epoch=e)),
    ("MultiStepLR", lambda o, e: K.MultiStepLR(o, milestones=[2, 4, 8, 16, 32, 64, 128, 256, 512], gamma=0.9,
                                               last_epoch=e)),
    ("ConstantLR", lambda o, e: K.ConstantLR(o, factor=0.5, total_iters=10 ** 8, last_epoch=e)),
    ("LinearLR", lambda o, e: K.LinearLR(o, start_factor=0.01, total_iters=10 ** 8, last_epoch=e)),
    ("ExponentialLR", lambda o, e: K.ExponentialLR(o, gamma=0.99999999, last_epoch=e)),
    ("PolynomialLR", lambda o, e: K.PolynomialLR(o, total_iters=10 ** 8, power=2.0, last_epoch=e)),
    ("CosineAnnealingLR", lambda o, e: K.CosineAnnealingLR(o, T_max=10 ** 6, eta_min=1e-6, last_epoch=e)),
    ("CyclicLR", lambda o, e: K.CyclicLR(o, base_lr=0.001, max_lr=0.1, step_size_up=2000, last_epoch=e)),
    ("OneCycleLR", lambda o, e: K.OneCycleLR(o, max_lr=0.1, total_steps=10 ** 8, last_epoch=e)),
    ("CosineAnnealingWarmRestarts T_0=10", lambda o, e: K.CosineAnnealingWarmRestarts(o, T_0=10, last_epoch=e)),
    ("CosineAnnealingWarmRestarts T_mult=2", lambda o, e: K.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2,
                                                                                         last_epoch=e)),
    ("ChainedScheduler", lambda o, e: K.ChainedScheduler([K.LinearLR(o, 0.01, total_iters=10 ** 8, last_epoch=e),
                                                          K.ExponentialLR(o, 0.99999999, last_epoch=e)])),
    ("ScheduleLR", lambda o, e: K.ScheduleLR(o, SHAPE, relative=True, last_epoch=e)),
    ("ScheduleLR tensor_lr", lambda o, e: K.ScheduleLR(o, SHAPE, relative=True, tensor_lr=True, last_epoch=e)),
]


def run_length(goals, quick, repeat):
    early, late = 10 ** 3, 10 ** 7
    steps = 200 if quick else 1000
    rows = RUN + [("MultiplicativeLR", None)]
    for name, make in rows:
        if make is None:
            a, b = _multiplicative_at(early), _multiplicative_at(late)
        else:
            a, b = _at(make, early), _at(make, late)
        ta, tb = interleaved([a.step, b.step], steps, repeat)
        goals.add(f"{name}: step at 1e7 vs at 1e3", tb, ta, tb / ta, "<= 1.5x (flat)", tb / ta <= 1.5)


# ---- milestones and memory ---------------------------------------------------------------------------------
def milestones(goals, quick):
    """MultiStepLR's construction and state_dict(), per milestone, at m and 10 m milestones (linear: equal)."""
    small, large = (300, 3000) if quick else (900, 9000)  # (lrkit.MAX_PARTS: 10,000 values, 9,999 milestones)
    per = {}
    for m in (small, large):
        ms = list(range(1, m + 1))
        opt = optimizer(1)
        build = min(_timed(lambda: K.MultiStepLR(opt, ms, 0.9999)) for _ in range(3))
        sched = K.MultiStepLR(opt, ms, 0.9999)
        state = min(_timed(sched.state_dict) for _ in range(5))
        opt_t = optimizer(1)
        torch_build = min(_timed(lambda: T.MultiStepLR(opt_t, ms, 0.9999)) for _ in range(3))
        per[m] = (build / m, state / m, torch_build / m)
    for i, what in enumerate(("construction", "state_dict()")):
        a, b = per[small][i], per[large][i]
        goals.add(f"MultiStepLR {what} per milestone, {large:,} vs {small:,} milestones", b, a, b / a,
                  "<= 1.5x (linear)", b / a <= 1.5, unit="us")
    goals.add(f"MultiStepLR construction vs torch's, {large:,} milestones", per[large][0], per[large][2],
              per[large][0] / per[large][2], "(reported)", True)


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def memory(goals, quick):
    """MultiplicativeLR's memory after n and 10 n updates (tracemalloc: Python objects)."""
    n = 2000 if quick else 20000
    opt = optimizer(1)
    sched = K.MultiplicativeLR(opt, lambda k: 0.9999999)
    opt.step()
    sizes = []
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.take_snapshot()
        for target in (n, 10 * n):
            while sched.last_epoch < target:
                sched.step()
            gc.collect()
            stats = tracemalloc.take_snapshot().compare_to(base, "filename")
            sizes.append(sum(s.size_diff for s in stats if "lrkit" in s.traceback[0].filename))
    finally:
        tracemalloc.stop()
    growth = sizes[1] - sizes[0]
    goals.add(f"MultiplicativeLR memory held by lrkit after {10 * n:,} vs {n:,} updates (bytes)", sizes[1],
              max(sizes[0], 1), sizes[1] / max(sizes[0], 1), "grows by < 1 KB", growth < 1024, unit="")


SECTIONS = ("tensor", "plateau", "run", "milestones")


def main(args, results, floors, sizes, rows, stepper):
    repeat = args.repeat or (3 if args.quick else 7)
    named = set(filter(None, args.only.split(",")))
    only = {x for x in named if x in SECTIONS}  # (--only: rows of the torch table and/or these sections)
    if named and not only:
        only = {"none"}
    goals = Goals()
    if not only or "tensor" in only:
        tensor_lrs(goals, sizes, args.quick, repeat)
    float_path(goals, results, floors, args.quick, repeat, rows, stepper)
    for (name, n), (t, k) in results.items():
        if name in ("ReduceLROnPlateau", "ChainedScheduler") and n == 1:
            goals.add(f"{name} vs torch's, 1 group (torch / lrkit)", k, t, t / k, ">= 1.0x", t / k >= 1.0)
    if not only or "plateau" in only:
        plateau_cuts(goals, max(sizes), args.quick, repeat)
    if not only or "run" in only:
        run_length(goals, args.quick, repeat)
    if not only or "milestones" in only:
        milestones(goals, args.quick)
        memory(goals, args.quick)
    goals.print("issue 13 goals (ratios within this run):")
    missed = [r for r in goals.rows if r[-1] != "met"]
    print("issue 13 goals: " + ("all met" if not missed else f"{len(missed)} NOT MET: " +
                                "; ".join(f"{r[0]} ({r[3]})" for r in missed)))
