"""Readers for measured and numerical FRF files (Cristallo's formats and plain CSV), and the
FRFs of any measured data model_update takes (`read_measured`).

Every problem with a file (missing, empty, a bad number, a ragged row, a frequency axis that
does not increase) raises `SchemaError` whose message is one line naming the file, the line
and what is wrong, so the CLI prints it and exits 2 instead of showing a traceback.

Formats
    complex (Cristallo `frfs/*.csv`): ';'-separated Python complex literals, no header:
        f (Hz, real part used); H_1; ...; H_N   (accelerance of floors 1..N, g/N)
    CSV (comma-separated, optional header line):
        f, H_1, ..., H_N with complex literals (`1.2-0.3j`), or f, Re H_1, Im H_1, ... in pairs
    dB table (Cristallo cross-validation `Data/*/*.csv`): comma-separated real numbers,
        f, dB_1, dB_2, dB_3, or f, f', dB_1, dB_2, dB_3 (floor 2 against its own axis f')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin3d.physics.frf_estimate import FrfEstimate, estimate_frf, welch_segments
from twin3d.scenefile.schema import SchemaError
from twin3d import paths

ASSETS = paths.ASSETS / "cristallo"
G = 9.80665  # m/s^2 per g: Cristallo's accelerances are in g/N


def asset(relative: str) -> Path:
    """A shipped Cristallo data file (assets/cristallo/<Cristallo path>)."""
    return ASSETS / relative


@dataclass(frozen=True)
class MeasuredFrf:
    """Complex FRFs of every floor to one excitation, on a common frequency axis."""

    path: str
    frequency_hz: np.ndarray  # (n_f,)
    h: np.ndarray  # (n_f, N) complex, in the file's unit


def _lines(path: Path | str) -> list[str]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(str(p), "file", "no such file") from None
    except IsADirectoryError:
        raise SchemaError(str(p), "file", "is a folder, not a file") from None
    except UnicodeDecodeError:
        raise SchemaError(str(p), "file", "not a text file") from None
    lines = [ln.strip() for ln in text.splitlines()]
    if not any(lines):
        raise SchemaError(str(p), "file", "is empty")
    return lines


def _parse_row(cells: list[str], path: str, lineno: int, kind: type) -> list:
    out = []
    for cell in cells:
        try:
            # Python's complex() reads Cristallo's `a+bj` literals; float() the dB tables
            out.append(kind(cell.strip().replace(" ", "")))
        except ValueError:
            raise SchemaError(path, f"line {lineno}", "not a number", cell.strip()) from None
    return out


def _table(path: Path | str, sep: str, kind: type, header_ok: bool) -> np.ndarray:
    lines = _lines(path)
    rows, width, header_seen = [], None, False
    for i, line in enumerate(lines, 1):
        if not line:
            continue
        cells = line.split(sep)
        if header_ok and not header_seen and width is None:
            header_seen = True
            try:
                kind(cells[0].strip().replace(" ", ""))
            except ValueError:
                continue  # a header line
        if width is None:
            width = len(cells)
        elif len(cells) != width:
            raise SchemaError(str(path), f"line {i}", "wrong number of columns", len(cells),
                              f"{width} like the first row")
        rows.append(_parse_row(cells, str(path), i, kind))
    if len(rows) < 3:
        raise SchemaError(str(path), "file", "needs at least 3 data rows", len(rows))
    if width < 2:
        raise SchemaError(str(path), "file", f"needs a frequency column and FRF columns "
                          f"separated by '{sep}'", f"{width} column")
    return np.array(rows, dtype=complex if kind is complex else float)


def _check_axis(f: np.ndarray, path: str, strict: bool = True) -> None:
    if not np.all(np.isfinite(f)):
        raise SchemaError(path, "frequency", "not finite everywhere")
    d = np.diff(f)
    bad = np.flatnonzero(d <= 0 if strict else d < 0)
    if bad.size:
        raise SchemaError(path, f"row {bad[0] + 2}", "frequency does not increase",
                          float(f[bad[0] + 1]))


def read_frf(path: Path | str) -> MeasuredFrf:
    """Complex FRFs from Cristallo's ';' format or a CSV (see the module docstring)."""
    p = str(path)
    lines = _lines(path)
    first = next(ln for ln in lines if ln)
    if ";" in first:
        data = _table(path, ";", complex, header_ok=False)
        f, h = data[:, 0].real, data[:, 1:]
    else:
        data = _table(path, ",", complex, header_ok=True)
        f = data[:, 0].real
        rest = data[:, 1:]
        if np.all(rest.imag == 0):  # real columns: Re/Im pairs
            if rest.shape[1] % 2:
                raise SchemaError(p, "columns", "real CSV columns must come in Re, Im pairs "
                                  "after the frequency", rest.shape[1] + 1, "an odd number")
            h = rest[:, 0::2].real + 1j * rest[:, 1::2].real
        else:
            h = rest
    _check_axis(f, p)
    if not np.all(np.isfinite(h)):
        raise SchemaError(p, "values", "an FRF value is not finite")
    return MeasuredFrf(p, f, h)


@dataclass(frozen=True)
class DbTable:
    """A magnitude FRF table in dB: each floor on its own frequency axis."""

    path: str
    frequency_hz: tuple[np.ndarray, ...]  # per floor
    db: tuple[np.ndarray, ...]  # per floor


def read_db_table(path: Path | str, rows: slice | None = None) -> DbTable:
    """Cristallo's cross-validation dB tables (4 columns, or 5 with floor 2's own axis)."""
    p = str(path)
    data = _table(path, ",", float, header_ok=True)
    if rows is not None:
        data = data[rows]
    if data.shape[1] == 4:
        f = data[:, 0]
        axes = (f, f, f)
        db = (data[:, 1], data[:, 2], data[:, 3])
    elif data.shape[1] == 5:
        axes = (data[:, 0], data[:, 1], data[:, 0])
        db = (data[:, 2], data[:, 3], data[:, 4])
    else:
        raise SchemaError(p, "columns", "a dB table has 4 columns (f, floors 1-3) or 5 "
                          "(f, f', floors 1-3)", data.shape[1])
    for a in axes:
        _check_axis(a, p, strict=False)  # NumDataSo rounds to 0.01 Hz: repeated values
    if not all(np.all(np.isfinite(d)) for d in db):
        raise SchemaError(p, "values", "a dB value is not finite")
    return DbTable(p, axes, db)


# ---------------------------------------------------------------------------------------------
# Measured data for model_update's `data=`: a recording, UFF 58 (FRFs or time series), a time
# series file with a channel map, or a Cristallo CSV, all brought to one set of FRFs.
# ---------------------------------------------------------------------------------------------

SEGMENTS = 12  # auto Welch segment: the record / 12 (about 23 half-overlapping averages)
_ROLE = re.compile(r"^(acc|force)_(?:floor(\d+)|(table|base))$")


@dataclass(frozen=True)
class Measured:
    """FRFs of floors to one input, whatever file they came from."""

    source: str
    frequency_hz: np.ndarray  # (n_f,)
    h: np.ndarray  # (n_f, outputs) complex, SI: m/s^2/N or (m/s^2)/(m/s^2)
    floors: np.ndarray  # 1-based floor of each output
    kind: str  # "accelerance" (a force input) | "transmissibility" (base acceleration)
    excitation: int | str | None  # force floor (1-based), "base" (its acceleration),
    #                               "base_force" (a force on a free or sprung base), None: detect
    coherence: np.ndarray | None = None  # (n_f, outputs)
    excluded: np.ndarray | None = None  # (n_f,) bins to leave out (crank lines, 0 Hz)
    estimate: FrfEstimate | None = None  # when estimated here (its leakage is modelled)


def role_of(name: str) -> tuple[str, int | str] | None:
    """('acc' | 'force', floor number | 'table' | 'base') for a role name, None otherwise."""
    m = _ROLE.match(name)
    if not m:
        return None
    return m.group(1), int(m.group(2)) if m.group(2) else m.group(3)


def _input_of(names, source: str, where: str) -> tuple[int, str, int | str]:
    """The input channel among roles: a force (accelerance) before a table acceleration
    (transmissibility). Returns (column, kind, excitation)."""
    roles = [role_of(n) for n in names]
    forces = [i for i, r in enumerate(roles) if r and r[0] == "force"]
    if len(forces) > 1:
        raise SchemaError(source, where, "more than one force input: identify from one at a time",
                          ", ".join(names[i] for i in forces))
    if forces:
        i = forces[0]
        return i, "accelerance", "base_force" if roles[i][1] in ("base", "table") else roles[i][1]
    table = [i for i, r in enumerate(roles) if r and r[0] == "acc" and r[1] in ("table", "base")]
    if table:
        return table[0], "transmissibility", "base"
    raise SchemaError(source, where, "no input channel: name one force_floorK, force_base or "
                      "acc_table (a channel map: --set map=...)", ", ".join(names) or "none")


def _outputs_of(names, source: str, where: str, skip: int | None = None) -> list[int]:
    out = [i for i, n in enumerate(names) if i != skip and (r := role_of(n)) and r[0] == "acc"
           and isinstance(r[1], int)]
    if not out:
        raise SchemaError(source, where, "no floor accelerations (roles acc_floorK)",
                          ", ".join(names) or "none")
    return sorted(out, key=lambda i: role_of(names[i])[1])


def frfs_from_timeseries(ts, estimator: str = "H1", segment_s: float = 0.0) -> Measured:
    """H1/H2 FRFs (Welch, coherence, lines left out) of a time series whose names are roles."""
    names = list(ts.names)
    src = ts.source or "time series"
    i_in, kind, exc = _input_of(names, src, "channels")
    outs = _outputs_of(names, src, "channels", i_in)
    n = ts.data.shape[0]
    nper = int(round(segment_s * ts.fs)) if segment_s > 0 else n // SEGMENTS
    nper += nper % 2
    if welch_segments(n, nper) < 2 or nper < 16:
        raise SchemaError(src, "segment_s", f"{n / ts.fs:.1f} s of data make fewer than 2 "
                          f"segments of {nper / ts.fs:.2f} s", segment_s)
    data = ts.data
    if not np.all(np.isfinite(data[:, [i_in] + outs])):
        raise SchemaError(src, "data", "holds non-finite samples")
    if np.std(data[:, i_in]) == 0:
        raise SchemaError(src, names[i_in], "the input channel is constant: no excitation")
    est = estimate_frf(data[:, i_in], data[:, outs], ts.fs, nper, estimator)
    return Measured(src, est.frequency_hz, est.h, np.array([role_of(names[i])[1] for i in outs]),
                    kind, exc, est.coherence, est.excluded, est)


def _from_frfset(fs) -> Measured:
    src = fs.source or "FRFs"
    i_in, kind, exc = _input_of(list(fs.inputs), src, "inputs")
    outs = _outputs_of(list(fs.outputs), src, "outputs")
    h = np.asarray(fs.h)[:, outs, i_in]
    coh = None if fs.coherence is None else np.asarray(fs.coherence)[:, outs]
    return Measured(src, np.asarray(fs.freq_hz, dtype=float), h,
                    np.array([role_of(fs.outputs[i])[1] for i in outs]), kind, exc, coh)


def read_measured(path: str, channel_map: str = "", estimator: str = "H1",
                  segment_s: float = 0.0) -> Measured:
    """FRFs from any file model_update takes (see the section's notes); every problem with a
    file or the map is a one-line SchemaError naming the file and the field."""
    p = Path(path)
    if not p.exists():
        raise SchemaError(path, "file", "no such file or recording folder")
    if p.suffix.lower() == ".csv" and not channel_map:
        d = read_frf(p)  # Cristallo's complex CSV: force FRFs of floors 1..N
        return Measured(d.path, d.frequency_hz, d.h, np.arange(1, d.h.shape[1] + 1),
                        "accelerance", None)
    # A's room: UFF, .mat, CSV/NPZ time series, recordings
    from twin3d.formats import FormatError, read_frfs, read_timeseries
    from twin3d.formats.channel_map import ChannelMap

    try:
        cmap = ChannelMap.parse(channel_map) if channel_map else None
        if p.suffix.lower() in (".uff", ".unv", ".58"):
            try:
                return _from_frfset(read_frfs(str(p), cmap))
            except FormatError as e_frf:
                try:
                    ts = read_timeseries(str(p), cmap)
                except FormatError:
                    raise e_frf from None
        else:
            ts = read_timeseries(str(p), cmap)
    except FormatError as e:
        raise SchemaError(e.source, e.field, e.problem) from None
    return frfs_from_timeseries(ts, estimator, segment_s)
