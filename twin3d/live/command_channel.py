"""One command channel to a rig: the twin's dry run, the command, the operator's heartbeats and
the rig's acks, whatever carries them. Both the scene's motor panel (`twin3d.live.commander`,
driven by the frame loop) and `twin3d cmd` (blocking: `run_command`) go through it.

The wire is the transport:

- `MqttWire`: JSON commands on `twin3d/<rig>/cmd/<user>`, `{"user", "t"}` on
  `heartbeat/<user>` (the broker's ACL lets an account write only its own, and the rig takes
  the user from the topic), acks from `ack` and the rig's retained `state`, on a
  `twin3d.io.link.TopicLink` (a broker, or the in-process rig's bus). `trust` says what backs
  the acks and state: the broker's ACL (only the rig account may write them) or nothing;
- `SerialWire`: `$C` lines out and `$A` lines back on a `twin3d.io.link.ByteLink`; every line
  is the serial operator's heartbeat, `$C,hb,heartbeat` exists for that; no state to read.

`CommandChannel` is the logic both share, with the clock left to the caller (`now`): `send`
(dry run unless told not to, audit, send; from then on this user is the operator), `tick`
(a heartbeat every HEARTBEAT_EVERY_S while operating; commands past their deadline time out,
audited), `on_ack` (an ack of a pending command: audited and counted; rejected and done are
final). Audit records: dry_run, command, ack_received, timeout.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from twin3d.io.ingest import check_ack, check_state
from twin3d.io.link import ByteLink, Link, TopicLink
from twin3d.live.dry_run import dry_run
from twin3d.protocol.commands import ACCEPTED, DONE, REJECTED, Command

if TYPE_CHECKING:
    from twin3d.io.mqtt_link import Topics

HEARTBEAT_EVERY_S = 0.25  # the rig's watchdog allows limits.heartbeat_timeout_s (2 s)
ACK_MARGIN_S = 2.0  # beyond the command's ttl before "no answer" is declared
POLL_S = 0.05  # how long the blocking driver waits for one message


# --- wires -------------------------------------------------------------------------------------

class CommandWire(Protocol):
    """How commands, heartbeats and acks travel to and from one rig."""

    link: Link
    reports_state: bool  # the rig's (retained) state arrives on the link
    send_verb: str  # "publish", "write": for "... failed"

    def send_command(self, cmd: Command) -> bool: ...

    def send_heartbeat(self, user: str) -> bool: ...

    def ack_of(self, message) -> dict | None:
        """The ack a received message carries, as a dict, or None."""
        ...

    def state_of(self, message) -> dict | None: ...

    def unreachable(self) -> str:
        """Why the link did not come up, in words."""
        ...


TRUST_ACL = "broker-acl"
TRUST_OPEN = "open-broker (cannot tell who wrote acks/state)"
TRUST_IN_PROCESS = "in-process"


def link_trust(link) -> str:
    """What backs the rig's acks and state on this link. Logged in to a broker (no anonymous
    clients, the ACL of `twin3d broker-config`): only the rig's account may write its ack and
    state topics. Anonymous: anyone on the broker could have written them."""
    if getattr(link, "host", None) == "in-process":
        return TRUST_IN_PROCESS
    return TRUST_ACL if getattr(link, "username", None) else TRUST_OPEN


class MqttWire:
    """Commands on the rig's `cmd/<user>` topic, heartbeats on `heartbeat/<user>`, acks
    from `ack`."""

    reports_state = True
    send_verb = "publish"

    def __init__(self, link: TopicLink, topics: Topics):
        self.link, self.topics = link, topics

    @staticmethod
    def subscriptions(topics: Topics) -> tuple[str, ...]:
        """What a link of its own (`twin3d cmd`) subscribes to."""
        return topics.ack, topics.state

    @property
    def trust(self) -> str:
        return link_trust(self.link)

    def send_command(self, cmd: Command) -> bool:
        return self.link.publish(self.topics.cmd_of(cmd.user), cmd.to_json(), qos=1)

    def send_heartbeat(self, user: str) -> bool:
        return self.link.publish(self.topics.heartbeat_of(user),
                                 json.dumps({"user": user, "t": time.time()}))

    def _json_on(self, message, topic: str) -> dict | None:
        if getattr(message, "topic", None) != topic:
            return None
        obj = message.json()
        return obj if isinstance(obj, dict) else None

    def ack_of(self, message) -> dict | None:
        return self._json_on(message, self.topics.ack)

    def state_of(self, message) -> dict | None:
        return self._json_on(message, self.topics.state)

    def unreachable(self) -> str:
        return (f"no connection to the broker at {self.link.host}:{self.link.port} "
                f"({self.link.last_error or 'no answer'})")


class SerialWire:
    """`$C` lines out, `$A` lines back; the rig takes every line as the operator's heartbeat."""

    reports_state = False
    send_verb = "write"

    def __init__(self, link: ByteLink, path: str):
        self.link, self.path = link, path

    def send_command(self, cmd: Command) -> bool:
        from twin3d.io.serial_lines import encode_cmd

        return self.link.write(encode_cmd(cmd.id, cmd.op, {
            k: f"{v:g}" if isinstance(v, float) else v for k, v in cmd.args.items()}))

    def send_heartbeat(self, user: str) -> bool:
        from twin3d.io.serial_lines import encode_cmd

        return self.link.write(encode_cmd("hb", "heartbeat"))

    def ack_of(self, message) -> dict | None:
        from twin3d.io.serial_lines import AckLine

        line = getattr(message, "message", None)
        if not isinstance(line, AckLine):
            return None
        a = {"id": line.id, "status": line.status, "source": "rig"}
        if line.status == DONE:
            a["outcome"] = line.reason
        elif line.reason:
            a["reason"] = line.reason
        return a

    def state_of(self, message) -> dict | None:
        return None

    def unreachable(self) -> str:
        return f"cannot open {self.path} ({self.link.last_error or 'no answer'})"


def wire_for(source) -> CommandWire:
    """The command wire beside a source's data: a source reading a rig's MQTT topics (on a
    broker, or the in-process rig) commands it on the same link."""
    link, topics = getattr(source, "link", None), getattr(source, "topics", None)
    if topics is not None and isinstance(link, TopicLink):
        return MqttWire(link, topics)
    raise TypeError(f"source {getattr(source, 'url', source)!r} carries no commands")


# --- the channel -------------------------------------------------------------------------------

@dataclass
class ChannelCounters:
    sent: int = 0
    refused_by_twin: int = 0
    accepted: int = 0
    rejected: int = 0
    done: int = 0
    timeouts: int = 0
    heartbeats: int = 0
    send_failures: int = 0
    bad_acks: int = 0  # an ack for our command whose fields are wrong: ignored
    bad_states: int = 0  # a rig state (or its stroke_m) of the wrong type or range: not used


@dataclass
class Pending:
    """A command sent and not yet answered finally."""

    cmd: Command
    deadline: float  # on the caller's clock
    after_s: float  # the time it was given for a final ack
    limit: str  # how that time is named in a timeout's reason ("7 s", "--timeout")
    acks: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class SendResult:
    status: str  # sent | refused (by the twin's dry run) | not_sent (the link is down)
    refusal: dict | None = None  # the twin's rejected ack, when refused
    reason: str = ""  # the link's last error, when not sent

    @property
    def ok(self) -> bool:
        return self.status == "sent"


class CommandChannel:
    """Dry run, send, heartbeats and acks for one operator (`user`) on one rig."""

    def __init__(self, wire: CommandWire, scene, user: str, audit=None):
        self.wire, self.scene, self.user, self.audit = wire, scene, user, audit
        self.counters = ChannelCounters()
        self.operator = False  # set by the first command sent: from then on, heartbeats
        self.pending: dict[str, Pending] = {}
        self._next_heartbeat = 0.0
        # besides the audit: callables (kind, fields) that see every record (the history)
        self.listeners: list = []

    def rig_stroke(self, stroke_m) -> float | None:
        """The stroke the dry run may assume from the rig's state: None (the scene's) when the
        state says nothing; the worst case of the scene's stroke range when it says something
        of the wrong type or out of range (counted in bad_states); and, when nobody vouches for
        the state (an open broker), never less than the scene's own stroke."""
        if stroke_m is None:
            return None
        lo, hi = self.scene.data.limits.stroke_range_m
        if isinstance(stroke_m, bool) or not isinstance(stroke_m, (int, float)) or \
                not math.isfinite(stroke_m) or not lo <= stroke_m <= hi:
            self.counters.bad_states += 1
            return float(hi)
        if str(getattr(self.wire, "trust", "")).startswith("open"):
            return max(float(stroke_m), float(self.scene.data.crank.stroke_m))
        return float(stroke_m)

    def check(self, cmd: Command, stroke_m: float | None = None) -> dict | None:
        """The twin's dry run: None, or the refusal as a rejected ack (audited, counted).
        `stroke_m` is the rig's state's word, checked by `rig_stroke` before use."""
        dr = dry_run(cmd, self.scene, stroke_m=self.rig_stroke(stroke_m))
        if dr.ok:
            return None
        self.counters.refused_by_twin += 1
        refusal = {"id": cmd.id, "status": REJECTED, "op": cmd.op, "user": cmd.user,
                   "source": "twin", "reason": dr.reason, "check": dr.check, "value": dr.value,
                   "limit": dr.limit, "acks": [REJECTED]}
        self._audit("dry_run", **refusal)
        return refusal

    def send(self, cmd: Command, now: float, *, check: bool = True,
             stroke_m: float | None = None, after_s: float | None = None,
             since: float | None = None, limit: str | None = None) -> SendResult:
        """Check (unless `check` is False), audit and send one command; it then waits for its
        final ack until `since` (default now) + `after_s` (default ttl + ACK_MARGIN_S)."""
        if check:
            refusal = self.check(cmd, stroke_m)
            if refusal is not None:
                return SendResult("refused", refusal=refusal)
        self._audit("command", **json.loads(cmd.to_json()))
        if not self.wire.send_command(cmd):
            self.counters.send_failures += 1
            return SendResult("not_sent", reason=self.wire.link.last_error)
        self.counters.sent += 1
        self.operator = True
        self.heartbeat(now)  # the lease starts with this command: keep it from now
        after_s = cmd.ttl_s + ACK_MARGIN_S if after_s is None else after_s
        self.pending[cmd.id] = Pending(cmd, (now if since is None else since) + after_s,
                                       after_s, limit or f"{after_s:g} s")
        return SendResult("sent")

    def heartbeat(self, now: float) -> None:
        if self.wire.send_heartbeat(self.user):
            self.counters.heartbeats += 1
        self._next_heartbeat = now + HEARTBEAT_EVERY_S

    def tick(self, now: float) -> list[Pending]:
        """Heartbeats while operating; the commands that time out now (audited, counted)."""
        if self.operator and now >= self._next_heartbeat:
            self.heartbeat(now)
        expired = [p for p in self.pending.values() if now > p.deadline]
        for p in expired:
            del self.pending[p.cmd.id]
            self.counters.timeouts += 1
            self._audit("timeout", **self.timeout_record(p), user=p.cmd.user)
        return expired

    def on_ack(self, ack: dict) -> Pending | None:
        """An ack heard on the wire: the pending command it answers (the ack, with its op, is
        appended to its `acks`), or None for anyone else's or one already answered."""
        if not isinstance(ack, dict):
            return None
        p = self.pending.get(ack.get("id")) if isinstance(ack.get("id"), str) else None
        if p is None:
            return None
        if check_ack(ack):  # ours, but malformed: counted, and the command still waits
            self.counters.bad_acks += 1
            return None
        if "op" not in ack:  # a `$A` line names no op; the command does
            ack = {"id": ack["id"], "status": ack.get("status"), "op": p.cmd.op,
                   **{k: v for k, v in ack.items() if k not in ("id", "status")}}
        p.acks.append(ack)
        self._audit("ack_received", **ack)
        status = ack.get("status")
        if status == ACCEPTED:
            self.counters.accepted += 1
        elif status == REJECTED:
            self.counters.rejected += 1
            del self.pending[p.cmd.id]
        elif status == DONE:
            self.counters.done += 1
            del self.pending[p.cmd.id]
        return p

    @staticmethod
    def timeout_record(p: Pending) -> dict:
        last = f" (last: {p.acks[-1].get('status')})" if p.acks else " (no ack at all)"
        return {"id": p.cmd.id, "status": "timeout", "op": p.cmd.op, "after_s": p.after_s,
                "reason": f"no final ack within {p.limit}{last}"}

    def _audit(self, kind: str, **fields) -> None:
        if self.audit is not None:
            self.audit.write(kind, **fields)
        for listener in self.listeners:
            listener(kind, fields)


# --- the blocking driver: `twin3d cmd` ----------------------------------------------------------

def final_ack(acks: list[dict], wait_done: bool) -> dict | None:
    """The ack that ends the wait: rejected or done (or accepted when not waiting for done)."""
    for a in acks:
        if a.get("status") in (REJECTED, DONE) or (not wait_done and a.get("status") == ACCEPTED):
            return a
    return None


def run_command(channel: CommandChannel, cmd: Command, *, timeout_s: float,
                wait_done: bool = True, hold_s: float = 0.0, check: bool = True,
                clock=time.monotonic, sleep=time.sleep) -> dict:
    """Start the wire's link, send one command and wait for its final ack (or `timeout_s`,
    counted from the start), then keep the lease `hold_s` longer with heartbeats; stop the link.

    Returns the final ack (the twin's refusal, or the rig's rejected/done/accepted ack), or a
    timeout, as a JSON-ready dict with `acks` (the statuses heard) and `elapsed_s`."""
    wire, link = channel.wire, channel.wire.link
    if check and not wire.reports_state:  # nothing to learn from the rig: check before opening
        refusal = channel.check(cmd)
        if refusal is not None:
            return refusal
    t_start = clock()
    deadline = t_start + timeout_s
    link.start()
    try:
        if not link.wait_connected(max(0.0, deadline - clock())):
            return {"id": cmd.id, "status": "timeout", "op": cmd.op,
                    "reason": wire.unreachable(), "after_s": timeout_s}
        state = None
        if wire.reports_state:
            state_wait = clock() + min(1.0, timeout_s / 4)  # the retained state
            while state is None and clock() < state_wait:
                m = link.get(timeout=POLL_S)
                state = wire.state_of(m) if m is not None else None
                if state is not None and check_state(state):
                    channel.counters.bad_states += 1  # wrong types or ranges: not used
                    state = None
        if check and wire.reports_state:
            refusal = channel.check(cmd, state.get("stroke_m") if state else None)
            if refusal is not None:
                refusal["rig_status"] = state.get("status") if state else None
                return refusal
        sent = channel.send(cmd, clock(), check=False, after_s=timeout_s, since=t_start,
                            limit="--timeout")
        if not sent.ok:
            return {"id": cmd.id, "status": "timeout", "op": cmd.op,
                    "reason": f"{wire.send_verb} failed: {sent.reason}"}
        pending = channel.pending[cmd.id]
        final = None
        while final is None and not channel.tick(clock()):
            m = link.get(timeout=POLL_S)
            ack = wire.ack_of(m) if m is not None else None
            if ack is not None and channel.on_ack(ack) is pending:
                final = final_ack(pending.acks, wait_done)
        hold_until = clock() + hold_s
        while final is not None and final.get("status") != REJECTED and clock() < hold_until:
            channel.heartbeat(clock())
            sleep(HEARTBEAT_EVERY_S)
        elapsed = round(clock() - t_start, 3)
        out = dict(final) if final is not None else channel.timeout_record(pending)
        out["acks"] = [a.get("status") for a in pending.acks]
        out["elapsed_s"] = elapsed
        return out
    finally:
        link.stop()
