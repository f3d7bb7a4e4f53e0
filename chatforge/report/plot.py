"""Line charts as self-contained SVG text: no plotting library, so a report or a bench can embed
its figures in a page or write them next to their JSON on any machine.

    svg = line_chart({"26 tokens": [(x, y), ...]}, title="copy probe", x_label="tokens",
                     y_label="accuracy", log_x=True, marks=[(3.2e7, "Aoyama")])
"""

from __future__ import annotations

import math
from html import escape

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
W, H = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 36, 48


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * step:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:g}M"
    if a >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def line_chart(series: dict[str, list[tuple[float, float]]], *, title: str = "", x_label: str = "",
               y_label: str = "", log_x: bool = False, y_range: tuple[float, float] | None = None,
               marks: list[tuple[float, str]] = ()) -> str:
    """One SVG document: a line per series (points sorted by x), a dashed vertical line per mark.
    With `log_x`, points at x <= 0 are dropped (a log axis has no place for them)."""
    pts = {k: sorted((float(x), float(y)) for x, y in v if not (log_x and x <= 0))
           for k, v in series.items()}
    xs = [x for v in pts.values() for x, _ in v] + [x for x, _ in marks if not (log_x and x <= 0)]
    ys = [y for v in pts.values() for _, y in v]
    if not xs or not ys:
        raise ValueError("line_chart needs at least one point")
    fx = (lambda x: math.log10(x)) if log_x else (lambda x: x)
    x0, x1 = fx(min(xs)), fx(max(xs))
    if log_x:
        x0, x1 = math.floor(x0), math.ceil(x1)
    if x1 == x0:
        x1 = x0 + 1
    y0, y1 = y_range or (min(ys), max(ys))
    if y1 == y0:
        y1 = y0 + 1
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (fx(x) - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return TOP + (1 - (min(max(y, y0), y1) - y0) / (y1 - y0)) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{LEFT}" y="20" font-size="13" font-weight="bold">{escape(title)}</text>']
    xticks = [10 ** e for e in range(int(x0), int(x1) + 1)] if log_x else _ticks(x0, x1)
    for t in xticks:
        X = px(t)
        out.append(f'<line x1="{X:.1f}" y1="{TOP}" x2="{X:.1f}" y2="{TOP + ph}" stroke="#eee"/>')
        out.append(f'<text x="{X:.1f}" y="{TOP + ph + 15}" text-anchor="middle">{_fmt(t)}</text>')
    for t in _ticks(y0, y1):
        Y = py(t)
        out.append(f'<line x1="{LEFT}" y1="{Y:.1f}" x2="{LEFT + pw}" y2="{Y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{Y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 10}" text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text x="16" y="{TOP + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {TOP + ph / 2})">{escape(y_label)}</text>')
    for x, label in marks:
        if log_x and x <= 0:
            continue
        X = px(x)
        out.append(f'<line x1="{X:.1f}" y1="{TOP}" x2="{X:.1f}" y2="{TOP + ph}" stroke="#555" '
                   f'stroke-dasharray="5,4"/>')
        out.append(f'<text x="{X - 4:.1f}" y="{TOP + 12}" text-anchor="end">{escape(label)}</text>')
    for i, (name, v) in enumerate(pts.items()):
        color = COLORS[i % len(COLORS)]
        if v:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in v)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        ly = TOP + 14 + 16 * i
        out.append(f'<line x1="{LEFT + pw + 10}" y1="{ly - 4}" x2="{LEFT + pw + 28}" y2="{ly - 4}" '
                   f'stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{LEFT + pw + 32}" y="{ly}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def interval_chart(rows: list[tuple[str, float, float, float]], *, title: str = "", x_label: str = "",
                   x_range: tuple[float, float] | None = None, ref: float | None = None,
                   colors: list[int] | None = None) -> str:
    """One SVG document: a row per (label, value, low, high), a dot on a whisker, in the order
    given; `ref` draws a dashed vertical line (e.g. the mean rating); `colors` picks each row's
    colour index (default: one per row), so rows of one model can share a colour."""
    if not rows:
        raise ValueError("interval_chart needs at least one row")
    lo = min(r[2] for r in rows) if x_range is None else x_range[0]
    hi = max(r[3] for r in rows) if x_range is None else x_range[1]
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    left, right, top, row_h = 130, 30, 36, 26
    w, h = W, top + row_h * len(rows) + 40
    pw = w - left - right

    def px(x: float) -> float:
        return left + (min(max(x, lo), hi) - lo) / (hi - lo) * pw

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'font-family="sans-serif" font-size="11">', f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="20" font-size="13" font-weight="bold">{escape(title)}</text>']
    bottom = top + row_h * len(rows)
    for t in _ticks(lo, hi):
        X = px(t)
        out.append(f'<line x1="{X:.1f}" y1="{top}" x2="{X:.1f}" y2="{bottom}" stroke="#eee"/>')
        out.append(f'<text x="{X:.1f}" y="{bottom + 15}" text-anchor="middle">{_fmt(t)}</text>')
    if ref is not None:
        X = px(ref)
        out.append(f'<line x1="{X:.1f}" y1="{top}" x2="{X:.1f}" y2="{bottom}" stroke="#555" '
                   'stroke-dasharray="5,4"/>')
    out.append(f'<text x="{left + pw / 2}" y="{h - 8}" text-anchor="middle">{escape(x_label)}</text>')
    for i, (label, v, a, b) in enumerate(rows):
        y = top + row_h * i + row_h / 2
        color = COLORS[(colors[i] if colors else i) % len(COLORS)]
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<line class="interval" x1="{px(a):.1f}" y1="{y:.1f}" x2="{px(b):.1f}" y2="{y:.1f}" '
                   f'stroke="{color}" stroke-width="2"/>')
        out.append(f'<circle cx="{px(v):.1f}" cy="{y:.1f}" r="4" fill="{color}"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
