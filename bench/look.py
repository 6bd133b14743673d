"""Look figures: the whole frame at 1920x1080 offscreen with the shaded look (metal materials,
soft shadows: view/lighting.py) vs the classic look it replaced (Ursina's
lit_with_shadows_shader, kept as view/materials.py LOOK.shading "classic"), in the kiosk and in the
operator view. Goal: the new look costs at most 1.5x the classic frame.

Ursina is a per-process singleton and a look is chosen when the rig is built, so each
(view, look) is one subprocess (this module's `_child`); the looks are run alternately, twice
each, and the best mean of each kept (the least disturbed by a shared machine)."""

from __future__ import annotations

from twin3d.bench import figure, scene_child

SIZE = (1920, 1080)


def _child(view: str, look: str, warmup: int, frames: int) -> dict:
    """In the subprocess: build `view` ("kiosk" or "operator") with `look`, step `warmup`
    frames, then the mean of `frames` frames, s, the frame read back before and after: software
    GL queues frames and renders them in bursts (stalls of ~0.8 s every 6-8 frames), and a look
    whose shadow pass forces a flush would otherwise be timed against one whose work is still
    queued when the clock stops."""
    import time

    from twin3d.view import engine

    engine.start("offscreen", SIZE, fullscreen=view == "kiosk")
    from twin3d.view.materials import LOOK

    LOOK.shading = look
    if view == "kiosk":
        from bench.immersion import kiosk_app

        app = kiosk_app(SIZE)
    else:
        from twin3d.live.feeds import SimFeed
        from twin3d.physics import warmup as physics_warmup
        from twin3d.scenefile.records import load_scene
        from twin3d.view.app import TwinApp

        physics_warmup()
        scene = load_scene()
        feed = SimFeed(scene)
        ok, msg = feed.set_speed(300.0)
        assert ok, msg
        app = TwinApp(scene, feed, "offscreen", SIZE, plots=True, panels=True)
    assert app.view.look == look
    app.step(warmup)
    engine.pixels()  # drain the queue
    t0 = time.perf_counter()
    app.step(frames)
    engine.pixels()
    return {"frame_s": (time.perf_counter() - t0) / frames,
            "shadow_every": app.view.sun.every if look == "pbr" else 1}


def _run(view: str, look: str, warmup: int, frames: int) -> dict:
    return scene_child(__name__, f"_child({view!r}, {look!r}, {warmup}, {frames})",
                       f"look bench ({view}, {look})")


def bench_look(warmup: int, frames: int, rounds: int) -> list[dict]:
    out = []
    for view in ("kiosk", "operator"):
        best = {"pbr": float("inf"), "classic": float("inf")}
        for _ in range(rounds):
            for look in ("classic", "pbr"):
                r = _run(view, look, warmup, frames)
                best[look] = min(best[look], r["frame_s"])
                every = r["shadow_every"]
        out.append(figure(
            f"whole frame {SIZE[0]}x{SIZE[1]} offscreen, {view} view, shaded look (metal "
            f"materials, 2048^2 soft shadows drawn every {every} frames), mean of {frames} "
            f"frames read back, best of {rounds} runs",
            best["pbr"], best["classic"],
            "classic look (Ursina lit_with_shadows_shader, 1024^2 shadows), same view", "s/frame",
            1 / 1.5))
    return out


def steps(quick: bool) -> list:
    warmup, frames, rounds = (6, 24, 1) if quick else (30, 60, 3)
    return [("look: whole frame 1920x1080, kiosk and operator, shaded vs classic",
             lambda: bench_look(warmup, frames, rounds))]
