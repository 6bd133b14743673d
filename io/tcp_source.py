"""`tcp://HOST:PORT`: T3D1 blocks back to back on a raw TCP stream, as an ingest object.

The smallest complete source scheme, kept as the example of adding one: a link (`TcpLink`, a
`twin3d.io.link.Link`), a source on it, and one `register_scheme` line. Each block's header
gives its length; `t3d1.StreamSplitter` cuts the stream, drops a damaged block (counted) and
finds the next one by its magic. Sequence gaps are counted by `Ingest`. The stream carries no
meta, so its blocks are float32. A lost connection is retried with backoff.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from twin3d.io import t3d1
from twin3d.io.ingest import Ingest, Ingested, LinkSource
from twin3d.io.reader_link import ReaderLink
from twin3d.io.schemes import register_scheme


@dataclass
class TcpCounters:
    connects: int = 0
    disconnects: int = 0
    connect_failures: int = 0
    bytes: int = 0
    overflows: int = 0


class TcpLink(ReaderLink[tuple[t3d1.Block, int]]):
    """A client socket read in its own thread; hands out (block, t_recv_ns) pairs."""

    def __init__(self, host: str, port: int, queue_size: int = 4096,
                 min_backoff: float = 0.05, max_backoff: float = 2.0):
        super().__init__(f"tcp {host}:{port}", queue_size, min_backoff, max_backoff)
        self.host, self.port = host, port
        self.splitter = t3d1.StreamSplitter()
        self.counters = TcpCounters()
        self.last_error = ""
        self._sock: socket.socket | None = None

    def _open(self) -> bool:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=1.0)
        except OSError as e:
            self.counters.connect_failures += 1
            self.last_error = f"cannot reach {self.host}:{self.port}: {e}"
            return False
        self._sock.settimeout(0.1)
        self.counters.connects += 1
        return True

    def _read_once(self) -> bool:
        try:
            data = self._sock.recv(1 << 16)
        except TimeoutError:
            return True
        except OSError as e:
            self.last_error = f"{self.host}:{self.port}: {e}"
            return False
        if not data:
            self.last_error = f"{self.host}:{self.port} closed the stream"
            return False
        self.counters.bytes += len(data)
        self._put_blocks(self.splitter.feed(data))
        return True

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        sock.close()
        self.counters.disconnects += 1
        self._put_blocks(self.splitter.finish())  # a torn block is not glued on

    def _put_blocks(self, blocks: list[t3d1.Block]) -> None:
        t = time.time_ns()
        for b in blocks:
            self._put((b, t))


class TcpSource(LinkSource):
    """The blocks of a `TcpLink`; the splitter's damaged blocks count as crc_errors/invalid."""

    link: TcpLink

    def __init__(self, url: str, host: str, port: int):
        super().__init__(url)
        self.link = TcpLink(host, port)
        self._taken: list[tuple[t3d1.Block, int]] = []
        self._seen = (0, 0)  # the splitter's crc_errors, malformed at the last poll

    def _take(self, item) -> None:
        self._taken.append(item)

    def poll(self, max_blocks: int = 10_000) -> list[Ingested]:
        items, self._taken = self._taken + self.link.drain(), []
        s = self.link.splitter
        crc, bad = s.crc_errors - self._seen[0], s.malformed - self._seen[1]
        self._seen = (s.crc_errors, s.malformed)
        if crc or bad:
            self.counters["crc_errors"] += crc
            self.counters["invalid"] += bad
            self.last_error = f"dropped {crc + bad} damaged block(s) from the stream"
        self.counters["overflows"] = self.link.counters.overflows
        out = []
        for b, t in items:
            out += self._accept(t3d1.encode(b.seq, b.t0_ns, b.fs, b.samples,
                                            int16=b.is_int16), t)
        out += self._expire()
        self.status = ("ok" if self.counters["blocks"] else "waiting") if self.link.connected \
            else ("lost" if self.link.counters.connects else "waiting")
        return out


@register_scheme("tcp", usage="tcp://HOST:PORT")
def open_tcp(url: str, scene=None) -> Ingest:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"source {url!r}: bad port (allowed 1..65535)") from None
    if not parts.hostname or not port:
        raise ValueError(f"source {url!r}: expected tcp://HOST:PORT")
    return TcpSource(url, parts.hostname, port)
