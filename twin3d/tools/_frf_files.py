"""Readers for measured and numerical FRF files (Cristallo's formats and plain CSV).

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

from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
