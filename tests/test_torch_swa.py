"""lrkit.torch.SWALR against torch.optim.swa_utils.SWALR (torch 2.13): random configs over 320 steps with a
float and a 0-dim float64 tensor LR, the usual use (another scheduler first, SWALR from swa_start: the
chain's rebase), hand edits, state_dict round trips (lrkit's and torch's), errors."""
from test_torch_support import (assert_groups_match, assert_last_lr_match, is_plain, lrs_of, make_optimizer, pytest,
                                random, save_load, torch, value)

import lrkit.torch as K
from torch.optim import lr_scheduler as T
from torch.optim import swa_utils as S

STEPS = 320


def random_config(rng):
    swa = rng.choice([rng.uniform(1e-3, 1.0), [rng.uniform(1e-3, 1.0), rng.uniform(1e-3, 1.0)]])
    return dict(swa_lr=swa, anneal_epochs=rng.choice([0, 1, rng.randint(1, 120)]),
                anneal_strategy=rng.choice(["cos", "linear"]))


@pytest.mark.parametrize("seed", range(12))
def test_random_configs_match_torch(seed):
    rng = random.Random(seed)
    lrs = (rng.uniform(1e-3, 1.0), rng.uniform(1e-3, 1.0))
    kwargs, kind = random_config(rng), rng.choice(["sgd", "adam"])
    opt_t, opt_k = make_optimizer(kind, lrs), make_optimizer(kind, lrs)
    sched_t, sched_k = S.SWALR(opt_t, **kwargs), K.SWALR(opt_k, **kwargs)
    assert isinstance(sched_k, S.SWALR) and isinstance(sched_k, T.LRScheduler)
    cut, resumed = rng.randrange(1, STEPS), None
    for k in range(STEPS):
        where = f"{kwargs} step {k}"
        assert_groups_match(opt_t, opt_k, where)
        assert_last_lr_match(sched_t.get_last_lr(), sched_k.get_last_lr(), where)
        assert sched_t.last_epoch == sched_k.last_epoch and sched_t._step_count == sched_k._step_count, where
        if resumed is not None:
            assert lrs_of(resumed[0]) == lrs_of(opt_k), where
        if k == cut:
            state = save_load(sched_k.state_dict())
            assert is_plain(state), state
            opt_r = make_optimizer(kind, lrs)
            opt_r.load_state_dict(opt_k.state_dict())
            # other arguments: the saved ones win (swa_lr lives in the param groups, as in torch)
            sched_r = K.SWALR(opt_r, swa_lr=kwargs["swa_lr"], anneal_epochs=3, anneal_strategy="linear")
            sched_r.load_state_dict(state)
            resumed = (opt_r, sched_r)
        for opt, sched in ((opt_t, sched_t), (opt_k, sched_k)) + ((resumed,) if resumed else ()):
            opt.step()
            sched.step()


@pytest.mark.parametrize("first", ["CosineAnnealingLR", "MultiplicativeLR", "StepLR"])
def test_after_another_scheduler_from_swa_start(first):
    """torch's documented use: one SWALR built at the start, stepped only after swa_start while another
    scheduler steps before: SWALR anneals from the LR the other one left (lrkit: the chain's rebase)."""
    kwargs = {"CosineAnnealingLR": dict(T_max=60), "MultiplicativeLR": dict(lr_lambda=lambda e: 0.97),
              "StepLR": dict(step_size=7, gamma=0.5)}[first]
    opt_t, opt_k = make_optimizer("sgd"), make_optimizer("sgd")
    other_t, other_k = getattr(T, first)(opt_t, **kwargs), getattr(K, first)(opt_k, **kwargs)
    swa_t = S.SWALR(opt_t, swa_lr=[0.01, 0.2], anneal_epochs=9, anneal_strategy="linear")
    swa_k = K.SWALR(opt_k, swa_lr=[0.01, 0.2], anneal_epochs=9, anneal_strategy="linear")
    for k in range(120):
        assert_groups_match(opt_t, opt_k, f"{first} step {k}")
        opt_t.step()
        opt_k.step()
        if k > 40:
            swa_t.step()
            swa_k.step()
        else:
            other_t.step()
            other_k.step()


def test_hand_edits_during_and_after_the_annealing():
    """An edit while annealing is the new starting point of the rest of the anneal; once annealed, torch
    writes swa_lr whatever the group holds."""
    opt_t, opt_k = make_optimizer("sgd"), make_optimizer("sgd")
    sched_t, sched_k = S.SWALR(opt_t, swa_lr=0.02, anneal_epochs=6), K.SWALR(opt_k, swa_lr=0.02, anneal_epochs=6)
    for k in range(20):
        if k in (2, 4, 9, 13):
            for opt in (opt_t, opt_k):
                opt.param_groups[0]["lr"] = 0.3 + k / 100
        for opt, sched in ((opt_t, sched_t), (opt_k, sched_k)):
            opt.step()
            sched.step()
        assert_groups_match(opt_t, opt_k, f"step {k}")


def test_loads_torchs_state_dict():
    opt_t, opt_k = make_optimizer("sgd"), make_optimizer("sgd")
    sched_t = S.SWALR(opt_t, swa_lr=0.05, anneal_epochs=30)
    for _ in range(11):
        opt_t.step()
        sched_t.step()
    opt_k.load_state_dict(opt_t.state_dict())
    sched_k = K.SWALR(opt_k, swa_lr=0.05, anneal_epochs=30)
    sched_k.load_state_dict(sched_t.state_dict())
    for k in range(40):
        assert_groups_match(opt_t, opt_k, f"step {k}")
        for opt, sched in ((opt_t, sched_t), (opt_k, sched_k)):
            opt.step()
            sched.step()


@pytest.mark.parametrize("kwargs", [dict(swa_lr=0.1, anneal_strategy="exp"), dict(swa_lr=0.1, anneal_epochs=-1),
                                    dict(swa_lr=0.1, anneal_epochs=2.5), dict(swa_lr=[0.1, 0.2, 0.3])])
def test_the_same_errors_as_torch(kwargs):
    with pytest.raises(Exception) as theirs:
        S.SWALR(make_optimizer("sgd"), **kwargs)
    with pytest.raises(type(theirs.value)) as ours:
        K.SWALR(make_optimizer("sgd"), **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_schedules_show_the_curve():
    opt = make_optimizer("sgd", lrs=(0.5, 0.1), tensor=(False, False))
    sched = K.SWALR(opt, swa_lr=0.05, anneal_epochs=4, anneal_strategy="linear")
    first = sched.schedules[0]
    assert [round(first(k), 6) for k in range(6)] == [0.5, 0.3875, 0.275, 0.1625, 0.05, 0.05]
    assert value(opt.param_groups[1]["lr"]) == 0.1


@pytest.mark.parametrize("last_epoch", [0, 4])
@pytest.mark.parametrize("lrs, tensor", [((0.9, 0.5), (False, False)), ((0.9, 0.5), (True, True)),
                                         ((0.9, 0.5), (False, True)), ((0.9,), (False,)), ((0.9,), (True,))])
def test_built_with_last_epoch_anneals_as_torch(last_epoch, lrs, tensor):
    """torch's SWALR counts its annealing from the step it was built at (``last_epoch + 1``); every step of
    lrkit's (its fast paths included: one float group, one tensor group, many) must too, before and after a
    load."""
    opts = []
    for _ in range(3):
        opt = make_optimizer("sgd", lrs, tensor=tensor)
        for g in opt.param_groups:
            g["initial_lr"] = value(g["lr"])
        opts.append(opt)
    sched_t = S.SWALR(opts[0], swa_lr=0.1, anneal_epochs=5, last_epoch=last_epoch)
    sched_k = K.SWALR(opts[1], swa_lr=0.1, anneal_epochs=5, last_epoch=last_epoch)
    resumed = None
    for k in range(12):
        assert_groups_match(opts[0], opts[1], f"step {k}")
        if resumed is not None:
            assert lrs_of(opts[2]) == lrs_of(opts[1]), k
        if k == 3:
            resumed = K.SWALR(opts[2], swa_lr=0.1, anneal_epochs=5, last_epoch=last_epoch)
            opts[2].load_state_dict(opts[1].state_dict())
            resumed.load_state_dict(sched_k.state_dict())
        for opt, sched in ((opts[0], sched_t), (opts[1], sched_k)) + (((opts[2], resumed),) if resumed else ()):
            opt.step()
            sched.step()
