"""Smoke test of the core benchmark: ``python bench/bench_core.py --quick`` runs, checks inside that lrkit
and its references compute the same numbers (it exits 1 otherwise) and prints its three rows.
No timing is asserted: speed is shown by the benchmark's printed ratios, never by a test."""
import os
import re
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "bench", "bench_core.py")


def test_bench_core_quick_runs_and_prints_three_rows():
    done = subprocess.run([sys.executable, BENCH, "--quick", "--repeat", "1"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"^machine: .*\d+ usable core.*numpy [\d.]+", out, re.M), out
    ratio = r"\s[\d,]+\.\d\dx"
    assert re.search(r"^\(a\) scalar .*" + ratio + r".*<= 3x\s+(met|NOT MET)$", out, re.M), out
    assert re.search(r"^\(b\) numpy curve .*" + ratio + r".*<= 1\.5x\s+(met|NOT MET)$", out, re.M), out
    # row (c) needs torch; without it the benchmark says it skipped the row
    assert re.search(r"^\(c\) (CosineAnnealingLR .*" + ratio + r" faster\s+>= 200x\s+(met|NOT MET)|skipped: torch)",
                     out, re.M), out


def test_bench_core_without_torch_skips_row_c():
    """torch is imported lazily: with ``import torch`` failing, rows (a) and (b) still run and (c) says why not."""
    code = ("import runpy, sys; sys.modules['torch'] = None; "  # None in sys.modules: import raises ImportError
            f"sys.argv = [{BENCH!r}, '--quick', '--repeat', '1']; runpy.run_path({BENCH!r}, run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^\(a\) scalar ", done.stdout, re.M) and re.search(r"^\(b\) numpy ", done.stdout, re.M)
    assert re.search(r"^\(c\) skipped: torch not installed", done.stdout, re.M), done.stdout


def test_bench_core_prints_the_issue13_rows():
    done = subprocess.run([sys.executable, BENCH, "--quick", "--repeat", "1", "--no-torch"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    ratio = r"\s[\d,]+\.\d\dx"
    for row in (r"\(a'\) the same, issue 13's goal", r"\(d\) short curve .*n = 1,000\s", r"\(e\) sequence of",
                r"\(f\) multistep, "):
        assert re.search("^" + row + ".*" + ratio + r".*<= 1\.5x\s+(met|NOT MET)$", done.stdout, re.M), (row, done.stdout)
