import os

# Keras 3 reads its backend once, at import; TensorFlow is not installed, so default to torch.
os.environ.setdefault("KERAS_BACKEND", "torch")

import importlib.util  # noqa: E402

import pytest  # noqa: E402

# --doctest-modules imports every module of src/lrkit: skip the adapters whose framework is missing
collect_ignore = [f"src/lrkit/{name}.py" for name in ("torch", "keras", "optax")
                  if importlib.util.find_spec({"optax": "optax"}.get(name, name)) is None]

import lrkit  # noqa: E402


@pytest.fixture(autouse=True)
def _lrkit_names(doctest_namespace):
    doctest_namespace.update({name: getattr(lrkit, name) for name in lrkit.__all__})
