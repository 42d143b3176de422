"""Issue 13, short numpy curves: a warmup evaluates its ramp and the schedule after it each on its own steps
(no ``where``, no work on the other side). Both sides are computed by the same numpy calls on the same numbers,
so the curve equals the general ``where`` form bit for bit (checked on the bits: -0.0 and NaN included), for
every step array a user can pass and for random schedules of every kind; the input checks keep their errors.
Speed is bench/bench_core.py's business (row d)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_laws import LAW, schedules
from test_scale_paths import WHERE_FORM

import lrkit
from lrkit._namespace import NUMPY

QUIET = dict(over="ignore", under="ignore", invalid="ignore")


def where_form(s, step):
    """``s(step)`` as it was computed before issue 13's short-curve path: every part at every step, one ``where``."""
    t = np.asarray(step)
    flat = t.astype(np.float64).reshape(-1)
    with np.errstate(**QUIET):
        out = s._f(flat, WHERE_FORM)
    return np.array(np.broadcast_to(out, flat.shape), dtype=np.float64).reshape(t.shape)


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype == np.float64 and a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def tenth(t, xp):
    return xp.exp(-t / 10)


BENCH = lrkit.warmup(lrkit.cosine(3e-4, 0.0, steps=9000), steps=1000)
SCHEDULES = {
    "bench: warmup over cosine": BENCH,
    "cosine warmup from a start": lrkit.warmup(lrkit.linear(1.0, 0.1, steps=50), steps=7, start=0.2, shape="cosine"),
    "exponential warmup": lrkit.warmup(lrkit.exponential(0.5, 0.99), steps=12.5, start=1e-3, shape="exponential"),
    "1-sqrt warmup": lrkit.warmup(lrkit.constant(0.3), steps=9, shape="1-sqrt"),
    "log warmup": lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=30), steps=10, shape="log"),
    "warmup to another peak": lrkit.warmup(lrkit.shift(lrkit.cosine(1.0, 0.1, steps=40), steps=5), steps=5, peak=2.0),
    "fractional steps": lrkit.warmup(lrkit.polynomial(1.0, 0.0, steps=33.3, power=2.0), steps=2.5),
    "huge steps": lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=2.0 ** 61), steps=2.0 ** 60),
    "user function after": lrkit.warmup(lrkit.function(tenth), steps=20),
    "nested warmups": lrkit.warmup(lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=30), steps=10, start=0.5), steps=4),
    "warmup over a sequence": lrkit.warmup(lrkit.sequence(
        [lrkit.constant(1.0), lrkit.cosine(1.0, 0.0, steps=20), lrkit.constant(0.0)], boundaries=[10, 30]), steps=5),
    "sequence of warmups": lrkit.sequence(
        [lrkit.warmup(lrkit.constant(1.0), steps=3), lrkit.warmup(lrkit.cosine(0.5, 0.0, steps=9), steps=4)],
        boundaries=[8]),
    "sum and product": lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=20), steps=5) * 0.5
    + lrkit.warmup(lrkit.constant(0.25), steps=15),
    "restarts of a warmup": lrkit.repeat(lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=6), steps=3), period=10),
    "recipe": lrkit.wsd(1.0, steps=60, warmup=10, decay=30),
    # its power 0.0 ** n has no value for n < 0: the schedule after the warmup must never see a step below 0
    "restarts decaying to 0": lrkit.warmup(lrkit.restarts(lrkit.cosine(1.0, 0.0, steps=1.0), period=300.0, decay=0.0,
                                                          limit=2), steps=243.0, start=8.5, shape="exponential"),
}

rng = np.random.default_rng(13)
STEPS = {
    "empty": np.arange(0),
    "one step": np.arange(1),
    "10 steps": np.arange(10),
    "1,000 steps (all warmup for the bench)": np.arange(1000),
    "10,000 steps": np.arange(10_000),
    "across the join": np.arange(500, 1500),
    "after the warmup only": np.arange(3000, 4000),
    "fractional": np.arange(0.0, 60.0, 0.25),
    "unsorted": rng.permutation(np.arange(2000)),
    "reversed": np.arange(1999, -1, -1),
    "ramp steps last": np.concatenate([np.arange(1500, 2000), np.arange(0, 500)]),
    "float32": np.arange(0, 100, 0.5, dtype=np.float32),
    "int32": np.arange(200, dtype=np.int32),
    "uint16": np.arange(200, dtype=np.uint16),
    "huge": np.array([0.0, 1.0, 2.0 ** 40, 2.0 ** 60, 2.0 ** 61, 2.0 ** 62, 1e300, 1.7e308]),
    "-0.0": np.array([-0.0, 0.0, -0.0, 5.0]),
    "0-d": np.array(7),
    "0-d after the warmup": np.array(12345.5),
    "2-d": np.arange(40.0).reshape(5, 8),
    "strided": np.arange(4000)[::3],
    "a list": [0, 3, 9, 2000, 2.5],
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("steps", sorted(STEPS))
def test_a_curve_is_its_where_form_bit_for_bit(name, steps):
    s, t = SCHEDULES[name], STEPS[steps]
    got = s(t)
    assert same_bits(got, where_form(s, t)), (name, steps, got, where_form(s, t))
    assert got.shape == np.shape(t)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_nan_inf_and_negative_steps_inside_a_formula(name):
    """A warp or an outer formula can hand a warmup NaN, inf or negative steps (never ``s(t)`` itself: the input
    check refuses them): the split gives them what ``where`` gives them."""
    s = SCHEDULES[name]
    for t in (np.array([np.nan, 1.0, 2000.0]), np.array([1.0, np.inf, np.nan]), np.array([-np.inf, -3.0, -0.0, 4.0]),
              np.array([2.0, 1.0, np.nan, np.inf, 0.5]), np.array([np.nan])):
        with np.errstate(**QUIET):
            got, expected = s._f(t, NUMPY), s._f(t, WHERE_FORM)
        got = np.array(np.broadcast_to(got, t.shape), dtype=np.float64)
        expected = np.array(np.broadcast_to(expected, t.shape), dtype=np.float64)
        assert same_bits(got, expected), (name, t, got, expected)


def test_each_side_runs_on_its_own_steps_only():
    seen = []

    def after(t, xp):
        seen.append(np.array(t, copy=True))
        return xp.exp(-t / 10)

    s = lrkit.warmup(lrkit.function(after), steps=100)
    s(0)  # (construction evaluated after(0) on the scalar path)
    seen.clear()
    s(np.arange(100))
    assert seen == []  # a curve inside the warmup never evaluates the schedule after it
    s(np.arange(50, 250))
    assert len(seen) == 1 and np.array_equal(seen[0], np.arange(0.0, 150.0))  # its own steps, from its own 0
    seen.clear()
    s(np.array([300, 5, 200]))  # unsorted: the where form, every step on both sides
    assert len(seen) == 1 and seen[0].size == 3


@pytest.mark.parametrize("step, error, message", [
    (np.array([3, -1, 5]), lrkit.LrkitValueError, "step must be a finite number >= 0, got -1"),
    (np.array([0.0, np.nan]), lrkit.LrkitValueError, "step must be a finite number >= 0, got nan"),
    (np.array([np.inf, 1.0]), lrkit.LrkitValueError, "step must be a finite number >= 0, got inf"),
    (np.array(-2.5), lrkit.LrkitValueError, "step must be a finite number >= 0, got -2.5"),
    (np.array([True, False]), lrkit.LrkitTypeError, "step must be a number or an array of numbers"),
    (np.array(["1", "2"]), lrkit.LrkitTypeError, "step must be a number or an array of numbers"),
    ([1, [2, 3]], lrkit.LrkitTypeError, "step must be a number or an array of numbers"),
])
def test_bad_steps_keep_their_errors(step, error, message):
    with pytest.raises(error, match=message.replace("[", r"\[")):
        BENCH(step)


@st.composite
def step_arrays(draw):
    """A curve (consecutive steps from anywhere, integer or fractional), or a few steps in any order."""
    if draw(st.booleans()):
        start = draw(st.one_of(st.integers(0, 1200), st.floats(0.0, 1200.0)))
        return start + np.arange(draw(st.integers(0, 600))) * draw(st.sampled_from([1, 0.5, 3]))
    return draw(hnp.arrays(np.float64, st.integers(1, 20), elements=st.floats(0.0, 1500.0)))


@LAW
@given(schedules, step_arrays())
def test_every_schedule_is_its_where_form_bit_for_bit(s, t):
    assert same_bits(s(t), where_form(s, t)), (s, t)


def test_a_cycling_polynomial_at_a_step_whose_ratio_underflows():
    """Found by the laws (tests/test_laws.py, when other modules' constants feed Hypothesis 5e-324): TF's cycle
    ``ceil(t / steps)`` is 0 where ``t / steps`` underflows, and the horizon was 0 (ZeroDivisionError on the
    per-step path, NaN on numpy). It is one cycle there, as at t = 0."""
    s = lrkit.polynomial(6.0, 1.0, steps=53.9, power=0.5, cycle=True)
    for t in (5e-324, 1e-310):
        assert s(t) == s(np.array([t]))[0] == 6.0
    assert s(0) == 6.0 and s(53.9) == 1.0 and s(60) == s(np.array([60.0]))[0] > 1.0  # (the second cycle: horizon 107.8)
