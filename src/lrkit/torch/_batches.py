"""Batch-size schedules in a torch training loop: which batch (and how many micro-batches) update ``k`` uses.

The plan is the core's (``lrkit.batch_sizes`` / ``batch_ramp``, or the ``batch`` of an ``lrkit.clocked``
LR schedule), so the batch the loop draws and the tokens the LR schedule counts agree to the sample.
``RampBatchSampler`` turns the plan into the ``batch_sampler`` of a ``torch.utils.data.DataLoader``.
"""
import math

import torch

from .._base import Schedule
from .._clocks import batch_ramp, batch_sizes, clocked
from .._errors import LrkitTypeError, LrkitValueError, excerpt


def _batch_of(plan):
    """The batch-size schedule (or number) behind ``plan``: a batch schedule, a clocked LR schedule or a
    number; a spec string is read as a schedule."""
    if isinstance(plan, str):
        from .._spec import parse
        plan = parse(plan)
    if isinstance(plan, clocked):
        return plan.batch
    if isinstance(plan, (batch_sizes, batch_ramp)):
        return plan
    if isinstance(plan, (int, float)) and not isinstance(plan, bool) and plan >= 1:
        return float(plan)
    raise LrkitTypeError(f"batch must be lrkit.batch_sizes / batch_ramp, a clocked schedule or a number >= 1, "
                         f"got {excerpt(plan)}")


class BatchPlan:
    """Update ``k``'s batch: ``batch_size(k)`` samples, as ``accumulation(k)`` micro-batches of
    ``micro_batch`` samples (the last one smaller when it does not divide); ``samples(k)``: what the
    updates before ``k`` consumed (the clock of a schedule written in samples or tokens).

    >>> import lrkit
    >>> plan = BatchPlan(lrkit.batch_sizes([32, 64], boundaries=[2]), micro_batch=16)
    >>> [(plan.batch_size(k), plan.accumulation(k)) for k in range(4)]
    [(32, 2), (32, 2), (64, 4), (64, 4)]
    """

    def __init__(self, batch, micro_batch=None):
        self.batch = _batch_of(batch)
        if micro_batch is not None and (isinstance(micro_batch, bool) or not isinstance(micro_batch, int)
                                        or micro_batch < 1):
            raise LrkitValueError(f"micro_batch must be an int >= 1, got {excerpt(micro_batch)}")
        self.micro_batch = micro_batch

    def batch_size(self, k):
        size = self.batch(k) if isinstance(self.batch, Schedule) else self.batch
        return int(size)

    def accumulation(self, k):
        return 1 if self.micro_batch is None else math.ceil(self.batch_size(k) / self.micro_batch)

    def micro_batches(self, k):
        """The sizes of update ``k``'s micro-batches."""
        size = self.batch_size(k)
        if self.micro_batch is None:
            return [size]
        full, rest = divmod(size, self.micro_batch)
        return [self.micro_batch] * full + ([rest] if rest else [])

    def samples(self, k):
        return self.batch.samples(k) if isinstance(self.batch, Schedule) else float(self.batch * k)


class RampBatchSampler(torch.utils.data.Sampler):
    """A ``batch_sampler`` for ``torch.utils.data.DataLoader`` that follows a batch-size plan: it yields
    update ``k``'s indices (or, with ``micro_batch``, its micro-batches one by one) from ``sampler`` (e.g.
    ``RandomSampler(dataset)``), counting updates across epochs from ``start_update`` (a resumed run
    passes its update count). An epoch ends where ``sampler`` does; an update it cannot fill is dropped
    (not trained on, so not counted). ``update`` is the next update's number.
    """

    def __init__(self, sampler, batch, micro_batch=None, start_update=0):
        self.sampler = sampler
        self.plan = BatchPlan(batch, micro_batch)
        if isinstance(start_update, bool) or not isinstance(start_update, int) or start_update < 0:
            raise LrkitValueError(f"start_update must be an int >= 0, got {excerpt(start_update)}")
        self.update = start_update

    def __iter__(self):
        it = iter(self.sampler)
        while True:
            size = self.plan.batch_size(self.update)
            indices = []
            for index in it:
                indices.append(index)
                if len(indices) == size:
                    break
            if len(indices) < size:
                return
            start = 0
            for part in self.plan.micro_batches(self.update):
                yield indices[start:start + part]
                start += part
            self.update += 1

    def __len__(self):
        """Micro-batches in one epoch from the current update (the sampler's length in samples)."""
        remaining, k, count = len(self.sampler), self.update, 0
        while remaining >= self.plan.batch_size(k):
            remaining -= self.plan.batch_size(k)
            count += len(self.plan.micro_batches(k))
            k += 1
        return count
