"""One encoded frame to every viewer: the WebSocket frame (header and payload) is built once per
message and the same bytes are written to every viewer's transport, as `websockets`' broadcast
does; a slow or dead viewer loses frames (counted) and is then dropped, and never slows the
others.

Runs on the server's loop. A write never waits: each viewer's bounded queue is its socket's
send buffer (SNDBUF, set small by the server) plus at most `queue_frames` frames in its
transport's buffer. A frame that finds that full is not written to that viewer (counted in
`frames_dropped`); a viewer that has been losing frames for `drop_after_s` is disconnected
(abort: a close handshake would wait on the very socket that is stuck) and counted in
`viewers_dropped`. Messages a viewer sends are read, counted (`viewer_messages`) and ignored by
the server: nothing a viewer sends reaches the source.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

QUEUE_FRAMES = 16  # about half a second at the default display rate
DROP_AFTER_S = 2.0
OP_TEXT, OP_BINARY = 0x1, 0x2


def ws_frame(payload: bytes, opcode: int) -> bytes:
    """One unmasked, unfragmented WebSocket frame (RFC 6455 section 5.2: server to client)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


@dataclass
class Counters:
    viewers: int = 0  # connected now
    viewers_total: int = 0
    viewers_dropped: int = 0  # disconnected by the server for falling behind
    frames_published: int = 0  # encoded once, offered to every viewer
    frames_sent: int = 0  # written to a socket (summed over viewers)
    frames_dropped: int = 0  # not written: the viewer's queue was full (summed over viewers)
    info_sent: int = 0
    viewer_messages: int = 0  # anything a viewer sent: ignored
    refused: int = 0  # requests refused (bad token)


@dataclass(eq=False)
class Viewer:
    transport: object  # asyncio transport of the viewer's connection
    peer: str = ""
    sent: int = 0
    dropped: int = 0
    behind_since: float | None = None  # monotonic time of the first loss since the last write
    closed: bool = False


class Hub:
    def __init__(self, queue_frames: int = QUEUE_FRAMES, drop_after_s: float = DROP_AFTER_S):
        self.viewers: set[Viewer] = set()
        self.counters = Counters()
        self.queue_frames, self.drop_after_s = queue_frames, drop_after_s
        self.last_info: bytes | None = None  # as wire frames: a new viewer gets them first
        self.last_frame: bytes | None = None

    def publish(self, message: bytes | str) -> None:
        """Offer one encoded message (binary state frame, or an info text) to every viewer."""
        text = isinstance(message, str)
        wire = ws_frame(message.encode() if text else message, OP_TEXT if text else OP_BINARY)
        if text:
            self.last_info = wire
        else:
            self.last_frame = wire
            self.counters.frames_published += 1
        limit = self.queue_frames * len(wire)
        now = time.monotonic()
        for v in list(self.viewers):
            t = v.transport
            if t.is_closing():
                self.remove(v)
                continue
            if t.get_write_buffer_size() + len(wire) > limit:
                v.dropped += 1
                self.counters.frames_dropped += 1
                if v.behind_since is None:
                    v.behind_since = now
                elif now - v.behind_since > self.drop_after_s:
                    self.drop(v)
                continue
            t.write(wire)
            v.behind_since = None
            if text:
                self.counters.info_sent += 1
            else:
                v.sent += 1
                self.counters.frames_sent += 1

    def add(self, transport, peer: str = "") -> Viewer:
        v = Viewer(transport, peer)
        for first in (self.last_info, self.last_frame):  # the newest state at once
            if first is not None:
                transport.write(first)
        self.viewers.add(v)
        self.counters.viewers = len(self.viewers)
        self.counters.viewers_total += 1
        return v

    def drop(self, v: Viewer) -> None:
        """Disconnect a viewer that cannot keep up."""
        if not v.closed:
            self.counters.viewers_dropped += 1
            self.remove(v)
            v.transport.abort()

    def remove(self, v: Viewer) -> None:
        v.closed = True
        self.viewers.discard(v)
        self.counters.viewers = len(self.viewers)

    def status(self) -> dict:
        c = self.counters
        return {"viewers": c.viewers, "viewers_total": c.viewers_total,
                "viewers_dropped": c.viewers_dropped, "frames_published": c.frames_published,
                "frames_sent": c.frames_sent, "frames_dropped": c.frames_dropped,
                "info_sent": c.info_sent, "viewer_messages_ignored": c.viewer_messages,
                "refused": c.refused}
