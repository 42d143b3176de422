"""Pickling and ``copy.deepcopy`` of lrkit's torch schedulers: what torch's own schedulers support.

torch's schedulers pickle with their optimizer (``pickle.dumps((model, optimizer, scheduler))``,
``torch.save(scheduler)`` as a whole object, ``copy.deepcopy((model, optimizer, scheduler))``: the memo
keeps them linked), and so do lrkit's. Code is never pickled: what a scheduler derives from its state
(the compiled per-step function of a curve, the device mode's torch namespace, the fused chain's cache,
the step-order hook and the monitor's registry of schedulers) is rebuilt when it is unpickled or copied,
so the copy steps exactly as the original would, into the copied optimizer. A user's function
(``LambdaLR``'s ``lr_lambda``, ``CyclicLR``'s ``scale_fn``) pickles exactly when pickle can pickle it, as
in torch: a lambda deep-copies but does not pickle (pickle's own error).

``lrkit.torch.Monitor`` does not pickle or copy (lrkit's error): it owns open log files and a hook on one
optimizer; a copied optimizer is not monitored. A ``GradScaler`` a monitor watches copies as a plain
``GradScaler``, not watched.
"""
import copy
import types

import torch

from .._errors import LrkitTypeError
from .._namespace import namespace
from ._step_order import STEPPED, register_scheduler, watch

def scheduler_state(scheduler):
    """``__getstate__`` of an lrkit scheduler: its ``__dict__``, plus whether its optimizer has stepped (the
    step-order flag, which lives in a registry of this process)."""
    state = dict(scheduler.__dict__)
    flag = STEPPED.get(state.get("optimizer"))
    state["_stepped_before_copy"] = flag is not None and flag.value
    return state


def restore_scheduler(scheduler, state):
    """``__setstate__``: the state, then the step-order hook on the (copied) optimizer, its flag as the
    original's, and the monitor's registry entry."""
    stepped = state.pop("_stepped_before_copy", False)
    scheduler.__dict__.update(state)
    optimizer = scheduler.__dict__.get("optimizer")
    if optimizer is None or not hasattr(optimizer, "param_groups"):
        return
    try:
        flag = watch(optimizer)
    except (AttributeError, TypeError):  # (an optimizer without hooks, or one not weakly referable)
        return
    flag.value = flag.value or stepped
    register_scheduler(optimizer, scheduler)


def hyperparameter_state(h):
    """``__getstate__`` of a ``Hyperparameter``: without the compiled per-step function of its curve (an
    object in its place, MultiplicativeLR's running product, is state and pickles)."""
    state = dict(h.__dict__)
    if isinstance(state.get("_unit_at"), types.FunctionType):
        del state["_unit_at"]
    return state


def restore_hyperparameter(h, state):
    """``__setstate__``: the state, then the per-step function compiled again from the (copied) curve."""
    h.__dict__.update(state)
    if "_unit_at" not in state:
        unit = h.__dict__.get("unit")
        h._unit_at = None if unit is None else unit.per_step()


def device_state(device):
    """``__getstate__`` of the device mode's ``DeviceSchedule``: without its torch namespace (functions)."""
    state = dict(device.__dict__)
    state.pop("xp", None)
    return state


def restore_device(device, state):
    """``__setstate__``: the namespace again, and the groups' views of the buffer made again from it (a plain
    ``pickle`` copies a tensor's storage per tensor, so the views unpickled no longer share the buffer's:
    the groups take the new views at the next step, ``DeviceSchedule.write``)."""
    device.__dict__.update(state)
    device.xp = namespace(torch)
    storage = device.buffer.untyped_storage().data_ptr()
    if any(v.untyped_storage().data_ptr() != storage for v in device.views):
        device.views = [device.buffer[j] for j in range(len(device.index))]


def refuse_monitor(monitor):
    raise LrkitTypeError(
        f"{type(monitor).__name__} cannot be pickled or copied: it writes to open log files and hooks one "
        f"optimizer. Copy the model, optimizer and scheduler (a copied optimizer is not monitored) and build a "
        f"new Monitor on the copy")


def _own_update(scaler):
    """``scaler.update`` as ``GradScaler`` defines it (what a copy of a watched scaler holds)."""
    return type(scaler).update.__get__(scaler)


class WatchedUpdate:
    """The ``update`` a monitor puts on a ``GradScaler`` (``call(new_scale)`` is the monitor's wrapper). A copy
    of the scaler (``pickle``, ``copy.deepcopy``) gets its own ``GradScaler.update`` instead: the monitor
    watches the scaler it was given, never a copy, and a copy never updates the original."""

    __slots__ = ("scaler", "call")

    def __init__(self, scaler, call):
        self.scaler, self.call = scaler, call

    def __call__(self, new_scale=None):
        return self.call(new_scale)

    def __reduce__(self):
        return _own_update, (self.scaler,)

    def __deepcopy__(self, memo):
        return _own_update(copy.deepcopy(self.scaler, memo))
