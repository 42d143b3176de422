"""A running product for per-step use: ``multiplicative``'s values at consecutive steps in constant memory.

The core's :class:`lrkit.multiplicative` keeps every product it computed (random access to a whole curve);
an optimizer steps forward one update at a time and needs only the product at the current step and the one
before it. :class:`RunningProduct` keeps those two: ``start * fn(1) * ... * fn(k)``, multiplied in the same
order as ``multiplicative`` (so the values are bitwise equal), with its step, checkpointable as
``(step, value, previous)``.
"""
import math

from ._errors import LrkitValueError


class RunningProduct:
    """``multiplicative(fn, start)``'s value at step ``t``, for steps that move forward (one back is free).

    >>> from lrkit import multiplicative
    >>> p = RunningProduct(multiplicative(lambda k: 0.5, start=0.8))
    >>> [p(t) for t in range(4)], p(2)
    ([0.8, 0.4, 0.2, 0.1], 0.2)
    """

    __slots__ = ("fn", "start", "step", "value", "previous")

    def __init__(self, schedule):
        self.fn, self.start = schedule.fn, schedule.start
        self.step, self.value, self.previous = 0, self.start, None

    def __call__(self, t):
        k = t if type(t) is int else math.floor(t)
        step = self.step
        if k == step:
            return self.value
        if k == step - 1 and self.previous is not None:
            return self.previous
        if k < step:  # (a jump back: multiply again from the start)
            step, self.value, self.previous = 0, self.start, None
        value, previous, fn = self.value, self.previous, self.fn
        for j in range(step + 1, k + 1):
            previous, value = value, value * fn(j)
        self.step, self.value, self.previous = k, value, previous
        return value

    def state(self):
        return {"step": self.step, "value": self.value, "previous": self.previous}

    def load(self, state):
        """Take ``state()``'s dict (checked by the caller)."""
        step, value, previous = state["step"], float(state["value"]), state.get("previous")
        if step < 0 or not 0.0 <= value < math.inf:
            raise LrkitValueError(f"a running product needs step >= 0 and a finite value >= 0, got {state!r}")
        self.step, self.value = int(step), value
        self.previous = None if previous is None else float(previous)
