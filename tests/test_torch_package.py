"""The shape of lrkit.torch: a package whose public face is the names it always had, private modules of at
most 800 lines, no import circle through them (lazy imports inside functions included), and a clear error
naming the extra to install when torch is missing."""
import os
import subprocess
import sys

import pytest

from test_imports import circles, import_graph, module_names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")
PACKAGE = os.path.join(SRC, "lrkit", "torch")

#: every name ``lrkit.torch`` exported before it became a package (its ``__all__`` then)
PUBLIC = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
          "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CyclicLR", "OneCycleLR",
          "CosineAnnealingWarmRestarts", "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler", "ScheduleLR",
          "reduce_metric", "save_checkpoint", "load_checkpoint", "CheckpointError", "prepare_for_accelerate",
          "lightning_plateau_callback", "hf_plateau_callback", "HFScheduleMixin", "find_lr", "RestoreError",
          "MnistTask", "mnist_shootout"]
#: names added since, by issue
ADDED = {14: ["SWALR", "GreedyLR", "schedule_of"], 15: ["PlanChangedWarning", "BatchPlan", "RampBatchSampler"],
         16: ["Monitor", "lightning_monitor_callback", "hf_monitor_callback"]}


def test_the_public_names_are_unchanged():
    pytest.importorskip("torch")
    import lrkit.torch as K
    added = [name for names in ADDED.values() for name in names]
    assert sorted(K.__all__) == sorted(PUBLIC + added)
    for name in PUBLIC + added:
        assert getattr(K, name).__module__.startswith("lrkit.torch"), name
    import lrkit.torch._step  # noqa: F401  (the private modules live inside the package)
    assert os.path.isdir(PACKAGE) and not os.path.exists(os.path.join(SRC, "lrkit", "torch.py"))


def test_no_module_is_over_800_lines():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in module_names().items()}
    assert {name: n for name, n in sizes.items() if n > 800} == {}


def test_lrkit_torch_is_split_and_in_no_import_circle():
    """The package imports its seams; none of its modules reaches itself (tests/test_imports.py reads every
    import statement, lazy ones inside functions included)."""
    graph = import_graph()
    assert graph["lrkit.torch"] >= {"lrkit.torch._schedule_lr", "lrkit.torch._simple", "lrkit.torch._trainers"}
    assert [c for c in circles(graph) if any(m.startswith("lrkit.torch") for m in c)] == []


def test_import_without_torch_names_the_extra_to_install():
    """With torch missing (simulated: ``sys.modules['torch'] = None``), ``import lrkit`` works and
    ``import lrkit.torch`` raises ModuleNotFoundError (an ImportError) saying ``pip install 'lrkit[torch]'``."""
    code = ("import sys\n"
            "sys.modules['torch'] = None\n"
            "import lrkit\n"
            "assert lrkit.cosine(1.0, 0.0, steps=4)(2) == 0.5\n"
            "try:\n"
            "    import lrkit.torch\n"
            "except ModuleNotFoundError as error:\n"
            "    print(error.name, '|', error)\n")
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    name, message = done.stdout.strip().split(" | ")
    assert name == "torch"
    assert "pip install 'lrkit[torch]'" in message and "lrkit.torch needs PyTorch" in message


@pytest.mark.parametrize("missing", ["lightning", "transformers"])
def test_a_missing_trainer_library_does_not_break_import(missing):
    """The trainer integrations import their library only when used: lrkit.torch imports without it."""
    code = f"import sys\nsys.modules[{missing!r}] = None\nimport lrkit.torch\nprint(lrkit.torch.ScheduleLR.__name__)\n"
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ScheduleLR", done.stderr
