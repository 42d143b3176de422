"""Keras 3 adapter: an lrkit schedule as a ``keras.optimizers.schedules.LearningRateSchedule``, and a
plateau callback that works when the optimizer's learning rate is such a schedule.

``KerasSchedule(schedule)`` evaluates the lrkit formula with ``keras.ops`` on the optimizer's
``iterations`` (so it runs under every Keras backend and inside compiled train steps), saves with
the model (``get_config`` / ``from_config``, registered as ``lrkit>KerasSchedule``) and multiplies
the curve by ``scale``, the factor a plateau callback lowers.

Import ``lrkit.keras`` before ``keras.models.load_model`` in a fresh process: Keras finds the
class through its registration.

>>> from lrkit.keras import KerasSchedule
>>> lr = KerasSchedule("exponential(0.1, 0.96, steps=1, staircase=True)")
>>> [round(float(lr(k)), 6) for k in (0, 1, 11)]
[0.1, 0.096, 0.063824]
"""
import numbers

import numpy as np

try:
    import keras
    from keras import ops
except ModuleNotFoundError as error:
    if error.name != "keras":
        raise
    raise ModuleNotFoundError("lrkit.keras needs Keras 3, which is not installed: pip install 'lrkit[keras]' "
                              "(and a backend: torch or jax)", name="keras") from None

from . import _checks as check
from ._base import require_non_negative
from ._errors import LrkitError, LrkitTypeError, LrkitValueError, SpecError, excerpt
from ._plateau import PlateauState, plateau
from ._spec import as_schedule

__all__ = ["KerasSchedule", "ReduceLROnPlateau", "replan", "MonitorCallback"]


def _probe(schedule):
    """Evaluate ``schedule`` once on a symbolic Keras step, as a compiled train step will; fail now
    (not mid-training) if the formula needs Python control flow or a real number."""
    step = keras.KerasTensor(shape=(), dtype="int32")
    try:
        value = schedule(step, xp=ops)
    except LrkitError:
        raise
    except Exception as error:  # whatever the user function raised on a symbolic tensor
        raise LrkitTypeError(
            f"schedule {excerpt(schedule)} cannot be evaluated with keras.ops on a symbolic step "
            f"({type(error).__name__}: {error}). Keras computes the learning rate inside compiled "
            f"train steps: the step-dependent part must use array operations (arithmetic operators, "
            f"keras.ops), not `if`, float(), int(), math.* or numpy on the step") from None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return
    shape, dtype = tuple(getattr(value, "shape", (None,))), str(getattr(value, "dtype", ""))
    if shape != () or "float" not in dtype:
        raise LrkitTypeError(
            f"schedule {excerpt(schedule)} must give one float per step under keras.ops, "
            f"got shape {shape} and dtype {dtype or type(value).__name__!r}")


@keras.saving.register_keras_serializable(package="lrkit", name="KerasSchedule")
class KerasSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """An lrkit schedule as a Keras learning-rate schedule: ``lr(step) = scale * schedule(step)``.

    ``schedule``: an lrkit schedule, a spec string (``"cosine(0.1, 0.0, steps=1000)"``) or a config
    dict (a function it names must be allowed: ``lrkit.allow_function``, also before loading a saved
    model). ``scale``: a positive multiplier (1.0; lowered by :class:`ReduceLROnPlateau`).
    ``plateau``: the plateau callback's state (a ``PlateauState`` dict, written by the callback and
    kept in the config). ``gradient_accumulation_steps``: the optimizer's own setting, when it has one:
    Keras (3.15) then calls schedules with its micro-step counter, and update ``k`` would use
    ``schedule(A*k + A - 1)``; with it set, update ``k`` uses ``schedule(k)``.

    Keras calls the schedule with ``optimizer.iterations``, the number of updates done, so update
    ``k`` (from 0) uses ``schedule(k)``. The formula runs with ``keras.ops`` in Keras' float type.
    Construction evaluates it once on a symbolic step: a schedule that cannot be written in
    ``keras.ops`` (a Python-only ``lrkit.function``) raises ``LrkitTypeError`` here. A compiled train
    step cannot stop at a bad value, so construction also refuses a schedule whose ``bounds()`` do not
    prove its values ``>= 0`` (lrkit's own schedules prove it when they are built; a user function
    is taken at its contract, values ``>= 0``, and is not checked step by step).

    ``scale`` is read when a train step is traced: after changing it by hand during a compiled
    ``fit`` (jax, tensorflow, ``jit_compile=True``) call ``model.make_train_function(force=True)``
    (the plateau callback does).

    >>> import lrkit
    >>> lr = KerasSchedule(lrkit.warmup(lrkit.cosine(0.1, 0.0, steps=90), steps=10))
    >>> lr
    KerasSchedule(warmup(cosine(start=0.1, end=0.0, steps=90), steps=10))
    >>> [round(float(lr(k)), 4) for k in (0, 5, 10, 55, 100)]
    [0.0, 0.05, 0.1, 0.05, 0.0]
    """

    def __init__(self, schedule, scale=1.0, plateau=None, gradient_accumulation_steps=1):
        self.schedule = as_schedule(schedule)
        require_non_negative(self.schedule, "KerasSchedule",
                             float(np.finfo(keras.config.floatx()).max) if keras.config.floatx() != "float64" else None)
        self.scale = check.positive("scale", scale)
        self.gradient_accumulation_steps = check.count("gradient_accumulation_steps", gradient_accumulation_steps)
        if self.gradient_accumulation_steps < 1:
            raise LrkitValueError(f"gradient_accumulation_steps must be >= 1, got {excerpt(gradient_accumulation_steps)}")
        # the plateau callback's state, validated now so that a bad saved config fails at load
        self.plateau = PlateauState.from_dict(plateau).to_dict() if plateau is not None else None
        _probe(self.schedule)

    def __call__(self, step):
        if self.gradient_accumulation_steps > 1:  # micro-steps -> optimizer updates
            step = ops.floor_divide(step, self.gradient_accumulation_steps)
        value = self.schedule(step, xp=ops)
        return value * self.scale if self.scale != 1.0 else value

    def get_config(self):
        return {"schedule": self.schedule.to_config(), "scale": self.scale, "plateau": self.plateau,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config):
        """The schedule of a saved model; a function it names must be allowed (``lrkit.allow_function``)."""
        keys = ("schedule", "scale", "plateau", "gradient_accumulation_steps")
        if not isinstance(config, dict) or "schedule" not in config or set(config) - set(keys):
            raise SpecError(f"KerasSchedule config must be a dict with 'schedule' and optionally "
                            f"{', '.join(keys[1:])}, got {excerpt(config)}")
        return cls(**config)

    def __repr__(self):
        extra = f", scale={self.scale!r}" if self.scale != 1.0 else ""
        return f"KerasSchedule({self.schedule!r}{extra})"


# ---- plateau -------------------------------------------------------------------------------------

_MINIMISE = ("loss", "error", "mse", "mae", "crossentropy", "perplexity")
_MAXIMISE = ("acc", "auc", "precision", "recall", "f1", "iou")


def _direction(monitor):
    name = monitor.removeprefix("val_").lower()
    if any(word in name for word in _MINIMISE):
        return "min"
    if any(word in name for word in _MAXIMISE):
        return "max"
    raise LrkitValueError(
        f"mode='auto' cannot tell whether monitor={excerpt(monitor)} should go down or up: "
        f"pass mode='min' or mode='max'")


def _keras_schedule_of(optimizer):
    while hasattr(optimizer, "inner_optimizer"):  # LossScaleOptimizer (mixed precision)
        optimizer = optimizer.inner_optimizer
    schedule = getattr(optimizer, "_learning_rate", None)
    if not isinstance(schedule, KerasSchedule):
        raise LrkitTypeError(
            f"ReduceLROnPlateau needs the optimizer's learning_rate to be a lrkit.keras.KerasSchedule, "
            f"got {excerpt(schedule)}; wrap the schedule (KerasSchedule(lrkit.constant(lr)) for a fixed "
            f"rate) or use keras.callbacks.ReduceLROnPlateau with a float learning rate")
    return schedule


class ReduceLROnPlateau(keras.callbacks.Callback):
    """Keras' ``ReduceLROnPlateau`` for an optimizer whose learning rate is a :class:`KerasSchedule`.

    Keras' own callback assigns a float to ``optimizer.learning_rate``, which fails once the
    learning rate is a schedule object (tensorflow#36612). This one multiplies the schedule's
    ``scale`` by ``factor`` instead: the curve keeps its shape, lowered. Same arguments and the same
    decisions as Keras' callback (``monitor``, ``factor``, ``patience``, ``mode``, ``min_delta``,
    ``cooldown``, ``verbose``), with ``min_scale`` (a floor on the multiplier) in place of
    ``min_lr``. The decisions are lrkit's plateau controller (torch's rule) with Keras' counting
    translated: ``patience - 1``, ``cooldown - 1``, an absolute ``min_delta``. A NaN or infinite
    metric counts as an epoch without improvement and never becomes the best.

    The state (the controller's counters and the scale) lives in the ``KerasSchedule``, so
    ``model.save()`` keeps it and a new callback resumes from a loaded model. List it before a
    ``ModelCheckpoint`` so that each checkpoint holds the state of its epoch. A change of scale
    rebuilds the train function (one retrace in compiled backends).
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_scale=0.0):
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise LrkitTypeError(f"monitor must be the name of a logged metric, got {excerpt(monitor)}")
        self.monitor = monitor
        self.factor = factor
        self.patience = check.count("patience", patience)
        self.cooldown = check.count("cooldown", cooldown)
        self.min_delta = check.non_negative("min_delta", min_delta)
        self.min_scale = check.non_negative("min_scale", min_scale)
        self.mode = check.choice("mode", mode, ("auto", "min", "max"))
        self.verbose = verbose
        self._controller(self.mode if self.mode != "auto" else "min")  # validate factor now
        self._ctl = self._state = None

    def _controller(self, mode):
        # Keras waits `patience` bad epochs (wait >= patience) where torch waits more than
        # `patience`; Keras' cooldown counter is spent before the epoch is judged (cooldown - 1 epochs
        # ignored); eps=0 makes `reduce` act exactly when Keras' `lr > min_lr` would.
        return plateau(mode=mode, factor=self.factor, patience=max(self.patience - 1, 0),
                       threshold=self.min_delta, threshold_mode="abs", cooldown=max(self.cooldown - 1, 0),
                       min_lr=self.min_scale, eps=0.0, nonfinite="bad")

    def on_train_begin(self, logs=None):
        target = _keras_schedule_of(self.model.optimizer)
        self._ctl = self._controller(_direction(self.monitor) if self.mode == "auto" else self.mode)
        self._state = (PlateauState.from_dict(target.plateau) if target.plateau is not None
                       else self._ctl.init())

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if self.monitor not in logs:
            raise LrkitValueError(
                f"monitor={self.monitor!r} is not in the logs of epoch {epoch + 1}; "
                f"available: {sorted(logs)}")
        target = _keras_schedule_of(self.model.optimizer)
        before = self._state.reductions
        self._state = self._ctl.update(self._state, float(logs[self.monitor]))
        scale = target.scale
        if self._state.reductions > before:
            scale = self._ctl.reduce(scale)
        target.plateau = self._state.to_dict()
        if scale != target.scale:
            target.scale = scale
            self.model.make_train_function(force=True)  # a compiled step has the old scale inlined
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau scaling the learning-rate schedule "
                      f"by {scale:g}.")
        logs["lr_scale"] = scale
        logs["learning_rate"] = float(ops.convert_to_numpy(self.model.optimizer.learning_rate))


# ---- a changed plan on resume ----------------------------------------------------------------------
def replan(optimizer, schedule, on_change="raise"):
    """Resume a loaded model under ``schedule``: the optimizer's :class:`KerasSchedule` (restored by
    ``keras.models.load_model``) is the saved plan, ``optimizer.iterations`` the resume step. An unchanged
    plan is kept; a changed one follows ``on_change`` (``lrkit.replan``): ``"raise"`` (default; the message
    shows both schedules, the step and the LR jump), ``"keep"``, ``"new"`` or ``"smooth"``. The optimizer's
    learning rate becomes the chosen ``KerasSchedule`` (its scale and plateau state kept); it is returned.
    (``model.load_weights`` restores no schedule, only the step: there the schedule in code is the plan.)
    """
    from ._plans import replan as core_replan
    target = _keras_schedule_of(optimizer)
    inner = optimizer
    while hasattr(inner, "inner_optimizer"):
        inner = inner.inner_optimizer
    step = int(ops.convert_to_numpy(inner.iterations)) // target.gradient_accumulation_steps
    chosen = core_replan(target.schedule, as_schedule(schedule), step, on_change)
    if chosen == target.schedule:
        return target
    result = KerasSchedule(chosen, scale=target.scale, plateau=target.plateau,
                           gradient_accumulation_steps=target.gradient_accumulation_steps)
    inner.learning_rate = result
    return result


# ---- the monitor -----------------------------------------------------------------------------------

class MonitorCallback(keras.callbacks.Callback):
    """lrkit's monitor (:mod:`lrkit.monitor`) for ``model.fit``: the learning rate (and ``momentum``,
    ``beta_1``, ``beta_2``, ``weight_decay`` where the optimizer has them as numbers) applied at every
    update, the training loss, and the audit against the plan.

    The plan: ``plan=`` (an lrkit schedule or spec, in updates; ``plan_per="epoch"``: in epochs), else the
    optimizer's :class:`KerasSchedule`. The value of update ``k`` is read after it: a learning-rate
    schedule evaluated at ``k`` (what Keras computed for the update), or the learning-rate variable.
    ``log``/``sinks`` and the other options are :class:`lrkit.monitor.Recorder`'s; ``summary()`` and
    ``findings`` after ``fit``::

        model.fit(x, y, epochs=5, callbacks=[lrkit.keras.MonitorCallback("run.jsonl")])
    """

    _NUMBERS = (("momentum", "momentum"), ("beta_1", "beta1"), ("beta_2", "beta2"), ("weight_decay", "weight_decay"))

    def __init__(self, log="lrkit-run.jsonl", plan=None, sinks=None, plan_per="update", steps_per_epoch=None,
                 total_steps=None, label="run", audit=True, warn=True):
        super().__init__()
        self.options = dict(log=log, sinks=sinks, plan_per=plan_per, label=label, audit=audit, warn=warn)
        self.plan = None if plan is None else as_schedule(plan, "plan")
        self.steps_per_epoch, self.total_steps = steps_per_epoch, total_steps
        self.recorder = None

    def on_train_begin(self, logs=None):
        from .monitor import Recorder
        optimizer = self.model.optimizer
        while hasattr(optimizer, "inner_optimizer"):
            optimizer = optimizer.inner_optimizer
        self._optimizer = optimizer
        self._names = [(attr, label) for attr, label in self._NUMBERS
                       if isinstance(getattr(optimizer, attr, None), (int, float)) and not isinstance(
                           getattr(optimizer, attr), bool)]
        plan = self.plan
        lr = getattr(optimizer, "_learning_rate", None)
        if plan is None and isinstance(lr, KerasSchedule):
            plan = lr.schedule * lr.scale if lr.scale != 1.0 else lr.schedule
        params = self.params or {}
        steps, epochs = params.get("steps"), params.get("epochs")
        per_epoch = self.steps_per_epoch or steps
        total = self.total_steps or (steps * epochs if steps and epochs else None)
        self._schedule = lr if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule) else None
        self.recorder = Recorder(["lr"] + [label for _, label in self._names], ["pg1"],
                                 plan=None if plan is None else {("lr", 0): plan}, optimizer=type(optimizer).__name__,
                                 start=int(ops.convert_to_numpy(optimizer.iterations)), steps_per_epoch=per_epoch,
                                 total_steps=total, **self.options)

    def on_train_batch_end(self, batch, logs=None):
        optimizer = self._optimizer
        step = int(ops.convert_to_numpy(optimizer.iterations)) - 1
        if self._schedule is not None:
            lr = float(ops.convert_to_numpy(self._schedule(step)))
        else:
            lr = float(ops.convert_to_numpy(optimizer.learning_rate))
        values = [[lr]] + [[float(getattr(optimizer, attr))] for attr, _ in self._names]
        self.recorder.record(step, values)
        if logs and "loss" in logs:
            self.recorder.metrics(step, {"loss": float(logs["loss"])})

    def on_train_end(self, logs=None):
        if self.recorder is not None:
            self.recorder.close()

    def summary(self):
        return None if self.recorder is None else self.recorder.summary()

    @property
    def findings(self):
        return [] if self.recorder is None or self.recorder.audit is None else list(self.recorder.audit.findings)
