"""Active and passive vibration control of the shear frame: closed-loop models and metrics.

The device on floor n is the rig's inertial (voice-coil) actuator or, without a coil, a tuned
mass damper: a base mass m_b fixed to the floor and a proof mass m_p on a spring k_p and a
damper c_p. The coil pushes the pair with force Bl i (+ on the floor, - on the proof mass). The
state is x = [u_1..u_N, z_p, u_1'..u_N', z_p'] (Cristallo's order), displacements relative to
the base. With a current amplifier the coil's resistance and inductance do not enter the
mechanics; the resistance only sets the electrical power R i^2.

Controllers (i in A, floor velocity v_n in m/s):
    DVF         i = -h v_n                       (direct velocity feedback, h in A/(m/s))
    DVF + EC    i = -h C_p(s) v_n,  C_p = (s^2 + 2 xh wh s + wh^2) / (s^2 + 2 xc wc s + wc^2)
    LQG         i = -K xhat, xhat from a Kalman filter on a measured output.
Every closed loop is returned as (A, B, c_i): x' = A x + B f for primary floor forces f, and
the coil current i = c_i x. Stability comes from the closed-loop eigenvalues; a critical gain
is the smallest gain at which the largest real part of those eigenvalues reaches zero.

Kinetic-energy metric (Cristallo's): for a harmonic primary force of unit amplitude, the
time-averaged kinetic energy of the floors T(w) = 1/4 v^H M_s v (J per N^2, M_s including the
device's base mass, proof mass excluded), integrated over w in rad/s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from twin3d.physics.params import ActuatorParams
from twin3d.physics.structure import LinearModel, with_oscillator


@dataclass(frozen=True)
class Plant:
    """Structure plus device in first-order form; m = N + 1 degrees of freedom."""

    A: np.ndarray  # (2m, 2m)
    b_current: np.ndarray  # (2m,) x' per A of coil current (Bl included)
    b_force: np.ndarray  # (2m, N) x' per N of primary force on each floor
    c_vel: np.ndarray  # (2m,) row picking the co-located (device floor) velocity
    floor_mass: np.ndarray  # (N, N) floor mass matrix with the device's base mass
    n: int  # floors
    velocity_index: np.ndarray  # state indices of the N floor velocities


def plant(model: LinearModel, act: ActuatorParams) -> Plant:
    """First-order model of the structure with the device of `act` on floor act.floor."""
    n = model.n
    if not 1 <= act.floor <= n:
        raise ValueError(f"actuator floor must be 1..{n}, got {act.floor}")
    f = act.floor - 1
    m = n + 1
    full = with_oscillator(model, act.floor, act.base_mass_kg, act.proof_mass_kg,
                           act.stiffness_n_per_m, act.damping_ns_per_m)
    M, K, C = full.M, full.K, full.C
    Ms = M[:n, :n].copy()
    pair = np.zeros(m)  # the coil acts on floor f and the proof mass, as the suspension does
    pair[f], pair[n] = 1.0, -1.0
    Minv = np.linalg.inv(M)
    A = np.zeros((2 * m, 2 * m))
    A[:m, m:] = np.eye(m)
    A[m:, :m] = -Minv @ K
    A[m:, m:] = -Minv @ C
    b_current = np.zeros(2 * m)
    b_current[m:] = Minv @ pair * act.force_factor_n_per_a
    b_force = np.zeros((2 * m, n))
    b_force[m:, :] = Minv[:, :n]
    c_vel = np.zeros(2 * m)
    c_vel[m + f] = 1.0
    return Plant(A, b_current, b_force, c_vel, Ms, n, np.arange(n) + m)


def bare(model: LinearModel) -> Plant:
    """The structure alone (no device) in the same form, for the uncontrolled reference."""
    n = model.n
    A, B = model.state_matrices()
    return Plant(A, np.zeros(2 * n), B[:, :n], np.zeros(2 * n), model.M.copy(), n,
                 np.arange(n) + n)


# ---------------------------------------------------------------------------------------------
# Closed loops
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClosedLoop:
    A: np.ndarray  # closed-loop state matrix
    B: np.ndarray  # (ns, N) primary floor forces in
    c_current: np.ndarray  # (ns,) coil current out, A
    velocity_index: np.ndarray  # states holding the floor velocities
    floor_mass: np.ndarray


def passive_loop(p: Plant) -> ClosedLoop:
    """No feedback: the bare structure, or the TMD (device without current)."""
    return ClosedLoop(p.A, p.b_force, np.zeros(p.A.shape[0]), p.velocity_index, p.floor_mass)


def dvf_loop(p: Plant, gain: float) -> ClosedLoop:
    """Direct velocity feedback i = -h v_n (h = gain in A per m/s)."""
    c_i = -gain * p.c_vel
    return ClosedLoop(p.A + np.outer(p.b_current, c_i), p.b_force, c_i, p.velocity_index,
                      p.floor_mass)


def compensator(wh: float, xh: float, wc: float, xc: float):
    """State space (a, b, c, d) of C_p(s) = (s^2 + 2 xh wh s + wh^2)/(s^2 + 2 xc wc s + wc^2).

    Frequencies in rad/s, damping ratios as fractions. Controllable canonical form.
    """
    a = np.array([[0.0, 1.0], [-wc * wc, -2 * xc * wc]])
    b = np.array([0.0, 1.0])
    # C_p = 1 + ((wh^2 - wc^2) + 2 (xh wh - xc wc) s) / den
    c = np.array([wh * wh - wc * wc, 2 * (xh * wh - xc * wc)])
    return a, b, c, 1.0


def compensator_frf(omega: np.ndarray, wh: float, xh: float, wc: float, xc: float) -> np.ndarray:
    s = 1j * np.asarray(omega)
    return (s * s + 2 * xh * wh * s + wh * wh) / (s * s + 2 * xc * wc * s + wc * wc)


def dvf_ec_loop(p: Plant, gain: float, comp: tuple[float, float, float, float]) -> ClosedLoop:
    """DVF through the compensator: i = -h C_p(s) v_n; two compensator states appended."""
    a, b, c, d = compensator(*comp)
    ns = p.A.shape[0]
    A = np.zeros((ns + 2, ns + 2))
    c_i = np.zeros(ns + 2)
    c_i[:ns] = -gain * d * p.c_vel
    c_i[ns:] = -gain * c
    A[:ns, :ns] = p.A
    A[ns:, :ns] = np.outer(b, p.c_vel)
    A[ns:, ns:] = a
    A[:ns, :] += np.outer(p.b_current, c_i)
    B = np.vstack([p.b_force, np.zeros((2, p.n))])
    return ClosedLoop(A, B, c_i, p.velocity_index, p.floor_mass)


def lqr_gain(A: np.ndarray, b: np.ndarray, Q: np.ndarray, r: float) -> np.ndarray:
    """State-feedback row K minimising int x'Qx + r u^2 for x' = A x + b u (u = -K x)."""
    P = scipy.linalg.solve_continuous_are(A, b[:, None], Q, np.array([[r]]))
    return (b @ P) / r


def kalman_gain(A: np.ndarray, G: np.ndarray, c: np.ndarray, qn: float, rn: float) -> np.ndarray:
    """Steady Kalman gain column L for x' = A x + G w, y = c x + v, E ww' = qn I, E vv = rn."""
    P = scipy.linalg.solve_continuous_are(A.T, c[:, None], qn * G @ G.T, np.array([[rn]]))
    return P @ c / rn


def lqg_loop(p: Plant, K: np.ndarray, L: np.ndarray, c_meas: np.ndarray,
             b_apply: np.ndarray | None = None, disturbance: np.ndarray | None = None,
             loop_gain: float = 1.0) -> ClosedLoop:
    """Plant with an observer-based controller i = -K xhat, xhat' = A xhat + b i + L(y - c xhat).

    b_apply: how the current enters the plant (default p.b_current); loop_gain scales the
    current reaching the plant only (the observer assumes the nominal one), for margins.
    disturbance: (ns, k) input columns (default the primary floor forces).
    """
    b = p.b_current if b_apply is None else b_apply
    Bd = p.b_force if disturbance is None else disturbance
    ns = p.A.shape[0]
    A = np.zeros((2 * ns, 2 * ns))
    A[:ns, :ns] = p.A
    A[:ns, ns:] = -loop_gain * np.outer(b, K)
    A[ns:, :ns] = np.outer(L, c_meas)
    A[ns:, ns:] = p.A - np.outer(b, K) - np.outer(L, c_meas)
    c_i = np.concatenate([np.zeros(ns), -K])
    B = np.vstack([Bd, np.zeros_like(Bd)])
    return ClosedLoop(A, B, c_i, p.velocity_index, p.floor_mass)


def lqg_design(p: Plant, q: float, r: float, qn: float, rn: float):
    """LQR and Kalman gains of the twin's LQG (Cristallo's weights, corrected signals).

    LQR: Q = q I on the structure's states (proof-mass states unweighted), R = r on the coil
    current (A^2). Kalman filter: measures the co-located floor velocity; process noise qn
    enters through the primary force on floor 1 and through the coil; measurement noise rn.
    Returns (K, L).
    """
    ns = p.A.shape[0]
    m = ns // 2
    w = np.ones(ns)
    w[m - 1] = w[ns - 1] = 0.0
    K = lqr_gain(p.A, p.b_current, q * np.diag(w), r)
    G = np.column_stack([p.b_current, p.b_force[:, 0]])
    L = kalman_gain(p.A, G, p.c_vel, qn, rn)
    return K, L


# ---------------------------------------------------------------------------------------------
# Stability
# ---------------------------------------------------------------------------------------------

def spectral_abscissa(A: np.ndarray) -> float:
    """Largest real part of the eigenvalues of A, 1/s (< 0: asymptotically stable)."""
    return float(np.max(np.linalg.eigvals(A).real))


def critical_value(loop_matrix: Callable[[float], np.ndarray], g_max: float,
                   n_grid: int = 240) -> float:
    """Smallest g in (0, g_max] at which loop_matrix(g) stops being stable; inf if none.

    The spectral abscissa is continuous in g: it is scanned on a log grid and its zero
    bracketed by the last stable and first unstable point is refined with Brent's method.
    Returns 0 when the loop is already unstable at g = 0.
    """
    if spectral_abscissa(loop_matrix(0.0)) >= 0.0:
        return 0.0
    grid = np.geomspace(g_max * 1e-6, g_max, n_grid)
    prev = 0.0
    for g in grid:
        if spectral_abscissa(loop_matrix(g)) > 0.0:
            return float(scipy.optimize.brentq(lambda x: spectral_abscissa(loop_matrix(x)),
                                               prev, g, xtol=1e-12 * g, rtol=1e-12))
        prev = g
    return float("inf")


def dvf_closed_loop_eigenvalues(model: LinearModel, act: ActuatorParams,
                                gain: float) -> np.ndarray:
    """Eigenvalues (1/s) of structure + inertial actuator under DVF i = -gain * v_floor.

    gain in A per m/s of the actuator floor's velocity; the linear loop, current unclipped.
    """
    return np.linalg.eigvals(dvf_loop(plant(model, act), gain).A)


def dvf_critical_gain(model: LinearModel, act: ActuatorParams, g_max: float = 1e3) -> float:
    """Smallest DVF gain (A per m/s) that makes the closed loop unstable; inf if none <= g_max.

    With the inertial actuator the co-located loop is only conditionally stable: below the
    actuator's suspension resonance the proof mass lags, the coil force turns from damping
    into negative damping, and a large enough gain drives a structural mode unstable.
    """
    p = plant(model, act)
    return critical_value(lambda g: dvf_loop(p, g).A, g_max)


# ---------------------------------------------------------------------------------------------
# Frequency responses and metrics
# ---------------------------------------------------------------------------------------------

def state_frf(A: np.ndarray, B: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """(jw I - A)^-1 B for every w (rad/s): complex (n_freq, ns, k)."""
    ns = A.shape[0]
    Z = 1j * omega[:, None, None] * np.eye(ns)[None] - A[None]
    return np.linalg.solve(Z, np.broadcast_to(B.astype(complex), (omega.size,) + B.shape))


@dataclass(frozen=True)
class EnergyResponse:
    kinetic_energy: np.ndarray  # T(w), J per N^2 of force amplitude
    current: np.ndarray  # |i(w)|, A per N
    integral: float  # int T dw over the grid, J rad/s per N^2


def energy_response(loop: ClosedLoop, omega: np.ndarray, floor: int = 1) -> EnergyResponse:
    """Kinetic energy and coil current for a unit harmonic force on `floor` (1-based)."""
    x = state_frf(loop.A, loop.B[:, floor - 1:floor], omega)[..., 0]
    v = x[:, loop.velocity_index]
    T = 0.25 * np.einsum("fi,ij,fj->f", v.conj(), loop.floor_mass, v).real
    cur = np.abs(x @ loop.c_current)
    return EnergyResponse(T, cur, float(np.trapezoid(T, omega)))


def ke_reduction_db(controlled: float, uncontrolled: float) -> float:
    """10 log10 of the ratio of the energy integrals (an energy ratio: 10, not 20, log)."""
    return float(-10.0 * np.log10(controlled / uncontrolled))


def control_effort(current: np.ndarray, omega: np.ndarray, resistance_ohm: float) -> float:
    """R int |i(w)|^2 dw: coil power per unit force squared, integrated over w (rad/s).

    Cristallo's DVF figure is twice this (it summed the force pair, bug 13.2)."""
    return float(resistance_ohm * np.trapezoid(current**2, omega))


def colocated_loop(p: Plant, omega: np.ndarray, comp=None) -> np.ndarray:
    """Open-loop v_n / i of the co-located loop (m/s per A), times C_p if a compensator is given.

    With DVF the loop transfer is L(jw) = h * this; the loop closes with a minus sign, so the
    Nyquist critical point is -1.
    """
    g = state_frf(p.A, p.b_current[:, None], omega)[:, :, 0] @ p.c_vel
    if comp is not None:
        g = g * compensator_frf(omega, *comp)
    return g


def nyquist_gain_margin(loop: np.ndarray) -> tuple[float, float]:
    """(gain margin factor, index) from a Nyquist curve sampled densely in frequency.

    Crossings of the negative real axis are located between samples (linear interpolation
    of Im L); with a stable open loop the closed loop first goes unstable at the crossing
    farthest from the origin, so the margin is 1 / max |L| over those crossings (inf if none).
    """
    im = loop.imag
    idx = np.nonzero((im[:-1] * im[1:] <= 0) & (im[:-1] != im[1:]))[0]
    best, where = np.inf, -1
    for k in idx:
        t = im[k] / (im[k] - im[k + 1])
        re = loop.real[k] + t * (loop.real[k + 1] - loop.real[k])
        if re < 0 and 1.0 / -re < best:
            best, where = 1.0 / -re, int(k)
    return best, where
