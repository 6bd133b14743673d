"""The live twin's monitoring history: what the feed does goes to the store (`--store`), and the
last hours come back as the trend the scene draws.

`HistoryFeed.open(url)` starts a `twin3d.history.Writer` (its own thread; a store that is down or
wrong is one line, counted, and the twin runs on). `LiveFeed.advance` calls `observe(feed)` once
a frame: a new tracker result becomes a tracker record (frequencies, damping, excitation level),
a change of the alarm text becomes "cleared" for the old one and "raised" for the new one. The
command channel hands over every command, refusal, ack and timeout (`on_command`). Any other
part of the live side records through `LiveFeed.emit(record)` (calibrations, localisations).
Everything recorded also goes into the trend (the store's recent records are read back once, in
the writer's thread, when it first connects), so the scene never reads the database."""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from twin3d.history import Writer, records
from twin3d.history.records import Record

TREND_S = 6 * 3600.0  # what the scene's trend keeps: the last six hours
_NUMBERED = re.compile(r"\b(mode|storey)\s+(\d+)")
_AMOUNT = re.compile(r"[-+]?\d+(\.\d+)?(?=\s*%)|[-+]?\d+\.\d+")


@dataclass(frozen=True)
class Trend:
    """The tracked frequencies over the last hours, for the scene (wall times, s since epoch)."""

    t: np.ndarray  # (n,) time of each tracker update
    hz: np.ndarray  # (n, modes) frequencies, NaN where a mode was not found
    marks: tuple[tuple[float, str, str], ...] = ()  # (t, calibration | raised | cleared, text)
    span_s: float = TREND_S
    now: float = 0.0
    version: int = 0  # changes whenever the trend does (the plot redraws only then)
    status: str = ""  # the store's one-line status, for the plot's title
    extra: dict = field(default_factory=dict)


def alarm_parts(text: str) -> dict[str, str]:
    """The alarms in one alarm text ("; "-separated), keyed without their changing numbers: a
    mode that stays 4.1 then 4.3 % above the model is one alarm, raised once."""
    parts = [p.strip() for p in text.split(";") if p.strip()]
    return {_AMOUNT.sub("#", p): p for p in parts}


def alarm_subject(text: str) -> dict:
    """The mode and storey an alarm text names ("mode 1 4.1 % above model" -> mode 1)."""
    out: dict = {"mode": None, "storey": None}
    for what, n in _NUMBERED.findall(text):
        out.setdefault(what, None)
        if out[what] is None:
            out[what] = int(n)
    return out


class HistoryFeed:
    def __init__(self, writer: Writer | None, rig: str = records.DEFAULT_RIG,
                 off_reason: str = "", trend_s: float = TREND_S, clock: Callable = None):
        import time

        self.writer, self.rig, self.off_reason = writer, rig, off_reason
        self.trend_s = trend_s
        self.clock = clock or time.time
        self._points: deque[tuple[float, tuple]] = deque(maxlen=int(trend_s) + 1)
        self._marks: deque[tuple[float, str, str]] = deque(maxlen=500)
        self._version = 0
        self._cached: Trend | None = None
        self._merged = writer is None or writer.preload_s is None
        self._seen_fit = None
        self._alarm = ""
        self._raised: dict[str, str] = {}  # alarm key -> its text when raised

    @classmethod
    def open(cls, url: str | None, rig: str = records.DEFAULT_RIG,
             say: Callable[[str], None] | None = None, **writer_args) -> HistoryFeed:
        """`none`: history off. Otherwise a writer on `url` (None: the user's SQLite file);
        the URL's form was checked by the command line."""
        if url is not None and url.strip().lower() == "none":
            return cls(None, rig, off_reason="off (--store none)")
        w = Writer(url, say=say, preload_s=TREND_S, preload_rig=rig, **writer_args)
        return cls(w, rig)

    def attach(self, feed) -> HistoryFeed:
        """Hook onto a LiveFeed: its tracker results and alarms (observe, once a frame), its
        commands and acks (the command channel), and `feed.emit` for the rest."""
        feed.store = self
        commander = getattr(feed, "commander", None)
        if commander is not None:
            commander.channel.listeners.append(self.on_command)
        return self

    @classmethod
    def open_for(cls, feed, url: str | None, say: Callable[[str], None] | None = None
                 ) -> HistoryFeed:
        """Open (`none`: off) and attach to a LiveFeed, under the rig its source names."""
        return cls.open(url, rig=rig_of(feed.ingest.url), say=say).attach(feed)

    # --- recording ------------------------------------------------------------------------------
    def emit(self, rec: Record) -> None:
        """Into the store (never waits) and the trend; a record left on the default rig is
        this feed's rig's."""
        if rec.rig == records.DEFAULT_RIG and self.rig != records.DEFAULT_RIG:
            rec = replace(rec, rig=self.rig)
        if self.writer is not None:
            self.writer.put(rec)
        self._add(rec)

    def observe(self, feed) -> None:
        """Once a frame: a new tracker result, an alarm raised or cleared."""
        tracked = feed.tracked_hz
        if tracked and tracked is not self._seen_fit:
            self._seen_fit = tracked
            tracker = getattr(feed, "tracker", None)
            damping = getattr(tracker, "damping", None) if tracker is not None else None
            self.emit(records.tracker_update(
                tracked, () if damping is None else list(np.asarray(damping, float)),
                excitation_rms=_excitation(tracker), source_t=round(feed.t, 3), rig=self.rig))
        alarm = feed.alarm or ""
        if alarm != self._alarm:
            self._alarm = alarm
            now = alarm_parts(alarm)
            for key in [k for k in self._raised if k not in now]:
                text = self._raised.pop(key)
                self.emit(records.alarm(False, text, rig=self.rig, **alarm_subject(text)))
            for key, text in now.items():
                if key not in self._raised:
                    self._raised[key] = text
                    self.emit(records.alarm(True, text, rig=self.rig, **alarm_subject(text)))

    def on_command(self, kind: str, fields: dict) -> None:
        """The command channel's records (its audit kinds): command, dry_run, ack_received,
        timeout."""
        f = fields
        if kind == "command":
            rec = records.command(f.get("op", ""), f.get("args"), f.get("user", ""),
                                  id=f.get("id", ""), result="issued", rig=self.rig)
        elif kind == "dry_run":
            rec = records.command(f.get("op", ""), f.get("args"), f.get("user", ""),
                                  id=f.get("id", ""),
                                  result=f"refused by the twin: {f.get('reason', '')}",
                                  rig=self.rig)
        elif kind in ("ack_received", "timeout"):
            rec = records.ack(f.get("op", ""), f.get("id", ""), f.get("status", kind),
                              user=f.get("user", ""),
                              result=str(f.get("outcome") or f.get("reason") or ""), rig=self.rig)
        else:
            return
        self.emit(rec)

    # --- the trend ------------------------------------------------------------------------------
    def _add(self, rec: Record) -> None:
        if rec.kind == "tracker":
            f = rec.payload.get("frequencies_hz") or ()
            self._points.append((rec.t, tuple(math.nan if v is None else float(v) for v in f)))
        elif rec.kind == "calibration" and rec.payload.get("status") != "refused":
            self._marks.append((rec.t, "calibration",
                                f"calibrated: {rec.payload.get('profile', '')}"))
        elif rec.kind == "alarm":
            self._marks.append((rec.t, rec.payload.get("state", "raised"),
                                str(rec.payload.get("text", ""))))
        else:
            return
        self._version += 1

    def _merge_preloaded(self) -> None:
        """The store's last hours, read by the writer's thread, go in front of what this run
        has recorded since (once)."""
        pre = self.writer.preloaded
        if pre is None:
            return
        self._merged = True
        mine_p, mine_m = list(self._points), list(self._marks)
        self._points.clear()
        self._marks.clear()
        first = min([p[0] for p in mine_p] + [m[0] for m in mine_m], default=math.inf)
        for rec in pre:
            if rec.t < first:  # not this run's own (already in)
                self._add(rec)
        self._points.extend(mine_p)
        self._marks.extend(mine_m)
        self._version += 1

    def trend(self) -> Trend:
        if not self._merged:
            self._merge_preloaded()
        now = self.clock()
        cached = self._cached
        if cached is not None and cached.version == self._version and now - cached.now < 5.0:
            return cached
        lo = now - self.trend_s
        pts = [p for p in self._points if p[0] >= lo]
        m = max((len(f) for _, f in pts), default=0)
        hz = np.full((len(pts), m), np.nan)
        for i, (_, f) in enumerate(pts):
            hz[i, :len(f)] = f
        t = np.fromiter((p[0] for p in pts), float, len(pts))
        marks = tuple(x for x in self._marks if x[0] >= lo)
        self._cached = Trend(t, hz, marks, self.trend_s, now, self._version,
                             self.status_line())
        return self._cached

    # --- status ---------------------------------------------------------------------------------
    def counters(self) -> dict:
        if self.writer is None:
            return {"url": None, "state": "off", "written": 0, "buffered": 0, "dropped": 0,
                    "errors": 0, "set_aside": 0, "not_written": 0, "spilled": "",
                    "last_error": self.off_reason}
        return self.writer.counters()

    def status_line(self) -> str:
        if self.writer is None:
            return f"history {self.off_reason}"
        return " ".join(self.writer.status_line().split())

    def warning(self) -> str:
        """For the HUD's alarm lines: empty while the store takes the records."""
        if self.writer is None or self.writer.state in ("ok", "connecting"):
            return ""
        return f"{self.status_line()}: {self.writer.last_error}"

    def close(self) -> dict:
        if self.writer is not None:
            self.writer.close()
        return self.counters()


def rig_of(source_url: str) -> str:
    """The rig a source's records belong to: an MQTT rig id (`mqtt://host:port/RIG`, default
    rig1); `sim` for the in-process rig, `replay`, `serial` for those, so a demo's simulated
    history never mixes with a real rig's."""
    scheme, _, rest = source_url.partition(":")
    if scheme in ("mqtt", "mqtts"):
        path = rest.lstrip("/").partition("/")[2].split("?")[0].strip("/")
        return path or records.DEFAULT_RIG
    return scheme.split("?")[0] or records.DEFAULT_RIG


def _excitation(tracker) -> float | None:
    """rms of the table acceleration over the tracker's window (decimated), m/s^2."""
    if tracker is None or not hasattr(tracker, "window_data"):
        return None
    try:
        x = tracker.window_data()[0]
    except Exception:  # a tracker still filling its window
        return None
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else None
