"""A test-only tool that fails its first `tag` runs (counted in a file per tag), so a sweep's
retry is seen to happen: tag 0 never fails, tag 1 fails once (the retry succeeds), tag 2 fails
twice (reported as failed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numba

from twin3d.scenefile.schema import spec

NAME = "flaky"
SUMMARY = "fails its first `tag` runs"


@dataclass(frozen=True, kw_only=True)
class Inputs:
    folder: str = spec("", doc="where the run counters live")
    tag: int = spec(0, lo=0, hi=5, doc="runs that fail before one succeeds")
    value: float = spec(1.0, lo=-10.0, hi=10.0)
    die: bool = spec(False, doc="end the worker's process (as a crash in native code would)")


@dataclass(frozen=True)
class Result:
    doubled: float
    attempt: int
    numba_threads: int  # in the thread that ran it


EXAMPLE: dict = {}


def run(inputs: Inputs, ctx) -> Result:
    if inputs.die:
        import os

        os._exit(9)
    counter = Path(inputs.folder) / f"runs-{inputs.tag}"
    n = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(n + 1))
    if n < inputs.tag:
        raise RuntimeError(f"planned failure {n + 1}\nsecond line never shown")
    return Result(doubled=2 * inputs.value, attempt=n + 1,
                  numba_threads=numba.get_num_threads())


def worker_env(name: str) -> str | None:
    """An environment variable as a worker process sees it (submitted to a pool)."""
    import os

    return os.environ.get(name)
