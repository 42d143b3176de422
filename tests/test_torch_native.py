"""lrkit.torch.ScheduleLR, the native adapter: absolute values or multipliers of each group's initial value,
one schedule or one per group, any hyperparameter, epochs and gradient accumulation, tensor LRs, state and
resume, the step-order check, bad input."""
import os
import tempfile

from test_torch_support import K, T, copy, is_plain, lrs_of, pytest, save_load, torch, value, warnings

import lrkit
from lrkit._plateau import plateau  # exported as lrkit.plateau by the package


def _groups(*lrs, opt="sgd", **extra):
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr} for lr in lrs]
    if opt == "sgd":
        return torch.optim.SGD(groups, lr=0.1, momentum=0.9, weight_decay=1e-4, **extra)
    return torch.optim.AdamW(groups, lr=0.1, **extra)


def _run(opt, sched, n, key="lr"):
    out = []
    for _ in range(n):
        out.append([value(g[key]) if key != "beta1" else value(g["betas"][0]) for g in opt.param_groups])
        opt.step()
        sched.step()
    return out


def test_one_absolute_schedule_for_every_group():
    s = lrkit.warmup(lrkit.cosine(3e-4, 0.0, steps=90), steps=10)
    opt = _groups(0.1, 0.01)
    sched = K.ScheduleLR(opt, s)
    for k, row in enumerate(_run(opt, sched, 120)):
        assert row == [s(k), s(k)]
    assert sched.schedules["lr"] == [lrkit.mul(s, 1.0)] * 2
    assert sched.get_last_lr() == [s(120), s(120)]


def test_the_seeds_case_one_shape_for_groups_with_different_lrs():
    """Two groups at 0.1 and 0.01, one schedule as a multiplier (``relative=True``): each group is the
    core's ``schedule * initial_lr`` bit for bit, and torch's LambdaLR with the same factor agrees."""
    shape = lrkit.cosine(1.0, 0.0, steps=90)
    opt = _groups(0.1, 0.01)
    sched = K.ScheduleLR(opt, shape, relative=True)
    opt_t = _groups(0.1, 0.01)
    sched_t = T.LambdaLR(opt_t, lambda e: shape(e))
    for k in range(100):
        assert lrs_of(opt) == [(shape * 0.1)(k), (shape * 0.01)(k)] == lrs_of(opt_t)
        opt.step()
        opt_t.step()
        sched.step()
        sched_t.step()
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.01]


def test_one_schedule_per_group_and_groups_left_alone():
    opt = _groups(0.1, 0.01, 0.5)
    a, b = lrkit.step_decay(0.1, period=3), lrkit.parse("linear(0.01, 0.0, steps=10)")
    sched = K.ScheduleLR(opt, [a, "linear(0.01, 0.0, steps=10)", None])
    for k, row in enumerate(_run(opt, sched, 15)):
        assert row == [a(k), b(k), 0.5]


def test_momentum_betas_and_weight_decay():
    opt = _groups(0.1, 0.2)
    m, wd = lrkit.cosine(0.95, 0.85, steps=20), lrkit.linear(1e-4, 1e-2, steps=20)
    sched = K.ScheduleLR(opt, "constant(0.1)", momentum=m, weight_decay=wd)
    for k in range(25):
        for g in opt.param_groups:
            assert (g["lr"], g["momentum"], g["weight_decay"]) == (0.1, m(k), wd(k))
        opt.step()
        sched.step()
    adam = _groups(1e-3, 1e-3, opt="adam", betas=(torch.tensor(0.9), torch.tensor(0.999)))
    b1, b2 = lrkit.linear(0.95, 0.85, steps=10), lrkit.constant(0.98)
    beta_tensors = [g["betas"][0] for g in adam.param_groups]
    sched = K.ScheduleLR(adam, beta1=b1, beta2=b2)
    for k in range(12):
        for g, t in zip(adam.param_groups, beta_tensors):
            assert g["betas"][0] is t and t.item() == pytest.approx(b1(k), rel=1e-7)
            assert g["betas"][1].item() == pytest.approx(0.98, rel=1e-7)
            assert g["lr"] == 1e-3  # no LR schedule: the LR is left alone
        adam.step()
        sched.step()
    assert sched.schedules["beta1"][0](3) == pytest.approx(b1(3))
    sgd = _groups(0.1)
    sched = K.ScheduleLR(sgd, beta1=None, momentum=None, hyperparams={"dampening": "linear(0.0, 0.5, steps=2)"})
    assert [row[0] for row in _run(sgd, sched, 4, key="dampening")] == [0.0, 0.25, 0.5, 0.5]


def test_relative_hyperparameters_multiply_the_initial_values():
    opt = _groups(0.1, 0.2)
    opt.param_groups[1]["weight_decay"] = 1e-2
    sched = K.ScheduleLR(opt, weight_decay="linear(1.0, 0.0, steps=4)", relative=True)
    rows = _run(opt, sched, 6, key="weight_decay")
    assert rows == [[1e-4 * f, 1e-2 * f] for f in (1.0, 0.75, 0.5, 0.25, 0.0, 0.0)]
    assert [g["initial_weight_decay"] for g in opt.param_groups] == [1e-4, 1e-2]


def test_schedule_in_epochs_stepped_every_batch():
    """``steps_per_epoch=5``: a StepLR-like schedule written in epochs (period 2 epochs) changes at
    update 10, 20, ...; a cosine in epochs is evaluated at fractional epochs k / 5."""
    opt = _groups(0.1)
    s = lrkit.step_decay(0.1, period=2, gamma=0.5)
    sched = K.ScheduleLR(opt, s, steps_per_epoch=5)
    rows = _run(opt, sched, 31)
    assert [r[0] for r in rows] == [s(k / 5) for k in range(31)]
    assert rows[9][0] == 0.1 and rows[10][0] == 0.05 and rows[30][0] == 0.0125
    opt = _groups(0.1)
    c = lrkit.cosine(0.1, 0.0, steps=3)
    sched = K.ScheduleLR(opt, c, steps_per_epoch=4)
    assert [r[0] for r in _run(opt, sched, 14)] == [c(k / 4) for k in range(14)]


def test_gradient_accumulation_counts_optimizer_updates():
    """``accumulation_steps=4``: step() every micro-batch, the LR moves once per 4 calls (one update)."""
    opt = _groups(0.1)
    s = lrkit.linear(0.1, 0.0, steps=5)
    sched = K.ScheduleLR(opt, s, accumulation_steps=4)
    seen = []
    for micro in range(24):
        seen.append(opt.param_groups[0]["lr"])
        if micro % 4 == 3:
            opt.step()
        sched.step()
    assert seen == [s(m // 4) for m in range(24)]
    assert sched.last_epoch == 6


def test_tensor_lr_for_compile():
    opt = _groups(0.1, 0.01)
    sched = K.ScheduleLR(opt, "cosine(1.0, 0.0, steps=10)", relative=True, tensor_lr=True)
    tensors = [g["lr"] for g in opt.param_groups]
    assert all(isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.ndim == 0 for t in tensors)
    for k in range(12):
        assert [g["lr"] for g in opt.param_groups] == tensors  # the same objects, filled in place
        assert [t.item() for t in tensors] == pytest.approx([0.1 * lrkit.cosine(1.0, 0.0, steps=10)(k),
                                                             0.01 * lrkit.cosine(1.0, 0.0, steps=10)(k)], rel=1e-7)
        opt.step()
        sched.step()
    assert all(isinstance(v, torch.Tensor) and v is not t for v, t in zip(sched.get_last_lr(), tensors))
    opt = _groups(0.1)
    K.ScheduleLR(opt, "constant(0.1)", tensor_lr=torch.float64)
    assert opt.param_groups[0]["lr"].dtype == torch.float64


def test_state_dict_resume_is_bitwise_and_order_independent():
    def make(o):
        return K.ScheduleLR(o, "warmup(cosine(1.0, 0.01, steps=50), steps=7)", momentum="linear(0.95, 0.85, steps=30)",
                            relative=True, accumulation_steps=3, steps_per_epoch=4)
    opt = _groups(0.1, 0.01)
    sched = make(opt)
    for _ in range(40):
        opt.step()
        sched.step()
    state = save_load(sched.state_dict())
    assert is_plain(state)
    frozen = copy.deepcopy(state)
    opt_state = copy.deepcopy(opt.state_dict())
    reference = []
    for _ in range(60):
        opt.step()
        sched.step()
        reference.append((lrs_of(opt), [g["momentum"] for g in opt.param_groups]))
    for order in "AB":
        o = _groups(0.1, 0.01)
        if order == "A":
            s = make(o)
            o.load_state_dict(copy.deepcopy(opt_state))
        else:
            o.load_state_dict(copy.deepcopy(opt_state))
            s = make(o)
        s.load_state_dict(state)
        assert state == frozen
        trace = []
        for _ in range(60):
            o.step()
            s.step()
            trace.append((lrs_of(o), [g["momentum"] for g in o.param_groups]))
        assert trace == reference, order


def test_step_order_check_without_wrapping_optimizer_step():
    opt = _groups(0.1)
    step = opt.step
    sched = K.ScheduleLR(opt, "exponential(0.1, 0.9)")
    assert opt.step == step and not hasattr(opt.step, "_wrapped_by_lr_sched")
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`"):
        sched.step()
    opt = _groups(0.1)
    sched = K.ScheduleLR(opt, "exponential(0.1, 0.9)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.step()
            sched.step()
    # GradScaler skipping the first step (inf gradients) is not a wrong order
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    sched = K.ScheduleLR(opt, "exponential(0.1, 0.9)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(3):
            opt.zero_grad()
            scaler.scale(model(torch.ones(1, 2)).sum() * (float("inf") if i == 0 else 1.0)).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()


def test_seed_hand_edit_table():
    """The seed's section 2.2.0: ``p['lr'] *= 0.9`` for every group at each epoch divisible by 5 (SGD, lr
    0.1), y recorded after the edit. ScheduleLR with ``step_decay(0.09, period=5, gamma=0.9)`` gives the
    same 100 values (to 1e-12, and every printed digit)."""
    opt_t = torch.optim.SGD(params=[torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    y = []
    for epoch in range(100):
        if epoch % 5 == 0:
            for p in opt_t.param_groups:
                p["lr"] *= 0.9
        y.append(opt_t.state_dict()["param_groups"][0]["lr"])
    opt = torch.optim.SGD(params=[torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    sched = K.ScheduleLR(opt, lrkit.step_decay(0.09, period=5, gamma=0.9))
    mine = []
    for epoch in range(100):
        mine.append(opt.state_dict()["param_groups"][0]["lr"])
        opt.step()
        sched.step()
    for a, b in zip(y, mine):
        assert abs(a - b) <= 1e-12 * a and "%f" % a == "%f" % b


def test_report_in_a_one_rank_process_group_goes_through_the_reduction():
    import torch.distributed as dist
    path = os.path.join(tempfile.mkdtemp(), "store")
    dist.init_process_group("gloo", init_method=f"file://{path}", rank=0, world_size=1)
    try:
        opt = _groups(0.1)
        sched = K.ScheduleLR(opt, "constant(0.1)", plateau=plateau(patience=0, factor=0.5))
        sched.report(torch.tensor(1.0))
        sched.report(2.0)
        assert opt.param_groups[0]["lr"] == 0.05
    finally:
        dist.destroy_process_group()


BAD_NATIVE = [
    ("nothing to schedule", lambda: K.ScheduleLR(_groups(0.1)), ValueError),
    ("not a schedule", lambda: K.ScheduleLR(_groups(0.1), 0.1), TypeError),
    ("bad spec", lambda: K.ScheduleLR(_groups(0.1), "cosine(0.1, steps=)"), ValueError),
    ("unknown schedule in spec", lambda: K.ScheduleLR(_groups(0.1), "__import__('os')"), ValueError),
    ("list length", lambda: K.ScheduleLR(_groups(0.1, 0.2), ["constant(0.1)"]), ValueError),
    ("momentum on AdamW", lambda: K.ScheduleLR(_groups(0.1, opt="adam"), momentum="constant(0.9)"), ValueError),
    ("beta1 on SGD", lambda: K.ScheduleLR(_groups(0.1), beta1="constant(0.9)"), ValueError),
    ("unknown group key", lambda: K.ScheduleLR(_groups(0.1), hyperparams={"nesterov_lr": "constant(1.0)"}), ValueError),
    ("relative not bool", lambda: K.ScheduleLR(_groups(0.1), "constant(1.0)", relative=1), TypeError),
    ("steps_per_epoch 0", lambda: K.ScheduleLR(_groups(0.1), "constant(1.0)", steps_per_epoch=0), ValueError),
    ("accumulation 0", lambda: K.ScheduleLR(_groups(0.1), "constant(1.0)", accumulation_steps=0), ValueError),
    ("accumulation 1.5", lambda: K.ScheduleLR(_groups(0.1), "constant(1.0)", accumulation_steps=1.5), ValueError),
    ("plateau not a plateau", lambda: K.ScheduleLR(_groups(0.1), "constant(1.0)", plateau="plateau()"), TypeError),
    ("plateau without lr", lambda: K.ScheduleLR(_groups(0.1), momentum="constant(0.9)", plateau=plateau()), ValueError),
    ("tensor_lr int dtype", lambda: K.ScheduleLR(_groups(0.1), "constant(1.0)", tensor_lr=torch.int64), TypeError),
    ("not an optimizer", lambda: K.ScheduleLR(None, "constant(1.0)"), TypeError),
]


@pytest.mark.parametrize("case", BAD_NATIVE, ids=[c[0] for c in BAD_NATIVE])
def test_bad_input_native(case):
    _, build, error = case
    with pytest.raises(error) as info:
        build()
    if "optimizer" not in case[0]:
        assert isinstance(info.value, lrkit.LrkitError)


def test_report_and_step_misuse():
    sched = K.ScheduleLR(_groups(0.1), "constant(0.1)")
    with pytest.raises(lrkit.LrkitError, match="plateau"):
        sched.report(1.0)
    with pytest.raises(TypeError):
        sched.step(3)
