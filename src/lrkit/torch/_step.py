"""The per-step routine of lrkit's torch schedulers, written once: :meth:`Hyperparameter.advance`.

A scheduler drives one or more param-group keys (``"lr"``, ``"momentum"``, ``("betas", 0)``, ...), each a
:class:`Hyperparameter`: group ``i`` follows the core schedule ``units[unit_of_group[i]]`` (a curve for a
base value of 1), turned into the group's value by the core's :class:`lrkit._scaling.Scaling`
(``unit * scale_i + offset_i``). A step (``advance``):

1. evaluates the unit schedules at ``t`` (the core's per-step path, ``Schedule.per_step``);
2. if nobody else wrote into the groups since its own last write, writes the new values (or nothing,
   when the unit values did not change): the usual step;
3. otherwise (a hand edit, another scheduler) rebases a chainable hyperparameter on the values the groups
   hold now (``rebase``: the closed form rescaled through each, the core's ``scale_through(x, unit(t - 1),
   anchor)``, as torch's chain computes) or overwrites them, and writes.

What a step reads, compares and writes depends on what the groups hold, a strategy the hyperparameter
switches as they change: ``OneGroup`` (one param group holding a python number: no lists), ``GroupList``
(several: whole lists at C speed, numpy for many), ``TupleEntry`` (``("betas", j)``) and ``AnyGroups``
(tensors filled in place, groups left alone, a unit schedule per group, adjusted values). Strategies
only read, compare and write; the rules are the routine's.
"""
import dataclasses
import operator
from collections import deque
from itertools import repeat

import numpy as np
import torch

from .._combinators import add, mul
from .._errors import LrkitTypeError, LrkitValueError
from .._shapes import cyclic
from .._scaling import ARRAY_FROM, Scaling, scale_through, scaled
from ._arguments import as_float
from ._fused import FUSED_FROM, FusedSource
from ._loading import excerpt
from ._pickling import hyperparameter_state, restore_hyperparameter

#: ``advance`` modes: a step; step 0 (rebase on groups not at their base value); the closed form.
CHAIN, INITIAL, CLOSED = "chain", "initial", "closed"

_FLOATS = {float}
_INF = float("inf")
_setitem = operator.setitem


def _drain(iterator):
    """Run an iterator for its side effects at C speed."""
    deque(iterator, maxlen=0)


class Refused(Exception):
    """A value that is not finite and non-negative was about to be written (``advance`` names it)."""

    def __init__(self, group, value):
        super().__init__(group, value)
        self.group, self.value = group, value


def refuse_bad(values):
    """Raise ``Refused`` for the first value (None: none) that is not finite and non-negative."""
    if len(values) >= ARRAY_FROM and None not in values:
        array = np.asarray(values, dtype=np.float64)
        if (array >= 0.0).all() and (array < _INF).all():
            return
    for i, v in enumerate(values):
        if v is not None and not 0.0 <= v < _INF:
            raise Refused(i, v)


def checked_values(scaling, u):
    """``scaling.values(u)``, looked at one by one only when ``u`` is outside the scaling's safe range."""
    values = scaling.values(u)
    bounds = scaling.safe_range(False)
    if bounds is None or not bounds[0] <= u <= bounds[1]:
        refuse_bad(values)
    return values


def checked_array(scaling, u):
    """``checked_values`` as a float64 array, for many targets (the array ``Scaling.values`` makes its list of)."""
    array = scaled(u, *scaling.arrays())
    bounds = scaling.safe_range(False)
    if bounds is None or not bounds[0] <= u <= bounds[1]:
        if not ((array >= 0.0).all() and (array < _INF).all()):
            refuse_bad(array.tolist())
    return array


def affine(unit, scale, offset):
    """``unit * scale + offset`` as an lrkit schedule. A negative scale (a momentum cycled against the LR)
    is a cyclic curve from ``offset`` to ``offset + scale``: every lrkit schedule is non-negative."""
    if scale >= 0:
        s = mul(unit, scale)
        return add(s, offset) if offset != 0 else s
    if isinstance(unit, cyclic) and unit.start == 0 and unit.peak == 1:
        return dataclasses.replace(unit, start=offset, peak=offset + scale)
    raise LrkitTypeError(f"lrkit cannot write {unit!r} times {scale!r} plus {offset!r} as a non-negative schedule")


def key_name(key):
    """``"lr"``, or ``"betas[0]"`` for a tuple entry (the name in a state_dict)."""
    return key if isinstance(key, str) else f"{key[0]}[{key[1]}]"


# =================================================================================================
# group access strategies: what the step reads, compares and writes, for each layout of the groups
# =================================================================================================
class OneGroup:
    """An optimizer with one param group holding a python number: no lists to build, no loops."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def read(self, groups):
        return [groups[0][self.key]]

    def untouched(self, groups, h):
        """Does the group still hold the object ``h`` wrote last?"""
        return groups[0][self.key] is h.written[0]

    def overwrite(self, groups, h, units):
        """Write the values of ``units`` if the group still holds the object written last: True; else
        nothing is written and the answer is ``changes``'s."""
        group = groups[0]
        c = group[self.key]
        o = h.written[0]
        if c is not o:  # (as ``_compare``, without a call: this runs at every step of a chain)
            if type(c) is not float:
                return None
            if c == o:
                h.written = [c]
                return [c], (), None
            return [c], (0,), None
        values = h.scaling.values(units[0])
        if not 0.0 <= values[0] < _INF:  # (one group: the value itself is the cheapest check)
            refuse_bad(values)
        h.written = h.last_values = values
        group[self.key] = values[0]
        return True

    def changes(self, groups, h):
        """``(current values, indices of the groups that hold another number than written last, None)``;
        None where a group holds something else than a python float (``AnyGroups`` then looks)."""
        return self._compare(groups[0][self.key], h)

    @staticmethod
    def _compare(c, h):
        o = h.written[0]
        if c is o:
            return [c], (), None
        if type(c) is not float:
            return None
        if c == o:  # an equal value in a new object (a restored optimizer): adopt it
            h.written = [c]
            return [c], (), None
        return [c], (0,), None

    def write(self, groups, h, units):
        values = h.scaling.values(units[0])
        refuse_bad(values)
        h.written = h.last_values = values
        groups[0][self.key] = values[0]


class GroupList:
    """Several param groups holding python numbers: read, compare and write whole lists at C speed;
    from ``ARRAY_FROM`` groups on, compare with numpy (and ``Scaling`` computes with numpy)."""

    __slots__ = ("key", "get", "many")

    def __init__(self, key, n):
        self.key = key
        self.get = operator.itemgetter(key)
        self.many = n >= ARRAY_FROM

    def read(self, groups):
        return list(map(self.get, groups))

    def untouched(self, groups, h):
        return list(map(self.get, groups)) == h.written

    def overwrite(self, groups, h, units):
        """As ``OneGroup.overwrite``: a few groups are checked and written in one pass (given back their
        previous objects if one of them turns out changed), many are read and compared first."""
        key, written = self.key, h.written
        if groups[0][key] is not written[0]:  # (the first group changed: likely all, as in a chain)
            return self.changes(groups, h)
        if self.many:
            current = list(map(self.get, groups))
            if current != written:
                return _number_changes(current, h, True)
        values = checked_values(h.scaling, units[0])
        try:
            if self.many:
                _drain(map(_setitem, groups, repeat(key), values))
                h.written = h.last_values = values
                return True
            for g, o, v in zip(groups, written, values):
                if g[key] is not o:
                    break
                g[key] = v
            else:
                h.written = h.last_values = values
                return True
        except BaseException:
            self._undo(groups, written, values)
            raise
        self._undo(groups, written, values)
        return self.changes(groups, h)

    def _undo(self, groups, written, values):
        """Give the groups written by an interrupted pass their previous objects back."""
        key = self.key
        for g, o, v in zip(groups, written, values):
            if g.get(key) is not v:
                break
            g[key] = o

    def changes(self, groups, h):
        current = list(map(self.get, groups))
        return _number_changes(current, h, self.many)

    def write(self, groups, h, units):
        values = checked_values(h.scaling, units[0])
        h.written = h.last_values = values
        _drain(map(_setitem, groups, repeat(self.key), values))


def _number_changes(current, h, many):
    """``changes`` of groups that held python numbers after the last write (numpy compares many)."""
    written = h.written
    if current == written:
        h.written = current  # (equal values in new objects, as after restoring an optimizer: adopt them)
        return current, (), None
    if many and set(map(type, current)) == _FLOATS and set(map(type, written)) == _FLOATS:
        old = np.array(written, dtype=np.float64)
        if not np.isnan(old).any():  # (a NaN written last is unchanged only as the same object)
            new = np.array(current, dtype=np.float64)
            differ = new != old
            if np.count_nonzero(differ) == len(current):  # (a chain: every group, as a range)
                return current, range(len(current)), new
            return current, np.flatnonzero(differ).tolist(), new
    edited = [i for i, (c, o) in enumerate(zip(current, written)) if c is not o and c != o]
    if any(type(current[i]) is not float for i in edited):
        return None
    return current, edited, None


class TupleEntry:
    """Entry ``j`` of a tuple in every group (``("betas", 0)``: Adam's beta1), python numbers: a new
    tuple per write."""

    __slots__ = ("name", "index")

    def __init__(self, key):
        self.name, self.index = key

    def read(self, groups):
        name, j = self.name, self.index
        return [g[name][j] for g in groups]

    def untouched(self, groups, h):
        return self.read(groups) == h.written

    def overwrite(self, groups, h, units):
        current = self.read(groups)
        if current != h.written:
            return _number_changes(current, h, False)
        self.write(groups, h, units)
        return True

    def changes(self, groups, h):
        return _number_changes(self.read(groups), h, False)

    def write(self, groups, h, units):
        values = checked_values(h.scaling, units[0])
        h.written = h.last_values = values
        name, j = self.name, self.index
        for g, v in zip(groups, values):
            old = g[name]
            g[name] = (v, *old[1:]) if j == 0 else (*old[:j], v, *old[j + 1:])


class AnyGroups:
    """Any groups: tensors (filled in place, seen changed by their version, then by value in their dtype:
    a float32 LR holds our value rounded), groups left alone, a unit schedule per group, adjusted values."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def read(self, groups):
        key = self.key
        if type(key) is str:
            return [g[key] for g in groups]
        name, j = key
        return [g[name][j] for g in groups]

    def untouched(self, groups, h):
        return not self.changes(groups, h)[1]

    def overwrite(self, groups, h, units):
        changes = self.changes(groups, h)
        if changes[1]:
            return changes
        self.write(groups, h, units)
        return True

    def changes(self, groups, h):
        """As ``OneGroup.changes`` for any groups; an edited tensor's value is read as a float."""
        current = self.read(groups)
        written, last, versions = h.written, h.last_values, h.tensor_versions
        edited = []
        for i, (j, c, o) in enumerate(zip(h.unit_of_group, current, written)):
            if j is None or o is None:
                continue
            if isinstance(c, torch.Tensor):
                if c is not o or c._version != versions.get(i):
                    x = c.item()
                    if x != torch.tensor(last[i], dtype=c.dtype).item():
                        current[i] = x
                        edited.append(i)
            elif c is not o and c != last[i]:
                current[i] = as_float(c)
                edited.append(i)
        return current, edited, None

    def write(self, groups, h, units):
        """Write each group's value (None: leave it): tensors in place (``fill_``), numbers replaced; the
        number strategy takes over again once every group holds a python number."""
        values = h.values(units)
        refuse_bad(values)
        written = list(h.written)
        numbers_only = True
        versions = {}
        for i, (g, v) in enumerate(zip(groups, values)):
            if v is None:
                continue
            c = h.get(g)
            if isinstance(c, torch.Tensor):
                c.fill_(v)
                written[i] = c
                versions[i] = c._version
                numbers_only = False
            else:
                h.put(g, v)
                written[i] = v
        h.written, h.last_values, h.tensor_versions = written, list(values), versions
        h.numbers_only = numbers_only and h.drives_every_group
        if numbers_only and h.number_access is not None:
            h.access = h.number_access
        elif h.tensor_access is not None and len(versions) == h.n_groups:  # every group a tensor we filled
            h.version_list = list(versions.values())
            h.access = h.tensor_access


_version = operator.attrgetter("_version")
_fill = torch.Tensor.fill_


class TensorGroups:
    """Every group holds a tensor this hyperparameter filled last (the compile recipe's tensor LRs): the
    objects and their versions compared at C speed, one ``fill_`` per group (the floor of an in-place
    write) or, for many groups, one fused write (``_fused``); anything else (an edit, a new object) is
    handed to ``AnyGroups``."""

    __slots__ = ("key", "get")

    def __init__(self, key):
        self.key = key
        self.get = operator.itemgetter(key)

    def read(self, groups):
        return list(map(self.get, groups))

    def untouched(self, groups, h):
        if h.n_groups == 1:  # (no lists for one group)
            c = groups[0][self.key]
            return c is h.written[0] and c._version == h.version_list[0]
        written = h.written  # (the same objects: their versions)
        return all(map(operator.is_, map(self.get, groups), written)) and list(map(_version, written)) == h.version_list

    def overwrite(self, groups, h, units):
        if not self.untouched(groups, h):
            return self.changes(groups, h)
        self._fill(h, units, True)
        return True

    def changes(self, groups, h):
        h.access = h.any_access
        return h.any_access.changes(groups, h)

    def write(self, groups, h, units):
        """Write into the tensors the groups hold; ``AnyGroups`` writes when they are not those filled last
        (a restored optimizer's new tensors, a number)."""
        if not all(map(operator.is_, map(self.get, groups), h.written)):
            h.access = h.any_access
            return h.any_access.write(groups, h, units)
        self._fill(h, units)

    def _fill(self, h, units, seen=False):
        """``fill_`` the tensors filled last (the caller has seen the groups hold them; ``seen``: at the versions
        of ``h.version_list``), or write them in one fused write (``_fused``, many groups)."""
        tensors = h.written
        n = h.n_groups
        source = h.fused = FusedSource.of(tensors, h.fused) if n >= FUSED_FROM else None
        if source is not None and n >= ARRAY_FROM:  # (numpy's values written as they are, the list made once)
            array = checked_array(h.scaling, units[0])
            h.last_values = array.tolist()
            h.version_list = source.write(array, h.version_list if seen else None)
            h.tensor_versions = None  # (``Hyperparameter.tensor_versions``: made from version_list when read)
            return
        values = checked_values(h.scaling, units[0])
        h.last_values = values
        if n == 1:
            t = tensors[0]
            t.fill_(values[0])
            v = t._version
            h.version_list, h.tensor_versions = [v], {0: v}
            return
        if source is None:
            _drain(map(_fill, tensors, values))
            h.version_list = list(map(_version, tensors))
        else:  # (one fused write, ``_fused``)
            h.version_list = source.write(values, h.version_list if seen else None)
        h.tensor_versions = None


def _number_access(key, n):
    if not isinstance(key, str):
        return TupleEntry(key)
    return OneGroup(key) if n == 1 else GroupList(key, n)


# =================================================================================================
# one hyperparameter of every param group
# =================================================================================================
class Hyperparameter:
    """Param-group key ``key`` of every group: group ``i`` takes ``scaling``'s value of
    ``units[unit_of_group[i]](t)`` (``unit_of_group[i] is None`` leaves the group alone).

    ``chainable``: rebase on changes made by others (see the module docstring). ``adjust`` (native
    adapter only) maps ``(value, group index)`` to the value written (the plateau stage). Two
    hyperparameters are equal when they hold the same state: key, schedules, scalings, the time and
    unit values of the last write and the values written (the objects written and the tensors' versions
    describe the groups as last seen, a cache for spotting edits, and are not compared).
    """

    def __init__(self, key, units, unit_of_group, scaling, chainable=False, adjust=None):
        n = len(unit_of_group)
        self.key = key
        self.units = list(units)
        self.unit_of_group = list(unit_of_group)
        self.initial = scaling      # at construction; its offsets are the anchors a rebase keeps
        self.scaling = scaling      # now: ``initial`` until a rebase
        self.rebased = False        # the scale differs from the initial one
        self.offsets_moved = False  # an edit is kept as an offset until the next step (see ``rebase``)
        self.chainable = chainable
        self.adjust = adjust
        self.adjust_all = None  # optional: ``adjust`` of every value at once (a list, or None: one by one)
        self.n_groups = n
        self.drives_every_group = all(j is not None for j in self.unit_of_group)
        self.unit = self.units[0] if self.drives_every_group and len(self.units) == 1 else None
        self._unit_at = None if self.unit is None else self.unit.per_step()
        # the group access: for groups that all hold python numbers (one unit, no adjust), or any groups
        self.number_access = _number_access(key, n) if self.unit is not None and adjust is None else None
        self.any_access = AnyGroups(key)
        self.tensor_access = (TensorGroups(key) if self.unit is not None and adjust is None and isinstance(key, str)
                              else None)
        self.version_list = None        # the tensors' versions after our last fill_ (``TensorGroups``)
        self.fused = None               # the source of the fused write of many tensors (``_fused.FusedSource``)
        self.steady = None              # the record of ``_steady.one_tensor_step`` (one group, a tensor LR)
        self.access = self.any_access
        self.unit_shared_with = None  # a hyperparameter with the same unit, advanced first (CyclicLR's lr)
        self.time = None                # the time of the last write
        self.last_units = None          # the unit values at that time
        self.last_values = [None] * n   # the values written then (python floats; None: never written)
        self.written = [None] * n       # what the groups held after that write (floats or tensors)
        self.tensor_versions = {}       # group index -> tensor._version after our fill_
        self.numbers_only = False       # every group held a python number after the last write

    @property
    def tensor_versions(self):
        """Group index -> the tensor's ``_version`` after our last write; made from ``version_list`` when read
        (the tensor path writes only the list)."""
        versions = self._tensor_versions
        if versions is None:
            versions = self._tensor_versions = dict(enumerate(self.version_list))
        return versions

    @tensor_versions.setter
    def tensor_versions(self, versions):
        self._tensor_versions = versions

    # ---- the step ------------------------------------------------------------------------------------
    def advance(self, groups, t, mode=CHAIN, base_values=None):
        """Write the values of time ``t`` into the groups; returns whether anything was written.

        ``mode``: ``CHAIN`` (a step: changes made by others are rebased on by a chainable hyperparameter,
        overwritten otherwise), ``INITIAL`` (step 0: a chainable one rebases on each group that does not
        hold its value of ``base_values``), ``CLOSED`` (the closed form from the initial scaling).
        """
        access = self.access
        unit_at = self._unit_at
        if unit_at is None:
            units = self.unit_values(t)
        else:
            shared = self.unit_shared_with
            if shared is not None and shared.time == t:
                units = shared.last_units
            else:
                try:
                    units = [unit_at(t)]
                except OverflowError:  # (where Python floats overflow: the schedule's own value)
                    units = [self.unit(t)]
        # the hand-off: where a rebased closed form passes exactly through its anchor (a unit value of 0.0),
        # torch's chain forgets the edit (``_forget_edits``, before writing)
        at_anchor = 0.0 in units
        last_units = self.last_units
        if mode is CHAIN:
            changes = False  # (not looked at yet)
            if not self.offsets_moved:  # the usual step: nobody else wrote into the groups since our last write
                if units == last_units:
                    if access.untouched(groups, self):
                        self.time = t
                        return False
                elif not (self.rebased and at_anchor):
                    try:
                        changes = access.overwrite(groups, self, units)  # (what the groups hold, if not written)
                    except Refused as refused:  # (nothing changed yet)
                        raise self.refusal(refused, t) from None
                    if changes is True:
                        self.time, self.last_units = t, units
                        return True
            # someone else did (another scheduler, a hand edit): rebase a chainable hyperparameter on the
            # values the groups hold now, overwrite them otherwise
            saved = self._scaling_state()
            if changes is False:
                changes = access.changes(groups, self)
            if changes is None:  # a group holds something else than a python float now: look at each
                access = self.access = self.any_access
                changes = access.changes(groups, self)
            current, edited, array = changes
            if self.offsets_moved:  # an edit kept as an offset is taken back as a scale now
                anchors = self.initial.offsets()
                edited = sorted(set(edited) | {i for i, (o, a) in enumerate(zip(self.scaling.offsets(), anchors))
                                               if o != a})
                current, array = [as_float(x) for x in current], None
            if edited:
                if self.chainable:
                    previous = last_units if self.time == t - 1 else self.previous_units(t)
                    if len(edited) == self.n_groups and self.unit is not None and previous[0] != 0:
                        # a chain (or an edit of every group): the closed form through all the new values
                        scaling, anchors = self.scaling, self.initial.offset
                        if scaling is self.initial:  # (the initial scaling is never changed)
                            scaling = self.scaling = Scaling(scaling.scale, anchors)
                        if array is None:
                            scaling.scale, scaling.offset = scale_through(current, previous[0], anchors), anchors
                        else:
                            anchors = None if anchors is None else np.asarray(anchors, dtype=np.float64)
                            scaling.take_arrays(scale_through(array, previous[0], anchors), anchors)
                        self.rebased, self.offsets_moved = True, False
                    else:
                        self.rebase(edited, current, previous)
            elif units == last_units:
                self.time = t
                return False
        else:
            saved = self._scaling_state()
            self.reset()
            access = self.access = self.any_access  # (every group looked at: one may hold a tensor now)
            if mode is INITIAL and self.chainable:
                current = [as_float(x) for x in access.read(groups)]
                edited = [i for i, (j, x, b) in enumerate(zip(self.unit_of_group, current, base_values))
                          if j is not None and x != as_float(b)]
                if edited:
                    self.rebase(edited, current, [1.0] * len(self.units))
        if self.rebased and at_anchor:
            self._forget_edits(units)
        try:
            access.write(groups, self, units)
        except Refused as refused:  # (nothing written: the scaling as it was)
            scaling, scaling.scale, scaling.offset, self.rebased, self.offsets_moved, self.access = saved
            self.scaling = scaling
            raise self.refusal(refused, t) from None
        self.time, self.last_units = t, units
        return True

    def _scaling_state(self):
        scaling = self.scaling
        return scaling, scaling.scale, scaling.offset, self.rebased, self.offsets_moved, self.access

    def refusal(self, refused, t):
        """lrkit's error for a value that is not finite and non-negative (nothing was written)."""
        i = refused.group
        try:
            schedule = excerpt(self.schedule(i))
        except Exception:
            schedule = excerpt(self.units[self.unit_of_group[i] or 0])
        return LrkitValueError(
            f"refusing to write {key_name(self.key)}={refused.value!r} into param group {i} at step {t!r} "
            f"(schedule {schedule}): a value written into an optimizer must be finite and non-negative; "
            f"nothing was written")

    # ---- the closed form -------------------------------------------------------------------------------
    def unit_values(self, t):
        """Each unit schedule's value at time ``t``."""
        return [u(t) for u in self.units]

    def previous_units(self, t):
        """The unit values of the step before ``t`` (1.0 before step 0: the chain starts at the base)."""
        if self.time is not None and self.time == t - 1:
            return self.last_units
        if t - 1 < 0:
            return [1.0] * len(self.units)
        return self.unit_values(t - 1)

    def values(self, units, scaling=None, adjust=True):
        """Each group's value for the unit values ``units`` (None: a group left alone); ``adjust=False``:
        before the adjustment (the plateau stage)."""
        scaling = self.scaling if scaling is None else scaling
        if self.unit is not None:
            values = scaling.values(units[0])
        else:
            values = scaling.values_each([None if j is None else units[j] for j in self.unit_of_group])
        adjust = self.adjust if adjust else None
        if adjust is not None:
            many = self.adjust_all(values) if self.adjust_all is not None else None  # (all groups at once)
            values = many if many is not None else [v if v is None else adjust(v, i) for i, v in enumerate(values)]
        return values

    def schedule(self, i):
        """The core schedule group ``i`` follows now: ``(unit * scale) + offset`` (``affine``)."""
        j = self.unit_of_group[i]
        if j is None:
            return None
        return affine(self.units[j], self.scaling.scale[i], self.scaling.offsets()[i])

    # ---- rebasing on edits ---------------------------------------------------------------------------
    def rebase(self, edited, current, previous):
        """Groups ``edited`` hold ``current[i]`` (a float) instead of the value of the previous step:
        rescale the closed form through each around its anchor, as torch's chain does (the core's
        ``scale_through(x, previous unit value, anchor)``; a chain, every group at once: ``advance``).
        Where the previous unit value is 0 there is no scale to take: the edit is kept as an offset, taken
        back as a scale at the next step."""
        scaling = self.scaling
        scale, offset, anchors = list(scaling.scale), scaling.offsets(), self.initial.offsets()
        for i in edited:
            previous_unit = previous[self.unit_of_group[i]]
            if previous_unit != 0:
                scale[i] = scale_through(current[i], previous_unit, anchors[i])
                offset[i] = anchors[i]
            else:
                offset[i] = offset[i] + (current[i] - scaling.value(i, previous_unit))
        self.scaling = Scaling(scale, offset if offset != anchors else self.initial.offset)
        self.rebased, self.offsets_moved = True, offset != anchors

    def _forget_edits(self, units):
        """Where a rebased closed form passes exactly through its anchor (a unit value of 0.0), torch's chain
        forgets the edit: the groups whose unit value is 0.0 take their initial scale back."""
        scale, initial = list(self.scaling.scale), self.initial.scale
        for i, j in enumerate(self.unit_of_group):
            if j is not None and units[j] == 0.0:
                scale[i] = initial[i]
        self._take(scale, self.scaling.offsets())

    def reset(self):
        """Back to the initial scaling (the closed form from the base values)."""
        self.scaling, self.rebased, self.offsets_moved = self.initial, False, False

    def _take(self, scale, offset):
        """``scale`` and ``offset`` (lists) as the scaling now: the initial one where they equal it."""
        initial = self.initial
        rebased, moved = scale != initial.scale, offset != initial.offsets()
        if not rebased and not moved:
            self.reset()
            return
        self.scaling = Scaling(scale if rebased else initial.scale, offset if moved else initial.offset)
        self.rebased, self.offsets_moved = rebased, moved

    # ---- one group's value -------------------------------------------------------------------------------
    def get(self, group):
        key = self.key
        if type(key) is str:
            return group[key]
        return group[key[0]][key[1]]

    def put(self, group, value):
        key = self.key
        if type(key) is str:
            group[key] = value
        else:
            name, j = key
            old = group[name]
            group[name] = (*old[:j], value, *old[j + 1:])

    def rewrite(self, groups, t, values=None, checked=False):
        """Write the values of time ``t`` again (the plateau stage moved), without looking for edits
        (``values``: those values, already computed; ``checked``: and found finite and non-negative)."""
        if self.numbers_only and type(self.key) is str:  # (python numbers in every group: whole lists)
            if values is None:
                values = self.values(self.unit_values(t))
            if not checked:
                refuse_bad(values)
            _drain(map(_setitem, groups, repeat(self.key), values))
            self.written = self.last_values = values
            return
        self.access.write(groups, self, self.unit_values(t))

    # ---- state ---------------------------------------------------------------------------------------------
    def state(self):
        return {"scale": list(self.scaling.scale), "offset": self.scaling.offsets(),
                "values": [None if v is None else float(v) for v in self.last_values]}

    def restore(self, groups, saved, t, units, torch_values=None):
        """Take a loaded state: ``saved`` (``state()``'s dict, or None), the time ``t`` of the loaded step
        and its unit values (None: not started), ``torch_values`` (a torch state_dict's ``_last_lr``).
        Nothing is written: the groups are expected to hold the loaded values (a group that does not is
        rebased on at the next step)."""
        if isinstance(saved, dict):
            scale, offset = saved.get("scale"), saved.get("offset")
            n = self.n_groups
            scale = [float(v) for v in scale] if isinstance(scale, list) and len(scale) == n else None
            offset = [float(v) for v in offset] if isinstance(offset, list) and len(offset) == n else None
            if scale is not None or offset is not None:
                self._take(self.scaling.scale if scale is None else scale,
                           self.scaling.offsets() if offset is None else offset)
            values = saved.get("values")
            if isinstance(values, list) and len(values) == n:
                self.last_values = [None if v is None else float(v) for v in values]
        if units is not None:
            values = self.values(units)
            if torch_values is not None:
                torch_values = [as_float(x) for x in torch_values]
                edited = [i for i, (v, x) in enumerate(zip(values, torch_values)) if v is not None and v != x]
                if edited and self.chainable:
                    # torch's LR is a chain's product (another scheduler, a hand edit): rebase on it, as a step would
                    self.rebase(edited, torch_values, units)
                values = [v if v is None else x for v, x in zip(values, torch_values)]
            self.last_values = list(values)
            self.time, self.last_units = t, units
        else:
            self.time = self.last_units = None
        self.written = list(self.last_values)  # compared by value at the next step
        self.tensor_versions = {i: -1 for i, g in enumerate(groups)
                                if i < self.n_groups and isinstance(self.get(g), torch.Tensor)}
        self._choose_access()

    def holds_own_values(self, groups):
        """Does each group still hold the value this hyperparameter wrote last?"""
        flags = []
        for i, g in enumerate(groups):
            if i >= self.n_groups or self.written[i] is None:
                flags.append(False)
                continue
            c = self.get(g)
            if isinstance(c, torch.Tensor):
                flags.append(c is self.written[i] and c._version == self.tensor_versions.get(i))
            else:
                flags.append(c is self.written[i] or c == self.last_values[i])
        return flags

    def write_restored(self, groups, flags):
        """Write the restored values into the groups flagged (those that held our own values before a load)."""
        for i, g in enumerate(groups):
            if i < len(flags) and flags[i] and self.last_values[i] is not None:
                c = self.get(g)
                if isinstance(c, torch.Tensor):
                    c.fill_(self.last_values[i])
                    self.tensor_versions[i] = c._version
                    self.written[i] = c
                else:
                    self.put(g, self.last_values[i])
        self._choose_access()

    def _choose_access(self):
        """The number strategy when every group holds a number written here (and it applies), else ``AnyGroups``."""
        self.numbers_only = not self.tensor_versions and self.drives_every_group
        numbers = self.numbers_only and self.number_access is not None and None not in self.last_values
        self.access = self.number_access if numbers else self.any_access

    def __eq__(self, other):
        if not isinstance(other, Hyperparameter):
            return NotImplemented
        return (self.key == other.key and self.units == other.units and self.unit_of_group == other.unit_of_group
                and self.initial == other.initial and self.scaling == other.scaling
                and self.chainable == other.chainable
                and getattr(self.adjust, "__func__", self.adjust) == getattr(other.adjust, "__func__", other.adjust)
                and self.time == other.time and self.last_units == other.last_units
                and self.last_values == other.last_values)

    __hash__ = None

    __getstate__, __setstate__ = hyperparameter_state, restore_hyperparameter  # (``_pickling``: no code pickled)

    def __repr__(self):
        return f"Hyperparameter({key_name(self.key)!r}, t={self.time!r}, values={self.last_values!r})"
