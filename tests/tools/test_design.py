"""The design tool: TOOLS.md 3 figures (nominal frequencies, amplitudes, MC means), the nominal
against a dense solve, and the Fisher information and reliability sensitivity of a case whose
output is exactly Gaussian, against their closed forms."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats

from twin3d import tools
from twin3d.cli.main import main
from twin3d.physics.structure import chain_matrix
from twin3d.scenefile.records import load_scene
from twin3d.scenefile.schema import SchemaError

MOD = tools.get("design")
M = np.array([4.8724882, 5.4758033, 5.6923249])
K = np.array([4203.0027, 4147.6895, 5101.4822])
C = np.array([2.2007146, 9.2277e-4, 2.6138e-3])


@pytest.fixture(scope="module")
def scene():
    return load_scene()


def run(scene, **sets):
    return tools.run(MOD, tools.make_inputs(MOD, sets, scene=scene), tools.Context(scene=scene))


def test_example_through_the_cli_reproduces_tools_md_nominal_figures(capsys):
    sets = [f"{k}={json.dumps(v)}" for k, v in MOD.EXAMPLE.items()]
    assert main(["tool", "design", "--json", *sum((["--set", s] for s in sets), [])]) == 0
    r = json.loads(capsys.readouterr().out)["results"]
    np.testing.assert_allclose(r["natural_frequencies_hz"], [1.96763, 5.93351, 8.35587],
                               rtol=2e-6)
    np.testing.assert_allclose(r["nominal_amplitude_m"], [0.030176, 0.055460, 0.066896],
                               rtol=2e-5)
    # a dense solve of the mean model under the unit force on floor 1
    w = 2 * np.pi * 1.97
    D = chain_matrix(K) - w**2 * np.diag(M) + 1j * w * chain_matrix(C)
    X = np.linalg.solve(D, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(r["nominal_amplitude_m"], np.abs(X), rtol=1e-10)
    drift = np.diff(X, prepend=0.0)
    np.testing.assert_allclose(r["nominal_shear_n"], np.abs((K + 1j * w * C) * drift), rtol=1e-10)
    assert r["nominal_shear_n"][0] == pytest.approx(126.83, rel=2e-3)  # k1 |x1|, TOOLS.md 3.4
    assert r["outputs"] == ["x1", "x3", "s2"] and len(r["parameter_names"]) == 20
    fim = np.array(r["fim_normalised"])
    vec, lam = np.array(r["eigenvectors"]), np.array(r["eigenvalues"])
    np.testing.assert_allclose(vec @ np.diag(lam) @ vec.T, fim, atol=1e-9 * np.abs(fim).max())
    assert np.all(np.diff(lam) <= 0) and lam[-1] > -1e-6 * lam[0]


def test_default_monte_carlo_matches_tools_md_order_of_magnitude(scene):
    r = run(scene)  # seed 0, N = 1000, outputs x1 x2 x3
    # TOOLS.md 3.4 (numpy default_rng, seed 0, another draw order): 0.0135 / 0.0249 / 0.0300 m
    np.testing.assert_allclose(r.mean, [0.01353, 0.02487, 0.03000], rtol=0.1)
    np.testing.assert_allclose(r.std, [0.00968, 0.01777, 0.02143], rtol=0.15)
    # on a lightly damped resonance the mean is less than half the nominal response
    assert np.all(r.mean < 0.5 * r.nominal_amplitude_m)
    for k in range(3):
        e, dens = r.histogram_edges[k], r.histogram_density[k]
        assert np.sum(dens * np.diff(e)) == pytest.approx(1.0)
    assert np.all(r.percentile_values[0] < r.percentile_values[2])


def _gaussian_force_case(scene, **sets):
    # Only f1 random, N(1, 0.1): x1 = |H11| f1 is exactly Gaussian, so the output density's
    # Fisher information about (mu, sigma) is diag(1/sigma^2, 2/sigma^2).
    zero = [0.0, 0.0, 0.0]
    return run(scene, mass_std_kg=zero, stiffness_std_n_per_m=zero, damping_std_ns_per_m=zero,
               damping_distribution=["gaussian"] * 3, outputs=["x1"], **sets)


def test_fisher_information_of_a_gaussian_output_is_the_closed_form(scene):
    r = _gaussian_force_case(scene, samples=100_000, grid_points=40)
    assert r.parameter_names == ("mu_f1", "sigma_f1")
    np.testing.assert_allclose(np.diag(r.fim), [1 / 0.1**2, 2 / 0.1**2], rtol=0.05)
    np.testing.assert_allclose(r.eigenvalues, [1.0 / 0.1**2, 2.0], rtol=0.05)  # F b b
    # reliability and its change along eigenvector 1 (= the mean): P = Phi((t/|H| - mu)/sigma)
    h = r.nominal_amplitude_m[0]
    z = (r.thresholds[0] / h - 1.0) / 0.1
    assert r.reliability == pytest.approx(scipy.stats.norm.cdf(z), abs=0.01)
    dP_dmu = -scipy.stats.norm.pdf(z) / 0.1
    assert abs(r.eigenvectors[0, 0]) == pytest.approx(1.0, abs=1e-3)
    assert r.reliability_sensitivity[0] == pytest.approx(dP_dmu * 1.0 * r.eigenvectors[0, 0],
                                                         rel=0.05)


def test_fim_does_not_depend_on_the_order_of_the_outputs(scene):
    # each output is paired with its own grid axis (Cristallo's d >= 3 pairing was not)
    a = run(scene, outputs=["x1", "x3", "s2"], samples=3000)
    b = run(scene, outputs=["s2", "x1", "x3"], samples=3000, threshold_percent=[55.0] * 3)
    np.testing.assert_allclose(b.fim, a.fim, rtol=1e-8, atol=1e-10 * np.abs(a.fim).max())
    assert b.reliability == pytest.approx(a.reliability)


def test_gamma_dampings_follow_their_mean_and_std(scene):
    r = run(scene, outputs=["x2"], samples=400)
    names = r.parameter_names
    kappa, theta = (r.parameter_values[names.index(f"{p}_c2")] for p in ("kappa", "theta"))
    assert kappa == pytest.approx(0.6018186, rel=1e-5)  # Cristallo's Gamma(0.6018186, 0.0015333)
    assert theta == pytest.approx(0.0015333, rel=1e-5)


def test_plots_have_histograms_as_bars_and_units(scene):
    r = run(scene, outputs=["x3", "s1"], samples=500)
    p = MOD.plots(r)
    assert p[0].xlabel == "frequency (Hz)" and "dB re 1 m" in p[0].ylabel
    assert [q.kind for q in p[1:3]] == ["bars", "bars"]
    assert "(m)" in p[1].xlabel and "(N)" in p[2].xlabel
    assert any("reliability" in line for line in MOD.summary(r))
    inputs = tools.make_inputs(MOD, {}, scene=scene)
    with pytest.raises(tools.Cancelled):
        MOD.run(inputs, tools.Context(scene=scene, cancelled=lambda: True))


@pytest.mark.parametrize("sets, field", [
    ({"outputs": ["x4"]}, "outputs"),
    ({"outputs": ["x1", "x1"]}, "outputs"),
    ({"outputs": []}, "outputs"),
    ({"mass_std_kg": [0.1, 0.1]}, "mass_std_kg"),
    ({"damping_std_ns_per_m": [0.1, 0.0, 0.1]}, "damping_std_ns_per_m"),
    ({"grid_points": 400}, "grid_points"),
    ({"profile": "soton_beam"}, "profile"),  # Rayleigh damping: not a chain
    ({"threshold_percent": [50.0]}, "threshold_percent"),
    ({"mass_distribution": ["gaussian", "weibull", "gaussian"]}, "mass_distribution"),
])
def test_bad_inputs_name_the_field(scene, sets, field):
    with pytest.raises(SchemaError, match=field):
        run(scene, **sets)


def test_cli_bad_input_is_one_line(capsys):
    assert main(["tool", "design", "--set", 'outputs=["q1"]']) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "outputs" in err
