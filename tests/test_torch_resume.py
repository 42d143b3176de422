"""Kill and resume: a subprocess trains a tiny model under lrkit.torch schedulers (the native adapter with
gradient accumulation, momentum and a plateau stage on one optimizer; a chainable drop-in with a hand edit
on another), checkpointing every few updates. It is killed with SIGKILL at a random step (at a random
point of the step: after the optimizer, after the scheduler, or half-way through writing a checkpoint).
A new process resumes from the last checkpoint. The LR/momentum trace of the two runs combined equals an
uninterrupted run bit for bit.
"""
import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")

CHILD = textwrap.dedent(r'''
    import os, signal, sys
    import torch
    import lrkit
    import lrkit.torch as K
    from lrkit._plateau import plateau

    ckpt, trace_path, total, kill_at, kill_where = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2))
    opt_a = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.1},
                             {"params": model[1].parameters(), "lr": torch.tensor(0.01, dtype=torch.float64)}],
                            lr=0.1, momentum=0.9)
    opt_b = torch.optim.SGD([{"params": model[0].parameters(), "lr": 1e-3},
                             {"params": model[1].parameters(), "lr": 3e-4}], nesterov=True, momentum=0.5)
    sched_a = K.ScheduleLR(opt_a, "warmup(cosine(1.0, 0.05, steps=120), steps=20)", relative=True,
                           momentum="linear(0.95, 0.85, steps=100)", accumulation_steps=2,
                           plateau=plateau(factor=0.5, patience=3), plateau_start=30)
    sched_b = K.CosineAnnealingLR(opt_b, T_max=37, eta_min=1e-5)
    start = 0
    if os.path.exists(ckpt):
        state = torch.load(ckpt, weights_only=True)
        model.load_state_dict(state["model"])
        opt_a.load_state_dict(state["opt_a"])
        opt_b.load_state_dict(state["opt_b"])
        sched_a.load_state_dict(state["sched_a"])
        sched_b.load_state_dict(state["sched_b"])
        start = state["step"] + 1
    trace = open(trace_path, "a")
    for step in range(start, total):
        g = torch.Generator().manual_seed(step)
        x, y = torch.randn(16, 4, generator=g), torch.randn(16, 2, generator=g)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        if step % 2 == 1:  # accumulation: one update every 2 micro-batches
            opt_a.step()
            opt_b.step()
            opt_a.zero_grad()
            opt_b.zero_grad()
            if step == kill_at and kill_where == "optimizer":
                os.kill(os.getpid(), signal.SIGKILL)
            sched_b.step()
            if step == 41:
                opt_b.param_groups[0]["lr"] *= 0.5  # a hand edit: the drop-in rebases on it
        sched_a.step()
        if step % 10 == 9:
            sched_a.report(round(loss.item(), 1))
        if step == kill_at and kill_where == "scheduler":
            os.kill(os.getpid(), signal.SIGKILL)
        lrs = [float(gr["lr"]) for gr in opt_a.param_groups] + [gr["momentum"] for gr in opt_a.param_groups]
        lrs += [float(gr["lr"]) for gr in opt_b.param_groups]
        trace.write(f"{step} " + " ".join(v.hex() for v in lrs) + "\n")
        trace.flush()
        if step % 7 == 6:
            state = {"model": model.state_dict(), "opt_a": opt_a.state_dict(), "opt_b": opt_b.state_dict(),
                     "sched_a": sched_a.state_dict(), "sched_b": sched_b.state_dict(), "step": step}
            torch.save(state, ckpt + ".tmp")
            if step == kill_at and kill_where == "checkpoint":
                os.kill(os.getpid(), signal.SIGKILL)
            os.replace(ckpt + ".tmp", ckpt)
''')

TOTAL = 160


def _child(tmp, name, kill_at=-1, where="none", trace_name=None):
    """Start the training process (returns the Popen and its trace file)."""
    script = os.path.join(tmp, "child.py")
    with open(script, "w") as f:
        f.write(CHILD)
    ckpt, trace = os.path.join(tmp, f"{name}.pt"), os.path.join(tmp, f"{trace_name or name}.trace")
    env = dict(os.environ, PYTHONHASHSEED="0")
    return subprocess.Popen([sys.executable, script, ckpt, trace, str(TOTAL), str(kill_at), where],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env), trace


def _wait(process):
    _, err = process.communicate(timeout=300)
    return process.returncode, err


def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


def test_kill_and_resume_is_bitwise(tmp_path):
    rng = random.Random(int(os.environ.get("LRKIT_RESUME_SEED", "20240611")))
    kill_at = rng.randrange(10, TOTAL - 10)
    where = rng.choice(["optimizer", "scheduler", "checkpoint"])
    if where != "scheduler":  # those points exist only on some steps
        kill_at = kill_at | 1 if where == "optimizer" else kill_at - kill_at % 7 + 6
    tmp = str(tmp_path)
    full, full_trace = _child(tmp, "full")  # the uninterrupted run, alongside the killed one
    killed, trace = _child(tmp, "run", kill_at, where)
    code, err = _wait(killed)
    assert code == -signal.SIGKILL, (code, err)
    ckpt = torch.load(os.path.join(tmp, "run.pt"), weights_only=True)
    resumed, resumed_trace = _child(tmp, "run", trace_name="resumed")  # a new process: resumes from run.pt
    code, err = _wait(resumed)
    assert code == 0, err
    code, err = _wait(full)
    assert code == 0, err
    first = [ln for ln in _lines(trace) if int(ln.split()[0]) <= ckpt["step"]]
    combined = first + _lines(resumed_trace)
    assert combined == _lines(full_trace), (kill_at, where, ckpt["step"])
    assert len(combined) == TOTAL
