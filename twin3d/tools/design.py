"""design: design under uncertainty, by Monte Carlo of the harmonic response at one frequency.

Masses, storey stiffnesses, storey dampings and floor forces are random: Gaussian (mean, std)
or Gamma (shape kappa = mean^2 / std^2, scale theta = std^2 / mean), with the means taken from
the profile (forces from `force_mean_n`); a zero std makes an input deterministic. Each of
`samples` draws (seeded) is solved at the analysis frequency for the complex floor
displacements X; outputs are the amplitudes x_i = |X_i| (m) and the storey shears
s_i = |(k_i + j w c_i)(X_i - X_{i-1})| (N). The tool reports the nominal response, the output
statistics and histograms, the Fisher information matrix (FIM) of the outputs' joint density with
respect to the distribution parameters b (means and stds, or kappa and theta), its
eigen-decomposition, and how the reliability P(every output below its threshold) changes along
each eigen-direction.

Defaults are Cristallo's design data (TOOLS.md 3.2, profile `sheffield_design`). Deliberate
differences from Cristallo (TOOLS.md 3 and 13.5):
- the d-dimensional CDF grid is indexed 'ij' with array axis k paired with output k for the
  density gradients and the integrals (Cristallo paired them wrongly for three outputs or more);
- the FIM eigenvectors shown and those used for the reliability sensitivity are the same: those
  of the normalised FIM F~_jk = F_jk b_j b_k, i.e. directions of relative parameter change, and
  the sensitivity is dP/d(epsilon) for b_j -> b_j (1 + epsilon q_j) (Cristallo showed the
  normalised eigenvectors but used the un-normalised ones);
- shears use the complex inter-storey drift and include the storey damper (Cristallo:
  k_i (|X_i| - |X_{i-1}|));
- grid cells whose density estimate is below 1e-10 or negative are left out of the FIM
  integral (Cristallo set p = 1e-7 there);
- Gamma inputs are given by mean and std (the same family as Cristallo's kappa, theta);
- sampling is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.physics import uncertainty as uq
from twin3d.physics.structure import LinearModel, chain_receptance_batch, modal_analysis
from twin3d.scenefile.schema import SchemaError, spec
from twin3d.tools import Cancelled, Context, Plot

NAME = "design"
SUMMARY = ("Monte Carlo of random masses, stiffnesses, dampings and forces at one frequency: "
           "output histograms, Fisher information, reliability sensitivity")

_KINDS = ("gaussian", "gamma")
_GAMMA_C2 = (0.6018186, 0.0015333)  # Cristallo's Gamma dampings (kappa, theta), TOOLS.md 3.2
_GAMMA_C3 = (2.3842358, 0.0010963)
_MAX_CELLS = 200_000  # grid points of the joint CDF: grid_points ** outputs


@dataclass(frozen=True, kw_only=True)
class Inputs:
    profile: str = spec("sheffield_design", doc="profile giving the mean masses, stiffnesses and "
                        "dampings (empty: the active model)")
    analysis_frequency_hz: float = spec(1.97, unit="Hz", lo=0.0, hi=1000.0, lo_open=True,
                                        doc="frequency of the harmonic forces")
    samples: int = spec(1000, lo=20, hi=200_000, doc="Monte Carlo realisations")
    seed: int = spec(0, lo=0, hi=2**32 - 1, doc="seed of the random draw")
    mass_distribution: tuple[str, ...] = spec(("gaussian",) * 3, choices=_KINDS,
                                              doc="per floor: gaussian or gamma")
    mass_std_kg: tuple[float, ...] = spec((0.0312982, 0.1002168, 0.1144056), unit="kg", lo=0.0,
                                          doc="per floor standard deviation")
    stiffness_distribution: tuple[str, ...] = spec(("gaussian",) * 3, choices=_KINDS,
                                                   doc="per storey")
    stiffness_std_n_per_m: tuple[float, ...] = spec((83.760278, 69.627281, 56.769849),
                                                    unit="N/m", lo=0.0, doc="per storey")
    damping_distribution: tuple[str, ...] = spec(("gaussian", "gamma", "gamma"), choices=_KINDS,
                                                 doc="per storey")
    damping_std_ns_per_m: tuple[float, ...] = spec(
        (0.2589255, float(np.sqrt(_GAMMA_C2[0]) * _GAMMA_C2[1]),
         float(np.sqrt(_GAMMA_C3[0]) * _GAMMA_C3[1])), unit="N s/m", lo=0.0, doc="per storey")
    force_mean_n: tuple[float, ...] = spec((1.0, 0.0, 0.0), unit="N",
                                           doc="per floor mean harmonic force amplitude")
    force_std_n: tuple[float, ...] = spec((0.1, 0.0, 0.0), unit="N", lo=0.0, doc="per floor")
    force_distribution: tuple[str, ...] = spec(("gaussian",) * 3, choices=_KINDS,
                                               doc="per floor")
    outputs: tuple[str, ...] = spec(("x1", "x2", "x3"),
                                    doc="x<i>: floor i amplitude (m); s<i>: storey i shear (N)")
    histogram_bins: int = spec(20, lo=2, hi=500, doc="bins of each output histogram")
    grid_points: int = spec(10, lo=3, hi=400, doc="points per output axis of the joint CDF grid")
    threshold_percent: tuple[float, ...] = spec(
        (), unit="%", lo=0.0, hi=100.0, doc="per output: failure threshold as a percentage of "
        "its sample range, snapped to the grid (empty: the middle grid point)")


@dataclass(frozen=True)
class Result:
    profile: str
    analysis_frequency_hz: float
    natural_frequencies_hz: np.ndarray  # nominal, undamped
    nominal_amplitude_m: np.ndarray  # |X_i| of the nominal model under the mean forces
    nominal_shear_n: np.ndarray
    frf_frequency_hz: np.ndarray
    frf_db: np.ndarray  # (n_freq, N): nominal 20 log10 |X_i| re 1 m under the mean forces
    outputs: tuple[str, ...]
    samples: int
    mean: np.ndarray  # (d,)
    std: np.ndarray
    percentile_levels: tuple[float, ...]
    percentile_values: np.ndarray  # (levels, d)
    histogram_edges: np.ndarray  # (d, bins + 1)
    histogram_density: np.ndarray  # (d, bins)
    parameter_names: tuple[str, ...]
    parameter_values: np.ndarray  # b: (p,)
    fim: np.ndarray  # (p, p)
    fim_normalised: np.ndarray  # F_jk b_j b_k
    eigenvalues: np.ndarray  # of fim_normalised, descending
    eigenvectors: np.ndarray  # (p, p), column n goes with eigenvalues[n]
    thresholds: np.ndarray  # (d,) grid values
    reliability: float  # P(every output strictly below its threshold)
    reliability_sensitivity: np.ndarray  # (p,) dP/d(eps) along eigenvector n


EXAMPLE: dict = {"outputs": ["x1", "x3", "s2"], "samples": 2000, "grid_points": 12}


@dataclass(frozen=True)
class _Input:
    name: str  # "m1", "k2", ...
    kind: str
    mean: float
    std: float


_GROUPS = (("m", "mass", "mass_std_kg"), ("k", "stiffness", "stiffness_std_n_per_m"),
           ("c", "damping", "damping_std_ns_per_m"), ("f", "force", "force_std_n"))


def _inputs_list(inputs: Inputs, model: LinearModel) -> list[_Input]:
    n = model.n
    if uq.chain_values(model.M, model.K, model.C) is None:
        raise SchemaError("inputs", "profile", "needs a chain profile (storey masses, "
                          "stiffnesses, dampings)", inputs.profile or "active model")
    means = {"m": np.diag(model.M), "k": uq.storey_values(model.K),
             "c": uq.storey_values(model.C), "f": inputs.force_mean_n}
    out = []
    for sym, word, std_key in _GROUPS:
        kinds = getattr(inputs, f"{word}_distribution")
        stds = getattr(inputs, std_key)
        for key, vals in ((f"{word}_distribution", kinds), (std_key, stds),
                          ("force_mean_n", means["f"])):
            if len(vals) != n:
                raise SchemaError("inputs", key, "needs one value per floor", list(vals),
                                  f"{n} values")
        for i in range(n):
            mu, sd = float(means[sym][i]), float(stds[i])
            if kinds[i] == "gamma" and (mu <= 0 or sd <= 0):
                raise SchemaError("inputs", std_key, "a gamma input needs mean > 0 and std > 0",
                                  list(stds))
            out.append(_Input(f"{sym}{i + 1}", kinds[i], mu, sd))
    return out


def _draw(spec_: _Input, n: int, rng: np.random.Generator):
    """Samples of one input, its distribution parameters (b1, b2) and their scores (or None)."""
    if spec_.std == 0.0:
        return np.full(n, spec_.mean), None
    if spec_.kind == "gaussian":
        y = rng.normal(spec_.mean, spec_.std, n)
        return y, ((spec_.mean, spec_.std), uq.gaussian_score(y, spec_.mean, spec_.std))
    shape, scale = (spec_.mean / spec_.std) ** 2, spec_.std**2 / spec_.mean
    y = rng.gamma(shape, scale, n)
    return y, ((shape, scale), uq.gamma_score(y, shape, scale))


def _output_index(names: tuple[str, ...], n: int) -> list[tuple[str, int]]:
    out = []
    for name in names:
        ok = len(name) >= 2 and name[0] in "xs" and name[1:].isdigit()
        if not ok or not 1 <= int(name[1:]) <= n or name in [o[0] + str(o[1] + 1) for o in out]:
            raise SchemaError("inputs", "outputs", "unknown or repeated output", name,
                              f"x1..x{n}, s1..s{n}, each once")
        out.append((name[0], int(name[1:]) - 1))
    return out


def run(inputs: Inputs, ctx: Context) -> Result:
    name = ctx.profile(inputs.profile)
    model = ctx.get_scene().model(name)
    n = model.n
    specs = _inputs_list(inputs, model)
    outs = _output_index(inputs.outputs, n)
    d = len(outs)
    if d == 0:
        raise SchemaError("inputs", "outputs", "choose at least one output", [])
    if inputs.grid_points**d > _MAX_CELLS:
        raise SchemaError("inputs", "grid_points", f"grid_points^{d} outputs exceeds "
                          f"{_MAX_CELLS} cells", inputs.grid_points)
    if inputs.threshold_percent and len(inputs.threshold_percent) != d:
        raise SchemaError("inputs", "threshold_percent", "needs one value per output",
                          list(inputs.threshold_percent), f"{d} values")
    w = 2 * np.pi * inputs.analysis_frequency_hz
    mean = np.array([s.mean for s in specs]).reshape(4, n)
    # nominal response: every input at its mean
    X0 = uq.harmonic_response_batch(mean[0][None], mean[1][None], mean[2][None],
                                    mean[3][None], w)[0]
    fn = modal_analysis(model).frequencies_hz
    f_grid = np.linspace(0.0, 1.5 * fn[-1], 2000)
    frf = np.zeros((f_grid.size, n), dtype=complex)
    for j in np.flatnonzero(mean[3]):  # superpose the receptances of the loaded floors
        frf += mean[3][j] * chain_receptance_batch(mean[0][None], mean[1][None], mean[2][None],
                                                   2 * np.pi * f_grid, int(j))[0]
    frf_db = 20 * np.log10(np.maximum(np.abs(frf), 1e-300))
    # Monte Carlo: draw every input (seeded), solve each realisation at w
    ctx.report(0.0, "sampling")
    rng = np.random.default_rng(inputs.seed)
    draws, names1, names2, b1, b2, sc1, sc2 = [], [], [], [], [], [], []
    for s in specs:
        y, info = _draw(s, inputs.samples, rng)
        draws.append(y)
        if info is not None:
            (p1, p2), (g1, g2) = info
            gauss = s.kind == "gaussian"
            names1.append(("mu_" if gauss else "kappa_") + s.name)
            names2.append(("sigma_" if gauss else "theta_") + s.name)
            b1.append(p1), b2.append(p2), sc1.append(g1), sc2.append(g2)
    Y = np.asarray(draws).reshape(4, n, inputs.samples).transpose(0, 2, 1).copy()
    if ctx.cancelled():
        raise Cancelled(NAME)
    ctx.report(0.2, "harmonic response")
    X = uq.harmonic_response_batch(Y[0], Y[1], Y[2], Y[3], w)
    amp = np.abs(X)
    shear = uq.storey_shear(X, Y[1], Y[2], w)
    out = np.column_stack([(amp if kind == "x" else shear)[:, i] for kind, i in outs])
    if ctx.cancelled():
        raise Cancelled(NAME)
    ctx.report(0.5, "Fisher information")
    b = np.array(b1 + b2)
    fisher = uq.fisher_information(out, np.column_stack(sc1 + sc2), inputs.grid_points)
    fim_n = fisher.fim * np.outer(b, b)
    lam, vec = np.linalg.eigh(fim_n)
    order = np.argsort(lam)[::-1]
    lam, vec = lam[order], vec[:, order]
    vec *= np.where(vec[np.argmax(np.abs(vec), axis=0), np.arange(vec.shape[1])] < 0, -1.0, 1.0)
    # reliability at the thresholds, and its change along each eigen-direction
    J = inputs.grid_points
    pct = inputs.threshold_percent or (100.0 * (J // 2) / (J - 1),) * d
    cell = tuple(int(round(p / 100.0 * (J - 1))) for p in pct)
    thresholds = np.array([g[c] for g, c in zip(fisher.grid, cell)])
    dP = fisher.cdf_sensitivity[(slice(None),) + cell]
    levels = (5.0, 50.0, 95.0)
    hist = [np.histogram(out[:, k], bins=inputs.histogram_bins, density=True) for k in range(d)]
    ctx.report(1.0, "done")
    return Result(
        profile=name, analysis_frequency_hz=inputs.analysis_frequency_hz,
        natural_frequencies_hz=fn, nominal_amplitude_m=np.abs(X0),
        nominal_shear_n=uq.storey_shear(X0, mean[1], mean[2], w), frf_frequency_hz=f_grid,
        frf_db=frf_db, outputs=tuple(inputs.outputs), samples=inputs.samples,
        mean=out.mean(axis=0), std=out.std(axis=0, ddof=1), percentile_levels=levels,
        percentile_values=np.percentile(out, levels, axis=0),
        histogram_edges=np.array([h[1] for h in hist]),
        histogram_density=np.array([h[0] for h in hist]),
        parameter_names=tuple(names1 + names2), parameter_values=b, fim=fisher.fim,
        fim_normalised=fim_n, eigenvalues=lam, eigenvectors=vec, thresholds=thresholds,
        reliability=float(fisher.cdf[cell]), reliability_sensitivity=(dP * b) @ vec)


def _unit(name: str) -> str:
    return "m" if name[0] == "x" else "N"


def plots(r: Result) -> list[Plot]:
    n = r.frf_db.shape[1]
    out = [Plot("nominal response to the mean forces", r.frf_frequency_hz,
                tuple(r.frf_db[:, i] for i in range(n)),
                tuple(f"floor {i + 1}" for i in range(n)), xlabel="frequency (Hz)",
                ylabel="displacement amplitude (dB re 1 m)")]
    for k, name in enumerate(r.outputs):
        e = r.histogram_edges[k]
        what = "amplitude of floor" if name[0] == "x" else "shear of storey"
        out.append(Plot(f"{what} {name[1:]} at {r.analysis_frequency_hz:g} Hz",
                        0.5 * (e[1:] + e[:-1]),
                        (r.histogram_density[k],), (name,), xlabel=f"{name} ({_unit(name)})",
                        ylabel=f"probability density (1/{_unit(name)})", kind="bars"))
    idx = np.arange(1, r.eigenvalues.size + 1, dtype=float)
    out.append(Plot("eigenvalues of the normalised Fisher information", idx, (r.eigenvalues,),
                    xlabel="eigenvalue number", ylabel="eigenvalue (-)", kind="bars"))
    out.append(Plot(f"eigenvector 1 (eigenvalue {r.eigenvalues[0]:.3g}); parameters: "
                    + ", ".join(r.parameter_names), idx, (r.eigenvectors[:, 0],),
                    xlabel="parameter number", ylabel="component (-)", kind="bars"))
    out.append(Plot(f"change of reliability P = {r.reliability:.3f} along each eigenvector",
                    idx, (r.reliability_sensitivity,), xlabel="eigenvector number",
                    ylabel="dP / d(relative step) (-)", kind="bars"))
    return out


def summary(r: Result) -> list[str]:
    lines = ["nominal natural frequencies: "
             + ", ".join(f"{f:.4f}" for f in r.natural_frequencies_hz) + " Hz",
             f"nominal amplitude at {r.analysis_frequency_hz:g} Hz: "
             + ", ".join(f"{x:.6f}" for x in r.nominal_amplitude_m) + " m"]
    for k, name in enumerate(r.outputs):
        lo, med, hi = r.percentile_values[:, k]
        lines.append(f"{name}: mean {r.mean[k]:.4g} {_unit(name)}, std {r.std[k]:.4g}, "
                     f"5/50/95 % {lo:.4g} / {med:.4g} / {hi:.4g}")
    top = np.argsort(np.abs(r.eigenvectors[:, 0]))[::-1][:3]
    lines.append(f"largest FIM eigenvalue {r.eigenvalues[0]:.3g}, led by "
                 + ", ".join(f"{r.parameter_names[j]} ({r.eigenvectors[j, 0]:+.2f})" for j in top))
    lines.append(f"reliability P(all below thresholds) = {r.reliability:.3f}")
    return lines
