"""Crash-safe checkpoints: atomic writes, a checksum, and a fallback to the last complete file.

``save_checkpoint(directory, state, keep=2)`` writes ``state`` (what ``torch.load(weights_only=True)``
reads back: tensors, numbers, strings, None, lists, tuples, dicts) as ``<prefix>-<n>.lrkit`` in
``directory``, ``n`` one more than the newest there:

1. ``torch.save`` into memory; the file is a header line ``lrkit-checkpoint 1``, a JSON line with the
   payload's length and sha256, then the payload;
2. written to a temporary file in the same directory, flushed and ``fsync``-ed;
3. ``os.replace``-d onto its final name (atomic), then the directory is ``fsync``-ed;
4. only then are older checkpoints beyond the newest ``keep`` (and temporary files left by a killed
   writer) deleted.

A process killed at any point leaves either the new complete file or none of it under a final name.
``load_checkpoint(directory)`` verifies the newest file's length and checksum; a truncated or corrupted
one is reported (``CheckpointError`` naming the file, issued as a warning) and the previous complete
checkpoint is loaded instead. ``load_checkpoint(file)`` loads that one file or raises. Payloads are read
with ``torch.load(weights_only=True)``: a checkpoint never runs pickled code.

One writer per ``(directory, prefix)``: in a ``torch.distributed`` job, rank 0 saves (or give each rank
its own prefix) and every rank loads after a barrier. The serialized payload is held in memory once
while it is written.

>>> import tempfile, torch
>>> d = tempfile.mkdtemp()
>>> _ = save_checkpoint(d, {"step": 1, "w": torch.ones(2)})
>>> _ = save_checkpoint(d, {"step": 2, "w": torch.zeros(2)})
>>> load_checkpoint(d)["step"], sorted(os.listdir(d))
(2, ['checkpoint-00000001.lrkit', 'checkpoint-00000002.lrkit'])
"""
import collections
import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import warnings

import torch

from .._errors import LrkitTypeError, LrkitValueError

MAGIC = b"lrkit-checkpoint 1\n"
SUFFIX = ".lrkit"
_MAX_HEADER = 4096
_PLAIN = (str, bytes, bytearray, int, float, complex, bool, type(None), torch.Size, torch.dtype, torch.device,
          torch.layout)
_CONTAINERS = (dict, collections.OrderedDict, collections.Counter, list, tuple, set)


class CheckpointError(LrkitValueError):
    """A checkpoint file is truncated, corrupted or not an lrkit checkpoint (the message names it)."""


def _check_name(name, value):
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.]+", value) or value.startswith("."):
        raise LrkitValueError(f"{name} must be a non-empty name of letters, digits, '_' and '.' (not "
                              f"starting with '.'), got {value!r}")
    return value


def _check_keep(keep):
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise LrkitValueError(f"keep must be an integer >= 1 (the newest checkpoints kept), got {keep!r}")
    return keep


def _safe_types():
    """Types registered with ``torch.serialization.add_safe_globals`` (torch >= 2.4)."""
    getter = getattr(torch.serialization, "get_safe_globals", None)
    found = []
    for entry in getter() if getter is not None else []:
        entry = entry[0] if isinstance(entry, tuple) else entry
        if isinstance(entry, type):
            found.append(entry)
    return tuple(found)


def _check_loadable(value, where, extra):
    """Raise LrkitTypeError naming the first value ``torch.load(weights_only=True)`` would refuse."""
    kind = type(value)
    if kind in _PLAIN or (extra and isinstance(value, extra)):
        return
    if isinstance(value, torch.Tensor):
        if kind in (torch.Tensor, torch.nn.Parameter):
            return
    elif kind in _CONTAINERS:
        if isinstance(value, dict):
            for key, item in value.items():
                _check_loadable(key, f"{where} (a key)", extra)
                _check_loadable(item, f"{where}[{key!r}]", extra)
        else:
            for i, item in enumerate(value):
                _check_loadable(item, f"{where}[{i}]", extra)
        return
    raise LrkitTypeError(
        f"{where} is a {kind.__module__}.{kind.__qualname__} ({value!r:.60}): a checkpoint holds what "
        f"torch.load(weights_only=True) reads back (tensors, numbers, strings, None, lists, tuples, "
        f"dicts); convert it (e.g. a state_dict()), or register its type with "
        f"torch.serialization.add_safe_globals")


def _numbered(directory, prefix):
    """``[(n, path)]`` of the checkpoints in ``directory``, oldest first."""
    pattern = re.compile(re.escape(prefix) + r"-(\d+)" + re.escape(SUFFIX))
    found = []
    for name in os.listdir(directory):
        match = pattern.fullmatch(name)
        if match:
            found.append((int(match.group(1)), os.path.join(directory, name)))
    return sorted(found)


def _fsync_directory(directory):
    """Make a rename or a deletion in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(directory, state, *, keep=2, prefix="checkpoint"):
    """Write ``state`` atomically as the newest checkpoint in ``directory``; returns its path.

    ``state`` holds what ``torch.load(weights_only=True)`` reads back (checked before anything is
    written: LrkitTypeError names the offending entry). After the new file is durable, all but the
    newest ``keep`` checkpoints with this ``prefix`` are deleted.
    """
    keep = _check_keep(keep)
    prefix = _check_name("prefix", prefix)
    if not isinstance(directory, (str, os.PathLike)):
        raise LrkitTypeError(f"directory must be a path, got {directory!r}")
    _check_loadable(state, "state", _safe_types())
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getbuffer()
    header = MAGIC + json.dumps({"bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()},
                                sort_keys=True).encode() + b"\n"
    existing = _numbered(directory, prefix)
    number = existing[-1][0] + 1 if existing else 1
    final = os.path.join(directory, f"{prefix}-{number:08d}{SUFFIX}")
    temporary = os.path.join(directory, f".{prefix}-{number:08d}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(header)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)
    stale = [path for _, path in existing[:max(0, len(existing) + 1 - keep)]]
    stale += [os.path.join(directory, name) for name in os.listdir(directory)
              if name.startswith(f".{prefix}-") and name.endswith(".tmp")]
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    if stale:
        _fsync_directory(directory)
    return final


def _read_payload(path):
    """The verified payload bytes of one checkpoint file (CheckpointError when it is incomplete)."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(MAGIC):
        what = "empty" if not data else "not an lrkit checkpoint (no 'lrkit-checkpoint 1' header)"
        raise CheckpointError(f"checkpoint {path} is {what}")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
    try:
        info = json.loads(data[len(MAGIC):end]) if end > 0 else None
        size, digest = info["bytes"], info["sha256"]
    except (ValueError, TypeError, KeyError):
        raise CheckpointError(f"checkpoint {path} is truncated or corrupted: its header is unreadable") from None
    payload = memoryview(data)[end + 1:]
    if len(payload) != size:
        raise CheckpointError(f"checkpoint {path} is truncated or corrupted: its header promises {size} "
                              f"payload bytes, the file holds {len(payload)}")
    actual = hashlib.sha256(payload).hexdigest()
    if actual != digest:
        raise CheckpointError(f"checkpoint {path} is corrupted: sha256 of its payload is {actual}, "
                              f"the header says {digest}")
    return payload


def _load_one(path, map_location):
    return torch.load(io.BytesIO(_read_payload(path)), map_location=map_location, weights_only=True)


def load_checkpoint(path, *, map_location=None, prefix="checkpoint", missing_ok=False):
    """The state of the newest complete checkpoint in directory ``path`` (or of the file ``path``).

    A directory's checkpoints are tried newest first: a truncated or corrupted one (or one that cannot be
    read: a directory, a symlink loop) is skipped with a warning naming it, and the previous complete one is loaded. CheckpointError when every file is
    bad; FileNotFoundError when there is none (None instead with ``missing_ok=True``). The payload is
    read with ``torch.load(weights_only=True, map_location=map_location)``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise LrkitTypeError(f"path must be a path, got {path!r}")
    prefix = _check_name("prefix", prefix)
    path = os.fspath(path)
    if os.path.isfile(path):
        return _load_one(path, map_location)
    candidates = _numbered(path, prefix) if os.path.isdir(path) else []
    if not candidates:
        if missing_ok:
            return None
        raise FileNotFoundError(f"no checkpoint {prefix}-<n>{SUFFIX} in {path}")
    problems = []
    for _, candidate in reversed(candidates):
        try:
            payload = _read_payload(candidate)
        except CheckpointError as error:
            problems.append(str(error))
            continue
        except FileNotFoundError:  # deleted by a writer since the listing
            continue
        except OSError as error:  # a directory, a symlink loop, unreadable: as damaged
            problems.append(f"checkpoint {candidate} cannot be read ({type(error).__name__}: "
                            f"{error.strerror or error})")
            continue
        if problems:
            warnings.warn(f"{'; '.join(problems)}; loading the previous complete checkpoint {candidate}",
                          UserWarning, stacklevel=2)
        return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    if not problems:
        raise FileNotFoundError(f"no checkpoint {prefix}-<n>{SUFFIX} in {path}")
    raise CheckpointError(f"no complete checkpoint in {path}: " + "; ".join(problems))
