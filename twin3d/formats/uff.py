"""Universal files (UFF/UNV) through pyuff: 58 time series and FRFs (ASCII and 58b binary),
55 modes, 15/2411 nodes and 82 trace lines, 151 header and 164 units (read and kept).

UFF 58's unit fields: a record's units label (`m/s2`, `g`, `N`) is used when it names a unit we
know; else its quantity (acceleration, force, ...) with the length/force exponents, scaled by
the file's 164 units record (values divided by length^e_L force^e_F factors, as UFF defines).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from twin3d.formats.atomic import atomic_path
from twin3d.formats.errors import FormatError
from twin3d.formats.records import SWAY_DIR, FrfSet, Geometry, ModeSet
from twin3d.formats.timeseries import TimeSeries, fs_from_times, snap_fs
from twin3d.formats.units import known, to_si

SUFFIXES = (".uff", ".unv")
_DIRS = {0: "", 1: "+X", 2: "+Y", 3: "+Z", 4: "+RX", 5: "+RY", 6: "+RZ",
         -1: "-X", -2: "-Y", -3: "-Z", -4: "-RX", -5: "-RY", -6: "-RZ"}
# UFF specific data types -> (SI unit, length exponent, force exponent) of the quantity
_SPEC = {8: ("m", 1, 0), 9: ("N", 0, 1), 11: ("m/s", 1, 0), 12: ("m/s^2", 1, 0),
         13: ("N", 0, 1), 15: ("Pa", -2, 1), 17: ("s", 0, 0), 18: ("Hz", 0, 0)}
F_TIME, F_FRF, F_TRANSMISSIBILITY, F_COHERENCE = 1, 4, 5, 6
TWIN3D_ID = "twin3d"  # ID line 2 of the 58 records we write


# --- reading ------------------------------------------------------------------------------

def read_sets(path, types: tuple[int, ...] | None = None) -> tuple[list[dict], dict]:
    """The data sets of a universal file (those of `types`, or all), and its headers (151, 164).
    FormatError for a file that is not one, is cut short, or holds a damaged set."""
    import pyuff

    path = Path(path)
    src = str(path)
    try:
        with open(path, "rb") as f:
            head = f.read(512)
            f.seek(max(os.fstat(f.fileno()).st_size - 200, 0))
            tail = f.read()
    except OSError as e:
        raise FormatError(src, "file", e.strerror or str(e)) from None
    if not head.lstrip().startswith(b"-1"):
        raise FormatError(src, "format", "not a universal file (it does not start with a "
                          "'    -1' data-set delimiter)")
    if not tail.rstrip().endswith(b"-1"):
        raise FormatError(src, "format", "the file ends inside a data set (cut short?)")
    try:
        u = pyuff.UFF(str(path))
        kinds = [int(t) for t in u.get_set_types()]
    except Exception as e:  # pyuff raises bare Exception
        raise FormatError(src, "format", f"pyuff cannot index it ({e})") from None
    if not kinds:
        raise FormatError(src, "format", "no UFF data sets in it")
    sets, headers = [], {}
    blocks = getattr(u, "_block_ind", None)
    raw = path.read_bytes() if blocks is not None and 58 in kinds else b""
    for i, kind in enumerate(kinds):
        if kind in (151, 164) or types is None or kind in types:
            try:
                if kind == 58 and _is_binary(raw, blocks, i):
                    # pyuff reads the header; the body is one array (np.frombuffer), where
                    # pyuff unpacks it value by value into a tuple first
                    d = u.read_sets(i, header_only=True)
                    _binary_body(d, raw, blocks[i])
                else:
                    d = u.read_sets(i)
            except FormatError:
                raise
            except Exception as e:
                raise FormatError(src, f"data set {i + 1} (type {kind})", f"damaged: {e}") from None
            if kind == 58 and d.get("data") is not None and len(d["data"]) != d.get("num_pts"):
                raise FormatError(src, f"data set {i + 1} (type 58)", f"{len(d['data'])} values, "
                                  f"its header says {d.get('num_pts')} (cut short or damaged)")
            d["_index"] = i + 1
            if kind in (151, 164):
                headers.setdefault(str(kind), {k: v for k, v in d.items() if k != "_index"})
            if types is None or kind in types:
                sets.append(d)
    return sets, headers


def _is_binary(raw: bytes, blocks, i: int) -> bool:
    """A 58b record: its second line reads `    58b...` (column 7 is b)."""
    if blocks is None or not raw:
        return False
    start = int(blocks[i][0])
    lines = raw[start:start + 200].splitlines()
    return len(lines) > 1 and lines[1][6:7].lower() == b"b"


def _binary_body(d: dict, raw: bytes, block: tuple[int, int]) -> None:
    """Fill `x` and `data` of a 58b record whose header pyuff has read, from the file's bytes
    (`block`: the start and end offsets pyuff found). The body starts after the 13 header
    lines of the block, as pyuff reads it."""
    si, ei = int(block[0]), int(block[1])
    block_bytes = raw[si:ei + 1]
    head = block_bytes.splitlines(True)[:13]
    body = memoryview(block_bytes)[sum(len(x) for x in head):]
    single = int(d["ord_data_type"]) in (2, 5)
    cplx = int(d["ord_data_type"]) in (5, 6)
    even = int(d.get("abscissa_spacing", 1)) == 1
    per_point = (2 if cplx else 1) + (0 if even else 1)
    n = int(d["num_pts"])
    dtype = np.dtype(("<" if int(d.get("byte_ordering", 1)) == 1 else ">") +
                     ("f4" if single else "f8"))
    count = min(n * per_point, len(body) // dtype.itemsize)
    v = np.frombuffer(body, dtype=dtype, count=count).astype(np.float64)
    if count < n * per_point:  # fewer values than the header says: damaged (caught above)
        d["x"], d["data"] = None, np.zeros(count // per_point)
        return
    v = v.reshape(n, per_point)
    if even:
        d["x"] = None  # even spacing: abscissa_min and abscissa_inc say it all
    else:
        d["x"] = v[:, 0].copy()
    d["data"] = v[:, -2] + 1j * v[:, -1] if cplx else v[:, -1].copy()


def _label(d: dict, which: str) -> str:
    v = str(d.get(f"{which}_axis_units_lab", "") or "").strip()
    return "" if v.upper() == "NONE" else v


def _unit_and_scale(d: dict, which: str, headers: dict) -> tuple[str, float]:
    """(unit name as the file means it, factor that the file's 164 units imply)."""
    label = _label(d, which)
    if label and known(label):
        return label, 1.0
    spec = _SPEC.get(int(d.get(f"{which}_spec_data_type", 0) or 0))
    if spec is None:
        return label, 1.0
    units = headers.get("164", {})
    length, force = float(units.get("length", 1.0) or 1.0), float(units.get("force", 1.0) or 1.0)
    e_len = int(d.get(f"{which}_len_unit_exp", 0) or 0) or spec[1]
    e_force = int(d.get(f"{which}_force_unit_exp", 0) or 0) or spec[2]
    return spec[0], 1.0 / (length ** e_len * force ** e_force)


def dof_name(d: dict, which: str = "rsp") -> str:
    """A record's channel name: its entity name, else node and direction (`3+X`). Files of
    ours (ID line 2 `twin3d`) carry the full name (a role) in the axis label, since an entity
    name holds only 10 characters."""
    if str(d.get("id2", "")).strip() == TWIN3D_ID:
        lab = str(d.get("ordinate_axis_lab" if which == "rsp" else "orddenom_axis_lab", ""))
        if lab.strip() and lab.strip().upper() != "NONE":
            return lab.strip()
    name = str(d.get(f"{which}_ent_name", "") or "").strip()
    if name and name.upper() != "NONE":
        return name
    return f"{int(d.get(f'{which}_node', 0))}{_DIRS.get(int(d.get(f'{which}_dir', 0)), '')}"


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def _is_time(d: dict) -> bool:
    return d["func_type"] == F_TIME or (d["func_type"] == 0 and
                                         int(d.get("abscissa_spec_data_type", 0)) == 17)


def read_timeseries_uff(path) -> TimeSeries:
    """Every UFF 58 time record of the file as one channel (all at one sample rate)."""
    src = str(path)
    sets, headers = read_sets(path, (58,))
    recs = [d for d in sets if _is_time(d)]
    if not recs:
        kinds = sorted({int(d["func_type"]) for d in sets})
        raise FormatError(src, "data sets", "no UFF 58 time series in it" +
                          (f" (its 58 records have function types {kinds}; FRFs are read by "
                           "read_frfs)" if kinds else ""))
    first = recs[0]
    fs, t0 = _time_base(first, src)
    cols, units = [], []
    for d in recs:
        where = f"data set {d['_index']}"
        if len(d["data"]) != len(first["data"]):
            raise FormatError(src, where, f"{len(d['data'])} samples, data set "
                              f"{first['_index']} has {len(first['data'])}")
        fs_d, t0_d = _time_base(d, src)
        if abs(fs_d - fs) > 1e-6 * fs or abs(t0_d - t0) > 0.5 / fs:
            raise FormatError(src, f"{where}: abscissa", f"sampled at {fs_d:.6g} Hz from "
                              f"{t0_d:g} s, data set {first['_index']} at {fs:.6g} Hz from "
                              f"{t0:g} s")
        if np.iscomplexobj(d["data"]):
            raise FormatError(src, where, "a time series with complex values")
        unit, k = _unit_and_scale(d, "ordinate", headers)
        cols.append(np.asarray(d["data"], dtype=np.float64) * k)
        units.append(unit)
    names = _unique([dof_name(d) for d in recs])
    headers["records"] = [{k: d.get(k) for k in ("id1", "id2", "id3", "id4", "id5", "rsp_node",
                                                   "rsp_dir")} for d in recs]
    return TimeSeries(fs, t0, tuple(names), tuple(units), np.column_stack(cols), src, headers)


def _time_base(d: dict, src: str) -> tuple[float, float]:
    if int(d.get("abscissa_spacing", 1)) == 1:
        inc = float(d.get("abscissa_inc", 0.0))
        if not inc > 0:
            raise FormatError(src, f"data set {d['_index']}: abscissa", f"increment {inc!r} s "
                              "is not > 0")
        fs = snap_fs(1.0 / inc)
        exact, t0 = _ours(d)  # the rate and start in full (the step has only 6 digits)
        if exact is not None and abs(exact - fs) <= 1e-5 * fs:
            fs = exact
        return fs, t0 if t0 is not None else float(d.get("abscissa_min", 0.0))
    return fs_from_times(d["x"], src, f"data set {d['_index']}: abscissa")


def _ours(d: dict) -> tuple[float | None, float | None]:
    """The sample rate and start time (s) that a time record of ours keeps in ID lines 4 and 5
    (`fs 2047.5 Hz`, `t0 1700000000.25 s`): UFF's own fields hold 6 digits."""
    if str(d.get("id2", "")).strip() != TWIN3D_ID:
        return None, None
    out = []
    for key, word in (("id4", "fs"), ("id5", "t0")):
        w = str(d.get(key, "")).split()
        try:
            out.append(float(w[1]) if len(w) == 3 and w[0] == word else None)
        except ValueError:
            out.append(None)
    return out[0], out[1]


def read_frfs_uff(path) -> FrfSet:
    """UFF 58 FRF (4) and transmissibility (5) records, with coherence (6) when present, as
    accelerance or transmissibility (receptance and mobility are turned into accelerance)."""
    src = str(path)
    sets, headers = read_sets(path, (58,))
    frfs = [d for d in sets if d["func_type"] in (F_FRF, F_TRANSMISSIBILITY)]
    if not frfs:
        raise FormatError(src, "data sets", "no UFF 58 FRF or transmissibility records in it")
    f = _abscissa(frfs[0])
    outputs = list(dict.fromkeys(dof_name(d, "rsp") for d in frfs))
    inputs = list(dict.fromkeys(dof_name(d, "ref") for d in frfs))
    h = np.full((f.size, len(outputs), len(inputs)), np.nan + 0j)
    kinds = set()
    for d in frfs:
        where = f"data set {d['_index']}"
        fd = _abscissa(d)
        if fd.size != f.size or not np.allclose(fd, f, rtol=1e-6, atol=1e-9):
            raise FormatError(src, f"{where}: abscissa", f"{fd.size} frequencies from "
                              f"{fd[0]:g} Hz, data set {frfs[0]['_index']} has {f.size} from "
                              f"{f[0]:g} Hz")
        h[:, outputs.index(dof_name(d, "rsp")), inputs.index(dof_name(d, "ref"))] = \
            _as_acceleration(d, f, headers, src)
        kinds.add(_frf_kind(d))
    if len(kinds) > 1:
        raise FormatError(src, "data sets", "mixes force and base-acceleration references")
    coh = None
    cohs = [d for d in sets if d["func_type"] == F_COHERENCE and dof_name(d, "rsp") in outputs]
    if cohs:
        coh = np.full((f.size, len(outputs)), np.nan)
        for d in cohs:
            if d["data"].size == f.size:
                coh[:, outputs.index(dof_name(d, "rsp"))] = np.abs(d["data"])
    return FrfSet(f, h, tuple(outputs), tuple(inputs), kinds.pop(), coh, src, headers)


def _abscissa(d: dict) -> np.ndarray:
    if int(d.get("abscissa_spacing", 1)) == 1:
        return float(d["abscissa_min"]) + np.arange(len(d["data"])) * float(d["abscissa_inc"])
    return np.asarray(d["x"], dtype=np.float64)


def _frf_kind(d: dict) -> str:
    if d["func_type"] == F_TRANSMISSIBILITY:
        return "transmissibility"
    spec = int(d.get("orddenom_spec_data_type", 0) or 0)
    den = to_si(_label(d, "orddenom"))[0]
    if spec == 12 or den == "m/s^2":
        return "transmissibility"
    return "accelerance"


def _as_acceleration(d: dict, f: np.ndarray, headers: dict, src: str) -> np.ndarray:
    """A record's ordinate as acceleration per input, SI: receptance x -w^2, mobility x jw."""
    h = np.asarray(d["data"], dtype=np.complex128)
    label = _label(d, "ordinate")
    si, k = to_si(label) if known(label) else ("", 1.0)
    spec = int(d.get("ordinate_spec_data_type", 0) or 0)
    quantity = {8: "m", 11: "m/s", 12: "m/s^2"}.get(spec) or si.split("/N")[0] or "m/s^2"
    if not known(label):
        units = headers.get("164", {})
        length, force = float(units.get("length", 1.0) or 1), float(units.get("force", 1.0) or 1)
        e_len = int(d.get("ordinate_len_unit_exp", 0) or 0)
        e_force = int(d.get("ordinate_force_unit_exp", 0) or 0)
        k = 1.0 / (length ** e_len * force ** e_force)
    jw = 2j * np.pi * f
    if quantity == "m":
        return h * k * jw**2
    if quantity == "m/s":
        return h * k * jw
    if quantity in ("m/s^2", ""):
        return h * k
    raise FormatError(src, f"data set {d['_index']}: ordinate", f"unit {label!r} is not a "
                      "displacement, velocity or acceleration response")


def read_modes_uff(path) -> ModeSet:
    """UFF 55 mode shapes: normal modes (frequency, viscous damping ratio) or complex modes
    (from the eigenvalue: f = |lambda| / 2 pi, zeta = -Re(lambda) / |lambda|)."""
    src = str(path)
    sets, headers = read_sets(path, (55,))
    modes = [d for d in sets if int(d.get("analysis_type", 0)) in (2, 3, 7)]
    if not modes:
        raise FormatError(src, "data sets", "no UFF 55 mode shapes in it")
    nodes = np.asarray(modes[0]["node_nums"], dtype=np.int64)
    freq, zeta, cols = [], [], []
    for d in modes:
        if not np.array_equal(np.asarray(d["node_nums"], dtype=np.int64), nodes):
            raise FormatError(src, f"data set {d['_index']}: nodes", "not the nodes of data set "
                              f"{modes[0]['_index']}")
        if int(d["analysis_type"]) == 2:
            freq.append(float(d["freq"]))
            zeta.append(float(d.get("modal_damp_vis", 0.0)))
        else:
            lam = complex(d["eig"])
            freq.append(abs(lam) / (2 * np.pi))
            zeta.append(-lam.real / abs(lam) if lam else 0.0)
        cols.append(np.stack([np.asarray(d[r]) for r in ("r1", "r2", "r3")], axis=1))
    shapes = np.stack(cols, axis=2)  # (node, direction, mode)
    used = [j for j in range(3) if np.any(shapes[:, j, :] != 0)] or [0]
    rows = shapes[:, used, :].reshape(len(nodes) * len(used), len(modes))
    dof_nodes = np.repeat(nodes, len(used))
    dirs = np.tile(np.array(used) + 1, len(nodes))
    if not np.iscomplexobj(rows) or not np.any(rows.imag):
        rows = rows.real
    headers["records"] = [{k: d.get(k) for k in ("id1", "id2", "id3", "id4", "id5", "mode_n")}
                          for d in modes]
    return ModeSet(np.array(freq), np.array(zeta), rows, dof_nodes, dirs, src, headers)


def read_geometry_uff(path) -> Geometry:
    """Nodes (UFF 15 or 2411) and trace lines (82; node 0 lifts the pen)."""
    src = str(path)
    sets, headers = read_sets(path, (15, 2411, 82, 18))
    nodes, xyz, lines = [], [], []
    for d in sets:
        if d["type"] in (15, 2411):
            nodes += [int(n) for n in d["node_nums"]]
            xyz += list(zip(d["x"], d["y"], d["z"]))
        elif d["type"] == 82:
            seq = [int(n) for n in np.asarray(d["nodes"]).ravel()]
            run: list[int] = []
            for n in seq + [0]:
                if n == 0:
                    if len(run) > 1:
                        lines.append(np.array(run))
                    run = []
                else:
                    run.append(n)
        elif d["type"] == 18:
            headers.setdefault("18", d)
    if not nodes:
        raise FormatError(src, "data sets", "no UFF 15 or 2411 nodes in it")
    return Geometry(np.array(nodes), np.array(xyz, dtype=np.float64), tuple(lines), source=src,
                    headers=headers)


# --- writing ------------------------------------------------------------------------------

def _now() -> tuple[str, str]:
    t = _dt.datetime.now()
    return t.strftime("%d-%b-%y"), t.strftime("%H:%M:%S")


def header_sets(description: str) -> list[dict]:
    """151 (who wrote it, when) and 164 (SI units) data sets."""
    date, time = _now()
    h151 = {"type": 151, "model_name": "twin3d", "description": description[:80],
            "db_app": "twin3d", "date_db_created": date, "time_db_created": time,
            "version_db1": 0, "version_db2": 0, "file_type": 0, "date_db_saved": date,
            "time_db_saved": time, "program": "twin3d", "date_file_written": date,
            "time_file_written": time}
    h164 = {"type": 164, "units_code": 1, "units_description": "SI", "temp_mode": 1,
            "length": 1.0, "force": 1.0, "temp": 1.0, "temp_offset": 273.15}
    return [h151, h164]


def geometry_sets(g: Geometry) -> list[dict]:
    """15 (nodes) and 82 (trace lines) data sets."""
    n = len(g.nodes)
    out = [{"type": 15, "node_nums": np.asarray(g.nodes, dtype=int), "def_cs": np.zeros(n, int),
            "disp_cs": np.zeros(n, int), "color": np.full(n, 8, int),
            "x": g.xyz[:, 0], "y": g.xyz[:, 1], "z": g.xyz[:, 2]}]
    for i, line in enumerate(g.lines, 1):
        out.append({"type": 82, "trace_num": i, "n_nodes": len(line), "color": 8,
                    "id": f"line {i}", "nodes": np.asarray(line, dtype=float)})
    return out


def write_sets(path, sets: list[dict]) -> Path:
    """All data sets to `path` at once (a temporary file renamed over it: never half-written)."""
    import pyuff

    path = Path(path)
    with atomic_path(path) as tmp:
        try:
            pyuff.UFF(str(tmp)).write_sets(sets, mode="overwrite")
        except OSError:
            raise
        except Exception as e:  # pyuff raises bare Exception
            raise FormatError(str(path), "write", f"pyuff could not write it ({e})") from None
    return path


def _shape_rows(shapes: np.ndarray, g: Geometry, src: str) -> np.ndarray:
    """Mode shapes per geometry node (n_nodes, n_modes): rows for the floors (a chain) or for
    every node; nodes without a row (the base) stay 0."""
    n_dof = shapes.shape[0]
    out = np.zeros((len(g.nodes), shapes.shape[1]), dtype=shapes.dtype)
    nodes = list(int(n) for n in g.nodes)
    if g.floor_nodes and n_dof == len(g.floor_nodes):
        for k, node in enumerate(g.floor_nodes):
            out[nodes.index(node)] = shapes[k]
    elif n_dof == len(nodes):
        out[:] = shapes
    else:
        raise FormatError(src, "shapes", f"{n_dof} rows, the geometry has {len(nodes)} nodes "
                          f"({len(g.floor_nodes)} floors)")
    return out


def write_modes_uff(path, freq_hz, damping_ratio, shapes, geometry: Geometry,
                    description: str = "twin3d modes", mass_normalised: bool = False,
                    labels: Sequence[str] | None = None) -> Path:
    """UFF 151/164 headers, the geometry (15, 82) and one UFF 55 normal mode per column of
    `shapes` (n_dof, n_modes): sway (+X) of each floor, viscous damping ratio. `labels`: ID
    line 1 of each mode (default: the description and the mode's number)."""
    src = str(path)
    f = np.asarray(freq_hz, dtype=np.float64).ravel()
    z = np.asarray(damping_ratio, dtype=np.float64).ravel()
    phi = np.asarray(shapes)
    if phi.ndim == 1:
        phi = phi[:, None]
    if not (f.size == z.size == phi.shape[1]):
        raise FormatError(src, "modes", f"{f.size} frequencies, {z.size} damping ratios, "
                          f"{phi.shape[1]} shapes")
    rows = _shape_rows(phi, geometry, src)
    sets = header_sets(description) + geometry_sets(geometry)
    zero = np.zeros(len(geometry.nodes), dtype=rows.dtype)
    for r in range(f.size):
        label = labels[r] if labels is not None else f"{description} mode {r + 1}"
        d = {"type": 55, "id1": label[:80], "id2": "NONE", "id3": "NONE",
             "id4": "NONE", "id5": "NONE", "model_type": 1, "analysis_type": 2, "data_ch": 2,
             "spec_data_type": 8, "data_type": 2, "n_data_per_node": 3, "load_case": 1,
             "mode_n": r + 1, "freq": float(f[r]), "modal_m": 1.0 if mass_normalised else 0.0,
             "modal_damp_vis": float(z[r]), "modal_damp_his": 0.0,
             "node_nums": np.asarray(geometry.nodes, dtype=int)}
        comps = [zero, zero, zero]
        comps[SWAY_DIR - 1] = rows[:, r]
        d["r1"], d["r2"], d["r3"] = (np.real(c).astype(np.float64) for c in comps)
        sets.append(d)
    return write_sets(path, sets)


_QUANTITY_SPEC = {"m/s^2": 12, "N": 13, "m": 8, "m/s": 11, "Pa": 15}


def _record58(name: str, data: np.ndarray, x0: float, dx: float, func_type: int, unit: str,
              rsp: tuple[int, int], ref: tuple[int, int] = (0, 0), ref_name: str = "NONE",
              den_unit: str = "", binary: bool = True, id1: str = "", fs: float = 0.0) -> dict:
    date, time = _now()
    t0 = x0
    if fs and abs(x0) > 1e3:  # a start in s since the epoch: the abscissa counts from 0
        x0 = 0.0  # (pyuff takes the step from x[1] - x[0], which 1.7e9 + 1e-3 rounds)
    return {"type": 58, "binary": int(binary), "id1": (id1 or name)[:80], "id2": TWIN3D_ID,
            "id3": f"{date} {time}", "id4": f"fs {fs!r} Hz" if fs else "NONE",
            "id5": f"t0 {t0!r} s" if fs else "NONE", "func_type": func_type,
            "func_id": 0, "ver_num": 0, "load_case_id": 0, "rsp_ent_name": name[:10],
            "rsp_node": int(rsp[0]), "rsp_dir": int(rsp[1]), "ref_ent_name": ref_name[:10],
            "ref_node": int(ref[0]), "ref_dir": int(ref[1]),
            "ord_data_type": 6 if np.iscomplexobj(data) else 4, "num_pts": len(data),
            "abscissa_spacing": 1, "abscissa_min": float(x0), "abscissa_inc": float(dx),
            "z_axis_value": 0.0,
            "abscissa_spec_data_type": 17 if func_type == F_TIME else 18,
            "abscissa_len_unit_exp": 0, "abscissa_force_unit_exp": 0,
            "abscissa_temp_unit_exp": 0,
            "abscissa_axis_lab": "Time" if func_type == F_TIME else "Frequency",
            "abscissa_axis_units_lab": "s" if func_type == F_TIME else "Hz",
            "ordinate_spec_data_type": _QUANTITY_SPEC.get(unit.split("/N")[0], 0),
            "ordinate_len_unit_exp": 1 if unit.startswith("m") else 0,
            "ordinate_force_unit_exp": 1 if unit == "N" else 0, "ordinate_temp_unit_exp": 0,
            "ordinate_axis_lab": name[:20], "ordinate_axis_units_lab": unit or "NONE",
            "orddenom_spec_data_type": _QUANTITY_SPEC.get(den_unit, 0),
            "orddenom_len_unit_exp": 1 if den_unit.startswith("m") else 0,
            "orddenom_force_unit_exp": 1 if den_unit == "N" else 0, "orddenom_temp_unit_exp": 0,
            "orddenom_axis_lab": ref_name[:20],
            "orddenom_axis_units_lab": den_unit or "NONE",
            "z_axis_spec_data_type": 0, "z_axis_len_unit_exp": 0, "z_axis_force_unit_exp": 0,
            "z_axis_temp_unit_exp": 0, "z_axis_axis_lab": "NONE", "z_axis_axis_units_lab": "NONE",
            "x": x0 + np.arange(len(data)) * dx, "data": data}


def write_timeseries_uff(path, ts: TimeSeries, geometry: Geometry | None = None,
                         binary: bool = True) -> Path:
    """One UFF 58 time record per channel (58b binary by default), after the 151/164 headers
    and the geometry when given (a channel's node from its role)."""
    sets = header_sets(f"time series from {ts.source}"[:80])
    if geometry is not None:
        sets += geometry_sets(geometry)
    for j, (name, unit) in enumerate(zip(ts.names, ts.units)):
        rsp = geometry.node_of(name) if geometry is not None else (j + 1, 0)
        sets.append(_record58(name, ts.data[:, j].astype(np.float64), ts.t0, 1.0 / ts.fs, F_TIME,
                              unit, rsp, binary=binary, fs=ts.fs))
    return write_sets(path, sets)


def write_frfs_uff(path, frfs: FrfSet, geometry: Geometry | None = None,
                   binary: bool = False) -> Path:
    """One UFF 58 FRF record per output and input (the reference's quantity, a force or the
    base's acceleration, tells accelerance from transmissibility), the coherence per output when
    there is one, after the headers and the geometry."""
    f = frfs.freq_hz
    df = (f[-1] - f[0]) / (f.size - 1) if f.size > 1 else 1.0
    if f.size > 1 and not np.allclose(np.diff(f), df, rtol=1e-6):
        raise FormatError(str(path), "freq_hz", "not evenly spaced (UFF 58 here writes even "
                          "abscissae)")
    sets = header_sets(f"{frfs.kind} from {frfs.source}"[:80])
    if geometry is not None:
        sets += geometry_sets(geometry)
    force = frfs.kind == "accelerance"
    # pyuff writes no function type 5: a transmissibility is an FRF (4) whose reference is an
    # acceleration (denominator quantity 12, m/s^2), which is how readers tell them apart too
    func = F_FRF

    def node(role: str, j: int) -> tuple[int, int]:
        return geometry.node_of(role) if geometry is not None else (j + 1, SWAY_DIR)

    for i, inp in enumerate(frfs.inputs):
        for o, out in enumerate(frfs.outputs):
            sets.append(_record58(out, frfs.h[:, o, i], f[0], df, func, "m/s^2", node(out, o),
                                  node(inp, 100 + i), inp, "N" if force else "m/s^2",
                                  binary, id1=f"{out} / {inp}"))
    if frfs.coherence is not None:
        for o, out in enumerate(frfs.outputs):
            sets.append(_record58(out, frfs.coherence[:, o], f[0], df, F_COHERENCE, "",
                                  node(out, o), node(frfs.inputs[0], 100), frfs.inputs[0],
                                  binary=binary, id1=f"coherence {out}"))
    return write_sets(path, sets)
