"""The rig-side safety state machine, driven with made-up time and measurements (no network)."""

from __future__ import annotations

import pytest

from twin3d.protocol.commands import (ACCEPTED, DEFAULT_TTL_S, DONE, REJECTED, Ack, Command,
                                     make_command)
from twin3d.rig.interlocks import (DVF_GAIN_MARGIN, ESTOP, MAX_CLOCK_SKEW_S, OK, TRIPPED,
                                   Interlocks, Trip)
from twin3d.scenefile.records import load_scene

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def limits():
    return load_scene("three_storey").data.limits


@pytest.fixture
def il(limits):
    return Interlocks(limits, n_storeys=3, stroke_m=0.00025, actuator_floor=1)


def send(il, op, t, user="alice", **args):
    return il.submit(make_command(op, args, user=user, sent=t), t)


def acks(events):
    return [e for e in events if isinstance(e, Ack)]


def statuses(events):
    return [a.status for a in acks(events)]


def test_set_speed_accepted_then_done_when_reached(il):
    ev = send(il, "set_speed", T0, rpm=300.0, ramp_rpm_per_s=200.0)
    assert statuses(ev) == [ACCEPTED]
    assert il.drive.speed_rpm == 300.0 and il.drive.ramp_rpm_per_s == 200.0
    assert il.update(T0 + 0.5, speed_rpm=100.0, drift_m=0.0) == []
    done = il.update(T0 + 1.0, speed_rpm=299.0, drift_m=0.0)
    assert statuses(done) == [DONE] and done[0].outcome == "reached"
    assert done[0].id == ev[0].id


def test_over_limit_speed_rejected_with_the_limit(il, limits):
    ev = send(il, "set_speed", T0, rpm=limits.max_speed_rpm + 1)
    assert statuses(ev) == [REJECTED]
    assert "args.rpm" in ev[0].reason and f"{limits.max_speed_rpm:g}" in ev[0].reason
    assert il.drive.speed_rpm == 0.0 and il.counters.rejected == 1


def test_fast_ramp_clamped_to_the_acceleration_limit(il, limits):
    ev = send(il, "set_speed", T0, rpm=500.0, ramp_rpm_per_s=10 * limits.max_accel_rpm_per_s)
    assert statuses(ev) == [ACCEPTED] and "clamped" in ev[0].reason
    assert il.drive.ramp_rpm_per_s == limits.max_accel_rpm_per_s
    assert ev[0].detail["ramp_rpm_per_s"] == limits.max_accel_rpm_per_s


def test_drift_trip_stops_the_motor_and_latches(il, limits):
    send(il, "set_speed", T0, rpm=400.0)
    il.heartbeat("alice", T0 + 0.5)
    ev = il.update(T0 + 1.0, speed_rpm=390.0, drift_m=1.5 * limits.drift_limit_m)
    trips = [e for e in ev if isinstance(e, Trip)]
    assert [t.kind for t in trips] == ["drift"]
    assert trips[0].value == pytest.approx(1.5 * limits.drift_limit_m)
    assert trips[0].limit == limits.drift_limit_m
    assert il.status == TRIPPED and il.drive.speed_rpm == 0.0
    assert [a.outcome for a in acks(ev)] == ["tripped"]  # the set_speed never got there
    again = send(il, "set_speed", T0 + 1.1, rpm=100.0)
    assert statuses(again) == [REJECTED] and "tripped latched" in again[0].reason
    assert statuses(send(il, "reset", T0 + 1.2)) == [ACCEPTED, DONE]
    assert il.status == OK
    assert statuses(send(il, "set_speed", T0 + 1.3, rpm=100.0)) == [ACCEPTED]


def test_drift_below_the_limit_does_not_trip(il, limits):
    send(il, "set_speed", T0, rpm=400.0)
    ev = il.update(T0 + 0.1, speed_rpm=50.0, drift_m=0.99 * limits.drift_limit_m)
    assert ev == [] and il.status == OK and il.drive.speed_rpm == 400.0


def test_watchdog_ramps_down_when_heartbeats_stop(il, limits):
    timeout = limits.heartbeat_timeout_s
    send(il, "set_speed", T0, rpm=600.0)
    for k in range(1, 6):  # heartbeats keep it running well past one timeout
        il.heartbeat("alice", T0 + k * 0.5 * timeout)
        ev = il.update(T0 + k * 0.5 * timeout + 0.01, 600.0, 0.0)
        assert not any(isinstance(e, Trip) for e in ev)
    assert il.drive.speed_rpm == 600.0 and il.lease_user == "alice"
    last = T0 + 2.5 * timeout
    ev = il.update(last + 1.01 * timeout, speed_rpm=600.0, drift_m=0.0)
    trips = [e for e in ev if isinstance(e, Trip)]
    assert [t.kind for t in trips] == ["watchdog"]
    assert il.drive.speed_rpm == 0.0
    assert il.drive.ramp_rpm_per_s == limits.max_accel_rpm_per_s  # a ramp, not a brake
    assert not il.drive.brake and il.status == OK and il.lease_user is None


def test_heartbeats_from_someone_else_do_not_keep_the_lease(il, limits):
    send(il, "set_speed", T0, rpm=300.0)
    il.heartbeat("mallory", T0 + 0.9 * limits.heartbeat_timeout_s)
    ev = il.update(T0 + 1.1 * limits.heartbeat_timeout_s, 300.0, 0.0)
    assert any(isinstance(e, Trip) and e.kind == "watchdog" for e in ev)


def test_estop_latched_everything_but_reset_rejected(il):
    send(il, "set_speed", T0, rpm=300.0)
    ev = send(il, "estop", T0 + 0.1)
    assert [a.outcome for a in acks(ev) if a.status == DONE] == ["superseded"]
    assert ACCEPTED in statuses(ev)
    assert any(isinstance(e, Trip) and e.kind == "estop" for e in ev)
    assert il.status == ESTOP and il.drive.brake
    t = T0 + 0.2
    for op, args in (("set_speed", {"rpm": 100.0}), ("set_stroke", {"stroke_m": 0.0005}),
                     ("set_control", {"strategy": "dvf", "gain": 0.5}),
                     ("start_recording", {}), ("stop_recording", {})):
        t += 0.01
        il.heartbeat("alice", t)
        ev = send(il, op, t, **args)
        assert statuses(ev) == [REJECTED], op
        assert "estop latched" in ev[0].reason
    assert il.status == ESTOP and il.drive.brake
    # what only makes the rig safer goes through, and leaves the latch and the brake on
    for op, args in (("stop", {}), ("set_control", {"strategy": "off"})):
        t += 0.01
        assert ACCEPTED in statuses(send(il, op, t, **args)), op
    assert il.status == ESTOP and il.drive.brake and il.drive.control == "off"
    # the brake holds until reset, whatever the measurements say
    il.update(t, speed_rpm=0.0, drift_m=0.0)
    assert il.drive.brake
    ev = send(il, "reset", t + 0.1)
    assert statuses(ev) == [ACCEPTED, DONE]
    assert il.status == OK and not il.drive.brake and il.drive.speed_rpm == 0.0
    assert statuses(send(il, "set_speed", t + 0.2, rpm=100.0)) == [ACCEPTED]


def test_estop_from_another_operator_is_obeyed_without_taking_the_lease(il):
    send(il, "set_speed", T0, rpm=300.0)
    ev = send(il, "estop", T0 + 0.1, user="bob")
    assert ACCEPTED in statuses(ev) and il.status == ESTOP
    assert il.lease_user == "alice"


def test_lease_second_operator_rejected_while_the_first_holds_it(il, limits):
    assert statuses(send(il, "set_speed", T0, rpm=200.0)) == [ACCEPTED]
    ev = send(il, "set_speed", T0 + 0.5, user="bob", rpm=300.0)
    assert statuses(ev) == [REJECTED] and "lease held by alice" in ev[0].reason
    assert il.drive.speed_rpm == 200.0
    # once alice is silent past the timeout the lease lapses and bob may take it
    later = T0 + limits.heartbeat_timeout_s + 0.5
    il.update(later, speed_rpm=200.0, drift_m=0.0)
    ev = send(il, "set_speed", later + 0.1, user="bob", rpm=300.0)
    assert statuses(ev) == [ACCEPTED] and il.lease_user == "bob"


def test_expired_and_duplicate_commands_rejected(il):
    old = make_command("stop", user="alice", ttl_s=1.0, sent=T0)
    ev = il.submit(old, T0 + 2.0)
    assert statuses(ev) == [REJECTED] and "expired" in ev[0].reason
    c = make_command("set_speed", {"rpm": 100.0}, user="alice", sent=T0)
    assert statuses(il.submit(c, T0)) == [ACCEPTED]
    again = il.submit(c, T0 + 0.1)
    assert statuses(again) == [REJECTED] and "duplicate" in again[0].reason


def test_stroke_only_changes_with_the_motor_stopped(il):
    assert statuses(send(il, "set_stroke", T0, stroke_m=0.0005)) == [ACCEPTED, DONE]
    assert il.drive.stroke_m == 0.0005
    send(il, "set_speed", T0 + 0.1, rpm=300.0)
    ev = send(il, "set_stroke", T0 + 0.2, stroke_m=0.0003)
    assert statuses(ev) == [REJECTED] and "stopped" in ev[0].reason
    assert il.drive.stroke_m == 0.0005


def test_set_control_gain_limit_and_actuator_floor(il, limits):
    ok = send(il, "set_control", T0, strategy="dvf", gain=1.5, floor=1)
    assert statuses(ok) == [ACCEPTED, DONE] and il.drive.gain == 1.5
    high = send(il, "set_control", T0 + 0.1, strategy="dvf", gain=limits.max_dvf_gain * 2)
    assert statuses(high) == [REJECTED] and "args.gain" in high[0].reason
    floor = send(il, "set_control", T0 + 0.2, strategy="dvf", gain=1.0, floor=2)
    assert statuses(floor) == [REJECTED] and "floor 1" in floor[0].reason
    off = send(il, "set_control", T0 + 0.3, strategy="off")
    assert statuses(off) == [ACCEPTED, DONE] and il.drive.gain == 0.0


def test_stop_is_done_when_the_crank_stands_still(il):
    send(il, "set_speed", T0, rpm=300.0)
    il.update(T0 + 0.5, 300.0, 0.0)  # reached
    ev = send(il, "stop", T0 + 0.6)
    assert statuses(ev) == [ACCEPTED]
    assert il.update(T0 + 0.7, 150.0, 0.0) == []
    done = il.update(T0 + 1.2, 0.5, 0.0)
    assert [a.outcome for a in acks(done)] == ["stopped"]


# ---- command flood ---------------------------------------------------------------------------

FLOOD = Interlocks.FLOOD_LIMIT


def flood_reason(ev) -> bool:
    return statuses(ev) == [REJECTED] and ev[0].reason.startswith("command flood")


def let_through(ev) -> bool:
    """Accepted (an accepted motion command may also close the one it supersedes)."""
    return ACCEPTED in statuses(ev) and REJECTED not in statuses(ev)


def test_flood_of_set_speed_refused_after_the_limit(il):
    dt = 0.2 / (3 * FLOOD)  # 3x the limit within 0.2 s
    evs = [send(il, "set_speed", T0 + k * dt, rpm=100.0 + k) for k in range(3 * FLOOD)]
    assert all(let_through(ev) for ev in evs[:FLOOD])
    assert all(flood_reason(ev) for ev in evs[FLOOD:])
    assert f"more than {FLOOD} commands in 1 s" in evs[-1][0].reason
    assert il.drive.speed_rpm == 100.0 + FLOOD - 1  # the last one let through is in force
    c = il.counters
    assert c.flooded == 2 * FLOOD and c.accepted == FLOOD and c.rejected == 2 * FLOOD
    assert il.snapshot()["counters"]["flooded"] == 2 * FLOOD


def test_flood_is_counted_over_all_users(il):
    # commands refused for another reason (lease) still used up the window
    for k in range(FLOOD):
        send(il, "set_speed", T0 + 0.001 * k, user="alice" if k == 0 else "bob", rpm=50.0)
    ev = send(il, "stop", T0 + 0.1, user="alice")
    assert flood_reason(ev) and il.counters.flooded == 1


def test_estop_in_the_middle_of_a_flood_is_obeyed_at_once_and_reset_too(il):
    t = T0
    for k in range(2 * FLOOD):
        t = T0 + 0.001 * k
        send(il, "set_speed", t, rpm=300.0)
    assert il.counters.flooded == FLOOD
    ev = send(il, "estop", t + 0.001, user="bob")
    assert let_through(ev) and any(isinstance(e, Trip) for e in ev)
    assert il.status == ESTOP and il.drive.brake and il.drive.speed_rpm == 0.0
    assert flood_reason(send(il, "set_speed", t + 0.002, rpm=300.0))
    assert il.status == ESTOP
    # reset is not rate-limited either (a flood must not keep a rig locked in e-stop)
    ev = send(il, "reset", t + 0.003)
    assert let_through(ev) and [a.outcome for a in acks(ev)][-1] == "reset"
    assert il.status == OK and il.counters.flooded == FLOOD + 1


def test_flood_window_recovers_after_one_second(il):
    for k in range(FLOOD + 5):
        send(il, "set_speed", T0 + 0.01 * k, rpm=200.0)
    assert il.counters.flooded == 5
    # 1 s after the first one let through, exactly one slot is free again
    assert flood_reason(send(il, "set_speed", T0 + 0.999, rpm=210.0))
    assert let_through(send(il, "set_speed", T0 + 1.0, rpm=220.0))
    assert flood_reason(send(il, "set_speed", T0 + 1.001, rpm=230.0))
    # after a quiet second the whole window is free
    later = T0 + 2.5
    evs = [send(il, "set_speed", later + 0.001 * k, rpm=240.0) for k in range(FLOOD)]
    assert all(let_through(ev) for ev in evs)
    assert flood_reason(send(il, "set_speed", later + 0.1, rpm=250.0))
    assert il.drive.speed_rpm == 240.0


def test_a_refused_flood_id_may_be_sent_again_later(il):
    for k in range(FLOOD):
        send(il, "stop", T0)
    c = make_command("set_speed", {"rpm": 120.0}, user="alice", sent=T0)
    assert flood_reason(il.submit(c, T0))
    # the flood refusal did not record the id: the retry is not a "duplicate"
    assert let_through(il.submit(c, T0 + 1.5))


# ---- control stability and trips switch control off -------------------------------------------

CRIT = 2.942  # about the default truth's critical DVF gain (the rig computes its own)


@pytest.fixture
def il_crit(limits):
    return Interlocks(limits, n_storeys=3, stroke_m=0.00025, actuator_floor=1,
                      dvf_critical_gain=CRIT)


def test_dvf_gain_above_the_rigs_own_stability_bound_refused(il_crit, limits):
    bound = DVF_GAIN_MARGIN * CRIT
    assert bound < limits.max_dvf_gain  # the scene's limit alone would let it through
    ev = send(il_crit, "set_control", T0, strategy="dvf", gain=1.01 * bound)
    assert statuses(ev) == [REJECTED] and il_crit.drive.control == "off"
    r = ev[0].reason
    assert "stability bound" in r and f"{1.01 * bound:g}" in r and f"{bound:.4g}" in r
    assert f"{CRIT:.4g}" in r and "6 dB" in r
    ok = send(il_crit, "set_control", T0 + 0.1, strategy="dvf", gain=bound)
    assert statuses(ok) == [ACCEPTED, DONE] and il_crit.drive.gain == bound


def dvf_on(il, t, gain=1.0):
    assert statuses(send(il, "set_control", t, strategy="dvf", gain=gain)) == [ACCEPTED, DONE]
    assert il.drive.control == "dvf" and il.drive.gain == gain


def test_drift_trip_switches_control_off_and_off_and_stop_pass_the_latch(il, limits):
    dvf_on(il, T0)
    send(il, "set_speed", T0 + 0.1, rpm=300.0)
    il.update(T0 + 0.2, 300.0, 2 * limits.drift_limit_m)
    assert il.status == TRIPPED
    assert il.drive.control == "off" and il.drive.gain == 0.0 and il.drive.speed_rpm == 0.0
    assert il.snapshot()["control"]["strategy"] == "off"
    assert statuses(send(il, "set_control", T0 + 0.3, strategy="off")) == [ACCEPTED, DONE]
    assert statuses(send(il, "stop", T0 + 0.4)) == [ACCEPTED]
    again = send(il, "set_control", T0 + 0.5, strategy="dvf", gain=1.0)
    assert statuses(again) == [REJECTED] and "tripped latched" in again[0].reason
    assert il.status == TRIPPED


def test_estop_and_watchdog_switch_control_off(il, limits):
    dvf_on(il, T0)
    send(il, "estop", T0 + 0.1)
    assert il.drive.control == "off" and il.drive.gain == 0.0 and il.drive.brake
    send(il, "reset", T0 + 0.2)
    dvf_on(il, T0 + 0.3)
    send(il, "set_speed", T0 + 0.4, rpm=300.0)
    ev = il.update(T0 + 0.5 + 1.1 * limits.heartbeat_timeout_s, 300.0, 0.0)
    assert [e.kind for e in ev if isinstance(e, Trip)] == ["watchdog"]
    assert il.drive.control == "off" and il.drive.gain == 0.0


def test_a_lapsed_lease_with_the_motor_stopped_leaves_control_on(il, limits):
    dvf_on(il, T0)  # damping a stopped frame needs no operator
    ev = il.update(T0 + 1.1 * limits.heartbeat_timeout_s, 0.0, 0.0)
    assert [e.kind for e in ev if isinstance(e, Trip)] == ["lease"]
    assert il.drive.control == "dvf"


# ---- replay: counters, clock skew ------------------------------------------------------------

def test_replay_refused_however_many_commands_came_between(il):
    first = make_command("estop", user="alice", sent=T0)
    assert ACCEPTED in statuses(il.submit(first, T0))
    t = T0
    for k in range(300):  # more than RECENT_IDS pairs: the id alone is long forgotten
        t = T0 + 0.001 * (k + 1)
        if k:
            send(il, "estop", t)
        assert statuses(send(il, "reset", t + 0.0005))[-2:] == [ACCEPTED, DONE]
    assert first.id not in il._recent
    ev = il.submit(first, t + 0.001)  # within its ttl
    assert statuses(ev) == [REJECTED]
    assert "replayed or out-of-order" in ev[0].reason and str(first.n) in ev[0].reason
    assert il.status == OK


def test_counter_is_per_user_and_a_refused_command_stays_used(il):
    a1 = make_command("set_speed", {"rpm": 100.0}, user="alice", sent=T0)
    b1 = make_command("estop", user="bob", sent=T0)
    b2 = make_command("reset", user="bob", sent=T0)
    a2 = make_command("set_speed", {"rpm": 300.0}, user="alice", sent=T0)
    assert statuses(il.submit(a1, T0)) == [ACCEPTED]
    assert ACCEPTED in statuses(il.submit(b1, T0 + 0.1))  # bob's counters are his own
    refused = il.submit(a2, T0 + 0.2)  # latched: refused, but its n is used up
    assert statuses(refused) == [REJECTED] and "estop latched" in refused[0].reason
    assert statuses(il.submit(b2, T0 + 0.3)) == [REJECTED]  # lease: alice holds it
    assert statuses(send(il, "reset", T0 + 0.4))[-2:] == [ACCEPTED, DONE]
    ev = il.submit(a2, T0 + 0.5)  # once the latch is gone it must not become good
    assert statuses(ev) == [REJECTED] and "replayed" in ev[0].reason


def test_out_of_order_and_counterless_commands_refused(il):
    c = make_command("stop", user="alice", sent=T0)
    later = make_command("stop", user="alice", sent=T0)
    assert statuses(il.submit(later, T0)) == [ACCEPTED]
    assert "out-of-order" in il.submit(c, T0 + 0.1)[0].reason
    bare = Command(id="c-bare", op="stop", user="alice", sent=T0)
    ev = il.submit(bare, T0 + 0.2)
    assert statuses(ev) == [REJECTED] and "counter" in ev[0].reason


def test_command_from_the_future_refused(il):
    ahead = make_command("set_speed", {"rpm": 100.0}, user="alice", sent=T0 + 3600.0)
    ev = il.submit(ahead, T0)
    assert statuses(ev) == [REJECTED]
    assert "in the future" in ev[0].reason and f"{MAX_CLOCK_SKEW_S:g} s" in ev[0].reason
    skewed = make_command("set_speed", {"rpm": 100.0}, user="alice",
                          sent=T0 + 0.9 * MAX_CLOCK_SKEW_S)
    assert statuses(il.submit(skewed, T0)) == [ACCEPTED]  # a clock a little ahead is fine


def test_counter_table_is_bounded_and_forgets_only_expired_users(il, monkeypatch):
    import twin3d.rig.interlocks as mod

    monkeypatch.setattr(mod, "MAX_USERS", 4)
    for k in range(4):
        send(il, "estop", T0 + 0.01 * k, user=f"u{k}")  # never flood-limited
    ev = send(il, "estop", T0 + 0.1, user="u4")
    assert statuses(ev) == [REJECTED] and "too many users" in ev[0].reason
    later = T0 + DEFAULT_TTL_S + 1.0  # every recorded command has expired: safe to forget
    assert ACCEPTED in statuses(send(il, "reset", later, user="u4"))
    assert len(il._counters) <= 4
