"""lrkit.optax: to_optax in optax optimizers, inject_hyperparams and jax.jit training loops; the
seed's TensorFlow example on optax; plateau by composing with optax.contrib.reduce_on_plateau;
bad input at construction."""
import math

import numpy as np
import pytest

import lrkit

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402

from lrkit.optax import to_optax  # noqa: E402
import seed_tables  # noqa: E402 (tests/ is on sys.path: tests/conftest.py)
from ulps import assert_ulps  # noqa: E402

SPEC = "warmup(cosine(0.1, 0.01, steps=14), steps=6) * 0.5 + 0.001"


def _loop(tx, steps, values=None):
    """Train w (loss = w, gradient 1) for ``steps`` updates in a jitted step; return the optimizer
    state after each update and the weight after each update."""
    params = {"w": jnp.zeros((), jnp.float32)}
    grads = {"w": jnp.ones((), jnp.float32)}
    state = tx.init(params)

    @jax.jit
    def step(params, state, value):
        extra = {} if values is None else {"value": value}
        updates, state = tx.update(grads, state, params, **extra)
        return optax.apply_updates(params, updates), state

    states, weights = [], []
    for k in range(steps):
        params, state = step(params, state, 0.0 if values is None else values[k])
        states.append(state)
        weights.append(float(params["w"]))
    return states, np.array(weights)


def test_inject_hyperparams_under_jit_shows_the_lrkit_curve():
    schedule = lrkit.parse(SPEC)
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=to_optax(SPEC))
    states, weights = _loop(tx, 30)
    expected = schedule(np.arange(30))
    seen = [float(s.hyperparams["learning_rate"]) for s in states]   # update k used schedule(k)
    np.testing.assert_allclose(seen, expected, rtol=1e-6)
    np.testing.assert_allclose(-np.diff(np.r_[0.0, weights]), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make", [optax.sgd, optax.adam], ids=["sgd", "adam"])
def test_schedule_as_learning_rate_argument(make):
    """optax.sgd/adam(learning_rate=to_optax(s)) updates exactly like the same optimizer given
    optax's own callable of the lrkit float64 curve."""
    schedule = lrkit.one_cycle(0.1, steps=20)
    table = jnp.asarray(schedule(np.arange(40)), dtype=jnp.float32)
    _, ours = _loop(make(learning_rate=to_optax(schedule)), 25)
    _, theirs = _loop(make(learning_rate=lambda count: table[count]), 25)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


SEED_TABLE = seed_tables.TF_TEXT


def test_seed_tensorflow_example_on_optax():
    """The seed's y = x ** 2 from x = 5 with exponential_decay(0.1, step, 1, 0.96, staircase=True),
    as a jitted optax loop; the rate printed is the one the next update will use (global_step = i + 1)."""
    lr = to_optax(lrkit.exponential(0.1, 0.96, steps=1, staircase=True))
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=lr)
    x = jnp.asarray(5.0, jnp.float32)
    state = tx.init(x)

    @jax.jit
    def train(x, state):
        updates, state = tx.update(jax.grad(jnp.square)(x), state, x)
        return optax.apply_updates(x, updates), state

    lines = []
    for i in range(100):
        x, state = train(x, state)
        if i % 10 == 0:
            lines.append("After %s iteration(s): x%s is %f, learning rate is %f."
                         % (i + 1, i + 1, float(x), float(lr(state.count))))
    assert "\n".join(lines) == SEED_TABLE


def test_plateau_by_composing_with_reduce_on_plateau():
    """No new optimizer API: chain optax.contrib.reduce_on_plateau after the scheduled optimizer.
    The update is -schedule(k) * scale_k * gradient, with scale_k from reduce_on_plateau's state."""
    schedule = lrkit.parse(SPEC)
    tx = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=to_optax(schedule)),
                     optax.contrib.reduce_on_plateau(factor=0.5, patience=2, accumulation_size=4))
    values = [1.0] * 4 + [0.5] * 36          # one improvement, then a plateau of 4-step "epochs"
    states, weights = _loop(tx, 40, values)
    rates = np.array([float(s[0].hyperparams["learning_rate"]) for s in states])
    scales = np.array([float(s[1].scale) for s in states])
    np.testing.assert_allclose(rates, schedule(np.arange(40)), rtol=1e-6)
    assert scales[0] == 1.0 and scales[-1] < 0.2 and np.all(np.diff(scales) <= 0)
    np.testing.assert_allclose(-np.diff(np.r_[0.0, weights]), rates * scales, rtol=1e-5, atol=1e-7)  # ulp of w


def test_plateau_with_lrkit_controller_and_injected_scale():
    """The other composition, with lrkit's own plateau rule (the torch/Keras adapters' rule): the host
    updates lrkit.plateau once per epoch and writes its scale into an injected optax.scale stage.
    The jitted step is not retraced: the scale is optimizer state."""
    schedule = lrkit.parse(SPEC)
    tx = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=to_optax(schedule)),
                     optax.inject_hyperparams(optax.scale)(step_size=1.0))
    ctl = lrkit.plateau(factor=0.5, patience=1, threshold=0.0)
    plateau_state = ctl.init()
    params, grads = {"w": jnp.zeros(())}, {"w": jnp.ones(())}
    state = tx.init(params)
    traces = []

    @jax.jit
    def step(params, state):
        traces.append(1)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    used, scales = [], []
    for epoch, metric in enumerate([1.0, 0.5, 0.5, 0.5, 0.5, 0.5]):
        for _ in range(4):
            before = float(params["w"])
            params, state = step(params, state)
            used.append(before - float(params["w"]))
            scales.append(ctl.apply(1.0, plateau_state))
        plateau_state = ctl.update(plateau_state, metric)
        state[1].hyperparams["step_size"] = jnp.asarray(ctl.apply(1.0, plateau_state), jnp.float32)
    assert len(traces) == 1
    assert scales[::4] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5]   # bad epochs 2 and 3: > patience 1 -> halved
    np.testing.assert_allclose(used, schedule(np.arange(24)) * scales, rtol=1e-5, atol=1e-7)


def test_float64_under_x64():
    with jax.enable_x64(True):
        value = to_optax("exponential(0.1, 0.96, steps=3)")(jnp.asarray(7, jnp.int32))
        assert value.dtype == jnp.float64
        # XLA's pow vs the C library's: each within an ulp, the product within 2 ulps
        assert_ulps(float(value), lrkit.exponential(0.1, 0.96, steps=3)(7), 2)
    value = to_optax("exponential(0.1, 0.96, steps=3)")(jnp.asarray(7, jnp.int32))
    assert value.dtype == jnp.float32


BIG_SPECS = ["cosine(1000.0, 0.0, steps=10000000000)", "exponential(0.1, 0.5, steps=3000000000)",
             "warmup(linear(0.1, 0.0, steps=9000000000), steps=1000000000)",
             "one_cycle(0.1, steps=10000000000)", "multistep(0.1, milestones=[3000000000, 4000000000])"]
COUNTS = [0, 10 ** 6, 2 ** 30, 2 ** 31 - 1]


@pytest.mark.parametrize("spec", BIG_SPECS)
def test_numbers_past_int32_under_float32(spec):
    """JAX's default float32 (no x64): a number past 2**31 in a spec works (JAX reads a Python int next
    to an array as an int32; the adapter evaluates with floats), within float32 rounding of lrkit's
    float64 values (4 float32 ulps of the peak)."""
    assert not jax.config.jax_enable_x64
    ours, s = to_optax(spec), lrkit.parse(spec)
    got = np.array([float(jax.jit(ours)(jnp.int32(c))) for c in COUNTS])
    want = s(np.array(COUNTS, dtype=np.float64))
    assert_ulps(got, want, 4, scale=float(np.max(want)), dtype=np.float32)
    assert repr(ours) == f"to_optax({s!r})"   # the schedule itself keeps its ints


def test_cosine_past_int32_as_optax_does():
    """optax's own cosine_decay_schedule takes decay_steps=10**10 under float32: so does to_optax."""
    ours, theirs = to_optax("cosine(1000.0, 0.0, steps=10000000000)"), optax.cosine_decay_schedule(1000.0, 10 ** 10)
    got = [float(jax.jit(ours)(jnp.int32(c))) for c in COUNTS]
    assert_ulps(got, [float(theirs(jnp.int32(c))) for c in COUNTS], 4, scale=1000.0, dtype=np.float32)


def test_repr_equality_and_config():
    a, b = to_optax("cosine(0.1, 0.0, steps=10)"), to_optax(lrkit.cosine(0.1, 0.0, steps=10))
    assert a == b and hash(a) == hash(b)
    assert repr(a) == "to_optax(cosine(start=0.1, end=0.0, steps=10))"
    assert to_optax(a.schedule.to_config()) == a
    assert math.isclose(float(a(5)), 0.05, rel_tol=1e-6)


def _branching(t):
    return 0.1 if t < 10 else 0.01


BAD = [
    (lambda: to_optax(lrkit.function(_branching)), lrkit.LrkitTypeError,
     "cannot be evaluated with jax.numpy on a traced count"),
    (lambda: to_optax(lrkit.function(lambda t: math.exp(-t))), lrkit.LrkitTypeError,
     "not `if`, float(), int(), math.* or numpy on the step"),
    (lambda: to_optax(lrkit.function(lambda t: jnp.ones(3) * t)), lrkit.LrkitTypeError,
     "must give one float per step"),
    (lambda: to_optax(optax.constant_schedule(0.1)), lrkit.LrkitTypeError,
     "schedule must be an lrkit schedule, a spec string or a config dict"),
    (lambda: to_optax("cosine(0.1, 0.0, steps=0)"), lrkit.LrkitValueError, "steps must be > 0, got 0"),
    (lambda: to_optax(lrkit.multiplicative(_branching)), lrkit.LrkitTypeError,
     "multiplicative evaluates Python numbers and numpy arrays only"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=range(len(BAD)))
def test_bad_input_fails_at_construction(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
