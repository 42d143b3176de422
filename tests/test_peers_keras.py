"""lrkit.peers.keras (Keras 3's schedules by their own names) against the installed Keras 3.15 (torch backend).

Keras is run with floatx float64 and called once per step with a Python int, as its optimizers do
(tests/test_parity_frameworks.py's ``keras_values``); the peer built from the same arguments gives the same
values over 600 steps for seeded random configs: 1e-12 relative, or 4 ulps of the largest value where the
backend's cos (torch's Sleef) differs from the C library's near ``x = pi``. Keras' default float32 is
checked once per schedule: within 8 float32 ulps of the largest value of the peer's float64 curve.
"""
import numpy as np
import pytest

import lrkit
from lrkit.peers import keras as peers
from test_parity_frameworks import assert_matches, lr_value, rng_for, ulps
from ulps import assert_ulps

STEPS = list(range(600))
N = 8


@pytest.fixture(scope="module")
def ks():
    keras = pytest.importorskip("keras")
    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield keras.optimizers.schedules
    keras.config.set_floatx(previous)


def values(schedule, steps=STEPS):
    return [float(schedule(t)) for t in steps]


def compare(ks, name, draw, scale_of):
    rng = rng_for(f"peer-keras-{name}")
    for i in range(N):
        args, kwargs = draw(rng, i)
        ref = values(getattr(ks, name)(*args, **kwargs))
        peer = getattr(peers, name)(*args, **kwargs)
        assert_matches(peer, STEPS, ref, f"keras.{name}(*{args}, **{kwargs})", atol=ulps(scale_of(args, kwargs)))


def test_exponential_and_inverse_time(ks):
    for name in ("ExponentialDecay", "InverseTimeDecay"):
        compare(ks, name, lambda rng, i: ((lr_value(rng), int(rng.integers(1, 100)), float(rng.uniform(0.1, 2.0)
                                                                                           if name[0] == "I" else
                                                                                           rng.uniform(0.1, 1.0))),
                                          {"staircase": bool(i % 2)}), lambda a, k: a[0])


def test_piecewise_constant(ks):
    def draw(rng, i):
        bounds = sorted(set(int(b) for b in rng.integers(0, 600, size=rng.integers(1, 6))))
        return (bounds, [lr_value(rng) for _ in range(len(bounds) + 1)]), {}
    compare(ks, "PiecewiseConstantDecay", draw, lambda a, k: max(a[1]))


def test_polynomial(ks):
    compare(ks, "PolynomialDecay",
            lambda rng, i: ((lr_value(rng), int(rng.integers(1, 300))),
                            dict(end_learning_rate=float(rng.uniform(0, 1e-3)), power=float(rng.uniform(0.3, 4.0)),
                                 cycle=bool(i % 2))), lambda a, k: a[0])


def test_cosine_decay(ks):
    def draw(rng, i):
        kwargs = dict(alpha=float(rng.choice([0.0, rng.uniform(0, 0.9)])))
        if i % 2:
            kwargs.update(warmup_target=lr_value(rng), warmup_steps=int(rng.integers(0, 100)))
        return (0.0 if i % 4 == 1 else lr_value(rng), int(rng.integers(1, 400))), kwargs
    compare(ks, "CosineDecay", draw, lambda a, k: max(a[0], k.get("warmup_target") or 0.0))


def test_cosine_decay_restarts(ks):
    compare(ks, "CosineDecayRestarts",
            lambda rng, i: ((lr_value(rng), int(rng.integers(1, 60))),
                            dict(t_mul=float(rng.choice([1.0, 2.0, rng.uniform(1.05, 3.0)])),
                                 m_mul=float(rng.uniform(0.3, 1.0)), alpha=float(rng.choice([0.0, rng.uniform(0, 0.5)])))),
            lambda a, k: a[0])


def test_float32_keras_is_the_peer_rounded():
    keras = pytest.importorskip("keras")
    ks = keras.optimizers.schedules
    previous = keras.config.floatx()
    keras.config.set_floatx("float32")
    try:
        _float32_checks(ks)
    finally:
        keras.config.set_floatx(previous)


def _float32_checks(ks):
    for name, args, kwargs in [("CosineDecay", (0.0, 500), {"warmup_target": 3e-4, "warmup_steps": 50}),
                               ("CosineDecayRestarts", (0.1, 50), {"m_mul": 0.9}),
                               ("ExponentialDecay", (0.1, 30, 0.9), {"staircase": True}),
                               ("PolynomialDecay", (0.1, 300), {"power": 2.0})]:
        ref = values(getattr(ks, name)(*args, **kwargs))
        peer = getattr(peers, name)(*args, **kwargs)
        curve = peer(np.asarray(STEPS))
        assert_ulps(ref, curve, 8, scale=curve.max(), dtype=np.float32, what=name)


@pytest.mark.parametrize("call, message", [
    ("keras.CosineDecay(0.1, 0)", r"Argument `decay_steps` must be > 0. Received: decay_steps=0"),
    ("keras.CosineDecayRestarts(0.1, -1)", r"Argument `first_decay_steps` must be > 0"),
    ("keras.PiecewiseConstantDecay([10], [0.1])", r"The length of boundaries should be 1 less"),
    ("keras.ExponentialDecay(-0.1, 10, 0.9)", r"initial_learning_rate must be >= 0, got -0.1"),
    ("keras.CosineDecayRestarts(0.1, 10, t_mul=0.5)", r"t_mul must be >= 1, got 0.5"),
])
def test_bad_arguments_get_lrkits_error(call, message):
    with pytest.raises(lrkit.LrkitError, match=message):
        lrkit.parse(call)
