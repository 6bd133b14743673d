"""`twin3d broker-config` output run by a real mosquitto: passwords, ACL, no anonymous clients."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from twin3d.io.broker_config import BrokerConfigError, hash_password, write_config
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


@pytest.fixture
def broker_dir():
    """A folder the broker's own user can get into: mosquitto started as root drops to user
    `mosquitto` before it opens the password file and ACL (pytest's tmp_path is 0700)."""
    d = Path(tempfile.mkdtemp(prefix="twin3d-broker-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d / "broker"
    shutil.rmtree(d, ignore_errors=True)


def _arrived(listener, wait_until, marker: bytes) -> list[bytes]:
    got = []
    assert wait_until(lambda: got.extend(listener.drain()) or
                      any(m.payload == marker for m in got), timeout=10)
    return [m.payload for m in got]


@pytest.mark.parametrize("use_tool", [False, True])
def test_root_started_broker_enforces_per_user_acl(broker_dir, mosquitto, wait_until, use_tool,
                                                   loopback_port):
    """The generated files, no --run-as: a root-started mosquitto (dropping to `mosquitto`)
    must read them; each account writes only its own topics."""
    if use_tool and shutil.which("mosquitto_passwd") is None:
        use_tool = False  # the pure-Python hash path is then the one under test twice
    port = loopback_port
    files = write_config(broker_dir, operators=["olga", "otto"], viewers=["vic"], rigs=["rig1"],
                         passwords={"olga": "op-pass", "otto": "op2-pass", "vic": "view-pass"},
                         port=port, bind="127.0.0.1", use_tool=use_tool)
    assert files["hashing"] == ("mosquitto_passwd" if use_tool else "pbkdf2")
    assert "op-pass" not in files["passwd"].read_text()
    assert files["generated"] == ["rig1"]  # no password given: generated, 0600, for the admin
    assert files["generated_file"].stat().st_mode & 0o777 == 0o600
    rig_pw = files["generated_file"].read_text().strip().split(":", 1)[1]
    mosquitto(files["config"], port)

    anon = MqttLink("127.0.0.1", port, max_backoff=0.2).start()
    wrong = MqttLink("127.0.0.1", port, username="vic", password="nope", max_backoff=0.2).start()
    try:
        assert wait_until(lambda: anon.counters.connect_failures > 0 and
                          wrong.counters.connect_failures > 0, timeout=10)
        assert not anon.connected and not wrong.connected
        assert anon.counters.connects == 0 and wrong.counters.connects == 0
        assert "authentication refused" in wrong.last_error, wrong.last_error
        assert "authentication refused" in anon.last_error, anon.last_error
    finally:
        anon.stop()
        wrong.stop()

    listener = MqttLink("127.0.0.1", port, username="vic", password="view-pass",
                        subscriptions=("twin3d/#",)).start()
    operator = _client(port, "olga", "op-pass")
    rig = _client(port, "rig1", rig_pw)
    try:
        assert listener.wait_connected(10)
        _denied(port, "vic", "view-pass", "twin3d/rig1/cmd/vic", b"from-viewer", wait_until)
        _denied(port, "vic", "view-pass", "twin3d/rig1/cmd/olga", b"viewer-as-olga", wait_until)
        _denied(port, "vic", "view-pass", "twin3d/rig1/data", b"viewer-data", wait_until)
        _denied(port, "olga", "op-pass", "twin3d/rig1/state", b"operator-state", wait_until)
        _denied(port, "olga", "op-pass", "twin3d/rig1/ack", b"operator-ack", wait_until)
        _denied(port, "otto", "op2-pass", "twin3d/rig1/cmd/olga", b"otto-as-olga", wait_until)
        _denied(port, "otto", "op2-pass", "twin3d/rig1/heartbeat/olga", b"otto-hb-as-olga",
                wait_until)
        _denied(port, "otto", "op2-pass", "twin3d/rig1/cmd", b"otto-plain-cmd", wait_until)
        _denied(port, "rig1", rig_pw, "twin3d/rig2/state", b"rig1-as-rig2", wait_until)
        _denied(port, "rig1", rig_pw, "twin3d/rig1/cmd/olga", b"rig-cmd", wait_until)
        operator.publish("twin3d/rig1/cmd/olga", b"from-operator", qos=1).wait_for_publish(10)
        rig.publish("twin3d/rig1/state", b"rig-state", qos=1).wait_for_publish(10)
        operator.publish("twin3d/rig1/heartbeat/olga", b"hb", qos=1).wait_for_publish(10)
        payloads = _arrived(listener, wait_until, b"hb")
        assert b"from-operator" in payloads and b"rig-state" in payloads
        for forbidden in (b"from-viewer", b"viewer-as-olga", b"viewer-data", b"operator-state",
                          b"operator-ack", b"otto-as-olga", b"otto-hb-as-olga",
                          b"otto-plain-cmd", b"rig1-as-rig2", b"rig-cmd"):
            assert forbidden not in payloads, forbidden
    finally:
        for c in (operator, rig):
            c.disconnect()
            c.loop_stop()
        listener.stop()


def test_acl_text_grants(tmp_path):
    files = write_config(tmp_path, operators=["o"], viewers=["v"], rigs=["r7"],
                         passwords={"o": "p", "v": "q", "r7": "s"}, port=1884)
    acl = files["acl"].read_text()
    conf = files["config"].read_text()
    assert "allow_anonymous false" in conf and "listener 1884 0.0.0.0" in conf
    v_block = acl.split("user v\n")[1].split("\n\n")[0]
    assert v_block.strip() == "topic read twin3d/#"
    o_block = acl.split("user o\n")[1].split("\n\n")[0]
    assert "topic write twin3d/+/cmd/o" in o_block and "topic write twin3d/+/heartbeat/o" in o_block
    assert "topic write twin3d/+/cmd\n" not in acl + "\n"
    assert "topic write twin3d/r7/state" in acl and "twin3d/+/state" not in acl
    assert "pattern" not in acl  # a pattern would apply to viewers too
    assert files["config"].stat().st_mode & 0o777 == 0o644
    assert files["acl"].stat().st_mode & 0o777 == 0o644
    assert files["generated"] == []


@pytest.mark.parametrize("field, value", [
    ("bind", "0.0.0.0\nallow_anonymous true"),
    ("bind", "0.0.0.0 extra"),
    ("run_as", "mosquitto\nallow_anonymous true"),
    ("operators", ["olga\nallow_anonymous true"]),
    ("viewers", ["v\r"]),
    ("rigs", ["rig/1"]),
    ("rigs", ["rig+"]),
    ("passwords", {"olga": "pw\nuser root"}),
])
def test_control_characters_and_unsafe_fields_refused(tmp_path, field, value):
    kw = {"operators": ["olga"], "port": 1883, "bind": "127.0.0.1"}
    kw[field] = value
    with pytest.raises(BrokerConfigError):
        write_config(tmp_path / "b", **kw)
    assert not (tmp_path / "b" / "mosquitto.conf").exists()


def test_unsafe_output_folder_refused(tmp_path):
    with pytest.raises(BrokerConfigError):
        write_config(tmp_path / "a\nb", operators=["olga"])


def test_no_password_on_any_command_line(tmp_path, monkeypatch):
    seen = []
    real = subprocess.run

    def spy(argv, *a, **kw):
        seen.append(list(argv))
        return real(argv, *a, **kw)

    monkeypatch.setattr(subprocess, "run", spy)
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd not installed")
    files = write_config(tmp_path, operators=["olga"], passwords={"olga": "s3cret-pw"},
                         use_tool=True)
    assert seen and all("s3cret-pw" not in " ".join(argv) for argv in seen)
    assert "s3cret-pw" not in files["passwd"].read_text()
    assert files["passwd"].read_text().startswith("olga:$")


def test_cli_refuses_password_in_argv_and_newline_bind(tmp_path, run_twin3d):
    rc, _, err = run_twin3d("broker-config", "--out", str(tmp_path / "b"), "--operator",
                            "olga:pw")
    assert rc == 2 and "--passwords" in err and "pw" not in err.replace("--passwords", "")
    rc, _, err = run_twin3d("broker-config", "--out", str(tmp_path / "b"), "--operator", "olga",
                            "--bind", "0.0.0.0\nallow_anonymous true")
    assert rc == 2 and "bind" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b" / "mosquitto.conf").exists()
    pwfile = tmp_path / "pw"
    pwfile.write_text("olga:op-pass\n# comment\nvic:v-pass\n")
    rc, out, err = run_twin3d("broker-config", "--out", str(tmp_path / "c"), "--operator", "olga",
                              "--viewer", "vic", "--rig", "rig1", "--passwords", str(pwfile),
                              "--json")
    assert rc == 0, err
    assert out["generated"] == ["rig1"]
