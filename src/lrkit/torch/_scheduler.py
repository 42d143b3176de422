"""``lrkit.torch.LRScheduler``: the base of lrkit's torch schedulers (stepping, torch's read API, state).

A subclass describes its curves as :class:`~lrkit.torch._step.Hyperparameter` values built on lrkit core
schedules (``_make_hyperparameters``, as every lrkit drop-in does) and is stepped in closed form by their
per-step routine; or it implements torch's ``get_lr()`` and is stepped the way torch steps it. Either way
``optimizer.step`` is not wrapped (``_step_order``).
"""
import math
import warnings

import torch
from torch.optim import lr_scheduler as torch_lr_scheduler

from .._errors import LrkitTypeError, LrkitValueError
from .._scaling import Scaling
from ._arguments import as_float, check_optimizer, copy_config, copy_of, integer, last_epoch_argument, plain_value
from ._loading import (check_state, check_values, each, fields, integer as integer_rule, optional, private_copy, real,
                       state_error, unchanged_on_error)
from ._step import CHAIN, CLOSED, INITIAL, Hyperparameter, key_name
from ._pickling import restore_scheduler, scheduler_state
from ._steady import one_tensor_step
from ._step_order import check_order, register_scheduler, watch
from ._replan import (anchor, check_drop_in_policy, config_changes, plan_rule, plan_state, planned, record, refuse,
                      saved_plan, smooth)

#: The ``lrkit`` entry of every state_dict: its layout version.
STATE_FORMAT = 1

EPOCH_DEPRECATION_WARNING = torch_lr_scheduler.EPOCH_DEPRECATION_WARNING

_GET_LR_WARNING = "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."


def _string(path, value):
    if not isinstance(value, str):
        raise state_error(path, "must be a string", value)


def _state_format(path, value):
    if type(value) is not int or value != STATE_FORMAT:
        raise state_error(path, f"must be {STATE_FORMAT} (the layout this lrkit reads)", value)


def group_count_error(scheduler, n):
    return LrkitValueError(
        f"the optimizer has {n} param groups, {type(scheduler).__name__} was built for "
        f"{scheduler._n_groups}: build a new scheduler after optimizer.add_param_group()")


class LRScheduler(torch_lr_scheduler.LRScheduler):
    """The base of lrkit's torch schedulers, a ``torch.optim.lr_scheduler.LRScheduler``.

    A subclass either describes its curves as lrkit core schedules (``_make_hyperparameters``, as every
    lrkit drop-in does) and is stepped in closed form, or implements torch's ``get_lr()`` and is stepped
    the way torch steps it; either way ``optimizer.step`` is not wrapped.
    """

    #: torch computes this class's LR from the group's current LR: lrkit rebases on changes made by others
    _chainable = False

    #: the last step of the schedule that may be stepped (OneCycleLR's total_steps)
    _last_time = math.inf

    #: the policy ``load_state_dict(state)`` applies to saved constructor arguments other than these (a
    #: drop-in's keyword-only ``on_change``): None is torch's rule (the saved ones win) with a warning
    on_change = None

    #: why this class cannot take ``on_change="smooth"`` (None: it can)
    _no_smooth = None

    def __init__(self, optimizer, last_epoch=-1):
        check_optimizer(optimizer)
        self.optimizer = optimizer
        last_epoch = last_epoch_argument(last_epoch)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", copy_of(group["lr"]))
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming scheduler "
                        f"with last_epoch >= 0.\n"
                        "This typically happens when:\n"
                        "1. You're trying to resume training from a checkpoint but haven't properly loaded "
                        "the optimizer state\n"
                        "2. You're using last_epoch >= 0 for a fresh training run (not recommended)")
        self.base_lrs = [copy_of(g["initial_lr"]) for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._n_groups = len(optimizer.param_groups)
        watch(optimizer)
        register_scheduler(optimizer, self)
        self._hyperparameters = planned(self, self._make_hyperparameters())
        self._steady = self._steady_hyperparameter()
        self._initial_step()

    # ---- the closed-form description --------------------------------------------------------------
    def _make_hyperparameters(self):
        """The hyperparameters (lrkit schedules) this scheduler drives; None: torch's ``get_lr()`` protocol."""
        return None

    def _bases(self):
        return [as_float(b) for b in self.base_lrs]

    def _unit_hyperparameter(self, unit, anchor=0.0):
        """The LR of every group as one unit curve between ``anchor`` (at 0) and the group's base LR (at 1):
        ``anchor + (base_lr - anchor) * unit``, rebased on changes made by others if the class is chainable."""
        bases = self._bases()
        n = len(bases)
        scaling = Scaling(bases) if anchor == 0 else Scaling([b - anchor for b in bases], [anchor] * n)
        return [Hyperparameter("lr", [unit], [0] * n, scaling, chainable=self._chainable)]

    #: the LR hyperparameter when a step may take ``_steady.one_tensor_step`` (see ``_steady_hyperparameter``)
    _steady = None

    def _steady_hyperparameter(self):
        """The LR hyperparameter when it is the only one and drives one param group (a tensor LR then takes
        ``_steady.one_tensor_step``), else None."""
        hyperparameters = self._hyperparameters
        if not hyperparameters or len(hyperparameters) != 1:
            return None
        lr = hyperparameters[0]
        return lr if lr.key == "lr" and lr.n_groups == 1 and lr.tensor_access is not None else None

    @property
    def schedules(self):
        """Each param group's learning rate as an lrkit core schedule (with any rebase applied)."""
        if not self._hyperparameters:
            return None
        lr = self._hyperparameters[0]
        return [lr.schedule(i) for i in range(lr.n_groups)]

    def _time(self, k):
        """The schedule time of step ``k``."""
        return k

    def _check_time(self, k):
        """Raise before anything changes when step ``k`` is out of range."""

    # ---- stepping ------------------------------------------------------------------------------------
    def _initial_step(self):
        """Initialize step counts and perform a step (torch's protocol; SequentialLR calls it)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def step(self, epoch=None):
        """Step the scheduler (``epoch`` is torch's deprecated closed-form argument)."""
        count = self._step_count
        if count == 1:
            check_order(self.optimizer)
        self._step_count = count + 1
        lr = self._steady
        if lr is not None and lr.access is lr.tensor_access and epoch is None and not self._is_initial:  # (``_steady``)
            k = self.last_epoch + 1
            if 0 < k <= self._last_time:
                wrote = one_tensor_step(lr, self.optimizer.param_groups, k)
                if wrote is not None:
                    self.last_epoch = k
                    if wrote:
                        self._last_lr = lr.steady.last_lr  # (``_remember``)
                    return
        if epoch is None and not self._is_initial and self._hyperparameters is not None:
            k = self.last_epoch + 1
            if 0 < k <= self._last_time:
                groups = self.optimizer.param_groups
                if len(groups) != self._n_groups:
                    raise group_count_error(self, len(groups))
                hyperparameters = self._hyperparameters
                lr = hyperparameters[0]
                wrote = lr.advance(groups, k)
                if len(hyperparameters) > 1:  # (momentum too)
                    for hyperparameter in hyperparameters[1:]:
                        wrote = hyperparameter.advance(groups, k) or wrote
                self.last_epoch = k
                if wrote:
                    if lr.numbers_only and lr.key == "lr":  # (``_remember``, one call less per step)
                        self._last_lr = list(lr.last_values)
                    else:
                        self._remember(groups)
                return
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        """The LR of the next step (``epoch`` given: of that step, in closed form from ``base_lrs``)."""
        if self._hyperparameters is None:
            return self._update_by_get_lr(epoch)
        groups = self.optimizer.param_groups
        if len(groups) != self._n_groups:
            raise group_count_error(self, len(groups))
        if epoch is None:
            k = self.last_epoch + 1
            mode = INITIAL if k == 0 else (CLOSED if self._is_initial else CHAIN)
        else:
            k = integer("epoch", epoch, 0) if not isinstance(epoch, float) else epoch
            mode = CLOSED
        self._check_time(k)
        self.last_epoch = k
        t = self._time(k)
        for hyperparameter in self._hyperparameters:
            hyperparameter.advance(groups, t, mode, self.base_lrs)
        self._remember(groups)

    def _remember(self, groups):
        """``get_last_lr()``'s values: the LRs just written (tensors as copies, as torch)."""
        lr = self._hyperparameters[0]
        if lr.key == "lr" and lr.numbers_only:
            self._last_lr = list(lr.last_values)
        elif lr.key == "lr" and lr.access is lr.tensor_access is not None:  # (copies made when read)
            self._last_lr = (lr.last_values, lr.written)  # (the values in the tensors' dtypes: get_last_lr)
        else:
            self._last_lr = [copy_of(g["lr"]) for g in groups]

    def _update_by_get_lr(self, epoch):
        """torch's own protocol for a subclass that implements ``get_lr()``."""
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed = getattr(self, "_get_closed_form_lr", None)
                values = closed() if closed is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(f"get_lr() returned {len(values)} values for {len(groups)} param groups")
        for group, lr in zip(groups, values):
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(plain_value(lr))
            else:
                group["lr"] = lr
        self._last_lr = [copy_of(g["lr"]) for g in groups]

    # ---- torch's read API ----------------------------------------------------------------------------
    def get_last_lr(self):
        """The LR of each param group after the last step (tensors are copies, as torch)."""
        last = self._last_lr
        if type(last) is tuple:  # (tensor LRs: ``(values, tensors)``, the copies made when read, not at every step)
            if len(last) == 1:  # (``(array,)``: a fused chain's values, the list made when read: ``_chain_fused``)
                last = self._last_lr = last[0].tolist()
            else:
                last = self._last_lr = [torch.tensor(v, dtype=t.dtype, device=t.device) for v, t in zip(*last)]
        return last

    def get_lr(self):
        """The LR of each param group at ``last_epoch`` in closed form (warns outside ``step()``, as torch)."""
        if not self._hyperparameters:
            raise NotImplementedError
        if not getattr(self, "_get_lr_called_within_step", False):
            warnings.warn(_GET_LR_WARNING, UserWarning, stacklevel=2)
        lr = self._hyperparameters[0]
        values = lr.values(lr.unit_values(self._time(self.last_epoch)))
        return [torch.tensor(v, dtype=g["lr"].dtype) if isinstance(g["lr"], torch.Tensor) else v
                for v, g in zip(values, self.optimizer.param_groups)]

    def _get_closed_form_lr(self):
        """The closed form at ``last_epoch`` from ``base_lrs`` (no rebase): torch's name."""
        lr = self._hyperparameters[0]
        return lr.values(lr.unit_values(self._time(self.last_epoch)), lr.initial)

    # ---- state ---------------------------------------------------------------------------------------
    #: the constructor arguments a state_dict carries, under torch's attribute names
    _CONFIG = ()

    def _config(self):
        """The constructor arguments under torch's attribute names (plain values)."""
        return {name: getattr(self, name) for name in self._CONFIG}

    def _load_config(self, state):
        """Take the constructor arguments from a state_dict (as torch, the saved ones win)."""
        copy_config(state, self._CONFIG, self)

    def state_dict(self):
        """The scheduler's state: ints, floats, strings, lists, dicts and None only (loads with
        ``torch.load(weights_only=True)``)."""
        state = {"last_epoch": self.last_epoch, "_step_count": self._step_count,
                 "base_lrs": [plain_value(b) for b in self.base_lrs],
                 "_last_lr": [plain_value(v) for v in self.get_last_lr()]}
        state.update(self._config())
        state["lrkit"] = self._lrkit_state()
        return state

    def _lrkit_state(self):
        hyperparameters = self._hyperparameters or []
        state = {"format": STATE_FORMAT, "class": type(self).__name__,  # ("tracks": the saved layout's name)
                 "tracks": {key_name(h.key): h.state() for h in hyperparameters}}
        plan = plan_state(self)
        if plan:
            state["plan"] = plan
        return state

    #: each change of plan a load found (``_replan``): a monitor reads it
    plan_changes = ()

    def load_state_dict(self, state_dict, on_change=None):
        """Load a state (from lrkit, or torch's own ``state_dict()`` of the same class). The argument is
        not modified. The whole state is checked first (lrkit's error naming the key and the value), then
        applied; a rejected state leaves the scheduler and the optimizer as they were. It does not matter
        whether the optimizer was restored before or after: the groups that still hold this scheduler's own
        last values are set to the loaded step's values, the others (restored by
        ``optimizer.load_state_dict``) are left as they are.

        Saved constructor arguments other than this scheduler's win, as in torch, with a
        ``PlanChangedWarning`` naming each one and the LR that results; ``on_change`` (default: the
        constructor's) chooses instead: ``"keep"`` (the saved ones, no warning), ``"new"`` (this
        scheduler's), ``"raise"``, ``"smooth"`` (the saved plan re-anchored onto this one's at the resume
        step: ``lrkit.rejoin`` per group, saved and loaded as the ``lrkit`` entry's ``"plan"``)."""
        policy = self.on_change if on_change is None else check_drop_in_policy(on_change, self)
        state = private_copy(state_dict)
        self._check_state(state)
        try:
            with unchanged_on_error(self):
                self._on_change_now = policy
                groups = self.optimizer.param_groups
                ours = self._owns(groups)
                self._load(state)
                self._check_loaded()
                if self.__dict__.pop("_plan_changed", False):  # a new plan's values go into every group
                    ours = {key_name(h.key): [True] * h.n_groups for h in self._hyperparameters or []}
                self._adopt(groups, ours)
        finally:
            self.__dict__.pop("_on_change_now", None)

    # ---- what a state may hold ---------------------------------------------------------------------
    def _group_count(self):
        return getattr(self, "_n_groups", None) or len(self.optimizer.param_groups)

    def _state_rules(self):
        """key -> rule (``_loading``) for each key of a state_dict this class reads."""
        n = self._group_count
        rules = {"last_epoch": integer_rule(-1), "_step_count": integer_rule(0), "base_lrs": each(real(0), n),
                 "_last_lr": each(real(0), n), "lrkit": fields(self._lrkit_rules())}
        rules.update(self._config_rules())
        return rules

    def _lrkit_rules(self):
        """The rules of the ``lrkit`` entry of a state_dict."""
        n = self._group_count
        track = fields({"scale": each(real(), n), "offset": each(real(), n), "values": each(optional(real(0)), n)})

        def tracks(path, value):
            fields({})(path, value)
            for key, item in value.items():
                if not isinstance(key, str):
                    raise state_error(path, "must have track names (strings) as keys", key)
                track(f"{path}[{key!r}]", item)
        return {"format": _state_format, "class": _string, "tracks": tracks, "plan": plan_rule(n)}

    def _config_rules(self):
        """Rules for the constructor arguments a state_dict carries (``_CONFIG``)."""
        return {}

    def _check_state(self, state, path="state_dict"):
        """Check every key of ``state`` (a dict) before anything changes; subclasses add checks across keys."""
        check_state(self._state_rules(), state, path)

    def _check_loaded(self):
        """After ``_load``: the values the hyperparameters hold are finite and non-negative."""
        for h in self._hyperparameters or []:
            check_values(h)

    def _load(self, state):
        """Take ``state`` (a private copy) without writing to the optimizer: afterwards every group is
        expected to hold the loaded values (a group that does not is rebased on at the next step)."""
        groups = self.optimizer.param_groups
        changes = config_changes(self, state) if self._hyperparameters is not None else {}
        policy = self.__dict__.get("_on_change_now")
        if changes and policy == "raise":
            refuse(self, changes, state.get("last_epoch", self.last_epoch))
        constructed = self._hyperparameters if changes else None
        re_anchor = self._config() if changes and policy == "smooth" else None  # (the new arguments)
        if not (changes and policy == "new"):
            self._load_config(state)
        if changes and policy in ("new", "smooth"):
            self._plan_changed = True
        anchor(self, None if changes and policy == "new" else saved_plan(state))
        if "base_lrs" in state:
            self.base_lrs = [as_float(b) for b in state["base_lrs"]]
        if "last_epoch" in state:
            self.last_epoch = state["last_epoch"]
        if "_step_count" in state:
            self._step_count = state["_step_count"]
        self._load_extra(state)
        self._hyperparameters = planned(self, self._make_hyperparameters())
        if re_anchor is not None:
            if self.last_epoch >= 0:
                self._hyperparameters = smooth(self, re_anchor, self._time(self.last_epoch))
            else:  # (not started: nothing to be continuous with)
                self._load_config(re_anchor)
                anchor(self, None)
                self._hyperparameters = self._make_hyperparameters()
            self._load_extra(state)  # (what the class derives from its arguments: CosineAnnealingWarmRestarts' cycle)
        self._steady = self._steady_hyperparameter()
        lrkit_state = state.get("lrkit") if isinstance(state.get("lrkit"), dict) else {}
        saved = lrkit_state.get("tracks", {}) if isinstance(lrkit_state.get("tracks"), dict) else {}
        last = state.get("_last_lr")
        started = self.last_epoch >= 0
        t = self._time(self.last_epoch) if started else None
        for h in self._hyperparameters or []:
            fresh = re_anchor is not None or (changes and policy == "new")  # (a new plan: not the saved rebase)
            own = saved.get(key_name(h.key)) if not fresh else None
            torch_values = (last if own is None and not fresh and h.key == "lr" and isinstance(last, list)
                            and len(last) == h.n_groups else None)  # a torch state_dict: its last LRs
            h.restore(groups, own, t, h.unit_values(t) if started else None, torch_values)
        if self._hyperparameters and started:
            self._last_lr = [torch.tensor(v, dtype=g["lr"].dtype) if isinstance(g["lr"], torch.Tensor) else v
                             for v, g in zip(self._hyperparameters[0].last_values, groups)]
        elif isinstance(last, list):
            self._last_lr = last
        if changes:
            lr = self._hyperparameters[0]
            other = None
            if started and policy is None and constructed:  # the LR the constructor's arguments give there
                other = list(constructed[0].values(constructed[0].unit_values(t)))
            record(self, changes, policy, self.last_epoch, [v for v in lr.last_values], other)

    def _owns(self, groups):
        """Per hyperparameter: does each group still hold the value this scheduler wrote last?"""
        return {key_name(h.key): h.holds_own_values(groups) for h in self._hyperparameters or []}

    def _adopt(self, groups, ours):
        """Write the loaded values into the groups that held this scheduler's own values before the load."""
        for h in self._hyperparameters or []:
            flags = ours.get(key_name(h.key))
            if flags:
                h.write_restored(groups, flags)

    def _load_extra(self, state):
        """Class-specific state besides the constructor arguments."""

    # ---- pickle and deepcopy (``_pickling``: the hooks and caches of this process rebuilt, no code pickled) ----
    __getstate__, __setstate__ = scheduler_state, restore_scheduler

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch})"
