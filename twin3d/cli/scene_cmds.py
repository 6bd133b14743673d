"""`twin3d demo`, `twin3d run` and `twin3d render`: the 3D scene on the simulated rig, on a
source, or as one offscreen picture."""

from __future__ import annotations

from pathlib import Path

from twin3d.cli.common import (UsageError, check_scene_options, emit, number, out_file,
                               profile_option, scene_options, window_size)
from twin3d.cli.history_cmds import attach_history, say_stderr, store_option


def cmd_demo(args) -> int:
    window = check_scene_options(args, "demo")
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
                            say=(lambda s: None) if args.json else print)
    finally:
        close = getattr(feed, "close", None)
        if close:
            close()
    if args.json:
        emit(summary)
    return 0


def cmd_run(args) -> int:
    window = check_scene_options(args, "run")
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
                            say=(lambda s: None) if args.json else print)
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
