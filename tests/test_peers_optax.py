"""lrkit.peers.optax (optax's schedules by their own names) against the installed optax 0.2.8.

optax is run with ``jax_enable_x64`` (its schedules then compute in float64) and evaluated at the integer
counts 0..599 (``jax.vmap`` over the count, as its step counter); the peer built from the same arguments
gives the same values at steps 0..599, for seeded random configs: 1e-12 relative, or 4 ulps of the largest
value where optax interpolates as ``(end - start) * pct + start`` or computes ``1 + cos`` with XLA's cos
(tests/test_parity_frameworks.py's ``assert_matches``). optax's default float32 is checked once per
schedule against the peer's float64 values rounded to float32: within 8 float32 ulps of the largest value.
"""
import numpy as np
import pytest

import lrkit
from lrkit.peers import optax as peers
from test_parity_frameworks import assert_matches, lr_value, rng_for, ulps
from ulps import assert_ulps

STEPS = np.arange(600)
N = 12


@pytest.fixture(scope="module")
def optax():
    jax = pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield optax
    jax.config.update("jax_enable_x64", previous)


def values(schedule, steps=STEPS):
    import jax
    import jax.numpy as jnp
    return np.asarray(jax.vmap(schedule)(jnp.asarray(steps)), dtype=np.float64)


def compare(optax, name, draw, scale_of):
    rng = rng_for(f"peer-optax-{name}")
    for i in range(N):
        args, kwargs = draw(rng, i)
        ref = values(getattr(optax, name)(*args, **kwargs))
        peer = getattr(peers, name)(*args, **kwargs)
        assert_matches(peer, STEPS, ref, f"optax.{name}(*{args}, **{kwargs})", atol=ulps(scale_of(args, kwargs)))


def test_constant_linear_polynomial(optax):
    compare(optax, "constant_schedule", lambda rng, i: ((lr_value(rng),), {}), lambda a, k: a[0])
    compare(optax, "linear_schedule", lambda rng, i: ((lr_value(rng), lr_value(rng), int(rng.integers(-2, 400))),
                                                      {"transition_begin": int(rng.integers(-5, 100))}),
            lambda a, k: max(a[:2]))
    compare(optax, "polynomial_schedule",
            lambda rng, i: ((lr_value(rng), lr_value(rng), float(rng.choice([0.0, 1.0, rng.uniform(0.2, 4.0)])),
                             int(rng.integers(-2, 400))), {"transition_begin": int(rng.integers(-5, 100))}),
            lambda a, k: max(a[:2]))
    compare(optax, "warmup_constant_schedule",
            lambda rng, i: ((lr_value(rng), lr_value(rng), int(rng.integers(0, 300))), {}), lambda a, k: max(a[:2]))


def test_exponential_decay(optax):
    def draw(rng, i):
        init, rate = lr_value(rng), float(rng.uniform(0.2, 0.99)) if i % 4 else float(rng.uniform(1.001, 1.02))
        end = None if i % 3 == 0 else init * (float(rng.uniform(0.01, 1.5)) if rate < 1 else float(rng.uniform(0.5, 3)))
        return (init, int(rng.integers(1, 80)), rate), dict(transition_begin=int(rng.integers(-5, 100)),
                                                           staircase=bool(i % 2), end_value=end)
    compare(optax, "exponential_decay", draw, lambda a, k: a[0] * 20)


def test_warmup_exponential_decay(optax):
    def draw(rng, i):
        peak, rate = lr_value(rng), float(rng.uniform(0.2, 0.99))
        end = None if i % 3 == 0 else peak * float(rng.uniform(0.01, 1.5))
        return (lr_value(rng) if i % 2 else 0.0, peak, int(rng.integers(0, 100)), int(rng.integers(1, 80)), rate), \
            dict(transition_begin=int(rng.integers(0, 100)), staircase=bool(i % 2), end_value=end)
    compare(optax, "warmup_exponential_decay_schedule", draw, lambda a, k: max(a[:2]))


def test_cosine_decay_and_warmup_cosine(optax):
    compare(optax, "cosine_decay_schedule",
            lambda rng, i: ((lr_value(rng), int(rng.integers(1, 500))),
                            dict(alpha=float(rng.choice([0.0, rng.uniform(0.05, 0.9)])),
                                 exponent=float(rng.choice([1.0, rng.uniform(1.0, 3.0)])))),
            lambda a, k: a[0] * 4 * k["exponent"])

    def draw(rng, i):
        warm, peak = int(rng.integers(0, 60)), lr_value(rng)
        return (0.0 if i % 3 == 0 else lr_value(rng), peak, warm, warm + int(rng.integers(1, 400))), \
            dict(end_value=peak * float(rng.choice([0.0, rng.uniform(0.05, 0.5)])),
                 exponent=float(rng.choice([1.0, rng.uniform(1.0, 3.0)])))
    compare(optax, "warmup_cosine_decay_schedule", draw, lambda a, k: max(a[:2]) * 4 * k["exponent"])


def _scales(rng):
    bounds = sorted(set(int(b) for b in rng.integers(0, 500, size=rng.integers(1, 6))))
    return {b: float(rng.uniform(0.05, 2.0)) for b in bounds}


def test_piecewise(optax):
    compare(optax, "piecewise_constant_schedule", lambda rng, i: ((lr_value(rng), _scales(rng)), {}),
            lambda a, k: a[0] * 32)
    for kind in ("linear", "cosine"):
        compare(optax, "piecewise_interpolate_schedule", lambda rng, i: ((kind, lr_value(rng), _scales(rng)), {}),
                lambda a, k: a[1] * 32)


def test_onecycles(optax):
    compare(optax, "linear_onecycle_schedule",
            lambda rng, i: ((int(rng.integers(4, 550)), lr_value(rng)),
                            dict(pct_start=float(rng.uniform(0.05, 0.5)), pct_final=float(rng.uniform(0.5, 0.95)),
                                 div_factor=float(rng.uniform(2, 100)), final_div_factor=float(10 ** rng.uniform(0, 5)))),
            lambda a, k: a[1])
    compare(optax, "cosine_onecycle_schedule",
            lambda rng, i: ((int(rng.integers(4, 550)), lr_value(rng)),
                            dict(pct_start=float(rng.uniform(0.05, 0.9)), div_factor=float(rng.uniform(2, 100)),
                                 final_div_factor=float(10 ** rng.uniform(0, 5)))),
            lambda a, k: a[1])


def test_sgdr_and_join(optax):
    def cycles(rng, i):
        kws = []
        for _ in range(int(rng.integers(1, 6))):
            warm, peak = int(rng.choice([0, rng.integers(1, 20)])), lr_value(rng)
            kw = dict(init_value=lr_value(rng), peak_value=peak, warmup_steps=warm,
                      decay_steps=warm + int(rng.integers(1, 150)))
            if i % 2:
                kw.update(end_value=peak * float(rng.uniform(0, 0.5)), exponent=float(rng.uniform(1.0, 2.0)))
            kws.append(kw)
        return (kws,), {}
    compare(optax, "sgdr_schedule", cycles, lambda a, k: 8 * max(max(kw["init_value"], kw["peak_value"]) for kw in a[0]))
    rng = rng_for("peer-optax-join")
    for _ in range(N):
        a, b, c = lr_value(rng), lr_value(rng), lr_value(rng)
        steps = [int(x) for x in rng.integers(1, 200, 3)]
        bounds = sorted(set(int(x) for x in rng.integers(1, 500, 2)))
        parts = [(optax.constant_schedule(a), peers.constant_schedule(a)),
                 (optax.linear_schedule(a, b, steps[0]), peers.linear_schedule(a, b, steps[0])),
                 (optax.cosine_decay_schedule(c, steps[1]), peers.cosine_decay_schedule(c, steps[1]))][:len(bounds) + 1]
        ref = values(optax.join_schedules([p[0] for p in parts], bounds))
        assert_matches(peers.join_schedules([p[1] for p in parts], bounds), STEPS, ref, "join_schedules",
                       atol=ulps(max(a, b, c)))


def test_float32_optax_is_the_peer_rounded(optax):
    """optax's default float32 (x64 off): within 8 float32 ulps of the peer's largest value."""
    import jax
    jax.config.update("jax_enable_x64", False)
    try:
        for name, args, kwargs in [("warmup_cosine_decay_schedule", (0.0, 3e-4, 50, 500), {}),
                                   ("exponential_decay", (0.1, 30, 0.9), {"staircase": True}),
                                   ("sgdr_schedule", ([dict(init_value=0.0, peak_value=0.1, warmup_steps=5,
                                                            decay_steps=100)] * 5,), {}),
                                   ("piecewise_interpolate_schedule", ("cosine", 0.1, {100: 0.1, 300: 0.5}), {})]:
            ref = values(getattr(optax, name)(*args, **kwargs))
            peer = getattr(peers, name)(*args, **kwargs)
            assert_ulps(ref, peer(STEPS), 8, scale=peer(STEPS).max(), dtype=np.float32, what=name)
    finally:
        jax.config.update("jax_enable_x64", True)


@pytest.mark.parametrize("call, message", [
    ("optax.cosine_decay_schedule(0.1, 0)", r"requires positive decay_steps, got decay_steps=0"),
    ("optax.warmup_cosine_decay_schedule(0.0, 0.1, 10, 10)", r"requires positive decay_steps"),
    ("optax.piecewise_constant_schedule(0.1, {10: -0.5})", r"expects non-negative scale factors"),
    ("optax.piecewise_interpolate_schedule('quadratic', 0.1)", r"interpolate_type must be one of"),
    ("optax.linear_onecycle_schedule(0, 0.1)", r"transition_steps must be > 0"),
    ("optax.sgdr_schedule([{'init_value': 0.1}])", r"cosine_kwargs\[0\] needs init_value"),
    ("optax.join_schedules([optax.constant_schedule(0.1)], [10])", r"boundaries must have one entry fewer"),
    ("optax.linear_schedule(0.1, -0.1, 10)", r"end_value must be >= 0, got -0.1"),
    ("optax.exponential_decay(0.1, 10, 1.5, end_value=-1.0)", r"end_value must be >= 0, got -1.0"),
])
def test_bad_arguments_get_lrkits_error(call, message):
    with pytest.raises(lrkit.LrkitError, match=message):
        lrkit.parse(call)
