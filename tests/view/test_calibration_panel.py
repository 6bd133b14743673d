"""The scene's calibrate action: TwinApp offscreen on the in-process rig with its crank
running; pressing the panel's button has the live twin collect and fit, the bar shows the
progress, and the new model reaches the HUD's model line. Runs in a subprocess
(`run_scene_script`, tests/view/conftest.py)."""

from __future__ import annotations


import pytest
from tests.view.conftest import step_until


def _script() -> dict:
    from twin3d.live.live_feed import LiveFeed
    from twin3d.scenefile.records import load_scene
    from twin3d.view.app import TwinApp

    scene = load_scene("three_storey")
    feed = LiveFeed("sim?rpm=250", scene, user="tester")
    facts: dict = {}
    try:
        app = TwinApp(scene, feed, window="offscreen", size=(640, 360))
        panel = app.panels.calibration
        facts["has_panel"] = panel is not None
        panel.seconds = 10.0

        def frames_until(cond, timeout):
            return step_until(app, cond, timeout)

        frames_until(lambda: feed.est is not None and feed.t > 0.5, 60)
        facts["model_before"] = list(feed.model_hz)
        facts["line_before"] = panel._line.text
        panel.press()
        facts["collecting"] = frames_until(lambda: feed.calibration.progress > 0.3, 30)
        facts["fill_while_collecting"] = float(panel._fill.scale_x)
        facts["button_disabled_while"] = bool(panel.button.disabled)
        facts["done"] = frames_until(lambda: not feed.calibration.active, 90)
        frames_until(lambda: False, 0.6)  # the HUD refreshes four times a second
        facts["state"] = feed.calibration.state
        facts["line_after"] = " ".join(panel._line.text.split())
        facts["button_disabled_after"] = bool(panel.button.disabled)
        facts["model_after"] = list(feed.model_hz)
        facts["truth"] = [float(f) for f in feed.ingest.rig.core.truth_hz]
        facts["hud_lines"] = [t.text for t in app.hud.status]
        facts["profile"] = feed.profile_name
    finally:
        feed.close()
    return facts


@pytest.fixture(scope="module")
def facts(run_scene_script):
    return run_scene_script(__file__, timeout=400)


@pytest.mark.slow
def test_the_calibrate_button_collects_fits_and_switches_the_model(facts):
    assert facts["has_panel"] and " ".join(facts["line_before"].split()).startswith("model: ")
    assert facts["collecting"] and facts["fill_while_collecting"] > 0.05
    assert facts["button_disabled_while"] and not facts["button_disabled_after"]
    assert facts["done"] and facts["state"] == "done", facts["line_after"]
    assert facts["line_after"].startswith("calibrated from 10 s")
    assert facts["profile"].startswith("calibrated-")
    for got, want in zip(facts["model_after"], facts["truth"]):
        assert abs(got / want - 1) < 3e-3
    assert abs(facts["model_before"][0] / facts["truth"][0] - 1) > 0.03
    # the HUD's model line shows the calibrated model's frequencies
    model_line = next(line for line in facts["hud_lines"] if line.startswith("model"))
    assert f"{facts['model_after'][0]:.2f}" in model_line
