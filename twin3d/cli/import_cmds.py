"""`twin3d import`: a measurement file (UFF 58, .mat, CSV, NPZ, HDF5, Parquet) to a twin3d
recording through a channel map; and the exports that other commands offer (`modes --export`,
`tool NAME --export`, `replay REC --export uff|hdf5|parquet`), shared here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin3d.cli.common import UsageError, emit, new_folder, number

if TYPE_CHECKING:
    from twin3d import formats


def _format_error(cmd: str, e: Exception) -> UsageError:
    return UsageError(f"twin3d {cmd}: {e}")


def sensor_units(scene) -> dict[str, str]:
    return {name: s.unit for name, s in scene.data.sensors.items()}


def cmd_import(args) -> int:
    from twin3d import formats
    from twin3d.scenefile.profiles import load_user_scene

    try:
        if args.list:
            ts = formats.read_raw(args.file, args.fs)
            out = {"file": str(args.file), "fs": ts.fs, "t0": ts.t0, "samples": ts.n_samples,
                   "columns": [{"index": j, "name": n, "unit": u}
                               for j, (n, u) in enumerate(zip(ts.names, ts.units))]}
            if args.json:
                emit(out)
            else:
                print(f"{args.file}: {ts.n_samples} samples at {ts.fs:g} Hz")
                for c in out["columns"]:
                    print(f"  {c['index']:>3}  {c['name']:<24} {c['unit']}")
            return 0
        if not args.map or args.out is None:
            raise UsageError("twin3d import: give --map COL=ROLE,... and --out RECORDING (or "
                             "--list to see the file's columns)")
        scene = load_user_scene(args.scene)
        cmap = formats.ChannelMap.parse(args.map)
        cmap.check_roles(sensor_units(scene), scene.data.name)
        if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
            raise UsageError(f"twin3d import: --out {args.out} exists and is not an empty folder")
        ts = formats.read_timeseries(args.file, cmap, fs=args.fs)
        formats.write_recording(ts, args.out, scene=scene.data.name, channel_map=str(cmap),
                                imported_from=str(args.file))
    except formats.FormatError as e:
        raise _format_error("import", e) from None
    except OSError as e:
        raise UsageError(f"twin3d import: {e.filename or args.out}: {e.strerror or e}") from None
    out = {"file": str(args.file), "out": str(args.out), "scene": scene.data.name,
           "fs": ts.fs, "samples": ts.n_samples, "channels": list(ts.names),
           "units": list(ts.units), "seconds": ts.n_samples / ts.fs}
    if args.json:
        emit(out)
    else:
        print(f"imported {ts.n_samples} samples at {ts.fs:g} Hz ({out['seconds']:.3f} s) of "
              f"{', '.join(ts.names)} from {args.file} into {args.out}")
    return 0


# --- exports offered by other commands ----------------------------------------------------

def scene_geometry(scene) -> formats.Geometry:
    """The storeys as modal software draws them: base and floors at their heights."""
    from twin3d.formats import chain_geometry
    from twin3d.scenefile.meshes import floor_heights

    return chain_geometry(floor_heights(scene.data.geometry), source=str(scene.path))


def uff_out(text: str) -> Path:
    """An option type: a .uff/.unv file to write, in a folder that exists."""
    from twin3d.cli.common import out_file

    p = out_file(text)
    if p.suffix.lower() not in (".uff", ".unv"):
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r}: a universal file ends in .uff or .unv")
    return p


def export_modes(path: Path, scene, profile: str, modes, cmd: str = "modes") -> dict:
    """A model's modes (mass-normalised, floors 1..N) to UFF 55 with the storeys' geometry."""
    from twin3d import formats

    try:
        formats.write_modes_uff(path, modes.frequencies_hz, np.nan_to_num(modes.damping_ratios),
                                modes.shapes, scene_geometry(scene),
                                description=f"{scene.data.name} {profile}",
                                mass_normalised=True)
    except formats.FormatError as e:
        raise _format_error(cmd, e) from None
    except OSError as e:
        raise UsageError(f"twin3d {cmd}: --export: cannot write {str(path)!r} "
                         f"({e.strerror or e})") from None
    return {"export": str(path), "format": "uff 55", "modes": len(modes.frequencies_hz)}


# result fields that hold modes: (frequencies, damping ratios or None, shapes (modes, floors))
_MODE_FIELDS = (("identified_frequencies_hz", "identified_damping_ratios", "identified_shapes"),
                ("frequencies_hz", "damping_ratios", "shapes"),
                ("frequencies_hz", None, "floor_sway"))


def tool_modes(result) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(label, frequencies, damping ratios, shapes (floors, modes)) per mode set in a result."""
    for f_key, z_key, s_key in _MODE_FIELDS:
        f, s = getattr(result, f_key, None), getattr(result, s_key, None)
        if f is None or s is None:
            continue
        f, s = np.asarray(f, dtype=float), np.asarray(s)
        z = np.asarray(getattr(result, z_key), dtype=float) if z_key else np.zeros(f.shape)
        if f.ndim == 2 and s.ndim == 3:  # several profiles side by side
            names = list(getattr(result, "names", [str(i) for i in range(f.shape[0])]))
            return [(str(names[i]), f[i], z[i], s[i].T) for i in range(f.shape[0])]
        if f.ndim == 1 and s.ndim == 2 and s.shape[0] == f.size:
            return [(getattr(result, "profile", "") or f_key, f, z, s.T)]
    return []


def export_tool(path: Path, tool, inputs, result, scene) -> dict:
    """A tool's modes (UFF 55) or time histories (UFF 58) with the storeys' geometry."""
    from twin3d import formats

    name = tool.NAME
    geometry = scene_geometry(scene)
    sets = tool_modes(result)
    try:
        if sets:
            f = np.concatenate([s[1] for s in sets])
            z = np.nan_to_num(np.concatenate([s[2] for s in sets]))
            phi = np.concatenate([s[3] for s in sets], axis=1)
            labels = [f"{name} {s[0]} mode {r + 1}" for s in sets for r in range(s[1].size)]
            formats.write_modes_uff(path, f, z, phi, geometry, labels=labels,
                                    description=f"{name} " + ", ".join(s[0] for s in sets))
            return {"export": str(path), "format": "uff 55", "modes": int(f.size),
                    "sets": [s[0] for s in sets]}
        t = getattr(result, "t", None)
        acc = getattr(result, "acceleration_m_s2", None)
        if t is not None and acc is not None:
            from twin3d.formats.timeseries import fs_from_times

            fs, t0 = fs_from_times(np.asarray(t), name, "t")
            acc = np.asarray(acc)
            names = [f"acc_floor{k}" for k in range(1, acc.shape[1] + 1)]
            data, units = [acc], ["m/s^2"] * acc.shape[1]
            inp = getattr(result, "input_history", None)
            if inp is not None:
                unit = getattr(result, "input_unit", "")
                names.append("acc_table" if unit == "m/s^2" else
                             f"force_floor{getattr(inputs, 'floor', 1)}")
                units.append(unit)
                data.append(np.asarray(inp)[:, None])
            ts = formats.TimeSeries(fs, t0, tuple(names), tuple(units), np.hstack(data),
                                    f"twin3d tool {name}")
            formats.write_timeseries(path, ts, "uff", geometry)
            return {"export": str(path), "format": "uff 58", "channels": names}
    except formats.FormatError as e:
        raise _format_error("tool", e) from None
    except OSError as e:
        raise UsageError(f"twin3d tool: --export: cannot write {str(path)!r} "
                         f"({e.strerror or e})") from None
    raise UsageError(f"twin3d tool: --export: the result of {name} has no modes or time "
                     "histories to write (tools with modes: modes, model_update, fe_modal, "
                     "profiles; with time histories: simulator)")


def export_recording(folder: Path, fmt: str, out: Path, scene=None) -> dict:
    """A recording to UFF 58 (one record per channel), HDF5 or Parquet (SEP-005 channels). These
    hold one evenly sampled series a file: a recording that lost blocks is written as one file
    per unbroken run, OUT's name with .part1, .part2, ... before its suffix (nothing dropped)."""
    from twin3d import formats

    written: list[Path] = []
    path = out
    try:
        runs = formats.read_recording_runs(folder)
        geometry = scene_geometry(scene) if scene is not None and fmt == "uff" else None
        paths = [out] if len(runs) == 1 else \
            [out.with_name(f"{out.stem}.part{k}{out.suffix}") for k in range(1, len(runs) + 1)]
        for ts, path in zip(runs, paths):
            formats.write_timeseries(path, ts, fmt, geometry)  # each to a temporary name first
            written.append(path)
    except (formats.FormatError, OSError) as e:
        for p in written:  # all parts or none: the parts of a failed export are taken back
            p.unlink(missing_ok=True)
        if isinstance(e, formats.FormatError):
            raise _format_error("replay", e) from None
        raise UsageError(f"twin3d replay: --out: cannot write {str(path)!r} "
                         f"({e.strerror or e})") from None
    ts = runs[0]
    summary = {"export": fmt, "out": str(paths[0]), "channels": list(ts.names), "fs": ts.fs,
               "samples": sum(r.n_samples for r in runs)}
    if len(runs) > 1:
        summary.update(gaps=len(runs) - 1, parts=[str(p) for p in paths],
                       part_samples=[r.n_samples for r in runs],
                       part_t0=[r.t0 for r in runs])
    return summary


def register(add) -> None:
    p = add("import", cmd_import, "a measurement file (UFF 58, .mat, CSV, NPZ, HDF5, Parquet) "
            "to a twin3d recording, through a channel map")
    p.add_argument("file", type=Path, help="the file (or a recording folder)")
    p.add_argument("--map", metavar="COL=ROLE[*FACTOR][:UNIT],...",
                   help="which column is which scene sensor, e.g. '0=acc_table:g,1=acc_floor1:g'"
                        " (column: name or 0-based index; unit converted to SI)")
    p.add_argument("--out", type=new_folder, help="recording folder to create")
    p.add_argument("--fs", type=number(0.0, 1e6, lo_open=True), default=None,
                   help="sample rate (Hz) for a file without a time base (checked against one "
                        "that has it)")
    p.add_argument("--list", action="store_true", help="list the file's columns and stop")
