"""Commands to the rig and their acks: dataclasses, JSON encode/decode, argument checks.

One command is one JSON object on the `cmd` topic (DESIGN.md section 5):

    {"id": "c-1a2b", "op": "set_speed", "args": {"rpm": 300}, "user": "alice",
     "ttl_s": 5.0, "sent": 1700000000.25, "n": 1700000000250000000}

`n` is the sender's command counter: strictly increasing per sender (`next_counter`: the wall
clock in ns, or one more than the last, whichever is larger, so separate `twin3d cmd` processes
keep increasing too). The rig keeps the last `n` of each user and refuses one that is not above
it, so a captured command cannot be replayed however many came after it; a command without `n`
is not one (both ends of this wire are in this repository).

and every command gets acks on `ack`: `accepted` or `rejected` (with a reason), and after
`accepted` one `done` when it has finished (`outcome` says how: reached, superseded, tripped...).
A client that hears nothing within its timeout reports a timeout itself.

Nothing here raises past a caller that asks for a decode: `decode_command` returns a Command or
a `CommandError` whose message is one line naming the field, the value and what is allowed.
Argument ranges come from the scene's [limits] so that the twin (before sending) and the rig
(on receipt) check the same numbers: OPS declares each range once, and `arg_range` /
`check_arg` are how anyone else (the motor panel, the simulated rig's sink, the rig's own
start speed) reads it.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

ACCEPTED, REJECTED, DONE = "accepted", "rejected", "done"
STATUSES = (ACCEPTED, REJECTED, DONE)
DEFAULT_TTL_S = 5.0
MAX_TTL_S = 3600.0
MAX_ID_LEN = 64
MAX_USER_LEN = 64
MAX_COMMAND_BYTES = 4096  # a command is a few hundred bytes; anything bigger is not one
# A DVF gain must stay at or below this fraction of the critical gain: 0.5 is a gain margin of
# 6 dB, room for the structure drifting from the model the bound was computed on (mass added,
# temperature, a loose bolt) and for the current loop's own lag, neither in the bound. The
# twin's dry run (on its model) and the rig (on its own structure) both apply it.
DVF_GAIN_MARGIN = 0.5
MAX_COUNTER = 2**63 - 1  # `n` fits a signed 64-bit integer (firmware), ns until the year 2262
FIELDS = ("id", "op", "args", "user", "ttl_s", "sent", "n")


class CommandError(ValueError):
    """A command that cannot be used: one line, `field: problem (got X, allowed Y)`."""

    def __init__(self, key: str, problem: str, got: Any = None, allowed: str | None = None,
                 cmd_id: str | None = None):
        self.key, self.problem, self.got, self.allowed, self.cmd_id = (key, problem, got,
                                                                        allowed, cmd_id)
        parts = []
        if got is not None:
            parts.append(f"got {got!r}" if not isinstance(got, float) else f"got {got:g}")
        if allowed is not None:
            parts.append(f"allowed {allowed}")
        detail = f" ({', '.join(parts)})" if parts else ""
        super().__init__(f"{key}: {problem}{detail}")


@dataclass(frozen=True)
class Arg:
    """One argument of an op. `lo`/`hi` may name a [limits] field (str) or be a number."""

    kind: str  # "float", "int", "str"
    required: bool = True
    lo: float | str | None = None
    hi: float | str | None = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    doc: str = ""


# The operations and their arguments. Limits named by string are read from the scene.
OPS: dict[str, dict[str, Arg]] = {
    "set_speed": {
        "rpm": Arg("float", lo=0.0, hi="max_speed_rpm", unit="rpm", doc="crank speed"),
        "ramp_rpm_per_s": Arg("float", required=False, lo=0.0, unit="rpm/s",
                              doc="ramp rate (clamped to limits.max_accel_rpm_per_s)"),
    },
    "stop": {},
    "estop": {},
    "reset": {},
    "set_stroke": {
        "stroke_m": Arg("float", lo="stroke_lo", hi="stroke_hi", unit="m",
                        doc="crank eccentricity (motor stopped)"),
    },
    "set_control": {
        "strategy": Arg("str", choices=("off", "dvf")),
        "floor": Arg("int", required=False, lo=1, hi="n_storeys", doc="actuator floor"),
        "gain": Arg("float", required=False, lo=0.0, hi="max_dvf_gain", unit="A/(m/s)",
                    doc="DVF gain h"),
    },
    "start_recording": {
        "name": Arg("str", required=False, doc="recording label"),
    },
    "stop_recording": {},
}


# How each bound named in OPS is read from a scene's Limits record (and the storey count).
_LIMIT_FIELDS = {
    "max_speed_rpm": lambda limits, n: limits.max_speed_rpm,
    "max_accel_rpm_per_s": lambda limits, n: limits.max_accel_rpm_per_s,
    "stroke_lo": lambda limits, n: limits.stroke_range_m[0],
    "stroke_hi": lambda limits, n: limits.stroke_range_m[1],
    "max_dvf_gain": lambda limits, n: limits.max_dvf_gain,
    "n_storeys": lambda limits, n: n,
}


def limit_values(limits, n_storeys: int) -> dict[str, float]:
    """The named bounds of OPS, from a scene's Limits record."""
    return {name: read(limits, n_storeys) for name, read in _LIMIT_FIELDS.items()}


def _bound(b, lims, n_storeys: int | None = None) -> float | None:
    """A bound of OPS as a number: itself, or the named limit read from `lims` (a dict from
    `limit_values`, or a Limits record: only the field named is read); None when it is named
    and there are no limits to read it from."""
    if not isinstance(b, str):
        return b
    if lims is None:
        return None
    if isinstance(lims, Mapping):
        return lims[b]
    if b == "n_storeys" and n_storeys is None:
        raise ValueError("n_storeys is needed for a bound named n_storeys")
    return _LIMIT_FIELDS[b](lims, n_storeys)


def _fmt(v: float) -> str:
    return f"{v:g}"


def arg_range(op: str, arg: str, limits=None,
              n_storeys: int | None = None) -> tuple[float | None, float | None]:
    """(lo, hi): the allowed range of argument `arg` of `op`, as declared in OPS (None where
    unbounded). `limits`: a scene's Limits record or a `limit_values` dict; without it the
    bounds named after a limit are None. The one source of a command argument's range: the
    rig's interlocks, the twin's panels and the simulated rig all read it here."""
    a = OPS[op][arg]
    return _bound(a.lo, limits, n_storeys), _bound(a.hi, limits, n_storeys)


def check_arg(op: str, arg: str, value, limits=None, n_storeys: int | None = None,
              what: str | None = None) -> str | None:
    """None when `value` is allowed for argument `arg` of `op`; otherwise why not, one line:
    `{what} {value} {unit} outside {lo}..{hi} {unit}` (`what` defaults to the argument's name).
    A NaN is outside every range. Bounds as in `arg_range`."""
    a = OPS[op][arg]
    what = what or arg
    if a.kind == "str":
        if a.choices and value not in a.choices:
            return f"{what} {value!r} not one of {' | '.join(a.choices)}"
        return None
    lo, hi = arg_range(op, arg, limits, n_storeys)
    if (lo is None or value >= lo) and (hi is None or value <= hi):
        return None
    unit = f" {a.unit}" if a.unit else ""
    if lo is not None and hi is not None:
        where = f"outside {_fmt(lo)}..{_fmt(hi)}{unit}"
    else:
        where = f"not >= {_fmt(lo)}{unit}" if lo is not None else f"not <= {_fmt(hi)}{unit}"
    return f"{what} {_fmt(value)}{unit} {where}"


@dataclass(frozen=True)
class Command:
    id: str
    op: str
    args: dict = field(default_factory=dict)
    user: str = ""
    ttl_s: float = DEFAULT_TTL_S
    sent: float = 0.0  # s since the Unix epoch, sender's clock
    n: int | None = None  # the sender's counter (next_counter); the rig refuses a command without

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    def expired(self, now: float) -> bool:
        return now > self.sent + self.ttl_s


@dataclass(frozen=True)
class Ack:
    id: str | None
    status: str
    op: str = ""
    user: str = ""
    reason: str = ""
    outcome: str = ""  # for done: reached, superseded, tripped, watchdog, ...
    t: float = 0.0
    source: str = "rig"  # who answered: rig, or twin (refused before sending)
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: v for k, v in d.items() if v not in ("", {}) or k in ("id", "status")}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


def new_id() -> str:
    return "c-" + uuid.uuid4().hex[:12]


_counter_lock = threading.Lock()
_last_counter = 0


def next_counter() -> int:
    """This process's next command counter: max(last + 1, wall clock in ns). Strictly
    increasing within the process; across processes it follows the wall clock, so a later
    `twin3d cmd` invocation continues above an earlier one's."""
    global _last_counter
    with _counter_lock:
        _last_counter = max(_last_counter + 1, time.time_ns())
        return _last_counter


def make_command(op: str, args: dict | None = None, user: str = "", ttl_s: float = DEFAULT_TTL_S,
                 cmd_id: str | None = None, sent: float | None = None,
                 n: int | None = None) -> Command:
    """A command stamped now (or at `sent`) with this process's next counter (or `n`)."""
    return Command(id=cmd_id or new_id(), op=op, args=dict(args or {}), user=user,
                   ttl_s=float(ttl_s), sent=time.time() if sent is None else float(sent),
                   n=next_counter() if n is None else int(n))


def _number(key: str, value, kind: str, cmd_id) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError(key, f"must be a number ({kind})", value, cmd_id=cmd_id)
    if not math.isfinite(value):
        raise CommandError(key, "must be finite", value, cmd_id=cmd_id)
    if kind == "int":
        if float(value) != int(value):
            raise CommandError(key, "must be a whole number", value, cmd_id=cmd_id)
        return int(value)
    return float(value)


def check_args(op: str, args: dict, lims: dict[str, float] | None = None,
               cmd_id: str | None = None) -> dict:
    """Normalised arguments of `op`, or CommandError. Without `lims` only static bounds apply."""
    if op not in OPS:
        raise CommandError("op", "unknown operation", op, " | ".join(OPS), cmd_id)
    if not isinstance(args, dict):
        raise CommandError("args", "must be a JSON object", type(args).__name__, cmd_id=cmd_id)
    specs = OPS[op]
    unknown = sorted(set(args) - set(specs))
    if unknown:
        raise CommandError(f"args.{unknown[0]}", f"not an argument of {op}", unknown[0],
                           ", ".join(specs) or "none", cmd_id)
    out = {}
    for name, a in specs.items():
        key = f"args.{name}"
        if name not in args:
            if a.required:
                raise CommandError(key, f"{op} needs it", None, _allowed(a, lims), cmd_id)
            continue
        v = args[name]
        if a.kind == "str":
            if not isinstance(v, str) or len(v) > 200:
                raise CommandError(key, "must be a string (<= 200 characters)", v, cmd_id=cmd_id)
            if a.choices and v not in a.choices:
                raise CommandError(key, "not allowed", v, " | ".join(a.choices), cmd_id)
        else:
            v = _number(key, v, a.kind, cmd_id)
            lo, hi = arg_range(op, name, lims or None)
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                raise CommandError(key, "out of range", v, _allowed(a, lims), cmd_id)
        out[name] = v
    return out


def _allowed(a: Arg, lims: dict[str, float] | None) -> str:
    if a.choices:
        return " | ".join(a.choices)
    lo, hi = _bound(a.lo, lims or None), _bound(a.hi, lims or None)
    unit = f" {a.unit}" if a.unit else ""
    if lo is not None and hi is not None:
        return f"{_fmt(lo)}..{_fmt(hi)}{unit}"
    if lo is not None:
        return f">= {_fmt(lo)}{unit}"
    return f"a {a.kind}"


def _text(obj: dict, key: str, limit: int, cmd_id, required: bool = True) -> str:
    v = obj.get(key, "")
    if not isinstance(v, str) or (required and not v) or len(v) > limit:
        raise CommandError(key, f"must be a non-empty string of <= {limit} characters", v,
                           cmd_id=cmd_id)
    return v


def decode_command(payload: bytes | str, lims: dict[str, float] | None = None) -> Command:
    """A Command from wire bytes, or CommandError (never anything else)."""
    if isinstance(payload, (bytes, bytearray)):
        if len(payload) > MAX_COMMAND_BYTES:
            raise CommandError("command", "too long", f"{len(payload)} bytes",
                               f"<= {MAX_COMMAND_BYTES} bytes")
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise CommandError("command", "not UTF-8 text") from None
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError) as e:
        raise CommandError("command", f"not JSON: {str(e)[:80]}") from None
    if not isinstance(obj, dict):
        raise CommandError("command", "must be a JSON object", type(obj).__name__)
    raw_id = obj.get("id")
    cmd_id = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= MAX_ID_LEN else None
    if cmd_id is None:
        raise CommandError("id", f"must be a non-empty string of <= {MAX_ID_LEN} characters",
                           raw_id)
    unknown = sorted(set(obj) - set(FIELDS))
    if unknown:
        raise CommandError(unknown[0], "unknown field", unknown[0], ", ".join(FIELDS), cmd_id)
    op = obj.get("op")
    if not isinstance(op, str):
        raise CommandError("op", "must be a string", op, " | ".join(OPS), cmd_id)
    user = _text(obj, "user", MAX_USER_LEN, cmd_id)
    ttl = _number("ttl_s", obj.get("ttl_s", DEFAULT_TTL_S), "float", cmd_id)
    if not 0 < ttl <= MAX_TTL_S:
        raise CommandError("ttl_s", "out of range", ttl, f"0..{MAX_TTL_S:g} s", cmd_id)
    sent = _number("sent", obj.get("sent"), "float", cmd_id)
    args = check_args(op, obj.get("args", {}), lims, cmd_id)
    n = obj.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= MAX_COUNTER:
        raise CommandError("n", "must be the sender's command counter, a whole number", n,
                           f"1..{MAX_COUNTER}", cmd_id)
    return Command(id=cmd_id, op=op, args=args, user=user, ttl_s=ttl, sent=sent, n=n)


def decode_ack(payload: bytes | str) -> Ack | None:
    """An Ack from wire bytes, or None when it is not one."""
    try:
        obj = json.loads(payload)
        if not isinstance(obj, dict) or obj.get("status") not in STATUSES:
            return None
        known = {f: obj[f] for f in Ack.__dataclass_fields__ if f in obj}
        return Ack(**known)
    except (ValueError, TypeError):
        return None


def parse_cli_args(op: str, pairs: list[str]) -> dict:
    """key=value strings from the command line to typed arguments (CommandError if bad)."""
    if op not in OPS:
        raise CommandError("op", "unknown operation", op, " | ".join(OPS))
    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise CommandError("argument", "needs key=value", pair)
        a = OPS[op].get(key)
        if a is None:
            raise CommandError(f"args.{key}", f"not an argument of {op}", key,
                               ", ".join(OPS[op]) or "none")
        if a.kind == "str":
            out[key] = value
            continue
        try:
            out[key] = int(value) if a.kind == "int" else float(value)
        except ValueError:
            raise CommandError(f"args.{key}", f"must be a number ({a.kind})", value) from None
    return out
