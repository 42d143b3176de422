"""Exact floor division for lrkit's held clocks (``per_epoch``, ``stairs``): ``floor_divide(t, d)`` is Python's
``t // d`` and ``ceil_divide`` its ceiling, bit for bit, on the numbers, numpy and torch (float64) paths, for
divisors not exact in binary (0.1, 0.3, 2.2, 1/3, ...), where ``floor(t / d)`` is one too high wherever the
quotient rounds up to a whole number (``1 / 0.1 == 10.0``, ``1 // 0.1 == 9.0``)."""
import math
import random

import numpy as np
import pytest

import lrkit
from lrkit._epochs import ceil_divide, floor_divide
from lrkit._namespace import MATH, NUMPY, namespace

DIVISORS = [0.1, 0.3, 0.7, 2.2, 1.1, 0.01, 1 / 3, 0.15, 7.77, 1e-3]


def _pairs(n=20000):
    rng = random.Random(14)
    for _ in range(n):
        d = rng.choice(DIVISORS + [rng.uniform(1e-3, 50.0)])
        t = float(rng.randint(0, 10 ** 6)) if rng.random() < 0.7 else rng.uniform(0.0, 1e4)
        yield t, d


def test_floor_and_ceil_divide_are_pythons_on_numbers():
    pairs = list(_pairs())
    assert all(floor_divide(t, d, MATH) == t // d for t, d in pairs)
    assert all(ceil_divide(t, d, MATH) == -(-t // d) for t, d in pairs)
    # the float floor is wrong on many of them: the test tells the two apart
    assert sum(math.floor(t / d) != t // d for t, d in pairs) > 1000


@pytest.mark.parametrize("d", DIVISORS)
def test_floor_and_ceil_divide_on_arrays(d):
    t = np.arange(0, 100000, dtype=np.float64)
    assert np.array_equal(floor_divide(t, d, NUMPY), np.floor_divide(t, d))
    assert np.array_equal(ceil_divide(t, d, NUMPY), -np.floor_divide(-t, d))
    torch = pytest.importorskip("torch")
    tt = torch.tensor(t, dtype=torch.float64)
    assert torch.equal(floor_divide(tt, d, namespace(torch)), torch.floor_divide(tt, d))


@pytest.mark.parametrize("d", DIVISORS)
def test_per_epoch_and_stairs_use_pythons_floor(d):
    """per_epoch(s, updates=d)(t) is s(t // d) and stairs(s, steps=d)(t) is s(d * (t // d)), on both paths."""
    inner = lrkit.linear(0.0, 1.0, steps=10 ** 6)
    held, stepped = lrkit.per_epoch(inner, updates=d), lrkit.stairs(inner, steps=d)
    ts = list(range(0, 3000)) + [2.5, 7.25, 1e5 + 0.5]
    want_epochs = [inner(t // d) for t in ts]
    want_stairs = [inner(d * (t // d)) for t in ts]
    assert [held(t) for t in ts] == want_epochs
    assert held(np.array(ts, dtype=np.float64)).tolist() == want_epochs
    assert [stepped(t) for t in ts] == want_stairs
    assert stepped(np.array(ts, dtype=np.float64)).tolist() == want_stairs


def test_stairs_refuses_bad_arguments():
    line = lrkit.linear(1.0, 0.0, steps=10)
    with pytest.raises(lrkit.LrkitValueError, match=r"count must be an integer >= 1 .*got 0"):
        lrkit.stairs(line, steps=10, count=0)
    with pytest.raises(lrkit.LrkitTypeError, match=r"count must be an integer >= 0, got 2.5"):
        lrkit.stairs(line, steps=10, count=2.5)
    with pytest.raises(lrkit.LrkitValueError, match=r"hold must be one of 'start', 'end', got 'middle'"):
        lrkit.stairs(line, steps=10, hold="middle")
    with pytest.raises(lrkit.LrkitValueError, match=r"steps must be > 0, got 0"):
        lrkit.stairs(line, steps=0)
