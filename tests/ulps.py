"""Comparisons between two libraries or two code paths, in units in the last place (ulps).

Why a tolerance at all: ``cos``, ``exp``, ``log`` and ``pow`` are not correctly rounded everywhere.
glibc's ``math`` functions (lrkit's per-step path), numpy's SIMD kernels (AVX2, AVX-512 with Intel's
SVML, NEON on aarch64), torch's Sleef kernels and XLA each return a float within 1 ulp of the true
value, so two of them can give the two floats on either side of it: 1 ulp apart for one call. numpy
validates its float64 ``cos/sin/exp/log`` to 1 ulp (``numpy/_core/tests/data/umath-validation-set-*``),
SVML's high-accuracy ``pow`` is under 1 ulp, glibc's are under 1 ulp. Arithmetic (+ - * /, sqrt,
floor, min, max) is exact IEEE rounding everywhere and never differs.

A formula then carries that 1-ulp difference of one call through its own arithmetic: a difference
of two close numbers (``1 + cos(x)`` near the end of a cosine) turns it into many ulps of the small
result, but never into more than a few ulps of the numbers it was computed from. Hence two ways to
state a bound: ``n`` ulps of the values compared, or ``n`` ulps of a ``scale`` (the schedule's largest
value, say) for values that come out of such a difference. Each test says which and why.

``--ulp-jitter`` (tests/conftest.py) makes lrkit's numpy path return the *other* float next to the
true value of every inexact ``cos/exp/log/pow``, as a 1-ulp library may: the tolerant comparisons must
still pass, and the bitwise ones show that they compare one code path with itself.
"""
import numpy as np


def spacing(x, dtype=np.float64):
    """The ulp of ``x`` (its distance to the next float away from 0) in ``dtype``."""
    return np.spacing(np.abs(np.asarray(x, dtype=dtype))).astype(np.float64)


def within_ulps(actual, expected, n, scale=None, dtype=np.float64):
    """Elementwise: ``|actual - expected| <= n`` ulps of ``max(|actual|, |expected|, scale)``, in ``dtype``
    (float64 or float32). Equal values (infinities included) and two NaNs count as within."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    size = np.maximum(np.abs(a), np.abs(b))
    if scale is not None:
        size = np.maximum(size, np.abs(np.asarray(scale, dtype=np.float64)))
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(a - b) <= n * spacing(size, dtype)
    return close | (a == b) | (np.isnan(a) & np.isnan(b))


def assert_ulps(actual, expected, n, scale=None, dtype=np.float64, what=""):
    """Assert :func:`within_ulps`; the message shows the worst element and its distance in ulps."""
    ok = within_ulps(actual, expected, n, scale, dtype)
    if np.all(ok):
        return
    a = np.broadcast_to(np.asarray(actual, dtype=np.float64), ok.shape)
    b = np.broadcast_to(np.asarray(expected, dtype=np.float64), ok.shape)
    bad = np.argwhere(~ok.reshape(ok.shape or (1,)))[0]
    i = tuple(bad) if ok.shape else ()
    size = max(abs(a[i]), abs(b[i]), 0.0 if scale is None else float(np.max(np.abs(scale))))
    raise AssertionError(
        f"{what + ': ' if what else ''}{int((~ok).sum())} value(s) more than {n} ulp(s) apart"
        f"{'' if scale is None else ' of the scale'}; e.g. at {i or 0}: {a[i]!r} vs {b[i]!r} "
        f"({abs(a[i] - b[i]) / spacing(size, dtype):.3g} ulps)")


# ---------------------------------------------------------------------------------------------------
# --ulp-jitter: a 1-ulp library simulated on lrkit's numpy path
# ---------------------------------------------------------------------------------------------------
_INEXACT = {np.cos, np.sin, np.tan, np.exp, np.exp2, np.expm1, np.log, np.log2, np.log10, np.log1p,
            np.power, np.float_power, np.arctan, np.tanh}


#: exact: exact powers move by an ulp too (--ulp-jitter=all: a pow within 1 ulp, inclusive);
#: bias: "up" or "down" moves every inexact result that way instead (a library biased by an ulp)
JITTER = {"exact": False, "bias": None}


def other_neighbour(ufunc, inputs, result):
    """``result`` with each inexact element replaced by the float on the other side of the true
    value (computed again in long double): what a library accurate to 1 ulp, not correctly
    rounded, may return. Exact results (``0.5 ** 1``, ``exp(0)``) stay exact, as they do in SVML,
    Sleef and glibc. Where long double is double (some platforms), nothing changes."""
    out = np.asarray(result)
    if out.dtype.kind != "f" or out.size == 0:
        return result
    wide = np.longdouble if out.dtype == np.float64 else np.float64
    with np.errstate(all="ignore"):
        # the inputs as the ufunc saw them (a Python float next to a float32 array is a float32), widened
        true = np.asarray(ufunc(*[np.asarray(x, dtype=out.dtype).astype(wide) if np.asarray(x).dtype.kind in "fiu"
                                  else x for x in inputs]), dtype=wide)
        towards = np.where(true > out.astype(wide), np.inf, -np.inf).astype(out.dtype)
        if JITTER["bias"] is not None:
            towards = np.full_like(out, np.inf if JITTER["bias"] == "up" else -np.inf)
        exact = true == out.astype(wide)
        if JITTER["exact"] and ufunc in (np.power, np.float_power):  # away from an exact power, up or
            # down as a bit of the inputs says (the same inputs, the same answer, as in a real library);
            # not pow(1, y) and pow(x, 0), which C99 makes exactly 1, nor pow(x, 1) = x (and cos(pi) = -1,
            # exp(0) = 1 are exact in every library)
            base, exponent = (np.broadcast_to(np.asarray(x, dtype=np.float64), out.shape) for x in inputs[:2])
            odd = ((base.view(np.uint64) ^ exponent.view(np.uint64)) >> np.uint64(52)) & np.uint64(1) == 1
            towards = np.where(exact, np.where(odd, np.inf, -np.inf), towards).astype(out.dtype)
            exact = (base == 1) | (exponent == 0) | (exponent == 1)
        moved = np.nextafter(out, towards)
        keep = ~np.isfinite(out) | (out == 0) | exact | ~np.isfinite(true)
    moved = np.where(keep, out, moved)
    return moved if isinstance(result, np.ndarray) else moved.astype(out.dtype)[()]


class Jittered(np.ndarray):
    """An array whose inexact ufunc results come back as :func:`other_neighbour` (and stay Jittered)."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [x.view(np.ndarray) if isinstance(x, Jittered) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, Jittered) else o for o in kwargs["out"])
        result = getattr(ufunc, method)(*plain, **kwargs)
        if method == "__call__" and ufunc in _INEXACT:
            result = other_neighbour(ufunc, plain, result)
        return jittered(result)

    def __array_function__(self, func, types, args, kwargs):
        return jittered(super().__array_function__(func, types, args, kwargs))


def jittered(value):
    if type(value) is np.ndarray:
        return value.view(Jittered)
    if isinstance(value, tuple):
        return tuple(jittered(v) for v in value)
    return value


def plain(value):
    return value.view(np.ndarray) if isinstance(value, Jittered) else value


def install_jitter(monkeypatch, exact_too=False, bias=None):
    """Route every numpy evaluation of an lrkit schedule (float64 curves, ``lrkit.tf``'s float32)
    through :class:`Jittered` arrays; results handed back to callers are plain arrays again."""
    monkeypatch.setitem(JITTER, "exact", exact_too)
    monkeypatch.setitem(JITTER, "bias", bias)
    import types as _types

    import lrkit._base as base
    from lrkit import _namespace

    proxy = _types.ModuleType("numpy_jittered")
    proxy.__dict__.update({k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    proxy.asarray = lambda x, *a, **k: jittered(np.asarray(plain(x), *a, **k))
    monkeypatch.setattr(base, "np", proxy)
    to_float32 = _namespace.NUMPY32.to_float
    monkeypatch.setattr(_namespace.NUMPY32, "to_float", lambda t: jittered(to_float32(t)))
    call = base.Schedule.__call__
    monkeypatch.setattr(base.Schedule, "__call__", lambda self, step, xp=None: plain(call(self, step, xp)))
