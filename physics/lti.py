"""Exact discretisation of linear time-invariant systems, and the numba kernel that steps them.

For x' = A x + B w with the input w varying linearly between samples (first-order hold, what
scipy.signal.lsim assumes), the state after one step h is exact:

    x[k+1] = Phi x[k] + G0 w[k] + G1 (w[k+1] - w[k]),
    Phi = e^{Ah},  G0 = int_0^h e^{As} ds B,  G1 = int_0^h e^{As} (h - s)/h ds B,

all three read off one matrix exponential of an augmented matrix (Van Loan's method). With a
zero-order hold G1 is dropped. No time-step error at all: only round-off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.linalg


@dataclass(frozen=True)
class Discrete:
    Phi: np.ndarray
    G0: np.ndarray
    G1: np.ndarray  # zeros for a zero-order hold
    dt: float


def discretise(A: np.ndarray, B: np.ndarray, dt: float, hold: str = "foh") -> Discrete:
    """Exact discrete-time matrices of (A, B) at step dt (s); hold is "foh" or "zoh"."""
    if hold not in ("foh", "zoh"):
        raise ValueError(f"hold must be 'foh' or 'zoh', got {hold!r}")
    n, m = B.shape
    # expm([[A, B, 0], [0, 0, I/h], [0, 0, 0]] h) = [[Phi, G0, G1], [0, I, I], [0, 0, I]]
    big = np.zeros((n + 2 * m, n + 2 * m))
    big[:n, :n] = A * dt
    big[:n, n:n + m] = B * dt
    big[n:n + m, n + m:] = np.eye(m)
    E = scipy.linalg.expm(big)
    Phi = E[:n, :n]
    G0 = E[:n, n:n + m]
    G1 = E[:n, n + m:] if hold == "foh" else np.zeros((n, m))
    return Discrete(np.ascontiguousarray(Phi), np.ascontiguousarray(G0),
                    np.ascontiguousarray(G1), float(dt))


@numba.njit(cache=True)
def step_sequence(Phi, G0, G1, x0, w):
    """States x[0..K-1] for inputs w (K, m) from x0; explicit loops beat BLAS at this size."""
    n = x0.size
    K, m = w.shape
    X = np.empty((K, n))
    x = x0.copy()
    xn = np.empty(n)
    for k in range(K):
        for i in range(n):
            X[k, i] = x[i]
        if k + 1 == K:
            break
        for i in range(n):
            acc = 0.0
            for j in range(n):
                acc += Phi[i, j] * x[j]
            for j in range(m):
                wk = w[k, j]
                acc += G0[i, j] * wk + G1[i, j] * (w[k + 1, j] - wk)
            xn[i] = acc
        for i in range(n):
            x[i] = xn[i]
    return X


def simulate(A: np.ndarray, B: np.ndarray, w: np.ndarray, dt: float, x0=None,
             hold: str = "foh") -> np.ndarray:
    """States (K, n) of x' = A x + B w sampled every dt, inputs w (K, m) on the same grid."""
    w = np.asarray(w, dtype=np.float64)
    w = np.ascontiguousarray(w.reshape(-1, 1) if w.ndim == 1 else w)
    if w.ndim != 2 or w.shape[1] != B.shape[1]:
        raise ValueError(f"input history must have {B.shape[1]} column(s), one per column of "
                         f"B, got shape {w.shape}")
    d = discretise(A, B, dt, hold)
    x0 = np.zeros(A.shape[0]) if x0 is None else np.asarray(x0, dtype=np.float64)
    return step_sequence(d.Phi, d.G0, d.G1, x0, w)
