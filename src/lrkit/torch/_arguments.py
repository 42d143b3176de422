"""Arguments under torch's names, checked as lrkit checks them, and the plain values a state_dict holds."""
import copy
import math
import numbers
import operator
import types

import torch
from torch.optim import Optimizer

from .. import _checks as check
from .._errors import LrkitTypeError, LrkitValueError

NUMBERS = {float, int}
get_lr = operator.itemgetter("lr")


def check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def integer(name, value, low):
    """An int >= ``low`` (an integral float such as 3.0 is accepted); lrkit's error otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LrkitTypeError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif math.isfinite(value) and float(value).is_integer():
        value = int(value)
    else:
        raise LrkitValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise LrkitValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def number(name, value):
    """A finite real number as a float (0-dim tensors accepted)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise LrkitValueError(f"{name} must be a number or a 1-element tensor, got shape {tuple(value.shape)}")
        value = value.item()
    return float(check.real(name, value))


def non_negative(name, value):
    return float(check.non_negative(name, number(name, value)))


def positive(name, value):
    return float(check.positive(name, number(name, value)))


def last_epoch_argument(value):
    return integer("last_epoch", value, -1)


def per_group(name, optimizer, value, convert=non_negative):
    """torch's ``_format_param``: one value per param group (tensors read as floats)."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {n}.")
        return [convert(f"{name}[{i}]", v) for i, v in enumerate(value)]
    value = convert(name, value)
    return [value] * n


def as_float(value, name="value"):
    """``value`` (a number, a numpy scalar or a one-element tensor) as a Python float; lrkit's error
    naming ``name`` otherwise."""
    if type(value) is float:
        return value
    if isinstance(value, torch.Tensor):
        if value.numel() == 1:
            return float(value.item())
    elif not isinstance(value, (bool, str, bytes)):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    text = repr(value)
    raise LrkitTypeError(f"{name} must be a real number (or a one-element tensor), got "
                         f"{text if len(text) <= 80 else text[:77] + '...'}")


def plain_value(value):
    """A float for a 0-dim tensor, the value itself otherwise (state_dicts hold plain numbers)."""
    if isinstance(value, torch.Tensor):
        return value.item()
    return value


def copy_of(value):
    """A tensor's copy (torch's ``get_last_lr`` never aliases a group's tensor), anything else itself."""
    return value.clone() if isinstance(value, torch.Tensor) else value


def group_values(optimizer):
    """Each group's LR (tensors as copies): ``get_last_lr()`` of a scheduler that writes no values itself."""
    lrs = list(map(get_lr, optimizer.param_groups))
    if NUMBERS.issuperset(map(type, lrs)):
        return lrs
    return [copy_of(v) for v in lrs]


def callable_state(fn):
    """torch's rule: a callable object's ``__dict__`` is saved, a function or lambda is not."""
    if isinstance(fn, types.FunctionType) or fn is None:
        return None
    return copy.deepcopy(fn.__dict__)


def distinct(items):
    """Distinct items (by identity) and each input's index among them."""
    unique, index, where = [], {}, []
    for item in items:
        key = id(item)
        if key not in index:
            index[key] = len(unique)
            unique.append(item)
        where.append(index[key])
    return unique, where


def copy_config(state, names, target):
    """Set each of ``names`` found in ``state`` on ``target`` (a state_dict's constructor arguments)."""
    for name in names:
        if name in state:
            setattr(target, name, state[name])
