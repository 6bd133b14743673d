"""The executors a sweep runs on, all `concurrent.futures.Executor`s: `local` (in this
process, one task at a time), `processes` (a ProcessPoolExecutor of fresh interpreters) and
`dask://HOST:PORT` or `dask://local` (a Dask client; see dask_cluster.py).

Every worker pins numba's threads (NUMBA_NUM_THREADS set by the worker itself before numba
loads, and numba.set_num_threads in each task) and its BLAS threads to one, and compiles or loads the
kernels once, when it starts. `local` runs in the caller's process as it is."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass


class ExecutorError(ValueError):
    """An executor that cannot be opened (bad spec, unreachable scheduler): one line."""


@dataclass(frozen=True)
class ExecutorSpec:
    kind: str  # local | processes | dask
    host: str = ""  # dask: scheduler host, or "local" for a LocalCluster on this machine
    port: int = 0

    def __str__(self) -> str:
        if self.kind != "dask":
            return self.kind
        return "dask://local" if self.host == "local" else f"dask://{self.host}:{self.port}"


def parse_executor(text: str) -> ExecutorSpec:
    if text in ("local", "processes"):
        return ExecutorSpec(text)
    if not text.startswith("dask://"):
        raise ExecutorError(f"--executor must be local, processes, dask://HOST:PORT or "
                            f"dask://local (got {text!r})")
    rest = text[len("dask://"):]
    if rest == "local":
        return ExecutorSpec("dask", "local")
    host, colon, port = rest.rpartition(":")
    if not colon or not host or "/" in rest:
        raise ExecutorError(f"--executor {text!r}: expected dask://HOST:PORT")
    try:
        p = int(port)
    except ValueError:
        raise ExecutorError(f"--executor {text!r}: port {port!r} is not a number") from None
    if not 1 <= p <= 65535:
        raise ExecutorError(f"--executor {text!r}: port out of range (allowed 1..65535)")
    return ExecutorSpec("dask", host, p)


class InProcess(cf.Executor):
    """Runs each task at submit, in the calling thread: the serial reference."""

    max_pending = 1  # the runner submits one at a time (progress after each task)

    def submit(self, fn: Callable, /, *args, **kwargs) -> cf.Future:
        f: cf.Future = cf.Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as e:  # as a pool would: the error travels in the future
            f.set_exception(e)
        return f


def warm_worker(numba_threads: int, preload: tuple[str, ...] = ()) -> float:
    """Pin numba's threads in this thread, compile or load every kernel once and import the
    tool's module (scipy.signal and friends: over a second, once per worker, not per task).
    Returns the seconds taken."""
    import importlib
    import time

    # only before numba loads (a fresh pool interpreter): where numba is already loaded, its
    # threads may run, and its compiler's config reload refuses a changed NUMBA_NUM_THREADS;
    # set_num_threads below pins the threads used either way
    if "numba" not in sys.modules:
        os.environ["NUMBA_NUM_THREADS"] = str(numba_threads)
    import numba

    from twin3d.physics import warmup

    t0 = time.perf_counter()
    numba.set_num_threads(max(1, min(numba_threads, numba.config.NUMBA_NUM_THREADS)))
    warmup()
    for name in preload:
        importlib.import_module(name)
    return time.perf_counter() - t0


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


# What Dask's nanny sets for each worker (distributed.nanny.pre-spawn-environ), for a pool's
# workers too: with BLAS threads on top of one worker per core, small solves spin and wait (the
# simulator ran 3.5 times slower with OpenBLAS's default threads on this loaded 2-core machine).
PINNED_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ with `env` for the child processes started inside (restored after)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def process_pool(n: int, numba_threads: int,
                 preload: tuple[str, ...] = ()) -> cf.ProcessPoolExecutor:
    """n fresh interpreters (spawn: a forked numba thread pool is not safe to reuse), each
    started with BLAS and numba threads pinned (they read it as they load) and warmed once."""
    pool = cf.ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=warm_worker, initargs=(numba_threads, preload))
    with _environment(PINNED_ENV):  # BLAS reads these as it loads; numba: warm_worker
        # a spawn pool starts all its workers at the first submit: here, in this environment
        pool.submit(os.getpid).result()
    return pool


@contextlib.contextmanager
def closing(ex: cf.Executor) -> Iterator[cf.Executor]:
    """Shut down on exit: waiting for the tasks after a normal end, cancelling them after an
    error or Ctrl-C (a pool's own `with` would wait for every queued task first)."""
    try:
        yield ex
    except BaseException:
        if isinstance(ex, cf.ProcessPoolExecutor):
            ex.shutdown(wait=False, cancel_futures=True)
        else:
            ex.shutdown(wait=False)
        raise
    ex.shutdown(wait=True)


@contextlib.contextmanager
def open_executor(spec: ExecutorSpec, workers: int | None = None, numba_threads: int = 1,
                  preload: tuple[str, ...] = ()) -> Iterator[cf.Executor]:
    """The executor for `spec`, shut down on exit; each worker warmed once, `preload` (the
    tool's module) imported."""
    n = workers or default_workers()
    if spec.kind == "local":
        warm_worker(numba_threads, preload)  # numba's threads are pinned again per task
        yield InProcess()
    elif spec.kind == "processes":
        with closing(process_pool(n, numba_threads, preload)) as ex:
            yield ex
    else:
        from twin3d.sweep.dask_cluster import dask_executor

        with dask_executor(spec, n, numba_threads, preload) as ex:
            yield ex
