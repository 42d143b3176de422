"""lrkit's torch schedulers inside PyTorch Lightning's Trainer, stepping per optimizer update.

Each test trains a tiny model on synthetic data and records, with a step pre-hook on the optimizer, the
learning rate of every param group at every ``optimizer.step()``: the LR the update actually used. That
trace is compared exactly with the lrkit curve evaluated at update ``k`` (1e-12 relative for a tensor LR),
or, for the plateau drop-in, with torch's own ReduceLROnPlateau fed the same metrics.
5 batches per epoch with ``accumulate_grad_batches=2`` make 3 updates per epoch (Lightning steps the last,
partial one): the count of recorded updates is asserted too.
"""
import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

import lrkit  # noqa: E402
import lrkit.torch as K  # noqa: E402
from lrkit.torch._trainers import lightning_plateau_callback  # noqa: E402

# Lightning 2.6 on torch 2.13: its own use of a deprecated torch pytree API
pytestmark = pytest.mark.filterwarnings("ignore:.*isinstance\\(treespec, LeafSpec\\).*is deprecated")

BATCHES, ACCUMULATE, EPOCHS = 5, 2, 5
UPDATES_PER_EPOCH = 3  # ceil(5 / 2)
UPDATES = EPOCHS * UPDATES_PER_EPOCH
BASE_LRS = (0.1, 0.01)
VAL_LOSSES = (1.0, 0.5, 0.5, 0.5, 0.5)  # epoch e logs VAL_LOSSES[e]: improves once, then a plateau


def _loader(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCHES * 4, 3, generator=g)
    data = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
    return torch.utils.data.DataLoader(data, batch_size=4)


def _plain(lr):
    return lr.item() if isinstance(lr, torch.Tensor) else lr


class Tiny(pl.LightningModule):
    """A linear model with two param groups (weight, bias); ``make_scheduler(opt)`` -> the lr_scheduler dict."""

    def __init__(self, make_scheduler):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(3, 1)
        self.make_scheduler = make_scheduler
        self.trace = []  # per optimizer update: [lr of each group]

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", VAL_LOSSES[self.current_epoch])

    def configure_optimizers(self):
        opt = torch.optim.SGD([{"params": [self.net.weight], "lr": BASE_LRS[0]},
                               {"params": [self.net.bias], "lr": BASE_LRS[1]}], lr=BASE_LRS[0])
        opt.register_step_pre_hook(
            lambda o, args, kwargs: self.trace.append([_plain(g["lr"]) for g in o.param_groups]))
        return {"optimizer": opt, "lr_scheduler": self.make_scheduler(opt)}


def _fit(make_scheduler, callbacks=(), epochs=EPOCHS):
    model = Tiny(make_scheduler)
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=epochs, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         accumulate_grad_batches=ACCUMULATE, log_every_n_steps=1, callbacks=list(callbacks))
    trainer.fit(model, _loader(), _loader(1))
    return model


def _per_step(scheduler):
    return {"scheduler": scheduler, "interval": "step"}


# the scheduler, and each group's lrkit curve (a function of the update k) built from it
CASES = {
    "ScheduleLR relative warmup-cosine": (
        lambda opt: K.ScheduleLR(opt, lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=UPDATES - 3), steps=3),
                                 relative=True),
        lambda sched: [lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=UPDATES - 3), steps=3) * b for b in BASE_LRS]),
    "ScheduleLR absolute spec": (
        lambda opt: K.ScheduleLR(opt, "exponential(0.2, 0.9)"),
        lambda sched: [lrkit.exponential(0.2, 0.9)] * 2),
    "OneCycleLR drop-in": (
        lambda opt: K.OneCycleLR(opt, max_lr=[0.1, 0.01], total_steps=UPDATES),
        lambda sched: sched.schedules),
    "CosineAnnealingLR drop-in": (
        lambda opt: K.CosineAnnealingLR(opt, T_max=7, eta_min=0.001),
        lambda sched: sched.schedules),
}


@pytest.mark.parametrize("case", list(CASES))
def test_interval_step_follows_the_curve_per_optimizer_update(case):
    """``{"scheduler": s, "interval": "step"}``: update k uses curve(k), with gradient accumulation
    counting optimizer updates (not batches), across epochs."""
    build, curves = CASES[case]
    made = []
    model = _fit(lambda opt: _per_step(made.append(build(opt)) or made[0]))
    expected = [[c(k) for c in curves(made[0])] for k in range(UPDATES)]
    assert len(model.trace) == UPDATES
    assert model.trace == expected
    assert len({tuple(t) for t in expected}) > UPDATES // 2  # the curve moves


def test_tensor_lr_follows_the_curve():
    """``ScheduleLR(tensor_lr=torch.float64)``: the LR is a 0-dim tensor written in place; each update's
    value equals the curve to 1e-12 relative."""
    schedule = lrkit.linear(1.0, 0.1, steps=UPDATES)
    model = _fit(lambda opt: _per_step(K.ScheduleLR(opt, schedule, relative=True, tensor_lr=torch.float64)))
    assert len(model.trace) == UPDATES
    for k, lrs in enumerate(model.trace):
        for lr, base in zip(lrs, BASE_LRS):
            assert lr == pytest.approx((schedule * base)(k), rel=1e-12, abs=0)


def _torch_plateau_trace(make, metrics, epochs=EPOCHS):
    """torch's ReduceLROnPlateau in a hand-written loop: the LR of each update, stepped with the epoch's
    metric after each epoch's last update (when Lightning steps an "epoch" plateau scheduler)."""
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": b} for b in BASE_LRS])
    sched = make(opt)
    trace = []
    for epoch in range(epochs):
        for _ in range(UPDATES_PER_EPOCH):
            trace.append([g["lr"] for g in opt.param_groups])
            opt.step()
        sched.step(metrics[epoch])
    return trace


def test_reduce_lr_on_plateau_dropin_with_monitor():
    """lrkit's ReduceLROnPlateau is torch's to Lightning: ``"monitor": "val_loss"`` steps it with the
    metric after each epoch, giving torch's ReduceLROnPlateau's LRs bit for bit."""
    model = _fit(lambda opt: {"scheduler": K.ReduceLROnPlateau(opt, factor=0.5, patience=0), "monitor": "val_loss"})
    expected = _torch_plateau_trace(lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0),
                                    VAL_LOSSES)
    assert model.trace == expected
    # epochs 2 and 3 do not improve on epoch 1: epochs 3 and 4 run at 1/2 and 1/4 of the base LR
    assert [model.trace[k] for k in (0, 9, 12)] == [[b * f for b in BASE_LRS] for f in (1.0, 0.5, 0.25)]


def _plateau_curve(schedule, ctl, metrics, bases, epochs=EPOCHS):
    """The plateau stage from lrkit's core: update k takes ``ctl.apply(schedule(k) * base, state)`` with
    the state after the metrics of the epochs finished before k."""
    state, trace = ctl.init(), []
    for epoch in range(epochs):
        for k in range(epoch * UPDATES_PER_EPOCH, (epoch + 1) * UPDATES_PER_EPOCH):
            trace.append([ctl.apply((schedule * b)(k), state) for b in bases])
        state = ctl.update(state, metrics[epoch])
    return trace, state


def test_schedule_lr_plateau_stage_through_the_callback():
    """Warmup, then cosine, under a plateau stage: Lightning steps ScheduleLR per update, the callback
    reports val_loss after each validation of fit (not the sanity check), and each update's LR is the
    core's ``plateau.apply(curve(k), state)``."""
    warm = UPDATES_PER_EPOCH
    schedule = lrkit.warmup(lrkit.cosine(1.0, 0.5, steps=UPDATES - warm), steps=warm)
    ctl = lrkit.plateau(factor=0.5, patience=0)
    made = []

    def build(opt):
        made.append(K.ScheduleLR(opt, schedule, relative=True, plateau=ctl, plateau_start=warm))
        return _per_step(made[0])

    model = _fit(build, callbacks=[lightning_plateau_callback("val_loss")])
    expected, state = _plateau_curve(schedule, ctl, VAL_LOSSES, BASE_LRS)
    assert model.trace == expected
    assert state.reductions == 3 and made[0].plateau_state == state
    assert expected[-1] == [0.25 * (schedule * b)(UPDATES - 1) for b in BASE_LRS]


def test_plateau_callback_errors():
    """A wrong monitor or a trainer without a plateau-staged ScheduleLR is an lrkit error naming it."""
    with pytest.raises(lrkit.LrkitTypeError, match="monitor must be a metric name"):
        lightning_plateau_callback(3)
    staged = lambda opt: _per_step(K.ScheduleLR(opt, "constant(0.1)", plateau=lrkit.plateau()))  # noqa: E731
    with pytest.raises(lrkit.LrkitValueError, match=r"monitor 'val_acc' is not among .*\['val_loss'\]"):
        _fit(staged, callbacks=[lightning_plateau_callback("val_acc")], epochs=1)
    with pytest.raises(lrkit.LrkitValueError, match="no lrkit.torch.ScheduleLR with plateau"):
        _fit(lambda opt: _per_step(K.ScheduleLR(opt, "constant(0.1)")),
             callbacks=[lightning_plateau_callback("val_loss")], epochs=1)
