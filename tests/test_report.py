"""OUT/report.html: written by every run and by `thresher report`, numbers equal stats.json, hostile
document text never becomes markup; in headless Chromium the page renders, runs no script from the
content, and a click on a cluster shows both texts."""

from __future__ import annotations

import re
import shutil

import orjson
import pytest


from thresher.report.page import STEP_COLOURS

from conftest import EXAMPLES, ROOT, SHARED, cli, run_ok

SEEDS = SHARED / "seeds"
PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    '<img src="x" onerror="window.__pwned = 2">',
    '<a href="javascript:window.__pwned = 3">click</a>',
    "--><script>window.__pwned = 4</script><!--",
    "</script><script>window.__pwned = 5</script>",
    '"><svg onload="window.__pwned = 6">',
]


def _summary(html: str) -> dict[str, int]:
    table = html.split('<table id="total">', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'data-k="(\w+)" data-v="(\d+)">([\d,]+)<', table)
    assert all(shown == f"{int(v):,}" for _k, v, shown in cells)        # thousands separators
    return {k: int(v) for k, v, _shown in cells}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """The examples plus documents full of markup: copies (exact), near copies (clusters), repeated
    hostile lines on one site (boilerplate's top lines go into a plot label)."""
    d = tmp_path_factory.mktemp("hostile")
    body = ("Honey bees keep the temperature of their brood nest steady. When the hive grows too warm, "
            "workers fan their wings at the entrance and spread water over the comb. ")
    recs = []
    for i, p in enumerate(PAYLOADS):
        text = (f"{p}\n{body * 3}{p} number {i}.\n{p}\n"
                "Footer --><script>window.__pwned = 7</script><!-- of this evil page is here.")
        recs.append({"id": f"evil{i}<b>", "url": "https://evil.example/p", "text": text})
        recs.append({"id": f"copy{i}", "url": "https://evil.example/q", "text": text})
    (d / "evil.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    out = d / "out"
    inputs = [EXAMPLES, d / "evil.jsonl"] + ([SEEDS] if SEEDS.exists() else [])
    stats = run_ok(inputs, out, workers=2, config={"boilerplate": {"repeated_min_docs": 3}})
    return {"out": out, "stats": stats, "html": (out / "report.html").read_text(encoding="utf-8")}


def test_report_summary_equals_stats(hostile_run):
    html, stats = hostile_run["html"], hostile_run["stats"]
    t = stats["total"]
    assert _summary(html) == {"docs_in": t["docs_in"], "docs_out": t["docs_out"], "chars_in": t["chars_in"],
                              "chars_out": t["chars_out"], "quarantined": t["quarantined"]}
    for name in ("chars_by_reason", "cluster_sizes", "similarity", "lengths", "top_lines"):
        assert f'id="plot-{name}"' in html, name
    # the length histogram counts every input document and every kept one
    assert f">input ({t['docs_in']:,})<" in html and f">kept ({t['docs_out']:,})<" in html
    # the most removed lines are labels the script fills from the data block
    data = orjson.loads(html.split('<script id="thresher-data" type="application/json">', 1)[1].split("</script>")[0])
    top = stats["steps"]["boilerplate"]["top_lines"]
    assert data["labels"] and data["labels"][0] == " ".join(top[0]["line"].split())[:60] + "…" * (len(top[0]["line"]) > 60)
    assert html.count("data-label=") == len(data["labels"])
    assert len(html.encode()) < 20_000_000


def test_report_shows_shares_log_removals_and_a_colour_per_step(hostile_run):
    html, stats = hostile_run["html"], hostile_run["stats"]
    t = stats["total"]
    total = html.split('<table id="total">', 1)[1].split("</table>", 1)[0]
    assert f"<td>{100 * t['docs_out'] / t['docs_in']:.1f}%</td>" in total
    assert f"<td>{100 * t['chars_out'] / t['chars_in']:.1f}%</td>" in total
    plot = html.split('id="plot-chars_by_reason"', 1)[1].split("</svg>", 1)[0]
    assert "(log scale)" in plot
    for s in stats["steps"].values():         # every bar is labelled with its value
        for r in s.get("removals", {}).values():
            assert f">{r['chars']:,}</text>" in plot
    legend = html.split('<div id="legend"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'<span class="k(\d+)">(\w+)</span>', legend) == [
        (str(i % len(STEP_COLOURS)), name) for i, name in enumerate(stats["steps_run"])]
    data = orjson.loads(html.split('<script id="thresher-data" type="application/json">', 1)[1].split("</script>")[0])
    cut = [seg for it in data["items"] if it["kind"] == "spans" for seg in it["segments"] if seg[0] == "*"]
    assert cut and {seg[3] for seg in cut} <= set(stats["steps_run"]) and len({seg[3] for seg in cut}) >= 2


def test_report_text_never_becomes_markup(hostile_run):
    html = hostile_run["html"]
    assert html.count("<script") == 2            # the data block and the page's own script
    for needle in ("window.__pwned", "onerror=", "onload=", "javascript:window"):
        # present only inside the JSON block, where < > & are escaped
        outside = html.replace(html.split('<script id="thresher-data" type="application/json">', 1)[1]
                               .split("</script>", 1)[0], "")
        assert needle not in outside, needle
    assert "Content-Security-Policy" in html


def test_report_command_regenerates_the_same_page_from_the_inputs(hostile_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(hostile_run["out"], out)
    (out / "report.html").unlink()
    proc = cli("report", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("report.html")
    again = (out / "report.html").read_text(encoding="utf-8")
    # the run read texts from its shards, the command from the inputs: the same page
    assert again.replace(str(out), "") == hostile_run["html"].replace(str(hostile_run["out"]), "")


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (test extra)")
    from selenium.webdriver.chrome.service import Service
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("needs Debian's chromium and chromium-driver (installed by .ci/run)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--window-size=1400,1800"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(driver), options=opts)


def test_report_in_chromium(hostile_run):
    from selenium.webdriver.common.by import By

    b = _browser()
    try:
        b.get((hostile_run["out"] / "report.html").as_uri())
        assert b.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
        assert b.execute_script("return window.__pwned === undefined")
        shown = {e.get_attribute("data-k"): int(e.text.replace(",", ""))
                 for e in b.find_elements(By.CSS_SELECTOR, "#total td[data-k]")}
        assert shown == _summary(hostile_run["html"])
        clusters = [e for e in b.find_elements(By.CSS_SELECTOR, "#list div") if e.text.startswith("cluster")]
        assert clusters
        clusters[0].click()
        panes = b.find_elements(By.CSS_SELECTOR, "#detail .pane")
        assert len(panes) >= 2 and all(p.find_element(By.CSS_SELECTOR, ".text").text.strip() for p in panes)
        # filter by step, then search an id with markup in it: shown as text
        b.find_element(By.ID, "f-id").send_keys("evil0<b>")
        items = b.find_elements(By.CSS_SELECTOR, "#list div")
        assert items and all("evil0<b>" in i.text for i in items)
        items[0].click()
        assert "<script>window.__pwned = 1</script>" in b.find_element(By.ID, "detail").text
        # each removed span wears the colour class of its step, as the legend shows it
        steps = hostile_run["stats"]["steps_run"]
        for span in b.find_elements(By.CSS_SELECTOR, "#detail span.cut"):
            step = span.get_attribute("title").split(":", 1)[0]
            assert f"k{steps.index(step) % len(STEP_COLOURS)}" in span.get_attribute("class").split()
        assert b.execute_script("return window.__pwned === undefined")
        labels = b.find_elements(By.CSS_SELECTOR, "#plot-top_lines text[data-label]")
        assert labels and all(e.get_attribute("textContent") for e in labels)
        art = ROOT / ".artifacts"
        art.mkdir(exist_ok=True)
        b.save_screenshot(str(art / "report.png"))
        assert (art / "report.png").stat().st_size > 10_000
    finally:
        b.quit()


@pytest.mark.parametrize("a,b", [("a " * 10000, "a " * 9990 + "b " * 10), ("x" * 20000, "y" * 20000),
                                 ("a b " * 5000, "b a " * 5000), (". \n" * 7000, ", \n" * 7000)])
def test_diff_stays_fast_on_repetitive_text(a, b):
    """The near-duplicate diff is bounded on texts that repeat a few tokens thousands of times (word
    tokens carry their whitespace; popular tokens do not start matches); both sides rebuild exactly."""
    import time

    from thresher.report.build import _diff

    t0 = time.perf_counter()
    sa, sb = _diff(a, b)
    assert time.perf_counter() - t0 < 5
    assert "".join(s[1] for s in sa) == a and "".join(s[1] for s in sb) == b
