"""lrkit.torch's drop-ins against the installed torch (the real torch.optim.lr_scheduler, never a copy of
its formulas): random configurations, the cases of torch's own test/optim/test_lrscheduler.py, hand edits
and schedulers sharing an optimizer (rebasing), state_dict round trips, restore order, warnings, errors.

Every comparison uses an optimizer with two param groups, one with a float LR and one with a 0-dim
float64 tensor LR (float32 tensors are compared separately: torch's chain multiplies in float32).
"""
from test_torch_support import (K, T, assert_close, assert_groups_match, assert_last_lr_match, copy, is_plain,
                                lrs_of, make_optimizer, momenta_of, pytest, quiet, random, save_load, torch, value,
                                warnings)

import lrkit

EPS = 2.0 ** -52
STEPS = 320  # >= 300 steps per configuration

# =================================================================================================
# random configurations, valid for torch and lrkit
# =================================================================================================
def _config(name, rng):
    if name == "LambdaLR":
        rate = rng.uniform(0.95, 1.0)
        return {"lr_lambda": [lambda e, r=rate: r ** e, lambda e: 1.0 / (e + 1)]}
    if name == "MultiplicativeLR":
        return {"lr_lambda": lambda e, r=rng.uniform(0.95, 1.0): r}
    if name == "StepLR":
        return {"step_size": rng.randint(1, 40), "gamma": rng.uniform(0.1, 1.0)}
    if name == "MultiStepLR":
        return {"milestones": sorted(rng.sample(range(0, STEPS), rng.randint(1, 6))), "gamma": rng.uniform(0.1, 0.9)}
    if name == "ConstantLR":
        return {"factor": rng.uniform(0.05, 1.0), "total_iters": rng.randint(1, 100)}
    if name == "LinearLR":
        return {"start_factor": rng.uniform(0.05, 1.0), "end_factor": rng.uniform(0.0, 1.0),
                "total_iters": rng.randint(1, 200)}
    if name == "ExponentialLR":
        return {"gamma": rng.uniform(0.95, 1.0)}
    if name == "PolynomialLR":
        return {"total_iters": rng.randint(1, STEPS + 50), "power": rng.uniform(0.3, 3.0)}
    if name == "CosineAnnealingLR":
        return {"T_max": rng.randint(1, 150), "eta_min": rng.choice([0.0, 1e-5, 1e-3])}
    if name == "CyclicLR":
        return {"base_lr": [rng.uniform(1e-4, 1e-2), rng.uniform(1e-4, 1e-2)], "max_lr": rng.uniform(1e-2, 1e-1),
                "step_size_up": rng.randint(1, 40), "step_size_down": rng.choice([None, rng.randint(1, 40)]),
                "mode": rng.choice(["triangular", "triangular2", "exp_range"]), "gamma": rng.uniform(0.99, 1.0),
                "cycle_momentum": rng.random() < 0.7, "base_momentum": [0.8, 0.7], "max_momentum": 0.95}
    if name == "OneCycleLR":
        return {"max_lr": [rng.uniform(0.01, 1.0), rng.uniform(0.01, 1.0)], "total_steps": STEPS,
                "pct_start": rng.uniform(0.05, 0.45), "anneal_strategy": rng.choice(["cos", "linear"]),
                "three_phase": rng.random() < 0.5, "div_factor": rng.uniform(2.0, 30.0),
                "final_div_factor": rng.uniform(10.0, 1e4), "cycle_momentum": rng.random() < 0.8,
                "base_momentum": rng.uniform(0.7, 0.85), "max_momentum": [0.95, 0.9]}
    if name == "CosineAnnealingWarmRestarts":
        return {"T_0": rng.randint(1, 40), "T_mult": rng.randint(1, 3), "eta_min": rng.choice([0.0, 1e-4])}
    raise KeyError(name)


NAMES = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
         "PolynomialLR", "CosineAnnealingLR", "CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts"]
CHAINABLE = ["MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR",
             "CosineAnnealingLR"]


def _params(names):
    return list(names)


def _bounds(name, kwargs):
    """Absolute bounds per group where torch's arithmetic loses bits (else 0: 1e-12 relative)."""
    if name == "OneCycleLR" and kwargs["anneal_strategy"] == "linear":
        # torch's last step computes (end - start) * 1.0 + start: the bits of max_lr below end are lost
        m = kwargs["max_lr"]
        return [4 * EPS * x for x in (m if isinstance(m, list) else [m, m])]
    return None


def _steps(name):
    return STEPS if name == "OneCycleLR" else STEPS + 5  # OneCycleLR: total_steps scheduler steps


@pytest.mark.parametrize("name", _params(NAMES))
@pytest.mark.parametrize("seed", range(3))
def test_random_configs_match_torch(name, seed):
    """≥ 300 steps: every group's LR (and momentum / beta1), get_last_lr, last_epoch equal torch's; a
    state_dict taken at a random step, saved and loaded with weights_only=True into a fresh scheduler on
    a restored optimizer, continues bit for bit as the uninterrupted run."""
    rng = random.Random(1000 * seed + NAMES.index(name))
    kwargs = _config(name, rng)
    kind = rng.choice(["sgd", "adam"])
    lrs = (rng.uniform(1e-3, 1.0), rng.uniform(1e-3, 1.0))
    opt_t, opt_k = make_optimizer(kind, lrs), make_optimizer(kind, lrs)
    with quiet():
        sched_t = getattr(T, name)(opt_t, **kwargs)
    sched_k = getattr(K, name)(opt_k, **kwargs)
    assert isinstance(sched_k, getattr(T, name)) and isinstance(sched_k, T.LRScheduler)
    bounds = _bounds(name, kwargs)
    cut = rng.randrange(1, _steps(name) - 1)
    resumed = None
    for k in range(_steps(name) + 1):
        where = f"{name}{kwargs} step {k}"
        assert_groups_match(opt_t, opt_k, where, abs_bounds=bounds)
        assert_last_lr_match(sched_t.get_last_lr(), sched_k.get_last_lr(), where, abs_bounds=bounds)
        assert sched_t.last_epoch == sched_k.last_epoch, where
        if resumed is not None:
            opt_r, sched_r = resumed
            assert lrs_of(opt_r) == lrs_of(opt_k) and momenta_of(opt_r) == momenta_of(opt_k), where
            assert [value(v) for v in sched_r.get_last_lr()] == [value(v) for v in sched_k.get_last_lr()], where
        if k == cut:
            state = save_load(sched_k.state_dict())
            assert is_plain(state), state
            opt_r = make_optimizer(kind, lrs)
            opt_r.load_state_dict(opt_k.state_dict())
            # built with other arguments: the loaded state wins, as in torch (functions are not saved)
            # (CyclicLR and OneCycleLR set the momentum at construction: built with the same arguments)
            other = kwargs if name in ("LambdaLR", "MultiplicativeLR", "CyclicLR", "OneCycleLR") else _config(
                name, random.Random(-1))
            sched_r = getattr(K, name)(opt_r, **other)
            sched_r.load_state_dict(state)
            resumed = (opt_r, sched_r)
        if k == _steps(name):
            break
        opt_t.step()
        opt_k.step()
        with quiet():
            sched_t.step()
        sched_k.step()
        if resumed is not None:
            resumed[0].step()
            resumed[1].step()


def test_cosine_warm_restarts_fractional_epochs_match_torch():
    """``step(epoch + i / iters)`` (fractional epochs) and interleaved ``step()`` / ``step(epoch)``."""
    rng = random.Random(7)
    for _ in range(4):
        kwargs = _config("CosineAnnealingWarmRestarts", rng)
        opt_t, opt_k = make_optimizer(), make_optimizer()
        sched_t, sched_k = T.CosineAnnealingWarmRestarts(opt_t, **kwargs), K.CosineAnnealingWarmRestarts(opt_k, **kwargs)
        iters = rng.randint(2, 7)
        for epoch in range(40):
            for i in range(iters):
                e = epoch + i / iters
                sched_t.step(e)
                sched_k.step(e)
                assert_groups_match(opt_t, opt_k, f"{kwargs} epoch {e}")
                assert sched_t.last_epoch == sched_k.last_epoch
                assert sched_t.T_i == sched_k.T_i and abs(sched_t.T_cur - sched_k.T_cur) < 1e-9
            if rng.random() < 0.3:
                sched_t.step()
                sched_k.step()
                assert_groups_match(opt_t, opt_k, f"{kwargs} step() after epoch {epoch}")


def test_cosine_warm_restarts_T_cur_can_be_set():
    """torch's test_CosineAnnealingWarmRestarts_T_cur_reset."""
    for M in (T, K):
        sch = M.CosineAnnealingWarmRestarts(_torch_suite_opt(), T_0=4)
        for epoch in [7, 8, 9]:
            sch.T_cur = epoch
            sch.step()
            assert sch.T_cur == (epoch + 1) % sch.T_0


def test_cosine_warm_restarts_restart_is_exact_where_torch_rounds():
    """Deliberate difference: torch's ``step(epoch)`` finds the cycle with ``int(math.log(..., T_mult))``,
    which lands one cycle short at some exact restarts (log(243, 3) = 4.999...): torch gives eta_min where
    the restart is. lrkit restarts exactly (the same value ``step()`` reaches counting epochs)."""
    opt_t, opt_k = make_optimizer(lrs=(0.1, 0.1)), make_optimizer(lrs=(0.1, 0.1))
    sched_t = T.CosineAnnealingWarmRestarts(opt_t, T_0=1, T_mult=3)
    sched_k = K.CosineAnnealingWarmRestarts(opt_k, T_0=1, T_mult=3)
    sched_t.step(121)  # the restart at 1 + 3 + 9 + 27 + 81
    sched_k.step(121)
    assert opt_t.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-15)  # torch's rounding bug
    assert opt_k.param_groups[0]["lr"] == pytest.approx(0.1, rel=1e-15)
    counted = make_optimizer(lrs=(0.1, 0.1))
    sched_c = T.CosineAnnealingWarmRestarts(counted, T_0=1, T_mult=3)
    for _ in range(121):
        sched_c.step()
    assert counted.param_groups[0]["lr"] == opt_k.param_groups[0]["lr"]


def test_float32_tensor_lrs_follow_torch_within_float32_chain_drift():
    """A float32 tensor LR: torch multiplies in float32 every step (its drift grows with the steps);
    lrkit writes the float64 closed form once per step (one rounding)."""
    opt_t = make_optimizer(lrs=(0.05, 0.5), tensor=(True, True), dtype=torch.float32)
    opt_k = make_optimizer(lrs=(0.05, 0.5), tensor=(True, True), dtype=torch.float32)
    sched_t, sched_k = T.ExponentialLR(opt_t, gamma=0.99), K.ExponentialLR(opt_k, gamma=0.99)
    for k in range(STEPS):
        for gt, gk, base in zip(opt_t.param_groups, opt_k.param_groups, (0.05, 0.5)):
            exact = torch.tensor(base, dtype=torch.float32).item() * 0.99 ** k  # initial_lr is float32
            assert gk["lr"].dtype == torch.float32
            assert abs(gk["lr"].item() - exact) <= 2 ** -24 * exact  # one float32 rounding
            assert abs(gt["lr"].item() - exact) <= (k + 1) * 2 ** -23 * exact  # torch: one per step
        opt_t.step()
        opt_k.step()
        sched_t.step()
        sched_k.step()


def test_no_drift_after_many_steps():
    """20000 chained steps: lrkit's LR is the closed form, bit for bit (torch's drifts by its roundings)."""
    opt_k = make_optimizer(tensor=(False, False))
    sched = K.ExponentialLR(opt_k, gamma=0.9995)
    unit = lrkit.exponential(1.0, 0.9995)
    opt_k.step()
    for _ in range(20000):
        sched.step()
    assert [g["lr"] for g in opt_k.param_groups] == [unit(20000) * 0.05, unit(20000) * 0.5]
    assert sched.schedules[1](20000) == opt_k.param_groups[1]["lr"]


@pytest.mark.parametrize("name", _params(NAMES))
def test_schedules_are_the_values_written(name):
    """``scheduler.schedules[i]`` (core schedules) gives exactly the LR written into group i."""
    kwargs = _config(name, random.Random(3))
    opt = make_optimizer()
    sched = getattr(K, name)(opt, **kwargs)
    for k in range(60):
        for i, s in enumerate(sched.schedules):
            t = sched._epoch if name == "CosineAnnealingWarmRestarts" else k
            assert s(t) == value(opt.param_groups[i]["lr"]), (name, k, i, s)
        opt.step()
        sched.step()


# =================================================================================================
# hand edits and schedulers sharing an optimizer: rebasing reproduces torch's chainable form
# =================================================================================================
@pytest.mark.parametrize("name", _params(CHAINABLE))
@pytest.mark.parametrize("seed", range(2))
def test_hand_edits_between_steps_match_torch(name, seed):
    """``param_group['lr'] *= f`` (float group) and ``param_group['lr'].mul_(f)`` (tensor group) at random
    steps: torch's chain goes on from the edited value; lrkit rebases its closed form there and agrees,
    including edits made where the closed form is 0 (PolynomialLR after total_iters holds the edit) or
    at eta_min (CosineAnnealingLR's trough, where torch's next step is additive)."""
    rng = random.Random(77 + seed + 10 * CHAINABLE.index(name))
    kwargs = _config(name, rng)
    opt_t, opt_k = make_optimizer(), make_optimizer()
    sched_t, sched_k = getattr(T, name)(opt_t, **kwargs), getattr(K, name)(opt_k, **kwargs)
    for k in range(STEPS):
        assert_groups_match(opt_t, opt_k, f"{name}{kwargs} step {k}", rel=1e-11)
        at_floor = name == "CosineAnnealingLR" and (k - kwargs["T_max"]) % (2 * kwargs["T_max"]) == 0
        if rng.random() < 0.08 or (at_floor and rng.random() < 0.5):
            f = rng.uniform(0.3, 2.0)
            for opt in (opt_t, opt_k):
                opt.param_groups[0]["lr"] *= f
                opt.param_groups[1]["lr"].mul_(f)
        opt_t.step()
        opt_k.step()
        sched_t.step()
        sched_k.step()


def _many_groups(n=64):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1 * (1 + i / n)}
                            for i in range(n)], lr=0.1, momentum=0.9)


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "LinearLR", "CosineAnnealingLR", "ChainedScheduler"])
def test_many_groups_with_hand_edits_match_torch(name):
    """64 float param groups (the path that reads, compares and writes whole lists at C speed and rebases
    with numpy): hand edits of one group, of a few and of all of them between steps follow torch."""
    make = {"StepLR": lambda M, o: M.StepLR(o, step_size=3, gamma=0.7),
            "ExponentialLR": lambda M, o: M.ExponentialLR(o, gamma=0.97),
            "LinearLR": lambda M, o: M.LinearLR(o, start_factor=0.1, total_iters=40),
            "CosineAnnealingLR": lambda M, o: M.CosineAnnealingLR(o, T_max=15, eta_min=0.001),
            "ChainedScheduler": lambda M, o: M.ChainedScheduler([M.LinearLR(o, 0.1, total_iters=40),
                                                                 M.ExponentialLR(o, 0.97)])}[name]
    rng = random.Random(5)
    opt_t, opt_k = _many_groups(), _many_groups()
    sched_t, sched_k = make(T, opt_t), make(K, opt_k)
    for k in range(120):
        for gt, gk in zip(opt_t.param_groups, opt_k.param_groups):
            assert gk["lr"] == pytest.approx(gt["lr"], rel=1e-11, abs=1e-300), (name, k)
        assert sched_k.get_last_lr() == pytest.approx(sched_t.get_last_lr(), rel=1e-11)
        if k % 7 == 3:
            which = rng.choice([[0], [5, 9, 33], list(range(64))])
            f = rng.uniform(0.5, 1.5)
            for opt in (opt_t, opt_k):
                for i in which:
                    opt.param_groups[i]["lr"] *= f
        opt_t.step()
        opt_k.step()
        sched_t.step()
        sched_k.step()


def test_seed_manual_edit_composes_with_a_scheduler():
    """The seed's ``p['lr'] *= 0.9`` every 5 epochs, while a StepLR also runs: torch's chain and lrkit agree."""
    opt_t, opt_k = make_optimizer(lrs=(0.1, 0.1)), make_optimizer(lrs=(0.1, 0.1))
    sched_t, sched_k = T.StepLR(opt_t, step_size=7, gamma=0.5), K.StepLR(opt_k, step_size=7, gamma=0.5)
    for epoch in range(100):
        if epoch % 5 == 0:
            for opt in (opt_t, opt_k):
                for p in opt.param_groups:
                    p["lr"] *= 0.9
        assert_groups_match(opt_t, opt_k, f"epoch {epoch}")
        assert "%f" % opt_t.param_groups[0]["lr"] == "%f" % opt_k.param_groups[0]["lr"]
        opt_t.step()
        opt_k.step()
        sched_t.step()
        sched_k.step()


# ---- torch's own cases (test/optim/test_lrscheduler.py), run on both libraries -------------------
def _torch_suite_opt():
    """torch's suite optimizer: SGD, group 0 float 0.05, group 1 a tensor 0.5 (float64 here)."""
    return make_optimizer("sgd", (0.05, 0.5))


PORTED = {
    # SequentialLR
    "sequentiallr1": (19, lambda M, o: M.SequentialLR(o, [M.ExponentialLR(o, gamma=0.8), M.StepLR(o, gamma=0.1, step_size=4)], milestones=[3])),
    "sequentiallr2": (13, lambda M, o: M.SequentialLR(o, [M.ConstantLR(o, factor=0.1, total_iters=3), M.ExponentialLR(o, gamma=0.9)], milestones=[3])),
    "sequentiallr3": (12, lambda M, o: M.SequentialLR(o, [M.ConstantLR(o, factor=0.1, total_iters=3), M.ExponentialLR(o, gamma=0.8), M.StepLR(o, gamma=0.1, step_size=2)], milestones=[3, 6])),
    "sequentiallr5_chained": (10, lambda M, o: M.SequentialLR(o, [M.ChainedScheduler([M.LinearLR(o, start_factor=0.1, total_iters=5), M.ConstantLR(o, factor=0.1, total_iters=5)]), M.ConstantLR(o, factor=0.5, total_iters=5)], milestones=[5])),
    "sequential_linear_up_down": (8, lambda M, o: M.SequentialLR(o, [M.LinearLR(o, 0.1, 0.8, total_iters=4), M.LinearLR(o, 0.8, 0.1, total_iters=4)], milestones=[4])),
    "sequential_cosine_after_warmup": (60, lambda M, o: M.SequentialLR(o, [M.LinearLR(o, 0.01, 1.0, total_iters=10), M.CosineAnnealingLR(o, T_max=20, eta_min=1e-4)], milestones=[10])),
    # ChainedScheduler
    "chained_lr1": (10, lambda M, o: M.ChainedScheduler([M.StepLR(o, gamma=0.1, step_size=3)])),
    "chained_lr2": (10, lambda M, o: M.ChainedScheduler([M.LinearLR(o, start_factor=0.4, total_iters=3)])),
    "chained_lr3": (10, lambda M, o: M.ChainedScheduler([M.LinearLR(o, start_factor=0.4, total_iters=3), M.MultiStepLR(o, milestones=[4, 8, 10], gamma=0.1)])),
    "chained_lr4": (9, lambda M, o: M.ChainedScheduler([M.ExponentialLR(o, gamma=0.9), M.ConstantLR(o, factor=0.2, total_iters=4), M.StepLR(o, gamma=0.1, step_size=3)])),
    "chained_lr5": (10, lambda M, o: M.ChainedScheduler([M.PolynomialLR(o, power=0.9, total_iters=5), M.ConstantLR(o, factor=0.1)])),
    "chained_cosine_exp_long": (300, lambda M, o: M.ChainedScheduler([M.CosineAnnealingLR(o, T_max=37, eta_min=1e-3), M.ExponentialLR(o, gamma=0.995)])),
    # two schedulers stepping one optimizer
    "compound_step_multistep": (10, lambda M, o: [M.StepLR(o, gamma=0.1, step_size=3), M.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9])]),
    "compound_step_exp": (10, lambda M, o: [M.StepLR(o, gamma=0.1, step_size=3), M.ExponentialLR(o, gamma=0.9)]),
    "compound_exp_multistep": (10, lambda M, o: [M.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9]), M.ExponentialLR(o, gamma=0.9)]),
    "compound_exp_linear": (10, lambda M, o: [M.LinearLR(o, start_factor=0.4, end_factor=0.9, total_iters=4), M.ExponentialLR(o, gamma=0.9)]),
    "compound_step_constant": (10, lambda M, o: [M.StepLR(o, gamma=0.1, step_size=3), M.ConstantLR(o, factor=0.4, total_iters=4)]),
    "compound_linear_multistep": (10, lambda M, o: [M.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9]), M.LinearLR(o, start_factor=0.4, total_iters=4)]),
    "compound_cos_step": (10, lambda M, o: [M.CosineAnnealingLR(o, T_max=10, eta_min=1e-10), M.StepLR(o, gamma=0.1, step_size=3)]),
    "compound_cos_multistep": (10, lambda M, o: [M.CosineAnnealingLR(o, T_max=10, eta_min=1e-10), M.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9])]),
    "compound_cos_linear": (10, lambda M, o: [M.LinearLR(o, start_factor=0.4, total_iters=4), M.CosineAnnealingLR(o, T_max=10, eta_min=1e-10)]),
    "compound_cos_exp": (10, lambda M, o: [M.CosineAnnealingLR(o, T_max=10, eta_min=1e-10), M.ExponentialLR(o, gamma=0.1)]),
    "compound_poly_step_long": (300, lambda M, o: [M.PolynomialLR(o, total_iters=250, power=2.0), M.StepLR(o, step_size=40, gamma=0.5)]),
    "compound_cos_lambda": (200, lambda M, o: [M.CosineAnnealingLR(o, T_max=50), M.LambdaLR(o, lambda e: 0.99 ** e)]),
    # single schedulers with torch's hand-made targets
    "step_lr": (10, lambda M, o: M.StepLR(o, gamma=0.1, step_size=3)),
    "multi_step_lr": (10, lambda M, o: M.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9])),
    "multi_step_lr_repeated_milestone": (12, lambda M, o: M.MultiStepLR(o, gamma=0.5, milestones=[2, 5, 5, 9])),
    "constantlr": (10, lambda M, o: M.ConstantLR(o, factor=1.0 / 2, total_iters=5)),
    "linearlr": (10, lambda M, o: M.LinearLR(o, start_factor=1.0 / 2, total_iters=4)),
    "exp_lr": (10, lambda M, o: M.ExponentialLR(o, gamma=0.9)),
    "poly_lr": (10, lambda M, o: M.PolynomialLR(o, power=0.9, total_iters=5)),
    "cos_anneal_lr": (10, lambda M, o: M.CosineAnnealingLR(o, T_max=10, eta_min=1e-10)),
    "lambda_lr": (10, lambda M, o: M.LambdaLR(o, lr_lambda=[lambda x1: 0.9 ** x1, lambda x2: 0.8 ** x2])),
    "cycle_triangular_momentum": (11, lambda M, o: M.CyclicLR(o, base_lr=1, max_lr=5, step_size_up=4, cycle_momentum=True, base_momentum=1, max_momentum=5, mode="triangular")),
    "cycle_triangular2_lists": (22, lambda M, o: M.CyclicLR(o, base_lr=[1, 3], max_lr=[5, 7], step_size_up=4, cycle_momentum=True, base_momentum=[1, 3], max_momentum=[5, 7], mode="triangular2")),
    "cycle_exp_range": (13, lambda M, o: M.CyclicLR(o, base_lr=[1, 5], max_lr=[5, 12], step_size_up=4, cycle_momentum=True, base_momentum=[1, 5], max_momentum=[5, 12], mode="exp_range", gamma=0.9)),
    "cycle_up_down": (11, lambda M, o: M.CyclicLR(o, base_lr=1, max_lr=5, step_size_up=4, step_size_down=6, cycle_momentum=True, base_momentum=1, max_momentum=5)),
    "cycle_triangular2_up_down": (24, lambda M, o: M.CyclicLR(o, base_lr=[1, 3], max_lr=[5, 7], step_size_up=2, step_size_down=6, cycle_momentum=True, base_momentum=[1, 3], max_momentum=[5, 7], mode="triangular2")),
    "cycle_custom_scale_fn_iterations": (40, lambda M, o: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5, scale_fn=lambda x: 0.97 ** x, scale_mode="iterations", cycle_momentum=False)),
    "onecycle_linear": (10, lambda M, o: M.OneCycleLR(o, max_lr=25, final_div_factor=2, base_momentum=1, max_momentum=22, total_steps=10, anneal_strategy="linear")),
    "onecycle_linear_three_phases": (10, lambda M, o: M.OneCycleLR(o, max_lr=25, div_factor=25, base_momentum=1, max_momentum=22, total_steps=10, anneal_strategy="linear", pct_start=0.4, final_div_factor=4, three_phase=True)),
    "onecycle_cos": (10, lambda M, o: M.OneCycleLR(o, max_lr=25, final_div_factor=2, base_momentum=1, max_momentum=22, total_steps=10)),
    "onecycle_epochs_steps": (60, lambda M, o: M.OneCycleLR(o, max_lr=[0.1, 0.3], epochs=6, steps_per_epoch=10)),
    "warm_restarts_1": (100, lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=1, eta_min=1e-10)),
    "warm_restarts_2": (100, lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=1e-10)),
    "warm_restarts_4": (100, lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=4, eta_min=1e-10)),
}


@pytest.mark.parametrize("case", sorted(PORTED))
def test_torch_suite_cases(case):
    epochs, build = PORTED[case]
    runs = []
    for M in (T, K):
        opt = _torch_suite_opt()
        with quiet():
            built = build(M, opt)
        schedulers = built if isinstance(built, list) else [built]
        trace = []
        for _ in range(epochs):
            trace.append((lrs_of(opt), momenta_of(opt), [[value(v) for v in s.get_last_lr()] for s in schedulers]))
            opt.step()
            with quiet():
                for s in schedulers:
                    s.step()
        runs.append(trace)
    for k, ((lt, mt, gt), (lk, mk, gk)) in enumerate(zip(*runs)):
        for a, b in zip(lt + [m for m in mt if m is not None] + sum(gt, []),
                        lk + [m for m in mk if m is not None] + sum(gk, [])):
            assert_close(a, b, f"{case} epoch {k}", rel=1e-11)


def test_cosine_then_cyclic_two_schedulers_alternating():
    """torch issue 21965: CosineAnnealingLR then CyclicLR on one optimizer. Deliberate difference: torch's
    CyclicLR computes its step-0 LR from a pre-existing ``initial_lr`` (0.5 here) instead of ``base_lr``
    (its ``base_lrs`` is set after the initial step); lrkit's CyclicLR starts at ``base_lr``. From the
    first CyclicLR step on, both follow the cycle."""
    traces, after_init = [], []
    for M in (T, K):
        opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.5)
        s1 = M.CosineAnnealingLR(opt, T_max=20, eta_min=0.1)
        s2 = M.CyclicLR(opt, base_lr=0.1, max_lr=0.3, step_size_up=1, step_size_down=3)
        after_init.append(opt.param_groups[0]["lr"])
        trace = []
        for i in range(40):
            opt.step()
            (s1 if i <= s1.T_max else s2).step()
            trace.append(opt.param_groups[0]["lr"])
        traces.append(trace)
    assert after_init == [0.5, 0.1]
    for a, b in zip(traces[0][21:], traces[1][21:]):
        assert_close(a, b, "cyclic phase")
    assert max(traces[1]) <= 0.3


@pytest.mark.parametrize("make", [
    lambda M, o: M.StepLR(o, 2), lambda M, o: M.ExponentialLR(o, gamma=0.9), lambda M, o: M.ConstantLR(o),
    lambda M, o: M.LinearLR(o), lambda M, o: M.PolynomialLR(o, power=0.9)], ids=["step", "exp", "constant", "linear", "poly"])
def test_step_with_epoch_is_the_closed_form_with_torchs_warning(make):
    """``step(epoch)``: torch's deprecated closed-form path, with its EPOCH_DEPRECATION_WARNING;
    the same epoch given again keeps the LR constant; the values equal torch's."""
    opt_t, opt_k = _torch_suite_opt(), _torch_suite_opt()
    sched_t, sched_k = make(T, opt_t), make(K, opt_k)
    for epoch in [2, 2, 2, 0, 5, 3, 11]:
        for opt, sched in ((opt_t, sched_t), (opt_k, sched_k)):
            opt.step()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sched.step(epoch)
            assert [str(w.message) for w in caught] == [T.EPOCH_DEPRECATION_WARNING]
        assert_groups_match(opt_t, opt_k, f"step({epoch})")


def test_closed_form_and_stepping_agree():
    """torch's test_closed_form_*: stepping and ``step(epoch)`` give the same LRs (lrkit: bit for bit)."""
    for make in (lambda o: K.StepLR(o, gamma=0.1, step_size=3), lambda o: K.CosineAnnealingLR(o, T_max=5, eta_min=1e-10),
                 lambda o: K.LinearLR(o, start_factor=1 / 3, end_factor=0.7, total_iters=4),
                 lambda o: K.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9])):
        a, b = _torch_suite_opt(), _torch_suite_opt()
        sa, sb = make(a), make(b)
        for epoch in range(1, 20):
            a.step()
            b.step()
            sa.step()
            with quiet():
                sb.step(epoch)
            assert lrs_of(a) == lrs_of(b)


def test_resume_through_constructor_last_epoch():
    """torch's test_lr_scheduler_checkpoint: step once, restore the optimizer, build with last_epoch=0:
    the LR is the one of step 1 (torch agrees). Deliberate difference: lrkit writes the closed form of
    step ``last_epoch + 1`` whatever the group holds; torch's chainable classes keep the group's LR."""
    for make in (lambda o, **k: K.ExponentialLR(o, gamma=0.999, **k), lambda o, **k: K.StepLR(o, 30, **k),
                 lambda o, **k: K.CosineAnnealingLR(o, T_max=10, **k), lambda o, **k: K.LinearLR(o, **k),
                 lambda o, **k: K.CyclicLR(o, base_lr=0.01, max_lr=0.1, **k),
                 lambda o, **k: K.OneCycleLR(o, max_lr=0.01, total_steps=10, **k),
                 lambda o, **k: K.CosineAnnealingWarmRestarts(o, T_0=20, **k),
                 lambda o, **k: K.LambdaLR(o, lambda e: e // 30 + 1, **k), lambda o, **k: K.PolynomialLR(o, **k)):
        model = torch.nn.Linear(3, 3)
        optim = torch.optim.AdamW(model.parameters())
        sched = make(optim)
        optim.step()
        sched.step()
        optim2 = torch.optim.AdamW(model.parameters())
        optim2.load_state_dict(optim.state_dict())
        sched2 = make(optim2, last_epoch=0)
        assert sched2.get_last_lr()[0] == pytest.approx(optim.param_groups[0]["lr"], rel=1e-15)
    with pytest.raises(KeyError, match=r"param 'initial_lr' is not specified in param_groups\[0\]"):
        K.StepLR(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], 0.1), step_size=3, last_epoch=1)


def test_cos_anneal_lr_continue():
    opt = _torch_suite_opt()
    sched = K.CosineAnnealingLR(opt, T_max=5, eta_min=0.1)
    opt.step()
    sched.step()
    again = K.CosineAnnealingLR(opt, T_max=5, eta_min=0.1, last_epoch=0)
    assert [value(v) for v in again.get_last_lr()] == pytest.approx([value(v) for v in sched.get_last_lr()], rel=1e-12)


def test_initial_lr_and_base_lrs_do_not_alias_a_tensor_lr():
    """torch's test_constant_initial_lr: the user scales the tensor LR in place; initial_lr / base_lrs stay."""
    for make in (lambda o: K.LambdaLR(o, lambda e: e // 10), lambda o: K.StepLR(o, step_size=30),
                 lambda o: K.MultiStepLR(o, milestones=[30, 80]), K.ConstantLR, K.LinearLR,
                 lambda o: K.ExponentialLR(o, gamma=0.9), K.PolynomialLR, lambda o: K.CosineAnnealingLR(o, T_max=10),
                 lambda o: K.CosineAnnealingWarmRestarts(o, T_0=20)):
        lr = torch.as_tensor(0.1)
        opt = torch.optim.SGD([torch.nn.Parameter(torch.randn(1))], lr=lr)
        sched = make(opt)
        original = copy.deepcopy(opt.param_groups)
        for i in range(2):
            opt.step()
            with quiet():
                sched.step(i)
            lr.multiply_(0.1)
            assert opt.param_groups[0]["initial_lr"] == original[0]["initial_lr"]
            assert sched.base_lrs == [0.1]
            assert sched.base_lrs[0] is not opt.param_groups[0]["initial_lr"]
    lr, max_lr = torch.as_tensor(0.1), torch.as_tensor(0.2)
    bm, mm = torch.as_tensor(0.8), torch.as_tensor(0.9)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.randn(1))], lr=lr)
    sched = K.CyclicLR(opt, base_lr=lr, max_lr=max_lr, base_momentum=bm, max_momentum=mm)
    for i in range(2):
        for t in (lr, max_lr, bm, mm):
            t.multiply_(0.5)
        opt.step()
        with quiet():
            sched.step(i)
        assert sched.base_lrs == [pytest.approx(0.1)] and sched.max_lrs == [pytest.approx(0.2)]
        assert opt.param_groups[0]["max_momentum"] == pytest.approx(0.9)
        assert opt.param_groups[0]["base_momentum"] == pytest.approx(0.8)


def test_tensor_lrs_stay_tensors_filled_in_place():
    opt = make_optimizer("adam")
    tensor = opt.param_groups[1]["lr"]
    sched = K.CosineAnnealingLR(opt, T_max=7)
    for _ in range(10):
        opt.step()
        sched.step()
        assert opt.param_groups[1]["lr"] is tensor and isinstance(opt.param_groups[0]["lr"], float)
        last = sched.get_last_lr()
        assert isinstance(last[1], torch.Tensor) and last[1] is not tensor and last[1].item() == tensor.item()


# =================================================================================================
# state
# =================================================================================================
def _builders():
    return {
        "LambdaLR": lambda o: K.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e),
        "StepLR": lambda o: K.StepLR(o, step_size=3, gamma=0.5),
        "MultiStepLR": lambda o: K.MultiStepLR(o, milestones=[2, 5, 5, 9]),
        "ConstantLR": lambda o: K.ConstantLR(o, factor=0.5, total_iters=4),
        "LinearLR": lambda o: K.LinearLR(o, start_factor=0.2, total_iters=6),
        "ExponentialLR": lambda o: K.ExponentialLR(o, gamma=0.9),
        "PolynomialLR": lambda o: K.PolynomialLR(o, total_iters=8, power=2.0),
        "CosineAnnealingLR": lambda o: K.CosineAnnealingLR(o, T_max=5, eta_min=1e-3),
        "CyclicLR": lambda o: K.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2"),
        "OneCycleLR": lambda o: K.OneCycleLR(o, max_lr=[0.1, 1.0], total_steps=40, three_phase=True),
        "CosineAnnealingWarmRestarts": lambda o: K.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-4),
        "ReduceLROnPlateau": lambda o: K.ReduceLROnPlateau(o, patience=1, min_lr=[0.001, 0.002]),
        "SequentialLR": lambda o: K.SequentialLR(o, [K.LinearLR(o, 0.1, total_iters=4), K.ExponentialLR(o, 0.9)], [4]),
        "ChainedScheduler": lambda o: K.ChainedScheduler([K.ConstantLR(o, 0.5, 3), K.ExponentialLR(o, 0.9)]),
    }


STATEFUL = sorted(_builders())


def _advance(sched, opt, k, edits=False):
    for i in range(k):
        opt.step()
        if isinstance(sched, T.ReduceLROnPlateau):  # (lrkit's is a subclass of torch's)
            sched.step(1.0 if i % 3 else 2.0)
        else:
            sched.step()
        if edits and i == 2:  # a hand edit before the checkpoint: the rebase is state too
            opt.param_groups[0]["lr"] *= 0.5


@pytest.mark.parametrize("name", STATEFUL)
def test_state_dict_is_plain_loads_weights_only_and_load_does_not_mutate(name):
    make = _builders()[name]
    opt = make_optimizer()
    sched = make(opt)
    _advance(sched, opt, 7, edits=True)
    state = sched.state_dict()
    assert is_plain(state), state
    loaded = save_load(state)
    assert loaded == state
    frozen = copy.deepcopy(loaded)
    opt2 = make_optimizer()
    opt2.load_state_dict(opt.state_dict())
    sched2 = make(opt2)
    sched2.load_state_dict(loaded)
    assert loaded == frozen, "load_state_dict modified its argument"
    assert sched2.state_dict() == state
    assert [value(v) for v in sched2.get_last_lr()] == [value(v) for v in sched.get_last_lr()]
    _advance(sched, opt, 5)
    _advance(sched2, opt2, 5)
    assert lrs_of(opt2) == lrs_of(opt)


@pytest.mark.parametrize("name", STATEFUL)
def test_restoring_the_optimizer_before_or_after_building_the_scheduler_is_the_same(name):
    """Three resume orders: (A) build, restore the optimizer, load; (B) restore the optimizer, build, load
    (torch's documented trap: building overwrites the restored LRs); (C) build, load, restore. lrkit gives
    one LR sequence and one state_dict for all three, equal to the uninterrupted run."""
    make = _builders()[name]
    opt = make_optimizer()
    sched = make(opt)
    _advance(sched, opt, 6)
    opt_state, sched_state = copy.deepcopy(opt.state_dict()), save_load(sched.state_dict())
    _advance(sched, opt, 6)
    expected = lrs_of(opt)
    results = []
    for order in "ABC":
        o = make_optimizer()
        if order == "A":
            s = make(o)
            o.load_state_dict(copy.deepcopy(opt_state))
            s.load_state_dict(sched_state)
        elif order == "B":
            o.load_state_dict(copy.deepcopy(opt_state))
            s = make(o)
            s.load_state_dict(sched_state)
        else:
            s = make(o)
            s.load_state_dict(sched_state)
            o.load_state_dict(copy.deepcopy(opt_state))
        _advance(s, o, 6)
        results.append((lrs_of(o), s.state_dict()))
    assert results[0] == results[1] == results[2]
    assert results[0][0] == expected


def test_resume_with_float32_tensor_lrs_is_bitwise():
    """A restored float32 tensor LR holds the rounded value: it is not mistaken for a hand edit."""
    def make(o):
        return K.CosineAnnealingLR(o, T_max=9, eta_min=1e-4)
    opt = make_optimizer(tensor=(True, True), dtype=torch.float32)
    sched = make(opt)
    for _ in range(5):
        opt.step()
        sched.step()
    opt_state, state = copy.deepcopy(opt.state_dict()), save_load(sched.state_dict())
    again = make_optimizer(tensor=(True, True), dtype=torch.float32)
    resumed = make(again)
    again.load_state_dict(opt_state)
    resumed.load_state_dict(state)
    for _ in range(40):
        for o, s in ((opt, sched), (again, resumed)):
            o.step()
            s.step()
        assert lrs_of(opt) == lrs_of(again)


def test_torch_state_dicts_load_into_the_drop_ins():
    """Migration: a torch scheduler's state_dict (the same class) loads into the lrkit drop-in, which goes on
    with torch's LRs."""
    for make in (lambda M, o: M.StepLR(o, 3, 0.5), lambda M, o: M.CosineAnnealingLR(o, 11, 1e-3),
                 lambda M, o: M.OneCycleLR(o, 0.5, total_steps=50), lambda M, o: M.ExponentialLR(o, 0.97)):
        opt_t = make_optimizer(tensor=(False, False))
        sched_t = make(T, opt_t)
        for _ in range(13):
            opt_t.step()
            sched_t.step()
        state = sched_t.state_dict()
        opt_k = make_optimizer(tensor=(False, False))
        opt_k.load_state_dict(opt_t.state_dict())
        sched_k = make(K, opt_k)
        sched_k.load_state_dict(state)
        for _ in range(20):
            opt_t.step()
            opt_k.step()
            sched_t.step()
            sched_k.step()
            assert_groups_match(opt_t, opt_k, "after migration")


@pytest.mark.parametrize("name", [n for n in STATEFUL if n != "ReduceLROnPlateau"])
def test_fresh_state_dict_round_trip_as_torch_tests_it(name):
    """torch's test_lr_scheduler_state_dict_load: save, load with weights_only=True, load into a new one."""
    make = _builders()[name]
    opt = make_optimizer()
    state = make(opt).state_dict()
    loaded = save_load(state)
    assert loaded == state
    again = make(opt)
    again.load_state_dict(loaded)
    assert again.state_dict() == state


def test_load_state_dict_restores_the_saved_hyperparameters_as_torch():
    """torch: the loaded state wins over the constructor's arguments (its _check_scheduler_state_dict)."""
    pairs = [(lambda o: K.StepLR(o, gamma=0.1, step_size=3), lambda o: K.StepLR(o, gamma=0.005, step_size=1)),
             (lambda o: K.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9]), lambda o: K.MultiStepLR(o, gamma=0.01, milestones=[1, 4, 6])),
             (lambda o: K.ExponentialLR(o, gamma=0.1), lambda o: K.ExponentialLR(o, gamma=0.01)),
             (lambda o: K.CosineAnnealingLR(o, T_max=10, eta_min=1e-10), lambda o: K.CosineAnnealingLR(o, T_max=5, eta_min=5e-11)),
             (lambda o: K.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2), lambda o: K.CosineAnnealingWarmRestarts(o, T_0=100)),
             (lambda o: K.CyclicLR(o, base_lr=1, max_lr=5, cycle_momentum=False, mode="triangular2"),
              lambda o: K.CyclicLR(o, base_lr=1, max_lr=5, cycle_momentum=False))]
    for first, second in pairs:
        opt = _torch_suite_opt()
        a = first(opt)
        for _ in range(10):
            opt.step()
            a.step()
        b = second(_torch_suite_opt())
        b.load_state_dict(a.state_dict())
        assert b.state_dict() == a.state_dict()
        assert [value(v) for v in b.get_last_lr()] == [value(v) for v in a.get_last_lr()]
        o1, o2 = a.optimizer, b.optimizer
        o2.load_state_dict(o1.state_dict())
        for _ in range(5):
            a.step()
            b.step()
            assert lrs_of(o1) == lrs_of(o2)


def test_lambda_lr_state_saves_callable_objects_only():
    class Factor:
        def __init__(self, value):
            self.value = value

        def __call__(self, epoch):
            return self.value * epoch

    opt = _torch_suite_opt()
    assert K.LambdaLR(opt, lr_lambda=lambda x: x).state_dict()["lr_lambdas"] == [None, None]
    sched = K.LambdaLR(opt, lr_lambda=Factor(10))
    state = sched.state_dict()
    assert state["lr_lambdas"][0] == {"value": 10}
    copy_ = K.LambdaLR(_torch_suite_opt(), lr_lambda=Factor(-1))
    copy_.load_state_dict(state)
    assert copy_.lr_lambdas[0].value == 10


def _decay(epoch):
    return 0.95 ** epoch


def _half(epoch):
    return 0.5


def _same_state_builders():
    """Every drop-in (and ScheduleLR), each built from the same function objects every time (so that
    LambdaLR's ``lr_lambdas`` compare equal, as torch's own test builds them)."""
    builders = dict(_builders())
    builders["LambdaLR"] = lambda o: K.LambdaLR(o, lr_lambda=_decay)
    builders["MultiplicativeLR"] = lambda o: K.MultiplicativeLR(o, lr_lambda=_half)
    builders["CyclicLR exp_range"] = lambda o: K.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                                          mode="exp_range", gamma=0.9)
    builders["OneCycleLR linear"] = lambda o: K.OneCycleLR(o, max_lr=0.1, total_steps=40, anneal_strategy="linear")
    builders["ScheduleLR"] = lambda o: K.ScheduleLR(o, "warmup(cosine(1.0, 0.0, steps=20), steps=3)", relative=True,
                                                    momentum="linear(0.9, 0.8, steps=10)",
                                                    plateau=lrkit.plateau(patience=1), reduce=None)
    return builders


def assert_same_vars(a, b, where):
    """``vars(a)[k] == vars(b)[k]`` for every key (torch's _check_scheduler_state_dict; both schedulers on
    one optimizer); the schedulers a composite holds are objects, compared the same way one by one."""
    assert vars(a).keys() == vars(b).keys(), where
    for key in vars(a):
        if key == "_schedulers":
            for i, (x, y) in enumerate(zip(a._schedulers, b._schedulers)):
                assert_same_vars(x, y, f"{where}._schedulers[{i}]")
            continue
        assert vars(a)[key] == vars(b)[key], f"{where}: {key}: {vars(a)[key]!r} != {vars(b)[key]!r}"


@pytest.mark.parametrize("name", sorted(_same_state_builders()))
def test_same_state_same_attributes_as_torch(name):
    """After ``b.load_state_dict(a.state_dict())`` two schedulers compare equal attribute by attribute, as
    torch's do: lrkit's hyperparameters (the scalings, the last write) are values with ``__eq__``; what
    they cache about the groups (the objects written, tensor versions) is not state and not compared.
    ``a`` has stepped, been edited by hand (a rebase) and stepped again."""
    make = _same_state_builders()[name]
    opt = make_optimizer(tensor=(False, False))
    a = make(opt)
    _advance(a, opt, 7, edits=True)
    with quiet():
        b = make(opt)
    b.load_state_dict(a.state_dict())
    assert_same_vars(a, b, name)
    if name.startswith("ScheduleLR"):
        a.report(1.0)
    _advance(a, opt, 3)  # and they stay equal: b follows the optimizer a drives
    with quiet():
        b.load_state_dict(a.state_dict())
    assert_same_vars(a, b, name)


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "CyclicLR", "OneCycleLR", "SequentialLR",
                                  "ReduceLROnPlateau"])
def test_torchs_own_classes_pass_the_same_attribute_check(name):
    """The check above is torch's property: its own classes pass it (on the same configurations)."""
    make = {"StepLR": lambda M, o: M.StepLR(o, step_size=3, gamma=0.5),
            "CosineAnnealingLR": lambda M, o: M.CosineAnnealingLR(o, T_max=5, eta_min=1e-3),
            "CyclicLR": lambda M, o: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2"),
            "OneCycleLR": lambda M, o: M.OneCycleLR(o, max_lr=[0.1, 1.0], total_steps=40, three_phase=True),
            "SequentialLR": lambda M, o: M.SequentialLR(o, [M.LinearLR(o, 0.1, total_iters=4),
                                                            M.ExponentialLR(o, 0.9)], [4]),
            "ReduceLROnPlateau": lambda M, o: M.ReduceLROnPlateau(o, patience=1)}[name]
    for M in (T, K):
        opt = make_optimizer(tensor=(False, False))
        a = make(M, opt)
        with quiet():
            _advance(a, opt, 7)
            b = make(M, opt)
        b.load_state_dict(a.state_dict())
        assert_same_vars(a, b, f"{M.__name__}.{name}")


class _OldTorchOneCycle:
    """Where torch < 2.0 kept OneCycleLR's anneal functions: instance methods (``anneal_func`` was bound)."""

    def _annealing_cos(self, start, end, pct):
        raise AssertionError("a state_dict is data: lrkit never calls its functions")

    def _annealing_linear(self, start, end, pct):
        raise AssertionError("a state_dict is data: lrkit never calls its functions")


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("saved_as", ["function", "bound method"])
def test_onecycle_state_dict_saved_by_an_older_torch_loads(strategy, saved_as):
    """torch < 2.3 saved OneCycleLR's ``anneal_func`` (``OneCycleLR._annealing_cos`` / ``_annealing_linear``,
    a function; before torch 2.0 a bound method) instead of ``_anneal_func_type``. Such a state, made from
    torch 2.13's the way the older torch saved it, loads into lrkit's OneCycleLR built with the other
    strategy: the saved one wins (as every saved argument), the argument is not modified, and the run goes
    on with torch's LRs."""
    def make(M, o, anneal):
        return M.OneCycleLR(o, max_lr=[0.5, 0.05], total_steps=50, anneal_strategy=anneal)

    opt_t = make_optimizer(tensor=(False, False))
    sched_t = make(T, opt_t, strategy)
    for _ in range(13):
        opt_t.step()
        sched_t.step()
    old = {k: v for k, v in sched_t.state_dict().items() if k != "_anneal_func_type"}
    if saved_as == "function":
        old["anneal_func"] = getattr(T.OneCycleLR, f"_annealing_{strategy}")
    else:
        old["anneal_func"] = getattr(_OldTorchOneCycle(), f"_annealing_{strategy}")
    frozen = dict(old)
    opt_k = make_optimizer(tensor=(False, False))
    opt_k.load_state_dict(opt_t.state_dict())
    other = "linear" if strategy == "cos" else "cos"
    sched_k = make(K, opt_k, other)
    sched_k.load_state_dict(old)
    assert old == frozen
    assert sched_k._anneal_func_type == strategy and sched_k.state_dict()["_anneal_func_type"] == strategy
    ignored = make(T, make_optimizer(tensor=(False, False)), other)
    ignored.load_state_dict(dict(old))
    assert ignored._anneal_func_type == other  # torch 2.13 keeps its constructor's (README: deliberate differences)
    for _ in range(37):
        opt_t.step()
        opt_k.step()
        sched_t.step()
        sched_k.step()
        assert_groups_match(opt_t, opt_k, f"old {strategy} state", abs_bounds=_bounds(
            "OneCycleLR", {"anneal_strategy": strategy, "max_lr": [0.5, 0.05]}))


def test_onecycle_state_dict_with_an_unknown_anneal_func_is_refused_unchanged():
    opt = make_optimizer(tensor=(False, False))
    sched = K.OneCycleLR(opt, max_lr=0.5, total_steps=50)
    for _ in range(5):
        opt.step()
        sched.step()
    before, lrs = sched.state_dict(), lrs_of(opt)
    state = {k: v for k, v in before.items() if k != "_anneal_func_type"}
    state["anneal_func"] = print
    with pytest.raises(lrkit.LrkitValueError, match=r"anneal_func.*_annealing_cos.*<built-in function print>"):
        sched.load_state_dict(state)
    assert sched.state_dict() == before and lrs_of(opt) == lrs


# =================================================================================================
# warnings
# =================================================================================================
def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught]


def test_step_order_warning_is_torchs():
    """scheduler.step() before optimizer.step(): the same warning text as torch, once; none in the right
    order; none when building."""
    messages = {}
    for M in (T, K):
        opt = _torch_suite_opt()
        assert _warnings_of(lambda: M.StepLR(opt, gamma=0.1, step_size=3)) == []
        sched = M.StepLR(opt, gamma=0.1, step_size=3)

        def old_pattern():
            for _ in range(5):
                sched.step()
                opt.step()
        messages[M] = _warnings_of(old_pattern)
    assert messages[K] == messages[T] and len(messages[K]) == 1 and "how-to-adjust-learning-rate" in messages[K][0]
    opt = _torch_suite_opt()
    sched = K.StepLR(opt, gamma=0.1, step_size=3)

    def new_pattern():
        for _ in range(5):
            opt.step()
            sched.step()
    assert _warnings_of(new_pattern) == []


def test_no_step_order_false_alarm_when_grad_scaler_skips_the_first_step():
    """torch.amp.GradScaler skips optimizer.step() when a gradient is inf: torch's scheduler then warns
    about the order (a false alarm); lrkit's does not. A real wrong order still warns."""
    def run(M, wrong_order=False):
        model = torch.nn.Linear(2, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 16)
        sched = M.ExponentialLR(opt, gamma=0.9)
        caught = []
        for i in range(3):
            opt.zero_grad()
            loss = model(torch.ones(1, 2)).sum() * (float("inf") if i == 0 else 1.0)
            scaler.scale(loss).backward()
            with warnings.catch_warnings(record=True) as ws:
                warnings.simplefilter("always")
                if wrong_order:
                    sched.step()
                scaler.step(opt)
                scaler.update()
                if not wrong_order:
                    sched.step()
            caught += [str(w.message) for w in ws if "lr_scheduler.step()" in str(w.message)]
        return caught
    assert run(T) != []  # torch: a false alarm
    assert run(K) == []
    assert run(K, wrong_order=True) == []  # the AMP skip hides the first wrong step; documented
    opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    sched = K.ExponentialLR(opt, 0.9)
    opt.zero_grad()
    torch.nn.Linear(2, 1)(torch.ones(1, 2)).sum().backward()
    assert len(_warnings_of(sched.step)) == 1


def test_get_lr_outside_step_warns_as_torch():
    opt = _torch_suite_opt()
    sched = K.StepLR(opt, 3)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        values = sched.get_lr()
    assert [value(v) for v in values] == lrs_of(opt)


def test_sequential_lr_steps_without_warnings():
    opt = _torch_suite_opt()
    sched = K.SequentialLR(opt, [K.LinearLR(opt, start_factor=0.5, end_factor=0.1, total_iters=5),
                                 K.ExponentialLR(opt, gamma=0.9)], milestones=[5])
    for _ in range(10):
        opt.step()
        assert _warnings_of(sched.step) == []


def test_sequential_lr_keeps_the_initial_lr():
    """torch's test_sequentiallr4: building the schedulers does not change the LR SequentialLR starts at."""
    opt = torch.optim.SGD([torch.tensor(0.5)], lr=0.1)
    K.SequentialLR(opt, [K.ConstantLR(opt, factor=1), K.ConstantLR(opt, factor=0.1)], milestones=[10])
    assert opt.param_groups[0]["lr"] == 0.1


def test_custom_subclass_with_get_lr_works_like_torch():
    """lrkit.torch.LRScheduler is a base for torch-style subclasses too (``get_lr`` protocol)."""
    class Halving(K.LRScheduler):
        def get_lr(self):
            return [base * 0.5 ** self.last_epoch for base in self.base_lrs]

    class Broken(K.LRScheduler):
        def get_lr(self, step):  # torch's test_error_when_getlr_has_epoch
            return []

    opt = make_optimizer(tensor=(False, False))
    sched = Halving(opt)
    for k in range(4):
        assert lrs_of(opt) == [0.05 * 0.5 ** k, 0.5 * 0.5 ** k]
        opt.step()
        sched.step()
    with pytest.raises(TypeError):
        Broken(make_optimizer())


def test_no_reference_cycles():
    """torch's test_no_cyclic_references: nothing refers to the optimizer once the scheduler is gone."""
    import gc
    param = torch.nn.Parameter(torch.empty(10))
    optim = torch.optim.SGD([param], lr=0.5)
    scheduler = K.LambdaLR(optim, lambda epoch: 1.0)
    del scheduler
    assert len(gc.get_referrers(optim)) == 0


# =================================================================================================
# bad input: torch's errors keep their type; what torch accepts silently gets lrkit's error
# =================================================================================================
def _opt():
    return _torch_suite_opt()


def _resumed_opt():
    opt = _torch_suite_opt()
    for g in opt.param_groups:
        g["initial_lr"] = 0.05
    return opt


BAD = [
    # (id, build(M), torch raises?, error type)
    ("not an optimizer", lambda M: M.StepLR(object(), 3), True, TypeError),
    ("LambdaLR wrong count", lambda M: M.LambdaLR(_opt(), [lambda e: 1.0]), True, ValueError),
    ("MultiplicativeLR not callable", lambda M: M.MultiplicativeLR(_opt(), 0.95), True, TypeError),
    ("ConstantLR factor > 1", lambda M: M.ConstantLR(_opt(), factor=1.5), True, ValueError),
    ("LinearLR start_factor 0", lambda M: M.LinearLR(_opt(), start_factor=0.0), True, ValueError),
    ("LinearLR start_factor 1.1", lambda M: M.LinearLR(_opt(), start_factor=1.1), True, ValueError),
    ("LinearLR end_factor -0.1", lambda M: M.LinearLR(_opt(), end_factor=-0.1), True, ValueError),
    ("CyclicLR bad mode", lambda M: M.CyclicLR(_opt(), base_lr=0, max_lr=0, mode="CATS"), True, ValueError),
    ("CyclicLR no momentum", lambda M: M.CyclicLR(torch.optim.Rprop([torch.nn.Parameter(torch.zeros(1))]), base_lr=1, max_lr=5), True, ValueError),
    ("CyclicLR base_lr count", lambda M: M.CyclicLR(_opt(), base_lr=[0.1], max_lr=1.0), True, ValueError),
    ("OneCycleLR anneal", lambda M: M.OneCycleLR(_opt(), max_lr=1e-3, total_steps=10, anneal_strategy="CATS"), True, ValueError),
    ("OneCycleLR pct_start 1.1", lambda M: M.OneCycleLR(_opt(), max_lr=1e-3, total_steps=10, pct_start=1.1), True, ValueError),
    ("OneCycleLR no total", lambda M: M.OneCycleLR(_opt(), max_lr=1e-3), True, ValueError),
    ("OneCycleLR total 0", lambda M: M.OneCycleLR(_opt(), max_lr=1e-3, total_steps=0), True, ValueError),
    ("OneCycleLR epochs 0", lambda M: M.OneCycleLR(_opt(), max_lr=1e-3, epochs=0, steps_per_epoch=3), True, ValueError),
    ("OneCycleLR max_lr count", lambda M: M.OneCycleLR(_opt(), max_lr=[1e-3], total_steps=10), True, ValueError),
    ("WarmRestarts T_0 0", lambda M: M.CosineAnnealingWarmRestarts(_opt(), T_0=0), True, ValueError),
    ("WarmRestarts T_0 float", lambda M: M.CosineAnnealingWarmRestarts(_opt(), T_0=2.5), True, ValueError),
    ("WarmRestarts T_mult 0", lambda M: M.CosineAnnealingWarmRestarts(_opt(), T_0=2, T_mult=0), True, ValueError),
    ("WarmRestarts eta_min str", lambda M: M.CosineAnnealingWarmRestarts(_opt(), T_0=2, eta_min="0"), True, ValueError),
    ("Plateau factor 1", lambda M: M.ReduceLROnPlateau(_opt(), factor=1.0), True, ValueError),
    ("Plateau mode", lambda M: M.ReduceLROnPlateau(_opt(), mode="middle"), True, ValueError),
    ("Plateau threshold_mode", lambda M: M.ReduceLROnPlateau(_opt(), threshold_mode="x"), True, ValueError),
    ("Plateau min_lr count", lambda M: M.ReduceLROnPlateau(_opt(), min_lr=[0.1]), True, ValueError),
    ("SequentialLR empty", lambda M: M.SequentialLR(_opt(), [], []), True, ValueError),
    ("SequentialLR milestones count", lambda M: (lambda o: M.SequentialLR(o, [M.StepLR(o, 2), M.StepLR(o, 2)], []))(_opt()), True, ValueError),
    ("SequentialLR plateau", lambda M: (lambda o: M.SequentialLR(o, [M.StepLR(o, 2), M.ReduceLROnPlateau(o)], [2]))(_opt()), True, ValueError),
    ("SequentialLR other optimizer", lambda M: (lambda o: M.SequentialLR(o, [M.StepLR(o, 2), M.StepLR(_opt(), 2)], [2]))(_opt()), True, ValueError),
    ("SequentialLR no optimizer attr", lambda M: M.SequentialLR(_opt(), [object()], []), True, TypeError),
    ("ChainedScheduler empty", lambda M: M.ChainedScheduler([]), True, ValueError),
    ("ChainedScheduler plateau", lambda M: (lambda o: M.ChainedScheduler([M.StepLR(o, 2), M.ReduceLROnPlateau(o)]))(_opt()), True, ValueError),
    # ---- torch accepts these silently (or fails later, inside step): lrkit refuses at construction
    ("StepLR step_size 0", lambda M: M.StepLR(_opt(), step_size=0), False, ValueError),
    ("StepLR step_size -3", lambda M: M.StepLR(_opt(), step_size=-3), False, ValueError),
    ("StepLR step_size 2.5", lambda M: M.StepLR(_opt(), step_size=2.5), False, ValueError),
    ("StepLR gamma -0.5", lambda M: M.StepLR(_opt(), step_size=2, gamma=-0.5), False, ValueError),
    ("StepLR gamma nan", lambda M: M.StepLR(_opt(), step_size=2, gamma=float("nan")), False, ValueError),
    ("ExponentialLR gamma -1", lambda M: M.ExponentialLR(_opt(), gamma=-1.0), False, ValueError),
    ("ExponentialLR gamma nan", lambda M: M.ExponentialLR(_opt(), gamma=float("nan")), False, ValueError),
    ("ExponentialLR gamma inf", lambda M: M.ExponentialLR(_opt(), gamma=float("inf")), False, ValueError),
    ("MultiStepLR unsorted", lambda M: M.MultiStepLR(_opt(), milestones=[5, 2]), False, ValueError),
    ("MultiStepLR negative", lambda M: M.MultiStepLR(_opt(), milestones=[-1, 2]), False, ValueError),
    ("MultiStepLR gamma nan", lambda M: M.MultiStepLR(_opt(), milestones=[2], gamma=float("nan")), False, ValueError),
    ("ConstantLR factor nan", lambda M: M.ConstantLR(_opt(), factor=float("nan")), False, ValueError),
    ("ConstantLR total_iters 0", lambda M: M.ConstantLR(_opt(), total_iters=0), False, ValueError),
    ("LinearLR total_iters 0", lambda M: M.LinearLR(_opt(), total_iters=0), False, ValueError),
    ("LinearLR total_iters -2", lambda M: M.LinearLR(_opt(), total_iters=-2), False, ValueError),
    ("PolynomialLR total_iters 0", lambda M: M.PolynomialLR(_opt(), total_iters=0), False, ValueError),
    ("PolynomialLR power 0", lambda M: M.PolynomialLR(_opt(), power=0.0), False, ValueError),
    ("PolynomialLR power -1", lambda M: M.PolynomialLR(_opt(), power=-1.0), False, ValueError),
    ("CosineAnnealingLR T_max 0", lambda M: M.CosineAnnealingLR(_opt(), T_max=0), False, ValueError),
    ("CosineAnnealingLR T_max -5", lambda M: M.CosineAnnealingLR(_opt(), T_max=-5), False, ValueError),
    ("CosineAnnealingLR eta_min -1", lambda M: M.CosineAnnealingLR(_opt(), T_max=5, eta_min=-1.0), False, ValueError),
    ("CyclicLR step_size_up 0", lambda M: M.CyclicLR(_opt(), base_lr=0.1, max_lr=1.0, step_size_up=-2), False, ValueError),
    ("CyclicLR scale_mode", lambda M: M.CyclicLR(_opt(), base_lr=0.1, max_lr=1.0, scale_fn=lambda x: 1.0, scale_mode="epochs"), False, ValueError),
    ("OneCycleLR pct_start * total <= 1", lambda M: M.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, pct_start=0.05), False, ValueError),
    ("OneCycleLR three_phase no room", lambda M: M.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, pct_start=0.6, three_phase=True), False, ValueError),
    ("OneCycleLR div_factor 0", lambda M: M.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, div_factor=0.0), False, (ValueError, ZeroDivisionError)),
    ("OneCycleLR max_lr nan", lambda M: M.OneCycleLR(_opt(), max_lr=float("nan"), total_steps=10), False, ValueError),
    ("WarmRestarts eta_min -1", lambda M: M.CosineAnnealingWarmRestarts(_opt(), T_0=3, eta_min=-1.0), False, ValueError),
    ("Plateau factor -0.5", lambda M: M.ReduceLROnPlateau(_opt(), factor=-0.5), False, ValueError),
    ("Plateau patience -1", lambda M: M.ReduceLROnPlateau(_opt(), patience=-1), False, ValueError),
    ("Plateau cooldown 1.5", lambda M: M.ReduceLROnPlateau(_opt(), cooldown=1.5), False, TypeError),
    ("Plateau threshold -1", lambda M: M.ReduceLROnPlateau(_opt(), threshold=-1.0), False, ValueError),
    ("Plateau min_lr -1", lambda M: M.ReduceLROnPlateau(_opt(), min_lr=-1.0), False, ValueError),
    ("Plateau eps nan", lambda M: M.ReduceLROnPlateau(_opt(), eps=float("nan")), False, ValueError),
    ("SequentialLR unsorted milestones", lambda M: (lambda o: M.SequentialLR(o, [M.StepLR(o, 2), M.StepLR(o, 3), M.StepLR(o, 4)], [5, 3]))(_opt()), False, ValueError),
    ("last_epoch -5", lambda M: M.StepLR(_resumed_opt(), 2, last_epoch=-5), False, ValueError),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input(case):
    _, build, torch_raises, error = case
    if torch_raises:
        with quiet(), pytest.raises(error):
            build(T)
    else:
        with quiet():
            try:
                build(T)
            except ZeroDivisionError:
                pass  # torch may crash with a ZeroDivisionError; it never names the argument
    with pytest.raises(error) as info:
        build(K)
    if not torch_raises:
        assert isinstance(info.value, lrkit.LrkitError), info.value
        assert any(word in str(info.value) for word in ("must", "got")), str(info.value)


def test_onecycle_total_steps_exceeded_raises_before_anything_changes():
    for M in (T, K):
        opt = _opt()
        sched = M.OneCycleLR(opt, max_lr=0.1, total_steps=10)
        for _ in range(10):
            opt.step()
            sched.step()  # the 10th scheduler step is torch's extra evaluation past the end: allowed
        before = lrs_of(opt)
        with pytest.raises(ValueError, match="Tried to step 11 times"):
            sched.step()
        assert lrs_of(opt) == before
    assert sched.last_epoch == 10  # lrkit: unchanged (torch has already moved it to 11)


def test_add_param_group_after_the_scheduler_is_refused_clearly():
    opt = _opt()
    sched = K.StepLR(opt, 2)
    opt.step()
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.3})
    with pytest.raises(ValueError, match="param groups"):
        sched.step()


def test_cyclic_custom_scale_fn_on_cycles():
    opt_t, opt_k = _opt(), _opt()
    kwargs = {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3, "scale_fn": lambda c: 1 / c, "cycle_momentum": False}
    sched_t, sched_k = T.CyclicLR(opt_t, **kwargs), K.CyclicLR(opt_k, **kwargs)
    for k in range(40):
        assert_groups_match(opt_t, opt_k, f"step {k}")
        opt_t.step()
        opt_k.step()
        sched_t.step()
        sched_k.step()


def test_drop_ins_are_the_torch_classes_for_frameworks():
    """Lightning, HF and Accelerate test isinstance against torch's classes."""
    opt = _opt()
    assert isinstance(K.ReduceLROnPlateau(opt), T.ReduceLROnPlateau)
    for name in ["LambdaLR", "StepLR", "OneCycleLR", "CyclicLR", "SequentialLR", "ChainedScheduler", "ScheduleLR"]:
        assert issubclass(getattr(K, name), T.LRScheduler), name
    assert K.OneCycleLR.__init__.__code__.co_varnames[:14] == T.OneCycleLR.__init__.__code__.co_varnames[:14]
    import inspect
    for name in NAMES + ["ReduceLROnPlateau", "SequentialLR", "ChainedScheduler"]:
        ours = inspect.signature(getattr(K, name))
        theirs = inspect.signature(getattr(T, name))
        for p in theirs.parameters.values():
            assert p.name in ours.parameters, (name, p.name)
            assert ours.parameters[p.name].default == p.default, (name, p.name)
