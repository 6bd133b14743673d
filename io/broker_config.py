"""A mosquitto configuration for a lab LAN: who may read, who may command (DESIGN.md section 5).

`write_config(folder, operators=[(user, password)], viewers=[...], rigs=[...], tls=...)` writes

- `mosquitto.conf`: one listener (TLS when certificate files are given), no anonymous clients,
  the password file and the ACL, no per-client queue limit (mosquitto's default of 1000
  silently drops QoS 0 data to a slow subscriber, notes/HEADLESS.md section 5);
- `passwd`: with `mosquitto_passwd -b` when it is installed, else in the format mosquitto 2
  reads, `user:$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512 hash>`;
- `acl`: viewers read `twin3d/#`; operators read it and write `cmd` and `heartbeat` only; a
  rig account writes `data`, `meta`, `state` (its last will too) and `ack` and reads the rest.
  A publish the ACL forbids is dropped by the broker, whatever the client's UI allows.

The files hold secrets: they are written 0640 (mosquitto, when started as root, drops to its
own user, which must be able to read them: `run_as` sets that user).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

ITERATIONS = 101  # mosquitto_passwd's own choice for $7$ (PBKDF2-SHA512)
SALT_BYTES = 12
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class BrokerConfigError(ValueError):
    """Unusable input, one line."""


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """mosquitto 2's `$7$` password hash (the part after `user:`)."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return (f"$7${iterations}${base64.b64encode(salt).decode('ascii')}$"
            f"{base64.b64encode(digest).decode('ascii')}")


def write_passwd(path: Path, users: list[tuple[str, str]], use_tool: bool = True) -> str:
    """Write the password file; returns how (`mosquitto_passwd` or `pbkdf2`)."""
    tool = shutil.which("mosquitto_passwd") if use_tool else None
    path.write_text("")
    os.chmod(path, 0o640)
    if tool:
        for user, password in users:
            r = subprocess.run([tool, "-b", str(path), user, password], capture_output=True,
                               text=True, timeout=30)
            if r.returncode != 0:
                raise BrokerConfigError(f"mosquitto_passwd failed for {user!r}: "
                                        f"{(r.stderr or r.stdout).strip()[:200]}")
        return "mosquitto_passwd"
    path.write_text("".join(f"{u}:{hash_password(p)}\n" for u, p in users))
    return "pbkdf2"


def acl_text(operators, viewers, rigs) -> str:
    lines = ["# twin3d ACL: viewers read, operators also command, rigs publish their data.",
             "# Anything not granted here is refused (a forbidden publish is dropped)."]
    for user in viewers:
        lines += ["", f"user {user}", "topic read twin3d/#"]
    for user in operators:
        lines += ["", f"user {user}", "topic read twin3d/#", "topic write twin3d/+/cmd",
                  "topic write twin3d/+/heartbeat"]
    for user in rigs:
        lines += ["", f"user {user}", "topic read twin3d/#"]
        lines += [f"topic write twin3d/+/{t}" for t in ("data", "meta", "state", "ack")]
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
    return "\n".join(lines) + "\n"


def write_config(folder: str | Path, *, operators: list[tuple[str, str]],
                 viewers: list[tuple[str, str]] = (), rigs: list[tuple[str, str]] = (),
                 port: int | None = None, bind: str = "0.0.0.0",
                 tls: tuple[str, str, str] | None = None, run_as: str | None = None,
                 use_tool: bool = True) -> dict[str, Path]:
    """Write mosquitto.conf, passwd and acl into `folder`; returns their paths (and `hashing`)."""
    folder = Path(folder)
    everyone = list(operators) + list(viewers) + list(rigs)
    names = [u for u, _ in everyone]
    for u, p in everyone:
        if not _NAME.match(u):
            raise BrokerConfigError(f"user name {u!r} not allowed (letters, digits, _ . @ -)")
        if not p or "\n" in p:
            raise BrokerConfigError(f"password of {u!r} must be non-empty, one line")
    dupes = sorted({u for u in names if names.count(u) > 1})
    if dupes:
        raise BrokerConfigError(f"user {dupes[0]!r} given twice (one role per account)")
    if tls:
        for p in tls:
            if not Path(p).is_file():
                raise BrokerConfigError(f"TLS file not found (got {p!r})")
    port = port or (8883 if tls else 1883)
    if not 1 <= port <= 65535:
        raise BrokerConfigError(f"port out of range (got {port}, allowed 1..65535)")
    folder.mkdir(parents=True, exist_ok=True)
    how = write_passwd(folder / "passwd", everyone, use_tool)
    (folder / "acl").write_text(acl_text([u for u, _ in operators], [u for u, _ in viewers],
                                         [u for u, _ in rigs]))
    (folder / "mosquitto.conf").write_text(config_text(folder, port, bind, tls, run_as))
    for name in ("acl", "mosquitto.conf"):
        os.chmod(folder / name, 0o640)
    return {"config": folder / "mosquitto.conf", "passwd": folder / "passwd",
            "acl": folder / "acl", "hashing": how}
