"""The `tcp://HOST:PORT` example scheme: T3D1 blocks back to back on a raw socket, served by a
loopback server in the test, read through `open_source`. A CRC-damaged block is counted and
dropped, a missing seq is a gap, blocks torn across TCP segments are put back together."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from twin3d.io import t3d1
from twin3d.io.link import Link
from twin3d.io.sources import open_source
from twin3d.io.tcp_source import TcpSource

FS, N, CH = 1000.0, 50, 3
T0 = 1_700_000_000_000_000_000


def block(seq: int) -> bytes:
    values = np.full((N, CH), 0.001 * seq) + np.arange(CH) * 0.1
    return t3d1.encode(seq, T0 + seq * int(N * 1e9 / FS), FS, values)


def damaged(raw: bytes) -> bytes:
    b = bytearray(raw)
    b[t3d1.HEADER_SIZE + 5] ^= 0x40  # one sample byte: the CRC no longer matches
    return bytes(b)


class Server:
    """Accepts one client, sends it `payload` in small uneven pieces and keeps the stream open
    until closed."""

    def __init__(self, payload: bytes):
        self.payload = payload
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            for i in range(0, len(self.payload), 333):  # blocks torn across segments
                conn.sendall(self.payload[i:i + 333])
                time.sleep(0.001)
            self.release.wait(10)

    def close(self) -> None:
        self.sock.close()  # first: no reconnection is accepted after the stream ends
        self.release.set()
        self.thread.join(5)


@pytest.fixture
def server():
    seqs = [0, 1, 2, 3, 4, 6, 7]  # 3 arrives damaged, 5 never comes
    payload = b"".join(damaged(block(s)) if s == 3 else block(s) for s in seqs)
    srv = Server(payload)
    yield srv
    srv.close()


def test_blocks_crc_damage_and_a_gap_through_open_source(server):
    src = open_source(f"tcp://127.0.0.1:{server.port}")
    assert isinstance(src, TcpSource) and isinstance(src.link, Link)
    got = []
    with src:
        end = time.monotonic() + 10
        while len(got) < 6 and time.monotonic() < end:
            src.wait(0.05)
            got += src.poll()
        assert src.status == "ok"
        server.close()  # the other end goes away: the source says so
        end = time.monotonic() + 10
        while src.status != "lost" and time.monotonic() < end:
            src.wait(0.05)
            got += src.poll()
        assert src.status == "lost" and src.link.counters.disconnects == 1
    assert [it.block.seq for it in got] == [0, 1, 2, 4, 6, 7]
    c = src.counters
    assert c["crc_errors"] == 1  # block 3, dropped
    assert c["gaps"] == 2 and c["lost_blocks"] == 2  # 2 -> 4 (3 was dropped) and 4 -> 6
    assert c["blocks"] == 6 and c["samples"] == 6 * N
    assert c["duplicates"] == 0 and c["invalid"] == 0 and c["overflows"] == 0
    v = got[0].values
    assert v.shape == (N, CH) and v[0] == pytest.approx([0.0, 0.1, 0.2], abs=1e-6)
    assert got[1].raw == block(1)  # the bytes as sent (what a recorder keeps)
    assert src.link.counters.connects == 1
    assert src.link.counters.bytes == len(server.payload)


@pytest.mark.parametrize("url, words", [
    ("tcp://127.0.0.1", "expected tcp://HOST:PORT"),
    ("tcp://:5000", "expected tcp://HOST:PORT"),
    ("tcp://127.0.0.1:99999", "bad port"),
])
def test_bad_tcp_urls_say_what_is_expected(url, words):
    with pytest.raises(ValueError, match=words):
        open_source(url)


def test_no_server_is_retried_and_reported():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here
    src = open_source(f"tcp://127.0.0.1:{port}").start()
    try:
        end = time.monotonic() + 5
        while src.link.counters.connect_failures < 2 and time.monotonic() < end:
            time.sleep(0.02)
        assert src.poll() == [] and src.status == "waiting"
        assert src.link.counters.connect_failures >= 2 and "cannot reach" in src.link.last_error
    finally:
        src.stop()
