"""Range analysis for the compiled per-step path (``lrkit._compile``): a sound bound on every value a
traced operation can take, so that the compiled code can leave out the operations that cannot change it.

A :class:`Span` is a closed interval ``[lo, hi]`` of the non-NaN values, plus whether the value may be NaN
and whether it may be ``-0.0``. The bounds are computed with the same float operations as the values:
``+ - * /`` round monotonically, so the operations on the ends of the intervals bound every result.
Where the analysis cannot tell (a power, a user function), the span is everything.

What the compiler leaves out, each exactly an identity on the values the span allows (so the results
stay the same bit for bit, ``-0.0`` and the type of the result included):

- ``min(a, b)`` where ``b < a`` is never true (``a``), or always true (``b``); ``max`` alike;
- a ``where`` whose condition is decided (only its branch);
- ``0.0 + x``, ``x + 0.0`` and ``x - 0.0`` for a float ``x`` that is not NaN and not ``-0.0``;
  ``1.0 * x``, ``x * 1.0`` and ``x / 1.0`` for a float ``x`` that is not NaN.
"""
import math

_COMPARISONS = ("<", "<=", ">", ">=")


class Span:
    __slots__ = ("lo", "hi", "nan", "negative_zero")

    def __init__(self, lo=-math.inf, hi=math.inf, nan=True, negative_zero=True):
        if lo != lo or hi != hi:  # an inf - inf on the ends: nothing is known
            lo, hi, nan, negative_zero = -math.inf, math.inf, True, True
        self.lo, self.hi, self.nan, self.negative_zero = lo, hi, nan, negative_zero

    def __repr__(self):
        return f"Span({self.lo!r}, {self.hi!r}, nan={self.nan}, negative_zero={self.negative_zero})"

    def copy(self):
        return Span(self.lo, self.hi, self.nan, self.negative_zero)

    def may_be_minus_zero(self):
        return self.negative_zero and self.lo <= 0.0 <= self.hi

    def may_be_negative(self):
        """May the value carry a minus sign (``-0.0`` included)?"""
        return self.lo < 0.0 or self.may_be_minus_zero()

    def may_be_positive(self):
        """May the value carry a plus sign (``+0.0`` included)?"""
        return self.hi >= 0.0


EVERYTHING = Span()


def of_constant(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = float(value) if abs(value) <= 2.0 ** 53 or type(value) is float else None
        if value is not None and value == value:
            return Span(value, value, False, math.copysign(1.0, value) < 0 and value == 0.0)
    return EVERYTHING


def _signs(a, b):
    """May a product or quotient of ``a`` and ``b`` be ``-0.0`` (an exact zero or an underflow)?"""
    return (a.may_be_negative() and b.may_be_positive()) or (a.may_be_positive() and b.may_be_negative())


def _corners(op, a, b):
    values = [op(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    if any(v != v for v in values):  # 0 * inf or inf / inf at a corner
        return None
    return min(values), max(values)


def _zero_times_infinity(a, b):
    """May ``a`` be 0 where ``b`` is infinite (a NaN product that the corners need not show)?"""
    return a.lo <= 0.0 <= a.hi and (b.lo == -math.inf or b.hi == math.inf)


def _mul(x, y):
    return x * y


def _div(x, y):
    return x / y


def arithmetic(symbol, a, b):
    """The span of ``a symbol b`` for ``+ - * /`` on spans ``a``, ``b`` (EVERYTHING for others)."""
    nan = a.nan or b.nan
    if symbol == "+":
        if (a.lo == -math.inf and b.hi == math.inf) or (a.hi == math.inf and b.lo == -math.inf):
            nan = True
        return Span(a.lo + b.lo, a.hi + b.hi, nan, a.may_be_minus_zero() and b.may_be_minus_zero())
    if symbol == "-":
        if (a.hi == math.inf and b.hi == math.inf) or (a.lo == -math.inf and b.lo == -math.inf):
            nan = True
        return Span(a.lo - b.hi, a.hi - b.lo, nan, a.may_be_minus_zero() and b.may_be_positive())
    if symbol == "*":
        ends = _corners(_mul, a, b)
        nan = nan or _zero_times_infinity(a, b) or _zero_times_infinity(b, a)
        return EVERYTHING if ends is None else Span(ends[0], ends[1], nan, _signs(a, b))
    if symbol == "/":
        if b.lo <= 0.0 <= b.hi:  # a division by zero raises, or the quotient is unbounded
            return EVERYTHING
        ends = _corners(_div, a, b)
        return EVERYTHING if ends is None else Span(ends[0], ends[1], nan, _signs(a, b))
    return EVERYTHING


def exact(a):
    """The span ``a`` of an int ``+ - *`` (exact, where its float ends were rounded): the ends past 2 ** 53,
    where floats skip ints, one float further out."""
    lo, hi = a.lo, a.hi
    if type(lo) is float and abs(lo) > 2.0 ** 53:
        lo = math.nextafter(lo, -math.inf)
    if type(hi) is float and abs(hi) > 2.0 ** 53:
        hi = math.nextafter(hi, math.inf)
    return Span(lo, hi, a.nan, a.negative_zero)


def negated(a):
    return Span(-a.hi, -a.lo, a.nan, a.may_be_positive())


def _widened(lo, hi):
    """``[lo, hi]`` widened outward by a relative 1e-9 (and the least float): a libm ``log`` or ``pow`` need
    not be correctly rounded nor monotonic to the last ulp, so its values at the ends bound the others only
    with some room."""
    if math.isfinite(lo):
        lo -= abs(lo) * 1e-9 + 5e-324
    if math.isfinite(hi):
        hi += abs(hi) * 1e-9 + 5e-324
    return lo, hi


def power(a, b):
    """The span of ``a ** b`` for a positive float constant ``a`` (a single point) and any ``b``; EVERYTHING
    otherwise. Python raises OverflowError where the power leaves float range."""
    base = a.lo
    if a.nan or a.hi != base or not 0.0 < base < math.inf:
        return EVERYTHING
    if base == 1.0:
        return Span(1.0, 1.0, False, False)  # (1.0 ** NaN is 1.0)

    def at(e):
        try:  # (an int end beyond float range, from int spans: the infinity it lies towards)
            e = float(e)
        except OverflowError:
            e = math.inf if e > 0 else -math.inf
        try:
            return base ** e
        except OverflowError:  # (a float power past float range)
            return math.inf
    ends = sorted((at(b.lo), at(b.hi)))
    lo, hi = _widened(*ends)
    return Span(max(lo, 0.0), hi, b.nan, False)


def function(name, a):
    """The span of ``math.name(a)``."""
    if name == "log":  # (math.log raises for x <= 0; log(inf) is inf)
        if not a.hi > 0.0:
            return EVERYTHING
        lo, hi = _widened(math.log(a.lo) if a.lo > 0.0 else -math.inf, math.log(a.hi))
        return Span(lo, hi, a.nan, False)
    if name == "cos":
        return Span(-1.0, 1.0, a.nan or a.lo == -math.inf or a.hi == math.inf, False)
    if name == "exp":
        return Span(0.0, math.inf, a.nan, False)
    if name == "sqrt":
        return Span(0.0, math.inf, a.nan, a.may_be_minus_zero())
    if name in ("floor", "ceil"):  # ints (NaN and inf raise)
        return Span(-math.inf if a.lo == -math.inf else math.floor(a.lo),
                    math.inf if a.hi == math.inf else math.ceil(a.hi), False, False)
    return EVERYTHING


def smaller(a, b):
    """``min(a, b)`` (``b if b < a else a``): which side it always is ("a", "b" or None) and its span."""
    if b.lo >= a.hi:  # b < a never holds (a NaN on either side makes it false as well)
        return "a", a
    if not (a.nan or b.nan) and b.hi < a.lo:
        return "b", b
    hi = a.hi if b.nan else min(a.hi, b.hi)
    return None, Span(min(a.lo, b.lo), hi, a.nan, a.negative_zero or b.negative_zero)


def larger(a, b):
    """``max(a, b)`` (``b if b > a else a``): which side it always is and its span."""
    if b.hi <= a.lo:
        return "a", a
    if not (a.nan or b.nan) and b.lo > a.hi:
        return "b", b
    lo = a.lo if b.nan else max(a.lo, b.lo)
    return None, Span(lo, max(a.hi, b.hi), a.nan, a.negative_zero or b.negative_zero)


def union(a, b):
    return Span(min(a.lo, b.lo), max(a.hi, b.hi), a.nan or b.nan, a.negative_zero or b.negative_zero)


def decided(symbol, a, b):
    """``a symbol b`` for a comparison: True or False when the spans decide it, else None."""
    if symbol not in _COMPARISONS:
        return None
    if symbol in (">", ">="):
        symbol, a, b = ("<" if symbol == ">" else "<="), b, a
    clean = not (a.nan or b.nan)
    if symbol == "<":
        if clean and a.hi < b.lo:
            return True
        if a.lo >= b.hi:
            return False
    else:
        if clean and a.hi <= b.lo:
            return True
        if a.lo > b.hi:
            return False
    return None


def refined(symbol, a, b, holds):
    """The spans of ``a`` and ``b`` where ``a symbol b`` is ``holds`` (new spans; None for other symbols)."""
    if symbol not in _COMPARISONS:
        return None
    a, b = a.copy(), b.copy()
    below = symbol in ("<", "<=")  # a <= b where it holds
    if not holds:
        below = not below  # a >= b, unless a side is NaN
        if b.nan and a.nan:
            return a, b
    low, high = (a, b) if below else (b, a)  # low <= high on the non-NaN values
    if holds:
        high.lo, low.hi = max(high.lo, low.lo), min(low.hi, high.hi)
        low.nan = high.nan = False
    else:
        if not high.nan:
            low.hi = min(low.hi, high.hi)
        if not low.nan:
            high.lo = max(high.lo, low.lo)
    for s in (a, b):
        if s.lo > s.hi:  # an empty branch (never taken): keep it sound and simple
            s.lo, s.hi = min(s.lo, s.hi), max(s.lo, s.hi)
    return a, b
