"""lrkit.torch.ReduceLROnPlateau's common step (a finite metric, no epoch given): the controller's ``advance`` on
the numbers the scheduler keeps as attributes (torch's ``best``, ``num_bad_epochs``, ``cooldown_counter``).

Checked against torch's ReduceLROnPlateau (decisions, LRs, attributes after every step) and against lrkit's
general step (``step(metric, epoch=k)``, through the controller's ``update`` on a ``PlateauState``): state
dicts read in mid-run, hand edits between steps, loads then steps, one float group, several, tensor LRs.
"""
from test_torch_support import K, T, lrs_of, math, pytest, quiet, random, save_load, torch, value

from lrkit._plateau import PlateauState

ATTRIBUTES = ("best", "num_bad_epochs", "cooldown_counter", "last_epoch")


def _optimizer(layout):
    """'one': one float group (the drop-in's shortest path); 'floats': three float groups; 'tensor': a float
    and a tensor group."""
    lrs = {"one": [0.1], "floats": [0.1, 0.02, 0.5], "tensor": [0.1, 0.3]}[layout]
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))],
               "lr": torch.tensor(lr, dtype=torch.float64) if layout == "tensor" and i == 1 else lr}
              for i, lr in enumerate(lrs)]
    return torch.optim.SGD(groups, lr=0.1)


def _config(rng, layout):
    n = {"one": 1, "floats": 3, "tensor": 2}[layout]
    return {"mode": rng.choice(["min", "max"]), "factor": rng.choice([0.1, 0.5, 0.9]),
            "patience": rng.randint(0, 3), "threshold": rng.choice([0.0, 1e-4, 0.05]),
            "threshold_mode": rng.choice(["rel", "abs"]), "cooldown": rng.randint(0, 2),
            "min_lr": rng.choice([0.0, 1e-3, [1e-2 * (i + 1) for i in range(n)]]), "eps": rng.choice([1e-8, 0.0])}


def _metrics(rng, n, mode):
    """Flat stretches (reductions), improvements, worsening, negative values (torch's relative rule), now and
    then an int or a 0-dim tensor (converted with ``float`` first, as torch does)."""
    x, out = rng.uniform(-2.0, 5.0), []
    for _ in range(n):
        r = rng.random()
        if r < 0.35:
            x -= abs(x) * rng.uniform(0.0, 0.2) + rng.uniform(0.0, 0.01)
        elif r < 0.5:
            x += rng.uniform(0.0, 0.3)
        m = x if mode == "min" else -x
        kind = rng.random()
        out.append(torch.tensor(m) if kind < 0.05 else (round(m) if kind < 0.08 else m))
    return out


def _same_lrs(a, b):
    return [value(v) for v in a] == [value(v) for v in b]


@pytest.mark.parametrize("layout", ["one", "floats", "tensor"])
@pytest.mark.parametrize("seed", range(6))
def test_common_step_matches_torch_and_the_general_step(layout, seed):
    """Every step: the same LRs (bit for bit) and attributes as torch's; the same state_dict (read in mid-run),
    plateau_state and last LRs as lrkit's general step driven with ``epoch=k``."""
    rng = random.Random(seed)
    kwargs = _config(rng, layout)
    opts = {name: _optimizer(layout) for name in ("torch", "fast", "general")}
    scheds = {"torch": T.ReduceLROnPlateau(opts["torch"], **kwargs),
              "fast": K.ReduceLROnPlateau(opts["fast"], **kwargs),
              "general": K.ReduceLROnPlateau(opts["general"], **kwargs)}
    reductions = 0
    for k, m in enumerate(_metrics(rng, 120, kwargs["mode"]), start=1):
        scheds["torch"].step(m)
        scheds["fast"].step(m)
        with quiet():  # (the epoch argument's deprecation warning)
            scheds["general"].step(m, epoch=k)
        fast, general = scheds["fast"], scheds["general"]
        assert lrs_of(opts["torch"]) == lrs_of(opts["fast"]) == lrs_of(opts["general"]), (kwargs, k)
        for name in ATTRIBUTES:
            assert getattr(scheds["torch"], name) == getattr(fast, name), (name, kwargs, k)
        assert fast.plateau_state == general.plateau_state and type(fast.plateau_state) is PlateauState
        assert fast.state_dict() == general.state_dict(), (kwargs, k)
        assert _same_lrs(fast.get_last_lr(), scheds["torch"].get_last_lr())
        reductions = fast.plateau_state.reductions
    assert reductions > 0, kwargs  # (the runs cut the LR: the reduction step is covered)


def test_hand_edits_between_common_steps_act_as_in_torch():
    """torch's attributes are plain attributes of its scheduler; lrkit's are too: setting ``num_bad_epochs``,
    ``best``, ``cooldown_counter`` or a group's LR between steps changes the next decisions the same way, and
    ``plateau_state`` reads the edit."""
    runs = {}
    for M in (T, K):
        opt = _optimizer("one")
        sched = M.ReduceLROnPlateau(opt, patience=3, cooldown=1, factor=0.5)
        trace = []
        for k in range(30):
            if k == 4:
                sched.num_bad_epochs = 3  # next bad epoch cuts
            if k == 10:
                sched.best = -1.0  # nothing improves on it
            if k == 18:
                sched.cooldown_counter = 4
            if k == 22:
                opt.param_groups[0]["lr"] = 0.25  # the next cut starts from the edited LR
            sched.step(1.0 - 0.01 * k if k < 8 else 0.9)
            trace.append((lrs_of(opt), sched.best, sched.num_bad_epochs, sched.cooldown_counter,
                          [value(v) for v in sched.get_last_lr()]))
            if M is K and k == 10:
                assert sched.plateau_state.best == -1.0
        runs[M] = trace
    assert runs[T] == runs[K]
    assert len({t[0][0] for t in runs[K]}) >= 4  # (several cuts, the hand-edited LR among the values)
    sched = K.ReduceLROnPlateau(_optimizer("one"))
    sched.num_bad_epochs = 7
    assert sched.plateau_state == PlateauState(best=math.inf, bad_epochs=7)
    assert sched.state_dict()["num_bad_epochs"] == 7 and sched.state_dict()["lrkit"]["plateau"]["bad_epochs"] == 7


@pytest.mark.parametrize("layout", ["one", "floats"])
def test_load_then_common_steps(layout):
    """A state_dict saved after common steps, through torch.save / torch.load(weights_only=True), loaded into a
    fresh scheduler (the optimizer restored too): the run continues as the original and as torch's own."""
    rng = random.Random(7)
    kwargs = _config(rng, layout)
    metrics = _metrics(rng, 80, kwargs["mode"])
    opt_k, opt_t = _optimizer(layout), _optimizer(layout)
    sched_k, sched_t = K.ReduceLROnPlateau(opt_k, **kwargs), T.ReduceLROnPlateau(opt_t, **kwargs)
    for m in metrics[:40]:
        sched_k.step(m)
        sched_t.step(m)
    saved, saved_opt = save_load(sched_k.state_dict()), save_load(opt_k.state_dict())
    opt_r = _optimizer(layout)
    opt_r.load_state_dict(saved_opt)
    resumed = K.ReduceLROnPlateau(opt_r, mode="max" if kwargs["mode"] == "min" else "min", patience=50)
    resumed.load_state_dict(saved)
    assert resumed.plateau_state == sched_k.plateau_state and resumed.state_dict() == sched_k.state_dict()
    for m in metrics[40:]:
        sched_k.step(m)
        sched_t.step(m)
        resumed.step(m)
        assert lrs_of(opt_r) == lrs_of(opt_k) == lrs_of(opt_t)
        for name in ATTRIBUTES:
            assert getattr(resumed, name) == getattr(sched_k, name) == getattr(sched_t, name), name
    assert resumed.state_dict() == sched_k.state_dict()


def test_nonfinite_and_epoch_calls_between_common_steps():
    """A NaN (nonfinite="bad": an epoch without improvement, as torch), an ignored inf and an explicit epoch
    between common steps: the general step hands the same numbers back to the common one."""
    seq = [1.0, 0.9, float("nan"), 0.9, 0.9, float("inf"), 0.8, 0.8, 0.8, 0.8, 0.8]
    opt_t, opt_k = _optimizer("one"), _optimizer("one")
    sched_t = T.ReduceLROnPlateau(opt_t, patience=1)
    sched_k = K.ReduceLROnPlateau(opt_k, patience=1)
    for m in seq:
        sched_t.step(m)
        sched_k.step(m)
        assert lrs_of(opt_t) == lrs_of(opt_k)
        for name in ATTRIBUTES:
            assert getattr(sched_t, name) == getattr(sched_k, name), name
    assert sched_k.plateau_state.epochs == len(seq) and sched_k.plateau_state.reductions >= 2
    ignoring = K.ReduceLROnPlateau(_optimizer("one"), patience=1, nonfinite="ignore")
    for m in [1.0, float("nan"), 1.0, float("inf"), 1.0]:
        ignoring.step(m)
    assert ignoring.last_epoch == 3 and ignoring.plateau_state == PlateauState(best=1.0, bad_epochs=0, cooldown_left=0,
                                                                               epochs=3, reductions=1)
    with quiet():
        ignoring.step(1.0, epoch=10)
    ignoring.step(1.0)
    assert ignoring.last_epoch == 11 and ignoring.plateau_state.epochs == 5
