"""Device-side schedules: ``ScheduleLR(..., on_device=True)``.

Every param group's LR is a 0-dim view into one tensor (the *buffer*) on the optimizer's device. A step
increments a step-counter tensor on that device in place, evaluates the core's formula of each unit
schedule in the torch namespace (``schedule(t, xp=torch)``, in float64), scales it per group (the core's
``Scaling``: ``unit * scale + offset``, then the plateau stage ``max(v * factor ** r, min(v, min_lr))``)
and writes every group with one ``copy_`` into the buffer. No Python number becomes a tensor and nothing
is read back, so a step makes no host-to-device transfer and no host sync: it can be captured in a CUDA
graph (``capturable=True`` optimizers, ``torch.compile(mode="reduce-overhead")``).

What it gives up, by design (nothing is read from the device per step):

- values are proven finite and non-negative at construction (``bounds()``), not looked at per step;
- the LR belongs to the schedule: a hand edit of a group's LR tensor is overwritten at the next step (as
  ScheduleLR's float path does: it is not chainable); a group whose ``"lr"`` was replaced by another object
  (``optimizer.load_state_dict``) gets its view of the buffer back at the next step;
- ``last_epoch`` on the host counts the ``step()`` calls Python made; replays of a captured graph advance
  only the device counter: ``state_dict()`` and ``report()`` read it (one sync each, per checkpoint or
  per evaluation, never per step).
"""
import operator

import torch

from .._base import require_non_negative
from .._errors import LrkitValueError
from .._namespace import namespace
from ._pickling import device_state, restore_device

_get_lr = operator.itemgetter("lr")


class DeviceSchedule:
    """The device side of a ``ScheduleLR``'s LR hyperparameter ``h`` (see the module docstring)."""

    def __init__(self, scheduler, h, groups):
        self.h = h
        self.steps_per_epoch = scheduler.steps_per_epoch
        self.index = [i for i, j in enumerate(h.unit_of_group) if j is not None]
        self.every_group = len(self.index) == len(groups)
        first = groups[self.index[0]]
        lr0 = first["lr"]
        device = lr0.device if isinstance(lr0, torch.Tensor) else (
            first["params"][0].device if first["params"] else torch.device("cpu"))
        dtype = lr0.dtype if isinstance(lr0, torch.Tensor) else scheduler._device_dtype
        for i in self.index:
            lr = groups[i]["lr"]
            if isinstance(lr, torch.Tensor) and (lr.device != device or lr.dtype != dtype):
                raise LrkitValueError(
                    f"on_device=True writes every group's LR with one op: param group {i} holds its LR as "
                    f"{lr.dtype} on {lr.device}, group {self.index[0]} as {dtype} on {device}")
        for i in self.index:  # values proven finite and >= 0: nothing is looked at per step
            require_non_negative(h.schedule(i), f"ScheduleLR(on_device=True), param group {i},")
        self.device, self.dtype = device, dtype
        self.xp = namespace(torch)
        self.counter = torch.zeros((), dtype=torch.float64, device=device)
        self.buffer = torch.zeros(len(self.index), dtype=dtype, device=device)
        self.views = [self.buffer[j] for j in range(len(self.index))]
        self.multiplier = self.floor = None  # the plateau stage, once it has reduced
        self.take_scaling()
        self.link(groups)

    # ---- set up (construction, load, report: never per step) ---------------------------------------
    def take_scaling(self):
        """The hyperparameter's units and scaling as device tensors."""
        h, index, device = self.h, self.index, self.device
        self.units = h.units
        scale = [h.scaling.scale[i] for i in index]
        offsets = h.scaling.offsets()
        offset = [offsets[i] for i in index]
        self.scale = torch.tensor(scale, dtype=torch.float64, device=device)
        self.offset = None if h.scaling.offset is None else torch.tensor(offset, dtype=torch.float64, device=device)
        which = [h.unit_of_group[i] for i in index]
        self.which = None if len(self.units) == 1 else torch.tensor(which, dtype=torch.long, device=device)

    def take_plateau(self, scheduler):
        """The plateau stage's per-group multiplier and floor (after a report that reduced, or a load)."""
        state, ctl = scheduler._plateau_state, scheduler.plateau
        if ctl is None or state is None or state.reductions == 0 or scheduler.last_epoch < scheduler.plateau_start:
            self.multiplier = self.floor = None
            return
        skips = scheduler._plateau_skips
        per_group = isinstance(ctl.min_lr, tuple)
        mult = [ctl.factor ** (state.reductions - skips[i]) for i in self.index]
        floor = [float(ctl.floor(i if per_group else 0)) for i in self.index]
        self.multiplier = torch.tensor(mult, dtype=torch.float64, device=self.device)
        self.floor = torch.tensor(floor, dtype=torch.float64, device=self.device)

    def link(self, groups):
        """Each driven group's ``"lr"``: its view of the buffer."""
        for i, view in zip(self.index, self.views):
            groups[i]["lr"] = view

    def set_step(self, k):
        self.counter.fill_(float(k))

    # ---- the step ---------------------------------------------------------------------------------------
    def linked(self, groups):
        """Do the groups still hold the buffer's views (identity only: a tensor is never compared by value)?"""
        if self.every_group:
            return all(map(operator.is_, map(_get_lr, groups), self.views))
        return all(groups[i]["lr"] is v for i, v in zip(self.index, self.views))

    def values(self, t=None):
        """Every driven group's value at the counter's step (or at the tensor ``t``), float64 on the device."""
        if t is None:
            t = self.counter if self.steps_per_epoch is None else self.counter / self.steps_per_epoch
        xp = self.xp
        if self.which is None:
            u = self.units[0]._f(t, xp)
        else:
            u = torch.stack([torch.as_tensor(unit._f(t, xp)) for unit in self.units])[self.which]
        v = u * self.scale if self.offset is None else u * self.scale + self.offset
        if self.multiplier is not None:
            v = torch.maximum(v * self.multiplier, torch.minimum(v, self.floor))
        return v

    def write(self, groups):
        if not self.linked(groups):
            self.link(groups)
        self.buffer.copy_(self.values())  # (one op for every group: the buffer holds their LRs)

    def advance(self, groups):
        self.counter.add_(1.0)
        self.write(groups)

    # ---- reading back (a sync: per checkpoint or evaluation) ---------------------------------------------
    def step_on_device(self):
        return int(self.counter.item())

    def last_lr(self):
        return list(self.buffer.clone().unbind())

    def last_values(self):
        return self.buffer.tolist()

    __getstate__, __setstate__ = device_state, restore_device  # (``_pickling``)
