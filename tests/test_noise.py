"""lrkit.noise: LR noise as a pure function of (seed, step), against timm's noise.

lrkit does not reproduce timm's random numbers (torch's Mersenne Twister seeded with noise_seed + t): it
draws from the same distributions with its own counter-based generator (lrkit/_noise.py says why). So
the tests check: (1) the closed form (any order, any path, pickled, resumed: the same numbers), (2) the
same distribution as timm's draws (two-sample tests on thousands of draws, fixed seeds: deterministic),
(3) timm's noise-free curve and its range and formula ``v + v * n``, (4) the graph adapters refuse it.
"""
import math
import pickle
import random

import numpy as np
import pytest

import lrkit
from timm_scheduler import load
from ulps import within_ulps

N = 4000


def test_the_value_at_a_step_is_a_pure_function_of_seed_and_step():
    s = lrkit.noise(lrkit.cosine(1.0, 0.1, steps=900), pct=0.5, seed=1234)
    forward = [s(t) for t in range(900)]
    backward = [s(t) for t in reversed(range(900))][::-1]
    assert forward == backward                                        # random access: any order
    again = lrkit.noise(lrkit.cosine(1.0, 0.1, steps=900), pct=0.5, seed=1234)
    assert [again(t) for t in range(900)] == forward                  # a fresh value (another rank, a resume)
    assert [pickle.loads(pickle.dumps(s))(t) for t in (0, 17, 899)] == [forward[0], forward[17], forward[899]]
    assert lrkit.parse(repr(s)) == s and [lrkit.from_config(s.to_config())(t) for t in range(5)] == forward[:5]
    flat = lrkit.noise(lrkit.constant(1.0), pct=0.5, seed=1234)
    assert flat(17.0) == flat(17.9) == flat(17) != flat(18)           # one draw per whole step
    other = lrkit.noise(lrkit.cosine(1.0, 0.1, steps=900), pct=0.5, seed=1235)
    assert sum(other(t) == v for t, v in enumerate(forward)) <= 1     # another seed, other numbers


@pytest.mark.parametrize("kind", ["normal", "uniform"])
def test_numpy_curve_equals_the_per_step_path(kind):
    s = lrkit.noise(lrkit.linear(1.0, 0.5, steps=5000), pct=0.3, std=0.4, kind=kind, seed=99, begin=100, stop=4000)
    steps = np.arange(6000.0)
    curve, scalar = s(steps), np.array([s(t) for t in range(6000)])
    if kind == "uniform":  # arithmetic only: the same bits
        assert np.array_equal(curve, scalar)
    else:  # numpy's log/cos/sin may be an ulp from math's; the same draws are accepted on both paths
        assert within_ulps(curve, scalar, 4).all()
    clean = lrkit.linear(1.0, 0.5, steps=5000)(steps)
    inside = (steps >= 100) & (steps < 4000)
    assert np.array_equal(curve[~inside], clean[~inside])
    ratio = curve[inside] / clean[inside] - 1
    assert np.all(np.abs(ratio) <= 0.3 + 1e-12) and np.std(ratio) > 0.05


@pytest.fixture(scope="module")
def timm():
    return load()


def timm_noise(timm, noise_type="normal", **noise):
    """timm's draws: its base Scheduler's _calculate_noise (only PlateauLRScheduler takes noise_type as an
    argument; the others keep the base's attribute, "normal", which is set here)."""
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = timm.cosine_lr.CosineLRScheduler(opt, t_initial=10 * N, noise_range_t=0, **noise)
    sched.noise_type = noise_type
    return sched, [sched._calculate_noise(t) for t in range(N)]


@pytest.mark.parametrize("kind, pct, std", [("normal", 0.67, 1.0), ("normal", 0.2, 0.1), ("normal", 0.9, 2.0),
                                            ("uniform", 0.67, 1.0), ("uniform", 0.05, 1.0)])
def test_the_same_distribution_as_timms_draws(timm, kind, pct, std):
    """Two-sample Kolmogorov-Smirnov over 4000 draws each (fixed seeds, so deterministic): timm's draws and
    lrkit's come from one distribution (p > 1e-3); both stay within pct; their means and spreads agree."""
    stats = pytest.importorskip("scipy.stats")
    _, theirs = timm_noise(timm, noise_type=kind, noise_pct=pct, noise_std=std, noise_seed=42)
    ours = lrkit.noise(lrkit.constant(1.0), pct=pct, std=std, kind=kind, seed=42)._draw_array(np.arange(float(N)))
    theirs = np.array(theirs)
    assert np.all(np.abs(theirs) <= pct) and np.all(np.abs(ours) <= pct)
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3
    spread = np.std(theirs)
    assert abs(np.mean(ours) - np.mean(theirs)) < 6 * spread / math.sqrt(N)
    assert abs(np.std(ours) / spread - 1) < 0.06


def test_a_different_distribution_is_told_apart(timm):
    """The test above can fail: lrkit's draws against timm's with another pct."""
    stats = pytest.importorskip("scipy.stats")
    _, theirs = timm_noise(timm, noise_type="normal", noise_pct=0.67, noise_std=1.0)
    ours = lrkit.noise(lrkit.constant(1.0), pct=0.5)._draw_array(np.arange(float(N)))
    assert stats.ks_2samp(ours, theirs).pvalue < 1e-6


def test_timms_noisy_curve_is_its_curve_plus_curve_times_noise(timm):
    """timm's step() applies v + v * noise in noise_range_t; lrkit's noise(s) the same formula, on the same
    noise-free curve (timm's own, exactly), with its own draws."""
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    sched = timm.cosine_lr.CosineLRScheduler(opt, t_initial=300, lr_min=0.01, noise_range_t=(50, 200), noise_pct=0.4,
                                             noise_std=0.5, noise_seed=3, t_in_epochs=False)
    clean = lrkit.restarts(lrkit.cosine(1.0, 0.0, steps=300), period=300, peak=0.5, end=0.01, limit=1)
    noisy = lrkit.noise(clean, pct=0.4, std=0.5, seed=3, begin=50, stop=200)
    theirs = []
    for t in range(400):
        sched.step_update(t)
        theirs.append(opt.param_groups[0]["lr"])
    ours = [noisy(t) for t in range(400)]
    outside = [t for t in range(400) if not 50 <= t < 200]
    assert [ours[t] for t in outside] == [theirs[t] for t in outside] == [clean(t) for t in outside]
    for t in range(50, 200):
        v = clean(t)
        assert v == sched._get_lr(t)[0]
        assert theirs[t] == v + v * sched._calculate_noise(t)
        assert ours[t] == v + v * noisy.draw(t) and abs(ours[t] / v - 1) < 0.4


@pytest.mark.parametrize("where", ["keras", "optax", "torch"])
def test_graph_adapters_refuse_noise_at_construction(where):
    s = lrkit.noise(lrkit.cosine(0.1, 0.0, steps=100))
    message = "noise evaluates Python numbers and numpy arrays only"
    if where == "keras":
        pytest.importorskip("keras")
        from lrkit.keras import KerasSchedule
        with pytest.raises(lrkit.LrkitTypeError, match=message):
            KerasSchedule(s)
    elif where == "optax":
        pytest.importorskip("optax")
        from lrkit.optax import to_optax
        with pytest.raises(lrkit.LrkitTypeError, match=message):
            to_optax(s)
    else:
        torch = pytest.importorskip("torch")
        with pytest.raises(lrkit.LrkitTypeError, match=message):
            s(torch.arange(3.0), xp=torch)


def test_torch_schedulers_write_the_noisy_values():
    """The per-step path of lrkit.torch evaluates noise: the optimizer sees s(k) at update k."""
    torch = pytest.importorskip("torch")
    from lrkit.torch import ScheduleLR
    s = lrkit.noise(lrkit.warmup(lrkit.cosine(0.1, 0.0, steps=90), steps=10), pct=0.3, seed=5)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = ScheduleLR(opt, s)
    seen = []
    for _ in range(120):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == [s(k) for k in range(120)]


@pytest.mark.parametrize("call, message", [
    (lambda: lrkit.noise(lrkit.constant(1.0), pct=1.5), r"pct must be <= 1 .*got 1\.5"),
    (lambda: lrkit.noise(lrkit.constant(1.0), pct=0.01, std=1.0), r"pct=0\.01 is too small for std=1\.0"),
    (lambda: lrkit.noise(lrkit.constant(1.0), begin=10, stop=10), r"stop must be > begin, got begin=10, stop=10"),
    (lambda: lrkit.noise(lrkit.constant(1.0), seed=True), r"seed must be an integer, got True"),
    (lambda: lrkit.noise(lrkit.constant(1.0), kind="gauss"), r"kind must be one of 'normal', 'uniform', got 'gauss'"),
])
def test_bad_noise_is_refused_at_construction(call, message):
    with pytest.raises((lrkit.LrkitValueError, lrkit.LrkitTypeError), match=message):
        call()


def test_many_seeds_and_steps_stay_within_pct():
    rng = random.Random(0)
    for _ in range(50):
        pct, std = rng.uniform(0.1, 1.0), rng.uniform(0.0, 2.0)
        s = lrkit.noise(lrkit.constant(1.0), pct=pct, std=std, seed=rng.getrandbits(80))
        values = s(np.arange(0.0, 2000.0))
        assert np.all(values > 1 - pct) and np.all(values < 1 + pct) and np.all(values >= 0)
