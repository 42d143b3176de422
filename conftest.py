import os

# Keras 3 reads its backend once, at import; TensorFlow is not installed, so default to torch.
os.environ.setdefault("KERAS_BACKEND", "torch")

import pytest  # noqa: E402

import lrkit  # noqa: E402


@pytest.fixture(autouse=True)
def _lrkit_names(doctest_namespace):
    doctest_namespace.update({name: getattr(lrkit, name) for name in lrkit.__all__})
