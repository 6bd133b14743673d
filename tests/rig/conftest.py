"""Helpers for the rig tests: run `twin3d` in a subprocess, and brokers with a given
configuration (the plain broker and Broker itself come from tests/conftest.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest


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
def wait_until_fixture(wait_for):
    return lambda cond, timeout=20.0, step=0.02: wait_for(cond, timeout, step)


@pytest.fixture(name="run_twin3d")
def run_twin3d_fixture():
    return twin3d


@pytest.fixture(scope="session")
def broker_port(broker):
    return broker.port


@pytest.fixture(name="mosquitto")
def mosquitto_fixture(broker_class):
    """start(conf, port) -> process; every broker started is killed after the test."""
    started = []

    def start(conf: Path, port: int) -> subprocess.Popen:
        b = broker_class(conf.parent, port, conf).start()
        started.append(b)
        return b.proc

    yield start
    for b in started:
        b.kill()


@pytest.fixture
def loopback_port(free_port) -> int:
    return free_port()


def _stop_rig(proc: subprocess.Popen) -> None:
    """SIGTERM (the rig's clean exit: offline state, link removed), then kill if it hangs."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(name="stop_rig", scope="session")
def stop_rig_fixture():
    return _stop_rig
