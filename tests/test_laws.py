"""Laws every lrkit schedule obeys, checked with Hypothesis over generated schedules of every kind,
combinators nested in each other included.

- vectorised == scalar: the numpy curve equals per-step calls (1e-12 relative, or AMP_ULPS ulps of
  the schedule's amplitude: numpy's SIMD cos/exp/log/pow and the C library's differ by an ulp);
- config round trip: to_config -> json -> from_config gives an equal schedule (and equal values);
- spec round trip: parse(repr(s)) == s;
- continuity at warmup joins, and inside the recipes built from continuous pieces;
- hold after the end: past its last change a schedule is constant (huge steps included);
- values lie within bounds() and are >= 0;
- every registered class answers Schedule's protocol (end_step, span, events, cycles, bounds) and has a row in
  the reference table; what it answers is consistent (span, events, cycles);
- periodicity of restarts (period_mult = 1) and of repeat; restart values for period_mult > 1;
- pointwise algebra: (s * k)(t) == k * s(t), (s + c)(t) == s(t) + c, products/sums of schedules, clip;
- any namespace: xp=torch and xp=jax.numpy (x64) equal numpy (1e-12 relative).

Deterministic (derandomize, no example database) and bounded (fixed max_examples).

Tolerance: 1e-12 relative. Where two evaluations use different libraries (the per-step path's C
library vs numpy's SIMD kernels (AVX2, AVX-512's SVML, NEON) vs torch vs XLA), each cos/exp/log/pow
may differ by an ulp, and a value computed as a difference of larger ones (a cosine within 1e-4 of
its end, an increasing polynomial near its start) then differs by more than 1e-12 *relative* to it;
those comparisons add an absolute ``AMP_ULPS`` ulps of the schedule's amplitude (its largest value
over steps 0..1000 and the sample), no more. ``pytest --ulp-jitter`` (tests/ulps.py) checks that
this holds when numpy's results are an ulp off.
"""
import dataclasses
import json
import math
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import lrkit
from lrkit._base import PROTOCOL, REGISTRY, Cycle, Event
from lrkit._describe import default_steps
from reference import CASES, HUGE, inverse_epoch
from ulps import assert_ulps

REL = 1e-12
FLOOR = 1e-300
AMP_ULPS = 16
EPS = np.finfo(np.float64).eps

# No shrink phase: shrinking a nested schedule can take minutes; a failure prints the full example.
LAW = settings(max_examples=200, derandomize=True, database=None, deadline=None,
               phases=[Phase.explicit, Phase.reuse, Phase.generate],
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FEW = settings(LAW, max_examples=60)


# =====================================================================================================
# strategies: random valid schedules of every kind
# =====================================================================================================

value = st.floats(1e-4, 10.0)
fraction = st.floats(0.0, 1.0)
length = st.one_of(st.integers(1, 400), st.floats(0.5, 400.0))
flag = st.booleans()


def increasing(elements, min_size=1, max_size=4):
    return st.lists(elements, min_size=min_size, max_size=max_size, unique=True).map(sorted)


@st.composite
def one_minus_sqrt(draw):
    a, b = sorted([draw(value), draw(value)])
    return lrkit.one_minus_sqrt(b, a, steps=draw(length))


@st.composite
def piecewise_constant(draw):
    bounds = draw(increasing(st.one_of(st.integers(0, 500), st.floats(0.0, 500.0))))
    values = draw(st.lists(value, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    return lrkit.piecewise_constant(bounds, values, switch=draw(st.sampled_from(["at", "after"])))


@st.composite
def piecewise_linear(draw):
    xs = draw(increasing(st.one_of(st.integers(0, 500), st.floats(0.0, 500.0)), max_size=5))
    # neighbouring points closer than 1e-6 make a near-vertical segment: fine, but not a useful example
    assume(all(b - a > 1e-6 for a, b in zip(xs, xs[1:])))
    return lrkit.piecewise_linear([(x, draw(value)) for x in xs])


@st.composite
def cosine_restarts(draw):
    mult = draw(st.one_of(st.just(1.0), st.integers(1, 3), st.floats(1.0, 3.0)))
    return lrkit.cosine_restarts(draw(value), draw(value), period=draw(length), period_mult=mult,
                                 peak_mult=draw(st.floats(0.1, 1.0)))


@st.composite
def cyclic(draw):
    return lrkit.cyclic(draw(value), draw(value), steps_up=draw(st.floats(1.0, 100.0)),
                        steps_down=draw(st.one_of(st.none(), st.floats(1.0, 100.0))),
                        mode=draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
                        gamma=draw(st.floats(0.9, 1.0)))


@st.composite
def multistep(draw):
    return lrkit.multistep(draw(value), draw(increasing(st.integers(0, 500))), gamma=draw(st.floats(0.01, 1.0)))


@st.composite
def one_cycle(draw):
    steps = draw(st.integers(20, 2000))
    return lrkit.one_cycle(draw(value), steps=steps, pct_start=draw(st.floats(0.1, 0.45)),
                           anneal=draw(st.sampled_from(["cos", "linear"])), div_factor=draw(st.floats(1.5, 100.0)),
                           final_div_factor=draw(st.floats(1.0, 1e4)), three_phase=draw(flag))


@st.composite
def wsd(draw):
    steps = draw(st.integers(10, 2000))
    warm = draw(st.integers(0, steps // 3))
    decay = draw(st.integers(1, steps - warm))
    shape = draw(st.sampled_from(["1-sqrt", "linear", "cosine", "exponential", "1-square", "shifted-exponential"]))
    peak = draw(value)
    end = peak * draw(st.floats(1e-3 if shape == "exponential" else 0.0, 1.0))
    return lrkit.wsd(peak, steps=steps, warmup=warm, decay=decay, shape=shape, end=end)


leaves = st.one_of(
    st.builds(lrkit.constant, value),
    st.builds(lrkit.linear, value, value, steps=length),
    st.builds(lrkit.polynomial, value, value, steps=length, power=st.floats(0.25, 4.0), cycle=flag),
    st.builds(lrkit.exponential, value, st.floats(0.01, 1.0), steps=length, staircase=flag),
    st.builds(lrkit.inverse_time, value, st.floats(0.0, 5.0), steps=length, staircase=flag),
    st.builds(lrkit.natural_exp, value, st.floats(0.0, 5.0), steps=length, staircase=flag),
    st.builds(lrkit.inverse_sqrt, value, steps=length),
    st.builds(lrkit.cosine, value, value, steps=length, exponent=st.floats(0.5, 3.0)),
    one_minus_sqrt(),
    st.builds(lrkit.linear_cosine, value, steps=length, periods=st.floats(0.0, 3.0), alpha=fraction,
              beta=st.floats(0.0, 0.1)),
    piecewise_constant(),
    piecewise_linear(),
    cosine_restarts(),
    cyclic(),
    st.builds(lambda k: lrkit.function(inverse_epoch) * k, value),
    st.builds(lrkit.step_decay, value, period=length, gamma=st.floats(0.01, 1.0)),
    multistep(),
    one_cycle(),
    wsd(),
)


@st.composite
def warmup_of(draw, child):
    inner = draw(child)
    shape = draw(st.sampled_from(["linear", "cosine", "exponential", "1-sqrt", "log"]))
    start = draw(st.one_of(st.just(0.0), value))
    if shape == "exponential" and (start <= 0 or inner(0) <= 0):
        shape = "linear"
    steps = draw(length)
    if shape == "log" and steps <= 1:
        shape = "linear"
    return lrkit.warmup(inner, steps=steps, start=start, shape=shape)


@st.composite
def sequence_of(draw, child):
    parts = draw(st.lists(child, min_size=2, max_size=3))
    bounds = draw(increasing(st.one_of(st.integers(1, 500), st.floats(0.5, 500.0)),
                             min_size=len(parts) - 1, max_size=len(parts) - 1))
    return lrkit.sequence(parts, boundaries=bounds)


@st.composite
def clip_of(draw, child):
    inner = draw(child)
    lo, hi = sorted([draw(value), draw(value)])
    kind = draw(st.sampled_from(["floor", "ceiling", "both"]))
    return lrkit.clip(inner, floor=None if kind == "ceiling" else lo, ceiling=None if kind == "floor" else hi)


def combinators(child):
    return st.one_of(
        warmup_of(child),
        sequence_of(child),
        st.builds(lrkit.repeat, child, period=length),
        st.builds(lambda s, k: s * k, child, st.floats(0.01, 10.0)),
        st.builds(lambda s, k: k * s, child, st.floats(0.01, 10.0)),
        st.builds(lambda s, c: s + c, child, st.floats(0.0, 1.0)),
        st.builds(lambda a, b: a * b, child, child),
        st.builds(lambda a, b: a + b, child, child),
        clip_of(child),
    )


# ---- issue 14: the peers' shapes (lrkit._decays) and clock combinators (lrkit._warps)
@st.composite
def tanh(draw):
    lb, ub = sorted(draw(st.lists(st.floats(-20.0, 20.0), min_size=2, max_size=2, unique=True)))
    assume(ub - lb > 1e-6)
    return lrkit.tanh(draw(value), draw(value), steps=draw(length), lb=lb, ub=ub)


leaves = st.one_of(
    leaves,
    st.builds(lrkit.one_minus_power, value, value, steps=length, power=st.floats(0.25, 4.0)),
    st.builds(lrkit.shifted_exponential, value, value, steps=length, ratio=st.floats(0.01, 0.99)),
    st.builds(lrkit.rex, value, value, steps=length),
    tanh(),
    st.builds(lrkit.inverse_power, value, steps=length, power=st.floats(0.1, 3.0)),
)


@st.composite
def restarts_of(draw, child):
    inner = draw(child)
    mult = draw(st.one_of(st.just(1.0), st.integers(1, 3), st.floats(1.0, 3.0)))
    limit = draw(st.one_of(st.none(), st.integers(1, 4)))
    decay = draw(st.floats(0.0, 1.0 if limit is None else 2.0))
    peak, end = draw(value), draw(st.one_of(st.just(0.0), value))
    try:
        return lrkit.restarts(inner, period=draw(length), period_mult=mult, peak=peak, end=end, decay=decay,
                              limit=limit)
    except lrkit.LrkitValueError:  # a shape above 1 with a coefficient below 0 can go below 0: no floor then
        return lrkit.restarts(inner, period=draw(length), period_mult=mult, peak=peak, decay=min(decay, 1.0),
                              limit=limit)


@st.composite
def overlapping_warmup_of(draw, child):
    """timm's warmup_prefix=False: the ramp to a given peak over a decay that keeps its own clock."""
    w = draw(length)
    return lrkit.warmup(lrkit.shift(draw(child), steps=w), steps=w, start=draw(st.one_of(st.just(0.0), value)),
                        peak=draw(value), shape=draw(st.sampled_from(["linear", "cosine", "1-sqrt"])))


@st.composite
def noise_of(draw, child):
    begin = draw(st.one_of(st.just(0.0), st.integers(0, 300)))
    stop = draw(st.one_of(st.none(), st.integers(int(begin) + 1, 800)))
    return lrkit.noise(draw(child), pct=draw(st.floats(0.1, 1.0)), std=draw(st.floats(0.0, 1.5)),
                       kind=draw(st.sampled_from(["normal", "uniform"])), seed=draw(st.integers(0, 2 ** 70)),
                       begin=begin, stop=stop)


def has_noise(s):
    """noise evaluates Python numbers and numpy arrays only (a 64-bit integer generator)."""
    return any(isinstance(p, lrkit.noise) for p in parts(s))


_combinators_before_issue_14 = combinators


def combinators(child):
    return st.one_of(
        _combinators_before_issue_14(child),
        st.builds(lrkit.shift, child, steps=st.one_of(st.integers(0, 500), st.floats(0.0, 500.0))),
        st.builds(lrkit.k_decay, child, k=st.floats(0.2, 5.0), steps=length),
        restarts_of(child),
        overlapping_warmup_of(child),
        noise_of(child),
    )


_combinators_before_stairs = combinators


def combinators(child):
    return st.one_of(
        _combinators_before_stairs(child),
        st.builds(lrkit.stairs, child, steps=st.one_of(length, st.sampled_from([0.1, 0.3, 0.7, 2.2])),
                  count=st.integers(1, 5), hold=st.sampled_from(["start", "end"])),
        st.builds(lrkit.per_epoch, child, updates=st.one_of(st.integers(1, 50), st.sampled_from([0.1, 0.7, 2.5]))),
    )


schedules = st.recursive(leaves, combinators, max_leaves=5)
steps_list = st.lists(st.one_of(st.integers(0, 1000), st.floats(0.0, 1000.0)), min_size=1, max_size=16)


def close(a, b, atol=FLOOR):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(np.all(np.abs(a - b) <= np.maximum(REL * np.abs(b), atol)))


def amplitude_atol(values):
    return AMP_ULPS * EPS * max(float(np.max(np.abs(values))), FLOOR)


GRID = np.linspace(0.0, 1000.0, 2001)


def schedule_atol(s, *samples):
    """``AMP_ULPS`` ulps of the largest value of ``s`` over steps 0..1000 and ``samples``."""
    values = [s(GRID)] + [np.asarray(x, dtype=np.float64).reshape(-1) for x in samples]
    return amplitude_atol(np.concatenate([v[np.isfinite(v)] for v in values]))


# =====================================================================================================
# the laws
# =====================================================================================================

@LAW
@given(schedules, steps_list)
def test_vectorised_equals_scalar(s, ts):
    curve = s(np.asarray(ts, dtype=np.float64))
    scalar = [s(t) for t in ts]
    assert all(type(v) is float for v in scalar)
    assert close(curve, scalar, atol=schedule_atol(s, curve)), (s, ts, curve, scalar)


@LAW
@given(schedules, steps_list)
def test_compiled_scalar_is_bitwise_the_plain_evaluation(s, ts):
    """The per-step function (one branch of each where) does the plain math evaluation's operations."""
    from lrkit._compile import compile_scalar
    from lrkit._namespace import MATH
    fast = compile_scalar(s)
    for t in ts:
        try:
            plain = float(s._f(t, MATH))
        except (OverflowError, ValueError, ZeroDivisionError):
            continue  # the numbers path then evaluates with numpy
        value = fast(t)
        assert value == plain or (math.isnan(value) and math.isnan(plain)), (s, t, value, plain)
        assert math.copysign(1.0, value) == math.copysign(1.0, plain)


@LAW
@given(schedules)
def test_config_round_trip(s):
    config = s.to_config()
    text = json.dumps(config)
    back = lrkit.from_config(json.loads(text))
    assert back == s and hash(back) == hash(s)
    assert json.dumps(back.to_config()) == text
    ts = np.array([0.0, 1.0, 17.5, 333.0])
    assert np.array_equal(back(ts), s(ts))


@LAW
@given(schedules)
def test_spec_round_trip(s):
    text = repr(s)
    back = lrkit.parse(text)
    assert back == s, (text, repr(back))
    assert repr(back) == text


@FEW
@given(schedules)
def test_pickle_round_trip(s):
    s(3.0)  # the compiled scalar path exists before pickling
    back = pickle.loads(pickle.dumps(s))
    assert back == s and back(3.0) == s(3.0) and back(7) == s(7)


@LAW
@given(warmup_of(schedules))
def test_warmup_join_is_continuous(w):
    peak, n = w.schedule(0), w.steps
    assert close(w(0), w.start) and close(w(0.0), w.start)
    assert close(w(n), peak)                          # at the join: the schedule's first value
    scale = max(abs(peak), abs(w.start))
    before = w(n * (1 - 1e-9))                        # just before: the ramp has (almost) arrived
    gap = 1e-4 if w.shape == "1-sqrt" else 1e-6       # (1-sqrt arrives with an infinite slope: sqrt(1e-9) short)
    assert abs(before - peak) <= gap * scale + FLOOR, (before, peak)
    ramp = w(np.linspace(0.0, n, 64))                 # monotone ramp between start and peak
    lo, hi = min(w.start, peak), max(w.start, peak)
    assert np.all(ramp >= lo * (1 - 1e-12)) and np.all(ramp <= hi * (1 + 1e-12))
    assert np.all(np.diff(ramp) * np.sign(peak - w.start) >= -1e-12 * scale)


def phase_ends(s):
    """Internal boundaries of a recipe built only from continuous pieces."""
    e = s.expanded
    ends = []
    while True:
        if isinstance(e, lrkit.warmup):
            ends.append(e.steps)
            offset, e = e.steps, e.schedule
            if isinstance(e, lrkit.sequence):
                ends += [offset + b for b in e.boundaries]
            return ends
        if isinstance(e, lrkit.sequence):
            return ends + list(e.boundaries)
        return ends


@LAW
@given(st.one_of(one_cycle(), wsd()))
def test_recipes_are_continuous(s):
    scale = max(float(np.max(s(np.linspace(0, s.steps, 200)))), FLOOR)
    for b in phase_ends(s):
        left, right = s(max(b - 1e-7, 0.0)), s(b)
        assert abs(left - right) <= 1e-5 * scale, (b, left, right)


def parts(s):
    """``s`` and every schedule inside it (recipes through their expansion)."""
    yield s
    for item in vars(s).values():
        for x in item if isinstance(item, tuple) else (item,):
            if isinstance(x, lrkit.Schedule):
                yield from parts(x)


@LAW
@given(schedules, st.lists(st.floats(0.0, 1e7), min_size=1, max_size=8))
def test_hold_after_the_end(s, offsets):
    end = s.end_step()
    assume(end is not None)
    # just past the end (a child's clock t - boundary can land an ulp short of its own end)
    settled = end * (1 + 1e-9) + 1e-6
    ts = [settled] + [settled + o for o in offsets] + [float(HUGE), HUGE]
    held = s(settled)
    values = [s(t) for t in ts]
    assert close(values, [held] * len(ts)), (s, end, ts, values)
    assert close(s(np.array(ts, dtype=np.float64)), [held] * len(ts), atol=schedule_atol(s, values))


# ---- every schedule describes itself: lrkit.Schedule's protocol (end_step, span, events, cycles) ------

def named_in(schedule):
    """The class names written in ``schedule`` (its fields, at any depth; not a recipe's expansion)."""
    found = {type(schedule).__name__}
    for f in dataclasses.fields(schedule):
        value = getattr(schedule, f.name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, lrkit.Schedule):
                found |= named_in(item)
    return found


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_schedule_answers_the_protocol(name):
    """A class defines each method itself or gets it from a base that answers for it (a Recipe answers
    through its expansion); lrkit.Schedule's own only raise. No field hides a method."""
    cls = REGISTRY[name]
    missing = [m for m in PROTOCOL if getattr(cls, m) is getattr(lrkit.Schedule, m)]
    assert not missing, f"{name} does not define {', '.join(f'{m}()' for m in missing)} (see lrkit.Schedule)"
    hidden = sorted({f.name for f in dataclasses.fields(cls)} & set(PROTOCOL))
    assert not hidden, f"{name} has field(s) {hidden} named like a method every schedule answers"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_schedule_has_a_reference_row(name):
    assert any(name in named_in(case.schedule) for case in CASES), (
        f"no row of tests/reference.py writes {name}(...): add one")


def test_an_unanswered_method_says_what_is_missing():
    class bare(lrkit.Schedule):  # not registered: the law above would catch a registered one
        def _f(self, t, xp):
            return t * 0.0 + 1.0

    for method, args in (("end_step", ()), ("span", ()), ("events", (10.0,)), ("cycles", ()), ("bounds", ())):
        with pytest.raises(NotImplementedError, match=rf"bare does not answer {method}\(\)"):
            getattr(bare(), method)(*args)


EVENT_KINDS = {"end", "warmup end", "switch", "milestone", "point", "restart", "decay step", "peak", "trough",
               "phase"}


@LAW
@given(schedules)
def test_what_a_schedule_says_about_itself(s):
    """span is end_step + 1 when it settles; every event is an Event of a known kind from a part of s;
    declared events do not depend on the horizon, periodic ones only grow with it; ``offset`` moves them
    all (exactly, on whole steps); every cycle is a part of s whose starts begin at 0 and increase."""
    end = s.end_step()
    assert end is None or (type(end) is float and end >= 0)
    assert s.span() > 0 and (end is None or s.span() == end + 1)
    names = {type(p).__name__ for p in parts(s)}
    short, long = s.events(50.0), s.events(5000.0)
    for e in short + long:
        assert type(e) is Event and e.kind in EVENT_KINDS and e.source in names, e
    assert sorted(e.step for e in short if e.declared) == sorted(e.step for e in long if e.declared)
    assert {e.step for e in short if not e.declared} <= {e.step for e in long if not e.declared}
    if all(float(e.step).is_integer() for e in long):
        shifted = s.events(5000.0 + 64.0, offset=64.0)
        assert sorted((e.step, e.kind) for e in shifted) == sorted((e.step + 64.0, e.kind) for e in long)
    for c in s.cycles():
        assert type(c) is Cycle and c.node in list(parts(s)) and c.offset >= 0
        assert c.starts(0) == 0 and 0 < c.starts(1) < c.starts(2)


@LAW
@given(schedules, steps_list)
def test_values_lie_within_the_bounds(s, ts):
    """bounds() is sound: every value, on the numpy and the per-step paths, lies in [low, high] (up to the
    rounding of the formula: 1e-12 of the bound's size); low >= 0, so every value is >= 0, exactly."""
    low, high = s.bounds()
    assert type(low) is float and type(high) is float and 0 <= low <= high, (s, low, high)
    ts = ts + [0.0, 1e7, float(HUGE)]
    values = np.concatenate([s(np.asarray(ts, dtype=np.float64)), [s(t) for t in ts]])
    slack = 1e-12 * max(low, high if high < math.inf else float(np.max(values)), FLOOR)
    assert np.all(values >= 0), (s, ts, values)
    assert np.all(values >= low - slack) and np.all(values <= high + slack), (s, low, high, ts, values)


@LAW
@given(schedules)
def test_default_steps_show_the_whole_settling_curve(s):
    n = default_steps(s)
    assert 2 <= n <= 10_000_000
    end = s.end_step()
    assert end is None or n == max(2, math.ceil(end) + 1)


def test_default_steps_of_a_decay_too_slow_to_see():
    """A rate so small that its 1% point is past any float: the longest default run, not an OverflowError."""
    assert default_steps(lrkit.natural_exp(0.1, 2.225e-309, steps=199)) == 10_000_000
    assert default_steps(lrkit.inverse_time(0.1, 1e-300)) == 10_000_000


@LAW
@given(st.builds(lrkit.cosine_restarts, value, value, period=length), st.floats(1e-6, 0.999), st.integers(1, 10 ** 6))
def test_restarts_are_periodic(s, u, k):
    """period_mult = 1: s(t + k P) == s(t). The clock t + k P carries the rounding of k P (a few ulps of
    k P), so the law holds to 1e-12 of the amplitude per 1000 periods; an exact restart needs an exact
    k P (integer P: test_restart_values_with_period_mult)."""
    t = u * s.period
    amplitude = max(s.start, s.end)
    tol = 1e-12 * amplitude * max(1.0, k / 1e3)
    assert abs(s(t + k * s.period) - s(t)) <= tol
    assert abs(s(np.array([t + k * s.period]))[0] - s(t)) <= tol


@LAW
@given(st.floats(1e-4, 10.0), st.floats(0.0, 10.0), st.integers(1, 50), st.integers(1, 4), st.floats(0.1, 1.0),
       st.integers(0, 12))
def test_restart_values_with_period_mult(start, end, period, mult, peak_mult, n):
    """With integer T_0 and T_mult the cycle starts S_n = T_0 (m^n - 1)/(m - 1) are exact: the value
    there is end + (start - end) peak_mult^n, and just before it the cycle has (almost) reached end."""
    s = lrkit.cosine_restarts(start, end, period=period, period_mult=mult, peak_mult=peak_mult)
    s_n = period * n if mult == 1 else period * (mult ** n - 1) // (mult - 1)
    expected = end + (start - end) * peak_mult ** n
    assert s(s_n) == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert s(float(s_n)) == pytest.approx(expected, rel=1e-12, abs=1e-300)
    if n:
        previous = end + (start - end) * peak_mult ** (n - 1)
        assert abs(s(s_n - 1e-6 * period) - end) <= 1e-9 * abs(previous - end) + 1e-300


@pytest.mark.parametrize("mult", [1.5, 2.0, 3.0, 1.1, 2.7, 1 + 2 ** -40])
def test_restarts_fall_on_the_same_step_when_numpy_pow_is_an_ulp_off(numpy_an_ulp_off, mult):
    """The cycle starts S_n = T_0 (m^n - 1)/(m - 1) decide where a restart falls. If the numpy curve
    took m^n from numpy's pow and the per-step path from the C library's, an ulp between them (exact
    powers included: AVX-512's SVML) would put a restart on different steps, a jump from the cycle's
    end to its peak. Both paths take m^n from Python's float pow, so the curve stays within an ulp of
    cos (4 ulps of the peak) of the per-step values, restarts included; with m = 1 + 2^-40, m^n - 1
    cancels to a few bits and an ulp of m^n would move S_n by whole periods."""
    s = lrkit.cosine_restarts(1.0, 0.1, period=10, period_mult=mult, peak_mult=0.5)
    ts = np.concatenate([np.arange(3000.0), [s.cycle_start(n) for n in range(12)]])
    assert_ulps(s(ts), [s(float(t)) for t in ts], 4, scale=1.0, what=repr(s))


@LAW
@given(schedules, st.integers(0, 10 ** 6), st.sampled_from([1, 5, 47, 48, 60]), st.booleans(), st.data())
def test_scaling_is_the_cores_mul_then_add(unit, t, n, with_offset, data):
    """lrkit._scaling.Scaling(scale, offset).values(unit(t)) == [add(mul(unit, s_i), o_i)(t)], bit for bit,
    for one target, a few (python) and many (numpy); scale_through inverts it (the scale that gives x at u),
    the same bits for a float, a list and a numpy array."""
    from lrkit._scaling import Scaling, scale_through
    scale = data.draw(st.lists(st.floats(-10.0, 10.0), min_size=n, max_size=n))
    offset = data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)) if with_offset else None
    u = unit(t)
    got = Scaling(scale, offset).values(u)
    added = offset is not None and any(offset)  # (offsets that are all 0 are not added: -0.0 stays -0.0)
    # (a negative scale is no lrkit schedule: it could go below 0, so the core refuses to build it; there
    # the expected value is the arithmetic the core's mul and add do on the per-step path)
    want = [((lrkit.add(lrkit.mul(unit, s), o) if added else lrkit.mul(unit, s))(t) if s >= 0
             else (u * s + o if added else u * s)) for s, o in zip(scale, offset or [0.0] * n)]
    assert [v.hex() for v in got] == [float(w).hex() for w in want]
    assert Scaling(scale, offset).values_each([u] * n) == got
    xs = data.draw(st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n))
    if 1e-100 < abs(u) < 1e100:  # (no overflow or underflow in (x - a) / u)
        anchors = offset if added else None
        scales = scale_through(xs, u, anchors)  # the scale that puts each x on the curve at u
        assert scales == [scale_through(x, u, a) for x, a in zip(xs, anchors or [0.0] * n)]
        array = scale_through(np.array(xs), u, None if anchors is None else np.array(anchors))
        assert [v.hex() for v in array.tolist()] == [v.hex() for v in scales]
        for x, a, v in zip(xs, anchors or [0.0] * n, Scaling(scales, anchors).values(u)):
            assert abs(v - x) <= 1e-15 * (abs(x) + abs(a)) + 1e-300, (x, a, u, v)  # (a few ulps)


@LAW
@given(cosine_restarts(), st.one_of(st.integers(0, 10 ** 6), st.floats(0.0, 1e6)))
def test_cycle_at_is_the_cycle_the_formula_uses(s, t):
    """cycle_at(t) = (n, S_n, T_n): t lies in cycle n, which starts at cycle_start(n) and ends where cycle
    n + 1 starts; the value at S_n is a restart: end + (start - end) * peak_mult ** n."""
    n, start, length = s.cycle_at(t)
    assert start == s.cycle_start(n) <= t < s.cycle_start(n + 1)
    assert length == pytest.approx(s.cycle_start(n + 1) - start, rel=1e-9)
    assert s(start) == pytest.approx(s.end + (s.start - s.end) * s.peak_mult ** n, rel=1e-9, abs=1e-300)


@LAW
@given(schedules, st.integers(1, 500), st.lists(st.integers(0, 10 ** 6), min_size=1, max_size=8))
def test_repeat_is_periodic(inner, period, ts):
    """Integer period and steps keep the clock exact: repeat(s, P)(t + kP) == s(t) for t < P."""
    r = lrkit.repeat(inner, period=period)
    for t in ts:
        local = t % period
        assert r(t) == inner(local) or close(r(t), inner(local))
        assert close(r(np.array([float(t)]))[0], inner(float(local)), atol=schedule_atol(inner))


@FEW
@given(schedules, st.floats(0.01, 100.0), st.floats(0.0, 10.0), steps_list)
def test_pointwise_algebra(s, k, c, ts):
    x = np.asarray(ts, dtype=np.float64)
    base = [s(t) for t in ts]
    assert close([(s * k)(t) for t in ts], [k * v for v in base])
    assert close([(k * s)(t) for t in ts], [k * v for v in base])
    assert close([(s + c)(t) for t in ts], [v + c for v in base])
    assert close([(c + s)(t) for t in ts], [c + v for v in base])
    assert close((s * k)(x), k * s(x)) and close((s + c)(x), s(x) + c)
    other = lrkit.cosine(1.0, 0.1, steps=100)
    assert close([(s * other)(t) for t in ts], [v * other(t) for v, t in zip(base, ts)])
    assert close([(s + other)(t) for t in ts], [v + other(t) for v, t in zip(base, ts)])
    lo, hi = sorted([c, c + k])
    assert close([lrkit.clip(s, floor=lo, ceiling=hi)(t) for t in ts], [min(max(v, lo), hi) for v in base])


# ---- other namespaces ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def jnp():
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    yield jnp
    jax.config.update("jax_enable_x64", previous)


FIXED_STEPS = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 7.25, 10.0, 33.0, 99.5, 100.0, 250.0, 400.0, 401.0, 999.0,
                        12345.0, 2.0 ** 20])


@FEW
@given(s=schedules)
def test_torch_namespace_equals_numpy(torch, s):
    assume(not has_noise(s))
    want = s(FIXED_STEPS)
    got = s(torch.tensor(FIXED_STEPS, dtype=torch.float64), xp=torch)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    assert close(got.numpy(), want, atol=amplitude_atol(want)), (s, got, want)
    one = s(torch.tensor(33.0, dtype=torch.float64), xp=torch)
    assert close(float(one), s(33.0), atol=amplitude_atol(want))


@FEW
@given(s=schedules)
def test_jax_namespace_equals_numpy(jnp, s):
    assume(not has_noise(s))
    want = s(FIXED_STEPS)
    got = s(jnp.asarray(FIXED_STEPS), xp=jnp)
    assert str(got.dtype) == "float64"
    assert close(np.asarray(got), want, atol=amplitude_atol(want)), (s, np.asarray(got), want)


def test_jax_namespace_under_jit(jnp):
    import jax
    s = lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=900), steps=100)
    f = jax.jit(lambda t: s(t, xp=jnp))
    ts = np.array([0.0, 50.0, 100.0, 550.0, 1000.0, 5000.0])
    assert close(np.asarray(f(jnp.asarray(ts))), s(ts))


def test_math_and_numpy_namespaces_are_the_default_paths():
    s = lrkit.one_cycle(1.0, steps=100)
    assert s(37.5, xp=math) == s(37.5)
    assert np.array_equal(s(np.arange(10.0), xp=np), s(np.arange(10.0)))


# ---- the plateau controller: its per-epoch closure is the general method, decision for decision ----
metrics = st.lists(st.one_of(st.floats(-10, 10), st.sampled_from([0.0, -0.0, 1.0, 1.0, 1.0, 2.0, 1e-300]),
                             st.sampled_from([math.nan, math.inf, -math.inf])), min_size=1, max_size=60)


@LAW
@given(st.sampled_from(["min", "max"]), st.sampled_from(["rel", "abs"]), st.sampled_from([0.0, 1e-4, 0.1, 2.0]),
       st.integers(0, 3), st.integers(0, 2), st.sampled_from(["bad", "ignore"]), metrics,
       st.sampled_from(["magnitude", "torch"]))
def test_plateau_fast_update_equals_general(mode, threshold_mode, threshold, patience, cooldown, nonfinite, ms,
                                            rule):
    ctl = lrkit.plateau(mode=mode, threshold_mode=threshold_mode, threshold=threshold, patience=patience,
                        cooldown=cooldown, nonfinite=nonfinite, threshold_rule=rule)
    assert ctl.update is not lrkit.plateau.update.__get__(ctl)  # the closure is in use
    fast = slow = ctl.init()
    for m in ms:
        fast, slow = ctl.update(fast, m), lrkit.plateau.update(ctl, slow, m)
        assert fast == slow and type(fast) is type(slow)
    # a pickled controller rebuilds its closure
    clone = pickle.loads(pickle.dumps(ctl))
    assert clone == ctl and clone.update(ctl.init(), 1.0) == ctl.update(ctl.init(), 1.0)


def test_a_restart_where_t_over_the_period_rounds_down():
    """S_1875 = 1875 * P, but S_1875 / P rounds to just below 1875: the cycle is settled with the cycle
    starts, so the value at the restart is the restart's (found by the law above)."""
    s = lrkit.cosine_restarts(start=0.003, end=2.1386221295920773, period=77.4510128552644,
                              peak_mult=0.9958164100353366)
    start = s.cycle_start(1875)
    assert start / s.period < 1875 and s.cycle_at(start)[0] == 1875
    expected = s.end + (s.start - s.end) * s.peak_mult ** 1875
    assert s(start) == pytest.approx(expected, rel=1e-12) and s(np.array([start]))[0] == s(start)


@pytest.mark.parametrize("mult", [1 + 2 ** -52, 1 + 1e-13, 1 + 1e-9])
def test_the_cycle_index_with_a_period_mult_next_to_one(mult):
    """log(t / P + 1 / (m - 1)) drops t / P against 1 / (m - 1) when m - 1 is tiny; the index stays exact
    through log1p (found by test_hold_after_the_end: a restarts with cycle_limit 3 went on past its end)."""
    s = lrkit.cosine_restarts(1.0, 0.0, period=380.3155118877125, period_mult=mult)
    for n in (1, 2, 3, 50):
        start = s.cycle_start(n)
        for t in (start + 0.01 * s.period, start + 0.99 * s.period):
            assert s.cycle_at(t)[0] == n, (mult, n, t)
            assert s(np.array([t]))[0] == s(t)
    limited = lrkit.restarts(lrkit.cosine(1.0, 0.0, steps=380.3155118877125), period=380.3155118877125,
                             period_mult=mult, peak=2.0, end=0.0, limit=3)
    end = limited.end_step()
    assert [limited(end + d) for d in (0.0, 1.1, 1e6)] == [0.0, 0.0, 0.0]
