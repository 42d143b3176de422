"""``lrkit.torch.Monitor`` inside trainers: a PyTorch Lightning callback and a Hugging Face ``TrainerCallback``.

Both start one :class:`~lrkit.torch.Monitor` per optimizer when training starts (the plan: ``plan=``, else
the lrkit schedulers the trainer holds), tell it the run's length and the updates of an epoch, log the
training loss, and close it when training ends. No trainer framework is imported at module level.
"""
import functools
import math

from .._errors import LrkitTypeError
from ._monitor import Monitor
from ._scheduler import LRScheduler
from ._trainers import _lightning_callback_base


def _options(log, plan, sinks, options):
    if not isinstance(log, str) or not log:
        raise LrkitTypeError(f"log must be a file name (a non-empty str), got {log!r}")
    bad = sorted(set(options) - {"keys", "steps_per_epoch", "plan_per", "total_steps", "label", "audit", "warn",
                                  "scaler"})
    if bad:
        raise LrkitTypeError(f"unexpected monitor options {bad}")
    return dict(log=log, plan=plan, sinks=sinks, **options)


def _log_path(log, i, n):
    if n == 1:
        return log
    stem, dot, ext = log.rpartition(".")
    return f"{stem}-opt{i + 1}.{ext}" if dot else f"{log}-opt{i + 1}"


def _finite(x):
    try:
        return None if x is None or not math.isfinite(float(x)) else int(x)
    except (TypeError, ValueError, OverflowError):
        return None


class _Monitors:
    """What both callbacks share: the monitors, their summaries, closing."""

    def _start(self, optimizers, schedulers_of, total_steps, steps_per_epoch):
        self.close()
        opts = dict(self.options)
        log = opts.pop("log")
        for i, opt in enumerate(optimizers):
            kw = dict(opts)
            kw.setdefault("total_steps", total_steps)
            kw.setdefault("steps_per_epoch", steps_per_epoch)
            self.monitors.append(Monitor(opt, schedulers=schedulers_of(opt), log=_log_path(log, i, len(optimizers)),
                                         **kw))

    def _loss(self, loss):
        if loss is not None and self.monitors:
            try:
                value = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
            except (TypeError, ValueError):
                return
            self.monitors[0].metrics(loss=value)

    def summary(self):
        """Each monitor's summary (one per optimizer)."""
        return [m.summary() for m in self.monitors]

    @property
    def findings(self):
        return [f for m in self.monitors if m.audit is not None for f in m.audit.findings]

    def close(self):
        for m in self.monitors:
            m.close()


@functools.lru_cache(maxsize=None)
def _lightning_monitor_class(Callback):
    class LightningMonitor(_Monitors, Callback):
        """lrkit's monitor for ``Trainer.fit``: one ``lrkit.torch.Monitor`` per optimizer."""

        def __init__(self, options):
            self.options = options
            self.monitors = []

        def on_train_start(self, trainer, pl_module):
            configs = list(trainer.lr_scheduler_configs)

            def schedulers_of(opt):
                return [c.scheduler for c in configs if getattr(c.scheduler, "optimizer", None) is opt
                        and isinstance(c.scheduler, LRScheduler)]
            accumulate = max(1, int(getattr(trainer, "accumulate_grad_batches", 1) or 1))
            batches = _finite(trainer.num_training_batches)
            per_epoch = None if batches is None else max(1, math.ceil(batches / accumulate))
            self._start(trainer.optimizers, schedulers_of, _finite(trainer.estimated_stepping_batches), per_epoch)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
            self._loss(loss)

        def on_train_end(self, trainer, pl_module):
            self.close()

        def on_exception(self, trainer, pl_module, exception):
            self.close()

        @property
        def state_key(self):
            return f"{type(self).__name__}[log={self.options['log']}]"

    return LightningMonitor


def lightning_monitor_callback(log="lrkit-run.jsonl", plan=None, sinks=None, **options):
    """A Lightning ``Callback`` that runs :class:`lrkit.torch.Monitor` on each optimizer during ``fit``.

    The plan: ``plan=``, else the lrkit schedulers of ``configure_optimizers``. The monitor is told the
    run's length (``trainer.estimated_stepping_batches``) and the optimizer updates of an epoch; the
    training loss of each batch is logged as ``loss``. ``sinks`` and the other options are
    :class:`~lrkit.torch.Monitor`'s. Several optimizers log to ``run-opt1.jsonl``, ``run-opt2.jsonl``...::

        trainer = Trainer(..., callbacks=[lrkit.torch.lightning_monitor_callback("run.jsonl")])
        # after fit: callback.summary(), callback.findings
    """
    return _lightning_monitor_class(_lightning_callback_base())(_options(log, plan, sinks, options))


@functools.lru_cache(maxsize=None)
def _hf_monitor_class(TrainerCallback):
    class HFMonitor(_Monitors, TrainerCallback):
        """lrkit's monitor for ``Trainer.train()``: an ``lrkit.torch.Monitor`` on the Trainer's optimizer."""

        def __init__(self, options):
            self.options = options
            self.monitors = []

        def on_train_begin(self, args, state, control, optimizer=None, lr_scheduler=None, train_dataloader=None,
                           **kwargs):
            if optimizer is None:
                return
            schedulers = [lr_scheduler] if isinstance(lr_scheduler, LRScheduler) else []
            per_epoch = None
            try:
                per_epoch = max(1, math.ceil(len(train_dataloader) / max(1, args.gradient_accumulation_steps)))
            except TypeError:
                pass
            self._start([optimizer], lambda opt: schedulers, _finite(state.max_steps), per_epoch)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs and self.monitors:
                self.monitors[0].metrics(step=max(state.global_step - 1, 0), loss=logs["loss"])

        def on_train_end(self, args, state, control, **kwargs):
            self.close()

    return HFMonitor


def hf_monitor_callback(log="lrkit-run.jsonl", plan=None, sinks=None, **options):
    """A ``transformers.TrainerCallback`` that runs :class:`lrkit.torch.Monitor` on the Trainer's optimizer
    during ``train()``.

    The plan: ``plan=``, else the Trainer's scheduler when it is an lrkit one (``HFScheduleMixin``); the
    monitor is told ``max_steps`` and the updates of an epoch; the logged training ``loss`` is recorded
    at its update. Options as :class:`~lrkit.torch.Monitor`'s::

        Trainer(..., callbacks=[lrkit.torch.hf_monitor_callback("run.jsonl")])
    """
    from transformers import TrainerCallback
    return _hf_monitor_class(TrainerCallback)(_options(log, plan, sinks, options))
