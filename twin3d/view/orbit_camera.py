"""Orbit camera: yaw/pitch/distance about a target; mouse drag orbits (right button pans),
the wheel zooms, keys 1/2/3 pick the front, side and isometric presets, `o` toggles a slow
auto-orbit (on by default in the kiosk)."""

from __future__ import annotations

import math

from ursina import Entity, Vec3, camera, held_keys, mouse, time

PRESETS = {"front": (0.0, 8.0), "side": (90.0, 8.0), "iso": (-35.0, 22.0)}  # yaw, pitch deg


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
        camera.fov = fov
        self.apply()

    def preset(self, name: str) -> None:
        self.yaw, self.pitch = PRESETS[name]
        self.apply()

    def apply(self) -> None:
        y, p = math.radians(self.yaw), math.radians(self.pitch)
        offset = Vec3(math.sin(y) * math.cos(p), math.sin(p), -math.cos(y) * math.cos(p))
        camera.position = self.target + offset * self.distance
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
        if key == "scroll up":
            self.distance = max(self.min_distance, self.distance * 0.9)
        elif key == "scroll down":
            self.distance = min(self.max_distance, self.distance * 1.1)
        elif key in ("1", "2", "3"):
            self.preset(("front", "side", "iso")[int(key) - 1])
        elif key == "o":
            self.auto_orbit = 0.0 if self.auto_orbit else self._default_auto
