"""lrkit.keras: KerasSchedule in model.fit, save/load, the seed's TensorFlow example, bad input, and
the plateau callback.

Keras picks its backend once, at its first import (KERAS_BACKEND). This module runs on the backend
already loaded in this process (torch unless the environment or an earlier test module chose
otherwise); ``test_other_backend`` re-runs the Keras tests of this module and of the parity table
in a subprocess on the other of torch / jax, so both backends are always covered.
"""
import importlib.util
import math
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import lrkit

os.environ.setdefault("KERAS_BACKEND", "torch")
try:
    import keras
    from keras import ops
except Exception as error:  # e.g. KERAS_BACKEND=tensorflow without TensorFlow
    pytest.skip(f"keras unusable here: {error}", allow_module_level=True)

from lrkit.keras import KerasSchedule, ReduceLROnPlateau  # noqa: E402
import seed_tables  # noqa: E402 (tests/ is on sys.path: tests/conftest.py)
from ulps import assert_ulps  # noqa: E402

BACKEND = keras.backend.backend()
ROOT = pathlib.Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # keras-torch __array__ noise


def _number(x):
    return float(ops.convert_to_numpy(x))


def _sync(model):
    """On the jax backend, fit keeps the state outside the variables between epochs: sync it."""
    getattr(model, "jax_state_sync", lambda: None)()


# ---- a model whose update is exactly the learning rate -------------------------------------------

class Bias(keras.layers.Layer):
    """y = w (broadcast): with loss = mean(y), dloss/dw = 1, so SGD's update is w -= lr."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(), initializer="zeros", name="w")

    def call(self, inputs):
        return ops.zeros_like(inputs) + self.w


def _identity_loss(y_true, y_pred):
    return y_pred


CUSTOM = {"Bias": Bias, "_identity_loss": _identity_loss}  # the test's own layer and loss


def _model(learning_rate):
    model = keras.Sequential([keras.Input(shape=(1,)), Bias()])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss=_identity_loss)
    return model


class Recorder(keras.callbacks.Callback):
    """Batch by batch: the update count, the learning rate the optimizer is about to use, and the
    weight after the update."""

    def __init__(self):
        super().__init__()
        self.steps, self.rates, self.weights = [], [], []

    def on_train_batch_begin(self, batch, logs=None):
        _sync(self.model)
        self.steps.append(int(_number(self.model.optimizer.iterations)))
        self.rates.append(_number(self.model.optimizer.learning_rate))

    def on_train_batch_end(self, batch, logs=None):
        _sync(self.model)
        self.weights.append(_number(self.model.layers[-1].w))


DATA = np.zeros((32, 1), dtype="float32")   # 8 batches of 4 per epoch


def _fit(model, epochs, callbacks=(), initial_epoch=0):
    recorder = Recorder()
    model.fit(DATA, DATA, batch_size=4, epochs=epochs, initial_epoch=initial_epoch, shuffle=False,
              verbose=0, callbacks=[*callbacks, recorder])
    return recorder


SPEC = "warmup(cosine(0.1, 0.01, steps=14), steps=6) * 0.5 + 0.001"


def test_fit_uses_the_lrkit_curve_batch_by_batch():
    schedule = lrkit.parse(SPEC)
    model = _model(KerasSchedule(SPEC))
    rec = _fit(model, epochs=3)
    assert rec.steps == list(range(24))
    expected = schedule(np.arange(24))
    np.testing.assert_allclose(rec.rates, expected, rtol=1e-6)          # what the optimizer reports
    used = -np.diff([0.0] + rec.weights)                                 # what it applied: w -= lr
    np.testing.assert_allclose(used, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("compensate", [True, False])
def test_gradient_accumulation_counts_optimizer_updates(compensate):
    """With gradient_accumulation_steps=A, Keras calls the schedule with its micro-step counter;
    KerasSchedule(..., gradient_accumulation_steps=A) makes update k use schedule(k) again."""
    schedule, a = lrkit.linear(1.0, 0.0, steps=10), 2
    lr = KerasSchedule(schedule, gradient_accumulation_steps=a if compensate else 1)
    model = keras.Sequential([keras.Input(shape=(1,)), Bias()])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr, gradient_accumulation_steps=a),
                  loss=_identity_loss)
    rec = _fit(model, epochs=2)                                           # 16 micro-steps, 8 updates
    used = -np.diff([0.0] + rec.weights)[a - 1::a]                         # the weight moves once per update
    k = np.arange(len(used))
    expected = schedule(k) if compensate else schedule(a * k + a - 1)
    np.testing.assert_allclose(used, expected, rtol=1e-5, atol=1e-7)


def test_function_schedule_written_with_operators_trains():
    schedule = lrkit.function(lambda t: 0.1 / (1 + t / 4))
    rec = _fit(_model(KerasSchedule(schedule)), epochs=1)
    np.testing.assert_allclose(rec.rates, [0.1 / (1 + k / 4) for k in range(8)], rtol=1e-6)


def test_save_and_load_round_trip(tmp_path):
    model = _model(KerasSchedule(SPEC))
    first = _fit(model, epochs=1)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects=CUSTOM)
    restored = loaded.optimizer._learning_rate
    assert isinstance(restored, KerasSchedule)
    assert restored.schedule == lrkit.parse(SPEC) and restored.scale == 1.0
    assert int(_number(loaded.optimizer.iterations)) == 8
    # both go on from update 8 with the same rates and the same weights
    a, b = _fit(model, epochs=2, initial_epoch=1), _fit(loaded, epochs=2, initial_epoch=1)
    assert a.steps == b.steps == list(range(8, 16))
    np.testing.assert_array_equal(a.rates, b.rates)
    np.testing.assert_array_equal(a.weights, b.weights)
    np.testing.assert_allclose(first.rates + a.rates, lrkit.parse(SPEC)(np.arange(16)), rtol=1e-6)


def test_config_round_trip_through_keras_serialization():
    state = {"best": 1.0, "bad_epochs": 2, "cooldown_left": 0, "epochs": 9, "reductions": 2}
    lr = KerasSchedule(lrkit.one_cycle(0.1, steps=100), scale=0.25, plateau=state)
    config = keras.optimizers.schedules.serialize(lr)
    assert config["registered_name"] == "lrkit>KerasSchedule"
    back = keras.optimizers.schedules.deserialize(config)
    assert isinstance(back, KerasSchedule)
    assert (back.schedule, back.scale, back.plateau) == (lr.schedule, lr.scale, lr.plateau)
    assert repr(back) == "KerasSchedule(one_cycle(peak=0.1, steps=100), scale=0.25)"
    assert math.isclose(_number(back(30)), 0.25 * lr.schedule(30), rel_tol=1e-6)


@pytest.mark.parametrize("floatx", ["float32", "float64"])
def test_rates_have_the_dtype_of_keras_own_schedules(floatx):
    """Integer steps become Keras' floatx, as in Keras' own schedules (the jax backend without x64
    gives float32 for both)."""
    old = keras.config.floatx()
    keras.config.set_floatx(floatx)
    try:
        ours = KerasSchedule("exponential(0.1, 0.96, steps=3)")(7)
        theirs = keras.optimizers.schedules.ExponentialDecay(0.1, 3, 0.96)(7)
        assert str(ours.dtype) == str(theirs.dtype)
        expected = lrkit.exponential(0.1, 0.96, steps=3)(7)
        assert math.isclose(_number(ours), expected, rel_tol=1e-15 if "64" in str(ours.dtype) else 1e-7)
    finally:
        keras.config.set_floatx(old)



FLOAT64_SPECS = ["cosine(0.1, 0.0, steps=33554432)", "exponential(0.1, 0.999999, steps=3, staircase=True)",
                 "warmup(cosine(0.1, 0.01, steps=67108864), steps=100)", "cyclic(0.01, 0.1, steps_up=1000001)",
                 "polynomial(0.1, 0.001, steps=33554432, power=2.0)"]


@pytest.mark.parametrize("spec", FLOAT64_SPECS)
def test_floatx_float64_evaluates_in_float64(spec):
    """Under floatx float64 the formula runs in float64, floor/min/max included: keras.ops.floor,
    ceil, minimum and maximum return float32 for float64 input (Keras caps its type promotion at 32
    bits), which would round steps above 2**24. Checked at such steps against lrkit's float64 value:
    within 4 ulps of the peak (cos/pow of the backend vs Python's math, then a difference of two
    numbers of the peak's size)."""
    if BACKEND != "torch":
        pytest.skip("backend condition: Keras' jax backend computes cos/exp in float32 even with floatx float64 "
                    "(keras.ops casts to its 32-bit-capped result_type)")
    old = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        s = lrkit.parse(spec)
        lr = KerasSchedule(s)
        for step in (2 ** 24 + 1, 2 ** 24 + 3, 2 ** 25 - 1, 30_000_001):
            value = lr(ops.convert_to_tensor(step, dtype="int64"))
            assert str(value.dtype).endswith("float64")
            assert_ulps(_number(value), s(step), 4, scale=0.1, what=f"{spec} at {step}")
    finally:
        keras.config.set_floatx(old)

# ---- the seed's TensorFlow example on Keras -------------------------------------------------------

SEED_TABLE = seed_tables.TF_TEXT


class Parabola(keras.layers.Layer):
    """The seed's variable x = 5; the model outputs y = x ** 2."""

    def build(self, input_shape):
        self.x = self.add_weight(shape=(), initializer=keras.initializers.Constant(5.0), name="x")

    def call(self, inputs):
        return ops.zeros_like(inputs) + ops.square(self.x)


def test_seed_tensorflow_example_prints_the_seed_table():
    # tf.train.exponential_decay(0.1, global_step, 1, 0.96, staircase=True) + GradientDescentOptimizer
    learning_rate = KerasSchedule(lrkit.exponential(0.1, 0.96, steps=1, staircase=True))
    layer = Parabola()
    model = keras.Sequential([keras.Input(shape=(1,)), layer])
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    model.compile(optimizer=optimizer, loss=_identity_loss)
    one = np.zeros((1, 1), dtype="float32")
    lines = []
    for i in range(100):                      # TRAINING_STEPS = 100; sess.run(train_op)
        model.train_on_batch(one, one)
        if i % 10 == 0:                       # sess.run(LEARNING_RATE) reads global_step = i + 1
            x_value, lr_value = _number(layer.x), _number(optimizer.learning_rate)
            lines.append("After %s iteration(s): x%s is %f, learning rate is %f."
                         % (i + 1, i + 1, x_value, lr_value))
    assert "\n".join(lines) == SEED_TABLE


# ---- bad input: at construction, with lrkit's errors ----------------------------------------------

def _branching(t):
    return 0.1 if t < 10 else 0.01


BAD = [
    (lambda: KerasSchedule(lrkit.function(_branching)), lrkit.LrkitTypeError,
     "cannot be evaluated with keras.ops on a symbolic step"),
    (lambda: KerasSchedule(lrkit.function(lambda t: math.exp(-t))), lrkit.LrkitTypeError,
     "not `if`, float(), int(), math.* or numpy on the step"),
    (lambda: KerasSchedule(lrkit.function(lambda t: np.exp(-t))), lrkit.LrkitTypeError, "keras.ops"),
    (lambda: KerasSchedule(0.1), lrkit.LrkitTypeError, "schedule must be an lrkit schedule, a spec string"),
    (lambda: KerasSchedule(lrkit.multiplicative(_branching)), lrkit.LrkitTypeError,
     "multiplicative evaluates Python numbers and numpy arrays only"),
    (lambda: KerasSchedule("cosine(0.1, steps=10"), lrkit.SpecError, "spec"),
    (lambda: KerasSchedule("constant(0.1)", scale=0), lrkit.LrkitValueError, "scale must be > 0, got 0"),
    (lambda: ReduceLROnPlateau(factor=1.5), lrkit.LrkitValueError, "factor must be in [0, 1)"),
    (lambda: KerasSchedule("constant(0.1)", plateau={"wait": 1}), lrkit.LrkitValueError,
     "plateau state has unknown key(s) ['wait']"),
    (lambda: ReduceLROnPlateau(patience=-1), lrkit.LrkitValueError, "patience must be an integer >= 0, got -1"),
    (lambda: ReduceLROnPlateau(mode="down"), lrkit.LrkitValueError, "mode must be one of"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=range(len(BAD)))
def test_bad_input_fails_at_construction(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_unsaveable_function_says_so_at_save(tmp_path):
    model = _model(KerasSchedule(lrkit.function(lambda t: 0.1 / (1 + t))))
    with pytest.raises(lrkit.LrkitValueError, match="cannot be saved in a config"):
        model.save(tmp_path / "model.keras")


def test_plateau_needs_a_keras_schedule():
    model = _model(0.1)
    with pytest.raises(lrkit.LrkitTypeError, match="KerasSchedule"):
        _fit(model, epochs=1, callbacks=[ReduceLROnPlateau(monitor="loss")])


# ---- plateau ----------------------------------------------------------------------------------

def _metrics(rng, n):
    """A noisy, mostly decreasing metric with plateaus, repeats and a few NaNs."""
    values, v = [], 1.0
    for _ in range(n):
        kind = rng.integers(5)
        v = v - rng.uniform(0, 0.05) if kind == 0 else v if kind == 1 else v + rng.uniform(-0.01, 0.02)
        values.append(float("nan") if rng.random() < 0.05 else float(v))
    return values


@pytest.mark.parametrize("seed", range(12))
def test_plateau_rule_is_keras_rule(seed):
    """Same metrics into Keras' ReduceLROnPlateau (float LR 1.0) and ours (KerasSchedule(constant(1.0))):
    Keras' learning rate and our scale agree epoch by epoch."""
    rng = np.random.default_rng(seed)
    kwargs = dict(monitor="val_loss", factor=float(rng.uniform(0.1, 0.9)), patience=int(rng.integers(0, 5)),
                  mode=["min", "max", "auto"][seed % 3], min_delta=float(rng.choice([0.0, 1e-3, 1e-2])),
                  cooldown=int(rng.integers(0, 4)))
    floor = float(rng.choice([0.0, 0.05]))
    theirs_model, ours_model = _model(1.0), _model(KerasSchedule(lrkit.constant(1.0)))
    theirs = keras.callbacks.ReduceLROnPlateau(min_lr=floor, **kwargs)
    ours = ReduceLROnPlateau(min_scale=floor, **kwargs)
    theirs.set_model(theirs_model)
    ours.set_model(ours_model)
    theirs.on_train_begin()
    ours.on_train_begin()
    values = _metrics(rng, 60)
    a, b = [], []
    for epoch, value in enumerate(values):
        theirs.on_epoch_end(epoch, {"val_loss": value})
        ours.on_epoch_end(epoch, {"val_loss": value})
        a.append(_number(theirs_model.optimizer.learning_rate))
        b.append(ours_model.optimizer._learning_rate.scale)
    assert min(b) < 1.0
    np.testing.assert_allclose(b, a, rtol=1e-6)


class Inject(keras.callbacks.Callback):
    """Puts a scripted metric into the epoch logs (list it before the plateau callback)."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.values[epoch]


SCORES = [1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8]


def _plateau():
    return ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=2, min_delta=0.0)


def test_plateau_lowers_the_schedule_in_fit_and_survives_save(tmp_path):
    schedule = lrkit.parse(SPEC)
    # uninterrupted: 8 epochs of 8 updates
    straight = _model(KerasSchedule(SPEC))
    whole = _fit(straight, epochs=8, callbacks=[Inject(SCORES), _plateau()])
    # epochs 1-3 bad after epoch 0 -> halved after epoch 3 (patience 2), again after epoch 6
    scale = np.repeat([1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25], 8)
    np.testing.assert_allclose(whole.rates, scale * schedule(np.arange(64)), rtol=1e-6)
    np.testing.assert_allclose(-np.diff([0.0] + whole.weights), whole.rates, rtol=1e-4, atol=1e-7)
    # interrupted after epoch 5, saved, loaded, resumed with a new callback
    first = _model(KerasSchedule(SPEC))
    head = _fit(first, epochs=5, callbacks=[Inject(SCORES), _plateau()])
    first.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", custom_objects=CUSTOM)
    state = loaded.optimizer._learning_rate
    assert state.scale == 0.5
    assert state.plateau == {"best": 0.8, "bad_epochs": 0, "cooldown_left": 0, "epochs": 5, "reductions": 1}
    tail = _fit(loaded, epochs=8, initial_epoch=5, callbacks=[Inject(SCORES), _plateau()])
    np.testing.assert_array_equal(head.rates + tail.rates, whole.rates)


def test_other_backend():
    """This module's Keras tests and the Keras parity rows, on the other backend, in a subprocess."""
    if os.environ.get("LRKIT_KERAS_SUBPROCESS"):
        pytest.skip("already the subprocess")
    other = {"torch": "jax", "jax": "torch"}.get(BACKEND)
    if other is None or importlib.util.find_spec(other) is None:
        pytest.skip(f"no second backend to try from {BACKEND}")
    env = dict(os.environ, KERAS_BACKEND=other, LRKIT_KERAS_SUBPROCESS="1")
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-x",
               "tests/test_keras.py", "tests/test_parity_adapters.py", "-k", "keras and not other_backend"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout, done.stdout[-2000:]
    # a test may skip only for a stated property of the backend (e.g. its float32 log kernel)
    reasons = [line.split(": ", 1)[-1] for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all(r.startswith("backend condition: ") for r in reasons), reasons
