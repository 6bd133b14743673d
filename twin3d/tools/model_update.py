"""model_update: a chain model (storey stiffness, damping, optionally mass) from a measured FRF.

What it does, and how it differs from Cristallo's "profile generation" (TOOLS.md 8, 13.10):
- The modal bands are found from the data (resonance peaks by prominence above f_min_hz),
  not fixed at 5.9-7.0, 17-19 and 25-27.5 Hz, so another rig or a coarser file works too.
- The force may act on any floor: the driving point is detected from the circle fits (its
  modal constants phi_e^2 all share one sign) or given as `excitation_floor`.
- Each circle gives the natural frequency and a *viscous damping ratio* from all the band's
  points (Cristallo takes the peak bin, so its 6.5000/17.4688/26.5000 Hz are 1/32 Hz bins,
  and reports the loss factor from the two neighbouring bins as a damping ratio: its
  eta = 0.0107/0.0104/0.0093 is about 2 x zeta plus bin-resolution bias).
- Storey values come from scipy least squares on the measured complex FRFs (log-magnitude and
  phase in the bands), not from Cristallo's ad-hoc "5 kg modal mass" and averaging formulas.
  Cristallo's update of the Southampton file (Experimental.csv) gives k = [34 892, 43 232,
  43 266] N/m, a model at 6.20/17.79/26.40 Hz, 4.6 % low on mode 1; ours sits on the measured
  peaks 6.500/17.469/26.500 Hz within 0.2 % (k ~ [40 800, 46 700, 36 600] N/m on Cristallo's
  masses; with `fit_mass` the distribution moves to ~[5.51, 4.66, 4.83] kg and the FRF misfit
  halves). The stiffness *distribution* differs from Cristallo's because three frequencies on
  fixed masses admit several chains; the measured shapes (through the FRF fit) pick one.
- Units: with Cristallo's 5 kg floors, the fitted calibration gain is 0.98 if the file is read
  as m/s^2/N and 9.6 if read as g/N, so the "g/N" files are in fact m/s^2/N; `frf_unit`
  defaults to that. With `fit_gain` (default) the gain is free and the total mass is held at
  the start profile's, since the FRF scale of an uncalibrated test cannot tell mass from gain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.tools._frf_files import G, asset, read_frf
from twin3d.physics import circle_fit
from twin3d.physics.structure import LinearModel, frf
from twin3d.scenefile.schema import SchemaError, spec
from twin3d.tools import Context, Plot

NAME = "model_update"
SUMMARY = ("chain model (storey k, c, optionally m) fitted to a measured FRF: automatic modal "
           "bands, circle fits, least squares on the FRFs")

DEFAULT_FILE = "dtApp/dtData/frfs/Experimental.csv"


@dataclass(frozen=True, kw_only=True)
class Inputs:
    frf_file: str = spec("", doc="measured FRF: Cristallo's ';' complex format or CSV "
                         "(f, H_1..H_N); empty: the shipped Southampton Experimental.csv")
    frf_unit: str = spec("m/s^2/N", choices=("m/s^2/N", "g/N"),
                         doc="unit of the accelerance in the file (Cristallo's files: m/s^2/N, "
                         "whatever their label says)")
    excitation_floor: int = spec(0, lo=0, hi=20, doc="floor where the force acts; 0: detect it")
    profile: str = spec("", doc="profile whose masses start the fit (empty: the active model)")
    fit_mass: bool = spec(False, doc="fit the storey masses too (their distribution when "
                          "fit_gain holds the total)")
    fit_gain: bool = spec(True, doc="fit a sensor calibration gain (then the total mass is "
                          "held at the profile's)")
    n_modes: int = spec(0, lo=0, hi=20, doc="modes to identify; 0: one per FRF channel")
    f_min_hz: float = spec(3.0, unit="Hz", lo=0.0, hi=1000.0,
                           doc="ignore peaks below (noise bumps at the low end)")
    f_max_hz: float = spec(45.0, unit="Hz", lo=0.1, hi=10000.0, doc="ignore peaks above")
    save_as: str = spec("", doc="save the updated model as this profile (empty: do not save)")


@dataclass(frozen=True)
class Result:
    file: str
    excitation_floor: int
    excitation_detected: bool
    peaks_hz: np.ndarray  # measured peak bins
    bands_hz: np.ndarray  # (modes, 2) circle-fit bands
    identified_frequencies_hz: np.ndarray  # circle fits
    identified_damping_ratios: np.ndarray
    identified_shapes: np.ndarray  # (modes, floors), max-normalised
    frequencies_hz: np.ndarray  # the updated model's
    damping_ratios: np.ndarray
    mass_kg: np.ndarray
    stiffness_n_per_m: np.ndarray
    damping_ns_per_m: np.ndarray
    peak_errors: np.ndarray  # model frequency / measured peak - 1
    gain: float
    fit_error: float  # rms |log(H_model / H_measured)| in the bands
    start_error: float
    saved_profile: str
    frequency_hz: np.ndarray  # for the plots
    measured_db: np.ndarray  # (n_f, floors)
    model_db: np.ndarray
    circle_hz: list  # per mode: band frequencies
    circle_angle_data: list  # per mode: angle around the centre, driving point, rad
    circle_angle_fit: list


EXAMPLE: dict = {"f_max_hz": 40.0}


def _angle_model(f, c):
    w, wn = 2 * np.pi * np.asarray(f), 2 * np.pi * c.frequency_hz
    a = c.rotation - 2 * np.arctan((w * w - wn * wn) / (2 * c.damping_ratio * wn * w))
    return np.unwrap(a)


def run(inputs: Inputs, ctx: Context) -> Result:
    path = inputs.frf_file or str(asset(DEFAULT_FILE))
    data = read_frf(path)
    f = data.frequency_hz
    h = data.h * (G if inputs.frf_unit == "g/N" else 1.0)
    nch = h.shape[1]
    scene = ctx.get_scene()
    model0 = scene.model(ctx.profile(inputs.profile))
    if model0.n != nch:
        raise SchemaError(path, "columns", f"{nch} FRF channels but profile "
                          f"{ctx.profile(inputs.profile)!r} has {model0.n} floors")
    if inputs.excitation_floor > nch:
        raise SchemaError("model_update", "excitation_floor", "beyond the FRF's floors",
                          inputs.excitation_floor, f"0..{nch}")
    if f[0] <= 0:  # mobility needs w > 0
        keep = f > 0
        f, h = f[keep], h[keep]
    ctx.report(0.1, "circle fits")
    try:
        ident = circle_fit.identify(f, h, inputs.n_modes or nch, inputs.f_min_hz,
                                    inputs.f_max_hz, (inputs.excitation_floor - 1)
                                    if inputs.excitation_floor else None)
    except ValueError as e:
        raise SchemaError(path, "peaks", str(e)) from None
    floor = ident.driving_point + 1
    ctx.report(0.3, "least squares on the FRFs")
    fit = circle_fit.update_chain(f, h, floor, np.diag(model0.M), ident, inputs.fit_mass,
                                  inputs.fit_gain)
    fn, zeta = circle_fit.model_modes(fit.mass_kg, fit.stiffness_n_per_m, fit.damping_ns_per_m)
    peaks = np.array([b.peak_hz for b in ident.bands])
    m = min(fn.size, peaks.size)
    saved = ""
    if inputs.save_as:
        saved = _save(inputs.save_as, fit, path)
    ctx.report(0.9, "plots")
    sel = (f >= min(inputs.f_min_hz, f[-1])) & (f <= inputs.f_max_hz)
    fm = f[sel]
    hm = fit.gain * frf(LinearModel.chain(fit.mass_kg, fit.stiffness_n_per_m,
                                          fit.damping_ns_per_m), fm, floor, "accelerance")
    shapes = ident.shapes / np.max(np.abs(ident.shapes), axis=0)
    y = h / (2j * np.pi * f[:, None])
    cd = ident.driving_point
    ch, ca, cm = [], [], []
    for b, cs in zip(ident.bands, ident.circles):
        c = cs[cd]
        fb = f[b.lo:b.hi]
        ch.append(fb)
        ca.append(np.unwrap(np.angle(y[b.lo:b.hi, cd] - c.centre)))
        a = _angle_model(fb, c)
        cm.append(a + 2 * np.pi * np.round((ca[-1][0] - a[0]) / (2 * np.pi)))
    ctx.report(1.0, "done")
    return Result(
        file=path, excitation_floor=floor, excitation_detected=inputs.excitation_floor == 0,
        peaks_hz=peaks, bands_hz=np.array([[f[b.lo], f[b.hi - 1]] for b in ident.bands]),
        identified_frequencies_hz=ident.frequencies_hz,
        identified_damping_ratios=ident.damping_ratios, identified_shapes=shapes.T,
        frequencies_hz=fn, damping_ratios=zeta, mass_kg=fit.mass_kg,
        stiffness_n_per_m=fit.stiffness_n_per_m, damping_ns_per_m=fit.damping_ns_per_m,
        peak_errors=fn[:m] / peaks[:m] - 1, gain=fit.gain, fit_error=fit.fit_error,
        start_error=fit.start_error, saved_profile=saved, frequency_hz=fm,
        measured_db=20 * np.log10(np.abs(h[sel])), model_db=20 * np.log10(np.abs(hm)),
        circle_hz=ch, circle_angle_data=ca, circle_angle_fit=cm)


def _save(name: str, fit, path: str) -> str:
    from twin3d.scenefile import profiles as profile_store

    profile_store.save(name, fit.mass_kg, fit.stiffness_n_per_m, fit.damping_ns_per_m,
                       source=f"model_update of {path}: circle fits + least squares on the FRFs",
                       provenance={"tool": NAME, "frf_file": path, "fit_error": fit.fit_error,
                                   "gain": fit.gain})
    return name


def summary(r: Result) -> list[str]:
    lines = [f"{r.file}: force at floor {r.excitation_floor}"
             f"{' (detected)' if r.excitation_detected else ''}"]
    for i, (p, fi, fn, z) in enumerate(zip(r.peaks_hz, r.identified_frequencies_hz,
                                           r.frequencies_hz, r.damping_ratios), 1):
        lines.append(f"mode {i}: peak {p:.3f} Hz, circle {fi:.3f} Hz, model {fn:.3f} Hz "
                     f"({100 * (fn / p - 1):+.2f} %), zeta {100 * z:.3f} %")
    fmt = ", ".join
    lines.append(f"m = [{fmt(f'{v:.4f}' for v in r.mass_kg)}] kg")
    lines.append(f"k = [{fmt(f'{v:.1f}' for v in r.stiffness_n_per_m)}] N/m")
    lines.append(f"c = [{fmt(f'{v:.4f}' for v in r.damping_ns_per_m)}] N s/m")
    lines.append(f"gain {r.gain:.4g}, FRF misfit {r.fit_error:.4f} (start {r.start_error:.4f})")
    if r.saved_profile:
        lines.append(f"saved as profile {r.saved_profile!r}")
    return lines


def plots(r: Result) -> list[Plot]:
    n = r.measured_db.shape[1]
    out = [Plot("measured vs updated model (accelerance)", r.frequency_hz,
                tuple(r.measured_db[:, i] for i in range(n))
                + tuple(r.model_db[:, i] for i in range(n)),
                tuple(f"measured floor {i + 1}" for i in range(n))
                + tuple(f"model floor {i + 1}" for i in range(n)),
                xlabel="frequency (Hz)", ylabel="magnitude (dB)")]
    for i, (fb, a, m) in enumerate(zip(r.circle_hz, r.circle_angle_data, r.circle_angle_fit), 1):
        out.append(Plot(f"mode {i} circle fit: angle around the centre (driving point)", fb,
                        (a, m), ("measured", "fitted circle"), xlabel="frequency (Hz)",
                        ylabel="angle (rad)"))
    return out
