"""Stereo output for 3D TVs, projectors and powerwalls (`--stereo MODE`).

Modes
-----
- ``side-by-side``: half-width frame packing. Each eye's picture keeps the whole screen's aspect
  ratio and is squeezed into one half of the frame (left eye on the left); a 3D TV or projector
  in its side-by-side mode stretches each half back to the full width.
- ``top-bottom``: the same, stacked (left eye on top), for displays whose 3D mode is over-under.
- ``anaglyph``: red/cyan glasses on any screen: the left eye's picture is written to the red
  channel, the right eye's to green and blue (red filter over the left eye, the usual glasses).
  Colours are lost by nature of the method; the drift colours still separate by brightness.

The 2D overlay (HUD, plots, captions) is drawn once per eye picture at zero parallax, so it sits
on the plane of the screen. The two eye cameras are parallel and their frusta sheared (off-axis
projection, panda3d's stereo lens), never toed in, so there is no vertical parallax. Stereo is
for showing: in the frame-packed modes the mouse still maps to the whole window.

Geometry: the eye separation and convergence from the screen and the room
--------------------------------------------------------------------------
Inputs (all metres): the width W of the picture on the physical screen (``--screen-width``,
default 1.2: a 55-inch 16:9 TV), the viewing distance D (``--viewing-distance``, default 3.0)
and the viewer's eye separation e (``--eye-separation``, default 0.063, the adult mean).

- Convergence: the plane of zero parallax is put at the orbit camera's target (the middle of the
  structure), C = the camera's distance to it. The structure then stands in the screen: what is
  nearer than its middle comes out of the screen, what is farther goes in. C follows the zoom.
- Largest screen parallax allowed: P = min(e, D tan 1 deg). A far point must never need the
  eyes to diverge (P <= e), and the usual comfort zone keeps every parallax within 1 degree of
  visual angle at the viewing distance (Lambooij et al. 2009, "Visual discomfort and visual
  fatigue of stereoscopic displays"). At 3 m that is 52 mm; on a powerwall seen from 5 m, e wins.
- Camera separation s (scene metres): with parallel cameras converged at C, a point at depth Z
  lands on the screen with a parallax of ``s (1 - C/Z) / (2 C tan(hfov/2))`` of the picture
  width, so it tends to ``s / (2 C tan(hfov/2))`` at infinity. Setting that limit to P / W gives
  ``s = (P / W) 2 C tan(hfov/2)``: the background (the far floor) never exceeds P, and anything
  between C/2 and C stays within P in front of the screen. The structure itself spans far less
  than C/2 in depth, so its whole depth is in the comfortable range.
- A screen parallax p (metres, positive behind the screen) is seen at the distance
  ``D e / (e - p)`` from the viewer (`perceived_distance_m`).

A bigger screen gets a smaller fraction of its width as parallax, so the same scene reads with
the same depth on a TV, a projector and a powerwall once W and D are given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

MODES = ("side-by-side", "top-bottom", "anaglyph")
COMFORT_DEG = 1.0  # largest parallax as visual angle at the viewing distance


@dataclass(frozen=True)
class Viewing:
    """The physical set-up: picture width and viewing distance, the viewer's eye separation (m)."""

    screen_width_m: float = 1.2
    viewing_distance_m: float = 3.0
    eye_separation_m: float = 0.063

    @property
    def max_parallax_m(self) -> float:
        """P = min(e, D tan 1 deg): the largest parallax on the screen, m."""
        comfort = self.viewing_distance_m * math.tan(math.radians(COMFORT_DEG))
        return min(self.eye_separation_m, comfort)


def camera_separation(viewing: Viewing, convergence_m: float, hfov_deg: float) -> float:
    """The eye cameras' separation in scene metres: a point at infinity lands at the largest
    allowed parallax on the screen."""
    width_at_convergence = 2.0 * convergence_m * math.tan(math.radians(hfov_deg) / 2)
    return viewing.max_parallax_m / viewing.screen_width_m * width_at_convergence


def screen_parallax_m(viewing: Viewing, separation_m: float, convergence_m: float,
                      hfov_deg: float, depth_m: float) -> float:
    """The parallax on the physical screen (m, positive behind it) of a point `depth_m` in front
    of the cameras."""
    width_at_convergence = 2.0 * convergence_m * math.tan(math.radians(hfov_deg) / 2)
    fraction = separation_m * (1.0 - convergence_m / depth_m) / width_at_convergence
    return fraction * viewing.screen_width_m


def perceived_distance_m(viewing: Viewing, parallax_m: float) -> float:
    """How far from the viewer a point with screen parallax `parallax_m` is seen, m."""
    e = viewing.eye_separation_m
    return viewing.viewing_distance_m * e / (e - parallax_m) if parallax_m < e else math.inf


# the frame halves for each eye: (left, right, bottom, top) of the window, 0..1
_EYE_DIMS = {"side-by-side": ((0.0, 0.5, 0.0, 1.0), (0.5, 1.0, 0.0, 1.0)),
             "top-bottom": ((0.0, 1.0, 0.5, 1.0), (0.0, 1.0, 0.0, 0.5)),
             "anaglyph": ((0.0, 1.0, 0.0, 1.0), (0.0, 1.0, 0.0, 1.0))}


@dataclass(frozen=True)
class StereoSetup:
    """What `--stereo` and its geometry options ask for."""

    mode: str
    viewing: Viewing = Viewing()


def attach(app, setup: StereoSetup) -> StereoOutput:
    """Stereo on a running TwinApp, converged on its orbit camera's target."""
    out = StereoOutput(setup.mode, setup.viewing, lambda: app.camera.distance)
    out.enable()
    return out


class StereoOutput:
    """Stereo on the running Ursina window: `enable()` splits the scene's display region into
    two eyes (and doubles the 2D overlay for the frame-packed modes); `disable()` restores the
    mono window. The convergence follows `focus_distance()` (the orbit camera's distance) every
    frame."""

    def __init__(self, mode: str, viewing: Viewing, focus_distance: Callable[[], float]):
        if mode not in MODES:
            raise ValueError(f"stereo mode must be one of {', '.join(MODES)} (got {mode!r})")
        self.mode, self.viewing, self.focus_distance = mode, viewing, focus_distance
        self._made: list = []  # display regions this object added
        self._task = None

    @property
    def enabled(self) -> bool:
        return self._task is not None

    def enable(self) -> None:
        from panda3d.core import ColorWriteAttrib, Lens
        from ursina import application, camera

        if self.enabled:
            return
        base = application.base
        win = base.win
        left_dims, right_dims = _EYE_DIMS[self.mode]
        scene_dr = camera.display_region
        scene_dr.setDimensions(*left_dims)
        scene_dr.setStereoChannel(Lens.SC_left)
        right = win.makeDisplayRegion(*right_dims)
        right.setCamera(base.cam)
        right.setSort(scene_dr.getSort())
        right.setStereoChannel(Lens.SC_right)
        self._made.append(right)
        if self.mode == "anaglyph":
            # both eyes on the whole frame, each through its colour mask; the window clears the
            # colour once, the right eye clears only the depth the left eye wrote
            win.setRedBlueStereo(True, ColorWriteAttrib.CRed,
                                 ColorWriteAttrib.CGreen | ColorWriteAttrib.CBlue)
            right.setClearDepthActive(True)
        else:  # the 2D overlay once per eye picture, squeezed like the eye's picture
            camera.ui_display_region.setDimensions(*left_dims)
            ui_right = win.makeDisplayRegion(*right_dims)
            ui_right.setCamera(camera.ui_camera)
            ui_right.setSort(camera.ui_display_region.getSort())
            self._made.append(ui_right)
        self._converge()
        self._task = base.taskMgr.add(self._follow, "twin3d-stereo-convergence", sort=49)

    def disable(self) -> None:
        from panda3d.core import ColorWriteAttrib, Lens
        from ursina import application, camera

        if not self.enabled:
            return
        base = application.base
        base.taskMgr.remove(self._task)
        self._task = None
        for dr in self._made:
            base.win.removeDisplayRegion(dr)
        self._made.clear()
        camera.display_region.setDimensions(0, 1, 0, 1)
        camera.display_region.setStereoChannel(Lens.SC_mono)
        camera.ui_display_region.setDimensions(0, 1, 0, 1)
        base.win.setRedBlueStereo(False, ColorWriteAttrib.CAll, ColorWriteAttrib.CAll)
        base.camLens.setInterocularDistance(0.0)
        base.camLens.setConvergenceDistance(0.0)

    def separation_m(self) -> float:
        """The eye cameras' separation now, scene metres."""
        from ursina import application

        hfov = application.base.camLens.getHfov()
        return camera_separation(self.viewing, self.focus_distance(), hfov)

    def _converge(self) -> None:
        from ursina import application

        lens = application.base.camLens
        lens.setConvergenceDistance(self.focus_distance())
        lens.setInterocularDistance(self.separation_m())

    def _follow(self, task):
        self._converge()
        return task.cont
