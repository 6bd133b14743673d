"""`twin3d warmup`, and the compile progress every start shows.

numba compiles a kernel on its first call and keeps it in its on-disk cache (`cache=True`:
`__pycache__` beside the module, or $NUMBA_CACHE_DIR); a later process loads it in
milliseconds. On a machine that has never run twin3d, or after a kernel's source changed, the
first `twin3d demo` would sit silent for tens of seconds while the kernels compile. So
`.ci/setup` runs `twin3d warmup` once (compile or load every start-up kernel), and the scene and
live commands show one progress line on stderr whenever a compile does happen."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import IO, Any, Iterator

from twin3d.cli.common import emit

# commands that run kernels at start (the scene, the live twin, the simulated rig)
SHOW_COMPILES = {"demo", "run", "monitor", "render", "rig", "calibrate", "record", "replay",
                 "serve", "warmup"}
LINE = "compiling physics kernels (first start only)"


class CompileProgress:
    """A numba event listener: counts the kernels of ours that compile (cache misses) and keeps
    one progress line on `stream` while they do; silent when everything loads from the cache.

    On a terminal the line is rewritten in place (\\r); elsewhere (a log, a pipe) it is written
    once when compiling starts and once when it ends."""

    def __init__(self, stream: IO[str] = sys.stderr, tty: bool | None = None):
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.step: dict | None = None  # the warm-up step in progress: step, index, of
        self.depth = 0  # nested numba:compile events (a kernel compiles its callees)
        self.compiled: list[str] = []  # our kernels compiled in this process
        self.open = False  # a progress line is on screen
        self.t_open = 0.0
        self.n_open = 0  # kernels compiled before the line opened

    def notify(self, event: Any) -> None:  # a numba.core.event.Event
        from twin3d.physics import WARMUP_EVENT

        if event.kind == WARMUP_EVENT:
            if event.is_start:
                self.step = event.data
                if self.open:
                    self._show("")
            else:
                if event.data["index"] == event.data["of"] - 1:
                    self.step = None
                    if self.open:
                        self._close()
            return
        dispatcher = event.data["dispatcher"]
        name = getattr(dispatcher.py_func, "__name__", "?")
        ours = getattr(dispatcher.py_func, "__module__", "").startswith("twin3d")
        if event.is_start:
            self.depth += 1
            if ours:
                self._show(name)
        else:
            self.depth -= 1
            if ours:
                self.compiled.append(name)
            if self.depth == 0 and self.step is None and self.open:
                self._close()  # a compile outside a warm-up (a lazily used kernel) is over

    def _text(self, kernel: str) -> str:
        where = f" {self.step['index'] + 1}/{self.step['of']} {self.step['step']}" \
            if self.step else ""
        if not kernel or (self.step and kernel == self.step["step"]):
            return f"{LINE}:{where} ..."
        return f"{LINE}:{where}{':' if where else ''} {kernel} ..."

    def _show(self, kernel: str) -> None:
        if not self.open:
            self.open, self.t_open, self.n_open = True, time.perf_counter(), len(self.compiled)
            if not self.tty:
                self._write(self._text(kernel) + "\n")
        if self.tty:
            self._write("\r" + self._text(kernel)[:78].ljust(78))

    def _close(self) -> None:
        n = len(self.compiled) - self.n_open
        done = (f"compiled {n} physics kernel{'s' * (n != 1)} in "
                f"{time.perf_counter() - self.t_open:.1f} s; later starts load them from the "
                "cache")
        self._write(("\r" + done.ljust(78) if self.tty else done) + "\n")
        self.open = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


ACTIVE: list[CompileProgress] = []  # the listeners installed by compile_progress


@contextlib.contextmanager
def compile_progress(command: str | None, stream: IO[str] | None = None
                     ) -> Iterator[CompileProgress | None]:
    """Show compile progress on stderr while `command` runs, if it is one that runs kernels."""
    if command not in SHOW_COMPILES:
        yield None
        return
    from numba.core import event  # imported here: numba costs a quarter second to import

    from twin3d.physics import WARMUP_EVENT

    progress = CompileProgress(stream or sys.stderr)

    class Relay(event.Listener):
        def on_start(self, e) -> None:
            progress.notify(e)

        def on_end(self, e) -> None:
            progress.notify(e)

    relay = Relay()
    event.register("numba:compile", relay)
    event.register(WARMUP_EVENT, relay)
    ACTIVE.append(progress)
    try:
        yield progress
    finally:
        if progress.open:  # a warm-up cut short (an error, ^C): end the line before the message
            progress._close()
        ACTIVE.remove(progress)
        event.unregister(WARMUP_EVENT, relay)
        event.unregister("numba:compile", relay)


def warm_all() -> float:
    """Compile or load every start-up kernel: the live twin's and the rig's, and the plots'
    decimation (the scene's first frame). Returns the seconds it took."""
    import numpy as np

    from twin3d.physics import warmup
    from twin3d.view.plot_maths import minmax_decimate

    return warmup(extra=[("plots", lambda: minmax_decimate(np.arange(4.0), np.zeros(4), 0.0,
                                                          3.0, 2))])


def cache_dir() -> str:
    """Where numba keeps the compiled kernels."""
    return os.environ.get("NUMBA_CACHE_DIR") or "__pycache__ beside each physics module"


def cmd_warmup(args) -> int:
    seconds = warm_all()
    compiled = len(ACTIVE[-1].compiled) if ACTIVE else None
    if args.json:
        emit({"seconds": seconds, "compiled": compiled, "cache": cache_dir()})
    else:
        what = "loaded from the cache" if not compiled else f"{compiled} compiled"
        print(f"twin3d warmup: start-up kernels ready in {seconds:.1f} s ({what}; cache: "
              f"{cache_dir()})")
    return 0


def register(add) -> None:
    add("warmup", cmd_warmup, "compile (or load from the numba cache) every start-up kernel, "
        "so the first `twin3d demo` starts in seconds (.ci/setup runs it)")
