"""Tests of twin3d.physics.excitations: shapes, laws, spectra, reproducibility, argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from twin3d.physics.excitations import (
    band_limited_noise,
    earthquake,
    half_sine_pulse,
    hammer,
    harmonic,
    swept_sine,
    time_grid,
)


def _zero_crossing_frequency(t, x):
    """Frequency estimates (Hz) between successive zero crossings, and their mid times (s)."""
    i = np.nonzero(np.signbit(x[:-1]) != np.signbit(x[1:]))[0]
    tc = t[i] - x[i] * (t[i + 1] - t[i]) / (x[i + 1] - x[i])  # linear interpolation
    return 0.5 * (tc[1:] + tc[:-1]), 0.5 / np.diff(tc)


def _trapz_velocity(a, fs):
    return np.concatenate(([0.0], np.cumsum(0.5 * (a[1:] + a[:-1]) / fs)))


# --- time grid and deterministic signals --------------------------------------------------------

def test_time_grid_is_uniform_with_rounded_count():
    t = time_grid(0.3, 1000.0)  # 0.3 * 1000 is 300.00000000000006 in floating point
    assert t.shape == (300,) and t.dtype == np.float64
    assert t[0] == 0.0 and np.allclose(np.diff(t), 1e-3, rtol=0, atol=1e-15)


def test_hammer_impulse_and_peak_match_cristallo_hammer():
    t = time_grid(1.0, 10_000.0)
    f = hammer(t, 300.0, 0.5, 0.01)
    assert np.sum(f) / 10_000.0 == pytest.approx(300.0 * 0.01 * np.sqrt(2 * np.pi), rel=1e-9)
    assert np.sum(f) / 10_000.0 == pytest.approx(7.5199, abs=1e-4)
    assert t[np.argmax(f)] == pytest.approx(0.5) and f.max() == pytest.approx(300.0)
    # one standard deviation away the pulse is down to exp(-1/2)
    assert f[np.searchsorted(t, 0.51)] == pytest.approx(300.0 * np.exp(-0.5), rel=1e-6)


def test_half_sine_pulse_impulse_support_and_peak():
    t = time_grid(1.0, 20_000.0)
    p = half_sine_pulse(t, 50.0, 0.2, 0.05)
    assert np.sum(p) / 20_000.0 == pytest.approx(2 * 50.0 * 0.05 / np.pi, rel=1e-6)
    assert np.all(p[(t < 0.2) | (t > 0.25)] == 0.0)
    assert p.max() == pytest.approx(50.0, rel=1e-6)
    assert t[np.argmax(p)] == pytest.approx(0.225, abs=1e-4)


def test_harmonic_values_and_phase():
    t = np.array([0.0, 0.125, 0.25, 0.5])
    np.testing.assert_allclose(harmonic(t, 2.0, 2.0), [0.0, 2.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(harmonic(t, 2.0, 2.0, np.pi / 2), [2.0, 0.0, -2.0, 2.0],
                               atol=1e-12)


@pytest.mark.parametrize("method", ["linear", "log"])
@pytest.mark.parametrize("f0, f1", [(1.0, 20.0), (25.0, 2.0)])
def test_swept_sine_follows_its_frequency_law(method, f0, f1):
    fs, T = 5000.0, 10.0
    t = time_grid(T + 1.0, fs)
    x = swept_sine(t, 1.5, f0, f1, T, method)
    law = (lambda s: f0 + (f1 - f0) * s / T) if method == "linear" else \
        (lambda s: f0 * (f1 / f0) ** (s / T))
    inside = t <= T
    tm, f_est = _zero_crossing_frequency(t[inside], x[inside])
    assert tm.size > 50
    np.testing.assert_allclose(f_est, law(tm), rtol=2e-3)
    assert x[0] == 0.0 and np.all(x[t > T] == 0.0)
    assert np.max(np.abs(x)) == pytest.approx(1.5, rel=1e-3)


def test_swept_sine_matches_analytic_phase_of_a_linear_chirp():
    # scipy's chirp uses cos(phase); ours is sin(phase) = cos(phase - pi/2)
    t = time_grid(4.0, 1000.0)
    ours = swept_sine(t, 1.0, 2.0, 30.0, 4.0, "linear")
    ref = scipy.signal.chirp(t, 2.0, 4.0, 30.0, method="linear", phi=-90.0)
    np.testing.assert_allclose(ours, ref, atol=1e-9)


# --- band-limited noise -------------------------------------------------------------------------

def test_band_limited_noise_rms_and_flat_band_spectrum():
    fs, lo, hi = 1000.0, 20.0, 80.0
    x = band_limited_noise(2 ** 17, fs, lo, hi, rms=0.7, seed=3)
    assert x.shape == (2 ** 17,) and x.dtype == np.float64
    assert np.sqrt(np.mean(x ** 2)) == pytest.approx(0.7, rel=1e-12)
    f, p = scipy.signal.welch(x, fs, nperseg=2048)
    # flat inside: the mean level of each fifth of the band within a factor 2 of the others
    edges = np.linspace(lo + 2.0, hi - 2.0, 6)
    levels = [p[(f >= a) & (f < b)].mean() for a, b in zip(edges[:-1], edges[1:])]
    assert max(levels) / min(levels) < 2.0
    # and the band carries the whole power (Parseval): mean level ~ rms^2 / bandwidth
    assert np.mean(levels) == pytest.approx(0.7 ** 2 / (hi - lo), rel=0.1)
    # at least 20 dB down well outside
    band_level = np.mean(levels)
    assert p[(f > 1.0) & (f < lo / 2)].max() < band_level / 100.0
    assert p[f > 1.5 * hi].max() < band_level / 100.0


def test_band_limited_noise_seeds_reproduce_and_differ():
    a = band_limited_noise(4096, 500.0, 5.0, 50.0, 1.0, seed=11)
    b = band_limited_noise(4096, 500.0, 5.0, 50.0, 1.0, seed=11)
    c = band_limited_noise(4096, 500.0, 5.0, 50.0, 1.0, seed=12)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


# --- earthquake ---------------------------------------------------------------------------------

FS_EQ = 200.0
N_EQ = int(30 * FS_EQ)


def test_earthquake_peak_is_exactly_pga_and_record_starts_and_ends_at_rest():
    a = earthquake(N_EQ, FS_EQ, 3.2, seed=5)
    assert a.shape == (N_EQ,) and a.dtype == np.float64
    assert np.max(np.abs(a)) == 3.2
    assert a[0] == 0.0 and abs(a[-1]) < 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_earthquake_table_comes_back(seed):
    a = earthquake(N_EQ, FS_EQ, 3.0, seed=seed)
    h = 1.0 / FS_EQ
    v = _trapz_velocity(a, FS_EQ)
    # displacement of a piecewise-linear (first-order hold) acceleration, exact per step
    d = np.concatenate(([0.0], np.cumsum(h * v[:-1] + h * h * (a[:-1] / 3 + a[1:] / 6))))
    assert np.max(np.abs(v)) > 0.01 and np.max(np.abs(d)) > 1e-4  # the table did move
    assert abs(v[-1]) < 1e-9 * np.max(np.abs(v))
    assert abs(d[-1]) < 1e-9 * np.max(np.abs(d))


def test_earthquake_envelope_shape():
    a = earthquake(N_EQ, FS_EQ, 2.0, seed=7)
    m = a.size

    def rms(x):
        return np.sqrt(np.mean(x ** 2))

    strong = rms(a[int(0.1 * m):int(0.5 * m)])
    assert strong > 3.0 * rms(a[:int(0.05 * m)])
    assert strong > 3.0 * rms(a[int(0.9 * m):])


def test_earthquake_spectrum_peaks_near_the_soil_frequency():
    wg = 15.6
    psd = 0.0
    for seed in range(6):  # average realisations: the Kanai-Tajimi peak is broad (zeta 0.6)
        f, p = scipy.signal.welch(earthquake(N_EQ, FS_EQ, 3.0, seed=seed), FS_EQ, nperseg=1024)
        psd = psd + p
    f_peak = f[np.argmax(psd)]
    fg = wg / (2 * np.pi)
    assert fg / 2 < f_peak < 2 * fg
    # the soil filter rolls off above its corner (|H_KT|^2 ~ 0.01 of its peak at 8 omega_g)
    assert psd[f > 20.0].max() < 0.05 * psd.max()


def test_earthquake_seed_reproducibility_and_trailing_rest():
    a = earthquake(4000, 100.0, 1.0, seed=9, duration_s=25.0)
    b = earthquake(4000, 100.0, 1.0, seed=9, duration_s=25.0)
    c = earthquake(4000, 100.0, 1.0, seed=10, duration_s=25.0)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.all(a[2500:] == 0.0) and np.any(a[:2500] != 0.0)
    assert abs(_trapz_velocity(a, 100.0)[-1]) < 1e-9


# --- argument checks ----------------------------------------------------------------------------

T = np.linspace(0.0, 1.0, 1001)  # fs = 1000 Hz


@pytest.mark.parametrize("call, match", [
    (lambda: time_grid(1.0, 0.0), r"fs_hz must be > 0, got 0\.0"),
    (lambda: time_grid(-1.0, 100.0), r"duration_s must be > 0, got -1\.0"),
    (lambda: time_grid(1e-4, 100.0), r"at least one sample"),
    (lambda: hammer(T, 300.0, 0.5, 0.0), r"width_s must be > 0, got 0\.0"),
    (lambda: hammer(T, float("nan"), 0.5, 0.01), r"amplitude_n must be finite"),
    (lambda: hammer(np.zeros((2, 2)), 1.0, 0.5, 0.01), r"t must be a non-empty 1-D array"),
    (lambda: half_sine_pulse(T, 1.0, 0.1, -0.01), r"duration must be > 0, got -0\.01"),
    (lambda: harmonic(T, -1.0, 5.0), r"amplitude must be >= 0, got -1\.0"),
    (lambda: harmonic(T, 1.0, 600.0), r"frequency_hz must be <= fs/2 = 500 Hz.*got 600\.0"),
    (lambda: swept_sine(T, 1.0, 1.0, 10.0, 1.0, "cubic"), r"method must be 'linear' or 'log'"),
    (lambda: swept_sine(T, 1.0, 0.0, 10.0, 1.0, "log"), r"log sweep needs f0_hz > 0"),
    (lambda: swept_sine(T, 1.0, 1.0, 501.0, 1.0), r"f1_hz must be <= fs/2"),
    (lambda: swept_sine(T, 1.0, 1.0, 10.0, 0.0), r"duration_s must be > 0"),
    (lambda: band_limited_noise(1024, -5.0, 1.0, 2.0, 1.0, 0), r"fs_hz must be > 0, got -5\.0"),
    (lambda: band_limited_noise(1024, 100.0, 1.0, 60.0, 1.0, 0),
     r"f_high_hz must be <= fs_hz/2 = 50 Hz, got 60\.0"),
    (lambda: band_limited_noise(1024, 100.0, 20.0, 10.0, 1.0, 0), r"f_low_hz must be < f_high"),
    (lambda: band_limited_noise(1024, 100.0, 1.0, 10.0, -1.0, 0), r"rms must be >= 0, got -1"),
    (lambda: band_limited_noise(1, 100.0, 1.0, 10.0, 1.0, 0), r"n must be an integer >= 2"),
    (lambda: band_limited_noise(16, 100.0, 1.0, 2.0, 1.0, 0), r"holds no frequency bin"),
    (lambda: earthquake(1000, 100.0, -1.0, 0), r"pga_m_s2 must be >= 0, got -1\.0"),
    (lambda: earthquake(1000, 0.0, 1.0, 0), r"fs_hz must be > 0"),
    (lambda: earthquake(1000, 4.0, 1.0, 0), r"omega_g\) must be below the Nyquist"),
    (lambda: earthquake(1000, 100.0, 1.0, 0, duration_s=11.0), r"duration_s must be <= n / fs"),
    (lambda: earthquake(1000, 100.0, 1.0, 0, kanai_tajimi=(15.6, -0.1)),
     r"kanai_tajimi\[1\] \(zeta\) must be > 0, got -0\.1"),
    (lambda: earthquake(1000, 100.0, 1.0, 0, clough_penzien=1.5), r"clough_penzien must be a pair"),
    (lambda: earthquake(1000, 100.0, 1.0, 0, envelope=(0.5, 0.6, 0.05)), r"rise \+ strong"),
    (lambda: earthquake(1000, 100.0, 1.0, 0, envelope=(0.1, 0.4, 1.5)), r"end_level\) must be"),
    (lambda: earthquake(8, 100.0, 1.0, 0), r"n must be an integer >= 16"),
])
def test_bad_arguments_raise_value_error_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()
