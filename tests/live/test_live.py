"""Live twin end to end: monitor on sim, record from a broker that dies and comes back, replay
to a broker and to files, the feed's TwinState, serial ingest with lost lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tty

import numpy as np
import pytest

from twin3d.cli.main import main
from twin3d.io import recorder, serial_lines as sl, t3d1
from twin3d.io.mqtt_link import MqttLink, Topics
from twin3d.live.sources import open_source
from twin3d.live.live_feed import LiveFeed
from twin3d.scenefile.records import load_scene

SCENE = load_scene("three_storey")
CHANNELS = tuple(SCENE.data.sensors)
UNITS = [s.unit for s in SCENE.data.sensors.values()]


def _run(capsys, *argv) -> tuple[int, dict | None, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if rc == 0 and out.strip().startswith("{") else None), err


def test_monitor_on_sim_prints_sane_json(capsys):
    rc, out, _ = _run(capsys, "monitor", "--source", "sim", "--seconds", "2", "--json")
    assert rc == 0
    assert out["blocks"] > 0 and out["samples"] == 50 * out["blocks"]
    assert out["gaps"] == 0 and out["crc_errors"] == 0 and out["invalid"] == 0
    assert out["estimator"] == "kalman"
    # the identified chain (6.2036 / 17.8002 / 26.4022 Hz bare) carrying the 6.5 Hz actuator
    # with its coil open: mode 1 splits in two (4x4 generalised eigenproblem, solved by hand)
    np.testing.assert_allclose(out["model_frequencies_hz"], [5.7794, 6.8639, 17.4673, 26.1011],
                               atol=1e-3)
    assert out["latency_ms_p50"] is not None and out["latency_ms_p99"] >= out["latency_ms_p50"]
    assert isinstance(out["frequencies_hz"], list)
    assert len(out["floor_disp_m"]) == 3 and max(map(abs, out["floor_disp_m"])) < 0.01


@pytest.mark.parametrize("argv, field", [
    (["monitor", "--source", "ftp://x"], "not understood"),
    (["monitor", "--source", "sim?rpm=99999"], "out of range"),
    (["monitor", "--source", "sim", "--seconds", "-1"], "--seconds"),
    (["monitor", "--source", "replay:/nonexistent"], "not a recording"),
    (["replay", "/nonexistent"], "not a recording"),
])
def test_bad_input_is_one_line_and_status_2(capsys, argv, field):
    rc, _, err = _run(capsys, *argv)
    assert rc == 2 and field in err and len(err.strip().splitlines()) == 1


def _blocks(seqs, t0=1_700_000_000_000_000_000):
    rng = np.random.default_rng(1)
    return {s: t3d1.encode(s, t0 + s * 50_000_000, 1000.0,
                           rng.normal(0, 0.1, (50, len(CHANNELS)))) for s in seqs}


def test_record_from_a_broker_that_dies_and_comes_back(own_broker, tmp_path, wait_for):
    top = Topics.for_rig("rig1")
    out = tmp_path / "rec"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "twin3d", "record", "--source",
                             f"{own_broker.url}/rig1", "--out", str(out), "--seconds", "60",
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    rig = MqttLink("127.0.0.1", own_broker.port, min_backoff=0.05, max_backoff=0.3).start()
    try:
        assert rig.wait_connected(10)
        blocks = _blocks(range(40))
        rig.publish(top.meta, json.dumps(t3d1.make_meta(CHANNELS, UNITS, 1000.0, 50)),
                    qos=1, retain=True)
        # wait until the recorder is subscribed (its meta.json carries the rig's meta)
        assert wait_for(lambda: (out / "meta.json").exists() and
                        "channels" in json.loads((out / "meta.json").read_text()), timeout=30)
        for s in range(20):
            rig.publish(top.data, blocks[s], qos=1)
        rig.publish(top.state, b'{"status": "ok"}', qos=1, retain=True)
        size20 = 20 * len(blocks[0])
        assert wait_for(lambda: (out / "blocks.t3d").stat().st_size >= size20)
        own_broker.kill()
        assert wait_for(lambda: not rig.connected)
        # the rig keeps sampling: blocks 20..24 are lost while the broker is down
        own_broker.start()
        assert wait_for(lambda: rig.connected, timeout=20)
        rig.publish(top.meta, json.dumps(t3d1.make_meta(CHANNELS, UNITS, 1000.0, 50,
                                                        session=2)), qos=1, retain=True)
        # the recorder is back once it has rewritten meta.json with the new retained meta
        assert wait_for(lambda: json.loads((out / "meta.json").read_text()).get("session") == 2,
                        timeout=30)
        for s in range(25, 40):
            rig.publish(top.data, blocks[s], qos=1)
        size = 35 * len(blocks[0])
        assert wait_for(lambda: (out / "blocks.t3d").stat().st_size >= size, timeout=20)
    finally:
        rig.stop()
        proc.send_signal(2)  # Ctrl-C: a normal end of recording
        stdout, stderr = proc.communicate(timeout=30)
    summary = json.loads(stdout)
    assert summary["interrupted"] and summary["blocks"] == 35
    assert summary["gaps"] == 1 and summary["lost_blocks"] == 5 and summary["crc_errors"] == 0
    rec = recorder.read_recording(out)
    assert [b.seq for b in rec.blocks] == list(range(20)) + list(range(25, 40))
    assert rec.gaps == 1 and not rec.torn_tail
    assert any(e["kind"] == "state" and e["status"] == "ok" for e in rec.events)
    assert rec.meta["channels"][0]["name"] == CHANNELS[0]


def _recording(folder, seqs=range(30)):
    with recorder.Recorder(folder, t3d1.make_meta(CHANNELS, UNITS, 1000.0, 50)) as rec:
        for s, raw in _blocks(seqs).items():
            rec.write_block(raw)
    return folder


def test_replay_to_a_broker_and_to_files(broker, tmp_path, capsys, wait_for):
    folder = _recording(tmp_path / "r")
    top = Topics.for_rig("replayed")
    sub = MqttLink("127.0.0.1", broker.port, subscriptions=[top.data, top.meta]).start()
    try:
        assert sub.wait_connected(10)
        rc, out, _ = _run(capsys, "replay", str(folder), "--speed", "0", "--mqtt",
                          f"127.0.0.1:{broker.port}", "--rig-id", "replayed", "--json")
        assert rc == 0 and out["published"] == 30 and out["torn_tail"] is False
        got = []
        assert wait_for(lambda: got.extend(sub.drain()) or
                        sum(m.topic == top.data for m in got) == 30)
        assert [t3d1.decode(m.payload).seq for m in got if m.topic == top.data] == \
            list(range(30))
        assert [m.json()["channels"][0]["name"] for m in got if m.topic == top.meta] == \
            [CHANNELS[0]]
    finally:
        sub.stop()
    rc, out, _ = _run(capsys, "replay", str(folder), "--export", "npz", "--out",
                      str(tmp_path / "x.npz"), "--json")
    assert rc == 0 and out["blocks"] == 30
    assert np.load(tmp_path / "x.npz")["data"].shape == (1500, len(CHANNELS))
    rc, out, _ = _run(capsys, "replay", str(folder), "--speed", "0", "--json")
    assert rc == 0 and out["blocks"] == 30 and out["recovered"] == 30 and out["gaps"] == 0


def test_feed_follows_a_replay_and_reports_gaps(tmp_path):
    # a recording of the simulated rig: the estimate must track the true floor motion
    from twin3d.physics import rig as rigmod
    from twin3d.rig.truth import SimulatedRig

    sim = SimulatedRig(SCENE)
    sim.set_command(rigmod.RigCommand(mode=rigmod.MODE_SPEED, speed_rpm=360.0,
                                      ramp_rpm_per_s=600.0))
    folder = tmp_path / "sim"
    truth = []
    with recorder.Recorder(folder, t3d1.make_meta(sim.channels, UNITS, 1000.0, 50)) as rec:
        for s in range(80):
            b = sim.advance(50)
            if s != 70:  # one block lost on the way
                rec.write_block(t3d1.encode(s, int(b.t0 * 1e9), 1000.0, b.readings))
            truth.append(b.truth.floor_disp[-1])
    feed = LiveFeed(f"replay:{folder}?speed=0", SCENE)
    st = feed.step(0.016)
    assert feed.mode == "kalman" and st.counters["blocks"] == 79 and st.counters["gaps"] == 1
    assert st.counters["lost_blocks"] == 1
    # the final true floor drift vs the estimate (the filter has had 4 s to converge)
    np.testing.assert_allclose(st.floor_disp_m, truth[-1], atol=0.1 * np.abs(truth[-1]).max())
    assert st.speed_rpm == pytest.approx(360.0, abs=20.0)
    assert st.history_t.size == st.history["acc_table"].size > 0
    assert st.units["acc_table"] == "m/s^2" and st.model_hz[0] == pytest.approx(5.7794, 1e-3)
    assert st.status == "ended" and feed.latency_ms(50) is not None


def test_open_loop_fallback_without_floor_sensors(tmp_path):
    folder = tmp_path / "tbl"
    meta = t3d1.make_meta(["acc_table"], ["m/s^2"], 1000.0, 50)
    t = np.arange(2000) / 1000.0
    ag = np.sin(2 * np.pi * 5.0 * t)
    with recorder.Recorder(folder, meta) as rec:
        for s in range(40):
            rec.write_block(t3d1.encode(s, s * 50_000_000, 1000.0, ag[50 * s:50 * s + 50]))
    feed = LiveFeed(f"replay:{folder}?speed=0", SCENE)
    st = feed.step()
    assert feed.mode == "open-loop" and st.counters["blocks"] == 40
    assert 1e-5 < np.abs(st.floor_disp_m).max() < 1e-2  # moving, and physically plausible
    # the same input through the exact LTI model in one go gives the same last state
    from twin3d.physics import lti

    A, B = SCENE.rig_model().state_matrices()  # the frame with the actuator hung on floor 1
    X = lti.simulate(A, B[:, -1:], ag.astype(np.float32).astype(float), 1e-3)
    np.testing.assert_allclose(st.floor_disp_m, X[-1, :3], rtol=1e-6, atol=1e-12)


def test_serial_source_on_a_pty(tmp_path, wait_for):
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    src = open_source(f"serial://{path}", SCENE).start()
    try:
        assert src.link.wait_connected(10)
        lines = sl.encode_meta(["acc_table", "acc_floor1"], ["m/s^2", "m/s^2"])
        for s in list(range(10)) + list(range(13, 20)):  # lines 10..12 lost
            lines += sl.encode_data(s, 1_000_000 + 1000 * s, [0.1 * s, -0.1 * s])
        lines += b"garbage\n"
        os.write(master, lines)
        got = []
        assert wait_for(lambda: got.extend(src.poll()) or
                        sum(i.block.n_samples for i in got) == 17)
        assert src.meta.channels == ("acc_table", "acc_floor1")
        assert src.counters["gaps"] == 1 and src.counters["lost_blocks"] == 3
        assert src.counters["invalid"] >= 1 and src.counters["samples"] == 17
        v = np.concatenate([i.values for i in got])
        np.testing.assert_allclose(v[:, 0], 0.1 * np.r_[0:10, 13:20], atol=1e-6)
        assert got[0].block.fs == pytest.approx(1000.0)
    finally:
        src.stop()
        os.close(master)
        os.close(slave)
