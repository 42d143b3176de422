"""lrkit's torch schedulers inside the Hugging Face Trainer, stepping per optimizer update.

A tiny nn.Module on synthetic data; a step pre-hook on the (unwrapped) torch optimizer records the LR of
every param group at every ``optimizer.step()``, the LR the update used, which is compared exactly with
the lrkit curve at update ``k``, or, for the plateau drop-in, with torch's ReduceLROnPlateau fed the same
metrics. 5 batches per epoch with ``gradient_accumulation_steps=2`` make 3 updates per epoch.

transformers cannot register a new ``lr_scheduler_type`` (SchedulerType is a closed Enum checked in
``TrainingArguments.__post_init__``); the supported route is ``HFScheduleMixin`` (it overrides
``Trainer.create_scheduler`` and reads ``lr_scheduler_kwargs``), tested here.
"""
import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
accelerate_state = pytest.importorskip("accelerate.state")

import lrkit  # noqa: E402
import lrkit.torch as K  # noqa: E402
from lrkit.torch._trainers import HFScheduleMixin, hf_plateau_callback  # noqa: E402

BATCHES, ACCUMULATE, EPOCHS = 5, 2, 5
UPDATES_PER_EPOCH = 3
UPDATES = EPOCHS * UPDATES_PER_EPOCH
BASE_LRS = (0.1, 0.01)
EVAL_LOSSES = (1.0, 0.5, 0.5, 0.5, 0.5)  # evaluation e reports EVAL_LOSSES[e]: improves once, then a plateau


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """The Trainer makes an Accelerator, whose state is a process-wide singleton: start and end clean."""
    accelerate_state.AcceleratorState._reset_state(True)
    accelerate_state.GradientState._reset_state()
    yield
    accelerate_state.AcceleratorState._reset_state(True)
    accelerate_state.GradientState._reset_state()


class Tiny(torch.nn.Module):
    """A linear model; in eval mode its loss is the next of EVAL_LOSSES, then the last one (one eval batch
    per evaluation)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(3, 1)
        self.evaluations = 0

    def forward(self, x, labels=None):
        out = self.net(x)
        if self.training:
            return {"loss": torch.nn.functional.mse_loss(out, labels), "logits": out}
        self.evaluations += 1
        return {"loss": torch.tensor(EVAL_LOSSES[min(self.evaluations, len(EVAL_LOSSES)) - 1]), "logits": out}


def _dataset(n, seed=0):
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed))
    return [{"x": x[i], "labels": x[i].sum(0, keepdim=True)} for i in range(n)]


def _args(tmp_path, **overrides):
    options = dict(output_dir=str(tmp_path), per_device_train_batch_size=4, per_device_eval_batch_size=4,
                   gradient_accumulation_steps=ACCUMULATE, num_train_epochs=EPOCHS, report_to="none",
                   save_strategy="no", logging_strategy="no", disable_tqdm=True, use_cpu=True,
                   remove_unused_columns=False, dataloader_num_workers=0, seed=0)
    options.update(overrides)
    return transformers.TrainingArguments(**options)


def _plain(lr):
    return lr.item() if isinstance(lr, torch.Tensor) else lr


class _Recorder(transformers.TrainerCallback):
    """At train begin, hook the torch optimizer under the Trainer's (Accelerate-wrapped) one."""

    def __init__(self):
        self.trace = []

    def on_train_begin(self, args, state, control, optimizer=None, **kwargs):
        inner = getattr(optimizer, "optimizer", optimizer)
        inner.register_step_pre_hook(
            lambda o, a, k: self.trace.append([_plain(g["lr"]) for g in o.param_groups]))


def _two_group_optimizer(model):
    return torch.optim.SGD([{"params": [model.net.weight], "lr": BASE_LRS[0]},
                            {"params": [model.net.bias], "lr": BASE_LRS[1]}])


def _train(tmp_path, make_scheduler=None, trainer_class=transformers.Trainer, callbacks=(), **overrides):
    """Train; ``make_scheduler(opt)`` given: ``optimizers=(opt, scheduler)``, else the Trainer builds both."""
    model = Tiny()
    recorder = _Recorder()
    optimizers = (None, None)
    scheduler = None
    if make_scheduler is not None:
        opt = _two_group_optimizer(model)
        scheduler = make_scheduler(opt)
        optimizers = (opt, scheduler)
    evaluating = overrides.get("eval_strategy", "no") != "no"
    trainer = trainer_class(model=model, args=_args(tmp_path, **overrides), train_dataset=_dataset(BATCHES * 4),
                            eval_dataset=_dataset(4, seed=1) if evaluating else None, optimizers=optimizers,
                            callbacks=[recorder, *callbacks])
    trainer.train()
    return recorder.trace, trainer


CASES = {
    "ScheduleLR relative warmup-cosine": (
        lambda opt: K.ScheduleLR(opt, lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=UPDATES - 3), steps=3),
                                 relative=True),
        lambda sched: [lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=UPDATES - 3), steps=3) * b for b in BASE_LRS]),
    "OneCycleLR drop-in": (
        lambda opt: K.OneCycleLR(opt, max_lr=[0.1, 0.01], total_steps=UPDATES),
        lambda sched: sched.schedules),
    "StepLR drop-in": (
        lambda opt: K.StepLR(opt, step_size=4, gamma=0.5),
        lambda sched: sched.schedules),
}


@pytest.mark.parametrize("case", list(CASES))
def test_optimizers_tuple_follows_the_curve_per_optimizer_update(tmp_path, case):
    """``Trainer(optimizers=(opt, scheduler))``: update k uses curve(k); gradient accumulation counts
    optimizer updates (the last, partial accumulation of an epoch included)."""
    build, curves = CASES[case]
    trace, trainer = _train(tmp_path, build)
    expected = [[c(k) for c in curves(trainer.lr_scheduler)] for k in range(UPDATES)]
    assert len(trace) == UPDATES
    assert trace == expected
    assert len({tuple(t) for t in expected}) > 3  # the curve moves


def _torch_plateau_trace(make, metrics):
    """torch's ReduceLROnPlateau in a hand-written loop, stepped with each epoch's metric after its last update."""
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": b} for b in BASE_LRS])
    sched = make(opt)
    trace = []
    for epoch in range(EPOCHS):
        for _ in range(UPDATES_PER_EPOCH):
            trace.append([g["lr"] for g in opt.param_groups])
            opt.step()
        sched.step(metrics[epoch])
    return trace


def test_reduce_lr_on_plateau_dropin(tmp_path):
    """lrkit's ReduceLROnPlateau is torch's to the Trainer: stepped with ``eval_<metric_for_best_model>``
    after each evaluation, giving torch's LRs bit for bit."""
    trace, _ = _train(tmp_path, lambda opt: K.ReduceLROnPlateau(opt, factor=0.5, patience=0),
                      eval_strategy="epoch", metric_for_best_model="loss")
    assert trace == _torch_plateau_trace(
        lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0), EVAL_LOSSES)
    assert [trace[k] for k in (0, 9, 12)] == [[b * f for b in BASE_LRS] for f in (1.0, 0.5, 0.25)]


def _plateau_curve(schedule, ctl, metrics, bases):
    """The plateau stage from lrkit's core: update k takes ``ctl.apply(schedule(k) * base, state)`` with
    the state after the metrics of the epochs finished before k."""
    state, trace = ctl.init(), []
    for epoch in range(EPOCHS):
        for k in range(epoch * UPDATES_PER_EPOCH, (epoch + 1) * UPDATES_PER_EPOCH):
            trace.append([ctl.apply((schedule * b)(k), state) for b in bases])
        state = ctl.update(state, metrics[epoch])
    return trace, state


WARM = UPDATES_PER_EPOCH
PLATEAU_SCHEDULE = lrkit.warmup(lrkit.cosine(1.0, 0.5, steps=UPDATES - WARM), steps=WARM)
PLATEAU = lrkit.plateau(factor=0.5, patience=0)


def test_schedule_lr_plateau_stage_with_the_callback(tmp_path):
    """``optimizers=(opt, ScheduleLR(..., plateau=...))`` and ``hf_plateau_callback("loss")``: each
    evaluation's eval_loss is reported, and update k uses ``plateau.apply(curve(k), state)``."""
    trace, trainer = _train(
        tmp_path, lambda opt: K.ScheduleLR(opt, PLATEAU_SCHEDULE, relative=True, plateau=PLATEAU, plateau_start=WARM),
        callbacks=[hf_plateau_callback("loss")], eval_strategy="epoch")
    expected, state = _plateau_curve(PLATEAU_SCHEDULE, PLATEAU, EVAL_LOSSES, BASE_LRS)
    assert trace == expected
    assert state.reductions == 3 and trainer.lr_scheduler.plateau_state == state
    trainer.evaluate()  # outside train(): not reported
    assert trainer.lr_scheduler.plateau_state == state


class LrkitTrainer(HFScheduleMixin, transformers.Trainer):
    pass


def test_mixin_builds_schedule_lr_from_json_lr_scheduler_kwargs(tmp_path):
    """``HFScheduleMixin`` + ``lr_scheduler_kwargs`` as JSON (as from a config file or the command line):
    the Trainer's own optimizer (two groups: decay / no decay, both at learning_rate) follows the spec's
    curve times learning_rate; the plateau dict gets its callback added by the mixin."""
    kwargs = {"schedule": repr(PLATEAU_SCHEDULE), "relative": True, "plateau_start": WARM,
              "plateau": {"factor": 0.5, "patience": 0}}
    trace, trainer = _train(tmp_path, trainer_class=LrkitTrainer, optim="sgd", learning_rate=0.1,
                            lr_scheduler_kwargs=json.dumps(kwargs), eval_strategy="epoch")
    assert isinstance(trainer.lr_scheduler, K.ScheduleLR)
    expected, _ = _plateau_curve(PLATEAU_SCHEDULE, PLATEAU, EVAL_LOSSES, [0.1, 0.1])
    assert trace == expected


def _trainer_without_training(tmp_path, **overrides):
    model = Tiny()
    return LrkitTrainer(model=model, args=_args(tmp_path, optim="sgd", **overrides), train_dataset=_dataset(8)), model


def test_mixin_on_a_plain_optimizer_and_without_schedule(tmp_path):
    """``create_scheduler(n, optimizer)`` builds ScheduleLR from the kwargs (a ``plateau`` dict: an
    lrkit.plateau, and the callback that feeds it); without ``"schedule"`` the Trainer's own named
    scheduler is built."""
    trainer, model = _trainer_without_training(tmp_path, lr_scheduler_kwargs={"schedule": "constant(0.02)"})
    sched = trainer.create_scheduler(10, _two_group_optimizer(model))
    assert isinstance(sched, K.ScheduleLR) and sched.get_last_lr() == [0.02, 0.02]
    assert not any("plateau" in repr(cb) for cb in trainer.callback_handler.callbacks)
    trainer, model = _trainer_without_training(
        tmp_path, lr_scheduler_kwargs={"schedule": "constant(0.02)", "plateau": {"factor": 0.5}})
    sched = trainer.create_scheduler(10, _two_group_optimizer(model))
    assert sched.plateau == lrkit.plateau(factor=0.5)
    assert [repr(cb) for cb in trainer.callback_handler.callbacks if "plateau" in repr(cb)] == [
        "hf_plateau_callback(monitor=None)"]
    trainer, model = _trainer_without_training(tmp_path, lr_scheduler_type="cosine")
    assert not isinstance(trainer.create_scheduler(10, _two_group_optimizer(model)), K.LRScheduler)


@pytest.mark.parametrize("overrides, message", [
    (dict(lr_scheduler_kwargs={"schedule": "constant(0.1)", "warmup": 3}),
     r"lr_scheduler_kwargs has 'warmup', which ScheduleLR does not take; allowed: \['schedule'"),
    (dict(lr_scheduler_kwargs={"schedule": "constant(0.1)"}, warmup_steps=5),
     r"warmup_steps must be 0 with an lrkit schedule .*got 5"),
    (dict(lr_scheduler_kwargs={"schedule": "constant(0.1)", "plateau": {"factr": 0.5}}),
     r"config for plateau has unknown key\(s\) \['factr'\]"),
])
def test_mixin_errors(tmp_path, overrides, message):
    trainer, model = _trainer_without_training(tmp_path, **overrides)
    with pytest.raises(lrkit.LrkitValueError, match=message):
        trainer.create_scheduler(10, _two_group_optimizer(model))


def test_plateau_callback_errors(tmp_path):
    """The callback names a missing metric and refuses a scheduler without a plateau stage."""
    with pytest.raises(lrkit.LrkitTypeError, match="monitor must be a metric name"):
        hf_plateau_callback("")
    with pytest.raises(lrkit.LrkitValueError, match=r"monitor 'eval_acc' is not among .*'eval_loss'"):
        _train(tmp_path, lambda opt: K.ScheduleLR(opt, "constant(0.1)", plateau=PLATEAU),
               callbacks=[hf_plateau_callback("acc")], eval_strategy="epoch", num_train_epochs=1)
    with pytest.raises(lrkit.LrkitValueError, match="lr_scheduler is ScheduleLR, not an lrkit.torch.ScheduleLR with"):
        _train(tmp_path, lambda opt: K.ScheduleLR(opt, "constant(0.1)"),
               callbacks=[hf_plateau_callback()], eval_strategy="epoch", num_train_epochs=1)
