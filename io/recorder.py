"""Recordings: a folder with meta.json, blocks.t3d and events.jsonl (DESIGN.md section 4).

Crash safety: every block is appended to blocks.t3d with one `os.write` on an O_APPEND file
descriptor, so it sits in the kernel's page cache as soon as the call returns; a process killed
(even by SIGKILL) loses at most the block it was writing, and the reader sets that torn tail
aside. meta.json is replaced atomically (write a temporary file, then rename). events.jsonl
gets one JSON object per line, written the same way as the blocks.
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin3d.io import t3d1

META = "meta.json"
BLOCKS = "blocks.t3d"
EVENTS = "events.jsonl"


class Recorder:
    """Appends T3D1 blocks and events to a recording folder.

    `fsync=True` also forces each write to the disk (survives a power cut, costs a disk flush
    per block); the default survives a crash of the process, which is what the rig PC sees.
    """

    def __init__(self, folder, meta: dict | None = None, fsync: bool = False):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.blocks = 0
        self.bytes = 0
        self.events = 0
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        self._fd_blocks = os.open(self.folder / BLOCKS, flags, 0o644)
        self._fd_events = os.open(self.folder / EVENTS, flags, 0o644)
        self.meta: dict = {}
        self.write_meta(meta or {})

    def write_meta(self, meta: dict) -> None:
        """Replace meta.json (atomically); `recorded_by`/`created` are added when missing."""
        m = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "recorded_by": "twin3d"}
        m.update(meta)
        tmp = self.folder / (META + ".tmp")
        tmp.write_text(json.dumps(m, indent=1))
        os.replace(tmp, self.folder / META)
        self.meta = m

    def write_block(self, data: bytes) -> None:
        """Append one encoded T3D1 block (bytes as received: nothing is re-encoded)."""
        self._write(self._fd_blocks, data)
        self.blocks += 1
        self.bytes += len(data)

    def event(self, kind: str, **fields) -> None:
        """Append an event (command, ack, trip, annotation) with the host time `t` (s)."""
        rec = {"t": time.time(), "kind": kind, **fields}
        self._write(self._fd_events, (json.dumps(rec, default=str) + "\n").encode())
        self.events += 1

    def _write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:  # os.write may write less than asked (signals, pipes)
            n = os.write(fd, view)
            view = view[n:]
        if self.fsync:
            os.fsync(fd)

    def close(self) -> None:
        for fd in (self._fd_blocks, self._fd_events):
            try:
                os.close(fd)
            except OSError:
                pass
        self._fd_blocks = self._fd_events = -1

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class Recording:
    """A recording read back, and what the reader had to skip to get it."""

    folder: Path
    meta: dict
    blocks: list[t3d1.Block]
    events: list[dict] = field(default_factory=list)
    torn_tail_bytes: int = 0
    crc_errors: int = 0
    malformed: int = 0
    skipped_bytes: int = 0
    bad_event_lines: int = 0
    gaps: int = 0  # sequence gaps between consecutive blocks

    @property
    def recovered(self) -> int:
        return len(self.blocks)

    @property
    def torn_tail(self) -> bool:
        return self.torn_tail_bytes > 0

    def channels(self) -> tuple[list[str], list[str]]:
        p = t3d1.parse_meta(self.meta)
        if isinstance(p, t3d1.Meta):
            return list(p.channels), list(p.units)
        m = self.blocks[0].n_channels if self.blocks else 0
        return [f"ch{j}" for j in range(m)], [""] * m

    def scales(self):
        p = t3d1.parse_meta(self.meta)
        return p.scales if isinstance(p, t3d1.Meta) else None

    def runs(self) -> list[list[t3d1.Block]]:
        """The blocks split where blocks were lost: each run one unbroken stretch of samples."""
        per_sample = self.meta.get("seq_unit") == "sample"
        out: list[list[t3d1.Block]] = []
        for b in self.blocks:
            if out and follows(out[-1][-1], b, per_sample):
                out[-1].append(b)
            else:
                out.append([b])
        return out

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Times (s since the epoch), values (n, channels) in physical units, seq per sample."""
        if not self.blocks:
            return np.zeros(0), np.zeros((0, len(self.channels()[0]))), np.zeros(0, np.int64)
        scales = self.scales()
        t = np.concatenate([b.times() for b in self.blocks])
        v = np.concatenate([b.values(scales) for b in self.blocks])
        seq = np.concatenate([np.full(b.n_samples, b.seq, np.int64) for b in self.blocks])
        return t, v, seq

    def summary(self) -> dict:
        return {"folder": str(self.folder), "blocks": self.recovered,
                "samples": int(sum(b.n_samples for b in self.blocks)),
                "torn_tail": self.torn_tail, "torn_tail_bytes": self.torn_tail_bytes,
                "crc_errors": self.crc_errors, "malformed": self.malformed,
                "gaps": self.gaps, "events": len(self.events),
                "bad_event_lines": self.bad_event_lines}


def follows(a: t3d1.Block, b: t3d1.Block, per_sample: bool) -> bool:
    """Whether block b comes right after block a, none lost between (a serial rig's blocks are
    numbered by their first line, meta `seq_unit: sample`; others count blocks)."""
    return b.seq == a.seq + (a.n_samples if per_sample else 1)


def read_recording(folder, chunk_bytes: int = 1 << 20) -> Recording:
    """Read a recording folder. Raises FileNotFoundError only if it has no blocks.t3d;
    damage inside the files is skipped and counted."""
    folder = Path(folder)
    path = folder / BLOCKS
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a recording (no {BLOCKS})")
    try:
        meta = json.loads((folder / META).read_text())
        if not isinstance(meta, dict):
            meta = {}
    except (OSError, ValueError):
        meta = {}
    splitter = t3d1.StreamSplitter()
    blocks: list[t3d1.Block] = []
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            blocks += splitter.feed(chunk)
    blocks += splitter.finish()
    events, bad = [], 0
    try:
        with open(folder / EVENTS, "rb") as f:
            for line in f:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    bad += 1  # a torn last line, or damage
    except FileNotFoundError:
        pass
    per_sample = meta.get("seq_unit") == "sample"
    gaps = sum(1 for a, b in zip(blocks, blocks[1:]) if not follows(a, b, per_sample))
    return Recording(folder, meta, blocks, events, splitter.torn_tail_bytes,
                     splitter.crc_errors, splitter.malformed, splitter.skipped_bytes, bad, gaps)


def encoded(b: t3d1.Block) -> bytes:
    """The block's T3D1 bytes again (identical to what was recorded), for republishing."""
    return t3d1.encode(b.seq, b.t0_ns, b.fs, b.samples, int16=b.is_int16)


def export_csv(rec: Recording, out) -> Path:
    """One row per sample: time (s since the epoch), block seq, then every channel."""
    out = Path(out)
    names, units = rec.channels()
    t, v, seq = rec.arrays()
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "seq"] + [f"{n} [{u}]" if u else n for n, u in zip(names, units)])
        for i in range(t.size):
            w.writerow([f"{t[i]:.6f}", int(seq[i])] + [f"{x:.7g}" for x in v[i]])
    return out


def export_npz(rec: Recording, out) -> Path:
    """Arrays t (s), data (n, channels), seq; channel names, units, fs and the meta as JSON."""
    out = Path(out)
    names, units = rec.channels()
    t, v, seq = rec.arrays()
    fs = rec.blocks[0].fs if rec.blocks else float(rec.meta.get("fs", 0.0) or 0.0)
    with open(out, "wb") as f:  # a file object: np.savez would append .npz to a bare name
        np.savez(f, t=t, data=v, seq=seq, channels=np.array(names), units=np.array(units),
                 fs=fs, meta=json.dumps(rec.meta))
    return out
