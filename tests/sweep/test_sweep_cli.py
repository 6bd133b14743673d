"""`twin3d sweep` on the command line: bad input is one line and exit 2 with nothing written;
a sweep prints one JSON summary, writes its table, and exits 1 naming a task that failed."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from twin3d.cli.main import main


def _cases(tmp):
    out = ["--out", str(tmp / "r.parquet")]
    return [
        ("unknown-key", ["simulator", "--grid", "nonsense=1,2", *out], "no input 'nonsense'"),
        ("out-of-range", ["simulator", "--grid", "duration_s=1,700", *out],
         "--grid:duration_s: out of range (got 700, allowed 0.1..600 s)"),
        ("set-out-of-range", ["simulator", "--grid", "floor=1", "--set", "duration_s=0", *out],
         "--set:duration_s: out of range"),
        ("bad-distribution", ["simulator", "--samples", "4", "--vary",
                              "duration_s=normal(1,-2)", *out], "sigma > 0"),
        ("unknown-distribution", ["simulator", "--samples", "4", "--vary", "duration_s=beta(1,2)",
                                  *out], "unknown distribution 'beta'"),
        ("real-draw-for-integer", ["simulator", "--samples", "4", "--vary", "floor=uniform(1,3)",
                                   *out], "randint"),
        ("draw-out-of-range", ["simulator", "--samples", "40", "--vary",
                               "duration_s=normal(1,5)", *out], "narrow the distribution"),
        ("grid-and-samples", ["simulator", "--grid", "floor=1", "--samples", "3", "--vary",
                              "floor=randint(1,3)", *out], "either --grid"),
        ("vary-without-samples", ["simulator", "--vary", "floor=randint(1,3)", *out],
         "--vary needs --samples"),
        ("nothing-to-sweep", ["simulator", *out], "either --grid"),
        ("samples-zero", ["simulator", "--samples", "0", *out], "--samples"),
        ("unknown-tool", ["nosuchtool", "--grid", "a=1", *out], "no such tool 'nosuchtool'"),
        ("bad-executor", ["simulator", "--grid", "floor=1", "--executor", "threads", *out],
         "--executor must be"),
        ("bad-dask-port", ["simulator", "--grid", "floor=1", "--executor", "dask://h:99999",
                           *out], "port out of range"),
        ("unreachable-scheduler", ["simulator", "--grid", "floor=1", "--executor",
                                   "dask://127.0.0.1:9", *out], "cannot reach the Dask scheduler"),
        ("out-in-missing-folder", ["simulator", "--grid", "floor=1", "--out",
                                   str(tmp / "no" / "r.parquet")], "--out"),
        ("grid-without-value", ["simulator", "--grid", "floor", *out], "key=value"),
    ]


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    for case, argv, word in _cases(tmp_path):
        assert main(["sweep", *argv]) == 2, case
        err = capsys.readouterr().err.strip()
        assert word in err and "\n" not in err and "Traceback" not in err, (case, err)
        assert list(tmp_path.iterdir()) == [], case  # nothing half-written


@pytest.mark.slow
def test_cli_sweep_json_table_and_failed_task(tmp_path):
    """floor 4 of a three-storey frame makes the tool raise: retried, reported, exit 1 (on a
    process pool started from `python -m twin3d`)."""
    out = tmp_path / "r.parquet"
    r = subprocess.run([sys.executable, "-m", "twin3d", "sweep", "simulator", "--grid",
                        "floor=1,4", "--grid", "excitation=hammer,earthquake", "--set",
                        "duration_s=0.5", "--set", "sample_rate_hz=256", "--out", str(out),
                        "--executor", "processes", "--workers", "2", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout)
    assert (summary["tasks"], summary["failed"], summary["retried"]) == (4, 2, 2)
    assert summary["executor"] == "processes" and summary["out"] == str(out)
    assert [(f["task"], f["inputs"]["floor"], f["inputs"]["excitation"])
            for f in summary["failed_tasks"]] == [(2, 4, "hammer"), (3, 4, "earthquake")]
    assert "no such floor" in summary["failed_tasks"][0]["error"]
    assert "4/4 tasks, 2 failed" in r.stderr and "failed again" in r.stderr
    t = pq.read_table(out).to_pydict()
    assert t["status"] == ["ok", "ok", "failed", "failed"] and t["attempts"] == [1, 1, 2, 2]
    assert t["in.floor"] == [1, 1, 4, 4]


def test_cli_on_the_dask_cluster_equals_local(tmp_path, dask_spec):
    tables = []
    for executor in ("local", str(dask_spec)):
        out = tmp_path / f"{len(tables)}.parquet"
        argv = ["sweep", "simulator", "--samples", "4", "--vary",
                "excitation=choice(earthquake|white_noise)", "--vary",
                "pga_m_s2=uniform(0.5, 2)", "--set", "duration_s=0.5", "--set",
                "sample_rate_hz=256", "--seed", "3", "--executor", executor, "--out", str(out)]
        assert main(argv) == 0
        tables.append(pq.read_table(out))
    assert tables[0].equals(tables[1], check_metadata=True)
