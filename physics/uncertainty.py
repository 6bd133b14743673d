"""Uncertainty propagation through a chain model: interval bands, Monte Carlo, Fisher information.

Parameters of an N-storey chain are packed in one vector theta of length 3N:
[m_1..m_N, k_1..k_N, c_1..c_N] (kg, N/m, N s/m); an interval box is (lo, hi) of that shape.
The response is the receptance u(w) = D(w)^-1 e_floor with D = K - w^2 M + j w C (m/N).

Every parameter enters D as a rank-one term t s g g^T (mass m_i: s = -w^2, g = e_i; storey
stiffness / damping: s = 1 / j w, g = e_i - e_{i-1}), so along any one parameter, by
Sherman-Morrison, each u_i(t) is a Moebius function (alpha + beta t) / (1 + delta t). Its
magnitude has at most two stationary points on an edge of the box, found in closed form: that is
how the vertex band catches a resonance (or anti-resonance) that crosses the analysis frequency
inside an edge, where no vertex sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.special

from twin3d.physics.structure import chain_receptance_batch, chain_thomas, storey_drift

# ---------------------------------------------------------------------------------------------
# Interval (set-based) propagation
# ---------------------------------------------------------------------------------------------

MAX_UNCERTAIN = 16  # 2^16 vertices per frequency: the vertex band's bound on p
# fast maths without the no-inf/no-nan assumptions (the band starts from +inf)
_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}


def storey_values(A: np.ndarray) -> np.ndarray:
    """Storey values a_1..a_N of a chain matrix (a_i ties floor i to floor i-1, a_1 to the base)."""
    n = A.shape[0]
    a = np.empty(n)
    a[1:] = -np.diag(A, 1)
    a[0] = A[0, 0] - (a[1] if n > 1 else 0.0)
    return a


def chain_values(M, K, C) -> np.ndarray | None:
    """theta = [m, k, c] of a chain model, or None if (M, K, C) is not of chain form (a beam
    profile's Rayleigh damping alpha M + beta K, for one, is not)."""
    from twin3d.physics.structure import chain_matrix

    theta = np.r_[np.diag(M), storey_values(K), storey_values(C)]
    n = M.shape[0]
    same = (np.allclose(M, np.diag(theta[:n]), rtol=1e-12, atol=0.0)
            and np.allclose(K, chain_matrix(theta[n:2 * n]), rtol=1e-12, atol=0.0)
            and np.allclose(C, chain_matrix(theta[2 * n:]), rtol=1e-9, atol=1e-12 * abs(C).max()))
    return theta if same else None


def interval_box(centre, rel_half_width) -> tuple[np.ndarray, np.ndarray]:
    """Box [c (1 - e), c (1 + e)] of every parameter; e is the relative half-width (0.05 = 5 %)."""
    c = np.asarray(centre, dtype=np.float64)
    e = np.asarray(rel_half_width, dtype=np.float64)
    return c * (1 - e), c * (1 + e)


@numba.njit(cache=True, fastmath=_FAST)
def _chain_inverse(theta, n, w, G, kc, cp, den):
    """G = D(w)^-1 (complex symmetric tridiagonal) for the chain theta, column by column."""
    for i in range(n):
        kc[i] = theta[n + i] + 1j * w * theta[2 * n + i]
    kc[n] = 0.0
    # Thomas forward elimination, shared by every right-hand side
    prev = 0.0j
    for i in range(n):
        den[i] = 1.0 / (kc[i] + kc[i + 1] - w * w * theta[i] + kc[i] * prev)
        cp[i] = -kc[i + 1] * den[i]
        prev = cp[i]
    for col in range(n):
        d = 0.0j
        for i in range(n):
            d = ((1.0 if i == col else 0.0) + kc[i] * d) * den[i]
            G[i, col] = d
        x = G[n - 1, col]
        for i in range(n - 2, -1, -1):
            x = G[i, col] - cp[i] * x
            G[i, col] = x


@numba.njit(cache=True, fastmath=_FAST)
def _edge_extremes(alpha, beta, delta, lower, upper):
    """Min/max of |alpha + beta t| / |1 + delta t| at its interior stationary points in (0, 1)."""
    A = beta.real * beta.real + beta.imag * beta.imag
    B = 2.0 * (alpha.real * beta.real + alpha.imag * beta.imag)
    C = alpha.real * alpha.real + alpha.imag * alpha.imag
    Dd = delta.real * delta.real + delta.imag * delta.imag
    E = 2.0 * delta.real
    # d/dt of (A t^2 + B t + C) / (Dd t^2 + E t + 1) = 0  ->  a2 t^2 + a1 t + a0 = 0
    a2 = A * E - B * Dd
    a1 = 2.0 * (A - C * Dd)
    a0 = B - C * E
    scale = abs(a2) + abs(a1) + abs(a0)
    if scale == 0.0:
        return lower, upper
    r0 = r1 = -1.0  # roots outside (0, 1) are ignored
    if abs(a2) <= 1e-14 * scale:
        if a1 != 0.0:
            r0 = -a0 / a1
    else:
        disc = a1 * a1 - 4.0 * a2 * a0
        if disc >= 0.0:
            sq = np.sqrt(disc)
            q = -0.5 * (a1 + sq if a1 >= 0.0 else a1 - sq)  # stable quadratic roots
            r0 = q / a2
            if q != 0.0:
                r1 = a0 / q
    for t in (r0, r1):
        if 0.0 < t < 1.0:
            v = abs(alpha + beta * t) / abs(1.0 + delta * t)
            lower = min(lower, v)
            upper = max(upper, v)
    return lower, upper


@numba.njit(cache=True, parallel=True, fastmath=_FAST)
def _vertex_band(lo, hi, idx, omega, floor, edges):
    p = lo.size
    n = p // 3
    q = idx.size
    nf = omega.size
    lower = np.full((nf, n), np.inf)
    upper = np.zeros((nf, n))
    for f in numba.prange(nf):
        w = omega[f]
        theta = np.empty(p)
        G = np.empty((n, n), dtype=np.complex128)
        kc = np.empty(n + 1, dtype=np.complex128)
        cp = np.empty(n, dtype=np.complex128)
        den = np.empty(n, dtype=np.complex128)
        for v in range(1 << q):
            theta[:] = lo
            for b in range(q):
                if (v >> b) & 1:
                    theta[idx[b]] = hi[idx[b]]
            _chain_inverse(theta, n, w, G, kc, cp, den)
            for i in range(n):
                a = abs(G[i, floor])
                lower[f, i] = min(lower[f, i], a)
                upper[f, i] = max(upper[f, i], a)
            if not edges:
                continue
            # every edge leaving this vertex upwards: parameter idx[b] from lo to hi
            for b in range(q):
                if (v >> b) & 1:
                    continue
                j = idx[b]
                kind = j // n
                s_ = j % n
                span = hi[j] - lo[j]
                if kind == 0:
                    s = -w * w * span + 0.0j
                elif kind == 1:
                    s = span + 0.0j
                else:
                    s = 1j * w * span
                # g^T G g and g^T u with g = e_s (mass) or e_s - e_{s-1} (storey)
                gTw = G[s_, s_]
                gTu = G[s_, floor]
                if kind > 0 and s_ > 0:
                    gTw = G[s_, s_] - 2.0 * G[s_, s_ - 1] + G[s_ - 1, s_ - 1]
                    gTu = G[s_, floor] - G[s_ - 1, floor]
                delta = s * gTw
                for i in range(n):
                    wi = G[i, s_]
                    if kind > 0 and s_ > 0:
                        wi = G[i, s_] - G[i, s_ - 1]
                    alpha = G[i, floor]
                    beta = s * (alpha * gTw - wi * gTu)
                    lower[f, i], upper[f, i] = _edge_extremes(alpha, beta, delta,
                                                              lower[f, i], upper[f, i])
    return lower, upper


def vertex_band(lo, hi, omega, floor: int, edges: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Band of |u_i(w)| over all 2^q vertices of the box (q = parameters with hi > lo).

    lo, hi: (3N,) box; omega: (n_freq,) rad/s; floor: 0-based index of the unit force.
    With `edges`, every edge of the box is also searched exactly for interior extrema (see the
    module docstring). Returns (lower, upper), each (n_freq, N), m/N. Still an inner bound of
    the true range (an extremum needing two parameters inside their intervals at once is not
    searched), but it contains every one-parameter-interior point and every vertex.
    """
    lo = np.ascontiguousarray(lo, dtype=np.float64)
    hi = np.ascontiguousarray(hi, dtype=np.float64)
    idx = np.flatnonzero(hi > lo).astype(np.int64)
    if idx.size > MAX_UNCERTAIN:
        raise ValueError(f"{idx.size} uncertain parameters: the vertex band allows at most "
                         f"{MAX_UNCERTAIN} (2^{MAX_UNCERTAIN} vertices)")
    return _vertex_band(lo, hi, idx, np.ascontiguousarray(omega, dtype=np.float64), int(floor),
                        bool(edges))


def diagonal_band(lo, hi, omega, floor: int, points: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Cristallo's "Cartesian" band (TOOLS.md 2.3), kept only to compare against.

    All masses move together along the diagonal of the mass box (point j at j/(points-1) of
    every interval), likewise the stiffnesses; all points x points pairs, with every damping at
    its lower and at its upper end. It never visits the box's other vertices, so it can miss
    the extremes.
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    n = lo.size // 3
    s = np.linspace(0.0, 1.0, points)
    m = lo[:n] + s[:, None] * (hi[:n] - lo[:n])
    k = lo[n:2 * n] + s[:, None] * (hi[n:2 * n] - lo[n:2 * n])
    mm = np.repeat(m, points, axis=0)
    kk = np.tile(k, (points, 1))
    mm, kk = np.vstack([mm, mm]), np.vstack([kk, kk])
    cc = np.vstack([np.tile(lo[2 * n:], (points * points, 1)),
                    np.tile(hi[2 * n:], (points * points, 1))])
    u = np.abs(chain_receptance_batch(mm, kk, cc, np.asarray(omega, dtype=np.float64), floor))
    return u.min(axis=0), u.max(axis=0)


def draw_box(lo, hi, samples: int, rng: np.random.Generator,
             distribution: str = "uniform") -> np.ndarray:
    """(samples, p) parameter vectors inside the box, drawn once.

    uniform: independent and uniform on each interval. normal: Gaussian about the centre with
    sigma = half-width / 2, truncated to the interval (redrawn outside it).
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    if distribution == "uniform":
        return lo + (hi - lo) * rng.random((samples, lo.size))
    if distribution != "normal":
        raise ValueError(f"distribution must be uniform or normal, got {distribution!r}")
    z = rng.standard_normal((samples, lo.size))
    bad = np.abs(z) > 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return 0.5 * (lo + hi) + 0.25 * (hi - lo) * z


def sample_magnitudes(theta, omega, floor: int) -> np.ndarray:
    """|u| of every sample at every frequency: (samples, n_freq, N), m/N."""
    theta = np.asarray(theta, dtype=np.float64)
    n = theta.shape[1] // 3
    return np.abs(chain_receptance_batch(np.ascontiguousarray(theta[:, :n]),
                                         np.ascontiguousarray(theta[:, n:2 * n]),
                                         np.ascontiguousarray(theta[:, 2 * n:]),
                                         np.asarray(omega, dtype=np.float64), floor))


# ---------------------------------------------------------------------------------------------
# Harmonic response Monte Carlo (design under uncertainty)
# ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True)
def harmonic_response_batch(mass, stiffness, damping, force, omega):
    """Complex displacement amplitudes X (samples, N) of chains driven by force amplitudes.

    mass, stiffness, damping, force: (samples, N); omega: rad/s. Solves (K - w^2 M + j w C) X = F
    per sample by the Thomas algorithm (the chain's dynamic stiffness is tridiagonal).
    """
    ns, n = mass.shape
    out = np.empty((ns, n), dtype=np.complex128)
    for s in numba.prange(ns):
        kc = np.empty(n + 1, dtype=np.complex128)
        cp = np.empty(n, dtype=np.complex128)
        dp = np.empty(n, dtype=np.complex128)
        chain_thomas(mass[s], stiffness[s], damping[s], omega, force[s], kc, cp, dp, out[s])
    return out


def storey_shear(X, stiffness, damping, omega) -> np.ndarray:
    """Amplitude of the force through each storey, |(k_i + j w c_i)(X_i - X_{i-1})| (N).

    Uses the complex inter-storey drift (Cristallo took k_i (|X_i| - |X_{i-1}|), a difference of
    magnitudes, which is not a drift when the floors move out of phase).
    """
    drift = storey_drift(X)
    return np.abs((stiffness + 1j * omega * damping) * drift)


def gaussian_score(y, mu, sigma) -> tuple[np.ndarray, np.ndarray]:
    """d ln p / d mu and d ln p / d sigma of a normal density at samples y."""
    return (y - mu) / sigma**2, ((y - mu) ** 2 - sigma**2) / sigma**3


def gamma_score(y, shape, scale) -> tuple[np.ndarray, np.ndarray]:
    """d ln p / d kappa and d ln p / d theta of a Gamma(kappa, theta) density at samples y."""
    return np.log(y / scale) - scipy.special.digamma(shape), y / scale**2 - shape / scale


# ---------------------------------------------------------------------------------------------
# Fisher information of the joint output density
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fisher:
    """Empirical joint CDF of d outputs on a J^d grid, its sensitivities and the FIM."""

    grid: tuple[np.ndarray, ...]  # d axes of J points; array axis k is output k ('ij')
    cdf: np.ndarray  # (J,)*d: P(every output strictly below the grid point)
    cdf_sensitivity: np.ndarray  # (p, J, ..., J): dP / d b_j (score-function estimator)
    fim: np.ndarray  # (p, p)


def cumulative_counts(outputs, weights, n_grid: int):
    """Grid axes and sum over samples strictly below each grid point of the weights.

    outputs: (ns, d); weights: (ns, w). Each sample is binned at the first grid index along
    every axis whose value exceeds it, and a cumulative sum along every axis then counts it at
    every grid point above it: O(ns d + J^d w) instead of O(ns J^d).
    """
    y = np.asarray(outputs, dtype=np.float64)
    ns, d = y.shape
    grid = tuple(np.linspace(y[:, k].min(), y[:, k].max(), n_grid) for k in range(d))
    cell = np.stack([np.searchsorted(grid[k], y[:, k], side="right") for k in range(d)])
    keep = np.all(cell < n_grid, axis=0)  # a sample at an axis maximum is below no grid point
    flat = np.ravel_multi_index(tuple(cell[:, keep]), (n_grid,) * d)
    wt = np.asarray(weights, dtype=np.float64)[keep]
    acc = np.zeros((n_grid**d, wt.shape[1]))
    np.add.at(acc, flat, wt)
    acc = acc.reshape((n_grid,) * d + (wt.shape[1],))
    for axis in range(d):
        acc = np.cumsum(acc, axis=axis)
    return grid, np.moveaxis(acc, -1, 0)


def _mixed_derivative(a, grid):
    """d^d a / dx_1 ... dx_d on the grid, axis k paired with output k's spacing."""
    for axis, x in enumerate(grid):
        a = np.gradient(a, x, axis=axis)
    return a


def _integrate(a, grid):
    """Repeated trapezoid over the d grid axes (last first, each with its own spacing)."""
    for axis in range(len(grid) - 1, -1, -1):
        a = np.trapezoid(a, grid[axis], axis=axis)
    return a


def fisher_information(outputs, scores, n_grid: int, p_floor: float = 1e-10) -> Fisher:
    """Fisher information matrix of the outputs' joint density w.r.t. the input distributions.

    outputs: (ns, d) Monte Carlo outputs; scores: (ns, p) d ln p(inputs) / d b_j of the same
    samples. The CDF and its sensitivities dP/db_j = E[1(y < x) score_j] are estimated on a J^d
    grid, differentiated along every output axis into the density p and its sensitivities s_j,
    and F_jk = integral of s_j s_k / p dx. Cells whose density estimate is below p_floor (or
    negative, from differentiating an empirical CDF) carry no information and are left out.
    """
    y = np.asarray(outputs, dtype=np.float64)
    sc = np.asarray(scores, dtype=np.float64)
    ns = y.shape[0]
    grid, acc = cumulative_counts(y, np.column_stack([np.ones(ns), sc]), n_grid)
    acc /= ns
    cdf, dcdf = acc[0], acc[1:]
    pdf = _mixed_derivative(cdf, grid)
    sens = np.stack([_mixed_derivative(s, grid) for s in dcdf])
    ok = pdf > p_floor
    inv_p = np.where(ok, 1.0 / np.where(ok, pdf, 1.0), 0.0)
    p = sens.shape[0]
    fim = np.empty((p, p))
    for j in range(p):
        for k in range(j, p):
            fim[j, k] = fim[k, j] = _integrate(sens[j] * sens[k] * inv_p, grid)
    return Fisher(grid, cdf, dcdf, fim)
