"""ChainedScheduler's fused step (``lrkit.torch._chain_fused``) against the per-member step it replaces and
against torch's ChainedScheduler: random chains of chainable drop-ins (seeded), with 1, 3 and 60 param
groups (python floats: one group, lists, numpy), hand edits in mid-run, foreign members.

The fused step does the members' own IEEE operations in their order, so it is held to 0 ulps of the
per-member step (two code paths, the same operations: numpy's and Python's +, -, *, / are correctly
rounded on every CPU); against torch, which multiplies factors instead of rebasing, 1e-10 relative over
320 steps (about 2e-16 per step and member, as the other chain tests).
"""
import collections
import math
import random

import numpy as np

from test_torch_support import K, T, pytest, quiet, torch

from lrkit.torch import _chain_fused

ULPS = 0      # fused step vs per-member step (see the module docstring)
REL = 1e-10   # lrkit vs torch over 320 steps
STEPS = 320

_POOL = {
    "LinearLR": lambda rng: dict(start_factor=rng.uniform(0.05, 1.0), end_factor=rng.uniform(0.05, 1.0),
                                 total_iters=rng.randint(1, 200)),
    "ExponentialLR": lambda rng: dict(gamma=rng.uniform(0.95, 1.0)),
    "StepLR": lambda rng: dict(step_size=rng.randint(1, 40), gamma=rng.uniform(0.1, 1.0)),
    "CosineAnnealingLR": lambda rng: dict(T_max=rng.randint(STEPS + 10, 600), eta_min=rng.choice([0.0, 1e-5, 1e-3])),
    "PolynomialLR": lambda rng: dict(total_iters=rng.randint(STEPS + 10, 600), power=rng.uniform(0.3, 3.0)),
    "ConstantLR": lambda rng: dict(factor=rng.uniform(0.05, 1.0), total_iters=rng.randint(1, 100)),
    "MultiStepLR": lambda rng: dict(milestones=sorted(rng.sample(range(STEPS), 3)), gamma=rng.uniform(0.1, 0.9)),
    "MultiplicativeLR": lambda rng: dict(lr_lambda=lambda e, r=rng.uniform(0.97, 1.0): r),
}


def _chain_config(rng):
    names = [rng.choice(sorted(_POOL)) for _ in range(rng.randint(2, 4))]
    return [(name, _POOL[name](rng)) for name in names]


def _optimizer(n):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1 * (1 + i / n)}
                            for i in range(n)], lr=0.1, momentum=0.9)


def _chain(M, opt, config):
    with quiet():
        return M.ChainedScheduler([getattr(M, name)(opt, **kwargs) for name, kwargs in config])


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


def _ulps(a, b):
    return abs(a - b) / math.ulp(max(abs(a), abs(b), 5e-324))


def _count_fused(monkeypatch):
    """Count the fused step's answers (True: it stepped the chain), by group count."""
    counts = collections.Counter()
    step = _chain_fused.FusedChain.step

    def counted(self):
        done = step(self)
        counts[done] += 1
        return done
    monkeypatch.setattr(_chain_fused.FusedChain, "step", counted)
    return counts


def _floats_of(state):
    """The numbers of a state_dict, flattened (the rest compared as is)."""
    if isinstance(state, dict):
        return [x for key in sorted(state) for x in _floats_of(state[key])]
    if isinstance(state, (list, tuple)):
        return [x for item in state for x in _floats_of(item)]
    return [state]


@pytest.mark.parametrize("n", [1, 3, 60])
def test_fused_and_per_member_steps_agree_on_random_chains(n, monkeypatch):
    """12 random chains (6 with 60 groups) of 2-4 chainable drop-ins, 320 steps: the LRs in the groups, every member's
    ``get_last_lr()`` and (every 8th step) the chain's ``state_dict()`` (scales, values written, counters) of
    the fused chain equal the per-member chain's within ``ULPS``; and the fused step did most of the steps."""
    counts = _count_fused(monkeypatch)
    for seed in range(12 if n < 60 else 6):
        config = _chain_config(random.Random(1000 * n + seed))
        opt_f, opt_p = _optimizer(n), _optimizer(n)
        fused, per_member = _chain(K, opt_f, config), _chain(K, opt_p, config)
        per_member._fused = None  # (the per-member step only)
        for k in range(STEPS):
            for a, b in zip(_lrs(opt_f), _lrs(opt_p)):
                assert _ulps(a, b) <= ULPS, (seed, config, k, a, b)
            for sa, sb in zip(fused._schedulers, per_member._schedulers):
                assert all(_ulps(a, b) <= ULPS for a, b in zip(sa.get_last_lr(), sb.get_last_lr())), (seed, k)
            if k % 8 == 0 or k < 12:
                fa, fb = _floats_of(fused.state_dict()), _floats_of(per_member.state_dict())
                assert len(fa) == len(fb)
                for a, b in zip(fa, fb):
                    if isinstance(a, float) and isinstance(b, float):
                        assert _ulps(a, b) <= ULPS, (seed, config, k, a, b)
                    else:
                        assert a == b, (seed, config, k, a, b)
            opt_f.step()
            opt_p.step()
            fused.step()
            per_member.step()
    assert counts[True] >= 0.8 * (counts[True] + counts[False]), counts


@pytest.mark.parametrize("n", [1, 3, 60])
def test_fused_chains_follow_torch(n, monkeypatch):
    """The same random chains against torch's ChainedScheduler of torch's classes, within ``REL``."""
    counts = _count_fused(monkeypatch)
    for seed in range(8 if n < 60 else 5):
        config = _chain_config(random.Random(7000 + 1000 * n + seed))
        opt_k, opt_t = _optimizer(n), _optimizer(n)
        chain_k, chain_t = _chain(K, opt_k, config), _chain(T, opt_t, config)
        for k in range(STEPS):
            for a, b in zip(_lrs(opt_k), _lrs(opt_t)):
                assert abs(a - b) <= REL * abs(b), (seed, config, k, a, b)
            for a, b in zip(chain_k.get_last_lr(), chain_t.get_last_lr()):
                assert abs(a - b) <= REL * abs(b), (seed, k)
            opt_k.step()
            opt_t.step()
            chain_k.step()
            with quiet():
                chain_t.step()
    assert counts[True] >= 0.8 * (counts[True] + counts[False]), counts


@pytest.mark.parametrize("n", [1, 3, 60])
def test_hand_edits_in_mid_run_follow_torch(n, monkeypatch):
    """A hand edit of one group, of a few or of all between two steps: the fused step sees it, the
    per-member step follows it (the chain multiplies the edited LR on, as torch's does), and the fused step
    takes over again at the next step."""
    counts = _count_fused(monkeypatch)
    rng = random.Random(n)
    config = [("LinearLR", dict(start_factor=0.1, total_iters=50)), ("ExponentialLR", dict(gamma=0.99)),
              ("CosineAnnealingLR", dict(T_max=90, eta_min=1e-4))]
    opt_k, opt_t = _optimizer(n), _optimizer(n)
    chain_k, chain_t = _chain(K, opt_k, config), _chain(T, opt_t, config)
    edits = 0
    for k in range(200):
        for a, b in zip(_lrs(opt_k), _lrs(opt_t)):
            assert abs(a - b) <= REL * abs(b), (k, a, b)
        if k % 9 == 4:
            which = rng.choice([[0], list(range(0, n, 2)), list(range(n))])
            f = rng.uniform(0.5, 1.5)
            for opt in (opt_k, opt_t):
                for i in which:
                    opt.param_groups[i]["lr"] *= f
            before = counts[False]
            edits += 1
        opt_k.step()
        opt_t.step()
        chain_k.step()
        with quiet():
            chain_t.step()
        if k % 9 == 4:
            assert counts[False] == before + 1, k  # the edit: the per-member step
    assert edits >= 20
    assert counts[True] >= 150, counts  # and the fused step for the steps without an edit


def test_a_foreign_member_keeps_the_per_member_step():
    """A member that is not an lrkit chainable drop-in (torch's own class, LambdaLR) or a chain of one
    member: no fused step; the chain still follows torch."""
    opt = _optimizer(2)
    assert K.ChainedScheduler([K.LinearLR(opt), K.ExponentialLR(opt, 0.9)])._fused is not None
    with quiet():
        assert K.ChainedScheduler([K.LinearLR(opt), T.ExponentialLR(opt, 0.9)])._fused is None
        assert K.ChainedScheduler([K.LambdaLR(opt, lambda e: 0.9 ** e), K.ExponentialLR(opt, 0.9)])._fused is None
        assert K.ChainedScheduler([K.ExponentialLR(opt, 0.9)])._fused is None
    runs = []
    for M in (T, K):
        opt = _optimizer(3)
        with quiet():
            chain = M.ChainedScheduler([M.LambdaLR(opt, lambda e: 0.97 ** e), M.ExponentialLR(opt, 0.99)])
        trace = []
        for _ in range(60):
            trace.append(_lrs(opt))
            opt.step()
            with quiet():
                chain.step()
        runs.append(trace)
    for k, (a, b) in enumerate(zip(*runs)):
        assert all(abs(x - y) <= REL * abs(x) for x, y in zip(a, b)), k


#: a chain that meets a value to refuse: its members, each member's last_epoch after the refusal, the fused
#: step's answers (True: it stepped the chain)
_REFUSED = {
    # a factor turns negative at step 10 (steps 2-9 fused; 1 and 10 the per-member step's)
    "negative": (lambda opt: [K.ExponentialLR(opt, gamma=0.9),
                              K.MultiplicativeLR(opt, lambda e: 0.9 if e < 10 else -0.5)], [10, 9], {True: 8, False: 2}),
    # the values overflow at step 6, every unit value finite (the groups hold 1e199): without an anchor the fused
    # step sees it through the largest value, carried in scalar arithmetic (steps 2-5 fused; 1 and 6 per-member)
    "overflow": (lambda opt: [K.MultiplicativeLR(opt, lambda e: 1e200 if e == 3 else 0.99),
                              K.MultiplicativeLR(opt, lambda e: 1e200 if e == 6 else 0.98)], [6, 5], {True: 4, False: 2}),
}


@pytest.mark.parametrize("case", sorted(_REFUSED))
def test_a_value_to_refuse_is_refused_by_the_per_member_step(case, monkeypatch):
    """A member whose next value must be refused (negative, or an overflow): the fused step leaves that step to
    the per-member step, which refuses with lrkit's error, as before (the members before it have written, the
    refusing one has not), exactly as a chain without the fused step."""
    members, epochs, answers = _REFUSED[case]
    counts = _count_fused(monkeypatch)
    ends = []
    for fused in (True, False):
        opt = _optimizer(60)
        chain = K.ChainedScheduler(members(opt))
        if not fused:
            chain._fused = None
        with np.errstate(over="ignore"), pytest.raises(ValueError, match="must be finite and non-negative"):
            for _ in range(20):
                opt.step()
                chain.step()
        assert [s.last_epoch for s in chain._schedulers] == epochs
        ends.append((_lrs(opt), [s.get_last_lr() for s in chain._schedulers]))
    assert ends[0] == ends[1]
    assert counts == answers, counts
