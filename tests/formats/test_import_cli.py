"""`twin3d import`, `modes --export`, `tool NAME --export`, `replay REC --export uff|hdf5|parquet`
through the command line's own entry point (in-process: every case is fast)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from twin3d import formats
from twin3d.cli.main import main

DATA = Path(__file__).parent / "data"
FS = 200.0
T = np.arange(600) / FS
SIG = np.column_stack([0.01 * np.sin(2 * np.pi * 2 * T), 0.02 * np.sin(2 * np.pi * 6 * T),
                       0.03 * np.cos(2 * np.pi * 11 * T)])


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def csv(tmp_path) -> Path:
    p = tmp_path / "test.csv"
    np.savetxt(p, np.column_stack([T, SIG]), delimiter=",", comments="",
               header="time [s],table [g],first [g],second [g]")
    return p


def test_import_writes_a_recording_that_replay_accepts(capsys, tmp_path, csv):
    rc, out, err = run(capsys, "import", csv, "--map",
                       "table=acc_table,first=acc_floor1,second=acc_floor2*-1", "--out",
                       tmp_path / "rec", "--json")
    assert rc == 0, err
    info = json.loads(out)
    assert info["channels"] == ["acc_table", "acc_floor1", "acc_floor2"] and info["fs"] == FS
    back = formats.read_timeseries(tmp_path / "rec")
    np.testing.assert_allclose(back.data, SIG * [9.80665, 9.80665, -9.80665], rtol=1e-6)
    rc, out, err = run(capsys, "replay", tmp_path / "rec", "--speed", "0", "--json")
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["samples"] == 600 and summary["gaps"] == 0 and summary["estimator"] == "kalman"


def test_import_lists_a_files_columns(capsys):
    rc, out, _ = run(capsys, "import", DATA / "sample_58b_binary.uff", "--list", "--json")
    info = json.loads(out)
    assert rc == 0 and info["fs"] == 65536.0 and info["samples"] == 79292
    assert info["columns"] == [{"index": 0, "name": "Mic 01", "unit": "Pa"}]


@pytest.mark.parametrize("argv, words", [
    (["--map", "nope=acc_table"], "test.csv: map: column 'nope' (for acc_table) is not in"),
    (["--map", "table=force_actuator"], "'g' does not match role force_actuator"),
    (["--map", "table=acc_table:N"], "'N' does not match role acc_table"),
    (["--map", "table=force_floor5"], "force_floor5: not a sensor of scene three_storey"),
    (["--map", "table=acc_table", "--fs", "100"], "fs: 100 Hz given, but the file's time "
                                                   "stamps say 200 Hz"),
    (["--map", "table=acc table"], "not a sensor name"),
    ([], "give --map COL=ROLE"),
])
def test_import_bad_input_is_exit_2_one_line_and_writes_nothing(capsys, tmp_path, csv, argv,
                                                                 words):
    rc, out, err = run(capsys, "import", csv, "--out", tmp_path / "rec", *argv)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and words in err, err
    assert not (tmp_path / "rec").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.csv"]


def test_import_of_a_damaged_uff_names_the_file(capsys, tmp_path):
    cut = tmp_path / "cut.uff"
    cut.write_bytes((DATA / "sample_58b_binary.uff").read_bytes()[:9000])
    rc, _, err = run(capsys, "import", cut, "--map", "0=acc_table:m/s^2", "--out",
                     tmp_path / "rec")
    assert rc == 2 and f"{cut}: format: the file ends inside a data set" in err


def test_modes_export_is_the_models_modes_with_the_storeys(capsys, tmp_path):
    from twin3d.physics.structure import modal_analysis
    from twin3d.scenefile.meshes import floor_heights
    from twin3d.scenefile.profiles import load_user_scene

    rc, _, err = run(capsys, "modes", "--export", tmp_path / "modes.uff", "--json")
    assert rc == 0, err
    scene = load_user_scene("three_storey")
    modes = modal_analysis(scene.model())
    back = formats.read_modes(tmp_path / "modes.uff")
    np.testing.assert_allclose(back.freq_hz, modes.frequencies_hz, rtol=1e-5)
    np.testing.assert_allclose(back.damping_ratio, modes.damping_ratios, rtol=1e-4)
    np.testing.assert_allclose(back.shapes[1:], modes.shapes, rtol=1e-4, atol=1e-5)
    geo = formats.read_geometry(tmp_path / "modes.uff")
    np.testing.assert_allclose(geo.xyz[1:, 2], floor_heights(scene.data.geometry), rtol=1e-5)
    rc, _, err = run(capsys, "modes", "--export", tmp_path / "modes.txt")
    assert rc == 2 and "a universal file ends in .uff" in err


def test_tool_export_writes_modes_or_time_histories(capsys, tmp_path):
    rc, out, err = run(capsys, "tool", "modes", "--export", tmp_path / "m.uff", "--json")
    assert rc == 0, err
    res = json.loads(out)["results"]
    back = formats.read_modes(tmp_path / "m.uff")
    np.testing.assert_allclose(back.freq_hz, res["frequencies_hz"], rtol=1e-5)
    rc, out, err = run(capsys, "tool", "simulator", "--set", "duration_s=2", "--set",
                       "excitation=hammer", "--export", tmp_path / "sim.uff", "--json")
    assert rc == 0, err
    res = json.loads(out)["results"]
    ts = formats.read_timeseries(tmp_path / "sim.uff")
    floors = len(res["acceleration_m_s2"][0])
    assert ts.names == (*(f"acc_floor{k}" for k in range(1, floors + 1)), "force_floor1")
    assert ts.units[-1] == "N"
    np.testing.assert_allclose(ts.data[:, :floors], res["acceleration_m_s2"], rtol=1e-12)
    np.testing.assert_allclose(ts.times(), res["t"], atol=1e-9)
    rc, _, err = run(capsys, "tool", "vibration_control", "--export", tmp_path / "v.uff")
    assert rc == 2 and "has no modes or time histories" in err


@pytest.fixture
def recording(tmp_path) -> Path:
    ts = formats.TimeSeries(FS, 1.7e9, ("acc_table", "acc_floor1", "acc_floor3"),
                            ("m/s^2",) * 3, SIG, "model")
    return formats.write_recording(ts, tmp_path / "rec")


@pytest.mark.parametrize("fmt, name", [("uff", "r.uff"), ("hdf5", "r.h5"),
                                       ("parquet", "r.parquet")])
def test_replay_exports_a_recording(capsys, tmp_path, recording, fmt, name):
    rc, out, err = run(capsys, "replay", recording, "--export", fmt, "--out", tmp_path / name,
                       "--json")
    assert rc == 0, err
    assert json.loads(out)["channels"] == ["acc_table", "acc_floor1", "acc_floor3"]
    back = formats.read_timeseries(tmp_path / name)
    assert back.names == ("acc_table", "acc_floor1", "acc_floor3") and back.fs == FS
    np.testing.assert_allclose(back.data, SIG, rtol=1e-6, atol=1e-8)  # float32 recording
    if fmt == "uff":
        nodes = [r["rsp_node"] for r in back.headers["records"]]
        assert nodes == [formats.BASE_NODE, 1, 3]  # at the scene's base and floors


def test_replay_export_failure_leaves_the_old_file(capsys, tmp_path, recording):
    (recording / "meta.json").write_text('{"format": "T3D1", "fs": 200, "channels": []}')
    target = tmp_path / "r.uff"
    target.write_text("earlier")
    rc, _, err = run(capsys, "replay", recording, "--export", "uff", "--out", target)
    # the meta no longer names channels: the export still names them (ch0..) and succeeds,
    # or refuses in one line; either way the target is never half-written
    assert rc in (0, 2) and "Traceback" not in err
    assert target.read_text() == "earlier" if rc == 2 else target.read_bytes()[:6] == b"    -1"


def _drop_blocks(recording: Path, drop: set[int]) -> list[int]:
    """Rewrite the recording without blocks at the given indices (as a lossy link leaves it);
    returns each kept sample's index in the original series."""
    from twin3d.io import recorder

    rec = recorder.read_recording(recording)
    kept, start = [], 0
    with open(recording / recorder.BLOCKS, "wb") as f:
        for i, b in enumerate(rec.blocks):
            if i not in drop:
                f.write(recorder.encoded(b))
                kept += range(start, start + b.n_samples)
            start += b.n_samples
    return kept


@pytest.mark.parametrize("fmt, name", [("uff", "r.uff"), ("hdf5", "r.h5"),
                                       ("parquet", "r.parquet")])
def test_replay_exports_a_recording_with_lost_blocks_as_one_file_per_run(capsys, tmp_path,
                                                                         recording, fmt, name):
    kept = _drop_blocks(recording, {3, 4, 9})  # two gaps: three unbroken runs
    rc, out, err = run(capsys, "replay", recording, "--export", fmt, "--out", tmp_path / name)
    assert rc == 0, err
    assert "2 gap(s) of lost blocks: written as 3 files" in out
    assert not (tmp_path / name).exists()
    parts = [tmp_path / name.replace(".", f".part{k}.") for k in (1, 2, 3)]
    got = [formats.read_timeseries(p) for p in parts]
    assert sum(g.n_samples for g in got) == len(kept) < len(T)  # every kept sample, once
    index = np.array(kept)
    runs = np.split(index, np.flatnonzero(np.diff(index) > 1) + 1)
    assert len(runs) == 3
    for g, r in zip(got, runs):
        assert g.fs == FS and g.names == ("acc_table", "acc_floor1", "acc_floor3")
        np.testing.assert_allclose(g.data, SIG[r], rtol=1e-6, atol=1e-8)
        assert g.t0 == pytest.approx(1.7e9 + r[0] / FS, abs=1e-6)
    # an evenly sampled reader of the same folder refuses it in one line (the replay path)
    with pytest.raises(formats.FormatError, match="2 gap"):
        formats.read_timeseries(recording)


def test_a_lost_blocks_export_that_fails_on_a_part_writes_none(capsys, tmp_path, recording):
    _drop_blocks(recording, {3, 9})
    (tmp_path / "r.part2.h5").mkdir()  # the second part cannot be written there
    rc, out, err = run(capsys, "replay", recording, "--export", "hdf5", "--out", tmp_path / "r.h5",
                       "--json")
    assert rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "r.part2.h5" in err  # the file that could not be written
    assert not (tmp_path / "r.part1.h5").exists()  # all parts or none
    assert not (tmp_path / "r.part3.h5").exists()


def test_a_lost_blocks_export_reports_its_parts_in_json(capsys, tmp_path, recording):
    _drop_blocks(recording, {5})
    rc, out, err = run(capsys, "replay", recording, "--export", "parquet", "--out",
                       tmp_path / "r.parquet", "--json")
    assert rc == 0, err
    summary = json.loads(out)
    parts = [str(tmp_path / "r.part1.parquet"), str(tmp_path / "r.part2.parquet")]
    assert summary["parts"] == parts and summary["out"] == parts[0] and summary["gaps"] == 1
    assert sum(summary["part_samples"]) == summary["samples"] < len(T)
