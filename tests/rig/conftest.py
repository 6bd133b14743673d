"""A real mosquitto on a free loopback port for the rig tests, plus helpers to run `twin3d`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mosquitto(conf: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # ready when the port accepts
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("mosquitto did not start listening")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


@pytest.fixture(scope="session")
def broker_port(tmp_path_factory):
    d = tmp_path_factory.mktemp("rig-mqtt")
    os.chmod(d, 0o755)
    port = free_port()
    conf = d / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\nset_tcp_nodelay true\nlog_dest stderr\n")
    os.chmod(conf, 0o644)
    proc = start_mosquitto(conf, port)
    yield port
    stop(proc)


def wait_for(cond, timeout: float = 20.0, step: float = 0.02):
    """Poll cond() until true; the timeout only bounds a failing test, never measures one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def twin3d(*args, env=None, timeout=60) -> tuple[int, dict | None, str]:
    """Run `python -m twin3d ...`: (exit status, the JSON object on stdout or None, stderr)."""
    r = subprocess.run([sys.executable, "-m", "twin3d", *args], capture_output=True, text=True,
                       timeout=timeout, env=env)
    try:
        out = json.loads(r.stdout) if r.stdout.strip() else None
    except ValueError:
        out = None
    return r.returncode, out, r.stderr


def rig_env(audit_dir: Path) -> dict:
    return {**os.environ, "TWIN3D_AUDIT_DIR": str(audit_dir)}


@pytest.fixture(name="wait_until")
def wait_until_fixture():
    return wait_for


@pytest.fixture(name="run_twin3d")
def run_twin3d_fixture():
    return twin3d


@pytest.fixture(name="mosquitto")
def mosquitto_fixture():
    """start(conf, port) -> process; every broker started is killed after the test."""
    procs = []

    def start(conf: Path, port: int) -> subprocess.Popen:
        p = start_mosquitto(conf, port)
        procs.append(p)
        return p

    yield start
    for p in procs:
        stop(p)


@pytest.fixture
def loopback_port() -> int:
    return free_port()
