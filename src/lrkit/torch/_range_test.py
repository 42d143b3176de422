"""``lrkit.torch.find_lr``: the LR range test (:func:`lrkit.find_lr`) on a PyTorch model, optimizer, loss
function and data loader, leaving the model, the optimizer and the random number generators exactly as
they were.

The sweep, the smoothing, the early stop and
the suggestions are the core's (``lrkit._find_lr``); this file only runs the training steps and restores.

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> x = torch.randn(64, 3, generator=g)
>>> y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
>>> model = torch.nn.Linear(3, 1)
>>> opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
>>> loader = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]  # cycled: 4 batches, 60 steps
>>> before = [p.detach().clone() for p in model.parameters()]
>>> r = find_lr(model, opt, torch.nn.functional.mse_loss, loader, start=1e-4, end=10.0, steps=60)
>>> r.stopped, r.suggestion is not None
('diverged', True)
>>> all(torch.equal(a, b) for a, b in zip(before, model.parameters())), opt.param_groups[0]["lr"], opt.state
(True, 0.01, defaultdict(<class 'dict'>, {}))
"""
import copy
import math
import random

import numpy as np
import torch

from .. import _checks as check
from .._errors import LrkitError, LrkitTypeError, LrkitValueError
from .._find_lr import _validate, find_lr as _core_find_lr
from ._arguments import as_float
from ._step_order import STEPPED

#: How many differences a RestoreError lists at most.
MAX_LISTED = 8
_MISSING = object()


class RestoreError(LrkitError, RuntimeError):
    """After the range test the model or the optimizer could not be put back bit for bit (e.g. an
    optimizer whose ``load_state_dict`` changes dtypes); the message lists what differs."""


def find_lr(model, optimizer, loss_fn, loader, start=1e-7, end=10.0, steps=100, mode="exp", smooth=0.98,
            diverge=4.0, progress=None, device=None, *, relative=False, skip_start=None, skip_end=5):
    """LR range test of ``model`` trained by ``optimizer`` on ``loss_fn(model(x), y)`` for batches ``(x, y)``
    of ``loader``; returns an :class:`lrkit.LRFinderResult` (see :func:`lrkit.find_lr` for ``start``,
    ``end``, ``steps``, ``mode``, ``smooth``, ``diverge``, ``progress``, ``skip_start``, ``skip_end``).

    One step: set the LR, take the next batch (the loader is cycled as often as needed: a list of
    batches or a DataLoader both work), move its tensors to ``device`` (default: the device of the
    model's first parameter), ``zero_grad(set_to_none=True)``, forward, ``loss.backward()``,
    ``optimizer.step()``. The model is in train mode during the test. For anything else (gradient
    accumulation, AMP, clipping, batches that are not ``(x, y)``) write a ``step_fn(lr)`` and call
    :func:`lrkit.find_lr`.

    Param groups: by default every group's LR is set to the swept LR, as torch-lr-finder, Lightning's
    ``lr_find`` and fastai (given one LR) do, so the result is one LR for the whole model.
    ``relative=True`` sweeps group 0's LR and keeps every other group at its ratio to group 0 (a
    backbone at 1/10 of the head stays at 1/10); the suggestion is then group 0's LR. A group whose LR
    is a tensor (``ScheduleLR(tensor_lr=True)``, ``torch.compile``) is written in place.

    Afterwards, whether the test ended, stopped early or raised, everything it touched is put back:
    parameters, buffers (persistent or not), gradients (None stays None), every module's train/eval
    flag, the optimizer's state (step counts included) and param groups (the same dict and tensor
    objects, holding the old values), and the random number generators: torch's CPU generator, CUDA's
    if CUDA is initialised, Python's ``random``, NumPy's global one, and the loader's own ``generator``
    (and its sampler's) if it has one. So the run that follows draws the same shuffles and dropout
    masks as if ``find_lr`` had never been called; the "optimizer.step() was called" flags behind
    torch's and lrkit's scheduler-order warnings are put back too. The copies are kept on the CPU (no
    extra GPU memory). The restore is then checked bit for bit against the copies; :class:`RestoreError`
    if anything differs. Not restored, because not seen: state outside the model and the optimizer
    that a hook updates on each step (an EMA of the weights kept by an optimizer step hook, for one).
    No LR scheduler is stepped, so a scheduler's state is untouched.
    """
    if not isinstance(model, torch.nn.Module):
        raise LrkitTypeError(f"model must be a torch.nn.Module, got {model!r}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise LrkitTypeError(f"optimizer must be a torch.optim.Optimizer, got {optimizer!r}")
    if not callable(loss_fn):
        raise LrkitTypeError(f"loss_fn must be a callable loss_fn(output, target) -> loss, got {loss_fn!r}")
    if isinstance(loader, (str, bytes, dict)) or not hasattr(loader, "__iter__"):
        raise LrkitTypeError(f"loader must be an iterable of (input, target) batches, got {loader!r}")
    relative = check.flag("relative", relative)
    if device is not None:
        try:
            device = torch.device(device)
        except (TypeError, RuntimeError):
            raise LrkitValueError(f"device must be None, a torch.device or a device string, got {device!r}") from None
    _validate(loss_fn, start, end, steps, mode, smooth, diverge, progress, skip_start, skip_end)
    groups = optimizer.param_groups
    ratios = [1.0] * len(groups)
    if relative:
        lr0 = as_float(groups[0]["lr"])
        if not (lr0 > 0 and math.isfinite(lr0)):
            raise LrkitValueError(f"relative=True needs param group 0's lr > 0 to keep the ratios, got {lr0!r}")
        ratios = [as_float(g["lr"]) / lr0 for g in groups]
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else None

    snapshot = _Snapshot(model, optimizer, loader)
    batches = _cycle(loader)

    def step_fn(lr):
        for group, ratio in zip(groups, ratios):
            value = lr * ratio if relative else lr
            if isinstance(group["lr"], torch.Tensor):
                with torch.no_grad():
                    group["lr"].fill_(value)
            else:
                group["lr"] = value
        batch = next(batches)
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise LrkitTypeError(f"each batch must be a pair (input, target), got {_short(batch)}; for other "
                                 f"batches write step_fn(lr) and call lrkit.find_lr")
        x, y = (_to(v, device) for v in batch)
        with torch.enable_grad():
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        return loss.detach()

    model.train()
    try:
        result = _core_find_lr(step_fn, start=start, end=end, steps=steps, mode=mode, smooth=smooth,
                               diverge=diverge, progress=progress, skip_start=skip_start, skip_end=skip_end)
    finally:
        snapshot.restore(model, optimizer)
    snapshot.verify(model, optimizer)
    return result


# ---------------------------------------------------------------------------------------------
# batches
# ---------------------------------------------------------------------------------------------
def _cycle(loader):
    taken = 0
    while True:
        fresh = True
        for batch in loader:
            fresh = False
            taken += 1
            yield batch
        if fresh:
            raise LrkitValueError(f"loader ran out of batches after {taken}: pass a loader that can be iterated "
                                  f"again (a DataLoader, a list of batches), not a one-shot iterator")


def _to(value, device):
    if device is None:
        return value
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_to(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _to(v, device) for k, v in value.items()}
    return value


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------------------------------------
# snapshot, restore, verify
# ---------------------------------------------------------------------------------------------
def _cpu_copy(value):
    """A deep copy with every tensor copied to the CPU (dict subclasses and their ``_metadata`` kept)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        try:
            out = type(value)()
        except TypeError:
            out = {}
        for k, v in value.items():
            out[k] = _cpu_copy(v)
        if hasattr(value, "_metadata"):
            out._metadata = copy.deepcopy(value._metadata)
        return out
    if isinstance(value, list):
        return [_cpu_copy(v) for v in value]
    if isinstance(value, tuple):
        items = [_cpu_copy(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return copy.deepcopy(value)


def _leaves(value, path=""):
    """(path, leaf) for every tensor or plain value in nested dicts / lists / tuples."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def _meta(value):
    if isinstance(value, torch.Tensor):
        return ("tensor", value.dtype, value.device, tuple(value.shape))
    return (type(value).__name__,)


def _bits(t):
    t = t.detach().to("cpu").contiguous().reshape(-1)
    try:
        return t.view(torch.uint8)
    except RuntimeError:  # a dtype that cannot be viewed as bytes: compare values
        return t


def _same(a, b):
    """Bitwise for tensors (NaN payloads included), by value for the rest (NaN equal to NaN)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        return torch.equal(_bits(a), _bits(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:  # an object whose == is not a bool
        return a is b


def _compare(label, live, saved, meta, problems):
    live = list(_leaves(live))
    saved = list(_leaves(saved))
    if [p for p, _ in live] != [p for p, _ in saved]:
        problems.append(f"{label}: keys differ: {sorted({p for p, _ in live} ^ {p for p, _ in saved})[:MAX_LISTED]}")
        return
    for (path, now), (_, then), kind in zip(live, saved, meta):
        if _meta(now) != kind:
            problems.append(f"{label}{path}: was {kind}, now {_meta(now)}")
        elif not _same(now, then):
            problems.append(f"{label}{path}: values differ")


def _generators(loader):
    found = []
    for owner in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None),
                  getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
        g = getattr(owner, "generator", None) if owner is not None else None
        if isinstance(g, torch.Generator) and all(g is not h for h in found):
            found.append(g)
    return found


class _Snapshot:
    """Everything the range test may change, copied to the CPU before it runs."""

    def __init__(self, model, optimizer, loader):
        self.modes = [(m, m.training) for m in model.modules()]
        state = model.state_dict()
        self.model = _cpu_copy(state)
        self.model_meta = [_meta(v) for _, v in _leaves(state)]
        self.buffers = [(name, b, b.detach().to("cpu", copy=True)) for name, b in model.named_buffers()
                        if name not in state]
        params, seen = [], set()
        for p in list(model.parameters()) + [p for g in optimizer.param_groups for p in g["params"]]:
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
        self.grads = [(p, None if p.grad is None else p.grad.detach().to("cpu", copy=True),
                       None if p.grad is None else _meta(p.grad)) for p in params]
        self.group_list = optimizer.param_groups
        self.groups = list(optimizer.param_groups)
        self.group_tensors = [{k: v for k, v in g.items() if isinstance(v, torch.Tensor)} for g in self.groups]
        state = optimizer.state_dict()
        self.optimizer = _cpu_copy(state)
        self.optimizer_meta = [_meta(v) for _, v in _leaves(state)]
        self.rng = torch.get_rng_state()
        self.cuda_rng = (torch.cuda.get_rng_state_all()
                         if torch.cuda.is_available() and torch.cuda.is_initialized() else None)
        self.python_rng = random.getstate()
        self.numpy_rng = np.random.get_state()
        self.generators = [(g, g.get_state()) for g in _generators(loader)]
        # "has optimizer.step() been called?" flags behind the scheduler order warnings: torch's
        # (an attribute set by the LR scheduler's wrapper) and lrkit.torch's (a step post-hook's flag)
        self.opt_called = optimizer.__dict__.get("_opt_called", _MISSING)
        flag = STEPPED.get(optimizer)
        self.stepped = (flag, flag.value) if flag is not None else None

    def restore(self, model, optimizer):
        model.load_state_dict(self.model)  # copies into the same tensors
        with torch.no_grad():
            for _, b, saved in self.buffers:
                b.copy_(saved)
        for p, grad, _ in self.grads:
            p.grad = None if grad is None else grad.to(p.device, copy=True)
        for m, training in self.modes:
            m.training = training
        # a copy: load_state_dict may keep the tensors it is given, and verify() needs ours untouched
        optimizer.load_state_dict(_cpu_copy(self.optimizer))
        loaded = optimizer.param_groups
        for i, (group, tensors) in enumerate(zip(self.groups, self.group_tensors)):
            new = loaded[i]
            with torch.no_grad():
                for key, t in tensors.items():  # tensor hyperparameters: the same objects, old values
                    if isinstance(new.get(key), torch.Tensor):
                        t.copy_(new[key])
                        new[key] = t
            if new is not group:  # the same dict objects as before
                group.clear()
                group.update(new)
        if optimizer.param_groups is not self.group_list:  # in the same list as before
            self.group_list[:] = self.groups
            optimizer.param_groups = self.group_list
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
        random.setstate(self.python_rng)
        np.random.set_state(self.numpy_rng)
        for g, state in self.generators:
            g.set_state(state)
        if self.opt_called is _MISSING:
            optimizer.__dict__.pop("_opt_called", None)
        else:
            optimizer._opt_called = self.opt_called
        if self.stepped is not None:
            self.stepped[0].value = self.stepped[1]

    def verify(self, model, optimizer):
        problems = []
        _compare("model.state_dict()", model.state_dict(), self.model, self.model_meta, problems)
        buffers = dict(model.named_buffers())
        for name, b, saved in self.buffers:
            if buffers.get(name) is not b or not _same(b, saved):
                problems.append(f"buffer {name!r} differs")
        for p, grad, kind in self.grads:
            if (grad is None) != (p.grad is None) or (grad is not None and (_meta(p.grad) != kind
                                                                            or not _same(p.grad, grad))):
                problems.append(f"the gradient of a parameter of shape {tuple(p.shape)} differs")
        if any(m.training != training for m, training in self.modes):
            problems.append("a module's train/eval mode differs")
        _compare("optimizer.state_dict()", optimizer.state_dict(), self.optimizer, self.optimizer_meta, problems)
        if optimizer.param_groups is not self.group_list or any(
                a is not b for a, b in zip(optimizer.param_groups, self.groups)):
            problems.append("optimizer.param_groups is another list, or holds other dicts, than before")
        if problems:
            listed = "; ".join(problems[:MAX_LISTED]) + (f"; and {len(problems) - MAX_LISTED} more"
                                                         if len(problems) > MAX_LISTED else "")
            raise RestoreError(f"find_lr could not restore the model and the optimizer exactly: {listed}")
