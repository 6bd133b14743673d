"""A 3-node NATS cluster (MQTT + JetStream) on loopback, once per session, made the way an admin
makes one: `twin3d broker-config --kind nats --nodes 3 --out DIR`, then `DIR/start.sh`."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

NATS = shutil.which("nats-server") or "/usr/sbin/nats-server"
NODES = 3
# rig4 is only the retained-state test's: no other test's rig leaves a late will on its topics
RIGS = ("rig1", "rig2", "rig3", "rig4")
PASSWORDS = {"op": "op-secret", "viewer": "viewer-secret",
             **{r: f"{r}-secret" for r in RIGS}}


def _free_run(n: int) -> int:
    """A first port of n consecutive free loopback ports."""
    for _ in range(200):
        base = random.randrange(20000, 60000 - n)
        try:
            for p in range(base, base + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise RuntimeError("no run of free ports")


@dataclass
class Cluster:
    folder: Path
    mqtt: list[str]  # host:port per node, as start.sh printed them
    conf: dict = field(default_factory=dict)
    passwords: dict = field(default_factory=lambda: dict(PASSWORDS))

    @property
    def listing(self) -> str:
        return ",".join(self.mqtt)

    def nodes(self, *order: int) -> str:
        """host:port list of nodes in this order (1-based): the first is where a client goes."""
        return ",".join(self.mqtt[k - 1] for k in order)

    def connections(self, k: int, user: str) -> int:
        """MQTT clients of `user` on node k now (the node's /connz)."""
        url = self.conf["monitoring"][k - 1] + "/connz?auth=true&limit=1000"
        with urllib.request.urlopen(url, timeout=5) as r:
            conns = json.load(r).get("connections") or []
        return sum(1 for c in conns if c.get("authorized_user") == user and c.get("mqtt_client"))

    def pid(self, k: int) -> int:
        return int((self.folder / f"node{k}.pid").read_text())

    def kill(self, k: int) -> None:
        os.kill(self.pid(k), signal.SIGKILL)

    def alive(self, k: int) -> bool:
        try:
            os.kill(self.pid(k), 0)
            return True
        except OSError:
            return False

    # --- clients: `twin3d` in a subprocess, as an operator would run it --------------------

    @staticmethod
    def proc(*args, user: str | None = None) -> subprocess.Popen:
        """`twin3d ARGS` in the background; `user`'s password in TWIN3D_MQTT_PASSWORD."""
        env = {**os.environ, **({"TWIN3D_MQTT_PASSWORD": PASSWORDS[user]} if user else {})}
        return subprocess.Popen([sys.executable, "-m", "twin3d", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)

    @staticmethod
    def result(p: subprocess.Popen, timeout: float = 120) -> dict:
        """The JSON a `twin3d ... --json` process printed (it must exit 0)."""
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err[-2000:]
        return json.loads(out)

    def restart(self, k: int) -> None:
        """Start a killed node again (same configuration and store), and wait until it serves
        MQTT to a known account."""
        if self.alive(k):
            return
        log = open(self.folder / f"node{k}.log", "ab")
        p = subprocess.Popen([NATS, "-c", str(self.folder / f"node{k}.conf")], stdout=log,
                             stderr=log, start_new_session=True)
        (self.folder / f"node{k}.pid").write_text(f"{p.pid}\n")
        host, port = self.mqtt[k - 1].split(":")
        wait_mqtt(host, int(port), "viewer", PASSWORDS["viewer"])


def wait_mqtt(host: str, port: int, user: str, password: str, timeout: float = 60) -> None:
    from twin3d.io.mqtt_link import MqttLink

    link = MqttLink(host, port, username=user, password=password).start()
    try:
        if not link.wait_connected(timeout):
            raise RuntimeError(f"node {host}:{port} serves no MQTT: {link.last_error}")
    finally:
        link.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    if not os.path.exists(NATS):
        pytest.fail("nats-server is not installed (.ci/setup installs it)")
    folder = tmp_path_factory.mktemp("nats")
    (folder / "passwords").write_text("".join(f"{u}:{p}\n" for u, p in PASSWORDS.items()))
    base = _free_run(4 * NODES)
    args = ["broker-config", "--kind", "nats", "--nodes", str(NODES), "--out",
            str(folder / "cluster"), "--operator", "op", "--viewer", "viewer",
            *sum((["--rig", r] for r in RIGS), []), "--passwords", str(folder / "passwords"),
            "--port", str(base), "--client-port", str(base + NODES),
            "--route-port", str(base + 2 * NODES), "--http-port", str(base + 3 * NODES),
            "--json"]
    r = subprocess.run([sys.executable, "-m", "twin3d", *args], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    conf = json.loads(r.stdout)
    d = folder / "cluster"
    started = subprocess.run([str(d / "start.sh")], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "NATS_SERVER": NATS})
    c = Cluster(d, [], conf)
    try:
        assert started.returncode == 0, started.stderr
        c.mqtt = started.stdout.strip().split(",")
        yield c
    finally:
        subprocess.run([str(d / "stop.sh")], timeout=30)
        for k in range(1, NODES + 1):  # stop.sh sends TERM; a node that ignores it is killed
            if (d / f"node{k}.pid").exists() and c.alive(k):
                os.kill(c.pid(k), signal.SIGKILL)


@pytest.fixture(scope="session")
def password_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pw")
    out = {}
    for u, p in PASSWORDS.items():
        out[u] = d / u
        out[u].write_text(p + "\n")
        os.chmod(out[u], 0o600)
    return out
