"""lrkit.torch.Monitor in hand-written loops: what is recorded, and the audit's findings for each mistake."""
import json
import math
import warnings

import pytest
import torch

import lrkit
from lrkit.monitor import MonitorWarning, read_log
from lrkit.torch import Monitor, ReduceLROnPlateau, ScheduleLR, StepLR


def _model(groups=2):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(4, 4) for _ in range(groups)]
    return layers


def _sgd(layers, lr=0.1, **kw):
    return torch.optim.SGD([{"params": l.parameters(), "lr": lr * (i + 1)} for i, l in enumerate(layers)],
                           momentum=0.9, weight_decay=1e-4, **kw)


def _train_step(layers, opt):
    x = torch.randn(8, 4)
    loss = sum((l(x) ** 2).mean() for l in layers)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _findings(mon):
    return [f.kind for f in mon.audit.findings]


def _run(tmp_path, make_scheduler, loop, updates=40, plan=None, **kw):
    layers = _model()
    opt = _sgd(layers)
    sched = make_scheduler(opt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mon = Monitor(opt, plan=plan, log=str(tmp_path / "run.jsonl"), **kw)
        loop(layers, opt, sched, mon, updates)
        mon.close()
    ours = [w for w in caught if issubclass(w.category, MonitorWarning)]
    return mon, ours


def _per_update(layers, opt, sched, mon, updates):
    for _ in range(updates):
        loss = _train_step(layers, opt)
        sched.step()
        mon.metrics(loss=loss)


def test_clean_run_is_silent_and_logs_every_group_and_key(tmp_path):
    mon, caught = _run(tmp_path, lambda o: ScheduleLR(o, "cosine(1.0, 0.0, steps=40)", relative=True,
                                                      momentum="linear(0.9, 0.8, steps=40)"), _per_update)
    assert caught == [] and mon.audit.findings == []
    log = read_log(str(tmp_path / "run.jsonl"))
    assert log.steps == list(range(40))
    assert log.keys == ["lr", "momentum", "weight_decay"]
    cos = lrkit.cosine(1.0, 0.0, steps=40)
    for k in (0, 17, 39):
        assert log.values["lr"][0][k] == pytest.approx(0.1 * cos(k), rel=1e-12)
        assert log.values["lr"][1][k] == pytest.approx(0.2 * cos(k), rel=1e-12)
        assert log.values["momentum"][1][k] == pytest.approx(0.9 * lrkit.linear(0.9, 0.8, steps=40)(k), rel=1e-12)  # (relative)
    assert log.values["weight_decay"][0] == [1e-4] * 40
    assert [m for m in log.metrics] == ["loss"] and log.metrics["loss"][0] == list(range(40))
    summary = log.summary
    assert summary["parted"] == [] and {e["key"] for e in summary["matched"]} == {"lr", "momentum"}


def test_per_epoch_stepping_is_found(tmp_path):
    def per_epoch(layers, opt, sched, mon, updates):
        for k in range(updates):
            _train_step(layers, opt)
            if (k + 1) % 8 == 0:
                sched.step()
    mon, caught = _run(tmp_path, lambda o: ScheduleLR(o, "cosine(1.0, 0.0, steps=40)", relative=True), per_epoch)
    assert _findings(mon)[0] == "per-epoch"
    assert len(caught) == 1 and "once per" in str(caught[0].message) and "8 updates" in str(caught[0].message)
    assert mon.summary()["parted"][0]["clock"] == "plan position = update * 1 // 8"


def test_per_update_stepping_of_a_per_epoch_plan_is_found(tmp_path):
    mon, caught = _run(tmp_path, lambda o: StepLR(o, step_size=2, gamma=0.5), _per_update,
                       plan="step_decay(0.1, period=2, gamma=0.5)", plan_per="epoch", steps_per_epoch=5,
                       keys=["lr"])
    assert "per-update" in _findings(mon)
    assert any("steps every update, the plan is per epoch" in str(w.message) for w in caught)


def test_twice_per_update_is_found(tmp_path):
    def twice(layers, opt, sched, mon, updates):
        for _ in range(updates):
            _train_step(layers, opt)
            sched.step()
            sched.step()
    mon, caught = _run(tmp_path, lambda o: ScheduleLR(o, "cosine(1.0, 0.0, steps=100)", relative=True), twice)
    assert _findings(mon)[0] == "repeated" and "2 times per optimizer update" in str(caught[0].message)


def test_not_stepped_is_found(tmp_path):
    def never(layers, opt, sched, mon, updates):
        for _ in range(updates):
            _train_step(layers, opt)
    mon, caught = _run(tmp_path, lambda o: ScheduleLR(o, "cosine(1.0, 0.0, steps=40)", relative=True), never)
    assert set(_findings(mon)) == {"not stepped"} and len(caught) == 1 and "not stepped" in str(caught[0].message)


def test_foreign_write_names_the_step_and_both_values(tmp_path):
    def edit(layers, opt, sched, mon, updates):
        for k in range(updates):
            if k == 13:
                opt.param_groups[0]["lr"] = 0.5  # (a config's default, say)
            _train_step(layers, opt)
            sched.step()
    mon, caught = _run(tmp_path, lambda o: ScheduleLR(o, "cosine(1.0, 0.0, steps=40)", relative=True), edit)
    f = mon.audit.findings[0]
    assert (f.kind, f.step, f.key, f.group, f.applied) == ("foreign", 13, "lr", 0, 0.5)
    assert f.planned == pytest.approx(0.1 * lrkit.cosine(1.0, 0.0, steps=40)(13), rel=1e-12)
    assert "update 13" in str(caught[0].message) and "0.5" in str(caught[0].message)


def test_decay_that_ends_before_the_run(tmp_path):
    mon, caught = _run(tmp_path, lambda o: ScheduleLR(o, "cosine(1.0, 0.0, steps=20)", relative=True), _per_update)
    assert _findings(mon) == ["decay ended"]
    mon2, caught2 = _run(tmp_path, lambda o: ScheduleLR(o, "cosine(1.0, 0.0, steps=20)", relative=True),
                         lambda *a: None, total_steps=40)
    assert _findings(mon2) == ["decay ended"] and "the run has 40 updates" in str(caught2[0].message)


def test_plateau_cut_is_reported_and_taken_into_the_plan(tmp_path):
    def plateau(layers, opt, sched, mon, updates):
        for k in range(updates):
            _train_step(layers, opt)
            sched.step(1.0)  # (no improvement: cut after patience)
    mon, caught = _run(tmp_path, lambda o: ReduceLROnPlateau(o, patience=3, factor=0.5), plateau, updates=12)
    kinds = _findings(mon)
    assert set(kinds) == {"plateau cut"} and len(caught) == 1
    cuts = [f for f in mon.audit.findings if f.group == 0]
    assert [f.step for f in cuts] == [5, 9] and cuts[0].applied == pytest.approx(0.05)


def test_gradscaler_skipped_step_is_recorded(tmp_path):
    layers = _model(1)
    opt = _sgd(layers)
    sched = ScheduleLR(opt, "constant(0.1)")
    scaler = torch.amp.GradScaler("cpu", init_scale=4.0)
    with Monitor(opt, log=str(tmp_path / "run.jsonl"), scaler=scaler) as mon:
        for k in range(5):
            x = torch.randn(8, 4)
            loss = (layers[0](x) ** 2).mean()
            if k == 2:
                loss = loss * float("inf")
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
    assert "update" not in scaler.__dict__  # the scaler is given back as it was
    log = read_log(str(tmp_path / "run.jsonl"))
    assert log.skipped == [2] and log.steps == [0, 1, 3, 4]
    assert mon.audit.findings == []


def test_jsonl_lines_are_deltas_and_loadable_by_predict(tmp_path):
    mon, _ = _run(tmp_path, lambda o: ScheduleLR(o, "cosine(1.0, 0.1, steps=40)", relative=True), _per_update)
    lines = [json.loads(x) for x in (tmp_path / "run.jsonl").read_text().splitlines()]
    assert lines[0]["format"] == "lrkit-monitor"
    steps = [x for x in lines if "step" in x and "lr" in x]
    assert "weight_decay" in steps[0] and all("weight_decay" not in x for x in steps[1:])
    from lrkit.predict import load_runs
    (run,) = load_runs(str(tmp_path / "run.jsonl"))
    assert run.length == 40 and len(run.steps) == 40
    assert run.lrs[10] == pytest.approx(0.1 * lrkit.cosine(1.0, 0.1, steps=40)(10), rel=1e-12)


def test_tensor_lr_is_read_when_applied(tmp_path):
    layers = _model(2)
    opt = _sgd(layers)
    sched = ScheduleLR(opt, "linear(0.1, 0.0, steps=10)", tensor_lr=True)
    with Monitor(opt, log=str(tmp_path / "run.jsonl")) as mon:
        for _ in range(10):
            _train_step(layers, opt)
            sched.step()
    log = read_log(str(tmp_path / "run.jsonl"))
    expected = [torch.tensor(lrkit.linear(0.1, 0.0, steps=10)(k), dtype=torch.float32).item() for k in range(10)]
    assert log.values["lr"][1] == expected and mon.audit.findings == []


def test_resume_appends_a_segment(tmp_path):
    layers = _model(1)
    opt = _sgd(layers)
    sched = ScheduleLR(opt, "cosine(0.1, 0.0, steps=20)")
    path = str(tmp_path / "run.jsonl")
    with Monitor(opt, log=path):
        for _ in range(8):
            _train_step(layers, opt)
            sched.step()
    state = sched.state_dict()
    opt2 = _sgd(layers)
    sched2 = ScheduleLR(opt2, "cosine(0.1, 0.0, steps=20)")
    sched2.load_state_dict(state)
    with Monitor(opt2, log=path) as mon:
        for _ in range(12):
            _train_step(layers, opt2)
            sched2.step()
    assert mon.audit.findings == []
    log = read_log(path)
    assert log.steps == list(range(20)) and [e["event"] for e in log.events] == ["resume"]
    assert log.values["lr"][0][15] == pytest.approx(lrkit.cosine(0.1, 0.0, steps=20)(15), rel=1e-12)


def test_scheduler_events_plug_in(tmp_path):
    layers = _model(1)
    opt = _sgd(layers)
    sched = ScheduleLR(opt, "constant(0.1)")
    sched.lrkit_events = []
    with Monitor(opt, log=str(tmp_path / "run.jsonl")):
        for k in range(4):
            _train_step(layers, opt)
            sched.step()
            if k == 1:
                sched.lrkit_events.append({"kind": "change of plan", "step": 2, "text": "T_max 100 -> 200"})
    log = read_log(str(tmp_path / "run.jsonl"))
    assert [(e["event"], e["step"], e["text"]) for e in log.events] == [("change of plan", 2, "T_max 100 -> 200")]


def test_bad_arguments():
    opt = _sgd(_model(1))
    with pytest.raises(lrkit.LrkitTypeError, match="optimizer must be a torch optimizer"):
        Monitor("sgd")
    with pytest.raises(lrkit.LrkitValueError, match="plan_per must be 'update' or 'epoch', got 'batch'"):
        Monitor(opt, plan="constant(0.1)", plan_per="batch", log="/dev/null")
    with pytest.raises(lrkit.LrkitValueError, match=r"plan\['lr'\] has 2 schedules for 1 param groups"):
        Monitor(opt, plan={"lr": ["constant(0.1)", None]}, log="/dev/null")
    with pytest.raises(lrkit.LrkitValueError, match="sinks\\[0\\] must be 'jsonl'"):
        Monitor(opt, sinks=["csv"])
    with pytest.raises(lrkit.LrkitValueError, match="'nesterov_x' is not in every param group"):
        Monitor(opt, keys=["nesterov_x"], log="/dev/null")
    assert math.isfinite(0.0)


def test_import_lrkit_imports_no_tracker_and_no_plotly():
    """``import lrkit`` (and the framework-free ``lrkit.monitor``) import none of the extras; the sinks
    import their tracker when built, the report imports plotly when drawn."""
    import subprocess
    import sys
    trackers = ("tensorboard", "wandb", "mlflow", "plotly", "selenium", "torch")
    code = ("import sys, lrkit, lrkit.monitor\n"
            f"print(sorted(m for m in {trackers!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_extras_are_declared():
    import pathlib
    import tomllib
    project = tomllib.loads((pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert {d.split(">")[0] for d in extras["monitor"]} == {"tensorboard", "wandb", "mlflow-skinny"}
    assert [d.split(">")[0] for d in extras["report"]] == ["plotly"]


def test_wandb_offline_and_mlflow_local_sinks(tmp_path, monkeypatch):
    """Both trackers' local modes get the monitor's scalars under Lightning's tag names, step = the update."""
    import mlflow
    import wandb
    from lrkit.monitor import MLflowSink, WandbSink
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # (MLflow 3.x: the local file store is opt-in)
    layers = _model(2)
    opt = _sgd(layers)
    sched = ScheduleLR(opt, "linear(0.1, 0.0, steps=6)")
    run = wandb.init(project="lrkit-test", mode="offline", dir=str(tmp_path))
    uri = (tmp_path / "mlruns").as_uri()
    try:
        with Monitor(opt, sinks=[WandbSink(run), MLflowSink(tracking_uri=uri, experiment="lrkit")]) as mon:
            for _ in range(6):
                loss = _train_step(layers, opt)
                sched.step()
                mon.metrics(loss=loss)
        summary = dict(run.summary)  # (offline: the last value logged of each key)
    finally:
        run.finish()
    assert summary["lr-SGD/pg2"] == pytest.approx(lrkit.linear(0.1, 0.0, steps=6)(5)) and "loss" in summary
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    (experiment,) = [e for e in client.search_experiments() if e.name == "lrkit"]
    (mlrun,) = client.search_runs([experiment.experiment_id])
    points = client.get_metric_history(mlrun.info.run_id, "lr-SGD/pg1")
    assert [p.step for p in points] == list(range(6))
    assert [p.value for p in points] == pytest.approx([lrkit.linear(0.1, 0.0, steps=6)(k) for k in range(6)])
    assert [p.step for p in client.get_metric_history(mlrun.info.run_id, "lr-SGD/pg1-momentum")] == list(range(6))


def test_plan_changes_of_a_scheduler_are_logged(tmp_path):
    """A scheduler's ``plan_changes`` (lrkit's record of a changed plan on resume) become events."""
    opt = _sgd(_model(1))
    sched = ScheduleLR(opt, "constant(0.1)")
    sched.plan_changes = [{"step": 7, "policy": "smooth", "key": "lr", "group": 0, "saved": "cosine(...)",
                           "current": "cosine(..., steps=200)", "old": 0.05, "applied": 0.05},
                          {"step": 7, "policy": None, "changes": {"T_max": [100, 200]}}]
    with Monitor(opt, log=str(tmp_path / "run.jsonl")):
        _train_step(_model(1), opt)
    log = read_log(str(tmp_path / "run.jsonl"))
    assert [(e["event"], e["step"]) for e in log.events] == [("change of plan", 7)] * 2
    assert "(policy: smooth)" in log.events[0]["text"] and "0.05 applied" in log.events[0]["text"]
    assert log.events[1]["text"] == "T_max 100 -> 200 (policy: the saved arguments win (torch's rule))"


def test_non_finite_values_are_written_as_strings_and_read_back(tmp_path):
    from lrkit.monitor import JsonLinesSink, Recorder
    path = str(tmp_path / "run.jsonl")
    rec = Recorder(["lr"], ["pg1", "pg2"], sinks=[JsonLinesSink(path)])
    rec.record(0, [[0.1, float("nan")]])
    rec.record(1, [[float("inf"), 0.2]])
    rec.close()
    text = (tmp_path / "run.jsonl").read_text()
    assert "NaN" not in text and "Infinity" not in text
    log = read_log(path)
    assert log.values["lr"][0] == [0.1, math.inf] and math.isnan(log.values["lr"][1][0])


def test_schedule_lr_in_epochs_is_planned_per_update(tmp_path):
    """ScheduleLR(steps_per_epoch=4): a schedule in epochs at fractional epochs; the plan, the audit and the
    report's planned curve follow it per update."""
    opt = _sgd(_model(1))
    sched = ScheduleLR(opt, "cosine(0.1, 0.0, steps=5)", steps_per_epoch=4)
    with Monitor(opt, log=str(tmp_path / "run.jsonl")) as mon:
        _per_update(_model(1), opt, sched, mon, 20)
    assert mon.audit.findings == []
    log = read_log(str(tmp_path / "run.jsonl"))
    assert log.header["plan_time"] == {"lr": [0.25]}
    from lrkit.report import _planned
    planned, _ = _planned(log, "lr", 0, log.steps)
    assert planned.tolist() == pytest.approx(log.values["lr"][0], rel=1e-12)


def test_the_latest_scheduler_built_on_the_optimizer_gives_the_plan(tmp_path):
    opt = _sgd(_model(1))
    old = ScheduleLR(opt, "constant(0.1)")  # noqa: F841 (still alive: a scheduler replaced by the next)
    new = ScheduleLR(opt, "linear(0.1, 0.0, steps=10)")
    with Monitor(opt, log=str(tmp_path / "run.jsonl")) as mon:
        for _ in range(10):
            _train_step(_model(1), opt)
            new.step()
    assert mon.schedulers[0] is new and mon.audit.findings == []
