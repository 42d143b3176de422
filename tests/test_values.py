"""Values that are learning rates (issue 12, items 2 and 5): formulas compute in floats (an integer
argument never starts a big-integer computation), every value is >= 0 and never NaN, a schedule whose
parameters prove it can go below 0 is rejected at construction (``Schedule.bounds``), and a true value
that floats can hold is computed (only a true value beyond float range comes out as inf)."""
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lrkit

# ---- item 2: integer arguments compute in floats ------------------------------------------------------

HANGS_ON_INTEGERS = [  # with integer parameters these computed 2 ** 2**53 or 3 ** 2**53 as Python ints
    "lrkit.step_decay(0.1, period=1, gamma=2)",
    "lrkit.exponential(0.1, 2, staircase=True)",
    "lrkit.cosine_restarts(1.0, 0.0, period=1, peak_mult=3)",
    "lrkit.multistep(1, milestones=[1, 2], gamma=3) * lrkit.exponential(1, 2, steps=1, staircase=True)",
]


def test_integer_arguments_never_start_a_big_integer_power():
    """Each call returns inf (the true value is beyond float range) within seconds, on the per-step path
    (first call: plain math; second: compiled) and the numpy path. Run in a child process: a big-integer
    power cannot be interrupted, so a failure is the timeout (it ran for minutes at 1.2 GB before)."""
    code = textwrap.dedent(f"""
        import numpy as np, lrkit
        for text in {HANGS_ON_INTEGERS!r}:
            s = eval(text)
            values = [s(2 ** 53), s(2 ** 53), s(2 ** 53), float(s(np.array([2.0 ** 53]))[0])]
            assert values == [float("inf")] * 4, (text, values)
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.parametrize("schedule, text", [
    (lrkit.linear(1, 0, steps=100), "linear(start=1, end=0, steps=100)"),
    (lrkit.exponential(1, 2), "exponential(start=1, gamma=2)"),
    (lrkit.exponential(1, 2, steps=1.0), "exponential(start=1, gamma=2, steps=1.0)"),
    (lrkit.multistep(1, milestones=[3, 7.5], gamma=2), "multistep(start=1, milestones=[3, 7.5], gamma=2)"),
    (lrkit.piecewise_linear([(0, 1), (10, 0.5)]), "piecewise_linear(points=[(0, 1), (10, 0.5)])"),
    (lrkit.constant(1) * 3 + 2, "((constant(value=1) * 3) + 2)"),
])
def test_integers_are_floats_that_read_as_written(schedule, text):
    """Fields written as integers are floats (formulas compute in floats) whose repr and config read as
    the integers written: the spec and config round trips give the same text."""
    assert repr(schedule) == text and repr(lrkit.parse(text)) == text
    config = schedule.to_config()
    assert lrkit.from_config(config) == schedule and lrkit.from_config(config).to_config() == config
    fields = [getattr(part, name) for part in _parts(schedule) for name in vars(part)
              if not name.startswith("_") and name != "expanded"]
    numbers = [x for f in fields for x in _flat(f) if isinstance(x, (int, float)) and not isinstance(x, bool)]
    assert numbers and all(isinstance(x, float) for x in numbers), numbers


def _parts(s):
    yield s
    for value in vars(s).values():
        for x in _flat(value):
            if isinstance(x, lrkit.Schedule):
                yield from _parts(x)


def _flat(value):
    if isinstance(value, tuple):
        for v in value:
            yield from _flat(v)
    else:
        yield value


# ---- item 5: a schedule that can go below 0 is rejected at construction (Schedule.bounds) ---------------

@pytest.mark.parametrize("text, low", [
    ("constant(0.1) + -1", "-0.9"),
    ("clip(constant(0.1), ceiling=-1)", "-1.0"),
    ("cosine_restarts(0.1, 0.2, period=10, peak_mult=3)", "-inf"),
    ("cosine(1.0, 0.0, steps=10) * -2", "-2.0"),
    ("(constant(0.1) + -0.2) + 1", "-0.1"),          # an intermediate term counts too
    ("linear(1.0, 0.0, steps=10) + -0.01", "-0.01"),  # the sum is 0.99 .. -0.01: the end is below 0
])
def test_a_schedule_that_can_go_negative_is_rejected(text, low):
    with pytest.raises(lrkit.LrkitValueError, match="can go below 0") as info:
        lrkit.parse(text)
    assert f"down to {low}" in str(info.value)


@pytest.mark.parametrize("schedule, low, high", [
    (lrkit.constant(0.1) + -0.05, 0.05, 0.05),
    (lrkit.cosine(1.0, 0.25, steps=10) + -0.25, 0.0, 0.75),
    (lrkit.clip(lrkit.exponential(1.0, 2.0), ceiling=3.0), 1.0, 3.0),
    (lrkit.cosine_restarts(0.1, 0.2, period=10, peak_mult=0.5), 0.1, 0.2),
    (lrkit.cosine_restarts(0.2, 0.1, period=10, peak_mult=3), 0.1, math.inf),
    (lrkit.function(np.sqrt) * 0.0, 0.0, 0.0),
    (lrkit.one_cycle(1.0, steps=100, anneal="linear", final_div_factor=1.0).extrapolated(), 0.0, 1.0),
])
def test_bounds_allow_what_stays_non_negative(schedule, low, high):
    assert schedule.bounds() == pytest.approx((low, high), rel=1e-15, abs=0)
    values = schedule(np.arange(0.0, 2000.0))
    assert np.all(values >= low) and np.all(values <= high)


def test_an_extrapolated_one_cycle_stops_at_zero_where_torch_goes_below():
    """torch's OneCycleLR computes one step past total_steps by the last phase's formula: a steep linear
    anneal goes below 0 there. lrkit's extrapolated() follows the line down to 0 and holds 0."""
    s = lrkit.one_cycle(1.0, steps=10, pct_start=0.3, anneal="linear", div_factor=10.0, final_div_factor=1.0)
    tail = s.extrapolated()
    assert tail(9) == pytest.approx(0.1) and tail(10) == 0.0 and tail(20) == 0.0
    gentle = lrkit.one_cycle(1.0, steps=100, anneal="linear", final_div_factor=1.0)  # 0.04 -> 1 -> 0.04
    slope = (1.0 - 0.04) / (99 - 29)
    assert gentle.extrapolated()(100) == pytest.approx(0.04 - slope, rel=1e-12)


# ---- item 5: the true value wherever it is a float (no NaN; inf only beyond float range) ---------------

TRUE_VALUES = [  # (schedule, step, the true value; computed by hand, see each comment)
    (lrkit.exponential(0, 2), 1024, 0.0),                                  # 0 * 2**1024
    (lrkit.mul(0.0, lrkit.exponential(228, gamma=1.5)), 10 ** 6, 0.0),     # 0 * 228 * 1.5**1e6
    (lrkit.constant(0.0) * lrkit.exponential(1.0, 2.0), 5000, 0.0),
    # S_1 = 1e-3, S_2 = 1e-3 * (1 + 1e300): t = 1e6 is in cycle 1, 1e6 / 1e297 of the way: the peak
    (lrkit.cosine_restarts(0.7, 0.35, period=1e-3, period_mult=1e300), 10 ** 6, 0.7),
    # the smallest period: t / period leaves float range; t is a whole number of periods: a restart
    (lrkit.cosine_restarts(0.7, 0.35, period=2.0 ** -1022), 2.0 ** 100, 0.7),
    (lrkit.cosine_restarts(0.7, 0.35, period=2.0 ** -1022, peak_mult=0.5), 2.0 ** 100, 0.35),
    (lrkit.cosine_restarts(0.5, 0.5, period=2.0 ** -1022, peak_mult=2.0), 2.0 ** 100, 0.5),
    (lrkit.cosine_restarts(0.7, 0.35, period=2.0 ** -1022, period_mult=2.0), 2.0 ** 100, 0.7),
    (lrkit.linear(3e-4, 1e308, steps=5319), 2659, 3e-4 + (1e308 - 3e-4) * (2659 / 5319)),
    (lrkit.piecewise_linear([(0, 0.0), (5319, 1e308)]), 2659, 1e308 * (2659 / 5319)),
    (lrkit.cosine(1.0, 0.0, steps=1e308), 5e307, 0.5 + 0.5 * math.cos(math.pi * 0.5)),
    (lrkit.exponential(1e-300, 2.0), 1100, 1e-300 * 2.0 ** 100 * 2.0 ** 1000),  # 2**1100 overflows alone
    (lrkit.exponential(1e300, 0.5), 1100, 1e300 * 0.5 ** 100 * 0.5 ** 1000),  # 0.5**1100 underflows alone
    (lrkit.warmup(lrkit.constant(1e10), steps=10, start=1e-300, shape="exponential"), 5,
     math.sqrt(1e-300) * math.sqrt(1e10)),                                  # geometric midpoint
]


@pytest.mark.parametrize("schedule, step, true", TRUE_VALUES)
def test_the_true_value_where_floats_hold_it(schedule, step, true):
    """numpy and the per-step path (plain math, then compiled) give the true value (a few ulps: the log
    domain of a huge power rounds more), never NaN, never inf for a finite true value."""
    got = [float(schedule(np.array([float(step)]))[0]), schedule(step), schedule(step), schedule(float(step))]
    assert got == pytest.approx([true] * 4, rel=1e-12, abs=0), (schedule, got, true)


@pytest.mark.parametrize("schedule, step", [
    (lrkit.exponential(228, gamma=1.5), 10 ** 6),
    (lrkit.exponential(1.0, 2.0) * lrkit.exponential(1.0, 3.0), 2000),
    (lrkit.cosine_restarts(1.0, 0.5, period=1, peak_mult=3), 10 ** 4),
])
def test_only_a_true_value_beyond_float_range_is_inf(schedule, step):
    assert schedule(step) == math.inf and schedule(np.array([float(step)]))[0] == math.inf


def test_a_subnormal_period_or_length_is_refused():
    """A subnormal number is 0 where XLA (jax on CPU) or a CPU flushes subnormals: t / 5e-324 was NaN."""
    for call in (lambda: lrkit.cosine_restarts(0.7, 0.35, period=5e-324), lambda: lrkit.linear(1, 0, steps=1e-310)):
        with pytest.raises(lrkit.LrkitValueError, match="smallest normal float"):
            call()


@pytest.mark.parametrize("name", ["torch", "jax"])
def test_the_fixed_formulas_in_other_namespaces(name):
    """The same cases through xp=torch and xp=jax.numpy (float64): no NaN, the true value (1e-12)."""
    if name == "torch":
        xp = pytest.importorskip("torch")
        as_array = lambda t: xp.tensor([float(t)], dtype=xp.float64)  # noqa: E731
    else:
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
        xp = jax.numpy
        as_array = lambda t: xp.asarray([float(t)], dtype=xp.float64)  # noqa: E731
    try:
        for schedule, step, true in TRUE_VALUES:
            got = float(np.asarray(schedule(as_array(step), xp=xp))[0])
            assert got == pytest.approx(true, rel=1e-12, abs=0), (name, schedule, got, true)
    finally:
        if name == "jax":
            jax.config.update("jax_enable_x64", False)


# ---- Keras and optax: a compiled graph cannot stop at a bad value, so construction refuses ------------

class _Unbounded(lrkit.Schedule):
    """A user's own schedule class (not registered, so not checked at construction)."""

    def _f(self, t, xp):
        return t * 0.0 - 1.0

    def __repr__(self):
        return "unbounded()"


class _NegativeBound(_Unbounded):
    def bounds(self):
        return (-1.0, -1.0)


def _adapters():
    keras = pytest.importorskip("lrkit.keras")
    optax = pytest.importorskip("lrkit.optax")
    return [("KerasSchedule", keras.KerasSchedule), ("to_optax", optax.to_optax)]


def test_keras_and_optax_refuse_a_schedule_that_can_go_negative():
    for name, adapt in _adapters():
        with pytest.raises(lrkit.LrkitValueError, match=rf"{name} refuses unbounded\(\): its values can go below 0"):
            adapt(_NegativeBound())
        with pytest.raises(lrkit.LrkitTypeError, match=rf"{name} needs a schedule that proves its values are >= 0"):
            adapt(_Unbounded())
        adapt(lrkit.constant(0.1) + -0.05)  # proven >= 0: accepted


def test_float32_graphs_refuse_parameters_beyond_float32():
    """In float32 (Keras' default floatx, JAX without x64) 1e300 is inf: period_mult=1e300 made the formula
    inf / inf = NaN at every step, and linear(3e-4, 1e308, ...) gave NaN at step 0."""
    for name, adapt in _adapters():
        for s in (lrkit.cosine_restarts(0.7, 0.35, period=1e-3, period_mult=1e300), lrkit.linear(3e-4, 1e308, steps=5319)):
            with pytest.raises(lrkit.LrkitValueError, match=rf"{name} refuses .* beyond the range of the graph's float"):
                adapt(s)
        lr = adapt(lrkit.linear(3e-4, 1e30, steps=5319))  # within float32: the true value, no NaN, no inf
        assert float(lr(2659)) == pytest.approx(3e-4 + 1e30 * 2659 / 5319, rel=1e-6)
        assert float(lr(0)) == pytest.approx(3e-4, rel=1e-6)
