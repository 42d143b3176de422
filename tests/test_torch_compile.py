"""torch.compile on CPU: 50 steps of a compiled ``optimizer.step`` under each drop-in and the native adapter.
The LR (and the momentum / beta1 of CyclicLR and OneCycleLR) changes at every step; dynamo compiles no more
frames than the same loop with the LR held constant: zero recompiles caused by the schedulers. A control
run with a float LR shows that the counter does see LR-caused recompiles.

The ``eager`` backend is used: recompiles are decided by dynamo's guards before any backend runs, and it
keeps the test cheap (inductor would compile C++ for every case).
"""
from test_torch_support import K, pytest, quiet, torch

from torch._dynamo.utils import counters

import lrkit
from lrkit._plateau import plateau

STEPS = 50
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")


def _optimizer(kind, tensor_lr=True):
    p = torch.nn.Parameter(torch.ones(4))
    lr = torch.tensor(0.01) if tensor_lr else 0.01
    if kind == "sgd":
        return torch.optim.SGD([p], lr=lr), p
    return torch.optim.Adam([p], lr=lr, betas=(torch.tensor(0.9), torch.tensor(0.999))), p


def _run(kind, make, metric=False, tensor_lr=True, stepping=True):
    """(frames dynamo compiled, distinct LRs seen) for STEPS compiled optimizer steps; ``stepping=False``:
    the same loop with the scheduler built but never stepped (the LR held constant)."""
    torch._dynamo.reset()
    counters.clear()
    opt, p = _optimizer(kind, tensor_lr)
    with quiet():
        sched = make(opt)
    step = torch.compile(opt.step, backend="eager")
    seen = set()
    for i in range(STEPS):
        p.grad = torch.full((4,), float(i % 3 + 1))
        step()
        seen.add(float(opt.param_groups[0]["lr"]))
        if stepping:
            if metric:
                sched.step(1.0)
            else:
                sched.step()
    return counters["frames"]["total"], len(seen)


CASES = {
    "LambdaLR": ("sgd", lambda o: K.LambdaLR(o, lambda e: 0.9 ** e)),
    "StepLR": ("sgd", lambda o: K.StepLR(o, step_size=3)),
    "MultiStepLR": ("sgd", lambda o: K.MultiStepLR(o, milestones=[5, 10, 20])),
    "ConstantLR": ("sgd", lambda o: K.ConstantLR(o, total_iters=10)),
    "LinearLR": ("sgd", lambda o: K.LinearLR(o, total_iters=30)),
    "ExponentialLR": ("sgd", lambda o: K.ExponentialLR(o, gamma=0.95)),
    "PolynomialLR": ("sgd", lambda o: K.PolynomialLR(o, total_iters=40)),
    "CosineAnnealingLR": ("sgd", lambda o: K.CosineAnnealingLR(o, T_max=20)),
    "CyclicLR": ("adam", lambda o: K.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=5)),
    "OneCycleLR": ("adam", lambda o: K.OneCycleLR(o, max_lr=0.01, total_steps=STEPS)),
    "CosineAnnealingWarmRestarts": ("sgd", lambda o: K.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2)),
    "ReduceLROnPlateau": ("sgd", lambda o: K.ReduceLROnPlateau(o, patience=1, factor=0.8)),
    "SequentialLR": ("sgd", lambda o: K.SequentialLR(o, [K.LinearLR(o, 0.1, total_iters=10),
                                                         K.ExponentialLR(o, 0.9)], milestones=[10])),
    "ChainedScheduler": ("sgd", lambda o: K.ChainedScheduler([K.ConstantLR(o, 0.5, 5), K.ExponentialLR(o, 0.9)])),
    "ScheduleLR": ("adam", lambda o: K.ScheduleLR(o, lrkit.warmup(lrkit.cosine(0.01, 0.0, steps=40), steps=10),
                                                  beta1="linear(0.95, 0.85, steps=50)")),
    "ScheduleLR plateau": ("sgd", lambda o: K.ScheduleLR(o, "exponential(0.01, 0.97)", plateau=plateau(patience=1))),
    # device mode (issue 13): the LR a view of lrkit's buffer, written by one copy_ from a device step counter
    "ScheduleLR on_device": ("adam", lambda o: K.ScheduleLR(o, lrkit.warmup(lrkit.cosine(0.01, 0.0, steps=40),
                                                                            steps=10), on_device=True)),
    "ScheduleLR on_device plateau": ("sgd", lambda o: K.ScheduleLR(o, "exponential(0.01, 0.97)", on_device=True,
                                                                   plateau=plateau(patience=1))),
}

@pytest.mark.parametrize("name", sorted(CASES))
def test_no_recompile_caused_by_the_lr(name):
    kind, make = CASES[name]
    metric = name == "ReduceLROnPlateau"
    frames, distinct = _run(kind, make, metric=metric)
    held, _ = _run(kind, make, metric=metric, stepping=False)
    assert distinct >= 2, "the LR did not change: the test would prove nothing"
    assert frames == held, f"{name}: {frames - held} recompile(s) caused by the LR"


def test_native_tensor_lr_turns_float_lrs_into_tensors_for_compile():
    """A float LR under a changing schedule makes dynamo recompile (the control); ``tensor_lr=True`` does not."""
    make = lambda o: K.ScheduleLR(o, "cosine(0.01, 0.0, steps=50)")  # noqa: E731
    frames_float, _ = _run("sgd", make, tensor_lr=False)
    held_float, _ = _run("sgd", make, tensor_lr=False, stepping=False)
    assert frames_float > held_float, "control: a float LR that changes must cost recompiles"
    make = lambda o: K.ScheduleLR(o, "cosine(0.01, 0.0, steps=50)", tensor_lr=True)  # noqa: E731
    frames_tensor, distinct = _run("sgd", make, tensor_lr=False)
    assert distinct >= 3 and frames_tensor == held_float
