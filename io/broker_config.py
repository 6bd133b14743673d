"""A mosquitto configuration for a lab LAN: who may read, who may command (DESIGN.md section 5).

`write_config(folder, operators=[user], viewers=[user], rigs=[rig_id], passwords={user: pw})`
writes

- `mosquitto.conf`: one listener (TLS when certificate files are given), no anonymous clients,
  the password file and the ACL, no per-client queue limit (mosquitto's default of 1000
  silently drops QoS 0 data to a slow subscriber, notes/HEADLESS.md section 5);
- `passwd`: in the format mosquitto 2 reads, `user:$7$<iterations>$<base64 salt>$<base64
  PBKDF2-HMAC-SHA512 hash>`, hashed here (with `use_tool`, `mosquitto_passwd -U` hashes a
  plain file in place instead); a password never goes on any command line;
- `acl`: identity comes from the broker, never from a payload. Viewers read `twin3d/#`.
  Operator USER reads it and writes only `twin3d/+/cmd/USER` and `twin3d/+/heartbeat/USER`
  (the rig takes the operator's name from the topic, so one operator cannot command or keep
  a lease alive as another). A rig account is named as its rig id and writes only
  `twin3d/<rig_id>/{data,meta,state,ack}`: so acks and state on a rig's topics can only come
  from that rig. The grants are written per account (`user` blocks), not as `pattern` lines,
  because a mosquitto pattern applies to every account, viewers included.
  A publish the ACL forbids is dropped by the broker, whatever the client's UI allows.
- `generated-passwords` (0600, only when some account had no password given): the passwords
  generated for those accounts, for the admin to hand out.

Who can read the files: mosquitto started as root reads its config as root, then drops to
its `user` (`run_as`, default `mosquitto`) before it opens the password file and ACL. So the
config and the ACL (no secrets) are 0644, the password file (hashes only) 0640 and owned by
that user when this runs as root; when not root, 0600 for a broker started by the same user.
Every field is checked against a safe set: a newline in a bind address or a user name would
otherwise write a line of its own (`allow_anonymous true`) into the configuration.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from twin3d.io.mqtt_link import RIG_ID, ROOT, topic

ITERATIONS = 101  # mosquitto_passwd's own choice for $7$ (PBKDF2-SHA512)
SALT_BYTES = 12
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_BIND = re.compile(r"^[A-Za-z0-9.:_-]{1,253}$")  # an address or host name, nothing else
_RUN_AS = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_PATH = re.compile(r"^[A-Za-z0-9/._+@=,~-]{1,4096}$")  # no spaces, no control characters
DEFAULT_RUN_AS = "mosquitto"  # the user a root-started mosquitto drops to by default
# the topics only the rig itself publishes (truth: a simulated rig's ground truth)
RIG_WRITES = ("data", "meta", "state", "ack", "truth")


class BrokerConfigError(ValueError):
    """Unusable input, one line."""


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """mosquitto 2's `$7$` password hash (the part after `user:`)."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return (f"$7${iterations}${base64.b64encode(salt).decode('ascii')}$"
            f"{base64.b64encode(digest).decode('ascii')}")


def _safe(value: str, pattern: re.Pattern, what: str, allowed: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise BrokerConfigError(f"{what} {value!r} not allowed ({allowed})")
    return value


def write_passwd(path: Path, users: list[tuple[str, str]], use_tool: bool = False) -> str:
    """Write the password file; returns how (`mosquitto_passwd` or `pbkdf2`). Passwords never
    go on a command line: the tool (`mosquitto_passwd -U`) hashes a plain file in place."""
    tool = shutil.which("mosquitto_passwd") if use_tool else None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        if tool:
            f.write("".join(f"{u}:{p}\n" for u, p in users))
        else:
            f.write("".join(f"{u}:{hash_password(p)}\n" for u, p in users))
    if tool:
        r = subprocess.run([tool, "-U", str(path)], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            path.write_text("")  # never leave the plain passwords behind
            raise BrokerConfigError(f"mosquitto_passwd -U failed: "
                                    f"{(r.stderr or r.stdout).strip()[:200]}")
        return "mosquitto_passwd"
    return "pbkdf2"


@dataclass(frozen=True)
class Grant:
    """What one account may do, as MQTT topic filters: the one description of who may do
    what, from which both the mosquitto ACL and the NATS permissions are written."""

    user: str
    role: str  # viewer, operator or rig
    read: tuple[str, ...]
    write: tuple[str, ...]


def grants(operators, viewers, rigs) -> list[Grant]:
    """Viewers read; operator USER also writes `twin3d/+/cmd/USER` and `twin3d/+/heartbeat/USER`;
    a rig account (named as its rig id) also writes its own data, meta, state and ack."""
    everything = (f"{ROOT}/#",)
    out = [Grant(u, "viewer", everything, ()) for u in viewers]
    out += [Grant(u, "operator", everything, (topic("+", "cmd") + f"/{u}",
                                              topic("+", "heartbeat") + f"/{u}"))
            for u in operators]
    out += [Grant(r, "rig", everything, tuple(topic(r, t) for t in RIG_WRITES)) for r in rigs]
    return out


def acl_text(operators, viewers, rigs) -> str:
    lines = ["# twin3d ACL: viewers read; an operator writes only its own cmd/heartbeat topics;",
             "# a rig account (named as its rig id) writes only its own rig's topics.",
             "# Anything not granted here is refused (a forbidden publish is dropped)."]
    for g in grants(operators, viewers, rigs):
        lines += ["", f"user {g.user}", *(f"topic read {t}" for t in g.read),
                  *(f"topic write {t}" for t in g.write)]
    return "\n".join(lines) + "\n"


def config_text(folder: Path, port: int, bind: str, tls: tuple[str, str, str] | None,
                run_as: str | None) -> str:
    lines = ["# twin3d mosquitto configuration (written by `twin3d broker-config`)",
             "per_listener_settings false",
             f"listener {port} {bind}"]
    if tls:
        ca, cert, key = (str(Path(p).resolve()) for p in tls)
        lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}", "tls_version tlsv1.2"]
    lines += ["allow_anonymous false",
              f"password_file {(folder / 'passwd').resolve()}",
              f"acl_file {(folder / 'acl').resolve()}",
              "persistence false",
              "max_queued_messages 0",
              "set_tcp_nodelay true",
              "log_dest stderr"]
    if run_as:
        lines.append(f"user {run_as}")
    text = "\n".join(lines) + "\n"
    assert all(ch == "\n" or 32 <= ord(ch) < 127 for ch in text)  # checked above; never else
    return text


def _owner(run_as: str | None) -> tuple[int, int] | None:
    """uid, gid the broker will read the password file as, when we are root and can chown."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(run_as or DEFAULT_RUN_AS)
    except KeyError:
        if run_as:
            raise BrokerConfigError(f"--run-as user {run_as!r} does not exist on this machine")
        return None
    return pw.pw_uid, pw.pw_gid


def _check_accounts(operators: list[str], viewers: list[str], rigs: list[str],
                    passwords: dict[str, str]) -> list[str]:
    """Every account name and given password checked; returns all account names."""
    for u in operators + viewers:
        _safe(u, _NAME, "user name", "1..64 of letters, digits, _ . @ -")
    for r in rigs:
        _safe(r, RIG_ID, "rig account (the rig id)", "1..64 of letters, digits, _ . -")
    names = operators + viewers + rigs
    dupes = sorted({u for u in names if names.count(u) > 1})
    if dupes:
        raise BrokerConfigError(f"user {dupes[0]!r} given twice (one role per account)")
    unknown = sorted(set(passwords) - set(names))
    if unknown:
        raise BrokerConfigError(f"password given for {unknown[0]!r}, which is no account here")
    for u, p in passwords.items():
        if not p or any(ord(ch) < 32 or ord(ch) == 127 for ch in p):
            raise BrokerConfigError(f"password of {u!r} must be non-empty, without control "
                                    "characters")
    return names


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def write_config(folder: str | Path, *, operators: list[str], viewers: list[str] = (),
                 rigs: list[str] = (), passwords: dict[str, str] | None = None,
                 port: int | None = None, bind: str = "0.0.0.0",
                 tls: tuple[str, str, str] | None = None, run_as: str | None = None,
                 use_tool: bool = False) -> dict:
    """Write mosquitto.conf, passwd and acl into `folder`; returns their paths, `hashing`, and
    `generated` (accounts given a generated password, in `generated_file`)."""
    folder = Path(folder)
    passwords = dict(passwords or {})
    operators, viewers, rigs = list(operators), list(viewers), list(rigs)
    names = _check_accounts(operators, viewers, rigs, passwords)
    _safe(bind, _BIND, "bind address", "an IP address or host name: letters, digits, . : _ -")
    if run_as is not None:
        _safe(run_as, _RUN_AS, "run-as user", "a system user name: a-z 0-9 _ -")
    _safe(str(folder.resolve()), _PATH, "output folder", "letters, digits, / . _ + @ = , ~ -; "
          "no spaces or control characters")
    if tls:
        for p in tls:
            _safe(str(Path(p).resolve()), _PATH, "TLS file", "letters, digits, / . _ + @ = , ~ -; "
                  "no spaces or control characters")
            if not Path(p).is_file():
                raise BrokerConfigError(f"TLS file not found (got {p!r})")
    port = port or (8883 if tls else 1883)
    if not 1 <= port <= 65535:
        raise BrokerConfigError(f"port out of range (got {port}, allowed 1..65535)")
    owner = _owner(run_as)
    generated = [u for u in names if u not in passwords]
    for u in generated:
        passwords[u] = secrets.token_urlsafe(18)
    folder.mkdir(parents=True, exist_ok=True)
    if owner is not None:  # the broker's user must get into the folder (parents: the admin's)
        os.chmod(folder, folder.stat().st_mode | 0o011)
    out = {"config": folder / "mosquitto.conf", "passwd": folder / "passwd",
           "acl": folder / "acl"}
    if generated:
        gen = folder / "generated-passwords"
        _write_secret(gen, "".join(f"{u}:{passwords[u]}\n" for u in generated))
        out["generated_file"] = gen
    out["hashing"] = write_passwd(out["passwd"], [(u, passwords[u]) for u in names], use_tool)
    out["acl"].write_text(acl_text(operators, viewers, rigs))
    out["config"].write_text(config_text(folder, port, bind, tls, run_as))
    for name in ("acl", "config"):
        os.chmod(out[name], 0o644)  # no secrets; the broker's own user must read them
    if owner is not None:  # root: the broker drops to `owner` before it opens the passwd file
        os.chown(out["passwd"], owner[0], owner[1])
        os.chmod(out["passwd"], 0o640)
    out["generated"] = generated
    return out


# --- NATS server 2.9: an MQTT cluster with JetStream (ENGINES.md) ------------------------------
#
# NATS serves MQTT 3.1.1 and keeps sessions and retained messages in JetStream, replicated across
# the cluster. `write_nats_config` writes, for N nodes on one host (loopback by default):
#
# - `nodeK.conf`: server_name nK, a client port, an MQTT listener (TLS when asked), JetStream with
#   its own store folder, and cluster routes to every node; each includes `accounts.conf`;
# - `accounts.conf` (0600: NATS 2.9 reads plain or bcrypt passwords, and there is no bcrypt here):
#   one account TWIN3D with JetStream, one user per account of `grants`, with the same rights as
#   the mosquitto ACL, as NATS subjects (MQTT `a/b` is subject `a.b`, `+` is `*`, `#` is `>`);
# - `start.sh`: starts the N nodes (pids in nodeK.pid, logs in nodeK.log), waits until every
#   MQTT port answers and prints `host:port,host:port,...`; `stop.sh` stops them.
#
# What an MQTT client needs beyond its topics (measured on nats-server 2.9.10): subscribe on
# `$MQTT.sub.>` (QoS 1 deliveries come through a JetStream consumer whose delivery subject is
# there); sessions and retained messages are kept by the server's own account-internal client.
# A `twin3d/#` filter needs both `twin3d.>` and `twin3d`; a user with no publish rights needs an
# explicit deny (an empty allow list allows all).

NATS_ACCOUNT = "TWIN3D"
# start.sh connects as this user to each node until the node accepts an MQTT client. That also
# warms the node: a node sets up the account's MQTT state (a replicated consumer of the retained
# messages) at its first MQTT client, which in 2.9 takes seconds and times out (4 s, retried)
# while JetStream elects leaders; measured: a failover onto a node no client had used took 10 s,
# onto a warmed one 0.4 s.
READY_USER = "twin3d-ready"
MQTT_EXTRA_SUBSCRIBE = ("$MQTT.sub.>",)
MAX_NODES = 9


def subjects_of(topic_filter: str) -> list[str]:
    """An MQTT topic filter as the NATS subjects it maps to (`/` -> `.`, `+` -> `*`, `#` ->
    `>`). MQTT's `a/#` also matches `a` itself, so NATS subscribes to both `a.>` and `a`, and
    a permission must allow both (measured: without `a` the whole SUBSCRIBE fails)."""
    levels = [{"+": "*", "#": ">"}.get(level, level) for level in topic_filter.split("/")]
    out = [".".join(levels)]
    if levels[-1] == ">" and len(levels) > 1:
        out.append(".".join(levels[:-1]))
    return out


def _q(text: str) -> str:
    return '"' + text + '"'  # every field was checked against a safe set: no quote, no newline


def nats_accounts_text(operators, viewers, rigs, passwords: dict[str, str],
                       ready_password: str) -> str:
    lines = ["# twin3d accounts (written by `twin3d broker-config --kind nats`): the same rights",
             "# as the mosquitto ACL; anything not allowed is refused.",
             "accounts {", f"  {NATS_ACCOUNT} {{", "    jetstream: enabled", "    users: [",
             "      # start.sh's readiness check: may connect, nothing else",
             f"      {{ user: {_q(READY_USER)}, password: {_q(ready_password)},",
             '        permissions: { publish: { deny: [">"] }, subscribe: { deny: [">"] } } }']
    for g in grants(operators, viewers, rigs):
        pub = [s for t in g.write for s in subjects_of(t)]
        sub = [s for t in g.read for s in subjects_of(t)] + list(MQTT_EXTRA_SUBSCRIBE)
        # an empty allow list allows everything in NATS (measured): a reader gets deny ">"
        publish = f"allow: [{', '.join(map(_q, pub))}]" if pub else 'deny: [">"]'
        lines += [f"      # {g.role}",
                  f"      {{ user: {_q(g.user)}, password: {_q(passwords[g.user])},",
                  f"        permissions: {{ publish: {{ {publish} }},",
                  f"                       subscribe: {{ allow: [{', '.join(map(_q, sub))}] }}"
                  " } }"]
    lines += ["    ]", "  }", "}"]
    return "\n".join(lines) + "\n"


def nats_node_text(k: int, folder: Path, bind: str, mqtt_ports: list[int],
                   client_ports: list[int], route_ports: list[int], http_ports: list[int],
                   tls: tuple[str, str, str] | None) -> str:
    routes = ", ".join(f"nats-route://{bind}:{p}" for p in route_ports)
    lines = ["# twin3d NATS node (written by `twin3d broker-config --kind nats`)",
             f"server_name: n{k}",
             f"listen: {bind}:{client_ports[k - 1]}",
             f"http: {bind}:{http_ports[k - 1]}  # monitoring: /healthz, /connz, /jsz",
             f"jetstream {{ store_dir: {_q(str((folder / 'store' / f'n{k}').resolve()))} }}"]
    if len(mqtt_ports) > 1:  # one node is no cluster (JetStream would wait for peers)
        lines += [f"cluster {{ name: twin3d, listen: {bind}:{route_ports[k - 1]},",
                  f"          routes: [{routes}] }}"]
    lines += ["mqtt {", f"  listen: {bind}:{mqtt_ports[k - 1]}"]
    if tls:
        ca, cert, key = (str(Path(p).resolve()) for p in tls)
        lines += [f"  tls {{ cert_file: {_q(cert)}, key_file: {_q(key)}, ca_file: {_q(ca)} }}"]
    lines += ["}", f"include {_q('accounts.conf')}"]
    return "\n".join(lines) + "\n"


def mqtt_connect_packet(client_id: str, user: str, password: str) -> bytes:
    """An MQTT 3.1.1 CONNECT (clean session, keepalive 10 s) for start.sh's readiness check."""
    def s(text: str) -> bytes:
        b = text.encode("ascii")
        return len(b).to_bytes(2, "big") + b
    body = s("MQTT") + bytes([4, 0xC2, 0, 10]) + s(client_id) + s(user) + s(password)
    assert len(body) < 128  # one byte of remaining length
    return bytes([0x10, len(body)]) + body


def start_script(folder: Path, n: int, host: str, mqtt_ports: list[int],
                 ready_password: str, tls_ca: str | None = None) -> str:
    d = str(folder.resolve())
    listing = ",".join(f"{host}:{p}" for p in mqtt_ports)
    connect = "".join(f"\\x{b:02x}" for b in mqtt_connect_packet("twin3d-ready", READY_USER,
                                                                  ready_password))
    if tls_ca:  # the MQTT listener speaks TLS: openssl carries the CONNECT
        ready = f"""ready() {{
  local ack
  ack=$(printf '{connect}' | timeout 6 openssl s_client -quiet -connect "{host}:$1" \\
        -CAfile {_q(tls_ca)} 2>/dev/null | head -c 4 | od -An -tx1 | tr -d ' \\n')
  [ "$ack" = "20020000" ]
}}"""
    else:
        ready = f"""ready() {{
  exec 3<>"/dev/tcp/{host}/$1" || return 1
  printf '{connect}' >&3
  local ack
  ack=$(timeout 6 head -c 4 <&3 | od -An -tx1 | tr -d ' \n')
  exec 3>&-
  [ "$ack" = "20020000" ]
}}"""
    return f"""#!/bin/bash
# Start the {n} twin3d NATS nodes in {d}; prints their MQTT host:port list on one line
# (for --mqtt / --source). NATS_SERVER overrides the server binary.
set -u
D={_q(d)}
BIN="${{NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}}"
command -v "$BIN" >/dev/null || {{ echo "start.sh: $BIN not found (apt install nats-server)" >&2; exit 1; }}
for k in $(seq 1 {n}); do
  if [ -f "$D/node$k.pid" ] && kill -0 "$(cat "$D/node$k.pid")" 2>/dev/null; then
    echo "start.sh: node $k already runs (pid $(cat "$D/node$k.pid"))" >&2; exit 1
  fi
  mkdir -p "$D/store/n$k"
  "$BIN" -c "$D/node$k.conf" >"$D/node$k.log" 2>&1 &
  echo $! >"$D/node$k.pid"
done
# ready when a node accepts an MQTT client (CONNACK 20 02 00 00): JetStream is up and the
# node's MQTT state for the account is made (a later failover onto it is then quick)
{ready}
for p in {' '.join(map(str, mqtt_ports))}; do
  ok=0
  for i in $(seq 1 60); do
    if ready "$p" 2>/dev/null; then ok=1; break; fi
    sleep 0.5
  done
  [ $ok = 1 ] || {{ echo "start.sh: {host}:$p serves no MQTT after 60 tries (see $D/node*.log)" >&2; exit 1; }}
done
echo {listing}
"""


def stop_script(folder: Path, n: int) -> str:
    d = str(folder.resolve())
    return f"""#!/bin/bash
# Stop the twin3d NATS nodes started by start.sh in {d}.
D={_q(d)}
for k in $(seq 1 {n}); do
  [ -f "$D/node$k.pid" ] && kill "$(cat "$D/node$k.pid")" 2>/dev/null
  rm -f "$D/node$k.pid"
done
exit 0
"""


def write_nats_config(folder: str | Path, *, nodes: int, operators: list[str],
                      viewers: list[str] = (), rigs: list[str] = (),
                      passwords: dict[str, str] | None = None, port: int | None = None,
                      client_port: int = 4222, route_port: int = 6222,
                      http_port: int = 8222, bind: str = "127.0.0.1",
                      tls: tuple[str, str, str] | None = None) -> dict:
    """Write a NATS cluster of `nodes` nodes (see above) into `folder`; returns the paths,
    `mqtt` (the host:port list start.sh prints) and `generated` as `write_config` does.
    Node K listens on port+K-1 (MQTT), client_port+K-1, route_port+K-1 and http_port+K-1
    (monitoring)."""
    folder = Path(folder)
    passwords = dict(passwords or {})
    operators, viewers, rigs = list(operators), list(viewers), list(rigs)
    names = _check_accounts(operators, viewers, rigs, passwords)
    if READY_USER in names:
        raise BrokerConfigError(f"account name {READY_USER!r} is start.sh's own; choose another")
    for u in names:  # NATS 2.9 refuses MQTT topics with a `.` (it separates subject tokens)
        if "." in u:
            raise BrokerConfigError(f"account {u!r}: NATS maps MQTT topic levels to subject "
                                    "tokens, so a name with '.' cannot be a topic level there")
    for u, p in passwords.items():
        if '"' in p or "\\" in p:
            raise BrokerConfigError(f"password of {u!r}: no \" or \\ in a NATS configuration")
    if not isinstance(nodes, int) or not 1 <= nodes <= MAX_NODES:
        raise BrokerConfigError(f"--nodes out of range (got {nodes}, allowed 1..{MAX_NODES})")
    _safe(bind, _BIND, "bind address", "an IP address or host name: letters, digits, . : _ -")
    _safe(str(folder.resolve()), _PATH, "output folder", "letters, digits, / . _ + @ = , ~ -; "
          "no spaces or control characters")
    if tls:
        for p in tls:
            _safe(str(Path(p).resolve()), _PATH, "TLS file", "letters, digits, / . _ + @ = , ~ -;"
                  " no spaces or control characters")
            if not Path(p).is_file():
                raise BrokerConfigError(f"TLS file not found (got {p!r})")
    port = port or (8883 if tls else 1883)
    ports = {"MQTT": [port + k for k in range(nodes)],
             "client": [client_port + k for k in range(nodes)],
             "route": [route_port + k for k in range(nodes)],
             "monitoring": [http_port + k for k in range(nodes)]}
    for what, ps in ports.items():
        if not (1 <= ps[0] and ps[-1] <= 65535):
            raise BrokerConfigError(f"{what} ports {ps[0]}..{ps[-1]} out of range (1..65535)")
    every = sum(ports.values(), [])
    if len(set(every)) != len(every):
        raise BrokerConfigError("the MQTT, client, route and monitoring port ranges overlap; "
                                "give ports at least --nodes apart")
    generated = [u for u in names if u not in passwords]
    for u in generated:
        passwords[u] = secrets.token_urlsafe(18)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict = {}
    if generated:
        out["generated_file"] = folder / "generated-passwords"
        _write_secret(out["generated_file"], "".join(f"{u}:{passwords[u]}\n" for u in generated))
    out["accounts"] = folder / "accounts.conf"
    ready_password = secrets.token_urlsafe(18)
    _write_secret(out["accounts"], nats_accounts_text(operators, viewers, rigs, passwords,
                                                      ready_password))
    shown = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind
    out["nodes"] = []
    for k in range(1, nodes + 1):
        conf = folder / f"node{k}.conf"
        conf.write_text(nats_node_text(k, folder, bind, ports["MQTT"], ports["client"],
                                       ports["route"], ports["monitoring"], tls))
        os.chmod(conf, 0o644)
        out["nodes"].append(str(conf))
    tls_ca = str(Path(tls[0]).resolve()) if tls else None
    for name, text in (("start", start_script(folder, nodes, shown, ports["MQTT"],
                                              ready_password, tls_ca)),
                       ("stop", stop_script(folder, nodes))):
        out[name] = folder / f"{name}.sh"
        _write_secret(out[name], text)  # start.sh holds the readiness user's password
        os.chmod(out[name], 0o700)
    out["mqtt"] = ",".join(f"{shown}:{p}" for p in ports["MQTT"])
    out["monitoring"] = [f"http://{shown}:{p}" for p in ports["monitoring"]]
    out["generated"] = generated
    return out
