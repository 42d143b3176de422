"""Test setup shared by tests/.

- Keras 3 needs a backend before it is first imported; no TensorFlow is installed, so the tests run
  Keras on torch unless the environment already chose one.
- ``tests/`` is put on ``sys.path`` so that ``import reference`` (the one reference table) works from
  every test module, whatever pytest import mode or package layout is in use.
- Hypothesis draws the same examples for a test whatever ran before it in its process: since 6.131 it
  also draws constants found in the local modules already imported (``sys.modules``), so a derandomized
  test changed its examples with pytest-xdist's split of the tests (a law failed on CI only, one run in
  several). That pool stays empty unless ``LRKIT_FUZZ_EXAMPLES`` asks for a long campaign.
- ``--ulp-jitter`` runs the suite as if numpy's cos/exp/log/pow were an ulp off (another CPU's SIMD
  kernels); the ``numpy_an_ulp_off`` fixture does it for one test (tests/ulps.py).
"""
import os
import sys

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


def pytest_addoption(parser):
    parser.addoption("--ulp-jitter", nargs="?", const="inexact", default=os.environ.get("LRKIT_ULP_JITTER") or None,
                     choices=["inexact", "all"],
                     help="simulate a numpy whose cos/exp/log/pow return the other float next to the true value "
                          "(tests/ulps.py): 'inexact' (a library under 1 ulp) or 'all' (exact powers moved too); "
                          "also LRKIT_ULP_JITTER=inexact|all")


def _hypothesis_without_local_constants():
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # another Hypothesis layout: its examples may then depend on the test order
        return
    if hasattr(providers, "_get_local_constants") and hasattr(providers, "_local_constants"):
        empty = providers._local_constants
        providers._get_local_constants = lambda: empty


if "LRKIT_FUZZ_EXAMPLES" not in os.environ:
    _hypothesis_without_local_constants()


def pytest_configure(config):
    mode = config.getoption("--ulp-jitter")
    if mode:
        from ulps import install_jitter
        patch = pytest.MonkeyPatch()
        install_jitter(patch, exact_too=mode == "all")
        config.add_cleanup(patch.undo)


@pytest.fixture
def numpy_an_ulp_off(monkeypatch):
    """For one test, lrkit's numpy path computes cos/exp/log/pow an ulp off (exact powers too), as
    another CPU's kernels may (tests/ulps.py)."""
    from ulps import install_jitter
    install_jitter(monkeypatch, exact_too=True)
