"""`twin3d history` on both engines, and `--store`/`--since` bad input: exit 2, one line."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import pytest

from twin3d.cli.history_cmds import since_time, store_url
from twin3d.history import Writer, records

DAY = 86400.0


def _twin3d(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin3d", *argv], capture_output=True,
                          text=True, timeout=timeout)


def test_since_takes_ages_and_iso_times():
    now = 1_796_083_200.0  # 2026-12-01T00:00:00Z
    assert since_time("2h", now) == now - 7200
    assert since_time("7d", now) == now - 7 * DAY
    assert since_time("30m", now) == now - 1800 and since_time("90s", now) == now - 90
    assert since_time("1w", now) == now - 7 * DAY
    assert since_time("2026-11-30", now) == now - DAY
    assert since_time("2026-11-30T12:00Z", now) == now - DAY / 2
    assert since_time("2026-11-30T13:00+01:00", now) == now - DAY / 2


@pytest.mark.parametrize("text", ["", "2", "h", "-2h", "2 hours", "2y", "nan", "infh",
                                  "2026-13-01", "yesterday", "2030-01-01", "1e9d"])
def test_since_refuses_anything_else(text):
    with pytest.raises(argparse.ArgumentTypeError):
        since_time(text, 1_796_083_200.0)


def test_store_none_is_off():
    assert store_url("none") == "none" and store_url("NONE") == "none"


@pytest.mark.parametrize("argv, word", [
    (["history", "--since", "yesterday"], "--since"),
    (["history", "--since", "2030-01-01T00:00Z"], "future"),
    (["history", "--since", "2h", "--until", "3h"], "--until"),
    (["history", "--store", "mysql://u@h/db"], "--store"),
    (["history", "--store", "sqlite:/x.db"], "sqlite:///PATH"),
    (["history", "--store", "none"], "--store none"),
    (["history", "--store", "sqlite:////nonexistent/dir/h.sqlite"], "no history"),
    (["history", "--kind", "weather"], "--kind"),
    (["history", "--limit", "0"], "--limit"),
    (["monitor", "--store", "mongodb://x"], "--store"),
    (["demo", "--store", "sqlite://relative"], "--store"),
    (["record", "--source", "sim", "--out", "/tmp/x", "--store", "postgres://"], "--store"),
])
def test_bad_input_exits_2_with_one_line(argv, word):
    r = _twin3d(*argv)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and "Traceback" not in r.stderr


def test_an_unreachable_postgresql_is_one_line(free_port):
    r = _twin3d("history", "--store", f"postgresql://twin@127.0.0.1:{free_port()}/x")
    assert r.returncode == 2 and "unreachable" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_history_answers_the_week_the_last_calibration_and_the_alarms(store_url):
    now = time.time()
    w = Writer(store_url)
    for day in range(3):  # three days ago .. yesterday, f1 sinking 1 % a day
        for i in range(10):
            t = now - (3 - day) * DAY + 60 * i
            w.put(records.tracker_update([6.0 * (1 - 0.01 * day), 17.2], t=t, rig="lab"))
    w.put(records.calibration("live_1", [6.0, 17.2], [1, 2, 3], [4, 5, 6], "sim",
                              t=now - 2.5 * DAY, rig="lab"))
    w.put(records.alarm(True, "mode 1 2.0 % below model", mode=1, t=now - 0.9 * DAY, rig="lab"))
    w.put(records.calibration("", [], [], [], "sim", t=now - 0.5 * DAY, rig="lab",
                              status="refused", message="coherence 0.31 < 0.8"))
    w.put(records.alarm(True, "long ago", t=now - 30 * DAY, rig="lab"))
    assert w.flush(20)
    w.close()
    r = _twin3d("history", "--store", store_url, "--since", "7d", "--json")
    assert r.returncode == 0, r.stderr
    h = json.loads(r.stdout)
    f1 = [m for m in h["modes_per_day"] if m["mode"] == 1]
    assert [m["n"] for m in f1] == [10, 10, 10]
    assert [round(m["mean_hz"], 4) for m in f1] == [6.0, 5.94, 5.88]
    assert h["last_calibration"]["profile"] == "live_1"  # a refused one is not "the last"
    assert [c.get("status") for c in h["calibrations"]] == [None, "refused"]
    assert [a["text"] for a in h["alarms"]] == ["mode 1 2.0 % below model"]
    assert h["tracker_updates"] == 30
    # the same in words, and --kind narrowing what is asked
    r = _twin3d("history", "--store", store_url, "--since", "7d")
    assert r.returncode == 0 and "last calibration:" in r.stdout and "live_1" in r.stdout
    assert "alarm raised" in r.stdout
    r = _twin3d("history", "--store", store_url, "--kind", "alarm", "--json")
    h = json.loads(r.stdout)
    assert "modes" not in h and len(h["alarms"]) == 2


@pytest.mark.slow
def test_monitor_runs_on_when_the_store_does_not_answer(free_port):
    """A store that is down at start: one line on stderr, the monitor's own output whole, the
    records counted as buffered then not written."""
    r = _twin3d("monitor", "--source", "sim", "--seconds", "12", "--window", "2", "--json",
                "--store", f"postgresql://twin@127.0.0.1:{free_port()}/lab", timeout=180)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["blocks"] > 0  # the twin ran
    h = out["history"]
    assert h["state"] == "down" and h["written"] == 0 and h["errors"] >= 1
    assert "refused" in h["last_error"].lower()
    if h["not_written"]:  # kept for `history --import`, every one
        with open(h["spilled"]) as f:
            assert len(f.readlines()) == h["not_written"]
    said = [ln for ln in r.stderr.splitlines() if "history store" in ln]
    assert "runs on without it" in said[0]
    # the records it made (tracker results, the standing alarm) are counted, not lost quietly
    assert len(said) == (2 if h["not_written"] else 1)


@pytest.mark.slow
def test_record_with_a_store_keeps_its_recording_and_reports_the_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    r = _twin3d("record", "--source", "sim", "--seconds", "2", "--out", str(tmp_path / "rec"),
                "--store", url, "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["blocks"] > 0 and (tmp_path / "rec" / "blocks.t3d").is_file()
    h = out["history"]
    assert h["state"] == "closed" and h["errors"] == 0 and h["dropped"] == 0
    # without --store, record touches no history at all
    r = _twin3d("record", "--source", "sim", "--seconds", "1", "--out", str(tmp_path / "rec2"),
                "--json", timeout=120)
    assert r.returncode == 0 and json.loads(r.stdout)["history"] is None
