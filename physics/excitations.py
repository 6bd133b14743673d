"""Input signals for the shaker and the floors, on a uniform time grid, SI units.

Every function returns one float64 array and nothing else. The deterministic ones take the
sample times ``t`` (s) and return an array of the same length; the random ones take a sample
count ``n`` and a rate ``fs_hz`` and return ``n`` samples for the times ``arange(n) / fs_hz``
(what ``time_grid`` gives), drawn from ``numpy.random.default_rng(seed)``: a seed always gives
the same array. Bad arguments raise ValueError naming the argument, its value and what is allowed.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal


# --- argument checks ---------------------------------------------------------------------------

def _num(name: str, value, low: float | None = None, strict: bool = False) -> float:
    """value as a finite float, >= low (> low when strict), or a ValueError naming it."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (v <= low if strict else v < low):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {low:g}, got {value!r}")
    return v


def _positive(name: str, value) -> float:
    return _num(name, value, 0.0, strict=True)


def _count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _time(t) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"t must be a non-empty 1-D array of times (s), got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("t must contain only finite times (s)")
    return t


def _below_nyquist(t: np.ndarray, name: str, f_hz: float) -> None:
    """Refuse a frequency the grid t cannot carry: it would alias to a lower one."""
    if t.size < 2 or t[-1] == t[0]:
        return
    nyquist = 0.5 * (t.size - 1) / abs(t[-1] - t[0])
    if f_hz > nyquist:
        raise ValueError(f"{name} must be <= fs/2 = {nyquist:.6g} Hz (Nyquist of t), "
                         f"got {f_hz!r}")


def _pair(value, name: str) -> tuple[float, float]:
    """A filter's (omega_rad_s, zeta): two finite numbers > 0."""
    try:
        omega, zeta = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (omega_rad_s, zeta), got {value!r}") from None
    return _positive(f"{name}[0] (omega)", omega), _positive(f"{name}[1] (zeta)", zeta)


# --- deterministic signals ---------------------------------------------------------------------

def time_grid(duration_s: float, fs_hz: float) -> np.ndarray:
    """Sample times ``arange(n) / fs_hz`` (s), ``n = round(duration_s * fs_hz)`` >= 1.

    Parameters
    ----------
    duration_s, fs_hz : float
        Record length (s) and sample rate (Hz), both > 0.
    """
    duration = _positive("duration_s", duration_s)
    fs = _positive("fs_hz", fs_hz)
    n = int(round(duration * fs))  # round, not floor: 0.3 * 1000 is 300.00000000000006
    if n < 1:
        raise ValueError(f"duration_s * fs_hz must give at least one sample, got "
                         f"{duration_s!r} s * {fs_hz!r} Hz")
    return np.arange(n, dtype=np.float64) / fs


def hammer(t, amplitude_n: float, t0_s: float, width_s: float) -> np.ndarray:
    """Impact-hammer force (N): Gaussian pulse ``A exp(-(t - t0)^2 / (2 width^2))``.

    Its impulse is ``A width sqrt(2 pi)``: 7.52 N s for the lab's 300 N, 0.01 s hammer.

    Parameters
    ----------
    t : array_like
        Sample times (s).
    amplitude_n : float
        Peak force (N); its sign is the direction of the blow.
    t0_s, width_s : float
        Time of the peak (s) and standard deviation of the pulse (s, > 0).
    """
    t = _time(t)
    a = _num("amplitude_n", amplitude_n)
    t0 = _num("t0_s", t0_s)
    w = _positive("width_s", width_s)
    return a * np.exp(-0.5 * ((t - t0) / w) ** 2)


def half_sine_pulse(t, amplitude: float, t0: float, duration: float) -> np.ndarray:
    """Half-sine shock ``A sin(pi (t - t0) / duration)`` on [t0, t0 + duration], else zero.

    Its impulse is ``2 A duration / pi``.

    Parameters
    ----------
    t : array_like
        Sample times (s).
    amplitude : float
        Peak value (any unit, e.g. N or m/s^2); its sign is the direction.
    t0, duration : float
        Start (s) and length (s, > 0) of the pulse.
    """
    t = _time(t)
    a = _num("amplitude", amplitude)
    t0 = _num("t0", t0)
    d = _positive("duration", duration)
    tau = np.clip(t - t0, 0.0, d)
    return np.where((t >= t0) & (t <= t0 + d), a * np.sin(np.pi * tau / d), 0.0)


def harmonic(t, amplitude: float, frequency_hz: float, phase_rad: float = 0.0) -> np.ndarray:
    """Steady sine ``A sin(2 pi f t + phase)``.

    Parameters
    ----------
    t : array_like
        Sample times (s).
    amplitude : float
        Amplitude (any unit), >= 0 (phase_rad = pi gives the opposite sign).
    frequency_hz : float
        Frequency (Hz), from 0 to the Nyquist frequency of t.
    phase_rad : float
        Phase at t = 0 (rad).
    """
    t = _time(t)
    a = _num("amplitude", amplitude, 0.0)
    f = _num("frequency_hz", frequency_hz, 0.0)
    phi = _num("phase_rad", phase_rad)
    _below_nyquist(t, "frequency_hz", f)
    return a * np.sin(2.0 * np.pi * f * t + phi)


def swept_sine(t, amplitude: float, f0_hz: float, f1_hz: float, duration_s: float,
               method: str = "linear") -> np.ndarray:
    """Chirp ``A sin(phi(t))`` whose frequency goes from f0 to f1 over [0, T = duration_s].

    ``phi(t) = 2 pi int_0^t f(s) ds`` with ``f(t) = f0 + (f1 - f0) t / T`` ("linear") or
    ``f(t) = f0 (f1 / f0)^(t / T)`` ("log": equal time per octave). The signal starts at zero
    and is zero outside [0, T]: one sweep, then the shaker stops.

    Parameters
    ----------
    t : array_like
        Sample times (s).
    amplitude : float
        Amplitude (any unit), >= 0.
    f0_hz, f1_hz : float
        Start and end frequencies (Hz), >= 0 (> 0 for "log"), up to the Nyquist of t;
        f1 < f0 sweeps down.
    duration_s : float
        Sweep time T (s), > 0.
    method : {"linear", "log"}
        Frequency law.
    """
    t = _time(t)
    a = _num("amplitude", amplitude, 0.0)
    f0 = _num("f0_hz", f0_hz, 0.0)
    f1 = _num("f1_hz", f1_hz, 0.0)
    T = _positive("duration_s", duration_s)
    if method not in ("linear", "log"):
        raise ValueError(f"method must be 'linear' or 'log', got {method!r}")
    _below_nyquist(t, "f0_hz", f0)
    _below_nyquist(t, "f1_hz", f1)
    tau = np.clip(t, 0.0, T)
    if method == "linear":
        phase = 2.0 * np.pi * (f0 * tau + 0.5 * (f1 - f0) * tau ** 2 / T)
    elif f0 == 0.0 or f1 == 0.0:
        raise ValueError(f"a log sweep needs f0_hz > 0 and f1_hz > 0, got {f0!r}, {f1!r}")
    elif f0 == f1:
        phase = 2.0 * np.pi * f0 * tau
    else:
        k = math.log(f1 / f0)  # expm1 keeps the phase accurate when f1 is close to f0
        phase = 2.0 * np.pi * f0 * T / k * np.expm1(k * tau / T)
    return np.where((t >= 0.0) & (t <= T), a * np.sin(phase), 0.0)


# --- random signals ----------------------------------------------------------------------------

def band_limited_noise(n: int, fs_hz: float, f_low_hz: float, f_high_hz: float, rms: float,
                       seed: int | None) -> np.ndarray:
    """Gaussian noise with a flat spectrum on [f_low, f_high], scaled to an exact rms.

    White Gaussian noise goes through rfft, every bin outside the band is zeroed (an ideal
    zero-phase filter; the record is treated as periodic) and the irfft is scaled so that
    ``sqrt(mean(x**2)) == rms``.

    Parameters
    ----------
    n : int
        Number of samples, >= 2.
    fs_hz : float
        Sample rate (Hz), > 0.
    f_low_hz, f_high_hz : float
        Band edges (Hz), ``0 <= f_low < f_high <= fs/2``, holding at least one rfft bin
        (bins are fs/n apart).
    rms : float
        Root mean square of the result (any unit), >= 0.
    seed : int or None
        Seed for numpy.random.default_rng.
    """
    n = _count("n", n, 2)
    fs = _positive("fs_hz", fs_hz)
    lo = _num("f_low_hz", f_low_hz, 0.0)
    hi = _positive("f_high_hz", f_high_hz)
    target = _num("rms", rms, 0.0)
    if hi > 0.5 * fs:
        raise ValueError(f"f_high_hz must be <= fs_hz/2 = {0.5 * fs:.6g} Hz, got {f_high_hz!r}")
    if lo >= hi:
        raise ValueError(f"f_low_hz must be < f_high_hz = {hi!r}, got {f_low_hz!r}")
    f = np.fft.rfftfreq(n, 1.0 / fs)
    band = (f >= lo) & (f <= hi)
    if not band.any():
        raise ValueError(f"band [{lo!r}, {hi!r}] Hz holds no frequency bin at resolution "
                         f"fs/n = {fs / n:.6g} Hz; widen the band or raise n")
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum[~band] = 0.0
    x = np.fft.irfft(spectrum, n)
    return x * (target / np.sqrt(np.mean(x ** 2)))


def _envelope(m: int, fs: float, rise: float, strong: float, end_level: float) -> np.ndarray:
    """Jennings-type envelope: (t/t1)^2 rise, 1 in the strong phase, exponential decay.

    The decay ``exp(-c (t - t2))``, which would reach end_level at the last sample, is lowered
    and renormalised to reach exactly zero there: the record starts and ends at rest.
    """
    T = (m - 1) / fs
    t = np.arange(m) / fs
    t1, t2 = rise * T, (rise + strong) * T
    c = -math.log(end_level) / (T - t2)
    decay = (np.exp(-c * (t - t2)) - end_level) / (1.0 - end_level)
    return np.where(t < t1, (t / t1) ** 2, np.where(t <= t2, 1.0, decay))


def _end_state(a: np.ndarray, h: float) -> tuple[float, float]:
    """Final velocity and displacement, from rest, of a piecewise-linear acceleration a.

    Exact for a first-order hold (how the simulator reads its inputs): per step of h,
    ``v += h (a_k + a_k1) / 2`` and ``d += h v_k + h^2 (a_k / 3 + a_k1 / 6)``.
    """
    v = np.concatenate(([0.0], np.cumsum(0.5 * h * (a[:-1] + a[1:]))))
    d = h * np.sum(v[:-1]) + h * h * np.sum(a[:-1] / 3.0 + a[1:] / 6.0)
    return float(v[-1]), float(d)


def earthquake(n: int, fs_hz: float, pga_m_s2: float, seed: int | None,
               duration_s: float | None = None,
               kanai_tajimi: tuple[float, float] = (15.6, 0.6),
               clough_penzien: tuple[float, float] = (1.5, 0.6),
               envelope: tuple[float, float, float] = (0.1, 0.4, 0.05)) -> np.ndarray:
    """Synthetic ground acceleration (m/s^2): filtered white noise under an envelope.

    White noise drives the Kanai-Tajimi soil filter ``(2 zg wg s + wg^2) / (s^2 + 2 zg wg s
    + wg^2)`` in series with the Clough-Penzien high-pass ``s^2 / (s^2 + 2 zf wf s + wf^2)``
    (bilinear transform and lfilter, after a discarded warm-up of five time constants of the
    slowest pole, so the filtered noise is stationary). It is multiplied by a Jennings-type
    envelope over the motion's length T: (t/t1)^2 up to ``t1 = rise T``, 1 up to
    ``t2 = (rise + strong) T``, then an exponential decay that would fall to end_level at T,
    shifted to end at exactly zero.

    Baseline correction, so that the table comes back: ``e(t) (c0 + c1 t / T)`` is subtracted,
    envelope-shaped so that it adds nothing where the record is quiet, with c0 and c1 solved
    so that the final velocity and displacement are exactly zero when the samples are read as
    a first-order hold (as the simulator does; the velocity is then the trapezoidal integral).
    Last, the record is scaled so that ``max |a| == pga_m_s2`` exactly. Samples after the
    motion (when ``duration_s < n / fs_hz``) are zero.

    Parameters
    ----------
    n : int
        Number of samples, >= 16.
    fs_hz : float
        Sample rate (Hz), > 0, above ``wg / pi``.
    pga_m_s2 : float
        Peak ground acceleration (m/s^2), >= 0.
    seed : int or None
        Seed for numpy.random.default_rng.
    duration_s : float, optional
        Length of the motion T (s), at most ``n / fs_hz`` (the default).
    kanai_tajimi, clough_penzien : (float, float)
        ``(wg, zg)`` and ``(wf, zf)``: filter frequencies (rad/s) and damping ratios, all > 0.
    envelope : (float, float, float)
        ``(rise, strong, end_level)``: rise and strong-motion times as fractions of T
        (> 0, >= 0, sum < 1) and where the decay is headed at T, in (0, 1).
    """
    n = _count("n", n, 16)
    fs = _positive("fs_hz", fs_hz)
    pga = _num("pga_m_s2", pga_m_s2, 0.0)
    wg, zg = _pair(kanai_tajimi, "kanai_tajimi")
    wf, zf = _pair(clough_penzien, "clough_penzien")
    if wg >= np.pi * fs:
        raise ValueError(f"kanai_tajimi[0] (omega_g) must be below the Nyquist frequency "
                         f"pi fs = {np.pi * fs:.6g} rad/s, got {wg!r}")
    try:
        rise, strong, end_level = envelope
    except (TypeError, ValueError):
        raise ValueError(f"envelope must be (rise, strong, end_level), got {envelope!r}") from None
    rise = _positive("envelope[0] (rise)", rise)
    strong = _num("envelope[1] (strong)", strong, 0.0)
    end_level = _positive("envelope[2] (end_level)", end_level)
    if rise + strong >= 1.0:
        raise ValueError(f"envelope rise + strong must be < 1, got {rise!r} + {strong!r}")
    if end_level >= 1.0:
        raise ValueError(f"envelope[2] (end_level) must be < 1, got {end_level!r}")
    m = n
    if duration_s is not None:
        d = _positive("duration_s", duration_s)
        if d > n / fs * (1.0 + 1e-12):
            raise ValueError(f"duration_s must be <= n / fs_hz = {n / fs:.6g} s, "
                             f"got {duration_s!r}")
        m = min(n, int(round(d * fs)))
        if m < 16:
            raise ValueError(f"duration_s must span at least 16 samples, got {duration_s!r}")

    num = np.polymul([2.0 * zg * wg, wg * wg], [1.0, 0.0, 0.0])
    den = np.polymul([1.0, 2.0 * zg * wg, wg * wg], [1.0, 2.0 * zf * wf, wf * wf])
    bz, az = scipy.signal.bilinear(num, den, fs)
    slowest = float(np.min(-np.roots(den).real))  # decay rate of the slowest pole (1/s)
    warm = int(math.ceil(5.0 * fs / slowest))
    noise = np.random.default_rng(seed).standard_normal(warm + m)
    x = scipy.signal.lfilter(bz, az, noise)[warm:]

    e = _envelope(m, fs, rise, strong, end_level)
    h = 1.0 / fs
    basis = (e, e * np.linspace(0.0, 1.0, m))
    M = np.array([_end_state(b, h) for b in basis]).T  # column j: (v_end, d_end) of basis j
    c = np.linalg.solve(M, np.array(_end_state(e * x, h)))
    a = e * x - c[0] * basis[0] - c[1] * basis[1]

    out = np.zeros(n)
    peak = np.max(np.abs(a))
    if peak > 0.0:
        out[:m] = (a / peak) * pga  # divide first: the peak becomes +-1, then exactly +-pga
    return out
