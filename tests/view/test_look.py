"""The rig's shaded look (view/lighting.py, view/materials.py): materials reach the shader,
normals are smooth on cylinders and sharp on boxes, triangles face out in Ursina's axes, and an
offscreen render shows a lit floor, soft shadows and clean slab tops."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from twin3d.scenefile.meshes import COLOURS, rig_parts
from twin3d.scenefile.records import load_scene
from twin3d.view.materials import MATERIALS, decode_uv, material_uv
from twin3d.view.vertex_buffers import crease_normals, face_normals


def test_every_part_kind_has_a_material_that_survives_the_uv_packing():
    assert set(COLOURS) <= set(MATERIALS)
    for kind, m in MATERIALS.items():
        axis, metallic, rough = decode_uv(np.array(material_uv(kind)))
        assert axis == m.brush, kind
        assert metallic == pytest.approx(min(m.metallic, 0.999), abs=1e-9), kind
        assert rough == pytest.approx(m.roughness), kind
    # the frame is brushed aluminium, the painted base plate is not metal
    assert MATERIALS["leg"].brush and MATERIALS["leg"].metallic > 0.5
    assert MATERIALS["base"].metallic == 0.0


def test_cylinders_shade_round_and_boxes_keep_sharp_edges():
    cyl = trimesh.creation.cylinder(radius=1.0, height=1.0, sections=32)
    n = crease_normals(cyl)
    fn = cyl.face_normals
    side = np.abs(fn[:, 2]) < 0.1  # faces of the side (axis along z)
    corners = cyl.vertices[cyl.faces[side]]
    radial = corners[..., :2] / np.linalg.norm(corners[..., :2], axis=-1, keepdims=True)
    # a side corner's normal points straight out from the axis, not along its facet
    np.testing.assert_allclose(n[side][..., :2], radial, atol=1e-6)
    np.testing.assert_allclose(n[side][..., 2], 0.0, atol=1e-9)
    # the caps stay flat: the rim is a crease
    np.testing.assert_allclose(n[~side], np.repeat(fn[~side][:, None], 3, axis=1), atol=1e-9)
    box = trimesh.creation.box(extents=(1, 2, 3))
    np.testing.assert_allclose(crease_normals(box),
                               np.repeat(box.face_normals[:, None], 3, axis=1), atol=1e-12)


def test_drawn_triangles_agree_with_their_normals_in_ursinas_winding():
    """RigView winds trimesh's triangles the other way (Ursina's axes are left-handed); its
    per-frame normals are the negated right-handed face normals of the wound triangles."""
    from twin3d.view.rig_view import URSINA_WINDING

    for p in rig_parts(load_scene().data.geometry):
        v = p.mesh.vertices[p.mesh.faces[:, URSINA_WINDING]].reshape(-1, 3)
        drawn = -face_normals(v)
        np.testing.assert_allclose(drawn, np.repeat(p.mesh.face_normals, 3, axis=0), atol=1e-6)


def _shots(out_dir: str) -> dict:
    """Runs in a subprocess (run_scene_script): the default scene at rest, 640x360, shaded,
    with and without shadows; where the top of floor 3 lands on screen."""
    from pathlib import Path

    from twin3d.view import engine

    engine.start("offscreen", (640, 360))
    from twin3d.live.feeds import ModeFeed
    from twin3d.scenefile.meshes import floor_heights
    from twin3d.view.app import TwinApp
    from ursina import Vec3, camera

    scene = load_scene()
    feed = ModeFeed(scene, 1, slow=1e9, amplitude_m=0.0)
    app = TwinApp(scene, feed, "offscreen", (640, 360), plots=False, panels=False)
    app.step(3)
    out = Path(out_dir)
    app.screenshot(out / "shadows.png")
    # the floor shaded per pixel by the rig's shader: the reference for its per-vertex lighting
    from twin3d.view.lighting import pbr_shader

    floor = app.floor.floor
    fade = floor.get_shader_input("fade_range")
    floor.shader = pbr_shader
    floor.set_shader_input("fade_range", fade)
    app.step(2)
    app.screenshot(out / "floor_per_pixel.png")
    for e in app.view.entities.values():
        e.set_shader_input("use_shadows", 0.0)
    app.step(2)
    app.screenshot(out / "no_shadows.png")
    g = scene.data.geometry
    top = Vec3(0, float(floor_heights(g)[-1] + g.floor_size_m[2] / 2), 0)
    from panda3d.core import Point2, Point3

    p = camera.getRelativePoint(app.app.render, Point3(*top))
    film = Point2()
    assert app.app.camLens.project(p, film)
    texel = app.view.sun.fit(list(app.view.entities.values()))
    return {"look": app.view.look, "texel_m": texel,
            "top_px": [(film.x + 1) / 2 * 640, (1 - film.y) / 2 * 360]}


@pytest.fixture(scope="module")
def shots(tmp_path_factory, run_scene_script):
    from PIL import Image

    out = tmp_path_factory.mktemp("look")
    facts = run_scene_script(__file__, out, func="_shots")
    load = lambda name: np.asarray(Image.open(out / name).convert("RGB"), dtype=float)  # noqa: E731
    return facts, load("shadows.png"), load("no_shadows.png"), load("floor_per_pixel.png")


def test_render_lights_the_slab_top_and_the_floor(shots):
    facts, img, _, _ = shots
    assert facts["look"] == "pbr"
    # the shadow map is fitted to the rig (under a mm per texel), not to the 4 m floor
    # (Ursina's refit: 4 m / 1024 = 3.9 mm, the acne behind the leg striping)
    assert 0 < facts["texel_m"] < 1e-3
    x, y = (int(round(c)) for c in facts["top_px"])
    patch = img[y - 4:y + 5, x - 4:x + 5].mean(axis=2)
    background = img[3, 320].mean()
    # the top of the top slab faces the camera and the sky: bright, even (no acne dashes);
    # wound the wrong way round, the slab's underside would be seen from inside (dark)
    assert patch.mean() > background + 80, (patch.mean(), background)
    assert patch.std() < 6, patch
    # the lab floor in front of the rig is drawn, lit, not the window's background
    floor = img[250:290, 20:80].mean()  # left of the base plate, above the legend
    assert floor > background + 25, (floor, background)


def test_render_casts_soft_shadows(shots):
    _, lit, flat, _ = shots
    diff = flat.mean(axis=2) - lit.mean(axis=2)
    shadowed = diff > 12
    assert 0.005 < shadowed.mean() < 0.4  # shadows fall somewhere, not everywhere
    assert (diff < -12).mean() < 0.002  # shadows only darken
    # soft edges: between full shadow and full light there are intermediate levels
    levels = diff[(diff > 3)]
    assert np.mean(levels < 0.5 * levels.max()) > 0.1


def test_displacement_colours_run_from_rest_grey_to_yellow_and_differ_from_drift():
    from twin3d.view.colours import (DISPLACEMENT_COLOURS, DRIFT_COLOURS, displacement_colours,
                                     drift_colours)

    c = displacement_colours(np.array([0.0, 0.25, 0.5, 1.0, 3.0, -1.0]))
    np.testing.assert_allclose(c[0], DISPLACEMENT_COLOURS[0])
    np.testing.assert_allclose(c[3:], np.tile(DISPLACEMENT_COLOURS[-1], (3, 1)))  # clipped, |r|
    assert np.all(np.diff(c[:4, 2]) <= 0)  # blue falls steadily as displacement grows
    # a full-scale displacement and a drift at its limit never share a colour
    assert np.abs(displacement_colours(1.0) - drift_colours(1.0)).sum() > 0.5
    assert not np.allclose(DISPLACEMENT_COLOURS[1:], DRIFT_COLOURS[1:])


def test_ghost_outlines_are_the_sharp_edges_only():
    from twin3d.scenefile.meshes import _box
    from twin3d.view.vertex_buffers import feature_edges

    box = trimesh.creation.box(extents=(1, 2, 3))
    assert feature_edges(box).shape == (12, 2, 3)
    leg = _box((0.003, 0.6, 0.025), (0, 0.3, 0), 40)  # a leg in 40 bands: still 4 long edges
    e = feature_edges(leg)
    length = np.linalg.norm(e[:, 1] - e[:, 0], axis=1)
    assert np.isclose(length, 0.6 / 40).sum() == 4 * 40 and len(e) == 4 * 40 + 8


def _render_cli(tmp_path, *args, report=None):
    import subprocess
    import sys

    from PIL import Image

    out = tmp_path / f"r{'_'.join(a.strip('-') for a in args) or 'plain'}.png"
    extra = ["--layout-report", str(report)] if report else []
    r = subprocess.run([sys.executable, "-m", "twin3d", "render", "--out", str(out), "--size",
                        "480x270", "--mode", "2", *args, *extra], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return np.asarray(Image.open(out).convert("RGB"), dtype=float)


@pytest.mark.slow
def test_ghost_and_displacement_colour_options_change_the_picture(tmp_path):
    plain = _render_cli(tmp_path)
    ghost = _render_cli(tmp_path, "--ghost")
    colour = _render_cli(tmp_path, "--colour", "displacement", report=tmp_path / "lay.json")
    # the ghost adds faint lines where the frame stood at rest: a few per cent of the pixels
    changed = np.abs(ghost - plain).sum(axis=2) > 30
    assert 0.002 < changed.mean() < 0.1
    # the ghost's lines are light blue: bluer than what they cover
    assert (ghost[changed][:, 2] - plain[changed][:, 2]).mean() > 10
    # displacement colours the slabs too (drift colours only the legs): a wider change
    recoloured = np.abs(colour - plain).sum(axis=2) > 30
    assert recoloured.mean() > 0.01
    # and the legend names the map the frame is drawn with, in its full scale
    import json

    legend = [e["text"] for e in json.loads((tmp_path / "lay.json").read_text())["elements"]
              if e["region"] == "legend"]
    assert "sway from the base (true, mm)" in legend and "9.0" in legend, legend


def test_an_unknown_colour_map_is_a_usage_error(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "twin3d", "render", "--out",
                        str(tmp_path / "x.png"), "--colour", "heat"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "--colour: invalid choice: 'heat'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_motion_scale_magnifies_the_bending_apart_from_the_table_travel():
    from twin3d.view.magnifier import MotionScale

    m = MotionScale(target_m=0.06)
    for _ in range(5):  # the table travels 12 mm, the frame bends 0.3 mm
        q = m.update(0.012, np.array([0.0001, 0.0002, 0.0003]), 1 / 60)
    assert m.table_factor == 5 and m.factor == 200
    np.testing.assert_allclose(q, [0.06, 0.08, 0.1, 0.12])
    assert m.label == "x200 (table x5)"
    m.reset()
    for _ in range(5):  # the lab rig at resonance: the table moves less than the floors
        q = m.update(0.0002, np.array([0.002, 0.004, 0.005]), 1 / 60)
    assert m.factor == m.table_factor == 10 and m.label == "x10"
    np.testing.assert_allclose(q, 10 * np.array([0.0002, 0.0022, 0.0042, 0.0052]))


def test_the_kiosk_earthquake_visibly_bends_the_frame():
    """Over the tour's earthquake, the drawn bending (top floor relative to the table) is a
    good fraction of the frame's height most of the time, not the 0.7 mm median that one
    factor for table and frame (fitted to the table's 12 mm travel) drew."""
    from twin3d.physics import warmup
    from twin3d.scenefile.meshes import floor_heights
    from twin3d.view.kiosk import earthquake_step
    from twin3d.view.magnifier import MotionScale

    warmup()
    scene = load_scene()
    g = scene.data.geometry
    height = float(floor_heights(g)[-1] + g.floor_size_m[2] / 2)
    feed = earthquake_step(scene).make_feed()
    scale = MotionScale(target_m=0.1 * height)  # as TwinApp builds it
    bend = []
    for _ in range(12 * 60):
        s = feed.step(1 / 60)
        q = scale.update(s.table_disp_m, np.asarray(s.floor_disp_m), 1 / 60)
        bend.append(abs(q[-1] - q[0]))
    assert np.median(bend) > 0.01 * height  # 6 mm and more on a 0.6 m frame
    assert max(bend) <= 0.1 * height * 1.01  # and never beyond the target: on screen


def test_the_floor_lit_per_vertex_looks_as_lit_per_pixel(shots):
    """The floor is lit per vertex of its grid and only shadowed and faded per pixel
    (view/lighting.py): the render matches the floor shaded per pixel by the rig's own shader,
    shadows included, within a few of 255 levels."""
    _, per_vertex, _, per_pixel = shots
    diff = np.abs(per_vertex - per_pixel).max(axis=2)
    floor = per_pixel[250:290, 20:80]
    assert floor.mean() > per_pixel[3, 320].mean() + 25  # the compared floor is lit
    assert diff.max() <= 6, diff.max()
    assert (diff > 2).mean() < 0.01
