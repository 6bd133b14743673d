"""What a data-acquisition channel does to a true physical signal.

A reading is the true signal plus the channel's offset and Gaussian noise, turned into volts by
the sensitivity, clipped to the ADC's input range, quantised to the ADC's step and turned back
into physical units. ``resample`` brings the simulator's fast samples down to the logging rate,
and ``to_int16``/``from_int16`` pack readings for the wire.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

INT16_MIN, INT16_MAX = -32768, 32767


@dataclass(frozen=True)
class SensorSpec:
    """One acquisition channel.

    Attributes
    ----------
    name : str
        Channel name, e.g. "a1".
    unit : str
        Physical unit of the readings, e.g. "m/s^2".
    sensitivity : float
        Transducer output per physical unit (V/unit), > 0, e.g. 0.01015 V/(m/s^2).
    noise_rms : float
        Rms of the channel's Gaussian noise (physical unit), >= 0.
    adc_bits : int
        ADC resolution (bits), 2 to 32.
    full_scale_v : float
        The ADC reads -full_scale_v to +full_scale_v (V), > 0.
    offset : float
        Bias added to every reading (physical unit).
    """

    name: str
    unit: str
    sensitivity: float
    noise_rms: float
    adc_bits: int
    full_scale_v: float
    offset: float = 0.0

    def __post_init__(self) -> None:
        for field, allowed, ok in (("sensitivity", "> 0", lambda v: v > 0),
                                   ("noise_rms", ">= 0", lambda v: v >= 0),
                                   ("full_scale_v", "> 0", lambda v: v > 0),
                                   ("offset", "a number", lambda v: True)):
            value = getattr(self, field)
            real = isinstance(value, (int, float, np.integer, np.floating)) and \
                not isinstance(value, bool)
            if not (real and math.isfinite(value) and ok(value)):
                raise ValueError(f"SensorSpec.{field} must be finite and {allowed}, "
                                 f"got {value!r}")
        bits = self.adc_bits
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or \
                not 2 <= bits <= 32:
            raise ValueError(f"SensorSpec.adc_bits must be an integer from 2 to 32, got {bits!r}")

    @property
    def lsb_v(self) -> float:
        """ADC step (V): the full range 2 full_scale_v over 2**adc_bits codes."""
        return 2.0 * self.full_scale_v / 2.0 ** self.adc_bits

    @property
    def lsb(self) -> float:
        """ADC step in physical units."""
        return self.lsb_v / self.sensitivity

    @property
    def full_scale(self) -> float:
        """Largest magnitude the channel can read, in physical units."""
        return self.full_scale_v / self.sensitivity


@numba.njit(cache=True)
def _clip_quantise(volts, full_scale_v, lsb_v, code_min, code_max, out):
    """ADC codes (as floats) into out; returns how many samples lay outside +-full_scale_v."""
    n_clipped = 0
    for i in range(volts.size):
        v = volts[i]
        if v > full_scale_v:
            v = full_scale_v
            n_clipped += 1
        elif v < -full_scale_v:
            v = -full_scale_v
            n_clipped += 1
        # round half to even, like np.rint; a two's-complement ADC has one code fewer on top
        code = min(max(np.rint(v / lsb_v), code_min), code_max)
        out[i] = code
    return n_clipped


def measure(signal, spec: SensorSpec, rng=None) -> tuple[np.ndarray, int]:
    """Read a true signal through one acquisition channel.

    Adds ``spec.offset`` and Gaussian noise of rms ``spec.noise_rms``, converts to volts by
    ``spec.sensitivity``, clips to ``+-spec.full_scale_v``, rounds to the nearest ADC code
    (step ``2 full_scale_v / 2**adc_bits``; codes ``-2**(bits-1)`` to ``2**(bits-1) - 1``, so
    the top reading is one step under full scale) and converts back to physical units.

    Parameters
    ----------
    signal : array_like
        True values (physical unit), finite, any shape.
    spec : SensorSpec
        The channel.
    rng : numpy.random.Generator or int or None
        Noise source, or a seed for numpy.random.default_rng; unused when noise_rms is 0.

    Returns
    -------
    values : numpy.ndarray
        Readings (physical unit), float64, shape of signal, within ``+-spec.full_scale``.
    n_clipped : int
        Number of samples whose voltage lay outside the ADC's range.
    """
    x = np.asarray(signal, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"signal for channel {spec.name!r} must be finite, "
                         f"got {np.count_nonzero(~np.isfinite(x))} NaN or infinite samples")
    reading = x + spec.offset
    if spec.noise_rms > 0.0:
        reading = reading + spec.noise_rms * np.random.default_rng(rng).standard_normal(x.shape)
    # a huge finite input may overflow to +-inf here; the clip below handles it
    with np.errstate(over="ignore"):
        volts = np.ascontiguousarray(reading * spec.sensitivity).ravel()
    half = 2 ** (spec.adc_bits - 1)
    out = np.empty_like(volts)
    n_clipped = _clip_quantise(volts, float(spec.full_scale_v), spec.lsb_v,
                               float(-half), float(half - 1), out)
    # codes times the step in physical units: bit-identical to from_int16(.., int16_scale(spec))
    return (out * spec.lsb).reshape(x.shape), int(n_clipped)


def resample(signal, physics_fs_hz: float, output_fs_hz: float) -> np.ndarray:
    """Bring samples from the physics rate down to the output rate, time along axis 0.

    With an integer ratio ``r = physics_fs / output_fs``, output sample k is the mean of
    physics samples ``k r .. k r + r - 1`` (a boxcar anti-alias filter, as an integrating ADC
    would see); only complete blocks are kept. Otherwise the signal is linearly interpolated,
    without anti-aliasing. Both ways output sample k stands for the time
    ``k / output_fs + (r - 1) / (2 physics_fs)`` (the centre of its block, as returned by
    ``resample_times``), when physics sample j stands for ``j / physics_fs``.

    Parameters
    ----------
    signal : array_like
        Samples at the physics rate, shape (n, ...).
    physics_fs_hz : float
        Rate of the input (Hz), > 0.
    output_fs_hz : float
        Rate of the output (Hz), ``0 < output_fs <= physics_fs``.

    Returns
    -------
    numpy.ndarray
        float64, shape (floor(n / r), ...).
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("signal must have a time axis (axis 0), got a scalar")
    r = _ratio(physics_fs_hz, output_fs_hz)
    n = x.shape[0]
    r_int = round(r)
    if abs(r - r_int) <= 1e-9 * r:
        m = n // r_int
        blocks = x[:m * r_int].reshape((m, r_int) + x.shape[1:])
        # mean of the deviations from each block's first sample: a constant comes out exactly
        return blocks[:, 0] + (blocks - blocks[:, :1]).mean(axis=1)
    m = int(math.floor(n / r + 1e-9))
    pos = np.arange(m) * r + 0.5 * (r - 1.0)  # fractional physics index of each output sample
    i = np.minimum(np.floor(pos).astype(np.intp), max(n - 2, 0))
    w = (pos - i).reshape((m,) + (1,) * (x.ndim - 1))
    return x[i] + w * (x[np.minimum(i + 1, n - 1)] - x[i])


def resample_times(n_out: int, physics_fs_hz: float, output_fs_hz: float) -> np.ndarray:
    """Times (s) that the first n_out samples of ``resample`` stand for (physics t0 = 0)."""
    r = _ratio(physics_fs_hz, output_fs_hz)
    return np.arange(n_out) / float(output_fs_hz) + 0.5 * (r - 1.0) / float(physics_fs_hz)


def _ratio(physics_fs_hz: float, output_fs_hz: float) -> float:
    for name, value in (("physics_fs_hz", physics_fs_hz), ("output_fs_hz", output_fs_hz)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    if output_fs_hz > physics_fs_hz:
        raise ValueError(f"output_fs_hz must be <= physics_fs_hz = {physics_fs_hz!r}, "
                         f"got {output_fs_hz!r}")
    return physics_fs_hz / output_fs_hz


def int16_scale(spec: SensorSpec) -> float:
    """Physical units per int16 count for the channel's readings on the wire.

    Up to 16 bits this is the ADC step itself (lossless: every code fits); above, the step
    times ``2**(adc_bits - 16)``, so that the ADC's whole range still fits.

    Parameters
    ----------
    spec : SensorSpec
        The channel.

    Returns
    -------
    float
        Scale (physical unit per count), > 0.
    """
    return spec.lsb * 2.0 ** max(spec.adc_bits - 16, 0)


def to_int16(values, scale: float) -> np.ndarray:
    """Counts ``round(values / scale)``, saturated at -32768 and 32767 (no wrap-around).

    Parameters
    ----------
    values : array_like
        Readings (physical unit); no NaN (+-inf saturate).
    scale : float
        Physical units per count, > 0 (see ``int16_scale``).

    Returns
    -------
    numpy.ndarray
        int16, shape of values.
    """
    _check_scale(scale)
    v = np.asarray(values, dtype=np.float64)
    if np.isnan(v).any():
        raise ValueError("values must not contain NaN: it has no int16 count")
    with np.errstate(over="ignore"):
        counts = np.rint(v / scale)
    return np.clip(counts, INT16_MIN, INT16_MAX).astype(np.int16)


def from_int16(counts, scale: float) -> np.ndarray:
    """Readings ``counts * scale`` (physical unit, float64) from int16 counts.

    Parameters
    ----------
    counts : array_like of int
        Counts, integers within the int16 range.
    scale : float
        Physical units per count, > 0.

    Returns
    -------
    numpy.ndarray
        float64, shape of counts.
    """
    _check_scale(scale)
    c = np.asarray(counts)
    if not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"counts must be integers, got dtype {c.dtype}")
    if c.size and (c.min() < INT16_MIN or c.max() > INT16_MAX):
        raise ValueError(f"counts must lie in [{INT16_MIN}, {INT16_MAX}], "
                         f"got [{c.min()}, {c.max()}]")
    return c.astype(np.float64) * scale


def _check_scale(scale: float) -> None:
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be finite and > 0 (physical units per count), "
                         f"got {scale!r}")
