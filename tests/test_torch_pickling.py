"""Pickling and ``copy.deepcopy`` of lrkit's torch schedulers, against torch's own classes.

torch's schedulers pickle with their optimizer (``pickle.dumps((model, optimizer, scheduler))``,
``torch.save`` of the whole object, ``copy.deepcopy``). For each drop-in: where torch's class copies, lrkit's
must, and the copy then steps exactly as the original (bit for bit: the same code both sides) and writes into
the copied optimizer, never the original; where torch's does not (a lambda), lrkit's fails with the same
error type (pickle's own). Real models and optimizers (SGD with momentum, Adam); one float and one float64
tensor LR group, plus a float32 tensor group for the steady step.
"""
import copy
import functools
import io
import pickle
import warnings

import pytest
import torch
from torch.optim import lr_scheduler as T
from torch.optim import swa_utils

import lrkit
import lrkit.torch as K
from lrkit.torch._step_order import ORDER_WARNING, schedulers_of

REL = 1e-12  # lrkit's copy against torch's copy (two libraries); a copy against its original: bit for bit
#: a float32 tensor LR: torch multiplies in float32 at every step (one rounding each), lrkit rounds once
REL32 = 17 * 2.0 ** -23


def _decay(k):  # (a module-level function: pickles, as in torch)
    return 0.95 ** k


def _scale(x):
    return 1.0 / (2.0 ** (x - 1))


class _Torch:
    """torch's classes under lrkit's names."""
    def __getattr__(self, name):
        return swa_utils.SWALR if name == "SWALR" else getattr(T, name)


TORCH = _Torch()


def _model_optimizer(kind, tensor, floats=False):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))
    lrs = [0.05, 0.5 if floats else torch.tensor(0.5, dtype=torch.float64)]
    groups = [{"params": list(layer.parameters()), "lr": lr} for layer, lr in zip(model, lrs)]
    if tensor is not None:
        groups = [{"params": list(model.parameters()), "lr": tensor}]
    opt = torch.optim.Adam(groups, lr=0.1) if kind == "adam" else torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    return model, opt


def _sequential(ns, o):
    return ns.SequentialLR(o, [ns.LinearLR(o, 0.1, total_iters=3), ns.ExponentialLR(o, 0.9)], [3])


def _chained(ns, o):
    return ns.ChainedScheduler([ns.StepLR(o, 2, 0.5), ns.ExponentialLR(o, 0.9)])


#: name -> (optimizer kind, the LR of a one-group optimizer (None: two groups), builder, stepped with a metric)
CASES = {
    "StepLR": ("sgd", None, lambda ns, o: ns.StepLR(o, 3, 0.5), False),
    "MultiStepLR": ("sgd", None, lambda ns, o: ns.MultiStepLR(o, [2, 5, 5]), False),
    "ConstantLR": ("sgd", None, lambda ns, o: ns.ConstantLR(o, 0.25, total_iters=4), False),
    "LinearLR": ("sgd", None, lambda ns, o: ns.LinearLR(o, 0.2, 1.0, total_iters=6), False),
    "ExponentialLR": ("sgd", None, lambda ns, o: ns.ExponentialLR(o, 0.9), False),
    "PolynomialLR": ("sgd", None, lambda ns, o: ns.PolynomialLR(o, 8, 2.0), False),
    "CosineAnnealingLR": ("sgd", None, lambda ns, o: ns.CosineAnnealingLR(o, 7, 1e-3), False),
    "CyclicLR": ("sgd", None, lambda ns, o: ns.CyclicLR(o, 0.01, 0.1, 3, mode="exp_range", gamma=0.99), False),
    "CyclicLR-scale_fn": ("sgd", None, lambda ns, o: ns.CyclicLR(o, 0.01, 0.1, 2, scale_fn=_scale), False),
    "OneCycleLR": ("adam", None, lambda ns, o: ns.OneCycleLR(o, [0.1, 0.2], total_steps=30), False),
    "CosineAnnealingWarmRestarts": ("sgd", None, lambda ns, o: ns.CosineAnnealingWarmRestarts(o, 3, 2), False),
    "ReduceLROnPlateau": ("sgd", None, lambda ns, o: ns.ReduceLROnPlateau(o, patience=0, factor=0.5), True),
    "LambdaLR": ("sgd", None, lambda ns, o: ns.LambdaLR(o, _decay), False),
    "LambdaLR-partial": ("sgd", None, lambda ns, o: ns.LambdaLR(o, [functools.partial(pow, 0.9), _decay]), False),
    "LambdaLR-lambda": ("sgd", None, lambda ns, o: ns.LambdaLR(o, lambda k: 0.9 ** k), False),
    "MultiplicativeLR": ("sgd", None, lambda ns, o: ns.MultiplicativeLR(o, functools.partial(min, 0.9)), False),
    "MultiplicativeLR-lambda": ("sgd", None, lambda ns, o: ns.MultiplicativeLR(o, lambda k: 0.9), False),
    "SequentialLR": ("sgd", None, _sequential, False),
    "ChainedScheduler": ("sgd", None, _chained, False),
    "SWALR": ("sgd", None, lambda ns, o: ns.SWALR(o, 0.02, anneal_epochs=4), False),
    # one float32 tensor LR: the steady step (``_steady``)
    "StepLR-tensor": ("sgd", torch.tensor(0.1), lambda ns, o: ns.StepLR(o, 2, 0.5), False),
    "CosineAnnealingLR-tensor": ("sgd", torch.tensor(0.1), lambda ns, o: ns.CosineAnnealingLR(o, 9), False),
}


def _copy(how, obj):
    if how == "deepcopy":
        return copy.deepcopy(obj)
    if how == "pickle":
        return pickle.loads(pickle.dumps(obj))
    buffer = io.BytesIO()
    torch.save(obj, buffer)  # (the whole objects, not state dicts)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


def _values(opt, key="lr"):
    return [(type(g[key]), g[key].dtype, g[key].item()) if isinstance(g[key], torch.Tensor) else (type(g[key]), g[key])
            for g in opt.param_groups]


def _train_step(model, opt, scheduler, metric, k):
    opt.zero_grad()
    model(torch.full((2, 3), 0.1 * (k + 1))).square().mean().backward()
    opt.step()
    scheduler.step(1.0 + (k % 3 == 0)) if metric else scheduler.step()


def _built(ns, name, edit=True):
    kind, tensor, make, metric = CASES[name]
    model, opt = _model_optimizer(kind, None if tensor is None else tensor.clone())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make(ns, opt)
        for k in range(4):
            _train_step(model, opt, scheduler, metric, k)
            if k == 1 and edit:  # (a hand edit: the chainable classes rebase on it, the copy must too)
                g = opt.param_groups[0]
                g["lr"] = g["lr"] * 0.5 if not isinstance(g["lr"], torch.Tensor) else g["lr"].mul_(0.5)
    return model, opt, scheduler, metric


def _attempt(how, objects):
    try:
        return _copy(how, objects), None
    except Exception as error:  # (what torch's class gives is the rule)
        return None, error


@pytest.mark.parametrize("how", ["deepcopy", "pickle", "torch.save"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_copy_steps_as_the_original_where_torch_copies(name, how):
    t_model, t_opt, t_sched, metric = _built(TORCH, name)
    model, opt, sched, _ = _built(K, name)
    t_copy, t_error = _attempt(how, (t_model, t_opt, t_sched))
    k_copy, k_error = _attempt(how, (model, opt, sched))
    if t_error is not None:  # torch's does not copy (a lambda): lrkit's neither, with the same error
        assert k_error is not None and type(k_error) is type(t_error), (t_error, k_error)
        assert how != "deepcopy"
        return
    assert k_error is None, f"torch's {name} copies by {how}, lrkit's fails: {k_error!r}"
    model2, opt2, sched2 = k_copy
    assert sched2.optimizer is opt2 and opt2 is not opt
    assert all(p2 is not p for g, g2 in zip(opt.param_groups, opt2.param_groups)
               for p, p2 in zip(g["params"], g2["params"]))
    assert _values(opt2) == _values(opt)
    t_model2, t_opt2, t_sched2 = t_copy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(4, 16):
            _train_step(model, opt, sched, metric, k)
            original = _values(opt)
            weights = [p.detach().clone() for p in model.parameters()]
            _train_step(model2, opt2, sched2, metric, k)
            assert _values(opt) == original, f"step {k}: the copy wrote into the original optimizer"
            assert all(torch.equal(a, p) for a, p in zip(weights, model.parameters()))
            assert _values(opt2) == original, f"step {k}: the copy steps otherwise than the original"
            assert [float(x) for x in sched2.get_last_lr()] == [float(x) for x in sched.get_last_lr()]
            if "momentum" in opt.param_groups[0] or "betas" in opt.param_groups[0]:
                key = "momentum" if "momentum" in opt.param_groups[0] else "betas"
                assert [g[key] for g in opt2.param_groups] == [g[key] for g in opt.param_groups]
            _train_step(t_model2, t_opt2, t_sched2, metric, k)
            for (_, *a), (_, *b) in zip(_values(opt2), _values(t_opt2)):
                rel = REL32 if a[0] == torch.float32 else REL
                assert abs(a[-1] - b[-1]) <= rel * abs(b[-1]), (k, a, b)
        assert getattr(sched2, "last_epoch", None) == getattr(sched, "last_epoch", None)
    assert sched2.state_dict() == sched.state_dict()


def test_a_lambda_deep_copies_and_does_not_pickle_as_in_torch():
    for ns in (TORCH, K):
        model, opt, sched, _ = _built(ns, "LambdaLR-lambda")
        copied = copy.deepcopy((model, opt, sched))[2]
        assert copied.lr_lambdas[0] is sched.lr_lambdas[0]  # (a function deep-copies as itself)
        with pytest.raises((pickle.PicklingError, AttributeError)):
            pickle.dumps(sched)


def _native(mode, opt):
    cosine = "cosine(0.1, 0.001, steps=20)"
    if mode == "float":
        return K.ScheduleLR(opt, cosine, relative=False)
    if mode == "relative-epochs":
        return K.ScheduleLR(opt, lrkit.step_decay(1.0, period=2, gamma=0.5), relative=True, steps_per_epoch=3)
    if mode == "tensor_lr":
        return K.ScheduleLR(opt, cosine, tensor_lr=True)
    if mode == "on_device":
        return K.ScheduleLR(opt, cosine, on_device=True)
    if mode == "momentum":
        return K.ScheduleLR(opt, cosine, momentum="linear(0.95, 0.85, steps=10)", weight_decay="constant(0.01)")
    if mode == "plateau":
        return K.ScheduleLR(opt, "warmup(constant(0.1), steps=3)", plateau=lrkit.plateau(factor=0.5, patience=0),
                            plateau_start=3)
    if mode == "plateau-on_device":
        return K.ScheduleLR(opt, "constant(0.1)", plateau=lrkit.plateau(factor=0.5, patience=0), on_device=True)
    if mode == "greedy":
        return K.ScheduleLR(opt, "constant(0.1)", plateau=lrkit.greedy(factor=0.5, patience=0))
    raise KeyError(mode)


NATIVE = ["float", "relative-epochs", "tensor_lr", "on_device", "momentum", "plateau", "plateau-on_device", "greedy"]


@pytest.mark.parametrize("how", ["deepcopy", "pickle", "torch.save"])
@pytest.mark.parametrize("mode", NATIVE)
def test_schedule_lr_copies_in_every_mode(mode, how):
    model, opt = _model_optimizer("sgd", None, floats=True)
    sched = _native(mode, opt)
    metric = mode.startswith(("plateau", "greedy"))

    def step(m, o, s, k):
        _train_step(m, o, s, False, k)
        if metric and k % 2:
            s.report(1.0)  # (never better: the plateau cuts, the greedy controller lowers)

    for k in range(5):
        step(model, opt, sched, k)
    model2, opt2, sched2 = _copy(how, (model, opt, sched))
    assert sched2.optimizer is opt2
    for k in range(5, 17):
        step(model, opt, sched, k)
        original = _values(opt)
        step(model2, opt2, sched2, k)
        assert _values(opt) == original, f"step {k}: the copy wrote into the original optimizer"
        assert _values(opt2) == original, f"step {k}: the copy steps otherwise than the original"
        assert [g["momentum"] for g in opt2.param_groups] == [g["momentum"] for g in opt.param_groups]
    assert sched2.state_dict() == sched.state_dict()
    if mode.endswith("on_device"):  # every group a view of the copy's own buffer, none of the original's
        buffer = sched2._device.buffer.untyped_storage().data_ptr()
        assert all(g["lr"].untyped_storage().data_ptr() == buffer for g in opt2.param_groups)
        assert buffer != sched._device.buffer.untyped_storage().data_ptr()


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_fused_chain_of_many_groups_copies_bit_for_bit(how):
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(64)]  # (numpy arrays from 48 groups on)
    opt = torch.optim.SGD([{"params": [p], "lr": 0.01 * (1 + i % 7)} for i, p in enumerate(params)])
    chain = K.ChainedScheduler([K.StepLR(opt, 3, 0.5), K.ExponentialLR(opt, 0.97), K.CosineAnnealingLR(opt, 20)])
    for _ in range(5):
        opt.step(); chain.step()
    assert chain._fused is not None and chain._fused.wrote is not None  # (the fused step ran)
    opt2, chain2 = _copy(how, (opt, chain))
    for _ in range(25):
        opt.step(); chain.step()
        original = _values(opt)
        opt2.step(); chain2.step()
        assert _values(opt) == original and _values(opt2) == original
    assert chain2.state_dict() == chain.state_dict()


def test_a_copy_has_its_own_step_order_hook_and_monitor_entry(tmp_path):
    model, opt = _model_optimizer("sgd", None)
    sched = K.CosineAnnealingLR(opt, 10)
    unstepped = copy.deepcopy((model, opt, sched))
    _train_step(model, opt, sched, False, 0)
    stepped = pickle.loads(pickle.dumps((model, opt, sched)))
    # the copied optimizer's own hook: a copy of a scheduler whose optimizer had not stepped warns as the original
    # would, one whose optimizer had stepped does not
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        unstepped[2].step()
    assert [str(w.message) for w in caught] == [ORDER_WARNING]
    model2, opt2, sched2 = stepped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _train_step(model2, opt2, sched2, False, 1)
    assert schedulers_of(opt2) == [sched2] and schedulers_of(opt) == [sched]
    with K.Monitor(opt2, log=str(tmp_path / "copy.jsonl")) as monitor:  # the plan read from the copy's scheduler
        for k in range(2, 8):
            _train_step(model2, opt2, sched2, False, k)
    assert monitor.summary()["matched"][0]["matched"] == 6
    assert monitor.summary()["parted"] == []


def test_a_monitor_refuses_to_be_copied_and_a_watched_scaler_copies_unwatched(tmp_path):
    model, opt = _model_optimizer("sgd", None)
    scaler = torch.amp.GradScaler("cpu", init_scale=4.0)
    with K.Monitor(opt, log=str(tmp_path / "run.jsonl"), scaler=scaler) as monitor:
        for how in ("deepcopy", "pickle"):
            with pytest.raises(lrkit.LrkitTypeError, match="Monitor cannot be pickled or copied"):
                _copy(how, monitor)
        model2, opt2 = copy.deepcopy((model, opt))  # (a copied optimizer has no hooks: not monitored)
        opt2.step()
        for scaler2 in (copy.deepcopy(scaler), pickle.loads(pickle.dumps(scaler))):
            assert scaler2.update.__self__ is scaler2  # its own GradScaler.update, not the monitor's
            scaler2._lazy_init_scale_growth_tracker(torch.device("cpu"))
            scaler2.update(1.0)
            assert scaler2.get_scale() == 1.0 and scaler.get_scale() == 4.0
        monitor.flush()
        assert monitor.step == 0  # neither the copied optimizer's step nor the copies' updates were recorded
    assert "update" not in scaler.__dict__


# ---- lrkit.peers: the peer schedules and controllers are values that pickle, and drive a copied scheduler -------
from test_peers import CONTROLLERS, EXAMPLES  # noqa: E402

from lrkit import peers  # noqa: E402


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_peer_schedule_copies_and_drives_a_copied_scheduler(name):
    schedule = lrkit.parse(EXAMPLES[name])
    steps = [0, 1, 7, 50, 99, 150, 400]
    values = [schedule(t) for t in steps]  # (after the compiled fast path was built: it is not pickled)
    for copied in (copy.deepcopy(schedule), pickle.loads(pickle.dumps(schedule))):
        assert copied == schedule and repr(copied) == repr(schedule)
        assert [copied(t) for t in steps] == values
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = K.ScheduleLR(opt, schedule)
    for _ in range(30):
        opt.step(); sched.step()
    opt2, sched2 = pickle.loads(pickle.dumps((opt, sched)))
    for _ in range(120):
        opt.step(); sched.step()
        opt2.step(); sched2.step()
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


@pytest.mark.parametrize("name", sorted(CONTROLLERS))
def test_every_peer_controller_copies(name):
    prefix = name.split(".")[0]
    controller = eval(CONTROLLERS[name], {prefix: getattr(peers, prefix)})
    state = controller.init() if not isinstance(controller, lrkit.greedy) else controller.init([0.1])
    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.8, 0.81, 0.82, 0.83, 0.84]
    for copied in (copy.deepcopy(controller), pickle.loads(pickle.dumps(controller))):
        assert copied == controller
        a, b = state, state
        for m in metrics:
            a, b = controller.update(a, m), copied.update(b, m)
            assert a == b
