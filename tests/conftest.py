"""Shared test set-up. twin3d must be installed (`pip install -e .`): physics/ and io/ import
as twin3d.physics and twin3d.io only through the setuptools mapping."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

if importlib.util.find_spec("twin3d.physics") is None:  # pragma: no cover
    raise pytest.UsageError("twin3d is not installed: run `bash .ci/setup` (pip install -e .)")


@pytest.fixture(autouse=True)
def private_profile_store(tmp_path_factory, monkeypatch):
    """Tests never read or write the user's saved profiles in $HOME: the profile store points
    at a fresh temporary folder (inherited by the twin3d subprocesses a test starts)."""
    monkeypatch.setenv("TWIN3D_PROFILES_DIR", str(tmp_path_factory.mktemp("profiles")))


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory, monkeypatch):
    """Tests never write the user's monitoring history in $HOME: the data folder (the default
    history store) is a fresh temporary one, inherited by the subprocesses a test starts."""
    monkeypatch.setenv("TWIN3D_DATA_DIR", str(tmp_path_factory.mktemp("data")))


# --- a real mosquitto broker on a free loopback port (tests/io, tests/live, tests/rig) ---------

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """mosquitto on 127.0.0.1:port; kill() and start() again on the same port."""

    def __init__(self, workdir: Path, port: int | None = None, conf: Path | None = None):
        self.port = port or free_port()
        if conf is None:
            conf = workdir / f"mosquitto-{self.port}.conf"
            # max_queued_messages 0: the default 1000 silently drops QoS 0 to slow subscribers
            conf.write_text(f"per_listener_settings true\nlistener {self.port} 127.0.0.1\n"
                            "allow_anonymous true\npersistence false\nmax_queued_messages 0\n"
                            "set_tcp_nodelay true\nlog_dest stderr\n")
            os.chmod(conf, 0o644)
        os.chmod(workdir, 0o755)  # mosquitto started as root drops to its own user
        self.conf = conf
        self.proc: subprocess.Popen | None = None

    def start(self) -> Broker:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # ready when the port accepts
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("mosquitto exited: "
                                       + self.proc.stderr.read().decode()[-500:])
                time.sleep(0.02)
        self.proc.kill()
        raise RuntimeError("mosquitto did not start listening")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait(10)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("mqtt")).start()
    yield b
    b.kill()


@pytest.fixture
def own_broker(tmp_path_factory):
    """A broker this test may kill and restart."""
    b = Broker(tmp_path_factory.mktemp("mqtt-own")).start()
    yield b
    b.kill()


def wait_for(cond, timeout: float = 10.0, step: float = 0.01):
    """Poll cond() until true; the timeout only bounds a failing test, never measures one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def until_subscribed(pub, sub, topic: str) -> None:
    """Probe until `sub`'s subscription is in place at the broker (connected comes before the
    SUBACK: a message published in between is not for it), then drop the probes."""
    def arrived() -> bool:
        pub.publish(topic, b"probe", qos=1)
        return wait_for(lambda: any(m.payload == b"probe" for m in sub.drain()), 1.0)
    assert wait_for(arrived, 30, 0.0), "the subscription never became active"
    time.sleep(0.1)  # probes still in flight land before the test's own messages
    sub.drain()


@pytest.fixture(name="wait_for")
def wait_for_fixture():
    return wait_for


@pytest.fixture(name="free_port")
def free_port_fixture():
    return free_port


@pytest.fixture(name="broker_class")
def broker_class_fixture():
    return Broker
