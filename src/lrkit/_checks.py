"""Argument validation shared by every schedule: each check names the argument, the rule and the value."""
import math
import numbers
import sys

from ._base import Schedule
from ._errors import LrkitTypeError, LrkitValueError, excerpt


def real(name, value):
    """A finite real number, returned as a plain int or float (numpy scalars included)."""
    kind = type(value)
    if kind is float and value - value == 0.0:  # (the common cases first: a finite float, a small int)
        return value
    if kind is int and -_EXACT < value < _EXACT:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LrkitTypeError(f"{name} must be a real number, got {excerpt(value)}")
    try:
        value = int(value) if isinstance(value, numbers.Integral) else float(value)
        float(value)
    except OverflowError:  # an int beyond float range
        raise LrkitValueError(f"{name} must be finite (within float range), got {excerpt(value)}") from None
    if not math.isfinite(value):
        raise LrkitValueError(f"{name} must be finite, got {excerpt(value)}")
    return value


def non_negative(name, value):
    value = real(name, value)
    if value < 0:
        raise LrkitValueError(f"{name} must be >= 0, got {excerpt(value)}")
    return value


def positive(name, value):
    """A number > 0, and a normal float (a subnormal one is 0 where XLA or a CPU flushes subnormals)."""
    value = real(name, value)
    if value <= 0:
        raise LrkitValueError(f"{name} must be > 0, got {excerpt(value)}")
    if value < _SMALLEST_NORMAL:
        raise LrkitValueError(f"{name} must be >= {_SMALLEST_NORMAL!r} (the smallest normal float: XLA and "
                              f"some CPUs flush smaller numbers to 0), got {value!r}")
    return value


_SMALLEST_NORMAL = sys.float_info.min
_EXACT = 2 ** 53


def at_least(name, value, low):
    value = real(name, value)
    if value < low:
        raise LrkitValueError(f"{name} must be >= {low}, got {excerpt(value)}")
    return value


def fraction(name, value):
    """A number strictly between 0 and 1."""
    value = real(name, value)
    if not 0 < value < 1:
        raise LrkitValueError(f"{name} must be in (0, 1), got {excerpt(value)}")
    return value


def flag(name, value):
    if not isinstance(value, bool):
        raise LrkitTypeError(f"{name} must be True or False, got {excerpt(value)}")
    return value


def choice(name, value, options):
    if value not in options:
        allowed = ", ".join(repr(o) for o in options)
        raise LrkitValueError(f"{name} must be one of {allowed}, got {excerpt(value)}")
    return value


def increasing(name, values, check=real):
    """A non-empty sequence of numbers, each > the one before; returned as a tuple."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise LrkitTypeError(f"{name} must be a list of numbers, got {excerpt(values)}")
    values = tuple(values)
    low = _FAST_LOW.get(check)  # (the fast test: plain numbers in range, which ``check`` returns unchanged)
    if low is None or not set(map(type, values)) <= _PLAIN or not all(low <= v < _EXACT for v in values):
        values = tuple(check(f"{name}[{i}]", v) for i, v in enumerate(values))
    for i in range(1, len(values)):
        if values[i] <= values[i - 1]:
            raise LrkitValueError(
                f"{name} must be strictly increasing, got {excerpt(list(values))} "
                f"({name}[{i}]={values[i]!r} <= {name}[{i - 1}]={values[i - 1]!r})")
    return values


def schedule(name, value):
    if not isinstance(value, Schedule):
        raise LrkitTypeError(f"{name} must be an lrkit schedule, got {excerpt(value)}")
    return value


def schedule_or_real(name, value):
    return value if isinstance(value, Schedule) else real(name, value)


def non_negative_list(name, values):
    """A sequence of numbers >= 0, returned as a tuple."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise LrkitTypeError(f"{name} must be a list of numbers, got {excerpt(values)}")
    values = tuple(values)
    if set(map(type, values)) <= _PLAIN and all(0 <= v < _EXACT for v in values):
        return values
    return tuple(non_negative(f"{name}[{i}]", v) for i, v in enumerate(values))


def count(name, value):
    """An int >= 0 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise LrkitTypeError(f"{name} must be an integer >= 0, got {excerpt(value)}")
    value = int(value)
    if value < 0:
        raise LrkitValueError(f"{name} must be an integer >= 0, got {excerpt(value)}")
    return value


_PLAIN = {int, float}
#: checks ``increasing`` may skip for plain numbers in ``[low, 2**53)`` (what each would return unchanged)
_FAST_LOW = {real: -_EXACT, non_negative: 0}
