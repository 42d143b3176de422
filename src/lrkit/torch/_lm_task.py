"""The shoot-out's second built-in task (``lrkit shootout --task lm``): a small character-level
transformer language model trained on Python standard-library source files, the text every CPython
install carries (no download), driven by :class:`lrkit.torch.ScheduleLR`.

This module imports torch; the core's ``lrkit._shootout`` does the bookkeeping and statistics.
It lives in the ``lrkit.torch`` package but is not part of its public names (``lrkit.torch.__all__``).

The task, fixed so that runs are comparable:

- corpus: the 62 files of :data:`CORPUS_FILES`, read from ``sysconfig.get_paths()["stdlib"]``, each
  preceded by a ``# file: PATH`` line; 404,069 characters, all ASCII. They are the library files that
  are byte-identical in CPython 3.10.13, 3.11.2, 3.11.7, 3.12.1 and 3.13.0 (encodings tables and two
  table-like files left out), so the corpus is the same on those versions; its SHA-256 is
  :data:`CORPUS_SHA256`. Another build whose files differ still trains (a warning says so, and the
  task's description records the hash it read), but its numbers are not comparable with the README's;
- split: the first 90% of each file's characters train, the last 10% validate (fixed, no randomness);
- vocabulary: newline and the 95 printable ASCII characters, one more id for anything else (97);
- model: pre-LayerNorm decoder-only transformer, 2 layers, 4 heads, width 64, context 64, learned
  positions, GELU MLP (x4), 116,705 parameters; AdamW (betas (0.9, 0.95), weight decay 0.1 on
  matrices only), gradient norm clipped to 1.0, batch 16 windows of 64 characters, cross-entropy;
- seeding: ``seed`` fixes the initial weights (torch's generator, forked so the caller's is untouched)
  and the batch windows (a private ``torch.Generator``): with the same seed every schedule starts from
  the same weights and sees the same batches;
- threads: 1 by default (``torch.set_num_threads``, restored after the run).

Training loss: the batch's loss before each update (``record.loss(k, ...)`` after ``k`` updates), and
after the last update the exact loss on the whole training split (every window of ``context``
characters, ``record.loss(steps, ...)``): a batch's loss varies by about 7% with the text it holds, so
the end of a run is measured once on all of it. Metric: validation loss (nats per character) on 256
fixed windows of the validation text, evaluated ``evals`` times in the run and after the last update
(lower is better).
"""
import functools
import hashlib
import math
import os
import sysconfig
import warnings

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .. import _checks as check
from .._errors import LrkitValueError
from .._shootout import shootout
from ._schedule_lr import ScheduleLR
from ._shootout_task import seeded_run

#: Standard-library files of the corpus, relative to ``sysconfig.get_paths()["stdlib"]``, in order.
CORPUS_FILES = (
    "email/mime/__init__.py", "pydoc_data/__init__.py", "urllib/__init__.py", "concurrent/__init__.py",
    "xmlrpc/__init__.py", "xml/etree/cElementTree.py", "curses/panel.py", "ensurepip/__main__.py",
    "asyncio/log.py", "contextvars.py", "xml/parsers/__init__.py", "xml/parsers/expat.py", "struct.py",
    "unittest/__main__.py", "antigravity.py", "xml/__init__.py", "zoneinfo/__init__.py",
    "importlib/metadata/_collections.py", "asyncio/threads.py", "ensurepip/_uninstall.py",
    "multiprocessing/__init__.py", "xml/dom/NodeFilter.py", "email/mime/application.py",
    "multiprocessing/dummy/connection.py", "xml/etree/__init__.py", "multiprocessing/popen_spawn_posix.py",
    "multiprocessing/popen_forkserver.py", "urllib/response.py", "unittest/signals.py", "json/scanner.py",
    "unittest/_log.py", "nturl2path.py", "importlib/metadata/_functools.py", "multiprocessing/dummy/__init__.py",
    "_sitebuiltins.py", "xml/dom/minicompat.py", "curses/__init__.py", "xml/dom/domreg.py", "xml/dom/__init__.py",
    "asyncio/windows_utils.py", "unittest/util.py", "curses/has_key.py", "_compression.py", "_py_abc.py",
    "multiprocessing/sharedctypes.py", "wsgiref/headers.py", "asyncio/protocols.py", "_threading_local.py",
    "email/_encoded_words.py", "urllib/robotparser.py", "multiprocessing/reduction.py", "pyclbr.py",
    "multiprocessing/heap.py", "xml/sax/saxutils.py", "xml/dom/xmlbuilder.py", "unittest/suite.py",
    "json/__init__.py", "_markupbase.py", "xml/sax/handler.py", "tracemalloc.py", "optparse.py", "difflib.py",
)
#: SHA-256 of the assembled corpus (UTF-8) on CPython 3.10.13, 3.11.2, 3.11.7, 3.12.1 and 3.13.0.
CORPUS_SHA256 = "3ff106e960353bcd75fa551eee84c438f681680615106556573d427d7c574ed2"
#: The vocabulary: newline and printable ASCII; any other character maps to the last id.
VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))
VALIDATION_FRACTION = 0.1
#: The defaults of ``lrkit shootout --task lm``.
STEPS, SEEDS, PEAK = 1500, 3, 1e-2
BATCH_SIZE, CONTEXT, WIDTH, LAYERS, HEADS = 16, 64, 64, 2, 4
EVAL_WINDOWS = 256
METRIC = "validation loss (nats/char)"


def stdlib_dir():
    """Where this interpreter's standard library lives (``sysconfig.get_paths()["stdlib"]``)."""
    return sysconfig.get_paths()["stdlib"]


def corpus_text(root=None):
    """The corpus: each file of :data:`CORPUS_FILES` under ``root`` (default: :func:`stdlib_dir`),
    newlines normalised to ``\\n``, after a ``# file: PATH`` line."""
    root = stdlib_dir() if root is None else root
    parts = []
    for name in CORPUS_FILES:
        path = os.path.join(root, *name.split("/"))
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as error:
            raise LrkitValueError(f"the LM task's corpus needs the standard-library file {name!r}: "
                                  f"cannot read {path!r} ({error.strerror or error})") from None
        text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
        parts.append(f"# file: {name}\n{text}")
    return "".join(parts)


def encode(text):
    """Character ids (uint8): positions in :data:`VOCAB`, ``len(VOCAB)`` for any other character."""
    table = np.full(129, len(VOCAB), dtype=np.uint8)     # code points >= 128 share the last entry
    for i, ch in enumerate(VOCAB):
        table[ord(ch)] = i
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return table[np.minimum(codes, 128)]


@functools.lru_cache(maxsize=4)
def load_corpus(root=None):
    """``{"train": ids, "validation": ids, "sha256": ..., "chars": n, "reference": bool}``: the fixed
    split (first 90% of each file trains, the last 10% validates), as uint8 id arrays."""
    text = corpus_text(root)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    reference = digest == CORPUS_SHA256
    if not reference:
        warnings.warn(f"the LM task's corpus read from {root or stdlib_dir()!r} has SHA-256 {digest[:16]}..., "
                      f"not the reference {CORPUS_SHA256[:16]}...: this Python's files differ from CPython "
                      f"3.10-3.13's, so results are not comparable with lrkit's README", stacklevel=2)
    train, validation = [], []
    for part in text.split("# file: ")[1:]:
        ids = encode("# file: " + part)
        cut = len(ids) - int(round(VALIDATION_FRACTION * len(ids)))
        train.append(ids[:cut])
        validation.append(ids[cut:])
    return {"train": np.concatenate(train), "validation": np.concatenate(validation), "sha256": digest,
            "chars": len(text), "reference": reference}


class _Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp(self.norm2(x))


class CharTransformer(nn.Module):
    """The task's model: a pre-LayerNorm decoder-only transformer over characters."""

    def __init__(self, vocab=len(VOCAB) + 1, context=CONTEXT, width=WIDTH, layers=LAYERS, heads=HEADS):
        super().__init__()
        self.context = context
        self.embed, self.position = nn.Embedding(vocab, width), nn.Embedding(context, width)
        self.blocks = nn.ModuleList(_Block(width, heads) for _ in range(layers))
        self.norm, self.head = nn.LayerNorm(width), nn.Linear(width, vocab)

    def forward(self, ids):
        x = self.embed(ids) + self.position(torch.arange(ids.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


class LmTask:
    """``train(schedule, seed, steps, record)`` for :func:`lrkit._shootout.shootout`: the LM task.

    ``steps`` (from the shoot-out) may differ from ``self.steps``; the task evaluates every
    ``steps // evals`` updates and after the last one.
    """

    def __init__(self, steps=STEPS, batch_size=BATCH_SIZE, context=CONTEXT, width=WIDTH, layers=LAYERS,
                 heads=HEADS, weight_decay=0.1, clip=1.0, threads=1, evals=10, eval_windows=EVAL_WINDOWS,
                 root=None):
        self.default_steps = check.count("steps", steps)
        if self.default_steps < 1:
            raise LrkitValueError(f"steps must be >= 1, got {steps!r}")
        self.batch_size = check.count("batch_size", batch_size)
        self.context = check.count("context", context)
        self.width, self.layers, self.heads = check.count("width", width), check.count("layers", layers), check.count("heads", heads)
        if min(self.batch_size, self.context, self.width, self.layers, self.heads) < 1 or self.width % self.heads:
            raise LrkitValueError(f"batch_size, context, width, layers and heads must be >= 1, width a multiple of "
                                  f"heads; got {batch_size}, {context}, {width}, {layers}, {heads}")
        self.weight_decay = check.non_negative("weight_decay", weight_decay)
        self.clip = None if clip is None else check.positive("clip", clip)
        self.threads = None if threads is None else check.positive("threads", threads)
        self.evals = check.count("evals", evals)
        self.eval_windows = check.count("eval_windows", eval_windows)
        corpus = load_corpus(root)
        self.sha256, self.reference = corpus["sha256"], corpus["reference"]
        self.train_ids = torch.from_numpy(corpus["train"].astype(np.int64))
        self.validation_ids = torch.from_numpy(corpus["validation"].astype(np.int64))
        if len(self.validation_ids) <= self.context + 1 or len(self.train_ids) <= self.context + 1:
            raise LrkitValueError(f"context must be shorter than the corpus split, got {context}")
        # fixed validation windows: evenly spaced starts over the validation text
        starts = np.linspace(0, len(self.validation_ids) - self.context - 1, max(1, self.eval_windows)).round().astype(np.int64)
        self._eval_starts = torch.from_numpy(starts)

    @property
    def steps(self):
        return self.default_steps

    def model(self):
        return CharTransformer(len(VOCAB) + 1, self.context, self.width, self.layers, self.heads)

    def describe(self):
        params = sum(p.numel() for p in self.model().parameters())
        return {
            "title": (f"char-level transformer LM on {len(CORPUS_FILES)} stdlib files: {self.layers}x{self.width}, "
                      f"context {self.context}, batch {self.batch_size}, AdamW, {self.steps:,} updates"),
            "data": f"CPython standard-library source, {len(CORPUS_FILES)} fixed files, sha256 {self.sha256}",
            "reference_corpus": self.reference, "train_chars": len(self.train_ids),
            "validation_chars": len(self.validation_ids), "batch_size": self.batch_size, "context": self.context,
            "model": f"decoder-only transformer, {self.layers} layers, {self.heads} heads, width {self.width}, "
                     f"{params:,} parameters",
            "optimizer": f"AdamW(betas=(0.9, 0.95), weight_decay={self.weight_decay:g} on matrices)"
                         + (f", grad norm clip {self.clip:g}" if self.clip else ""),
            "threads": self.threads if self.threads is not None else torch.get_num_threads(),
            "torch": torch.__version__,
        }

    def batch(self, generator):
        starts = torch.randint(0, len(self.train_ids) - self.context - 1, (self.batch_size,), generator=generator)
        index = starts[:, None] + torch.arange(self.context + 1)[None]
        chunk = self.train_ids[index]
        return chunk[:, :-1], chunk[:, 1:]

    def validation_loss(self, model):
        index = self._eval_starts[:, None] + torch.arange(self.context + 1)[None]
        return self._loss(model, self.validation_ids[index])

    def train_loss(self, model):
        """The loss on the whole training split: every window of ``context`` characters (stride ``context``)."""
        starts = torch.arange(0, len(self.train_ids) - self.context - 1, self.context)
        return self._loss(model, self.train_ids[starts[:, None] + torch.arange(self.context + 1)[None]])

    def _loss(self, model, chunk):
        model.eval()
        total = 0.0
        with torch.no_grad():
            for part in chunk.split(256):
                logits = model(part[:, :-1])
                total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), part[:, 1:].reshape(-1),
                                               reduction="sum"))
        model.train()
        return total / chunk[:, 1:].numel()

    def __call__(self, schedule, seed, steps, record):
        return seeded_run(self, self.model, schedule, seed, steps, record)

    def _train(self, model, schedule, seed, steps, record):
        decay = [p for p in model.parameters() if p.dim() >= 2]
        rest = [p for p in model.parameters() if p.dim() < 2]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                       {"params": rest, "weight_decay": 0.0}], lr=0.0, betas=(0.9, 0.95))
        scheduler = ScheduleLR(optimizer, schedule)
        generator = torch.Generator().manual_seed(seed)
        every = max(1, steps // self.evals) if self.evals else steps
        metric = None
        model.train()
        for k in range(steps):
            x, y = self.batch(generator)
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.clip:
                nn.utils.clip_grad_norm_(model.parameters(), self.clip)
            optimizer.step()
            scheduler.step()
            value = loss.item()
            record.loss(k, round(value, 5))
            if not math.isfinite(value):
                metric = math.nan
                record.eval(k + 1, metric)
                break
            if (k + 1) % every == 0 or k + 1 == steps:
                metric = self.validation_loss(model)
                record.eval(k + 1, metric)
        else:
            record.loss(steps, round(self.train_loss(model), 5))
        return metric


def lm_shootout(steps=STEPS, seeds=SEEDS, peak=PEAK, schedules=None, add=None, threads=1, progress=None, **task):
    """The LM shoot-out: every standard schedule (or ``schedules``, plus ``add``) on :class:`LmTask`,
    ``seeds`` seeds, the same ``peak`` and budget; a ShootoutResult (metric: validation loss, lower is better)."""
    lm = LmTask(steps=steps, threads=threads, **task)
    return shootout(lm, steps=lm.steps, peak=peak, seeds=seeds, schedules=schedules, add=add, metric=METRIC,
                    mode="min", progress=progress, task=lm.describe())
