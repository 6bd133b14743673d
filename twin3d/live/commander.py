"""The twin's side of the command path inside the scene: the motor panel's sink for a live rig.

Each command is checked on the twin's model first (`twin3d.live.dry_run`: predicted drift, stability
margin) and refused there with the number; otherwise it goes out as one command on the source's
command wire (`twin3d.live.command_channel`: the `cmd` topic for a rig on MQTT) and the rig's
acks, which arrive through the source, update `notice` (what the panel shows). A command that
hears no final ack within its time-to-live plus a margin times out visibly.

Heartbeats: once this twin has sent a command it is an operator and holds (or asks for) the
lease, so it sends a heartbeat every `HEARTBEAT_EVERY_S` from the frame loop (`tick`). Sending
them from the frame loop, not a thread, is deliberate: when the operator's screen freezes or
closes, the heartbeats stop and the rig's watchdog ramps the motor down, which is what the
watchdog is for. A viewer who never commands never heartbeats. The logic is the command
channel's, shared with `twin3d cmd`; this class is its frame-driven face.

Every command, refusal, ack, timeout and failed send also goes into `log`
(`twin3d.live.alarm_log.CommandLog`), which the operator view shows; `lease()` says who holds
the rig's lease and how this twin's heartbeats go.
"""

from __future__ import annotations

import getpass
import time

from twin3d.live.alarm_log import CommandLog, lease_status
from twin3d.live.alarm_log import describe_command as _describe
from twin3d.live.command_channel import (ACK_MARGIN_S, HEARTBEAT_EVERY_S,  # noqa: F401
                                         ChannelCounters, CommandChannel, CommandWire, Pending,
                                         wire_for)
from twin3d.protocol.commands import ACCEPTED, DONE, REJECTED, make_command

CommanderCounters = ChannelCounters  # sent, refused_by_twin, accepted, rejected, done, ...


class Commander:
    """Dry run, send, heartbeat and follow acks for one operator on one rig.

    `source` gives the rig's state and hands its acks to `ack_listeners`; the commands travel
    on `wire` (default: the one beside the source's data, `command_channel.wire_for`)."""

    def __init__(self, source, scene, user: str | None = None, audit=None,
                 clock=time.monotonic, wire: CommandWire | None = None):
        self.source, self.scene = source, scene
        self.user = user or _login()
        self.audit = audit
        self.clock = clock
        self.channel = CommandChannel(wire if wire is not None else wire_for(source), scene,
                                      self.user, audit)
        self.notice: tuple[bool, str] = (True, "")
        self.log = CommandLog()
        self.channel.listeners.append(self.log.record)
        self.last_heartbeat: float | None = None  # on self.clock
        self.heartbeat_gap: float | None = None  # between the last two, s
        source.ack_listeners.append(self._on_ack)

    def use_scene(self, scene) -> None:
        """A new model (a calibration): the dry run checks against it from now on."""
        self.scene = self.channel.scene = scene

    @property
    def counters(self) -> ChannelCounters:
        return self.channel.counters

    @property
    def operator(self) -> bool:
        """True from the first command sent: from then on, heartbeats."""
        return self.channel.operator

    @property
    def pending(self) -> dict[str, Pending]:
        """Commands sent and not yet answered finally, by id."""
        return self.channel.pending

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
        r = self._beating(lambda now: self.channel.send(
            cmd, now, stroke_m=state.get("stroke_m"), after_s=cmd.ttl_s + ACK_MARGIN_S))
        if r.status == "refused":
            return self._say(False, f"refused by the twin: {r.refusal['reason']}")
        if r.status == "not_sent":
            why = f"no connection to the rig ({r.reason or 'link down'})"
            self.log.record("not_sent", {"id": cmd.id, "op": op, "args": cmd.args,
                                         "reason": why})
            return self._say(False, f"not sent: {why}")
        return self._say(True, f"{_describe(op, cmd.args)}: sent, waiting for the rig")

    def tick(self, now: float | None = None) -> None:
        """From the frame loop: heartbeats while operating, and timeouts of silent commands."""
        for p in self._beating(self.channel.tick, now):
            self._say(False, f"{_describe(p.cmd.op, p.cmd.args)}: no answer from the rig "
                             f"within {p.after_s:g} s (rig lost, or no operator rights on the "
                             "broker?)")

    def _beating(self, call, now: float | None = None):
        """`call(now)`, noting the time when it sent a heartbeat."""
        now = self.clock() if now is None else now
        before = self.counters.heartbeats
        out = call(now)
        if self.counters.heartbeats > before:
            if self.last_heartbeat is not None:
                self.heartbeat_gap = now - self.last_heartbeat
            self.last_heartbeat = now
        return out

    def lease(self, now: float | None = None) -> tuple[str, bool]:
        """(one line, ok): the rig's lease holder and this twin's heartbeats."""
        now = self.clock() if now is None else now
        age = None if self.last_heartbeat is None else now - self.last_heartbeat
        return lease_status(self.source.rig_state, self.user, self.operator, age,
                            self.heartbeat_gap, HEARTBEAT_EVERY_S,
                            self.scene.data.limits.heartbeat_timeout_s)

    def _on_ack(self, ack: dict) -> None:
        p = self.channel.on_ack(ack)
        if p is None:
            return  # another operator's command, or one already answered
        a, what = p.acks[-1], _describe(p.cmd.op, p.cmd.args)
        status = a.get("status")
        if status == ACCEPTED:
            self._say(True, f"{what}: accepted by the rig")
        elif status == REJECTED:
            self._say(False, f"{what}: rejected by the rig: {a.get('reason', '')}")
        elif status == DONE:
            self._say(True, f"{what}: done ({a.get('outcome', '')})")

    def _say(self, ok: bool, text: str) -> tuple[bool, str]:
        self.notice = (ok, text)
        return ok, text


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a container
        return "operator"
