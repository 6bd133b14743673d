"""`twin3d modes`, `twin3d tool` and `twin3d bench`: the model's modes, any engineering tool
without the scene, and the performance figures."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from twin3d.cli.common import UsageError, emit
from twin3d.cli.import_cmds import uff_out
from twin3d.cli.tool_help import add_tool_help


def cmd_modes(args) -> int:
    from twin3d.physics.structure import modal_analysis
    from twin3d.scenefile.profiles import load_user_scene

    scene = load_user_scene(args.scene)
    profile = args.profile or scene.data.model.active
    modes = modal_analysis(scene.model(profile))
    dofs = f"floors 1..{scene.n_storeys}"
    if scene.loading().has_base:  # the base is a DOF (first): a free base adds a 0 Hz mode
        from twin3d.physics.shear_frame import modes as loaded_modes

        modes = loaded_modes(scene.model(profile), scene.loading())
        dofs = f"base, floors 1..{scene.n_storeys}"
    if args.export:  # UFF 55 modes with the storeys' geometry (twin3d.formats)
        from twin3d.cli.import_cmds import export_modes

        exported = export_modes(args.export, scene, profile, modes)
        if not args.json:
            print(f"wrote {exported['modes']} modes to {exported['export']} (UFF 55 + geometry)")
    if args.json:
        emit({"scene": scene.data.name, "profile": profile,
              "frequencies_hz": modes.frequencies_hz,
              "damping_ratios": modes.damping_ratios,
              "shapes": modes.shapes.T,  # one list per mode, mass-normalised
              "shape_normalisation": f"mass (shapes^T M shapes = I), {dofs}"})
        return 0
    print(f"scene {scene.data.name}, profile {profile}")
    print(f"{'mode':>4} {'f (Hz)':>10} {'zeta (%)':>9}   shape ({dofs})")
    for r, (f, z) in enumerate(zip(modes.frequencies_hz, modes.damping_ratios), 1):
        shape = modes.shapes[:, r - 1] / np.max(np.abs(modes.shapes[:, r - 1]))
        print(f"{r:>4} {f:>10.4f} {100 * z:>9.3f}   " + " ".join(f"{v:+.3f}" for v in shape))
    return 0


def cmd_bench(args) -> int:
    from twin3d.bench import NoSuchStep, run_benchmarks

    only = tuple(w.strip() for w in (args.only or "").split(",") if w.strip())
    try:
        report = run_benchmarks(quick=args.quick, progress=None if args.json else print,
                                only=only)
    except NoSuchStep as e:
        raise UsageError(f"twin3d bench: {e}") from None
    if args.json:
        emit(report)
    return 0


def _parse_sets(pairs: list[str]) -> dict:
    from twin3d.tools import parse_value

    sets = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UsageError(f"twin3d tool: --set needs key=value (got {pair!r})")
        sets[key.strip()] = parse_value(value.strip())
    return sets


def cmd_tool(args) -> int:
    from twin3d import tools
    from twin3d.scenefile.profiles import load_user_scene

    if args.name == "list":
        listing = tools.listing()
        if args.json:
            emit({"tools": tools.to_jsonable(listing)})
        else:
            for t in listing:
                print(f"{t['name']:<20} {t['summary']}")
        return 0
    tool = tools.get(args.name)
    scene = load_user_scene(args.scene)
    inputs = tools.make_inputs(tool, _parse_sets(args.set), args.inputs, scene)
    progress = None
    if not args.json and sys.stderr.isatty():
        def progress(fraction: float, message: str) -> None:
            print(f"\r{args.name}: {100 * fraction:5.1f} % {message:<40}", end="",
                  file=sys.stderr, flush=True)
    result = tools.run(tool, inputs, tools.Context(scene=scene, progress=progress))
    if args.export:  # its modes (UFF 55) or time histories (UFF 58), with the geometry
        from twin3d.cli.import_cmds import export_tool

        exported = export_tool(args.export, tool, inputs, result, scene)
        if not args.json:
            print(f"wrote {exported['format']} to {exported['export']}", file=sys.stderr)
    if args.json:
        emit({"tool": tool.NAME, "inputs": tools.to_jsonable(inputs),
              "results": tools.to_jsonable(result)})
    else:
        if progress:
            print(file=sys.stderr)
        for line in tools.summary_lines(tool, result):
            print(line)
    return 0


def register(add) -> None:
    m = add("modes", cmd_modes, "natural frequencies, damping ratios and mode shapes")
    m.add_argument("--profile", help="a profile of the scene file (default: its active model)")
    m.add_argument("--export", type=uff_out, metavar="FILE.uff",
                   help="also write the modes as UFF 55 with the storeys' geometry (15/82)")
    b = add("bench", cmd_bench, "performance figures, each beside its baseline and the ratio")
    b.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    b.add_argument("--only", metavar="WORD[,WORD...]",
                   help="only the steps whose name contains one of these words")
    t = add("tool", cmd_tool, "run an engineering tool (`twin3d tool list` lists them)")
    t.add_argument("name", help="tool name, or `list` (`twin3d tool NAME --help`: its inputs)")
    add_tool_help(t)
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="an input (TOML literal: 3, 2.5, true, [1, 2], text)")
    t.add_argument("--inputs", type=Path, help="a TOML file of inputs (--set overrides it)")
    t.add_argument("--export", type=uff_out, metavar="FILE.uff",
                   help="also write the result's modes (UFF 55) or time histories (UFF 58)")
