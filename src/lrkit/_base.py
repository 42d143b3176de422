"""The Schedule base class: evaluation on scalars, numpy arrays and other array namespaces; repr,
equality and config for free from the frozen dataclass fields."""
import dataclasses
import functools
import math
import numbers
import typing

import numpy as np

from ._errors import LrkitTypeError, LrkitValueError, SpecError, excerpt
from ._functions import allowing, name_of, not_allowed_hint
from ._namespace import MATH, NUMPY, namespace

#: Every schedule class by name: the spec parser and from_config accept exactly these.
REGISTRY = {}
#: Peer libraries' named constructors (classes, and functions such as hf.get_scheduler) by their dotted
#: name ("hf.cosine", see lrkit._peers): specs call them, from_config reads the classes.
PEERS = {}


#: Size limits: a schedule nests at most MAX_DEPTH schedules deep (a sum of n terms nests n - 1 deep),
#: a list argument (points, boundaries, milestones, parts) holds at most MAX_PARTS items, and a spec
#: string is at most MAX_SPEC characters long. Beyond them lrkit raises SpecError / LrkitValueError.
MAX_DEPTH = 64
MAX_PARTS = 10_000
MAX_SPEC = 1_000_000


#: the hook that turns a call with a share of the run (``steps="5%"``) into a value resolved later (``_shares``)
_DEFERRED = []


def defer_with(hook):
    """Install ``hook(cls, args, kwargs)``: a value in place of the schedule ``cls(*args, **kwargs)``, or None."""
    _DEFERRED[:] = [hook]


def register(cls):
    """Turn ``cls`` into a frozen dataclass schedule and register it under its (lowercase) name. Its
    construction ends with the check that its values cannot go below 0 (``Schedule.bounds``). A call with
    a share of the run among its lengths (``steps="5%"``) builds ``lrkit._shares.with_shares`` instead."""
    validate = cls.__post_init__

    def __new__(klass, *args, **kwargs):
        if _DEFERRED and (args or kwargs):
            deferred = _DEFERRED[0](klass, args, kwargs)
            if deferred is not None:
                return deferred
        return object.__new__(klass)

    cls.__new__ = __new__

    def __post_init__(self):
        validate(self)
        _check_bounds(self)

    cls.__post_init__ = __post_init__
    cls = dataclasses.dataclass(frozen=True, repr=False)(cls)
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        for i, value in enumerate((*args, *kwargs.values())):
            if isinstance(value, (tuple, list)) and len(value) > MAX_PARTS:
                where = list(kwargs)[i - len(args)] if i >= len(args) else f"argument {i + 1}"
                raise LrkitValueError(f"{type(self).__name__}: {where} has {len(value):,} items, more than "
                                      f"{MAX_PARTS:,} (lrkit.MAX_PARTS)")
        init(self, *args, **kwargs)
        depth = 1 + max((_depth(getattr(self, f.name)) for f in dataclasses.fields(self)), default=0)
        if depth > MAX_DEPTH:
            raise LrkitValueError(f"{type(self).__name__} nests schedules {depth} deep, more than {MAX_DEPTH} "
                                  f"(lrkit.MAX_DEPTH; a sum or product of n terms nests n - 1 deep)")
        object.__setattr__(self, "_depth", depth)

    cls.__init__ = __init__
    REGISTRY[cls.__name__] = cls
    return cls


def _depth(value):
    if isinstance(value, Schedule):
        return getattr(value, "_depth", 1)
    if isinstance(value, tuple):
        if _numbers_only(value):
            return 0
        return max((_depth(v) for v in value), default=0)
    return 0


_NUMBER_TYPES = ({int}, {float}, {int, float}, set())


def _numbers_only(values):
    """Does the tuple hold Python ints and floats only (a long list of milestones, say)?"""
    return set(map(type, values)) in _NUMBER_TYPES


def bounds_of(schedule):
    """``schedule.bounds()``, computed once per schedule (a combinator asks its parts)."""
    found = getattr(schedule, "_bounds", None)
    if found is None:
        found = schedule.bounds()
        object.__setattr__(schedule, "_bounds", found)
    return found


def require_non_negative(schedule, where, largest=None):
    """For an adapter that cannot raise inside a compiled graph (Keras, optax): ``schedule`` must prove at
    construction, by its ``bounds()``, that its values are >= 0; else lrkit's error naming ``where``.
    ``largest``: the largest finite number of the graph's float type (float32: 3.4e38); a parameter
    beyond it is inf there, and inf - inf or 0 * inf is NaN, so it is refused too."""
    if largest is not None:
        for name, number in _numbers(schedule):
            if abs(number) > largest:
                raise LrkitValueError(
                    f"{where} refuses {excerpt(schedule)}: {name}={number!r} is beyond the range of "
                    f"the graph's float type (largest {largest:.4g}), where it would be inf (and the "
                    f"formula NaN); use float64 (Keras floatx, jax_enable_x64) or a smaller number")
    try:
        low, _ = bounds_of(schedule)
    except NotImplementedError:
        raise LrkitTypeError(
            f"{where} needs a schedule that proves its values are >= 0 by its bounds() (a compiled graph "
            f"cannot stop at a bad value), and {type(schedule).__name__} does not answer bounds()") from None
    if not low >= 0:
        raise LrkitValueError(
            f"{where} refuses {excerpt(schedule)}: its values can go below 0 (down to {low!r}), and a "
            f"compiled graph cannot stop at a bad value")


def _numbers(schedule):
    """``(name, number)`` for every number in ``schedule``'s fields, its parts' and its expansion's."""
    if not dataclasses.is_dataclass(schedule):  # a user's own class: its bounds() speak for it
        return
    for f in dataclasses.fields(schedule):
        values = getattr(schedule, f.name)
        for value in _flat(values):
            if isinstance(value, Schedule):
                yield from _numbers(value)
            elif isinstance(value, float):
                yield f"{type(schedule).__name__}.{f.name}", value
    expanded = getattr(schedule, "expanded", None)
    if isinstance(expanded, Schedule):
        yield from _numbers(expanded)


def _flat(value):
    if isinstance(value, tuple):
        for item in value:
            yield from _flat(item)
    else:
        yield value


def _check_bounds(schedule):
    low, high = bounds_of(schedule)
    if not low >= 0:  # (NaN fails too)
        raise LrkitValueError(
            f"{excerpt(schedule)} can go below 0: its parameters allow values down to {low!r}. "
            f"An lrkit schedule is a learning rate (or another hyperparameter): every value must be >= 0")


_CHUNK = 1 << 14
_INF = math.inf


def _negative_step(step):
    return LrkitValueError(f"step must be a finite number >= 0, got {excerpt(step)}")


class Schedule:
    """A learning-rate schedule: an immutable value mapping the update count ``t >= 0`` to a number.

    ``schedule(k)`` is the value used by update ``k`` (counting from 0). Call it with a Python
    int/float (returns a float), a numpy array or list of steps (returns a float64 array), or any
    array with ``xp=`` its namespace module (``jax.numpy``, ``keras.ops``, ``torch``).

    A schedule also describes itself, so that ``describe``, ``lrkit show``, the plots and the lint
    never switch on its type. Every shape, combinator and recipe answers (a recipe through its
    ``expanded`` schedule unless it knows better; a combinator by asking its parts):

    - ``end_step()``: the step from which it holds its final value, or None if it never settles;
    - ``span()``: how many steps show what it does, the default length of a plot or a table
      (``end_step() + 1`` when it settles; else a few periods, or its decay down to about 1%);
    - ``events(until, offset=0.0)``: its structural points as :class:`Event` values (warmup end,
      switches, milestones, points, restarts, decay steps, ...), with its step 0 at the outer step
      ``offset``: every declared one, and the periodic ones before the outer step ``until``;
    - ``cycles(offset=0.0, stop=math.inf)``: its periodic parts as :class:`Cycle` values;
    - ``bounds()``: ``(low, high)``, a cheap and sound bound on every value it takes at any step ``t >= 0``
      (exact arithmetic; ``high`` may be ``inf``; not always tight). Construction rejects a schedule whose
      ``low`` is below 0: every lrkit value is a hyperparameter, ``>= 0`` (a sum with a negative number,
      say, needs the other side's lower bound to cover it). A user function (``function``,
      ``multiplicative``'s factor, ``cyclic``'s ``scale_fn``) is taken at its contract: values ``>= 0``
      (``scale_fn``: in ``[0, 1]``, as torch documents); the adapters check what it really returns.

    A new shape is one registered class with ``_f`` and these five, plus its row in the reference
    table (tests/reference.py); tests/test_laws.py fails for a class that lacks either.
    """

    __slots__ = ()

    def _f(self, t, xp):  # the formula, written once against the namespace xp
        raise NotImplementedError

    def _validate(self, name, rule, *args):
        """Check field ``name`` with ``rule(name, value, *args)`` and keep the normalised value, its
        integers as floats (see ``_keep_floats``)."""
        self._keep_floats(name, rule(name, getattr(self, name), *args))

    def _written(self, name):
        """Field ``name`` as it was written (its integers as ints again), for the repr and the config."""
        return _as_written(getattr(self, name), getattr(self, "_integers", {}).get(name))

    def _keep_floats(self, name, value):
        """Set field ``name`` to ``value`` with its integers (at any depth of tuples) as floats: every
        formula computes in floats (an integer power of an integer step is a big-integer computation
        that can run for minutes). Which numbers were written as integers is kept, so that the repr
        and the config still read as written (``steps=100``)."""
        floats, written = _as_floats(value)
        object.__setattr__(self, name, floats)
        if written is not None:
            object.__setattr__(self, "_integers", {**getattr(self, "_integers", {}), name: written})

    def __call__(self, step, xp=None):
        if xp is None:
            kind = type(step)
            if kind is int or kind is float:
                if 0 <= step < _INF:  # (the scalar path: few lookups before the compiled call)
                    try:  # (an instance attribute once made: no class attribute or __getattr__, which would
                        scalar = self._scalar  # slow down every attribute lookup of a schedule)
                    except AttributeError:
                        scalar = _lazy_scalar(self)
                        object.__setattr__(self, "_scalar", scalar)
                    try:
                        return scalar(step)
                    except OverflowError:
                        return self._overflowed(step)
                raise _negative_step(step)
            return self._call_default(step)
        ns = namespace(xp)
        if ns is MATH or ns is NUMPY:
            return self._call_default(step)
        return self._f(ns.to_float(step), ns)

    def per_step(self):
        """The per-step path as a function: ``f(t) == schedule(t)``, bit for bit, for a Python int or float
        ``t >= 0`` (not checked), compiled now (``lrkit._compile``), for an adapter that evaluates once per
        optimizer step. Where Python floats overflow ``f`` raises OverflowError (``schedule(t)`` gives
        numpy's value there).

        >>> f = cosine(1.0, 0.0, steps=4).per_step()
        >>> f(2)
        0.5
        """
        from ._compile import compile_scalar
        compiled = compile_scalar(self)
        object.__setattr__(self, "_scalar", compiled)
        return compiled

    def _overflowed(self, t):
        """The value at ``t`` where Python floats overflowed: numpy gives inf (or an inf a ``where`` discards)."""
        return float(self._call_default(np.float64(t)[None])[0])


    def __getstate__(self):  # the compiled fast path is rebuilt after unpickling
        state = dict(self.__dict__)
        state.pop("_scalar", None)
        return state

    def _call_default(self, step):
        if type(step) is not np.ndarray:
            if isinstance(step, bool):
                raise LrkitTypeError(f"step must be a number or an array of numbers, got {excerpt(step)}")
            if isinstance(step, numbers.Real) and np.ndim(step) == 0:
                return self(int(step) if isinstance(step, numbers.Integral) else float(step))
            kind = type(step).__module__.partition(".")[0]
            if kind in ("torch", "jax", "jaxlib", "keras", "tensorflow"):
                raise LrkitTypeError(
                    f"step is a {type(step).__module__}.{type(step).__name__}: pass its namespace, "
                    f"e.g. schedule(step, xp=torch) / xp=jax.numpy / xp=keras.ops")
        try:
            t = np.asarray(step)
        except (ValueError, TypeError, OverflowError):  # ragged or mixed lists
            raise LrkitTypeError(f"step must be a number or an array of numbers, got {excerpt(step)}") from None
        kind = t.dtype.kind
        if kind not in "iuf":
            raise LrkitTypeError(f"step must be a number or an array of numbers, got {excerpt(step)}")
        if t.size and kind != "u" and not (t.min() >= 0 and (kind == "i" or t.max() < math.inf)):  # NaN fails
            t = t.astype(np.float64)
            bad = t[~((t >= 0) & np.isfinite(t))][0]
            raise _negative_step(bad.item())
        flat = t.astype(np.float64)
        if t.ndim != 1:
            flat = flat.reshape(-1)
        out = _quietly(self, flat)
        return out if t.ndim == 1 else out.reshape(t.shape)

    def _whole(self):
        """Evaluate a long numpy curve in one pass rather than in cache-sized blocks (a lookup table does
        one binary search over all steps; blocks would only repeat its fixed cost)."""
        return False

    # ---- text and config ---------------------------------------------------------------------
    def __repr__(self):
        parts = []
        for i, f in enumerate(dataclasses.fields(self)):
            value = getattr(self, f.name)
            value = self._written(f.name)
            if f.default is not dataclasses.MISSING and _same(value, f.default):
                continue
            text = _repr_value(value)
            parts.append(text if i == 0 and isinstance(value, Schedule) else f"{f.name}={text}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def to_config(self):
        """A JSON-safe dict (nested for composites) that ``lrkit.from_config`` turns back into an equal schedule."""
        config = {"name": type(self).__name__}
        for f in dataclasses.fields(self):
            config[f.name] = _to_json(self._written(f.name), f"{type(self).__name__}.{f.name}")
        return config

    # ---- what a schedule says about itself (describe, show, the plots and the lint ask) -----------
    def end_step(self):
        """The step from which the schedule holds its final value, or None if it never settles."""
        raise _unanswered(self, "end_step")

    def span(self):
        """How many steps show what the schedule does: ``end_step() + 1`` when it settles; else a few
        of its periods, or its decay down to about 1%."""
        raise _unanswered(self, "span")

    def events(self, until, offset=0.0):
        """Its :class:`Event` values when its step 0 is the outer step ``offset``: every declared one,
        and the periodic ones before the outer step ``until`` (in no particular order)."""
        raise _unanswered(self, "events")

    def cycles(self, offset=0.0, stop=math.inf):
        """Its periodic parts as :class:`Cycle` values when its step 0 is the outer step ``offset`` and
        it is used until the outer step ``stop`` (a part inside a ``repeat`` is not listed: the repeat
        is the cycle)."""
        raise _unanswered(self, "cycles")

    def bounds(self):
        """``(low, high)``: every value at a step ``t >= 0`` lies in ``[low, high]`` (exact arithmetic;
        ``high`` may be ``inf``). Cheap and sound, not always tight. Construction rejects ``low < 0``.

        >>> (cosine(1.0, 0.1, steps=10) + 0.5).bounds()
        (0.6, 1.5)
        """
        raise _unanswered(self, "bounds")

    def _event(self, step, kind, declared=True):
        """An :class:`Event` at the outer ``step``, this schedule its source."""
        return Event(step, kind, type(self).__name__, declared)

    def _periodic_events(self, period, until, offset, kind):
        """Undeclared ``kind`` events at the outer steps ``offset + k * period`` (k = 1, 2, ...) before
        ``until``, at most MAX_EVENTS of them."""
        found = []
        k = 1
        while offset + k * period < until and len(found) < MAX_EVENTS:
            found.append(self._event(offset + k * period, kind, declared=False))
            k += 1
        return found


#: The methods every schedule class answers (defined on the class or on a base below Schedule).
PROTOCOL = ("end_step", "span", "events", "cycles", "bounds")
#: At most this many periodic events are generated (a tiny period over a huge run).
MAX_EVENTS = 100_000


def _unanswered(schedule, method):
    return NotImplementedError(f"{type(schedule).__name__} does not answer {method}(): every schedule class "
                               f"defines {', '.join(PROTOCOL)} (see lrkit.Schedule)")


@dataclasses.dataclass(frozen=True)
class Event:
    """A structural point of a schedule: ``step`` (the first update that sees it), ``kind`` (``"end"``,
    ``"warmup end"``, ``"switch"``, ``"milestone"``, ``"point"``, ``"restart"``, ``"decay step"``,
    ``"peak"``, ``"trough"`` or ``"phase"``) and the name of the ``source`` schedule. ``declared``
    events are numbers the user wrote (milestones, boundaries, warmup and decay lengths), as opposed
    to the periodic ones a cycle generates."""
    step: float
    kind: str
    source: str
    declared: bool = True


@dataclasses.dataclass(frozen=True)
class Cycle:
    """A periodic part of a schedule: ``node``, whose step 0 is the outer step ``offset``, used until
    the outer step ``stop``; its cycle ``k`` starts at its own step ``starts(k)`` (``starts(0) == 0``)."""
    node: Schedule
    offset: float
    stop: float
    starts: typing.Callable


def _lazy_scalar(schedule):
    """Plain evaluation on the first call; from the second on, the compiled fast path (so a schedule
    evaluated once, as in ``lrkit.tf``, never pays for compiling)."""
    def first(t):
        object.__setattr__(schedule, "_scalar", second)
        return float(schedule._f(t, MATH))

    def second(t):
        from ._compile import compile_scalar
        compiled = compile_scalar(schedule)
        object.__setattr__(schedule, "_scalar", compiled)
        return compiled(t)

    return first


@np.errstate(over="ignore", under="ignore", invalid="ignore")  # (as a decorator: cheaper than a with block)
def _quietly(schedule, flat):
    """``schedule``'s numpy curve at the float64 steps ``flat`` (1-d), a new float64 array."""
    if flat.size <= _CHUNK or schedule._whole():  # (one pass: no copy into an output array)
        out = schedule._f(flat, NUMPY)
        if type(out) is not np.ndarray or out.shape != flat.shape or out.dtype is not _FLOAT64 or out is flat:
            out = np.array(np.broadcast_to(out, flat.shape), dtype=np.float64)
        return out
    out = np.empty_like(flat)
    for i in range(0, flat.size, _CHUNK):  # blocks that stay in cache: ~20% faster on long curves
        out[i:i + _CHUNK] = schedule._f(flat[i:i + _CHUNK], NUMPY)
    return out


_FLOAT64 = np.dtype(np.float64)


def _as_floats(value):
    """``(value with its ints as floats, where the ints were)``: True for an int, a tuple of those for a
    tuple; None when there was no int."""
    if type(value) is int:
        return float(value), True
    if type(value) is tuple:
        if _numbers_only(value):
            if int not in set(map(type, value)):
                return value, None
            return tuple(map(float, value)), tuple(True if type(v) is int else None for v in value)
        pairs = [_as_floats(v) for v in value]
        if any(w is not None for _, w in pairs):
            return tuple(v for v, _ in pairs), tuple(w for _, w in pairs)
    return value, None


def _as_written(value, written):
    """``value`` with the numbers ``_as_floats`` found to be ints as ints again (for repr and config)."""
    if written is True:
        return int(value)
    if written is None:
        return value
    if _numbers_only(value):  # (flat: no recursion)
        return tuple([int(v) if w is True else v for v, w in zip(value, written)])
    return tuple(_as_written(v, w) for v, w in zip(value, written))


def _same(a, b):
    return type(a) is type(b) and a == b


def _repr_value(value, nested=False):
    if isinstance(value, tuple):
        inner = ", ".join(_repr_value(v, True) for v in value)
        return f"({inner})" if nested else f"[{inner}]"
    if callable(value) and not isinstance(value, Schedule):
        name = name_of(value)
        return repr(name) if name is not None else f"<{not_allowed_hint(value)}>".replace("<<", "<", 1)
    return repr(value)


def _to_json(value, where):
    if isinstance(value, Schedule):
        return value.to_config()
    if isinstance(value, (tuple, list)):
        return [_to_json(v, where) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if callable(value):
        name = name_of(value)
        if name is None:
            raise LrkitValueError(f"{where} cannot be saved in a config: {not_allowed_hint(value)}")
        return name
    raise LrkitTypeError(f"{where}={excerpt(value)} is not JSON-safe")


def from_config(config, functions=None):
    """The schedule described by ``config`` (a dict from ``to_config()``; JSON-loaded is fine).

    A function named in it (``function``'s ``fn``, ``cyclic``'s ``scale_fn``) must be allowed: by
    ``lrkit.allow_function`` or in ``functions={"name": fn}`` (this call only).
    """
    with allowing(functions):
        return _from_config(config, 0)


def _from_config(config, depth):
    if not isinstance(config, dict):
        raise SpecError(f"config must be a dict with a 'name' key, got {excerpt(config)}")
    if depth > 3 * MAX_DEPTH + 8:  # a schedule level is a dict and a list or two: deeper cannot build
        raise SpecError(f"config nests schedules more than {MAX_DEPTH} deep (lrkit.MAX_DEPTH)")
    bad_keys = [k for k in config if not isinstance(k, str)]
    if bad_keys:
        raise SpecError(f"config keys must be strings, got {excerpt(bad_keys[0])} in {excerpt(config)}")
    name = config.get("name")
    cls = (REGISTRY.get(name) or PEERS.get(name)) if isinstance(name, str) else None
    if cls is not None and not isinstance(cls, type):
        raise SpecError(f"config name {excerpt(name)} is a function that builds a schedule (or a controller), "
                        f"not a schedule: a config names what it built (its to_config())")
    if cls is None:
        if isinstance(name, str) and "." in name:
            raise unknown_peer(*name.split(".", 1), "config name")
        raise SpecError(f"config name must be one of {', '.join(sorted(REGISTRY))}, got {excerpt(name)}")
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(config) - set(names) - {"name"})
    if unknown:
        raise SpecError(f"config for {name} has unknown key(s) {excerpt(unknown)}; allowed: {names}")
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [n for n in required if n not in config]
    if missing:
        raise SpecError(f"config for {name} lacks required key(s) {missing}")
    return cls(**{k: _from_json(v, depth) for k, v in config.items() if k != "name"})


def unknown_peer(prefix, name, what):
    """lrkit's SpecError for a peer name ``prefix.name`` that is not known: the known prefixes, or the
    names under a known prefix (at most 60 of them)."""
    prefixes = sorted({key.split(".", 1)[0] for key in PEERS})
    if prefix not in prefixes:
        return SpecError(f"{what}: unknown library prefix {excerpt(prefix)} in {excerpt(f'{prefix}.{name}')}; "
                         f"known: {', '.join(prefixes)}")
    names = sorted(key.split(".", 1)[1] for key in PEERS if key.split(".", 1)[0] == prefix)
    shown = ", ".join(names[:60]) + (f", ... ({len(names)} in all)" if len(names) > 60 else "")
    return SpecError(f"{what}: unknown {prefix} name {excerpt(name)}; known {prefix} names: {shown}")


def _from_json(value, depth):
    if isinstance(value, dict):
        return _from_config(value, depth + 1)
    if isinstance(value, list):
        if depth > 3 * MAX_DEPTH + 8:
            raise SpecError(f"config nests lists more than {3 * MAX_DEPTH + 8} deep: {excerpt(value)}")
        if len(value) > MAX_PARTS:
            raise SpecError(f"a config list has {len(value):,} items, more than {MAX_PARTS:,} "
                            f"(the limit of lrkit.MAX_PARTS)")
        return tuple(_from_json(v, depth + 1) for v in value)
    return value
