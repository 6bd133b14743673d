"""The motor panel drives the in-process rig: TwinApp offscreen on `LiveFeed("sim")`, the panel's
set_speed goes through the twin's commander, the rig reaches the speed and the panel shows its
ack; E-STOP latches the panel and the rig.

Ursina is one app per process, so `_script` runs in a subprocess without a display
(`run_scene_script`, tests/view/conftest.py) and returns facts; the tests assert on those."""

from __future__ import annotations


import pytest
from tests.view.conftest import step_until


def shown(motor) -> str:
    """The panel's message line as drawn, its wrapping undone."""
    return " ".join(motor._message.text.split())


def _script() -> dict:
    from twin3d.live.live_feed import LiveFeed
    from twin3d.view.app import TwinApp
    from twin3d.scenefile.records import load_scene

    scene = load_scene("three_storey")
    feed = LiveFeed("sim", scene, user="tester")
    facts: dict = {}
    try:
        app = TwinApp(scene, feed, window="offscreen", size=(640, 360))
        motor = app.panels.motor
        facts["has_motor"] = motor is not None
        facts["sink_is_commander"] = motor.sink is feed.commander
        c = feed.commander

        def frames_until(cond, timeout):
            return step_until(app, cond, timeout)

        facts["ready"] = frames_until(lambda: feed.ingest.rig_state is not None, 60)
        facts["pressed"] = motor.set_speed(200)
        facts["msg_after_press"] = shown(motor)
        facts["reached"] = frames_until(
            lambda: c.counters.done >= 1 and abs(feed.speed_rpm - 200) < 10, 60)
        frames_until(lambda: False, 0.3)  # the panel's update picks up the newest notice
        facts["speed_rpm"] = feed.speed_rpm
        facts["msg_done"] = shown(motor)
        facts["last_message"] = motor.last_message
        facts["last_ok"] = motor.last_ok
        facts["panel_target"] = motor.target_rpm
        facts["speed_label"] = motor._speed.text
        facts["status_label"] = motor._status.text
        facts["sublabel"] = feed.sublabel
        facts["counters"] = dict(vars(c.counters))

        facts["estop_ok"] = motor.press_estop()
        facts["latched_at_once"] = motor.latched
        facts["rig_estop"] = frames_until(
            lambda: feed.ingest.status == "estop" and motor._status.text == "status: estop", 30)
        facts["stopped"] = frames_until(lambda: abs(feed.speed_rpm) < 5, 30)
        frames_until(lambda: "done" in shown(motor), 5)
        facts["msg_after_estop"] = shown(motor)
        facts["status_after_estop"] = motor._status.text
        facts["rig_status"] = c.status
        facts["estop_button"] = motor.estop_button.text
        facts["latched"] = motor.latched
        sent = c.counters.sent
        facts["speed_while_latched"] = motor.set_speed(150)
        facts["msg_while_latched"] = shown(motor)
        facts["sent_while_latched"] = c.counters.sent - sent
        app.step(2)
        facts["frames"] = app.frames
    finally:
        feed.close()
    return facts


@pytest.fixture(scope="module")
def facts(run_scene_script):
    return run_scene_script(__file__, timeout=400)


def test_motor_panel_commands_the_live_rig_through_the_commander(facts):
    assert facts["has_motor"] and facts["sink_is_commander"] and facts["ready"]
    assert facts["pressed"] is True
    assert "sent, waiting for the rig" in facts["msg_after_press"]
    assert facts["reached"], facts
    assert abs(facts["speed_rpm"] - 200) < 10
    # the rig's ack, through the source and the commander, is what the panel shows
    assert "speed 200 rpm: done (reached)" in facts["msg_done"] and facts["last_ok"]
    assert facts["sublabel"] == facts["last_message"] == facts["msg_done"]
    assert facts["panel_target"] == 200 and facts["speed_label"].startswith("200 rpm")
    assert facts["status_label"] == "status: ok"
    c = facts["counters"]
    assert c["sent"] == 1 and c["accepted"] == 1 and c["done"] == 1
    assert c["refused_by_twin"] == 0 and c["timeouts"] == 0 and c["heartbeats"] >= 2


def test_estop_on_the_panel_latches_the_panel_and_the_rig(facts):
    assert facts["estop_ok"] is True and facts["latched_at_once"]
    assert facts["rig_estop"], facts
    assert facts["rig_status"] == "estop" and facts["status_after_estop"] == "status: estop"
    assert facts["stopped"]
    assert facts["msg_after_estop"] == "estop: done (stopped)"  # the rig's acks, on the panel
    assert "LATCHED" in facts["estop_button"] and facts["latched"]
    assert facts["speed_while_latched"] is False
    assert "press Reset first" in facts["msg_while_latched"]
    assert facts["sent_while_latched"] == 0
    assert facts["frames"] > 10
