"""The monitor in real Keras ``fit`` runs (one mistake per run, set up on purpose, or none) and in an
optax loop reading the ``inject_hyperparams`` state."""
import os
import warnings

import numpy as np
import pytest

import lrkit
from lrkit.monitor import MonitorWarning, read_log
from monitor_cases import assert_only, monitor_warnings  # (tests/ is on sys.path)

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lrkit.keras import KerasSchedule, MonitorCallback  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # keras-torch __array__ noise

BATCHES, EPOCHS = 8, 5
UPDATES = BATCHES * EPOCHS
COSINE = "cosine(0.1, 0.001, steps=40)"


class _PerBatch(keras.callbacks.Callback):
    """A hand-written per-update scheduler (correct), and once, at update 13, a foreign write."""

    def __init__(self, plan, foreign_at=None):
        super().__init__()
        self.plan, self.foreign_at, self.k = lrkit.as_schedule(plan), foreign_at, 0

    def on_train_batch_begin(self, batch, logs=None):
        lr = 0.05 if self.k == self.foreign_at else float(self.plan(self.k))
        self.model.optimizer.learning_rate = lr
        self.k += 1


def _fit(tmp_path, learning_rate, callbacks=(), plan=None, val=False, **options):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(BATCHES * 4, 3)).astype("float32")
    y = x.sum(1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9), loss="mse")
    monitor = MonitorCallback(str(tmp_path / "run.jsonl"), plan=plan, **options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=4, epochs=EPOCHS, verbose=0, shuffle=False, callbacks=[*callbacks, monitor],
                  validation_data=(x[:4], y[:4] * 0 + 1e3) if val else None)
    return monitor, monitor_warnings(caught)


KERAS = {
    "clean": (lambda: dict(learning_rate=KerasSchedule(COSINE)), None),
    "per-epoch": (lambda: dict(learning_rate=0.1, plan=COSINE, callbacks=(keras.callbacks.LearningRateScheduler(
        lambda epoch, lr: float(lrkit.as_schedule(COSINE)(epoch))),)), "once per epoch"),
    "per-update": (lambda: dict(learning_rate=KerasSchedule("step_decay(0.1, period=2, gamma=0.5)"),
                                plan="step_decay(0.1, period=2, gamma=0.5)", plan_per="epoch"),
                   "steps every update, the plan is per epoch"),
    "not stepped": (lambda: dict(learning_rate=0.1, plan=COSINE), "not stepped"),
    "foreign": (lambda: dict(learning_rate=0.1, plan=COSINE, callbacks=(_PerBatch(COSINE, foreign_at=13),)),
                "update 13: lr of param group 0 was 0.05"),
    "decay ended": (lambda: dict(learning_rate=KerasSchedule("cosine(0.1, 0.0, steps=20)")), "ends at update 20"),
    "plateau cut": (lambda: dict(learning_rate=0.1, plan="constant(0.1)", val=True, callbacks=(
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=0, factor=0.5, min_delta=1e9),)),
        "plateau cut"),
}


@pytest.mark.parametrize("case", list(KERAS))
def test_keras_run_warns_about_its_mistake(tmp_path, case):
    make, message = KERAS[case]
    monitor, caught = _fit(tmp_path, **make())
    assert_only(monitor.findings, caught, case, message)
    log = read_log(str(tmp_path / "run.jsonl"))
    assert log.steps == list(range(UPDATES)) and log.keys == ["lr", "momentum"]
    assert log.metrics["loss"][0] == list(range(UPDATES))


def test_keras_clean_run_logs_the_schedule_values(tmp_path):
    monitor, _ = _fit(tmp_path, KerasSchedule(COSINE))
    log = read_log(str(tmp_path / "run.jsonl"))
    expected = [float(keras.ops.convert_to_numpy(KerasSchedule(COSINE)(k))) for k in range(UPDATES)]
    assert log.values["lr"][0] == expected and log.values["momentum"][0] == [0.9] * UPDATES


def test_optax_monitor_reads_inject_hyperparams(tmp_path):
    jax = pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    from lrkit.optax import OptaxMonitor, to_optax
    jnp = jax.numpy
    params = {"w": jnp.zeros(3)}
    grads = {"w": jnp.ones(3)}

    def run(schedule, path):
        tx = optax.chain(optax.inject_hyperparams(optax.adam)(learning_rate=schedule, b1=0.9),
                         optax.inject_hyperparams(optax.scale)(step_size=1.0))
        state = tx.init(params)
        step = jax.jit(tx.update)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with OptaxMonitor(COSINE, log=str(path)) as mon:
                for k in range(UPDATES):
                    _, state = step(grads, state, params)
                    mon.record(state, loss=1.0 / (k + 1))
        return mon, [w for w in caught if issubclass(w.category, MonitorWarning)]

    mon, caught = run(to_optax(COSINE), tmp_path / "clean.jsonl")
    assert caught == [] and mon.recorder.audit.findings == []
    log = read_log(str(tmp_path / "clean.jsonl"))
    assert log.keys == ["lr", "b1", "b2", "eps", "eps_root"] and log.steps == list(range(UPDATES))
    assert log.values["b1"][0] == [pytest.approx(0.9, rel=1e-7)] * UPDATES
    cos = lrkit.as_schedule(COSINE)
    assert log.values["lr"][0][7] == pytest.approx(cos(7), rel=1e-6)  # (float32 under jit)
    per_epoch = to_optax(COSINE)
    mon, caught = run(lambda count: per_epoch(count // BATCHES), tmp_path / "epoch.jsonl")
    assert [f.kind for f in mon.recorder.audit.findings] == ["per-epoch"] and len(caught) == 1
