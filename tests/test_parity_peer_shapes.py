"""The shapes and combinators of issue 14 against the real libraries that use them: timm's cosine, tanh,
poly and WSD schedulers (warmup with and without prefix, cycle_mul, cycle_decay above lr_min, cycle_limit,
k_decay, stable/decay functions) and transformers' WSD (1-sqrt warmup) and cosine_warmup_with_min_lr
(its cosine one step in: ``shift``). Random configs, 600 steps each, float64 on both sides.

Tolerance: 1e-12 relative, or 64 ulps of the peak LR (the value passed through cos/exp/pow; the two sides
group a few operations differently, e.g. timm's ``pi * t_curr ** k / t_i ** k`` against the k-decay warp
``T * (t / T) ** k`` of a cosine ``pi * x / T``, and a value near the end of a cosine is a difference of
close numbers). Where timm's cycle index disagrees with the exact one (``cycle_mul != 1``: timm computes
``floor(log(1 - t / T (1 - m), m))`` in floats, which can land one cycle short at an exact restart
``S_n``, where timm then gives the previous cycle's end, ``lr_min``), the step is counted and checked to be
such a restart, never skipped silently.
"""
import math
import random

import numpy as np
import pytest

import lrkit
from timm_scheduler import load

STEPS = 600
REL = 1e-12
ULPS = 64
SEEDS = range(40)


def close(got, want, scale):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    tol = np.maximum(REL * np.abs(want), ULPS * np.spacing(abs(scale)))
    return np.abs(got - want) <= tol


@pytest.fixture(scope="module")
def timm():
    return load()


def optimizer(lr):
    torch = pytest.importorskip("torch")
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def timm_values(sched, steps=STEPS):
    return [sched._get_lr(t)[0] for t in range(steps)]


def random_cycles(rng, k_decay_too):
    """A random timm cycle config: (t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit, warmup_t,
    warmup_lr_init, warmup_prefix, k_decay)."""
    base = rng.choice([0.1, 1.0, 3e-4, rng.uniform(1e-4, 2.0)])
    t_initial = rng.randint(5, 250)
    lr_min = rng.choice([0.0, base * rng.uniform(0.0, 0.5)])
    k = rng.choice([1.0, 1.0, rng.uniform(0.3, 3.0)]) if k_decay_too else 1.0
    mul = rng.choice([1.0, 1.0, 2.0, 3.0, rng.uniform(1.0, 2.5)] if k == 1.0 else [1.0, 2.0])
    return dict(base=base, t_initial=t_initial, lr_min=lr_min, cycle_mul=mul,
                cycle_decay=rng.choice([1.0, rng.uniform(0.1, 1.0)]), cycle_limit=rng.randint(1, 6),
                warmup_t=rng.choice([0, rng.randint(1, 40)]), warmup_lr_init=rng.choice([0.0, base * rng.uniform(0, 0.5)]),
                warmup_prefix=rng.random() < 0.5, k_decay=k)


def lrkit_cycles(unit, c, warmup_peak=None):
    """timm's cycles, warmup and warmup_prefix in lrkit's shapes (what the named constructors build)."""
    T = c["t_initial"]
    if c["k_decay"] != 1.0:
        unit = lrkit.k_decay(unit, k=c["k_decay"], steps=T)
    body = lrkit.restarts(unit, period=T, period_mult=c["cycle_mul"], peak=c["base"], end=c["lr_min"],
                          decay=c["cycle_decay"], limit=c["cycle_limit"])
    w = c["warmup_t"]
    if not w:
        return body
    if c["warmup_prefix"]:
        return lrkit.warmup(body, steps=w, start=c["warmup_lr_init"], peak=c["base"])
    return lrkit.warmup(lrkit.shift(body, steps=w), steps=w, start=c["warmup_lr_init"], peak=warmup_peak)


def check_against_timm(schedule, sched, c):
    want = timm_values(sched)
    got_scalar = [schedule(t) for t in range(STEPS)]
    got_curve = schedule(np.arange(STEPS, dtype=np.float64))
    ok = close(got_scalar, want, c["base"]) & close(got_curve, want, c["base"])
    body = schedule
    while not isinstance(body, lrkit.restarts):
        body = body.schedule
    offset = c["warmup_t"] if c["warmup_prefix"] else 0
    restarts = {offset + body.cycle_start(n) for n in range(1, 64)}
    for t in np.flatnonzero(~ok):
        # only timm's float cycle index one short at an exact restart, where timm gives lr_min
        assert c["cycle_mul"] != 1 and t in restarts and want[t] == c["lr_min"], (
            c, schedule, int(t), got_scalar[t], want[t])
    return int((~ok).sum())


def timm_cosine(timm, c):
    return timm.cosine_lr.CosineLRScheduler(
        optimizer(c["base"]), t_initial=c["t_initial"], lr_min=c["lr_min"], cycle_mul=c["cycle_mul"],
        cycle_decay=c["cycle_decay"], cycle_limit=c["cycle_limit"], warmup_t=c["warmup_t"],
        warmup_lr_init=c["warmup_lr_init"], warmup_prefix=c["warmup_prefix"], k_decay=c["k_decay"])


@pytest.mark.parametrize("seed", SEEDS)
def test_timm_cosine(timm, seed):
    rng = random.Random(seed)
    c = random_cycles(rng, k_decay_too=True)
    sched = timm_cosine(timm, c)
    # timm's cosine warms up to the base LR with or without prefix
    schedule = lrkit_cycles(lrkit.cosine(1.0, 0.0, steps=c["t_initial"]), c, warmup_peak=c["base"])
    check_against_timm(schedule, sched, c)


@pytest.mark.parametrize("seed", SEEDS)
def test_timm_tanh(timm, seed):
    rng = random.Random(1000 + seed)
    c = random_cycles(rng, k_decay_too=False)
    lb = rng.choice([-7.0, rng.uniform(-10.0, 0.0)])
    ub = rng.choice([3.0, rng.uniform(0.5, 10.0)])
    sched = timm.tanh_lr.TanhLRScheduler(
        optimizer(c["base"]), t_initial=c["t_initial"], lb=lb, ub=ub, lr_min=c["lr_min"], cycle_mul=c["cycle_mul"],
        cycle_decay=c["cycle_decay"], cycle_limit=c["cycle_limit"], warmup_t=c["warmup_t"],
        warmup_lr_init=c["warmup_lr_init"], warmup_prefix=c["warmup_prefix"])
    # timm's tanh warms up to the base LR with a prefix, to its own value at warmup_t without one
    schedule = lrkit_cycles(lrkit.tanh(1.0, 0.0, steps=c["t_initial"], lb=lb, ub=ub), c)
    check_against_timm(schedule, sched, c)


@pytest.mark.parametrize("seed", SEEDS)
def test_timm_poly(timm, seed):
    rng = random.Random(2000 + seed)
    c = random_cycles(rng, k_decay_too=True)
    power = rng.choice([0.5, 1.0, 2.0, rng.uniform(0.2, 4.0)])
    sched = timm.poly_lr.PolyLRScheduler(
        optimizer(c["base"]), t_initial=c["t_initial"], power=power, lr_min=c["lr_min"], cycle_mul=c["cycle_mul"],
        cycle_decay=c["cycle_decay"], cycle_limit=c["cycle_limit"], warmup_t=c["warmup_t"],
        warmup_lr_init=c["warmup_lr_init"], warmup_prefix=c["warmup_prefix"], k_decay=c["k_decay"])
    schedule = lrkit_cycles(lrkit.polynomial(1.0, 0.0, steps=c["t_initial"], power=power), c, warmup_peak=c["base"])
    check_against_timm(schedule, sched, c)


def test_timm_restart_counts_are_few(timm):
    """The exact restarts where timm's float cycle index lands one short: rare, and only for cycle_mul != 1."""
    total = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        c = random_cycles(rng, k_decay_too=True)
        total += check_against_timm(lrkit_cycles(lrkit.cosine(1.0, 0.0, steps=c["t_initial"]), c, c["base"]),
                                    timm_cosine(timm, c), c)
    assert total <= len(SEEDS)


WSD_DECAYS = {
    "linear": lambda d, c: lrkit.linear(1.0, 0.0, steps=d),
    "1-sqrt": lambda d, c: lrkit.one_minus_sqrt(1.0, 0.0, steps=d),
    "cosine": lambda d, c: lrkit.cosine(1.0, 0.0, steps=d),
    "power": lambda d, c: lrkit.one_minus_power(1.0, 0.0, steps=d, power=c["decay_power"]),
    "exp": lambda d, c: lrkit.shifted_exponential(1.0, 0.0, steps=d, ratio=c["decay_ratio"]),
}


@pytest.mark.parametrize("seed", SEEDS)
def test_timm_wsd(timm, seed):
    """lr = lr_min + (max(base * stable(t_s), lr_min) - lr_min) * decay(frac): inverse_power for the stable
    power/rsqrt, one_minus_power and shifted_exponential for the decay power/exp."""
    rng = random.Random(3000 + seed)
    base = rng.uniform(1e-4, 2.0)
    t_initial = rng.randint(10, 500)
    decay_t = rng.randint(1, t_initial)
    warmup_t = rng.choice([0, rng.randint(1, 60)])
    c = dict(lr_min=rng.choice([0.0, base * rng.uniform(0.0, 0.9)]), stable_fn=rng.choice(["constant", "rsqrt", "power"]),
             stable_power=rng.uniform(0.1, 2.0), decay_fn=rng.choice(sorted(WSD_DECAYS)),
             decay_power=rng.uniform(0.2, 4.0), decay_ratio=rng.uniform(0.01, 0.99),
             warmup_lr_init=rng.choice([0.0, base * rng.uniform(0, 0.5)]))
    timescale = rng.choice([None, rng.uniform(1.0, 300.0)]) if warmup_t else rng.uniform(1.0, 300.0)
    sched = timm.wsd_lr.WSDLRScheduler(optimizer(base), t_initial=t_initial, decay_t=decay_t, warmup_t=warmup_t,
                                       stable_timescale=timescale, **c)
    lr_min = c["lr_min"]
    if c["stable_fn"] == "constant":
        stable = lrkit.constant(max(base, lr_min))
    else:
        power = 0.5 if c["stable_fn"] == "rsqrt" else c["stable_power"]
        stable = lrkit.clip(lrkit.inverse_power(base, steps=timescale or warmup_t, power=power), floor=lr_min)
    decay = WSD_DECAYS[c["decay_fn"]](decay_t, c)
    if t_initial > decay_t:
        decay = lrkit.sequence([lrkit.constant(1.0), decay], boundaries=[t_initial - decay_t])
    body = (stable + (-lr_min)) * decay + lr_min if lr_min else stable * decay
    schedule = lrkit.warmup(body, steps=warmup_t, start=c["warmup_lr_init"]) if warmup_t else body
    want = timm_values(sched)
    assert close([schedule(t) for t in range(STEPS)], want, base).all(), (c, schedule)
    assert close(schedule(np.arange(STEPS, dtype=np.float64)), want, base).all()


# ---- transformers ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hf():
    return pytest.importorskip("transformers.optimization")


@pytest.mark.parametrize("seed", range(20))
def test_hf_wsd_warmup_shapes(hf, seed):
    """HF WSD's warmup_type ("linear", "cosine", "1-sqrt") from min_lr_ratio * lr to lr: lrkit's warmup shapes."""
    rng = random.Random(4000 + seed)
    base, ratio = rng.uniform(1e-4, 1.0), rng.choice([0.0, rng.uniform(0.0, 0.5)])
    w, d, stable = rng.randint(1, 200), rng.randint(1, 200), rng.randint(0, 200)
    kind = rng.choice(["linear", "cosine", "1-sqrt"])
    sched = hf.get_wsd_schedule(optimizer(base), num_warmup_steps=w, num_decay_steps=d, num_stable_steps=stable,
                                warmup_type=kind, decay_type="1-sqrt", min_lr_ratio=ratio)
    decay = lrkit.one_minus_sqrt(base, ratio * base, steps=d)
    body = lrkit.sequence([lrkit.constant(base), decay], boundaries=[stable]) if stable else decay
    schedule = lrkit.warmup(body, steps=w, start=ratio * base, shape=kind)
    steps = np.arange(w + stable + d + 50)
    want = [base * sched.lr_lambdas[0](int(t)) for t in steps]
    assert close([schedule(int(t)) for t in steps], want, base).all(), (kind, schedule)
    assert close(schedule(steps.astype(np.float64)), want, base).all()


@pytest.mark.parametrize("seed", range(20))
def test_hf_cosine_warmup_with_min_lr_starts_one_step_in(hf, seed):
    """Without warmup, HF's cosine_warmup_with_min_lr uses progress (t + 1) / N: lrkit's cosine shifted one step."""
    rng = random.Random(5000 + seed)
    base, ratio, n = rng.uniform(1e-4, 1.0), rng.uniform(0.0, 0.5), rng.randint(2, 800)
    sched = hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate(optimizer(base), num_warmup_steps=0,
                                                                   num_training_steps=n, min_lr_rate=ratio)
    schedule = lrkit.shift(lrkit.cosine(base, ratio * base, steps=n), steps=1)
    steps = range(n)  # (HF's cosine rises again after step n - 1; the named constructor follows it there)
    want = [base * sched.lr_lambdas[0](t) for t in steps]
    assert close([schedule(t) for t in steps], want, base).all()


# ---- every path: the reference rows of the new shapes through keras.ops (float64) -----------------------
NEW = ("one_minus_power", "shifted_exponential", "rex", "tanh", "inverse_power", "shift", "k_decay", "restarts",
       "warmup/1-sqrt", "warmup/log", "warmup/peak", "wsd/1-square", "wsd/shifted", "stairs", "per_epoch")


def test_new_rows_under_keras_ops():
    """The laws run the numbers, numpy, compiled, torch and jax paths; this is Keras' (its namespace's own
    floor/minimum/where keep float64)."""
    keras = pytest.importorskip("keras")
    from reference import CASES
    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        cases = [c for c in CASES if c.id.startswith(NEW)]
        assert len(cases) >= 20
        for case in cases:
            steps = np.array(case.steps, dtype=np.float64)
            got = np.asarray(case.schedule(keras.ops.convert_to_tensor(steps, dtype="float64"), xp=keras.ops))
            assert close(got, case.expected, max(case.expected)).all(), (case.id, got, case.expected)
    finally:
        keras.config.set_floatx(previous)
