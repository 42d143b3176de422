"""lrkit for PyTorch: drop-in replacements for ``torch.optim.lr_scheduler`` and a native adapter.

Drop-ins. ``from lrkit.torch import StepLR`` instead of ``from torch.optim.lr_scheduler import StepLR``:
the same names, signatures, defaults, LR sequences, ``get_last_lr()``, ``last_epoch``, ``initial_lr`` /
``base_lrs``, errors and warnings; each class is a subclass of the torch class it replaces (and so of
``torch.optim.lr_scheduler.LRScheduler``), so Lightning, the HF Trainer and Accelerate accept it. The
learning rate is computed from an lrkit core schedule in closed form, never by multiplying the previous
LR: group ``i`` takes ``unit(k) * scale_i + offset_i``, the core's ``(unit * scale_i) + offset_i``, where
``unit`` is the class's curve for a base LR of 1 (``scheduler.schedules`` shows each group's schedule).
Resuming is the step counter; a million steps do not drift.

Where torch's visible behaviour comes from its chainable form (a hand edit of ``param_group['lr']``
between steps, two schedulers stepping one optimizer, ``ChainedScheduler``), the chainable drop-ins
(MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR,
CosineAnnealingLR) *rebase*: before a step each group's LR is compared with the value the scheduler
last wrote; when something else changed it to ``x``, the closed form is rescaled through that point
around its anchor ``a`` (0, or ``eta_min`` for CosineAnnealingLR): ``scale_i = (x - a) / unit(k - 1)``, so
the next value is ``a + (x - a) * unit(k) / unit(k - 1)``, which is what torch's chain computes. Where
``unit(k - 1)`` is 0 there is no scale to take: the edit is kept as an offset for that step and taken
back as a scale at the next one (PolynomialLR after ``total_iters`` keeps an edited LR; the step after
CosineAnnealingLR's trough adds to it; both as torch). Where the closed form passes exactly through 0
the scale returns to its construction value (torch's chain forgets an edit there too). A state_dict
holds each group's scale and offset, so a resumed run rebases exactly as the uninterrupted one. The
other drop-ins (LambdaLR, CyclicLR, OneCycleLR, CosineAnnealingWarmRestarts) overwrite the LR every
step, as torch's do.

Native adapter. ``ScheduleLR(optimizer, schedule, ...)`` drives any hyperparameter of any param group
from lrkit schedules or spec strings, in absolute values or (``relative=True``) as multipliers of each
group's initial value; epochs, gradient accumulation, tensor LRs for ``torch.compile`` and the plateau
controller as a stage are options. See its docstring.

Step order. No scheduler wraps ``optimizer.step``: one ``register_step_post_hook`` per optimizer records
that it stepped (a plain attribute store, which ``torch.compile`` traces without guards). The first
``scheduler.step()`` warns, with torch's message, when the optimizer has not stepped yet, unless a
gradient of the optimizer is not finite: that is ``torch.amp.GradScaler`` skipping the step, not a
wrong order.
"""
import bisect
import copy
import math
import numbers
import operator
import warnings
import weakref
from collections import Counter, deque
from itertools import repeat as _repeat

import numpy as np
import torch
from torch.optim import Optimizer
from torch.optim import lr_scheduler as _tls

from .. import _checks as check
from .._combinators import add, mul, repeat, sequence
from .._errors import LrkitTypeError, LrkitValueError
from .._plateau import PlateauState, plateau
from .._recipes import multistep, one_cycle, step_decay
from .._shapes import (constant, cosine, cosine_restarts, cyclic, exponential, function, linear, multiplicative,
                      polynomial)
from .._shapes import piecewise_constant
from .._spec import as_schedule
from ._distributed import _initialized as _in_process_group
from ._distributed import check_reduce, reduce_metric

__all__ = [
    "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
    "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CyclicLR", "OneCycleLR",
    "CosineAnnealingWarmRestarts", "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler", "ScheduleLR",
    # distributed jobs, checkpoints, trainers
    "reduce_metric", "save_checkpoint", "load_checkpoint", "CheckpointError", "prepare_for_accelerate",
    "lightning_plateau_callback", "hf_plateau_callback", "HFScheduleMixin",
    # the LR range test
    "find_lr", "RestoreError",
    # the shoot-out's built-in task
    "MnistTask", "mnist_shootout",
]

EPOCH_DEPRECATION_WARNING = _tls.EPOCH_DEPRECATION_WARNING

_ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
    "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
    "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
    "will result in PyTorch skipping the first value of the learning rate schedule. "
    "See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate")

_GET_LR_WARNING = "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."

_FLOAT = {float}
_setitem = operator.setitem


def _drain(iterator):
    """Run an iterator for its side effects at C speed."""
    deque(iterator, maxlen=0)
_NUMBERS = {float, int}

#: The ``lrkit`` entry of every state_dict: its layout version.
STATE_FORMAT = 1


# =================================================================================================
# small helpers: validation with torch's argument names, plain values
# =================================================================================================
def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _integer(name, value, low):
    """An int >= ``low`` (an integral float such as 3.0 is accepted); lrkit's error otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LrkitTypeError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif math.isfinite(value) and float(value).is_integer():
        value = int(value)
    else:
        raise LrkitValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise LrkitValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def _number(name, value):
    """A finite real number as a float (0-dim tensors accepted)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise LrkitValueError(f"{name} must be a number or a 1-element tensor, got shape {tuple(value.shape)}")
        value = value.item()
    return float(check.real(name, value))


def _non_negative(name, value):
    return float(check.non_negative(name, _number(name, value)))


def _positive(name, value):
    return float(check.positive(name, _number(name, value)))


def _last_epoch(value):
    return _integer("last_epoch", value, -1)


def _per_group(name, optimizer, value, convert=_non_negative):
    """torch's ``_format_param``: one value per param group (tensors read as floats)."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {n}.")
        return [convert(f"{name}[{i}]", v) for i, v in enumerate(value)]
    value = convert(name, value)
    return [value] * n


def _plain(value):
    """A float for a 0-dim tensor, the value itself otherwise (state_dicts hold plain numbers)."""
    if isinstance(value, torch.Tensor):
        return value.item()
    return value


def _as_float(value):
    return value.item() if isinstance(value, torch.Tensor) else float(value)


def _callable_state(fn):
    """torch's rule: a callable object's ``__dict__`` is saved, a function or lambda is not."""
    import types
    if isinstance(fn, types.FunctionType) or fn is None:
        return None
    return copy.deepcopy(fn.__dict__)


def _unique(schedules):
    """Distinct schedules (by identity) and each input's index among them."""
    units, index, where = [], {}, []
    for s in schedules:
        key = id(s)
        if key not in index:
            index[key] = len(units)
            units.append(s)
        where.append(index[key])
    return units, where


# =================================================================================================
# the step-order check without wrapping optimizer.step
# =================================================================================================
class _Stepped:
    """``value`` becomes True after the optimizer's first step (set by a step post-hook)."""

    def __init__(self):
        self.value = False


_STEPPED = weakref.WeakKeyDictionary()


def _hook_target(optimizer):
    """The optimizer whose step runs the hooks: a wrapper that never ran ``Optimizer.__init__``
    (accelerate's AcceleratedOptimizer) delegates to ``.optimizer``."""
    while (not hasattr(optimizer, "_optimizer_step_post_hooks")
           and isinstance(getattr(optimizer, "optimizer", None), Optimizer)):
        optimizer = optimizer.optimizer
    return optimizer


def _stepped(optimizer):
    """The optimizer's _Stepped flag, registering the (one) post-hook on first use."""
    flag = _STEPPED.get(optimizer)
    if flag is None:
        flag = _Stepped()

        def _lrkit_stepped(opt, args, kwargs, _flag=flag):
            _flag.value = True

        _hook_target(optimizer).register_step_post_hook(_lrkit_stepped)
        _STEPPED[optimizer] = flag
    return flag


def _amp_skipped(optimizer):
    """True when a gradient of ``optimizer`` is not finite: GradScaler skipped ``optimizer.step()``."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            g = getattr(p, "grad", None)
            if g is not None and not bool(torch.isfinite(g).all()):
                return True
    return False


def _check_order(optimizer, stacklevel=4):
    flag = _STEPPED.get(optimizer)
    if flag is not None and not flag.value and not _amp_skipped(optimizer):
        warnings.warn(_ORDER_WARNING, UserWarning, stacklevel=stacklevel)


# =================================================================================================
# a track: one hyperparameter of every param group, driven by lrkit schedules
# =================================================================================================
class _Track:
    """Group ``i`` of hyperparameter ``key`` takes ``units[uidx[i]](t) * scale[i] + offset[i]``
    (the core's ``mul`` then ``add``; ``uidx[i] is None`` leaves the group alone).

    ``key`` is a param-group key (``"lr"``, ``"momentum"``, ``"weight_decay"``, ...) or ``("betas", j)``.
    ``chainable``: rebase on external changes (see the module docstring). ``post`` (native adapter
    only) maps ``(value, group index)`` to the value written (the plateau stage).

    The per-step work is one evaluation of each distinct unit schedule (the core's scalar path), one
    read of the groups (to see external changes), ``unit * scale + offset`` per group (numpy for many
    groups: the same IEEE operations, bit for bit) and one write per group; a step whose unit value
    did not change writes nothing.
    """

    _NUMPY_FROM = 48  # groups from which the values are computed with numpy

    def __init__(self, key, units, uidx, scale, offset=None, chainable=False, post=None):
        n = len(uidx)
        self.key = key
        self.units = list(units)
        self.uidx = list(uidx)
        self.scale0 = [float(x) for x in scale]
        self.offset0 = [0.0] * n if offset is None else [float(o) for o in offset]
        self._zero_offset0 = not any(self.offset0)  # (x - 0.0) / up is x / up, bit for bit
        self.chainable = chainable
        self.post = post
        self.n = n
        self.full = all(j is not None for j in self.uidx)
        self.single = self.full and len(self.units) == 1
        self.unit = self.units[0] if self.single else None
        # the core's per-step path for a python int/float t >= 0 (what ``unit(t)`` calls after its checks;
        # the fast steps only pass such t), looked up at each call since the core replaces it once compiled
        self._direct = self.unit is not None and getattr(self.unit, "_scalar", None) is not None
        self._getter = operator.itemgetter(key) if type(key) is str else None
        self.source = None  # a track with the same unit, evaluated first in a step (CyclicLR's lr)
        self.reset()
        self.t = None            # the time of the last write
        self.us = None           # the unit values at self.t
        self.vals = [None] * n   # the last values (python floats; None: never written)
        self.objs = [None] * n   # what the groups held after the last write (floats or tensors)
        self.versions = {}       # group index -> tensor._version after our fill_
        self.plain = False       # every group held a python number at the last write (fast path)
        self._pending = None     # (t, unit value at t) computed by a fast step that handed over

    # ---- scale and offset ---------------------------------------------------------------------
    def reset(self):
        self.scale = self.scale0
        self.offset = self.offset0
        self._arrays = None
        self._zero_offset = not any(self.offset)

    def _set(self, scale=None, offset=None):
        if scale is not None:
            self.scale = scale
        if offset is not None:
            self.offset = offset
        self._arrays = None
        self._zero_offset = not any(self.offset)

    @property
    def scale_dirty(self):
        return self.scale is not self.scale0

    @property
    def offset_dirty(self):
        return self.offset is not self.offset0

    # ---- reading and writing a group's value -------------------------------------------------
    def get(self, group):
        key = self.key
        if type(key) is str:
            return group[key]
        return group[key[0]][key[1]]

    def set(self, group, value):
        key = self.key
        if type(key) is str:
            group[key] = value
        else:
            name, j = key
            old = group[name]
            group[name] = (*old[:j], value, *old[j + 1:])

    def read(self, groups):
        key = self.key
        if type(key) is str:
            return [g[key] for g in groups]
        name, j = key
        return [g[name][j] for g in groups]

    def unit_values(self, t):
        pending = self._pending
        if pending is not None:  # a fast step that handed the step over already evaluated the unit
            self._pending = None
            if type(pending[0]) is type(t) and pending[0] == t:
                return [pending[1]]
        return [u(t) for u in self.units]

    def schedule(self, i):
        """The core schedule group ``i`` follows now: ``(unit * scale) + offset``."""
        j = self.uidx[i]
        if j is None:
            return None
        s = mul(self.units[j], self.scale[i])
        return add(s, self.offset[i]) if self.offset[i] != 0 else s

    def compute(self, us):
        """The group values for unit values ``us``."""
        if self.single and self.post is None:
            u = us[0]
            if self.n >= self._NUMPY_FROM:
                arrays = self._arrays
                if arrays is None:
                    scale = np.asarray(self.scale, dtype=np.float64)
                    offset = None if not any(self.offset) else np.asarray(self.offset, dtype=np.float64)
                    arrays = self._arrays = (scale, offset)
                scale, offset = arrays
                return (scale * u).tolist() if offset is None else (scale * u + offset).tolist()
            if self._zero_offset:
                return [u * s for s in self.scale]
            return [u * s + o for s, o in zip(self.scale, self.offset)]
        vals = []
        post = self.post
        for i, (j, s, o) in enumerate(zip(self.uidx, self.scale, self.offset)):
            if j is None:
                vals.append(None)
                continue
            v = us[j] * s + o
            vals.append(v if post is None else post(v, i))
        return vals

    # ---- the per-step work ----------------------------------------------------------------------
    def fast_step(self, groups, t):
        """The common step: one unit, python-number values (a chainable track may find them changed by
        another scheduler or a hand edit: it rebases on all of them at once). Returns None when it cannot
        handle the step (the general path then does), else whether the values changed.

        With a string key and nothing changed by anyone else (the usual step) it is one pass over the
        groups that checks each holds the object written last and writes the new value; on the first
        group that does not, the groups already written get their previous objects back and the step is
        done by ``_fast_lists`` (the same logic on whole lists, with the unit value already computed)."""
        if not self.plain or self.unit is None or self.post is not None or self.offset is not self.offset0:
            return None
        key = self.key
        n = self.n
        if type(key) is not str or len(groups) != n:
            return self._fast_lists(groups, t)
        if n == 1:
            return self._fast_one(groups[0], t)
        us = self.us
        if us is None:
            return self._fast_lists(groups, t)
        source = self.source
        if source is not None and source.t == t:
            u = source.us[0]
        else:
            u = self._eval(t)
        objs = self.objs
        if u == us[0]:  # nothing to write, unless a group was changed by someone else
            if list(map(self._getter, groups)) == objs:
                self.t = t
                return False
            return self._fast_lists(groups, t, u)
        if (u == 0.0 and self.chainable and self.scale is not self.scale0) or groups[0][key] is not objs[0]:
            return self._fast_lists(groups, t, u)  # (the first group changed: likely all, as in a chain)
        if n >= self._NUMPY_FROM:  # whole lists at C speed: read, compare, compute with numpy, write
            if list(map(self._getter, groups)) != objs:
                return self._fast_lists(groups, t, u)
            vals = self.compute([u])
            try:
                _drain(map(_setitem, groups, _repeat(key), vals))
            except BaseException:
                self._undo(groups, objs, vals)
                raise
            self.objs = self.vals = vals
            self.t, self.us = t, [u]
            return True
        if self._zero_offset:
            vals = [u * s for s in self.scale]
        else:
            vals = self.compute([u])
        try:
            for g, o, v in zip(groups, objs, vals):
                if g[key] is not o:
                    break
                g[key] = v
            else:
                self.objs = self.vals = vals
                self.t, self.us = t, [u]
                return True
        except BaseException:
            self._undo(groups, objs, vals)
            raise
        self._undo(groups, objs, vals)
        return self._fast_lists(groups, t, u)

    def _rebase_many(self, cur, up):
        """The rebase of ``_fast_lists`` with numpy, for many groups that all hold python floats (as do
        the values last written): the same comparisons and ``(x - offset0) / up``, bit for bit. Returns
        whether the scale moved, or None where it does not apply (the python code then runs)."""
        if set(map(type, cur)) != _FLOAT or set(map(type, self.objs)) != _FLOAT:
            return None
        old = np.array(self.objs, dtype=np.float64)
        if np.isnan(old).any():  # (a NaN written last is unchanged only when it is the same object)
            return None
        new = np.array(cur, dtype=np.float64)
        diff = new != old
        count = int(np.count_nonzero(diff))
        if count == 0:
            self.objs = cur  # equal values in new objects (a restored optimizer): adopt them
            return False
        offset0 = self.offset0
        if count == self.n:
            arr = (new / up) if self._zero_offset0 else (new - np.asarray(offset0, dtype=np.float64)) / up
            self._set(arr.tolist())
            self._arrays = (arr, None if self._zero_offset else np.asarray(self.offset, dtype=np.float64))
        else:
            scale = list(self.scale)
            for i in np.flatnonzero(diff).tolist():
                scale[i] = (cur[i] - offset0[i]) / up
            self._set(scale)
        return True

    def _eval(self, t):
        """``unit(t)`` for a python int/float ``t >= 0`` (the fast steps' only kind of time); a value
        handed over for this ``t`` is used (the unit is evaluated once per step, as before)."""
        pending = self._pending
        if pending is not None and type(pending[0]) is type(t) and pending[0] == t:
            return pending[1]
        if self._direct:
            try:
                return self.unit._scalar(t)
            except OverflowError:
                pass
        return self.unit(t)

    def _undo(self, groups, objs, vals):
        """Give the groups written by an interrupted pass of fast_step their previous objects back."""
        key = self.key
        for g, o, v in zip(groups, objs, vals):
            if g.get(key) is not v:
                break
            g[key] = o

    def _fast_lists(self, groups, t, u=None):
        """fast_step on whole lists (``u``: the unit value at ``t`` when already computed)."""
        key = self.key
        if self.n == 1 and type(key) is str and len(groups) == 1:
            return self._fast_one(groups[0], t)
        if type(key) is str:
            cur = list(map(self._getter, groups))
        else:
            name, j = key
            cur = [g[name][j] for g in groups]
        us = self.us
        moved = False
        if cur != self.objs:
            if not self.chainable or us is None or self.t != t - 1 or not us[0] or len(cur) != self.n:
                if u is not None:
                    self._pending = (t, u)
                return None
            objs = self.objs
            done = self._rebase_many(cur, us[0]) if self.n >= self._NUMPY_FROM else None
            changed = () if done is not None else [i for i, (c, o) in enumerate(zip(cur, objs))
                                                   if c is not o and c != o]
            if done is not None:
                moved = done
            elif not changed:
                self.objs = cur  # equal values in new objects (a restored optimizer): adopt them
            else:
                if any(type(cur[i]) is not float for i in changed):
                    if u is not None:
                        self._pending = (t, u)
                    return None
                up, offset0 = us[0], self.offset0
                if len(changed) == self.n:
                    scale = [(x - o) / up for x, o in zip(cur, offset0)]
                else:
                    scale = list(self.scale)
                    for i in changed:
                        scale[i] = (cur[i] - offset0[i]) / up
                self._set(scale)
                moved = True
        if u is None:
            source = self.source
            if source is not None and source.t == t:
                u = source.us[0]
            else:
                u = self._eval(t)
        if not moved and us is not None and u == us[0]:
            self.t = t
            return False
        if u == 0.0 and self.chainable and self.scale is not self.scale0:
            self.objs = cur  # (the rebase is done: the general path finds nothing more to rebase)
            self._pending = (t, u)
            return None
        if self.n < self._NUMPY_FROM and self._zero_offset:
            vals = [u * s for s in self.scale]
        else:
            vals = self.compute([u])
        if type(key) is str:
            _drain(map(_setitem, groups, _repeat(key), vals))
        else:
            for g, v in zip(groups, vals):
                old = g[name]
                g[name] = (v, *old[1:]) if j == 0 else (*old[:j], v, *old[j + 1:])
        self.objs = self.vals = vals
        self.t, self.us = t, [u]
        return True

    def _fast_one(self, group, t):
        """fast_step for one param group (the same logic, without per-group lists)."""
        key = self.key
        c = group[key]
        o = self.objs[0]
        us = self.us
        moved = False
        if c is not o:
            if c == o and type(c) is float:
                self.objs = [c]
            else:
                if not self.chainable or us is None or self.t != t - 1 or not us[0] or type(c) is not float:
                    return None
                self._set([(c - self.offset0[0]) / us[0]])
                moved = True
        source = self.source
        if source is not None and source.t == t:
            u = source.us[0]
        elif self._direct and self._pending is None:
            try:
                u = self.unit._scalar(t)
            except OverflowError:
                u = self.unit(t)
        else:
            u = self._eval(t)
        if not moved and us is not None and u == us[0]:
            self.t = t
            return False
        if u == 0.0 and self.chainable and self.scale is not self.scale0:
            self.objs = [c]
            self._pending = (t, u)
            return None
        v = u * self.scale[0] if self._zero_offset else u * self.scale[0] + self.offset[0]
        group[key] = v
        self.objs = self.vals = [v]
        self.t, self.us = t, [u]
        return True

    def changed(self, groups):
        """The groups' current values, and the indices of those not holding the value last written here."""
        cur = self.read(groups)
        if self.plain and cur == self.objs:
            return cur, ()
        out = []
        for i, (c, o) in enumerate(zip(cur, self.objs)):
            if self.uidx[i] is None or o is None:
                continue
            if isinstance(c, torch.Tensor):
                if c is not o or c._version != self.versions.get(i):
                    # compared in the tensor's dtype: a float32 LR holds our value rounded
                    if c.item() != torch.tensor(self.vals[i], dtype=c.dtype).item():
                        out.append(i)
            elif c is not o and c != self.vals[i]:
                out.append(i)
        return cur, out

    def rebase(self, indices, xs, prev_units):
        """Groups ``indices`` hold ``xs`` instead of the values of the previous step: rescale the closed
        form through each ``x`` around its anchor (``offset0``: 0, or eta_min), as torch's chain does;
        where the previous unit value is 0 there is no scale to take, and ``x`` is kept as an offset."""
        scale, offset = list(self.scale), list(self.offset)
        if len(indices) == self.n and self.single and prev_units[0] != 0:
            up = prev_units[0]
            scale = [(x - o0) / up for x, o0 in zip(xs, self.offset0)]
            self._set(scale, self.offset0)
            return
        for i, x in zip(indices, xs):
            up = prev_units[self.uidx[i]]
            if up != 0:
                scale[i] = (x - self.offset0[i]) / up
                offset[i] = self.offset0[i]
            else:
                offset[i] = offset[i] + (x - (up * scale[i] + offset[i]))
        self._set(scale, offset if offset != self.offset0 else self.offset0)

    def forget_at_zero(self, us):
        """Where the closed form passes exactly through its anchor, torch's chain forgets an edit."""
        if self.scale is self.scale0 or 0.0 not in us:
            return
        scale = list(self.scale)
        for i, j in enumerate(self.uidx):
            if j is not None and us[j] == 0.0:
                scale[i] = self.scale0[i]
        self._set(scale if scale != self.scale0 else self.scale0)

    def write(self, groups, vals):
        """Write ``vals`` (None: leave the group) into the groups: tensors in place with ``fill_``."""
        objs = list(self.objs)
        plain = True
        versions = {}
        for i, (g, v) in enumerate(zip(groups, vals)):
            if v is None:
                continue
            c = self.get(g)
            if isinstance(c, torch.Tensor):
                c.fill_(v)
                objs[i] = c
                versions[i] = c._version
                plain = False
            else:
                self.set(g, v)
                objs[i] = v
        self.objs = objs
        self.vals = list(vals)
        self.versions = versions
        self.plain = plain and self.full

    def state(self):
        return {"scale": list(self.scale), "offset": list(self.offset),
                "values": [None if v is None else float(v) for v in self.vals]}

    def load(self, state):
        if not isinstance(state, dict):
            return
        scale, offset = state.get("scale"), state.get("offset")
        if isinstance(scale, list) and len(scale) == self.n:
            scale = [float(v) for v in scale]
            self._set(scale if scale != self.scale0 else self.scale0)
        if isinstance(offset, list) and len(offset) == self.n:
            offset = [float(v) for v in offset]
            self._set(offset=offset if offset != self.offset0 else self.offset0)
        values = state.get("values")
        if isinstance(values, list) and len(values) == self.n:
            self.vals = [None if v is None else float(v) for v in values]


def _group_count_error(scheduler, n):
    return LrkitValueError(
        f"the optimizer has {n} param groups, {type(scheduler).__name__} was built for "
        f"{scheduler._n_groups}: build a new scheduler after optimizer.add_param_group()")


# =================================================================================================
# the base class
# =================================================================================================
class LRScheduler(_tls.LRScheduler):
    """The base of lrkit's torch schedulers, a ``torch.optim.lr_scheduler.LRScheduler``.

    A subclass either describes its curves as lrkit core schedules (``_make_tracks``, as every lrkit
    drop-in does) and is stepped in closed form, or implements torch's ``get_lr()`` and is stepped the
    way torch steps it; either way ``optimizer.step`` is not wrapped (see the module docstring).
    """

    #: torch computes this class's LR from the group's current LR (lrkit rebases, see module docstring)
    _chainable = False

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        last_epoch = _last_epoch(last_epoch)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                initial_lr = group["lr"]
                if isinstance(initial_lr, torch.Tensor):
                    initial_lr = initial_lr.clone()
                group.setdefault("initial_lr", initial_lr)
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming scheduler "
                        f"with last_epoch >= 0.\n"
                        "This typically happens when:\n"
                        "1. You're trying to resume training from a checkpoint but haven't properly loaded "
                        "the optimizer state\n"
                        "2. You're using last_epoch >= 0 for a fresh training run (not recommended)")
        self.base_lrs = [g["initial_lr"].clone() if isinstance(g["initial_lr"], torch.Tensor)
                         else g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._n_groups = len(optimizer.param_groups)
        _stepped(optimizer)
        self._build()
        self._initial_step()

    # ---- the closed-form description --------------------------------------------------------
    def _make_tracks(self):
        """The tracks (lrkit schedules) of this scheduler; None: torch's ``get_lr()`` protocol."""
        return None

    def _build(self):
        self._tracks = self._make_tracks()

    def _bases(self):
        return [_as_float(b) for b in self.base_lrs]

    @property
    def schedules(self):
        """Each param group's learning rate as an lrkit core schedule (with any rebase applied)."""
        if not self._tracks:
            return None
        track = self._tracks[0]
        return [track.schedule(i) for i in range(track.n)]

    def _time(self, k):
        """The schedule time of step ``k``."""
        return k

    def _check_time(self, k):
        """Raise before anything changes when step ``k`` is out of range."""

    # ---- stepping -------------------------------------------------------------------------------
    def _initial_step(self):
        """Initialize step counts and perform a step (torch's protocol; SequentialLR calls it)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def step(self, epoch=None):
        """Step the scheduler (``epoch`` is torch's deprecated closed-form argument)."""
        if self._step_count == 1:
            _check_order(self.optimizer)
        self._step_count += 1
        if epoch is None and not self._is_initial and self._tracks is not None:
            k = self.last_epoch + 1
            if 0 < k <= self._last_time:
                groups = self.optimizer.param_groups
                if len(groups) != self._n_groups:
                    raise _group_count_error(self, len(groups))
                changed = False
                for track in self._tracks:
                    done = track.fast_step(groups, k)
                    if done is None:
                        self._advance(track, groups, k, "chain")
                        done = True
                    changed = changed or done
                self.last_epoch = k
                if changed:
                    track = self._tracks[0]
                    if track.plain and track.key == "lr":
                        self._last_lr = list(track.vals)
                    else:
                        self._remember(groups)
                return
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    #: the last step of the schedule that may be stepped (OneCycleLR's total_steps)
    _last_time = math.inf

    def _update_lr(self, epoch=None):
        """The LR of the next step (``epoch`` given: of that step, in closed form from ``base_lrs``)."""
        tracks = self._tracks
        if tracks is None:
            return self._update_by_get_lr(epoch)
        groups = self.optimizer.param_groups
        if len(groups) != self._n_groups:
            raise _group_count_error(self, len(groups))
        if epoch is None:
            k = self.last_epoch + 1
            mode = "initial" if k == 0 else ("closed" if self._is_initial else "chain")
        else:
            k = _integer("epoch", epoch, 0) if not isinstance(epoch, float) else epoch
            mode = "closed"
        self._check_time(k)
        self.last_epoch = k
        t = self._time(k)
        for track in tracks:
            self._advance(track, groups, t, mode)
        self._remember(groups)

    def _advance(self, track, groups, t, mode):
        """Write the values of time ``t`` into the groups. ``mode``: "chain" (detect external changes:
        rebase a chainable track, overwrite otherwise), "initial" (step 0: rebase a chainable track on
        a group that does not hold its base LR), "closed" (the closed form from the base values)."""
        if mode == "chain":
            done = track.fast_step(groups, t)
            if done is not None:
                return
            us = track.unit_values(t)
            cur, changed = track.changed(groups)
            if track.chainable:
                if track.offset_dirty:  # an offset is taken back as a scale at the next step
                    changed = sorted(set(changed) | {i for i, (o, o0) in enumerate(zip(track.offset, track.offset0))
                                                     if o != o0})
                if changed:
                    track.rebase(changed, [_as_float(cur[i]) for i in changed], self._prev_units(track, t))
            elif not changed and us == track.us:
                track.t = t
                return
        else:
            us = track.unit_values(t)
            track.reset()
            if mode == "initial" and track.chainable:
                bad = [i for i, g in enumerate(groups)
                       if track.uidx[i] is not None and _as_float(track.get(g)) != _as_float(self.base_lrs[i])]
                if bad:
                    track.rebase(bad, [_as_float(track.get(groups[i])) for i in bad], [1.0] * len(track.units))
        if track.chainable:
            track.forget_at_zero(us)
        track.write(groups, track.compute(us))
        track.t, track.us = t, us

    def _prev_units(self, track, t):
        """The unit values at the previous step (1.0 before step 0: the chain starts at the base)."""
        if track.t is not None and track.t == t - 1:
            return track.us
        if t - 1 < 0:
            return [1.0] * len(track.units)
        return track.unit_values(t - 1)

    def _remember(self, groups):
        track = self._tracks[0]
        if track.key == "lr" and track.plain:
            self._last_lr = list(track.vals)
        else:
            self._last_lr = [g["lr"].clone() if isinstance(g["lr"], torch.Tensor) else g["lr"] for g in groups]

    def _update_by_get_lr(self, epoch):
        """torch's own protocol for a subclass that implements ``get_lr()``."""
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed = getattr(self, "_get_closed_form_lr", None)
                values = closed() if closed is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(f"get_lr() returned {len(values)} values for {len(groups)} param groups")
        for group, lr in zip(groups, values):
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(_plain(lr))
            else:
                group["lr"] = lr
        self._last_lr = [g["lr"].clone() if isinstance(g["lr"], torch.Tensor) else g["lr"] for g in groups]

    # ---- torch's read API -------------------------------------------------------------------------
    def get_last_lr(self):
        """The LR of each param group after the last step (tensors are copies, as torch)."""
        return self._last_lr

    def get_lr(self):
        """The LR of each param group at ``last_epoch`` in closed form (warns outside ``step()``, as torch)."""
        if not self._tracks:
            raise NotImplementedError
        if not getattr(self, "_get_lr_called_within_step", False):
            warnings.warn(_GET_LR_WARNING, UserWarning, stacklevel=2)
        track = self._tracks[0]
        vals = track.compute(track.unit_values(self._time(self.last_epoch)))
        return [torch.tensor(v, dtype=g["lr"].dtype) if isinstance(g["lr"], torch.Tensor) else v
                for v, g in zip(vals, self.optimizer.param_groups)]

    def _get_closed_form_lr(self):
        """The closed form at ``last_epoch`` from ``base_lrs`` (no rebase): torch's name."""
        track = self._tracks[0]
        saved = track.scale, track.offset
        track.reset()
        try:
            return track.compute(track.unit_values(self._time(self.last_epoch)))
        finally:
            track.scale, track.offset = saved

    # ---- state ------------------------------------------------------------------------------------
    #: the constructor arguments a state_dict carries, under torch's attribute names
    _CONFIG = ()

    def _config(self):
        """The constructor arguments under torch's attribute names (plain values)."""
        return {name: getattr(self, name) for name in self._CONFIG}

    def _load_config(self, state):
        """Take the constructor arguments from a state_dict (as torch, the saved ones win)."""
        _copy_config(state, self._CONFIG, self)

    def _unit_track(self, unit):
        """One closed-form unit times each group's base LR, rebased on outside changes as torch's chain."""
        bases = self._bases()
        return [_Track("lr", [unit], [0] * len(bases), bases, chainable=True)]

    def state_dict(self):
        """The scheduler's state: ints, floats, strings, lists, dicts and None only (loads with
        ``torch.load(weights_only=True)``)."""
        state = {"last_epoch": self.last_epoch, "_step_count": self._step_count,
                 "base_lrs": [_plain(b) for b in self.base_lrs],
                 "_last_lr": [_plain(v) for v in self._last_lr]}
        state.update(self._config())
        state["lrkit"] = self._lrkit_state()
        return state

    def _lrkit_state(self):
        tracks = self._tracks or []
        return {"format": STATE_FORMAT, "class": type(self).__name__,
                "tracks": {_key_name(t.key): t.state() for t in tracks}}

    def load_state_dict(self, state_dict):
        """Load a state (from lrkit, or torch's own ``state_dict()`` of the same class). The argument is
        not modified. It does not matter whether the optimizer was restored before or after: the groups
        that still hold this scheduler's own last values are set to the loaded step's values, the others
        (restored by ``optimizer.load_state_dict``) are left as they are."""
        if not isinstance(state_dict, dict):
            raise LrkitTypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
        groups = self.optimizer.param_groups
        ours = self._owns(groups)
        self._load(copy.deepcopy(state_dict))
        self._adopt(groups, ours)

    def _load(self, state):
        """Take ``state`` (a private copy) without writing to the optimizer: afterwards every group is
        expected to hold the loaded values (a group that does not is rebased at the next step)."""
        groups = self.optimizer.param_groups
        self._load_config(state)
        if "base_lrs" in state:
            self.base_lrs = [_as_float(b) for b in state["base_lrs"]]
        if "last_epoch" in state:
            self.last_epoch = state["last_epoch"]
        if "_step_count" in state:
            self._step_count = state["_step_count"]
        self._load_extra(state)
        self._build()
        lrkit_state = state.get("lrkit") if isinstance(state.get("lrkit"), dict) else {}
        saved_tracks = lrkit_state.get("tracks", {}) if isinstance(lrkit_state.get("tracks"), dict) else {}
        last = state.get("_last_lr")
        started = self.last_epoch >= 0
        t = self._time(self.last_epoch) if started else None
        for track in self._tracks or []:
            saved = saved_tracks.get(_key_name(track.key))
            if saved is not None:
                track.load(saved)
            if started:
                vals = track.compute(track.unit_values(t))
                if saved is None and track.key == "lr" and isinstance(last, list) and len(last) == track.n:
                    vals = [v if v is None else _as_float(x) for v, x in zip(vals, last)]  # torch's state
                track.vals = list(vals)
                track.t, track.us = t, track.unit_values(t)
            else:
                track.t = track.us = None
            track.objs = list(track.vals)  # compared by value at the next step
            track.versions = {i: -1 for i, g in enumerate(groups)
                              if i < track.n and isinstance(track.get(g), torch.Tensor)}
            track.plain = not track.versions and track.full
        if self._tracks and started:
            self._last_lr = [torch.tensor(v, dtype=g["lr"].dtype) if isinstance(g["lr"], torch.Tensor) else v
                             for v, g in zip(self._tracks[0].vals, groups)]
        elif isinstance(last, list):
            self._last_lr = last

    def _adopt(self, groups, ours):
        """Write the loaded values into the groups that held this scheduler's own values before the load."""
        for track in self._tracks or []:
            flags = ours.get(_key_name(track.key))
            if not flags:
                continue
            for i, g in enumerate(groups):
                if i < len(flags) and flags[i] and track.vals[i] is not None:
                    c = track.get(g)
                    if isinstance(c, torch.Tensor):
                        c.fill_(track.vals[i])
                        track.versions[i] = c._version
                        track.objs[i] = c
                    else:
                        track.set(g, track.vals[i])
            track.plain = not track.versions and track.full

    def _load_extra(self, state):
        """Class-specific state besides the constructor arguments."""

    def _owns(self, groups):
        """Per track: does each group still hold the value this scheduler wrote last?"""
        out = {}
        for track in self._tracks or []:
            flags = []
            for i, g in enumerate(groups):
                if i >= track.n or track.objs[i] is None:
                    flags.append(False)
                    continue
                c = track.get(g)
                if isinstance(c, torch.Tensor):
                    flags.append(c is track.objs[i] and c._version == track.versions.get(i))
                else:
                    flags.append(c is track.objs[i] or c == track.vals[i])
            out[_key_name(track.key)] = flags
        return out

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch})"


def _key_name(key):
    return key if isinstance(key, str) else f"{key[0]}[{key[1]}]"


def _copy_config(state, names, target):
    for name in names:
        if name in state:
            setattr(target, name, state[name])


# =================================================================================================
# the drop-ins
# =================================================================================================
class LambdaLR(LRScheduler, _tls.LambdaLR):
    """torch's LambdaLR: ``lr = base_lr * lr_lambda(epoch)``; lrkit: ``function(lr_lambda) * base_lr``."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if not isinstance(lr_lambda, (list, tuple)):
            self.lr_lambdas = [lr_lambda] * n
        else:
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        super().__init__(optimizer, last_epoch)

    def _make_tracks(self):
        fns, where = _unique(self.lr_lambdas)
        return [_Track("lr", [function(fn) for fn in fns], where, self._bases())]

    def _config(self):
        return {"lr_lambdas": [_callable_state(fn) for fn in self.lr_lambdas]}

    def _load_config(self, state):
        saved = state.get("lr_lambdas")
        if isinstance(saved, list):
            for fn, data in zip(self.lr_lambdas, saved):
                if data is not None:
                    fn.__dict__.update(data)


class MultiplicativeLR(LRScheduler, _tls.MultiplicativeLR):
    """torch's MultiplicativeLR: the LR times ``lr_lambda(epoch)`` at every step.

    ``base_lr * prod(lr_lambda(j) for j in 1..k)``: the core's ``multiplicative(lr_lambda)``.
    """
    _chainable = True

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if not isinstance(lr_lambda, (list, tuple)):
            self.lr_lambdas = [lr_lambda] * n
        else:
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def _make_tracks(self):
        fns, where = _unique(self.lr_lambdas)
        return [_Track("lr", [multiplicative(fn) for fn in fns], where, self._bases(), chainable=True)]

    _config = LambdaLR._config
    _load_config = LambdaLR._load_config


class StepLR(LRScheduler, _tls.StepLR):
    """torch's StepLR: ``base_lr * gamma ** (epoch // step_size)``; lrkit: ``step_decay(1, step_size, gamma)``."""
    _chainable = True

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _integer("step_size", step_size, 1)
        self.gamma = _non_negative("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _make_tracks(self):
        return self._unit_track(step_decay(1.0, period=self.step_size, gamma=self.gamma))

    _CONFIG = ("step_size", "gamma")


class MultiStepLR(LRScheduler, _tls.MultiStepLR):
    """torch's MultiStepLR: ``base_lr * gamma ** #{milestones <= epoch}`` (a repeated milestone counts
    as many times as it appears, as torch); lrkit: ``multistep(1, milestones, gamma)``."""
    _chainable = True

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise LrkitTypeError(f"milestones must be a list of integers, got {milestones!r}")
        values = [_integer(f"milestones[{i}]", m, 0) for i, m in enumerate(milestones)]
        for i in range(1, len(values)):
            if values[i] < values[i - 1]:
                raise LrkitValueError(
                    f"milestones must be sorted (non-decreasing), got {values!r} "
                    f"(milestones[{i}]={values[i]!r} < milestones[{i - 1}]={values[i - 1]!r})")
        self.milestones = Counter(values)
        self.gamma = _non_negative("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _make_tracks(self):
        counts = dict(self.milestones)
        layers = []
        while counts:  # a milestone given n times: n layers of multistep, multiplied (core mul)
            layers.append(sorted(counts))
            counts = {m: c - 1 for m, c in counts.items() if c > 1}
        unit = multistep(1.0, milestones=layers[0] if layers else [], gamma=self.gamma)
        for layer in layers[1:]:
            unit = unit * multistep(1.0, milestones=layer, gamma=self.gamma)
        return self._unit_track(unit)

    def _config(self):
        return {"milestones": sorted(self.milestones.elements()), "gamma": self.gamma}

    def _load_config(self, state):
        if "milestones" in state:
            m = state["milestones"]
            self.milestones = Counter(m.elements() if isinstance(m, Counter) else m)
        _copy_config(state, ("gamma",), self)


class ConstantLR(LRScheduler, _tls.ConstantLR):
    """torch's ConstantLR: ``base_lr * factor`` until ``total_iters``, then ``base_lr``; lrkit:
    ``piecewise_constant([total_iters], [factor, 1])``."""
    _chainable = True

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = _non_negative("factor", factor)
        self.total_iters = _integer("total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def _make_tracks(self):
        return self._unit_track(piecewise_constant([self.total_iters], [self.factor, 1.0]))

    _CONFIG = ("factor", "total_iters")


class LinearLR(LRScheduler, _tls.LinearLR):
    """torch's LinearLR: the factor goes linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters``; lrkit: ``linear(start_factor, end_factor, total_iters)``."""
    _chainable = True

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = _positive("start_factor", start_factor)
        self.end_factor = _non_negative("end_factor", end_factor)
        self.total_iters = _integer("total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def _make_tracks(self):
        return self._unit_track(linear(self.start_factor, self.end_factor, steps=self.total_iters))

    _CONFIG = ("start_factor", "end_factor", "total_iters")


class ExponentialLR(LRScheduler, _tls.ExponentialLR):
    """torch's ExponentialLR: ``base_lr * gamma ** epoch``; lrkit: ``exponential(1, gamma)``."""
    _chainable = True

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = _non_negative("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _make_tracks(self):
        return self._unit_track(exponential(1.0, self.gamma))

    _CONFIG = ("gamma",)


class PolynomialLR(LRScheduler, _tls.PolynomialLR):
    """torch's PolynomialLR: ``base_lr * (1 - min(epoch, total_iters) / total_iters) ** power``; lrkit:
    ``polynomial(1, 0, total_iters, power)``."""
    _chainable = True

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = _integer("total_iters", total_iters, 1)
        self.power = _positive("power", power)
        super().__init__(optimizer, last_epoch)

    def _make_tracks(self):
        return self._unit_track(polynomial(1.0, 0.0, steps=self.total_iters, power=self.power))

    _CONFIG = ("total_iters", "power")


class CosineAnnealingLR(LRScheduler, _tls.CosineAnnealingLR):
    """torch's CosineAnnealingLR, which does not stop at ``T_max`` but follows the cosine back up
    (period ``2 * T_max``); lrkit: ``repeat(sequence([cosine(1, 0, T), cosine(0, 1, T)], [T]), 2 * T)``
    scaled to ``eta_min + (base_lr - eta_min) * unit``. (lrkit's own ``cosine`` holds after its end.)"""
    _chainable = True

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = _integer("T_max", T_max, 1) if isinstance(T_max, numbers.Integral) else _positive("T_max", T_max)
        self.eta_min = _non_negative("eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def _make_tracks(self):
        T = self.T_max
        unit = repeat(sequence([cosine(1.0, 0.0, steps=T), cosine(0.0, 1.0, steps=T)], boundaries=[T]),
                      period=2 * T)
        bases = self._bases()
        return [_Track("lr", [unit], [0] * len(bases), [b - self.eta_min for b in bases],
                       [self.eta_min] * len(bases), chainable=True)]

    _CONFIG = ("T_max", "eta_min")


def _momentum_key(optimizer, cycle_momentum):
    """(use_beta1, the group key of the momentum) for cycle_momentum, torch's rule."""
    if not cycle_momentum:
        return False, None
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    use_beta1 = "betas" in optimizer.defaults
    return use_beta1, (("betas", 0) if use_beta1 else "momentum")


def _set_momentum(group, key, value):
    """Write a momentum value into a group as torch does (a tensor is filled in place)."""
    if isinstance(key, tuple):
        old = group["betas"]
        if isinstance(old[0], torch.Tensor):
            old[0].fill_(value)
        else:
            group["betas"] = (value, *old[1:])
    elif isinstance(group.get(key), torch.Tensor):
        group[key].fill_(value)
    else:
        group[key] = value


class CyclicLR(LRScheduler, _tls.CyclicLR):
    """torch's CyclicLR (momentum / beta1 cycled inversely); lrkit:
    ``cyclic(0, 1, step_size_up, step_size_down, mode, gamma)`` as ``base_lr + (max_lr - base_lr) * unit``
    and ``max_momentum - (max_momentum - base_momentum) * unit``; a custom ``scale_fn`` is the core's
    ``cyclic(..., scale_fn=scale_fn, scale_mode=scale_mode)``."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        last_epoch = _last_epoch(last_epoch)
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        if mode not in ["triangular", "triangular2", "exp_range"] and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        up = _positive("step_size_up", step_size_up)
        down = up if step_size_down is None else _positive("step_size_down", step_size_down)
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self._up, self._down = up, (None if step_size_down is None else down)
        self.mode = mode
        self.gamma = _positive("gamma", gamma) if mode == "exp_range" and scale_fn is None else gamma
        if scale_fn is not None and not callable(scale_fn):
            raise LrkitTypeError(f"scale_fn must be callable, got {scale_fn!r}")
        check.choice("scale_mode", scale_mode, ("cycle", "iterations"))
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        self.use_beta1, self._momentum_key = _momentum_key(optimizer, cycle_momentum)
        if cycle_momentum:
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum, _number)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum, _number)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                if isinstance(group["lr"], torch.Tensor):
                    group["lr"].fill_(lr)
                else:
                    group["lr"] = lr
            if cycle_momentum:
                for m, b, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups):
                    _set_momentum(group, self._momentum_key, m)
                    group["max_momentum"] = m
                    group["base_momentum"] = b
        self._cyclic_bases = base_lrs
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self):
        if self._scale_fn_custom is not None:
            return
        if self.mode == "triangular":
            self._scale_fn_ref = _tls.CyclicLR._triangular_scale_fn
            self.scale_mode = "cycle"
        elif self.mode == "triangular2":
            self._scale_fn_ref = _tls.CyclicLR._triangular2_scale_fn
            self.scale_mode = "cycle"
        elif self.mode == "exp_range":
            import functools
            self._scale_fn_ref = functools.partial(_tls.CyclicLR._exp_range_scale_fn, self.gamma)
            self.scale_mode = "iterations"

    def _unit(self):
        if self._scale_fn_custom is None:
            gamma = self.gamma if self.mode == "exp_range" else 1.0
            return cyclic(0.0, 1.0, steps_up=self._up, steps_down=self._down, mode=self.mode, gamma=gamma)
        return cyclic(0.0, 1.0, steps_up=self._up, steps_down=self._down, scale_fn=self._scale_fn_custom,
                      scale_mode=self.scale_mode)

    def _make_tracks(self):
        unit = self._unit()
        bases = [float(b) for b in self._cyclic_bases]
        n = len(bases)
        tracks = [_Track("lr", [unit], [0] * n, [m - b for m, b in zip(self.max_lrs, bases)], bases)]
        if self.cycle_momentum:
            tracks.append(_Track(self._momentum_key, [unit], [0] * n,
                                 [-(m - b) for m, b in zip(self.max_momentums, self.base_momentums)],
                                 self.max_momentums))
            tracks[1].source = tracks[0]
        return tracks

    def _bases(self):
        return [float(b) for b in self._cyclic_bases]

    def _config(self):
        state = {"max_lrs": list(self.max_lrs), "total_size": self.total_size, "step_ratio": self.step_ratio,
                 "step_size_up": self._up, "step_size_down": self._down, "mode": self.mode,
                 "gamma": _plain(self.gamma), "scale_mode": self.scale_mode,
                 "cycle_momentum": self.cycle_momentum, "use_beta1": self.use_beta1,
                 "_scale_fn_custom": _callable_state(self._scale_fn_custom)}
        if self.cycle_momentum:
            state["base_momentums"] = list(self.base_momentums)
            state["max_momentums"] = list(self.max_momentums)
        return state

    def _load_config(self, state):
        fn = state.pop("_scale_fn_custom", None)
        if fn is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn)
        _copy_config(state, ("max_lrs", "total_size", "step_ratio", "mode", "gamma", "scale_mode",
                             "cycle_momentum", "use_beta1", "base_momentums", "max_momentums"), self)
        if "step_size_up" in state:
            self._up = state["step_size_up"]
            self._down = state.get("step_size_down")
        if "base_lrs" in state:
            self._cyclic_bases = [_as_float(b) for b in state["base_lrs"]]
        self._init_scale_fn()
        self._momentum_key = (("betas", 0) if self.use_beta1 else "momentum") if self.cycle_momentum else None


class OneCycleLR(LRScheduler, _tls.OneCycleLR):
    """torch's OneCycleLR (momentum / beta1 cycled inversely, ``three_phase``); lrkit:
    ``one_cycle(1, total_steps, pct_start, anneal_strategy, div_factor, final_div_factor, three_phase)``
    times ``max_lr``, followed at ``total_steps - 1`` by the mirror of its last phase so that the step
    torch allows one past the end gets torch's value; the momentum is
    ``max_momentum - (max_momentum - base_momentum) * v`` with ``v`` the same phases from 0 to 1 and back.
    Stepping beyond ``total_steps`` raises ValueError, as torch, before anything changes."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._anneal_func_type = anneal_strategy
        self.pct_start = pct_start
        self.div_factor = _positive("div_factor", div_factor)
        self.final_div_factor = _positive("final_div_factor", final_div_factor)
        self.three_phase = check.flag("three_phase", three_phase)
        last_epoch = _last_epoch(last_epoch)
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        self._unit_lr()  # validates pct_start * total_steps (lrkit's error) before the groups change
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        else:
            max_lrs = [_as_float(g.get("max_lr", m)) for m, g in zip(max_lrs, optimizer.param_groups)]
        self.max_lrs = max_lrs
        self.cycle_momentum = cycle_momentum
        self.use_beta1, self._momentum_key = _momentum_key(optimizer, cycle_momentum)
        if cycle_momentum:
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum, _number)
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum, _number)
            if last_epoch == -1:
                for m, b, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups):
                    _set_momentum(group, self._momentum_key, m)
                    group["max_momentum"] = m
                    group["base_momentum"] = b
        super().__init__(optimizer, last_epoch)

    def _unit_lr(self):
        cycle = one_cycle(1.0, steps=self.total_steps, pct_start=self.pct_start, anneal=self._anneal_func_type,
                          div_factor=self.div_factor, final_div_factor=self.final_div_factor,
                          three_phase=self.three_phase)
        last = cycle.expanded.schedules[-1]
        return cycle, sequence([cycle, self._mirror(last)], boundaries=[self.total_steps - 1])

    def _mirror(self, last):
        """The last phase continued one step past its end, as torch's anneal function does."""
        a, b = last.start, last.end  # exactly b at the join, then back towards a (cos) or beyond b (linear)
        if self._anneal_func_type == "cos":
            return cosine(0.0, 1.0, steps=last.steps) * (a - b) + b
        return linear(0.0, 1.0, steps=last.steps) * (b - a) + b

    def _unit_momentum(self, cycle):
        shape = cosine if self._anneal_func_type == "cos" else linear
        parts = cycle.expanded.schedules
        ups = [shape(0.0, 1.0, steps=parts[0].steps), shape(1.0, 0.0, steps=parts[1].steps)]
        bounds = list(cycle.expanded.boundaries)
        if self.three_phase:
            ups.append(constant(0.0))
        else:
            ups.append(self._mirror(ups[-1]))
            bounds.append(self.total_steps - 1)
        return sequence(ups, boundaries=bounds)

    def _make_tracks(self):
        cycle, unit = self._unit_lr()
        n = len(self.max_lrs)
        tracks = [_Track("lr", [unit], [0] * n, self.max_lrs)]
        if self.cycle_momentum:
            v = self._unit_momentum(cycle)
            tracks.append(_Track(self._momentum_key, [v], [0] * n,
                                 [b - m for m, b in zip(self.max_momentums, self.base_momentums)],
                                 self.max_momentums))
        return tracks

    @property
    def total_steps(self):
        return self._last_time

    @total_steps.setter
    def total_steps(self, value):
        self._last_time = value  # (read by every step: a plain attribute)

    def _check_time(self, k):
        if k > self.total_steps:
            raise LrkitValueError(
                f"Tried to step {k} times. The specified number of total steps is {self.total_steps} "
                f"(OneCycleLR allows total_steps + 1 scheduler steps; the LR is unchanged)")

    def _config(self):
        state = {"total_steps": self.total_steps, "pct_start": self.pct_start,
                 "_anneal_func_type": self._anneal_func_type, "div_factor": self.div_factor,
                 "final_div_factor": self.final_div_factor, "three_phase": self.three_phase,
                 "max_lrs": list(self.max_lrs), "cycle_momentum": self.cycle_momentum,
                 "use_beta1": self.use_beta1}
        if self.cycle_momentum:
            state["max_momentums"] = list(self.max_momentums)
            state["base_momentums"] = list(self.base_momentums)
        return state

    def _load_config(self, state):
        _copy_config(state, ("total_steps", "pct_start", "_anneal_func_type", "div_factor", "final_div_factor",
                             "three_phase", "max_lrs", "cycle_momentum", "use_beta1", "max_momentums",
                             "base_momentums"), self)
        self._momentum_key = (("betas", 0) if self.use_beta1 else "momentum") if self.cycle_momentum else None


class CosineAnnealingWarmRestarts(LRScheduler, _tls.CosineAnnealingWarmRestarts):
    """torch's CosineAnnealingWarmRestarts, fractional epochs included (``step(epoch + i / iters)``);
    lrkit: ``cosine_restarts(1, 0, period=T_0, period_mult=T_mult)`` as
    ``eta_min + (base_lr - eta_min) * unit`` on the (float) epoch. ``T_cur`` / ``T_i`` are kept as torch
    keeps them; setting ``T_cur`` moves the epoch within the current cycle."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = _non_negative("eta_min", eta_min)
        self._epoch = float(last_epoch)
        self._cycle_start = 0
        super().__init__(optimizer, last_epoch)

    def _make_tracks(self):
        unit = cosine_restarts(1.0, 0.0, period=self.T_0, period_mult=self.T_mult)
        bases = self._bases()
        return [_Track("lr", [unit], [0] * len(bases), [b - self.eta_min for b in bases],
                       [self.eta_min] * len(bases))]

    @property
    def T_cur(self):
        return self._epoch - self._cycle_start

    @T_cur.setter
    def T_cur(self, value):
        self._epoch = self._cycle_start + value

    def _locate(self, epoch, force=False):
        """Bookkeeping of torch's T_i and the cycle start for ``epoch`` (no LR math)."""
        if not force and self._cycle_start <= epoch < self._cycle_start + self.T_i:
            return
        start, length = 0, self.T_0
        while epoch >= start + length:
            start += length
            length *= self.T_mult
        self._cycle_start, self.T_i = start, length

    def _time(self, k):
        return self._epoch

    def step(self, epoch=None):
        """``step()`` moves one epoch on; ``step(epoch)`` jumps to ``epoch`` (a float is fine)."""
        self._step_count += 1  # (torch's CosineAnnealingWarmRestarts.step checks no step order)
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            new = self._epoch + 1
            last = self.last_epoch + 1
            if not self._is_initial and self._cycle_start <= new < self._cycle_start + self.T_i:
                groups = self.optimizer.param_groups
                if len(groups) == self._n_groups:
                    track = self._tracks[0]
                    done = track.fast_step(groups, new)
                    if done is not None:
                        self._epoch, self.last_epoch = new, last
                        if done:
                            self._remember(groups)
                        return
        else:
            if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real):
                raise LrkitTypeError(f"epoch must be a number, got {epoch!r}")
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if not math.isfinite(epoch):
                raise LrkitValueError(f"epoch must be finite, got {epoch!r}")
            new = float(epoch)
            last = math.floor(epoch)
        self._epoch = new
        self._locate(new)
        self.last_epoch = last
        groups = self.optimizer.param_groups
        if len(groups) != self._n_groups:
            raise _group_count_error(self, len(groups))
        track = self._tracks[0]
        mode = "closed" if self._is_initial else "chain"  # (not chainable: "chain" only skips unchanged values)
        changed = track.fast_step(groups, new) if mode == "chain" else None
        if changed is None:
            self._advance(track, groups, new, mode)
        if changed is not False:
            self._remember(groups)

    def _update_lr(self, epoch=None):
        if epoch is None:
            return self.step()
        self._epoch = float(epoch)
        self._locate(self._epoch)
        self.last_epoch = math.floor(epoch)
        groups = self.optimizer.param_groups
        for track in self._tracks:
            self._advance(track, groups, self._epoch, "closed")
        self._remember(groups)

    def _config(self):
        return {"T_0": self.T_0, "T_i": self.T_i, "T_mult": self.T_mult, "eta_min": self.eta_min,
                "T_cur": self.T_cur}

    def _load_config(self, state):
        _copy_config(state, ("T_0", "T_mult", "eta_min"), self)

    def _load_extra(self, state):
        lrkit_state = state.get("lrkit") if isinstance(state.get("lrkit"), dict) else {}
        epoch = lrkit_state.get("epoch")
        if epoch is None:  # a torch state_dict: the epoch from its T_i and T_cur
            epoch = state.get("last_epoch", 0)
        self._epoch = float(epoch)
        self._locate(self._epoch, force=True)

    def _lrkit_state(self):
        state = super()._lrkit_state()
        state["epoch"] = self._epoch
        return state


# =================================================================================================
# ReduceLROnPlateau
# =================================================================================================


class ReduceLROnPlateau(LRScheduler, _tls.ReduceLROnPlateau):
    """torch's ReduceLROnPlateau on lrkit's plateau controller (``lrkit.plateau``).

    Same arguments, decisions and LRs as torch; ``nonfinite`` (keyword only, lrkit) is the NaN/inf rule:
    ``"bad"`` (default: a non-finite metric is an epoch without improvement, as torch treats NaN),
    ``"raise"`` or ``"ignore"``. The learning rate lives in the optimizer, as in torch: each reduction
    is ``max(lr * factor, min_lr)`` of the group's current LR (applied when it changes it by more than
    ``eps``), so other schedulers and hand edits compose with it as they do with torch's.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8, *, nonfinite="bad", reduce="mean"):
        """torch's arguments, and two of lrkit's (keyword only): ``nonfinite``, the NaN/inf rule, and
        ``reduce``: in a ``torch.distributed`` job every rank's metric is combined, "mean" (default),
        "min" or "max", so that every rank takes the same decision (None: each rank its own metric).
        If any rank's metric is NaN, every rank gets NaN (see ``lrkit.torch._distributed``)."""
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = [_non_negative(f"min_lr[{i}]", m) for i, m in enumerate(min_lr)]
        else:
            self.default_min_lr = _non_negative("min_lr", min_lr)
            self.min_lrs = [self.default_min_lr] * n
        if mode not in {"min", "max"}:
            raise ValueError("mode " + str(mode) + " is unknown!")
        if threshold_mode not in {"rel", "abs"}:
            raise ValueError("threshold mode " + str(threshold_mode) + " is unknown!")
        self._ctl = plateau(mode=mode, factor=factor, patience=patience, threshold=threshold,
                            threshold_mode=threshold_mode, cooldown=cooldown, eps=eps, nonfinite=nonfinite)
        self.reduce = check_reduce(reduce)
        self._state = self._ctl.init()
        self._tensor_groups = any(isinstance(g["lr"], torch.Tensor) for g in optimizer.param_groups)
        self.last_epoch = 0
        self._step_count = 0
        self._tracks = None
        self._last_lr = [g["lr"].clone() if isinstance(g["lr"], torch.Tensor) else g["lr"]
                         for g in optimizer.param_groups]

    # torch's attributes, read from the controller and its state
    factor = property(lambda self: self._ctl.factor)
    patience = property(lambda self: self._ctl.patience)
    cooldown = property(lambda self: self._ctl.cooldown)
    eps = property(lambda self: self._ctl.eps)
    mode = property(lambda self: self._ctl.mode)
    threshold = property(lambda self: self._ctl.threshold)
    threshold_mode = property(lambda self: self._ctl.threshold_mode)
    nonfinite = property(lambda self: self._ctl.nonfinite)
    mode_worse = property(lambda self: self._ctl.worst)
    in_cooldown = property(lambda self: self._state.cooldown_left > 0)

    def _state_property(name):
        def get(self):
            return getattr(self._state, name)

        def put(self, value):
            self._state = self._state._replace(**{name: value})
        return property(get, put)

    best = _state_property("best")
    num_bad_epochs = _state_property("bad_epochs")
    cooldown_counter = _state_property("cooldown_left")
    del _state_property

    @property
    def controller(self):
        """The ``lrkit.plateau`` value this scheduler follows."""
        return self._ctl

    @property
    def plateau_state(self):
        """The controller's state (an ``lrkit.PlateauState``)."""
        return self._state

    def _reset(self):
        self._state = self._ctl.init()

    def is_better(self, a, best):
        return self._ctl.is_better(a, best)

    def step(self, metrics, epoch=None):
        """One epoch's metric: maybe reduce the LRs."""
        current = metrics if type(metrics) is float else float(metrics)
        if self.reduce is not None and _in_process_group():
            current = reduce_metric(current, self.reduce)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        before = self._state
        state = self._ctl.update(before, current)
        if state is before:  # nonfinite="ignore": nothing happened
            return
        self.last_epoch = epoch
        self._state = state
        groups = self.optimizer.param_groups
        if state[4] != before[4]:  # a new reduction (4: PlateauState.reductions)
            if len(groups) == 1 and not self._tensor_groups and len(self.min_lrs) == 1:
                group = groups[0]
                lr = group["lr"]
                new = self._ctl.reduce_all((lr,), self.min_lrs)[0]
                if new is not lr:
                    group["lr"] = new
                self._last_lr = [new]
                return
            self._reduce_lr(epoch)
        if self._tensor_groups:
            self._last_lr = [v.clone() if isinstance(v, torch.Tensor) else v for v in [g["lr"] for g in groups]]
        elif len(groups) == 1:
            self._last_lr = [groups[0]["lr"]]
        else:
            self._last_lr = [g["lr"] for g in groups]

    def _reduce_lr(self, epoch=None):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    "The number of param groups in the `optimizer` "
                    f"({len(groups)}) differs "
                    f"from when `ReduceLROnPlateau` was initialized "
                    f"({len(self.min_lrs)}), usually due to a new "
                    "param group being added to the optimizer. Please "
                    "modify the `min_lrs` field to match the length "
                    "of the `optimizer` param groups.")
            self.min_lrs = [self.default_min_lr] * len(groups)
            self._tensor_groups = any(isinstance(g["lr"], torch.Tensor) for g in groups)
        lrs = [g["lr"] for g in groups]
        floats = [v.item() if isinstance(v, torch.Tensor) else v for v in lrs] if self._tensor_groups else lrs
        for group, old, x, new in zip(groups, lrs, floats, self._ctl.reduce_all(floats, self.min_lrs)):
            if new is not x:
                if isinstance(old, torch.Tensor):
                    old.fill_(new)
                else:
                    group["lr"] = new

    def get_lr(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        s = self._state
        return {"factor": self.factor, "min_lrs": list(self.min_lrs), "default_min_lr": self.default_min_lr,
                "patience": self.patience, "cooldown": self.cooldown, "eps": self.eps,
                "last_epoch": self.last_epoch, "_last_lr": [_plain(v) for v in self._last_lr],
                "mode": self.mode, "threshold": self.threshold, "threshold_mode": self.threshold_mode,
                "best": s.best, "num_bad_epochs": s.bad_epochs, "cooldown_counter": s.cooldown_left,
                "mode_worse": self.mode_worse, "nonfinite": self.nonfinite, "reduce": self.reduce,
                "lrkit": {"format": STATE_FORMAT, "class": "ReduceLROnPlateau", "plateau": s.to_dict()}}

    def load_state_dict(self, state_dict):
        """Load a state (lrkit's or torch's); the argument is not modified. The LRs stay in the optimizer."""
        if not isinstance(state_dict, dict):
            raise LrkitTypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
        state = copy.deepcopy(state_dict)
        ctl = self._ctl
        self._ctl = plateau(mode=state.get("mode", ctl.mode), factor=state.get("factor", ctl.factor),
                            patience=state.get("patience", ctl.patience),
                            threshold=state.get("threshold", ctl.threshold),
                            threshold_mode=state.get("threshold_mode", ctl.threshold_mode),
                            cooldown=state.get("cooldown", ctl.cooldown), eps=state.get("eps", ctl.eps),
                            nonfinite=state.get("nonfinite", ctl.nonfinite))
        if "min_lrs" in state:
            self.min_lrs = [float(m) for m in state["min_lrs"]]
        if "default_min_lr" in state:
            self.default_min_lr = state["default_min_lr"]
        if "reduce" in state:
            self.reduce = check_reduce(state["reduce"])
        self.last_epoch = state.get("last_epoch", self.last_epoch)
        saved = (state.get("lrkit") or {}).get("plateau") if isinstance(state.get("lrkit"), dict) else None
        if saved is not None:
            self._state = PlateauState.from_dict(saved)
        else:  # torch's layout
            self._state = PlateauState(best=float(state.get("best", ctl.worst)),
                                       bad_epochs=int(state.get("num_bad_epochs", 0)),
                                       cooldown_left=int(state.get("cooldown_counter", 0)),
                                       epochs=int(self.last_epoch))
        if "_last_lr" in state:
            self._last_lr = state["_last_lr"]


# =================================================================================================
# SequentialLR and ChainedScheduler
# =================================================================================================
def _check_members(cls_name, optimizer, schedulers):
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{cls_name} at index {i} should have `optimizer` as its attribute.")
        if isinstance(s, _tls.ReduceLROnPlateau):
            raise ValueError(
                f"{cls_name} does not support `ReduceLROnPlateau` scheduler as it requires additional kwargs "
                f"to be specified when calling `step`, but got one at index {i} in the given schedulers "
                f"sequence. (lrkit: put the plateau after a schedule with lrkit.torch.ScheduleLR(..., "
                f"plateau=lrkit.plateau(...)))")
        if optimizer != s.optimizer:
            raise ValueError(
                f"{cls_name} expects all schedulers to belong to the same optimizer, but got scheduler "
                f"{s.__class__.__name__} at index {i} has {s.optimizer}, which is different from "
                f"{optimizer.__class__.__name__}.")


def _group_values(optimizer):
    lrs = [g["lr"] for g in optimizer.param_groups]
    if set(map(type, lrs)) <= _NUMBERS:
        return lrs
    return [v.clone() if isinstance(v, torch.Tensor) else v for v in lrs]


class _Composite:
    """Loading for schedulers made of schedulers: every sub-state loads, and only the values of the
    scheduler that drives the optimizer now (``_driving()``) go into it (see
    ``LRScheduler.load_state_dict``). The argument is not modified."""

    def _owns(self, groups):
        driving = self._driving()
        return driving._owns(groups) if hasattr(driving, "_owns") else {}

    def _adopt(self, groups, ours):
        driving = self._driving()
        if hasattr(driving, "_adopt"):
            driving._adopt(groups, ours)

    def load_state_dict(self, state_dict):
        """Load the state of every scheduler; the driving one's values go into the optimizer."""
        groups = self.optimizer.param_groups
        ours = self._owns(groups)
        self._load(copy.deepcopy(state_dict))
        self._adopt(groups, ours)


class SequentialLR(_Composite, LRScheduler, _tls.SequentialLR):
    """torch's SequentialLR: ``schedulers[i]`` from ``milestones[i-1]`` on, each on its own clock (the
    core's ``sequence``): at a milestone the next scheduler starts from its closed form at 0."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(schedulers) < 1:
            raise ValueError(f"{self.__class__.__name__} expects at least one scheduler, but got no scheduler.")
        _check_members(self.__class__.__name__, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more than the number "
                f"of milestone points, but got number of schedulers {len(schedulers)} and the number of "
                f"milestones to be equal to {len(milestones)}")
        ms = [_integer(f"milestones[{i}]", m, 1) for i, m in enumerate(milestones)]
        for i in range(1, len(ms)):
            if ms[i] <= ms[i - 1]:
                raise LrkitValueError(f"milestones must be strictly increasing, got {ms!r}")
        self._schedulers = list(schedulers)
        self._milestones = ms
        self.last_epoch = _last_epoch(last_epoch) + 1
        self.optimizer = optimizer
        self._tracks = None
        for group in optimizer.param_groups:
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(_plain(group["initial_lr"]))
            else:
                group["lr"] = group["initial_lr"]
        self.recursive_undo()
        idx = bisect.bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def recursive_undo(self, sched=None):
        """Undo the initial step of every scheduler (torch's protocol)."""
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self.recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def _update_lr(self, epoch=None):
        raise NotImplementedError("SequentialLR cannot be nested inside SequentialLR")

    def _initial_step(self):
        idx = bisect.bisect_right(self._milestones, max(self.last_epoch, 0))
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def state_dict(self):
        return {"last_epoch": self.last_epoch, "_milestones": list(self._milestones),
                "_last_lr": [_plain(v) for v in self._last_lr],
                "_schedulers": [s.state_dict() for s in self._schedulers],
                "lrkit": {"format": STATE_FORMAT, "class": "SequentialLR"}}

    def _active(self):
        return self._schedulers[bisect.bisect_right(self._milestones, max(self.last_epoch, 0))]

    _driving = _active

    def _load(self, state):
        subs = state.pop("_schedulers", [])
        self.last_epoch = state.get("last_epoch", self.last_epoch)
        if "_milestones" in state:
            self._milestones = list(state["_milestones"])
        for s, sub in zip(self._schedulers, subs):
            s._load(sub) if hasattr(s, "_load") else s.load_state_dict(sub)
        if "_last_lr" in state:
            self._last_lr = state["_last_lr"]


class ChainedScheduler(_Composite, LRScheduler, _tls.ChainedScheduler):
    """torch's ChainedScheduler: every scheduler steps at every step. lrkit's chainable drop-ins rebase
    on each other's changes, so the product is torch's."""

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError(
                f"{self.__class__.__name__} expects at least one scheduler to be chained, but got no scheduler.")
        optimizer = optimizer or schedulers[0].optimizer
        _check_members(self.__class__.__name__, optimizer, schedulers)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._tracks = None
        self._last_lr = _group_values(self._schedulers[-1].optimizer)

    def step(self):
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _group_values(self._schedulers[-1].optimizer)

    def _initial_step(self):
        for scheduler in self._schedulers:
            scheduler._initial_step()
        self._last_lr = _group_values(self._schedulers[-1].optimizer)

    def _update_lr(self, epoch=None):
        for scheduler in self._schedulers:
            scheduler._update_lr(epoch)
        self._last_lr = _group_values(self._schedulers[-1].optimizer)

    def state_dict(self):
        return {"_last_lr": [_plain(v) for v in self._last_lr],
                "_schedulers": [s.state_dict() for s in self._schedulers],
                "lrkit": {"format": STATE_FORMAT, "class": "ChainedScheduler"}}

    def _driving(self):
        return self._schedulers[-1]

    def _load(self, state):
        for s, sub in zip(self._schedulers, state.pop("_schedulers", [])):
            s._load(sub) if hasattr(s, "_load") else s.load_state_dict(sub)
        if "_last_lr" in state:
            self._last_lr = state["_last_lr"]


# =================================================================================================
# the native adapter
# =================================================================================================
_ALIASES = {"lr": "lr", "momentum": "momentum", "beta1": ("betas", 0), "beta2": ("betas", 1),
            "weight_decay": "weight_decay"}


def _initial_key(key):
    return "initial_lr" if key == "lr" else f"initial_{_key_label(key)}"


def _key_label(key):
    if isinstance(key, tuple):
        return f"beta{key[1] + 1}"
    return key


class ScheduleLR(LRScheduler):
    """Drive an optimizer from lrkit schedules: ``ScheduleLR(optimizer, schedule, ...)``.

    ``schedule`` (the LR) and ``momentum``, ``beta1``, ``beta2``, ``weight_decay`` (and any other group
    key through ``hyperparams={"key": schedule}``) each take an lrkit schedule or a spec string, used by
    every param group, or a list with one per group (``None`` leaves that group alone).

    Values. A schedule gives absolute values: ``ScheduleLR(opt, "cosine(3e-4, 0.0, steps=9000)")`` sets
    every group to that curve. ``relative=True`` makes it a multiplier of each group's initial value
    (``initial_lr``, or ``initial_momentum`` / ``initial_beta1`` / ... recorded in the group at
    construction), which is the core's ``schedule * initial_lr``: two groups at 0.1 and 0.01 under
    ``ScheduleLR(opt, "cosine(1.0, 0.0, steps=90)", relative=True)`` follow the same cosine 10x apart.

    Time. The schedule is evaluated at update ``k`` (0 for the first optimizer step). With
    ``steps_per_epoch=n`` it is written in epochs and evaluated at ``k / n`` while you step every update.
    With ``accumulation_steps=a`` you may call ``step()`` every micro-batch: ``a`` calls make one update.

    ``torch.compile``: a tensor hyperparameter is written in place (``fill_``), and ``tensor_lr=True``
    (or a dtype) turns each float LR into a 0-dim tensor on the group's device (float32 by default) so
    that a compiled ``optimizer.step`` never recompiles because the LR changed.

    Plateau as a stage. ``plateau=lrkit.plateau(...)`` multiplies the LR by ``factor ** reductions``
    (never pushing it below ``min_lr``); call ``report(metric)`` once per evaluation. Metrics reported
    before update ``plateau_start`` are ignored: ``warmup(constant(1e-3), steps=500)`` with
    ``plateau_start=500`` is warmup then plateau-driven decay. In a ``torch.distributed`` job every rank's
    metric is combined, ``reduce="mean"`` (default), ``"min"`` or ``"max"``, so that the ranks agree;
    ``reduce=None`` lets each rank use its own. A NaN on any rank is a NaN on every rank.

    >>> import torch, lrkit
    >>> from lrkit.torch import ScheduleLR
    >>> opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1},
    ...                        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.01}])
    >>> sched = ScheduleLR(opt, lrkit.step_decay(1.0, period=2, gamma=0.5), relative=True)
    >>> for _ in range(3):
    ...     opt.step(); sched.step()
    >>> [round(lr, 6) for lr in sched.get_last_lr()]
    [0.05, 0.005]
    """

    def __init__(self, optimizer, schedule=None, *, momentum=None, beta1=None, beta2=None, weight_decay=None,
                 hyperparams=None, relative=False, steps_per_epoch=None, accumulation_steps=1, tensor_lr=False,
                 plateau=None, plateau_start=0, reduce="mean", last_epoch=-1):
        _check_optimizer(optimizer)
        specs = {}
        for name, value in (("lr", schedule), ("momentum", momentum), ("beta1", beta1), ("beta2", beta2),
                            ("weight_decay", weight_decay)):
            if value is not None:
                specs[_ALIASES[name]] = value
        if hyperparams is not None:
            if not isinstance(hyperparams, dict):
                raise LrkitTypeError(f"hyperparams must be a dict of group key -> schedule, got {hyperparams!r}")
            for key, value in hyperparams.items():
                key = _ALIASES.get(key, key)
                if key in specs:
                    raise LrkitValueError(f"hyperparams[{key!r}] is given twice")
                specs[key] = value
        if not specs:
            raise LrkitValueError("ScheduleLR needs a schedule (for the LR) or at least one of momentum, beta1, "
                                  "beta2, weight_decay, hyperparams")
        n = len(optimizer.param_groups)
        self._specs = {}
        for key, value in specs.items():
            label = _key_label(key)
            if isinstance(value, (list, tuple)):
                if len(value) != n:
                    raise LrkitValueError(f"{label} has {len(value)} schedules for {n} param groups")
                per = [None if v is None else as_schedule(v, f"{label}[{i}]") for i, v in enumerate(value)]
            else:
                per = [as_schedule(value, label)] * n
            for i, (group, s) in enumerate(zip(optimizer.param_groups, per)):
                if s is None:
                    continue
                if isinstance(key, tuple):
                    if "betas" not in group:
                        raise LrkitValueError(f"{label}: param group {i} has no 'betas' "
                                              f"({type(optimizer).__name__} is not an Adam-like optimizer)")
                elif key not in group:
                    raise LrkitValueError(f"{label}: param group {i} has no {key!r} "
                                          f"(its keys: {sorted(k for k in group if k != 'params')})")
            self._specs[key] = per
        self.relative = check.flag("relative", relative)
        self.steps_per_epoch = None if steps_per_epoch is None else _positive("steps_per_epoch", steps_per_epoch)
        self.accumulation_steps = _integer("accumulation_steps", accumulation_steps, 1)
        if plateau is not None and not isinstance(plateau, _PlateauType):
            raise LrkitTypeError(f"plateau must be an lrkit.plateau(...) value, got {plateau!r}")
        if plateau is not None and "lr" not in self._specs:
            raise LrkitValueError("plateau needs a schedule for the LR")
        self.plateau = plateau
        self.plateau_start = _integer("plateau_start", plateau_start, 0)
        self.reduce = check_reduce(reduce)
        self._plateau_state = plateau.init() if plateau is not None else None
        last_epoch = _last_epoch(last_epoch)
        self._calls = (last_epoch + 1) * self.accumulation_steps - 1 if last_epoch >= 0 else -1
        if relative and last_epoch == -1:
            for key in self._specs:
                if key == "lr":
                    continue
                for group, s in zip(optimizer.param_groups, self._specs[key]):
                    if s is not None:
                        value = group["betas"][key[1]] if isinstance(key, tuple) else group[key]
                        group.setdefault(_initial_key(key), _plain(value))
        if tensor_lr:
            dtype = torch.float32 if tensor_lr is True else tensor_lr
            if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
                raise LrkitTypeError(f"tensor_lr must be True, False or a floating torch.dtype, got {tensor_lr!r}")
            for group in optimizer.param_groups:
                if not isinstance(group["lr"], torch.Tensor):
                    device = group["params"][0].device if group["params"] else None
                    group.setdefault("initial_lr", group["lr"])
                    group["lr"] = torch.tensor(group["lr"], dtype=dtype, device=device)
        self.tensor_lr = tensor_lr
        super().__init__(optimizer, last_epoch)

    def _make_tracks(self):
        groups = self.optimizer.param_groups
        tracks = []
        for key, per in self._specs.items():
            units, where = _unique([s for s in per if s is not None])
            it = iter(where)
            uidx = [None if s is None else next(it) for s in per]
            if self.relative:
                scale = []
                for g, s in zip(groups, per):
                    init = g.get(_initial_key(key))
                    scale.append(_as_float(init) if (s is not None and init is not None) else 1.0)
            else:
                scale = [1.0] * len(per)
            post = self._plateau_post if (key == "lr" and self.plateau is not None) else None
            tracks.append(_Track(key, units, uidx, scale, post=post))
        tracks.sort(key=lambda t: t.key != "lr")
        return tracks

    def _plateau_post(self, value, i):
        if self.last_epoch < self.plateau_start:
            return value
        return self.plateau.apply(value, self._plateau_state, group=i if isinstance(self.plateau.min_lr, tuple)
                                  else 0)

    @property
    def schedules(self):
        """Per hyperparameter, each group's schedule (absolute values): ``{"lr": [...], ...}``."""
        return {_key_label(t.key): [t.schedule(i) for i in range(t.n)] for t in self._tracks}

    def _time(self, k):
        return k if self.steps_per_epoch is None else k / self.steps_per_epoch

    def step(self, epoch=None):
        """One call: one update, or one micro-batch with ``accumulation_steps``."""
        if epoch is not None:
            raise LrkitTypeError("ScheduleLR.step() takes no epoch; use report(metric) for a plateau")
        self._calls += 1
        k = self._calls // self.accumulation_steps
        if k == self.last_epoch and not self._is_initial:
            return
        if self._step_count == 1:
            _check_order(self.optimizer, stacklevel=3)
        self._step_count += 1
        groups = self.optimizer.param_groups
        if len(groups) != self._n_groups:
            raise _group_count_error(self, len(groups))
        self.last_epoch = k
        t = self._time(k)
        mode = "closed" if self._is_initial else "chain"
        for track in self._tracks:
            self._advance(track, groups, t, mode)
        self._remember(groups)

    def _update_lr(self, epoch=None):
        if epoch is None:
            return self.step()
        self._calls = epoch * self.accumulation_steps
        self.last_epoch = epoch
        groups = self.optimizer.param_groups
        for track in self._tracks:
            self._advance(track, groups, self._time(epoch), "closed")
        self._remember(groups)

    def _remember(self, groups):
        if self._tracks[0].key == "lr":
            super()._remember(groups)
        else:
            self._last_lr = _group_values(self.optimizer)

    def report(self, metric):
        """One evaluation's metric for the plateau stage (ignored before ``plateau_start``)."""
        if self.plateau is None:
            raise LrkitValueError("report() needs ScheduleLR(..., plateau=lrkit.plateau(...))")
        metric = _as_float(metric) if isinstance(metric, torch.Tensor) else metric
        if self.reduce is not None:
            metric = reduce_metric(metric, self.reduce)  # collective: before any early return
        if self.last_epoch < self.plateau_start:
            return
        before = self._plateau_state
        self._plateau_state = self.plateau.update(before, metric)
        if self._plateau_state.reductions != before.reductions:
            groups = self.optimizer.param_groups
            track = self._tracks[0]
            track.write(groups, track.compute(track.unit_values(self._time(self.last_epoch))))
            self._remember(groups)

    @property
    def plateau_state(self):
        return self._plateau_state

    def state_dict(self):
        state = super().state_dict()
        state["_calls"] = self._calls
        state["plateau"] = None if self._plateau_state is None else self._plateau_state.to_dict()
        state["schedules"] = {_key_label(k): [None if s is None else repr(s) for s in per]
                              for k, per in self._specs.items()}
        return state

    def _load_extra(self, state):
        if "_calls" in state:
            self._calls = state["_calls"]
        if state.get("plateau") is not None and self.plateau is not None:
            self._plateau_state = PlateauState.from_dict(state["plateau"])

    def __repr__(self):
        parts = ", ".join(f"{_key_label(k)}={per[0]!r}" if all(s is per[0] for s in per) else
                          f"{_key_label(k)}=[{len(per)} schedules]" for k, per in self._specs.items())
        return f"ScheduleLR({parts}, last_epoch={self.last_epoch})"


_PlateauType = plateau


from ._trainers import HFScheduleMixin, hf_plateau_callback, lightning_plateau_callback, prepare_for_accelerate  # noqa: E402
from ._checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402
from ._range_test import RestoreError, find_lr  # noqa: E402
from ._shootout_task import MnistTask, mnist_shootout  # noqa: E402
