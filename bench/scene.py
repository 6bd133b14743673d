"""Scene figures: the per-frame update of the deformed structure's vertex buffers, and the
whole frame of the default scene at 1280x720 offscreen.

Ursina is a per-process singleton, so the measurement runs in a subprocess (this module's
`_child`, via sys.executable) that prints one JSON object; the bench process never starts
Ursina. Both paths of each figure are timed in that same subprocess, on the same mesh."""

from __future__ import annotations

import sys

import numpy as np

from twin3d.bench import figure, scene_child


def _generate_show(view):
    """Ursina's own path for what RigView.show does: the same numpy sway map, normals and drift
    colours, then mesh.vertices/normals/colors = flat arrays and mesh.generate()."""
    from twin3d.scenefile.meshes import sway_displacement
    from twin3d.view.colours import drift_colours
    from twin3d.view.vertex_buffers import column_view, face_normals

    mesh = view.entities["structure"].model
    base_v = view.base_vertices["structure"]
    base_n = column_view(mesh, "normal").copy()
    base_c = view.base_colours
    rows, inside = view.leg_rows, view.leg_storey >= 0

    def show(q, theta=0.0, x_g=0.0, drift_ratio=None, damaged_storeys=(), magnification=1.0,
             drift_limit_m=None):  # the default drift colouring, as RigView.show draws it
        v = base_v.copy()
        v[:, 0] += sway_displacement(view.j0, view.j1, view.w1, q).astype(np.float32)
        n = base_n.copy()
        n[rows] = -face_normals(v[rows])  # as RigView.show: Ursina's winding
        c = base_c.copy()
        if drift_ratio is not None:
            leg = c[rows]
            leg[inside] = drift_colours(np.asarray(drift_ratio)[view.leg_storey[inside]])
            c[rows] = leg
        mesh.vertices = v.ravel()
        mesh.normals = n.ravel()
        mesh.colors = c.ravel()
        mesh.generate()
        view.pose_rigid(q, theta, x_g)

    return show


def _child(updates: int, warmup: int, frames: int) -> dict:
    """In the subprocess: the default scene (SimFeed at 300 rpm, plots and panels on) at
    1280x720 offscreen; whole-frame times with our update and with generate(), then the update
    call alone on the structure mesh, both ways."""
    import time

    from twin3d.view import engine

    engine.start("offscreen", (1280, 720))
    from twin3d.live.feeds import SimFeed
    from twin3d.physics import warmup as physics_warmup
    from twin3d.view.app import TwinApp
    from twin3d.scenefile.records import load_scene

    physics_warmup()
    scene = load_scene()
    feed = SimFeed(scene)
    ok, msg = feed.set_speed(300.0)
    assert ok, msg
    app = TwinApp(scene, feed, "offscreen", (1280, 720), plots=True, panels=True)
    view = app.view
    ours_show = view.show
    gen_show = _generate_show(view)
    out: dict = {"n_vertices": int(view.base_vertices["structure"].shape[0]),
                 "n_leg_vertices": int(view.leg_rows.size)}

    def frame_time(n):
        t0 = time.perf_counter()
        app.step(n)
        return (time.perf_counter() - t0) / n

    app.step(warmup)
    out["frame_ours"] = frame_time(frames)
    view.show = gen_show
    app.step(max(3, warmup // 4))
    out["frame_generate"] = frame_time(frames)
    view.show = ours_show
    out["speed_rpm"] = float(app.state.speed_rpm)

    # the update call alone, same q sequence, same mesh
    n = scene.n_storeys
    shape = np.linspace(1.0, 2.0, n + 1)
    shape[0] = 0.2
    qs = [0.03 * np.sin(0.37 * i) * shape for i in range(updates)]
    drifts = [np.abs(np.sin(0.11 * i + np.arange(n))) for i in range(updates)]

    def block(show):
        t0 = time.perf_counter()
        for q, d in zip(qs, drifts):
            show(q, 0.01, q[0], d)
        return (time.perf_counter() - t0) / updates

    for show in (ours_show, gen_show, ours_show):  # warm both (first calls allocate)
        show(qs[0], 0.0, 0.0, drifts[0])
    out["update_ours"] = min(block(ours_show) for _ in range(3))
    out["update_generate"] = min(block(gen_show) for _ in range(3))

    # the buffer mechanism alone: the same three arrays written into the columns vs handed
    # to Ursina and regenerated (what is left when the numpy work above is taken out)
    from twin3d.view.vertex_buffers import column_view

    mesh = view.entities["structure"].model
    v, nrm, col = (column_view(mesh, c).copy() for c in ("vertex", "normal", "color"))
    fv, fn, fc = v.ravel(), nrm.ravel(), col.ravel()

    def write():
        column_view(mesh, "vertex")[:] = v
        column_view(mesh, "normal")[:] = nrm
        column_view(mesh, "color")[:] = col

    def generate():
        mesh.vertices, mesh.normals, mesh.colors = fv, fn, fc
        mesh.generate()

    def timed(fn):
        fn()
        t0 = time.perf_counter()
        for _ in range(updates):
            fn()
        return (time.perf_counter() - t0) / updates

    out["write_ours"] = min(timed(write) for _ in range(3))
    out["write_generate"] = min(timed(generate) for _ in range(3))
    return out


def bench_scene(updates: int, warmup: int, frames: int) -> list[dict]:
    m = scene_child(__name__, f"_child({updates}, {warmup}, {frames})", "scene bench")
    nv = m["n_vertices"]
    return [
        figure(f"structure vertex update ({nv} vertices: sway, normals, drift colours), "
               f"per update, best of 3 blocks of {updates}", m["update_ours"], m["update_generate"],
               "Ursina: mesh.vertices/normals/colors = arrays + mesh.generate()", "s", 5.0),
        figure(f"structure buffer upload alone ({nv} vertices: position, normal, colour "
               f"columns), per update", m["write_ours"], m["write_generate"],
               "mesh.vertices/normals/colors = same arrays + mesh.generate()", "s", 5.0),
        figure(f"whole frame 1280x720 offscreen, default scene (SimFeed "
               f"{m['speed_rpm']:.0f} rpm, plots + panels), mean of {frames} frames",
               m["frame_ours"], 1.0 / 30.0, "the 30 fps goal (1/30 s per frame)", "s/frame",
               1.0),
        figure(f"whole frame 1280x720 offscreen, default scene, mean of {frames} frames",
               m["frame_ours"], m["frame_generate"],
               "same scene, structure updated by Ursina's mesh.generate()", "s/frame", 1.0),
    ]


def steps(quick: bool) -> list:
    updates, warmup, frames = (100, 20, 60) if quick else (400, 60, 120)
    return [("scene vertex update and whole frame",
             lambda: bench_scene(updates, warmup, frames))]
