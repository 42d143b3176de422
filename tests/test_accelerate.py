"""lrkit's torch schedulers under Accelerate: stepped once per optimizer update, on any number of processes.

``accelerator.prepare(..., scheduler)`` wraps a scheduler in ``AcceleratedScheduler``, which steps it
``num_processes`` times per optimizer update (accelerate#3797, #2165). ``lrkit.torch.prepare_for_accelerate``
prepares the same objects but steps lrkit's schedulers once per update. Each test runs the usual loop
(``with accelerator.accumulate(model)``: backward, ``optimizer.step()``, ``scheduler.step()`` every
micro-batch) with ``gradient_accumulation_steps=2`` over 5 batches per epoch (3 optimizer updates: the
last one partial), records the LR of every real ``optimizer.step()`` with a step pre-hook on the torch
optimizer, and compares it exactly with the lrkit curve at update ``k`` (at ``2k`` for the double stepping).

Two processes: one test launches 2 real processes (gloo on CPU, as ``torchrun`` would, the environment set
by hand); the others run in this process with ``AcceleratorState.num_processes`` set to 2, which is all
``AcceleratedScheduler.step`` reads. ``python tests/test_accelerate.py`` is the worker of the first test.
"""
import json
import os
import socket
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
accelerate = pytest.importorskip("accelerate")
from accelerate.state import AcceleratorState, GradientState, PartialState  # noqa: E402

import lrkit  # noqa: E402
import lrkit.torch as K  # noqa: E402
from lrkit.torch._trainers import prepare_for_accelerate  # noqa: E402

BATCHES, ACCUMULATE, EPOCHS = 5, 2, 3
UPDATES = EPOCHS * 3  # ceil(5 / 2) updates per epoch
CURVE = lrkit.linear(1.0, 0.0, steps=4 * UPDATES)  # long enough that 2k stays on the slope


def _reset_accelerate():
    AcceleratorState._reset_state(True)  # PartialState too
    GradientState._reset_state()


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """Accelerate's state is a process-wide singleton: start and end each test clean."""
    _reset_accelerate()
    yield
    _reset_accelerate()


def _plain(lr):
    return lr.item() if isinstance(lr, torch.Tensor) else lr


def _loop(accelerator, make_schedulers, fix, batches=BATCHES, epochs=EPOCHS):
    """Train with ``make_schedulers(opt) -> [scheduler, ...]``; returns the LR trace of group 0 (one value
    per update) and the prepared schedulers."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    trace = []
    opt.register_step_pre_hook(lambda o, a, k: trace.append(_plain(o.param_groups[0]["lr"])))
    schedulers = make_schedulers(opt)
    x = torch.randn(batches * 2 * accelerator.num_processes, 3, generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=2)
    prepare = prepare_for_accelerate if fix else type(accelerator).prepare
    model, opt, loader, *schedulers = prepare(accelerator, model, opt, loader, *schedulers)
    for _ in range(epochs):
        for xb, yb in loader:
            with accelerator.accumulate(model):
                accelerator.backward(torch.nn.functional.mse_loss(model(xb), yb))
                opt.step()
                for s in schedulers:
                    s.step()
                opt.zero_grad()
    return trace, schedulers


def _fake_processes(monkeypatch, n):
    """Rank 0 of ``n``, as far as AcceleratedScheduler (``AcceleratorState().num_processes``, copied from
    PartialState at each call) and the data loader's sharding can tell; no process group."""
    for state in (PartialState, AcceleratorState):
        monkeypatch.setitem(state._shared_state, "num_processes", n)


def test_plain_prepare_steps_an_lrkit_scheduler_once_per_process(monkeypatch):
    """The problem: with 2 processes ``accelerator.prepare`` steps the schedule twice per update."""
    accelerator = accelerate.Accelerator(cpu=True, gradient_accumulation_steps=ACCUMULATE)
    _fake_processes(monkeypatch, 2)
    trace, _ = _loop(accelerator, lambda opt: [K.ScheduleLR(opt, CURVE)], fix=False)
    assert trace == [CURVE(2 * k) for k in range(UPDATES)]


SCHEDULERS = {
    "ScheduleLR": (lambda opt: K.ScheduleLR(opt, CURVE), lambda sched: CURVE),
    "ScheduleLR tensor_lr": (lambda opt: K.ScheduleLR(opt, CURVE, tensor_lr=torch.float64), lambda sched: CURVE),
    "OneCycleLR drop-in": (lambda opt: K.OneCycleLR(opt, max_lr=1.0, total_steps=UPDATES),
                           lambda sched: sched.scheduler.schedules[0]),
    "CosineAnnealingLR drop-in": (lambda opt: K.CosineAnnealingLR(opt, T_max=UPDATES, eta_min=0.01),
                                  lambda sched: sched.scheduler.schedules[0]),
}


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_prepare_for_accelerate_steps_once_per_update(monkeypatch, name, processes):
    """``prepare_for_accelerate``: update k uses curve(k) on 1 or 2 processes, gradient accumulation
    counting optimizer updates (1e-12 relative for the float64 tensor LR, exact otherwise)."""
    build, curve = SCHEDULERS[name]
    accelerator = accelerate.Accelerator(cpu=True, gradient_accumulation_steps=ACCUMULATE)
    _fake_processes(monkeypatch, processes)
    trace, (sched,) = _loop(accelerator, lambda opt: [build(opt)], fix=True)
    expected = [curve(sched)(k) for k in range(UPDATES)]
    assert len(trace) == UPDATES
    if "tensor" in name:
        assert trace == pytest.approx(expected, rel=1e-12, abs=0)
    else:
        assert trace == expected


def test_torch_schedulers_keep_accelerates_rule(monkeypatch):
    """Prepared together, an lrkit scheduler steps once per update and torch's LambdaLR (on a second
    optimizer) ``num_processes`` times: Accelerate's rule, left alone for torch's schedulers."""
    accelerator = accelerate.Accelerator(cpu=True)
    _fake_processes(monkeypatch, 2)
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt_a, opt_b = torch.optim.SGD([a], lr=1.0), torch.optim.SGD([b], lr=1.0)
    ours = K.ScheduleLR(opt_a, CURVE)
    theirs = torch.optim.lr_scheduler.LambdaLR(opt_b, lambda k: 0.5 ** k)
    opt_a, opt_b, ours, theirs = prepare_for_accelerate(accelerator, opt_a, opt_b, ours, theirs)
    assert ours.split_batches and not theirs.split_batches
    for _ in range(3):
        (a.sum() + b.sum()).backward()
        for o, s in ((opt_a, ours), (opt_b, theirs)):
            o.step()
            s.step()
    assert (opt_a.param_groups[0]["lr"], opt_b.param_groups[0]["lr"]) == (CURVE(3), 0.5 ** 6)


@pytest.mark.parametrize("fix, expected_lr", [(False, 0.5 ** 5), (True, 0.5 ** 2)])
def test_reduce_lr_on_plateau_counts_each_metric_once(monkeypatch, fix, expected_lr):
    """``AcceleratedScheduler.step(metric)`` with 2 processes: plain ``prepare`` counts each metric twice
    (5 reductions after 3 flat metrics); ``prepare_for_accelerate`` once, as torch's ReduceLROnPlateau
    stepped by hand (2 reductions)."""
    accelerator = accelerate.Accelerator(cpu=True)
    _fake_processes(monkeypatch, 2)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    prepare = prepare_for_accelerate if fix else type(accelerator).prepare
    opt, sched = prepare(accelerator, opt, K.ReduceLROnPlateau(opt, factor=0.5, patience=0))
    by_hand_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    by_hand = torch.optim.lr_scheduler.ReduceLROnPlateau(by_hand_opt, factor=0.5, patience=0)
    for _ in range(3):
        p.sum().backward()
        opt.step()
        sched.step(1.0)
        by_hand.step(1.0)
    assert opt.param_groups[0]["lr"] == expected_lr
    assert (opt.param_groups[0]["lr"] == by_hand_opt.param_groups[0]["lr"]) == fix


def test_one_object_and_errors():
    """One argument gives one object back, as ``accelerator.prepare``; a ScheduleLR counting micro-batches
    itself and a non-Accelerator are lrkit errors naming them."""
    accelerator = accelerate.Accelerator(cpu=True)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    wrapped = prepare_for_accelerate(accelerator, K.ScheduleLR(opt, CURVE))
    assert type(wrapped).__name__ == "AcceleratedScheduler" and wrapped.split_batches
    with pytest.raises(lrkit.LrkitValueError, match=r"objects\[0\]: ScheduleLR\(accumulation_steps=2\)"):
        prepare_for_accelerate(accelerator, K.ScheduleLR(opt, CURVE, accumulation_steps=2))
    with pytest.raises(lrkit.LrkitTypeError, match="accelerator must be an accelerate.Accelerator, got 'cpu'"):
        prepare_for_accelerate("cpu", opt)


# =================================================================================================
# two real processes
# =================================================================================================
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_real_processes():
    """2 processes (gloo, CPU, 5 batches per rank per epoch): ``accelerator.prepare`` steps the lrkit
    schedule twice per update on every rank, ``prepare_for_accelerate`` once."""
    port, world = _free_port(), 2
    procs = []
    for rank in range(world):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                   LOCAL_RANK=str(rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world), OMP_NUM_THREADS="1")
        procs.append(subprocess.Popen([sys.executable, __file__], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=180)
            assert p.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert sorted(r["rank"] for r in results) == [0, 1]
    for r in results:
        assert r["processes"] == 2
        assert r["plain"] == [CURVE(2 * k) for k in range(UPDATES)]
        assert r["fixed"] == [CURVE(k) for k in range(UPDATES)]


def _worker():
    from datetime import timedelta
    from accelerate.utils import InitProcessGroupKwargs
    accelerator = accelerate.Accelerator(cpu=True, gradient_accumulation_steps=ACCUMULATE,
                                         kwargs_handlers=[InitProcessGroupKwargs(timeout=timedelta(seconds=120))])
    plain, _ = _loop(accelerator, lambda opt: [K.ScheduleLR(opt, CURVE)], fix=False)
    fixed, _ = _loop(accelerator, lambda opt: [K.ScheduleLR(opt, CURVE)], fix=True)
    print(json.dumps({"rank": accelerator.process_index, "processes": accelerator.num_processes,
                      "plain": plain, "fixed": fixed}))
    accelerator.end_training()


if __name__ == "__main__":
    _worker()
