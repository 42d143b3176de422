"""``lrkit report``: the page of a monitored run, opened in a real headless Chromium (Debian's chromium and
chromium-driver, through selenium) with the network cut: the curves render, hover and zoom work, and the
browser logs no console error."""
import json
import os
import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("plotly")

from lrkit.cli import main  # noqa: E402
from lrkit.monitor import read_log  # noqa: E402
from lrkit.report import figure  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _script():
    """scripts/report_screenshot.py (the README's picture): its demo run is the page tested here."""
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "report_screenshot.py"
    spec = importlib.util.spec_from_file_location("report_screenshot", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_log(path):
    """Two param groups on warmup + cosine, a momentum schedule, a GradScaler skip, a hand edit, a plateau
    cut and an event: everything the page draws."""
    return _script().demo_run(str(path))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    mon = _run_log(folder / "run.jsonl")
    assert {f.kind for f in mon.audit.findings} == {"foreign", "plateau cut"}
    out = folder / "report.html"
    assert main(["report", str(folder / "run.jsonl"), "-o", str(out)]) == 0
    return folder, out


def test_page_is_self_contained(page):
    folder, out = page
    html = out.read_text(encoding="utf-8")
    assert os.path.getsize(out) > 3_000_000  # plotly.js inlined
    assert 'src="http' not in html and "cdn.plot.ly" not in html.split("<body>")[-1][:2000]
    log = read_log(str(folder / "run.jsonl"))
    assert log.skipped == [30] and [e["event"] for e in log.events] == ["change of plan"]
    fig = figure(log)
    names = [t.name for t in fig.data]
    for name in ("lr pg1 applied", "lr pg1 planned", "lr pg2 applied", "momentum pg2 planned", "loss",
                 "events", "audit findings", "skipped steps", "lr pg1 plan events"):
        assert name in names


@pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
def test_page_renders_in_headless_chromium_without_console_errors(page):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
    folder, out = page
    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1600",
                "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"):  # (no network)
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.get(out.as_uri())
        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script("return document.querySelectorAll('.scatterlayer .trace').length") > 0)
        data = figure(read_log(str(folder / "run.jsonl"))).data
        traces = driver.execute_script("return document.querySelectorAll('.scatterlayer .trace').length")
        assert traces == len(data)
        # every curve drawn: an SVG path of several segments (plotly drops collinear points) for the lr and
        # momentum of both groups, applied and planned, and the loss
        lines = driver.execute_script(
            "return Array.from(document.querySelectorAll('.scatterlayer .trace path.js-line'))"
            ".filter(p => ((p.getAttribute('d') || '').match(/L/g) || []).length >= 1).length")
        assert lines == sum(t.mode == "lines" for t in data) == 9
        markers = driver.execute_script("return document.querySelectorAll('.scatterlayer .trace .points path').length")
        assert markers >= 5  # plan events (warmup end), the skip, the edit, the cut, the event
        legend = driver.execute_script("return Array.from(document.querySelectorAll('.legendtext')).map(t => t.textContent)")
        assert "lr pg1 applied" in legend and "audit findings" in legend
        # hover on the findings and zoom on the first axis: plotly's own API, as a mouse would
        hover = driver.execute_script("""
            const gd = document.querySelector('.js-plotly-plot');
            const i = gd.data.findIndex(t => t.name === 'audit findings');
            Plotly.Fx.hover(gd, [{curveNumber: i, pointNumber: 0}]);
            return Array.from(document.querySelectorAll('.hoverlayer .hovertext')).map(t => t.textContent).join(' ');""")
        first = read_log(str(folder / "run.jsonl")).findings[0]
        assert f"update {first['step']}" in hover and first["text"][:60] in hover
        zoomed = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const gd = document.querySelector('.js-plotly-plot');
            Plotly.relayout(gd, {'xaxis.range': [40, 60]}).then(() => done(gd.layout.xaxis.range));""")
        assert zoomed == [40, 60]
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], json.dumps(errors)[:2000]
    finally:
        driver.quit()


def test_cli_errors(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "lrkit-run", "version": 1}\n')
    assert main(["report", str(bad), "-o", str(tmp_path / "x.html")]) == 2
    assert "the first line must be an lrkit-monitor header" in capsys.readouterr().err
