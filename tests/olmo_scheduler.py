"""OLMo-core's ``olmo_core.optim.scheduler`` without the rest of olmo_core (whose ``config`` module pulls in
cloud-storage clients absent here): ``load()`` imports the installed scheduler.py by file path, with the
few names it imports from olmo_core (``Config``, ``Registrable``, ``StrEnum``, ``get_rank``,
``OLMoConfigurationError``, the LR field names) given as small stand-ins. Its classes and ``get_lr`` are
OLMo's own code. Skips the calling test when ai2-olmo-core is not installed."""
import enum
import importlib.util
import sys
import types

import pytest


def load():
    found = sys.modules.get("olmo_core.optim.scheduler")
    if found is not None:
        return found
    spec = importlib.util.find_spec("olmo_core")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("ai2-olmo-core is not installed (pip install --no-deps ai2-olmo-core)")
    root = list(spec.submodule_search_locations)[0]

    def package(name, path=None):
        module = types.ModuleType(name)
        if path is not None:
            module.__path__ = [path]
        sys.modules[name] = module
        return module

    package("olmo_core", root)
    package("olmo_core.optim", f"{root}/optim")
    config = package("olmo_core.config")

    class Config:
        pass

    class Registrable:
        @classmethod
        def register(cls, name):
            return lambda subclass: subclass

    class StrEnum(str, enum.Enum):
        def __str__(self):
            return self.value

    config.Config, config.Registrable, config.StrEnum = Config, Registrable, StrEnum
    package("olmo_core.distributed", f"{root}/distributed")
    package("olmo_core.distributed.utils").get_rank = lambda *a, **k: 0
    exceptions = package("olmo_core.exceptions")
    exceptions.OLMoConfigurationError = type("OLMoConfigurationError", (Exception,), {})
    optim_config = package("olmo_core.optim.config")
    optim_config.LR_FIELD, optim_config.INITIAL_LR_FIELD = "lr", "initial_lr"
    module_spec = importlib.util.spec_from_file_location("olmo_core.optim.scheduler", f"{root}/optim/scheduler.py")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["olmo_core.optim.scheduler"] = module
    module_spec.loader.exec_module(module)
    return module
