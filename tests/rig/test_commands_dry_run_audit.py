"""Command decoding (bad input is a one-line error, never a crash), the twin's dry run
(refusals carry the number), and the audit log across restarts of the rig."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin3d.protocol.audit import AuditLog, read_audit
from twin3d.protocol.commands import CommandError, decode_command, limit_values, make_command
from twin3d.live.dry_run import dry_run
from twin3d.physics.control import dvf_critical_gain
from twin3d.physics.steady_drift import steady_drift_m
from twin3d.rig.core import RigCore
from twin3d.scenefile.records import load_scene


@pytest.fixture(scope="module")
def scene():
    return load_scene("three_storey")


def test_round_trip_and_one_line_errors(scene):
    lims = limit_values(scene.data.limits, 3)
    c = make_command("set_control", {"strategy": "dvf", "gain": 1.0, "floor": 1}, user="a")
    assert decode_command(c.to_json().encode(), lims) == c
    cases = {
        b"[1, 2]": "must be a JSON object",
        b'{"op": "stop"}': "id:",
        b'{"id": "x", "op": "stop", "user": "a", "sent": 1, "extra": 1}': "unknown field",
        b'{"id": "x", "op": "set_speed", "user": "a", "sent": 1, "args": {"rpm": "fast"}}':
            "args.rpm: must be a number",
        b'{"id": "x", "op": "set_speed", "user": "a", "sent": 1, "args": {}}': "needs it",
        b'{"id": "x", "op": "set_stroke", "user": "a", "sent": 1, "args": {"stroke_m": 0.5}}':
            "allowed 0..0.001 m",
        b'{"id": "x", "op": "stop", "sent": 1}': "user:",
    }
    for payload, needle in cases.items():
        with pytest.raises(CommandError) as e:
            decode_command(payload, lims)
        assert needle in str(e.value) and "\n" not in str(e.value)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=300),
                 st.dictionaries(st.sampled_from(["id", "op", "args", "user", "ttl_s", "sent"]),
                                 st.one_of(st.none(), st.integers(), st.floats(), st.text(),
                                           st.dictionaries(st.text(max_size=5), st.floats())))
                 .map(lambda d: json.dumps(d).encode())))
def test_any_bytes_give_a_command_or_a_command_error(payload):
    try:
        decode_command(payload, {"max_speed_rpm": 1800, "max_accel_rpm_per_s": 600,
                                 "stroke_lo": 0, "stroke_hi": 0.001, "max_dvf_gain": 20,
                                 "n_storeys": 3})
    except CommandError:
        pass


def test_speed_refused_with_the_predicted_drift(scene):
    # the structure the rig is: the frame carrying the 6.5 Hz actuator, whose lower mode is
    # 5.7794 Hz = 346.8 rpm (the bare frame's 372.2 rpm sits between the split pair)
    model = scene.rig_model()
    stroke = scene.data.crank.stroke_m
    limit = scene.data.limits.drift_limit_m
    dr = dry_run(make_command("set_speed", {"rpm": 346.8}, user="a"), scene)
    assert not dr.ok and dr.check == "drift" and dr.limit == limit
    assert dr.value == pytest.approx(steady_drift_m(model, stroke, 346.8, storeys=3).max())
    assert dr.value > limit
    # in plain words with both numbers, never the scene file's field name
    assert dr.reason.startswith(f"steady drift {1e3 * dr.value:.3g} mm in storey 1 at 346.8 rpm "
                                f"would exceed the {1e3 * limit:g} mm limit")
    assert "limits." not in dr.reason and "_m" not in dr.reason
    ok = dry_run(make_command("set_speed", {"rpm": 200.0}, user="a"), scene)
    assert ok.ok and ok.value < limit
    # the rig's reported stroke counts: a tiny stroke makes the resonance safe
    small = dry_run(make_command("set_speed", {"rpm": 346.8}, user="a"), scene, stroke_m=1e-5)
    assert small.ok
    # a target above the first resonance says which band the ramp crosses
    above = dry_run(make_command("set_speed", {"rpm": 600.0}, user="a"), scene)
    assert above.ok and above.detail["bands_crossed_rpm"][0][0] < 346.8 < \
        above.detail["bands_crossed_rpm"][0][1]


def test_gain_refused_with_the_critical_gain(scene):
    g_crit = dvf_critical_gain(scene.model(), scene.actuator_params())
    # the value cross-checked against Nyquist and the closed-loop eigenvalues in
    # tests/physics/test_control.py
    assert g_crit == pytest.approx(2.1703, rel=1e-3)
    dr = dry_run(make_command("set_control", {"strategy": "dvf", "gain": 1.01 * g_crit},
                              user="a"), scene)
    assert not dr.ok and dr.check == "stability"
    assert dr.limit == pytest.approx(0.5 * g_crit) and f"{g_crit:.4g}" in dr.reason
    # the same 6 dB margin as the rig's: a gain between half and all of g_crit is refused too
    margin = dry_run(make_command("set_control", {"strategy": "dvf", "gain": 0.6 * g_crit},
                                  user="a"), scene)
    assert not margin.ok and margin.check == "stability" and "6 dB" in margin.reason
    assert "would leave less than the 6 dB gain margin" in margin.reason
    assert "would make the loop unstable" in dr.reason and f"{0.5 * g_crit:.4g}" in dr.reason
    ok = dry_run(make_command("set_control", {"strategy": "dvf", "gain": 0.5 * g_crit},
                              user="a"), scene)
    assert ok.ok and ok.detail["gain_margin_db"] == pytest.approx(6.02, abs=0.01)
    args = dry_run(make_command("set_speed", {"rpm": 5000.0}, user="a"), scene)
    assert not args.ok and args.check == "args" and (args.value, args.limit) == (5000, 1800)
    assert args.reason == "crank speed 5000 rpm is above the maximum 1800 rpm"
    stroke = dry_run(make_command("set_stroke", {"stroke_m": 0.5}, user="a"), scene)
    assert stroke.reason == "crank eccentricity 500 mm is above the maximum 1 mm"
    # a malformed command (not an operator's number) keeps the protocol's line
    bad = dry_run(make_command("set_control", {"strategy": "xx"}, user="a"), scene)
    assert not bad.ok and bad.reason.startswith("args.strategy: not allowed")


def test_audit_keeps_commands_acks_and_trips_across_restarts(scene, tmp_path):
    t = 1_700_000_000.0
    for run in range(2):  # the rig process restarts: the log only grows
        with AuditLog("rig", tmp_path, run=run) as audit:
            core = RigCore(scene, audit=audit, ambient_rms=0.0)
            core.command(make_command("set_speed", {"rpm": 100.0}, user="ann", sent=t).to_json(),
                         t)
            core.command(make_command("estop", user="ann", sent=t).to_json(), t + 0.1)
            core.command(b"{broken", t + 0.2)
            core.step(t + 0.3)
        t += 10
    records, torn = read_audit(tmp_path)
    assert torn == 0
    for run in range(2):
        mine = [r for r in records if r["run"] == run]
        kinds = [r["kind"] for r in mine]
        assert kinds.count("command") == 2 and kinds.count("bad_command") == 1
        assert kinds.count("trip") == 1 and kinds.count("ack") >= 4
        assert all(r["user"] == "ann" for r in mine if r["kind"] in ("command", "trip"))
    assert [r["run"] for r in records] == sorted(r["run"] for r in records)  # appended
    # a writer killed mid-line leaves a torn line: skipped and counted, the rest kept
    with open(tmp_path / "audit.jsonl", "ab") as f:
        f.write(b'{"t": 1, "kind": "ack", "trunc')
    again, torn = read_audit(tmp_path)
    assert torn == 1 and len(again) == len(records)
    with AuditLog("twin", tmp_path) as audit:  # the next writer starts on a fresh line
        audit.write("start")
    last, torn = read_audit(tmp_path)
    assert torn == 1 and last[-1]["kind"] == "start" and len(last) == len(records) + 1


def test_rig_core_drift_trip_stops_the_physical_motor(scene):
    """The whole rig (physics + interlocks): full stroke near mode 1 trips on drift."""
    core = RigCore(scene, ambient_rms=0.0)
    t = 1_700_000_000.0
    send = lambda op, **a: core.command(make_command(op, a, user="ann", sent=t).to_json(), t)  # noqa: E731
    assert [e.status for e in send("set_stroke", stroke_m=0.001)] == ["accepted", "done"]
    assert [e.status for e in send("set_speed", rpm=355.0)] == ["accepted"]
    trips = []
    for _ in range(400):  # at most 20 s of rig time
        t += 0.05
        core.interlocks.heartbeat("ann", t)
        trips += [e for e in core.step(t).events if getattr(e, "kind", "") == "drift"]
        if trips and core.sim.speed_rpm < 2.0:
            break
    assert len(trips) == 1 and trips[0].value > scene.data.limits.drift_limit_m
    assert core.state(t)["status"] == "tripped" and core.sim.speed_rpm < 2.0
    assert [e.status for e in send("set_speed", rpm=100.0)][0] == "rejected"
