"""Shares of the run (issue 15): a length written ``"5%"`` inside a schedule, resolved by the clock's run.

A warmup of 5% of the run inside a cosine written in tokens, under a batch ramp: the run's tokens are
counted by hand over a real DataLoader-free loop, and the warmup must end at exactly 5% of them. Specs and
configs stay data: the shares are strings, read by the ``ast`` whitelist, printed and saved as written.
"""
import json
import math
from fractions import Fraction

import numpy as np
import pytest

import lrkit
from lrkit import LrkitTypeError, LrkitValueError, SpecError
from lrkit._shares import with_shares
from lrkit.cli import main

FIVE = lrkit.warmup(lrkit.cosine(1e-3, 1e-4, steps="95%"), steps="5%")
RAMP = lrkit.batch_ramp(8, 32, increment=8, over=600, seq_len=128)


def test_a_share_is_kept_as_written_and_round_trips():
    assert isinstance(FIVE, with_shares) and FIVE.shares() == ["95%", "5%"]
    assert repr(FIVE) == "warmup(cosine(start=0.001, end=0.0001, steps='95%'), steps='5%')"
    assert lrkit.parse(repr(FIVE)) == FIVE and hash(lrkit.parse(repr(FIVE))) == hash(FIVE)
    config = json.loads(json.dumps(FIVE.to_config()))
    assert config["steps"] == "5%" and config["schedule"]["steps"] == "95%"
    assert lrkit.from_config(config) == FIVE
    assert FIVE != lrkit.warmup(lrkit.cosine(1e-3, 1e-4, steps="95%"), steps="6%")
    scaled = FIVE * 0.5  # an operator keeps the shares too
    assert repr(scaled).startswith("(warmup(") and lrkit.parse(repr(scaled)) == scaled


def test_a_clock_resolves_the_shares_exactly():
    s = lrkit.clocked(FIVE, unit="updates", total=2000)
    assert s.resolved == lrkit.warmup(lrkit.cosine(1e-3, 1e-4, steps=1900), steps=100)
    assert repr(s.resolved) == "warmup(cosine(start=0.001, end=0.0001, steps=1900), steps=100)"  # whole: ints
    assert [s(k) for k in (0, 50, 100, 2000)] == [s.resolved(k) for k in (0, 50, 100, 2000)]
    assert s(100) == 1e-3 and s(2000) == 1e-4
    assert lrkit.parse(repr(s)) == s and lrkit.from_config(s.to_config()) == s
    odd = lrkit.clocked(lrkit.linear(1.0, 0.0, steps="2.5%"), unit="updates", total=3)
    assert odd.resolved.steps == float(Fraction(25, 1000) * 3) == 0.075  # the exact share, rounded once
    fraction = lrkit.clocked(lrkit.warmup(lrkit.constant(1.0), steps="5%"), unit="fraction", total=200)
    written = lrkit.clocked(lrkit.warmup(lrkit.constant(1.0), steps=0.05), unit="fraction", total=200)
    assert [fraction(k) for k in range(0, 201, 5)] == [written(k) for k in range(0, 201, 5)]


def test_a_warmup_of_5_percent_inside_a_cosine_in_tokens_under_a_ramp():
    """The loop counts each update's tokens by hand; the run is 2000 updates; the warmup ends at the
    update whose tokens first reach 5% of the run's tokens, and every value is the resolved schedule at
    the tokens before the update."""
    total = 2000
    s = lrkit.clocked(FIVE, unit="tokens", batch=RAMP, total=total)
    tokens, before = 0, []
    for k in range(total + 1):
        before.append(tokens)
        tokens += int(RAMP(k)) * 128
    run = before[total]
    warm = Fraction(run) * Fraction(5, 100)
    assert s.resolved.steps == float(warm) and s.resolved.schedule.steps == float(Fraction(run) * Fraction(95, 100))
    for k in (0, 1, 7, 50, 51, 400, 1999, 2000):
        assert s(k) == s.resolved(float(before[k])), k
    first_full = next(k for k in range(total) if before[k] >= warm)
    cosine = lrkit.cosine(1e-3, 1e-4, steps=float(Fraction(run) * Fraction(95, 100)))
    for k in range(total + 1):  # a line up to 1e-3 over the first 5% of the tokens, then the cosine after them
        expected = 1e-3 * before[k] / float(warm) if k < first_full else cosine(before[k] - float(warm))
        assert math.isclose(s(k), expected, rel_tol=1e-12), (k, s(k), expected)
    assert s(total) == 1e-4  # the cosine ends with the run


def test_lengths_only_and_malformed_shares_are_refused_at_construction():
    with pytest.raises(LrkitValueError, match=r"cosine: start='5%': a share of the run is a length .*start is not"):
        lrkit.cosine("5%", 0.0, steps=10)
    for bad in ("5 %", "5%%", "-5%", "1e3%", "%", "five%"):
        with pytest.raises(LrkitValueError, match="is not a share of the run"):
            lrkit.linear(1.0, 0.0, steps=bad)
    with pytest.raises(LrkitTypeError, match="unexpected keyword argument 'stepz'"):
        lrkit.linear(1.0, 0.0, stepz="5%")
    with pytest.raises(SpecError, match="only plain schedule names can be called"):
        lrkit.parse("linear(1.0, 0.0, steps=__import__('os').getcwd() + '%')")


def test_unresolved_shares_say_how_to_resolve_them():
    with pytest.raises(LrkitValueError, match=r"has shares of the run \(95%, 5%\).*lrkit.clocked\(.*total=N"):
        FIVE(10)
    with pytest.raises(LrkitValueError, match="has shares of the run"):
        FIVE(np.arange(3))
    with pytest.raises(LrkitValueError, match="has shares of the run"):
        FIVE.end_step()
    with pytest.raises(LrkitValueError, match=r"clocked needs total \(the updates of the run\)"):
        lrkit.clocked(FIVE, unit="tokens", batch=RAMP)
    with pytest.raises(LrkitValueError, match=r"steps must be > 0.*resolving linear\(.*steps='0%'\)"):
        lrkit.clocked(lrkit.linear(1.0, 0.0, steps="0%"), unit="updates", total=100)
    with pytest.raises(LrkitValueError, match="run .* must be a finite number > 0"):
        FIVE.resolve(math.inf)


def test_adapters_take_the_clocked_value_and_refuse_an_unresolved_one():
    torch = pytest.importorskip("torch")
    from lrkit.torch import ScheduleLR
    s = lrkit.clocked(FIVE, unit="tokens", batch=RAMP, total=2000)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = ScheduleLR(opt, repr(s))  # the spec as a string: data
    got = []
    for _ in range(60):
        got.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert got == [s(k) for k in range(60)]
    with pytest.raises(LrkitValueError, match="has shares of the run"):
        ScheduleLR(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0), FIVE)


def test_cli_show_resolves_against_steps(capsys):
    spec = "warmup(cosine(1.0, 0.0, steps='95%'), steps='5%')"
    assert main(["show", spec, "--steps", "200", "--at", "0,5,10,200"]) == 0
    out = capsys.readouterr().out
    assert ("clocked(warmup(cosine(start=1.0, end=0.0, steps='95%'), steps='5%'), unit='updates', total=200)"
            in " ".join(out.split()))
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines() if line.strip()[:1].isdigit()}
    assert rows["5"] == "0.5" and rows["10"] == "1"
    assert main(["show", spec, "--steps", "200", "--csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[11] == "10,1.0" and len(csv) == 201
    assert main(["show", spec]) != 0
    assert "give the run's length with --steps N" in capsys.readouterr().err
    assert main(["describe", f"clocked({spec}, unit='fraction', total=40)"]) == 0
    assert "warmup" in capsys.readouterr().out
