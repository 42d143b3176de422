"""One fused write of many tensor LRs: ``torch._foreach_copy_`` from the views of one source buffer.

Writing ``n`` 0-dim tensors one ``fill_`` at a time costs one Python call and one dispatch each; from about
8 tensors on, filling a float64 buffer of ``n`` values and copying its ``n`` views into the tensors in one
``torch._foreach_copy_`` is cheaper (``bench/bench_torch.py`` prints both floors). The values are the same
bits: ``copy_`` from a float64 value rounds it to the tensor's dtype as ``fill_`` rounds the python float
(``tests/test_torch_fused_write.py``). Each tensor's version counter goes up by one, as with ``fill_``.

Only for tensors that ``fill_`` would write the same way: plain ``torch.Tensor`` objects (no subclass), 0-dim,
float32 or float64, on the CPU, not requiring grad. The buffer and its views are made once per list of
tensors and kept in a :class:`FusedSource`, checked against the tensors it was made for before each write. A
copy or a pickle of the scheduler does not take it along (views need not survive a pickle as views): the copy
makes its own at its first write.
"""
import operator

import torch

#: From this many tensors on, one fused write instead of one ``fill_`` each.
FUSED_FROM = 8

_WRITABLE = (torch.float32, torch.float64)
_is = operator.is_
_version = operator.attrgetter("_version")


def dropped():
    """What a copied or unpickled cache becomes: nothing (made again when needed)."""
    return None


def _writable(t):
    return (type(t) is torch.Tensor and t.dtype in _WRITABLE and t.device.type == "cpu" and t.dim() == 0
            and not t.requires_grad and not t.is_inference())


class FusedSource:
    """The float64 buffer whose views are copied into ``tensors`` (the list it was made for)."""

    __slots__ = ("tensors", "buffer", "array", "views", "one_up")

    def __init__(self, tensors):
        self.tensors = tensors  # (the holder's list, which it replaces rather than changes once written)
        self.buffer = torch.empty(len(tensors), dtype=torch.float64)
        self.array = self.buffer.numpy()  # (the buffer's memory, written by numpy)
        self.views = list(self.buffer.unbind())
        self.one_up = False  # (seen: a write puts each tensor's version one up)

    def __reduce_ex__(self, protocol):  # (a copy or a pickle of its holder goes without it)
        return dropped, ()

    @staticmethod
    def of(tensors, kept):
        """``kept`` if it was made for these same tensors; a new source if they can all be written fused; else
        None (write them one ``fill_`` each)."""
        if kept is not None and (kept.tensors is tensors or (
                len(kept.tensors) == len(tensors) and all(map(_is, kept.tensors, tensors)))):
            return kept
        if len(tensors) >= FUSED_FROM and all(map(_writable, tensors)):
            return FusedSource(tensors)
        return None

    def write(self, values, before=None):
        """Write ``values`` (floats or a float64 array, one per tensor, checked) into the tensors; their versions after
        it (``before``: their versions before, as read by the caller: each one up, once that was seen)."""
        self.array[:] = values
        tensors = self.tensors
        torch._foreach_copy_(tensors, self.views)
        if before is not None and self.one_up:
            return [v + 1 for v in before]
        versions = list(map(_version, tensors))
        if before is not None:
            self.one_up = versions == [v + 1 for v in before]
        return versions
