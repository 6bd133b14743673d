"""Calibration of the twin's structural model from the rig's own data.

From a record of the table's acceleration x and the floors' absolute accelerations y (ambient
shaking, the crank running, or both) the table-to-floor transmissibilities are estimated (H1,
Welch, coherence: `physics.frf_estimate`; the crank's lines excluded) and the storey stiffness
and damping (optionally masses) of the frame *as the rig carries it* (frame + the actuator
hung on it, whose own parameters are known and kept) are fitted to them by the one updating
machinery of twin3d (`physics.chain_update.fit_chain`), weighted by each point's coherence.

Why the transmissibility and not a force FRF: the rig is shaken at its base, and the table
accelerometer measures that input. The model's absolute floor acceleration per unit table
acceleration, T(w) = 1 + w^2 (K - w^2 M + j w C)^-1 M 1, depends on k, c and m only through
their ratios to each other, so masses are kept unless asked (then only their distribution
moves, the total held); the accelerometers are calibrated, so no gain is fitted.

Refusals (the model in use is kept): too little excitation (the table's rms within a few
times its sensor noise), too little coherence in the fitted band, a fit that leaves a
parameter on its bound. Each message carries the number that refused it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin3d.physics.chain_update import chain_damping, fit_chain
from twin3d.physics.frf_estimate import FrfEstimate, estimate_frf
from twin3d.physics.structure import LinearModel, frf, modal_analysis

MIN_EXCITATION_RATIO = 3.0  # table rms / its sensor's noise rms
MIN_COHERENCE = 0.5  # median over the fitted band, per floor
MAX_COHERENCE_WEIGHT = 0.99  # gamma^2 capped: a few near-perfect bins must not rule the fit
SEGMENT_PERIODS = 24.0  # Welch segment length in periods of the lowest model mode
BAND_ABOVE_TOP_MODE = 1.3  # fit up to this times the highest model frequency
BAND_BELOW_FIRST_MODE = 0.4


class CalibrationRefused(ValueError):
    """The data cannot calibrate the model; the message says which number refused it."""


@dataclass(frozen=True)
class Calibration:
    mass_kg: np.ndarray
    stiffness_n_per_m: np.ndarray
    damping_ns_per_m: np.ndarray
    frequencies_hz: np.ndarray  # the carried model's (frame + actuator), ascending
    damping_ratios: np.ndarray
    frame_frequencies_hz: np.ndarray  # the bare frame's
    start_frequencies_hz: np.ndarray  # the carried start model's
    fit_error: float  # weighted rms |ln(T_model / T_measured)| over the band
    start_error: float
    coherence: float  # median coherence over the band and floors
    band_hz: tuple[float, float]
    n_averages: int
    lines_hz: np.ndarray  # crank lines left out
    excitation_ratio: float  # table rms / sensor noise rms (nan when the noise is unknown)
    frf: FrfEstimate  # the measured transmissibilities
    model_frf: np.ndarray  # the calibrated model's as the estimate sees it, (n_f, floors)

    def summary(self) -> dict:
        """Plain numbers for JSON, the history and the profile's provenance."""
        return {"frequencies_hz": [float(f) for f in self.frequencies_hz],
                "storey_stiffness_n_per_m": [float(v) for v in self.stiffness_n_per_m],
                "storey_damping_ns_per_m": [float(v) for v in self.damping_ns_per_m],
                "mass_kg": [float(v) for v in self.mass_kg],
                "fit_error": self.fit_error, "start_fit_error": self.start_error,
                "coherence_median": self.coherence, "band_hz": list(self.band_hz),
                "averages": self.n_averages, "crank_lines_hz": [float(f) for f in self.lines_hz],
                "excitation_ratio": (None if not np.isfinite(self.excitation_ratio)
                                     else self.excitation_ratio)}


def transmissibility(model: LinearModel, frequency_hz: np.ndarray, floors) -> np.ndarray:
    """Absolute acceleration of `floors` (1-based) per unit base acceleration, (n_f, floors)."""
    return frf(model, frequency_hz, "base", "accelerance")[:, np.asarray(floors) - 1]


def calibrate(table_acc: np.ndarray, floor_acc: np.ndarray, floors, fs: float,
              mass_kg, stiffness_n_per_m, damping_ns_per_m,
              carried: Callable[[LinearModel], LinearModel] = lambda m: m,
              fit_mass: bool = False, input_noise_rms: float | None = None,
              min_coherence: float = MIN_COHERENCE) -> Calibration:
    """Fit the chain (the start values given) to the record; see the module's notes.

    floors: the 1-based floor of each column of floor_acc. carried(model) -> the model as the
    rig carries it (Scene.carried: the actuator hung on). Raises CalibrationRefused."""
    x = np.asarray(table_acc, dtype=float)
    y = np.asarray(floor_acc, dtype=float).reshape(x.size, -1)
    floors = np.asarray(floors, dtype=int)
    m0, k0, c0 = (np.asarray(v, dtype=float) for v in (mass_kg, stiffness_n_per_m,
                                                        damping_ns_per_m))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise CalibrationRefused("the record holds non-finite samples")
    start = carried(LinearModel.chain(m0, k0, c0))
    f_start = modal_analysis(start).frequencies_hz
    ratio = np.nan
    if input_noise_rms:
        ratio = float(np.std(x) / input_noise_rms)
        if ratio < MIN_EXCITATION_RATIO:
            raise CalibrationRefused(
                f"too little excitation: the table's acceleration is {ratio:.2f} times its "
                f"sensor noise (needs >= {MIN_EXCITATION_RATIO:g})")
    nper = int(round(SEGMENT_PERIODS / f_start[0] * fs))
    nper += nper % 2
    try:
        est = estimate_frf(x, y, fs, nper)
    except ValueError:
        raise CalibrationRefused(
            f"too short: {x.size / fs:.1f} s of data make fewer than 2 segments of "
            f"{nper / fs:.1f} s (needs >= {1.5 * nper / fs:.0f} s)") from None
    f = est.frequency_hz
    band = (BAND_BELOW_FIRST_MODE * f_start[0], min(BAND_ABOVE_TOP_MODE * f_start[-1],
                                                    0.45 * fs))
    pts = np.flatnonzero((f >= band[0]) & (f <= band[1]) & ~est.excluded)
    coh = float(np.median(est.coherence[pts])) if pts.size else 0.0
    worst = np.median(est.coherence[pts], axis=0) if pts.size else np.zeros(len(floors))
    if pts.size < 4 * m0.size or np.min(worst) < min_coherence:
        j = int(np.argmin(worst))
        raise CalibrationRefused(
            f"too little coherence: median {worst[j]:.2f} on floor {floors[j]} between "
            f"{band[0]:.1f} and {band[1]:.1f} Hz (needs >= {min_coherence:g})")
    g2 = np.minimum(est.coherence[pts], MAX_COHERENCE_WEIGHT)
    weight = g2 / (1 - g2)

    def response(m, k, c, f_):  # as the Welch estimate would see it (leakage included)
        model = carried(LinearModel.chain(m, k, c))
        return est.smoothed(lambda g: transmissibility(model, g, floors), f_)

    # two starts: the model's own damping, and damping matched to 1 % modal damping (a model
    # with a far-off damping starts with a misfit the stiffness steps cannot undo)
    starts = [(k0, c0), (k0, chain_damping(m0, k0, 0.01))]
    fit = fit_chain(f[pts], est.h[pts], response, m0, starts, weight=weight,
                    fit_mass=fit_mass, fit_gain=False, points=pts)
    if fit.at_bound:
        raise CalibrationRefused(f"the fit ran to a bound ({', '.join(fit.at_bound)}): the "
                                 "data do not pin the model down")
    model = carried(LinearModel.chain(fit.mass_kg, fit.stiffness_n_per_m,
                                      fit.damping_ns_per_m))
    modes = modal_analysis(model)
    bare = modal_analysis(LinearModel.chain(fit.mass_kg, fit.stiffness_n_per_m,
                                            fit.damping_ns_per_m))
    return Calibration(
        fit.mass_kg, fit.stiffness_n_per_m, fit.damping_ns_per_m, modes.frequencies_hz,
        modes.damping_ratios, bare.frequencies_hz, f_start, fit.fit_error, fit.start_error,
        coh, (float(band[0]), float(band[1])), est.n_averages, est.lines_hz, ratio, est,
        est.smoothed(lambda g: transmissibility(model, g, floors), f))
