"""Serial link: pyserial in its own reader thread, feeding `serial_lines.LineParser`.

Reads in chunks (`read(max(1, in_waiting))`), never `readline()`: pyserial's readline goes byte
by byte and tops out near 3.6k lines/s (notes/HEADLESS.md section 6). Parsed lines go to a
bounded queue as frozen `SerialMessage`s (the oldest is dropped and counted when the consumer
falls behind). When the port disappears (USB unplugged, pty closed) the link says so, counts it
and reopens the same path with exponential backoff until it is back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import serial

from twin3d.io.reader_link import ReaderLink
from twin3d.io.serial_lines import LineParser, Message


@dataclass(frozen=True)
class SerialMessage:
    message: Message
    t_recv_ns: int  # host wall clock when the chunk holding the line end arrived


@dataclass
class SerialCounters:
    opens: int = 0
    disconnects: int = 0
    open_failures: int = 0
    bytes: int = 0
    overflows: int = 0
    written: int = 0
    write_failed: int = 0


class SerialLink(ReaderLink[SerialMessage]):
    """A `twin3d.io.link.ByteLink`: `start()`, `get()/drain()`, `write(bytes)`, `stop()`;
    counters on `.counters` and the parser's line counters on `.parser`."""

    def __init__(self, path: str, baudrate: int = 1_000_000, *, n_channels: int | None = None,
                 queue_size: int = 65536, min_backoff: float = 0.05, max_backoff: float = 2.0,
                 read_timeout: float = 0.05):
        super().__init__(f"serial {path}", queue_size, min_backoff, max_backoff)
        self.path, self.baudrate = path, baudrate
        self.parser = LineParser(n_channels=n_channels)
        self.counters = SerialCounters()
        self.last_error = ""
        self._read_timeout = read_timeout
        self._port: serial.Serial | None = None
        self._write_lock = threading.Lock()

    def write(self, data: bytes) -> bool:
        """Send bytes (e.g. an encoded `$C` line); False (and counted) when the port is down."""
        port = self._port
        if port is None:
            self.counters.write_failed += 1
            self.last_error = f"{self.path} is not open"
            return False
        try:
            with self._write_lock:
                port.write(data)
            self.counters.written += 1
            return True
        except (serial.SerialException, OSError) as e:
            self.counters.write_failed += 1
            self.last_error = f"write to {self.path} failed: {e}"
            return False

    # --- the stream (ReaderLink) ---------------------------------------------------------------

    def _open(self) -> bool:
        try:
            self._port = serial.Serial(self.path, self.baudrate, timeout=self._read_timeout)
        except (serial.SerialException, OSError, ValueError) as e:
            self.counters.open_failures += 1
            self.last_error = f"cannot open {self.path}: {e}"
            return False
        self.counters.opens += 1
        # a line torn by the disconnect must not glue onto the first new one
        self.parser.feed(b"\n")
        return True

    def _read_once(self) -> bool:
        try:
            port = self._port
            data = port.read(max(1, port.in_waiting))
        except (serial.SerialException, OSError, TypeError, AttributeError) as e:
            # TypeError/AttributeError: pyserial internals after the fd went away
            self.counters.disconnects += 1
            self.last_error = f"{self.path} disappeared: {e}"
            return False
        if data:
            t = time.time_ns()
            self.counters.bytes += len(data)
            for msg in self.parser.feed(data):
                self._put(SerialMessage(msg, t))
        return True

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass
