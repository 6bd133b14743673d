"""F9: no secrets in URLs or output; connection failures say what failed."""

from __future__ import annotations

import ssl

import pytest

from twin3d.io.mqtt_link import MqttLink, Tls, diagnose, redact_url, refusal_text
from twin3d.io.mqtt_source import open_mqtt


@pytest.mark.parametrize("url, shown", [
    ("mqtt://u:secret@host:1883/rig1", "mqtt://u:***@host:1883/rig1"),
    ("mqtts://u:p%40ss@h/r?ca=x", "mqtts://u:***@h/r?ca=x"),
    ("mqtt://u@host/rig1", "mqtt://u@host/rig1"),
    ("mqtt://host:1/rig1", "mqtt://host:1/rig1"),
    ("sim", "sim"),
    ("replay:/tmp/rec?speed=2", "replay:/tmp/rec?speed=2"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_password_in_source_url_refused_and_not_echoed():
    with pytest.raises(ValueError) as e:
        open_mqtt("mqtt://olga:hunter2@127.0.0.1:1/rig1")
    assert "hunter2" not in str(e.value) and "password in the URL" in str(e.value)


def test_user_in_source_url_is_used(monkeypatch):
    monkeypatch.setenv("TWIN3D_MQTT_PASSWORD", "pw-from-env")
    src = open_mqtt("mqtt://olga@127.0.0.1:1/rig1")
    assert src.link.username == "olga" and src.url == "mqtt://olga@127.0.0.1:1/rig1"


def test_diagnose_tells_failures_apart(free_port, broker):
    assert "unknown host" in diagnose("nohost.invalid", 1883, None)
    assert "connection refused" in diagnose("127.0.0.1", free_port(), None)
    ctx = ssl.create_default_context()
    assert "TLS failure" in diagnose("127.0.0.1", broker.port, ctx)  # a plain broker


def test_refusal_text_names_authentication():
    assert "authentication refused" in refusal_text("Bad user name or password", "olga")
    assert "authentication refused" in refusal_text("Not authorized", None)
    assert refusal_text("Server unavailable", "x").startswith("broker refused")


def test_link_last_error_for_refused_and_tls(free_port, broker, wait_for):
    refused = MqttLink("127.0.0.1", free_port(), max_backoff=0.2).start()
    tls = MqttLink("127.0.0.1", broker.port, tls=Tls(), max_backoff=0.2).start()
    try:
        assert wait_for(lambda: refused.counters.connect_failures and
                        tls.counters.connect_failures, timeout=10)
        assert "connection refused" in refused.last_error
        assert "TLS failure" in tls.last_error, tls.last_error
    finally:
        refused.stop()
        tls.stop()
