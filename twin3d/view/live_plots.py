"""The live plots in the layout's `plots` region: the last 10 s of the top floor's and the
table's acceleration, and under it their spectrum with the tracked and the model's natural
frequencies marked or, while the motor turns (kiosk), the crank speed since the step began,
where the Sommerfeld lingering shows: its axes follow the run-up and a dashed line marks the
speed that excites mode 1."""

from __future__ import annotations

import numpy as np

from twin3d.view import layout
from twin3d.view import widgets as W
from twin3d.view.plot_drawing import LinePlot, SpectrumPlot, TimePlot
from twin3d.view.plot_maths import SpeedTrace, speed_axes

COLOURS = ((0.35, 0.75, 1.0, 1.0), (1.0, 0.72, 0.2, 1.0))
SPEED = (0.6, 0.95, 0.6, 1.0)
REGION = "plots"
GAP = 0.012  # between the stacked plots


def _f_max(scene) -> float:
    """The spectrum's top: 40 Hz for the lab rig (its modes end at 27 Hz); for any other
    structure a quarter above its top mode, within the Nyquist frequency."""
    if scene.has_rig:
        return 40.0
    top = float(scene.frame_modes().frequencies_hz.max())
    return min(1.25 * top, scene.data.sampling.rate_hz / 2)


class LivePlots:
    """Two plots stacked in the `plots` region: the acceleration on top and, below, the
    spectrum, or the crank speed while the motor turns (kiosk, speed_plot=True): the region
    holds two plots that read at 3 m, not three that do not."""

    def __init__(self, scene, every_n_frames: int = 2, speed_plot: bool = True):
        sensors = scene.data.sensors
        top = max((s.floor, k) for k, s in sensors.items() if s.quantity == "floor_acceleration")
        self.floor = top[1]
        self.table = next((k for k, s in sensors.items() if s.quantity == "table_acceleration"),
                          None)
        names = [f"floor {top[0]}"] + (["table"] if self.table else [])
        r = layout.region(REGION)
        h = (r.h - GAP) / 2

        def at(i):
            return dict(position=(r.x, r.top - i * (h + GAP)), size=(r.w, h), region=REGION)

        # x units on the last tick ("236 s", "40 Hz"): the region is short, rows are precious
        self.acc = TimePlot(window_s=10.0, title="acceleration (m/s^2)", n_series=len(names),
                            xlabel="", xunit="s",
                            colours=COLOURS[:len(names)], labels=tuple(names), **at(0))
        self.psd = SpectrumPlot(n=4096, f_max=_f_max(scene), title="spectrum (dB)", ylabel="",
                                xlabel="", xunit="Hz",
                                n_series=len(names), colours=COLOURS[:len(names)],
                                labels=tuple(names), **at(1))
        self.rpm = LinePlot(title="crank speed (rpm)", xlabel="seconds since the step began",
                            colours=(SPEED,), **at(1))
        self.speed_plot = speed_plot
        self.trace = SpeedTrace()
        self.every, self.count = every_n_frames, 0
        self.visible, self.turning = True, False
        self._marked: tuple = ()
        self._show()

    def reset(self) -> None:
        self.count = 0
        self.trace.reset()
        self.rpm.ylim = None
        self.turning = False
        self._show()

    def _show(self) -> None:
        self.acc.enabled = self.visible
        self.psd.enabled = self.visible and not self.turning
        self.rpm.enabled = self.visible and self.turning

    def set_visible(self, visible: bool) -> None:
        if visible != self.visible:
            self.visible = visible
            self._show()

    def update(self, state) -> None:
        self.count += 1
        self.set_visible(state.history_t.size >= 2)  # a mode shape has no measured history
        if self.speed_plot:
            self.trace.add(state.t, state.speed_rpm)  # every frame: the shelf needs them all
            if not self.turning and abs(state.speed_rpm) > 1.0:  # until the next step
                self.turning = True
                self._show()
        if self.count % self.every or not self.visible:
            return
        h, t = state.history, state.history_t
        ys = [h[self.floor]] + ([h[self.table]] if self.table else [])
        self.acc.set_data(t, ys)
        if self.turning:
            self._draw_speed(state)
        elif self.count % (2 * self.every) == 0 and state.sample_rate_hz:
            self._mark_frequencies(state)
            n = min(t.size, 4096)
            self.psd.set_signal([y[-n:] for y in ys], state.sample_rate_hz)

    def _mark_frequencies(self, state) -> None:
        """The tracked natural frequencies (solid) and the model's (dashed) on the spectrum."""
        tracked = tuple(f for f in state.tracked_hz if np.isfinite(f))
        key = (tracked, tuple(state.model_hz))
        if key == self._marked:
            return
        self._marked = key
        self.psd.set_marks("model", xs=state.model_hz, colour=W.MUTED, dashed=True,
                           label="model" if len(state.model_hz) else "")
        self.psd.set_marks("tracked", xs=tracked, colour=W.OK,
                           label="tracked" if tracked else "")

    def _draw_speed(self, state) -> None:
        t, rpm = self.trace.arrays()
        if t.size < 2:
            return
        mode_rpm = 60.0 * state.model_hz[0] if len(state.model_hz) else None
        # the fastest speed of the whole step: the axis grows with the run-up, never shrinks
        self.rpm.xlim, self.rpm.ylim = speed_axes(float(t[-1]), float(np.max(rpm)), mode_rpm)
        if mode_rpm:
            self.rpm.set_marks("mode1", ys=(mode_rpm,), colour=W.WARN, dashed=True,
                               label=f"mode 1 ({mode_rpm:.0f} rpm)")
        self.rpm.set_data(t, [rpm])
