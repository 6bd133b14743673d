"""`broker-config --kind nats` with TLS: a one-node cluster whose MQTT listener takes only TLS
(its start.sh checks readiness through TLS too); a client with the CA connects, a plain one
cannot."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.slow  # openssl makes two RSA keys, then a node starts

from twin3d.io.broker_config import write_nats_config
from twin3d.io.mqtt_link import MqttLink, Tls


def _certs(d) -> tuple[str, str, str]:
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl)."""
    ca, ca_key, cert, key, csr = (str(d / n) for n in ("ca.pem", "ca.key", "srv.pem", "srv.key",
                                                       "srv.csr"))
    ext = d / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    for cmd in (["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
                 "-days", "2", "-subj", "/CN=twin3d test CA"],
                ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
                 "/CN=127.0.0.1"],
                ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                 "-out", cert, "-days", "2", "-extfile", str(ext)]):
        subprocess.run(["openssl", *cmd], check=True, capture_output=True, timeout=60)
    return ca, cert, key


def test_tls_listener_takes_tls_clients_only(tmp_path, free_port):
    if not shutil.which("openssl"):
        pytest.fail("openssl is needed to make the test certificates")
    ca, cert, key = _certs(tmp_path)
    ports = [free_port() for _ in range(4)]
    out = write_nats_config(tmp_path / "c", nodes=1, operators=["op"],
                            passwords={"op": "op-pw"}, port=ports[0], client_port=ports[1],
                            route_port=ports[2], http_port=ports[3], tls=(ca, cert, key))
    started = subprocess.run([str(out["start"])], capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stderr
        assert started.stdout.strip() == f"127.0.0.1:{ports[0]}"
        good = MqttLink("127.0.0.1", ports[0], username="op", password="op-pw",
                        tls=Tls(ca_certs=ca)).start()
        plain = MqttLink("127.0.0.1", ports[0], username="op", password="op-pw").start()
        try:
            assert good.wait_connected(30), good.last_error
            assert not plain.wait_connected(2) and plain.counters.connects == 0
        finally:
            good.stop()
            plain.stop()
    finally:
        subprocess.run([str(out["stop"])], timeout=30)
