"""Spec strings: the Python API's own call syntax, read with an ``ast`` whitelist (never eval)."""
import ast
import dataclasses
import inspect

from ._base import MAX_DEPTH, MAX_SPEC, PEERS, REGISTRY, Schedule, from_config, unknown_peer
from ._combinators import add, mul
from ._errors import LrkitError, LrkitTypeError, SpecError, excerpt
from ._functions import allowing
from ._plateau import Controller

_OPERATORS = {ast.Mult: mul, ast.Add: add}
#: A spec's syntax tree may nest this deep: a schedule level is a call, a list and a parenthesised * or + at most.
_MAX_TREE = 3 * MAX_DEPTH + 8


def parse(spec, functions=None):
    """The schedule a spec string describes, e.g. ``"warmup(cosine(0.1, 0.0, steps=900), steps=100)"``.

    Allowed: calls of lrkit's schedule names with literal arguments (numbers, strings, True/False/None,
    lists, tuples, nested calls), unary minus, and ``*`` / ``+`` between schedules and numbers. A
    function name (``function('halve')``) resolves only to a function allowed by ``lrkit.allow_function``
    or given in ``functions={"halve": halve}`` (this call only). At most ``lrkit.MAX_SPEC`` characters.

    >>> parse("warmup(cosine(0.1, 0.0, steps=900), steps=100) * 0.5")
    (warmup(cosine(start=0.1, end=0.0, steps=900), steps=100) * 0.5)
    """
    if not isinstance(spec, str):
        raise SpecError(f"spec must be a string, got {excerpt(spec)}")
    if len(spec) > MAX_SPEC:
        raise SpecError(f"spec has {len(spec):,} characters, more than {MAX_SPEC:,} (lrkit.MAX_SPEC): "
                        f"{excerpt(spec)}")
    text = spec.strip()
    for i, char in enumerate(text):
        if char == "\0" or "\ud800" <= char <= "\udfff":
            raise SpecError(f"spec has the character {char!r} at column {i + 1} (no null bytes or lone "
                            f"surrogates): {_near(text, i)}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        column = f"at column {error.offset} " if error.offset else ""
        raise SpecError(f"spec is not valid call syntax {column}({error.msg}): "
                        f"{_near(text, (error.offset or 1) - 1)}") from None
    except (RecursionError, MemoryError):
        raise SpecError(f"spec nests too deep to read (lrkit.MAX_DEPTH={MAX_DEPTH}): {excerpt(spec)}") from None
    with allowing(functions):
        result = _value(tree.body, text, 0)
    if not isinstance(result, Schedule):
        hint = (f": it gives a {type(result).__name__} controller, whose LR follows a run's metrics (Python only: "
                f"lrkit.torch.ScheduleLR(..., plateau=...))" if isinstance(result, Controller) else "")
        raise SpecError(f"spec must describe a schedule such as 'cosine(0.1, 0.0, steps=100)', got {excerpt(spec)}"
                        f"{hint}")
    return result


def as_schedule(value, name="schedule", functions=None):
    """An lrkit schedule from a schedule, a spec string or a config dict (what every adapter accepts);
    ``functions`` as in :func:`parse`.

    >>> as_schedule("cosine(0.1, 0.0, steps=10)") == as_schedule({"name": "cosine", "start": 0.1, "end": 0.0, "steps": 10})
    True
    """
    if isinstance(value, Schedule):
        return value
    if isinstance(value, str):
        return parse(value, functions)
    if isinstance(value, dict):
        return from_config(value, functions)
    raise LrkitTypeError(f"{name} must be an lrkit schedule, a spec string or a config dict, got {excerpt(value)}")


def _names():
    return ", ".join(sorted(REGISTRY))


def _near(spec, index):
    """The spec, or a bounded window of it around ``index``."""
    if len(spec) <= 120:
        return repr(spec)
    start = max(0, index - 50)
    return f"...{spec[start:start + 100]!r}... (of {len(spec):,} characters)"


def _where(node, spec):
    return f"at column {node.col_offset + 1} of {_near(spec, node.col_offset)}"


def _value(node, spec, depth, dicts=False):
    if depth > _MAX_TREE:
        raise SpecError(f"spec nests more than {MAX_DEPTH} schedules deep (lrkit.MAX_DEPTH) {_where(node, spec)}")
    depth += 1
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (bool, int, float, str))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _value(node.operand, spec, depth)
        if isinstance(operand, bool) or not isinstance(operand, (int, float)):
            raise SpecError(f"unary minus applies to numbers only, {_where(node, spec)}")
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(_value(item, spec, depth, dicts) for item in node.elts)
    if isinstance(node, ast.Dict) and dicts:  # a peer's dict argument (hf's scheduler_specific_kwargs, optax's
        # boundaries_and_scales): constant keys, values as anywhere
        if not all(isinstance(k, ast.Constant) and type(k.value) in (str, int, float) for k in node.keys):
            raise SpecError(f"a dict in a spec has constant string or number keys only, {_where(node, spec)}")
        return {k.value: _value(v, spec, depth, dicts) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        parts = [_value(node.left, spec, depth), _value(node.right, spec, depth)]
        return _call_schedule(_OPERATORS[type(node.op)], parts, {}, node, spec)
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):  # a peer's name
            cls = PEERS.get(f"{node.func.value.id}.{node.func.attr}")
            if cls is None:
                raise unknown_peer(node.func.value.id, node.func.attr, f"spec {_where(node, spec)}")
        elif not isinstance(node.func, ast.Name):
            raise SpecError(f"only plain schedule names can be called, or one library prefix and name such as "
                            f"'hf.cosine(...)' ({_names()}), {_where(node, spec)}")
        else:
            cls = REGISTRY.get(node.func.id)
        if cls is None:
            raise SpecError(f"unknown schedule {excerpt(node.func.id)} {_where(node, spec)}; known: {_names()}")
        if any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
            raise SpecError(f"* and ** arguments are not allowed, {_where(node, spec)}")
        dicts = isinstance(node.func, ast.Attribute)  # a peer's call may take dicts
        args = [_value(a, spec, depth, dicts) for a in node.args]
        kwargs = {}
        for k in node.keywords:
            if k.arg in kwargs:
                raise SpecError(f"keyword {excerpt(k.arg)} is given twice {_where(k.value, spec)}")
            kwargs[k.arg] = _value(k.value, spec, depth, dicts)
        return _call_schedule(cls, args, kwargs, node, spec)
    if isinstance(node, ast.Name):
        raise SpecError(f"unknown name {excerpt(node.id)} {_where(node, spec)}; write a call such as "
                        f"{excerpt(node.id)[1:-1]}(...) with one of: {_names()}")
    token = ast.get_source_segment(spec, node) or type(node).__name__
    raise SpecError(f"{excerpt(token)} is not allowed in a spec {_where(node, spec)}; allowed: schedule calls, "
                    f"numbers, strings, lists, True/False/None, unary minus, * and +")


def _call_schedule(cls, args, kwargs, node, spec):
    try:
        return cls(*args, **kwargs)
    except LrkitError as error:
        raise type(error)(f"{error} ({cls.__name__} {_where(node, spec)})") from None
    except TypeError as error:  # wrong arity / unknown keyword from the dataclass __init__
        message = str(error).replace(f"{cls.__qualname__}.__init__()", f"{cls.__name__}()")
        if dataclasses.is_dataclass(cls):
            allowed = ", ".join(f.name for f in dataclasses.fields(cls) if f.init)
        else:  # a peer function (hf.get_scheduler)
            allowed = ", ".join(inspect.signature(cls).parameters)
        raise SpecError(f"{message[:300]} {_where(node, spec)}; {cls.__name__} takes: {allowed}") from None
