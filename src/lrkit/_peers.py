"""Peer libraries' schedules under their own names (``lrkit.peers``): the base class and the registry.

A peer's named constructor is a :class:`Peer`, a :class:`Recipe` whose class name is dotted,
``"hf.cosine_with_min_lr"``: its repr is the peer's call with the peer's own argument names, its
``.expanded`` is the same curve in lrkit's shapes, and ``to_config`` saves it under the dotted name,
which ``lrkit.from_config`` and spec strings (``"hf.cosine_with_min_lr(...)"``) read back through
``lrkit._base.PEERS``. Nothing here imports a peer library: specs are data.
"""
from . import _checks as check
from ._base import PEERS, REGISTRY, register
from ._combinators import sequence, warmup
from ._recipes import Recipe
from ._shapes import linear

#: The prefix of each peer library in specs, configs and the CLI.
LIBRARIES = {"hf": "transformers", "timm": "timm", "optax": "optax", "keras": "Keras",
             "deepspeed": "DeepSpeed", "megatron": "Megatron-LM", "olmo": "OLMo-core"}


class Peer(Recipe):
    """A peer library's schedule under its own name, arguments and defaults (see lrkit.peers)."""


def peer(prefix, *aliases):
    """Register a :class:`Peer` class as ``prefix.<its name>`` (and ``prefix.<alias>`` for each alias)."""
    def wrap(cls):
        cls.__name__ = f"{prefix}.{cls.__name__}"
        cls = register(cls)
        PEERS[cls.__name__] = REGISTRY.pop(cls.__name__)
        for alias in aliases:
            PEERS[f"{prefix}.{alias}"] = cls
        return cls
    return wrap


def peer_function(prefix, *aliases):
    """Register a function that returns a schedule (``hf.get_scheduler``) as ``prefix.<its name>`` (and
    ``prefix.<alias>``) for specs."""
    def wrap(fn):
        for name in (fn.__name__, *aliases):
            PEERS[f"{prefix}.{name}"] = fn
        return fn
    return wrap


def steps(name, value):
    """A whole number of steps >= 0 (a peer's step counts are ints)."""
    return check.count(name, value)


def then(ramp, body, at):
    """``ramp`` before step ``at``, ``body`` (on its own clock) from ``at`` on: lrkit's ``warmup`` when
    ``ramp`` is a line from 0 up to ``body(0)``, else a ``sequence``. ``at == 0``: ``body``."""
    if at == 0:
        return body
    if isinstance(ramp, linear) and ramp.start == 0 and ramp.steps == at and ramp.end == body(0):
        return warmup(body, steps=at)
    return sequence([ramp, body], boundaries=[at])


def phases(parts):
    """``[(length, schedule), ...]`` one after another, parts of length 0 left out (the last part's
    length is ignored: it runs on)."""
    kept = [(length, part) for length, part in parts[:-1] if length > 0] + [parts[-1]]
    if len(kept) == 1:
        return kept[0][1]
    bounds, total = [], 0
    for length, _ in kept[:-1]:
        total += length
        bounds.append(total)
    return sequence([part for _, part in kept], boundaries=bounds)

