"""Offscreen renders (EGL, no display): coarse pixel facts, never exact bytes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image

from twin3d.scenefile.meshes import floor_heights, rig_parts, sway_displacement, sway_weights
from twin3d.scenefile.records import load_scene


def _render(tmp_path, *args):
    out = tmp_path / f"r{'_'.join(args) or 'rest'}.png"
    r = subprocess.run([sys.executable, "-m", "twin3d", "render", "--out", str(out),
                        "--size", "480x270", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return np.asarray(Image.open(out).convert("RGB"), dtype=float)


def test_structure_is_drawn_and_modes_differ(tmp_path):
    m1 = _render(tmp_path, "--mode", "1")
    m2 = _render(tmp_path, "--mode", "2")
    assert m1.shape == (270, 480, 3)
    background = m1[5, 240]  # top-centre strip is the dark window colour
    drawn = np.abs(m1 - background).sum(axis=2) > 60
    assert 0.05 < drawn.mean() < 0.9  # the rig covers a good part of the frame
    # mode 1 sways every floor the same way, mode 2 bends back: the pictures must differ
    assert np.abs(m1 - m2).mean() > 1.0


def test_bad_mode_is_a_usage_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "twin3d", "render", "--out",
                        str(tmp_path / "x.png"), "--mode", "7"], capture_output=True, text=True)
    assert r.returncode == 2 and "--mode out of range (got 7, allowed 1..3)" in r.stderr


def test_sway_map_is_clamped_guided_between_floors():
    g = load_scene().data.geometry
    parts = rig_parts(g)
    assert {p.name for p in parts} >= {"floor1", "floor3", "leg_4", "table", "rotor", "crank"}
    h = floor_heights(g)
    y = np.array([h[0], h[1], h[2], g.base_clearance_m / 2])
    j0, j1, w1 = sway_weights(y, g)
    q = np.array([0.0, 1.0, 2.0, 3.0])  # table, floors 1..3
    np.testing.assert_allclose(sway_displacement(j0, j1, w1, q), [1.0, 2.0, 3.0, 0.0])
    # mid-height of storey 2's free length: Hermite weight 1/2, zero slope at both clamps
    lo = h[0] + g.floor_size_m[2] / 2
    hi = h[1] - g.floor_size_m[2] / 2
    ys = np.array([(lo + hi) / 2, lo + 1e-6, hi - 1e-6])
    d = sway_displacement(*sway_weights(ys, g), q)
    np.testing.assert_allclose(d[0], 1.5, atol=1e-12)
    np.testing.assert_allclose(d[1:], [1.0, 2.0], atol=1e-9)


def _texts_at_rest(out: str) -> dict:
    """Runs in a subprocess (run_scene_script): `twin3d render`'s still at rest; every text
    the scene holds afterwards."""
    from ursina import Text, scene

    from twin3d.scenefile.records import load_scene
    from twin3d.view.render import render

    render(load_scene(), out, size=(480, 270))
    return {"texts": [e.text for e in scene.entities if isinstance(e, Text) and e.enabled]}


def test_still_at_rest_says_at_rest_once(tmp_path, run_scene_script):
    texts = run_scene_script(__file__, tmp_path / "rest.png", func="_texts_at_rest")["texts"]
    assert sum(t.count("three_storey: at rest") for t in texts) == 1, texts
    assert any(t.startswith("twin3d  |  ") for t in texts)  # the subcaption: the scene's title
