"""lrkit.peers.hf (transformers' schedules by their own names) against the installed transformers, float64.

Each row builds transformers' own scheduler (``get_*_schedule*`` or ``get_scheduler``) on a real torch
optimizer and reads the LR of each update as its ``LambdaLR`` computes it, ``base_lr * lr_lambda(k)``
(``test_get_scheduler`` steps the real scheduler with a real optimizer instead, tests/test_parity_frameworks.py's
``torch_lrs``); the peer built from the same arguments must give the same values over 600 to 3,000 steps
(past ``num_training_steps`` too), for seeded random configs: 1e-12 relative, and where transformers
computes ``1 + cos(x)`` or an interpolation through another order of operations, 4 ulps of the peak LR
(``assert_matches``' ``atol``; its docstring says why). A cosine that goes on for many periods computes
its angle ``x`` differently (transformers ``pi * 2c * p``, lrkit the phase within a period): each side's
angle is within an ulp or two of ``x``, which moves the value by ``lr / 2 * |sin| * ulp(x)``; there the
bound is 4 ulps of the peak times ``max(1, x)`` (``_angle_ulps``).
"""
import math

import numpy as np
import pytest

import lrkit
from lrkit.peers import hf
from test_parity_frameworks import assert_matches, lr_value, rng_for, torch_lrs, ulps

transformers = pytest.importorskip("transformers")
pytest.importorskip("torch")
N_CONFIGS = 10


def _warm_total(rng, i):
    """(warmup, total): a warmup of 0, a total at or below the warmup, and ordinary ones."""
    warm = 0 if i == 0 else int(rng.integers(1, 80))
    if i == 1:
        return warm, max(0, warm - int(rng.integers(0, 5)))
    return warm, warm + int(rng.integers(1, 400))


def hf_lrs(scheduler, n):
    """The LR of updates 0..n-1 as transformers' LambdaLR computes it: ``base_lr * lr_lambda(k)``."""
    base, rule = scheduler.base_lrs[0], scheduler.lr_lambdas[0]
    return [base * rule(k) for k in range(n)]


def _scheduler(make_hf, lr, kwargs):
    torch = pytest.importorskip("torch")
    return make_hf(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=lr), **kwargs)


def _angle_ulps(lr, kwargs, n):
    """4 ulps of ``lr`` times the largest cosine angle ``2 pi c p`` over ``n`` steps (at least 1)."""
    cycles = kwargs.get("num_cycles", 0.5)
    warm, total = kwargs.get("num_warmup_steps", 0), kwargs.get("num_training_steps") or 1
    return ulps(lr) * max(1.0, 2 * math.pi * cycles * n / max(1, total - warm))


def _check(name, make_hf, make_peer, draw, n_min=600):
    rng = rng_for(f"peer-{name}")
    for i in range(N_CONFIGS):
        lr = lr_value(rng)
        kwargs = draw(rng, i, lr)
        peer = make_peer(lr, **kwargs)
        n = min(max(n_min, int(peer.span()) + 100), 3000)
        ref = hf_lrs(_scheduler(make_hf, lr, kwargs), n)
        assert_matches(peer, range(n), ref, f"{name}({kwargs}) lr={lr}", atol=_angle_ulps(lr, kwargs, n))


def _with(rng, i, lr, **extra):
    warm, total = _warm_total(rng, i)
    return dict(num_warmup_steps=warm, num_training_steps=total, **extra)


def test_linear():
    _check("linear", transformers.get_linear_schedule_with_warmup, lambda lr, **k: hf.linear(lr=lr, **k), _with)


@pytest.mark.parametrize("cycles", [0.5, 0.25, 1.0, 1.5, 0.0, None])
def test_cosine(cycles):
    def draw(rng, i, lr):
        c = float(rng.uniform(0.1, 3.0)) if cycles is None else cycles
        return _with(rng, i, lr, num_cycles=c)
    _check(f"cosine-{cycles}", transformers.get_cosine_schedule_with_warmup,
           lambda lr, **k: hf.cosine(lr=lr, **k), draw, n_min=1500)


@pytest.mark.parametrize("cycles", [1, 2, 3, 0, 2.5])
def test_cosine_with_restarts(cycles):
    _check(f"restarts-{cycles}", transformers.get_cosine_with_hard_restarts_schedule_with_warmup,
           lambda lr, **k: hf.cosine_with_restarts(lr=lr, **k), lambda rng, i, lr: _with(rng, i, lr, num_cycles=cycles))


def test_polynomial():
    def draw(rng, i, lr):
        kwargs = _with(rng, i, lr, lr_end=lr * float(rng.uniform(0.0, 0.9)),
                       power=float(rng.choice([1.0, 2.0, 0.5, rng.uniform(0.2, 4.0)])))
        if kwargs["num_training_steps"] == kwargs["num_warmup_steps"]:
            kwargs["num_training_steps"] += 1
        return kwargs
    _check("polynomial", transformers.get_polynomial_decay_schedule_with_warmup,
           lambda lr, **k: hf.polynomial(lr=lr, **k), draw)


def test_constant_and_constant_with_warmup():
    _check("constant", transformers.get_constant_schedule, lambda lr: hf.constant(lr=lr), lambda rng, i, lr: {})
    _check("constant_with_warmup", transformers.get_constant_schedule_with_warmup,
           lambda lr, **k: hf.constant_with_warmup(lr=lr, **k),
           lambda rng, i, lr: {"num_warmup_steps": int(rng.integers(0, 300))})


def test_inverse_sqrt():
    def draw(rng, i, lr):
        timescale = None if i % 2 else int(rng.integers(1, 2000))
        return {"num_warmup_steps": 0 if i < 2 else int(rng.integers(1, 300)), "timescale": timescale}
    _check("inverse_sqrt", transformers.get_inverse_sqrt_schedule, lambda lr, **k: hf.inverse_sqrt(lr=lr, **k), draw)


@pytest.mark.parametrize("given", ["min_lr", "min_lr_rate"])
def test_cosine_with_min_lr(given):
    def draw(rng, i, lr):
        rate = float(rng.uniform(0.0, 0.9))
        low = {"min_lr": rate * lr} if given == "min_lr" else {"min_lr_rate": rate}
        return _with(rng, i, lr, num_cycles=float(rng.choice([0.5, rng.uniform(0.2, 2.0)])), **low)
    _check(f"cosine_with_min_lr-{given}", transformers.get_cosine_with_min_lr_schedule_with_warmup,
           lambda lr, **k: hf.cosine_with_min_lr(lr=lr, **k), draw, n_min=1200)


@pytest.mark.parametrize("given", ["min_lr", "min_lr_rate"])
@pytest.mark.parametrize("warmup_lr_rate", [None, "random"])
def test_cosine_warmup_with_min_lr(given, warmup_lr_rate):
    def draw(rng, i, lr):
        rate = float(rng.uniform(0.0, 0.9))
        low = {"min_lr": rate * lr} if given == "min_lr" else {"min_lr_rate": rate}
        start = None if warmup_lr_rate is None else float(rng.uniform(0.0, 1.0))
        return _with(rng, i, lr, num_cycles=float(rng.choice([0.5, rng.uniform(0.2, 2.0)])), warmup_lr_rate=start,
                     **low)
    _check(f"cosine_warmup_with_min_lr-{given}-{warmup_lr_rate}",
           transformers.get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
           lambda lr, **k: hf.cosine_warmup_with_min_lr(lr=lr, **k), draw, n_min=1200)


@pytest.mark.parametrize("warmup_type", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize("decay_type", ["linear", "cosine", "1-sqrt"])
def test_warmup_stable_decay(warmup_type, decay_type):
    def draw(rng, i, lr):
        warm, decay, stable = (0 if i == 0 else int(rng.integers(1, 100))), int(rng.integers(0 if i == 2 else 1, 200)), \
            int(rng.integers(0, 200))
        kwargs = dict(num_warmup_steps=warm, num_decay_steps=decay, warmup_type=warmup_type, decay_type=decay_type,
                      min_lr_ratio=0.0 if i % 3 == 0 else float(rng.uniform(0.0, 1.0)),
                      num_cycles=float(rng.choice([0.5, rng.uniform(0.1, 2.0)])))
        if i % 2:
            kwargs["num_stable_steps"] = stable
        else:
            kwargs["num_training_steps"] = warm + stable + decay
        return kwargs
    _check(f"wsd-{warmup_type}-{decay_type}", transformers.get_wsd_schedule,
           lambda lr, **k: hf.warmup_stable_decay(lr=lr, **k), draw)


@pytest.mark.parametrize("name", ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
                                  "constant_with_warmup", "inverse_sqrt", "cosine_with_min_lr",
                                  "cosine_warmup_with_min_lr", "warmup_stable_decay"])
def test_get_scheduler(name):
    """hf.get_scheduler(name, ...) equals transformers.get_scheduler(name, optimizer, ...), its
    scheduler_specific_kwargs included."""
    extra = {"cosine": {"num_cycles": 1.5}, "cosine_with_restarts": {"num_cycles": 3},
             "polynomial": {"lr_end": 1e-4, "power": 2.0}, "inverse_sqrt": {"timescale": 40},
             "cosine_with_min_lr": {"min_lr_rate": 0.1}, "cosine_warmup_with_min_lr": {"min_lr": 1e-3},
             "warmup_stable_decay": {"num_decay_steps": 50}}.get(name)
    lr = 0.01
    peer = hf.get_scheduler(name, num_warmup_steps=20, num_training_steps=300, scheduler_specific_kwargs=extra,
                            lr=lr)
    ref = torch_lrs(lambda o: transformers.get_scheduler(name, o, num_warmup_steps=20, num_training_steps=300,
                                                         scheduler_specific_kwargs=extra), lr, 600)
    assert_matches(peer, range(600), ref, f"get_scheduler({name!r})", atol=ulps(lr))
    assert type(peer) is hf.SCHEDULER_TYPES[name]


def test_scheduler_types_cover_transformers():
    """Every transformers SchedulerType has its name here (the installed transformers' list)."""
    names = {member.value for member in transformers.SchedulerType}
    assert names - set(hf.SCHEDULER_TYPES) == set()


def test_reduce_lr_on_plateau_is_torchs_rule():
    """hf.reduce_lr_on_plateau(...) decides as transformers' get_reduce_on_plateau_schedule (torch's
    ReduceLROnPlateau) does: the same LRs over a metric sequence with plateaus, rises and noise."""
    torch = pytest.importorskip("torch")
    rng = rng_for("hf-plateau")
    metrics = np.cumsum(rng.normal(0.0, 1.0, 300)) + np.repeat(rng.normal(0, 3, 30), 10)
    for kwargs in ({}, {"patience": 3, "factor": 0.5}, {"mode": "max", "threshold_mode": "abs", "threshold": 0.1,
                                                         "cooldown": 2, "min_lr": 1e-3, "patience": 1}):
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=0.1)
        ref = transformers.get_reduce_on_plateau_schedule(opt, **kwargs)
        ctl = hf.reduce_lr_on_plateau(**kwargs)
        state, lr = ctl.init(), 0.1
        for metric in metrics:
            ref.step(float(metric))
            before = state.reductions
            state = ctl.update(state, float(metric))
            if state.reductions > before:
                lr = ctl.reduce(lr)
            assert math.isclose(lr, opt.param_groups[0]["lr"], rel_tol=1e-12), kwargs


@pytest.mark.parametrize("seed", range(8))
def test_greedy_is_transformers_greedylr(seed):
    """hf.greedy(**kwargs) (lrkit.greedy with transformers' defaults and rule) raises and cuts the LRs of
    every param group as transformers.get_scheduler("greedy", ...) does over a random metric sequence."""
    torch = pytest.importorskip("torch")
    rng = rng_for(f"hf-greedy-{seed}")
    kwargs = {} if seed == 0 else dict(
        mode=str(rng.choice(["min", "max"])), factor=float(rng.uniform(0.3, 0.99)), patience=int(rng.integers(0, 4)),
        threshold=float(rng.choice([1e-6, 0.01])), threshold_mode=str(rng.choice(["abs", "rel"])),
        cooldown=int(rng.integers(0, 3)), warmup=int(rng.integers(0, 3)), min_lr=1e-3, max_lr=[1.0, 0.5],
        smooth=bool(rng.integers(0, 2)), window_size=int(rng.integers(1, 6)), reset_start=int(rng.integers(1, 6)))
    lrs = [0.1, 0.05]
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs], lr=lrs[0])
    ref = transformers.get_scheduler("greedy", opt, scheduler_specific_kwargs=kwargs)
    ctl = hf.get_scheduler("greedy", scheduler_specific_kwargs=kwargs)
    state = ctl.init(lrs)
    level, moves = 5.0, 0
    for k in range(400):
        level += float(rng.choice([-0.1, 0.1, 0.0])) + float(rng.normal(0, 0.05))
        ref.step(level)
        new = ctl.update(state, level)
        moves += new.lrs != state.lrs
        state = new
        assert list(state.lrs) == [g["lr"] for g in opt.param_groups], (kwargs, k)
    assert moves > 0


@pytest.mark.parametrize("call, message", [
    ("hf.polynomial(0, 100, lr_end=0.5, lr=0.1)", r"lr_end \(0.5\) must be smaller than initial lr \(0.1\)"),
    ("hf.polynomial(10, 10)", r"num_training_steps must differ from num_warmup_steps"),
    ("hf.cosine_with_min_lr(0, 100)", r"One of min_lr or min_lr_rate should be set"),
    ("hf.cosine_with_min_lr(0, 100, min_lr=0.1, min_lr_rate=0.1)", r"Only one of min_lr or min_lr_rate"),
    ("hf.warmup_stable_decay(10, 10)", r"Either num_training_steps or num_stable_steps"),
    ("hf.warmup_stable_decay(10, 10, 100, warmup_type='sqrt')", r"warmup_type must be one of .* got 'sqrt'"),
    ("hf.warmup_stable_decay(10, 10, 100, decay_type='exp')", r"decay_type must be one of .* got 'exp'"),
    ("hf.warmup_stable_decay(60, 60, 100)", r"must fit in num_training_steps"),
    ("hf.linear(-1, 100)", r"num_warmup_steps must be an integer >= 0, got -1"),
    ("hf.linear(1.5, 100)", r"num_warmup_steps must be an integer >= 0, got 1.5"),
    ("hf.cosine(0, 100, num_cycles=-1)", r"num_cycles must be >= 0, got -1"),
    ("hf.inverse_sqrt(10, timescale=0)", r"timescale must be > 0, got 0"),
    ("hf.get_scheduler('cosin', 1, 10)", r"name must be one of .* got 'cosin'"),
    ("hf.get_scheduler('cosine', num_training_steps=10)", r"cosine requires `num_warmup_steps`"),
    ("hf.get_scheduler('linear', num_warmup_steps=10)", r"linear requires `num_training_steps`"),
])
def test_bad_arguments_get_lrkits_error_naming_them(call, message):
    with pytest.raises(lrkit.LrkitError, match=message):
        lrkit.parse(call)


def test_transformers_own_validation_agrees():
    """Where the peer refuses an argument because transformers does, transformers refuses it too."""
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="must be smaller than initial lr"):
        transformers.get_polynomial_decay_schedule_with_warmup(opt, 0, 100, lr_end=0.5)
    with pytest.raises(ValueError, match="One of min_lr or min_lr_rate"):
        transformers.get_cosine_with_min_lr_schedule_with_warmup(opt, 0, 100)
    with pytest.raises(ValueError, match="Either num_training_steps or num_stable_steps"):
        transformers.get_wsd_schedule(opt, 10, 10)
    with pytest.raises(ValueError, match="requires `num_warmup_steps`"):
        transformers.get_scheduler("cosine", opt, num_training_steps=10)


def test_hf_lambdas_read_a_live_scheduler():
    """HF_LAMBDAS turns each lr_lambda of a live transformers LambdaLR (a functools.partial of a named
    function, with keywords) into the peer with the same values, for two param groups with different LRs."""
    torch = pytest.importorskip("torch")
    made = [
        lambda o: transformers.get_constant_schedule(o),
        lambda o: transformers.get_constant_schedule_with_warmup(o, 7),
        lambda o: transformers.get_linear_schedule_with_warmup(o, 10, 200),
        lambda o: transformers.get_cosine_schedule_with_warmup(o, 10, 200, num_cycles=1.5),
        lambda o: transformers.get_cosine_with_min_lr_schedule_with_warmup(o, 10, 200, min_lr_rate=0.2),
        lambda o: transformers.get_cosine_with_hard_restarts_schedule_with_warmup(o, 10, 200, num_cycles=3),
        lambda o: transformers.get_polynomial_decay_schedule_with_warmup(o, 10, 200, lr_end=1e-3, power=2.0),
        lambda o: transformers.get_inverse_sqrt_schedule(o, 10),
        lambda o: transformers.get_wsd_schedule(o, 10, 50, num_training_steps=200, decay_type="1-sqrt",
                                                min_lr_ratio=0.1),
    ]
    seen = set()
    for make in made:
        a, b = (torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2))
        opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.03}], lr=0.1)
        scheduler = make(opt)
        for base, rule in zip(scheduler.base_lrs, scheduler.lr_lambdas):
            function = getattr(rule, "func", rule)
            seen.add(function.__name__)
            peer = hf.HF_LAMBDAS[function.__name__](getattr(rule, "keywords", {}), base)
            ref = [base * rule(k) for k in range(400)]
            assert_matches(peer, range(400), ref, f"{function.__name__} base_lr={base}", atol=ulps(base) * 20)
    assert seen <= set(hf.HF_LAMBDAS)


def test_show_and_describe_draw_the_run_not_the_periods_after_it():
    """transformers' cosines go on past num_training_steps (they never settle); the default run of show and
    describe is the training run, num_training_steps + 1 updates, not several periods."""
    from lrkit._describe import default_steps
    for spec in ("hf.cosine(num_warmup_steps=100, num_training_steps=1000)",
                 "hf.cosine_with_min_lr(num_warmup_steps=100, num_training_steps=1000, min_lr_rate=0.1)",
                 "hf.cosine_with_restarts(num_warmup_steps=10, num_training_steps=500, num_cycles=3)"):
        assert default_steps(lrkit.parse(spec)) == int(lrkit.parse(spec).num_training_steps) + 1, spec
