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
>>> scale_through(0.3, 0.5, 0.1)
0.39999999999999997
"""
import math

import numpy as np

_LARGEST = 1.7976931348623157e308

#: From this many targets on, the values are computed with numpy (faster, and the same bits).
ARRAY_FROM = 48


def scale_through(x, u, anchor=None):
    """The scale whose curve passes through ``x`` at unit value ``u`` around ``anchor``: ``(x - anchor) / u``.

    ``x``: a float, a list of floats (``anchor``: a list, or None) or a numpy array (``anchor``: an array,
    or None); None is 0 (``x / u``: the same bits as ``(x - 0.0) / u``).
    """
    if type(x) is list:
        if anchor is None:
            return [x[0] / u] if len(x) == 1 else [v / u for v in x]
        return [(v - a) / u for v, a in zip(x, anchor)]
    return x / u if anchor is None else (x - anchor) / u


def scaled(u, scale, offset=None):
    """The values at unit value ``u``: ``u * scale + offset`` (``offset`` None: 0, not added), for a float, a
    list of floats (``offset``: a list) or a numpy array (``offset``: an array)."""
    if type(scale) is list:
        if offset is None:
            return [u * scale[0]] if len(scale) == 1 else [u * s for s in scale]
        return [u * scale[0] + offset[0]] if len(scale) == 1 else [u * s + o for s, o in zip(scale, offset)]
    return u * scale if offset is None else u * scale + offset


class Scaling:
    """Per-target ``scale`` and ``offset`` of one unit curve: lists of floats (``offset`` None when every
    offset is 0), which a caller may replace (not change in place); ``values`` notices."""

    __slots__ = ("scale", "offset", "_arrays", "_range")

    def __init__(self, scale, offset=None):
        self.scale = scale
        self.offset = offset if offset is not None and any(offset) else None
        self._arrays = None
        self._range = None

    def safe_range(self, first_use=True):
        """``(lo, hi)``: every target's value is finite and non-negative for a unit value ``lo <= u <= hi``
        (a conservative interval, kept until the scales or offsets are replaced; a unit value outside it
        may still give such values: look at them). ``first_use=False``: None at the first call for new
        scales or offsets (look at the values), the interval from the second on.

        >>> round(Scaling([0.1, 0.2], [0.05, 0.01]).safe_range()[0], 9)  # (u = -0.05: the second value is 0)
        -0.05
        """
        r = self._range
        if r is not None and r[0] is self.scale and r[1] is self.offset:
            if r[2] is not None:
                return r[2], r[3]
        elif not first_use:  # (scales replaced at every step, as in a chain, are not worth a range)
            self._range = (self.scale, self.offset, None, None)
            return None
        lo, hi = -_LARGEST, _LARGEST  # (an infinite unit value is looked at)
        half = 0.5 * _LARGEST
        for s, o in zip(self.scale, self.offsets()):
            if not (math.isfinite(s) and math.isfinite(o)) or abs(o) > half:
                lo, hi = math.inf, -math.inf
                break
            if s == 0:
                if o < 0:
                    lo, hi = math.inf, -math.inf
                    break
                continue
            bound = -o / s  # the value is 0 there (up to rounding: a margin of 1e-12)
            bound += abs(bound) * 1e-12 * (1 if s > 0 else -1)
            finite = half / abs(s)  # |u * s| <= half: the sum stays finite
            if s > 0:
                lo, hi = max(lo, bound, -finite), min(hi, finite)
            else:
                lo, hi = max(lo, -finite), min(hi, bound, finite)
        self._range = (self.scale, self.offset, lo, hi)
        return lo, hi

    def take_arrays(self, scale, offset=None, offset_list=None):
        """New scales and offsets given as numpy arrays (kept: ``values`` does not convert the lists again);
        ``offset_list``: ``offset``'s values as a list, when the caller has it."""
        self.scale = scale.tolist()
        self.offset = None if offset is None else offset.tolist() if offset_list is None else offset_list
        self._arrays = (self.scale, self.offset, scale, offset)
        self._range = None

    def values(self, u):
        """Every target's value at the unit value ``u``."""
        scale, offset = self.scale, self.offset
        if len(scale) < ARRAY_FROM:
            return scaled(u, scale, offset)
        scale, offset = self.arrays()
        return scaled(u, scale, offset).tolist()

    def arrays(self):
        """``(scale, offset)`` as float64 arrays (offset None when every offset is 0), made once for the lists."""
        scale, offset = self.scale, self.offset
        arrays = self._arrays
        if arrays is None or arrays[0] is not scale or arrays[1] is not offset:
            arrays = self._arrays = (scale, offset, np.asarray(scale, dtype=np.float64),
                                     None if offset is None else np.asarray(offset, dtype=np.float64))
        return arrays[2], arrays[3]

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
