"""The ``lrkit`` command line: through ``lrkit.cli.main([...])`` and through the installed console
script in a real subprocess.

- every subcommand runs, and its ``--help`` names an example;
- ``show --csv`` is the library's curve, value for value (the ``step,lr`` contract);
- a bad spec gives one line naming the offending token and what is allowed, exit code 2, no traceback;
- ``show`` and ``describe`` fit an 80-column terminal; ``describe``'s numbers and warnings are right;
- ``lrkit demo`` prints the seed tutorial's tables (copied below from the seed, as printed there), and
  its other torch tables are what the installed torch prints.
"""
import importlib.util
import json
import math
import os
import subprocess
import sys
import unicodedata

import numpy as np
import pytest

import lrkit
from lrkit import _describe, cli
import seed_tables  # noqa: E402 (tests/ is on sys.path: tests/conftest.py)
from ulps import assert_ulps  # noqa: E402

#: The console script pip installed next to this Python (what a user types).
LRKIT = os.path.join(os.path.dirname(sys.executable), "lrkit")
HAS_LRKIT_TORCH = importlib.util.find_spec("lrkit.torch") is not None
WARMUP_COSINE = "warmup(cosine(0.1, 0.0, steps=900), steps=100)"


def run(capsys, *argv):
    """``lrkit argv`` in this process: (exit code, stdout, stderr)."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def script(*argv, env=None, cwd=None):
    """``lrkit argv`` as a subprocess of the installed console script."""
    assert os.path.exists(LRKIT), f"the console script is not installed at {LRKIT}"
    return subprocess.run([LRKIT, *argv], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def width(line):
    """Terminal columns of ``line`` (wide CJK characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


# ---------------------------------------------------------------------------------------------
# help
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [[], ["plot"], ["show"], ["describe"], ["demo"]], ids=lambda c: c[0] if c else "lrkit")
def test_help_names_an_example(capsys, command):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out
    name = command[0] if command else "show"
    assert f"lrkit {name}" in out.split("example")[-1], out  # a real command line after "example"


# ---------------------------------------------------------------------------------------------
# show --csv, --json
# ---------------------------------------------------------------------------------------------
CSV_SPECS = [
    (WARMUP_COSINE, 1001),
    ("one_cycle(0.1, steps=1000, three_phase=True)", None),
    ("multistep(0.1, milestones=[3, 7], gamma=0.1)", 10),
    ("exponential(0.1, 0.96, steps=10, staircase=True)", 257),
    ("cyclic(0.01, 0.1, steps_up=7, mode='triangular2') * 0.5 + 1e-5", 100),
    ('function("lrkit._seed:_inverse_epoch") * 0.1', 12),
]


@pytest.mark.parametrize("spec, steps", CSV_SPECS, ids=[s for s, _ in CSV_SPECS])
def test_csv_is_the_library_curve(capsys, spec, steps):
    schedule = lrkit.parse(spec)
    argv = ["show", spec, "--csv"] + (["--steps", str(steps)] if steps else [])
    code, out, err = run(capsys, *argv)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "step,lr"
    n = steps or _describe.default_steps(schedule)
    assert len(lines) == n + 1
    rows = [line.split(",") for line in lines[1:]]
    assert [int(step) for step, _ in rows] == list(range(n))
    printed = [float(value) for _, value in rows]
    # the exact floats: repr round-trips, and each value is s(k), the per-step path, so == holds
    assert printed == [schedule(k) for k in range(n)]
    # the numpy curve uses numpy's cos/exp/pow (SIMD, 1 ulp): 4 ulps of the peak
    curve = schedule(np.arange(n))
    assert_ulps(printed, curve, 4, scale=curve.max())


def test_csv_is_s_k_when_numpy_is_an_ulp_off(capsys, numpy_an_ulp_off):
    """Another CPU's numpy (AVX-512: SVML's cos and pow) may be an ulp off the C library: the CSV is
    still s(k), the per-step value, bit for bit."""
    schedule = lrkit.parse(WARMUP_COSINE)
    code, out, _ = run(capsys, "show", WARMUP_COSINE, "--csv")
    assert code == 0
    assert out.splitlines()[1:] == [f"{k},{schedule(k)!r}" for k in range(1001)]
    assert schedule(np.arange(1001.0)).tolist() != [schedule(k) for k in range(1001)]  # the jitter is on


def test_csv_contract_text(capsys):
    code, out, _ = run(capsys, "show", "step_decay(0.1, period=3)", "--steps", "5", "--csv")
    assert code == 0
    assert out == "step,lr\n0,0.1\n1,0.1\n2,0.1\n3,0.010000000000000002\n4,0.010000000000000002\n"


def test_json_is_the_config(capsys):
    spec = "warmup(sequence([constant(0.1), exponential(0.1, 0.99)], boundaries=[300]), steps=50)"
    code, out, _ = run(capsys, "show", spec, "--json")
    assert code == 0
    config = json.loads(out)
    assert config == lrkit.parse(spec).to_config()
    assert lrkit.from_config(config) == lrkit.parse(spec)


# ---------------------------------------------------------------------------------------------
# bad input: one line, exit 2, no traceback
# ---------------------------------------------------------------------------------------------
# the first names of the sorted list (computed: every helper adds schedules; was "add, clip, constant, cosine")
ALLOWED_NAMES = "known: " + ", ".join(sorted(lrkit._base.REGISTRY)[:4])
BAD = [
    # (argv, text the one line must hold)
    (["show", "cosin(0.1, 0.0, steps=10)"], ["'cosin'", ALLOWED_NAMES]),
    (["describe", "cosine(0.1, 0.0, steps=0)"], ["steps must be > 0", "got 0"]),
    (["plot", "cosine(0.1, 0.0, steps=10)", "lienar(0.1, 0.0, steps=10)"], ["'lienar'", ALLOWED_NAMES]),
    (["show", "cosine(0.1, 0.0"], ["not valid call syntax", "column"]),
    (["show", "__import__('os').system('true')"], ["only plain schedule names can be called",
                                                  "(" + ", ".join(sorted(lrkit._base.REGISTRY)[:2]) + ","]),
    (["show", "exponential(0.1, 0.9) ** 2"], ["** 2", "allowed: schedule calls"]),
    (["show", "0.1"], ["must describe a schedule", "cosine(0.1, 0.0, steps=100)"]),
    (["show", "cosine"], ["unknown name 'cosine'", "cosine(...)"]),
    (["show", "cosine(0.1, 0.0, stepz=10)"], ["'stepz'", "cosine takes: start, end, steps, exponent"]),
    (["show", "multistep(0.1, milestones=[7, 3])"], ["milestones must be strictly increasing", "[7, 3]"]),
    (["show", "function('os:system')"], ["'os:system'", "is not an allowed function", "lrkit.allow_function"]),
    (["plot", WARMUP_COSINE, "-o", "curve.jpg"], ["curve.jpg", ".png, .svg, .pdf"]),
    (["plot", WARMUP_COSINE, "-o", "no/such/folder/x.png"], ["cannot write 'no/such/folder/x.png'", "No such file"]),
    (["show", WARMUP_COSINE, "--at", "0,ten"], ["'ten'", "e.g. 0,100,500"]),
    (["show", WARMUP_COSINE, "--epochs", "3"], ["--epochs needs --steps-per-epoch"]),
    (["show", "cyclic(0.0, 0.0, steps_up=2)", "--log"], ["--log needs some LR > 0"]),
]


@pytest.mark.parametrize("argv, expected", BAD, ids=[" ".join(a[:2]) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, expected):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"lrkit {argv[0]}: error: ")
    for text in expected:
        assert text in lines[0], (text, lines[0])


def test_bad_numbers_are_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["show", WARMUP_COSINE, "--steps", "0"])
    assert exit_.value.code == 2
    assert "--steps: must be a positive integer, got '0'" in capsys.readouterr().err


@pytest.mark.parametrize("text, value", [("1e4", 10_000), ("2.5e3", 2_500), ("1E2", 100), ("10_000", 10_000),
                                         ("10,000", 10_000), ("7", 7)])
def test_counts_take_integral_scientific_notation(capsys, text, value):
    """Every count the CLI takes (--steps of show/describe/plot, the shoot-out's --seeds, --train-size,
    --threads) reads 1e4 as 10000."""
    parser = cli.build_parser()
    assert parser.parse_args(["show", WARMUP_COSINE, "--steps", text]).steps == value
    assert parser.parse_args(["describe", WARMUP_COSINE, "--steps", text]).steps == value
    assert parser.parse_args(["plot", WARMUP_COSINE, "--steps", text]).steps == value
    shoot = parser.parse_args(["shootout", "--seeds", text, "--train-size", text, "--threads", text])
    assert shoot.seeds == shoot.train_size == shoot.threads == value
    code, out, _ = run(capsys, "show", "constant(0.1)", "--steps", text, "--csv")
    assert code == 0 and len(out.splitlines()) == value + 1


@pytest.mark.parametrize("text", ["2.5", "1e-3", "0e4", "nan", "inf", "1e4x", "ten"])
def test_counts_refuse_what_is_not_a_positive_integer(capsys, text):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["show", WARMUP_COSINE, "--steps", text])
    assert exit_.value.code == 2
    assert f"--steps: must be a positive integer, got {text!r}" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"lrkit {lrkit.__version__}\n"


def test_bad_spec_through_the_console_script():
    result = script("describe", "warmup(cosine(0.1, 0.0, steps=900), stepz=100)")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert "'stepz'" in result.stderr


# ---------------------------------------------------------------------------------------------
# show and describe: 80 columns, content
# ---------------------------------------------------------------------------------------------
FIT_CASES = [
    ["show", WARMUP_COSINE],
    ["show", "exponential(0.1, 0.96)", "--log", "--steps", "5000"],
    ["show", "step_decay(0.1, period=6000)", "--epochs", "90", "--steps-per-epoch", "200", "--log"],
    ["show", "cyclic(0.01, 0.1, steps_up=3)", "--steps", "7"],
    ["show", "constant(0.1)"],
    ["show", "wsd(3e-4, steps=1000000, warmup=2000, decay=200000)"],
    ["show", "sequence([warmup(cosine(0.1, 0.001, steps=20000), steps=500), piecewise_linear([(0, 0.001), "
             "(100, 0.01), (4000, 0.0001)]), cosine_restarts(0.01, 0.0, period=5000, period_mult=2.0)], "
             "boundaries=[20500, 24500])"],
    ["describe", WARMUP_COSINE],
    ["describe", "step_decay(0.1, period=3)", "--steps", "200"],
    ["describe", "wsd(3e-4, steps=1000000, warmup=100, decay=200000)", "--steps", "1200000",
     "--steps-per-epoch", "1234.5"],
    ["describe", "cyclic(0.01, 0.1, steps_up=10)", "--steps", "45"],
    ["describe", "multistep(0.1, milestones=[30, 80, 120, 160])", "--steps", "100"],
]


@pytest.mark.parametrize("argv", FIT_CASES, ids=[" ".join(a[:2])[:60] for a in FIT_CASES])
def test_show_and_describe_fit_80_columns(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 0 and err == ""
    too_wide = [line for line in out.splitlines() if width(line) > 80]
    assert not too_wide, "\n".join(too_wide)


def test_show_chart_and_table(capsys):
    code, out, _ = run(capsys, "show", WARMUP_COSINE, "--steps", "1000", "--at", "0,50,100,550,999")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == repr(lrkit.parse(WARMUP_COSINE))
    chart = [line for line in lines if "┤" in line or "│" in line]
    assert len(chart) == 10  # ten rows of bars
    # the bars rise then fall: the highest full block sits above the warmup end, not at the ends
    top = chart[0].split("┤")[1]
    assert top.strip() and top[0] == " " and top.rstrip()[-1] != "█"
    table = lines[next(i for i, line in enumerate(lines) if line.split() == ["step", "lr"]) + 1:]
    rows = {int(r.split()[0].replace(",", "")): float(r.split()[-1]) for r in table}
    s = lrkit.parse(WARMUP_COSINE)
    assert rows == {k: pytest.approx(s(k), rel=1e-5) for k in (0, 50, 100, 550, 999)}
    assert rows[100] == 0.1 and rows[0] == 0.0


def test_describe_key_points(capsys):
    s = lrkit.parse(WARMUP_COSINE)
    report = _describe.describe(s, 1000)
    values = [s(k) for k in range(1000)]
    assert report.start == 0.0
    assert (report.peak, report.peak_step, report.warmup_end) == (0.1, 100, 100)
    assert_ulps(report.final, values[-1], 4, scale=0.1)  # describe reads the numpy curve: 4 ulps of the peak
    assert report.area == pytest.approx(math.fsum(values), rel=1e-12)
    assert [(p.first, p.last, p.shape) for p in report.phases] == [(0, 99, "rise"), (100, 999, "decay")]
    code, out, _ = run(capsys, "describe", WARMUP_COSINE, "--steps", "1000")
    assert code == 0
    assert "peak        0.1        step 100" in out
    assert "warmup end  0.1        step 100" in out
    assert "warnings: none" in out


def test_describe_wsd_phases_and_plateau():
    s = lrkit.wsd(1e-3, steps=10000, warmup=500, decay=2000)
    report = _describe.describe(s, 10000, optimizer="adamw")
    assert (report.warmup_end, report.peak_step, report.peak_held_to) == (500, 500, 8000)
    assert [(p.first, p.shape) for p in report.phases] == [(0, "rise"), (500, "flat"), (8000, "decay")]
    assert report.warnings == ()


LINTS = [
    # (spec, steps, optimizer, a warning must contain / None: no warnings at all)
    ("warmup(cosine(3e-4, 0.0, steps=9000), steps=1000)", 10000, None, None),
    ("sequence([cosine(0.1, 0.0, steps=100), linear(0.0, 0.1, steps=100)], boundaries=[100])", 180, "sgd",
     "rises after its decay ends: 0 at step 100"),
    ("cosine(0.1, 0.05, steps=100)", 101, "sgd", "final LR 0.05 is 50% of the peak"),
    ("warmup(cosine(3e-4, 0.0, steps=9950), steps=50)", 10000, None, "a warmup of 50 steps is short"),
    ("warmup(cosine(3e-4, 0.0, steps=9950), steps=50)", 10000, "adamw", "short for adamw"),
    ("cosine(3e-4, 0.0, steps=10000)", 10000, "adam", "no warmup"),
    ("multistep(0.1, milestones=[30, 120])", 100, "sgd", "milestone is at step 120, beyond the run's last step 99"),
    ("warmup(cosine(0.1, 0.0, steps=900), steps=100)", 500, "sgd",
     "cosine ends at step 1000, after the run's last step 499: the run stops before it gets there (lr=0.0"),
    ("cosine(0.1, 0.0, steps=100)", 200, "sgd", "the last 100 updates (50% of the run) all use lr=0"),
    ("cyclic(0.01, 0.1, steps_up=10)", 50, "sgd", "ends 50% into cyclic's cycle 3 (steps 40 to 59)"),
    ("cosine_restarts(0.1, 0.0, period=10, period_mult=2.0)", 50, "sgd", "into cosine_restarts's cycle 3"),
    ("cosine_restarts(0.1, 0.0, period=100)", 50, "sgd", "first cycle (100 steps) is longer than the 50"),
    ("sequence([cyclic(0.01, 0.1, steps_up=10), constant(0.001)], boundaries=[30])", 100, "sgd",
     "into cyclic's cycle 2"),
]


@pytest.mark.parametrize("spec, steps, optimizer, expected", LINTS, ids=[f"{s[:40]}-{n}" for s, n, _, _ in LINTS])
def test_describe_lints(spec, steps, optimizer, expected):
    warnings = _describe.describe(lrkit.parse(spec), steps, optimizer=optimizer).warnings
    if expected is None:
        assert warnings == ()
    else:
        assert any(expected in w for w in warnings), warnings


@pytest.mark.parametrize("spec, steps", [
    ("cyclic(0.0, 0.1, steps_up=10)", 60),                            # three whole cycles
    ("cosine_restarts(0.1, 0.0, period=10, period_mult=2.0)", 70),    # 10 + 20 + 40
    ("sequence([cyclic(0.0, 0.1, steps_up=10), linear(0.01, 0.0, steps=60)], boundaries=[40])", 100),
    ("warmup(cosine(1e-3, 0.0, steps=9500), steps=500)", 10000),
])
def test_describe_quiet_when_it_fits(spec, steps):
    assert _describe.describe(lrkit.parse(spec), steps, optimizer="sgd").warnings == ()


def test_describe_cli_prints_warnings(capsys):
    code, out, _ = run(capsys, "describe", "multistep(0.1, milestones=[30, 120])", "--steps", "100",
                       "--optimizer", "sgd")
    assert code == 0
    assert "warnings (1):" in out and "! the multistep milestone is at step 120" in out


# ---------------------------------------------------------------------------------------------
# every subcommand through the installed console script
# ---------------------------------------------------------------------------------------------
def test_console_script_every_subcommand(tmp_path):
    result = script("--help")
    assert result.returncode == 0 and "lrkit demo" in result.stdout
    result = script("show", WARMUP_COSINE, "--steps", "20", "--csv")
    assert result.returncode == 0
    s = lrkit.parse(WARMUP_COSINE)
    assert result.stdout.splitlines()[1:] == [f"{k},{s(k)!r}" for k in range(20)]
    result = script("show", WARMUP_COSINE)
    assert result.returncode == 0 and "█" in result.stdout and result.stderr == ""
    result = script("describe", WARMUP_COSINE, "--steps", "1000")
    assert result.returncode == 0 and "phases (2):" in result.stdout
    out = tmp_path / "two.svg"
    result = script("plot", WARMUP_COSINE, "one_cycle(0.1, steps=1000)", "-o", str(out))
    assert result.returncode == 0 and result.stdout.strip() == f"wrote {out}"
    assert out.read_text().lstrip().startswith("<?xml")


def test_csv_survives_a_closed_pipe():
    """``lrkit show ... --csv | head -1``: no BrokenPipeError traceback."""
    result = subprocess.run(f"'{LRKIT}' show 'constant(0.1)' --steps 200000 --csv | head -1",
                            shell=True, capture_output=True, text=True, timeout=60)
    assert result.stdout == "step,lr\n"
    assert "Traceback" not in result.stderr


def test_csv_of_a_huge_run_is_streamed():
    """10^12 steps: the CSV starts at once (streamed, not built in memory), the values are s(k)."""
    result = subprocess.run(f"'{LRKIT}' show 'cosine(0.1, 0.0, steps=1e12)' --steps 1e12 --csv | head -4",
                            shell=True, capture_output=True, text=True, timeout=60)
    s = lrkit.cosine(0.1, 0.0, steps=1e12)
    assert result.stdout == "step,lr\n" + "".join(f"{k},{s(k)!r}\n" for k in range(3))
    assert "Traceback" not in result.stderr and "Error" not in result.stderr


def test_chart_refuses_a_run_too_long_to_evaluate(capsys):
    """The chart and the table evaluate every update (exact minima and maxima per column): beyond
    describe's limit they refuse with one line, and point to --csv."""
    code, out, err = run(capsys, "show", "cyclic(0.01, 0.1, steps_up=7)", "--steps", "1e12")
    assert code == 2 and out == ""
    assert err == (f"lrkit show: error: --steps must be <= {_describe.MAX_STEPS:,} for the chart and table "
                   f"(every update is evaluated), got 1,000,000,000,000; --csv streams any length\n")


def test_chart_shows_every_update_of_a_long_run(capsys):
    """68 columns of 6,301 updates each, a 100-step cycle: every column covers 63 whole cycles, so
    every column reaches both 0 and the peak (shaded from 0 up to the peak in every row). Sampling a
    point every 100 updates would see one phase per column and draw a ramp instead."""
    code, out, _ = run(capsys, "show", "cyclic(0.0, 0.1, steps_up=50)", "--steps", str(68 * 6301), "--at", "0")
    assert code == 0
    chart = [line.split("┤" if "┤" in line else "│", 1)[1] for line in out.splitlines() if "┤" in line or "│" in line]
    assert len(chart) == 10
    assert all(row == "░" * 68 for row in chart), chart


def ascii_env():
    return dict(os.environ, PYTHONIOENCODING="ascii")


def test_show_on_an_ascii_terminal():
    """An ASCII-only terminal (PYTHONIOENCODING=ascii): the chart falls back to ASCII characters."""
    result = script("show", WARMUP_COSINE, env=ascii_env())
    assert result.returncode == 0, result.stderr
    result.stdout.encode("ascii")
    lines = result.stdout.splitlines()
    chart = [line for line in lines if line[10:11] in ("+", "|")][:10]
    assert len(chart) == 10 and "#" in chart[0] and "#" * 20 in chart[-1]
    assert lines[-1].split() == ["1000", "0"]


def test_demo_on_an_ascii_terminal(tmp_path):
    """``lrkit demo`` on an ASCII-only terminal prints the seed's tables with English labels."""
    result = script("demo", "--no-pictures", env=ascii_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    result.stdout.encode("ascii")
    assert "this terminal cannot show them: English here" in result.stdout
    assert "initial learning rate: 0.1\nepoch 1 learning rate:0.100000\n" in result.stdout


def test_demo_says_its_labels_are_the_seeds_chinese(capsys):
    code, out, _ = run(capsys, "demo", "--no-pictures")
    assert code == 0
    assert ("The tables keep the seed's Chinese labels, character for character: 初始化的学习率 = initial "
            "learning rate, 第N个epoch的学习率 = learning rate of epoch N") in out


# ---------------------------------------------------------------------------------------------
# lrkit demo
# ---------------------------------------------------------------------------------------------
# The seed's printed output, copied from the tutorial. The web copy lost each line break and the
# leading "第", so the demo's lines are compared after the same two losses (see ``scraped``).
SEED_TF = seed_tables.TF_TEXT
SEED_TABLES = seed_tables.TORCH
#: the seed's section 2.1: param_groups lengths, and the keys each group had (torch has added more since)
SEED_OPTIMIZERS = {"optimizer_1": 1, "optimizer_2": 1, "optimizer_3": 2}
SEED_GROUP_KEYS = ["params", "lr", "betas", "eps", "weight_decay", "amsgrad"]


def scraped(lines):
    return "".join(line.removeprefix("第") for line in lines)


def sections(out):
    """The demo's output split at its ``== title`` headings: {first word of title: lines}."""
    found, name = {}, None
    for line in out.splitlines():
        if line.startswith("== "):
            name = line[3:].split("(")[0].split(":")[0].strip()
            found[name] = []
        elif name is not None:
            found[name].append(line)
    return found


def table(lines):
    """The seed-style table lines of a section (initial LR, then one line per epoch)."""
    return [line for line in lines if line.startswith(("初始化的学习率", "第"))]


def check_seed_tables(out):
    assert SEED_TF in out
    found = sections(out)
    for name, text in SEED_TABLES.items():
        assert scraped(table(found[name])) == text, (name, found[name])


def check_optimizer_printout(out):
    for name, groups in SEED_OPTIMIZERS.items():
        assert f"******************{name}*********************" in out
        assert f"{name}.param_groups长度: {groups}\n" in out
        keys = next(line for line in out.splitlines() if line.startswith(f"{name}.param_groups一个元素包含的键"))
        assert all(f"'{k}'" in keys for k in SEED_GROUP_KEYS), keys
        assert (f"{name}.defaults: {{'lr': 0.1, 'betas': (0.9, 0.999), 'eps': 1e-08, 'weight_decay': 0, "
                f"'amsgrad': False") in out


def check_pictures(out, cwd):
    assert f"pictures go to lrkit-demo{os.sep}" in out
    names = ["tf_exponential_decay.png", "manual_lr.png", "CosineAnnealingLR.png", "schedulers.png"]
    assert f"pictures written to lrkit-demo{os.sep}: {', '.join(names)}" in out
    import matplotlib.image
    for name in names:
        image = matplotlib.image.imread(os.path.join(cwd, "lrkit-demo", name))
        assert image.shape[0] > 300 and image.shape[1] > 600
        assert float(image[..., :3].std()) > 0.05, name  # not blank


def check_hand_edit(out):
    assert "lrkit's step_decay(start=0.09, period=5, gamma=0.9) gives the same 100 values" in out
    assert " 0: 0.090000   5: 0.081000  10: 0.072900  15: 0.065610  20: 0.059049" in out
    assert "95: 0.012158" in out  # 0.1 * 0.9 ** 20


def test_demo_through_the_console_script(tmp_path):
    """``lrkit demo`` as a user runs it (default folder, torch and matplotlib installed): the seed's
    printed tables digit for digit, the seed's optimizer printout, the hand edit, four pictures."""
    result = script("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    check_seed_tables(result.stdout)
    check_hand_edit(result.stdout)
    check_pictures(result.stdout, tmp_path)
    if importlib.util.find_spec("torch") is not None:
        check_optimizer_printout(result.stdout)


@pytest.fixture(scope="module")
def demo_with_torch():
    """``lrkit demo --no-pictures`` in this process, torch installed: its output."""
    pytest.importorskip("torch")
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["demo", "--no-pictures"]) == 0
    return out.getvalue()


def torch_table(name, kwargs, epochs, metric=None):
    """The seed's loop on the installed torch's own scheduler: the printed lines."""
    import torch
    from torch.optim import lr_scheduler
    optimizer = torch.optim.Adam(torch.nn.Conv2d(3, 3, 3).parameters(), lr=0.1)
    scheduler = getattr(lr_scheduler, name)(optimizer, **kwargs)
    lines = ["初始化的学习率: %s" % optimizer.defaults["lr"]]
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad()
        optimizer.step()
        lines.append("第%d个epoch的学习率:%f" % (epoch, optimizer.param_groups[0]["lr"]))
        scheduler.step() if metric is None else scheduler.step(metric)
    return lines


def test_demo_tables_are_what_torch_prints(demo_with_torch):
    """Every scheduler table of the demo, the ones the seed only names and CosineAnnealingLR's 100
    epochs included, is what the installed torch's own scheduler prints in the seed's loop."""
    from lrkit import _seed
    found = sections(demo_with_torch)
    for example in _seed.EXAMPLES:
        expected = torch_table(example.name, example.kwargs, example.epochs, example.metric)
        if example.name == "CosineAnnealingLR":  # printed in part, the rest is in the picture
            expected = [expected[0]] + [expected[e] for e in _seed.COSINE_PRINTED]
        assert table(found[example.name]) == expected, example.name


@pytest.mark.xfail(not HAS_LRKIT_TORCH, strict=True,
                   reason="lrkit.torch (the torch issue) is not there: the demo falls back to core tables")
def test_demo_drives_lrkit_torch(demo_with_torch):
    """The torch tables come from a real torch optimizer stepped by lrkit.torch's drop-ins."""
    from lrkit import _seed
    found = sections(demo_with_torch)
    for example in _seed.EXAMPLES:
        assert f"   [torch.optim.Adam + lrkit.torch.{example.name}]" in found[example.name], example.name
    check_seed_tables(demo_with_torch)
    check_optimizer_printout(demo_with_torch)
    # one lrkit.torch scheduler, two param groups with different LRs: each keeps its own ratio
    assert "initial_lr: [0.1, 0.01]" in demo_with_torch
    assert "第3个epoch的学习率: group 0 0.010000, group 1 0.001000" in demo_with_torch


def test_demo_without_torch_and_matplotlib(capsys, monkeypatch, tmp_path):
    """A machine with numpy only: the core computes the tables, the pictures are skipped in one line."""
    for name in ("torch", "matplotlib", "lrkit.torch"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails, as if not installed
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "demo")
    assert code == 0 and err == ""
    assert out.splitlines()[0] == "pictures: skipped, matplotlib is not installed (pip install 'lrkit[plot]')"
    assert not os.path.exists(tmp_path / "lrkit-demo")
    assert SEED_TF in out
    found = sections(out)
    for name, text in SEED_TABLES.items():  # ReduceLROnPlateau from lrkit's plateau controller
        assert scraped(table(found[name])) == text, name
    assert "(torch is not installed: table computed from the lrkit core schedule)" in out
    assert "torch is not installed: skipped (pip install 'lrkit[torch]')" in out


def test_demo_without_lrkit_torch_falls_back_to_the_core(capsys, monkeypatch, tmp_path):
    """torch installed but no lrkit.torch drop-in: the same tables from the core, and the output says so."""
    pytest.importorskip("torch")
    monkeypatch.setitem(sys.modules, "lrkit.torch", None)
    code, out, _ = run(capsys, "demo", "--no-pictures")
    assert code == 0
    found = sections(out)
    for name, text in SEED_TABLES.items():
        assert scraped(table(found[name])) == text, name
        assert "   [lrkit core: " in found[name][0], found[name][0]
    assert out.count("table computed from the lrkit core schedule") == 1  # said once, not per table
    assert "the param-group example with an lrkit scheduler is skipped" in out
