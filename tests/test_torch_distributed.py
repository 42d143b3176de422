"""lrkit under torch.distributed (gloo, CPU): the ranks agree, and DCP / torch.save checkpoints resume.

One launch of tests/_dist_worker.py runs 3 ranks through four phases (see its docstring); this module
checks what they wrote against single-process runs of the same schedulers fed the reduced metric, and
against torch's own ReduceLROnPlateau in the same job. The unit tests at the end need no process group.
"""
import json
import math
import os
import re
import sys
import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch.distributed")
if not torch.distributed.is_available():
    pytest.skip("torch.distributed is not available", allow_module_level=True)

import lrkit  # noqa: E402
import lrkit.torch as K  # noqa: E402
from lrkit.torch._distributed import check_reduce, combine_metrics, reduce_metric  # noqa: E402

import _dist_worker as W  # noqa: E402
from _run_once import run_once  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """Run the 3-rank job once; returns ``load(phase, rank)`` -> that rank's JSON."""
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1")
    command = [sys.executable, os.path.join(HERE, "_dist_worker.py")]
    outdir, code, stderr = run_once(tmp_path_factory, "lrkit-dist", command, env, timeout=300)
    assert code == 0, stderr

    def load(phase, rank):
        with open(os.path.join(outdir, f"{phase}-{rank}.json")) as f:
            return json.load(f)
    return load


def _reference(reports, start=0, stop=W.STEPS, state=None):
    """The lrkit schedulers in one process (no process group), fed ``reports`` = (schedule feed, drop-in
    feed); ``state`` = saved state dicts to resume from. Returns the LR trace as the ranks write it."""
    opt_first = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    opt_last = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    schedule, dropin = W.build_lrkit(opt_first, opt_last, "mean", "mean")
    if state is not None:
        opt_first.load_state_dict(state["opt_first"])
        opt_last.load_state_dict(state["opt_last"])
        schedule.load_state_dict(state["schedule"])
        dropin.load_state_dict(state["dropin"])
    feed_schedule, feed_dropin = reports
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optimizer.step() without gradients: nothing to warn about here
        return W.LOOP(start, stop, [opt_first, opt_last], schedule,
                      [(schedule.report, feed_schedule), (dropin.step, feed_dropin)])


def _column(trace, i):
    return [row[i] for row in trace]


# ---- 1. the ranks agree ---------------------------------------------------------------------------
def test_three_ranks_take_identical_decisions_equal_to_one_process_fed_the_reduced_metric(job):
    ranks = [job("a", r) for r in range(3)]
    traces = [r["trace"] for r in ranks]
    for i in (0, 1):  # ScheduleLR (reduce="mean"), drop-in (reduce="max")
        assert _column(traces[0], i) == _column(traces[1], i) == _column(traces[2], i)
    expected = _reference((W.reduced_metric(range(3), "mean"), W.reduced_metric(range(3), "max")))
    assert _column(traces[0], 0) == _column(expected, 0)
    assert _column(traces[0], 1) == _column(expected, 1)
    # the schedule did go through warmup and plateau-driven decay, and the drop-in reduced
    lrs = [float.fromhex(v) for v in _column(traces[0], 0)]
    assert lrs[0] < lrs[W.WARMUP - 1] == 0.1 and min(lrs) <= 0.1 * 0.5 ** 3
    assert min(float.fromhex(v) for v in _column(traces[0], 1)) <= 0.1 * 0.5 ** 2
    # the DDP replicas under lrkit are bitwise identical
    assert ranks[0]["ours"] == ranks[1]["ours"] == ranks[2]["ours"]


def test_torch_reduce_lr_on_plateau_lets_the_ranks_diverge_in_the_same_job(job):
    ranks = [job("a", r) for r in range(3)]
    torch_lrs = [_column(r["trace"], 2) for r in ranks]
    assert len({tuple(t) for t in torch_lrs}) > 1  # the ranks' LRs differ ...
    assert len({tuple(r["theirs"]) for r in ranks}) > 1  # ... and so do the "replicas"


def test_reduce_none_uses_each_ranks_own_metric(job):
    for rank in range(3):
        own = _column(job("a", rank)["trace"], 3)
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        alone = K.ReduceLROnPlateau(opt, min_lr=1e-4, reduce=None, **W.PLATEAU)
        expected = []
        for step in range(W.STEPS):
            if step % W.EVERY == W.EVERY - 1:
                alone.step(W.metric(rank, step // W.EVERY))
            expected.append(W.lr_hex(opt))
        assert own == expected
    assert len({tuple(_column(job("a", r)["trace"], 3)) for r in range(3)}) > 1


def test_two_ranks_agree_with_min_and_mean(job):
    b0, b1 = job("b", 0), job("b", 1)
    assert b0["trace"] == b1["trace"]
    expected = _reference((W.reduced_metric(range(2), "min"), W.reduced_metric(range(2), "mean")))
    assert b0["trace"] == expected
    assert b0["final"] == b1["final"]


def test_nan_on_one_rank_is_nan_on_every_rank():
    values = [W.metric(r, W.NAN_EPOCH) for r in range(3)]
    assert math.isnan(values[1]) and not math.isnan(values[0])
    for how in ("mean", "min", "max"):
        assert math.isnan(combine_metrics(values, how))


# ---- 2. distributed checkpoints --------------------------------------------------------------------
def test_dcp_save_on_two_ranks_resume_on_two_is_bitwise(job):
    for rank in range(2):
        before, after = job("b", rank), job("c", rank)
        assert after["loaded"] == before["saved"]
        assert after["trace"] == before["trace"][W.SAVE_AT + 1:]
        assert after["final"] == before["final"]  # model and optimizer state came back too


def test_dcp_and_torch_save_resume_on_one_process(job):
    uninterrupted = job("b", 0)
    for rank in range(2):  # rank 0 resumed from DCP, rank 1 from rank 0's torch.save
        resumed = job("d", rank)
        assert resumed["loaded"] == uninterrupted["saved"]
        assert resumed["trace"] == uninterrupted["trace"][W.SAVE_AT + 1:]


def _every_scheduler():
    """One of each lrkit.torch scheduler on its own optimizer, stepped a little."""
    def opt():
        return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    made = {
        "schedule": K.ScheduleLR(opt(), "warmup(cosine(1.0, 0.1, steps=20), steps=3)", relative=True,
                                 momentum="linear(0.9, 0.8, steps=10)", plateau=lrkit.plateau(patience=0)),
        "plateau": K.ReduceLROnPlateau(opt(), patience=0, reduce="max"),
        "cosine": K.CosineAnnealingLR(opt(), T_max=7),
        "onecycle": K.OneCycleLR(opt(), max_lr=0.5, total_steps=50),
        "restarts": K.CosineAnnealingWarmRestarts(opt(), T_0=3, T_mult=2),
        "cyclic": K.CyclicLR(opt(), 0.01, 0.1, step_size_up=3),
    }
    o = opt()
    made["sequential"] = K.SequentialLR(o, [K.LinearLR(o, 0.1, total_iters=3), K.ExponentialLR(o, 0.9)],
                                        milestones=[3])
    return made


def test_every_scheduler_is_dcp_stateful_and_round_trips(tmp_path):
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.stateful import Stateful
    first = _every_scheduler()
    for step in range(5):
        for name, s in first.items():
            s.optimizer.step()
            if name in ("plateau",):
                s.step(1.0)
            else:
                s.step()
                if name == "schedule":
                    s.report(1.0)
    assert all(isinstance(s, Stateful) for s in first.values())
    second = _every_scheduler()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DCP without a process group: "assuming ... a single process"
        dcp.save(dict(first), checkpoint_id=str(tmp_path))
        dcp.load(dict(second), checkpoint_id=str(tmp_path))
    for name in first:
        assert second[name].state_dict() == first[name].state_dict(), name


# ---- the reduce argument ------------------------------------------------------------------------------
BAD_REDUCE = ["sum", "MEAN", "", 0, True, ["mean"]]


@pytest.mark.parametrize("value", BAD_REDUCE, ids=repr)
@pytest.mark.parametrize("build", ["ScheduleLR", "ReduceLROnPlateau"])
def test_bad_reduce_is_refused_at_construction(build, value):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(lrkit.LrkitValueError, match=r"reduce must be one of .*got " + re.escape(repr(value))):
        if build == "ScheduleLR":
            K.ScheduleLR(opt, "constant(0.1)", plateau=lrkit.plateau(), reduce=value)
        else:
            K.ReduceLROnPlateau(opt, reduce=value)


def test_reduce_is_recorded_in_the_drop_in_state_dict():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    assert K.ReduceLROnPlateau(opt, reduce="min").state_dict()["reduce"] == "min"
    assert K.ReduceLROnPlateau(opt, reduce=None).state_dict()["reduce"] is None
    assert K.ScheduleLR(opt, "constant(0.1)").reduce == "mean"
    assert check_reduce(None) is None


def test_single_process_is_unchanged():
    assert not torch.distributed.is_initialized()
    for value in (1.5, float("nan"), torch.tensor(2.0)):
        assert reduce_metric(value, "max") is value
    with pytest.raises(lrkit.LrkitValueError, match="reduce must be one of .*got 'sum'"):
        reduce_metric(1.0, "sum")


def test_a_one_rank_group_goes_through_the_collective(tmp_path):
    from lrkit.torch._distributed import collective_device
    dist = torch.distributed
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        assert collective_device() == torch.device("cpu")
        assert reduce_metric(torch.tensor(2.5), "mean") == 2.5
        assert type(reduce_metric(torch.tensor(2.5), "min")) is float  # gathered, not passed through
        assert math.isnan(reduce_metric(float("nan"), "max"))
        with pytest.raises(lrkit.LrkitTypeError, match="metric must be a real number"):
            reduce_metric("1.0", "mean")
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        plateau = K.ReduceLROnPlateau(opt, patience=0, factor=0.5)
        for value in (1.0, torch.tensor(1.0), float("nan")):
            plateau.step(value)
        assert opt.param_groups[0]["lr"] == 0.025
    finally:
        dist.destroy_process_group()


def test_combine_metrics_rule():
    assert combine_metrics([0.1, 0.2, 0.3], "mean") == math.fsum([0.1, 0.2, 0.3]) / 3
    assert combine_metrics([0.3, 0.2, 0.1], "mean") == combine_metrics([0.1, 0.2, 0.3], "mean")
    assert combine_metrics([math.inf, 1.0], "min") == 1.0
    assert combine_metrics([math.inf, 1.0], "mean") == math.inf
    assert math.isnan(combine_metrics([math.inf, -math.inf], "mean"))
    assert combine_metrics([1e308, 1e308], "mean") == 1e308  # no overflow in the sum
    with pytest.raises(lrkit.LrkitValueError, match="reduce"):
        combine_metrics([1.0], None)
    with pytest.raises(lrkit.LrkitTypeError, match="metric"):
        combine_metrics(["1.0"], "mean")
