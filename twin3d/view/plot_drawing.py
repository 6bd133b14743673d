"""Line, time-history, spectrum and bar plots drawn in the UI layer (camera.ui).

Data lines are panda3d GeomLines whose vertex and index arrays are rewritten in place on every
update; rebuilding a Mesh (Mesh.generate) per frame is several times slower (HEADLESS.md 2.5).
Any number of samples is first reduced to one min/max pair per pixel column
(`twin3d.view.plot_maths`, where the ticks, ranges and spectra are computed too), so a million
samples cost one numba pass and a few thousand vertices. Needs a started Ursina app
(twin3d.view.engine.start).
"""

from __future__ import annotations

import numpy as np
from panda3d.core import (Geom, GeomEnums, GeomLines, GeomNode, GeomTriangles, GeomVertexData,
                          GeomVertexFormat, NodePath)
from ursina import Entity, camera, color, destroy, window

from twin3d.view import widgets as W
from twin3d.view.plot_maths import (AutoRange, bars_geometry, envelope_path, log_ticks,
                                    minmax_decimate, nice_ticks, psd_hann, tick_text, to_db)


class _Buffer:
    """A GeomNode of lines or triangles whose vertex and index arrays are rewritten in place.

    Capacity grows (one rebuild) only when a write needs more rows than the last one had."""

    def __init__(self, kind: str = "lines", capacity: int = 64):
        self.kind = kind
        self.node = GeomNode("plot_" + kind)
        self.np = NodePath(self.node)
        self._build(capacity)

    def _build(self, capacity: int) -> None:
        self.capacity = capacity
        vdata = GeomVertexData("v", GeomVertexFormat.getV3(), Geom.UHDynamic)
        vdata.unclean_set_num_rows(capacity)
        prim = (GeomLines if self.kind == "lines" else GeomTriangles)(Geom.UHDynamic)
        prim.set_index_type(GeomEnums.NT_uint32)
        geom = Geom(vdata)
        geom.add_primitive(prim)
        self.node.remove_all_geoms()
        self.node.add_geom(geom)

    def write(self, xy: np.ndarray, index: np.ndarray, z: float = 0.0) -> None:
        """xy: (n, 2) vertex positions; index: flat vertex indices (pairs or triples)."""
        n = len(xy)
        if n > self.capacity:
            self._build(max(n, 2 * self.capacity))
        geom = self.node.modify_geom(0)
        vdata = geom.modify_vertex_data()
        arr = vdata.modify_array(0)
        rows = max(n, 1)
        if arr.get_num_rows() != rows:
            arr.unclean_set_num_rows(rows)
        v = np.full((rows, 3), z, dtype=np.float32)
        v[:n, :2] = xy
        memoryview(arr).cast("B").cast("f")[:] = v.ravel()
        iarr = geom.modify_primitive(0).modify_vertices()
        index = np.ascontiguousarray(index, dtype=np.uint32).ravel()
        iarr.unclean_set_num_rows(len(index))
        if len(index):
            memoryview(iarr).cast("B").cast("I")[:] = index


class LinePlot(Entity):
    """An x-y plot in camera.ui: frame, 1-2-5 ticks with labels and grid, legend, up to 4 series.

    position is the top-left corner and size = (w, h), both in camera.ui units (1 = window
    height). set_data(x, ys) takes any number of samples; they are decimated to one min/max pair
    per pixel column. y autoscales with hysteresis unless ylim is given; x spans the data unless
    xlim is given. kind='bars' draws filled bars (histograms) instead of lines."""

    MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 0.095, 0.02, 0.05, 0.075

    def __init__(self, parent=None, position=(-0.5, 0.4), size=(0.8, 0.4), title: str = "",
                 xlabel: str = "", ylabel: str = "", n_series: int = 1, colours=None,
                 labels=(), kind: str = "line", logx: bool = False, logy: bool = False,
                 xlim=None, ylim=None, background=True, line_width: float = 2.0):
        super().__init__(parent=parent if parent is not None else camera.ui,
                         position=(position[0], position[1], 0))
        if not 1 <= n_series <= 4:
            raise ValueError(f"n_series must be 1..4, got {n_series}")
        self.size = (float(size[0]), float(size[1]))
        self.n_series, self.kind, self.logx, self.logy = n_series, kind, logx, logy
        self.xlim, self.ylim = xlim, ylim
        self.autorange = AutoRange()
        w, h = self.size
        self.ax0, self.ax1 = self.MARGIN_L, w - self.MARGIN_R
        self.ay1 = -self.MARGIN_T if title else -0.02
        self.ay0 = -h + self.MARGIN_B
        if background:
            W.box(self, (0, 0), self.size, W.PANEL, z=0.02)
        self.title = W.label(title, self, (0.015, -0.008), W.TEXT_M, W.TEXT)
        W.label(xlabel, self, ((self.ax0 + self.ax1) / 2, self.ay0 - 0.04), W.TEXT_S, W.MUTED,
                origin=(0, 0.5))
        yl = W.label(ylabel, self, (0.012, (self.ay0 + self.ay1) / 2), W.TEXT_S, W.MUTED,
                     origin=(0, 0.5))
        yl.rotation_z = -90
        self._grid = self._lines(color.rgba(1, 1, 1, 0.10))
        self._frame = self._lines(color.rgba(0.75, 0.8, 0.9, 0.9))
        self._frame.write(np.array([[self.ax0, self.ay0], [self.ax1, self.ay0],
                                    [self.ax1, self.ay1], [self.ax0, self.ay1]]),
                          np.array([0, 1, 1, 2, 2, 3, 3, 0]))
        colours = list(colours or W.SERIES)
        self.colours = [colours[i % len(colours)] for i in range(n_series)]
        self._series = [self._lines(c, z=-0.005 - 0.001 * i, width=line_width,
                                    kind="lines" if kind == "line" else "triangles")
                        for i, c in enumerate(self.colours)]
        self._xticks = [W.label("", self, (0, 0), W.TEXT_S, W.MUTED, origin=(0, 0.5))
                        for _ in range(12)]
        self._yticks = [W.label("", self, (0, 0), W.TEXT_S, W.MUTED, origin=(0.5, 0))
                        for _ in range(12)]
        self._tick_key = None
        self._legend = []
        self.set_labels(labels)
        self.xrange = (0.0, 1.0)
        self.yrange = (0.0, 1.0)
        self.n_drawn = 0  # vertices drawn by the last update (for tests and the bench)

    # geometry helpers
    def _lines(self, colour, z=-0.003, width=1.0, kind="lines"):
        buf = _Buffer(kind)
        e = Entity(parent=self, model=buf.np, color=colour, z=z)
        buf.np.set_render_mode_thickness(width)
        buf.entity = e
        return buf

    @property
    def n_columns(self) -> int:
        """Pixel columns of the plot area in the current window."""
        px_per_unit = float(window.size[1]) if window.size else 720.0
        return int(min(max((self.ax1 - self.ax0) * px_per_unit, 32), 4096))

    def set_labels(self, labels) -> None:
        """Legend entries (top right, on a dark backing so data never hides them)."""
        for t in self._legend:
            destroy(t)
        labels = [str(s) for s in labels][: self.n_series]
        self._legend = []
        y = self.ay1 - 0.012
        for i, s in enumerate(labels):
            if not s:
                continue
            t = W.label("\u2014 " + s, self, (self.ax1 - 0.014, y), W.TEXT_S, self.colours[i],
                        origin=(0.5, 0.5))
            self._legend.append(t)
            y -= 0.028
        if self._legend:
            width = max(t.width for t in self._legend) * W.TEXT_S + 0.02
            self._legend.append(W.box(self, (self.ax1 - 0.006 - width, self.ay1 - 0.006),
                                      (width, self.ay1 - y), W.LEGEND, z=-0.012))

    def _map(self, v, lo, hi, a0, a1):
        return a0 + (np.asarray(v, dtype=np.float64) - lo) * ((a1 - a0) / (hi - lo or 1.0))

    def set_data(self, x, ys) -> None:
        """Draw series ys (one array or a sequence of up to n_series arrays) against x."""
        x = np.asarray(x, dtype=np.float64)
        if isinstance(ys, np.ndarray) and ys.ndim == 1 or not isinstance(
                ys, (list, tuple, np.ndarray)):
            ys = [ys]
        ys = [np.asarray(y, dtype=np.float64) for y in ys][: self.n_series]
        if self.kind == "bars":
            return self._set_bars(x, ys)
        if self.logx:
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(x > 0, np.log10(np.where(x > 0, x, 1.0)), np.nan)
        if self.logy:
            with np.errstate(divide="ignore", invalid="ignore"):
                ys = [np.where(y > 0, np.log10(np.where(y > 0, y, 1.0)), np.nan) for y in ys]
        if self.xlim is not None:
            x0, x1 = (np.log10(self.xlim) if self.logx else self.xlim)
        else:
            fin = x[np.isfinite(x)]
            x0, x1 = (float(fin.min()), float(fin.max())) if fin.size else (0.0, 1.0)
        if x1 <= x0:
            x0, x1 = x0 - 0.5, x0 + 0.5
        ncol = self.n_columns
        envs = [minmax_decimate(x, y, x0, x1, ncol) for y in ys]
        self._update_axes(x0, x1, envs)
        ylo, yhi = self.yrange
        self.n_drawn = 0
        for i, buf in enumerate(self._series):
            if i >= len(envs):
                buf.write(np.zeros((0, 2)), np.zeros(0))
                continue
            xc, lo, hi = envs[i]
            n_in = int(np.count_nonzero((x >= x0) & (x <= x1)))
            v, seg = envelope_path(xc, np.clip(lo, ylo, yhi), np.clip(hi, ylo, yhi),
                                   dense=n_in >= ncol)
            v[:, 0] = self._map(v[:, 0], x0, x1, self.ax0, self.ax1)
            v[:, 1] = self._map(v[:, 1], ylo, yhi, self.ay0, self.ay1)
            buf.write(v, seg)
            self.n_drawn += len(v)

    def _update_axes(self, x0, x1, envs) -> None:
        self.xrange = (x0, x1)
        if self.ylim is not None:
            self.yrange = tuple(np.log10(self.ylim)) if self.logy else tuple(self.ylim)
        else:
            lo = [np.nanmin(e[1]) for e in envs if np.isfinite(e[1]).any()]
            hi = [np.nanmax(e[2]) for e in envs if np.isfinite(e[2]).any()]
            self.yrange = self.autorange.update(min(lo) if lo else np.nan,
                                                max(hi) if hi else np.nan)
        self._draw_ticks()

    def _draw_ticks(self) -> None:
        (x0, x1), (y0, y1) = self.xrange, self.yrange
        key = (x0, x1, y0, y1)
        if key == self._tick_key:
            return
        self._tick_key = key
        max_x = max(2, int((self.ax1 - self.ax0) / 0.11))  # labels need ~0.11 units each
        max_y = max(2, int((self.ay1 - self.ay0) / 0.06))
        xt = log_ticks(x0, x1, max_x) if self.logx else nice_ticks(x0, x1, max_x)
        yt = log_ticks(y0, y1, max_y) if self.logy else nice_ticks(y0, y1, max_y)
        xs = self._map(xt, x0, x1, self.ax0, self.ax1)
        ysc = self._map(yt, y0, y1, self.ay0, self.ay1)
        tick = 0.012
        pts, idx = [], []
        for px in xs:  # grid line + tick mark below the axis
            n = len(pts)
            pts += [(px, self.ay0 - tick), (px, self.ay1)]
            idx += [n, n + 1]
        for py in ysc:
            n = len(pts)
            pts += [(self.ax0 - tick, py), (self.ax1, py)]
            idx += [n, n + 1]
        self._grid.write(np.array(pts).reshape(-1, 2), np.array(idx))
        self._place(self._xticks, xt, xs, self.logx, x1 - x0, lambda t, p: (p, self.ay0 - 0.016))
        self._place(self._yticks, yt, ysc, self.logy, y1 - y0, lambda t, p: (self.ax0 - 0.016, p))

    def _place(self, pool, ticks, pos, log, span, where) -> None:
        step = ticks[1] - ticks[0] if len(ticks) > 1 else (span or 1.0)
        for i, t in enumerate(pool):
            t.enabled = i < len(ticks)
            if not t.enabled:
                continue
            value = 10.0 ** ticks[i] if log else ticks[i]
            text = f"{value:g}" if log else tick_text(value, step)
            if t.text != text:
                t.text = text
            x, y = where(ticks[i], pos[i])
            t.position = (x, y, -0.02)


    def _set_bars(self, x, ys) -> None:
        """Bars from 0 (or the nearest axis limit) to each y; x: centres or edges."""
        if len(x) == len(ys[0]) + 1:
            x0, x1 = float(x[0]), float(x[-1])
        else:
            half = 0.5 * (x[1] - x[0]) if len(x) > 1 else 0.5
            x0, x1 = float(x[0] - half), float(x[-1] + half)
        if self.xlim is not None:
            x0, x1 = self.xlim
        envs = []
        for y in ys:  # the bars' base (0) belongs in the range
            fin = y[np.isfinite(y)]
            lo = min(0.0, float(fin.min())) if fin.size else np.nan
            hi = max(0.0, float(fin.max())) if fin.size else np.nan
            envs.append((None, np.array([lo]), np.array([hi])))
        self._update_axes(x0, x1, envs)
        if self.ylim is None and all(not e[1][0] < 0 for e in envs):
            self.yrange = (0.0, self.yrange[1])  # counts: bars stand on the axis, no margin below
            self._draw_ticks()
        ylo, yhi = self.yrange
        base = min(max(0.0, ylo), yhi)
        self.n_drawn = 0
        for i, buf in enumerate(self._series):
            if i >= len(ys):
                buf.write(np.zeros((0, 2)), np.zeros(0))
                continue
            y = np.where(np.isfinite(ys[i]), np.clip(ys[i], ylo, yhi), base)
            v, tri = bars_geometry(x, y, base)
            v[:, 0] = self._map(np.clip(v[:, 0], x0, x1), x0, x1, self.ax0, self.ax1)
            v[:, 1] = self._map(v[:, 1], ylo, yhi, self.ay0, self.ay1)
            buf.write(v, tri)
            self.n_drawn += len(v)


class TimePlot(LinePlot):
    """A scrolling time history: the last `window_s` seconds up to the newest sample."""

    def __init__(self, window_s: float = 10.0, **kwargs):
        kwargs.setdefault("xlabel", "time (s)")
        super().__init__(**kwargs)
        self.window_s = float(window_s)

    def set_data(self, t, ys) -> None:
        t = np.asarray(t, dtype=np.float64)
        end = float(t[-1]) if t.size else 0.0
        self.xlim = (end - self.window_s, end)
        super().set_data(t, ys)


class SpectrumPlot(LinePlot):
    """Power spectral density in dB against frequency, of the last n samples (Hann window)."""

    def __init__(self, n: int = 4096, nperseg: int | None = None, f_max: float | None = None,
                 ref: float = 1.0, **kwargs):
        kwargs.setdefault("xlabel", "frequency (Hz)")
        kwargs.setdefault("ylabel", "PSD (dB)")
        super().__init__(**kwargs)
        self.n, self.nperseg, self.f_max, self.ref = n, nperseg, f_max, ref

    def set_signal(self, ys, fs: float) -> None:
        """ys: one signal or up to n_series signals sampled at fs."""
        if isinstance(ys, np.ndarray) and ys.ndim == 1:
            ys = [ys]
        spectra = [psd_hann(y, fs, self.n, self.nperseg) for y in ys]
        f = spectra[0][0]
        self.xlim = (f[1] if self.logx and len(f) > 1 else 0.0, self.f_max or fs / 2)
        self.set_data(f, [to_db(p, self.ref, floor_db=-200.0) for _, p in spectra])


def plot_from_spec(spec, parent=None, position=(-0.5, 0.4), size=(0.8, 0.4)) -> LinePlot:
    """Draw a twin3d.tools.Plot: its title, axes labels, series, log axes and kind."""
    ys = list(spec.ys)
    logy = bool(spec.logy)
    if logy and "dB" in (spec.ylabel or ""):  # dB requested: plot 20 log10|y| on a linear axis
        ys = [20.0 * np.log10(np.maximum(np.abs(np.asarray(y, dtype=float)), 1e-300))
              for y in ys]
        logy = False
    n = max(1, min(len(ys), 4))
    p = LinePlot(parent=parent, position=position, size=size, title=spec.title,
                 xlabel=spec.xlabel, ylabel=spec.ylabel, n_series=n, labels=spec.labels,
                 kind="bars" if spec.kind == "bars" else "line", logx=bool(spec.logx),
                 logy=logy)
    p.set_data(spec.x, ys[:4])
    return p
