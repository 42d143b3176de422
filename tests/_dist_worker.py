"""Helper of tests/test_torch_distributed.py: one launch of 3 ranks (gloo, CPU) runs every phase.

``python tests/_dist_worker.py OUTDIR`` starts 3 processes with ``torch.multiprocessing`` (start method
``fork`` by default, so torch is imported once; ``LRKIT_DIST_START_METHOD=spawn`` for fresh
interpreters, as torchrun gives). Each phase has its own process group (a ``file://`` store in OUTDIR)
and writes ``OUTDIR/<phase>-<rank>.json``:

A. 3 ranks train two tiny DDP models for STEPS steps: one under lrkit (ScheduleLR warmup -> plateau stage
   on its first layer, reduce="mean"; the ReduceLROnPlateau drop-in on its last layer, reduce="max"),
   one under torch's own ReduceLROnPlateau. Every rank reports its own metric (rank-dependent noise, and
   one NaN). A third lrkit scheduler, reduce=None, drives a lone parameter.
B. 2 ranks train the lrkit model (ScheduleLR reduce="min", drop-in reduce="mean"); after update
   SAVE_AT they save model, optimizers and schedulers with torch.distributed.checkpoint (DCP) and, on
   rank 0, with torch.save; they go on to STEPS.
C. 2 ranks (a new process group, new objects) resume from the DCP checkpoint and go on to STEPS.
D. No process group. Rank 0 resumes from the DCP checkpoint, rank 1 from the torch.save file, each as
   a single process fed the reduced metric (its validation covers every shard).

The test module imports this file too: ``metric``, ``build_lrkit`` and ``LOOP`` are the one definition of
the schedules, the metrics and the call order that the single-process references replay;
``expected_reduce`` is the reduction rule written from the issue, independently of lrkit's code.
"""
import datetime
import json
import math
import os
import random
import sys
import warnings

import torch

import lrkit
import lrkit.torch as K

STEPS = 200
SAVE_AT = 99  # the DCP / torch.save checkpoint holds the state after this update
EVERY = 5  # an evaluation (metric report) after every 5th update
WARMUP = 20
NAN_EPOCH = 7  # rank 1 reports NaN at this evaluation
PLATEAU = dict(factor=0.5, patience=2, threshold=0.01)


def metric(rank, epoch):
    """Rank ``rank``'s validation metric at evaluation ``epoch``: a falling curve plus rank noise."""
    if rank == 1 and epoch == NAN_EPOCH:
        return float("nan")
    noise = random.Random(f"{rank}/{epoch}").uniform(-0.04, 0.04)
    return 1.0 / (1.0 + 0.3 * epoch) + 0.2 + noise


def build_lrkit(opt_first, opt_last, reduce_schedule, reduce_dropin):
    """The lrkit schedulers under test: warmup -> plateau stage, and the ReduceLROnPlateau drop-in."""
    schedule = K.ScheduleLR(opt_first, lrkit.warmup(lrkit.constant(0.1), steps=WARMUP),
                            plateau=lrkit.plateau(nonfinite="bad", min_lr=1e-4, **PLATEAU), plateau_start=WARMUP,
                            reduce=reduce_schedule)
    dropin = K.ReduceLROnPlateau(opt_last, min_lr=1e-4, reduce=reduce_dropin, **PLATEAU)
    return schedule, dropin


def lr_hex(optimizer):
    return float(optimizer.param_groups[0]["lr"]).hex()


def expected_reduce(values, how):
    """The reduced metric as the issue defines it (written here from the rule, not from lrkit's code):
    NaN if any rank's is NaN, else the correctly rounded mean (fsum / n), the min or the max."""
    if any(math.isnan(v) for v in values):
        return math.nan
    return {"mean": lambda: math.fsum(values) / len(values), "min": lambda: min(values),
            "max": lambda: max(values), None: lambda: values[0]}[how]()


def LOOP(start, stop, optimizers, schedule, reporters, train=None):
    """The call order of every run: per update ``train()`` (forward/backward), each optimizer steps,
    then ScheduleLR; after every EVERY-th update an evaluation: each ``(report, feed)`` of
    ``reporters`` gets ``report(feed(epoch))``. Returns the LRs after each update (hex)."""
    trace = []
    for step in range(start, stop):
        if train is not None:
            train(step)
        for opt in optimizers:
            opt.step()
            opt.zero_grad()
        schedule.step()
        if step % EVERY == EVERY - 1:
            for report, feed in reporters:
                report(feed(step // EVERY))
        trace.append([lr_hex(opt) for opt in optimizers])
    return trace


def own_metric(rank):
    return lambda epoch: metric(rank, epoch)


def reduced_metric(ranks, how):
    return lambda epoch: expected_reduce([metric(r, epoch) for r in ranks], how)


# ---- the rank processes --------------------------------------------------------------------------
def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def _batch(rank, step):
    g = torch.Generator().manual_seed(1000 * step + rank)
    x = torch.randn(8, 4, generator=g)
    return x, x.sum(dim=1, keepdim=True).sin()


def _trainer(model, ranks):
    """``train(step)``: forward/backward on the batches of ``ranks`` (one rank's shard under DDP)."""
    def train(step):
        batches = [_batch(r, step) for r in ranks]
        x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
        torch.nn.functional.mse_loss(model(x), y).backward()
    return train


def _digest(model):
    return [v.hex() for p in model.parameters() for v in p.detach().double().flatten().tolist()]


def _lrkit_run(ddp, reduce_schedule, reduce_dropin):
    inner = ddp.module if hasattr(ddp, "module") else ddp
    opt_first = torch.optim.SGD(inner[0].parameters(), lr=0.1, momentum=0.9)
    opt_last = torch.optim.SGD(inner[2].parameters(), lr=0.1, momentum=0.9)
    schedule, dropin = build_lrkit(opt_first, opt_last, reduce_schedule, reduce_dropin)
    return opt_first, opt_last, schedule, dropin


def _write(outdir, name, data):
    path = os.path.join(outdir, name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)


def _init(outdir, phase, rank, world):
    torch.distributed.init_process_group("gloo", init_method=f"file://{os.path.join(outdir, 'pg-' + phase)}",
                                         rank=rank, world_size=world, timeout=datetime.timedelta(seconds=120))


def _app_state(ddp, opt_first, opt_last, schedule, dropin):
    """What DCP saves and loads: model and optimizers through DCP's state_dict helpers, the lrkit
    schedulers as they are (they are ``Stateful``)."""
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict
    from torch.distributed.checkpoint.stateful import Stateful

    class Training(Stateful):
        def state_dict(self):
            model, optim = get_state_dict(ddp, [opt_first, opt_last])
            return {"model": model, "optim": optim}

        def load_state_dict(self, state):
            set_state_dict(ddp, [opt_first, opt_last], model_state_dict=state["model"],
                           optim_state_dict=state["optim"])

    return {"training": Training(), "schedule": schedule, "dropin": dropin}


def phase_a(rank, outdir, world=3):
    from torch.nn.parallel import DistributedDataParallel as DDP
    _init(outdir, "a", rank, world)
    ours, theirs = DDP(_model()), DDP(_model())
    opt_first, opt_last, schedule, dropin = _lrkit_run(ours, "mean", "max")
    opt_torch = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    plateau_torch = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_torch, min_lr=1e-4, **PLATEAU)
    lone = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    own = K.ReduceLROnPlateau(lone, min_lr=1e-4, reduce=None, **PLATEAU)
    train_ours, train_theirs = _trainer(ours, [rank]), _trainer(theirs, [rank])

    def train(step):
        train_ours(step)
        train_theirs(step)

    mine = own_metric(rank)
    trace = LOOP(0, STEPS, [opt_first, opt_last, opt_torch, lone], schedule,
                 [(schedule.report, mine), (dropin.step, mine), (plateau_torch.step, mine), (own.step, mine)], train)
    _write(outdir, f"a-{rank}", {"trace": trace, "ours": _digest(ours), "theirs": _digest(theirs)})
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def phase_b(rank, outdir, world=2):
    import torch.distributed.checkpoint as dcp
    from torch.nn.parallel import DistributedDataParallel as DDP
    _init(outdir, "b", rank, world)
    ddp = DDP(_model())
    opt_first, opt_last, schedule, dropin = _lrkit_run(ddp, "min", "mean")
    mine = own_metric(rank)
    run = ([opt_first, opt_last], schedule, [(schedule.report, mine), (dropin.step, mine)], _trainer(ddp, [rank]))
    trace = LOOP(0, SAVE_AT + 1, *run)
    dcp.save(_app_state(ddp, opt_first, opt_last, schedule, dropin), checkpoint_id=os.path.join(outdir, "dcp"))
    if rank == 0:
        torch.save({"model": ddp.module.state_dict(), "opt_first": opt_first.state_dict(),
                    "opt_last": opt_last.state_dict(), "schedule": schedule.state_dict(),
                    "dropin": dropin.state_dict()}, os.path.join(outdir, "rank0.pt"))
    saved = _digest(ddp)
    torch.distributed.barrier()
    trace += LOOP(SAVE_AT + 1, STEPS, *run)
    _write(outdir, f"b-{rank}", {"trace": trace, "saved": saved, "final": _digest(ddp)})
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def phase_c(rank, outdir, world=2):
    import torch.distributed.checkpoint as dcp
    from torch.nn.parallel import DistributedDataParallel as DDP
    _init(outdir, "c", rank, world)
    ddp = DDP(_model())
    opt_first, opt_last, schedule, dropin = _lrkit_run(ddp, "min", "mean")
    dcp.load(_app_state(ddp, opt_first, opt_last, schedule, dropin), checkpoint_id=os.path.join(outdir, "dcp"))
    loaded = _digest(ddp)
    mine = own_metric(rank)
    trace = LOOP(SAVE_AT + 1, STEPS, [opt_first, opt_last], schedule, [(schedule.report, mine), (dropin.step, mine)],
                 _trainer(ddp, [rank]))
    _write(outdir, f"c-{rank}", {"trace": trace, "loaded": loaded, "final": _digest(ddp)})
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def phase_d(rank, outdir, world=2):
    """A single process (no process group) resumes the 2-rank run: rank 0 from DCP, rank 1 from torch.save."""
    import torch.distributed.checkpoint as dcp
    model = _model()
    opt_first, opt_last, schedule, dropin = _lrkit_run(model, "min", "mean")
    if rank == 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "assuming the intent is to load in a single process"
            dcp.load(_app_state(model, opt_first, opt_last, schedule, dropin),
                     checkpoint_id=os.path.join(outdir, "dcp"))
    else:
        state = torch.load(os.path.join(outdir, "rank0.pt"), weights_only=True)
        model.load_state_dict(state["model"])
        opt_first.load_state_dict(state["opt_first"])
        opt_last.load_state_dict(state["opt_last"])
        schedule.load_state_dict(state["schedule"])
        dropin.load_state_dict(state["dropin"])
    loaded = _digest(model)
    ranks = list(range(world))  # one process validates every shard: it feeds what the ranks agreed on
    reporters = [(schedule.report, reduced_metric(ranks, "min")), (dropin.step, reduced_metric(ranks, "mean"))]
    trace = LOOP(SAVE_AT + 1, STEPS, [opt_first, opt_last], schedule, reporters, _trainer(model, ranks))
    _write(outdir, f"d-{rank}", {"trace": trace, "loaded": loaded})


def rank_main(rank, outdir):
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated.*")
    phase_a(rank, outdir)
    if rank >= 2:
        return
    phase_b(rank, outdir)
    phase_c(rank, outdir)
    phase_d(rank, outdir)


if __name__ == "__main__":
    import torch._dynamo  # (the optimizers import it lazily: once here, before the fork)
    import torch.distributed.checkpoint
    import torch.multiprocessing as mp
    import torch.nn.parallel
    method = os.environ.get("LRKIT_DIST_START_METHOD", "fork" if hasattr(os, "fork") else "spawn")
    mp.start_processes(rank_main, args=(sys.argv[1],), nprocs=3, start_method=method, join=True)
