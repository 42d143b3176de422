"""A changed plan on resume for the composites (``SequentialLR``, ``ChainedScheduler``): the policy reaches
the members, and ``SequentialLR`` re-anchors its whole plan (``on_change="smooth"``).

The members load their own states under the composite's policy (``load_state_dict(state, on_change=...)``),
or, without one, each under its own (its constructor's ``on_change``: None is torch's rule with a warning).
``SequentialLR``'s milestones follow the same rule. A member whose plan changed makes the composite write
the loaded step's values into every group, as a drop-in does.

``SequentialLR`` with ``"smooth"``: its plan is the core's ``sequence`` of its members' curves (each on
its own clock from its milestone). The saved plan (the saved arguments and milestones) and the new one
give, per param group, ``R = lrkit.rejoin(saved, new, at=k)``; member ``j`` then follows ``R`` from its
milestone on (``shift(R, steps=m_j)``) as its re-anchored plan, which it saves as spec text in its own
state (``state["lrkit"]["plan"]``): a later resume under the same arguments continues it bit for bit, and
one under yet other arguments re-anchors it again.

``ChainedScheduler`` takes ``"keep"``, ``"raise"`` and torch's rule, not ``"new"`` or ``"smooth"``: its LR
is the product of its members' curves, each rebasing on the value the one before it wrote, and each member
saves the scale that product gave it. A new member curve leaves the others' saved scales stale (``"new"``),
and a rejoin of the product (an affine map around its final value) is no product of member curves.
"""
import bisect
import copy
import logging
import warnings

from .._errors import LrkitError, LrkitValueError
from .._combinators import sequence
from .._plans import replan
from .._warps import shift
from ._replan import PlanChangedWarning, config_changes, describe_changes, known_policy
from ._step import affine, key_name
from ._step_order import SCHEDULERS

#: the policies ``ChainedScheduler`` refuses, and why (its ``_refuses``)
CHAIN_REFUSES = {
    "new": "each member saves the scale its predecessors' product gave it; a member's new curve would leave "
           "the others' saved scales stale",
    "smooth": "it is made of other schedulers whose curves multiply, each rebasing on the one before; a rejoin "
              "of that product (an affine map around its final value) is no product of member curves",
}


def check_composite_policy(on_change, composite):
    """``on_change`` if the composite takes it; lrkit's error naming the class and why otherwise."""
    known_policy(on_change)
    name = type(composite).__name__
    refused = getattr(composite, "_refuses", {})
    if on_change in refused:
        raise LrkitValueError(f"{name} cannot take on_change={on_change!r}: {refused[on_change]}. Choose "
                              f"on_change='keep' or 'raise', or use lrkit.torch.ScheduleLR with a schedule")
    for i, s in enumerate(composite._schedulers):  # (a member's own policy applies where the composite has none)
        own = getattr(s, "on_change", None)
        if own in refused:
            raise LrkitValueError(f"{name} cannot take its member {i} ({type(s).__name__}) built with "
                                  f"on_change={own!r}: {refused[own]}. Build the member with 'keep' or 'raise'")
    if on_change == "smooth":
        for i, s in enumerate(composite._schedulers):
            reason = getattr(type(s), "_no_smooth", "it is not an lrkit drop-in")
            if hasattr(s, "_schedulers"):
                reason = "it is made of other schedulers"
            if reason:
                raise LrkitValueError(f"{name} cannot take on_change='smooth': its member {i} "
                                      f"({type(s).__name__}) has no plan to re-anchor: {reason}. Choose "
                                      f"on_change='keep', 'new' or 'raise', or use lrkit.torch.ScheduleLR with a "
                                      f"schedule")
    return on_change


def load_members(composite, subs, policy):
    """Load each member's state under ``policy`` (None: the member's own ``on_change``); a member whose
    plan changed marks the composite (its values then go into every group) and its change is recorded."""
    for i, (s, sub) in enumerate(zip(composite._schedulers, subs)):
        if not hasattr(s, "_load"):
            s.load_state_dict(sub)
            continue
        before = len(s.__dict__.get("plan_changes", ()))
        s._on_change_now = policy if policy is not None else s.on_change
        try:
            s._load(sub)
        finally:
            s.__dict__.pop("_on_change_now", None)
        if s.__dict__.pop("_plan_changed", False):
            composite._members_changed = True
        for entry in s.__dict__.get("plan_changes", [])[before:]:
            composite.__dict__.setdefault("plan_changes", []).append({**entry, "member": i})


def milestones_policy(composite, saved, policy):
    """The milestones a ``SequentialLR`` takes from a state holding ``saved`` ones, under ``policy``."""
    current = list(composite._milestones)
    if saved is None or list(saved) == current:
        return current
    changes = {"milestones": (list(saved), current)}
    if policy == "raise":
        raise LrkitValueError(
            f"SequentialLR.load_state_dict: the plan changed on resume: constructor arguments (saved -> new) "
            f"{describe_changes(changes)}. Choose on_change='keep' (the saved ones win, torch's rule), 'new' "
            f"(the new ones win) or 'smooth' (the saved plan re-anchored onto the new one)")
    composite.__dict__.setdefault("plan_changes", []).append(
        {"policy": policy, "changes": {"milestones": [list(saved), current]}})
    if policy == "new":
        composite._members_changed = True
        return current
    if policy is None:
        message = (f"SequentialLR.load_state_dict: the saved milestones win (torch's rule): {describe_changes(changes)}"
                   f". Pass load_state_dict(state, on_change='new') to take the new ones, 'smooth' to re-anchor the "
                   f"saved plan onto them, 'keep' to silence this, 'raise' to refuse")
        warnings.warn(message, PlanChangedWarning, stacklevel=5)
        logging.getLogger("lrkit").warning(message)
    return list(saved)


def repositioned(subs, milestones, k):
    """The members' states with their positions (``last_epoch``) at step ``k`` under ``milestones`` (new
    ones taken): the active member at ``k`` minus its milestone, the members after it not started."""
    active = bisect.bisect_right(milestones, k)
    starts = [0] + list(milestones)
    out = []
    for j, sub in enumerate(subs):
        sub = dict(sub) if isinstance(sub, dict) else sub
        if isinstance(sub, dict) and j >= active:
            sub["last_epoch"] = k - starts[j] if j == active else -1
            sub.pop("_last_lr", None)  # (no rebase on the values of the old position)
        out.append(sub)
    return out


# ---- SequentialLR, on_change="smooth" ----------------------------------------------------------------------
def _curves(member):
    """``{track: [each group's curve on the member's clock]}``: its re-anchored plan, or its curves from the
    construction scaling (a member restarts from its closed form at its milestone)."""
    out = {}
    for h in member._hyperparameters or []:
        out[key_name(h.key)] = [None if j is None else affine(h.units[j], h.initial.scale[i], h.initial.offsets()[i])
                                for i, j in enumerate(h.unit_of_group)]
    return out


def _plans(members, milestones):
    """The composite's plan per track and group: the ``sequence`` of its members' curves."""
    curves = [_curves(m) for m in members]
    tracks = set(curves[0])
    for i, c in enumerate(curves):
        if set(c) != tracks:
            raise LrkitValueError(
                f"SequentialLR cannot take on_change='smooth': its members drive different hyperparameters "
                f"(member 0: {sorted(tracks)}, member {i}: {sorted(c)}), so no one plan of each spans the run")
    bounds = [float(m) for m in milestones]
    return {track: [sequence([c[track][g] for c in curves], boundaries=bounds) if bounds else curves[0][track][g]
                    for g in range(len(curves[0][track]))] for track in tracks}


def plan_changed(composite, state, subs):
    """Do the saved milestones or a member's saved arguments differ from the composite's?"""
    saved = state.get("_milestones")
    if saved is not None and list(saved) != list(composite._milestones):
        return True
    return any(isinstance(sub, dict) and hasattr(s, "_config") and s._hyperparameters is not None
               and config_changes(s, sub) for s, sub in zip(composite._schedulers, subs))


def sequential_smooth(composite, state, subs):
    """``SequentialLR._load`` under ``"smooth"`` (see the module docstring); ``state`` without its members."""
    members, k = composite._schedulers, state.get("last_epoch", composite.last_epoch)
    new_milestones = list(composite._milestones)
    new_plans = _plans(members, new_milestones)
    keep = {id(composite.optimizer): composite.optimizer}
    saved_members = []
    for s, sub in zip(members, subs):  # the saved plan: the saved states in copies of the members
        shadow = copy.deepcopy(s, dict(keep))
        SCHEDULERS.get(composite.optimizer, {}).pop(shadow, None)  # (a shadow: never the monitor's plan)
        shadow._on_change_now = "keep"
        shadow._load(copy.deepcopy(sub))
        saved_members.append(shadow)
    old_plans = _plans(saved_members, state.get("_milestones", new_milestones))
    followed = {}
    for track, per in new_plans.items():
        followed[track] = []
        for g, (new, old) in enumerate(zip(per, old_plans[track])):
            try:
                followed[track].append(None if new is None else replan(old, new, k, "smooth"))
            except LrkitError as error:
                raise type(error)(f"SequentialLR.load_state_dict: {track} of param group {g}: {error}") from None
    starts = [0] + new_milestones
    active = bisect.bisect_right(new_milestones, k)
    for j, (s, sub) in enumerate(zip(members, repositioned(subs, new_milestones, k))):
        loaded = dict(sub)
        loaded.update(s._config())  # (the new arguments, with the re-anchored plan: nothing changed for the member)
        loaded.pop("_last_lr", None)
        lrkit_state = dict(loaded.get("lrkit") or {})
        lrkit_state.pop("tracks", None)
        lrkit_state["plan"] = {track: [None if r is None else repr(r if starts[j] == 0 else shift(r, starts[j]))
                                       for r in per] for track, per in followed.items()}
        loaded["lrkit"] = lrkit_state
        s._check_state(loaded)
        s._on_change_now = "keep"
        try:
            s._load(loaded)
        finally:
            s.__dict__.pop("_on_change_now", None)
    composite.last_epoch = k
    composite._milestones = new_milestones
    composite._last_lr = members[active].get_last_lr()
    composite._members_changed = True
    composite.__dict__.setdefault("plan_changes", []).append(
        {"step": k, "policy": "smooth", "milestones": [state.get("_milestones"), new_milestones],
         "followed": {track: [repr(r) for r in per] for track, per in followed.items()}})
