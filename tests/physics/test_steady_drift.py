"""Steady-state drift prediction for the dry run, against a direct complex solve, the SDOF
closed form and the time-domain coupled rig (BLDC + crank + structure)."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.physics import rig
from twin3d.physics.params import CrankParams, MotorParams
from twin3d.physics.steady_drift import max_safe_speed_rpm, steady_drift_m
from twin3d.physics.structure import LinearModel, modal_analysis

MODEL = LinearModel.chain([5.0394, 4.9919, 4.9693], [34958.3691, 43195.1237, 43295.9086],
                          [7.8963, 4.0129, 5.4905])
STROKE = 0.25e-3  # the scene's crank eccentricity, m
LIMIT = 0.003  # the scene's drift_limit_m
# The scene's motor (maxon EC 45 flat, rotor + crank disc inertia) and crank
MOTOR = MotorParams(0.2865, 0.1505e-3, 0.0202, 8, 1.81e-5 + 1.0e-4, 1.18e-5, 0.004, 24.0, 10.0,
                    0.004, 0.1, 9.19, 13.8)
CRANK = CrankParams(STROKE, 1.0, 6.0)


def direct_drift(model, stroke, rpm):
    """(K - w^2 M + j w C) u = -M 1 (r w^2) solved densely; drift = diff with u_0 = 0."""
    w = rpm * 2 * np.pi / 60
    D = model.K - w**2 * model.M + 1j * w * model.C
    u = np.linalg.solve(D, -model.M @ np.ones(model.n) * stroke * w**2)
    return np.abs(np.diff(u, prepend=0.0))


@pytest.mark.parametrize("rpm", [60.0, 300.0, 372.0, 700.0, 1068.0, 1584.0, 1800.0])
def test_matches_direct_solve(rpm):
    np.testing.assert_allclose(steady_drift_m(MODEL, STROKE, rpm), direct_drift(MODEL, STROKE, rpm),
                               rtol=1e-10)


def test_storeys_leave_a_carried_device_out_of_the_drift():
    """The frame with an oscillator on floor 1 (structure.with_oscillator): the device's mass
    shapes the response, but only the three storeys have a drift (dense solve of the 4 DOF)."""
    from twin3d.physics.structure import with_oscillator

    carried = with_oscillator(MODEL, 1, 0.5, 1.0, 1670.0, 5.0)
    for rpm in (300.0, 346.8, 411.8):
        w = rpm * 2 * np.pi / 60
        D = carried.K - w**2 * carried.M + 1j * w * carried.C
        u = np.linalg.solve(D, -carried.M @ np.ones(4) * STROKE * w**2)
        np.testing.assert_allclose(steady_drift_m(carried, STROKE, rpm, storeys=3),
                                   np.abs(np.diff(u[:3], prepend=0.0)), rtol=1e-10)


def test_single_storey_closed_form():
    """m u'' + c u' + k u = -m a_g, a_g = -r w^2 sin(w t): |u| = m r w^2 / |k - m w^2 + j c w|."""
    m, k, c = 5.0, 40000.0, 8.0
    rpm = np.array([100.0, 500.0, 853.0, 1500.0])
    w = rpm * 2 * np.pi / 60
    expect = m * STROKE * w**2 / np.abs(k - m * w**2 + 1j * c * w)
    got = steady_drift_m(LinearModel.chain([m], [k], [c]), STROKE, rpm)
    assert got.shape == (4, 1)
    np.testing.assert_allclose(got[:, 0], expect, rtol=1e-12)


def test_gear_ratio_does_not_change_the_table_motion():
    np.testing.assert_array_equal(steady_drift_m(MODEL, STROKE, 500.0, gear_ratio=3.0),
                                  steady_drift_m(MODEL, STROKE, 500.0))


def test_against_time_domain_rig_below_resonance():
    """The rig under its PI speed loop at 300 rpm (5 Hz, below mode 1 at 6.2 Hz). The drift's
    component at the crank frequency, read by a lock-in on the simulated crank angle over
    the last 3 s (which rejects the start-up's free vibration at the modes), is within 5 % of
    the prediction; the motor-structure interaction ripples the speed by about 1 rpm here."""
    system = rig.build_rig(MODEL, MOTOR, CRANK, None)
    dt = 1 / 20000
    cmd = rig.RigCommand(mode=rig.MODE_SPEED, speed_rpm=300.0, ramp_rpm_per_s=600.0)
    out = rig.run(system, rig.initial_state(system), cmd, dt, int(5.0 / dt), 20)
    s = out.t > 2.0
    theta_c = out.theta[s] / CRANK.gear_ratio
    drift = np.diff(out.floor_disp[s], axis=1, prepend=0.0)  # written out: an independent check
    basis = np.column_stack([np.sin(theta_c), np.cos(theta_c), np.ones(theta_c.size)])
    coef, *_ = np.linalg.lstsq(basis, drift, rcond=None)
    simulated = np.hypot(coef[0], coef[1])
    np.testing.assert_allclose(simulated, steady_drift_m(MODEL, STROKE, 300.0), rtol=0.05)
    assert abs(np.mean(out.omega[s]) / rig.RPM - 300.0) < 1.0


def test_mode_one_exceeds_the_scene_limit_and_bands_cover_it():
    f = modal_analysis(MODEL).frequencies_hz * 60.0
    at_mode1 = steady_drift_m(MODEL, STROKE, f[0])
    # about 22 mm in storey 1: seven times the 3 mm trip level
    assert at_mode1.max() > 5 * LIMIT
    bands = max_safe_speed_rpm(MODEL, STROKE, LIMIT, 1800.0)
    assert any(lo < f[0] < hi for lo, hi in bands)
    # every band edge is where the worst drift equals the limit
    for lo, hi in bands:
        for edge in (lo, hi):
            if 0.0 < edge < 1800.0:
                assert steady_drift_m(MODEL, STROKE, edge).max() == pytest.approx(LIMIT, rel=1e-6)
    # an independent dense scan agrees on which speeds are forbidden
    rpm = np.linspace(0.0, 1800.0, 360_001)
    over = direct_scan(rpm) > LIMIT
    inside = np.zeros(rpm.size, bool)
    for lo, hi in bands:
        inside |= (rpm > lo) & (rpm < hi)
    assert np.array_equal(over, inside)


def direct_scan(rpm):
    w = rpm * 2 * np.pi / 60
    D = (MODEL.K[None] - (w**2)[:, None, None] * MODEL.M[None]
         + 1j * w[:, None, None] * MODEL.C[None])
    rhs = -(MODEL.M @ np.ones(3))[None, :, None] * (STROKE * w**2)[:, None, None]
    u = np.linalg.solve(D, rhs)[..., 0]
    return np.abs(np.diff(u, axis=1, prepend=0.0)).max(axis=1)


def test_small_stroke_has_no_forbidden_band():
    assert max_safe_speed_rpm(MODEL, 1e-6, LIMIT, 1800.0) == []


def test_band_reaching_rpm_max_is_closed_there():
    bands = max_safe_speed_rpm(MODEL, STROKE, LIMIT, 375.0)
    assert len(bands) == 1 and bands[0][1] == 375.0 and bands[0][0] < 372.0


@pytest.mark.parametrize("kwargs, field", [
    (dict(stroke_m=-1.0), "stroke_m"), (dict(gear_ratio=0.0), "gear_ratio"),
    (dict(drift_limit_m=0.0), "drift_limit_m"), (dict(rpm_max=np.nan), "rpm_max")])
def test_bad_arguments(kwargs, field):
    args = dict(model=MODEL, stroke_m=STROKE, drift_limit_m=LIMIT, rpm_max=1800.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=field):
        max_safe_speed_rpm(**args)
