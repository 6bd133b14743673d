"""The live side's history adapter: tracker results and alarms as the feed shows them, commands
and acks from the command channel, the trend it keeps for the scene; and the whole path in the
headless demo (the in-process rig, the scripted operator) read back by `twin3d history`."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from twin3d.history import open_store
from twin3d.live.history_feed import HistoryFeed, alarm_parts, alarm_subject, rig_of


def test_alarm_keys_ignore_the_changing_numbers():
    a = alarm_parts("mode 1 4.1 % above model; storey 2 stiffness -8 % +- 2 %")
    b = alarm_parts("mode 1 4.3 % above model; storey 2 stiffness -9 % +- 2 %")
    assert a.keys() == b.keys() and len(a) == 2
    assert alarm_parts("mode 3 4.1 % above model").keys() != alarm_parts(
        "mode 1 4.1 % above model").keys()
    assert alarm_subject("storey 2 stiffness -8 %") == {"mode": None, "storey": 2}
    assert alarm_subject("mode 3 2.2 % below model") == {"mode": 3, "storey": None}


@pytest.mark.parametrize("url, rig", [("mqtt://127.0.0.1:1883/lab2", "lab2"),
                                      ("mqtt://h:1883", "rig1"), ("sim?seed=5", "sim"),
                                      ("replay:/x/y?speed=2", "replay"),
                                      ("serial:///dev/ttyUSB0", "serial")])
def test_records_carry_the_rig_their_source_names(url, rig):
    assert rig_of(url) == rig


def test_what_the_feed_shows_becomes_records_and_the_trend(store_url):
    hf = HistoryFeed.open(store_url, rig="lab")
    feed = SimpleNamespace(tracked_hz=(), alarm="", t=0.0, tracker=None)
    hf.observe(feed)  # nothing tracked yet: nothing recorded
    alarms = ["", "mode 1 4.1 % above model", "mode 1 4.3 % above model",
              "mode 1 4.2 % above model; mode 3 2.5 % below model", "mode 3 2.6 % below model",
              ""]
    for i, alarm in enumerate(alarms):
        feed.tracked_hz = (6.0 + 0.01 * i, 6.9, float("nan"), 26.0)  # a new result each time
        feed.alarm, feed.t = alarm, float(i)
        hf.observe(feed)
        hf.observe(feed)  # the same frame's state again: no new record
    hf.on_command("command", {"op": "set_speed", "args": {"rpm": 250.0}, "user": "olga",
                              "id": "c1"})
    hf.on_command("dry_run", {"op": "set_speed", "user": "olga", "id": "c2",
                              "reason": "predicted drift 3.3 mm > 3 mm"})
    hf.on_command("ack_received", {"op": "set_speed", "id": "c1", "status": "done",
                                   "outcome": "at speed"})
    hf.on_command("timeout", {"op": "stop", "id": "c3", "status": "timeout",
                              "reason": "no final ack within 7 s"})
    trend = hf.trend()
    assert trend.t.size == 6 and trend.hz.shape == (6, 4)
    assert [k for _, k, _ in trend.marks] == ["raised", "raised", "cleared", "cleared"]
    c = hf.close()
    assert c["written"] == 6 + 4 + 4 and c["dropped"] == 0
    with open_store(store_url) as s:
        alarm_rows = [(r.payload["state"], r.payload["mode"]) for r in s.query(kinds=("alarm",))]
        cmds = s.query(kinds=("command",))
        acks = s.query(kinds=("ack",))
        assert {r.rig for r in s.query()} == {"lab"}
        tracker = s.query(kinds=("tracker",))
    assert alarm_rows == [("raised", 1), ("raised", 3), ("cleared", 1), ("cleared", 3)]
    assert [c.payload["result"] for c in cmds] == ["issued",
                                                   "refused by the twin: predicted drift 3.3 mm "
                                                   "> 3 mm"]
    assert [(a.payload["status"], a.payload["result"]) for a in acks] == [
        ("done", "at speed"), ("timeout", "no final ack within 7 s")]
    assert tracker[0].payload["frequencies_hz"] == [6.0, 6.9, None, 26.0]
    assert tracker[-1].payload["source_t"] == 5.0


def test_history_off_records_nothing_and_says_so():
    hf = HistoryFeed.open("none")
    hf.observe(SimpleNamespace(tracked_hz=(6.0,), alarm="x", t=0.0, tracker=None))
    assert hf.counters()["state"] == "off" and hf.warning() == ""
    assert hf.trend().t.size == 1  # the scene's trend still shows this run


@pytest.mark.slow
def test_the_demo_records_tracker_alarms_commands_and_acks(tmp_path):
    """The whole path: the headless demo (in-process rig, scripted operator sending commands)
    with --store, then `twin3d history --json` on that store."""
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    r = subprocess.run([sys.executable, "-m", "twin3d", "demo", "--window", "none",
                        "--seconds", "14", "--json", "--store", url],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    demo = json.loads(r.stdout)
    assert demo["history"]["written"] > 0 and demo["history"]["dropped"] == 0
    r = subprocess.run([sys.executable, "-m", "twin3d", "history", "--store", url, "--json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    h = json.loads(r.stdout)
    # every tracker result the demo had is stored (on a loaded machine its window may not have
    # filled in 14 s: then there is none, and none stored)
    tracked = [f for f in demo["tracked_hz"] if f is not None]
    assert (h["tracker_updates"] >= 1) == bool(tracked)
    if tracked:
        f1 = next(m for m in h["modes"] if m["mode"] == 1)
        assert 5.5 < f1["min_hz"] <= f1["mean_hz"] <= f1["max_hz"] < 6.5  # the rig's 5.98 Hz
        assert f1["min_hz"] - 1e-3 <= tracked[0] <= f1["max_hz"] + 1e-3  # its last among them
    assert any(c["op"] == "set_speed" and c["user"] == "demo" for c in h["commands"])
    assert any(a["status"] in ("accepted", "done") for a in h["acks"])
    assert demo["history"]["written"] == (h["tracker_updates"] + len(h["alarms"])
                                          + len(h["commands"]) + len(h["acks"])
                                          + len(h["calibrations"]) + len(h["localisations"]))


@pytest.mark.parametrize("age_s, span_s", [(0, 600), (300, 600), (900, 1800), (3000, 3600),
                                           (2 * 3600, 3 * 3600), (5 * 3600, 6 * 3600)])
def test_the_trend_window_grows_with_the_data(age_s, span_s):
    from twin3d.live.history_feed import Trend
    from twin3d.view.trend_plot import shown_span

    now = 1e9
    import numpy as np

    tr = Trend(np.array([now - 10.0]), np.zeros((1, 1)), ((now - age_s, "calibration", ""),),
               now=now)
    assert shown_span(tr) == span_s
