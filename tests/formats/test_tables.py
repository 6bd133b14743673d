"""CSV, MATLAB .mat (v5 and v7.3), NPZ, HDF5 and Parquet time series: read, written, read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin3d import formats
from twin3d.formats import FormatError, TimeSeries
from twin3d.formats.units import G0

FS = 200.0
T = np.arange(400) / FS
SIGNALS = np.column_stack([np.sin(2 * np.pi * 3 * T), 0.5 * np.cos(2 * np.pi * 7 * T), T])


def _csv(path, header: str | None, time: bool = True, delimiter: str = ",", rows=None):
    data = rows if rows is not None else (
        np.column_stack([T, SIGNALS]) if time else SIGNALS)
    np.savetxt(path, data, delimiter=delimiter, header=header or "", comments="")
    return path


def test_csv_with_units_and_a_time_column(tmp_path):
    p = _csv(tmp_path / "m.csv", "time [s],base (g),f1 [m/s2],load [kN]")
    raw = formats.read_raw(p)
    assert raw.fs == FS and raw.names == ("base", "f1", "load")
    assert raw.units == ("g", "m/s2", "kN")
    si = formats.read_timeseries(p)
    assert si.units == ("m/s^2", "m/s^2", "N")
    np.testing.assert_allclose(si.data, SIGNALS * [G0, 1.0, 1e3], rtol=1e-12)
    mapped = formats.read_timeseries(p, "base=acc_table,1=acc_floor1*-1,load=force_floor2")
    np.testing.assert_allclose(mapped.data[:, 1], -SIGNALS[:, 1], rtol=1e-12)


@pytest.mark.parametrize("delimiter", [";", "\t", " "])
def test_csv_separators_and_comment_lines(tmp_path, delimiter):
    p = tmp_path / "m.txt"
    body = "\n".join(delimiter.join(f"{v:.17g}" for v in row) for row in
                     np.column_stack([T, SIGNALS]))
    p.write_text("# exported by a logger\n# second comment\n"
                 + delimiter.join(["t", "a", "b", "c"]) + "\n" + body + "\n")
    ts = formats.read_raw(p)
    assert ts.names == ("a", "b", "c") and ts.fs == FS
    np.testing.assert_allclose(ts.data, SIGNALS, rtol=1e-15)


def test_csv_without_a_time_base_needs_the_rate(tmp_path):
    p = _csv(tmp_path / "plain.csv", None, time=False)
    with pytest.raises(FormatError, match=r"plain.csv: fs: the file has no time base"):
        formats.read_timeseries(p)
    ts = formats.read_timeseries(p, "0=acc_table,2=acc_floor1", fs=FS)
    assert ts.fs == FS and ts.names == ("acc_table", "acc_floor1")
    np.testing.assert_allclose(ts.data, SIGNALS[:, [0, 2]])


def test_csv_time_stamps_that_disagree_are_refused(tmp_path):
    p = _csv(tmp_path / "m.csv", "t,a,b,c")
    with pytest.raises(FormatError, match=r"m.csv: fs: 250 Hz given, but the file's time "
                                          r"stamps say 200 Hz"):
        formats.read_timeseries(p, fs=250.0)
    jump = np.column_stack([T, SIGNALS])
    jump[200:, 0] += 0.5  # a lost stretch of samples
    q = _csv(tmp_path / "jump.csv", "t,a,b,c", rows=jump)
    with pytest.raises(FormatError, match=r"jump.csv: column 't': not evenly sampled: "
                                          r"step 0.505 s after sample 199"):
        formats.read_timeseries(q)


def test_csv_damage_names_the_line(tmp_path):
    p = _csv(tmp_path / "m.csv", "t,a,b,c")
    lines = p.read_text().splitlines()
    lines[5] = lines[5].split(",")[0] + ",,1,2"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"m.csv: line 6: column 1 is empty"):
        formats.read_timeseries(p)
    b = tmp_path / "bin.csv"
    b.write_bytes(b"\x00\xff\xfe binary")
    with pytest.raises(FormatError, match="not a text file"):
        formats.read_timeseries(b)
    with pytest.raises(FormatError, match=r"unknown suffix '.xyz'"):
        formats.read_timeseries(tmp_path / "m.xyz" if (tmp_path / "m.xyz").touch() is None
                                else None)


def test_mat_v5_named_arrays(tmp_path):
    import scipy.io

    p = tmp_path / "m.mat"
    scipy.io.savemat(p, {"fs": FS, "data": SIGNALS, "channels": np.array(["a", "b", "c"]),
                         "units": np.array(["g", "m/s^2", "N"])})
    ts = formats.read_raw(p)
    assert ts.fs == FS and ts.names == ("a", "b", "c") and ts.units == ("g", "m/s^2", "N")
    np.testing.assert_allclose(ts.data, SIGNALS)
    # a matrix stored channels x samples, with a time vector: oriented by the time's length
    q = tmp_path / "t.mat"
    scipy.io.savemat(q, {"t": T, "acc": SIGNALS.T})
    ts = formats.read_raw(q)
    assert ts.names == ("acc[0]", "acc[1]", "acc[2]")
    np.testing.assert_allclose(ts.data, SIGNALS)


def test_mat_v73_as_matlab_writes_it(tmp_path):
    """MATLAB v7.3 is HDF5: matrices stored transposed, text as uint16 with MATLAB_class."""
    import h5py

    p = tmp_path / "v73.mat"
    with h5py.File(p, "w", userblock_size=512) as f:
        f.create_dataset("t", data=T[None, :])  # MATLAB's n x 1 column, transposed
        d = f.create_dataset("acc", data=SIGNALS.T)  # MATLAB's n x 3, transposed
        d.attrs["MATLAB_class"] = np.bytes_("double")
    with open(p, "r+b") as f:
        # the 128-byte MAT header: text, subsystem offset, version 0x0200, endian mark
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116) + bytes(8) + b"\x00\x02IM")
    ts = formats.read_raw(p)
    assert ts.fs == FS and ts.names == ("acc[0]", "acc[1]", "acc[2]")
    np.testing.assert_allclose(ts.data, SIGNALS)


def test_mat_and_npz_disagreements(tmp_path):
    import scipy.io

    p = tmp_path / "m.mat"
    scipy.io.savemat(p, {"fs": 500.0, "t": T, "x": SIGNALS[:, 0]})
    with pytest.raises(FormatError, match=r"m.mat: fs: 500 Hz, but the time stamps \(t\) say 200"):
        formats.read_raw(p)
    q = tmp_path / "n.npz"
    np.savez(q, fs=FS, x=SIGNALS[:, 0], y=SIGNALS[:100, 1])
    with pytest.raises(FormatError, match=r"n.npz: y: 100 samples, expected 400"):
        formats.read_raw(q)
    bad = tmp_path / "bad.mat"
    bad.write_text("not matlab")
    with pytest.raises(FormatError, match="bad.mat: format"):
        formats.read_raw(bad)


def test_our_npz_export_of_a_recording_reads_back(tmp_path):
    from twin3d.io.recorder import export_npz, read_recording

    ts = TimeSeries(FS, 1.7e9, ("acc_table", "acc_floor1", "acc_floor2"), ("m/s^2",) * 3,
                    SIGNALS, "model")
    formats.write_recording(ts, tmp_path / "rec")
    export_npz(read_recording(tmp_path / "rec"), tmp_path / "rec.npz")
    back = formats.read_timeseries(tmp_path / "rec.npz")
    assert back.names == ts.names and back.units == ts.units and back.fs == FS
    assert back.t0 == pytest.approx(1.7e9, abs=1e-6)
    np.testing.assert_allclose(back.data, SIGNALS, rtol=1e-6, atol=1e-7)  # float32 blocks


@pytest.mark.parametrize("fmt, suffix", [("hdf5", ".h5"), ("parquet", ".parquet")])
def test_hdf5_and_parquet_round_trip_with_sep005_channels(tmp_path, fmt, suffix):
    ts = TimeSeries(FS, 12.5, ("acc_table", "acc_floor1", "force_floor3"), ("m/s^2", "m/s^2", "N"),
                    SIGNALS, "model")
    p = formats.write_timeseries(tmp_path / f"x{suffix}", ts, fmt)
    back = formats.read_timeseries(p)
    assert back.names == ts.names and back.units == ts.units
    assert back.fs == FS and back.t0 == pytest.approx(12.5)
    np.testing.assert_array_equal(back.data, SIGNALS)
    if fmt == "hdf5":
        import h5py

        with h5py.File(p) as f:
            ch = f["channels/force_floor3"]
            assert ch.attrs["unit_str"] == "N" and ch.attrs["fs"] == FS
            assert set(ch.attrs) >= {"name", "unit_str", "fs", "start_timestamp"}
    else:
        import json

        import pyarrow.parquet as pq

        meta = json.loads(pq.read_schema(p).metadata[b"sep005"])
        assert [c["name"] for c in meta["channels"]] == list(ts.names)
        assert pq.read_table(p).column_names == ["t_s", *ts.names]


DATA = Path(__file__).parent / "data"


def test_an_hdf5_file_the_library_hangs_on_is_one_line_not_a_hang(monkeypatch):
    """libhdf5 loops for ever on this damaged file (byte-flip fuzzing found it; others crash
    it): the read runs in a child process, which is given up on after its time."""
    import twin3d.formats.arrays as arrays

    monkeypatch.setattr(arrays, "HDF5_TIMEOUT_S", 5.0)
    path = DATA / "hdf5_damaged_hangs_libhdf5.h5"
    with pytest.raises(FormatError) as e:
        formats.read_timeseries(path, None)
    assert str(e.value).startswith(f"{path}: format: damaged HDF5")
    assert "\n" not in str(e.value)


def test_byte_flipped_hdf5_files_read_or_fail_in_one_line(tmp_path):
    """Our own export, damaged at random: every file either reads (the flip hit padding) or
    is one FormatError line; none takes the process down."""
    ts = TimeSeries(100.0, 0.0, ("acc_floor1", "acc_floor2"), ("m/s^2", "m/s^2"),
                    np.random.default_rng(0).standard_normal((500, 2)), source="test")
    good = formats.write_timeseries(tmp_path / "ok.h5", ts, "hdf5").read_bytes()
    rng = np.random.default_rng(4)
    outcomes = []
    for i in range(6):
        b = bytearray(good)
        for j in rng.integers(0, min(len(b), 4096), 8):
            b[j] = int(rng.integers(0, 256))
        path = tmp_path / f"bad{i}.h5"
        path.write_bytes(bytes(b))
        try:
            back = formats.read_timeseries(path, None)
            outcomes.append("read")
            assert back.data.shape[1] <= 2
        except FormatError as e:
            outcomes.append("refused")
            assert str(e).startswith(f"{path}: ") and "\n" not in str(e)
    assert "refused" in outcomes
