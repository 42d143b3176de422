"""``ScheduleLR``, the native adapter: any hyperparameter of any param group from lrkit schedules."""
import math

import numpy as np
import torch

from .. import _checks as check
from .._errors import LrkitError, LrkitTypeError, LrkitValueError, excerpt
from .._plateau import PlateauState
from .._plateau import plateau as plateau_controller
from .._greedy import GreedyState, greedy
from .._scaling import ARRAY_FROM, Scaling, scaled
from .._spec import as_schedule
from ._replan import check_policy, replanned_specs
from ._arguments import (as_float, check_optimizer, distinct, group_values, integer, last_epoch_argument, plain_value,
                         positive)
from ._device import DeviceSchedule
from ._distributed import check_reduce, reduce_metric
from ._loading import each, optional, plateau_state, state_error
from ._loading import integer as integer_rule
from ._scheduler import LRScheduler, group_count_error
from ._steady import one_tensor_step
from ._step import CHAIN, CLOSED, Hyperparameter
from ._step_order import check_order

_ALIASES = {"lr": "lr", "momentum": "momentum", "beta1": ("betas", 0), "beta2": ("betas", 1),
            "weight_decay": "weight_decay"}


def _initial_key(key):
    return "initial_lr" if key == "lr" else f"initial_{_key_label(key)}"


def _key_label(key):
    if isinstance(key, tuple):
        return f"beta{key[1] + 1}"
    return key


class ScheduleLR(LRScheduler):
    """Drive an optimizer from lrkit schedules: ``ScheduleLR(optimizer, schedule, ...)``.

    ``schedule`` (the LR) and ``momentum``, ``beta1``, ``beta2``, ``weight_decay`` (and any other group
    key through ``hyperparams={"key": schedule}``) each take an lrkit schedule or a spec string, used by
    every param group, or a list with one per group (``None`` leaves that group alone).

    Values. A schedule gives absolute values: ``ScheduleLR(opt, "cosine(3e-4, 0.0, steps=9000)")`` sets
    every group to that curve. ``relative=True`` makes it a multiplier of each group's initial value
    (``initial_lr``, or ``initial_momentum`` / ``initial_beta1`` / ... recorded in the group at
    construction), which is the core's ``schedule * initial_lr``: two groups at 0.1 and 0.01 under
    ``ScheduleLR(opt, "cosine(1.0, 0.0, steps=90)", relative=True)`` follow the same cosine 10x apart.

    Time. The schedule is evaluated at update ``k`` (0 for the first optimizer step). With
    ``steps_per_epoch=n`` it is written in epochs and evaluated at ``k / n`` while you step every update.
    With ``accumulation_steps=a`` you may call ``step()`` every micro-batch: ``a`` calls make one update.

    ``torch.compile``: a tensor hyperparameter is written in place (``fill_``), and ``tensor_lr=True``
    (or a dtype) turns each float LR into a 0-dim tensor on the group's device (float32 by default) so
    that a compiled ``optimizer.step`` never recompiles because the LR changed.

    Plateau as a stage. ``plateau=lrkit.plateau(...)`` multiplies the LR by ``factor ** reductions``
    (never pushing it below ``min_lr``); call ``report(metric)`` once per evaluation. Metrics reported
    before update ``plateau_start`` are ignored: ``warmup(constant(1e-3), steps=500)`` with
    ``plateau_start=500`` is warmup then plateau-driven decay. In a ``torch.distributed`` job every rank's
    metric is combined, ``reduce="mean"`` (default), ``"min"`` or ``"max"``, so that the ranks agree;
    ``reduce=None`` lets each rank use its own. A NaN on any rank is a NaN on every rank.
    ``plateau=lrkit.greedy(...)`` raises as well as lowers: it starts from the LRs the schedule gives at
    the first reported metric and multiplies the schedule by each group's ``lrs / initial`` from then on
    (with ``constant`` schedules: transformers' GreedyLR).

    >>> import torch, lrkit
    >>> from lrkit.torch import ScheduleLR
    >>> opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1},
    ...                        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.01}])
    >>> sched = ScheduleLR(opt, lrkit.step_decay(1.0, period=2, gamma=0.5), relative=True)
    >>> for _ in range(3):
    ...     opt.step(); sched.step()
    >>> [round(lr, 6) for lr in sched.get_last_lr()]
    [0.05, 0.005]
    """

    def __init__(self, optimizer, schedule=None, *, momentum=None, beta1=None, beta2=None, weight_decay=None,
                 hyperparams=None, relative=False, steps_per_epoch=None, accumulation_steps=1, tensor_lr=False,
                 plateau=None, plateau_start=0, reduce="mean", last_epoch=-1, on_change="raise", on_device=False):
        check_optimizer(optimizer)
        self.on_change = check_policy(on_change)
        #: what each load_state_dict found (a monitor reads it): dicts with step, key, group, policy, saved,
        #: current, followed and the values at the resume step (old, new, applied)
        self.plan_changes = []
        specs = {}
        for name, value in (("lr", schedule), ("momentum", momentum), ("beta1", beta1), ("beta2", beta2),
                            ("weight_decay", weight_decay)):
            if value is not None:
                specs[_ALIASES[name]] = value
        if hyperparams is not None:
            if not isinstance(hyperparams, dict):
                raise LrkitTypeError(f"hyperparams must be a dict of group key -> schedule, got {hyperparams!r}")
            for key, value in hyperparams.items():
                key = _ALIASES.get(key, key)
                if key in specs:
                    raise LrkitValueError(f"hyperparams[{key!r}] is given twice")
                specs[key] = value
        if not specs:
            raise LrkitValueError("ScheduleLR needs a schedule (for the LR) or at least one of momentum, beta1, "
                                  "beta2, weight_decay, hyperparams")
        n = len(optimizer.param_groups)
        self._specs = {}
        for key, value in specs.items():
            label = _key_label(key)
            if isinstance(value, (list, tuple)):
                if len(value) != n:
                    raise LrkitValueError(f"{label} has {len(value)} schedules for {n} param groups")
                per = [None if v is None else as_schedule(v, f"{label}[{i}]") for i, v in enumerate(value)]
            else:
                per = [as_schedule(value, label)] * n
            for i, (group, s) in enumerate(zip(optimizer.param_groups, per)):
                if s is None:
                    continue
                if isinstance(key, tuple):
                    if "betas" not in group:
                        raise LrkitValueError(f"{label}: param group {i} has no 'betas' "
                                              f"({type(optimizer).__name__} is not an Adam-like optimizer)")
                elif key not in group:
                    raise LrkitValueError(f"{label}: param group {i} has no {key!r} "
                                          f"(its keys: {sorted(k for k in group if k != 'params')})")
            self._specs[key] = per
        self.relative = check.flag("relative", relative)
        self.steps_per_epoch = None if steps_per_epoch is None else positive("steps_per_epoch", steps_per_epoch)
        self.accumulation_steps = integer("accumulation_steps", accumulation_steps, 1)
        if plateau is not None and not isinstance(plateau, (plateau_controller, greedy)):
            raise LrkitTypeError(f"plateau must be an lrkit.plateau(...) or lrkit.greedy(...) value, got {plateau!r}")
        if plateau is not None and "lr" not in self._specs:
            raise LrkitValueError("plateau needs a schedule for the LR")
        self.plateau = plateau
        self.plateau_start = integer("plateau_start", plateau_start, 0)
        self.reduce = check_reduce(reduce)
        # (a greedy controller starts at the first metric it takes, from the LRs the schedule gives then)
        self._plateau_state = plateau.init() if isinstance(plateau, plateau_controller) else None
        self._plateau_skips = [0] * len(optimizer.param_groups)  # reductions each group skipped (eps)
        last_epoch = last_epoch_argument(last_epoch)
        self._calls = (last_epoch + 1) * self.accumulation_steps - 1 if last_epoch >= 0 else -1
        if relative and last_epoch == -1:
            for key in self._specs:
                if key == "lr":
                    continue
                for group, s in zip(optimizer.param_groups, self._specs[key]):
                    if s is not None:
                        value = group["betas"][key[1]] if isinstance(key, tuple) else group[key]
                        group.setdefault(_initial_key(key), plain_value(value))
        if tensor_lr:
            dtype = torch.float32 if tensor_lr is True else tensor_lr
            if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
                raise LrkitTypeError(f"tensor_lr must be True, False or a floating torch.dtype, got {tensor_lr!r}")
            for group in optimizer.param_groups:
                if not isinstance(group["lr"], torch.Tensor):
                    device = group["params"][0].device if group["params"] else None
                    group.setdefault("initial_lr", group["lr"])
                    group["lr"] = torch.tensor(group["lr"], dtype=dtype, device=device)
        self.tensor_lr = tensor_lr
        self.on_device = check.flag("on_device", on_device)
        self._device = None  # the device side (``_device.DeviceSchedule``), made at the first step
        if on_device:
            others = [_key_label(k) for k in self._specs if k != "lr"]
            if others or "lr" not in self._specs:
                raise LrkitValueError(f"on_device=True drives the LR only (a tensor in every group), not "
                                      f"{', '.join(others) or 'no LR'}: drive those with a second ScheduleLR")
            if isinstance(plateau, greedy):
                raise LrkitValueError("on_device=True takes plateau=lrkit.plateau(...), not lrkit.greedy(...) "
                                      "(its per-group LRs live on the host)")
            self._device_dtype = torch.float32 if tensor_lr in (True, False) else tensor_lr
        super().__init__(optimizer, last_epoch)

    def _make_hyperparameters(self):
        groups = self.optimizer.param_groups
        hyperparameters = []
        for key, per in self._specs.items():
            units, where = distinct([s for s in per if s is not None])
            it = iter(where)
            unit_of_group = [None if s is None else next(it) for s in per]
            if self.relative:
                scale = []
                for g, s in zip(groups, per):
                    init = g.get(_initial_key(key))
                    scale.append(as_float(init) if (s is not None and init is not None) else 1.0)
            else:
                scale = [1.0] * len(per)
            adjust = self._plateau_stage if (key == "lr" and self.plateau is not None) else None
            h = Hyperparameter(key, units, unit_of_group, Scaling(scale), adjust=adjust)
            if adjust is not None:
                h.adjust_all = self._plateau_stage_all
            hyperparameters.append(h)
        hyperparameters.sort(key=lambda h: h.key != "lr")
        return hyperparameters

    def _steady_hyperparameter(self):
        return None if self.on_device else super()._steady_hyperparameter()

    def _plateau_stage(self, value, i):
        """Group ``i``'s value after the plateau's reductions (before ``plateau_start``: unchanged)."""
        if self.last_epoch < self.plateau_start:
            return value
        state = self._plateau_state
        if isinstance(self.plateau, greedy):  # the schedule times the multiplier the controller has reached
            return value if state is None else self.plateau.apply(value, state, i)
        skipped = self._plateau_skips[i]
        if skipped:
            state = state._replace(reductions=state.reductions - skipped)
        return self.plateau.apply(value, state, group=i if isinstance(self.plateau.min_lr, tuple)
                                  else 0)

    def _plateau_stage_all(self, values):
        """``_plateau_stage`` of every group's value at once (numpy for many), or None where it has to go one
        by one (a group left alone, a group that skipped a cut, a floor per group)."""
        if self.last_epoch < self.plateau_start:
            return values
        state, ctl = self._plateau_state, self.plateau
        if isinstance(ctl, greedy):  # (per group: its own LRs)
            return None
        if state.reductions == 0:  # (``max(v * 1.0, min(v, floor))`` is v)
            return values
        if isinstance(ctl.min_lr, tuple) or any(self._plateau_skips) or None in values:
            return None
        factor, floor = ctl.factor ** state.reductions, float(ctl.floor(0))
        if len(values) < ARRAY_FROM:
            return [max(v * factor, min(v, floor)) for v in values]
        v = np.asarray(values, dtype=np.float64)
        return np.maximum(v * factor, np.minimum(v, floor)).tolist()

    @property
    def schedules(self):
        """Per hyperparameter, each group's schedule (absolute values): ``{"lr": [...], ...}``."""
        return {_key_label(h.key): [h.schedule(i) for i in range(h.n_groups)] for h in self._hyperparameters}

    def _time(self, k):
        return k if self.steps_per_epoch is None else k / self.steps_per_epoch

    def step(self, epoch=None):
        """One call: one update, or one micro-batch with ``accumulation_steps``."""
        if epoch is not None:
            raise LrkitTypeError("ScheduleLR.step() takes no epoch; use report(metric) for a plateau")
        calls = self._calls + 1
        k = calls // self.accumulation_steps
        if k == self.last_epoch and not self._is_initial:
            self._calls = calls
            return
        count = self._step_count
        if count == 1:
            check_order(self.optimizer)
        lr = self._steady
        if lr is not None and lr.access is lr.tensor_access and not self._is_initial:  # (one tensor LR: ``_steady``)
            wrote = one_tensor_step(lr, self.optimizer.param_groups,
                                    k if self.steps_per_epoch is None else self._time(k))
            if wrote is not None:
                self._calls, self.last_epoch, self._step_count = calls, k, count + 1
                if wrote:
                    self._last_lr = lr.steady.last_lr  # (``_remember``)
                return
        groups = self.optimizer.param_groups
        if len(groups) != self._n_groups:
            raise group_count_error(self, len(groups))
        t = k if self.steps_per_epoch is None else self._time(k)
        if self.on_device:  # one fused write from a step counter on the device (``_device``)
            self._step_on_device(groups, k)
            self._calls, self.last_epoch = calls, k
            self._step_count += 1
            return
        mode = CLOSED if self._is_initial else CHAIN
        for hyperparameter in self._hyperparameters:
            hyperparameter.advance(groups, t, mode)  # a refused value raises before anything is written
        self._calls, self.last_epoch = calls, k  # counted once the values are written
        self._step_count += 1
        self._remember(groups)

    def _step_on_device(self, groups, k):
        device = self._device
        if device is None or self._is_initial:
            if device is None:
                device = self._device = DeviceSchedule(self, self._hyperparameters[0], groups)
            device.set_step(k)
            device.write(groups)
        else:
            device.advance(groups)  # (the counter += 1 in place, the values, one write)

    def _sync_from_device(self):
        """Device mode: the host's step from the device counter (replays of a captured graph advance only it)."""
        if self._device is not None:
            k = self._device.step_on_device()
            if k != self.last_epoch:
                self._calls, self.last_epoch = k * self.accumulation_steps, k

    def get_last_lr(self):
        if self._device is not None:
            return self._device.last_lr()
        return super().get_last_lr()

    def _update_lr(self, epoch=None):
        if epoch is None:
            return self.step()
        self._calls = epoch * self.accumulation_steps
        self.last_epoch = epoch
        groups = self.optimizer.param_groups
        if self._device is not None:
            self._device.set_step(epoch)
            self._device.write(groups)
            return
        for hyperparameter in self._hyperparameters:
            hyperparameter.advance(groups, self._time(epoch), CLOSED)
        self._remember(groups)

    def _remember(self, groups):
        if self._hyperparameters[0].key == "lr":
            super()._remember(groups)
        else:
            self._last_lr = group_values(self.optimizer)

    def report(self, metric):
        """One evaluation's metric for the plateau stage (ignored before ``plateau_start``)."""
        if self.plateau is None:
            raise LrkitValueError("report() needs ScheduleLR(..., plateau=lrkit.plateau(...))")
        metric = as_float(metric, "metric") if isinstance(metric, torch.Tensor) else metric
        if self.reduce is not None:
            metric = reduce_metric(metric, self.reduce)  # collective: before any early return
        self._sync_from_device()
        if self.last_epoch < self.plateau_start:
            return
        if isinstance(self.plateau, greedy):
            return self._report_greedy(metric)
        before = self._plateau_state
        after = self.plateau.update(before, metric)
        values = None
        if after.reductions != before.reductions:
            values = self._skip_small_cuts(before, after)
        self._plateau_state = after
        if after.reductions != before.reductions:
            groups = self.optimizer.param_groups
            if self._device is not None:  # (the new multipliers: one transfer per evaluation)
                self._device.take_plateau(self)
                self._device.write(groups)
                return
            self._hyperparameters[0].rewrite(groups, self._time(self.last_epoch), values, checked=values is not None)
            self._remember(groups)

    def _report_greedy(self, metric):
        """The greedy stage: its LRs start at the schedule's values at the first metric; the schedule is then
        multiplied by each group's ``lrs / initial`` (a constant schedule is transformers' GreedyLR)."""
        h = self._hyperparameters[0]
        before = self._plateau_state
        if before is None:
            raw = h.values(h.unit_values(self._time(self.last_epoch)), adjust=False)
            before = self.plateau.init([0.0 if v is None else v for v in raw])
        after = self.plateau.update(before, metric)
        self._plateau_state = after
        if after.lrs != before.lrs:
            groups = self.optimizer.param_groups
            h.rewrite(groups, self._time(self.last_epoch))
            self._remember(groups)

    def _skip_small_cuts(self, before, after):
        """torch's ``eps`` rule: a group whose LR a new reduction lowers by no more than the controller's
        ``eps`` keeps its LR (the reduction is skipped for that group from now on). Returns the values to write
        when every group takes the cut (numpy, many groups), else None."""
        h = self._hyperparameters[0]
        units = h.unit_values(self._time(self.last_epoch))
        eps, ctl, skips = self.plateau.eps, self.plateau, self._plateau_skips
        raw = None
        if h.n_groups >= ARRAY_FROM and not isinstance(ctl.min_lr, tuple) and not any(skips):
            if h.unit is not None:  # (one curve: its values as ``Scaling.values`` computes them, kept as an array)
                v = scaled(units[0], *h.scaling.arrays())
            else:
                raw = h.values(units, adjust=False)
                v = None if None in raw else np.asarray(raw, dtype=np.float64)
        else:
            v = None
        if v is not None:  # all groups at once
            floor = float(ctl.floor(0))
            low = np.minimum(v, floor)
            old = np.maximum(v * ctl.factor ** before.reductions, low)
            new = np.maximum(v * ctl.factor ** after.reductions, low)
            taken = old - new > eps
            if taken.all():  # (no group skipped: the values to write, checked as ``rewrite`` would)
                return new.tolist() if new.min() >= 0.0 and new.max() < math.inf else None
            for i in np.flatnonzero(~taken).tolist():
                skips[i] += after.reductions - before.reductions
            return None
        if raw is None:
            raw = h.values(units, adjust=False)
        for i, value in enumerate(raw):
            if value is None:
                continue
            group = i if isinstance(ctl.min_lr, tuple) else 0
            old = ctl.apply(value, before._replace(reductions=before.reductions - skips[i]), group=group)
            new = ctl.apply(value, after._replace(reductions=after.reductions - skips[i]), group=group)
            if not old - new > eps:
                skips[i] += after.reductions - before.reductions

    def batch_plan(self, micro_batch=None):
        """The batch sizes the LR schedule was planned with (``lrkit.clocked(..., batch=...)``), as a
        :class:`lrkit.torch.BatchPlan`: ``batch_size(k)`` and ``accumulation(k)`` of update ``k`` (the next
        update is ``last_epoch``)."""
        from ._batches import BatchPlan
        lr = self._specs.get("lr") or [None]
        return BatchPlan(lr[0], micro_batch)

    @property
    def plateau_state(self):
        return self._plateau_state

    def state_dict(self):
        if self._device is not None:  # (reads the device: one sync per checkpoint)
            self._sync_from_device()
            self._last_lr = self._device.last_values()
        state = super().state_dict()
        state["_calls"] = self._calls
        state["plateau"] = None if self._plateau_state is None else self._plateau_state.to_dict()
        state["plateau_skips"] = list(self._plateau_skips)
        state["schedules"] = {_key_label(k): [None if s is None else repr(s) for s in per]
                              for k, per in self._specs.items()}
        return state

    def load_state_dict(self, state_dict, on_change=None):
        """Load a state; a saved schedule other than this scheduler's follows ``on_change`` (default: the
        constructor's, ``"raise"``): ``"keep"`` the saved plan, ``"new"`` the new one as written, ``"smooth"``
        the new one re-anchored at the resume step (``lrkit.rejoin``). Decided before anything changes."""
        policy = self.on_change if on_change is None else check_policy(on_change)
        specs, changes = replanned_specs(self, state_dict, policy)
        self._replanned, self._replan_changes = specs, bool(changes)
        try:
            super().load_state_dict(state_dict)
        finally:
            self.__dict__.pop("_replanned", None)
            self.__dict__.pop("_replan_changes", None)
        self.plan_changes.extend(changes)
        device = self._device
        if device is not None:  # the loaded step, scaling and plateau on the device, written once
            device.h = self._hyperparameters[0]
            device.take_scaling()
            device.take_plateau(self)
            device.set_step(max(self.last_epoch, 0))
            device.write(self.optimizer.param_groups)

    def _config_rules(self):
        state_rule = _greedy_state if isinstance(self.plateau, greedy) else plateau_state
        return {"_calls": integer_rule(-1), "plateau": optional(state_rule),
                "plateau_skips": each(integer_rule(0), self._group_count)}

    def _check_state(self, state, path="state_dict"):
        super()._check_state(state, path)
        calls, last = state.get("_calls", self._calls), state.get("last_epoch", self.last_epoch)
        if calls // self.accumulation_steps != last:
            raise state_error(f"{path}['_calls']", f"must give last_epoch ({last}) with accumulation_steps="
                              f"{self.accumulation_steps}", calls)

    def _load_extra(self, state):
        if self.__dict__.get("_replanned") is not None:
            self._plan_changed = self._replan_changes
            self._specs = self._replanned
        if "_calls" in state:
            self._calls = state["_calls"]
        if state.get("plateau") is not None and self.plateau is not None:
            kind = GreedyState if isinstance(self.plateau, greedy) else PlateauState
            self._plateau_state = kind.from_dict(state["plateau"])
        if "plateau_skips" in state:
            self._plateau_skips = list(state["plateau_skips"])

    def __repr__(self):
        parts = ", ".join(f"{_key_label(k)}={per[0]!r}" if all(s is per[0] for s in per) else
                          f"{_key_label(k)}=[{len(per)} schedules]" for k, per in self._specs.items())
        return f"ScheduleLR({parts}, last_epoch={self.last_epoch})"


def _greedy_state(path, value):
    """A greedy controller's state (``GreedyState.to_dict()``)."""
    try:
        GreedyState.from_dict(value)
    except LrkitError as error:
        raise state_error(path, f"is not a greedy state ({excerpt(str(error), 120)})", value) from None
