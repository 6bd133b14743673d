"""uncertainty: interval and Monte Carlo propagation of parameter uncertainty to the FRF.

Every storey mass, stiffness and damping of the chain model is an interval
[c (1 - e), c (1 + e)] about its centre c (the profile's value unless given), e = the relative
half-width. A unit harmonic force acts on `excitation_floor`; the result is the band of the
receptance magnitude |X_out / F| (m/N) of `output_floor` over the box, three ways:

- vertex band: all 2^q vertices of the box (q = parameters with a non-zero width; at most 16),
  each edge searched in closed form for a resonance or anti-resonance crossing inside it;
- Monte Carlo band: the min and max over `samples` parameter sets drawn once (seeded) and
  used at every frequency;
- percentile band: the given percentiles of the same samples (the probabilistic reading: the
  parameters uniform on their intervals, or truncated normal with sigma = half-width / 2).

Both bands are inner estimates of the true range; the vertex band contains every Monte Carlo
sample in the checks we run (`mc_outside` counts any that escape).

Deliberate differences from Cristallo (TOOLS.md 2 and 13.4): frequencies are in Hz (Cristallo
used rad/s labelled Hz) and magnitudes in dB re 1 m/N (it plotted log10 labelled dB); floors
are named as numbered, 1 at the bottom (its panel titles were reversed); its "Cartesian" band
walked only the diagonals of the mass and stiffness boxes and so misses most vertices (page
model, 5 %, force at floor 2, its 200-point grid: its upper bound lies up to 5.3 dB below ours
and its lower bound up to 3.5 dB above ours, though the peak heights agree within 0.1 dB); its
Monte Carlo drew fresh, unseeded samples at every frequency, so its band was not the response of
any one set of structures. Widths are given in percent per parameter (not "slider % of U %").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.physics import uncertainty as uq
from twin3d.physics.structure import LinearModel, modal_analysis
from twin3d.scenefile.schema import SchemaError, spec
from twin3d.tools import Cancelled, Context, Plot

NAME = "uncertainty"
SUMMARY = ("interval (vertex) and Monte Carlo bands of the FRF for uncertain masses, "
           "stiffnesses and dampings")

_CHUNK = 500  # Monte Carlo samples per batch (progress, cancellation, bounded memory)


@dataclass(frozen=True, kw_only=True)
class Inputs:
    profile: str = spec("", doc="profile of the scene file (empty: the active model)")
    excitation_floor: int = spec(2, lo=1, hi=20, doc="floor carrying the unit harmonic force")
    output_floor: int = spec(3, lo=1, hi=20, doc="floor whose displacement is reported")
    f_min_hz: float = spec(0.8, unit="Hz", lo=0.0, hi=1000.0, doc="lowest frequency")
    f_max_hz: float = spec(32.0, unit="Hz", lo=0.0, hi=1000.0, lo_open=True,
                           doc="highest frequency")
    n_frequencies: int = spec(200, lo=2, hi=5000, doc="frequencies on the linear grid")
    spread_percent: float = spec(5.0, unit="%", lo=0.0, hi=99.0,
                                 doc="relative half-width of every parameter's interval")
    mass_spread_percent: tuple[float, ...] = spec(
        (), unit="%", lo=0.0, hi=99.0, doc="per floor, overrides spread_percent (empty: use it)")
    stiffness_spread_percent: tuple[float, ...] = spec(
        (), unit="%", lo=0.0, hi=99.0, doc="per storey, overrides spread_percent")
    damping_spread_percent: tuple[float, ...] = spec(
        (), unit="%", lo=0.0, hi=99.0, doc="per storey, overrides spread_percent")
    mass_kg: tuple[float, ...] = spec((), unit="kg", lo=0.0, lo_open=True,
                                      doc="interval centres (empty: the profile's masses)")
    stiffness_n_per_m: tuple[float, ...] = spec((), unit="N/m", lo=0.0, lo_open=True,
                                                doc="interval centres (empty: the profile's)")
    damping_ns_per_m: tuple[float, ...] = spec((), unit="N s/m", lo=0.0,
                                               doc="interval centres (empty: the profile's)")
    samples: int = spec(1000, lo=0, hi=20000, doc="Monte Carlo samples (0: vertex band only)")
    seed: int = spec(0, lo=0, hi=2**32 - 1, doc="seed of the Monte Carlo draw")
    distribution: str = spec("uniform", choices=("uniform", "normal"),
                             doc="how samples fill the box (normal: sigma = half-width / 2, "
                                 "truncated)")
    percentiles: tuple[float, ...] = spec((5.0, 95.0), unit="%", lo=0.0, hi=100.0, length=2,
                                          doc="lower and upper percentile of the probabilistic "
                                              "band")


@dataclass(frozen=True)
class Result:
    profile: str
    excitation_floor: int
    output_floor: int
    natural_frequencies_hz: np.ndarray  # nominal, undamped
    frequency_hz: np.ndarray
    nominal: np.ndarray  # |X_out / F|, m/N
    lower: np.ndarray  # vertex band, m/N
    upper: np.ndarray
    mc_lower: np.ndarray  # Monte Carlo min / max (empty when samples = 0)
    mc_upper: np.ndarray
    percentile_lower: np.ndarray
    percentile_upper: np.ndarray
    percentiles: tuple[float, ...]
    samples: int
    vertices: int
    mc_outside: int  # (sample, frequency) points outside the vertex band, relative tol 1e-9


EXAMPLE: dict = {"profile": "southampton_numerical", "excitation_floor": 2, "output_floor": 1,
                 "samples": 200, "n_frequencies": 120}


def _centres_and_widths(inputs: Inputs, model: LinearModel) -> tuple[np.ndarray, np.ndarray]:
    n = model.n
    storey_k = uq.storey_values(model.K)
    storey_c = uq.storey_values(model.C)
    centre = []
    for key, own, default in (("mass_kg", inputs.mass_kg, np.diag(model.M)),
                              ("stiffness_n_per_m", inputs.stiffness_n_per_m, storey_k),
                              ("damping_ns_per_m", inputs.damping_ns_per_m, storey_c)):
        centre.append(_per_floor(key, own, default, n))
    widths = []
    for key, own in (("mass_spread_percent", inputs.mass_spread_percent),
                     ("stiffness_spread_percent", inputs.stiffness_spread_percent),
                     ("damping_spread_percent", inputs.damping_spread_percent)):
        widths.append(_per_floor(key, own, np.full(n, inputs.spread_percent), n) / 100.0)
    return np.concatenate(centre), np.concatenate(widths)


def _per_floor(key: str, own: tuple, default: np.ndarray, n: int) -> np.ndarray:
    if not own:
        return np.asarray(default, dtype=float)
    if len(own) != n:
        raise SchemaError("inputs", key, "needs one value per floor", list(own), f"{n} values")
    return np.asarray(own, dtype=float)


def _check(inputs: Inputs, model: LinearModel) -> None:
    n = model.n
    if uq.chain_values(model.M, model.K, model.C) is None:
        raise SchemaError("inputs", "profile", "needs a chain profile (storey masses, "
                          "stiffnesses, dampings)", inputs.profile or "active model")
    for key in ("excitation_floor", "output_floor"):
        if getattr(inputs, key) > n:
            raise SchemaError("inputs", key, "no such floor", getattr(inputs, key), f"1..{n}")
    if inputs.f_max_hz <= inputs.f_min_hz:
        raise SchemaError("inputs", "f_max_hz", "must exceed f_min_hz", inputs.f_max_hz,
                          f"> {inputs.f_min_hz:g} Hz")
    if inputs.percentiles[0] >= inputs.percentiles[1]:
        raise SchemaError("inputs", "percentiles", "lower must be below upper",
                          list(inputs.percentiles))


def run(inputs: Inputs, ctx: Context) -> Result:
    name = ctx.profile(inputs.profile)
    model = ctx.get_scene().model(name)
    _check(inputs, model)
    n = model.n
    centre, width = _centres_and_widths(inputs, model)
    q = int(np.count_nonzero(width * centre))
    if q > uq.MAX_UNCERTAIN:
        raise SchemaError("inputs", "spread_percent", f"{q} uncertain parameters need 2^{q} "
                          "vertices; set some widths to 0", q, f"<= {uq.MAX_UNCERTAIN}")
    lo, hi = uq.interval_box(centre, width)
    f = np.linspace(inputs.f_min_hz, inputs.f_max_hz, inputs.n_frequencies)
    w = 2 * np.pi * f
    exc, out = inputs.excitation_floor - 1, inputs.output_floor - 1
    nominal = uq.sample_magnitudes(centre[None], w, exc)[0, :, out]
    ctx.report(0.0, "vertex band")
    lower, upper = (b[:, out] for b in uq.vertex_band(lo, hi, w, exc))
    # Monte Carlo: one draw of parameter sets, each swept over every frequency
    rng = np.random.default_rng(inputs.seed)
    theta = uq.draw_box(lo, hi, inputs.samples, rng, inputs.distribution)
    mags = np.empty((inputs.samples, f.size))
    for s0 in range(0, inputs.samples, _CHUNK):
        if ctx.cancelled():
            raise Cancelled(NAME)
        ctx.report(0.1 + 0.9 * s0 / inputs.samples, "Monte Carlo")
        s1 = min(s0 + _CHUNK, inputs.samples)
        mags[s0:s1] = uq.sample_magnitudes(theta[s0:s1], w, exc)[:, :, out]
    ctx.report(1.0, "done")
    empty = np.empty(0)
    if inputs.samples:
        pl, pu = np.percentile(mags, inputs.percentiles, axis=0)
        outside = int(np.sum((mags > upper * (1 + 1e-9)) | (mags < lower * (1 - 1e-9))))
        mc = (mags.min(axis=0), mags.max(axis=0), pl, pu)
    else:
        outside, mc = 0, (empty, empty, empty, empty)
    nominal_model = LinearModel.chain(centre[:n], centre[n:2 * n], centre[2 * n:])
    return Result(profile=name, excitation_floor=inputs.excitation_floor,
                  output_floor=inputs.output_floor,
                  natural_frequencies_hz=modal_analysis(nominal_model).frequencies_hz,
                  frequency_hz=f, nominal=nominal, lower=lower, upper=upper,
                  mc_lower=mc[0], mc_upper=mc[1], percentile_lower=mc[2],
                  percentile_upper=mc[3], percentiles=inputs.percentiles,
                  samples=inputs.samples, vertices=2**q, mc_outside=outside)


def _db(x: np.ndarray) -> np.ndarray:
    return 20 * np.log10(np.maximum(x, 1e-300))


def plots(r: Result) -> list[Plot]:
    ys = [_db(r.nominal), _db(r.lower), _db(r.upper)]
    labels = ["nominal", f"vertex band, lower ({r.vertices} vertices)", "vertex band, upper"]
    if r.samples:
        p0, p1 = r.percentiles
        ys += [_db(r.mc_lower), _db(r.mc_upper), _db(r.percentile_lower),
               _db(r.percentile_upper)]
        labels += [f"Monte Carlo min ({r.samples} samples)", "Monte Carlo max",
                   f"{p0:g} % percentile", f"{p1:g} % percentile"]
    title = f"receptance floor {r.output_floor} / force floor {r.excitation_floor}"
    return [
        Plot(title, r.frequency_hz, tuple(ys), tuple(labels), xlabel="frequency (Hz)",
             ylabel="receptance (dB re 1 m/N)"),
        Plot("band about the nominal", r.frequency_hz,
             (_db(r.upper / r.nominal), _db(r.lower / r.nominal)),
             ("vertex upper / nominal", "vertex lower / nominal"), xlabel="frequency (Hz)",
             ylabel="ratio to nominal (dB)"),
    ]


def summary(r: Result) -> list[str]:
    k = int(np.argmax(r.nominal))
    lines = ["nominal natural frequencies: "
             + ", ".join(f"{x:.3f}" for x in r.natural_frequencies_hz) + " Hz",
             f"nominal peak {_db(r.nominal[k]):.2f} dB re 1 m/N at {r.frequency_hz[k]:.3f} Hz",
             f"vertex band: peak upper {_db(r.upper.max()):.2f} dB, widest "
             f"{np.max(_db(r.upper / r.lower)):.2f} dB ({r.vertices} vertices)"]
    if r.samples:
        lines.append(f"Monte Carlo ({r.samples} samples): peak max {_db(r.mc_upper.max()):.2f} "
                     f"dB; {r.mc_outside} sample-frequency points outside the vertex band")
    return lines
