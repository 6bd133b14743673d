"""Plot helpers against naive loops and scipy; one offscreen run draws real plots.

The offscreen part runs this file's `_script` in a subprocess (Ursina is one app per process:
`run_scene_script`, tests/view/conftest.py) and asserts on the facts it returns: coarse pixel
facts only."""

from __future__ import annotations

import ast

import numpy as np
import pytest
import scipy.signal

from twin3d.view import plot_maths
from twin3d.view.plot_maths import (AutoRange, bars_geometry, envelope_path, minmax_decimate,
                                    psd_hann, to_db)


def naive_minmax(x, y, x0, x1, n):
    lo, hi = np.full(n, np.nan), np.full(n, np.nan)
    for xi, yi in zip(x, y):
        if np.isnan(xi) or np.isnan(yi) or not x0 <= xi <= x1:
            continue
        c = min(int((xi - x0) / (x1 - x0) * n), n - 1)
        lo[c] = yi if np.isnan(lo[c]) else min(lo[c], yi)
        hi[c] = yi if np.isnan(hi[c]) else max(hi[c], yi)
    return lo, hi


@pytest.mark.parametrize("n_samples,n_cols", [(5000, 97), (40, 300), (1, 8), (0, 16)])
def test_minmax_decimate_matches_a_naive_loop(n_samples, n_cols):
    rng = np.random.default_rng(n_samples)
    x = rng.uniform(-1.0, 11.0, n_samples)  # unsorted, partly outside [0, 10]
    y = rng.standard_normal(n_samples)
    y[rng.random(n_samples) < 0.05] = np.nan
    x[rng.random(n_samples) < 0.01] = np.nan
    if n_samples > 2:
        x[:2] = [0.0, 10.0]  # both ends are inside
    xc, lo, hi = minmax_decimate(x, y, 0.0, 10.0, n_cols)
    nlo, nhi = naive_minmax(x, y, 0.0, 10.0, n_cols)
    np.testing.assert_array_equal(lo, nlo)
    np.testing.assert_array_equal(hi, nhi)
    np.testing.assert_allclose(xc, (np.arange(n_cols) + 0.5) * 10.0 / n_cols)
    if n_samples == 40:
        assert np.isnan(lo).sum() > 200  # sparse data: most columns empty, and NaN there


def test_minmax_decimate_all_nan_column_is_empty_and_shape_mismatch_is_refused():
    x = np.array([0.1, 0.2, 0.6, 0.7])
    y = np.array([np.nan, np.nan, 2.0, -1.0])
    _, lo, hi = minmax_decimate(x, y, 0.0, 1.0, 2)
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and (lo[1], hi[1]) == (-1.0, 2.0)
    with pytest.raises(ValueError, match="shape"):
        minmax_decimate(x, y[:3], 0.0, 1.0, 2)


def test_autorange_grows_at_once_ignores_jitter_and_shrinks_after_patience():
    r = AutoRange(patience=5)
    rng = np.random.default_rng(0)
    first = r.update(-1.0, 1.0)
    assert first[0] <= -1.0 and first[1] >= 1.0
    for _ in range(50):  # noise inside the range never moves it
        a = rng.uniform(0.8, 1.0)
        assert r.update(-a, a) == first
    grown = r.update(-1.0, 3.0)  # data leaves the range: it grows in the same update
    assert grown[1] >= 3.0
    for i in range(5):  # a small signal shrinks the axis, but only after `patience` updates
        lo, hi = r.update(-0.1, 0.1)
        assert (lo, hi) == grown if i < 4 else hi - lo < 0.5


@pytest.mark.parametrize("n", [1024, 1001])
def test_psd_matches_scipy_periodogram(n):
    fs = 500.0
    t = np.arange(3 * n) / fs
    y = 1.5 + np.sin(2 * np.pi * 6.2 * t) + 0.1 * np.random.default_rng(1).standard_normal(t.size)
    f, p = psd_hann(y, fs, n=n)
    fr, pr = scipy.signal.periodogram(y[-n:], fs, window="hann")  # detrend='constant'
    np.testing.assert_allclose(f, fr)
    np.testing.assert_allclose(p, pr, rtol=1e-9, atol=1e-15)
    assert abs(f[np.argmax(p)] - 6.2) < fs / n  # the peak sits on the tone


def test_psd_welch_matches_scipy_welch():
    fs = 1000.0
    y = np.random.default_rng(2).standard_normal(8192)
    f, p = psd_hann(y, fs, n=5000, nperseg=512)
    fr, pr = scipy.signal.welch(y[-5000:], fs, window="hann", nperseg=512)
    np.testing.assert_allclose(f, fr)
    np.testing.assert_allclose(p, pr, rtol=1e-9)
    db = to_db(np.array([1.0, 0.01, 0.0]))
    assert db[0] == 0.0 and db[1] == pytest.approx(-20.0) and db[2] == -300.0


def test_envelope_path_bridges_sparse_gaps_and_breaks_dense_ones():
    xc = np.arange(6.0)
    lo = np.array([0.0, 1.0, np.nan, 3.0, 2.0, 1.0])
    hi = lo + 0.5
    v, seg = envelope_path(xc, lo, hi, dense=False)
    assert len(v) == 10 and len(seg) == 5 + 4  # 5 strokes, 4 joins (across the empty column)
    # rising columns go min -> max, falling ones max -> min: joins follow the signal
    assert tuple(v[1]) == (0.0, 0.5) and tuple(v[2]) == (1.0, 1.0)
    assert tuple(v[6]) == (4.0, 2.5) and tuple(v[7]) == (4.0, 2.0)
    _, seg_dense = envelope_path(xc, lo, hi, dense=True)
    assert len(seg_dense) == 5 + 3  # the join across the NaN column is dropped
    v, tri = bars_geometry(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]), 0.0)
    assert v.shape == (12, 2) and tri.shape == (18,) and v[:, 1].max() == 3.0


def test_plot_maths_needs_no_window():
    """The arithmetic is importable (and benchmarked) without ursina or panda3d."""
    tree = ast.parse(open(plot_maths.__file__).read())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in imported if m.split(".")[0] in ("ursina", "panda3d", "direct")}


# --- offscreen ------------------------------------------------------------------------------

W_PX, H_PX = 1920, 1080


def _script(out_png: str) -> dict:
    from twin3d.view import engine

    engine.start("offscreen", (W_PX, H_PX))
    from ursina import application

    from twin3d.tools import Plot
    from twin3d.view import layout
    from twin3d.view import widgets as W
    from twin3d.view.plot_drawing import LinePlot, SpectrumPlot, TimePlot, plot_from_spec

    def step(n=2):
        for _ in range(n):
            application.base.taskMgr.step()

    def px(u, v):  # camera.ui units -> pixel (col, row)
        return int(W_PX / 2 + u * H_PX), int(H_PX / 2 - v * H_PX)

    # camera.ui: 1 unit = 1080 px, x from -0.889 to 0.889; plot at top-left 0.8 x 0.42
    plot = LinePlot(position=(-0.85, 0.45), size=(0.8, 0.42), title="1e6 samples",
                    xlabel="time (s)", ylabel="a (m/s2)", n_series=2, labels=("f1", "f3"))
    step()
    before = engine.pixels().astype(int)
    t = np.linspace(0.0, 10.0, 1_000_000)
    y = np.sin(2 * np.pi * 0.5 * t) + 0.1 * np.random.default_rng(0).standard_normal(t.size)
    plot.set_data(t, [y, 0.5 * np.cos(2 * np.pi * 3 * t)])
    step()
    after = engine.pixels().astype(int)
    changed = np.abs(after - before).sum(axis=2) > 40
    c0, r0 = px(-0.85 + plot.ax0, 0.45 + plot.ay1)
    c1, r1 = px(-0.85 + plot.ax1, 0.45 + plot.ay0)
    inside = changed[r0 + 2:r1 - 2, c0 + 2:c1 - 2]
    blue = (after[..., 2] > 200) & (after[..., 0] < 120)
    facts = {"changed_inside": float(inside.mean()), "changed_right_half": float(
        changed[:, W_PX // 2 + 60:].mean()), "n_drawn": plot.n_drawn,
        "n_columns": plot.n_columns, "yrange": list(plot.yrange),
        "blue_inside": float(blue[r0:r1, c0:c1].mean()),
        "header_above_data": [float(t.y) for t in [plot.title, *plot._legend]],
        "ay1": plot.ay1}
    for _ in range(5):  # a second identical update keeps the axis (hysteresis) and the picture
        plot.set_data(t, [y, 0.5 * np.cos(2 * np.pi * 3 * t)])
        step(1)
    facts["yrange_after"] = list(plot.yrange)
    facts["same_again"] = float(np.abs(engine.pixels().astype(int) - after).max())

    tp = TimePlot(window_s=2.0, position=(0.03, 0.45), size=(0.8, 0.42), title="last 2 s")
    tt = np.arange(0, 7.0, 0.001)
    tp.set_data(tt, np.sin(tt))
    facts["time_xrange"], facts["time_end"] = list(tp.xrange), tp.t_end
    sp = SpectrumPlot(n=4096, position=(-0.85, 0.02), size=(0.55, 0.24), title="spectrum",
                      f_max=40.0, labels=("floor 3",))
    fs = 500.0
    ts = np.arange(8192) / fs
    sp.set_marks("model", xs=(5.9, 17.8, 26.0), colour=W.MUTED, dashed=True, label="model")
    sp.set_marks("tracked", xs=(6.2, 99.0), colour=W.OK, label="tracked")  # 99: off the axis
    sp.set_signal(np.sin(2 * np.pi * 6.2 * ts), fs)
    facts["spectrum_xrange"] = list(sp.xrange)
    facts["spectrum_marks"] = {  # vertices of each mark's lines
        k: m["buf"].node.get_geom(0).get_primitive(0).get_num_vertices()
        for k, m in sp._marks.items()}
    bars = plot_from_spec(Plot("histogram", np.arange(8.0), (np.arange(8.0) ** 2,),
                               xlabel="bin", ylabel="count", kind="bars"),
                          position=(0.03, -0.02), size=(0.8, 0.42))
    facts["bars_yrange"] = list(bars.yrange)
    # a Nyquist curve of a known loop: L = 2 / (jw + 1)^3 crosses the real axis at -0.25
    w = np.logspace(-2, 2, 20000)
    L = 2.0 / (1j * w + 1) ** 3
    L = np.concatenate([np.conj(L[::-1]), L])  # w from -inf to inf: a closed curve
    nq = plot_from_spec(Plot("Nyquist", L.real, (L.imag,), ("L(jw)",), xlabel="Re L",
                             ylabel="Im L", kind="nyquist"),
                        position=(-0.29, 0.02), size=(0.30, 0.5))
    facts["nyquist_kind"] = nq.kind
    facts["nyquist_ranges"] = [list(nq.xrange), list(nq.yrange)]
    facts["nyquist_area"] = [nq.ax1 - nq.ax0, nq.ay1 - nq.ay0]
    facts["nyquist_segments"] = nq.n_drawn // 2
    facts["nyquist_minus1_px"] = px(-0.29 + float(nq._map(-1.0, *nq.xrange, nq.ax0, nq.ax1)),
                                    0.02 + float(nq._map(0.0, *nq.yrange, nq.ay0, nq.ay1)))
    facts["nyquist_legend"] = [t.text for t in nq._legend]
    facts["ticks"] = {name: [len(p.xticks), len(p.yticks)] for name, p in
                      (("line", plot), ("time", tp), ("spectrum", sp), ("bars", bars),
                       ("nyquist", nq))}
    # a log-log plot (the coil current) gets decade ticks
    ll = plot_from_spec(Plot("current", np.logspace(0, 2, 300), (1e-3 / np.logspace(0, 2, 300),),
                             xlabel="frequency (Hz)", ylabel="current (A/N)", logx=True,
                             logy=True), position=(-0.85, -0.24), size=(0.55, 0.25))
    facts["loglog_xticks"] = [float(v) for v in ll.xticks]
    facts["loglog_labels"] = [t.text for t in ll._xticks if t.enabled]
    step()
    img = engine.pixels().astype(int)
    orange = (img[..., 0] > 200) & (img[..., 1] > 110) & (img[..., 2] < 90)
    facts["bars_blue"] = float(((img[..., 2] > 200) & (img[..., 0] < 120))
                               [H_PX // 2 + 60:, W_PX // 2 + 60:].mean())
    facts["orange_top_left"] = float(orange[:H_PX // 2, :W_PX // 2].mean())
    c, r = facts["nyquist_minus1_px"]
    red = (img[..., 0] > 200) & (img[..., 1] < 140) & (img[..., 2] < 140)
    facts["red_at_minus1"] = float(red[r - 6:r + 7, c - 6:c + 7].mean())
    report = layout.report()
    facts["min_height_px"] = min(e["height_px"] for e in report)
    facts["layout_problems"] = [p for p in layout.problems(
        {"window": [W_PX, H_PX], "min_text_px": W.MIN_TEXT_PX_1080, "elements": report})
        if not p.startswith(("no region", "unknown region"))]
    engine.screenshot(out_png)
    return facts


@pytest.fixture(scope="module")
def ui(tmp_path_factory, run_scene_script):
    out = tmp_path_factory.mktemp("plots") / "plots.png"
    return run_scene_script(__file__, out, timeout=300)


def test_a_million_samples_draw_in_the_plot_area_only(ui):
    assert ui["changed_inside"] > 0.05  # the series cover a good part of the plot area
    assert ui["changed_right_half"] == 0.0  # nothing drawn outside this plot
    assert ui["blue_inside"] > 0.02
    assert 0 < ui["n_drawn"] <= 4 * ui["n_columns"]  # two series, <= 2 vertices per column
    lo, hi = ui["yrange"]
    assert -2.0 <= lo < -1.2 and 1.2 < hi <= 2.0
    assert ui["yrange_after"] == ui["yrange"] and ui["same_again"] < 30


def test_legend_and_title_stand_above_the_data(ui):
    assert all(y > ui["ay1"] for y in ui["header_above_data"])  # text tops over the data top
    assert len(ui["header_above_data"]) == 3  # title and two legend entries


def test_time_spectrum_and_bar_plots(ui):
    assert ui["time_xrange"] == pytest.approx([-2.0, 0.0])  # seconds before the newest
    assert ui["time_end"] == pytest.approx(6.999)
    assert ui["spectrum_xrange"] == [0.0, 40.0]
    # dashed model lines are many short segments; the tracked mark off the axis is left out
    assert ui["spectrum_marks"]["model"] > 3 * 2 * 4 and ui["spectrum_marks"]["tracked"] == 2
    assert ui["bars_yrange"][0] == 0.0 and ui["bars_yrange"][1] >= 49.0
    assert ui["bars_blue"] > 0.05  # filled bars
    assert ui["orange_top_left"] > 0.001  # second series in its own colour


def test_every_axis_has_3_to_6_ticks(ui):
    for name, (nx, ny) in ui["ticks"].items():
        assert 3 <= nx <= 6 and 3 <= ny <= 6, (name, nx, ny)
    # a spec's "frequency (Hz)" becomes the unit on the last tick: its row goes to the data
    assert ui["loglog_xticks"] == [0.0, 1.0, 2.0] and ui["loglog_labels"] == ["1", "10", "100 Hz"]


def test_nyquist_is_a_curve_with_equal_scales_and_the_minus_1_point(ui):
    assert ui["nyquist_kind"] == "curve"
    (x0, x1), (y0, y1) = ui["nyquist_ranges"]
    aw, ah = ui["nyquist_area"]
    ratio = ((x1 - x0) / aw) / ((y1 - y0) / ah)  # data units per length, x against y
    assert 0.5 - 1e-9 <= ratio <= 2.0 + 1e-9  # round stays round within a 2x stretch
    assert x0 < -1.0 < x1 and y0 < 0.0 < y1  # the critical point is in view
    assert 50 < ui["nyquist_segments"] < 3000  # merged per pixel, drawn in order
    assert ui["red_at_minus1"] > 0.1  # the red cross at -1
    assert any("-1" in s for s in ui["nyquist_legend"])


def test_plot_text_is_readable_and_never_overlaps(ui):
    assert ui["min_height_px"] >= 22 - 0.05  # 22 px at 1080p (widgets.MIN_TEXT_PX_1080)
    assert ui["layout_problems"] == []
