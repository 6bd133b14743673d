"""The NATS accounts that `broker-config --kind nats` writes, enforced by the real cluster:
the same rights as the mosquitto ACL, across nodes."""

from __future__ import annotations

import threading

from tests.conftest import until_subscribed

from twin3d.io.mqtt_link import MqttLink, Topics


def _link(cluster, k: int, user: str, subs=()) -> MqttLink:
    host, port = cluster.mqtt[k - 1].split(":")
    link = MqttLink(host, int(port), username=user, password=cluster.passwords[user]).start()
    for t, q in subs:
        link.subscribe(t, q)
    assert link.wait_connected(30), link.last_error
    return link


def _processed(link: MqttLink) -> None:
    """Return once the server has handled what `link` sent before (its SUBACK comes after)."""
    done = threading.Event()
    link._client.on_subscribe = lambda *a: done.set()
    link._client.subscribe("twin3d/sync", 0)
    assert done.wait(20)


def test_viewer_cannot_command_and_operator_cannot_impersonate(cluster, wait_for):
    t = Topics.for_rig("rig1")
    rig = _link(cluster, 1, "rig1", [(t.cmd_filter, 1)])  # as the rig subscribes
    viewer = _link(cluster, 2, "viewer")
    op = _link(cluster, 2, "op")
    try:
        assert wait_for(lambda: rig.connected)
        viewer.publish(t.cmd_of("viewer"), b"from-viewer", qos=1)
        _processed(viewer)
        op.publish(t.cmd_of("viewer"), b"op-as-viewer", qos=1)  # forbidden: not its own
        op.publish(t.cmd_of("op"), b"from-op", qos=1)  # allowed, sent after on one connection
        got = []
        assert wait_for(lambda: (got.extend(rig.drain()) or
                              any(m.payload == b"from-op" for m in got)), 30)
        assert [(m.topic, m.payload) for m in got] == [(t.cmd_of("op"), b"from-op")]
    finally:
        for link in (rig, viewer, op):
            link.stop()


def test_a_rig_writes_only_its_own_topics(cluster, wait_for):
    watcher = _link(cluster, 3, "viewer", [("twin3d/#", 0)])
    rig2 = _link(cluster, 2, "rig2")
    try:
        # the watcher's interest reaches node 2 some time after its SUBACK on node 3
        until_subscribed(rig2, watcher, Topics.for_rig("rig2").data)
        rig2.publish(Topics.for_rig("rig1").data, b"forged")  # another rig's data: dropped
        rig2.publish(Topics.for_rig("rig2").data, b"own")
        got = []
        assert wait_for(lambda: (got.extend(watcher.drain()) or
                              any(m.payload == b"own" for m in got)), 30)
        data = [(m.topic, m.payload) for m in got
                if m.topic.endswith("/data") and m.payload != b"probe"]  # a late probe
        assert data == [("twin3d/rig2/data", b"own")]
    finally:
        watcher.stop()
        rig2.stop()


def test_retained_state_reaches_a_late_viewer_on_another_node(cluster, wait_for):
    t = Topics.for_rig("rig4")
    rig = _link(cluster, 1, "rig4")
    try:
        assert rig.publish(t.state, b'{"status": "ok"}', qos=1, retain=True)
        late = []

        def seen() -> bool:
            v = _link(cluster, 3, "viewer", [(t.state, 0)])
            try:
                return wait_for(lambda: (late.extend(v.drain()) or bool(late)), 2)
            finally:
                v.stop()
        assert wait_for(seen, 30, 0.2)  # JetStream keeps it cluster-wide (replicated)
        assert late[0].retain and late[0].payload == b'{"status": "ok"}'
    finally:
        rig.publish(t.state, b"", qos=1, retain=True)  # clear it for other tests
        rig.stop()
