"""Line, time-history, spectrum and bar plots drawn in the UI layer (camera.ui).

Data lines are panda3d GeomLines whose vertex and index arrays are rewritten in place on every
update; rebuilding a Mesh (Mesh.generate) per frame is several times slower (HEADLESS.md 2.5).
Any number of samples is first reduced to one min/max pair per pixel column, so a million
samples cost one numba pass and a few thousand vertices.

The pure helpers (minmax_decimate, nice_ticks, AutoRange, psd_hann, to_db) are unit-tested
without a window; the drawing classes need a started Ursina app (twin3d.view.engine.start).
"""

from __future__ import annotations

import math

import numba
import numpy as np

# --- pure helpers -------------------------------------------------------------------------


@numba.njit(cache=True)
def _minmax_kernel(x, y, x0, x1, n_columns, ymin, ymax):
    scale = n_columns / (x1 - x0)
    for i in range(x.shape[0]):
        xi = x[i]
        yi = y[i]
        if not (x0 <= xi <= x1) or yi != yi:  # outside, or NaN x / NaN y
            continue
        c = int((xi - x0) * scale)
        if c >= n_columns:  # xi == x1 belongs to the last column
            c = n_columns - 1
        if ymin[c] != ymin[c] or yi < ymin[c]:
            ymin[c] = yi
        if ymax[c] != ymax[c] or yi > ymax[c]:
            ymax[c] = yi


def minmax_decimate(x, y, x0: float, x1: float, n_columns: int):
    """Min and max of y in each of n_columns equal columns of [x0, x1].

    Returns (xc, ymin, ymax): column centres and the envelope; NaN where a column holds no
    finite-y sample. Samples outside [x0, x1] and NaN samples are ignored; x need not be sorted.
    """
    n_columns = int(n_columns)
    xc = x0 + (np.arange(n_columns) + 0.5) * ((x1 - x0) / max(n_columns, 1))
    ymin = np.full(n_columns, np.nan)
    ymax = np.full(n_columns, np.nan)
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in shape: {x.shape} vs {y.shape}")
    if n_columns > 0 and x1 > x0 and x.size:
        _minmax_kernel(x, y, float(x0), float(x1), n_columns, ymin, ymax)
    return xc, ymin, ymax


def nice_step(span: float, max_ticks: int = 6) -> float:
    """The smallest 1-2-5 x 10^k step giving at most max_ticks intervals over span."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(max_ticks, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * mag >= raw * (1 - 1e-9):
            return m * mag
    return 10.0 * mag


def nice_ticks(lo: float, hi: float, max_ticks: int = 6) -> np.ndarray:
    """Tick values (multiples of a 1-2-5 step) inside [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo]) if math.isfinite(lo) else np.zeros(0)
    step = nice_step(hi - lo, max_ticks)
    k0, k1 = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return np.arange(k0, k1 + 1) * step


def log_ticks(lo: float, hi: float, max_ticks: int = 8) -> np.ndarray:
    """Ticks for a log axis given log10 limits: decades, plus 2 and 5 when few decades show."""
    d0, d1 = math.floor(lo), math.ceil(hi)
    mult = (1.0, 2.0, 5.0) if d1 - d0 <= max_ticks // 3 else (1.0,)
    vals = [m * 10.0 ** d for d in range(d0, d1 + 1) for m in mult]
    every = max(1, math.ceil((d1 - d0 + 1) / max_ticks)) if len(mult) == 1 else 1
    t = np.log10([v for i, v in enumerate(vals) if i % every == 0])
    return t[(t >= lo - 1e-9) & (t <= hi + 1e-9)]


def tick_text(v: float, step: float) -> str:
    """A tick label with just enough decimals for `step`."""
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return f"{v:.3g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{v:.{decimals}f}"


class AutoRange:
    """Axis limits that follow the data without jitter.

    The range snaps to multiples of a 1-2-5 step with a margin. It grows at once when data
    leaves it, and shrinks only after the data has used less than `shrink_below` of it for
    `patience` consecutive updates, so noise and short dips never make the axis breathe."""

    def __init__(self, margin: float = 0.08, shrink_below: float = 0.4, patience: int = 30,
                 max_ticks: int = 6):
        self.margin, self.shrink_below, self.patience = margin, shrink_below, patience
        self.max_ticks = max_ticks
        self.lo = self.hi = None
        self._small = 0

    def _fit(self, dmin: float, dmax: float) -> tuple[float, float]:
        span = dmax - dmin
        if span <= 0:
            span = abs(dmax) * 0.2 or 1.0
        lo, hi = dmin - self.margin * span, dmax + self.margin * span
        step = nice_step(hi - lo, self.max_ticks)
        return math.floor(lo / step) * step, math.ceil(hi / step) * step

    def update(self, dmin: float, dmax: float) -> tuple[float, float]:
        if not (math.isfinite(dmin) and math.isfinite(dmax)):
            if self.lo is None:
                self.lo, self.hi = 0.0, 1.0
            return self.lo, self.hi
        if self.lo is None or dmin < self.lo or dmax > self.hi:
            self.lo, self.hi = self._fit(dmin, dmax)
            self._small = 0
        elif (dmax - dmin) < self.shrink_below * (self.hi - self.lo):
            self._small += 1
            if self._small >= self.patience:
                self.lo, self.hi = self._fit(dmin, dmax)
                self._small = 0
        else:
            self._small = 0
        return self.lo, self.hi


def _hann(n: int) -> np.ndarray:
    # periodic (DFT-even) Hann, as scipy.signal.get_window('hann', n) gives
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def psd_hann(y, fs: float, n: int | None = None, nperseg: int | None = None,
             detrend: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One-sided power spectral density (units^2/Hz) of the last n samples of y.

    Hann window, density scaling. nperseg=None: one segment (a periodogram); otherwise Welch's
    average over segments of nperseg samples overlapping by half. detrend removes each
    segment's mean. Matches scipy.signal.periodogram / welch with window='hann'."""
    y = np.asarray(y, dtype=np.float64)
    if n is not None:
        y = y[-int(n):]
    seg = len(y) if nperseg is None else int(nperseg)
    if seg < 2 or len(y) < seg:
        return np.zeros(0), np.zeros(0)
    step = seg - seg // 2
    starts = np.arange(0, len(y) - seg + 1, step)
    frames = y[starts[:, None] + np.arange(seg)]
    if detrend:
        frames = frames - frames.mean(axis=1, keepdims=True)
    w = _hann(seg)
    spec = np.abs(np.fft.rfft(frames * w, axis=1)) ** 2
    p = spec.mean(axis=0) / (fs * np.sum(w * w))
    p[1:-1 if seg % 2 == 0 else None] *= 2  # one-sided: fold negative frequencies (not DC/Nyquist)
    return np.fft.rfftfreq(seg, 1.0 / fs), p


def to_db(power, ref: float = 1.0, floor_db: float = -300.0) -> np.ndarray:
    """10 log10(power / ref^2), with zeros clipped to floor_db instead of -inf."""
    p = np.asarray(power, dtype=np.float64) / (ref * ref)
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(p), floor_db)


def envelope_path(xc, ymin, ymax, dense: bool) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (2 per non-empty column) and line segments tracing a min/max envelope.

    Each column is a vertical stroke ymin..ymax, drawn in the order the signal moves (rising:
    min first) so the joins between columns follow the signal instead of crossing the stroke.
    Empty columns are bridged when the data is sparse (fewer samples than columns) and left as
    gaps when it is dense (then an empty column means missing data)."""
    ok = np.flatnonzero(np.isfinite(ymin))
    if ok.size == 0:
        return np.zeros((0, 2)), np.zeros((0, 2), dtype=np.uint32)
    x, lo, hi = xc[ok], ymin[ok], ymax[ok]
    mid = 0.5 * (lo + hi)
    rising = np.empty(ok.size, dtype=bool)
    rising[0] = True if ok.size == 1 else mid[1] >= mid[0]
    rising[1:] = mid[1:] >= mid[:-1]
    first = np.where(rising, lo, hi)
    last = np.where(rising, hi, lo)
    v = np.empty((2 * ok.size, 2))
    v[0::2, 0] = v[1::2, 0] = x
    v[0::2, 1], v[1::2, 1] = first, last
    k = np.arange(ok.size, dtype=np.uint32)
    strokes = np.stack([2 * k, 2 * k + 1], axis=1)
    joins = np.stack([2 * k[:-1] + 1, 2 * k[1:]], axis=1)
    if dense:
        joins = joins[np.diff(ok) == 1]
    return v, np.concatenate([strokes, joins]).astype(np.uint32)


# --- drawing --------------------------------------------------------------------------------

try:  # the drawing classes need ursina; the helpers above do not
    from panda3d.core import (Geom, GeomEnums, GeomLines, GeomNode, GeomTriangles,
                              GeomVertexData, GeomVertexFormat, NodePath)
    from ursina import Entity, camera, color, destroy, window

    from twin3d.view import widgets as W
except ImportError:  # pragma: no cover - a numpy-only environment
    Entity = object


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


def bars_geometry(x, y, base: float, gap: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """Quads (4 vertices, 2 triangles each) for bars from `base` to y.

    x holds bin centres (len n) or bin edges (len n+1); each bar leaves `gap` of its bin free
    on both sides so neighbouring bars stay apart."""
    x = np.asarray(x, dtype=np.float64)
    n = len(y)
    if len(x) == n + 1:
        edges = x
    elif n == 1:
        edges = np.array([x[0] - 0.5, x[0] + 0.5])
    else:
        mid = 0.5 * (x[1:] + x[:-1])
        edges = np.concatenate([[2 * x[0] - mid[0]], mid, [2 * x[-1] - mid[-1]]])
    g = gap * np.diff(edges)
    left, right = edges[:-1] + g, edges[1:] - g
    v = np.empty((4 * n, 2))
    v[0::4, 0] = v[3::4, 0] = left
    v[1::4, 0] = v[2::4, 0] = right
    v[0::4, 1] = v[1::4, 1] = base
    v[2::4, 1] = v[3::4, 1] = y
    k = 4 * np.arange(n, dtype=np.uint32)[:, None]
    return v, (k + np.array([0, 1, 2, 0, 2, 3], dtype=np.uint32)).ravel()


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
