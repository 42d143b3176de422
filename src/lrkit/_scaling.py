"""One unit schedule driving several values: ``value_i = u * scale_i + offset_i``, and its inverse.

An adapter that drives several targets from one curve (torch's param groups: each group's LR is a unit
curve times the group's base LR, around an anchor such as ``eta_min``) evaluates the unit schedule once
per step and turns the unit value ``u`` into every target's value here. It is the value of the core's
``add(mul(unit, scale_i), offset_i)`` at ``u``: the same IEEE operations in the same order (``u * scale_i``,
then ``+ offset_i``; offsets that are all 0 are not added), for any number of targets (numpy from ``ARRAY_FROM``
targets on, elementwise: bit for bit the same). ``scale_through`` is the inverse: the scale that puts a
value ``x`` on the curve at unit value ``u`` around the anchor ``a``, ``(x - a) / u`` (how torch's chainable
schedulers follow a hand edit of the LR).

>>> s = Scaling([0.1, 0.01], [0.001, 0.0])
>>> s.values(0.5)
[0.051000000000000004, 0.005]
>>> scale_through(0.3, 0.1, 0.5)
0.39999999999999997
"""
import numpy as np

#: From this many targets on, the values are computed with numpy (faster, and the same bits).
ARRAY_FROM = 48


def scale_through(x, anchor, u):
    """The scale whose curve passes through ``x`` at unit value ``u`` around ``anchor``: ``(x - anchor) / u``.

    Floats or numpy arrays; ``anchor=None`` is 0 (``x / u``: the same bits as ``(x - 0.0) / u``).
    """
    return x / u if anchor is None else (x - anchor) / u


class Scaling:
    """Per-target ``scale`` and ``offset`` of one unit curve (lists of floats, not changed once made).

    ``offset`` is None when every offset is 0. ``arrays``: the same two lists as numpy arrays, when the
    caller has them already (else made on first use, for ``ARRAY_FROM`` targets or more).
    """

    __slots__ = ("scale", "offset", "_arrays")

    def __init__(self, scale, offset=None, arrays=None):
        self.scale = scale
        self.offset = offset if offset is not None and any(offset) else None
        self._arrays = arrays

    def values(self, u):
        """Every target's value at the unit value ``u``."""
        scale, offset = self.scale, self.offset
        n = len(scale)
        if n == 1:
            return [u * scale[0]] if offset is None else [u * scale[0] + offset[0]]
        if n < ARRAY_FROM:
            if offset is None:
                return [u * s for s in scale]
            return [u * s + o for s, o in zip(scale, offset)]
        arrays = self._arrays
        if arrays is None:
            arrays = self._arrays = (np.asarray(scale, dtype=np.float64),
                                     None if offset is None else np.asarray(offset, dtype=np.float64))
        scale, offset = arrays
        return (scale * u).tolist() if offset is None else (scale * u + offset).tolist()

    def values_each(self, units):
        """Every target's value at its own unit value (``units[i]``; None: no value, None)."""
        offset = self.offset
        if offset is None:
            return [None if u is None else u * s for u, s in zip(units, self.scale)]
        return [None if u is None else u * s + o for u, s, o in zip(units, self.scale, offset)]

    def value(self, i, u):
        """Target ``i``'s value at the unit value ``u``."""
        return u * self.scale[i] if self.offset is None else u * self.scale[i] + self.offset[i]

    def offsets(self):
        """The offsets as a list (zeros included)."""
        return [0.0] * len(self.scale) if self.offset is None else list(self.offset)

    def __eq__(self, other):
        if not isinstance(other, Scaling):
            return NotImplemented
        return self.scale == other.scale and self.offsets() == other.offsets()

    __hash__ = None

    def __repr__(self):
        return f"Scaling(scale={self.scale!r}, offset={self.offsets()!r})"
