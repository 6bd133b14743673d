"""The T3D1 sample block: one binary format on MQTT, on disk and in tests (DESIGN.md section 4).

Layout (little-endian): magic `T3D1`, version u8 (1), flags u8 (bit 0: int16 samples with a
per-channel scale in the meta message, else float32), n_channels u16, n_samples u32, seq u64,
t0_ns i64, fs f64, samples (n_samples x n_channels, sample-major), crc32 u32 (zlib CRC-32 of
every byte before it).

Pure codec, no I/O. `decode` never raises: any byte string comes back as a `Block` or as an
`Invalid(kind, reason)` that a caller can count. `StreamSplitter` cuts a byte stream (the
`blocks.t3d` file of a recording) into blocks, resynchronising on the magic after damage and
setting aside a torn tail.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

MAGIC = b"T3D1"
VERSION = 1
FLAG_INT16 = 0x01
HEADER = struct.Struct("<4sBBHIQqd")  # magic, version, flags, n_channels, n_samples, seq, t0, fs
HEADER_SIZE = HEADER.size  # 36
CRC_SIZE = 4
MIN_SIZE = HEADER_SIZE + CRC_SIZE
# A header claiming more than this is garbage, not a block: a splitter must not wait for
# gigabytes because of one corrupt length field (1 kHz x 64 channels x 10 s of float32 = 2.6 MB).
MAX_BLOCK_BYTES = 64 * 1024 * 1024

# Kinds of Invalid, so that ingest can count CRC failures apart from other malformed frames.
CRC = "crc"
TRUNCATED = "truncated"
MALFORMED = "malformed"


@dataclass(frozen=True)
class Block:
    """One decoded block. `samples` is read-only: float32, or int16 counts when `is_int16`."""

    seq: int
    t0_ns: int
    fs: float
    samples: np.ndarray  # (n_samples, n_channels)
    is_int16: bool = False

    @property
    def n_samples(self) -> int:
        return self.samples.shape[0]

    @property
    def n_channels(self) -> int:
        return self.samples.shape[1]

    @property
    def t0(self) -> float:
        """Time of the first sample, s since the Unix epoch (rig clock)."""
        return self.t0_ns * 1e-9

    @property
    def t_end_ns(self) -> int:
        """Time just after the last sample (the next block's t0 when none is lost), ns."""
        return self.t0_ns + int(round(self.n_samples * 1e9 / self.fs))

    def times(self) -> np.ndarray:
        """Sample times, s since the Unix epoch."""
        return self.t0 + np.arange(self.n_samples) / self.fs

    def values(self, scales=None) -> np.ndarray:
        """Samples in physical units (float64); int16 blocks need the meta's per-channel scales."""
        if not self.is_int16:
            return self.samples.astype(np.float64)
        if scales is None:
            raise ValueError("an int16 block needs the per-channel scales from the meta message")
        s = np.asarray(scales, dtype=np.float64)
        if s.shape != (self.n_channels,):
            raise ValueError(f"scales must have {self.n_channels} entries (one per channel), "
                             f"got shape {s.shape}")
        return self.samples.astype(np.float64) * s


# What a block's header may claim before a receiver uses it (`header_problem`): the sampling
# rates a scene allows, and sizes that a frame loop can take in one go.
FS_MIN, FS_MAX = 1.0, 100_000.0
MAX_SAMPLES = 65_536
MAX_CHANNELS = 256
MAX_VALUES = 1 << 21  # n_samples * n_channels
MAX_CHANNEL_NAME = 64


def header_problem(b: Block) -> str:
    """Why a decoded block's header is out of range for a receiver ("" when it is not): fs
    finite within FS_MIN..FS_MAX, 1..MAX_SAMPLES samples, 1..MAX_CHANNELS channels, at most
    MAX_VALUES values, t0 and its end inside int64 ns. Pure; never raises."""
    fs = b.fs
    if not (math.isfinite(fs) and FS_MIN <= fs <= FS_MAX):
        return f"fs {fs!r} Hz outside {FS_MIN:g}..{FS_MAX:g} Hz"
    n, m = b.n_samples, b.n_channels
    if not 1 <= n <= MAX_SAMPLES:
        return f"{n} samples (allowed 1..{MAX_SAMPLES})"
    if not 1 <= m <= MAX_CHANNELS:
        return f"{m} channels (allowed 1..{MAX_CHANNELS})"
    if n * m > MAX_VALUES:
        return f"{n} x {m} values (allowed {MAX_VALUES})"
    if not 0 <= b.seq < 2**62:
        return f"seq {b.seq} out of range"
    if not 0 <= b.t0_ns < 2**63 - 10**15:
        return f"t0 {b.t0_ns} ns out of range"
    return ""


@dataclass(frozen=True)
class Invalid:
    """Bytes that are not a valid block: `kind` is crc, truncated or malformed."""

    kind: str
    reason: str

    def __bool__(self) -> bool:  # `if decode(x):` reads naturally
        return False


def encode(seq: int, t0_ns: int, fs: float, samples, int16: bool = False,
           scales=None) -> bytes:
    """One T3D1 block from samples (n_samples, n_channels).

    float32 by default. With int16=True the samples are sent as counts: integer samples go as
    they are; float samples are divided by `scales` (physical unit per count, one per channel,
    the same values the meta message carries), rounded and saturated.
    """
    a = np.asarray(samples)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"samples must be (n_samples, n_channels), got shape {a.shape}")
    n_samples, n_channels = a.shape
    if not 1 <= n_channels <= 0xFFFF:
        raise ValueError(f"n_channels must be 1..65535, got {n_channels}")
    if not 0 <= seq < 2**64:
        raise ValueError(f"seq must be 0..2**64-1, got {seq}")
    if not -(2**63) <= t0_ns < 2**63:
        raise ValueError(f"t0_ns must fit in an int64, got {t0_ns}")
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be finite and > 0 Hz, got {fs!r}")
    if int16:
        if np.issubdtype(a.dtype, np.integer):
            if a.size and (a.min() < -32768 or a.max() > 32767):
                raise ValueError("integer samples must lie in the int16 range")
            body = a.astype("<i2")
        else:
            if scales is None:
                raise ValueError("int16=True with float samples needs scales (one per channel)")
            s = np.asarray(scales, dtype=np.float64)
            if s.shape != (n_channels,) or not np.all(np.isfinite(s) & (s > 0)):
                raise ValueError(f"scales must be {n_channels} finite values > 0, got {scales!r}")
            v = a.astype(np.float64)
            if np.isnan(v).any():
                raise ValueError("NaN samples have no int16 count")
            with np.errstate(over="ignore", invalid="ignore"):
                body = np.clip(np.rint(v / s), -32768, 32767).astype("<i2")
    else:
        body = a.astype("<f4")
    head = HEADER.pack(MAGIC, VERSION, FLAG_INT16 if int16 else 0, n_channels, n_samples,
                       seq, t0_ns, float(fs))
    payload = head + np.ascontiguousarray(body).tobytes()
    return payload + struct.pack("<I", zlib.crc32(payload))


def _expected_size(n_channels: int, n_samples: int, flags: int) -> int:
    width = 2 if flags & FLAG_INT16 else 4
    return HEADER_SIZE + n_channels * n_samples * width + CRC_SIZE


def _check_header(data) -> tuple[tuple, int] | Invalid:
    """The header fields and the block's full size, or why the header cannot start a block."""
    if len(data) < HEADER_SIZE:
        return Invalid(TRUNCATED, f"{len(data)} bytes, a header needs {HEADER_SIZE}")
    fields = HEADER.unpack_from(data, 0)
    magic, version, flags, n_channels, n_samples, seq, t0_ns, fs = fields
    if magic != MAGIC:
        return Invalid(MALFORMED, f"magic {bytes(magic)!r}, expected {MAGIC!r}")
    if version != VERSION:
        return Invalid(MALFORMED, f"version {version}, expected {VERSION}")
    if flags & ~FLAG_INT16:
        return Invalid(MALFORMED, f"unknown flag bits 0x{flags:02x}")
    if n_channels == 0:
        return Invalid(MALFORMED, "n_channels is 0")
    size = _expected_size(n_channels, n_samples, flags)
    if size > MAX_BLOCK_BYTES:
        return Invalid(MALFORMED, f"header claims {size} bytes (> {MAX_BLOCK_BYTES})")
    return fields, size


def decode(data) -> Block | Invalid:
    """A Block, or Invalid(kind, reason) for any other byte string. Never raises."""
    try:
        data = bytes(data)
    except (TypeError, ValueError) as e:
        return Invalid(MALFORMED, f"not bytes: {type(e).__name__}")
    head = _check_header(data)
    if isinstance(head, Invalid):
        return head
    (_, _, flags, n_channels, n_samples, seq, t0_ns, fs), size = head
    if len(data) < size:
        return Invalid(TRUNCATED, f"{len(data)} bytes, the header says {size}")
    if len(data) > size:
        return Invalid(MALFORMED, f"{len(data)} bytes, the header says {size}")
    (crc,) = struct.unpack_from("<I", data, size - CRC_SIZE)
    if zlib.crc32(memoryview(data)[:size - CRC_SIZE]) != crc:
        return Invalid(CRC, f"CRC-32 mismatch in block seq {seq}")
    if not (math.isfinite(fs) and fs > 0):  # after the CRC: a sender bug, not line damage
        return Invalid(MALFORMED, f"fs {fs!r} Hz is not finite and > 0")
    dtype = "<i2" if flags & FLAG_INT16 else "<f4"
    samples = np.frombuffer(data, dtype=dtype, count=n_channels * n_samples,
                            offset=HEADER_SIZE).reshape(n_samples, n_channels)
    return Block(seq=seq, t0_ns=t0_ns, fs=fs, samples=samples,
                 is_int16=bool(flags & FLAG_INT16))


@dataclass
class StreamSplitter:
    """Cuts a byte stream of concatenated T3D1 blocks into blocks.

    `feed(chunk)` returns the blocks completed so far; damaged stretches are skipped by
    searching for the next magic (counted in `crc_errors`, `malformed`, `skipped_bytes`).
    `finish()` settles the end of the stream: an incomplete last block is a torn tail
    (`torn_tail_bytes`), as a recorder killed while writing leaves it.
    """

    blocks: int = 0
    crc_errors: int = 0
    malformed: int = 0
    skipped_bytes: int = 0
    torn_tail_bytes: int = 0
    _buf: bytearray = field(default_factory=bytearray, repr=False)

    def feed(self, chunk: bytes) -> list[Block]:
        self._buf += chunk
        return self._drain(final=False)

    def finish(self) -> list[Block]:
        out = self._drain(final=True)
        self.torn_tail_bytes = len(self._buf)
        self._buf.clear()
        return out

    def _skip(self, n: int) -> None:
        del self._buf[:n]
        self.skipped_bytes += n

    def _drain(self, final: bool) -> list[Block]:
        out: list[Block] = []
        buf = self._buf
        while buf:
            start = buf.find(MAGIC)
            if start < 0:
                # keep a possible partial magic at the end; the rest is garbage
                keep = next((k for k in (3, 2, 1) if buf.endswith(MAGIC[:k])), 0)
                if final:
                    return out  # all of it is the torn tail
                self._skip(len(buf) - keep)
                return out
            if start:
                self._skip(start)
            head = _check_header(buf)
            if isinstance(head, Invalid):
                if head.kind == TRUNCATED:
                    return out  # wait for more (or, at the end, a torn tail)
                self.malformed += 1
                self._skip(1)  # resynchronise on the next magic
                continue
            size = head[1]
            if len(buf) < size:
                if not final:
                    return out
                # At the end of the stream: a torn tail, unless a later magic starts a block
                # (a corrupt length field made this one look longer than the rest).
                if buf.find(MAGIC, 1) < 0:
                    return out
                self.malformed += 1
                self._skip(1)
                continue
            b = decode(bytes(buf[:size]))
            if isinstance(b, Block):
                out.append(b)
                self.blocks += 1
                del buf[:size]
            else:
                if b.kind == CRC:
                    self.crc_errors += 1
                else:
                    self.malformed += 1
                self._skip(1)
        return out


def split(data: bytes) -> tuple[list[Block], StreamSplitter]:
    """Every block of a complete byte stream, and the splitter with its counters."""
    s = StreamSplitter()
    blocks = s.feed(data)
    blocks += s.finish()
    return blocks, s


# --- the retained `meta` message -----------------------------------------------------------

def make_meta(channels, units, fs: float, block_samples: int, int16: bool = False,
              scales=None, rig_id: str = "rig1", start_timestamp: str = "", **extra) -> dict:
    """The JSON object of the retained `meta` topic and of a recording's meta.json.

    Channels carry the SDyPy SEP-5 field names (`name`, `unit_str`, `fs`, `start_timestamp`),
    plus `scale` (physical unit per int16 count) when the blocks are int16.
    """
    channels, units = list(channels), list(units)
    if len(channels) != len(units):
        raise ValueError(f"{len(channels)} channel names but {len(units)} units")
    if int16 and (scales is None or len(scales) != len(channels)):
        raise ValueError("int16 meta needs one scale per channel")
    chans = []
    for j, (name, unit) in enumerate(zip(channels, units)):
        c = {"name": str(name), "unit_str": str(unit), "fs": float(fs),
             "start_timestamp": start_timestamp}
        if int16:
            c["scale"] = float(scales[j])
        chans.append(c)
    meta = {"format": "T3D1", "version": VERSION, "rig_id": rig_id, "fs": float(fs),
            "block_samples": int(block_samples), "int16": bool(int16),
            "start_timestamp": start_timestamp, "channels": chans}
    meta.update(extra)
    return meta


@dataclass(frozen=True)
class Meta:
    """The parts of a meta message that ingest needs."""

    channels: tuple[str, ...]
    units: tuple[str, ...]
    fs: float
    block_samples: int
    int16: bool
    scales: tuple[float, ...] | None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def index(self, name: str) -> int | None:
        return self.channels.index(name) if name in self.channels else None


def parse_meta(obj) -> Meta | Invalid:
    """A Meta from the decoded JSON object, or Invalid(malformed, reason). Never raises."""
    try:
        if not isinstance(obj, dict):
            raise TypeError(f"not a JSON object ({type(obj).__name__})")
        chans = obj["channels"]
        if not isinstance(chans, list) or not all(isinstance(c, dict) for c in chans):
            raise TypeError("channels is not a list of objects")
        if not all(isinstance(c.get("name"), str) for c in chans):
            raise TypeError("a channel name is not a string")
        names = tuple(str(c["name"]) for c in chans)
        units = tuple(str(c.get("unit_str", "")) for c in chans)
        int16 = bool(obj.get("int16", False))
        scales = tuple(float(c["scale"]) for c in chans) if int16 else None
        fs = float(obj.get("fs", chans[0].get("fs", 0.0) if chans else 0.0))
        block_samples = int(obj.get("block_samples", 0))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as e:
        return Invalid(MALFORMED, f"meta: {type(e).__name__}: {e}")
    if not names:
        return Invalid(MALFORMED, "meta: no channels")
    if len(names) > MAX_CHANNELS:
        return Invalid(MALFORMED, f"meta: {len(names)} channels (allowed 1..{MAX_CHANNELS})")
    if len(set(names)) != len(names):
        return Invalid(MALFORMED, "meta: channel names repeat")
    for n in names + units:
        if len(n) > MAX_CHANNEL_NAME or not n.isprintable():
            return Invalid(MALFORMED, f"meta: channel name or unit {n[:40]!r} is not a short "
                           "printable string")
    if any(not n for n in names):
        return Invalid(MALFORMED, "meta: an empty channel name")
    if not (math.isfinite(fs) and FS_MIN <= fs <= FS_MAX):
        return Invalid(MALFORMED, f"meta: fs {fs!r} outside {FS_MIN:g}..{FS_MAX:g} Hz")
    if not 0 <= block_samples <= MAX_SAMPLES:
        return Invalid(MALFORMED, f"meta: block_samples {block_samples} outside "
                       f"0..{MAX_SAMPLES}")
    if scales is not None and not all(math.isfinite(x) and x > 0 for x in scales):
        return Invalid(MALFORMED, "meta: scales must be finite and > 0")
    return Meta(names, units, fs, block_samples, int16, scales, dict(obj))
