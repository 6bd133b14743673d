"""The history store on both engines (a fresh SQLite file, a real PostgreSQL database): schema
and migrations, every record kind's round trip, the queries `twin3d history` asks, idempotent
retries, a store that goes down and comes back, a wrong URL, a corrupt SQLite file, and a writer
that never blocks its caller."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twin3d.history import Writer, open_store, records
from twin3d.history.schema import LATEST, MIGRATIONS, apply_migrations, current_version
from twin3d.history.store import Store, StoreError, check_url, redact

DAY = 86400.0
T0 = 1_796_000_000.0 - 1_796_000_000.0 % DAY  # a UTC midnight


def _connect(url: str):
    """A raw autocommit connection, as the store makes one (to build an old-version store)."""
    if url.startswith("sqlite:"):
        return sqlite3.connect(url[len("sqlite:///"):], isolation_level=None), "sqlite"
    import psycopg

    return psycopg.connect(url, autocommit=True), "postgresql"


def _write(url: str, recs, **kw) -> Writer:
    w = Writer(url, **kw)
    for r in recs:
        assert w.put(r)
    assert w.flush(20), w.counters()
    w.close()
    return w


# --- schema and migrations ---------------------------------------------------------------------

def test_schema_from_empty_is_the_latest_and_reopening_changes_nothing(store_url):
    with open_store(store_url) as s:
        assert s.version == LATEST == len(MIGRATIONS)
        steps = s.conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert [v for (v,) in steps] == [m.version for m in MIGRATIONS]
    with open_store(store_url) as s:  # idempotent: no step runs twice
        assert s.conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == LATEST


def test_migration_from_version_1_fills_the_mode_table(store_url):
    conn, dialect = _connect(store_url)
    assert apply_migrations(conn, dialect, upto=1) == 1
    ph = "?" if dialect == "sqlite" else "%s"
    import json

    for i, f1 in enumerate((6.0, 6.2, 6.4)):  # stored by a version-1 twin: events only
        conn.execute(f"INSERT INTO events (uid, t, kind, rig, payload) VALUES ({ph},{ph},{ph},"
                     f"{ph},{ph})", (f"old-{i}", T0 + i, "tracker", "rig1",
                                     json.dumps({"frequencies_hz": [f1, 17.0],
                                                 "damping": [0.01, None]})))
    assert current_version(conn) == 1
    conn.close()
    with open_store(store_url) as s:
        assert s.version == LATEST
        stats = {r["mode"]: r for r in s.mode_stats(per_day=False)}
    assert stats[1]["n"] == 3 and stats[1]["min_hz"] == 6.0 and stats[1]["max_hz"] == 6.4
    assert math.isclose(stats[1]["mean_hz"], 6.2)
    assert stats[2]["n"] == 3 and stats[2]["mean_hz"] == 17.0


def test_a_store_newer_than_this_code_is_refused(store_url):
    with open_store(store_url) as s:
        ph = s.ph
        s.conn.execute(f"INSERT INTO schema_version (version, applied_t, description) VALUES "
                       f"({ph},{ph},{ph})", (LATEST + 1, 0.0, "from the future"))
    with pytest.raises(StoreError, match="newer than this twin3d"):
        open_store(store_url)


# --- round trips and queries -------------------------------------------------------------------

def _one_of_each(t: float) -> list:
    return [
        records.tracker_update([6.01, 6.93, float("nan"), 26.07], [0.004, 0.005, None, 0.009],
                               excitation_rms=0.021, source_t=12.5, t=t),
        records.calibration("live_1", [5.98, 6.96, 17.2, 26.08], [3.1e4, 2.9e4, 2.7e4],
                            [1.1, 1.2, 1.3], source="sim?seed=5", t_start=t - 90, t_end=t,
                            coherence=0.97, residual=0.004, t=t + 1),
        records.localisation([{"storey": 2, "change_percent": -8.1, "ci95_percent": 1.9}],
                             t=t + 2),
        records.localisation([], unexplained="a mass change? no storey fits", t=t + 3),
        records.alarm(True, "mode 1 4.1 % above model", mode=1, t=t + 4),
        records.alarm(False, "mode 1 4.1 % above model", mode=1, t=t + 5),
        records.command("set_speed", {"rpm": 250.0}, "olga", id="c1", result="sent", t=t + 6),
        records.ack("set_speed", "c1", "done", user="olga", result="at 250 rpm", t=t + 7),
    ]


def test_every_record_kind_round_trips(store_url):
    sent = _one_of_each(T0)
    w = _write(store_url, sent)
    assert w.counters()["written"] == len(sent) and w.errors == 0
    with open_store(store_url) as s:
        got = s.query()
    assert [r.kind for r in got] == [r.kind for r in sent]
    for a, b in zip(sent, got):
        assert b.t == pytest.approx(a.t, abs=1e-6) and b.rig == "rig1"
        expect = dict(a.payload)
        if a.kind == "tracker":  # NaN has no JSON: stored as null
            expect["frequencies_hz"] = [6.01, 6.93, None, 26.07]
        assert b.payload == expect


def test_queries_answer_what_the_history_command_asks(store_url):
    recs = []
    # day 0: f1 from 6.0 to 6.1, day 1: 5.9 to 6.0; mode 2 steady; another rig besides
    for day, (lo, hi) in enumerate(((6.0, 6.1), (5.9, 6.0))):
        for i in range(11):
            f1 = lo + (hi - lo) * i / 10
            recs.append(records.tracker_update([f1, 17.2], t=T0 + day * DAY + 3600 + i * 60))
    recs.append(records.tracker_update([9.0, 9.0], t=T0 + 7200, rig="other"))
    recs += _one_of_each(T0 + DAY + 7200)
    recs.append(records.calibration("old", [6.0], [1.0], [1.0], "sim", t=T0 + 100))
    _write(store_url, recs)
    with open_store(store_url) as s:
        per_day = s.mode_stats(rig="rig1")
        whole = s.mode_stats(rig="rig1", per_day=False)
        since = s.query(since=T0 + DAY, kinds=("alarm",))
        last_cal = s.last("calibration")
        assert s.count("tracker") == 24 and s.count() == len(recs)
    assert len({r["day"] for r in per_day}) == 2
    m1 = [r for r in per_day if r["mode"] == 1]
    assert [(r["n"], r["min_hz"], r["max_hz"]) for r in m1] == [(11, 6.0, 6.1), (12, 5.9, 6.01)]
    assert m1[0]["day"] == "2026-11-30" and m1[0]["mean_hz"] == pytest.approx(6.05)
    assert whole[0]["mode"] == 1 and whole[0]["n"] == 23 and whole[0]["max_hz"] == 6.1
    assert [r.payload["state"] for r in since] == ["raised", "cleared"]
    assert last_cal.payload["profile"] == "live_1"


def test_a_retried_batch_does_not_double_rows(store_url):
    batch = [(f"u{i}", r) for i, r in enumerate(_one_of_each(T0))]
    with Store(store_url) as s:
        s.write(batch)
        s.write(batch)  # a commit whose answer was lost, sent again
        assert s.count() == len(batch)
        assert len(s.mode_stats(per_day=False)) == 3  # the NaN mode has no rows


# --- bad stores --------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["mysql://x@h/db", "sqlite:/relative.db", "sqlite:///",
                                 "postgresql:///db", "postgresql://u@h:99999/db", "history.db"])
def test_a_url_of_the_wrong_form_is_refused_with_the_reason(url):
    with pytest.raises(ValueError, match="URL|store|port"):
        check_url(url)


def test_a_password_never_shows():
    assert redact("postgresql://olga:secret@db:5432/lab") == "postgresql://olga:***@db:5432/lab"


def test_an_unreachable_store_is_one_line_and_records_wait(free_port):
    url = f"postgresql://twin@127.0.0.1:{free_port()}/none"  # nothing listens there
    with pytest.raises(StoreError) as e:
        open_store(url, connect_timeout_s=1)
    assert "unreachable" in str(e.value) and "\n" not in str(e.value)
    said = []
    w = Writer(url, say=said.append, backoff_s=(0.05, 0.2), connect_timeout_s=1)
    for r in _one_of_each(T0):
        assert w.put(r)
    from tests.conftest import wait_for

    assert wait_for(lambda: w.errors >= 2, 20)
    c = w.counters()
    assert c["state"] == "down" and c["buffered"] == 8 and c["written"] == 0
    assert len(said) == 1 and "runs on without it" in said[0] and "\n" not in said[0]
    assert c["last_error"] and "\n" not in c["last_error"]
    c = w.close(timeout_s=1)
    assert c["not_written"] == 8 and len(said) == 2 and "8 records not written" in said[1]
    # kept, not lost: a file of JSON lines in the data folder, said in that line
    kept = Path(c["spilled"])
    assert kept.is_file() and str(kept) in said[1] and str(kept).startswith(
        os.environ["TWIN3D_DATA_DIR"])
    assert len(kept.read_text().splitlines()) == 8


def test_kept_records_import_once(store_url, tmp_path):
    w = Writer("postgresql://twin@127.0.0.1:9/none", start=False)
    sent = _one_of_each(T0)
    for r in sent:
        w.put(r)
    kept = Path(w.close(timeout_s=0.1)["spilled"])
    for expect_new in (8, 0):  # twice: nothing doubled
        r = subprocess.run([sys.executable, "-m", "twin3d", "history", "--store", store_url,
                            "--import", str(kept), "--json"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["new"] == expect_new
    with open_store(store_url) as s:
        got = s.query()
    assert [g.kind for g in got] == [r.kind for r in sent]
    assert got[1].payload == sent[1].payload
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"uid": "x"}\n')
    r = subprocess.run([sys.executable, "-m", "twin3d", "history", "--store", store_url,
                        "--import", str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "line 1" in r.stderr and len(r.stderr.splitlines()) == 1


def test_a_corrupt_sqlite_file_is_set_aside_never_overwritten(tmp_path):
    path = tmp_path / "history.sqlite"
    junk = b"this was never a database " * 200
    path.write_bytes(junk)
    said = []
    w = _write(f"sqlite:///{path}", _one_of_each(T0), say=said.append)
    aside = list(tmp_path.glob("history.sqlite.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == junk
    assert w.set_aside == 1 and w.written == 8 and len(said) == 1 and "set aside" in said[0]
    with open_store(f"sqlite:///{path}") as s:
        assert s.count() == 8


def test_a_file_that_was_never_a_database_is_left_alone(tmp_path):
    path = tmp_path / "thesis.txt"  # a mistyped --store
    path.write_text("chapter 1")
    said = []
    w = Writer(f"sqlite:///{path}", say=said.append, backoff_s=(0.05, 0.1))
    w.put(records.alarm(True, "x"))
    from tests.conftest import wait_for

    assert wait_for(lambda: w.state == "down", 20)
    w.close(timeout_s=1)
    assert path.read_text() == "chapter 1" and list(tmp_path.iterdir()) == [path]
    assert w.set_aside == 0 and "left as it is" in said[0]


# --- the writer's caller never waits ----------------------------------------------------------

def test_put_never_waits_for_the_store_and_counts_what_overflows():
    """No thread at all (start=False) stands for a store that never answers: put() only touches
    the buffer, which keeps the newest `capacity` records and counts the rest."""
    w = Writer("postgresql://twin@127.0.0.1:9/none", capacity=100, start=False)
    ok = [w.put(records.alarm(True, f"a{i}", t=T0 + i)) for i in range(150)]
    assert ok == [True] * 100 + [False] * 50
    c = w.counters()
    assert c["buffered"] == 100 and c["dropped"] == 50 and c["written"] == 0
    assert [r.payload["text"] for r in list(w._q)[:2]] == ["a50", "a51"]  # the oldest went


def test_postgresql_down_then_back_loses_nothing(postgres):
    url = postgres.new_database()
    said = []
    w = Writer(url, say=said.append, backoff_s=(0.05, 0.3), connect_timeout_s=1, batch=50)
    from tests.conftest import wait_for

    first = [records.tracker_update([6.0, 17.0], t=T0 + i) for i in range(100)]
    for r in first:
        w.put(r)
    assert w.flush(20) and w.written == 100
    postgres.stop()
    try:
        second = [records.tracker_update([6.1, 17.1], t=T0 + 100 + i) for i in range(300)]
        for r in second:
            assert w.put(r)
        assert wait_for(lambda: w.state == "down" and w.errors >= 2, 30)
        assert w.buffered == 300 and w.written == 100
    finally:
        postgres.start()
    assert w.flush(30), w.counters()
    c = w.close()
    assert c["written"] == 400 and c["dropped"] == 0 and c["not_written"] == 0
    assert any("is back" in s for s in said) and any("runs on" in s for s in said)
    with open_store(url) as s:
        assert s.count("tracker") == 400
        assert {r["n"] for r in s.mode_stats(per_day=False)} == {400}


def test_writer_time_stamps_default_to_now():
    before = time.time()
    r = records.alarm(True, "x")
    assert before <= r.t <= time.time()
