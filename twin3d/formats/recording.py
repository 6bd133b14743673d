"""twin3d recordings (folders of T3D1 blocks, `twin3d.io.recorder`) to and from time series:
what `twin3d import` writes, what `replay:FILE?map=...` plays without writing anything."""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from twin3d.formats.errors import FormatError
from twin3d.formats.timeseries import TimeSeries, fs_from_times
from twin3d.io import t3d1
from twin3d.io.recorder import BLOCKS, Recorder, Recording, read_recording


def read_recording_series(folder) -> TimeSeries:
    """A recording's samples as one time series (names and units from its meta). A recording
    with lost blocks (gaps) is refused: the samples would not be evenly spaced
    (`read_recording_runs` splits it)."""
    runs = read_recording_runs(folder)
    if len(runs) > 1:
        raise FormatError(str(folder), BLOCKS, f"{len(runs) - 1} gap(s) between blocks (lost "
                          "blocks): the samples are not one even series")
    return runs[0]


def read_recording_runs(folder) -> list[TimeSeries]:
    """A recording's samples as one evenly sampled series per unbroken run of blocks (one, unless
    blocks were lost), names and units from its meta. A changing sample rate is refused."""
    src = str(folder)
    try:
        rec = read_recording(folder)
    except FileNotFoundError as e:
        raise FormatError(src, BLOCKS, str(e)) from None
    if not rec.blocks:
        raise FormatError(src, BLOCKS, "no readable blocks")
    rates = sorted({b.fs for b in rec.blocks})
    if len(rates) > 1:
        raise FormatError(src, "fs", f"the blocks change sample rate ({rates[0]:g} .. "
                          f"{rates[-1]:g} Hz)")
    names, units = rec.channels()
    fs = rates[0]
    out = []
    for run in rec.runs():
        t, v, _ = replace(rec, blocks=run).arrays()
        if t.size > 1:
            fs_t, _ = fs_from_times(t, src, "block times")
            if abs(fs_t - fs) > 1e-3 * fs:
                raise FormatError(src, "fs", f"blocks say {fs:g} Hz, their time stamps "
                                  f"{fs_t:.6g} Hz")
        out.append(TimeSeries(float(fs), float(t[0]), tuple(names), tuple(units), v, src,
                              {"meta": rec.meta, "torn_tail_bytes": rec.torn_tail_bytes}))
    return out


def block_samples_for(fs: float, n_channels: int) -> int:
    """About 20 blocks a second (50 ms each), within what a T3D1 receiver accepts."""
    bs = max(1, int(round(fs / 20)))
    return int(min(bs, t3d1.MAX_SAMPLES, max(1, t3d1.MAX_VALUES // max(n_channels, 1))))


def _check(ts: TimeSeries) -> None:
    if not t3d1.FS_MIN <= ts.fs <= t3d1.FS_MAX:
        raise FormatError(ts.source, "fs", f"{ts.fs:g} Hz: a recording holds {t3d1.FS_MIN:g}.."
                          f"{t3d1.FS_MAX:g} Hz")
    if not 1 <= len(ts.names) <= t3d1.MAX_CHANNELS:
        raise FormatError(ts.source, "channels", f"{len(ts.names)} channels: a recording holds "
                          f"1..{t3d1.MAX_CHANNELS}")
    if ts.n_samples < 1:
        raise FormatError(ts.source, "data", "no samples")
    if not np.all(np.isfinite(ts.data)):
        raise FormatError(ts.source, "data", "a sample is not a finite number")


def start_timestamp(t0: float) -> str:
    """ISO 8601 of a start time in s since the epoch ("" for a file's own time origin)."""
    if t0 < 1e8:  # before 1973: a time origin of the file (0 s), not a date
        return ""
    return _dt.datetime.fromtimestamp(t0, _dt.timezone.utc).isoformat()


def to_recording(ts: TimeSeries, **meta_extra) -> Recording:
    """The series as T3D1 float32 blocks and their meta, in memory (a Recording as
    `read_recording` would return it). A time origin before the epoch starts at 0 ns."""
    _check(ts)
    bs = block_samples_for(ts.fs, len(ts.names))
    t0_ns = max(int(round(ts.t0 * 1e9)), 0)
    meta = t3d1.make_meta(ts.names, ts.units, ts.fs, bs, rig_id="import",
                          start_timestamp=start_timestamp(ts.t0),
                          **{"source": ts.source, "t0_s": ts.t0, **meta_extra})
    blocks = []
    for seq, i in enumerate(range(0, ts.n_samples, bs)):
        raw = t3d1.encode(seq, t0_ns + int(round(i * 1e9 / ts.fs)), ts.fs, ts.data[i:i + bs])
        blocks.append(t3d1.decode(raw))
    return Recording(Path(ts.source), meta, blocks)


def write_recording(ts: TimeSeries, folder, **meta_extra) -> Path:
    """A recording folder holding the series (meta.json names the channels and units). Built in
    a temporary folder beside it and renamed into place: never half-written. `folder` must not
    exist or be empty."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FormatError(str(folder), "out", "exists and is not an empty folder")
    rec = to_recording(ts, **meta_extra)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=folder.parent))
    try:
        os.chmod(tmp, 0o755)
        with Recorder(tmp, rec.meta) as r:
            for b in rec.blocks:
                r.write_block(t3d1.encode(b.seq, b.t0_ns, b.fs, b.samples))
        if folder.exists():
            folder.rmdir()  # empty (checked above): rename needs the name free
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
