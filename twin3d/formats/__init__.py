"""Files of modal testing in and out: UFF (through pyuff: 58 time series and FRFs, ASCII and
binary; 55 modes; 15/2411/82 geometry; 151/164 headers), MATLAB .mat (scipy.io; v7.3 through
h5py), CSV, NPZ, HDF5 (h5py) and Parquet (pyarrow), and twin3d recordings.

May import: twin3d.io only (to read and write recordings, and to register the
`replay:FILE?map=...` source with io's replay scheme); tools, cli, live and sweep may import
this room, io never does.

    read_timeseries(path, channel_map=None, fs=None) -> TimeSeries   (SI units)
    read_frfs(path, channel_map=None) -> FrfSet                      (UFF 58 FRFs)
    read_modes(path) -> ModeSet, read_geometry(path) -> Geometry     (UFF 55; 15/2411/82)
    write_modes_uff, write_frfs_uff, write_timeseries(path, ts, fmt="uff"|"hdf5"|"parquet")
    write_recording(ts, folder), to_recording(ts)                    (T3D1 blocks)
    ChannelMap.parse("col=role[*factor][:unit],..."), FormatError    (one line: FILE: field: ...)
"""

from __future__ import annotations

from twin3d.formats.channel_map import ChannelMap, Entry
from twin3d.formats.errors import FormatError
from twin3d.formats.exports import FORMATS, sep005_channels, write_timeseries
from twin3d.formats.read import TIMESERIES_SUFFIXES, read_frfs, read_geometry, read_modes, \
    read_raw, read_recording_runs, read_timeseries
from twin3d.formats.records import BASE_NODE, FrfSet, Geometry, ModeSet, chain_geometry
from twin3d.formats.recording import to_recording, write_recording
from twin3d.formats.timeseries import TimeSeries
from twin3d.formats.uff import write_frfs_uff, write_modes_uff
from twin3d.formats.units import to_si

__all__ = ["BASE_NODE", "FORMATS", "TIMESERIES_SUFFIXES", "ChannelMap", "Entry", "FormatError",
           "FrfSet", "Geometry", "ModeSet", "TimeSeries", "chain_geometry", "read_frfs",
           "read_geometry", "read_modes", "read_raw", "read_recording_runs", "read_timeseries",
           "sep005_channels", "to_recording", "to_si", "write_frfs_uff", "write_modes_uff", "write_recording",
           "write_timeseries"]
