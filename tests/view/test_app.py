"""The scene app offscreen (EGL, no display): the CLI end to end, and TwinApp's per-frame
vertex, normal and colour writes read back from panda3d's buffers.

Ursina is one app per process, so the TwinApp facts come from this file's `_script` run in a
subprocess (`run_scene_script`, tests/view/conftest.py), and each CLI check is its own `twin3d`
process. Every subprocess runs with DISPLAY unset. Pixel facts are coarse, never exact bytes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

TWIN3D = [sys.executable, "-m", "twin3d"]


@pytest.fixture(scope="module")
def cli_env(headless_env):
    return headless_env()


@pytest.fixture(scope="module")
def twin3d(cli_env):
    """twin3d(*args, timeout=300): a `python -m twin3d` run without a display."""

    def run(*args, timeout=300):
        return subprocess.run([*TWIN3D, *args], capture_output=True, text=True, env=cli_env,
                              timeout=timeout)

    return run


def _drawn(img: np.ndarray) -> np.ndarray:
    """Mask of pixels that differ from the window colour (taken at the top-centre strip)."""
    background = img[3, img.shape[1] // 2].astype(float)
    return np.abs(img.astype(float) - background).sum(axis=2) > 60


def _centre(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return img[int(0.15 * h):int(0.85 * h), int(0.3 * w):int(0.7 * w)]


def _script() -> dict:
    """Runs in the subprocess: TwinApp offscreen, facts as JSON."""
    from twin3d.view import engine

    engine.start("offscreen", (480, 270))
    from twin3d.live.feeds import ModeFeed
    from twin3d.view.app import TwinApp
    from twin3d.view.colours import DRIFT_COLOURS
    from twin3d.view.vertex_buffers import column_view, face_normals
    from twin3d.scenefile.records import load_scene

    scene = load_scene()
    n = scene.n_storeys
    feed = ModeFeed(scene, 1, slow=1e9, amplitude_m=1e-3)  # frozen at its peak
    app = TwinApp(scene, feed, "offscreen", (480, 270), plots=False, panels=False)
    facts: dict = {}
    app.step(3)
    a = engine.pixels()
    app.step(1)
    a_again = engine.pixels()
    feed.t += 0.5 / feed.frequency_hz  # half a period later: the mirrored shape
    app.step(1)
    b = engine.pixels()
    facts["mag"] = app.magnifier.factor
    facts["frames"] = app.frames
    crop = (slice(int(0.15 * 270), int(0.85 * 270)), slice(int(0.3 * 480), int(0.7 * 480)))
    bg = a[3, 240].astype(float)
    facts["drawn_centre"] = float((np.abs(a[crop].astype(float) - bg).sum(2) > 60).mean())
    facts["diff_same"] = float(np.abs(a[crop].astype(float) - a_again[crop]).mean())
    facts["diff_half_period"] = float(np.abs(a[crop].astype(float) - b[crop]).mean())
    facts["changed_px_half_period"] = int((np.abs(a[crop].astype(int) - b[crop]).sum(2) > 60)
                                          .sum())

    # vertex, normal and colour columns read back after show() (no frame stepped in between)
    view = app.view
    mesh = view.entities["structure"].model
    base = view.base_vertices["structure"]
    legs = view.leg_rows
    view.show(np.zeros(n + 1), 0.0, 0.0, np.zeros(n))
    n_rest = column_view(mesh, "normal")[legs].copy()
    facts["rest_leg_normals_axis_aligned"] = float((np.abs(n_rest).max(1) > 0.999).mean())
    facts["rest_vertices_equal_base"] = bool(np.allclose(column_view(mesh, "vertex"), base))
    q = np.array([0.004, 0.02, 0.035, 0.05])[:n + 1]
    view.show(q, 0.3, q[0], np.array([1.0] + [0.0] * (n - 1)))
    v = column_view(mesh, "vertex").copy()
    top = (view.j0 == n) & (view.j1 == n)
    facts["n_top_rows"] = int(top.sum())
    facts["top_dx"] = (v[top, 0] - base[top, 0]).tolist()
    facts["top_dy_dz"] = float(np.abs(v[top, 1:] - base[top, 1:]).max())
    facts["q_top"], facts["q_table"] = float(q[-1]), float(q[0])
    dx = v[:, 0] - base[:, 0]
    facts["dx_range"] = [float(dx.min()), float(dx.max())]
    nb = column_view(mesh, "normal")[legs].copy()
    facts["bent_leg_normals_axis_aligned"] = float((np.abs(nb).max(1) > 0.999).mean())
    facts["bent_normals_unit"] = float(np.abs(np.linalg.norm(nb, axis=1) - 1).max())
    # RigView winds triangles for Ursina's left-handed axes: normals are the negated
    # right-handed face normals (rig_view.URSINA_WINDING)
    facts["bent_normals_match_faces"] = float(np.abs(nb + face_normals(v[legs])).max())
    c = column_view(mesh, "color")[legs].copy()
    storey = view.leg_storey
    facts["red"] = DRIFT_COLOURS[-1].tolist()
    facts["grey"] = DRIFT_COLOURS[0].tolist()
    facts["storey0_colours"] = np.unique(c[storey == 0].round(4), axis=0).tolist()
    facts["storey1_colours"] = np.unique(c[storey == 1].round(4), axis=0).tolist()
    facts["clamp_colours_unchanged"] = bool(np.allclose(c[storey < 0],
                                                        view.base_colours[legs][storey < 0]))
    facts["n_storey0_rows"] = int((storey == 0).sum())

    # a drift beyond the limit is drawn red on screen
    def red_pixels(img):
        i = img.astype(int)
        return int(((i[..., 0] > 150) & (i[..., 1] < 90) & (i[..., 2] < 90)).sum())

    app.set_feed(ModeFeed(scene, 1, slow=1e9, amplitude_m=1e-4))
    app.step(2)
    facts["red_px_small"] = red_pixels(engine.pixels())
    app.set_feed(ModeFeed(scene, 1, slow=1e9, amplitude_m=0.02))
    app.step(2)
    facts["red_px_large"] = red_pixels(engine.pixels())
    return facts


@pytest.fixture(scope="module")
def app_facts(run_scene_script):
    return run_scene_script(__file__, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, twin3d):
    shot = tmp_path_factory.mktemp("demo") / "demo.png"
    r = twin3d("demo", "--window", "offscreen", "--frames", "60", "--screenshot", str(shot),
                "--size", "640x360", "--json")
    return r, shot


def test_demo_offscreen_writes_a_screenshot_with_the_structure(demo):
    r, shot = demo
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["frames"] == 60 and summary["screenshot"] == str(shot)
    # the live rig runs on the wall clock: 60 offscreen frames take a second or more of it,
    # and the source time is the rig's, a little behind the wall
    assert 0.5 < summary["source_time_s"] < 60
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape == (360, 640, 3)
    centre = _drawn(_centre(img)).mean()
    assert centre > 0.2, centre  # the rig fills the middle of the frame
    assert _drawn(img).mean() < 0.95


def test_demo_kiosk_offscreen(tmp_path, twin3d):
    shot = tmp_path / "kiosk.png"
    r = twin3d("demo", "--window", "offscreen", "--kiosk", "--frames", "30", "--screenshot",
                str(shot), "--size", "480x270", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])["frames"] == 30
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape == (270, 480, 3) and _drawn(_centre(img)).mean() > 0.1


def test_demo_without_a_display_renders_offscreen(tmp_path, twin3d, cli_env):
    assert "DISPLAY" not in cli_env
    shot = tmp_path / "nodisplay.png"
    r = twin3d("demo", "--window", "offscreen", "--screenshot", str(shot), "--size", "256x144")
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"wrote {shot}" in r.stdout
    assert Image.open(shot).size == (256, 144)


def test_run_without_a_window_is_a_one_line_usage_error(twin3d):
    r = twin3d("run", "--window", "none", timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "twin3d run" in lines[0] and "window" in lines[0]
    assert "Traceback" not in r.stderr


def test_render_gif_of_a_mode_has_differing_frames(tmp_path, twin3d):
    out = tmp_path / "m2.gif"
    r = twin3d("render", "--gif", "--mode", "2", "--out", str(out), "--size", "320x180")
    assert r.returncode == 0, r.stderr[-2000:]
    gif = Image.open(out)
    assert gif.format == "GIF" and gif.n_frames >= 12 and gif.size == (320, 180)
    frames = []
    for i in range(gif.n_frames):
        gif.seek(i)
        frames.append(np.asarray(gif.convert("RGB"), dtype=float))
    half = gif.n_frames // 2
    assert np.abs(frames[0] - frames[half]).mean() > 0.5  # half a cycle apart: mirrored
    assert np.abs(frames[0] - frames[1]).mean() > 0.0
    assert _drawn(_centre(frames[0].astype(np.uint8))).mean() > 0.1


def test_legs_move_between_opposite_phases(app_facts):
    f = app_facts
    assert f["frames"] >= 5 and f["mag"] > 1
    assert f["drawn_centre"] > 0.2
    assert f["diff_same"] < 0.05  # a frozen feed draws the same picture
    assert f["diff_half_period"] > 1.0 and f["changed_px_half_period"] > 300


def test_vertex_buffer_holds_the_deformed_structure(app_facts):
    f = app_facts
    assert f["n_top_rows"] > 0
    np.testing.assert_allclose(f["top_dx"], f["q_top"], atol=1e-6)  # the top floor moved q[-1]
    assert f["top_dy_dz"] < 1e-7  # sway only
    lo, hi = f["dx_range"]
    # the structure stands on the table: every vertex sways between the table and the top
    assert lo == pytest.approx(f["q_table"], abs=1e-6) and hi == pytest.approx(f["q_top"], abs=1e-6)


def test_bent_legs_get_new_normals(app_facts):
    f = app_facts
    assert f["rest_vertices_equal_base"]
    assert f["rest_leg_normals_axis_aligned"] == 1.0  # straight legs: box faces only
    assert f["bent_leg_normals_axis_aligned"] < 0.9  # bent: tilted faces
    assert f["bent_normals_unit"] < 1e-5 and f["bent_normals_match_faces"] < 1e-5


def test_drift_colours_reach_the_colour_column_and_the_screen(app_facts):
    f = app_facts
    assert f["n_storey0_rows"] > 0
    assert len(f["storey0_colours"]) == 1
    np.testing.assert_allclose(f["storey0_colours"][0], f["red"], atol=1e-4)
    assert len(f["storey1_colours"]) == 1
    np.testing.assert_allclose(f["storey1_colours"][0], f["grey"], atol=1e-4)
    assert f["clamp_colours_unchanged"]
    assert f["red_px_large"] > 200 and f["red_px_large"] > 5 * f["red_px_small"]
