"""Arithmetic the shapes' formulas share: powers that stay true where floats hold the value, and the
same power on the per-step and numpy paths (see ``_power``)."""
import functools
import math

import numpy as np


def _periods_elapsed(t, steps, staircase, xp):
    """t / steps, floored when staircase (TF's ``global_step / decay_steps``)."""
    p = t / steps
    return xp.floor(p) if staircase else p


#: A product below this cannot overflow a float32 or a float64 (a Python-level choice of the order of
#: operations: ordinary parameters keep the order, and the bits, they always had).
_BIG = 1e30


def _scaled_power(scale, base, x, xp):
    """``scale * base ** x`` (``scale, base >= 0``, ``x >= 0``), true wherever it is a float: 0 for a
    ``scale`` of 0 (not ``0 * inf``), and in the log domain where ``base ** x`` alone leaves float range
    but the product does not (a growth from a small ``scale``, a decay from a large one)."""
    if scale == 0:
        return x * 0.0
    power = base ** x
    value = scale * power
    if base > 1 and scale < 1:  # base ** x overflows before the product
        return xp.where(power == math.inf, xp.exp(math.log(scale) + x * math.log(base)), value)
    if 0 < base < 1 and scale > 1:  # base ** x underflows before the product
        return xp.where(power == 0.0, xp.exp(math.log(scale) + x * math.log(base)), value)
    return value


def _between(a, b):
    """The bounds of a curve that stays between the numbers ``a`` and ``b``."""
    return (min(a, b), max(a, b))


def _power(base, n, xp=None):
    """``base ** n`` for a whole number of cycles ``n``. On the per-step path (math, and its compiled
    trace) and the numpy path both compute it with Python's float power, once per distinct ``n``:
    numpy's SIMD pow may differ from the C library's by an ulp (AVX-512), and a cycle start one ulp
    off moves a restart from one path's step to the other's. Other namespaces use their own ``**``."""
    if xp is None or xp.name not in ("numpy", "numpy.float32"):
        return base ** n  # (math and its trace: Python's float power already; an overflow falls back to numpy)
    return xp.apply(functools.partial(_python_power, base), n)


def _python_power(base, n):
    """``base ** n`` with Python floats, on a number or elementwise on a numpy array (inf on overflow,
    NaN where ``n`` is not finite: a part of a ``sequence`` before its start), rounded to ``n``'s float32
    for a float32 array (``lrkit.tf``'s float32 mode)."""
    if isinstance(n, np.ndarray) and n.dtype == np.float32:
        return _python_power(base, n.astype(np.float64)).astype(np.float32)
    if not isinstance(n, np.ndarray):
        try:
            return base ** n
        except OverflowError:
            return math.inf
    ok = np.isfinite(n)
    if not ok.all():
        out = np.full(n.shape, math.nan)
        if ok.any():
            out[ok] = _python_power(base, n[ok])
        return out
    if n.size == 0:
        return n.astype(np.float64)
    low, high = float(n.min()), float(n.max())
    if high - low < 4096:  # the cycles a curve crosses: a table indexed by n - low
        table = np.array([_python_power(base, low + i) for i in range(int(high - low) + 1)])
        return table[(n - low).astype(np.intp)]
    values, where = np.unique(n, return_inverse=True)
    return np.array([_python_power(base, float(v)) for v in values.tolist()])[where.reshape(n.shape)]
