"""The monitor inside real Lightning and Hugging Face Trainer runs: each run carries one mistake set up on
purpose (or none), and the audit must warn about exactly that one (or stay silent).

8 batches per epoch, 5 epochs: 40 optimizer updates. The plan is the lrkit scheduler's own schedule (or a
``plan=`` given where the mistake is that no lrkit scheduler drives the run).
"""
import warnings

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")
transformers = pytest.importorskip("transformers")
accelerate_state = pytest.importorskip("accelerate.state")

import lrkit  # noqa: E402
import lrkit.torch as K  # noqa: E402
from lrkit.monitor import read_log  # noqa: E402
from monitor_cases import assert_only, monitor_warnings  # noqa: E402 (tests/ is on sys.path)

pytestmark = pytest.mark.filterwarnings("ignore:.*isinstance\\(treespec, LeafSpec\\).*is deprecated")

BATCHES, EPOCHS = 8, 5
UPDATES = BATCHES * EPOCHS
COSINE = "cosine(0.1, 0.001, steps=40)"


def _data(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return x, x.sum(1, keepdim=True)


# =================================================================================================
# Lightning
# =================================================================================================
class Tiny(pl.LightningModule):
    def __init__(self, make_scheduler):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(3, 1)
        self.make_scheduler = make_scheduler

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", 1.0)  # (never improves: a plateau)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        return {"optimizer": opt, "lr_scheduler": self.make_scheduler(opt)}


class _SecondStep(pl.Callback):
    """The mistake of a loop that steps the scheduler itself, besides Lightning."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        trainer.lr_scheduler_configs[0].scheduler.step()


class _Override(pl.Callback):
    """Something else writes the LR before update 13 (a config default, say)."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == 13:
            trainer.optimizers[0].param_groups[0]["lr"] = 0.05


def _lightning(tmp_path, make_scheduler, callbacks=(), **options):
    x, y = _data(BATCHES * 4)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    monitor = K.lightning_monitor_callback(str(tmp_path / "run.jsonl"), **options)
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=EPOCHS, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         callbacks=[monitor, *callbacks])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(Tiny(make_scheduler), loader, loader)
    return monitor, monitor_warnings(caught)


LIGHTNING = {
    "clean": (lambda o: {"scheduler": K.ScheduleLR(o, COSINE), "interval": "step"}, (), None),
    "per-epoch": (lambda o: {"scheduler": K.ScheduleLR(o, COSINE)}, (), "once per epoch"),  # Lightning's default
    "repeated": (lambda o: {"scheduler": K.ScheduleLR(o, COSINE), "interval": "step"}, (_SecondStep(),),
                 "2 times per optimizer update"),
    "not stepped": (lambda o: {"scheduler": K.ScheduleLR(o, COSINE), "interval": "step", "frequency": 1000}, (),
                    "not stepped"),
    "foreign": (lambda o: {"scheduler": K.ScheduleLR(o, COSINE), "interval": "step"}, (_Override(),),
                "update 13: lr of param group 0 was 0.05"),
    "decay ended": (lambda o: {"scheduler": K.ScheduleLR(o, "cosine(0.1, 0.0, steps=20)"), "interval": "step"}, (),
                    "ends at update 20"),
    "plateau cut": (lambda o: {"scheduler": K.ScheduleLR(o, "constant(0.1)", plateau=lrkit.plateau(patience=1)),
                               "interval": "step"}, (K.lightning_plateau_callback("val_loss"),), "plateau cut"),
    # a plan in epochs (StepLR's step_size=2 epochs) stepped every batch
    "per-update": (lambda o: {"scheduler": K.StepLR(o, step_size=2, gamma=0.5), "interval": "step"}, (),
                   "steps every update, the plan is per epoch",
                   dict(plan="step_decay(0.1, period=2, gamma=0.5)", plan_per="epoch")),
}


@pytest.mark.parametrize("case", list(LIGHTNING))
def test_lightning_run_warns_about_its_mistake(tmp_path, case):
    make, callbacks, message, *options = LIGHTNING[case]
    monitor, caught = _lightning(tmp_path, make, callbacks, **(options[0] if options else {}))
    assert_only(monitor.findings, caught, case, message)
    if message is None:
        assert monitor.summary()[0]["parted"] == []
    log = read_log(str(tmp_path / "run.jsonl"))
    assert log.steps == list(range(UPDATES)) and len(log.metrics["loss"][0]) == UPDATES


def test_lightning_logs_to_tensorboard_with_lightning_tags(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    x, y = _data(BATCHES * 4)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    monitor = K.lightning_monitor_callback(str(tmp_path / "run.jsonl"),
                                           sinks=["jsonl", lrkit_tb(tmp_path / "tb")])
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         callbacks=[monitor])
    trainer.fit(Tiny(lambda o: {"scheduler": K.ScheduleLR(o, COSINE), "interval": "step"}), loader, loader)
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    lr = events.Scalars("lr-SGD")
    assert [e.step for e in lr] == list(range(BATCHES))
    assert lr[5].value == pytest.approx(lrkit.as_schedule(COSINE)(5), rel=1e-6)  # (float32 in the event file)
    assert "lr-SGD-momentum" in events.Tags()["scalars"]


def lrkit_tb(path):
    from lrkit.monitor import TensorBoardSink
    return TensorBoardSink(str(path))


# =================================================================================================
# Hugging Face Trainer
# =================================================================================================
@pytest.fixture
def fresh_accelerate_state():
    """The Trainer's Accelerator state is a process-wide singleton: start and end clean."""
    for reset in (True, False):
        accelerate_state.AcceleratorState._reset_state(True)
        accelerate_state.GradientState._reset_state()
        if reset:
            yield


class HFTiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(3, 1)

    def forward(self, x, labels=None):
        out = self.net(x)
        loss = torch.nn.functional.mse_loss(out, labels) if self.training else torch.tensor(1.0)
        return {"loss": loss, "logits": out}


class LrkitTrainer(K.HFScheduleMixin, transformers.Trainer):
    pass


class _HFSecondStep(transformers.TrainerCallback):
    def on_step_end(self, args, state, control, lr_scheduler=None, **kwargs):
        lr_scheduler.step()


class _HFOverride(transformers.TrainerCallback):
    """Something else (DeepSpeed's config, say) writes the LR before update 13."""

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        if state.global_step == 13:
            optimizer.param_groups[0]["lr"] = 0.05


def _hf(tmp_path, schedule=None, make_scheduler=None, callbacks=(), plan=None, plan_per="update", **overrides):
    x, y = _data(BATCHES * 4)
    data = [{"x": x[i], "labels": y[i]} for i in range(len(x))]
    options = dict(output_dir=str(tmp_path), per_device_train_batch_size=4, per_device_eval_batch_size=4,
                   num_train_epochs=EPOCHS, report_to="none", save_strategy="no", logging_strategy="steps",
                   logging_steps=1, disable_tqdm=True, use_cpu=True, remove_unused_columns=False,
                   dataloader_num_workers=0, seed=0, learning_rate=0.1, optim="sgd")
    if schedule is not None:
        options["lr_scheduler_kwargs"] = schedule
    options.update(overrides)
    model = HFTiny()
    optimizers = (None, None)
    if make_scheduler is not None:
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        optimizers = (opt, make_scheduler(opt))
    monitor = K.hf_monitor_callback(str(tmp_path / "run.jsonl"), plan=plan, plan_per=plan_per)
    evaluating = options.get("eval_strategy", "no") != "no"
    trainer = LrkitTrainer(model=model, args=transformers.TrainingArguments(**options), train_dataset=data,
                           eval_dataset=data[:4] if evaluating else None, optimizers=optimizers,
                           callbacks=[monitor, *callbacks])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.train()
    return monitor, monitor_warnings(caught)


HF = {
    "clean": (dict(schedule={"schedule": COSINE}), None),
    "per-epoch": (dict(make_scheduler=lambda o: K.ScheduleLR(o, COSINE, accumulation_steps=BATCHES)),
                  "once per epoch"),
    "repeated": (dict(schedule={"schedule": COSINE}, callbacks=(_HFSecondStep(),)), "2 times per optimizer update"),
    "not stepped": (dict(plan=COSINE, lr_scheduler_type="constant"), "not stepped"),  # (a WSD that acts as a constant)
    "foreign": (dict(schedule={"schedule": COSINE}, callbacks=(_HFOverride(),)), "update 13: lr of param group 0"),
    "decay ended": (dict(schedule={"schedule": "cosine(0.1, 0.0, steps=20)"}), "ends at update 20"),
    "plateau cut": (dict(schedule={"schedule": "constant(0.1)", "plateau": {"patience": 1}}, eval_strategy="steps",
                         eval_steps=8), "plateau cut"),
    "per-update": (dict(schedule={"schedule": "step_decay(0.1, period=2, gamma=0.5)"}, plan_per="epoch",
                        plan="step_decay(0.1, period=2, gamma=0.5)"), "steps every update, the plan is per epoch"),
}


@pytest.mark.parametrize("case", list(HF))
def test_hf_trainer_run_warns_about_its_mistake(tmp_path, fresh_accelerate_state, case):
    kwargs, message = HF[case]
    monitor, caught = _hf(tmp_path, **kwargs)
    assert_only(monitor.findings, caught, case, message)
    log = read_log(str(tmp_path / "run.jsonl"))
    assert log.steps == list(range(UPDATES)) and log.metrics["loss"][0][:3] == [0, 1, 2]
