"""Heads-up display: the caption (what is on screen and how it is magnified) and the line
under it (layout region `header`), a status block (source, time, motor speed, sample rate,
frame rate, counters; region `hud`) with the alarm under it where there is no alarm banner
(kiosk, stills), the drift colour legend (`legend`), and the kiosk's caption (`caption`).
Sized to be read across a room at 1920x1080; every line wraps within its region. The
operator lines (frame rate, block counters, the clock) are shown in the operator view only:
a visitor or a still picture has no use for them."""

from __future__ import annotations

import numpy as np
from ursina import Entity, Mesh, camera

from twin3d.view import layout
from twin3d.view import widgets as W
from twin3d.view.colours import (DISPLACEMENT_COLOURS, DISPLACEMENT_STOPS, DRIFT_COLOURS,
                                 DRIFT_STOPS)

STATUS_LINES = 7
CAPTION = 1.4  # the header caption's text scale (38 px at 1080p)
CAPTION_LINES = 4  # the kiosk caption's most lines (region `caption` holds them)
STATUS = 0.9  # the status block's
PAD = 0.012


class Hud:
    def __init__(self, drift_limit_m: float, title: str, kiosk: bool = False,
                 input_line: str | None = None, operator: bool = True, n_storeys: int = 1):
        ui = camera.ui
        self.operator = operator
        self.caption = layout.place(W.label("", scale=CAPTION), "header", max_lines=2)
        self.subcaption = layout.place(W.label("", scale=W.TEXT_M, colour=W.MUTED), "header",
                                       at=(0, CAPTION * W.Text.size), max_lines=2)
        hud = layout.region("hud")
        # behind the text (larger z is further on the ui camera): at equal z the draw order
        # decided, and a line laid out before the box was drawn dimmed under it; sized to the
        # lines shown in update()
        self.box = layout.register(W.box(ui, (hud.x, hud.top), (hud.w, hud.h), W.PANEL, z=0.5),
                                   "hud")
        self._line_h = 1.15 * STATUS * W.Text.size
        # one Text per line: a multi-line Text re-laid out draws its later lines dimmer
        self.status = [layout.place(W.label("", scale=STATUS), "hud",
                                    at=(PAD, PAD + self._line_h * i), max_lines=1)
                       for i in range(STATUS_LINES)]
        self.alarm = [layout.place(W.label("", scale=W.TEXT_M, colour=W.ERROR), "hud",
                                   at=(PAD, 0), max_lines=1, width=hud.w - 2 * PAD)
                      for _ in range(2)]
        self.subtitle = self.subtitle_box = None
        if kiosk:  # the tour step's words, centred under the rig on a band of their own
            cap = layout.region("caption")
            self.subtitle_box = layout.register(
                W.box(ui, (cap.x, cap.top), (cap.w, cap.h), W.PANEL, z=0.5), "caption")
            self.subtitle = layout.place(W.label("", scale=W.TEXT_L), "caption", origin_x=0,
                                         max_lines=CAPTION_LINES)
        self.legend = DriftLegend(drift_limit_m, layout.region("legend"), n_storeys=n_storeys)
        self.title = title
        self.input_line = input_line  # a structure alone: its input instead of the motor

        self._next_status = 0.0

    @staticmethod
    def _set(text, value: str) -> bool:
        if text.source_text != value:  # re-laying out a Text costs more than drawing the rig
            text.text = value
            text.color = text.color  # new lines would otherwise take Ursina's default colour
            return True
        return False

    def set_subtitle(self, value: str) -> None:
        """The kiosk caption, its last line on the region's bottom edge, its band behind."""
        if self.subtitle is None or not self._set(self.subtitle, value):
            return
        cap, line_h = layout.region("caption"), W.TEXT_L * W.Text.size
        n = self.subtitle.text.count("\n") + 1 if value else 0
        top = cap.h - n * line_h - 2 * PAD  # from the region's top
        layout.place(self.subtitle, "caption", at=(0, top + PAD), origin_x=0,
                     max_lines=CAPTION_LINES)
        self.subtitle_box.enabled = n > 0
        self.subtitle_box.y, self.subtitle_box.scale_y = cap.top - top, cap.h - top

    def update(self, state, fps: float, magnification: float, caption: str,
               subcaption: str = "", wall: float = 0.0) -> None:
        if self._set(self.caption, caption):  # the line under it follows the caption's lines
            lines = self.caption.text.count("\n") + 1
            layout.place(self.subcaption, "header",
                         at=(0, lines * CAPTION * W.Text.size + 0.004), max_lines=3 - lines)
        self._set(self.subcaption, subcaption or self.title)
        if wall < self._next_status:
            return
        self._next_status = wall + 0.25  # status block: four times a second
        lines = self.status_lines(state, fps, magnification)
        shown = sum(1 for line in lines if line)
        lines += [""] * (STATUS_LINES - len(lines))
        for text, line in zip(self.status, lines):
            self._set(text, line)
        # the operator view's alarm banner (view/alarm_banner.py) carries these there
        alarm = "" if self.operator else \
            state.alarm or ("" if state.status == "ok" else f"rig: {state.status.upper()}")
        store = "" if self.operator else getattr(state, "history_warning", "")
        wrapped = W.wrap_measured(alarm, self.alarm[0].wrap_width, self.alarm[0].measure,
                                  len(self.alarm)).split("\n") if alarm else []
        if store:  # the last line says so, whatever the alarm
            n = len(self.alarm) - 1
            wrapped = (wrapped[:n] + [""] * n)[:n] + [store]
        wrapped += [""] * (len(self.alarm) - len(wrapped))
        y = PAD + shown * self._line_h + (0.006 if shown else 0)
        for i, (text, line) in enumerate(zip(self.alarm, wrapped)):
            self._set(text, line)
            if getattr(text, "layout_y", None) != y:  # under the status lines shown
                text.layout_y = y
                layout.place(text, "hud", at=(PAD, y + i * 1.1 * W.TEXT_M * W.Text.size),
                             width=text.wrap_width, max_lines=1)
        used = max((i + 1 for i, line in enumerate(wrapped) if line), default=0)
        height = y + used * 1.1 * W.TEXT_M * W.Text.size + PAD
        self.box.enabled = shown + used > 0
        self.box.scale_y = min(height, layout.region("hud").h)

    def status_lines(self, state, fps: float, magnification: float) -> list[str]:
        """The status block's lines; the operator's own (clock, frame rate, counters) only in
        the operator view, and no "source model: mode K" where the caption names the mode."""
        rate = f"  {state.sample_rate_hz:.0f} Hz" if state.sample_rate_hz else ""
        motor = self.input_line or \
            f"motor    {state.speed_rpm:8.1f} rpm  ({state.speed_rpm / 60:5.2f} Hz)"
        lines = []
        if self.operator or not state.source.startswith("model"):  # the caption names it
            lines.append(f"source   {state.source}{rate}")
        if self.operator:
            lines.append(f"time     {state.t:8.2f} s")
        if self.operator or not state.source.startswith("model"):
            lines.append(motor)  # a mode shape or a still: the motor plays no part
        if self.operator:
            lines.append(f"frame    {fps:5.1f} fps   motion x{magnification:g}")
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
        return lines[:STATUS_LINES]


def _freqs(values) -> str:
    """Frequencies to fit the status box: two decimals below 10 Hz, one above; - if missing."""
    return " ".join("-" if not np.isfinite(f) else (f"{f:.2f}" if f < 10 else f"{f:.1f}")
                    for f in values) + " Hz"


class DriftLegend:
    """A horizontal colour bar for the frame's colour map, with its ticks in mm, filling the
    width of `area` (a layout.Rect): title, bar, ticks from its top down. The map is the one
    the rig is drawn with (materials.LOOK.colour): each storey's drift against the limit, or
    (`--colour displacement`) the sway from the base against n_storeys x the limit."""

    def __init__(self, limit_m: float, area, height: float = 0.02, n_storeys: int = 1):
        from twin3d.view.materials import LOOK

        sway = LOOK.colour == "displacement"
        stops, palette = (DISPLACEMENT_STOPS, DISPLACEMENT_COLOURS) if sway else \
            (DRIFT_STOPS, DRIFT_COLOURS)
        full = limit_m * (n_storeys if sway else 1)
        ui = camera.ui
        title_h = W.TEXT_S * W.Text.size
        x0, width = area.x + PAD, area.w - 2 * PAD
        y0 = area.top - title_h - 0.008 - height  # the bar's bottom edge
        n = 32
        r = np.linspace(0, 1, n + 1)
        cols = np.stack([np.interp(r, stops, palette[:, c]) for c in range(4)], -1)
        verts, colours, tris = [], [], []
        for i in range(n + 1):
            x = x0 + width * r[i]
            verts += [(x, y0, 0), (x, y0 + height, 0)]
            colours += [tuple(cols[i]), tuple(cols[i])]
        for i in range(n):
            a = 2 * i
            tris += [(a, a + 2, a + 3), (a, a + 3, a + 1)]
        self.root = layout.register(Entity(parent=ui), "legend")
        self.bar = Entity(parent=self.root, model=Mesh(vertices=verts, triangles=tris,
                                                       colors=colours))
        title = "sway from the base (true, mm)" if sway else "storey drift (true, mm)"
        self.title = W.label(title, self.root, (x0, area.top), W.TEXT_S)
        self.ticks = []
        for frac in (0.0, 0.5, 1.0):
            text = f"{1000 * full * frac:.1f}" + (" limit" if frac == 1.0 and not sway else "")
            self.ticks.append(W.label(text, self.root, (x0 + width * frac, y0 - 0.006),
                                      W.TEXT_S, origin=(-0.5 if frac == 0 else
                                                        (0.5 if frac == 1 else 0), 0.5)))
