"""`twin3d broker-config` output run by a real mosquitto: passwords, ACL, no anonymous clients."""

from __future__ import annotations

import getpass
import os
import shutil
import threading

import paho.mqtt.client as mqtt
import pytest

from twin3d.io.broker_config import hash_password, write_config
from twin3d.io.mqtt_link import MqttLink


def _client(port, user, password):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    c.username_pw_set(user, password)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def test_pbkdf2_hash_has_mosquittos_layout():
    h = hash_password("secret", salt=b"0123456789ab")
    kind, iterations, salt, digest = h.split("$")[1:]
    assert (kind, iterations) == ("7", "101")
    assert salt == "MDEyMzQ1Njc4OWFi"  # base64 of the 12-byte salt
    assert len(digest) == 88  # base64 of a 64-byte SHA-512 digest
    assert hash_password("secret", salt=b"0123456789ab") == h
    assert hash_password("other", salt=b"0123456789ab") != h


def _denied(port, user, password, topic, payload, wait_until) -> None:
    """Publish where the ACL forbids it, and return once the broker has handled the packet:
    mosquitto 2.0.11 then drops the client's connection; a broker that keeps it answers the
    subscribe sent after the publish. Either proves the publish was seen (in order)."""
    seen = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    c.username_pw_set(user, password)
    c.on_disconnect = lambda *a: seen.set()
    c.on_subscribe = lambda *a: seen.set()
    connected = threading.Event()
    c.on_connect = lambda *a: connected.set()
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        assert connected.wait(10)
        c.publish(topic, payload)
        c.subscribe("twin3d/sync")
        assert wait_until(seen.is_set, timeout=10)
    finally:
        c.disconnect()
        c.loop_stop()


@pytest.mark.parametrize("use_tool", [False, True])
def test_viewer_publish_dropped_operator_arrives_anonymous_refused(tmp_path, mosquitto,
                                                                    wait_until, use_tool,
                                                                    loopback_port):
    if use_tool and shutil.which("mosquitto_passwd") is None:
        use_tool = False  # the pure-Python hash path is then the one under test twice
    port = loopback_port
    files = write_config(tmp_path / "broker", operators=[("olga", "op-pass")],
                         viewers=[("vic", "view-pass")], rigs=[("rig1", "rig-pass")],
                         port=port, bind="127.0.0.1",
                         run_as=getpass.getuser() if os.geteuid() == 0 else None,
                         use_tool=use_tool)
    assert files["hashing"] == ("mosquitto_passwd" if use_tool else "pbkdf2")
    assert "op-pass" not in files["passwd"].read_text()
    mosquitto(files["config"], port)

    anon = MqttLink("127.0.0.1", port, max_backoff=0.2).start()
    wrong = MqttLink("127.0.0.1", port, username="vic", password="nope", max_backoff=0.2).start()
    try:
        assert wait_until(lambda: anon.counters.connect_failures > 0 and
                          wrong.counters.connect_failures > 0, timeout=10)
        assert not anon.connected and not wrong.connected
        assert anon.counters.connects == 0 and wrong.counters.connects == 0
    finally:
        anon.stop()
        wrong.stop()

    listener = MqttLink("127.0.0.1", port, username="vic", password="view-pass",
                        subscriptions=("twin3d/#",)).start()
    operator = _client(port, "olga", "op-pass")
    try:
        assert listener.wait_connected(10)
        _denied(port, "vic", "view-pass", "twin3d/rig1/cmd", b"from-viewer", wait_until)
        _denied(port, "vic", "view-pass", "twin3d/rig1/data", b"viewer-data", wait_until)
        _denied(port, "olga", "op-pass", "twin3d/rig1/state", b"operator-state", wait_until)
        operator.publish("twin3d/rig1/cmd", b"from-operator", qos=1).wait_for_publish(10)
        operator.publish("twin3d/rig1/heartbeat", b"hb", qos=1).wait_for_publish(10)
        got = []
        assert wait_until(lambda: got.extend(listener.drain()) or
                          any(m.payload == b"hb" for m in got), timeout=10)
        payloads = [m.payload for m in got]
        assert b"from-operator" in payloads
        assert b"from-viewer" not in payloads and b"viewer-data" not in payloads
        assert b"operator-state" not in payloads  # operators command; only rigs publish state
    finally:
        operator.disconnect()
        operator.loop_stop()
        listener.stop()


def test_acl_text_grants(tmp_path):
    files = write_config(tmp_path, operators=[("o", "p")], viewers=[("v", "q")], port=1884,
                         use_tool=False)
    acl = files["acl"].read_text()
    conf = files["config"].read_text()
    assert "allow_anonymous false" in conf and "listener 1884 0.0.0.0" in conf
    v_block = acl.split("user v\n")[1].split("\n\n")[0]
    assert v_block.strip() == "topic read twin3d/#"
    assert "topic write twin3d/+/cmd" in acl.split("user o\n")[1]
