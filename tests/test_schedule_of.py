"""lrkit.torch.schedule_of reads a live scheduler: every schedule it returns gives, at every step, the LR
(or momentum) the real scheduler sets there. Checked against the installed torch by stepping a twin
scheduler 300+ steps, over random configurations (the drop-in tests' configurations)."""
from test_torch_dropins import NAMES, _config
from test_torch_support import K, T, make_optimizer, pytest, quiet, random, warnings

import lrkit
from lrkit._describe import describe
from lrkit.torch import schedule_of

STEPS = 320
REL = 1e-12  # torch's chainable classes multiply step by step: a few hundred ulps after 320 steps at most


def _values(opt, key):
    out = []
    for g in opt.param_groups:
        v = g["betas"][0] if key == "beta1" else g[key]
        out.append(float(v))
    return out


def _assert_follows(make, kind, lrs, read_after, key="lr", steps=STEPS, peak_ulps=0):
    """Build ``make`` twice; read the schedules of one after ``read_after`` steps, and step the other.
    Within ``REL`` relative, or ``peak_ulps`` ulps of the largest LR (near a cosine's zero)."""
    opt = make_optimizer(kind, lrs)
    with quiet():
        sched = make(opt)
        for _ in range(read_after):
            opt.step()
            sched.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nobody else wrote the LR: no warning
        schedules = schedule_of(sched, key)
    twin_opt = make_optimizer(kind, lrs)
    with quiet():
        twin = make(twin_opt)
    for k in range(steps):
        for i, (held, s) in enumerate(zip(_values(twin_opt, key), schedules)):
            planned = s(k)
            slack = REL * abs(held) + peak_ulps * 2.0 ** -52 * max(lrs) + 1e-300
            assert abs(planned - held) <= slack, (type(twin).__name__, key, i, k, held, planned, s)
        if k < steps - 1:
            twin_opt.step()
            with quiet():
                twin.step()
    return schedules


def _read_names():
    return [n for n in NAMES if n not in ("LambdaLR", "MultiplicativeLR")]


@pytest.mark.parametrize("module", ["torch", "lrkit"])
@pytest.mark.parametrize("name", _read_names())
@pytest.mark.parametrize("seed", range(2))
def test_random_configs_read_from_torch_and_lrkit_schedulers(module, name, seed):
    rng = random.Random(7000 + 100 * seed + NAMES.index(name))
    kwargs = _config(name, rng)
    kind = rng.choice(["sgd", "adam"])
    lrs = (rng.uniform(1e-3, 1.0), rng.uniform(1e-3, 1.0))
    cls = getattr(T if module == "torch" else K, name)
    steps = STEPS if name == "OneCycleLR" else STEPS + 5
    schedules = _assert_follows(lambda o: cls(o, **kwargs), kind, lrs, rng.randrange(0, 50), steps=steps)
    assert all(isinstance(s, lrkit.Schedule) for s in schedules)
    if name in ("OneCycleLR", "CyclicLR") and kwargs["cycle_momentum"]:
        key = "beta1" if kind == "adam" else "momentum"
        _assert_follows(lambda o: cls(o, **kwargs), kind, lrs, 3, key=key, steps=steps)


@pytest.mark.parametrize("module", ["torch", "lrkit"])
def test_sequential_and_chained_are_read_through_their_members(module):
    M = T if module == "torch" else K
    _assert_follows(lambda o: M.SequentialLR(o, [M.LinearLR(o, 0.1, 1.0, 7), M.CosineAnnealingLR(o, 40, 1e-4),
                                                 M.StepLR(o, 9, 0.5)], [7, 47]), "sgd", (0.3, 0.02), 11)
    _assert_follows(lambda o: M.ChainedScheduler([M.ConstantLR(o, 0.5, 9), M.ExponentialLR(o, 0.99),
                                                  M.MultiStepLR(o, [30, 90], 0.3)]), "adam", (0.3, 0.02), 5)


@pytest.mark.parametrize("module", ["torch", "lrkit"])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swalr_is_read(module, strategy):
    from torch.optim import swa_utils
    cls = swa_utils.SWALR if module == "torch" else K.SWALR
    _assert_follows(lambda o: cls(o, swa_lr=[0.01, 0.05], anneal_epochs=17, anneal_strategy=strategy), "sgd",
                    (0.3, 0.2), 6, steps=60)


def test_a_chain_with_a_member_that_overwrites_is_refused():
    opt = make_optimizer("sgd", (0.1, 0.2))
    with quiet():
        chain = T.ChainedScheduler([T.StepLR(opt, 3), T.OneCycleLR(opt, 1.0, total_steps=50)])
    with pytest.raises(lrkit.LrkitTypeError, match="OneCycleLR is not chainable"):
        schedule_of(chain)


def test_schedule_lr_gives_its_schedules_for_each_key():
    opt = make_optimizer("sgd", (0.1, 0.2))
    sched = K.ScheduleLR(opt, "warmup(cosine(1.0, 0.0, steps=100), steps=10)", momentum="constant(0.5)",
                         relative=True)
    lr, momentum = schedule_of(sched), schedule_of(sched, "momentum")
    unit = lrkit.parse("warmup(cosine(1.0, 0.0, steps=100), steps=10)")
    assert [s(50) for s in lr] == [unit(50) * 0.1, unit(50) * 0.2]
    assert momentum[0](3) == 0.5 * 0.9  # relative: times the group's initial momentum
    with pytest.raises(lrkit.LrkitValueError, match="key must be one of .*lr, momentum.*got 'beta2'"):
        schedule_of(sched, "beta2")


def test_a_hand_edit_is_followed_by_lrkit_and_reported_for_torch():
    """lrkit's drop-ins rebase on a hand edit, so their schedule is the new plan; torch's own scheduler
    does too, but keeps no record: schedule_of warns that the group holds another value than the plan."""
    for M in (K, T):
        opt = make_optimizer("sgd", (0.1, 0.2))
        with quiet():
            sched = M.StepLR(opt, 4, 0.5)
            for _ in range(3):
                opt.step()
                sched.step()
        opt.param_groups[1]["lr"] = 0.05
        if M is K:  # the drop-in rebases at its next step; from then on its schedule is the edited plan
            with pytest.warns(UserWarning, match="param group 1 holds lr=0.05 at step 3"):
                schedule_of(sched)
            opt.step()
            sched.step()
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert schedule_of(sched)[1](4) == 0.025 == opt.param_groups[1]["lr"]
        else:
            with pytest.warns(UserWarning, match=r"param group 1 holds lr=0.05 at step 3, where its schedule "
                                                 r"gives 0.2: something else wrote it"):
                schedule_of(sched)


def test_what_cannot_be_read_gets_a_clear_error():
    opt = make_optimizer("sgd", (0.1, 0.2))
    with quiet():
        mine = T.LambdaLR(opt, lambda k: 0.9 ** k)
    with pytest.raises(lrkit.LrkitTypeError, match=r"lr_lambda of param group 0 is .*<lambda>.*a function of yours"):
        schedule_of(mine)
    with pytest.raises(lrkit.LrkitTypeError, match="ReduceLROnPlateau has no schedule in advance"):
        schedule_of(T.ReduceLROnPlateau(opt))
    with pytest.raises(lrkit.LrkitTypeError, match="scheduler must be a torch or timm LR scheduler, got builtins.int"):
        schedule_of(3)
    with pytest.raises(lrkit.LrkitValueError, match="key must be one of the keys StepLR drives \\(lr\\), got 'momentum'"):
        schedule_of(T.StepLR(opt, 3), "momentum")


def test_reading_changes_nothing():
    opt = make_optimizer("adam", (0.1, 0.2))
    sched = T.OneCycleLR(opt, [1.0, 0.5], total_steps=100, div_factor=5.0)
    for _ in range(7):
        opt.step()
        sched.step()
    before = (sched.state_dict(), [dict((k, v) for k, v in g.items() if k != "params") for g in opt.param_groups])
    schedule_of(sched)
    after = (sched.state_dict(), [dict((k, v) for k, v in g.items() if k != "params") for g in opt.param_groups])
    assert repr(before) == repr(after)


def test_describe_works_on_a_read_schedule():
    opt = make_optimizer("sgd", (0.1, 0.2))
    s = schedule_of(T.CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2, eta_min=1e-4))[0]
    report = describe(s, steps=70)
    assert "restart" in str(report).lower(), report


def test_cyclic_lr_loading_torchs_state_takes_its_step_sizes():
    """A torch CyclicLR state_dict has total_size and step_ratio, not step_size_up: the drop-in built with
    other sizes takes the saved ones (torch's rule), so the LRs after the load are torch's."""
    opt_t, opt_k = make_optimizer("sgd", (0.1, 0.2)), make_optimizer("sgd", (0.1, 0.2))
    torch_s = T.CyclicLR(opt_t, 0.01, 0.1, step_size_up=3, step_size_down=5, cycle_momentum=False)
    for _ in range(4):
        opt_t.step()
        torch_s.step()
    lrkit_s = K.CyclicLR(opt_k, 0.01, 0.1, step_size_up=2000, cycle_momentum=False)
    opt_k.load_state_dict(opt_t.state_dict())
    with pytest.warns(K.PlanChangedWarning, match="total_size 8.0 -> 4000.0"):
        lrkit_s.load_state_dict(torch_s.state_dict())
    for _ in range(20):
        opt_t.step()
        torch_s.step()
        opt_k.step()
        lrkit_s.step()
        assert [float(g["lr"]) for g in opt_k.param_groups] == pytest.approx(
            [float(g["lr"]) for g in opt_t.param_groups], rel=1e-12)



def test_one_cycle_lr_loading_torchs_state_takes_its_phases_and_the_groups_values():
    """torch's OneCycleLR keeps pct_start and three_phase only in its phases, and div_factor,
    final_div_factor and the momenta in the param groups: a drop-in built with other arguments takes them
    from a torch state_dict and the restored optimizer, so the LRs and momenta after the load are torch's."""
    opt_t, opt_k = make_optimizer("sgd", (0.1, 0.2)), make_optimizer("sgd", (0.1, 0.2))
    torch_s = T.OneCycleLR(opt_t, [1.0, 0.5], total_steps=60, pct_start=0.2, div_factor=5.0, final_div_factor=50.0,
                           three_phase=True, anneal_strategy="linear", base_momentum=0.7, max_momentum=0.92)
    for _ in range(4):
        opt_t.step()
        torch_s.step()
    lrkit_s = K.OneCycleLR(opt_k, [1.0, 0.5], total_steps=60)
    opt_k.load_state_dict(opt_t.state_dict())
    with pytest.warns(K.PlanChangedWarning, match="_anneal_func_type 'linear' -> 'cos'"):
        lrkit_s.load_state_dict(torch_s.state_dict())
    for _ in range(55):  # to step 59; at 60 torch's linear third phase extrapolates below 0, lrkit holds 0
        opt_t.step()
        torch_s.step()
        opt_k.step()
        lrkit_s.step()
        for key in ("lr", "momentum"):
            assert [float(g[key]) for g in opt_k.param_groups] == pytest.approx(
                [float(g[key]) for g in opt_t.param_groups], rel=1e-12), (key, lrkit_s.last_epoch)


def test_one_cycle_lr_takes_the_load_policy_of_every_drop_in():
    opt = make_optimizer("sgd", (0.1, 0.2))
    saved = K.OneCycleLR(opt, 1.0, total_steps=50, pct_start=0.2).state_dict()
    other = K.OneCycleLR(make_optimizer("sgd", (0.1, 0.2)), 1.0, total_steps=80)
    with pytest.raises(lrkit.LrkitValueError, match="total_steps 50 -> 80"):
        other.load_state_dict(saved, on_change="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        other.load_state_dict(saved, on_change="keep")
    assert other.total_steps == 50


def _hf_cases():
    import transformers.optimization as hf
    return [
        ("constant", lambda o: hf.get_constant_schedule(o)),
        ("constant_with_warmup", lambda o: hf.get_constant_schedule_with_warmup(o, num_warmup_steps=13)),
        ("linear", lambda o: hf.get_linear_schedule_with_warmup(o, 10, 200)),
        ("cosine", lambda o: hf.get_cosine_schedule_with_warmup(o, 10, 200, num_cycles=0.7)),
        ("cosine_with_restarts", lambda o: hf.get_cosine_with_hard_restarts_schedule_with_warmup(o, 7, 180, 3)),
        ("polynomial", lambda o: hf.get_polynomial_decay_schedule_with_warmup(o, 9, 150, lr_end=1e-4, power=2.0)),
        ("inverse_sqrt", lambda o: hf.get_inverse_sqrt_schedule(o, num_warmup_steps=11)),
        ("cosine_with_min_lr", lambda o: hf.get_cosine_with_min_lr_schedule_with_warmup(o, 10, 200, min_lr_rate=0.1)),
        ("wsd", lambda o: hf.get_wsd_schedule(o, 10, 40, num_training_steps=200, min_lr_ratio=0.05,
                                             decay_type="1-sqrt")),
    ]


@pytest.mark.parametrize("case", range(9))
def test_transformers_schedules_are_read(case):
    """A transformers ``get_*_schedule*`` returns a torch LambdaLR of ``functools.partial`` functions: read
    through lrkit.peers.hf, each group's schedule is the LR the LambdaLR sets, 300 steps, two groups."""
    pytest.importorskip("transformers")
    name, make = _hf_cases()[case]
    # transformers computes 0.5 * (1 + cos(...)), lrkit's cosine another order: 8 ulps of the peak near 0
    schedules = _assert_follows(make, "adam", (3e-4, 1e-3), 5, steps=300, peak_ulps=8)
    assert all(isinstance(s, lrkit.Schedule) for s in schedules), name


def test_timm_schedulers_are_read():
    """timm's schedulers (loaded without torchvision, tests/timm_scheduler.py) read through lrkit.peers.timm:
    the LR each group gets from ``step(epoch)`` at every epoch is the schedule's value there."""
    import timm_scheduler
    timm = timm_scheduler.load()
    makers = [
        lambda o: timm.cosine_lr.CosineLRScheduler(o, t_initial=40, lr_min=1e-4, cycle_mul=1.5, cycle_decay=0.7,
                                                   cycle_limit=3, warmup_t=5, warmup_lr_init=1e-5, k_decay=1.3),
        lambda o: timm.tanh_lr.TanhLRScheduler(o, t_initial=50, lr_min=1e-5, warmup_t=4, warmup_prefix=True),
        lambda o: timm.poly_lr.PolyLRScheduler(o, t_initial=60, power=0.8, lr_min=1e-5, warmup_t=3),
        lambda o: timm.step_lr.StepLRScheduler(o, decay_t=15, decay_rate=0.5, warmup_t=2, warmup_lr_init=1e-4),
        lambda o: timm.multistep_lr.MultiStepLRScheduler(o, decay_t=[10, 30, 45], decay_rate=0.3),
    ]
    for make in makers:
        opt = make_optimizer("sgd", (0.1, 0.02), tensor=(False, False))
        sched = make(opt)
        schedules = schedule_of(sched)
        for k in range(120):
            sched.step(k)
            for i, g in enumerate(opt.param_groups):
                assert schedules[i](k) == pytest.approx(g["lr"], rel=1e-12, abs=1e-15), (type(sched).__name__, k, i)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # timm 1.0.31 deprecates its plateau scheduler
        plateau = timm.plateau_lr.PlateauLRScheduler(make_optimizer("sgd", (0.1, 0.02), tensor=(False, False)))
    with pytest.raises(lrkit.LrkitTypeError, match="PlateauLRScheduler has no schedule in advance"):
        schedule_of(plateau)
