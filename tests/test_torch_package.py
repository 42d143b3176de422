"""The shape of lrkit.torch: a package whose public face is the names it always had, private modules of at
most 800 lines, no import circle through them (lazy imports inside functions included), and a clear error
naming the extra to install when torch is missing."""
import ast
import os
import subprocess
import sys

import pytest

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


def _modules():
    """``{module name: file}`` for every module of src/lrkit."""
    found = {}
    for folder, _, files in os.walk(os.path.join(SRC, "lrkit")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, SRC)[:-3].split(os.sep)
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(module, source, is_package, modules):
    """The lrkit modules ``module`` imports anywhere in its ``source`` (inside functions too)."""
    package = module if is_package else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:  # ``from . import x``: the submodule x if there is one, else the package
                target = f"{base}.{a.name}"
                out.add(target if target in modules else base)
    return {m for m in out if m in modules and m != module}


def test_the_public_names_are_unchanged():
    pytest.importorskip("torch")
    import lrkit.torch as K
    assert sorted(K.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(K, name).__module__.startswith("lrkit.torch"), name
    import lrkit.torch._step  # noqa: F401  (the private modules live inside the package)
    assert os.path.isdir(PACKAGE) and not os.path.exists(os.path.join(SRC, "lrkit", "torch.py"))


def test_no_module_is_over_800_lines():
    sizes = {m: sum(1 for _ in open(p)) for m, p in _modules().items()}
    assert {m: n for m, n in sizes.items() if n > 800} == {}


def test_no_import_circle_goes_through_lrkit_torch():
    """No module of lrkit.torch reaches itself in the import graph of src/lrkit (every import statement,
    lazy ones inside functions included)."""
    modules = _modules()
    graph = {m: _imports(m, open(p).read(), p.endswith("__init__.py"), modules) for m, p in modules.items()}
    assert graph["lrkit.torch"] >= {"lrkit.torch._schedule_lr", "lrkit.torch._simple", "lrkit.torch._trainers"}
    circles = []
    for start in sorted(m for m in graph if m.startswith("lrkit.torch")):
        came_from, frontier = {}, [start]
        while frontier and start not in came_from:  # breadth first from start: does an import lead back?
            node = frontier.pop(0)
            for nxt in sorted(graph[node]):
                if nxt not in came_from:
                    came_from[nxt] = node
                    frontier.append(nxt)
        if start in came_from:
            path, node = [start], came_from[start]
            while node != start:
                path.append(node)
                node = came_from[node]
            circles.append(" <- ".join(path + [start]))
    assert circles == []


def test_the_graph_sees_lazy_and_relative_imports():
    """The circle check reads imports inside functions, ``from . import`` of a module and of a name."""
    modules = _modules()
    source = "def f():\n    from . import _step, ScheduleLR\n    from .. import _checks\n    import lrkit._base\n"
    assert _imports("lrkit.torch._probe", source, False, modules) == {
        "lrkit.torch._step", "lrkit.torch", "lrkit._checks", "lrkit._base"}


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
