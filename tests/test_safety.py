"""Specs, configs and schedules are safe with hostile input (issue 12, items 1, 3 and 4): they call only
allowed functions and import nothing, they build and evaluate at any size below the documented limits,
and only lrkit's own errors, with bounded messages, leave parse, from_config, constructors and evaluation."""
import json
import subprocess
import sys
import textwrap

import pytest

import lrkit
from lrkit import LrkitError, SpecError

# ---- item 1: function references are data ---------------------------------------------------------

_HOSTILE_CHECK = textwrap.dedent("""
    import json, os, shutil, subprocess, sys
    called = []
    def spy(name):
        def fn(*args, **kwargs):
            called.append(name)
        fn.__module__, fn.__qualname__ = name.split(":")  # looks like the real one by module:name
        return fn
    os.fdopen, subprocess.run, shutil.rmtree = spy("os:fdopen"), spy("subprocess:run"), spy("shutil:rmtree")
    import lrkit
    before = set(sys.modules)
    specs = {SPECS}
    configs = [{{"name": "function", "fn": ref}} for ref in {CONFIG_REFS}] + [
        {{"name": "cyclic", "start": 0.0, "peak": 1.0, "steps_up": 2, "scale_fn": "subprocess:run"}},
        {{"name": "multiplicative", "fn": "shutil:rmtree"}}]
    accepted = []
    for make, item in [(lrkit.parse, s) for s in specs] + [(lrkit.from_config, c) for c in configs]:
        try:
            schedule = make(item)
        except lrkit.LrkitError as error:
            assert "is not an allowed function" in str(error), (item, error)
            continue
        accepted.append(repr(item))
        try:
            schedule(3); schedule(4.0)
        except Exception:
            pass
    print(json.dumps({{"accepted": accepted, "called": called,
                      "imported": sorted(set(sys.modules) - before)}}))
""")


def test_function_references_call_only_allowed_functions_and_import_nothing():
    """The issue's examples: nothing named by a spec or a config is imported or called unless allowed
    (on main before issue 12 they closed file descriptors, ran subprocess.run and imported torch)."""
    specs = ["function('os:fdopen')", "function('lrkit._shootout:os.fdopen')", "function('subprocess:run')",
             "function('lrkit.cli:main')", "function('lrkit.torch:ScheduleLR')", "function('lrkit.keras:KerasSchedule')",
             "function('lrkit.optax:to_optax')", "function('lrkit._plot:plot')", "function('lrkit.nonexistent:x')",
             "cyclic(0.0, 1.0, steps_up=2, scale_fn='shutil:rmtree')", "multiplicative('os:fdopen')",
             "function('lrkit._base:importlib.import_module')"]
    refs = ["subprocess:run", "shutil:rmtree", "lrkit.cli:main", "os:fdopen", "lrkit._shootout:os.fdopen",
            "lrkit.torch:ScheduleLR", "lrkit._plot:plot"]
    code = _HOSTILE_CHECK.format(SPECS=repr(specs), CONFIG_REFS=repr(refs))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["accepted"] == [] and found["called"] == [], found
    assert found["imported"] == [], f"reading specs and configs imported {found['imported']}"


def _halve(t):
    return 0.5


def test_allowed_functions_resolve_and_round_trip():
    """A function allowed by allow_function (process-wide) or functions= (one call) resolves by its name,
    and repr / to_config write that name back; another name stays refused."""
    lrkit.allow_function(_halve, name="test_safety.halve")
    s = lrkit.parse("function('test_safety.halve') * 0.2")
    assert s(7) == 0.1 and s.left.fn is _halve
    assert lrkit.parse(repr(s)) == s and lrkit.from_config(json.loads(json.dumps(s.to_config()))) == s

    def local(t):
        return 0.25
    only_here = lrkit.parse("function('quarter')", functions={"quarter": local})
    assert only_here(3) == 0.25 and only_here.to_config() == {"name": "function", "fn": "quarter"}
    assert lrkit.from_config(only_here.to_config(), functions={"quarter": local}) == only_here
    assert lrkit.as_schedule({"name": "function", "fn": "quarter"}, functions={"quarter": local}) == only_here
    with pytest.raises(lrkit.LrkitValueError, match="'quarter' is not an allowed function"):
        lrkit.parse("function('quarter')")  # functions= was for that call only


def test_a_function_that_is_not_allowed_says_how_to_allow_it():
    def mine(t):
        return 0.1
    s = lrkit.warmup(lrkit.function(mine), steps=3)
    assert s(5) == 0.1  # a live function works; it only cannot be written by name
    with pytest.raises(lrkit.LrkitValueError, match=r"not an allowed function.*lrkit\.allow_function\(mine\)"):
        s.to_config()
    assert "lrkit.allow_function(mine)" in repr(s)
    with pytest.raises(lrkit.LrkitValueError, match=r"allow_function\(fn, name='my_name'\)"):
        lrkit.function(lambda t: 0.1).to_config()


@pytest.mark.parametrize("call, pattern", [
    (lambda: lrkit.allow_function(lambda t: 0.1), "name='my_name'"),
    (lambda: lrkit.allow_function(0.1), "callable"),
    (lambda: lrkit.allow_function(_halve, name="os system"), "'os system'"),
    (lambda: lrkit.parse("function('x')", functions={"x": 3}), r"functions\['x'\]"),
    (lambda: lrkit.parse("function('x')", functions=[_halve]), "dict"),
])
def test_allow_function_refuses_what_cannot_be_a_name(call, pattern):
    with pytest.raises(LrkitError, match=pattern):
        call()


# ---- item 3: the per-step compiler never breaks on size ---------------------------------------------

def _nested(make, times):
    s = lrkit.constant(0.1)
    for _ in range(times):
        s = make(s)
    return s


_BIG = {
    "piecewise_linear 99 points": lambda: lrkit.piecewise_linear([(i, 0.1 + i / 1000) for i in range(99)]),
    "piecewise_linear 500 points": lambda: lrkit.piecewise_linear([(i, 0.1 + i / 10**5) for i in range(500)]),
    "sequence of 100": lambda: lrkit.sequence([lrkit.constant((i + 1) / 1000) for i in range(100)],
                                              boundaries=list(range(1, 100))),
    "sequence of 400": lambda: lrkit.sequence([lrkit.cosine(0.1, 0.01, steps=2) for i in range(400)],
                                              boundaries=list(range(1, 400))),
    "60 nested warmups": lambda: _nested(lambda s: lrkit.warmup(s, steps=2), 60),
    "a sum of 60 terms": lambda: _nested(lambda s: s + 0.0, 60),
    "a product of 60 terms": lambda: _nested(lambda s: s * 1.0, 60),
}


@pytest.mark.parametrize("name", list(_BIG))
def test_big_schedules_evaluate_on_every_path_and_round_trip(name):
    """Below the size limits a schedule evaluates on the scalar path (first call plain, later calls
    compiled), on numpy and through per_step(), and its repr / config round trip (before issue 12: the
    compiled path raised IndentationError at ~99 branches and RecursionError at ~1,000)."""
    s = _BIG[name]()
    steps = [0, 1, 2, 5, 50, 99, 500, 1500, 2.5]
    first = [s(k) for k in steps]  # the second call per schedule is the compiled one
    again = [s(k) for k in steps]
    assert again == first == [float(v) for v in s(steps)] == [s.per_step()(k) for k in steps]
    assert lrkit.parse(repr(s)) == s
    assert lrkit.from_config(json.loads(json.dumps(s.to_config()))) == s


def test_big_schedules_drive_a_torch_optimizer():
    torch = pytest.importorskip("torch")
    from lrkit.torch import ScheduleLR
    for name in ("piecewise_linear 99 points", "sequence of 100", "60 nested warmups"):
        s = _BIG[name]()
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        scheduler = ScheduleLR(opt, s)
        for k in range(1, 4):
            opt.step()
            scheduler.step()
            assert opt.param_groups[0]["lr"] == s(k), name


@pytest.mark.parametrize("make, pattern", [
    (lambda: _nested(lambda s: s + 0.0, lrkit.MAX_DEPTH), "MAX_DEPTH"),
    (lambda: _nested(lambda s: lrkit.warmup(s, steps=2), lrkit.MAX_DEPTH), "MAX_DEPTH"),
    (lambda: lrkit.parse("constant(0.1)" + " + 0.0" * 1000), "MAX_DEPTH"),
    (lambda: lrkit.parse("constant(0.1)" + " * 1.0" * 1000), "MAX_DEPTH"),
    (lambda: lrkit.parse("constant(0.1)" + " + 1.0" * 100_000), "MAX_DEPTH"),
    (lambda: lrkit.parse("constant(" + "-" * 1000 + "1)"), "MAX_DEPTH"),
    (lambda: lrkit.parse("warmup(" * 300 + "constant(0.1)" + ", steps=2)" * 300), "column"),
    (lambda: lrkit.piecewise_constant(list(range(1, lrkit.MAX_PARTS + 2)), [0.1] * (lrkit.MAX_PARTS + 2)),
     "MAX_PARTS"),
    (lambda: lrkit.from_config({"name": "multistep", "start": 0.1, "milestones": list(range(1, 20_000))}),
     "MAX_PARTS"),
    (lambda: lrkit.parse("constant(0.1)" + " " * lrkit.MAX_SPEC), "MAX_SPEC"),
    (lambda: lrkit.from_config(_deep_config(5000)), "MAX_DEPTH"),
    (lambda: lrkit.from_config({"name": "piecewise_linear", "points": _deep_list(5000)}), "deep"),
])
def test_beyond_the_size_limits_is_an_lrkit_error(make, pattern):
    """Past the documented limits: lrkit's error naming the limit (before issue 12: RecursionError)."""
    with pytest.raises(LrkitError, match=pattern) as error:
        make()
    assert len(str(error.value)) < 1000


def _deep_config(depth):
    config = {"name": "constant", "value": 0.1}
    for _ in range(depth):
        config = {"name": "warmup", "schedule": config, "steps": 1}
    return config


def _deep_list(depth):
    value = [0.1]
    for _ in range(depth):
        value = [value]
    return value


# ---- item 4: only lrkit errors leave, with bounded messages ------------------------------------------

@pytest.mark.parametrize("make, pattern", [
    (lambda: lrkit.parse("constant(1" + "0" * 400 + ")"), "value must be finite"),
    (lambda: lrkit.constant(10 ** 400), "value must be finite"),
    (lambda: lrkit.multistep(0.1, milestones=[1, 2, 3], gamma=1e200), "gamma"),
    (lambda: lrkit.parse("cosine('\ud800', 0.0, steps=5)"), r"'\\ud800' at column 9"),
    (lambda: lrkit.linear_cosine(1.0, steps=1, periods=1e308), "periods"),
    (lambda: lrkit.function("lrkit.nonexistent:x"), "not an allowed function"),
    (lambda: lrkit.from_config({"name": "constant", 1: 2, "value": 0.1}), "keys must be strings"),
    (lambda: lrkit.from_config({"name": "constant", (1, 2): 2}), "keys must be strings"),
    (lambda: lrkit.parse("cosine(0.1,\0 0.0, steps=5)"), r"'\\x00' at column 12"),
    (lambda: lrkit.parse("cosine(0.1, 0.0, steps=100, steps=5)"), "keyword 'steps' is given twice"),
    (lambda: lrkit.parse("cosine(0.1, 0.0, steps=1" + "0" * 5000 + ")"), "4300 digits"),
])
def test_hostile_input_gets_an_lrkit_error(make, pattern):
    """The issue's examples: before issue 12 these raised OverflowError, UnicodeEncodeError,
    ValueError (math domain error), ModuleNotFoundError, TypeError, or read the last duplicate keyword."""
    with pytest.raises(LrkitError, match=pattern):
        make()


@pytest.mark.parametrize("step", [[[1, 2], [3]], [1, [2]], [0.5, "1"]])
def test_a_ragged_step_list_gets_an_lrkit_error(step):
    """Before issue 12: numpy's ValueError (inhomogeneous shape) escaped."""
    with pytest.raises(lrkit.LrkitTypeError, match="step must be a number or an array"):
        lrkit.cosine(0.1, 0.0, steps=10)(step)


def test_a_tiny_phase_evaluates_without_dividing_by_zero():
    """cyclic with a phase too short to show in float (steps_up / total rounds to 1 or 0): before issue
    12, ZeroDivisionError on the scalar path."""
    tiny = 2.2250738585072014e-308  # the smallest normal float (a subnormal length is refused: test_values)
    for s in (lrkit.cyclic(0.0, 1.0, steps_up=1e17, steps_down=1), lrkit.cyclic(0.0, 1.0, steps_up=tiny, steps_down=1e300)):
        for k in (0, 1, 7.5, 10**6):
            assert s(k) == pytest.approx(float(s([k])[0]), rel=1e-12, abs=1e-300)
    assert lrkit.cyclic(0.0, 1.0, steps_up=1e17, steps_down=1)(0) == 0.0


@pytest.mark.parametrize("make", [
    lambda big: lrkit.cosine(big, 0.0, steps=5),
    lambda big: lrkit.parse(f"cosine({big!r}, 0.0, steps=5)"),
    lambda big: lrkit.parse(f"cosine(0.1, 0.0, steps=5, {big}=1)"),
    lambda big: lrkit.parse(f"{big}(0.1)"),
    lambda big: lrkit.parse(f"cosine(0.1, 0.0, steps=5) + {big}"),
    lambda big: lrkit.parse("cosine(0.1, 0.0, steps=5" + " " * 500_000 + ", steps=6)"),
    lambda big: lrkit.from_config({"name": big}),
    lambda big: lrkit.from_config({"name": "cosine", big: 1}),
    lambda big: lrkit.from_config({"name": "piecewise_linear", "points": [[0, 0.1], big]}),
    lambda big: lrkit.function(big),
    lambda big: lrkit.multistep(0.1, milestones=[big]),
    lambda big: lrkit.as_schedule(big.encode()),
])
def test_messages_quote_a_bounded_excerpt(make):
    """A 1 MB argument gives a message of a few hundred characters (before issue 12: 2 MB)."""
    big = "x" * 1_000_000
    with pytest.raises(LrkitError) as error:
        make(big)
    assert len(str(error.value)) < 2000


def test_keras_and_optax_adapters_read_specs_and_configs_as_data():
    """The adapters read specs and configs through the same allow-list, and a bad saved Keras config is
    lrkit's error (before issue 12: TypeError from cls(**config), and os.fdopen resolved)."""
    pytest.importorskip("keras")
    pytest.importorskip("optax")
    from lrkit.keras import KerasSchedule
    from lrkit.optax import to_optax
    with pytest.raises(SpecError, match="KerasSchedule config"):
        KerasSchedule.from_config({"schedule": "cosine(0.1, 0.0, steps=5)", "bogus": 1})
    with pytest.raises(SpecError, match="KerasSchedule config"):
        KerasSchedule.from_config(["cosine(0.1, 0.0, steps=5)"])
    for adapter, item in [(KerasSchedule, "function('os:fdopen')"), (to_optax, "function('os:fdopen')"),
                          (KerasSchedule.from_config, {"schedule": {"name": "function", "fn": "os:fdopen"}})]:
        with pytest.raises(lrkit.LrkitValueError, match="not an allowed function"):
            adapter(item)
