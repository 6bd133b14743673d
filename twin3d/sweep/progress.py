"""Progress of a sweep on stderr: tasks done/total, failures, rate and time left. On a
terminal one line is redrawn; otherwise (a log) a line at most every `every_s` and the last."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, every_s: float = 2.0):
        self.total, self.stream, self.every_s = total, stream or sys.stderr, every_s
        self.t0 = time.monotonic()
        self.last = -float("inf")
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def start(self) -> None:
        """The clock starts with the first task (not with the workers' start-up)."""
        self.t0 = time.monotonic()

    def line(self, done: int, failed: int) -> str:
        elapsed = time.monotonic() - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        eta_s = f"{eta:.0f} s" if eta != float("inf") else "?"
        fail = f", {failed} failed" if failed else ""
        return (f"sweep: {done}/{self.total} tasks{fail}, {rate:.3g} tasks/s, "
                f"{elapsed:.1f} s elapsed, ETA {eta_s}")

    def update(self, done: int, failed: int) -> None:
        now = time.monotonic()
        final = done == self.total
        if not final and now - self.last < (0.2 if self.tty else self.every_s):
            return
        self.last = now
        if self.tty:
            end = "\n" if final else ""
            print(f"\r{self.line(done, failed):<79}", end=end, file=self.stream, flush=True)
        else:
            print(self.line(done, failed), file=self.stream, flush=True)

    def note(self, text: str) -> None:
        """A line of its own (a failure), not overwritten by the progress line."""
        print(("\n" if self.tty else "") + text, file=self.stream, flush=True)
