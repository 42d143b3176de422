"""The functions a spec or a config may call: only those allowed by name in this process.

A name is looked up in a dict, nothing else: no module is imported (lrkit's own included) and no
attribute is walked, so ``function('os:fdopen')`` in a spec is an error unless the user allowed a
function under that name. Allowed: :func:`allow_function` (process-wide, also a decorator) and the
``functions={"name": fn}`` argument of ``parse``, ``from_config`` and ``as_schedule`` (that call only).
"""
import contextlib
import contextvars
import re

from ._errors import LrkitTypeError, LrkitValueError, excerpt

_ALLOWED = {}   # name -> function, allowed process-wide
_NAMES = {}     # function -> the name it was allowed or resolved under (repr and to_config write it)
_CALL = contextvars.ContextVar("lrkit_call_functions", default={})
_NAME = re.compile(r"[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?")
MAX_NAME = 200


def _checked_name(name):
    if not isinstance(name, str):
        raise LrkitTypeError(f"function name must be a string, got {excerpt(name)}")
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise LrkitValueError(f"function name must look like 'name' or 'module:name' (letters, digits, _ and ., "
                              f"at most {MAX_NAME} characters), got {excerpt(name)}")
    return name


def _default_name(fn):
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    name = f"{module}:{qualname}" if isinstance(module, str) and isinstance(qualname, str) else ""
    if not _NAME.fullmatch(name) or module == "__main__":
        raise LrkitValueError(f"{excerpt(fn)} has no name a config can use (a lambda, a nested function or one "
                              f"defined in __main__): allow it as lrkit.allow_function(fn, name='my_name')")
    return name


def allow_function(fn=None, *, name=None):
    """Allow specs and configs in this process to call ``fn`` as ``name`` (default ``'module:qualname'``);
    ``repr`` and ``to_config()`` then write ``fn`` as that name. Returns ``fn``, so it is a decorator too
    (``@lrkit.allow_function`` or ``@lrkit.allow_function(name="halve")``). Allowing another function
    under a name already taken replaces it.

    >>> @allow_function(name="tenth")
    ... def tenth(t):
    ...     return 0.1
    >>> from lrkit import parse
    >>> parse("function('tenth') * 2.0")(5)
    0.2
    """
    if fn is None:
        return lambda f: allow_function(f, name=name)
    if not callable(fn):
        raise LrkitTypeError(f"allow_function needs a callable, got {excerpt(fn)}")
    name = _default_name(fn) if name is None else _checked_name(name)
    _ALLOWED[name] = fn
    _remember(fn, name)
    return fn


def _checked_functions(functions):
    if not isinstance(functions, dict):
        raise LrkitTypeError(f"functions must be a dict of name -> callable, got {excerpt(functions)}")
    for name, fn in functions.items():
        _checked_name(name)
        if not callable(fn):
            raise LrkitTypeError(f"functions[{excerpt(name)}] must be callable, got {excerpt(fn)}")
    return dict(functions)


@contextlib.contextmanager
def allowing(functions):
    """Within the block, the names in ``functions`` resolve too (``parse(..., functions=...)``)."""
    if functions is None:
        yield
        return
    token = _CALL.set({**_CALL.get(), **_checked_functions(functions)})
    try:
        yield
    finally:
        _CALL.reset(token)


def resolve(name, argument="fn"):
    """The function allowed under ``name`` (in this call, else in this process)."""
    call = _CALL.get()
    fn = call.get(name) if name in call else _ALLOWED.get(name)
    if fn is None:
        known = sorted({*call, *_ALLOWED})
        shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
        raise LrkitValueError(
            f"{argument}={excerpt(name)} is not an allowed function: specs and configs call only functions "
            f"allowed in this process, with lrkit.allow_function(fn, name=...) or functions={{name: fn}} in "
            f"parse/from_config/as_schedule (allowed now: {shown or 'none'})")
    _remember(fn, name)
    return fn


def _remember(fn, name):
    try:
        _NAMES[fn] = name
    except TypeError:  # an unhashable callable: it cannot be written by name
        pass


def name_of(fn):
    """The name ``fn`` was allowed or resolved under, or None."""
    try:
        return _NAMES.get(fn)
    except TypeError:
        return None


def not_allowed_hint(fn):
    """How to make ``fn`` saveable (the message of to_config and the text of repr)."""
    label = getattr(fn, "__name__", None)
    call = f"lrkit.allow_function({label})" if isinstance(label, str) and label.isidentifier() else \
        "lrkit.allow_function(fn, name='my_name')"
    return f"{excerpt(fn)} is not an allowed function, so no spec or config can name it; allow it with {call}"


# lrkit's own functions that its examples (the seed tutorial, the CLI's docs) name in specs.
@allow_function(name="lrkit._seed:_inverse_epoch")
def inverse_epoch(epoch):
    """The seed's LambdaLR factor ``1 / (epoch + 1)``."""
    return 1 / (epoch + 1)


@allow_function(name="lrkit._seed:_factor_095")
def factor_095(epoch):
    """torch's MultiplicativeLR example factor, ``lambda epoch: 0.95``."""
    return 0.95
