"""The in-process bus (`twin3d.io.loopback`): routing by exact topic and `a/#` filter, retained
messages and their clearing, a publish on a stopped link, the will on kill (not on stop), the
bounded inbox, and payloads as bytes."""

from __future__ import annotations

import json

import numpy as np

from twin3d.io import t3d1
from twin3d.io.loopback import LoopbackBus
from twin3d.io.mqtt_link import Will


def _topics(msgs) -> list[str]:
    return [m.topic for m in msgs]


def test_publish_routes_to_subscribed_links_only():
    bus = LoopbackBus()
    exact = bus.link(subscriptions=["rig/a/data"]).start()
    wild = bus.link(subscriptions=["rig/a/#"]).start()
    other = bus.link(subscriptions=["rig/b/#"]).start()
    none = bus.link().start()
    pub = bus.link().start()
    for t in ("rig/a/data", "rig/a/state", "rig/b/data", "rig/ab/data", "rig/a"):
        assert pub.publish(t, t)
    assert _topics(exact.drain()) == ["rig/a/data"]
    # `rig/a/#` takes everything under rig/a and rig/a itself, but not rig/ab/...
    assert _topics(wild.drain()) == ["rig/a/data", "rig/a/state", "rig/a"]
    assert _topics(other.drain()) == ["rig/b/data"]
    assert none.drain() == [] and pub.drain() == []
    assert pub.counters.published == 5 and pub.counters.publish_failed == 0
    assert exact.counters.received == 1 and wild.counters.received == 3


def test_subscribe_after_start_and_a_stopped_link_receives_nothing():
    bus = LoopbackBus()
    sub = bus.link().start()
    pub = bus.link().start()
    pub.publish("x/y", b"1")
    assert sub.drain() == []
    sub.subscribe("x/#")
    pub.publish("x/y", b"2")
    assert [m.payload for m in sub.drain()] == [b"2"]
    sub.stop()
    assert not sub.connected
    pub.publish("x/y", b"3")
    assert sub.drain() == []


def test_retained_message_reaches_a_later_subscriber_and_empty_payload_clears():
    bus = LoopbackBus()
    pub = bus.link().start()
    pub.publish("rig/state", b'{"status": "ok"}', qos=1, retain=True)
    pub.publish("rig/state", b'{"status": "estop"}', qos=1, retain=True)  # replaces the first
    pub.publish("rig/data", b"not retained")
    late = bus.link(subscriptions=["rig/#"]).start()
    got = late.drain()
    assert len(got) == 1
    assert got[0].topic == "rig/state" and got[0].retain and got[0].qos == 1
    assert got[0].json() == {"status": "estop"}
    # subscribing on a started link delivers the retained message too
    later = bus.link().start()
    later.subscribe("rig/state")
    assert [m.payload for m in later.drain()] == [b'{"status": "estop"}']
    # an empty retained payload clears the topic (live subscribers still see the empty message)
    pub.publish("rig/state", b"", retain=True)
    assert [m.payload for m in late.drain()] == [b""]
    fresh = bus.link(subscriptions=["rig/#"]).start()
    assert fresh.drain() == []


def test_publish_on_a_stopped_link_fails_and_is_counted():
    bus = LoopbackBus()
    sub = bus.link(subscriptions=["t/#"]).start()
    pub = bus.link()
    assert pub.publish("t/x", b"before start") is False  # never started
    pub.start()
    assert pub.publish("t/x", b"ok") is True
    pub.stop()
    assert pub.publish("t/cmd", b"after stop") is False
    assert pub.counters.publish_failed == 2 and pub.counters.published == 1
    assert "t/cmd" in pub.last_error and "not connected" in pub.last_error
    assert [m.payload for m in sub.drain()] == [b"ok"]


def test_kill_publishes_the_retained_will_and_stop_does_not():
    bus = LoopbackBus()
    watcher = bus.link(subscriptions=["rig/#"]).start()
    will = Will("rig/1/state", json.dumps({"status": "lost"}))
    clean = bus.link(will=Will("rig/2/state", b'{"status": "lost"}')).start()
    clean.stop()
    assert watcher.drain() == []
    assert clean.counters.disconnects == 0

    dying = bus.link(will=will).start()
    dying.kill()
    assert not dying.connected and dying.counters.disconnects == 1
    got = watcher.drain()
    assert _topics(got) == ["rig/1/state"] and got[0].json() == {"status": "lost"}
    assert isinstance(got[0].payload, bytes)
    # retained: a twin that connects afterwards learns the rig is lost
    late = bus.link(subscriptions=["rig/#"]).start()
    late_got = late.drain()
    assert _topics(late_got) == ["rig/1/state"] and late_got[0].retain
    # a second kill of a dead link publishes nothing more
    dying.kill()
    assert watcher.drain() == [] and dying.counters.disconnects == 1


def test_kill_without_a_will_publishes_nothing():
    bus = LoopbackBus()
    watcher = bus.link(subscriptions=["#"]).start()
    bus.link().start().kill()
    assert watcher.drain() == []


def test_bounded_inbox_drops_the_oldest_and_counts():
    bus = LoopbackBus()
    sub = bus.link(subscriptions=["q"], queue_size=5).start()
    pub = bus.link().start()
    for i in range(12):
        pub.publish("q", str(i))
    assert sub.counters.received == 12
    assert sub.counters.overflows == 7
    assert [m.payload for m in sub.drain()] == [str(i).encode() for i in range(7, 12)]
    pub.publish("q", "12")
    assert sub.get(0.5).payload == b"12"
    assert sub.get() is None and sub.counters.overflows == 7


def test_payloads_arrive_as_bytes_equal_to_what_was_sent():
    bus = LoopbackBus()
    sub = bus.link(subscriptions=["p/#"]).start()
    pub = bus.link().start()
    block = t3d1.encode(3, 1_700_000_000_000_000_000, 1000.0,
                        np.arange(20, dtype=np.float64).reshape(5, 4))
    raw = bytes(range(256))
    buf = bytearray(b"mutable")
    pub.publish("p/block", block)
    pub.publish("p/raw", raw)
    pub.publish("p/text", "héllo")
    pub.publish("p/buf", buf)
    buf[:] = b"changed"  # the bus holds its own copy, as bytes on a socket would be
    got = {m.topic: m.payload for m in sub.drain()}
    assert all(type(p) is bytes for p in got.values())
    assert got["p/block"] == block and got["p/raw"] == raw
    assert got["p/text"] == "héllo".encode() and got["p/buf"] == b"mutable"
    b = t3d1.decode(got["p/block"])
    assert b.seq == 3 and np.array_equal(b.samples, np.arange(20.0).reshape(5, 4))
