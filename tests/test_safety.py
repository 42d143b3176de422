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
