"""A shear frame driven three ways, with an optional base degree of freedom.

Inputs (one scalar input u(t) each):

- ``base_acceleration``: the base follows a prescribed acceleration a_g = u (a shake table, an
  earthquake). Solved in floor coordinates relative to the base, M q'' + C q' + K q = -M 1 u;
  the floors' absolute acceleration is q'' + 1 u.
- ``floor_force``: a force u (N) on floor K (a shaker or an instrumented hammer on a building).
- ``base_force``: a force u (N) on the base (a shaker driving a frame whose base rides on
  rails, as in the Los Alamos three-storey test structure).

For the two force inputs the base is either fixed (``base_mass_kg`` = 0: the chain of
`structure.py`, whose coordinates are then absolute) or a degree of freedom of its own: a mass
m_b on a spring k_b and damper c_b to the ground (k_b = 0: a free base, whose rigid-body mode
sits at 0 Hz). The base DOF comes first and every coordinate is absolute; the frame's K and C
act on the floors' motion relative to the base, so the full matrices are T' blockdiag(k_b, K) T
with T the map from absolute to (base, relative) coordinates.

Outputs are always the absolute motion of [base, DOF 1..n] (n = the frame model's DOFs: floors,
then any device hung on them): column 0 is the base (0 for a fixed base, 1 per unit of base
acceleration), what an accelerometer on the table or base reads. An FRF against a force is an
accelerance (m/s^2/N); against a base acceleration, a transmissibility.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from twin3d.physics.lti import discretise
from twin3d.physics.structure import LinearModel, Modes, modal_analysis

INPUT_KINDS = ("base_acceleration", "floor_force", "base_force")
_POWER = {"displacement": 0, "velocity": 1, "accelerance": 2}


@dataclass(frozen=True)
class Loading:
    """How a frame is driven, and its base (see the module docstring); SI units."""

    kind: str = "base_acceleration"
    floor: int = 0  # 1-based, for floor_force
    base_mass_kg: float = 0.0
    base_stiffness_n_per_m: float = 0.0  # 0 with a base mass: a free base (rigid-body mode)
    base_damping_ns_per_m: float = 0.0

    @property
    def has_base(self) -> bool:
        """True when the base is a degree of freedom (a force input with a base mass)."""
        return self.kind != "base_acceleration" and self.base_mass_kg > 0.0

    @property
    def free_base(self) -> bool:
        return self.has_base and self.base_stiffness_n_per_m == 0.0

    @property
    def is_force(self) -> bool:
        return self.kind != "base_acceleration"

    def check(self, n: int) -> None:
        """ValueError (one line) unless this loading fits a frame model with n DOFs."""
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"loading kind must be one of {', '.join(INPUT_KINDS)}, "
                             f"got {self.kind!r}")
        if self.kind == "floor_force" and not 1 <= self.floor <= n:
            raise ValueError(f"floor_force: floor must be 1..{n}, got {self.floor}")
        if min(self.base_mass_kg, self.base_stiffness_n_per_m, self.base_damping_ns_per_m) < 0:
            raise ValueError("base mass, stiffness and damping must be >= 0")
        if self.kind == "base_force" and self.base_mass_kg <= 0.0:
            raise ValueError("base_force needs a base mass > 0 (a force on a massless base "
                             "is taken by the ground)")


def with_base(model: LinearModel, base_mass_kg: float, base_stiffness_n_per_m: float = 0.0,
              base_damping_ns_per_m: float = 0.0) -> LinearModel:
    """`model` (coordinates relative to its base) standing on a base of mass m_b held by k_b,
    c_b to the ground: n + 1 DOFs, the base first, all absolute."""
    n = model.n
    T = np.zeros((n + 1, n + 1))  # (x_b, u) = T x: u_i = x_i - x_b
    T[0, 0] = 1.0
    T[1:, 0] = -1.0
    T[1:, 1:] = np.eye(n)

    def full(base: float, frame: np.ndarray) -> np.ndarray:
        inner = np.zeros((n + 1, n + 1))
        inner[0, 0] = base
        inner[1:, 1:] = frame
        return T.T @ inner @ T

    M = np.zeros((n + 1, n + 1))
    M[0, 0] = base_mass_kg
    M[1:, 1:] = model.M  # inertia acts on absolute accelerations
    return LinearModel(M=M, C=full(base_damping_ns_per_m, model.C),
                       K=full(base_stiffness_n_per_m, model.K))


def solved_model(model: LinearModel, loading: Loading) -> LinearModel:
    """The model whose DOFs are solved: `model` itself (relative to a prescribed or fixed base)
    or `with_base(model, ...)` (base DOF first)."""
    loading.check(model.n)
    if not loading.has_base:
        return model
    return with_base(model, loading.base_mass_kg, loading.base_stiffness_n_per_m,
                     loading.base_damping_ns_per_m)


def input_vector(model: LinearModel, loading: Loading) -> np.ndarray:
    """b: the load on the solved model's DOFs per unit input (N per N, or N per m/s^2)."""
    s = solved_model(model, loading)
    b = np.zeros(s.n)
    if loading.kind == "base_acceleration":
        return -s.M @ np.ones(s.n)
    if loading.kind == "base_force":
        b[0] = 1.0
    else:
        b[loading.floor - 1 + (1 if loading.has_base else 0)] = 1.0
    return b


def output_maps(model: LinearModel, loading: Loading) -> tuple[np.ndarray, np.ndarray]:
    """(S, d): the absolute motion of [base, DOF 1..n] is S x + d u for the same derivative x
    of the solved coordinates (x = q, q' or q''), with d the input's direct share (1 on every
    row for base acceleration, used on accelerations only)."""
    n = model.n
    if loading.has_base:
        return np.eye(n + 1), np.zeros(n + 1)
    S = np.zeros((n + 1, n))
    S[1:] = np.eye(n)
    d = np.ones(n + 1) if loading.kind == "base_acceleration" else np.zeros(n + 1)
    return S, d


def frf(model: LinearModel, loading: Loading, frequency_hz,
        output: str = "accelerance") -> np.ndarray:
    """(n_freq, n + 1) complex: absolute [base, DOF 1..n] response per unit input, from
    (K - w^2 M + j w C) q = b. output: "displacement", "velocity" or "accelerance"."""
    if output not in _POWER:
        raise ValueError(f"output must be one of {sorted(_POWER)}, got {output!r}")
    s = solved_model(model, loading)
    b = input_vector(model, loading)
    S, d = output_maps(model, loading)
    w = 2 * np.pi * np.atleast_1d(np.asarray(frequency_hz, dtype=np.float64))
    D = s.K[None] - (w**2)[:, None, None] * s.M[None] + 1j * w[:, None, None] * s.C[None]
    q = np.linalg.solve(D, np.broadcast_to(b.astype(complex), (w.size, s.n))[..., None])[..., 0]
    iw = 1j * w[:, None]
    acc = (iw**2 * q) @ S.T + d[None, :]  # absolute acceleration per unit input
    if output == "accelerance":
        return acc
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 Hz: a rigid or base motion is inf
        return acc / iw ** (2 - _POWER[output])


def modes(model: LinearModel, loading: Loading) -> Modes:
    """Modes of the solved model: with a free base the first is the rigid-body mode at 0 Hz
    (damping ratio NaN); shapes are of the solved coordinates (base first when it is a DOF)."""
    return modal_analysis(solved_model(model, loading))


def state_space(model: LinearModel, loading: Loading) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray, np.ndarray]:
    """(A, B, C, D) of x' = A x + B u, y = C x + D u with x = [q, q'] of the solved model and
    y the absolute accelerations of [base, DOF 1..n] (scipy.signal's convention)."""
    s = solved_model(model, loading)
    b = input_vector(model, loading)
    S, d = output_maps(model, loading)
    m = s.n
    A, forces = s.state_matrices()  # its first m input columns are M^-1 on the forces
    B = forces[:, :m] @ b[:, None]
    C = S @ A[m:]  # acceleration rows of the state derivative, mapped to the outputs
    D = (S @ B[m:] + d[:, None])
    return A, B, C, D


@numba.njit(cache=True, fastmath=True)
def _dlsim(Ad, Bd, C, D, u, x0, y):
    """y[k] = C x_k + D u_k, x_{k+1} = Ad x_k + Bd u_k (single input); returns the last x."""
    x = x0.copy()
    nx = x.size
    for k in range(u.size):
        uk = u[k]
        for i in range(y.shape[1]):
            acc = D[i, 0] * uk
            for j in range(nx):
                acc += C[i, j] * x[j]
            y[k, i] = acc
        xn = np.empty(nx)
        for i in range(nx):
            acc = Bd[i, 0] * uk
            for j in range(nx):
                acc += Ad[i, j] * x[j]
            xn[i] = acc
        x = xn
    return x


def simulate(model: LinearModel, loading: Loading, u, fs_hz: float,
             x0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Response to the sampled input u (held over each sample, ZOH) at fs_hz: (y, x_end) with
    y (n_samples, n + 1) the absolute accelerations of [base, DOF 1..n] at the samples and
    x_end the state after the last one (pass it back as x0 to continue)."""
    A, B, C, D = state_space(model, loading)
    d = discretise(A, B, 1.0 / float(fs_hz), "zoh")
    Ad, Bd = d.Phi, d.G0
    u = np.ascontiguousarray(np.asarray(u, dtype=np.float64).ravel())
    x = np.zeros(A.shape[0]) if x0 is None else np.asarray(x0, dtype=np.float64)
    if x.shape != (A.shape[0],):
        raise ValueError(f"x0 must have shape ({A.shape[0]},), got {x.shape}")
    y = np.empty((u.size, C.shape[0]))
    x_end = _dlsim(Ad, Bd, C, D, u, x, y)
    return y, x_end
