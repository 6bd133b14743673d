"""The monitoring history's store: where it is (a URL), its one schema, and how to read and write
it. The API the rest of the twin uses (stable; others call it):

Records (`twin3d.history.records`, plain data, no I/O). Every record is
`Record(kind, payload, t=<wall s since epoch>, rig="rig1")`; build them with these constructors
(keyword arguments; lists of floats, NaN allowed (stored as null)):

    tracker_update(frequencies_hz, damping=(), excitation_rms=None, source_t=None)
    calibration(profile, frequencies_hz, storey_stiffness_n_per_m, storey_damping_ns_per_m,
                source, t_start, t_end, coherence, residual, **extra)
    localisation(storeys=[{"storey": 2, "change_percent": -8.1, "ci95_percent": 1.9}, ...],
                 unexplained="" | "why no storey explains it", **extra)
    alarm(raised: bool, text, mode=None, storey=None)
    command(op, args, user, id="", result="")     # result: issued | refused by the twin: ...
    ack(op, id, status, user="", result="")       # status: accepted | rejected | done | timeout

  each takes `t=` (default: now) and `rig=` (default "rig1"; the live side uses the rig its
  source names: an MQTT rig id, `sim`, `replay`, `serial`); `**extra` fields go into the payload
  (JSON-able; NaN becomes null, numpy values plain numbers).

Writing, from anywhere that must not wait (the frame loop, ingest):

    from twin3d.history import Writer, records
    w = Writer("sqlite:///path/h.sqlite" | "postgresql://user@host:5432/db" | None (default file),
               say=print_to_stderr)        # starts its thread; never raises for a down store
    w.put(records.calibration(profile="live_1", ...))   # O(1), never blocks, never raises
    w.counters()   # {"url", "state": connecting|ok|down|closed, "written", "buffered",
                   #  "dropped", "errors", "set_aside", "not_written", "last_error"}
    w.status_line() # "history (SQLite) ok, 1234 written" / "... DOWN, 56 buffered, 0 lost"
    w.wait_connected(timeout_s) / w.flush(timeout_s)   # for tests and one-shot commands
    w.close(timeout_s=5)   # writes what it can; what it could not is counted and said

  A one-shot command (e.g. `twin3d calibrate --store URL`) writes the same way: Writer(url),
  put, close() (or, blocking, `with open_store(url) as s: s.write([(uid, record)])`).

  From the live side, use `feed.emit(record)` on a `twin3d.live.live_feed.LiveFeed`: it goes to
  the store attached with `--store` (`twin3d.live.history_feed.HistoryFeed`, `feed.store`) and
  into the scene's trend, and does nothing when history is off; a record left on the default
  rig gets the feed's (the rig its source names).
  Calibration: emit once a profile is saved; localisation: when its result changes (not per
  frame). Tracker updates, alarms (raised/cleared, from `feed.alarm`'s text), commands and acks
  are recorded by the adapter already.

Reading (blocking; the `twin3d history` command, the trend's start-up load):

    with open_store(url) as s:             # StoreError (one line) when unreachable or wrong
        s.query(since=t0, until=None, kinds=("alarm",), rig=None, limit=None) -> [Record]
        s.mode_stats(since=t0, until=None, rig=None, per_day=True)
            -> [{"mode", "day" (ISO date or None), "n", "min_hz", "max_hz", "mean_hz"}]
        s.last(kind, rig=None) -> Record | None
        s.count(kind=None) -> int;  s.version -> schema version

URLs: `sqlite:///PATH` as SQLAlchemy has it (`sqlite:////abs/h.sqlite` for an absolute path,
`sqlite:///h.sqlite` relative to the working folder),
`postgresql://user@host:port/db` (`postgres://` accepted; a password belongs in ~/.pgpass or
env PGPASSWORD, not on the command line), `none` for no history. The default is the SQLite file
`history.sqlite` in the user's data folder: `$TWIN3D_DATA_DIR`, else `$XDG_DATA_HOME/twin3d`, else
`~/.local/share/twin3d` (`default_url()`).

Schema (`twin3d.history.schema`, one list of migrations for both engines): one `events` table
(id, uid unique, t, kind, rig, payload as JSON text / jsonb) indexed on (kind, t) and (rig, t), and
one typed side table `mode_samples` (uid, t, rig, mode, frequency_hz, damping) that every tracker
update also fills, one row per mode. Why one events table: the kinds are few, small and still
growing (calibration and localisation gain fields as those features do), every question asked of
them is "which, of this kind, since when", and a JSON payload takes a new field without a
migration. Why one typed table besides: the only question asked in aggregate ("min, max, mean of
f1 per day this week": 4 modes x 86 400 updates a day) is answered by the database's own GROUP BY
over plain columns, in both engines, instead of decoding a week of JSON in Python. `uid` makes a
retried batch idempotent (INSERT ... ON CONFLICT DO NOTHING): a commit whose answer was lost in
a network failure is sent again without doubling rows.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from twin3d.history.records import Record
from twin3d.history.schema import MIGRATIONS, apply_migrations, current_version, mode_rows

FILE_NAME = "history.sqlite"
SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26  # sqlite3 result codes that mean "not a usable file"


class StoreError(Exception):
    """The store cannot be used: one line that says which and why."""


class CorruptStore(StoreError):
    """A SQLite file that is not a database (or a damaged one)."""


def data_dir() -> Path:
    """The user's data folder for twin3d (tests point TWIN3D_DATA_DIR at a temporary one)."""
    env = os.environ.get("TWIN3D_DATA_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "twin3d"


def default_url() -> str:
    return f"sqlite:///{data_dir() / FILE_NAME}"


def check_url(url: str) -> str:
    """The URL if its form is one we open (scheme, path or host); ValueError with the reason.
    Reachability is not checked here (that is the writer's, and it retries)."""
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise ValueError(f"not a URL ({e}; got {redact(url)!r})") from None
    if parts.scheme == "sqlite":
        if not url.startswith("sqlite:///") or not url[len("sqlite:///"):].strip("/"):
            raise ValueError(f"a SQLite URL is sqlite:///PATH (three slashes; got "
                             f"{redact(url)!r})")
        return url
    if parts.scheme in ("postgresql", "postgres"):
        if not parts.hostname and "host=" not in parts.query:
            raise ValueError(f"a PostgreSQL URL is postgresql://USER@HOST:PORT/DB (no host in "
                             f"{redact(url)!r})")
        try:
            parts.port
        except ValueError:
            raise ValueError(f"bad port in {redact(url)!r}") from None
        return url
    raise ValueError(f"unknown store (allowed sqlite:///PATH, postgresql://USER@HOST:PORT/DB or "
                     f"none; got {redact(url)!r})")


def redact(url: str) -> str:
    """A store URL as printed or stored: never with its password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def sqlite_path(url: str) -> Path:
    """What follows `sqlite:///`: `/abs/path` (four slashes in all) or a relative path."""
    return Path(unquote(url[len("sqlite:///"):].split("?", 1)[0]))


def set_aside(path: Path) -> Path:
    """Rename a corrupt SQLite file (and its -wal/-shm) with a time stamp; never overwritten."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target


def _is_corrupt(e: Exception) -> bool:
    return isinstance(e, sqlite3.DatabaseError) and \
        getattr(e, "sqlite_errorcode", None) in (SQLITE_CORRUPT, SQLITE_NOTADB)


class Store:
    """One open connection to the history, schema migrated to the newest version.

    Not thread-safe: one per thread (the writer has its own)."""

    def __init__(self, url: str, connect_timeout_s: float = 3.0):
        self.url = check_url(url)
        self.shown = redact(url)
        self.dialect = "sqlite" if url.startswith("sqlite:") else "postgresql"
        self.conn = self._connect(connect_timeout_s)
        try:
            self.version = apply_migrations(self.conn, self.dialect)
        except Exception as e:
            self.close()
            if _is_corrupt(e):
                raise CorruptStore(f"{self.shown}: not a usable SQLite file ({e})") from None
            raise StoreError(f"history store {self.shown}: {_one_line(e)}") from None
        self.ph = "?" if self.dialect == "sqlite" else "%s"

    def _connect(self, timeout_s: float):
        if self.dialect == "sqlite":
            path = sqlite_path(self.url)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.DatabaseError as e:
                if _is_corrupt(e):
                    raise CorruptStore(f"{self.shown}: not a usable SQLite file ({e})") from None
                raise StoreError(f"history store {self.shown}: {_one_line(e)}") from None
            except OSError as e:
                raise StoreError(f"history store {self.shown}: {e.strerror or e}") from None
            return conn
        import psycopg

        try:
            return psycopg.connect(self.url.replace("postgres://", "postgresql://", 1),
                                   connect_timeout=max(1, int(math.ceil(timeout_s))),
                                   autocommit=True)
        except psycopg.Error as e:
            raise StoreError(f"history store {self.shown} unreachable: {_one_line(e)}") \
                from None

    # --- context manager, close -----------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # a connection already broken closes as well as it can
            pass

    # --- writing --------------------------------------------------------------------------
    def write(self, batch: list[tuple[str, Record]]) -> None:
        """One transaction: every (uid, record) of the batch, or none. A uid already stored is
        skipped (a retried batch). Raises the engine's error."""
        events, modes = [], []
        for uid, r in batch:
            events.append((uid, r.t, r.kind, r.rig, _json(r.payload)))
            if r.kind == "tracker":
                modes += mode_rows(uid, r.t, r.rig, r.payload)
        ph = self.ph
        ev_sql = (f"INSERT INTO events (uid, t, kind, rig, payload) VALUES ({ph},{ph},{ph},{ph},"
                  f"{ph}) ON CONFLICT (uid) DO NOTHING")
        md_sql = (f"INSERT INTO mode_samples (uid, t, rig, mode, frequency_hz, damping) VALUES "
                  f"({ph},{ph},{ph},{ph},{ph},{ph}) ON CONFLICT (uid, mode) DO NOTHING")
        if self.dialect == "sqlite":
            cur = self.conn.cursor()
            cur.execute("BEGIN")
            try:
                cur.executemany(ev_sql, events)
                if modes:
                    cur.executemany(md_sql, modes)
                cur.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        else:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.executemany(ev_sql, events)
                if modes:
                    cur.executemany(md_sql, modes)

    # --- reading --------------------------------------------------------------------------
    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        cur = self.conn.execute(sql, params)
        return list(cur.fetchall())

    def _where(self, since, until, kinds, rig) -> tuple[str, list]:
        ph, clauses, params = self.ph, [], []
        if since is not None:
            clauses.append(f"t >= {ph}")
            params.append(float(since))
        if until is not None:
            clauses.append(f"t < {ph}")
            params.append(float(until))
        if kinds:
            clauses.append("kind IN (" + ",".join([ph] * len(kinds)) + ")")
            params += list(kinds)
        if rig is not None:
            clauses.append(f"rig = {ph}")
            params.append(rig)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def query(self, since: float | None = None, until: float | None = None,
              kinds: tuple[str, ...] | list[str] | None = None, rig: str | None = None,
              limit: int | None = None, newest_first: bool = False) -> list[Record]:
        """Records in time order (newest first if asked), at most `limit`."""
        where, params = self._where(since, until, kinds, rig)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT t, kind, rig, payload FROM events{where} ORDER BY t {order}, id {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [Record(kind, _payload(p), t=t, rig=rg) for t, kind, rg, p in
                self._rows(sql, tuple(params))]

    def import_lines(self, lines, batch: int = 1000) -> tuple[int, int]:
        """Records kept by a writer that could not write them (JSON lines {uid, t, kind, rig,
        payload}): (read, newly stored); a uid already stored is skipped, so importing twice
        doubles nothing. ValueError names the first line that is not such a record."""
        before = self.count()
        rows, n = [], 0
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                rows.append((str(d["uid"]), Record(str(d["kind"]), dict(d["payload"]),
                                                   t=float(d["t"]), rig=str(d["rig"]))))
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"line {i}: not a kept history record ({_one_line(e)})") \
                    from None
            n += 1
            if len(rows) >= batch:
                self.write(rows)
                rows = []
        if rows:
            self.write(rows)
        return n, self.count() - before

    def last(self, kind: str, rig: str | None = None) -> Record | None:
        rows = self.query(kinds=(kind,), rig=rig, limit=1, newest_first=True)
        return rows[0] if rows else None

    def count(self, kind: str | None = None, since: float | None = None,
              until: float | None = None, rig: str | None = None) -> int:
        where, params = self._where(since, until, (kind,) if kind else None, rig)
        return int(self._rows(f"SELECT COUNT(*) FROM events{where}", tuple(params))[0][0])

    def mode_stats(self, since: float | None = None, until: float | None = None,
                   rig: str | None = None, per_day: bool = True) -> list[dict]:
        """min, max and mean of each tracked mode's frequency (NaN samples left out), per UTC
        day or over the whole span, computed by the database."""
        where, params = self._where(since, until, None, rig)
        where += (" AND " if where else " WHERE ") + "frequency_hz IS NOT NULL"
        # the day's number since the epoch: integer division of whole seconds, the same in
        # both engines (a double cast to integer rounds in PostgreSQL, truncates in SQLite)
        day = "CAST(t AS BIGINT) / 86400" if per_day else "0"
        sql = (f"SELECT mode, {day} AS day, COUNT(*), MIN(frequency_hz), MAX(frequency_hz), "
               f"AVG(frequency_hz) FROM mode_samples{where} GROUP BY mode, day "
               f"ORDER BY day, mode")
        out = []
        for mode, d, n, lo, hi, mean in self._rows(sql, tuple(params)):
            iso = datetime.fromtimestamp(int(d) * 86400, UTC).date().isoformat() \
                if per_day else None
            out.append({"mode": int(mode), "day": iso, "n": int(n), "min_hz": float(lo),
                        "max_hz": float(hi), "mean_hz": float(mean)})
        return out


def _json(payload) -> str:
    """The payload as strict JSON: directly when it is plain already (the constructors make
    it so), else after `_clean` (NaN, numpy values, tuples in extra fields)."""
    try:
        return json.dumps(payload, allow_nan=False)
    except (ValueError, TypeError):
        return json.dumps(_clean(payload), allow_nan=False)


def _clean(obj):
    """JSON-able plain values: NaN and infinity as null (JSON has neither), numpy scalars and
    arrays as Python numbers and lists (without importing numpy here), tuples as lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _clean(obj.tolist())
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return str(obj)


def _payload(p) -> dict:
    return p if isinstance(p, dict) else json.loads(p)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:300]


def open_store(url: str | None = None, connect_timeout_s: float = 3.0) -> Store:
    """The store at `url` (default: the user's SQLite file), migrated; StoreError if not."""
    return Store(url or default_url(), connect_timeout_s)


__all__ = ["FILE_NAME", "MIGRATIONS", "CorruptStore", "Store", "StoreError", "check_url",
           "current_version", "data_dir", "default_url", "open_store", "redact", "set_aside"]
