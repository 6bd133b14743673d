"""Exact LTI discretisation and time stepping against scipy.signal and closed-form responses."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.signal

from twin3d.physics.lti import discretise, simulate, step_sequence
from twin3d.physics.response import linear_response
from twin3d.physics.structure import LinearModel

M_DEF = np.array([5.0394, 4.9919, 4.9693])
K_DEF = np.array([34958.3691, 43195.1237, 43295.9086])
C_DEF = np.array([7.8963, 4.0129, 5.4905])


def default_model() -> LinearModel:
    return LinearModel.chain(M_DEF, K_DEF, C_DEF)


def hand_state_space(model: LinearModel):
    """A, B (inputs: N floor forces then a_g) and the absolute-acceleration output C, D."""
    n = model.n
    Minv = np.linalg.inv(model.M)
    A = np.block([[np.zeros((n, n)), np.eye(n)], [-Minv @ model.K, -Minv @ model.C]])
    B = np.vstack([np.zeros((n, n + 1)), np.hstack([Minv, -np.ones((n, 1))])])
    # absolute acceleration = M^-1 (f - K u - C v): the a_g terms cancel
    Cacc = np.hstack([-Minv @ model.K, -Minv @ model.C])
    Dacc = np.hstack([Minv, np.zeros((n, 1))])
    return A, B, Cacc, Dacc


def assert_columns_close(X, X_ref, rel):
    """Every column within rel of that column's peak (assert_allclose wants a scalar atol)."""
    X = np.asarray(X)
    assert X.shape == X_ref.shape
    peak = np.abs(X_ref).max(axis=0)
    assert np.all(peak > 0)
    err = np.abs(X - X_ref).max(axis=0)
    assert np.all(err <= rel * peak), (err / peak)


def lsim_states(A, B, w, t, x0=None):
    sys = scipy.signal.StateSpace(A, B, np.eye(A.shape[0]), np.zeros((A.shape[0], B.shape[1])))
    _, _, X = scipy.signal.lsim(sys, w, t, X0=x0, interp=True)  # interp=True: first-order hold
    return X


def rough_input(rng, K, dt, f_hz):
    """A broadband input: a few sines (across the modes) plus sample-to-sample noise."""
    t = np.arange(K) * dt
    w = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in f_hz)
    return w + 0.3 * rng.standard_normal(K)


DT = 1e-3
K_STEPS = 3000


def test_force_input_matches_lsim():
    model = default_model()
    A, B, _, _ = hand_state_space(model)
    rng = np.random.default_rng(1)
    w = np.zeros((K_STEPS, 4))
    w[:, 0] = 20.0 * rough_input(rng, K_STEPS, DT, [6.2, 17.8, 3.0])
    w[:, 2] = 5.0 * rough_input(rng, K_STEPS, DT, [26.4, 11.0])
    t = np.arange(K_STEPS) * DT
    X_ref = lsim_states(A, B, w, t)
    X = simulate(*model.state_matrices(), w, DT)
    assert X.shape == (K_STEPS, 6)
    # both are exact for a linearly interpolated input: round-off only
    for j in range(6):
        peak = np.abs(X_ref[:, j]).max()
        assert peak > 0
        np.testing.assert_allclose(X[:, j], X_ref[:, j], rtol=0, atol=1e-9 * peak)


def test_base_acceleration_input_matches_lsim_including_absolute_acceleration():
    model = default_model()
    A, B, Cacc, Dacc = hand_state_space(model)
    rng = np.random.default_rng(2)
    ag = 0.5 * rough_input(rng, K_STEPS, DT, [6.2, 9.0, 17.8])
    w = np.zeros((K_STEPS, 4))
    w[:, 3] = ag
    t = np.arange(K_STEPS) * DT
    X_ref = lsim_states(A, B, w, t)
    r = linear_response(model, DT, K_STEPS, base_acc=ag)
    np.testing.assert_allclose(r.t, t, rtol=0, atol=1e-15)
    for j in range(3):
        for got, ref in ((r.u[:, j], X_ref[:, j]), (r.v[:, j], X_ref[:, 3 + j])):
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9 * np.abs(ref).max())
    a_ref = X_ref @ Cacc.T + w @ Dacc.T
    np.testing.assert_allclose(r.a_abs, a_ref, rtol=0, atol=1e-9 * np.abs(a_ref).max())
    # drift is the storey-by-storey difference
    np.testing.assert_allclose(r.drift, np.diff(X_ref[:, :3], axis=1, prepend=0.0),
                               rtol=0, atol=1e-9 * np.abs(X_ref[:, :3]).max())


def test_linear_response_force_forms_and_initial_state_match_lsim():
    model = default_model()
    A, B, Cacc, Dacc = hand_state_space(model)
    rng = np.random.default_rng(3)
    K = 1500
    forces = rng.standard_normal((K, 3))
    ag = rough_input(rng, K, DT, [5.0])
    x0 = np.array([1e-3, -2e-3, 0.5e-3, 0.01, 0.0, -0.02])
    w = np.hstack([forces, ag[:, None]])
    X_ref = lsim_states(A, B, w, np.arange(K) * DT, x0=x0)
    r = linear_response(model, DT, K, forces=forces, base_acc=ag, x0=x0)
    assert_columns_close(np.hstack([r.u, r.v]), X_ref, 1e-9)
    a_ref = X_ref @ Cacc.T + w @ Dacc.T
    np.testing.assert_allclose(r.a_abs, a_ref, rtol=0, atol=1e-9 * np.abs(a_ref).max())
    # a 1-D force history acts on floor 1 only
    r1 = linear_response(model, DT, K, forces=forces[:, 0])
    f2 = np.zeros_like(forces)
    f2[:, 0] = forces[:, 0]
    r2 = linear_response(model, DT, K, forces=f2)
    np.testing.assert_array_equal(r1.u, r2.u)


def test_sdof_free_vibration_is_analytic():
    m, k, c = 2.0, 8000.0, 3.0
    wn = np.sqrt(k / m)
    zeta = c / (2 * np.sqrt(k * m))
    wd = wn * np.sqrt(1 - zeta**2)
    x0, v0 = 2e-3, -0.05
    model = LinearModel.chain([m], [k], [c])
    dt, K = 2e-3, 2000
    r = linear_response(model, dt, K, x0=[x0, v0])
    t = np.arange(K) * dt
    x = np.exp(-zeta * wn * t) * (x0 * np.cos(wd * t) + (v0 + zeta * wn * x0) / wd * np.sin(wd * t))
    # exact discretisation: only round-off accumulated over 2000 steps
    np.testing.assert_allclose(r.u[:, 0], x, rtol=0, atol=1e-11)
    assert np.abs(x).max() > 1e-3  # the reference is not trivially small
    v = np.gradient(x, t)  # consistency of velocity (coarse: finite difference)
    np.testing.assert_allclose(r.v[1:-1, 0], v[1:-1], rtol=0, atol=1e-2 * np.abs(v).max())


def test_sdof_step_response_is_analytic():
    m, k, c = 1.5, 6000.0, 9.0
    wn = np.sqrt(k / m)
    zeta = c / (2 * np.sqrt(k * m))
    wd = wn * np.sqrt(1 - zeta**2)
    F0 = 12.0
    model = LinearModel.chain([m], [k], [c])
    dt, K = 1e-3, 4000
    r = linear_response(model, dt, K, forces=np.full(K, F0))  # F = F0 from t = 0 exactly
    t = np.arange(K) * dt
    x = F0 / k * (1 - np.exp(-zeta * wn * t)
                  * (np.cos(wd * t) + zeta / np.sqrt(1 - zeta**2) * np.sin(wd * t)))
    np.testing.assert_allclose(r.u[:, 0], x, rtol=0, atol=1e-12)
    v = F0 / k * np.exp(-zeta * wn * t) * wn**2 / wd * np.sin(wd * t)
    np.testing.assert_allclose(r.v[:, 0], v, rtol=0, atol=1e-10)
    # absolute acceleration: (F0 - k x - c v)/m
    np.testing.assert_allclose(r.a_abs[:, 0], (F0 - k * x - c * v) / m, rtol=0, atol=1e-7)


def test_zoh_matrices_equal_cont2discrete():
    model = default_model()
    A, B = model.state_matrices()
    dt = 2e-3
    d = discretise(A, B, dt, hold="zoh")
    Ad, Bd, *_ = scipy.signal.cont2discrete((A, B, np.eye(6), np.zeros((6, 4))), dt,
                                            method="zoh")
    np.testing.assert_allclose(d.Phi, Ad, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(d.G0, Bd, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(d.G1, 0.0)
    assert d.dt == dt


def test_foh_matrices_equal_quadrature_of_the_convolution_integrals():
    model = default_model()
    A, B = model.state_matrices()
    dt = 2e-3
    d = discretise(A, B, dt, hold="foh")
    np.testing.assert_allclose(d.Phi, scipy.linalg.expm(A * dt), rtol=1e-13, atol=1e-14)
    G0, _ = scipy.integrate.quad_vec(lambda s: scipy.linalg.expm(A * s) @ B, 0.0, dt,
                                     epsabs=1e-16, epsrel=1e-13)
    G1, _ = scipy.integrate.quad_vec(lambda s: scipy.linalg.expm(A * s) @ B * (dt - s) / dt,
                                     0.0, dt, epsabs=1e-16, epsrel=1e-13)
    # adaptive quadrature to ~1e-13 relative of smooth integrands
    np.testing.assert_allclose(d.G0, G0, rtol=1e-10, atol=1e-12 * np.abs(G0).max())
    np.testing.assert_allclose(d.G1, G1, rtol=1e-10, atol=1e-12 * np.abs(G1).max())


def test_zoh_simulation_matches_lsim_without_interpolation():
    model = default_model()
    A, B, _, _ = hand_state_space(model)
    rng = np.random.default_rng(4)
    K = 1000
    w = np.zeros((K, 4))
    w[:, 1] = rng.standard_normal(K)
    X = simulate(*model.state_matrices(), w, DT, hold="zoh")
    sys = scipy.signal.StateSpace(A, B, np.eye(6), np.zeros((6, 4)))
    _, _, X_ref = scipy.signal.lsim(sys, w, np.arange(K) * DT, interp=False)
    assert_columns_close(X, X_ref, 1e-9)
    # and it differs from first-order hold by far more than that
    X_foh = simulate(*model.state_matrices(), w, DT, hold="foh")
    assert np.abs(X_foh - X).max() > 1e-3 * np.abs(X).max()


def test_step_sequence_first_row_is_initial_state():
    Phi = np.array([[0.5, 0.1], [0.0, 0.9]])
    G0 = np.array([[1.0], [0.0]])
    G1 = np.array([[0.0], [2.0]])
    x0 = np.array([1.0, -1.0])
    w = np.array([[1.0], [3.0], [0.0]])
    X = step_sequence(Phi, G0, G1, x0, w)
    x1 = Phi @ x0 + G0[:, 0] * 1.0 + G1[:, 0] * (3.0 - 1.0)
    x2 = Phi @ x1 + G0[:, 0] * 3.0 + G1[:, 0] * (0.0 - 3.0)
    np.testing.assert_allclose(X, np.array([x0, x1, x2]), rtol=1e-15)


def test_discretise_rejects_unknown_hold():
    A, B = default_model().state_matrices()
    with pytest.raises(ValueError):
        discretise(A, B, 1e-3, hold="tustin")


def test_simulate_single_input_system_with_1d_input_history():
    """simulate() reshapes a 1-D input history itself; a single-input system must accept it."""
    m, k, c = 1.0, 100.0, 1.0
    A = np.array([[0.0, 1.0], [-k / m, -c / m]])
    B = np.array([[0.0], [1.0 / m]])
    K = 500
    u = np.sin(2 * np.pi * 1.3 * np.arange(K) * DT)
    X_ref = lsim_states(A, B, u, np.arange(K) * DT)
    X = simulate(A, B, u, DT)
    assert X.shape == (K, 2)
    np.testing.assert_allclose(X, X_ref, rtol=0, atol=1e-9 * np.abs(X_ref).max())


def test_simulate_rejects_input_history_wider_than_b():
    """An input column that B does not have must be refused, not read past G0/G1's end."""
    A = np.array([[0.0, 1.0], [-100.0, -1.0]])
    B = np.array([[0.0], [1.0]])
    w = np.zeros((50, 2))
    w[:, 1] = 1.0  # drives nothing in the model
    with pytest.raises(ValueError):
        simulate(A, B, w, 0.01)
