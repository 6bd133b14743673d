"""Sustained MQTT ingest: 8 channels at 10 kHz through a real mosquitto on loopback.

A publisher in its own process plays the rig (T3D1 float32 blocks of 250 samples, 40 per
second, paced at real time, stamped with the real wall time of their samples). The receiver in
this process is either the live twin (`LiveFeed` on `mqtt://127.0.0.1:PORT/RIG`: decoding,
sequence checks, the Kalman filter and the frequency tracker at 10 kHz) or, as the baseline,
paho's bare receive loop whose callback only keeps what arrived and when. Each gets its own
publisher run of the same length. Measured: blocks published vs received (zero loss), the
receiver's CPU seconds per second of data (the publisher and the broker are other processes,
so they are not counted) and the rig-to-state latency p50/p99.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from twin3d.bench import figure

FS = 10_000.0
BLOCK = 250  # samples per block: 40 blocks per second
N_CHANNELS = 8
NS_PER_SAMPLE = 100_000  # 1e9 / FS, exact
LATENCY_GOAL_MS = 20.0
DRAIN_S = 3.0  # after the publisher has finished, how long the last blocks may take to arrive
LOSS_COUNTERS = ("gaps", "lost_blocks", "duplicates", "crc_errors", "invalid", "overflows")


def steps(quick: bool) -> list:
    # The quick run stays below the twin's 10 s tracking window and plot history, so it costs
    # ingest and the Kalman filter only; the full run adds the tracker's updates and a full
    # history, i.e. the twin's steady state.
    return [("MQTT ingest, 8 ch at 10 kHz", lambda: bench_ingest(5.0 if quick else 20.0))]


def bench_ingest(seconds: float) -> list[dict]:
    """Both receivers against their own publisher run; [] (and a note) without mosquitto."""
    exe = _mosquitto_path()
    if exe is None:
        print("bench live_ingest: skipped, no mosquitto binary (apt-get install mosquitto)",
              file=sys.stderr)
        return []
    with _mosquitto(exe) as port:
        raw = _receive_raw_paho(port, "bench-raw", seconds)
        ours = _receive_live_feed(port, "bench-ours", seconds)
    return _figures(ours, raw, seconds)


# --- the broker --------------------------------------------------------------------------------

def _mosquitto_path() -> str | None:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return exe if os.access(exe, os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _mosquitto(exe: str):
    """A private mosquitto on a free loopback port, killed on the way out."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="twin3d-bench-mqtt-") as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        # max_queued_messages 0: the default 1000 silently drops QoS 0 to a slow subscriber,
        # which would hide the very loss this bench is there to see.
        conf.write_text(f"per_listener_settings true\nlistener {port} 127.0.0.1\n"
                        "allow_anonymous true\npersistence false\nmax_queued_messages 0\n"
                        "set_tcp_nodelay true\nlog_dest stderr\n")
        os.chmod(conf, 0o644)
        os.chmod(tmp, 0o755)  # started as root, mosquitto drops to its own user
        with open(Path(tmp) / "mosquitto.log", "wb") as log:
            proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                    stderr=log)
            try:
                _wait_listening(proc, port, Path(tmp) / "mosquitto.log")
                yield port
            finally:
                proc.kill()
                proc.wait(10)


def _wait_listening(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {log.read_text()[-500:]}") from None
            time.sleep(0.02)
    raise RuntimeError(f"mosquitto did not listen on 127.0.0.1:{port} within 10 s")


# --- the publisher (runs in its own process) ---------------------------------------------------

def _first_sensors():
    """The default scene and the names of its first 8 sensors, in order."""
    from twin3d.scenefile.records import load_scene

    scene = load_scene("three_storey")
    return scene, list(scene.data.sensors)[:N_CHANNELS]


def rig_signals(seconds: float, seed: int = 0) -> np.ndarray:
    """(n, 8) float32 readings of the first 8 sensors of the default scene, so the estimator and
    the tracker see a real structure: band-limited table shaking plus a 5 Hz crank harmonic,
    the floors' absolute accelerations from the scene's model, the actuator force, a motor at
    300 rpm and two phase currents, each with its sensor's noise."""
    from twin3d.physics.excitations import band_limited_noise
    from twin3d.physics.response import linear_response

    scene, names = _first_sensors()
    n = int(round(seconds * FS))
    t = np.arange(n) / FS
    ag = band_limited_noise(n, FS, 1.0, 40.0, 0.3, seed=seed) + 0.5 * np.sin(2 * np.pi * 5 * t)
    floors = linear_response(scene.model(), 1 / FS, n, base_acc=ag).a_abs
    clean = {"acc_table": ag, "acc_floor1": floors[:, 0], "acc_floor2": floors[:, 1],
             "acc_floor3": floors[:, 2], "force_actuator": 40.0 * np.sin(2 * np.pi * 5 * t),
             "motor_speed": np.full(n, 300.0),
             "current_a": 2.0 * np.sin(2 * np.pi * 20 * t),
             "current_b": 2.0 * np.sin(2 * np.pi * 20 * t - 2 * np.pi / 3)}
    rng = np.random.default_rng(seed + 1)
    out = np.empty((n, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        noise = scene.data.sensors[name].noise_rms or 0.0
        out[:, j] = clean.get(name, np.zeros(n)) + noise * rng.standard_normal(n)
    return out


def publish(port: int, rig: str, seconds: float) -> None:
    """The rig: meta (retained), `ready` on stdout, then on `go` from stdin the data blocks,
    each sent once its last sample's time has come; a JSON summary on stdout at the end."""
    import paho.mqtt.client as mqtt

    from twin3d.io import t3d1
    from twin3d.io.mqtt_link import topic

    values = rig_signals(seconds)  # computed before the clock starts
    scene, names = _first_sensors()
    units = [scene.data.sensors[k].unit for k in names]
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-rig-{os.getpid()}")
    c.on_socket_open = _nodelay
    c.connect("127.0.0.1", port)
    c.loop_start()
    meta = t3d1.make_meta(names, units, FS, BLOCK, rig_id=rig)
    c.publish(topic(rig, "meta"), json.dumps(meta), qos=0, retain=True).wait_for_publish(10)
    print("ready", flush=True)
    sys.stdin.readline()
    t_start = time.time_ns()
    lags_ms, info = [], None
    for seq in range(values.shape[0] // BLOCK):
        first = seq * BLOCK
        due = t_start + (first + BLOCK - 1) * NS_PER_SAMPLE  # the block's last sample
        wait = (due - time.time_ns()) * 1e-9
        if wait > 0:
            time.sleep(wait)
        raw = t3d1.encode(seq, t_start + first * NS_PER_SAMPLE, FS, values[first:first + BLOCK])
        info = c.publish(topic(rig, "data"), raw, qos=0)
        lags_ms.append((time.time_ns() - due) * 1e-6)
    if info is not None:
        info.wait_for_publish(10)
    c.disconnect()
    c.loop_stop()
    # how late the rig itself sent (a busy machine): a latency beyond it is the receiver's
    print(json.dumps({"published": len(lags_ms), "lag_ms_max": max(lags_ms, default=None)}),
          flush=True)


def _nodelay(client, userdata, sock) -> None:
    """paho leaves Nagle on, which holds small writes back by milliseconds."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Publisher:
    """The publisher process: started, told to go, its summary read."""

    def __init__(self, port: int, rig: str, seconds: float):
        code = (f"from twin3d.bench.live_ingest import publish; "
                f"publish({port}, {rig!r}, {float(seconds)!r})")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_ready(self) -> None:
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise RuntimeError(f"bench publisher failed: {err.strip()[-800:]}")

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def summary(self, timeout: float) -> dict:
        out, err = self.proc.communicate(timeout=timeout)
        if self.proc.returncode != 0:
            raise RuntimeError(f"bench publisher failed: {err.strip()[-800:]}")
        return json.loads(out.strip().splitlines()[-1])

    def kill(self) -> None:
        if self.running:
            self.proc.kill()
            self.proc.communicate(timeout=10)


# --- the receivers ----------------------------------------------------------------------------

def _receive_live_feed(port: int, rig: str, seconds: float) -> dict:
    """The live twin on the stream, driven like `twin3d monitor`: wait for data, then step."""
    from twin3d.live.sources import open_source
    from twin3d.live.live_feed import LiveFeed
    from twin3d.scenefile.records import load_scene

    scene = load_scene("three_storey")
    feed = LiveFeed(open_source(f"mqtt://127.0.0.1:{port}/{rig}", scene), scene)
    pub = _Publisher(port, rig, seconds)
    try:
        pub.wait_ready()
        # the retained meta arriving proves the feed is subscribed: no block can be missed
        _until(lambda: _step_has_meta(feed), 10.0, "the live feed did not receive the meta")
        cpu0 = time.process_time()
        pub.go()
        while pub.running:
            _step(feed)
        summary = pub.summary(10)
        deadline = time.monotonic() + DRAIN_S
        while feed.ingest.counters["blocks"] < summary["published"] \
                and time.monotonic() < deadline:
            _step(feed)
        feed.settle()  # the tracker's last fit
        # the tracker fits in its own process (started after cpu0, so all of its CPU counts)
        cpu = time.process_time() - cpu0 + sum(_process_cpu_s(pid)
                                               for pid in feed.worker_pids())
        counters = dict(feed.ingest.counters)
        return {"published": summary["published"], "received": counters["blocks"],
                "cpu_s": cpu, "counters": {k: counters[k] for k in LOSS_COUNTERS},
                "latency_ms_p50": feed.latency_ms(50), "latency_ms_p99": feed.latency_ms(99),
                "latency_ms_max": feed.latency_ms(100), "estimator": feed.mode,
                "tracked_hz": [float(f) for f in feed.tracked_hz],
                "publisher_lag_ms_max": summary["lag_ms_max"]}
    finally:
        pub.kill()
        feed.close()


def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _step(feed) -> None:
    feed.ingest.wait(0.05)
    feed.advance()  # as `twin3d monitor` does: the plot state is built only when drawn


def _step_has_meta(feed) -> bool:
    feed.advance()
    return feed.ingest.meta is not None


def _receive_raw_paho(port: int, rig: str, seconds: float) -> dict:
    """The baseline: a bare paho client whose callback only appends (payload, arrival time).
    Keeping the payload costs no more than its length (a reference) and lets the transport
    latency be computed afterwards, outside the CPU window."""
    import paho.mqtt.client as mqtt

    from twin3d.io.mqtt_link import topic

    got: list[tuple[bytes, int]] = []
    subscribed = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-raw-{os.getpid()}")
    c.on_socket_open = _nodelay
    c.on_connect = lambda cl, ud, fl, rc, pr: cl.subscribe(topic(rig, "data"), qos=0)
    c.on_subscribe = lambda cl, ud, mid, rcs, pr: subscribed.set()
    c.on_message = lambda cl, ud, m: got.append((m.payload, time.time_ns()))
    c.connect("127.0.0.1", port)
    c.loop_start()
    pub = _Publisher(port, rig, seconds)
    try:
        if not subscribed.wait(10):
            raise RuntimeError("the paho baseline could not subscribe")
        pub.wait_ready()
        cpu0 = time.process_time()
        pub.go()
        summary = pub.summary(seconds + 60)  # sleeps in waitpid: no CPU of its own
        _until(lambda: len(got) >= summary["published"], DRAIN_S, None)
        cpu = time.process_time() - cpu0
    finally:
        pub.kill()
        c.disconnect()
        c.loop_stop()
    lat = np.array([_transport_latency_ms(p, t) for p, t in got])
    return {"published": summary["published"], "received": len(got), "cpu_s": cpu,
            "latency_ms_p50": float(np.percentile(lat, 50)) if lat.size else None,
            "latency_ms_p99": float(np.percentile(lat, 99)) if lat.size else None,
            "publisher_lag_ms_max": summary["lag_ms_max"]}


def _transport_latency_ms(payload: bytes, t_recv_ns: int) -> float:
    """Arrival time minus the time of the block's last sample, from the T3D1 header."""
    from twin3d.io import t3d1

    _, _, _, _, n, _, t0_ns, fs = t3d1.HEADER.unpack_from(payload)
    return (t_recv_ns - t0_ns - (n - 1) * 1e9 / fs) * 1e-6


def _until(cond, timeout: float, error: str | None) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() >= deadline:
            if error:
                raise RuntimeError(error)
            return False
        time.sleep(0.01)
    return True


# --- figures -----------------------------------------------------------------------------------

def _figures(ours: dict, raw: dict, seconds: float) -> list[dict]:
    if not (ours["received"] and raw["received"]):
        raise RuntimeError(f"MQTT ingest bench: no block arrived (twin {ours['received']}, "
                           f"paho {raw['received']} of {ours['published']})")
    data_s = ours["published"] * BLOCK / FS
    ours_cpu = ours["cpu_s"] / data_s
    raw_cpu = raw["cpu_s"] / (raw["published"] * BLOCK / FS)
    label = f"MQTT ingest, 8 ch at 10 kHz, {seconds:g} s"
    # ratio = paho's CPU / ours, below 1 by nature: the bare loop does nothing with the data.
    # goal_ratio 0.05: the whole live twin (decoding, sequence checks, Kalman filter, frequency
    # tracker, history) may cost up to 20 times paho's bare receive loop; in absolute terms
    # what matters is cpu_fraction_of_one_core.
    cpu = figure(f"{label}: receiver CPU s per s of data", ours_cpu, raw_cpu,
                 "paho's raw receive loop (callback appends only)", "s/s", 0.05)
    cpu.update({"blocks_published": ours["published"], "blocks_received": ours["received"],
                "lost": ours["published"] - ours["received"],
                **ours["counters"], "cpu_fraction_of_one_core": ours_cpu,
                "latency_ms_p50": ours["latency_ms_p50"],
                "latency_ms_p99": ours["latency_ms_p99"], "estimator": ours["estimator"],
                "tracker_estimated": bool(ours["tracked_hz"]),
                "publisher_lag_ms_max": ours["publisher_lag_ms_max"],
                "baseline_blocks_published": raw["published"],
                "baseline_blocks_received": raw["received"]})
    p99 = ours["latency_ms_p99"]
    # the baseline is the goal itself, so ratio = 20 ms / p99 and >= 1 meets it
    lat = figure(f"{label}: rig-to-state latency p99, ms", p99,
                 LATENCY_GOAL_MS, "goal: p99 under 20 ms on loopback", "ms", 1.0)
    lat.update({"latency_ms_p50": ours["latency_ms_p50"], "latency_ms_p99": p99,
                "latency_ms_max": ours["latency_ms_max"],
                "baseline_latency_ms_p50": raw["latency_ms_p50"],
                "baseline_latency_ms_p99": raw["latency_ms_p99"],
                "blocks_received": ours["received"]})
    return [cpu, lat]
