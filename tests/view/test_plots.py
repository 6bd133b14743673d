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
                                    nice_step, nice_ticks, psd_hann, to_db)


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


def test_nice_ticks_are_1_2_5_steps_inside_the_range():
    for lo, hi in [(0, 1), (-2.3, 7.9), (1e-4, 3e-4), (-120, 20), (0.2, 40), (995, 1005)]:
        t = nice_ticks(lo, hi, 6)
        step = nice_step(hi - lo, 6)
        mant = step / 10 ** np.floor(np.log10(step))
        assert any(np.isclose(mant, m) for m in (1, 2, 5, 10))
        assert 2 <= len(t) <= 7 and t[0] >= lo - 1e-12 and t[-1] <= hi + 1e-12
        np.testing.assert_allclose(np.diff(t), step)


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

def _script(out_png: str) -> dict:
    from twin3d.view import engine

    engine.start("offscreen", (1280, 720))
    from ursina import application

    from twin3d.view.plot_drawing import LinePlot, SpectrumPlot, TimePlot, plot_from_spec
    from twin3d.tools import Plot

    def step(n=2):
        for _ in range(n):
            application.base.taskMgr.step()

    # camera.ui: 1 unit = 720 px, x from -0.889 to 0.889; plot at top-left 0.8 x 0.42
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

    def px(u, v):  # camera.ui units -> pixel (col, row)
        return int(640 + u * 720), int(360 - v * 720)

    c0, r0 = px(-0.85 + plot.ax0, 0.45 + plot.ay1)
    c1, r1 = px(-0.85 + plot.ax1, 0.45 + plot.ay0)
    inside = changed[r0 + 2:r1 - 2, c0 + 2:c1 - 2]
    blue = (after[..., 2] > 200) & (after[..., 0] < 120)
    facts = {"changed_inside": float(inside.mean()), "changed_right_half": float(
        changed[:, 700:].mean()), "n_drawn": plot.n_drawn, "n_columns": plot.n_columns,
        "yrange": list(plot.yrange), "blue_inside": float(blue[r0:r1, c0:c1].mean())}
    for _ in range(5):  # a second identical update keeps the axis (hysteresis) and the picture
        plot.set_data(t, [y, 0.5 * np.cos(2 * np.pi * 3 * t)])
        step(1)
    facts["yrange_after"] = list(plot.yrange)
    facts["same_again"] = float(np.abs(engine.pixels().astype(int) - after).max())

    tp = TimePlot(window_s=2.0, position=(0.03, 0.45), size=(0.8, 0.42), title="last 2 s")
    tt = np.arange(0, 7.0, 0.001)
    tp.set_data(tt, np.sin(tt))
    facts["time_xrange"] = list(tp.xrange)
    sp = SpectrumPlot(n=4096, position=(-0.85, -0.02), size=(0.8, 0.42), title="spectrum")
    fs = 500.0
    ts = np.arange(8192) / fs
    sp.set_signal(np.sin(2 * np.pi * 6.2 * ts), fs)
    facts["spectrum_xrange"] = list(sp.xrange)
    bars = plot_from_spec(Plot("histogram", np.arange(8.0), (np.arange(8.0) ** 2,),
                               xlabel="bin", ylabel="count", kind="bars"),
                          position=(0.03, -0.02), size=(0.8, 0.42))
    facts["bars_yrange"] = list(bars.yrange)
    step()
    img = engine.pixels().astype(int)
    orange = (img[..., 0] > 200) & (img[..., 1] > 110) & (img[..., 2] < 90)
    facts["bars_blue"] = float(((img[..., 2] > 200) & (img[..., 0] < 120))[400:700, 700:].mean())
    facts["orange_top_left"] = float(orange[:360, :640].mean())
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


def test_time_spectrum_and_bar_plots(ui):
    assert ui["time_xrange"] == pytest.approx([4.999, 6.999])
    assert ui["spectrum_xrange"] == [0.0, 250.0]
    assert ui["bars_yrange"][0] == 0.0 and ui["bars_yrange"][1] >= 49.0
    assert ui["bars_blue"] > 0.05  # filled bars
    assert ui["orange_top_left"] > 0.001  # second series in its own colour
