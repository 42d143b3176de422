"""The fused write of many tensor LRs (``lrkit.torch._fused``: one ``torch._foreach_copy_`` from the views of a
float64 buffer) writes what one ``fill_`` per tensor writes, bit for bit, and moves each version counter one
up as ``fill_`` does; schedulers on many tensor groups write the same LRs and keep the same state with it as
with one ``fill_`` per group (the same arithmetic on both sides: bit for bit), through hand edits, replaced
tensors, python floats and reloads; a copy or a pickle of a scheduler writes into its own optimizer."""
import pickle

from test_torch_dropins import _config
from test_torch_steady import random_edit
from test_torch_support import K, copy, make_optimizer, pytest, quiet, random, torch, value

import lrkit
from lrkit.torch import _fused

GROUPS = 60  # (>= ARRAY_FROM: the values computed with numpy too)


def _random_values(rng, n):
    """Floats over the float32 range and beyond its precision: subnormal, tiny, halfway-ish, large, 0."""
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.05:
            out.append(0.0)
        elif r < 0.15:
            out.append(rng.random() * 1e-40)  # (float32 subnormals)
        else:
            out.append(rng.random() * 10.0 ** rng.randint(-30, 30))
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, "mixed"])
def test_the_fused_write_is_fill_bit_for_bit_and_one_version_up(dtype):
    rng = random.Random(3)
    n = 50
    dtypes = [rng.choice([torch.float32, torch.float64]) if dtype == "mixed" else dtype for _ in range(n)]
    fused = [torch.tensor(0.5, dtype=d) for d in dtypes]
    filled = [torch.tensor(0.5, dtype=d) for d in dtypes]
    source = _fused.FusedSource.of(fused, None)
    assert source is not None
    before = [t._version for t in fused]
    for k in range(20):
        values = _random_values(rng, n)
        versions = source.write(values, before)
        for t, v in zip(filled, values):
            t.fill_(v)
        assert [t._version for t in fused] == [b + 1 for b in before] == versions
        before = versions
        for i, (a, b) in enumerate(zip(fused, filled)):
            assert a.dtype == b.dtype and a.item() == b.item(), (k, i, values[i])
    assert source.one_up


def test_tensors_fill_would_write_otherwise_are_not_written_fused():
    plain = [torch.tensor(0.1) for _ in range(_fused.FUSED_FROM)]
    assert _fused.FusedSource.of(plain, None) is not None
    assert _fused.FusedSource.of(plain[:-1], None) is None  # (too few)
    for odd in (torch.tensor(0.1, dtype=torch.float16), torch.tensor(0.1, requires_grad=True),
                torch.tensor([0.1]), torch.nn.Parameter(torch.tensor(0.1))):
        assert _fused.FusedSource.of(plain[1:] + [odd], None) is None, odd
    with torch.inference_mode():
        inference = torch.tensor(0.1)
    assert _fused.FusedSource.of(plain[1:] + [inference], None) is None
    kept = _fused.FusedSource.of(plain, None)
    assert _fused.FusedSource.of(list(plain), kept) is kept
    assert _fused.FusedSource.of(plain[:-1] + [torch.tensor(0.1)], kept) is not kept


def _drop_in(name, seed):
    kwargs = _config(name, random.Random(seed))
    if name == "LambdaLR":
        kwargs = {"lr_lambda": kwargs["lr_lambda"][0]}
    return lambda o: getattr(K, name)(o, **kwargs)


SCHEDULERS = {
    "ScheduleLR relative, tensor_lr": lambda o: K.ScheduleLR(
        o, lrkit.warmup(lrkit.cosine(1.0, 0.01, steps=90), steps=10), relative=True, tensor_lr=True),
    "ScheduleLR step_decay": lambda o: K.ScheduleLR(o, lrkit.step_decay(1.0, period=7, gamma=0.5), relative=True),
    "MultiStepLR": lambda o: K.MultiStepLR(o, milestones=[10, 25, 40, 55, 70], gamma=0.7),
    **{name: _drop_in(name, 5) for name in ("CosineAnnealingLR", "LambdaLR", "ExponentialLR", "LinearLR")},
}


HELD = ("MultiStepLR", "ScheduleLR step_decay")


def _script(make, seed, dtype, fused_from):
    """A seeded run on ``GROUPS`` tensor groups: edits in place, replaced tensors, a float, reloads, steps."""
    rng = random.Random(seed)
    opt = make_optimizer(lrs=[0.3 * (1 + i / GROUPS) for i in range(GROUPS)], tensor=[True] * GROUPS, dtype=dtype)
    writes = []
    real = _fused.FusedSource.write

    def counted(source, values, before=None):
        writes.append(before is not None and source.one_up)
        return real(source, values, before)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_fused.FusedSource, "write", counted)
        patch.setattr(_fused, "FUSED_FROM", fused_from)
        patch.setattr(lrkit.torch._step, "FUSED_FROM", fused_from)
        with quiet():
            sched = make(opt)
        opt.step()
        seen = []
        for _ in range(80):
            random_edit(rng, opt, sched, rng.randrange(GROUPS), dtype)
            with quiet():
                sched.step()
            lrs = [(type(g["lr"]).__name__, value(g["lr"])) for g in opt.param_groups]
            last = [value(x) for x in sched.get_last_lr()] if rng.random() < 0.3 else None
            seen.append((lrs, last, sched.last_epoch))
        state = sched.state_dict()
        seen.append({k: v for k, v in state.items() if k != "lr_lambdas"})
        return seen, writes


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", sorted(SCHEDULERS))
def test_many_tensor_groups_fused_write_the_same_as_one_fill_each(case, dtype):
    fused, writes = _script(SCHEDULERS[case], 17, dtype, _fused.FUSED_FROM)
    filled, none = _script(SCHEDULERS[case], 17, dtype, 10 ** 9)
    assert not none  # (the other side wrote one fill_ per group)
    for k, (a, b) in enumerate(zip(fused, filled)):
        assert a == b, f"{case}: step {k}: fused {a!r} != fill_ {b!r}"
    assert len(fused) == len(filled)
    # (the fused write took its share, and most of them on the versions seen before it, one up each)
    if case in HELD:  # (the LR changes at a few steps only: written there and after edits)
        assert len(writes) >= 2, writes
    else:
        assert len(writes) >= 20 and sum(writes) >= 10, (len(writes), sum(writes))


def _started(groups):
    """A ScheduleLR on ``groups`` tensor LRs, after its first optimizer step."""
    opt = make_optimizer(lrs=[0.3] * groups, tensor=[True] * groups)
    sched = K.ScheduleLR(opt, lrkit.warmup(lrkit.cosine(1.0, 0.01, steps=90), steps=10), relative=True)
    opt.step()
    return opt, sched


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("groups", [1, GROUPS], ids=["one group (steady step)", "many groups (fused write)"])
def test_a_copied_scheduler_writes_into_its_own_optimizer(groups, how):
    opt, sched = _started(groups)
    for _ in range(5):
        sched.step()
    h = sched._hyperparameters[0]
    cache = h.steady if groups == 1 else h.fused
    assert cache is not None  # (the steady step / the fused write ran)
    assert pickle.loads(pickle.dumps(cache)) is None  # (a pickle of the scheduler goes without it)
    opt2, sched2 = copy.deepcopy((opt, sched)) if how == "deepcopy" else pickle.loads(pickle.dumps((opt, sched)))
    h2 = sched2._hyperparameters[0]
    assert h2.steady is None and h2.fused is None  # (made again by the copy, for its own tensors)
    before = [g["lr"].item() for g in opt.param_groups]
    for _ in range(5):
        sched.step()
        sched2.step()
    assert [g["lr"].item() for g in opt2.param_groups] == [g["lr"].item() for g in opt.param_groups] != before
    assert all(a["lr"] is not b["lr"] for a, b in zip(opt.param_groups, opt2.param_groups))
    assert (h2.steady if groups == 1 else h2.fused) is not None


@pytest.mark.parametrize("groups", [1, GROUPS], ids=["one group (steady step)", "many groups (fused write)"])
def test_what_a_step_returned_before_stays_as_it_was(groups):
    """The steady step changes the hyperparameter's lists in place: what ``get_last_lr()`` and ``state_dict()``
    gave before a step stays as it was, and after the step they give the values written."""
    opt, sched = _started(groups)
    for k in range(12):
        sched.step()
        if k % 3:
            continue
        last, state = sched.get_last_lr(), sched.state_dict()
        kept = copy.deepcopy((last, state))
        sched.step()
        assert [x.item() for x in last] == [x.item() for x in kept[0]] and state == kept[1]
        assert [x.item() for x in sched.get_last_lr()] == [g["lr"].item() for g in opt.param_groups]
        assert sched.state_dict()["_last_lr"] == [g["lr"].item() for g in opt.param_groups] != state["_last_lr"]
        assert sched.state_dict()["lrkit"]["tracks"]["lr"]["values"] != state["lrkit"]["tracks"]["lr"]["values"]
    assert sched._hyperparameters[0].steady is not None or groups > 1
