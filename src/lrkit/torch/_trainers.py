"""lrkit's torch schedulers inside trainers: PyTorch Lightning, the Hugging Face Trainer, Accelerate.

Every lrkit torch scheduler is a ``torch.optim.lr_scheduler.LRScheduler``, and all three trainers step
it once per optimizer update (``interval: "step"`` in Lightning, the HF Trainer's own loop) except
Accelerate, whose ``AcceleratedScheduler`` steps it ``num_processes`` times per update. What is here:

- ``prepare_for_accelerate(accelerator, *objects)``: ``accelerator.prepare`` that steps lrkit's
  schedulers once per optimizer update, on any number of processes, gradient accumulation included.
- ``lightning_plateau_callback(monitor)`` / ``hf_plateau_callback(monitor)``: feed a validation metric
  to ``ScheduleLR.report()`` (the plateau stage). lrkit's ``ReduceLROnPlateau`` needs neither: both
  trainers recognise it as torch's and call ``step(metric)`` themselves.
- ``HFScheduleMixin``: a ``transformers.Trainer`` mixin that builds ``ScheduleLR`` from
  ``TrainingArguments(lr_scheduler_kwargs={"schedule": "<spec>", ...})``. transformers has no way to
  register a new ``lr_scheduler_type`` (it is a closed Enum), so overriding ``create_scheduler`` is the
  supported route; lrkit does not monkeypatch transformers.

No trainer framework is imported here at module level; each one is imported by the function that needs it.
"""
import functools
import inspect

from .._errors import LrkitTypeError, LrkitValueError
from .._plateau import plateau as plateau_controller
from ._schedule_lr import ScheduleLR
from ._scheduler import LRScheduler


def _monitor(name, value):
    if not isinstance(value, str) or not value:
        raise LrkitTypeError(f"{name} must be a metric name (a non-empty str), got {value!r}")
    return value


def _plateau_schedulers(schedulers):
    return [s for s in schedulers if isinstance(s, ScheduleLR) and s.plateau is not None]


def _metric(metrics, key, source):
    if key not in metrics:
        raise LrkitValueError(f"monitor {key!r} is not among the {source}: {sorted(metrics)}")
    return metrics[key]


# =================================================================================================
# Accelerate
# =================================================================================================
def prepare_for_accelerate(accelerator, *objects, **kwargs):
    """``accelerator.prepare(*objects, **kwargs)``, with lrkit's schedulers stepped once per optimizer update.

    Accelerate wraps a scheduler in ``AcceleratedScheduler``, which skips the micro-batches of gradient
    accumulation and the updates a mixed-precision scaler skipped, then steps the scheduler
    ``num_processes`` times (accelerate#2165, #3797), unless ``split_batches``. lrkit counts optimizer
    updates, so each returned ``AcceleratedScheduler`` that wraps an lrkit scheduler is set to step
    once, as with ``split_batches=True``; the data loaders and every other object are prepared as
    ``accelerator.prepare`` does, and torch's own schedulers keep Accelerate's rule.

    Call ``scheduler.step()`` after every ``optimizer.step()`` (micro-batches included, inside
    ``accelerator.accumulate``): the schedule is evaluated at update ``k`` on every process. Build
    ``ScheduleLR`` with ``accumulation_steps=1`` (Accelerate already skips the micro-batches). With
    ``Accelerator(step_scheduler_with_optimizer=False)`` Accelerate steps on every call and this
    changes nothing.

    Returns what ``accelerator.prepare`` returns (one object for one argument, a tuple otherwise).
    """
    if not all(hasattr(accelerator, name) for name in ("prepare", "step_scheduler_with_optimizer")):
        raise LrkitTypeError(f"accelerator must be an accelerate.Accelerator, got {accelerator!r}")
    for i, obj in enumerate(objects):
        if (isinstance(obj, ScheduleLR) and obj.accumulation_steps != 1
                and accelerator.step_scheduler_with_optimizer):
            raise LrkitValueError(
                f"objects[{i}]: ScheduleLR(accumulation_steps={obj.accumulation_steps}) under Accelerate: "
                "accelerate steps the scheduler only at optimizer updates, build it with accumulation_steps=1")
    from accelerate.scheduler import AcceleratedScheduler
    prepared = accelerator.prepare(*objects, **kwargs)
    for obj in (prepared if isinstance(prepared, tuple) else (prepared,)):
        if isinstance(obj, AcceleratedScheduler) and isinstance(obj.scheduler, LRScheduler):
            if not hasattr(obj, "split_batches"):
                raise LrkitTypeError("AcceleratedScheduler has no split_batches in this accelerate version: "
                                     "prepare_for_accelerate cannot make it step once per update")
            obj.split_batches = True  # read by AcceleratedScheduler.step: one step per optimizer update
    return prepared


# =================================================================================================
# PyTorch Lightning
# =================================================================================================
def _lightning_callback_base():
    try:
        from lightning.pytorch import Callback
    except ImportError:
        from pytorch_lightning import Callback
    return Callback


@functools.lru_cache(maxsize=None)
def _lightning_plateau_class(Callback):
    class LightningPlateauCallback(Callback):
        """After each validation run of ``fit``: ``report(trainer.callback_metrics[monitor])`` to every
        ``ScheduleLR`` with a plateau stage among the trainer's schedulers (sanity checks excluded)."""

        def __init__(self, monitor):
            self.monitor = monitor

        @property
        def state_key(self):
            return f"{type(self).__name__}[monitor={self.monitor}]"

        def on_validation_end(self, trainer, pl_module):
            if trainer.sanity_checking or trainer.state.fn != "fit":
                return
            schedulers = _plateau_schedulers(c.scheduler for c in trainer.lr_scheduler_configs)
            if not schedulers:
                raise LrkitValueError(
                    "lightning_plateau_callback: configure_optimizers returned no lrkit.torch.ScheduleLR with "
                    "plateau=lrkit.plateau(...) (lrkit's ReduceLROnPlateau needs no callback: give it "
                    "'monitor' in the lr_scheduler dict)")
            metric = _metric(trainer.callback_metrics, self.monitor, "logged metrics (trainer.callback_metrics)")
            for scheduler in schedulers:
                scheduler.report(metric)

        def __repr__(self):
            return f"lightning_plateau_callback(monitor={self.monitor!r})"

    return LightningPlateauCallback


def lightning_plateau_callback(monitor="val_loss"):
    """A Lightning ``Callback`` that feeds ``ScheduleLR``'s plateau stage.

    Lightning calls ``step()`` of the scheduler in ``configure_optimizers`` (``"interval": "step"``),
    but it calls ``step(metric)`` only for torch's ``ReduceLROnPlateau``; this callback calls
    ``report(trainer.callback_metrics[monitor])`` after each validation run of ``trainer.fit`` (not the
    sanity check, not ``trainer.validate``), like Lightning's own plateau handling::

        trainer = Trainer(..., callbacks=[lrkit.torch.lightning_plateau_callback("val_loss")])

    A missing metric raises ``LrkitValueError`` naming it and the logged ones.
    """
    return _lightning_plateau_class(_lightning_callback_base())(_monitor("monitor", monitor))


# =================================================================================================
# Hugging Face Trainer
# =================================================================================================
def _hf_metric_key(monitor, args):
    """HF's rule for ``metric_for_best_model``: ``eval_`` is prepended when missing."""
    key = monitor if monitor is not None else (getattr(args, "metric_for_best_model", None) or "loss")
    return key if key.startswith("eval_") else f"eval_{key}"


@functools.lru_cache(maxsize=None)
def _hf_plateau_class(TrainerCallback):
    class HFPlateauCallback(TrainerCallback):
        """After each evaluation during ``train()``: ``lr_scheduler.report(metrics[monitor])``."""

        def __init__(self, monitor):
            self.monitor = monitor
            self._training = False

        def on_train_begin(self, args, state, control, **kwargs):
            self._training = True

        def on_train_end(self, args, state, control, **kwargs):
            self._training = False

        def on_evaluate(self, args, state, control, metrics=None, lr_scheduler=None, **kwargs):
            if not self._training:
                return
            schedulers = _plateau_schedulers([lr_scheduler])
            if not schedulers:
                raise LrkitValueError(
                    f"hf_plateau_callback: the Trainer's lr_scheduler is {type(lr_scheduler).__name__}, not an "
                    "lrkit.torch.ScheduleLR with plateau=lrkit.plateau(...) (lrkit's ReduceLROnPlateau needs no "
                    "callback: the Trainer steps it with metric_for_best_model)")
            key = _hf_metric_key(self.monitor, args)
            schedulers[0].report(_metric(metrics or {}, key, "evaluation metrics"))

        def __repr__(self):
            return f"hf_plateau_callback(monitor={self.monitor!r})"

    return HFPlateauCallback


def hf_plateau_callback(monitor=None):
    """A ``transformers.TrainerCallback`` that feeds ``ScheduleLR``'s plateau stage.

    The HF Trainer steps its scheduler after every optimizer update but calls ``step(metric)`` only for
    torch's ``ReduceLROnPlateau``; this callback calls ``lr_scheduler.report(metrics[monitor])`` after
    each evaluation during ``train()``. ``monitor`` follows HF's ``metric_for_best_model`` rule
    (``"loss"`` means ``"eval_loss"``); by default it is ``args.metric_for_best_model``, else ``"loss"``::

        Trainer(..., optimizers=(opt, sched), callbacks=[lrkit.torch.hf_plateau_callback("loss")])

    ``HFScheduleMixin`` adds it by itself when ``lr_scheduler_kwargs`` has a ``plateau``.
    """
    from transformers import TrainerCallback
    if monitor is not None:
        _monitor("monitor", monitor)
    return _hf_plateau_class(TrainerCallback)(monitor)


def _schedule_lr_options():
    params = inspect.signature(ScheduleLR).parameters
    return [name for name in params if name not in ("optimizer", "last_epoch")]


class HFScheduleMixin:
    """Mix into a ``transformers.Trainer`` subclass: ``lr_scheduler_kwargs`` with a ``"schedule"``
    builds ``lrkit.torch.ScheduleLR`` instead of HF's named scheduler.

    ::

        class Trainer(lrkit.torch.HFScheduleMixin, transformers.Trainer):
            pass

        args = TrainingArguments(..., lr_scheduler_kwargs={
            "schedule": "warmup(cosine(1.0, 0.0, steps=900), steps=100)", "relative": True})

    Every key is a ``ScheduleLR`` keyword (``schedule``, ``momentum``, ``beta1``, ``relative``,
    ``steps_per_epoch``, ``plateau`` ...), so the whole schedule fits in a JSON config;
    ``"plateau"`` may be a dict of ``lrkit.plateau`` arguments, and then the plateau stage is fed by an
    ``hf_plateau_callback`` added here. Steps count optimizer updates (``gradient_accumulation_steps``
    micro-batches make one). ``lr_scheduler_type`` is not used; HF's ``warmup_steps`` must stay 0 (write
    the warmup into the schedule). Without ``"schedule"`` the Trainer's own ``create_scheduler`` runs.
    """

    def create_scheduler(self, num_training_steps, optimizer=None):
        options = self.args.lr_scheduler_kwargs
        if self.lr_scheduler is not None or not isinstance(options, dict) or "schedule" not in options:
            return super().create_scheduler(num_training_steps, optimizer)
        allowed = _schedule_lr_options()
        for key in options:
            if key not in allowed:
                raise LrkitValueError(f"lr_scheduler_kwargs has {key!r}, which ScheduleLR does not take; "
                                      f"allowed: {allowed}")
        for name in ("warmup_steps", "warmup_ratio"):
            warmup = getattr(self.args, name, 0) or 0
            if warmup:
                raise LrkitValueError(
                    f"{name} must be 0 with an lrkit schedule (write the warmup into it: lrkit.warmup), got {warmup!r}")
        options = dict(options)
        plateau_option = options.get("plateau")
        if isinstance(plateau_option, dict):
            options["plateau"] = plateau_controller.from_config({"name": "plateau", **plateau_option})
        scheduler = ScheduleLR(optimizer if optimizer is not None else self.optimizer, **options)
        self.lr_scheduler = scheduler
        self._created_lr_scheduler = True  # as Trainer.create_scheduler: a new train() builds a new one
        if scheduler.plateau is not None:
            HFPlateauCallback = _hf_plateau_class(_transformers_callback_base())
            if not any(isinstance(cb, HFPlateauCallback) for cb in self.callback_handler.callbacks):
                self.add_callback(hf_plateau_callback())
        return scheduler


def _transformers_callback_base():
    from transformers import TrainerCallback
    return TrainerCallback
