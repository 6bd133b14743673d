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
