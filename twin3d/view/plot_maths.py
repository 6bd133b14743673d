"""The arithmetic behind the plots, with no window: min/max decimation to pixel columns, 1-2-5
ticks and their labels, axis ranges that do not jitter, Hann PSDs, and the vertex paths of an
envelope or of bars in data units. numpy and numba only (no ursina, no panda3d), so it is
unit-tested and benchmarked without a display; `twin3d.view.plot_drawing` draws with it.

A million samples cost one numba pass (`minmax_decimate`) and a few thousand vertices.
"""

from __future__ import annotations

import math

import numba
import numpy as np


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
