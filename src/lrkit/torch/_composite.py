"""Schedulers made of schedulers: ``SequentialLR`` (one after another, the core's ``sequence``) and
``ChainedScheduler`` (all at every step: the chainable drop-ins rebase on each other)."""
import bisect

import torch
from torch.optim import lr_scheduler as torch_lr_scheduler

from .._errors import LrkitValueError
from ._arguments import group_values, integer, last_epoch_argument, plain_value
from ._chain_fused import fused_chain
from ._composite_replan import (CHAIN_REFUSES, check_composite_policy, load_members, milestones_policy, plan_changed,
                                repositioned, sequential_smooth)
from ._loading import check_state, each, fields, real, state_error
from ._loading import integer as integer_rule
from ._scheduler import STATE_FORMAT, LRScheduler

def check_members(cls_name, optimizer, schedulers):
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{cls_name} at index {i} should have `optimizer` as its attribute.")
        if isinstance(s, torch_lr_scheduler.ReduceLROnPlateau):
            raise ValueError(
                f"{cls_name} does not support `ReduceLROnPlateau` scheduler as it requires additional kwargs "
                f"to be specified when calling `step`, but got one at index {i} in the given schedulers "
                f"sequence. (lrkit: put the plateau after a schedule with lrkit.torch.ScheduleLR(..., "
                f"plateau=lrkit.plateau(...)))")
        if optimizer != s.optimizer:
            raise ValueError(
                f"{cls_name} expects all schedulers to belong to the same optimizer, but got scheduler "
                f"{s.__class__.__name__} at index {i} has {s.optimizer}, which is different from "
                f"{optimizer.__class__.__name__}.")


class _Composite:
    """Loading for schedulers made of schedulers: every sub-state loads, and only the values of the
    scheduler that drives the optimizer now (``_driving()``) go into it (see
    ``LRScheduler.load_state_dict``). The argument is not modified. ``on_change`` reaches the members
    (``_composite_replan``)."""

    def _check_policy(self, on_change):
        return check_composite_policy(on_change, self)

    def _owns(self, groups):
        driving = self._driving()
        return driving._owns(groups) if hasattr(driving, "_owns") else {}

    def _adopt(self, groups, ours):
        driving = self._driving()
        if self.__dict__.pop("_members_changed", False):  # a changed plan's values go into every group
            ours = {key: [True] * len(flags) for key, flags in driving._owns(groups).items()}
        if hasattr(driving, "_adopt"):
            driving._adopt(groups, ours)

    def _state_rules(self):
        n = self._group_count

        def schedulers(path, value):
            if not isinstance(value, list) or len(value) != len(self._schedulers):
                raise state_error(path, f"must be a list of {len(self._schedulers)} state_dicts (one per scheduler)",
                                  value)
            for i, (s, sub) in enumerate(zip(self._schedulers, value)):
                if hasattr(s, "_check_state"):
                    s._check_state(sub, f"{path}[{i}]")
                else:
                    check_state({}, sub, f"{path}[{i}]")
        return {"_schedulers": schedulers, "_last_lr": each(real(0), n), "lrkit": fields({})}

    def _check_loaded(self):
        for s in self._schedulers:
            if hasattr(s, "_check_loaded"):
                s._check_loaded()


class SequentialLR(_Composite, LRScheduler, torch_lr_scheduler.SequentialLR):
    """torch's SequentialLR: ``schedulers[i]`` from ``milestones[i-1]`` on, each on its own clock (the
    core's ``sequence``): at a milestone the next scheduler starts from its closed form at 0."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1, *, on_change=None):
        if len(schedulers) < 1:
            raise ValueError(f"{self.__class__.__name__} expects at least one scheduler, but got no scheduler.")
        check_members(self.__class__.__name__, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more than the number "
                f"of milestone points, but got number of schedulers {len(schedulers)} and the number of "
                f"milestones to be equal to {len(milestones)}")
        ms = [integer(f"milestones[{i}]", m, 1) for i, m in enumerate(milestones)]
        for i in range(1, len(ms)):
            if ms[i] <= ms[i - 1]:
                raise LrkitValueError(f"milestones must be strictly increasing, got {ms!r}")
        self._schedulers = list(schedulers)
        self._milestones = ms
        self.on_change = check_composite_policy(on_change, self)
        self.last_epoch = last_epoch_argument(last_epoch) + 1
        self.optimizer = optimizer
        self._hyperparameters = None
        for group in optimizer.param_groups:
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(plain_value(group["initial_lr"]))
            else:
                group["lr"] = group["initial_lr"]
        self.recursive_undo()
        idx = bisect.bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def recursive_undo(self, sched=None):
        """Undo the initial step of every scheduler (torch's protocol)."""
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self.recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def _update_lr(self, epoch=None):
        raise NotImplementedError("SequentialLR cannot be nested inside SequentialLR")

    def _initial_step(self):
        idx = bisect.bisect_right(self._milestones, max(self.last_epoch, 0))
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def state_dict(self):
        return {"last_epoch": self.last_epoch, "_milestones": list(self._milestones),
                "_last_lr": [plain_value(v) for v in self._last_lr],
                "_schedulers": [s.state_dict() for s in self._schedulers],
                "lrkit": {"format": STATE_FORMAT, "class": "SequentialLR"}}

    def _state_rules(self):
        rules = super()._state_rules()
        rules["last_epoch"] = integer_rule(0)
        rules["_milestones"] = each(integer_rule(1), lambda: len(self._schedulers) - 1)
        return rules

    def _check_state(self, state, path="state_dict"):
        super()._check_state(state, path)
        ms = state.get("_milestones", self._milestones)
        for i in range(1, len(ms)):
            if ms[i] <= ms[i - 1]:
                raise state_error(f"{path}['_milestones']", "must be strictly increasing", ms)

    def _active(self):
        return self._schedulers[bisect.bisect_right(self._milestones, max(self.last_epoch, 0))]

    _driving = _active

    def _load(self, state):
        subs = state.pop("_schedulers", [])
        policy = self.__dict__.get("_on_change_now")
        if policy == "smooth" and plan_changed(self, state, subs):  # the whole plan re-anchored (``_composite_replan``)
            return sequential_smooth(self, state, subs)
        self.last_epoch = state.get("last_epoch", self.last_epoch)
        saved = state.get("_milestones")
        self._milestones = milestones_policy(self, saved, policy)
        if saved is not None and list(saved) != self._milestones:  # (the new milestones: each member's position)
            subs = repositioned(subs, self._milestones, self.last_epoch)
        load_members(self, subs, policy)
        if "_last_lr" in state and not self.__dict__.get("_members_changed"):
            self._last_lr = state["_last_lr"]
        else:
            self._last_lr = self._active().get_last_lr()


class ChainedScheduler(_Composite, LRScheduler, torch_lr_scheduler.ChainedScheduler):
    """torch's ChainedScheduler: every scheduler steps at every step. lrkit's chainable drop-ins rebase
    on each other's changes, so the product is torch's; a chain of them steps in one pass where nobody
    else wrote into the groups (``_chain_fused``: the same values)."""
    _refuses = CHAIN_REFUSES  # (the policies it cannot apply, and why: ``_composite_replan``)

    def __init__(self, schedulers, optimizer=None, *, on_change=None):
        if len(schedulers) < 1:
            raise ValueError(
                f"{self.__class__.__name__} expects at least one scheduler to be chained, but got no scheduler.")
        optimizer = optimizer or schedulers[0].optimizer
        check_members(self.__class__.__name__, optimizer, schedulers)
        self._schedulers = list(schedulers)
        self.on_change = check_composite_policy(on_change, self)
        self.optimizer = optimizer
        self._hyperparameters = None
        self._last_lr = group_values(self._schedulers[-1].optimizer)
        self._fused = fused_chain(self._schedulers)

    def step(self):
        fused = self._fused
        if fused is not None and fused.step():  # (every member's product in one pass: ``_chain_fused``)
            self._last_lr = list(fused.wrote) if fused.wrote_array is None else fused.last_lr()
            return
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = group_values(self._schedulers[-1].optimizer)
        if fused is not None:
            fused.seen(self._last_lr)

    def _initial_step(self):
        for scheduler in self._schedulers:
            scheduler._initial_step()
        self._last_lr = group_values(self._schedulers[-1].optimizer)

    def _update_lr(self, epoch=None):
        for scheduler in self._schedulers:
            scheduler._update_lr(epoch)
        self._last_lr = group_values(self._schedulers[-1].optimizer)

    def state_dict(self):
        return {"_last_lr": [plain_value(v) for v in self.get_last_lr()],
                "_schedulers": [s.state_dict() for s in self._schedulers],
                "lrkit": {"format": STATE_FORMAT, "class": "ChainedScheduler"}}

    def _driving(self):
        return self._schedulers[-1]

    def _load(self, state):
        load_members(self, state.pop("_schedulers", []), self.__dict__.get("_on_change_now"))
        if "_last_lr" in state:
            self._last_lr = state["_last_lr"]
