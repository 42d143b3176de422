"""The tiny array namespaces every formula is written against.

A formula uses arithmetic operators on the step ``t`` plus ``xp.where, minimum, maximum, clip,
floor, ceil, cos, exp, log, sqrt``. Frameworks are never imported here: a namespace is built from
the module object the caller passes (``numpy``, ``jax.numpy``, ``keras.ops``, ``torch``).
"""
import math
import types

import numpy as np

from ._errors import LrkitTypeError, excerpt

_FUNCTIONS = ("where", "minimum", "maximum", "floor", "ceil", "cos", "exp", "log", "sqrt")


class Namespace:
    """A named bundle of the array functions a formula may call, plus ``to_float(steps)``."""

    def __init__(self, name, to_float, **functions):
        missing = set(_FUNCTIONS) - set(functions)
        if missing:
            raise LrkitTypeError(f"namespace {name!r} lacks {sorted(missing)}")
        self.name = name
        self.to_float = to_float
        for key, fn in functions.items():
            setattr(self, key, fn)

    def clip(self, x, low, high):
        return self.minimum(self.maximum(x, low), high)

    def apply(self, fn, x):
        """``fn(x)`` for a user function (the tracer of the scalar fast path keeps it opaque)."""
        return fn(x)

    def __repr__(self):
        return f"<lrkit namespace {self.name}>"


def _scalar_where(cond, a, b):
    return a if cond else b


# Plain Python floats: the per-step path of every adapter (math is ~50x cheaper than numpy on a scalar).
MATH = Namespace("math", to_float=lambda t: t, where=_scalar_where, minimum=min, maximum=max,
                 floor=math.floor, ceil=math.ceil, cos=math.cos, exp=math.exp, log=math.log,
                 sqrt=math.sqrt)

NUMPY = Namespace("numpy", to_float=lambda t: np.asarray(t, dtype=np.float64),
                  **{f: getattr(np, f) for f in _FUNCTIONS})

# float32 like TensorFlow's default dtype: Python-float constants stay weak, so every operation is
# done in float32 (1-d so that NumPy 1.x value-based casting does not promote 0-d arrays).
NUMPY32 = Namespace("numpy.float32", to_float=lambda t: np.atleast_1d(np.asarray(t, dtype=np.float32)),
                    **{f: getattr(np, f) for f in _FUNCTIONS})


def _from_torch(torch):
    # torch.minimum/maximum take tensors only; a Python number goes to clamp as a kernel argument (a number
    # made into a tensor on a GPU would be a host-to-device copy at every evaluation)
    def minimum(a, b):
        if not isinstance(b, torch.Tensor):
            return torch.clamp(a, max=b)
        if not isinstance(a, torch.Tensor):
            return torch.clamp(b, max=a)
        return torch.minimum(a, b)

    def maximum(a, b):
        if not isinstance(b, torch.Tensor):
            return torch.clamp(a, min=b)
        if not isinstance(a, torch.Tensor):
            return torch.clamp(b, min=a)
        return torch.maximum(a, b)

    def to_float(t):
        t = torch.as_tensor(t)
        return t if t.is_floating_point() else t.to(torch.get_default_dtype())

    return Namespace("torch", to_float=to_float, where=torch.where, minimum=minimum, maximum=maximum,
                     **{f: getattr(torch, f) for f in ("floor", "ceil", "cos", "exp", "log", "sqrt")})


def _from_keras_ops(ops):
    import sys  # keras.ops is passed in, so keras is already imported: read its floatx from there
    config = getattr(sys.modules.get(ops.__name__.partition(".")[0]), "config", None)

    def to_float(t):
        """Keras tensors, Variables (``optimizer.iterations``), symbolic KerasTensors and Python
        numbers; integer steps become Keras' floatx (float32 unless configured)."""
        if not hasattr(t, "dtype"):
            t = ops.convert_to_tensor(t)
        if "float" in str(t.dtype):
            return t
        return ops.cast(t, config.floatx() if hasattr(config, "floatx") else "float32")

    # Keras' type promotion caps floats at 32 bits (keras.src.backend.common.dtypes.result_type), so
    # ops.floor/ceil/minimum/maximum turn float64 into float32 (torch backend). These keep the dtype:
    # trunc and where do; min/max are written as the math namespace's builtins (a unless b < a).
    trunc = getattr(ops, "trunc", None)

    def floor(x):
        t = trunc(x)
        return ops.where(ops.greater(t, x), ops.subtract(t, 1.0), t)

    def ceil(x):
        t = trunc(x)
        return ops.where(ops.less(t, x), ops.add(t, 1.0), t)

    def minimum(a, b):
        return ops.where(ops.less(b, a), b, a)

    def maximum(a, b):
        return ops.where(ops.greater(b, a), b, a)

    functions = {f: getattr(ops, f) for f in _FUNCTIONS}
    functions.update(minimum=minimum, maximum=maximum)
    if trunc is not None:  # Keras >= 3.6
        functions.update(floor=floor, ceil=ceil)
    return Namespace("keras.ops", to_float=to_float, **functions)


def _from_array_module(module):
    """jax.numpy and any other module with numpy's names for these functions."""
    def to_float(t):
        t = module.asarray(t)
        return t if "float" in str(t.dtype) else module.asarray(t, dtype=float)

    return Namespace(module.__name__, to_float=to_float, **{f: getattr(module, f) for f in _FUNCTIONS})


_cache = {}


def namespace(xp):
    """The lrkit namespace for ``xp``: an lrkit Namespace, or the module ``math``, ``numpy``,
    ``jax.numpy``, ``keras.ops`` or ``torch``."""
    if isinstance(xp, Namespace):
        return xp
    if not isinstance(xp, types.ModuleType):
        raise LrkitTypeError(
            f"xp must be a module (numpy, jax.numpy, keras.ops, torch) or an lrkit Namespace, got {excerpt(xp)}")
    name = xp.__name__
    found = _cache.get(name)
    if found is None:
        if name == "math":
            found = MATH
        elif name == "numpy":
            found = NUMPY
        elif name == "torch":
            found = _from_torch(xp)
        elif name in ("keras.ops", "keras.src.ops"):
            found = _from_keras_ops(xp)
        elif all(hasattr(xp, f) for f in _FUNCTIONS + ("asarray",)):
            found = _from_array_module(xp)
        else:
            raise LrkitTypeError(
                f"xp={name!r} lacks array functions lrkit needs ({', '.join(_FUNCTIONS)}, asarray)")
        _cache[name] = found
    return found
