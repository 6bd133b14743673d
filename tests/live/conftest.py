"""The live tests use the same real mosquitto fixtures as tests/io (loaded from there: the test
folders are not packages)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "twin3d_tests_io_conftest", Path(__file__).resolve().parents[1] / "io" / "conftest.py")
_io = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_io)

broker = _io.broker
own_broker = _io.own_broker
wait_for = _io.wait_for_fixture
free_port = _io.free_port_fixture
Broker = _io.Broker
