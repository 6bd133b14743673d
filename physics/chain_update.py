"""Model updating of a chain (shear frame): storey stiffness, damping and optionally masses by
least squares on measured FRFs. The one fitting machinery of twin3d: `model_update` (force
FRFs from a file, through `circle_fit.update_chain`) and the live calibration (table-to-floor
transmissibilities estimated from the rig's own data, `physics.calibration`) both call
`fit_chain`, each with its own model response.

The residual is the complex log ratio ln(H_model / H_measured) at the chosen frequency points:
its real part is the log-magnitude error and its imaginary part the phase error (wrapped), so
the resonances' peaks (large |H|) weigh no more than their flanks, and a few noisy deep
anti-resonances cannot dominate. Each point may carry a weight: for an H1 estimate the
variance of ln|H| is (1 - gamma^2) / (2 n_d gamma^2) (Bendat & Piersol), so its inverse is
the natural weight. Parameters are fitted as logarithms (they stay positive and are scaled
alike) within bounds; a solution on a bound is reported, so that a caller can refuse it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from twin3d.physics.structure import chain_matrix

# How far a fitted storey value may move from its start (factor either way): wide enough for
# any honest update of a model that is roughly right, narrow enough that a fit which runs off
# (a stiffness of 1e17 N/m, a 0.02 kg floor) is caught at the bound instead of returned.
STIFFNESS_FACTOR = 10.0
DAMPING_FACTOR = 100.0
MASS_FACTOR = 3.0

Response = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ChainFit:
    mass_kg: np.ndarray
    stiffness_n_per_m: np.ndarray
    damping_ns_per_m: np.ndarray
    gain: float  # measured = gain x model (1 when the FRF's scale was trusted)
    fit_error: float  # (weighted) rms |log(H_model / H_measured)| over the fitted points
    start_error: float
    points: np.ndarray  # indices of the frequency points fitted
    at_bound: tuple[str, ...] = ()  # e.g. ("stiffness 2",): fitted values left on a bound


def wrap(a):
    """Angles wrapped into [-pi, pi)."""
    return (a + np.pi) % (2 * np.pi) - np.pi


def chain_from_frequencies(mass: np.ndarray, fn_hz: np.ndarray,
                           k_start: np.ndarray | None = None,
                           modes: np.ndarray | None = None) -> np.ndarray:
    """Storey stiffnesses of a chain with the given masses whose natural frequencies best match
    fn_hz (least squares on relative frequency errors): an update's starting point.

    modes: the 0-based chain mode of each frequency (None: modes 1, 2, ... in order)."""
    n = mass.size
    M = np.diag(mass)
    fn_hz = np.asarray(fn_hz, dtype=float)
    idx = np.arange(min(n, fn_hz.size)) if modes is None else np.asarray(modes, dtype=int)
    fn_hz = fn_hz[:idx.size]
    lam = scipy.linalg.eigh(chain_matrix(np.ones(n)), M, eigvals_only=True)
    k0 = np.full(n, (2 * np.pi * fn_hz[0]) ** 2 / lam[idx[0]]) if k_start is None else k_start

    def res(q):
        w2 = scipy.linalg.eigh(chain_matrix(np.exp(q)), M, eigvals_only=True)
        return np.sqrt(w2[idx]) / (2 * np.pi * fn_hz) - 1.0

    return np.exp(scipy.optimize.least_squares(res, np.log(k0)).x)


def chain_damping(mass, stiffness, zeta) -> np.ndarray:
    """Storey dampings whose chain matrix best matches modal damping zeta (linear fit)."""
    n = mass.size
    M = np.diag(mass)
    w2, phi = scipy.linalg.eigh(chain_matrix(stiffness), M)
    z = np.resize(np.asarray(zeta, dtype=float), n)
    C = M @ phi @ np.diag(2 * z * np.sqrt(w2)) @ phi.T @ M
    basis = np.column_stack([chain_matrix(np.eye(n)[i]).ravel() for i in range(n)])
    c, *_ = np.linalg.lstsq(basis, C.ravel(), rcond=None)
    return np.maximum(c, 1e-6 * np.max(np.abs(c)) + 1e-9)


def fit_chain(frequency_hz: np.ndarray, h_measured: np.ndarray, response: Response,
              mass_kg: np.ndarray, starts: Sequence[tuple[np.ndarray, np.ndarray]],
              weight: np.ndarray | None = None, fit_mass: bool = False,
              fit_gain: bool = True, points: np.ndarray | None = None,
              bounds: tuple[np.ndarray, np.ndarray] | None = None) -> ChainFit:
    """Least-squares storey values (k, c, and m if asked) for `h_measured` (n_f, channels).

    response(m, k, c, f) -> the model's complex FRF at f, (n_f, channels), in the unit of
    h_measured. starts: (k0, c0) pairs; the best converged fit wins. weight: (n_f, channels)
    or (n_f,) non-negative weights of the squared log residual (None: all 1). With fit_gain a
    real positive calibration gain is eliminated in closed form and, when masses are fitted
    too, the total mass is held (an uncalibrated FRF's scale cannot tell mass from gain).
    Bounds: each value within STIFFNESS_FACTOR, DAMPING_FACTOR, MASS_FACTOR of its start, or
    `bounds` = (lo, hi), physical values of [k..., c..., (m...)] that every start is clipped
    into (a caller's limits relative to its own start model and absolute sanity).
    """
    f = np.asarray(frequency_hz, dtype=float)
    h = np.asarray(h_measured, dtype=complex).reshape(f.size, -1)
    m0 = np.asarray(mass_kg, dtype=float)
    n = m0.size
    log_h = np.log(h)
    w = np.ones(h.shape) if weight is None else np.broadcast_to(
        np.asarray(weight, dtype=float).reshape(f.size, -1), h.shape)
    sw = np.sqrt(w / max(float(np.mean(w)), np.finfo(float).tiny))
    total = m0.sum()

    def unpack(q):
        k, c = np.exp(q[:n]), np.exp(q[n:2 * n])
        m = m0
        if fit_mass:
            m = np.exp(q[2 * n:3 * n])
            if fit_gain:
                m = m * total / m.sum()
        return m, k, c

    def log_ratio(q):
        m, k, c = unpack(q)
        r = np.log(response(m, k, c, f)) - log_h
        g = 0.0
        if fit_gain:  # the weighted mean log-magnitude offset is the gain
            g = -float(np.sum(sw**2 * r.real) / np.sum(sw**2))
            r = r + g
        r.imag = wrap(r.imag)
        return r, g

    def res(q):
        r = (sw * log_ratio(q)[0]).ravel()
        return np.concatenate([r.real, r.imag])

    sol, best_start, best_bounds = None, None, None
    for k0, c0 in starts:
        q0 = np.log(np.concatenate([k0, c0] + ([m0] if fit_mass else [])))
        if bounds is None:
            span = np.log(np.concatenate([np.full(n, STIFFNESS_FACTOR),
                                          np.full(n, DAMPING_FACTOR)]
                                         + ([np.full(n, MASS_FACTOR)] if fit_mass else [])))
            lo, hi = q0 - span, q0 + span
        else:
            lo, hi = np.log(np.asarray(bounds[0], float)), np.log(np.asarray(bounds[1], float))
            if lo.size != q0.size or hi.size != q0.size or np.any(lo >= hi):
                raise ValueError(f"bounds need {q0.size} increasing (lo, hi) pairs")
            q0 = np.clip(q0, lo + 1e-6, hi - 1e-6)
        s = scipy.optimize.least_squares(res, q0, bounds=(lo, hi), method="trf")
        if sol is None or s.cost < sol.cost:
            sol, best_start, best_bounds = s, q0, (lo, hi)
    m, k, c = unpack(sol.x)
    r, g = log_ratio(sol.x)
    r0 = res(best_start)
    lo, hi = best_bounds
    names = [f"stiffness {i + 1}" for i in range(n)] + [f"damping {i + 1}" for i in range(n)] \
        + ([f"mass {i + 1}" for i in range(n)] if fit_mass else [])
    edge = 1e-3  # in log units: within 0.1 % of a bound counts as on it
    at_bound = tuple(nm for nm, q, a, b in zip(names, sol.x, lo, hi)
                     if q - a < edge or b - q < edge)
    rms = float(np.sqrt(np.mean(np.abs(sw * r) ** 2)))
    return ChainFit(m, k, c, float(np.exp(g)), rms, float(np.sqrt(np.mean(r0**2) * 2)),
                    np.arange(f.size) if points is None else points, at_bound)
