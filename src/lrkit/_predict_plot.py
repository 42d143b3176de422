"""Pictures of a fitted law's predictions (matplotlib, imported inside the functions only)."""
import warnings

import numpy as np

from . import _plot
from ._errors import ExtrapolationWarning


def plot_predictions(law, schedules, steps=None, path=None, dots=(), title=None, extrapolate=False):
    """LR curves (left) and predicted training loss with the fit's error band (right) of ``schedules``
    (a dict label -> schedule, or a list); ``dots``: (steps, losses) pairs drawn as points, e.g. the
    fitted runs' windowed means. Writes ``path`` if given; returns the Figure."""
    _plot._matplotlib("lrkit.predict plots")
    items = list(schedules.items()) if isinstance(schedules, dict) else [(None, s) for s in schedules]
    fig = _plot._figure((11.0, 4.4))
    lr_ax, loss_ax = fig.subplots(1, 2)
    for i, (label, schedule) in enumerate(items):
        color = f"C{i % 10}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore" if extrapolate else "default", ExtrapolationWarning)
            p = law.predict(schedule, steps, label=label, extrapolate=extrapolate)
        text, lrs = law.lrs(schedule, steps)
        name = p.label if len(p.label) <= 60 else p.label[:57] + "..."
        lr_ax.plot(np.arange(len(lrs) + 1), np.append(lrs, lrs[-1]), color=color, drawstyle="steps-post", label=name)
        loss_ax.plot(p.steps, p.loss, color=color, linewidth=1.6, label=f"{name}: {p.final:.4g}")
        loss_ax.fill_between(p.steps, p.low, p.high, color=color, alpha=0.15, linewidth=0)
    for q, y in dots:
        loss_ax.plot(q, y, linestyle="none", marker="o", markersize=2.5, color="black", alpha=0.5)
    lr_ax.set_title("learning rate")
    lr_ax.set_xlabel("update")
    lr_ax.grid(True, alpha=0.3)
    lr_ax.legend(fontsize=7)
    loss_ax.set_title(f"predicted training loss ({law.kind.upper()}, band: fit error ±{100 * law.error['rms']:.2g}%)"
                      + ("; dots: fitted runs" if dots else ""), fontsize=9)
    loss_ax.set_xlabel("update")
    loss_ax.set_ylabel("loss")
    loss_ax.grid(True, alpha=0.3)
    loss_ax.legend(fontsize=7, title="final", title_fontsize=7)
    if title:
        fig.suptitle(title)
    if path is not None:
        _plot._save(fig, path)
    return fig
