"""Which reader a file needs, by its suffix (a folder is a twin3d recording)."""

from __future__ import annotations

import contextlib
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from twin3d.formats.channel_map import ChannelMap
from twin3d.formats.errors import FormatError
from twin3d.formats.records import FrfSet, Geometry, ModeSet
from twin3d.formats.timeseries import TimeSeries, check_fs, in_si

TIMESERIES_SUFFIXES = (".uff", ".unv", ".mat", ".csv", ".txt", ".tsv", ".npz", ".h5", ".hdf5",
                       ".parquet")


@contextlib.contextmanager
def _guard(path: Path) -> Iterator[None]:
    """A reader that trips over a damaged file (an index, a shape, a field that is not what the
    format says) reports it as one FormatError line, never as a traceback."""
    try:
        yield
    except FormatError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError,
            UnicodeDecodeError, struct.error, zlib.error) as e:
        raise FormatError(str(path), "format", f"damaged or not understood "
                          f"({type(e).__name__}: {str(e)[:120]})") from None


def _existing(path) -> Path:
    p = Path(path)
    if not p.exists():
        raise FormatError(str(p), "file", "no such file or folder")
    return p


def read_raw(path, fs: float | None = None) -> TimeSeries:
    """A file's time series in its own units and column names (no map applied)."""
    p = _existing(path)
    with _guard(p):
        return _read_raw(p, fs)


def _read_raw(p: Path, fs: float | None) -> TimeSeries:
    suffix = p.suffix.lower()
    if p.is_dir():
        from twin3d.formats.recording import read_recording_series

        ts = read_recording_series(p)
        check_fs(fs, ts.fs, str(p))
        return ts
    if suffix in (".uff", ".unv"):
        from twin3d.formats.uff import read_timeseries_uff

        ts = read_timeseries_uff(p)
        check_fs(fs, ts.fs, str(p))
        return ts
    if suffix == ".mat":
        from twin3d.formats.arrays import read_mat

        return read_mat(p, fs)
    if suffix == ".npz":
        from twin3d.formats.arrays import read_npz

        return read_npz(p, fs)
    if suffix in (".h5", ".hdf5"):
        from twin3d.formats.arrays import read_hdf5

        return read_hdf5(p, fs)
    if suffix == ".parquet":
        from twin3d.formats.exports import read_parquet

        return read_parquet(p, fs)
    if suffix in (".csv", ".txt", ".tsv"):
        from twin3d.formats.csv_file import read_csv

        return read_csv(p, fs)
    raise FormatError(str(p), "format", f"unknown suffix {suffix or '(none)'!r} (known: "
                      f"{', '.join(TIMESERIES_SUFFIXES)}, or a recording folder)")


def read_timeseries(path, channel_map: ChannelMap | str | None = None,
                    fs: float | None = None) -> TimeSeries:
    """Time series in SI units from a UFF 58 (ASCII or binary), .mat, .csv, .npz, HDF5 or
    Parquet file or a twin3d recording folder. With a channel map: only the mapped columns,
    named by role, calibrated; `fs` for a file without a time base (checked against one that
    has it)."""
    if isinstance(channel_map, str):
        channel_map = ChannelMap.parse(channel_map)
    ts = read_raw(path, fs)
    return channel_map.apply(ts) if channel_map is not None else in_si(ts)


def read_recording_runs(path) -> list[TimeSeries]:
    """A twin3d recording folder's samples in SI units, one evenly sampled series per unbroken
    run of blocks: several where blocks were lost (what UFF 58, HDF5 and Parquet, which hold
    one even series each, are written from)."""
    p = _existing(path)
    with _guard(p):
        from twin3d.formats.recording import read_recording_runs as runs

        return [in_si(ts) for ts in runs(p)]


def read_frfs(path, channel_map: ChannelMap | str | None = None) -> FrfSet:
    """FRFs from UFF 58 records (accelerance, or transmissibility for base excitation). A map
    names responses and references by their channel (`3+X=acc_floor3,1+X=force_floor1`): only
    mapped ones are kept, the response's factor multiplies and the input's divides H."""
    import numpy as np

    p = _existing(path)
    if p.suffix.lower() not in (".uff", ".unv"):
        raise FormatError(str(p), "format", "FRFs are read from UFF 58 files (.uff, .unv)")
    from twin3d.formats.uff import read_frfs_uff

    with _guard(p):
        frfs = read_frfs_uff(p)
    if isinstance(channel_map, str):
        channel_map = ChannelMap.parse(channel_map)
    if channel_map is None:
        return frfs
    outs = [(i, e) for e in channel_map.entries for i, n in enumerate(frfs.outputs)
            if n == e.column]
    ins = [(i, e) for e in channel_map.entries for i, n in enumerate(frfs.inputs)
           if n == e.column]
    missing = [e.column for e in channel_map.entries
               if e.column not in frfs.outputs and e.column not in frfs.inputs]
    if missing:
        raise FormatError(str(p), "map", f"channel {missing[0]!r} is neither a response "
                          f"({', '.join(frfs.outputs)}) nor a reference "
                          f"({', '.join(frfs.inputs)}) of the file")
    if not outs or not ins:
        raise FormatError(str(p), "map", "map at least one response and one reference")
    for _, e in outs:
        if not e.role.startswith("acc_"):
            raise FormatError(str(p), "map", f"response {e.column} is an acceleration: role "
                              f"{e.role} does not fit (acc_floorK, acc_table)")
    kind = frfs.kind
    for _, e in ins:
        want = "force_" if kind == "accelerance" else "acc_"
        if not e.role.startswith(want):
            raise FormatError(str(p), "map", f"reference {e.column} of a {kind} should be a "
                              f"{want}* role, not {e.role}")
    oi = [i for i, _ in outs]
    ii = [i for i, _ in ins]
    h = frfs.h[:, oi][:, :, ii] * np.array([e.factor for _, e in outs])[None, :, None] \
        / np.array([e.factor for _, e in ins])[None, None, :]
    coh = frfs.coherence[:, oi] if frfs.coherence is not None else None
    return FrfSet(frfs.freq_hz, h, tuple(e.role for _, e in outs),
                  tuple(e.role for _, e in ins), kind, coh, frfs.source, frfs.headers)


def read_modes(path) -> ModeSet:
    """Mode shapes from UFF 55 records."""
    p = _existing(path)
    from twin3d.formats.uff import read_modes_uff

    with _guard(p):
        return read_modes_uff(p)


def read_geometry(path) -> Geometry:
    """Nodes and trace lines from UFF 15/2411 and 82 records (151/164 kept in headers)."""
    p = _existing(path)
    from twin3d.formats.uff import read_geometry_uff

    with _guard(p):
        return read_geometry_uff(p)
