"""lrkit against the installed frameworks, float64, to 1e-12 relative.

The reference values come from running the real thing: torch schedulers stepped with a real optimizer
(``optimizer.step()`` then ``scheduler.step()``; update ``k`` uses the LR read before its step), Keras 3
``LearningRateSchedule`` objects under ``floatx = "float64"``, optax schedules under ``jax_enable_x64``.
Nothing here copies a framework's formula: each test states the *mapping* from the framework's
parameters to an lrkit schedule and compares values over a few hundred steps for seeded random
configurations. Where a framework deliberately differs (torch after ``T_max``, OneCycleLR one step past
the end, optax counting the warmup inside ``decay_steps``, Keras' ``>`` boundaries), the mapping that
makes them equal is tested and the difference is written down in the test's docstring. Where a
framework is wrong (torch's restart index at an exact restart), a test shows it.

Tolerance: ``|lrkit - framework| <= 1e-12 * |framework|``; an absolute floor of 1e-300 only lets an
exact 0 equal 0. Both lrkit paths are checked: numpy arrays and Python numbers (the per-step path).
The numpy path uses numpy's cos/exp/log/pow, which are SIMD kernels accurate to 1 ulp, not the C
library's (AVX-512's SVML, NEON): one ulp of ``cos`` is a relative 1e-12 of ``1 + cos(x)`` once that is
below 1e-4, so that path also allows 4 ulps of the curve's amplitude (``ulps``, tests/ulps.py).
"""
import math
import os
import warnings

import numpy as np
import pytest

import lrkit

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported (tests/conftest.py does it too)

REL = 1e-12
FLOOR = 1e-300
N_CONFIGS = 30


def assert_matches(schedule, steps, reference, what, atol=FLOOR):
    """lrkit's numpy and scalar paths equal the framework's values at ``steps``.

    ``atol`` stays at the 1e-300 floor except where the framework's own arithmetic cannot be more
    exact than a few ulps of the curve's amplitude, and says so: a linear interpolation
    ``(end - start) * pct + start`` landing on an end far below the start (torch OneCycleLR, optax
    linear_schedule / linear_onecycle / warmups: ``init - peak + peak != init``), and ``1 + cos(x)`` near
    ``x = pi`` when the framework's cos is not the C library's (XLA's cos differs by an ulp, which is a
    relative 1e-12 of ``1 + cos(x)`` once that is below 1e-4). There ``atol = ulps(amplitude)``."""
    steps = list(steps)
    want = np.asarray(reference, dtype=np.float64).reshape(-1)
    assert want.shape == (len(steps),), what
    curve = schedule(np.asarray(steps, dtype=np.float64))
    scalar = np.array([schedule(t) for t in steps])
    amplitude = float(np.max(np.abs(want[np.isfinite(want)]), initial=0.0))
    for name, got, floor in (("numpy", curve, max(atol, ulps(amplitude))), ("scalar", scalar, atol)):
        err = np.abs(got - want)
        bad = ~(err <= np.maximum(REL * np.abs(want), floor))
        if bad.any():
            i = int(np.argmax(bad))
            raise AssertionError(
                f"{what}\n  {schedule!r}\n  {name} path at step {steps[i]!r}: lrkit {got[i]!r} vs framework "
                f"{want[i]!r} (rel {err[i] / max(abs(want[i]), FLOOR):.2e}; {int(bad.sum())} steps differ)")


def rng_for(name):
    """A generator seeded from the test's name: deterministic, different per test."""
    return np.random.default_rng([ord(c) for c in name])


def ulps(scale, n=4):
    """``n`` ulps of ``scale``: the rounding bound of ``(end - start) * pct + start`` with |start|,
    |end| <= scale, and of ``scale * (1 + cos(x))`` for an ulp of difference in ``cos``."""
    return n * np.finfo(np.float64).eps * scale


# =====================================================================================================
# torch.optim.lr_scheduler, driven with a real optimizer
# =====================================================================================================

def torch_lrs(make, lr, n, *, epochs=None):
    """The LR each of ``n`` updates uses (read before ``optimizer.step()``; then ``scheduler.step()``),
    or, with ``epochs``, the LR after ``scheduler.step(epoch)`` for each epoch in turn."""
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = make(optimizer)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # step(epoch) is deprecated but it is torch's documented way for SGDR
        if epochs is not None:
            for epoch in epochs:
                scheduler.step(epoch)
                out.append(optimizer.param_groups[0]["lr"])
            return out
        for k in range(n):
            out.append(optimizer.param_groups[0]["lr"])
            if k == n - 1:
                break  # the last LR is read, not stepped past (OneCycleLR refuses to step beyond its end)
            param.grad = torch.ones_like(param)
            optimizer.step()
            scheduler.step()
    return out


@pytest.fixture(scope="module")
def sched():
    torch = pytest.importorskip("torch")
    return torch.optim.lr_scheduler


def lr_value(rng):
    return float(10 ** rng.uniform(-5, 0))


def test_torch_step_lr(sched):
    rng = rng_for("StepLR")
    for _ in range(N_CONFIGS):
        lr, size, gamma = lr_value(rng), int(rng.integers(1, 60)), float(rng.uniform(0.05, 0.99))
        ref = torch_lrs(lambda o: sched.StepLR(o, step_size=size, gamma=gamma), lr, 300)
        assert_matches(lrkit.step_decay(lr, period=size, gamma=gamma), range(300), ref,
                       f"StepLR(step_size={size}, gamma={gamma}) lr={lr}")


def test_torch_multistep_lr(sched):
    rng = rng_for("MultiStepLR")
    for _ in range(N_CONFIGS):
        lr, gamma = lr_value(rng), float(rng.uniform(0.05, 0.99))
        milestones = sorted(set(int(m) for m in rng.integers(1, 300, size=rng.integers(1, 6))))
        ref = torch_lrs(lambda o: sched.MultiStepLR(o, milestones=milestones, gamma=gamma), lr, 300)
        assert_matches(lrkit.multistep(lr, milestones=milestones, gamma=gamma), range(300), ref,
                       f"MultiStepLR({milestones}, gamma={gamma}) lr={lr}")


def test_torch_exponential_lr(sched):
    rng = rng_for("ExponentialLR")
    for _ in range(N_CONFIGS):
        lr, gamma = lr_value(rng), float(rng.uniform(0.9, 1.002))
        ref = torch_lrs(lambda o: sched.ExponentialLR(o, gamma=gamma), lr, 300)
        assert_matches(lrkit.exponential(lr, gamma), range(300), ref, f"ExponentialLR({gamma}) lr={lr}")


def test_torch_linear_lr(sched):
    """LinearLR(start_factor, end_factor, total_iters) = linear(lr * start_factor, lr * end_factor, total_iters)."""
    rng = rng_for("LinearLR")
    for _ in range(N_CONFIGS):
        lr, total = lr_value(rng), int(rng.integers(1, 250))
        sf, ef = float(rng.uniform(0.01, 1.0)), float(rng.uniform(0.01, 1.0))
        ref = torch_lrs(lambda o: sched.LinearLR(o, start_factor=sf, end_factor=ef, total_iters=total), lr, 300)
        assert_matches(lrkit.linear(lr * sf, lr * ef, steps=total), range(300), ref,
                       f"LinearLR({sf}, {ef}, {total}) lr={lr}")


def test_torch_constant_lr(sched):
    """ConstantLR(factor, total_iters) = piecewise_constant([total_iters], [lr * factor, lr])."""
    rng = rng_for("ConstantLR")
    for _ in range(N_CONFIGS):
        lr, total, factor = lr_value(rng), int(rng.integers(1, 250)), float(rng.uniform(0.01, 1.0))
        ref = torch_lrs(lambda o: sched.ConstantLR(o, factor=factor, total_iters=total), lr, 300)
        assert_matches(lrkit.piecewise_constant([total], [lr * factor, lr]), range(300), ref,
                       f"ConstantLR({factor}, {total}) lr={lr}")


def test_torch_polynomial_lr(sched):
    """PolynomialLR(total_iters, power) = polynomial(lr, 0, total_iters, power); both hold 0 after."""
    rng = rng_for("PolynomialLR")
    for _ in range(N_CONFIGS):
        lr, total, power = lr_value(rng), int(rng.integers(1, 250)), float(rng.uniform(0.3, 4.0))
        ref = torch_lrs(lambda o: sched.PolynomialLR(o, total_iters=total, power=power), lr, 300)
        assert_matches(lrkit.polynomial(lr, 0.0, steps=total, power=power), range(300), ref,
                       f"PolynomialLR({total}, {power}) lr={lr}")


def test_torch_cosine_annealing_lr(sched):
    """CosineAnnealingLR(T_max, eta_min) = cosine(lr, eta_min, T_max) for t <= T_max."""
    rng = rng_for("CosineAnnealingLR")
    for i in range(N_CONFIGS):
        lr, t_max = lr_value(rng), int(rng.integers(1, 300))
        eta = 0.0 if i % 3 == 0 else lr * float(rng.uniform(0, 0.5))
        ref = torch_lrs(lambda o: sched.CosineAnnealingLR(o, T_max=t_max, eta_min=eta), lr, t_max + 1)
        assert_matches(lrkit.cosine(lr, eta, steps=t_max), range(t_max + 1), ref,
                       f"CosineAnnealingLR({t_max}, {eta}) lr={lr}")


def test_torch_cosine_annealing_lr_after_t_max(sched):
    """After T_max torch rises again (period 2 T_max); lrkit's cosine holds eta_min. The torch curve is
    ``repeat(sequence([cosine(lr, eta, T), cosine(eta, lr, T)], [T]), period=2 T)``."""
    rng = rng_for("CosineAnnealingLR-after")
    for _ in range(N_CONFIGS):
        lr, t_max = lr_value(rng), int(rng.integers(1, 60))
        eta = lr * float(rng.uniform(0.01, 0.5))
        n = 5 * t_max + 3
        ref = torch_lrs(lambda o: sched.CosineAnnealingLR(o, T_max=t_max, eta_min=eta), lr, n)
        wave = lrkit.repeat(lrkit.sequence([lrkit.cosine(lr, eta, steps=t_max), lrkit.cosine(eta, lr, steps=t_max)],
                                           boundaries=[t_max]), period=2 * t_max)
        assert_matches(wave, range(n), ref, f"CosineAnnealingLR({t_max}, {eta}) lr={lr} beyond T_max")
        assert_matches(lrkit.cosine_wave(lr, eta, steps=t_max), range(n), ref,
                       f"cosine_wave({lr}, {eta}, {t_max}) vs CosineAnnealingLR beyond T_max")
        plain = lrkit.cosine(lr, eta, steps=t_max)
        assert plain(t_max + 1) == plain(t_max) == pytest.approx(eta, rel=1e-12)
        assert ref[t_max + 1] > eta  # torch has started to rise: the documented difference


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_torch_cyclic_lr(sched, mode):
    """CyclicLR(base_lr, max_lr, step_size_up, step_size_down, mode, gamma) =
    cyclic(base_lr, max_lr, steps_up, steps_down, mode, gamma), asymmetric up/down included."""
    rng = rng_for("CyclicLR" + mode)
    for i in range(N_CONFIGS):
        base = lr_value(rng)
        peak = base * float(rng.uniform(1.0, 20.0))
        up = int(rng.integers(1, 60))
        down = None if i % 2 else int(rng.integers(1, 60))
        gamma = float(rng.uniform(0.98, 1.0))
        ref = torch_lrs(lambda o: sched.CyclicLR(o, base_lr=base, max_lr=peak, step_size_up=up,
                                                 step_size_down=down, mode=mode, gamma=gamma,
                                                 cycle_momentum=False), base, 300)
        assert_matches(lrkit.cyclic(base, peak, steps_up=up, steps_down=down, mode=mode, gamma=gamma),
                       range(300), ref, f"CyclicLR({base}, {peak}, {up}, {down}, {mode}, {gamma})")


def one_cycle_configs(rng):
    for i in range(N_CONFIGS):
        total = int(rng.integers(12, 300))
        yield dict(max_lr=lr_value(rng), total_steps=total, pct_start=float(rng.uniform(0.1, 0.45)),
                   anneal_strategy="cos" if i % 2 else "linear", div_factor=float(rng.uniform(2, 100)),
                   final_div_factor=float(10 ** rng.uniform(0, 5)), three_phase=bool(i % 3 == 0))


def one_cycle_of(c):
    return lrkit.one_cycle(c["max_lr"], steps=c["total_steps"], pct_start=c["pct_start"],
                           anneal=c["anneal_strategy"], div_factor=c["div_factor"],
                           final_div_factor=c["final_div_factor"], three_phase=c["three_phase"])


def test_torch_one_cycle_lr(sched):
    """OneCycleLR(max_lr, total_steps, pct_start, anneal_strategy, div_factor, final_div_factor,
    three_phase) = one_cycle(max_lr, total_steps, ...) for every step t < total_steps."""
    rng = rng_for("OneCycleLR")
    for c in one_cycle_configs(rng):
        n = c["total_steps"]
        ref = torch_lrs(lambda o: sched.OneCycleLR(o, cycle_momentum=False, **c), c["max_lr"], n)
        # torch's linear anneal to a final LR 1e2..1e7 times below the peak is itself only exact to a
        # few ulps of the peak at the last steps (see linear_ulps); cos lands on its end exactly
        atol = ulps(c["max_lr"]) if c["anneal_strategy"] == "linear" else FLOOR
        assert_matches(one_cycle_of(c), range(n), ref, f"OneCycleLR({c})", atol=atol)


def test_torch_one_cycle_lr_one_step_past_the_end(sched):
    """torch lets the scheduler reach ``last_epoch == total_steps`` and extrapolates the last phase there
    (below the final LR for linear annealing, back above it for cos); lrkit holds the final value."""
    rng = rng_for("OneCycleLR-past")
    for c in one_cycle_configs(rng):
        n = c["total_steps"]
        ref = torch_lrs(lambda o: sched.OneCycleLR(o, cycle_momentum=False, **c), c["max_lr"], n + 1)
        s = one_cycle_of(c)
        final = c["max_lr"] / c["div_factor"] / c["final_div_factor"]
        assert s(n) == s(n - 1) == s(10 * n) == pytest.approx(final, rel=1e-12)
        assert ref[n - 1] == pytest.approx(final, rel=1e-12)
        if c["anneal_strategy"] == "linear":
            assert ref[n] < final
        else:
            assert ref[n] > final
        # one_cycle.extrapolated(): the last phase's formula going on, as torch computes it, except that an
        # LR is never below 0: where torch's line crosses 0 (a steep linear anneal) lrkit's stops at 0
        atol = ulps(c["max_lr"]) if c["anneal_strategy"] == "linear" else FLOOR
        assert_matches(s.extrapolated(), range(n + 1), [max(r, 0.0) for r in ref], f"OneCycleLR({c}) extrapolated",
                       atol=atol)


def torch_momenta(make, n, beta1=False):
    """The momentum (or Adam's beta1) each of ``n`` updates uses, read as ``torch_lrs`` reads the LR."""
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    optimizer = torch.optim.Adam([param], lr=0.1) if beta1 else torch.optim.SGD([param], lr=0.1, momentum=0.9)
    scheduler = make(optimizer)
    out = []
    for k in range(n):
        group = optimizer.param_groups[0]
        out.append(group["betas"][0] if beta1 else group["momentum"])
        if k < n - 1:
            param.grad = torch.ones_like(param)
            optimizer.step()
            scheduler.step()
    return out


def test_torch_one_cycle_momentum(sched):
    """OneCycleLR's cycle_momentum (max_momentum, base_momentum) = one_cycle(...).momentum(max, base) for
    t < total_steps, and its extrapolated() one step past; beta1 of Adam the same way."""
    rng = rng_for("OneCycleLR-momentum")
    for i, c in enumerate(one_cycle_configs(rng)):
        high, low = float(rng.uniform(0.9, 0.99)), float(rng.uniform(0.5, 0.9))
        n = c["total_steps"]
        ref = torch_momenta(lambda o: sched.OneCycleLR(o, max_momentum=high, base_momentum=low, **c), n + 1,
                            beta1=bool(i % 2))
        momentum = one_cycle_of(c).momentum(high, low)
        atol = ulps(1.0) if c["anneal_strategy"] == "linear" else FLOOR  # momenta <= 1: ulps of 1
        assert_matches(momentum, range(n), ref[:n], f"OneCycleLR({c}) momentum {high} -> {low}", atol=atol)
        assert_matches(one_cycle_of(c).extrapolated(momentum), range(n + 1), ref,
                       f"OneCycleLR({c}) momentum {high} -> {low}, one step past", atol=atol)


def warm_restart_configs(rng):
    for i in range(N_CONFIGS):
        lr = lr_value(rng)
        yield lr, int(rng.integers(1, 40)), int(rng.integers(1, 4)), 0.0 if i % 4 == 0 else lr * float(rng.uniform(0, 0.5))


def test_torch_cosine_annealing_warm_restarts(sched):
    """CosineAnnealingWarmRestarts(T_0, T_mult, eta_min) stepped once per update =
    cosine_restarts(lr, eta_min, period=T_0, period_mult=T_mult)."""
    rng = rng_for("CosineAnnealingWarmRestarts")
    for lr, t0, mult, eta in warm_restart_configs(rng):
        ref = torch_lrs(lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=t0, T_mult=mult, eta_min=eta), lr, 300)
        assert_matches(lrkit.cosine_restarts(lr, eta, period=t0, period_mult=mult), range(300), ref,
                       f"CosineAnnealingWarmRestarts({t0}, {mult}, {eta}) lr={lr}")


def restart_points(t0, mult, upto):
    """Cycle starts T_0 (m^n - 1) / (m - 1), exact integers for integer T_0 and m."""
    points, n = [], 1
    while True:
        start = t0 * n if mult == 1 else t0 * (mult ** n - 1) // (mult - 1)
        if start > upto:
            return points
        points.append(start)
        n += 1


def test_torch_cosine_annealing_warm_restarts_fractional_epochs(sched):
    """``scheduler.step(epoch + i / iters)`` (torch's documented per-batch SGDR) and random real epochs:
    lrkit is called with the same float. Torch's own index is wrong at some exact restarts with
    T_mult > 1 (see the next test); those epochs, and only those, are left out here."""
    rng = rng_for("CosineAnnealingWarmRestarts-frac")
    for lr, t0, mult, eta in warm_restart_configs(rng):
        iters = int(rng.integers(2, 9))
        epochs = [e + i / iters for e in range(40) for i in range(iters)]
        epochs += sorted(float(x) for x in rng.uniform(0, 300, size=100))
        ref = torch_lrs(lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=t0, T_mult=mult, eta_min=eta), lr, 0,
                        epochs=epochs)
        s = lrkit.cosine_restarts(lr, eta, period=t0, period_mult=mult)
        restarts = set(restart_points(t0, mult, 300))
        keep = [(e, v) for e, v in zip(epochs, ref)
                if not (e in restarts and math.isclose(v, eta, rel_tol=1e-12, abs_tol=FLOOR))]
        dropped = len(epochs) - len(keep)
        assert dropped <= 1, (t0, mult, dropped)
        assert_matches(s, [e for e, _ in keep], [v for _, v in keep],
                       f"CosineAnnealingWarmRestarts({t0}, {mult}, {eta}).step(epoch) lr={lr}")


def test_torch_warm_restarts_log_index_is_off_by_one_at_some_exact_restarts(sched):
    """Documents a torch bug: ``step(epoch)`` finds the cycle with ``int(math.log(epoch / T_0 * (T_mult - 1)
    + 1, T_mult))``, which rounds down at some exact restarts, e.g. ``log(243, 3) = 4.999999999999999``.
    CosineAnnealingWarmRestarts(T_0=1, T_mult=3).step(121) then gives eta_min (the end of cycle 4)
    instead of the base LR (the start of cycle 5) that stepping 121 times gives. lrkit gives the base LR.
    (If a torch release fixes this, the torch assertions below fail: delete them and this note.)"""
    lr, eta = 0.1, 0.001
    s = lrkit.cosine_restarts(lr, eta, period=1, period_mult=3)
    for epoch in (121, 29524):  # (3^5 - 1)/2 and (3^10 - 1)/2: cycle starts where the log rounds down
        assert s(epoch) == lr and s(float(epoch)) == lr
        jumped = torch_lrs(lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3, eta_min=eta), lr, 0,
                           epochs=[epoch])[0]
        assert jumped == pytest.approx(eta, rel=1e-12)      # torch's step(epoch) path: the bug
        assert s(epoch - 1e-9) == pytest.approx(eta, rel=1e-6)  # lrkit: eta_min just before, start at it
    stepped = torch_lrs(lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3, eta_min=eta), lr, 122)
    assert stepped[121] == pytest.approx(lr, rel=1e-12)     # torch's per-update path: a restart at 121


def inverse_epoch(epoch):
    return 1 / (epoch + 1)


def power_095(epoch):
    return 0.95 ** epoch


def quadratic_to_zero(epoch):
    return (1 - epoch / 400) ** 2


def ramp_then_sqrt(epoch):
    return (epoch + 1) / 10 if epoch < 9 else (10 / (epoch + 1)) ** 0.5


@pytest.mark.parametrize("fn", [inverse_epoch, power_095, quadratic_to_zero], ids=lambda f: f.__name__)
def test_torch_lambda_lr(sched, fn):
    """LambdaLR(lr_lambda=f) = function(f) * lr."""
    rng = rng_for("LambdaLR" + fn.__name__)
    for _ in range(5):
        lr = lr_value(rng)
        ref = torch_lrs(lambda o: sched.LambdaLR(o, lr_lambda=fn), lr, 300)
        assert_matches(lrkit.function(fn) * lr, range(300), ref, f"LambdaLR({fn.__name__}) lr={lr}")


def test_torch_lambda_lr_with_python_branch(sched):
    """A lambda with an ``if`` on the epoch works on lrkit's per-step path (it gets a float)."""
    lr = 0.3
    ref = torch_lrs(lambda o: sched.LambdaLR(o, lr_lambda=ramp_then_sqrt), lr, 100)
    s = lrkit.function(ramp_then_sqrt) * lr
    for k, v in enumerate(ref):
        assert math.isclose(s(k), v, rel_tol=REL), (k, s(k), v)


def test_torch_multiple_param_groups_one_schedule(sched):
    """The seed's case: one optimizer, param groups with different LRs, one torch scheduler. Each group
    follows lrkit's multiplier schedule times its own initial LR."""
    torch = pytest.importorskip("torch")
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], "lr": lr} for lr in (0.1, 0.01)]
    optimizer = torch.optim.SGD(groups, lr=1.0)
    scheduler = sched.CosineAnnealingLR(optimizer, T_max=50, eta_min=0.0)
    shape = lrkit.cosine(1.0, 0.0, steps=50)
    for k in range(51):
        for group in optimizer.param_groups:
            assert math.isclose(group["lr"], group["initial_lr"] * shape(k), rel_tol=REL, abs_tol=FLOOR)
        optimizer.step()
        scheduler.step()


# =====================================================================================================
# Keras 3 (backend torch unless KERAS_BACKEND says otherwise), floatx float64
# =====================================================================================================
# Keras is called once per step with a Python number, as its optimizers do. Its torch backend promotes
# with ``keras.src.backend.common.dtypes.result_type``, which maps float64 to float32 ("aligned with
# JAX's default"): ``ops.minimum``, ``ops.maximum``, ``ops.floor`` and ``ops.ceil`` of float64 tensors
# return float32. So a schedule that clamps the step (CosineDecay, PolynomialDecay without cycle) sees a
# fractional step rounded to float32 (integer steps below 2^24 are exact), and a *tensor* of steps comes
# back float32. The integer-step tests are exact; the fractional-step tests state the float32 mapping.

@pytest.fixture(scope="module")
def ks():
    keras = pytest.importorskip("keras")
    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield keras.optimizers.schedules
    keras.config.set_floatx(previous)


def keras_values(schedule, steps):
    """The Keras schedule at each step, one call per step with a Python int/float, as float64."""
    from keras.backend import standardize_dtype
    out = []
    for t in steps:
        value = schedule(int(t) if float(t).is_integer() else float(t))
        assert standardize_dtype(value.dtype) == "float64", value.dtype
        out.append(float(value))
    return out


def f32(steps):
    """Steps as Keras' torch backend sees them after ops.minimum: rounded to float32."""
    return [float(np.float32(t)) for t in steps]


KERAS_CONFIGS = 12
KERAS_INT = list(range(0, 120)) + list(range(120, 300, 7))
KERAS_FRACTIONAL = [float(t) for t in np.sort(np.random.default_rng(7).uniform(0, 300, 30))]


def test_keras_exponential_decay(ks):
    """ExponentialDecay(lr, decay_steps, decay_rate, staircase) = exponential(lr, decay_rate, decay_steps, staircase)."""
    rng = rng_for("ExponentialDecay")
    for i in range(KERAS_CONFIGS):
        lr, steps, rate, stair = lr_value(rng), int(rng.integers(1, 80)), float(rng.uniform(0.1, 1.0)), bool(i % 2)
        k = ks.ExponentialDecay(lr, steps, rate, staircase=stair)
        s = lrkit.exponential(lr, rate, steps=steps, staircase=stair)
        what = f"ExponentialDecay({lr}, {steps}, {rate}, staircase={stair})"
        assert_matches(s, KERAS_INT, keras_values(k, KERAS_INT), what)
        if not stair:  # no floor/minimum on this path: fractional steps stay float64
            assert_matches(s, KERAS_FRACTIONAL, keras_values(k, KERAS_FRACTIONAL), what + " fractional")


def test_keras_piecewise_constant_decay(ks):
    """PiecewiseConstantDecay(boundaries, values) = piecewise_constant(boundaries, values, switch="after"):
    Keras changes value at ``step > boundary`` (torch and optax at ``>=``)."""
    rng = rng_for("PiecewiseConstantDecay")
    for _ in range(KERAS_CONFIGS):
        boundaries = sorted(set(int(b) for b in rng.integers(0, 300, size=rng.integers(1, 6))))
        values = [lr_value(rng) for _ in range(len(boundaries) + 1)]
        k = ks.PiecewiseConstantDecay(boundaries, values)
        s = lrkit.piecewise_constant(boundaries, values, switch="after")
        steps = sorted(set(KERAS_INT) | {b + d for b in boundaries for d in (-1, 0, 1) if b + d >= 0})
        what = f"PiecewiseConstantDecay({boundaries}, {values})"
        assert_matches(s, steps, keras_values(k, steps), what)
        fractional = KERAS_FRACTIONAL + [b + 0.5 for b in boundaries]
        assert_matches(s, fractional, keras_values(k, fractional), what + " fractional")
        at = lrkit.piecewise_constant(boundaries, values)
        assert at(boundaries[0]) == values[1] and s(boundaries[0]) == values[0]  # the one-step difference


def test_keras_polynomial_decay(ks):
    """PolynomialDecay(lr, decay_steps, end, power, cycle) = polynomial(lr, end, decay_steps, power, cycle)."""
    rng = rng_for("PolynomialDecay")
    for i in range(KERAS_CONFIGS):
        lr, steps, power = lr_value(rng), int(rng.integers(1, 120)), float(rng.uniform(0.3, 4.0))
        end, cycle = lr * float(rng.uniform(0, 0.5)), bool(i % 2)
        k = ks.PolynomialDecay(lr, steps, end_learning_rate=end, power=power, cycle=cycle)
        s = lrkit.polynomial(lr, end, steps=steps, power=power, cycle=cycle)
        what = f"PolynomialDecay({lr}, {steps}, {end}, {power}, cycle={cycle})"
        assert_matches(s, KERAS_INT, keras_values(k, KERAS_INT), what)
        # cycle divides by steps * ceil(t / steps) (float64); without cycle the step is clamped (float32)
        frac = KERAS_FRACTIONAL if cycle else f32(KERAS_FRACTIONAL)
        assert_matches(s, frac, keras_values(k, KERAS_FRACTIONAL), what + " fractional")


def test_keras_inverse_time_decay(ks):
    """InverseTimeDecay(lr, decay_steps, decay_rate, staircase) = inverse_time(lr, decay_rate, decay_steps, staircase)."""
    rng = rng_for("InverseTimeDecay")
    for i in range(KERAS_CONFIGS):
        lr, steps, rate, stair = lr_value(rng), int(rng.integers(1, 80)), float(rng.uniform(0.01, 3.0)), bool(i % 2)
        k = ks.InverseTimeDecay(lr, steps, rate, staircase=stair)
        s = lrkit.inverse_time(lr, rate, steps=steps, staircase=stair)
        what = f"InverseTimeDecay({lr}, {steps}, {rate}, staircase={stair})"
        assert_matches(s, KERAS_INT, keras_values(k, KERAS_INT), what)
        if not stair:
            assert_matches(s, KERAS_FRACTIONAL, keras_values(k, KERAS_FRACTIONAL), what + " fractional")


def test_keras_cosine_decay(ks):
    """CosineDecay(lr, decay_steps, alpha) = cosine(lr, alpha * lr, decay_steps); both hold after."""
    rng = rng_for("CosineDecay")
    for _ in range(KERAS_CONFIGS):
        lr, steps, alpha = lr_value(rng), int(rng.integers(1, 280)), float(rng.choice([0.0, rng.uniform(0, 0.9)]))
        k = ks.CosineDecay(lr, steps, alpha=alpha)
        s = lrkit.cosine(lr, alpha * lr, steps=steps)
        what = f"CosineDecay({lr}, {steps}, alpha={alpha})"
        atol = ulps(lr)  # the backend's cos (torch's Sleef, XLA) vs the C library's near x = pi (alpha = 0)
        assert_matches(s, KERAS_INT, keras_values(k, KERAS_INT), what, atol=atol)
        assert_matches(s, f32(KERAS_FRACTIONAL), keras_values(k, KERAS_FRACTIONAL), what + " fractional (float32 step)",
                       atol=atol)


def test_keras_cosine_decay_with_warmup(ks):
    """CosineDecay(initial, decay_steps, alpha, warmup_target=W, warmup_steps=w) =
    warmup(cosine(W, alpha * W, steps=decay_steps), steps=w, start=initial).
    Keras' decay_steps count *after* the warmup (optax counts the warmup inside decay_steps); the
    warmup is linear from ``initial`` to ``W``, and ``alpha`` is a fraction of ``W``, not of ``initial``."""
    rng = rng_for("CosineDecay-warmup")
    for i in range(KERAS_CONFIGS):
        initial = 0.0 if i % 3 == 0 else lr_value(rng)
        target = lr_value(rng)
        warm, decay = int(rng.integers(1, 40)), int(rng.integers(1, 80))
        alpha = float(rng.choice([0.0, rng.uniform(0, 0.9)]))
        k = ks.CosineDecay(initial, decay, alpha=alpha, warmup_target=target, warmup_steps=warm)
        s = lrkit.warmup(lrkit.cosine(target, alpha * target, steps=decay), steps=warm, start=initial)
        what = f"CosineDecay({initial}, {decay}, alpha={alpha}, warmup_target={target}, warmup_steps={warm})"
        steps = list(range(0, warm + decay + 10))
        atol = ulps(max(initial, target))  # torch.cos vs the C library's cos near x = pi (alpha = 0)
        assert_matches(s, steps, keras_values(k, steps), what, atol=atol)
        frac = [warm / 3, warm + 0.5, warm + decay / 3]
        assert_matches(s, f32(frac), keras_values(k, frac), what + " fractional (float32 step)", atol=atol)


@pytest.mark.parametrize("t_mul", [1.0, 2.0, 3.0, 1.5, "random"])
def test_keras_cosine_decay_restarts(ks, t_mul):
    """CosineDecayRestarts(lr, first_decay_steps, t_mul, m_mul, alpha) =
    cosine_restarts(lr, alpha * lr, period=first_decay_steps, period_mult=t_mul, peak_mult=m_mul)."""
    rng = rng_for(f"CosineDecayRestarts{t_mul}")
    for _ in range(8):
        lr, first = lr_value(rng), int(rng.integers(1, 40))
        mult = float(rng.uniform(1.05, 3.0)) if t_mul == "random" else t_mul
        m_mul, alpha = float(rng.uniform(0.3, 1.0)), float(rng.choice([0.0, rng.uniform(0, 0.5)]))
        k = ks.CosineDecayRestarts(lr, first, t_mul=mult, m_mul=m_mul, alpha=alpha)
        s = lrkit.cosine_restarts(lr, alpha * lr, period=first, period_mult=mult, peak_mult=m_mul)
        what = f"CosineDecayRestarts({lr}, {first}, t_mul={mult}, m_mul={m_mul}, alpha={alpha})"
        atol = ulps(lr)  # the backend's cos vs the C library's near x = pi (alpha = 0)
        assert_matches(s, KERAS_INT, keras_values(k, KERAS_INT), what, atol=atol)
        assert_matches(s, KERAS_FRACTIONAL, keras_values(k, KERAS_FRACTIONAL), what + " fractional", atol=atol)


def test_keras_torch_backend_computes_clamped_steps_in_float32(ks):
    """Documents Keras (torch backend) behaviour, not lrkit's: with floatx float64, ``keras.ops.minimum``
    of two float64 tensors is float32, so CosineDecay at step 50 + 1/3 uses the float32 step: it equals
    lrkit at float32(50 + 1/3), and differs from lrkit at the float64 step by ~1e-9 relative."""
    from keras import ops
    torch = pytest.importorskip("torch")
    if keras_backend() != "torch":
        pytest.skip("the float32 promotion is the torch backend's")
    a = ops.convert_to_tensor(np.float64(1.1))
    assert ops.minimum(a, a).dtype == torch.float32
    k = ks.CosineDecay(1.0, 100)
    s = lrkit.cosine(1.0, 0.0, steps=100)
    t = 50 + 1 / 3
    got = float(k(t))
    assert math.isclose(got, s(float(np.float32(t))), rel_tol=REL)
    assert not math.isclose(got, s(t), rel_tol=1e-10)


def keras_backend():
    import keras
    return keras.backend.backend()

# =====================================================================================================
# optax (jax_enable_x64)
# =====================================================================================================

INT_STEPS = np.arange(300)
FRACTIONAL = np.sort(np.random.default_rng(7).uniform(0, 300, 100))


@pytest.fixture(scope="module")
def optax():
    jax = pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield optax
    jax.config.update("jax_enable_x64", previous)


def optax_curve(schedule, steps):
    """The optax schedule at integer counts (as optax's step counter) or float steps, float64."""
    import jax
    import jax.numpy as jnp
    counts = jnp.asarray(np.asarray(steps))
    value = np.asarray(jax.vmap(schedule)(counts))
    assert value.dtype == np.float64, value.dtype
    return value


def test_optax_exponential_decay(optax):
    """exponential_decay(init, transition_steps, decay_rate, transition_begin, staircase, end_value) =
    clip(sequence([constant(init), exponential(init, decay_rate, transition_steps, staircase)], [begin]),
    floor=end_value) (ceiling when decay_rate >= 1); without a begin, no sequence; without an end, no clip."""
    rng = rng_for("optax.exponential_decay")
    for i in range(N_CONFIGS):
        init, steps = lr_value(rng), int(rng.integers(1, 60))
        rate = float(rng.uniform(0.2, 0.99)) if i % 5 else float(rng.uniform(1.001, 1.02))
        begin, stair = int(rng.choice([0, rng.integers(1, 100)])), bool(i % 2)
        end = None if i % 3 == 0 else init * (float(rng.uniform(0.01, 0.8)) if rate < 1 else float(rng.uniform(1.1, 3)))
        o = optax.exponential_decay(init, steps, rate, transition_begin=begin, staircase=stair, end_value=end)
        s = lrkit.exponential(init, rate, steps=steps, staircase=stair)
        if begin:
            s = lrkit.sequence([lrkit.constant(init), s], boundaries=[begin])
        if end is not None:
            s = lrkit.clip(s, floor=end) if rate < 1 else lrkit.clip(s, ceiling=end)
        what = f"exponential_decay({init}, {steps}, {rate}, begin={begin}, staircase={stair}, end={end})"
        assert_matches(s, INT_STEPS, optax_curve(o, INT_STEPS), what)
        assert_matches(s, FRACTIONAL, optax_curve(o, FRACTIONAL), what + " fractional")


@pytest.mark.parametrize("rate, end", [(0.5, 0.2), (0.9, 0.01), (1.05, 0.05), (1.1, 0.3), (1.0, 0.05), (1.0, 0.2)])
def test_optax_exponential_decay_end_value_clips_the_whole_curve(optax, rate, end):
    """With ``end_value``, optax clips the whole curve, the constant part before ``transition_begin``
    included: ``max(value, end_value)`` when decay_rate < 1, ``min(value, end_value)`` when decay_rate >= 1
    (1 included). An end_value on the far side of init_value (above it for a decay, below it for a
    growth) is then the value from step 0 on: the mapping is ``clip(sequence([constant, exponential]))``;
    a clip of the exponential alone, inside the sequence, differs before transition_begin."""
    init = 0.1
    for begin in (0, 10):
        o = optax.exponential_decay(init, 7, rate, transition_begin=begin, end_value=end)
        inner = lrkit.exponential(init, rate, steps=7)

        def seq(x):
            return lrkit.sequence([lrkit.constant(init), x], boundaries=[begin]) if begin else x

        def clip(x):
            return lrkit.clip(x, floor=end) if rate < 1 else lrkit.clip(x, ceiling=end)

        assert_matches(clip(seq(inner)), INT_STEPS, optax_curve(o, INT_STEPS),
                       f"exponential_decay({init}, 7, {rate}, begin={begin}, end_value={end})")
        far_side = end > init if rate < 1 else end < init
        if begin and far_side:
            assert seq(clip(inner))(0) == init and optax_curve(o, [0])[0] == end


def test_optax_piecewise_constant_schedule(optax):
    """piecewise_constant_schedule(init, {b: scale}) = piecewise_constant(bs, running products), switch "at"."""
    rng = rng_for("optax.piecewise_constant_schedule")
    for _ in range(N_CONFIGS):
        init = lr_value(rng)
        bounds = sorted(set(int(b) for b in rng.integers(1, 300, size=rng.integers(1, 6))))
        scales = [float(rng.uniform(0.05, 2.0)) for _ in bounds]
        values = [init]
        for scale in scales:
            values.append(values[-1] * scale)
        o = optax.piecewise_constant_schedule(init, dict(zip(bounds, scales)))
        s = lrkit.piecewise_constant(bounds, values)
        assert_matches(s, INT_STEPS, optax_curve(o, INT_STEPS), f"piecewise_constant_schedule({init}, {bounds}, {scales})")


def test_optax_polynomial_schedule(optax):
    """polynomial_schedule(init, end, power, transition_steps, transition_begin) =
    sequence([constant(init), polynomial(init, end, transition_steps, power)], [begin]) (rising allowed)."""
    rng = rng_for("optax.polynomial_schedule")
    for i in range(N_CONFIGS):
        init, end = lr_value(rng), lr_value(rng)
        steps, power, begin = int(rng.integers(1, 200)), float(rng.uniform(0.3, 4.0)), int(rng.choice([0, rng.integers(1, 80)]))
        o = optax.polynomial_schedule(init, end, power, steps, transition_begin=begin)
        s = lrkit.polynomial(init, end, steps=steps, power=power)
        if begin:
            s = lrkit.sequence([lrkit.constant(init), s], boundaries=[begin])
        what = f"polynomial_schedule({init}, {end}, {power}, {steps}, {begin})"
        atol = ulps(max(init, end))  # optax: (init - end) * 1 + end at the start
        assert_matches(s, INT_STEPS, optax_curve(o, INT_STEPS), what, atol=atol)
        assert_matches(s, FRACTIONAL, optax_curve(o, FRACTIONAL), what + " fractional", atol=atol)


def test_optax_cosine_decay_schedule(optax):
    """cosine_decay_schedule(init, decay_steps, alpha, exponent) = cosine(init, alpha * init, decay_steps, exponent)."""
    rng = rng_for("optax.cosine_decay_schedule")
    for i in range(N_CONFIGS):
        init, steps = lr_value(rng), int(rng.integers(1, 280))
        alpha = float(rng.choice([0.0, rng.uniform(0.05, 0.9)]))
        # an exponent below 1 amplifies the cos ulp near the end (x^e has slope e x^(e-1)): only with a floor
        exponent = 1.0 if i % 3 == 0 else float(rng.uniform(1.0, 3.0) if alpha == 0 else rng.uniform(0.5, 3.0))
        o = optax.cosine_decay_schedule(init, steps, alpha=alpha, exponent=exponent)
        s = lrkit.cosine(init, alpha * init, steps=steps, exponent=exponent)
        what = f"cosine_decay_schedule({init}, {steps}, {alpha}, {exponent})"
        atol = ulps(init, n=4 * exponent)  # XLA's cos vs the C library's near x = pi
        assert_matches(s, INT_STEPS, optax_curve(o, INT_STEPS), what, atol=atol)
        assert_matches(s, FRACTIONAL, optax_curve(o, FRACTIONAL), what + " fractional", atol=atol)


def test_optax_warmup_cosine_decay_schedule(optax):
    """warmup_cosine_decay_schedule(init, peak, warmup_steps, decay_steps, end, exponent) =
    warmup(cosine(peak, end, steps=decay_steps - warmup_steps, exponent), steps=warmup_steps, start=init):
    optax counts the warmup *inside* decay_steps (Keras counts it outside)."""
    rng = rng_for("optax.warmup_cosine_decay_schedule")
    for i in range(N_CONFIGS):
        init = 0.0 if i % 3 == 0 else lr_value(rng)
        peak, warm = lr_value(rng), int(rng.integers(1, 60))
        decay = warm + int(rng.integers(1, 200))
        end = peak * float(rng.choice([0.0, rng.uniform(0.05, 0.5)]))
        exponent = 1.0 if i % 2 else float(rng.uniform(1.0, 3.0) if end == 0 else rng.uniform(0.5, 3.0))
        o = optax.warmup_cosine_decay_schedule(init, peak, warm, decay, end_value=end, exponent=exponent)
        s = lrkit.warmup(lrkit.cosine(peak, end, steps=decay - warm, exponent=exponent), steps=warm, start=init)
        what = f"warmup_cosine_decay_schedule({init}, {peak}, {warm}, {decay}, {end}, {exponent})"
        atol = ulps(max(init, peak), n=4 * exponent)  # linear warmup from init << peak; cos near pi
        assert_matches(s, INT_STEPS, optax_curve(o, INT_STEPS), what, atol=atol)
        assert_matches(s, FRACTIONAL, optax_curve(o, FRACTIONAL), what + " fractional", atol=atol)


def test_optax_linear_onecycle(optax):
    """linear_onecycle_schedule(T, peak, pct_start, pct_final, div, final_div), with b1 = int(pct_start T),
    b2 = int(pct_final T), init = peak / div = sequence([linear(init, peak, b1), linear(peak, init, b2 - b1),
    linear(init, init / final_div, T - b2)], [b1, b2]). When b2 = 2 b1 it is torch's three-phase one-cycle:
    one_cycle(peak, steps=T + 1, pct_start=(b1 + 1) / (T + 1), anneal="linear", three_phase=True)."""
    rng = rng_for("optax.linear_onecycle_schedule")
    for i in range(N_CONFIGS):
        total = int(rng.integers(10, 280))
        b1 = int(rng.integers(1, total // 2 - 1)) if total >= 6 else 1
        b2 = 2 * b1 if i % 2 else int(rng.integers(b1 + 1, total))
        peak, div, final_div = lr_value(rng), float(rng.uniform(2, 100)), float(10 ** rng.uniform(0, 5))
        pct_start, pct_final = (b1 + 0.5) / total, (b2 + 0.5) / total
        o = optax.linear_onecycle_schedule(total, peak, pct_start, pct_final, div, final_div)
        init = peak / div
        s = lrkit.sequence([lrkit.linear(init, peak, steps=b1), lrkit.linear(peak, init, steps=b2 - b1),
                            lrkit.linear(init, init / final_div, steps=total - b2)], boundaries=[b1, b2])
        what = f"linear_onecycle_schedule({total}, {peak}, {pct_start}, {pct_final}, {div}, {final_div})"
        ref = optax_curve(o, INT_STEPS)
        atol = ulps(peak)  # optax's (end - start) * pct + start near a final LR far below init
        assert_matches(s, INT_STEPS, ref, what, atol=atol)
        if b2 == 2 * b1:
            recipe = lrkit.one_cycle(peak, steps=total + 1, pct_start=(b1 + 1) / (total + 1), anneal="linear",
                                     div_factor=div, final_div_factor=final_div, three_phase=True)
            assert_matches(recipe, INT_STEPS, ref, what + " as one_cycle(three_phase=True)", atol=atol)


def test_optax_cosine_onecycle(optax):
    """cosine_onecycle_schedule(T, peak, pct_start, div, final_div), b1 = int(pct_start T) =
    one_cycle(peak, steps=T + 1, pct_start=(b1 + 1) / (T + 1), anneal="cos", div, final_div): optax's
    phases end at b1 and T, torch's at pct_start * steps - 1 and steps - 1."""
    rng = rng_for("optax.cosine_onecycle_schedule")
    for _ in range(N_CONFIGS):
        total = int(rng.integers(4, 280))
        b1 = int(rng.integers(1, total - 1))
        pct_start = (b1 + 0.5) / total
        peak, div, final_div = lr_value(rng), float(rng.uniform(2, 100)), float(10 ** rng.uniform(0, 5))
        o = optax.cosine_onecycle_schedule(total, peak, pct_start, div, final_div)
        s = lrkit.one_cycle(peak, steps=total + 1, pct_start=(b1 + 1) / (total + 1), anneal="cos",
                            div_factor=div, final_div_factor=final_div)
        what = f"cosine_onecycle_schedule({total}, {peak}, {pct_start}, {div}, {final_div})"
        assert_matches(s, INT_STEPS, optax_curve(o, INT_STEPS), what, atol=ulps(peak))  # cos near pi


def sgdr_piece(kw):
    body = lrkit.cosine(kw["peak_value"], kw["end_value"], steps=kw["decay_steps"] - kw["warmup_steps"])
    if kw["warmup_steps"] == 0:  # optax: a 0-step linear warmup is no warmup
        return body
    return lrkit.warmup(body, steps=kw["warmup_steps"], start=kw["init_value"])


def test_optax_sgdr_schedule(optax):
    """sgdr_schedule([kw_0, kw_1, ...]) = sequence([warmup(cosine(peak_i, end_i, decay_i - warmup_i),
    warmup_i, start=init_i), ...], boundaries=cumulative decay_steps)."""
    rng = rng_for("optax.sgdr_schedule")
    for _ in range(N_CONFIGS):
        kws = []
        for _ in range(int(rng.integers(1, 5))):
            warm = int(rng.choice([0, rng.integers(1, 20)]))
            peak = lr_value(rng)
            kws.append(dict(init_value=lr_value(rng), peak_value=peak, warmup_steps=warm,
                            decay_steps=warm + int(rng.integers(1, 80)), end_value=peak * float(rng.uniform(0, 0.5))))
        o = optax.sgdr_schedule(kws)
        bounds = list(np.cumsum([kw["decay_steps"] for kw in kws])[:-1].tolist())
        pieces = [sgdr_piece(kw) for kw in kws]
        s = lrkit.sequence(pieces, boundaries=bounds) if bounds else pieces[0]
        atol = ulps(max(max(kw["init_value"], kw["peak_value"]) for kw in kws))  # warmups; cos near pi
        assert_matches(s, INT_STEPS, optax_curve(o, INT_STEPS), f"sgdr_schedule({kws})", atol=atol)


@pytest.mark.parametrize("mult", [1, 2, 3])
def test_optax_sgdr_is_cosine_restarts(optax, mult):
    """Cycles of decay_steps T_0 m^n, no warmup, peaks end + (start - end) m_mul^n:
    sgdr_schedule == cosine_restarts(start, end, T_0, period_mult=m, peak_mult=m_mul) over those cycles."""
    rng = rng_for(f"optax.sgdr-restarts{mult}")
    for _ in range(10):
        start, t0 = lr_value(rng), int(rng.integers(1, 30))
        end, m_mul = start * float(rng.uniform(0, 0.5)), float(rng.uniform(0.3, 1.0))
        kws, total, n = [], 0, 0
        while total < 300:
            length = t0 * mult ** n
            peak = end + (start - end) * m_mul ** n
            kws.append(dict(init_value=peak, peak_value=peak, warmup_steps=0, decay_steps=length, end_value=end))
            total, n = total + length, n + 1
        o = optax.sgdr_schedule(kws)
        s = lrkit.cosine_restarts(start, end, period=t0, period_mult=mult, peak_mult=m_mul)
        assert_matches(s, INT_STEPS, optax_curve(o, INT_STEPS), f"sgdr cycles {t0} * {mult}^n, m_mul={m_mul}",
                       atol=ulps(start))  # cos near pi


def test_optax_join_schedules(optax):
    """join_schedules(schedules, boundaries) = sequence(the same schedules in lrkit, boundaries): each part
    on its own clock, switched at ``step >= boundary``."""
    rng = rng_for("optax.join_schedules")

    scale = []

    def random_pair():
        kind, init = int(rng.integers(0, 4)), lr_value(rng)
        scale.append(init)
        steps = int(rng.integers(1, 100))
        if kind == 0:
            return optax.constant_schedule(init), lrkit.constant(init)
        if kind == 1:
            end = lr_value(rng)
            scale.append(end)
            return optax.linear_schedule(init, end, steps), lrkit.linear(init, end, steps=steps)
        if kind == 2:
            return optax.cosine_decay_schedule(init, steps), lrkit.cosine(init, 0.0, steps=steps)
        rate = float(rng.uniform(0.5, 0.99))
        return optax.exponential_decay(init, steps, rate), lrkit.exponential(init, rate, steps=steps)

    for _ in range(N_CONFIGS):
        pairs = [random_pair() for _ in range(int(rng.integers(2, 5)))]
        bounds = sorted(set(int(b) for b in rng.integers(1, 280, size=len(pairs) - 1)))
        pairs = pairs[:len(bounds) + 1]
        o = optax.join_schedules([p[0] for p in pairs], bounds)
        s = lrkit.sequence([p[1] for p in pairs], boundaries=bounds)
        assert_matches(s, INT_STEPS, optax_curve(o, INT_STEPS), f"join_schedules({s!r})", atol=ulps(max(scale)))
        scale.clear()


def test_optax_constant_and_linear(optax):
    rng = rng_for("optax.constant-linear")
    for _ in range(N_CONFIGS):
        a, b, steps = lr_value(rng), lr_value(rng), int(rng.integers(1, 280))
        assert_matches(lrkit.linear(a, b, steps=steps), INT_STEPS, optax_curve(optax.linear_schedule(a, b, steps), INT_STEPS),
                       f"linear_schedule({a}, {b}, {steps})", atol=ulps(max(a, b)))  # (a - b) * 1 + b at 0
