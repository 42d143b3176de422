"""The per-step fast path: trace a schedule's formula once with symbolic values and compile it into
one Python function of ``t`` (constants inlined, each ``where`` an ``if``/``else`` that computes only the
branch it takes: one phase of a ``sequence``, either the warmup or the schedule after it).

The compiled function performs exactly the operations the ``math`` namespace would on the values it
returns, in the same order, so its results are bitwise equal; the interpreter overhead of the nested
``_f`` calls, attribute lookups and namespace indirection is gone, and so is the work of the branches
not taken. Formulas the tracer cannot follow (a user function that needs a real float, say) fall back
to plain evaluation.
"""
import math

from ._namespace import MATH, Namespace


class _Untraceable(Exception):
    pass


class _TooDeep(Exception):
    """The branches nest deeper than Python's block limit allows (about 100): one flat pass instead."""


#: ``where`` branches nest at most this deep in the compiled code; deeper formulas compile flat.
MAX_NESTING = 40
#: A formula of more operations than this is not compiled: it evaluates as plain Python (slower per step,
#: but compiling it would cost more than it saves, and Python's compiler has limits of its own).
MAX_OPERATIONS = 20_000


class _Tape:
    """The traced operations: ``name -> (expression, names it reads, where-parts or None)``, in order."""

    def __init__(self):
        self.ops = {}
        self.constants = {}
        self.floats = set()   # names that hold a Python float whatever ``t`` is (no ``float()`` needed at the end)
        self.plain = {"t"}    # names that hold a Python int or float (not a user function's result)

    def emit(self, expression, *args, where=None, is_float=False, plain=False):
        name = f"v{len(self.ops)}"
        self.ops[name] = (expression, tuple(a.name for a in args if isinstance(a, _Sym)), where)
        if is_float:
            self.floats.add(name)
        if is_float or plain:
            self.plain.add(name)
        return _Sym(self, name)

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
        return f"    return {_code(result)}" if self.is_float(result) else f"    return _float({_code(result)})"

    def flat(self, result):
        """Every operation in order (the ``where`` as conditional expressions)."""
        return [f"    {name} = {expression}" for name, (expression, _, _) in self.ops.items()] + [
            self.returned(result)]

    def branching(self, result):
        """The operations ``result`` needs, each ``where`` an ``if``/``else`` computing one branch."""
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
                if ops[name][2] is None:
                    stack.extend(ops[name][1])
            return sorted(out, key=order.__getitem__)

        def emit(value, have, indent):
            if len(indent) > 4 * MAX_NESTING:
                raise _TooDeep
            lines = []
            for name in needed(value, have):
                expression, _, where = ops[name]
                if where is None:
                    lines.append(f"{indent}{name} = {expression}")
                else:
                    cond, a, b = where
                    lines += emit(cond, have, indent)
                    for keyword, part in ((f"if {_code(cond)}:", a), ("else:", b)):
                        lines.append(f"{indent}{keyword}")
                        lines += emit(part, set(have), indent + "    ")
                        lines.append(f"{indent}    {name} = {_code(part)}")
                have.add(name)
            return lines

        return emit(result, {"t"}, "    ") + [self.returned(result)]

    def bind(self, value):
        """A name for a Python object the generated code calls (a user function)."""
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name


def _code(value):
    if isinstance(value, _Sym):
        return value.name
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f"({value!r})"
    raise _Untraceable(f"cannot inline {value!r}")


def _binary(symbol, reflected=False, arithmetic=True):
    def method(self, other):
        a, b = (other, self) if reflected else (self, other)
        tape = self.tape  # int/float arithmetic with a float operand gives a float (``/`` always does)
        plain = arithmetic and tape.is_plain(a) and tape.is_plain(b)
        is_float = plain and (symbol == "/" or tape.is_float(a) or tape.is_float(b))
        return tape.emit(f"{_code(a)} {symbol} {_code(b)}", a, b, is_float=is_float, plain=plain)
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
        return self.tape.emit(f"-{self.name}", self, is_float=self.tape.is_float(self), plain=self.tape.is_plain(self))

    def __pos__(self):
        return self

    def __bool__(self):
        raise _Untraceable("the formula branches on the step with `if`")

    def __float__(self):
        raise _Untraceable("the formula needs a real float")

    __int__ = __index__ = __float__


def _namespace(tape):
    def call(name):  # math.cos/exp/log/sqrt give floats, math.floor/ceil ints
        return lambda x: tape.emit(f"_{name}({_code(x)})", x, is_float=name not in ("floor", "ceil") and tape.is_plain(x),
                                   plain=tape.is_plain(x))

    def both(a, b):
        return tape.is_float(a) and tape.is_float(b)

    def plain(a, b):
        return tape.is_plain(a) and tape.is_plain(b)

    def where(cond, a, b):
        return tape.emit(f"{_code(a)} if {_code(cond)} else {_code(b)}", cond, a, b, where=(cond, a, b),
                         is_float=both(a, b), plain=plain(a, b))

    def minimum(a, b):  # builtin min(a, b): a unless b < a
        return tape.emit(f"{_code(b)} if {_code(b)} < {_code(a)} else {_code(a)}", a, b, is_float=both(a, b), plain=plain(a, b))

    def maximum(a, b):  # builtin max(a, b): a unless b > a
        return tape.emit(f"{_code(b)} if {_code(b)} > {_code(a)} else {_code(a)}", a, b, is_float=both(a, b), plain=plain(a, b))

    ns = Namespace("trace", to_float=lambda t: t, where=where, minimum=minimum, maximum=maximum,
                   **{f: call(f) for f in ("floor", "ceil", "cos", "exp", "log", "sqrt")})
    ns.apply = lambda fn, x: tape.emit(f"{tape.bind(fn)}({_code(x)})", x)
    return ns


_MATH_NAMES = {f"_{f}": getattr(MATH, f) for f in ("floor", "ceil", "cos", "exp", "log", "sqrt")}


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
        body = "\n".join(lines)
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
