"""``ReduceLROnPlateau`` on lrkit's plateau controller (``lrkit.plateau``, the core's pure decision rule)."""
import warnings

import torch
from torch.optim import lr_scheduler as torch_lr_scheduler

from .._plateau import PlateauState, plateau
from ._arguments import as_float, check_optimizer, copy_of, non_negative, plain_value
from ._loading import choice, each, fields, optional, plateau_state, real, state_error
from ._loading import integer as integer_rule
from ._distributed import check_reduce, in_process_group, reduce_metric
from ._scheduler import EPOCH_DEPRECATION_WARNING, STATE_FORMAT, LRScheduler
from ._step_order import register_scheduler


class ReduceLROnPlateau(LRScheduler, torch_lr_scheduler.ReduceLROnPlateau):
    """torch's ReduceLROnPlateau on lrkit's plateau controller (``lrkit.plateau``).

    Same arguments, decisions and LRs as torch; ``nonfinite`` (keyword only, lrkit) is the NaN/inf rule:
    ``"bad"`` (default: a non-finite metric is an epoch without improvement, as torch treats NaN),
    ``"raise"`` or ``"ignore"``. The learning rate lives in the optimizer, as in torch: each reduction
    is ``max(lr * factor, min_lr)`` of the group's current LR (applied when it changes it by more than
    ``eps``), so other schedulers and hand edits compose with it as they do with torch's.
    """
    _no_smooth = "it is driven by a metric, not by a plan"

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8, *, nonfinite="bad", reduce="mean"):
        """torch's arguments, and two of lrkit's (keyword only): ``nonfinite``, the NaN/inf rule, and
        ``reduce``: in a ``torch.distributed`` job every rank's metric is combined, "mean" (default),
        "min" or "max", so that every rank takes the same decision (None: each rank its own metric).
        If any rank's metric is NaN, every rank gets NaN (see ``_distributed``)."""
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        check_optimizer(optimizer)
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = [non_negative(f"min_lr[{i}]", m) for i, m in enumerate(min_lr)]
        else:
            self.default_min_lr = non_negative("min_lr", min_lr)
            self.min_lrs = [self.default_min_lr] * n
        if mode not in {"min", "max"}:
            raise ValueError("mode " + str(mode) + " is unknown!")
        if threshold_mode not in {"rel", "abs"}:
            raise ValueError("threshold mode " + str(threshold_mode) + " is unknown!")
        self._ctl = plateau(mode=mode, factor=factor, patience=patience, threshold=threshold,
                            threshold_mode=threshold_mode, cooldown=cooldown, eps=eps, nonfinite=nonfinite,
                            threshold_rule="torch")  # torch's relative rule, negative metrics included
        self.reduce = check_reduce(reduce)
        self._state = self._ctl.init()  # (five attributes: see ``_state``)
        self._tensor_groups = any(isinstance(g["lr"], torch.Tensor) for g in optimizer.param_groups)
        self.last_epoch = 0
        self._step_count = 0
        self._hyperparameters = None
        self._last_lr = [copy_of(g["lr"]) for g in optimizer.param_groups]
        register_scheduler(optimizer, self)

    # torch's attributes, read from the controller and its state
    factor = property(lambda self: self._ctl.factor)
    patience = property(lambda self: self._ctl.patience)
    cooldown = property(lambda self: self._ctl.cooldown)
    eps = property(lambda self: self._ctl.eps)
    mode = property(lambda self: self._ctl.mode)
    threshold = property(lambda self: self._ctl.threshold)
    threshold_mode = property(lambda self: self._ctl.threshold_mode)
    nonfinite = property(lambda self: self._ctl.nonfinite)
    mode_worse = property(lambda self: self._ctl.worst)
    in_cooldown = property(lambda self: self.cooldown_counter > 0)

    @property
    def _state(self):
        """The controller's state, made when read: the scheduler keeps its numbers as plain attributes, torch's
        ``best``, ``num_bad_epochs`` and ``cooldown_counter`` (a hand edit of one is a change of state, as in
        torch) and lrkit's ``_epochs`` and ``_reductions``, so that a step changes numbers, not a value."""
        return PlateauState(self.best, self.num_bad_epochs, self.cooldown_counter, self._epochs, self._reductions)

    @_state.setter
    def _state(self, state):
        self.best, self.num_bad_epochs, self.cooldown_counter, self._epochs, self._reductions = state

    @property
    def controller(self):
        """The ``lrkit.plateau`` value this scheduler follows."""
        return self._ctl

    @property
    def plateau_state(self):
        """The controller's state (an ``lrkit.PlateauState``)."""
        return self._state

    def _reset(self):
        self._state = self._ctl.init()

    def is_better(self, a, best):
        return self._ctl.is_better(a, best)

    def step(self, metrics, epoch=None):
        """One epoch's metric: maybe reduce the LRs."""
        current = metrics if type(metrics) is float else float(metrics)
        if self.reduce is not None and in_process_group():
            current = reduce_metric(current, self.reduce)
        if epoch is not None or current - current != 0.0:  # (an epoch given, a non-finite metric)
            return self._step_general(current, epoch)
        # the common call: the controller's rule on the numbers this scheduler keeps (``_state``)
        before = self._reductions
        self.best, self.num_bad_epochs, self.cooldown_counter, self._epochs, self._reductions = self._ctl.advance(
            self.best, self.num_bad_epochs, self.cooldown_counter, self._epochs, before, current)
        self.last_epoch += 1
        if self._reductions != before:
            self._reduce_and_remember()
        elif self._tensor_groups:
            self._last_lr = [copy_of(g["lr"]) for g in self.optimizer.param_groups]
        else:
            groups = self.optimizer.param_groups
            self._last_lr = [groups[0]["lr"]] if len(groups) == 1 else [g["lr"] for g in groups]

    def _step_general(self, current, epoch):
        """``step`` with an epoch given or a non-finite metric: through the controller's ``update``."""
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=3)
        before = self._state
        state = self._ctl.update(before, current)
        if state is before:  # nonfinite="ignore": nothing happened
            return
        self.last_epoch = epoch
        self._state = state
        if state.reductions != before.reductions:
            self._reduce_and_remember()
            return
        self._last_lr = [copy_of(g["lr"]) if self._tensor_groups else g["lr"] for g in self.optimizer.param_groups]

    def _reduce_and_remember(self):
        """A new reduction: each group's LR cut (torch's rule, ``plateau.reduce_all``), then ``_last_lr``."""
        groups = self.optimizer.param_groups
        if len(groups) == 1 and not self._tensor_groups and len(self.min_lrs) == 1:
            group = groups[0]
            lr = group["lr"]
            new = self._ctl.reduce_all((lr,), self.min_lrs)[0]
            if new is not lr:
                group["lr"] = new
            self._last_lr = [new]
            return
        self._reduce_lr()
        if self._tensor_groups:
            self._last_lr = [copy_of(g["lr"]) for g in groups]
        else:
            self._last_lr = [g["lr"] for g in groups]

    def _reduce_lr(self, epoch=None):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    "The number of param groups in the `optimizer` "
                    f"({len(groups)}) differs "
                    f"from when `ReduceLROnPlateau` was initialized "
                    f"({len(self.min_lrs)}), usually due to a new "
                    "param group being added to the optimizer. Please "
                    "modify the `min_lrs` field to match the length "
                    "of the `optimizer` param groups.")
            self.min_lrs = [self.default_min_lr] * len(groups)
            self._tensor_groups = any(isinstance(g["lr"], torch.Tensor) for g in groups)
        lrs = [g["lr"] for g in groups]
        floats = [v.item() if isinstance(v, torch.Tensor) else v for v in lrs] if self._tensor_groups else lrs
        for group, old, x, new in zip(groups, lrs, floats, self._ctl.reduce_all(floats, self.min_lrs)):
            if new is not x:
                if isinstance(old, torch.Tensor):
                    old.fill_(new)
                else:
                    group["lr"] = new

    def get_lr(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        s = self._state
        return {"factor": self.factor, "min_lrs": list(self.min_lrs), "default_min_lr": self.default_min_lr,
                "patience": self.patience, "cooldown": self.cooldown, "eps": self.eps,
                "last_epoch": self.last_epoch, "_last_lr": [plain_value(v) for v in self._last_lr],
                "mode": self.mode, "threshold": self.threshold, "threshold_mode": self.threshold_mode,
                "best": s.best, "num_bad_epochs": s.bad_epochs, "cooldown_counter": s.cooldown_left,
                "mode_worse": self.mode_worse, "nonfinite": self.nonfinite, "reduce": self.reduce,
                "lrkit": {"format": STATE_FORMAT, "class": "ReduceLROnPlateau", "plateau": s.to_dict()}}

    def _state_rules(self):
        n = self._group_count
        counter = integer_rule(0)

        def reduce(path, value):
            if value not in (None, "mean", "min", "max"):
                raise state_error(path, "must be 'mean', 'min', 'max' or None", value)
        return {"factor": real(0, 1), "min_lrs": each(real(0), n), "default_min_lr": optional(real(0)),
                "patience": counter, "cooldown": counter, "eps": real(0), "last_epoch": counter,
                "_last_lr": each(real(0), n), "mode": choice("min", "max"), "threshold": real(0),
                "threshold_mode": choice("rel", "abs"), "best": real(finite=False), "num_bad_epochs": counter,
                "cooldown_counter": counter, "nonfinite": choice("bad", "raise", "ignore"), "reduce": reduce,
                "lrkit": fields({"plateau": plateau_state})}

    def _check_state(self, state, path="state_dict"):
        super()._check_state(state, path)
        factor = state.get("factor", self.factor)
        if factor >= 1.0:
            raise state_error(f"{path}['factor']", "must be < 1", factor)

    def _load(self, state):
        """Take a state (lrkit's or torch's, checked); the LRs stay in the optimizer."""
        ctl = self._ctl
        self._ctl = plateau(mode=state.get("mode", ctl.mode), factor=state.get("factor", ctl.factor),
                            patience=state.get("patience", ctl.patience),
                            threshold=state.get("threshold", ctl.threshold),
                            threshold_mode=state.get("threshold_mode", ctl.threshold_mode),
                            cooldown=state.get("cooldown", ctl.cooldown), eps=state.get("eps", ctl.eps),
                            nonfinite=state.get("nonfinite", ctl.nonfinite), threshold_rule="torch")
        if "min_lrs" in state:
            self.min_lrs = [as_float(m) for m in state["min_lrs"]]
        if "default_min_lr" in state:
            self.default_min_lr = state["default_min_lr"]
        if "reduce" in state:
            self.reduce = check_reduce(state["reduce"])
        self.last_epoch = state.get("last_epoch", self.last_epoch)
        saved = (state.get("lrkit") or {}).get("plateau") if isinstance(state.get("lrkit"), dict) else None
        if saved is not None:
            self._state = PlateauState.from_dict(saved)
        else:  # torch's layout
            self._state = PlateauState(best=float(state.get("best", ctl.worst)),
                                       bad_epochs=int(state.get("num_bad_epochs", 0)),
                                       cooldown_left=int(state.get("cooldown_counter", 0)),
                                       epochs=int(self.last_epoch))
        if "_last_lr" in state:
            self._last_lr = state["_last_lr"]
