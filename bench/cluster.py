"""Cluster figures: a 3-node NATS cluster (made by `twin3d broker-config --kind nats`, started by
its start.sh) beside one mosquitto (made by `twin3d broker-config`), both with the same accounts
and rights, measured in the same run.

- failover: a node dies under a monitor; time from the kill to the next block received, beside
  one mosquitto killed and restarted at once (a single broker has nothing to fail over to);
  blocks lost as reported (lost_blocks) against the seqs missing in what was received;
- many rigs: R rigs publishing 1 kHz data in 50-sample blocks (20 blocks/s, the rig's own
  T3D1 blocks and MqttLink), one monitor (an MqttSource) per rig on another node: blocks lost
  and p99 latency, beside the same on one mosquitto.

The rigs here are publishers of synthetic blocks, not the physics simulator: the figure is the
broker path's, and 10 simulated rigs would not keep real time on a small machine.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from twin3d.bench import figure

FS, BLOCK = 1000.0, 50
VIEWER = "viewer"
NATS = shutil.which("nats-server") or "/usr/sbin/nats-server"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _free_run(n: int) -> int:
    for _ in range(500):
        base = random.randrange(20000, 60000 - n)
        try:
            for p in range(base, base + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise RuntimeError("no run of free ports")


class _Brokers:
    """The NATS cluster and the single mosquitto, each with accounts viewer + the rigs."""

    def __init__(self, rigs: list[str]):
        from twin3d.io.broker_config import write_config, write_nats_config

        self.tmp = Path(tempfile.mkdtemp(prefix="twin3d-bench-cluster-"))
        os.chmod(self.tmp, 0o755)  # a root-started mosquitto drops to its own user
        self.passwords = {u: f"{u}-pw" for u in [VIEWER, *rigs]}
        base = _free_run(13)
        self.nats = write_nats_config(self.tmp / "nats", nodes=3, operators=[], viewers=[VIEWER],
                                      rigs=rigs, passwords=self.passwords, port=base,
                                      client_port=base + 3, route_port=base + 6,
                                      http_port=base + 9)
        self.mosq_port = base + 12
        self.mosq = write_config(self.tmp / "mosquitto", operators=[], viewers=[VIEWER],
                                 rigs=rigs, passwords=self.passwords, port=self.mosq_port,
                                 bind="127.0.0.1")
        self.mosq_proc: subprocess.Popen | None = None
        self.nodes: list[tuple[str, int]] = []

    def start(self) -> _Brokers:
        r = subprocess.run([str(self.nats["start"])], capture_output=True, text=True,
                           timeout=180, env={**os.environ, "NATS_SERVER": NATS})
        if r.returncode != 0:
            raise RuntimeError(f"start.sh failed: {r.stderr.strip()[-300:]}")
        self.nodes = [(h, int(p)) for h, p in
                      (e.split(":") for e in r.stdout.strip().split(","))]
        self.start_mosquitto()
        return self

    def start_mosquitto(self) -> None:
        self.mosq_proc = subprocess.Popen([MOSQUITTO, "-c", str(self.mosq["config"])],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.mosq_port), 0.2).close()
                return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("mosquitto did not start")

    def kill_mosquitto(self) -> None:
        if self.mosq_proc and self.mosq_proc.poll() is None:
            self.mosq_proc.kill()
            self.mosq_proc.wait(10)

    def node_pid(self, k: int) -> int:
        return int((self.tmp / "nats" / f"node{k}.pid").read_text())

    def restart_node(self, k: int) -> None:
        nats = self.tmp / "nats"
        log = open(nats / f"node{k}.log", "ab")
        p = subprocess.Popen([NATS, "-c", str(nats / f"node{k}.conf")], stdout=log, stderr=log,
                             start_new_session=True)
        (nats / f"node{k}.pid").write_text(f"{p.pid}\n")
        link = self.link([self.nodes[k - 1]], VIEWER)
        try:
            link.wait_connected(60)
        finally:
            link.stop()

    def link(self, nodes, user: str, **kw):
        from twin3d.io.mqtt_link import MqttLink

        return MqttLink(list(nodes), username=user, password=self.passwords[user], **kw)

    def close(self) -> None:
        self.kill_mosquitto()
        subprocess.run([str(self.nats["stop"])], timeout=30)
        shutil.rmtree(self.tmp, ignore_errors=True)


class _Rig(threading.Thread):
    """A rig's wire traffic: retained meta, then one T3D1 block every 50 ms (seq +1, t0 from
    the clock), on an MqttLink of the rig's own account."""

    def __init__(self, link, rig_id: str):
        super().__init__(daemon=True)
        from twin3d.io import t3d1
        from twin3d.io.mqtt_link import Topics

        self.link, self.topics = link, Topics.for_rig(rig_id)
        self.meta = json.dumps(t3d1.make_meta(["a1", "a2", "a3", "ag"], ["m/s^2"] * 4, FS,
                                              BLOCK, rig_id=rig_id))
        self.samples = np.zeros((BLOCK, 4), np.float32)
        self.stop_at = 0.0
        self.seq = 0
        self.sent_during: list[int] = []  # seqs whose publish was refused (link down)

    def run(self) -> None:
        from twin3d.io import t3d1

        self.link.start()
        self.link.wait_connected(60)
        self.link.publish(self.topics.meta, self.meta, qos=1, retain=True)
        period = BLOCK / FS
        next_t = time.monotonic()
        while time.monotonic() < self.stop_at:
            t0_ns = time.time_ns() - int((BLOCK - 1) / FS * 1e9)
            if not self.link.publish(self.topics.data, t3d1.encode(self.seq, t0_ns, FS,
                                                                  self.samples)):
                self.sent_during.append(self.seq)
            self.seq += 1
            next_t += period
            time.sleep(max(0.0, next_t - time.monotonic()))
        self.link.stop()


class _Monitor:
    """An MqttSource on a link: every block's seq and latency (arrival - rig time)."""

    def __init__(self, link, rig_id: str):
        from twin3d.io.mqtt_source import MqttSource

        self.src = MqttSource(f"bench/{rig_id}", link, rig_id)
        self.seqs: list[int] = []
        self.latency_ms: list[float] = []
        self.arrivals: list[float] = []

    def pump(self, timeout: float = 0.02) -> None:
        self.src.wait(timeout)
        for it in self.src.poll():
            self.seqs.append(it.block.seq)
            self.latency_ms.append((it.t_recv_ns - it.t_rig_ns) / 1e6)
            self.arrivals.append(time.time())


def _pump_all(monitors: list[_Monitor], until: float) -> None:
    while time.monotonic() < until:
        for m in monitors:
            m.pump(0.005)


def _missing(seqs: list[int]) -> int:
    return int((np.diff(np.asarray(seqs)) - 1).sum()) if len(seqs) > 1 else 0


def _failover_once(br: _Brokers, monitor_nodes, kill, settle_s: float) -> dict:
    """A rig on one node, a monitor on another; `kill()` takes the monitor's node down.
    Returns the time to the next block and the loss as reported vs as received."""
    rig = _Rig(br.link(br.rig_nodes, "rig01"), "rig01")
    mon = _Monitor(br.link(monitor_nodes, VIEWER), "rig01")
    mon.src.start()
    rig.stop_at = time.monotonic() + 600
    rig.start()
    try:
        end = time.monotonic() + 60
        while len(mon.seqs) < int(settle_s * FS / BLOCK) and time.monotonic() < end:
            mon.pump()
        n_before = len(mon.seqs)
        t_kill = time.time()
        kill()
        end = time.monotonic() + 60
        while len(mon.seqs) <= n_before and time.monotonic() < end:
            mon.pump()
        back_s = mon.arrivals[n_before] - t_kill if len(mon.seqs) > n_before else float("inf")
        _pump_all([mon], time.monotonic() + settle_s)
    finally:
        rig.stop_at = 0.0
        rig.join(10)
        mon.src.stop()
    return {"back_s": back_s, "lost_reported": mon.src.counters["lost_blocks"],
            "missing_in_received": _missing(mon.seqs), "failovers": mon.src.failovers,
            "max_gap_s": mon.src.max_gap_s}


def bench_failover(br: _Brokers, kills: int) -> list[dict]:
    runs = []
    for i in range(kills):
        dead = 3 - i % 2  # the monitor's first node dies; the rig stays on node 1
        br.rig_nodes = [br.nodes[0], br.nodes[1]]
        others = [br.nodes[k] for k in range(3) if k != dead - 1]
        runs.append(_failover_once(br, [br.nodes[dead - 1], *others],
                                   lambda k=dead: os.kill(br.node_pid(k), signal.SIGKILL), 2.0))
        if i + 1 < kills:
            br.restart_node(dead)
    mosq = [("127.0.0.1", br.mosq_port)]
    br.rig_nodes = mosq

    def restart_mosquitto() -> None:
        br.kill_mosquitto()
        br.start_mosquitto()
    base = _failover_once(br, mosq, restart_mosquitto, 2.0)
    worst = max(r["back_s"] for r in runs)
    f1 = figure("failover: a node dies under a monitor; s until data flows again (worst of "
                f"{kills})", worst, base["back_s"],
                "one mosquitto killed and restarted at once (no node to fail over to)", "s", 1.0)
    f1.update(goal_s=2.0, meets_goal_s=bool(worst < 2.0), runs=runs, baseline_run=base)
    exact = all(r["lost_reported"] == r["missing_in_received"] for r in runs)
    lost = sum(r["lost_reported"] for r in runs)
    f2 = figure("failover: blocks lost as reported / as missing in what was received", 1.0,
                1.0 if exact else 0.0, "exact count", "ratio", 1.0)
    f2.update(lost_reported=lost, missing_in_received=sum(r["missing_in_received"]
                                                          for r in runs), exact=exact)
    return [f1, f2]


def _publish(br: _Brokers, rigs: list[str], rig_nodes, seconds: float, refused) -> None:
    """The rigs, in a process of their own (so the monitors' process only receives)."""
    pubs = [_Rig(br.link(rig_nodes[i % len(rig_nodes)], r), r) for i, r in enumerate(rigs)]
    for p in pubs:
        p.stop_at = time.monotonic() + seconds
        p.start()
    for p in pubs:
        p.join(seconds + 60)
    refused.put(sum(len(p.sent_during) for p in pubs))


def _many(br: _Brokers, rigs: list[str], rig_nodes, mon_nodes, seconds: float) -> dict:
    import multiprocessing

    mons = [_Monitor(br.link(mon_nodes[i % len(mon_nodes)], VIEWER), r)
            for i, r in enumerate(rigs)]
    for m in mons:
        m.src.start()
        m.src.link.wait_connected(60)
    ctx = multiprocessing.get_context("fork")
    refused = ctx.Queue()
    warm = 3.0  # every rig flowing before counting starts
    proc = ctx.Process(target=_publish, args=(br, rigs, rig_nodes, warm + seconds + 0.5,
                                              refused), daemon=True)
    proc.start()
    try:
        end = time.monotonic() + 60
        while any(not m.seqs for m in mons) and time.monotonic() < end:
            _pump_all(mons, time.monotonic() + 0.1)
        _pump_all(mons, time.monotonic() + 0.5)
        for m in mons:  # count from a clean start
            m.seqs, m.latency_ms = m.seqs[-1:], []
            m.src.counters["lost_blocks"] = 0
        _pump_all(mons, time.monotonic() + seconds)
    finally:
        proc.join(seconds + 90)
        _pump_all(mons, time.monotonic() + 0.3)
        for m in mons:
            m.src.stop()
    lat = np.concatenate([m.latency_ms for m in mons]) if mons else np.zeros(0)
    return {"blocks": int(sum(len(m.seqs) - 1 for m in mons)),
            "lost": int(sum(m.src.counters["lost_blocks"] for m in mons)),
            "refused_at_rig": int(refused.get(timeout=10)) if not refused.empty() else None,
            "p99_ms": float(np.percentile(lat, 99)) if lat.size else float("inf")}


def bench_many_rigs(br: _Brokers, rigs: list[str], seconds: float) -> list[dict]:
    # rigs spread over the nodes; each rig's monitor on another node than the rig
    nats = _many(br, rigs, [[br.nodes[k % 3]] for k in range(3)],
                 [[br.nodes[(k + 1) % 3]] for k in range(3)], seconds)
    mosq_node = [[("127.0.0.1", br.mosq_port)]]
    mosq = _many(br, rigs, mosq_node, mosq_node, seconds)
    label = f"{len(rigs)} rigs x 1 kHz ({seconds:g} s), one monitor per rig"
    f1 = figure(f"{label}: p99 latency on the 3-node NATS cluster", nats["p99_ms"],
                mosq["p99_ms"], "the same on one mosquitto", "ms", 0.5)
    f1.update(nats=nats, mosquitto=mosq)
    f2 = figure(f"{label}: blocks lost on the cluster (goal 0) per block sent",
                (nats["lost"] + 1) / (nats["blocks"] + 1), 1 / (nats["blocks"] + 1),
                "no loss", "fraction", 1.0)
    f2.update(lost=nats["lost"], blocks=nats["blocks"], mosquitto_lost=mosq["lost"])
    return [f1, f2]


def steps(quick: bool) -> list:
    if not (os.path.exists(NATS) and os.path.exists(MOSQUITTO)):
        return []  # no engines here: the cluster figures need nats-server and mosquitto
    n_rigs = 10
    rigs = [f"rig{k:02d}" for k in range(1, n_rigs + 1)]
    state: dict = {}

    def brokers() -> _Brokers:
        if "br" not in state:
            state["br"] = _Brokers(rigs).start()
        return state["br"]

    def many() -> list[dict]:
        return bench_many_rigs(brokers(), rigs, 5.0 if quick else 30.0)

    def failover() -> list[dict]:  # last: it leaves a node dead
        try:
            return bench_failover(brokers(), 1 if quick else 3)
        finally:
            state.pop("br").close()

    return [("cluster many rigs", many), ("cluster failover", failover)]
