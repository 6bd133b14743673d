"""`serial:///dev/ttyX[?baud=N]`: a rig speaking `$M/$D/$A` lines (`twin3d.io.serial_lines`),
as an ingest object."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import numpy as np

from twin3d.io import t3d1
from twin3d.io.ingest import Ingest, Ingested, LinkSource
from twin3d.io.schemes import query_float, register_scheme

if TYPE_CHECKING:
    from twin3d.io.serial_link import SerialLink


class SerialSource(LinkSource):
    """`$D` lines grouped into blocks at each poll; `$M` gives the channel names and units.

    A block's seq is the device's seq of its first line (the meta says `seq_unit: sample`), so
    a recording keeps the rig's own numbering and a replay shows the lines that were lost; a
    block is cut where lines were lost. The device clock t_us becomes t0. A clock that is not
    the Unix epoch (a microcontroller's uptime) is placed on the host's clock by the smallest
    arrival offset seen since the device last restarted (its line seq ran back).

    `$D` lines before the first `$M` are dropped and counted (`no_meta`): the rig repeats `$M`
    every second, and until then nobody knows what the columns are (status says so).
    """

    link: SerialLink  # a `twin3d.io.link.ByteLink` whose parser counts bad lines

    RESTART_BACK = 1000  # a line seq this far back is a restarted device, not a stray line

    def __init__(self, url: str, path: str, baud: int, fs_hint: float, block_samples: int):
        super().__init__(url)
        from twin3d.io.serial_link import SerialLink

        self.link = SerialLink(path, baud)
        self.fs = fs_hint
        self.block_samples = block_samples
        self._last_line_seq: int | None = None
        self._offset_ns: int | None = None
        self._rows: list = []  # (seq, t_us, values, t_recv)
        self._meta_key: tuple | None = None

    def _take(self, sm) -> None:
        from twin3d.io.serial_lines import AckLine, DataLine, MetaLine

        msg = sm.message
        if isinstance(msg, MetaLine):
            key = (tuple(msg.channels), tuple(msg.units))
            if key != self._meta_key:  # $M repeats every second: only a change matters
                meta = t3d1.make_meta(msg.channels, msg.units, self.fs, self.block_samples,
                                      seq_unit="sample") if msg.channels and \
                    len(msg.channels) == len(msg.units) else {"channels": []}
                if self.set_meta(meta):  # counts and explains a bad one
                    self._meta_key = key
        elif isinstance(msg, DataLine):
            if not (0 <= msg.seq < 2**62 and 0 <= msg.t_us < 2**53):
                self.counters["bad_header"] += 1
                self.last_error = f"line seq {msg.seq} / t_us {msg.t_us} out of range"
                return
            if self.meta is None:
                self.counters["no_meta"] += 1
                self.paused = "no $M line yet: data lines dropped until the rig names them"
                return
            if len(msg.values) != len(self.meta.channels):
                self.counters["meta_mismatch"] += 1
                self.last_error = (f"line seq {msg.seq} has {len(msg.values)} values, the $M "
                                   f"{len(self.meta.channels)}")
                return
            if self.paused.startswith("no $M"):
                self.paused = ""
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
        out = []
        rows, self._rows = self._rows, []
        # cut where lines were lost (or came twice): a block is contiguous
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or rows[i][0] != rows[i - 1][0] + 1:
                out += self._block(rows[start:i])
                start = i
        out += self._expire()
        self.status = self._status_of("ok" if self.link.connected else "lost")
        return out

    def _block(self, rows) -> list[Ingested]:
        if not rows:
            return []
        first = rows[0][0]
        if self._last_line_seq is not None and first < self._last_line_seq - self.RESTART_BACK:
            self._offset_ns = None  # a restarted device: its uptime clock starts again
        self._last_line_seq = rows[-1][0]
        t_us = np.array([r[1] for r in rows], dtype=np.int64)
        if t_us.size > 1:
            d = np.diff(t_us)
            if np.all(d > 0):
                fs = 1e6 / float(np.median(d))
                if t3d1.FS_MIN <= fs <= t3d1.FS_MAX:
                    self.fs = fs
        for r in rows:
            off = r[3] - r[1] * 1000
            self._offset_ns = off if self._offset_ns is None else min(self._offset_ns, off)
        epoch = t_us[0] > 10**15  # after 2001 in microseconds: a real wall clock
        t0_ns = int(t_us[0]) * 1000 + (0 if epoch else self._offset_ns)
        values = np.array([r[2] for r in rows], dtype=np.float64)
        if not 0 <= t0_ns < 2**62:
            self.counters["bad_header"] += 1
            self.last_error = f"line seq {first} / time {t0_ns} ns out of range"
            return []
        raw = t3d1.encode(first, t0_ns, self.fs, values)
        last = int(t_us[-1]) * 1000 + (0 if epoch else self._offset_ns)
        return self._accept(raw, rows[-1][3], last)


@register_scheme("serial", usage="serial:///dev/ttyX[?baud=N]")
def open_serial(url: str, scene=None) -> Ingest:
    """The scene gives the sampling rate and block size until the rig's lines tell."""
    parts = urlsplit(url)
    if not parts.path:
        raise ValueError(f"source {url!r}: no device path (expected serial:///dev/ttyX)")
    q = parse_qs(parts.query)
    fs = scene.data.sampling.rate_hz if scene is not None else 1000.0
    block = scene.data.sampling.block_samples if scene is not None else 50
    return SerialSource(url, parts.path,
                        int(query_float(q, "baud", 1_000_000, 50, 20_000_000, url)), fs, block)
