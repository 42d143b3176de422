"""Whole numpy curves of schedules made of parts: each part evaluated only on its own steps.

A ``sequence`` written against the namespace evaluates every part at every step and keeps one with
``where`` (right for jax, keras and torch graphs, which need one shape). On numpy that is m evaluations of
n steps for m parts; here the steps are sorted into their parts once (one ``searchsorted``) and each part
runs on its own steps only: O(n + m log m) work. Each value is computed by the same elementwise
operations as the ``where`` form, so the results are bitwise equal.
"""
import math

import numpy as np

#: below this many steps (and with few parts) the ``where`` form is cheaper than sorting steps into parts
MIN_STEPS = 4096
MIN_PARTS = 4


def worth_it(t, parts):
    """Evaluate by parts? (a 1-d numpy array of steps, long enough or with many parts)."""
    return type(t) is np.ndarray and t.ndim == 1 and (t.size >= MIN_STEPS or parts >= MIN_PARTS)


def by_parts(t, edges, evaluate, side="right"):
    """``out[k] = evaluate(i, t[steps of part i])`` where part ``i`` holds the steps with ``#{edges <= t} == i``
    (``side="left"``: ``#{edges < t}``); ``edges`` sorted (a float64 array). None where ``t`` holds a NaN
    (the ``where`` form decides those)."""
    if np.isnan(t).any():
        return None
    out = np.empty(t.shape, dtype=np.float64)
    n = t.size
    if n == 0:
        return out
    if n == 1 or (t[1:] >= t[:-1]).all():  # sorted steps (a curve): where each part starts, m searches in t
        starts = np.searchsorted(t, edges, side="left" if side == "right" else "right").tolist()
        bounds = [0, *starts, n]
        for i in range(len(bounds) - 1):
            a, b = bounds[i], bounds[i + 1]
            if a < b:
                out[a:b] = evaluate(i, t[a:b])
        return out
    index = np.searchsorted(edges, t, side=side)
    order = np.argsort(index, kind="stable")
    ordered = index[order]
    cuts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    bounds = [0, *cuts.tolist(), n]
    for a, b in zip(bounds[:-1], bounds[1:]):
        where = order[a:b]
        out[where] = evaluate(int(ordered[a]), t[where])
    return out


def arrays(schedule, *fields):
    """``fields`` (tuples of numbers) as float64 arrays, built once and kept on ``schedule`` (``_arrays``)."""
    found = tuple(np.asarray(f, dtype=np.float64) for f in fields)
    object.__setattr__(schedule, "_arrays", found)
    return found


def split(t, first, ahead, behind, ahead_into=None):
    """``np.where(first, ahead(t), behind(t))`` for a 1-d numpy ``t`` and a boolean mask ``first`` of it, with each
    function run only on its own steps (``ahead`` where ``first`` holds, ``behind`` elsewhere): the same elementwise
    operations on the same numbers, so the same values bit for bit, and no ``where``. None where the steps of
    ``first`` do not all come before the others (the caller's ``where`` form decides), or where a side's value
    is not a new float64 array of its steps' shape. ``ahead_into(steps, out)``, where given, computes ``ahead``
    straight into the output's slice (no copy)."""
    k = int(np.count_nonzero(first))
    if k == t.size or k == 0:  # one side only (the warmup of a short curve, say)
        value = ahead(t) if k else behind(t)
        return value if _whole(value, t) else None
    if first.argmin() != k:  # the first step outside ``first`` comes after its k steps: they come first
        return None
    before, after = t[:k], t[k:]
    out = np.empty(t.shape, dtype=np.float64)
    if ahead_into is not None:
        ahead_into(before, out[:k])
    else:
        head = ahead(before)
        if not _whole(head, before):
            return None
        out[:k] = head
    tail = behind(after)
    if not _whole(tail, after):
        return None
    out[k:] = tail
    return out


def cosine_curve(t, start, end, steps, exponent, divide_first):
    """``lrkit.cosine``'s formula on a float64 array ``t`` (ndim >= 1), computed in one buffer: the same operations
    on the same numbers in the same order as the formula (so the same values bit for bit: tests/test_short_curves.py),
    without a new array per operation. ``cos`` and the power run out of place, as the formula runs them (the same
    numpy loop). ``end + x`` is left out where ``end`` is +0.0: ``x = (start - 0.0) * wave`` is then never -0.0
    (``start >= 0``, ``wave = (1 + cos) / 2 >= +0``), so ``0.0 + x`` is ``x``."""
    w = np.minimum(t, steps)
    if divide_first:  # pi * t would overflow: divide first
        np.divide(w, steps, out=w)
        np.multiply(math.pi, w, out=w)
    else:
        np.multiply(math.pi, w, out=w)
        np.divide(w, steps, out=w)
    w = np.cos(w)
    np.add(1, w, out=w)
    np.multiply(w, 0.5, out=w)
    if exponent != 1:
        w = w ** exponent
    np.multiply(start - end, w, out=w)
    if end != 0 or math.copysign(1.0, end) < 0 or start < 0:
        np.add(end, w, out=w)
    return w


def linear_ramp(t, start, peak, steps, out=None):
    """``warmup``'s linear ramp ``start + (peak - start) * (t / steps)`` on a float64 array ``t`` (ndim >= 1), in
    one buffer (``out``, a float64 array of ``t``'s shape, where given): the formula's operations in its order."""
    u = np.divide(t, steps, out=out)
    np.multiply(peak - start, u, out=u)
    np.add(start, u, out=u)
    return u


def _whole(value, t):
    """Is ``value`` a new float64 array of ``t``'s shape (what ``where`` would have made of it)?"""
    return type(value) is np.ndarray and value.shape == t.shape and value.dtype is _FLOAT64 and value is not t


_FLOAT64 = np.dtype(np.float64)
