"""Issue 13, the scalar path: the compiled per-step function leaves out the operations that the ranges of
their operands make identities (``lrkit._ranges``: a clamp that cannot bite, ``0.0 +`` a value that cannot be
-0.0, a branch the ranges decide) and specialises its code for the steps ``t > 0``. Its values must stay the
plain ``math`` evaluation's bit for bit (-0.0, NaN and the exception raised included) at every step: a seeded
sweep over each schedule's edges (its events, the warmup's end, its end, beyond it), negative, -0.0, NaN,
inf and huge steps. Speed is bench/bench_core.py's business (row a')."""
import math
import random

import numpy as np
import pytest
from hypothesis import given
from reference import CASES
from test_laws import LAW, schedules, steps_list
from test_short_curves import SCHEDULES

import lrkit
from lrkit import _ranges
from lrkit._compile import compile_scalar
from lrkit._namespace import MATH

ALL = {**{f"reference: {c.id}": c.schedule for c in CASES}, **{f"short curves: {k}": v for k, v in SCHEDULES.items()}}


def outcome(fn, t):
    """``fn(t)`` as something to compare on the bits: ("value", sign, value) or ("raises", exception type). A NaN
    is a NaN whatever its sign bit: where two NaNs of opposite signs meet (``t + -sqrt(t)`` at NaN), which one
    an addition returns depends on the operand order inside CPython's float code and on the CPU."""
    try:
        value = fn(t)
    except Exception as error:  # (a user function may raise anything at a step outside its contract)
        return "raises", type(error)
    if isinstance(value, float):
        if value != value:
            return "value", "nan"
        return "value", math.copysign(1.0, value), value
    return "value", type(value), value


def edges(s):
    """The steps where a schedule changes its formula, and their float neighbours."""
    found = [0.0, 1.0]
    try:
        found += [e.step for e in s.events(1e4)][:200]
        end = s.end_step()
        if end is not None:
            found += [end, end + 1, 2 * end + 7]
    except lrkit.LrkitError:
        pass
    near = []
    for x in found:
        x = float(x)
        if math.isfinite(x):
            near += [x, math.nextafter(x, -math.inf), math.nextafter(x, math.inf), math.floor(x), math.ceil(x)]
    return near


def sweep(s, seed):
    rng = random.Random(seed)
    steps = edges(s)
    steps += [-0.0, -1, -1.5, -1e300, math.nan, math.inf, -math.inf, 5e-324, 2 ** 53 + 1, 10 ** 30, 10 ** 400]
    steps += [rng.uniform(0, 2000) for _ in range(40)] + [rng.randrange(0, 20000) for _ in range(40)]
    steps += [int(x) for x in steps if isinstance(x, float) and math.isfinite(x) and x.is_integer()]
    return steps


@pytest.mark.parametrize("name", sorted(ALL))
def test_compiled_is_the_plain_evaluation_at_every_step(name):
    s = ALL[name]
    fast = compile_scalar(s)
    for t in sweep(s, seed=13):
        want = outcome(lambda x: float(s._f(x, MATH)), t)
        if want[0] == "value":  # (the plain evaluation computes every branch: one not taken may raise there)
            assert outcome(fast, t) == want, (name, t, getattr(fast, "source", None))


@pytest.mark.parametrize("name", sorted(ALL))
def test_a_call_is_the_plain_evaluation_where_it_takes_a_number(name):
    """``s(t)`` for a Python int or float: the plain value, from the first call on; an error below 0."""
    s = ALL[name]
    for _ in range(3):  # the first call evaluates plainly, the later ones compiled
        for t in sweep(s, seed=7):
            if not (t >= 0 and t < math.inf):
                with pytest.raises(lrkit.LrkitError):
                    s(t)
                continue
            try:
                want = float(s._f(t, MATH))
            except Exception:  # (numpy's value where Python floats overflow: tests/test_scale_paths.py)
                continue
            got = s(t)
            assert type(got) is float and outcome(float, got) == outcome(float, want), (name, t, got, want)


@LAW
@given(schedules, steps_list)
def test_compiled_is_the_plain_evaluation_for_random_schedules(s, ts):
    fast = compile_scalar(s)
    for t in list(ts) + [-0.0, -2.5, math.nan, math.inf]:
        want = outcome(lambda x: float(s._f(x, MATH)), t)
        if want[0] == "value":
            assert outcome(fast, t) == want, (s, t, getattr(fast, "source", None))


def test_the_ranges_leave_out_the_clamps_of_the_warmup_and_cosine():
    """The bench's schedule: inside the warmup min(t, steps) is t, after it max(t - steps, 0.0) is t - steps,
    and ``0.0 +`` a value that cannot be -0.0 is that value; one test ``t > 0`` selects that code."""
    source = lrkit.warmup(lrkit.cosine(3e-4, 0.0, steps=9000), steps=1000).per_step().source
    specialised = source.split("\n    v", 1)[0]
    assert "if t > 0:" in source
    assert specialised.count(" else ") == 1  # one clamp left: the cosine's min(t - 1000, 9000)
    assert "(9000.0) if (9000.0) <" in specialised and "(0.0) +" not in specialised


@pytest.mark.parametrize("a, b, symbol, holds, a_after, b_after", [
    ((0.0, 10.0), (5.0, 5.0), "<", True, (0.0, 5.0), (5.0, 5.0)),
    ((0.0, 10.0), (5.0, 5.0), "<", False, (5.0, 10.0), (5.0, 5.0)),
    ((0.0, 10.0), (5.0, 5.0), ">=", True, (5.0, 10.0), (5.0, 5.0)),
    ((0.0, 10.0), (5.0, 5.0), ">", False, (0.0, 5.0), (5.0, 5.0)),
])
def test_a_branch_narrows_the_ranges_of_its_comparison(a, b, symbol, holds, a_after, b_after):
    sa, sb = _ranges.Span(*a, nan=False), _ranges.Span(*b, nan=False)
    na, nb = _ranges.refined(symbol, sa, sb, holds)
    assert (na.lo, na.hi) == a_after and (nb.lo, nb.hi) == b_after


def test_a_nan_keeps_the_false_branch_wide():
    """``a < b`` false where b may be NaN says nothing of a."""
    na, _ = _ranges.refined("<", _ranges.Span(0.0, 10.0, nan=False), _ranges.Span(5.0, 5.0, nan=True), False)
    assert (na.lo, na.hi) == (0.0, 10.0)


@pytest.mark.parametrize("symbol, a, b, lo, hi, minus_zero", [
    ("*", (-1.0, 2.0), (3.0, 3.0), -3.0, 6.0, True),
    ("*", (1e-200, 1.0), (1e-200, 1.0), 0.0, 1.0, False),   # an underflow to +0.0, never -0.0
    ("*", (-1e-200, -1e-200), (1e-200, 1e-200), -0.0, -0.0, True),   # an underflow to -0.0
    ("-", (0.0, 0.0), (0.0, 0.0), 0.0, 0.0, False),
    ("/", (1.0, 2.0), (-1.0, 1.0), -math.inf, math.inf, True),   # a divisor that may be 0: anything
])
def test_arithmetic_bounds_every_float_result(symbol, a, b, lo, hi, minus_zero):
    span = _ranges.arithmetic(symbol, _ranges.Span(*a, nan=False, negative_zero=False),
                              _ranges.Span(*b, nan=False, negative_zero=False))
    assert (span.lo, span.hi) == (lo, hi) and span.may_be_minus_zero() == minus_zero


@pytest.mark.parametrize("base", [2.0, 0.5, 1.0, 1.0000001, 10.0, 1e-300])
def test_a_power_of_a_constant_bounds_every_value(base):
    """``base ** e`` for ``e`` in a span lies in ``_ranges.power``'s span (an overflow raises: not a value)."""
    rng = random.Random(13)
    for _ in range(300):
        lo, hi = sorted(rng.choice([rng.uniform(-50, 50), rng.uniform(-2000, 2000), -math.inf, math.inf, 0.0])
                        for _ in range(2))
        span = _ranges.power(_ranges.of_constant(base), _ranges.Span(lo, hi, nan=False, negative_zero=False))
        assert not span.nan and not span.may_be_minus_zero()
        for e in [lo, hi] + [rng.uniform(max(lo, -1e4), min(hi, 1e4)) for _ in range(20) if lo < hi]:
            try:
                value = base ** e
            except OverflowError:
                continue
            assert span.lo <= value <= span.hi, (base, lo, hi, e, value, span)


def test_a_power_of_a_symbol_or_a_non_positive_base_is_not_bounded():
    anything = _ranges.Span(0.0, 3.0, nan=False, negative_zero=False)
    assert _ranges.power(_ranges.Span(1.0, 2.0, nan=False), anything) is _ranges.EVERYTHING
    assert _ranges.power(_ranges.of_constant(-2.0), anything) is _ranges.EVERYTHING
    assert _ranges.power(_ranges.of_constant(0.0), anything) is _ranges.EVERYTHING


def test_log_bounds_every_value():
    rng = random.Random(7)
    for _ in range(300):
        lo, hi = sorted(rng.choice([rng.uniform(0, 10), rng.uniform(0, 1e-300), rng.uniform(1, 1e300), 0.0, -1.0,
                                    math.inf]) for _ in range(2))
        span = _ranges.function("log", _ranges.Span(lo, hi, nan=False, negative_zero=False))
        for x in [lo, hi] + [rng.uniform(lo, min(hi, 1e308)) for _ in range(20)]:
            if x > 0:
                assert span.lo <= math.log(x) <= span.hi and not span.nan, (lo, hi, x, span)


def test_a_repeated_pure_operation_is_computed_once():
    """cosine_restarts with a period multiplier computes ``2.0 ** n`` for the cycle's start and for its length:
    once in the compiled code; the ``/ 1.0`` of ``(m - 1) = 1`` is left out once the power's range is known."""
    source = lrkit.cosine_restarts(1.0, 0.0, period=1000, period_mult=2).per_step().source
    specialised = source.split("\n    v", 1)[0]
    assert specialised.count("(2.0) **") == 3 and "/ (1.0)" not in specialised, source



def test_a_product_may_be_nan_where_a_factor_spans_0_and_the_other_reaches_inf():
    """``0 * inf`` inside the spans (not at a corner: [-2, 1] * [0, inf]) is NaN: a range without NaN would let
    a branch's narrowed range decide a clamp that a NaN passes through."""
    span = _ranges.arithmetic("*", _ranges.Span(-2.0, 1.0, nan=False), _ranges.Span(0.0, math.inf, nan=False))
    assert span.nan

    def formula(t, xp):
        zero_at_large_steps = (xp.minimum(t, 2.0) - 2.0) + (1.0 - xp.minimum(t, 1.0))  # in [-2, 1], 0 for t >= 2
        x = zero_at_large_steps * (t * 1e300)  # 0 * inf = NaN from t = 1e9 on
        return xp.where(x < 5.0, 0.0, xp.minimum(x, 3.0))

    s = lrkit.function(formula)
    fast = compile_scalar(s)
    for t in (0.5, 1.5, 3, 1e10, math.inf):
        assert outcome(fast, t) == outcome(lambda x: float(s._f(x, MATH)), t), (t, fast.source)


def test_a_power_whose_int_exponent_span_ends_beyond_float_range():
    """floor/ceil give int spans, and their products can end past float range (``0.5 ** 10 ** 400`` raises
    OverflowError, as ``2.0 ** 10 ** 400`` does): the end is the infinity it lies towards, 0.5 ** inf = 0.0."""
    span = _ranges.power(_ranges.of_constant(0.5), _ranges.Span(0, 10 ** 400, nan=False, negative_zero=False))
    assert span.lo <= 0.5 ** 9 <= span.hi

    def formula(t, xp):
        below = 0.5 ** (xp.floor(t) * xp.floor(t)) < 0.5  # its exponent's span: [0, 1e400] below t < 1e200
        return xp.where(t < 1e200, xp.where(below, 1.0, 2.0), 3.0)

    s = lrkit.function(formula)
    fast = compile_scalar(s)
    for t in (0, 0.5, 3, 3.5, 1e100):
        assert outcome(fast, t) == outcome(lambda x: float(s._f(x, MATH)), t), (t, fast.source)


def test_int_arithmetic_past_2_to_the_53_is_exact_where_the_span_ends_round():
    """An int step times 3 is an exact int; the float end of its span, 3 * (2 ** 53 + 2) rounded, lies above
    it: the comparison with a float between them was decided the wrong way."""
    def formula(t, xp):
        return xp.where(t >= 9007199254740994.0, xp.where(t * 3 < 27021597764222984.0, 1.0, 2.0), 3.0)

    s = lrkit.function(formula)
    fast = compile_scalar(s)
    for t in (9007199254740994, 9007199254740994.0, 9007199254740996, 5):
        assert outcome(fast, t) == outcome(lambda x: float(s._f(x, MATH)), t), (t, fast.source)


def test_a_numpy_scalar_in_a_user_formula_is_not_inlined():
    """``repr(np.float64(0.5))`` is ``np.float64(0.5)`` on numpy 2 (a NameError in the compiled code), and a
    numpy scalar has arithmetic of its own: such a formula evaluates plainly."""
    for s in (lrkit.function(lambda t, xp: xp.minimum(t * np.float64(0.5), 3.0)),
              lrkit.function(lambda t, xp: xp.minimum(t * 0.5, 3.0) + np.int64(1))):
        for t in (0, 3, 4.5, 10):
            assert outcome(s, t) == outcome(lambda x: float(s._f(x, MATH)), t)
            assert outcome(compile_scalar(s), t) == outcome(lambda x: float(s._f(x, MATH)), t)
