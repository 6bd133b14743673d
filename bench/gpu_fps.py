"""Frame rate on a graphics card (issue 14's goals: the kiosk at >= 60 fps at 1920x1080 and
>= 30 fps at 3840x2160, stereo >= 0.55x of mono), measured only where the GL renderer is a GPU:
on software GL (llvmpipe) these goals mean nothing and the step says so and measures nothing
(the look's cost there is bench/look.py's figure).

Ursina is a per-process singleton: the renderer check and each size run in a subprocess
(`scene_child`). Frames are read back before and after each timed block, so queued work is
inside the time (bench/look.py)."""

from __future__ import annotations

import sys

from twin3d.bench import figure, scene_child


def _child_renderer() -> dict:
    from twin3d.view import engine

    engine.start("offscreen", (64, 64))
    return {"renderer": engine.renderer(), "software": engine.software_gl()}


def _child(w: int, h: int, warmup: int, frames: int) -> dict:
    """The kiosk (a mode step, the rig shaded) at w x h: mono, then side-by-side stereo, s per
    frame."""
    import time

    from bench.immersion import kiosk_app
    from twin3d.view import engine
    from twin3d.view.stereo import StereoOutput, Viewing

    app = kiosk_app((w, h))
    out = {}
    for mode in ("mono", "side-by-side"):
        if mode != "mono":
            StereoOutput(mode, Viewing(), lambda: app.camera.distance).enable()
        app.step(warmup)
        engine.pixels()
        t0 = time.perf_counter()
        app.step(frames)
        engine.pixels()
        out[mode] = (time.perf_counter() - t0) / frames
    return out


def bench_gpu(warmup: int, frames: int) -> list[dict]:
    gl = scene_child(__name__, "_child_renderer()", "GL renderer")
    renderer = gl["renderer"]
    if gl["software"]:
        # stderr: with --json, stdout holds exactly one JSON object
        print(f"  gpu fps: not measured, the GL renderer is software ({renderer})",
              file=sys.stderr)
        return []
    out = []
    for (w, h), goal_fps in (((1920, 1080), 60.0), ((3840, 2160), 30.0)):
        m = scene_child(__name__, f"_child({w}, {h}, {warmup}, {frames})", f"gpu fps {w}x{h}")
        out.append(figure(f"kiosk frame {w}x{h} on {renderer}, mono, mean of {frames} frames "
                          f"read back", m["mono"], 1.0 / goal_fps,
                          f"the {goal_fps:g} fps goal", "s/frame", 1.0))
        out.append(figure(f"kiosk frame {w}x{h} on {renderer}, side-by-side stereo vs mono",
                          m["side-by-side"], m["mono"], "mono, same run", "s/frame", 0.55))
    return out


def steps(quick: bool) -> list:
    warmup, frames = (20, 60) if quick else (60, 300)
    return [("gpu fps: kiosk at 1920x1080 and 3840x2160, mono and stereo (a GPU only)",
             lambda: bench_gpu(warmup, frames))]
