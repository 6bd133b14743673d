"""model_update: a chain model (storey stiffness, damping, optionally mass) from measured data.

Data (`data=PATH`, or `frf_file` for a Cristallo CSV as before): a twin3d recording, a UFF 58
file (FRFs or time series), a Cristallo CSV, or any time series twin3d.formats reads, with a
channel map (`map='col=role,...'`). Time series become FRFs here (H1/H2, Welch, coherence:
physics.frf_estimate, the estimator the live calibration uses): a force input (`force_floorK`)
gives accelerances, a table acceleration (`acc_table`) transmissibilities; the outputs are the
`acc_floorK` channels. The roles say where the force acts: nothing is guessed then.

The storey modes are chosen from the data (physics.modal_peaks, physics.stabilisation): the band
spans the coherent resonance peaks; an LSCF fit over increasing orders keeps the poles that
are stable in frequency and damping; their shapes (residues) decide which are bending modes
of the chain (mode r changes sign r-1 times along the floors; of two alike, the one matching
the start chain's mode or carrying more response), so a torsional or spurious pole is left
out, with the reason. `bands` and `exclude` narrow this by hand.

Bounds and refusal: every fitted value stays within a factor of the start profile's (stiffness
x/÷ 10, damping 100, masses 3); the result is refused (exit 2 with the numbers; red in the
scene's tool panel) when a value ends on its bound, a model frequency misses the measured one
by more than `tolerance_percent` (default 1 %: what a chain that fits gets on clean data is
< 0.3 %), the model puts an unmeasured mode inside the measured band, or a mode's damping
ratio exceeds 20 %.

What it does, and how it differs from Cristallo's "profile generation" (TOOLS.md 8, 13.10):
- The modal bands are found from the data (stable poles with bending shapes, above),
  not fixed at 5.9-7.0, 17-19 and 25-27.5 Hz, so another rig or a coarser file works too.
- The force may act on any floor: named by the data's roles, or for a CSV without roles given
  as `excitation_floor` or detected from the circle fits (the driving point's modal constants
  phi_e^2 all share one sign).
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

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from twin3d.physics import circle_fit, modal_peaks, shear_frame, stabilisation
from twin3d.physics.calibration import MAX_COHERENCE_WEIGHT, transmissibility
from twin3d.physics.chain_update import (DAMPING_FACTOR, MASS_FACTOR, STIFFNESS_FACTOR,
                                         chain_damping, chain_from_frequencies, chain_matrix,
                                         fit_chain)
from twin3d.physics.structure import LinearModel, frf, modal_analysis
from twin3d.scenefile.schema import SchemaError, spec
from twin3d.tools import Context, Plot
from twin3d.tools._frf_files import G, Measured, asset, read_measured

NAME = "model_update"
SUMMARY = ("chain model (storey k, c, optionally m) fitted to measured data (FRFs or time "
           "series): storey modes from a stabilisation diagram, bounded least squares, refusal")

DEFAULT_FILE = "dtApp/dtData/frfs/Experimental.csv"
MAX_DAMPING = 0.2  # a model mode more damped than this is no storey mode of a frame
BAND_SCALE = 2.0  # fitted points: each mode's band widened this much about its peak
EXTEND_TRIES, EXTEND_FACTOR = 4, 1.3  # the band grows so when only its top modes are missing


class Refused(SchemaError):
    """The fit does not hold (a bound, a missed frequency): one line with the numbers; the
    would-be result rides along as `.result` (status "refused")."""

    def __init__(self, source: str, reasons: list[str], result):
        super().__init__(source, "refused", "; ".join(reasons))
        self.result = result


@dataclass(frozen=True, kw_only=True)
class Inputs:
    data: str = spec("", doc="measured data: a twin3d recording folder, a UFF 58 file (FRFs or "
                     "time series), a Cristallo CSV, or a time series file with `map`")
    map: str = spec("", doc="channel map 'col=role[*factor][:unit],...' (roles force_floorK, "
                    "acc_table, acc_floorK): which channel is the input, which floor each is")
    frf_file: str = spec("", doc="measured FRF: Cristallo's ';' complex format or CSV "
                         "(f, H_1..H_N); empty: `data`, or the shipped Southampton "
                         "Experimental.csv")
    frf_unit: str = spec("m/s^2/N", choices=("m/s^2/N", "g/N"),
                         doc="unit of the accelerance in a Cristallo file (its files: m/s^2/N, "
                         "whatever their label says)")
    excitation_floor: int = spec(0, lo=0, hi=20, doc="floor where the force acts, for a file "
                                 "without roles; 0: the roles say, or detect it")
    estimator: str = spec("H1", choices=("H1", "H2"), doc="FRF estimator for time series "
                          "(H1: noise on the outputs, H2: noise on the input)")
    segment_s: float = spec(0.0, unit="s", lo=0.0, hi=1e5,
                            doc="Welch segment for time series; 0: the record / 12")
    profile: str = spec("", doc="profile whose values start the fit and bound it (empty: the "
                        "active model)")
    fit_mass: bool = spec(False, doc="fit the storey masses too (their distribution when "
                          "fit_gain holds the total)")
    fit_gain: bool = spec(True, doc="fit a sensor calibration gain (then the total mass is "
                          "held at the profile's)")
    n_modes: int = spec(0, lo=0, hi=20, doc="storey modes to identify; 0: one per measured "
                        "floor")
    f_min_hz: float = spec(0.0, unit="Hz", lo=0.0, hi=1e4,
                           doc="ignore the data below (0: the band comes from the data)")
    f_max_hz: float = spec(0.0, unit="Hz", lo=0.0, hi=1e5,
                           doc="ignore the data above (0: the band comes from the data)")
    bands: tuple[tuple[float, ...], ...] = spec((), unit="Hz", lo=0.0,
                                                doc="[[lo, hi], ...]: storey modes only "
                                                "inside these bands (empty: from the data)")
    exclude: tuple[tuple[float, ...], ...] = spec((), unit="Hz", lo=0.0,
                                                  doc="[[lo, hi], ...]: never a storey mode "
                                                  "there, and not fitted (e.g. a torsion mode)")
    tolerance_percent: float = spec(1.0, unit="%", lo=0.01, hi=50.0,
                                    doc="refuse when a model frequency misses a measured one "
                                    "by more (at least one frequency bin, and twice the "
                                    "pole's scatter over model orders)")
    save_as: str = spec("", doc="save the updated model as this profile (empty: do not save)")


@dataclass(frozen=True)
class Result:
    file: str
    kind: str  # accelerance | transmissibility
    excitation: str  # "floor K" | "base"
    excitation_floor: int  # 0 for base excitation
    excitation_detected: bool
    status: str  # "ok" | "refused"
    refusal: str  # why, with the numbers ("" when ok)
    band_hz: np.ndarray  # (2,) the band the modes were searched in
    peaks_hz: np.ndarray  # measured peak bins of the storey modes
    bands_hz: np.ndarray  # (modes, 2) circle-fit bands
    identified_frequencies_hz: np.ndarray  # the storey modes' stable poles
    identified_damping_ratios: np.ndarray
    identified_shapes: np.ndarray  # (modes, floors), max-normalised
    stable_poles_hz: np.ndarray  # every stable pole in the band
    rejected_poles: list  # "f Hz: why it is not a storey mode"
    frequencies_hz: np.ndarray  # the updated model's
    damping_ratios: np.ndarray
    mass_kg: np.ndarray
    stiffness_n_per_m: np.ndarray
    damping_ns_per_m: np.ndarray
    peak_errors: np.ndarray  # model frequency / measured peak - 1
    frequency_errors: np.ndarray  # model frequency / identified frequency - 1
    gain: float
    fit_error: float  # rms |log(H_model / H_measured)| in the bands
    start_error: float
    at_bound: tuple
    coherence: float  # median over the fitted points (nan for a file without one)
    n_averages: int  # Welch averages (0 for FRF files)
    saved_profile: str
    frequency_hz: np.ndarray  # for the plots
    measured_db: np.ndarray  # (n_f, outputs)
    model_db: np.ndarray
    floors: np.ndarray  # 1-based floor of each output
    circle_hz: list = field(default_factory=list)  # per mode: band frequencies
    circle_angle_data: list = field(default_factory=list)  # per mode: angle around the centre
    circle_angle_fit: list = field(default_factory=list)


EXAMPLE: dict = {"f_max_hz": 40.0}


def _angle_model(f, c):
    w, wn = 2 * np.pi * np.asarray(f), 2 * np.pi * c.frequency_hz
    a = c.rotation - 2 * np.arctan((w * w - wn * wn) / (2 * c.damping_ratio * wn * w))
    return np.unwrap(a)


def _load(inputs: Inputs) -> Measured:
    if inputs.data and inputs.frf_file:
        raise SchemaError("model_update", "data", "give data or frf_file, not both")
    path = inputs.data or inputs.frf_file or str(asset(DEFAULT_FILE))
    d = read_measured(path, inputs.map, inputs.estimator, inputs.segment_s)
    if inputs.frf_unit == "g/N" and path.lower().endswith(".csv") and not inputs.map:
        # a Cristallo file read as g/N (every other source is in SI through its roles' units)
        d = Measured(d.source, d.frequency_hz, d.h * G, d.floors, d.kind, d.excitation)
    return d


def _ranges(pairs, what: str) -> list[tuple[float, float]]:
    out = []
    for p in pairs:
        if len(p) != 2 or not p[0] < p[1]:
            raise SchemaError("model_update", what, "each range is [lo, hi] with lo < hi", list(p))
        out.append((float(p[0]), float(p[1])))
    return out


def _inside(f, ranges) -> np.ndarray:
    f = np.asarray(f, dtype=float)
    return np.any([(f >= a) & (f <= b) for a, b in ranges], axis=0) if ranges else \
        np.zeros(f.shape, dtype=bool)


def _storeys(model: LinearModel) -> tuple[np.ndarray, np.ndarray]:
    """Storey stiffness and damping of a chain model (its K and C off-diagonals)."""
    n = model.n

    def storey(A):
        if n == 1:
            return np.diag(A).copy()
        return np.array([A[0, 0] + A[0, 1] if i == 0 else -A[i, i - 1] for i in range(n)])

    return storey(model.K), storey(model.C)


def _loading(scene, excitation, path: str):
    """The base degree of freedom the scene gives (B's shear_frame.Loading) where the data's
    input needs it: a force on the base, or a floor force on a frame whose base moves. None:
    the fixed-base chain (base acceleration, a floor force on a fixed base)."""
    sl = scene.loading() if hasattr(scene, "loading") else None
    if excitation == "base_force":
        if sl is None or sl.kind != "base_force" or not sl.has_base:
            raise SchemaError(path, "input", "a force on the base needs a scene whose "
                              "[excitation] is base_force with base_mass_kg > 0 (a free or "
                              "sprung base)", "force_base")
        return sl
    if isinstance(excitation, int) and sl is not None and sl.has_base:
        return dataclasses.replace(sl, kind="floor_force", floor=excitation)
    return None


def _label(excitation, loading) -> str:
    base = "" if loading is None else (" (free base)" if loading.free_base else
                                       " (sprung base)")
    if excitation == "base_force":
        return "base" + base
    return ("base" if excitation == "base" else f"floor {excitation}") + base


def _fit_points(f, modes_hz, half_widths, scale) -> np.ndarray:
    pts = []
    for j, (fr, hw) in enumerate(zip(modes_hz, half_widths)):
        half = scale * hw
        lo = max(fr - half, 0.5 * (modes_hz[j - 1] + fr) if j else -np.inf)
        hi = min(fr + half, 0.5 * (modes_hz[j + 1] + fr) if j + 1 < len(modes_hz) else np.inf)
        pts.append(np.flatnonzero((f >= lo) & (f <= hi)))
    return np.unique(np.concatenate(pts)) if pts else np.empty(0, dtype=int)


def run(inputs: Inputs, ctx: Context) -> Result:
    return identify(_load(inputs), inputs, ctx)


def identify(d: Measured, inputs: Inputs, ctx: Context) -> Result:
    """The update from measured FRFs `d` (see the module's notes). Raises SchemaError on data
    it cannot use, Refused (a SchemaError) when the fit does not hold."""
    path = d.source
    f, h = d.frequency_hz, d.h
    keep = f > 0  # accelerance/mobility need w > 0
    scene = ctx.get_scene()
    profile = ctx.profile(inputs.profile)
    model0 = scene.model(profile)
    n = model0.n
    if d.floors.max() > n or (d.estimate is None and d.coherence is None and d.h.shape[1] != n
                              and d.excitation is None):
        raise SchemaError(path, "columns", f"{h.shape[1]} FRF channels (floors "
                          f"{', '.join(map(str, d.floors))}) but profile {profile!r} has "
                          f"{n} floors")
    floors = d.floors
    excitation = d.excitation
    if inputs.excitation_floor:
        if excitation is not None and excitation != inputs.excitation_floor:
            raise SchemaError(path, "excitation_floor", f"the data's roles put the input at "
                              f"{excitation}", inputs.excitation_floor)
        if inputs.excitation_floor > n:
            raise SchemaError("model_update", "excitation_floor", "beyond the model's floors",
                              inputs.excitation_floor, f"0..{n}")
        excitation = inputs.excitation_floor
    usable = keep.copy()
    if d.excluded is not None:
        usable &= ~d.excluded
    excl = _ranges(inputs.exclude, "exclude")
    user_bands = _ranges(inputs.bands, "bands")
    usable &= ~_inside(f, excl)
    loading = _loading(scene, excitation, path)

    def modes_of(m, k, c):
        """Frequencies, damping ratios and floor shapes of the flexible modes."""
        chain = LinearModel.chain(m, k, c)
        if loading is None:
            md = modal_analysis(chain)
            return md.frequencies_hz, md.damping_ratios, md.shapes
        md = shear_frame.modes(chain, loading)  # base first; a free base's 0 Hz mode left out
        flex = md.frequencies_hz > 0
        return md.frequencies_hz[flex], md.damping_ratios[flex], md.shapes[1:, flex]

    fn_p, _, chain_shapes = modes_of(*(np.diag(model0.M),) + _storeys(model0))
    n_modes = inputs.n_modes or min(n, h.shape[1])
    if n_modes > n:
        raise SchemaError("model_update", "n_modes", "more modes than the model's floors",
                          n_modes, f"0..{n}")

    # --- the band and the stable poles ---------------------------------------------------
    ctx.report(0.05, "band from the data")
    f_lo, f_hi = inputs.f_min_hz, inputs.f_max_hz or np.inf
    if user_bands:
        lo, hi = min(b[0] for b in user_bands), max(b[1] for b in user_bands)
        lo, hi = max(lo, f_lo), min(hi, f_hi)
    else:
        try:
            band = modal_peaks.data_band(f, h, n_modes, d.coherence, ~usable, f_lo, f_hi)
        except ValueError as e:
            raise SchemaError(path, "peaks", str(e)) from None
        lo, hi = band.lo_hz, band.hi_hz
    top = float(f[usable][-1])
    for attempt in range(EXTEND_TRIES + 1):
        sel = usable & (f >= lo) & (f <= hi)
        if sel.sum() < 4 * n_modes + 8:
            raise SchemaError(path, "band", f"{int(sel.sum())} usable frequency points between "
                              f"{lo:.3g} and {hi:.3g} Hz, too few for {n_modes} modes")
        fb, hb = f[sel], h[sel]
        norm = 1.0 / np.sqrt(np.mean(np.abs(hb) ** 2, axis=0))
        wb = np.broadcast_to(norm, hb.shape) * (1.0 if d.coherence is None else
                                                np.sqrt(np.clip(d.coherence[sel], 0, 1)))
        ctx.report(0.1 + 0.05 * attempt, "stabilisation diagram")
        orders = range(2 * n_modes, 4 * n_modes + 25, 2)  # room for other modes and noise
        poles, _ = stabilisation.stable_poles(fb, hb, orders, wb)
        pf = np.array([p.frequency_hz for p in poles])
        if user_bands:
            poles = [p for p in poles if _inside([p.frequency_hz], user_bands)[0]]
        poles = [p for p in poles if not _inside([p.frequency_hz], excl)[0]]
        pick = None
        if poles:
            res = stabilisation.mode_shapes(fb, hb, poles, wb)
            pick = stabilisation.bending_modes(poles, res, n_modes, chain_shapes, floors)
        # the top modes of a frame are damped and need not stand out as peaks: when only they
        # are missing, the band grows upwards (as far as the data go) and the diagram is redone
        n_found = 0 if pick is None else next(
            (r for r, i in enumerate(pick.modes) if i is None), n_modes)
        if (n_found == n_modes or user_bands or inputs.f_max_hz or hi >= top
                or (pick is not None and any(i is not None for i in pick.modes[n_found:]))):
            break
        hi = min(hi * EXTEND_FACTOR, top)

    if not poles:
        raise SchemaError(path, "poles", f"no pole stable across model orders {orders[0]}.."
                          f"{orders[-1]} between {lo:.3g} and {hi:.3g} Hz")
    rejected = [f"{poles[i].frequency_hz:.3f} Hz: {why}" for i, why in
                sorted(pick.rejected.items())]
    found = [i for i in pick.modes if i is not None]
    if len(found) < n_modes:
        missing = [r + 1 for r, i in enumerate(pick.modes) if i is None]
        got = ", ".join(f"{poles[i].frequency_hz:.3f}" for i in found) or "none"
        raise SchemaError(path, "modes", f"found {len(found)} storey modes between {lo:.3g} "
                          f"and {hi:.3g} Hz ({got} Hz; not found: mode "
                          f"{', '.join(map(str, missing))}), need {n_modes}: set n_modes, "
                          "bands or exclude"
                          + (f" [left out: {'; '.join(rejected)}]" if rejected else ""))
    mode_f = np.array([poles[i].frequency_hz for i in found])
    mode_z = np.array([poles[i].damping_ratio for i in found])
    mode_spread = np.array([poles[i].spread_hz for i in found])
    mode_shapes = pick.shapes[:, found]

    # --- circles (force FRFs): identified values, the driving point, plots ----------------
    ctx.report(0.3, "circle fits")
    bands = circle_fit.bands_around(f[keep], h[keep], mode_f, mode_z)
    fk, hk = f[keep], h[keep]
    peaks = np.array([b.peak_hz for b in bands])
    ident = None
    detected = False
    if d.kind == "accelerance":
        try:
            ident = circle_fit.identify_in_bands(
                fk, hk, bands, int(np.flatnonzero(floors == excitation)[0])
                if isinstance(excitation, int) and excitation in floors else None)
        except (ValueError, np.linalg.LinAlgError) as e:
            raise SchemaError(path, "circle fits", str(e)) from None
        if excitation is None:
            excitation = int(floors[ident.driving_point])
            detected = True
    # the stable poles' frequencies and damping are what was measured: a circle through a
    # Welch estimate's few bins of a light mode is pulled by the window's leakage (-2 % on a
    # 7 Hz mode at 2.6 % damping in 0.02 Hz bins), the LSCF poles are not (< 0.05 %)
    id_f, id_z, shapes = mode_f, mode_z, mode_shapes
    if excitation is None:
        raise SchemaError(path, "excitation_floor", "cannot tell where the force acts: set "
                          "excitation_floor or name the input's role")

    # --- the bounded chain fit --------------------------------------------------------------
    ctx.report(0.4, "least squares on the FRFs")
    m0 = np.diag(model0.M).copy()
    k_p, c_p = _storeys(model0)
    if not np.all(c_p > 0):
        c_p = chain_damping(m0, k_p, 0.01)
    lo_b = np.concatenate([k_p / STIFFNESS_FACTOR, c_p / DAMPING_FACTOR]
                          + ([m0 / MASS_FACTOR] if inputs.fit_mass else []))
    hi_b = np.concatenate([k_p * STIFFNESS_FACTOR, c_p * DAMPING_FACTOR]
                          + ([m0 * MASS_FACTOR] if inputs.fit_mass else []))
    df = float(np.median(np.diff(f)))
    if d.estimate is None:  # an FRF file: the circle-fit bands
        half = np.maximum(np.array([(b.hi - b.lo) * df / 2 for b in bands]), df)
    else:  # four half-power widths, or the window's main lobe and a bin
        half = np.maximum(4 * id_z * id_f, 3 * df)
    pts = _fit_points(f, id_f, half, BAND_SCALE)
    # a pole that is no storey mode (torsion, another direction) is no part of the chain's
    # FRF: the points about it are left out, unless it sits on a storey mode (the window's
    # leakage splits a light mode into two poles a bin apart; that one is the mode itself)
    fit_ok = usable.copy()
    for i in pick.rejected:
        p = poles[i]
        if np.min(np.abs(id_f - p.frequency_hz)) > 3 * df + 3 * p.damping_ratio * p.frequency_hz:
            fit_ok &= np.abs(f - p.frequency_hz) > 2 * df + 3 * p.damping_ratio * p.frequency_hz
    pts = pts[fit_ok[pts]]
    w = None
    coh_med = float("nan")
    if d.coherence is not None:
        g2 = np.minimum(d.coherence[pts], MAX_COHERENCE_WEIGHT)
        w = g2 / (1 - g2)
        coh_med = float(np.median(d.coherence[pts]))
    cols = floors - 1
    est = d.estimate

    def model_frf(m, k, c, f_):
        model = LinearModel.chain(m, k, c)
        if loading is not None:  # columns: the base, then floors 1..n
            return shear_frame.frf(model, loading, f_, "accelerance")[:, floors]
        if d.kind == "transmissibility":
            return transmissibility(model, f_, floors)
        return frf(model, f_, excitation, "accelerance")[:, cols]

    def response(m, k, c, f_):
        if est is None:
            return model_frf(m, k, c, f_)
        return est.smoothed(lambda g: model_frf(m, k, c, g), f_)

    mode_idx = np.arange(n_modes)
    if loading is not None:  # the profile's storeys, scaled onto the measured mode 1
        starts = [k_p * (id_f[0] / fn_p[0]) ** 2]
    else:
        starts = [chain_from_frequencies(m0, id_f, modes=mode_idx)]
    if loading is None and n_modes == n and h.shape[1] == n:
        phi = np.zeros((n, n))
        phi[cols] = shapes
        phi = phi / np.sqrt(np.sum(phi ** 2 * m0[:, None], axis=0))
        K = np.diag(m0) @ phi @ np.diag((2 * np.pi * id_f) ** 2) @ phi.T @ np.diag(m0)
        basis = np.column_stack([chain_matrix(np.eye(n)[i]).ravel() for i in range(n)])
        ks, *_ = np.linalg.lstsq(basis, K.ravel(), rcond=None)
        if np.all(ks > 0):
            starts.append(chain_from_frequencies(m0, id_f, ks, modes=mode_idx))
    trials = [(k0, chain_damping(m0, k0, id_z)) for k0 in starts]
    fit = fit_chain(f[pts], h[pts], response, m0, trials, weight=w, fit_mass=inputs.fit_mass,
                    fit_gain=inputs.fit_gain, points=pts,
                    bounds=(lo_b, hi_b))
    fn, zeta, _ = modes_of(fit.mass_kg, fit.stiffness_n_per_m, fit.damping_ns_per_m)

    # --- does it hold? -----------------------------------------------------------------------
    reasons = []
    names = {"stiffness": (fit.stiffness_n_per_m, k_p, STIFFNESS_FACTOR, "N/m"),
             "damping": (fit.damping_ns_per_m, c_p, DAMPING_FACTOR, "N s/m"),
             "mass": (fit.mass_kg, m0, MASS_FACTOR, "kg")}
    for nm in fit.at_bound:
        what, i = nm.split()
        v, start, fac, unit = names[what]
        j = int(i) - 1
        reasons.append(f"{what} {i} = {v[j]:.4g} {unit} ended on its bound ({fac:g} x or ÷ "
                       f"{start[j]:.4g} of profile {profile!r})")
    err = fn[:n_modes] / id_f - 1
    # a mode narrower than a bin is located to a bin at best, whatever the estimator (the
    # window's leakage splits it into two poles a fraction of a bin apart), and a heavily
    # damped one to the scatter of its pole over the model orders
    allowed = np.maximum(np.maximum(inputs.tolerance_percent / 100, df / id_f),
                         2 * mode_spread / id_f)
    for r in np.flatnonzero(np.abs(err) > allowed):
        reasons.append(f"mode {r + 1}: model {fn[r]:.4g} Hz misses the measured "
                       f"{id_f[r]:.4g} Hz by {100 * err[r]:+.2f} % (tolerance "
                       f"{100 * allowed[r]:.3g} %)")
    for r in range(n_modes, fn.size):
        if lo <= fn[r] <= hi:
            reasons.append(f"mode {r + 1} of the model at {fn[r]:.4g} Hz lies in the measured "
                           f"band {lo:.4g}-{hi:.4g} Hz, where the data show no storey mode")
    for r in np.flatnonzero(~(zeta <= MAX_DAMPING)):
        reasons.append(f"mode {r + 1} damping ratio {zeta[r]:.3g} > {MAX_DAMPING:g}")

    ctx.report(0.9, "plots")
    fsel = keep & (f >= lo) & (f <= hi)
    fm = f[fsel]
    hm = fit.gain * response(fit.mass_kg, fit.stiffness_n_per_m, fit.damping_ns_per_m, fm)
    ch, ca, cm = [], [], []
    if ident is not None:
        y = hk / (2j * np.pi * fk[:, None])
        cd = ident.driving_point
        for b, cs in zip(ident.bands, ident.circles):
            c = cs[cd]
            fbd = fk[b.lo:b.hi]
            ch.append(fbd)
            ca.append(np.unwrap(np.angle(y[b.lo:b.hi, cd] - c.centre)))
            a = _angle_model(fbd, c)
            cm.append(a + 2 * np.pi * np.round((ca[-1][0] - a[0]) / (2 * np.pi)))
    m = min(fn.size, peaks.size)
    result = Result(
        file=path, kind=d.kind,
        excitation=_label(excitation, loading),
        excitation_floor=int(excitation) if isinstance(excitation, int) else 0,
        excitation_detected=detected, status="refused" if reasons else "ok",
        refusal="; ".join(reasons), band_hz=np.array([lo, hi]),
        peaks_hz=peaks, bands_hz=np.array([[fk[b.lo], fk[b.hi - 1]] for b in bands]),
        identified_frequencies_hz=id_f, identified_damping_ratios=id_z,
        identified_shapes=shapes.T, stable_poles_hz=pf, rejected_poles=rejected,
        frequencies_hz=fn, damping_ratios=zeta, mass_kg=fit.mass_kg,
        stiffness_n_per_m=fit.stiffness_n_per_m, damping_ns_per_m=fit.damping_ns_per_m,
        peak_errors=fn[:m] / peaks[:m] - 1, frequency_errors=err, gain=fit.gain,
        fit_error=fit.fit_error, start_error=fit.start_error, at_bound=fit.at_bound,
        coherence=coh_med, n_averages=0 if est is None else est.n_averages, saved_profile="",
        frequency_hz=fm, measured_db=20 * np.log10(np.abs(h[fsel])),
        model_db=20 * np.log10(np.abs(hm)), floors=floors,
        circle_hz=ch, circle_angle_data=ca, circle_angle_fit=cm)
    if reasons:
        raise Refused(path, reasons, result)
    if inputs.save_as:
        result = dataclasses.replace(result, saved_profile=_save(inputs.save_as, fit, path))
    ctx.report(1.0, "done")
    return result


def _save(name: str, fit, path: str) -> str:
    from twin3d.scenefile import profiles as profile_store

    profile_store.save(name, fit.mass_kg, fit.stiffness_n_per_m, fit.damping_ns_per_m,
                       source=f"model_update of {path}: stable poles, bending shapes, bounded "
                       "least squares on the FRFs",
                       provenance={"tool": NAME, "data": path, "fit_error": fit.fit_error,
                                   "gain": fit.gain})
    return name


def summary(r: Result) -> list[str]:
    lines = [f"{r.file}: {r.kind}, input on {r.excitation}"
             f"{' (detected)' if r.excitation_detected else ''}; band "
             f"{r.band_hz[0]:.3g}-{r.band_hz[1]:.3g} Hz"]
    if r.status != "ok":
        lines.append(f"REFUSED: {r.refusal}")
    for i, (p, fi, fn, z) in enumerate(zip(r.peaks_hz, r.identified_frequencies_hz,
                                           r.frequencies_hz, r.damping_ratios), 1):
        lines.append(f"mode {i}: peak {p:.3f} Hz, identified {fi:.3f} Hz, model {fn:.3f} Hz "
                     f"({100 * (fn / fi - 1):+.2f} %), zeta {100 * z:.3f} %")
    fmt = ", ".join
    lines.append(f"m = [{fmt(f'{v:.4g}' for v in r.mass_kg)}] kg")
    lines.append(f"k = [{fmt(f'{v:.6g}' for v in r.stiffness_n_per_m)}] N/m")
    lines.append(f"c = [{fmt(f'{v:.4g}' for v in r.damping_ns_per_m)}] N s/m")
    lines.append(f"gain {r.gain:.4g}, FRF misfit {r.fit_error:.4f} (start {r.start_error:.4f})")
    for rej in r.rejected_poles:
        lines.append(f"not a storey mode: {rej}")
    if r.saved_profile:
        lines.append(f"saved as profile {r.saved_profile!r}")
    return lines


def plots(r: Result) -> list[Plot]:
    n = r.measured_db.shape[1]
    out = [Plot(f"measured vs updated model ({r.kind})", r.frequency_hz,
                tuple(r.measured_db[:, i] for i in range(n))
                + tuple(r.model_db[:, i] for i in range(n)),
                tuple(f"measured floor {fl}" for fl in r.floors)
                + tuple(f"model floor {fl}" for fl in r.floors),
                xlabel="frequency (Hz)", ylabel="magnitude (dB)")]
    for i, (fb, a, m) in enumerate(zip(r.circle_hz, r.circle_angle_data, r.circle_angle_fit), 1):
        out.append(Plot(f"mode {i} circle fit: angle around the centre (driving point)", fb,
                        (a, m), ("measured", "fitted circle"), xlabel="frequency (Hz)",
                        ylabel="angle (rad)"))
    return out
