"""optax / JAX adapter: an lrkit schedule as an optax schedule (``count -> learning rate``).

``to_optax(schedule)`` evaluates the lrkit formula with ``jax.numpy``, so it works in
``optax.sgd/adam(learning_rate=...)``, in ``optax.inject_hyperparams`` (the rate then sits in the
optimizer state) and under ``jax.jit``. optax passes the number of updates done, so update ``k``
(from 0) uses ``schedule(k)``, as everywhere in lrkit.

Plateau: lrkit adds no optimizer API; two compositions work under ``jax.jit`` without retracing.

- In the graph, optax's rule: chain ``optax.contrib.reduce_on_plateau`` after the optimizer; it
  multiplies the updates (hence the learning rate) by its ``scale``::

      tx = optax.chain(optax.inject_hyperparams(optax.adam)(learning_rate=to_optax(s)),
                       optax.contrib.reduce_on_plateau(patience=5, accumulation_size=steps_per_epoch))
      updates, state = tx.update(grads, state, params, value=loss)
      # rate used: state[0].hyperparams["learning_rate"] * state[1].scale

- On the host, lrkit's rule (the one of the torch and Keras adapters): an injected ``optax.scale``
  stage whose ``step_size`` the epoch loop sets from ``lrkit.plateau``::

      tx = optax.chain(optax.inject_hyperparams(optax.adam)(learning_rate=to_optax(s)),
                       optax.inject_hyperparams(optax.scale)(step_size=1.0))
      ctl = lrkit.plateau(patience=5); p = ctl.init()
      # after each epoch:
      p = ctl.update(p, val_loss)
      state[1].hyperparams["step_size"] = jnp.asarray(ctl.apply(1.0, p), jnp.float32)

>>> from lrkit.optax import to_optax
>>> lr = to_optax("exponential(0.1, 0.96, steps=1, staircase=True)")
>>> [round(float(lr(k)), 6) for k in (0, 1, 11)]
[0.1, 0.096, 0.063824]
"""
import copy

try:
    import jax
    import jax.numpy as jnp
except ModuleNotFoundError as error:
    if error.name != "jax":
        raise
    raise ModuleNotFoundError("lrkit.optax needs JAX (and optax), which is not installed: pip install 'lrkit[jax]'",
                              name=error.name) from None

from ._base import Schedule, require_non_negative
from ._errors import LrkitError, LrkitTypeError, excerpt
from ._spec import as_schedule

__all__ = ["to_optax", "resume", "OptaxMonitor"]


def _with_float_numbers(value):
    """``value`` with every int inside (a schedule's fields and what it built from them) a float.
    JAX reads a Python int next to an array as a weakly typed int32 and overflows past 2**31
    (``steps=10**10``); optax's own schedules take such numbers as floats, and so does this copy,
    used only to evaluate: the schedule itself (its repr, its config) keeps its ints."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, tuple):
        return tuple(_with_float_numbers(v) for v in value)
    if isinstance(value, Schedule):
        twin = copy.copy(value)
        for name, item in vars(value).items():
            if name != "_scalar":
                object.__setattr__(twin, name, _with_float_numbers(item))
        return twin
    return value


class _OptaxSchedule:
    """``count -> schedule(count, xp=jax.numpy)``: an optax schedule (any callable of the count)."""

    def __init__(self, schedule):
        self.schedule = schedule
        self._evaluated = _with_float_numbers(schedule)

    def __call__(self, count):
        return self._evaluated(count, xp=jnp)

    def __repr__(self):
        return f"to_optax({self.schedule!r})"

    def __eq__(self, other):
        return isinstance(other, _OptaxSchedule) and other.schedule == self.schedule

    def __hash__(self):
        return hash((_OptaxSchedule, self.schedule))


def _probe(optax_schedule):
    """Trace the formula once on an abstract int32 count, as jit does; fail now, not mid-training."""
    schedule = optax_schedule.schedule
    try:
        out = jax.eval_shape(optax_schedule, jax.ShapeDtypeStruct((), jnp.int32))
    except LrkitError:
        raise
    except Exception as error:  # whatever the user function raised on a tracer
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise LrkitTypeError(
            f"schedule {excerpt(schedule)} cannot be evaluated with jax.numpy on a traced count "
            f"({type(error).__name__}: {first_line}). optax evaluates schedules inside jax.jit: the "
            f"step-dependent part must use array operations (arithmetic operators, jax.numpy), not "
            f"`if`, float(), int(), math.* or numpy on the step") from None
    shape, dtype = getattr(out, "shape", None), getattr(out, "dtype", None)
    if shape != () or dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        raise LrkitTypeError(
            f"schedule {excerpt(schedule)} must give one float per step under jax.numpy, "
            f"got shape {shape} and dtype {dtype}")


def to_optax(schedule):
    """The optax schedule ``count -> schedule(count)`` of an lrkit schedule (or spec string, or config).

    Evaluated with ``jax.numpy`` in JAX's default float type (float32, float64 with
    ``jax_enable_x64``). The formula is traced once here on an abstract count: a schedule that
    cannot run under ``jax.jit`` (a Python-only ``lrkit.function``) raises ``LrkitTypeError`` now, and
    so does one whose ``bounds()`` do not prove its values ``>= 0`` (a jitted update cannot stop at a
    bad value; a user function is taken at its contract, values ``>= 0``).

    >>> import lrkit, optax
    >>> tx = optax.inject_hyperparams(optax.sgd)(learning_rate=to_optax(lrkit.linear(1.0, 0.0, steps=4)))
    >>> state = tx.init({"w": 0.0})
    >>> float(state.hyperparams["learning_rate"])
    1.0
    """
    result = _OptaxSchedule(as_schedule(schedule))
    require_non_negative(result.schedule, "to_optax",
                         None if jax.config.jax_enable_x64 else float(jnp.finfo(jnp.float32).max))
    _probe(result)
    return result


def resume(saved, schedule, count, on_change="raise"):
    """The optax schedule of a run resumed at update ``count`` (the optimizer state's count) under
    ``schedule`` when the checkpoint recorded ``saved`` (a schedule, spec or config: save
    ``to_optax(s).schedule.to_config()`` with the optimizer state). ``on_change`` as ``lrkit.replan``:
    ``"raise"`` (default), ``"keep"``, ``"new"``, ``"smooth"``.

    >>> import lrkit
    >>> lr = resume("linear(1.0, 0.0, steps=10)", lrkit.linear(1.0, 0.0, steps=20), 5, on_change="smooth")
    >>> round(float(lr(5)), 6), round(float(lr(20)), 6)
    (0.5, 0.0)
    """
    from ._plans import replan
    count = int(count)
    return to_optax(replan(as_schedule(saved, "saved"), as_schedule(schedule), count, on_change))


def _closing():
    from .monitor import Closing
    return Closing


class OptaxMonitor(_closing()):
    """lrkit's monitor (:mod:`lrkit.monitor`) for an optax loop: log the hyperparameters an
    ``optax.inject_hyperparams`` state holds after each update, audit them against the plan.

    After ``updates, state = tx.update(grads, state, params)`` call ``monitor.record(state, loss=...)``:
    the first ``InjectHyperparamsState`` found in ``state`` (nested in a chain too) holds the values that
    update used (``learning_rate`` is logged as ``lr``) and ``count``, the updates done. The plan:
    ``plan=`` an lrkit schedule or spec for the learning rate, or a dict ``{name: schedule}``. Options as
    :class:`lrkit.monitor.Recorder`'s; ``close()`` (or ``with``) at the end.

    >>> import lrkit, optax, jax.numpy as jnp, tempfile, os
    >>> tx = optax.inject_hyperparams(optax.sgd)(learning_rate=to_optax("linear(0.1, 0.0, steps=4)"))
    >>> params = {"w": jnp.zeros(2)}; state = tx.init(params)
    >>> with OptaxMonitor("linear(0.1, 0.0, steps=4)", log=os.path.join(tempfile.mkdtemp(), "r.jsonl")) as mon:
    ...     for _ in range(4):
    ...         updates, state = tx.update({"w": jnp.ones(2)}, state, params)
    ...         mon.record(state, loss=1.0)
    >>> mon.summary()["parted"], mon.summary()["matched"][0]["matched"]
    ([], 4)
    """

    def __init__(self, plan=None, *, log="lrkit-run.jsonl", sinks=None, plan_per="update", steps_per_epoch=None,
                 total_steps=None, label="run", audit=True, warn=True):
        self.options = dict(log=log, sinks=sinks, plan_per=plan_per, steps_per_epoch=steps_per_epoch,
                            total_steps=total_steps, label=label, audit=audit, warn=warn)
        if plan is None:
            self.plan = {}
        elif isinstance(plan, dict):
            self.plan = {("lr" if k == "learning_rate" else k): as_schedule(v, f"plan[{k!r}]") for k, v in plan.items()}
        else:
            self.plan = {"lr": as_schedule(plan, "plan")}
        self.recorder = None
        self._names = None

    @staticmethod
    def _injected(state):
        if hasattr(state, "hyperparams") and hasattr(state, "count"):
            return state
        if isinstance(state, (tuple, list)):
            for item in state:
                found = OptaxMonitor._injected(item)
                if found is not None:
                    return found
        return None

    def record(self, state, **metrics):
        """Log the hyperparameters of the update just done (``state``: the optimizer state after it)."""
        from .monitor import Recorder
        injected = self._injected(state)
        if injected is None:
            raise LrkitTypeError("OptaxMonitor.record needs an optimizer state with an optax.inject_hyperparams "
                                 f"state in it, got {excerpt(state)}")
        hyper = injected.hyperparams
        if self._names is None:
            self._names = sorted((n for n, v in hyper.items() if getattr(v, "shape", ()) == ()
                                  or isinstance(v, (int, float))), key=lambda n: n != "learning_rate")
            keys = ["lr" if n == "learning_rate" else n for n in self._names]
            self.recorder = Recorder(keys, ["pg1"], plan={(k, 0): s for k, s in self.plan.items() if k in keys},
                                     optimizer="optax", start=int(injected.count) - 1, **self.options)
        step = int(injected.count) - 1
        self.recorder.record(step, [[float(hyper[n])] for n in self._names])
        if metrics:
            self.recorder.metrics(step, {k: float(v) for k, v in metrics.items()})

    def summary(self):
        return None if self.recorder is None else self.recorder.summary()

    def close(self):
        if self.recorder is not None:
            self.recorder.close()
