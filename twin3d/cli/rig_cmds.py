"""`twin3d rig`, `twin3d cmd` and `twin3d broker-config`: the simulated rig, the command path
(twin-side dry run, acks or a visible timeout) and a LAN broker's configuration.

Exit status of `cmd`: 0 accepted or done, 3 rejected (by the twin's dry run or by the rig),
4 timed out (no final ack within --timeout), 2 bad input.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from twin3d.cli.common import (UsageError, emit, hostports, mqtt_client_args, mqtt_options,
                               new_folder, number, topic_level)

EXIT_REJECTED, EXIT_TIMEOUT = 3, 4


# ---- twin3d rig ---------------------------------------------------------------------------

def cmd_rig(args) -> int:
    from twin3d.protocol.audit import AuditLog
    from twin3d.physics import warmup
    from twin3d.rig.core import RigCore
    from twin3d.rig.loop import run_rig
    from twin3d.rig.transports import MqttTransport, PtyTransport
    from twin3d.scenefile.records import load_scene

    if (args.mqtt is None) == (args.serial is None):
        raise UsageError("twin3d rig: give exactly one of --mqtt HOST:PORT or --serial PATH")
    scene = load_scene(args.scene)
    from twin3d.rig.truth import parse_damage

    try:
        damage = [parse_damage(d, scene.n_storeys) for d in args.damage]
    except ValueError as e:
        raise UsageError(f"twin3d rig: --damage: {e}") from None
    warmup()
    audit = AuditLog("rig", rig_id=args.rig_id)
    try:
        core = RigCore(scene, truth=args.truth, seed=args.seed, ambient_rms=args.ambient,
                       rig_id=args.rig_id, audit=audit)
    except ValueError as e:
        raise UsageError(f"twin3d rig: --truth: {e}") from None
    core.sim.set_damage(damage)
    if args.mqtt is not None:
        nodes = hostports(args.mqtt, "--mqtt")  # one broker, or the nodes of a cluster
        listed = ",".join(f"{h}:{p}" for h, p in nodes)
        client = mqtt_client_args(args)
        transport = MqttTransport.connect(nodes, nodes[0][1], args.rig_id, client["username"],
                                          client["password"], client["tls"])
        where = f"mqtt://{listed} topics twin3d/{args.rig_id}/"
        if not transport.wait_ready(args.connect_timeout):
            err = transport.link.last_error or transport.data_link.last_error or "no answer"
            transport.link.stop()
            transport.data_link.stop()
            raise UsageError(f"twin3d rig: --mqtt: cannot connect to {listed} ({err})")
    else:
        _check_serial_link_path(args.serial)
        try:
            transport = PtyTransport(args.serial)
        except OSError as e:
            raise UsageError(f"twin3d rig: --serial: cannot create the link {args.serial!r} "
                             f"({e.strerror or e})") from None
        where = f"serial {args.serial} -> {os.ttyname(transport.slave)}"
    print(f"twin3d rig: {args.rig_id} on {where}; truth {core.truth} (modes "
          + ", ".join(f"{f:.3f}" for f in core.truth_hz) + " Hz)", file=sys.stderr, flush=True)
    log = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    summary = run_rig(core, transport, args.seconds, log=log)
    audit.close()
    if args.json:
        emit(summary)
    return 0


def _check_serial_link_path(path: str) -> None:
    """The rig makes PATH a symlink to its pty: it may replace an old link to a pty, never a
    file, a folder or a link to anything else (a user's file is not ours to delete)."""
    if not os.path.lexists(path):
        return
    if not os.path.islink(path):
        raise UsageError(f"twin3d rig: --serial: {path!r} exists and is not a link to a pty; "
                         "not replacing it (choose another path)")
    target = os.readlink(path)
    if not target.startswith("/dev/pts/"):
        raise UsageError(f"twin3d rig: --serial: {path!r} links to {target!r}, not to a pty; "
                         "not replacing it")


# ---- twin3d cmd ---------------------------------------------------------------------------

def _parse_target(text: str) -> tuple[str, str]:
    if text.startswith("mqtt://"):
        return "mqtt", text[len("mqtt://"):].rstrip("/")
    if text.startswith("mqtts://"):
        raise UsageError("twin3d cmd: --target mqtts:// is not a scheme here; use "
                         "mqtt://HOST:PORT with --tls-ca FILE")
    if text.startswith("serial://"):
        return "serial", text[len("serial://"):]
    raise UsageError(f"twin3d cmd: --target must be mqtt://HOST:PORT or serial://PATH "
                     f"(got {text!r})")


def cmd_cmd(args) -> int:
    from twin3d.live.command_channel import CommandChannel, run_command
    from twin3d.protocol.audit import AuditLog
    from twin3d.protocol.commands import CommandError, make_command, parse_cli_args
    from twin3d.scenefile.records import load_scene

    kind, where = _parse_target(args.target)
    if kind == "mqtt" and "@" in where:
        url_user, colon, _ = where.rpartition("@")[0].partition(":")
        if colon:
            raise UsageError("twin3d cmd: --target: a password in the URL is refused (it would "
                             "show in the process list); use mqtt://USER@HOST:PORT with "
                             "--password-file FILE or env TWIN3D_MQTT_PASSWORD")
        if args.auth not in (None, url_user):
            raise UsageError(f"twin3d cmd: --target user {url_user!r} differs from --auth "
                             f"{args.auth!r}")
        args.auth, where = url_user, where.rpartition("@")[2]
    if not 0 < args.timeout <= 3600:
        raise UsageError(f"twin3d cmd: --timeout out of range (got {args.timeout:g}, "
                         "allowed 0..3600 s)")
    try:
        cmd_args = parse_cli_args(args.op, args.args)
    except CommandError as e:
        raise UsageError(f"twin3d cmd: {e}") from None
    client = mqtt_client_args(args) if kind == "mqtt" else {}
    login = client.get("username")
    if login and args.user not in (None, login):
        # the broker knows us as `login`: the rig takes the user from the topic we may write
        raise UsageError(f"twin3d cmd: --user {args.user!r} differs from the broker account "
                         f"{login!r} (the rig takes the operator from the broker account)")
    user = args.user or login or getpass.getuser()
    cmd = make_command(args.op, cmd_args, user=user, ttl_s=args.ttl)
    scene = load_scene(args.scene)
    if not scene.has_rig:  # commands drive the rig's motor: a structure alone has none
        raise UsageError(f"twin3d cmd: scene {args.scene!r} has no [motor] and [crank] (a "
                         "structure alone takes no commands)")
    wire = _mqtt_wire(args, where, client) if kind == "mqtt" else _serial_wire(where)
    audit = AuditLog("twin", rig_id=args.rig_id)
    result = run_command(CommandChannel(wire, scene, user, audit), cmd, timeout_s=args.timeout,
                         wait_done=not args.no_wait, hold_s=args.hold or 0.0,
                         check=not args.no_check)
    audit.close()
    if kind == "mqtt":
        result["trust"] = wire.trust
    status = result.get("status")
    if args.json:
        emit(result)
    else:
        extra = result.get("reason") or result.get("outcome") or ""
        print(f"{cmd.op} {cmd.id}: {status}" + (f" ({extra})" if extra else ""))
    return {"rejected": EXIT_REJECTED, "timeout": EXIT_TIMEOUT}.get(status, 0)


def _mqtt_wire(args, where: str, client: dict):
    """The rig's command topics (--rig-id) on a broker link of our own, not yet started."""
    from twin3d.io.mqtt_link import MqttLink, Topics
    from twin3d.live.command_channel import MqttWire

    nodes = hostports(where, "--target")  # one broker, or the nodes of a cluster
    topics = Topics.for_rig(args.rig_id)
    link = MqttLink(nodes, **client, subscriptions=MqttWire.subscriptions(topics))
    return MqttWire(link, topics)


def _serial_wire(path: str):
    """`$C`/`$A` lines on the serial port at PATH, not yet opened."""
    from twin3d.io.serial_link import SerialLink
    from twin3d.live.command_channel import SerialWire

    return SerialWire(SerialLink(path), path)


# ---- twin3d broker-config -----------------------------------------------------------------

def _read_passwords(path) -> dict[str, str]:
    """`user:password` lines (blank lines and # comments skipped)."""
    out: dict[str, str] = {}
    if path is None:
        return out
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"twin3d broker-config: --passwords: cannot read {str(path)!r} "
                         f"({getattr(e, 'strerror', None) or e})") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, colon, password = line.partition(":")
        if not colon or not user or not password:
            raise UsageError(f"twin3d broker-config: --passwords line {n}: expected "
                             "user:password")
        out[user] = password
    return out


def _names(values: list[str], flag: str) -> list[str]:
    for v in values:
        if ":" in v:
            raise UsageError(f"twin3d broker-config: {flag} takes a name only (got "
                             f"{v.split(':')[0]!r}:...); put passwords in --passwords FILE "
                             "(user:password lines) or let broker-config generate them")
    return list(values)


def cmd_broker_config(args) -> int:
    from twin3d.io.broker_config import BrokerConfigError, write_config

    operators = _names(args.operator, "--operator")
    if not operators:
        raise UsageError("twin3d broker-config: at least one --operator USER is needed")
    tls = (args.tls_ca, args.tls_cert, args.tls_key)
    if any(tls) and not all(tls):
        raise UsageError("twin3d broker-config: TLS needs all of --tls-ca, --tls-cert, --tls-key")
    given = _read_passwords(args.passwords)
    if args.kind == "nats":
        return _nats_config(args, operators, given, tls if all(tls) else None)
    if any(v is not None for v in (args.nodes, args.client_port, args.route_port,
                                    args.http_port)):
        raise UsageError("twin3d broker-config: --nodes, --client-port, --route-port and "
                         "--http-port are for --kind nats (mosquitto does not cluster)")
    try:
        files = write_config(args.out, operators=operators,
                             viewers=_names(args.viewer, "--viewer"),
                             rigs=_names(args.rig, "--rig"), passwords=given,
                             port=args.port, bind=args.bind or "0.0.0.0",
                             tls=tls if all(tls) else None, run_as=args.run_as)
    except BrokerConfigError as e:
        raise UsageError(f"twin3d broker-config: {e}") from None
    if args.json:
        emit({k: (str(v) if not isinstance(v, list) else v) for k, v in files.items()})
    else:
        print(f"wrote {files['config']}; start with: mosquitto -c {files['config']}")
        if files.get("generated"):
            print(f"generated passwords for {', '.join(files['generated'])} in "
                  f"{files['generated_file']} (0600; hand them out, then delete it)")
    return 0


def _nats_config(args, operators: list[str], given: dict[str, str], tls) -> int:
    """--kind nats: a NATS cluster of --nodes nodes with MQTT, JetStream and the same rights."""
    from twin3d.io.broker_config import BrokerConfigError, write_nats_config

    if args.run_as:
        raise UsageError("twin3d broker-config: --run-as is for mosquitto (start.sh runs the "
                         "nodes as the user who starts it)")
    try:
        files = write_nats_config(args.out, nodes=args.nodes or 3, operators=operators,
                                  viewers=_names(args.viewer, "--viewer"),
                                  rigs=_names(args.rig, "--rig"), passwords=given,
                                  port=args.port, client_port=args.client_port or 4222,
                                  route_port=args.route_port or 6222,
                                  http_port=args.http_port or 8222,
                                  bind=args.bind or "127.0.0.1", tls=tls)
    except BrokerConfigError as e:
        raise UsageError(f"twin3d broker-config: {e}") from None
    if args.json:
        emit({k: (str(v) if not isinstance(v, list) else v) for k, v in files.items()})
    else:
        print(f"wrote {len(files['nodes'])} NATS nodes in {args.out}; start with: "
              f"{files['start']} (prints {files['mqtt']}); stop with {files['stop']}")
        if files.get("generated"):
            print(f"generated passwords for {', '.join(files['generated'])} in "
                  f"{files['generated_file']} (0600; hand them out, then delete it)")
    return 0


def register(add) -> None:
    r = add("rig", cmd_rig, "the simulated rig as its own process (MQTT or a serial pty)")
    r.add_argument("--mqtt", metavar="HOST:PORT[,HOST:PORT...]",
                   help="broker to publish on, or the nodes of a cluster (fails over)")
    r.add_argument("--serial", metavar="PATH", help="symlink to create for the rig's pty")
    r.add_argument("--rig-id", type=topic_level, default="rig1",
                   help="topic root twin3d/<rig-id>/")
    r.add_argument("--seconds", type=number(0, 365 * 86400.0, lo_open=True),
                   help="rig seconds to run (default: until stopped)")
    r.add_argument("--truth", default="southampton_measured",
                   help="ground truth: southampton_measured, swansea or a scene profile")
    r.add_argument("--damage", action="append", default=[], metavar="STOREY:FRACTION[@T]",
                   help="scale storey STOREY's stiffness of the truth by 1 + FRACTION from rig "
                        "time T s (default 0); repeatable, e.g. 2:-0.10@30")
    r.add_argument("--ambient", type=number(0.0, 10.0), default=0.02,
                   help="ambient table rms, m/s^2 (0..10)")
    r.add_argument("--seed", type=number(0, 2**32 - 1, integer=True), default=0)
    mqtt_options(r)
    r.add_argument("--connect-timeout", type=number(0.0, 600.0, lo_open=True), default=10.0)

    c = add("cmd", cmd_cmd, "send one command through the twin's checks; prints the ack")
    c.add_argument("op", help="set_speed, stop, estop, reset, set_stroke, set_control, "
                   "start_recording, stop_recording")
    c.add_argument("args", nargs="*", metavar="KEY=VALUE")
    c.add_argument("--target", required=True,
                   help="mqtt://[USER@]HOST:PORT[,HOST:PORT...] or serial://PATH (no password "
                        "in the URL)")
    c.add_argument("--rig-id", type=topic_level, default="rig1")
    c.add_argument("--user", help="operator name (default: the broker account given with "
                   "--auth, else the login name); must match the broker account")
    c.add_argument("--timeout", type=number(0.0, 3600.0, lo_open=True), default=10.0,
                   help="s to wait for the final ack")
    c.add_argument("--ttl", type=number(0.0, 3600.0, lo_open=True), default=5.0,
                   help="time-to-live of the command, s (0..3600)")
    c.add_argument("--no-wait", action="store_true", help="return at accepted, not at done")
    c.add_argument("--hold", type=number(0.0, 86400.0), default=0.0,
                   help="keep the lease (heartbeats) this many s after the ack")
    c.add_argument("--no-check", action="store_true",
                   help="skip the twin's dry run (the rig still enforces its interlocks)")
    mqtt_options(c)

    b = add("broker-config", cmd_broker_config,
            "write a broker configuration for a LAN (mosquitto, or a NATS cluster): accounts, "
            "permissions, TLS")
    b.add_argument("--out", required=True, type=new_folder, help="folder to write into")
    b.add_argument("--operator", action="append", default=[], metavar="USER",
                   help="operator account: reads twin3d/#, writes only twin3d/+/cmd/USER and "
                        "twin3d/+/heartbeat/USER")
    b.add_argument("--viewer", action="append", default=[], metavar="USER",
                   help="read-only account")
    b.add_argument("--rig", action="append", default=[], metavar="RIG_ID",
                   help="rig account, named as the rig id: writes only twin3d/RIG_ID/"
                        "{data,meta,state,ack}")
    b.add_argument("--passwords", metavar="FILE",
                   help="user:password lines; accounts not in it get a generated password, "
                        "written to OUT/generated-passwords (0600)")
    b.add_argument("--kind", choices=("mosquitto", "nats"), default="mosquitto",
                   help="mosquitto (one broker) or nats (a cluster with JetStream and MQTT)")
    b.add_argument("--nodes", type=number(1, 9, integer=True),
                   help="nats: cluster nodes (default 3); node K uses each port + K-1")
    b.add_argument("--client-port", type=number(1, 65535, integer=True),
                   help="nats: first NATS client port (default 4222)")
    b.add_argument("--route-port", type=number(1, 65535, integer=True),
                   help="nats: first cluster route port (default 6222)")
    b.add_argument("--http-port", type=number(1, 65535, integer=True),
                   help="nats: first monitoring port (/healthz, /connz; default 8222)")
    b.add_argument("--port", type=int, help="(first) MQTT port: default 8883 with TLS, else 1883")
    b.add_argument("--bind", help="listener address (mosquitto 0.0.0.0, nats 127.0.0.1)")
    b.add_argument("--tls-ca")
    b.add_argument("--tls-cert")
    b.add_argument("--tls-key")
    b.add_argument("--run-as", help="user mosquitto runs as (its `user` option)")
