"""`replay:PATH[?speed=X]`: a recording folder (`twin3d.io.recorder`) played back as a source, at
X times real time (0: as fast as the consumer polls)."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs

from twin3d.io import t3d1
from twin3d.io.ingest import Ingest, Ingested
from twin3d.io.schemes import query_float, register_scheme


class ReplaySource(Ingest):
    """A recording played at `speed` x real time (0 = as fast as the consumer polls)."""

    def __init__(self, url: str, folder: str, speed: float = 1.0):
        super().__init__(url)
        from twin3d.io.recorder import encoded, read_recording

        self.recording = read_recording(folder)
        self._encoded = encoded
        self.speed = speed
        if self.recording.meta:
            self.set_meta(self.recording.meta)
        self._i = 0
        self._wall0: int | None = None

    def start(self) -> ReplaySource:
        self._wall0 = time.time_ns()
        self.status = "ok"
        return self

    @property
    def finished(self) -> bool:
        return self._i >= len(self.recording.blocks)

    def _due_ns(self, b: t3d1.Block) -> int:
        first = self.recording.blocks[0]
        t_last = b.t0_ns + int(round((b.n_samples - 1) * 1e9 / b.fs))
        return self._wall0 + int((t_last - first.t0_ns) / self.speed)

    def wait(self, timeout: float) -> bool:
        if self.finished:
            time.sleep(timeout)
            return False
        if self.speed <= 0:
            return True
        delay = (self._due_ns(self.recording.blocks[self._i]) - time.time_ns()) * 1e-9
        if delay > timeout:
            time.sleep(timeout)
            return False
        time.sleep(max(delay, 0.0))
        return True

    def poll(self, max_blocks: int = 10_000) -> list[Ingested]:
        if self._wall0 is None:
            self.start()
        out, blocks, now = [], self.recording.blocks, time.time_ns()
        while self._i < len(blocks) and len(out) < max_blocks:
            b = blocks[self._i]
            due = now if self.speed <= 0 else self._due_ns(b)
            if due > now:
                break
            self._i += 1
            it = self._accept(self._encoded(b), now, due)
            if it is not None:
                out.append(it)
        if self.finished:
            self.status = "ended"
        return out


@register_scheme("replay", usage="replay:PATH[?speed=X]")
def open_replay(url: str, scene=None) -> Ingest:
    path, _, query = url[len("replay:"):].partition("?")
    if not (Path(path) / "blocks.t3d").is_file():
        raise ValueError(f"source {url!r}: {path!r} is not a recording folder (no blocks.t3d)")
    return ReplaySource(url, path, query_float(parse_qs(query), "speed", 1.0, 0.0, 1000.0, url))
