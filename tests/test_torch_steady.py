"""The steady step of one tensor LR (``lrkit.torch._steady.one_tensor_step``) does what
``Hyperparameter.advance`` does: every drop-in that steps through it and ``ScheduleLR``, on one param group
holding a 0-dim tensor LR, run a seeded script of steps, hand edits (in place, of the same value too),
replaced tensors, python floats and reloads, once as shipped and once with the steady step turned off.
The LRs, ``get_last_lr()``, ``last_epoch`` and the final ``state_dict()`` are equal bit for bit (the
same arithmetic computes both sides), and the run as shipped took the steady step. Against torch itself:
the chainable drop-ins on one tensor group with hand edits, within the chain's rounding."""
import collections
import contextlib

from test_torch_dropins import CHAINABLE, _config
from test_torch_support import K, T, assert_groups_match, copy, make_optimizer, pytest, quiet, random, torch, value

import lrkit
import lrkit.torch._schedule_lr as schedule_lr_module
import lrkit.torch._scheduler as scheduler_module
from lrkit import LrkitValueError
from lrkit.torch import _steady

STEPS = 150

#: drop-ins whose step() goes through ``LRScheduler.step`` with the LR alone (no momentum cycled)
DROP_INS = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
            "PolynomialLR", "CosineAnnealingLR", "CyclicLR", "OneCycleLR"]

SHAPE = lrkit.warmup(lrkit.cosine(1.0, 0.01, steps=90), steps=10)
NATIVE = {
    "absolute": lambda o: K.ScheduleLR(o, lrkit.warmup(lrkit.cosine(0.3, 0.0, steps=90), steps=10)),
    "relative, tensor_lr": lambda o: K.ScheduleLR(o, SHAPE, relative=True, tensor_lr=True),
    "steps held (step_decay)": lambda o: K.ScheduleLR(o, lrkit.step_decay(1.0, period=7, gamma=0.5), relative=True),
    "steps_per_epoch": lambda o: K.ScheduleLR(o, SHAPE, relative=True, steps_per_epoch=3),
    "accumulation_steps": lambda o: K.ScheduleLR(o, SHAPE, relative=True, accumulation_steps=2),
    "reaches 0": lambda o: K.ScheduleLR(o, lrkit.linear(0.3, 0.0, steps=40)),
}


def _one_group(name, kwargs):
    """A drop-in's random configuration for one param group (per-group lists cut to their first entry)."""
    one = {k: v[0] if isinstance(v, list) and k != "milestones" else v for k, v in kwargs.items()}
    if name in ("CyclicLR", "OneCycleLR"):
        one["cycle_momentum"] = False  # (a cycled momentum is a second hyperparameter: the general step)
    return one


@contextlib.contextmanager
def steady(on):
    """The steady step as shipped (``on``: its answers counted) or turned off (every step: ``advance``)."""
    calls = collections.Counter()
    real = _steady.one_tensor_step

    def counted(h, groups, t):
        out = real(h, groups, t)
        calls[out] += 1
        return out

    def off(h, groups, t):
        calls["off"] += 1
        return None

    with pytest.MonkeyPatch.context() as patch:
        for module in (scheduler_module, schedule_lr_module):
            patch.setattr(module, "one_tensor_step", counted if on else off)
        yield calls


def random_edit(rng, opt, sched, i, dtype):
    """What may happen to param group ``i``'s LR between two steps (seeded): an edit in place (x1.0: a write of
    the same value, a new version), another tensor object (optimizer.load_state_dict, Accelerate's prepare; a
    group holding a python float takes it first), a python float, a checkpoint round trip, or nothing."""
    groups = opt.param_groups
    r = rng.random()
    if r < 0.06:
        if isinstance(groups[i]["lr"], torch.Tensor):
            groups[i]["lr"].mul_(rng.choice([0.5, 2.0, 1.0]))
    elif r < 0.09:
        i = next((j for j, g in enumerate(groups) if not isinstance(g["lr"], torch.Tensor)), i)
        groups[i]["lr"] = torch.tensor(value(groups[i]["lr"]) * rng.choice([1.0, 0.7]), dtype=dtype)
    elif r < 0.11:
        groups[i]["lr"] = value(groups[i]["lr"])
    elif r < 0.14:
        state = copy.deepcopy(sched.state_dict())
        with quiet():
            sched.load_state_dict(state)


def _script(make, seed, dtype, steps=STEPS):
    """A seeded run: each step, maybe an edit of the group's LR, then ``step()``; what the run saw."""
    rng = random.Random(seed)
    opt = make_optimizer(lrs=(0.3,), tensor=(True,), dtype=dtype)
    with quiet():
        sched = make(opt)
    opt.step()
    seen = []
    for _ in range(steps):
        random_edit(rng, opt, sched, 0, dtype)
        with quiet():
            sched.step()
        lr = opt.param_groups[0]["lr"]
        last = [value(x) for x in sched.get_last_lr()] if rng.random() < 0.3 else None
        seen.append((type(lr).__name__, value(lr), last, sched.last_epoch))
    state = sched.state_dict()
    seen.append({k: v for k, v in state.items() if k != "lr_lambdas"})
    return seen


def _both(make, seed, dtype):
    with steady(True) as on:
        shipped = _script(make, seed, dtype)
    with steady(False) as off:
        general = _script(make, seed, dtype)
    assert off["off"] > 0 and not off[True]
    return shipped, general, on


def _assert_same(shipped, general, where):
    for k, (a, b) in enumerate(zip(shipped, general)):
        assert a == b, f"{where}: step {k}: steady {a!r} != general {b!r}"
    assert len(shipped) == len(general)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", DROP_INS)
def test_drop_ins_steady_step_equals_the_general_step(name, dtype):
    kwargs = _one_group(name, _config(name, random.Random(5 + DROP_INS.index(name))))
    shipped, general, on = _both(lambda o: getattr(K, name)(o, **kwargs), 11, dtype)
    _assert_same(shipped, general, f"{name}{kwargs}")
    assert on[True] + on[False] >= 30, (name, on)  # (the steady step took its share: wrote, or had nothing to)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", sorted(NATIVE))
def test_schedule_lr_steady_step_equals_the_general_step(case, dtype):
    shipped, general, on = _both(NATIVE[case], 23, dtype)
    _assert_same(shipped, general, case)
    assert on[True] >= 2 and on[True] + on[False] >= 30, (case, on)
    if case == "steps held (step_decay)":
        assert on[False] >= 10, on  # (the unit value unchanged, the group untouched: nothing written)


@pytest.mark.parametrize("seed", range(3))
def test_swalr_steady_step_equals_the_general_step(seed):
    shipped, general, on = _both(lambda o: K.SWALR(o, swa_lr=0.05, anneal_epochs=40), seed, torch.float64)
    _assert_same(shipped, general, "SWALR")
    assert on[True] >= 2, on


@pytest.mark.parametrize("on", [True, False], ids=["steady", "general"])
def test_a_refused_value_names_the_step_and_writes_nothing(on):
    opt = make_optimizer(lrs=(0.3,), tensor=(True,))
    sched = K.LambdaLR(opt, lambda k: -1.0 if k == 5 else 1.0 / (k + 1))
    opt.step()
    with steady(on) as calls:
        for _ in range(4):
            sched.step()
        tensor, before = opt.param_groups[0]["lr"], opt.param_groups[0]["lr"].item()
        with pytest.raises(LrkitValueError, match=r"refusing to write lr=-0\.3 into param group 0 at step 5"):
            sched.step()
    assert opt.param_groups[0]["lr"] is tensor and tensor.item() == before and sched.last_epoch == 4
    assert calls[True if on else "off"] >= 4


@pytest.mark.parametrize("name", CHAINABLE)
def test_chainable_drop_ins_on_one_tensor_group_follow_torch_through_hand_edits(name):
    """torch's chain goes on from an edited tensor LR; lrkit rebases there, through the steady step between
    the edits (float64 tensors: torch's chain rounds once per step, hence 1e-11)."""
    kwargs = _one_group(name, _config(name, random.Random(31 + CHAINABLE.index(name))))
    rng = random.Random(7)
    opt_t = make_optimizer(lrs=(0.3,), tensor=(True,))
    opt_k = make_optimizer(lrs=(0.3,), tensor=(True,))
    sched_t, sched_k = getattr(T, name)(opt_t, **kwargs), getattr(K, name)(opt_k, **kwargs)
    with steady(True) as on:
        for k in range(STEPS):
            assert_groups_match(opt_t, opt_k, f"{name}{kwargs} step {k}", rel=1e-11)
            if rng.random() < 0.05:
                factor = rng.choice([0.5, 3.0])
                opt_t.param_groups[0]["lr"].mul_(factor)
                opt_k.param_groups[0]["lr"].mul_(factor)
            opt_t.step()
            opt_k.step()
            with quiet():
                sched_t.step()
                sched_k.step()
    assert on[True] + on[False] >= 1, on  # (after an edit the steady step resumes at the next write)
