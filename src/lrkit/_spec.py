"""Spec strings: the Python API's own call syntax, read with an ``ast`` whitelist (never eval)."""
import ast
import dataclasses

from ._base import REGISTRY, Schedule, from_config
from ._combinators import add, mul
from ._errors import LrkitError, LrkitTypeError, SpecError

_OPERATORS = {ast.Mult: mul, ast.Add: add}


def parse(spec):
    """The schedule a spec string describes, e.g. ``"warmup(cosine(0.1, 0.0, steps=900), steps=100)"``.

    Allowed: calls of lrkit's schedule names with literal arguments (numbers, strings, True/False/None,
    lists, tuples, nested calls), unary minus, and ``*`` / ``+`` between schedules and numbers.

    >>> parse("warmup(cosine(0.1, 0.0, steps=900), steps=100) * 0.5")
    (warmup(cosine(start=0.1, end=0.0, steps=900), steps=100) * 0.5)
    """
    if not isinstance(spec, str):
        raise SpecError(f"spec must be a string, got {spec!r}")
    try:
        tree = ast.parse(spec.strip(), mode="eval")
    except SyntaxError as error:
        raise SpecError(f"spec is not valid call syntax at column {error.offset}: {spec!r}") from None
    result = _value(tree.body, spec)
    if not isinstance(result, Schedule):
        raise SpecError(f"spec must describe a schedule such as 'cosine(0.1, 0.0, steps=100)', got {spec!r}")
    return result


def as_schedule(value, name="schedule"):
    """An lrkit schedule from a schedule, a spec string or a config dict (what every adapter accepts).

    >>> as_schedule("cosine(0.1, 0.0, steps=10)") == as_schedule({"name": "cosine", "start": 0.1, "end": 0.0, "steps": 10})
    True
    """
    if isinstance(value, Schedule):
        return value
    if isinstance(value, str):
        return parse(value)
    if isinstance(value, dict):
        return from_config(value)
    raise LrkitTypeError(f"{name} must be an lrkit schedule, a spec string or a config dict, got {value!r}")


def _names():
    return ", ".join(sorted(REGISTRY))


def _where(node, spec):
    return f"at column {node.col_offset + 1} of {spec!r}"


def _value(node, spec):
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (bool, int, float, str))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _value(node.operand, spec)
        if isinstance(operand, bool) or not isinstance(operand, (int, float)):
            raise SpecError(f"unary minus applies to numbers only, {_where(node, spec)}")
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(_value(item, spec) for item in node.elts)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _call_schedule(_OPERATORS[type(node.op)], [_value(node.left, spec), _value(node.right, spec)], {}, node, spec)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise SpecError(f"only plain schedule names can be called ({_names()}), {_where(node, spec)}")
        cls = REGISTRY.get(node.func.id)
        if cls is None:
            raise SpecError(f"unknown schedule {node.func.id!r} {_where(node, spec)}; known: {_names()}")
        if any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
            raise SpecError(f"* and ** arguments are not allowed, {_where(node, spec)}")
        args = [_value(a, spec) for a in node.args]
        kwargs = {k.arg: _value(k.value, spec) for k in node.keywords}
        return _call_schedule(cls, args, kwargs, node, spec)
    if isinstance(node, ast.Name):
        raise SpecError(f"unknown name {node.id!r} {_where(node, spec)}; write a call such as "
                        f"{node.id}(...) with one of: {_names()}")
    token = ast.get_source_segment(spec, node) or type(node).__name__
    raise SpecError(f"{token!r} is not allowed in a spec {_where(node, spec)}; allowed: schedule calls, "
                    f"numbers, strings, lists, True/False/None, unary minus, * and +")


def _call_schedule(cls, args, kwargs, node, spec):
    try:
        return cls(*args, **kwargs)
    except LrkitError as error:
        raise type(error)(f"{error} ({cls.__name__} {_where(node, spec)})") from None
    except TypeError as error:  # wrong arity / unknown keyword from the dataclass __init__
        message = str(error).replace(f"{cls.__qualname__}.__init__()", f"{cls.__name__}()")
        allowed = ", ".join(f.name for f in dataclasses.fields(cls) if f.init)
        raise SpecError(f"{message} {_where(node, spec)}; {cls.__name__} takes: {allowed}") from None
