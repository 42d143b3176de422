"""lrkit.peers.deepspeed (DeepSpeed's LR schedules by their own names) against the installed DeepSpeed 0.19.8
(``pip install --no-deps deepspeed==0.19.8`` with ``DS_BUILD_OPS=0``, plus hjson, einops, msgpack; its
``deepspeed.runtime.lr_schedules`` imports on CPU without building ops).

Each scheduler is built on a real torch optimizer and stepped with ``step(k)``; the LR it writes into the
optimizer at ``last_batch_iteration = k`` is the peer's value at step k, over 600 steps for seeded random
configs: 1e-12 relative, or 4 ulps of the largest LR (DeepSpeed's ``min + delta * gamma`` and
``org_lr * ratio`` round differently from lrkit's ``start + (peak - start) * u``; ``1 + cos`` near pi).
"""
import json
import logging

import numpy as np
import pytest

import lrkit
from lrkit.peers import deepspeed as peers
from test_parity_frameworks import assert_matches, lr_value, rng_for, ulps

STEPS = 600
N = 12


@pytest.fixture(scope="module")
def ds():
    pytest.importorskip("torch")
    logging.getLogger("DeepSpeed").setLevel(logging.ERROR)
    return pytest.importorskip("deepspeed.runtime.lr_schedules")


def ds_values(make, lr, n=STEPS, key="lr"):
    """What the DeepSpeed scheduler ``make(optimizer)`` writes into an Adam group after ``step(k)``, k < n:
    its ``"lr"``, or ``"betas"`` (the pair)."""
    import torch
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=lr)
    sched = make(opt)
    out = []
    for k in range(n):
        sched.step(k)
        out.append(opt.param_groups[0][key])
    return out


def compare(ds, name, draw):
    rng = rng_for(f"peer-ds-{name}")
    for i in range(N):
        lr, kwargs, scale = draw(rng, i)
        ref = ds_values(lambda o: getattr(ds, name)(o, **kwargs), lr)
        extra = {"lr": lr} if name in ("WarmupLR", "WarmupCosineLR") else {}
        assert_matches(getattr(peers, name)(**kwargs, **extra), range(STEPS), ref, f"{name}({kwargs}) lr={lr}",
                       atol=ulps(scale))


def _warm(rng):
    return dict(warmup_num_steps=int(rng.integers(1, 300)), warmup_type=str(rng.choice(["log", "linear"])))


def test_warmup_lr(ds):
    def draw(rng, i):
        lr = lr_value(rng)
        kwargs = dict(warmup_min_lr=lr * float(rng.uniform(0, 0.5)), **_warm(rng))
        if i % 2:
            kwargs["warmup_max_lr"] = lr_value(rng)
        return lr, kwargs, max(lr, kwargs.get("warmup_max_lr", 0.0))
    compare(ds, "WarmupLR", draw)


def test_warmup_decay_lr(ds):
    def draw(rng, i):
        top = lr_value(rng)
        warm = _warm(rng)
        return 0.1, dict(total_num_steps=warm["warmup_num_steps"] + int(rng.integers(-20, 400)), warmup_max_lr=top,
                         warmup_min_lr=top * float(rng.uniform(0, 0.5)), **warm), top
    compare(ds, "WarmupDecayLR", draw)


def test_warmup_cosine_lr(ds):
    def draw(rng, i):
        lr, warm = lr_value(rng), _warm(rng)
        return lr, dict(total_num_steps=warm["warmup_num_steps"] + int(rng.integers(-20, 400)),
                        warmup_min_ratio=float(rng.uniform(0, 0.5)), cos_min_ratio=float(rng.choice([1e-4, 0.0, 0.1])),
                        **warm), lr
    compare(ds, "WarmupCosineLR", draw)


def test_one_cycle(ds):
    def draw(rng, i):
        low = lr_value(rng) * 0.1
        top = low * float(rng.uniform(2, 20))
        kwargs = dict(cycle_min_lr=low, cycle_max_lr=top, cycle_first_step_size=int(rng.integers(1, 200)),
                      decay_lr_rate=float(rng.choice([0.0, rng.uniform(0.001, 1.0)])),
                      decay_step_size=int(rng.choice([0, rng.integers(1, 50)])), cycle_momentum=bool(i % 2))
        if i % 3:
            kwargs["cycle_second_step_size"] = int(rng.integers(1, 200))
        return 0.1, kwargs, top
    compare(ds, "OneCycle", draw)


def test_lr_range_test(ds):
    def draw(rng, i):
        low = lr_value(rng)
        rate = float(rng.uniform(0.1, 10.0))
        return 0.1, dict(lr_range_test_min_lr=low, lr_range_test_step_size=int(rng.integers(1, 300)),
                         lr_range_test_step_rate=rate), low * (1 + rate * STEPS)
    compare(ds, "LRRangeTest", draw)


def test_lr_range_test_staircase(ds):
    """lr_range_test_staircase=True: DeepSpeed's floor((k + 1) / step_size), stair for stair."""
    def draw(rng, i):
        low = lr_value(rng)
        rate = float(rng.uniform(0.1, 10.0))
        return 0.1, dict(lr_range_test_min_lr=low, lr_range_test_step_size=int(rng.choice([1, 2, 3, rng.integers(1, 300)])),
                         lr_range_test_step_rate=rate, lr_range_test_staircase=True), low * (1 + rate * STEPS)
    compare(ds, "LRRangeTest", draw)


def _one_cycle_stairs(rng, i):
    """A OneCycle config with stair counts (either half, both, the second defaulting to the first), a decay
    (a tiny rate too: DeepSpeed skips it only for 0) and the momentum cycled (DeepSpeed cycles Adam's betas)."""
    low = lr_value(rng) * 0.1
    first = int(rng.integers(1, 200))
    kwargs = dict(cycle_min_lr=low, cycle_max_lr=low * float(rng.uniform(2, 20)), cycle_first_step_size=first,
                  cycle_first_stair_count=int(rng.choice([0, 1, 2, 3, rng.integers(1, 40), first])),
                  decay_lr_rate=float(rng.choice([0.0, 1e-10, rng.uniform(0.001, 1.0)])),
                  decay_mom_rate=float(rng.choice([0.0, 1e-10, rng.uniform(0.001, 1.0)])),
                  decay_step_size=int(rng.choice([0, rng.integers(1, 50)])),
                  cycle_min_mom=float(rng.uniform(0.5, 0.9)), cycle_max_mom=float(rng.uniform(0.85, 0.99)))
    if i % 3:
        kwargs["cycle_second_step_size"] = int(rng.integers(1, 200))
    if i % 4:
        kwargs["cycle_second_stair_count"] = int(rng.choice([0, 1, 2, rng.integers(1, 40)]))
    if i % 5 == 0:
        kwargs["cycle_first_step_size"] = float(first)  # DeepSpeed takes a float size too
    return kwargs


N_STAIRS = 40


def test_one_cycle_stairs_and_momentum(ds):
    """OneCycle with stair counts and its momentum, against DeepSpeed's own class on an Adam optimizer: the
    LR and betas[0] it writes at every last_batch_iteration k, over 600 steps (the cycle, its stairs, the
    decay after), 40 seeded random configs. 4 ulps of the largest value (DeepSpeed's ``min + (max - min) *
    scale`` rounds differently from lrkit's line), else 1e-12 relative."""
    rng = rng_for("peer-ds-OneCycle-stairs")
    seen_stairs = 0
    for i in range(N_STAIRS):
        kwargs = _one_cycle_stairs(rng, i)
        what = f"OneCycle({kwargs})"
        lrs = ds_values(lambda o: ds.OneCycle(o, **kwargs), 0.1)
        betas = ds_values(lambda o: ds.OneCycle(o, **kwargs), 0.1, key="betas")
        schedule = peers.OneCycle(**kwargs)
        assert_matches(schedule, range(STEPS), lrs, what, atol=ulps(kwargs["cycle_max_lr"]))
        assert_matches(schedule.momentum(), range(STEPS), [b[0] for b in betas], what + ".momentum()",
                       atol=ulps(max(b[0] for b in betas)))
        assert {b[1] for b in betas} == {0.99}, what  # DeepSpeed also sets beta2 to 0.99
        seen_stairs += len(set(lrs[:int(kwargs["cycle_first_step_size"])])) < kwargs["cycle_first_step_size"]
    assert seen_stairs >= N_STAIRS // 3  # (the configs do hold LRs on stairs)


def test_one_cycle_momentum_drives_an_optimizer_as_deepspeed(ds):
    """lrkit.torch.ScheduleLR with the peer's LR and momentum (beta2 0.99, as DeepSpeed writes it) gives
    update k the group values DeepSpeed's OneCycle writes at last_batch_iteration = k (the peer's step k)."""
    import torch
    from lrkit.torch import ScheduleLR
    kwargs = dict(cycle_min_lr=1e-4, cycle_max_lr=1e-3, cycle_first_step_size=30, cycle_second_step_size=20,
                  cycle_first_stair_count=4, cycle_second_stair_count=3, decay_lr_rate=0.5, decay_step_size=7,
                  decay_mom_rate=0.01, cycle_min_mom=0.85, cycle_max_mom=0.95)
    want = [(lr, b) for lr, b in zip(ds_values(lambda o: ds.OneCycle(o, **kwargs), 0.1, 120),
                                      ds_values(lambda o: ds.OneCycle(o, **kwargs), 0.1, 120, key="betas"))]
    s = peers.OneCycle(**kwargs)
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=0.1)
    sched = ScheduleLR(opt, s, beta1=s.momentum(), beta2="constant(0.99)")
    got = []
    for _ in range(120):
        got.append((opt.param_groups[0]["lr"], tuple(opt.param_groups[0]["betas"])))
        opt.step()
        sched.step()
    for k, ((lr, b), (glr, gb)) in enumerate(zip(want, got)):
        assert abs(lr - glr) <= ulps(1e-3) and abs(b[0] - gb[0]) <= 1e-12 * b[0] + ulps(1.0) and gb[1] == 0.99, (
            k, (lr, b), (glr, gb))


def test_from_ds_config(ds, tmp_path):
    """A DeepSpeed JSON config's scheduler block (and its optimizer LR) gives the same peer as the call."""
    config = {"optimizer": {"type": "AdamW", "params": {"lr": 3e-4}},
              "scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 500, "warmup_num_steps": 50,
                                                                 "warmup_type": "linear"}}}
    path = tmp_path / "ds_config.json"
    path.write_text(json.dumps(config))
    schedule = peers.from_ds_config(str(path))
    assert schedule == peers.WarmupCosineLR(500, warmup_num_steps=50, warmup_type="linear", lr=3e-4)
    ref = ds_values(lambda o: ds.WarmupCosineLR(o, **config["scheduler"]["params"]), 3e-4)
    assert_matches(schedule, range(STEPS), ref, "from_ds_config", atol=ulps(3e-4))
    assert peers.from_ds_config(config["scheduler"], lr=0.1) == peers.WarmupCosineLR(500, warmup_num_steps=50,
                                                                                    warmup_type="linear", lr=0.1)
    stepped = {"type": "OneCycle", "params": {"cycle_min_lr": 1e-4, "cycle_max_lr": 1e-3, "cycle_first_step_size": 40,
                                              "cycle_first_stair_count": 4, "cycle_second_stair_count": 0}}
    assert peers.from_ds_config({"scheduler": stepped}) == peers.OneCycle(
        1e-4, 1e-3, cycle_first_step_size=40, cycle_first_stair_count=4, cycle_second_stair_count=0)
    assert_matches(peers.from_ds_config(stepped), range(STEPS),
                   ds_values(lambda o: ds.OneCycle(o, **stepped["params"]), 0.1), "from_ds_config stairs", atol=ulps(1e-3))
    with pytest.raises(lrkit.SpecError, match="scheduler type must be one of"):
        peers.from_ds_config({"scheduler": {"type": "Cosine", "params": {}}})
    with pytest.raises(lrkit.SpecError, match="cannot read the DeepSpeed config"):
        peers.from_ds_config(str(tmp_path / "missing.json"))
    with pytest.raises(lrkit.SpecError, match="WarmupLR params"):
        peers.from_ds_config({"type": "WarmupLR", "params": {"warmup_steps": 10}})


@pytest.mark.parametrize("call, message", [
    ("deepspeed.WarmupLR(warmup_num_steps=0)", r"warmup_num_steps must be a positive integer, got 0"),
    ("deepspeed.WarmupLR(warmup_type='exp')", r"warmup_type must be one of 'log', 'linear', got 'exp'"),
    ("deepspeed.OneCycle(0.0, 0.1, cycle_first_step_size=0)", r"cycle_first_step_size must be positive"),
    ("deepspeed.OneCycle(0.0, 0.1, cycle_first_stair_count=-1)", r"cycle_first_stair_count must be an integer >= 0"),
    ("deepspeed.OneCycle(0.0, 0.1, cycle_second_stair_count=2.5)", r"cycle_second_stair_count must be an integer"),
    ("deepspeed.OneCycleMomentum(0.0, 0.1, cycle_momentum=False)", r"cycle_momentum=False: .* leaves the momentum"),
    ("deepspeed.OneCycleMomentum(0.0, 0.1, cycle_min_mom=-0.1)", r"cycle_min_mom must be >= 0, got -0.1"),
    ("deepspeed.OneCycleMomentum(0.0, 0.1, decay_mom_rate=-1.0)", r"decay_mom_rate must be >= 0"),
    ("deepspeed.LRRangeTest(lr_range_test_step_size=0)", r"lr_range_test_step_size must be a positive integer"),
    ("deepspeed.LRRangeTest(lr_range_test_staircase=1)", r"lr_range_test_staircase must be True or False"),
])
def test_bad_arguments_get_lrkits_error(call, message):
    with pytest.raises(lrkit.LrkitError, match=message):
        lrkit.parse(call)
