"""``ScheduleLR(on_device=True)``: the same values as the float path from a step counter on the device, one
fused write, no host sync and no tensor made from a Python number per step, resume, hand edits.

On CPU only: the GPU check (values on CUDA and the count of host-device copies from the profiler) is
``bench/gpu_check.py``, never required here.
"""
import math

import numpy as np
from test_torch_support import K, make_optimizer, pytest, quiet, save_load, torch
from torch.profiler import ProfilerActivity, profile

import lrkit
from lrkit._errors import LrkitError

SCHEDULES = {
    "warmup cosine": lrkit.warmup(lrkit.cosine(1.0, 0.01, steps=60), steps=10),
    "sequence": lrkit.sequence([lrkit.constant(1.0), lrkit.linear(1.0, 0.1, steps=20),
                                lrkit.exponential(0.1, 0.97)], boundaries=[5, 25]),
    "multistep (a lookup table)": lrkit.multistep(1.0, milestones=list(range(3, 60, 5)), gamma=0.8),
    "restarts": lrkit.cosine_restarts(1.0, 0.0, period=7, period_mult=2),
    "one_cycle": lrkit.one_cycle(1.0, steps=80),
    "polynomial": lrkit.polynomial(1.0, 0.0, steps=50, power=2.0),
}
STEPS = 90


def _pair(schedule, dtype, n=3, **kwargs):
    """Two optimizers with ``n`` groups of tensor LRs: one on the float path, one on the device path."""
    opts = [make_optimizer(lrs=[0.1 * (1 + i) for i in range(n)], tensor=[True] * n, dtype=dtype) for _ in range(2)]
    with quiet():
        float_path = K.ScheduleLR(opts[0], schedule, **kwargs)
        device = K.ScheduleLR(opts[1], schedule, on_device=True, **kwargs)
    return opts, float_path, device


def _lrs(opt):
    return [float(g["lr"]) for g in opt.param_groups]


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("relative", [False, True])
def test_same_values_as_the_float_path_float64(name, relative):
    (a, b), sa, sb = _pair(SCHEDULES[name], torch.float64, relative=relative)
    for k in range(STEPS):
        for x, y in zip(_lrs(a), _lrs(b)):
            assert abs(x - y) <= 1e-12 * abs(x), (name, k, x, y)
        a.step(), b.step(), sa.step(), sb.step()
    assert sb.last_epoch == sa.last_epoch == STEPS


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_same_values_as_the_float_path_float32(name):
    """float32 LRs: the float path rounds a Python float into the tensor, the device path rounds its float64
    value in the copy: equal, or one float32 ulp apart where the float64 values differ in their last bits."""
    (a, b), sa, sb = _pair(SCHEDULES[name], torch.float32, relative=True)
    for k in range(STEPS):
        for x, y in zip(a.param_groups, b.param_groups):
            x, y = x["lr"], y["lr"]
            assert x.dtype == y.dtype == torch.float32
            assert abs(float(x) - float(y)) <= float(torch.finfo(torch.float32).eps) * abs(float(x)), (name, k)
        a.step(), b.step(), sa.step(), sb.step()


def test_time_in_epochs_accumulation_and_per_group_schedules():
    per_group = [lrkit.cosine(0.1, 0.0, steps=12), None, lrkit.linear(0.2, 0.05, steps=9)]
    (a, b), sa, sb = _pair(per_group, torch.float64, steps_per_epoch=3, accumulation_steps=2)
    left_alone = b.param_groups[1]["lr"]
    for k in range(70):
        for x, y in zip(_lrs(a), _lrs(b)):
            assert abs(x - y) <= 1e-12 * abs(x), (k, x, y)
        a.step(), b.step(), sa.step(), sb.step()
    assert b.param_groups[1]["lr"] is left_alone and float(left_alone) == pytest.approx(0.2)


def test_plateau_stage_matches_the_float_path():
    ctl = lrkit.plateau(patience=1, factor=0.5, min_lr=(0.004, 0.0, 0.05))
    (a, b), sa, sb = _pair(lrkit.warmup(lrkit.constant(1.0), steps=4), torch.float64, relative=True,
                           plateau=ctl, plateau_start=4)
    metrics = [3.0, 2.0, 2.5, 2.6, 2.7, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5]
    for k in range(40):
        for x, y in zip(_lrs(a), _lrs(b)):
            assert abs(x - y) <= 1e-12 * abs(x), (k, x, y)
        a.step(), b.step(), sa.step(), sb.step()
        if k % 3 == 2:
            m = metrics[(k // 3) % len(metrics)]
            sa.report(m), sb.report(m)
    assert sb.plateau_state.reductions == sa.plateau_state.reductions >= 2


def test_one_write_no_sync_and_no_number_made_a_tensor_per_step():
    """What makes a step graph-capturable: no ``item`` (a host sync), no tensor built from a Python number
    (``lift_fresh``/``scalar_tensor``: a host-to-device copy on a GPU), no ``fill_`` per group; the groups
    are written by a single ``copy_`` whatever their number."""
    counts = {}
    for n in (1, 50):
        opt = make_optimizer(lrs=[0.1] * n, tensor=[False] * n)
        sched = K.ScheduleLR(opt, lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=100), steps=10), relative=True,
                             on_device=True)
        opt.step()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(5):
                sched.step()
        names = [e.name for e in prof.events()]
        for bad in ("aten::item", "aten::_local_scalar_dense", "aten::lift_fresh", "aten::scalar_tensor",
                    "aten::fill_"):
            assert bad not in names, (n, bad)
        counts[n] = names.count("aten::copy_")
        assert all(isinstance(g["lr"], torch.Tensor) and g["lr"].dim() == 0 for g in opt.param_groups)
    assert counts[1] == counts[50] <= 2 * 5, counts  # (the same write at 1 group as at 50: no op per group)


def test_resume_restores_the_step_counter_and_the_values():
    s = lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=50), steps=5)
    opt = make_optimizer(lrs=[0.1, 0.2], tensor=[True, True])
    sched = K.ScheduleLR(opt, s, relative=True, on_device=True)
    for _ in range(17):
        opt.step(), sched.step()
    state = save_load(sched.state_dict())
    assert state["last_epoch"] == 17 and state["_last_lr"] == pytest.approx([0.1 * s(17), 0.2 * s(17)], rel=1e-7)
    opt2 = make_optimizer(lrs=[0.1, 0.2], tensor=[True, True])
    fresh = K.ScheduleLR(opt2, s, relative=True, on_device=True)
    fresh.load_state_dict(state)
    assert fresh._device.step_on_device() == 17
    assert _lrs(opt2) == pytest.approx(_lrs(opt), rel=1e-7)
    for _ in range(5):
        opt.step(), sched.step(), opt2.step(), fresh.step()
        assert _lrs(opt2) == _lrs(opt)
    bad = dict(state, last_epoch=-7)
    with pytest.raises(LrkitError):
        fresh.load_state_dict(bad)
    assert fresh._device.step_on_device() == 22 and _lrs(opt2) == _lrs(opt)  # a rejected load changes nothing


def test_state_dict_reads_the_device_counter():
    """A captured graph's replays advance only the device counter: state_dict() reads it (one sync)."""
    opt = make_optimizer(lrs=[0.1], tensor=[True])
    sched = K.ScheduleLR(opt, lrkit.exponential(1.0, 0.9), relative=True, on_device=True)
    device = sched._device
    for _ in range(4):  # what a replay does: the device ops only, not the Python around them
        device.advance(opt.param_groups)
    assert sched.last_epoch == 0
    assert sched.state_dict()["last_epoch"] == 4 and sched.last_epoch == 4
    assert float(opt.param_groups[0]["lr"]) == pytest.approx(0.1 * 0.9 ** 4, rel=1e-6)


def test_hand_edits_are_overwritten_and_replaced_tensors_relinked():
    s = lrkit.linear(1.0, 0.5, steps=10)
    opt = make_optimizer(lrs=[0.1, 0.2], tensor=[True, True])
    sched = K.ScheduleLR(opt, s, relative=True, on_device=True)
    opt.step(), sched.step()
    opt.param_groups[0]["lr"].fill_(123.0)  # an edit in place: the schedule owns the LR, the next step overwrites it
    opt.step(), sched.step()
    assert float(opt.param_groups[0]["lr"]) == pytest.approx(0.1 * s(2), rel=1e-6)
    saved = opt.state_dict()
    opt.load_state_dict(saved)  # new group dicts with new tensors: linked again at the next step
    opt.step(), sched.step()
    assert opt.param_groups[0]["lr"] is sched._device.views[0]
    assert _lrs(opt) == pytest.approx([0.1 * s(3), 0.2 * s(3)], rel=1e-6)


def test_refusals_at_construction():
    opt = make_optimizer(kind="adam", lrs=[0.1], tensor=[True])
    with pytest.raises(LrkitError, match="on_device=True drives the LR only"):
        K.ScheduleLR(opt, "constant(0.1)", beta1="constant(0.9)", on_device=True)
    mixed = make_optimizer(lrs=[0.1, 0.2], tensor=[True, True])
    mixed.param_groups[1]["lr"] = torch.tensor(0.2, dtype=torch.float32)
    with pytest.raises(LrkitError, match="one op"):
        K.ScheduleLR(mixed, "constant(0.1)", on_device=True)
    with pytest.raises(LrkitError, match="on_device"):
        K.ScheduleLR(make_optimizer(lrs=[0.1], tensor=[True]), "constant(0.1)", on_device="yes")
    with pytest.raises(LrkitError):  # a running product cannot be a tensor formula: said at construction
        K.ScheduleLR(make_optimizer(lrs=[0.1], tensor=[True]), lrkit.multiplicative(lambda k: 0.9),
                     on_device=True)


def test_closed_form_jump():
    s = lrkit.cosine(1.0, 0.0, steps=40)
    opt = make_optimizer(lrs=[0.1], tensor=[True])
    sched = K.ScheduleLR(opt, s, relative=True, on_device=True)
    with quiet():
        sched.step(None)
        sched._update_lr(25)
    assert math.isclose(float(opt.param_groups[0]["lr"]), 0.1 * s(25), rel_tol=1e-12)
    assert sched.state_dict()["last_epoch"] == 25
    assert np.isfinite(sched.get_last_lr()[0].item())


@pytest.mark.parametrize("make", [
    lambda o: K.ScheduleLR(o, lrkit.cosine(1.0, 0.0, steps=20), relative=True, tensor_lr=torch.float64),
    lambda o: K.CosineAnnealingLR(o, T_max=20),
], ids=["ScheduleLR tensor_lr", "CosineAnnealingLR on tensor LRs"])
def test_the_tensor_path_writes_into_tensors_that_replaced_its_own(make):
    """The tensor path (``TensorGroups``) fills the tensors it filled last; after ``optimizer.load_state_dict``
    (Accelerate's prepare does one) the groups hold new tensors, and those get the next values."""
    opts = [make_optimizer(lrs=[0.1, 0.2], tensor=[True, True]) for _ in range(2)]
    with quiet():
        scheds = [make(o) for o in opts]
    for _ in range(3):
        for o, s in zip(opts, scheds):
            o.step(), s.step()
    old = opts[1].param_groups[0]["lr"]
    opts[1].load_state_dict(opts[1].state_dict())
    assert opts[1].param_groups[0]["lr"] is not old  # (new tensors: what the test is about)
    for _ in range(4):
        for o, s in zip(opts, scheds):
            o.step(), s.step()
        assert _lrs(opts[1]) == _lrs(opts[0])
