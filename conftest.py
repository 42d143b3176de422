import os

# Keras 3 reads its backend once, at import; TensorFlow is not installed, so default to torch.
os.environ.setdefault("KERAS_BACKEND", "torch")

import importlib.util  # noqa: E402

import pytest  # noqa: E402

# --doctest-modules imports every module of src/lrkit: skip the adapters whose framework is missing
_NEEDS = {"torch": "torch", "keras.py": "keras", "optax.py": "optax"}  # (lrkit.torch is a package: the folder)
collect_ignore = [f"src/lrkit/{name}" for name, package in _NEEDS.items() if importlib.util.find_spec(package) is None]

import lrkit  # noqa: E402


@pytest.fixture(autouse=True)
def _lrkit_names(request, doctest_namespace):
    """lrkit's public names in every doctest, except where the module defines its own (lrkit.torch.find_lr)."""
    own = getattr(getattr(request.node, "dtest", None), "globs", {})
    for name in lrkit.__all__:
        if name in own:
            doctest_namespace.pop(name, None)
        else:
            doctest_namespace[name] = getattr(lrkit, name)
