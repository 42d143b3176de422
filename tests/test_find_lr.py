"""The LR range test: ``lrkit._find_lr`` (core, any training loop), ``lrkit.torch._range_test`` (PyTorch) and
``lrkit find-lr`` (CLI).

- the sweep: the first LR is ``start`` and the last ``end`` exactly, geometric or even steps between,
  and ``step_fn`` sees exactly those LRs in order;
- smoothing is the bias-corrected EMA: checked against its closed form on a step change of the loss;
- early stop: at the first step whose (smoothed) loss exceeds ``diverge`` x the best so far (known
  analytically for a loss that explodes), never on a loss <= 0; on NaN/inf, which is never recorded
  and never becomes a suggestion;
- suggestions on loss curves that are known functions of log-LR, where the answer is known: the
  steepest point of ``-tanh`` is its centre, the minimum of a parabola its vertex, the valley of a bowl
  halfway between the window's start and the vertex; a single spike moves the steepest point by
  decades and the valley by at most two grid steps (why the valley is the recommended one); laws
  (Hypothesis, derandomized): no rule depends on the units of the loss, the valley only on its order;
- every bad argument is refused before the first step, naming the argument and the value;
- save/load is exact; plot and ``_repr_png_`` draw; the CLI shows and plots a saved result;
- torch: after the test the model (parameters, buffers, gradients, train/eval flags) and the optimizer
  (Adam with state, SGD with momentum; two param groups; state, step counts, param groups, the same
  dict and tensor objects) are bitwise what they were, also after a NaN and after an exception; the
  run that follows is bitwise the run without ``find_lr`` (RNG restored); groups get the same LR, or
  keep their ratios with ``relative=True``; on full-batch gradient descent of a quadratic the loss
  falls at every LR below the stability edge 2/lambda_max and the sweep diverges past it.
"""
import copy
import json
import math
import os
import random
import subprocess
import sys
import warnings

import numpy as np
import pytest

import lrkit
from lrkit import cli
from lrkit._find_lr import LRFinderResult, find_lr, sweep

try:
    import torch
    from lrkit.torch import _range_test
except ImportError:  # the core tests run without torch
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")



@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The torch models here are tiny: one intra-op thread is several times faster than two on a shared
    2-core machine (measured: 0.66 s against 3.7 s for the torch tests). Restored afterwards."""
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


LRKIT = os.path.join(os.path.dirname(sys.executable), "lrkit")
# an 8-decade sweep with 10 points per decade: log10(lrs[i]) = -7 + i / 10
GRID = dict(start=1e-7, end=10.0, steps=81)
STEP = 0.1  # decades between two points of GRID


def x_of(lr):
    return math.log10(lr)


def curve(f, **kwargs):
    """find_lr on a loss that is a known function f(log10 lr); no smoothing, no early stop by default."""
    options = dict(GRID, smooth=0.0, diverge=None, progress=False)
    options.update(kwargs)
    return find_lr(lambda lr: f(x_of(lr)), **options)


# ---------------------------------------------------------------------------------------------
# the sweep
# ---------------------------------------------------------------------------------------------
SWEEPS = [(1e-7, 10.0, 100, "exp"), (3e-7, 7.3, 97, "exp"), (1e-5, 1e-5 * (1 + 1e-6), 10, "exp"),
          (0.0, 1.0, 10, "linear"), (0.001, 0.3, 33, "linear"), (2.5e-4, 0.7, 1000, "exp")]


@pytest.mark.parametrize("start, end, steps, mode", SWEEPS)
def test_sweep_hits_start_and_end_exactly(start, end, steps, mode):
    seen = []
    r = find_lr(lambda lr: seen.append(lr) or 1.0, start=start, end=end, steps=steps, mode=mode, progress=False)
    assert r.stopped == "end" and len(r.lrs) == steps
    assert seen == list(r.lrs) and all(type(lr) is float for lr in seen)
    assert r.lrs[0] == start and r.lrs[-1] == end  # exactly
    lrs = np.asarray(r.lrs)
    assert np.all(np.diff(lrs) > 0)
    if mode == "exp":  # a constant ratio between neighbours
        ratios = np.diff(np.log(lrs))
        np.testing.assert_allclose(ratios, math.log(end / start) / (steps - 1), rtol=1e-6)
    else:
        np.testing.assert_allclose(np.diff(lrs), (end - start) / (steps - 1), rtol=1e-9)
    np.testing.assert_array_equal(sweep(start, end, steps, mode), lrs)


def test_whole_decades_are_exact():
    assert sweep(1e-7, 10.0, 9).tolist() == [1e-07, 1e-06, 1e-05, 0.0001, 0.001, 0.01, 0.1, 1.0, 10.0]


def test_whole_decades_are_exact_when_numpy_pow_is_an_ulp_off(monkeypatch):
    """numpy's pow on AVX-512 (SVML) gives 10 ** -1 = 0.09999999999999999 (numpy#23289): the sweep's
    powers are Python's, so the decades stay exact."""
    from ulps import Jittered
    real_array = np.array
    monkeypatch.setattr(np, "arange", lambda *a, **k: real_array(range(*a), **k).view(Jittered))
    assert sweep(1e-7, 10.0, 9).tolist() == [1e-07, 1e-06, 1e-05, 0.0001, 0.001, 0.01, 0.1, 1.0, 10.0]


# ---------------------------------------------------------------------------------------------
# smoothing and the early stop
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("beta", [0.98, 0.9, 0.5])
def test_smoothing_is_the_bias_corrected_average(beta):
    """Loss a for steps < k, then b: avg_i = a (b^(i-k+1) - b^(i+1)) + b (1 - b^(i-k+1)) in closed form,
    smoothed_i = avg_i / (1 - beta^(i+1)); before the change it is a exactly (up to rounding)."""
    a, b, k = 2.0, 0.5, 30
    r = find_lr(lambda lr: a if lr < sweep(**GRID)[k] else b, **GRID, smooth=beta, diverge=None, progress=False)
    i = np.arange(len(r.lrs))
    tail = np.where(i >= k, beta ** np.maximum(i - k + 1, 0), beta ** (i + 1) * 0 + 1.0)
    avg = np.where(i >= k, a * (tail - beta ** (i + 1)) + b * (1 - tail), a * (1 - beta ** (i + 1)))
    np.testing.assert_allclose(r.smoothed, avg / (1 - beta ** (i + 1)), rtol=1e-12)
    assert r.losses == tuple([a] * k + [b] * (len(i) - k))


def test_no_smoothing_records_the_raw_loss():
    r = curve(lambda x: 3.0 + math.sin(5 * x))
    assert r.smoothed == r.losses


def test_divergence_stops_at_the_first_step_past_the_threshold():
    """1 + (lr / 0.01)^2 passes 4 x its best (1 + 1e-10, at the first LR) at lr = 0.01 sqrt(3 + 4e-10):
    the first grid LR past it is 10^-1.7, step 53; no step is run after it."""
    calls = []
    r = find_lr(lambda lr: calls.append(lr) or 1.0 + (lr / 0.01) ** 2, **GRID, smooth=0.0, progress=False)
    assert r.stopped == "diverged"
    assert len(r.lrs) == len(calls) == 54
    assert r.stop_lr == r.lrs[-1] == calls[-1]
    assert x_of(r.stop_lr) == pytest.approx(-1.7, abs=1e-9)
    assert r.losses[-1] > 4 * min(r.losses) >= r.losses[-2]


def test_divergence_with_smoothing_stops_where_the_smoothed_loss_crosses():
    r = find_lr(lambda lr: 1.0 + (lr / 0.01) ** 4, **GRID, progress=False)  # smooth=0.98, diverge=4
    s = np.asarray(r.smoothed)
    assert r.stopped == "diverged" and len(s) < GRID["steps"]
    assert s[-1] > 4 * s.min()
    assert all(s[i] <= 4 * s[:i + 1].min() for i in range(len(s) - 1))
    assert x_of(r.stop_lr) > -1.7  # the average lags the raw loss


def test_a_lower_threshold_stops_earlier_and_none_never_stops():
    f = lambda lr: 1.0 + (lr / 0.01) ** 2
    stops = [len(find_lr(f, **GRID, smooth=0.0, diverge=d, progress=False).lrs) for d in (1.5, 4.0, 100.0)]
    assert stops[0] < stops[1] < stops[2] < GRID["steps"]
    r = find_lr(f, **GRID, smooth=0.0, diverge=None, progress=False)
    assert r.stopped == "end" and len(r.lrs) == GRID["steps"]


def test_a_loss_at_or_below_zero_never_counts_as_diverging():
    r = curve(lambda x: -10.0 + (10 ** x / 0.01) ** 2, diverge=4.0)  # ends at +1e6, best -10
    assert r.stopped == "end" and len(r.lrs) == GRID["steps"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_stops_and_is_never_recorded_nor_suggested(bad):
    """A bowl with its vertex at 1e-3, but the loss turns non-finite from 10^-3.5 on (before the vertex):
    only finite steps are recorded, the minimum is the last of them, every suggestion below it."""
    calls = []

    def step(lr):
        calls.append(lr)
        x = x_of(lr)
        return bad if x >= -3.5 - 1e-9 else 1.0 + (x + 3.0) ** 2

    r = find_lr(step, **GRID, smooth=0.0, progress=False)
    assert r.stopped == "nan"
    assert len(r.lrs) == 35 and len(calls) == 36  # steps 0..34 recorded, step 35 gave the NaN
    assert x_of(r.stop_lr) == pytest.approx(-3.5, abs=1e-9) and r.stop_lr == calls[-1]
    assert all(math.isfinite(v) for v in r.losses + r.smoothed)
    assert set(r.suggestions) == {"steepest", "minimum/10", "valley"}
    assert all(math.isfinite(lr) and lr <= r.lrs[-1] for lr in r.suggestions.values())
    # the window ends skip_end=5 before the last recorded step: its minimum is there
    assert r.suggestions["minimum/10"] == pytest.approx(r.lrs[-1 - 5] / 10, rel=1e-12)


def test_nan_with_smoothing_stops_too():
    r = find_lr(lambda lr: float("nan") if lr > 1e-3 else 1.0, **GRID, progress=False)
    assert r.stopped == "nan" and all(lr <= 1e-3 for lr in r.lrs) and r.stop_lr > 1e-3


def test_nan_at_the_first_step_gives_an_empty_result_and_no_suggestion():
    r = find_lr(lambda lr: float("nan"), **GRID, progress=False)
    assert (r.stopped, r.lrs, r.losses, r.stop_lr) == ("nan", (), (), 1e-7)
    assert r.suggestions == {} and r.suggestion is None
    assert "no suggestion" in r.summary()


# ---------------------------------------------------------------------------------------------
# suggestions on curves with a known answer
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("x0", [-5.5, -4.0, -2.3, -4.04, -3.96])
def test_steepest_is_the_inflection_of_a_tanh_drop(x0):
    """2 - tanh(2 (x - x0)) falls fastest at x = x0: the steepest suggestion is the grid LR nearest 10^x0."""
    r = curve(lambda x: 2.0 - math.tanh(2.0 * (x - x0)))
    assert abs(x_of(r.suggestions["steepest"]) - x0) <= STEP / 2 + 1e-9


@pytest.mark.parametrize("xm", [-5.0, -3.0, -1.5, -3.04])
def test_minimum_over_ten_is_a_tenth_of_the_vertex_of_a_bowl(xm):
    r = curve(lambda x: 1.0 + (x - xm) ** 2)
    assert abs(x_of(r.suggestions["minimum/10"]) - (xm - 1.0)) <= STEP / 2 + 1e-9


@pytest.mark.parametrize("xm", [-5.0, -3.0, -1.5])
def test_valley_is_halfway_down_a_bowl(xm):
    """A bowl falls from the window's first point (step skip_start=8, x = -6.2) to its vertex xm: the
    longest decreasing stretch is exactly that, and the valley rule takes the point about halfway
    along it (rounded down: at most 2.5 grid steps before the middle)."""
    r = curve(lambda x: 1.0 + (x - xm) ** 2)
    first = -7.0 + r.skip_start * STEP
    middle = (first + xm) / 2
    v = x_of(r.suggestions["valley"])
    assert first < v < xm
    assert middle - 2.5 * STEP - 1e-9 <= v <= middle + 1e-9
    assert r.suggestion == r.suggestions["valley"]


def drop_then_blow_up(x):
    """Falls fastest at 1e-4 (steepest slope -2 per decade), bottoms out near 10^-1.9, then explodes."""
    return 2.0 - math.tanh(2.0 * (x + 4.0)) + (10 ** x / 0.1) ** 2


def test_one_spike_moves_the_steepest_point_by_decades_but_barely_moves_the_valley():
    clean = curve(drop_then_blow_up, diverge=4.0)
    spike = curve(lambda x: drop_then_blow_up(x) + (1.0 if abs(x + 5.5) < 1e-9 else 0.0), diverge=4.0)
    assert abs(x_of(clean.suggestions["steepest"]) + 4.0) <= 1e-9
    assert x_of(spike.suggestions["steepest"]) == pytest.approx(-5.4, abs=1e-9)  # just after the spike
    assert abs(x_of(spike.suggestion) - x_of(clean.suggestion)) <= 2 * STEP + 1e-9
    assert spike.suggestions["minimum/10"] == clean.suggestions["minimum/10"]


def test_steepest_ignores_the_fall_after_a_blow_up():
    """Without an early stop the loss may come back down after blowing up (Adam at LR 1-10 does): that
    fall, twice as steep as the real one, is past the minimum and is not the steepest point."""
    def f(x):  # up to 10 past 10^-1.2, then down to 6 (still above the minimum, ~1.02), fastest at 10^-0.5
        return drop_then_blow_up(x) if x < -1.2 else 8.0 - 2.0 * math.tanh(4.0 * (x + 0.5))
    r = curve(f)
    slope = np.gradient(r.smoothed, np.log(r.lrs))
    window = slice(r.skip_start, len(r.lrs) - r.skip_end)
    assert x_of(r.lrs[window][int(np.argmin(slope[window]))]) == pytest.approx(-0.5, abs=1e-9)  # the later fall
    assert abs(x_of(r.suggestions["steepest"]) + 4.0) <= 1e-9


def test_a_loss_that_only_rises_has_no_steepest_point_and_no_valley():
    r = curve(lambda x: 1.0 + 0.01 * (x + 7.0))
    assert set(r.suggestions) == {"minimum/10"} and r.suggestion is None
    assert r.suggestions["minimum/10"] == pytest.approx(r.lrs[r.skip_start] / 10, rel=1e-12)
    assert "no valley" in r.summary()


def test_a_loss_that_only_falls_suggests_inside_the_window():
    r = curve(lambda x: 5.0 - x)
    n = len(r.lrs)
    assert r.suggestions["minimum/10"] == pytest.approx(r.lrs[n - 1 - r.skip_end] / 10, rel=1e-12)
    assert r.lrs[r.skip_start] < r.suggestion < r.lrs[n - 1 - r.skip_end]


from hypothesis import given, settings, strategies as st  # noqa: E402

LAW = settings(max_examples=25, derandomize=True, database=None, deadline=None)
# losses on a 0.01 grid: two different losses stay different (and in the same order) after scaling
CURVES = st.lists(st.integers(10, 1000).map(lambda k: k / 100), min_size=30, max_size=30)


def replay(losses, **kwargs):
    """find_lr on recorded losses: step i returns losses[i] (30 steps, 1e-6..1, no smoothing)."""
    it = iter(losses)
    return find_lr(lambda lr: next(it), start=1e-6, end=1.0, steps=len(losses), smooth=0.0, diverge=None,
                   progress=False, **kwargs)


@LAW
@given(CURVES, st.floats(0.01, 100.0), st.floats(-5.0, 5.0))
def test_suggestions_do_not_depend_on_the_units_of_the_loss(losses, scale, shift):
    """Every rule is unchanged when the loss is scaled by a positive factor and shifted (nats or bits,
    a constant regulariser): the rules read the shape of the curve, not its numbers."""
    r = replay(losses)
    a, b = r.suggestions, replay([scale * v + shift for v in losses]).suggestions
    assert a.keys() == b.keys() and a["minimum/10"] == b["minimum/10"] and a.get("valley") == b.get("valley")
    # the steepest point may move between slopes equal up to rounding, never further
    if "steepest" in a:
        lrs = r.lrs[r.skip_start:-r.skip_end]
        slope = np.gradient(np.asarray(losses)[r.skip_start:-r.skip_end], np.log(lrs))
        assert slope[lrs.index(b["steepest"])] == pytest.approx(slope[lrs.index(a["steepest"])], rel=1e-9)


@LAW
@given(CURVES)
def test_valley_depends_only_on_the_order_of_the_losses(losses):
    """The valley reads only which loss is lower than which (a longest decreasing subsequence), so any
    increasing transform of the loss (log, exp, square root) leaves it where it is."""
    v = replay(losses).suggestions.get("valley")
    for f in (math.log, math.sqrt, lambda t: math.exp(t / 2)):
        assert replay([f(t) for t in losses]).suggestions.get("valley") == v


def test_the_window_skips_the_ends_as_asked():
    f = lambda x: 1.0 + (x + 3.0) ** 2
    assert curve(f).skip_start == 8 and curve(f).skip_end == 5  # steps // 10, 5
    wide = curve(f, skip_start=0, skip_end=0)
    assert wide.suggestions["steepest"] == wide.lrs[0]  # a bowl is steepest at its left edge
    assert curve(f, skip_start=20).suggestions["steepest"] == pytest.approx(10 ** -5.0, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# bad arguments: refused before the first step, naming the argument and the value
# ---------------------------------------------------------------------------------------------
def never(lr):
    raise AssertionError("step_fn must not be called for a bad call")


BAD = [
    (dict(step_fn=None), lrkit.LrkitTypeError, "step_fn must be a callable", "None"),
    (dict(start=0.0), lrkit.LrkitValueError, "start must be > 0 for mode='exp'", "0.0"),
    (dict(start=-1e-3, mode="linear"), lrkit.LrkitValueError, "start must be >= 0", "-0.001"),
    (dict(start=1.0, end=1.0), lrkit.LrkitValueError, "end must be > start", "end=1.0"),
    (dict(start=1.0, end=0.1), lrkit.LrkitValueError, "end must be > start", "0.1"),
    (dict(end=float("inf")), lrkit.LrkitValueError, "end must be finite", "inf"),
    (dict(start="1e-7"), lrkit.LrkitTypeError, "start must be a real number", "'1e-7'"),
    (dict(steps=5), lrkit.LrkitValueError, "steps must be an integer >= 10", "5"),
    (dict(steps=100.0), lrkit.LrkitTypeError, "steps must be an integer >= 10", "100.0"),
    (dict(steps=True), lrkit.LrkitTypeError, "steps must be an integer >= 10", "True"),
    (dict(mode="log"), lrkit.LrkitValueError, "mode must be one of 'exp', 'linear'", "'log'"),
    (dict(smooth=1.0), lrkit.LrkitValueError, "smooth must be in [0, 1)", "1.0"),
    (dict(smooth=-0.1), lrkit.LrkitValueError, "smooth must be in [0, 1)", "-0.1"),
    (dict(diverge=1.0), lrkit.LrkitValueError, "diverge must be > 1", "1.0"),
    (dict(diverge="4"), lrkit.LrkitTypeError, "diverge must be a real number", "'4'"),
    (dict(progress="yes"), lrkit.LrkitTypeError, "progress must be None", "'yes'"),
    (dict(steps=20, skip_start=10, skip_end=8), lrkit.LrkitValueError, "skip_start + skip_end", "skip_start=10"),
    (dict(skip_end=-1), lrkit.LrkitValueError, "skip_end must be an integer >= 0", "-1"),
    (dict(start=1e-5, end=1e-5 * (1 + 1e-16) + 1e-20, steps=10), lrkit.LrkitValueError, "too close", "1e-05"),
]


@pytest.mark.parametrize("kwargs, error, text, value", BAD, ids=[str(b[0]) for b in BAD])
def test_bad_arguments_are_refused_before_the_first_step(kwargs, error, text, value):
    kwargs = dict(kwargs)
    step_fn = kwargs.pop("step_fn", never)
    with pytest.raises(error) as info:
        find_lr(step_fn, **kwargs)
    assert text in str(info.value) and value in str(info.value)


def test_a_step_fn_that_returns_no_number_is_named():
    with pytest.raises(lrkit.LrkitTypeError, match=r"step_fn must return the loss .* got 'oops' at lr=1e-07"):
        find_lr(lambda lr: "oops", progress=False)


def test_step_fn_may_return_anything_float_accepts():
    r = find_lr(lambda lr: np.float32(2.0), **GRID, progress=False)
    assert set(r.losses) == {2.0}


def test_a_loss_tensor_that_requires_grad_gives_no_warning():
    """The README's step_fn returns the loss tensor itself: no torch warning about converting a tensor
    that requires grad (the core detaches it, finding ``detach`` by name, without importing torch)."""
    torch = pytest.importorskip("torch")
    w = torch.tensor(1.0, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = find_lr(lambda lr: (w * 2.0) ** 2, **GRID, progress=False)
    assert set(r.losses) == {4.0}


def test_progress_bar(capsys):
    find_lr(lambda lr: 1.0, **GRID, progress=True)
    assert "find_lr [" in capsys.readouterr().err
    find_lr(lambda lr: 1.0, **GRID, progress=False)
    find_lr(lambda lr: 1.0, **GRID)  # None: only on a terminal, and pytest's stderr is not one
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------------------------
# the result: a value, saved and loaded exactly, drawn
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def result():
    return find_lr(lambda lr: drop_then_blow_up(x_of(lr)) + 0.01 * math.sin(100 * lr), **GRID, progress=False)


def test_result_is_a_frozen_value(result):
    import dataclasses
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.stopped = "end"
    assert hash(result) == hash(copy.deepcopy(result)) and result == copy.deepcopy(result)
    assert "suggestion=" in repr(result) and "valley" in repr(result)


def test_save_and_load_round_trip_exactly(result, tmp_path):
    path = tmp_path / "lr_find.json"
    result.save(path)
    text = path.read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert data["suggestions"] == result.suggestions and data["suggestion"] == result.suggestion
    back = LRFinderResult.load(path)
    assert back == result and back.suggestions == result.suggestions
    assert back.lrs == result.lrs and back.smoothed == result.smoothed  # bit for bit through JSON
    assert LRFinderResult.from_dict(result.to_dict()) == result


@pytest.mark.parametrize("change, text", [
    (lambda d: d.update(format="other"), "format must be 'lrkit.find_lr'"),
    (lambda d: d.update(version=99), "version must be 1"),
    (lambda d: d.update(extra=1), "unknown keys"),
    (lambda d: d.pop("losses"), "missing keys"),
    (lambda d: d["losses"].pop(), "same length"),
    (lambda d: d.update(stopped="bored"), "stopped must be one of"),
    (lambda d: d["losses"].__setitem__(3, float("nan")), "losses[3] must be finite"),
])
def test_from_dict_refuses_bad_data(result, change, text):
    data = copy.deepcopy(result.to_dict())
    change(data)
    with pytest.raises(lrkit.LrkitValueError) as info:
        LRFinderResult.from_dict(data)
    assert text in str(info.value)


def test_load_refuses_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{nope")
    with pytest.raises(lrkit.LrkitValueError, match="is not JSON"):
        LRFinderResult.load(path)


@pytest.fixture(scope="module")
def agg():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    return Figure


def test_plot_writes_a_file(result, tmp_path, agg):
    ax = result.plot(path=tmp_path / "lr.png")
    assert (tmp_path / "lr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ax.get_xscale() == "log"
    labels = ax.get_legend_handles_labels()[1]
    assert labels[:2] == ["loss", "smoothed (EMA 0.98)"]
    for name, lr in result.suggestions.items():
        assert f"{name}: {lr:.2e}" + (" (suggested)" if name == "valley" else "") in labels


def test_plot_on_given_axes(agg):
    ax = agg().add_subplot()
    r = find_lr(lambda lr: 1.0 + (lr - 0.5) ** 2, start=0.0, end=1.0, steps=20, mode="linear", progress=False)
    assert r.plot(ax=ax) is ax and ax.get_xscale() == "linear"
    empty = find_lr(lambda lr: float("nan"), **GRID, progress=False)
    empty.plot(ax=agg().add_subplot())  # nothing recorded: still draws (title only)


def test_repr_png(result, agg):
    assert result._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


def test_core_imports_no_framework_and_no_matplotlib():
    code = ("import sys, lrkit._find_lr, lrkit; "
            "print(sorted(m for m in ('torch', 'jax', 'keras', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------
def test_cli_show(result, tmp_path, capsys):
    path = str(tmp_path / "r.json")
    result.save(path)
    assert cli.main(["find-lr", "show", path]) == 0
    out = capsys.readouterr().out
    assert out.startswith("LR range test: ") and f"valley       {result.suggestion:.3g}  (suggested)" in out
    assert cli.main(["find-lr", "show", path, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["suggestions"] == result.suggestions and data["suggestion"] == result.suggestion


def test_summary_lowest_loss_is_the_one_minimum_over_ten_reads():
    """The loss is lowest in the first, skipped steps (an average warming up, say): the summary's
    "lowest smoothed loss" is the one in the window the suggestions read (minimum/10 is its LR / 10),
    and the lower one in the skipped steps is named as such."""
    r = curve(lambda x: 0.5 if x < -6.5 else 1.0 + (x + 2.0) ** 2 / 10)   # skipped: steps 0..7
    lines = r.summary().splitlines()
    lowest = lines[1]
    assert lowest.startswith(f"lowest smoothed loss 1 at lr={r.suggestions['minimum/10'] * 10:.3g} in steps 8 to 75")
    assert lowest.endswith(f"; 0.5 at lr={r.lrs[0]:.3g} in the skipped steps")


def test_cli_plot(result, tmp_path, capsys, agg):
    path = str(tmp_path / "r.json")
    result.save(path)
    assert cli.main(["find-lr", "plot", path, "--title", "mine"]) == 0  # default: next to the result, .png
    out = capsys.readouterr().out
    assert f"valley       {result.suggestion:.3g}  (suggested)" in out and f"wrote {tmp_path / 'r.png'}" in out
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv, text", [
    (["find-lr", "show", "missing.json"], "cannot read 'missing.json'"),
    (["find-lr", "plot", "{result}", "-o", "x.gif"], "-o/--output must end in .png, .svg, .pdf"),
    (["find-lr", "show", "{bad}"], "format must be 'lrkit.find_lr'"),
])
def test_cli_errors_are_one_line_exit_2(result, tmp_path, capsys, argv, text):
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    result.save(tmp_path / "r.json")
    argv = [a.format(result=tmp_path / "r.json", bad=tmp_path / "bad.json") for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrkit find-lr: error: ") and text in err and err.count("\n") == 1


def test_console_script(result, tmp_path):
    result.save(tmp_path / "r.json")
    out = subprocess.run([LRKIT, "find-lr", "show", str(tmp_path / "r.json")], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "(suggested)" in out.stdout, out.stderr


# ---------------------------------------------------------------------------------------------
# torch: restore bit for bit
# ---------------------------------------------------------------------------------------------
def make_net():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                            torch.nn.Dropout(0.2))
            self.head = torch.nn.Linear(8, 3)
            self.register_buffer("seen", torch.zeros(()), persistent=False)  # a non-persistent buffer

        def forward(self, x):
            if self.training:
                self.seen += x.shape[0]
            return self.head(self.body(x))

    return Net()


def data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()


def setup(kind, seed=0):
    torch.manual_seed(seed)
    model = make_net()
    groups = [{"params": model.body.parameters(), "lr": 0.01},
              {"params": model.head.parameters(), "lr": 0.001, "weight_decay": 1e-4}]
    opt = (torch.optim.Adam(groups, lr=0.01) if kind == "adam" else
           torch.optim.SGD(groups, lr=0.01, momentum=0.9, nesterov=True))
    return model, opt


def loader(seed=0, **kwargs):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*data(seed=seed)), batch_size=16, **kwargs)


def train(model, opt, batches, n):
    model.train()
    loss_fn = torch.nn.functional.cross_entropy
    it = iter(batches)
    for _ in range(n):
        x, y = next(it, (None, None))
        if x is None:  # next epoch
            it = iter(batches)
            x, y = next(it)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()


def bits(t):
    return t.detach().contiguous().reshape(-1).view(torch.uint8)


def same(a, b):
    """Bitwise on tensors, recursive on containers."""
    if isinstance(a, torch.Tensor):
        return (isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                and torch.equal(bits(a), bits(b)))
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def state_of(model, opt):
    return dict(model=copy.deepcopy(model.state_dict()), optimizer=copy.deepcopy(opt.state_dict()),
                seen=model.seen.clone(), grads=[None if p.grad is None else p.grad.clone() for p in model.parameters()],
                modes=[m.training for m in model.modules()],
                groups=[id(opt.param_groups)] + [id(g) for g in opt.param_groups])


@needs_torch
@pytest.mark.parametrize("kind", ["adam", "sgd"])
@pytest.mark.parametrize("how", ["diverged", "nan", "raised"])
def test_torch_restores_model_and_optimizer_bitwise(kind, how):
    model, opt = setup(kind)
    train(model, opt, loader(), 3)  # optimizer state with step counts, BatchNorm statistics
    x, y = data(16, seed=9)
    torch.nn.functional.cross_entropy(model(x), y).backward()  # gradients pending, not applied
    model.body[3].eval()  # one module in eval mode, the rest in train mode
    before = state_of(model, opt)
    assert len(opt.state) == 6  # every parameter has state (Adam: step counts at 3; SGD: momentum buffers)
    if kind == "adam":
        assert all(same(s["step"], torch.tensor(3.0)) for s in opt.state.values())
    weights = []

    def loss_fn(out, target):
        weights.append(model.head.weight.detach().clone())
        loss = torch.nn.functional.cross_entropy(out, target)
        if how == "nan" and len(weights) > 12:
            return loss * float("nan")
        if how == "raised" and len(weights) > 12:
            raise RuntimeError("boom")
        return loss

    if how == "raised":
        with pytest.raises(RuntimeError, match="boom"):
            _range_test.find_lr(model, opt, loss_fn, loader(), start=1e-4, end=100.0, steps=24, progress=False)
    else:
        r = _range_test.find_lr(model, opt, loss_fn, loader(), start=1e-4, end=100.0, steps=24, progress=False)
        assert r.stopped == how and r.suggestions
    # the test is not vacuous: the sweep trained the model
    assert len(weights) > 12 and not torch.equal(weights[-1], before["model"]["head.weight"])
    after = state_of(model, opt)
    for key in before:
        assert same(after[key], before[key]), key
    assert opt.param_groups[0]["lr"] == 0.01 and opt.param_groups[1]["lr"] == 0.001


@needs_torch
def test_torch_tensor_lr_keeps_its_object_and_value():
    model, opt = setup("sgd")
    lr = opt.param_groups[0]["lr"] = torch.tensor(0.01)
    seen = []

    def loss_fn(out, target):
        seen.append(float(opt.param_groups[0]["lr"]))
        return torch.nn.functional.cross_entropy(out, target)

    r = _range_test.find_lr(model, opt, loss_fn, loader(), start=1e-4, end=1.0, steps=20, diverge=None,
                               progress=False)
    np.testing.assert_allclose(seen, r.lrs, rtol=1e-6)  # written in place during the sweep
    assert opt.param_groups[0]["lr"] is lr and same(lr, torch.tensor(0.01))


@needs_torch
def test_torch_run_after_find_lr_is_the_run_without_it():
    """Same seed, shuffling loader, dropout: 6 training steps after find_lr are bitwise the 6 steps
    without it; so are the next draws of torch, random and numpy, and a loader's own generator."""
    def run(with_find):
        random.seed(1)
        np.random.seed(1)
        model, opt = setup("adam", seed=1)
        batches = loader(shuffle=True)
        own = loader(shuffle=True, generator=torch.Generator().manual_seed(7))
        if with_find:
            _range_test.find_lr(model, opt, torch.nn.functional.cross_entropy, batches, start=1e-5, end=1.0,
                                   steps=15, progress=False)
            _range_test.find_lr(model, opt, torch.nn.functional.cross_entropy, own, start=1e-5, end=1.0,
                                   steps=15, progress=False)
        train(model, opt, batches, 6)
        order = torch.cat([y for _, y in own])
        return model.state_dict(), opt.state_dict(), torch.rand(3), random.random(), np.random.rand(), order

    plain, found = run(False), run(True)
    for a, b in zip(plain, found):
        assert same(a, b)


@needs_torch
@pytest.mark.parametrize("scheduler", ["torch.optim.lr_scheduler.StepLR", "lrkit.torch.ScheduleLR"])
def test_torch_scheduler_order_warning_is_as_without_find_lr(scheduler):
    """A scheduler made before find_lr still warns when stepped before the first optimizer.step():
    find_lr's own optimizer steps do not count (torch's and lrkit's "stepped" flags are restored)."""
    import warnings

    import lrkit.torch

    def warned(with_find):
        model, opt = setup("sgd")
        sched = (torch.optim.lr_scheduler.StepLR(opt, step_size=10) if scheduler.startswith("torch") else
                 lrkit.torch.ScheduleLR(opt, "step_decay(0.01, period=10)"))
        if with_find:
            _range_test.find_lr(model, opt, torch.nn.functional.cross_entropy, loader(), steps=10, progress=False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sched.step()
        return [str(w.message) for w in caught if "optimizer.step()" in str(w.message)]

    assert warned(False)  # the warning exists, so the comparison means something
    assert warned(True) == warned(False)


@needs_torch
def test_torch_groups_get_the_same_lr_or_keep_their_ratio():
    for relative in (False, True):
        model, opt = setup("sgd")
        seen = []

        def loss_fn(out, target):
            seen.append([g["lr"] for g in opt.param_groups])
            return torch.nn.functional.cross_entropy(out, target)

        r = _range_test.find_lr(model, opt, loss_fn, loader(), start=1e-4, end=1.0, steps=20, diverge=None,
                                   progress=False, relative=relative)
        seen = np.asarray(seen)
        np.testing.assert_array_equal(seen[:, 0], r.lrs)
        np.testing.assert_allclose(seen[:, 1], np.asarray(r.lrs) * (0.1 if relative else 1.0), rtol=1e-12)


@needs_torch
def test_torch_gradient_descent_loss_falls_below_the_stability_edge_and_diverges_past_it():
    """Full-batch gradient descent on mean((X w - y)^2) (float64, no momentum): the Hessian is
    H = 2 X^T X / n, each update with lr < 2 / lambda_max(H) lowers the loss, and past it the top
    eigen-direction grows by |1 - lr lambda_max| > 1 per step. So the recorded (raw) loss falls at
    every step whose LR is below the edge, its minimum is past the edge, and the sweep diverges."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(128, 3, generator=g, dtype=torch.float64) * torch.tensor([1.0, 0.1, 0.01], dtype=torch.float64)
    y = x @ torch.tensor([[1.0], [-2.0], [3.0]], dtype=torch.float64)
    model = torch.nn.Linear(3, 1, bias=False).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    edge = 2.0 / torch.linalg.eigvalsh(2.0 * x.T @ x / len(x)).max().item()
    r = _range_test.find_lr(model, opt, torch.nn.functional.mse_loss, [(x, y)], start=1e-4, end=100.0,
                               steps=61, smooth=0.0, progress=False)
    lrs, losses = np.asarray(r.lrs), np.asarray(r.losses)
    below = np.flatnonzero(lrs[:-1] < edge)
    assert len(below) > 30 and np.all(losses[below + 1] < losses[below])
    assert lrs[np.argmin(losses)] >= lrs[below[-1] + 1] > edge
    assert r.stopped == "diverged" and r.stop_lr > edge


@needs_torch
def test_torch_bad_arguments():
    model, opt = setup("sgd")
    f = torch.nn.functional.cross_entropy
    cases = [
        (dict(model=object()), lrkit.LrkitTypeError, "model must be a torch.nn.Module"),
        (dict(optimizer="sgd"), lrkit.LrkitTypeError, "optimizer must be a torch.optim.Optimizer"),
        (dict(loss_fn=3), lrkit.LrkitTypeError, "loss_fn must be a callable"),
        (dict(loader=5), lrkit.LrkitTypeError, "loader must be an iterable"),
        (dict(steps=3), lrkit.LrkitValueError, "steps must be an integer >= 10, got 3"),
        (dict(relative="yes"), lrkit.LrkitTypeError, "relative must be True or False"),
        (dict(device="nonsense"), lrkit.LrkitValueError, "device must be None"),
    ]
    for change, error, text in cases:
        args = dict(model=model, optimizer=opt, loss_fn=f, loader=loader())
        args.update(change)
        with pytest.raises(error, match=text):
            _range_test.find_lr(**args, progress=False)
    before = state_of(model, opt)
    with pytest.raises(lrkit.LrkitValueError, match="loader ran out of batches after 4"):
        _range_test.find_lr(model, opt, f, iter(list(loader())), progress=False)
    with pytest.raises(lrkit.LrkitTypeError, match="each batch must be a pair"):
        _range_test.find_lr(model, opt, f, [data()[0]], progress=False)
    after = state_of(model, opt)
    assert all(same(after[k], before[k]) for k in before)


@needs_torch
def test_torch_restore_error_is_raised_when_the_restore_is_not_exact(monkeypatch):
    model, opt = setup("sgd")
    real_load = torch.optim.Optimizer.load_state_dict

    def lossy(self, state):  # an optimizer whose load_state_dict forgets the momentum buffers
        state = dict(state, state={})
        return real_load(self, state)

    train(model, opt, loader(), 2)
    monkeypatch.setattr(torch.optim.SGD, "load_state_dict", lossy)
    with pytest.raises(_range_test.RestoreError, match="optimizer.state_dict"):
        _range_test.find_lr(model, opt, torch.nn.functional.cross_entropy, loader(), steps=12, progress=False)
