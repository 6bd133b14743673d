"""`twin3d render`: an offscreen picture of the rig, at rest or in one of its mode shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..meshes import floor_heights, rig_parts
from ..physics.structure import modal_analysis
from ..scene_file import Scene


def mode_pose(scene: Scene, mode: int, fraction_of_height: float = 0.12) -> tuple[np.ndarray, str]:
    """q = [x_g, x_1..x_N] of mode `mode` (1-based), scaled so the largest floor displacement
    is a readable fraction of the frame's height; and its caption."""
    modes = modal_analysis(scene.model())
    n = scene.n_storeys
    if not 1 <= mode <= n:
        raise ValueError(f"mode must be 1..{n}, got {mode}")
    phi = modes.shapes[:, mode - 1]
    height = float(floor_heights(scene.data.geometry)[-1])
    shown = fraction_of_height * height
    q = np.concatenate(([0.0], phi / np.max(np.abs(phi)) * shown))
    f = modes.frequencies_hz[mode - 1]
    z = modes.damping_ratios[mode - 1]
    caption = (f"mode {mode}   {f:.2f} Hz   damping {100 * z:.2f} %   "
               f"(shape, top of frame drawn {1000 * shown:.0f} mm)")
    return q, caption


def render(scene: Scene, out: Path, mode: int | None = None,
           size: tuple[int, int] = (1920, 1080), frames: int = 3) -> Path:
    from . import engine

    engine.start("offscreen", size)
    from ursina import Text, camera, color

    from .rig_view import RigView

    view = RigView(rig_parts(scene.data.geometry), scene.data.geometry)
    height = float(floor_heights(scene.data.geometry)[-1])
    camera.fov = 36
    camera.position = (1.25, height * 1.05, -1.95)
    camera.look_at((0.12, height * 0.47, 0))
    if mode is None:
        q = np.zeros(scene.n_storeys + 1)
        caption = f"{scene.data.name}: at rest"
    else:
        q, caption = mode_pose(scene, mode)
    view.show(q)
    Text(text=caption, position=(-0.86, 0.47), scale=1.3, color=color.white)
    Text(text=f"twin3d  |  {scene.data.description}", position=(-0.85, -0.44), scale=0.9,
         color=color.rgba(0.75, 0.78, 0.85, 1))
    from ursina import application

    for _ in range(frames):
        application.base.taskMgr.step()
    return engine.screenshot(out)
