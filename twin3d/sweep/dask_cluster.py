"""Sweeps on Dask: a `distributed.Client` is a concurrent.futures executor once asked, with
pure=False (else a retried task, same arguments, could be answered from its first, failed,
run); the scene goes to every worker once (scatter). A worker plugin warms each worker once
(kernels compiled or loaded, the tool imported), those that join later included. Dask pins
OpenMP/MKL/OpenBLAS threads per worker but not numba's: every task calls
numba.set_num_threads in the thread that runs it, which pins local and remote workers alike.
NUMBA_NUM_THREADS is not passed through `distributed.nanny.pre-spawn-environ`: the nanny writes
that table into the *client's* os.environ (at every worker start, restarts included) and leaves
it there, and numba in the client then refuses to run once its threads started with another
count."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any

from distributed import Client, LocalCluster
from distributed.cfexecutor import ClientExecutor
from distributed.diagnostics.plugin import WorkerPlugin

from twin3d.sweep.executors import ExecutorError, ExecutorSpec, closing, warm_worker

PLUGIN_NAME = "twin3d-sweep-warmup"
CONNECT_TIMEOUT_S = 5


class WarmUp(WorkerPlugin):
    """On each worker, once: every kernel compiled or loaded, the tool's module imported."""

    def __init__(self, numba_threads: int, preload: tuple[str, ...] = ()):
        self.numba_threads, self.preload = numba_threads, preload
        self.seconds = None

    def setup(self, worker) -> None:
        self.seconds = warm_worker(self.numba_threads, self.preload)


class DaskExecutor(ClientExecutor):
    """The client's executor, plus share(): an object sent to every worker once (the scene),
    which tasks then take by reference instead of carrying a copy each."""

    def share(self, obj: Any) -> Any:
        return self._client.scatter(obj, broadcast=True, hash=False) if obj is not None else None


def local_cluster(n_workers: int) -> LocalCluster:
    """A LocalCluster on loopback, one thread per worker (numba is pinned by each task)."""
    saved = dict(os.environ)  # the nanny's pre-spawn table (OMP_NUM_THREADS=1...) stays ours
    try:
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                            host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _reachable(spec: ExecutorSpec, address: str) -> None:
    """A refused connection is told at once (Dask's client would retry until its timeout)."""
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise ExecutorError(f"--executor {spec}: cannot reach the Dask scheduler at {address} "
                            f"({e.strerror or type(e).__name__})") from None


@contextlib.contextmanager
def dask_executor(spec: ExecutorSpec, n_workers: int, numba_threads: int,
                  preload: tuple[str, ...] = ()) -> Iterator:
    cluster = None
    if spec.host == "local":
        cluster = local_cluster(n_workers)
        address = cluster.scheduler_address
    else:
        address = f"tcp://{spec.host}:{spec.port}"
    try:
        _reachable(spec, address)
        try:
            client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as e:
            raise ExecutorError(f"--executor {spec}: cannot reach the Dask scheduler at "
                                f"{address} ({type(e).__name__})") from None
        try:
            client.register_plugin(WarmUp(numba_threads, preload), name=PLUGIN_NAME)
            with closing(DaskExecutor(client, pure=False)) as ex:
                yield ex
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
