"""Every use of matplotlib in lrkit. matplotlib is imported inside the functions only, so that
``import lrkit`` never imports it; without it they raise :class:`NoMatplotlib`, whose message says
how to install the ``plot`` extra. The pictures of a schedule, ``Schedule.plot`` and the notebook
view ``Schedule._repr_png_``, are attached to the class here (``import lrkit`` imports this module).

Figures for files are built with ``matplotlib.figure.Figure`` (no pyplot, no GUI backend), so
``lrkit plot`` works on a headless machine and never opens a window.
"""
import io
import math

from ._base import Schedule
from ._describe import default_steps, marks

#: How to get matplotlib.
INSTALL = "pip install 'lrkit[plot]'"
#: Points per curve at most; marks and the steps just before them are always added.
MAX_POINTS = 4000
#: No markers when a curve has more phase boundaries than this (a staircase of 1000 steps).
MAX_MARKERS = 40


class NoMatplotlib(ImportError):
    """matplotlib is not installed."""


def _matplotlib(what="this"):
    try:
        import matplotlib
    except ImportError:
        raise NoMatplotlib(f"{what} needs matplotlib, which is not installed: {INSTALL}") from None
    return matplotlib


def _figure(size=(8.0, 4.5)):
    _matplotlib()
    from matplotlib.figure import Figure
    return Figure(figsize=size, layout="constrained")


def sample_steps(steps, boundaries=()):
    """Integer steps to draw a run of ``steps`` updates: all of them up to MAX_POINTS, else an
    even grid; plus every boundary and the step before it, so that drops stay sharp."""
    import numpy as np
    if steps <= MAX_POINTS:
        grid = np.arange(steps, dtype=np.float64)
    else:
        grid = np.unique(np.linspace(0, steps - 1, MAX_POINTS).round())
    extra = []
    for b in boundaries:
        first = math.ceil(b)
        extra += [s for s in (first - 1, first) if 0 <= s < steps]
    return np.unique(np.concatenate([grid, np.asarray(extra, dtype=np.float64)]))


def plot_on(ax, schedule, steps, label=None, log=False, steps_per_epoch=None, markers=True, **line):
    """Draw ``schedule`` over updates 0..steps-1 on the matplotlib Axes ``ax``; returns the Line2D."""
    import numpy as np
    boundaries = marks(schedule, steps)
    x = sample_steps(steps, boundaries)
    y = schedule(x)
    scale = 1.0 / steps_per_epoch if steps_per_epoch else 1.0
    if log:
        y = np.where(y > 0, y, np.nan)  # a log axis cannot show 0
    line.setdefault("drawstyle", "steps-post")  # update k uses lr(k) until update k + 1
    x = np.append(x, float(steps))  # the last update's LR lasts until step `steps`
    y = np.append(y, y[-1])
    (curve,) = ax.plot(x * scale, y, label=label, **line)
    inside = sorted({math.ceil(b) for b in boundaries if math.ceil(b) < steps})
    if markers and 0 < len(inside) <= MAX_MARKERS:
        at = np.asarray(inside, dtype=np.float64)
        ax.plot(at * scale, schedule(at), linestyle="none", marker="o", markersize=4.5, color=curve.get_color(),
                markerfacecolor="white", markeredgecolor=curve.get_color(), markeredgewidth=1.3,
                zorder=curve.get_zorder() + 1)
    if log:
        ax.set_yscale("log")
    return curve


def _style(ax, steps, xlabel, ylabel, steps_per_epoch, legend):
    ax.set_xlabel(xlabel or ("epoch" if steps_per_epoch else "step"))
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.set_xlim(0, steps / (steps_per_epoch or 1))
    if ax.get_yscale() != "log":
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useMathText=True)
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.9)


def _wrap(text, width):
    import textwrap
    return "\n".join(textwrap.wrap(text, width=width, break_on_hyphens=False)) or text


def save_figure(entries, steps, path, log=False, title=None, xlabel=None, ylabel="learning rate",
                steps_per_epoch=None, markers=True):
    """``lrkit plot``: the ``(label, schedule)`` pairs overlaid on one figure, written to ``path``
    (format from its extension: .png, .svg or .pdf)."""
    _matplotlib("lrkit plot")
    fig = _figure()
    ax = fig.add_subplot()
    for label, schedule in entries:
        plot_on(ax, schedule, steps, label=_wrap(label, 60), log=log, steps_per_epoch=steps_per_epoch,
                markers=markers, linewidth=1.8)
    unit = f"{steps:,} updates" + (f" ({steps / steps_per_epoch:g} epochs)" if steps_per_epoch else "")
    ax.set_title(title if title is not None else f"learning rate over {unit}")
    _style(ax, steps, xlabel, ylabel, steps_per_epoch, legend=True)
    _clock_axis(ax, [schedule for _, schedule in entries], steps, steps_per_epoch)
    _save(fig, path)


def _clock_axis(ax, schedules, steps, steps_per_epoch=None):
    """A schedule written in tokens or samples (``lrkit.clocked``): its own axis on top, mapped through
    the clock (the batch ramp makes it non-linear)."""
    import numpy as np
    clocks = [s for s in schedules if getattr(s, "unit", None) in ("tokens", "samples") and hasattr(s, "time")]
    if not clocks:
        return
    scale = steps_per_epoch or 1.0
    grid = np.linspace(0.0, float(steps), 513)
    times = clocks[0].time(grid)
    top = ax.secondary_xaxis("top", functions=(lambda x: np.interp(np.asarray(x) * scale, grid, times),
                                               lambda y: np.interp(y, times, grid) / scale))
    top.set_xlabel(clocks[0].unit)


def _save(fig, path):
    kwargs = {}
    if str(path).lower().endswith(".png"):
        kwargs = {"dpi": 120, "metadata": {"Software": None}}
    elif str(path).lower().endswith(".svg"):
        kwargs = {"metadata": {"Date": None}}
    elif str(path).lower().endswith(".pdf"):
        kwargs = {"metadata": {"CreationDate": None}}
    fig.savefig(path, **kwargs)


def schedule_plot(schedule, steps=None, ax=None, label=None, log=False, steps_per_epoch=None, markers=True,
                  **line):
    """``Schedule.plot``: draw on ``ax`` (default: pyplot's current Axes); returns the Axes."""
    _matplotlib("Schedule.plot")
    steps = default_steps(schedule) if steps is None else int(steps)
    if ax is None:
        import matplotlib.pyplot as plt
        ax = plt.gca()
    plot_on(ax, schedule, steps, label=label if label is not None else repr(schedule), log=log,
            steps_per_epoch=steps_per_epoch, markers=markers, **line)
    _style(ax, steps, None, "learning rate", steps_per_epoch, legend=label is not None)
    return ax


def png_bytes(schedule, steps=None, size=(6.0, 3.0), dpi=100):
    """A small PNG of ``schedule`` (the notebook view); None without matplotlib."""
    try:
        _matplotlib()
    except NoMatplotlib:
        return None
    steps = default_steps(schedule) if steps is None else int(steps)
    fig = _figure(size)
    ax = fig.add_subplot()
    plot_on(ax, schedule, steps, linewidth=1.6)
    ax.set_title(_wrap(repr(schedule), 80), fontsize="small")
    _style(ax, steps, None, "learning rate", None, legend=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _plot_method(self, steps=None, ax=None, *, label=None, log=False, steps_per_epoch=None, markers=True, **line):
    """Draw the curve over updates ``0 .. steps - 1`` (default: up to where it ends) on ``ax``
    (default: pyplot's current Axes), markers at phase boundaries; returns the Axes.
    ``line`` goes to ``Axes.plot`` (color, linewidth, ...). Needs matplotlib (``lrkit[plot]``)."""
    return schedule_plot(self, steps=steps, ax=ax, label=label, log=log, steps_per_epoch=steps_per_epoch,
                         markers=markers, **line)


def _repr_png_method(self):
    """The curve inline in Jupyter (None without matplotlib: the text repr is shown instead)."""
    return png_bytes(self)


_plot_method.__name__, _plot_method.__qualname__ = "plot", "Schedule.plot"
_repr_png_method.__name__, _repr_png_method.__qualname__ = "_repr_png_", "Schedule._repr_png_"
Schedule.plot = _plot_method
Schedule._repr_png_ = _repr_png_method


# ---------------------------------------------------------------------------------------------
# the demo's pictures (the seed plots with pyplot; these are the same plots, headless)
# ---------------------------------------------------------------------------------------------
def line_figure(path, series, title, xlabel, ylabel, log=False, markers=None):
    """One Axes with ``series`` ``[(label, x, y, style), ...]`` (style: dict of Line2D keywords)."""
    _matplotlib("the demo's pictures")
    fig = _figure()
    ax = fig.add_subplot()
    for label, x, y, style in series:
        ax.plot(x, y, label=label, **style)
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if any(label for label, *_ in series):
        ax.legend(fontsize="small")
    _save(fig, path)


def grid_figure(path, panels, title, columns=3):
    """Small multiples: ``panels`` ``[(title, epochs, lrs), ...]``, one Axes each."""
    _matplotlib("the demo's pictures")
    rows = int(math.ceil(len(panels) / columns))
    fig = _figure((4.0 * columns, 2.6 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (name, x, y) in zip(axes.flat, panels):
        ax.plot(x, y, marker="o", markersize=3, linewidth=1.4, drawstyle="steps-post")
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel("epoch", fontsize="small")
        ax.set_ylabel("lr", fontsize="small")
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize="small")
    fig.suptitle(title)
    _save(fig, path)
