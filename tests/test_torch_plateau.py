"""The plateau controller (lrkit.plateau, framework-free) and lrkit.torch.ReduceLROnPlateau against torch's
ReduceLROnPlateau: decisions, LRs (bit for bit: both multiply the current LR by ``factor``), the NaN/inf
rule, state, the cases of torch's own suite, the seed's table, and the plateau as a stage of ScheduleLR
(warmup then plateau, plateau after a schedule, under a floor), which torch's SequentialLR refuses.
"""
from test_torch_support import (K, T, copy, is_plain, lrs_of, make_optimizer, math, pytest, quiet, random,
                                save_load, torch, value)

import lrkit
from lrkit._plateau import PlateauState, plateau
import seed_tables  # noqa: E402 (tests/ is on sys.path: tests/conftest.py)


# =================================================================================================
# the controller alone
# =================================================================================================
def test_controller_is_a_value_and_update_is_pure():
    ctl = plateau(factor=0.5, patience=1)
    assert ctl == plateau(factor=0.5, patience=1) and hash(ctl) == hash(plateau(factor=0.5, patience=1))
    state = ctl.init()
    assert state == PlateauState(best=math.inf)
    after = ctl.update(state, 1.0)
    assert state == PlateauState(best=math.inf) and after.best == 1.0 and after.epochs == 1
    assert plateau.from_config(ctl.to_config()) == ctl
    assert PlateauState.from_dict(after.to_dict()) == after
    assert is_plain(after.to_dict()) and is_plain(ctl.to_config())


def test_controller_decisions_by_hand():
    """patience=2, cooldown=1, threshold 0.1 abs, mode min: improvements reset, a cooldown epoch does not
    count as bad, a reduction every patience + 1 bad epochs."""
    ctl = plateau(patience=2, cooldown=1, threshold=0.1, threshold_mode="abs")
    state = ctl.init()
    seen = []
    for metric in [1.0, 0.95, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]:
        state = ctl.update(state, metric)
        seen.append((state.best, state.bad_epochs, state.cooldown_left, state.reductions))
    assert seen == [(1.0, 0, 0, 0), (1.0, 1, 0, 0), (1.0, 2, 0, 0), (1.0, 0, 1, 1), (1.0, 0, 0, 1),
                    (0.8, 0, 0, 1), (0.8, 1, 0, 1), (0.8, 2, 0, 1), (0.8, 0, 1, 2), (0.8, 0, 0, 2),
                    (0.8, 1, 0, 2)]


def test_improvement_test_is_torchs_is_better():
    """The one improvement test (is_better, update and its fast path all use it) decides as torch's
    ReduceLROnPlateau (``_is_better`` in torch 2.13, ``is_better`` before), bool for bool, across signs,
    zeros, infinities and thresholds >= 1."""
    numbers = [-math.inf, -2.5, -1.0, -1e-300, -0.0, 0.0, 1e-300, 0.9999, 1.0, 1.0001, 2.5, math.inf]
    opt = make_optimizer("sgd")
    for mode in ("min", "max"):
        for threshold_mode in ("rel", "abs"):
            for threshold in (0.0, 1e-4, 0.5, 1.0, 2.0):
                # (threshold_rule="torch": lrkit.plateau's own relative margin, threshold * |best|, differs for
                # a negative best; tests/test_plateau_rule.py compares it with torch)
                ctl = plateau(mode=mode, threshold_mode=threshold_mode, threshold=threshold, nonfinite="bad",
                              threshold_rule="torch")
                ref = T.ReduceLROnPlateau(opt, mode=mode, threshold_mode=threshold_mode, threshold=threshold)
                torch_is_better = getattr(ref, "_is_better", None) or ref.is_better
                for best in numbers:
                    for metric in numbers:
                        want = torch_is_better(metric, best)
                        assert ctl.is_better(metric, best) is want, (mode, threshold_mode, threshold, metric, best)
                        if math.isfinite(metric):  # update (its closure) and the general method decide alike
                            for step in (ctl.update, plateau.update.__get__(ctl)):
                                after = step(PlateauState(best=best, bad_epochs=1), metric)
                                assert (after.bad_epochs == 0) is want, (mode, threshold_mode, threshold, metric, best)


def test_nonfinite_rule():
    """The explicit NaN/inf rule: "raise" (the controller's default), "bad" (an epoch without improvement:
    never a new best), "ignore" (the call is skipped)."""
    with pytest.raises(lrkit.LrkitValueError, match="metric must be finite, got nan"):
        plateau().update(plateau().init(), float("nan"))
    for bad in (float("nan"), float("inf"), -float("inf")):
        ctl = plateau(nonfinite="bad", patience=0)
        state = ctl.update(ctl.update(ctl.init(), 1.0), bad)
        assert state.best == 1.0 and state.reductions == 1
        ctl = plateau(nonfinite="ignore")
        first = ctl.update(ctl.init(), 1.0)
        assert ctl.update(first, bad) is first
    with pytest.raises(lrkit.LrkitValueError):
        plateau(nonfinite="sometimes")


def test_reduce_and_apply():
    ctl = plateau(factor=0.5, min_lr=(0.3, 0.0), eps=1e-3)
    assert ctl.reduce(1.0, group=0) == 0.5 and ctl.reduce(0.5, group=0) == 0.3 and ctl.reduce(0.3, group=0) == 0.3
    assert ctl.reduce(0.0015, group=1) == 0.0015  # the change (0.00075) is below eps: kept
    state = PlateauState(best=0.0, reductions=3)
    assert ctl.scale(state) == 0.125
    assert ctl.apply(1.0, state, group=0) == 0.3  # stops at the floor
    assert ctl.apply(0.1, state, group=0) == 0.1  # a schedule already below the floor is left alone
    assert ctl.apply(1.0, state, group=1) == 0.125


@pytest.mark.parametrize("bad", [dict(factor=1.0), dict(factor=-0.1), dict(factor=float("nan")), dict(patience=-1),
                                 dict(patience=1.5), dict(cooldown=-2), dict(threshold=-1e-4), dict(mode="mean"),
                                 dict(threshold_mode="pct"), dict(min_lr=-1.0), dict(min_lr=[]), dict(eps=-1.0)])
def test_controller_rejects_bad_rules(bad):
    with pytest.raises(lrkit.LrkitError):
        plateau(**bad)


# =================================================================================================
# the drop-in against torch
# =================================================================================================
def _metrics(rng, n):
    """Plateaus, slow improvements, noise and jumps."""
    out, x = [], rng.uniform(1.0, 10.0)
    for _ in range(n):
        r = rng.random()
        if r < 0.3:
            x *= rng.uniform(0.9, 0.999)
        elif r < 0.4:
            x *= rng.uniform(1.0, 1.2)
        out.append(round(x, rng.choice([2, 3, 6])) if rng.random() < 0.5 else x)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_random_configs_match_torch(seed):
    rng = random.Random(seed)
    kwargs = {"mode": rng.choice(["min", "max"]), "factor": rng.choice([0.1, 0.5, 0.3, 0.0]),
              "patience": rng.randint(0, 4), "threshold": rng.choice([0.0, 1e-4, 0.01, 0.1]),
              "threshold_mode": rng.choice(["rel", "abs"]), "cooldown": rng.randint(0, 3),
              "min_lr": rng.choice([0.0, 1e-4, [1e-3, 1e-5]]), "eps": rng.choice([1e-8, 1e-3, 0.0])}
    opt_t, opt_k = make_optimizer("adam"), make_optimizer("adam")
    sched_t, sched_k = T.ReduceLROnPlateau(opt_t, **kwargs), K.ReduceLROnPlateau(opt_k, **kwargs)
    metrics = _metrics(rng, 300)
    if kwargs["mode"] == "max":
        metrics = [-m for m in metrics]
    for k, m in enumerate(metrics):
        opt_t.step()
        opt_k.step()
        sched_t.step(m)
        sched_k.step(m)
        assert lrs_of(opt_t) == lrs_of(opt_k), (kwargs, k)
        assert [type(g["lr"]) for g in opt_t.param_groups] == [type(g["lr"]) for g in opt_k.param_groups]
        for name in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch"):
            assert getattr(sched_t, name) == getattr(sched_k, name), (name, k)
        assert [value(v) for v in sched_t.get_last_lr()] == [value(v) for v in sched_k.get_last_lr()]


def test_nonfinite_metrics_in_the_drop_in():
    """nonfinite="bad" (the drop-in's default) is torch's behaviour for NaN and +inf in mode "min"; for
    -inf torch records a best nothing can beat (then cuts the LR every patience + 1 epochs), lrkit does not
    let a non-finite value become the best (a deliberate difference)."""
    runs = {}
    for M in (T, K):
        for metrics in ([1.0, float("nan"), float("nan"), 0.9, float("inf"), float("inf")],
                        [1.0, -float("inf"), 0.5, 0.4, 0.3, 0.2]):
            opt = make_optimizer()
            sched = M.ReduceLROnPlateau(opt, patience=1)
            trace = []
            for m in metrics:
                sched.step(m)
                trace.append((lrs_of(opt), sched.best))
            runs[(M, metrics[1] != metrics[1])] = trace
    assert runs[(T, True)] == runs[(K, True)]  # NaN and +inf: the same
    assert runs[(T, False)][-1][1] == -math.inf and runs[(T, False)][-1][0] != lrs_of(make_optimizer())
    assert runs[(K, False)][-1][1] == 0.2 and runs[(K, False)][-1][0] == lrs_of(make_optimizer())
    sched = K.ReduceLROnPlateau(make_optimizer(), nonfinite="raise")
    with pytest.raises(ValueError, match="finite"):
        sched.step(float("nan"))


def _suite_opt():
    opt = make_optimizer("sgd", (0.5, 0.5))
    return opt


PLATEAU_CASES = {
    "1": (dict(threshold_mode="abs", mode="min", threshold=0.01, patience=5, cooldown=5), [10 - i * 0.0167 for i in range(20)]),
    "2": (dict(patience=5, cooldown=0, threshold_mode="abs", mode="min", threshold=0.1), [10 - i * 0.0165 for i in range(22)]),
    "3": (dict(mode="max", patience=5, cooldown=5, threshold_mode="abs"), [-0.8] * 2 + [-0.234] * 20),
    "4": (dict(mode="max", patience=3, threshold_mode="rel", threshold=0.1), [1.5 * (1.025 ** i) for i in range(20)]),
    "5": (dict(mode="max", threshold_mode="rel", threshold=0.1, patience=5, cooldown=5), [1.5 * (1.005 ** i) for i in range(20)]),
    "6": (dict(mode="min", threshold_mode="rel", threshold=0.1), [1.5 * (0.85 ** i) for i in range(20)]),
    "7": (dict(mode="min", threshold_mode="rel", threshold=0.1, patience=5, cooldown=5), [1] * 7 + [0.6] + [0.5] * 12),
    "8": (dict(mode="max", threshold_mode="rel", min_lr=[0.4, 0.3], threshold=0.1, patience=5, cooldown=5), [1.5 * (1.005 ** i) for i in range(20)]),
}

COMPOUND = {  # torch's test_compound_reduce_lr_on_plateau1..5: a plateau and a scheduler on one optimizer
    "step": (PLATEAU_CASES["1"], lambda M, o: M.StepLR(o, gamma=0.1, step_size=3)),
    "multistep": (PLATEAU_CASES["2"], lambda M, o: M.MultiStepLR(o, gamma=0.1, milestones=[3, 8, 12])),
    "exp": (PLATEAU_CASES["3"], lambda M, o: M.ExponentialLR(o, gamma=0.1)),
    "cosine": ((dict(mode="max", patience=3, threshold_mode="rel", threshold=0.1), [1.5 * (1.025 ** i) for i in range(20)]),
               lambda M, o: M.CosineAnnealingLR(o, 10, 1e-10)),
    "linear": (PLATEAU_CASES["2"], lambda M, o: M.LinearLR(o, start_factor=0.4, total_iters=4)),
    "cosine_long_with_reductions": ((dict(patience=2, factor=0.5), [1.0] * 80), lambda M, o: M.CosineAnnealingLR(o, 17, 1e-4)),
}


@pytest.mark.parametrize("case", sorted(PLATEAU_CASES))
def test_torch_suite_plateau_cases(case):
    kwargs, metrics = PLATEAU_CASES[case]
    traces = []
    for M in (T, K):
        opt = _suite_opt()
        sched = M.ReduceLROnPlateau(opt, **kwargs)
        trace = []
        for m in metrics:
            opt.step()
            sched.step(m)
            trace.append(lrs_of(opt))
        traces.append(trace)
    assert traces[0] == traces[1]


@pytest.mark.parametrize("case", sorted(COMPOUND))
def test_torch_suite_compound_plateau_cases(case):
    (kwargs, metrics), make = COMPOUND[case]
    traces = []
    for M in (T, K):
        opt = _suite_opt()
        with quiet():
            schedulers = [M.ReduceLROnPlateau(opt, **kwargs), make(M, opt)]
        trace = []
        for m in metrics:
            opt.step()
            schedulers[0].step(m)
            schedulers[1].step()
            trace.append(lrs_of(opt))
        traces.append(trace)
    for k, (a, b) in enumerate(zip(*traces)):
        assert a == pytest.approx(b, rel=1e-12), (case, k)


@pytest.mark.parametrize("min_lr", ["scalar", "list"])
def test_add_param_group_as_torch(min_lr):
    results = []
    for M in (T, K):
        opt = _suite_opt()
        sched = M.ReduceLROnPlateau(opt, mode="min", threshold_mode="rel", threshold=0.1, patience=5, cooldown=5,
                                    min_lr=0 if min_lr == "scalar" else [1e-5, 1e-4])
        trace = []
        for epoch, m in enumerate([1] * 7 + [0.6] + [0.5] * 12):
            if epoch == 8:
                opt.add_param_group({"params": [torch.nn.Parameter(torch.rand(2, 3))], "lr": 0.05})
                if min_lr == "list":
                    sched.min_lrs.append(1e-6)
            opt.step()
            sched.step(m)
            trace.append(lrs_of(opt))
        results.append(trace)
    assert results[0] == results[1]
    for M in (T, K):
        opt = _suite_opt()
        sched = M.ReduceLROnPlateau(opt, threshold=1e-5, patience=0, min_lr=[1e-5, 1e-4])
        opt.add_param_group({"params": [torch.nn.Parameter(torch.rand(2, 3))], "lr": 0.05})
        sched.step(1)
        with pytest.raises(RuntimeError, match="The number of param groups in the"):
            sched.step(1.3)


def test_tensor_lrs_stay_tensors():
    """torch's test_reduce_lr_on_plateau_preserves_lr_type."""
    opt = make_optimizer()
    types = [type(g["lr"]) for g in opt.param_groups]
    tensor = opt.param_groups[1]["lr"]
    sched = K.ReduceLROnPlateau(opt, mode="min", patience=0)
    sched.step(1.0)
    sched.step(2.0)
    assert [type(g["lr"]) for g in opt.param_groups] == types and opt.param_groups[1]["lr"] is tensor
    assert tensor.item() == pytest.approx(0.05)


def test_state_dict_plain_weights_only_not_mutated_and_from_torch():
    opt = make_optimizer()
    sched = K.ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=2)
    for score in [1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 5.0, 3.0, 2.0, 1.0]:
        sched.step(score)
    state = save_load(sched.state_dict())
    assert is_plain(state) and state == sched.state_dict()
    frozen = copy.deepcopy(state)
    other = K.ReduceLROnPlateau(make_optimizer(), mode="max", factor=0.5, patience=10)
    other.load_state_dict(state)
    assert state == frozen and other.state_dict() == sched.state_dict()
    for key in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch", "mode", "factor", "patience"):
        assert getattr(other, key) == getattr(sched, key)
    # torch's state_dict loads too
    opt_t = make_optimizer()
    sched_t = T.ReduceLROnPlateau(opt_t, patience=1)
    for score in [1.0, 1.0, 0.5, 0.5, 0.5]:
        sched_t.step(score)
    opt_k = make_optimizer()
    opt_k.load_state_dict(opt_t.state_dict())
    sched_k = K.ReduceLROnPlateau(opt_k)
    sched_k.load_state_dict(sched_t.state_dict())
    for score in [0.5, 0.5, 0.4, 0.4, 0.4, 0.4]:
        sched_t.step(score)
        sched_k.step(score)
        assert lrs_of(opt_t) == lrs_of(opt_k)


def test_checkpoint_on_plateau():
    """torch's test_lr_scheduler_checkpoint_on_plateau."""
    model = torch.nn.Linear(3, 3)
    optim = torch.optim.AdamW(model.parameters())
    sched = K.ReduceLROnPlateau(optim, mode="min")
    optim.step()
    sched.step(1)
    optim2 = torch.optim.AdamW(model.parameters())
    optim2.load_state_dict(optim.state_dict())
    sched2 = K.ReduceLROnPlateau(optim2, mode="min")
    assert sched2.get_last_lr()[0] == optim.param_groups[0]["lr"]


# =================================================================================================
# the seed's table
# =================================================================================================
SEED_PLATEAU_LR = seed_tables.TORCH["ReduceLROnPlateau"]


def test_seed_reduce_lr_on_plateau_table():
    """The seed's ReduceLROnPlateau example (Adam(lr=0.1), mode='min', factor=0.1, patience=2, the metric
    2 every epoch), printed the seed's way; the web copy lost the line breaks and each leading "第"."""
    net_1 = torch.nn.Conv2d(in_channels=3, out_channels=3, kernel_size=3)
    optimizer_1 = torch.optim.Adam(net_1.parameters(), lr=0.1)
    scheduler_1 = K.ReduceLROnPlateau(optimizer_1, mode="min", factor=0.1, patience=2)
    lines = ["初始化的学习率: %s" % optimizer_1.defaults["lr"]]
    for epoch in range(1, 15):
        test = 2
        optimizer_1.zero_grad()
        optimizer_1.step()
        lines.append("第%d个epoch的学习率:%f" % (epoch, optimizer_1.param_groups[0]["lr"]))
        scheduler_1.step(test)
    assert "".join(line.removeprefix("第") for line in lines) == SEED_PLATEAU_LR


# =================================================================================================
# the plateau as a stage (native adapter)
# =================================================================================================
def _sgd(lr=0.1):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_warmup_then_plateau_driven_decay():
    """Linear warmup over 4 updates to 0.1, then halve after each 2 evaluations without improvement;
    the metrics reported during the warmup are ignored (torch's SequentialLR refuses this composition)."""
    opt = _sgd()
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        T.SequentialLR(opt, [T.LinearLR(opt, 0.25, total_iters=4), T.ReduceLROnPlateau(opt)], milestones=[4])
    opt = _sgd()
    sched = K.ScheduleLR(opt, lrkit.warmup(lrkit.constant(0.1), steps=4),
                         plateau=plateau(factor=0.5, patience=1, threshold=0.0, threshold_mode="abs"), plateau_start=4)
    seen = []
    metrics = {1: 9.0, 2: 9.0, 3: 9.0, 4: 1.0, 5: 1.0, 6: 1.0, 7: 0.5, 8: 0.5, 9: 0.5, 10: 0.5}
    for k in range(11):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        if k + 1 in metrics:
            sched.report(metrics[k + 1])
    assert seen == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], rel=1e-15)
    assert sched.plateau_state.reductions == 2


def test_plateau_after_a_schedule_and_under_a_floor():
    """A cosine from 1e-2 to 1e-3 over 10 updates, then the plateau acts on the held 1e-3, never below
    min_lr=3e-4; the schedule's own values below the floor would be kept (the floor is the plateau's)."""
    opt = _sgd()
    ctl = plateau(factor=0.5, patience=0, min_lr=3e-4)
    sched = K.ScheduleLR(opt, "cosine(1e-2, 1e-3, steps=10)", plateau=ctl, plateau_start=10)
    for k in range(10):
        sched.report(1.0)  # ignored: before plateau_start
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3) and sched.plateau_state.reductions == 0
    lrs = []
    for k in range(5):
        sched.report(1.0)
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([1e-3, 5e-4, 3e-4, 3e-4, 3e-4])
    state = save_load(sched.state_dict())
    assert is_plain(state) and state["plateau"]["reductions"] == 4
    again = K.ScheduleLR(_sgd(), "cosine(1e-2, 1e-3, steps=10)", plateau=ctl, plateau_start=10)
    again.load_state_dict(state)
    assert again.plateau_state == sched.plateau_state and again.get_last_lr() == sched.get_last_lr()
