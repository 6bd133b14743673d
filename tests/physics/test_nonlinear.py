"""Cubic-spring chain integrator against the exact linear solver, scipy's DOP853 and invariants."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate

from twin3d.physics.response import cubic_response, linear_response
from twin3d.physics.structure import LinearModel

M_DEF = np.array([5.0394, 4.9919, 4.9693])
K_DEF = np.array([34958.3691, 43195.1237, 43295.9086])
C_DEF = np.array([7.8963, 4.0129, 5.4905])


def default_model() -> LinearModel:
    return LinearModel.chain(M_DEF, K_DEF, C_DEF)


def cubic_forces(u, k3):
    """Floor forces of cubic storey springs k3_i d_i^3 (d_i = u_i - u_{i-1}), written here."""
    d = np.diff(u, prepend=0.0)
    s = k3 * d**3
    g = -s.copy()
    g[:-1] += s[1:]
    return g


def reference_solution(model, k3, t, forces, base_acc, x0):
    """DOP853 (rtol 1e-11, atol 1e-14) interval by interval, the input linear inside each.

    Integrating sample to sample keeps the input's kinks on interval ends, so the reference is
    accurate to ~1e-11 instead of being limited by the error control stepping over them.
    """
    n = model.n
    Minv = np.linalg.inv(model.M)
    K, C = model.K, model.C
    y = np.asarray(x0, dtype=float).copy()
    Y = [y.copy()]
    for i in range(t.size - 1):
        t0, t1 = t[i], t[i + 1]
        f0, f1 = forces[i], forces[i + 1]
        a0, a1 = base_acc[i], base_acc[i + 1]

        def rhs(tq, x, t0=t0, t1=t1, f0=f0, f1=f1, a0=a0, a1=a1):
            s = (tq - t0) / (t1 - t0)
            f = f0 + s * (f1 - f0)
            ag = a0 + s * (a1 - a0)
            u, v = x[:n], x[n:]
            acc = Minv @ (f - K @ u - C @ v + cubic_forces(u, k3)) - ag
            return np.concatenate([v, acc])

        sol = scipy.integrate.solve_ivp(rhs, (t0, t1), y, method="DOP853", rtol=1e-11,
                                        atol=1e-14)
        assert sol.success
        y = sol.y[:, -1]
        Y.append(y.copy())
    return np.array(Y)


def rel_err(a, ref):
    return np.abs(a - ref).max() / np.abs(ref).max()


# CBC toy oscillator: one storey, m = 0.2 kg, k = 200 N/m, c = 0.1 N s/m, k3 = 200 N/m^3,
# 10 N at 16 rad/s on floor 1.
TOY = LinearModel.chain([0.2], [200.0], [0.1])
TOY_K3 = np.array([200.0])
TOY_DT = 0.01
TOY_T = np.arange(501) * TOY_DT
TOY_F = 10.0 * np.cos(16.0 * TOY_T)


@pytest.fixture(scope="module")
def toy_reference():
    return reference_solution(TOY, TOY_K3, TOY_T, TOY_F[:, None], np.zeros(TOY_T.size),
                              np.zeros(2))


def test_zero_cubic_terms_reproduce_exact_linear_response():
    model = default_model()
    rng = np.random.default_rng(0)
    K, dt = 2000, 1e-3
    t = np.arange(K) * dt
    ag = 2.0 * np.sin(2 * np.pi * 6.2 * t) + 0.5 * rng.standard_normal(K)
    forces = np.zeros((K, 3))
    forces[:, 2] = 10.0 * np.sin(2 * np.pi * 17.8 * t)
    x0 = np.array([1e-4, 0.0, -1e-4, 0.0, 1e-3, 0.0])
    lin = linear_response(model, dt, K, forces=forces, base_acc=ag, x0=x0)
    cub, stats = cubic_response(model, np.zeros(3), dt, K, forces=forces, base_acc=ag, x0=x0,
                                rtol=1e-10, atol=1e-14)
    # error-controlled RK45 at rtol 1e-10 vs an exact solver: ~1e-9 of peak, 1e-7 asked
    for got, ref in ((cub.u, lin.u), (cub.v, lin.v), (cub.a_abs, lin.a_abs)):
        assert rel_err(got, ref) < 1e-7
    assert stats["accepted_steps"] >= K - 1


def test_cubic_toy_matches_dop853(toy_reference):
    r, stats = cubic_response(TOY, TOY_K3, TOY_DT, TOY_T.size, forces=TOY_F)
    Y = toy_reference
    # default rtol 1e-8: global error a few 1e-8 of peak; 1e-6 asked
    assert rel_err(r.u[:, 0], Y[:, 0]) < 1e-6
    assert rel_err(r.v[:, 0], Y[:, 1]) < 1e-6
    # absolute acceleration (F - k x - c v - k3 x^3)/m from the reference state
    a_ref = (TOY_F - 200.0 * Y[:, 0] - 0.1 * Y[:, 1] - 200.0 * Y[:, 0] ** 3) / 0.2
    assert rel_err(r.a_abs[:, 0], a_ref) < 1e-6
    # the cubic term matters here, so the agreement is not the linear solution's
    lin = linear_response(TOY, TOY_DT, TOY_T.size, forces=TOY_F)
    assert rel_err(lin.u[:, 0], Y[:, 0]) > 1e-2
    assert isinstance(stats["accepted_steps"], int) and isinstance(stats["rejected_steps"], int)
    assert stats["accepted_steps"] >= TOY_T.size - 1
    assert stats["rejected_steps"] >= 0


def test_error_shrinks_as_rtol_is_tightened(toy_reference):
    Y = toy_reference
    errs, steps = [], []
    for rtol in (1e-5, 1e-7, 1e-9, 1e-11):
        r, stats = cubic_response(TOY, TOY_K3, TOY_DT, TOY_T.size, forces=TOY_F, rtol=rtol,
                                  atol=1e-14)
        errs.append(rel_err(r.u[:, 0], Y[:, 0]))
        steps.append(stats["accepted_steps"])
    # each 100x tighter rtol buys at least 10x accuracy (5th order: ~100x^(4/5)), paid in steps
    for a, b in zip(errs, errs[1:]):
        assert b < a / 10
    assert all(b > a for a, b in zip(steps, steps[1:]))
    assert errs[-1] < 1e-9


def test_three_storey_cubic_base_excitation_matches_dop853():
    model = default_model()
    k3 = np.array([4e10, 2e10, 1e10])  # strongly hardening: k3 d^2 ~ 0.8-2.5 k at ~1.5 mm drift
    dt, K = 2e-3, 600
    t = np.arange(K) * dt
    ag = 3.0 * np.sin(2 * np.pi * 6.0 * t) * np.minimum(t / 0.3, 1.0)
    forces = np.zeros((K, 3))
    forces[:, 1] = 5.0 * np.cos(2 * np.pi * 15.0 * t)
    Y = reference_solution(model, k3, t, forces, ag, np.zeros(6))
    r, stats = cubic_response(model, k3, dt, K, forces=forces, base_acc=ag, rtol=1e-9,
                              atol=1e-14)
    assert rel_err(r.u, Y[:, :3]) < 1e-6
    assert rel_err(r.v, Y[:, 3:]) < 1e-6
    a_ref = np.array([np.linalg.solve(model.M, forces[i] - model.K @ Y[i, :3]
                                      - model.C @ Y[i, 3:] + cubic_forces(Y[i, :3], k3))
                      for i in range(K)])
    assert rel_err(r.a_abs, a_ref) < 1e-6
    np.testing.assert_allclose(r.drift, np.diff(r.u, axis=1, prepend=0.0), rtol=0, atol=0)
    lin = linear_response(model, dt, K, forces=forces, base_acc=ag)
    assert rel_err(lin.u, Y[:, :3]) > 1e-2  # the nonlinearity is really exercised


def test_undamped_cubic_chain_conserves_energy():
    model = LinearModel.chain(M_DEF, K_DEF, np.zeros(3))
    k3 = np.array([3e10, 3e10, 3e10])
    x0 = np.array([1e-3, 2.5e-3, 3e-3, 0.0, 0.0, 0.05])
    dt, K = 1e-3, 1500
    r, _ = cubic_response(model, k3, dt, K, x0=x0, rtol=1e-10, atol=1e-15)

    def energy(u, v):
        d = np.diff(u, axis=1, prepend=0.0)
        return (0.5 * np.einsum("ki,ij,kj->k", v, model.M, v)
                + 0.5 * np.einsum("ki,ij,kj->k", u, model.K, u) + 0.25 * (d**4) @ k3)

    E = energy(r.u, r.v)
    quartic = 0.25 * (np.diff(r.u, axis=1, prepend=0.0) ** 4) @ k3
    assert quartic.max() > 1e-2 * E[0]  # the cubic springs store a real share of the energy
    # local errors at rtol 1e-10 accumulate to well below 1e-7 over 1500 samples
    assert np.abs(E - E[0]).max() < 1e-7 * E[0]
