"""CSV time series: one column per channel, a header row of names (`name [unit]` or
`name (unit)` gives the unit), an optional time column (`t`, `time`, `t_s`, `time [s]`, ...).
Comma, semicolon, tab or blank separated; lines starting with # before the data are comments.
Read by pyarrow's CSV reader (multi-threaded C++), blank-separated files by numpy."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from twin3d.formats.errors import FormatError
from twin3d.formats.timeseries import TimeSeries, check_fs, fs_from_times
from twin3d.formats.units import to_si

SUFFIXES = (".csv", ".txt", ".tsv")
TIME_NAMES = {"t", "time", "t_s", "time_s", "times", "timestamp_s"}
SKIP_NAMES = {"seq"}  # the block number column of `twin3d replay --export csv`
_UNIT = re.compile(r"^(.*?)\s*[\[(]([^\])]*)[\])]\s*$")


def _split_header(text: str) -> tuple[str, str]:
    m = _UNIT.match(text.strip())
    return (m.group(1).strip(), m.group(2).strip()) if m else (text.strip(), "")


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def read_csv(path, fs: float | None = None) -> TimeSeries:
    path = Path(path)
    src = str(path)
    skip, first = 0, ""
    try:
        with open(path, encoding="utf-8", errors="strict") as f:
            for line in f:
                if line.strip() and not line.lstrip().startswith("#"):
                    first = line.rstrip("\r\n")
                    break
                skip += 1
    except UnicodeDecodeError:
        raise FormatError(src, "format", "not a text file (not UTF-8): not a CSV") from None
    except OSError as e:
        raise FormatError(src, "file", e.strerror or str(e)) from None
    if not first:
        raise FormatError(src, "format", "no data lines in it")
    delim = next((d for d in (",", ";", "\t") if d in first), None)
    fields = first.split(delim) if delim else first.split()
    header = not all(_is_number(x) for x in fields if x.strip())
    if header:
        parsed = [_split_header(x) for x in fields]
        names = [n or str(j) for j, (n, _) in enumerate(parsed)]
        units = [u for _, u in parsed]
    else:
        names, units = [str(j) for j in range(len(fields))], [""] * len(fields)
    data = _load(path, src, delim, skip + (1 if header else 0), len(names))
    cols = [j for j, n in enumerate(names) if n.lower() not in SKIP_NAMES]
    tcol = next((j for j in cols if names[j].lower().replace(" ", "_") in TIME_NAMES), None)
    fs_file, t0 = None, 0.0
    if tcol is not None:
        t = data[:, tcol] * to_si(units[tcol] or "s")[1]
        fs_file, t0 = fs_from_times(t, src, f"column {names[tcol]!r}")
        cols.remove(tcol)
    fs_used = check_fs(fs, fs_file, src)
    if not cols:
        raise FormatError(src, "columns", "no data columns besides the time")
    return TimeSeries(fs_used, t0, tuple(names[j] for j in cols), tuple(units[j] for j in cols),
                      data[:, cols], src)


def _load(path: Path, src: str, delim: str | None, skip: int, n_cols: int) -> np.ndarray:
    if delim is None:
        try:
            a = np.loadtxt(path, skiprows=skip, ndmin=2, comments="#")
        except ValueError as e:
            raise FormatError(src, "data", f"not a table of numbers ({e})") from None
    else:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        try:
            t = pcsv.read_csv(path, read_options=pcsv.ReadOptions(
                skip_rows=skip, column_names=[f"c{j}" for j in range(n_cols)]),
                parse_options=pcsv.ParseOptions(delimiter=delim),
                convert_options=pcsv.ConvertOptions(
                    column_types={f"c{j}": pa.float64() for j in range(n_cols)}))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise FormatError(src, "data", _arrow_reason(str(e))) from None
        a = np.column_stack([t.column(j).to_numpy(zero_copy_only=False)
                             for j in range(n_cols)]) if t.num_rows else np.zeros((0, n_cols))
    if a.shape[1] != n_cols:
        raise FormatError(src, "data", f"{a.shape[1]} columns, the header names {n_cols}")
    if a.shape[0] < 2:
        raise FormatError(src, "data", f"{a.shape[0]} row(s) of data: a time series needs more")
    if np.isnan(a).any():
        i, j = np.argwhere(np.isnan(a))[0]
        raise FormatError(src, f"line {skip + i + 1}", f"column {j} is empty or not a number")
    return a


def _arrow_reason(msg: str) -> str:
    """pyarrow's CSV error in one line (it names the row and the column)."""
    line = " ".join(msg.split())
    return line[:200]
