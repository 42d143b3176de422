"""timm's ``timm.scheduler`` modules without timm's ``__init__`` (which imports torchvision, absent here):
``load()`` builds the packages ``timm`` and ``timm.scheduler`` as bare namespaces over the installed files
and imports the scheduler modules from them. Skips the calling test when timm is not installed."""
import importlib
import importlib.util
import sys
import types

import pytest

MODULES = ("scheduler", "cosine_lr", "tanh_lr", "poly_lr", "wsd_lr", "step_lr", "multistep_lr", "plateau_lr")


def load():
    """The ``timm.scheduler`` package (its modules as attributes: ``load().cosine_lr.CosineLRScheduler``)."""
    found = sys.modules.get("timm.scheduler")
    if found is not None and all(hasattr(found, m) for m in MODULES):
        return found
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("timm is not installed (pip install --no-deps timm)")
    root = list(spec.submodule_search_locations)[0]
    if "timm" not in sys.modules:
        bare = types.ModuleType("timm")
        bare.__path__ = [root]
        sys.modules["timm"] = bare
    package = types.ModuleType("timm.scheduler")
    package.__path__ = [f"{root}/scheduler"]
    sys.modules["timm.scheduler"] = package
    for name in MODULES:
        setattr(package, name, importlib.import_module(f"timm.scheduler.{name}"))
    return package
