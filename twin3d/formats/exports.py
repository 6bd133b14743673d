"""Time series out: UFF 58 (one record per channel), HDF5 (one dataset per SEP-005 channel)
and Parquet (a time column and one column per channel; SEP-005 channels in the schema's
metadata). Every file is written to a temporary name and renamed: never half-written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from twin3d.formats.atomic import atomic_path
from twin3d.formats.errors import FormatError
from twin3d.formats.records import Geometry
from twin3d.formats.recording import start_timestamp
from twin3d.formats.timeseries import TimeSeries

FORMATS = ("uff", "hdf5", "parquet")
SEP005_KEY = b"sep005"


def sep005_channels(ts: TimeSeries) -> list[dict]:
    """The SEP-005 description of each channel (without its data)."""
    return [{"name": n, "unit_str": u, "fs": ts.fs, "start_timestamp": start_timestamp(ts.t0)}
            for n, u in zip(ts.names, ts.units)]


def write_timeseries(path, ts: TimeSeries, fmt: str = "uff",
                     geometry: Geometry | None = None) -> Path:
    """The series to `path` as `fmt` (uff, hdf5 or parquet)."""
    if fmt == "uff":
        from twin3d.formats.uff import write_timeseries_uff

        return write_timeseries_uff(path, ts, geometry)
    if fmt == "hdf5":
        return _write_hdf5(Path(path), ts)
    if fmt == "parquet":
        return _write_parquet(Path(path), ts)
    raise FormatError(str(path), "format", f"{fmt!r} is not one of {', '.join(FORMATS)}")


def _write_hdf5(path: Path, ts: TimeSeries) -> Path:
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = "twin3d time series: SEP-005 channels under /channels"
            f.attrs["fs"], f.attrs["t0"] = ts.fs, ts.t0
            f.attrs["start_timestamp"] = start_timestamp(ts.t0)
            f.attrs["source"] = ts.source
            g = f.create_group("channels")
            for j, ch in enumerate(sep005_channels(ts)):
                d = g.create_dataset(ch["name"].replace("/", "_"), data=ts.data[:, j],
                                     compression="gzip",
                                     shuffle=True)
                for k, v in ch.items():
                    d.attrs[k] = v
                d.attrs["index"] = j
    return path


def _write_parquet(path: Path, ts: TimeSeries) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {"t_s": pa.array(ts.times())}
    for j, n in enumerate(ts.names):
        cols[n] = pa.array(np.ascontiguousarray(ts.data[:, j]))
    meta = {"fs": ts.fs, "t0": ts.t0, "source": ts.source, "channels": sep005_channels(ts)}
    table = pa.table(cols).replace_schema_metadata({SEP005_KEY: json.dumps(meta).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_parquet(path, fs: float | None = None) -> TimeSeries:
    """A Parquet file of ours (or any with a `t_s` column and numeric channel columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from twin3d.formats.timeseries import check_fs, fs_from_times

    src = str(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise FormatError(src, "format", f"not a Parquet file ({e})") from None
    meta = json.loads((table.schema.metadata or {}).get(SEP005_KEY, b"{}"))
    units = {c["name"]: c.get("unit_str", "") for c in meta.get("channels", [])}
    names = [n for n in table.column_names if n != "t_s"]
    fs_file, t0 = (fs_from_times(table.column("t_s").to_numpy(), src, "t_s")
                   if "t_s" in table.column_names else (meta.get("fs"), meta.get("t0", 0.0)))
    data = np.column_stack([table.column(n).to_numpy().astype(np.float64) for n in names])
    return TimeSeries(check_fs(fs, fs_file, src), float(t0 or 0.0), tuple(names),
                      tuple(units.get(n, "") for n in names), data, src)
