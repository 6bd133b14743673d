"""The `twin3d` command line. Every computing command takes --json and then prints exactly one
JSON object on stdout; bad input exits 2 with one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from twin3d.scenefile.schema import SchemaError


class UsageError(Exception):
    """Bad input from the command line: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise UsageError(f"{self.prog}: {message}")


def _jsonable(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def emit(obj: dict) -> None:
    print(json.dumps(obj, default=_jsonable))


def cmd_modes(args) -> int:
    from twin3d.physics.structure import modal_analysis
    from twin3d.scenefile.records import load_scene

    scene = load_scene(args.scene)
    profile = args.profile or scene.data.model.active
    modes = modal_analysis(scene.model(profile))
    if args.json:
        emit({"scene": scene.data.name, "profile": profile,
              "frequencies_hz": modes.frequencies_hz,
              "damping_ratios": modes.damping_ratios,
              "shapes": modes.shapes.T,  # one list per mode, floors 1..N, mass-normalised
              "shape_normalisation": "mass (shapes^T M shapes = I), floors 1..N"})
        return 0
    print(f"scene {scene.data.name}, profile {profile}")
    print(f"{'mode':>4} {'f (Hz)':>10} {'zeta (%)':>9}   shape (floors 1..{scene.n_storeys})")
    for r, (f, z) in enumerate(zip(modes.frequencies_hz, modes.damping_ratios), 1):
        shape = modes.shapes[:, r - 1] / np.max(np.abs(modes.shapes[:, r - 1]))
        print(f"{r:>4} {f:>10.4f} {100 * z:>9.3f}   " + " ".join(f"{v:+.3f}" for v in shape))
    return 0


def cmd_bench(args) -> int:
    from twin3d.bench import run_benchmarks

    report = run_benchmarks(quick=args.quick, progress=None if args.json else print)
    if args.json:
        emit(report)
    return 0


def _window(choice: str) -> str:
    """`auto`: onscreen where there is a display, else headless (no window)."""
    if choice != "auto":
        return choice
    return "onscreen" if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") else "none"


def _scene_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--window", choices=("auto", "onscreen", "offscreen", "none"),
                    default="auto", help="auto: onscreen with a display, else none")
    sp.add_argument("--frames", type=int, help="run N frames and exit (offscreen default 300)")
    sp.add_argument("--screenshot", type=Path, help="PNG of the last frame")
    sp.add_argument("--size", type=_size, default=(1280, 720), help="WxH pixels")
    sp.add_argument("--fullscreen", action="store_true")
    sp.add_argument("--kiosk", action="store_true",
                    help="full screen, self-running tour with captions, no mouse needed")


def _check_scene_options(args, command: str) -> str:
    window = _window(args.window)
    if args.frames is not None and args.frames < 1:
        raise UsageError(f"twin3d {command}: --frames out of range (got {args.frames}, "
                         "allowed >= 1)")
    if window == "none" and (args.screenshot or args.kiosk):
        raise UsageError(f"twin3d {command}: --screenshot/--kiosk need a window (got --window "
                         f"{args.window} on a machine without a display; use --window offscreen)")
    return window


def cmd_demo(args) -> int:
    window = _check_scene_options(args, "demo")
    if window == "none":
        from twin3d.live.demo import run_demo

        if not args.json:
            print("twin3d demo: no display, so the live twin runs headless (status lines); "
                  "for pictures use --window offscreen --frames N --screenshot F.png")
        summary = run_demo(args.scene, seconds=args.seconds, out=None if args.json else print)
        if args.json:
            emit(summary)
        return 0
    from twin3d.physics import warmup
    from twin3d.view.app import run_scene
    from twin3d.scenefile.records import load_scene

    warmup()
    scene = load_scene(args.scene)
    if args.kiosk:  # the tour brings its own feeds (modes, run-up, earthquake)
        from twin3d.live.feeds import SimFeed

        feed = SimFeed(scene)
    else:  # the live twin on the in-process rig, with the scripted operator
        from twin3d.live.demo import make_demo_feed

        feed = make_demo_feed(scene)
    try:
        summary = run_scene(scene, feed, window, args.size, args.frames, args.screenshot,
                            args.kiosk, args.fullscreen,
                            say=(lambda s: None) if args.json else print)
    finally:
        close = getattr(feed, "close", None)
        if close:
            close()
    if args.json:
        emit(summary)
    return 0


def cmd_run(args) -> int:
    window = _check_scene_options(args, "run")
    if window == "none":
        raise UsageError("twin3d run: the scene needs a window (allowed: --window onscreen | "
                         "offscreen); `twin3d monitor` runs ingest without one")
    from twin3d.view.app import run_scene
    from twin3d.scenefile.records import load_scene

    from twin3d.protocol.audit import AuditLog
    from twin3d.io.sources import open_source
    from twin3d.live.live_feed import LiveFeed

    scene = load_scene(args.scene)
    try:
        source = open_source(args.source, scene)
    except (ValueError, FileNotFoundError) as e:
        raise UsageError(f"twin3d run: --source: {e}") from None
    # commands sent from the scene's motor panel are audited like `twin3d cmd`'s
    audit = AuditLog("twin", source=args.source) if hasattr(source, "ack_listeners") else None
    feed = LiveFeed(source, scene, audit=audit)
    try:
        summary = run_scene(scene, feed, window, args.size, args.frames, args.screenshot,
                            args.kiosk, args.fullscreen,
                            say=(lambda s: None) if args.json else print)
    finally:
        feed.close()
        if audit is not None:
            audit.close()
    if args.json:
        emit(summary)
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WxH, got {text!r}") from None
    if not (64 <= w <= 7680 and 64 <= h <= 4320):
        raise argparse.ArgumentTypeError(f"size out of range (got {text}, allowed 64x64..7680x4320)")
    return w, h


def cmd_render(args) -> int:
    from twin3d.scenefile.records import load_scene

    scene = load_scene(args.scene)
    if args.mode is not None and not 1 <= args.mode <= scene.n_storeys:
        raise UsageError(f"twin3d render: --mode out of range (got {args.mode}, allowed "
                         f"1..{scene.n_storeys})")
    if args.gif and args.mode is None:
        raise UsageError("twin3d render: --gif animates a mode: give --mode K")
    if args.gif:
        from twin3d.view.render import render_gif

        out = render_gif(scene, args.out, args.mode, size=args.size)
    else:
        from twin3d.view.render import render

        out = render(scene, args.out, mode=args.mode, size=args.size)
    if args.json:
        emit({"out": str(out), "mode": args.mode, "size": list(args.size), "gif": args.gif})
    else:
        print(f"wrote {out}")
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
    from twin3d.scenefile.records import load_scene

    if args.name == "list":
        listing = tools.listing()
        if args.json:
            emit({"tools": tools.to_jsonable(listing)})
        else:
            for t in listing:
                print(f"{t['name']:<20} {t['summary']}")
        return 0
    tool = tools.get(args.name)
    scene = load_scene(args.scene)
    inputs = tools.make_inputs(tool, _parse_sets(args.set), args.inputs, scene)
    progress = None
    if not args.json and sys.stderr.isatty():
        def progress(fraction: float, message: str) -> None:
            print(f"\r{args.name}: {100 * fraction:5.1f} % {message:<40}", end="",
                  file=sys.stderr, flush=True)
    result = tools.run(tool, inputs, tools.Context(scene=scene, progress=progress))
    if args.json:
        emit({"tool": tool.NAME, "inputs": tools.to_jsonable(inputs),
              "results": tools.to_jsonable(result)})
    else:
        if progress:
            print(file=sys.stderr)
        for line in tools.summary_lines(tool, result):
            print(line)
    return 0


# Modules that add their own sub-commands: each has register(add) where add(name, func, help,
# computes=True) returns the sub-parser (so the live twin's commands live beside their code).
COMMAND_MODULES = ("twin3d.cli.live_cmds", "twin3d.cli.rig_cmds")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="twin3d", description="3D virtual twin of a base-shaken three-storey "
                "structure. Every command takes --scene NAME|PATH.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, required=True)

    def add(name: str, func: Callable, help_: str, computes: bool = True) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("--scene", default="three_storey", help="scene name or .toml path")
        if computes:
            sp.add_argument("--json", action="store_true", help="print one JSON object")
        sp.set_defaults(func=func)
        return sp

    m = add("modes", cmd_modes, "natural frequencies, damping ratios and mode shapes")
    m.add_argument("--profile", help="a profile of the scene file (default: its active model)")
    b = add("bench", cmd_bench, "performance figures, each beside its baseline and the ratio")
    b.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    d = add("demo", cmd_demo, "the simulated rig running a scripted show")
    _scene_options(d)
    d.add_argument("--seconds", type=float, default=40.0,
                   help="headless: seconds to run (the scripted operator's show takes 40)")
    u = add("run", cmd_run, "the 3D scene on a source: sim, mqtt://HOST:PORT[/RIG], "
            "serial:///dev/ttyX or replay:PATH")
    u.add_argument("--source", default="sim")
    _scene_options(u)
    r = add("render", cmd_render, "an offscreen picture of the scene (no display needed)")
    r.add_argument("--out", required=True, type=Path, help="PNG file to write")
    r.add_argument("--mode", type=int, help="draw mode K's shape (1-based)")
    r.add_argument("--gif", action="store_true", help="one animated cycle of --mode K (GIF)")
    r.add_argument("--size", type=_size, default=(1920, 1080), help="WxH pixels")
    t = add("tool", cmd_tool, "run an engineering tool (`twin3d tool list` lists them)")
    t.add_argument("name", help="tool name, or `list`")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="an input (TOML literal: 3, 2.5, true, [1, 2], text)")
    t.add_argument("--inputs", type=Path, help="a TOML file of inputs (--set overrides it)")
    import importlib
    import importlib.util
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(add)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except (UsageError, SchemaError) as e:
        print(str(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("twin3d: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # never a traceback for users; TWIN3D_DEBUG=1 shows it
        if os.environ.get("TWIN3D_DEBUG"):
            raise
        print(f"twin3d: internal error: {type(e).__name__}: {e} "
              "(run with TWIN3D_DEBUG=1 for details)", file=sys.stderr)
        return 1
