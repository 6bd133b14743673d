"""F6: the rig takes the operator from the topic the broker let them write (`cmd/<user>`,
`heartbeat/<user>`), never from the payload's own `user` field."""

from __future__ import annotations

import json

import pytest

from twin3d.io.loopback import LoopbackBus, _matches
from twin3d.io.mqtt_link import Topics
from twin3d.live.command_channel import TRUST_ACL, TRUST_OPEN, link_trust, MqttWire
from twin3d.protocol.commands import make_command
from twin3d.rig.core import RigCore
from twin3d.rig.transports import MqttTransport
from twin3d.scenefile.records import load_scene

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def scene():
    return load_scene("three_storey")


def _rig(scene):
    bus = LoopbackBus()
    core = RigCore(scene, ambient_rms=0.0)
    transport = MqttTransport(bus.link(), "rig1")
    transport.start(core)
    return bus, core, transport, bus.link().start()


def test_command_topic_user_must_match_payload_user(scene):
    bus, core, transport, op = _rig(scene)
    topics = transport.topics
    op.publish(topics.cmd_of("bob"), make_command("stop", user="alice", sent=T0).to_json())
    events = transport.poll(core, T0)
    assert [e.status for e in events] == ["rejected"]
    assert "user" in events[0].reason and "alice" in events[0].reason
    assert core.interlocks.lease_user is None
    op.publish(topics.cmd_of("bob"), make_command("stop", user="bob", sent=T0).to_json())
    events = transport.poll(core, T0)
    assert events and events[0].status == "accepted"
    assert core.interlocks.lease_user == "bob"


def test_plain_cmd_topic_is_no_longer_heard(scene):
    bus, core, transport, op = _rig(scene)
    op.publish(transport.topics.cmd, make_command("stop", user="bob", sent=T0).to_json())
    assert transport.poll(core, T0) == []


def test_spoofed_heartbeat_keeps_no_lease_alive(scene):
    bus, core, transport, op = _rig(scene)
    topics, il = transport.topics, core.interlocks
    op.publish(topics.cmd_of("alice"), make_command("stop", user="alice", sent=T0).to_json())
    transport.poll(core, T0)
    assert il.lease_user == "alice" and il.lease_seen == T0
    # mallory's account may write only heartbeat/mallory: claiming alice in the payload fails
    op.publish(topics.heartbeat_of("mallory"), json.dumps({"user": "alice", "t": T0 + 1}))
    transport.poll(core, T0 + 1)
    assert il.lease_seen == T0
    op.publish(topics.heartbeat_of("mallory"), json.dumps({"t": T0 + 1}))
    transport.poll(core, T0 + 1)
    assert il.lease_seen == T0  # mallory's own heartbeat is not alice's
    op.publish(topics.heartbeat_of("alice"), json.dumps({"user": "alice", "t": T0 + 1}))
    transport.poll(core, T0 + 1)
    assert il.lease_seen == T0 + 1


def test_core_accepts_user_argument_directly(scene):
    core = RigCore(scene, ambient_rms=0.0)
    cmd = make_command("stop", user="ann", sent=T0).to_json()
    assert core.command(cmd, T0, user="bob")[0].status == "rejected"
    assert core.command(make_command("stop", user="ann", sent=T0).to_json(), T0,
                        user="ann")[0].status == "accepted"


def test_wire_publishes_on_per_user_topics():
    bus = LoopbackBus()
    topics = Topics.for_rig("rig1")
    ear = bus.link(subscriptions=[topics.cmd_filter, topics.heartbeat_filter]).start()
    wire = MqttWire(bus.link().start(), topics)
    wire.send_command(make_command("stop", user="olga"))
    wire.send_heartbeat("olga")
    assert [m.topic for m in ear.drain()] == ["twin3d/rig1/cmd/olga",
                                               "twin3d/rig1/heartbeat/olga"]


def test_topic_helpers_and_loopback_wildcards():
    t = Topics.for_rig("r")
    assert t.user_in("twin3d/r/cmd/olga", t.cmd) == "olga"
    assert t.user_in("twin3d/r/cmd", t.cmd) is None
    assert t.user_in("twin3d/r/cmd/a/b", t.cmd) is None
    assert _matches("twin3d/+/cmd/+", "twin3d/r/cmd/olga")
    assert not _matches("twin3d/+/cmd/+", "twin3d/r/cmd")
    assert _matches("twin3d/#", "twin3d/r/cmd/olga") and _matches("twin3d/#", "twin3d")
    assert not _matches("a/b", "a/b/c")


def test_trust_is_stated_honestly():
    class L:
        host, username = "10.0.0.1", None
    assert link_trust(L()) == TRUST_OPEN and "cannot tell" in TRUST_OPEN
    L.username = "olga"
    assert link_trust(L()) == TRUST_ACL
