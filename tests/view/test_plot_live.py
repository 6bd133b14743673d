"""The live plots in the layout's `plots` region, fed synthetic states offscreen: a run-up's
speed plot (axes following the run-up, the mode-1 line), the spectrum's tracked and model
marks, and the layout report of the plots' text (inside the region, none overlapping, none
under the minimum height) at 1280x720 and 1920x1080.

Runs this file's `_script` in a subprocess (`run_scene_script`, tests/view/conftest.py)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # two offscreen windows in subprocesses: ~15-40 s

SIZES = ((1280, 720), (1920, 1080))


def _state(t, rpm, fs=500.0, tracked=(), model=(5.8, 17.6, 26.4)):
    import numpy as np

    from twin3d.live.state import TwinState

    th = np.arange(max(0.0, t - 10.0), t, 1.0 / fs)
    acc = np.sin(2 * np.pi * 5.8 * th) + 0.05 * np.sin(2 * np.pi * 17.6 * th)
    return TwinState(source="sim", t=t, floor_disp_m=np.zeros(3), table_disp_m=0.0,
                     motor_angle_rad=0.0, crank_angle_rad=0.0, speed_rpm=rpm,
                     sample_rate_hz=fs, history_t=th,
                     history={"a3": acc, "a0": 0.3 * acc}, tracked_hz=tracked, model_hz=model)


def _script(size: str, out_dir: str) -> dict:
    import json
    from pathlib import Path

    import numpy as np

    from twin3d.view import engine

    w, h = map(int, size.split("x"))
    engine.start("offscreen", (w, h))
    from ursina import application

    from twin3d.scenefile.records import load_scene
    from twin3d.view import layout
    from twin3d.view.live_plots import LivePlots

    def step(n=2):
        for _ in range(n):
            application.base.taskMgr.step()

    layout.set_view(True)  # the kiosk: the speed plot is its run-up step's
    scene = load_scene()
    plots = LivePlots(scene, every_n_frames=1, speed_plot=True)
    plots.floor, plots.table = "a3", "a0"  # the synthetic states' channels
    facts: dict = {}
    # a run-up: 0 -> 250 rpm, a shelf at the mode-1 speed (348 rpm) from 8 to 14 s, on to 520
    ts = np.arange(0.0, 24.0, 0.1)
    rpm = np.interp(ts, [0, 2, 6, 8, 14, 24], [0, 250, 250, 345, 352, 520])
    for t, r in zip(ts, rpm):
        plots.update(_state(float(t), float(r)))
    step()
    facts["turning"] = [plots.rpm.enabled, plots.psd.enabled, plots.acc.enabled]
    facts["rpm_xrange"] = list(plots.rpm.xrange)
    facts["rpm_yrange"] = list(plots.rpm.yrange)
    facts["rpm_yticks"] = len(plots.rpm.yticks)
    facts["mode_line"] = plots.rpm._marks["mode1"]["ys"].tolist()
    facts["rpm_legend"] = [t.text for t in plots.rpm._legend]
    facts["acc_xlabels"] = [t.text for t in plots.acc._xticks if t.enabled]
    path = layout.write_report(Path(out_dir) / "run_up.json")
    report = json.loads(path.read_text())
    facts["run_up_problems"] = layout.problems(report)
    facts["run_up_texts"] = len(report["elements"])
    # the next step: an earthquake, the motor still; the tracker has found two modes
    plots.reset()
    for t in np.arange(0.0, 3.0, 0.1):
        plots.update(_state(float(t), 0.0, tracked=(5.9, np.nan, 26.0)))
    step()
    facts["still"] = [plots.rpm.enabled, plots.psd.enabled]
    marks = plots.psd._marks
    facts["spectrum_marks"] = {k: [m["xs"].tolist(), m["dashed"], m["label"]]
                               for k, m in marks.items()}
    facts["spectrum_legend"] = [t.text for t in plots.psd._legend]
    path = layout.write_report(Path(out_dir) / "still.json")
    report = json.loads(path.read_text())
    facts["still_problems"] = layout.problems(report)
    facts["min_text_px"] = report["min_text_px"]
    facts["heights"] = [e["height_px"] for e in report["elements"]]
    return facts


@pytest.fixture(scope="module", params=[f"{w}x{h}" for w, h in SIZES])
def live(request, run_scene_script, tmp_path_factory):
    out = tmp_path_factory.mktemp("live-plots")
    return run_scene_script(__file__, request.param, out, timeout=300)


def test_the_speed_plot_follows_the_run_up_with_the_mode_line(live):
    assert live["turning"] == [True, False, True]  # the speed takes the spectrum's place
    x0, x1 = live["rpm_xrange"]
    assert x0 == 0.0 and x1 == pytest.approx(23.9)  # the whole step so far
    y0, y1 = live["rpm_yrange"]
    assert y0 == 0.0 and 520.0 < y1 <= 700.0  # up to the fastest speed, not far above
    assert 3 <= live["rpm_yticks"] <= 6
    assert live["mode_line"] == pytest.approx([60 * 5.8])
    assert live["rpm_legend"] == ["- - mode 1 (348 rpm)"]
    # the acceleration's time axis: seconds before now, the unit on the last label
    assert live["acc_xlabels"][-1] == "0 s" and 3 <= len(live["acc_xlabels"]) <= 6


def test_the_spectrum_marks_tracked_and_model_frequencies(live):
    assert live["still"] == [False, True]  # a new step, motor still: the spectrum is back
    marks = live["spectrum_marks"]
    assert marks["model"][0] == pytest.approx([5.8, 17.6, 26.4]) and marks["model"][1]
    assert marks["tracked"][0] == pytest.approx([5.9, 26.0])  # the unidentified one left out
    assert not marks["tracked"][1]
    assert "\u2014 tracked" in live["spectrum_legend"] and "- - model" in live["spectrum_legend"]


def test_the_plots_text_stays_in_its_region_readable_and_apart(live):
    assert live["run_up_texts"] > 10
    assert live["run_up_problems"] == []
    assert live["still_problems"] == []
    assert min(live["heights"]) >= live["min_text_px"] - 0.05
