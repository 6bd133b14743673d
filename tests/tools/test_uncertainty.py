"""The uncertainty tool: TOOLS.md 2.4 figures, the nominal against a dense solve and
physics.structure.frf, one seeded Monte Carlo draw for every frequency, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin3d import tools
from twin3d.cli.main import main
from twin3d.physics import uncertainty as uq
from twin3d.physics.structure import LinearModel, chain_matrix, frf
from twin3d.scenefile.records import load_scene
from twin3d.scenefile.schema import SchemaError

MOD = tools.get("uncertainty")
# Cristallo's UQ page centres (TOOLS.md 2.2), x1e4 scaling kept so its log10 figures apply.
PAGE = {"mass_kg": [5.36e4, 5.14e4, 5.14e4], "stiffness_n_per_m": [3.85e8, 4.46e8, 4.59e8],
        "damping_ns_per_m": [1.70e4, 1.02e4, 1.34e4]}
RAD = 1 / (2 * np.pi)


@pytest.fixture(scope="module")
def scene():
    return load_scene()


def run(scene, **sets):
    return tools.run(MOD, tools.make_inputs(MOD, sets, scene=scene), tools.Context(scene=scene))


def test_example_through_the_cli_matches_frf_and_contains_its_monte_carlo(capsys):
    sets = [f"{k}={json.dumps(v)}" for k, v in MOD.EXAMPLE.items()]
    assert main(["tool", "uncertainty", "--json", *sum((["--set", s] for s in sets), [])]) == 0
    r = json.loads(capsys.readouterr().out)["results"]
    f = np.array(r["frequency_hz"])
    model = load_scene().model("southampton_numerical")
    ref = np.abs(frf(model, f, excitation=2)[:, 0])  # output floor 1
    np.testing.assert_allclose(r["nominal"], ref, rtol=1e-10)
    lower, upper = np.array(r["lower"]), np.array(r["upper"])
    assert np.all(lower <= ref) and np.all(ref <= upper)
    assert r["mc_outside"] == 0 and r["vertices"] == 512 and r["samples"] == 200
    assert np.all(np.array(r["mc_upper"]) <= upper * (1 + 1e-9))
    assert np.all(np.array(r["percentile_lower"]) <= np.array(r["percentile_upper"]))


def test_nominal_reproduces_tools_md_page_figures(scene):
    # 350 points on 5..200 rad/s, force at floor 2 (TOOLS.md 2.4)
    for floor, peak in zip((1, 2, 3), (-6.1765, -5.9526, -5.8685)):
        r = run(scene, **PAGE, excitation_floor=2, output_floor=floor, f_min_hz=5 * RAD,
                f_max_hz=200 * RAD, n_frequencies=350, samples=0)
        assert np.log10(r.nominal.max()) == pytest.approx(peak, abs=1e-4)
        assert 2 * np.pi * r.frequency_hz[np.argmax(r.nominal)] == pytest.approx(39.642, abs=1e-3)
    np.testing.assert_allclose(2 * np.pi * r.natural_frequencies_hz, [39.714, 112.780, 166.566],
                               atol=1e-3)
    # and against a direct dense solve of the page model
    n = 3
    theta = np.r_[PAGE["mass_kg"], PAGE["stiffness_n_per_m"], PAGE["damping_ns_per_m"]]
    w = 2 * np.pi * r.frequency_hz
    K, C = chain_matrix(theta[n:2 * n]), chain_matrix(theta[2 * n:])
    D = K[None] - w[:, None, None] ** 2 * np.diag(theta[:n])[None] + 1j * w[:, None, None] * C
    x = np.linalg.solve(D, np.broadcast_to([0, 1.0, 0], (w.size, n))[..., None])[..., 0]
    np.testing.assert_allclose(r.nominal, np.abs(x[:, 2]), rtol=1e-10)


def test_vertex_band_is_wider_than_cristallos_diagonal_band(scene):
    # TOOLS.md 2.4: Cristallo's upper band peaks at log10 -5.7066 / -5.4829 / -5.3985
    for floor, cristallo in zip((1, 2, 3), (-5.7066, -5.4829, -5.3985)):
        r = run(scene, **PAGE, excitation_floor=2, output_floor=floor, f_min_hz=5 * RAD,
                f_max_hz=200 * RAD, samples=500)
        assert np.log10(r.upper.max()) > cristallo
        lo, hi = uq.interval_box(np.r_[PAGE["mass_kg"], PAGE["stiffness_n_per_m"],
                                       PAGE["damping_ns_per_m"]], 0.05)
        dl, du = uq.diagonal_band(lo, hi, 2 * np.pi * r.frequency_hz, 1)
        assert np.all(r.upper >= du[:, floor - 1] * (1 - 1e-9))
        assert np.all(r.lower <= dl[:, floor - 1] * (1 + 1e-9))
        assert r.mc_outside == 0


def test_monte_carlo_is_one_seeded_draw_used_at_every_frequency(scene):
    # With one sample the "band" must be the FRF of one structure: the one the seed draws.
    r = run(scene, samples=1, seed=11, spread_percent=10.0, output_floor=1)
    np.testing.assert_array_equal(r.mc_lower, r.mc_upper)
    centre = np.r_[5.0394, 4.9919, 4.9693, 34958.3691, 43195.1237, 43295.9086,
                   7.8963, 4.0129, 5.4905]
    lo, hi = uq.interval_box(centre, 0.1)
    theta = lo + (hi - lo) * np.random.default_rng(11).random((1, 9))
    model = LinearModel.chain(theta[0, :3], theta[0, 3:6], theta[0, 6:])
    ref = np.abs(frf(model, r.frequency_hz, excitation=2)[:, 0])
    np.testing.assert_allclose(r.mc_upper, ref, rtol=1e-10)
    again = run(scene, samples=300, seed=4)
    np.testing.assert_array_equal(again.mc_upper, run(scene, samples=300, seed=4).mc_upper)
    assert np.all(again.mc_lower <= again.percentile_lower)
    assert np.all(again.percentile_upper <= again.mc_upper)


def test_per_parameter_widths_override_the_common_one(scene):
    r = run(scene, spread_percent=0.0, stiffness_spread_percent=[5.0, 0.0, 2.0], samples=100)
    assert r.vertices == 4 and r.mc_outside == 0
    none = run(scene, spread_percent=0.0, samples=50)
    assert none.vertices == 1
    np.testing.assert_allclose(none.lower, none.nominal, rtol=1e-10)
    np.testing.assert_allclose(none.mc_upper, none.nominal, rtol=1e-10)


def test_plots_are_in_hz_and_db_and_cancellation_stops(scene):
    r = run(scene, samples=100)
    p = MOD.plots(r)
    assert p[0].xlabel == "frequency (Hz)" and "dB re 1 m/N" in p[0].ylabel
    np.testing.assert_allclose(p[0].ys[0], 20 * np.log10(r.nominal))
    assert len(MOD.summary(r)) == 4
    inputs = tools.make_inputs(MOD, {"samples": 2000}, scene=scene)
    with pytest.raises(tools.Cancelled):
        MOD.run(inputs, tools.Context(scene=scene, cancelled=lambda: True))


@pytest.mark.parametrize("sets, field", [
    ({"output_floor": 4}, "output_floor"),
    ({"f_min_hz": 10.0, "f_max_hz": 5.0}, "f_max_hz"),
    ({"mass_spread_percent": [1.0, 2.0]}, "mass_spread_percent"),
    ({"percentiles": [90.0, 10.0]}, "percentiles"),
    ({"distribution": "cauchy"}, "distribution"),
    ({"profile": "soton_beam"}, "profile"),  # Rayleigh damping: not a chain
])
def test_bad_inputs_name_the_field(scene, sets, field):
    with pytest.raises(SchemaError, match=field):
        run(scene, **sets)


def test_cli_bad_input_is_one_line(capsys):
    assert main(["tool", "uncertainty", "--set", "output_floor=4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "output_floor" in err
