"""Control physics: DVF closed loop and critical gain, KE metric, TMD/DVF/EC/LQG models.

References: TOOLS.md 1.9/14 (Cristallo's figures, reproduced by an independent script there),
the time-domain rig kernel (physics/rig.py, RK4), scipy's Riccati solvers through a plain
impedance formulation written here, and Nyquist crossings of the open loop.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.linalg

from twin3d.physics import control as c
from twin3d.physics import rig
from twin3d.scenefile.records import load_scene

W = 2 * np.pi * np.linspace(1.0, 100.0, 9901)  # Cristallo's grid, rad/s


@pytest.fixture(scope="module")
def scene():
    return load_scene()


def _act(scene, floor=1):
    return dataclasses.replace(scene.actuator_params(), floor=floor)


def test_critical_gain_of_the_scene_actuator_is_about_2_2(scene):
    hc = c.dvf_critical_gain(scene.model("southampton_identified"), _act(scene))
    assert hc == pytest.approx(2.2, abs=0.05)
    lam_lo = c.dvf_closed_loop_eigenvalues(scene.model(), _act(scene), hc * (1 - 1e-6))
    lam_hi = c.dvf_closed_loop_eigenvalues(scene.model(), _act(scene), hc * (1 + 1e-6))
    assert lam_lo.real.max() < 0 < lam_hi.real.max()  # the crossing is exactly at hc
    assert abs(lam_hi.real.max()) < 1e-5


@pytest.mark.parametrize("floor, expected", [(1, 5.45), (2, 2.48), (3, 1.80)])
def test_critical_gains_soton_twin_match_tools_md(scene, floor, expected):
    assert c.dvf_critical_gain(scene.model("soton_beam"), _act(scene, floor)) == pytest.approx(
        expected, abs=0.006)


def test_critical_gain_agrees_with_the_nyquist_crossing(scene):
    p = c.plant(scene.model("soton_beam"), _act(scene))
    w = 2 * np.pi * np.geomspace(0.1, 200.0, 200_000)
    gm, _ = c.nyquist_gain_margin(c.colocated_loop(p, w))  # loop per unit gain
    assert gm == pytest.approx(c.dvf_critical_gain(scene.model("soton_beam"), _act(scene)),
                               rel=1e-4)


def test_no_device_force_no_instability(scene):
    act = dataclasses.replace(_act(scene), force_factor_n_per_a=0.0)
    assert c.dvf_critical_gain(scene.model(), act, g_max=100.0) == np.inf


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_rig_time_domain_decays_below_and_grows_above_critical(scene, factor):
    """The nonlinear-capable RK4 rig kernel (table held, motor coasting, current far below its
    clip) grows or decays at the rate of the closed-loop eigenvalue nearest the axis."""
    model, act = scene.model(), _act(scene)
    hc = c.dvf_critical_gain(model, act)
    alpha = c.dvf_closed_loop_eigenvalues(model, act, factor * hc).real.max()
    system = rig.build_rig(model, scene.motor_params(), scene.crank_params(), act)
    x = rig.initial_state(system)
    rig.RigStateView(x).floor_disp[:] = [1e-4, 1.5e-4, 2e-4]
    cmd = rig.RigCommand(mode=rig.MODE_COAST, dvf_gain=factor * hc, table=rig.TABLE_PRESCRIBED)
    out = rig.run(system, x, cmd, 1 / 20000, 200_000, 20)
    t, u = out.t, out.floor_disp[:, 0]
    early = np.abs(u[(t > 2) & (t < 3)]).max()
    late = np.abs(u[(t > 9) & (t < 10)]).max()
    assert (late > early) == (factor > 1)
    assert np.log(late / early) / 7.0 == pytest.approx(alpha, rel=0.15)


# --- Cristallo's control figures (soton_beam profile = soton_twin.py) -----------------------

def test_soton_twin_model(scene):
    m = scene.model("soton_beam")
    assert m.K[2, 2] == pytest.approx(52460.85, abs=0.01)
    f = np.sqrt(scipy.linalg.eigh(m.K, m.M, eigvals_only=True)) / (2 * np.pi)
    np.testing.assert_allclose(f, [7.1137, 19.9321, 28.8028], atol=1e-4)
    alpha, beta = 0.131762, 2.35386e-5
    np.testing.assert_allclose(m.C, alpha * m.M + beta * m.K, rtol=2e-5, atol=1e-6)


def _impedance_ke(model, act, omega, h=0.0):
    """Cristallo's formulation written independently: Z = jwM + C + K/jw, DVF as Z_c."""
    n = model.n
    f = act.floor - 1
    M = np.zeros((n + 1, n + 1))
    M[:n, :n] = model.M
    M[f, f] += act.base_mass_kg
    M[n, n] = act.proof_mass_kg
    e = np.zeros(n + 1)
    e[f], e[n] = 1, -1
    K = np.pad(model.K, (0, 1)) + act.stiffness_n_per_m * np.outer(e, e)
    C = np.pad(model.C, (0, 1)) + act.damping_ns_per_m * np.outer(e, e)
    Zc = act.force_factor_n_per_a * h * np.outer(e, np.eye(n + 1)[f])
    T = np.empty(omega.size)
    i = np.empty(omega.size)
    for k, w in enumerate(omega):
        v = np.linalg.solve(1j * w * M + C + K / (1j * w) + Zc, np.eye(n + 1)[0])
        T[k] = 0.25 * np.real(v[:n].conj() @ M[:n, :n] @ v[:n])
        i[k] = abs(h * v[f])
    return T, i


def test_energy_response_matches_impedance_form(scene):
    model, act = scene.model("soton_beam"), _act(scene, 2)
    w = W[::50]
    r = c.energy_response(c.dvf_loop(c.plant(model, act), 3.0), w)
    T, i = _impedance_ke(model, act, w, 3.0)
    np.testing.assert_allclose(r.kinetic_energy, T, rtol=1e-9)
    np.testing.assert_allclose(r.current, i, rtol=1e-9)


def test_uncontrolled_integral_tmd_and_dvf_figures(scene):
    model = scene.model("soton_beam")
    unc = c.energy_response(c.passive_loop(c.bare(model)), W)
    assert unc.integral == pytest.approx(0.156422, abs=1e-6)
    tmd = {1: 4.3678, 2: 2.6423, 3: 3.1442}
    dvf = {1: (9.7070, 1.6341), 2: (7.5714, 1.4869), 3: (7.9769, 1.3914)}
    for floor in (1, 2, 3):
        p = c.plant(model, _act(scene, floor))
        t = c.energy_response(c.passive_loop(p), W)
        assert c.ke_reduction_db(t.integral, unc.integral) == pytest.approx(tmd[floor], abs=1e-4)
        d = c.energy_response(c.dvf_loop(p, 5.0), W)
        assert c.ke_reduction_db(d.integral, unc.integral) == pytest.approx(dvf[floor][0],
                                                                            abs=1e-4)
        # ours is R int |i|^2 dw; Cristallo counted the force pair twice (bug 13.2)
        assert 2 * c.control_effort(d.current, W, 8.0) == pytest.approx(dvf[floor][1], abs=1e-4)


def test_dvf_ec_figures(scene):
    model = scene.model("soton_beam")
    unc = c.energy_response(c.passive_loop(c.bare(model)), W)
    p = c.plant(model, _act(scene))
    comp = (2 * np.pi * 6.5, 0.0612, 2 * np.pi * 3.0, 0.70)
    r = c.energy_response(c.dvf_ec_loop(p, 5.0, comp), W)
    assert c.ke_reduction_db(r.integral, unc.integral) == pytest.approx(10.3053, abs=1e-4)
    assert 2 * c.control_effort(r.current, W, 8.0) == pytest.approx(1.2737, abs=1e-4)
    # equal estimated and compensated dynamics: C_p = 1, exactly DVF
    same = (2 * np.pi * 6, 0.04, 2 * np.pi * 6, 0.04)
    r1 = c.energy_response(c.dvf_ec_loop(p, 5.0, same), W)
    r0 = c.energy_response(c.dvf_loop(p, 5.0), W)
    assert r1.integral == pytest.approx(r0.integral, rel=1e-10)


def test_lqg_with_cristallos_signals_reproduces_19_4179_db(scene):
    """Cristallo's LQG: LQR designed on the force input, applied through Bl (current = K x),
    measurement = state 2+n (proof-mass displacement for floor 1), disturbance -B_u."""
    model = scene.model("soton_beam")
    unc = c.energy_response(c.passive_loop(c.bare(model)), W)
    for floor, (db, watt) in {1: (19.4179, 18.8467), 3: (19.1610, 19.4804)}.items():
        act = _act(scene, floor)
        p = c.plant(model, act)
        bl = act.force_factor_n_per_a
        b_u = p.b_current / bl
        Q = 200.0 * np.diag([1, 1, 1, 0, 1, 1, 1, 0.0])
        K = c.lqr_gain(p.A, b_u, Q, 0.1)
        if floor == 1:
            np.testing.assert_allclose(K, [1406.757, 93.895, 942.041, 0, 55.528, -3.206, 5.814,
                                           -8.436], atol=2e-3)
        G = np.zeros((8, 8))
        G[:, 3] = bl * b_u
        G[:, 6] = -b_u
        c_meas = np.eye(8)[2 + floor]
        L = c.kalman_gain(p.A, G, c_meas, 1.0, 1e-12)
        loop = c.lqg_loop(p, K, L, c_meas, b_apply=p.b_current, disturbance=-b_u[:, None])
        r = c.energy_response(loop, W)
        assert c.ke_reduction_db(r.integral, unc.integral) == pytest.approx(db, abs=1e-3)
        # their effort: Z_e/Bl^2 int |Bl K xhat|^2 = R int |i|^2, no factor 2
        assert c.control_effort(r.current, W, 8.0) == pytest.approx(watt, rel=1e-4)


def test_nyquist_margin_of_a_known_loop():
    # L(s) = k / (s + 1)^3 crosses the negative real axis at w = sqrt(3) with |L| = k / 8
    w = np.geomspace(1e-3, 1e3, 100_000)
    gm, _ = c.nyquist_gain_margin(2.0 / (1j * w + 1) ** 3)
    assert gm == pytest.approx(4.0, rel=1e-6)
    A = np.array([[-3.0, -3, -1], [1, 0, 0], [0, 1, 0]])  # (s+1)^3 companion form
    b, cc = np.array([1.0, 0, 0]), np.array([0, 0, 2.0])
    assert c.critical_value(lambda g: A - g * np.outer(b, cc), 100.0) == pytest.approx(4.0,
                                                                                      rel=1e-9)
