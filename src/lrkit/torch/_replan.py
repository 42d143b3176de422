"""A changed plan on resume is never silent (the torch side of ``lrkit.replan``).

``ScheduleLR``: a saved schedule other than the current one follows ``on_change`` (``"raise"`` by default,
``"keep"``, ``"new"``, ``"smooth"``), decided before anything changes. The drop-ins keep torch's rule (the
saved constructor arguments win) and warn with a :class:`PlanChangedWarning` naming each changed argument
(``T_max 100 -> 200``) and the LR that results, unless a policy is given: ``load_state_dict(state,
on_change=...)`` with ``"keep"`` (torch's rule, no warning), ``"new"`` (the constructor's arguments win),
``"raise"``. Every change found is appended to the scheduler's ``plan_changes`` (a list of dicts), which a
monitor reads.
"""
import collections
import logging
import math
import warnings

from .._errors import LrkitError, LrkitValueError, excerpt
from .._plans import POLICIES, check_policy as _check, continues, replan
from .._spec import parse

#: the logger a drop-in's PlanChangedWarning also goes to (the HF Trainer drops a lone warning raised while
#: it loads a scheduler: transformers' reissue_pt_warnings reissues only when it caught more than one)
LOG = logging.getLogger("lrkit")

#: the drop-ins' policies: None is torch's rule with a warning; "smooth" needs a schedule (ScheduleLR)
DROP_IN_POLICIES = (None, "raise", "keep", "new")

#: state keys of the drop-ins that are progress, not plan (a restart's position)
_PROGRESS = {"T_cur", "T_i", "_scale_fn_custom", "lr_lambdas"}


class PlanChangedWarning(UserWarning):
    """A drop-in resumed under constructor arguments other than the saved ones (the saved ones win)."""


def check_policy(on_change):
    return _check(on_change, POLICIES)


def check_drop_in_policy(on_change):
    if on_change == "smooth":
        raise LrkitValueError("on_change='smooth' needs a schedule to re-anchor: use lrkit.torch.ScheduleLR "
                              "(a drop-in's constructor arguments cannot express a re-anchored plan)")
    if on_change not in DROP_IN_POLICIES:
        raise LrkitValueError(f"on_change must be one of None (torch's rule, with a warning), 'raise', 'keep', "
                              f"'new', got {excerpt(on_change)}")
    return on_change


def _label(key):
    return f"beta{key[1] + 1}" if isinstance(key, tuple) else key


def replanned_specs(scheduler, state_dict, policy):
    """``(specs or None, changes)``: the schedules ``ScheduleLR`` follows after loading ``state_dict``
    under ``policy`` (None: nothing changed), and a record of each change. Raises for ``"raise"``."""
    if not isinstance(state_dict, dict):
        return None, []  # (the load's own check names the problem)
    saved_all, last = state_dict.get("schedules"), state_dict.get("last_epoch")
    if not isinstance(saved_all, dict) or type(last) is not int or last < 0:
        return None, []
    at = scheduler._time(last)
    specs, changes = {}, []
    for key, per in scheduler._specs.items():
        saved_per = saved_all.get(_label(key))
        if not isinstance(saved_per, list) or len(saved_per) != len(per):
            specs[key] = per
            continue
        chosen = list(per)
        for i, (text, current) in enumerate(zip(saved_per, per)):
            if current is None or not isinstance(text, str) or text == repr(current):
                continue
            where = f"{_label(key)} of param group {i}"
            try:
                saved = parse(text)
            except LrkitError as error:
                if policy == "new":
                    continue
                raise LrkitValueError(f"the {where} changed on resume at step {at:g}: saved {excerpt(text)}, now "
                                      f"{excerpt(current)}, and the saved one cannot be rebuilt ({error})") from None
            if continues(saved, current):
                chosen[i] = saved
                continue
            followed = replan(saved, current, at, policy, where=where)
            chosen[i] = followed
            changes.append({"step": last, "time": at, "key": _label(key), "group": i, "policy": policy,
                            "saved": text, "current": repr(current), "followed": repr(followed),
                            "old": saved(at), "new": current(at), "applied": followed(at)})
        specs[key] = chosen
    return (specs if changes or any(specs[k] != scheduler._specs[k] for k in specs) else None), changes


# ---- the drop-ins ------------------------------------------------------------------------------------
def _plain(value):
    if isinstance(value, collections.Counter):
        return sorted(value.elements())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and getattr(value, "numel", lambda: 0)() == 1:
        return value.item()
    return value


def _same(a, b):
    a, b = _plain(a), _plain(b)
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def config_changes(scheduler, state):
    """``{name: (saved, constructed)}`` for each constructor argument ``state`` holds another value of."""
    constructed = scheduler._config()
    return {name: (state[name], value) for name, value in constructed.items()
            if name not in _PROGRESS and name in state and not _same(state[name], value)}


def describe_changes(changes):
    return ", ".join(f"{name} {excerpt(_plain(saved))} -> {excerpt(_plain(now))}"
                     for name, (saved, now) in changes.items())


def refuse(scheduler, changes, step):
    raise LrkitValueError(
        f"{type(scheduler).__name__}.load_state_dict: the plan changed on resume at step {step}: constructor "
        f"arguments (saved -> new) {describe_changes(changes)}. Choose on_change='keep' (the saved ones win, "
        f"torch's rule), 'new' (the new ones win) or use lrkit.torch.ScheduleLR for on_change='smooth'")


def record(scheduler, changes, policy, step, lr, other):
    """Append the change to ``scheduler.plan_changes``; warn under torch's rule (``policy`` None)."""
    entry = {"step": step, "policy": policy, "changes": {n: [_plain(a), _plain(b)] for n, (a, b) in changes.items()},
             "lr": lr, "lr_new_arguments": other}
    scheduler.__dict__.setdefault("plan_changes", []).append(entry)
    if policy is None:
        alternative = f"; the new arguments would give {_values(other)}" if other is not None else ""
        message = (
            f"{type(scheduler).__name__}.load_state_dict: the saved constructor arguments win (torch's rule), "
            f"they differ from this scheduler's (saved -> new): {describe_changes(changes)}. The LR at step {step} "
            f"is {_values(lr)}{alternative}. Pass load_state_dict(state, on_change='new') to take the new "
            f"arguments, 'keep' to silence this, 'raise' to refuse")
        warnings.warn(message, PlanChangedWarning, stacklevel=4)
        LOG.warning(message)


def _values(values):
    return "[" + ", ".join(f"{v:.6g}" if isinstance(v, float) else repr(v) for v in values) + "]"
