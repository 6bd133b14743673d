"""The arithmetic behind the plots, with no window: min/max decimation to pixel columns, nice
ticks (3-6, labels that never touch), legends that flow in rows, axis ranges that do not jitter,
Hann PSDs, and the vertex paths of an envelope, a parametric curve, dashes or bars in data units.
numpy and numba only (no ursina, no panda3d), so it is unit-tested and benchmarked without a
display; `twin3d.view.plot_drawing` draws with it.

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


NICE_MANTISSAS = (1.0, 2.0, 2.5, 5.0)  # nice steps: these x 10^k (consecutive ones differ <= 2x)


def _ticks_of(lo: float, hi: float, step: float) -> np.ndarray:
    k0, k1 = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    t = np.arange(k0, k1 + 1) * step
    t[np.abs(t) < 1e-12 * step] = 0.0  # no "-0"
    return t


def nice_step(span: float, max_ticks: int = 6) -> float:
    """The smallest 1-2-2.5-5 x 10^k step giving at most max_ticks intervals over span."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(max_ticks, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (*NICE_MANTISSAS, 10.0):
        if m * mag >= raw * (1 - 1e-9):
            return m * mag
    return 10.0 * mag


def nice_ticks(lo: float, hi: float, max_ticks: int = 6, min_ticks: int = 3) -> np.ndarray:
    """Tick values inside [lo, hi]: multiples of the finest 1-2-2.5-5 step giving at most
    max_ticks of them. Steps grow by at most 2x, so with max_ticks = 6 there are always 3-6;
    with fewer allowed, a step giving under min_ticks gives way to the next finer one (at most
    2 * max_ticks ticks then)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo]) if math.isfinite(lo) else np.zeros(0)
    step = nice_step(hi - lo, 4 * max(max_ticks, 1))  # too fine: walk up to the first that fits
    finer = None
    while True:
        t = _ticks_of(lo, hi, step)
        if len(t) <= max_ticks or max_ticks < 1:
            return finer if len(t) < min_ticks and finer is not None else t
        finer = t
        step = nice_step(step * 1.01, 1)  # the next nice step up


def log_ticks(lo: float, hi: float, max_ticks: int = 6, min_ticks: int = 3) -> np.ndarray:
    """Ticks for a log axis given its log10 limits (returned as log10 values): decades (every
    k-th when many show), with 2 and 5 between when fewer than min_ticks decades show, and
    linear nice ticks of the values when the axis spans less than that."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.zeros(0)
    d0, d1 = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    n_dec = d1 - d0 + 1
    if n_dec >= min_ticks:
        every = math.ceil(n_dec / max_ticks)
        return np.arange(math.ceil(d0 / every) * every, d1 + 1, every, dtype=float)
    for mult in ((1.0, 2.0, 5.0), (1.0, 3.0)):
        vals = np.log10([m * 10.0 ** d for d in range(math.floor(lo), math.ceil(hi) + 1)
                         for m in mult])
        t = vals[(vals >= lo - 1e-9) & (vals <= hi + 1e-9)]
        if min_ticks <= len(t) <= max_ticks:
            return t
    lin = nice_ticks(10.0 ** lo, 10.0 ** hi, max_ticks)
    return np.log10(lin[lin > 0])


def step_decimals(step: float) -> int:
    """Decimals that write every multiple of `step` exactly (0.25 -> 2, 5 -> 0)."""
    for d in range(0, 13):
        scaled = step * 10.0 ** d
        if abs(scaled - round(scaled)) < 1e-6 * max(scaled, 1.0):
            return d
    return 12


def _sci(v: float, digits: int) -> str:
    mant, exp = f"{v:.{digits}e}".split("e")
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


def tick_text(v: float, step: float) -> str:
    """A linear axis' tick label with just the decimals `step` needs; scientific (1.5e-4)
    where plain decimals would be long (tiny or huge steps)."""
    if v == 0:
        return "0"
    if step < 1e-3 or step >= 1e5:
        exp_v, exp_s = math.floor(math.log10(abs(v))), math.floor(math.log10(step))
        return _sci(v, max(0, exp_v - exp_s + step_decimals(step / 10.0 ** exp_s)))
    return f"{v:.{step_decimals(step)}f}"


def log_tick_text(v: float) -> str:
    """A log axis' tick label for the log10 value v: 0.01, 20, 5e4, 1e-6."""
    x = 10.0 ** v
    if 1e-3 <= x < 1e5:
        return f"{x:.{max(0, -math.floor(v + 1e-9))}f}" if x < 1 else f"{x:.0f}"
    return _sci(x, 0)


def tick_labels(ticks, log: bool = False) -> list[str]:
    """Labels for ticks; on a linear axis all with the same decimals."""
    ticks = np.asarray(ticks, dtype=float)
    if log:
        return [log_tick_text(float(v)) for v in ticks]
    if len(ticks) > 1:
        step = float(np.min(np.diff(ticks)))
    else:  # a lone tick: its own magnitude decides the decimals
        step = abs(float(ticks[0])) if len(ticks) and ticks[0] else 1.0
    return [tick_text(float(v), step) for v in ticks]


def fit_ticks(lo: float, hi: float, length: float, text_h: float, char_w: float,
              vertical: bool, log: bool = False, max_ticks: int = 6,
              gap: float | None = None, unit: str = "") -> tuple[np.ndarray, list[str]]:
    """Ticks for an axis `length` long and labels that never touch.

    lo, hi: the axis limits (log10 limits when `log`); text_h, char_w: a label's height and one
    character's width in the units of `length`. Tries max_ticks down to 3 ticks, then 2 on a
    coarser step; when even those collide, keeps 3 ticks and blanks every other label ("" in
    the list, the last one kept) until the rest stand apart. A vertical axis needs its labels' heights between them, a
    horizontal one half of each neighbour's width plus `gap` (default one character). `unit`
    is appended to the last label ("40 Hz"): an axis label that costs no row."""
    gap = char_w if gap is None else gap
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):  # no span: at most one tick
        t = np.array([lo]) if math.isfinite(lo) else np.zeros(0)
        return t, tick_labels(t, log) if len(t) else []
    t, texts = np.zeros(0), []
    for m in range(max(max_ticks, 3), 2, -1):
        t = log_ticks(lo, hi, m) if log else nice_ticks(lo, hi, m)
        texts = tick_labels(t, log)
        if unit and texts:
            texts[-1] += f" {unit}"
        if _labels_apart(t, texts, lo, hi, length, text_h, char_w, vertical, gap):
            return t, texts
    if not log:  # two short labels ("125", "130 s") read better than thinned long ones
        t2 = nice_ticks(lo, hi, 2, min_ticks=2)
        texts2 = tick_labels(t2)
        if unit and texts2:
            texts2[-1] += f" {unit}"
        if len(t2) == 2 and _labels_apart(t2, texts2, lo, hi, length, text_h, char_w, vertical,
                                          gap):
            return t2, texts2
    keep = list(range(len(t)))
    while len(keep) > 1 and not _labels_apart(t[keep], [texts[i] for i in keep], lo, hi, length,
                                             text_h, char_w, vertical, gap):
        keep = keep[::-2][::-1]  # every other, ending on the last (it carries the unit)
    return t, [s if i in keep else "" for i, s in enumerate(texts)]


def _labels_apart(t, texts, lo, hi, length, text_h, char_w, vertical, gap) -> bool:
    if len(t) < 2:
        return True
    pos = (np.asarray(t) - lo) * (length / (hi - lo))
    if vertical:
        need = np.full(len(t) - 1, 1.25 * text_h)
    else:
        w = np.array([len(s) for s in texts]) * char_w
        need = 0.5 * (w[1:] + w[:-1]) + gap
    return bool(np.all(np.diff(pos) >= need - 1e-12))


def elide(text: str, max_chars: int) -> str:
    """text cut to max_chars with a trailing ellipsis when longer."""
    max_chars = max(int(max_chars), 1)
    return text if len(text) <= max_chars else text[:max_chars - 1].rstrip() + "\u2026"


def flow(widths, row_width: float, gap: float) -> list[tuple[int, float]]:
    """Left-to-right placement of items `widths` wide in rows `row_width` wide: (row, x) each.
    An item wider than a row gets a row of its own (the caller elides it)."""
    out, row, x = [], 0, 0.0
    for w in widths:
        if x > 0 and x + w > row_width + 1e-12:
            row, x = row + 1, 0.0
        out.append((row, x))
        x += w + gap
    return out


def zero_based_range(top: float, max_ticks: int = 6) -> tuple[float, float]:
    """(0, a nice value above `top` by a little): the axis of a quantity that starts at 0,
    such as a run-up's speed, snapped to a tick so the ticks reach the top."""
    if not (math.isfinite(top) and top > 0):
        return 0.0, 1.0
    step = nice_step(1.05 * top, max_ticks - 1)
    return 0.0, math.ceil(1.05 * top / step - 1e-9) * step


class SpeedTrace:
    """The crank speed once per update since the step began, kept whole (a 30 s run-up at 60
    updates a second is 1800 points) up to `max_points`, after which it keeps every other."""

    def __init__(self, max_points: int = 20000):
        self.max_points = max_points
        self.reset()

    def reset(self) -> None:
        self.t: list[float] = []
        self.rpm: list[float] = []

    def add(self, t: float, rpm: float) -> None:
        if self.t and t < self.t[-1]:  # a new feed restarted its clock
            self.reset()
        self.t.append(float(t))
        self.rpm.append(float(rpm))
        if len(self.t) > self.max_points:
            # every other point, keeping the first and the newest
            self.t = self.t[:1] + self.t[1:][::-2][::-1]
            self.rpm = self.rpm[:1] + self.rpm[1:][::-2][::-1]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Seconds since the first point, and the speeds."""
        t = np.asarray(self.t)
        return (t - t[0] if t.size else t), np.asarray(self.rpm)


def speed_axes(elapsed_s: float, top_rpm: float, mode_rpm: float | None,
               min_span_s: float = 10.0) -> tuple[tuple, tuple]:
    """The speed plot's limits: time from 0 to the step so far (at least min_span_s),
    speed from 0 to a tick above the fastest speed and the mode-1 line, so the whole run-up
    fills the plot and the lingering near the line reads as a shelf."""
    top = max(top_rpm, 1.1 * mode_rpm if mode_rpm else 0.0)
    return (0.0, max(min_span_s, elapsed_s)), zero_based_range(top)


def equal_aspect(xlim, ylim, width: float, height: float,
                 max_stretch: float = 1.0) -> tuple[tuple, tuple]:
    """xlim and ylim widened about their centres so one data unit is as long on both axes of
    a width x height area, or at most `max_stretch` times longer on one (a Nyquist curve keeps
    its shape, a circle stays round; a stretch lets a flat box still show the curve large)."""
    (x0, x1), (y0, y1) = xlim, ylim
    per_x, per_y = (x1 - x0) / width, (y1 - y0) / height  # data units per length
    per_x, per_y = max(per_x, per_y / max_stretch), max(per_y, per_x / max_stretch)
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    return (cx - 0.5 * per_x * width, cx + 0.5 * per_x * width), \
        (cy - 0.5 * per_y * height, cy + 0.5 * per_y * height)


def padded_limits(values, margin: float = 0.08) -> tuple[float, float]:
    """The finite values' span with `margin` of it added on both sides (1 around a constant)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    pad = margin * (hi - lo) if hi > lo else max(abs(hi) * 0.2, 1.0)
    return lo - pad, hi + pad


def curve_path(x, y, xlim, ylim, width_px: float, height_px: float,
               tol_px: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Line segments tracing the parametric curve (x[i], y[i]) in order, clipped to the box.

    For curves that are no function of x (a Nyquist curve, a hysteresis loop), where min/max
    per column would draw hatching. Consecutive points falling in the same tol_px cell are
    merged (any number of samples costs about the curve's length in pixels); NaN breaks the
    curve. Returns (vertices (2m, 2) in data units, segment index pairs (m, 2))."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in shape: {x.shape} vs {y.shape}")
    (x0, x1), (y0, y1) = xlim, ylim
    sx, sy = width_px / (x1 - x0) / tol_px, height_px / (y1 - y0) / tol_px
    ok = np.isfinite(x) & np.isfinite(y)
    with np.errstate(invalid="ignore", over="ignore"):
        cx = np.where(ok, np.floor(np.clip((x - x0) * sx, -1e9, 1e9)), np.nan)
        cy = np.where(ok, np.floor(np.clip((y - y0) * sy, -1e9, 1e9)), np.nan)
    keep = ok.copy()
    if x.size > 1:  # drop a point in the same cell as its predecessor, unless it ends a run
        same = (cx[1:] == cx[:-1]) & (cy[1:] == cy[:-1])
        keep[1:] &= ~same
        last = np.flatnonzero(ok)
        if last.size:
            keep[last[-1]] = True
    idx = np.flatnonzero(keep)
    # segments join kept points that have no NaN between them
    broken = np.concatenate([[0], np.cumsum(~ok)])[idx]
    a, b = idx[:-1], idx[1:]
    joined = broken[1:] == broken[:-1]
    a, b = a[joined], b[joined]
    p0 = np.stack([x[a], y[a]], axis=1)
    p1 = np.stack([x[b], y[b]], axis=1)
    p0, p1, inside = clip_segments(p0, p1, xlim, ylim)
    p0, p1 = p0[inside], p1[inside]
    v = np.empty((2 * len(p0), 2))
    v[0::2], v[1::2] = p0, p1
    k = np.arange(len(p0), dtype=np.uint32)
    return v, np.stack([2 * k, 2 * k + 1], axis=1)


def clip_segments(p0, p1, xlim, ylim):
    """Liang-Barsky: segments p0->p1 ((n, 2) each) clipped to the box; returns the clipped
    ends and a mask of the segments that touch the box at all."""
    p0 = np.asarray(p0, dtype=float)
    p1 = np.asarray(p1, dtype=float)
    d = p1 - p0
    t0, t1 = np.zeros(len(p0)), np.ones(len(p0))
    inside = np.ones(len(p0), dtype=bool)
    for axis, (lo, hi) in enumerate((xlim, ylim)):
        for p, q in ((-d[:, axis], p0[:, axis] - lo), (d[:, axis], hi - p0[:, axis])):
            parallel = p == 0
            inside &= ~(parallel & (q < 0))
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(parallel, 0.0, q / np.where(parallel, 1.0, p))
            t0 = np.where(~parallel & (p < 0), np.maximum(t0, r), t0)
            t1 = np.where(~parallel & (p > 0), np.minimum(t1, r), t1)
    inside &= t0 <= t1
    return p0 + t0[:, None] * d, p0 + t1[:, None] * d, inside


def dashes(a: float, b: float, dash: float, gap: float) -> np.ndarray:
    """(n, 2) starts and ends of the dashes of a dashed line from a to b (a < b)."""
    if not b > a:
        return np.zeros((0, 2))
    starts = np.arange(a, b, dash + gap)
    return np.stack([starts, np.minimum(starts + dash, b)], axis=1)


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
        step = nice_step(hi - lo, self.max_ticks - 1)  # snapped: ticks at both ends
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
