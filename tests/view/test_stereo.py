"""Stereo output (view/stereo.py): the eye geometry from the screen and the room, panda3d's
off-axis lens checked against it, each mode's picture offscreen (coarse pixel facts), and the
command line's one-line refusals for --stereo, --xr and --display."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys

import numpy as np
import pytest
import screeninfo

from twin3d.view import screens, xr
from twin3d.view.stereo import (Viewing, camera_separation, perceived_distance_m,
                                screen_parallax_m)

TV = Viewing(screen_width_m=1.2, viewing_distance_m=3.0, eye_separation_m=0.063)
WALL = Viewing(screen_width_m=6.0, viewing_distance_m=5.0, eye_separation_m=0.063)


# --- geometry (pure) --------------------------------------------------------------------------

def test_parallax_limit_is_the_comfort_angle_or_the_eyes():
    assert TV.max_parallax_m == pytest.approx(3.0 * math.tan(math.radians(1.0)))  # 52 mm
    assert WALL.max_parallax_m == 0.063  # 87 mm of comfort, but the eyes must not diverge


@pytest.mark.parametrize("viewing", [TV, WALL])
def test_separation_puts_infinity_at_the_limit_and_the_target_on_the_screen(viewing):
    c, hfov = 2.4, 36.0
    s = camera_separation(viewing, c, hfov)
    assert screen_parallax_m(viewing, s, c, hfov, c) == pytest.approx(0.0, abs=1e-15)
    assert screen_parallax_m(viewing, s, c, hfov, 1e12) == pytest.approx(viewing.max_parallax_m)
    # half the convergence distance comes out of the screen by the same amount
    assert screen_parallax_m(viewing, s, c, hfov, c / 2) == pytest.approx(-viewing.max_parallax_m)
    # a bigger screen: a smaller separation for the same scene
    assert camera_separation(WALL, c, hfov) < camera_separation(TV, c, hfov)


def test_perceived_distance():
    assert perceived_distance_m(TV, 0.0) == pytest.approx(3.0)  # on the screen
    p = TV.max_parallax_m
    assert perceived_distance_m(TV, p) == pytest.approx(3.0 * 0.063 / (0.063 - p))  # ~17 m
    assert perceived_distance_m(TV, -0.063) == pytest.approx(1.5)  # crossed: half-way
    assert perceived_distance_m(TV, 0.063) == math.inf


# --- the modes offscreen ------------------------------------------------------------------------

W, H = 480, 270


def _script() -> dict:
    """In the subprocess: one app, frames in mono and in each mode, and the lens's projection."""
    from twin3d.view import engine

    engine.start("offscreen", (W, H))
    from panda3d.core import Lens, LVecBase4, LVector3

    from twin3d.live.feeds import ModeFeed
    from twin3d.scenefile.records import load_scene
    from twin3d.view.app import TwinApp
    from twin3d.view.stereo import StereoOutput, Viewing

    scene = load_scene()
    feed = ModeFeed(scene, 1, slow=1e9, amplitude_m=1e-3)
    app = TwinApp(scene, feed, "offscreen", (W, H), caption="stereo test", plots=False,
                  panels=False)
    app.step(3)
    facts: dict = {"mono": engine.pixels()}
    for mode in ("side-by-side", "top-bottom", "anaglyph"):
        out = StereoOutput(mode, Viewing(), lambda: app.camera.distance)
        out.enable()
        app.step(2)
        facts[mode] = engine.pixels()
        if mode == "anaglyph":  # where panda3d's stereo lens puts points on the screen
            lens = app.app.camLens
            ahead = LVector3.forward()

            def ndc_x(depth, channel):
                v = lens.getProjectionMat(channel).xform(LVecBase4(*(ahead * depth), 1))
                return v[0] / v[3]

            c = app.camera.distance
            facts["lens"] = {"convergence": c, "hfov": lens.getHfov(),
                             "separation": out.separation_m(),
                             "half_ndc_parallax": [(ndc_x(z, Lens.SC_right)
                                                    - ndc_x(z, Lens.SC_left)) / 2
                                                   for z in (c, c / 2, 1e6)]}
        out.disable()
    app.step(2)
    facts["mono_again"] = engine.pixels()
    return facts


@pytest.fixture(scope="module")
def frames(run_scene_script):
    facts = run_scene_script(__file__)
    return {k: (np.asarray(v, dtype=float) if k != "lens" else v) for k, v in facts.items()}


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def _squeeze(img: np.ndarray, axis: int) -> np.ndarray:
    """The picture halved along axis (1: width, 0: height), as the frame packing does."""
    return (img[:, 0::2] + img[:, 1::2]) / 2 if axis == 1 else (img[0::2] + img[1::2]) / 2


def test_lens_parallax_matches_the_geometry(frames):
    lens = frames["lens"]
    v, c, hfov, s = Viewing(), lens["convergence"], lens["hfov"], lens["separation"]
    # half the NDC difference is the parallax as a fraction of the picture width
    for depth, got in zip((c, c / 2, 1e6), lens["half_ndc_parallax"]):
        want = screen_parallax_m(v, s, c, hfov, depth) / v.screen_width_m
        assert got == pytest.approx(want, abs=1e-5), depth
    assert lens["half_ndc_parallax"][2] * v.screen_width_m == pytest.approx(v.max_parallax_m,
                                                                            rel=1e-3)


@pytest.mark.parametrize("mode, axis", [("side-by-side", 1), ("top-bottom", 0)])
def test_frame_packed_halves_are_the_two_eyes(frames, mode, axis):
    img, mono = frames[mode], frames["mono"]
    first, second = np.split(img, 2, axis=axis)
    target = _squeeze(mono, axis).mean(axis=2)
    # each half is the whole picture squeezed, from its own eye
    assert _corr(first.mean(axis=2), target) > 0.8
    assert _corr(second.mean(axis=2), target) > 0.8
    eyes_differ = np.abs(first - second).sum(axis=2) > 60
    assert eyes_differ.mean() > 0.005  # parallax: edges of the structure move
    # the overlay (caption, top-left) sits on the screen plane: the same in both halves
    band = (slice(0, first.shape[0] // 14), slice(0, first.shape[1] // 3))
    assert np.abs(first[band] - second[band]).mean() < 2.0


def test_anaglyph_red_is_the_left_eye_cyan_the_right(frames):
    left, right = np.split(frames["side-by-side"], 2, axis=1)
    left, right = np.repeat(left, 2, axis=1), np.repeat(right, 2, axis=1)
    red, cyan = frames["anaglyph"][..., 0], frames["anaglyph"][..., 1:].mean(axis=2)
    assert _corr(red, left[..., 0]) > _corr(red, right[..., 0])
    assert _corr(cyan, right[..., 1:].mean(axis=2)) > _corr(cyan, left[..., 1:].mean(axis=2))


def test_disable_restores_mono(frames):
    assert np.abs(frames["mono_again"] - frames["mono"]).mean() < 1.0


# --- the command line -----------------------------------------------------------------------

def _twin3d(env, *args):
    return subprocess.run([sys.executable, "-m", "twin3d", *args], capture_output=True,
                          text=True, env=env, timeout=120)


@pytest.mark.parametrize("args, says", [
    (["demo", "--window", "offscreen", "--xr"], "OpenXR"),
    (["demo", "--window", "offscreen", "--display", "1"], "--display N picks the screen"),
    (["run", "--window", "offscreen", "--screen-width", "2"], "give --stereo MODE too"),
    (["render", "--out", "x.png", "--viewing-distance", "2"], "give --stereo MODE too"),
    (["demo", "--window", "offscreen", "--stereo", "anaglyph", "--eye-separation", "0.2"],
     "out of range"),
    (["demo", "--window", "offscreen", "--stereo", "holographic"], "invalid choice"),
])
def test_refusals_are_one_line_exit_2(headless_env, tmp_path, args, says):
    r = _twin3d(headless_env(), *[str(tmp_path / a) if a == "x.png" else a for a in args])
    assert r.returncode == 2, r.stderr[-500:]
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_xr_refusal_names_what_is_missing(headless_env, tmp_path):
    env = headless_env(XR_RUNTIME_JSON=str(tmp_path / "no-runtime.json"))
    r = _twin3d(env, "demo", "--window", "offscreen", "--xr")
    package_missing = importlib.util.find_spec(xr.PACKAGE_MODULE) is None
    want = "pip install 'twin3d[xr]'" if package_missing else "no OpenXR runtime"
    assert r.returncode == 2 and want in r.stderr, r.stderr


def test_xr_runtime_is_found_where_the_loader_looks(tmp_path):
    manifest = tmp_path / "cfg" / "openxr" / "1" / "active_runtime.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{}")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_CONFIG_DIRS": str(tmp_path / "no")}
    assert xr.runtime_manifest(env, home=tmp_path, platform="linux") == str(manifest)
    assert xr.runtime_manifest({"XR_RUNTIME_JSON": str(manifest)}) == str(manifest)
    assert xr.runtime_manifest({"XR_RUNTIME_JSON": str(tmp_path / "gone.json")}) is None


def test_display_pick_lists_the_screens():
    two = [screeninfo.Monitor(x=0, y=0, width=1920, height=1080, is_primary=True),
           screeninfo.Monitor(x=1920, y=0, width=3840, height=2160, is_primary=False)]
    assert screens.pick(1, two) is two[1]
    with pytest.raises(ValueError) as e:
        screens.pick(2, two)
    assert str(e.value) == ("no screen 2 (there are 2: 0: 1920x1080 at 0,0 (primary), "
                            "1: 3840x2160 at 1920,0)")
    with pytest.raises(ValueError, match="lists no screens"):
        screens.pick(0, [])


def test_render_writes_the_packed_frame(headless_env, tmp_path):
    from PIL import Image

    out = tmp_path / "tb.png"
    r = _twin3d(headless_env(), "render", "--out", str(out), "--size", "320x180", "--stereo",
                "top-bottom", "--screen-width", "3.0")
    assert r.returncode == 0, r.stderr[-1500:]
    img = np.asarray(Image.open(out).convert("RGB"), dtype=float)
    top, bottom = np.split(img, 2, axis=0)
    assert img.shape == (180, 320, 3)
    assert _corr(top.mean(axis=2), bottom.mean(axis=2)) > 0.8  # the same view, twice
    assert (np.abs(top - bottom).sum(axis=2) > 60).mean() > 0.002  # from two eyes
