"""FRFs from time series: H1 and H2 with Welch averaging, coherence, and the crank's lines.

x is the input (the table's acceleration for a base-excited frame, or a force), y the outputs
(floor accelerations), sampled together. Segments of `nperseg` samples overlap by half, each
Hann-windowed with its mean removed; one real FFT of every segment of every channel gives

    Gxx = <|X|^2>,  Gyy = <|Y|^2>,  Gxy = <conj(X) Y>      (<> the mean over segments)
    H1 = Gxy / Gxx   (unbiased by noise on the outputs)
    H2 = Gyy / Gyx   (unbiased by noise on the input)
    coherence gamma^2 = |Gxy|^2 / (Gxx Gyy)  (so H1 = gamma^2 H2).

The random error of an H1 estimate from n_d averages (Bendat & Piersol, Random Data, 9.3):
var(ln |H1|) ~ (1 - gamma^2) / (2 n_d gamma^2), whose inverse weighs each point of a fit.

A running crank puts a towering line (and harmonics) on the table. The structure's response
at the line is still its linear response, but the line leaks into neighbouring bins through
the window's sidelobes (a 70 dB line is still 25 dB above the ambient shaking 1 Hz away),
where it dominates both spectra and biases H towards its own value. So the lines are handled
as the frequency tracker handles them: found (`frequency_tracking.harmonic_lines`) and
notched out of the input and every output by the same filter (the same LTI filter on both
leaves H unchanged), and the bins within the notches, where little input is left, are marked
excluded; a fit leaves them out.

Leakage: a lightly damped mode is narrower than a bin (the rig's mode 1: 6 Hz at 0.34 %
damping, 0.04 Hz wide, in 0.25 Hz bins), so the estimate is the true FRF smoothed by the
window's power spectrum |W(f)|^2: peaks come out low and broad, and a fit to them is biased
(+0.8 % on mode 1, damping doubled, on the simulated rig). A model compared with such an
estimate is smoothed the same way (`smoothed`): for an input whose spectrum is smooth over a
few bins, E[Gxy] / E[Gxx] is the FRF convolved with |W|^2 normalised; then the bias is gone.

scipy.signal.csd computes one pair at a time (the input's FFT again for every output); here
every spectrum comes from one FFT per segment and channel.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import scipy.signal

from twin3d.physics.frequency_tracking import NOTCH_BANDWIDTH_HZ, harmonic_lines, notch_sections

LINE_GUARD_BINS = 3  # a Hann window's main lobe is +-2 bins; one more for a line between bins


@dataclass(frozen=True)
class FrfEstimate:
    frequency_hz: np.ndarray  # (n_f,)
    h: np.ndarray  # (n_f, channels) complex: the chosen estimator (H1 or H2)
    coherence: np.ndarray  # (n_f, channels) in [0, 1]
    gxx: np.ndarray  # (n_f,) input auto-spectral density, unit^2/Hz (one-sided)
    n_averages: int
    estimator: str  # "H1" or "H2"
    excluded: np.ndarray  # (n_f,) bool: bins at the input's strong lines (crank harmonics)
    lines_hz: np.ndarray  # the lines found
    nperseg: int = 0
    fs: float = 0.0

    def kernel(self, per_bin: int = 2, half_bins: int = 2) -> tuple[np.ndarray, np.ndarray]:
        """Offsets (Hz) and weights (sum 1) of the Hann window's power spectrum |W(f)|^2,
        `per_bin` points per bin over its main lobe, +-half_bins bins (finer or wider moved
        the rig's calibrated modes by < 0.001 % at 2.5 times the cost)."""
        return _kernel(self.nperseg, self.fs, per_bin, half_bins)

    def smoothed(self, h_model, f: np.ndarray) -> np.ndarray:
        """h_model(f') -> (n_f', channels) evaluated around f and smoothed by `kernel()`:
        what this estimate would read for a system whose FRF is h_model."""
        off, w = self.kernel()
        grid = (np.asarray(f)[:, None] + off[None, :]).ravel()
        h = np.asarray(h_model(np.abs(grid)))  # |f|: the FRF at -f is the conjugate's mirror
        h = h.reshape(len(f), off.size, -1)
        neg = (np.asarray(f)[:, None] + off[None, :]) < 0
        h = np.where(neg[..., None], np.conj(h), h)
        return np.einsum("fkc,k->fc", h, w)

    def log_weight(self) -> np.ndarray:
        """Inverse variance of ln|H| per point, (n_f, channels); 0 where excluded."""
        g2 = np.clip(self.coherence, 1e-6, 1 - 1e-9)
        w = 2 * self.n_averages * g2 / (1 - g2)
        w[self.excluded] = 0.0
        return w


@functools.lru_cache(maxsize=16)
def _kernel(n: int, fs: float, per_bin: int, half_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """FrfEstimate.kernel, computed once per segment length (a fit calls it per residual)."""
    df = fs / n
    off = df * np.arange(-half_bins * per_bin, half_bins * per_bin + 1) / per_bin
    win = np.hanning(n + 1)[:-1]
    w = np.abs(np.exp(-2j * np.pi * np.outer(off / fs, np.arange(n))) @ win) ** 2
    off.flags.writeable = False
    w = w / w.sum()
    w.flags.writeable = False
    return off, w


def _spectra(data: np.ndarray, win: np.ndarray, step: int, fs: float):
    """Segment FFTs (segments, channels, n_f) of the columns of data, and their one-sided
    auto-spectral densities (channels, n_f)."""
    seg = sliding_window_view(data, win.size, axis=0)[::step]  # (segments, channels, nperseg)
    spec = np.fft.rfft((seg - seg.mean(axis=-1, keepdims=True)) * win, axis=-1)
    scale = 2.0 / (fs * np.sum(win**2))
    return spec, scale * np.mean(np.abs(spec) ** 2, axis=0)


def welch_segments(n: int, nperseg: int) -> int:
    """How many half-overlapping segments of nperseg fit in n samples."""
    return 0 if n < nperseg else 1 + (n - nperseg) // (nperseg // 2)


def estimate_frf(x: np.ndarray, y: np.ndarray, fs: float, nperseg: int,
                 estimator: str = "H1", find_lines: bool = True) -> FrfEstimate:
    """H1 or H2 of every column of y against x, with coherence (see the module's notes)."""
    if estimator not in ("H1", "H2"):
        raise ValueError(f"estimator must be H1 or H2, got {estimator!r}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float).reshape(x.size, -1)
    if welch_segments(x.size, nperseg) < 2:
        raise ValueError(f"{x.size} samples make fewer than 2 segments of {nperseg}")
    step = nperseg // 2
    win = np.hanning(nperseg + 1)[:-1]  # periodic Hann: the overlap-added windows are flat
    f = np.fft.rfftfreq(nperseg, 1.0 / fs)
    lines = np.empty(0)
    if find_lines:
        _, pxx = _spectra(x[:, None], win, step, fs)
        lines = harmonic_lines(x, fs, f, pxx[0])
        sos = notch_sections(lines, fs)
        if sos is not None:
            x = scipy.signal.sosfilt(sos, x)
            y = scipy.signal.sosfilt(sos, y, axis=0)
    spec, auto = _spectra(np.column_stack([x, y]), win, step, fs)  # channel 0: the input
    X, Y = spec[:, 0], spec[:, 1:]
    gxx, gyy = auto[0], auto[1:]
    gxy = 2.0 / (fs * np.sum(win**2)) * np.mean(np.conj(X)[:, None, :] * Y, axis=0)
    tiny = np.finfo(float).tiny
    coh = np.abs(gxy) ** 2 / np.maximum(gxx[None] * gyy, tiny)
    h = gxy / np.maximum(gxx[None], tiny) if estimator == "H1" else \
        gyy / np.where(np.abs(gxy) > 0, np.conj(gxy), tiny)
    excluded = np.zeros(f.size, dtype=bool)
    df = f[1] - f[0]
    for line in lines:  # the notch and the window's main lobe either side of it
        excluded |= np.abs(f - line) <= NOTCH_BANDWIDTH_HZ + LINE_GUARD_BINS * df
    excluded[0] = True  # the mean is gone: no information at 0 Hz
    return FrfEstimate(f, h.T, np.clip(coh.T, 0.0, 1.0), gxx, spec.shape[0], estimator,
                       excluded, np.asarray(lines), nperseg, float(fs))
