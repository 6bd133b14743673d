"""F12: a monitor-like loop (LiveFeed on a source the test feeds: blocks, state, acks) keeps a
flat memory after warm-up, and after a burst of garbage.

Measured with tracemalloc, not RSS: tracemalloc counts the bytes Python and numpy hold right now,
so a leak (a list or deque that grows per block or per message) shows as a steady rise, while
RSS also moves with the allocator keeping freed arenas, numba's compiled code and the tracker's
worker, which would make a tight RSS bound flaky and a loose one blind."""

from __future__ import annotations

import json
import time
import tracemalloc

import numpy as np
import pytest

from twin3d.io import t3d1
from twin3d.live.live_feed import LiveFeed
from twin3d.scenefile.records import load_scene
from tests.io.test_trust import TOPICS, msg, mqtt_source

SCENE = load_scene("three_storey")
NAMES = tuple(SCENE.data.sensors)
UNITS = [s.unit for s in SCENE.data.sensors.values()]
FS, BLOCK = 1000.0, 50


@pytest.mark.slow
def test_monitor_loop_memory_is_flat_after_warm_up_and_after_garbage():
    src, link = mqtt_source()
    feed = LiveFeed(src, SCENE, start=False, commands=False)
    rng = np.random.default_rng(1)
    t_recv0, t0 = time.time_ns(), time.time_ns()
    seq = 0

    def run(n_blocks: int, garbage: bool = False) -> None:
        nonlocal seq
        for _ in range(n_blocks // 10):
            for _ in range(10):
                link.q.append(msg(TOPICS.data, t3d1.encode(
                    seq, t0 + seq * 50_000_000, FS, rng.normal(0, 0.05, (BLOCK, len(NAMES)))),
                    t_recv0 + seq * 50_000_000))
                seq += 1
                # the rig's state (as big as the simulated rig's) and others' acks, often
                link.q.append(msg(TOPICS.state, {"status": "ok", "seq": seq, "speed_rpm": 1.0,
                                                 "stroke_m": 0.00025, "pad": "s" * 1000}))
                link.q.append(msg(TOPICS.ack, {"id": f"x{seq}", "status": "done"}))
            if garbage:  # ~5 MB of junk per round: bytes, bad JSON, forged headers
                link.q.append(msg(TOPICS.data, rng.bytes(1_000_000)))
                link.q.append(msg(TOPICS.meta, b"{" + rng.bytes(1_000_000)))
                link.q.append(msg(TOPICS.state, rng.bytes(1_000_000)))
                link.q.append(msg(TOPICS.ack, json.dumps({"id": "y" * 1_000_000}).encode()))
                link.q.append(msg(TOPICS.data, t3d1.encode(
                    10**12 + seq, t0, 50_000.0, np.zeros((20_000, len(NAMES))))))
            feed.step()

    try:
        link.q.append(msg(TOPICS.meta, t3d1.make_meta(NAMES, UNITS, FS, BLOCK)))
        tracemalloc.start()
        run(600)  # 30 s of rig time: the history (10 s) and the tracker's window are full
        feed.settle()
        base = tracemalloc.get_traced_memory()[0]
        run(1200)
        feed.settle()
        after_run = tracemalloc.get_traced_memory()[0]
        run(100, garbage=True)  # ~50 MB of garbage
        run(400)
        feed.settle()
        after_garbage = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        feed.close()
    c = src.counters
    assert c["blocks"] == 2300 and c["gaps"] == 0
    assert c["bad_meta"] == 10 and c["bad_state"] == 10 and c["bad_ack"] == 10
    # 1200 blocks, states and acks after warm-up: a per-message leak of even 200 bytes shows
    assert after_run - base < 250_000, (base, after_run)
    assert after_garbage - base < 250_000, (base, after_garbage)
