"""The registry of source schemes (`twin3d.io.schemes`) and the link protocols (`twin3d.io.link`):
io's own schemes register when `twin3d.io.sources` is imported, without the rig; an unknown
scheme is refused with the registered ones listed; a scheme can be added from outside."""

from __future__ import annotations

import subprocess
import sys

import pytest

from twin3d.io import schemes
from twin3d.io.ingest import Ingest
from twin3d.io.link import ByteLink, Link, TopicLink
from twin3d.io.loopback import LoopbackBus
from twin3d.io.mqtt_link import MqttLink
from twin3d.io.serial_link import SerialLink
from twin3d.io.sources import open_source, register_scheme, registered_schemes
from twin3d.io.tcp_source import TcpLink


def test_io_registers_its_schemes_without_importing_the_rig():
    code = ("import sys; from twin3d.io.sources import registered_schemes as r; "
            "print(sorted(r())); print(sorted(m for m in sys.modules if m.startswith("
            "('twin3d.rig', 'twin3d.live', 'twin3d.view'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["['mqtt', 'mqtts', 'replay', 'serial', 'tcp']", "[]"]


def test_sim_is_registered_by_the_rig_and_opened_through_the_live_side():
    from twin3d.live.sources import open_source as live_open
    from twin3d.scenefile.records import load_scene

    scene = load_scene("three_storey")
    assert "sim" in registered_schemes()
    src = live_open("sim?rpm=0&seed=3", scene)
    assert type(src).__name__ == "SimSource" and src.url == "sim"
    with pytest.raises(ValueError, match="needs a scene"):
        live_open("sim", None)
    with pytest.raises(ValueError, match="sim:x.*not understood"):
        live_open("sim:x", scene)
    with pytest.raises(ValueError, match="rpm=9999 out of range"):
        live_open("sim?rpm=9999", scene)


def test_an_unknown_scheme_lists_the_registered_ones():
    with pytest.raises(ValueError) as e:
        open_source("ftp://x")
    msg = str(e.value)
    assert msg.startswith("source 'ftp://x' not understood (registered schemes: ")
    for form in ("mqtt://[USER@]HOST:PORT[/RIG]", "serial:///dev/ttyX[?baud=N]",
                 "replay:PATH[?speed=X]", "tcp://HOST:PORT"):
        assert form in msg
    assert msg.count("mqtt://") == 1  # mqtt and mqtts share one form
    with pytest.raises(ValueError, match="not understood"):
        open_source("/no/scheme/at/all")


def test_scheme_of_takes_the_first_word():
    assert [schemes.scheme_of(u) for u in ("sim", "sim?rpm=3", "replay:/a/b?speed=0",
                                           "MQTT://h:1/r", "tcp://h:2", "/dev/x", "")] == \
        ["sim", "sim", "replay", "mqtt", "tcp", "", ""]


def test_a_scheme_registered_from_outside_is_opened(monkeypatch):
    monkeypatch.setattr(schemes, "_OPENERS", dict(schemes._OPENERS))
    monkeypatch.setattr(schemes, "_USAGE", dict(schemes._USAGE))
    seen = []

    @register_scheme("fake", usage="fake:NAME")
    def open_fake(url, scene):
        seen.append((url, scene))
        return Ingest(url)

    src = open_source("fake:abc", "scene")
    assert isinstance(src, Ingest) and seen == [("fake:abc", "scene")]
    assert registered_schemes()["fake"] == "fake:NAME"
    with pytest.raises(ValueError, match="already opened by"):
        register_scheme("fake")(lambda url, scene: None)


def test_query_values_are_checked():
    with pytest.raises(ValueError, match=r"speed=2000 out of range \(allowed 0\.\.1000\)"):
        schemes.query_float({"speed": ["2000"]}, "speed", 1.0, 0.0, 1000.0, "replay:x")
    with pytest.raises(ValueError, match="is not a number"):
        schemes.query_float({"rpm": ["fast"]}, "rpm", 0.0, 0.0, 10.0, "sim")
    assert schemes.query_float({}, "rpm", 7.0, 0.0, 10.0, "sim") == 7.0


def test_every_link_is_a_link_and_sends_its_own_way():
    links = {"mqtt": MqttLink("127.0.0.1"), "loopback": LoopbackBus().link(),
             "serial": SerialLink("/nonexistent"), "tcp": TcpLink("127.0.0.1", 1)}
    assert all(isinstance(k, Link) for k in links.values())
    assert {n for n, k in links.items() if isinstance(k, TopicLink)} == {"mqtt", "loopback"}
    assert {n for n, k in links.items() if isinstance(k, ByteLink)} == {"serial"}
