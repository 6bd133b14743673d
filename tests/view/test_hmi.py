"""The operator view's alarm banner and command log on the in-process rig, at 1920x1080: a raised
alarm in its severity's colour with its time, acknowledged by the A key or a click; an e-stop
outranks it; a speed on mode 1 refused by the twin's dry run, in the log with its plain reason
and number, in the warning colour, beside the rig's acks; the lease and heartbeat line; and the
banner's and log's text inside their layout regions, readable, overlapping nothing.

Ursina is one app per process: `_script` runs in a subprocess (`run_scene_script`,
tests/view/conftest.py) and returns facts; the tests assert on those."""

from __future__ import annotations

import re

import pytest
from tests.view.conftest import step_until

pytestmark = pytest.mark.slow  # a 1920x1080 scene on the in-process rig: ~20-40 s

ALARM = "mode 1 4.1 % above model"


def _script() -> dict:
    import json
    import tempfile
    from dataclasses import replace
    from pathlib import Path

    from twin3d.live.live_feed import LiveFeed
    from twin3d.scenefile.records import load_scene
    from twin3d.view import layout
    from twin3d.view import widgets as W
    from twin3d.view.app import TwinApp

    from twin3d.protocol.audit import AuditLog, read_audit

    scene = load_scene("three_storey")
    audit_dir = tempfile.mkdtemp(prefix="twin3d-hmi-audit-")
    feed = LiveFeed("sim", scene, user="tester", audit=AuditLog("twin", audit_dir))
    alarm = {"text": ALARM}  # the tracker's alarm, raised by hand: no damage to wait for
    state = feed.state
    feed.state = lambda: replace(state(), alarm=alarm["text"])
    colour = lambda c: [round(float(v), 3) for v in c]  # noqa: E731
    facts: dict = {"WARN": colour(W.WARN), "TEXT": colour(W.TEXT), "PANEL": colour(W.PANEL),
                   "ESTOP": colour(W.ESTOP)}
    try:
        app = TwinApp(scene, feed, window="offscreen", size=(1920, 1080))
        banner, log, motor = app.alarm_banner, app.command_log, app.panels.motor

        def frames_until(cond, timeout):
            return step_until(app, cond, timeout)

        def look(name):
            facts[name] = {"enabled": banner.enabled, "text": " ".join(banner.text.text.split()),
                           "box": colour(banner.box.color), "ink": colour(banner.text.color),
                           "button": banner.button.enabled}

        facts["ready"] = frames_until(lambda: feed.ingest.rig_state is not None, 60)
        # the banner first, before any command: a viewer holds no lease to lose, so only the
        # alarms made here stand (on a loaded machine an operator's slow frames may lapse it)
        look("raised")
        facts["raised_at"] = banner.alarms.top().raised_at
        banner.input("a")  # the operator acknowledges
        look("acked")
        alarm["text"] = ""
        app.step(2)
        look("cleared_after_ack")
        alarm["text"] = ALARM  # raised again, cleared before anyone looked
        app.step(2)
        alarm["text"] = ""
        app.step(2)
        look("cleared_unacked")
        banner.button.on_click()  # acknowledged by a click this time
        app.step(1)
        look("gone")
        facts["acks"] = [r for r in read_audit(audit_dir)[0] if r["kind"] == "alarm_ack"]

        alarm["text"] = ALARM
        facts["sent"] = motor.set_speed(120)
        facts["done"] = frames_until(lambda: feed.commander.counters.done >= 1, 60)
        facts["refused"] = motor.set_speed(346.8)
        # the log redraws at most four times a second: frames until it shows the refusal (a
        # fixed wait is one slow frame on a loaded machine)
        frames_until(lambda: any("refused" in t.text for t in log.lines if t.enabled), 30)
        facts["log"] = [{"text": " ".join(t.text.split()), "colour": colour(t.color)}
                        for t in log.lines if t.enabled]
        facts["lease"], facts["lease_colour"] = log.lease.text, colour(log.lease.color)
        facts["rig_lease"] = feed.ingest.rig_state.get("lease")  # what the line should say
        with tempfile.TemporaryDirectory() as tmp:  # the report of the last frame drawn
            report = json.loads(layout.write_report(Path(tmp) / "layout.json").read_text())
        facts["problems"] = [p for p in layout.problems(report)
                             if "(banner)" in p or "(log)" in p]
        facts["mine"] = [e for e in report["elements"] if e["region"] in ("banner", "log")]
        facts["min_px"] = report["min_text_px"]

        motor.press_estop()
        frames_until(lambda: feed.ingest.status == "estop", 30)
        app.step(2)
        look("estop")
        log.update_log(None, 1e12)  # a read-only feed: no log
        facts["log_without_commander"] = log.enabled
    finally:
        feed.close()
    return facts


@pytest.fixture(scope="module")
def facts(run_scene_script):
    return run_scene_script(__file__, timeout=400)


def test_a_raised_alarm_fills_the_banner_in_its_colour_with_its_time(facts):
    from twin3d.live.alarm_log import clock_text

    assert facts["ready"]
    r = facts["raised"]
    assert r["enabled"] and r["box"] == facts["WARN"] and r["button"]
    assert r["text"].startswith(f"WARNING NEW {clock_text(facts['raised_at'])} {ALARM}")


def test_acknowledged_it_turns_quiet_and_leaves_when_it_clears(facts):
    a = facts["acked"]
    assert a["enabled"] and a["box"] == facts["PANEL"] and a["ink"] == facts["WARN"]
    assert "NEW" not in a["text"] and not a["button"]
    assert not facts["cleared_after_ack"]["enabled"]
    # cleared before anyone acknowledged it: it stays, marked, until acknowledged
    c = facts["cleared_unacked"]
    assert c["enabled"] and "(cleared" in c["text"] and c["box"] == facts["WARN"]
    assert not facts["gone"]["enabled"]


def test_each_acknowledgement_is_in_the_audit_log(facts):
    """Who acknowledged which alarm, when it was raised, and whether it had cleared."""
    acks = facts["acks"]
    assert [(a["user"], a["alarm"], a["severity"], a["cleared"]) for a in acks] == [
        ("tester", ALARM, "warning", False), ("tester", ALARM, "warning", True)]
    assert acks[0]["raised_at"] == facts["raised_at"] and acks[1]["t"] >= acks[0]["t"]


def test_an_estop_outranks_the_mode_alarm(facts):
    e = facts["estop"]
    assert e["box"] == facts["ESTOP"] and e["text"].startswith("CRITICAL NEW")
    assert "rig: ESTOP" in e["text"] and re.search(r"\(\+\d more\)$", e["text"])


def test_the_command_log_shows_the_refusal_with_its_reason_and_number(facts):
    assert facts["sent"] is True and facts["done"] and facts["refused"] is False
    log = facts["log"]
    newest = log[0]
    assert "set speed: refused by the twin: steady drift 3.3 mm in storey 1 at 346.8 rpm " \
           "would exceed the 3 mm limit" in newest["text"]
    assert newest["colour"] == facts["WARN"]
    assert any("speed 120 rpm: done: reached" in e["text"] and e["colour"] == facts["TEXT"]
               for e in log[1:])
    # the rig's word: ours, or lapsed when a loaded machine's frames (which send the heartbeats)
    # came more than the watchdog's 2 s apart
    if facts["rig_lease"] == "tester":
        assert facts["lease"].startswith("lease held by you (tester)  |  heartbeat")
    else:
        assert facts["rig_lease"] is None and facts["lease"].startswith("lease free  |  ")
        assert facts["lease_colour"] == facts["WARN"]
    assert facts["log_without_commander"] is False


def test_banner_and_log_text_stays_in_its_regions_readable_and_apart(facts):
    regions = {e["region"] for e in facts["mine"]}
    assert regions == {"banner", "log"}
    assert any("refused by the twin" in e["text"] for e in facts["mine"])
    assert all(e["height_px"] >= facts["min_px"] - 0.05 for e in facts["mine"])
    assert facts["problems"] == []
