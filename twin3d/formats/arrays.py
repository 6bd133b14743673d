"""Time series kept as named arrays: MATLAB .mat (v5 through scipy.io, v7.3 through h5py),
NumPy .npz and HDF5 (ours: one dataset per SEP-005 channel; others: named arrays).

Named arrays are read by name: `fs` (or Fs, sample_rate, ...) the sample rate, `t` (or time)
the time stamps, `channels`/`names` the column names and `units` their units; every other
numeric vector or matrix as long as the time is a column (a matrix gives one per column,
`data[0]`, `data[1]`, ... unless `channels` names them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin3d.formats.errors import FormatError
from twin3d.formats.timeseries import TimeSeries, check_fs, fs_from_times

FS_KEYS = ("fs", "Fs", "FS", "sample_rate", "sampling_rate", "SampleRate", "srate", "sf")
TIME_KEYS = ("t", "time", "Time", "t_s", "T")
NAME_KEYS = ("channels", "names", "channel_names", "labels")
UNIT_KEYS = ("units", "unit_str", "channel_units")
SKIP_KEYS = {"seq", "meta"}  # our own NPZ exports' block numbers and meta JSON


def _strings(v) -> list[str] | None:
    a = np.asarray(v, dtype=object).ravel()
    out = []
    for x in a:
        if isinstance(x, np.ndarray):
            x = x.ravel()[0] if x.size == 1 else "".join(map(str, x.ravel()))
        if isinstance(x, bytes):
            x = x.decode("utf-8", "replace")
        if not isinstance(x, str):
            return None
        out.append(x.strip())
    return out


def from_arrays(arrays: dict, src: str, fs: float | None = None) -> TimeSeries:
    """A TimeSeries from named arrays (file order kept)."""
    keys = [k for k in arrays if not k.startswith("__") and k not in SKIP_KEYS]
    fs_key = next((k for k in FS_KEYS if k in keys), None)
    t_key = next((k for k in TIME_KEYS if k in keys and np.asarray(arrays[k]).ndim >= 1
                  and np.asarray(arrays[k]).size > 1), None)
    name_key = next((k for k in NAME_KEYS if k in keys), None)
    unit_key = next((k for k in UNIT_KEYS if k in keys), None)
    fs_file, t0, n = None, 0.0, None
    if fs_key is not None:
        try:
            fs_file = float(np.asarray(arrays[fs_key], dtype=np.float64).ravel()[0])
        except (TypeError, ValueError, IndexError):
            raise FormatError(src, fs_key, "not a number") from None
    if t_key is not None:
        t = np.asarray(arrays[t_key], dtype=np.float64).ravel()
        fs_t, t0 = fs_from_times(t, src, t_key)
        if fs_file is not None and abs(fs_t - fs_file) > 1e-3 * fs_file:
            raise FormatError(src, fs_key, f"{fs_file:g} Hz, but the time stamps ({t_key}) say "
                              f"{fs_t:.6g} Hz")
        fs_file = fs_file if fs_file is not None else fs_t  # a stated rate is exact
        n = t.size
    cols, names = [], []
    for k in keys:
        if k in (fs_key, t_key, name_key, unit_key):
            continue
        a = np.asarray(arrays[k])
        if a.dtype.kind not in "fiu" or a.ndim == 0 or a.size < 2 or a.ndim > 2:
            continue
        if a.ndim == 2 and 1 in a.shape:
            a = a.ravel()
        if a.ndim == 2:
            # the samples run along the time's length, else along the longer axis
            if (n is not None and a.shape[1] == n and a.shape[0] != n) or \
                    (n is None and a.shape[1] > a.shape[0]):
                a = a.T
            cols += [a[:, j] for j in range(a.shape[1])]
            names += [f"{k}[{j}]" for j in range(a.shape[1])]
        else:
            cols.append(a)
            names.append(k)
    if not cols:
        raise FormatError(src, "data", "no numeric vectors or matrices to read as channels")
    n = n if n is not None else cols[0].size
    bad = [nm for nm, c in zip(names, cols) if c.size != n]
    if bad:
        raise FormatError(src, bad[0], f"{cols[names.index(bad[0])].size} samples, expected {n} "
                          "(the length of the time or of the first channel)")
    if name_key is not None:
        given = _strings(arrays[name_key])
        if given is None or len(given) != len(cols):
            raise FormatError(src, name_key, f"{len(given or [])} names for {len(cols)} columns")
        names = given
    units = [""] * len(cols)
    if unit_key is not None:
        given = _strings(arrays[unit_key])
        if given is None or len(given) != len(cols):
            raise FormatError(src, unit_key, f"{len(given or [])} units for {len(cols)} columns")
        units = given
    return TimeSeries(check_fs(fs, fs_file, src), t0, tuple(names), tuple(units),
                      np.column_stack([np.asarray(c, dtype=np.float64) for c in cols]), src)


def read_mat(path, fs: float | None = None) -> TimeSeries:
    import scipy.io

    src = str(path)
    try:
        arrays = scipy.io.loadmat(str(path), squeeze_me=True, chars_as_strings=True)
    except NotImplementedError:  # v7.3: an HDF5 file
        return read_hdf5(path, fs, matlab=True)
    except Exception as e:  # MatReadError, zlib and struct errors of a damaged file, ...
        import h5py

        if h5py.is_hdf5(str(path)):  # a v7.3 file whose header scipy does not know
            return read_hdf5(path, fs, matlab=True)
        raise FormatError(src, "format", f"not a MATLAB .mat file scipy can read ({e})") from None
    return from_arrays(arrays, src, fs)


def read_npz(path, fs: float | None = None) -> TimeSeries:
    src = str(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # BadZipFile, a pickled array, a damaged member, ...
        raise FormatError(src, "format", f"not a NumPy .npz file ({e})") from None
    return from_arrays(arrays, src, fs)


def read_hdf5(path, fs: float | None = None, matlab: bool = False) -> TimeSeries:
    """Our HDF5 export (group `channels`), or named datasets at the root (MATLAB v7.3: stored
    transposed, text as uint16).

    The HDF5 C library can crash (SIGSEGV) or loop for ever on a damaged file (byte-flip fuzzing
    found both), which no Python exception catches: the file is read in a child process, and a
    child that dies or overruns its time is one line like any other bad file."""
    import multiprocessing as mp

    src = str(path)
    size_mb = Path(path).stat().st_size / 1e6 if Path(path).is_file() else 0.0
    timeout = HDF5_TIMEOUT_S + size_mb / HDF5_MIN_MB_S
    ctx = mp.get_context("spawn")  # never fork a threaded parent (the feed, Dask)
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_read_hdf5_child, args=(child, src, fs, matlab), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            proc.kill()
            raise FormatError(src, "format", f"damaged HDF5 (the HDF5 library did not finish "
                                             f"reading it in {timeout:.0f} s)")
        kind, *payload = parent.recv()
    except EOFError:  # the child died without a word
        proc.join(5.0)
        raise FormatError(src, "format", f"damaged HDF5 (the HDF5 library crashed reading it, "
                                         f"exit {proc.exitcode})") from None
    finally:
        parent.close()
        proc.join(5.0)
        if proc.is_alive():
            proc.kill()
    if kind == "error":
        raise FormatError(*payload)
    return payload[0]


HDF5_TIMEOUT_S = 60.0  # a child reading an HDF5 file gets this long, plus the size at
HDF5_MIN_MB_S = 5.0  # this rate, before it is taken as hung


def _read_hdf5_child(conn, src: str, fs: float | None, matlab: bool) -> None:
    """In the child: the read, its result or its FormatError's fields back through `conn`."""
    try:
        conn.send(("ok", _read_hdf5_here(src, fs, matlab)))
    except FormatError as e:
        conn.send(("error", e.source, e.field, e.problem))
    except Exception as e:  # anything else the library raises on a damaged file
        conn.send(("error", src, "format", f"damaged HDF5 ({type(e).__name__}: "
                                           f"{str(e)[:120]})"))
    finally:
        conn.close()


def _read_hdf5_here(src: str, fs: float | None, matlab: bool) -> TimeSeries:
    import h5py

    try:
        f = h5py.File(src, "r")
    except OSError as e:
        raise FormatError(src, "format", f"not an HDF5 file ({e})") from None
    try:
        with f:
            return _read_h5(f, src, fs, matlab)
    except (OSError, RuntimeError) as e:  # h5py's word for a damaged node or chunk
        raise FormatError(src, "format", f"damaged HDF5 ({str(e)[:120]})") from None


def _read_h5(f, src: str, fs: float | None, matlab: bool) -> TimeSeries:
    import h5py

    if "channels" in f and isinstance(f["channels"], h5py.Group):
        return _read_ours(f, src, fs)
    arrays = {}
    for k, v in f.items():
        if not isinstance(v, h5py.Dataset) or k.startswith("#"):
            continue
        a = v[()]
        cls = v.attrs.get("MATLAB_class", b"")
        cls = cls.decode() if isinstance(cls, bytes) else str(cls)
        if cls == "char":
            a = "".join(map(chr, np.asarray(a).ravel()))
        elif cls == "cell":
            a = ["".join(map(chr, np.asarray(f[r][()]).ravel())) for r in np.ravel(a)]
        elif matlab and isinstance(a, np.ndarray) and a.ndim == 2:
            a = a.T
        arrays[k] = a
    return from_arrays(arrays, src, fs)


def _read_ours(f, src: str, fs: float | None) -> TimeSeries:
    g = f["channels"]
    items = sorted(g.items(), key=lambda kv: int(kv[1].attrs.get("index", 0)))
    if not items:
        raise FormatError(src, "channels", "no channels in it")
    names = [str(v.attrs.get("name", k)) for k, v in items]
    units = [str(v.attrs.get("unit_str", "")) for _, v in items]
    data = np.column_stack([np.asarray(v[()], dtype=np.float64) for _, v in items])
    fs_file = float(f.attrs.get("fs", items[0][1].attrs.get("fs", 0.0)))
    return TimeSeries(check_fs(fs, fs_file or None, src), float(f.attrs.get("t0", 0.0)),
                      tuple(names), tuple(units), data, src,
                      {"attrs": {k: f.attrs[k] for k in f.attrs}})
