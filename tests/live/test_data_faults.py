"""Faults on a rig's `data` topic through a real mosquitto: garbage, truncated, CRC-damaged and
replayed (duplicated) T3D1 blocks, and a rig that restarts. Ingest must count each kind apart,
accept every distinct good block once, and never hand the twin a block twice."""

from __future__ import annotations

import json
import uuid

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from twin3d.io import t3d1
from twin3d.io.mqtt_link import Topics
from twin3d.live.sources import open_source
from twin3d.live.live_feed import LiveFeed
from twin3d.scenefile.records import load_scene

SCENE = load_scene("three_storey")
CHANNELS = tuple(SCENE.data.sensors)
UNITS = [s.unit for s in SCENE.data.sensors.values()]
FS, BLOCK = 1000.0, 50
T0_NS = 1_700_000_000_000_000_000


def _block(seq: int, t0_ns: int | None = None) -> bytes:
    rng = np.random.default_rng(seq)
    t0 = T0_NS + seq * 50_000_000 if t0_ns is None else t0_ns
    return t3d1.encode(seq, t0, FS, rng.normal(0, 0.05, (BLOCK, len(CHANNELS))))


def _crc_damaged(raw: bytes) -> bytes:
    b = bytearray(raw)
    b[t3d1.HEADER_SIZE + 7] ^= 0x10  # one flipped bit in the samples
    return bytes(b)


# One rig's stream as it might arrive: good blocks 0..9 once each, plus
# - exact duplicates right after the original (a QoS 1 redelivery, a bridge loop),
# - older blocks replayed later (a stale retained copy, a replay tool on the wrong topic),
# - bytes that are no block, a block cut short, a block with a flipped bit.
GARBAGE = bytes(np.random.default_rng(7).integers(0, 256, 300, dtype=np.uint8))
STREAM = [_block(0), _block(1), _block(1), _block(2), GARBAGE, _block(3), _block(4),
          _block(5)[:-60], _block(5), _block(6), _block(3), _crc_damaged(_block(7)), _block(7),
          _block(8), _block(8), _block(2), _block(9)]
EXPECTED = {"blocks": 10, "duplicates": 4, "invalid": 2, "crc_errors": 1, "gaps": 0,
            "lost_blocks": 0, "samples": 10 * BLOCK}


class Rig:
    """A fake rig: a raw paho client publishing meta and whatever bytes it is told on `data`."""

    def __init__(self, port: int):
        self.rig_id = f"faults-{uuid.uuid4().hex[:8]}"  # fresh topics: no retained leftovers
        self.topics = Topics.for_rig(self.rig_id)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"fake-{self.rig_id}")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        meta = t3d1.make_meta(CHANNELS, UNITS, FS, BLOCK, rig_id=self.rig_id)
        self.client.publish(self.topics.meta, json.dumps(meta), qos=1,
                            retain=True).wait_for_publish(10)

    def send(self, payloads) -> None:
        # QoS 1 from one client on one topic: the broker keeps the order, so once the last
        # block has been taken in, everything before it has been seen too
        infos = [self.client.publish(self.topics.data, p, qos=1) for p in payloads]
        infos[-1].wait_for_publish(10)

    def close(self) -> None:
        self.client.publish(self.topics.meta, b"", qos=1, retain=True).wait_for_publish(10)
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def fake_rig(broker):
    r = Rig(broker.port)
    yield r
    r.close()


@pytest.fixture
def source(fake_rig, broker, wait_for):
    src = open_source(f"mqtt://127.0.0.1:{broker.port}/{fake_rig.rig_id}", SCENE).start()
    got = []
    # the retained meta arrives once the source is subscribed (data was subscribed before it)
    assert wait_for(lambda: got.extend(src.poll()) or src.meta is not None)
    assert got == []
    yield src
    src.stop()


def _take(src, wait_for, n_blocks: int) -> list:
    got = []
    assert wait_for(lambda: got.extend(src.poll()) or src.counters["blocks"] >= n_blocks), \
        src.counters
    return got


def test_garbage_truncated_damaged_and_replayed_blocks_on_mqtt(fake_rig, source, wait_for):
    fake_rig.send(STREAM)
    got = _take(source, wait_for, EXPECTED["blocks"])
    c = source.counters
    assert {k: c[k] for k in EXPECTED} == EXPECTED
    # each distinct block once, in order, never one drawn twice
    assert [it.block.seq for it in got] == list(range(10))
    # the accepted copy is the good one, not the damaged one of the same seq
    assert all(it.raw == _block(it.block.seq) for it in got)
    assert c["overflows"] == 0
    # the stream goes on normally after the replays
    fake_rig.send([_block(10), _block(11)])
    got = _take(source, wait_for, 12)
    assert [it.block.seq for it in got] == [10, 11] and source.counters["gaps"] == 0


def test_a_restarted_rig_is_a_gap_not_a_duplicate(fake_rig, source, wait_for):
    later = T0_NS + 60_000_000_000  # the restarted rig counts from 0 again, a minute on
    restarted = [_block(s, later + s * 50_000_000) for s in range(3)]
    fake_rig.send([_block(s) for s in range(5)] + restarted[:2] + [restarted[1], restarted[2]])
    got = _take(source, wait_for, 8)
    c = source.counters
    assert c["blocks"] == 8 and c["gaps"] == 1 and c["lost_blocks"] == 0
    assert c["duplicates"] == 1  # only the true repeat of the new seq 1
    assert [it.block.seq for it in got] == [0, 1, 2, 3, 4, 0, 1, 2]
    t0 = [it.block.t0_ns for it in got]
    assert all(b > a for a, b in zip(t0, t0[1:]))


def test_live_feed_draws_each_block_once(fake_rig, broker, wait_for):
    src = open_source(f"mqtt://127.0.0.1:{broker.port}/{fake_rig.rig_id}", SCENE)
    feed = LiveFeed(src, SCENE)  # starts the source
    try:
        assert wait_for(lambda: feed.step(0.016) is not None and src.meta is not None)
        fake_rig.send(STREAM)
        states = []
        assert wait_for(lambda: states.append(feed.step(0.016)) or
                        states[-1].counters["blocks"] >= EXPECTED["blocks"])
        st = states[-1]
        assert {k: st.counters[k] for k in EXPECTED} == EXPECTED
        assert feed.mode == "kalman"
        t = st.history_t
        assert t.size == EXPECTED["blocks"] * BLOCK  # nothing drawn twice, nothing missing
        assert np.all(np.diff(t) > 0)  # so no repeated time stamps either
        assert t[-1] == pytest.approx((10 * BLOCK - 1) / FS)
        assert all(v.size == t.size for v in st.history.values())
    finally:
        feed.close()
