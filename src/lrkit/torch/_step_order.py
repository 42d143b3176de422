"""torch's step-order warning without wrapping ``optimizer.step``.

One ``register_step_post_hook`` per optimizer records that it stepped (a plain attribute store, which
``torch.compile`` traces without guards). The first ``scheduler.step()`` warns, with torch's message, when
the optimizer has not stepped yet, unless a gradient of the optimizer is not finite: that is
``torch.amp.GradScaler`` skipping the step, not a wrong order.
"""
import itertools
import os
import sys
import warnings
import weakref

import torch
from torch.optim import Optimizer

ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
    "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
    "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
    "will result in PyTorch skipping the first value of the learning rate schedule. "
    "See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate")


class Stepped:
    """``value`` becomes True after the optimizer's first step (set by a step post-hook)."""

    def __init__(self):
        self.value = False


#: optimizer -> its Stepped flag
STEPPED = weakref.WeakKeyDictionary()


def _hook_target(optimizer):
    """The optimizer whose step runs the hooks: a wrapper that never ran ``Optimizer.__init__``
    (accelerate's AcceleratedOptimizer) delegates to ``.optimizer``."""
    while (not hasattr(optimizer, "_optimizer_step_post_hooks")
           and isinstance(getattr(optimizer, "optimizer", None), Optimizer)):
        optimizer = optimizer.optimizer
    return optimizer


def watch(optimizer):
    """The optimizer's Stepped flag, registering the (one) post-hook on first use."""
    flag = STEPPED.get(optimizer)
    if flag is None:
        flag = Stepped()

        def _lrkit_stepped(opt, args, kwargs, _flag=flag):
            _flag.value = True

        _hook_target(optimizer).register_step_post_hook(_lrkit_stepped)
        STEPPED[optimizer] = flag
    return flag


#: optimizer -> {lrkit scheduler built on it: its construction number} (weak references), read by
#: lrkit.torch.Monitor
SCHEDULERS = weakref.WeakKeyDictionary()
_BUILT = itertools.count()


def register_scheduler(optimizer, scheduler):
    """Remember that ``scheduler`` drives ``optimizer`` (the monitor reads its plan from there)."""
    try:
        SCHEDULERS.setdefault(optimizer, weakref.WeakKeyDictionary())[scheduler] = next(_BUILT)
    except TypeError:  # (an optimizer that cannot be weakly referenced: nothing to remember)
        pass


def schedulers_of(optimizer):
    """The live lrkit schedulers built on ``optimizer``, the latest first."""
    found = SCHEDULERS.get(optimizer)
    return sorted(found.keys(), key=found.get, reverse=True) if found else []


def _amp_skipped(optimizer):
    """True when a gradient of ``optimizer`` is not finite: GradScaler skipped ``optimizer.step()``."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            g = getattr(p, "grad", None)
            if g is not None and not bool(torch.isfinite(g).all()):
                return True
    return False


#: frames in this package are lrkit's own: the warning points at the first frame outside it
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _caller_level():
    """The ``stacklevel`` (for a ``warnings.warn`` in ``check_order``) of the first frame outside
    lrkit.torch: the user's ``scheduler.step()`` line, however deep lrkit's own calls go."""
    level, frame = 2, sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back
    return level


def check_order(optimizer):
    """torch's warning if ``optimizer`` has not stepped yet (and GradScaler did not skip its step),
    pointing at the user's ``scheduler.step()`` call."""
    flag = STEPPED.get(optimizer)
    if flag is not None and not flag.value and not _amp_skipped(optimizer):
        warnings.warn(ORDER_WARNING, UserWarning, stacklevel=_caller_level())
