"""Time response of the structure to floor forces and base acceleration, linear or cubic."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.physics.lti import simulate
from twin3d.physics.nonlinear import integrate_cubic
from twin3d.physics.structure import LinearModel, storey_drift


@dataclass(frozen=True)
class Response:
    t: np.ndarray  # (K,) s
    u: np.ndarray  # (K, N) floor displacement relative to the base, m
    v: np.ndarray  # (K, N) relative velocity, m/s
    a_abs: np.ndarray  # (K, N) absolute floor acceleration, m/s^2 (what accelerometers read)

    @property
    def drift(self) -> np.ndarray:
        """Inter-storey drift (K, N): u_i - u_{i-1}, with u_0 = 0 for the base."""
        return storey_drift(self.u)


def _inputs(model: LinearModel, n_steps: int, forces, base_acc):
    """Input columns actually present, and their indices in w = [f_1..f_N, a_g]."""
    cols, used = [], []
    if forces is not None:
        f = np.asarray(forces, dtype=np.float64)
        f = f.reshape(n_steps, -1) if f.ndim > 1 else np.column_stack(
            [f] + [np.zeros(n_steps)] * (model.n - 1))  # a single history acts on floor 1
        cols.append(f)
        used.extend(range(model.n))
    if base_acc is not None:
        cols.append(np.asarray(base_acc, dtype=np.float64).reshape(n_steps, 1))
        used.append(model.n)
    if not cols:  # free vibration
        return np.zeros((n_steps, 1)), [model.n]
    return np.ascontiguousarray(np.hstack(cols)), used


def _assemble(model, dt, X, w, used, k3=None) -> Response:
    """Accelerations from the state equations' lower rows; absolute = relative + a_g."""
    n = model.n
    A, B = model.state_matrices()
    acc = X @ A[n:].T + w @ B[n:, used].T
    if k3 is not None:
        d = storey_drift(X[:, :n])
        s = k3 * d**3
        g = -s
        g[:, :-1] += s[:, 1:]
        acc += g @ np.linalg.inv(model.M).T
    if n in used:
        acc += w[:, used.index(n)][:, None]
    t = np.arange(X.shape[0]) * dt
    return Response(t, X[:, :n], X[:, n:], acc)


def linear_response(model: LinearModel, dt: float, n_steps: int, forces=None, base_acc=None,
                    x0=None) -> Response:
    """Exact (matrix-exponential, first-order hold) response on the grid k dt, k < n_steps.

    forces: (n_steps, N) floor forces in N, or (n_steps,) for floor 1 alone; base_acc:
    (n_steps,) table acceleration in m/s^2; x0: initial [u, u'] (2N,).
    """
    A, B = model.state_matrices()
    w, used = _inputs(model, n_steps, forces, base_acc)
    X = simulate(A, B[:, used], w, dt, x0)
    return _assemble(model, dt, X, w, used)


def cubic_response(model: LinearModel, cubic_n_per_m3, dt: float, n_steps: int, forces=None,
                   base_acc=None, x0=None, rtol: float = 1e-8, atol: float = 1e-12
                   ) -> tuple[Response, dict]:
    """Response with cubic storey springs k3_i d_i^3 added to (M, C, K), error-controlled.

    Returns the response and the integrator's statistics (accepted and rejected steps).
    """
    A, B = model.state_matrices()
    w, used = _inputs(model, n_steps, forces, base_acc)
    k3 = np.asarray(cubic_n_per_m3, dtype=np.float64)
    x0 = np.zeros(2 * model.n) if x0 is None else np.asarray(x0, dtype=np.float64)
    X, acc, rej = integrate_cubic(A, np.ascontiguousarray(B[:, used]), np.linalg.inv(model.M),
                                  k3, x0, w, dt, rtol, atol)
    stats = {"accepted_steps": int(acc), "rejected_steps": int(rej)}
    return _assemble(model, dt, X, w, used, k3), stats
