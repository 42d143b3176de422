"""``GreedyLR``: transformers' GreedyLR (the ``greedy`` scheduler type) on lrkit's greedy controller
(``lrkit.greedy``, the core's pure decision rule). Like transformers' class it is not a torch
``LRScheduler``: it is stepped with a metric, ``step(metrics)``, and the LRs live in the optimizer."""
import math

import torch

from .._errors import LrkitTypeError, LrkitValueError, excerpt
from .._greedy import GreedyState, greedy
from ._arguments import check_optimizer, plain_value
from ._distributed import check_reduce, in_process_group, reduce_metric

_CONFIG = ("factor", "min_lrs", "max_lrs", "patience", "verbose", "cooldown", "warmup", "mode", "threshold",
           "threshold_mode", "eps", "smooth", "window_size", "reset_start_original")


class GreedyLR:
    """transformers' ``GreedyLR`` (same arguments, defaults, errors, decisions, LRs, attributes and
    ``state_dict`` keys) on ``lrkit.greedy``: raises the LR by ``1 / factor`` after ``patience + 1``
    improvements in a row, cuts it by ``factor`` after ``patience + 1`` epochs without one (Subramanian et al.
    2025, arXiv 2512.14527).

    lrkit's keyword-only arguments: ``reduce`` ("mean" default, "min", "max", None): in a ``torch.distributed``
    job every rank's metric is combined so that every rank takes the same decision; ``nonfinite`` ("bad",
    default: transformers' treatment, never an improvement; "raise"; "ignore"). A ``state_dict`` also
    holds the controller's state (``lrkit.GreedyState``) and loads validated, all or nothing.
    """

    def __init__(self, optimizer, mode="min", factor=0.95, patience=10, threshold=1e-6, threshold_mode="abs",
                 cooldown=0, warmup=0, min_lr=1e-3, max_lr=1.0, eps=1e-8, verbose=False, smooth=False,
                 window_size=50, reset_start=500, *, reduce="mean", nonfinite="bad"):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        check_optimizer(optimizer)
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        bounds = {}
        for name, value in (("min", min_lr), ("max", max_lr)):
            if isinstance(value, (list, tuple)):
                if len(value) != n:
                    raise ValueError(f"expected {n} {name}_lrs, got {len(value)}")
                bounds[name] = [float(v) for v in value]
            else:
                bounds[name] = [float(value)] * n
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown!")
        self.verbose = verbose
        self.reduce = check_reduce(reduce)
        self._ctl = greedy(mode=mode, factor=factor, patience=patience, threshold=threshold,
                           threshold_mode=threshold_mode, cooldown=cooldown, warmup=warmup,
                           min_lr=tuple(bounds["min"]), max_lr=tuple(bounds["max"]), eps=eps, smooth=smooth,
                           window_size=window_size, reset_start=reset_start, nonfinite=nonfinite,
                           threshold_rule="torch")  # transformers' relative rule is torch's
        self._state = self._ctl.init([_float(g["lr"]) for g in optimizer.param_groups])
        self.last_epoch = 0
        self._last_lr = list(self._state.initial)

    # transformers' attributes, read from the controller and its state
    factor = property(lambda self: self._ctl.factor)
    patience = property(lambda self: self._ctl.patience)
    cooldown = property(lambda self: self._ctl.cooldown)
    warmup = property(lambda self: self._ctl.warmup)
    mode = property(lambda self: self._ctl.mode)
    threshold = property(lambda self: self._ctl.threshold)
    threshold_mode = property(lambda self: self._ctl.threshold_mode)
    eps = property(lambda self: self._ctl.eps)
    smooth = property(lambda self: self._ctl.smooth)
    window_size = property(lambda self: self._ctl.window_size)
    reset_start_original = property(lambda self: self._ctl.reset_start)
    min_lrs = property(lambda self: list(self._ctl.min_lr))
    max_lrs = property(lambda self: list(self._ctl.max_lr))
    best = property(lambda self: self._state.best)
    num_bad_epochs = property(lambda self: self._state.bad_epochs)
    num_good_epochs = property(lambda self: self._state.good_epochs)
    cooldown_counter = property(lambda self: self._state.cooldown_left)
    warmup_counter = property(lambda self: self._state.warmup_left)
    reset_start = property(lambda self: self._state.reset_left)
    _init_lrs = property(lambda self: list(self._state.initial))

    @property
    def controller(self):
        """The ``lrkit.greedy`` value this scheduler follows."""
        return self._ctl

    @property
    def greedy_state(self):
        """The controller's state (an ``lrkit.GreedyState``)."""
        return self._state

    def is_better(self, current, best):
        return self._ctl.is_better(current, best)

    def step(self, metrics, epoch=None):
        """One epoch's metric: maybe raise or cut the LRs."""
        current = float(metrics)
        if self.reduce is not None and in_process_group():
            current = reduce_metric(current, self.reduce)
        groups = self.optimizer.param_groups
        # the LRs live in the optimizer: a hand edit (or another scheduler) composes, as in transformers
        before = self._state._replace(lrs=tuple(_float(g["lr"]) for g in groups))
        state = self._ctl.update(before, current)
        if state is before:  # nonfinite="ignore"
            return
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        for i, (group, old, new) in enumerate(zip(groups, before.lrs, state.lrs)):
            if new != old:
                _write(group, new)
                if self.verbose and state.resets == before.resets:
                    verb = "increasing" if state.increases != before.increases else "reducing"
                    print(f"Epoch {self.last_epoch}: {verb} learning rate of group {i} to {new:.4e}.")
        if self.verbose and state.resets != before.resets:
            print("Scheduler reset to initial state.")
        self._state = state
        self._last_lr = [g["lr"] for g in groups]

    def get_last_lr(self):
        """The LRs after the last step."""
        return self._last_lr

    def state_dict(self):
        s = self._state
        state = {"factor": self.factor, "min_lrs": self.min_lrs, "max_lrs": self.max_lrs, "patience": self.patience,
                 "verbose": self.verbose, "cooldown": self.cooldown, "warmup": self.warmup,
                 "cooldown_counter": s.cooldown_left, "warmup_counter": s.warmup_left, "mode": self.mode,
                 "threshold": self.threshold, "threshold_mode": self.threshold_mode, "best": s.best,
                 "num_bad_epochs": s.bad_epochs, "num_good_epochs": s.good_epochs, "eps": self.eps,
                 "last_epoch": self.last_epoch, "smooth": self.smooth, "window_size": self.window_size,
                 "reset_start": s.reset_left, "reset_start_original": self.reset_start_original,
                 "_last_lr": [plain_value(v) for v in self._last_lr], "_init_lrs": list(s.initial),
                 "reduce": self.reduce, "lrkit": {"class": "GreedyLR", "greedy": s.to_dict()}}
        if self.smooth:
            state["_streaming_avg"] = {"window_size": self.window_size, "values": list(s.window), "sum": s.window_sum}
        return state

    def load_state_dict(self, state_dict):
        """Load a state (this class's, or transformers' GreedyLR's): everything is checked first, then applied."""
        if not isinstance(state_dict, dict):
            raise LrkitTypeError(f"state_dict must be a dict, got {excerpt(state_dict)}")
        ctl, state, last_epoch, last_lr, reduce = self._read(state_dict)
        self._ctl, self._state, self.last_epoch, self._last_lr, self.reduce = ctl, state, last_epoch, last_lr, reduce
        self.verbose = state_dict.get("verbose", self.verbose)
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            _write(group, lr)

    def _read(self, saved):
        """transformers' keys (this scheduler's values where one is missing); lrkit's part adds the counts."""
        c, s = self._ctl, self._state
        n = len(self.optimizer.param_groups)
        lrkit_part = saved.get("lrkit") if isinstance(saved.get("lrkit"), dict) else {}
        counts = lrkit_part.get("greedy") if isinstance(lrkit_part.get("greedy"), dict) else s.to_dict()
        try:
            ctl = greedy(mode=saved.get("mode", c.mode), factor=saved.get("factor", c.factor),
                         patience=saved.get("patience", c.patience), threshold=saved.get("threshold", c.threshold),
                         threshold_mode=saved.get("threshold_mode", c.threshold_mode),
                         cooldown=saved.get("cooldown", c.cooldown), warmup=saved.get("warmup", c.warmup),
                         min_lr=tuple(saved.get("min_lrs", c.min_lr)), max_lr=tuple(saved.get("max_lrs", c.max_lr)),
                         eps=saved.get("eps", c.eps), smooth=saved.get("smooth", c.smooth),
                         window_size=saved.get("window_size", c.window_size),
                         reset_start=saved.get("reset_start_original", c.reset_start),
                         nonfinite=c.nonfinite, threshold_rule="torch")
            ctl.bounds(n)
            last_lr = [float(v) for v in saved.get("_last_lr", self._last_lr)]
            avg = saved.get("_streaming_avg") or {}
            state = GreedyState.from_dict({
                "lrs": last_lr, "initial": saved.get("_init_lrs", list(s.initial)),
                "best": saved.get("best", s.best), "reset_left": saved.get("reset_start", s.reset_left),
                "bad_epochs": saved.get("num_bad_epochs", s.bad_epochs),
                "good_epochs": saved.get("num_good_epochs", s.good_epochs),
                "cooldown_left": saved.get("cooldown_counter", s.cooldown_left),
                "warmup_left": saved.get("warmup_counter", s.warmup_left),
                "window": avg.get("values", list(s.window)), "window_sum": avg.get("sum", s.window_sum),
                **{k: counts.get(k, 0) for k in ("epochs", "increases", "reductions", "resets")}})
            last_epoch = saved.get("last_epoch", self.last_epoch)
            if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < 0:
                raise LrkitValueError(f"state_dict['last_epoch'] must be an integer >= 0, got {excerpt(last_epoch)}")
            if len(state.lrs) != n or not all(math.isfinite(v) for v in last_lr):
                raise LrkitValueError(f"state_dict holds LRs for {len(state.lrs)} param groups (_last_lr "
                                      f"{excerpt(last_lr)}); the optimizer has {n} groups, and LRs are finite")
            reduce = check_reduce(saved.get("reduce", self.reduce))
        except (TypeError, ValueError) as error:
            if isinstance(error, (LrkitTypeError, LrkitValueError)):
                raise
            raise LrkitValueError(f"state_dict cannot be loaded: {error}") from None
        return ctl, state, last_epoch, last_lr, reduce


def _float(lr):
    return lr.item() if isinstance(lr, torch.Tensor) else float(lr)


def _write(group, value):
    if isinstance(group["lr"], torch.Tensor):
        group["lr"].fill_(value)
    else:
        group["lr"] = value
