"""Open a source URL as one uniform ingest object.

    sim[?rpm=0&seed=0]                   the simulated rig in this process (twin3d.rig.inprocess),
                                         behind the same protocol as on a broker
    mqtt://host[:port][/rig_id]          a rig on a broker (mqtts:// with ?ca=FILE for TLS;
                                         credentials from TWIN3D_MQTT_USER / TWIN3D_MQTT_PASS)
    serial:///dev/ttyX[?baud=N]          a rig speaking `$D/$M` lines
    replay:PATH[?speed=X]                a recording folder, at X times real time (0: flat out)

Every source hands out `Ingested` blocks from `poll()` and keeps the same counters: blocks,
samples, gaps (sequence gaps), lost_blocks, duplicates (a block seen again: dropped, never drawn
or recorded twice), crc_errors, invalid, overflows. Bad frames are counted with the reason in
`last_error`, never raised.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np

from twin3d.io import t3d1
from twin3d.io.inbox import Inbox

COUNTERS = ("blocks", "samples", "gaps", "lost_blocks", "duplicates", "crc_errors", "invalid",
            "overflows")


@dataclass(frozen=True)
class Ingested:
    """One block accepted from a source."""

    block: t3d1.Block
    values: np.ndarray  # (n_samples, n_channels) physical units, float64
    raw: bytes  # the T3D1 bytes as received (what a recorder stores)
    t_recv_ns: int  # host clock at arrival
    t_rig_ns: int  # host-clock time of the block's last sample at the rig (latency origin)


class Ingest:
    """Common part of every source: decoding, sequence checks, counters."""

    def __init__(self, url: str):
        self.url = url
        self.counters = {k: 0 for k in COUNTERS}
        self.meta: t3d1.Meta | None = None
        self.meta_raw: dict | None = None
        self.status = "waiting"  # waiting, ok, lost, or the rig's own status from `state`
        self.rig_state: dict | None = None
        self.last_error = ""
        self.events: deque[dict] = deque(maxlen=10_000)  # state changes, acks: for recorders
        self._last_seq: int | None = None
        self._last_t0_ns = 0
        self._ready = threading.Event()

    # subclasses: start(), stop(), poll()
    def start(self) -> Ingest:
        return self

    def stop(self) -> None:
        pass

    def poll(self, max_blocks: int = 10_000) -> list[Ingested]:
        raise NotImplementedError

    def wait(self, timeout: float) -> bool:
        """Block until data may be ready (or timeout); then call poll()."""
        ok = self._ready.wait(timeout)
        self._ready.clear()
        return ok

    @property
    def finished(self) -> bool:
        """True when the source has nothing more to give (a replay at its end)."""
        return False

    def __enter__(self) -> Ingest:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def set_meta(self, obj) -> bool:
        m = t3d1.parse_meta(obj)
        if isinstance(m, t3d1.Invalid):
            self.counters["invalid"] += 1
            self.last_error = m.reason
            return False
        self.meta, self.meta_raw = m, dict(obj)
        return True

    def _accept(self, raw: bytes, t_recv_ns: int, t_rig_ns: int | None = None
                ) -> Ingested | None:
        b = t3d1.decode(raw)
        if isinstance(b, t3d1.Invalid):
            self.counters["crc_errors" if b.kind == t3d1.CRC else "invalid"] += 1
            self.last_error = f"dropped a block: {b.reason}"
            return None
        m = self.meta
        if m is not None and b.n_channels != len(m.channels):
            self.counters["invalid"] += 1
            self.last_error = (f"block seq {b.seq} has {b.n_channels} channels, the meta "
                               f"{len(m.channels)}")
            return None
        if b.is_int16 and (m is None or m.scales is None):
            self.counters["invalid"] += 1
            self.last_error = f"int16 block seq {b.seq} before a meta with scales"
            return None
        if self._last_seq is not None and b.t0_ns <= self._last_t0_ns:
            # a block from the past (replayed or duplicated, whatever its seq): time would run
            # back, so it is dropped and counted, never drawn or recorded twice
            self.counters["duplicates"] += 1
            self.last_error = f"dropped a repeated block: seq {b.seq} after {self._last_seq}"
            return None
        if self._last_seq is not None and b.seq != self._last_seq + 1:
            # a jump forward lost blocks; a jump back with time running on is a restarted rig
            self.counters["gaps"] += 1
            if b.seq > self._last_seq:
                self.counters["lost_blocks"] += b.seq - self._last_seq - 1
            self.last_error = f"sequence gap: {self._last_seq} -> {b.seq}"
        self._last_seq, self._last_t0_ns = b.seq, b.t0_ns
        self.counters["blocks"] += 1
        self.counters["samples"] += b.n_samples
        values = b.values(m.scales if b.is_int16 else None)
        if t_rig_ns is None:
            t_rig_ns = b.t0_ns + int(round((b.n_samples - 1) * 1e9 / b.fs))
        return Ingested(b, values, raw, t_recv_ns, t_rig_ns)


# --- mqtt ------------------------------------------------------------------------------------

class LinkSource(Ingest):
    """A source fed by a link thread: start/stop the link; `wait` blocks on its queue and hands
    the first message to `_take` (the source's own handling of one message)."""

    link: object

    def start(self) -> LinkSource:
        self.link.start()
        return self

    def stop(self) -> None:
        self.link.stop()

    def wait(self, timeout: float) -> bool:
        m = self.link.get(timeout)
        if m is not None:
            self._take(m)
        return m is not None

    def _take(self, message) -> None:
        raise NotImplementedError


class MqttSource(LinkSource):
    """Blocks from `twin3d/<rig_id>/data`, the retained meta and state; acks go to `events` and
    to every callable in `ack_listeners` (the twin's commander).

    `link` is a `twin3d.io.mqtt_link.MqttLink` on a broker, or a `twin3d.io.loopback`
    link to a rig in this process: the same protocol either way."""

    def __init__(self, url: str, link, rig_id: str):
        super().__init__(url)
        from twin3d.io.mqtt_link import Topics

        self.topics = Topics.for_rig(rig_id)
        self.link = link
        for t in (self.topics.data, self.topics.meta, self.topics.state, self.topics.ack):
            link.subscribe(t)
        self.ack_listeners: list = []
        self._pending: deque = deque()

    def _take(self, message) -> None:
        self._pending.append(message)  # handled in order with the rest at the next poll

    def poll(self, max_blocks: int = 10_000) -> list[Ingested]:
        msgs = list(self._pending) + self.link.drain()
        self._pending.clear()
        self.counters["overflows"] = self.link.counters.overflows
        out = []
        for m in msgs:
            if m.topic == self.topics.data:
                it = self._accept(m.payload, m.t_recv_ns)
                if it is not None:
                    out.append(it)
            elif m.topic == self.topics.meta:
                obj = m.json()
                if obj is None:
                    self.counters["invalid"] += 1
                    self.last_error = "meta message is not JSON"
                else:
                    self.set_meta(obj)  # counts and explains a bad one
            elif m.topic == self.topics.state:
                obj = m.json()
                if isinstance(obj, dict):
                    self.rig_state = obj
                    self.events.append({"kind": "state", **obj})
            elif m.topic == self.topics.ack:
                obj = m.json()
                if isinstance(obj, dict):
                    for listener in self.ack_listeners:
                        listener(obj)
                self.events.append({"kind": "ack", **(obj if isinstance(obj, dict)
                                                      else {"raw": m.payload.decode(
                                                          "utf-8", "replace")})})
        if not self.link.connected:
            self.status = "lost"
        elif self.rig_state is not None:
            self.status = str(self.rig_state.get("status", "ok"))
        else:
            self.status = "ok" if self.counters["blocks"] else "waiting"
        return out


# --- serial ----------------------------------------------------------------------------------

class SerialSource(LinkSource):
    """`$D` lines grouped into blocks at each poll; `$M` gives the channel names and units.

    The per-line seq reveals lost lines (counted as gaps); the device clock t_us becomes t0.
    A clock that is not the Unix epoch (a microcontroller's uptime) is placed on the host's
    clock by the smallest arrival offset seen, so latency stays meaningful.
    """

    def __init__(self, url: str, path: str, baud: int, fs_hint: float, block_samples: int):
        super().__init__(url)
        from twin3d.io.serial_link import SerialLink

        self.link = SerialLink(path, baud)
        self.fs = fs_hint
        self.block_samples = block_samples
        self._seq = 0
        self._last_line_seq: int | None = None
        self._offset_ns: int | None = None
        self._rows: list = []  # (seq, t_us, values, t_recv)

    def _take(self, sm) -> None:
        from twin3d.io.serial_lines import AckLine, DataLine, MetaLine

        msg = sm.message
        if isinstance(msg, MetaLine):
            self.set_meta(t3d1.make_meta(msg.channels, msg.units, self.fs, self.block_samples))
        elif isinstance(msg, DataLine):
            if self.meta is not None and len(msg.values) != len(self.meta.channels):
                self.counters["invalid"] += 1
                return
            self._rows.append((msg.seq, msg.t_us, msg.values, sm.t_recv_ns))
        elif isinstance(msg, AckLine):
            self.events.append({"kind": "ack", "id": msg.id, "status": msg.status,
                                "reason": msg.reason})

    def poll(self, max_blocks: int = 10_000) -> list[Ingested]:
        for sm in self.link.drain():
            self._take(sm)
        p = self.link.parser
        self.counters["crc_errors"] = p.bad_checksum
        self.counters["invalid"] = max(self.counters["invalid"], p.bad_fields + p.garbage)
        self.counters["overflows"] = self.link.counters.overflows
        self.status = "ok" if self.link.connected else "lost"
        out = []
        rows, self._rows = self._rows, []
        # cut where the channel count changes or lines were lost: a block is contiguous
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or rows[i][0] != rows[i - 1][0] + 1 \
                    or len(rows[i][2]) != len(rows[start][2]):
                it = self._block(rows[start:i])
                if it is not None:
                    out.append(it)
                start = i
        return out

    def _block(self, rows) -> Ingested | None:
        if not rows:
            return None
        if self._last_line_seq is not None and rows[0][0] != self._last_line_seq + 1:
            self.counters["gaps"] += 1
            self.counters["lost_blocks"] += max(0, rows[0][0] - self._last_line_seq - 1)
        self._last_line_seq = rows[-1][0]
        t_us = np.array([r[1] for r in rows], dtype=np.int64)
        if t_us.size > 1:
            d = np.diff(t_us)
            if np.all(d > 0):
                self.fs = 1e6 / float(np.median(d))
        for r in rows:
            off = r[3] - r[1] * 1000
            self._offset_ns = off if self._offset_ns is None else min(self._offset_ns, off)
        epoch = t_us[0] > 10**15  # after 2001 in microseconds: a real wall clock
        t0_ns = int(t_us[0]) * 1000 + (0 if epoch else self._offset_ns)
        values = np.array([r[2] for r in rows], dtype=np.float64)
        raw = t3d1.encode(self._seq, t0_ns, self.fs, values)
        self._seq += 1
        last = int(t_us[-1]) * 1000 + (0 if epoch else self._offset_ns)
        return self._accept(raw, rows[-1][3], last)  # own seq: gaps were counted per line


# --- replay ----------------------------------------------------------------------------------

class ReplaySource(Ingest):
    """A recording played at `speed` x real time (0 = as fast as the consumer polls)."""

    def __init__(self, url: str, folder: str, speed: float = 1.0):
        super().__init__(url)
        from twin3d.io.recorder import encoded, read_recording

        self.recording = read_recording(folder)
        self._encoded = encoded
        self.speed = speed
        if self.recording.meta:
            self.set_meta(self.recording.meta)
        self._i = 0
        self._wall0: int | None = None

    def start(self) -> ReplaySource:
        self._wall0 = time.time_ns()
        self.status = "ok"
        return self

    @property
    def finished(self) -> bool:
        return self._i >= len(self.recording.blocks)

    def _due_ns(self, b: t3d1.Block) -> int:
        first = self.recording.blocks[0]
        t_last = b.t0_ns + int(round((b.n_samples - 1) * 1e9 / b.fs))
        return self._wall0 + int((t_last - first.t0_ns) / self.speed)

    def wait(self, timeout: float) -> bool:
        if self.finished:
            time.sleep(timeout)
            return False
        if self.speed <= 0:
            return True
        delay = (self._due_ns(self.recording.blocks[self._i]) - time.time_ns()) * 1e-9
        if delay > timeout:
            time.sleep(timeout)
            return False
        time.sleep(max(delay, 0.0))
        return True

    def poll(self, max_blocks: int = 10_000) -> list[Ingested]:
        if self._wall0 is None:
            self.start()
        out, blocks, now = [], self.recording.blocks, time.time_ns()
        while self._i < len(blocks) and len(out) < max_blocks:
            b = blocks[self._i]
            due = now if self.speed <= 0 else self._due_ns(b)
            if due > now:
                break
            self._i += 1
            it = self._accept(self._encoded(b), now, due)
            if it is not None:
                out.append(it)
        if self.finished:
            self.status = "ended"
        return out


# --- URLs ------------------------------------------------------------------------------------

def _query_float(q: dict, key: str, default: float, lo: float, hi: float, url: str) -> float:
    if key not in q:
        return default
    try:
        v = float(q[key][-1])
    except ValueError:
        raise ValueError(f"source {url!r}: {key}={q[key][-1]!r} is not a number") from None
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"source {url!r}: {key}={v:g} out of range (allowed {lo:g}..{hi:g})")
    return v


def open_source(url: str, scene=None) -> Ingest:
    """The ingest object for a source URL (not started). Raises ValueError (one clear line)
    for a URL it cannot use; the scene gives the simulated rig and serial defaults."""
    if url == "sim" or url.startswith("sim?"):
        if scene is None:
            raise ValueError("source 'sim' needs a scene")
        from twin3d.rig.inprocess import SimSource  # the rig is not I/O: it lives in twin3d

        q = parse_qs(url.partition("?")[2])
        return SimSource(scene, rpm=_query_float(q, "rpm", 0.0, 0.0,
                                                 scene.data.limits.max_speed_rpm, url),
                         seed=int(_query_float(q, "seed", 0, 0, 2**31, url)))
    if url.startswith("replay:"):
        rest = url[len("replay:"):]
        path, _, query = rest.partition("?")
        q = parse_qs(query)
        if not (Path(path) / "blocks.t3d").is_file():
            raise ValueError(f"source {url!r}: {path!r} is not a recording folder "
                             "(no blocks.t3d)")
        return ReplaySource(url, path, _query_float(q, "speed", 1.0, 0.0, 1000.0, url))
    parts = urlsplit(url)
    if parts.scheme in ("mqtt", "mqtts"):
        from twin3d.io.mqtt_link import DEFAULT_RIG_ID, Tls

        if not parts.hostname:
            raise ValueError(f"source {url!r}: no broker host (expected mqtt://HOST:PORT[/RIG])")
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError:
            raise ValueError(f"source {url!r}: bad port (allowed 1..65535)") from None
        rig_id = parts.path.strip("/") or DEFAULT_RIG_ID
        if "/" in rig_id or "+" in rig_id or "#" in rig_id:
            raise ValueError(f"source {url!r}: rig id {rig_id!r} must be one topic level")
        q = parse_qs(parts.query)
        tls = Tls(ca_certs=q["ca"][-1] if "ca" in q else None) if parts.scheme == "mqtts" \
            else None
        from twin3d.io.mqtt_link import MqttLink

        link = MqttLink(parts.hostname, port, tls=tls,
                        username=os.environ.get("TWIN3D_MQTT_USER"),
                        password=os.environ.get("TWIN3D_MQTT_PASS"))
        return MqttSource(url, link, rig_id)
    if parts.scheme == "serial":
        if not parts.path:
            raise ValueError(f"source {url!r}: no device path (expected serial:///dev/ttyX)")
        q = parse_qs(parts.query)
        fs = scene.data.sampling.rate_hz if scene is not None else 1000.0
        block = scene.data.sampling.block_samples if scene is not None else 50
        return SerialSource(url, parts.path,
                            int(_query_float(q, "baud", 1_000_000, 50, 20_000_000, url)),
                            fs, block)
    raise ValueError(f"source {url!r} not understood (allowed: sim, mqtt://HOST:PORT[/RIG], "
                     "serial:///dev/ttyX, replay:PATH[?speed=X])")
