"""Live natural-frequency tracking: the rig's resonances, from a sliding window of its sensors.

Method: an input-output ARX model fitted by least squares to the window. The table acceleration
x (measured input) and the floors' accelerations y_j are low-pass filtered and decimated to
about 8 times the highest model frequency (the same linear filter on input and output leaves
their transfer function unchanged in the pass band), then

    y_j[t] + sum_i a_i y_j[t-i] = sum_i b_ji x[t-i] + e_j[t],   i = 1..n_a (b from i = 0),

with one denominator shared by all floors (the structure has one set of poles) and n_a =
2 N_model + 4 or + 8 (extra orders for the anti-alias filter and what the model leaves out). Plain
least squares minimises the equation error A y - B x, which weights the noise by A(z): it pulls
lightly damped poles together and damps them, so two close modes (the lab's 6.5 Hz actuator
splits mode 1 into 6.0 and 7.0 Hz) come out as one pole between them. Steiglitz-McBride
iterations remove that bias: refit on x and y filtered by 1 / A of the previous fit, so that
the equation error becomes the output error; a few iterations converge (the tests check
the split pair against the true modes). The poles z of the denominator give s = ln(z) fs_d,
frequency |s| / 2 pi and damping -Re(s) / |s|.

Why not peak picking on a Welch H1: the rig's mode 1 (6.2 Hz, 0.34 % damping) rings for
1 / (zeta w) = 7 s, so 20 s of data give a few short segments whose leakage moves the peak by
1-3 %; the parametric fit has no resolution limit and reaches 0.01 % on the same data. Why not
a stochastic subspace method: the input is measured, so a linear least-squares input-output
fit is simpler, deterministic and cheap (a few ms per update).

A running crank puts one towering narrow line (and maybe its 2nd harmonic) on the table. Left
in, it dominates the least-squares fits and moves the split pair by 3-9 % or loses it. Lines
standing 300 times above the median of their +-2 Hz neighbourhood in the table's Welch spectrum
(a 2nd harmonic 30 times) are located to a fraction of a record bin and removed from the
decimated input and every output by the same notches (iirnotch 0.3 Hz wide, twice, causal from
a zero state): the same LTI filter on input and output leaves the poles where they are.

The window starts with the structure moving, and filtered from a zero state (by 1 / A in the
iterations, and by the notches) the floors carry the free decay of that state, which the input
cannot explain: fitted as output error it biased weak modes by several %. The Steiglitz-McBride
fits and the simulation fit therefore also fit the initial state (free responses of F / A as
extra regressors, projected out per output). The iterations stop once the fit settles (at most
8; more lets extra poles wander onto the modes on clean data).

A frequency is claimed only when (1) the input excites the mode's search band: the median of
the table's notched spectrum there is at least `min_snr` times the table sensor's noise density when
that noise is known, else at least `min_excitation` times the raw spectrum's peak below the
highest band (a pure crank harmonic excites one frequency only; the noise test also claims the modes
while a crank harmonic towers over the ambient shaking), (2) the model explains the floors (simulated output
of the fitted model vs measured, fit >= `min_fit`: sensor noise alone fits about 0), and (3) a
pole with damping below `max_damping` lies in the band (the least damped is taken). Otherwise
that mode is NaN ("not identified this update") and the alarm ignores it: a missing estimate is
never read as a departure.

The alarm (`DepartureAlarm`) raises only on a persistent, statistically significant departure.
Each claimed frequency carries a standard error, the larger of two:
  * the fit's: the least-squares covariance of the denominator's coefficients (residual
    variance times the inverse Gram matrix of the final Steiglitz-McBride step), propagated to
    the pole's |s| / 2 pi to first order (`pole_frequency_sigma`). It assumes a white output
    error, which holds for sensor noise on the floors but not for the table sensor's noise: that
    rings through the resonances into the output error (errors in variables), and on the
    simulated rig the formula is then 20 times too small for mode 1 (5 times for mode 2). It
    stays as the floor of the interval while the tracker is new, and flags a fit that is
    itself uncertain (an 8-extra-order ARX fit, a weakly excited band). To it is added (in
    quadrature) how far the pole moves when the Steiglitz-McBride fit has 2 extra orders
    instead of 4 (the stabilisation check of modal analysis): on the simulated rig (measured
    input, white sensor noise) 0.001-0.008 Hz; on the simulated building, whose unmeasured
    wind biases the estimates of its 10-13 %-damped modes 4 and 5 by 0.8 Hz, 1-2 Hz there and
    0.01-0.05 Hz on modes 1 and 2. A mode the lower order does not find gets half its band.
  * the tracker's observed scatter: the robust spread (1.4826 x median absolute deviation)
    of its estimates taken one window apart (independent records: successive updates share
    most of their window and would understate it), over the last `spread_windows` windows,
    raised to its upper 95 % confidence bound for that few samples (chi-square).
    This is what the estimate actually does on this structure, this sensor and this excitation,
    whatever the noise's colour; the median keeps a step change from inflating it.
A departure counts when the model's frequency lies outside the interval f +- z sigma by more
than `margin_percent` of itself (significant and large enough to matter), and only once the
scatter is known (MIN_SPREAD_WINDOWS windows); a mode's alarm stands once k of its last n
updates depart on the same side, and clears once k of them are back (inside; a mode not
identified counts neither way). Defaults: z = 3 (0.3 % per update for a Gaussian estimate),
margin 2 % (the alarm threshold the tracker had), n = the updates of 2 windows and k those of
1.5: successive updates share their window, so persistence counted in updates of one window
would not filter anything that one window holds (a bump, a spurious pole picked while a
transient is in it); a departure must outlast a window. A real change raises it about 1.5
windows after its onset. `alarm()` keeps the
single-update rule the tracker had before (|departure| > alarm_percent), as the reference the
false-alarm bench measures against.

Window, bands and resolution follow the sample rate and the modes (`window_for`): the window
holds at least MIN_PERIODS periods of the slowest mode and the samples the fit needs, the Welch
segments resolve the narrowest search band in at least 4 bins, and the harmonic detector's
neighbourhood and the notches' width shrink with a slow structure's first mode (a building at
1 Hz sampled at 100 Hz), the lab rig (1 kHz, modes from 6 Hz) keeping its 2 Hz and 0.3 Hz.
"""

from __future__ import annotations

import warnings
from collections import deque

import numpy as np
import scipy.linalg
import scipy.signal
import scipy.stats
from numpy.lib.stride_tricks import sliding_window_view

STEIGLITZ_MCBRIDE_ITERATIONS = 8  # at most; they stop once the fit settles
STEIGLITZ_MCBRIDE_TOLERANCE = 1e-5
HARMONIC_RATIO = 300.0  # a line stands this far above its neighbourhood's median density
SECOND_HARMONIC_RATIO = 30.0
HARMONIC_NEIGHBOUR_HZ = 2.0
MAX_HARMONICS = 4
NOTCH_BANDWIDTH_HZ = 0.3  # -3 dB width of each notch
# the window holds at least this many periods of the slowest mode: the lab's default 10 s hold
# about 60 of its 5.8 Hz mode; a slower structure gets as many (a frequency estimate's scatter
# falls with the number of cycles it sees)
MIN_PERIODS = 50
BAND_BINS = 4  # Welch bins across the narrowest search band, at least
# the alarm's defaults (module doc)
ALARM_Z = 3.0
ALARM_N_WINDOWS = 2.0  # persistence: n = the updates of 2 windows,
ALARM_K_WINDOWS = 1.5  # k = those of 1.5 windows (a transient stays one window in it)
SPREAD_WINDOWS = 20
MIN_SPREAD_WINDOWS = 5  # a mode votes once this many windows give its scatter
MAD_TO_SIGMA = 1.4826  # a Gaussian's standard deviation over its median absolute deviation


def search_bands(model_frequencies_hz, search_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) of each mode's search band: +- search_fraction of its frequency, capped at half
    the gap to each neighbour."""
    f = np.asarray(model_frequencies_hz, dtype=np.float64)
    gaps = np.diff(f) / 2
    lo_gap = np.concatenate([[np.inf], gaps])
    hi_gap = np.concatenate([gaps, [np.inf]])
    return (np.maximum(f - np.minimum(search_fraction * f, lo_gap), 0.0),
            f + np.minimum(search_fraction * f, hi_gap))


def decimation_for(fs: float, model_frequencies_hz) -> int:
    """Decimate to about 8 times the highest mode (1: no decimation)."""
    return max(1, int(fs // (8.0 * float(np.max(model_frequencies_hz)))))


def window_for(fs: float, model_frequencies_hz, window_s: float,
               search_fraction: float = 0.15) -> float:
    """The tracker's window (s) for a structure sampled at fs: at least `window_s`, MIN_PERIODS
    periods of the slowest mode, the fit's least decimated samples, and BAND_BINS Welch bins
    across the narrowest search band (the excitation test needs them)."""
    f = np.asarray(model_frequencies_hz, dtype=np.float64)
    lo, hi = search_bands(f, search_fraction)
    q = decimation_for(fs, f)
    least = 20 * (2 * f.size + 8) * q / fs
    return float(max(window_s, MIN_PERIODS / f[0], 1.05 * least,
                     BAND_BINS / float(np.min(hi - lo))))


class DepartureAlarm:
    """Per-mode alarm on a persistent, significant departure from the model (module doc).

    `update(f, sigma_fit, f_model)` takes one tracker update (Hz per mode, NaN = not
    identified; the fit's standard errors; the model's frequencies) and returns the 1-based
    modes whose alarm stands. `every` is the number of updates per window: one estimate per
    window goes into the observed scatter."""

    def __init__(self, n_modes: int, every: int = 1, margin_percent: float = 2.0,
                 z: float = ALARM_Z, k: int = 3, n: int = 5,
                 spread_windows: int = SPREAD_WINDOWS,
                 min_spread_windows: int = MIN_SPREAD_WINDOWS) -> None:
        if not (1 <= k <= n):
            raise ValueError(f"alarm persistence needs 1 <= k <= n, got k={k!r}, n={n!r}")
        for name, v in (("margin_percent", margin_percent), ("z", z)):
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
        self.n_modes, self.every = int(n_modes), max(1, int(every))
        self.margin_percent, self.z, self.k, self.n = float(margin_percent), float(z), k, n
        self.spread_windows = int(spread_windows)
        self.min_spread_windows = int(min_spread_windows)
        self.reset()

    def reset(self) -> None:
        """Forget the history (a new model to compare with)."""
        m = self.n_modes
        self._votes = [deque(maxlen=self.n) for _ in range(m)]  # +1 / -1 depart, 0 back
        self._spread = [deque(maxlen=self.spread_windows) for _ in range(m)]
        self._count = 0
        self.standing: dict[int, int] = {}  # 1-based mode -> side (+1 above, -1 below)
        self.sigma_hz = np.full(m, np.nan)  # the interval's standard error, latest update
        self.departing = np.zeros(m, dtype=int)  # this update's vote (0: none or back)
        self.shift_percent = np.full(m, np.nan)  # latest identified (f - model) / model, %

    def observed_sigma(self) -> np.ndarray:
        """The tracker's observed scatter per mode (Hz; NaN until `min_spread_windows`
        windows are in): the robust spread of m windows' estimates, raised to its upper 95 %
        bound for m samples, sqrt((m - 1) / chi2_0.05(m - 1)) (2.4 times for 5 windows, 1.5
        for 20): a scatter read off a few windows is often too small by chance."""
        out = np.full(self.n_modes, np.nan)
        for r, d in enumerate(self._spread):
            v = np.asarray(d, dtype=float)
            m = v.size
            if m >= max(self.min_spread_windows, 2):
                up = np.sqrt((m - 1) / scipy.stats.chi2.ppf(0.05, m - 1))
                out[r] = up * MAD_TO_SIGMA * np.median(np.abs(v - np.median(v)))
        return out

    def update(self, f_hz, sigma_fit_hz, model_hz) -> list[int]:
        f = np.asarray(f_hz, dtype=float)
        fm = np.asarray(model_hz, dtype=float)
        sig_fit = np.asarray(sigma_fit_hz, dtype=float)
        if self._count % self.every == 0:  # one estimate per window: independent records
            for r in range(self.n_modes):
                if np.isfinite(f[r]):
                    self._spread[r].append(f[r])
        self._count += 1
        obs = self.observed_sigma()
        self.sigma_hz = np.fmax(sig_fit, obs)  # NaN only where both are
        self.departing[:] = 0
        for r in range(self.n_modes):
            if not np.isfinite(f[r]):
                continue  # not identified: neither a departure nor back
            self.shift_percent[r] = 100.0 * (f[r] - fm[r]) / fm[r]
            if not np.isfinite(obs[r]):
                continue  # the scatter is not known yet: nothing is significant
            beyond = (abs(f[r] - fm[r]) - self.z * self.sigma_hz[r]
                      - 0.01 * self.margin_percent * fm[r])
            vote = int(np.sign(f[r] - fm[r])) if beyond > 0 else 0
            self.departing[r] = vote
            votes = self._votes[r]
            votes.append(vote)
            mode = r + 1
            for side in (1, -1):
                if votes.count(side) >= self.k:
                    self.standing[mode] = side
            if mode in self.standing and votes.count(0) >= self.k:
                del self.standing[mode]
        return sorted(self.standing)


class FrequencyTracker:
    """Sliding-window natural-frequency tracker with a departure alarm.

    Parameters
    ----------
    fs : float
        Sample rate (Hz).
    model_frequencies_hz : sequence of float
        The twin's natural frequencies (Hz), ascending: the centres of the search bands and
        the reference of the alarm.
    window_s : float
        Window length (s); an estimate is made once the window is full.
    update_s : float
        Time between estimates (s).
    alarm_percent : float
        A mode whose tracked frequency departs from the model's by more than this (%) alarms.
    search_fraction : float
        Half-width of each search band relative to its model frequency (also capped at half
        the gap to the neighbouring modes).
    min_fit, min_excitation, max_damping : float
        The thresholds a frequency must pass to be claimed (see the module doc).
    input_noise_rms : float, optional
        Rms of the table accelerometer's noise. Given, a band counts as excited when its median
        spectral density is at least `min_snr` times that noise's; a running crank's harmonic
        then no longer hides the ambient shaking in the other bands.
    alarm_z, alarm_k, alarm_n : float, int, int
        The persistent alarm (`DepartureAlarm`, margin alarm_percent): interval f +- z sigma,
        k of the last n updates (default: the updates of 1.5 and 2 windows).
    """

    def __init__(self, fs: float, model_frequencies_hz, window_s: float = 20.0,
                 update_s: float = 1.0, alarm_percent: float = 2.0,
                 search_fraction: float = 0.15, min_fit: float = 0.5,
                 min_excitation: float = 1e-3, max_damping: float = 0.2,
                 input_noise_rms: float | None = None, min_snr: float = 10.0,
                 alarm_z: float = ALARM_Z, alarm_k: int | None = None,
                 alarm_n: int | None = None) -> None:
        self.fs = float(fs)
        if not (np.isfinite(self.fs) and self.fs > 0):
            raise ValueError(f"fs must be > 0 Hz, got {fs!r}")
        f = np.asarray(model_frequencies_hz, dtype=np.float64).reshape(-1)
        if f.size == 0 or not np.all(np.isfinite(f)) or np.any(f <= 0) or np.any(np.diff(f) <= 0):
            raise ValueError("model_frequencies_hz must be positive and strictly ascending, got "
                             f"{model_frequencies_hz!r}")
        if f[-1] >= 0.4 * self.fs:
            raise ValueError(f"model_frequencies_hz must lie below 0.4 fs = {0.4 * self.fs:g} Hz,"
                             f" got {f[-1]:g}")
        self.model_frequencies_hz = f
        for name, v in (("window_s", window_s), ("update_s", update_s),
                        ("alarm_percent", alarm_percent), ("search_fraction", search_fraction)):
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be finite and > 0, got {v!r}")
        self.window = int(round(window_s * self.fs))
        self.update = max(1, int(round(update_s * self.fs)))
        self.decimation = decimation_for(self.fs, f)
        self.order = 2 * f.size  # poles of the structure; the fits add up to 8 more
        least = 20 * (self.order + 8)
        if self.window // self.decimation < least:
            raise ValueError(f"window_s must hold at least {least} decimated samples "
                             f"({least * self.decimation / self.fs:g} s), "
                             f"got {window_s!r}")
        self.alarm_percent = float(alarm_percent)
        self.min_fit = float(min_fit)
        self.min_excitation = float(min_excitation)
        self.min_snr = float(min_snr)
        # one-sided density of the sensor's white noise; the decimating filter keeps it in band
        self._noise_psd = (None if input_noise_rms is None
                           else 2.0 * float(input_noise_rms) ** 2 / self.fs)
        self.max_damping = float(max_damping)
        self.search_fraction = float(search_fraction)
        self._set_bands()
        # Streaming decimation: the window is kept at fs / decimation, filtered as it arrives
        # (8th-order Butterworth at 0.8 of the new Nyquist, state carried across blocks), so
        # a 10 kHz feed costs a fit what a 200 Hz one does. The same causal filter on table
        # and floors leaves their transfer function, hence the poles, as it is.
        q = self.decimation
        self._aa = scipy.signal.butter(8, 0.8 / q, output="sos") if q > 1 else None
        self._zx = self._zy = None
        self._phase = 0  # full-rate samples since the last one kept
        self.window_d = self.window // q
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._filled = 0
        self._head = 0  # next write position in the ring buffers
        self._since = 0  # samples since the last estimate
        self.last: np.ndarray | None = None  # latest estimate (Hz), NaN = not identified
        self.damping: np.ndarray | None = None  # damping ratios of the latest estimate
        self.fit: float = np.nan  # how well the latest fitted model explains the floors
        self.sigma: np.ndarray | None = None  # the fit's standard errors of `last` (Hz)
        per_window = int(np.ceil(self.window / self.update))
        self.departures = DepartureAlarm(
            f.size, per_window, self.alarm_percent, alarm_z,
            alarm_k or int(np.ceil(ALARM_K_WINDOWS * per_window)),
            alarm_n or int(np.ceil(ALARM_N_WINDOWS * per_window)))
        self.alarm_modes: list[int] = []  # modes whose persistent alarm stands

    def _set_bands(self) -> None:
        self._band_lo, self._band_hi = search_bands(self.model_frequencies_hz,
                                                    self.search_fraction)
        # Welch segments long enough for BAND_BINS bins across the narrowest band (4 s, the
        # lab's 0.25 Hz, at least); a slow structure's harmonic neighbourhood and notches
        # scale with its first mode
        fsd = self.fs / self.decimation
        width = float(np.min(self._band_hi - self._band_lo))
        self._nperseg = max(int(4 * fsd), int(np.ceil(BAND_BINS * fsd / width)))
        f1 = float(self.model_frequencies_hz[0])
        self._neighbour_hz = min(HARMONIC_NEIGHBOUR_HZ, f1 / 2.5)
        self._notch_hz = min(NOTCH_BANDWIDTH_HZ, f1 / 15.0)

    def retarget(self, model_frequencies_hz) -> None:
        """Compare with, and search around, new model frequencies (as many as before), keeping
        the window and the decimation: a calibrated model takes over without the tracker
        having to fill its window again."""
        f = np.asarray(model_frequencies_hz, dtype=np.float64).reshape(-1)
        if (f.size != self.model_frequencies_hz.size or not np.all(np.isfinite(f))
                or np.any(f <= 0) or np.any(np.diff(f) <= 0) or f[-1] >= 0.4 * self.fs):
            raise ValueError(f"retarget needs {self.model_frequencies_hz.size} positive "
                             f"ascending frequencies below 0.4 fs, got {model_frequencies_hz!r}")
        self.model_frequencies_hz = f
        self._set_bands()
        self.departures.reset()
        self.alarm_modes = []

    # ---- streaming ---------------------------------------------------------------------------

    def append(self, table_acc, floor_acc) -> bool:
        """Append new samples (cheap); True when an estimate is due. `push` then identifies at
        once; a live feed may instead hand `window_data()` to a worker and `accept` the result,
        so that the frame loop never waits for a fit."""
        x = np.asarray(table_acc, dtype=np.float64).reshape(-1)
        y = np.asarray(floor_acc, dtype=np.float64)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if y.ndim != 2 or y.shape[0] != x.size:
            raise ValueError(f"floor_acc must have shape ({x.size}, k), got {y.shape}")
        if self._x is None:
            self._x = np.zeros(self.window_d)
            self._y = np.zeros((self.window_d, y.shape[1]))
            if self._aa is not None:
                self._zx = np.zeros((self._aa.shape[0], 2))
                self._zy = np.zeros((self._aa.shape[0], 2, y.shape[1]))
        elif y.shape[1] != self._y.shape[1]:
            raise ValueError(f"floor_acc must keep its {self._y.shape[1]} column(s), "
                             f"got {y.shape[1]}")
        n = x.size
        if self._aa is not None:
            x, self._zx = scipy.signal.sosfilt(self._aa, x, zi=self._zx)
            y, self._zy = scipy.signal.sosfilt(self._aa, y, axis=0, zi=self._zy)
            q = self.decimation
            first = (q - 1 - self._phase) % q  # the next sample to keep in this block
            self._phase = (self._phase + n) % q
            x, y = x[first::q], y[first::q]
        if x.size >= self.window_d:  # only the newest window matters
            x, y = x[-self.window_d:], y[-self.window_d:]
        m = x.size
        idx = (self._head + np.arange(m)) % self.window_d
        self._x[idx] = x
        self._y[idx] = y
        self._head = (self._head + m) % self.window_d
        self._filled = min(self.window_d, self._filled + m)
        self._since += n
        if self._filled < self.window_d or self._since < self.update:
            return False
        self._since = 0
        return True

    def push(self, table_acc, floor_acc) -> list[float] | None:
        """Append new samples; return a new estimate (Hz per mode, NaN if not identified) when
        one is due, else None."""
        if not self.append(table_acc, floor_acc):
            return None
        return self.accept(self.identify_decimated(*self.window_data()))

    def window_data(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the (decimated) window, oldest sample first: what `identify_decimated`
        takes."""
        order = (self._head + np.arange(self.window_d)) % self.window_d
        return self._x[order], self._y[order]

    def accept(self, result) -> list[float]:
        """Take an `identify` result (computed here or by a worker) as the latest estimate;
        the persistent alarm takes it in."""
        self.last, self.damping, self.fit, self.sigma = result
        self.alarm_modes = self.departures.update(self.last, self.sigma,
                                                  self.model_frequencies_hz)
        return [float(v) for v in self.last]

    def interval_hz(self) -> np.ndarray:
        """Half-width (Hz) of each mode's interval at the latest update, z sigma (NaN where
        there is none)."""
        return self.departures.z * self.departures.sigma_hz

    # ---- one window --------------------------------------------------------------------------

    def identify(self, table_acc: np.ndarray, floor_acc: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, float]:
        """Frequencies (Hz) and damping ratios per mode (NaN where not claimed), and the fit,
        from one record of table (n,) and floor (n, k) accelerations at fs (a NaN carries
        through the decimation, and a channel holding one sits out)."""
        x, y = np.asarray(table_acc, dtype=float), np.asarray(floor_acc, dtype=float)
        q = self.decimation
        if q > 1:
            x = scipy.signal.decimate(x, q, ftype="fir", zero_phase=True)
            y = scipy.signal.decimate(y, q, axis=0, ftype="fir", zero_phase=True)
        return self.identify_decimated(x, y)

    def identify_decimated(self, table_acc: np.ndarray, floor_acc: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, float]:
        """`identify` on a record already at fs / decimation (`window_data()`)."""
        nm = self.model_frequencies_hz.size
        freq, zeta, sigma = np.full(nm, np.nan), np.full(nm, np.nan), np.full(nm, np.nan)
        good = np.all(np.isfinite(floor_acc), axis=0)  # a channel with a dropout sits out
        if not np.all(np.isfinite(table_acc)) or not good.any():
            return freq, zeta, np.nan, sigma
        x, y = np.asarray(table_acc, dtype=float), np.asarray(floor_acc, dtype=float)[:, good]
        fsd = self.fs / self.decimation
        x = x - x.mean()
        y = y - y.mean(axis=0)
        if not np.any(x) or not np.all(np.any(y, axis=0)):
            return freq, zeta, np.nan, sigma
        nper = min(x.size, self._nperseg)
        psd_f, psd_raw = scipy.signal.welch(x, fs=fsd, nperseg=nper)
        # A crank's harmonic: notched out of the input and every output alike (the same LTI
        # filter on both leaves their transfer function, hence the poles, as it is), so that
        # it no longer dominates the least-squares fits.
        sos = notch_sections(harmonic_lines(x, fsd, psd_f, psd_raw, self._neighbour_hz), fsd,
                             self._notch_hz)
        psd = psd_raw
        if sos is not None:
            x = scipy.signal.sosfilt(sos, x)
            y = scipy.signal.sosfilt(sos, y, axis=0)
            psd = scipy.signal.welch(x, fs=fsd, nperseg=nper)[1]
        a, b, fit, cov, other = _best_fit(x, y, self.order, sos)
        if not fit >= self.min_fit:
            return freq, zeta, fit, sigma
        z, pole_f, pole_z = _poles(a, fsd)
        _, other_f, other_z = _poles(other, fsd)
        # Excitation: a band's median on the notched spectrum, i.e. of the input the fit used
        # (a harmonic's bins carry nothing about the poles and must not count as excitation);
        # the peak reference of the relative test on the raw one: without a known noise
        # level the harmonic is the only scale of what the sensor sees, and on the notched
        # spectrum a pure harmonic would leave sensor noise judged against itself.
        ref = psd_raw[psd_f <= self._band_hi[-1]].max()
        for r in range(nm):
            lo, hi = self._band_lo[r], self._band_hi[r]
            in_band = (psd_f >= lo) & (psd_f <= hi)
            floor = (self.min_excitation * ref if self._noise_psd is None
                     else self.min_snr * self._noise_psd)
            if not in_band.any() or np.median(psd[in_band]) < floor:
                continue
            cand = np.flatnonzero((pole_f >= lo) & (pole_f <= hi) & (pole_z > 0)
                                  & (pole_z < self.max_damping))
            if cand.size:
                i = cand[np.argmin(pole_z[cand])]
                freq[r], zeta[r] = pole_f[i], pole_z[i]
                # the pole of the fit 2 orders lower in the band (the same rule): how far it
                # moves is a standard error of its own; none there, half the band
                alt = np.flatnonzero((other_f >= lo) & (other_f <= hi) & (other_z > 0)
                                     & (other_z < self.max_damping))
                spread = (abs(other_f[alt[np.argmin(other_z[alt])]] - freq[r]) if alt.size
                          else 0.5 * (hi - lo))
                sigma[r] = np.hypot(pole_frequency_sigma(a, cov, z[i], fsd), spread)
        return freq, zeta, fit, sigma

    # ---- comparison with the model -----------------------------------------------------------

    def departure_percent(self, frequencies_hz=None) -> np.ndarray:
        """(tracked - model) / model in %, per mode (NaN where not identified)."""
        f = self.last if frequencies_hz is None else np.asarray(frequencies_hz, dtype=float)
        if f is None:
            return np.full(self.model_frequencies_hz.size, np.nan)
        return 100.0 * (f - self.model_frequencies_hz) / self.model_frequencies_hz

    def alarm(self, frequencies_hz=None) -> list[int]:
        """The single-update rule the tracker had (the false-alarm bench's reference; the live
        side uses `alarm_modes`): 1-based modes whose tracked frequency (the latest, or the ones
        given) departs from the model by more than alarm_percent; modes not identified never
        alarm."""
        d = self.departure_percent(frequencies_hz)
        return [r + 1 for r in range(d.size)
                if np.isfinite(d[r]) and abs(d[r]) > self.alarm_percent]


def harmonic_lines(x: np.ndarray, fs: float, psd_f: np.ndarray, psd: np.ndarray,
                   neighbour_hz: float = HARMONIC_NEIGHBOUR_HZ) -> np.ndarray:
    """Frequencies (Hz) of the strong narrow lines in x (a crank's harmonic): Welch bins
    standing HARMONIC_RATIO times above the median of their +-neighbour_hz
    neighbourhood (the line's own lobe left out), at most MAX_HARMONICS, strongest first; the
    second harmonic of a line found is taken down to SECOND_HARMONIC_RATIO. Each frequency is
    refined on the whole record (the maximum of its Hann-windowed DFT near the bin), so that a
    narrow notch sits on it."""
    df = psd_f[1] - psd_f[0]
    half = max(1, int(round(neighbour_hz / df)))
    lobe = 3  # a Hann window's main lobe is +-2 bins wide
    if psd.size < 2 * (half + lobe) + 1:
        return np.empty(0)
    pad = np.pad(psd, half, mode="reflect")
    win = sliding_window_view(pad, 2 * half + 1)  # row i: bins i - half .. i + half
    keep = np.r_[0:half - lobe, half + lobe + 1:2 * half + 1]
    ratio = psd / np.maximum(np.median(win[:, keep], axis=1), np.finfo(float).tiny)
    peak = np.r_[False, (psd[1:-1] >= psd[:-2]) & (psd[1:-1] >= psd[2:]), False]
    peak &= psd_f > 2 * df  # the mean is gone; a line needs neighbours on both sides
    strong = np.flatnonzero(peak & (ratio >= HARMONIC_RATIO))
    strong = strong[np.argsort(ratio[strong])[::-1]][:MAX_HARMONICS]
    found = [_refine_line(x, fs, psd_f[i], df) for i in strong]
    for f in list(found):
        i = int(round(2 * f / df))
        if (len(found) < MAX_HARMONICS and 0 < i < psd.size - 1
                and not any(abs(g - 2 * f) < 2 * df for g in found)):
            i = i - 1 + int(np.argmax(psd[i - 1:i + 2]))
            if peak[i] and ratio[i] >= SECOND_HARMONIC_RATIO:
                found.append(_refine_line(x, fs, psd_f[i], df))
    return np.asarray(found)


def _refine_line(x: np.ndarray, fs: float, f0: float, df: float) -> float:
    """The frequency near f0 (within a Welch bin) where the Hann-windowed DFT of the whole
    record peaks: a grid, then a parabola through the log magnitudes of the best three."""
    n = x.size
    xw = x * np.hanning(n)
    step = 0.25 * fs / n  # a quarter of the record's DFT bin
    grid = f0 + step * np.arange(-int(np.ceil(df / step)), int(np.ceil(df / step)) + 1)
    phase = np.exp(-2j * np.pi * np.outer(grid / fs, np.arange(n)))
    mag = np.log(np.abs(phase @ xw) + np.finfo(float).tiny)
    k = int(np.clip(np.argmax(mag), 1, grid.size - 2))
    den = mag[k - 1] - 2 * mag[k] + mag[k + 1]
    shift = 0.5 * (mag[k - 1] - mag[k + 1]) / den if den < 0 else 0.0
    return float(grid[k] + np.clip(shift, -1.0, 1.0) * step)


def notch_sections(lines: np.ndarray, fs: float, bandwidth_hz: float = NOTCH_BANDWIDTH_HZ
                   ) -> np.ndarray | None:
    """Second-order sections of a notch at each of `lines` (an iirnotch bandwidth_hz wide,
    applied twice for depth), or None when there are none."""
    secs = []
    for f in lines:
        if 0 < f < 0.5 * fs:
            b, a = scipy.signal.iirnotch(f, f / bandwidth_hz, fs=fs)
            secs += [np.r_[b, a]] * 2
    return np.vstack(secs) if secs else None


def _arx(x: np.ndarray, y: np.ndarray, na: int, free: np.ndarray | None = None
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares ARX fit with one denominator a (na + 1,) shared by the k outputs and a
    numerator b (k, na + 1) each; every output's rows are scaled by its rms so that each
    floor weighs the same. `free` (n, m), if given, adds m regressors per output whose
    coefficients are fitted and dropped (the initial-state terms of prefiltered data).

    Solved by variable projection: every output's own regressors (the input lags, shared by
    all outputs, and `free`) are projected out of its lagged outputs, which leaves a small
    system for a alone; each b_j then follows from its output's equation error. The same
    least-squares solution as the joint system, at a fraction of its cost."""
    n, k = y.shape
    xl = sliding_window_view(x, na + 1)[:, ::-1]  # row t: x[t], x[t-1], ..., x[t-na]
    own = xl if free is None else np.hstack([xl, free[na:]])
    # Rank-revealing basis of the own regressors (unit-norm columns): lags of a notched or
    # prefiltered input are nearly dependent, and their spurious directions stay out.
    col = 1.0 / np.maximum(np.sqrt(np.sum(own * own, axis=0)), np.finfo(float).tiny)
    u, sv, vt = np.linalg.svd(own * col, full_matrices=False)
    r = sv > 1e-10 * sv[0]
    u, sv, vt = u[:, r], sv[r], vt[r]
    lhs = np.empty((k, n - na, na))
    rhs = np.empty((k, n - na))
    for j in range(k):
        w = 1.0 / np.sqrt(np.mean(y[:, j] ** 2))
        yl = sliding_window_view(y[:, j], na + 1)[:, ::-1]
        yp = (yl - u @ (u.T @ yl)) * w
        lhs[j] = -yp[:, 1:]
        rhs[j] = yp[:, 0]
    A = lhs.reshape(k * (n - na), na)
    rhs = rhs.reshape(-1)
    # Normal equations on unit-norm columns; an ill-conditioned Gram matrix (extra orders on
    # clean data) goes to lstsq, whose rank-revealing solve keeps the spurious directions out
    # of the poles.
    scale = 1.0 / np.maximum(np.sqrt(np.sum(A * A, axis=0)), np.finfo(float).tiny)
    As = A * scale
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
            theta = scipy.linalg.solve(As.T @ As, As.T @ rhs, assume_a="pos") * scale
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgWarning):
        theta = scipy.linalg.lstsq(As, rhs, lapack_driver="gelsy")[0] * scale
    a = np.concatenate([[1.0], theta])
    b = np.empty((k, na + 1))
    for j in range(k):
        err = sliding_window_view(y[:, j], na + 1)[:, ::-1] @ a  # A(q) y_j
        b[j] = ((vt.T @ ((u.T @ err) / sv)) * col)[:na + 1]
    return a, b, _covariance(As, rhs - As @ (theta / scale), scale, k * u.shape[1])


def _covariance(As: np.ndarray, resid: np.ndarray, scale: np.ndarray, n_own: int
                ) -> np.ndarray:
    """Covariance of the denominator's coefficients a_1..a_na: s^2 (A^T A)^-1 of the reduced
    least-squares system (variable projection: its Gram matrix is the Schur complement of the
    full one, so this is the exact a-block of the full covariance), s^2 the residual variance
    with the projected-out regressors' degrees of freedom taken off."""
    dof = max(resid.size - As.shape[1] - n_own, 1)
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.pinv(As.T @ As, rcond=1e-12, hermitian=True)
    return cov * np.outer(scale, scale)


def _poles(a: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, frequency Hz, damping ratio) of the roots of a in the upper half plane."""
    z = np.roots(a).astype(complex)
    z = z[np.log(z).imag > 0]
    s = np.log(z) * fs
    return z, np.abs(s) / (2 * np.pi), -s.real / np.abs(s)


def pole_frequency_sigma(a: np.ndarray, cov: np.ndarray, z: complex, fs: float) -> float:
    """Standard error (Hz) of the natural frequency |s| / 2 pi of the pole z of the denominator
    a = [1, a_1, .., a_na] (z^na + a_1 z^(na-1) + ... = 0) whose coefficients have covariance
    `cov`: first-order propagation. dz/da_i = -z^(na-i) / A'(z) (implicit function), s =
    fs ln z so ds = fs dz / z, and d|s| = Re(conj(s) ds) / |s|."""
    na = a.size - 1
    dz = -z ** np.arange(na - 1, -1, -1) / np.polyval(np.polyder(a), z)
    s = np.log(z) * fs
    g = np.real(np.conj(s) / abs(s) * fs * dz / z) / (2 * np.pi)
    return float(np.sqrt(max(g @ cov @ g, 0.0)))


def _basis(h: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the columns of h (nearly dependent ones dropped)."""
    u, sv, _ = np.linalg.svd(h, full_matrices=False)
    return u[:, sv > 1e-9 * sv[0]]


def _free_response(a: np.ndarray, n: int, m: int, sos: np.ndarray | None = None
                   ) -> np.ndarray:
    """(n, m): the impulse response of F / a delayed by 0 .. m-1 samples, F the notches `sos`
    (1 if None). The free decay of a system with denominator a (its response to the state it
    starts the record in), passed through F from a zero state, lies in their span."""
    h = np.r_[1.0, np.zeros(n - 1)]
    if sos is not None:
        h = scipy.signal.sosfilt(sos, h)
    h = scipy.signal.lfilter([1.0], a, h)
    return sliding_window_view(np.r_[np.zeros(m - 1), h], m)[:, ::-1]


def _best_fit(x: np.ndarray, y: np.ndarray, n_poles: int, sos: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    """(a, b, fit, covariance of a[1:], a of the same fit with 2 fewer extra orders) of the
    candidate that best explains the floors driven by x alone: the plain ARX fit with 8 extra
    orders, and the Steiglitz-McBride iterates with 4 (the iterations usually converge to the
    output-error optimum, but are not guaranteed to: keeping the best simulation fit makes a
    diverging run harmless). The last item is the Steiglitz-McBride fit with 2 extra orders:
    a physical pole stays where it is when the order changes, one that fits noise moves
    (the stabilisation check of modal analysis; the module doc).

    The window starts with the structure already moving (a crank's steady response, or
    ambient shaking): filtered by 1 / a from a zero state, the floors carry that state's free
    decay, which the input cannot explain and which pulled weak modes by several % when fitted
    as output error. Each iterate therefore also fits the initial state (`_free_response`
    regressors), and so does the simulation fit. x and y notched by `sos` from a zero state
    carry that state's decay through the notches: the regressors are F's impulse response
    through 1 / a (the plain ARX fit, exact from its na-th row on without notches, takes F's
    alone)."""
    ones = np.ones(1)
    a, b, cov = _arx(x, y, n_poles + 8,
                     None if sos is None else _free_response(ones, x.size, n_poles + 8, sos))
    best = (a, b, _simulation_fit(a, b, x, y, sos), cov)
    sm = _steiglitz_mcbride(x, y, n_poles + 4, sos)
    if sm[2] > best[2]:
        best = sm
    return (*best, _steiglitz_mcbride(x, y, n_poles + 2, sos)[0])


def _steiglitz_mcbride(x: np.ndarray, y: np.ndarray, na: int, sos: np.ndarray | None
                       ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """(a, b, fit, covariance of a[1:]) of the best Steiglitz-McBride iterate of order na."""
    a, b, cov = _arx(x, y, na, None if sos is None else _free_response(np.ones(1), x.size, na,
                                                                         sos))
    best = (a, b, -np.inf, cov)
    last = -np.inf
    for _ in range(STEIGLITZ_MCBRIDE_ITERATIONS):
        a = _stable(a)
        a, b, cov = _arx(scipy.signal.lfilter([1.0], a, x),
                         scipy.signal.lfilter([1.0], a, y, axis=0), na,
                         _free_response(a, x.size, na, sos))
        fit = _simulation_fit(a, b, x, y, sos)
        if fit > best[2]:
            best = (a, b, fit, cov)
        if abs(fit - last) < STEIGLITZ_MCBRIDE_TOLERANCE:
            break  # converged
        last = fit
    return best


def _stable(a: np.ndarray) -> np.ndarray:
    """`a` with its roots outside the unit circle (extra orders can land there) reflected
    inside, 1 / conj(z): the same magnitude response shape, and a filter 1 / a that stays
    bounded."""
    z = np.roots(a)
    out = np.abs(z) >= 1.0
    if not out.any():
        return a
    z[out] = 1.0 / np.conj(z[out])
    return np.real(np.poly(z)) * a[0]


def _simulation_fit(a: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray,
                    sos: np.ndarray | None = None) -> float:
    """1 - |y - y_sim|^2 / |y|^2 averaged over outputs, y_sim the fitted model driven by x
    alone from the best initial state (least squares on `_free_response`; unstable extra
    poles reflected inside, see `_stable`)."""
    a = _stable(a)
    q = _basis(_free_response(a, x.size, a.size - 1, sos))
    r = y - np.column_stack([scipy.signal.lfilter(b[j], a, x) for j in range(y.shape[1])])
    r = r - q @ (q.T @ r)
    return float(np.mean(1.0 - np.sum(r ** 2, axis=0) / np.sum(y ** 2, axis=0)))
