"""The report's plots as inline SVG: horizontal bar charts and histograms (linear or log axes).

Written by hand because the report needs only these two kinds of chart, and matplotlib, which drew
them before, cost 0.65 s of every run (its import and layout engine, for four small plots), more than
the rest of the report together. The output is plain SVG 1.1 with ``<rect>``, ``<line>`` and
``<text>``; the same numbers always give the same bytes.

Text that came from documents (the most removed lines) never enters the markup: a bar's label can be
a reference, ``Label(i)``, drawn as an empty ``<text data-label="i">`` that the page's script fills
with ``textContent`` from the JSON block (see ``report.page``).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

WIDTH = 600
_FONT = 'font-family="system-ui,sans-serif" font-size="11"'
_CHAR_PX = 6.2          # a rough width of one character at 11 px, to size the label column


@dataclass(frozen=True)
class Label:
    """A bar label the page's script fills from ``labels[index]`` of the JSON data block."""
    index: int


@dataclass(frozen=True)
class Series:
    """One histogram: its values, legend text and fill colour."""
    values: np.ndarray
    label: str = ""
    color: str = "#2c7fb8"


def _num(v: float) -> str:
    """A tick label: 0, 5, 2.5, 1,500, 20k, 1.5M."""
    a = abs(v)
    if a >= 1e6:
        s, unit = v / 1e6, "M"
    elif a >= 1e4:
        s, unit = v / 1e3, "k"
    else:
        s, unit = v, ""
    if float(s).is_integer():
        return f"{int(s):,}{unit}"
    return f"{s:.3g}{unit}"


def nice_ticks(lo: float, hi: float, *, count: int = 5, integer: bool = False) -> list[float]:
    """Ticks at 1, 2 or 5 times a power of ten (whole numbers with ``integer``), from the first at or
    above ``lo`` to the first at or above ``hi``, in about ``count`` steps."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1, round(step))
    eps = step * 1e-9
    k = math.ceil((lo - eps) / step)
    ticks = [round(k * step, 12)]
    while ticks[-1] < hi - eps:
        k += 1
        ticks.append(round(k * step, 12))
    return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten within ``[lo, hi]`` (``lo > 0``); also 2 and 5 times them over two decades or less."""
    ks = range(math.floor(math.log10(lo)), math.floor(math.log10(hi) + 1e-9) + 1)
    steps = (1, 2, 5) if math.log10(hi / lo) <= 2 else (1,)
    return [m * 10.0 ** k for k in ks for m in steps if lo * (1 - 1e-9) <= m * 10.0 ** k <= hi * (1 + 1e-9)]


class _Scale:
    def __init__(self, lo: float, hi: float, p0: float, p1: float, *, log: bool) -> None:
        self.log = log
        self.lo, self.hi = (math.log10(lo), math.log10(hi)) if log else (lo, hi)
        self.p0, self.p1 = p0, p1

    def __call__(self, v: float) -> float:
        x = math.log10(v) if self.log else v
        return round(self.p0 + (x - self.lo) / ((self.hi - self.lo) or 1) * (self.p1 - self.p0), 2)


def _text(x: float, y: float, s: str, *, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x}" y="{y}" text-anchor="{anchor}"{extra}>{html.escape(s)}</text>'


def _frame(width: float, height: float, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" {_FONT}>'
            f'<title>{html.escape(title)}</title>'
            f'<rect width="{width}" height="{height}" fill="#fff"/>'
            + _text(width / 2, 16, title, extra=' font-size="13" font-weight="600"') + "".join(body) + "</svg>")


def bar_chart(labels: Sequence[str | Label], values: Sequence[float], *, title: str, xlabel: str,
              color: str = "#c0392b", label_width: float | None = None, log_x: bool = False,
              value_labels: bool = False) -> str:
    """Horizontal bars, the first label at the top. ``label_width`` (pixels) sets the label column;
    by default it fits the longest text label. ``log_x``: a log axis from the power of ten below the
    smallest positive value, so values six orders apart all show (a zero draws no bar).
    ``value_labels``: each bar's value written at its end."""
    n = len(values)
    if label_width is None:
        longest = max((len(s) for s in labels if isinstance(s, str)), default=10)
        label_width = min(320.0, 12 + _CHAR_PX * longest)
    row, top = 18, 28
    value_width = 12 + _CHAR_PX * max((len(f"{v:,}") for v in values), default=1) if value_labels else 0
    x0, x1 = label_width, WIDTH + label_width - 200
    height = top + row * n + 42
    hi = max(max(values, default=0), 1)
    if log_x:
        lo = min((v for v in values if v > 0), default=1)
        lo = 10.0 ** (math.ceil(math.log10(lo)) - 1)
        top_tick = 10.0 ** math.ceil(math.log10(hi))
        ticks = log_ticks(lo, top_tick)
        sx = _Scale(lo, top_tick, x0, x1, log=True)
    else:
        ticks = nice_ticks(0, hi)
        sx = _Scale(0, max(ticks[-1], hi), x0, x1, log=False)
    body = []
    y_end = top + row * n
    for t in ticks:
        x = sx(t)
        body.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{y_end}" stroke="#e6e9ed"/>')
        body.append(_text(x, y_end + 14, _num(t)))
    for i, (lab, v) in enumerate(zip(labels, values)):
        y = top + row * i
        end = sx(v) if v > 0 or not log_x else x0
        body.append(f'<rect x="{x0}" y="{y + 3}" width="{round(end - x0, 2)}" height="{row - 6}" '
                    f'fill="{color}"><title>{html.escape(f"{v:,}")}</title></rect>')
        if value_labels:
            body.append(_text(round(end + 4, 2), y + 13, f"{v:,}", anchor="start", extra=' fill="#5b6570"'))
        if isinstance(lab, Label):
            body.append(f'<text x="{x0 - 6}" y="{y + 13}" text-anchor="end" data-label="{lab.index}"></text>')
        else:
            body.append(_text(x0 - 6, y + 13, lab, anchor="end"))
    body.append(f'<line x1="{x0}" y1="{top}" x2="{x0}" y2="{y_end}" stroke="#5b6570"/>')
    body.append(_text((x0 + x1) / 2, y_end + 32, xlabel + (" (log scale)" if log_x else "")))
    return _frame(x1 + 20 + value_width, height, title, body)


def histogram(series: Sequence[Series], edges: np.ndarray, *, title: str, xlabel: str, ylabel: str = "",
              log_x: bool = False, log_y: bool = False, integer_x: bool = False) -> str:
    """Each series counted into the bins ``edges`` (as ``numpy.histogram``) and drawn as bars, later
    series over earlier ones (translucent when there are several), with a legend if labelled;
    ``integer_x`` puts the x ticks on whole numbers."""
    edges = np.asarray(edges, np.float64)
    counts = [np.histogram(s.values, bins=edges)[0] for s in series]
    top = max((int(c.max()) for c in counts if len(c)), default=0)
    x0, x1, y0, y1 = 62.0, WIDTH - 16.0, 28.0, 230.0
    sx = _Scale(edges[0], edges[-1], x0, x1, log=log_x)
    if log_y:
        ymin, ymax = 0.7, max(top, 1) * 1.6
        yt = log_ticks(1, ymax)
    else:
        yt = nice_ticks(0, max(top, 1))
        ymin, ymax = 0.0, max(yt[-1], top)
    sy = _Scale(ymin, ymax, y1, y0, log=log_y)
    body = []
    for t in yt:
        y = sy(t)
        body.append(f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#e6e9ed"/>')
        body.append(_text(x0 - 5, y + 4, _num(t), anchor="end"))
    opacity = ' fill-opacity="0.6"' if len(series) > 1 else ""
    for s, c in zip(series, counts):
        for i in np.flatnonzero(c):
            a, b = sx(edges[i]), sx(edges[i + 1])
            y = sy(float(c[i]))
            body.append(f'<rect x="{a}" y="{y}" width="{round(max(b - a, 0.5), 2)}" height="{round(y1 - y, 2)}" '
                        f'fill="{s.color}"{opacity}><title>{html.escape(_num(edges[i]))}-'
                        f'{html.escape(_num(edges[i + 1]))}: {int(c[i]):,}</title></rect>')
    xt = log_ticks(edges[0], edges[-1]) if log_x else nice_ticks(edges[0], edges[-1], integer=integer_x)
    for t in xt:
        if edges[0] <= t <= edges[-1]:
            x = sx(t)
            body.append(f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y1 + 4}" stroke="#5b6570"/>')
            body.append(_text(x, y1 + 16, _num(t)))
    body.append(f'<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}" stroke="#5b6570"/>')
    body.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#5b6570"/>')
    body.append(_text((x0 + x1) / 2, y1 + 34, xlabel))
    if ylabel:
        body.append(_text(14, (y0 + y1) / 2, ylabel, extra=f' transform="rotate(-90 14 {(y0 + y1) / 2})"'))
    ly = y0 + 6
    for s in series:
        if s.label:
            body.append(f'<rect x="{x1 - 150}" y="{ly}" width="12" height="10" fill="{s.color}"{opacity}/>')
            body.append(_text(x1 - 133, ly + 9, s.label, anchor="start"))
            ly += 16
    return _frame(WIDTH, y1 + 44, title, body)
