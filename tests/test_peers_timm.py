"""lrkit.peers.timm (timm's schedulers by their own names) against the installed timm 1.0.31, float64.

timm's scheduler classes are built on a real torch optimizer (``timm.scheduler`` loaded without torchvision,
tests/timm_scheduler.py) and read with ``_get_lr(t)``, the value timm sets after ``step(t)`` /
``step_update(t)``; the peer made from the same arguments must give it at step t, over 600 steps, for
seeded random configs covering every option (warmup with and without prefix, cycle_mul, cycle_decay above
lr_min, cycle_limit, k_decay, lb/ub, power, fractional decay_t, milestones, every WSD stable and decay
function, create_scheduler_v2 with step_on_epochs False and True). Tolerance as tests/test_parity_peer_shapes.py:
1e-12 relative or 64 ulps of the base LR; the only other difference allowed is timm's float cycle index
landing one cycle short at an exact restart (cycle_mul != 1), where timm gives lr_min: counted, checked
to be such a restart. Noise: timm draws from torch's generator, lrkit from its own (lrkit.noise): outside
``noise_range_t`` the values are equal, inside they are the noise-free value times ``1 + n`` with
``|n| < noise_pct``.
"""
import math
import random

import numpy as np
import pytest

import lrkit
from lrkit.peers import timm as peers_timm
from test_parity_peer_shapes import close, random_cycles
from timm_scheduler import load

STEPS = 600
SEEDS = range(25)


@pytest.fixture(scope="module")
def timm():
    return load()


def optimizer(lr):
    torch = pytest.importorskip("torch")
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=lr)


def timm_values(sched, steps=STEPS):
    return np.array([sched._get_lr(t)[0] for t in range(steps)])


def check(peer, sched, base, restarts_of=None):
    """peer == timm over STEPS steps (both paths); returns how many exact restarts timm got one cycle short."""
    want = timm_values(sched)
    scalar = np.array([peer(t) for t in range(STEPS)])
    curve = peer(np.arange(STEPS, dtype=np.float64))
    ok = close(scalar, want, base) & close(curve, want, base)
    for t in np.flatnonzero(~ok):
        assert restarts_of is not None and t in restarts_of and want[t] == sched.lr_min, (
            peer, int(t), scalar[t], want[t])
    return int((~ok).sum())


def cycle_kwargs(c):
    return dict(lr_min=c["lr_min"], cycle_mul=c["cycle_mul"], cycle_decay=c["cycle_decay"],
                cycle_limit=c["cycle_limit"], warmup_t=c["warmup_t"], warmup_lr_init=c["warmup_lr_init"],
                warmup_prefix=c["warmup_prefix"])


def exact_restarts(c):
    """The steps where a cycle of c starts (timm's float index may land one short there)."""
    starts, n, length, at = set(), 0, c["t_initial"], 0.0
    offset = c["warmup_t"] if c["warmup_prefix"] else 0
    while at < STEPS and n < 64:
        starts.add(offset + at)
        at, length, n = at + length, length * c["cycle_mul"], n + 1
    return starts


@pytest.mark.parametrize("seed", SEEDS)
def test_cosine(timm, seed):
    c = random_cycles(random.Random(seed), k_decay_too=True)
    kwargs = dict(t_initial=c["t_initial"], **cycle_kwargs(c), k_decay=c["k_decay"])
    sched = timm.cosine_lr.CosineLRScheduler(optimizer(c["base"]), **kwargs)
    assert check(peers_timm.cosine(**kwargs, lr=c["base"]), sched, c["base"], exact_restarts(c)) <= 2


@pytest.mark.parametrize("seed", SEEDS)
def test_tanh(timm, seed):
    rng = random.Random(500 + seed)
    c = random_cycles(rng, k_decay_too=False)
    kwargs = dict(t_initial=c["t_initial"], lb=rng.choice([-7.0, rng.uniform(-10, 0)]),
                  ub=rng.choice([3.0, rng.uniform(0.5, 10)]), **cycle_kwargs(c))
    if seed == 0:
        kwargs["cycle_limit"] = 0
    sched = timm.tanh_lr.TanhLRScheduler(optimizer(c["base"]), **kwargs)
    assert check(peers_timm.TanhLRScheduler(**kwargs, lr=c["base"]), sched, c["base"], exact_restarts(c)) <= 2


@pytest.mark.parametrize("seed", SEEDS)
def test_poly(timm, seed):
    rng = random.Random(900 + seed)
    c = random_cycles(rng, k_decay_too=True)
    kwargs = dict(t_initial=c["t_initial"], power=rng.choice([0.5, 1.0, rng.uniform(0.2, 4.0)]), **cycle_kwargs(c),
                  k_decay=c["k_decay"])
    sched = timm.poly_lr.PolyLRScheduler(optimizer(c["base"]), **kwargs)
    assert check(peers_timm.poly(**kwargs, lr=c["base"]), sched, c["base"], exact_restarts(c)) <= 2


@pytest.mark.parametrize("seed", SEEDS)
def test_step(timm, seed):
    rng = random.Random(1300 + seed)
    base = rng.uniform(1e-4, 1.0)
    kwargs = dict(decay_t=rng.choice([rng.randint(1, 100), rng.randint(1, 400) / 8]),  # fractional: exact in binary
                  decay_rate=rng.choice([1.0, 0.1, rng.uniform(0.1, 1.0)]), warmup_t=rng.choice([0, rng.randint(1, 50)]),
                  warmup_lr_init=rng.choice([0.0, base * rng.uniform(0, 0.5)]), warmup_prefix=rng.random() < 0.5)
    sched = timm.step_lr.StepLRScheduler(optimizer(base), **kwargs)
    check(peers_timm.step(**kwargs, lr=base), sched, base)


@pytest.mark.parametrize("decay_t", [0.1, 0.3, 0.7, 2.2, 1.1, 0.15, 3.3, 1 / 3, 0.01, 7.77])
def test_step_fractional_decay_t_as_pythons_floor_division(timm, decay_t):
    """A decay_t not exact in binary: timm's ``t // decay_t`` is the exact floor, one less than
    ``floor(t / decay_t)`` wherever the quotient rounds up to a whole number (3 / 0.1 == 30.0, 3 // 0.1 == 29.0);
    the peer switches on the same steps (rate 0.5: a stair off would be a factor 2). For 0.1, 0.01, 1.1 and 2.2
    such steps are in the run (counted: the test tells the two floors apart); the others check that the
    exact floor keeps what the float floor got right."""
    rng = random.Random(str(decay_t))
    base = rng.uniform(1e-4, 1.0)
    for warmup_t, prefix in ((0, True), (rng.randint(1, 50), True), (rng.randint(1, 50), False)):
        kwargs = dict(decay_t=decay_t, decay_rate=0.5 if decay_t > 0.05 else 0.99, warmup_t=warmup_t,
                      warmup_prefix=prefix)
        sched = timm.step_lr.StepLRScheduler(optimizer(base), **kwargs)
        check(peers_timm.step(**kwargs, lr=base), sched, base)
    rounded_up = sum(math.floor(t / decay_t) != t // decay_t for t in range(STEPS))
    assert rounded_up >= (20 if decay_t in (0.1, 0.01, 1.1, 2.2) else 0), (decay_t, rounded_up)


@pytest.mark.parametrize("seed", SEEDS)
def test_multistep(timm, seed):
    rng = random.Random(1700 + seed)
    base = rng.uniform(1e-4, 1.0)
    milestones = sorted(rng.sample(range(0, 500), rng.randint(1, 6)))
    kwargs = dict(decay_t=milestones, decay_rate=rng.uniform(0.1, 0.9), warmup_t=rng.choice([0, rng.randint(1, 50)]),
                  warmup_lr_init=rng.choice([0.0, base * rng.uniform(0, 0.5)]), warmup_prefix=rng.random() < 0.5)
    sched = timm.multistep_lr.MultiStepLRScheduler(optimizer(base), **kwargs)
    check(peers_timm.multistep(**kwargs, lr=base), sched, base)


@pytest.mark.parametrize("seed", SEEDS)
def test_wsd(timm, seed):
    rng = random.Random(2100 + seed)
    base = rng.uniform(1e-4, 2.0)
    t_initial = rng.randint(10, 500)
    warmup_t = rng.choice([0, rng.randint(1, 60)])
    kwargs = dict(t_initial=t_initial, decay_t=rng.randint(1, t_initial),
                  lr_min=rng.choice([0.0, base * rng.uniform(0.0, 0.9)]),
                  stable_fn=rng.choice(["constant", "rsqrt", "power"]), stable_power=rng.uniform(0.1, 2.0),
                  decay_fn=rng.choice(["linear", "1-sqrt", "cosine", "power", "exp"]), decay_power=rng.uniform(0.2, 4.0),
                  decay_ratio=rng.uniform(0.01, 0.99), warmup_t=warmup_t,
                  warmup_lr_init=rng.choice([0.0, base * rng.uniform(0, 0.5)]),
                  stable_timescale=rng.choice([None, rng.uniform(1.0, 300.0)]) if warmup_t else rng.uniform(1.0, 300.0))
    sched = timm.wsd_lr.WSDLRScheduler(optimizer(base), **kwargs)
    check(peers_timm.wsd(**kwargs, lr=base), sched, base)


@pytest.fixture(scope="module")
def factory(timm):
    import importlib
    return importlib.import_module("timm.scheduler.scheduler_factory")


@pytest.mark.parametrize("sched", ["cosine", "tanh", "step", "multistep", "poly", "wsd", "rsqrt", "constant"])
@pytest.mark.parametrize("on_epochs", [True, False])
def test_create_scheduler_v2(factory, sched, on_epochs):
    rng = random.Random(f"{sched}-{on_epochs}")
    for _ in range(4):
        kwargs = dict(sched=sched, num_epochs=rng.randint(5, 60), decay_epochs=rng.choice([None, rng.randint(1, 5)]),
                      decay_milestones=sorted(rng.sample(range(1, 60), 3)), decay_rate=rng.uniform(0.1, 0.9),
                      min_lr=rng.choice([0.0, 1e-5]), warmup_lr=rng.choice([1e-5, 0.0]),
                      warmup_epochs=rng.randint(0, 4), warmup_prefix=rng.random() < 0.5,
                      cycle_mul=rng.choice([1.0, 2.0]), cycle_decay=rng.uniform(0.1, 1.0), cycle_limit=rng.randint(1, 3),
                      k_decay=rng.choice([1.0, 1.5]), step_on_epochs=on_epochs,
                      updates_per_epoch=0 if on_epochs else rng.randint(1, 9))
        if sched in ("wsd", "rsqrt"):
            kwargs["stable_timescale"] = rng.uniform(1.0, 20.0)
            kwargs["decay_epochs"] = rng.choice([None, 0.3, 1])
        base = rng.uniform(1e-3, 1.0)
        ref, _ = factory.create_scheduler_v2(optimizer(base), **kwargs)
        peer = peers_timm.create_scheduler_v2(**kwargs, lr=base)
        restarts = exact_restarts(dict(t_initial=ref.t_initial, cycle_mul=ref.cycle_mul, warmup_t=ref.warmup_t,
                                       warmup_prefix=ref.warmup_prefix)) if hasattr(ref, "cycle_mul") else None
        check(peer, ref, base, restarts)


@pytest.mark.parametrize("kind", ["range", "from"])
def test_noise_keeps_timms_curve_and_bounds(timm, kind):
    base, pct = 0.1, 0.3
    span = [100, 300] if kind == "range" else 200
    kwargs = dict(t_initial=400, lr_min=1e-4, warmup_t=10, noise_range_t=span, noise_pct=pct, noise_std=0.5, noise_seed=3)
    sched = timm.cosine_lr.CosineLRScheduler(optimizer(base), **kwargs)
    peer = peers_timm.cosine(**kwargs, lr=base)
    clean = timm_values(sched)
    got = peer(np.arange(STEPS, dtype=np.float64))
    inside = np.zeros(STEPS, bool)
    if kind == "range":
        inside[span[0]:span[1]] = True
    else:
        inside[span:] = True
    assert close(got[~inside], clean[~inside], base).all()
    ratio = got[inside] / clean[inside] - 1
    assert (np.abs(ratio) < pct + 1e-12).all() and np.std(ratio) > 0.05  # noisy, within timm's bound
    # timm's own noise: the same bound on its scheduler (the distribution, not the numbers)
    noisy = []
    for t in range(STEPS):
        sched.step(t)
        noisy.append(sched.optimizer.param_groups[0]["lr"])
    theirs = np.array(noisy)[inside] / clean[inside] - 1
    assert (np.abs(theirs) < pct).all() and abs(np.std(theirs) - np.std(ratio)) < 0.05


@pytest.mark.parametrize("call, message", [
    ("timm.cosine(0, lr=0.1)", r"t_initial must be > 0, got 0"),
    ("timm.cosine(10, lr_min=-1.0)", r"lr_min must be >= 0, got -1.0"),
    ("timm.cosine(10, cycle_mul=0.5)", r"cycle_mul must be >= 1, got 0.5"),
    ("timm.tanh(10, lb=3.0, ub=-7.0)", r"lb must be < ub"),
    ("timm.wsd(10, 20)", r"decay_t must be in \(0, t_initial\]"),
    ("timm.wsd(10, 5, stable_fn='rsqrt')", r"needs stable_timescale > 0"),
    ("timm.wsd(10, 5, decay_fn='sqrt')", r"decay_fn must be one of"),
    ("timm.wsd(10, 5, decay_ratio=1.5)", r"decay_ratio must be in \(0, 1\)"),
    ("timm.multistep([30, 10])", r"decay_t must be strictly increasing"),
    ("timm.cosine(10, noise_range_t=[1, 2, 3])", r"noise_range_t must be a number or a \[start, end\] pair"),
    ("timm.create_scheduler_v2('cosin')", r"sched must be one of"),
    ("timm.create_scheduler_v2('cosine', step_on_epochs=False)", r"updates_per_epoch must be set"),
    ("timm.cosine(10, t_in_epochs=False, updates_per_epoch=5)", r"updates_per_epoch applies to t_in_epochs=True"),
    ("timm.create_scheduler_v2('wsd', num_epochs=10, warmup_epochs=10)", r"wsd schedule requires 0 < decay_epochs"),
])
def test_bad_arguments_get_lrkits_error(call, message):
    with pytest.raises(lrkit.LrkitError, match=message):
        lrkit.parse(call)


def test_timm_schedulers_read_a_live_scheduler(timm):
    """TIMM_SCHEDULERS turns a live timm scheduler (its vars() and base LR) into the peer with its values."""
    made = [timm.cosine_lr.CosineLRScheduler(optimizer(0.1), t_initial=50, lr_min=1e-4, cycle_mul=2.0, cycle_decay=0.5,
                                             cycle_limit=3, warmup_t=5, warmup_lr_init=1e-5, k_decay=1.5),
            timm.tanh_lr.TanhLRScheduler(optimizer(0.1), t_initial=80, lb=-6.0, warmup_t=10, warmup_prefix=True),
            timm.poly_lr.PolyLRScheduler(optimizer(0.1), t_initial=100, power=2.0, lr_min=1e-5),
            timm.step_lr.StepLRScheduler(optimizer(0.1), decay_t=30, decay_rate=0.5, warmup_t=3),
            timm.multistep_lr.MultiStepLRScheduler(optimizer(0.1), decay_t=[30, 90], decay_rate=0.5),
            timm.wsd_lr.WSDLRScheduler(optimizer(0.1), t_initial=300, decay_t=60, stable_fn="rsqrt", warmup_t=20)]
    for sched in made:
        peer = peers_timm.TIMM_SCHEDULERS[type(sched).__name__](vars(sched), sched.base_values[0])
        check(peer, sched, 0.1)


@pytest.mark.parametrize("seed", range(6))
def test_updates_per_epoch_is_timms_epoch_stepping(timm, seed):
    """With t_in_epochs=True timm's train loop calls step(epoch + 1) at each epoch's end: every update of
    epoch e uses _get_lr(e). The peer with updates_per_epoch=n gives that LR at update k (lrkit.per_epoch)."""
    rng = random.Random(4000 + seed)
    c = random_cycles(rng, k_decay_too=True)
    n = rng.randint(1, 7)
    kwargs = dict(t_initial=c["t_initial"], **cycle_kwargs(c), k_decay=c["k_decay"])
    opt = optimizer(c["base"])
    sched = timm.cosine_lr.CosineLRScheduler(opt, **kwargs)
    used = []
    for epoch in range(STEPS // n):
        for batch in range(n):
            used.append(opt.param_groups[0]["lr"])
            sched.step_update(epoch * n + batch + 1)  # a no-op with t_in_epochs=True, as in timm's train.py
        sched.step(epoch + 1)
    peer = peers_timm.cosine(**kwargs, updates_per_epoch=n, lr=c["base"])
    got = peer(np.arange(len(used), dtype=np.float64))
    starts = {s * n for s in exact_restarts(c)}
    bad = [k for k in np.flatnonzero(~close(got, used, c["base"])) if not (k // n * n in starts and used[k] == c["lr_min"])]
    assert not bad, (peer, bad[:3])
