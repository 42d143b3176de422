"""lrkit: learning-rate schedules as exact, composable, closed-form values.

>>> import lrkit
>>> s = lrkit.warmup(lrkit.cosine(3e-4, 0.0, steps=9000), steps=1000)
>>> [round(s(t), 7) for t in (0, 500, 1000, 5500, 10000)]
[0.0, 0.00015, 0.0003, 0.00015, 0.0]
"""
from ._base import MAX_DEPTH, MAX_PARTS, MAX_SPEC, Schedule, from_config
from ._combinators import add, clip, mul, repeat, sequence, warmup
from ._decays import inverse_power, one_minus_power, rex, shifted_exponential, tanh
from ._warps import k_decay, restarts, shift
from ._epochs import per_epoch, stairs
from ._noise import noise
from ._find_lr import LRFinderResult, find_lr
from ._errors import LrkitError, LrkitTypeError, LrkitValueError, SpecError
from ._functions import allow_function
from ._namespace import Namespace, namespace
from ._plateau import PlateauState, plateau
from ._greedy import GreedyState, greedy
from ._recipes import Recipe, cosine_wave, linear_to_zero, multistep, one_cycle, step_decay, wsd
from ._shapes import (constant, cosine, cosine_restarts, cyclic, exponential, function, inverse_sqrt,
                      inverse_time, linear, linear_cosine, multiplicative, natural_exp, one_minus_sqrt, piecewise_constant,
                      piecewise_linear, polynomial)
from ._shootout import ShootoutResult, shootout, standard_schedules
from ._spec import as_schedule, parse
from ._plans import cooldown, extend, rejoin, replan, rewarm
from ._clocks import batch_ramp, batch_scaled, batch_sizes, clocked, seesaw
from . import peers
from . import _plot  # noqa: F401  (Schedule.plot and the notebook picture; matplotlib only on use)

__version__ = "0.1.0"

__all__ = [
    # shapes
    "constant", "linear", "polynomial", "exponential", "inverse_time", "natural_exp", "inverse_sqrt",
    "cosine", "one_minus_sqrt", "linear_cosine", "piecewise_constant", "piecewise_linear",
    "cosine_restarts", "cyclic", "function", "multiplicative",
    "one_minus_power", "shifted_exponential", "rex", "tanh", "inverse_power",
    # combinators
    "sequence", "warmup", "repeat", "mul", "add", "clip",
    "shift", "k_decay", "restarts", "noise", "per_epoch", "stairs",
    # recipes
    "step_decay", "multistep", "one_cycle", "wsd", "linear_to_zero", "cosine_wave",
    # the one stateful, metric-driven controller
    "plateau", "PlateauState",
    # the raise-and-lower controller (GreedyLR)
    "greedy", "GreedyState",
    # the LR range test
    "find_lr", "LRFinderResult",
    # which schedule: train under several, compare with statistics
    "shootout", "ShootoutResult", "standard_schedules",
    # values, text and config
    "Schedule", "Recipe", "parse", "from_config", "as_schedule", "Namespace", "namespace",
    # the functions specs and configs may name; size limits of specs, configs and schedules
    "allow_function", "MAX_DEPTH", "MAX_PARTS", "MAX_SPEC",
    # plans that change: resume, extend, fork a cooldown, re-warm; clocks and batch-size schedules
    "rejoin", "extend", "cooldown", "rewarm", "replan",
    "clocked", "batch_sizes", "batch_ramp", "batch_scaled", "seesaw",
    # every peer library's schedules by their own names (lrkit.peers.hf, ...)
    "peers",
    # errors
    "LrkitError", "LrkitValueError", "LrkitTypeError", "SpecError",
]
