"""``ChainedScheduler``'s fused step: every member's product for every group in one pass, one write per group.

torch's chain multiplies each group's LR by every member's factor in turn. lrkit's chainable drop-ins do it
by rebasing (``_step``): member ``j`` finds the value ``x`` its predecessor wrote, rescales its closed form
through it, ``s = (x - anchor) / u_j(k - 1)`` (the core's ``scale_through``), and writes
``u_j(k) * s + anchor``. Stepped one by one, every member reads, rebases and writes every group.

The fused step does the same IEEE operations in the same order, member after member, on numpy arrays (on
lists below ``ARRAY_FROM`` groups, as the members do), writes only the last member's values, and leaves
each member in the state its own step would have left (scale, offsets, values written, time, unit
values, ``last_epoch``, ``get_last_lr()``): the values are bit for bit those of the per-member step.

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
from ._step import _drain

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

    __slots__ = ("members", "wrote", "arrays", "checked")

    def __init__(self, members):
        self.members = list(members)
        self.wrote = None   # the python floats the chain's last step left in the groups (None: unknown)
        self.arrays = {}    # id(list of floats) -> (that list, its array): the last step's lists
        self.checked = [None] * len(self.members)  # the members' ``_hyperparameters`` found fit

    def __eq__(self, other):  # (what the groups held, a cache: not the chain's state, as ``Hyperparameter``'s)
        return True if isinstance(other, FusedChain) else NotImplemented

    __hash__ = None

    def seen(self, lrs):
        """After a per-member step: ``lrs``, the objects the groups hold now (kept when all are python floats)."""
        self.wrote = list(lrs) if set(map(type, lrs)) == _FLOAT else None

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
            return self._step_lists(groups, n, wrote, plan)
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
    def _step_lists(self, groups, n, x, plan):
        if n == 1:
            if groups[0]["lr"] is not x[0]:  # (someone else wrote: the per-member step follows it)
                return False
        elif not all(map(_is, map(_get_lr, groups), x)):
            return False
        done = []
        for m, h, k, u, previous in plan:
            written = h.written
            differ = [x[0] != written[0]] if n == 1 else list(map(_ne, x, written))
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
                _unchanged(m, h, k, values if n == 1 else None)
                continue
            if scale is not None:
                scaling = h.scaling
                if scaling is h.initial:  # (the initial scaling is never changed)
                    scaling = h.scaling = Scaling(scaling.scale, h.initial.offset)
                scaling.scale, scaling.offset = scale, h.initial.offset
                h.rebased, h.offsets_moved = True, False
            _commit(m, h, k, u, values)
        if x is not self.wrote:
            if n == 1:
                groups[0]["lr"] = x[0]
            else:
                _drain(map(_setitem, groups, repeat("lr"), x))
            self.wrote = x
        return True

    # ---- many groups: numpy ------------------------------------------------------------------------------
    def _step_arrays(self, groups, wrote, plan):
        if list(map(_get_lr, groups)) != wrote:  # (someone else wrote, as the drop-ins see it: by value)
            return False
        x = self._array(wrote)
        done = []
        for m, h, k, u, previous in plan:
            differ = x != self._array(h.written)
            anchors = h.initial.offset
            a = None if anchors is None else self._array(anchors)
            if differ.all():  # every group changed since the member's write: its rebase
                scale = scale_through(x, previous, a)
            elif differ.any():  # some groups changed: those rebased, the others at their scale
                scale = np.where(differ, scale_through(x, previous, a), h.scaling.arrays()[0])
            elif u == previous:  # untouched, the same unit value: the member writes nothing
                done.append((_SAME, x))
                continue
            else:  # untouched: the member's values at its scale
                scale = None
            values = scaled(u, h.scaling.arrays()[0] if scale is None else scale, a)
            if not (values.min() >= 0.0 and values.max() < _INF):  # (NaN: the minimum is NaN)
                return False
            done.append((scale, values))
            x = values
        kept = {}
        listed = wrote
        for (m, h, k, u, previous), (scale, values) in zip(plan, done):
            if scale is _SAME:
                _unchanged(m, h, k, None)
                kept[id(h.written)] = (h.written, self._array(h.written))
                continue
            if scale is not None:
                scaling = h.scaling
                anchors = h.initial.offset
                if scaling is h.initial:  # (the initial scaling is never changed)
                    scaling = h.scaling = Scaling(scaling.scale, anchors)
                if anchors is None:
                    scaling.take_arrays(scale)
                else:
                    a = self._array(anchors)
                    kept[id(anchors)] = (anchors, a)
                    scaling.take_arrays(scale, a, anchors)
                h.rebased, h.offsets_moved = True, False
            listed = values.tolist()
            kept[id(listed)] = (listed, values)
            _commit(m, h, k, u, listed)
        if listed is not wrote:
            _drain(map(_setitem, groups, repeat("lr"), listed))
        kept[id(listed)] = (listed, x)
        self.arrays = kept  # (this step's lists only: nothing older is kept alive)
        self.wrote = listed
        return True

    def _array(self, values):
        """``values`` (a list of floats) as an array: the one made at the last step when it is that list."""
        cached = self.arrays.get(id(values))
        if cached is not None and cached[0] is values:
            return cached[1]
        return np.asarray(values, dtype=np.float64)


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
