"""The reference table: (schedule, steps, expected) for every shape, combinator and recipe of lrkit.

Every expected value is read off the definition by hand (a midpoint, a quarter, a plateau, a join, a
hold after the end, a restart), never computed by lrkit. Each row says why its numbers are right.
The core tests (tests/test_reference.py) run the table on the scalar and numpy paths; the torch,
keras and optax adapters import the same table and run it through their own evaluation:

    from reference import CASES, close
    for case in CASES:
        for step, expected in case.points: ...

``case.integer_points`` leaves out the fractional steps for adapters that count whole updates.
Values are compared with ``close`` (relative 1e-12; an absolute floor of 1e-300 only so that an
exact 0 compares equal to 0).
"""
import math
from dataclasses import dataclass

import lrkit

#: A huge step: must neither overflow nor lose the value.
HUGE = 2 ** 40
#: cos(pi / 4) = sin(pi / 4)
R2 = math.sqrt(0.5)
REL = 1e-12
ABS = 1e-300


def close(got, expected):
    """``got`` equals ``expected`` to 1e-12 relative (exact zeros compare with a 1e-300 floor)."""
    return math.isclose(float(got), expected, rel_tol=REL, abs_tol=ABS)


@lrkit.allow_function  # specs and configs may name it (reference:halve)
def halve(epoch):
    return 0.5


@lrkit.allow_function  # specs and configs may name it (reference:inverse_cycle)
def inverse_cycle(cycle):
    return 1 / cycle


@lrkit.allow_function  # specs and configs may name it (reference:tenth_decay)
def tenth_decay(t, xp):
    """A user function written against the array namespace: exp(-t / 10)."""
    return xp.exp(-t / 10)


@lrkit.allow_function  # specs and configs may name it (reference:inverse_epoch)
def inverse_epoch(t):
    """The seed's LambdaLR factor ``1 / (epoch + 1)``; allowed, so it saves by name."""
    return 1 / (t + 1)


@dataclass(frozen=True)
class Case:
    id: str
    schedule: lrkit.Schedule
    points: tuple  # ((step, expected value), ...)
    why: str

    @property
    def steps(self):
        return [step for step, _ in self.points]

    @property
    def expected(self):
        return [value for _, value in self.points]

    @property
    def integer_points(self):
        return tuple((s, v) for s, v in self.points if float(s).is_integer())


def _case(id, schedule, points, why):
    return Case(id, schedule, tuple(points), why)


CASES = [
    # ---------------------------------------------------------------- constant
    _case("constant", lrkit.constant(0.1),
          [(0, 0.1), (1, 0.1), (2.5, 0.1), (10 ** 6, 0.1), (HUGE, 0.1)],
          "the same value at every step"),

    # ---------------------------------------------------------------- linear
    _case("linear/decay", lrkit.linear(1.0, 0.2, steps=8),
          [(0, 1.0), (2, 0.8), (2.5, 0.75), (4, 0.6), (6, 0.4), (8, 0.2), (9, 0.2), (HUGE, 0.2)],
          "drops 0.8 over 8 steps: 0.1 per step; holds 0.2 after step 8"),
    _case("linear/rise", lrkit.linear(0.0, 1.0, steps=4),
          [(0, 0.0), (1, 0.25), (2, 0.5), (3.5, 0.875), (4, 1.0), (5, 1.0)],
          "a quarter per step, then hold"),

    # ---------------------------------------------------------------- polynomial
    _case("polynomial/power2", lrkit.polynomial(1.0, 0.0, steps=10, power=2.0),
          [(0, 1.0), (5, 0.25), (7.5, 0.0625), (10, 0.0), (20, 0.0), (HUGE, 0.0)],
          "(1 - t/10)^2: 1/4 at half way, 1/16 at three quarters"),
    _case("polynomial/sqrt-with-end", lrkit.polynomial(2.0, 1.0, steps=4, power=0.5),
          [(0, 2.0), (3, 1.5), (4, 1.0), (40, 1.0)],
          "1 + (1 - 3/4)^0.5 = 1.5 at step 3"),
    _case("polynomial/cycle", lrkit.polynomial(1.0, 0.0, steps=4, cycle=True),
          [(0, 1.0), (2, 0.5), (4, 0.0), (5, 0.375), (6, 0.25), (8, 0.0), (9, 0.25)],
          "TF cycle: horizon 4*ceil(t/4) (4 at t=0): 1-5/8 at 5, 1-6/8 at 6, 1-9/12 at 9"),

    # ---------------------------------------------------------------- exponential (TF / torch)
    _case("exponential/smooth", lrkit.exponential(1.0, 0.5, steps=2),
          [(0, 1.0), (1, R2), (2, 0.5), (3, 0.5 * R2), (4, 0.25), (2.5, 0.5 ** 1.25)],
          "0.5^(t/2): sqrt(1/2) after one step, halves every 2"),
    _case("exponential/staircase", lrkit.exponential(1.0, 0.5, steps=2, staircase=True),
          [(0, 1.0), (1, 1.0), (1.999, 1.0), (2, 0.5), (3, 0.5), (4, 0.25), (7, 0.125)],
          "0.5^floor(t/2): plateaus of 2 steps"),
    _case("exponential/torch-per-step", lrkit.exponential(0.1, 0.1),
          [(0, 0.1), (1, 0.01), (2, 1e-3), (5, 1e-6)],
          "torch ExponentialLR(gamma=0.1) from 0.1: 10^-(k+1)"),
    _case("exponential/huge", lrkit.exponential(1.0, 0.5, steps=2 ** 39),
          [(HUGE, 0.25), (0, 1.0)],
          "two full periods of 2^39 steps at 2^40"),
    _case("exponential/underflow-to-zero", lrkit.exponential(1.0, 0.5),
          [(HUGE, 0.0)],
          "0.5^(2^40) is below the smallest double: 0, not an error"),

    # ---------------------------------------------------------------- inverse time / natural exp
    _case("inverse_time/smooth", lrkit.inverse_time(1.0, 0.5, steps=2),
          [(0, 1.0), (1, 0.8), (2, 2 / 3), (3, 1 / 1.75), (4, 0.5), (HUGE, 1 / (1 + 2 ** 38))],
          "1 / (1 + 0.5 t/2): 1/1.25 at 1, 1/1.5 at 2, 1/2 at 4, 1/(1 + 2^38) at 2^40"),
    _case("inverse_time/staircase", lrkit.inverse_time(1.0, 0.5, steps=2, staircase=True),
          [(0, 1.0), (1, 1.0), (2, 2 / 3), (3, 2 / 3), (4, 0.5)],
          "1 / (1 + 0.5 floor(t/2))"),
    _case("natural_exp/smooth", lrkit.natural_exp(1.0, 0.5, steps=2),
          [(0, 1.0), (4, math.exp(-1.0)), (8, math.exp(-2.0)), (HUGE, 0.0)],
          "exp(-0.5 t/2): e^-1 at 4"),
    _case("natural_exp/staircase", lrkit.natural_exp(1.0, 0.5, steps=2, staircase=True),
          [(1, 1.0), (2, math.exp(-0.5)), (3, math.exp(-0.5)), (4, math.exp(-1.0))],
          "exp(-0.5 floor(t/2))"),

    # ---------------------------------------------------------------- inverse sqrt
    _case("inverse_sqrt", lrkit.inverse_sqrt(1.0, steps=100),
          [(0, 1.0), (100, R2), (300, 0.5), (9900, 0.1), (50, math.sqrt(2 / 3))],
          "1/sqrt((t+100)/100): halved at 3*100, a tenth at 99*100"),
    _case("inverse_sqrt/huge", lrkit.inverse_sqrt(2.0, steps=HUGE / 3),
          [(HUGE, 1.0)],
          "(2^40 + 2^40/3) / (2^40/3) = 4: half the start"),

    # ---------------------------------------------------------------- cosine
    _case("cosine/to-zero", lrkit.cosine(1.0, 0.0, steps=8),
          [(0, 1.0), (2, (1 + R2) / 2), (4, 0.5), (6, (1 - R2) / 2), (8, 0.0), (9, 0.0), (HUGE, 0.0)],
          "(1 + cos(pi t/8))/2: midpoint 1/2, quarter (1 + cos(pi/4))/2, then hold 0"),
    _case("cosine/with-end", lrkit.cosine(0.3, 0.1, steps=10),
          [(0, 0.3), (5, 0.2), (10, 0.1), (11, 0.1), (HUGE, 0.1)],
          "midpoint = (start + end)/2"),
    _case("cosine/fractional", lrkit.cosine(1.0, 0.0, steps=3),
          [(1.5, 0.5), (0.75, (1 + R2) / 2), (3.0, 0.0)],
          "fractional steps: half of 3 is the midpoint, a quarter is the quarter"),
    _case("cosine/rising", lrkit.cosine(0.1, 0.3, steps=10),
          [(0, 0.1), (5, 0.2), (10, 0.3), (20, 0.3)],
          "end > start rises along the same half cosine"),
    _case("cosine/exponent2", lrkit.cosine(1.0, 0.0, steps=8, exponent=2.0),
          [(0, 1.0), (2, ((1 + R2) / 2) ** 2), (4, 0.25), (8, 0.0)],
          "optax exponent: the cosine factor squared, 1/4 at the midpoint"),

    # ---------------------------------------------------------------- 1-sqrt
    _case("one_minus_sqrt", lrkit.one_minus_sqrt(0.9, 0.1, steps=16),
          [(0, 0.9), (4, 0.5), (9, 0.3), (16, 0.1), (17, 0.1), (HUGE, 0.1)],
          "at t = steps/4: start - (start-end)/2; at 9/16: end + (start-end)/4"),

    # ---------------------------------------------------------------- linear cosine (TF)
    _case("linear_cosine/defaults", lrkit.linear_cosine(1.0, steps=4),
          [(0, 1.001), (2, 0.251), (4, 0.001), (10, 0.001)],
          "TF: (1 - t/4)(1 + cos(pi t/4))/2 + 0.001"),
    _case("linear_cosine/one-period", lrkit.linear_cosine(1.0, steps=4, periods=1.0, alpha=0.1, beta=0.0),
          [(0, 1.1), (1, 0.425), (2, 0.0), (4, 0.1), (8, 0.1)],
          "(0.1 + 1 - t/4)(1 + cos(2 pi t/4))/2: 0.85 * 1/2 at t=1, 0 at t=2, 0.1 at the end"),

    # ---------------------------------------------------------------- piecewise
    _case("piecewise_constant/at", lrkit.piecewise_constant([2, 4], [1.0, 0.5, 0.25]),
          [(0, 1.0), (1, 1.0), (1.5, 1.0), (2, 0.5), (3, 0.5), (4, 0.25), (5, 0.25), (HUGE, 0.25)],
          "torch/optax: the value changes at t >= boundary"),
    _case("piecewise_constant/after", lrkit.piecewise_constant([2, 4], [1.0, 0.5, 0.25], switch="after"),
          [(0, 1.0), (2, 1.0), (2.5, 0.5), (4, 0.5), (4.01, 0.25), (HUGE, 0.25)],
          "Keras/TF: the value changes at t > boundary"),
    _case("piecewise_linear", lrkit.piecewise_linear([(0, 0.0), (2, 1.0), (6, 0.0)]),
          [(0, 0.0), (1, 0.5), (2, 1.0), (3, 0.75), (4, 0.5), (6, 0.0), (7, 0.0)],
          "straight lines through the points, hold the last"),
    _case("piecewise_linear/late-start", lrkit.piecewise_linear([(10, 1.0), (20, 0.0)]),
          [(0, 1.0), (10, 1.0), (15, 0.5), (20, 0.0), (30, 0.0)],
          "first value before the first point"),

    # ---------------------------------------------------------------- cosine with warm restarts
    _case("cosine_restarts/fixed-period", lrkit.cosine_restarts(1.0, 0.0, period=4),
          [(0, 1.0), (2, 0.5), (4, 1.0), (5, (1 + R2) / 2), (6, 0.5), (8, 1.0), (HUGE, 1.0)],
          "restarts at every multiple of 4 (2^40 is one); midpoints 1/2"),
    _case("cosine_restarts/odd-period-huge", lrkit.cosine_restarts(1.0, 0.0, period=3),
          [(HUGE, 0.75), (1.5, 0.5)],
          "2^40 = 1 (mod 3): one step in, (1 + cos(pi/3))/2 = 3/4"),
    _case("cosine_restarts/doubling", lrkit.cosine_restarts(1.0, 0.0, period=2, period_mult=2.0),
          [(0, 1.0), (1, 0.5), (2, 1.0), (4, 0.5), (6, 1.0), (10, 0.5), (14, 1.0), (22, 0.5), (30, 1.0)],
          "cycles [0,2) [2,6) [6,14) [14,30): restarts at 2, 6, 14, 30"),
    _case("cosine_restarts/doubling-huge", lrkit.cosine_restarts(1.0, 0.0, period=1, period_mult=2.0),
          [(HUGE - 1, 1.0), (HUGE, 1.0), (HUGE - 1 + 2 ** 39, 0.5)],
          "cycle n starts at 2^n - 1: a restart at 2^40 - 1, its midpoint 2^39 later"),
    _case("cosine_restarts/peak-mult", lrkit.cosine_restarts(1.0, 0.2, period=2, period_mult=2.0, peak_mult=0.5),
          [(0, 1.0), (1, 0.6), (2, 0.6), (4, 0.4), (6, 0.4), (10, 0.3)],
          "SGDR m_mul: peaks end + 0.8 * 0.5^n, midpoints half way to end"),
    _case("cosine_restarts/real-mult", lrkit.cosine_restarts(1.0, 0.0, period=4, period_mult=1.5),
          [(4, 1.0), (7, 0.5), (10, 1.0), (14.5, 0.5), (19, 1.0), (32.5, 1.0), (25.75, 0.5)],
          "T_mult 1.5: cycles [0,4) [4,10) [10,19) [19,32.5): exact restarts at 10, 19, 32.5"),

    # ---------------------------------------------------------------- cyclic (torch CyclicLR)
    _case("cyclic/triangular", lrkit.cyclic(0.1, 1.0, steps_up=4),
          [(0, 0.1), (2, 0.55), (4, 1.0), (6, 0.55), (8, 0.1), (12, 1.0), (HUGE, 0.1), (HUGE + 4, 1.0)],
          "up 4, down 4; 2^40 is a multiple of 8"),
    _case("cyclic/asymmetric", lrkit.cyclic(0.1, 1.0, steps_up=2, steps_down=6),
          [(1, 0.55), (2, 1.0), (5, 0.55), (8, 0.1), (10, 1.0)],
          "up 2 then down 6: midpoints at 1 and 5"),
    _case("cyclic/triangular2", lrkit.cyclic(0.1, 1.0, steps_up=2, mode="triangular2"),
          [(0, 0.1), (2, 1.0), (4, 0.1), (6, 0.55), (10, 0.325), (9, 0.1 + 0.9 * 0.125)],
          "amplitude halves each cycle: 0.9, 0.45, 0.225"),
    _case("cyclic/exp_range", lrkit.cyclic(0.0, 1.0, steps_up=2, mode="exp_range", gamma=0.5),
          [(0, 0.0), (1, 0.25), (2, 0.25), (6, 0.5 ** 6), (HUGE + 2, 0.0)],
          "height times 0.5^t: 1/2 * 1/2 at 1, 1 * 1/4 at 2"),

    _case("cyclic/scale_fn", lrkit.cyclic(0.0, 1.0, steps_up=2, scale_fn=inverse_cycle),
          [(0, 0.0), (2, 1.0), (4, 0.0), (6, 0.5), (10, 1 / 3), (5, 0.25)],
          "scale_fn(cycle) = 1 / cycle: peaks 1, 1/2, 1/3 at 2, 6, 10"),
    _case("cyclic/scale_fn-iterations", lrkit.cyclic(0.0, 1.0, steps_up=2, scale_fn=inverse_epoch,
                                                     scale_mode="iterations"),
          [(0, 0.0), (1, 0.25), (2, 1 / 3), (6, 1 / 7)],
          "height times 1 / (t + 1): 1/2 * 1/2 at 1, 1 * 1/3 at 2"),

    # ---------------------------------------------------------------- multiplicative (torch MultiplicativeLR)
    _case("multiplicative/halve", lrkit.multiplicative(halve, start=0.8),
          [(0, 0.8), (1, 0.4), (2.5, 0.2), (3, 0.1), (10, 0.8 / 1024)],
          "0.8 times 0.5 per whole step: 0.8, 0.4, 0.2 (floor of 2.5), 0.1"),

    # ---------------------------------------------------------------- function (torch LambdaLR)
    _case("function/lambda-lr", lrkit.function(inverse_epoch) * 0.1,
          [(0, 0.1), (1, 0.05), (3, 0.025), (1.5, 0.04), (HUGE, 0.1 / (HUGE + 1))],
          "the seed's LambdaLR: 0.1 / (epoch + 1)"),

    _case("function/xp", lrkit.function(tenth_decay),
          [(0, 1.0), (10, math.exp(-1)), (5, math.exp(-0.5)), (2.5, math.exp(-0.25))],
          "fn(t, xp) gets the namespace: exp(-t / 10), e^-1 at 10"),

    # ---------------------------------------------------------------- sequence
    _case("sequence/two", lrkit.sequence([lrkit.constant(1.0), lrkit.linear(1.0, 0.0, steps=4)], boundaries=[2]),
          [(0, 1.0), (1.9, 1.0), (2, 1.0), (4, 0.5), (5, 0.25), (6, 0.0), (100, 0.0)],
          "the second part starts its own clock at 2"),
    _case("sequence/three", lrkit.sequence(
        [lrkit.constant(1.0), lrkit.constant(0.5), lrkit.cosine(0.4, 0.0, steps=4)], boundaries=[2, 5]),
          [(1.9, 1.0), (2, 0.5), (4.99, 0.5), (5, 0.4), (7, 0.2), (9, 0.0), (HUGE, 0.0)],
          "switch at t >= boundary; the cosine sees t - 5 (midpoint at 7)"),

    # ---------------------------------------------------------------- warmup
    _case("warmup/linear-cosine", lrkit.warmup(lrkit.cosine(1.0, 0.0, steps=4), steps=2),
          [(0, 0.0), (1, 0.5), (2, 1.0), (3, (1 + R2) / 2), (4, 0.5), (6, 0.0), (100, 0.0)],
          "ramp 0 -> 1 over 2, joins cosine(0) at 2, cosine midpoint at 2 + 2"),
    _case("warmup/from-start", lrkit.warmup(lrkit.constant(1.0), steps=4, start=0.2),
          [(0, 0.2), (1, 0.4), (2, 0.6), (4, 1.0), (HUGE, 1.0)],
          "linear from 0.2: 0.2 per step"),
    _case("warmup/cosine-shape", lrkit.warmup(lrkit.constant(1.0), steps=4, shape="cosine"),
          [(0, 0.0), (1, (1 - R2) / 2), (2, 0.5), (4, 1.0)],
          "(1 - cos(pi u))/2: half way at u = 1/2"),
    _case("warmup/exponential-shape", lrkit.warmup(lrkit.constant(1.0), steps=4, start=0.01, shape="exponential"),
          [(0, 0.01), (1, 10 ** -1.5), (2, 0.1), (3, 10 ** -0.5), (4, 1.0)],
          "geometric 0.01 -> 1: a factor sqrt(10) per step"),
    _case("warmup/onto-exponential", lrkit.warmup(lrkit.exponential(1.0, 0.5), steps=10),
          [(5, 0.5), (10, 1.0), (12, 0.25), (12.5, 0.25 * R2)],
          "the decay starts its clock at the end of the warmup"),
    _case("warmup/fractional-steps", lrkit.warmup(lrkit.constant(2.0), steps=2.5),
          [(1.25, 1.0), (2.5, 2.0), (0.5, 0.4)],
          "a warmup of 2.5 updates (epochs as floats)"),

    # ---------------------------------------------------------------- repeat
    _case("repeat", lrkit.repeat(lrkit.linear(1.0, 0.0, steps=2), period=3),
          [(0, 1.0), (1, 0.5), (2, 0.0), (3, 1.0), (4, 0.5), (4.5, 0.25), (5, 0.0), (HUGE, 0.5)],
          "the inner clock is t mod 3; 2^40 = 1 (mod 3)"),
    _case("repeat/cosine", lrkit.repeat(lrkit.cosine(1.0, 0.0, steps=10), period=10),
          [(5, 0.5), (10, 1.0), (25, 0.5), (30, 1.0)],
          "SGDR with period_mult 1 written as a repeat"),

    # ---------------------------------------------------------------- pointwise
    _case("mul/number", lrkit.linear(1.0, 0.0, steps=4) * 0.5,
          [(0, 0.5), (2, 0.25), (4, 0.0)],
          "half of the line"),
    _case("mul/number-left", 2.0 * lrkit.cosine(1.0, 0.0, steps=4),
          [(0, 2.0), (2, 1.0)],
          "twice the cosine"),
    _case("mul/schedules", lrkit.linear(1.0, 0.0, steps=4) * lrkit.constant(0.5),
          [(2, 0.25)],
          "product of two schedules"),
    _case("add/number", lrkit.cosine(1.0, 0.0, steps=4) + 0.1,
          [(0, 1.1), (2, 0.6), (4, 0.1)],
          "cosine lifted by 0.1"),
    _case("add/schedules", lrkit.linear(1.0, 0.0, steps=4) + lrkit.linear(0.0, 1.0, steps=4),
          [(0, 1.0), (1, 1.0), (3, 1.0), (5, 1.0)],
          "a falling and a rising line sum to 1"),
    _case("clip/floor", lrkit.clip(lrkit.linear(1.0, 0.0, steps=4), floor=0.3),
          [(0, 1.0), (1, 0.75), (2, 0.5), (3, 0.3), (4, 0.3)],
          "floored at 0.3"),
    _case("clip/ceiling", lrkit.clip(lrkit.linear(0.0, 1.0, steps=4), ceiling=0.6),
          [(0, 0.0), (2, 0.5), (3, 0.6), (4, 0.6)],
          "capped at 0.6"),
    _case("clip/both", lrkit.clip(lrkit.linear(0.0, 1.0, steps=4), floor=0.2, ceiling=0.6),
          [(0, 0.2), (2, 0.5), (4, 0.6)],
          "between 0.2 and 0.6"),

    # ---------------------------------------------------------------- recipes
    _case("step_decay", lrkit.step_decay(0.1, period=3),
          [(0, 0.1), (2, 0.1), (2.99, 0.1), (3, 0.01), (5, 0.01), (6, 1e-3), (9, 1e-4)],
          "torch StepLR(step_size=3, gamma=0.1): a tenth every 3"),
    _case("step_decay/huge", lrkit.step_decay(1.0, period=2 ** 39, gamma=0.5),
          [(HUGE - 1, 0.5), (HUGE, 0.25)],
          "halved every 2^39"),
    _case("multistep", lrkit.multistep(0.1, milestones=[3, 7]),
          [(0, 0.1), (2.5, 0.1), (3, 0.01), (6, 0.01), (7, 1e-3), (HUGE, 1e-3)],
          "torch MultiStepLR([3, 7], 0.1)"),
    _case("one_cycle/linear", lrkit.one_cycle(1.0, steps=10, pct_start=0.3, anneal="linear",
                                              div_factor=10.0, final_div_factor=1.0),
          [(0, 0.1), (1, 0.55), (2, 1.0), (5.5, 0.55), (9, 0.1), (10, 0.1), (20, 0.1)],
          "torch: up 0.1 -> 1 until step 0.3*10 - 1 = 2, down to 0.1 at step 9, then hold"),
    _case("one_cycle/cos", lrkit.one_cycle(1.0, steps=10, pct_start=0.3, div_factor=10.0, final_div_factor=10.0),
          [(0, 0.1), (1, 0.55), (2, 1.0), (5.5, 0.505), (9, 0.01), (50, 0.01)],
          "cosine phases: midpoints (0.1 + 1)/2 and (1 + 0.01)/2"),
    _case("one_cycle/three-phase", lrkit.one_cycle(1.0, steps=12, pct_start=0.25, anneal="linear", div_factor=10.0,
                                                   final_div_factor=10.0, three_phase=True),
          [(0, 0.1), (1, 0.55), (2, 1.0), (3, 0.55), (4, 0.1), (7.5, 0.055), (11, 0.01), (12, 0.01)],
          "phase ends 0.25*12-1 = 2, 2*0.25*12-2 = 4, 12-1 = 11"),
    _case("cosine_wave", lrkit.cosine_wave(1.0, 0.0, steps=4),
          [(0, 1.0), (1, (1 + R2) / 2), (2, 0.5), (4, 0.0), (5, (1 - R2) / 2), (6, 0.5), (8, 1.0), (HUGE, 1.0)],
          "down to 0 at 4, back up to 1 at 8 (period 8: 2^40 is a multiple); cos(pi/4) = R2 at 1 and 5"),
    _case("wsd/linear", lrkit.wsd(1.0, steps=10, warmup=2, decay=4, shape="linear"),
          [(0, 0.0), (1, 0.5), (2, 1.0), (6, 1.0), (7, 0.75), (8, 0.5), (10, 0.0), (HUGE, 0.0)],
          "warmup 2, stable until 6, linear cooldown over 4"),
    _case("wsd/1-sqrt", lrkit.wsd(1.0, steps=20, warmup=2, decay=16, end=0.2),
          [(1, 0.5), (2, 1.0), (4, 1.0), (8, 0.6), (13, 0.4), (20, 0.2), (21, 0.2)],
          "cooldown from 4: a quarter in (t=8) is half way down, 9/16 in is three quarters down"),
    _case("wsd/cosine", lrkit.wsd(1.0, steps=10, warmup=2, decay=4, shape="cosine"),
          [(6, 1.0), (8, 0.5), (10, 0.0)],
          "cosine cooldown: its midpoint at 8"),
    _case("wsd/exponential", lrkit.wsd(1.0, steps=10, warmup=2, decay=4, shape="exponential", end=0.01),
          [(6, 1.0), (8, 0.1), (10, 0.01), (50, 0.01)],
          "geometric cooldown 1 -> 0.01 over 4: 0.1 half way, held at 0.01"),
    _case("wsd/no-warmup", lrkit.wsd(1.0, steps=8, warmup=0, decay=4, shape="linear"),
          [(0, 1.0), (4, 1.0), (6, 0.5), (8, 0.0)],
          "warmup=0: starts at the peak"),
    _case("linear_to_zero", lrkit.linear_to_zero(1.0, steps=10, warmup=2),
          [(0, 0.0), (1, 0.5), (2, 1.0), (6, 0.5), (9, 0.125), (10, 0.0), (HUGE, 0.0)],
          "warmup 2, then a straight line from the peak to 0 over the remaining 8"),
    _case("linear_to_zero/default-warmup", lrkit.linear_to_zero(1.0, steps=100),
          [(0, 0.0), (5, 1.0), (52.5, 0.5), (100, 0.0)],
          "the warmup is 5% of the run: 5 steps, then 95 down; half way down at 5 + 47.5"),

    # ---------------------------------------------------------------- issue 14: peers' shapes (_decays, _warps)
    _case("one_minus_power/1-square", lrkit.one_minus_power(1.0, 0.2, steps=4),
          [(0, 1.0), (1, 0.95), (2, 0.8), (4, 0.2), (5, 0.2), (HUGE, 0.2)],
          "1 - u^2: 15/16 of the way up at u = 1/4, 3/4 at u = 1/2 (0.2 + 0.8 * 3/4)"),
    _case("one_minus_power/sqrt", lrkit.one_minus_power(0.9, 0.1, steps=16, power=0.5),
          [(4, 0.5), (9, 0.3), (16, 0.1)],
          "power 0.5 is one_minus_sqrt's row"),
    _case("shifted_exponential/megatron", lrkit.shifted_exponential(1.0, 0.0, steps=2),
          [(0, 1.0), (1, 2 * R2 - 1), (2, 0.0), (3, 0.0), (HUGE, 0.0)],
          "Megatron's 2 * 0.5^u - 1: 2 sqrt(1/2) - 1 half way"),
    _case("shifted_exponential/ratio", lrkit.shifted_exponential(2.0, 1.0, steps=2, ratio=0.25),
          [(0, 2.0), (1, 1 + 1 / 3), (2, 1.0), (7, 1.0)],
          "(0.25^(1/2) - 0.25) / 0.75 = 1/3 of the way above end half way"),
    _case("rex", lrkit.rex(1.0, 0.0, steps=4),
          [(0, 1.0), (1, 6 / 7), (2, 2 / 3), (3, 0.4), (4, 0.0), (9, 0.0)],
          "(1 - u) / (1 - u/2): 0.75/0.875, 0.5/0.75, 0.25/0.625"),
    _case("tanh", lrkit.tanh(2.0, 0.5, steps=2, lb=-1.0, ub=1.0),
          [(0, 0.5 + 1.5 / (1 + math.exp(-2))), (1, 1.25), (2, 0.5 + 1.5 / (1 + math.exp(2))),
           (5, 0.5 + 1.5 / (1 + math.exp(2))), (HUGE, 0.5 + 1.5 / (1 + math.exp(2)))],
          "(1 - tanh(x))/2 = 1/(1 + e^2x) with x from -1 to 1: 1/2 at the midpoint; held from steps on"),
    _case("tanh/timm-defaults", lrkit.tanh(1.0, 0.0, steps=10),
          [(0, (1 - math.tanh(-7)) / 2), (10, (1 - math.tanh(3)) / 2), (20, (1 - math.tanh(3)) / 2)],
          "timm's lb=-7, ub=3: (1 - tanh(-7))/2 at 0, (1 - tanh(3))/2 from steps on"),
    _case("inverse_power", lrkit.inverse_power(1.0, steps=10, power=1.0),
          [(0, 1.0), (10, 0.5), (30, 0.25), (5, 2 / 3)],
          "1 / (1 + t/10)"),
    _case("inverse_power/rsqrt", lrkit.inverse_power(2.0, steps=HUGE / 3),
          [(HUGE, 1.0), (0, 2.0)],
          "power 0.5: inverse_sqrt's row, (1 + 3)^-1/2 = 1/2"),
    _case("warmup/1-sqrt", lrkit.warmup(lrkit.constant(1.0), steps=4, start=0.2, shape="1-sqrt"),
          [(0, 0.2), (3, 0.6), (4, 1.0), (HUGE, 1.0)],
          "HF 1-sqrt warmup: 1 - sqrt(1 - 3/4) = 1/2 of the way at t = 3"),
    _case("warmup/log", lrkit.warmup(lrkit.constant(1.0), steps=4, shape="log"),
          [(0, 0.0), (1, 0.5), (2, math.log(3) / math.log(4)), (3, 1.0), (3.5, 1.0), (4, 1.0)],
          "DeepSpeed log warmup: log(t + 1) / log(4), 1/2 at t = 1, the peak from t = 3"),
    _case("warmup/peak-over-shift", lrkit.warmup(lrkit.shift(lrkit.linear(1.0, 0.0, steps=8), steps=2), steps=2,
                                                 peak=1.0),
          [(0, 0.0), (1, 0.5), (2, 0.75), (4, 0.5), (8, 0.0)],
          "timm warmup_prefix=False: the ramp aims at 1, the line keeps its own clock (3/4 at 2: a jump)"),
    _case("shift", lrkit.shift(lrkit.cosine(1.0, 0.0, steps=4), steps=1),
          [(0, (1 + R2) / 2), (1, 0.5), (3, 0.0), (10, 0.0)],
          "the cosine one step in: its quarter at 0, its midpoint at 1"),
    _case("k_decay/linear", lrkit.k_decay(lrkit.linear(1.0, 0.0, steps=4), k=2.0, steps=4),
          [(0, 1.0), (1, 0.9375), (2, 0.75), (4, 0.0), (6, 0.0)],
          "the clock 4 (t/4)^2: 1 at t = 2, 1/4 at t = 1"),
    _case("k_decay/cosine", lrkit.k_decay(lrkit.cosine(1.0, 0.0, steps=8), k=0.5, steps=8),
          [(2, 0.5), (8, 0.0), (HUGE, 0.0)],
          "the clock 8 sqrt(t/8): 4 (the midpoint) at t = 2"),
    _case("restarts/timm-floor-limit", lrkit.restarts(lrkit.cosine(1.0, 0.0, steps=4), period=4, peak=1.0, end=0.2,
                                                      decay=0.5, limit=2),
          [(0, 1.0), (2, 0.6), (4, 0.5), (6, 0.35), (8, 0.2), (HUGE, 0.2)],
          "cycle 1 peaks at 1 * 0.5 above the floor 0.2, midpoint 0.35; end held after 2 cycles"),
    _case("restarts/stretched", lrkit.restarts(lrkit.linear(1.0, 0.0, steps=2), period=2, period_mult=2.0),
          [(1, 0.5), (2, 1.0), (4, 0.5), (6, 1.0), (10, 0.5), (13, 0.125)],
          "cycles [0,2) [2,6) [6,14): the line stretched to 4 and 8 steps"),
    _case("wsd/1-square", lrkit.wsd(1.0, steps=10, warmup=2, decay=4, shape="1-square"),
          [(6, 1.0), (8, 0.75), (10, 0.0), (11, 0.0)],
          "1-square cooldown from 6: 1 - (1/2)^2 half way"),
    _case("wsd/shifted-exponential", lrkit.wsd(1.0, steps=10, warmup=2, decay=4, shape="shifted-exponential", end=0.5),
          [(6, 1.0), (8, 0.5 + 0.5 * (2 * R2 - 1)), (10, 0.5), (11, 0.5)],
          "Megatron's exponential cooldown from 6: 2 * 0.5^(1/2) - 1 of the way above end half way"),
    _case("noise/outside-its-steps", lrkit.noise(lrkit.constant(0.5), pct=0.5, begin=2, stop=4),
          [(0, 0.5), (1.5, 0.5), (4, 0.5), (7.5, 0.5), (HUGE, 0.5)],
          "no noise before begin and from stop on: the schedule's own value"),
    _case("noise/std-0", lrkit.noise(lrkit.cosine(1.0, 0.0, steps=8), std=0.0),
          [(0, 1.0), (4, 0.5), (8, 0.0), (HUGE, 0.0)],
          "a normal noise of std 0 is 0 at every step: the cosine's row"),
    _case("noise/uniform-pct-0", lrkit.noise(lrkit.linear(1.0, 0.2, steps=8), pct=0.0, kind="uniform"),
          [(0, 1.0), (4, 0.6), (8, 0.2)],
          "a uniform noise of width 0 is 0: the line's row"),
    _case("restarts/decay", lrkit.restarts(lrkit.linear(1.0, 0.0, steps=4), period=4, decay=0.5),
          [(0, 1.0), (4, 0.5), (6, 0.25), (8, 0.25), (HUGE, 0.0)],
          "cycle n is 0.5^n times the line; 2^40 / 4 cycles in, 0.5^(2^38) is 0"),
    _case("per_epoch/linear", lrkit.per_epoch(lrkit.linear(1.0, 0.0, steps=2), updates=3),
          [(0, 1.0), (2, 1.0), (2.5, 1.0), (3, 0.5), (5, 0.5), (6, 0.0), (HUGE, 0.0)],
          "epoch floor(t / 3): 0 for t < 3 (1.0), 1 for 3 <= t < 6 (the midpoint 0.5), 2 from 6 (the end)"),
    _case("per_epoch/fractional", lrkit.per_epoch(lrkit.linear(0.0, 1.0, steps=100), updates=0.1),
          [(0, 0.0), (3, 0.29), (3.05, 0.3), (10.5, 1.0), (HUGE, 1.0)],
          "epoch 3 // 0.1 = 29, as Python's // (the float 0.1 is a little above a tenth; 3 / 0.1 rounds up to 30)"),
    _case("stairs/start", lrkit.stairs(lrkit.linear(0.0, 1.0, steps=4), steps=4, count=2),
          [(0, 0.0), (1.5, 0.0), (2, 0.5), (3.5, 0.5), (4, 1.0), (HUGE, 1.0)],
          "2 stairs every 4 steps: the line's value at 0 until 2, at 2 (half way) until 4, then its end"),
    _case("stairs/end", lrkit.stairs(lrkit.linear(1.0, 0.0, steps=4), steps=4, count=2, hold="end"),
          [(0, 1.0), (0.5, 0.5), (2, 0.5), (2.5, 0.0), (4, 0.0), (HUGE, 0.0)],
          "each stair at the value where it ends: 1/2 from just after 0 to 2, 0 from just after 2"),
    _case("stairs/fractional", lrkit.stairs(lrkit.linear(0.0, 1.0, steps=10), steps=0.1),
          [(0, 0.0), (3, 0.29), (3.05, 0.3), (HUGE, 1.0)],
          "stairs of 0.1: step 3 is on stair 3 // 0.1 = 29 (not 30), the line at 2.9"),
]

# ---------------------------------------------------------------- plans that change, clocks, batch sizes (issue 15)
_RAMP = lrkit.batch_ramp(2, 6, increment=2, over=8)  # 2 samples/update until 4 consumed, 4 until 8, then 6
CASES += [
    _case("rejoin", lrkit.rejoin(lrkit.linear(1.0, 0.0, steps=10), lrkit.linear(1.0, 0.0, steps=20), at=5),
          [(0, 1.0), (4, 0.6), (5, 0.5), (10, 1 / 3), (15, 1 / 6), (20, 0.0), (30, 0.0)],
          "old line at 0.5 at step 5, the new one at 0.75: the new line times 2/3 from there, 0 at 20"),
    _case("extend/stretch", lrkit.extend(lrkit.linear(1.0, 0.0, steps=10), steps=20, at=6),
          [(5, 0.5), (6, 0.4), (13, 0.2), (20, 0.0), (25, 0.0)],
          "the last 4 steps of the line spread over 14: step 13 is the old step 6 + 7 * 4/14 = 8"),
    _case("extend/hold", lrkit.extend(lrkit.linear(1.0, 0.0, steps=10), steps=20, at=6, how="hold"),
          [(6, 0.4), (15, 0.4), (16, 0.4), (18, 0.2), (20, 0.0)],
          "0.4 held 10 more steps, then the old steps 6..10 at 16..20"),
    _case("cooldown", lrkit.cooldown(lrkit.wsd(1.0, steps=100, warmup=10, decay=20), at=40, steps=10, shape="linear"),
          [(5, 0.5), (39, 1.0), (40, 1.0), (45, 0.5), (50, 0.0), (60, 0.0)],
          "a linear cooldown forked from the stable phase at 40: half way at 45, 0 at 50"),
    _case("rewarm", lrkit.rewarm(lrkit.linear(1.0, 0.1, steps=10), at=10, peak=1.0, warmup=2, steps=12, shape="linear",
                                 end=0.1),
          [(9, 0.19), (10, 0.1), (11, 0.55), (12, 1.0), (17, 0.55), (22, 0.1), (30, 0.1)],
          "from 0.1 back up to 1 over 2 steps, then down to 0.1 over 10: half way at 17"),
    _case("batch_sizes/samples", lrkit.batch_sizes([2, 4], boundaries=[6], unit="samples"),
          [(0, 2.0), (2, 2.0), (3, 4.0), (100, 4.0)],
          "3 updates of 2 consume 6 samples: update 3 takes 4"),
    _case("batch_sizes/updates", lrkit.batch_sizes([8, 16, 32], boundaries=[10, 20]),
          [(0, 8.0), (9, 8.0), (10, 16.0), (19, 16.0), (20, 32.0)],
          "switches at updates 10 and 20"),
    _case("batch_ramp", _RAMP,
          [(0, 2.0), (1, 2.0), (2, 4.0), (3, 6.0), (10, 6.0)],
          "2 increments of 2 over 8 samples: 4 from 4 consumed (update 2), 6 from 8 consumed (update 3)"),
    _case("clocked/tokens", lrkit.clocked(lrkit.linear(1.0, 0.0, steps=1000), unit="tokens", batch=2, seq_len=100),
          [(0, 1.0), (1, 0.8), (2.5, 0.5), (5, 0.0), (9, 0.0)],
          "200 tokens an update: update k is at 200 k tokens of a 1000-token line"),
    _case("clocked/ramp", lrkit.clocked(lrkit.linear(1.0, 0.0, steps=40), unit="samples", batch=_RAMP),
          [(0, 1.0), (1, 0.95), (2, 0.9), (3, 0.8), (4, 0.65), (5, 0.5), (6, 0.35)],
          "samples before update k under the ramp: 0, 2, 4, 8, 14, 20, 26 of a 40-sample line"),
    _case("clocked/fraction", lrkit.clocked(lrkit.warmup(lrkit.constant(1.0), steps=0.05), unit="fraction", total=200),
          [(0, 0.0), (5, 0.5), (10, 1.0), (200, 1.0)],
          "a warmup of 5% of a 200-update run: 10 updates"),
    _case("clocked/shares", lrkit.clocked(lrkit.warmup(lrkit.linear(1.0, 0.0, steps="50%"), steps="25%"),
                                          unit="samples", batch=_RAMP, total=6),
          [(0, 0.0), (1, 4 / 13), (2, 8 / 13), (3, 23 / 26), (4, 11 / 26), (5, 0.0), (6, 0.0)],
          "6 updates under the ramp are 26 samples: a warmup of 25% (6.5 samples), then a line down over 50% "
          "(13); samples before update k: 0, 2, 4, 8, 14, 20"),
    _case("clocked/epochs", lrkit.clocked(lrkit.step_decay(1.0, period=2, gamma=0.5), unit="epochs",
                                          updates_per_epoch=10),
          [(19, 1.0), (20, 0.5), (45, 0.25)],
          "halved every 2 epochs of 10 updates"),
    _case("batch_scaled/sqrt", lrkit.batch_scaled(lrkit.constant(1.0), lrkit.batch_sizes([256, 1024], boundaries=[10]),
                                                  base=256),
          [(0, 1.0), (9, 1.0), (10, 2.0)],
          "a batch 4x the base: the LR times sqrt(4)"),
    _case("batch_scaled/linear", lrkit.batch_scaled(lrkit.constant(0.1), lrkit.batch_sizes([256, 1024], boundaries=[10]),
                                                    base=256, rule="linear"),
          [(9, 0.1), (10, 0.4)],
          "a batch 4x the base: the LR times 4"),
]

IDS = [case.id for case in CASES]
assert len(set(IDS)) == len(IDS), "reference case ids must be unique"
