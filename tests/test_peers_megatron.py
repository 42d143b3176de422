"""lrkit.peers.megatron (Megatron-LM's OptimizerParamScheduler by its own arguments) against the installed
megatron-core 0.16.1 (``pip install --no-deps megatron-core``; ``megatron.core.optimizer_param_scheduler``
imports on CPU).

The real scheduler is built on a torch optimizer (it only reads and writes ``param_groups``) and stepped
one ``num_steps`` at a time; the LR and weight decay it writes at ``num_steps = k`` are the peer's values at
step k, over 600 steps for seeded random configs of every decay style (WSD with every cooldown) and every
weight-decay increment style: 1e-12 relative, or 4 ulps of ``max_lr`` (``end_wd``): Megatron's
``init + (max - init) * k / W`` and ``min + coeff * delta`` round differently from lrkit's forms.
"""
import pytest

import lrkit
from lrkit.peers import megatron as peers
from test_parity_frameworks import assert_matches, lr_value, rng_for, ulps

STEPS = 600
N = 10


@pytest.fixture(scope="module")
def mg():
    pytest.importorskip("torch")
    return pytest.importorskip("megatron.core.optimizer_param_scheduler")


def megatron_values(mg, kwargs, n=STEPS):
    import torch
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=1.0)
    sched = mg.OptimizerParamScheduler(opt, use_checkpoint_opt_param_scheduler=True, **kwargs)
    lrs, wds = [], []
    for k in range(n):
        if k:
            sched.step(1)
        lrs.append(opt.param_groups[0]["lr"])
        wds.append(opt.param_groups[0]["weight_decay"])
    return lrs, wds


def draw(rng, style, wsd_style=None, wd_style="constant"):
    top = lr_value(rng)
    decay = int(rng.integers(2, 500))
    kwargs = dict(init_lr=top * float(rng.choice([0.0, rng.uniform(0, 1)])), max_lr=top,
                  min_lr=top * float(rng.choice([0.0, rng.uniform(0, 0.5)])),
                  lr_warmup_steps=int(rng.integers(0, decay)), lr_decay_steps=decay, lr_decay_style=style,
                  start_wd=0.01, end_wd=0.01 if wd_style == "constant" else float(rng.uniform(0.01, 0.2)),
                  wd_incr_steps=int(rng.integers(1, 500)), wd_incr_style=wd_style)
    if style == "WSD":
        kwargs.update(wsd_decay_steps=int(rng.integers(1, decay + 1)), lr_wsd_decay_style=wsd_style)
        kwargs["wd_incr_style"], kwargs["end_wd"] = "constant", 0.01
    return kwargs


@pytest.mark.parametrize("style, wsd_style", [("constant", None), ("linear", None), ("cosine", None),
                                              ("inverse-square-root", None), ("WSD", "linear"), ("WSD", "cosine"),
                                              ("WSD", "exponential"), ("WSD", "minus_sqrt")])
def test_lr(mg, style, wsd_style):
    rng = rng_for(f"peer-megatron-{style}-{wsd_style}")
    for i in range(N):
        kwargs = draw(rng, style, wsd_style)
        if i == 0:
            kwargs["lr_warmup_steps"] = 0
        lrs, _ = megatron_values(mg, kwargs)
        assert_matches(peers.OptimizerParamScheduler(**kwargs), range(STEPS), lrs, f"{kwargs}",
                       atol=ulps(kwargs["max_lr"]))


@pytest.mark.parametrize("wd_style", ["constant", "linear", "cosine"])
def test_weight_decay(mg, wd_style):
    rng = rng_for(f"peer-megatron-wd-{wd_style}")
    for _ in range(N):
        kwargs = draw(rng, "cosine", wd_style=wd_style)
        _, wds = megatron_values(mg, kwargs)
        schedule = peers.OptimizerParamScheduler(**kwargs).weight_decay()
        assert schedule == peers.wd_schedule(kwargs["start_wd"], kwargs["end_wd"], kwargs["wd_incr_steps"], wd_style)
        assert_matches(schedule, range(STEPS), wds, f"{kwargs}", atol=ulps(kwargs["end_wd"]))


@pytest.mark.parametrize("call, message", [
    ("megatron.OptimizerParamScheduler(0.0, 1e-4, 1e-3, 10, 100, 'cosine')", r"max_lr must be >= min_lr"),
    ("megatron.OptimizerParamScheduler(1e-3, 1e-4, 0.0, 10, 100, 'cosine')", r"init_lr must be <= max_lr"),
    ("megatron.OptimizerParamScheduler(0.0, 1e-4, 0.0, 100, 100, 'cosine')", r"lr_warmup_steps must be < lr_decay"),
    ("megatron.OptimizerParamScheduler(0.0, 1e-4, 0.0, 10, 100, 'WSD')", r"needs wsd_decay_steps"),
    ("megatron.OptimizerParamScheduler(0.0, 1e-4, 0.0, 10, 100, 'WSD', wsd_decay_steps=10, "
     "lr_wsd_decay_style='sqrt')", r"lr_wsd_decay_style must be one of"),
    ("megatron.OptimizerParamScheduler(0.0, 1e-4, 0.0, 10, 100, 'poly')", r"lr_decay_style must be one of"),
    ("megatron.wd_schedule(0.1, 0.0, 10, 'linear')", r"end_wd must be >= start_wd"),
    ("megatron.wd_schedule(0.0, 0.1, 10, 'constant')", r"needs start_wd == end_wd"),
])
def test_bad_arguments_get_lrkits_error(call, message):
    with pytest.raises(lrkit.LrkitError, match=message):
        lrkit.parse(call)
