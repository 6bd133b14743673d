"""Import speed: MB/s of measurement files read through twin3d.formats (checks, units, names
included) against the bare library on the same file in the same run: UFF 58b (binary; pyuff
reads the headers, the bodies are one np.frombuffer each) against pyuff's own read_sets, CSV
(pyarrow's reader) against numpy.loadtxt."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from twin3d.bench import best, figure

CHANNELS = 4


def _series(n: int):
    from twin3d.formats import TimeSeries

    rng = np.random.default_rng(0)
    names = ("acc_table", "acc_floor1", "acc_floor2", "acc_floor3")[:CHANNELS]
    return TimeSeries(1000.0, 0.0, names, ("m/s^2",) * CHANNELS,
                      rng.standard_normal((n, CHANNELS)), "bench")


def _mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def _per_mb(what: str, mb: float, ours: float, base: float, base_name: str,
            goal: float) -> dict:
    """The figure in s per MB (ratio as every figure's), with the MB/s both ways beside it."""
    f = figure(f"import: {what}, {mb:.1f} MB: s per MB", ours / mb, base / mb, base_name,
               "s/MB", goal)
    f["mb_per_s"], f["baseline_mb_per_s"] = mb / ours, mb / base
    return f


def bench_uff(quick: bool) -> list[dict]:
    import pyuff

    from twin3d.formats import read_timeseries, write_timeseries

    d = Path(tempfile.mkdtemp(prefix="twin3d-bench-import-"))
    try:
        ts = _series(50_000 if quick else 500_000)
        p = write_timeseries(d / "t.uff", ts, "uff")  # 58b, double precision
        back = read_timeseries(p)
        assert np.array_equal(back.data, ts.data)  # the same numbers both ways
        ours = best(lambda: read_timeseries(p), 3)
        base = best(lambda: pyuff.UFF(str(p)).read_sets(), 3)
        mb = _mb(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return [_per_mb(f"UFF 58b binary, {CHANNELS} channels", mb, ours, base,
                    "pyuff UFF(...).read_sets() alone", 1.2)]


def bench_csv(quick: bool) -> list[dict]:
    from twin3d.formats import read_timeseries

    d = Path(tempfile.mkdtemp(prefix="twin3d-bench-import-"))
    try:
        ts = _series(50_000 if quick else 500_000)
        p = d / "t.csv"
        np.savetxt(p, np.column_stack([ts.times(), ts.data]), delimiter=",", comments="",
                   header="t [s]," + ",".join(f"{n} [m/s^2]" for n in ts.names))
        back = read_timeseries(p)
        assert np.allclose(back.data, ts.data, rtol=1e-15) and back.fs == ts.fs
        ours = best(lambda: read_timeseries(p), 3)
        base = best(lambda: np.loadtxt(p, delimiter=",", skiprows=1), 1 if not quick else 2)
        mb = _mb(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return [_per_mb(f"CSV with a time column, {CHANNELS} channels", mb, ours, base,
                    "numpy.loadtxt alone", 3.0)]


def steps(quick: bool) -> list:
    return [("import UFF 58b", lambda: bench_uff(quick)),
            ("import CSV", lambda: bench_csv(quick))]
