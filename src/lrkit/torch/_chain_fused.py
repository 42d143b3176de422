"""``ChainedScheduler``'s fused step: every member's product for every group in one pass, one write per group.

torch's chain multiplies each group's LR by every member's factor in turn. lrkit's chainable drop-ins do it
by rebasing (``_step``): member ``j`` finds the value ``x`` its predecessor wrote, rescales its closed form
through it, ``s = (x - anchor) / u_j(k - 1)`` (the core's ``scale_through``), and writes
``u_j(k) * s + anchor``. Stepped one by one, every member reads, rebases and writes every group.

The fused step does the same IEEE operations in the same order, member after member, on numpy arrays (on
lists below ``ARRAY_FROM`` groups, as the members do), writes only the last member's values, and leaves
each member in the state its own step would have left (scale, offsets, values written, time, unit
values, ``last_epoch``, ``get_last_lr()``): the values are bit for bit those of the per-member step.
From ``ARRAY_FROM`` groups on, that state is kept as the numpy arrays the step computed (``Lazy``):
the lists of python floats a member's own step keeps (its values, its scales, ``get_last_lr()``) are made
when something reads them, not at every step (a ``tolist()`` of 1000 floats costs a third of writing them).

It applies only where every member's own step would take that full rebase in every group:

- every member is an lrkit chainable drop-in stepped by ``LRScheduler.step`` (one LR curve, no momentum),
  past its first step, with python floats in every group;
- no group was written by anyone else since the chain's last write (the groups hold the last member's
  values) and every member finds every group changed since its own last write;
- no unit value is 0 (the rebase's division, torch's hand-off at an anchor) and every value is finite and
  non-negative.

Anything else (a hand edit, a foreign member, a member stepped on its own, a restored optimizer, a value
to refuse) takes the per-member step, unchanged.
"""
import operator
from itertools import repeat

import numpy as np

from .._scaling import ARRAY_FROM, Scaling, scale_through, scaled
from ._scheduler import LRScheduler
from ._step import Hyperparameter, _drain

_INF = float("inf")
_get_lr = operator.itemgetter("lr")
_setitem = operator.setitem
_ne = operator.ne
_is = operator.is_
_curves_of = operator.attrgetter("_hyperparameters")


def fused_chain(members):
    """A :class:`FusedChain` for ``members``, or None when the fused step can never apply (a member that is not
    a chainable lrkit drop-in stepped by ``LRScheduler.step``, one member, a member given twice)."""
    if len(members) < 2 or len({id(m) for m in members}) != len(members):
        return None
    for m in members:
        if not (isinstance(m, LRScheduler) and m._chainable and type(m).step is LRScheduler.step):
            return None
    return FusedChain(members)


class FusedChain:
    """The fused step of one chain's members (see the module docstring). ``step()`` is False when it does not
    apply, and then nothing was changed; after a per-member step, ``seen(lrs)`` takes what the groups hold."""

    __slots__ = ("members", "wrote", "wrote_array", "checked")

    def __init__(self, members):
        self.members = list(members)
        self.wrote = None        # the python floats the chain's last step left in the groups (None: unknown)
        self.wrote_array = None  # (``wrote``, its values as an array, their largest) after a step with numpy
        self.checked = [None] * len(self.members)  # the members' ``_hyperparameters`` found fit

    def __eq__(self, other):  # (what the groups held, a cache: not the chain's state, as ``Hyperparameter``'s)
        return True if isinstance(other, FusedChain) else NotImplemented

    __hash__ = None

    def seen(self, lrs):
        """After a per-member step: ``lrs``, the objects the groups hold now (kept when all are python floats,
        finite and non-negative: the fused step's first input, as every value it computes)."""
        fit = set(map(type, lrs)) == _FLOAT and all(0.0 <= v < _INF for v in lrs)
        self.wrote = list(lrs) if fit else None
        self.wrote_array = None

    def last_lr(self):
        """The chain's ``_last_lr`` after a fused step: a copy of what it wrote (``(array,)`` after a step with numpy:
        ``get_last_lr`` makes the list)."""
        cached = self.wrote_array
        return (cached[1],) if cached is not None and cached[0] is self.wrote else list(self.wrote)

    def _curves_checked(self, n):
        """Are the members' curves (``_hyperparameters``, replaced by a load) ones the fused step can drive: one
        chainable LR curve each, on its own unit (not ``unit_shared_with``), that python floats can take
        (``number_access``), for ``n`` groups? Checked once per set of curves."""
        curves = list(map(_curves_of, self.members))
        if all(map(_is, curves, self.checked)):
            return True
        for m, hs in zip(self.members, curves):
            if hs is None or len(hs) != 1 or m._n_groups != n or m._last_time != _INF:
                return False
            h = hs[0]
            if not h.chainable or h.key != "lr" or h.unit_shared_with is not None or h.number_access is None:
                return False
        self.checked = curves
        return True

    def step(self):
        members = self.members
        groups = members[0].optimizer.param_groups
        n = len(groups)
        wrote = self.wrote
        if wrote is None or len(wrote) != n or not self._curves_checked(n):
            return False
        if n == 1:
            return self._step_one(groups[0], wrote[0])
        plan = []  # per member: (member, hyperparameter, k, unit value now, unit value before)
        for m in members:
            step = _member_step(m)
            if step is None:
                return False
            plan.append(step)
        if n < ARRAY_FROM:
            return self._step_lists(groups, wrote, plan)
        return self._step_arrays(groups, wrote, plan)

    # ---- one group: python floats ----------------------------------------------------------------------------
    def _step_one(self, group, x):
        if group["lr"] is not x:  # (someone else wrote: the per-member step follows it)
            return False
        start = x
        done = []
        for m in self.members:
            step = _member_step(m)
            if step is None:
                return False
            _, h, k, u, previous = step
            anchors = h.initial.offset
            if x != h.written[0]:  # changed since the member's write: its rebase
                a = None if anchors is None else anchors[0]
                scale = scale_through(x, previous, a)
                v = scaled(u, scale, a)
            elif u == previous:  # untouched, the same unit value: the member writes nothing
                done.append((m, h, k, u, _SAME, x))
                continue
            else:  # untouched: the member's value at its scale
                scale, v = None, h.scaling.values(u)[0]
            if not 0.0 <= v < _INF:
                return False
            done.append((m, h, k, u, scale, v))
            x = v
        for m, h, k, u, scale, v in done:
            if scale is _SAME:
                _unchanged(m, h, k, [v])
                continue
            if scale is not None:
                scaling = h.scaling
                if scaling is h.initial:  # (the initial scaling is never changed)
                    scaling = h.scaling = Scaling(scaling.scale, h.initial.offset)
                scaling.scale, scaling.offset = [scale], h.initial.offset
                h.rebased, h.offsets_moved = True, False
            _commit(m, h, k, u, [v])
        if x is not start:
            group["lr"] = x
            self.wrote = [x]
        return True

    # ---- a few groups: lists, as the members compute them -------------------------------------------
    def _step_lists(self, groups, x, plan):
        if not all(map(_is, map(_get_lr, groups), x)):  # (someone else wrote: the per-member step follows it)
            return False
        done = []
        for m, h, k, u, previous in plan:
            written = h.written
            differ = list(map(_ne, x, written))
            anchors = h.initial.offset
            if all(differ):  # every group changed since the member's write: its rebase
                scale = scale_through(x, previous, anchors)
            elif any(differ):  # some groups changed: those rebased, the others at their scale
                scale = [r if d else s for r, d, s in zip(scale_through(x, previous, anchors), differ,
                                                           h.scaling.scale)]
            elif u == previous:  # untouched, the same unit value: the member writes nothing
                done.append((_SAME, x))
                continue
            else:  # untouched: the member's values at its scale
                scale = None
            values = h.scaling.values(u) if scale is None else scaled(u, scale, anchors)
            for v in values:
                if not 0.0 <= v < _INF:
                    return False
            done.append((scale, values))
            x = values
        for (m, h, k, u, previous), (scale, values) in zip(plan, done):
            if scale is _SAME:
                _unchanged(m, h, k, None)
                continue
            if scale is not None:
                scaling = h.scaling
                if scaling is h.initial:  # (the initial scaling is never changed)
                    scaling = h.scaling = Scaling(scaling.scale, h.initial.offset)
                scaling.scale, scaling.offset = scale, h.initial.offset
                h.rebased, h.offsets_moved = True, False
            _commit(m, h, k, u, values)
        if x is not self.wrote:
            _drain(map(_setitem, groups, repeat("lr"), x))
            self.wrote = x
        return True

    # ---- many groups: numpy, the members' lists made when read (``Lazy``) ---------------------------------
    def _step_arrays(self, groups, wrote, plan):
        if list(map(_get_lr, groups)) != wrote:  # (someone else wrote, as the drop-ins see it: by value)
            return False
        cached = self.wrote_array
        if cached is not None and cached[0] is wrote:
            _, x, top = cached
        else:
            x, top = np.asarray(wrote, dtype=np.float64), None
        n = len(wrote)
        done = []
        for m, h, k, u, previous in plan:
            pending = h.__dict__.get("_pending")
            if pending is None:
                written = np.asarray(h.written, dtype=np.float64)
                anchors = h.initial.offset
                a = None if anchors is None else np.asarray(anchors, dtype=np.float64)
            else:
                written, a = pending.values, pending.anchor_array
            changed = np.count_nonzero(x != written)
            if changed == n:  # every group changed since the member's write: its rebase
                scale = scale_through(x, previous, a)
            elif changed:  # some groups changed: those rebased, the others at their scale
                scale = np.where(x != written, scale_through(x, previous, a), _scale_array(h, pending))
            elif u == previous:  # untouched, the same unit value: the member writes nothing
                done.append((_SAME, x, a))
                continue
            else:  # untouched: the member's values at its scale
                scale = None
            values = scaled(u, _scale_array(h, pending) if scale is None else scale, a)
            if changed == n and a is None and u > 0.0 and previous > 0.0:
                # every value is u * (x_i / previous), x_i finite and >= 0 (the groups' values, as every value this
                # step computes): >= 0 or NaN, and (the operations being monotonic) the largest is the largest x's
                if top is None:
                    top = float(x.max())
                top = u * (top / previous)
                fit = top < _INF  # (NaN: False)
            else:
                top = float(values.max())
                fit = values.min() >= 0.0 and top < _INF  # (NaN: False)
            if not fit:
                return False
            done.append((scale, values, a))
            x = values
        last = None
        for (m, h, k, u, previous), (scale, values, a) in zip(plan, done):
            if scale is _SAME:
                _unchanged(m, h, k, None)
                continue
            if scale is not None:
                h.rebased, h.offsets_moved = True, False
            last = _lazy(h, values, scale, a)
            h.time, h.last_units = k, [u]
            m.last_epoch = k
            m._step_count += 1
            m._last_lr = (values,)  # (``get_last_lr`` makes the list)
        if last is None:
            return True
        listed = last.written = x.tolist()  # (the last member's values, the groups' objects: its ``written``)
        _drain(map(_setitem, groups, repeat("lr"), listed))
        self.wrote, self.wrote_array = listed, (listed, x, top)
        return True


class _Pending:
    """A member's state after a fused step with numpy: its values (``written`` too when made: the last member's
    list, which the groups hold), its scales (None: ``scaling`` is unchanged), its anchors (list and array)."""

    __slots__ = ("values", "written", "scale", "scaling", "anchors", "anchor_array")


def _scale_array(h, pending):
    """Member ``h``'s scales now, as an array."""
    if pending is None:
        return h.scaling.arrays()[0]
    return pending.scaling.arrays()[0] if pending.scale is None else pending.scale


def _lazy(h, values, scale, anchor_array):
    """Leave ``h`` as its own step would with ``values`` written (``scale``: its new scales, None: unchanged),
    the lists made when read (``Lazy``)."""
    d = h.__dict__
    old = d.get("_pending")
    p = _Pending()
    p.values, p.written, p.anchors, p.anchor_array = values, None, h.initial.offset, anchor_array
    if scale is not None:
        p.scale, p.scaling = scale, None
    elif old is not None:
        p.scale, p.scaling = old.scale, old.scaling
    else:
        p.scale, p.scaling = None, d["scaling"]
    if old is None:  # (an eager member: its lists are dropped, they are made again when read)
        d.pop("written", None)
        d.pop("last_values", None)
        d.pop("scaling", None)
        h.__class__ = _lazy_class(type(h))
    d["_pending"] = p
    return p


def _settle(h):
    """Make a lazy member's lists (``_pending``) and give it its own class back."""
    d = h.__dict__
    h.__class__ = type(h)._eager
    p = d.pop("_pending", None)
    if p is None:
        return
    d["written"] = d["last_values"] = p.values.tolist() if p.written is None else p.written
    if p.scale is None:
        d["scaling"] = p.scaling
    else:  # (as ``Scaling.take_arrays`` after a member's own rebase: the lists, the arrays kept)
        scaling = Scaling([], None)
        scaling.take_arrays(p.scale, p.anchor_array, p.anchors)
        d["scaling"] = scaling


def _settled(name):
    def get(self):
        _settle(self)
        return self.__dict__[name]

    def set_(self, value):
        _settle(self)
        self.__dict__[name] = value

    def delete(self):
        _settle(self)
        del self.__dict__[name]
    return property(get, set_, delete, f"``{name}``, made when read (``_settle``)")


class Lazy:
    """Mixed into a chain member's hyperparameter class (``Hyperparameter`` or a subclass: ``_lazy_class``) after
    a fused step with numpy: ``written``, ``last_values`` and ``scaling`` are made from the step's arrays at the
    first read or write of any of them (the member's own step, ``state_dict()``, a load, ``==``, ``repr``,
    pickling or copying), which gives the hyperparameter its own class back (``_eager``). (No ``__slots__``: a
    mixin with them changes the layout, and ``__class__`` could not be assigned.)"""

    _eager = Hyperparameter

    written = _settled("written")
    last_values = _settled("last_values")
    scaling = _settled("scaling")

    def __reduce_ex__(self, protocol):
        _settle(self)
        return self.__reduce_ex__(protocol)


_LAZY_CLASSES = {}


def _lazy_class(cls):
    """``cls`` (a ``Hyperparameter`` class) with ``Lazy`` mixed in, made once per class."""
    lazy = _LAZY_CLASSES.get(cls)
    if lazy is None:
        lazy = _LAZY_CLASSES[cls] = type(f"Lazy{cls.__name__}", (Lazy, cls), {"_eager": cls, "__module__": __name__})
    return lazy


def _member_step(m):
    """``(m, its LR curve, k, unit value at k, unit value at k - 1)`` of member ``m``'s next step, or None where
    its own step would not be the rebase or the untouched step the fused step computes (its first step, tensors
    in the groups, an edit kept as an offset, a step missed or repeated, a unit value of 0)."""
    h = m._hyperparameters[0]
    k = m.last_epoch + 1
    last_units = h.last_units
    if (m._step_count < 2 or h.access is not h.number_access or h.offsets_moved or h.time != k - 1
            or last_units is None or k <= 0):
        return None
    previous = last_units[0]
    try:
        u = h._unit_at(k)
    except OverflowError:
        return None
    if u == 0.0 or previous == 0.0:
        return None
    return m, h, k, u, previous


_SAME = object()  # a member that writes nothing at this step
_FLOAT = {float}


def _commit(m, h, k, u, values):
    """Member ``m``'s state after its step wrote ``values`` at step ``k`` (its scaling already taken)."""
    h.written = h.last_values = values
    h.time, h.last_units = k, [u]
    m.last_epoch = k
    m._step_count += 1
    m._last_lr = list(values)


def _unchanged(m, h, k, held):
    """Member ``m``'s state after a step that wrote nothing (``held``: one group's value, taken as its own)."""
    if held is not None and held[0] is not h.written[0]:
        h.written = [held[0]]
    h.time = k
    m.last_epoch = k
    m._step_count += 1
