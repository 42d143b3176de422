"""Crash-safe resume end to end: a training run SIGKILLed again and again resumes bit for bit.

tests/_fault_worker.py forks one training process per segment and kills each at a planned point (in a
training step, after an evaluation, or at every stage of a checkpoint write), and damages the newest
checkpoint after some kills (see its docstring). The kill points are seeded.

- ``LRKIT_FAULT_KILLS`` (default 20): how many kills; with 9 or more, every kind of kill point is used
  (a damaged checkpoint twice: truncated, then a flipped byte).
- ``LRKIT_FAULT_SEED`` (default 20240611): the seed of the kill plan.
"""
import json
import os
import re
import sys

import pytest

pytest.importorskip("torch")
if not hasattr(os, "fork"):
    pytest.skip("the fault test forks its training processes (POSIX only)", allow_module_level=True)

import _fault_worker as F  # noqa: E402
from _run_once import run_once  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
KILLS = int(os.environ.get("LRKIT_FAULT_KILLS", "20"))
SEED = int(os.environ.get("LRKIT_FAULT_SEED", "20240611"))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1")
    outdir, code, stderr = run_once(tmp_path_factory, f"lrkit-faults-{KILLS}-{SEED}",
                                    [sys.executable, os.path.join(HERE, "_fault_worker.py"), str(KILLS), str(SEED)],
                                    env, timeout=600)
    assert code == 0, stderr
    with open(os.path.join(outdir, "summary.json")) as f:
        summary = json.load(f)
    assert summary["segments"][-1]["ended"] == "exit 0", (summary, stderr)
    return outdir, summary


def _read(outdir, name, suffix):
    path = os.path.join(outdir, name + suffix)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().splitlines()


def test_every_kill_was_a_sigkill_and_every_kind_of_point_was_hit(run):
    _, summary = run
    segments = summary["segments"]
    assert summary["reference"] == "exit 0"
    assert len(segments) == KILLS + 1
    assert [s["ended"] for s in segments] == ["SIGKILL"] * KILLS + ["exit 0"]
    if KILLS >= len(F.WHERE):
        assert {s["kill"][1] for s in segments[:-1]} == set(F.WHERE)


def test_each_segment_resumes_from_the_last_complete_checkpoint(run):
    outdir, summary = run
    resumed = []
    for i in range(len(summary["segments"])):
        lines = [ln for ln in _read(outdir, f"seg-{i}", ".log") if ln.startswith("resume ")]
        assert len(lines) == 1, (i, lines)
        resumed.append(int(lines[0].split()[1]))
    assert resumed[0] == -1  # a fresh start
    expected = [F.expected_resume(s["kill"]) for s in summary["segments"][:-1]]
    assert resumed[1:] == expected


def test_the_whole_trace_is_bitwise_the_uninterrupted_one(run):
    outdir, summary = run
    reference = _read(outdir, "reference", ".trace")
    assert len(reference) == summary["total"]
    covered = set()
    for i in range(len(summary["segments"])):
        for line in _read(outdir, f"seg-{i}", ".trace"):
            step = int(line.split()[0])
            assert line == reference[step], (i, step)  # LRs, momentum and loss, bit for bit
            covered.add(step)
    assert covered == set(range(summary["total"]))


def test_a_damaged_checkpoint_is_reported_and_the_previous_one_used(run):
    outdir, summary = run
    damaged = [(i, s["damaged"]) for i, s in enumerate(summary["segments"]) if "damaged" in s]
    if KILLS > len(F.WHERE):  # the plan damages two files: one truncated, one with a flipped byte
        assert {how for _, (_, how) in damaged} == {"truncate", "flip"}
    assert damaged or KILLS < len(F.WHERE)
    for i, (path, how) in damaged:
        warning = [ln for ln in _read(outdir, f"seg-{i + 1}", ".log") if ln.startswith("warning ")]
        assert len(warning) == 1, warning
        word = "truncated" if how == "truncate" else "corrupted: sha256"
        assert path in warning[0] and word in warning[0] and "loading the previous complete checkpoint" in warning[0]


def test_the_directory_ends_with_keep_checkpoints_and_no_temporary_file(run):
    outdir, summary = run
    names = sorted(os.listdir(os.path.join(outdir, "checkpoints")))
    assert len(names) == summary["keep"]
    assert all(re.fullmatch(r"checkpoint-\d{8}\.lrkit", n) for n in names), names
