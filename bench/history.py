"""The monitoring history's figures: rows per second the writer sustains into SQLite and into a
private PostgreSQL (batched executemany, one transaction a batch) against one commit per record
on the same store in the same run; and what history costs the frame loop per frame."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from twin3d.bench import figure

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temporary folder, run as `nobody` when this process
    is root (PostgreSQL refuses root), on a free loopback port; stop() and start() again on the
    same port. The history tests use it too (tests/history/conftest.py)."""

    def __init__(self, fsync: bool = True):
        self.fsync = fsync  # off for tests (faster, nothing to keep); on for the figures
        bins = sorted(glob.glob(PG_BIN_GLOB))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin):"
                               " run .ci/setup")
        self.bin = bins[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="twin3d-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "nobody")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data = self.dir / "data"
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "twin", "--no-sync")
        self._n = 0

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        cmd = [f"{self.bin}/{tool}", *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "nobody", "--", *cmd]
        subprocess.run(cmd, check=check, capture_output=True)

    def start(self) -> PrivatePostgres:
        fsync = "" if self.fsync else " -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o",
                  f"-k {self.dir} -c listen_addresses=127.0.0.1 -p {self.port}{fsync}",
                  "-l", str(self.dir / "log"), "-w", "start")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://twin@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        import psycopg

        self._n += 1
        name = f"t{self._n}"
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _tracker_records(n: int, t0: float) -> list:
    from twin3d.history import records

    rng = np.random.default_rng(0)
    f = np.array([5.98, 6.96, 17.2, 26.08])
    return [records.tracker_update(f * (1 + 1e-3 * rng.standard_normal(4)), [0.004] * 4,
                                   excitation_rms=0.02, source_t=float(i), t=t0 + i)
            for i in range(n)]


def _through_writer(url: str, recs: list, duty: float) -> float:
    """s per record: all of `recs` put at once, until the store holds them."""
    from twin3d.history import Writer

    w = Writer(url, duty=duty)
    assert w.wait_connected(30), w.counters()  # connected and migrated
    t0 = time.perf_counter()
    for r in recs:
        w.put(r)
    assert w.flush(600), w.counters()
    per = (time.perf_counter() - t0) / len(recs)
    w.close()
    return per


def _rates(url: str, n: int, n_naive: int) -> tuple[float, float, float]:
    """(s per record through the Writer flat out, the same as it paces itself on a backlog,
    s per record one transaction each), same store."""
    from twin3d.history.store import Store

    ours = _through_writer(url, _tracker_records(n, 1.7e9), duty=1.0)
    paced = _through_writer(url, _tracker_records(n, 1.6e9), duty=0.5)
    naive = _tracker_records(n_naive, 1.8e9)
    with Store(url) as s:
        t0 = time.perf_counter()
        for i, r in enumerate(naive):
            s.write([(f"naive-{i}", r)])  # one INSERT (+ its mode rows), one commit
        base = (time.perf_counter() - t0) / n_naive
        assert s.count() == 2 * n + n_naive
    return ours, paced, base


def bench_sqlite(quick: bool) -> list[dict]:
    d = Path(tempfile.mkdtemp(prefix="twin3d-bench-history-"))
    try:
        ours, paced, base = _rates(f"sqlite:///{d / 'h.sqlite'}",
                                   20_000 if quick else 100_000, 1_000 if quick else 5_000)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    f = figure("history: SQLite, s per tracker update written (1 event + 4 mode rows)", ours,
               base, "one transaction per record, same store", "s", 3.0)
    f["records_per_s"] = 1.0 / ours
    f["paced_records_per_s"] = 1.0 / paced  # the default duty 0.5 while catching up
    f["baseline_records_per_s"] = 1.0 / base
    return [f]


def bench_postgresql(quick: bool) -> list[dict]:
    pg = PrivatePostgres().start()
    try:
        ours, paced, base = _rates(pg.new_database(), 20_000 if quick else 100_000,
                                   1_000 if quick else 5_000)
    finally:
        pg.destroy()
    f = figure("history: PostgreSQL (local, fsync on), s per tracker update written", ours, base,
               "one transaction per record, same server", "s", 3.0)
    f["records_per_s"] = 1.0 / ours
    f["paced_records_per_s"] = 1.0 / paced  # the default duty 0.5 while catching up
    f["baseline_records_per_s"] = 1.0 / base
    return [f]


def _frame_work(x: np.ndarray) -> None:
    """A stand-in frame (~1-2 ms of numpy and Python): what the history calls run beside."""
    for _ in range(20):
        x = np.sin(x) * 0.5 + 0.1
    sum(range(3000))


def bench_frame_cost(quick: bool) -> list[dict]:
    """Per frame at 60 frames per tracker update (one a second at 60 fps): the live side's
    history calls (observe, the tracker record's put, the trend for the state), timed inside
    the frame, with the writer thread writing to SQLite beside it; and the whole frame with and
    without them, also while the writer catches up on a backlog (a store back after a stop)."""
    from twin3d.live.history_feed import HistoryFeed

    d = Path(tempfile.mkdtemp(prefix="twin3d-bench-history-"))
    frames = 1200 if quick else 6000
    x = np.linspace(0, 1, 2000)
    try:
        hf = HistoryFeed.open(f"sqlite:///{d / 'h.sqlite'}", rig="bench")
        assert hf.writer.wait_connected(30)
        feed = SimpleNamespace(tracked_hz=(), alarm="", t=0.0, tracker=None)
        f = np.array([5.98, 6.96, 17.2, 26.08])

        def run(with_history: bool) -> tuple[np.ndarray, np.ndarray]:
            cost, whole = np.empty(frames), np.empty(frames)
            for i in range(frames):
                t0 = time.perf_counter()
                _frame_work(x)
                t1 = time.perf_counter()
                if with_history:
                    if i % 60 == 0:  # the tracker's new result, once a second
                        feed.tracked_hz = tuple(f * (1 + 1e-4 * (i % 7)))
                        feed.t = i / 60
                    if i % 600 == 300:  # an alarm every 10 s, cleared 5 s later
                        feed.alarm = "mode 1 2.3 % below model" if i % 1200 == 300 else ""
                    hf.observe(feed)
                    hf.trend()
                t2 = time.perf_counter()
                cost[i], whole[i] = t2 - t1, t2 - t0
            return cost, whole

        run(True)  # warm: first trend arrays, caches
        _, without = run(False)
        cost, with_ = run(True)
        # a backlog: 50 000 records written while the frames run
        for r in _tracker_records(50_000, 1.7e9):
            hf.writer.put(r)
        cost_b, with_b = run(True)
        backlog_left = hf.writer.buffered
        hf.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    ms = 1e3
    fig = figure("history: frame-loop cost per frame (observe + put + trend), ms",
                 float(cost.mean() * ms), 0.5, "the goal: 0.5 ms per frame", "ms", 1.0)
    fig.update(cost_p99_ms=float(np.percentile(cost, 99) * ms),
               frame_ms_without=float(without.mean() * ms),
               frame_ms_with=float(with_.mean() * ms),
               frame_p99_ms_without=float(np.percentile(without, 99) * ms),
               frame_p99_ms_with=float(np.percentile(with_, 99) * ms),
               backlog_cost_ms=float(cost_b.mean() * ms),
               backlog_frame_ms=float(with_b.mean() * ms),
               backlog_frame_p99_ms=float(np.percentile(with_b, 99) * ms),
               backlog_left_after_frames=int(backlog_left))
    put = _put_cost()
    return [fig, put]


def _put_cost() -> dict:
    """Writer.put per call against writing the same record inline in the frame (one INSERT, one
    commit on SQLite: what a frame loop without the writer would pay)."""
    from twin3d.history import Writer, records
    from twin3d.history.store import Store

    n = 200_000
    rec = records.tracker_update([5.98, 6.96, 17.2, 26.08], [0.004] * 4, t=0.0)
    w = Writer("sqlite:////nonexistent/never-opened.sqlite", capacity=n, start=False)
    t0 = time.perf_counter()
    for _ in range(n):
        w.put(rec)
    ours = (time.perf_counter() - t0) / n
    d = Path(tempfile.mkdtemp(prefix="twin3d-bench-history-"))
    try:
        with Store(f"sqlite:///{d / 'h.sqlite'}") as s:
            m = 500
            t0 = time.perf_counter()
            for i in range(m):
                s.write([(f"i{i}", rec)])
            base = (time.perf_counter() - t0) / m
    finally:
        shutil.rmtree(d, ignore_errors=True)
    f = figure("history: Writer.put in the frame, s per record (never waits)", ours, base,
               "the record written inline (SQLite, one commit)", "s", 100.0)
    f["put_us"] = ours * 1e6
    return f


def steps(quick: bool) -> list:
    return [("history SQLite rows/s", lambda: bench_sqlite(quick)),
            ("history PostgreSQL rows/s", lambda: bench_postgresql(quick)),
            ("history frame cost", lambda: bench_frame_cost(quick))]
