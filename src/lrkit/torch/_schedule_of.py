"""Read a live scheduler: ``schedule_of(scheduler)`` is the lrkit schedule each param group follows.

It reads torch's own schedulers, lrkit's drop-ins and ``ScheduleLR``, the ``LambdaLR`` that transformers'
``get_*_schedule*`` functions return, and timm's scheduler classes, without changing them: what lrkit
describes, plots and shows is then the user's existing setup.
"""
import functools
import math
import warnings

import torch
from torch.optim import lr_scheduler as torch_lr_scheduler

from .._combinators import mul, sequence
from .._errors import LrkitTypeError, LrkitValueError
from . import _cyclic, _simple, _swa
from ._schedule_lr import ScheduleLR
from ._scheduler import LRScheduler
from ._step import affine as _affine

_TORCH_MODULES = ("torch.optim.lr_scheduler", "torch.optim.swa_utils")
_OVERWRITING = "is not chainable (it overwrites the LR at every step), so the chain is no product of closed forms"


def schedule_of(scheduler, key="lr"):
    """The lrkit schedule of every param group that ``scheduler`` drives: a list, one per group.

    Group ``i``'s schedule ``s`` gives the value the scheduler sets after ``k`` calls of ``step()``:
    ``s(k) == scheduler`` 's ``param_groups[i][key]`` at ``last_epoch == k`` (``ScheduleLR``: the
    schedule as written, in its own time). ``key`` is ``"lr"`` or another hyperparameter the scheduler
    drives (``"momentum"`` for OneCycleLR/CyclicLR, any key of a ``ScheduleLR``).

    Read without change: torch's ``torch.optim.lr_scheduler`` classes (a shadow lrkit drop-in loads the
    scheduler's ``state_dict``), lrkit's drop-ins (with any rebase on hand edits), ``ScheduleLR``,
    ``SequentialLR`` and ``ChainedScheduler`` of those (a chain of chainable ones, anchored at 0),
    transformers' ``get_*_schedule*`` results and timm's schedulers (through lrkit's named constructors).
    A user's own ``lr_lambda``, ``ReduceLROnPlateau`` (metric-driven: no schedule in advance) and other
    classes get an ``LrkitTypeError`` that says why. When a group's current value is not the schedule's
    value at the current step (something else wrote it), a warning names the group and both values.

    >>> import torch
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    >>> sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.5)
    >>> schedule_of(sched)
    [(step_decay(start=1.0, period=30, gamma=0.5) * 0.1)]
    >>> schedule_of(sched)[0](60)
    0.025
    """
    schedules = _read(scheduler, key)
    _check_current(scheduler, schedules, key)
    return schedules


def _read(scheduler, key):
    if _is_timm(scheduler):
        return _from_timm(scheduler, key)
    if not isinstance(scheduler, (torch_lr_scheduler.LRScheduler, torch_lr_scheduler.ReduceLROnPlateau)):
        raise LrkitTypeError(f"scheduler must be a torch or timm LR scheduler, got {_name(scheduler)}")
    if isinstance(scheduler, torch_lr_scheduler.ReduceLROnPlateau):
        raise LrkitTypeError(
            "ReduceLROnPlateau has no schedule in advance: its LR follows the metric. lrkit's "
            "lrkit.torch.ReduceLROnPlateau(...).controller is its lrkit.plateau; ScheduleLR(..., plateau=...) "
            "puts one after a schedule")
    if isinstance(scheduler, torch_lr_scheduler.SequentialLR):
        return _sequential(scheduler, key)
    if isinstance(scheduler, torch_lr_scheduler.ChainedScheduler):
        return _chained(scheduler, key)
    if isinstance(scheduler, torch_lr_scheduler.LambdaLR) and not isinstance(scheduler, LRScheduler):
        return _from_lambdas(scheduler, key)
    if not isinstance(scheduler, LRScheduler):
        scheduler = _shadow(scheduler)
    return _driven(scheduler, key)


def _driven(scheduler, key):
    """An lrkit scheduler's schedules for ``key`` (``ScheduleLR``: the schedules as written)."""
    schedules = scheduler.schedules
    if isinstance(schedules, dict):  # ScheduleLR
        found = {_key_name(k): v for k, v in schedules.items()}
        if key not in found:
            raise LrkitValueError(f"key must be one of the keys this ScheduleLR drives ({', '.join(found)}), "
                                  f"got {key!r}")
        return list(found[key])
    h = _hyperparameter(scheduler, key)
    return [_affine(h.units[h.unit_of_group[i]], h.scaling.scale[i], h.scaling.offsets()[i])
            if h.unit_of_group[i] is not None else None for i in range(h.n_groups)]


def _key_name(key):
    return f"beta{key[1] + 1}" if isinstance(key, tuple) else key


def _shadow(scheduler):
    """torch's own scheduler as the lrkit drop-in of the same name, built on a copy of the optimizer's
    group values and loaded from the scheduler's ``state_dict`` (torch's rule: the saved arguments win)."""
    cls = type(scheduler)
    twin = next((getattr(m, cls.__name__) for m in (_simple, _cyclic, _swa) if hasattr(m, cls.__name__)), None)
    if cls.__module__ not in _TORCH_MODULES or twin is None or not issubclass(twin, cls):
        raise LrkitTypeError(f"lrkit cannot read {_name(scheduler)}: it reads torch's own schedulers, lrkit's "
                             f"and the results of transformers' and timm's functions")
    optimizer = _shadow_optimizer(scheduler.optimizer)
    values = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the shadow's construction: torch's warnings of a fresh scheduler
        shadow = twin(optimizer, **_placeholders(scheduler, optimizer))
    for group, saved in zip(optimizer.param_groups, values):  # as the scheduler's optimizer holds them
        group.update(saved)
    shadow.load_state_dict(scheduler.state_dict(), on_change="keep")
    return shadow


def _shadow_optimizer(optimizer):
    groups = []
    for group in optimizer.param_groups:
        copy = {k: _plain(v) for k, v in group.items() if k != "params"}
        copy["params"] = [torch.zeros(1, requires_grad=True)]
        copy["lr"] = copy.get("initial_lr", copy["lr"])
        groups.append(copy)
    shadow = torch.optim.SGD(groups, lr=groups[0]["lr"])
    return shadow


def _plain(value):
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def _placeholders(scheduler, optimizer):
    """Constructor arguments that build the drop-in (its state then comes from the scheduler's)."""
    name = type(scheduler).__name__
    n = len(optimizer.param_groups)
    if name == "StepLR":
        return {"step_size": scheduler.step_size}
    if name == "CosineAnnealingLR":
        return {"T_max": scheduler.T_max}
    if name == "CosineAnnealingWarmRestarts":
        return {"T_0": scheduler.T_0}
    if name == "MultiStepLR":
        return {"milestones": []}
    if name == "ExponentialLR":
        return {"gamma": scheduler.gamma}
    if name == "CyclicLR":
        return {"base_lr": list(scheduler.base_lrs), "max_lr": list(scheduler.max_lrs),
                "cycle_momentum": bool(scheduler.cycle_momentum)}
    if name == "OneCycleLR":
        return {"max_lr": [g["max_lr"] for g in optimizer.param_groups], "total_steps": scheduler.total_steps,
                "cycle_momentum": bool(scheduler.cycle_momentum)}
    if name == "SWALR":
        return {"swa_lr": [g["swa_lr"] for g in optimizer.param_groups]}
    return {}


def _from_lambdas(scheduler, key):
    """torch's LambdaLR whose lambdas lrkit can name: transformers' ``get_*_schedule*`` functions."""
    if key != "lr":
        raise LrkitValueError(f"key must be 'lr' for a LambdaLR, got {key!r}")
    return [_named_lambda(fn, i, float(base)) for i, (fn, base) in enumerate(zip(scheduler.lr_lambdas,
                                                                                   scheduler.base_lrs))]


def _named_lambda(fn, i, base):
    from ..peers.hf import HF_LAMBDAS
    func, keywords = (fn.func, fn.keywords) if isinstance(fn, functools.partial) else (fn, {})
    if getattr(func, "__module__", "").startswith("transformers.") and not (
            isinstance(fn, functools.partial) and fn.args):
        reader = HF_LAMBDAS.get(getattr(func, "__name__", None))
        if reader is not None:
            return reader(dict(keywords), base)
        raise LrkitTypeError(f"lr_lambda of param group {i} is transformers' {func.__name__}, which lrkit "
                             f"does not read")
    where = getattr(fn, "__qualname__", type(fn).__name__)
    raise LrkitTypeError(
        f"lr_lambda of param group {i} is {where!r}, a function of yours: lrkit cannot read a formula from "
        f"code. Write it as an lrkit schedule (lrkit.parse('...')) and use lrkit.torch.ScheduleLR, or "
        f"lrkit.function(fn) to sample it")


def _is_timm(scheduler):
    return any(c.__module__.startswith("timm.scheduler") for c in type(scheduler).__mro__)


def _from_timm(scheduler, key):
    """timm's schedulers through ``lrkit.peers.timm`` (timm keeps every argument as an attribute)."""
    from ..peers.timm import TIMM_SCHEDULERS
    if key != "lr":
        raise LrkitValueError(f"key must be 'lr' for a timm scheduler, got {key!r}")
    name = type(scheduler).__name__
    if name == "PlateauLRScheduler":
        raise LrkitTypeError("timm's PlateauLRScheduler has no schedule in advance: its LR follows the metric "
                             "(lrkit.peers.timm.plateau gives the lrkit controller)")
    reader = TIMM_SCHEDULERS.get(name)
    if reader is None:
        raise LrkitTypeError(f"lrkit cannot read timm's {name}: it reads {', '.join(sorted(TIMM_SCHEDULERS))}")
    attributes = vars(scheduler)
    return [reader(attributes, float(base)) for base in scheduler.base_values]


def _sequential(scheduler, key):
    members = [_planned(s, key) for s in scheduler._schedulers]
    milestones = [float(m) for m in scheduler._milestones]
    if any(m <= 0 for m in milestones):
        raise LrkitValueError(f"SequentialLR with a milestone at 0 has no schedule before it: {milestones}")
    return [sequence([m[i] for m in members], boundaries=milestones) for i in range(len(members[0]))]


def _planned(scheduler, key):
    """A member's schedules from its base values (a member restarts from its closed form, never rebased)."""
    if isinstance(scheduler, (torch_lr_scheduler.SequentialLR, torch_lr_scheduler.ChainedScheduler)) or (
            not isinstance(scheduler, LRScheduler) and isinstance(scheduler, torch_lr_scheduler.LambdaLR)):
        return _read(scheduler, key)
    lrkit_s = scheduler if isinstance(scheduler, LRScheduler) else _shadow(scheduler)
    hyper = _hyperparameter(lrkit_s, key)
    return [_initial(hyper, i) for i in range(hyper.n_groups)]


def _hyperparameter(scheduler, key):
    for h in scheduler._hyperparameters or ():
        if _key_name(h.key) == key:
            return h
    keys = [_key_name(h.key) for h in scheduler._hyperparameters or ()]
    raise LrkitValueError(f"key must be one of the keys {type(scheduler).__name__} drives "
                          f"({', '.join(keys) or 'none'}), got {key!r}")


def _initial(h, i):
    """Group ``i``'s schedule as constructed: ``(unit * scale) + offset`` of the initial scaling."""
    j = h.unit_of_group[i]
    return None if j is None else _affine(h.units[j], h.initial.scale[i], h.initial.offsets()[i])


def _chained(scheduler, key):
    """A chain of chainable schedulers anchored at 0 is the first one's schedule times the others' units."""
    members = []
    for s in scheduler._schedulers:
        if isinstance(s, (torch_lr_scheduler.SequentialLR, torch_lr_scheduler.ChainedScheduler)):
            raise LrkitTypeError(f"ChainedScheduler member {type(s).__name__} {_OVERWRITING}")
        lrkit_s = s if isinstance(s, LRScheduler) else _shadow(s)
        hyper = [h for h in lrkit_s._hyperparameters or () if _key_name(h.key) == key]
        if not lrkit_s._chainable or not hyper or not all(o == 0 for o in hyper[0].initial.offsets()):
            raise LrkitTypeError(f"ChainedScheduler member {type(s).__name__} {_OVERWRITING}")
        members.append(hyper[0])
    first = members[0]
    out = []
    for i in range(first.n_groups):
        s = mul(first.units[first.unit_of_group[i]], first.initial.scale[i])
        for h in members[1:]:
            s = mul(s, h.units[h.unit_of_group[i]])
        out.append(s)
    return out


def _check_current(scheduler, schedules, key):
    """Warn when a group holds a value the schedule does not give at the current step."""
    k = getattr(scheduler, "last_epoch", None)
    optimizer = getattr(scheduler, "optimizer", None)
    if isinstance(scheduler, ScheduleLR) or not isinstance(k, int) or k < 0 or optimizer is None:
        return
    for i, (group, s) in enumerate(zip(optimizer.param_groups, schedules)):
        if s is None or key not in group:
            continue
        held, planned = float(_plain(group[key])), float(s(k))
        if not math.isclose(held, planned, rel_tol=1e-6, abs_tol=1e-15):
            warnings.warn(f"param group {i} holds {key}={held!r} at step {k}, where its schedule gives "
                          f"{planned!r}: something else wrote it (a hand edit, another scheduler). The "
                          f"schedule returned is the plan", stacklevel=3)


def _name(obj):
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"
