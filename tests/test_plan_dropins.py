"""The drop-ins resumed under new arguments with ``on_change="smooth"`` (issue 15).

A drop-in trained ``K`` updates under old arguments is resumed under new ones: its LR (and momentum) at
``K`` is the one the run had, and from there it follows each group's saved plan re-anchored onto the new
one, ``lrkit.rejoin(old, new, at=K)``, where ``old`` and ``new`` are read from torch's own schedulers built
with the two sets of arguments (``schedule_of``). The re-anchored plan saves and loads: a later round trip,
and a second resume under yet other arguments, give the same LRs bit for bit. Real torch optimizers
throughout; the Lightning resume is in ``tests/test_plan_frameworks.py``. Continuity at the resume step is
asserted to 4 ulps: ``rejoin`` computes ``f + (new(K) - f) * r`` there, a few roundings away from ``old(K)``;
the curve after it to 8 (16 after two re-anchorings) against the rejoin built from torch's schedulers (the
same formula through ``schedule_of``'s schedules, whose ``cos``/``pow`` may differ by an ulp); a round trip
through ``state_dict`` is bitwise (the same code on both sides).
"""
import os
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import lrkit  # noqa: E402
import lrkit.torch as K  # noqa: E402
from lrkit import LrkitValueError  # noqa: E402
from lrkit.torch import schedule_of  # noqa: E402
from ulps import within_ulps  # noqa: E402

T = torch.optim.lr_scheduler
AT = 30
#: (class, old arguments, new arguments, keys driven): a new total, a new decay, a new floor
CASES = {
    "StepLR": ("StepLR", dict(step_size=20, gamma=0.5), dict(step_size=40, gamma=0.5), ["lr"]),
    "MultiStepLR": ("MultiStepLR", dict(milestones=[20, 60]), dict(milestones=[20, 120], gamma=0.2), ["lr"]),
    "ConstantLR": ("ConstantLR", dict(factor=0.5, total_iters=40), dict(factor=0.25, total_iters=80), ["lr"]),
    "LinearLR": ("LinearLR", dict(start_factor=0.1, total_iters=50), dict(start_factor=0.1, total_iters=100),
                 ["lr"]),
    "ExponentialLR": ("ExponentialLR", dict(gamma=0.97), dict(gamma=0.99), ["lr"]),
    "PolynomialLR": ("PolynomialLR", dict(total_iters=100, power=2.0), dict(total_iters=200, power=2.0), ["lr"]),
    "CosineAnnealingLR": ("CosineAnnealingLR", dict(T_max=100, eta_min=1e-3), dict(T_max=200, eta_min=1e-4),
                          ["lr"]),
    "CyclicLR": ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=20),
                 dict(base_lr=0.01, max_lr=0.1, step_size_up=40), ["lr", "momentum"]),
    "OneCycleLR": ("OneCycleLR", dict(max_lr=0.1, total_steps=100), dict(max_lr=0.1, total_steps=200),
                   ["lr", "momentum"]),
    "CosineAnnealingWarmRestarts": ("CosineAnnealingWarmRestarts", dict(T_0=40, eta_min=1e-3),
                                    dict(T_0=80, eta_min=1e-3), ["lr"]),
}


def _opt(groups=2):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1 * 10 ** -i}
                            for i in range(groups)], lr=0.1, momentum=0.9)


def _run(opt, sched, steps, keys=("lr",)):
    """Step ``steps`` times; each update's values (per key, per group), the one before the first step included."""
    seen = [[[g[k] for g in opt.param_groups] for k in keys]]
    for _ in range(steps):
        opt.step()
        sched.step()
        seen.append([[g[k] for g in opt.param_groups] for k in keys])
    return seen


def _trained(name, args, steps=AT, groups=2):
    opt = _opt(groups)
    sched = getattr(K, name)(opt, **args)
    _run(opt, sched, steps)
    return opt, sched


def _plans(name, args, key, groups=2):
    """Each group's plan under ``args``, read from torch's own scheduler."""
    return schedule_of(getattr(T, name)(_opt(groups), **args), key)


def _close(got, expected, n=8):
    assert within_ulps(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), n).all(), (got, expected)


@pytest.mark.parametrize("where", ["constructor", "load"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_smooth_resume_is_continuous_and_follows_the_re_anchored_plan(case, where):
    name, old_args, new_args, keys = CASES[case]
    old_opt, old = _trained(name, old_args)
    state = old.state_dict()
    opt = _opt()
    if where == "constructor":
        sched = getattr(K, name)(opt, **new_args, on_change="smooth")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a chosen policy: no warning
            sched.load_state_dict(state)
    else:
        sched = getattr(K, name)(opt, **new_args)
        sched.load_state_dict(state, on_change="smooth")
    for key in keys:  # continuous at the resume step: the values the run had
        _close([g[key] for g in opt.param_groups], [g[key] for g in old_opt.param_groups], 4)
    seen = _run(opt, sched, 60, keys)
    for j, key in enumerate(keys):
        plans = [lrkit.rejoin(o, n, at=AT) for o, n in zip(_plans(name, old_args, key), _plans(name, new_args, key))]
        for k, values in enumerate(seen):
            _close(values[j], [p(AT + k) for p in plans])
    assert sched.plan_changes[-1]["policy"] == "smooth"
    saved = sched.state_dict()
    for arg, value in new_args.items():  # the new arguments are the scheduler's now (those torch saves)
        if arg in saved:
            assert saved[arg] == value


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_re_anchored_plan_saves_loads_and_re_anchors_again(case, tmp_path):
    name, old_args, new_args, keys = CASES[case]
    _, old = _trained(name, old_args)
    opt = _opt()
    sched = getattr(K, name)(opt, **new_args, on_change="smooth")
    sched.load_state_dict(old.state_dict())
    _run(opt, sched, 10)
    path = tmp_path / "sched.pt"
    torch.save(sched.state_dict(), path)
    saved = torch.load(path, weights_only=True)  # plain data: the plan as spec strings
    assert all(isinstance(s, str) for s in saved["lrkit"]["plan"]["lr"])
    # a round trip under the same new arguments, the default policy: no change found, the same LRs bit for bit
    opt2 = _opt()
    again = getattr(K, name)(opt2, **new_args)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again.load_state_dict(saved)
    assert again.plan_changes == ()
    assert _run(opt2, again, 35, keys) == _run(opt, sched, 35, keys)
    # a second resume under yet other arguments: the re-anchored plan is re-anchored again
    k2 = AT + 45
    newer_args = {a: (v * 2 if a in ("total_steps", "T_max", "total_iters", "step_size", "T_0", "step_size_up")
                      else v) for a, v in new_args.items()}
    if name == "MultiStepLR":
        newer_args["milestones"] = [20, 200]
    elif name == "ExponentialLR":
        newer_args["gamma"] = 0.995
    opt3, opt3b = _opt(), _opt()
    third = getattr(K, name)(opt3, **newer_args, on_change="smooth")
    third.load_state_dict(again.state_dict())
    from_original = getattr(K, name)(opt3b, **newer_args, on_change="smooth")
    from_original.load_state_dict(sched.state_dict())  # (the run that was never saved and loaded: the same bits)
    assert from_original.state_dict() == third.state_dict()
    for key in keys:
        _close([g[key] for g in opt3.param_groups], [g[key] for g in opt2.param_groups], 4)
    first = [lrkit.rejoin(o, n, at=AT) for o, n in zip(_plans(name, old_args, "lr"), _plans(name, new_args, "lr"))]
    second = [lrkit.rejoin(f, n, at=k2) for f, n in zip(first, _plans(name, newer_args, "lr"))]
    seen = _run(opt3, third, 30)
    for k, values in enumerate(seen):
        _close(values[0], [p(k2 + k) for p in second], 16)
    opt4 = _opt()
    fourth = getattr(K, name)(opt4, **newer_args)
    fourth.load_state_dict(third.state_dict())
    assert _run(opt4, fourth, 20, keys) == _run(opt3, third, 20, keys)


def test_a_new_floor_is_followed_per_group():
    """CosineAnnealingLR with eta_min 1e-3 -> 0 and T_max 100 -> 200: each group continues from its own LR
    and ends on the new plan's value, ``eta_min + (base_lr - eta_min) * ...`` with the new eta_min."""
    old_opt, old = _trained("CosineAnnealingLR", dict(T_max=100, eta_min=1e-3))
    opt = _opt()
    sched = K.CosineAnnealingLR(opt, T_max=200, eta_min=0.0, on_change="smooth")
    sched.load_state_dict(old.state_dict())
    assert sched.get_last_lr() == old.get_last_lr() or within_ulps(sched.get_last_lr(), old.get_last_lr(), 2).all()
    seen = _run(opt, sched, 200 - AT)
    _close(seen[-1][0], [0.0, 0.0])  # the new plan's end (its eta_min), in every group
    new_at = [0.1 * lrkit.cosine(1.0, 0.0, steps=200)(AT + 50), 0.01 * lrkit.cosine(1.0, 0.0, steps=200)(AT + 50)]
    old_at = [g["lr"] for g in old_opt.param_groups]
    new_here = [0.1 * lrkit.cosine(1.0, 0.0, steps=200)(AT), 0.01 * lrkit.cosine(1.0, 0.0, steps=200)(AT)]
    _close(seen[50][0], [n * o / h for n, o, h in zip(new_at, old_at, new_here)])  # the new shape, rescaled


# ---- what cannot be re-anchored ------------------------------------------------------------------------
def _refusals():
    def sequential(o):  # (a SequentialLR of drop-ins with plans re-anchors: tests/test_plan_composites.py)
        return K.SequentialLR(o, [K.LinearLR(o, total_iters=5), K.LambdaLR(o, lambda k: 0.9 ** k)], milestones=[5])

    return {
        "LambdaLR": (lambda o: K.LambdaLR(o, lambda k: 0.9 ** k), "function"),
        "MultiplicativeLR": (lambda o: K.MultiplicativeLR(o, lambda k: 0.99), "function"),
        "ReduceLROnPlateau": (lambda o: K.ReduceLROnPlateau(o), "metric"),
        "SWALR": (lambda o: K.SWALR(o, swa_lr=0.05), "anneals from the LR"),
        "SequentialLR": (sequential, "LambdaLR.*function"),
        "ChainedScheduler": (lambda o: K.ChainedScheduler([K.StepLR(o, 10), K.ExponentialLR(o, gamma=0.9)]),
                             "other schedulers"),
    }


@pytest.mark.parametrize("name", sorted(_refusals()))
def test_a_drop_in_without_a_plan_refuses_smooth_naming_itself(name):
    make, why = _refusals()[name]
    opt = _opt()
    sched = make(opt)
    state = sched.state_dict()
    with pytest.raises(LrkitValueError, match=f"{name} cannot take on_change='smooth': .*{why}.*ScheduleLR"):
        sched.load_state_dict(state, on_change="smooth")


def test_bad_on_change_at_construction_names_the_argument():
    with pytest.raises(LrkitValueError, match="on_change must be one of .*got 'smoothly'"):
        K.CosineAnnealingLR(_opt(), T_max=10, on_change="smoothly")


def test_a_new_plan_already_at_its_end_is_refused_and_changes_nothing():
    """PolynomialLR's total 100 -> 20, resumed at 30: the new plan is at its final value, nothing to re-anchor."""
    _, old = _trained("PolynomialLR", dict(total_iters=100))
    opt = _opt()
    sched = K.PolynomialLR(opt, total_iters=20, on_change="smooth")
    before = ([dict((k, v) for k, v in g.items() if k != "params") for g in opt.param_groups], sched.state_dict())
    with pytest.raises(LrkitValueError, match="PolynomialLR.*lr of param group 0: on_change='smooth' at step 30.*"
                                              "final value"):
        sched.load_state_dict(old.state_dict())
    assert ([dict((k, v) for k, v in g.items() if k != "params") for g in opt.param_groups],
            sched.state_dict()) == before


def test_a_state_with_a_bad_plan_is_refused():
    _, old = _trained("CosineAnnealingLR", dict(T_max=100))
    sched = K.CosineAnnealingLR(_opt(), T_max=200, on_change="smooth")
    sched.load_state_dict(old.state_dict())
    state = sched.state_dict()
    state["lrkit"]["plan"]["lr"][0] = "__import__('os').system('true')"
    fresh = K.CosineAnnealingLR(_opt(), T_max=200)
    with pytest.raises(LrkitValueError, match=r"\['plan'\]\['lr'\]\[0\] is not a schedule"):
        fresh.load_state_dict(state)
    state["lrkit"]["plan"]["lr"] = ["cosine(1.0, 0.0, steps=10)"]  # one plan for two groups
    with pytest.raises(LrkitValueError, match="must be a list of 2 specs"):
        fresh.load_state_dict(state)


# ---- random configurations -------------------------------------------------------------------------
_INTS = {"StepLR": ("step_size", 1, 60), "PolynomialLR": ("total_iters", 1, 150),
         "CosineAnnealingLR": ("T_max", 1, 150), "LinearLR": ("total_iters", 1, 150),
         "OneCycleLR": ("total_steps", 110, 200), "CosineAnnealingWarmRestarts": ("T_0", 1, 80)}
_FIXED = {"OneCycleLR": {"max_lr": 0.1}}
FUZZ = settings(max_examples=int(os.environ.get("LRKIT_FUZZ_EXAMPLES", "300")) // 15,
                derandomize="LRKIT_FUZZ_EXAMPLES" not in os.environ, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(name=st.sampled_from(sorted(_INTS)), data=st.data(), groups=st.integers(1, 3), at=st.integers(0, 59))
def test_random_smooth_resumes(name, data, groups, at):
    arg, lo, hi = _INTS[name]
    old_args = {arg: data.draw(st.integers(lo, hi), "old")}
    new_args = {arg: data.draw(st.integers(lo, hi), "new")}
    old_opt, old = _trained(name, {**old_args, **_FIXED.get(name, {})}, at, groups)
    opt = _opt(groups)
    sched = getattr(K, name)(opt, **new_args, **_FIXED.get(name, {}), on_change="smooth")
    try:
        sched.load_state_dict(old.state_dict())
    except LrkitValueError as error:  # only where the new plan has nothing left to re-anchor at ``at``
        assert "on_change='smooth'" in str(error) and "final value" in str(error)
        return
    _close([g["lr"] for g in opt.param_groups], [g["lr"] for g in old_opt.param_groups], 4)  # (rejoin's rounding)
    _run(opt, sched, data.draw(st.integers(0, 20), "steps"))
    opt2 = _opt(groups)
    again = getattr(K, name)(opt2, **new_args, **_FIXED.get(name, {}))
    again.load_state_dict(sched.state_dict())
    assert _run(opt2, again, 30) == _run(opt, sched, 30)
