"""A node dies under a monitor and a recorder in the middle of a run: both fail over to another
node of the real NATS cluster, resubscribe, and count the gap exactly (blocks carry seq numbers:
what each reports lost is what is missing in what it received); the recording stays intact."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.io.mqtt_source import open_mqtt
from twin3d.io.recorder import read_recording

pytestmark = pytest.mark.slow


def _holes(seqs: list[int]) -> tuple[int, int]:
    """(gaps, blocks missing) in an increasing seq list."""
    d = np.diff(np.asarray(seqs))
    assert (d > 0).all(), "seqs not increasing (duplicates or disorder)"
    return int((d > 1).sum()), int((d - 1).sum())


def test_monitor_and_recorder_fail_over_and_count_the_gap_exactly(cluster, password_files,
                                                                  tmp_path, wait_for,
                                                                  monkeypatch, free_port):
    dead, rig_nodes, client_nodes = 3, cluster.nodes(1, 2), cluster.nodes(3, 1)
    rig = cluster.proc("rig", "--mqtt", rig_nodes, "--rig-id", "rig1", "--auth", "rig1",
                       "--password-file", str(password_files["rig1"]), "--seconds", "60",
                       "--json")
    out = tmp_path / "rec"
    source = f"mqtt://viewer@{client_nodes}/rig1"
    monitor = recorder = None
    monkeypatch.setenv("TWIN3D_MQTT_PASSWORD", cluster.passwords["viewer"])
    mine = open_mqtt(source).start()  # a monitor in this process: every seq it is handed
    seqs: list[int] = []

    def pump() -> None:
        mine.wait(0.02)
        seqs.extend(it.block.seq for it in mine.poll())

    try:
        assert wait_for(lambda: (pump(), len(seqs) > 10)[1], 90), mine.link.last_error
        # an operator whose list starts with a node that is down reaches the rig through the
        # next. (Not during the failover below: while JetStream elects new leaders the rig's
        # QoS 1 acks wait for it, seconds each.)
        ack = cluster.result(cluster.proc("cmd", "stop", "--target",
                                          f"mqtt://op@127.0.0.1:{free_port()},"
                                          f"{cluster.nodes(2)}", "--rig-id", "rig1",
                                          "--timeout", "30", "--json", user="op"))
        monitor = cluster.proc("monitor", "--source", source, "--seconds", "14", "--json",
                               user="viewer")
        recorder = cluster.proc("record", "--source", source, "--out", str(out), "--seconds",
                                "14", "--json", user="viewer")
        # both on the node to die, and data reaching the recording
        assert wait_for(lambda: (pump(), cluster.connections(dead, "viewer") >= 3)[1], 90)
        assert wait_for(lambda: (pump(), (out / "blocks.t3d").exists() and
                                 (out / "blocks.t3d").stat().st_size > 0)[1], 60)
        before = len(seqs)
        cluster.kill(dead)
        assert wait_for(lambda: (pump(), len(seqs) > before + 40)[1], 60), \
            f"no data after the failover: {mine.link.last_error}"
        mon, rec = cluster.result(monitor), cluster.result(recorder)
    finally:
        mine.stop()
        for p in (monitor, recorder, rig):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(30)
        cluster.restart(dead)

    # the in-process monitor: its counters are exactly the holes in what it was handed
    gaps, missing = _holes(seqs)
    assert mine.failovers == 1 and mine.link.port == int(cluster.mqtt[0].split(":")[1])
    # (a failover quicker than the 50 ms between blocks, or a burst the rig sent late, may
    # lose none: the count is what must be exact)
    assert (mine.counters["gaps"], mine.counters["lost_blocks"]) == (gaps, missing)
    assert mine.max_gap_s > 0.05 * missing  # blocks are 50 ms apart: k lost -> (k+1) x 50 ms

    # the recorder: what it reports lost is what is missing in the recording, read back
    recording = read_recording(out)
    assert rec["failovers"] == 1
    assert recording.torn_tail_bytes == 0 and recording.crc_errors == 0
    assert recording.malformed == 0 and recording.recovered == rec["blocks"]
    r_gaps, r_missing = _holes([b.seq for b in recording.blocks])
    assert (rec["gaps"], rec["lost_blocks"]) == (r_gaps, r_missing)
    assert recording.gaps == r_gaps

    assert ack["status"] in ("accepted", "done"), ack

    # the monitor CLI saw the same node die and says so
    assert mon["failovers"] == 1 and mon["blocks"] > 0
    assert mon["max_gap_s"] > 0.05 * mon["lost_blocks"] / max(mon["gaps"], 1)
    assert mon["crc_errors"] == 0 and mon["duplicates"] == 0
