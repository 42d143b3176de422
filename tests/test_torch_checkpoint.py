"""save_checkpoint / load_checkpoint: the atomic write protocol, the checksum, the fallback, bad input."""
import collections
import hashlib
import io
import json
import os
import re
import warnings

import pytest

torch = pytest.importorskip("torch")

import lrkit  # noqa: E402
import lrkit.torch as K  # noqa: E402
from lrkit.torch._checkpoint import MAGIC, CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402


def _state(step):
    return {"step": step, "w": torch.arange(6.0).reshape(2, 3) * step, "nested": {"a": [1, 2.5, None, "x"]},
            "t": (1, 2), "ordered": collections.OrderedDict(b=torch.ones(1)), "size": torch.Size([2])}


def _listing(directory):
    return sorted(os.listdir(directory))


def test_round_trip_and_numbering(tmp_path):
    paths = [save_checkpoint(tmp_path, _state(k), keep=3) for k in range(1, 6)]
    assert [os.path.basename(p) for p in paths] == [f"checkpoint-{k:08d}.lrkit" for k in range(1, 6)]
    assert _listing(tmp_path) == [f"checkpoint-{k:08d}.lrkit" for k in (3, 4, 5)]  # keep=3
    loaded = load_checkpoint(tmp_path)
    assert loaded["step"] == 5 and torch.equal(loaded["w"], _state(5)["w"])
    assert loaded["nested"] == {"a": [1, 2.5, None, "x"]} and loaded["t"] == (1, 2)
    assert load_checkpoint(paths[2])["step"] == 3  # one file, by path


def test_the_file_is_a_header_then_a_plain_torch_save_payload(tmp_path):
    path = save_checkpoint(tmp_path, _state(2))
    with open(path, "rb") as f:
        data = f.read()
    assert data.startswith(MAGIC)
    header, payload = data[len(MAGIC):].split(b"\n", 1)
    info = json.loads(header)
    assert info == {"bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    plain = torch.load(io.BytesIO(payload), weights_only=True)  # what torch.load reads, weights_only
    assert plain["step"] == 2


def test_write_protocol_temp_fsync_replace_fsync_directory(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync", "directory" if os.path.isdir(f"/proc/self/fd/{fd}") else "file"))
        real_fsync(fd)

    def replace(src, dst):
        calls.append(("replace", os.path.dirname(src) == os.path.dirname(dst), os.path.basename(src)[0]))
        real_replace(src, dst)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    save_checkpoint(tmp_path, _state(1))
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to tell a directory's fd from a file's")
    assert calls == [("fsync", "file"), ("replace", True, "."), ("fsync", "directory")]


def test_a_truncated_newest_file_is_reported_and_the_previous_one_loaded(tmp_path):
    save_checkpoint(tmp_path, _state(1))
    newest = save_checkpoint(tmp_path, _state(2))
    size = os.path.getsize(newest)
    with open(newest, "r+b") as f:
        f.truncate(size - 100)
    with pytest.warns(UserWarning, match=r"checkpoint .*checkpoint-00000002\.lrkit is truncated") as info:
        assert load_checkpoint(tmp_path)["step"] == 1
    assert "loading the previous complete checkpoint" in str(info[0].message)
    assert "checkpoint-00000001.lrkit" in str(info[0].message)
    with pytest.raises(CheckpointError, match=re.escape(newest) + " is truncated or corrupted: its header promises"):
        load_checkpoint(newest)
    assert isinstance(CheckpointError("x"), lrkit.LrkitValueError)


@pytest.mark.parametrize("damage, message", [
    ("flip", "is corrupted: sha256 of its payload is"),
    ("empty", "is empty"),
    ("foreign", "is not an lrkit checkpoint"),
    ("header", "its header is unreadable"),
    ("extra", "the file holds"),
])
def test_damage_is_detected_with_a_clear_error_naming_the_file(tmp_path, damage, message):
    save_checkpoint(tmp_path, _state(1))
    path = save_checkpoint(tmp_path, _state(2))
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if damage == "flip":
        data[-50] ^= 0x01
    elif damage == "empty":
        data = b""
    elif damage == "foreign":
        buffer = io.BytesIO()
        torch.save(_state(2), buffer)  # a plain torch file under a checkpoint name
        data = buffer.getvalue()
    elif damage == "header":
        data[len(MAGIC) + 2] = ord("!")
    else:
        data += b"\0"
    with open(path, "wb") as f:
        f.write(bytes(data))
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert path in str(info.value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert load_checkpoint(tmp_path)["step"] == 1
    assert len(caught) == 1 and path in str(caught[0].message)


def test_every_file_damaged_is_an_error_listing_them(tmp_path):
    for k in (1, 2):
        path = save_checkpoint(tmp_path, _state(k))
        with open(path, "r+b") as f:
            f.truncate(10)
    with pytest.raises(CheckpointError, match=r"no complete checkpoint in .*00000002.*00000001"):
        load_checkpoint(tmp_path)


def test_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint checkpoint-<n>.lrkit in"):
        load_checkpoint(tmp_path)
    assert load_checkpoint(tmp_path / "nowhere", missing_ok=True) is None
    (tmp_path / "other-00000001.lrkit").write_bytes(b"")
    assert load_checkpoint(tmp_path, missing_ok=True) is None  # another prefix is not ours


def test_a_leftover_temporary_file_is_ignored_then_removed(tmp_path):
    save_checkpoint(tmp_path, _state(1))
    leftover = tmp_path / ".checkpoint-00000002.123.abcd.tmp"  # a writer killed before os.replace
    leftover.write_bytes(MAGIC + b"{}")
    assert load_checkpoint(tmp_path)["step"] == 1
    save_checkpoint(tmp_path, _state(2))
    assert _listing(tmp_path) == ["checkpoint-00000001.lrkit", "checkpoint-00000002.lrkit"]


def test_prefixes_are_independent(tmp_path):
    for k in range(3):
        save_checkpoint(tmp_path, _state(k), prefix="rank0")
        save_checkpoint(tmp_path, _state(10 + k), prefix="rank1", keep=1)
    assert load_checkpoint(tmp_path, prefix="rank0")["step"] == 2
    assert load_checkpoint(tmp_path, prefix="rank1")["step"] == 12
    assert _listing(tmp_path) == ["rank0-00000002.lrkit", "rank0-00000003.lrkit", "rank1-00000003.lrkit"]


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_checkpoint(tmp_path, _state(1))
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_scheduler_states_round_trip(tmp_path):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    sched = K.ScheduleLR(opt, "warmup(cosine(0.1, 0.0, steps=50), steps=5)", plateau=lrkit.plateau(patience=0))
    plateau = K.ReduceLROnPlateau(opt, reduce="min")
    for _ in range(7):
        opt.step()
        sched.step()
    sched.report(1.0)
    state = {"sched": sched.state_dict(), "plateau": plateau.state_dict(), "opt": opt.state_dict()}
    save_checkpoint(tmp_path, state)
    assert load_checkpoint(tmp_path)["sched"] == sched.state_dict()
    assert load_checkpoint(tmp_path)["plateau"] == plateau.state_dict()  # best=inf included


class _Thing:
    pass


BAD = [
    ("keep 0", lambda d: save_checkpoint(d, {}, keep=0), lrkit.LrkitValueError, "keep must be an integer >= 1.*got 0"),
    ("keep True", lambda d: save_checkpoint(d, {}, keep=True), lrkit.LrkitValueError, "keep .*got True"),
    ("keep 1.5", lambda d: save_checkpoint(d, {}, keep=1.5), lrkit.LrkitValueError, "keep .*got 1.5"),
    ("prefix with /", lambda d: save_checkpoint(d, {}, prefix="a/b"), lrkit.LrkitValueError, "prefix .*got 'a/b'"),
    ("prefix with -", lambda d: save_checkpoint(d, {}, prefix="a-b"), lrkit.LrkitValueError, "prefix .*got 'a-b'"),
    ("prefix empty", lambda d: load_checkpoint(d, prefix=""), lrkit.LrkitValueError, "prefix .*got ''"),
    ("directory", lambda d: save_checkpoint(3, {}), lrkit.LrkitTypeError, "directory must be a path, got 3"),
    ("path", lambda d: load_checkpoint(None), lrkit.LrkitTypeError, "path must be a path, got None"),
    ("object", lambda d: save_checkpoint(d, {"a": [1, _Thing()]}), lrkit.LrkitTypeError,
     r"state\['a'\]\[1\] is a .*_Thing.*weights_only=True"),
    ("namedtuple", lambda d: save_checkpoint(d, {"p": lrkit.PlateauState(best=1.0)}), lrkit.LrkitTypeError,
     r"state\['p'\] is a lrkit._plateau.PlateauState"),
    ("numpy", lambda d: save_checkpoint(d, {"x": __import__("numpy").float64(1.0)}), lrkit.LrkitTypeError,
     r"state\['x'\] is a numpy.float64"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input(tmp_path, case):
    _, call, error, message = case
    with pytest.raises(error, match=message):
        call(tmp_path)
    assert not [n for n in os.listdir(tmp_path)]  # nothing written


def test_a_registered_safe_type_is_accepted(tmp_path):
    if not hasattr(torch.serialization, "safe_globals"):
        pytest.skip("torch.serialization.safe_globals needs torch >= 2.5")
    with torch.serialization.safe_globals([_Thing]):
        save_checkpoint(tmp_path, {"a": _Thing()})
        assert isinstance(load_checkpoint(tmp_path)["a"], _Thing)


@pytest.mark.parametrize("blocker", ["directory", "symlink loop"])
def test_an_unreadable_newest_name_is_skipped_like_a_damaged_file(tmp_path, blocker):
    """A directory or a symlink loop named like the newest checkpoint: the previous one, with a warning
    (an IsADirectoryError / OSError escaped before)."""
    save_checkpoint(tmp_path, _state(1))
    newest = tmp_path / "checkpoint-00000002.lrkit"
    if blocker == "directory":
        newest.mkdir()
    else:
        os.symlink(newest, newest)
    with pytest.warns(UserWarning, match=r"checkpoint-00000002\.lrkit cannot be read .*loading the previous "
                                         r"complete checkpoint .*checkpoint-00000001\.lrkit"):
        assert load_checkpoint(tmp_path)["step"] == 1
