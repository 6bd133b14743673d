"""`broker-config --kind nats`: the NATS accounts come from the same table of rights as the
mosquitto ACL, and bad input is refused before anything is written. (The cluster it configures
is started and its permissions tested for real in tests/cluster.)"""

from __future__ import annotations

import re
import stat

import pytest

from twin3d.io.broker_config import (READY_USER, BrokerConfigError, acl_text, grants,
                                     mqtt_connect_packet, subjects_of, write_nats_config)

ACCOUNTS = dict(operators=["olga"], viewers=["vic"], rigs=["rig1", "rig2"])


def test_topic_filters_map_to_the_subjects_nats_gives_mqtt():
    assert subjects_of("twin3d/rig1/data") == ["twin3d.rig1.data"]
    assert subjects_of("twin3d/+/cmd/olga") == ["twin3d.*.cmd.olga"]
    assert subjects_of("twin3d/#") == ["twin3d.>", "twin3d"]  # `#` matches its parent too


def test_nats_permissions_and_the_mosquitto_acl_say_the_same(tmp_path):
    out = write_nats_config(tmp_path / "c", nodes=3, passwords={"olga": "pw-o"}, **ACCOUNTS)
    text = (tmp_path / "c" / "accounts.conf").read_text()
    acl = acl_text(**ACCOUNTS)
    for g in grants(**ACCOUNTS):
        block = re.search(r'user: "%s".*?\} \} \}' % re.escape(g.user), text, re.S).group(0)
        pub = re.search(r"publish: \{ (allow|deny): \[(.*?)\]", block)
        if g.write:
            assert pub.group(1) == "allow"
            assert set(re.findall(r'"([^"]+)"', pub.group(2))) == \
                {s for t in g.write for s in subjects_of(t)}
        else:  # an empty allow list would allow everything
            assert (pub.group(1), pub.group(2)) == ("deny", '">"')
        for t in g.write:
            assert f"topic write {t}" in acl
    assert 'user: "rig1"' in text and '"twin3d.rig1.data"' in text
    assert '"twin3d.rig2.data"' not in re.search(r'user: "rig1".*?\} \} \}', text, re.S).group(0)
    assert out["mqtt"] == "127.0.0.1:1883,127.0.0.1:1884,127.0.0.1:1885"
    assert out["generated"] == ["vic", "rig1", "rig2"]  # olga's was given


def test_nodes_files_and_modes(tmp_path):
    d = tmp_path / "c"
    write_nats_config(d, nodes=2, port=2000, client_port=3000, route_port=4000,
                      http_port=5000, **ACCOUNTS)
    n2 = (d / "node2.conf").read_text()
    assert "server_name: n2" in n2 and "listen: 127.0.0.1:2001" in n2
    assert "listen: 127.0.0.1:3001" in n2 and "store/n2" in n2
    assert "nats-route://127.0.0.1:4000, nats-route://127.0.0.1:4001" in n2
    for name in ("accounts.conf", "generated-passwords", "start.sh"):  # secrets: owner only
        assert stat.S_IMODE((d / name).stat().st_mode) & 0o077 == 0, name
    start = (d / "start.sh").read_text()
    assert "echo 127.0.0.1:2000,127.0.0.1:2001" in start and "node$k.pid" in start


def test_readiness_connect_packet_is_mqtt_3_1_1():
    p = mqtt_connect_packet("c", "u", "pw")
    assert p[0] == 0x10 and p[1] == len(p) - 2
    assert p[2:10] == b"\x00\x04MQTT\x04\xc2" and p.endswith(b"\x00\x02pw")


@pytest.mark.parametrize("kwargs, words", [
    (dict(nodes=0), "--nodes out of range"),
    (dict(nodes=10), "--nodes out of range"),
    (dict(nodes=3, port=65534), "out of range"),
    (dict(nodes=3, port=4222, client_port=4223), "overlap"),
    (dict(nodes=3, bind="0.0.0.0\nauthorization"), "bind address"),
    (dict(nodes=3, tls=("/nonexistent/ca", "/nonexistent/c", "/nonexistent/k")), "TLS file"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, kwargs, words):
    with pytest.raises(BrokerConfigError, match=words):
        write_nats_config(tmp_path / "c", **ACCOUNTS, **kwargs)
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("accounts, words", [
    (dict(operators=["a.b"]), "cannot be a topic level"),
    (dict(operators=[READY_USER]), "start.sh's own"),
    (dict(operators=["o"], passwords={"o": 'x"y'}), "no \""),
])
def test_accounts_nats_cannot_carry_are_refused(tmp_path, accounts, words):
    with pytest.raises(BrokerConfigError, match=words):
        write_nats_config(tmp_path / "c", nodes=3, **accounts)
    assert not (tmp_path / "c").exists()
