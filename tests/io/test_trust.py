"""Forged and disordered input on every path into the twin (findings F3, F4, F5, F8): a block
with a valid CRC and any header, a meta or state of any shape, any serial line. Nothing raises,
each drop is counted under its own name, and a good stream after it is still taken in."""

from __future__ import annotations

import json
import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin3d.io import ingest as ing
from twin3d.io import serial_lines as sl
from twin3d.io import t3d1
from twin3d.io.ingest import COUNTERS, DATA_OUTCOMES, Ingest
from twin3d.io.mqtt_link import Message, Topics
from twin3d.io.mqtt_source import MqttSource
from twin3d.io.serial_link import SerialMessage
from twin3d.io.serial_source import SerialSource

CHANNELS = ("acc_table", "acc_floor1", "acc_floor2", "acc_floor3", "motor_speed")
UNITS = ["m/s^2"] * 4 + ["rpm"]
FS, BLOCK = 1000.0, 50
BLOCK_NS = 50_000_000
RIG = "trust"
TOPICS = Topics.for_rig(RIG)


def now_ns() -> int:
    return time.time_ns()


T0 = now_ns()  # a wall-clock rig


def block(seq: int, t0_ns: int | None = None, fs: float = FS, n: int = BLOCK,
          m: int = len(CHANNELS)) -> bytes:
    t0 = T0 + seq * BLOCK_NS if t0_ns is None else t0_ns
    return t3d1.encode(seq, t0, fs, np.full((n, m), 0.01 * (seq % 100), np.float32))


def forged(seq: int, t0_ns: int, fs: float, n: int = BLOCK, m: int = len(CHANNELS),
           flags: int = 0) -> bytes:
    """Any header with a valid CRC (encode refuses some of these values: built by hand)."""
    width = 2 if flags & 1 else 4
    head = t3d1.HEADER.pack(t3d1.MAGIC, 1, flags, m, n, seq, t0_ns, fs)
    payload = head + bytes(n * m * width)
    return payload + struct.pack("<I", zlib.crc32(payload))


class FakeLink:
    """A TopicLink fed by the test."""

    def __init__(self):
        self.q: list = []
        self.connected = True
        self.counters = type("C", (), {"overflows": 0})()

    def subscribe(self, *a, **k):
        pass

    def start(self):
        return self

    def stop(self):
        pass

    def get(self, timeout=None):
        return self.q.pop(0) if self.q else None

    def drain(self, max_n: int = 1_000_000):
        out, self.q = self.q, []
        return out


def mqtt_source() -> tuple[MqttSource, FakeLink]:
    link = FakeLink()
    return MqttSource("mqtt://test/trust", link, RIG), link


def msg(topic: str, payload, t_recv_ns: int | None = None) -> Message:
    if not isinstance(payload, bytes):
        payload = json.dumps(payload).encode()
    return Message(topic, payload, False, 0, now_ns() if t_recv_ns is None else t_recv_ns)


def meta(channels=CHANNELS, units=UNITS) -> dict:
    return t3d1.make_meta(channels, units, FS, BLOCK, rig_id=RIG)


def feed(src: MqttSource, link: FakeLink, payloads, topic: str = TOPICS.data) -> list:
    link.q += [msg(topic, p) for p in payloads]
    return src.poll()


def seqs(items) -> list[int]:
    return [it.block.seq for it in items]


def data_total(c: dict) -> int:
    return sum(c[k] for k in DATA_OUTCOMES)


# --- F3: one forged block ------------------------------------------------------------------------

@pytest.mark.parametrize("fs", [1e-300, 1e300, float("nan"), float("inf"), 0.5, 2e5])
def test_f3_forged_fs_is_a_bad_header_and_the_stream_goes_on(fs):
    src, link = mqtt_source()
    feed(src, link, [meta()], TOPICS.meta)
    got = feed(src, link, [block(0), block(1), forged(2, T0 + 2 * BLOCK_NS, fs), block(2),
                           block(3)])
    assert seqs(got) == [0, 1, 2, 3]
    c = src.counters
    # decode itself refuses a non-finite fs (invalid); a finite one out of range is bad_header
    assert c["bad_header"] + c["invalid"] == 1 and c["gaps"] == 0 and c["lost_blocks"] == 0


def test_f3_a_block_an_hour_ahead_does_not_blind_the_stream():
    src, link = mqtt_source()
    feed(src, link, [meta()], TOPICS.meta)
    got = feed(src, link, [block(s) for s in range(3)] +
               [forged(3, T0 + 3600 * 10**9, FS)] + [block(s) for s in range(3, 20)])
    assert seqs(got) == list(range(20))
    c = src.counters
    assert c["future_block"] == 1 and c["duplicates"] == 0 and c["lost_blocks"] == 0
    assert c["blocks"] == 20


def test_f3_a_huge_seq_is_not_lost_blocks_and_does_not_blind():
    src, link = mqtt_source()
    feed(src, link, [meta()], TOPICS.meta)
    poison = forged(1_099_511_627_776, T0 + 5 * BLOCK_NS, FS)
    got = feed(src, link, [block(s) for s in range(5)] + [poison] +
               [block(s) for s in range(5, 40)])
    assert seqs(got) == list(range(40))
    c = src.counters
    assert c["lost_blocks"] == 0 and c["gaps"] == 0 and c["seq_jump"] == 1
    assert c["blocks"] == 40


def test_f3_a_forged_first_block_costs_at_most_stale_s(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(ing.time, "monotonic", lambda: clock[0])
    src, link = mqtt_source()
    feed(src, link, [meta()], TOPICS.meta)
    feed(src, link, [forged(10**12, T0 + 3600 * 10**9, FS)])  # anchors a bogus stream
    got = []
    for s in range(60):  # 50 ms apart, as a real rig
        clock[0] += 0.05
        got += feed(src, link, [block(s)])
    assert got and got[-1].block.seq == 59
    assert seqs(got) == list(range(got[0].block.seq, 60))
    assert got[0].block.seq <= int(ing.STALE_S / 0.05) + 2
    assert src.counters["seq_resets"] == 1


# --- F8: order, duplicates, restarts ----------------------------------------------------------

def test_f8_fifty_reordered_blocks_are_all_taken_in_order():
    src, link = mqtt_source()
    feed(src, link, [meta()], TOPICS.meta)
    order = list(range(0, 100))  # the first block anchors; then pairs swapped: 0 2 1 4 3 ...
    for i in range(1, 99, 2):
        order[i], order[i + 1] = order[i + 1], order[i]
    got = feed(src, link, [block(s) for s in order])
    got += src._expire(final=True)
    assert seqs(got) == list(range(100))
    c = src.counters
    assert c["duplicates"] == 0 and c["late"] == 0 and c["gaps"] == 0 and c["blocks"] == 100


def test_f8_duplicates_count_only_true_repeats():
    src, link = mqtt_source()
    feed(src, link, [meta()], TOPICS.meta)
    stream = []
    for s in range(50):
        stream.append(block(s))
        if s % 2 == 0:
            stream.append(block(s))  # 25 true duplicates
    for i in range(0, 48, 4):  # and some reordering on top
        stream[i], stream[i + 1] = stream[i + 1], stream[i]
    got = feed(src, link, stream) + src._expire(final=True)
    assert sorted(seqs(got)) == list(range(50)) == seqs(got)
    assert src.counters["duplicates"] == 25


def test_f8_a_block_beyond_the_window_is_late_not_a_duplicate(monkeypatch):
    src, link = mqtt_source()
    feed(src, link, [meta()], TOPICS.meta)
    got = feed(src, link, [block(s) for s in range(3)] + [block(s) for s in range(4, 20)])
    got += src._expire(final=True)
    assert 3 not in seqs(got)
    got += feed(src, link, [block(3)])
    c = src.counters
    assert c["late"] == 1 and c["duplicates"] == 0 and c["gaps"] == 1 and c["lost_blocks"] == 1


def test_f8_restarted_rig_is_one_reset_not_lost_blocks():
    src, link = mqtt_source()
    feed(src, link, [meta()], TOPICS.meta)
    later = T0 + 60 * 10**9
    got = feed(src, link, [block(s) for s in range(5)] +
               [block(s, later + s * BLOCK_NS) for s in range(5)])
    assert seqs(got) == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
    c = src.counters
    assert c["seq_resets"] == 1 and c["gaps"] == 1 and c["lost_blocks"] == 0
    assert [it.restart for it in got].count(True) == 1


# --- serial (F4, F8) --------------------------------------------------------------------------

class FakeSerialLink:
    def __init__(self):
        self.parser = sl.LineParser()
        self.connected = True
        self.counters = type("C", (), {"overflows": 0})()
        self.q: list = []

    def start(self):
        return self

    def stop(self):
        pass

    def get(self, timeout=None):
        return None

    def write(self, data):
        return True

    def feed(self, data: bytes, t_recv_ns: int | None = None):
        t = now_ns() if t_recv_ns is None else t_recv_ns
        self.q += [SerialMessage(m, t) for m in self.parser.feed(data)]

    def drain(self, max_n: int = 1_000_000):
        out, self.q = self.q, []
        return out


def serial_source() -> tuple[SerialSource, FakeSerialLink]:
    src = SerialSource.__new__(SerialSource)
    Ingest.__init__(src, "serial:///dev/fake")
    src.link = FakeSerialLink()
    src.fs, src.block_samples = FS, BLOCK
    src._last_line_seq = src._offset_ns = src._meta_key = None
    src._rows = []
    return src, src.link


def lines(seqs_, t_us0: int = 1_000_000, m: int = 2) -> bytes:
    return b"".join(sl.encode_data(s, t_us0 + 1000 * s, [0.1] * m) for s in seqs_)


def test_f4_serial_data_before_the_first_meta_line_is_counted_not_a_crash():
    src, link = serial_source()
    link.feed(lines(range(10)))
    assert src.poll() == []
    assert src.counters["no_meta"] == 10 and "$M" in src.status
    link.feed(sl.encode_meta(["acc_table", "acc_floor1"], ["m/s^2"] * 2) + lines(range(10, 20)))
    got = src.poll()
    assert sum(it.block.n_samples for it in got) == 10 and src.status == "ok"


def test_f8_serial_blocks_keep_the_device_line_seq_so_a_replay_sees_gaps(tmp_path):
    from twin3d.io.recorder import Recorder, read_recording
    from twin3d.io.replay_source import ReplaySource

    src, link = serial_source()
    link.feed(sl.encode_meta(["acc_table", "acc_floor1"], ["m/s^2"] * 2))
    got = []
    for chunk in (range(0, 50), range(50, 90), range(95, 150), range(150, 200),
                  range(230, 260)):
        link.feed(lines(chunk))
        got += src.poll()
    assert src.counters["gaps"] == 2 and src.counters["lost_blocks"] == 5 + 30
    with Recorder(tmp_path / "r", src.meta_raw) as rec:
        for it in got:
            rec.write_block(it.raw)
    assert read_recording(tmp_path / "r").gaps == 2
    rep = ReplaySource("replay:x", str(tmp_path / "r"), speed=0)
    rep.start()
    out = rep.poll()
    assert rep.counters["gaps"] == 2 and rep.counters["lost_blocks"] == 35
    assert sum(it.block.n_samples for it in out) == 50 + 40 + 55 + 50 + 30


def test_f8_a_restarted_serial_rig_loses_nothing_uncounted():
    src, link = serial_source()
    link.feed(sl.encode_meta(["acc_table", "acc_floor1"], ["m/s^2"] * 2))
    t = now_ns()
    link.feed(lines(range(5000, 5100), t_us0=50_000_000), t)
    got = src.poll()
    # killed and restarted: uptime and line seq from 0 again, 0.5 s later
    for k in range(4):
        link.feed(lines(range(50 * k, 50 * k + 50), t_us0=0), t + 500_000_000 + k * 50_000_000)
        got += src.poll()
    got += src._expire(final=True)
    assert sum(it.block.n_samples for it in got) == 100 + 200
    assert src.counters["seq_resets"] == 1 and src.counters["lost_blocks"] == 0


# --- F4: meta changes -------------------------------------------------------------------------

def test_f4_a_renamed_channel_remaps_the_live_feed():
    from twin3d.live.live_feed import LiveFeed
    from twin3d.scenefile.records import load_scene

    scene = load_scene("three_storey")
    names = tuple(scene.data.sensors)
    units = [s.unit for s in scene.data.sensors.values()]
    src, link = mqtt_source()
    feed_ = LiveFeed(src, scene, start=False, commands=False, track_window_s=2.0)
    try:
        link.q.append(msg(TOPICS.meta, t3d1.make_meta(names, units, FS, BLOCK)))
        # the tracker's window (lengthened to 50 periods of mode 1), full: its first fit starts
        n = -(-feed_.tracker.window // BLOCK) + 1
        link.q += [msg(TOPICS.data, block(s, m=len(names))) for s in range(n)]
        feed_.step()
        assert feed_.mode == "kalman" and feed_._fit is not None  # a fit in progress
        renamed = (names[0] + "_x",) + names[1:]
        link.q.append(msg(TOPICS.meta, t3d1.make_meta(renamed, units, FS, BLOCK)))
        link.q += [msg(TOPICS.data, block(s, m=len(names))) for s in range(n, n + 10)]
        feed_.step()
        feed_.settle(10)
        st = feed_.step()
        assert st.counters["blocks"] == n + 10
        assert set(st.history) == set(renamed)
        assert feed_.mode != "kalman"  # no table accelerometer by that name any more
        assert "meta changed" in src.last_error
    finally:
        feed_.close()


def test_f4_a_forged_three_channel_meta_pauses_visibly():
    src, link = mqtt_source()
    feed(src, link, [meta()], TOPICS.meta)
    assert len(feed(src, link, [block(s) for s in range(3)])) == 3
    feed(src, link, [meta(CHANNELS[:3], UNITS[:3])], TOPICS.meta)
    assert feed(src, link, [block(s) for s in range(3, 8)]) == []
    assert src.counters["meta_mismatch"] == 5
    assert src.status.startswith("paused") and "3 channels" in src.status
    feed(src, link, [meta()], TOPICS.meta)  # the real meta again: the stream resumes
    got = feed(src, link, [block(8)]) + src._expire(time.monotonic() + 1)
    assert seqs(got) == [8] and src.status == "ok"


@pytest.mark.parametrize("bad", [
    {"channels": "abc"}, {"channels": [{"name": 5}]}, {"channels": []},
    {"channels": [{"name": "a"}, {"name": "a"}]}, {"channels": [{"name": "a"}], "fs": 1e300},
    {"channels": [{"name": "a"}], "block_samples": 1e30}, [1, 2], "x", None,
    {"channels": [{"name": "a", "scale": -1}], "int16": True}])
def test_f4_bad_meta_is_counted_and_the_old_one_stays(bad):
    src, link = mqtt_source()
    feed(src, link, [meta()], TOPICS.meta)
    feed(src, link, [bad], TOPICS.meta)
    assert src.counters["bad_meta"] == 1 and src.meta.channels == CHANNELS
    assert seqs(feed(src, link, [block(0)])) == [0]


# --- F5: state and acks -----------------------------------------------------------------------

@pytest.mark.parametrize("stroke", ["abc", -1, [1], float("nan"), 1e9, True, None])
def test_f5_state_is_validated(stroke):
    src, link = mqtt_source()
    feed(src, link, [{"status": "ok", "stroke_m": stroke}], TOPICS.state)
    if stroke is None:  # null: the rig says nothing about it; the rest of the state is used
        assert src.counters["bad_state"] == 0 and src.rig_state["status"] == "ok"
    else:
        assert src.counters["bad_state"] == 1 and src.rig_state is None


def test_f5_bad_acks_are_counted_not_passed_on():
    src, link = mqtt_source()
    heard = []
    src.ack_listeners.append(heard.append)
    feed(src, link, [{"id": 5, "status": "done"}, {"id": "a", "status": "weird"}, [1], "x",
                     {"id": "a", "status": "done", "outcome": 3},
                     {"id": "a", "status": "done"}], TOPICS.ack)
    assert src.counters["bad_ack"] == 5 and heard == [{"id": "a", "status": "done"}]


# --- property-based: whole messages ------------------------------------------------------------

HYP = settings(max_examples=150, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

headers = st.tuples(
    st.integers(0, 2**64 - 1),  # seq
    st.one_of(st.integers(-(2**63), 2**63 - 1),
              st.integers(T0 - 10**12, T0 + 10**12)),  # t0
    st.one_of(st.floats(allow_nan=True, allow_infinity=True),
              st.sampled_from([1e-300, 1e300, 0.0, -1.0, 1000.0, 1e5, 1.0])),
    st.integers(0, 70), st.integers(1, 8), st.sampled_from([0, 1]))


@HYP
@given(st.lists(headers, max_size=12), st.booleans())
def test_property_forged_blocks_never_raise_and_never_blind(hs, with_meta):
    src, link = mqtt_source()
    if with_meta:
        feed(src, link, [meta()], TOPICS.meta)
    payloads = [forged(s, t0, fs, n, m, fl) for s, t0, fs, n, m, fl in hs]
    feed(src, link, payloads)
    c = src.counters
    assert all(isinstance(c[k], int) and c[k] >= 0 for k in COUNTERS)
    assert data_total(c) + src.pending == len(payloads)
    assert c["lost_blocks"] <= 10_000 * 2**16
    # a good stream after the poison, 50 ms apart in the receiver's time as well
    if not with_meta:
        feed(src, link, [meta()], TOPICS.meta)
    t = now_ns()
    got = []
    clock = [time.monotonic()]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ing.time, "monotonic", lambda: clock[0])
        for k in range(80):  # a real rig: one block every 50 ms
            clock[0] += 0.05
            link.q.append(msg(TOPICS.data, block(k, T0 + 10**13 + k * BLOCK_NS),
                              t + k * BLOCK_NS))
            got += src.poll()
    assert got, src.counters
    tail = seqs(got)[-10:]
    assert tail == list(range(70, 80)) or src.pending  # the stream is taken in again


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda ch: st.one_of(st.lists(ch, max_size=4),
                         st.dictionaries(st.text(max_size=8), ch, max_size=4)), max_leaves=20)
metaish = st.fixed_dictionaries(
    {"channels": st.one_of(st.lists(st.fixed_dictionaries(
        {"name": json_values | st.text(max_size=70), "unit_str": json_values,
         "scale": json_values}), max_size=6), json_values)},
    optional={"fs": json_values | st.floats(), "block_samples": json_values,
              "int16": json_values})


@HYP
@given(st.lists(st.one_of(metaish, json_values), max_size=6), st.lists(json_values, max_size=6),
       st.lists(st.one_of(json_values, st.fixed_dictionaries(
           {"id": json_values, "status": st.sampled_from(["accepted", "done", "x"])})),
           max_size=6))
def test_property_random_meta_state_and_acks_never_raise(metas, states, acks):
    src, link = mqtt_source()
    feed(src, link, [meta()], TOPICS.meta)
    for topic, objs in ((TOPICS.meta, metas), (TOPICS.state, states), (TOPICS.ack, acks)):
        link.q += [msg(topic, json.dumps(o).encode()) for o in objs]
    link.q.append(msg(TOPICS.meta, b"\xff not json"))
    src.poll()
    assert src.meta is not None
    # the real meta again, then a good stream is taken in
    feed(src, link, [meta()], TOPICS.meta)
    got = feed(src, link, [block(s) for s in range(5)])
    assert seqs(got) == list(range(5))
    assert isinstance(src.status, str)


serial_line = st.one_of(
    st.builds(lambda s, t, v: sl.encode_data(s, t, v), st.integers(-10, 2**70),
              st.integers(-10, 2**70), st.lists(st.floats(width=32), min_size=0, max_size=4)),
    st.builds(lambda n: sl.encode_meta([f"c{i}" for i in range(n)], ["u"] * n),
              st.integers(1, 4)),
    st.binary(max_size=40), st.text(max_size=40).map(str.encode))


@HYP
@given(st.lists(serial_line, max_size=20))
def test_property_random_serial_lines_never_raise(raw_lines):
    src, link = serial_source()
    for r in raw_lines:
        link.feed(r)
    src.poll()
    src._expire(final=True)
    link.feed(b"\n" + sl.encode_meta(["a", "b"], ["u", "u"]))
    t = now_ns()
    got = []
    clock = [time.monotonic()]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ing.time, "monotonic", lambda: clock[0])
        for k in range(60):  # a real rig: 50 lines every 50 ms
            clock[0] += 0.05
            link.feed(lines(range(10**6 + 50 * k, 10**6 + 50 * k + 50), t_us0=0),
                      t + k * 50_000_000)
            got += src.poll()
    assert got and got[-1].block.seq == 10**6 + 50 * 59, (src.counters, src.last_error)
