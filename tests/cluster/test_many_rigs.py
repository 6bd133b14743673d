"""Several rigs (distinct rig ids, each on its own account) on one cluster: `monitor
--source mqtt://.../+` summarises every rig it sees; `mqtt://.../RIG` picks one."""

from __future__ import annotations

import pytest

from twin3d.io.mqtt_link import MqttLink

pytestmark = pytest.mark.slow

RIGS = ("rig1", "rig2", "rig3")


def test_every_rig_is_summarised_and_one_is_picked_by_id(cluster, password_files, wait_for):
    rigs = [cluster.proc("rig", "--mqtt", cluster.nodes(k % 3 + 1, (k + 1) % 3 + 1),
                         "--rig-id", rig, "--auth", rig, "--password-file",
                         str(password_files[rig]), "--seconds", "40", "--json",
                         "--seed", str(k))
            for k, rig in enumerate(RIGS)]
    host, port = cluster.mqtt[1].split(":")
    watch = MqttLink(host, int(port), username="viewer", password=cluster.passwords["viewer"],
                     subscriptions=["twin3d/+/data"]).start()
    seen: set[str] = set()
    try:  # every rig publishing before the monitor starts (they warm up at their own pace)
        assert wait_for(lambda: (seen.update(m.topic.split("/")[1] for m in watch.drain()),
                                 seen == set(RIGS))[1], 120), seen
        watch.stop()
        every = cluster.proc("monitor", "--source", f"mqtt://viewer@{cluster.nodes(2, 3)}/+",
                             "--seconds", "6", "--json", user="viewer")
        one = cluster.proc("record", "--source", f"mqtt://viewer@{cluster.nodes(3, 1)}/rig2",
                           "--out", str(password_files["viewer"].parent / "rig2-rec"),
                           "--seconds", "6", "--json", user="viewer")
        summary, rec = cluster.result(every), cluster.result(one)
    finally:
        watch.stop()
        for p in rigs:
            p.terminate()
            p.wait(30)
    assert set(summary["rigs"]) == set(RIGS), summary["rigs"].keys()
    for rig, r in summary["rigs"].items():
        assert r["blocks"] > 0 and r["lost_blocks"] == 0 and r["crc_errors"] == 0, (rig, r)
        assert r["latency_ms_p99"] is not None and r["max_gap_s"] > 0
    assert summary["failovers"] == 0 and summary["ignored"] == 0
    # one rig by id: only rig2's blocks, all of them (the rig stamps its id in its meta)
    assert rec["blocks"] > 0 and rec["lost_blocks"] == 0
    from twin3d.io.recorder import read_recording

    recording = read_recording(password_files["viewer"].parent / "rig2-rec")
    assert recording.meta.get("rig_id") == "rig2", recording.meta
