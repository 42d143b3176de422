"""Test setup shared by tests/.

- Keras 3 needs a backend before it is first imported; no TensorFlow is installed, so the tests run
  Keras on torch unless the environment already chose one.
- ``tests/`` is put on ``sys.path`` so that ``import reference`` (the one reference table) works from
  every test module, whatever pytest import mode or package layout is in use.
"""
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


def pytest_addoption(parser):
    parser.addoption("--ulp-jitter", action="store_true", default=os.environ.get("LRKIT_ULP_JITTER") == "1",
                     help="simulate a numpy whose cos/exp/log/pow are 1 ulp off (tests/ulps.py); "
                          "also LRKIT_ULP_JITTER=1")


def pytest_configure(config):
    if config.getoption("--ulp-jitter"):
        import pytest
        from ulps import install_jitter
        patch = pytest.MonkeyPatch()
        install_jitter(patch)
        config.add_cleanup(patch.undo)
