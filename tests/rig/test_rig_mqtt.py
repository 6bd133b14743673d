"""`twin3d rig` in its own process on a real mosquitto, commanded with `twin3d cmd`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from twin3d.protocol.audit import read_audit
from twin3d.io.mqtt_link import MqttLink, Topics
from twin3d.io.t3d1 import Block, decode, parse_meta


def _spawn_rig(port: int, rig_id: str, audit_dir, seconds: float = 120.0):
    env = {**os.environ, "TWIN3D_AUDIT_DIR": str(audit_dir)}
    return subprocess.Popen([sys.executable, "-m", "twin3d", "rig", "--mqtt",
                             f"127.0.0.1:{port}", "--rig-id", rig_id, "--seconds", str(seconds)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Watcher:
    """Subscribes to one rig's topics and keeps what it hears."""

    def __init__(self, port: int, rig_id: str):
        self.topics = Topics.for_rig(rig_id)
        self.link = MqttLink("127.0.0.1", port, subscriptions=(f"twin3d/{rig_id}/#",)).start()
        self.state: dict | None = None
        self.meta: dict | None = None
        self.acks: list[dict] = []
        self.blocks: list[Block] = []

    def pump(self) -> None:
        for m in self.link.drain():
            if m.topic == self.topics.state:
                self.state = m.json()
            elif m.topic == self.topics.meta:
                self.meta = m.json()
            elif m.topic == self.topics.ack:
                self.acks.append(m.json())
            elif m.topic == self.topics.data:
                self.blocks.append(decode(m.payload))

    def until(self, wait_until, cond) -> bool:
        return wait_until(lambda: self.pump() or cond())


@pytest.fixture(scope="module")
def rig(broker_port, tmp_path_factory, stop_rig):
    audit = tmp_path_factory.mktemp("audit")
    proc = _spawn_rig(broker_port, "rigA", audit)
    yield {"port": broker_port, "rig_id": "rigA", "audit": audit, "proc": proc}
    stop_rig(proc)


@pytest.fixture
def watcher(rig, wait_until):
    w = Watcher(rig["port"], rig["rig_id"])
    assert w.until(wait_until, lambda: w.state is not None and w.state["status"] == "ok"), \
        rig["proc"].stderr and "rig did not come up"
    yield w
    w.link.stop()


def _argv(rig, op, args, user, extra):
    return ["cmd", "--target", f"mqtt://127.0.0.1:{rig['port']}", "--rig-id", rig["rig_id"],
            "--user", user, "--json", "--timeout", "15", *extra, op, *args]


@pytest.fixture
def cmd(rig, capsys, monkeypatch):
    """`twin3d cmd ...` in this process (the subprocess path is tested once, below)."""
    from twin3d.cli.main import main

    monkeypatch.setenv("TWIN3D_AUDIT_DIR", str(rig["audit"]))

    def run(op, *args, user="alice", extra=()):
        capsys.readouterr()
        rc = main(_argv(rig, op, args, user, extra))
        return rc, json.loads(capsys.readouterr().out)

    return run


def test_meta_and_data_blocks_follow_the_contract(watcher, wait_until):
    assert watcher.until(wait_until, lambda: watcher.meta is not None and
                         len(watcher.blocks) >= 5)
    meta = parse_meta(watcher.meta)
    assert meta.fs == 1000.0 and "acc_floor3" in meta.channels
    for c in watcher.meta["channels"]:  # SEP-5 names
        assert {"name", "unit_str", "fs", "start_timestamp"} <= set(c)
    # the bare frame is fitted to 6.5 Hz; the rig carries the 6.5 Hz actuator (coil open),
    # which splits mode 1 into a pair either side: the meta gives the modes of the whole rig
    truth = watcher.meta["truth_modes_hz"]
    assert len(truth) == 4 and truth[0] < 6.5 < truth[1]
    assert truth[2:] == pytest.approx([17.2012, 26.0761], abs=1e-3)
    blocks = [b for b in watcher.blocks if isinstance(b, Block)]
    assert len(blocks) == len(watcher.blocks)  # every payload decodes, CRC good
    seqs = [b.seq for b in blocks]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert blocks[0].samples.shape == (meta.block_samples, len(meta.channels))
    # ambient table shaking: the floor accelerometers see far more than their 3 mm/s^2 noise
    floor3 = blocks[-1].values()[:, meta.index("acc_floor3")]
    assert floor3.std() > 0.005


def test_set_speed_accepted_then_done(rig, watcher, run_twin3d):
    env = {**os.environ, "TWIN3D_AUDIT_DIR": str(rig["audit"])}
    rc, ack, err = run_twin3d(*_argv(rig, "set_speed", ("rpm=200", "ramp_rpm_per_s=400"),
                                     "alice", ()), env=env)
    assert rc == 0, err
    assert ack["status"] == "done" and ack["outcome"] == "reached"
    assert ack["acks"] == ["accepted", "done"] and ack["source"] == "rig"
    assert ack["detail"]["speed_rpm"] == pytest.approx(200, abs=5)


def test_over_limit_speed_rejected_by_twin_and_by_rig(watcher, cmd):
    rc, ack = cmd("set_speed", "rpm=2500")
    assert rc == 3 and ack["status"] == "rejected" and ack["source"] == "twin"
    assert "1800" in ack["reason"]
    # without the twin's check the rig itself refuses it: safety is not only in the UI
    rc, ack = cmd("set_speed", "rpm=2500", extra=("--no-check",))
    assert rc == 3 and ack["status"] == "rejected" and ack["source"] == "rig"
    assert "args.rpm" in ack["reason"] and "1800" in ack["reason"]


def test_estop_latches_until_reset(watcher, cmd, wait_until):
    rc, ack = cmd("estop")
    assert rc == 0 and ack["status"] == "done"
    assert watcher.until(wait_until, lambda: watcher.state["status"] == "estop")
    rc, ack = cmd("set_speed", "rpm=100")
    assert rc == 3 and ack["source"] == "rig" and "estop latched" in ack["reason"]
    rc, ack = cmd("reset")
    assert rc == 0 and ack["status"] == "done"
    assert watcher.until(wait_until, lambda: watcher.state["status"] == "ok")
    rc, ack = cmd("set_speed", "rpm=100")
    assert rc == 0 and ack["status"] == "done"


def test_bad_command_json_is_rejected_counted_and_survived(rig, watcher, wait_until):
    link = watcher.link
    before = watcher.state["counters"]["bad_commands"]
    link.publish(watcher.topics.cmd_of("alice"), b"{not json", qos=1)
    link.publish(watcher.topics.cmd_of("alice"), json.dumps({"id": "bad-1", "op": "fly", "user": "alice",
                                                 "sent": time.time()}), qos=1)
    assert watcher.until(wait_until, lambda: sum(
        a["status"] == "rejected" and "bad command" in a.get("reason", "")
        for a in watcher.acks) >= 2)
    bad = [a for a in watcher.acks if "bad command" in a.get("reason", "")]
    assert bad[0]["id"] is None and "not JSON" in bad[0]["reason"]
    assert bad[1]["id"] == "bad-1" and "unknown operation" in bad[1]["reason"]
    assert watcher.until(wait_until,
                         lambda: watcher.state["counters"]["bad_commands"] == before + 2)
    assert rig["proc"].poll() is None  # still running, still publishing
    n = len(watcher.blocks)
    assert watcher.until(wait_until, lambda: len(watcher.blocks) > n)


def test_audit_holds_commands_acks_and_trips(rig, watcher, cmd):
    rc, ack = cmd("stop")
    assert rc == 0
    records, torn = read_audit(rig["audit"])
    assert torn == 0
    kinds = {(r["by"], r["kind"]) for r in records}
    assert {("rig", "command"), ("rig", "ack"), ("rig", "trip"), ("rig", "bad_command"),
            ("twin", "command"), ("twin", "ack_received"), ("twin", "dry_run")} <= kinds
    trips = [r for r in records if r["kind"] == "trip"]
    assert any(t["trip"] == "estop" and t["user"] == "alice" for t in trips)
    assert all(r.get("user") for r in records if r["kind"] == "command")


def test_last_will_marks_a_killed_rig_lost(broker_port, tmp_path, wait_until):
    proc = _spawn_rig(broker_port, "rigKill", tmp_path)
    w = Watcher(broker_port, "rigKill")
    try:
        assert w.until(wait_until, lambda: w.state is not None and w.state["status"] == "ok")
        proc.kill()  # SIGKILL: no goodbye, the broker publishes the will
        proc.wait(10)
        assert w.until(wait_until, lambda: w.state["status"] == "lost")
        assert w.state["rig_id"] == "rigKill"
    finally:
        if proc.poll() is None:
            proc.kill()
        w.link.stop()
