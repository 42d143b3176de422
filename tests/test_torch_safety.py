"""lrkit.torch with hostile or wrong input (issue 12, torch side): the step-order warning points at the
user's line; ``load_state_dict`` validates the whole state, then applies it (a rejected load changes
nothing); a value written into an optimizer is finite and non-negative; the plateau stage's ``eps``."""
import math
import sys

from test_torch_dropins import _advance, _same_state_builders
from test_torch_support import K, T, lrs_of, make_optimizer, pytest, torch, warnings

import lrkit


# =================================================================================================
# the step-order warning points at the user's scheduler.step() line
# =================================================================================================
def _order_cases():
    builders = dict(_same_state_builders())
    builders.pop("ReduceLROnPlateau")  # (steps with a metric and checks no order, as torch's)
    builders.pop("CosineAnnealingWarmRestarts")  # (torch's checks no step order either)
    return builders


@pytest.mark.parametrize("name", sorted(_order_cases()))
def test_step_order_warning_points_at_the_users_step_call(name):
    opt = make_optimizer(tensor=(False, False))
    sched = _order_cases()[name](opt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        sched.step()
    order = [w for w in caught if "Detected call of `lr_scheduler.step()`" in str(w.message)]
    assert order, [str(w.message) for w in caught]  # (ChainedScheduler: one per member, as torch)
    assert {(w.filename, w.lineno) for w in order} == {(__file__, line)}


# =================================================================================================
# a value written into an optimizer is finite and non-negative
# =================================================================================================
def _opt(n):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1} for _ in range(n)], lr=0.1)


def _refused(opt, sched, step, match):
    before = [g["lr"] for g in opt.param_groups], sched.last_epoch, sched.get_last_lr()
    with pytest.raises(lrkit.LrkitValueError, match=match):
        step()
    assert ([g["lr"] for g in opt.param_groups], sched.last_epoch, sched.get_last_lr()) == before


@pytest.mark.parametrize("n", [1, 3, 60])  # (one group, a list, numpy: each group layout)
@pytest.mark.parametrize("bad", [-0.5, math.nan, math.inf])
def test_lambda_lr_factor_that_is_not_a_learning_rate_is_refused_before_writing(n, bad):
    opt = _opt(n)
    sched = K.LambdaLR(opt, lambda e: bad if e == 3 else 1.0)
    for _ in range(2):
        opt.step()
        sched.step()
    opt.step()
    _refused(opt, sched, sched.step, r"refusing to write lr=.* into param group 0 at step 3 \(schedule "
                                     r"\(function\(.*: a value written into an optimizer must be finite and "
                                     r"non-negative; nothing was written")


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_a_negative_hand_edit_is_not_rebased_on(name):
    """torch's chain multiplies a negative edit on; lrkit refuses the step and keeps its scale."""
    build = {"StepLR": lambda o: K.StepLR(o, 3, 0.5), "ExponentialLR": lambda o: K.ExponentialLR(o, 0.9),
             "CosineAnnealingLR": lambda o: K.CosineAnnealingLR(o, T_max=10)}[name]
    opt, ref = _opt(2), _opt(2)
    sched, ref_sched = build(opt), build(ref)
    opt.step(), sched.step(), ref.step(), ref_sched.step()
    opt.param_groups[1]["lr"] = -0.01
    opt.step()
    _refused(opt, sched, sched.step, r"lr=-.* into param group 1 at step 2")
    opt.param_groups[1]["lr"] = ref.param_groups[1]["lr"]  # (the edit undone: the curve goes on as before)
    for _ in range(5):
        opt.step(), sched.step(), ref.step(), ref_sched.step()
        assert lrs_of(opt) == lrs_of(ref)


def test_schedule_lr_refuses_a_negative_value():
    opt = _opt(2)
    sched = K.ScheduleLR(opt, lrkit.function(lambda k: 0.1 - 0.04 * k))
    for _ in range(2):
        opt.step()
        sched.step()
    opt.step()
    _refused(opt, sched, sched.step, r"lr=-0\.0(2|1999).* into param group 0 at step 3")


# =================================================================================================
# the plateau stage of ScheduleLR skips a cut below eps, as torch's ReduceLROnPlateau
# =================================================================================================
def test_plateau_stage_skips_a_cut_below_eps_as_torch():
    """Group 0 at 1.5e-8: halving it cuts 7.5e-9 < eps=1e-8, which torch skips (group 1, at 1.0, is cut)."""
    lrs = (1.5e-8, 1.0)
    opt_t, opt_k = _opt(2), _opt(2)
    for o in (opt_t, opt_k):
        for g, lr in zip(o.param_groups, lrs):
            g["lr"] = lr
    torch_sched = T.ReduceLROnPlateau(opt_t, factor=0.5, patience=0)
    sched = K.ScheduleLR(opt_k, "constant(1.0)", relative=True, plateau=lrkit.plateau(factor=0.5, patience=0),
                         reduce=None)
    for epoch in range(6):
        opt_t.step(), opt_k.step()
        torch_sched.step(1.0)
        sched.step()
        sched.report(1.0)
        assert lrs_of(opt_k) == lrs_of(opt_t), epoch
    assert lrs_of(opt_k)[0] == 1.5e-8 and lrs_of(opt_k)[1] < 0.1
    resumed = K.ScheduleLR(_opt(2), "constant(1.0)", relative=True, plateau=lrkit.plateau(factor=0.5, patience=0),
                           reduce=None)
    resumed.load_state_dict(sched.state_dict())
    assert resumed._plateau_skips == sched._plateau_skips == [5, 0]
