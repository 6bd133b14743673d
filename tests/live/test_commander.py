"""The twin's command path on the in-process rig (`sim` source): heartbeats only after a command
and from the frame loop, speed accepted and reached, the twin's dry run refusing a speed on
mode 1 without publishing it, the rig's watchdog when the frames stop, e-stop latched until
reset, a visible timeout, the rig's will, and the scripted demo operator.

Waits are on conditions with generous timeouts; no single event is timed."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from twin3d.live import commander as commander_mod
from twin3d.protocol.commands import DEFAULT_TTL_S
from twin3d.live.demo import LOOP_S, ON_MODE_1, SCRIPT, DemoOperator
from twin3d.io.loopback import LoopbackBus
from twin3d.io.mqtt_link import Topics
from twin3d.io.mqtt_source import MqttSource
from twin3d.live.live_feed import LiveFeed
from twin3d.scenefile.records import load_scene

SCENE = load_scene("three_storey")
TOPICS = Topics.for_rig("sim")
USER = "tester"


@pytest.fixture
def feed():
    f = LiveFeed("sim", SCENE, user=USER)
    try:
        yield f
    finally:
        f.close()


def drive(feed, until=lambda: False, timeout: float = 10.0) -> bool:
    """The frame loop, headless: wait for data, advance; True once `until()` holds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        feed.ingest.wait(0.05)
        feed.advance()
        if until():
            return True
    return False


def listen(feed, topic: str):
    """A separate client on the rig's bus, like a second twin watching one topic."""
    return feed.ingest.rig.bus.link(subscriptions=[topic]).start()


def rig_state(feed) -> dict:
    s = feed.ingest.rig_state
    return s if isinstance(s, dict) else {}


def near(value: float, target: float, tol: float) -> bool:
    return abs(value - target) <= tol


def test_heartbeats_only_after_the_first_command_about_four_per_second(feed):
    hb = listen(feed, TOPICS.heartbeat_filter)
    # a viewer: data flows, the frame loop runs, and no heartbeat goes out
    assert drive(feed, lambda: feed.ingest.counters["blocks"] > 20, 30)
    drive(feed, timeout=1.0)
    assert hb.drain() == [] and feed.commander.counters.heartbeats == 0
    assert not feed.commander.operator

    ok, _ = feed.commander.set_speed(200)
    assert ok and feed.commander.operator
    t0 = time.monotonic()
    drive(feed, timeout=2.0)
    elapsed = time.monotonic() - t0
    msgs = hb.drain()
    # every 0.25 s from the frame loop (one at the command): about 9 in 2 s
    assert 5 <= len(msgs) <= 12, (len(msgs), elapsed)
    for m in msgs:
        obj = json.loads(m.payload)
        assert obj["user"] == USER and isinstance(obj["t"], float)
    assert feed.commander.counters.heartbeats >= len(msgs)


def test_set_speed_is_accepted_and_reached(feed):
    c = feed.commander
    ok, msg = c.set_speed(200)
    assert ok and "sent" in msg
    assert drive(feed, lambda: c.counters.done >= 1, 30), c.notice
    assert c.notice[0] and "done" in c.notice[1] and "reached" in c.notice[1]
    assert "done" in feed.sublabel
    assert c.counters.sent == 1 and c.counters.accepted == 1 and c.counters.done == 1
    assert c.counters.rejected == 0 and c.counters.timeouts == 0
    assert drive(feed, lambda: near(feed.speed_rpm, 200, 8), 10), feed.speed_rpm
    assert c.target_rpm == 200
    assert c.pending == {}
    assert c.status == "ok" and rig_state(feed)["lease"] == USER


def test_speed_on_mode_1_is_refused_by_the_twin_and_never_published(feed):
    cmd = listen(feed, TOPICS.cmd_filter)
    hb = listen(feed, TOPICS.heartbeat_filter)
    assert drive(feed, lambda: feed.ingest.rig_state is not None, 30)
    ok, msg = feed.commander.set_speed(346.8)
    assert not ok
    assert feed.commander.notice == (False, msg)
    assert msg.startswith("refused by the twin") and "mm" in msg
    assert "drift" in msg
    c = feed.commander.counters
    assert c.refused_by_twin == 1 and c.sent == 0 and c.heartbeats == 0
    assert not feed.commander.operator and feed.commander.pending == {}
    drive(feed, timeout=1.0)
    assert cmd.drain() == [] and hb.drain() == []
    # the rig never heard of it: no lease, no target
    assert rig_state(feed).get("lease") is None and rig_state(feed).get("target_rpm") == 0
    # a safe speed on the same path does go out, as one JSON command
    assert feed.commander.set_speed(200)[0]
    sent = cmd.get(2.0)
    assert sent is not None and json.loads(sent.payload)["args"]["rpm"] == 200.0


def test_the_watchdog_ramps_down_when_the_frames_stop(feed):
    c = feed.commander
    timeout_s = SCENE.data.limits.heartbeat_timeout_s
    assert c.set_speed(200)[0]
    assert drive(feed, lambda: c.counters.done >= 1 and near(feed.speed_rpm, 200, 8), 30)
    # frames keep coming for longer than the watchdog's limit: the motor keeps running
    drive(feed, timeout=timeout_s + 1.0)
    st = rig_state(feed)
    assert st["target_rpm"] == 200 and st["lease"] == USER and st["last_trip"] is None
    assert near(feed.speed_rpm, 200, 8)

    # the screen freezes: no advance(), no tick(), no heartbeat, while the rig runs on
    sent_hb = c.counters.heartbeats
    time.sleep(timeout_s + 1.5)
    assert c.counters.heartbeats == sent_hb
    assert drive(feed, lambda: (rig_state(feed).get("last_trip") or {}).get("kind")
                 == "watchdog", 10), rig_state(feed)
    st = rig_state(feed)
    assert st["target_rpm"] == 0 and st["status"] == "ok"  # not latched
    assert USER in st["last_trip"]["message"] and "heartbeat" in st["last_trip"]["message"]
    # the heartbeats resumed, but the lease lapsed: the motor ramps down and stays down
    assert drive(feed, lambda: feed.speed_rpm < 5, 10), feed.speed_rpm
    drive(feed, timeout=1.0)
    assert c.counters.heartbeats > sent_hb
    assert rig_state(feed)["target_rpm"] == 0 and feed.speed_rpm < 5
    # not latched: the operator may start it again
    assert c.set_speed(150)[0]
    assert drive(feed, lambda: c.counters.done >= 2, 30), c.notice
    assert "reached" in c.notice[1]


def test_estop_latches_until_reset(feed):
    c = feed.commander
    assert c.set_speed(200)[0]
    assert drive(feed, lambda: c.counters.accepted >= 1 and feed.speed_rpm > 50, 30)
    ok, _ = c.estop()
    assert ok
    assert drive(feed, lambda: feed.ingest.status == "estop", 10), feed.ingest.status
    assert c.status == "estop" and rig_state(feed)["brake"] is True
    assert drive(feed, lambda: feed.speed_rpm < 5, 10), feed.speed_rpm
    # while latched the rig rejects a speed (the twin's dry run lets it through)
    done_before = c.counters.done
    ok, _ = c.set_speed(200)
    assert ok  # sent
    assert drive(feed, lambda: c.counters.rejected >= 1, 10), c.notice
    assert not c.notice[0] and "rejected" in c.notice[1] and "reset" in c.notice[1]
    drive(feed, timeout=0.5)
    assert feed.ingest.status == "estop" and feed.speed_rpm < 5

    assert c.reset()[0]
    assert drive(feed, lambda: feed.ingest.status == "ok" and c.counters.done > done_before,
                 10), (feed.ingest.status, c.notice)
    assert c.set_speed(200)[0]
    assert drive(feed, lambda: "reached" in c.notice[1], 30), c.notice
    assert near(feed.speed_rpm, 200, 10) and c.target_rpm == 200
    assert c.counters.timeouts == 0


def test_a_command_nobody_answers_times_out_visibly():
    """A bus with no rig: the command goes out, and after ttl + margin the twin says so."""
    bus = LoopbackBus()
    src = MqttSource("test", bus.link(), "norig").start()
    cmd_seen = bus.link(subscriptions=[Topics.for_rig("norig").cmd_filter]).start()
    now = [1000.0]
    c = commander_mod.Commander(src, SCENE, user=USER, clock=lambda: now[0])
    ok, msg = c.send("stop")
    assert ok and "sent" in msg and len(c.pending) == 1
    assert len(cmd_seen.drain()) == 1
    limit = DEFAULT_TTL_S + commander_mod.ACK_MARGIN_S
    now[0] += limit - 0.1
    c.tick()
    assert c.counters.timeouts == 0 and c.notice[0]
    now[0] += 0.2
    c.tick()
    assert c.counters.timeouts == 1 and c.pending == {}
    assert not c.notice[0]
    assert "no answer from the rig" in c.notice[1] and f"{limit:g} s" in c.notice[1]
    c.tick()  # reported once
    assert c.counters.timeouts == 1
    src.stop()


def test_a_stopped_rig_gives_no_answer(feed, monkeypatch):
    """The real feed with its rig stopped (cleanly: its state says offline)."""
    monkeypatch.setattr(commander_mod, "ACK_MARGIN_S", 0.3)
    c = feed.commander
    offset = [0.0]
    c.clock = lambda: time.monotonic() + offset[0]
    assert drive(feed, lambda: feed.ingest.rig_state is not None, 30)
    feed.ingest.rig.stop()
    assert drive(feed, lambda: feed.ingest.status == "offline", 10), feed.ingest.status
    ok, _ = c.set_speed(200)
    assert ok and c.counters.sent == 1
    drive(feed, timeout=0.5)
    assert c.counters.timeouts == 0 and c.counters.accepted == 0
    offset[0] += DEFAULT_TTL_S  # the command's ttl passes
    assert drive(feed, lambda: c.counters.timeouts == 1, 5), c.notice
    assert "no answer from the rig" in c.notice[1]
    assert f"within {DEFAULT_TTL_S + 0.3:g} s" in c.notice[1]
    assert c.counters.accepted == 0 and c.counters.done == 0 and c.pending == {}


def test_the_rig_dying_makes_the_status_lost(feed):
    assert drive(feed, lambda: feed.ingest.status == "ok"
                 and feed.ingest.counters["blocks"] > 5, 30), feed.ingest.status
    blocks = feed.ingest.counters["blocks"]
    feed.ingest.rig.kill()
    assert drive(feed, lambda: feed.ingest.status == "lost", 10), feed.ingest.status
    assert feed.commander.status == "lost" and feed.step().status == "lost"
    # and no more data comes
    drive(feed, timeout=0.5)
    n = feed.ingest.counters["blocks"]
    drive(feed, timeout=0.5)
    assert feed.ingest.counters["blocks"] == n >= blocks


# --- the scripted operator of `twin3d demo` --------------------------------------------------

class FakeCommander:
    def __init__(self):
        self.counters = SimpleNamespace(sent=0, refused_by_twin=0, send_failures=0)
        self.calls: list[tuple[str, dict]] = []
        self.notice = (True, "")

    def send(self, op, args=None):
        self.calls.append((op, dict(args or {})))
        if op == "set_speed" and args["rpm"] > 340:  # what the dry run does on mode 1
            self.counters.refused_by_twin += 1
            self.notice = (False, "refused by the twin: drift")
        else:
            self.counters.sent += 1
            self.notice = (True, f"{op}: sent")
        return self.notice


# the calibrate step is the twin's own action (feed.calibrate), never sent to the rig
MODE_1_HZ = [5.98]  # the calibrated model's mode 1 (the scene's is 5.78 Hz)
SCRIPTED = [(op, {**args, "rpm": round(60 * MODE_1_HZ[0], 1)} if args.get("rpm") == ON_MODE_1
             else args) for _, _, cmd in SCRIPT if cmd is not None for op, args in [cmd]
            if op != "calibrate"]


def _operator(commander, loop):
    return DemoOperator(commander, loop=loop, model_hz=lambda: MODE_1_HZ)


def test_demo_operator_sends_each_scripted_command_once_per_loop():
    fake = FakeCommander()
    op = _operator(fake, True)
    captions = []
    t = 0.0
    while t < 2 * LOOP_S:
        captions.append(op(t))
        op(t)  # a second frame at the same time sends nothing more
        t += 0.25
    assert fake.calls == SCRIPTED * 2
    assert op.issued == len(SCRIPTED) * 2 and op.active
    assert captions[0] == SCRIPT[0][1]
    assert SCRIPT[1][1] in captions and SCRIPT[-1][1] in captions
    # the refused one counts as the operator's own, not as someone else's
    assert fake.counters.refused_by_twin == 2

    once = FakeCommander()
    op1 = _operator(once, False)
    for k in range(int(3 * LOOP_S / 0.5)):
        op1(k * 0.5)
    assert once.calls == SCRIPTED


def test_demo_operator_asks_for_mode_1_of_the_model_it_holds_when_it_sends():
    fake = FakeCommander()
    hz = [5.78]
    op = DemoOperator(fake, loop=True, model_hz=lambda: hz)
    op(17.0)  # the scene's model
    hz[0] = 5.98  # a calibration came in: the next loop asks for the new mode 1
    op(LOOP_S + 17.0)
    rpms = [a["rpm"] for o, a in fake.calls if o == "set_speed" and a["rpm"] > 340]
    assert rpms == [346.8, 358.8]


def test_demo_operator_stops_once_someone_else_commands():
    fake = FakeCommander()
    op = _operator(fake, True)
    op(0.0)
    op(5.0)  # the run-up
    assert len(fake.calls) == 1
    fake.send("set_speed", {"rpm": 100.0})  # a person on the motor panel
    n = len(fake.calls)
    assert op(17.0) == "operator in control: scripted demo stopped"
    assert not op.active
    for t in (17.0, 21.0, 35.0, LOOP_S + 5.0, 2 * LOOP_S + 5.0):
        assert op(t) is None
    assert len(fake.calls) == n


def test_demo_operator_stops_on_a_refused_command_from_someone_else():
    fake = FakeCommander()
    op = _operator(fake, False)
    op(0.0)
    fake.send("set_speed", {"rpm": 346.8})  # refused by the twin, but not the operator's
    assert op(5.0) == "operator in control: scripted demo stopped"
    assert fake.calls == [("set_speed", {"rpm": 346.8})]


# --- the command channel under both the commander and `twin3d cmd` ---------------------------

class ListAudit:
    def __init__(self):
        self.records: list[tuple[str, dict]] = []

    def write(self, kind, **fields):
        self.records.append((kind, fields))
        return True

    def kinds(self) -> list[str]:
        return [k for k, _ in self.records]


def test_one_heartbeat_period_for_the_commander_and_twin3d_cmd():
    from twin3d.cli import rig_cmds
    from twin3d.live import command_channel

    assert commander_mod.HEARTBEAT_EVERY_S == command_channel.HEARTBEAT_EVERY_S == 0.25
    assert not hasattr(rig_cmds, "HEARTBEAT_EVERY_S")
    assert not hasattr(rig_cmds, "_send_mqtt") and not hasattr(rig_cmds, "_send_serial")


def _fake_mqtt_rig(bus, topics, answer: bool):
    """A rig on the bus: its retained state, and accepted + done for every command."""
    import threading

    link = bus.link(subscriptions=[topics.cmd_filter, topics.heartbeat_filter]).start()
    link.publish(topics.state, json.dumps({"status": "ok", "stroke_m": 0.002}), retain=True)
    heard = {"cmd": [], "heartbeat": []}
    stop = threading.Event()

    def run():
        while not stop.is_set():
            m = link.get(0.02)
            if m is None:
                continue
            heard[m.topic.split("/")[2]].append(m.json())
            if m.topic == topics.cmd_of(USER) and answer:
                cid = m.json()["id"]
                for status in ("accepted", "done"):
                    link.publish(topics.ack, json.dumps({"id": cid, "status": status,
                                                         "op": "stop", "source": "rig",
                                                         "outcome": "stopped"}))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return heard, lambda: (stop.set(), t.join(2), link.stop())


def test_run_command_sends_follows_acks_and_holds_the_lease_on_mqtt():
    from twin3d.live.command_channel import CommandChannel, MqttWire, run_command
    from twin3d.protocol.commands import make_command

    bus, topics = LoopbackBus(), Topics.for_rig("r")
    heard, stop_rig = _fake_mqtt_rig(bus, topics, answer=True)
    try:
        wire = MqttWire(bus.link(subscriptions=MqttWire.subscriptions(topics)), topics)
        audit = ListAudit()
        channel = CommandChannel(wire, SCENE, USER, audit)
        out = run_command(channel, make_command("stop", user=USER), timeout_s=5, hold_s=0.6)
        assert out["status"] == "done" and out["outcome"] == "stopped"
        assert out["acks"] == ["accepted", "done"] and out["elapsed_s"] >= 0.6
        assert len(heard["cmd"]) == 1 and heard["cmd"][0]["user"] == USER
        time.sleep(0.1)
        # one at the command, then every 0.25 s while holding: 3 or 4 in 0.6 s
        assert 3 <= len(heard["heartbeat"]) <= 5, heard["heartbeat"]
        assert all(h["user"] == USER for h in heard["heartbeat"])
        assert audit.kinds() == ["command", "ack_received", "ack_received"]
        assert channel.pending == {} and not wire.link.connected  # the link was stopped
    finally:
        stop_rig()


def test_run_command_refuses_on_the_twin_or_times_out_on_mqtt():
    from twin3d.live.command_channel import CommandChannel, MqttWire, run_command
    from twin3d.protocol.commands import make_command

    bus, topics = LoopbackBus(), Topics.for_rig("r")
    heard, stop_rig = _fake_mqtt_rig(bus, topics, answer=False)
    try:
        wire = MqttWire(bus.link(subscriptions=MqttWire.subscriptions(topics)), topics)
        audit = ListAudit()
        channel = CommandChannel(wire, SCENE, USER, audit)
        out = run_command(channel, make_command("set_speed", {"rpm": 346.8}, user=USER),
                          timeout_s=5)
        assert out["status"] == "rejected" and out["source"] == "twin"
        assert out["rig_status"] == "ok" and out["acks"] == ["rejected"]
        assert "drift" in out["reason"] and audit.kinds() == ["dry_run"]

        wire = MqttWire(bus.link(subscriptions=MqttWire.subscriptions(topics)), topics)
        channel = CommandChannel(wire, SCENE, USER, audit)
        out = run_command(channel, make_command("stop", user=USER), timeout_s=0.6)
        assert out["status"] == "timeout" and out["after_s"] == 0.6 and out["acks"] == []
        assert out["reason"] == "no final ack within --timeout (no ack at all)"
        assert audit.kinds()[-2:] == ["command", "timeout"]
        assert audit.records[-1][1]["user"] == USER
        time.sleep(0.1)
        assert len(heard["cmd"]) == 1 and len(heard["heartbeat"]) >= 2
    finally:
        stop_rig()


def test_run_command_on_a_serial_line_acks_heartbeats_and_hold(tmp_path):
    """A rig at the other end of a pty answering `$C` lines with `$A` lines."""
    import os
    import threading

    from twin3d.io import serial_lines as sl
    from twin3d.io.serial_link import SerialLink
    from twin3d.live.command_channel import CommandChannel, SerialWire, run_command
    from twin3d.protocol.commands import make_command

    master, slave = os.openpty()
    path = os.ttyname(slave)
    lines: list = []
    stop = threading.Event()

    def rig():
        parser = sl.LineParser()
        os.set_blocking(master, False)
        while not stop.is_set():
            try:
                data = os.read(master, 4096)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            for msg in parser.feed(data):
                lines.append(msg)
                if isinstance(msg, sl.CmdLine) and msg.op != "heartbeat":
                    os.write(master, sl.encode_ack(msg.id, "accepted"))
                    os.write(master, sl.encode_ack(msg.id, "done", "reached"))

    t = threading.Thread(target=rig, daemon=True)
    t.start()
    try:
        audit = ListAudit()
        channel = CommandChannel(SerialWire(SerialLink(path), path), SCENE, USER, audit)
        cmd = make_command("set_speed", {"rpm": 150.0}, user=USER)
        out = run_command(channel, cmd, timeout_s=5, hold_s=0.6)
        assert out == {"id": cmd.id, "status": "done", "op": "set_speed", "source": "rig",
                       "outcome": "reached", "acks": ["accepted", "done"],
                       "elapsed_s": out["elapsed_s"]}
        time.sleep(0.1)
        sent = [m for m in lines if isinstance(m, sl.CmdLine)]
        assert sent[0].id == cmd.id and sent[0].args == {"rpm": "150"}
        assert 3 <= sum(m.op == "heartbeat" for m in sent) <= 5
        assert audit.kinds() == ["command", "ack_received", "ack_received"]
        assert audit.records[1][1]["op"] == "set_speed"  # a `$A` line names no op: added
    finally:
        stop.set()
        t.join(2)
        os.close(master)
        os.close(slave)
