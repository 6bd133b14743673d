"""The monitoring trend: each tracked mode's frequency over the last hours, as its departure
from the model the twin holds now (%, the quantity the alarm watches: a stiffness change of a few
per cent moves a mode by about half as much, invisible on a 6-26 Hz axis), with calibrations
(green) and alarms raised (red) and cleared (grey) marked as vertical lines.

It draws `TwinState.trend` (twin3d.live.history_feed.Trend: the live side reads the history at
start and adds what it records); the scene never reads the database. Redrawn only when the
trend changes or the clock moves the window by a pixel column's worth."""

from __future__ import annotations

import numpy as np
from ursina import color

from twin3d.view import widgets as W

from twin3d.view.plot_drawing import PAD, LinePlot

MODE_COLOURS = ((0.35, 0.75, 1.0, 1.0), (1.0, 0.72, 0.2, 1.0), (0.75, 0.55, 1.0, 1.0),
                (0.5, 0.95, 0.6, 1.0))
# events as vertical lines, named in the legend while one is in view; none in a mode's colour
# (calibrations were drawn green beside mode 4's green and read as its data)
MARKS = {"calibration": color.rgba(0.95, 0.95, 1.0, 0.75), "raised": color.rgba(1.0, 0.3, 0.25, 0.9),
         "cleared": color.rgba(0.7, 0.72, 0.78, 0.6)}
MARK_LABELS = {"calibration": "| calibrated", "raised": "| alarm", "cleared": "| cleared"}


def departures_percent(hz: np.ndarray, model_hz) -> tuple[list[np.ndarray], list[float]]:
    """Each mode's frequencies as % from its reference: the model's where it has that mode,
    else the mode's own median (a trend without a model still shows its changes)."""
    ys, refs = [], []
    for k in range(min(hz.shape[1] if hz.ndim == 2 else 0, len(MODE_COLOURS))):
        col = hz[:, k]
        ref = float(model_hz[k]) if k < len(model_hz) and model_hz[k] > 0 else \
            float(np.nanmedian(col)) if np.isfinite(col).any() else np.nan
        ys.append(100.0 * (col / ref - 1.0) if np.isfinite(ref) else np.full(col.shape, np.nan))
        refs.append(ref)
    return ys, refs


SPANS_S = (600.0, 1800.0, 3600.0, 3 * 3600.0)  # the window shown grows with the data


def shown_span(trend) -> float:
    """The shortest of 10 min, 30 min, 1 h, 3 h that holds the oldest point or mark, else the
    whole trend: a twin started a minute ago shows its minute, not a sliver of six hours."""
    oldest = min(([float(np.min(trend.t))] if len(trend.t) else [])
                 + [m[0] for m in trend.marks], default=trend.now)
    age = trend.now - oldest
    return next((s for s in SPANS_S if s >= age and s < trend.span_s), trend.span_s)


class TrendPlot(LinePlot):
    def __init__(self, position=(-0.5, -0.19), size=(0.7, 0.25), **kwargs):
        super().__init__(position=position, size=size, title="trend",
                         xlabel="minutes before now", ylabel="% from model",
                         n_series=len(MODE_COLOURS), colours=MODE_COLOURS, line_width=1.5,
                         **kwargs)
        self._marks_drawn = {k: self._lines(c, z=-0.009, width=1.5) for k, c in MARKS.items()}
        # the x label right-aligned on its row; the store's status, small, left of it
        self.xlabel.origin = (0.5, -0.5)
        self.xlabel.x = self.ax1
        self.status = W.label("", self, (PAD, self.xlabel.y), W.TEXT_S, W.MUTED,
                              origin=(-0.5, -0.5))
        self._key = None
        self.n_marks = 0  # drawn by the last update (tests)
        self._marks_in_view: tuple = ()

    def _legend_entries(self) -> list[tuple[str, object]]:
        return super()._legend_entries() + [(MARK_LABELS[k], MARKS[k])
                                            for k in getattr(self, "_marks_in_view", ())]

    def show(self, state) -> None:
        trend = getattr(state, "trend", None)
        self.enabled = trend is not None
        if trend is None:
            return
        span_s = shown_span(trend)
        unit_s, unit = (60.0, "minutes") if span_s <= 3600 else (3600.0, "hours")
        # a pixel column is span/ncol: redraw when the window has moved by about one
        step = span_s / max(self.n_columns, 1)
        key = (trend.version, int(trend.now // step), tuple(state.model_hz), trend.status,
               span_s)
        if key == self._key:
            return
        self._key = key
        span_u = span_s / unit_s
        title = f"trend, last {span_u:g} {'h' if unit == 'hours' else 'min'}"
        self.set_title(title)
        if self.xlabel.source_text != f"{unit} before now":
            self.xlabel.text = f"{unit} before now"
        if self.status.source_text != trend.status:  # elided to the room the x label leaves
            self.status.wrap_width = max(self.ax1 - PAD - self.xlabel.measure(self.xlabel.text)
                                         - 0.02, 0.05)
            self.status.max_lines = 1
            self.status.text = trend.status
        ys, refs = departures_percent(trend.hz, state.model_hz)
        labels = tuple(f"f{k + 1} {r:.2f}" if np.isfinite(r) else f"f{k + 1}"
                       for k, r in enumerate(refs))
        if labels != self._labels:
            self.set_labels(labels)
        x = (trend.t - trend.now) / unit_s
        self.xlim = (-span_u, 0.0)
        if x.size and ys:
            self.set_data(x, ys)
        else:  # nothing tracked yet: the axes alone, around 0 %
            self.ylim = (-2.5, 2.5)
            self.set_data(np.array([-span_u, 0.0]), [np.full(2, np.nan)])
            self.ylim = None
        self._draw_trend_marks(trend, span_u, unit_s)

    def _draw_trend_marks(self, trend, span_u: float, unit_s: float) -> None:
        self.n_marks = 0
        in_view = []
        for kind, buf in self._marks_drawn.items():
            ts = np.array([t for t, k, _ in trend.marks if k == kind], dtype=float)
            xs = self._map((ts - trend.now) / unit_s, -span_u, 0.0, self.ax0, self.ax1)
            xs = xs[(xs >= self.ax0) & (xs <= self.ax1)]
            v = np.empty((2 * xs.size, 2))
            v[0::2, 0] = v[1::2, 0] = xs
            v[0::2, 1], v[1::2, 1] = self.ay0, self.ay1
            buf.write(v, np.arange(2 * xs.size))
            self.n_marks += int(xs.size)
            if xs.size:
                in_view.append(kind)
        if tuple(in_view) != self._marks_in_view:
            self._marks_in_view = tuple(in_view)
            self._layout_header()
