"""Live state estimation: a steady-state Kalman filter on the structure's modal model.

Modal model (r of the N modes kept, mass-normalised shapes Phi_r, Gamma = Phi_r' M 1):

    q'' + C_m q' + Omega^2 q = -Gamma a_g,        C_m = Phi_r' C Phi_r (full: the damping
                                                  need not be proportional),
    u = Phi_r q (floors relative to the table),   a_abs = Phi_r q'' + a_g.

The input is the measured table acceleration a_g; the outputs are the floors' absolute
accelerations y = H z + D a_g with z = [q, q'], H = S Phi_r [-Omega^2, -C_m] and
D = S (1 - Phi_r Gamma) (zero when every mode is kept), S selecting the measured floors.
A structure driven instead by a measured force F at floor j on a fixed base (a building's roof
shaker) has q'' + C_m q' + Omega^2 q = Phi_r' e_j F and no ground motion, so the same filter runs
with the input column Phi_r' e_j and D = S Phi_r Phi_r' e_j (S M^-1 e_j with every mode kept:
a force accelerates its floor at once); u is then relative to the fixed ground.
Absolute accelerations make the displacements well observable: K u + C u' = -M a_abs, so the
floors' displacement is almost an algebraic function of what the accelerometers read.

The state equation is discretised exactly at the sample rate with a first-order hold on a_g
(physics.lti.discretise), so a_g[k-1] and a_g[k] carry the state from sample k-1 to k; both are
known when sample k arrives. Process noise is an error in the base acceleration (table sensor
noise, the model's error, unmeasured forces proportional to mass), held over each sample:
Q = sigma_p^2 G0 G0' (G0 of the base acceleration: with a force input too, the unmeasured part is
taken as forces in proportion to the floors' masses, as wind and ground noise are). Measurement noise R = sigma_a^2 I. The gain is the steady-state one from
the discrete algebraic Riccati equation, so each sample costs a few small mat-vec products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.linalg

from twin3d.physics.lti import discretise
from twin3d.physics.structure import LinearModel, modal_analysis


@dataclass(frozen=True)
class Estimator:
    """Everything the per-sample filter needs (arrays), plus what it was built from."""

    Phi: np.ndarray  # (2r, 2r) state transition over one sample
    G0: np.ndarray  # (2r,) input column for a_g[k-1] (first-order hold)
    G1: np.ndarray  # (2r,) input column for a_g[k] - a_g[k-1]
    H: np.ndarray  # (k, 2r) measured absolute accelerations from the modal state
    D: np.ndarray  # (k,) feedthrough of a_g into the measured accelerations
    L: np.ndarray  # (2r, k) steady-state Kalman gain (prior -> posterior)
    P: np.ndarray  # (2r, 2r) steady-state prior error covariance
    shapes: np.ndarray  # (N, r) mass-normalised mode shapes kept: u = shapes @ q
    frequencies_hz: np.ndarray  # (r,) natural frequencies of the kept modes
    measured_floors: tuple[int, ...]  # 1-based floors whose accelerometers feed the filter
    fs: float  # sample rate, Hz

    @property
    def n_floors(self) -> int:
        return self.shapes.shape[0]

    @property
    def n_modes(self) -> int:
        return self.shapes.shape[1]


def modal_state_space(model: LinearModel, measured_floors, n_modes: int | None = None,
                      force_floor: int | None = None):
    """(A, B, H, D, shapes, frequencies, floors, B_noise) of the modal model with input a_g, or
    with a force at floor `force_floor` (see module doc); B_noise: the base acceleration's
    column, the direction of the process noise."""
    modes = modal_analysis(model)
    n = model.n
    r = n if n_modes is None else int(n_modes)
    if not 1 <= r <= n:
        raise ValueError(f"n_modes must be 1..{n}, got {n_modes!r}")
    floors = tuple(int(f) for f in measured_floors)
    if not floors or len(set(floors)) != len(floors) or not all(1 <= f <= n for f in floors):
        raise ValueError(f"measured_floors must be distinct floors 1..{n}, got {measured_floors!r}")
    shapes = modes.shapes[:, :r]
    omega2 = np.diag((2 * np.pi * modes.frequencies_hz[:r]) ** 2)
    Cm = shapes.T @ model.C @ shapes
    gamma = shapes.T @ model.M @ np.ones(n)
    A = np.zeros((2 * r, 2 * r))
    A[:r, r:] = np.eye(r)
    A[r:, :r] = -omega2
    A[r:, r:] = -Cm
    B_noise = np.zeros((2 * r, 1))
    B_noise[r:, 0] = -gamma
    S = shapes[[f - 1 for f in floors]]
    H = S @ np.hstack([-omega2, -Cm])
    if force_floor is None:
        B, D = B_noise, 1.0 - S @ gamma
    else:
        if not 1 <= int(force_floor) <= n:
            raise ValueError(f"force_floor must be a floor 1..{n}, got {force_floor!r}")
        g = shapes[int(force_floor) - 1]  # Phi_r' e_j: the force's modal participation
        B = np.zeros((2 * r, 1))
        B[r:, 0] = g
        D = S @ g
    return A, B, H, D, shapes, modes.frequencies_hz[:r], floors, B_noise


def build_estimator(model: LinearModel, fs: float, measured_floors=(1, 2, 3),
                    accel_noise_rms: float = 0.003, process_noise_rms: float = 0.05,
                    n_modes: int | None = None, force_floor: int | None = None) -> Estimator:
    """Steady-state Kalman filter for `model` sampled at fs (Hz).

    Parameters
    ----------
    model : LinearModel
        The twin's structural model.
    fs : float
        Sample rate of the table and floor accelerations (Hz).
    measured_floors : tuple of int
        1-based floors carrying an accelerometer, in the column order of `floor_acc`.
    accel_noise_rms : float
        Floor accelerometer noise rms (m/s^2), > 0: the scene's sensors' noise_rms.
    process_noise_rms : float
        Rms of the per-sample error of the base acceleration the model is driven with (m/s^2),
        > 0: table sensor noise plus model error. Larger trusts the floor sensors more.
    n_modes : int, optional
        Modes kept (the lowest ones); all N by default.
    force_floor : int, optional
        The input is a force (N) at this 1-based floor on a fixed base, not the table's
        acceleration; `estimate`'s `table_acc` then carries that force.
    """
    fs = float(fs)
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be > 0 Hz, got {fs!r}")
    for name, v in (("accel_noise_rms", accel_noise_rms),
                    ("process_noise_rms", process_noise_rms)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be finite and > 0, got {v!r}")
    A, B, H, D, shapes, freqs, floors, B_noise = modal_state_space(model, measured_floors,
                                                                   n_modes, force_floor)
    d = discretise(A, B, 1.0 / fs, "foh")
    g_noise = d.G0 if force_floor is None else discretise(A, B_noise, 1.0 / fs, "foh").G0
    Q = process_noise_rms**2 * (g_noise @ g_noise.T)
    R = accel_noise_rms**2 * np.eye(len(floors))
    # Filter DARE: the control DARE of the dual pair (Phi', H'); P is the prior covariance.
    P = scipy.linalg.solve_discrete_are(d.Phi.T, H.T, Q, R)
    P = 0.5 * (P + P.T)
    L = P @ H.T @ np.linalg.inv(H @ P @ H.T + R)
    c = np.ascontiguousarray
    return Estimator(c(d.Phi), c(d.G0[:, 0]), c(d.G1[:, 0]), c(H), c(D), c(L), P, c(shapes),
                     freqs, floors, fs)


def initial_state(est: Estimator) -> np.ndarray:
    """Filter state [q, q', a_g of the previous sample]: at rest, no previous sample (NaN)."""
    x = np.zeros(2 * est.n_modes + 1)
    x[-1] = np.nan
    return x


@numba.njit(cache=True)
def filter_block(Phi, G0, G1, H, D, L, shapes, x, ag, y, u_out, v_out):
    """Run the steady-state filter over a block, updating x = [q, q', a_g prev] in place.

    Per sample k: predict with a_g[k-1], a_g[k] (exact first-order hold), correct with the
    innovation y[k] - H z - D a_g[k] unless a floor reading is NaN (a dropped channel: the
    prediction is kept), then map q, q' to floor displacements and velocities. A NaN table
    sample holds the previous one.
    """
    m = Phi.shape[0]
    r = m // 2
    nk = y.shape[1]
    nf = shapes.shape[0]
    z = np.empty(m)
    zn = np.empty(m)
    e = np.empty(nk)
    for i in range(m):
        z[i] = x[i]
    wp = x[m]
    for k in range(ag.shape[0]):
        wk = ag[k]
        if np.isnan(wk):
            wk = 0.0 if np.isnan(wp) else wp
        if np.isnan(wp):
            wp = wk
        dw = wk - wp
        for i in range(m):
            acc = G0[i] * wp + G1[i] * dw
            for j in range(m):
                acc += Phi[i, j] * z[j]
            zn[i] = acc
        ok = True
        for j in range(nk):
            if np.isnan(y[k, j]):
                ok = False
        if ok:
            for j in range(nk):
                acc = y[k, j] - D[j] * wk
                for i in range(m):
                    acc -= H[j, i] * zn[i]
                e[j] = acc
            for i in range(m):
                acc = zn[i]
                for j in range(nk):
                    acc += L[i, j] * e[j]
                zn[i] = acc
        for i in range(m):
            z[i] = zn[i]
        for f in range(nf):
            su = 0.0
            sv = 0.0
            for i in range(r):
                su += shapes[f, i] * z[i]
                sv += shapes[f, i] * z[r + i]
            u_out[k, f] = su
            v_out[k, f] = sv
        wp = wk
    for i in range(m):
        x[i] = z[i]
    x[m] = wp


def estimate(est: Estimator, state: np.ndarray, table_acc, floor_acc
             ) -> tuple[np.ndarray, np.ndarray]:
    """Filter a block of new samples; `state` (from initial_state) is updated in place.

    Parameters
    ----------
    table_acc : (n,) array
        Measured table acceleration (m/s^2).
    floor_acc : (n, k) array
        Measured absolute floor accelerations (m/s^2), one column per measured floor in
        est.measured_floors order; NaN marks a dropped sample.

    Returns
    -------
    floor_disp, floor_vel : (n, N) arrays
        Posterior floor displacements (m) and velocities (m/s) relative to the table.
    """
    ag = np.ascontiguousarray(table_acc, dtype=np.float64).reshape(-1)
    y = np.asarray(floor_acc, dtype=np.float64)
    k = len(est.measured_floors)
    if y.ndim == 1 and k == 1:
        y = y[:, None]
    if y.shape != (ag.size, k):
        raise ValueError(f"floor_acc must have shape ({ag.size}, {k}) for table_acc of "
                         f"{ag.size} samples and floors {est.measured_floors}, got {y.shape}")
    if state.shape != (2 * est.n_modes + 1,):
        raise ValueError(f"state must come from initial_state(est): shape "
                         f"({2 * est.n_modes + 1},), got {state.shape}")
    u = np.empty((ag.size, est.n_floors))
    v = np.empty((ag.size, est.n_floors))
    filter_block(est.Phi, est.G0, est.G1, est.H, est.D, est.L, est.shapes, state, ag,
                 np.ascontiguousarray(y), u, v)
    return u, v
