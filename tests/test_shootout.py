"""The schedule shoot-out (``lrkit._shootout``, the built-in task ``lrkit.torch._shootout_task``, ``lrkit shootout``).

- the statistics on synthetic records with known answers: paired differences, their sample std and
  t-interval (against scipy's Student t, the installed reference), the sign count, "within noise" /
  "better" / "worse" in both directions, steps-to-reach, and the table built from them;
- the machinery on a user's own cheap training function (SGD on a noisy quadratic, numpy): every
  schedule x seed runs once, seed by seed, with the same seed across schedules (paired), the schedules
  it receives are the standard ones built from the peak and the budget, and decaying the LR is
  detected as better than keeping it constant (a real effect on a noisy quadratic);
- JSON round trip (strict JSON, non-finite numbers as null) and the figure (Agg), whose LR panel is
  the schedules' own values;
- the recommended recipe ``linear_to_zero``: its formula, spec round trip, and that it is the shoot-out's
  warmup + linear-to-zero contestant;
- the built-in task on a reduced run (a few hundred digits, one epoch): deterministic per seed, and the
  ``lrkit shootout`` command end to end (table, JSON, PNG, ``--load``, bad input); the range-test-vs-grid
  check's machinery (reduced; the full check is ``bench/range_test_vs_grid.py``).

The tests check the machinery, not the accuracies of the full run (those are in the README).
"""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import lrkit
from lrkit import _shootout as so
from lrkit._recipes import linear_to_zero

stats = pytest.importorskip("scipy.stats")


# ---------------------------------------------------------------------------------------------
# statistics with known answers
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 8, 13, 30, 101])
@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_t_quantile_is_scipys(df, confidence):
    assert so.t_quantile(confidence, df) == pytest.approx(stats.t.ppf((1 + confidence) / 2, df), rel=1e-9)


@pytest.mark.parametrize("df", [1, 2, 3, 6, 7])
@pytest.mark.parametrize("t", [0.1, 1.0, 2.5, 12.0])
def test_t_cdf_is_scipys(df, t):
    assert so.t_cdf_two_sided(t, df) == pytest.approx(stats.t.cdf(t, df) - stats.t.cdf(-t, df), abs=1e-12)


def test_paired_differences_known_answer():
    # differences +0.5, +0.7, +0.5: mean 0.5667, sample std 0.11547, t(0.975, 2) = 4.3027
    p = so.paired([97.2, 97.5, 97.1], [96.7, 96.8, 96.6])
    assert p.n == 3 and (p.wins, p.ties, p.losses) == (3, 0, 0)
    assert p.mean == pytest.approx(0.56667, abs=1e-5)
    assert p.std == pytest.approx(np.std([0.5, 0.7, 0.5], ddof=1))
    low, high = stats.t.interval(0.95, 2, loc=p.mean, scale=p.std / math.sqrt(3))
    assert (p.low, p.high) == (pytest.approx(low), pytest.approx(high))
    assert p.low > 0 and p.verdict == "better"


def test_three_wins_out_of_three_can_still_be_within_noise():
    # +0.1, +2.0, +0.1: every seed better, but the spread puts 0 inside the 95% interval
    p = so.paired([1.1, 3.0, 1.1], [1.0, 1.0, 1.0])
    assert p.wins == 3 and p.low < 0 < p.high and p.verdict == "within noise"


def test_paired_mixed_signs_within_noise_and_worse():
    assert so.paired([1.0, 2.0, 1.4], [1.5, 1.5, 1.5]).verdict == "within noise"
    worse = so.paired([0.90, 0.91, 0.89, 0.90], [0.95, 0.95, 0.96, 0.94])
    assert worse.verdict == "worse" and worse.losses == 4 and worse.high < 0


def test_paired_mode_min_lower_is_better():
    p = so.paired([0.10, 0.12, 0.11], [0.30, 0.31, 0.33], mode="min")
    assert p.mean < 0 and p.wins == 3 and p.verdict == "better"
    assert so.paired([0.30, 0.31, 0.33], [0.10, 0.12, 0.11], mode="min").verdict == "worse"


def test_paired_ties_and_one_seed():
    p = so.paired([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (p.wins, p.ties, p.losses, p.std) == (0, 3, 0, 0.0) and p.verdict == "within noise"
    one = so.paired([2.0], [1.0])
    assert one.verdict == "one seed" and math.isnan(one.std) and math.isnan(one.low) and one.wins == 1


def test_steps_to_reach():
    curve = [(63, 90.0), (126, 95.0), (189, 96.5), (252, 96.4), (315, 97.0)]
    assert so.steps_to_reach(curve, 96.5) == 189          # equal counts as reached
    assert so.steps_to_reach(curve, 96.45) == 189
    assert so.steps_to_reach(curve, 97.01) is None
    assert so.steps_to_reach(curve, 0.0) == 63
    assert so.steps_to_reach([(10, 2.0), (20, 0.5), (30, 0.7)], 0.6, mode="min") == 20


def _synthetic():
    """Two schedules x three seeds with hand-made finals and curves."""
    runs = []
    base = {0: 96.0, 1: 96.5, 2: 95.5}
    for seed, final in base.items():
        runs.append(so.Run("constant", seed, final, [(100, final - 1), (200, final)], [(0, 2.0), (1, 1.0)], 1.0))
    decay = {0: 97.0, 1: 97.1, 2: 96.6}
    reach = {0: 100, 1: 200, 2: None}  # seed 2 never reaches 95.5 before the end... see the curve below
    for seed, final in decay.items():
        first = base[seed] + 0.1 if reach[seed] == 100 else base[seed] - 0.5
        second = final if reach[seed] == 200 or reach[seed] == 100 else base[seed] - 0.2
        runs.append(so.Run("cosine", seed, final, [(100, first), (200, second)], [(0, 2.0), (1, 0.5)], 1.0))
    return so.ShootoutResult(schedules={"constant": "constant(0.1)", "cosine": "cosine(0.1, 0.0, steps=200)"},
                             runs=runs, steps=200, seeds=(0, 1, 2), peak=0.1, metric="acc")


def test_rows_from_synthetic_records():
    result = _synthetic()
    const, cos = result.rows()
    assert (const.label, const.n, const.paired) == ("constant", 3, None)
    assert const.mean == pytest.approx(96.0) and const.std == pytest.approx(0.5)
    assert cos.mean == pytest.approx(np.mean([97.0, 97.1, 96.6]))
    assert cos.std == pytest.approx(np.std([97.0, 97.1, 96.6], ddof=1))
    assert cos.paired.mean == pytest.approx(np.mean([1.0, 0.6, 1.1])) and cos.wins == 3
    # steps to constant's final, seed by seed against the same seed's constant
    assert cos.reach == (100, 200, None) and cos.reach_mean == pytest.approx(150)
    assert const.reach == (200, 200, 200)
    assert result.best() == "cosine"
    table = result.table()
    assert "| `cosine` | 96.90 ± 0.26 | +0.90 [" in table
    assert "150 (75%), 2/3 seeds" in table and "3/3" in table and "baseline" in table


# ---------------------------------------------------------------------------------------------
# the machinery on a user's own training function
# ---------------------------------------------------------------------------------------------
def noisy_quadratic(calls=None, dims=100):
    """SGD on |x - 1|^2 / 2 with unit Gaussian gradient noise; the metric is the mean squared error."""
    def train(schedule, seed, steps, record):
        if calls is not None:
            calls.append((schedule, seed, steps))
        rng, x = np.random.default_rng(seed), np.zeros(dims)
        for k in range(steps):
            g = (x - 1.0) + rng.normal(size=dims)
            record.loss(k, float(np.mean((x - 1.0) ** 2)))
            x -= schedule(k) * g
            if (k + 1) % 25 == 0:
                record.eval(k + 1, float(np.mean((x - 1.0) ** 2)))
        return float(np.mean((x - 1.0) ** 2))
    return train


@pytest.fixture(scope="module")
def quadratic_result():
    calls = []
    result = so.shootout(noisy_quadratic(calls), peak=0.2, steps=200, seeds=4, mode="min", metric="error",
                         add={"mine": "linear({peak}, 0.0, steps={steps})"}, progress=False, task={"title": "quad"})
    return result, calls


def test_table_of_a_small_metric_shows_significant_digits():
    """A metric of a few 1e-6 (a final loss, say): significant digits, not -0.0000 everywhere."""
    runs = [so.Run("constant", seed, 3.0e-6 + 1e-7 * seed, [], [], 1.0) for seed in range(3)]
    runs += [so.Run("cosine", seed, 2.2e-6 + 1.3e-7 * seed * seed, [], [], 1.0) for seed in range(3)]
    result = so.ShootoutResult(schedules={"constant": "constant(0.1)", "cosine": "cosine(0.1, 0.0, steps=9)"},
                               runs=runs, steps=9, seeds=(0, 1, 2), metric="loss", mode="min")
    line = result.table().splitlines()[-1]
    row = result.row("cosine")
    p = row.paired
    assert "0.0000" not in result.table() and p.verdict == "better"
    # every number to the resolution of the smallest spread's second digit (1e-7 -> 1e-8), none rounded away
    printed = [float(x) for x in line.replace("[", " ").replace("]", " ").replace(",", " ").split("|")[2].split()
               + line.split("|")[3].replace("[", " ").replace("]", " ").replace(",", " ").split() if x != "±"]
    assert len(printed) == 5
    for shown, true in zip(printed, [row.mean, row.std, p.mean, p.low, p.high]):
        assert abs(shown - true) <= 0.5e-8 and shown != 0.0, (line, shown, true)
    assert so.ShootoutResult.table(_synthetic()) == _synthetic().table()  # large metrics: decimals as before
    assert "| `cosine` | 96.90 ± 0.26 |" in _synthetic().table()


def test_every_schedule_and_seed_runs_once_seed_by_seed(quadratic_result):
    result, calls = quadratic_result
    labels = list(so.STANDARD) + ["mine"]
    assert list(result.schedules) == labels
    assert [(r.schedule, r.seed) for r in result.runs] == [(label, s) for s in range(4) for label in labels]
    assert [seed for _, seed, _ in calls] == [s for s in range(4) for _ in labels]  # paired: same seeds
    assert all(steps == 200 for _, _, steps in calls)
    given = {repr(schedule) for schedule, _, _ in calls}
    expected = so.standard_schedules(0.2, 200)
    assert {repr(s) for s in expected.values()} <= given
    assert repr(lrkit.linear(0.2, 0.0, steps=200)) in given  # {peak} and {steps} filled in
    assert all(len(r.evals) == 8 and len(r.losses) == 200 for r in result.runs)


def test_decay_beats_constant_on_a_noisy_quadratic(quadratic_result):
    result, _ = quadratic_result
    rows = {r.label: r for r in result.rows()}
    for label in ("cosine", "warmup_cosine", "linear_to_zero", "one_cycle"):
        assert rows[label].verdict == "better" and rows[label].wins == 4, label
        assert rows[label].paired.high < 0  # mode="min": lower error
    # a lower noise floor is reached earlier than at the end
    assert rows["cosine"].reach_mean < 200


def test_summary_names_budget_peak_specs_and_verdicts(quadratic_result):
    result, _ = quadratic_result
    text = result.summary()
    assert "9 schedules x 4 seeds, 200 updates each, peak LR 0.2" in text
    assert "`linear_to_zero`: `linear_to_zero(peak=0.2, steps=200)`" in text
    assert "**better**" in text and "95% Student t-interval" in text
    assert text.count("\n| `") == 9


def test_standard_schedules_share_the_peak_and_the_budget():
    peak, steps = 0.05, 400
    for name, s in so.standard_schedules(peak, steps).items():
        curve = s(np.arange(steps))
        assert curve.max() == pytest.approx(peak, rel=1e-12), name
        assert lrkit.parse(repr(s)) == s, name
        if name != "constant":
            assert curve[-1] <= 0.02 * peak, name  # decayed by the end of the budget
    s = so.standard_schedules(peak, steps)
    assert s["wsd"](int(0.8 * steps) - 1) == peak and s["wsd"](int(0.8 * steps) + 1) < peak
    assert s["step"](199) == peak and s["step"](200) == pytest.approx(peak / 10) and s["step"](300) == pytest.approx(peak / 100)


@pytest.mark.parametrize("call, error, words", [
    (dict(peak=None, steps=10), lrkit.LrkitValueError, "peak must be given"),
    (dict(peak=0.1, steps=0), lrkit.LrkitValueError, "steps must be a positive integer, got 0"),
    (dict(peak=0.1, steps=50, schedules=["constant", "nope"]), lrkit.LrkitValueError, "names must be among"),
    (dict(peak=0.1, steps=50, schedules="cosine"), lrkit.LrkitTypeError, "schedules must be None, a list"),
    (dict(peak=0.1, steps=50, schedules=["cosine"]), lrkit.LrkitValueError, "baseline must be one of"),
    (dict(peak=0.1, steps=50, add={"cosine": "constant(0.1)"}), lrkit.LrkitValueError, "label 'cosine' is already taken"),
    (dict(peak=0.1, steps=50, add=["coz(0.1)"]), lrkit.SpecError, "unknown schedule 'coz'"),
    (dict(peak=0.1, steps=50, seeds=0), lrkit.LrkitValueError, "seeds must be >= 1"),
    (dict(peak=0.1, steps=50, seeds=[1, 1]), lrkit.LrkitValueError, "seeds must be distinct"),
    (dict(peak=0.1, steps=50, mode="up"), lrkit.LrkitValueError, "mode must be one of"),
])
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        so.shootout(noisy_quadratic(), **call)


def test_train_returning_none_uses_the_last_eval_or_says_what_is_missing():
    def last_eval(schedule, seed, steps, record):
        record.eval(steps, 0.25 + seed)
    r = so.shootout(last_eval, steps=5, seeds=2, schedules={"a": "constant(0.1)"}, baseline=None, progress=False)
    assert [run.final for run in r.runs] == [0.25, 1.25]
    with pytest.raises(lrkit.LrkitValueError, match="returned None and recorded no evaluation"):
        so.shootout(lambda *a: None, steps=5, seeds=1, schedules={"a": "constant(0.1)"}, baseline=None)


def test_progress_bar_counts_runs(capsys):
    so.shootout(noisy_quadratic(dims=2), peak=0.1, steps=30, seeds=2, schedules=["constant", "cosine"],
                mode="min", progress=True)
    err = capsys.readouterr().err
    assert "shootout [" in err and "4/4" in err


# ---------------------------------------------------------------------------------------------
# JSON and the figure
# ---------------------------------------------------------------------------------------------
def test_json_round_trip_is_strict_and_exact(quadratic_result, tmp_path):
    result, _ = quadratic_result
    path = tmp_path / "r.json"
    result.save(path)
    text = path.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    back = so.ShootoutResult.load(path)
    assert back == result
    assert back.table() == result.table() and back.rows() == result.rows()


def test_json_keeps_a_diverged_run_as_nan(tmp_path):
    result = _synthetic()
    result.runs[3].final = math.nan
    result.runs[3].losses.append((2, math.inf))
    result.save(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["runs"][3]["final"] is None and data["runs"][3]["losses"][-1] == [2, None]
    back = so.ShootoutResult.load(tmp_path / "r.json")
    assert math.isnan(back.runs[3].final) and math.isnan(back.runs[3].losses[-1][1])
    assert math.isnan(back.row("cosine").mean)
    with pytest.raises(lrkit.LrkitValueError, match="not a shoot-out result"):
        so.ShootoutResult.from_dict({"runs": []})


def test_figure_lr_panel_is_the_schedules_values(quadratic_result, tmp_path):
    pytest.importorskip("matplotlib")
    result, _ = quadratic_result
    path = tmp_path / "shootout.png"
    fig = result.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lr_ax, loss_ax, eval_ax = fig.axes[:3]
    lines = {line.get_label(): line for line in lr_ax.get_lines()}
    x, y = lines["cosine"].get_data()
    cosine = lrkit.parse(result.schedules["cosine"])
    assert np.allclose(y[:-1], cosine(np.asarray(x[:-1]))) and x[-1] == result.steps
    assert lines["constant"].get_linestyle() == "--"  # the baseline stands out
    assert loss_ax.get_yscale() == "log" and len(loss_ax.get_lines()) == 9
    assert len(eval_ax.get_lines()) == 9


def test_save_outputs_writes_the_json_and_the_figure_or_says_why_not(quadratic_result, tmp_path, monkeypatch):
    """What ``lrkit shootout`` writes: OUT/name.json always; OUT/name.png, or the NoMatplotlib error."""
    pytest.importorskip("matplotlib")
    result, _ = quadratic_result
    written, no_figure = so.save_outputs(result, str(tmp_path / "out"))
    assert no_figure is None and written == [str(tmp_path / "out" / "shootout.json"), str(tmp_path / "out" / "shootout.png")]
    assert so.ShootoutResult.load(written[0]).to_dict() == result.to_dict()
    assert (tmp_path / "out" / "shootout.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)  # import fails, as if not installed
    written, no_figure = so.save_outputs(result, str(tmp_path / "bare"), name="run")
    assert written == [str(tmp_path / "bare" / "run.json")] and not (tmp_path / "bare" / "run.png").exists()
    assert isinstance(no_figure, ImportError) and "lrkit[plot]" in str(no_figure)


def test_figure_without_evaluations_has_two_panels():
    pytest.importorskip("matplotlib")
    def losses_only(schedule, seed, steps, record):
        for k in range(steps):
            record.loss(k, 1.0 / (1 + k * schedule(k)))
        return 0.0
    r = so.shootout(losses_only, steps=20, peak=0.5, schedules=["constant", "cosine"], seeds=1, progress=False)
    assert len(r.plot().axes) == 2


# ---------------------------------------------------------------------------------------------
# the recommended recipe
# ---------------------------------------------------------------------------------------------
def test_linear_to_zero_formula_and_spec():
    s = linear_to_zero(2.0, steps=100, warmup=10)
    t = np.arange(120)
    expected = np.where(t < 10, 2.0 * t / 10, 2.0 * np.clip(1 - (t - 10) / 90, 0, None))
    assert np.allclose(s(t), expected, rtol=0, atol=1e-15)
    assert s(99) > 0 and s(100) == 0.0 and s(10_000) == 0.0
    default = linear_to_zero(3e-4, steps=10_000)
    assert repr(default) == "linear_to_zero(peak=0.0003, steps=10000)"
    assert lrkit.parse(repr(default)) == default and lrkit.from_config(json.loads(json.dumps(default.to_config()))) == default
    assert default(499) < 3e-4 == default(500)  # 5% warmup by default
    assert linear_to_zero(1.0, steps=8)(0) == 1.0  # runs under 10 updates: no warmup
    with pytest.raises(lrkit.LrkitValueError, match="warmup must be < steps"):
        linear_to_zero(1.0, steps=10, warmup=10)


def test_linear_to_zero_is_the_shootouts_warmup_linear_contestant():
    s = so.standard_schedules(0.01, 630)
    w = lrkit.warmup(lrkit.linear(0.01, 0.0, steps=598), steps=32)
    assert np.array_equal(s["linear_to_zero"](np.arange(700)), w(np.arange(700)))
    assert s["linear_to_zero"].expanded == w


def test_import_core_does_not_import_torch_or_matplotlib():
    code = ("import sys, lrkit._shootout, lrkit._recipes; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'mlxtend') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# ---------------------------------------------------------------------------------------------
# the built-in task and the command, reduced
# ---------------------------------------------------------------------------------------------
torch = pytest.importorskip("torch")
pytest.importorskip("mlxtend")
from lrkit.torch import _shootout_task as builtin  # noqa: E402
from lrkit import cli  # noqa: E402


def test_builtin_task_is_deterministic_per_seed():
    task = builtin.MnistTask(epochs=1, train_size=200)
    assert (task.steps, len(task.x), len(task.x_test)) == (4, 200, 1000)
    schedule = lrkit.cosine(1e-2, 0.0, steps=task.steps)
    runs = []
    for seed in (0, 0, 1):
        record = so.Recorder()
        final = task(schedule, seed, task.steps, record)
        runs.append((final, record.losses, record.evals))
    assert runs[0] == runs[1]
    assert runs[0][1] != runs[2][1]
    assert runs[0][2][-1] == (4, runs[0][0]) and len(runs[0][1]) == 4
    assert torch.get_num_threads() >= 1  # restored after the run


def test_builtin_split_is_fixed_stratified_and_disjoint():
    x, y, train, test = builtin._digits()
    assert train.shape == (400, 10) and test.shape == (1000,)
    assert set(train.reshape(-1)).isdisjoint(test) and np.bincount(y[test]).tolist() == [100] * 10
    small = builtin.load_data(train_size=50)
    assert np.bincount(small[1].numpy()).tolist() == [5] * 10


def test_cli_shootout_reduced_end_to_end(capsys, tmp_path):
    out = tmp_path / "out"
    code = cli.main(["shootout", "--epochs", "1", "--seeds", "2", "--train-size", "200", "--only", "constant,cosine",
                     "--add", "mine=warmup(linear({peak}, 0.0, steps={steps}), steps=1)", "--out", str(out),
                     "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    table = [line for line in captured.out.splitlines() if line.startswith("| `")]
    assert [line.split("`")[1] for line in table] == ["constant", "cosine", "mine"]
    assert "3 schedules x 2 seeds, 4 updates each, peak LR 0.01" in captured.out
    assert (out / "shootout.png").read_bytes()[:4] == b"\x89PNG"
    saved = so.ShootoutResult.load(out / "shootout.json")
    assert saved.seeds == (0, 1) and saved.schedules["mine"] == "warmup(linear(start=0.01, end=0.0, steps=4), steps=1)"
    assert saved.task["train_size"] == 200 and saved.metric == "test accuracy (%)"
    assert saved.task["cpu_capability"] == torch.backends.cpu.get_cpu_capability()  # which kernels made it
    assert cli.main(["shootout", "--load", str(out / "shootout.json")]) == 0
    assert saved.table() in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["--only", "constant,nope"], "names must be among"),
    (["--add", "coz(1)"], "unknown schedule 'coz'"),
    (["--load", "missing.json"], "cannot read 'missing.json'"),
    (["--train-size", "99999"], "train_size must be between 10 and 4000"),
])
def test_cli_shootout_bad_input_exit_2(capsys, argv, words):
    assert cli.main(["shootout", "--epochs", "1", "--seeds", "1", "--train-size", "200", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_range_test_vs_grid_machinery_reduced():
    out = builtin.range_test_vs_grid(peaks=(1e-3, 3e-3, 1e-2), epochs=1, seeds=1, train_size=200, find_lr_steps=30)
    assert set(out["suggestions"]) <= {"steepest", "minimum/10", "valley"} and out["suggestion"] > 0
    assert sorted(out["ranked"]) == [1e-3, 3e-3, 1e-2] and out["nearest"] in out["ranked"]
    assert out["passed"] == (out["nearest"] in out["ranked"][:2])
    assert [out["grid"][p] for p in out["ranked"]] == sorted(out["grid"].values(), reverse=True)
    assert len(out["result"].runs) == 4 and out["result"].baseline is None
