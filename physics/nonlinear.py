"""Time stepping of the chain with cubic storey springs (hardening or softening).

Storey i (between floor i-1 and floor i, floor 0 being the base) carries k_i d + k3_i d^3 with
d the inter-storey drift. The linear part is any (M, C, K); the cubic part follows the chain.

Integrator: Dormand-Prince 5(4) with local error control, sub-stepping inside each fixed output
interval. Output lands on the fixed sample grid (what a sensor or the scene needs), while the
internal step adapts so that the embedded local-error estimate stays within rtol/atol: the
error is controlled, not assumed from a step-size rule of thumb. Inputs (floor forces, base
acceleration) are linearly interpolated between samples, as in the linear exact solver, so the
two agree when the cubic terms are zero.
"""

from __future__ import annotations

import numba
import numpy as np

# Dormand-Prince 5(4) tableau (Hairer, Norsett, Wanner; the coefficients of scipy's RK45).
_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])
_A = np.array([
    [0, 0, 0, 0, 0, 0],
    [1 / 5, 0, 0, 0, 0, 0],
    [3 / 40, 9 / 40, 0, 0, 0, 0],
    [44 / 45, -56 / 15, 32 / 9, 0, 0, 0],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
], dtype=np.float64)
_B5 = np.array([35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0])
_E = np.array([71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40])


@numba.njit(cache=True)
def _rhs(x, A, B, w, Minv, k3, out):
    """x' = A x + B w - [0; M^-1 g(u)], g from the cubic storey forces."""
    n2 = x.size
    n = n2 // 2
    m = w.size
    for i in range(n2):
        acc = 0.0
        for j in range(n2):
            acc += A[i, j] * x[j]
        for j in range(m):
            acc += B[i, j] * w[j]
        out[i] = acc
    # storey cubic forces s_i = k3_i d_i^3; floor i gets -s_i + s_{i+1}
    g = np.zeros(n)
    for i in range(n):
        d = x[i] - (x[i - 1] if i > 0 else 0.0)
        s = k3[i] * d * d * d
        g[i] -= s
        if i > 0:
            g[i - 1] += s
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += Minv[i, j] * g[j]
        out[n + i] += acc


@numba.njit(cache=True)
def integrate_cubic(A, B, Minv, k3, x0, w, dt, rtol, atol):
    """States (K, 2N) on the grid t_k = k dt; returns (X, accepted steps, rejected steps).

    A, B: the linear first-order matrices (x = [u, u'], w = [forces, a_g]); Minv: M^-1;
    k3: cubic storey coefficients (N/m^3); w: (K, m) inputs on the grid.
    """
    K = w.shape[0]
    n2 = x0.size
    X = np.empty((K, n2))
    x = x0.copy()
    X[0] = x
    ks = np.zeros((7, n2))
    xs = np.empty(n2)
    wi = np.empty(w.shape[1])
    h = dt
    accepted = 0
    rejected = 0
    for k in range(K - 1):
        t = 0.0
        while t < dt * (1 - 1e-12):
            h = min(h, dt - t)
            # stage derivatives with the input interpolated at each stage time
            for s in range(7):
                for i in range(n2):
                    acc = x[i]
                    for j in range(s):
                        acc += h * _A[s, j] * ks[j, i]
                    xs[i] = acc
                frac = (t + _C[s] * h) / dt
                for j in range(wi.size):
                    wi[j] = w[k, j] + frac * (w[k + 1, j] - w[k, j])
                _rhs(xs, A, B, wi, Minv, k3, ks[s])
            err = 0.0
            for i in range(n2):
                x5 = x[i]
                e = 0.0
                for s in range(7):
                    x5 += h * _B5[s] * ks[s, i]
                    e += h * _E[s] * ks[s, i]
                sc = atol + rtol * max(abs(x[i]), abs(x5))
                err += (e / sc) ** 2
                xs[i] = x5
            err = np.sqrt(err / n2)
            if err <= 1.0:
                t += h
                for i in range(n2):
                    x[i] = xs[i]
                accepted += 1
                fac = 5.0 if err == 0.0 else min(5.0, 0.9 * err ** -0.2)
            else:
                rejected += 1
                fac = max(0.2, 0.9 * err ** -0.2)
            h *= fac
        X[k + 1] = x
    return X, accepted, rejected
