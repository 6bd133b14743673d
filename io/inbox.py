"""The bounded hand-over queue between a link's thread and the frame loop.

When the consumer stalls, the oldest message is dropped and counted: a viewer wants the newest
data, and the count says that something was lost."""

from __future__ import annotations

import queue
from typing import Generic, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    def __init__(self, size: int):
        self._queue: queue.Queue[T] = queue.Queue(maxsize=max(1, size))
        self.overflows = 0

    def put(self, item: T) -> None:
        """Never blocks: on a full queue the oldest item makes room (counted)."""
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.overflows += 1
                except queue.Empty:
                    pass

    def get(self, timeout: float | None = None) -> T | None:
        try:
            return self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except queue.Empty:
            return None

    def drain(self, max_n: int = 1_000_000) -> list[T]:
        out: list[T] = []
        while len(out) < max_n:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out

    def qsize(self) -> int:
        return self._queue.qsize()
