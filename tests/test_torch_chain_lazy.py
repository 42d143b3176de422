"""ChainedScheduler's fused step with numpy (``ARRAY_FROM`` groups or more) leaves each member's state as the
step's arrays (``lrkit.torch._chain_fused.Lazy``) and makes its lists when something reads them.
Each way of reading that state after fused steps gives what the per-member step (the chain with
``_fused = None``, which keeps lists at every step) gives: ``get_last_lr()``, ``state_dict()``, ``==`` and
``repr``, a member stepped on its own, a hand edit, a save and load in mid-run (into a fresh chain and into a
lazy one), a deep copy and a pickle round trip. The fused step does the members' own IEEE operations in their
order, so the values are compared at 0 ulps (as ``tests/test_torch_chain_fused.py``).
"""
import copy
import io
import pickle

from test_torch_chain_fused import _chain, _count_fused, _floats_of, _optimizer
from test_torch_support import K, pytest, torch

from lrkit.torch import _chain_fused

N = 60  # param groups: the fused step's numpy path (ARRAY_FROM is 48)

CONFIGS = {
    # no anchor: the step's finite check goes through the largest value, carried in scalar arithmetic
    "no anchor": [("LinearLR", dict(start_factor=0.1, total_iters=40)), ("ExponentialLR", dict(gamma=0.98))],
    # an anchor (eta_min): the rebase around it, the full check
    "anchored": [("LinearLR", dict(start_factor=0.1, total_iters=40)), ("ExponentialLR", dict(gamma=0.98)),
                 ("CosineAnnealingLR", dict(T_max=100, eta_min=1e-4))],
    # MultiplicativeLR's hyperparameter is a subclass (its running product): it keeps its class
    "running product": [("MultiplicativeLR", dict(lr_lambda=lambda e: 0.99)), ("StepLR", dict(step_size=5, gamma=0.9))],
}


def _pair(config):
    """The fused chain and the per-member chain, on two identical optimizers."""
    opt_f, opt_p = _optimizer(N), _optimizer(N)
    fused, per_member = _chain(K, opt_f, config), _chain(K, opt_p, config)
    per_member._fused = None
    return opt_f, fused, opt_p, per_member


def _step(*pairs):
    for opt, chain in pairs:
        opt.step()
        chain.step()


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


def _assert_same(opt_f, fused, opt_p, per_member, where):
    """The groups and every member's ``get_last_lr()`` equal (python floats, 0 ulps)."""
    assert _lrs(opt_f) == _lrs(opt_p), where
    assert all(type(v) is float for v in _lrs(opt_f)), where
    for a, b in zip(fused._schedulers, per_member._schedulers):
        last = a.get_last_lr()
        assert type(last) is list and all(type(v) is float for v in last), where
        assert last == b.get_last_lr(), where
    assert fused.get_last_lr() == per_member.get_last_lr(), where


def _assert_same_state(fused, per_member, where):
    a, b = _floats_of(fused.state_dict()), _floats_of(per_member.state_dict())
    assert len(a) == len(b), where
    assert a == b, where


def _lazy(chain):
    """Is every member's LR hyperparameter lazy (its lists not made)?"""
    return all(isinstance(s._hyperparameters[0], _chain_fused.Lazy)
               and "written" not in vars(s._hyperparameters[0]) for s in chain._schedulers)


@pytest.fixture
def fused_steps(monkeypatch):
    return _count_fused(monkeypatch)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_the_members_lists_are_made_when_read(name, fused_steps):
    """After fused steps every member is lazy; ``get_last_lr()`` makes only its own list; reading
    ``last_values`` gives the member its own class back (a subclass: MultiplicativeLR's), equal (``==``,
    ``repr``, the schedules) to the per-member chain's."""
    opt_f, fused, opt_p, per_member = _pair(CONFIGS[name])
    for _ in range(12):
        _step((opt_f, fused), (opt_p, per_member))
    assert fused_steps[True] >= 10, fused_steps
    assert _lazy(fused)
    _assert_same(opt_f, fused, opt_p, per_member, "get_last_lr")
    assert _lazy(fused)  # (get_last_lr made its list from the values, not the member's)
    for a, b in zip(fused._schedulers, per_member._schedulers):
        ha, hb = a._hyperparameters[0], b._hyperparameters[0]
        assert ha.last_values == hb.last_values
        assert type(ha) is type(hb) and "written" in vars(ha)  # (its own class again: a subclass too)
        assert ha == hb and repr(ha) == repr(hb)
        assert ha.scaling.scale == hb.scaling.scale and ha.scaling.offsets() == hb.scaling.offsets()
        assert a.schedules == b.schedules
    for k in range(12):  # the fused step goes on from the settled members, lazy again
        _step((opt_f, fused), (opt_p, per_member))
        _assert_same(opt_f, fused, opt_p, per_member, k)
    assert _lazy(fused)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_state_dict_in_mid_run(name, fused_steps):
    """``state_dict()`` of the chain (every member's scales, values, counters) after fused steps equals the
    per-member chain's, at several points of a run; the run goes on the same."""
    opt_f, fused, opt_p, per_member = _pair(CONFIGS[name])
    for k in range(60):
        _step((opt_f, fused), (opt_p, per_member))
        if k % 7 == 3:
            assert _lazy(fused)
            _assert_same_state(fused, per_member, k)
            assert not _lazy(fused)
        assert _lrs(opt_f) == _lrs(opt_p), k
    assert fused_steps[True] >= 55, fused_steps


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_member_stepped_on_its_own(name, fused_steps):
    """After fused steps, one member stepped alone (its own step reads its lazy state) and then the chain:
    the same values as the per-member chain, and the fused step takes over again."""
    opt_f, fused, opt_p, per_member = _pair(CONFIGS[name])
    for _ in range(10):
        _step((opt_f, fused), (opt_p, per_member))
    for j in range(len(fused._schedulers)):
        assert _lazy(fused)
        fused._schedulers[j].step()
        per_member._schedulers[j].step()
        _assert_same(opt_f, fused, opt_p, per_member, j)
        before = fused_steps[True]
        for k in range(5):
            _step((opt_f, fused), (opt_p, per_member))
            _assert_same(opt_f, fused, opt_p, per_member, (j, k))
        assert fused_steps[True] >= before + 3, fused_steps
    _assert_same_state(fused, per_member, "end")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_hand_edit_after_fused_steps(name, fused_steps):
    """A hand edit of a few groups, then of every group, after fused steps: the chain follows it as the
    per-member chain does (the edit is seen against the lazy members' values)."""
    opt_f, fused, opt_p, per_member = _pair(CONFIGS[name])
    for k in range(40):
        if k in (10, 25):
            assert _lazy(fused)
            which = [0, 5, 7, N - 1] if k == 10 else range(N)
            for opt in (opt_f, opt_p):
                for i in which:
                    opt.param_groups[i]["lr"] *= 1.3
            before = fused_steps[False]
        _step((opt_f, fused), (opt_p, per_member))
        if k in (10, 25):
            assert fused_steps[False] == before + 1, k  # the edit: the per-member step
        _assert_same(opt_f, fused, opt_p, per_member, k)
    assert fused_steps[True] >= 35, fused_steps
    _assert_same_state(fused, per_member, "end")


def _saved(opt, chain):
    buffer = io.BytesIO()
    torch.save({"optimizer": opt.state_dict(), "scheduler": chain.state_dict()}, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_save_and_load_in_mid_run(name, fused_steps):
    """A checkpoint of the fused chain in mid-run (``torch.save`` / ``torch.load(weights_only=True)``) resumed in
    a fresh chain, and a checkpoint of the per-member chain loaded into the fused chain while its members are
    lazy: both go on exactly as the per-member chain that was never interrupted."""
    config = CONFIGS[name]
    opt_f, fused, opt_p, per_member = _pair(config)
    for _ in range(15):
        _step((opt_f, fused), (opt_p, per_member))
    assert _lazy(fused)
    saved = _saved(opt_f, fused)
    early = _saved(opt_p, per_member)  # (step 15 of the per-member chain, for the second resume)
    opt_r = _optimizer(N)
    resumed = _chain(K, opt_r, config)
    opt_r.load_state_dict(saved["optimizer"])
    resumed.load_state_dict(saved["scheduler"])
    for k in range(30):
        _step((opt_f, fused), (opt_p, per_member), (opt_r, resumed))
        _assert_same(opt_f, fused, opt_p, per_member, k)
        assert _lrs(opt_r) == _lrs(opt_p), k
    _assert_same_state(resumed, per_member, "resumed")
    # back to step 15 while the fused chain's members are lazy (the load reads their state first)
    for _ in range(3):
        _step((opt_f, fused))
    assert _lazy(fused)
    opt_f.load_state_dict(early["optimizer"])
    fused.load_state_dict(early["scheduler"])
    opt_q = _optimizer(N)
    reference = _chain(K, opt_q, config)
    reference._fused = None
    opt_q.load_state_dict(early["optimizer"])
    reference.load_state_dict(early["scheduler"])
    for k in range(20):
        _step((opt_f, fused), (opt_q, reference))
        _assert_same(opt_f, fused, opt_q, reference, k)
    assert _lazy(fused)


@pytest.mark.parametrize("name, how", [(name, "deepcopy") for name in sorted(CONFIGS)] +
                         [("no anchor", "pickle"), ("anchored", "pickle")])  # (a lambda does not pickle, as in torch)
def test_a_copy_in_mid_run(name, how, fused_steps):
    """``copy.deepcopy`` or a pickle round trip of the fused chain and its optimizer while the members are lazy
    (their lists made first): the copy goes on as the per-member chain, and so does the original."""
    opt_f, fused, opt_p, per_member = _pair(CONFIGS[name])
    for _ in range(10):
        _step((opt_f, fused), (opt_p, per_member))
    assert _lazy(fused)
    opt_t, twin = copy.deepcopy((opt_f, fused)) if how == "deepcopy" else pickle.loads(pickle.dumps((opt_f, fused)))
    assert opt_t is not opt_f and twin.optimizer is opt_t
    for s, t, p in zip(fused._schedulers, twin._schedulers, per_member._schedulers):
        assert type(s._hyperparameters[0]) is type(t._hyperparameters[0]) is type(p._hyperparameters[0])
    before = fused_steps[True]
    for k in range(20):
        _step((opt_t, twin), (opt_f, fused), (opt_p, per_member))
        assert _lrs(opt_t) == _lrs(opt_p) == _lrs(opt_f), k
    assert fused_steps[True] >= before + 36, fused_steps  # (both chains: the fused step)
    _assert_same_state(twin, per_member, "copy")
    _assert_same_state(fused, per_member, "original")
