"""The README's picture of ``lrkit report``: a small monitored run with one of each event, its page, and a
screenshot of that page in headless Chromium (Debian's chromium + chromium-driver, through selenium).

    python scripts/report_screenshot.py            # writes docs/report_run.jsonl, docs/report.png

The run: two param groups of SGD on warmup + cosine (relative), a momentum schedule, a step that
GradScaler skips (inf gradients at update 30), a hand edit of group 2's LR at update 50, a plateau cut
at update 62 and a logged change of plan at update 70.
"""
import os
import shutil
import sys
import tempfile
import time
import warnings

try:
    import lrkit
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))
    import lrkit

import torch

from lrkit.monitor import MonitorWarning
from lrkit.report import report
from lrkit.torch import Monitor, ScheduleLR

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "docs")


def demo_run(path, updates=100):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(4, 4) for _ in range(2)]
    opt = torch.optim.SGD([{"params": l.parameters(), "lr": 0.1 * (i + 1)} for i, l in enumerate(layers)],
                          momentum=0.9)
    sched = ScheduleLR(opt, lrkit.warmup(lrkit.cosine(1.0, 0.1, steps=updates - 10), steps=10), relative=True,
                       momentum=f"linear(0.95, 0.85, steps={updates})", plateau=lrkit.plateau(patience=0))
    scaler = torch.amp.GradScaler("cpu", init_scale=4.0)
    if os.path.exists(path):
        os.remove(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MonitorWarning)
        with Monitor(opt, log=path, scaler=scaler, label="demo") as mon:
            for k in range(updates):
                x = torch.randn(8, 4)
                loss = sum((l(x) ** 2).mean() for l in layers)
                opt.zero_grad()
                scaler.scale(loss * (float("inf") if k == 30 else 1.0)).backward()
                if k == 50:
                    opt.param_groups[1]["lr"] = 0.01
                scaler.step(opt)
                scaler.update()
                sched.step()
                mon.metrics(loss=loss)
                if k in (60, 61):
                    sched.report(1.0)
                if k == 70:
                    mon.event("change of plan", "the horizon went from 100 to 120 updates")
    return mon


def screenshot(html, png, width=1300, height=1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get("file://" + os.path.abspath(html))
        time.sleep(2)
        driver.save_screenshot(png)
    finally:
        driver.quit()


def main():
    log = os.path.join(DOCS, "report_run.jsonl")
    mon = demo_run(log)
    print(mon.summary_text())
    html = os.path.join(tempfile.mkdtemp(), "report.html")
    report(log, html)
    screenshot(html, os.path.join(DOCS, "report.png"))
    print(f"wrote {log} and {os.path.join(DOCS, 'report.png')}")


if __name__ == "__main__":
    main()
