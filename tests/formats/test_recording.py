"""Time series to twin3d recordings and back; files replayed as a live source
(`replay:FILE?map=...`), through the same ingest as a recording."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d import formats
from twin3d.formats import FormatError, TimeSeries
from twin3d.io.recorder import read_recording

FS = 250.0
N = 1000
T = np.arange(N) / FS
DATA = np.column_stack([0.2 * np.sin(2 * np.pi * 4 * T), np.sin(2 * np.pi * 6 * T),
                        0.3 * np.cos(2 * np.pi * 9 * T)])


@pytest.fixture(scope="module")
def scene():
    from twin3d.scenefile.profiles import load_user_scene

    return load_user_scene("three_storey")


def test_a_series_becomes_a_recording_the_io_reader_accepts(tmp_path):
    ts = TimeSeries(FS, 1.7e9 + 0.25, ("acc_table", "acc_floor1", "acc_floor2"), ("m/s^2",) * 3,
                    DATA, "model.csv")
    out = formats.write_recording(ts, tmp_path / "rec", scene="three_storey")
    rec = read_recording(out)
    assert rec.channels() == (["acc_table", "acc_floor1", "acc_floor2"], ["m/s^2"] * 3)
    assert rec.gaps == 0 and rec.crc_errors == 0 and not rec.torn_tail
    assert rec.meta["scene"] == "three_storey" and rec.meta["fs"] == FS
    t, v, _ = rec.arrays()
    np.testing.assert_allclose(v, DATA, rtol=1e-6, atol=1e-7)  # float32 blocks
    np.testing.assert_allclose(t, ts.times(), atol=1e-6)
    back = formats.read_timeseries(out)
    assert back.names == ts.names and back.fs == FS
    assert rec.meta["start_timestamp"].startswith("2023-11-14T22:13:20")


def test_a_recording_is_never_half_written(tmp_path):
    bad = TimeSeries(FS, 0.0, ("acc_table",), ("m/s^2",), np.array([1.0, np.nan, 2.0]), "x")
    with pytest.raises(FormatError, match="not a finite number"):
        formats.write_recording(bad, tmp_path / "rec")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    good = TimeSeries(FS, 0.0, ("acc_table",), ("m/s^2",), DATA[:, 0], "x")
    with pytest.raises(FormatError, match="not an empty folder"):
        formats.write_recording(good, taken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no temporary folder left
    slow = TimeSeries(0.5, 0.0, ("acc_table",), ("m/s^2",), DATA[:, 0], "x")
    with pytest.raises(FormatError, match=r"x: fs: 0.5 Hz: a recording holds 1..100000 Hz"):
        formats.write_recording(slow, tmp_path / "slow")


def test_a_recording_with_lost_blocks_is_not_read_as_one_series(tmp_path):
    from twin3d.io import t3d1
    from twin3d.io.recorder import Recorder

    with Recorder(tmp_path / "gap", t3d1.make_meta(["acc_table"], ["m/s^2"], FS, 50)) as r:
        for seq in (0, 1, 3):
            r.write_block(t3d1.encode(seq, int(seq * 0.2e9), FS, np.zeros((50, 1))))
    with pytest.raises(FormatError, match=r"gap: blocks.t3d: 1 gap"):
        formats.read_timeseries(tmp_path / "gap")


def _csv(tmp_path):
    p = tmp_path / "building.csv"
    np.savetxt(p, np.column_stack([T, DATA]), delimiter=",", header="t [s],base [g],f1,f2",
               comments="")
    return p


def _drain(src) -> np.ndarray:
    src.start()
    got = []
    for _ in range(1000):
        got += [it.values for it in src.poll()]
        if src.finished:
            break
    src.stop()
    return np.concatenate(got)


def test_a_file_replays_as_a_source_with_its_map(tmp_path, scene):
    from twin3d.live.sources import open_source

    p = _csv(tmp_path)
    src = open_source(f"replay:{p}?map=base=acc_table,f1=acc_floor1*2&speed=0", scene)
    assert src.meta.channels == ("acc_table", "acc_floor1") and src.meta.fs == FS
    v = _drain(src)
    assert src.counters["gaps"] == 0 and src.status == "ended"
    np.testing.assert_allclose(v[:, 0], DATA[:, 0] * 9.80665, rtol=1e-6)
    np.testing.assert_allclose(v[:, 1], 2 * DATA[:, 1], rtol=1e-6, atol=1e-7)


def test_a_uff_channel_name_with_a_plus_survives_the_url(tmp_path, scene):
    from twin3d.live.sources import open_source

    ts = TimeSeries(FS, 0.0, ("1+X", "2+X"), ("m/s^2", "m/s^2"), DATA[:, :2], "x")
    p = formats.write_timeseries(tmp_path / "t.uff", ts, "uff")
    src = open_source(f"replay:{p}?map=1+X=acc_table,2+X=acc_floor2&speed=0", scene)
    np.testing.assert_allclose(_drain(src), DATA[:, :2], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("query, words", [
    ("", "needs ?map="),
    ("?map=base=acc_table&rate=3", "unknown option 'rate'"),
    ("?map=base=force_floor5", "force_floor5: not a sensor of scene three_storey"),
    ("?map=zz=acc_table", "column 'zz' (for acc_table) is not in the file"),
    ("?map=base=acc_table&fs=100", "100 Hz given, but the file's time stamps say 250 Hz"),
    ("?map=base=acc_table&speed=-1", "speed=-1 out of range"),
])
def test_a_bad_file_source_is_one_clear_line(tmp_path, scene, query, words):
    from twin3d.live.sources import open_source

    p = _csv(tmp_path)
    with pytest.raises(ValueError) as e:
        open_source(f"replay:{p}{query}", scene)
    assert words in str(e.value) and "\n" not in str(e.value)
