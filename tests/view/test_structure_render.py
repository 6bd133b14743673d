"""A structure alone (no motor, crank or actuator) renders offscreen: coarse pixel facts."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from twin3d.scenefile.records import SCENES_DIR


def _render(tmp_path, scene: str, *args) -> np.ndarray:
    out = tmp_path / f"{scene}{'_'.join(args)}.png"
    r = subprocess.run([sys.executable, "-m", "twin3d", "render", "--scene",
                        str(SCENES_DIR / f"{scene}.toml"), "--out", str(out), "--size",
                        "480x270", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return np.asarray(Image.open(out).convert("RGB"), dtype=float)


@pytest.mark.slow
def test_building_and_free_base_frame_render_their_modes(tmp_path):
    rest = _render(tmp_path, "building_five_storey")
    m1 = _render(tmp_path, "building_five_storey", "--mode", "1")
    background = rest[5, 240]
    drawn = np.abs(rest - background).sum(axis=2) > 60
    # the 18.5 m building is framed like the lab rig: it fills a good part of the picture,
    # not a speck, not the whole screen
    assert 0.05 < drawn.mean() < 0.9
    assert np.abs(rest - m1).mean() > 0.3  # the mode's sway shows
    # a free base: mode 1 is the rigid body (4 modes for 3 storeys), mode 2 bends the frame
    la2 = _render(tmp_path, "los_alamos_frame", "--mode", "2")
    la4 = _render(tmp_path, "los_alamos_frame", "--mode", "4")
    assert np.abs(la2 - la4).mean() > 1.0
    r = subprocess.run([sys.executable, "-m", "twin3d", "render", "--scene",
                        str(SCENES_DIR / "los_alamos_frame.toml"), "--out",
                        str(tmp_path / "x.png"), "--mode", "5"], capture_output=True, text=True)
    assert r.returncode == 2 and "--mode out of range (got 5, allowed 1..4)" in r.stderr
