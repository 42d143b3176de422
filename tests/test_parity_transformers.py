"""lrkit against Hugging Face transformers' named schedules (``transformers.get_*_schedule*``), float64.

Each HF schedule is a torch ``LambdaLR`` whose multiplier is computed in Python floats; here it is
stepped with a real optimizer and the LR each update uses is read, as in tests/test_parity_frameworks.py,
whose helpers (and tolerance: 1e-12 relative) this module shares. Two conventions differ from lrkit's
and each mapping below states them: HF's ``num_training_steps`` counts the warmup (lrkit's decay
``steps`` count after it), and HF's cosine keeps going past ``num_training_steps`` (it rises again),
where lrkit's cosine holds its end. The cosine rows compute ``cos`` of the same angle through a
different order of operations (``pi * 2c * (t - w) / (N - w)`` against lrkit's ``pi * (t - w) / D``),
so they also allow 4 ulps of the peak (``ulps``) near the end of a decay, where ``1 + cos`` is small.
"""
import math

import pytest

import lrkit
from test_parity_frameworks import assert_matches, lr_value, rng_for, torch_lrs, ulps

transformers = pytest.importorskip("transformers")
pytest.importorskip("torch")
N_CONFIGS = 8


def _configs(name, n=N_CONFIGS):
    """(lr, warmup, total) triples: HF's total counts the warmup; a warmup of 0 included."""
    rng = rng_for(name)
    for i in range(n):
        warm = 0 if i == 0 else int(rng.integers(1, 50))
        yield lr_value(rng), warm, warm + int(rng.integers(1, 300))


def _warmup(schedule, warm):
    return lrkit.warmup(schedule, steps=warm) if warm else schedule


def test_constant_schedule():
    """get_constant_schedule = constant(lr); get_constant_schedule_with_warmup(w) = warmup(constant(lr), w)."""
    for lr, warm, _ in _configs("hf-constant"):
        ref = torch_lrs(lambda o: transformers.get_constant_schedule(o), lr, 50)
        assert_matches(lrkit.constant(lr), range(50), ref, f"get_constant_schedule lr={lr}")
        ref = torch_lrs(lambda o: transformers.get_constant_schedule_with_warmup(o, warm), lr, warm + 50)
        assert_matches(_warmup(lrkit.constant(lr), warm), range(warm + 50), ref,
                       f"get_constant_schedule_with_warmup({warm}) lr={lr}")


def test_linear_schedule_with_warmup():
    """get_linear_schedule_with_warmup(w, N) = warmup(linear(lr, 0, steps=N - w), steps=w); both hold 0 after N."""
    for lr, warm, total in _configs("hf-linear"):
        ref = torch_lrs(lambda o: transformers.get_linear_schedule_with_warmup(o, warm, total), lr, total + 40)
        s = _warmup(lrkit.linear(lr, 0.0, steps=total - warm), warm)
        assert_matches(s, range(total + 40), ref, f"get_linear_schedule_with_warmup({warm}, {total}) lr={lr}",
                       atol=ulps(lr))  # HF: lr * ((N - t) / (N - w)); lrkit: lr + (0 - lr) * (t - w) / (N - w)


@pytest.mark.parametrize("cycles", [0.5, 0.25, 1.0, 1.5])
def test_cosine_schedule_with_warmup(cycles):
    """get_cosine_schedule_with_warmup(w, N, num_cycles=c) is ``lr * (1 + cos(2 pi c p)) / 2`` with
    p = (t - w) / (N - w), for every t >= w: past N it keeps going (rises again for c = 0.5). The
    whole curve: warmup(repeat(sequence([cosine(lr, 0, P/2), cosine(0, lr, P/2)], [P/2]), P), w) with
    P = (N - w) / c; up to N with c = 0.5 it is lrkit's warmup(cosine(lr, 0.0, steps=N - w), steps=w),
    which holds 0 after N."""
    for lr, warm, total in _configs(f"hf-cosine-{cycles}"):
        n = warm + 3 * (total - warm) + 5
        ref = torch_lrs(lambda o: transformers.get_cosine_schedule_with_warmup(o, warm, total, num_cycles=cycles),
                        lr, n)
        half = (total - warm) / cycles / 2
        wave = lrkit.repeat(lrkit.sequence([lrkit.cosine(lr, 0.0, steps=half), lrkit.cosine(0.0, lr, steps=half)],
                                           boundaries=[half]), period=2 * half)
        what = f"get_cosine_schedule_with_warmup({warm}, {total}, num_cycles={cycles}) lr={lr}"
        assert_matches(_warmup(wave, warm), range(n), ref, what, atol=ulps(lr))
        if cycles == 0.5:
            held = _warmup(lrkit.cosine(lr, 0.0, steps=total - warm), warm)
            assert_matches(held, range(total + 1), ref[:total + 1], what + " up to N", atol=ulps(lr))
            assert held(total + 1) == 0.0 and ref[total + 1] > 0.0   # HF rises again past N, lrkit holds


def test_cosine_with_min_lr_schedule_with_warmup():
    """get_cosine_with_min_lr_schedule_with_warmup(w, N, min_lr=m) = warmup(cosine(lr, m, steps=N - w), w)
    up to N (past N HF rises again, as above); min_lr_rate=r is min_lr = r * lr."""
    for lr, warm, total in _configs("hf-cosine-min-lr"):
        low = lr * 0.1
        ref = torch_lrs(lambda o: transformers.get_cosine_with_min_lr_schedule_with_warmup(
            o, warm, total, min_lr=low), lr, total + 1)
        s = _warmup(lrkit.cosine(lr, low, steps=total - warm), warm)
        assert_matches(s, range(total + 1), ref, f"get_cosine_with_min_lr({warm}, {total}, min_lr={low})",
                       atol=ulps(lr))


@pytest.mark.parametrize("cycles", [1, 2, 3])
def test_cosine_with_hard_restarts_schedule_with_warmup(cycles):
    """get_cosine_with_hard_restarts_schedule_with_warmup(w, N, num_cycles=k) =
    warmup(sequence([cosine_restarts(lr, 0, period=(N - w) / k), constant(0)], [N - w]), w): 0 from N on."""
    for lr, warm, total in _configs(f"hf-hard-restarts-{cycles}"):
        ref = torch_lrs(lambda o: transformers.get_cosine_with_hard_restarts_schedule_with_warmup(
            o, warm, total, num_cycles=cycles), lr, total + 20)
        decay = total - warm
        s = _warmup(lrkit.sequence([lrkit.cosine_restarts(lr, 0.0, period=decay / cycles), lrkit.constant(0.0)],
                                   boundaries=[decay]), warm)
        # HF: ((k * p) % 1.0) of p = (t - w) / (N - w); lrkit: t - n * period: the cycle position may differ
        # by an ulp, which at a cycle's end is an ulp of cos near pi: 4 ulps of the peak
        assert_matches(s, range(total + 20), ref, f"hard_restarts({warm}, {total}, num_cycles={cycles}) lr={lr}",
                       atol=ulps(lr))


def test_polynomial_decay_schedule_with_warmup():
    """get_polynomial_decay_schedule_with_warmup(w, N, lr_end, power) =
    warmup(polynomial(lr, lr_end, steps=N - w, power=power), w); both hold lr_end after N."""
    rng = rng_for("hf-polynomial")
    for lr, warm, total in _configs("hf-polynomial"):
        end, power = lr * float(rng.uniform(0.0, 0.5)), float(rng.choice([1.0, 2.0, rng.uniform(0.3, 3.0)]))
        ref = torch_lrs(lambda o: transformers.get_polynomial_decay_schedule_with_warmup(
            o, warm, total, lr_end=end, power=power), lr, total + 30)
        s = _warmup(lrkit.polynomial(lr, end, steps=total - warm, power=power), warm)
        # HF returns decay / lr, which LambdaLR multiplies by lr again: a rounding per operation
        assert_matches(s, range(total + 30), ref, f"polynomial({warm}, {total}, lr_end={end}, power={power})",
                       atol=ulps(lr))


def test_inverse_sqrt_schedule():
    """get_inverse_sqrt_schedule(w, timescale=T) = warmup(inverse_sqrt(lr, steps=T), w) (T defaults to
    w, or 10,000 without a warmup: transformers' own default)."""
    rng = rng_for("hf-inverse-sqrt")
    for lr, warm, _ in _configs("hf-inverse-sqrt"):
        for timescale in (None, int(rng.integers(1, 500))):
            ref = torch_lrs(lambda o: transformers.get_inverse_sqrt_schedule(o, warm, timescale=timescale), lr, 400)
            t = timescale if timescale is not None else (warm or 10_000)
            assert_matches(_warmup(lrkit.inverse_sqrt(lr, steps=t), warm), range(400), ref,
                           f"get_inverse_sqrt_schedule({warm}, timescale={timescale}) lr={lr}")


@pytest.mark.parametrize("warmup_type", ["linear", "cosine"])
@pytest.mark.parametrize("decay_type", ["linear", "cosine", "1-sqrt"])
def test_wsd_schedule(warmup_type, decay_type):
    """get_wsd_schedule(w, d, num_stable_steps=s, warmup_type, decay_type, min_lr_ratio=r) =
    warmup(sequence([constant(lr), DECAY(lr, r * lr, steps=d)], [s]), w, start=r * lr, shape=warmup_type),
    DECAY = linear / cosine / one_minus_sqrt; r * lr after the decay. (HF's warmup_type="1-sqrt" has no lrkit
    warmup shape.) With r = 0 and a linear warmup it is lrkit's wsd(lr, steps=w + s + d, warmup=w, decay=d)."""
    decays = {"linear": lrkit.linear, "cosine": lrkit.cosine, "1-sqrt": lrkit.one_minus_sqrt}
    rng = rng_for(f"hf-wsd-{warmup_type}-{decay_type}")
    for i, (lr, warm, _) in enumerate(_configs(f"hf-wsd-{warmup_type}-{decay_type}")):
        stable, decay = int(rng.integers(0, 100)), int(rng.integers(1, 100))
        ratio = 0.0 if i % 3 == 0 else float(rng.uniform(0.0, 0.5))
        n = warm + stable + decay + 20
        ref = torch_lrs(lambda o: transformers.get_wsd_schedule(
            o, warm, decay, num_stable_steps=stable, warmup_type=warmup_type, decay_type=decay_type,
            min_lr_ratio=ratio), lr, n)
        body = lrkit.sequence([lrkit.constant(lr), decays[decay_type](lr, ratio * lr, steps=decay)], boundaries=[stable]) \
            if stable else decays[decay_type](lr, ratio * lr, steps=decay)
        s = lrkit.warmup(body, steps=warm, start=ratio * lr, shape=warmup_type) if warm else body
        what = f"get_wsd_schedule({warm}, {decay}, stable={stable}, {warmup_type}, {decay_type}, min_lr_ratio={ratio})"
        assert_matches(s, range(n), ref, what, atol=ulps(lr))
        if ratio == 0.0 and warmup_type == "linear" and warm and decay_type in ("linear", "1-sqrt", "cosine"):
            shape = {"linear": "linear", "cosine": "cosine", "1-sqrt": "1-sqrt"}[decay_type]
            recipe = lrkit.wsd(lr, steps=warm + stable + decay, warmup=warm, decay=decay, shape=shape)
            assert_matches(recipe, range(n), ref, what + " as lrkit.wsd", atol=ulps(lr))
        assert math.isclose(ref[-1], ratio * lr, rel_tol=1e-12, abs_tol=1e-300)
