"""lrkit.greedy (the raise-and-lower controller) and lrkit.torch.GreedyLR against transformers' GreedyLR
(``get_scheduler("greedy")``) on random configs and random metric sequences: the same LRs (bit for bit: the
same float operations), counters, best, and state_dict; resumable; pure."""
import copy
import math
import random

import pytest

import lrkit

torch = pytest.importorskip("torch")
hf = pytest.importorskip("transformers.optimization")
from lrkit.torch import GreedyLR  # noqa: E402

GROUPS = 3


def optimizer(lrs):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs], lr=lrs[0])


def random_config(rng, groups):
    def bound(low, high):
        return [rng.uniform(low, high) for _ in range(groups)] if rng.random() < 0.5 else rng.uniform(low, high)
    return dict(mode=rng.choice(["min", "max"]), factor=rng.choice([0.95, 0.5, rng.uniform(0.1, 0.99)]),
                patience=rng.randint(0, 4), threshold=rng.choice([1e-6, 0.0, 0.01, 0.1]),
                threshold_mode=rng.choice(["abs", "rel"]), cooldown=rng.randint(0, 3), warmup=rng.randint(0, 3),
                min_lr=bound(1e-4, 1e-2), max_lr=bound(0.5, 2.0), eps=rng.choice([1e-8, 0.0, 1e-3]),
                smooth=rng.random() < 0.4, window_size=rng.randint(1, 8), reset_start=rng.randint(1, 6))


def random_metrics(rng, n):
    """Runs of improvement, plateaus, noise and negative values, so that raises, cuts and resets happen."""
    out, level = [], rng.uniform(-2.0, 5.0)
    while len(out) < n:
        kind, length = rng.choice(["down", "up", "flat", "noise"]), rng.randint(1, 12)
        for _ in range(length):
            level += {"down": -0.1, "up": 0.1, "flat": 0.0, "noise": rng.gauss(0, 0.2)}[kind]
            out.append(level if kind != "flat" or rng.random() < 0.8 else round(level, 1))
    return out[:n]


def snapshot(s):
    return (s.best, s.num_bad_epochs, s.num_good_epochs, s.cooldown_counter, s.warmup_counter, s.reset_start,
            s.last_epoch, [g["lr"] for g in s.optimizer.param_groups], list(s.get_last_lr()))


@pytest.mark.parametrize("seed", range(60))
def test_the_same_decisions_and_lrs_as_transformers(seed):
    rng = random.Random(seed)
    groups = rng.randint(1, GROUPS)
    lrs = [rng.uniform(0.01, 1.0) for _ in range(groups)]
    config = random_config(rng, groups)
    theirs = hf.GreedyLR(optimizer(lrs), **config)
    ours = GreedyLR(optimizer(lrs), **config)
    assert snapshot(ours) == snapshot(theirs)
    moves = set()
    for m in random_metrics(rng, 500):
        theirs.step(m)
        ours.step(m)
        assert snapshot(ours) == snapshot(theirs), (config, m)
        moves.add((ours.greedy_state.increases > 0, ours.greedy_state.reductions > 0))
    mine, hf_state = ours.state_dict(), theirs.state_dict()
    assert {k: v for k, v in mine.items() if k in hf_state} == hf_state
    assert set(hf_state) <= set(mine)


def test_the_random_runs_raise_cut_and_reset():
    """The parity runs above exercise every decision: raises, cuts and resets happen in them."""
    totals = [0, 0, 0]
    for seed in range(60):
        rng = random.Random(seed)
        groups = rng.randint(1, GROUPS)
        lrs = [rng.uniform(0.01, 1.0) for _ in range(groups)]
        ours = GreedyLR(optimizer(lrs), **random_config(rng, groups))
        for m in random_metrics(rng, 500):
            ours.step(m)
        s = ours.greedy_state
        totals = [totals[0] + s.increases, totals[1] + s.reductions, totals[2] + s.resets]
    assert all(t > 10 for t in totals), totals


@pytest.mark.parametrize("seed", range(10))
def test_resume_from_a_state_dict_mid_run(seed):
    """Save at a random epoch, load into a fresh scheduler (ours, from ours or from transformers'), go on:
    the same LRs as the uninterrupted run."""
    rng = random.Random(100 + seed)
    lrs = [rng.uniform(0.01, 1.0) for _ in range(2)]
    config = random_config(rng, 2)
    metrics = random_metrics(rng, 300)
    cut = rng.randint(1, 299)
    whole = GreedyLR(optimizer(lrs), **config)
    theirs = hf.GreedyLR(optimizer(lrs), **config)
    for m in metrics[:cut]:
        whole.step(m)
        theirs.step(m)
    saved = copy.deepcopy(whole.state_dict())
    resumed = GreedyLR(optimizer(lrs), **config)
    resumed.load_state_dict(saved)
    from_hf = GreedyLR(optimizer(lrs), **config)
    from_hf.load_state_dict(copy.deepcopy(theirs.state_dict()))
    assert snapshot(resumed) == snapshot(whole) == snapshot(from_hf)
    for m in metrics[cut:]:
        for s in (whole, resumed, from_hf, theirs):
            s.step(m)
        assert snapshot(resumed) == snapshot(whole) == snapshot(from_hf) == snapshot(theirs)


def test_a_bad_state_dict_changes_nothing():
    s = GreedyLR(optimizer([0.1, 0.2]), patience=0)
    for m in (3.0, 2.0, 1.0):
        s.step(m)
    before = (snapshot(s), s.state_dict())
    for bad in ({"_last_lr": [0.1]}, {"best": "low"}, {"_init_lrs": [-1.0, 0.1]},
                {"last_epoch": -3}, {"factor": 1.5}, {"reduce": "median"}):
        with pytest.raises((lrkit.LrkitValueError, lrkit.LrkitTypeError)):
            s.load_state_dict({**s.state_dict(), **bad})
        assert (snapshot(s), s.state_dict()) == before


def test_update_is_pure_and_the_state_round_trips():
    ctl = lrkit.greedy(factor=0.5, patience=1, smooth=True, window_size=3, reset_start=2, min_lr=[0.01, 0.02],
                       max_lr=1.0)
    state = ctl.init([0.1, 0.3])
    seen = []
    for m in random_metrics(random.Random(7), 200):
        new = ctl.update(state, m)
        assert ctl.update(state, m) == new  # the same input, the same output: nothing was mutated
        assert lrkit.GreedyState.from_dict(new.to_dict()) == new
        seen.append(new)
        state = new
    assert lrkit.greedy.from_config(ctl.to_config()) == ctl
    assert any(s.increases for s in seen) and any(s.reductions for s in seen)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(factor=1.0), ValueError, "Factor should be < 1.0."),
    (dict(mode="low"), ValueError, "mode low is unknown!"),
    (dict(threshold_mode="pct"), ValueError, "threshold mode pct is unknown!"),
    (dict(min_lr=[0.1, 0.2, 0.3]), ValueError, "expected 2 min_lrs, got 3"),
    (dict(max_lr=[1.0]), ValueError, "expected 2 max_lrs, got 1"),
])
def test_the_same_errors_as_transformers(kwargs, error, message):
    for cls in (hf.GreedyLR, GreedyLR):
        with pytest.raises(error, match=message):
            cls(optimizer([0.1, 0.2]), **kwargs)


def test_nonfinite_metrics():
    """transformers' treatment by default ("bad": never an improvement; in a smoothing window the NaN stays in
    the running sum, as transformers keeps it); "raise" and "ignore" as plateau's."""
    for smooth in (False, True):
        theirs, ours = hf.GreedyLR(optimizer([0.5]), patience=1, smooth=smooth), GreedyLR(optimizer([0.5]), patience=1,
                                                                                           smooth=smooth)
        for m in (3.0, 2.0, math.nan, 1.0, math.inf, -math.inf, 0.5, 0.4, 0.3):
            theirs.step(m)
            ours.step(m)
            assert snapshot(ours)[1:] == snapshot(theirs)[1:]
            assert ours.best == theirs.best or (math.isnan(ours.best) and math.isnan(theirs.best))
    ctl = lrkit.greedy()
    with pytest.raises(lrkit.LrkitValueError, match="metric must be finite, got nan"):
        ctl.update(ctl.init([0.1]), math.nan)
    ignoring = lrkit.greedy(nonfinite="ignore")
    state = ignoring.init([0.1])
    assert ignoring.update(state, math.inf) is state


def test_get_scheduler_greedy_is_the_same_class_api():
    """transformers' get_scheduler("greedy") builds its GreedyLR; lrkit's has its public methods and attributes."""
    theirs = hf.get_scheduler("greedy", optimizer([0.1]))
    ours = GreedyLR(optimizer([0.1]))
    public = {n for n in dir(theirs) if not n.startswith("_")} | {"_last_lr", "_init_lrs"}
    assert public <= {n for n in dir(ours) if not n.startswith("__")}, public - set(dir(ours))


@pytest.mark.parametrize("seed", range(8))
def test_as_a_stage_of_schedule_lr(seed):
    """ScheduleLR(opt, constant(1.0), relative=True, plateau=lrkit.greedy(...)) is transformers' GreedyLR, and
    the distributed reduction and the state_dict are ScheduleLR's; over a cosine the stage multiplies it."""
    from lrkit.torch import ScheduleLR
    rng = random.Random(300 + seed)
    lrs = [rng.uniform(0.01, 1.0) for _ in range(2)]
    config = random_config(rng, 2)
    theirs = hf.GreedyLR(optimizer(lrs), **config)
    opt = optimizer(lrs)
    ctl = lrkit.greedy(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()},
                       nonfinite="bad", threshold_rule="torch")
    ours = ScheduleLR(opt, lrkit.constant(1.0), relative=True, plateau=ctl)
    metrics = random_metrics(rng, 300)
    for i, m in enumerate(metrics):
        opt.step()
        ours.step()
        theirs.step(m)
        ours.report(m)
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in theirs.optimizer.param_groups], (config, i)
        if i == 150:
            saved = ours.state_dict()
    opt2 = optimizer(lrs)
    resumed = ScheduleLR(opt2, lrkit.constant(1.0), relative=True, plateau=ctl)
    resumed.load_state_dict(saved)
    assert resumed.plateau_state == lrkit.GreedyState.from_dict(saved["plateau"])
    cosine = ScheduleLR(optimizer([0.5, 0.5]), lrkit.cosine(1.0, 0.0, steps=100), relative=True,
                        plateau=lrkit.greedy(factor=0.5, patience=0, max_lr=10.0))
    cosine.optimizer.step()
    cosine.step()
    cosine.report(1.0)  # an improvement on the fresh best: a raise, x2
    assert cosine.get_last_lr() == [2 * 0.5 * lrkit.cosine(1.0, 0.0, steps=100)(1)] * 2


def test_ranks_take_identical_decisions_equal_to_one_process_fed_the_mean_metric(tmp_path):
    """3 ranks (gloo), each with its own metric, reduce="mean": every rank applies the same LRs, those of
    transformers' GreedyLR in one process fed the mean of the ranks' metrics; with reduce=None (2 ranks) each
    rank decides on its own metric and they differ."""
    import json
    import os
    import subprocess
    import sys
    from _greedy_dist_worker import metric
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.join(os.path.dirname(here), "src"), here,
                                                         os.environ.get("PYTHONPATH", "")])}
    results = {}
    for reduce in ("mean", "None"):
        out = tmp_path / reduce
        out.mkdir()
        store = tmp_path / f"store-{reduce}"
        world = 3 if reduce == "mean" else 2
        procs = [subprocess.Popen([sys.executable, os.path.join(here, "_greedy_dist_worker.py"), str(r), str(world),
                                   str(store), str(out), reduce], env=env) for r in range(world)]
        assert all(p.wait(timeout=300) == 0 for p in procs)
        results[reduce] = [json.loads((out / f"rank{r}.json").read_text()) for r in range(world)]
    mean = results["mean"]
    assert mean[0] == mean[1] == mean[2]
    theirs = hf.GreedyLR(optimizer([0.1]), factor=0.5, patience=1, cooldown=1, min_lr=0.01, max_lr=1.0, smooth=True,
                         window_size=3)
    expected = []
    for epoch in range(60):
        values = [metric(r, epoch) for r in range(3)]
        theirs.step(math.fsum(values) / 3)
        lr = theirs.optimizer.param_groups[0]["lr"].hex()
        expected.append([lr, lr])
    assert mean[0] == expected
    assert len({lr for row in expected for lr in row}) > 3  # raises and cuts happened
    alone = results["None"]
    assert alone[0] != alone[1]  # their own metrics: their own decisions


def test_many_groups_take_the_greedy_stage_group_by_group():
    """With 48 groups or more ScheduleLR's plateau stage goes through numpy for every group at once; the
    greedy stage, whose LRs are per group, must not: 60 groups give each group transformers' LR."""
    from lrkit.torch import ScheduleLR
    rng = random.Random(5)
    lrs = [rng.uniform(0.01, 1.0) for _ in range(60)]
    theirs = hf.GreedyLR(optimizer(lrs), factor=0.5, patience=1, cooldown=0, warmup=0, min_lr=1e-4, max_lr=2.0)
    opt = optimizer(lrs)
    ours = ScheduleLR(opt, lrkit.constant(1.0), relative=True,
                      plateau=lrkit.greedy(factor=0.5, patience=1, cooldown=0, warmup=0, min_lr=1e-4, max_lr=2.0,
                                           nonfinite="bad", threshold_rule="torch"))
    for i, m in enumerate(random_metrics(rng, 120)):
        opt.step()
        ours.step()
        theirs.step(m)
        ours.report(m)
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in theirs.optimizer.param_groups], i


def test_device_mode_takes_no_greedy_stage():
    from lrkit.torch import ScheduleLR
    with pytest.raises(lrkit.LrkitValueError, match="on_device=True takes plateau=lrkit.plateau"):
        ScheduleLR(optimizer([0.1]), lrkit.constant(1.0), plateau=lrkit.greedy(), on_device=True)
