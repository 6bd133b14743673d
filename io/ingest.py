"""The common part of every source: `Ingest` (decoding, validation, sequencing, counters) and
the `Ingested` block it hands out; `LinkSource`, an ingest fed by a link's thread.

Every source hands out `Ingested` blocks from `poll()` and keeps the same counters (COUNTERS).
Nothing a rig (or anyone who can publish on its topics) sends can raise here: every field is
checked before use, and a message that fails is dropped and counted under its own name, with
the reason in `last_error`.

The counters:

- blocks, samples: accepted and handed out;
- gaps, lost_blocks: sequence gaps between released blocks and the blocks missing in them
  (for a serial rig, whose block seq is its first line's seq, lost *lines*);
- duplicates: a block whose seq (with the same t0) was already seen: only true repeats;
- crc_errors, invalid: line damage, and frames that are no T3D1 block at all;
- overflows: the link's queue overflowed;
- bad_header: a valid-CRC block whose header is out of range (`t3d1.header_problem`);
- future_block: a block time stamped ahead of where its stream is (t0 inconsistent with its seq,
  or ahead of the receiver's clock by more than FUTURE_TOL_S after allowing for the rig's skew);
- bad_time: a block time stamped behind where its seq puts it (the rig's clock ran back);
- late: a block behind the release point (its successors were already released) that is not a
  duplicate;
- seq_jump: a block whose seq jumps by more than MAX_GAP_BLOCKS, or back, and that no block
  continued (a stray or forged block: never added to lost_blocks);
- seq_resets: a new stream (a restarted rig: seq back or far on, confirmed by the next block);
  also counted as one gap, with no lost blocks;
- no_meta: blocks or lines dropped because no meta says what the channels are;
- meta_mismatch: blocks whose channel count differs from the meta's (status says "paused");
- bad_meta, bad_state, bad_ack: meta, state and ack messages that fail validation.

Sequencing: the first block anchors a stream (its seq, its t0, and the offset of the rig's
clock from ours: a rig with a skewed clock works, only jumps are judged). A block ahead of the
next expected seq by up to REORDER_WINDOW blocks is held and released in seq order as soon as
the hole is filled, or after HOLD_S (then the hole is a gap). A block inconsistent with the
stream (a seq or time jump) is held as a *candidate*: if the next block continues it and time
runs on (or the old stream has been silent for STALE_S) the stream restarts from it (a
restarted rig); otherwise it is dropped and counted. So one forged block never blinds the
stream, and a forged first block costs at most STALE_S.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

import numpy as np

from twin3d.io import t3d1
from twin3d.io.link import Link

COUNTERS = ("blocks", "samples", "gaps", "lost_blocks", "duplicates", "crc_errors", "invalid",
            "overflows", "bad_header", "future_block", "bad_time", "late", "seq_jump",
            "seq_resets", "no_meta", "meta_mismatch", "bad_meta", "bad_state", "bad_ack")
# the counters under which a data message can end (each data message ends in exactly one)
DATA_OUTCOMES = ("blocks", "duplicates", "crc_errors", "invalid", "bad_header", "future_block",
                 "bad_time", "late", "seq_jump", "no_meta", "meta_mismatch")

REORDER_WINDOW = 8  # blocks ahead of the next expected one that are held for reordering
HOLD_S = 0.2  # the longest a held block waits for the hole before it (then: a gap)
MAX_GAP_BLOCKS = 10_000  # a forward jump beyond this is no loss but a new (or forged) stream
TIME_TOL_S = 1.0  # t0 may differ from where its seq puts it by this (+1 % of the distance)
FUTURE_TOL_S = 300.0  # a block may lead the rig's established clock offset by this much
STALE_S = 2.0  # a stream silent this long may be replaced by any confirmed new one
CANDIDATE_S = 2.0  # an unconfirmed candidate is dropped after this
SEEN_MAX = 512  # seqs remembered for duplicate detection (older repeats count as late)
EVENTS_MAX = 1000  # state changes and acks kept for a recorder


@dataclass(frozen=True)
class Ingested:
    """One block accepted from a source."""

    block: t3d1.Block
    values: np.ndarray  # (n_samples, n_channels) physical units, float64
    raw: bytes  # the T3D1 bytes as received (what a recorder stores)
    t_recv_ns: int  # host clock at arrival
    t_rig_ns: int  # host-clock time of the block's last sample at the rig (latency origin)
    restart: bool = False  # the first block of a new stream (a restarted rig)


@dataclass
class _Held:
    block: t3d1.Block
    raw: bytes
    t_recv_ns: int
    t_rig_ns: int | None
    mono: float  # host monotonic time of arrival
    reason: str = ""  # for a candidate: the counter it ends in when dropped


class Ingest:
    """Common part of every source: decoding, validation, sequencing, counters."""

    check_clock = True  # judge t0 against the receiver's clock (a replay does not)

    def __init__(self, url: str):
        self.url = url
        self.counters = {k: 0 for k in COUNTERS}
        self.meta: t3d1.Meta | None = None
        self.meta_raw: dict | None = None
        self.status = "waiting"  # waiting, ok, lost, paused: ..., or the rig's own status
        self.rig_state: dict | None = None
        self.last_error = ""
        self.paused = ""  # why data is being dropped wholesale (shown in status), or ""
        self.events: deque[dict] = deque(maxlen=EVENTS_MAX)  # state changes, acks: recorders
        self._ready = threading.Event()
        self._reset_stream()

    def _reset_stream(self) -> None:
        self._next: int | None = None  # the next seq expected
        self._last_t_end_ns = 0
        self._unit_ns = 0.0  # rig time per seq unit
        self._lead_ns: int | None = None  # max (rig time - host arrival) seen in this stream
        self._held: dict[int, _Held] = {}
        self._seen_t0: OrderedDict[int, int] = OrderedDict()  # seq -> t0_ns
        self._cand: _Held | None = None
        self._last_release = time.monotonic()
        self._mismatch_run = 0

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

    @property
    def pending(self) -> int:
        """Blocks received and neither handed out nor dropped yet (held for reordering, or a
        candidate stream's first block)."""
        return len(self._held) + (self._cand is not None)

    def __enter__(self) -> Ingest:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _per_sample(self) -> bool:
        """Block seqs count samples (a serial rig's line seq), not blocks."""
        return bool(self.meta_raw and self.meta_raw.get("seq_unit") == "sample")

    def set_meta(self, obj) -> bool:
        m = t3d1.parse_meta(obj)
        if isinstance(m, t3d1.Invalid):
            self.counters["bad_meta"] += 1
            self.last_error = f"ignored a meta: {m.reason}"
            return False
        if self.meta is not None and m.channels != self.meta.channels:
            self.last_error = (f"meta changed: channels {list(self.meta.channels)} -> "
                               f"{list(m.channels)}")
        self.meta, self.meta_raw = m, dict(obj)
        self._mismatch_run = 0
        if self.paused.startswith("meta"):
            self.paused = ""
        return True

    def _status_of(self, base: str) -> str:
        return f"paused: {self.paused}" if self.paused else base

    # --- one data message -----------------------------------------------------------------------

    def _drop(self, counter: str, why: str) -> list[Ingested]:
        self.counters[counter] += 1
        self.last_error = f"dropped a block: {why}"
        return []

    def _accept(self, raw: bytes, t_recv_ns: int, t_rig_ns: int | None = None
                ) -> list[Ingested]:
        """One data message: the blocks it releases (none, it, or held ones with it)."""
        b = t3d1.decode(raw)
        if isinstance(b, t3d1.Invalid):
            return self._drop("crc_errors" if b.kind == t3d1.CRC else "invalid", b.reason)
        why = t3d1.header_problem(b)
        if why:
            return self._drop("bad_header", f"seq {b.seq}: {why}")
        m = self.meta
        if m is not None and b.n_channels != len(m.channels):
            self._mismatch_run += 1
            if self._mismatch_run >= 3:
                self.paused = (f"meta has {len(m.channels)} channels, the blocks "
                               f"{b.n_channels}: waiting for a matching meta")
            return self._drop("meta_mismatch", f"block seq {b.seq} has {b.n_channels} "
                              f"channels, the meta {len(m.channels)}")
        self._mismatch_run = 0
        if self.paused.startswith("meta"):
            self.paused = ""
        if b.is_int16 and (m is None or m.scales is None):
            return self._drop("no_meta", f"int16 block seq {b.seq} before a meta with scales")
        h = _Held(b, bytes(raw), t_recv_ns, t_rig_ns, time.monotonic())
        return self._sequence(h)

    def _lead(self, h: _Held) -> int:
        return h.block.t_end_ns - h.t_recv_ns

    def _ahead(self, h: _Held) -> bool:
        """The block leads the stream's learned rig-to-host clock offset by more than allowed."""
        return self.check_clock and self._lead_ns is not None and \
            self._lead(h) > self._lead_ns + FUTURE_TOL_S * 1e9

    def _step(self, b: t3d1.Block) -> int:
        return b.n_samples if self._per_sample() else 1

    def _sequence(self, h: _Held) -> list[Ingested]:
        b = h.block
        if self._next is None:
            return self._release(h, restart=False)
        if self._seen_t0.get(b.seq) == b.t0_ns or (b.seq in self._held
                                                and self._held[b.seq].block.t0_ns == b.t0_ns):
            return self._drop("duplicates", f"repeated block seq {b.seq}")
        step = self._step(b)
        d = b.seq - self._next
        exp_t0 = self._last_t_end_ns + d * self._unit_ns
        tol = TIME_TOL_S * 1e9 + 0.01 * abs(d * self._unit_ns)
        dt = b.t0_ns - exp_t0
        ahead = self._ahead(h)
        in_range = 0 <= d <= MAX_GAP_BLOCKS * step
        if in_range and abs(dt) <= tol and not ahead:
            self._drop_candidate()
            if d == 0:
                return self._release(h) + self._drain_held()
            if d <= REORDER_WINDOW * step and not self._per_sample():
                # (a serial line keeps its order: a hole there is a loss, never a reordering)
                self._held[b.seq] = h
                return []
            return self._flush_held() + self._release(h)
        if d < 0 and abs(dt) <= tol:
            return self._drop("late", f"seq {b.seq} arrived after seq {self._next - 1} "
                              "was released")
        # inconsistent with the stream: the start of a new one, or a forged/stray block
        c = self._cand
        if c is not None and b.seq == c.block.seq + self._step(c.block) and \
                abs(b.t0_ns - c.block.t_end_ns) <= TIME_TOL_S * 1e9:
            silent = time.monotonic() - self._last_release >= STALE_S
            if silent or (c.block.t0_ns >= self._last_t_end_ns and not self._ahead(c)):
                self._cand = None
                out = self._flush_held()
                self.counters["seq_resets"] += 1
                self.counters["gaps"] += 1
                self.last_error = (f"new stream: seq {self._next - self._step(b)} -> "
                                   f"{c.block.seq}")
                self._reset_stream()
                return out + self._release(c, restart=True) + self._release(h)
        self._drop_candidate()
        h.reason = ("future_block" if dt > tol or ahead else "bad_time") if in_range else \
            ("future_block" if ahead else "seq_jump")
        self._cand = h
        return []

    def _drop_candidate(self) -> None:
        c, self._cand = self._cand, None
        if c is not None:
            self._drop(c.reason or "seq_jump", f"seq {c.block.seq} (t0 {c.block.t0_ns} ns) "
                       "fits neither the stream nor a new one")

    def _release(self, h: _Held, restart: bool = False) -> list[Ingested]:
        b = h.block
        if self._next is not None and b.seq != self._next:
            self.counters["gaps"] += 1
            self.counters["lost_blocks"] += b.seq - self._next
            self.last_error = f"sequence gap: {self._next - self._step(b)} -> {b.seq}"
        self._next = b.seq + self._step(b)
        self._last_t_end_ns = b.t_end_ns
        self._unit_ns = (b.t_end_ns - b.t0_ns) / self._step(b)
        lead = self._lead(h)
        self._lead_ns = lead if self._lead_ns is None else max(self._lead_ns, lead)
        self._seen_t0[b.seq] = b.t0_ns
        while len(self._seen_t0) > SEEN_MAX:
            self._seen_t0.popitem(last=False)
        self._last_release = time.monotonic()
        self.counters["blocks"] += 1
        self.counters["samples"] += b.n_samples
        values = b.values(self.meta.scales if b.is_int16 else None)
        t_rig = h.t_rig_ns
        if t_rig is None:
            t_rig = b.t0_ns + int(round((b.n_samples - 1) * 1e9 / b.fs))
        return [Ingested(b, values, h.raw, h.t_recv_ns, t_rig, restart)]

    def _drain_held(self) -> list[Ingested]:
        out = []
        while self._next in self._held:
            out += self._release(self._held.pop(self._next))
        return out

    def _flush_held(self) -> list[Ingested]:
        out = []
        for s in sorted(self._held):
            h = self._held.pop(s)
            if s < self._next:
                self._drop("late", f"held seq {s} overtaken")
            else:
                out += self._release(h)
        return out

    def _expire(self, now: float | None = None, final: bool = False) -> list[Ingested]:
        """Release held blocks whose hole was not filled in HOLD_S (or all, at the end); drop a
        candidate nobody continued in CANDIDATE_S. Sources call this at every poll."""
        now = time.monotonic() if now is None else now
        out = []
        if self._held and (final or len(self._held) > REORDER_WINDOW or
                           now - min(h.mono for h in self._held.values()) >= HOLD_S):
            first = min(self._held)
            out += self._release(self._held.pop(first)) + self._drain_held()
            if final:
                out += self._flush_held()
        if self._cand is not None and (final or now - self._cand.mono >= CANDIDATE_S):
            self._drop_candidate()
        return out

    # --- state and acks ---------------------------------------------------------------------------

    def set_state(self, obj) -> bool:
        """The rig's retained state, validated (`check_state`): kept, or counted as bad_state."""
        why = check_state(obj)
        if why:
            self.counters["bad_state"] += 1
            self.last_error = f"ignored a state message: {why}"
            return False
        self.rig_state = obj
        self.events.append({"kind": "state", **obj})
        return True


STATUS_WORDS = 32


def check_state(obj) -> str:
    """Why a rig `state` message cannot be used ("" when it can): a dict whose known fields have
    the right type and range (status a short word, stroke_m finite 0..1 m, speeds finite).
    The scene-specific range of stroke_m is checked where it is used (the dry run)."""
    if not isinstance(obj, dict):
        return f"not a JSON object ({type(obj).__name__})"
    st = obj.get("status", "ok")
    if not isinstance(st, str) or not 0 < len(st) <= STATUS_WORDS or not st.isprintable():
        return f"status {str(st)[:40]!r} is not a short word"
    for key, lo, hi in (("stroke_m", 0.0, 1.0), ("speed_rpm", -1e5, 1e5),
                        ("target_rpm", -1e5, 1e5), ("t", 0.0, 1e11)):
        if obj.get(key) is not None:  # absent or null: not said
            v = obj[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                    not math.isfinite(v) or not lo <= v <= hi:
                return f"{key} {str(v)[:40]!r} is not a number in {lo:g}..{hi:g}"
    return ""


ACK_STATUSES = ("accepted", "rejected", "done")


def check_ack(obj) -> str:
    """Why an ack cannot be used ("" when it can): a dict with a string id (<= 128 chars), a
    known status, and string reason/outcome/op when present."""
    if not isinstance(obj, dict):
        return f"not a JSON object ({type(obj).__name__})"
    i = obj.get("id")
    if not isinstance(i, str) or not 0 < len(i) <= 128:
        return f"id {str(i)[:40]!r} is not a string of 1..128 characters"
    if obj.get("status") not in ACK_STATUSES:
        return f"status {str(obj.get('status'))[:40]!r} is not one of {ACK_STATUSES}"
    for key in ("reason", "outcome", "op", "user", "source"):
        if key in obj and (not isinstance(obj[key], str) or len(obj[key]) > 1000):
            return f"{key} is not a string of at most 1000 characters"
    return ""


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
