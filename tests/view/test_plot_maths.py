"""The pure plot arithmetic of issue 14: ticks (3-6 nice numbers, labels that never touch),
log-axis ticks, legend flow, run-up and equal-aspect ranges, parametric curves and clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin3d.view.plot_maths import (SpeedTrace, clip_segments, curve_path, dashes, elide,
                                    equal_aspect, fit_ticks, flow, log_tick_text, log_ticks,
                                    nice_ticks, padded_limits, speed_axes, tick_labels,
                                    tick_text, zero_based_range)


def _mantissa(step: float) -> float:
    return step / 10 ** math.floor(math.log10(step) + 1e-12)


def test_nice_ticks_give_3_to_6_nice_numbers_on_any_range():
    rng = np.random.default_rng(3)
    for _ in range(2000):
        span = 10 ** rng.uniform(-6, 6)
        lo = rng.normal() * span * 10 ** rng.uniform(0, 3)  # offsets up to 1000 spans
        hi = lo + span
        t = nice_ticks(lo, hi, 6)
        assert 3 <= len(t) <= 6, (lo, hi, t)
        assert t[0] >= lo - 1e-9 * (hi - lo) and t[-1] <= hi + 1e-9 * (hi - lo)
        step = np.diff(t)
        np.testing.assert_allclose(step, step[0], rtol=1e-6)
        assert any(np.isclose(_mantissa(step[0]), m) for m in (1, 2, 2.5, 5, 10))
        k = t / step[0]
        assert np.allclose(k, np.round(k), atol=1e-6 * max(1.0, np.abs(k).max()))  # multiples


def test_nice_ticks_take_the_finest_step_that_fits():
    np.testing.assert_allclose(nice_ticks(0, 1, 6), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(nice_ticks(-120, 20, 6), [-100, -75, -50, -25, 0])
    np.testing.assert_allclose(nice_ticks(0, 1, 3), [0, 0.5, 1.0])
    # 3 allowed, but steps of 2 give only 2 inside: the finer step's 5 beat too few
    np.testing.assert_allclose(nice_ticks(0.1, 5.1, 3), [1, 2, 3, 4, 5])


def test_tick_labels_share_decimals_and_go_scientific_when_long():
    assert tick_labels([0.0, 0.25, 0.5]) == ["0", "0.25", "0.50"]
    assert tick_labels([-100.0, -50.0, 0.0]) == ["-100", "-50", "0"]
    assert tick_labels([1e-4, 1.5e-4, 2e-4]) == ["1e-4", "1.5e-4", "2e-4"]
    assert tick_text(2e6, 1e6) == "2e6" and tick_text(2.5, 2.5) == "2.5"
    assert [log_tick_text(v) for v in (-6, -2, 0, 0.69897, 3, 5)] == \
        ["1e-6", "0.01", "1", "5", "1000", "1e5"]


@pytest.mark.parametrize("lo,hi,expect", [
    (-6, 0, [-6, -4, -2, 0]),  # 7 decades: every other one
    (-1, 2, [-1, 0, 1, 2]),  # 4 decades: each
    (0, 1, np.log10([1, 2, 5, 10])),  # one decade: 1-2-5 between
    (0.48, 0.9, np.log10([4, 5, 6, 7])),  # under a decade: linear nice values
])
def test_log_ticks_are_decades_or_nice_values_3_to_6(lo, hi, expect):
    t = log_ticks(lo, hi, 6)
    np.testing.assert_allclose(t, expect)
    assert 3 <= len(t) <= 6


def test_fit_ticks_labels_never_touch():
    rng = np.random.default_rng(5)
    char_w, text_h = 0.012, 0.02
    for _ in range(500):
        span = 10 ** rng.uniform(-5, 5)
        lo = rng.normal() * span * 10 ** rng.uniform(0, 2)
        hi = lo + span
        length = rng.uniform(0.03, 1.2)
        for vertical in (False, True):
            t, texts = fit_ticks(lo, hi, length, text_h, char_w, vertical)
            pos = (t - lo) / (hi - lo) * length
            shown = [(p, s) for p, s in zip(pos, texts) if s]
            assert shown, (lo, hi, length)
            for (p0, s0), (p1, s1) in zip(shown, shown[1:]):
                need = 1.25 * text_h if vertical else (len(s0) + len(s1)) / 2 * char_w
                assert p1 - p0 >= need - 1e-12, (lo, hi, length, texts)
            if length > 0.5:  # a plot-sized axis keeps 3-6 labelled ticks
                assert 3 <= len(shown) <= 6


def test_fit_ticks_take_fewer_ticks_on_a_short_axis():
    t_long, _ = fit_ticks(0, 40, 0.6, 0.02, 0.012, vertical=False)
    t_short, _ = fit_ticks(0, 40, 0.08, 0.02, 0.012, vertical=False)
    assert len(t_long) > len(t_short) >= 3
    _, texts = fit_ticks(0, 1000, 0.02, 0.02, 0.012, vertical=False)  # tiny: labels thinned
    assert texts.count("") >= 1 and texts[-1]


def test_fit_ticks_on_an_axis_without_span_give_one_tick_or_none():
    t, texts = fit_ticks(3.0, 3.0, 0.3, 0.02, 0.012, vertical=True)
    assert list(t) == [3.0] and texts == ["3"]
    t, texts = fit_ticks(np.nan, 1.0, 0.3, 0.02, 0.012, vertical=False)
    assert len(t) == 0 and texts == []


def test_fit_ticks_prefer_two_short_labels_to_thinned_long_ones():
    # a 10 s window of absolute time on a short axis: 2.5 s steps need "127.5"; 5 s steps fit
    t, texts = fit_ticks(123.4, 133.4, 0.285, 0.0205, 0.0123, vertical=False, unit="s")
    assert texts == ["125", "130 s"] and list(t) == [125.0, 130.0]


def test_fit_ticks_put_the_unit_on_the_last_label_and_make_room_for_it():
    t, texts = fit_ticks(0, 40, 0.6, 0.02, 0.012, vertical=False, unit="Hz")
    assert texts[-1] == "40 Hz" and all("Hz" not in s for s in texts[:-1])
    t, texts = fit_ticks(0, 40, 0.13, 0.02, 0.012, vertical=False, unit="Hz")
    pos = t / 40 * 0.13
    shown = [(p, s) for p, s in zip(pos, texts) if s]
    assert shown[-1][1].endswith(" Hz")
    for (p0, s0), (p1, s1) in zip(shown, shown[1:]):  # the longer last label still stands apart
        assert p1 - p0 >= (len(s0) + len(s1)) / 2 * 0.012 - 1e-12


def test_flow_wraps_rows_and_elide_cuts_with_an_ellipsis():
    assert flow([0.3, 0.3, 0.3, 0.5], 0.7, 0.05) == [(0, 0.0), (0, 0.35), (1, 0.0), (2, 0.0)]
    assert flow([0.9], 0.5, 0.05) == [(0, 0.0)]  # too wide: a row of its own
    assert elide("kinetic energy per unit force", 10) == "kinetic e\u2026"
    assert elide("short", 10) == "short"


def test_zero_based_range_follows_a_run_up_to_a_tick():
    assert zero_based_range(354.0) == (0.0, 400.0)
    tops = [zero_based_range(v)[1] for v in np.linspace(10, 900, 60)]
    assert all(b >= a for a, b in zip(tops, tops[1:]))  # grows with the speed
    for v in (7.0, 120.0, 354.0, 871.0):
        lo, hi = zero_based_range(v)
        assert lo == 0 and v < hi <= 1.7 * v  # the curve fills most of the height
        t = nice_ticks(lo, hi)
        assert math.isclose(t[-1], hi)  # a tick at the top


def test_equal_aspect_and_padded_limits():
    xl, yl = equal_aspect((-2.0, 0.0), (-0.5, 0.5), 0.4, 0.2)
    assert (xl[1] - xl[0]) / 0.4 == pytest.approx((yl[1] - yl[0]) / 0.2)
    assert xl == pytest.approx((-2.0, 0.0)) and yl == pytest.approx((-0.5, 0.5))
    xl, yl = equal_aspect((0.0, 1.0), (0.0, 4.0), 0.4, 0.2)  # tall data: x widened, centred
    assert yl == pytest.approx((0.0, 4.0)) and xl == pytest.approx((-3.5, 4.5))
    assert padded_limits([1.0, 3.0, np.nan], 0.1) == pytest.approx((0.8, 3.2))
    # a flat box with a stretch of 2 allowed: y units may be up to twice as long as x units
    xl, yl = equal_aspect((-1.0, 1.0), (-1.0, 1.0), 0.8, 0.1, max_stretch=2.0)
    assert yl == pytest.approx((-1.0, 1.0))
    assert ((xl[1] - xl[0]) / 0.8) / ((yl[1] - yl[0]) / 0.1) == pytest.approx(0.5)


def test_curve_path_keeps_a_circle_round_and_merges_dense_samples():
    th = np.linspace(0, 2 * np.pi, 200_000)
    x, y = np.cos(th), np.sin(th)  # x goes back and forth: no function of x
    v, seg = curve_path(x, y, (-1.2, 1.2), (-1.2, 1.2), 400, 400)
    assert 100 < len(seg) < 2000  # about the circumference in pixels, not 200000
    r = np.hypot(v[:, 0], v[:, 1])
    np.testing.assert_allclose(r, 1.0, atol=1e-9)  # every vertex on the curve
    assert np.ptp(v[:, 0]) > 1.99 and np.ptp(v[:, 1]) > 1.99  # all the way round
    # consecutive segments connect: the curve is drawn in order, not as columns
    np.testing.assert_allclose(v[1:-1:2], v[2::2])


def test_curve_path_breaks_at_nan_and_clips_to_the_box():
    x = np.array([0.0, 1.0, np.nan, 2.0, 3.0])
    y = np.zeros(5)
    v, seg = curve_path(x, y, (-1, 4), (-1, 1), 500, 100)
    assert len(seg) == 2  # 0-1 and 2-3; nothing across the NaN
    v, seg = curve_path(np.array([-5.0, 5.0]), np.array([0.0, 0.0]), (-1, 1), (-1, 1), 100, 100)
    np.testing.assert_allclose(v, [[-1, 0], [1, 0]])
    p0, p1, inside = clip_segments([[2.0, 2.0]], [[3.0, 3.0]], (-1, 1), (-1, 1))
    assert not inside[0]


def test_dashes_cover_the_line_in_pieces():
    d = dashes(0.0, 1.0, 0.1, 0.05)
    assert d[0, 0] == 0 and d[-1, 1] <= 1.0 and len(d) == 7
    np.testing.assert_allclose(d[:, 1] - d[:, 0], [0.1] * 6 + [0.1])


def test_speed_axes_hold_the_whole_run_up_and_the_mode_line():
    # a run-up to 520 rpm over 24 s, mode 1 at 347 rpm
    (x0, x1), (y0, y1) = speed_axes(24.0, 520.0, 347.0)
    assert (x0, x1) == (0.0, 24.0) and y0 == 0.0 and 520.0 < y1 <= 700.0
    (_, x1), (_, y1) = speed_axes(2.0, 100.0, 347.0)  # early: 10 s shown, the line in view
    assert x1 == 10.0 and y1 > 1.1 * 347.0 - 1e-9 and y1 <= 500.0
    (_, _), (_, y1) = speed_axes(5.0, 100.0, None)  # no model: the speed alone
    assert 100.0 < y1 <= 150.0


def test_speed_trace_restarts_with_a_new_clock_and_stays_bounded():
    tr = SpeedTrace(max_points=99)  # odd: thinning an even count must still keep the newest
    for k in range(250):
        tr.add(10.0 + 0.1 * k, float(k))
    t, rpm = tr.arrays()
    assert len(t) <= 99 and t[0] == 0.0 and rpm[-1] == 249.0  # the newest point is kept
    assert t[-1] == pytest.approx(24.9)  # and the whole span, thinned
    tr.add(0.0, 5.0)  # a new step's feed starts at t = 0
    t, rpm = tr.arrays()
    assert list(rpm) == [5.0] and list(t) == [0.0]
