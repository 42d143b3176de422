"""TensorFlow 1's ``tf.train.*_decay`` functions under their own names, argument names, order and
defaults, evaluated on an int, a float or an array of global steps. No TensorFlow is imported:
each function is the lrkit core schedule it names, called on ``global_step``.

``dtype="float32"`` (keyword only, an lrkit addition) evaluates in float32 the way TF's default
dtype does, operation for operation: the seed's y = x^2 table needs it to come out digit for digit.
The default is float64.

>>> from lrkit import tf
>>> round(tf.exponential_decay(0.1, 11, 1, 0.96, staircase=True), 6)
0.063824
>>> tf.exponential_decay(0.1, [0, 1], 1, 0.96, dtype="float32")
array([0.1  , 0.096], dtype=float32)
"""
import numpy as np

from ._errors import LrkitValueError
from ._namespace import NUMPY32
from ._shapes import (cosine, cosine_restarts, exponential, inverse_time, linear_cosine,
                      natural_exp, piecewise_constant as _piecewise_constant, polynomial)

__all__ = ["exponential_decay", "natural_exp_decay", "inverse_time_decay", "polynomial_decay",
           "piecewise_constant", "cosine_decay", "cosine_decay_restarts", "linear_cosine_decay"]


def _evaluate(schedule, global_step, dtype):
    if global_step is None:
        raise LrkitValueError("global_step is required for decay, got None")
    if dtype is None or dtype == "float64":
        return schedule(global_step)
    if dtype != "float32":
        raise LrkitValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    schedule(global_step)  # validates the steps
    value = schedule(global_step, xp=NUMPY32).reshape(np.shape(global_step))
    return value[()] if value.ndim == 0 else value


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None, *, dtype=None):
    """``learning_rate * decay_rate ^ (global_step / decay_steps)``, the exponent floored if ``staircase``."""
    return _evaluate(exponential(learning_rate, decay_rate, steps=decay_steps, staircase=staircase), global_step, dtype)


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None, *, dtype=None):
    """``learning_rate * exp(-decay_rate * global_step / decay_steps)``."""
    return _evaluate(natural_exp(learning_rate, decay_rate, steps=decay_steps, staircase=staircase), global_step, dtype)


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None, *, dtype=None):
    """``learning_rate / (1 + decay_rate * global_step / decay_steps)``."""
    return _evaluate(inverse_time(learning_rate, decay_rate, steps=decay_steps, staircase=staircase), global_step, dtype)


def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=0.0001, power=1.0,
                     cycle=False, name=None, *, dtype=None):
    """``(learning_rate - end) * (1 - step / decay_steps) ^ power + end``, cycling if ``cycle``."""
    return _evaluate(polynomial(learning_rate, end_learning_rate, steps=decay_steps, power=power,
                      cycle=cycle), global_step, dtype)


def piecewise_constant(x, boundaries, values, name=None, *, dtype=None):
    """``values[0]`` while ``x <= boundaries[0]``, ``values[1]`` while ``x <= boundaries[1]``, ..."""
    return _evaluate(_piecewise_constant(boundaries, values, switch="after"), x, dtype)


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0, name=None, *, dtype=None):
    """``learning_rate * ((1 - alpha) * (1 + cos(pi * min(step, decay_steps) / decay_steps)) / 2 + alpha)``."""
    return _evaluate(cosine(learning_rate, alpha * learning_rate, steps=decay_steps), global_step, dtype)


def cosine_decay_restarts(learning_rate, global_step, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                          name=None, *, dtype=None):
    """SGDR: cosine decay restarting after ``first_decay_steps * t_mul ** i`` steps, peaks times ``m_mul ** i``."""
    return _evaluate(cosine_restarts(learning_rate, alpha * learning_rate, period=first_decay_steps, period_mult=t_mul,
                           peak_mult=m_mul), global_step, dtype)


def linear_cosine_decay(learning_rate, global_step, decay_steps, num_periods=0.5, alpha=0.0, beta=0.001,
                        name=None, *, dtype=None):
    """``learning_rate * ((alpha + linear) * cosine + beta)`` (Bello et al. 2017)."""
    return _evaluate(linear_cosine(learning_rate, decay_steps, periods=num_periods, alpha=alpha,
                         beta=beta), global_step, dtype)
