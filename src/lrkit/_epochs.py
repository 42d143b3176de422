"""A clock that counts epochs: a schedule written per epoch, used per optimizer update."""
import math

from . import _checks as check
from ._base import Schedule, bounds_of, register
from ._shapes import linear  # noqa: F401  (the doctest)


@register
class per_epoch(Schedule):
    """``schedule`` written per epoch, held for each epoch of ``updates`` optimizer updates:
    ``lr(t) = schedule(floor(t / updates))`` (timm's ``t_in_epochs=True``: it steps at the end of each epoch,
    so every update of epoch e uses its value at e).

    >>> [per_epoch(linear(1.0, 0.0, steps=2), updates=3)(t) for t in range(8)]
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.0, 0.0]
    """
    schedule: Schedule
    updates: float

    def __post_init__(self):
        check.schedule("schedule", self.schedule)
        self._validate("updates", check.positive)

    def _f(self, t, xp):
        return self.schedule._f(xp.floor(t / self.updates), xp)

    def _to_updates(self, epoch):
        """The first update whose epoch reaches ``epoch``: ``ceil(epoch) * updates``."""
        return float(math.ceil(epoch) * self.updates)

    def end_step(self):
        inner = self.schedule.end_step()
        return None if inner is None else self._to_updates(inner)

    def span(self):
        end = self.end_step()
        return end + 1 if end is not None else self.schedule.span() * self.updates

    def events(self, until, offset=0.0):
        inner = self.schedule.events(max(until - offset, 0.0) / self.updates + 1)
        return [self._event(offset + self._to_updates(e.step), e.kind, e.declared) for e in inner]

    def cycles(self, offset=0.0, stop=math.inf):  # the epoch clock holds each value: no exact cycle on updates
        return []

    def bounds(self):
        return bounds_of(self.schedule)
