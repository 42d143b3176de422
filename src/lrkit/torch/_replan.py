"""A changed plan on resume is never silent (the torch side of ``lrkit.replan``).

``ScheduleLR``: a saved schedule other than the current one follows ``on_change`` (``"raise"`` by default,
``"keep"``, ``"new"``, ``"smooth"``), decided before anything changes. The drop-ins keep torch's rule (the
saved constructor arguments win) and warn with a :class:`PlanChangedWarning` naming each changed argument
(``T_max 100 -> 200``) and the LR that results, unless a policy is given: ``load_state_dict(state,
on_change=...)`` with ``"keep"`` (torch's rule, no warning), ``"new"`` (the constructor's arguments win),
``"raise"``, or ``"smooth"``: the saved plan re-anchored onto the new arguments' plan at the resume step
(``lrkit.rejoin`` per param group), which the scheduler follows from then on and saves under the ``lrkit``
entry's ``"plan"`` (spec strings), so that it loads again and re-anchors again. Every change found is
appended to the scheduler's ``plan_changes`` (a list of dicts), which a monitor reads.
"""
import collections
import logging
import math
import warnings

from .._errors import LrkitError, LrkitValueError, excerpt
from .._plans import POLICIES, check_policy as _check, continues, replan
from .._scaling import Scaling
from .._spec import parse
from ._loading import state_error
from ._step import Hyperparameter, key_name

#: the logger a drop-in's PlanChangedWarning also goes to (the HF Trainer drops a lone warning raised while
#: it loads a scheduler: transformers' reissue_pt_warnings reissues only when it caught more than one)
LOG = logging.getLogger("lrkit")

#: the drop-ins' policies: None is torch's rule with a warning
DROP_IN_POLICIES = (None, "raise", "keep", "new", "smooth")

#: state keys of the drop-ins that are progress, not plan (a restart's position)
_PROGRESS = {"T_cur", "T_i", "_scale_fn_custom", "lr_lambdas"}


class PlanChangedWarning(UserWarning):
    """A drop-in resumed under constructor arguments other than the saved ones (the saved ones win)."""


def check_policy(on_change):
    return _check(on_change, POLICIES)


def known_policy(on_change):
    """``on_change`` if it names a policy; lrkit's error naming the value otherwise."""
    if on_change not in DROP_IN_POLICIES:
        raise LrkitValueError(f"on_change must be one of None (torch's rule, with a warning), 'raise', 'keep', "
                              f"'new', 'smooth', got {excerpt(on_change)}")
    return on_change


def check_drop_in_policy(on_change, scheduler):
    """``on_change`` if ``scheduler`` (a drop-in or its class) takes it; lrkit's error naming it otherwise
    (``"smooth"`` where the class says why it has no plan to re-anchor: ``_no_smooth``)."""
    known_policy(on_change)
    cls = scheduler if isinstance(scheduler, type) else type(scheduler)
    if not isinstance(scheduler, type) and hasattr(scheduler, "_check_policy"):  # (a composite: its members decide)
        return scheduler._check_policy(on_change)
    if on_change == "smooth" and cls._no_smooth:
        raise LrkitValueError(f"{cls.__name__} cannot take on_change='smooth': {cls._no_smooth}. Choose "
                              f"on_change='keep', 'new' or 'raise', or use lrkit.torch.ScheduleLR with a schedule")
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
        f"torch's rule), 'new' (the new ones win) or 'smooth' (the saved plan re-anchored onto the new one)")


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
            f"arguments, 'smooth' to re-anchor the saved plan onto them, 'keep' to silence this, 'raise' to refuse")
        warnings.warn(message, PlanChangedWarning, stacklevel=4)
        LOG.warning(message)


def _values(values):
    return "[" + ", ".join(f"{v:.6g}" if isinstance(v, float) else repr(v) for v in values) + "]"


# ---- a drop-in's re-anchored plan (on_change="smooth") --------------------------------------------
def saved_plan(state):
    """The re-anchored plan a state holds (``{track: [schedule or None per group]}``), or None."""
    lrkit_state = state.get("lrkit")
    plan = lrkit_state.get("plan") if isinstance(lrkit_state, dict) else None
    if not plan:
        return None
    return {key: [None if text is None else parse(text) for text in texts] for key, texts in plan.items()}


def anchor(scheduler, plan):
    """Make ``plan`` (None: none) the scheduler's re-anchored plan (an attribute only while there is one)."""
    scheduler.__dict__.pop("_anchored", None)
    if plan:
        scheduler._anchored = plan


def plan_rule(n_groups):
    """The rule of the ``lrkit`` entry's ``"plan"``: track name -> one spec string (or None) per group."""
    def check(path, value):
        if value is None:
            return
        if not isinstance(value, dict):
            raise state_error(path, "must be a dict of track names to lists of specs", value)
        for key, texts in value.items():
            where = f"{path}[{excerpt(key)}]"
            if not isinstance(key, str) or not isinstance(texts, list) or len(texts) != n_groups():
                raise state_error(where, f"must be a list of {n_groups()} specs (one per param group)", texts)
            for i, text in enumerate(texts):
                if text is None:
                    continue
                if not isinstance(text, str):
                    raise state_error(f"{where}[{i}]", "must be a spec string or None", text)
                try:
                    parse(text)
                except LrkitError as error:
                    raise state_error(f"{where}[{i}]", f"is not a schedule ({excerpt(str(error))})",
                                      text) from None
    return check


def plan_state(scheduler):
    """The ``"plan"`` entry of a state_dict: the re-anchored plan as spec strings (None: none)."""
    plan = getattr(scheduler, "_anchored", None)
    if not plan:
        return None
    return {key: [None if s is None else repr(s) for s in per] for key, per in plan.items()}


def planned(scheduler, hyperparameters):
    """``hyperparameters`` with the re-anchored plan (``scheduler._anchored``) in place of their curves:
    group ``i`` follows its own schedule, scale 1 (a chainable one rebases around 0)."""
    plan = getattr(scheduler, "_anchored", None)
    if not plan or not hyperparameters:
        return hyperparameters
    out = []
    for h in hyperparameters:
        per = plan.get(key_name(h.key))
        if per is None or len(per) != h.n_groups:
            out.append(h)
            continue
        units = [s if s is not None else h.schedule(i) for i, s in enumerate(per)]
        out.append(Hyperparameter(h.key, units, list(range(h.n_groups)), Scaling([1.0] * h.n_groups),
                                  chainable=h.chainable))
    return out


def _schedules(scheduler, h):
    """Each group's schedule of ``h`` now: the re-anchored plan's own (not times 1) where it has one."""
    per = (getattr(scheduler, "_anchored", None) or {}).get(key_name(h.key))
    if per is not None and not h.rebased:
        return list(per)
    return [h.schedule(i) for i in range(h.n_groups)]


def smooth(scheduler, constructed, t):
    """``on_change="smooth"``: the scheduler holds the saved arguments (and saved plan) now; take the
    constructed arguments ``constructed`` (``_config()``'s dict) back and follow, per hyperparameter and
    group, ``lrkit.rejoin(saved plan, new plan, at=t)``. Returns the hyperparameters to follow."""
    old = {key_name(h.key): _schedules(scheduler, h) for h in scheduler._hyperparameters or []}
    scheduler._load_config(constructed)
    anchor(scheduler, None)
    new = scheduler._make_hyperparameters()
    plan = {}
    for h in new or []:
        name = key_name(h.key)
        before = old.get(name)
        if before is None or len(before) != h.n_groups:
            continue
        per = []
        for i, (saved, current) in enumerate(zip(before, _schedules(scheduler, h))):
            if saved is None or current is None or saved == current:
                per.append(None)
                continue
            try:
                per.append(replan(saved, current, t, "smooth"))
            except LrkitError as error:
                raise type(error)(f"{type(scheduler).__name__}.load_state_dict: {_label(name)} of param group "
                                  f"{i}: {error}") from None
        if any(s is not None for s in per):
            plan[name] = per
    anchor(scheduler, plan)
    return planned(scheduler, new)
