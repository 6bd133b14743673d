"""Tests of twin3d.physics.sensors: ADC quantisation, noise, clipping, resampling, int16 wire."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from twin3d.physics.sensors import (
    SensorSpec,
    from_int16,
    int16_scale,
    measure,
    resample,
    resample_times,
    to_int16,
)

ACC = SensorSpec(name="a1", unit="m/s^2", sensitivity=0.01015, noise_rms=0.0, adc_bits=16,
                 full_scale_v=10.0)
LSB = 2 * 10.0 / 2 ** 16 / 0.01015  # m/s^2 per ADC code
FULL = 10.0 / 0.01015  # m/s^2


def test_quantisation_step_is_the_adc_lsb_and_error_within_half_an_lsb():
    assert ACC.lsb == pytest.approx(LSB, rel=1e-15) and ACC.full_scale == pytest.approx(FULL)
    x = np.linspace(-0.9 * FULL, 0.9 * FULL, 200_001)
    y, n_clipped = measure(x, ACC, np.random.default_rng(0))
    assert n_clipped == 0 and y.dtype == np.float64 and y.shape == x.shape
    assert np.max(np.abs(y - x)) <= 0.5 * LSB * (1 + 1e-9)
    steps = np.diff(np.unique(y))
    np.testing.assert_allclose(steps, LSB, rtol=1e-9)
    # every reading is a whole number of codes
    codes = y / LSB
    np.testing.assert_allclose(codes, np.rint(codes), atol=1e-6)


def test_offset_is_added_to_the_reading():
    spec = dataclasses.replace(ACC, offset=2.5)
    y, _ = measure(np.zeros(10), spec, 0)
    assert np.all(np.abs(y - 2.5) <= 0.5 * LSB)


def test_noise_rms_is_statistically_right_and_seeded():
    spec = dataclasses.replace(ACC, noise_rms=0.8)  # 0.8 m/s^2 >> LSB = 0.03 m/s^2
    y, n_clipped = measure(np.full(100_000, 5.0), spec, np.random.default_rng(42))
    assert n_clipped == 0
    # quantisation adds LSB^2 / 12 of variance: negligible next to 0.8^2
    assert np.std(y) == pytest.approx(0.8, rel=0.02)
    assert np.mean(y) == pytest.approx(5.0, abs=0.02)
    y2, _ = measure(np.full(100_000, 5.0), spec, np.random.default_rng(42))
    y3, _ = measure(np.full(100_000, 5.0), spec, np.random.default_rng(43))
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(y, y3)


def test_clipping_is_counted_and_readings_saturate():
    x = np.array([0.0, 0.5 * FULL, 1.2 * FULL, -3.0 * FULL, FULL * 0.999, -1e9, 1e9])
    y, n_clipped = measure(x, ACC, 0)
    assert n_clipped == 4
    assert y[2] == pytest.approx(FULL - LSB) and y[6] == pytest.approx(FULL - LSB)
    assert y[3] == pytest.approx(-FULL) and y[5] == pytest.approx(-FULL)
    assert np.all(np.abs(y) <= FULL)


def test_measure_refuses_non_finite_signal():
    with pytest.raises(ValueError, match="must be finite"):
        measure(np.array([0.0, np.nan]), ACC, 0)


@pytest.mark.parametrize("kwargs, match", [
    ({"sensitivity": 0.0}, r"sensitivity must be finite and > 0, got 0\.0"),
    ({"noise_rms": -1.0}, r"noise_rms must be finite and >= 0, got -1\.0"),
    ({"full_scale_v": float("inf")}, r"full_scale_v must be finite and > 0"),
    ({"offset": float("nan")}, r"offset must be finite"),
    ({"adc_bits": 1}, r"adc_bits must be an integer from 2 to 32, got 1"),
    ({"adc_bits": 12.0}, r"adc_bits must be an integer"),
    ({"sensitivity": "0.01"}, r"sensitivity must be finite and > 0, got '0\.01'"),
])
def test_sensor_spec_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(ACC, **kwargs)


@settings(max_examples=200, deadline=None)
@given(
    x=arrays(np.float64, st.integers(0, 64), elements=st.floats(allow_nan=False,
                                                                allow_infinity=False)),
    noise=st.sampled_from([0.0, 1.0, 1e3]),
    offset=st.floats(-2e3, 2e3),
    bits=st.integers(2, 24),
)
def test_measure_never_returns_nan_and_stays_within_full_scale(x, noise, offset, bits):
    spec = dataclasses.replace(ACC, noise_rms=noise, offset=offset, adc_bits=bits)
    y, n_clipped = measure(x, spec, np.random.default_rng(1))
    assert y.shape == x.shape
    assert not np.isnan(y).any()
    assert np.all(np.abs(y) <= spec.full_scale * (1 + 1e-12))
    assert 0 <= n_clipped <= x.size


# --- resampling ---------------------------------------------------------------------------------

def test_resample_integer_ratio_keeps_amplitude_and_phase_of_a_slow_sine():
    fs_phys, fs_out, f = 2000.0, 100.0, 1.3
    t = np.arange(20_000) / fs_phys
    y = resample(np.sin(2 * np.pi * f * t + 0.4), fs_phys, fs_out)
    assert y.shape == (1000,)
    tk = resample_times(y.size, fs_phys, fs_out)
    # a 20-sample boxcar at 1.3 Hz passes sin(pi f T)/(N sin(pi f / fs)) = 0.99972 of amplitude
    np.testing.assert_allclose(y, np.sin(2 * np.pi * f * tk + 0.4), atol=5e-4)


def test_resample_integer_ratio_is_a_block_mean_and_keeps_constants_exactly():
    x = np.arange(12.0)
    np.testing.assert_array_equal(resample(x, 4.0, 1.0), [1.5, 5.5, 9.5])
    for r, c in [(10, 0.1), (3, 0.1), (7, 0.7), (20, -4.2)]:  # plain means miss these by an ulp
        np.testing.assert_array_equal(resample(np.full(11 * r - 1, c), 100.0 * r, 100.0),
                                      np.full(10, c))
    two = np.stack([np.full(10, 3.0), np.arange(10.0)], axis=1)
    np.testing.assert_array_equal(resample(two, 10.0, 5.0), [[3, 0.5], [3, 2.5], [3, 4.5],
                                                              [3, 6.5], [3, 8.5]])


def test_resample_non_integer_ratio_interpolates_linearly():
    fs_phys, fs_out = 1000.0, 300.0
    t = np.arange(1000) / fs_phys
    ramp = 2.0 * t - 0.3
    y = resample(ramp, fs_phys, fs_out)
    tk = resample_times(y.size, fs_phys, fs_out)
    assert y.size == 300 and tk[-1] <= t[-1]
    np.testing.assert_allclose(y, 2.0 * tk - 0.3, atol=1e-12)  # exact on a ramp
    np.testing.assert_array_equal(resample(np.full(1000, -4.2), fs_phys, fs_out), -4.2)
    s = resample(np.sin(2 * np.pi * 2.0 * t), fs_phys, fs_out)
    np.testing.assert_allclose(s, np.sin(2 * np.pi * 2.0 * tk), atol=1e-4)


@pytest.mark.parametrize("args, match", [
    ((0.0, 100.0), r"physics_fs_hz must be finite and > 0, got 0\.0"),
    ((1000.0, -1.0), r"output_fs_hz must be finite and > 0, got -1\.0"),
    ((100.0, 1000.0), r"output_fs_hz must be <= physics_fs_hz = 100\.0, got 1000\.0"),
])
def test_resample_rejects_bad_rates(args, match):
    with pytest.raises(ValueError, match=match):
        resample(np.zeros(100), *args)


# --- int16 wire format --------------------------------------------------------------------------

def test_int16_scale_is_lossless_for_a_16_bit_channel():
    scale = int16_scale(ACC)
    assert scale == pytest.approx(LSB, rel=1e-15)
    x = np.linspace(-1.5 * FULL, 1.5 * FULL, 50_001)
    y, _ = measure(x, ACC, 0)
    counts = to_int16(y, scale)
    assert counts.dtype == np.int16
    assert counts.min() == -32768 and counts.max() == 32767
    np.testing.assert_array_equal(from_int16(counts, scale), y)


def test_int16_scale_covers_the_range_of_a_wide_adc():
    spec = dataclasses.replace(ACC, adc_bits=24)
    scale = int16_scale(spec)
    assert scale == pytest.approx(2 * FULL / 2 ** 16)
    y, _ = measure(np.array([-2 * FULL, 0.999 * FULL]), spec, 0)
    np.testing.assert_allclose(from_int16(to_int16(y, scale), scale), y, atol=0.5 * scale)


def test_int16_round_trip_within_half_a_count_and_saturating_without_wrap():
    scale = 0.01
    rng = np.random.default_rng(5)
    v = rng.uniform(-327.0, 327.0, 10_000)
    back = from_int16(to_int16(v, scale), scale)
    assert np.max(np.abs(back - v)) <= 0.5 * scale * (1 + 1e-9)
    big = np.array([327.68, 400.0, 1e300, np.inf, -327.69, -1e300, -np.inf])
    counts = to_int16(big, scale)
    np.testing.assert_array_equal(counts, [32767, 32767, 32767, 32767, -32768, -32768, -32768])


@pytest.mark.parametrize("call, match", [
    (lambda: to_int16([1.0], 0.0), r"scale must be finite and > 0"),
    (lambda: to_int16([np.nan], 1.0), r"must not contain NaN"),
    (lambda: from_int16(np.array([1.5]), 1.0), r"counts must be integers"),
    (lambda: from_int16(np.array([40_000]), 1.0), r"counts must lie in \[-32768, 32767\]"),
])
def test_int16_helpers_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
