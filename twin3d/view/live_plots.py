"""The live plots beside the rig: the last 10 s of the top floor's and the table's
acceleration, their spectrum, and the crank speed (where the Sommerfeld stall shows)."""

from __future__ import annotations

import numpy as np

from twin3d.view.plot_drawing import SpectrumPlot, TimePlot

COLOURS = ((0.35, 0.75, 1.0, 1.0), (1.0, 0.72, 0.2, 1.0))


def _f_max(scene) -> float:
    """The spectrum's top: 40 Hz for the lab rig (its modes end at 27 Hz); for any other
    structure a quarter above its top mode, within the Nyquist frequency."""
    if scene.has_rig:
        return 40.0
    top = float(scene.frame_modes().frequencies_hz.max())
    return min(1.25 * top, scene.data.sampling.rate_hz / 2)


class LivePlots:
    def __init__(self, scene, x: float = 0.45, width: float = 0.42, every_n_frames: int = 2,
                 speed_plot: bool = True):
        sensors = scene.data.sensors
        top = max((s.floor, k) for k, s in sensors.items() if s.quantity == "floor_acceleration")
        self.floor = top[1]
        self.table = next((k for k, s in sensors.items() if s.quantity == "table_acceleration"),
                          None)
        self.speed = next((k for k, s in sensors.items() if s.quantity == "motor_speed"), None)
        names = [f"floor {top[0]}"] + (["table"] if self.table else [])
        h = 0.15 if speed_plot else 0.19
        self.acc = TimePlot(window_s=10.0, position=(x, 0.21), size=(width, h),
                            title="acceleration (m/s^2)", n_series=len(names),
                            colours=COLOURS[:len(names)], labels=tuple(names))
        self.psd = SpectrumPlot(n=4096, f_max=_f_max(scene), position=(x, 0.21 - h - 0.025),
                                size=(width, h),
                                title="spectrum", n_series=len(names),
                                colours=COLOURS[:len(names)], labels=tuple(names))
        self.rpm = TimePlot(window_s=10.0, position=(x, -0.14), size=(width, 0.12),
                            title="crank speed (rpm)", colours=((0.6, 0.95, 0.6, 1.0),))
        self.rpm.enabled = speed_plot
        self.speed_plot = speed_plot
        self.every, self.count = every_n_frames, 0
        self.visible = True

    def reset(self) -> None:
        self.count = 0

    def set_visible(self, visible: bool) -> None:
        if visible != self.visible:
            self.visible = visible
            for p in (self.acc, self.psd, self.rpm):
                p.enabled = visible
            self.rpm.enabled = visible and self.speed_plot

    def update(self, state) -> None:
        self.count += 1
        self.set_visible(state.history_t.size >= 2)  # a mode shape has no measured history
        if self.count % self.every or not self.visible:
            return
        h, t = state.history, state.history_t
        ys = [h[self.floor]] + ([h[self.table]] if self.table else [])
        self.acc.set_data(t, ys)
        if self.count % (2 * self.every) == 0 and state.sample_rate_hz:
            n = min(t.size, 4096)
            self.psd.set_signal([y[-n:] for y in ys], state.sample_rate_hz)
        if not self.speed_plot:
            return
        if self.speed in h:
            self.rpm.set_data(t, [h[self.speed]])
        else:
            self.rpm.set_data(t, [np.full(t.size, state.speed_rpm)])
