"""What the history holds: one `Record` per event (a kind, a wall time, the rig, a plain payload)
and one constructor per kind, so every writer names the same fields. No I/O here."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

KINDS = ("tracker", "calibration", "localisation", "alarm", "command", "ack")
DEFAULT_RIG = "rig1"


@dataclass(frozen=True, slots=True)
class Record:
    kind: str  # one of KINDS (others are stored too, for kinds still to come)
    payload: dict  # JSON-able; not changed after it is handed to a writer
    t: float = field(default_factory=time.time)  # wall time, s since the Unix epoch (UTC)
    rig: str = DEFAULT_RIG


def _floats(values) -> list[float | None]:
    """Plain floats; NaN and infinity (a mode not found) as None, as JSON will hold them."""
    out = []
    for v in (values if values is not None else ()):
        f = None if v is None else float(v)
        out.append(f if f is not None and math.isfinite(f) else None)
    return out


def tracker_update(frequencies_hz, damping=(), excitation_rms: float | None = None,
                   source_t: float | None = None, t: float | None = None,
                   rig: str = DEFAULT_RIG, **extra) -> Record:
    """One frequency-tracker result: each mode's frequency (Hz; NaN where not found), damping
    ratio, and the excitation level (rms of the table acceleration over the window, m/s^2)."""
    payload = {"frequencies_hz": _floats(frequencies_hz), "damping": _floats(damping),
               "excitation_rms": None if excitation_rms is None else float(excitation_rms),
               "source_t": source_t, **extra}
    return Record("tracker", payload, time.time() if t is None else t, rig)


def calibration(profile: str, frequencies_hz, storey_stiffness_n_per_m,
                storey_damping_ns_per_m, source: str, t_start: float | None = None,
                t_end: float | None = None, coherence: float | None = None,
                residual: float | None = None, t: float | None = None,
                rig: str = DEFAULT_RIG, **extra) -> Record:
    """A calibration saved as a profile, with its provenance (the source URL, the time span of
    the data it used, its coherence and the fit's residual)."""
    payload = {"profile": str(profile), "frequencies_hz": _floats(frequencies_hz),
               "storey_stiffness_n_per_m": _floats(storey_stiffness_n_per_m),
               "storey_damping_ns_per_m": _floats(storey_damping_ns_per_m),
               "source": str(source), "t_start": t_start, "t_end": t_end,
               "coherence": coherence, "residual": residual, **extra}
    return Record("calibration", payload, time.time() if t is None else t, rig)


def localisation(storeys=(), unexplained: str = "", t: float | None = None,
                 rig: str = DEFAULT_RIG, **extra) -> Record:
    """A localisation result: each storey's stiffness change with its 95 % interval, or why no
    storey explains the change (`unexplained`, non-empty)."""
    rows = [{"storey": int(s["storey"]), "change_percent": float(s["change_percent"]),
             "ci95_percent": float(s["ci95_percent"])} for s in storeys]
    payload = {"storeys": rows, "unexplained": str(unexplained), **extra}
    return Record("localisation", payload, time.time() if t is None else t, rig)


def alarm(raised: bool, text: str, mode: int | None = None, storey: int | None = None,
          t: float | None = None, rig: str = DEFAULT_RIG, **extra) -> Record:
    """An alarm raised (True) or cleared (False)."""
    payload = {"state": "raised" if raised else "cleared", "text": str(text), "mode": mode,
               "storey": storey, **extra}
    return Record("alarm", payload, time.time() if t is None else t, rig)


def command(op: str, args: dict | None, user: str, id: str = "", result: str = "",
            t: float | None = None, rig: str = DEFAULT_RIG, **extra) -> Record:
    """A command the twin sent (or refused: result says so)."""
    payload = {"op": str(op), "args": dict(args or {}), "user": str(user), "id": str(id),
               "result": str(result), **extra}
    return Record("command", payload, time.time() if t is None else t, rig)


def ack(op: str, id: str, status: str, user: str = "", result: str = "",
        t: float | None = None, rig: str = DEFAULT_RIG, **extra) -> Record:
    """A rig's answer to a command (accepted, rejected, done) or its timeout."""
    payload = {"op": str(op), "id": str(id), "status": str(status), "user": str(user),
               "result": str(result), **extra}
    return Record("ack", payload, time.time() if t is None else t, rig)
