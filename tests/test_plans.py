"""Plans that change (issue 15): the core's plan surgery and resume rule, and the adapters that apply it.

The values are checked against their definitions (continuity at the fork, the new end, the policy's
curve); the torch adapters are run on real optimizers; Keras through ``load_model``; optax under jit.
"""
import math
import warnings

import numpy as np
import pytest

import lrkit
from lrkit import LrkitValueError
from lrkit._plans import diff

OLD, NEW = lrkit.cosine(1.0, 0.0, steps=100), lrkit.cosine(1.0, 0.0, steps=200)
BASES = [
    lrkit.cosine(1.0, 0.0, steps=100),
    lrkit.warmup(lrkit.linear(3e-4, 0.0, steps=900), steps=100),
    lrkit.wsd(1.0, steps=1000, warmup=50, decay=200),
    lrkit.one_cycle(0.1, steps=500),
    lrkit.linear_to_zero(1.0, steps=300),
]


# ---- the resume rule ---------------------------------------------------------------------------------
def test_replan_policies():
    assert lrkit.replan(OLD, NEW, 30, "keep") is OLD
    assert lrkit.replan(OLD, NEW, 30, "new") is NEW
    smooth = lrkit.replan(OLD, NEW, 30, "smooth")
    assert smooth == lrkit.rejoin(OLD, NEW, at=30)
    assert lrkit.replan(OLD, OLD, 30) is OLD  # unchanged: no policy needed
    assert lrkit.replan(smooth, NEW, 60) is smooth  # a plan chosen on an earlier resume continues


def test_replan_raises_by_default_with_both_schedules_the_step_and_the_jump():
    with pytest.raises(LrkitValueError) as info:
        lrkit.replan(OLD, NEW, 30)
    text = str(info.value)
    assert "steps=100" in text and "steps=200" in text and "step 30" in text
    assert f"{OLD(30):.6g} -> {NEW(30):.6g}" in text
    for policy in ("'keep'", "'new'", "'smooth'"):
        assert policy in text


def test_replan_quotes_long_schedules_as_bounded_excerpts():
    long = lrkit.piecewise_constant(list(range(1, 2000)), [1.0] * 2000)
    with pytest.raises(LrkitValueError) as info:
        lrkit.replan(long, NEW, 30)
    assert len(str(info.value)) < 1200


def test_a_bad_policy_is_named():
    with pytest.raises(LrkitValueError, match="on_change must be one of.*got 'maybe'"):
        lrkit.replan(OLD, NEW, 3, "maybe")


@pytest.mark.parametrize("old", BASES)
@pytest.mark.parametrize("fraction", [0.1, 0.4, 0.7])
def test_smooth_is_continuous_and_ends_where_the_new_plan_ends(old, fraction):
    end = old.end_step()
    at = math.floor(fraction * end)
    new = lrkit.extend(old, steps=2 * end, at=0, how="stretch") if old(0) != old(end) else old
    s = lrkit.rejoin(old, new, at=at)
    assert s(at) == pytest.approx(old(at), rel=1e-12)
    assert s(at - 1) == old(at - 1) if at >= 1 else True
    assert s(2 * end) == pytest.approx(new(2 * end), abs=1e-15)
    ts = np.arange(at, 2 * end + 1.0)
    assert (s(ts) >= 0).all()
    assert s.end_step() == new.end_step()


def test_smooth_refuses_a_new_plan_already_at_its_end():
    with pytest.raises(LrkitValueError, match="final value.*on_change='new'"):
        lrkit.replan(OLD, lrkit.cosine(1.0, 0.0, steps=10), 30, "smooth")


# ---- plan surgery ------------------------------------------------------------------------------------
@pytest.mark.parametrize("old", BASES)
@pytest.mark.parametrize("how", ["stretch", "hold"])
def test_extend_is_continuous_and_ends_at_the_new_total(old, how):
    end = old.end_step()
    at = math.floor(0.6 * end)
    s = lrkit.extend(old, steps=3 * end, at=at, how=how)
    assert [s(t) for t in range(at + 1)] == [old(t) for t in range(at + 1)]
    assert s.end_step() == 3 * end and s(3 * end) == pytest.approx(old(end), abs=1e-15)
    assert s(3 * end + 7) == s(3 * end)
    if how == "hold":
        assert s(at + 2 * end) == old(at)  # held for the 2 * end added updates
        assert s(3 * end - 1) == pytest.approx(old(end - 1), rel=1e-12)
    else:  # the remaining decay slowed down uniformly: half way in time is half way in the old steps
        assert s(at + (3 * end - at) / 2) == pytest.approx(old(at + (end - at) / 2), rel=1e-12)


def test_extend_errors():
    with pytest.raises(LrkitValueError, match="needs a schedule that ends"):
        lrkit.extend(lrkit.exponential(1.0, 0.9), steps=100, at=5)
    with pytest.raises(LrkitValueError, match="at must be before the schedule's end"):
        lrkit.extend(OLD, steps=200, at=150)
    with pytest.raises(LrkitValueError, match="steps .* must be >= the schedule's end"):
        lrkit.extend(OLD, steps=50, at=10)
    with pytest.raises(LrkitValueError, match="how must be one of"):
        lrkit.extend(OLD, steps=200, at=10, how="later")


@pytest.mark.parametrize("shape", ["1-sqrt", "linear", "cosine"])
@pytest.mark.parametrize("at", [100, 333, 749])
def test_cooldown_forks_anywhere_in_the_stable_phase(shape, at):
    run = lrkit.wsd(2.0, steps=1000, warmup=50, decay=200)  # stable from 50 to 800
    s = lrkit.cooldown(run, at=at, steps=100, shape=shape, end=0.1)
    assert [s(t) for t in range(at + 1)] == [run(t) for t in range(at + 1)]
    assert s(at + 100) == pytest.approx(0.1) and s(at + 500) == pytest.approx(0.1)
    assert s.end_step() == at + 100
    values = s(np.arange(at, at + 101.0))
    assert (np.diff(values) <= 1e-15).all()  # a cooldown only goes down


def test_cooldown_end_above_the_fork_is_refused():
    with pytest.raises(LrkitValueError, match="end must be <= the value at the fork"):
        lrkit.cooldown(lrkit.linear(1.0, 0.0, steps=10), at=8, steps=5, end=0.5)


def test_rewarm_continues_from_the_current_lr():
    """Ibrahim et al. 2024: re-warm from where the first run ended to a peak, then re-decay."""
    first = lrkit.cosine(3e-4, 3e-5, steps=1000)
    s = lrkit.rewarm(first, at=1000, peak=3e-4, warmup=100, steps=2000, end=3e-5)
    assert s(1000) == pytest.approx(3e-5) and s(1100) == pytest.approx(3e-4)
    assert s(1100 + 950) == pytest.approx((3e-4 + 3e-5) / 2)
    assert s(3000) == pytest.approx(3e-5) and s.end_step() == 3000
    with pytest.raises(LrkitValueError, match="warmup must be < steps"):
        lrkit.rewarm(first, at=10, peak=1.0, warmup=5, steps=5)


@pytest.mark.parametrize("s", [lrkit.rejoin(OLD, NEW, at=30), lrkit.extend(OLD, steps=300, at=40, how="hold"),
                               lrkit.cooldown(lrkit.wsd(1.0, steps=100, warmup=10, decay=20), at=50, steps=10),
                               lrkit.rewarm(OLD, at=100, peak=1.0, warmup=10, steps=100)])
def test_plan_values_print_save_and_load(s):
    assert lrkit.parse(repr(s)) == s
    assert lrkit.from_config(s.to_config()) == s
    assert repr(s).startswith(type(s).__name__ + "(")


def test_diff_finds_where_two_plans_differ():
    d = diff(OLD, NEW, at=30)
    assert d["first"] == 1.0 and d["last"] == 199.0
    assert d["at_old"] == OLD(30) and d["at_new"] == NEW(30)
    steps = np.arange(201.0)
    gap = np.abs(OLD(steps) - NEW(steps))
    assert d["largest"] == float(np.argmax(gap))
    same = diff(OLD, OLD)
    assert same["first"] is None and same["last"] is None


# ---- ScheduleLR --------------------------------------------------------------------------------------
torch = pytest.importorskip("torch")
import lrkit.torch as K  # noqa: E402


def _opt(groups=1):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1 * 10 ** -i}
                            for i in range(groups)], lr=0.1)


def _saved(make, steps=30, groups=1):
    opt = _opt(groups)
    sched = make(opt)
    for _ in range(steps):
        opt.step()
        sched.step()
    return opt, sched, sched.state_dict()


def test_schedule_lr_raises_and_changes_nothing():
    _, _, state = _saved(lambda o: K.ScheduleLR(o, OLD))
    opt = _opt()
    sched = K.ScheduleLR(opt, NEW)
    before = (sched.last_epoch, opt.param_groups[0]["lr"], dict(vars(sched)).keys())
    with pytest.raises(LrkitValueError, match="lr of param group 0 changed on resume at step 30"):
        sched.load_state_dict(state)
    assert (sched.last_epoch, opt.param_groups[0]["lr"], dict(vars(sched)).keys()) == before
    assert sched.plan_changes == []


@pytest.mark.parametrize("where", ["constructor", "load"])
@pytest.mark.parametrize("policy", ["keep", "new", "smooth"])
def test_schedule_lr_follows_the_chosen_policy(policy, where):
    _, old_sched, state = _saved(lambda o: K.ScheduleLR(o, OLD))
    opt = _opt()
    if where == "constructor":
        sched = K.ScheduleLR(opt, NEW, on_change=policy)
        sched.load_state_dict(state)
    else:
        sched = K.ScheduleLR(opt, NEW)
        sched.load_state_dict(state, on_change=policy)
    expected = lrkit.replan(OLD, NEW, 30, policy)
    got = [opt.param_groups[0]["lr"]]
    for _ in range(20):
        opt.step()
        sched.step()
        got.append(opt.param_groups[0]["lr"])
    assert got == [expected(k) for k in range(30, 51)]
    change, = sched.plan_changes
    assert change["step"] == 30 and change["policy"] == policy and change["old"] == OLD(30)
    assert change["new"] == NEW(30) and change["applied"] == expected(30)


def test_a_smooth_plan_is_saved_and_continues_on_the_next_resume():
    _, _, state = _saved(lambda o: K.ScheduleLR(o, OLD))
    opt = _opt()
    sched = K.ScheduleLR(opt, NEW, on_change="smooth")
    sched.load_state_dict(state)
    for _ in range(10):
        opt.step()
        sched.step()
    again = K.ScheduleLR(_opt(), NEW)  # the default policy: the saved rejoin continues NEW, no change
    again.load_state_dict(sched.state_dict())
    assert again.get_last_lr() == sched.get_last_lr() == [lrkit.rejoin(OLD, NEW, at=30)(40)]
    assert again.plan_changes == []


def test_schedule_lr_relative_groups_and_a_momentum_change():
    make_old = lambda o: K.ScheduleLR(o, OLD, momentum="constant(0.9)", relative=True)  # noqa: E731
    opt0 = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1},
                            {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.01}], lr=0.1, momentum=0.9)
    s0 = make_old(opt0)
    for _ in range(30):
        opt0.step()
        s0.step()
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1},
                           {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.01}], lr=0.1, momentum=0.9)
    sched = K.ScheduleLR(opt, NEW, momentum="constant(0.8)", relative=True, on_change="new")
    sched.load_state_dict(s0.state_dict())
    assert {(c["key"], c["group"]) for c in sched.plan_changes} == {("lr", 0), ("lr", 1), ("momentum", 0),
                                                                     ("momentum", 1)}
    assert [g["lr"] for g in opt.param_groups] == [0.1 * NEW(30), 0.01 * NEW(30)]
    assert [g["momentum"] for g in opt.param_groups] == [0.9 * 0.8] * 2  # relative: times initial_momentum


def test_schedule_lr_bad_policy():
    with pytest.raises(LrkitValueError, match="on_change must be one of"):
        K.ScheduleLR(_opt(), OLD, on_change="silently")


# ---- drop-ins ----------------------------------------------------------------------------------------
def test_drop_in_keeps_torchs_rule_and_warns_with_each_argument_and_the_lr():
    opt, old, state = _saved(lambda o: K.CosineAnnealingLR(o, T_max=100, eta_min=0.0))
    new = K.CosineAnnealingLR(_opt(), T_max=200, eta_min=0.001)
    with pytest.warns(K.PlanChangedWarning) as caught:
        new.load_state_dict(state)
    text = str(caught[0].message)
    assert "T_max 100 -> 200" in text and "eta_min 0.0 -> 0.001" in text
    assert f"{old.get_last_lr()[0]:.6g}" in text
    assert new.get_last_lr() == old.get_last_lr() and new.T_max == 100  # as torch: the saved ones win
    torch_new = torch.optim.lr_scheduler.CosineAnnealingLR(_opt(), T_max=200, eta_min=0.001)
    torch_new.load_state_dict(state)
    assert torch_new.T_max == new.T_max and torch_new.eta_min == new.eta_min
    assert new.plan_changes[0]["changes"] == {"T_max": [100, 200], "eta_min": [0.0, 0.001]}


def test_drop_in_policies():
    _, _, state = _saved(lambda o: K.MultiStepLR(o, milestones=[10, 50]))
    quiet = K.MultiStepLR(_opt(), milestones=[10, 80])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet.load_state_dict(state, on_change="keep")
    assert sorted(quiet.milestones.elements()) == [10, 50]
    opt = _opt()
    new = K.MultiStepLR(opt, milestones=[10, 80])
    new.load_state_dict(state, on_change="new")
    assert sorted(new.milestones.elements()) == [10, 80] and opt.param_groups[0]["lr"] == pytest.approx(0.01)
    for _ in range(30):
        opt.step()
        new.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)  # step 60: the new milestone 80 not reached
    with pytest.raises(LrkitValueError, match=r"milestones \[10, 50\] -> \[10, 80\]"):
        K.MultiStepLR(_opt(), milestones=[10, 80]).load_state_dict(state, on_change="raise")
    opt = _opt()
    smooth = K.MultiStepLR(opt, milestones=[10, 80])
    smooth.load_state_dict(state, on_change="smooth")  # the saved plan re-anchored onto the new one
    expected = lrkit.rejoin(K.MultiStepLR(_opt(), milestones=[10, 50]).schedules[0],
                            K.MultiStepLR(_opt(), milestones=[10, 80]).schedules[0], at=30)
    assert sorted(smooth.milestones.elements()) == [10, 80] and opt.param_groups[0]["lr"] == expected(30)
    _, _, lambda_state = _saved(lambda o: K.LambdaLR(o, lambda k: 0.5))
    with pytest.raises(LrkitValueError, match="LambdaLR cannot take on_change='smooth'.*function.*ScheduleLR"):
        K.LambdaLR(_opt(), lambda k: 0.5).load_state_dict(lambda_state, on_change="smooth")


def test_drop_in_unchanged_arguments_do_not_warn():
    _, _, state = _saved(lambda o: K.StepLR(o, step_size=7))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K.StepLR(_opt(), step_size=7).load_state_dict(state)


# ---- Keras and optax ---------------------------------------------------------------------------------
def test_keras_replan_after_load_model(tmp_path):
    keras = pytest.importorskip("keras")
    from lrkit.keras import KerasSchedule, replan
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(KerasSchedule(OLD)), loss="mse")
    x = np.random.default_rng(0).random((20, 3)).astype("float32")
    model.fit(x, x.sum(1, keepdims=True), batch_size=2, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    with pytest.raises(LrkitValueError, match="changed on resume at step 10"):
        replan(loaded.optimizer, NEW)
    chosen = replan(loaded.optimizer, NEW, on_change="smooth")
    assert chosen.schedule == lrkit.rejoin(OLD, NEW, at=10)
    loaded.fit(x, x.sum(1, keepdims=True), batch_size=2, epochs=1, verbose=0)  # updates 10..19
    assert float(loaded.optimizer.learning_rate) == pytest.approx(chosen.schedule(20), rel=1e-6)  # float32


def test_optax_resume():
    pytest.importorskip("optax")
    jax = pytest.importorskip("jax")
    from lrkit.optax import resume, to_optax
    saved = to_optax(OLD).schedule.to_config()
    with pytest.raises(LrkitValueError, match="changed on resume at step 30"):
        resume(saved, NEW, 30)
    lr = resume(saved, NEW, 30, on_change="smooth")
    expected = lrkit.rejoin(OLD, NEW, at=30)
    got = jax.jit(lr)(np.arange(30, 60))
    np.testing.assert_allclose(np.asarray(got), expected(np.arange(30.0, 60.0)), rtol=1e-6, atol=1e-7)
    assert resume(saved, OLD, 30).schedule == OLD


# ---- the command line --------------------------------------------------------------------------------
def _cli(argv, capsys):
    from lrkit.cli import main
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_diff_shows_where_the_plans_differ_the_jump_and_both_charts(capsys, tmp_path):
    code, out, _ = _cli(["diff", "cosine(1.0, 0.0, steps=100)", "cosine(1.0, 0.0, steps=200)", "--at", "30"], capsys)
    assert code == 0
    assert "differ from update 1 to 199" in out
    gap = np.abs(OLD(np.arange(201.0)) - NEW(np.arange(201.0)))
    k = int(np.argmax(gap))
    assert f"largest difference at update {k}: {OLD(k):.6g} -> {NEW(k):.6g}" in out
    assert f"resumed at update 30: the LR jumps {OLD(30):.6g} -> {NEW(30):.6g}" in out
    assert "rejoin(" in out and out.count("step  0") == 2  # a chart of each
    code, out, _ = _cli(["diff", "linear(1.0, 0.0, steps=10)", "linear(1.0, 0.0, steps=10)"], capsys)
    assert code == 0 and "identical over updates 0..10" in out


def test_cli_diff_draws_both_to_a_file(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "both.png"
    code, out, _ = _cli(["diff", "cosine(1.0, 0.0, steps=100)", "cosine(1.0, 0.0, steps=200)", "-o", str(path)],
                        capsys)
    assert code == 0 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_diff_errors(capsys):
    code, _, err = _cli(["diff", "cosine(1.0, 0.0, steps=100)", "cosine(1.0, 0.0, steps=-1)"], capsys)
    assert code == 2 and "steps must be > 0" in err
    code, _, err = _cli(["diff", "constant(1.0)", "constant(2.0)", "-o", "x.gif"], capsys)
    assert code == 2 and "-o/--output must end in" in err


def test_cli_show_and_describe_give_the_token_axis_and_the_unfinished_decay(capsys):
    spec = ("clocked(linear(1.0, 0.0, steps=1000000), unit='tokens', "
            "batch=batch_ramp(4, 16, increment=4, over=30000, seq_len=16), total=3000)")
    s = lrkit.parse(spec)
    code, out, _ = _cli(["show", spec], capsys)
    assert code == 0
    axis = next(line for line in out.splitlines() if line.strip().startswith("tokens"))
    assert "1,000,064" in axis  # the tokens before the last update shown
    code, out, _ = _cli(["describe", spec], capsys)
    assert code == 0 and "cannot finish within the run" in out and f"{int(s.time(3000))} tokens" in out


# ---- laws: the plan values over random schedules (test_laws' strategies) -----------------------------
from hypothesis import assume, given, strategies as st  # noqa: E402
from test_laws import FEW, schedules, steps_list  # noqa: E402


@st.composite
def plan_values(draw):
    """A plan value built on a random schedule that ends (and, for rejoin, a second one)."""
    base = draw(schedules)
    end = base.end_step()
    assume(end is not None and end >= 2)
    at = draw(st.integers(0, int(end) - 1))
    kind = draw(st.sampled_from(["extend", "cooldown", "rewarm", "rejoin"]))
    if kind == "extend":
        return lrkit.extend(base, steps=end + draw(st.integers(0, 500)), at=at,
                            how=draw(st.sampled_from(["stretch", "hold"])))
    if kind == "cooldown":
        return lrkit.cooldown(base, at=at, steps=draw(st.integers(1, 300)),
                              shape=draw(st.sampled_from(["1-sqrt", "linear", "cosine"])), end=base(at) * draw(
                                  st.floats(0.0, 1.0)))
    if kind == "rewarm":
        return lrkit.rewarm(base, at=at, peak=draw(st.floats(1e-4, 10.0)), warmup=draw(st.integers(1, 50)),
                            steps=draw(st.integers(51, 400)), end=draw(st.floats(0.0, 1e-4)))
    other = draw(schedules)
    assume(other(at) != lrkit._plans._final(other))
    try:
        return lrkit.rejoin(base, other, at=at)
    except LrkitValueError:  # the rescaled new plan can go below 0: refused at construction, as it must be
        assume(False)


@FEW
@given(plan_values(), steps_list)
def test_plan_values_obey_the_laws(s, ts):
    """Vectorised == scalar, the compiled path == the plain one, values within the bounds, the old plan
    kept before ``at`` and continuity at ``at`` (exact where the formula allows: the fork's value)."""
    from lrkit._compile import compile_scalar
    from lrkit._namespace import MATH
    t = np.asarray(ts, dtype=np.float64)
    curve = s(t)
    assert np.allclose(curve, [s(x) for x in ts], rtol=1e-12, atol=1e-300)
    fast = compile_scalar(s)
    for x in ts:
        assert fast(x) == float(s._f(x, MATH))
    low, high = s.bounds()
    assert (curve >= 0).all() and (curve >= low - 1e-12 * max(high if high < math.inf else 1, 1)).all()
    base = s.schedule
    at = float(s.at)
    before = t[t < at]
    assert np.array_equal(s(before), base(before))
    assert s(at) == pytest.approx(base(at), rel=1e-12, abs=1e-300)  # continuous at the fork
    assert lrkit.parse(repr(s)) == s and lrkit.from_config(s.to_config()) == s
