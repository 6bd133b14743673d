"""Twin-side dry run of a speed command: the steady-state storey drifts the crank would cause.

The scotch-yoke crank moves the table by x_g = r sin(theta_c), theta_c the crank angle and r the
stroke (physics.rig: `stroke_m` is the amplitude, not the peak-to-peak travel). At a steady
crank speed Omega (rad/s) the table motion is one pure harmonic, so the base acceleration has
amplitude r Omega^2 at frequency Omega, and each floor's displacement relative to the table is
r Omega^2 |H_i(Omega)|, H the base-excitation displacement FRF (structure.frf, excitation
"base"). The drift of storey i is u_i - u_{i-1} (u_0 = 0), taken as a complex difference so the
floors' relative phases count. Speeds are the crank's, as in rig.RigCommand.speed_rpm; the gear
between motor and crank does not change the table's motion at a given crank speed.

This is the uncoupled prediction: on the rig the structure's base shear slows and modulates
the motor near a resonance (the Sommerfeld effect), which a speed-regulated drive mostly
corrects below resonance.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

from twin3d.physics.structure import LinearModel, frf, modal_analysis, storey_drift

RPM = 2.0 * np.pi / 60.0  # rad/s per rpm


def _check(stroke_m: float, gear_ratio: float) -> None:
    if not (np.isfinite(stroke_m) and stroke_m >= 0):
        raise ValueError(f"stroke_m must be finite and >= 0, got {stroke_m!r}")
    if not (np.isfinite(gear_ratio) and gear_ratio > 0):
        raise ValueError(f"gear_ratio must be > 0, got {gear_ratio!r}")


def drift_frf(model: LinearModel, frequency_hz, storeys: int | None = None) -> np.ndarray:
    """Complex storey drift per unit base acceleration, (n_freq, storeys), m per m/s^2. The
    first `storeys` degrees of freedom (default all) are floors; any after them (a device's
    moving mass, structure.with_oscillator) shape the response but have no drift."""
    h = frf(model, frequency_hz, excitation="base", output="displacement")
    return storey_drift(h[:, :storeys])


def steady_drift_m(model: LinearModel, stroke_m: float, crank_rpm, gear_ratio: float = 1.0,
                   storeys: int | None = None) -> np.ndarray:
    """Amplitude of each inter-storey drift (m) at the crank's steady state.

    Parameters
    ----------
    model : LinearModel
        The twin's structure.
    stroke_m : float
        Crank eccentricity r (m): table displacement amplitude.
    crank_rpm : float or array
        Steady crank speed (rpm).
    gear_ratio : float
        Motor turns per crank turn; checked, but it does not enter (the speed is the crank's).
    storeys : int, optional
        How many leading degrees of freedom are floors (see `drift_frf`); default all.

    Returns
    -------
    (N,) array for a scalar speed, (n_speeds, N) for an array of speeds.
    """
    _check(stroke_m, gear_ratio)
    rpm = np.asarray(crank_rpm, dtype=np.float64)
    if not np.all(np.isfinite(rpm)) or np.any(rpm < 0):
        raise ValueError(f"crank_rpm must be finite and >= 0, got {crank_rpm!r}")
    w = np.atleast_1d(rpm) * RPM
    drift = stroke_m * w[:, None] ** 2 * np.abs(drift_frf(model, w / (2 * np.pi), storeys))
    return drift[0] if rpm.ndim == 0 else drift


def _worst(model: LinearModel, stroke_m: float, rpm, storeys: int | None) -> np.ndarray:
    return steady_drift_m(model, stroke_m, np.atleast_1d(rpm), storeys=storeys).max(axis=1)


def max_safe_speed_rpm(model: LinearModel, stroke_m: float, drift_limit_m: float,
                       rpm_max: float, gear_ratio: float = 1.0, storeys: int | None = None
                       ) -> list[tuple[float, float]]:
    """Forbidden crank-speed bands (lo, hi) in rpm, within [0, rpm_max], where the largest
    steady-state storey drift exceeds drift_limit_m.

    The worst drift is sampled on a grid fine enough for the sharpest resonance (a tenth of its
    half-power width), plus each resonance's peak found by a bounded search, and every band
    edge is refined by root finding to 1e-6 rpm. A band reaching rpm_max ends at rpm_max.
    """
    _check(stroke_m, gear_ratio)
    if not (np.isfinite(drift_limit_m) and drift_limit_m > 0):
        raise ValueError(f"drift_limit_m must be > 0, got {drift_limit_m!r}")
    if not (np.isfinite(rpm_max) and rpm_max > 0):
        raise ValueError(f"rpm_max must be > 0, got {rpm_max!r}")
    modes = modal_analysis(model)
    zeta = np.nan_to_num(modes.damping_ratios, nan=1.0)
    f = modes.frequencies_hz
    step = max(1e-3, 0.1 * float(np.min(2 * np.clip(zeta, 1e-4, None) * f)) * 60.0)
    grid = np.linspace(0.0, rpm_max, int(np.ceil(rpm_max / step)) + 1)
    # add each resonance's true peak, so a peak narrower than the grid is never stepped over
    peaks = []
    for fr, z in zip(f * 60.0, zeta):
        lo, hi = fr * (1 - 4 * z) - 1e-3, fr * (1 + 4 * z) + 1e-3
        if lo < rpm_max:
            res = scipy.optimize.minimize_scalar(lambda s: -_worst(model, stroke_m, s, storeys)[0],
                                                 bounds=(max(lo, 0.0), min(hi, rpm_max)),
                                                 method="bounded", options={"xatol": 1e-6})
            peaks.append(float(res.x))
    grid = np.unique(np.concatenate([grid, peaks]))
    g = _worst(model, stroke_m, grid, storeys) - drift_limit_m
    bands: list[tuple[float, float]] = []
    start = None
    for i in range(grid.size):
        if g[i] > 0 and start is None:
            start = 0.0 if i == 0 else _edge(model, stroke_m, drift_limit_m, grid[i - 1], grid[i],
                                                     storeys)
        elif g[i] <= 0 and start is not None:
            bands.append((start, _edge(model, stroke_m, drift_limit_m, grid[i - 1], grid[i],
                                       storeys)))
            start = None
    if start is not None:
        bands.append((start, float(rpm_max)))
    return bands


def _edge(model, stroke_m, limit, a, b, storeys) -> float:
    """Speed between a and b where the worst drift crosses the limit."""
    return float(scipy.optimize.brentq(lambda s: _worst(model, stroke_m, s, storeys)[0] - limit,
                                       a, b, xtol=1e-6))
