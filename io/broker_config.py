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
from pathlib import Path

from twin3d.io.mqtt_link import RIG_ID

ITERATIONS = 101  # mosquitto_passwd's own choice for $7$ (PBKDF2-SHA512)
SALT_BYTES = 12
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_BIND = re.compile(r"^[A-Za-z0-9.:_-]{1,253}$")  # an address or host name, nothing else
_RUN_AS = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_PATH = re.compile(r"^[A-Za-z0-9/._+@=,~-]{1,4096}$")  # no spaces, no control characters
DEFAULT_RUN_AS = "mosquitto"  # the user a root-started mosquitto drops to by default


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


def acl_text(operators, viewers, rigs) -> str:
    lines = ["# twin3d ACL: viewers read; an operator writes only its own cmd/heartbeat topics;",
             "# a rig account (named as its rig id) writes only its own rig's topics.",
             "# Anything not granted here is refused (a forbidden publish is dropped)."]
    for user in viewers:
        lines += ["", f"user {user}", "topic read twin3d/#"]
    for user in operators:
        lines += ["", f"user {user}", "topic read twin3d/#",
                  f"topic write twin3d/+/cmd/{user}", f"topic write twin3d/+/heartbeat/{user}"]
    for rig in rigs:
        lines += ["", f"user {rig}", "topic read twin3d/#"]
        lines += [f"topic write twin3d/{rig}/{t}" for t in ("data", "meta", "state", "ack")]
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
        fd = os.open(gen, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("".join(f"{u}:{passwords[u]}\n" for u in generated))
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
