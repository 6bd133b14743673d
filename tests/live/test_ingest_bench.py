"""The MQTT ingest bench on a short run: what it reports, never how fast (a shared machine's
timings are noise; the figures themselves come from `twin3d bench`)."""

from __future__ import annotations

import math

import pytest

from twin3d.bench import _module_steps, live_ingest

pytestmark = pytest.mark.slow

if live_ingest._mosquitto_path() is None:  # pragma: no cover
    pytest.skip("no mosquitto binary", allow_module_level=True)


@pytest.fixture(scope="module")
def figures():
    return live_ingest.bench_ingest(seconds=2.0)


def test_registered_with_the_bench_runner():
    assert "MQTT ingest, 8 ch at 10 kHz" in [name for name, _ in _module_steps(quick=True)]


def test_every_block_reaches_the_twin(figures):
    cpu = figures[0]
    assert cpu["blocks_published"] == 2.0 * live_ingest.FS / live_ingest.BLOCK
    assert cpu["blocks_received"] == cpu["blocks_published"]
    assert cpu["lost"] == 0
    for counter in live_ingest.LOSS_COUNTERS:
        assert cpu[counter] == 0, counter
    assert cpu["estimator"] == "kalman"  # the 8 channels drive the real filter
    assert cpu["baseline_blocks_received"] == cpu["baseline_blocks_published"]


def test_figures_carry_numbers(figures):
    cpu, lat = figures
    keys = {"name", "ours", "baseline", "baseline_name", "unit", "ratio", "goal_ratio",
            "meets_goal"}
    assert keys <= cpu.keys() and keys <= lat.keys()
    for f in figures:
        assert isinstance(f["ours"], float) and isinstance(f["baseline"], float)
    assert cpu["unit"] == "s/s" and cpu["ours"] > 0 and cpu["baseline"] > 0
    assert cpu["cpu_fraction_of_one_core"] == cpu["ours"]
    assert lat["unit"] == "ms" and lat["baseline"] == live_ingest.LATENCY_GOAL_MS


def test_latencies_present_and_positive(figures):
    cpu, lat = figures
    for f in (cpu, lat):
        p50, p99 = f["latency_ms_p50"], f["latency_ms_p99"]
        assert math.isfinite(p50) and 0 < p50 <= p99
    assert lat["ours"] == lat["latency_ms_p99"] and lat["latency_ms_max"] >= lat["ours"]
    assert 0 < lat["baseline_latency_ms_p50"] <= lat["baseline_latency_ms_p99"]
