"""ScheduleLR's plateau stage with many groups: a cut computed for every group at once (numpy, from the
schedule's values kept as an array) against the same cut one group at a time (a floor per group, equal
values, forces that path). The same operations on the same numbers: 0 ulps, the same ``eps`` skips."""
import itertools

import pytest

torch = pytest.importorskip("torch")

import lrkit  # noqa: E402
import lrkit.torch as K  # noqa: E402


def _optimizer(n):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1 * (1 + i / n)}
                            for i in range(n)], lr=0.1, momentum=0.9)


@pytest.mark.parametrize("schedule", ["constant(1.0)", "cosine(1.0, 0.2, steps=500)",
                                      "warmup(linear(1.0, 0.3, steps=400), steps=20)"])
def test_the_batched_cut_equals_the_cut_group_by_group(schedule):
    n = 60
    floor, eps = 2e-3, 1e-4
    runs, skips = [], []
    for min_lr in (floor, (floor,) * n):
        opt = _optimizer(n)
        sched = K.ScheduleLR(opt, schedule, relative=True, reduce=None,
                             plateau=lrkit.plateau(patience=0, factor=0.7, threshold=0.0, min_lr=min_lr, eps=eps))
        metric = itertools.count(1.0)
        trace = []
        for k in range(120):
            opt.step()
            sched.step()
            if k % 3 == 0:
                sched.report(float(next(metric)))  # (worse every time: a cut at every report)
            trace.append([g["lr"] for g in opt.param_groups])
        runs.append(trace)
        skips.append(list(sched._plateau_skips))
    assert runs[0] == runs[1]
    assert skips[0] == skips[1]
    assert min(skips[0]) < max(skips[0])  # (the groups reached the floor at different cuts: eps skips)
