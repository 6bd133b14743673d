"""Line, time-history, spectrum, curve (Nyquist) and bar plots drawn in the UI layer (camera.ui).

Each plot reads at 3 m: a header (title, y label, legend) above the data, never over it; 3-6
ticks whose labels never touch (`plot_maths.fit_ticks`); text no smaller than widgets.TEXT_S;
marks for frequencies and critical points. Data lines are panda3d GeomLines whose vertex and
index arrays are rewritten in place on every update; rebuilding a Mesh (Mesh.generate) per
frame is several times slower (HEADLESS.md 2.5). Any number of samples is first reduced to one
min/max pair per pixel column (`twin3d.view.plot_maths`, where the ticks, ranges and spectra
are computed too), so a million samples cost one numba pass and a few thousand vertices.
Needs a started Ursina app (twin3d.view.engine.start).
"""

from __future__ import annotations

import re

import numpy as np
from panda3d.core import (Geom, GeomEnums, GeomLines, GeomNode, GeomTriangles, GeomVertexData,
                          GeomVertexFormat, NodePath)
from ursina import Entity, Text, camera, color, destroy, window

from twin3d.view import widgets as W
from twin3d.view.plot_maths import (AutoRange, bars_geometry, curve_path, dashes, envelope_path,
                                    equal_aspect, fit_ticks, flow, minmax_decimate, padded_limits,
                                    psd_hann, to_db)


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


CHAR_W = 0.6  # a digit's width per text height in Ursina's font (measured 0.574)
PAD = 0.01  # inside the plot's box, camera.ui units
TICK = 0.008  # tick mark length


def text_h(scale: float) -> float:
    """The height of a text line at `scale` in camera.ui units (Text.size = 0.025)."""
    return Text.size * scale


def readable_height(header_rows: int = 2, xlabel: bool = True, data_lines: int = 5) -> float:
    """The least box height (camera.ui units) in which a plot reads: its header rows, the
    tick labels, the x label row and a data area `data_lines` text lines tall (5: about 110 px
    at 1080p, room for 3 y tick labels). Whoever lays plots out gives each at least this."""
    hs = text_h(W.TEXT_S)
    header = 1.2 * text_h(W.TEXT_M) + 1.2 * hs * max(header_rows - 1, 0) + 0.6 * hs
    return 2 * PAD + header + data_lines * hs + TICK + 1.25 * hs + (1.2 * hs if xlabel else 0.0)


class LinePlot(Entity):
    """An x-y plot in camera.ui: a header (title, y label, legend) above the data, ticks that fit
    their labels, up to 4 series, and marks (tracked/model frequencies, the -1 point).

    position is the top-left corner and size = (w, h), both in camera.ui units (1 = window
    height). Nothing is drawn over the data but the data and its marks: the legend flows in
    rows under the title, the y label beside it, horizontal. set_data(x, ys) takes any number of
    samples; kind='line' decimates them to one min/max pair per pixel column (y = f(x)),
    kind='curve' draws a parametric curve in order (x need not be monotonic: a Nyquist curve),
    kind='bars' filled bars (histograms). y autoscales with hysteresis unless ylim is given; x
    spans the data unless xlim is given. region: the layout region its text is reported under;
    xunit: a short x unit written on the last x tick label instead of an x label row."""

    MARGIN_L = PAD + 6.5 * CHAR_W * Text.size * W.TEXT_S + TICK + 0.006  # room for "-0.025"
    MARGIN_R = 0.035  # half a tick label past the last tick

    def __init__(self, parent=None, position=(-0.5, 0.4), size=(0.8, 0.4), title: str = "",
                 xlabel: str = "", ylabel: str = "", n_series: int = 1, colours=None,
                 labels=(), kind: str = "line", logx: bool = False, logy: bool = False,
                 xlim=None, ylim=None, background=True, line_width: float = 2.0,
                 equal_aspect: bool = False, region: str | None = None, xunit: str = ""):
        super().__init__(parent=parent if parent is not None else camera.ui,
                         position=(position[0], position[1], 0))
        if not 1 <= n_series <= 4:
            raise ValueError(f"n_series must be 1..4, got {n_series}")
        if kind not in ("line", "curve", "bars"):
            raise ValueError(f"kind must be line, curve or bars, got {kind!r}")
        if region:
            from twin3d.view import layout
            layout.register(self, region)
        self.size = (float(size[0]), float(size[1]))
        self.n_series, self.kind, self.logx, self.logy = n_series, kind, logx, logy
        self.xlim, self.ylim, self.equal_aspect = xlim, ylim, equal_aspect
        self.xunit = xunit  # on the last x tick label ("40 Hz"): the x label without its row
        self.autorange = AutoRange()
        w, h = self.size
        self.ax0, self.ax1 = self.MARGIN_L, w - self.MARGIN_R
        self.ay1 = -PAD
        self.ay0 = -h + PAD + 1.25 * text_h(W.TEXT_S) + TICK + (
            1.2 * text_h(W.TEXT_S) if xlabel else 0.0)
        if background:
            W.box(self, (0, 0), self.size, W.PANEL, z=0.02)
        self.title = W.label(title, self, (PAD, -PAD), W.TEXT_M, W.TEXT)
        self.ylabel = W.label(ylabel, self, (0, 0), W.TEXT_S, W.MUTED)
        self.xlabel = W.label(xlabel, self, ((self.ax0 + self.ax1) / 2, -h + PAD), W.TEXT_S,
                              W.MUTED, origin=(0, -0.5), wrap_width=self.ax1 - self.ax0,
                              max_lines=1)
        self._grid = self._lines(color.rgba(1, 1, 1, 0.10))
        self._frame = self._lines(color.rgba(0.75, 0.8, 0.9, 0.9))
        colours = list(colours or W.SERIES)
        self.colours = [colours[i % len(colours)] for i in range(n_series)]
        self.line_width = line_width
        self._series = [self._lines(c, z=-0.005 - 0.001 * i, width=line_width,
                                    kind="triangles" if kind == "bars" else "lines")
                        for i, c in enumerate(self.colours)]
        self._xticks = [W.label("", self, (0, 0), W.TEXT_S, W.MUTED, origin=(0, 0.5))
                        for _ in range(8)]
        self._yticks = [W.label("", self, (0, 0), W.TEXT_S, W.MUTED, origin=(0.5, 0))
                        for _ in range(8)]
        self._tick_key = None
        self._legend: list = []
        self._legend_key: list | None = None
        self._labels: tuple = ()
        self._marks: dict[str, dict] = {}
        self.xrange = (0.0, 1.0)
        self.yrange = (0.0, 1.0)
        self.xticks, self.yticks = np.zeros(0), np.zeros(0)  # drawn ticks (data units; log10)
        self.n_drawn = 0  # vertices drawn by the last update (for tests and the bench)
        self.set_labels(labels)

    # geometry helpers
    def _lines(self, colour, z=-0.003, width=1.0, kind="lines"):
        buf = _Buffer(kind)
        e = Entity(parent=self, model=buf.np, color=colour, z=z)
        # line widths are pixels: scale with the window so a 4K screen is not hairlines
        buf.np.set_render_mode_thickness(width * max(1.0, self._px_per_unit() / 1080.0))
        buf.entity = e
        return buf

    @staticmethod
    def _px_per_unit() -> float:
        return float(window.size[1]) if window.size else 720.0

    @property
    def n_columns(self) -> int:
        """Pixel columns of the plot area in the current window."""
        return int(min(max((self.ax1 - self.ax0) * self._px_per_unit(), 32), 4096))

    # --- header: title, y label and legend, flowing in rows above the data ------------------
    def set_title(self, title: str) -> None:
        """A new title; the header reflows under it."""
        if title != self.title.source_text:
            self.title.text = title
            self._layout_header()

    def set_labels(self, labels) -> None:
        """The series' legend entries (empty ones are left out)."""
        self._labels = tuple(str(s) for s in labels)[: self.n_series]
        self._layout_header()

    def _legend_entries(self) -> list[tuple[str, object]]:
        out = [("\u2014 " + s, self.colours[i]) for i, s in enumerate(self._labels) if s]
        for m in self._marks.values():
            if m["label"]:
                out.append((m["glyph"] + " " + m["label"], m["colour"]))
        return out

    def _layout_header(self) -> None:
        """Title first, then the y label and the legend entries, left to right in rows as wide
        as the plot; the data area starts below the last row."""
        row_w = self.size[0] - 2 * PAD
        entries = self._legend_entries()
        if entries != self._legend_key:  # new entries: new labels (a title alone keeps them)
            # (made anew on every reflow, each label left a prepared texture behind: +4 a loop
            # of the kiosk tour, found by its soak test)
            for t in self._legend:
                destroy(t)
            self._legend = [W.label(text, self, (0, 0), W.TEXT_S, colour, wrap_width=row_w,
                                    max_lines=1) for text, colour in entries]
            self._legend_key = entries
        hs, hm = text_h(W.TEXT_S), text_h(W.TEXT_M)
        self.title.wrap_width, self.title.max_lines = row_w, 1
        self.title.text = self.title.source_text
        items = [self.title] if self.title.source_text else []
        if self.ylabel.source_text:
            self.ylabel.wrap_width, self.ylabel.max_lines = row_w, 1
            self.ylabel.text = self.ylabel.source_text
            items.append(self.ylabel)
        items += self._legend
        gap = 1.2 * CHAR_W * hs
        places = flow([t.measure(t.text) for t in items], row_w, gap)
        row_h = [1.2 * (hm if t is self.title else hs) for t in items]
        tops = [0.0]
        for (row, _), rh in zip(places, row_h):
            while len(tops) <= row + 1:
                tops.append(tops[-1])
            tops[row + 1] = max(tops[row + 1], tops[row] + rh)
        for t, (row, x), rh in zip(items, places, row_h):
            # smaller text is centred in the row against the taller title
            down = 0.5 * (tops[row + 1] - tops[row] - rh)
            t.position = (PAD + x, -PAD - tops[row] - down, -0.02)
        bottom = tops[-1] if items else 0.0
        # the top y tick label reaches half a line above the top of the data: keep it clear
        self.ay1 = -PAD - bottom - (0.6 * hs if items else 0.5 * hs)
        self.ay1 = max(self.ay1, self.ay0 + 0.01)  # a box too short for its header: no inversion
        self._frame.write(np.array([[self.ax0, self.ay0], [self.ax1, self.ay0],
                                    [self.ax1, self.ay1], [self.ax0, self.ay1]]),
                          np.array([0, 1, 1, 2, 2, 3, 3, 0]))
        self._tick_key = None

    # --- marks: vertical/horizontal lines and points in data units ----------------------
    def set_marks(self, key: str, xs=(), ys=(), points=(), colour=W.TEXT, dashed: bool = False,
                  label: str = "") -> None:
        """Lines at x = each of xs (vertical) and y = each of ys (horizontal), and crosses at
        points [(x, y)], in data units, with a legend entry `label` (in the header). Marks
        outside the axes are not drawn; they never change the axes' range except `points` of
        a curve plot (the -1 point of a Nyquist plot is always in view)."""
        m = self._marks.get(key)
        if m is None:
            buf = self._lines(colour, z=-0.004, width=max(1.5, self.line_width - 0.5))
            m = self._marks[key] = {"buf": buf, "label": ""}
        m.update(xs=np.asarray(xs, dtype=float).ravel(), ys=np.asarray(ys, dtype=float).ravel(),
                 points=np.asarray(points, dtype=float).reshape(-1, 2), colour=colour,
                 dashed=dashed, glyph="+" if len(points) else ("- -" if dashed else "\u2014"))
        m["buf"].entity.color = colour
        if label != m["label"]:
            m["label"] = label
            self._layout_header()
        self._draw_marks()

    def _draw_marks(self) -> None:
        (x0, x1), (y0, y1) = self.xrange, self.yrange
        dash, gap = 0.012, 0.008
        for m in self._marks.values():
            segs = []
            lx = np.log10(np.where(m["xs"] > 0, m["xs"], np.nan)) if self.logx else m["xs"]
            for px in self._map(lx[(lx >= x0) & (lx <= x1)], x0, x1, self.ax0, self.ax1):
                runs = dashes(self.ay0, self.ay1, dash, gap) if m["dashed"] else \
                    np.array([[self.ay0, self.ay1]])
                segs += [((px, a), (px, b)) for a, b in runs]
            ly = np.log10(np.where(m["ys"] > 0, m["ys"], np.nan)) if self.logy else m["ys"]
            for py in self._map(ly[(ly >= y0) & (ly <= y1)], y0, y1, self.ay0, self.ay1):
                runs = dashes(self.ax0, self.ax1, dash, gap) if m["dashed"] else \
                    np.array([[self.ax0, self.ax1]])
                segs += [((a, py), (b, py)) for a, b in runs]
            arm = 0.018
            for x, y in m["points"]:
                if x0 <= x <= x1 and y0 <= y <= y1:
                    px = float(self._map(x, x0, x1, self.ax0, self.ax1))
                    py = float(self._map(y, y0, y1, self.ay0, self.ay1))
                    segs += [((px - arm, py), (px + arm, py)), ((px, py - arm), (px, py + arm))]
            v = np.array(segs, dtype=float).reshape(-1, 2)
            m["buf"].write(v, np.arange(len(v)))

    def _map(self, v, lo, hi, a0, a1):
        return a0 + (np.asarray(v, dtype=np.float64) - lo) * ((a1 - a0) / (hi - lo or 1.0))

    @staticmethod
    def _log(v):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)

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
            x = self._log(x)
        if self.logy:
            ys = [self._log(y) for y in ys]
        if self.kind == "curve":
            return self._set_curve(x, ys)
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

    def _set_curve(self, x, ys) -> None:
        """Each series a curve through (x[i], y[i]) in order; limits from the data and the
        marks' points, equal scales on both axes when equal_aspect."""
        pts = [m["points"] for m in self._marks.values() if len(m["points"])]
        px = np.concatenate([p[:, 0] for p in pts]) if pts else np.zeros(0)
        py = np.concatenate([p[:, 1] for p in pts]) if pts else np.zeros(0)
        xl = self.xlim if self.xlim is not None else padded_limits(np.concatenate([x, px]))
        yl = self.ylim if self.ylim is not None else padded_limits(np.concatenate([*ys, py]))
        area_w, area_h = self.ax1 - self.ax0, self.ay1 - self.ay0
        if self.equal_aspect:  # round stays round, within a 2x stretch in a flat box
            xl, yl = equal_aspect(xl, yl, area_w, area_h, max_stretch=2.0)
        self.xrange, self.yrange = tuple(map(float, xl)), tuple(map(float, yl))
        self._draw_ticks()
        ppu = self._px_per_unit()
        self.n_drawn = 0
        for i, buf in enumerate(self._series):
            if i >= len(ys):
                buf.write(np.zeros((0, 2)), np.zeros(0))
                continue
            v, seg = curve_path(x, ys[i], xl, yl, area_w * ppu, area_h * ppu)
            v[:, 0] = self._map(v[:, 0], *xl, self.ax0, self.ax1)
            v[:, 1] = self._map(v[:, 1], *yl, self.ay0, self.ay1)
            buf.write(v, seg)
            self.n_drawn += len(v)
        self._draw_marks()

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
        self._draw_marks()

    def _draw_ticks(self) -> None:
        (x0, x1), (y0, y1) = self.xrange, self.yrange
        key = (x0, x1, y0, y1, self.ay1)
        if key == self._tick_key:
            return
        self._tick_key = key
        hs = text_h(W.TEXT_S)
        cw = CHAR_W * hs
        xt, xtext = fit_ticks(x0, x1, self.ax1 - self.ax0, hs, cw, False, self.logx,
                              unit=self.xunit)
        yt, ytext = fit_ticks(y0, y1, self.ay1 - self.ay0, hs, cw, True, self.logy)
        self.xticks, self.yticks = xt, yt
        xs = self._map(xt, x0, x1, self.ax0, self.ax1)
        ysc = self._map(yt, y0, y1, self.ay0, self.ay1)
        pts, idx = [], []
        for px in xs:  # grid line + tick mark below the axis
            n = len(pts)
            pts += [(px, self.ay0 - TICK), (px, self.ay1)]
            idx += [n, n + 1]
        for py in ysc:
            n = len(pts)
            pts += [(self.ax0 - TICK, py), (self.ax1, py)]
            idx += [n, n + 1]
        self._grid.write(np.array(pts, dtype=float).reshape(-1, 2), np.array(idx))
        w = self.size[0]
        for i, t in enumerate(self._xticks):
            t.enabled = i < len(xt) and bool(xtext[i])
            if not t.enabled:
                continue
            if t.text != xtext[i]:
                t.text = xtext[i]
            half = 0.5 * t.measure(t.text)  # kept inside the box at both ends
            t.position = (min(max(float(xs[i]), half + 0.002), w - half - 0.002),
                          self.ay0 - TICK - 0.003, -0.02)
        for i, t in enumerate(self._yticks):
            t.enabled = i < len(yt) and bool(ytext[i])
            if not t.enabled:
                continue
            if t.text != ytext[i]:
                t.text = ytext[i]
            t.position = (self.ax0 - TICK - 0.004, float(ysc[i]), -0.02)

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
    """A scrolling time history of the last `window_s` seconds, on an axis of seconds before
    the newest sample (-10 ... 0): short tick labels that stay put while the data scrolls."""

    def __init__(self, window_s: float = 10.0, **kwargs):
        kwargs.setdefault("xlabel", "seconds before now")
        super().__init__(**kwargs)
        self.window_s = float(window_s)
        self.xlim = (-self.window_s, 0.0)
        self.t_end = 0.0  # the newest sample's time (x = 0)

    def set_data(self, t, ys) -> None:
        t = np.asarray(t, dtype=np.float64)
        self.t_end = float(t[-1]) if t.size else 0.0
        super().set_data(t - self.t_end, ys)


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


def _monotonic(x) -> bool:
    d = np.diff(np.asarray(x, dtype=float))
    d = d[np.isfinite(d)]
    return bool(np.all(d >= 0) or np.all(d <= 0))


def plot_from_spec(spec, parent=None, position=(-0.5, 0.4), size=(0.8, 0.4),
                   region: str | None = None) -> LinePlot:
    """Draw a twin3d.tools.Plot: its title, axes labels, series, log axes and kind.

    kind 'nyquist' draws the curve with equal scales and the critical point -1 marked; a
    'line' whose x goes back and forth is drawn as a curve too (min/max per column of a
    curve that is no function of x would be hatching)."""
    ys = list(spec.ys)
    logy = bool(spec.logy)
    if logy and "dB" in (spec.ylabel or ""):  # dB requested: plot 20 log10|y| on a linear axis
        ys = [20.0 * np.log10(np.maximum(np.abs(np.asarray(y, dtype=float)), 1e-300))
              for y in ys]
        logy = False
    x = np.asarray(spec.x, dtype=float)
    nyquist = spec.kind == "nyquist"
    kind = {"bars": "bars", "nyquist": "curve"}.get(spec.kind, "line")
    if kind == "line" and not _monotonic(x):
        kind = "curve"
    n = max(1, min(len(ys), 4))
    # "frequency (Hz)": the unit on the last x tick ("100 Hz") and the row under the ticks
    # goes to the data, which a panel's plot is short of
    xlabel, xunit = spec.xlabel or "", ""
    m = re.fullmatch(r"\s*[^()]*\(([^()]{1,8})\)\s*", xlabel)
    if m:
        xlabel, xunit = "", m.group(1)
    p = LinePlot(parent=parent, position=position, size=size, title=spec.title,
                 xlabel=xlabel, xunit=xunit, ylabel=spec.ylabel, n_series=n, labels=spec.labels,
                 kind=kind, logx=bool(spec.logx), logy=logy, equal_aspect=nyquist,
                 region=region)
    if nyquist:
        p.set_marks("critical", points=[(-1.0, 0.0)], colour=W.ERROR,
                    label="-1 critical point")
    p.set_data(x, ys[:4])
    return p
