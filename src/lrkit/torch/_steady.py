"""The steady step of one param group holding a tensor LR (the ``torch.compile`` recipe), with fewer
interpreter operations than :meth:`Hyperparameter.advance <lrkit.torch._step.Hyperparameter.advance>`.

At one group the ``fill_`` of the new value costs about as much as the Python around it, and ``advance``
goes through its strategy object (``TensorGroups``: ``overwrite``, ``untouched``, ``_fill``, the scaling's
``values`` and ``safe_range``): seven calls. :func:`one_tensor_step` is the same step in one function: the
check that the group still holds the tensor filled last (its identity and ``_version``), the unit value,
the value (``unit * scale + offset``, as ``Scaling.values`` computes it), its check (finite and
non-negative, else lrkit's error, nothing written), one ``fill_`` and the state ``advance`` records.
Anything else (another object in the group, an edit, an edit kept as an offset, a rebased closed form at
its anchor) is left to ``advance``, which then does the whole step: the values written and the state are
the same either way (``tests/test_torch_steady.py`` runs both).
"""
from ._step import Refused

_INF = float("inf")


def one_tensor_step(h, groups, t):
    """``h.advance(groups, t)`` (mode ``CHAIN``) for a hyperparameter ``h`` with ``h.n_groups == 1 and
    h.access is h.tensor_access`` (the caller looks), when the step is the usual one: True (written), False
    (the unit value did not change and the group is untouched: nothing written); None: not the usual step,
    nothing done (call ``advance``)."""
    c = groups[0][h.key]
    if c is not h.written[0]:  # (another object: ``advance`` looks)
        return None
    version = c._version
    if version != h.version_list[0] or h.offsets_moved:  # (an edit: ``advance`` looks)
        return None
    try:
        u = h._unit_at(t)
    except OverflowError:  # (where Python floats overflow: the schedule's own value, as ``advance``)
        u = h.unit(t)
    last = h.last_units
    if last is not None and u == last[0]:  # (``units == last_units``: nothing to write)
        h.time = t
        return False
    if h.rebased and u == 0.0:  # (at its anchor a rebased closed form forgets the edit: ``advance``)
        return None
    s = h.scaling
    v = s.value(0, u)
    if not 0.0 <= v < _INF:
        raise h.refusal(Refused(0, v), t) from None
    c.fill_(v)  # (an in-place op: the tensor's version counter + 1)
    h.time, h.last_units, h.last_values = t, [u], [v]
    h.version_list[0] = h.tensor_versions[0] = version + 1  # (both made for this tensor by the write before)
    return True
