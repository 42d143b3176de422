"""The shoot-out's language-model task (``lrkit.torch._lm_task``, ``lrkit shootout --task lm``), reduced.

- the corpus: CPython's own library files, pinned by SHA-256 (the same text on CPython 3.10.13, 3.11.2,
  3.11.7, 3.12.1 and 3.13.0); the fixed split (the last 10% of each file validates); the vocabulary;
  another library's files warn, a missing file is an error naming it;
- a run on a tiny model: deterministic per seed (same weights, same batches), a different seed differs,
  the training loss of every update and the loss on the whole training split after the last one;
- ``lrkit shootout --task lm`` end to end on a cut-down corpus (the wiring: metric, mode, JSON).
"""
import os
import shutil
import sys
import warnings

import numpy as np
import pytest

import lrkit
from lrkit import _shootout as so

torch = pytest.importorskip("torch")
from lrkit.torch import _lm_task as lm  # noqa: E402
from lrkit import cli  # noqa: E402

PINNED = (3, 10) <= sys.version_info[:2] <= (3, 13)


@pytest.mark.skipif(not PINNED, reason="the corpus hash is pinned for CPython 3.10 to 3.13")
def test_corpus_is_the_pinned_text():
    corpus = lm.load_corpus()
    assert corpus["sha256"] == lm.CORPUS_SHA256 and corpus["reference"]
    assert corpus["chars"] == 404_069 and len(corpus["train"]) + len(corpus["validation"]) == corpus["chars"]
    assert (len(corpus["train"]), len(corpus["validation"])) == (363_660, 40_409)


def test_split_is_the_last_tenth_of_each_file_and_fixed():
    text = lm.corpus_text()
    files = text.split("# file: ")[1:]
    assert len(files) == len(lm.CORPUS_FILES) and files[0].startswith(lm.CORPUS_FILES[0] + "\n")
    first = lm.encode("# file: " + files[0])
    cut = len(first) - round(0.1 * len(first))
    corpus = lm.load_corpus()
    assert np.array_equal(corpus["train"][:cut], first[:cut])
    assert np.array_equal(corpus["validation"][:len(first) - cut], first[cut:])
    again = lm.load_corpus.__wrapped__()          # read and split again, not from the cache
    assert np.array_equal(again["train"], corpus["train"]) and again["sha256"] == corpus["sha256"]


def test_vocabulary():
    ids = lm.encode("a\n~ é")
    assert ids.tolist() == [lm.VOCAB.index("a"), 0, lm.VOCAB.index("~"), lm.VOCAB.index(" "), len(lm.VOCAB)]
    assert len(lm.VOCAB) == 96 and lm.VOCAB[0] == "\n"


def test_another_library_warns_and_a_missing_file_is_named(tmp_path):
    root = tmp_path / "lib"
    for name in lm.CORPUS_FILES:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(lm.stdlib_dir(), *name.split("/")), target)
    with open(root / "difflib.py", "a") as f:
        f.write("# patched\n")
    with pytest.warns(UserWarning, match="not comparable with lrkit's README"):
        corpus = lm.load_corpus(str(root))
    assert not corpus["reference"] and corpus["chars"] == 404_069 + len("# patched\n")
    (root / "json" / "scanner.py").unlink()
    with pytest.raises(lrkit.LrkitValueError, match="needs the standard-library file 'json/scanner.py'"):
        lm.corpus_text(str(root))


TINY = dict(batch_size=2, context=8, width=8, layers=1, heads=2, evals=1, eval_windows=4)


def test_reduced_run_is_deterministic_per_seed():
    task = lm.LmTask(steps=3, **TINY)
    schedule = lrkit.cosine(1e-2, 0.0, steps=3)
    threads = torch.get_num_threads()
    runs = []
    for seed in (0, 0, 1):
        record = so.Recorder()
        final = task(schedule, seed, 3, record)
        runs.append((final, record.losses, record.evals))
    assert runs[0] == runs[1] and runs[0][1] != runs[2][1]
    steps = [s for s, _ in runs[0][1]]
    assert steps == [0, 1, 2, 3]                          # 3 batch losses, then the whole training split
    model = task.model()
    assert runs[0][1][0][1] == pytest.approx(np.log(97), rel=0.2)   # an untrained model: about uniform
    assert runs[0][2] == [(3, runs[0][0])] and np.isfinite(runs[0][0])
    assert torch.get_num_threads() == threads and sum(p.numel() for p in model.parameters()) > 0


def test_default_model_size_and_description():
    task = lm.LmTask()
    info = task.describe()
    assert sum(p.numel() for p in task.model().parameters()) == 116_705
    assert task.steps == lm.STEPS == 1500 and info["batch_size"] == 16 and info["context"] == 64
    assert info["reference_corpus"] == (task.sha256 == lm.CORPUS_SHA256)


def test_cli_shootout_task_lm_reduced(capsys, tmp_path, monkeypatch):
    full = lm.load_corpus()
    small = dict(full, train=full["train"][:3000], validation=full["validation"][:600])
    monkeypatch.setattr(lm, "load_corpus", lambda root=None: small)
    out = tmp_path / "out"
    code = cli.main(["shootout", "--task", "lm", "--steps", "4", "--seeds", "1", "--only", "constant,cosine",
                     "--out", str(out), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    saved = so.ShootoutResult.load(out / "shootout.json")
    assert saved.metric == "validation loss (nats/char)" and saved.mode == "min" and saved.steps == 4
    assert saved.peak == lm.PEAK and list(saved.schedules) == ["constant", "cosine"]
    assert [s for s, _ in saved.runs[0].losses] == [0, 1, 2, 3, 4]
    assert "2 schedules x 1 seeds, 4 updates each, peak LR 0.01" in captured.out
    assert cli.main(["shootout", "--steps", "4", "--seeds", "1"]) == 2
    assert "--steps is for --task lm" in capsys.readouterr().err
