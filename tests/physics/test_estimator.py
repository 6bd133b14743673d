"""Steady-state modal Kalman filter against the exact time response of the structure.

References: physics.response.linear_response of the true chain (exact discretisation, an
independent code path from the filter's modal model), open-loop integration of the measured
table acceleration, and a plain Riccati covariance iteration for the gain.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.physics.estimator import build_estimator, estimate, initial_state
from twin3d.physics.excitations import band_limited_noise
from twin3d.physics.response import linear_response
from twin3d.physics.structure import LinearModel

MASS = [5.0394, 4.9919, 4.9693]
STIFF = np.array([34958.3691, 43195.1237, 43295.9086])
DAMP = [7.8963, 4.0129, 5.4905]
TRUE = LinearModel.chain(MASS, STIFF, DAMP)
FS = 1000.0
NOISE = 0.003  # the scene's accelerometer noise_rms, m/s^2
N = 12_000
SKIP = 2000  # the filter's start-up transient


@pytest.fixture(scope="module")
def run():
    """Truth under band-limited table shaking, and what the sensors read of it."""
    ag = band_limited_noise(N, FS, 1.0, 40.0, 0.5, seed=1)
    truth = linear_response(TRUE, 1 / FS, N, base_acc=ag)
    rng = np.random.default_rng(2)
    ag_meas = ag + NOISE * rng.standard_normal(N)
    y = truth.a_abs + NOISE * rng.standard_normal((N, 3))
    return truth, ag_meas, y


def rel_err(est, ref):
    s = slice(SKIP, None)
    return np.sqrt(np.mean((est[s] - ref[s]) ** 2, axis=0) / np.mean(ref[s] ** 2, axis=0))


def run_blocks(est, ag, y, block=50):
    """Feed the filter in live-sized blocks, as the ingest does."""
    x = initial_state(est)
    parts = [estimate(est, x, ag[i:i + block], y[i:i + block]) for i in range(0, ag.size, block)]
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


def test_tracks_truth_with_exact_model(run):
    truth, ag, y = run
    u, v = run_blocks(build_estimator(TRUE, FS, (1, 2, 3), NOISE, 0.05), ag, y)
    assert u.shape == (N, 3)
    assert np.all(rel_err(u, truth.u) < 0.01)
    assert np.all(rel_err(v, truth.v) < 0.02)


def test_blocks_equal_one_call(run):
    """The state carries everything between blocks: block size does not change the result."""
    truth, ag, y = run
    est = build_estimator(TRUE, FS, (1, 2, 3), NOISE, 0.05)
    u_blocks, _ = run_blocks(est, ag[:3000], y[:3000], block=37)
    u_one, _ = estimate(est, initial_state(est), ag[:3000], y[:3000])
    np.testing.assert_allclose(u_blocks, u_one, rtol=0, atol=1e-12)


def test_far_better_than_open_loop_with_stiffness_error(run):
    """A 2 % stiffer twin: open-loop integration drifts out of phase near the resonances, the
    filter stays within about the stiffness error (K u + C u' = -M a_abs is measured)."""
    truth, ag, y = run
    twin = LinearModel.chain(MASS, 1.02 * STIFF, DAMP)
    u, _ = run_blocks(build_estimator(twin, FS, (1, 2, 3), NOISE, 0.05), ag, y)
    open_loop = linear_response(twin, 1 / FS, N, base_acc=ag).u
    e_kf, e_ol = rel_err(u, truth.u), rel_err(open_loop, truth.u)
    assert np.all(e_kf < 0.05)
    assert np.all(e_ol > 10 * e_kf)


def test_mismatched_rig_stays_bounded(run):
    """The rig 8 % softer in storey 1 than the twin: the error stays bounded (no divergence),
    of the order of the mismatch, over the whole run."""
    _, ag, _ = run
    rig = LinearModel.chain(MASS, STIFF * [0.92, 1.0, 1.0], DAMP)
    truth = linear_response(rig, 1 / FS, N, base_acc=ag)
    y = truth.a_abs + NOISE * np.random.default_rng(3).standard_normal((N, 3))
    u, _ = run_blocks(build_estimator(TRUE, FS, (1, 2, 3), NOISE, 0.05), ag, y)
    assert np.all(rel_err(u, truth.u) < 0.15)
    late = slice(N - 2000, None)
    assert np.max(np.abs(u[late] - truth.u[late])) < 0.3 * np.max(np.abs(truth.u[late]))


def test_one_sensor_all_modes(run):
    """Only the top floor measured: the three modes stay observable from it."""
    truth, ag, y = run
    u, _ = run_blocks(build_estimator(TRUE, FS, (3,), NOISE, 0.05), ag, y[:, 2])
    assert np.all(rel_err(u, truth.u) < 0.01)


def test_truncated_to_two_modes(run):
    """Two modes kept: the unmodelled 26 Hz mode's acceleration leaks into them, so the error
    grows from 0.1 % to a few percent, still bounded."""
    truth, ag, y = run
    u, _ = run_blocks(build_estimator(TRUE, FS, (1, 2, 3), NOISE, 0.05, n_modes=2), ag, y)
    e = rel_err(u, truth.u)
    assert np.all(e < 0.05)
    assert np.all(e > 0.002)  # the truncation is visible: not the exact model


def test_dropped_samples_skip_the_correction(run):
    truth, ag, y = run
    est = build_estimator(TRUE, FS, (1, 2, 3), NOISE, 0.05)
    gap = slice(5000, 5300)
    y_gap = y.copy()
    y_gap[gap, 1] = np.nan
    u, _ = run_blocks(est, ag, y_gap)
    assert np.all(np.isfinite(u))
    # during the gap the filter runs open loop on an exact model: still on the truth
    scale = np.sqrt(np.mean(truth.u[SKIP:] ** 2, axis=0))
    assert np.all(np.sqrt(np.mean((u[gap] - truth.u[gap]) ** 2, axis=0)) < 0.05 * scale)
    # and the prediction without a correction is exactly what a NaN sample produced
    x = initial_state(est)
    estimate(est, x, ag[:100], y[:100])
    x_copy = x.copy()
    estimate(est, x, ag[100:101], np.full((1, 3), np.nan))
    z = x_copy[:6]
    pred = est.Phi @ z + est.G0 * x_copy[6] + est.G1 * (ag[100] - x_copy[6])
    np.testing.assert_allclose(x[:6], pred, rtol=1e-12, atol=1e-18)


def test_gain_matches_covariance_iteration():
    """The DARE gain equals the limit of the time-varying filter's covariance recursion."""
    est = build_estimator(TRUE, FS, (1, 3), NOISE, 0.05)
    Phi, H = est.Phi, est.H
    G0 = est.G0[:, None]
    Q = 0.05**2 * G0 @ G0.T
    R = NOISE**2 * np.eye(2)
    P = np.eye(6) * 1e-6
    for _ in range(5000):
        S = H @ P @ H.T + R
        Pp = P - P @ H.T @ np.linalg.solve(S, H @ P)
        P = Phi @ Pp @ Phi.T + Q
    L = P @ H.T @ np.linalg.inv(H @ P @ H.T + R)
    np.testing.assert_allclose(est.L, L, rtol=1e-6, atol=1e-9 * np.abs(L).max())
    np.testing.assert_allclose(est.P, P, rtol=1e-6, atol=1e-9 * np.abs(P).max())
    # the posterior error dynamics are stable
    assert np.max(np.abs(np.linalg.eigvals((np.eye(6) - est.L @ H) @ Phi))) < 1.0


@pytest.mark.parametrize("kwargs, field", [
    (dict(measured_floors=(0,)), "measured_floors"),
    (dict(measured_floors=(1, 1)), "measured_floors"),
    (dict(n_modes=4), "n_modes"),
    (dict(accel_noise_rms=0.0), "accel_noise_rms"),
    (dict(fs=-1.0), "fs"),
])
def test_bad_arguments(kwargs, field):
    args = dict(model=TRUE, fs=FS)
    args.update(kwargs)
    with pytest.raises(ValueError, match=field):
        build_estimator(**args)


def test_block_shape_checked():
    est = build_estimator(TRUE, FS, (1, 2), NOISE, 0.05)
    with pytest.raises(ValueError, match="floor_acc"):
        estimate(est, initial_state(est), np.zeros(10), np.zeros((10, 3)))


def test_against_coupled_rig_with_unmodelled_actuator():
    """The time-domain rig as truth: table acceleration prescribed (band-limited), the
    inertial actuator on floor 1 (0.5 kg base mass and a 1 kg proof mass on 1670 N/m, both
    absent from the twin's model) and the rig 5 % stiffer in every storey. The twin's filter
    still follows the floors: about 7 % from the stiffness (the displacement it infers is
    -K_twin^-1 (M a_abs + C u')), 15 % on floor 1 where the actuator's force is unmodelled,
    against 200 % for open-loop integration."""
    from twin3d.physics import rig
    from twin3d.physics.params import ActuatorParams, CrankParams, MotorParams

    motor = MotorParams(0.2865, 0.1505e-3, 0.0202, 8, 1.181e-4, 1.18e-5, 0.004, 24.0, 10.0,
                        0.004, 0.1, 9.19, 13.8)
    actuator = ActuatorParams(1, 0.5, 1.0, 1670.0, 5.0, 10.0, 8.0, 3.0)
    system = rig.build_rig(LinearModel.chain(MASS, 1.05 * STIFF, DAMP), motor,
                           CrankParams(0.25e-3, 1.0, 6.0), actuator)
    dt, every, seconds = 1 / 20000, 20, 8.0
    n_steps = int(seconds / dt)
    ag_1k = band_limited_noise(int(seconds * FS) + 1, FS, 1.0, 40.0, 0.5, seed=12)
    ag = np.interp(np.arange(n_steps) * dt, np.arange(ag_1k.size) / FS, ag_1k)
    cmd = rig.RigCommand(mode=rig.MODE_COAST, table=rig.TABLE_PRESCRIBED)
    out = rig.run(system, rig.initial_state(system), cmd, dt, n_steps, every, base_acc=ag)
    u_true = out.floor_disp
    rng = np.random.default_rng(13)
    x = out.table_acc + NOISE * rng.standard_normal(len(out))
    y = out.floor_abs_acc + NOISE * rng.standard_normal((len(out), 3))
    u, _ = run_blocks(build_estimator(TRUE, FS, (1, 2, 3), NOISE, 0.05), x, y)
    e = rel_err(u, u_true)
    assert np.all(e < 0.2)
    open_loop = linear_response(TRUE, 1 / FS, x.size, base_acc=x).u
    assert np.all(rel_err(open_loop, u_true) > 5 * e)


def test_a_measured_floor_force_drives_the_filter_instead_of_the_table():
    """A five-storey building shaken by a roof force on a fixed base (the structure-only scenes'
    floor_force excitation): the filter on the force and three floor accelerometers against
    the exact response, and the force read as if it were a table acceleration (wrong) fails."""
    mass = np.array([360e3, 350e3, 350e3, 350e3, 300e3])
    stiff = np.array([1.8e9, 1.7e9, 1.5e9, 1.3e9, 1.1e9])
    model = LinearModel.chain(mass, stiff, 2e-3 * stiff)
    fs, n, skip = 100.0, 6000, 1000
    force = np.zeros((n, 5))
    force[:, 4] = band_limited_noise(n, fs, 0.5, 30.0, 2000.0, seed=3)
    truth = linear_response(model, 1 / fs, n, forces=force)
    noise = 2e-4
    rng = np.random.default_rng(4)
    floors = (2, 4, 5)
    y = truth.a_abs[:, [f - 1 for f in floors]] + noise * rng.standard_normal((n, 3))
    f_meas = force[:, 4] + 5.0 * rng.standard_normal(n)
    est = build_estimator(model, fs, floors, noise, 1e-3, force_floor=5)
    u, _ = run_blocks(est, f_meas, y, block=10)
    s = slice(skip, None)
    err = np.sqrt(np.mean((u[s] - truth.u[s]) ** 2, axis=0) / np.mean(truth.u[s] ** 2, axis=0))
    assert np.all(err < 0.05), err
    # with every mode kept a force accelerates its own floor at once: D = S M^-1 e_5
    np.testing.assert_allclose(est.D, [0.0, 0.0, 1 / mass[4]], atol=1e-12)
    wrong, _ = run_blocks(build_estimator(model, fs, floors, noise, 1e-3), f_meas, y, block=10)
    assert np.sqrt(np.mean((wrong[s] - truth.u[s]) ** 2)) > 10 * np.sqrt(
        np.mean((u[s] - truth.u[s]) ** 2))


def test_force_floor_out_of_range_is_refused():
    with pytest.raises(ValueError, match="force_floor must be a floor 1..3"):
        build_estimator(TRUE, FS, (1, 2, 3), force_floor=4)
