"""The seed tutorial's examples, run on lrkit: each function returns the lines the tutorial prints.

The TensorFlow part needs no TensorFlow (``lrkit.tf`` replays TF1's float32 arithmetic). The
PyTorch parts drive a real torch optimizer through lrkit's drop-ins (``from lrkit.torch import
StepLR, ...``); where torch (or a drop-in) is missing, the same table is computed from the lrkit
core schedule of the same curve, and the output says so.
"""
import dataclasses
import importlib
import typing

import numpy as np

from . import tf
from ._combinators import repeat, sequence
from ._functions import factor_095 as _factor_095, inverse_epoch as _inverse_epoch  # noqa: F401 (allowed by name)
from ._plateau import plateau
from ._recipes import multistep, one_cycle, step_decay
from ._shapes import cosine, cosine_restarts, cyclic, exponential, function

#: The seed's initial learning rate (``initial_lr = 0.1``, Adam) in every PyTorch example.
INITIAL_LR = 0.1


def tf_square_run(steps=100, every=10):
    """TF1 gradient descent on y = x^2 from x = 5 (float32, as TF) under
    ``exponential_decay(0.1, global_step, 1, 0.96, staircase=True)``: update i uses lr(i), and the
    LR printed after it is lr(i + 1), since TF increments global_step after applying."""
    x = np.float32(5.0)
    lines = []
    for i in range(steps):
        lr = tf.exponential_decay(0.1, i, 1, 0.96, staircase=True, dtype="float32")
        x = x - (np.float32(2.0) * x) * lr  # tf.square's gradient, then ApplyGradientDescent
        if i % every == 0:
            printed = tf.exponential_decay(0.1, i + 1, 1, 0.96, staircase=True, dtype="float32")
            lines.append("After %s iteration(s): x%s is %f, learning rate is %f." % (i + 1, i + 1, x, printed))
    return lines


@dataclasses.dataclass(frozen=True)
class TorchExample:
    """One of the seed's ``torch.optim.lr_scheduler`` examples: Adam(lr=0.1), ``epochs`` epochs of
    ``optimizer.step()``, print the LR, ``scheduler.step()`` (``scheduler.step(metric)`` for
    ReduceLROnPlateau)."""
    name: str                     # torch's class name (and lrkit.torch's drop-in)
    kwargs: dict                  # the constructor's keyword arguments besides the optimizer
    text: str                     # the arguments as the demo prints them
    core: typing.Any              # the lrkit core schedule of the same curve (a plateau controller
                                  # for the metric-driven ReduceLROnPlateau)
    epochs: int = 10
    metric: typing.Optional[float] = None
    in_seed: bool = True          # the seed prints this table (the others are listed without code)

    @property
    def title(self):
        return f"{self.name}({self.text})"


#: The seed's schedulers in its order. CyclicLR, OneCycleLR and CosineAnnealingWarmRestarts are only
#: named by the seed; their arguments here are small ones that show a whole cycle in 10 epochs.
EXAMPLES = (
    TorchExample("LambdaLR", {"lr_lambda": _inverse_epoch}, "lr_lambda=lambda epoch: 1/(epoch+1)",
                 function(_inverse_epoch) * INITIAL_LR),
    TorchExample("StepLR", {"step_size": 3, "gamma": 0.1}, "step_size=3, gamma=0.1",
                 step_decay(INITIAL_LR, period=3, gamma=0.1)),
    TorchExample("MultiStepLR", {"milestones": [3, 7], "gamma": 0.1}, "milestones=[3, 7], gamma=0.1",
                 multistep(INITIAL_LR, milestones=[3, 7], gamma=0.1)),
    TorchExample("ExponentialLR", {"gamma": 0.1}, "gamma=0.1", exponential(INITIAL_LR, 0.1)),
    # torch's CosineAnnealingLR does not stop at T_max: it follows the cosine back up (period 2*T_max)
    TorchExample("CosineAnnealingLR", {"T_max": 20}, "T_max=20",
                 repeat(sequence([cosine(INITIAL_LR, 0.0, steps=20), cosine(0.0, INITIAL_LR, steps=20)],
                                 boundaries=[20]), period=40), epochs=100),
    TorchExample("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3, "cycle_momentum": False},
                 "base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False",
                 cyclic(0.01, 0.1, steps_up=3), in_seed=False),
    TorchExample("OneCycleLR", {"max_lr": 0.1, "total_steps": 10}, "max_lr=0.1, total_steps=10",
                 one_cycle(0.1, steps=10), in_seed=False),
    TorchExample("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.001},
                 "T_0=3, T_mult=2, eta_min=0.001",
                 cosine_restarts(INITIAL_LR, 0.001, period=3, period_mult=2), in_seed=False),
    TorchExample("ReduceLROnPlateau", {"mode": "min", "factor": 0.1, "patience": 2},
                 "mode='min', factor=0.1, patience=2", plateau(mode="min", factor=0.1, patience=2),
                 epochs=14, metric=2.0),
)

def seed_lines(initial, lrs):
    """``print("初始化的学习率:", initial)`` then ``"第%d个epoch的学习率:%f" % (epoch, lr)`` per epoch."""
    lines = ["初始化的学习率: %s" % initial]
    lines += ["第%d个epoch的学习率:%f" % (epoch, lr) for epoch, lr in enumerate(lrs, start=1)]
    return lines


# ---------------------------------------------------------------------------------------------
# torch and lrkit.torch, imported only when a torch example runs
# ---------------------------------------------------------------------------------------------
def torch_or_none():
    """The torch module, or None when it is not installed."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def drop_in(name):
    """``lrkit.torch.<name>``, or a string saying why it cannot be used."""
    try:
        module = importlib.import_module("lrkit.torch")
    except ImportError as error:
        return f"lrkit.torch cannot be imported ({error})"
    cls = getattr(module, name, None)
    return cls if cls is not None else f"lrkit.torch has no {name}"


def _model(torch):
    """The seed's ``model``: one 3x3 conv layer, only there to give the optimizer parameters."""
    return torch.nn.Conv2d(in_channels=3, out_channels=3, kernel_size=3)


@dataclasses.dataclass
class Table:
    """A printed table: ``lines``, the LRs of epochs 1.., and ``how`` they were computed."""
    lines: list
    lrs: list
    how: str
    note: str = ""


def run_example(example, torch="auto"):
    """Run ``example`` the seed's way. With torch and the lrkit.torch drop-in: a real Adam optimizer
    stepped by the drop-in. Otherwise: the lrkit core schedule of the same curve (``how`` says
    which), or no table for ReduceLROnPlateau without torch."""
    torch = torch_or_none() if torch == "auto" else torch
    reason = "torch is not installed"
    if torch is not None:
        cls = drop_in(example.name)
        if not isinstance(cls, str):
            return _run_torch(example, torch, cls)
        reason = cls
    if isinstance(example.core, plateau):
        return _run_plateau(example, reason)
    lrs = [float(example.core(epoch - 1)) for epoch in range(1, example.epochs + 1)]
    return Table(seed_lines(INITIAL_LR, lrs), lrs, f"lrkit core: {example.core!r}",
                 note=f"{reason}: table computed from the lrkit core schedule")


def _run_plateau(example, reason):
    """The seed's ReduceLROnPlateau loop on lrkit's plateau controller: each epoch trains with
    ``lr``, then the metric updates the state, and a new reduction applies torch's rule to ``lr``."""
    controller = example.core
    state = controller.init()
    lr, lrs = INITIAL_LR, []
    for _epoch in range(1, example.epochs + 1):
        lrs.append(lr)
        new = controller.update(state, example.metric)
        if new.reductions > state.reductions:
            lr = controller.reduce(lr)
        state = new
    return Table(seed_lines(INITIAL_LR, lrs), lrs, f"lrkit core: {controller!r}, metric {example.metric}",
                 note=f"{reason}: table computed from the lrkit core schedule")


def _run_torch(example, torch, cls):
    torch.manual_seed(0)
    net_1 = _model(torch)
    optimizer_1 = torch.optim.Adam(net_1.parameters(), lr=INITIAL_LR)
    scheduler_1 = cls(optimizer_1, **example.kwargs)
    lines = ["初始化的学习率: %s" % optimizer_1.defaults["lr"]]
    lrs = []
    for epoch in range(1, example.epochs + 1):
        optimizer_1.zero_grad()
        optimizer_1.step()
        lr = optimizer_1.param_groups[0]["lr"]
        lines.append("第%d个epoch的学习率:%f" % (epoch, lr))
        lrs.append(float(lr))
        if example.metric is None:
            scheduler_1.step()
        else:
            scheduler_1.step(example.metric)
    return Table(lines, lrs, f"torch.optim.Adam + lrkit.torch.{example.name}")


def optimizer_lines(torch):
    """The seed's section 2.1: three Adam optimizers over one or two nets, and what they hold."""
    torch.manual_seed(0)

    class model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(in_channels=3, out_channels=3, kernel_size=3)
            self.conv2 = torch.nn.Conv2d(in_channels=3, out_channels=3, kernel_size=3)

    net_1, net_2 = model(), model()
    optimizers = {
        "optimizer_1": torch.optim.Adam(net_1.parameters(), lr=INITIAL_LR),
        "optimizer_2": torch.optim.Adam([*net_1.parameters(), *net_2.parameters()], lr=INITIAL_LR),
        "optimizer_3": torch.optim.Adam([{"params": net_1.parameters()}, {"params": net_2.parameters()}],
                                        lr=INITIAL_LR),
    }
    lines = []
    for name, optimizer in optimizers.items():
        lines.append("******************%s*********************" % name)
        lines.append("%s.defaults: %s" % (name, optimizer.defaults))
        lines.append("%s.param_groups长度: %s" % (name, len(optimizer.param_groups)))
        lines.append("%s.param_groups一个元素包含的键: %s" % (name, optimizer.param_groups[0].keys()))
        lines.append("")
    return lines, net_1, net_2


def param_groups_lines(torch, net_1, net_2, epochs=4):
    """One lrkit.torch scheduler driving two param groups with different LRs (0.1 and 0.01): each
    group keeps its ratio, and the scheduler records each group's ``initial_lr``."""
    cls = drop_in("StepLR")
    if isinstance(cls, str):
        return [f"({cls}: the param-group example with an lrkit scheduler is skipped)"]
    optimizer = torch.optim.Adam([{"params": net_1.parameters(), "lr": 0.1},
                                  {"params": net_2.parameters(), "lr": 0.01}])
    scheduler = cls(optimizer, step_size=2, gamma=0.1)
    lines = ["optimizer = Adam([{'params': net_1..., 'lr': 0.1}, {'params': net_2..., 'lr': 0.01}])",
             "scheduler = lrkit.torch.StepLR(optimizer, step_size=2, gamma=0.1)",
             "param_groups[0]的键: %s" % optimizer.param_groups[0].keys(),
             "initial_lr: %s" % [g.get("initial_lr") for g in optimizer.param_groups]]
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad()
        optimizer.step()
        lines.append("第%d个epoch的学习率: group 0 %f, group 1 %f"
                     % (epoch, optimizer.param_groups[0]["lr"], optimizer.param_groups[1]["lr"]))
        scheduler.step()
    return lines


#: The seed's hand edit, ``p['lr'] *= 0.9`` at every epoch divisible by 5 (epoch 0 included), as
#: an lrkit schedule of the epoch.
MANUAL_SCHEDULE = step_decay(0.09, period=5, gamma=0.9)


def manual_edit(torch, epochs=100):
    """The seed's section 2.2.0 on a real optimizer: the LR of each epoch after editing
    ``param_group['lr']`` by hand (SGD, LR = 0.1, times 0.9 every 5 epochs)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 3, kernel_size=3), torch.nn.Linear(3, 2))
    optimizer = torch.optim.SGD(params=model.parameters(), lr=INITIAL_LR)
    y = []
    for epoch in range(epochs):
        if epoch % 5 == 0:
            for p in optimizer.param_groups:
                p["lr"] *= 0.9
        y.append(optimizer.state_dict()["param_groups"][0]["lr"])
    return y


# ---------------------------------------------------------------------------------------------
# lrkit demo
# ---------------------------------------------------------------------------------------------
#: CosineAnnealingLR's 100-epoch table is long (the seed does not print it either): these epochs
#: are printed, the whole curve is in the picture.
COSINE_PRINTED = tuple(range(1, 23)) + (100,)


def _heading(text):
    return f"\n== {text}"


#: The seed's Chinese labels and their English, for the note in ``lrkit demo`` and for terminals
#: that cannot show them.
LABELS = ((r"第(\d+)个epoch的学习率", r"epoch \1 learning rate"), ("初始化的学习率", "initial learning rate"),
          ("param_groups长度", "param_groups length"), ("param_groups一个元素包含的键", "param_groups element keys"),
          (r"param_groups\[0\]的键", "param_groups[0] keys"))


def in_english(line):
    """``line`` with the seed's Chinese labels in English (and any other non-ASCII character escaped).

    >>> in_english("第3个epoch的学习率:0.100000")
    'epoch 3 learning rate:0.100000'
    """
    import re
    for chinese, english in LABELS:
        line = re.sub(chinese, english, line)
    return line.encode("ascii", "backslashreplace").decode("ascii")


def demo(out="lrkit-demo", pictures=True, write=print, english=False):
    """``lrkit demo``: the seed tutorial end to end; pictures go to the folder ``out``. The tables
    keep the seed's Chinese labels (the demo says so and translates them), or with ``english=True``
    (a terminal that cannot show them) print them in English."""
    import os
    from . import _plot

    if english:
        write = (lambda print_line: lambda line="": print_line(in_english(line)))(write)

    if pictures:
        try:
            _plot._matplotlib()
        except _plot.NoMatplotlib:
            write(f"pictures: skipped, matplotlib is not installed ({_plot.INSTALL})")
            pictures = False
    if pictures:
        os.makedirs(out, exist_ok=True)
        write(f"lrkit demo: the seed tutorial on lrkit; pictures go to {os.path.join(out, '')}")
    else:
        write("lrkit demo: the seed tutorial on lrkit")
    if english:
        write("The seed's tables label their lines in Chinese; this terminal cannot show them: English here.")
    else:
        write("The tables keep the seed's Chinese labels, character for character: 初始化的学习率 = initial "
              "learning rate, 第N个epoch的学习率 = learning rate of epoch N, 长度 = length, 键 = keys.")
    saved = []

    def picture(name, draw, *a, **k):
        if pictures:
            path = os.path.join(out, name)
            draw(path, *a, **k)
            saved.append(path)

    # 1. TensorFlow --------------------------------------------------------------------------
    write(_heading("TensorFlow: gradient descent on y = x^2 from x = 5, learning rate"))
    write("   tf.train.exponential_decay(0.1, global_step, 1, 0.96, staircase=True)")
    write("   [lrkit.tf.exponential_decay in float32 like TF1; TensorFlow itself is not needed]")
    for line in tf_square_run():
        write(line)
    steps = list(range(100))
    picture("tf_exponential_decay.png", _plot.line_figure, [
        ("staircase=False", steps, tf.exponential_decay(0.1, steps, 10, 0.96).tolist(), {}),
        ("staircase=True", steps, tf.exponential_decay(0.1, steps, 10, 0.96, staircase=True).tolist(),
         {"drawstyle": "steps-post"}),
    ], "tf.train.exponential_decay(0.1, global_step, decay_steps=10, decay_rate=0.96)",
        "global_step", "learning rate")

    torch = torch_or_none()
    # 2. optimizers and param_groups ---------------------------------------------------------
    write(_heading("PyTorch: optimizer.defaults and optimizer.param_groups"))
    if torch is None:
        write("torch is not installed: skipped (pip install 'lrkit[torch]')")
    else:
        lines, net_1, net_2 = optimizer_lines(torch)
        for line in lines:
            write(line)
        for line in param_groups_lines(torch, net_1, net_2):
            write(line)

    # 3. the hand edit of param_group['lr'] ---------------------------------------------------
    write(_heading("PyTorch: by hand, p['lr'] *= 0.9 for p in optimizer.param_groups every 5 epochs"))
    lrkit_y = [MANUAL_SCHEDULE(epoch) for epoch in range(100)]
    if torch is None:
        write("torch is not installed: the LR below is lrkit's " + repr(MANUAL_SCHEDULE))
        y = lrkit_y
    else:
        y = manual_edit(torch)
        worst = max(abs(a - b) for a, b in zip(y, lrkit_y))
        write(f"   [torch.optim.SGD; lrkit's {MANUAL_SCHEDULE!r} gives the same 100 values,")
        write(f"   largest difference {worst:.1g}]")
    write("   epoch: lr, at the epochs the edit happens (y[epoch] as the seed collects it)")
    for first in range(0, 100, 25):
        write("  ".join("%2d: %f" % (e, y[e]) for e in range(first, first + 25, 5)))
    picture("manual_lr.png", _plot.line_figure, [("", list(range(100)), y, {"color": "r"})],
            "param_group['lr'] *= 0.9 every 5 epochs", "epoch", "lr")

    # 4. the schedulers ------------------------------------------------------------------------
    panels = []
    said = None
    for example in EXAMPLES:
        table = run_example(example, torch=torch)
        write(_heading(example.title))
        write(f"   [{table.how}]")
        if table.note and table.note != said:
            write(f"   ({table.note})")
            said = table.note
        if example.name == "CosineAnnealingLR" and table.lines:
            shown = [table.lines[0]] + [table.lines[e] for e in COSINE_PRINTED[:-1]]
            shown.append(f"... (epochs {COSINE_PRINTED[-2] + 1} to {example.epochs - 1}: "
                         f"see CosineAnnealingLR.png)")
            shown.append(table.lines[example.epochs])
            write("\n".join(shown))
            write("(torch's CosineAnnealingLR climbs back up after T_max=20; lrkit's own "
                  "cosine(0.1, 0.0, steps=20) holds 0 after step 20)")
            epochs = list(range(1, example.epochs + 1))
            picture("CosineAnnealingLR.png", _plot.line_figure, [("", epochs, table.lrs, {})],
                    "learning rate's curve changes as epoch goes on!", "epoch", "lr")
        else:
            write("\n".join(table.lines))
        if table.lrs:
            panels.append((example.name, list(range(1, len(table.lrs) + 1)), table.lrs))
    picture("schedulers.png", _plot.grid_figure, panels,
            "the seed's schedulers, Adam(lr=0.1): the LR each epoch trains with")

    write("")
    if saved:
        write(f"pictures written to {os.path.join(out, '')}: " + ", ".join(os.path.basename(p) for p in saved))
    return 0
