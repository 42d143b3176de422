"""lrkit under ``torch.distributed``: every rank takes the same plateau decision.

Closed-form schedules need no communication: the LR at step k is the same on every rank. The plateau
controller is driven by a metric, and each rank usually sees its own (its shard of the validation set).
``lrkit.torch.ReduceLROnPlateau`` and ``lrkit.torch.ScheduleLR`` therefore take ``reduce``:

- ``"mean"`` (default), ``"min"`` or ``"max"``: when ``torch.distributed`` is available and initialised,
  each rank's metric is gathered (one float64 tensor of ``world_size`` values, on the CPU for gloo and
  mpi, on the current accelerator otherwise) and every rank reduces the same values, in rank order, with
  the same code, so every rank feeds the plateau the same float. ``"mean"`` is ``math.fsum(values) / n``
  (the correctly rounded sum: the result does not depend on rank order or on the backend's summation
  order), ``"min"`` / ``"max"`` the smallest / largest value.
- ``None``: no communication; each rank uses its own metric (the ranks may then disagree).

NaN rule: if any rank's metric is NaN, the reduced metric is NaN on every rank, and the plateau's
``nonfinite`` rule ("raise", "bad" or "ignore") then acts identically everywhere. Infinities follow the
reduction's arithmetic: ``min([inf, 1.0]) == 1.0``, ``mean([inf, 1.0]) == inf``, ``mean([inf, -inf])``
is NaN. Outside an initialised process group nothing is communicated and the metric is used as given.

The metrics are gathered rather than all-reduced so that every rank reduces bit-identical inputs with the
same code: no backend's summation order or NaN handling in min/max can make the ranks differ. It is a
collective: every rank must call ``report()`` / ``step(metric)`` at the same point (a rank that does not
leaves the others waiting until the process group's timeout); with ``reduce=None`` nothing is exchanged.

Checkpoints. lrkit's schedulers already follow ``torch.distributed.checkpoint``'s ``Stateful`` protocol
(``state_dict()`` / ``load_state_dict()``, plain values only), so they go into ``dcp.save`` /
``dcp.load`` as they are, beside the model and optimizer; with ``reduce`` set, their state is the same
on every rank, so a checkpoint resumes on any world size.

>>> combine_metrics([1.0, 2.0, 4.0], "mean"), combine_metrics([1.0, 2.0], "min")
(2.3333333333333335, 1.0)
>>> combine_metrics([1.0, float("nan")], "max")
nan
"""

import torch

from .._plateau import check_reduce, combine_metrics
from ._arguments import as_float

_CPU_BACKENDS = ("gloo", "mpi")


def _all_gather_single(output, tensor):
    """torch >= 2.13 names it all_gather_single; older versions all_gather_into_tensor."""
    gather = getattr(torch.distributed, "all_gather_single", None) or torch.distributed.all_gather_into_tensor
    gather(output, tensor)


def _process_group_check():
    """``in_process_group``: ``torch.distributed.is_initialized`` (~0.25 us a call), or where torch keeps the
    default group the same test read directly (~0.05 us: the plateau's single-process step stays faster
    than torch's)."""
    if not torch.distributed.is_available():
        def in_process_group():
            """False: this torch has no ``torch.distributed``."""
            return False
        return in_process_group
    world = getattr(torch.distributed.distributed_c10d, "_world", None)
    if world is None or not hasattr(world, "_default_pg"):
        return torch.distributed.is_initialized

    def in_process_group():
        """True when ``torch.distributed`` is available and its default process group is initialised."""
        return world._default_pg is not None
    return in_process_group


in_process_group = _process_group_check()


def collective_device():
    """The device of the small tensor that carries the metric: the CPU for gloo / mpi (and a mixed
    "cpu:gloo,cuda:nccl" group), else the current accelerator (NCCL: the current CUDA device)."""
    backend = str(torch.distributed.get_backend()).lower()
    if backend in _CPU_BACKENDS or "cpu:" in backend:
        return torch.device("cpu")
    if not hasattr(torch, "accelerator"):  # torch < 2.6
        return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
    accelerator = torch.accelerator.current_accelerator()
    if accelerator is None:
        return torch.device("cpu")
    return torch.device(accelerator.type, torch.accelerator.current_device_index())


def reduce_metric(metric, reduce="mean"):
    """The metric this rank feeds its plateau controller: the same float on every rank.

    In an initialised process group with ``reduce`` set, every rank's metric is gathered and combined
    by :func:`combine_metrics` (a collective call: every rank must call it at the same point).
    Otherwise ``metric`` is returned unchanged.
    """
    if check_reduce(reduce) is None or not in_process_group():  # the single-process path: ~0.3 us
        return metric
    dist = torch.distributed
    local = torch.tensor([as_float(metric, "metric")], dtype=torch.float64, device=collective_device())
    gathered = torch.empty(dist.get_world_size(), dtype=torch.float64, device=local.device)
    _all_gather_single(gathered, local)
    return combine_metrics(gathered.tolist(), reduce)
