"""The scene's "calibrate" action: a button that has the live twin calibrate its model from
the next seconds of the rig's data, a progress bar while it collects and fits, and the
outcome in one line (the new model's frequencies, or the refusal with its number). The panel
only starts the feed's calibration and shows its state; the fitting is the feed's."""

from __future__ import annotations

from ursina import Entity, camera

from twin3d.view import widgets as W

SECONDS = 60.0  # of data: about 45 averages of the lowest mode's record length


class CalibrationPanel(Entity):
    def __init__(self, feed, position=(-0.87, -0.265), size=(0.3, 0.118), seconds=SECONDS):
        super().__init__(parent=camera.ui, position=(position[0], position[1], 0))
        self.feed, self.seconds = feed, seconds
        w, h = size
        pad = 0.012
        W.box(self, (0, 0), (w, h), W.PANEL, z=0.02)
        self.button = W.button(f"calibrate model ({seconds:g} s)", self, (pad, -pad),
                               (w - 2 * pad, 0.04), on_click=self.press)
        self._bar_w = w - 2 * pad
        W.box(self, (pad, -0.058), (self._bar_w, 0.01), W.FIELD, z=-0.005)
        self._fill = W.box(self, (pad, -0.058), (1e-4, 0.01), W.ACCENT, z=-0.01)
        lines = max(1, int((h - 0.072 - pad / 2) / (W.TEXT_S * W.Text.size)))
        self._line = W.label("", self, (pad, -0.072), W.TEXT_S, W.MUTED,
                             wrap_width=w - 2 * pad, max_lines=lines)
        self._seen = None

    def press(self) -> None:
        self.feed.calibrate(self.seconds)

    def update(self) -> None:
        cal = getattr(self.feed, "calibration", None)
        model = getattr(self.feed, "profile_name", "")
        progress = cal.progress if cal is not None and cal.active else None
        words = cal.message if cal is not None else f"model: {model}"
        seen = (progress, words)
        if seen == self._seen:
            return
        self._seen = seen
        self._fill.scale_x = max((progress or 0.0) * self._bar_w, 1e-4)
        self._line.text = words
        refused = cal is not None and cal.state == "refused"
        self._line.color = W.WARN if refused else (W.OK if cal is not None and
                                                    cal.state == "done" else W.MUTED)
        self.button.disabled = progress is not None
