#!/usr/bin/env python3
"""The report on a large run: size of OUT/report.html and how fast headless Chromium has it ready.

Runs ``thresher run`` on ``../shared/bench/webdocs`` (the steps given, 1 worker, ``_work`` kept), times
writing the report in-process as the end of a run does (``--loads`` times, from ``_work``), and once as
``thresher report OUT`` does after ``_work`` is gone (re-reading the inputs). Then it loads the page
``--loads`` times in Debian's Chromium (Selenium, chromedriver) and records the time until the page's
script has rendered the decision list (``body[data-ready]``) and the browser's load-event time.

Usage: python benchmarks/report.py [--steps exact,near_dup,paragraphs,boilerplate] [--loads 3]
Writes benchmarks/results/report.json.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _measure import save_results  # benchmarks/ is sys.path[0] when run as a script

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "bench" / "webdocs" / "corpus.jsonl.zst"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", default="exact,near_dup,paragraphs,boilerplate")
    ap.add_argument("--loads", type=int, default=3)
    args = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    tmp = Path(tempfile.mkdtemp())
    out = tmp / "out"
    cfg = tmp / "keep.toml"
    cfg.write_text("[output]\nkeep_work = true\n")
    subprocess.run([sys.executable, "-m", "thresher", "run", str(CORPUS), "-o", str(out), "-q", "-w", "1",
                    "--steps", args.steps, "-c", str(cfg)], check=True)
    from thresher.report import write_report

    write_seconds = []
    for _ in range(args.loads):
        t0 = time.perf_counter()
        write_report(out)
        write_seconds.append(round(time.perf_counter() - t0, 3))
    page = out / "report.html"
    first = page.read_bytes()
    shutil.rmtree(out / "_work")
    t0 = time.perf_counter()
    write_report(out)
    rewrite_seconds = round(time.perf_counter() - t0, 3)
    assert page.read_bytes() == first, "thresher report wrote another page than the run"
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync"):
        opts.add_argument(a)
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    ready, load_event = [], []
    try:
        for _ in range(args.loads):
            t0 = time.perf_counter()
            browser.get(page.as_uri())
            while browser.execute_script("return document.body && document.body.dataset.ready") != "1":
                time.sleep(0.005)
            ready.append(round(time.perf_counter() - t0, 3))
            load_event.append(browser.execute_script(
                "return performance.timing.loadEventEnd - performance.timing.navigationStart"))
    finally:
        browser.quit()
    report = {"corpus": CORPUS.name, "steps": args.steps, "report_bytes": page.stat().st_size,
              "write_seconds": write_seconds, "rewrite_without_work_seconds": rewrite_seconds,
              "ready_seconds": ready, "load_event_ms": load_event}
    save_results("report", report)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
