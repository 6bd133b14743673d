"""Rig-side safety: a pure state machine between the command topic and the motor driver.

What a rig's firmware must do, whoever sends the commands (DESIGN.md section 5):

- speed and acceleration limits: a speed above limits.max_speed_rpm is rejected; a ramp faster
  than limits.max_accel_rpm_per_s is clamped to it (and the ack says so);
- drift trip: a measured inter-storey drift above limits.drift_limit_m ramps the motor down at
  the fastest allowed rate and latches until `reset`;
- e-stop: brakes at once (windings shorted) and latches until `reset`; while latched every
  command is rejected but those that only make the rig safer: `reset`, a repeated `estop`,
  `stop` and `set_control strategy=off` (`twin3d.protocol.latch`);
- every trip that stops the motor (drift, e-stop, watchdog) also switches the controller off
  (gain 0), so a `reset` never re-arms the loop that tripped it;
- control stability: a DVF gain above DVF_GAIN_MARGIN x the critical gain of the structure the
  rig *is* (its own truth, not the twin's model) is rejected, whatever limits.max_dvf_gain says;
- replay: a command must carry its sender's counter `n`, above the last `n` accepted from that
  user (so a captured command cannot be replayed however many came after it), must not be sent
  more than MAX_CLOCK_SKEW_S ahead of the rig's clock, and must not be older than its ttl;
- lease: the first operator whose command is accepted holds the command lease; his commands and
  heartbeats keep it; another operator's commands are rejected while it is held (an e-stop is
  always obeyed, from anyone with operator rights);
- watchdog: when the holder is silent for limits.heartbeat_timeout_s the lease lapses, and a
  running motor ramps down (not latched: the next operator may start it again);
- flood: at most FLOOD_LIMIT commands in any FLOOD_WINDOW_S sliding window, counted over all
  users, get past the gate; the rest are rejected at once (counted in `flooded`), so a runaway
  client cannot keep the motor driver busy. `estop` and `reset` are never rate-limited.

`Interlocks` is fed with time and measurements and returns acks and trips; it never sleeps,
reads a clock or touches the network, so every rule is tested without a rig.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

from twin3d.protocol.commands import (ACCEPTED, DONE, DVF_GAIN_MARGIN, REJECTED, Ack, Command,
                                     CommandError, check_args, limit_values)
from twin3d.protocol.latch import ESTOP, OK, TRIPPED, Latch

STOPPED_RPM = 2.0  # below this the crank counts as stopped
SPEED_TOLERANCE = (2.0, 0.02)  # done when |speed - target| <= max(2 rpm, 2 % of target)
RECENT_IDS = 256  # ids remembered to word a duplicated command as such (`n` stops replays)
# How far ahead of the rig's clock a command's `sent` may be: clocks synced by NTP agree to
# milliseconds, 5 s covers a badly synced laptop; further ahead would let a command (or a
# captured one) stay valid for longer than its ttl says.
MAX_CLOCK_SKEW_S = 5.0
# Users whose last counter `n` is kept. An entry is only needed while some command it covers
# could still be accepted: every such command is refused as expired once the rig's clock passes
# its sent + ttl, so an entry is dropped (oldest first) only when that time has passed for all
# the commands recorded under it; a table full of live entries refuses a new user instead.
MAX_USERS = 1024
UNLIMITED_OPS = ("estop", "reset")  # safety first: never refused for a flood


@dataclass(frozen=True)
class Drive:
    """The command in force: what the motor driver and the controller are told."""

    brake: bool = False  # e-stop: windings shorted, no speed loop
    speed_rpm: float = 0.0
    ramp_rpm_per_s: float = 0.0
    stroke_m: float = 0.0
    control: str = "off"  # off | dvf
    gain: float = 0.0  # A/(m/s), 0 unless control is dvf
    floor: int = 1
    recording: str | None = None


@dataclass(frozen=True)
class Trip:
    """A safety event: drift, estop, watchdog or lease (lapsed)."""

    kind: str
    t: float
    message: str
    value: float | None = None
    limit: float | None = None
    user: str = ""

    def to_dict(self) -> dict:
        d = {"event": "trip", "kind": self.kind, "t": self.t, "message": self.message}
        if self.value is not None:
            d["value"] = self.value
            d["limit"] = self.limit
        if self.user:
            d["user"] = self.user
        return d


@dataclass
class _Pending:
    """An accepted command that has not finished yet (one motion command at a time)."""

    cmd: Command
    target_rpm: float


@dataclass
class Counters:
    accepted: int = 0
    rejected: int = 0
    bad_commands: int = 0
    trips: int = 0
    heartbeats: int = 0
    flooded: int = 0  # rejected by the rate limit (also counted in `rejected`)


class Interlocks:
    """Rig-side rules; see the module docstring. `now` is seconds since the Unix epoch."""

    FLOOD_LIMIT = 20  # commands let through in any FLOOD_WINDOW_S, over all users
    FLOOD_WINDOW_S = 1.0

    def __init__(self, limits, n_storeys: int, stroke_m: float, actuator_floor: int | None = 1,
                 dvf_critical_gain: float | None = None):
        """`dvf_critical_gain`: the DVF gain (A per m/s) at which the rig's own structure and
        actuator go unstable (`twin3d.physics.control.dvf_critical_gain` on its truth); gains
        above DVF_GAIN_MARGIN times it are refused. None: only limits.max_dvf_gain applies."""
        self.limits = limits
        self.dvf_critical_gain = dvf_critical_gain
        self.max_stable_gain = (DVF_GAIN_MARGIN * dvf_critical_gain
                                if dvf_critical_gain is not None else None)
        self.lims = limit_values(limits, n_storeys)
        self.actuator_floor = actuator_floor
        self.latch = Latch()  # e-stop or drift trip, until reset
        self.drive = Drive(ramp_rpm_per_s=limits.max_accel_rpm_per_s, stroke_m=stroke_m,
                           floor=actuator_floor or 1)
        self.lease_user: str | None = None
        self.lease_seen = 0.0
        self.speed_rpm = 0.0  # last measured crank speed
        self.counters = Counters()
        self._pending: _Pending | None = None
        self._recent: list[str] = []
        # user -> (last counter n, the latest sent + ttl of the commands recorded): insertion
        # order is refresh order, oldest first
        self._counters: dict[str, tuple[int, float]] = {}
        # times of the commands let through the flood gate, oldest first: at most FLOOD_LIMIT,
        # since refused ones are not kept (the state stays bounded however long a flood lasts)
        self._gate: deque[float] = deque()

    @property
    def status(self) -> str:
        """ok, estop or tripped: the latch's state."""
        return self.latch.state

    @property
    def latch_reason(self) -> str:
        return self.latch.reason

    # ---- commands ------------------------------------------------------------------------

    def reject_bad(self, error: CommandError, now: float) -> Ack:
        """Ack for bytes that are not a usable command: counted, never raised."""
        self.counters.bad_commands += 1
        self.counters.rejected += 1
        return Ack(id=error.cmd_id, status=REJECTED, reason=f"bad command: {error}", t=now)

    def submit(self, cmd: Command, now: float) -> list[Ack | Trip]:
        """Events of one decoded command: [rejected], or the done ack of a command it supersedes,
        accepted, and done (instant ops) or the e-stop trip."""
        if self._flooded(cmd, now):
            self.counters.flooded += 1
            self.counters.rejected += 1
            return [self._ack(cmd, REJECTED, now, reason=(
                f"command flood: more than {self.FLOOD_LIMIT} commands in "
                f"{self.FLOOD_WINDOW_S:g} s (this one refused)"))]
        reason = self._replay_refusal(cmd, now)
        if not reason:
            self._record_counter(cmd)
            # recorded even when refused below: a refused command must not become good later
            reason = self._refusal(cmd, now)
        if reason:
            self.counters.rejected += 1
            return [self._ack(cmd, REJECTED, now, reason=reason)]
        self._remember(cmd.id)
        if cmd.op != "estop" or self.lease_user in (None, cmd.user):
            self.lease_user, self.lease_seen = cmd.user, now
        self.counters.accepted += 1
        return getattr(self, "_do_" + cmd.op)(cmd, now)

    def heartbeat(self, user: str, now: float) -> None:
        """The lease holder is alive; heartbeats from anyone else change nothing."""
        self.counters.heartbeats += 1
        if user and user == self.lease_user:
            self.lease_seen = now

    def _flooded(self, cmd: Command, now: float) -> bool:
        """The rate limit, checked before anything else so that a refused command costs no
        more than this. Every command let through counts, whatever its fate afterwards: the
        gate limits the work a client can cause, not the commands it gets accepted."""
        if cmd.op in UNLIMITED_OPS:
            return False
        gate = self._gate
        while gate and gate[0] <= now - self.FLOOD_WINDOW_S:
            gate.popleft()
        if len(gate) >= self.FLOOD_LIMIT:
            return True
        gate.append(now)
        return False

    def _replay_refusal(self, cmd: Command, now: float) -> str:
        """Why `cmd` is not a fresh command from its sender (duplicate, from the future,
        expired, replayed or out of order), or ""."""
        if cmd.id in self._recent:
            return f"duplicate id {cmd.id}"
        if cmd.n is None:
            return "no command counter n: every command carries its sender's counter"
        if cmd.sent > now + MAX_CLOCK_SKEW_S:
            return (f"sent {cmd.sent - now:.2f} s in the future by the rig's clock, more than "
                    f"the allowed clock skew {MAX_CLOCK_SKEW_S:g} s")
        if cmd.expired(now):
            return (f"expired: sent {now - cmd.sent:.2f} s ago, time-to-live "
                    f"{cmd.ttl_s:g} s")
        last = self._counters.get(cmd.user)
        if last is not None and cmd.n <= last[0]:
            return (f"replayed or out-of-order command: n {cmd.n} not above the last from "
                    f"{cmd.user}, {last[0]}")
        if last is None and len(self._counters) >= MAX_USERS:
            self._drop_stale_counters(now)
            if len(self._counters) >= MAX_USERS:
                return (f"too many users with live commands ({MAX_USERS}): the rig cannot "
                        f"remember another user's counter until one of theirs expires")
        return ""

    def _record_counter(self, cmd: Command) -> None:
        old = self._counters.pop(cmd.user, None)
        until = cmd.sent + cmd.ttl_s
        self._counters[cmd.user] = (cmd.n, until if old is None else max(until, old[1]))

    def _drop_stale_counters(self, now: float) -> None:
        """Forget the users all of whose recorded commands have expired (any replay of them
        is refused as expired anyway)."""
        for user in [u for u, (_, until) in self._counters.items() if now > until]:
            del self._counters[user]

    def _refusal(self, cmd: Command, now: float) -> str:
        try:
            check_args(cmd.op, cmd.args, self.lims, cmd.id)
        except CommandError as e:
            return str(e)
        if cmd.op == "estop":
            return ""  # always obeyed
        latched = self.latch.admits(cmd.op, cmd.args)
        if latched:
            return latched
        live = now - self.lease_seen <= self.limits.heartbeat_timeout_s
        if self.lease_user not in (None, cmd.user) and live:
            left = self.limits.heartbeat_timeout_s - (now - self.lease_seen)
            return f"lease held by {self.lease_user} (lapses {left:.1f} s after its last heartbeat)"
        return self._state_refusal(cmd)

    def _state_refusal(self, cmd: Command) -> str:
        if cmd.op == "set_stroke" and (self.speed_rpm > STOPPED_RPM or self.drive.speed_rpm > 0):
            return (f"stroke can only change with the motor stopped (crank at "
                    f"{self.speed_rpm:.1f} rpm, target {self.drive.speed_rpm:g} rpm)")
        if cmd.op == "set_control" and cmd.args["strategy"] == "dvf":
            if self.actuator_floor is None:
                return "no actuator installed"
            floor = cmd.args.get("floor", self.actuator_floor)
            if floor != self.actuator_floor:
                return f"args.floor: the actuator is on floor {self.actuator_floor} (got {floor})"
            if "gain" not in cmd.args:
                return "args.gain: dvf needs a gain"
            gain, bound = float(cmd.args["gain"]), self.max_stable_gain
            if bound is not None and gain > bound:
                return (f"args.gain: DVF gain {gain:g} A/(m/s) above the rig's stability bound "
                        f"{bound:.4g} A/(m/s) ({DVF_GAIN_MARGIN:g} x its critical gain "
                        f"{self.dvf_critical_gain:.4g} A/(m/s), a gain margin of "
                        f"{-20 * math.log10(DVF_GAIN_MARGIN):.0f} dB)")
        return ""

    def _control_off(self) -> None:
        """A trip that stops the motor also switches the controller off: a `reset` must not
        re-arm the loop that may have caused the trip."""
        self.drive = replace(self.drive, control="off", gain=0.0)

    def _remember(self, cmd_id: str) -> None:
        self._recent.append(cmd_id)
        del self._recent[:-RECENT_IDS]

    def _ack(self, cmd: Command, status: str, now: float, **kw) -> Ack:
        return Ack(id=cmd.id, status=status, op=cmd.op, user=cmd.user, t=now, **kw)

    def _start_motion(self, cmd: Command, now: float, target: float) -> list:
        acks = self._finish_pending(now, "superseded", by=cmd.id)
        self._pending = _Pending(cmd, target)
        return acks

    def _do_set_speed(self, cmd: Command, now: float) -> list[Ack]:
        rpm = float(cmd.args["rpm"])
        max_ramp = self.limits.max_accel_rpm_per_s
        ramp = float(cmd.args.get("ramp_rpm_per_s", max_ramp))
        detail, reason = {"rpm": rpm, "ramp_rpm_per_s": min(ramp, max_ramp)}, ""
        if ramp > max_ramp or ramp <= 0:
            reason = (f"ramp_rpm_per_s {ramp:g} clamped to limits.max_accel_rpm_per_s "
                      f"{max_ramp:g}")
            ramp = max_ramp
            detail["ramp_rpm_per_s"] = ramp
        acks = self._start_motion(cmd, now, rpm)
        self.drive = replace(self.drive, brake=False, speed_rpm=rpm, ramp_rpm_per_s=ramp)
        return acks + [self._ack(cmd, ACCEPTED, now, reason=reason, detail=detail)]

    def _do_stop(self, cmd: Command, now: float) -> list[Ack]:
        acks = self._start_motion(cmd, now, 0.0)
        self.drive = replace(self.drive, speed_rpm=0.0,
                             ramp_rpm_per_s=self.limits.max_accel_rpm_per_s)
        return acks + [self._ack(cmd, ACCEPTED, now)]

    def _do_estop(self, cmd: Command, now: float) -> list:
        if self.status == ESTOP:
            return [self._ack(cmd, ACCEPTED, now, reason="e-stop already latched"),
                    self._ack(cmd, DONE, now, outcome="latched")]
        acks = self._start_motion(cmd, now, 0.0)
        self.latch.engage(f"e-stop by {cmd.user}", ESTOP)
        self.drive = replace(self.drive, brake=True, speed_rpm=0.0)
        self._control_off()
        self.counters.trips += 1
        return acks + [self._ack(cmd, ACCEPTED, now),
                       Trip("estop", now, f"e-stop by {cmd.user}", user=cmd.user)]

    def _do_reset(self, cmd: Command, now: float) -> list[Ack]:
        was = self.latch.release()
        self.drive = replace(self.drive, brake=False, speed_rpm=0.0,
                             ramp_rpm_per_s=self.limits.max_accel_rpm_per_s)
        acks = self._finish_pending(now, "reset", by=cmd.id)
        return acks + [self._ack(cmd, ACCEPTED, now, detail={"was": was}),
                       self._ack(cmd, DONE, now, outcome="reset")]

    def _do_set_stroke(self, cmd: Command, now: float) -> list[Ack]:
        self.drive = replace(self.drive, stroke_m=float(cmd.args["stroke_m"]))
        return self._instant(cmd, now)

    def _do_set_control(self, cmd: Command, now: float) -> list[Ack]:
        dvf = cmd.args["strategy"] == "dvf"
        self.drive = replace(self.drive, control=cmd.args["strategy"],
                             gain=float(cmd.args["gain"]) if dvf else 0.0,
                             floor=int(cmd.args.get("floor", self.drive.floor)))
        return self._instant(cmd, now)

    def _do_start_recording(self, cmd: Command, now: float) -> list[Ack]:
        self.drive = replace(self.drive, recording=cmd.args.get("name") or cmd.id)
        return self._instant(cmd, now)

    def _do_stop_recording(self, cmd: Command, now: float) -> list[Ack]:
        self.drive = replace(self.drive, recording=None)
        return self._instant(cmd, now)

    def _instant(self, cmd: Command, now: float) -> list[Ack]:
        return [self._ack(cmd, ACCEPTED, now), self._ack(cmd, DONE, now, outcome="applied")]

    def _finish_pending(self, now: float, outcome: str, by: str = "") -> list[Ack]:
        p, self._pending = self._pending, None
        if p is None:
            return []
        detail = {"speed_rpm": round(self.speed_rpm, 3)}
        if by:
            detail["by"] = by
        return [self._ack(p.cmd, DONE, now, outcome=outcome, detail=detail)]

    # ---- measurements --------------------------------------------------------------------

    def update(self, now: float, speed_rpm: float, drift_m: float) -> list[Ack | Trip]:
        """Feed one measurement (crank speed, peak |inter-storey drift| since the last call).

        Returns trips and the `done` acks of commands that finished.
        """
        self.speed_rpm = abs(float(speed_rpm))
        events: list[Ack | Trip] = []
        limit = self.limits.drift_limit_m
        if drift_m > limit and self.status != ESTOP:
            if self.status == OK:
                msg = f"drift {1e3 * drift_m:.3f} mm above limits.drift_limit_m {1e3 * limit:g} mm"
                self.latch.engage(msg, TRIPPED)
                self.drive = replace(self.drive, speed_rpm=0.0,
                                     ramp_rpm_per_s=self.limits.max_accel_rpm_per_s)
                self._control_off()
                self.counters.trips += 1
                events.append(Trip("drift", now, msg, value=float(drift_m), limit=limit))
                events += self._finish_pending(now, "tripped")
        lapsed = self._lapse_lease(now)
        if lapsed:
            running = self.drive.speed_rpm > 0 or self.speed_rpm > STOPPED_RPM
            if running and not self.drive.brake:
                msg = (f"watchdog: no heartbeat from {lapsed} for "
                       f"{now - self.lease_seen:.1f} s, ramping the motor down")
                self.drive = replace(self.drive, speed_rpm=0.0,
                                     ramp_rpm_per_s=self.limits.max_accel_rpm_per_s)
                self._control_off()
                self.counters.trips += 1
                events.append(Trip("watchdog", now, msg, user=lapsed))
                events += self._finish_pending(now, "watchdog")
            else:
                events.append(Trip("lease", now, f"lease of {lapsed} lapsed (no heartbeat)",
                                   user=lapsed))
        p = self._pending
        if p is not None:
            lo, rel = SPEED_TOLERANCE
            if p.target_rpm == 0.0 and self.speed_rpm <= STOPPED_RPM:
                events += self._finish_pending(now, "stopped")
            elif p.target_rpm > 0 and abs(self.speed_rpm - p.target_rpm) <= max(
                    lo, rel * p.target_rpm):
                events += self._finish_pending(now, "reached")
        return events

    def _lapse_lease(self, now: float) -> str | None:
        """Release a lease whose holder has been silent too long; returns that holder."""
        user = self.lease_user
        if user is not None and now - self.lease_seen > self.limits.heartbeat_timeout_s:
            self.lease_user = None
            return user
        return None

    # ---- reporting -----------------------------------------------------------------------

    def snapshot(self) -> dict:
        """The interlock part of the retained `state` message."""
        d = self.drive
        return {"interlock": self.status, "latch_reason": self.latch_reason,
                "lease": self.lease_user, "target_rpm": d.speed_rpm,
                "ramp_rpm_per_s": d.ramp_rpm_per_s, "brake": d.brake, "stroke_m": d.stroke_m,
                "control": {"strategy": d.control, "gain": d.gain, "floor": d.floor},
                "recording": d.recording,
                "pending": self._pending.cmd.id if self._pending else None,
                "counters": dict(vars(self.counters))}
