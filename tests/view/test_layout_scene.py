"""The layout rules on the real scene (twin3d/view/layout.py), at 1280x720, 1920x1080 and
3840x2160: in the kiosk tour (a mode, the run-up, the earthquake), in the operator view with a
tool panel open on its result, and after a refused command. Every text box on screen, inside
its region, none overlapping, none under 22 px at 1080p (scaled).

One subprocess per view and size (`run_scene_script`, tests/view/conftest.py); each writes the
layout report as `twin3d ... --layout-report` would, and the tests read the JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin3d.view import layout as L
from twin3d.view import widgets as W
from tests.view.conftest import step_until

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "2160p": (3840, 2160)}
KIOSK_STEPS = {"mode": 0, "run_up": 3, "earthquake": 4}  # tour(three_storey) indices


def _kiosk(w: int, h: int, out_dir: str) -> dict:
    from pathlib import Path

    from twin3d.live.feeds import SimFeed
    from twin3d.scenefile.records import load_scene
    from twin3d.view import layout
    from twin3d.view.app import TwinApp
    from twin3d.view.kiosk import tour

    scene = load_scene("three_storey")
    app = TwinApp(scene, SimFeed(scene), "offscreen", (w, h), panels=False, auto_orbit=True,
                  kiosk=True)
    steps = tour(scene)
    app.start_tour(steps)
    facts = {"steps": [s.caption or s.subtitle for s in steps]}
    for name, index in KIOSK_STEPS.items():
        app.tour.index = index - 1
        app.tour.next()
        app.step(24)  # far enough in for the plots and the caption to have content
        facts[name] = str(layout.write_report(Path(out_dir) / f"kiosk-{name}-{w}.json"))
        facts[f"{name}_rig"], facts[f"{name}_stage"] = _rig_on_screen(app, w / h)
        app.screenshot(Path(out_dir) / f"kiosk-{name}-{w}.png")  # to look at by hand
    return facts


def _rig_on_screen(app, aspect: float) -> tuple[list, list]:
    """The rig outline's box as panda3d's own camera and lens project it (device coordinates:
    x0, y0, x1, y1), and the stage it should fill."""
    from panda3d.core import Point2, Point3
    from ursina import application, scene

    from twin3d.view import framing, layout

    base = application.base
    xy = []
    for p in app.camera.corners:
        q = Point2()
        base.camLens.project(base.cam.get_relative_point(scene, Point3(*map(float, p))), q)
        xy.append((q.x, q.y))
    xy = np.array(xy)
    box = [*xy.min(axis=0), *xy.max(axis=0)]
    return [float(v) for v in box], list(framing.stage_ndc(layout.stage(aspect, "kiosk"), aspect))


def _operator(w: int, h: int, out_dir: str) -> dict:
    from pathlib import Path

    from twin3d.live.live_feed import LiveFeed
    from twin3d.scenefile.records import load_scene
    from twin3d.view import layout
    from twin3d.view.app import TwinApp

    scene = load_scene("three_storey")
    feed = LiveFeed("sim?rpm=250", scene, user="tester")
    facts: dict = {}

    def frames_until(cond, timeout):
        return step_until(app, cond, timeout)

    try:
        app = TwinApp(scene, feed, window="offscreen", size=(w, h))
        frames_until(lambda: feed.t > 0.5, 60)
        panel = app.panels.menu.open("vibration_control")
        panel.set_input("floor", "2")  # the default gain is unstable there: a long verdict
        panel.press_run()
        facts["tool_done"] = frames_until(lambda: not panel.busy, 240)
        app.step(2)
        facts["tool_summary"] = panel.summary_text
        facts["tool_colour"] = list(panel._summary.color)
        facts["tool"] = str(layout.write_report(Path(out_dir) / f"operator-tool-{w}.json"))
        app.screenshot(Path(out_dir) / f"operator-tool-{w}.png")
        motor = app.panels.motor
        # near the first resonance: the dry run refuses it with the drift and the limit
        motor.set_speed(60 * float(feed.model_hz[0]) / scene.data.crank.gear_ratio)
        facts["refused_seen"] = frames_until(lambda: "refused" in feed.sublabel, 30)
        app.hud._next_status = 0.0
        app.step(3)
        facts["refusal"] = motor._message.source_text
        facts["sublabel"] = feed.sublabel
        facts["refused"] = str(layout.write_report(Path(out_dir) / f"operator-refused-{w}.json"))
        app.screenshot(Path(out_dir) / f"operator-refused-{w}.png")
    finally:
        feed.close()
    return facts


def _script(view: str, w: str, h: str, out_dir: str) -> dict:
    return (_kiosk if view == "kiosk" else _operator)(int(w), int(h), out_dir)


@pytest.fixture(scope="module")
def reports(run_scene_script, tmp_path_factory):
    """{(view, size): facts}, run lazily: each pair is one subprocess."""
    cache: dict = {}

    def get(view: str, size: str) -> dict:
        if (view, size) not in cache:
            out = tmp_path_factory.mktemp(f"layout-{view}-{size}")
            cache[view, size] = run_scene_script(__file__, view, *SIZES[size], out,
                                                 timeout=600)
        return cache[view, size]

    return get


def _load(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


@pytest.mark.slow
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("situation", list(KIOSK_STEPS))
def test_kiosk_text_fits_and_reads(reports, size, situation):
    data = _load(reports("kiosk", size)[situation])
    assert data["window"] == list(SIZES[size]) and data["view"] == "kiosk"
    assert L.problems(data) == []
    regions = {e["region"] for e in data["elements"]}
    assert {"header", "caption", "legend"} <= regions
    caption = [e for e in data["elements"] if e["region"] == "caption"]
    # centred on the screen (within 2 % of its width) and no operator lines
    x0, x1 = min(e["box_px"][0] for e in caption), max(e["box_px"][2] for e in caption)
    assert abs((x0 + x1) / 2 - data["window"][0] / 2) < 0.02 * data["window"][0]
    words = " ".join(e["text"] for e in data["elements"])
    assert "fps" not in words and "blocks" not in words and "source   model" not in words


@pytest.mark.slow
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("situation", list(KIOSK_STEPS))
def test_kiosk_rig_fills_the_free_part_of_the_screen(reports, size, situation):
    """The camera frames the rig in the stage (clear of the header, plots and caption band),
    as panda3d's lens projects it: inside, centred, and filling the stage on one side."""
    facts = reports("kiosk", size)
    x0, y0, x1, y1 = facts[f"{situation}_rig"]
    s0, t0, s1, t1 = facts[f"{situation}_stage"]
    slack = 0.06  # the magnified sway and the table's travel move the rig about its outline
    assert s0 - slack <= x0 and x1 <= s1 + slack and t0 - slack <= y0 and y1 <= t1 + slack
    assert max((x1 - x0) / (s1 - s0), (y1 - y0) / (t1 - t0)) > 0.8
    assert abs((x0 + x1) - (s0 + s1)) / 2 < 0.08 and abs((y0 + y1) - (t0 + t1)) / 2 < 0.08
    if situation == "mode":  # the mode's profile fills the plot column the live plots leave
        data = _load(facts[situation])
        plots = " ".join(e["text"] for e in data["elements"] if e["region"] == "plots")
        assert "mode 1: sway of each floor" in plots and "spectrum" not in plots


@pytest.mark.slow
@pytest.mark.parametrize("size", list(SIZES))
def test_operator_with_a_tool_panel_open(reports, size):
    facts = reports("operator", size)
    assert facts["tool_done"]
    data = _load(facts["tool"])
    assert L.problems(data) == []
    panel = " ".join(e["text"] for e in data["elements"] if e["region"] == "panel")
    # the verdict comes first and every word of it and of its reason is on screen (wrapped,
    # not cut); the rest scrolls, and the panel says so
    lines = facts["tool_summary"].split("\n")
    assert lines[0].startswith("UNSTABLE")
    for line in lines[:2]:
        for word in line.split():
            assert word in panel.split(), (word, line)
    assert "scroll down" in panel
    # the unstable result in the warning colour, not plain white
    assert facts["tool_colour"] == pytest.approx(list(W.WARN), abs=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("size", list(SIZES))
def test_a_refused_command_stays_clear_of_the_hud(reports, size):
    facts = reports("operator", size)
    assert facts["refused_seen"], facts["sublabel"]
    data = _load(facts["refused"])
    assert L.problems(data) == []
    motor = " ".join(e["text"] for e in data["elements"] if e["region"] == "motor")
    assert "refused" in motor  # the motor panel's own line is on screen
    header = " ".join(" ".join(e["text"].split()) for e in data["elements"]
                      if e["region"] == "header")
    assert "refused" in header
