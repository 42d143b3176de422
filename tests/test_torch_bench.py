"""Smoke test of the torch benchmark: ``python bench/bench_torch.py`` runs on a few rows and sizes; before
timing, the benchmark checks that torch and lrkit write the same values (exit status 1 otherwise).
No timing is asserted: speed is shown by the benchmark's printed ratios, never by a test."""
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("torch")

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "bench", "bench_torch.py")


def test_bench_torch_runs_checks_and_prints_ratios():
    done = subprocess.run([sys.executable, BENCH, "--quick", "--repeat", "1", "--groups", "1,20",
                           "--only", "StepLR,CyclicLR,OneCycleLR,ReduceLROnPlateau,ChainedScheduler,ScheduleLR"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"^machine: .*torch [\d.]+", out, re.M), out
    for name in ("StepLR", "CyclicLR", "OneCycleLR", "ReduceLROnPlateau", "ChainedScheduler", "ScheduleLR vs LambdaLR"):
        assert re.search(rf"^{re.escape(name)}\s+(\s+[\d.]+ /\s+[\d.]+ us\s+[\d.]+x){{2}}$", out, re.M), (name, out)
    assert re.search(r"^goals: ", out, re.M)
