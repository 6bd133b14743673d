"""The twin's side of the command path inside the scene: the motor panel's sink for a live rig.

Each command is checked on the twin's model first (`twin3d.live.dry_run`: predicted drift, stability
margin) and refused there with the number; otherwise it goes out as one JSON command on `cmd`
and the rig's acks, which arrive through the source, update `notice` (what the panel shows).
A command that hears no final ack within its time-to-live plus a margin times out visibly.

Heartbeats: once this twin has sent a command it is an operator and holds (or asks for) the
lease, so it publishes `{"user": U}` on `heartbeat` every `HEARTBEAT_EVERY_S` from the frame
loop (`tick`). Sending them from the frame loop, not a thread, is deliberate: when the
operator's screen freezes or closes, the heartbeats stop and the rig's watchdog ramps the motor
down, which is what the watchdog is for. A viewer who never commands never heartbeats.
"""

from __future__ import annotations

import getpass
import json
import time
from dataclasses import dataclass

from twin3d.protocol.commands import make_command
from twin3d.live.dry_run import dry_run

HEARTBEAT_EVERY_S = 0.25  # the rig's watchdog allows limits.heartbeat_timeout_s (2 s)
ACK_MARGIN_S = 2.0  # beyond the command's ttl before "no answer" is declared


@dataclass
class CommanderCounters:
    sent: int = 0
    refused_by_twin: int = 0
    accepted: int = 0
    rejected: int = 0
    done: int = 0
    timeouts: int = 0
    heartbeats: int = 0
    send_failures: int = 0


class Commander:
    """Dry run, send, heartbeat and follow acks for one operator on one rig."""

    def __init__(self, source, scene, user: str | None = None, audit=None,
                 clock=time.monotonic):
        self.source, self.scene = source, scene
        self.link, self.topics = source.link, source.topics
        self.user = user or _login()
        self.audit = audit
        self.clock = clock
        self.counters = CommanderCounters()
        self.operator = False  # set by the first command sent: from then on, heartbeats
        self.notice: tuple[bool, str] = (True, "")
        self.pending: dict[str, tuple[object, float]] = {}  # id -> (command, deadline)
        self._next_heartbeat = 0.0
        source.ack_listeners.append(self._on_ack)

    # --- the motor panel's sink ---------------------------------------------------------------
    def set_speed(self, rpm: float) -> tuple[bool, str]:
        return self.send("set_speed", {"rpm": float(rpm)})

    def stop(self) -> tuple[bool, str]:
        return self.send("stop")

    def estop(self) -> tuple[bool, str]:
        return self.send("estop")

    def reset(self) -> tuple[bool, str]:
        return self.send("reset")

    @property
    def status(self) -> str:
        """The rig's own status (ok, estop, tripped; lost when its will fired)."""
        return self.source.status

    @property
    def target_rpm(self) -> float | None:
        """The speed the rig is driving towards, from its state (None until it reports)."""
        state = self.source.rig_state
        v = state.get("target_rpm") if isinstance(state, dict) else None
        return float(v) if isinstance(v, (int, float)) else None

    # --- the path -----------------------------------------------------------------------------
    def send(self, op: str, args: dict | None = None) -> tuple[bool, str]:
        cmd = make_command(op, args, user=self.user)
        state = self.source.rig_state if isinstance(self.source.rig_state, dict) else {}
        check = dry_run(cmd, self.scene, stroke_m=state.get("stroke_m"))
        if not check.ok:
            self.counters.refused_by_twin += 1
            self._audit("dry_run", id=cmd.id, op=op, user=self.user, reason=check.reason,
                        check=check.check, value=check.value, limit=check.limit)
            return self._say(False, f"refused by the twin: {check.reason}")
        self._audit("command", **json.loads(cmd.to_json()))
        if not self.link.publish(self.topics.cmd, cmd.to_json(), qos=1):
            self.counters.send_failures += 1
            return self._say(False, f"not sent: no connection to the rig "
                                    f"({self.link.last_error or 'link down'})")
        self.counters.sent += 1
        self.operator = True
        self._heartbeat(self.clock())  # the lease starts with this command: keep it from now
        self.pending[cmd.id] = (cmd, self.clock() + cmd.ttl_s + ACK_MARGIN_S)
        return self._say(True, f"{_describe(op, cmd.args)}: sent, waiting for the rig")

    def tick(self, now: float | None = None) -> None:
        """From the frame loop: heartbeats while operating, and timeouts of silent commands."""
        now = self.clock() if now is None else now
        if self.operator and now >= self._next_heartbeat:
            self._heartbeat(now)
        for cmd_id, (cmd, deadline) in list(self.pending.items()):
            if now > deadline:
                del self.pending[cmd_id]
                self.counters.timeouts += 1
                self._audit("timeout", id=cmd_id, op=cmd.op, user=self.user)
                self._say(False, f"{_describe(cmd.op, cmd.args)}: no answer from the rig "
                                 f"within {cmd.ttl_s + ACK_MARGIN_S:g} s (rig lost, or no "
                                 "operator rights on the broker?)")

    def _heartbeat(self, now: float) -> None:
        if self.link.publish(self.topics.heartbeat,
                             json.dumps({"user": self.user, "t": time.time()})):
            self.counters.heartbeats += 1
        self._next_heartbeat = now + HEARTBEAT_EVERY_S

    def _on_ack(self, ack: dict) -> None:
        cmd_id = ack.get("id")
        if cmd_id not in self.pending:
            return  # another operator's command, or one already answered
        cmd, _ = self.pending[cmd_id]
        self._audit("ack_received", **ack)
        status = ack.get("status")
        what = _describe(cmd.op, cmd.args)
        if status == "accepted":
            self.counters.accepted += 1
            self._say(True, f"{what}: accepted by the rig")
        elif status == "rejected":
            self.counters.rejected += 1
            del self.pending[cmd_id]
            self._say(False, f"{what}: rejected by the rig: {ack.get('reason', '')}")
        elif status == "done":
            self.counters.done += 1
            del self.pending[cmd_id]
            self._say(True, f"{what}: done ({ack.get('outcome', '')})")

    def _say(self, ok: bool, text: str) -> tuple[bool, str]:
        self.notice = (ok, text)
        return ok, text

    def _audit(self, kind: str, **fields) -> None:
        if self.audit is not None:
            self.audit.write(kind, **fields)


def _describe(op: str, args: dict) -> str:
    if op == "set_speed":
        return f"speed {args.get('rpm', 0):.0f} rpm"
    return op.replace("_", " ")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a container
        return "operator"
