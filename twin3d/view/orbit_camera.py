"""Orbit camera: yaw/pitch/distance about a target; mouse drag orbits (right button pans),
the wheel zooms, keys 1/2/3 pick the front, side and isometric presets, `o` toggles a slow
auto-orbit (on by default in the kiosk).

With `frame_points(points, stage)` the camera frames the rig itself (view/framing.py): at every
yaw the distance is the one at which the rig's outline fills the stage, the part of the screen the
panels leave free, and the lens's film offset centres it there. The wheel then scales that
distance, and the fit glides (a 0.5 s time constant) when the stage changes."""

from __future__ import annotations

import numpy as np
from ursina import Entity, Vec3, camera, held_keys, mouse, time, window

from twin3d.view import framing

PRESETS = {"front": (0.0, 8.0), "side": (90.0, 8.0), "iso": (-35.0, 22.0)}  # yaw, pitch deg
FIT_TAU_S = 0.5  # how fast the framing follows a change of stage (the trend shown)


class OrbitCamera(Entity):
    def __init__(self, target: Vec3, distance: float, preset: str = "iso", fov: float = 36.0,
                 auto_orbit_deg_s: float = 0.0):
        super().__init__()
        self.target = Vec3(target)
        self.distance = distance
        self.min_distance, self.max_distance = 0.25 * distance, 4.0 * distance
        self.yaw, self.pitch = PRESETS[preset]
        self.auto_orbit = auto_orbit_deg_s
        self._default_auto = auto_orbit_deg_s or 4.0
        self.fov = fov
        camera.fov = fov
        self.corners = None  # frame_points: the rig's hull, its stage and the fit so far
        self.zoom = 1.0
        self._fit = None
        self._wanted = (None, None)  # (inputs, fit) of the last framing.fit: still camera, no refit
        self.apply()

    def frame_points(self, points, stage) -> None:
        """Frame these points (Ursina coordinates; the rig's hull) in stage(aspect), a layout
        Rect."""
        self.corners = framing.hull_points(points)
        self.stage = stage
        c = self.corners
        self.target = Vec3(*(0.5 * (c.min(axis=0) + c.max(axis=0))))
        self._fit = None
        self._wanted = (None, None)  # new points: the last fit is not theirs
        self.apply()

    def preset(self, name: str) -> None:
        self.yaw, self.pitch = PRESETS[name]
        self._fit = None  # a cut, not a glide
        self.apply()

    def _frame(self) -> None:
        aspect = float(window.aspect_ratio or 16 / 9)
        inputs = (self.yaw, self.pitch, aspect, framing.stage_ndc(self.stage(aspect), aspect))
        if inputs != self._wanted[0]:
            self._wanted = (inputs, framing.fit(self.corners, self.yaw, self.pitch, self.fov,
                                                aspect, inputs[3]))
        d, shift = self._wanted[1]
        if self._fit is None:
            self._fit = (d, shift)
        else:
            a = min(1.0, max(time.dt, 0.0) / FIT_TAU_S)
            self._fit = (self._fit[0] + a * (d - self._fit[0]),
                         self._fit[1] + a * (shift - self._fit[1]))
        self.distance = self._fit[0] * self.zoom
        # a device-coordinate shift s moves the picture by s/2 of the film: offset the other way
        lens = camera.perspective_lens
        size = lens.get_film_size()
        sx, sy = self._fit[1]
        lens.set_film_offset(-0.5 * sx * size[0], -0.5 * sy * size[1])

    def apply(self) -> None:
        if self.corners is not None:
            self._frame()
        forward = framing.view_axes(self.yaw, self.pitch)[2]
        camera.position = self.target - Vec3(*forward) * self.distance
        camera.look_at(self.target, up=Vec3(0, 1, 0))  # Ursina's default up is the camera's own: it drifts into roll

    def update(self) -> None:
        if self.auto_orbit:
            self.yaw += self.auto_orbit * time.dt
        if mouse.left and mouse.velocity is not None:
            self.yaw += mouse.velocity[0] * 200
            self.pitch = min(85.0, max(-10.0, self.pitch - mouse.velocity[1] * 200))
        if mouse.right and mouse.velocity is not None:
            right = camera.right
            self.target -= (right * mouse.velocity[0] + camera.up * mouse.velocity[1]) * \
                self.distance
        step = 60 * time.dt
        self.yaw += (held_keys["right arrow"] - held_keys["left arrow"]) * step
        self.pitch = min(85.0, max(-10.0, self.pitch + (held_keys["up arrow"]
                                                        - held_keys["down arrow"]) * step))
        self.apply()

    def input(self, key: str) -> None:
        if key in ("scroll up", "scroll down") and self.corners is not None:
            self.zoom = min(4.0, max(0.25, self.zoom * (0.9 if key == "scroll up" else 1.1)))
        elif key == "scroll up":
            self.distance = max(self.min_distance, self.distance * 0.9)
        elif key == "scroll down":
            self.distance = min(self.max_distance, self.distance * 1.1)
        elif key in ("1", "2", "3"):
            self.preset(("front", "side", "iso")[int(key) - 1])
        elif key == "o":
            self.auto_orbit = 0.0 if self.auto_orbit else self._default_auto
