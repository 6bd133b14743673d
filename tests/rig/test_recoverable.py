"""The simulated rig is the last line and always recoverable: the whole rig (truth physics with
ambient shaking, sensors, interlocks) stepped in simulated time, commanded through the wire
format, until it is back at rest.

Every path of an unstable control gain: refused against the rig's own stability bound; one that
got through anyway (a bound that was wrong) trips on drift, and the trip switches control off;
an e-stop and the watchdog switch it off too; while latched, `set_control strategy=off` and
`stop` are accepted; after `reset` nothing re-trips. And replays: a command whose counter was
used is refused however many came after it, and one sent from the future is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin3d.physics.control import dvf_critical_gain
from twin3d.physics.structure import storey_drift
from twin3d.protocol.commands import make_command
from twin3d.rig.core import RigCore, truth_model
from twin3d.protocol.commands import DVF_GAIN_MARGIN
from twin3d.rig.interlocks import MAX_CLOCK_SKEW_S
from twin3d.scenefile.records import load_scene

T0 = 1_700_000_000.0
USER = "ann"


@pytest.fixture(scope="module")
def scene():
    return load_scene("three_storey")


class Rig:
    """A RigCore in simulated time: commands as wire JSON, heartbeats while `alive`."""

    def __init__(self, scene, seed: int = 1):
        self.core = RigCore(scene, seed=seed)  # ambient shaking on: an unstable loop grows
        self.limit = scene.data.limits.drift_limit_m
        self.dt = self.core.block_samples / self.core.sim.sample_rate
        self.t = T0
        self.alive = True
        self.trips: list[str] = []
        self.drifts: list[float] = []

    def send(self, op, **args) -> list:
        cmd = make_command(op, args, user=USER, sent=self.t)
        return self.send_json(cmd.to_json())

    def send_json(self, payload) -> list:
        events = self.core.command(payload, self.t)
        self.trips += [e.kind for e in events if hasattr(e, "kind")]  # an e-stop's trip
        return [e.status for e in events if hasattr(e, "status")]

    def reason(self, op, **args) -> str:
        events = self.core.command(make_command(op, args, user=USER, sent=self.t).to_json(),
                                   self.t)
        return events[-1].reason

    def run(self, seconds: float) -> None:
        for _ in range(int(round(seconds / self.dt))):
            self.t += self.dt
            if self.alive:
                self.core.heartbeat(json.dumps({"user": USER}), self.t)
            out = self.core.step(self.t)
            self.trips += [e.kind for e in out.events if hasattr(e, "kind")]
            self.drifts.append(float(np.abs(storey_drift(out.block.truth.floor_disp)).max()))

    @property
    def state(self) -> dict:
        return self.core.state(self.t)

    def at_rest(self) -> bool:
        """Crank stopped, controller off, drift back at the ambient level (well under the
        limit) over the last second."""
        last = self.drifts[-int(round(1.0 / self.dt)):]
        s = self.state
        return (abs(s["speed_rpm"]) < 2.0 and s["control"]["strategy"] == "off"
                and s["control"]["gain"] == 0.0 and max(last) < 0.05 * self.limit)


def test_the_rigs_bound_is_its_own_truths_critical_gain(scene):
    rig = Rig(scene)
    truth, _ = truth_model(scene)
    g_truth = dvf_critical_gain(truth, scene.actuator_params())
    g_model = dvf_critical_gain(scene.model(), scene.actuator_params())
    assert rig.core.dvf_critical_gain == pytest.approx(g_truth)
    assert g_truth == pytest.approx(2.942, abs=0.01) and g_model == pytest.approx(2.170, abs=0.01)
    assert rig.core.interlocks.max_stable_gain == pytest.approx(DVF_GAIN_MARGIN * g_truth)
    assert DVF_GAIN_MARGIN <= 0.5  # at least 6 dB of gain margin


def test_an_unstable_gain_is_refused_and_the_rig_stays_at_rest(scene):
    rig = Rig(scene)
    bound = rig.core.interlocks.max_stable_gain
    # 20: the scene's max_dvf_gain, which alone let it through; 2.0: under the twin's model's
    # critical gain (2.17), which the old dry run passed (--no-check skips it), above the bound
    for gain in (scene.data.limits.max_dvf_gain, 2.0, 1.001 * bound):
        reason = rig.reason("set_control", strategy="dvf", gain=gain)
        assert "stability bound" in reason and f"{gain:g}" in reason
        assert f"{bound:.4g}" in reason and f"{rig.core.dvf_critical_gain:.4g}" in reason
    assert rig.state["control"]["strategy"] == "off"
    rig.run(3.0)
    assert rig.trips == [] and rig.at_rest()
    assert rig.send("set_control", strategy="dvf", gain=bound) == ["accepted", "done"]
    rig.run(3.0)  # at the bound the loop is stable: ambient shaking stays ambient
    assert rig.trips == [] and max(rig.drifts[-20:]) < 0.05 * rig.limit
    assert rig.state["control"] == {"strategy": "dvf", "gain": bound, "floor": 1}


def test_a_gain_that_got_through_trips_turns_control_off_and_recovers(scene):
    """A rig whose bound was wrong (the truth drifted after it was computed): the finding's
    gain 20 is accepted, the loop runs away, the drift trip stops it and switches control off,
    and the rig comes back without any trick."""
    rig = Rig(scene)
    rig.core.interlocks.max_stable_gain = None  # the bound is wrong: only max_dvf_gain is left
    assert rig.send("set_control", strategy="dvf", gain=20.0) == ["accepted", "done"]
    rig.run(10.0)  # it trips within about 2 s; then mode 1 rings down with control off
    assert rig.trips == ["drift"]
    assert max(rig.drifts) > rig.limit
    s = rig.state
    assert s["status"] == "tripped" and s["control"]["strategy"] == "off"
    assert s["control"]["gain"] == 0.0 and rig.at_rest()
    # latched: what only makes it safer is accepted, anything else is not
    assert rig.send("set_control", strategy="off") == ["accepted", "done"]
    assert rig.send("stop")[-1] == "accepted"
    assert rig.send("set_control", strategy="dvf", gain=1.0) == ["rejected"]
    assert rig.send("set_speed", rpm=100.0) == ["rejected"]
    assert rig.state["status"] == "tripped"
    assert rig.send("reset")[-2:] == ["accepted", "done"]
    rig.run(3.0)
    assert rig.trips == ["drift"] and rig.state["status"] == "ok" and rig.at_rest()


def test_estop_turns_control_off_and_reset_does_not_re_trip(scene):
    rig = Rig(scene)
    assert rig.send("set_control", strategy="dvf", gain=1.0) == ["accepted", "done"]
    assert rig.send("set_speed", rpm=120.0) == ["accepted"]
    rig.run(2.0)
    assert rig.state["control"]["strategy"] == "dvf"
    assert "accepted" in rig.send("estop")
    s = rig.state
    assert s["status"] == "estop" and s["brake"] and s["control"]["strategy"] == "off"
    assert s["control"]["gain"] == 0.0
    assert rig.send("set_control", strategy="off") == ["accepted", "done"]
    assert rig.send("stop")[-1] == "accepted"
    assert rig.state["status"] == "estop" and rig.state["brake"]  # the latch and brake hold
    rig.run(3.0)
    assert rig.at_rest()
    assert rig.send("reset")[-2:] == ["accepted", "done"]
    rig.run(3.0)
    assert rig.trips == ["estop"] and rig.state["status"] == "ok" and rig.at_rest()


def test_watchdog_turns_control_off_when_the_operator_goes_silent(scene):
    rig = Rig(scene)
    assert rig.send("set_control", strategy="dvf", gain=1.0) == ["accepted", "done"]
    assert rig.send("set_speed", rpm=120.0) == ["accepted"]
    rig.run(2.0)
    rig.alive = False
    rig.run(scene.data.limits.heartbeat_timeout_s + 4.0)
    assert rig.trips == ["watchdog"] and rig.at_rest()


# ---- replay ----------------------------------------------------------------------------------

def test_a_replay_is_refused_after_300_estop_reset_pairs(scene):
    rig = Rig(scene)
    first = make_command("estop", user=USER, sent=rig.t).to_json()
    assert "accepted" in rig.send_json(first)
    assert rig.send("reset")[-2:] == ["accepted", "done"]
    for _ in range(299):
        rig.t += 0.001
        assert "accepted" in rig.send("estop")
        assert rig.send("reset")[-2:] == ["accepted", "done"]
    events = rig.core.command(first, rig.t)  # still within its time-to-live
    assert [e.status for e in events] == ["rejected"]
    assert "replayed or out-of-order" in events[0].reason
    assert rig.state["status"] == "ok"


def test_a_command_from_the_future_or_without_a_counter_is_refused(scene):
    rig = Rig(scene)
    ahead = make_command("set_speed", {"rpm": 100.0}, user=USER, sent=rig.t + 3600.0)
    events = rig.core.command(ahead.to_json(), rig.t)
    assert [e.status for e in events] == ["rejected"] and "in the future" in events[0].reason
    assert f"{MAX_CLOCK_SKEW_S:g} s" in events[0].reason
    bare = json.loads(make_command("set_speed", {"rpm": 100.0}, user=USER, sent=rig.t).to_json())
    del bare["n"]
    events = rig.core.command(json.dumps(bare), rig.t)
    assert [e.status for e in events] == ["rejected"] and "bad command: n:" in events[0].reason
    assert rig.state["target_rpm"] == 0.0
