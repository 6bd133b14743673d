"""Bench steps for the uncertainty and design tools, each against a plain numpy baseline
measured in the same run (the answers are compared too)."""

from __future__ import annotations

import numpy as np

from twin3d.bench import best, figure

# the default identified model (scene profile southampton_identified)
_THETA = np.r_[[5.0394, 4.9919, 4.9693], [34958.3691, 43195.1237, 43295.9086],
               [7.8963, 4.0129, 5.4905]]


def _dense_solves(theta: np.ndarray, omega: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Plain numpy: one parameter set at a time, np.linalg.solve stacked over the frequencies."""
    from twin3d.physics.structure import chain_matrix

    n = theta.shape[1] // 3
    out = np.empty((theta.shape[0], omega.size, n))
    w = omega[:, None, None]
    for s, t in enumerate(theta):
        D = chain_matrix(t[n:2 * n]) - w**2 * np.diag(t[:n]) + 1j * w * chain_matrix(t[2 * n:])
        x = np.linalg.solve(D, np.broadcast_to(rhs, (omega.size, n))[..., None])[..., 0]
        out[s] = np.abs(x)
    return out


def bench_uncertainty(samples: int, freqs: int, repeat: int) -> list[dict]:
    from twin3d.physics import uncertainty as uq

    lo, hi = uq.interval_box(_THETA, 0.05)
    omega = 2 * np.pi * np.linspace(0.8, 32.0, freqs)
    theta = uq.draw_box(lo, hi, samples, np.random.default_rng(0))
    rhs = np.array([0.0, 1.0, 0.0])

    # as the tool does: one output floor (3) kept, its min, max and percentiles per frequency
    def mc_ours():
        u = uq.sample_magnitudes(theta, omega, 1)[:, :, 2]
        return u.min(axis=0), u.max(axis=0), np.percentile(u, (5, 95), axis=0)

    def mc_base():
        u = _dense_solves(theta, omega, rhs)[:, :, 2]
        return u.min(axis=0), u.max(axis=0), np.percentile(u, (5, 95), axis=0)

    uq.sample_magnitudes(theta[:2], omega[:2], 1)  # compile outside the timing
    uq.vertex_band(lo, hi, omega[:2], 1)
    a, b = mc_ours(), mc_base()
    err_mc = float(np.max(np.abs(a[1] - b[1]) / b[1]))
    mc = figure(f"uncertainty: Monte Carlo band + percentiles, {samples} samples x {freqs} "
                "frequencies", best(mc_ours, repeat), best(mc_base, 1),
                "numpy loop over samples (np.linalg.solve over frequencies)", "s", 3.0)
    mc["max_relative_difference"] = err_mc
    # vertex band: ours also searches every edge; the baseline only visits the 512 vertices
    idx = np.array(np.meshgrid(*[[0, 1]] * 9, indexing="ij")).reshape(9, -1).T
    vertices = np.where(idx == 1, hi, lo)
    ours_v = best(lambda: uq.vertex_band(lo, hi, omega, 1), repeat)
    base_v = best(lambda: _dense_solves(vertices, omega, rhs).max(axis=0), 1)
    vx = figure(f"uncertainty: vertex band (edges searched), 512 vertices x {freqs} frequencies",
                ours_v, base_v, "numpy loop over the vertices only (np.linalg.solve)", "s", 1.5)
    ref = _dense_solves(vertices, omega, rhs).max(axis=0)
    vx["max_relative_difference"] = float(np.max(
        np.abs(uq.vertex_band(lo, hi, omega, 1, edges=False)[1] - ref) / ref))
    return [mc, vx]


def bench_design(samples: int, repeat: int) -> list[dict]:
    from twin3d.physics import uncertainty as uq
    from twin3d.physics.structure import chain_matrix

    rng = np.random.default_rng(0)
    mean = np.array([[4.8724882, 5.4758033, 5.6923249], [4203.0027, 4147.6895, 5101.4822],
                     [2.2007146, 9.2277e-4, 2.6138e-3], [1.0, 0.0, 0.0]])
    std = np.array([[0.0312982, 0.1002168, 0.1144056], [83.760278, 69.627281, 56.769849],
                    [0.2589255, 0.0, 0.0], [0.1, 0.0, 0.0]])
    Y = mean[:, None, :] + std[:, None, :] * rng.standard_normal((4, samples, 3))
    w = 2 * np.pi * 1.97
    uq.harmonic_response_batch(Y[0, :2], Y[1, :2], Y[2, :2], Y[3, :2], w)

    def ours_solve():
        return uq.harmonic_response_batch(Y[0], Y[1], Y[2], Y[3], w)

    def base_solve():
        out = np.empty((samples, 3), dtype=complex)
        for s in range(samples):
            D = chain_matrix(Y[1, s]) - w**2 * np.diag(Y[0, s]) + 1j * w * chain_matrix(Y[2, s])
            out[s] = np.linalg.solve(D, Y[3, s])
        return out

    x = np.abs(ours_solve())
    err = float(np.max(np.abs(x - np.abs(base_solve())) / x))
    solve = figure(f"design: harmonic response, {samples} samples", best(ours_solve, repeat),
                   best(base_solve, 1), "numpy loop over samples (np.linalg.solve)", "s", 10.0)
    solve["max_relative_difference"] = err
    # joint CDF sums on a 10^3 grid for 3 outputs and 14 scores
    scores = rng.standard_normal((samples, 14))
    J = 10

    def ours_cdf():
        return uq.cumulative_counts(x, scores, J)[1]

    def base_cdf():
        grid = [np.linspace(x[:, k].min(), x[:, k].max(), J) for k in range(3)]
        pts = np.stack(np.meshgrid(*grid, indexing="ij"), axis=-1).reshape(-1, 3)
        below = np.all(x[:, None, :] < pts[None], axis=2).astype(float)  # (samples, J^3)
        return (scores.T @ below).reshape((14,) + (J,) * 3)

    cdf = figure(f"design: joint CDF sensitivities, {samples} samples on a 10^3 grid",
                 best(ours_cdf, repeat), best(base_cdf, 1),
                 "numpy indicator matrix x scores (matmul)", "s", 3.0)
    cdf["max_relative_difference"] = float(np.max(np.abs(ours_cdf() - base_cdf()))
                                           / np.max(np.abs(base_cdf())))
    return [solve, cdf]


def steps(quick: bool) -> list:
    return [
        ("uncertainty tool", lambda: bench_uncertainty(1000, 200, 3 if quick else 5)),
        ("design tool", lambda: bench_design(10_000, 3 if quick else 5)),
    ]
