"""The layout plan and the report's rules, without a window (twin3d/view/layout.py)."""

from __future__ import annotations

import pytest

from twin3d.view import layout as L
from twin3d.view import widgets as W


@pytest.mark.parametrize("aspect", [16 / 9, 4 / 3, 21 / 9])
@pytest.mark.parametrize("kiosk", [False, True])
def test_regions_lie_on_screen_and_never_overlap(aspect, kiosk):
    rs = L.regions(aspect, kiosk)
    screen = L.Rect(-aspect / 2, 0.5, aspect, 1.0)
    for name, r in rs.items():
        assert r.w > 0 and r.h > 0, name
        assert screen.contains(r), name
    # the trend shares the centre with the tool panel (the app hides it while one is open)
    names = [n for n in rs if n != "trend"]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not rs[a].overlaps(rs[b]), (a, b)
    assert rs["trend"].overlaps(rs["panel"]) and screen.contains(rs["trend"])


@pytest.mark.parametrize("aspect", [16 / 9, 4 / 3, 21 / 9])
@pytest.mark.parametrize("view,clear_of", [
    ("kiosk", ("header", "hud", "plots", "legend", "caption")),
    ("operator", ("header", "banner", "hud", "plots", "motor", "tools", "legend", "log")),
    ("still", ("header", "legend"))])
@pytest.mark.parametrize("trend", [False, True])
def test_the_rig_is_framed_where_no_panel_is(aspect, view, clear_of, trend):
    """The stage the camera frames the rig in (framing.py) is on screen, clear of every panel
    of its view, above the trend while it shows, and as large as that leaves it."""
    rs = L.regions(aspect, view == "kiosk")
    st = L.stage(aspect, view, trend)
    screen = L.Rect(-aspect / 2, 0.5, aspect, 1.0)
    assert screen.contains(st) and st.w > 0.3 and st.h > 0.3
    for name in clear_of:
        assert not st.overlaps(rs[name]), name
    assert st.overlaps(rs["trend"]) != trend
    if view == "still":  # a render has no side columns: the whole width
        assert st.w == pytest.approx(aspect - 2 * L.MARGIN)
    if view == "kiosk":  # the QR badge, when shown, is left of the stage
        with_badge = L.stage(aspect, view, trend, badge=True)
        assert not with_badge.overlaps(rs["badge"]) and st.overlaps(rs["badge"])
        assert with_badge.right == pytest.approx(st.right)


def test_every_named_region_exists_in_its_view():
    assert {"header", "hud", "banner", "plots", "panel", "log", "legend", "tools", "motor",
            "trend"} <= set(L.regions(16 / 9, kiosk=False))
    assert {"header", "hud", "plots", "caption", "legend", "badge"} <= set(L.regions(16 / 9, True))


def test_kiosk_caption_is_centred_on_the_screen():
    cap = L.regions(16 / 9, kiosk=True)["caption"]
    assert cap.left + cap.right == pytest.approx(0.0)


def test_side_columns_follow_the_window_edges():
    wide, narrow = L.regions(21 / 9), L.regions(4 / 3)
    assert wide["hud"].right == pytest.approx(21 / 18 - L.MARGIN)
    assert narrow["tools"].left == pytest.approx(-2 / 3 + L.MARGIN)
    assert wide["panel"].w > narrow["panel"].w


def test_smallest_text_meets_22_px_at_1080p():
    from ursina import Text

    assert W.MIN_TEXT_PX_1080 == 22
    assert W.TEXT_S * Text.size * 1080 >= 22
    assert W.TEXT_S * Text.size * 1080 < 23  # rounded up, not inflated


def _measure(line: str) -> float:
    return 0.01 * len(line)


@pytest.mark.parametrize("text", ["UNSTABLE: gain margin 0.4341 (-7.25 dB), critical gain 2.3",
                                  "none | tmd | dvf | dvf_pi | skyhook | lqr", "x" * 80, ""])
def test_measured_wrap_keeps_every_word_and_every_line_within_the_width(text):
    wrapped = W.wrap_measured(text, 0.2, _measure)
    assert all(_measure(line) <= 0.2 for line in wrapped.split("\n"))
    assert wrapped.replace("\n", "").replace(" ", "") == text.replace(" ", "")


def test_measured_wrap_cuts_to_max_lines_with_an_ellipsis():
    wrapped = W.wrap_measured("one two three four five six seven eight", 0.1, _measure, 2)
    lines = wrapped.split("\n")
    assert len(lines) == 2 and lines[-1].endswith("\u2026")
    assert all(_measure(line) <= 0.1 for line in lines)


def _report(elements, size=(1920, 1080)):
    return {"window": list(size), "min_text_px": 22 * size[1] / 1080,
            "regions": L.region_boxes_px(size, kiosk=False), "elements": elements}


def _el(text, box, region="hud", h=24.0):
    return {"text": text, "region": region, "box_px": box, "height_px": h}


def test_problems_is_empty_for_a_clean_report():
    hud = L.region_boxes_px((1920, 1080), False)["hud"]
    x0, y0 = hud[0] + 5, hud[1] + 5
    assert L.problems(_report([_el("a", [x0, y0, x0 + 100, y0 + 20]),
                               _el("b", [x0, y0 + 20, x0 + 100, y0 + 40])])) == []


def test_problems_names_each_broken_rule():
    hud = L.region_boxes_px((1920, 1080), False)["hud"]
    x0, y0 = hud[0] + 5, hud[1] + 5
    found = L.problems(_report([
        _el("first", [x0, y0, x0 + 100, y0 + 20]),
        _el("second", [x0 + 50, y0 + 10, x0 + 150, y0 + 30]),  # over the first
        _el("tiny", [x0, y0 + 100, x0 + 30, y0 + 110], h=16.0),
        _el("outside", [10, 1070, 300, 1095], region="legend"),
        _el("lost", [900, 500, 950, 520], region=None),
        _el("astray", [10, 500, 100, 520], region="hud"),
    ]))
    kinds = [p.split(":")[0] for p in found]
    assert kinds.count("overlap") == 1
    assert "too small" in kinds and "off screen" in kinds and "no region" in kinds
    assert sum(k == "outside its region" for k in kinds) == 2  # 'outside' and 'astray'


def test_minimum_height_scales_with_the_window():
    small = _report([_el("t", [0, 0, 10, 10], region=None, h=15.0)], size=(1280, 720))
    assert not any(p.startswith("too small") for p in L.problems(small))  # 22 * 720/1080 = 14.7
    big = _report([_el("t", [0, 0, 10, 10], region=None, h=40.0)], size=(3840, 2160))
    assert any(p.startswith("too small") for p in L.problems(big))  # 44 px needed
