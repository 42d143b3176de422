"""``SWALR``: torch's ``torch.optim.swa_utils.SWALR`` (Izmailov et al. 2018, "Averaging Weights Leads to
Wider Optima and Better Generalization") with its curve from a core schedule."""
import math

from torch.optim import swa_utils as torch_swa_utils

from .._scaling import Scaling
from .._shapes import constant, cosine, linear
from ._arguments import as_float
from ._loading import choice, each, integer as integer_rule, optional, real
from ._scheduler import LRScheduler
from ._step import Hyperparameter


class _Annealing(Hyperparameter):
    """Once annealed (the unit curve at 0) torch's SWALR writes ``swa_lr`` whatever the group held: an edit
    there is forgotten, not kept as an offset (as PolynomialLR keeps one after ``total_iters``)."""

    def rebase(self, edited, current, previous):
        kept = [i for i in edited if previous[self.unit_of_group[i]] != 0]
        if kept:
            super().rebase(kept, current, previous)


class SWALR(LRScheduler, torch_swa_utils.SWALR):
    """torch's SWALR: each group's LR anneals from its value at construction, ``lr0``, to its ``swa_lr``
    over ``anneal_epochs`` steps, then holds ``swa_lr``. lrkit: ``swa_lr + (lr0 - swa_lr) * unit(k)`` with
    ``unit = cosine(1, 0, anneal_epochs)`` (``"cos"``) or ``linear(1, 0, anneal_epochs)`` (``"linear"``), 0 for
    ``anneal_epochs=0``. torch computes each step from the group's current LR (chainable): when another
    scheduler or a hand edit changed it, the curve is rebased through that value around ``swa_lr``, as
    torch's chain does (the usual use: SWALR built at the start, stepped only from ``swa_start`` on).
    """
    _chainable = True
    _CONFIG = ("anneal_epochs", "_anneal_strategy", "_swa_from", "_epoch_offset")
    _no_smooth = "it anneals from the LR the optimizer holds when it starts, not along a plan of its arguments"

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        swa_lrs = torch_swa_utils._format_param("swa_lr", optimizer, swa_lr)
        for value, group in zip(swa_lrs, optimizer.param_groups, strict=True):
            group["swa_lr"] = value
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        # torch anneals from the LR each group holds now (not from initial_lr), counting its own steps
        self._swa_from = [as_float(g["lr"]) for g in optimizer.param_groups]
        self._epoch_offset = (last_epoch if isinstance(last_epoch, int) else -1) + 1
        self._offset_steps()
        super().__init__(optimizer, last_epoch)

    def _time(self, k):
        return k - self._epoch_offset

    def _offset_steps(self):
        """``LRScheduler.step``'s fast paths take the schedule at time ``k`` (steps ``0 < k <= _last_time``);
        built after step 0, this one's time is ``k - _epoch_offset``: every step then takes the general path,
        which asks ``_time``."""
        self._last_time = 0 if self._epoch_offset else math.inf

    def _make_hyperparameters(self):
        e = self.anneal_epochs
        if e == 0:
            unit = constant(0.0)
        elif self._anneal_strategy == "cos":
            unit = cosine(1.0, 0.0, steps=e)
        else:
            unit = linear(1.0, 0.0, steps=e)
        swa = [as_float(g["swa_lr"]) for g in self.optimizer.param_groups]
        n = len(swa)
        scaling = Scaling([a - s for a, s in zip(self._swa_from, swa)], swa)
        return [_Annealing("lr", [unit], [0] * n, scaling, chainable=True)]

    def _config_rules(self):
        n = self._group_count
        return {"anneal_epochs": integer_rule(0), "_anneal_strategy": choice("cos", "linear"),
                "_swa_from": optional(each(real(0), n)), "_epoch_offset": integer_rule(0)}

    def _load_config(self, state):
        super()._load_config(state)
        self._set_anneal_func(self._anneal_strategy)
        self._offset_steps()
