"""A run resumed with a changed plan, through Lightning, the HF Trainer, Accelerate and a killed process.

Each test trains a tiny model for 10 updates under a cosine over 20, checkpoints with the framework's own
machinery, and resumes under a cosine over 40 (or a drop-in with ``T_max`` 20 -> 40) for 10 more. A step
pre-hook on the optimizer records the LR each update used; the resumed updates must use exactly the chosen
policy's values: ``"raise"`` stops the resume with lrkit's error, ``"keep"`` the saved cosine, ``"new"`` the
new one, ``"smooth"`` ``lrkit.rejoin(old, new, at=10)``; a drop-in follows the saved arguments and warns,
or, built with ``on_change="smooth"``, re-anchors as the native adapter does.
"""
import os
import signal
import subprocess
import sys
import textwrap
import warnings

import pytest

torch = pytest.importorskip("torch")

import lrkit  # noqa: E402
import lrkit.torch as K  # noqa: E402
from lrkit import LrkitValueError  # noqa: E402

OLD, NEW = lrkit.cosine(1.0, 0.0, steps=20), lrkit.cosine(1.0, 0.0, steps=40)
FIRST, TOTAL = 10, 20
EXPECTED = {"keep": OLD, "new": NEW, "smooth": lrkit.rejoin(OLD, NEW, at=FIRST)}
REL = 1e-12


def _close(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert abs(g - e) <= REL * max(abs(e), 1e-300), (got, expected)


def _plain(lr):
    return lr.item() if isinstance(lr, torch.Tensor) else lr


def _scheduler(opt, which, policy):
    if which == "native":
        return K.ScheduleLR(opt, OLD if policy is None else NEW, on_change=policy or "raise")
    if which == "drop-in, policy":  # the policy as the drop-in's keyword-only constructor argument
        return K.CosineAnnealingLR(opt, T_max=20 if policy is None else 40, on_change=policy)
    return K.CosineAnnealingLR(opt, T_max=20 if policy is None else 40)


# ---- Lightning ---------------------------------------------------------------------------------------
pl = pytest.importorskip("lightning.pytorch")


class _Tiny(pl.LightningModule):
    def __init__(self, which, policy):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(3, 1)
        self.which, self.policy, self.trace = which, policy, []

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.net.parameters(), lr=1.0)
        opt.register_step_pre_hook(lambda o, a, k: self.trace.append(_plain(o.param_groups[0]["lr"])))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": _scheduler(opt, self.which, self.policy),
                                                   "interval": "step"}}


def _loader():
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=2)


def _lightning(tmp_path, which, policy):
    """10 updates under the old plan, a checkpoint, 10 more resumed under ``policy``: the resumed trace."""
    kwargs = dict(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                  enable_model_summary=False, num_sanity_val_steps=0)
    first = pl.Trainer(max_steps=FIRST, **kwargs)
    first.fit(_Tiny(which, None), _loader())
    path = str(tmp_path / "ten.ckpt")
    first.save_checkpoint(path)
    model = _Tiny(which, policy)
    pl.Trainer(max_steps=TOTAL, **kwargs).fit(model, _loader(), ckpt_path=path)
    return model.trace


pytestmark = pytest.mark.filterwarnings("ignore:.*isinstance\\(treespec, LeafSpec\\).*is deprecated",
                                        "ignore:.*does not have many workers.*")


@pytest.mark.parametrize("policy", ["keep", "new", "smooth"])
def test_lightning_resume_with_a_new_total_follows_the_chosen_policy(tmp_path, policy):
    trace = _lightning(tmp_path, "native", policy)
    _close(trace, [EXPECTED[policy](k) for k in range(FIRST, TOTAL)])


def test_lightning_resume_with_a_new_total_raises_by_default(tmp_path):
    with pytest.raises(LrkitValueError, match=r"changed on resume at step 10.*steps=20.*steps=40.*jumps"):
        _lightning(tmp_path, "native", "raise")


def test_lightning_drop_in_keeps_the_saved_arguments_and_warns(tmp_path):
    with pytest.warns(K.PlanChangedWarning, match=r"T_max 20 -> 40.*step 10 is \[0\.5\]"):
        trace = _lightning(tmp_path, "drop-in", "keep")
    _close(trace, [OLD(k) for k in range(FIRST, TOTAL)])


def test_lightning_drop_in_built_with_smooth_re_anchors(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", K.PlanChangedWarning)
        trace = _lightning(tmp_path, "drop-in, policy", "smooth")
    _close(trace, [EXPECTED["smooth"](k) for k in range(FIRST, TOTAL)])


# ---- the HF Trainer ----------------------------------------------------------------------------------
transformers = pytest.importorskip("transformers")
accelerate_state = pytest.importorskip("accelerate.state")


class _HFModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(3, 1)

    def forward(self, x, labels=None):
        out = self.net(x)
        return {"loss": torch.nn.functional.mse_loss(out, labels), "logits": out}


def _hf(tmp_path, which, policy):
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    data = [{"x": x[i], "labels": x[i].sum(0, keepdim=True)} for i in range(40)]
    traces = []
    for steps, plan in ((FIRST, None), (TOTAL, policy)):
        accelerate_state.AcceleratorState._reset_state(True)
        accelerate_state.GradientState._reset_state()
        model = _HFModel()
        opt = torch.optim.SGD(model.parameters(), lr=1.0)
        trace = []
        opt.register_step_pre_hook(lambda o, a, k: trace.append(_plain(o.param_groups[0]["lr"])))
        args = transformers.TrainingArguments(
            output_dir=str(tmp_path), per_device_train_batch_size=2, max_steps=steps, report_to="none",
            save_strategy="steps", save_steps=FIRST, logging_strategy="no", disable_tqdm=True, use_cpu=True,
            remove_unused_columns=False, dataloader_num_workers=0, seed=0)
        trainer = transformers.Trainer(model=model, args=args, train_dataset=data,
                                       optimizers=(opt, _scheduler(opt, which, plan)))
        trainer.train(resume_from_checkpoint=str(tmp_path / f"checkpoint-{FIRST}") if plan else None)
        traces.append(trace)
    return traces[1]


@pytest.mark.parametrize("policy", ["keep", "new", "smooth"])
def test_hf_trainer_resume_with_a_new_total_follows_the_chosen_policy(tmp_path, policy):
    _close(_hf(tmp_path, "native", policy), [EXPECTED[policy](k) for k in range(FIRST, TOTAL)])


def test_hf_trainer_resume_raises_by_default_and_the_drop_in_warns(tmp_path, caplog):
    """The Trainer swallows a lone warning raised while it loads the scheduler (transformers'
    ``reissue_pt_warnings`` reissues only when it caught more than one): the drop-in's message also goes to
    the ``lrkit`` logger, which the Trainer does not intercept."""
    with pytest.raises(LrkitValueError, match="changed on resume at step 10"):
        _hf(tmp_path / "a", "native", "raise")
    with caplog.at_level("WARNING", logger="lrkit"):
        trace = _hf(tmp_path / "b", "drop-in", "keep")
    assert any("T_max 20 -> 40" in r.getMessage() and "step 10 is [0.5]" in r.getMessage() for r in caplog.records)
    _close(trace, [OLD(k) for k in range(FIRST, TOTAL)])


def test_hf_trainer_drop_in_built_with_smooth_re_anchors(tmp_path):
    _close(_hf(tmp_path, "drop-in, policy", "smooth"), [EXPECTED["smooth"](k) for k in range(FIRST, TOTAL)])


# ---- Accelerate --------------------------------------------------------------------------------------
def _accelerate(tmp_path, policy):
    from accelerate import Accelerator
    from lrkit.torch._trainers import prepare_for_accelerate
    traces = []
    for updates, plan in ((FIRST, None), (FIRST, policy)):
        accelerate_state.AcceleratorState._reset_state(True)
        accelerate_state.GradientState._reset_state()
        accelerator = Accelerator(cpu=True)
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=1.0)
        trace = []
        opt.register_step_pre_hook(lambda o, a, k: trace.append(_plain(o.param_groups[0]["lr"])))
        model, opt, sched = prepare_for_accelerate(accelerator, model, opt, _scheduler(opt, "native", plan))
        if plan:
            accelerator.load_state(str(tmp_path))
        x = torch.randn(2, 3)
        for _ in range(updates):
            accelerator.backward(torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True)))
            opt.step()
            sched.step()
            opt.zero_grad()
        if not plan:
            accelerator.save_state(str(tmp_path))
        traces.append(trace)
    accelerate_state.AcceleratorState._reset_state(True)
    return traces[1]


@pytest.mark.parametrize("policy", ["keep", "new", "smooth"])
def test_accelerate_load_state_with_a_new_total_follows_the_chosen_policy(tmp_path, policy):
    _close(_accelerate(tmp_path, policy), [EXPECTED[policy](k) for k in range(FIRST, TOTAL)])


def test_accelerate_load_state_raises_by_default(tmp_path):
    with pytest.raises(LrkitValueError, match="changed on resume at step 10"):
        _accelerate(tmp_path, "raise")


# ---- a killed process --------------------------------------------------------------------------------
CHILD = textwrap.dedent(r'''
    import os, signal, sys
    import torch
    import lrkit.torch as K
    ckpt, trace_path, spec, policy, total, kill_at = sys.argv[1:7]
    total, kill_at = int(total), int(kill_at)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = K.ScheduleLR(opt, spec, on_change=policy)
    start = 0
    if os.path.exists(ckpt):
        state = torch.load(ckpt, weights_only=True)
        model.load_state_dict(state["model"]); opt.load_state_dict(state["opt"])
        try:
            sched.load_state_dict(state["sched"])
        except Exception as error:
            print(type(error).__name__, error); sys.exit(3)
        start = state["step"] + 1
    trace = open(trace_path, "a")
    for step in range(start, total):
        x = torch.randn(4, 3, generator=torch.Generator().manual_seed(step))
        trace.write(f"{step} {float(opt.param_groups[0]['lr']).hex()}\n"); trace.flush()
        torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True)).backward()
        opt.step(); sched.step(); opt.zero_grad()
        if step % 4 == 3:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                        "step": step}, ckpt)
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
''')


def _run(tmp_path, spec, policy, kill_at):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    args = [sys.executable, "-c", CHILD, str(tmp_path / "ckpt.pt"), str(tmp_path / "trace.txt"), spec, policy,
            str(TOTAL), str(kill_at)]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("policy", ["keep", "new", "smooth", "raise"])
def test_killed_and_resumed_with_a_new_total(tmp_path, policy):
    """Killed at update 13 (last checkpoint after update 11); resumed at 12 with a cosine over 40."""
    first = _run(tmp_path, "cosine(1.0, 0.0, steps=20)", "raise", kill_at=13)
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    second = _run(tmp_path, "cosine(1.0, 0.0, steps=40)", policy, kill_at=-1)
    if policy == "raise":
        assert second.returncode == 3 and "changed on resume at step 12" in second.stdout, second.stdout
        return
    assert second.returncode == 0, second.stderr[-2000:]
    rows = [line.split() for line in (tmp_path / "trace.txt").read_text().splitlines()]
    used = {}
    for step, lr in rows:  # a step traced twice (after the kill, again on resume): the resumed one counts
        used[int(step)] = float.fromhex(lr)
    expected = {"keep": OLD, "new": NEW, "smooth": lrkit.rejoin(OLD, NEW, at=12)}[policy]
    assert sorted(used) == list(range(TOTAL))
    for k in range(TOTAL):
        plan = OLD if k < 12 else expected
        assert used[k] == plan(k), (k, used[k], plan(k))  # the same per-step path computes both: bitwise
