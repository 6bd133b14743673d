"""What an operator's screen keeps besides the rig: the standing alarms, the command log, and the
lease and heartbeat status. Pure: no engine, the clock is the caller's (`now`, s since epoch).

Alarms (`AlarmLog`), in the manner of an industrial HMI (ISA-18.2, simplified): each alarm has a
severity, the wall time it was raised, and is acknowledged by the operator. An alarm that clears
before anyone acknowledged it stays on the list, marked cleared, until it is acknowledged: a
trip that came and went must still be seen. One that was acknowledged leaves when it clears.
Alarms are keyed without their changing numbers (`history_feed.alarm_parts`): a mode that reads
4.1 then 4.3 % above the model is one alarm, its text updated, raised once. Where they come
from: the rig's status, the twin's alarm text and the history store (`state_alarms`), and an
operator's command lease that lapsed or was taken (`lease_alarms`, raised after an on-delay).

Commands (`CommandLog`): one line per event of the command channel (its listener records:
command, dry_run, ack_received, timeout; plus not_sent from the commander): sent, refused by
the twin's dry run with its plain reason and number, accepted, rejected, done, timed out.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from twin3d.live.history_feed import alarm_parts

CRITICAL, WARNING, ADVISORY = "critical", "warning", "advisory"
SEVERITIES = (CRITICAL, WARNING, ADVISORY)  # most severe first
RIG_FAULTS = ("estop", "tripped", "lost")  # rig statuses that are critical alarms


def clock_text(t: float) -> str:
    """A wall time as the operator's clock shows it (local HH:MM:SS)."""
    return time.strftime("%H:%M:%S", time.localtime(t))


def state_alarms(status: str, alarm: str = "", store_warning: str = "") -> dict[str, tuple]:
    """The alarms one frame's state stands for, {key: (text, severity)}: the rig's own fault
    (e-stop, trip, its link lost) is critical; each part of the twin's alarm text (a mode off
    its model, a damaged storey) a warning; the history store down an advisory."""
    out: dict[str, tuple] = {}
    if status and status != "ok":
        out[f"rig {status}"] = (f"rig: {status.upper()}",
                                CRITICAL if status in RIG_FAULTS else WARNING)
    for key, text in alarm_parts(alarm).items():
        out[key] = (text, WARNING)
    if store_warning:
        out["history store"] = (store_warning, ADVISORY)
    return out


def lease_alarms(rig_state, user: str, operator: bool, on_delay_s: float) -> dict[str, tuple]:
    """An operator (this twin has commanded) whose command lease is gone: lapsed (the rig's
    watchdog stopped hearing its heartbeats and ramps a running motor down) or taken by
    someone else. The rig's state reports a new lease a moment after the command that took it:
    `on_delay_s` (the rig's heartbeat timeout) keeps that moment from raising it."""
    if not operator or not isinstance(rig_state, dict) or rig_state.get("lease") == user:
        return {}
    holder = rig_state.get("lease")
    text = ("command lease lapsed: the rig stopped hearing this twin's heartbeats (a running "
            "motor ramps down)" if holder is None else
            f"command lease held by {holder}: the rig refuses this twin's commands")
    return {"lease": (text, WARNING, on_delay_s)}


@dataclass
class Alarm:
    key: str
    text: str
    severity: str
    raised_at: float
    acked_at: float | None = None
    cleared_at: float | None = None

    @property
    def acked(self) -> bool:
        return self.acked_at is not None

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    def describe(self) -> str:
        """One line: when raised, what, and whether it still stands or awaits acknowledgement."""
        state = "" if self.active else f"  (cleared {clock_text(self.cleared_at)})"
        return f"{clock_text(self.raised_at)}  {self.text}{state}"


class AlarmLog:
    """The standing alarms. `update(current, now)` once a frame with `state_alarms(...)` (and
    `lease_alarms(...)`); `acknowledge(key)` / `acknowledge_all(now)` from the operator.

    An entry of `current` may carry a third item, an on-delay in seconds: the condition must
    hold that long before it is raised (its time is when it began), so that a condition that
    is briefly true for a known reason does not leave a nuisance alarm behind."""

    def __init__(self, history: int = 200):
        self._alarms: dict[str, Alarm] = {}
        self._since: dict[str, float] = {}  # conditions waiting out their on-delay
        self.events: deque[tuple[float, str, str]] = deque(maxlen=history)  # (t, what, text)

    def update(self, current: dict[str, tuple], now: float) -> None:
        for key in [k for k in self._since if k not in current]:
            del self._since[key]
        for key, (text, severity, *delay) in current.items():
            a = self._alarms.get(key)
            if a is None or not a.active:  # new, or back after it cleared: raised again
                since = self._since.setdefault(key, now)
                if delay and now - since < delay[0]:
                    continue
                del self._since[key]
                self._alarms[key] = Alarm(key, text, severity, since)
                self.events.append((now, "raised", text))
            else:
                a.text, a.severity = text, severity
        for key, a in list(self._alarms.items()):
            if key not in current and a.active:
                a.cleared_at = now
                self.events.append((now, "cleared", a.text))
                if a.acked:
                    del self._alarms[key]

    def acknowledge(self, key: str, now: float) -> bool:
        """True when `key` was standing unacknowledged; a cleared one then leaves the list."""
        a = self._alarms.get(key)
        if a is None or a.acked:
            return False
        a.acked_at = now
        self.events.append((now, "acknowledged", a.text))
        if not a.active:
            del self._alarms[key]
        return True

    def acknowledge_all(self, now: float) -> int:
        return sum(self.acknowledge(key, now) for key in list(self._alarms))

    def standing(self) -> list[Alarm]:
        """Unacknowledged first, then by severity, then the newest first."""
        return sorted(self._alarms.values(),
                      key=lambda a: (a.acked, SEVERITIES.index(a.severity), -a.raised_at))

    @property
    def unacknowledged(self) -> int:
        return sum(not a.acked for a in self._alarms.values())

    def top(self) -> Alarm | None:
        """The alarm a banner shows: the most urgent standing one."""
        s = self.standing()
        return s[0] if s else None


# --- commands -------------------------------------------------------------------------------

SENT, REFUSED, ACCEPTED, REJECTED, DONE, TIMEOUT, NOT_SENT = (
    "sent", "refused", "accepted", "rejected", "done", "timeout", "not sent")
BAD_OUTCOMES = (REFUSED, REJECTED, TIMEOUT, NOT_SENT)  # drawn in the warning colour
SAID = {SENT: "sent", REFUSED: "refused by the twin", ACCEPTED: "accepted by the rig",
        REJECTED: "rejected by the rig", DONE: "done", TIMEOUT: "timed out", NOT_SENT: "not sent"}


def describe_command(op: str, args: dict | None) -> str:
    """A command in a few words ("speed 250 rpm", "estop"; "set speed" without its arguments:
    a refusal's record carries none, its reason names the number)."""
    args = args or {}
    if op == "set_speed" and "rpm" in args:
        return f"speed {args.get('rpm', 0):.0f} rpm"
    if op == "set_control" and args.get("strategy") == "dvf" and "gain" in args:
        return f"DVF gain {args['gain']:g}"
    return op.replace("_", " ")


@dataclass(frozen=True)
class LogEntry:
    t: float  # wall time, s since epoch
    outcome: str  # SENT, REFUSED, ACCEPTED, REJECTED, DONE, TIMEOUT, NOT_SENT
    id: str
    what: str  # describe_command
    detail: str = ""  # the reason or outcome
    value: float | None = None  # a refusal's number and the bound it crossed
    limit: float | None = None

    @property
    def bad(self) -> bool:
        return self.outcome in BAD_OUTCOMES

    def line(self) -> str:
        tail = f": {self.detail}" if self.detail else ""
        return f"{clock_text(self.t)}  {self.what}: {SAID[self.outcome]}{tail}"


@dataclass
class CommandLog:
    """The command channel's events as log lines, newest last. `record(kind, fields)` is a
    `CommandChannel.listeners` callable; `clock` gives the wall time of each."""

    size: int = 200
    clock: object = time.time
    entries: deque = field(init=False)

    def __post_init__(self) -> None:
        self.entries = deque(maxlen=self.size)
        self._what: dict[str, str] = {}  # command id -> its words (acks name no arguments)

    def record(self, kind: str, fields: dict) -> LogEntry | None:
        f, cid = fields, str(fields.get("id", ""))
        op = str(f.get("op", ""))
        if kind == "command":
            what = self._what[cid] = describe_command(op, f.get("args"))
            e = LogEntry(self.clock(), SENT, cid, what)
        elif kind == "dry_run":  # the twin's own refusal: the plain reason carries the number
            e = LogEntry(self.clock(), REFUSED, cid, describe_command(op, f.get("args")),
                         str(f.get("reason", "")), f.get("value"), f.get("limit"))
        elif kind == "not_sent":
            e = LogEntry(self.clock(), NOT_SENT, cid, describe_command(op, f.get("args")),
                         str(f.get("reason", "")))
        elif kind in ("ack_received", "timeout"):
            status = TIMEOUT if kind == "timeout" else str(f.get("status", ""))
            if status not in (ACCEPTED, REJECTED, DONE, TIMEOUT):
                return None
            detail = str(f.get("outcome") or f.get("reason") or "")
            e = LogEntry(self.clock(), status, cid,
                         self._what.get(cid) or describe_command(op, None), detail)
        else:
            return None
        self.entries.append(e)
        return e

    def latest(self, n: int) -> list[LogEntry]:
        """The last `n` commands, newest first, each at its latest word (sent, then accepted,
        then done: one line each on a small screen; `entries` keeps every step)."""
        out: dict[str, LogEntry] = {}
        for e in reversed(self.entries):
            if len(out) >= n:
                break
            out.setdefault(e.id, e)
        return sorted(out.values(), key=lambda e: self._order(e.id), reverse=True)

    def _order(self, cid: str) -> int:
        """Where command `cid` first appears in the log (a command keeps its place)."""
        return next(i for i, e in enumerate(self.entries) if e.id == cid)


# --- lease and heartbeat ----------------------------------------------------------------------

def lease_status(rig_state, user: str, operator: bool, heartbeat_age_s: float | None,
                 heartbeat_gap_s: float | None, heartbeat_every_s: float,
                 timeout_s: float) -> tuple[str, bool]:
    """(one line, ok) on who holds the rig's command lease and how this twin's heartbeats go.

    The lease is the rig's word (its state's `lease`); the heartbeats are this twin's, sent from
    the frame loop only once it has commanded (an operator). `heartbeat_age_s`: since the last
    one went out; `heartbeat_gap_s`: between the last two. Not ok: the rig has said nothing
    yet, someone else holds the lease, an operator does not hold it (it lapsed), or the
    heartbeats are more than half the rig's watchdog timeout late or apart (the link drops
    them, or the frames are that slow: the rig's watchdog will lapse the lease and ramp the
    motor down)."""
    if not isinstance(rig_state, dict):
        return "lease: no word from the rig yet", False
    holder = rig_state.get("lease")
    if holder == user:
        lease, ok = f"lease held by you ({user})", True
    elif holder is None:
        lease, ok = "lease free", not operator  # an operator's lease lapsed
    else:
        lease, ok = f"lease held by {holder}", False
    if not operator:
        return f"{lease}  |  heartbeat: none (viewing)", ok
    if heartbeat_age_s is None:
        return f"{lease}  |  heartbeat: not sent yet", False
    gap = heartbeat_gap_s or 0.0
    if max(heartbeat_age_s, gap) <= timeout_s / 2:
        return f"{lease}  |  heartbeat every {heartbeat_every_s:g} s", ok
    beat = (f"heartbeat {heartbeat_age_s:.1f} s ago" if heartbeat_age_s >= gap else
            f"heartbeats {gap:.1f} s apart (frames too slow)")
    return f"{lease}  |  {beat}, watchdog {timeout_s:g} s", False
