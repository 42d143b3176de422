"""Pictures: ``lrkit plot`` writes real images, ``Schedule.plot`` draws the exact curve on a user's
Axes, notebooks get a PNG, the gallery command covers every schedule family, and ``import lrkit``
never imports matplotlib.
"""
import importlib.util
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import lrkit
from lrkit import _base, _describe, cli

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP_COSINE = "warmup(cosine(0.1, 0.0, steps=900), steps=100)"
STEPS = "multistep(0.1, milestones=[300, 700])"


def pixels(path):
    """RGB floats in [0, 1], shape (height, width, 3)."""
    return matplotlib.image.imread(str(path))[..., :3]


def not_blank(image):
    """Holds a drawing: dark pixels (axes, text) and coloured ones (curves), not just white."""
    dark = (image.max(axis=2) < 0.35).mean()
    colour = ((image.max(axis=2) - image.min(axis=2)) > 0.3).mean()
    return dark > 0.002 and colour > 0.002


def test_two_schedules_make_two_different_real_pngs(tmp_path, capsys):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert cli.main(["plot", WARMUP_COSINE, "--steps", "1000", "-o", str(a)]) == 0
    assert cli.main(["plot", STEPS, "--steps", "1000", "-o", str(b)]) == 0
    assert capsys.readouterr().out == f"wrote {a}\nwrote {b}\n"
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image_a, image_b = pixels(a), pixels(b)
    assert image_a.shape == image_b.shape and image_a.shape[0] >= 400 and image_a.shape[1] >= 800
    assert not_blank(image_a) and not_blank(image_b)
    differ = (np.abs(image_a - image_b).max(axis=2) > 0.1).mean()
    assert differ > 0.01, differ  # more than a legend's worth of pixels
    # the same command twice gives the same picture (the gallery does not churn)
    assert cli.main(["plot", WARMUP_COSINE, "--steps", "1000", "-o", str(tmp_path / "a2.png")]) == 0
    assert (tmp_path / "a2.png").read_bytes() == a.read_bytes()


def test_overlay_svg_and_pdf(tmp_path):
    svg, pdf = tmp_path / "lr.svg", tmp_path / "lr.pdf"
    argv = [WARMUP_COSINE, "one_cycle(0.1, steps=1000)", STEPS, "--log", "--steps-per-epoch", "100"]
    assert cli.main(["plot", *argv, "-o", str(svg), "--title", "three schedules"]) == 0
    assert cli.main(["plot", *argv, "-o", str(pdf)]) == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "three schedules" in text and "one_cycle(0.1, steps=1000)" in text  # title and legend from the spec
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_schedule_plot_draws_the_exact_curve_and_boundaries():
    s = lrkit.parse(WARMUP_COSINE)
    fig, ax = plt.subplots()
    try:
        assert s.plot(steps=1000, ax=ax, label="mine", color="k") is ax
        curve, markers = ax.lines
        assert curve.get_label() == "mine" and curve.get_drawstyle() == "steps-post"
        x, y = curve.get_xdata(), curve.get_ydata()
        assert np.array_equal(x[:-1], np.arange(1000)) and x[-1] == 1000
        assert np.array_equal(y[:-1], s(np.arange(1000)))  # update k uses s(k) until update k + 1
        # one marker at the warmup end (the cosine's end, step 1000, is outside a 1000-update run)
        assert markers.get_xdata().tolist() == [100.0] and markers.get_ydata().tolist() == [0.1]
        assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"
        assert ax.get_legend().get_texts()[0].get_text() == "mine"
    finally:
        plt.close(fig)


def test_schedule_plot_epochs_and_log_axis():
    s = lrkit.step_decay(0.1, period=300, gamma=0.1)
    fig, ax = plt.subplots()
    try:
        s.plot(steps=1200, ax=ax, steps_per_epoch=100, log=True)
        curve, markers = ax.lines
        assert ax.get_xlabel() == "epoch" and ax.get_yscale() == "log"
        assert curve.get_xdata()[-1] == 12.0
        assert markers.get_xdata().tolist() == [3.0, 6.0, 9.0]
        assert markers.get_ydata() == pytest.approx([0.01, 0.001, 0.0001])
    finally:
        plt.close(fig)


def test_schedule_plot_defaults_to_pyplot_current_axes():
    fig = plt.figure()
    try:
        ax = lrkit.one_cycle(0.1, steps=100).plot()
        assert ax is plt.gca() and len(ax.lines[0].get_xdata()) == 101
    finally:
        plt.close(fig)


def test_notebook_png():
    data = lrkit.one_cycle(0.1, steps=1000)._repr_png_()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(io.BytesIO(data), format="png")[..., :3]
    assert image.shape[1] >= 500 and not_blank(image)
    other = matplotlib.image.imread(io.BytesIO(lrkit.constant(0.1)._repr_png_()), format="png")[..., :3]
    assert image.shape == other.shape and not np.array_equal(image, other)


def test_without_matplotlib_one_line_and_nonzero_exit(monkeypatch, capsys, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails, as if not installed
    code = cli.main(["plot", WARMUP_COSINE, "-o", str(tmp_path / "x.png")])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err == "lrkit plot: lrkit plot needs matplotlib, which is not installed: pip install 'lrkit[plot]'\n"
    assert not (tmp_path / "x.png").exists()
    assert lrkit.constant(0.1)._repr_png_() is None  # Jupyter falls back to the text repr
    with pytest.raises(ImportError, match=r"lrkit\[plot\]"):
        lrkit.constant(0.1).plot()
    # show and describe need no matplotlib
    assert cli.main(["show", WARMUP_COSINE]) == 0 and cli.main(["describe", WARMUP_COSINE]) == 0


def test_import_lrkit_imports_no_matplotlib():
    code = ("import sys, lrkit, lrkit.cli, lrkit._describe, lrkit._plot, lrkit._seed\n"
            "s = lrkit.parse('cosine(0.1, 0.0, steps=10)'); s(3); lrkit._describe.describe(s)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'torch', 'jax', 'keras', 'tensorflow')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# the README gallery
# ---------------------------------------------------------------------------------------------
def _gallery():
    spec = importlib.util.spec_from_file_location("gallery", os.path.join(ROOT, "scripts", "gallery.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _names(schedule):
    """Every schedule class name used in ``schedule``, recipes and their parts included."""
    found = {type(schedule).__name__}
    for value in vars(schedule).values():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, lrkit.Schedule):
                found |= _names(item)
    return found


def test_gallery_covers_every_schedule_family():
    gallery = _gallery()
    used = set()
    for _, _, specs, _ in gallery.GALLERY:
        for spec in specs:
            used |= _names(lrkit.parse(spec))
    missing = sorted(set(_base.REGISTRY) - used)
    assert not missing, f"no gallery picture uses {missing}: add them to scripts/gallery.py"


def test_gallery_command_draws_every_picture(tmp_path, capsys):
    gallery = _gallery()
    assert gallery.main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    names = sorted(f"{name}.png" for name, *_ in gallery.GALLERY)
    assert sorted(os.listdir(tmp_path)) == names
    assert out.count("lrkit plot ") == len(names)  # each picture is a printed `lrkit plot` command
    for name in names:
        assert not_blank(pixels(tmp_path / name)), name
    # docs/gallery holds what the command makes (re-run scripts/gallery.py after changing a schedule)
    committed = os.path.join(ROOT, "docs", "gallery")
    assert sorted(os.listdir(committed)) == names
