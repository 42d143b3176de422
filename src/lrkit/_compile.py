"""The per-step fast path: trace a schedule's formula once with symbolic values and compile it into
one Python function of ``t`` (constants inlined, each ``where`` an ``if``/``else`` that computes only the
branch it takes: one phase of a ``sequence``, either the warmup or the schedule after it).

The compiled function performs exactly the operations the ``math`` namespace would on the values it
returns, in the same order (a pure operation repeated on the same operands computed once), so its results
are bitwise equal; the interpreter overhead of the nested
``_f`` calls, attribute lookups and namespace indirection is gone, and so is the work of the branches
not taken. Formulas the tracer cannot follow (a user function that needs a real float, say) fall back
to plain evaluation.
"""
import math

from . import _ranges
from ._namespace import MATH, Namespace


class _Untraceable(Exception):
    pass


class _TooDeep(Exception):
    """The branches nest deeper than Python's block limit allows (about 100): one flat pass instead."""


#: ``where`` branches nest at most this deep in the compiled code; deeper formulas compile flat.
MAX_NESTING = 40
#: The steps of the specialised code (``t > 0``: no NaN, no ``-0.0``; an int or a float).
POSITIVE = _ranges.Span(0.0, math.inf, nan=False, negative_zero=False)
#: A formula of more operations than this is not compiled: it evaluates as plain Python (slower per step,
#: but compiling it would cost more than it saves, and Python's compiler has limits of its own).
MAX_OPERATIONS = 20_000


class _Tape:
    """The traced operations: ``name -> (operation, operands, is a where)``, in order."""

    def __init__(self):
        self.ops = {}
        self.constants = {}
        self.floats = set()   # names that hold a Python float whatever ``t`` is (no ``float()`` needed at the end)
        self.plain = {"t"}    # names that hold a Python int or float (not a user function's result)
        self.pure = {}        # (operation, operands) -> its symbol: one pure operation on the same operands, once

    def emit(self, operation, *args, where=False, is_float=False, plain=False):
        key = None
        if not where and (operation in _BINARY or operation in _PURE):  # (not a user function: it may not be pure)
            key = (operation,) + tuple(a.name if isinstance(a, _Sym) else (type(a), repr(a)) for a in args)
            same = self.pure.get(key)
            if same is not None:
                return same
        name = f"v{len(self.ops)}"
        self.ops[name] = (operation, args, where)
        if is_float:
            self.floats.add(name)
        if is_float or plain:
            self.plain.add(name)
        symbol = _Sym(self, name)
        if key is not None:
            self.pure[key] = symbol
        return symbol

    def is_plain(self, value):
        if isinstance(value, _Sym):
            return value.name in self.plain
        return type(value) in (int, float)

    def is_float(self, value):
        """Is ``value`` a Python float for any ``t`` (int or float)? Constants and results of float math are."""
        if isinstance(value, _Sym):
            return value.name in self.floats
        return type(value) is float

    def returned(self, result):
        """The return statement: ``float()`` only where the result may be an int (``t`` itself, say)."""
        return f"return {_code(result)}" if self.is_float(result) else f"return _float({_code(result)})"

    def render(self, operation, args):
        """The expression of one operation on ``args`` (symbols or constants). An int constant beside a float
        is written as that float: Python converts it so before the arithmetic, the same value bit for bit."""
        if operation in _ARITHMETIC:
            a, b = args
            a, b = (_code(_as_float(a) if self.is_float(b) else a), _code(_as_float(b) if self.is_float(a) else b))
            return f"{a} {operation} {b}"
        codes = [_code(a) for a in args]
        if operation in _BINARY:
            return f"{codes[0]} {operation} {codes[1]}"
        if operation == "neg":
            return f"-{codes[0]}"
        if operation == "where":
            cond, a, b = codes
            return f"{a} if {cond} else {b}"
        if operation == "min":  # builtin min(a, b): a unless b < a
            a, b = codes
            return f"{b} if {b} < {a} else {a}"
        if operation == "max":  # builtin max(a, b): a unless b > a
            a, b = codes
            return f"{b} if {b} > {a} else {a}"
        return f"{operation}({codes[0]})"

    def flat(self, result):
        """Every operation in order (the ``where`` as conditional expressions)."""
        return [f"{name} = {self.render(op, args)}" for name, (op, args, _) in self.ops.items()] + [
            self.returned(result)]

    def branching(self, result, t_span=_ranges.EVERYTHING):
        """The operations ``result`` needs, each ``where`` an ``if``/``else`` computing one branch, for ``t`` in
        ``t_span``: operations that the ranges of their operands make identities are left out
        (``lrkit._ranges``), and so are the branches the ranges decide."""
        order = {name: i for i, name in enumerate(self.ops)}
        ops = self.ops

        def needed(value, have):
            """Operations to run before ``value``: stop at a ``where`` (it computes its own parts)."""
            out, stack = set(), [value.name] if isinstance(value, _Sym) else []
            while stack:
                name = stack.pop()
                if name in have or name in out or name not in ops:
                    continue
                out.add(name)
                if not ops[name][2]:
                    stack.extend(a.name for a in ops[name][1] if isinstance(a, _Sym))
            return sorted(out, key=order.__getitem__)

        def emit(value, have, known, depth):
            """Lines computing ``value``; ``known``: name -> (what it is now: a symbol or constant, its span)."""
            if depth > MAX_NESTING:
                raise _TooDeep
            lines = []

            def now(a):
                return known[a.name] if isinstance(a, _Sym) and a.name in known else (a, _span_of(a))

            for name in needed(value, have):
                operation, args, is_where = ops[name]
                if is_where:
                    lines += emit(args[0], have, known, depth)
                    (cond, cond_span), parts = now(args[0]), args[1:]
                    truth = cond if type(cond) is bool else None
                    if truth is not None:  # the ranges decide the branch: only its operations
                        part = parts[0] if truth else parts[1]
                        lines += emit(part, have, known, depth)
                        known[name] = now(part)
                    else:
                        spans = []
                        for keyword, part, holds in ((f"if {_code(cond)}:", parts[0], True), ("else:", parts[1], False)):
                            inner = dict(known)
                            _refine(ops, cond, holds, inner, now)
                            body = emit(part, set(have), inner, depth + 1)
                            value_now, span = inner[part.name] if isinstance(part, _Sym) and part.name in inner \
                                else (part, _span_of(part))
                            lines.append(keyword)
                            lines += ["    " + line for line in body]
                            lines.append(f"    {name} = {_code(value_now)}")
                            spans.append(span)
                        known[name] = (_Sym(self, name), _ranges.union(*spans))
                    have.add(name)
                    continue
                operands = [now(a) for a in args]
                same, span = self._simplified(operation, operands)
                if same is None:
                    lines.append(f"{name} = {self.render(operation, [a for a, _ in operands])}")
                    known[name] = (_Sym(self, name), span)
                else:
                    known[name] = (same, span)
                have.add(name)
            return lines

        known = {"t": (_Sym(self, "t"), t_span)}
        body = emit(result, {"t"}, known, 0)
        final = known[result.name][0] if isinstance(result, _Sym) else result
        return body + [self.returned(final)]

    def _simplified(self, operation, operands):
        """``(what the operation always equals or None, its span)`` for operands ``(value, span)``."""
        (a, sa), *rest = operands
        if operation == "neg":
            return None, _ranges.negated(sa)
        if operation in _MATH_NAMES:
            return None, _ranges.function(operation[1:], sa)
        if not rest:
            return None, _ranges.EVERYTHING
        b, sb = rest[0]
        if operation in ("min", "max"):
            side, span = (_ranges.smaller if operation == "min" else _ranges.larger)(sa, sb)
            return {"a": a, "b": b}.get(side), span
        if operation in _ARITHMETIC:
            span = _ranges.arithmetic(operation, sa, sb)
            if operation != "/" and not (self.is_float(a) or self.is_float(b)):  # (may be ints: computed exactly)
                span = _ranges.exact(span)
            for x, sx, y, left in ((a, sa, b, True), (b, sb, a, False)):
                if not self.is_float(x) or sx.nan or type(y) not in (int, float) or not (left or operation in "+*"):
                    continue
                zero_ok = y == 0 and math.copysign(1.0, y) > 0 and operation in "+-" and (
                    operation == "-" or not sx.may_be_minus_zero())
                one_ok = y == 1 and operation in "*/"
                if zero_ok or one_ok:  # x + 0.0, x - 0.0, x * 1.0, x / 1.0 (and 0.0 + x, 1.0 * x): x itself
                    return x, sx
            return None, span
        if operation == "**":
            return None, (_ranges.power(sa, sb) if type(a) is float else _ranges.EVERYTHING)
        if operation in _BINARY:
            truth = _ranges.decided(operation, sa, sb)
            return truth, _ranges.EVERYTHING
        return None, _ranges.EVERYTHING

    def bind(self, value):
        """A name for a Python object the generated code calls (a user function)."""
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name


_ARITHMETIC = ("+", "-", "*", "/")
_BINARY = ("+", "-", "*", "/", "**", "<", "<=", ">", ">=", "==", "!=")


def _as_float(value):
    """An int constant as the float Python converts it to beside a float (exactly: |value| <= 2**53)."""
    return float(value) if type(value) is int and abs(value) <= 2 ** 53 else value


def _span_of(value):
    return _ranges.EVERYTHING if isinstance(value, _Sym) else _ranges.of_constant(value)


def _refine(ops, cond, holds, known, now):
    """Narrow ``known``'s spans of the operands of the comparison ``cond`` to where it is ``holds``."""
    if not isinstance(cond, _Sym) or cond.name not in ops:
        return
    operation, args, _ = ops[cond.name]
    if operation not in _BINARY:
        return
    (a, sa), (b, sb) = now(args[0]), now(args[1])
    spans = _ranges.refined(operation, sa, sb, holds)
    if spans is None:
        return
    for value, span in zip((a, b), spans):
        if isinstance(value, _Sym):  # the value and every name that stands for it
            for name, (same, _) in list(known.items()):
                if isinstance(same, _Sym) and same.name == value.name:
                    known[name] = (same, span)
            known[value.name] = (value, span)


def _code(value):
    if isinstance(value, _Sym):
        return value.name
    if isinstance(value, bool):
        return repr(value)
    if type(value) in (int, float) and math.isfinite(value):  # (a numpy scalar has its own arithmetic and repr)
        return f"({value!r})"
    raise _Untraceable(f"cannot inline {value!r}")


def _binary(symbol, reflected=False, arithmetic=True):
    def method(self, other):
        a, b = (other, self) if reflected else (self, other)
        tape = self.tape  # int/float arithmetic with a float operand gives a float (``/`` always does)
        plain = arithmetic and tape.is_plain(a) and tape.is_plain(b)
        is_float = plain and (symbol == "/" or tape.is_float(a) or tape.is_float(b))
        return tape.emit(symbol, a, b, is_float=is_float, plain=plain)
    return method


class _Sym:
    __slots__ = ("tape", "name")
    __hash__ = None

    def __init__(self, tape, name):
        self.tape, self.name = tape, name

    __add__, __radd__ = _binary("+"), _binary("+", True)
    __sub__, __rsub__ = _binary("-"), _binary("-", True)
    __mul__, __rmul__ = _binary("*"), _binary("*", True)
    __truediv__, __rtruediv__ = _binary("/"), _binary("/", True)
    __pow__, __rpow__ = _binary("**"), _binary("**", True)
    __lt__, __le__ = _binary("<", arithmetic=False), _binary("<=", arithmetic=False)
    __gt__, __ge__ = _binary(">", arithmetic=False), _binary(">=", arithmetic=False)
    __eq__, __ne__ = _binary("==", arithmetic=False), _binary("!=", arithmetic=False)

    def __neg__(self):
        return self.tape.emit("neg", self, is_float=self.tape.is_float(self), plain=self.tape.is_plain(self))

    def __pos__(self):
        return self

    def __bool__(self):
        raise _Untraceable("the formula branches on the step with `if`")

    def __float__(self):
        raise _Untraceable("the formula needs a real float")

    __int__ = __index__ = __float__


def _namespace(tape):
    def call(name):  # math.cos/exp/log/sqrt give floats, math.floor/ceil ints
        return lambda x: tape.emit(f"_{name}", x, is_float=name not in ("floor", "ceil") and tape.is_plain(x),
                                   plain=tape.is_plain(x))

    def both(a, b):
        return tape.is_float(a) and tape.is_float(b)

    def plain(a, b):
        return tape.is_plain(a) and tape.is_plain(b)

    def where(cond, a, b):
        return tape.emit("where", cond, a, b, where=True,
                         is_float=both(a, b), plain=plain(a, b))

    def minimum(a, b):  # builtin min(a, b): a unless b < a
        return tape.emit("min", a, b, is_float=both(a, b), plain=plain(a, b))

    def maximum(a, b):  # builtin max(a, b): a unless b > a
        return tape.emit("max", a, b, is_float=both(a, b), plain=plain(a, b))

    ns = Namespace("trace", to_float=lambda t: t, where=where, minimum=minimum, maximum=maximum,
                   **{f: call(f) for f in ("floor", "ceil", "cos", "exp", "log", "sqrt")})
    ns.apply = lambda fn, x: tape.emit(tape.bind(fn), x)
    return ns


_MATH_NAMES = {f"_{f}": getattr(MATH, f) for f in ("floor", "ceil", "cos", "exp", "log", "sqrt")}
_PURE = {"neg", "min", "max", *_MATH_NAMES}


def compile_scalar(schedule):
    """A function ``t -> float`` equal, bit for bit, to ``float(schedule._f(t, MATH))``."""
    tape = _Tape()

    def plain(t):
        return float(schedule._f(t, MATH))

    try:
        result = schedule._f(_Sym(tape, "t"), _namespace(tape))
        if len(tape.ops) > MAX_OPERATIONS:
            return plain
        try:
            lines = tape.branching(result)
        except (_TooDeep, RecursionError):
            lines = None
        if lines is None or len(lines) > 2 * len(tape.ops) + 16:  # too deep, or branches that share much
            lines = tape.flat(result)
        else:  # the steps t > 0 (every step but the first): the code the ranges leave, after one test
            positive = tape.branching(result, POSITIVE)
            if positive != lines:
                lines = ["if t > 0:"] + ["    " + line for line in positive] + lines
        body = "\n".join("    " + line for line in lines)
        names = {**_MATH_NAMES, **tape.constants, "_float": float}
        params = "".join(f", {n}={n}" for n in names if f"{n}(" in body)  # (fewer defaults: a cheaper call)
        source = f"def scalar(t{params}):\n{body}\n"
        code = compile(source, f"<lrkit {type(schedule).__name__}>", "exec")
    except (_Untraceable, TypeError, ValueError, ArithmeticError, AttributeError, RecursionError, SyntaxError,
            MemoryError):
        return plain
    scope = dict(names)
    exec(code, scope)  # noqa: S102 - our own code
    scalar = scope["scalar"]
    scalar.source = source
    return scalar
