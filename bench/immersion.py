"""Immersion figures: the kiosk left running (memory after N tour loops vs after one) and the
cost of stereo (each mode's whole frame at 1920x1080 vs mono, same kiosk view, same process).

Ursina is a per-process singleton, so each measurement runs in a subprocess (this module's
`_child_*` via sys.executable) that prints one JSON object. `soak` is also what
tests/view/test_kiosk_soak.py runs: one definition of what "no growth" is measured on."""

from __future__ import annotations

import gc
import os
import time
import tracemalloc
from dataclasses import replace

from twin3d.bench import figure, scene_child


def rss_mb() -> float:
    """This process's resident memory, MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def resources() -> dict:
    """What a leak would grow: memory (resident, and Python's heap with numpy's buffers when
    tracemalloc traces), Python objects, Ursina entities, panda3d nodes, and textures and
    vertex buffers (in the pool and prepared on the graphics card)."""
    from panda3d.core import TexturePool
    from ursina import application, camera, scene

    gc.collect()
    base = application.base
    prepared = base.win.getGsg().getPreparedObjects()
    traced = tracemalloc.get_traced_memory()[0] / 1e6 if tracemalloc.is_tracing() else None
    return {"rss_mb": rss_mb(), "traced_mb": traced, "py_objects": len(gc.get_objects()),
            "entities": len(scene.entities),
            # hidden (stashed) nodes too: a leaked entity is most often a hidden one
            "nodes": sum(len(r.findAllMatches("**;+s")) for r in (base.render, camera.ui)),
            "textures": TexturePool.findAllTextures().getNumTextures(),
            "prepared_textures": prepared.getNumPreparedTextures(),
            "prepared_vertex_buffers": prepared.getNumPreparedVertexBuffers()}


def kiosk_app(size: tuple[int, int], step_s: float | None = None):
    """The kiosk as `twin3d demo --kiosk` builds it (view/app.py run_scene), offscreen; with
    step_s, every tour step shortened to step_s seconds (an accelerated tour)."""
    from twin3d.view import engine

    engine.start("offscreen", size, fullscreen=True)
    from twin3d.live.feeds import SimFeed
    from twin3d.physics import warmup
    from twin3d.scenefile.records import load_scene
    from twin3d.view.app import TwinApp
    from twin3d.view.kiosk import tour

    warmup()
    scene = load_scene()
    app = TwinApp(scene, SimFeed(scene), "offscreen", size, fullscreen=True, panels=False,
                  auto_orbit=True, kiosk=True)
    steps = tour(scene)
    if step_s is not None:
        steps = [replace(s, seconds=step_s) for s in steps]
    app.start_tour(steps)
    return app


def soak(loops: int, frames_per_step: int = 6, size: tuple[int, int] = (320, 180)) -> dict:
    """The accelerated tour looped `loops` times; resources() after each whole loop (the
    tour back at its first step), and the frames per loop. 6 frames a step, 30 a loop: a
    multiple of the shadow pass's period (every 3rd frame on software GL, view/lighting.py),
    so every loop ends at the same point of it (the prepared buffers differ by a few between
    a frame with the pass and one without)."""
    # the offscreen clock advances 1/60 s a frame; half a frame short of n frames, so that
    # the summed time crosses the step's end on its n-th frame whatever the rounding
    app = kiosk_app(size, (frames_per_step - 0.5) / 60)
    frames = frames_per_step * len(app.tour.steps)
    after = []
    tracemalloc.start()  # Python and numpy allocations from here on (render cost dominates)
    for _ in range(loops):
        app.step(frames)
        after.append(resources())
    tracemalloc.stop()
    return {"frames_per_loop": frames, "steps": len(app.tour.steps),
            "tour_index": app.tour.index, "after_loop": after}


def _child_soak(loops: int) -> dict:
    return soak(loops)


def _child_stereo(frames: int, blocks: int) -> dict:
    """Whole-frame times of the kiosk at 1920x1080 in mono and each stereo mode, in interleaved
    blocks (a shared machine's load falls on every mode alike); the median block per mode.
    Each block ends by reading the frame back: software GL queues frames and renders them in
    bursts (a 4-6 s stall every ~16 frames), so only a finished block measures the work."""
    from twin3d.view import engine
    from twin3d.view.stereo import MODES, StereoOutput, Viewing

    app = kiosk_app((1920, 1080))
    outs = {m: StereoOutput(m, Viewing(), lambda: app.camera.distance) for m in MODES}
    times: dict[str, list[float]] = {"mono": [], **{m: [] for m in MODES}}
    app.step(10)
    for _ in range(blocks):
        for mode in times:
            if mode != "mono":
                outs[mode].enable()
            app.step(2)  # settle
            engine.pixels()  # drain the queue
            t0 = time.perf_counter()
            app.step(frames)
            engine.pixels()
            times[mode].append((time.perf_counter() - t0) / frames)
            if mode != "mono":
                outs[mode].disable()
    return {m: sorted(t)[len(t) // 2] for m, t in times.items()}


def _run_child(call: str) -> dict:
    return scene_child(__name__, call, "immersion bench", timeout=900)


def bench_soak(loops: int) -> list[dict]:
    m = _run_child(f"_child_soak({loops})")
    first, last = m["after_loop"][0], m["after_loop"][-1]
    what = (f"kiosk tour looped offscreen at 320x180, {m['steps']} steps of "
            f"{m['frames_per_loop'] // m['steps']} frames")
    f = figure(f"{what}: resident memory after {loops} loops", last["rss_mb"], first["rss_mb"],
               "after 1 loop", "MB", 0.98)  # flat: at most 2 % above the first loop
    f["after_first"], f["after_last"] = first, last
    return [f]


def bench_stereo(frames: int, blocks: int) -> list[dict]:
    m = _run_child(f"_child_stereo({frames}, {blocks})")
    return [figure(f"kiosk whole frame 1920x1080 offscreen, stereo {mode} (ratio = its frame "
                   f"rate over mono's), median of {blocks} blocks of {frames} frames",
                   m[mode], m["mono"], "mono, same view, interleaved blocks", "s/frame", 0.55)
            for mode in m if mode != "mono"]


def steps(quick: bool) -> list:
    loops, frames, blocks = (6, 8, 2) if quick else (25, 32, 4)
    return [("immersion: kiosk soak (memory after N tour loops)", lambda: bench_soak(loops)),
            ("immersion: stereo vs mono frame", lambda: bench_stereo(frames, blocks))]
