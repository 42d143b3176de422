"""Every peer name (lrkit.peers) works in Python, in spec strings, in configs and on the command line.

``EXAMPLES`` holds one spec per registered peer name (aliases included); a name without a row fails
``test_every_peer_name_has_an_example``. Each example must parse, equal the Python call it spells,
show the peer's own call as its repr, round-trip through ``to_config``/``from_config`` and JSON, answer
``lrkit show`` and ``lrkit describe``, and evaluate like its ``.expanded`` lrkit schedule. The values
themselves are checked against the real libraries in tests/test_peers_<library>.py.
"""
import json

import numpy as np
import pytest

import lrkit
from lrkit import cli, peers
from lrkit._base import PEERS

EXAMPLES = {
    # transformers
    "hf.linear": "hf.linear(num_warmup_steps=10, num_training_steps=100, lr=0.1)",
    "hf.get_linear_schedule_with_warmup": "hf.get_linear_schedule_with_warmup(10, 100)",
    "hf.cosine": "hf.cosine(num_warmup_steps=10, num_training_steps=100, num_cycles=1.5)",
    "hf.get_cosine_schedule_with_warmup": "hf.get_cosine_schedule_with_warmup(10, 100)",
    "hf.cosine_with_restarts": "hf.cosine_with_restarts(10, 100, num_cycles=3)",
    "hf.get_cosine_with_hard_restarts_schedule_with_warmup":
        "hf.get_cosine_with_hard_restarts_schedule_with_warmup(0, 100, num_cycles=2)",
    "hf.polynomial": "hf.polynomial(10, 100, lr_end=1e-4, power=2.0, lr=0.1)",
    "hf.get_polynomial_decay_schedule_with_warmup": "hf.get_polynomial_decay_schedule_with_warmup(10, 100)",
    "hf.constant": "hf.constant(lr=0.1)",
    "hf.get_constant_schedule": "hf.get_constant_schedule()",
    "hf.constant_with_warmup": "hf.constant_with_warmup(10, lr=0.1)",
    "hf.get_constant_schedule_with_warmup": "hf.get_constant_schedule_with_warmup(num_warmup_steps=10)",
    "hf.inverse_sqrt": "hf.inverse_sqrt(10, timescale=50)",
    "hf.get_inverse_sqrt_schedule": "hf.get_inverse_sqrt_schedule(10)",
    "hf.cosine_with_min_lr": "hf.cosine_with_min_lr(num_warmup_steps=100, num_training_steps=1000, min_lr_rate=0.1)",
    "hf.get_cosine_with_min_lr_schedule_with_warmup":
        "hf.get_cosine_with_min_lr_schedule_with_warmup(10, 100, min_lr=0.01, lr=0.1)",
    "hf.cosine_warmup_with_min_lr": "hf.cosine_warmup_with_min_lr(10, 100, min_lr_rate=0.05)",
    "hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate":
        "hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate(10, 100, min_lr=0.01, warmup_lr_rate=0.1, lr=0.1)",
    "hf.warmup_stable_decay": "hf.warmup_stable_decay(10, 20, num_training_steps=100, decay_type='1-sqrt')",
    "hf.get_wsd_schedule": "hf.get_wsd_schedule(10, 20, num_stable_steps=50, warmup_type='1-sqrt', min_lr_ratio=0.1)",
    "hf.get_scheduler": "hf.get_scheduler('cosine', num_warmup_steps=10, num_training_steps=100, "
                        "scheduler_specific_kwargs={'num_cycles': 1})",
    # timm
    "timm.cosine": "timm.cosine(100, lr_min=1e-5, cycle_mul=2.0, cycle_decay=0.5, cycle_limit=3, warmup_t=5, "
                   "warmup_lr_init=1e-6, k_decay=1.5, lr=0.1)",
    "timm.CosineLRScheduler": "timm.CosineLRScheduler(t_initial=50, warmup_t=5, warmup_prefix=True, lr=0.1)",
    "timm.tanh": "timm.tanh(100, lb=-6.0, ub=4.0, lr_min=1e-4, cycle_limit=2, lr=0.1)",
    "timm.TanhLRScheduler": "timm.TanhLRScheduler(100, warmup_t=10, lr=0.1)",
    "timm.poly": "timm.poly(100, power=2.0, warmup_t=5, noise_range_t=[20, 60], noise_pct=0.2, lr=0.1)",
    "timm.PolyLRScheduler": "timm.PolyLRScheduler(100, updates_per_epoch=50, lr=0.1)",
    "timm.step": "timm.step(2.5, decay_rate=0.5, warmup_t=3, lr=0.1)",
    "timm.StepLRScheduler": "timm.StepLRScheduler(30, decay_rate=0.1, lr=0.1)",
    "timm.multistep": "timm.multistep([30, 60, 90], decay_rate=0.1, lr=0.1)",
    "timm.MultiStepLRScheduler": "timm.MultiStepLRScheduler([10, 20], warmup_t=5, warmup_prefix=False, lr=0.1)",
    "timm.wsd": "timm.wsd(100, 20, lr_min=1e-5, decay_fn='exp', warmup_t=10, lr=0.1)",
    "timm.WSDLRScheduler": "timm.WSDLRScheduler(100, 20, stable_fn='power', stable_timescale=10.0, lr=0.1)",
    "timm.rsqrt": "timm.rsqrt(100, 20, warmup_t=10, lr=0.1)",
    "timm.constant": "timm.constant(warmup_t=5, warmup_lr_init=1e-5, lr=0.1)",
    "timm.create_scheduler_v2": "timm.create_scheduler_v2('cosine', num_epochs=30, warmup_epochs=3, "
                                "step_on_epochs=False, updates_per_epoch=10, lr=0.1)",
    # optax
    "optax.constant_schedule": "optax.constant_schedule(0.1)",
    "optax.linear_schedule": "optax.linear_schedule(0.1, 0.0, 1000, transition_begin=100)",
    "optax.polynomial_schedule": "optax.polynomial_schedule(0.1, 0.001, 2.0, 1000, transition_begin=50)",
    "optax.exponential_decay": "optax.exponential_decay(0.1, 100, 0.5, transition_begin=50, staircase=True, "
                               "end_value=0.001)",
    "optax.cosine_decay_schedule": "optax.cosine_decay_schedule(0.1, 1000, alpha=0.1, exponent=2.0)",
    "optax.warmup_constant_schedule": "optax.warmup_constant_schedule(0.0, 0.1, 100)",
    "optax.warmup_cosine_decay_schedule": "optax.warmup_cosine_decay_schedule(0.0, 0.1, 100, 1000, end_value=1e-4)",
    "optax.warmup_exponential_decay_schedule": "optax.warmup_exponential_decay_schedule(0.0, 0.1, 100, 50, 0.9, "
                                               "end_value=1e-3)",
    "optax.piecewise_constant_schedule": "optax.piecewise_constant_schedule(0.1, {300: 0.1, 600: 0.1})",
    "optax.piecewise_interpolate_schedule": "optax.piecewise_interpolate_schedule('cosine', 0.1, "
                                            "{100: 2.0, 600: 0.01})",
    "optax.linear_onecycle_schedule": "optax.linear_onecycle_schedule(1000, 0.1)",
    "optax.cosine_onecycle_schedule": "optax.cosine_onecycle_schedule(1000, 0.1, pct_start=0.25)",
    "optax.sgdr_schedule": "optax.sgdr_schedule([{'init_value': 0.0, 'peak_value': 0.1, 'warmup_steps': 10, "
                           "'decay_steps': 100}, {'init_value': 0.0, 'peak_value': 0.05, 'warmup_steps': 10, "
                           "'decay_steps': 200, 'end_value': 1e-4}])",
    "optax.join_schedules": "optax.join_schedules([optax.linear_schedule(0.0, 0.1, 100), "
                            "optax.cosine_decay_schedule(0.1, 900)], [100])",
    # Keras
    "keras.ExponentialDecay": "keras.ExponentialDecay(0.1, 100, 0.96, staircase=True)",
    "keras.PiecewiseConstantDecay": "keras.PiecewiseConstantDecay([100, 200], [0.1, 0.01, 0.001])",
    "keras.PolynomialDecay": "keras.PolynomialDecay(0.1, 1000, end_learning_rate=1e-4, power=2.0, cycle=True)",
    "keras.InverseTimeDecay": "keras.InverseTimeDecay(0.1, 100, 0.5)",
    "keras.CosineDecay": "keras.CosineDecay(0.0, 900, alpha=0.01, warmup_target=0.1, warmup_steps=100)",
    "keras.CosineDecayRestarts": "keras.CosineDecayRestarts(0.1, 100, t_mul=2.0, m_mul=0.8, alpha=0.01)",
    # DeepSpeed
    "deepspeed.WarmupLR": "deepspeed.WarmupLR(warmup_min_lr=0.0, warmup_max_lr=0.001, warmup_num_steps=100)",
    "deepspeed.WarmupDecayLR": "deepspeed.WarmupDecayLR(1000, warmup_max_lr=0.001, warmup_num_steps=100, "
                               "warmup_type='linear')",
    "deepspeed.WarmupCosineLR": "deepspeed.WarmupCosineLR(1000, warmup_num_steps=100, lr=0.001)",
    "deepspeed.OneCycle": "deepspeed.OneCycle(1e-4, 1e-3, cycle_first_step_size=200, decay_lr_rate=0.1, "
                          "decay_step_size=50)",
    "deepspeed.OneCycleMomentum": "deepspeed.OneCycleMomentum(1e-4, 1e-3, cycle_first_step_size=200, "
                                  "cycle_first_stair_count=4, decay_step_size=50, decay_mom_rate=0.01)",
    "deepspeed.LRRangeTest": "deepspeed.LRRangeTest(lr_range_test_min_lr=1e-4, lr_range_test_step_size=100)",
    # Megatron-LM
    "megatron.OptimizerParamScheduler": "megatron.OptimizerParamScheduler(0.0, 3e-4, 3e-5, 100, 1000, 'WSD', "
                                        "wsd_decay_steps=200, lr_wsd_decay_style='exponential')",
    "megatron.wd_schedule": "megatron.wd_schedule(0.01, 0.1, 1000, 'cosine')",
    # OLMo-core
    "olmo.WSD": "olmo.WSD(warmup=100, decay=200, decay_fraction=None, t_max=1000, lr=3e-4)",
    "olmo.PowerLR": "olmo.PowerLR(warmup=100, t_max=1000, lr=3e-4)",
    "olmo.CosWithWarmup": "olmo.CosWithWarmup(warmup_fraction=0.1, t_max=1000, lr=3e-4)",
    "olmo.LinearWithWarmup": "olmo.LinearWithWarmup(alpha_f=0.0, t_max=1000, warmup=100, lr=3e-4)",
    "olmo.InvSqrtWithWarmup": "olmo.InvSqrtWithWarmup(warmup=100, lr=3e-4)",
}

#: Peer names that give a controller, not a schedule (Python only: a spec describes a schedule).
CONTROLLERS = {"hf.reduce_lr_on_plateau": "hf.reduce_lr_on_plateau(patience=3)",
               "hf.get_reduce_on_plateau_schedule": "hf.get_reduce_on_plateau_schedule()",
               "hf.greedy": "hf.greedy(factor=0.5)", "hf.get_greedy_schedule": "hf.get_greedy_schedule()",
               "timm.plateau": "timm.plateau(patience_t=3)", "timm.PlateauLRScheduler": "timm.PlateauLRScheduler()"}


def test_every_peer_name_has_an_example():
    missing = sorted(set(PEERS) - set(EXAMPLES) - set(CONTROLLERS))
    assert not missing, f"add a row to EXAMPLES for {missing}"
    assert not sorted(set(EXAMPLES) - set(PEERS)), "an example names no registered peer"


def _python(name):
    """The Python object for a dotted peer name: lrkit.peers.<prefix>.<name>."""
    prefix, attr = name.split(".", 1)
    return getattr(getattr(peers, prefix), attr)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_spec_python_config_agree(name):
    spec = EXAMPLES[name]
    schedule = lrkit.parse(spec)
    assert isinstance(schedule, lrkit.Schedule)
    assert _python(name) is PEERS[name]
    prefix = name.split(".")[0]
    python = eval(spec, {prefix: getattr(peers, prefix)})  # the same call in Python (a test-only eval)
    assert python == schedule
    assert repr(schedule).startswith(f"{type(schedule).__name__}(")
    assert type(schedule).__name__.startswith(prefix + ".")
    assert lrkit.parse(repr(schedule)) == schedule            # the repr is a valid spec
    config = json.loads(json.dumps(schedule.to_config()))
    assert config["name"] == type(schedule).__name__
    assert lrkit.from_config(config) == schedule
    steps = np.arange(0, max(2, int(min(schedule.span(), 5000))))
    np.testing.assert_array_equal(schedule(steps), schedule.expanded(steps))
    assert "." not in type(schedule.expanded).__name__        # expanded: lrkit's own shapes


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_cli_show_and_describe(name, capsys):
    spec = EXAMPLES[name]
    assert cli.main(["show", spec]) == 0
    shown = " ".join(capsys.readouterr().out.split())  # (show wraps a long repr)
    assert repr(lrkit.parse(spec)) in shown
    assert cli.main(["describe", spec]) == 0
    assert "phases" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(CONTROLLERS))
def test_controllers_are_python_only(name):
    prefix = name.split(".")[0]
    controller = eval(CONTROLLERS[name], {prefix: getattr(peers, prefix)})
    assert hasattr(controller, "update") and hasattr(controller, "init")
    with pytest.raises(lrkit.SpecError, match="spec must describe a schedule"):
        lrkit.parse(CONTROLLERS[name])
    with pytest.raises(lrkit.SpecError, match=rf"gives a {type(controller).__name__} controller, whose LR follows"):
        lrkit.parse(CONTROLLERS[name])


@pytest.mark.parametrize("spec, message", [
    ("tf.cosine(1)", r"unknown library prefix 'tf' .* known: .*hf"),
    ("hf.cosin(1, 2)", r"unknown hf name 'cosin'; known hf names: .*cosine"),
    ("hf.cosine.x(1)", r"only plain schedule names can be called, or one library prefix"),
    ("os.system('x')", r"unknown library prefix 'os'"),
    ("hf.__class__(1)", r"unknown hf name '__class__'"),
])
def test_unknown_peer_names_get_lrkits_error(spec, message):
    with pytest.raises(lrkit.SpecError, match=message):
        lrkit.parse(spec)


def test_unknown_peer_in_config():
    with pytest.raises(lrkit.SpecError, match=r"unknown hf name 'nope'"):
        lrkit.from_config({"name": "hf.nope"})
    with pytest.raises(lrkit.SpecError, match=r"is a function that builds a schedule"):
        lrkit.from_config({"name": "hf.get_scheduler", "name_": 1})  # a function is not a config class
