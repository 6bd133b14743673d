"""A link given several brokers (`h1:p1,h2:p2`) connects to any, fails over when its node dies,
resubscribes there and counts the failover; a source counts the gap exactly. Two mosquittos
stand in for two nodes here (the NATS cluster itself is in tests/cluster)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from twin3d.io import t3d1
from twin3d.io.mqtt_link import MqttLink, Topics, parse_hostports
from twin3d.io.mqtt_source import MqttSource, open_mqtt

T = Topics.for_rig("rig1")


def test_address_lists_parse_and_bad_entries_are_named():
    assert parse_hostports("a:1,b,c:3") == [("a", 1), ("b", 1883), ("c", 3)]
    assert parse_hostports("a") == [("a", 1883)]
    for text, words in (("a:1,,b:2", "entry 2 is empty"), ("a:1,b:x", "entry 2"),
                        ("a:1,b:70000", "out of range"), ("a:1,a:1", "given twice"),
                        ("a:1,:2", "no host")):
        with pytest.raises(ValueError, match=words):
            parse_hostports(text)


def test_a_source_url_with_a_bad_node_is_refused_in_one_line():
    with pytest.raises(ValueError, match="entry 2"):
        open_mqtt("mqtt://127.0.0.1:1,127.0.0.1:notaport/rig1")
    with pytest.raises(ValueError, match="only for `twin3d monitor`"):
        open_mqtt("mqtt://127.0.0.1:1/+")


@pytest.mark.parametrize("standby", [False, True])
def test_the_link_fails_over_resubscribes_and_the_gap_is_counted_exactly(broker_class,
                                                                           tmp_path,
                                                                           wait_for, standby):
    """Without a standby the link reconnects to b (backoff 0.1 s): blocks sent meanwhile are
    lost and counted. With one (the default for a list) it is already connected to b and
    only subscribes there."""
    a, b = (broker_class(tmp_path).start() for _ in range(2))  # each its own port and file
    link = MqttLink([("127.0.0.1", a.port), ("127.0.0.1", b.port)], standby=standby)
    src = MqttSource(f"mqtt://127.0.0.1:{a.port},127.0.0.1:{b.port}/rig1", link,
                     "rig1").start()
    # the rig publishes on both (two brokers are no cluster: nothing routes between them)
    pubs = [MqttLink("127.0.0.1", br.port).start() for br in (a, b)]
    seqs: list[int] = []

    def pump() -> bool:
        src.wait(0.01)
        seqs.extend(it.block.seq for it in src.poll())
        return True

    try:
        assert src.link.wait_connected(10) and src.link.port == a.port
        if standby:
            assert wait_for(lambda: link._standby.is_connected())
        meta = t3d1.make_meta(["a1"], ["m/s^2"], 1000.0, 50)
        for p in pubs:
            assert p.wait_connected(10)
            p.publish(T.meta, json.dumps(meta), qos=1, retain=True)
        t0 = time.time_ns()

        def send(seq: int, links) -> None:
            raw = t3d1.encode(seq, t0 + seq * 50_000_000, 1000.0, np.zeros((50, 1), np.float32))
            for p in links:
                p.publish(T.data, raw)

        for seq in range(5):
            send(seq, pubs)
        assert wait_for(lambda: pump() and len(seqs) == 5)
        a.kill()  # the source's node dies
        for seq in range(5, 9):  # published while the source has no node: lost
            send(seq, pubs[1:])
        assert wait_for(lambda: src.link.connected and src.link.port == b.port)
        seq = 9
        for _ in range(100):  # until the source has resubscribed on b (bounded: 20 s)
            if wait_for(lambda: pump() and len(seqs) > 5, 0.2):
                break
            send(seq, pubs[1:])
            seq += 1
        for s in range(seq, seq + 3):
            send(s, pubs[1:])
        assert wait_for(lambda: pump() and seqs[-1] == seq + 2)
    finally:
        src.stop()
        for p in pubs:
            p.stop()
        a.kill()
        b.kill()
    missing = int((np.diff(seqs) - 1).sum())
    assert src.counters["lost_blocks"] == missing and missing >= (0 if standby else 4)
    assert src.counters["gaps"] == int((np.diff(seqs) > 1).sum())
    assert src.failovers == 1 and src.link.counters.connects == 2


@pytest.mark.parametrize("standby", [False, True])
def test_a_list_whose_first_node_is_down_connects_to_the_next(broker, free_port, standby):
    link = MqttLink([("127.0.0.1", free_port()), ("127.0.0.1", broker.port)], standby=standby,
                    subscriptions=["twin3d/x"]).start()
    try:
        assert link.wait_connected(10), link.last_error
        assert link.port == broker.port and link.counters.failovers == 0
        assert link.publish("twin3d/x", b"hello")
        got = link.get(5)  # subscribed on the node it ended on
        assert got is not None and got.payload == b"hello"
    finally:
        link.stop()
