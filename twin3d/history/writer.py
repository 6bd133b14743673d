"""The history's writer: `put(record)` from the frame loop or the ingest never waits; a thread
drains a bounded buffer into the store in batches (executemany, one transaction a batch).

While the store is down (PostgreSQL stopped, the network gone, a SQLite folder not writable) the
records stay in the buffer, bounded by `capacity` (beyond it the oldest go, counted in
`dropped`), the failures are counted in `errors` with the last one as one line, and the store is
tried again with a doubling back-off; once it answers the buffer is written. A SQLite file that
is not a database is renamed aside with a time stamp (said once, counted in `set_aside`) and a
new one started: never overwritten. A batch is sent with its records' uids, so one whose commit
answer was lost is sent again without doubling rows.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from twin3d.history.records import Record
from twin3d.history.store import (CorruptStore, Store, StoreError, _is_corrupt, _one_line,
                                  check_url, default_url, redact, set_aside, sqlite_path)

SQLITE_NAMES = (".sqlite", ".sqlite3", ".db")
POISON_AFTER = 5  # failures of one batch on a store that answers, before it is dropped


class Writer:
    """Records to one store, off the caller's thread. See twin3d.history.store for the API."""

    def __init__(self, url: str | None = None, *, capacity: int = 200_000, batch: int = 500,
                 flush_s: float = 0.25, backoff_s: tuple[float, float] = (0.5, 30.0),
                 connect_timeout_s: float = 3.0, say: Callable[[str], None] | None = None,
                 preload_s: float | None = None, preload_rig: str | None = None,
                 duty: float = 0.5, start: bool = True):
        self.url = check_url(url or default_url())
        self.shown = redact(self.url)
        self.capacity, self.batch, self.flush_s = int(capacity), int(batch), float(flush_s)
        self.backoff_s = backoff_s
        self.duty = float(duty)  # at most this share of the time writing while catching up
        self.connect_timeout_s = connect_timeout_s
        self.say = say or (lambda line: None)
        self.preload_s, self.preload_rig = preload_s, preload_rig
        self.preloaded: list[Record] | None = None  # the store's recent records, once read
        self._q: deque[Record] = deque(maxlen=self.capacity)
        self._inflight: list[tuple[str, Record]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._prefix = secrets.token_hex(6)  # uid = prefix-counter: unique without a lookup
        self._n = 0
        self._batch_failures = 0  # of the batch in flight, with the store reachable
        self.written = self.dropped = self.errors = self.set_aside = self.batches = 0
        self.last_error = ""
        self.state = "connecting"  # connecting | ok | down | closed
        self.not_written = 0  # left in the buffer at close (the store was down)
        self.spilled = ""  # the file they were kept in
        self._abandon = False
        self._store: Store | None = None
        self._thread = threading.Thread(target=self._run, name="twin3d-history", daemon=True)
        if start:
            self._thread.start()

    # --- the caller's side: O(1), no lock, no I/O ---------------------------------------------
    def put(self, record: Record) -> bool:
        """Hand one record over; False (counted) when the buffer was full and its oldest went."""
        q = self._q
        full = len(q) >= self.capacity
        if full:
            self.dropped += 1
        q.append(record)  # a deque's append is atomic; maxlen drops the oldest when full
        if len(q) >= self.batch and not self._wake.is_set():
            self._wake.set()
        return not full

    @property
    def buffered(self) -> int:
        return len(self._q) + len(self._inflight)

    def counters(self) -> dict:
        """For the HUD and `monitor --json`."""
        return {"url": self.shown, "state": self.state, "written": self.written,
                "buffered": self.buffered, "dropped": self.dropped, "errors": self.errors,
                "set_aside": self.set_aside, "not_written": self.not_written,
                "spilled": self.spilled, "last_error": self.last_error}

    def status_line(self) -> str:
        """One short line: 'history (SQLite) ok, 1234 written', 'history (PostgreSQL) DOWN, ...'."""
        where = "PostgreSQL" if self.url.startswith("postgres") else "SQLite"
        if self.state == "ok":
            extra = f", {self.buffered} buffered" if self.buffered > self.batch else ""
            extra += f", {self.set_aside} bad file set aside" if self.set_aside else ""
            return f"history ({where}) ok, {self.written} written{extra}"
        if self.state == "connecting":
            return f"history ({where}) connecting, {self.buffered} buffered"
        return (f"history ({where}) {self.state.upper()}, {self.buffered} buffered, "
                f"{self.dropped} lost")

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything put so far is written (True) or the timeout passes (tests, the
        end of a headless run)."""
        deadline = time.monotonic() + timeout_s
        while self.buffered and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return self.buffered == 0

    def wait_connected(self, timeout_s: float = 10.0) -> bool:
        """Wait for the first connection (and migration): True once the store took it."""
        deadline = time.monotonic() + timeout_s
        while self.state == "connecting" and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.state == "ok"

    def close(self, timeout_s: float = 5.0) -> dict:
        """Write what can be written within the timeout. What could not (the store down) is
        counted in `not_written`, kept in a JSON-lines file in the data folder (`spilled`;
        `twin3d history --import FILE` writes it later, without doubles) and said in one line."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._abandon = True  # a thread still trying takes nothing more from the buffer
        left = self.buffered
        if left:
            self.not_written = left
            where = self._spill()
            self.say(f"twin3d: history store {self.shown}: {left} records not written "
                     f"({self.last_error or 'store busy'}); "
                     + (f"kept in {where}" if where else "and lost (could not keep them)"))
        self.state = "closed" if not left else self.state
        return self.counters()

    def _spill(self) -> str:
        """The records left, as JSON lines {uid, t, kind, rig, payload}: the file's path, or ""
        when it cannot be written."""
        from twin3d.history.store import _json, data_dir

        rows = list(self._inflight)
        while self._q:
            try:
                r = self._q.popleft()
            except IndexError:
                break
            self._n += 1
            rows.append((f"{self._prefix}-{self._n:x}", r))
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = data_dir() / "unwritten" / f"history-{stamp}-{self._prefix}.jsonl"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as f:
                for uid, r in rows:
                    f.write(f'{{"uid": "{uid}", "t": {r.t!r}, "kind": {_json(r.kind)}, '
                            f'"rig": {_json(r.rig)}, "payload": {_json(r.payload)}}}\n')
        except OSError as e:
            self.last_error = f"could not keep unwritten records: {e.strerror or e}"
            return ""
        if not self._thread.is_alive():
            self._inflight = []  # kept in the file now (a thread still writing keeps its own)
        self.spilled = str(path)
        return str(path)

    # --- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        delay = self.backoff_s[0]
        while True:
            if self._store is None:
                if not self._open():
                    if self._stop.is_set():
                        return  # closing with the store down: close() counts the rest
                    self._stop.wait(delay)
                    delay = min(2 * delay, self.backoff_s[1])
                    continue
                delay = self.backoff_s[0]
            if self._abandon:
                break
            if not self._inflight:
                self._take()
            if not self._inflight:
                if self._stop.is_set():
                    break
                self._wake.wait(self.flush_s)
                self._wake.clear()
                continue
            t0 = time.perf_counter()
            if not self._write():
                if self._stop.is_set() and self._store is None:
                    continue  # one more try to reconnect (below), then give up
                self._stop.wait(delay)
                delay = min(2 * delay, self.backoff_s[1])
            elif self._q and not self._stop.is_set() and self.duty < 1.0:
                # catching up on a backlog: this thread's Python work (JSON, binding) holds
                # the GIL the frame loop needs, so it rests between batches in proportion
                spent = time.perf_counter() - t0
                self._stop.wait(spent * (1.0 - self.duty) / self.duty)
        if self._store is not None:
            self._store.close()

    def _take(self) -> None:
        q, out = self._q, []
        while q and len(out) < self.batch:
            try:
                r = q.popleft()
            except IndexError:
                break
            self._n += 1
            out.append((f"{self._prefix}-{self._n:x}", r))
        self._inflight = out

    def _open(self) -> bool:
        try:
            self._store = Store(self.url, self.connect_timeout_s)
        except CorruptStore as e:
            self._corrupt(str(e))
            return self._store is not None
        except (StoreError, ValueError) as e:
            self._batch_failures = 0  # the store is down: the batch's failures were not its own
            self._failed(str(e))
            return False
        if self.state != "ok" and self.state != "connecting":
            self.say(f"twin3d: history store {self.shown} is back: writing {self.buffered} "
                     f"buffered records")
        self.state = "ok"
        if self.preload_s is not None and self.preloaded is None:
            try:
                self.preloaded = self._store.query(since=time.time() - self.preload_s,
                                                   kinds=("tracker", "calibration", "alarm"),
                                                   rig=self.preload_rig)
            except Exception as e:  # a history that cannot be read back still takes writes
                self.preloaded = []
                self._failed(f"reading back: {_one_line(e)}", close=False)
        return True

    def _write(self) -> bool:
        try:
            self._store.write(self._inflight)
        except Exception as e:
            self._batch_failures += 1
            if self._batch_failures >= POISON_AFTER:
                # the store answers, yet this batch fails every time: something in it that the
                # store refuses; dropped (counted) so that the records after it get through
                self.dropped += len(self._inflight)
                self._inflight = []
                self._batch_failures = 0
                self._failed(f"a batch refused {POISON_AFTER} times, dropped: {_one_line(e)}",
                             close=False)
                return True
            if _is_corrupt(e):
                self._store.close()
                self._store = None
                self._corrupt(f"{self.shown}: not a usable SQLite file ({_one_line(e)})")
                return False
            self._failed(_one_line(e))
            return False
        self.written += len(self._inflight)
        self._batch_failures = 0
        self.batches += 1
        self._inflight = []
        return True

    def _corrupt(self, why: str) -> None:
        """Set the bad file aside (never overwritten) and start a new one: only a file that was
        meant to be a database (a SQLite header, or named .sqlite/.sqlite3/.db); any other file
        a mistyped URL names is left alone."""
        path = sqlite_path(self.url)
        if not _meant_as_database(path):
            self._failed(f"{why}; {path} is not a SQLite file, left as it is (choose another "
                         "--store)")
            return
        try:
            aside = set_aside(path)
        except OSError as e:
            self._failed(f"{why}; cannot set it aside ({e.strerror or e})")
            return
        self.set_aside += 1
        self.errors += 1
        self.last_error = f"{why}; set aside as {aside.name}"
        self.say(f"twin3d: history store {self.shown}: {why}; set aside as {aside}, a new one "
                 f"started")
        try:
            self._store = Store(self.url, self.connect_timeout_s)
            self.state = "ok"
        except (StoreError, ValueError) as e:
            self._failed(str(e))

    def _failed(self, why: str, close: bool = True) -> None:
        self.errors += 1
        self.last_error = " ".join(why.split())[:300]
        if close and self._store is not None:
            self._store.close()
            self._store = None
        if close and self.state in ("ok", "connecting"):
            what = self.last_error if self.last_error.startswith("history store") else \
                f"history store {self.shown}: {self.last_error}"
            self.say(f"twin3d: {what}; the twin runs on without it, records are buffered (up "
                     f"to {self.capacity}) and written when it is back")
            self.state = "down"


def _meant_as_database(path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return head.startswith(b"SQLite format 3") or path.suffix.lower() in SQLITE_NAMES
