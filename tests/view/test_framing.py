"""The camera framing's geometry (twin3d/view/framing.py), pure: the fitted distance fills the
stage, the shift centres the picture on it, and the projection is the pinhole one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin3d.view import framing


def _rig_like() -> np.ndarray:
    """A tall frame (0.3 x 0.6 x 0.2 m) on a long flat table: the lab rig's proportions."""
    rng = np.random.default_rng(3)
    frame = rng.uniform([-0.15, 0.0, -0.1], [0.15, 0.6, 0.1], (400, 3))
    table = rng.uniform([-0.25, -0.03, -0.2], [0.45, 0.0, 0.2], (400, 3))
    return np.vstack([frame, table])


STAGES = {"kiosk, left of the plots": (-0.98, -0.62, 0.48, 0.72),
          "centre strip": (-0.55, -0.2, 0.55, 0.5),
          "whole screen": (-1.0, -1.0, 1.0, 1.0)}


@pytest.mark.parametrize("stage", list(STAGES))
@pytest.mark.parametrize("yaw,pitch", [(0.0, 8.0), (-35.0, 22.0), (90.0, 8.0), (200.0, 40.0)])
def test_the_fit_fills_the_stage_and_centres_on_it(stage, yaw, pitch):
    pts = framing.hull_points(_rig_like())
    x0, y0, x1, y1 = STAGES[stage]
    d, shift = framing.fit(pts, yaw, pitch, 36.0, 16 / 9, (x0, y0, x1, y1), fill=0.9)
    centre = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    p = framing.project(pts, centre, yaw, pitch, d, 36.0, 16 / 9) + shift
    lo, hi = p.min(axis=0), p.max(axis=0)
    # inside the stage, centred on it, and the tighter side filled to 90 %
    assert x0 <= lo[0] and hi[0] <= x1 and y0 <= lo[1] and hi[1] <= y1
    assert (lo + hi) / 2 == pytest.approx([(x0 + x1) / 2, (y0 + y1) / 2], abs=1e-9)
    fill = max((hi[0] - lo[0]) / (x1 - x0), (hi[1] - lo[1]) / (y1 - y0))
    assert fill == pytest.approx(0.9, abs=1e-6)


def test_the_hull_keeps_every_point_inside_its_projection():
    pts = _rig_like()
    hull = framing.hull_points(pts)
    assert len(hull) < len(pts) / 4
    for yaw, pitch in [(0.0, 8.0), (-35.0, 22.0), (130.0, 60.0)]:
        c = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
        a = framing.project(pts, c, yaw, pitch, 2.0, 36.0, 16 / 9)
        b = framing.project(hull, c, yaw, pitch, 2.0, 36.0, 16 / 9)
        tol = 1e-5  # the hull's points are rounded to a micrometre (duplicates merged)
        assert (a.min(axis=0) >= b.min(axis=0) - tol).all()
        assert (a.max(axis=0) <= b.max(axis=0) + tol).all()


def test_projection_is_the_pinhole_one():
    """From the front (yaw 0, pitch 0) the camera sits at z = -d looking +z with x right and y
    up: a point at (x, y, z) lands at x / ((d + z) tan(hfov/2)), and y likewise with the
    vertical half-angle."""
    hfov, aspect, d = 40.0, 2.0, 3.0
    pts = np.array([[0.5, 0.2, 0.0], [-0.3, -0.4, 1.0]])
    p = framing.project(pts, [0, 0, 0], 0.0, 0.0, d, hfov, aspect)
    t = math.tan(math.radians(hfov / 2))
    expect = [[0.5 / (3.0 * t), 0.2 / (3.0 * t / aspect)], [-0.3 / (4.0 * t), -0.4 / (4.0 * t / aspect)]]
    assert p == pytest.approx(np.array(expect), rel=1e-12)
    # the camera's right, up and forward are orthonormal and right-handed in Ursina's sense
    r, u, f = framing.view_axes(-35.0, 22.0)
    m = np.array([r, u, f])
    assert m @ m.T == pytest.approx(np.eye(3), abs=1e-12)
    assert np.cross(u, f) == pytest.approx(r, abs=1e-12)
    assert u[1] > 0  # never upside down


def test_farther_means_smaller():
    pts = framing.hull_points(_rig_like())
    ext = []
    for d in (1.0, 2.0, 4.0):
        p = framing.project(pts, [0.1, 0.3, 0.0], -35.0, 22.0, d, 36.0, 16 / 9)
        ext.append(float(np.ptp(p[:, 1])))
    assert ext[0] > ext[1] > ext[2]
