"""The reference table (tests/reference.py) on the two core evaluation paths: a Python number per call
(the per-step path every adapter uses) and a numpy array (the whole curve at once, float64)."""

import numpy as np
import pytest

import lrkit
from reference import CASES, HUGE, IDS, close


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_scalar_path(case):
    for step, expected in case.points:
        got = case.schedule(step)
        assert type(got) is float, (case.id, step, type(got))
        assert close(got, expected), f"{case.id}: s({step!r}) = {got!r}, expected {expected!r} ({case.why})"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_numpy_path(case):
    steps = np.array(case.steps, dtype=np.float64)
    got = case.schedule(steps)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == steps.shape
    for step, value, expected in zip(case.steps, got, case.expected):
        assert close(value, expected), f"{case.id}: s([{step!r}]) = {value!r}, expected {expected!r} ({case.why})"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_list_and_2d_and_numpy_scalars(case):
    """A list, an integer array, a 2-D array and numpy scalars give the same numbers."""
    expected = np.array(case.expected)
    as_list = case.schedule(list(case.steps))
    assert all(close(a, b) for a, b in zip(as_list, expected))
    grid = case.schedule(np.array(case.steps, dtype=np.float64).reshape(1, -1, 1))
    assert grid.shape == (1, len(case.steps), 1)
    assert all(close(a, b) for a, b in zip(grid.ravel(), expected))
    ints = [s for s in case.steps if float(s).is_integer()]
    if ints:
        got = case.schedule(np.array(ints, dtype=np.int64))
        assert got.dtype == np.float64
        want = [v for s, v in case.points if float(s).is_integer()]
        assert all(close(a, b) for a, b in zip(got, want))
        one = case.schedule(np.int64(ints[0]))
        assert type(one) is float and close(one, want[0])


def test_table_covers_every_public_schedule():
    """Each registered shape, combinator and recipe appears in the table (at any depth)."""
    seen = set()

    def walk(s):
        seen.add(type(s).__name__)
        for value in vars(s).values() if hasattr(s, "__dict__") else ():
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, lrkit.Schedule):
                    walk(item)

    for case in CASES:
        walk(case.schedule)
    public = {name for name in lrkit.__all__
              if isinstance(getattr(lrkit, name), type) and issubclass(getattr(lrkit, name), lrkit.Schedule)
              and name not in ("Schedule", "Recipe")}
    assert public <= seen, f"no reference row for {sorted(public - seen)}"


def test_table_has_fractional_and_huge_steps():
    steps = [s for case in CASES for s in case.steps]
    assert any(not float(s).is_integer() for s in steps)
    assert sum(1 for s in steps if s >= HUGE) >= 10


# ---- huge steps: overflow-free where the value is finite, inf where it is not -------------------

def test_triangular2_huge_step_scalar():
    s = lrkit.cyclic(0.1, 1.0, steps_up=4, mode="triangular2")
    assert close(s(HUGE), 0.1)          # numpy says 0.1: the amplitude has halved 2^37 times
    assert close(s(HUGE + 4), 0.1)


def test_triangular2_huge_step_numpy():
    s = lrkit.cyclic(0.1, 1.0, steps_up=4, mode="triangular2")
    assert list(s(np.array([HUGE, HUGE + 4.0]))) == [0.1, 0.1]


def test_growing_exponential_huge_step_scalar_matches_numpy():
    s = lrkit.exponential(1.0, 2.0)
    assert s(HUGE) == s(np.array([HUGE]))[0]


def test_exp_range_refuses_a_growing_gamma():
    """exp_range scales the amplitude by gamma**t: gamma > 1 grows without bound (inf, and 0 * inf = nan
    at a cycle's start), so it is refused at construction; gamma <= 1 stays finite at 2^40."""
    with pytest.raises(lrkit.LrkitValueError, match=r"gamma must be <= 1 for mode='exp_range'.*got 1\.01"):
        lrkit.cyclic(0.1, 1.0, steps_up=4, mode="exp_range", gamma=1.01)
    s = lrkit.cyclic(0.1, 1.0, steps_up=4, mode="exp_range", gamma=0.99)
    assert s(HUGE) == s(np.array([float(HUGE)]))[0] == 0.1


def test_sequence_past_a_triangular2_part_at_huge_step():
    s = lrkit.sequence([lrkit.cyclic(0.1, 1.0, steps_up=4, mode="triangular2"), lrkit.constant(0.1)], boundaries=[100])
    assert s(HUGE) == 0.1


# ---- a held end value is exactly the declared end ------------------------------------------------

TINY_END_HOLDS = [
    ("linear", lrkit.linear(1.0, 1e-9, steps=4), 4, 1e-9),
    ("piecewise_linear", lrkit.piecewise_linear([(0, 1.0), (4, 1e-9)]), 4, 1e-9),
    ("wsd/linear", lrkit.wsd(1.0, steps=10, warmup=2, decay=4, shape="linear", end=1e-9), 10, 1e-9),
    ("one_cycle/linear", lrkit.one_cycle(1.0, steps=100, anneal="linear", final_div_factor=1e8), 99, 1 / 25 / 1e8),
]


@pytest.mark.parametrize("name, schedule, end_step, end", TINY_END_HOLDS, ids=[r[0] for r in TINY_END_HOLDS])
def test_linear_pieces_hold_exactly_their_end(name, schedule, end_step, end):
    for t in (end_step, end_step + 1, 10 * end_step, HUGE):
        assert close(schedule(t), end), (t, schedule(t), end)
    assert close(schedule(np.array([float(end_step)]))[0], end)


@pytest.mark.parametrize("schedule, end_step, end", [
    (lrkit.cosine(1.0, 1e-9, steps=4), 4, 1e-9),
    (lrkit.polynomial(1.0, 1e-9, steps=4, power=2.0), 4, 1e-9),
    (lrkit.one_minus_sqrt(1.0, 1e-9, steps=4), 4, 1e-9),
    (lrkit.one_cycle(1.0, steps=100, anneal="cos", final_div_factor=1e8), 99, 1 / 25 / 1e8),
    (lrkit.wsd(1.0, steps=10, warmup=2, decay=4, shape="cosine", end=1e-9), 10, 1e-9),
], ids=["cosine", "polynomial", "one_minus_sqrt", "one_cycle/cos", "wsd/cosine"])
def test_other_shapes_hold_exactly_their_end(schedule, end_step, end):
    for t in (end_step, end_step + 1, HUGE):
        assert close(schedule(t), end), (t, schedule(t), end)


@pytest.mark.parametrize("switch", ["at", "after"])
def test_many_boundaries_use_a_search_with_the_same_values(switch):
    """Past 8 boundaries numbers and numpy arrays take a binary search; values stay those of the
    definition (and of the where() chain that graph namespaces keep)."""
    boundaries = list(range(3, 63, 3))                       # 20 boundaries
    values = [float(i) for i in range(21)]
    s = lrkit.piecewise_constant(boundaries, values, switch=switch)
    steps = [0, 2.5, 3, 3.5, 30, 31, 60, 61, 1000]
    expected = [sum(b < t if switch == "after" else b <= t for b in boundaries) for t in steps]
    assert [s(t) for t in steps] == expected
    assert list(s(np.array(steps))) == expected
    torch = pytest.importorskip("torch")
    assert s(torch.tensor(steps, dtype=torch.float64), xp=torch).tolist() == expected


def test_a_namespace_function_runs_in_every_namespace():
    """function(fn) with fn(t, xp) evaluates with torch and jax ops too, equal to numpy."""
    from reference import tenth_decay
    s = lrkit.warmup(lrkit.function(tenth_decay) * 0.1, steps=3)
    steps = np.arange(0, 40, 0.5)
    expected = s(steps)
    torch = pytest.importorskip("torch")
    assert np.allclose(s(torch.tensor(steps), xp=torch).numpy(), expected, rtol=1e-12, atol=0)
    jnp = pytest.importorskip("jax.numpy")
    assert np.allclose(np.asarray(s(jnp.asarray(steps, dtype=jnp.float32), xp=jnp)), expected, rtol=1e-6)


def test_a_defaulted_second_argument_is_not_the_namespace():
    """Only a function that requires two arguments gets xp: lambda e, r=0.9: r ** e keeps r."""
    assert lrkit.function(lambda e, r=0.9: r ** e)(2) == 0.9 ** 2
