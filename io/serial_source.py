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

    The per-line seq reveals lost lines (counted as gaps); the device clock t_us becomes t0.
    A clock that is not the Unix epoch (a microcontroller's uptime) is placed on the host's
    clock by the smallest arrival offset seen, so latency stays meaningful.
    """

    link: SerialLink  # a `twin3d.io.link.ByteLink` whose parser counts bad lines

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
