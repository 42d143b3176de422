"""Shared helpers of the lrkit.torch tests (no tests here): the same training loop run twice, once with
torch's schedulers and once with lrkit.torch's drop-ins, on two identical optimizers.

The tolerance is 1e-12 relative; where torch's own arithmetic loses bits (its chainable form, or
OneCycleLR's ``(end - start) * pct + start`` at the last step), the bound is stated next to the case.
"""
import contextlib
import copy
import io
import math
import random
import warnings

import pytest

torch = pytest.importorskip("torch")
from torch.optim import lr_scheduler as T  # noqa: E402

import lrkit.torch as K  # noqa: E402

REL = 1e-12


def params(n=2, size=2):
    return [torch.nn.Parameter(torch.zeros(size)) for _ in range(n)]


def make_optimizer(kind="sgd", lrs=(0.05, 0.5), tensor=(False, True), dtype=torch.float64):
    """An optimizer with one param group per LR; ``tensor[i]``: group i holds a 0-dim tensor LR."""
    groups = []
    for lr, as_tensor, p in zip(lrs, tensor, params(len(lrs))):
        groups.append({"params": [p], "lr": torch.tensor(lr, dtype=dtype) if as_tensor else lr})
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam(groups, lr=0.1)
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=0.1)
    raise ValueError(kind)


def value(x):
    return x.item() if isinstance(x, torch.Tensor) else float(x)


def hyper(group):
    """The group's (lr, momentum-or-beta1) as floats."""
    m = group.get("momentum")
    if "betas" in group:
        m = group["betas"][0]
    return value(group["lr"]), (None if m is None else value(m))


def assert_close(a, b, where, rel=REL, abs_bound=0.0):
    a, b = value(a), value(b)
    assert abs(a - b) <= rel * abs(a) + abs_bound or (a == b), f"{where}: torch {a!r} != lrkit {b!r}"


def assert_groups_match(opt_t, opt_k, where, rel=REL, abs_bounds=None):
    assert len(opt_t.param_groups) == len(opt_k.param_groups)
    for i, (gt, gk) in enumerate(zip(opt_t.param_groups, opt_k.param_groups)):
        assert type(gt["lr"]) is type(gk["lr"]), f"{where}: group {i} lr type {type(gt['lr'])} != {type(gk['lr'])}"
        bound = abs_bounds[i] if abs_bounds else 0.0
        (lt, mt), (lk, mk) = hyper(gt), hyper(gk)
        # an LR is never below 0: where torch writes a negative one (OneCycleLR one step past the end of a
        # steep linear anneal), lrkit writes 0 (README, deliberate differences)
        assert_close(max(value(lt), 0.0), lk, f"{where} group {i} lr", rel, bound)
        if mt is not None or mk is not None:
            assert_close(mt, mk, f"{where} group {i} momentum", rel, 1e-15)


def assert_last_lr_match(lt, lk, where, rel=REL, abs_bounds=None):
    assert len(lt) == len(lk), where
    for i, (a, b) in enumerate(zip(lt, lk)):
        assert isinstance(a, torch.Tensor) == isinstance(b, torch.Tensor), f"{where}: get_last_lr type"
        assert_close(max(value(a), 0.0), b, f"{where} get_last_lr[{i}]", rel, abs_bounds[i] if abs_bounds else 0.0)


@contextlib.contextmanager
def quiet():
    """A context in which torch's own UserWarnings (order, epoch deprecation) are silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def save_load(state):
    """``state`` through torch.save and torch.load(weights_only=True)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def is_plain(x):
    """Only ints, floats, strings, bools, None, lists and dicts (with string keys)."""
    if x is None or isinstance(x, (bool, int, float, str)):
        return True
    if type(x) is list:
        return all(is_plain(v) for v in x)
    if type(x) is dict:
        return all(isinstance(k, str) and is_plain(v) for k, v in x.items())
    return False


def lrs_of(opt):
    return [value(g["lr"]) for g in opt.param_groups]


def momenta_of(opt):
    return [hyper(g)[1] for g in opt.param_groups]


__all__ = ["torch", "T", "K", "REL", "make_optimizer", "value", "hyper", "assert_close", "assert_groups_match",
           "assert_last_lr_match", "quiet", "save_load", "is_plain", "lrs_of", "momenta_of", "copy", "math",
           "random", "warnings", "pytest"]
