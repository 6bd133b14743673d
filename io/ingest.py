"""The common part of every source: `Ingest` (decoding, sequence checks, counters) and the
`Ingested` block it hands out; `LinkSource`, an ingest fed by a link's thread.

Every source hands out `Ingested` blocks from `poll()` and keeps the same counters: blocks,
samples, gaps (sequence gaps), lost_blocks, duplicates (a block seen again: dropped, never drawn
or recorded twice), crc_errors, invalid, overflows. Bad frames are counted with the reason in
`last_error`, never raised.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from twin3d.io import t3d1
from twin3d.io.link import Link

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


class LinkSource(Ingest):
    """A source fed by a link thread: start/stop the link; `wait` blocks on its queue and hands
    the first message to `_take` (the source's own handling of one message)."""

    link: Link

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
