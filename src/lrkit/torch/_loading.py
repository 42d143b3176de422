"""Loading a state_dict: the whole state is validated first, then applied; a rejected load changes nothing.

A scheduler declares what each key of its state_dict may hold (``_state_rules()``: key -> rule, a rule
being a function ``(path, value)`` that raises lrkit's error naming the key and the value); keys it does
not know are ignored, as torch ignores them. ``load`` checks every rule, then applies the state under
``unchanged_on_error``: if applying it still fails (a combination no single rule sees, a loaded value
that is not finite and non-negative), the scheduler, the schedulers inside it, the callable objects whose
``__dict__`` a state fills and the optimizer's param groups are put back as they were, and the error is
lrkit's.
"""
import contextlib
import copy
import math
import numbers

import torch

from .._errors import LrkitError, LrkitTypeError, LrkitValueError
from .._plateau import PlateauState

#: the largest step count a state may hold (a float time holds every step up to it exactly)
MAX_STEP = 2 ** 53

#: the most entries a list in a state may hold (milestones, param groups)
MAX_ITEMS = 100_000

#: the most times a MultiStepLR milestone may repeat (each repeat is one more factor at every step)
MAX_REPEATS = 1000


def excerpt(value, limit=80):
    """``repr(value)``, cut to ``limit`` characters."""
    try:
        text = repr(value)
    except Exception:  # (a hostile __repr__)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def state_error(path, rule, value, kind=LrkitValueError):
    return kind(f"{path} {rule}, got {excerpt(value)}")


# =================================================================================================
# rules
# =================================================================================================
def _plain_number(path, value):
    """A real number (a one-element tensor read as one); lrkit's error otherwise."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.is_complex():
            raise state_error(path, "must be a real number", value, LrkitTypeError)
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise state_error(path, "must be a real number", value, LrkitTypeError)
    return value


def integer(low, high=MAX_STEP):
    """An int in ``[low, high]`` (not a bool, not a float)."""
    def check(path, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise state_error(path, f"must be an integer in [{low}, {high}]", value, LrkitTypeError)
        if not low <= value <= high:
            raise state_error(path, f"must be an integer in [{low}, {high}]", value)
    return check


def real(low=-math.inf, high=math.inf, above=False, finite=True):
    """A real number in ``[low, high]`` (``above``: ``> low``); finite unless ``finite=False`` (never NaN)."""
    def check(path, value):
        x = _plain_number(path, value)
        try:
            x = float(x)
        except OverflowError:
            raise state_error(path, "must be a finite number", value) from None
        if math.isnan(x) or (finite and math.isinf(x)):
            raise state_error(path, "must be a finite number" if finite else "must be a number, not NaN", value)
        if x < low or x > high or (above and x == low):
            lo = f"> {low}" if above else f">= {low}"
            raise state_error(path, f"must be {lo}" + (f" and <= {high}" if high < math.inf else ""), value)
    return check


def flag(path, value):
    if not isinstance(value, bool):
        raise state_error(path, "must be True or False", value, LrkitTypeError)


def choice(*options):
    def check(path, value):
        if not isinstance(value, str) or value not in options:
            raise state_error(path, f"must be one of {', '.join(map(repr, options))}", value)
    return check


def optional(rule):
    """None, or a value ``rule`` accepts."""
    def check(path, value):
        if value is not None:
            rule(path, value)
    return check


def each(rule, length=None):
    """A list (or tuple) of values ``rule`` accepts; ``length``: a function giving the required length."""
    def check(path, value):
        if not isinstance(value, (list, tuple)):
            raise state_error(path, "must be a list", value, LrkitTypeError)
        n = None if length is None else length()
        if n is not None and len(value) != n:
            raise state_error(path, f"must have {n} entries (one per param group), has {len(value)}", value)
        if len(value) > MAX_ITEMS:
            raise state_error(path, f"must have at most {MAX_ITEMS} entries, has {len(value)}", value)
        for i, item in enumerate(value):
            rule(f"{path}[{i}]", item)
    return check


def fields(rules, required=()):
    """A dict whose keys in ``rules`` hold values their rule accepts (other keys are ignored)."""
    def check(path, value):
        if not isinstance(value, dict):
            raise state_error(path, "must be a dict", value, LrkitTypeError)
        for key in required:
            if key not in value:
                raise LrkitValueError(f"{path} lacks {key!r}")
        for key, rule in rules.items():
            if key in value:
                rule(f"{path}[{key!r}]", value[key])
    return check


def attributes(path, value):
    """The saved ``__dict__`` of a callable object (torch's rule for LambdaLR and CyclicLR's scale_fn)."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise state_error(path, "must be a dict of attributes or None", value, LrkitTypeError)
    for key in value:
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("__"):
            raise state_error(path, "must have attribute names as keys (no dunder names)", key)


def plateau_state(path, value):
    """A plateau controller's state (``PlateauState.to_dict()``)."""
    try:
        PlateauState.from_dict(value)
    except LrkitError as error:
        raise state_error(path, f"is not a plateau state ({excerpt(str(error), 120)})", value) from None


def check_state(rules, state, path="state_dict"):
    """Every rule of ``rules`` on ``state`` (a dict); lrkit's error naming the first key that breaks one."""
    fields(rules)(path, state)


# =================================================================================================
# applying a state atomically
# =================================================================================================
def _objects_filled(scheduler):
    """The callable objects whose ``__dict__`` a state fills (lr_lambdas, a custom scale_fn)."""
    found = []
    for fn in list(getattr(scheduler, "lr_lambdas", None) or []) + [getattr(scheduler, "_scale_fn_custom", None)]:
        if fn is not None and hasattr(fn, "__dict__") and not callable(getattr(fn, "__code__", None)):
            found.append(fn)
    return found


def _snapshot_scheduler(scheduler, out):
    out.append((scheduler, dict(vars(scheduler)), [(fn, dict(vars(fn))) for fn in _objects_filled(scheduler)]))
    for sub in getattr(scheduler, "_schedulers", None) or []:
        _snapshot_scheduler(sub, out)


def _tensors_of(value):
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple):
        return [v for v in value if isinstance(v, torch.Tensor)]
    return []


@contextlib.contextmanager
def unchanged_on_error(scheduler):
    """Run the block; if it raises, put the scheduler (and the schedulers inside it), the callable objects
    a state fills and the optimizer's param groups back as they were, and raise lrkit's error."""
    schedulers = []
    _snapshot_scheduler(scheduler, schedulers)
    groups = scheduler.optimizer.param_groups
    saved_groups = [dict(g) for g in groups]
    saved_tensors = [(t, t.detach().clone()) for g in groups for k, v in g.items() if k != "params"
                     for t in _tensors_of(v)]
    try:
        yield
    except BaseException as error:
        for obj, attributes_, filled in schedulers:
            vars(obj).clear()
            vars(obj).update(attributes_)
            for fn, data in filled:
                vars(fn).clear()
                vars(fn).update(data)
        for group, saved in zip(groups, saved_groups):
            group.clear()
            group.update(saved)
        with torch.no_grad():
            for t, value in saved_tensors:
                if not torch.equal(t, value):
                    t.copy_(value)
        if isinstance(error, LrkitError) or not isinstance(error, Exception) or isinstance(error, MemoryError):
            raise
        raise LrkitValueError(f"state_dict could not be loaded ({type(error).__name__}: {excerpt(str(error), 200)}); "
                              f"the scheduler is unchanged") from error


def private_copy(state_dict):
    """A deep copy of ``state_dict`` (a dict), so that loading never changes the caller's."""
    if not isinstance(state_dict, dict):
        raise LrkitTypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
    try:
        return copy.deepcopy(state_dict)
    except (RecursionError, TypeError, ValueError, AttributeError, copy.Error) as error:
        raise LrkitValueError(f"state_dict cannot be copied ({type(error).__name__}): it must hold plain values "
                              f"(numbers, strings, lists, dicts, tensors)") from None


def check_values(h, where="state_dict"):
    """The values a loaded hyperparameter holds: finite and non-negative (they go into the optimizer)."""
    for i, v in enumerate(h.last_values):
        if v is not None and not 0.0 <= v < math.inf:
            name = h.key if isinstance(h.key, str) else f"{h.key[0]}[{h.key[1]}]"
            raise LrkitValueError(f"{where} gives param group {i} the {name} {v!r} at step {h.time!r}: a value "
                                  f"written into an optimizer must be finite and non-negative")
    for name, values in (("scale", h.scaling.scale), ("offset", h.scaling.offsets())):
        for i, v in enumerate(values):
            if not math.isfinite(v):
                raise LrkitValueError(f"{where} gives param group {i} the {name} {v!r}: it must be finite")
