"""lrkit.tf: TensorFlow 1's functional learning-rate decays under their own names.

What is checked, and against what:

- signatures: names, argument names, order and defaults are TF1's ``tf.compat.v1.train.*``, written
  out below from the TensorFlow source (TensorFlow is not installed here);
- values on ints, floats and numpy arrays against the installed Keras 3 schedules, which are the
  very classes TF1's functions call (TF >= 2.0 builds each ``tf.compat.v1.train.*_decay`` as
  ``learning_rate_schedule.<Class>(...)(global_step)``), to 1e-12 relative in float64;
- ``natural_exp_decay`` and ``linear_cosine_decay`` (no Keras 3 class): values read off TF's
  docstring formulas at points where they are plain arithmetic, and natural_exp_decay against
  ``ExponentialDecay(lr, decay_steps, exp(-decay_rate))``, which is how TF >= 2.0 implements it;
- ``dtype="float32"`` (lrkit's keyword-only addition): float32 results, bitwise Keras' float32 ones
  where lrkit orders the operations as TF does;
- the seed tutorial's TensorFlow run (y = x^2 from x0 = 5, 100 gradient-descent steps under
  ``exponential_decay(0.1, global_step, 1, 0.96, staircase=True)``): its ten printed lines, exactly.
"""
import contextlib
import inspect
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import lrkit
from lrkit import tf as lrtf
import seed_tables  # noqa: E402 (tests/ is on sys.path: tests/conftest.py)
from ulps import assert_ulps  # noqa: E402

# ---------------------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------------------
# Copied from tensorflow/tensorflow, tensorflow/python/keras/optimizer_v2/legacy_learning_rate_decay.py
# (TF 2.x, `@tf_export(v1=["train.<name>"])`), identical to the TF 1.x definitions in
# tensorflow/python/training/learning_rate_decay.py. `piecewise_constant` is exported under two names:
# `@tf_export(v1=["train.piecewise_constant_decay", "train.piecewise_constant"])`.
TF1_SIGNATURES = {
    "exponential_decay": "(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None)",
    "piecewise_constant": "(x, boundaries, values, name=None)",
    "polynomial_decay": "(learning_rate, global_step, decay_steps, end_learning_rate=0.0001, power=1.0, "
                        "cycle=False, name=None)",
    "natural_exp_decay": "(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None)",
    "inverse_time_decay": "(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None)",
    "cosine_decay": "(learning_rate, global_step, decay_steps, alpha=0.0, name=None)",
    "cosine_decay_restarts": "(learning_rate, global_step, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, "
                             "name=None)",
    "linear_cosine_decay": "(learning_rate, global_step, decay_steps, num_periods=0.5, alpha=0.0, beta=0.001, "
                           "name=None)",
}
# The other TF1 names of the same family; noisy_linear_cosine_decay draws random noise, so it is not a
# closed form of the step and lrkit leaves it out on purpose.
TF1_OTHER_NAMES = {"piecewise_constant_decay", "noisy_linear_cosine_decay"}


@pytest.mark.parametrize("name", sorted(TF1_SIGNATURES))
def test_signature_is_tf1s(name):
    """TF1's parameters, in TF1's order with TF1's defaults; lrkit's own additions (``dtype``) are
    keyword-only after them, so no TF1 call, positional or keyword, can tell the difference."""
    signature = inspect.signature(getattr(lrtf, name))
    tf1_part = [p for p in signature.parameters.values() if p.kind is not p.KEYWORD_ONLY]
    assert str(signature.replace(parameters=tf1_part)) == TF1_SIGNATURES[name]
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in tf1_part)
    extras = [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert extras in ([], ["dtype"])


def test_public_names_are_tf1_names():
    assert set(TF1_SIGNATURES) <= set(lrtf.__all__)
    assert set(lrtf.__all__) <= set(TF1_SIGNATURES) | TF1_OTHER_NAMES


def test_piecewise_constant_decay_alias():
    assert lrtf.piecewise_constant_decay is lrtf.piecewise_constant


def test_import_pulls_in_no_framework():
    code = ("import sys, lrkit.tf; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'torch', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", sorted(set(TF1_SIGNATURES) - {"piecewise_constant"}))
def test_global_step_none_raises_value_error(name):
    """TF1 raises ValueError('global_step is required for <name>.') when global_step is None."""
    args = {"learning_rate": 0.1, "global_step": None}
    params = inspect.signature(getattr(lrtf, name)).parameters
    args.update({p: 10 for p in ("decay_steps", "first_decay_steps") if p in params})
    if "decay_rate" in params:
        args["decay_rate"] = 0.5
    with pytest.raises(ValueError, match="global_step"):
        getattr(lrtf, name)(**args)


def test_piecewise_constant_none_names_x():
    with pytest.raises(ValueError, match=r"^x "):
        lrtf.piecewise_constant(None, [5], [0.1, 0.01])


# Bad TF arguments: the error must name the TF argument (decay_steps, decay_rate, ...), not the core's.
BAD_TF_CALLS = [
    ("exponential_decay", dict(learning_rate=0.1, global_step=1, decay_steps=0, decay_rate=0.96), "decay_steps"),
    ("exponential_decay", dict(learning_rate=0.1, global_step=1, decay_steps=1, decay_rate=-0.5), "decay_rate"),
    ("exponential_decay", dict(learning_rate=-0.1, global_step=1, decay_steps=1, decay_rate=0.5), "learning_rate"),
    ("inverse_time_decay", dict(learning_rate=0.1, global_step=1, decay_steps=0, decay_rate=0.5), "decay_steps"),
    ("polynomial_decay", dict(learning_rate=0.1, global_step=1, decay_steps=10, end_learning_rate=-1.0),
     "end_learning_rate"),
    ("cosine_decay_restarts", dict(learning_rate=0.1, global_step=1, first_decay_steps=0), "first_decay_steps"),
    ("cosine_decay_restarts", dict(learning_rate=0.1, global_step=1, first_decay_steps=10, t_mul=0.5), "t_mul"),
    ("linear_cosine_decay", dict(learning_rate=0.1, global_step=1, decay_steps=10, num_periods=-1.0),
     "num_periods"),
]


@pytest.mark.parametrize("name, kwargs, argument", BAD_TF_CALLS,
                         ids=[f"{n}-{a}" for n, _, a in BAD_TF_CALLS])
def test_bad_argument_raises_lrkit_value_error(name, kwargs, argument):
    with pytest.raises(lrkit.LrkitValueError):
        getattr(lrtf, name)(**kwargs)


@pytest.mark.parametrize("name, kwargs, argument", BAD_TF_CALLS,
                         ids=[f"{n}-{a}" for n, _, a in BAD_TF_CALLS])
def test_bad_argument_error_names_the_tf_argument(name, kwargs, argument):
    with pytest.raises(lrkit.LrkitValueError, match=rf"^{argument}\b"):
        getattr(lrtf, name)(**kwargs)


# ---------------------------------------------------------------------------------------------------
# Values against Keras 3 (float64)
# ---------------------------------------------------------------------------------------------------
INT_STEPS = list(range(0, 200)) + [250, 299, 300, 301, 1000]
# Fractional steps exactly representable in float32: see keras_curve for why.
FLOAT_STEPS = [k + 0.5 for k in range(0, 120)] + [0.25, 6.75, 29.75, 30.25, 99.875, 100.125]


def _tf(name, *args, **kwargs):
    """``lrkit.tf.<name>`` as a function of global_step (TF's first argument for piecewise_constant, its
    second otherwise); extra keywords (``dtype``) pass through."""
    fn = getattr(lrtf, name)
    if name == "piecewise_constant":
        return lambda t, **kw: fn(t, *args, **kwargs, **kw)
    return lambda t, **kw: fn(args[0], t, *args[1:], **kwargs, **kw)


# (id, lrkit.tf call, Keras 3 class, its arguments). Each Keras class is what TF >= 2.0 calls inside the
# TF1 function of the same row.
KERAS_TABLE = [
    ("exponential seed", _tf("exponential_decay", 0.1, 1, 0.96, staircase=True),
     "ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=1, decay_rate=0.96, staircase=True)),
    ("exponential staircase 100", _tf("exponential_decay", 0.1, 100, 0.96, staircase=True),
     "ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=100, decay_rate=0.96, staircase=True)),
    ("exponential staircase 3", _tf("exponential_decay", 0.1, 3, 0.9, True),
     "ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.9, staircase=True)),
    ("exponential smooth", _tf("exponential_decay", 0.1, 7, 0.5),
     "ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.5)),
    ("inverse_time", _tf("inverse_time_decay", 0.1, 3, 0.7),
     "InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.7)),
    ("inverse_time staircase", _tf("inverse_time_decay", 0.1, 3, 0.7, staircase=True),
     "InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.7, staircase=True)),
    ("polynomial defaults", _tf("polynomial_decay", 0.1, 50),
     "PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=50)),
    ("polynomial power", _tf("polynomial_decay", 0.1, 40, 0.01, power=2.5),
     "PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=40, end_learning_rate=0.01, power=2.5)),
    ("polynomial cycle", _tf("polynomial_decay", 0.1, 7, 0.01, power=0.7, cycle=True),
     "PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=7, end_learning_rate=0.01, power=0.7,
                             cycle=True)),
    ("polynomial cycle linear", _tf("polynomial_decay", 0.1, 10, cycle=True),
     "PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=10, cycle=True)),
    ("piecewise_constant", _tf("piecewise_constant", [5, 10, 100], [0.1, 0.05, 0.01, 0.001]),
     "PiecewiseConstantDecay", dict(boundaries=[5, 10, 100], values=[0.1, 0.05, 0.01, 0.001])),
    ("cosine", _tf("cosine_decay", 0.1, 100),
     "CosineDecay", dict(initial_learning_rate=0.1, decay_steps=100)),
    ("cosine alpha", _tf("cosine_decay", 0.1, 30, alpha=0.1),
     "CosineDecay", dict(initial_learning_rate=0.1, decay_steps=30, alpha=0.1)),
    ("restarts defaults", _tf("cosine_decay_restarts", 0.1, 10),
     "CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=10)),
    ("restarts t_mul=1", _tf("cosine_decay_restarts", 0.1, 7, t_mul=1.0, m_mul=0.9),
     "CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=7, t_mul=1.0, m_mul=0.9)),
    ("restarts t_mul=1.5", _tf("cosine_decay_restarts", 0.1, 10, t_mul=1.5, m_mul=0.8, alpha=0.05),
     "CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=10, t_mul=1.5, m_mul=0.8,
                                 alpha=0.05)),
    ("restarts t_mul=3", _tf("cosine_decay_restarts", 0.1, 5, t_mul=3.0, m_mul=0.5, alpha=0.1),
     "CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5, t_mul=3.0, m_mul=0.5,
                                 alpha=0.1)),
]


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")  # tests/conftest.py does the same; no TensorFlow here
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"the Keras references are taken on the torch backend, got {keras.backend.backend()!r}")
    return keras


@contextlib.contextmanager
def floatx(keras, name):
    """Keras' floatx set to ``name`` for the block, then restored (other test modules share keras)."""
    previous = keras.config.floatx()
    keras.config.set_floatx(name)
    try:
        yield keras.optimizers.schedules
    finally:
        keras.config.set_floatx(previous)


def keras_curve(schedule, steps):
    """Keras' value at each step, one Python scalar at a time.

    One step at a time on purpose: on Keras 3.15's torch backend ``keras.ops.floor`` and
    ``keras.ops.minimum`` return float32 for float64 input, and torch promotes ``float64 scalar **
    float32 array`` to float32, so an array of steps loses precision in the staircase/cycle/restart
    paths (and PiecewiseConstantDecay cannot take an array at all). With a scalar step the float32
    values stay exact as long as the step itself is a float32 number (integers < 2**24, k + 0.5, ...),
    which is why the steps above are chosen that way.
    """
    return np.array([float(schedule(s)) for s in steps])


#: Keras computes with torch's cos/pow (Sleef kernels), lrkit with the C library's (per step) or numpy's
#: (curves): each within 1 ulp, so near the end of a cosine, where ``1 + cos(x)`` is small, they agree to
#: a few ulps of the peak (0.1 in every row), not to 1e-12 of the value.
PEAK_ATOL = 4 * float(np.spacing(0.1))


@pytest.mark.parametrize("row", KERAS_TABLE, ids=[r[0] for r in KERAS_TABLE])
def test_values_equal_keras(keras, row):
    _, ours, class_name, kwargs = row
    with floatx(keras, "float64") as schedules:
        reference = getattr(schedules, class_name)(**kwargs)
        for steps in (INT_STEPS, FLOAT_STEPS):
            expected = keras_curve(reference, steps)
            assert all(type(ours(s)) is float for s in steps[:3])
            np.testing.assert_allclose([ours(s) for s in steps], expected, rtol=1e-12, atol=PEAK_ATOL)
            curve = ours(np.asarray(steps, dtype=np.int64 if isinstance(steps[0], int) else np.float64))
            assert isinstance(curve, np.ndarray) and curve.dtype == np.float64 and curve.shape == (len(steps),)
            np.testing.assert_allclose(curve, expected, rtol=1e-12, atol=PEAK_ATOL)


# dtype="float32": rows whose formula lrkit evaluates with TF's float32 operations in TF's order.
FLOAT32_BITWISE = {"exponential", "inverse_time", "polynomial", "piecewise_constant"}


@pytest.mark.parametrize("row", KERAS_TABLE, ids=[r[0] for r in KERAS_TABLE])
def test_float32_values(keras, row):
    """dtype="float32" (lrkit's addition) returns float32 and, for the exponential / inverse-time /
    polynomial / piecewise rows, Keras' float32 values (TF's default dtype) operation for operation:
    equal where no ``pow`` is involved, within 2 float32 ulps where it is (numpy's float32 pow and
    torch's are each within 1 ulp: SVML on AVX-512, Sleef, the C library). The cosine rows order
    their operations differently from TF: within a few float32 ulps of the float64 curve."""
    name, ours, class_name, kwargs = row
    steps = INT_STEPS + FLOAT_STEPS
    scalars = [ours(s, dtype="float32") for s in steps]
    assert all(type(v) is np.float32 for v in scalars)
    curve = ours(np.asarray(steps), dtype="float32")
    assert curve.dtype == np.float32 and curve.shape == (len(steps),)
    np.testing.assert_array_equal(curve, scalars)
    if name.split()[0] in FLOAT32_BITWISE:
        with floatx(keras, "float32") as schedules:
            expected = keras_curve(getattr(schedules, class_name)(**kwargs), steps)
        assert_ulps(np.asarray(scalars, dtype=np.float64), expected, 2, dtype=np.float32, what=name)
    else:
        np.testing.assert_allclose(np.asarray(scalars, dtype=np.float64), ours(np.asarray(steps)),
                                   rtol=0, atol=4e-8)  # 0.1's float32 ulp is 7.5e-9


def test_bad_dtype_names_dtype():
    with pytest.raises(lrkit.LrkitValueError, match="dtype"):
        lrtf.exponential_decay(0.1, 1, 1, 0.96, dtype="float16")


def test_array_shape_kept_and_equal_to_scalars():
    steps = np.arange(12).reshape(3, 4)
    curve = lrtf.cosine_decay_restarts(0.1, steps, 3, t_mul=1.5)
    assert curve.shape == (3, 4)
    scalars = [[lrtf.cosine_decay_restarts(0.1, int(s), 3, t_mul=1.5) for s in row] for row in steps]
    assert_ulps(curve, scalars, 4, scale=0.1)  # numpy's cos vs the C library's: 4 ulps of the peak
    assert_ulps(lrtf.exponential_decay(0.1, [0, 1, 2], 1, 0.5), [0.1, 0.05, 0.025], 1)  # numpy's pow: 1 ulp
    assert lrtf.exponential_decay(0.1, np.int64(2), 1, 0.5) == 0.025


def test_natural_exp_decay_is_exponential_decay_of_exp_minus_rate(keras):
    """TF >= 2.0: natural_exp_decay = ExponentialDecay(learning_rate, decay_steps, exp(-decay_rate), staircase)."""
    for staircase in (False, True):
        for steps in (INT_STEPS, FLOAT_STEPS):
            with floatx(keras, "float64") as schedules:
                reference = schedules.ExponentialDecay(0.1, 5, math.exp(-0.5), staircase=staircase)
                expected = keras_curve(reference, steps)
            np.testing.assert_allclose([lrtf.natural_exp_decay(0.1, s, 5, 0.5, staircase) for s in steps],
                                       expected, rtol=1e-12, atol=0)
            np.testing.assert_allclose(lrtf.natural_exp_decay(0.1, np.asarray(steps), 5, 0.5, staircase),
                                       expected, rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------------------------------
# Values read off TF's docstrings (no Keras counterpart)
# ---------------------------------------------------------------------------------------------------
# natural_exp_decay: learning_rate * exp(-decay_rate * global_step / decay_steps), the ratio floored if staircase.
NATURAL_EXP_POINTS = [
    # (global_step, decay_steps, decay_rate, staircase, expected)
    (0, 5, 0.5, False, 0.1),
    (5, 5, 0.5, False, 0.1 * math.exp(-0.5)),
    (7, 5, 0.5, False, 0.1 * math.exp(-0.7)),
    (10, 5, 0.5, False, 0.1 * math.exp(-1.0)),
    (4, 5, 0.5, True, 0.1),
    (5, 5, 0.5, True, 0.1 * math.exp(-0.5)),
    (9, 5, 0.5, True, 0.1 * math.exp(-0.5)),
    (10, 5, 0.5, True, 0.1 * math.exp(-1.0)),
    (7.5, 5, 0.5, True, 0.1 * math.exp(-0.5)),
    (3, 1, 0.0, False, 0.1),
]


@pytest.mark.parametrize("step, decay_steps, rate, staircase, expected", NATURAL_EXP_POINTS)
def test_natural_exp_decay_points(step, decay_steps, rate, staircase, expected):
    assert lrtf.natural_exp_decay(0.1, step, decay_steps, rate, staircase=staircase) == pytest.approx(expected,
                                                                                                      rel=1e-12)


# linear_cosine_decay: with s = min(global_step, decay_steps),
#   linear = (decay_steps - s) / decay_steps, cosine = 0.5 * (1 + cos(pi * 2 * num_periods * s / decay_steps)),
#   learning_rate * ((alpha + linear) * cosine + beta).
LINEAR_COSINE_POINTS = [
    # (global_step, decay_steps, num_periods, alpha, beta, expected multiplier of learning_rate)
    (0, 100, 0.5, 0.0, 0.001, 1.001),             # 1 + beta
    (100, 100, 0.5, 0.0, 0.001, 0.001),           # cos(pi) = -1: beta
    (250, 100, 0.5, 0.0, 0.001, 0.001),           # held after decay_steps
    (50, 100, 0.5, 0.0, 0.001, 0.251),            # linear 1/2, cos(pi/2) = 0: 1/4 + beta
    (0, 100, 0.5, 0.5, 0.001, 1.501),             # 1 + alpha + beta
    (100, 100, 0.5, 0.5, 0.0, 0.0),               # (alpha + 0) * 0
    (25, 100, 1.0, 0.0, 0.001, 0.376),            # linear 3/4, cos(pi/2) = 0: 3/8 + beta
    (50, 100, 1.0, 0.0, 0.001, 0.001),            # cos(pi) = -1
    (100, 100, 1.0, 0.2, 0.0, 0.2),               # cos(2 pi) = 1: (alpha + 0) * 1
    (0, 10, 0.5, 0.0, 0.0, 1.0),
    (5.0, 10, 0.5, 0.0, 0.0, 0.25),
]


@pytest.mark.parametrize("step, decay_steps, periods, alpha, beta, multiplier", LINEAR_COSINE_POINTS)
def test_linear_cosine_decay_points(step, decay_steps, periods, alpha, beta, multiplier):
    value = lrtf.linear_cosine_decay(0.1, step, decay_steps, num_periods=periods, alpha=alpha, beta=beta)
    assert value == pytest.approx(0.1 * multiplier, rel=1e-12, abs=1e-17)


def test_linear_cosine_decay_defaults_and_arrays():
    steps = np.array([0, 50, 100, 250])
    expected = [0.1 * 1.001, 0.1 * 0.251, 0.1 * 0.001, 0.1 * 0.001]
    np.testing.assert_allclose(lrtf.linear_cosine_decay(0.1, steps, 100), expected, rtol=1e-12)
    np.testing.assert_allclose([lrtf.linear_cosine_decay(0.1, int(s), 100) for s in steps], expected, rtol=1e-12)


def test_cosine_decay_restarts_gives_the_peak_at_every_restart():
    """At the first step of cycle i the multiplier is m_mul**i (TF's docstring: 'Each new warm restart runs
    for t_mul times more steps and with m_mul times smaller initial learning rate')."""
    starts = [0, 10, 30, 70, 150, 310]  # first_decay_steps = 10, t_mul = 2: cycles of 10, 20, 40, 80, 160
    for i, start in enumerate(starts):
        assert lrtf.cosine_decay_restarts(0.1, start, 10, m_mul=0.5) == pytest.approx(0.1 * 0.5 ** i, rel=1e-12)
    starts15 = [0.0, 10.0, 25.0, 47.5, 81.25]  # t_mul = 1.5: 10, 15, 22.5, 33.75
    for i, start in enumerate(starts15):
        assert lrtf.cosine_decay_restarts(0.1, start, 10, t_mul=1.5, m_mul=0.8) == pytest.approx(0.1 * 0.8 ** i,
                                                                                               rel=1e-12)


# ---------------------------------------------------------------------------------------------------
# The seed's TensorFlow run
# ---------------------------------------------------------------------------------------------------
# Copied verbatim from ../shared/seed/000_29c23cbb54c532c7.txt ("运行结果:").
SEED_TF_LINES = seed_tables.TF_LINES


def seed_tf_run(dtype="float32", lr_dtype=None, steps=100, every=10):
    """The seed's TF1 program, its printed lines returned: minimise y = x**2 from x0 = 5 with
    GradientDescentOptimizer(exponential_decay(0.1, global_step, 1, 0.96, staircase=True)).

    Update i (from 0) uses lr(i); minimize() increments global_step after applying the update, so the
    LR printed after update i is lr(i + 1). ``dtype`` is the arithmetic of x (TF: float32, the
    variable's dtype) and ``lr_dtype`` that of the decay (TF: float32, the dtype tf.convert_to_tensor
    gives 0.1 and 0.96; default: ``dtype``).
    """
    number = np.dtype(dtype).type
    lr_dtype = lr_dtype or dtype

    def lr(step):
        return number(lrtf.exponential_decay(0.1, step, 1, 0.96, staircase=True, dtype=lr_dtype))

    x = number(5.0)
    lines = []
    for i in range(steps):
        x = number(x - lr(i) * (number(2.0) * x))  # x -= lr * dy/dx, dy/dx = 2x
        if i % every == 0:
            lines.append("After %s iteration(s): x%s is %f, learning rate is %f." % (i + 1, i + 1, x, lr(i + 1)))
    return lines


def test_seed_tf_run_float32():
    """TF's own arithmetic: x, its gradient and the decay all in float32."""
    assert seed_tf_run("float32") == SEED_TF_LINES


def test_seed_tf_run_float64_x_float32_decay():
    """x in float64 changes nothing printed: the float32 decay is what the table depends on."""
    assert seed_tf_run("float64", lr_dtype="float32") == SEED_TF_LINES


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_seed_tf_run_float64_decay_misses_two_digits(dtype):
    """The decay in float64 (0.1 and 0.96 not rounded to float32) changes two printed x values in the
    6th decimal, x21 0.222582 and x81 0.030552: the seed's table was computed in float32."""
    lines = seed_tf_run(dtype, lr_dtype="float64")
    assert [i for i, (ours, seed) in enumerate(zip(lines, SEED_TF_LINES)) if ours != seed] == [2, 8]
    assert lines[2].startswith("After 21 iteration(s): x21 is 0.222582,")
    assert lines[8].startswith("After 81 iteration(s): x81 is 0.030552,")


@pytest.mark.parametrize("bias", [None, "up", "down"], ids=["other side", "up", "down"])
def test_seed_tf_run_does_not_depend_on_the_cpus_float32_pow(monkeypatch, bias):
    """The ten lines print rounded values: x21 = 0.22258255 is only 3.3 float32 ulps from a boundary of
    its 6th decimal (x1 = 4.0 is 1 ulp from one, but exact: no pow before it). The float32 pow
    (0.96 ** step) is numpy's SIMD kernel, which differs by CPU (SVML on AVX-512, NEON, the C library):
    with every inexact pow result an ulp on the other side of the true value, or every one an ulp up,
    or every one an ulp down, the printed lines are still the seed's."""
    from ulps import install_jitter
    install_jitter(monkeypatch, bias=bias)
    assert lrtf.exponential_decay(0.1, [3], 1, 0.96, staircase=True, dtype="float32")[0] != np.float32(0.1) * \
        np.float32(0.96) ** 3  # the jitter is on
    assert seed_tf_run("float32") == SEED_TF_LINES


def test_seed_tf_learning_rate_column():
    """The LR column alone comes out in float64 too: exponential_decay(0.1, i + 1, 1, 0.96, staircase=True)."""
    column = ["%f" % lrtf.exponential_decay(0.1, i + 1, 1, 0.96, staircase=True) for i in range(0, 100, 10)]
    assert column == [line.rsplit(" ", 1)[1].rstrip(".") for line in SEED_TF_LINES]


def test_library_seed_run_prints_the_seed_lines():
    """The demo's copy of this run (lrkit._seed.tf_square_run) prints the seed's lines too."""
    seed_module = pytest.importorskip("lrkit._seed")
    assert seed_module.tf_square_run() == SEED_TF_LINES
    assert seed_module.tf_square_run() == seed_tf_run()
