"""The frequency band a modal identification should look at, chosen from the data.

Not a fixed 3-45 Hz (a building's modes sit at 1-10 Hz, a lab frame's at 5-30 Hz): the band
spans the resonance peaks that the measurement actually resolves. A peak counts when it stands
out of the summed FRF (each output normalised to its own largest value, so one loud floor does
not hide the others) by `PROMINENCE_DB`, and, where the FRF comes with a coherence, when the
coherence at (or within NEAR_BINS of) the peak is at least `MIN_COHERENCE` (a peak of noise
or of an unmeasured input is incoherent with the measured one). The band spans the n most
prominent such peaks, from `BELOW` x the lowest to `ABOVE` x the highest: a peak among them
that is no storey mode (a torsional one) only pushes the top storey mode out, which the caller
sees (that mode missing) and answers by widening the band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal

PROMINENCE_DB = 6.0
MIN_COHERENCE = 0.5
BELOW = 0.6
ABOVE = 1.35
NEAR_BINS = 3


@dataclass(frozen=True)
class DataBand:
    lo_hz: float
    hi_hz: float
    peaks_hz: np.ndarray  # the coherent peaks found (sorted)


def summed_db(h: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """20 log10 of the sum over outputs of |H| normalised to each output's largest usable value."""
    a = np.abs(np.asarray(h)).reshape(len(usable), -1)
    top = np.max(np.where(usable[:, None], a, 0.0), axis=0)
    s = np.sum(a / np.maximum(top, np.finfo(float).tiny), axis=1)
    return 20 * np.log10(np.maximum(s, 1e-300))


def data_band(frequency_hz: np.ndarray, h: np.ndarray, n_modes: int,
              coherence: np.ndarray | None = None, excluded: np.ndarray | None = None,
              f_min_hz: float = 0.0, f_max_hz: float = np.inf) -> DataBand:
    """See the module's notes. Raises ValueError when no coherent peak is found."""
    f = np.asarray(frequency_hz, dtype=float)
    usable = (f > 0) & (f >= f_min_hz) & (f <= f_max_hz)
    if excluded is not None:
        usable &= ~np.asarray(excluded, dtype=bool)
    if usable.sum() < 8:
        raise ValueError(f"fewer than 8 usable frequency points between {f_min_hz:g} and "
                         f"{min(f_max_hz, f[-1]):g} Hz")
    db = np.where(usable, summed_db(h, usable), -np.inf)
    idx = np.flatnonzero(usable)
    pk, props = scipy.signal.find_peaks(db[idx[0]:idx[-1] + 1], prominence=PROMINENCE_DB)
    pk = pk + idx[0]
    prom = props["prominences"]
    keep = usable[pk]
    if coherence is not None:
        g2 = np.asarray(coherence, dtype=float).reshape(f.size, -1)
        # the best of a few bins about the peak: a mode narrower than a bin loses coherence
        # at its own peak to the window's leakage, not to noise
        near = np.array([np.max(np.mean(g2[max(p - NEAR_BINS, 0):p + NEAR_BINS + 1], axis=1))
                         for p in pk])
        keep &= near >= MIN_COHERENCE
    pk, prom = pk[keep], prom[keep]
    if pk.size == 0:
        raise ValueError(f"no resonance peak with {PROMINENCE_DB:g} dB prominence"
                         + (f" and coherence >= {MIN_COHERENCE:g}" if coherence is not None
                            else "") + f" between {f[idx[0]]:g} and {f[idx[-1]]:g} Hz")
    top = pk[np.argsort(prom)[::-1][:n_modes]]
    lo = max(BELOW * f[top.min()], f[idx[0]])
    hi = min(ABOVE * f[top.max()], f[idx[-1]])
    return DataBand(float(lo), float(hi), np.sort(f[pk]))
