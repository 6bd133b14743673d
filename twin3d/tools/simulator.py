"""simulator: time histories of the frame under a hammer blow, noise, a sine, the crank or an
earthquake, for the nominal model and N Monte Carlo scenarios of dispersed parameters.

Cristallo's "Numerical Simulator" (TOOLS.md 7.1/7.2), rebuilt:

* Time grid as Cristallo's: S = int(T fs) samples on linspace(0, T, S), so dt = T / (S - 1)
  (slightly more than 1/fs); Welch spectra use that true rate, a Hann window and segments of
  round(fs) samples (1 Hz resolution), density scaling.
* Excitation: a force on `floor` (hammer: Gaussian pulse, 300 N, 0.5 s, sigma 10 ms; white
  noise: Gaussian, flat up to noise_f_max_hz, given rms; harmonic: A sin(2 pi f t)), or base
  motion of the slip table: the crank (table displacement x_g = r cos(w t) at the crank speed,
  so a_g = -r w^2 cos(w t); r = the scene's stroke unless given) or a synthetic earthquake
  (physics/excitations.earthquake). Displacements are relative to the table; accelerations
  are absolute (what the accelerometers read).
* Integration: the exact first-order-hold discretisation of physics/lti.py, on an internal
  grid fine enough that an analytic input (pulse, sine) is followed to ~1e-5: no pulse can be
  skipped (Cristallo's LSODA could step over the hammer blow from rest).
* Monte Carlo: masses, stiffnesses, dampings and initial conditions each drawn from their own
  seeded Generator (spawned from `seed`; Cristallo used seed 10 for every group, so its draws
  were identical), normal with the given absolute standard deviations, truncated to positive
  values by redrawing (Cristallo replaced values <= 0 by 0.1). A random excitation is one
  seeded record shared by all scenarios: the band shows the effect of the parameters.
* Cristallo's form bug (k_1 took the third-storey value) is gone: the profile's values are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal

from twin3d.physics import excitations as ex
from twin3d.physics import monte_carlo as sim
from twin3d.physics.structure import chain_matrix, modal_analysis
from twin3d.scenefile.schema import SchemaError, spec
from twin3d.tools import Cancelled, Context, Plot

NAME = "simulator"
SUMMARY = ("time histories and Welch spectra of the frame under hammer, noise, sine, crank or "
           "earthquake excitation, nominal and Monte Carlo")
EXCITATIONS = ("hammer", "white_noise", "harmonic", "crank", "earthquake")
MAX_SUBSTEPS = 512


@dataclass(frozen=True, kw_only=True)
class Inputs:
    profile: str = spec("", doc="profile of the scene file (empty: the active model)")
    excitation: str = spec("hammer", choices=EXCITATIONS,
                           doc="force on a floor (hammer, white_noise, harmonic) or table motion "
                           "(crank, earthquake)")
    floor: int = spec(1, lo=1, hi=20, doc="floor receiving the force")
    duration_s: float = spec(5.0, unit="s", lo=0.1, hi=600.0, doc="record length T")
    sample_rate_hz: float = spec(2048.0, unit="Hz", lo=64.0, hi=20000.0,
                                 doc="output samples per second (S = int(T fs) samples)")
    hammer_peak_n: float = spec(300.0, unit="N", lo=-1e5, hi=1e5, doc="hammer peak force")
    hammer_time_s: float = spec(0.5, unit="s", lo=0.0, hi=600.0, doc="time of the peak")
    hammer_width_s: float = spec(0.01, unit="s", lo=1e-3, hi=1.0,
                                 doc="standard deviation of the Gaussian pulse")
    noise_rms_n: float = spec(10.0, unit="N", lo=0.0, hi=1e4, doc="white-noise force rms")
    noise_f_max_hz: float = spec(100.0, unit="Hz", lo=1.0, hi=10000.0,
                                 doc="white-noise band upper edge (below fs/2)")
    harmonic_amplitude_n: float = spec(10.0, unit="N", lo=0.0, hi=1e5, doc="sine force amplitude")
    harmonic_frequency_hz: float = spec(12.0, unit="Hz", lo=0.0, hi=10000.0, doc="sine frequency")
    crank_rpm: float = spec(372.0, unit="rpm", lo=0.0, hi=6000.0,
                            doc="crank speed (one table stroke per turn)")
    stroke_m: float = spec(0.0, unit="m", lo=0.0, hi=0.01,
                           doc="crank eccentricity r; 0: the scene's crank stroke")
    pga_m_s2: float = spec(1.0, unit="m/s^2", lo=0.0, hi=50.0,
                           doc="earthquake peak table acceleration")
    scenarios: int = spec(1, lo=1, hi=1000, doc="Monte Carlo scenarios N")
    mass_sd_kg: float = spec(0.0, unit="kg", lo=0.0, hi=100.0, doc="standard deviation of masses")
    stiffness_sd_n_per_m: float = spec(0.0, unit="N/m", lo=0.0, hi=1e7,
                                       doc="standard deviation of storey stiffnesses")
    damping_sd_ns_per_m: float = spec(0.0, unit="N s/m", lo=0.0, hi=1e4,
                                      doc="standard deviation of storey dampings")
    x0_m: tuple[float, ...] = spec((), unit="m", lo=-1.0, hi=1.0,
                                   doc="initial floor displacements (empty: at rest)")
    v0_m_s: tuple[float, ...] = spec((), unit="m/s", lo=-100.0, hi=100.0,
                                     doc="initial floor velocities (empty: at rest)")
    x0_sd_m: float = spec(0.0, unit="m", lo=0.0, hi=1.0, doc="standard deviation of x0")
    v0_sd_m_s: float = spec(0.0, unit="m/s", lo=0.0, hi=100.0, doc="standard deviation of v0")
    seed: int = spec(0, lo=0, hi=2**63 - 1, doc="seed of all random draws")


@dataclass(frozen=True)
class Result:
    profile: str
    excitation: str
    natural_frequencies_hz: np.ndarray
    t: np.ndarray  # (S,) s
    input_history: np.ndarray  # (S,) force (N) or table acceleration (m/s^2)
    input_unit: str
    displacement_m: np.ndarray  # (S, N) nominal, relative to the table
    acceleration_m_s2: np.ndarray  # (S, N) nominal, absolute
    displacement_band_m: np.ndarray  # (2, S, N) min, max over the scenarios
    acceleration_band_m_s2: np.ndarray  # (2, S, N)
    peak_displacement_m: np.ndarray  # (N,) nominal max u
    peak_time_s: np.ndarray  # (N,) time of that maximum
    peak_abs_acceleration_m_s2: np.ndarray  # (N,) nominal max |a|
    scenario_peak_displacement_m: np.ndarray  # (n_scenarios, N) max |u| per scenario
    frequency_hz: np.ndarray  # Welch frequencies
    displacement_psd: np.ndarray  # (F, N) m^2/Hz, nominal
    acceleration_psd: np.ndarray  # (F, N) (m/s^2)^2/Hz, nominal
    substeps: int  # internal steps per output sample


EXAMPLE: dict = {"profile": "southampton_identified", "excitation": "hammer"}


def _storeys(model, inputs: Inputs):
    """Storey values (m, k, c) of a chain profile; c is None when the damping is not a chain."""
    m = np.diag(model.M).copy()

    def storey(X):  # inverse of chain_matrix: a_i+1 = -X[i, i+1], a_1 = X[0, 0] - a_2
        a = np.zeros(model.n)
        a[1:] = -np.diag(X, 1)
        a[0] = X[0, 0] - (a[1] if model.n > 1 else 0.0)
        return a

    k, c = storey(model.K), storey(model.C)
    if not np.allclose(chain_matrix(c), model.C, rtol=1e-12, atol=1e-12):
        if inputs.damping_sd_ns_per_m > 0:
            raise SchemaError(NAME, "damping_sd_ns_per_m", "needs a profile with storey "
                              "dampings (this one has Rayleigh damping)",
                              inputs.damping_sd_ns_per_m, "0")
        c = None
    return m, k, c


def _initial(values: tuple, n: int, key: str) -> np.ndarray:
    if not values:
        return np.zeros(n)
    if len(values) != n:
        raise SchemaError(NAME, key, "one value per floor needed", list(values), f"{n} values")
    return np.asarray(values, dtype=float)


def _excitation(inputs: Inputs, ctx: Context, t_fine: np.ndarray, fs_out: float, S: int,
                every: int, n: int, gen: np.random.Generator):
    """(forces (K, N) or None, base_acc (K,) or None, unit) on the fine grid."""
    e = inputs.excitation
    if e in ("crank", "earthquake"):
        if e == "crank":
            crank = ctx.get_scene().data.crank
            if not inputs.stroke_m and crank is None:  # a structure alone has no stroke
                raise SchemaError(NAME, "stroke_m", "the scene has no [crank] to take the "
                                  "stroke from", 0.0, "> 0 m")
            r = inputs.stroke_m or crank.stroke_m
            w = inputs.crank_rpm * 2 * np.pi / 60.0
            return None, -r * w * w * np.cos(w * t_fine), "m/s^2"
        seed = int(gen.integers(2**63 - 1))
        a = ex.earthquake(S, fs_out, inputs.pga_m_s2, seed)
        return None, np.interp(t_fine, t_fine[::every], a), "m/s^2"
    if e == "hammer":
        f = ex.hammer(t_fine, inputs.hammer_peak_n, inputs.hammer_time_s, inputs.hammer_width_s)
    elif e == "harmonic":
        f = ex.harmonic(t_fine, inputs.harmonic_amplitude_n, inputs.harmonic_frequency_hz)
    else:
        if inputs.noise_f_max_hz > fs_out / 2:
            raise SchemaError(NAME, "noise_f_max_hz", "above half the sample rate",
                              inputs.noise_f_max_hz, f"<= {fs_out / 2:g} Hz")
        seed = int(gen.integers(2**63 - 1))
        rec = ex.band_limited_noise(S, fs_out, 0.0, inputs.noise_f_max_hz, inputs.noise_rms_n,
                                    seed)
        f = np.interp(t_fine, t_fine[::every], rec)  # the record is held linearly
    forces = np.zeros((t_fine.size, n))
    forces[:, inputs.floor - 1] = f
    return forces, None, "N"


def _substeps(inputs: Inputs, dt: float) -> int:
    """Internal steps per sample so that an analytic input is resolved (error ~ (h/scale)^2)."""
    e = inputs.excitation
    if e == "hammer":
        scale = inputs.hammer_width_s / 100.0
    elif e == "harmonic" and inputs.harmonic_frequency_hz > 0:
        scale = 1.0 / (200.0 * inputs.harmonic_frequency_hz)
    elif e == "crank" and inputs.crank_rpm > 0:
        scale = 60.0 / (200.0 * inputs.crank_rpm)
    else:
        return 1  # sampled records: the first-order hold is their definition
    return int(min(MAX_SUBSTEPS, max(1, np.ceil(dt / scale))))


def run(inputs: Inputs, ctx: Context) -> Result:
    name = ctx.profile(inputs.profile)
    model = ctx.get_scene().model(name)
    n = model.n
    if inputs.floor > n:
        raise SchemaError(NAME, "floor", "no such floor", inputs.floor, f"1..{n}")
    S = int(inputs.duration_s * inputs.sample_rate_hz)
    if S > 2_000_000:
        raise SchemaError(NAME, "duration_s", "too many samples (T fs > 2e6)", inputs.duration_s)
    T = inputs.duration_s
    dt = T / (S - 1)
    fs = 1.0 / dt
    every = _substeps(inputs, dt)
    t_fine = np.linspace(0.0, T, (S - 1) * every + 1)
    gens = sim.generators(inputs.seed)
    forces, base_acc, unit = _excitation(inputs, ctx, t_fine, fs, S, every, n, gens["excitation"])
    u0, v0 = _initial(inputs.x0_m, n, "x0_m"), _initial(inputs.v0_m_s, n, "v0_m_s")
    m, k, c = _storeys(model, inputs)

    ctx.report(0.02, "nominal response")
    nominal = sim.oversampled_response(model, dt, S, every, forces, base_acc,
                                       np.concatenate([u0, v0]))
    sd = {"mass": inputs.mass_sd_kg, "stiffness": inputs.stiffness_sd_n_per_m,
          "damping": inputs.damping_sd_ns_per_m, "x0": inputs.x0_sd_m, "v0": inputs.v0_sd_m_s}
    try:
        scen = sim.draw_scenarios(m, k, c if c is not None else np.zeros(n), u0, v0, sd,
                                  inputs.scenarios, gens)
    except ValueError as e:
        raise SchemaError(NAME, "dispersion", str(e)) from None
    N = inputs.scenarios
    if not any(sd.values()):  # every scenario is the nominal model: no need to run it again
        scen = sim.Scenarios(scen.mass[:1], scen.stiffness[:1], scen.damping[:1], scen.x0[:1])
    runs = sim.monte_carlo(scen, dt, S, every, forces, base_acc,
                           None if c is not None else model.C,
                           progress=lambda i: ctx.report(0.05 + 0.9 * (i + 1) / N,
                                                         f"scenario {i + 1}/{N}"),
                           cancelled=ctx.cancelled)
    if runs is None:
        raise Cancelled(NAME)
    if len(runs) < N:
        runs = [nominal] * N
    U = np.stack([r.u for r in runs])
    A = np.stack([r.a_abs for r in runs])

    nper = min(S, int(round(inputs.sample_rate_hz)))
    freq, pu = scipy.signal.welch(nominal.u, fs=fs, window="hann", nperseg=nper, axis=0)
    _, pa = scipy.signal.welch(nominal.a_abs, fs=fs, window="hann", nperseg=nper, axis=0)
    ctx.report(1.0, "done")
    t = nominal.t
    imax = np.argmax(nominal.u, axis=0)
    inp = (forces[::every, inputs.floor - 1] if forces is not None else base_acc[::every])
    return Result(
        profile=name, excitation=inputs.excitation,
        natural_frequencies_hz=modal_analysis(model).frequencies_hz, t=t, input_history=inp,
        input_unit=unit, displacement_m=nominal.u, acceleration_m_s2=nominal.a_abs,
        displacement_band_m=np.stack([U.min(axis=0), U.max(axis=0)]),
        acceleration_band_m_s2=np.stack([A.min(axis=0), A.max(axis=0)]),
        peak_displacement_m=nominal.u[imax, np.arange(n)], peak_time_s=t[imax],
        peak_abs_acceleration_m_s2=np.abs(nominal.a_abs).max(axis=0),
        scenario_peak_displacement_m=np.abs(U).max(axis=1), frequency_hz=freq,
        displacement_psd=pu, acceleration_psd=pa, substeps=every)


def summary(r: Result) -> list[str]:
    fn = ", ".join(f"{f:.4f}" for f in r.natural_frequencies_hz)
    lines = [f"{r.excitation} on {r.profile}: natural frequencies {fn} Hz"]
    spread = r.scenario_peak_displacement_m
    for i, (u, t, a) in enumerate(zip(r.peak_displacement_m, r.peak_time_s,
                                      r.peak_abs_acceleration_m_s2), 1):
        line = f"floor {i}: max x {u:.5g} m at {t:.4f} s, max |a| {a:.4g} m/s^2"
        if spread.shape[0] > 1:
            line += (f"; {spread.shape[0]} scenarios: max |x| {spread[:, i - 1].mean():.4g} "
                     f"+- {spread[:, i - 1].std(ddof=1):.2g} m")
        lines.append(line)
    return lines


def plots(r: Result) -> list[Plot]:
    n = r.displacement_m.shape[1]
    out = [Plot("excitation", r.t, (r.input_history,), (r.excitation,), xlabel="time (s)",
                ylabel=f"input ({r.input_unit})")]
    for i in range(n):
        out.append(Plot(f"floor {i + 1} displacement (relative to the table)", r.t,
                        (r.displacement_m[:, i], r.displacement_band_m[0, :, i],
                         r.displacement_band_m[1, :, i]), ("nominal", "MC min", "MC max"),
                        xlabel="time (s)", ylabel="displacement (m)"))
    out.append(Plot("floor acceleration (absolute)", r.t,
                    tuple(r.acceleration_m_s2[:, i] for i in range(n)),
                    tuple(f"floor {i + 1}" for i in range(n)), xlabel="time (s)",
                    ylabel="acceleration (m/s^2)"))
    with np.errstate(divide="ignore"):
        out.append(Plot("displacement PSD (Welch, Hann)", r.frequency_hz,
                        tuple(10 * np.log10(r.displacement_psd[:, i]) for i in range(n)),
                        tuple(f"floor {i + 1}" for i in range(n)), xlabel="frequency (Hz)",
                        ylabel="PSD (dB re 1 m^2/Hz)"))
    return out
