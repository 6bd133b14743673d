"""`twin3d demo`, `twin3d run` and `twin3d render`: the 3D scene on the simulated rig, on a
source, or as one offscreen picture; `twin3d scene new`: a structure-only scene file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from twin3d.cli.common import (Parser, UsageError, apply_look, check_scene_options, emit,
                               layout_report_option, look_options, number, out_file,
                               profile_option,
                               scene_options, screen_output, stereo_options, stereo_setup,
                               window_size)
from twin3d.cli.history_cmds import attach_history, say_stderr, store_option


def cmd_demo(args) -> int:
    window = check_scene_options(args, "demo")
    apply_look(args)
    _need_rig(args.scene, "twin3d demo", "the demo runs the simulated rig")
    if window == "none":
        from twin3d.live.demo import run_demo

        if not args.json:
            print("twin3d demo: no display, so the live twin runs headless (status lines); "
                  "for pictures use --window offscreen --frames N --screenshot F.png")
        summary = run_demo(args.scene, seconds=args.seconds, out=None if args.json else print,
                           store=args.store, say=say_stderr, profile=args.profile,
                           calibrate=not args.no_calibration)
        if args.json:
            emit(summary)
        return 0
    from twin3d.physics import warmup
    from twin3d.view.app import run_scene
    from twin3d.scenefile.profiles import load_user_scene

    warmup()
    scene = load_user_scene(args.scene)
    if args.kiosk:  # the tour brings its own feeds (modes, run-up, earthquake)
        from twin3d.live.feeds import SimFeed

        feed = SimFeed(scene)
    else:  # the live twin on the in-process rig, with the scripted operator
        from twin3d.live.demo import make_demo_feed

        feed = make_demo_feed(scene, profile=args.profile, calibrate=not args.no_calibration)
        attach_history(feed, args.store)
    try:
        summary = run_scene(scene, feed, window, args.size, args.frames, args.screenshot,
                            args.kiosk, args.fullscreen,
                            say=(lambda s: None) if args.json else print,
                            layout_report=args.layout_report, **screen_output(args, "demo"))
    finally:
        close = getattr(feed, "close", None)
        if close:
            close()
    if args.json:
        emit(summary)
    return 0


def cmd_run(args) -> int:
    window = check_scene_options(args, "run")
    apply_look(args)
    if window == "none":
        raise UsageError("twin3d run: the scene needs a window (allowed: --window onscreen | "
                         "offscreen); `twin3d monitor` runs ingest without one")
    from twin3d.view.app import run_scene
    from twin3d.scenefile.profiles import load_user_scene

    from twin3d.io.mqtt_link import redact_url
    from twin3d.protocol.audit import AuditLog
    from twin3d.live.sources import open_source
    from twin3d.live.live_feed import LiveFeed

    scene = load_user_scene(args.scene)
    try:
        source = open_source(args.source, scene)
    except (ValueError, FileNotFoundError) as e:
        raise UsageError(f"twin3d run: --source: {e}") from None
    # commands sent from the scene's motor panel are audited like `twin3d cmd`'s
    audit = AuditLog("twin", source=redact_url(args.source)) \
        if hasattr(source, "ack_listeners") else None
    feed = LiveFeed(source, scene, audit=audit, profile=args.profile)
    attach_history(feed, args.store)
    try:
        summary = run_scene(scene, feed, window, args.size, args.frames, args.screenshot,
                            args.kiosk, args.fullscreen,
                            say=(lambda s: None) if args.json else print,
                            layout_report=args.layout_report, **screen_output(args, "run"))
    finally:
        feed.close()
        if audit is not None:
            audit.close()
    if args.json:
        emit(summary)
    return 0


def cmd_render(args) -> int:
    from twin3d.scenefile.profiles import load_user_scene

    scene = load_user_scene(args.scene)
    n_modes = scene.n_storeys + (1 if scene.loading().has_base else 0)  # base DOF: one more
    if args.mode is not None and not 1 <= args.mode <= n_modes:
        raise UsageError(f"twin3d render: --mode out of range (got {args.mode}, allowed "
                         f"1..{n_modes})")
    if args.gif and args.mode is None:
        raise UsageError("twin3d render: --gif animates a mode: give --mode K")
    if args.gif and args.layout_report:
        raise UsageError("twin3d render: --layout-report is for a still (drop --gif)")
    stereo = stereo_setup(args, "render")
    apply_look(args)
    if args.gif:
        from twin3d.view.render import render_gif

        out = render_gif(scene, args.out, args.mode, size=args.size, stereo=stereo)
    else:
        from twin3d.view.render import render

        out = render(scene, args.out, mode=args.mode, size=args.size, stereo=stereo,
                     layout_report=args.layout_report)
    if args.json:
        emit({"out": str(out), "mode": args.mode, "size": list(args.size), "gif": args.gif})
    else:
        print(f"wrote {out}")
    return 0


def _need_rig(scene_name: str, command: str, why: str) -> None:
    """Refuse (one line, exit 2) a command that needs the rig on a structure-only scene."""
    from twin3d.scenefile.records import load_scene

    if not load_scene(scene_name).has_rig:
        raise UsageError(f"{command}: {why}, and scene {scene_name!r} has no [motor] and "
                         "[crank] (a structure alone: try `twin3d render`, `twin3d modes`)")


# --- twin3d scene new ----------------------------------------------------------------------

def _values(text: str, flag: str, n: int, lo: float, unit: str, zero_ok: bool = False
            ) -> tuple[float, ...]:
    """One value (every storey) or N comma-separated values, each finite and > lo (>= with
    zero_ok)."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise UsageError(f"twin3d scene new: {flag}: not a number list (got {text!r}, "
                         f"allowed one value or {n} comma-separated values in {unit})") from None
    if len(vals) == 1:
        vals = vals * n
    if len(vals) != n:
        raise UsageError(f"twin3d scene new: {flag}: {len(parts)} values for {n} storeys "
                         f"(allowed one value or {n})")
    for v in vals:
        if not math.isfinite(v) or v < lo or (v == lo and not zero_ok):
            raise UsageError(f"twin3d scene new: {flag}: out of range (got {v:g}, allowed "
                             f"{'>=' if zero_ok else '>'} {lo:g} {unit})")
    return tuple(vals)


def _excitation(text: str, n: int, mass: tuple[float, ...]):
    """base_acceleration | floor_force:K | base_force[:m=KG,k=N_PER_M,c=NS_PER_M]."""
    from twin3d.physics.shear_frame import Loading

    form = ("allowed base_acceleration | floor_force:K | base_force[:m=KG,k=N_PER_M,c=NS_PER_M]")
    kind, _, rest = str(text).partition(":")
    if kind == "base_acceleration" and not rest:
        return Loading()
    if kind == "floor_force":
        try:
            floor = int(rest)
        except ValueError:
            raise UsageError(f"twin3d scene new: --excitation: floor_force needs its floor "
                             f"(got {text!r}, allowed floor_force:1..{n})") from None
        if not 1 <= floor <= n:
            raise UsageError(f"twin3d scene new: --excitation: no such floor (got {floor}, "
                             f"allowed 1..{n})")
        return Loading("floor_force", floor)
    if kind == "base_force":
        base = {"m": float(np.mean(mass)), "k": 0.0, "c": 0.0}
        for item in filter(None, rest.split(",")):
            key, eq, val = item.partition("=")
            try:
                v = float(val)
            except ValueError:
                v = math.nan
            if key not in base or not eq or not math.isfinite(v) or v < 0 or (key == "m" and
                                                                             v == 0):
                raise UsageError(f"twin3d scene new: --excitation: bad base value {item!r} "
                                 "(allowed m=KG > 0, k=N_PER_M >= 0 (0: free base), "
                                 "c=NS_PER_M >= 0)")
            base[key] = v
        return Loading("base_force", 0, base["m"], base["k"], base["c"])
    raise UsageError(f"twin3d scene new: --excitation: unknown (got {text!r}, {form})")


def cmd_scene_new(args) -> int:
    import os
    import tempfile

    from twin3d.physics.shear_frame import modes
    from twin3d.scenefile.new_scene import DEFAULT_HEIGHT_M, FrameSpec, scene_text
    from twin3d.scenefile.records import load_scene
    from twin3d.scenefile.schema import SchemaError

    n = args.storeys
    if args.out.suffix != ".toml":
        raise UsageError(f"twin3d scene new: --out: a scene file ends in .toml (got "
                         f"{str(args.out)!r})")
    mass = _values(args.mass, "--mass", n, 0.0, "kg")
    stiffness = _values(args.stiffness, "--stiffness", n, 0.0, "N/m")
    damping = None if args.damping is None else \
        _values(args.damping, "--damping", n, 0.0, "N s/m", zero_ok=True)
    heights = _values(args.height or str(DEFAULT_HEIGHT_M), "--height", n, 0.0, "m")
    loading = _excitation(args.excitation, n, mass)
    name = args.name or args.out.stem
    spec = FrameSpec(name, mass, stiffness, damping, heights, loading, args.rate)
    text = scene_text(spec)
    # written beside its destination, validated, then renamed: nothing half-written
    fd, tmp = tempfile.mkstemp(prefix=f".{args.out.stem}-", suffix=".toml",
                               dir=args.out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            scene = load_scene(tmp)
        except SchemaError as e:  # a value the options let through but the scene refuses
            raise UsageError(f"twin3d scene new: {e.problem} at {e.key}"
                             + (f" (allowed {e.allowed})" if e.allowed else "")) from None
        os.replace(tmp, args.out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    freqs = modes(scene.model(), scene.loading()).frequencies_hz
    # the frame's mesh, generated now into the cache every view and `serve` draws from
    from twin3d.paths import ASSETS
    from twin3d.scenefile.meshes import generated_glb, generated_parts

    folder = ASSETS / "generated"
    generated_parts(scene.data.geometry, folder, rig=False)
    mesh = generated_glb(scene.data.geometry, folder, rig=False)
    summary = {"out": str(args.out), "n_storeys": n, "excitation": loading.kind,
               "rate_hz": scene.data.sampling.rate_hz, "modes_hz": [float(f) for f in freqs],
               "sensors": list(scene.data.sensors),
               "mesh": str(mesh) if mesh.is_file() else None}
    if args.json:
        emit(summary)
    else:
        print(f"wrote {args.out}: {n} storeys, {loading.kind}, "
              f"{scene.data.sampling.rate_hz:g} Hz, modes "
              + ", ".join(f"{f:.3g}" for f in freqs) + " Hz")
    return 0


def register(add) -> None:
    d = add("demo", cmd_demo, "the simulated rig running a scripted show")
    scene_options(d)
    store_option(d)
    d.add_argument("--seconds", type=number(0, 7 * 86400.0, lo_open=True), default=40.0,
                   help="headless: seconds to run (the scripted operator's show takes 40)")
    profile_option(d)
    d.add_argument("--no-calibration", action="store_true",
                   help="keep the starting model (the demo calibrates itself by default)")
    u = add("run", cmd_run, "the 3D scene on a source: sim, mqtt://HOST:PORT[/RIG], "
            "serial:///dev/ttyX or replay:PATH")
    u.add_argument("--source", default="sim")
    profile_option(u)
    scene_options(u)
    store_option(u)
    r = add("render", cmd_render, "an offscreen picture of the scene (no display needed)")
    r.add_argument("--out", required=True, type=out_file, help="PNG file to write")
    r.add_argument("--mode", type=int, help="draw mode K's shape (1-based)")
    r.add_argument("--gif", action="store_true", help="one animated cycle of --mode K (GIF)")
    r.add_argument("--size", type=window_size, default=(1920, 1080), help="WxH pixels")
    stereo_options(r)
    layout_report_option(r)
    look_options(r)
    sc = add("scene", None, "scene files: `scene new` writes a structure-only scene",
             computes=False)
    verbs = sc.add_subparsers(dest="verb", parser_class=Parser, required=True)
    new = verbs.add_parser("new", help="write a structure-only scene file (N storeys)",
                           description="A shear frame alone (no motor, crank or actuator): "
                           "one chain profile, an accelerometer per floor, a generated frame.")
    new.set_defaults(func=cmd_scene_new)
    new.add_argument("--storeys", type=number(1, 20, integer=True), required=True,
                     help="number of storeys, 1..20")
    new.add_argument("--mass", required=True, help="KG or KG,KG,... (one per storey)")
    new.add_argument("--stiffness", required=True, help="N_PER_M or one per storey")
    new.add_argument("--damping", help="NS_PER_M or one per storey (default: stiffness-"
                     "proportional, 2 %% on the first flexible mode)")
    new.add_argument("--height", help="storey height M or one per storey (default 3)")
    new.add_argument("--excitation", default="base_acceleration",
                     help="base_acceleration | floor_force:K | base_force[:m=KG,k=N_PER_M,"
                     "c=NS_PER_M] (k=0: free base)")
    new.add_argument("--rate", type=number(10.0, 10000.0), default=None,
                     help="sampling rate, Hz (default: a round rate >= 5x the top mode)")
    new.add_argument("--name", help="scene name (default: the file's stem)")
    new.add_argument("--out", type=out_file, required=True, help="FILE.toml to write")
    new.add_argument("--json", action="store_true", help="print one JSON object")
