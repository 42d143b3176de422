"""Shares of the run: a length written as a percentage of the run (``steps="5%"``), resolved with the run.

A length or a point in time of a schedule (the arguments in :data:`LENGTHS`: ``steps``, ``warmup``,
``decay``, ``at``, ``boundaries``, ...) may be written as a share of the run, ``"5%"``. A schedule written
so is a :class:`with_shares` value: it prints, compares, saves and loads as written (a spec reads
``warmup(cosine(1.0, 0.0, steps='95%'), steps='5%')``), and it resolves once the run is known:
``lrkit.clocked(s, unit=..., total=N)`` measures a run of ``N`` updates in its unit (the tokens of those
``N`` updates under a batch ramp, ``1`` for ``"fraction"``) and takes ``share * run`` there, exactly (the
decimal share times the run, rounded once). Its values before that are lrkit's error, which says so.
"""
import dataclasses
import fractions
import math
import re

from ._base import Schedule, _repr_value, _to_json, defer_with
from ._errors import LrkitTypeError, LrkitValueError, excerpt

#: the arguments that are lengths or points in time, where a share of the run may be written
LENGTHS = frozenset({"steps", "warmup", "decay", "at", "boundaries", "milestones", "period", "steps_up",
                     "steps_down", "begin", "stop"})

_OPERATORS = {"mul": "*", "add": "+"}
_SHARE = re.compile(r"(?:\d{1,12}(?:\.\d{0,12})?|\.\d{1,12})%")


def share_of(text):
    """The share a string such as ``"5%"`` writes, as an exact fraction (``Fraction(1, 20)``); None for
    anything that is not a string ending in ``%``; lrkit's error for a malformed one."""
    if type(text) is not str or not text.endswith("%"):
        return None
    if not _SHARE.fullmatch(text):
        raise LrkitValueError(f"{excerpt(text)} is not a share of the run: write a number and %, e.g. '5%'")
    return fractions.Fraction(text[:-1]) / 100


def _defer(cls, args, kwargs):
    """A :class:`with_shares` value for a call of ``cls`` with a share of the run in it, else None (this
    runs at every construction: types first, at C speed)."""
    for value in (*args, *kwargs.values()) if kwargs else args:
        kind = type(value)
        if kind is str:
            found = value.endswith("%")
        elif kind is with_shares:
            found = True
        elif kind is tuple or kind is list:
            kinds = set(map(type, value))
            found = with_shares in kinds or (str in kinds and any(type(v) is str and v.endswith("%") for v in value))
        else:
            continue
        if found and not getattr(cls, "_resolves_shares", False):
            return with_shares(cls, args, kwargs)
    return None


defer_with(_defer)


def _resolved(value, run):
    if type(value) is str:
        share = share_of(value)
        if share is None:
            return value
        exact = share * fractions.Fraction(run)
        return int(exact) if exact.denominator == 1 else float(exact)
    if isinstance(value, with_shares):
        return value.resolve(run)
    if type(value) is tuple:
        return tuple(_resolved(v, run) for v in value)
    return value


def _shares_in(value):
    if type(value) is str and value.endswith("%"):
        return [value]
    if isinstance(value, with_shares):
        return value.shares()
    if type(value) is tuple:
        return [s for v in value for s in _shares_in(v)]
    return []


@dataclasses.dataclass(frozen=True, init=False, repr=False, eq=False)
class with_shares(Schedule):
    """A schedule call with shares of the run among its lengths (``steps="5%"``), kept as written until
    :meth:`resolve` (or ``lrkit.clocked(..., total=N)``) gives the run's length.

    >>> from lrkit import warmup, cosine
    >>> s = warmup(cosine(1.0, 0.0, steps="95%"), steps="5%")
    >>> s
    warmup(cosine(start=1.0, end=0.0, steps='95%'), steps='5%')
    >>> s.resolve(2000)
    warmup(cosine(start=1.0, end=0.0, steps=1900), steps=100)
    """

    cls: type
    values: dict

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, cls, args, kwargs):
        fields = [f for f in dataclasses.fields(cls) if f.init]
        names = [f.name for f in fields]
        if len(args) > len(names):
            raise LrkitTypeError(f"{cls.__name__}() takes {len(names)} arguments ({', '.join(names)}), got "
                                 f"{len(args)}")
        values = dict(zip(names, args))
        for name, value in kwargs.items():
            if name not in names:
                raise LrkitTypeError(f"{cls.__name__}() got an unexpected keyword argument {excerpt(name)}; "
                                     f"{cls.__name__} takes: {', '.join(names)}")
            if name in values:
                raise LrkitTypeError(f"{cls.__name__}() got {name} twice")
            values[name] = value
        for name, value in values.items():
            if type(value) is list:
                value = values[name] = tuple(value)
            for text in _shares_in(value) if not isinstance(value, with_shares) else ():
                share_of(text)  # (a malformed one: lrkit's error now)
                if name not in LENGTHS:
                    raise LrkitValueError(
                        f"{cls.__name__}: {name}={excerpt(text)}: a share of the run is a length or a point in "
                        f"time, written in {', '.join(sorted(LENGTHS))}; {name} is not one")
        self.__dict__.update(cls=cls, values=values, _defaults={f.name: f.default for f in fields},
                             _depth=1 + max((getattr(v, "_depth", 1) for v in values.values()
                                             if isinstance(v, Schedule)), default=0))

    def shares(self):
        """The shares written in it (``["95%", "5%"]``), nested ones included."""
        return [s for v in self.values.values() for s in _shares_in(v)]

    def resolve(self, run):
        """The schedule with each share of the run replaced by ``share * run`` (``run``: the run's length
        in the unit the schedule is written in), as an integer where that is whole."""
        if isinstance(run, bool) or not isinstance(run, (int, float)) or not (math.isfinite(run) and run > 0):
            raise LrkitValueError(f"run (the run's length) must be a finite number > 0, got {excerpt(run)}")
        values = {name: _resolved(value, run) for name, value in self.values.items()}
        try:
            return self.cls(**values)
        except (LrkitValueError, LrkitTypeError) as error:
            raise type(error)(f"{error} (resolving {excerpt(self)} for a run of {run:g})") from None

    def _unresolved(self):
        return LrkitValueError(
            f"{excerpt(self)} has shares of the run ({', '.join(self.shares()[:4])}): its values depend on the "
            f"run's length. Resolve them with lrkit.clocked(schedule, unit=..., total=N) (a run of N updates, "
            f"measured in its unit) or schedule.resolve(length)")

    def __call__(self, step, xp=None):
        raise self._unresolved()

    def _f(self, t, xp):
        raise self._unresolved()

    def end_step(self):
        raise self._unresolved()

    def span(self):
        raise self._unresolved()

    def events(self, until, offset=0.0):
        raise self._unresolved()

    def cycles(self, offset=0.0, stop=math.inf):
        raise self._unresolved()

    def bounds(self):
        raise self._unresolved()

    def per_step(self):
        raise self._unresolved()

    def _key(self):
        return (self.cls, tuple(self.values.items()))

    def __eq__(self, other):
        return type(other) is with_shares and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        if self.cls.__name__ in _OPERATORS:  # (as mul and add print: ``(a * b)``)
            return f"({_repr_value(self.values['left'])} {_OPERATORS[self.cls.__name__]} " \
                   f"{_repr_value(self.values['right'])})"
        parts = []
        for i, (name, value) in enumerate(self.values.items()):
            default = self._defaults.get(name, dataclasses.MISSING)
            if default is not dataclasses.MISSING and value == default:
                continue
            text = _repr_value(value)
            parts.append(text if i == 0 and isinstance(value, Schedule) else f"{name}={text}")
        return f"{self.cls.__name__}({', '.join(parts)})"

    def to_config(self):
        config = {"name": self.cls.__name__}
        for name, value in self.values.items():
            config[name] = _to_json(value, f"{self.cls.__name__}.{name}")
        return config
