"""Helper of tests/test_torch_faults.py: a training run killed with SIGKILL again and again.

``python tests/_fault_worker.py KILLS SEED OUTDIR`` imports torch once, then forks one training process
per segment (fork: a segment starts in milliseconds, and it is a real process, really SIGKILLed). The
uninterrupted run is forked first. Each segment resumes with ``lrkit.torch.load_checkpoint`` from the
checkpoint directory, trains, checkpoints with ``save_checkpoint(keep=2)`` after every EVERY-th update,
and kills itself with SIGKILL at the point the plan gives it (no cleanup, no flush: as ``kill -9``):

- ``update``: after the optimizers stepped, before the schedulers did;
- ``eval``: after the plateau schedulers took the metric, before the checkpoint;
- ``open``: inside save_checkpoint, right after the temporary file was created (it stays empty);
- ``write``: half-way through writing the payload to the temporary file;
- ``fsync``: the temporary file is complete and fsync-ed, not yet renamed;
- ``replace``: renamed onto its final name, the directory not yet fsync-ed;
- ``prune``: while deleting an old checkpoint;
- ``corrupt``: right after a complete save; the server then damages that newest file (truncates it, or
  flips a byte), so the next segment must detect it and fall back to the previous checkpoint.

The kill hooks are installed by this script (it wraps ``os.open``, ``os.fdopen``, ``os.fsync``,
``os.replace``, ``os.unlink`` in the segment process only); the library has no test hook. Each segment
writes its trace (``seg-<i>.trace``: step, LRs, momentum and loss as float.hex, one ``os.write`` per line)
and ``seg-<i>.log`` (the step it resumed from, and any warning). ``OUTDIR/summary.json`` lists the
segments, their kill points and how each ended.
"""
import json
import os
import random
import signal
import sys
import tempfile
import warnings

import torch

import lrkit
import lrkit.torch as K
from lrkit.torch._checkpoint import load_checkpoint, save_checkpoint

TOTAL = 150  # updates of the whole run
EVERY = 5  # an evaluation and a checkpoint after every EVERY-th update
KEEP = 2
WHERE = ("update", "eval", "open", "write", "fsync", "replace", "prune", "corrupt")
IN_SAVE = ("open", "write", "fsync", "replace", "prune", "corrupt", "eval")


def is_checkpoint(step):
    return step % EVERY == EVERY - 1


def plan(kills, seed):
    """``kills`` kill points ``(step, where)``, strictly increasing steps (seeded). The first ones use
    every kind of point, "corrupt" twice (a truncated file, then a flipped byte); then at random."""
    rng = random.Random(seed)
    points, used, first = [], set(), WHERE + ("corrupt",)
    while len(points) < kills:
        where = first[len(points)] if len(points) < len(first) else rng.choice(WHERE)
        step = rng.randrange(1, TOTAL - 1)
        if where in IN_SAVE:
            step = step - step % EVERY + EVERY - 1  # a checkpoint step
        low = {"prune": 3 * EVERY, "corrupt": 2 * EVERY}.get(where, 0)  # old files to delete / to fall back on
        if step in used or step < low or step >= TOTAL - 1:
            continue
        used.add(step)
        points.append((step, where))
    return sorted(points)


def expected_resume(kill):
    """The step after which the next segment resumes: the last complete checkpoint's."""
    step, where = kill
    last = step if where in ("replace", "prune", "corrupt") else step - 1  # the save at `step` completed
    while last >= 0 and not is_checkpoint(last):
        last -= 1
    if where == "corrupt":  # that newest file was damaged: the one before it
        last -= EVERY
    return last


# ---- a segment ----------------------------------------------------------------------------------
def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(where):
    """Wrap the file-system calls save_checkpoint makes so that this process dies at ``where``."""
    if where == "open":
        real_open = os.open

        def create(path, flags, *args, **kwargs):
            fd = real_open(path, flags, *args, **kwargs)
            if flags & os.O_CREAT:  # the temporary file, not the directory fsync's open
                _die()
            return fd
        os.open = create
    elif where == "write":
        real_fdopen = os.fdopen

        def fdopen(*args, **kwargs):
            f = real_fdopen(*args, **kwargs)
            real_write, calls = f.write, []

            def write(data):
                calls.append(1)
                if len(calls) == 2:  # the payload (the first write is the header)
                    real_write(bytes(data[:len(data) // 2]))
                    f.flush()
                    _die()
                return real_write(data)
            f.write = write
            return f
        os.fdopen = fdopen
    elif where in ("fsync", "replace", "prune"):
        name = {"fsync": "fsync", "replace": "replace", "prune": "unlink"}[where]
        real = getattr(os, name)

        def wrapped(*args, **kwargs):
            real(*args, **kwargs)
            _die()
        setattr(os, name, wrapped)


def _batch(step):
    g = torch.Generator().manual_seed(step)
    x = torch.randn(16, 4, generator=g)
    return x, (2 * x[:, :1]).tanh() - x[:, 1:2]


def _objects():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt_first = torch.optim.SGD(model[0].parameters(), lr=0.1, momentum=0.9)
    opt_last = torch.optim.AdamW(model[2].parameters(), lr=0.01)
    schedule = K.ScheduleLR(opt_first, lrkit.warmup(lrkit.cosine(0.1, 0.01, steps=120), steps=10),
                            momentum="linear(0.95, 0.85, steps=100)",
                            plateau=lrkit.plateau(factor=0.5, patience=1, threshold=0.05), plateau_start=10)
    dropin = K.ReduceLROnPlateau(opt_last, factor=0.5, patience=1, threshold=0.05)
    return model, opt_first, opt_last, schedule, dropin


def segment(outdir, index, kill):
    """One process of the run: resume, train, checkpoint; die at ``kill`` = (step, where) if given."""
    torch.set_num_threads(1)
    directory = os.path.join(outdir, "checkpoints" if index >= 0 else "reference")
    name = f"seg-{index}" if index >= 0 else "reference"
    log = os.open(os.path.join(outdir, name + ".log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    trace = os.open(os.path.join(outdir, name + ".trace"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    model, opt_first, opt_last, schedule, dropin = _objects()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = load_checkpoint(directory, missing_ok=True)
    for w in caught:
        os.write(log, f"warning {w.message}\n".encode())
    start = 0
    if state is not None:
        model.load_state_dict(state["model"])
        opt_first.load_state_dict(state["opt_first"])
        opt_last.load_state_dict(state["opt_last"])
        schedule.load_state_dict(state["schedule"])
        dropin.load_state_dict(state["dropin"])
        start = state["step"] + 1
    os.write(log, f"resume {start - 1}\n".encode())
    x_val, y_val = _batch(10 ** 6)  # the validation set
    kill_step, where = kill if kill is not None else (-1, None)
    for step in range(start, TOTAL):
        x, y = _batch(step)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt_first.step()
        opt_last.step()
        opt_first.zero_grad()
        opt_last.zero_grad()
        if step == kill_step and where == "update":
            _die()
        schedule.step()
        if is_checkpoint(step):
            with torch.no_grad():
                val = torch.nn.functional.mse_loss(model(x_val), y_val).item()
            schedule.report(val)
            dropin.step(val)
        values = [opt_first.param_groups[0]["lr"], opt_first.param_groups[0]["momentum"],
                  opt_last.param_groups[0]["lr"], loss.item()]
        os.write(trace, (f"{step} " + " ".join(float(v).hex() for v in values) + "\n").encode())
        if is_checkpoint(step):
            if step == kill_step and where == "eval":
                _die()
            if step == kill_step:
                _arm(where)
            save_checkpoint(directory, {"model": model.state_dict(), "opt_first": opt_first.state_dict(),
                                        "opt_last": opt_last.state_dict(), "schedule": schedule.state_dict(),
                                        "dropin": dropin.state_dict(), "step": step}, keep=KEEP)
            if step == kill_step:
                _die()  # "corrupt" (and a "prune" that had nothing to delete)


def _fork(outdir, index, kill):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            segment(outdir, index, kill)
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return signal.Signals(os.WTERMSIG(status)).name
    return f"exit {os.WEXITSTATUS(status)}"


def _damage(directory, how):
    """Truncate the newest checkpoint, or flip one byte in the middle of its payload."""
    newest = sorted(n for n in os.listdir(directory) if n.endswith(".lrkit"))[-1]
    path = os.path.join(directory, newest)
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        if how == "truncate":
            f.truncate(size // 2)
        else:
            f.seek(size - size // 3)
            byte = f.read(1)
            f.seek(size - size // 3)
            f.write(bytes([byte[0] ^ 0x10]))
    return path


def _warm_up():
    """Everything a segment imports lazily (torch._dynamo by the optimizers, serialization), done once
    here before forking; one thread, so no thread pool exists when the server forks."""
    torch.set_num_threads(1)
    objects = _objects()
    save_checkpoint(tempfile.mkdtemp(), {"schedule": objects[3].state_dict()})


def main(outdir, kills, seed):
    _warm_up()
    global TOTAL
    TOTAL = max(TOTAL, 10 * kills)  # room for every kill point (the segments inherit it through fork)
    summary = {"total": TOTAL, "every": EVERY, "keep": KEEP, "reference": _fork(outdir, -1, None), "segments": []}
    points = plan(kills, seed)
    for index, kill in enumerate(points + [None]):
        ended = _fork(outdir, index, kill)
        entry = {"kill": kill, "ended": ended}
        if kill is not None and kill[1] == "corrupt":
            how = "truncate" if sum(1 for k in points[:index] if k[1] == "corrupt") % 2 == 0 else "flip"
            entry["damaged"] = [_damage(os.path.join(outdir, "checkpoints"), how), how]
        summary["segments"].append(entry)
        if ended not in ("SIGKILL", "exit 0"):
            break
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump(summary, f)


if __name__ == "__main__":
    main(sys.argv[3], int(sys.argv[1]), int(sys.argv[2]))
