"""UFF through pyuff: the real files of pyuff's repository (data/SOURCE.md), and round trips of
what we write (time series, FRFs, modes, geometry), checked against models with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin3d import formats
from twin3d.formats import FormatError, FrfSet, TimeSeries, chain_geometry

DATA = Path(__file__).parent / "data"


# --- the real files -------------------------------------------------------------------------

def test_a_real_58_time_series_reads_the_same_in_ascii_and_binary():
    a = formats.read_timeseries(DATA / "sample_58_ascii.uff")
    b = formats.read_timeseries(DATA / "sample_58b_binary.uff")
    # the record's step is written 1.52588e-05 s (6 digits): the rate is 2^16 Hz again
    assert a.fs == b.fs == 65536.0
    assert a.names == b.names == ("Mic 01",) and a.units == ("Pa",)
    assert a.data.shape == b.data.shape == (79292, 1)
    # the ASCII file prints single precision with 6 digits (E13.5): the same numbers
    np.testing.assert_allclose(a.data, b.data, rtol=0, atol=5e-6 * np.abs(b.data).max())
    assert a.headers["records"][0]["id3"].startswith("18-Apr-16")


def test_the_binary_body_reads_as_pyuff_reads_it():
    """58b bodies are read as one array (np.frombuffer): the same numbers as pyuff's own."""
    import pyuff

    ours = formats.read_raw(DATA / "sample_58b_binary.uff")
    theirs = pyuff.UFF(str(DATA / "sample_58b_binary.uff")).read_sets(0)
    np.testing.assert_array_equal(ours.data[:, 0], theirs["data"])


def test_a_real_modal_software_export_gives_geometry_and_headers():
    g = formats.read_geometry(DATA / "testlab_161_164_18_15_82.uff")
    assert len(g.nodes) == 36 and list(g.nodes[:3]) == [1, 2, 3]
    np.testing.assert_allclose(g.xyz[4], [-1.2, 8.35, 0.0])  # node 5 as the file gives it
    assert len(g.lines) >= 10 and all(set(line) <= set(g.nodes) for line in g.lines)
    assert g.headers["151"]["program"].startswith("LMS Test.Lab")
    assert g.headers["164"]["units_description"] == "USER_DEFINED"


def test_a_real_complex_mode_gives_frequency_and_damping_from_its_eigenvalue():
    m = formats.read_modes(DATA / "uff55_sample_record10.uff")
    lam = -0.1111111 + 41.11111j  # the record's eigenvalue (1/s)
    assert m.freq_hz[0] == pytest.approx(abs(lam) / (2 * np.pi), rel=1e-6)
    assert m.damping_ratio[0] == pytest.approx(0.1111111 / abs(lam), rel=1e-6)
    assert m.shapes.shape == (4, 1) and np.iscomplexobj(m.shapes)  # 2 nodes x (Y, Z)
    assert list(m.nodes) == [111111, 111111, 60101, 60101] and list(m.directions) == [2, 3] * 2
    assert m.shapes[0, 0] == pytest.approx(0.1111111 + 0.09111111j)


def test_a_psd_record_is_neither_a_time_series_nor_an_frf():
    with pytest.raises(FormatError, match=r"no UFF 58 time series.*function types \[9\]"):
        formats.read_timeseries(DATA / "sample_58_psd.uff")
    with pytest.raises(FormatError, match="no UFF 58 FRF"):
        formats.read_frfs(DATA / "sample_58_psd.uff")


# --- bad files ----------------------------------------------------------------------------

def test_damaged_or_foreign_files_are_one_line_naming_the_file(tmp_path):
    cut = tmp_path / "cut.uff"
    cut.write_bytes((DATA / "sample_58b_binary.uff").read_bytes()[:50_000])
    text = tmp_path / "notes.uff"
    text.write_text("hello, this is not a universal file\n")
    empty = tmp_path / "empty.uff"
    empty.write_bytes(b"")
    for path, words in ((cut, "cut short"), (text, "not a universal file"),
                        (empty, "not a universal file"), (tmp_path / "nope.uff", "no such file")):
        with pytest.raises(FormatError) as e:
            formats.read_timeseries(path)
        assert str(e.value).startswith(str(path)) and words in str(e.value)
        assert "\n" not in str(e.value)


def test_a_record_shorter_than_its_header_says_is_damaged(tmp_path):
    ts = TimeSeries(100.0, 0.0, ("acc_floor1",), ("m/s^2",), np.arange(40.0), "x")
    p = formats.write_timeseries(tmp_path / "t.uff", ts, "uff")
    raw = p.read_bytes()
    # drop 3 doubles of the binary body, keep the closing delimiter
    end = raw.rindex(b"    -1")
    p.write_bytes(raw[:end - 24] + raw[end:])
    with pytest.raises(FormatError, match=r"data set \d+ \(type 58\).*header says 40"):
        formats.read_timeseries(p)


def test_records_at_different_rates_are_refused(tmp_path):
    import pyuff

    p = tmp_path / "two_rates.uff"
    a = TimeSeries(100.0, 0.0, ("a",), ("m/s^2",), np.zeros(10), "x")
    b = TimeSeries(200.0, 0.0, ("b",), ("m/s^2",), np.zeros(10), "x")
    formats.write_timeseries(p, a, "uff")
    q = formats.write_timeseries(tmp_path / "b.uff", b, "uff")
    rec = [d for d in pyuff.UFF(str(q)).read_sets() if d["type"] == 58]
    pyuff.UFF(str(p)).write_sets(rec, mode="add")
    with pytest.raises(FormatError, match=r"abscissa: sampled at 200 Hz.*at 100 Hz"):
        formats.read_timeseries(p)


# --- round trips ----------------------------------------------------------------------------

@pytest.mark.parametrize("binary", [True, False])
def test_time_series_round_trip_through_uff_58(tmp_path, binary):
    from twin3d.formats.uff import write_timeseries_uff

    rng = np.random.default_rng(3)
    ts = TimeSeries(1024.0, 0.25, ("acc_table", "acc_floor1", "force_floor2"),
                    ("m/s^2", "m/s^2", "N"), rng.normal(size=(300, 3)), "model")
    g = chain_geometry([0.3, 0.6])
    p = write_timeseries_uff(tmp_path / "t.uff", ts, g, binary=binary)
    back = formats.read_timeseries(p)
    assert back.names == ts.names and back.units == ts.units
    assert back.fs == 1024.0 and back.t0 == pytest.approx(0.25)
    tol = 0 if binary else 1e-10  # ASCII doubles are printed with 12 digits
    np.testing.assert_allclose(back.data, ts.data, rtol=tol, atol=tol)
    nodes = [r["rsp_node"] for r in back.headers["records"]]
    assert nodes == [formats.BASE_NODE, 1, 2]  # the table at the base, floor K at node K


def _sdof_accelerance(f: np.ndarray, m: float, k: float, c: float) -> np.ndarray:
    w = 2 * np.pi * f
    return -(w**2) / (k - m * w**2 + 1j * c * w)


def test_frfs_round_trip_with_coherence_and_a_map(tmp_path):
    f = np.linspace(0.0, 40.0, 401)
    h = np.stack([_sdof_accelerance(f, 1.0, 2000.0, 1.5), _sdof_accelerance(f, 2.0, 9000, 3)], 1)
    coh = np.clip(0.5 + f[:, None] / 80 + np.zeros((1, 2)), 0, 1)
    frfs = FrfSet(f, h[:, :, None], ("acc_floor1", "acc_floor2"), ("force_floor2",),
                  "accelerance", coh, "model")
    p = formats.write_frfs_uff(tmp_path / "frf.uff", frfs, chain_geometry([0.3, 0.6]))
    back = formats.read_frfs(p)
    assert back.kind == "accelerance"
    assert back.outputs == frfs.outputs and back.inputs == frfs.inputs
    np.testing.assert_allclose(back.freq_hz, f, rtol=1e-6)
    np.testing.assert_allclose(back.h, frfs.h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(back.coherence, coh, rtol=1e-10)
    # the map keeps mapped channels; a response's factor multiplies, an input's divides
    mapped = formats.read_frfs(p, "acc_floor2=acc_floor2*2,force_floor2=force_floor2*4")
    assert mapped.outputs == ("acc_floor2",)
    np.testing.assert_allclose(mapped.h[:, 0, 0], frfs.h[:, 1, 0] / 2, rtol=1e-10)
    with pytest.raises(FormatError, match="'acc_floor7' is neither a response"):
        formats.read_frfs(p, "acc_floor7=acc_floor1,force_floor2=force_floor2")


def test_binary_complex_frfs_round_trip(tmp_path):
    from twin3d.formats.uff import write_frfs_uff

    f = np.linspace(0.0, 20.0, 81)
    h = _sdof_accelerance(f, 1.0, 4000.0, 2.0)
    frfs = FrfSet(f, h[:, None, None], ("acc_floor1",), ("force_base",), "accelerance",
                  source="model")
    back = formats.read_frfs(write_frfs_uff(tmp_path / "b.uff", frfs, binary=True))
    np.testing.assert_array_equal(back.h, frfs.h)  # 58b doubles: exact


def test_a_transmissibility_reads_as_one(tmp_path):
    f = np.linspace(1.0, 30.0, 59)
    t = 1.0 / (1 - (f / 10) ** 2 + 0.02j * f / 10)
    frfs = FrfSet(f, t[:, None, None], ("acc_floor1",), ("acc_table",), "transmissibility",
                  source="model")
    back = formats.read_frfs(formats.write_frfs_uff(tmp_path / "t.uff", frfs))
    assert back.kind == "transmissibility" and back.inputs == ("acc_table",)
    np.testing.assert_allclose(back.h[:, 0, 0], t, rtol=1e-10)


def test_a_receptance_is_read_as_accelerance(tmp_path):
    """A file of displacement per force (another program's choice) comes in as -w^2 H."""
    import pyuff

    f = np.linspace(0.5, 30.0, 60)
    w = 2 * np.pi * f
    receptance = 1.0 / (1000.0 - 0.5 * w**2 + 2j * w)
    d = pyuff.prepare_58(binary=0, func_type=4, rsp_node=3, rsp_dir=1, ref_node=1, ref_dir=1,
                         data=receptance, x=f, ordinate_spec_data_type=8,
                         ordinate_axis_units_lab="m/N", orddenom_spec_data_type=13,
                         abscissa_spacing=1, abscissa_spec_data_type=18, id1="receptance")
    p = tmp_path / "r.uff"
    pyuff.UFF(str(p)).write_sets([d], mode="overwrite")
    back = formats.read_frfs(p)
    assert back.kind == "accelerance" and back.outputs == ("3+X",) and back.inputs == ("1+X",)
    np.testing.assert_allclose(back.h[:, 0, 0], -(w**2) * receptance, rtol=1e-5)


def test_modes_and_geometry_round_trip(tmp_path):
    from twin3d.physics.structure import LinearModel, modal_analysis

    model = LinearModel.chain([2.0, 2.0, 1.5], [4e5, 3e5, 2e5], [50.0, 40.0, 30.0])
    modes = modal_analysis(model)
    g = chain_geometry([3.0, 6.0, 9.0])
    p = formats.write_modes_uff(tmp_path / "m.uff", modes.frequencies_hz, modes.damping_ratios,
                                modes.shapes, g, mass_normalised=True)
    back = formats.read_modes(p)
    np.testing.assert_allclose(back.freq_hz, modes.frequencies_hz, rtol=1e-5)
    np.testing.assert_allclose(back.damping_ratio, modes.damping_ratios, rtol=1e-4)
    assert list(back.nodes) == [formats.BASE_NODE, 1, 2, 3] and set(back.directions) == {1}
    assert np.all(back.shapes[0] == 0)  # the fixed base does not move
    np.testing.assert_allclose(back.shapes[1:], modes.shapes, rtol=1e-5, atol=1e-6)
    # still mass-normalised: phi^T M phi = I (to the file's 6 digits)
    np.testing.assert_allclose(back.shapes[1:].T @ model.M @ back.shapes[1:], np.eye(3),
                               atol=1e-4)
    geo = formats.read_geometry(p)
    np.testing.assert_allclose(geo.xyz[:, 2], [0.0, 3.0, 6.0, 9.0])
    assert [list(line) for line in geo.lines] == [[formats.BASE_NODE, 1, 2, 3]]
    assert geo.headers["151"]["program"] == "twin3d" and geo.headers["164"]["length"] == 1.0


def test_nothing_is_half_written_when_the_writer_fails(tmp_path, monkeypatch):
    import pyuff

    target = tmp_path / "keep.uff"
    target.write_text("a user's earlier export")

    def broken(self, sets, mode="add", force_double=True):
        with open(self._filename, "w") as f:
            f.write("    -1\n    58\npartial")
        raise Exception("disk trouble")

    monkeypatch.setattr(pyuff.UFF, "write_sets", broken)
    ts = TimeSeries(100.0, 0.0, ("a",), ("m/s^2",), np.zeros(10), "x")
    with pytest.raises(FormatError, match="pyuff could not write it"):
        formats.write_timeseries(target, ts, "uff")
    assert target.read_text() == "a user's earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.uff"]  # no temporary left
