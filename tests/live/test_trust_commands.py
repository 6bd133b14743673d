"""F5: the command path trusts nothing it hears: the rig's retained state (stroke_m) and acks
are checked by type and range before the dry run or the wait uses them."""

from __future__ import annotations

import json

import pytest

from twin3d.io.mqtt_link import Message, Topics
from twin3d.live.command_channel import CommandChannel, MqttWire, run_command
from twin3d.protocol.commands import make_command
from twin3d.scenefile.records import load_scene

SCENE = load_scene("three_storey")
TOPICS = Topics.for_rig("trust")


class FakeLink:
    """A broker that answers with the messages the test gives it (retained state, acks)."""

    host, port, last_error, username = "fake", 1883, "", None

    def __init__(self, answers):
        self.answers = list(answers)
        self.published = []

    def start(self):
        return self

    def stop(self):
        pass

    def wait_connected(self, timeout):
        return True

    def get(self, timeout=None):
        return self.answers.pop(0) if self.answers else None

    def publish(self, topic, payload, qos=0, retain=False):
        self.published.append((topic, payload))
        return True


def _msg(topic, obj) -> Message:
    return Message(topic, json.dumps(obj).encode(), True, 1, 0)


def _run(state: dict, acks=()):
    link = FakeLink([_msg(TOPICS.state, state)] + [_msg(TOPICS.ack, a) for a in acks])
    ch = CommandChannel(MqttWire(link, TOPICS), SCENE, user="a")
    cmd = make_command("set_speed", {"rpm": 346.8}, user="a")
    clock = iter(range(0, 10_000)).__next__  # one "second" per look at the clock
    out = run_command(ch, cmd, timeout_s=60, clock=lambda: clock() * 0.01,
                      sleep=lambda s: None)
    return out, ch, link


@pytest.mark.parametrize("stroke", ["abc", -1, [1], None, float("nan"), 1.0, True])
def test_f5_forged_stroke_never_crashes_and_never_lets_the_resonance_through(stroke):
    out, ch, link = _run({"status": "ok", "stroke_m": stroke})
    assert out["status"] == "rejected" and out["source"] == "twin" and out["check"] == "drift"
    assert not any("cmd" in t for t, _ in link.published)  # never sent
    if stroke is not None:
        assert ch.counters.bad_states >= 1


def test_f5_a_tiny_stroke_from_an_unvouched_state_is_not_believed():
    # 1e-9 m lies inside the scene's stroke range (0..1 mm); on a broker where anyone may write
    # the state the twin never assumes less than its scene's own stroke
    ch = CommandChannel(MqttWire(FakeLink([]), TOPICS), SCENE, user="a")
    if not str(getattr(ch.wire, "trust", "")).startswith("open"):
        pytest.skip("this checkout has no link trust levels yet")
    assert ch.rig_stroke(1e-9) == SCENE.data.crank.stroke_m
    assert ch.check(make_command("set_speed", {"rpm": 346.8}, user="a")) is not None


def test_f5_a_malformed_ack_for_our_command_is_counted_and_ignored():
    ch = CommandChannel(MqttWire(FakeLink([]), TOPICS), SCENE, user="a")
    cmd = make_command("set_speed", {"rpm": 100.0}, user="a")
    assert ch.send(cmd, 0.0, check=False).ok
    for bad in ({"id": cmd.id, "status": "done", "outcome": 5},
                {"id": cmd.id, "status": "finished"}, {"id": cmd.id}):
        assert ch.on_ack(bad) is None
    assert ch.counters.bad_acks == 3 and cmd.id in ch.pending
    assert ch.on_ack({"id": cmd.id, "status": "done"}) is not None and not ch.pending
