"""The drop-ins whose curve cycles, and the momentum with it: CyclicLR, OneCycleLR,
CosineAnnealingWarmRestarts. Each overwrites the LR at every step, as torch's do."""
import functools
import math
import numbers

import torch
from torch.optim import lr_scheduler as torch_lr_scheduler

from .. import _checks as check
from .._errors import LrkitTypeError, LrkitValueError
from .._recipes import one_cycle
from .._scaling import Scaling
from .._shapes import cosine_restarts, cyclic
from ._arguments import (as_float, callable_state, check_optimizer, copy_config, last_epoch_argument, non_negative,
                         number, per_group, plain_value, positive)
from ._loading import MAX_STEP, attributes, choice, each, flag, optional, real, state_error
from ._loading import integer as integer_rule
from ._replan import check_drop_in_policy
from ._scheduler import LRScheduler, group_count_error
from ._step import CHAIN, CLOSED, Hyperparameter


def _any_string(path, value):
    if not isinstance(value, str):
        raise state_error(path, "must be a string", value)


class _Partial(functools.partial):
    """``functools.partial`` equal to another of the same function and arguments (torch's CyclicLR keeps
    ``partial(_exp_range_scale_fn, gamma)``: two schedulers in the same state compare equal)."""

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return (self.func, self.args, self.keywords) == (other.func, other.args, other.keywords)

    __hash__ = None


def _anneal_strategy(fn):
    """``"cos"`` or ``"linear"`` for the ``anneal_func`` of a OneCycleLR state_dict saved by torch < 2.3
    (its ``_annealing_cos`` / ``_annealing_linear``, a function or a bound method: read by name, not called)."""
    name = getattr(getattr(fn, "__func__", fn), "__name__", None)
    strategy = {"_annealing_cos": "cos", "_annealing_linear": "linear"}.get(name)
    if strategy is None:
        text = repr(fn)
        raise LrkitValueError(f"state_dict['anneal_func'] must be torch's OneCycleLR._annealing_cos or "
                              f"_annealing_linear, got {text if len(text) <= 80 else text[:77] + '...'}")
    return strategy


def _momentum_key(optimizer, cycle_momentum):
    """(use_beta1, the group key of the momentum) for cycle_momentum, torch's rule."""
    if not cycle_momentum:
        return False, None
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    use_beta1 = "betas" in optimizer.defaults
    return use_beta1, (("betas", 0) if use_beta1 else "momentum")


def _cycle_momentum(scheduler, optimizer, cycle_momentum, checks):
    """torch's ``cycle_momentum`` set-up (CyclicLR, OneCycleLR): ``use_beta1``, the group key, and each
    group's ``base_momentums`` and ``max_momentums``, checked in the order of ``checks`` (name, value)."""
    scheduler.cycle_momentum = cycle_momentum
    scheduler.use_beta1, scheduler._momentum_key = _momentum_key(optimizer, cycle_momentum)
    if cycle_momentum:
        momenta = {name: per_group(name, optimizer, value, number) for name, value in checks}
        scheduler.base_momentums, scheduler.max_momentums = momenta["base_momentum"], momenta["max_momentum"]


def _momentum_rules(scheduler):
    """The state_dict rules of the cycle_momentum arguments (CyclicLR, OneCycleLR)."""
    n = scheduler._group_count
    return {"cycle_momentum": flag, "use_beta1": flag, "base_momentums": each(real(0), n),
            "max_momentums": each(real(0), n)}


def _check_momentum_state(scheduler, state, path):
    """A state that cycles the momentum gives both lists (or the scheduler has them), for a key the groups hold."""
    if not state.get("cycle_momentum", scheduler.cycle_momentum):
        return
    for name in ("base_momentums", "max_momentums"):
        if name not in state and getattr(scheduler, name, None) is None:
            raise LrkitValueError(f"{path} has cycle_momentum=True but no {name!r}")
    use_beta1 = state.get("use_beta1", scheduler.use_beta1)
    key = "betas" if use_beta1 else "momentum"
    if any(key not in g for g in scheduler.optimizer.param_groups):
        raise state_error(f"{path}['use_beta1']", f"must match the optimizer (its groups have no {key!r})",
                          use_beta1)


def _write_momentum(scheduler, optimizer):
    """Each group starts at its max momentum and records its max and base ones (torch's protocol)."""
    for m, b, group in zip(scheduler.max_momentums, scheduler.base_momentums, optimizer.param_groups):
        _set_momentum(group, scheduler._momentum_key, m)
        group["max_momentum"] = m
        group["base_momentum"] = b


def _set_momentum(group, key, value):
    """Write a momentum value into a group as torch does (a tensor is filled in place)."""
    if isinstance(key, tuple):
        old = group["betas"]
        if isinstance(old[0], torch.Tensor):
            old[0].fill_(value)
        else:
            group["betas"] = (value, *old[1:])
    elif isinstance(group.get(key), torch.Tensor):
        group[key].fill_(value)
    else:
        group[key] = value


class CyclicLR(LRScheduler, torch_lr_scheduler.CyclicLR):
    """torch's CyclicLR (momentum / beta1 cycled inversely); lrkit:
    ``cyclic(0, 1, step_size_up, step_size_down, mode, gamma)`` as ``base_lr + (max_lr - base_lr) * unit``
    and ``max_momentum - (max_momentum - base_momentum) * unit``; a custom ``scale_fn`` is the core's
    ``cyclic(..., scale_fn=scale_fn, scale_mode=scale_mode)``."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1, *, on_change=None):
        self.on_change = check_drop_in_policy(on_change, type(self))
        check_optimizer(optimizer)
        self.optimizer = optimizer
        last_epoch = last_epoch_argument(last_epoch)
        base_lrs = per_group("base_lr", optimizer, base_lr)
        self.max_lrs = per_group("max_lr", optimizer, max_lr)
        if mode not in ["triangular", "triangular2", "exp_range"] and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        size_up = positive("step_size_up", step_size_up)
        size_down = size_up if step_size_down is None else positive("step_size_down", step_size_down)
        self.total_size = size_up + size_down
        self.step_ratio = size_up / self.total_size
        self._size_up, self._size_down = size_up, (None if step_size_down is None else size_down)
        self.mode = mode
        self.gamma = positive("gamma", gamma) if mode == "exp_range" and scale_fn is None else gamma
        if scale_fn is not None and not callable(scale_fn):
            raise LrkitTypeError(f"scale_fn must be callable, got {scale_fn!r}")
        check.choice("scale_mode", scale_mode, ("cycle", "iterations"))
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        _cycle_momentum(self, optimizer, cycle_momentum,
                        (("base_momentum", base_momentum), ("max_momentum", max_momentum)))
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                if isinstance(group["lr"], torch.Tensor):
                    group["lr"].fill_(lr)
                else:
                    group["lr"] = lr
            if cycle_momentum:
                _write_momentum(self, optimizer)
        self._cyclic_bases = base_lrs
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self):
        if self._scale_fn_custom is not None:
            return
        if self.mode == "triangular":
            self._scale_fn_ref = torch_lr_scheduler.CyclicLR._triangular_scale_fn
            self.scale_mode = "cycle"
        elif self.mode == "triangular2":
            self._scale_fn_ref = torch_lr_scheduler.CyclicLR._triangular2_scale_fn
            self.scale_mode = "cycle"
        elif self.mode == "exp_range":
            self._scale_fn_ref = _Partial(torch_lr_scheduler.CyclicLR._exp_range_scale_fn, self.gamma)
            self.scale_mode = "iterations"

    def _unit(self):
        if self._scale_fn_custom is None:
            gamma = self.gamma if self.mode == "exp_range" else 1.0
            return cyclic(0.0, 1.0, steps_up=self._size_up, steps_down=self._size_down, mode=self.mode, gamma=gamma)
        return cyclic(0.0, 1.0, steps_up=self._size_up, steps_down=self._size_down, scale_fn=self._scale_fn_custom,
                      scale_mode=self.scale_mode)

    def _make_hyperparameters(self):
        unit = self._unit()
        bases = self._bases()
        n = len(bases)
        lr = Hyperparameter("lr", [unit], [0] * n, Scaling([m - b for m, b in zip(self.max_lrs, bases)], bases))
        if not self.cycle_momentum:
            return [lr]
        momentum = Hyperparameter(self._momentum_key, [unit], [0] * n,
                                  Scaling([-(m - b) for m, b in zip(self.max_momentums, self.base_momentums)],
                                          self.max_momentums))
        momentum.unit_shared_with = lr
        return [lr, momentum]

    def _bases(self):
        return [float(b) for b in self._cyclic_bases]

    def _config(self):
        state = {"max_lrs": list(self.max_lrs), "total_size": self.total_size, "step_ratio": self.step_ratio,
                 "step_size_up": self._size_up, "step_size_down": self._size_down, "mode": self.mode,
                 "gamma": plain_value(self.gamma), "scale_mode": self.scale_mode,
                 "cycle_momentum": self.cycle_momentum, "use_beta1": self.use_beta1,
                 "_scale_fn_custom": callable_state(self._scale_fn_custom)}
        if self.cycle_momentum:
            state["base_momentums"] = list(self.base_momentums)
            state["max_momentums"] = list(self.max_momentums)
        return state

    def _config_rules(self):
        n = self._group_count
        size = real(0, MAX_STEP, above=True)
        modes = choice("triangular", "triangular2", "exp_range") if self._scale_fn_custom is None else _any_string
        rules = {"max_lrs": each(real(0), n), "total_size": size, "step_ratio": real(0, 1, above=True),
                 "step_size_up": size, "step_size_down": optional(size), "mode": modes,
                 "gamma": real(0, above=True), "scale_mode": choice("cycle", "iterations"),
                 "_scale_fn_custom": attributes}
        rules.update(_momentum_rules(self))
        return rules

    def _check_state(self, state, path="state_dict"):
        super()._check_state(state, path)
        _check_momentum_state(self, state, path)

    def _load_config(self, state):
        fn = state.pop("_scale_fn_custom", None)
        if fn is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn)
        copy_config(state, ("max_lrs", "total_size", "step_ratio", "mode", "gamma", "scale_mode",
                             "cycle_momentum", "use_beta1", "base_momentums", "max_momentums"), self)
        if "step_size_up" in state:
            self._size_up = state["step_size_up"]
            self._size_down = state.get("step_size_down")
        elif "total_size" in state or "step_ratio" in state:  # torch's state: its sizes win, as in torch
            self._size_up = self.step_ratio * self.total_size
            self._size_down = self.total_size - self._size_up
        if "base_lrs" in state:
            self._cyclic_bases = [as_float(b) for b in state["base_lrs"]]
        self._init_scale_fn()
        self._momentum_key = (("betas", 0) if self.use_beta1 else "momentum") if self.cycle_momentum else None


class OneCycleLR(LRScheduler, torch_lr_scheduler.OneCycleLR):
    """torch's OneCycleLR (momentum / beta1 cycled inversely, ``three_phase``); lrkit:
    ``one_cycle(1, total_steps, pct_start, anneal_strategy, div_factor, final_div_factor, three_phase)``
    times ``max_lr``, ``.extrapolated()`` so that the step torch allows one past the end gets torch's value;
    the momentum is ``max_momentum + (base_momentum - max_momentum) * v`` with ``v`` the core's
    ``one_cycle(...).momentum(0, 1)``, extrapolated the same way. Stepping beyond ``total_steps`` raises
    ValueError, as torch, before anything changes. A state_dict saved by torch < 2.3 (``anneal_func``, a
    function, instead of ``_anneal_func_type``) loads, its strategy winning as every saved argument does."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1, *, on_change=None):
        self.on_change = check_drop_in_policy(on_change, type(self))
        check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._anneal_func_type = anneal_strategy
        self.pct_start = pct_start
        self.div_factor = positive("div_factor", div_factor)
        self.final_div_factor = positive("final_div_factor", final_div_factor)
        self.three_phase = check.flag("three_phase", three_phase)
        last_epoch = last_epoch_argument(last_epoch)
        max_lrs = per_group("max_lr", optimizer, max_lr)
        self._cycle()  # validates pct_start * total_steps (lrkit's error) before the groups change
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        else:
            max_lrs = [as_float(g.get("max_lr", m)) for m, g in zip(max_lrs, optimizer.param_groups)]
        self.max_lrs = max_lrs
        _cycle_momentum(self, optimizer, cycle_momentum,
                        (("max_momentum", max_momentum), ("base_momentum", base_momentum)))
        if cycle_momentum and last_epoch == -1:
            _write_momentum(self, optimizer)
        super().__init__(optimizer, last_epoch)

    def _cycle(self):
        return one_cycle(1.0, steps=self.total_steps, pct_start=self.pct_start, anneal=self._anneal_func_type,
                         div_factor=self.div_factor, final_div_factor=self.final_div_factor,
                         three_phase=self.three_phase)

    def _make_hyperparameters(self):
        cycle = self._cycle()
        n = len(self.max_lrs)
        lr = Hyperparameter("lr", [cycle.extrapolated()], [0] * n, Scaling(self.max_lrs))
        if not self.cycle_momentum:
            return [lr]
        # w from 1 (max_momentum) to 0 (base_momentum) and back: base + (max - base) * w (w rises past 1 one
        # step past the end, as torch's momentum does; a unit falling below 0 there is no lrkit schedule)
        w = cycle.extrapolated(cycle.momentum(1.0, 0.0))
        return [lr, Hyperparameter(self._momentum_key, [w], [0] * n,
                                   Scaling([m - b for m, b in zip(self.max_momentums, self.base_momentums)],
                                           self.base_momentums))]

    @property
    def total_steps(self):
        return self._last_time

    @total_steps.setter
    def total_steps(self, value):
        self._last_time = value  # (read by every step: a plain attribute)

    def _check_time(self, k):
        if k > self.total_steps:
            raise LrkitValueError(
                f"Tried to step {k} times. The specified number of total steps is {self.total_steps} "
                f"(OneCycleLR allows total_steps + 1 scheduler steps; the LR is unchanged)")

    def _config(self):
        state = {"total_steps": self.total_steps, "pct_start": self.pct_start,
                 "_anneal_func_type": self._anneal_func_type, "div_factor": self.div_factor,
                 "final_div_factor": self.final_div_factor, "three_phase": self.three_phase,
                 "max_lrs": list(self.max_lrs), "cycle_momentum": self.cycle_momentum,
                 "use_beta1": self.use_beta1}
        if self.cycle_momentum:
            state["max_momentums"] = list(self.max_momentums)
            state["base_momentums"] = list(self.base_momentums)
        return state

    def _config_rules(self):
        n = self._group_count
        rules = {"total_steps": integer_rule(1), "pct_start": real(0, 1), "_anneal_func_type": choice("cos", "linear"),
                 "div_factor": real(0, above=True), "final_div_factor": real(0, above=True), "three_phase": flag,
                 "max_lrs": each(real(0), n)}
        rules.update(_momentum_rules(self))
        return rules

    def _check_state(self, state, path="state_dict"):
        super()._check_state(state, path)
        _check_momentum_state(self, state, path)
        total = state.get("total_steps", self.total_steps)
        if state.get("last_epoch", self.last_epoch) > total:
            raise state_error(f"{path}['last_epoch']", f"must be <= total_steps ({total})", state.get("last_epoch"))

    def load_state_dict(self, state_dict, on_change=None):
        if isinstance(state_dict, dict) and "anneal_func" in state_dict:  # saved by torch < 2.3
            fn = state_dict["anneal_func"]
            state_dict = {k: v for k, v in state_dict.items() if k != "anneal_func"}
            state_dict.setdefault("_anneal_func_type", _anneal_strategy(fn))
        super().load_state_dict(state_dict, on_change=on_change)

    def _load_config(self, state):
        copy_config(state, ("total_steps", "pct_start", "_anneal_func_type", "div_factor", "final_div_factor",
                             "three_phase", "max_lrs", "cycle_momentum", "use_beta1", "max_momentums",
                             "base_momentums"), self)
        phases = state.get("_schedule_phases")
        if "pct_start" not in state and isinstance(phases, list) and len(phases) in (2, 3):
            # torch's own state: its phases and the groups' initial_lr / max_lr / min_lr hold the arguments
            self.three_phase = len(phases) == 3
            self.pct_start = (float(phases[0]["end_step"]) + 1) / self.total_steps
            groups = self.optimizer.param_groups
            if all(isinstance(groups[0].get(k), (int, float)) and groups[0][k] > 0
                   for k in ("initial_lr", "max_lr", "min_lr")):
                self.div_factor = groups[0]["max_lr"] / groups[0]["initial_lr"]
                self.final_div_factor = groups[0]["initial_lr"] / groups[0]["min_lr"]
            if self.cycle_momentum and "max_momentums" not in state and all(
                    isinstance(g.get(k), (int, float)) for g in groups for k in ("max_momentum", "base_momentum")):
                self.max_momentums = [float(g["max_momentum"]) for g in groups]
                self.base_momentums = [float(g["base_momentum"]) for g in groups]
        self._momentum_key = (("betas", 0) if self.use_beta1 else "momentum") if self.cycle_momentum else None


class CosineAnnealingWarmRestarts(LRScheduler, torch_lr_scheduler.CosineAnnealingWarmRestarts):
    """torch's CosineAnnealingWarmRestarts, fractional epochs included (``step(epoch + i / iters)``);
    lrkit: ``cosine_restarts(1, 0, period=T_0, period_mult=T_mult)`` as
    ``eta_min + (base_lr - eta_min) * unit`` on the (float) epoch. ``T_cur`` / ``T_i`` are kept as torch
    keeps them; setting ``T_cur`` moves the epoch within the current cycle."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1, *, on_change=None):
        self.on_change = check_drop_in_policy(on_change, type(self))
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = non_negative("eta_min", eta_min)
        self._epoch = float(last_epoch)
        self._cycle_start = 0
        super().__init__(optimizer, last_epoch)

    def _restarts(self):
        return cosine_restarts(1.0, 0.0, period=self.T_0, period_mult=self.T_mult)

    def _make_hyperparameters(self):
        self._cycles = self._restarts()  # (where the cycles are, also under a re-anchored plan)
        return self._unit_hyperparameter(self._cycles, anchor=self.eta_min)

    @property
    def T_cur(self):
        return self._epoch - self._cycle_start

    @T_cur.setter
    def T_cur(self, value):
        self._epoch = self._cycle_start + value

    def _locate(self, epoch, restarts=None):
        """torch's ``T_i`` and the start of the cycle ``epoch`` falls in (the core's ``cycle_at``)."""
        restarts = self._cycles if restarts is None else restarts
        _, self._cycle_start, length = restarts.cycle_at(epoch)
        self.T_i = int(length) if length <= 2 ** 53 else length  # an int, as torch's T_0 * T_mult ** n

    def _time(self, k):
        return self._epoch

    def step(self, epoch=None):
        """``step()`` moves one epoch on; ``step(epoch)`` jumps to ``epoch`` (a float is fine)."""
        self._step_count += 1  # (torch's CosineAnnealingWarmRestarts.step checks no step order)
        if epoch is None:
            new, last = self._epoch + 1, self.last_epoch + 1
            if last <= 0:  # (the first step: epoch 0, as torch)
                new, last = 0.0, 0
        else:
            if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real):
                raise LrkitTypeError(f"epoch must be a number, got {epoch!r}")
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if not math.isfinite(epoch):
                raise LrkitValueError(f"epoch must be finite, got {epoch!r}")
            new, last = float(epoch), math.floor(epoch)
        groups = self.optimizer.param_groups
        if len(groups) != self._n_groups:
            raise group_count_error(self, len(groups))
        start = self._cycle_start
        if not start <= new < start + self.T_i:
            self._locate(new)
        self._epoch, self.last_epoch = new, last
        lr = self._hyperparameters[0]
        # (not chainable: CHAIN only skips a step whose values did not change)
        if lr.advance(groups, new, CLOSED if self._is_initial else CHAIN):
            if lr.numbers_only:  # (``_remember``, one call less per step)
                self._last_lr = list(lr.last_values)
            else:
                self._remember(groups)

    def _update_lr(self, epoch=None):
        if epoch is None:
            return self.step()
        self._epoch = float(epoch)
        self._locate(self._epoch)
        self.last_epoch = math.floor(epoch)
        groups = self.optimizer.param_groups
        for hyperparameter in self._hyperparameters:
            hyperparameter.advance(groups, self._epoch, CLOSED)
        self._remember(groups)

    def _config(self):
        return {"T_0": self.T_0, "T_i": self.T_i, "T_mult": self.T_mult, "eta_min": self.eta_min,
                "T_cur": self.T_cur}

    def _config_rules(self):
        return {"T_0": integer_rule(1), "T_mult": integer_rule(1), "eta_min": real(0), "T_i": integer_rule(1),
                "T_cur": real(-1, MAX_STEP)}

    def _lrkit_rules(self):
        return {**super()._lrkit_rules(), "epoch": real(-1, MAX_STEP)}

    def _load_config(self, state):
        copy_config(state, ("T_0", "T_mult", "eta_min"), self)

    def _load_extra(self, state):
        lrkit_state = state.get("lrkit") if isinstance(state.get("lrkit"), dict) else {}
        epoch = lrkit_state.get("epoch")
        if epoch is None:  # a torch state_dict: the epoch from its T_i and T_cur
            epoch = state.get("last_epoch", 0)
        self._epoch = float(epoch)
        self._locate(self._epoch, self._restarts())  # (the loaded T_0 and T_mult)

    def _lrkit_state(self):
        state = super()._lrkit_state()
        state["epoch"] = self._epoch
        return state


