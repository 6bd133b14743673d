"""Framing the rig in the part of the screen that is free of panels: pure geometry, no engine.

The orbit camera looks at the rig's centre from a yaw and pitch. `fit` finds the distance at
which the perspective projection of the rig's outline (its convex hull: a bounding box would
frame corners the rig does not have) fills a target rectangle of the screen (the `stage`:
the window less the header, the plot column and the caption band), and the shift that centres
the projection on that rectangle. The shift is applied as the lens's film offset (an off-axis
projection, as a view camera's shift lens does): the camera still looks at the rig's centre,
so orbiting turns the rig about itself and verticals stay vertical, but the picture lands off
the screen's centre, where the panels leave room.

Coordinates are Ursina's: x right, y up, z forward. Screen positions are normalised device
coordinates, -1..1 across the width and across the height."""

from __future__ import annotations

import math

import numpy as np

FILL = 0.9  # of the stage's tighter side: room for the magnified sway and the floor labels


def hull_points(points) -> np.ndarray:
    """The vertices of the points' convex hull (n, 3): every point's projection lies within
    theirs, and there are few of them to project each frame."""
    from scipy.spatial import ConvexHull

    p = np.unique(np.asarray(points, dtype=float).round(6), axis=0)
    return p[ConvexHull(p).vertices]


def view_axes(yaw_deg: float, pitch_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(right, up, forward) of a camera orbiting at yaw/pitch (orbit_camera's convention: the
    camera sits at target - forward * distance)."""
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    f = -np.array([math.sin(y) * math.cos(p), math.sin(p), -math.cos(y) * math.cos(p)])
    r = np.cross([0.0, 1.0, 0.0], f)  # right = up x forward (a proper rotation of x = y x z)
    r /= np.linalg.norm(r)
    return r, np.cross(f, r), f


def _camera_coords(points, centre, yaw_deg: float, pitch_deg: float):
    """Each point's offset from the centre along the camera's right, up and forward axes:
    they do not depend on the distance, so a fit computes them once."""
    r, u, f = view_axes(yaw_deg, pitch_deg)
    v = np.asarray(points, dtype=float) - np.asarray(centre, dtype=float)
    return v @ r, v @ u, v @ f


def project(points: np.ndarray, centre, yaw_deg: float, pitch_deg: float, distance: float,
            hfov_deg: float, aspect: float) -> np.ndarray:
    """Normalised device coordinates (n, 2) of points seen from the orbit camera (no offset)."""
    a, b, c = _camera_coords(points, centre, yaw_deg, pitch_deg)
    tx = math.tan(math.radians(hfov_deg) / 2)
    z = distance + c
    return np.column_stack([a / (z * tx), b / (z * tx / aspect)])


def fit(corners: np.ndarray, yaw_deg: float, pitch_deg: float, hfov_deg: float, aspect: float,
        stage: tuple[float, float, float, float], fill: float = FILL) -> tuple[float, np.ndarray]:
    """(distance, shift): the distance at which the corners' projection fills `fill` of the
    stage (x0, y0, x1, y1 in device coordinates) on its tighter side, and the device-coordinate
    shift (2,) that puts the projection's centre on the stage's centre. The camera looks at the
    corners' centre."""
    corners = np.asarray(corners, dtype=float)
    centre = 0.5 * (corners.min(axis=0) + corners.max(axis=0))
    radius = float(np.linalg.norm(corners - centre, axis=1).max()) or 1.0
    x0, y0, x1, y1 = stage
    sw, sh = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    a, b, c = _camera_coords(corners, centre, yaw_deg, pitch_deg)
    tx = math.tan(math.radians(hfov_deg) / 2)
    sx, sy = 1.0 / tx, aspect / tx  # device units per unit of a / z and of b / z

    def projected(d: float) -> tuple[np.ndarray, np.ndarray]:
        return sx * a / (d + c), sy * b / (d + c)

    def excess(d: float) -> float:  # > 0: the projection is larger than the target
        x, y = projected(d)
        return max((x.max() - x.min()) / sw, (y.max() - y.min()) / sh) - fill

    lo, hi = 1.001 * radius, 200.0 * radius  # in front of every corner .. far away
    if excess(lo) <= 0:
        hi = lo
    else:
        for _ in range(48):  # the projection shrinks monotonically with the distance
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if excess(mid) <= 0 else (mid, hi)
    x, y = projected(hi)
    mid_p = np.array([0.5 * (x.max() + x.min()), 0.5 * (y.max() + y.min())])
    return hi, np.array([0.5 * (x0 + x1), 0.5 * (y0 + y1)]) - mid_p


def stage_ndc(rect, aspect: float) -> tuple[float, float, float, float]:
    """A layout Rect (camera.ui units: x in -aspect/2..aspect/2, y in -0.5..0.5) as device
    coordinates (x0, y0, x1, y1)."""
    return (2 * rect.left / aspect, 2 * rect.bottom, 2 * rect.right / aspect, 2 * rect.top)
