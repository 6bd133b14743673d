"""Linear structural model of an N-storey shear frame: matrices, modes and FRFs.

Coordinates are floor displacements relative to the base (slip table), floors numbered
1 (bottom) to N (top), SI units throughout. With base acceleration a_g the equations are

    M u'' + C u' + K u = f(t) - M 1 a_g(t),

and the floors' absolute acceleration, what an accelerometer measures, is u'' + a_g.
A force at a floor, and a base that is a degree of freedom of its own (free on rails or
sprung), are in `shear_frame.py`, which builds on these matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.linalg


def chain_matrix(storey: np.ndarray) -> np.ndarray:
    """Chain (tridiagonal) matrix of storey values a_1..a_N; a_1 ties floor 1 to the base."""
    a = np.asarray(storey, dtype=np.float64)
    n = a.size
    out = np.zeros((n, n))
    for i in range(n):
        out[i, i] = a[i] + (a[i + 1] if i + 1 < n else 0.0)
        if i + 1 < n:
            out[i, i + 1] = out[i + 1, i] = -a[i + 1]
    return out


def storey_drift(u) -> np.ndarray:
    """Inter-storey drift d_i = u_i - u_{i-1} along the last axis, with u_0 = 0 (the table).

    u holds floor displacements relative to the table, (..., n): one state, a time history or
    complex amplitudes (then the drift is the complex difference, right when floors move out of
    phase). Returns the same shape.
    """
    return np.diff(u, axis=-1, prepend=0.0)


@dataclass(frozen=True)
class LinearModel:
    """M, C, K of a linear structure (kg, N s/m, N/m), plus storey values when it is a chain."""

    M: np.ndarray
    C: np.ndarray
    K: np.ndarray

    @property
    def n(self) -> int:
        return self.M.shape[0]

    @classmethod
    def chain(cls, mass_kg, stiffness_n_per_m, damping_ns_per_m) -> LinearModel:
        return cls(M=np.diag(np.asarray(mass_kg, dtype=np.float64)),
                   C=chain_matrix(damping_ns_per_m), K=chain_matrix(stiffness_n_per_m))

    def state_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """First-order form x' = A x + B w with x = [u, u'] and w = [f_1..f_N, a_g]."""
        n = self.n
        Minv = np.linalg.inv(self.M)
        A = np.zeros((2 * n, 2 * n))
        A[:n, n:] = np.eye(n)
        A[n:, :n] = -Minv @ self.K
        A[n:, n:] = -Minv @ self.C
        B = np.zeros((2 * n, n + 1))
        B[n:, :n] = Minv
        B[n:, n] = -1.0  # -M^-1 M 1 a_g
        return A, B


def with_oscillator(model: LinearModel, floor: int, base_mass_kg: float, mass_kg: float,
                    stiffness_n_per_m: float, damping_ns_per_m: float) -> LinearModel:
    """The structure carrying a device on `floor` (1-based): its base mass adds to the floor,
    its moving mass is one more degree of freedom (the last), hung from that floor by a spring
    and a damper. An inertial actuator with its coil open is exactly this; tuned near a mode
    it splits that mode in two (the lab's 6.5 Hz actuator splits mode 1)."""
    n = model.n
    if not 1 <= floor <= n:
        raise ValueError(f"device floor must be 1..{n}, got {floor}")
    f = floor - 1
    M = np.zeros((n + 1, n + 1))
    M[:n, :n] = model.M
    M[f, f] += base_mass_kg
    M[n, n] = mass_kg
    pair = np.zeros(n + 1)  # the spring and damper act between the floor and the moving mass
    pair[f], pair[n] = 1.0, -1.0
    K = np.zeros((n + 1, n + 1))
    C = np.zeros((n + 1, n + 1))
    K[:n, :n], C[:n, :n] = model.K, model.C
    return LinearModel(M=M, C=C + damping_ns_per_m * np.outer(pair, pair),
                       K=K + stiffness_n_per_m * np.outer(pair, pair))


@dataclass(frozen=True)
class Modes:
    """Undamped natural frequencies, damping ratios and mass-normalised mode shapes."""

    frequencies_hz: np.ndarray  # (N,)
    damping_ratios: np.ndarray  # (N,), from the complex eigenvalues of the damped system
    shapes: np.ndarray  # (N, N): column r is mode r, with shapes.T @ M @ shapes = I
    damped_frequencies_hz: np.ndarray


def modal_analysis(model: LinearModel) -> Modes:
    """Modes of (M, C, K).

    Frequencies and shapes come from the undamped problem K phi = w^2 M phi. Damping ratios come
    from the damped system's eigenvalues lambda = -zeta w +- j w sqrt(1 - zeta^2), which is exact
    for non-proportional damping too; each complex pair is matched to the undamped mode whose
    frequency is nearest (the damping here is light, so the order is preserved).
    """
    w2, phi = scipy.linalg.eigh(model.K, model.M)
    w = np.sqrt(np.clip(w2, 0.0, None))
    # Sign convention: the largest-magnitude entry of each shape is positive.
    for r in range(phi.shape[1]):
        if phi[np.argmax(np.abs(phi[:, r])), r] < 0:
            phi[:, r] *= -1.0
    A, _ = model.state_matrices()
    lam = np.linalg.eigvals(A)
    lam = lam[lam.imag > 0]
    zeta = np.full(model.n, np.nan)
    wd = np.full(model.n, np.nan)
    # a rigid-body mode (free base) has no oscillatory pair: 0 Hz, damping undefined
    rigid = w2 <= 1e-9 * max(float(np.max(np.abs(w2))), 1e-300)
    w[rigid] = 0.0
    wd[rigid] = 0.0
    for r in range(model.n):
        if rigid[r]:
            continue
        if lam.size == 0:
            break  # overdamped: no oscillatory pair left
        k = int(np.argmin(np.abs(np.abs(lam) - w[r])))
        zeta[r] = -lam[k].real / abs(lam[k])
        wd[r] = lam[k].imag
        lam = np.delete(lam, k)
    return Modes(w / (2 * np.pi), zeta, phi, wd / (2 * np.pi))


def rayleigh_damping(M: np.ndarray, K: np.ndarray, zeta: float, modes=(1, 2)) -> np.ndarray:
    """C = alpha M + beta K with damping ratio zeta on the two given modes (1-based)."""
    w = np.sqrt(scipy.linalg.eigh(K, M, eigvals_only=True))
    w1, w2 = w[modes[0] - 1], w[modes[1] - 1]
    alpha = 2 * zeta * w1 * w2 / (w1 + w2)
    beta = 2 * zeta / (w1 + w2)
    return alpha * M + beta * K


def leg_storey_stiffness(e_pa: float, width_m: float, thickness_m: float, length_m: float,
                         n_legs: int = 4) -> float:
    """Storey stiffness of n clamped-guided legs bending about their thin axis: n 12 E I / L^3."""
    second_moment = width_m * thickness_m**3 / 12.0
    return n_legs * 12.0 * e_pa * second_moment / length_m**3


# ---------------------------------------------------------------------------------------------
# Frequency response functions
# ---------------------------------------------------------------------------------------------

_OUTPUT_POWER = {"displacement": 0, "velocity": 1, "accelerance": 2}


def frf(model: LinearModel, frequency_hz, excitation: str | int = 1,
        output: str = "displacement") -> np.ndarray:
    """FRF matrix of shape (n_freq, N): response of every floor to a unit harmonic input.

    excitation: a floor number 1..N (unit force there, N), or "base" (unit base acceleration,
    m/s^2). output: "displacement", "velocity" or "accelerance". For a force these are the
    receptance (m/N), mobility (m/s/N) and accelerance (m/s^2/N). For base excitation the
    displacement and velocity are relative to the base (what drives the storey drifts), per
    m/s^2 of base acceleration, and the accelerance is the floors' absolute acceleration per
    unit base acceleration (the transmissibility an accelerometer sees).
    """
    if output not in _OUTPUT_POWER:
        raise ValueError(f"output must be one of {sorted(_OUTPUT_POWER)}, got {output!r}")
    w = 2 * np.pi * np.atleast_1d(np.asarray(frequency_hz, dtype=np.float64))
    n = model.n
    if excitation == "base":
        load = -model.M @ np.ones(n)
    else:
        floor = int(excitation)
        if not 1 <= floor <= n:
            raise ValueError(f"excitation floor must be 1..{n}, got {excitation}")
        load = np.zeros(n)
        load[floor - 1] = 1.0
    # Dynamic stiffness D(w) = K - w^2 M + j w C, stacked over frequency and solved at once.
    D = (model.K[None] - (w**2)[:, None, None] * model.M[None]
         + 1j * w[:, None, None] * model.C[None])
    x = np.linalg.solve(D, np.broadcast_to(load.astype(complex), (w.size, n))[..., None])[..., 0]
    out = x * (1j * w[:, None]) ** _OUTPUT_POWER[output]
    if excitation == "base" and output == "accelerance":
        out = out + 1.0  # absolute = relative + base
    return out


@numba.njit(cache=True, inline="always")
def chain_thomas(mass, stiffness, damping, w, rhs, kc, cp, dp, out):
    """Solve one chain's (K - w^2 M + j w C) x = rhs into `out` by the Thomas algorithm.

    mass, stiffness, damping, rhs: (N,) rows; kc (N+1), cp and dp (N): complex scratch.
    Row i is -kc[i] x_{i-1} + (kc[i] + kc[i+1] - w^2 m_i) x_i - kc[i+1] x_{i+1} = rhs_i with
    kc[i] = k_i + j w c_i the complex storey stiffness and kc[N] = 0 (free top)."""
    n = mass.size
    for i in range(n):
        kc[i] = stiffness[i] + 1j * w * damping[i]
    kc[n] = 0.0
    prev_c = 0.0j
    prev_d = 0.0j
    for i in range(n):  # forward sweep
        inv = 1.0 / (kc[i] + kc[i + 1] - w * w * mass[i] + kc[i] * prev_c)
        cp[i] = -kc[i + 1] * inv
        dp[i] = (rhs[i] + kc[i] * prev_d) * inv
        prev_c = cp[i]
        prev_d = dp[i]
    x = dp[n - 1]
    out[n - 1] = x
    for i in range(n - 2, -1, -1):  # back substitution
        x = dp[i] - cp[i] * x
        out[i] = x


@numba.njit(cache=True, parallel=True, fastmath=True)
def chain_receptance_batch(mass, stiffness, damping, omega, floor):
    """Receptance X_i / F of many chain models at many frequencies, by the Thomas algorithm.

    mass, stiffness, damping: (n_samples, N) storey values; omega: (n_freq,) rad/s;
    floor: 0-based index of the unit force. Returns complex (n_samples, n_freq, N).
    A chain's dynamic stiffness is tridiagonal, so each solve costs O(N) instead of O(N^3);
    samples are spread over the cores.
    """
    ns, n = mass.shape
    nf = omega.size
    out = np.empty((ns, nf, n), dtype=np.complex128)
    for s in numba.prange(ns):
        kc = np.empty(n + 1, dtype=np.complex128)
        cp = np.empty(n, dtype=np.complex128)
        dp = np.empty(n, dtype=np.complex128)
        rhs = np.zeros(n)
        rhs[floor] = 1.0
        for f in range(nf):
            chain_thomas(mass[s], stiffness[s], damping[s], omega[f], rhs, kc, cp, dp,
                         out[s, f])
    return out
