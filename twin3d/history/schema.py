"""The history's one schema, as a list of migration steps applied in order, for SQLite and
PostgreSQL alike. `schema_version` holds one row per step applied; a store at version k gets
steps k+1.. in one transaction each. A new step goes at the end of MIGRATIONS, never in between:
a step that has run anywhere is never edited.

Tables (see twin3d.history.store for why this shape):
- events(id, uid unique, t, kind, rig, payload JSON): every record;
- mode_samples(uid, t, rig, mode, frequency_hz, damping): a tracker update's modes as rows,
  for the aggregates (version 2; its step fills it from the tracker events already stored).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: dict[str, tuple[str, ...]]  # dialect (sqlite | postgresql) -> statements
    fill: Callable | None = field(default=None)  # fill(conn, dialect): data moved in Python


def _backfill_modes(conn, dialect: str) -> None:
    """Version 2: the tracker updates already stored get their mode rows."""
    ph = "?" if dialect == "sqlite" else "%s"
    rows = conn.execute("SELECT uid, t, rig, payload FROM events WHERE kind = 'tracker'")
    out = []
    for uid, t, rig, payload in rows.fetchall():
        p = payload if isinstance(payload, dict) else json.loads(payload)
        out += mode_rows(uid, t, rig, p)
    if out:
        cur = conn.cursor()
        cur.executemany(f"INSERT INTO mode_samples (uid, t, rig, mode, frequency_hz, damping) "
                        f"VALUES ({ph},{ph},{ph},{ph},{ph},{ph}) "
                        f"ON CONFLICT (uid, mode) DO NOTHING", out)


def mode_rows(uid: str, t: float, rig: str, payload: dict) -> list[tuple]:
    """A tracker update's typed rows: one per mode (1-based), NaN or missing as NULL."""
    f = payload.get("frequencies_hz") or []
    z = payload.get("damping") or []
    return [(uid, t, rig, k + 1, _finite(fk), _finite(z[k] if k < len(z) else None))
            for k, fk in enumerate(f)]


def _finite(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


MIGRATIONS: list[Migration] = [
    Migration(1, "events: every record, JSON payload, indexed by time, kind and rig", {
        "sqlite": (
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL "
            "UNIQUE, t REAL NOT NULL, kind TEXT NOT NULL, rig TEXT NOT NULL, payload TEXT NOT "
            "NULL)",
            "CREATE INDEX events_t ON events (t)",
            "CREATE INDEX events_kind_t ON events (kind, t)",
            "CREATE INDEX events_rig_t ON events (rig, t)",
        ),
        "postgresql": (
            "CREATE TABLE events (id BIGSERIAL PRIMARY KEY, uid TEXT NOT NULL UNIQUE, "
            "t DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL, rig TEXT NOT NULL, "
            "payload JSONB NOT NULL)",
            "CREATE INDEX events_t ON events (t)",
            "CREATE INDEX events_kind_t ON events (kind, t)",
            "CREATE INDEX events_rig_t ON events (rig, t)",
        )}),
    Migration(2, "mode_samples: tracked frequencies per mode, for aggregates in SQL", {
        "sqlite": (
            "CREATE TABLE mode_samples (uid TEXT NOT NULL, t REAL NOT NULL, rig TEXT NOT NULL, "
            "mode INTEGER NOT NULL, frequency_hz REAL, damping REAL, PRIMARY KEY (uid, mode))",
            "CREATE INDEX mode_samples_t ON mode_samples (t)",
            "CREATE INDEX mode_samples_rig_t ON mode_samples (rig, t)",
        ),
        "postgresql": (
            "CREATE TABLE mode_samples (uid TEXT NOT NULL, t DOUBLE PRECISION NOT NULL, "
            "rig TEXT NOT NULL, mode INTEGER NOT NULL, frequency_hz DOUBLE PRECISION, "
            "damping DOUBLE PRECISION, PRIMARY KEY (uid, mode))",
            "CREATE INDEX mode_samples_t ON mode_samples (t)",
            "CREATE INDEX mode_samples_rig_t ON mode_samples (rig, t)",
        )}, fill=_backfill_modes),
]
LATEST = MIGRATIONS[-1].version

VERSION_TABLE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
              "applied_t REAL NOT NULL, description TEXT NOT NULL)",
    "postgresql": "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                  "applied_t DOUBLE PRECISION NOT NULL, description TEXT NOT NULL)",
}


def current_version(conn) -> int:
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def apply_migrations(conn, dialect: str, upto: int | None = None) -> int:
    """Bring the store to version `upto` (default the latest); its version afterwards.
    conn is in autocommit mode (sqlite3 isolation_level=None, psycopg autocommit=True): each
    step is one transaction, so a step that fails leaves the store at the step before.
    ValueError for a store newer than this code knows."""
    target = LATEST if upto is None else upto
    conn.execute(VERSION_TABLE[dialect])
    version = current_version(conn)
    if version > LATEST:
        raise ValueError(f"schema version {version} is newer than this twin3d knows "
                         f"({LATEST}): update twin3d")
    for m in MIGRATIONS:
        if m.version <= version or m.version > target:
            continue
        _step(conn, dialect, m)
        version = m.version
    return version


def _step(conn, dialect: str, m: Migration) -> None:
    ph = "?" if dialect == "sqlite" else "%s"
    if dialect == "sqlite":
        conn.execute("BEGIN IMMEDIATE")  # one migrating process at a time
        try:
            if current_version(conn) < m.version:  # another process may have got here first
                _run(conn, dialect, m, ph)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    else:
        with conn.transaction():
            conn.execute("LOCK TABLE schema_version IN EXCLUSIVE MODE")
            if current_version(conn) < m.version:
                _run(conn, dialect, m, ph)


def _run(conn, dialect: str, m: Migration, ph: str) -> None:
    for stmt in m.sql[dialect]:
        conn.execute(stmt)
    if m.fill is not None:
        m.fill(conn, dialect)
    conn.execute(f"INSERT INTO schema_version (version, applied_t, description) VALUES "
                 f"({ph},{ph},{ph})", (m.version, time.time(), m.description))
