"""The shape of the mode on screen, as an engineer draws it: each floor's sway (x) against the
floor (y), the base at 0. Shown in the plots region while the scene animates a mode shape (a
state with no measured history), where the live plots would be; the kiosk's mode steps then
fill the screen with the rig and its profile side by side.

It reads the state only: the current sway of each floor, and the pose of largest sway seen
since the step began as the two extremes (faint), normalised so that the largest floor sway is
1 (a mode shape has no amplitude of its own)."""

from __future__ import annotations

import numpy as np

from twin3d.view import layout
from twin3d.view.plot_drawing import LinePlot

REGION = "plots"
NOW = (0.35, 0.75, 1.0, 1.0)
EXTREME = (0.62, 0.66, 0.74, 0.55)


class ModeShapePlot:
    def __init__(self, n_floors: int):
        r = layout.region(REGION)
        self.n = n_floors
        self.plot = LinePlot(position=(r.x, r.top), size=(r.w, r.h), region=REGION,
                             title="sway of each floor", ylabel="floor (0: table)",
                             xlabel="sway, largest = 1", n_series=3,
                             colours=(NOW, EXTREME, EXTREME), labels=("now", "extremes", ""),
                             kind="curve", xlim=(-1.2, 1.2), ylim=(-0.25, n_floors + 0.25),
                             line_width=4.0)
        self.levels = np.arange(n_floors + 1, dtype=float)
        self.source = None
        self.peak = np.zeros(n_floors)
        self.plot.enabled = False

    def reset(self) -> None:
        self.source = None
        self.peak[:] = 0.0
        self.plot.enabled = False

    def update(self, state) -> bool:
        """Draw the state's shape if it is an animated mode (no history, a model source);
        returns whether the plot is shown."""
        u = np.asarray(state.floor_disp_m, dtype=float)
        show = state.history_t.size < 2 and state.source.startswith("model") and u.size == self.n
        self.plot.enabled = show
        if not show:
            return False
        if state.source != self.source:  # a new mode: its title, a fresh peak
            self.source = state.source
            self.peak[:] = 0.0
            self.plot.set_title(f"{state.source.removeprefix('model: ')}: sway of each floor")
        if np.max(np.abs(u)) > np.max(np.abs(self.peak)):
            self.peak = u.copy()
        scale = float(np.max(np.abs(self.peak))) or 1.0
        now = np.concatenate([[0.0], u / scale])
        ext = np.concatenate([[0.0], self.peak / scale])
        self._draw(now, ext)
        self.plot.set_marks("floors", points=np.column_stack([now, self.levels]), colour=NOW)
        return True

    def _draw(self, now: np.ndarray, ext: np.ndarray) -> None:
        # a curve plot shares one x among its series: the three lines (now, +extreme,
        # -extreme) lie end to end along x, and each series is NaN outside its own part
        n = self.levels.size
        gap = np.array([np.nan])
        xs = np.concatenate([now, gap, ext, gap, -ext])
        blank = np.full(n, np.nan)
        ys = [np.concatenate([self.levels, gap, blank, gap, blank]),
              np.concatenate([blank, gap, self.levels, gap, blank]),
              np.concatenate([blank, gap, blank, gap, self.levels])]
        self.plot.set_data(xs, ys)
