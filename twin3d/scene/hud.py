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
    def __init__(self, drift_limit_m: float, title: str, kiosk: bool = False):
        ui = camera.ui
        self.caption = Text("", parent=ui, position=(-0.86, 0.475), scale=1.6, color=TEXT)
        self.subcaption = Text("", parent=ui, position=(-0.86, 0.425), scale=1.05, color=DIM)
        Entity(parent=ui, model="quad", position=(0.70, 0.375), scale=(0.36, 0.22),
               color=color.rgba(0.05, 0.06, 0.08, 0.72))
        self.status = Text("", parent=ui, position=(0.535, 0.47), scale=0.95, color=TEXT,
                           line_height=1.15)
        self.alarm = Text("", parent=ui, position=(0.535, 0.25), scale=0.9, color=WARN)
        self.subtitle = Text("", parent=ui, position=(-0.2 if kiosk else 0.0, -0.43),
                             origin=(0, 0), scale=1.35,
                             color=TEXT)
        self.legend = DriftLegend(drift_limit_m, (0.53, -0.44) if kiosk else (-0.86, -0.43))
        self.title = title

        self._next_status = 0.0

    @staticmethod
    def _set(text, value: str) -> None:
        if text.text != value:  # re-laying out a Text costs more than drawing the rig
            text.text = value
            text.color = text.color  # new lines would otherwise take Ursina's default colour

    def update(self, state, fps: float, magnification: float, caption: str,
               subcaption: str = "", wall: float = 0.0) -> None:
        self._set(self.caption, caption)
        self._set(self.subcaption, subcaption or self.title)
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
        self._set(self.status, "\n".join(line if len(line) <= 36 else line[:35] + "…"
                                          for line in lines))
        self._set(self.alarm, state.alarm or
                  ("" if state.status == "ok" else f"rig: {state.status.upper()}"))


class DriftLegend:
    """A horizontal colour bar for the inter-storey drift map, with its ticks in mm."""

    def __init__(self, limit_m: float, position=(-0.86, -0.43), width: float = 0.3,
                 height: float = 0.02):
        ui = camera.ui
        x0, y0 = position
        n = 32
        r = np.linspace(0, 1, n + 1)
        cols = np.stack([np.interp(r, DRIFT_STOPS, DRIFT_COLOURS[:, c]) for c in range(4)], -1)
        verts, colours, tris = [], [], []
        for i in range(n + 1):
            x = x0 + width * r[i]
            verts += [(x, y0, 0), (x, y0 + height, 0)]
            colours += [tuple(cols[i]), tuple(cols[i])]
        for i in range(n):
            a = 2 * i
            tris += [(a, a + 2, a + 3), (a, a + 3, a + 1)]
        Entity(parent=ui, model=Mesh(vertices=verts, triangles=tris, colors=colours))
        Text("storey drift (true, mm)", parent=ui, position=(x0, y0 + height + 0.04),
             scale=0.9, color=TEXT)
        for frac in (0.0, 0.5, 1.0):
            label = f"{1000 * limit_m * frac:.1f}" + (" limit" if frac == 1.0 else "")
            Text(label, parent=ui, position=(x0 + width * frac, y0 - 0.012), scale=0.8,
                 origin=(-0.5 if frac == 0 else (0.5 if frac == 1 else 0), 0.5), color=TEXT)
