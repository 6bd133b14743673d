"""Heads-up display: the caption (what is on screen and how it is magnified), a status block
(source, time, motor speed, sample rate, frame rate, counters), the drift colour legend, and
a kiosk subtitle. Sized to be read across a room at 1920x1080."""

from __future__ import annotations

import numpy as np
from ursina import Entity, Mesh, Text, camera, color

from .colours import DRIFT_COLOURS, DRIFT_STOPS

TEXT = color.rgba(0.92, 0.94, 0.98, 1)
DIM = color.rgba(0.70, 0.74, 0.82, 1)
WARN = color.rgba(1.0, 0.45, 0.3, 1)


class Hud:
    def __init__(self, drift_limit_m: float, title: str):
        ui = camera.ui
        self.caption = Text("", parent=ui, position=(-0.86, 0.475), scale=1.6, color=TEXT)
        self.subcaption = Text("", parent=ui, position=(-0.86, 0.425), scale=1.05, color=DIM)
        Entity(parent=ui, model="quad", position=(0.70, 0.375), scale=(0.36, 0.22),
               color=color.rgba(0.05, 0.06, 0.08, 0.72))
        self.status = Text("", parent=ui, position=(0.535, 0.47), scale=0.95, color=TEXT,
                           line_height=1.15)
        self.alarm = Text("", parent=ui, position=(0.535, 0.245), scale=1.0, color=WARN)
        self.subtitle = Text("", parent=ui, position=(0, -0.43), origin=(0, 0), scale=1.35,
                             color=TEXT)
        self.footer = Text(title, parent=ui, position=(-0.86, -0.47), scale=0.8, color=DIM)
        self.legend = DriftLegend(drift_limit_m, position=(-0.84, -0.05))

        self._next_status = 0.0

    @staticmethod
    def _set(text, value: str) -> None:
        if text.text != value:  # re-laying out a Text costs more than drawing the rig
            text.text = value

    def update(self, state, fps: float, magnification: float, caption: str,
               subcaption: str = "", wall: float = 0.0) -> None:
        self._set(self.caption, caption)
        self._set(self.subcaption, subcaption)
        if wall < self._next_status:
            return
        self._next_status = wall + 0.25  # status block: four times a second
        lines = [f"source   {state.source}",
                 f"time     {state.t:8.2f} s",
                 f"motor    {state.speed_rpm:8.1f} rpm  ({state.speed_rpm / 60:5.2f} Hz)"]
        if state.sample_rate_hz:
            lines.append(f"sampling {state.sample_rate_hz:8.0f} Hz")
        lines.append(f"frame    {fps:8.1f} fps")
        lines.append(f"motion   x{magnification:g}")
        if state.counters:
            lines.append("  ".join(f"{k} {v}" for k, v in list(state.counters.items())[:3]))
        if state.tracked_hz:
            lines.append("tracked  " + " ".join(f"{f:.2f}" for f in state.tracked_hz) + " Hz")
        self._set(self.status, "\n".join(lines))
        self._set(self.alarm, state.alarm or
                  ("" if state.status == "ok" else f"rig: {state.status.upper()}"))


class DriftLegend:
    """A vertical colour bar for the inter-storey drift map, with its ticks in mm."""

    def __init__(self, limit_m: float, position=(-0.84, -0.05), height: float = 0.3,
                 width: float = 0.022):
        ui = camera.ui
        x0, y0 = position
        n = 32
        r = np.linspace(0, 1, n + 1)
        cols = np.stack([np.interp(r, DRIFT_STOPS, DRIFT_COLOURS[:, c]) for c in range(4)], -1)
        verts, colours, tris = [], [], []
        for i in range(n + 1):
            y = y0 + height * r[i]
            verts += [(x0, y, 0), (x0 + width, y, 0)]
            colours += [tuple(cols[i]), tuple(cols[i])]
        for i in range(n):
            a = 2 * i
            tris += [(a, a + 1, a + 3), (a, a + 3, a + 2)]
        Entity(parent=ui, model=Mesh(vertices=verts, triangles=tris, colors=colours))
        Text("storey drift", parent=ui, position=(x0 - 0.005, y0 + height + 0.075), scale=0.9,
             color=TEXT)
        Text("(true, mm)", parent=ui, position=(x0 - 0.005, y0 + height + 0.045), scale=0.8,
             color=DIM)
        for frac in (0.0, 0.5, 1.0):
            value = 1000 * limit_m * frac
            label = f"{value:.1f}" + ("  limit" if frac == 1.0 else "")
            Text(label, parent=ui, position=(x0 + width + 0.008, y0 + height * frac + 0.008),
                 scale=0.85, color=TEXT)
