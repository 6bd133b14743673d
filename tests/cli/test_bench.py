"""`twin3d bench --json`: every figure comes with its baseline, measured in the same run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def quick_report() -> dict:
    r = subprocess.run([sys.executable, "-m", "twin3d", "bench", "--quick", "--json"],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_bench_quick_reports_each_figure_with_baseline_and_ratio(quick_report):
    report = quick_report
    figures = report["figures"]
    names = " ".join(f["name"] for f in figures)
    for needle in ("linear response", "rig", "Monte Carlo FRF", "start-up"):
        assert needle in names
    baselines = {f["baseline_name"] for f in figures}
    assert {"scipy.signal.lsim", "real time", "cold compile"} <= baselines
    for f in figures:
        assert f["ours"] > 0 and f["baseline"] > 0
        # ratio = how many times better ours is: baseline time / our time
        assert f["ratio"] == pytest.approx(f["baseline"] / f["ours"], rel=1e-12)
        # a goal below 1 is a cost allowance: the live ingest may spend up to 20x paho's bare
        # receive loop, since it decodes, filters and tracks what paho only queues
        assert isinstance(f["meets_goal"], bool) and f["goal_ratio"] > 0
        assert f["meets_goal"] == (f["ratio"] >= f["goal_ratio"])
    mc = next(f for f in figures if "Monte Carlo" in f["name"])
    assert mc["max_relative_difference"] < 1e-9  # ours and the numpy baseline agree


def test_first_start_compiles_with_progress_once_and_then_only_loads(quick_report):
    """bench/first_start.py's runs (each a fresh `twin3d` on its own empty NUMBA_CACHE_DIR):
    set-up's `twin3d warmup` compiles with a progress line on stderr; the next warmup and the
    demo after it compile nothing (no line, no cache file written)."""
    from twin3d.cli.warmup_cmds import LINE

    f = next(f for f in quick_report["figures"] if f["name"].startswith("first start"))
    assert LINE + ": 1/" in f["setup_stderr"]
    assert f["setup_compiled"] >= 10  # the rig's, the estimator's, the plots' kernels
    assert f["load_compiled"] == 0
    assert LINE not in f["warm_start_stderr"] and f["warm_start_cache_files_written"] == []
    assert f["cache_files"] >= 2 * f["setup_compiled"]  # an index and a data file each
