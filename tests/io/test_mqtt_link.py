"""MQTT link against a real mosquitto: round trip, retained meta, last will, overflow counted,
and a broker that dies and comes back."""

from __future__ import annotations

import time

import numpy as np

import pytest

from tests.conftest import until_subscribed
from twin3d.io import t3d1
from twin3d.io.mqtt_link import Message, MqttLink, Topics, Will, parse_hostport


def _pair(broker, rig="t", **kw):
    top = Topics.for_rig(rig)
    sub = MqttLink("127.0.0.1", broker.port, subscriptions=[f"twin3d/{rig}/#"], **kw).start()
    pub = MqttLink("127.0.0.1", broker.port).start()
    assert sub.wait_connected(10) and pub.wait_connected(10)
    until_subscribed(pub, sub, f"twin3d/{rig}/probe")
    return top, sub, pub


def test_parse_hostport():
    assert parse_hostport("localhost:1884") == ("localhost", 1884)
    assert parse_hostport("10.0.0.2") == ("10.0.0.2", 1883)
    for bad in ("host:x", ":1883", "h:0"):
        with pytest.raises(ValueError):
            parse_hostport(bad)


def test_blocks_round_trip_in_order(broker, wait_for):
    top, sub, pub = _pair(broker, rig="rt")
    try:
        sent = [t3d1.encode(i, i, 1000.0, np.full((50, 4), i)) for i in range(100)]
        pub.publish(top.meta, b'{"x": 1}', qos=1, retain=True)
        for s in sent:
            assert pub.publish(top.data, s)
        got: list[Message] = []
        assert wait_for(lambda: got.extend(sub.drain()) or
                        sum(m.topic == top.data for m in got) == 100)
        data = [m for m in got if m.topic == top.data]
        assert [t3d1.decode(m.payload).seq for m in data] == list(range(100))
        assert all(isinstance(m.t_recv_ns, int) and m.t_recv_ns > 0 for m in data)
        assert [m.json() for m in got if m.topic == top.meta] == [{"x": 1}]
        assert sub.counters.overflows == 0 and sub.counters.received >= 101
        # a late subscriber still gets the retained meta
        late = MqttLink("127.0.0.1", broker.port, subscriptions=[top.meta]).start()
        try:
            m = late.get(timeout=10)
            assert m is not None and m.retain and m.json() == {"x": 1}
        finally:
            late.stop()
    finally:
        sub.stop()
        pub.stop()


def test_overflow_is_counted_and_keeps_the_newest(broker, wait_for):
    top, sub, pub = _pair(broker, rig="ov", queue_size=10)
    try:
        base = sub.counters.received  # the probes of _pair
        for i in range(50):
            pub.publish(top.data, str(i).encode(), qos=1)
        assert wait_for(lambda: sub.counters.received == base + 50)
        kept = [int(m.payload) for m in sub.drain()]
        assert kept == list(range(40, 50)) and sub.counters.overflows == 40
    finally:
        sub.stop()
        pub.stop()


def test_last_will_marks_the_rig_lost(own_broker, wait_for):
    top = Topics.for_rig("lw")
    watcher = MqttLink("127.0.0.1", own_broker.port, subscriptions=[top.state]).start()
    rig = MqttLink("127.0.0.1", own_broker.port, keepalive=1,
                   will=Will(top.state, b'{"status": "lost"}')).start()
    try:
        assert watcher.wait_connected(10) and rig.wait_connected(10)
        rig.publish(top.state, b'{"status": "ok"}', qos=1, retain=True)
        assert wait_for(lambda: (m := watcher.get(0.05)) is not None and
                        m.json() == {"status": "ok"})
        # an unclean end (socket closed without DISCONNECT) makes the broker send the will
        rig._client.loop_stop()
        rig._client.socket().close()
        assert wait_for(lambda: (m := watcher.get(0.05)) is not None and
                        m.json() == {"status": "lost"})
    finally:
        watcher.stop()


def test_publish_while_down_is_counted_not_raised(free_port, wait_for):
    link = MqttLink("127.0.0.1", free_port(), min_backoff=0.05, max_backoff=0.2).start()
    try:
        assert not link.publish("twin3d/x/data", b"1")
        assert link.counters.publish_failed == 1
        assert wait_for(lambda: link.counters.connect_failures >= 1)
        assert not link.connected and link.last_error
    finally:
        link.stop()


def test_broker_dies_and_comes_back(own_broker, wait_for):
    top = Topics.for_rig("rc")
    sub = MqttLink("127.0.0.1", own_broker.port, subscriptions=[top.data], keepalive=2,
                   min_backoff=0.05, max_backoff=0.5).start()
    pub = MqttLink("127.0.0.1", own_broker.port, min_backoff=0.05, max_backoff=0.5).start()
    try:
        assert sub.wait_connected(10) and pub.wait_connected(10)
        until_subscribed(pub, sub, top.data)
        got = []
        for i in range(20):
            pub.publish(top.data, b"a%d" % i, qos=1)
        assert wait_for(lambda: got.extend(m for m in sub.drain() if m.payload != b"probe") or len(got) == 20)
        own_broker.kill()
        assert wait_for(lambda: not sub.connected and not pub.connected)
        assert not pub.publish(top.data, b"lost")  # refused and counted, not raised
        own_broker.start()
        assert wait_for(lambda: sub.connected and pub.connected, timeout=20)
        assert sub.counters.connects == 2 and sub.counters.disconnects == 1
        until_subscribed(pub, sub, top.data)  # renewed after the reconnect
        for i in range(20):
            pub.publish(top.data, b"b%d" % i, qos=1)
        assert wait_for(lambda: got.extend(m for m in sub.drain() if m.payload != b"probe") or len(got) == 40)
        # everything that arrived is kept, in order; the subscription was renewed
        assert [m.payload for m in got] == [b"a%d" % i for i in range(20)] + \
            [b"b%d" % i for i in range(20)]
        assert pub.counters.publish_failed == 1
    finally:
        sub.stop()
        pub.stop()
