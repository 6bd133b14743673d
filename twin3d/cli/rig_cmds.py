"""`twin3d rig`, `twin3d cmd` and `twin3d broker-config`: the simulated rig, the command path
(twin-side dry run, acks or a visible timeout) and a LAN broker's configuration.

Exit status of `cmd`: 0 accepted or done, 3 rejected (by the twin's dry run or by the rig),
4 timed out (no final ack within --timeout), 2 bad input.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
from pathlib import Path

from twin3d.cli.common import UsageError, credentials, emit, hostport, tls_options

EXIT_REJECTED, EXIT_TIMEOUT = 3, 4
HEARTBEAT_EVERY_S = 0.5


# ---- twin3d rig ---------------------------------------------------------------------------

def cmd_rig(args) -> int:
    from twin3d.protocol.audit import AuditLog
    from twin3d.physics import warmup
    from twin3d.rig.process import MqttTransport, PtyTransport, RigCore, run_rig
    from twin3d.scenefile.records import load_scene

    if (args.mqtt is None) == (args.serial is None):
        raise UsageError("twin3d rig: give exactly one of --mqtt HOST:PORT or --serial PATH")
    if args.seconds is not None and not args.seconds > 0:
        raise UsageError(f"twin3d rig: --seconds must be > 0 (got {args.seconds:g})")
    scene = load_scene(args.scene)
    warmup()
    audit = AuditLog("rig", rig_id=args.rig_id)
    try:
        core = RigCore(scene, truth=args.truth, seed=args.seed, ambient_rms=args.ambient,
                       rig_id=args.rig_id, audit=audit)
    except ValueError as e:
        raise UsageError(f"twin3d rig: --truth: {e}") from None
    if args.mqtt is not None:
        host, port = hostport(args.mqtt, "--mqtt")
        user, password = credentials(args.auth, "--auth")
        transport = MqttTransport.connect(host, port, args.rig_id, user, password,
                                          tls_options(args.tls_ca))
        where = f"mqtt://{host}:{port} topics twin3d/{args.rig_id}/"
        if not transport.wait_ready(args.connect_timeout):
            err = transport.link.last_error or "no answer"
            transport.link.stop()
            print(f"twin3d rig: cannot connect to {host}:{port} ({err})", file=sys.stderr)
            return 1
    else:
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


# ---- twin3d cmd ---------------------------------------------------------------------------

def _parse_target(text: str) -> tuple[str, str]:
    if text.startswith("mqtt://"):
        return "mqtt", text[len("mqtt://"):].rstrip("/")
    if text.startswith("serial://"):
        return "serial", text[len("serial://"):]
    raise UsageError(f"twin3d cmd: --target must be mqtt://HOST:PORT or serial://PATH "
                     f"(got {text!r})")


def cmd_cmd(args) -> int:
    from twin3d.protocol.audit import AuditLog
    from twin3d.protocol.commands import CommandError, make_command, parse_cli_args
    from twin3d.scenefile.records import load_scene

    kind, where = _parse_target(args.target)
    if not 0 < args.timeout <= 3600:
        raise UsageError(f"twin3d cmd: --timeout out of range (got {args.timeout:g}, "
                         "allowed 0..3600 s)")
    try:
        cmd_args = parse_cli_args(args.op, args.args)
    except CommandError as e:
        raise UsageError(f"twin3d cmd: {e}") from None
    user = args.user or getpass.getuser()
    cmd = make_command(args.op, cmd_args, user=user, ttl_s=args.ttl)
    scene = load_scene(args.scene)
    audit = AuditLog("twin", rig_id=args.rig_id)
    if kind == "mqtt":
        result = _send_mqtt(cmd, args, scene, audit, where)
    else:
        result = _send_serial(cmd, args, scene, audit, where)
    audit.close()
    status = result.get("status")
    if args.json:
        emit(result)
    else:
        extra = result.get("reason") or result.get("outcome") or ""
        print(f"{cmd.op} {cmd.id}: {status}" + (f" ({extra})" if extra else ""))
    return {"rejected": EXIT_REJECTED, "timeout": EXIT_TIMEOUT}.get(status, 0)


def _check(cmd, args, scene, audit, stroke_m) -> dict | None:
    """The twin's dry run; a refusal as the rejected ack the caller prints, else None."""
    from twin3d.live.dry_run import dry_run

    if args.no_check:
        return None
    dr = dry_run(cmd, scene, stroke_m=stroke_m)
    if dr.ok:
        return None
    refusal = {"id": cmd.id, "status": "rejected", "op": cmd.op, "user": cmd.user,
               "source": "twin", "reason": dr.reason, "check": dr.check, "value": dr.value,
               "limit": dr.limit, "acks": ["rejected"]}
    audit.write("dry_run", **refusal)
    return refusal


def _final(acks: list[dict], wait_done: bool) -> dict | None:
    for a in acks:
        if a["status"] == "rejected" or a["status"] == "done" or (
                not wait_done and a["status"] == "accepted"):
            return a
    return None


def _send_mqtt(cmd, args, scene, audit, where: str) -> dict:
    from twin3d.io.mqtt_link import MqttLink, Topics

    host, port = hostport(where, "--target")
    user, password = credentials(args.auth, "--auth")
    topics = Topics.for_rig(args.rig_id)
    t_start = time.monotonic()
    deadline = t_start + args.timeout
    link = MqttLink(host, port, username=user, password=password, tls=tls_options(args.tls_ca),
                    subscriptions=(topics.ack, topics.state))
    link.start()
    try:
        if not link.wait_connected(max(0.0, deadline - time.monotonic())):
            return {"id": cmd.id, "status": "timeout", "op": cmd.op,
                    "reason": f"cannot reach the broker at {host}:{port} "
                              f"({link.last_error or 'no answer'})", "after_s": args.timeout}
        state = None
        state_wait = time.monotonic() + min(1.0, args.timeout / 4)  # the retained state
        while state is None and time.monotonic() < state_wait:
            m = link.get(timeout=0.05)
            if m is not None and m.topic == topics.state:
                state = m.json()
        stroke = state.get("stroke_m") if isinstance(state, dict) else None
        refusal = _check(cmd, args, scene, audit, stroke)
        if refusal:
            refusal["rig_status"] = state.get("status") if isinstance(state, dict) else None
            return refusal
        audit.write("command", **json.loads(cmd.to_json()))
        if not link.publish(topics.cmd, cmd.to_json(), qos=1):
            return {"id": cmd.id, "status": "timeout", "op": cmd.op,
                    "reason": f"publish failed: {link.last_error}"}
        acks: list[dict] = []
        next_hb = 0.0
        final = None
        while time.monotonic() < deadline and final is None:
            if time.monotonic() >= next_hb:  # keep the lease (and the rig's watchdog) alive
                link.publish(topics.heartbeat, json.dumps({"user": cmd.user, "t": time.time()}))
                next_hb = time.monotonic() + HEARTBEAT_EVERY_S
            m = link.get(timeout=0.05)
            if m is None or m.topic != topics.ack:
                continue
            a = m.json()
            if isinstance(a, dict) and a.get("id") == cmd.id:
                acks.append(a)
                audit.write("ack_received", **a)
                final = _final(acks, not args.no_wait)
        hold_until = time.monotonic() + (args.hold or 0.0)
        while final is not None and final["status"] != "rejected" and \
                time.monotonic() < hold_until:
            link.publish(topics.heartbeat, json.dumps({"user": cmd.user, "t": time.time()}))
            time.sleep(HEARTBEAT_EVERY_S)
        elapsed = round(time.monotonic() - t_start, 3)
        if final is None:
            out = {"id": cmd.id, "status": "timeout", "op": cmd.op, "after_s": args.timeout,
                   "reason": "no final ack within --timeout" + (
                       f" (last: {acks[-1]['status']})" if acks else " (no ack at all)")}
            audit.write("timeout", **out)
        else:
            out = dict(final)
        out["acks"] = [a["status"] for a in acks]
        out["elapsed_s"] = elapsed
        return out
    finally:
        link.stop()


def _send_serial(cmd, args, scene, audit, path: str) -> dict:
    from twin3d.io.serial_lines import AckLine, encode_cmd
    from twin3d.io.serial_link import SerialLink

    refusal = _check(cmd, args, scene, audit, None)
    if refusal:
        return refusal
    t_start = time.monotonic()
    deadline = t_start + args.timeout
    link = SerialLink(path).start()
    try:
        if not link.wait_connected(args.timeout):
            return {"id": cmd.id, "status": "timeout", "op": cmd.op,
                    "reason": f"cannot open {path} ({link.last_error or 'no answer'})"}
        audit.write("command", **json.loads(cmd.to_json()))
        link.write(encode_cmd(cmd.id, cmd.op, {k: f"{v:g}" if isinstance(v, float) else v
                                               for k, v in cmd.args.items()}))
        acks: list[dict] = []
        final = None
        next_hb = time.monotonic() + HEARTBEAT_EVERY_S
        while time.monotonic() < deadline and final is None:
            if time.monotonic() >= next_hb:
                link.write(encode_cmd("hb", "heartbeat"))
                next_hb = time.monotonic() + HEARTBEAT_EVERY_S
            m = link.get(timeout=0.05)
            if m is None or not isinstance(m.message, AckLine) or m.message.id != cmd.id:
                continue
            a = {"id": cmd.id, "status": m.message.status, "op": cmd.op, "source": "rig"}
            if m.message.status == "done":
                a["outcome"] = m.message.reason
            elif m.message.reason:
                a["reason"] = m.message.reason
            acks.append(a)
            audit.write("ack_received", **a)
            final = _final(acks, not args.no_wait)
        if final is None:
            out = {"id": cmd.id, "status": "timeout", "op": cmd.op, "after_s": args.timeout}
        else:
            out = dict(final)
        out["acks"] = [a["status"] for a in acks]
        out["elapsed_s"] = round(time.monotonic() - t_start, 3)
        return out
    finally:
        link.stop()


# ---- twin3d broker-config -----------------------------------------------------------------

def _pairs(values: list[str], flag: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        user, colon, password = v.partition(":")
        if not colon or not user or not password:
            raise UsageError(f"twin3d broker-config: {flag} must be user:password "
                             f"(got {user!r}:...)")
        out.append((user, password))
    return out


def cmd_broker_config(args) -> int:
    from twin3d.io.broker_config import BrokerConfigError, write_config

    operators = _pairs(args.operator, "--operator")
    if not operators:
        raise UsageError("twin3d broker-config: at least one --operator user:password is needed")
    tls = (args.tls_ca, args.tls_cert, args.tls_key)
    if any(tls) and not all(tls):
        raise UsageError("twin3d broker-config: TLS needs all of --tls-ca, --tls-cert, --tls-key")
    try:
        files = write_config(args.out, operators=operators,
                             viewers=_pairs(args.viewer, "--viewer"),
                             rigs=_pairs(args.rig, "--rig"), port=args.port, bind=args.bind,
                             tls=tls if all(tls) else None, run_as=args.run_as)
    except BrokerConfigError as e:
        raise UsageError(f"twin3d broker-config: {e}") from None
    if args.json:
        emit({k: str(v) for k, v in files.items()})
    else:
        print(f"wrote {files['config']}; start with: mosquitto -c {files['config']}")
    return 0


def register(add) -> None:
    r = add("rig", cmd_rig, "the simulated rig as its own process (MQTT or a serial pty)")
    r.add_argument("--mqtt", metavar="HOST:PORT", help="broker to publish on")
    r.add_argument("--serial", metavar="PATH", help="symlink to create for the rig's pty")
    r.add_argument("--rig-id", default="rig1", help="topic root twin3d/<rig-id>/")
    r.add_argument("--seconds", type=float, help="rig seconds to run (default: until stopped)")
    r.add_argument("--truth", default="southampton_measured",
                   help="ground truth: southampton_measured, swansea or a scene profile")
    r.add_argument("--ambient", type=float, default=0.02, help="ambient table rms, m/s^2")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--auth", help="user:password for the broker (or env TWIN3D_MQTT_AUTH)")
    r.add_argument("--tls-ca", help="CA certificate: connect with TLS")
    r.add_argument("--connect-timeout", type=float, default=10.0)

    c = add("cmd", cmd_cmd, "send one command through the twin's checks; prints the ack")
    c.add_argument("op", help="set_speed, stop, estop, reset, set_stroke, set_control, "
                   "start_recording, stop_recording")
    c.add_argument("args", nargs="*", metavar="KEY=VALUE")
    c.add_argument("--target", required=True, help="mqtt://HOST:PORT or serial://PATH")
    c.add_argument("--rig-id", default="rig1")
    c.add_argument("--user", help="operator name (default: the login name)")
    c.add_argument("--timeout", type=float, default=10.0, help="s to wait for the final ack")
    c.add_argument("--ttl", type=float, default=5.0, help="time-to-live of the command, s")
    c.add_argument("--no-wait", action="store_true", help="return at accepted, not at done")
    c.add_argument("--hold", type=float, default=0.0,
                   help="keep the lease (heartbeats) this many s after the ack")
    c.add_argument("--no-check", action="store_true",
                   help="skip the twin's dry run (the rig still enforces its interlocks)")
    c.add_argument("--auth", help="user:password for the broker (or env TWIN3D_MQTT_AUTH)")
    c.add_argument("--tls-ca", help="CA certificate: connect with TLS")

    b = add("broker-config", cmd_broker_config,
            "write a mosquitto configuration for a LAN: password file, ACL, TLS")
    b.add_argument("--out", required=True, type=Path, help="folder to write into")
    b.add_argument("--operator", action="append", default=[], metavar="USER:PASS")
    b.add_argument("--viewer", action="append", default=[], metavar="USER:PASS")
    b.add_argument("--rig", action="append", default=[], metavar="USER:PASS",
                   help="account for a rig process (writes data/meta/state/ack)")
    b.add_argument("--port", type=int, help="default 8883 with TLS, else 1883")
    b.add_argument("--bind", default="0.0.0.0", help="listener address")
    b.add_argument("--tls-ca")
    b.add_argument("--tls-cert")
    b.add_argument("--tls-key")
    b.add_argument("--run-as", help="user mosquitto runs as (its `user` option)")
