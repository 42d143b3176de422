"""TensorFlow 1's ``tf.train.*_decay`` functions under their own names, argument names, order and
defaults, evaluated on an int, a float or an array of global steps. No TensorFlow is imported:
each function is the lrkit core schedule it names, called on ``global_step``.

>>> from lrkit import tf
>>> round(tf.exponential_decay(0.1, 11, 1, 0.96, staircase=True), 6)
0.063824
"""
from ._errors import LrkitValueError
from ._shapes import (cosine, cosine_restarts, exponential, inverse_time, linear_cosine,
                      natural_exp, piecewise_constant as _piecewise_constant, polynomial)

__all__ = ["exponential_decay", "natural_exp_decay", "inverse_time_decay", "polynomial_decay",
           "piecewise_constant", "cosine_decay", "cosine_decay_restarts", "linear_cosine_decay"]


def _step(global_step):
    if global_step is None:
        raise LrkitValueError("global_step is required for decay, got None")
    return global_step


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    """``learning_rate * decay_rate ^ (global_step / decay_steps)``, the exponent floored if ``staircase``."""
    return exponential(learning_rate, decay_rate, steps=decay_steps, staircase=staircase)(_step(global_step))


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    """``learning_rate * exp(-decay_rate * global_step / decay_steps)``."""
    return natural_exp(learning_rate, decay_rate, steps=decay_steps, staircase=staircase)(_step(global_step))


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    """``learning_rate / (1 + decay_rate * global_step / decay_steps)``."""
    return inverse_time(learning_rate, decay_rate, steps=decay_steps, staircase=staircase)(_step(global_step))


def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=0.0001, power=1.0,
                     cycle=False, name=None):
    """``(learning_rate - end) * (1 - step / decay_steps) ^ power + end``, cycling if ``cycle``."""
    return polynomial(learning_rate, end_learning_rate, steps=decay_steps, power=power,
                      cycle=cycle)(_step(global_step))


def piecewise_constant(x, boundaries, values, name=None):
    """``values[0]`` while ``x <= boundaries[0]``, ``values[1]`` while ``x <= boundaries[1]``, ..."""
    return _piecewise_constant(boundaries, values, switch="after")(_step(x))


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0, name=None):
    """``learning_rate * ((1 - alpha) * (1 + cos(pi * min(step, decay_steps) / decay_steps)) / 2 + alpha)``."""
    return cosine(learning_rate, alpha * learning_rate, steps=decay_steps)(_step(global_step))


def cosine_decay_restarts(learning_rate, global_step, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                          name=None):
    """SGDR: cosine decay restarting after ``first_decay_steps * t_mul ** i`` steps, peaks times ``m_mul ** i``."""
    return cosine_restarts(learning_rate, alpha * learning_rate, period=first_decay_steps, period_mult=t_mul,
                           peak_mult=m_mul)(_step(global_step))


def linear_cosine_decay(learning_rate, global_step, decay_steps, num_periods=0.5, alpha=0.0, beta=0.001,
                        name=None):
    """``learning_rate * ((alpha + linear) * cosine + beta)`` (Bello et al. 2017)."""
    return linear_cosine(learning_rate, decay_steps, periods=num_periods, alpha=alpha,
                         beta=beta)(_step(global_step))
