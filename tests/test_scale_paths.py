"""The paths of issue 13 compute what the general ones do: a sequence's numpy curve by parts, a long lookup
table in one search, MultiplicativeLR's running product, the compiled per-step function's float result.
Bitwise equality is asserted where the same operations compute both sides (the same numpy or math calls on
the same values); speed is the benchmarks' business."""
import math

import numpy as np
import pytest
from reference import CASES

import lrkit
from lrkit._namespace import Namespace
from lrkit._running import RunningProduct

#: numpy, but not lrkit's NUMPY object: schedules take their general ``where`` form with it
WHERE_FORM = Namespace("numpy, the where form", to_float=lambda t: np.asarray(t, dtype=np.float64),
                       **{f: getattr(np, f) for f in ("where", "minimum", "maximum", "floor", "ceil", "cos", "exp",
                                                      "log", "sqrt")})

SEQUENCES = {
    "shapes": lrkit.sequence([lrkit.constant(1.0), lrkit.linear(1.0, 0.1, steps=20), lrkit.exponential(0.1, 0.97),
                              lrkit.cosine(0.5, 0.0, steps=30)], boundaries=[5, 25, 40]),
    "many parts": lrkit.sequence([lrkit.cosine(1.0, 0.1, steps=10)] * 300, boundaries=[10 * (i + 1) for i in range(299)]),
    "nested": lrkit.warmup(lrkit.sequence([lrkit.constant(1.0), lrkit.sequence(
        [lrkit.linear(1.0, 0.5, steps=7), lrkit.constant(0.5), lrkit.cosine(0.5, 0.0, steps=9), lrkit.constant(0.1),
         lrkit.constant(0.05)], boundaries=[7, 11, 20, 31])], boundaries=[3]), steps=4),
    "fractional boundaries": lrkit.sequence([lrkit.constant(1.0), lrkit.linear(1.0, 0.0, steps=2.5),
                                             lrkit.constant(0.3), lrkit.constant(0.2), lrkit.constant(0.1)],
                                            boundaries=[1.5, 4.0, 4.25, 9.0]),
}


def _steps(kind, n, high):
    rng = np.random.default_rng(7)
    if kind == "sorted integers":
        return np.arange(n, dtype=np.float64) * (high / n)
    if kind == "unsorted":
        t = rng.uniform(0, high, n)
        t[::5] = np.floor(t[::5])  # (steps exactly at boundaries too)
        return t
    return np.sort(rng.uniform(0, high, n))  # sorted, fractional


@pytest.mark.parametrize("name", sorted(SEQUENCES))
@pytest.mark.parametrize("kind", ["sorted integers", "unsorted", "sorted fractional"])
def test_a_sequence_by_parts_equals_its_where_form_bitwise(name, kind):
    s = SEQUENCES[name]
    t = _steps(kind, 20_000, 4000.0)
    by_parts = s(t)
    where_form = s._f(t, WHERE_FORM)
    assert np.array_equal(by_parts, where_form), np.flatnonzero(by_parts != where_form)[:5]
    assert by_parts.dtype == np.float64 and by_parts.shape == t.shape


def test_a_sequence_by_parts_equals_the_scalar_path():
    s = SEQUENCES["many parts"]
    t = np.arange(0, 3200, 0.5)
    got = s(t)
    expected = [s(float(x)) for x in t]
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300) for a, b in zip(got, expected))


def test_a_long_lookup_table_in_one_search():
    milestones = list(range(7, 7 * 9999 + 1, 7))
    s = lrkit.multistep(1.0, milestones=milestones, gamma=0.9999)
    t = np.arange(0, 72_000, 1.0)
    got = s(t)  # (more steps than a block of 16K: one searchsorted, not one per block)
    expected = np.asarray([s(int(x)) for x in t])
    assert np.array_equal(got, expected)
    after = lrkit.piecewise_constant([1.5 * i for i in range(1, 40)], [1.0 / i for i in range(1, 41)], switch="after")
    t = np.arange(0, 70, 0.25)
    assert np.array_equal(after(t), np.asarray([after(float(x)) for x in t]))


def test_curves_of_every_length_validate_and_match():
    s = lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=90), steps=10)
    for n in (0, 1, 5, 16384, 16385, 40000):
        t = np.arange(n)
        got = s(t)
        assert got.shape == (n,) and got.dtype == np.float64
        assert np.array_equal(got, s._f(t.astype(np.float64), WHERE_FORM))
    assert np.array_equal(s(np.arange(12, dtype=np.uint8)), s(np.arange(12)))
    assert s(np.arange(6).reshape(2, 3)).shape == (2, 3)
    for bad in (np.array([1, -1]), np.array([0.0, np.nan]), np.array([np.inf]), np.array([-0.5, 1.0])):
        with pytest.raises(lrkit.LrkitError):
            s(bad)


def test_the_running_product_is_the_cores_bitwise():
    factor = lambda k: 1.0 - 1.0 / (k + 3.0)  # noqa: E731
    core = lrkit.multiplicative(factor, start=0.7)
    running = RunningProduct(core)
    assert [running(t) for t in range(3000)] == [core(t) for t in range(3000)]
    assert running(2998) == core(2998)  # one step back: kept
    assert running(1234) == core(1234)  # a jump back: multiplied again from the start
    assert running(2.5) == core(2.5)
    saved = running.state()
    again = RunningProduct(core)
    again.load(saved)
    assert again(2) == core(2) and again.state() == saved
    with pytest.raises(lrkit.LrkitError):
        again.load({"step": -1, "value": 1.0})


def test_multiplicative_lr_keeps_no_list_of_products():
    torch = pytest.importorskip("torch")
    import lrkit.torch as K
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = K.MultiplicativeLR(opt, lambda k: 0.99999)
    opt.step()
    for _ in range(30_000):
        sched.step()
    unit = sched._hyperparameters[0].units[0]
    assert len(unit._products) == 1  # (the core's cache is not what the drop-in steps with)
    assert math.isclose(opt.param_groups[0]["lr"], 0.1 * 0.99999 ** 30_000, rel_tol=1e-9)
    state = sched.state_dict()
    assert state["lrkit"]["products"][0]["step"] == 30_000


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_compiled_per_step_function_returns_a_python_float(case):
    f = case.schedule.per_step()
    for t in (0, 1, 7, 100, 12345, 2.5):
        try:
            value = f(t)
        except OverflowError:  # (documented: where Python floats overflow, the schedule's own value is numpy's)
            continue
        assert type(value) is float, (case.id, t, type(value))
        plain = float(case.schedule._f(t, lrkit._namespace.MATH))
        assert value == plain or (math.isnan(value) and math.isnan(plain)), (case.id, t)
