"""The composites resumed under a changed plan: ``SequentialLR`` re-anchors its whole plan
(``on_change="smooth"``), the policy reaches the members of both composites, ``ChainedScheduler`` refuses
what it cannot do, naming itself and why.

A ``SequentialLR`` trained ``AT`` updates under old arguments (members' and milestones) is resumed under new
ones: its LR at ``AT`` is the run's, and from there it follows ``lrkit.rejoin(old, new, at=AT)`` of the plans
read from torch's own ``SequentialLR`` built with the two sets of arguments (``schedule_of``), to 8 ulps (16
after a second re-anchoring); continuity at ``AT`` to 4 ulps (as tests/test_plan_dropins.py). A round trip
through ``torch.save``/``torch.load(weights_only=True)`` is bitwise (the same code both sides).
"""
import io
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import lrkit  # noqa: E402
import lrkit.torch as K  # noqa: E402
from lrkit import LrkitValueError  # noqa: E402
from lrkit.torch import PlanChangedWarning, schedule_of  # noqa: E402
from ulps import within_ulps  # noqa: E402

T = torch.optim.lr_scheduler
AT = 30
END = 260


def _opt(groups=2):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1 * 10 ** -i}
                            for i in range(groups)], lr=0.1, momentum=0.9)


#: name -> (members' classes, old members' arguments, old milestones, new members' arguments, new milestones)
CASES = {
    "warmup-cosine-longer": (("LinearLR", "CosineAnnealingLR"), ({"start_factor": 0.1, "total_iters": 5},
                             {"T_max": 100}), [5], ({"start_factor": 0.1, "total_iters": 5}, {"T_max": 200}), [5]),
    "warmup-cosine-new-milestone": (("LinearLR", "CosineAnnealingLR"), ({"start_factor": 0.1, "total_iters": 5},
                                    {"T_max": 100, "eta_min": 1e-4}), [5],
                                    ({"start_factor": 0.1, "total_iters": 10}, {"T_max": 220, "eta_min": 1e-5}), [10]),
    "in-the-warmup": (("LinearLR", "PolynomialLR"), ({"start_factor": 0.1, "total_iters": 40},
                      {"total_iters": 100, "power": 2.0}), [40],
                      ({"start_factor": 0.1, "total_iters": 60}, {"total_iters": 150, "power": 2.0}), [60]),
    "three-members": (("ConstantLR", "ExponentialLR", "StepLR"), ({"factor": 0.5, "total_iters": 10},
                      {"gamma": 0.97}, {"step_size": 20, "gamma": 0.5}), [10, 60],
                      ({"factor": 0.5, "total_iters": 10}, {"gamma": 0.99}, {"step_size": 40, "gamma": 0.5}), [10, 80]),
    "multistep-later": (("LinearLR", "MultiStepLR"), ({"start_factor": 0.2, "total_iters": 10},
                        {"milestones": [20, 60]}), [10],
                        ({"start_factor": 0.2, "total_iters": 10}, {"milestones": [40, 120], "gamma": 0.2}), [10]),
}


def _build(ns, classes, args, milestones, opt=None, **kw):
    opt = _opt() if opt is None else opt
    members = [getattr(ns, c)(opt, **a) for c, a in zip(classes, args)]
    return opt, ns.SequentialLR(opt, members, milestones, **kw)


def _run(opt, sched, steps):
    seen = []
    for _ in range(steps):
        opt.step()
        sched.step()
        seen.append([g["lr"] for g in opt.param_groups])
    return seen


def _trained(classes, args, milestones):
    opt, sched = _build(K, classes, args, milestones)
    _run(opt, sched, AT)
    return opt, sched


def _close(got, expected, n=8):
    assert within_ulps(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), n).all(), (got, expected)


def _round_trip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("case", sorted(CASES))
def test_sequential_smooth_follows_the_rejoin_of_torchs_plans(case):
    classes, old_args, old_ms, new_args, new_ms = CASES[case]
    old_opt, old = _trained(classes, old_args, old_ms)
    opt, sched = _build(K, classes, new_args, new_ms)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (a policy chosen: no warning)
        sched.load_state_dict(_round_trip(old.state_dict()), on_change="smooth")
    _close([g["lr"] for g in opt.param_groups], [g["lr"] for g in old_opt.param_groups], 4)  # no jump
    _close(sched.get_last_lr(), old.get_last_lr(), 4)
    before = schedule_of(_build(T, classes, old_args, old_ms)[1])
    after = schedule_of(_build(T, classes, new_args, new_ms)[1])
    expected = [lrkit.rejoin(b, a, at=AT) for b, a in zip(before, after)]
    seen = _run(opt, sched, END - AT)
    for k, lrs in enumerate(seen, start=AT + 1):
        _close(lrs, [r(k) for r in expected])
    assert sched.plan_changes[-1]["policy"] == "smooth"


def test_the_reanchored_sequence_saves_loads_and_reanchors_again():
    classes, old_args, old_ms, new_args, new_ms = CASES["warmup-cosine-new-milestone"]
    _, old = _trained(classes, old_args, old_ms)
    opt, sched = _build(K, classes, new_args, new_ms)
    sched.load_state_dict(old.state_dict(), on_change="smooth")
    _run(opt, sched, 20)
    state = _round_trip(sched.state_dict())
    assert all(isinstance(text, str) for text in state["_schedulers"][1]["lrkit"]["plan"]["lr"])
    # the same arguments: the saved plan, silently, bit for bit
    opt2, again = _build(K, classes, new_args, new_ms)
    opt2.load_state_dict(opt.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again.load_state_dict(state)
    assert again.get_last_lr() == sched.get_last_lr()
    assert _run(opt2, again, 100) == _run(opt, sched, 100)
    # yet other arguments: re-anchored again, continuous, following rejoin(rejoin(old, new), third)
    third_args, third_ms = ({"start_factor": 0.1, "total_iters": 10}, {"T_max": 400, "eta_min": 0.0}), [10]
    at2 = again.last_epoch
    opt3, third = _build(K, classes, third_args, third_ms)
    third.load_state_dict(again.state_dict(), on_change="smooth")
    _close(third.get_last_lr(), again.get_last_lr(), 4)
    first = [lrkit.rejoin(b, a, at=AT) for b, a in zip(schedule_of(_build(T, classes, old_args, old_ms)[1]),
                                                        schedule_of(_build(T, classes, new_args, new_ms)[1]))]
    expected = [lrkit.rejoin(f, t, at=at2) for f, t in zip(first, schedule_of(_build(T, classes, third_args,
                                                                                      third_ms)[1]))]
    for k, lrs in enumerate(_run(opt3, third, 200), start=at2 + 1):
        _close(lrs, [r(k) for r in expected], 16)


def _changed():
    classes, old_args, old_ms, new_args, new_ms = CASES["warmup-cosine-new-milestone"]
    _, old = _trained(classes, old_args, old_ms)
    opt, sched = _build(K, classes, new_args, new_ms)
    return old, opt, sched, (classes, old_args, old_ms, new_args, new_ms)


def _groups(opt):
    return [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]


def test_sequential_policies_reach_the_members_and_the_milestones():
    old, opt, sched, (classes, old_args, old_ms, new_args, new_ms) = _changed()
    before = (_groups(opt), sched.state_dict())
    with pytest.raises(LrkitValueError, match=r"changed on resume.*(total_iters 5 -> 10|T_max 100 -> 220|"
                                              r"milestones \[5\] -> \[10\])"):
        sched.load_state_dict(old.state_dict(), on_change="raise")
    assert (_groups(opt), sched.state_dict()) == before  # nothing changed
    # keep: the saved arguments and milestones, silently (torch's rule)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.load_state_dict(old.state_dict(), on_change="keep")
    assert sched._milestones == old_ms and sched._schedulers[1].T_max == 100
    assert sched.get_last_lr() == old.get_last_lr()
    # none given: torch's rule with a warning naming each change
    _, _, sched2, _ = _changed()
    with pytest.warns(PlanChangedWarning) as caught:
        sched2.load_state_dict(old.state_dict())
    text = " ".join(str(w.message) for w in caught)
    assert "milestones [5] -> [10]" in text and "T_max 100 -> 220" in text
    assert sched2._milestones == old_ms
    # new: the new plan as written at step AT (its jump), the members at their places under the new milestones
    _, opt3, sched3, _ = _changed()
    sched3.load_state_dict(old.state_dict(), on_change="new")
    new_plan = schedule_of(_build(T, classes, new_args, new_ms)[1])
    _close([g["lr"] for g in opt3.param_groups], [s(AT) for s in new_plan])
    for k, lrs in enumerate(_run(opt3, sched3, 100), start=AT + 1):
        _close(lrs, [s(k) for s in new_plan])


def test_a_member_built_with_a_policy_keeps_it_inside_a_sequence():
    classes, old_args, old_ms, new_args, _ = CASES["warmup-cosine-longer"]
    _, old = _trained(classes, old_args, old_ms)
    opt = _opt()
    members = [K.LinearLR(opt, **new_args[0]), K.CosineAnnealingLR(opt, **new_args[1], on_change="new")]
    sched = K.SequentialLR(opt, members, old_ms)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.load_state_dict(old.state_dict())
    assert members[1].T_max == 200
    new_plan = schedule_of(_build(T, classes, new_args, old_ms)[1])
    _close([g["lr"] for g in opt.param_groups], [s(AT) for s in new_plan])


def _resumed(build, old_argument, new_argument):
    """A scheduler trained ``AT`` updates under ``build(old_argument)``, and a new one under ``build(new_argument)``
    with what its optimizer and state hold before a load."""
    old_opt, old = build(old_argument)
    _run(old_opt, old, AT)
    opt, sched = build(new_argument)
    return old, opt, sched, (_groups(opt), sched.state_dict())


def test_chained_takes_keep_and_raise_and_refuses_new_and_smooth_naming_itself():
    def chain(step_size):
        opt = _opt()
        return opt, K.ChainedScheduler([K.StepLR(opt, step_size, 0.5), K.ExponentialLR(opt, 0.97)])

    old, opt, sched, before = _resumed(chain, 10, 20)
    with pytest.raises(LrkitValueError, match=r"StepLR.*changed on resume at step 30.*step_size 10 -> 20"):
        sched.load_state_dict(old.state_dict(), on_change="raise")
    assert (_groups(opt), sched.state_dict()) == before
    for policy, why in (("new", "saved scales stale"), ("smooth", "other schedulers")):
        with pytest.raises(LrkitValueError, match=f"ChainedScheduler cannot take on_change='{policy}': .*{why}"):
            sched.load_state_dict(old.state_dict(), on_change=policy)
    assert (_groups(opt), sched.state_dict()) == before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.load_state_dict(old.state_dict(), on_change="keep")
    assert sched._schedulers[0].step_size == 10


@pytest.mark.parametrize("members, why", [
    (lambda o, n: [K.LinearLR(o, total_iters=5), K.LambdaLR(o, lambda k: 0.9 ** k)], "member 1 .*LambdaLR.*function"),
    (lambda o, n: [K.LinearLR(o, total_iters=5), K.OneCycleLR(o, 0.1, total_steps=n)],
     "members drive different hyperparameters"),
])
def test_a_sequence_it_cannot_reanchor_is_refused_and_changes_nothing(members, why):
    def build(n):
        opt = _opt()
        return opt, K.SequentialLR(opt, members(opt, n), [5])

    old, opt, sched, before = _resumed(build, 100, 200)
    with pytest.raises(LrkitValueError, match=f"SequentialLR cannot take on_change='smooth': .*{why}"):
        sched.load_state_dict(old.state_dict(), on_change="smooth")
    assert (_groups(opt), sched.state_dict()) == before


def test_a_drop_in_taking_new_arguments_takes_their_anchor_too():
    """on_change='new' with a new eta_min: the new plan as written (the saved scale and offset belonged to the
    old anchor; applied to the new curve they gave another LR, 4e-6 off here)."""
    old_opt = _opt()
    old = K.CosineAnnealingLR(old_opt, T_max=100, eta_min=1e-4)
    _run(old_opt, old, AT)
    opt = _opt()
    sched = K.CosineAnnealingLR(opt, T_max=220, eta_min=1e-5)
    sched.load_state_dict(old.state_dict(), on_change="new")
    new_plan = schedule_of(T.CosineAnnealingLR(_opt(), T_max=220, eta_min=1e-5))
    _close([g["lr"] for g in opt.param_groups], [s(AT) for s in new_plan])
    for k, lrs in enumerate(_run(opt, sched, 50), start=AT + 1):
        _close(lrs, [s(k) for s in new_plan])


def test_the_constructors_policy_applies_to_a_trainers_plain_load():
    """Lightning, the HF Trainer and Accelerate call ``load_state_dict(state)``: the composite's keyword-only
    ``on_change`` decides."""
    classes, old_args, old_ms, new_args, new_ms = CASES["warmup-cosine-longer"]
    _, old = _trained(classes, old_args, old_ms)
    opt, sched = _build(K, classes, new_args, new_ms, on_change="smooth")
    opt2, explicit = _build(K, classes, new_args, new_ms)
    sched.load_state_dict(old.state_dict())
    explicit.load_state_dict(old.state_dict(), on_change="smooth")
    assert sched.get_last_lr() == explicit.get_last_lr()
    assert _run(opt, sched, 60) == _run(opt2, explicit, 60)
    with pytest.raises(LrkitValueError, match="ChainedScheduler cannot take on_change='smooth'"):
        K.ChainedScheduler([K.StepLR(opt, 10)], on_change="smooth")
    with pytest.raises(LrkitValueError, match=r"ChainedScheduler cannot take its member 1 \(StepLR\) built with "
                                              r"on_change='new': .*saved scales stale"):
        K.ChainedScheduler([K.ExponentialLR(opt, 0.9), K.StepLR(opt, 10, on_change="new")])
    with pytest.raises(LrkitValueError, match="on_change must be one of .*got 'smoothly'"):
        _build(K, classes, new_args, new_ms, on_change="smoothly")


def test_smooth_without_a_change_is_a_plain_load_keeping_a_hand_edit():
    classes, old_args, old_ms, _, _ = CASES["three-members"]
    old_opt, old = _trained(classes, old_args, old_ms)
    for g in old_opt.param_groups:  # a hand edit the chainable member rebases on
        g["lr"] *= 0.5
    _run(old_opt, old, 5)
    states = []
    for policy in ("smooth", "keep"):
        opt, sched = _build(K, classes, old_args, old_ms)
        opt.load_state_dict(old_opt.state_dict())
        sched.load_state_dict(old.state_dict(), on_change=policy)
        states.append((sched.state_dict(), _run(opt, sched, 40)))
    assert states[0] == states[1]
    assert "plan" not in states[0][0]["_schedulers"][1]["lrkit"]
    assert states[0][1] == _run(old_opt, old, 40)


# ---- through Lightning: a SequentialLR built with on_change="smooth", resumed from a real checkpoint ----------
def test_lightning_resumes_a_sequence_built_with_smooth(tmp_path):
    pl = pytest.importorskip("lightning.pytorch")
    first_steps, total = 10, 24

    def sequence(opt, T_max):
        members = [K.LinearLR(opt, start_factor=0.5, total_iters=4), K.CosineAnnealingLR(opt, T_max=T_max)]
        return K.SequentialLR(opt, members, [4], on_change="smooth")

    class Tiny(pl.LightningModule):
        def __init__(self, T_max):
            super().__init__()
            torch.manual_seed(0)
            self.net, self.T_max, self.trace = torch.nn.Linear(3, 1), T_max, []

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.mse_loss(self.net(x), y)

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.net.parameters(), lr=1.0)
            opt.register_step_pre_hook(lambda o, a, k: self.trace.append(o.param_groups[0]["lr"]))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sequence(opt, self.T_max), "interval": "step"}}

    x = torch.randn(60, 3, generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=2)
    kwargs = dict(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                  enable_model_summary=False, num_sanity_val_steps=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        first = pl.Trainer(max_steps=first_steps, **kwargs)
        first.fit(Tiny(16), loader)
        path = str(tmp_path / "ten.ckpt")
        first.save_checkpoint(path)
        resumed = Tiny(36)
        warnings.simplefilter("error", PlanChangedWarning)
        pl.Trainer(max_steps=total, **kwargs).fit(resumed, loader, ckpt_path=path)
    old = schedule_of(T.SequentialLR((o := _opt(1)), [T.LinearLR(o, 0.5, total_iters=4), T.CosineAnnealingLR(o, 16)],
                                     [4]))[0]
    new = schedule_of(T.SequentialLR((o := _opt(1)), [T.LinearLR(o, 0.5, total_iters=4), T.CosineAnnealingLR(o, 36)],
                                     [4]))[0]
    expected = lrkit.rejoin(old, new, at=first_steps)
    _close(resumed.trace, [expected(k) / 0.1 for k in range(first_steps, total)])  # (_opt(1)'s LR is 0.1)
