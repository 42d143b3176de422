"""The monitor's sinks for experiment trackers: TensorBoard, Weights & Biases, MLflow.

Each tracker is imported when its sink is built (``pip install 'lrkit[monitor]'``). A sink takes, per
optimizer update ``step``, the scalars under the tag names the trackers' users know from Lightning's
``LearningRateMonitor``: ``lr-AdamW`` (one param group) or ``lr-AdamW/pg1``, ``lr-AdamW/pg2`` (groups
numbered from 1, or the group's ``"name"``), ``lr-AdamW/pg1-momentum`` (``betas[0]`` for Adam),
``lr-AdamW/pg1-beta2``, ``lr-AdamW/pg1-weight_decay``; metrics under their own names. The step axis is
the optimizer update (Lightning's ``global_step``, the HF Trainer's ``train/global_step``).
"""
from ._errors import LrkitTypeError


class _Sink:
    """Trackers take per-step scalars; the JSON-lines layout (header, step rows) is not theirs."""

    def header(self, header):
        pass

    def steps(self, rows):
        pass

    def event(self, record):
        pass

    def flush(self):
        pass


class TensorBoardSink(_Sink):
    """Scalars into TensorBoard event files through ``torch.utils.tensorboard.SummaryWriter`` (``log_dir``,
    or an existing ``writer``); events as text under ``lrkit/events``."""

    name = "tensorboard"

    def __init__(self, log_dir=None, writer=None):
        if writer is None:
            from torch.utils.tensorboard import SummaryWriter
            writer = SummaryWriter(log_dir=log_dir)
            self._own = True
        else:
            self._own = False
        self.writer = writer

    def scalars(self, step, scalars):
        add = self.writer.add_scalar
        for tag, value in scalars.items():
            add(tag, value, step)

    def metrics(self, step, metrics):
        self.scalars(step, metrics)

    def event(self, record):
        if "event" in record or "finding" in record:
            kind = record.get("event") or record.get("finding")
            self.writer.add_text("lrkit/events", f"{kind}: {record.get('text', '')}", record.get("step") or 0)

    def flush(self):
        self.writer.flush()

    def close(self):
        if self._own:
            self.writer.close()
        else:
            self.writer.flush()


class WandbSink(_Sink):
    """Scalars into a Weights & Biases run (``run``, or ``wandb.run``, or one started with ``init``'s
    arguments, e.g. ``WandbSink(project="x", mode="offline")``), with ``step=`` the optimizer update."""

    name = "wandb"

    def __init__(self, run=None, **init):
        import wandb
        self._own = False
        if run is None:
            run = wandb.run
        if run is None:
            run = wandb.init(**init)
            self._own = True
        elif init:
            raise LrkitTypeError(f"WandbSink takes a run or wandb.init's arguments, not both: {sorted(init)}")
        self.run = run

    def scalars(self, step, scalars):
        self.run.log(dict(scalars), step=step)

    def metrics(self, step, metrics):
        self.run.log(dict(metrics), step=step)

    def event(self, record):
        if "event" in record or "finding" in record:
            kind = record.get("event") or record.get("finding")
            self.run.summary[f"lrkit/{kind}@{record.get('step')}"] = record.get("text", "")

    def close(self):
        self.run.log({}, commit=True)  # (the last update's values: wandb commits a step when the next begins)
        if self._own:
            self.run.finish()


class MLflowSink(_Sink):
    """Metrics into an MLflow run (the active one, or one started in ``tracking_uri``, e.g. a local
    ``"sqlite:///mlflow.db"`` or ``"file:./mlruns"``, under ``experiment``), with ``step=`` the optimizer
    update; events as a text artifact ``lrkit-events.txt`` at the end. (MLflow 3 refuses the local file
    store unless ``MLFLOW_ALLOW_FILE_STORE=true``.)"""

    name = "mlflow"

    def __init__(self, tracking_uri=None, experiment=None, run_name=None):
        import mlflow
        self.mlflow = mlflow
        if tracking_uri is not None:
            mlflow.set_tracking_uri(tracking_uri)
        if experiment is not None:
            mlflow.set_experiment(experiment)
        self._own = mlflow.active_run() is None
        self.run = mlflow.start_run(run_name=run_name) if self._own else mlflow.active_run()
        self._events = []

    def scalars(self, step, scalars):
        self.mlflow.log_metrics({_mlflow_name(k): v for k, v in scalars.items()}, step=step, synchronous=True)

    def metrics(self, step, metrics):
        self.scalars(step, metrics)

    def event(self, record):
        if "event" in record or "finding" in record:
            self._events.append(f"{record.get('step')}\t{record.get('event') or record.get('finding')}\t"
                                f"{record.get('text', '')}")

    def close(self):
        if self._events:
            self.mlflow.log_text("\n".join(self._events) + "\n", "lrkit-events.txt")
        if self._own:
            self.mlflow.end_run()


def _mlflow_name(tag):
    """MLflow's metric names allow letters, digits, ``_ - . / space``: anything else becomes ``_``."""
    return "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in tag)


SINKS = {"tensorboard": TensorBoardSink, "wandb": WandbSink, "mlflow": MLflowSink}
