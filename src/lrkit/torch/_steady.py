"""The steady step of one param group holding a tensor LR (the ``torch.compile`` recipe), with fewer
interpreter operations than :meth:`Hyperparameter.advance <lrkit.torch._step.Hyperparameter.advance>`.

At one group the ``fill_`` of the new value costs about as much as the Python around it, and ``advance``
goes through its strategy object (``TensorGroups``: ``overwrite``, ``untouched``, ``_fill``, the scaling's
``values`` and ``safe_range``): seven calls. :func:`one_tensor_step` is the same step in one function: the
check that the group still holds the tensor filled last (its identity and ``_version``), the unit value,
the value (``unit * scale + offset``, the core's ``scaled``), its check (finite and non-negative, else
lrkit's error, nothing written), one ``fill_`` and the state ``advance`` records.
Anything else (another object in the group, an edit, an edit kept as an offset, a rebased closed form at
its anchor) is left to ``advance``, which then does the whole step: the values written and the state are
the same either way (``tests/test_torch_steady.py`` runs both).

What the step reads of the hyperparameter is kept in a :class:`Steady` record, made after a write of
``advance`` (a copy or a pickle of the scheduler goes without it: the copy makes its own). The
step updates the hyperparameter's state in place (its one-element lists ``last_units`` and ``last_values``,
its tensor versions) instead of making new lists; ``advance``, a load and every other writer assign new
lists, which tells the record it is out of date (it is made again at the next steady step).
"""
import torch

from .._scaling import scaled
from ._fused import dropped
from ._step import Refused

_INF = float("inf")


class Steady:
    """What :func:`one_tensor_step` reads of hyperparameter ``h``, made when ``h`` is in the steady state (one
    group holding the tensor it filled last, no edit kept as an offset): the tensor, its ``h`` lists (the
    record is current while ``h`` holds these same lists), the scale and offset of the group, whether the
    closed form is rebased, and ``get_last_lr()``'s lazy form ``(values, tensors)``."""

    __slots__ = ("tensor", "fill", "unit_at", "values", "units", "written", "versions", "version_map", "scale", "offset",
                 "rebased", "last_lr")

    def __reduce_ex__(self, protocol):  # (a copy or a pickle of the scheduler goes without it: made again)
        return dropped, ()

    def __init__(self, h):
        self.tensor = c = h.written[0]
        self.fill, self.unit_at = c.fill_, h._unit_at  # (this tensor's: the record is not copied with it)
        self.units = h.last_units = list(h.last_units)  # (our own list: changed in place by the step)
        self.values = h.last_values
        self.written = h.written
        self.versions, self.version_map = h.version_list, h.tensor_versions
        s = h.scaling
        self.scale, self.offset = s.scale[0], None if s.offset is None else s.offset[0]
        self.rebased = h.rebased
        self.last_lr = (self.values, self.written)

    @staticmethod
    def of(h):
        """``h``'s record, made now if ``h`` is in the steady state; None if it is not."""
        if (h.access is not h.tensor_access or h.offsets_moved or h.last_units is None
                or h.version_list is None or type(h.written[0]) is not torch.Tensor):
            return None
        record = h.steady = Steady(h)
        return record


def one_tensor_step(h, groups, t):
    """``h.advance(groups, t)`` (mode ``CHAIN``) for a hyperparameter ``h`` with ``h.n_groups == 1 and
    h.tensor_access is not None`` (the caller looks), when the step is the usual one: True (written), False
    (the unit value did not change and the group is untouched: nothing written); None: not the usual step,
    nothing done (call ``advance``). ``get_last_lr()``'s lazy form is then ``h.steady.last_lr``."""
    st = h.steady
    if st is None or st.values is not h.last_values or st.written is not h.written:  # (``advance`` wrote)
        st = Steady.of(h)
        if st is None:
            return None
    if len(groups) != 1:
        return None
    c = groups[0][h.key]
    if c is not st.tensor:  # (another object: ``advance`` looks)
        return None
    version = c._version
    if version != st.versions[0]:  # (an edit: ``advance`` looks)
        return None
    try:
        u = st.unit_at(t)
    except OverflowError:  # (where Python floats overflow: the schedule's own value, as ``advance``)
        u = h.unit(t)
    units = st.units
    if u == units[0]:  # (``units == last_units``: nothing to write)
        h.time = t
        return False
    if u == 0.0 and st.rebased:  # (at its anchor a rebased closed form forgets the edit: ``advance``)
        return None
    v = scaled(u, st.scale, st.offset)
    if not 0.0 <= v < _INF:
        raise h.refusal(Refused(0, v), t) from None
    st.fill(v)  # (``c.fill_``, an in-place op: the tensor's version counter + 1)
    units[0] = u
    st.values[0] = v
    st.versions[0] = st.version_map[0] = version + 1  # (both made for this tensor by the write before)
    h.time = t
    return True
