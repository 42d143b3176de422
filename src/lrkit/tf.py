"""TensorFlow 1's ``tf.train.*_decay`` functions under their own names, argument names, order and
defaults, evaluated on an int, a float or an array of global steps. No TensorFlow is imported:
each function is the lrkit core schedule it names, called on ``global_step``.

``dtype="float32"`` (keyword only, an lrkit addition) evaluates in float32 like TF's default dtype:
exponential, inverse-time, polynomial and piecewise decays are then bitwise equal to TF's float32
values (the seed's y = x^2 table needs that to come out digit for digit); the cosine decays, written
``end + (start - end) * wave`` rather than TF's ``lr * ((1 - alpha) * wave + alpha)``, are within a
few float32 ulps, and at an exact restart lrkit's cycle index is right where TF's float32 log can land
one cycle early. The default is float64. Errors name TF's arguments. ``noisy_linear_cosine_decay``
(random) is not provided.

>>> from lrkit import tf
>>> round(tf.exponential_decay(0.1, 11, 1, 0.96, staircase=True), 6)
0.063824
>>> tf.exponential_decay(0.1, [0, 1], 1, 0.96, dtype="float32")
array([0.1  , 0.096], dtype=float32)
"""
import functools
import re

import numpy as np

from . import _checks as check
from ._errors import LrkitError, LrkitValueError
from ._namespace import NUMPY32
from ._shapes import (cosine, cosine_restarts, exponential, inverse_time, linear_cosine,
                      natural_exp, piecewise_constant as _piecewise_constant, polynomial)

__all__ = ["exponential_decay", "natural_exp_decay", "inverse_time_decay", "polynomial_decay",
           "piecewise_constant", "piecewise_constant_decay", "cosine_decay", "cosine_decay_restarts",
           "linear_cosine_decay"]


@functools.lru_cache(maxsize=256)
def _cached(shape, kwargs):
    return shape(**dict(kwargs))


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def _schedule(shape, tf_names, **kwargs):
    """The core schedule, built once per argument set; errors renamed to TF's argument names."""
    try:
        try:
            return _cached(shape, tuple((k, _hashable(v)) for k, v in kwargs.items()))
        except TypeError as error:
            if "unhashable" not in str(error):
                raise
            return shape(**kwargs)
    except LrkitError as error:
        message = re.sub(r"^(\w+)", lambda m: tf_names.get(m.group(1), m.group(1)), str(error))
        raise type(error)(message) from None


def _evaluate(schedule, step, dtype, step_name="global_step"):
    if step is None:
        raise LrkitValueError(f"{step_name} is required for decay, got None")
    if dtype is None or dtype == "float64":
        return schedule(step)
    if dtype != "float32":
        raise LrkitValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    schedule(step)  # validates the steps
    value = schedule(step, xp=NUMPY32).reshape(np.shape(step))
    return value[()] if value.ndim == 0 else value


_DECAY = {"start": "learning_rate", "steps": "decay_steps", "gamma": "decay_rate", "rate": "decay_rate"}


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None, *,
                      dtype=None):
    """``learning_rate * decay_rate ^ (global_step / decay_steps)``, the exponent floored if ``staircase``."""
    s = _schedule(exponential, _DECAY, start=learning_rate, gamma=decay_rate, steps=decay_steps,
                  staircase=staircase)
    return _evaluate(s, global_step, dtype)


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None, *,
                      dtype=None):
    """``learning_rate * exp(-decay_rate * global_step / decay_steps)``."""
    s = _schedule(natural_exp, _DECAY, start=learning_rate, rate=decay_rate, steps=decay_steps,
                  staircase=staircase)
    return _evaluate(s, global_step, dtype)


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None, *,
                       dtype=None):
    """``learning_rate / (1 + decay_rate * global_step / decay_steps)``."""
    s = _schedule(inverse_time, _DECAY, start=learning_rate, rate=decay_rate, steps=decay_steps,
                  staircase=staircase)
    return _evaluate(s, global_step, dtype)


def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=0.0001, power=1.0,
                     cycle=False, name=None, *, dtype=None):
    """``(learning_rate - end) * (1 - step / decay_steps) ^ power + end``, cycling if ``cycle``."""
    s = _schedule(polynomial, {**_DECAY, "end": "end_learning_rate"}, start=learning_rate,
                  end=end_learning_rate, steps=decay_steps, power=power, cycle=cycle)
    return _evaluate(s, global_step, dtype)


def piecewise_constant(x, boundaries, values, name=None, *, dtype=None):
    """``values[0]`` while ``x <= boundaries[0]``, ``values[1]`` while ``x <= boundaries[1]``, ..."""
    s = _schedule(_piecewise_constant, {}, boundaries=boundaries, values=values, switch="after")
    return _evaluate(s, x, dtype, step_name="x")


piecewise_constant_decay = piecewise_constant


def _alpha_end(learning_rate, alpha):
    """TF's ``alpha`` is a fraction of ``learning_rate``; lrkit's ``end`` is absolute."""
    check.real("learning_rate", learning_rate)
    return check.non_negative("alpha", alpha) * learning_rate


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0, name=None, *, dtype=None):
    """``learning_rate * ((1 - alpha) * (1 + cos(pi * min(step, decay_steps) / decay_steps)) / 2 + alpha)``."""
    s = _schedule(cosine, _DECAY, start=learning_rate, end=_alpha_end(learning_rate, alpha), steps=decay_steps)
    return _evaluate(s, global_step, dtype)


def cosine_decay_restarts(learning_rate, global_step, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                          name=None, *, dtype=None):
    """SGDR: cosine decay restarting after ``first_decay_steps * t_mul ** i`` steps, peaks times ``m_mul ** i``."""
    names = {"start": "learning_rate", "period": "first_decay_steps", "period_mult": "t_mul", "peak_mult": "m_mul"}
    s = _schedule(cosine_restarts, names, start=learning_rate, end=_alpha_end(learning_rate, alpha),
                  period=first_decay_steps, period_mult=t_mul, peak_mult=m_mul)
    return _evaluate(s, global_step, dtype)


def linear_cosine_decay(learning_rate, global_step, decay_steps, num_periods=0.5, alpha=0.0, beta=0.001,
                        name=None, *, dtype=None):
    """``learning_rate * ((alpha + linear) * cosine + beta)`` (Bello et al. 2017)."""
    s = _schedule(linear_cosine, {**_DECAY, "periods": "num_periods"}, start=learning_rate, steps=decay_steps,
                  periods=num_periods, alpha=alpha, beta=beta)
    return _evaluate(s, global_step, dtype)
