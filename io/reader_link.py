"""The part of a link that reads a byte stream in its own thread: start/stop, `connected`, a
bounded inbox (`get`/`drain`, the oldest dropped and counted when the consumer falls behind)
and reopening with doubling backoff after the stream goes away.

A subclass says how to open its stream (`_open() -> bool`, counting its own failures), read
one chunk (`_read_once() -> bool`, False when the stream is gone) and close it (`_close()`).
It needs `counters.overflows` and `last_error`. Used by the serial link and the tcp example.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from twin3d.io.inbox import Inbox

T = TypeVar("T")


class ReaderLink(Generic[T]):
    counters: object  # with an `overflows` field
    last_error: str

    def __init__(self, name: str, queue_size: int, min_backoff: float, max_backoff: float):
        self._name = name
        self._queue: Inbox[T] = Inbox(queue_size)
        self._backoff = (min_backoff, max_backoff)
        self._stop = threading.Event()
        self._up = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the subclass's stream ----------------------------------------------------------------
    def _open(self) -> bool:
        raise NotImplementedError

    def _read_once(self) -> bool:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # --- the Link interface -------------------------------------------------------------------
    def start(self):
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._up.clear()
        self._close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._up.wait(timeout)

    def get(self, timeout: float | None = None) -> T | None:
        return self._queue.get(timeout)

    def drain(self, max_n: int = 1_000_000) -> list[T]:
        return self._queue.drain(max_n)

    def _put(self, item: T) -> None:
        self._queue.put(item)
        self.counters.overflows = self._queue.overflows

    def _run(self) -> None:
        delay = self._backoff[0]
        while not self._stop.is_set():
            if not self._up.is_set():
                if not self._open():
                    self._stop.wait(delay)
                    delay = min(2 * delay, self._backoff[1])
                    continue
                delay = self._backoff[0]
                self._up.set()
            if not self._read_once():
                self._up.clear()
                self._close()
