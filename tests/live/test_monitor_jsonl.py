"""`monitor --jsonl`: one strict JSON object per tracker update as it comes (no Infinity or NaN),
then the summary, whose `updates` statistics agree with the lines; on a replay of a recording
made from a chain model with noise (the rig as the scene carries it), so no rig runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin3d.cli.main import main
from twin3d.formats import TimeSeries, write_recording
from twin3d.live.feeds import rig_model_hz
from twin3d.physics.excitations import band_limited_noise
from twin3d.physics.response import linear_response
from twin3d.scenefile.records import load_scene

SCENE = load_scene("three_storey")
SECONDS = 16.0


def _no_constants(name):
    raise ValueError(f"not JSON: {name}")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    fs = SCENE.data.sampling.rate_hz
    n = int(SECONDS * fs)
    ag = band_limited_noise(n, fs, 1.0, 80.0, 0.05, seed=2)
    floors = linear_response(SCENE.rig_model(), 1 / fs, n, base_acc=ag).a_abs[:, :3]
    rng = np.random.default_rng(3)
    data = np.column_stack([ag, floors]) + 0.003 * rng.standard_normal((n, 4))
    ts = TimeSeries(fs, 1.7e9, ("acc_table", "acc_floor1", "acc_floor2", "acc_floor3"),
                    ("m/s^2",) * 4, data, source="chain model")
    return write_recording(ts, tmp_path_factory.mktemp("rec") / "rec")


@pytest.mark.slow
def test_monitor_jsonl_streams_every_update_then_the_summary(recording, capsys):
    rc = main(["monitor", "--source", f"replay:{recording}?speed=0", "--seconds", "300",
               "--jsonl"])
    out = capsys.readouterr().out
    assert rc == 0
    lines = [json.loads(x, parse_constant=_no_constants) for x in out.splitlines()]
    updates = [x for x in lines if x["kind"] == "update"]
    summary = lines[-1]
    assert summary["kind"] == "summary" and lines.count(summary) == 1
    assert updates and summary["updates"]["count"] == len(updates)
    model = rig_model_hz(SCENE)
    for u in updates:
        assert u["t"] >= 10.0 - 1e-3  # the first once the 10 s window is full
        np.testing.assert_allclose(u["model_frequencies_hz"], model, rtol=1e-5)
        assert len(u["frequencies_hz"]) == len(u["interval_hz"]) == len(model)
        assert u["alarm"] == "" and u["alarm_modes"] == []
    f = np.array([u["frequencies_hz"] for u in updates], dtype=float)
    # the model generated the data: every identified mode within 1 %
    assert np.all(np.isfinite(f[:, [0, 2]]))
    ok = np.isfinite(f)
    np.testing.assert_allclose(f[ok], np.broadcast_to(model, f.shape)[ok], rtol=0.01)
    st = summary["updates"]
    assert st["alarm_fraction"] == 0 and st["first_alarm_t"] is None
    np.testing.assert_allclose(st["mean_hz"][0], np.nanmean(f[:, 0]), rtol=1e-5)
