"""The 3D scene application: a feed's state drawn on the rig every frame, with the HUD, the
camera, in-scene plots and the tool and motor panels.

`TwinApp(scene, feed, ...)` builds everything; each frame it asks the feed for the newest
TwinState, magnifies the motion (labelled), colours the legs by drift and updates the HUD.
It runs onscreen (`app.run()`), or offscreen for N frames with a screenshot (no display)."""

from __future__ import annotations

import sys
import time as _time
from dataclasses import replace
from pathlib import Path

import numpy as np

from twin3d.physics.structure import storey_drift
from twin3d.scenefile.meshes import floor_heights
from twin3d.scenefile.records import Scene
from twin3d.view import engine


class TwinApp:
    def __init__(self, scene: Scene, feed, window: str = "offscreen",
                 size: tuple[int, int] = (1280, 720), fullscreen: bool = False,
                 caption: str | None = None, plots: bool = True, panels: bool = True,
                 auto_orbit: bool = False, parts=None, kiosk: bool = False):
        self.app = engine.start(window, size, fullscreen)
        from ursina import Entity, Vec3

        from twin3d.scenefile.meshes import scene_parts
        from twin3d.view.orbit_camera import OrbitCamera
        from twin3d.view.hud import Hud
        from twin3d.view.magnifier import MotionScale
        from twin3d.view.rig_view import LabFloor, RigView, ScaleBar
        from twin3d.view import layout

        layout.set_view(kiosk)  # before any 2D widget asks for its region

        g = scene.data.geometry
        self.scene, self.feed, self.window = scene, feed, window
        self.height = float(floor_heights(g)[-1] + g.floor_size_m[2] / 2)
        if parts is None:
            parts, self.mesh_problems = scene_parts(scene, engine.ASSETS / "generated")
        else:
            self.mesh_problems = []
        for line in self.mesh_problems:  # the generated part is drawn instead: say so
            print(f"twin3d: warning: {line}", file=sys.stderr)
        # the lab rig is 0.6 m tall; a taller structure (a building) scales the floor, labels,
        # scale bar and camera distance with it
        k = max(1.0, self.height / 0.6)
        self.view = RigView(parts, g, size_scale=k)
        self.floor = LabFloor(y=-g.table_size_m[2] - 0.03 * k, size=4.0 * k,
                              cell=_round_length(0.1 * k))
        bar = ScaleBar(_round_length(0.1 * k),
                       Vec3(-0.05 * k, 0.005 * k, -g.table_size_m[0] / 2 - 0.04 * k), size_scale=k)
        sign_distance = 2.6 * self.height + 0.9 * k  # the camera distance the signs are sized at
        self.camera = OrbitCamera(Vec3(0.1 * k, self.height * 0.45, 0), sign_distance,
                                  "iso", auto_orbit_deg_s=4.0 if auto_orbit else 0.0)
        # the rig framed where the panels leave room (view/framing.py), not behind them
        shown = "kiosk" if kiosk else "operator" if panels else "still"
        self.camera.frame_points(np.vstack(list(self.view.base_vertices.values())),
                                 lambda aspect: layout.stage(aspect, shown, self._trend_shown(),
                                                             self._badge_shown()))
        # 3D signs (floor labels, the scale bar's length) keep their size on screen whatever
        # distance the framing picks
        self._signs = [(t, float(t.scale_x), sign_distance)
                       for t in (*self.view.floor_labels, bar.text)]
        self.drift_limit = scene.data.limits.drift_limit_m
        self.hud = Hud(self.drift_limit, f"twin3d  |  {scene.data.description}", kiosk=kiosk,
                       input_line=None if scene.has_rig else _input_line(scene),
                       operator=panels, n_storeys=g.n_storeys)
        self.magnifier = MotionScale(target_m=0.1 * self.height)
        self.caption = caption
        self.subtitle = ""
        self.plots = self._make_plots(speed_plot=not panels) if plots else None
        self.mode_shape = self._make_mode_shape() if plots else None
        self.trend = self._make_trend() if plots else None
        self.panels = self._make_panels() if panels else None
        # the operator's alarm banner and command log (the kiosk has no one to acknowledge)
        self.alarm_banner, self.command_log = self._make_hmi() if panels else (None, None)
        self.frames = 0
        self._fps, self._last_wall = 0.0, None
        self.state = None
        self.tour = None
        self._updater = Entity(update=self.frame)

    def _trend_shown(self) -> bool:
        """Whether the trend takes its strip of the screen: the feed's state carries one (the
        widget's own `enabled` is True until its first frame)."""
        state = getattr(self, "state", None)  # the camera asks before the first frame
        return getattr(self, "trend", None) is not None and \
            getattr(state, "trend", None) is not None

    def _badge_shown(self) -> bool:
        return getattr(getattr(self, "tour", None), "qr_badge", None) is not None

    # optional widgets (view/live_plots.py, view/panel_dock.py)
    def _make_plots(self, speed_plot: bool):
        from twin3d.view.live_plots import LivePlots

        from twin3d.view import layout

        # with the motor panel open the speed is on the panel; its plot makes room
        plots = LivePlots(self.scene, speed_plot=speed_plot and self.scene.has_rig)
        for p in (plots.acc, plots.psd, plots.rpm):
            layout.register(p, "plots")
        return plots

    def _make_mode_shape(self):
        from twin3d.view.mode_shape_plot import ModeShapePlot

        return ModeShapePlot(self.scene.data.geometry.n_storeys)

    def _make_trend(self):
        from twin3d.view.trend_plot import TrendPlot

        from twin3d.view import layout

        # hidden until the feed's state carries a trend (--store)
        r = layout.region("trend")
        return layout.register(TrendPlot(position=(r.x, r.top), size=(r.w, r.h)), "trend")

    def _make_panels(self):
        from twin3d.view.panel_dock import PanelDock

        return PanelDock(self.scene, self.feed)

    def _make_hmi(self):
        from twin3d.view.alarm_banner import AlarmBanner
        from twin3d.view.command_log_view import CommandLogView

        return AlarmBanner(), CommandLogView()

    def set_feed(self, feed, caption: str | None = None, subtitle: str = "") -> None:
        self.feed, self.caption, self.subtitle = feed, caption, subtitle
        self.magnifier.reset()
        if self.plots is not None:
            self.plots.reset()
            self.mode_shape.reset()
        if self.panels is not None:
            self.panels.set_feed(feed)

    def frame(self) -> None:
        from ursina import camera, time

        if self.tour is not None:
            self.tour.advance(time.dt)
        wall = _time.perf_counter()
        if self._last_wall is not None:
            inst = 1.0 / max(wall - self._last_wall, 1e-6)
            self._fps = inst if self._fps == 0 else 0.9 * self._fps + 0.1 * inst
        self._last_wall = wall
        state = self.feed.step(time.dt)
        self.state = state
        u = np.asarray(state.floor_disp_m, dtype=float)
        q = self.magnifier.update(state.table_disp_m, u, time.dt)  # drawn, magnified
        mag = self.magnifier.factor
        drift = np.abs(storey_drift(u))
        for sign, size, at in self._signs:
            sign.scale = size * self.camera.distance / at
        self.view.face_labels(camera.right)
        self.view.show(q, state.motor_angle_rad, q[0], drift / self.drift_limit,
                       damaged_storeys=tuple(r["storey"] for r in state.localisation),
                       magnification=mag, drift_limit_m=self.drift_limit)
        caption = self.caption or getattr(self.feed, "label", "") or state.source
        if state.source.startswith("model") and np.any(u):
            caption = f"{caption}, displacement {self.magnifier.label}"
        if self.mesh_problems and not state.alarm:
            state = replace(state, alarm="mesh file not usable: see the log")
        sub = getattr(self.feed, "label", "") if self.caption else \
            getattr(self.feed, "sublabel", "")  # a live feed: the command path's latest word
        self.hud.update(state, self._fps, mag, caption, sub, wall)
        self.hud.set_subtitle(self.subtitle)
        if self.alarm_banner is not None:
            commander = getattr(self.feed, "commander", None)
            self.alarm_banner.update_alarms(state, commander)
            self.command_log.update_log(commander, wall)
        if self.plots is not None:
            self.plots.update(state)
            self.mode_shape.update(state)
        if self.trend is not None:
            if self.panels is not None and self.panels.menu.panel is not None:
                self.trend.enabled = False  # an open tool panel takes the centre
            else:
                self.trend.show(state)
        self.frames += 1

    def step(self, n: int = 1) -> None:
        from ursina import application

        for _ in range(n):
            application.base.taskMgr.step()

    def screenshot(self, path: Path | str) -> Path:
        return engine.screenshot(path)

    def start_tour(self, steps) -> None:
        from twin3d.view.kiosk import Tour

        self.tour = Tour(self, steps)

    def run(self) -> None:
        self.app.run()


def _round_length(x: float) -> float:
    """The 1-2-5 length nearest x on a log scale: 0.1 m for the lab, 2 m for a building."""
    decade = 10.0 ** np.floor(np.log10(x))
    return float(min((decade * m for m in (1, 2, 5, 10)), key=lambda v: abs(np.log(v / x))))


def _input_line(scene: Scene) -> str:
    """The HUD's line for a structure alone, where the rig's motor line would be."""
    e = scene.data.excitation
    what = {"base_acceleration": "base acceleration", "floor_force": f"force, floor {e.floor}",
            "base_force": "force on the base"}[e.kind]
    if scene.loading().has_base:
        what += ", free base" if scene.loading().free_base else ", sprung base"
    return f"input    {what}"


def run_scene(scene: Scene, feed, window: str, size: tuple[int, int], frames: int | None,
              screenshot: Path | None, kiosk: bool = False, fullscreen: bool = False,
              say=print, layout_report: Path | None = None, stereo=None, xr: bool = False,
              display: int | None = None) -> dict:
    """Open the scene on `feed`; offscreen, run `frames` frames and write the screenshot and
    the layout report (every text's box, for the last frame)."""
    engine.start(window, size, fullscreen or kiosk, display=display)  # on screen N
    app = TwinApp(scene, feed, window, size, fullscreen=fullscreen or kiosk,
                  panels=not kiosk, auto_orbit=kiosk, kiosk=kiosk)
    if kiosk:
        from twin3d.view.kiosk import tour

        app.start_tour(tour(scene))
    if stereo is not None:  # a StereoSetup (view/stereo.py); xr: view/xr.py
        from twin3d.view.stereo import attach

        attach(app, stereo)
    if xr:
        from twin3d.view import xr as headset

        headset.start(app)
    if window == "onscreen" and frames is None:
        app.run()  # until the window is closed
    n = frames if frames is not None else 300
    t0 = _time.perf_counter()
    app.step(n)
    wall = _time.perf_counter() - t0
    out = {"frames": n, "fps": n / wall if wall > 0 else 0.0, "source_time_s": app.state.t,
           "speed_rpm": app.state.speed_rpm}
    if screenshot is not None:
        out["screenshot"] = str(app.screenshot(screenshot))
        say(f"wrote {screenshot}")
    if layout_report is not None:
        from twin3d.view import layout

        out["layout_report"] = str(layout.write_report(layout_report))
        say(f"wrote {layout_report}")
    return out
