"""Uncertainty kernels against independent references: dense numpy solves, brute-force sampling
of the parameter box, TOOLS.md's figures for Cristallo's diagonal band, closed-form Gaussian
Fisher information and CDF sensitivities, and scipy's log-densities."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from twin3d.physics import uncertainty as uq
from twin3d.physics.structure import chain_matrix

# Cristallo's UQ page model (TOOLS.md 2.2): rounded page centres, x1e4 scaling kept.
M_PAGE = np.array([5.36, 5.14, 5.14]) * 1e4
K_PAGE = np.array([3.85, 4.46, 4.59]) * 1e8
C_PAGE = np.array([1.70, 1.02, 1.34]) * 1e4
THETA_PAGE = np.r_[M_PAGE, K_PAGE, C_PAGE]


def dense_receptance(theta, omega, floor):
    """|D(w)^-1 e_floor| by a dense numpy solve, (n_freq, N)."""
    n = theta.size // 3
    M, K, C = np.diag(theta[:n]), chain_matrix(theta[n:2 * n]), chain_matrix(theta[2 * n:])
    D = K[None] - omega[:, None, None] ** 2 * M[None] + 1j * omega[:, None, None] * C[None]
    e = np.zeros(n)
    e[floor] = 1.0
    return np.abs(np.linalg.solve(D, np.broadcast_to(e, (omega.size, n))[..., None])[..., 0])


def random_theta(rng, n):
    return np.r_[rng.uniform(1, 8, n), rng.uniform(5e3, 6e4, n), rng.uniform(0.5, 30, n)]


def test_zero_width_band_is_the_dense_solve():
    rng = np.random.default_rng(3)
    theta = random_theta(rng, 4)
    omega = np.linspace(1.0, 300.0, 97)
    lo, hi = uq.vertex_band(theta, theta, omega, 2)
    ref = dense_receptance(theta, omega, 2)
    np.testing.assert_allclose(lo, ref, rtol=1e-10)
    np.testing.assert_allclose(hi, ref, rtol=1e-10)


def test_vertices_only_equal_the_brute_force_over_every_vertex():
    rng = np.random.default_rng(4)
    theta = random_theta(rng, 2)
    box = uq.interval_box(theta, rng.uniform(0.0, 0.2, theta.size))
    omega = np.linspace(5.0, 250.0, 60)
    lower, upper = uq.vertex_band(*box, omega, 0, edges=False)
    mags = np.array([dense_receptance(np.choose(bits, box), omega, 0)
                     for bits in itertools.product((0, 1), repeat=theta.size)])
    np.testing.assert_allclose(lower, mags.min(axis=0), rtol=1e-10)
    np.testing.assert_allclose(upper, mags.max(axis=0), rtol=1e-10)


@pytest.mark.parametrize("j", [1, 4, 8])  # a mass, a stiffness, a damping
def test_edge_search_finds_the_exact_range_of_one_parameter(j):
    # One uncertain parameter: the band must be the true range along it, resonance crossings
    # included. Reference: a dense sweep of the interval, its best point polished by a bounded
    # scalar search on the dense solve.
    width = np.zeros(9)
    width[j] = 0.3
    lo, hi = uq.interval_box(THETA_PAGE, width)
    omega = np.linspace(20.0, 190.0, 40)
    lower, upper = uq.vertex_band(lo, hi, omega, 1)
    t = np.linspace(lo[j], hi[j], 2001)
    sweep = np.repeat(THETA_PAGE[None], t.size, axis=0)
    sweep[:, j] = t
    mags = uq.sample_magnitudes(sweep, omega, 1)

    def at(value, f, i):
        theta = THETA_PAGE.copy()
        theta[j] = value
        return dense_receptance(theta, omega[f:f + 1], 1)[0, i]

    for f in range(omega.size):
        for i in range(3):
            for sign, band in ((-1.0, upper), (1.0, lower)):
                best = int(np.argmin(sign * mags[:, f, i]))
                bounds = (t[max(best - 1, 0)], t[min(best + 1, t.size - 1)])
                opt = scipy.optimize.minimize_scalar(lambda v: sign * at(v, f, i),
                                                     bounds=bounds, method="bounded",
                                                     options={"xatol": 1e-9 * t[-1]})
                ref = sign * min(sign * mags[best, f, i], opt.fun)
                assert band[f, i] == pytest.approx(ref, rel=1e-6)


def test_diagonal_band_reproduces_tools_md_cartesian_figures():
    lo, hi = uq.interval_box(THETA_PAGE, 0.05)
    omega = np.linspace(5.0, 200.0, 200)
    dl, du = uq.diagonal_band(lo, hi, omega, 1)
    np.testing.assert_allclose(np.log10(dl[0]), [-8.6004, -8.3307, -8.3296], atol=1e-4)
    np.testing.assert_allclose(np.log10(du[0]), [-8.5555, -8.2860, -8.2846], atol=1e-4)
    i = np.argmin(np.abs(omega - 48.116))
    np.testing.assert_allclose(np.log10(dl[i]), [-8.3643, -8.1724, -8.0258], atol=1e-4)
    np.testing.assert_allclose(np.log10(du[i]), [-8.1265, -7.9193, -7.8032], atol=1e-4)
    i = np.argmin(np.abs(omega - 150.025))
    np.testing.assert_allclose(np.log10(dl[i]), [-8.7791, -9.0126, -9.1199], atol=1e-4)
    np.testing.assert_allclose(np.log10(du[i]), [-8.4758, -8.4241, -8.6759], atol=1e-4)
    np.testing.assert_allclose(np.log10(du.max(axis=0)), [-5.7066, -5.4829, -5.3985], atol=1e-4)
    assert omega[np.argmax(du[:, 0])] == pytest.approx(38.317, abs=1e-3)


@pytest.mark.parametrize("floor", [0, 1, 2])
def test_vertex_band_contains_monte_carlo_and_the_diagonal_band(floor):
    lo, hi = uq.interval_box(THETA_PAGE, 0.05)
    omega = np.linspace(5.0, 200.0, 400)  # dense enough to cross every shifted resonance
    lower, upper = uq.vertex_band(lo, hi, omega, floor)
    mags = uq.sample_magnitudes(uq.draw_box(lo, hi, 3000, np.random.default_rng(floor)), omega,
                                floor)
    assert np.all(mags <= upper * (1 + 1e-9)) and np.all(mags >= lower * (1 - 1e-9))
    dl, du = uq.diagonal_band(lo, hi, omega, floor)
    assert np.all(du <= upper * (1 + 1e-9)) and np.all(dl >= lower * (1 - 1e-9))
    # Cristallo's diagonal walk misses part of the box: our upper bound is well above its own
    assert np.max(20 * np.log10(upper / du)) > 3.0
    # the vertices alone are not enough near a resonance: the edge search matters
    assert np.any(mags > uq.vertex_band(lo, hi, omega, floor, edges=False)[1] * 1.01)


def test_vertex_band_contains_monte_carlo_on_a_four_storey_chain():
    rng = np.random.default_rng(7)
    theta = random_theta(rng, 4)
    width = rng.uniform(0.0, 0.15, theta.size)
    width[[1, 6]] = 0.0  # 10 uncertain: 1024 vertices
    lo, hi = uq.interval_box(theta, width)
    omega = np.linspace(1.0, 350.0, 300)
    lower, upper = uq.vertex_band(lo, hi, omega, 3)
    mags = uq.sample_magnitudes(uq.draw_box(lo, hi, 2000, rng), omega, 3)
    assert np.all(mags <= upper * (1 + 1e-9)) and np.all(mags >= lower * (1 - 1e-9))


def test_too_many_uncertain_parameters_are_refused():
    theta = np.ones(3 * 6)
    with pytest.raises(ValueError, match="at most 16"):
        uq.vertex_band(*uq.interval_box(theta, 0.1), np.ones(2), 0)


def test_box_draws_stay_inside_and_repeat_with_the_seed():
    lo, hi = uq.interval_box(THETA_PAGE, 0.1)
    for dist in ("uniform", "normal"):
        a = uq.draw_box(lo, hi, 5000, np.random.default_rng(1), dist)
        b = uq.draw_box(lo, hi, 5000, np.random.default_rng(1), dist)
        np.testing.assert_array_equal(a, b)
        assert np.all(a >= lo) and np.all(a <= hi)
    normal = uq.draw_box(lo, hi, 20000, np.random.default_rng(2), "normal")
    # sigma = half-width / 2 truncated at 2 sigma: std = 0.880 sigma
    np.testing.assert_allclose(normal.std(axis=0), 0.25 * (hi - lo) * 0.8796, rtol=0.03)


def test_harmonic_response_and_shear_match_a_dense_solve():
    rng = np.random.default_rng(5)
    n, ns, w = 3, 50, 2 * np.pi * 4.0
    m, k, c = rng.uniform(1, 8, (ns, n)), rng.uniform(1e3, 6e4, (ns, n)), rng.uniform(0, 9, (ns, n))
    f = rng.normal(size=(ns, n))
    X = uq.harmonic_response_batch(m, k, c, f, w)
    for s in range(ns):
        D = chain_matrix(k[s]) - w**2 * np.diag(m[s]) + 1j * w * chain_matrix(c[s])
        ref = np.linalg.solve(D, f[s])
        np.testing.assert_allclose(X[s], ref, rtol=1e-10)
        # storey shears sum up to the elastic + damper force the ground takes from storey 1
        shear = uq.storey_shear(X[s], k[s], c[s], w)
        assert shear[0] == pytest.approx(abs((k[s, 0] + 1j * w * c[s, 0]) * ref[0]), rel=1e-12)
        assert shear[2] == pytest.approx(abs((k[s, 2] + 1j * w * c[s, 2]) * (ref[2] - ref[1])),
                                         rel=1e-12)


def test_scores_are_derivatives_of_the_log_densities():
    y = np.array([0.3, 1.1, 2.5])
    h = 1e-6
    for score, logpdf, (a, b) in (
            (uq.gaussian_score, lambda y, a, b: scipy.stats.norm.logpdf(y, a, b), (1.2, 0.7)),
            (uq.gamma_score, lambda y, a, b: scipy.stats.gamma.logpdf(y, a, scale=b), (2.4, 0.6))):
        da, db = score(y, a, b)
        np.testing.assert_allclose(da, (logpdf(y, a + h, b) - logpdf(y, a - h, b)) / (2 * h),
                                   rtol=1e-6)
        np.testing.assert_allclose(db, (logpdf(y, a, b + h) - logpdf(y, a, b - h)) / (2 * h),
                                   rtol=1e-6)


def _gaussian_outputs(ns, mu, sigma, seed=0):
    y = mu + sigma * np.random.default_rng(seed).standard_normal((ns, mu.size))
    scores = np.column_stack([s for k in range(mu.size)
                              for s in uq.gaussian_score(y[:, k], mu[k], sigma[k])])
    exact = np.diag(np.ravel([[1 / s**2, 2 / s**2] for s in sigma]))
    return y, scores, exact


def test_fisher_information_of_one_gaussian_is_the_closed_form():
    mu, sigma = np.array([3.0]), np.array([0.2])
    y, scores, exact = _gaussian_outputs(200_000, mu, sigma)
    fisher = uq.fisher_information(y, scores, 40)
    np.testing.assert_allclose(np.diag(fisher.fim), np.diag(exact), rtol=0.05)
    assert abs(fisher.fim[0, 1]) < 0.03 * np.sqrt(exact[0, 0] * exact[1, 1])
    # the CDF and its score-function sensitivities against Phi and its derivatives
    x = fisher.grid[0]
    z = (x - mu[0]) / sigma[0]
    np.testing.assert_allclose(fisher.cdf, scipy.stats.norm.cdf(z), atol=0.005)
    pdf = scipy.stats.norm.pdf(z)
    np.testing.assert_allclose(fisher.cdf_sensitivity[0], -pdf / sigma[0], atol=0.05 / sigma[0])
    np.testing.assert_allclose(fisher.cdf_sensitivity[1], -pdf * z / sigma[0],
                               atol=0.05 / sigma[0])


def test_fisher_information_pairs_each_output_with_its_own_axis():
    # Three outputs on very different scales: a wrong axis pairing (Cristallo's 'xy' grid for
    # d >= 3) differentiates one output with another's spacing and breaks both checks.
    mu, sigma = np.array([1.0, 50.0, -3.0]), np.array([0.1, 20.0, 1.0])
    y, scores, exact = _gaussian_outputs(200_000, mu, sigma, seed=1)
    fim = uq.fisher_information(y, scores, 20).fim
    np.testing.assert_allclose(np.diag(fim), np.diag(exact), rtol=0.2)
    off = fim / np.sqrt(np.outer(np.diag(exact), np.diag(exact))) - np.diag(np.diag(fim)
                                                                           / np.diag(exact))
    assert np.max(np.abs(off)) < 0.03
    perm = [2, 0, 1]
    np.testing.assert_allclose(uq.fisher_information(y[:, perm], scores, 20).fim, fim,
                               rtol=1e-9, atol=1e-12 * np.max(fim))
