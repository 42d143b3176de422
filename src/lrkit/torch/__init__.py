"""lrkit for PyTorch: drop-in replacements for ``torch.optim.lr_scheduler`` and a native adapter.

Drop-ins. ``from lrkit.torch import StepLR`` instead of ``from torch.optim.lr_scheduler import StepLR``:
the same names, signatures, defaults, LR sequences, ``get_last_lr()``, ``last_epoch``, ``initial_lr`` /
``base_lrs``, errors and warnings; each class is a subclass of the torch class it replaces (and so of
``torch.optim.lr_scheduler.LRScheduler``), so Lightning, the HF Trainer and Accelerate accept it. The
learning rate is computed from an lrkit core schedule in closed form, never by multiplying the previous
LR: group ``i`` takes ``unit(k) * scale_i + offset_i``, the core's ``(unit * scale_i) + offset_i``, where
``unit`` is the class's curve for a base LR of 1 (``scheduler.schedules`` shows each group's schedule).
Resuming is the step counter; a million steps do not drift.

Where torch's visible behaviour comes from its chainable form (a hand edit of ``param_group['lr']``
between steps, two schedulers stepping one optimizer, ``ChainedScheduler``), the chainable drop-ins
(MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR,
CosineAnnealingLR) *rebase*: before a step each group's LR is compared with the value the scheduler
last wrote; when something else changed it to ``x``, the closed form is rescaled through that point
around its anchor ``a`` (0, or ``eta_min`` for CosineAnnealingLR): ``scale_i = (x - a) / unit(k - 1)``, so
the next value is ``a + (x - a) * unit(k) / unit(k - 1)``, which is what torch's chain computes. Where
``unit(k - 1)`` is 0 there is no scale to take: the edit is kept as an offset for that step and taken
back as a scale at the next one (PolynomialLR after ``total_iters`` keeps an edited LR; the step after
CosineAnnealingLR's trough adds to it; both as torch). Where the closed form passes exactly through 0
the scale returns to its construction value (torch's chain forgets an edit there too). A state_dict
holds each group's scale and offset, so a resumed run rebases exactly as the uninterrupted one. The
other drop-ins (LambdaLR, CyclicLR, OneCycleLR, CosineAnnealingWarmRestarts) overwrite the LR every
step, as torch's do.

Native adapter. ``ScheduleLR(optimizer, schedule, ...)`` drives any hyperparameter of any param group
from lrkit schedules or spec strings, in absolute values or (``relative=True``) as multipliers of each
group's initial value; epochs, gradient accumulation, tensor LRs for ``torch.compile`` and the plateau
controller as a stage are options. See its docstring.

Step order. No scheduler wraps ``optimizer.step``: one ``register_step_post_hook`` per optimizer records
that it stepped. The first ``scheduler.step()`` warns, with torch's message, when the optimizer has not
stepped yet, unless a gradient is not finite (``torch.amp.GradScaler`` skipping the step).

The modules: ``_step`` (the per-step routine, written once), ``_scheduler`` (the base class: stepping,
torch's read API, state), ``_simple`` (the one-curve drop-ins), ``_cyclic`` (CyclicLR, OneCycleLR,
CosineAnnealingWarmRestarts), ``_reduce_on_plateau``, ``_composite`` (SequentialLR, ChainedScheduler),
``_schedule_lr`` (the native adapter); ``_step_order``, ``_arguments``; ``_distributed``, ``_checkpoint``,
``_range_test``, ``_trainers`` and ``_shootout_task``; ``_monitor`` and ``_monitor_trainers`` (the monitor:
what every ``optimizer.step()`` applied, audited against the plan; see ``lrkit.monitor``).
"""
try:
    import torch  # noqa: F401
except ModuleNotFoundError as error:
    if error.name != "torch":
        raise
    raise ModuleNotFoundError("lrkit.torch needs PyTorch, which is not installed: pip install 'lrkit[torch]'",
                              name="torch") from None

from ._checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ._composite import ChainedScheduler, SequentialLR
from ._cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from ._distributed import reduce_metric
from ._greedy import GreedyLR
from ._monitor import Monitor
from ._monitor_trainers import hf_monitor_callback, lightning_monitor_callback
from ._range_test import RestoreError, find_lr
from ._reduce_on_plateau import ReduceLROnPlateau
from ._schedule_lr import ScheduleLR
from ._schedule_of import schedule_of
from ._swa import SWALR
from ._scheduler import EPOCH_DEPRECATION_WARNING, STATE_FORMAT, LRScheduler  # noqa: F401
from ._shootout_task import MnistTask, mnist_shootout
from ._simple import (ConstantLR, CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, MultiplicativeLR,
                      MultiStepLR, PolynomialLR, StepLR)
from ._batches import BatchPlan, RampBatchSampler
from ._replan import PlanChangedWarning
from ._trainers import HFScheduleMixin, hf_plateau_callback, lightning_plateau_callback, prepare_for_accelerate

__all__ = [
    "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
    "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CyclicLR", "OneCycleLR",
    "CosineAnnealingWarmRestarts", "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler", "ScheduleLR",
    # reading a live scheduler
    "schedule_of",
    # torch.optim.swa_utils.SWALR
    "SWALR",
    # transformers' raise-and-lower scheduler on lrkit.greedy
    "GreedyLR",
    # distributed jobs, checkpoints, trainers
    "reduce_metric", "save_checkpoint", "load_checkpoint", "CheckpointError", "prepare_for_accelerate",
    "lightning_plateau_callback", "hf_plateau_callback", "HFScheduleMixin",
    # the LR range test
    "find_lr", "RestoreError",
    # the shoot-out's built-in task
    "MnistTask", "mnist_shootout",
    # plans that change (issue 15): the drop-ins' warning; batch-size plans in the training loop
    "PlanChangedWarning", "BatchPlan", "RampBatchSampler",
    # the monitor: what the optimizer applied, audited against the plan
    "Monitor", "lightning_monitor_callback", "hf_monitor_callback",
]
