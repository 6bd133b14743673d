"""`replay:PATH[?speed=X]`: a recording folder (`twin3d.io.recorder`) played back as a source, at
X times real time (0: as fast as the consumer polls). A file that is not a recording
(`replay:FILE.uff?map=...`) is opened by the opener registered for its suffix
(`register_replay_file`; twin3d.formats registers UFF, .mat, CSV, NPZ)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

from twin3d.io import t3d1
from twin3d.io.ingest import Ingest, Ingested
from twin3d.io.schemes import query_float, register_scheme


class ReplaySource(Ingest):
    """A recording played at `speed` x real time (0 = as fast as the consumer polls)."""

    check_clock = False  # played at any speed: only the recording's own clock is judged

    def __init__(self, url: str, folder: str, speed: float = 1.0, recording=None):
        super().__init__(url)
        from twin3d.io.recorder import encoded, read_recording

        # `recording`: one built in memory (an imported file) instead of read from `folder`
        self.recording = recording if recording is not None else read_recording(folder)
        # blocks whose header no receiver may use are dropped here (counted), so that the
        # replay's clock (`_due_ns`) only ever sees sane sampling rates
        good = []
        for b in self.recording.blocks:
            why = t3d1.header_problem(b)
            if why:
                self.counters["bad_header"] += 1
                self.last_error = f"dropped a recorded block: seq {b.seq}: {why}"
            else:
                good.append(b)
        self.recording.blocks = good
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
        # a recorded stream may jump (a restarted rig, a forged block): never wait > 1 day
        return self._wall0 + int(min(max(t_last - first.t0_ns, 0), 86400e9) / self.speed)

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
            out += self._accept(self._encoded(b), now, due)
        out += self._expire(final=self.finished)
        if self.finished:
            self.status = "ended"
        return out


# suffix -> opener(url, path, parsed query, scene) for files that are not recordings: the room
# that reads them registers itself (io may not import it)
FILE_OPENERS: dict[str, Callable[[str, str, dict, object], Ingest]] = {}


def register_replay_file(suffixes, opener: Callable[[str, str, dict, object], Ingest]) -> None:
    for suffix in suffixes:
        FILE_OPENERS[suffix.lower()] = opener


@register_scheme("replay", usage="replay:PATH[?speed=X] (or replay:FILE.uff|.mat|.csv|.npz"
                 "?map=COL=ROLE,...)")
def open_replay(url: str, scene=None) -> Ingest:
    path, _, query = url[len("replay:"):].partition("?")
    file_opener = FILE_OPENERS.get(Path(path).suffix.lower())
    if file_opener is not None and Path(path).is_file():
        return file_opener(url, path, parse_qs(query), scene)
    if not (Path(path) / "blocks.t3d").is_file():
        raise ValueError(f"source {url!r}: {path!r} is not a recording folder (no blocks.t3d)")
    return ReplaySource(url, path, query_float(parse_qs(query), "speed", 1.0, 0.0, 1000.0, url))
