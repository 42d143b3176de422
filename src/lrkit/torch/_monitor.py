"""``lrkit.torch.Monitor``: log every value the optimizer applied, audit it against the plan.

A step post-hook on the optimizer (the mechanism lrkit's step-order check uses, on the same hook target:
the optimizer an ``AcceleratedOptimizer`` wraps) reads, after each real ``optimizer.step()``, each
recorded key of every param group: the values that step applied, before the scheduler moves them. A
``torch.amp.GradScaler`` given as ``scaler=`` is watched too: when its ``update()`` lowers the scale and
the optimizer did not step since the last ``update()``, the step was skipped (inf/NaN gradients) and is
recorded as skipped. The step index counts optimizer steps, skipped ones included, from ``start``.
"""
import operator

import torch

from .._audit import TimeScaled
from .._errors import LrkitTypeError, LrkitValueError, excerpt
from .._shapes import constant
from .._spec import as_schedule
from ..monitor import Closing, Recorder, key_label
from ._pickling import WatchedUpdate, refuse_monitor
from ._step_order import _hook_target, schedulers_of

_KEYS = ("lr", "momentum", ("betas", 0), ("betas", 1), "weight_decay")
_LABEL_KEYS = {"beta1": ("betas", 0), "beta2": ("betas", 1), "betas[0]": ("betas", 0), "betas[1]": ("betas", 1)}


def _key(key):
    return _LABEL_KEYS.get(key, key) if isinstance(key, str) else tuple(key)


def _reader(key, groups):
    """A function ``groups -> [each group's value]`` (tensors read as floats, when the value is read)."""
    if isinstance(key, tuple):
        name, j = key
        if any(isinstance(g[name][j], torch.Tensor) for g in groups):
            return lambda gs: [float(g[name][j]) for g in gs]
        return lambda gs: [g[name][j] for g in gs]
    if any(isinstance(g[key], torch.Tensor) for g in groups):
        return lambda gs: [float(g[key]) for g in gs]
    return lambda gs, get=operator.itemgetter(key): list(map(get, gs))


def _has(group, key):
    if isinstance(key, tuple):
        value = group.get(key[0])
        return isinstance(value, (tuple, list)) and len(value) > key[1]
    return key in group


class Monitor(Closing):
    """Record the hyperparameters every ``optimizer.step()`` applied, and audit them against the plan.

    ``Monitor(optimizer)`` records, at each optimizer step, ``lr``, ``momentum`` or ``betas``, and
    ``weight_decay`` of every param group (those the groups have), and any key an lrkit scheduler of
    this optimizer drives (``keys=`` to choose). Sinks (``sinks=``): a JSON-lines file at ``log``
    (default), ``"tensorboard"``, ``"wandb"``, ``"mlflow"`` or sink objects (:mod:`lrkit.monitor`).

    The plan: ``plan=`` an lrkit schedule or spec (the LR of every group), a list with one per group,
    or a dict ``{key: schedule or list}``; by default the schedules of the lrkit schedulers built on
    this optimizer (``schedulers=`` to name them; lrkit's ``ReduceLROnPlateau`` plans its initial LR).
    ``plan_per="epoch"`` with ``steps_per_epoch``: a plan in epochs, stepped per epoch. A mistake is
    warned about once (``lrkit.monitor.MonitorWarning``); ``summary()`` lists what matched.

    ``metrics(loss=...)`` logs metrics at the last step; ``event(kind, text)`` an event; ``close()``
    (or ``with Monitor(...) as m:``) flushes, finishes the audit and writes the summary.

    >>> import torch, lrkit, tempfile, os
    >>> from lrkit.torch import Monitor, ScheduleLR
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    >>> sched = ScheduleLR(opt, "cosine(0.1, 0.0, steps=10)")
    >>> with Monitor(opt, log=os.path.join(tempfile.mkdtemp(), "run.jsonl")) as mon:
    ...     for _ in range(10):
    ...         opt.step(); sched.step(); mon.metrics(loss=1.0)
    >>> mon.summary()["parted"], mon.summary()["matched"][0]["matched"]
    ([], 10)
    """

    def __init__(self, optimizer, plan=None, *, schedulers=None, sinks=None, log="lrkit-run.jsonl", keys=None,
                 scaler=None, steps_per_epoch=None, plan_per="update", total_steps=None, start=None, label="run",
                 audit=True, warn=True):
        if not hasattr(optimizer, "param_groups"):
            raise LrkitTypeError(f"optimizer must be a torch optimizer, got {excerpt(optimizer)}")
        self.optimizer = optimizer
        target = _hook_target(optimizer)
        groups = optimizer.param_groups
        if schedulers is None:  # (the latest built first: its plan wins where two drive one key)
            schedulers = schedulers_of(target) or schedulers_of(optimizer)
        elif not isinstance(schedulers, (list, tuple)):
            schedulers = [schedulers]
        self.schedulers = list(schedulers)
        planned = self._plan(plan, groups)
        if keys is None:
            keys = [k for k in _KEYS if all(_has(g, k) for g in groups)]
            for key, _ in planned:
                if key not in keys:
                    keys.append(key)
        else:
            keys = [_key(k) for k in keys]
            for k in keys:
                if not all(_has(g, k) for g in groups):
                    raise LrkitValueError(f"keys: {key_label(k)!r} is not in every param group of the optimizer")
        planned = {c: s for c, s in planned.items() if c[0] in keys}
        self.keys = keys
        self._readers = [_reader(k, groups) for k in keys]
        if start is None:
            start = max((s.last_epoch for s in self.schedulers if hasattr(s, "_hyperparameters")
                         and s._hyperparameters is not None and s.last_epoch > 0), default=0)
        self.step = int(start)
        names = [str(g.get("name", f"pg{i + 1}")) for i, g in enumerate(groups)]
        self.recorder = Recorder(keys, names, plan=planned, sinks=sinks, log=log, label=label,
                                 optimizer=type(target).__name__, start=self.step, steps_per_epoch=steps_per_epoch,
                                 plan_per=plan_per, total_steps=total_steps, audit=audit, warn=warn)
        for s in self.schedulers:
            self.recorder.watch_events(s)
        self._stepped = False
        self._handle = target.register_step_post_hook(self._after_step)
        self.scaler = None
        if scaler is not None:
            self.watch_scaler(scaler)

    # ---- the plan ------------------------------------------------------------------------------------------
    def _plan(self, plan, groups):
        n = len(groups)
        out = {}
        if plan is not None:
            items = plan.items() if isinstance(plan, dict) else [("lr", plan)]
            for key, value in items:
                key = _key(key)
                label = key_label(key)
                if isinstance(value, (list, tuple)):
                    if len(value) != n:
                        raise LrkitValueError(f"plan[{label!r}] has {len(value)} schedules for {n} param groups")
                    for i, v in enumerate(value):
                        if v is not None:
                            out[(key, i)] = as_schedule(v, f"plan[{label!r}][{i}]")
                else:
                    s = as_schedule(value, f"plan[{label!r}]" if isinstance(plan, dict) else "plan")
                    for i in range(n):
                        out[(key, i)] = s
            return out
        for scheduler in self.schedulers:
            hyperparameters = getattr(scheduler, "_hyperparameters", None)
            if hyperparameters is None:
                if hasattr(scheduler, "_ctl"):  # lrkit's ReduceLROnPlateau: the initial LR, then its cuts
                    for i, g in enumerate(groups):
                        out.setdefault(("lr", i), constant(float(g["lr"])))
                continue
            per_update = float(scheduler._time(1)) - float(scheduler._time(0))
            for h in hyperparameters:
                for i in range(h.n_groups):
                    s = h.schedule(i)
                    if s is not None:
                        out.setdefault((h.key, i), s if per_update == 1.0 else TimeScaled(s, per_update))
        return out

    # ---- the per-step path -----------------------------------------------------------------------------------
    def _after_step(self, optimizer, args, kwargs):
        groups = self.optimizer.param_groups
        self._stepped = True
        step = self.step
        self.step = step + 1
        rec = self.recorder
        rec._rows.append((step, [read(groups) for read in self._readers]))
        if len(rec._rows) >= rec._next_flush:
            rec.flush()

    def watch_scaler(self, scaler):
        """Record the steps ``scaler`` (a ``torch.amp.GradScaler``) skips: its ``update()`` lowered the
        scale and the optimizer did not step since the previous ``update()``."""
        if not all(callable(getattr(scaler, m, None)) for m in ("update", "get_scale", "step")):
            raise LrkitTypeError(f"scaler must be a torch.amp.GradScaler, got {excerpt(scaler)}")
        original = scaler.update
        monitor = self

        def update(new_scale=None):
            before = scaler.get_scale() if scaler.is_enabled() else None
            result = original(new_scale)
            if before is not None and not monitor._stepped and new_scale is None and scaler.get_scale() < before:
                monitor._skipped()
            monitor._stepped = False
            return result

        update = WatchedUpdate(scaler, update)  # (a copy of the scaler is not watched: ``_pickling``)
        scaler.update = update
        self.scaler = (scaler, update)

    def _skipped(self):
        rec = self.recorder
        rec._rows.append((self.step, None))
        self.step += 1
        if len(rec._rows) >= rec._next_flush:
            rec.flush()

    # ---- the rest ----------------------------------------------------------------------------------------
    def metrics(self, step=None, **metrics):
        """Log metrics (numbers or one-element tensors) at ``step`` (default: the last optimizer step)."""
        values = {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in metrics.items()}
        self.recorder.metrics(max(self.step - 1, 0) if step is None else int(step), values)

    def event(self, kind, text="", step=None, **info):
        """Log an event (default step: the last optimizer step)."""
        self.recorder.event(max(self.step - 1, 0) if step is None else int(step), kind, "user", text, **info)

    @property
    def audit(self):
        return self.recorder.audit

    def summary(self):
        """``{"matched": [...], "parted": [...], "findings": [...]}`` so far (None without a plan)."""
        self.recorder.flush()
        return self.recorder.summary()

    def summary_text(self):
        self.recorder.flush()
        return self.recorder.summary_text()

    def flush(self):
        self.recorder.flush()

    def close(self):
        """Stop recording: remove the hook, flush, finish the audit, close the sinks."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        if self.scaler is not None:
            scaler, update = self.scaler
            if scaler.__dict__.get("update") is update:
                del scaler.update
            self.scaler = None
        self.recorder.close()

    def __reduce_ex__(self, protocol):  # (open log files and a hook: lrkit's error, ``_pickling``)
        refuse_monitor(self)

    def __repr__(self):
        return f"Monitor({type(self.optimizer).__name__}, step={self.step}, keys={[key_label(k) for k in self.keys]})"
