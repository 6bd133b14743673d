"""The live twin on a structure alone sampled at 100 Hz: a recording of the five-storey building
(a force on its roof, responses simulated from the scene's own model) replays through the
tracker, which finds the model's modes; what needs the rig refuses with one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin3d.cli.main import main
from twin3d.io import recorder, t3d1
from twin3d.physics.shear_frame import simulate
from twin3d.scenefile.records import load_scene

SCENE = "building_five_storey"


@pytest.fixture(scope="module")
def building_recording(tmp_path_factory):
    scene = load_scene(SCENE)
    fs = scene.data.sampling.rate_hz
    bs = scene.data.sampling.block_samples
    rng = np.random.default_rng(3)
    u = rng.normal(0.0, 2e4, int(90 * fs))  # N, broadband shaker force on the roof
    y, _ = simulate(scene.rig_model(), scene.loading(), u, fs)
    cols = []
    for s in scene.data.sensors.values():
        cols.append(u if s.quantity == "floor_force" else y[:, s.floor])
    data = np.column_stack(cols) + rng.normal(0.0, 1e-4, (u.size, len(cols)))
    folder = tmp_path_factory.mktemp("building") / "rec"
    units = [s.unit for s in scene.data.sensors.values()]
    with recorder.Recorder(folder, t3d1.make_meta(list(scene.data.sensors), units, fs, bs)) as r:
        for seq, i in enumerate(range(0, u.size, bs)):
            r.write_block(t3d1.encode(seq, int(round(i * 1e9 / fs)), fs, data[i:i + bs]))
    return folder


@pytest.mark.slow
def test_replay_of_a_100_hz_building_tracks_its_modes(building_recording, capsys):
    rc = main(["replay", str(building_recording), "--scene", SCENE, "--speed", "0", "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    summary = json.loads(out)
    model = np.array(summary["model_frequencies_hz"])
    np.testing.assert_allclose(model, load_scene(SCENE).frame_modes().frequencies_hz, rtol=1e-4)
    assert model[0] == pytest.approx(3.156, abs=1e-3) and summary["gaps"] == 0
    tracked = np.array(summary["frequencies_hz"], dtype=float)
    np.testing.assert_allclose(tracked[:3], model[:3], rtol=0.01)
    assert summary["alarm"] == ""


def test_what_needs_the_rig_refuses_with_one_line(capsys):
    for argv in (["demo", "--seconds", "1"], ["monitor", "--source", "sim", "--seconds", "1"],
                 ["cmd", "set_speed", "rpm=10", "--target", "mqtt://127.0.0.1:9"]):
        rc = main([*argv, "--scene", SCENE])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and "\n" not in err and "Traceback" not in err, (argv, err)
        assert "[motor]" in err or "structure alone" in err, err


def test_the_live_filter_follows_a_building_driven_by_a_measured_roof_force(tmp_path):
    """No table accelerometer, a measured force at the roof: the Kalman filter runs on the force
    (physics.estimator's force_floor), and its floor displacements match the exact response
    (physics.response.linear_response, an independent path from the recording's)."""
    from twin3d.live.live_feed import LiveFeed
    from twin3d.physics.excitations import band_limited_noise
    from twin3d.physics.response import linear_response

    scene = load_scene(SCENE)
    fs = scene.data.sampling.rate_hz
    bs = scene.data.sampling.block_samples
    n = int(30 * fs)
    floor = scene.data.excitation.floor
    forces = np.zeros((n, scene.n_storeys))
    forces[:, floor - 1] = band_limited_noise(n, fs, 0.5, 30.0, 2e4, seed=5)
    truth = linear_response(scene.rig_model(), 1 / fs, n, forces=forces)
    rng = np.random.default_rng(6)
    cols = [forces[:, floor - 1] if s.quantity == "floor_force" else truth.a_abs[:, s.floor - 1]
            for s in scene.data.sensors.values()]
    data = np.column_stack(cols) + rng.normal(0.0, 1e-4, (n, len(cols)))
    folder = tmp_path / "rec"
    units = [s.unit for s in scene.data.sensors.values()]
    with recorder.Recorder(folder, t3d1.make_meta(list(scene.data.sensors), units, fs, bs)) as r:
        for seq, i in enumerate(range(0, n, bs)):
            r.write_block(t3d1.encode(seq, int(round(i * 1e9 / fs)), fs, data[i:i + bs]))
    feed = LiveFeed(f"replay:{folder}?speed=0", scene)
    try:
        st = feed.step(0.016)
        assert feed.mode == "kalman (floor force)" and st.counters["blocks"] == n // bs
        final = truth.u[-1]
        assert np.abs(final).max() > 1e-5  # the building is moving at the end
        np.testing.assert_allclose(st.floor_disp_m, final, atol=0.1 * np.abs(final).max())
    finally:
        feed.close()
