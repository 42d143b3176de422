"""The per-step routine of lrkit's torch schedulers, written once: :meth:`Hyperparameter.advance`.

A scheduler drives one or more param-group keys (``"lr"``, ``"momentum"``, ``("betas", 0)``, ...), each a
:class:`Hyperparameter`: group ``i`` follows the core schedule ``units[unit_of_group[i]]`` (a curve for a
base value of 1), turned into the group's value by the core's :class:`lrkit._scaling.Scaling`
(``unit * scale_i + offset_i``). A step (``advance``):

1. sees what others wrote into the groups since its own last write (a hand edit, another scheduler);
2. rebases a chainable hyperparameter on it (``rebase``: the closed form rescaled through the new value,
   ``scale_through(x, anchor, unit(t - 1))``, as torch's chain computes), or overwrites it;
3. evaluates the unit schedules at ``t`` (the core's per-step path, ``Schedule.scalar``);
4. turns the unit values into group values (``Scaling``) and writes them (``write``): python numbers
   replaced, tensors filled in place; a step whose unit values did not change writes nothing.

The common step (every group holds a python number, one unit schedule, nothing pending) takes a shortcut
through steps 1 and 4 with a group access strategy chosen once: ``OneGroup`` for an optimizer with one
param group, ``GroupList`` for several (whole lists at C speed), ``TupleEntry`` for ``("betas", j)``.
They only read, check and write; the rules above are the routine's.
"""
import operator
from collections import deque
from itertools import repeat

import numpy as np
import torch

from .._combinators import add, mul
from .._scaling import ARRAY_FROM, Scaling, scale_through
from ._arguments import as_float

#: ``advance`` modes: a step; step 0 (rebase on groups not at their base value); the closed form.
CHAIN, INITIAL, CLOSED = "chain", "initial", "closed"

_FLOATS = {float}
_setitem = operator.setitem


def _drain(iterator):
    """Run an iterator for its side effects at C speed."""
    deque(iterator, maxlen=0)


def key_name(key):
    """``"lr"``, or ``"betas[0]"`` for a tuple entry (the name in a state_dict)."""
    return key if isinstance(key, str) else f"{key[0]}[{key[1]}]"


# =================================================================================================
# group access strategies of the common step (python numbers in the groups)
# =================================================================================================
class OneGroup:
    """An optimizer with one param group: no lists to build, no loops."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def read(self, groups):
        return [groups[0][self.key]]

    def untouched(self, groups, written):
        """Does the group still hold the object written last?"""
        return groups[0][self.key] is written[0]

    def overwrite(self, groups, written, scaling, u):
        """The values at unit value ``u``, written if the group still holds the object written last
        (None, nothing written, otherwise)."""
        group = groups[0]
        if group[self.key] is not written[0]:
            return None
        values = scaling.values(u)
        group[self.key] = values[0]
        return values

    def write(self, groups, values):
        groups[0][self.key] = values[0]


class GroupList:
    """Several param groups: read, compare and write whole lists at C speed; from ``ARRAY_FROM`` groups
    on, ``Scaling`` computes the values with numpy."""

    __slots__ = ("key", "get", "many")

    def __init__(self, key, n):
        self.key = key
        self.get = operator.itemgetter(key)
        self.many = n >= ARRAY_FROM

    def read(self, groups):
        return list(map(self.get, groups))

    def untouched(self, groups, written):
        return list(map(self.get, groups)) == written

    def overwrite(self, groups, written, scaling, u):
        """As ``OneGroup.overwrite``: a few groups are checked and written in one pass (given back their
        previous objects if one of them turns out changed), many are read and compared first."""
        key = self.key
        if groups[0][key] is not written[0]:  # (the first group changed: likely all, as in a chain)
            return None
        if self.many and list(map(self.get, groups)) != written:
            return None
        values = scaling.values(u)
        try:
            if self.many:
                _drain(map(_setitem, groups, repeat(key), values))
                return values
            for g, o, v in zip(groups, written, values):
                if g[key] is not o:
                    break
                g[key] = v
            else:
                return values
        except BaseException:
            self._undo(groups, written, values)
            raise
        self._undo(groups, written, values)
        return None

    def _undo(self, groups, written, values):
        """Give the groups written by an interrupted pass their previous objects back."""
        key = self.key
        for g, o, v in zip(groups, written, values):
            if g.get(key) is not v:
                break
            g[key] = o

    def write(self, groups, values):
        _drain(map(_setitem, groups, repeat(self.key), values))


class TupleEntry:
    """Entry ``j`` of a tuple in every group (``("betas", 0)``: Adam's beta1): a new tuple per write."""

    __slots__ = ("name", "index")

    def __init__(self, key):
        self.name, self.index = key

    def read(self, groups):
        name, j = self.name, self.index
        return [g[name][j] for g in groups]

    def untouched(self, groups, written):
        return self.read(groups) == written

    def overwrite(self, groups, written, scaling, u):
        if self.read(groups) != written:
            return None
        values = scaling.values(u)
        self.write(groups, values)
        return values

    def write(self, groups, values):
        name, j = self.name, self.index
        for g, v in zip(groups, values):
            old = g[name]
            g[name] = (v, *old[1:]) if j == 0 else (*old[:j], v, *old[j + 1:])


def _access(key, n):
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
        self.n_groups = n
        self.drives_every_group = all(j is not None for j in self.unit_of_group)
        self.unit = self.units[0] if self.drives_every_group and len(self.units) == 1 else None
        self._unit_at = None if self.unit is None else self.unit.scalar
        # the common step's group access; None: always the full step (several units, undriven groups, adjust)
        self.access = _access(key, n) if self.unit is not None and adjust is None else None
        self.unit_shared_with = None  # a hyperparameter with the same unit, advanced first (CyclicLR's lr)
        self.time = None                # the time of the last write
        self.last_units = None          # the unit values at that time
        self.last_values = [None] * n   # the values written then (python floats; None: never written)
        self.written = [None] * n       # what the groups held after that write (floats or tensors)
        self.tensor_versions = {}       # group index -> tensor._version after our fill_
        self.numbers_only = False       # every group held a python number after the last write

    # ---- the step ------------------------------------------------------------------------------------
    def advance(self, groups, t, mode=CHAIN, base_values=None):
        """Write the values of time ``t`` into the groups; returns whether anything was written.

        ``mode``: ``CHAIN`` (a step: changes made by others are rebased on by a chainable hyperparameter,
        overwritten otherwise), ``INITIAL`` (step 0: a chainable one rebases on each group that does not
        hold its value of ``base_values``), ``CLOSED`` (the closed form from the initial scaling).
        """
        access = self.access
        if mode is CHAIN and access is not None and self.numbers_only and not self.offsets_moved:
            shared = self.unit_shared_with
            u = shared.last_units[0] if shared is not None and shared.time == t else self._unit_at(t)
            last = self.last_units
            if last is not None and u == last[0]:
                if access.untouched(groups, self.written):
                    self.time = t
                    return False
            elif u != 0.0 or not self.rebased:  # (a rebased curve at 0.0 forgets the edit: the full step)
                values = access.overwrite(groups, self.written, self.scaling, u)
                if values is not None:
                    self.written = self.last_values = values
                    self.time, self.last_units = t, [u]
                    return True
            return self._full_step(groups, t, mode, [u], base_values)
        return self._full_step(groups, t, mode, None, base_values)

    def _full_step(self, groups, t, mode, units, base_values):
        if units is None:
            units = self.unit_values(t)
        if mode is CHAIN:
            current, edited, array = self.edits(groups)
            if self.offsets_moved:  # an edit kept as an offset is taken back as a scale now
                anchors = self.initial.offsets()
                edited = sorted(set(edited) | {i for i, (o, a) in enumerate(zip(self.scaling.offsets(), anchors))
                                               if o != a})
                array = None
            if edited:
                if self.chainable:
                    self.rebase(edited, current, self.previous_units(t), array)
            elif units == self.last_units:
                if self.numbers_only:
                    self.written = current  # equal values in new objects (a restored optimizer): adopt them
                self.time = t
                return False
        else:
            self.reset()
            self.numbers_only = False  # (``write`` then looks at every group: one may hold a tensor now)
            if mode is INITIAL and self.chainable:
                current = self.read(groups)
                edited = [i for i, (j, c, b) in enumerate(zip(self.unit_of_group, current, base_values))
                          if j is not None and as_float(c) != as_float(b)]
                if edited:
                    self.rebase(edited, current, [1.0] * len(self.units))
        if self.chainable:
            self._forget_edits_at_anchor(units)
        self.write(groups, self.values(units))
        self.time, self.last_units = t, units
        return True

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

    def values(self, units, scaling=None):
        """Each group's value for the unit values ``units`` (None: a group left alone)."""
        scaling = self.scaling if scaling is None else scaling
        if self.unit is not None:
            values = scaling.values(units[0])
        else:
            values = scaling.values_each([None if j is None else units[j] for j in self.unit_of_group])
        adjust = self.adjust
        if adjust is not None:
            values = [v if v is None else adjust(v, i) for i, v in enumerate(values)]
        return values

    def schedule(self, i):
        """The core schedule group ``i`` follows now: ``(unit * scale) + offset``."""
        j = self.unit_of_group[i]
        if j is None:
            return None
        s = mul(self.units[j], self.scaling.scale[i])
        offset = self.scaling.offsets()[i]
        return add(s, offset) if offset != 0 else s

    # ---- seeing edits and rebasing on them -------------------------------------------------------------
    def read(self, groups):
        if self.access is not None:
            return self.access.read(groups)
        key = self.key
        if type(key) is str:
            return [g[key] for g in groups]
        name, j = key
        return [g[name][j] for g in groups]

    def edits(self, groups):
        """The groups' current values, the indices of those that no longer hold the value written last
        (numbers by value, tensors by version, then by value in their dtype: a float32 LR holds our value
        rounded) and, when every group holds a python float, the current values as a numpy array."""
        current = self.read(groups)
        written = self.written
        if self.numbers_only:
            if current == written:
                return current, (), None
            if (self.n_groups >= ARRAY_FROM and set(map(type, current)) == _FLOATS
                    and set(map(type, written)) == _FLOATS):
                old = np.array(written, dtype=np.float64)
                if not np.isnan(old).any():  # (a NaN written last is unchanged only as the same object)
                    new = np.array(current, dtype=np.float64)
                    return current, np.flatnonzero(new != old).tolist(), new
        edited = []
        for i, (c, o) in enumerate(zip(current, written)):
            if self.unit_of_group[i] is None or o is None:
                continue
            if isinstance(c, torch.Tensor):
                self.numbers_only = False
                if c is not o or c._version != self.tensor_versions.get(i):
                    if c.item() != torch.tensor(self.last_values[i], dtype=c.dtype).item():
                        edited.append(i)
            elif c is not o and c != self.last_values[i]:
                edited.append(i)
        return current, edited, None

    def rebase(self, edited, current, previous, array=None):
        """Groups ``edited`` hold ``current[i]`` instead of the value of the previous step: rescale the
        closed form through each around its anchor (``scale_through(x, anchor, previous unit value)``), as
        torch's chain does. Where the previous unit value is 0 there is no scale to take: the edit is kept
        as an offset, taken back as a scale at the next step. ``array``: ``current`` as numpy floats."""
        anchors = self.initial.offset
        if len(edited) == self.n_groups and self.unit is not None and previous[0] != 0:
            previous_unit = previous[0]
            if array is not None:
                anchor_array = None if anchors is None else np.asarray(anchors, dtype=np.float64)
                scale = scale_through(array, anchor_array, previous_unit)
                self.scaling = Scaling(scale.tolist(), anchors, (scale, anchor_array))
            else:
                anchors = self.initial.offsets()
                self.scaling = Scaling([scale_through(as_float(x), a, previous_unit) for x, a in zip(current, anchors)],
                                       self.initial.offset)
            self.rebased, self.offsets_moved = True, False
            return
        scaling = self.scaling
        scale, offset, anchors = list(scaling.scale), scaling.offsets(), self.initial.offsets()
        for i in edited:
            previous_unit = previous[self.unit_of_group[i]]
            x = as_float(current[i])
            if previous_unit != 0:
                scale[i] = scale_through(x, anchors[i], previous_unit)
                offset[i] = anchors[i]
            else:
                offset[i] = offset[i] + (x - scaling.value(i, previous_unit))
        self.scaling = Scaling(scale, offset if offset != anchors else self.initial.offset)
        self.rebased, self.offsets_moved = True, offset != anchors

    def _forget_edits_at_anchor(self, units):
        """Where a rebased closed form passes exactly through its anchor (a unit value of 0.0), torch's
        chain forgets the edit: those groups take their initial scale back."""
        if not self.rebased or 0.0 not in units:
            return
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

    # ---- writing -----------------------------------------------------------------------------------------
    def write(self, groups, values):
        """Write ``values`` (None: leave the group) into the groups: python numbers replaced, tensors
        filled in place (``fill_``)."""
        if self.numbers_only and self.access is not None:
            self.access.write(groups, values)
            self.written = self.last_values = values
            return
        written = list(self.written)
        numbers_only = True
        versions = {}
        for i, (g, v) in enumerate(zip(groups, values)):
            if v is None:
                continue
            c = self._get(g)
            if isinstance(c, torch.Tensor):
                c.fill_(v)
                written[i] = c
                versions[i] = c._version
                numbers_only = False
            else:
                self._set(g, v)
                written[i] = v
        self.written = written
        self.last_values = list(values)
        self.tensor_versions = versions
        self.numbers_only = numbers_only and self.drives_every_group

    def _get(self, group):
        key = self.key
        if type(key) is str:
            return group[key]
        return group[key[0]][key[1]]

    def _set(self, group, value):
        key = self.key
        if type(key) is str:
            group[key] = value
        else:
            name, j = key
            old = group[name]
            group[name] = (*old[:j], value, *old[j + 1:])

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
                values = [v if v is None else as_float(x) for v, x in zip(values, torch_values)]
            self.last_values = list(values)
            self.time, self.last_units = t, units
        else:
            self.time = self.last_units = None
        self.written = list(self.last_values)  # compared by value at the next step
        self.tensor_versions = {i: -1 for i, g in enumerate(groups)
                                if i < self.n_groups and isinstance(self._get(g), torch.Tensor)}
        self.numbers_only = not self.tensor_versions and self.drives_every_group

    def holds_own_values(self, groups):
        """Does each group still hold the value this hyperparameter wrote last?"""
        flags = []
        for i, g in enumerate(groups):
            if i >= self.n_groups or self.written[i] is None:
                flags.append(False)
                continue
            c = self._get(g)
            if isinstance(c, torch.Tensor):
                flags.append(c is self.written[i] and c._version == self.tensor_versions.get(i))
            else:
                flags.append(c is self.written[i] or c == self.last_values[i])
        return flags

    def write_restored(self, groups, flags):
        """Write the restored values into the groups flagged (those that held our own values before a load)."""
        for i, g in enumerate(groups):
            if i < len(flags) and flags[i] and self.last_values[i] is not None:
                c = self._get(g)
                if isinstance(c, torch.Tensor):
                    c.fill_(self.last_values[i])
                    self.tensor_versions[i] = c._version
                    self.written[i] = c
                else:
                    self._set(g, self.last_values[i])
        self.numbers_only = not self.tensor_versions and self.drives_every_group

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

    def __repr__(self):
        return f"Hyperparameter({key_name(self.key)!r}, t={self.time!r}, values={self.last_values!r})"
