"""The operator's alarm list, command log and lease line (twin3d.live.alarm_log): pure models,
driven with made-up times and the command channel's own records."""

from __future__ import annotations

from types import SimpleNamespace

from twin3d.live.alarm_log import (ADVISORY, CRITICAL, DONE, NOT_SENT, REFUSED, SENT, TIMEOUT,
                                   WARNING, AlarmLog, CommandLog, clock_text, lease_alarms,
                                   lease_status, state_alarms)
from twin3d.live.command_channel import ACK_MARGIN_S, CommandChannel
from twin3d.live.commander import Commander
from twin3d.protocol.commands import DEFAULT_TTL_S, make_command
from twin3d.scenefile.records import load_scene

T0 = 1_700_000_000.0
MODE = "mode 1 4.1 % above model"


def test_state_alarms_give_each_source_its_severity():
    a = state_alarms("tripped", f"{MODE}; storey 2 stiffness -8 %", "history store down")
    assert a["rig tripped"] == ("rig: TRIPPED", CRITICAL)
    assert sorted(sev for _, sev in a.values()) == sorted([CRITICAL, WARNING, WARNING, ADVISORY])
    assert state_alarms("ok") == {}


def test_an_alarm_is_raised_once_while_its_numbers_change():
    log = AlarmLog()
    log.update(state_alarms("ok", MODE), T0)
    log.update(state_alarms("ok", "mode 1 4.3 % above model"), T0 + 5)
    [a] = log.standing()
    assert a.text == "mode 1 4.3 % above model" and a.raised_at == T0 and a.active
    assert [what for _, what, _ in log.events] == ["raised"]
    assert a.describe().startswith(clock_text(T0))


def test_a_cleared_alarm_stays_until_acknowledged_and_an_acknowledged_one_leaves():
    log = AlarmLog()
    log.update(state_alarms("estop", MODE), T0)
    log.update({}, T0 + 1)  # both clear before anyone looked
    assert [a.active for a in log.standing()] == [False, False] and log.unacknowledged == 2
    assert "(cleared" in log.standing()[0].describe()
    assert log.acknowledge("rig estop", T0 + 2) and not log.acknowledge("rig estop", T0 + 3)
    assert [a.key for a in log.standing()] == [next(iter(state_alarms("ok", MODE)))]
    # acknowledged while standing: stays (quiet) while it stands, leaves when it clears
    log.update(state_alarms("lost"), T0 + 4)
    assert log.acknowledge_all(T0 + 5) == 2 and log.unacknowledged == 0
    assert [a.key for a in log.standing()] == ["rig lost"]
    log.update({}, T0 + 6)
    assert log.standing() == [] and log.top() is None
    # back again: a new alarm with its own time, unacknowledged
    log.update(state_alarms("lost"), T0 + 7)
    assert log.top().raised_at == T0 + 7 and not log.top().acked


def test_a_lost_lease_is_raised_only_after_its_on_delay():
    assert lease_alarms({"lease": None}, "ann", False, 2.0) == {}  # a viewer holds none
    assert lease_alarms({"lease": "ann"}, "ann", True, 2.0) == {}
    assert "held by bob" in lease_alarms({"lease": "bob"}, "ann", True, 2.0)["lease"][0]
    lapsed = lease_alarms({"lease": None}, "ann", True, 2.0)
    log = AlarmLog()
    log.update(lapsed, T0)  # the command just went out: the rig's state has not caught up
    log.update({}, T0 + 0.5)  # now it has: nothing raised, nothing left behind
    assert log.standing() == [] and list(log.events) == []
    log.update(lapsed, T0 + 1.0)  # lapsed for real from here
    log.update(lapsed, T0 + 2.9)
    assert log.standing() == []  # 1.9 s: still within the on-delay
    log.update(lapsed, T0 + 3.0)
    [a] = log.standing()
    assert a.raised_at == T0 + 1.0 and "lease lapsed" in a.text and a.severity == WARNING
    assert [what for _, what, _ in log.events] == ["raised"]


def test_the_banner_shows_the_most_urgent_unacknowledged_alarm():
    log = AlarmLog()
    log.update(state_alarms("ok", MODE, "history store down"), T0)
    log.update(state_alarms("estop", MODE, "history store down"), T0 + 1)
    assert log.top().severity == CRITICAL
    log.acknowledge("rig estop", T0 + 2)
    assert log.top().text == MODE  # unacknowledged before acknowledged, whatever the severity
    log.acknowledge_all(T0 + 3)
    assert log.top().severity == CRITICAL  # all acknowledged: the most severe again


SCENE = load_scene("three_storey")


class Wire:
    """A command wire that records what it sends (`ok` False: the link is down)."""

    def __init__(self, ok: bool = True):
        self.ok, self.sent = ok, []
        self.link = SimpleNamespace(last_error="broker gone")

    def send_command(self, cmd):
        self.sent.append(cmd)
        return self.ok

    def send_heartbeat(self, user):
        return self.ok


def test_the_command_log_reads_the_channels_records():
    now = [T0]
    log = CommandLog(clock=lambda: now[0])
    ch = CommandChannel(Wire(), SCENE, "ann")
    ch.listeners.append(log.record)
    refused = make_command("set_speed", {"rpm": 346.8}, user="ann")
    assert ch.send(refused, 0.0).status == "refused"
    ok = make_command("set_speed", {"rpm": 250.0}, user="ann")
    assert ch.send(ok, 0.0).ok
    now[0] += 3
    ch.on_ack({"id": ok.id, "status": "accepted", "op": "set_speed", "source": "rig"})
    ch.on_ack({"id": ok.id, "status": "done", "op": "set_speed", "source": "rig",
               "outcome": "reached"})
    silent = make_command("stop", user="ann")
    ch.send(silent, 0.0)
    ch.tick(100.0)  # no answer: it times out
    outcomes = [e.outcome for e in log.entries]
    assert outcomes == [REFUSED, SENT, "accepted", DONE, SENT, TIMEOUT]
    r = log.entries[0]
    assert r.bad and r.value > r.limit == SCENE.data.limits.drift_limit_m
    assert "refused by the twin: steady drift 3.3 mm in storey 1 at 346.8 rpm would exceed " \
           "the 3 mm limit" in r.line()
    assert log.entries[3].line() == f"{clock_text(T0 + 3)}  speed 250 rpm: done: reached"
    after = f"{DEFAULT_TTL_S + ACK_MARGIN_S:g} s"
    assert log.entries[-1].line().endswith(f"stop: timed out: no final ack within {after} "
                                           "(no ack at all)") and log.entries[-1].bad
    assert not log.entries[1].bad
    # one line per command at its latest word, newest command first
    assert [(e.what, e.outcome) for e in log.latest(3)] == [
        ("stop", TIMEOUT), ("speed 250 rpm", DONE), ("set speed", REFUSED)]
    assert [e.outcome for e in log.latest(2)] == [TIMEOUT, DONE] and log.latest(0) == []
    # someone else's ack (not pending here) is not this operator's log
    ch.on_ack({"id": "other", "status": "done", "op": "stop"})
    assert len(log.entries) == 6


class Source:
    def __init__(self, state=None):
        self.rig_state, self.status, self.ack_listeners = state, "ok", []


def test_the_commander_logs_a_failed_send_and_says_who_holds_the_lease():
    now = [50.0]
    source = Source({"lease": None})
    c = Commander(source, SCENE, user="ann", clock=lambda: now[0], wire=Wire(ok=False))
    assert c.lease() == ("lease free  |  heartbeat: none (viewing)", True)
    ok, msg = c.set_speed(100)
    assert not ok and msg == "not sent: no connection to the rig (broker gone)"
    assert [e.outcome for e in c.log.entries] == [SENT, NOT_SENT]  # audited, then failed
    assert c.log.entries[-1].bad and "broker gone" in c.log.entries[-1].line()

    c = Commander(source, SCENE, user="ann", clock=lambda: now[0], wire=Wire())
    c.set_speed(100)
    source.rig_state = {"lease": "ann"}
    line, fine = c.lease()
    assert fine and line == "lease held by you (ann)  |  heartbeat every 0.25 s"
    now[0] += 0.1
    c.tick()  # not due yet: the last heartbeat is the one sent with the command
    now[0] += 1.5  # the frame loop stalled past half the rig's 2 s watchdog
    line, fine = c.lease(now[0])
    assert not fine and line.endswith("heartbeat 1.6 s ago, watchdog 2 s")
    c.tick()  # the frame that ends the stall sends one at once, 1.6 s after the last
    line, fine = c.lease()
    assert not fine and "heartbeats 1.6 s apart (frames too slow), watchdog 2 s" in line
    now[0] += 0.3
    c.tick()  # the frames keep pace again
    assert c.lease() == ("lease held by you (ann)  |  heartbeat every 0.25 s", True)
    assert c.last_heartbeat == now[0] and abs(c.heartbeat_gap - 0.3) < 1e-9
    source.rig_state = {"lease": None}  # the rig's watchdog lapsed it
    line, fine = c.lease()
    assert not fine and line.startswith("lease free  |")


def test_lease_status_when_the_rig_is_silent_or_someone_else_holds_it():
    assert lease_status(None, "ann", False, None, None, 0.25, 2.0) == \
        ("lease: no word from the rig yet", False)
    line, ok = lease_status({"lease": "bob"}, "ann", True, 0.1, 0.25, 0.25, 2.0)
    assert not ok and line.startswith("lease held by bob")
    assert lease_status({"lease": "ann"}, "ann", True, None, None, 0.25, 2.0)[1] is False
    assert lease_status({"lease": "bob"}, "ann", False, None, None, 0.25, 2.0) == \
        ("lease held by bob  |  heartbeat: none (viewing)", False)
