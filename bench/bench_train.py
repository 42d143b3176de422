"""The scheduler's share of a compiled training step with tensor LRs (issue 13): lrkit (float path, tensor
path, device mode), torch's scheduler and no scheduler, on the same small model.

    python bench/bench_train.py            # inductor (compiles each optimizer once: about a minute on 2 cores)
    python bench/bench_train.py --quick    # the eager backend and fewer steps (what the smoke test runs)

Each variant trains its own copy of a small MLP (64 -> 256 -> 256 -> 10, batch 128, SGD with momentum, one
param group whose LR is a 0-dim tensor, the ``torch.compile`` recipe): the model's forward and backward are
compiled once, each optimizer's ``step`` is compiled for it. A training step is forward, backward,
``optimizer.step()``, ``zero_grad()`` and ``scheduler.step()``. The variants run in interleaved blocks; the
scheduler's time is measured around ``scheduler.step()`` inside the loop and reported as a share of the
whole step (the fastest block of each). Goal: <= 1% of the step.

- torch: ``torch.optim.lr_scheduler.CosineAnnealingLR`` (torch writes a tensor LR with ``fill_``);
- lrkit float path: ``lrkit.torch.CosineAnnealingLR`` (the same curve, computed in Python floats, written
  with ``fill_``);
- lrkit tensor path: ``ScheduleLR(opt, cosine, tensor_lr=True)``;
- lrkit device mode: ``ScheduleLR(opt, cosine, on_device=True)`` (a step counter and the formula as tensor
  ops; on a CPU those ops are eager kernel launches: see the README).
"""
import argparse
import math
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

import lrkit.torch as K

T_MAX = 10 ** 6


def variants():
    cosine = lrkit.cosine_wave(1.0, 0.0, steps=T_MAX) if hasattr(lrkit, "cosine_wave") else lrkit.cosine(1.0, 0.0,
                                                                                                        steps=T_MAX)
    return {
        "no scheduler": None,
        "torch CosineAnnealingLR": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=T_MAX),
        "lrkit float path (CosineAnnealingLR)": lambda o: K.CosineAnnealingLR(o, T_max=T_MAX),
        "lrkit tensor path (ScheduleLR tensor_lr)": lambda o: K.ScheduleLR(o, cosine, relative=True, tensor_lr=True),
        "lrkit device mode (ScheduleLR on_device)": lambda o: K.ScheduleLR(o, cosine, relative=True, on_device=True),
    }


class Run:
    """One variant: its model copy, optimizer (tensor LR), compiled optimizer step and scheduler."""

    def __init__(self, base, make, backend, x, y):
        self.model = type(base)()
        self.model.load_state_dict(base.state_dict())
        self.forward = torch.compile(self.model, backend=backend)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=torch.tensor(0.01), momentum=0.9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.sched = None if make is None else make(self.opt)
        self.opt_step = torch.compile(self.opt.step, backend=backend)
        self.x, self.y = x, y
        self.sched_time = 0.0

    def step(self):
        loss = torch.nn.functional.cross_entropy(self.forward(self.x), self.y)
        loss.backward()
        self.opt_step()
        self.opt.zero_grad(set_to_none=False)
        if self.sched is not None:
            start = time.perf_counter()
            self.sched.step()
            self.sched_time += time.perf_counter() - start

    def block(self, steps):
        """(seconds per training step, seconds per scheduler step) over ``steps`` steps."""
        self.sched_time = 0.0
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return (time.perf_counter() - start) / steps, self.sched_time / steps


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                       torch.nn.ReLU(), torch.nn.Linear(256, 10))

    def forward(self, x):
        return self.net(x)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the eager backend, fewer steps")
    parser.add_argument("--repeat", type=int, default=None, help="blocks per variant; the fastest is kept")
    parser.add_argument("--backend", default=None, help="torch.compile backend (default: inductor; eager with --quick)")
    args = parser.parse_args(argv)
    backend = args.backend or ("eager" if args.quick else "inductor")
    repeat = args.repeat or (2 if args.quick else 5)
    steps = 20 if args.quick else 200
    for limit in ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit"):  # (one entry per optimizer)
        if hasattr(torch._dynamo.config, limit):
            setattr(torch._dynamo.config, limit, max(64, getattr(torch._dynamo.config, limit)))
    torch.manual_seed(0)
    base = MLP()
    x, y = torch.randn(128, 64), torch.randint(0, 10, (128,))
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} usable cores, Python "
          f"{platform.python_version()}, torch {torch.__version__}, lrkit {lrkit.__version__}; backend {backend}")
    runs = {}
    for name, make in variants().items():
        run = runs[name] = Run(base, make, backend, x, y)
        for _ in range(3):  # compile and warm up
            run.step()
    best = {name: (math.inf, math.inf) for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            total, sched = run.block(steps)
            if total < best[name][0]:
                best[name] = (total, sched)
    lrs = {name: float(run.opt.param_groups[0]["lr"]) for name, run in runs.items()}
    reference = lrs["torch CosineAnnealingLR"]
    for name in runs:
        if name != "no scheduler" and not math.isclose(lrs[name], reference, rel_tol=1e-5):
            raise SystemExit(f"{name} ended at LR {lrs[name]!r}, torch at {reference!r}: not the same schedule")
    plain = best["no scheduler"][0]
    print(f"\ncompiled training step of a small MLP with a tensor LR ({steps} steps a block, fastest of {repeat})")
    header = f"{'variant':42s} {'step':>10s} {'scheduler.step()':>17s} {'share':>7s}  {'goal':8s} status"
    print(header)
    print("-" * len(header))
    missed = []
    for name, (total, sched) in best.items():
        if name == "no scheduler":
            print(f"{name:42s} {total * 1e6:8.1f} us {'':>17s} {'':>7s}")
            continue
        share = sched / total
        met = share <= 0.01
        if not met:
            missed.append(f"{name} ({share:.2%})")
        print(f"{name:42s} {total * 1e6:8.1f} us {sched * 1e6:14.1f} us {share:7.2%}  {'<= 1%':8s} "
              f"{'met' if met else 'NOT MET'}")
    print(f"(the step without a scheduler: {plain * 1e6:.1f} us)")
    print("goals: " + ("all met" if not missed else "NOT MET for " + "; ".join(missed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
