"""Damage on the simulated rig: `STOREY:FRACTION[@T]`, the truth's modes after the damage time
(against scipy.linalg.eigh of the damaged chain built independently), the simulated response
(against an exact LTI simulation of the damaged structure), the `sim?damage=..&truth=..` URL
and `twin3d rig --damage` bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from twin3d.physics import lti, rig
from twin3d.physics.structure import LinearModel, with_oscillator
from twin3d.rig.core import RigCore
from twin3d.rig.truth import Damage, SimulatedRig, damage_factors, parse_damage
from twin3d.scenefile.records import load_scene


@pytest.fixture(scope="module")
def scene():
    return load_scene("three_storey")


def damaged_carried(scene, fractions) -> LinearModel:
    """The identified chain with storey k scaled, the actuator hung on (coil open)."""
    p = scene.data.profiles["southampton_identified"]
    k = np.asarray(p.stiffness_n_per_m) * (1 + np.asarray(fractions))
    a = scene.data.actuator
    return with_oscillator(LinearModel.chain(p.mass_kg, k, p.damping_ns_per_m), a.floor,
                           a.base_mass_kg, a.proof_mass_kg, a.stiffness_n_per_m,
                           a.damping_ns_per_m)


def eigh_hz(m: LinearModel) -> np.ndarray:
    return np.sqrt(scipy.linalg.eigh(m.K, m.M, eigvals_only=True)) / (2 * np.pi)


@pytest.mark.parametrize("text, want", [
    ("2:-0.10@30", Damage(2, -0.10, 30.0)), ("1:-0.05", Damage(1, -0.05, 0.0)),
    (" 3:0.2@0 ", Damage(3, 0.2, 0.0))])
def test_parse_damage(text, want):
    assert parse_damage(text, 3) == want


@pytest.mark.parametrize("text, says", [
    ("4:-0.1", "storey 4 out of range (1..3)"), ("0:-0.1", "out of range"),
    ("1:-1", "fraction -1 out of range"), ("1:-1.5", "out of range"),
    ("1:abc", "'abc' is not a number"), ("x:-0.1", "not a whole number"),
    ("1", "expected STOREY:FRACTION"), ("1:-0.1@soon", "time 'soon' is not a number"),
    ("1:-0.1@-2", "must be >= 0"), ("1:nan", "out of range")])
def test_parse_damage_refuses(text, says):
    with pytest.raises(ValueError, match=None) as e:
        parse_damage(text, 3)
    assert says in str(e.value) and "\n" not in str(e.value)


def test_truth_modes_follow_the_damage_schedule(scene):
    core = RigCore(scene, truth="southampton_identified", ambient_rms=0.0)
    core.sim.set_damage([Damage(2, -0.10, 0.3), Damage(2, -0.05, 0.6), Damage(3, -0.15, 0.6)])
    intact = eigh_hz(damaged_carried(scene, [0, 0, 0]))
    np.testing.assert_allclose(core.sim.truth_frequencies_hz(), intact, rtol=1e-10)
    np.testing.assert_allclose(core.truth_hz, intact, rtol=1e-10)
    while core.sim.t < 0.3 - 1e-9:
        core.step(0.0)
    np.testing.assert_allclose(core.sim.truth_frequencies_hz(), intact, rtol=1e-10)
    core.step(0.0)  # the first block from t = 0.3 s
    np.testing.assert_allclose(core.sim.truth_frequencies_hz(),
                               eigh_hz(damaged_carried(scene, [0, -0.10, 0])), rtol=1e-10)
    while core.sim.t < 0.65:
        core.step(0.0)
    both = [0, (1 - 0.10) * (1 - 0.05) - 1, -0.15]  # two on one storey multiply
    np.testing.assert_allclose(core.sim.truth_frequencies_hz(),
                               eigh_hz(damaged_carried(scene, both)), rtol=1e-10)
    assert core.sim.damage_in_force == [{"storey": 2, "fraction": round(both[1], 6)},
                                        {"storey": 3, "fraction": -0.15}]
    np.testing.assert_allclose(damage_factors(core.sim.damage, 3, 0.4), [1, 0.9, 1])


def test_damaged_response_is_the_damaged_structure(scene):
    """Table acceleration prescribed: the kernel's floors follow an exact (foh) simulation of
    the damaged carried structure, and clearly not the intact one."""
    sim = SimulatedRig(scene, profile="southampton_identified")
    sim.set_damage([Damage(1, -0.15, 0.0)])
    sim.set_command(rig.RigCommand(mode=rig.MODE_COAST, table=rig.TABLE_PRESCRIBED))
    n = 2000  # 2 s at 1 kHz
    steps = n * sim.decimation
    t = np.arange(steps) * sim.dt
    ag = 0.5 * np.sin(2 * np.pi * 5.0 * t) * np.exp(-t)  # near mode 1
    block = sim.advance(n, base_acc=ag)
    u_rig = block.truth.floor_disp[:, :3]

    def lti_floors(model):
        A, B = model.state_matrices()
        d = lti.discretise(A, B[:, -1:], sim.dt, "foh")
        X = lti.step_sequence(d.Phi, d.G0, d.G1, np.zeros(A.shape[0]),
                              np.ascontiguousarray(ag[:, None]))
        return X[sim.decimation - 1::sim.decimation, :3]

    u_dam = lti_floors(damaged_carried(scene, [-0.15, 0, 0]))
    u_int = lti_floors(damaged_carried(scene, [0, 0, 0]))
    scale = np.abs(u_dam).max()
    err_dam = np.abs(u_rig - u_dam).max() / scale
    err_int = np.abs(u_rig - u_int).max() / scale
    assert err_dam < 0.02
    assert err_int > 10 * err_dam


def test_sim_url_takes_damage_and_truth(scene):
    from twin3d.rig.inprocess import open_sim

    src = open_sim("sim?damage=1:-0.10@30&damage=3:-0.05&seed=5&truth=southampton_identified",
                   scene)
    sim = src.rig.core.sim
    assert sim.damage == (Damage(1, -0.10, 30.0), Damage(3, -0.05, 0.0))
    assert src.rig.core.truth == "scene profile southampton_identified"
    np.testing.assert_allclose(sim.truth_frequencies_hz(),
                               eigh_hz(damaged_carried(scene, [0, 0, -0.05])), rtol=1e-10)


@pytest.mark.parametrize("url, says", [
    ("sim?damage=4:-0.1", "storey 4 out of range"),
    ("sim?damage=1:-1", "fraction -1 out of range"),
    ("sim?damage=1:x", "is not a number"),
    ("sim?damage=1:-0.1@x", "time 'x' is not a number"),
    ("sim?truth=nowhere", "truth 'nowhere' unknown"),
    ("sim?dammage=1:-0.1", "unknown parameter 'dammage'")])
def test_sim_url_refuses(scene, url, says):
    from twin3d.rig.inprocess import open_sim

    with pytest.raises(ValueError) as e:
        open_sim(url, scene)
    assert says in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("damage, says", [
    ("4:-0.1", "storey 4 out of range"), ("1:-1", "out of range"), ("1:abc", "not a number"),
    ("2:-0.1@later", "time 'later' is not a number")])
def test_rig_cli_refuses_bad_damage(run_twin3d, damage, says):
    code, _, err = run_twin3d("rig", "--mqtt", "127.0.0.1:1", "--damage", damage)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--damage" in lines[0] and says in lines[0]
