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
