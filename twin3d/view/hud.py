"""Heads-up display: the caption (what is on screen and how it is magnified), a status block
(source, time, motor speed, sample rate, frame rate, counters), the drift colour legend, and
a kiosk subtitle. Sized to be read across a room at 1920x1080."""

from __future__ import annotations

import numpy as np
from ursina import Entity, Mesh, Text, camera, color

from twin3d.view.colours import DRIFT_COLOURS, DRIFT_STOPS

TEXT = color.rgba(0.92, 0.94, 0.98, 1)
DIM = color.rgba(0.70, 0.74, 0.82, 1)
WARN = color.rgba(1.0, 0.45, 0.3, 1)
STATUS_LINES = 7


class Hud:
    def __init__(self, drift_limit_m: float, title: str, kiosk: bool = False,
                 input_line: str | None = None):
        ui = camera.ui
        self.caption = Text("", parent=ui, position=(-0.86, 0.475), scale=1.6, color=TEXT)
        self.subcaption = Text("", parent=ui, position=(-0.86, 0.425), scale=1.05, color=DIM)
        # behind the text (larger z is further on the ui camera): at equal z the draw order
        # decided, and a line laid out before the box was drawn dimmed under it
        Entity(parent=ui, model="quad", position=(0.70, 0.36, 0.5), scale=(0.36, 0.25),
               color=color.rgba(0.05, 0.06, 0.08, 0.72))
        # one Text per line: a multi-line Text re-laid out draws its later lines dimmer
        self.status = [Text("", parent=ui, position=(0.535, 0.47 - 0.026 * i), scale=0.88,
                            color=TEXT) for i in range(STATUS_LINES)]
        self.alarm = [Text("", parent=ui, position=(0.535, 0.285 - 0.022 * i), scale=0.8,
                           color=WARN) for i in range(2)]
        self.subtitle = Text("", parent=ui, position=(-0.2 if kiosk else 0.0, -0.43),
                             origin=(0, 0), scale=1.35,
                             color=TEXT)
        self.legend = DriftLegend(drift_limit_m, (0.53, -0.44) if kiosk else (-0.86, -0.455))
        self.title = title
        self.input_line = input_line  # a structure alone: its input instead of the motor

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
        rate = f"  {state.sample_rate_hz:.0f} Hz" if state.sample_rate_hz else ""
        motor = self.input_line or \
            f"motor    {state.speed_rpm:8.1f} rpm  ({state.speed_rpm / 60:5.2f} Hz)"
        lines = [f"source   {state.source}{rate}",
                 f"time     {state.t:8.2f} s",
                 motor,
                 f"frame    {fps:5.1f} fps   motion x{magnification:g}"]
        c = state.counters
        if c:
            bad = c.get("invalid", 0) + c.get("crc_errors", 0) + c.get("duplicates", 0)
            lines.append(f"blocks {c.get('blocks', 0)}  gaps {c.get('gaps', 0)}  bad {bad}")
        if state.tracked_hz:  # beside the model's: their parting is what the alarm watches
            lines.append("tracked  " + _freqs(state.tracked_hz))
            lines.append("model    " + _freqs(state.model_hz))
        truth_hz = getattr(state, "truth_hz", ())
        if truth_hz:  # a simulated rig: its truth, and how far the estimate is from it
            lines.append("truth    " + _freqs(truth_hz))
            rel = getattr(state, "estimate_vs_truth_rel_rms", None)
            if rel is not None:
                lines.append(f"est vs truth {100 * rel:5.1f} % rms")
        lines += [""] * (STATUS_LINES - len(lines))
        for text, line in zip(self.status, lines):
            self._set(text, line if len(line) <= 34 else line[:33] + "…")
        alarm = state.alarm or ("" if state.status == "ok" else f"rig: {state.status.upper()}")
        wrapped = _wrap(alarm, 40, len(self.alarm)) + [""] * len(self.alarm)
        store = getattr(state, "history_warning", "")  # the history store down or wrong
        if store:  # the last line says so, whatever the alarm
            wrapped = wrapped[:len(self.alarm) - 1] + [_wrap(store, 40, 1)[0]]
        for text, line in zip(self.alarm, wrapped):
            self._set(text, line)


def _freqs(values) -> str:
    """Frequencies to fit the status box: two decimals below 10 Hz, one above; - if missing."""
    return " ".join("-" if not np.isfinite(f) else (f"{f:.2f}" if f < 10 else f"{f:.1f}")
                    for f in values) + " Hz"


def _wrap(text: str, width: int, lines: int) -> list[str]:
    """Word-wrap to at most `lines` lines of `width` characters (the last one cut with …)."""
    out, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        out.append(line)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][:width - 1] + "…"
    return out


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
