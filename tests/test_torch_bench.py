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


def test_bench_torch_issue13_sections_print_their_goals():
    """The sections of issue 13 run and print each figure next to its goal (met or not: never asserted)."""
    done = subprocess.run([sys.executable, BENCH, "--quick", "--repeat", "1", "--groups", "1,20",
                           "--only", "ReduceLROnPlateau,tensor,plateau,run,milestones"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for figure in ("tensor path ScheduleLR(tensor_lr=True), 20 groups", "device mode ScheduleLR(on_device=True)",
                   "ReduceLROnPlateau vs torch's, 1 group", "plateau stage report() with a cut, 20 groups",
                   "CosineAnnealingWarmRestarts T_0=10: step at 1e7 vs at 1e3", "MultiplicativeLR: step at 1e7",
                   "MultiStepLR construction per milestone", "MultiplicativeLR memory"):
        assert re.search(rf"^{re.escape(figure)}.*\s[\d,.]+x\s+.+\s(met|NOT MET)$", out, re.M), (figure, out)
    assert re.search(r"^issue 13 goals: ", out, re.M)


def test_bench_torch_float_path_section_at_1000_groups():
    """At 1000 groups the float path section times a drop-in against the read+write floor, and a drop-in that
    writes two keys also against the two-key floor, each figure next to its goal (never asserted)."""
    done = subprocess.run([sys.executable, BENCH, "--quick", "--repeat", "1", "--groups", "1000", "--only", "OneCycleLR"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for figure in ("float path OneCycleLR, 1000 groups ", "  the same, timed in the table",
                   "float path OneCycleLR, 1000 groups, vs the two-key floor (lr, momentum)"):
        assert re.search(rf"^{re.escape(figure)}.*\s[\d,.]+x\s+.+\s(met|NOT MET)$", out, re.M), (figure, out)


def test_bench_train_quick_runs():
    """bench/bench_train.py --quick: every variant of a compiled training step runs, the LRs checked equal."""
    train = os.path.join(os.path.dirname(BENCH), "bench_train.py")
    done = subprocess.run([sys.executable, train, "--quick", "--repeat", "1"], capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("torch CosineAnnealingLR", "lrkit float path", "lrkit tensor path", "lrkit device mode"):
        assert re.search(rf"^{re.escape(name)}.*\s-?[\d.]+%\s+<= 1%\s+(met|NOT MET)$", done.stdout, re.M), done.stdout
