"""report.svg: the report's hand-written charts are well-formed SVG whose bars are the counts of
numpy.histogram, with axis ticks at round numbers, and no label text from a Label reference."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from thresher.report import svg

NS = "{http://www.w3.org/2000/svg}"


def _tree(doc: str) -> ET.Element:
    root = ET.fromstring(doc)
    assert root.tag == NS + "svg"
    return root


@pytest.mark.parametrize("lo,hi,expect", [(0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]), (0, 7, [0, 2, 4, 6, 8]),
                                          (0, 43_000, [0, 10_000, 20_000, 30_000, 40_000, 50_000]),
                                          (1.5, 3.5, [1.5, 2.0, 2.5, 3.0, 3.5]), (0.5, 2.5, [0.5, 1.0, 1.5, 2.0, 2.5])])
def test_nice_ticks(lo, hi, expect):
    assert svg.nice_ticks(lo, hi) == pytest.approx(expect)


def test_integer_ticks():
    assert svg.nice_ticks(1.5, 3.5, integer=True) == [2, 3, 4]
    assert svg.nice_ticks(1.5, 300.5, integer=True) == [100, 200, 300, 400]


def test_log_ticks():
    assert svg.log_ticks(1, 150_000) == [1, 10, 100, 1_000, 10_000, 100_000]
    assert svg.log_ticks(1, 30) == [1, 2, 5, 10, 20]
    assert svg.log_ticks(0.7, 4.8) == [1, 2]


def test_histogram_bars_are_numpy_counts():
    rng = np.random.default_rng(0)
    values = rng.lognormal(6, 1.5, 5_000).astype(int) + 1
    edges = np.unique(np.logspace(0, np.log10(values.max() + 1), 40).astype(int))
    kept = values[values > 300]
    doc = svg.histogram([svg.Series(values, "input"), svg.Series(kept, "kept", "#c0392b")], edges, log_x=True,
                        title="lengths", xlabel="characters")
    root = _tree(doc)
    bars = [r for r in root.iter(NS + "rect") if r.find(NS + "title") is not None]
    counts = [int(r.find(NS + "title").text.rsplit(": ", 1)[1].replace(",", "")) for r in bars]
    want = [c for s in (values, kept) for c in np.histogram(s, bins=edges)[0] if c]
    assert counts == want
    # taller bar, higher count; every bar inside the plot area
    heights = [float(r.get("height")) for r in bars[:len(want) - int((np.histogram(kept, edges)[0] > 0).sum())]]
    firsts = counts[:len(heights)]
    assert all((h1 < h2) == (c1 < c2) for h1, h2, c1, c2 in zip(heights, heights[1:], firsts, firsts[1:]) if c1 != c2)
    assert all(float(r.get("y")) >= 28 - 1e-6 for r in bars)
    texts = [t.text for t in root.iter(NS + "text")]
    assert {"input", "kept", "lengths", "characters"} <= set(texts)
    assert svg.histogram([svg.Series(values)], edges, title="t", xlabel="x") == \
        svg.histogram([svg.Series(values.copy())], edges.copy(), title="t", xlabel="x")    # same bytes


def test_log_y_histogram_draws_single_counts():
    doc = svg.histogram([svg.Series(np.array([2, 2, 2, 3, 9]))], np.arange(2, 11) - 0.5, log_y=True,
                        title="sizes", xlabel="documents")
    bars = [r for r in _tree(doc).iter(NS + "rect") if r.find(NS + "title") is not None]
    assert len(bars) == 3 and all(float(r.get("height")) > 0 for r in bars)


def test_bar_chart_escapes_text_and_leaves_references_empty():
    doc = svg.bar_chart(["step: <reason> & more", svg.Label(0)], [1_500, 3], title="a <b>", xlabel="chars")
    root = _tree(doc)
    texts = {t.text for t in root.iter(NS + "text")}
    assert "step: <reason> & more" in texts and "a <b>" in texts
    refs = [t for t in root.iter(NS + "text") if t.get("data-label") is not None]
    assert len(refs) == 1 and refs[0].get("data-label") == "0" and not refs[0].text
    assert "<reason>" not in doc and not re.search(r"<b>", doc)
    widths = [float(r.get("width")) for r in root.iter(NS + "rect") if r.find(NS + "title") is not None]
    assert widths[0] > widths[1] > 0


def test_log_bar_chart_shows_values_orders_of_magnitude_apart_with_their_labels():
    values = [2_500_000, 31_000, 400, 7, 0]
    doc = svg.bar_chart([f"r{i}" for i in range(5)], values, title="t", xlabel="chars", log_x=True,
                        value_labels=True)
    root = _tree(doc)
    widths = [float(r.get("width")) for r in root.iter(NS + "rect") if r.find(NS + "title") is not None]
    # each order of magnitude is the same width: every non-zero bar is at least a few pixels
    assert widths[0] > widths[1] > widths[2] > widths[3] >= 30 and widths[4] == 0
    steps = [widths[0] - widths[1], widths[1] - widths[2]]
    assert abs(steps[0] - steps[1] * math.log10(2_500_000 / 31_000) / math.log10(31_000 / 400)) < 1
    texts = [t.text for t in root.iter(NS + "text")]
    assert all(f"{v:,}" in texts for v in values)
    assert {"1", "10", "100", "1,000", "10k", "100k", "1M", "10M"} <= set(texts)      # decade ticks
    assert "chars (log scale)" in texts
    linear = svg.bar_chart([f"r{i}" for i in range(5)], values, title="t", xlabel="chars")
    lw = [float(r.get("width")) for r in _tree(linear).iter(NS + "rect") if r.find(NS + "title") is not None]
    assert lw[3] < 1                           # what the log axis is for: on a linear one, 7 is no bar
