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
