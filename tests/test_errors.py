"""One table of bad calls: each raises lrkit's own error (a LrkitValueError / LrkitTypeError / SpecError,
all LrkitError and ValueError/TypeError) at construction (or at the call, for bad steps), and its
message names the argument and the offending value."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lrkit
from lrkit import LrkitError, LrkitTypeError, LrkitValueError, SpecError

NAN = float("nan")
INF = float("inf")
cos = lrkit.cosine(0.1, 0.0, steps=10)
COSINE_CONFIG = cos.to_config()


def bad(id, call, error, *fragments):
    return pytest.param(call, error, fragments, id=id)


def without(config, key):
    return {k: v for k, v in config.items() if k != key}


BAD_CALLS = [
    # ---- non-positive steps and periods -------------------------------------------------------
    bad("linear steps=0", lambda: lrkit.linear(1.0, 0.0, steps=0), LrkitValueError, "steps", "got 0"),
    bad("cosine steps<0", lambda: lrkit.cosine(1.0, 0.0, steps=-5), LrkitValueError, "steps", "-5"),
    bad("polynomial steps=0.0", lambda: lrkit.polynomial(1.0, 0.0, steps=0.0), LrkitValueError, "steps", "0.0"),
    bad("linear steps=inf", lambda: lrkit.linear(1.0, 0.0, steps=INF), LrkitValueError, "steps", "inf"),
    bad("cosine steps=nan", lambda: lrkit.cosine(1.0, 0.0, steps=NAN), LrkitValueError, "steps", "nan"),
    bad("exponential steps=0", lambda: lrkit.exponential(1.0, 0.5, steps=0), LrkitValueError, "steps", "got 0"),
    bad("inverse_time steps<0", lambda: lrkit.inverse_time(1.0, 0.5, steps=-1), LrkitValueError, "steps", "-1"),
    bad("natural_exp steps=0", lambda: lrkit.natural_exp(1.0, 0.5, steps=0), LrkitValueError, "steps", "got 0"),
    bad("inverse_sqrt steps=0", lambda: lrkit.inverse_sqrt(1.0, steps=0), LrkitValueError, "steps", "got 0"),
    bad("one_minus_sqrt steps=0", lambda: lrkit.one_minus_sqrt(1.0, 0.0, steps=0), LrkitValueError, "steps", "got 0"),
    bad("linear_cosine steps=0", lambda: lrkit.linear_cosine(1.0, steps=0), LrkitValueError, "steps", "got 0"),
    bad("cosine_restarts period=0", lambda: lrkit.cosine_restarts(1.0, 0.0, period=0), LrkitValueError,
        "period", "got 0"),
    bad("cosine_restarts period<0", lambda: lrkit.cosine_restarts(1.0, 0.0, period=-3.5), LrkitValueError,
        "period", "-3.5"),
    bad("cyclic steps_up=0", lambda: lrkit.cyclic(0.1, 1.0, steps_up=0), LrkitValueError, "steps_up", "got 0"),
    bad("cyclic steps_down=0", lambda: lrkit.cyclic(0.1, 1.0, steps_up=2, steps_down=0), LrkitValueError,
        "steps_down", "got 0"),
    bad("warmup steps=0", lambda: lrkit.warmup(cos, steps=0), LrkitValueError, "steps", "got 0"),
    bad("repeat period=0", lambda: lrkit.repeat(cos, period=0), LrkitValueError, "period", "got 0"),
    bad("step_decay period=0", lambda: lrkit.step_decay(0.1, period=0), LrkitValueError, "period", "got 0"),
    bad("one_cycle steps=0", lambda: lrkit.one_cycle(1.0, steps=0), LrkitValueError, "steps", "got 0"),
    bad("wsd decay=0", lambda: lrkit.wsd(1.0, steps=10, warmup=2, decay=0), LrkitValueError, "decay", "got 0"),
    bad("wsd steps<0", lambda: lrkit.wsd(1.0, steps=-10, warmup=2, decay=2), LrkitValueError, "steps", "-10"),
    bad("sequence boundary=0", lambda: lrkit.sequence([cos, cos], boundaries=[0]), LrkitValueError,
        "boundaries[0]", "got 0"),
    # ---- non-increasing milestones / boundaries / points ----------------------------------------
    bad("multistep decreasing", lambda: lrkit.multistep(0.1, milestones=[7, 3]), LrkitValueError,
        "milestones", "strictly increasing", "[7, 3]"),
    bad("multistep repeated", lambda: lrkit.multistep(0.1, milestones=[3, 3]), LrkitValueError,
        "milestones", "[3, 3]"),
    bad("multistep negative", lambda: lrkit.multistep(0.1, milestones=[-1, 3]), LrkitValueError,
        "milestones[0]", "-1"),
    bad("piecewise_constant boundaries", lambda: lrkit.piecewise_constant([4, 2], [1.0, 0.5, 0.1]),
        LrkitValueError, "boundaries", "[4, 2]"),
    bad("sequence boundaries", lambda: lrkit.sequence([cos, cos, cos], boundaries=[5, 5]), LrkitValueError,
        "boundaries", "[5, 5]"),
    bad("piecewise_linear points", lambda: lrkit.piecewise_linear([(0, 1.0), (5, 0.5), (3, 0.0)]),
        LrkitValueError, "points steps", "[0, 5, 3]"),
    # ---- negative / NaN / infinite numbers --------------------------------------------------------
    bad("exponential gamma<0", lambda: lrkit.exponential(1.0, -0.5), LrkitValueError, "gamma", "-0.5"),
    bad("exponential gamma nan", lambda: lrkit.exponential(1.0, NAN), LrkitValueError, "gamma", "nan"),
    bad("step_decay gamma<0", lambda: lrkit.step_decay(0.1, period=3, gamma=-0.1), LrkitValueError,
        "gamma", "-0.1"),
    bad("multistep gamma nan", lambda: lrkit.multistep(0.1, milestones=[3], gamma=NAN), LrkitValueError,
        "gamma", "nan"),
    bad("cyclic gamma=0", lambda: lrkit.cyclic(0.1, 1.0, steps_up=2, mode="exp_range", gamma=0.0),
        LrkitValueError, "gamma", "0.0"),
    bad("cyclic gamma nan", lambda: lrkit.cyclic(0.1, 1.0, steps_up=2, mode="exp_range", gamma=NAN),
        LrkitValueError, "gamma", "nan"),
    bad("linear start inf", lambda: lrkit.linear(INF, 0.0, steps=3), LrkitValueError, "start", "inf"),
    bad("cosine start<0", lambda: lrkit.cosine(-0.1, 0.0, steps=3), LrkitValueError, "start", "-0.1"),
    bad("cosine end nan", lambda: lrkit.cosine(0.1, NAN, steps=3), LrkitValueError, "end", "nan"),
    bad("constant value<0", lambda: lrkit.constant(-1.0), LrkitValueError, "value", "-1.0"),
    bad("polynomial power=0", lambda: lrkit.polynomial(1.0, 0.0, steps=3, power=0), LrkitValueError,
        "power", "got 0"),
    bad("cosine exponent<0", lambda: lrkit.cosine(1.0, 0.0, steps=3, exponent=-1.0), LrkitValueError,
        "exponent", "-1.0"),
    bad("piecewise_constant values<0", lambda: lrkit.piecewise_constant([2], [1.0, -0.5]), LrkitValueError,
        "values[1]", "-0.5"),
    bad("cosine_restarts peak_mult<0", lambda: lrkit.cosine_restarts(1.0, 0.0, period=2, peak_mult=-0.5),
        LrkitValueError, "peak_mult", "-0.5"),
    bad("warmup start<0", lambda: lrkit.warmup(cos, steps=2, start=-0.1), LrkitValueError, "start", "-0.1"),
    bad("clip floor nan", lambda: lrkit.clip(cos, floor=NAN), LrkitValueError, "floor", "nan"),
    bad("mul by inf", lambda: cos * INF, LrkitValueError, "right", "inf"),
    bad("one_cycle pct_start=1", lambda: lrkit.one_cycle(1.0, steps=100, pct_start=1.0), LrkitValueError,
        "pct_start", "1.0"),
    bad("one_cycle div_factor=0", lambda: lrkit.one_cycle(1.0, steps=100, div_factor=0.0), LrkitValueError,
        "div_factor", "0.0"),
    # ---- T_mult < 1 ------------------------------------------------------------------------------
    bad("cosine_restarts period_mult<1", lambda: lrkit.cosine_restarts(1.0, 0.0, period=2, period_mult=0.5),
        LrkitValueError, "period_mult", "0.5"),
    bad("cosine_restarts period_mult=0", lambda: lrkit.cosine_restarts(1.0, 0.0, period=2, period_mult=0),
        LrkitValueError, "period_mult", "got 0"),
    # ---- end > start where a decay is required ---------------------------------------------------
    bad("one_minus_sqrt end>start", lambda: lrkit.one_minus_sqrt(0.1, 0.2, steps=10), LrkitValueError,
        "end", "0.2", "start", "0.1"),
    bad("wsd end>peak", lambda: lrkit.wsd(0.1, steps=10, warmup=2, decay=4, end=0.2), LrkitValueError,
        "end", "0.2", "peak", "0.1"),
    bad("wsd exponential end=0", lambda: lrkit.wsd(0.1, steps=10, warmup=2, decay=4, shape="exponential"),
        LrkitValueError, "end", "0.0"),
    bad("wsd does not fit", lambda: lrkit.wsd(0.1, steps=10, warmup=6, decay=6), LrkitValueError,
        "warmup", "decay", "steps", "10"),
    bad("one_cycle no room", lambda: lrkit.one_cycle(1.0, steps=2, pct_start=0.3), LrkitValueError,
        "pct_start", "0.3", "steps", "2"),
    bad("warmup exponential from 0", lambda: lrkit.warmup(cos, steps=2, shape="exponential"), LrkitValueError,
        "start", "0.0"),
    bad("clip floor>ceiling", lambda: lrkit.clip(cos, floor=0.5, ceiling=0.1), LrkitValueError,
        "floor", "0.5", "ceiling", "0.1"),
    bad("clip neither", lambda: lrkit.clip(cos), LrkitValueError, "floor", "ceiling"),
    # ---- wrong lengths ---------------------------------------------------------------------------
    bad("piecewise_constant lengths", lambda: lrkit.piecewise_constant([1, 2], [1.0, 0.5]), LrkitValueError,
        "values", "[1.0, 0.5]"),
    bad("sequence lengths", lambda: lrkit.sequence([cos, cos], boundaries=[2, 4]), LrkitValueError,
        "boundaries", "[2, 4]"),
    bad("piecewise_linear triple", lambda: lrkit.piecewise_linear([(0, 1.0, 2.0)]), LrkitTypeError,
        "points[0]", "(0, 1.0, 2.0)"),
    bad("piecewise_linear empty", lambda: lrkit.piecewise_linear([]), LrkitValueError, "points", "[]"),
    # ---- bad mode / shape / anneal / switch names ------------------------------------------------
    bad("cyclic mode", lambda: lrkit.cyclic(0.1, 1.0, steps_up=2, mode="triangle"), LrkitValueError,
        "mode", "'triangle'"),
    bad("piecewise_constant switch", lambda: lrkit.piecewise_constant([2], [1.0, 0.5], switch="before"),
        LrkitValueError, "switch", "'before'"),
    bad("warmup shape", lambda: lrkit.warmup(cos, steps=2, shape="quadratic"), LrkitValueError,
        "shape", "'quadratic'"),
    bad("one_cycle anneal", lambda: lrkit.one_cycle(1.0, steps=100, anneal="cosine"), LrkitValueError,
        "anneal", "'cosine'"),
    bad("wsd shape", lambda: lrkit.wsd(1.0, steps=10, warmup=2, decay=4, shape="sqrt"), LrkitValueError,
        "shape", "'sqrt'"),
    # ---- bools where numbers go, numbers where bools go ------------------------------------------
    bad("bool start", lambda: lrkit.linear(True, 0.0, steps=3), LrkitTypeError, "start", "True"),
    bad("bool steps", lambda: lrkit.cosine(1.0, 0.0, steps=True), LrkitTypeError, "steps", "True"),
    bad("bool gamma", lambda: lrkit.step_decay(0.1, period=3, gamma=False), LrkitTypeError, "gamma", "False"),
    bad("bool milestone", lambda: lrkit.multistep(0.1, milestones=[True, 3]), LrkitTypeError,
        "milestones[0]", "True"),
    bad("int staircase", lambda: lrkit.exponential(1.0, 0.5, staircase=1), LrkitTypeError, "staircase", "1"),
    bad("str cycle", lambda: lrkit.polynomial(1.0, 0.0, steps=3, cycle="yes"), LrkitTypeError, "cycle", "'yes'"),
    bad("int three_phase", lambda: lrkit.one_cycle(1.0, steps=100, three_phase=0), LrkitTypeError,
        "three_phase", "0"),
    # ---- strings and other things where numbers or schedules go ----------------------------------
    bad("str start", lambda: lrkit.cosine("0.1", 0.0, steps=10), LrkitTypeError, "start", "'0.1'"),
    bad("str steps", lambda: lrkit.linear(1.0, 0.0, steps="10"), LrkitTypeError, "steps", "'10'"),
    bad("None period", lambda: lrkit.cosine_restarts(1.0, 0.0, period=None), LrkitTypeError, "period", "None"),
    bad("str milestones", lambda: lrkit.multistep(0.1, milestones="3,7"), LrkitTypeError, "milestones", "'3,7'"),
    bad("number milestones", lambda: lrkit.multistep(0.1, milestones=3), LrkitTypeError, "milestones", "3"),
    bad("str value", lambda: lrkit.piecewise_constant([2], [1.0, "0.5"]), LrkitTypeError, "values[1]", "'0.5'"),
    bad("str values", lambda: lrkit.piecewise_constant([2], "ab"), LrkitTypeError, "values", "'ab'"),
    bad("complex start", lambda: lrkit.constant(1j), LrkitTypeError, "value", "1j"),
    bad("warmup of a number", lambda: lrkit.warmup(0.1, steps=10), LrkitTypeError, "schedule", "0.1"),
    bad("repeat of a string", lambda: lrkit.repeat("cosine", period=10), LrkitTypeError, "schedule", "'cosine'"),
    bad("sequence of numbers", lambda: lrkit.sequence([cos, 0.1], boundaries=[5]), LrkitTypeError,
        "schedules[1]", "0.1"),
    bad("sequence of a schedule", lambda: lrkit.sequence(cos, boundaries=[5]), LrkitTypeError, "schedules"),
    bad("clip of a number", lambda: lrkit.clip(0.5, floor=0.1), LrkitTypeError, "schedule", "0.5"),
    bad("mul of numbers", lambda: lrkit.mul(2.0, 3.0), LrkitTypeError, "2.0", "3.0"),
    bad("add a string", lambda: lrkit.add(cos, "x"), LrkitTypeError, "right", "'x'"),
    bad("function of a number", lambda: lrkit.function(3.0), LrkitTypeError, "fn", "3.0"),
    bad("function bad reference", lambda: lrkit.function("no_such_module_xyz:f"), LrkitValueError,
        "no_such_module_xyz:f"),
    bad("function reference not a function", lambda: lrkit.function("math:pi"), LrkitValueError, "math:pi"),
    bad("function reference malformed", lambda: lrkit.function("os.system"), LrkitValueError, "'os.system'"),
    # ---- unknown names in a spec ----------------------------------------------------------------
    bad("spec unknown schedule", lambda: lrkit.parse("cosin(0.1, 0.0, steps=10)"), SpecError, "'cosin'"),
    bad("spec unknown name", lambda: lrkit.parse("warmup(cos, steps=10)"), SpecError, "'cos'"),
    bad("spec __import__", lambda: lrkit.parse("__import__('os')"), SpecError, "'__import__'"),
    bad("spec eval", lambda: lrkit.parse("eval('1')"), SpecError, "'eval'"),
    bad("spec unknown keyword", lambda: lrkit.parse("cosine(0.1, 0.0, stepz=10)"), SpecError, "stepz"),
    bad("spec missing argument", lambda: lrkit.parse("cosine(0.1, 0.0)"), SpecError, "cosine", "steps"),
    bad("spec bad value inside", lambda: lrkit.parse("warmup(cosine(0.1, 0.0, steps=0), steps=10)"),
        LrkitValueError, "steps", "got 0", "cosine"),
    bad("spec bad mode inside", lambda: lrkit.parse("cyclic(0.1, 1.0, steps_up=2, mode='up')"),
        LrkitValueError, "mode", "'up'"),
    # ---- malformed specs ---------------------------------------------------------------------------
    bad("spec attribute call", lambda: lrkit.parse("lrkit.cosine(0.1, 0.0, steps=10)"), SpecError,
        "lrkit.cosine"),
    bad("spec attribute access", lambda: lrkit.parse("cosine(0.1, 0.0, steps=10).start"), SpecError, ".start"),
    bad("spec dunder attribute", lambda: lrkit.parse("cosine.__class__"), SpecError, "__class__"),
    bad("spec subscript", lambda: lrkit.parse("[cosine(0.1, 0.0, steps=10)][0]"), SpecError, "[0]"),
    bad("spec lambda", lambda: lrkit.parse("function(lambda t: 0.1)"), SpecError, "lambda t: 0.1"),
    bad("spec import", lambda: lrkit.parse("import os"), SpecError, "import os"),
    bad("spec f-string", lambda: lrkit.parse("function(f'{0.1}')"), SpecError, "f'{0.1}'"),
    bad("spec **kw", lambda: lrkit.parse("cosine(**{'start': 0.1, 'end': 0.0, 'steps': 10})"), SpecError,
        "**", "column"),
    bad("spec *args", lambda: lrkit.parse("cosine(*[0.1, 0.0, 10])"), SpecError, "*", "column"),
    bad("spec dict", lambda: lrkit.parse("cosine({'a': 1}, 0.0, steps=10)"), SpecError, "{'a': 1}"),
    bad("spec comprehension", lambda: lrkit.parse("piecewise_constant([i for i in (1, 2)], [1, 2, 3])"),
        SpecError, "[i for i in (1, 2)]"),
    bad("spec walrus", lambda: lrkit.parse("cosine((x := 0.1), 0.0, steps=10)"), SpecError, "x := 0.1"),
    bad("spec power", lambda: lrkit.parse("cosine(0.1, 0.0, steps=10) ** 2"), SpecError, "** 2"),
    bad("spec minus schedule", lambda: lrkit.parse("-cosine(0.1, 0.0, steps=10)"), SpecError, "column 1"),
    bad("spec syntax", lambda: lrkit.parse("cosine(0.1, 0.0, steps=10"), SpecError, "cosine(0.1, 0.0, steps=10"),
    bad("spec empty", lambda: lrkit.parse(""), SpecError, "''"),
    bad("spec a number", lambda: lrkit.parse("0.1"), SpecError, "'0.1'"),
    bad("spec not a string", lambda: lrkit.parse(b"cosine(0.1, 0.0, steps=10)"), SpecError,
        "b'cosine(0.1, 0.0, steps=10)'"),
    bad("spec two statements", lambda: lrkit.parse("cosine(0.1, 0.0, steps=10); import os"), SpecError, "import os"),
    # ---- malformed configs ---------------------------------------------------------------------------
    bad("config not a dict", lambda: lrkit.from_config("cosine"), SpecError, "config", "'cosine'"),
    bad("config missing name", lambda: lrkit.from_config(without(COSINE_CONFIG, "name")), SpecError,
        "name", "None"),
    bad("config unknown name", lambda: lrkit.from_config({**COSINE_CONFIG, "name": "cosin"}), SpecError,
        "name", "'cosin'"),
    bad("config name not a string", lambda: lrkit.from_config({**COSINE_CONFIG, "name": 3}), SpecError,
        "name", "3"),
    bad("config unknown key", lambda: lrkit.from_config({**COSINE_CONFIG, "stepz": 10}), SpecError,
        "unknown", "stepz"),
    bad("config missing key", lambda: lrkit.from_config(without(COSINE_CONFIG, "steps")), SpecError,
        "cosine", "steps"),
    bad("config bad value", lambda: lrkit.from_config({**COSINE_CONFIG, "steps": -1}), LrkitValueError,
        "steps", "-1"),
    bad("config nested list", lambda: lrkit.from_config(
        {"name": "warmup", "schedule": [COSINE_CONFIG], "steps": 10}), LrkitTypeError, "schedule", "cosine"),
    bad("config nested string", lambda: lrkit.from_config(
        {"name": "warmup", "schedule": "cosine(0.1, 0.0, steps=10)", "steps": 10}), LrkitTypeError,
        "schedule", "'cosine(0.1, 0.0, steps=10)'"),
    bad("config nested bad", lambda: lrkit.from_config(
        {"name": "warmup", "schedule": {"name": "cosine", "start": 0.1}, "steps": 10}), SpecError,
        "cosine", "end", "steps"),
    bad("config nested unknown", lambda: lrkit.from_config(
        {"name": "repeat", "schedule": {"name": "os.system"}, "period": 10}), SpecError, "'os.system'"),
    # ---- bad steps at call time -----------------------------------------------------------------------
    bad("call step<0", lambda: cos(-1), LrkitValueError, "step", "-1"),
    bad("call step -0.5", lambda: cos(-0.5), LrkitValueError, "step", "-0.5"),
    bad("call step nan", lambda: cos(NAN), LrkitValueError, "step", "nan"),
    bad("call step inf", lambda: cos(INF), LrkitValueError, "step", "inf"),
    bad("call numpy step<0", lambda: cos(np.array([0.0, 1.0, -2.0])), LrkitValueError, "step", "-2.0"),
    bad("call numpy nan", lambda: cos(np.array([0.0, NAN])), LrkitValueError, "step", "nan"),
    bad("call list inf", lambda: cos([0, INF]), LrkitValueError, "step", "inf"),
    bad("call numpy scalar<0", lambda: cos(np.int64(-3)), LrkitValueError, "step", "-3"),
    bad("call recipe step<0", lambda: lrkit.step_decay(0.1, period=3)(-1), LrkitValueError, "step", "-1"),
    bad("call composite nan", lambda: lrkit.warmup(cos, steps=2)(NAN), LrkitValueError, "step", "nan"),
    bad("call bool step", lambda: cos(True), LrkitTypeError, "step", "True"),
    bad("call str step", lambda: cos("3"), LrkitTypeError, "step", "'3'"),
    bad("call str array", lambda: cos(np.array(["3"])), LrkitTypeError, "step"),
    bad("call bad xp", lambda: cos(3, xp="numpy"), LrkitTypeError, "xp", "'numpy'"),
    # ---- configs that cannot be written -------------------------------------------------------------
    bad("lambda to_config", lambda: lrkit.function(lambda t: 0.1).to_config(), LrkitValueError,
        "function.fn", "lambda", "cannot be saved"),
    bad("nested lambda to_config", lambda: lrkit.warmup(lrkit.function(lambda t: 0.1), steps=2).to_config(),
        LrkitValueError, "function.fn", "lambda"),
    bad("closure to_config", lambda: lrkit.function(_make_closure()).to_config(), LrkitValueError,
        "function.fn", "inner"),
]


def _make_closure():
    def inner(t):
        return 0.1
    return inner


@pytest.mark.parametrize("call, error, fragments", BAD_CALLS)
def test_bad_call(call, error, fragments):
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, LrkitError), f"{type(info.value).__name__} is not lrkit's own error"
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_spec_unknown_keyword_message_names_the_call_once():
    with pytest.raises(SpecError) as info:
        lrkit.parse("cosine(0.1, 0.0, stepz=10)")
    assert "cosine.cosine(" not in str(info.value)
    assert "cosine takes: start, end, steps, exponent" in str(info.value)


def test_error_classes():
    assert issubclass(LrkitValueError, ValueError) and issubclass(LrkitValueError, LrkitError)
    assert issubclass(LrkitTypeError, TypeError) and issubclass(LrkitTypeError, LrkitError)
    assert issubclass(SpecError, LrkitValueError)


def test_valid_edges_are_accepted():
    """The boundary of each rule is on the valid side: the table above is not rejecting too much."""
    lrkit.cosine_restarts(1.0, 0.0, period=2, period_mult=1)          # T_mult = 1
    lrkit.exponential(1.0, 0.0)                                        # gamma = 0
    lrkit.one_minus_sqrt(0.1, 0.1, steps=10)                           # end == start
    lrkit.wsd(0.1, steps=10, warmup=0, decay=10, end=0.1)              # end == peak, no warmup, no stable
    lrkit.cosine(0.1, 0.2, steps=10)                                   # cosine may rise
    lrkit.linear(np.float64(0.1), np.int64(0), steps=np.int32(10))     # numpy scalars are numbers
    lrkit.multistep(0.1, milestones=(0, 3))                            # a milestone at 0
    assert lrkit.cosine(0.1, 0.0, steps=10)(0.0) == 0.1                # step 0.0 and -0.0 are fine
    assert lrkit.cosine(0.1, 0.0, steps=10)(-0.0) == 0.1


def test_spec_never_evaluates_code(tmp_path):
    """A hostile spec is rejected before anything runs: no file is written."""
    target = tmp_path / "pwned"
    for spec in (f"__import__('pathlib').Path({str(target)!r}).touch()",
                 f"function(__import__('pathlib').Path({str(target)!r}).touch)",
                 f"cosine(open({str(target)!r}, 'w'), 0.0, steps=10)"):
        with pytest.raises(SpecError):
            lrkit.parse(spec)
    assert not target.exists()


def test_config_round_trips_through_json_only():
    """Configs are data: from_config does not accept live objects where JSON has none."""
    config = json.loads(json.dumps(lrkit.warmup(cos, steps=5).to_config()))
    assert lrkit.from_config(config) == lrkit.warmup(cos, steps=5)


def test_import_lrkit_imports_no_framework():
    code = textwrap.dedent("""
        import sys
        import lrkit, lrkit.tf
        s = lrkit.parse("warmup(cosine(0.1, 0.0, steps=900), steps=100)")
        s(5); s([1, 2, 3]); s.to_config(); lrkit.from_config(s.to_config())
        heavy = ("torch", "jax", "jaxlib", "keras", "tensorflow", "optax", "matplotlib", "flax")
        print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import lrkit pulled in: {out.stdout.strip()}"


@pytest.mark.parametrize("adapter, missing, extra", [("keras", "keras", "keras"), ("optax", "jax", "jax")])
def test_an_adapter_without_its_framework_names_the_extra(adapter, missing, extra):
    """``import lrkit.keras`` / ``lrkit.optax`` where the framework is missing (simulated in a fresh
    process: a None entry in sys.modules makes its import fail as if it were not installed)."""
    code = textwrap.dedent(f"""
        import sys
        sys.modules[{missing!r}] = None
        try:
            import lrkit.{adapter}
        except ModuleNotFoundError as error:
            print(type(error).__name__, error.name, error, sep="|")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    kind, name, message = out.split("|")
    assert kind == "ModuleNotFoundError" and name == missing
    assert message.startswith(f"lrkit.{adapter} needs ") and f"pip install 'lrkit[{extra}]'" in message


def test_a_spec_never_imports_the_module_it_names():
    """Specs and configs are data: function('module:name') resolves only names allowed in this process,
    so reading one cannot import a module or reach a function the user did not allow."""
    code = (
        "import sys, lrkit\n"
        "for text in (\"function('this:s')\", \"function('antigravity:geohash')\", \"function('json:dumps')\"):\n"
        "    try:\n"
        "        lrkit.parse(text)\n"
        "    except lrkit.LrkitValueError as error:\n"
        "        assert 'is not an allowed function' in str(error), error\n"
        "    else:\n"
        "        raise SystemExit('accepted ' + text)\n"
        "    try:\n"
        "        lrkit.from_config({'name': 'function', 'fn': text[10:-2]})\n"
        "    except lrkit.LrkitValueError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit('config accepted ' + text)\n"
        "assert 'this' not in sys.modules and 'antigravity' not in sys.modules\n"
        "import json\n"
        "lrkit.allow_function(json.dumps)\n"
        "assert lrkit.parse(\"function('json:dumps')\").fn is json.dumps\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("spec", ["restarts(constant(0.1), 1, 1, 0, 0, 2, 1025)",
                                  "restarts(constant(0.1), 1, peak=10.0, decay=2.0, limit=1024)"])
def test_restarts_whose_last_peak_overflows_get_lrkits_error(spec):
    """decay > 1 with a limit: the last cycle's peak ``peak * decay**(limit - 1)`` must be a float (else its
    values are inf, or 0 * inf = NaN for peak 0); the fuzz run found the OverflowError bounds() raised."""
    with pytest.raises(lrkit.LrkitValueError, match=r"peak \* decay \*\* \(limit - 1\).* beyond float range"):
        lrkit.parse(spec)
    assert lrkit.parse(spec.replace("1025", "1000").replace("1024", "1000"))(5) >= 0
