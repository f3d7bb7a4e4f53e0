"""The SVG line chart: well-formed, one line per series, points placed on the right axes."""

import xml.etree.ElementTree as ET

import pytest

from chatforge.report.plot import line_chart

NS = "{http://www.w3.org/2000/svg}"


def _polylines(svg: str) -> list[list[tuple[float, float]]]:
    root = ET.fromstring(svg)
    return [[tuple(map(float, p.split(","))) for p in el.get("points").split()]
            for el in root.iter(NS + "polyline")]


def test_lines_follow_the_data_on_a_log_axis():
    svg = line_chart({"up": [(1e3, 0.0), (1e5, 1.0), (0, 0.5)], "a<b": [(1e4, 0.5)]},
                     title="t & u", log_x=True, y_range=(0, 1), marks=[(1e6, "mark")])
    lines = _polylines(svg)
    assert len(lines) == 2
    up, mid = lines
    assert len(up) == 2  # x = 0 has no place on a log axis
    (xa, ya), (xb, yb) = up
    assert xb > xa and yb < ya  # rightward and upward (SVG y grows downward)
    # 1e4 lies halfway between 1e3 and 1e5 on a log axis
    assert mid[0][0] == pytest.approx((xa + xb) / 2, abs=0.2)
    assert "a&lt;b" in svg and "t &amp; u" in svg and "mark" in svg


def test_linear_axis_and_clipping():
    svg = line_chart({"s": [(0, 5.0), (10, -1.0)]}, y_range=(0, 1))
    (x0, y0), (x1, y1) = _polylines(svg)[0]
    assert x1 > x0 and y0 < y1  # 5.0 clipped to the top, -1.0 to the bottom


def test_no_points_is_an_error():
    with pytest.raises(ValueError):
        line_chart({"s": []})
