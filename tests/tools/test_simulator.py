"""simulator tool: Cristallo's hammer figures (TOOLS.md 7.1/14), scipy references, independent
Monte Carlo draws, no skipped pulse, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate
import scipy.signal

from twin3d import tools
from twin3d.physics import monte_carlo as sim
from twin3d.scenefile.records import load_scene
from twin3d.scenefile.schema import SchemaError

MOD = tools.get("simulator")


@pytest.fixture(scope="module")
def ctx():
    return tools.Context(scene=load_scene())


def _run(ctx, **sets):
    return tools.run(MOD, tools.make_inputs(MOD, sets, scene=ctx.scene), ctx)


@pytest.fixture(scope="module")
def example(ctx):
    return tools.run(MOD, tools.example_inputs(MOD), ctx)


def test_example_reproduces_cristallos_hammer_run(example):
    r = example
    np.testing.assert_allclose(r.natural_frequencies_hz, [6.2036, 17.8002, 26.4022], atol=1e-4)
    assert r.t.size == 10240 and r.t[1] == pytest.approx(0.48833e-3, rel=1e-4)
    np.testing.assert_allclose(r.peak_displacement_m, [7.3925e-3, 8.4307e-3, 1.26866e-2],
                               rtol=2e-5)
    np.testing.assert_allclose(r.peak_time_s, [0.8526, 1.0216, 0.5425], atol=1e-4)
    assert r.frequency_hz[1] == pytest.approx(0.99990, abs=1e-5)  # Welch resolution
    for f0 in (6.0, 18.0, 26.0):  # PSD peaks at these bins (floor 1)
        band = (r.frequency_hz > f0 - 3) & (r.frequency_hz < f0 + 3)
        assert r.frequency_hz[band][np.argmax(r.displacement_psd[band, 0])] == pytest.approx(
            f0, abs=0.01)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # DOP853 from rest
def test_hammer_history_matches_solve_ivp_on_the_continuous_pulse(ctx, example):
    model = ctx.scene.model("southampton_identified")
    A, B = model.state_matrices()

    def rhs(t, x):
        return A @ x + B[:, 0] * 300.0 * np.exp(-0.5 * ((t - 0.5) / 0.01) ** 2)

    ref = scipy.integrate.solve_ivp(rhs, (0, 5), np.zeros(6), t_eval=example.t, method="DOP853",
                                    rtol=1e-11, atol=1e-12, max_step=1e-3).y.T
    scale = np.abs(ref[:, :3]).max()
    assert np.abs(example.displacement_m - ref[:, :3]).max() < 2e-5 * scale
    force = 300.0 * np.exp(-0.5 * ((example.t - 0.5) / 0.01) ** 2)
    acc = (A @ ref.T).T[:, 3:] + np.outer(force, B[3:, 0])  # no base motion: absolute
    assert np.abs(example.acceleration_m_s2 - acc).max() < 1e-4 * np.abs(acc).max()


def test_earthquake_matches_lsim_and_crank_input_is_the_scene_stroke(ctx):
    r = _run(ctx, excitation="earthquake", duration_s=10.0, sample_rate_hz=256.0, pga_m_s2=2.0)
    assert np.abs(r.input_history).max() == pytest.approx(2.0)
    A, B = ctx.scene.model().state_matrices()
    _, _, x = scipy.signal.lsim((A, B[:, -1:], np.eye(6), np.zeros((6, 1))), r.input_history,
                                r.t)
    assert np.abs(r.displacement_m - x[:, :3]).max() < 1e-8 * np.abs(x[:, :3]).max()
    np.testing.assert_allclose(r.acceleration_m_s2, (A @ x.T).T[:, 3:]
                               + B[3:, -1] * r.input_history[:, None] + r.input_history[:, None],
                               atol=1e-8 * np.abs(r.acceleration_m_s2).max())
    c = _run(ctx, excitation="crank", crank_rpm=300.0, duration_s=1.0)
    w = 300.0 * 2 * np.pi / 60
    assert c.input_history[0] == pytest.approx(-0.00025 * w * w)  # a_g = -r w^2 cos(w t)
    assert _run(ctx, excitation="crank", crank_rpm=300.0, duration_s=1.0,
                stroke_m=0.0005).input_history[0] == pytest.approx(-0.0005 * w * w)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # DOP853 from rest
def test_a_short_pulse_at_a_coarse_rate_is_not_skipped(ctx):
    """A 1 ms pulse sampled at 256 Hz: the fine internal grid still carries its impulse."""
    r = _run(ctx, hammer_width_s=1e-3, hammer_time_s=0.3, sample_rate_hz=256.0, duration_s=2.0)
    model = ctx.scene.model()
    A, B = model.state_matrices()

    def rhs(t, x):
        return A @ x + B[:, 0] * 300.0 * np.exp(-0.5 * ((t - 0.3) / 1e-3) ** 2)

    ref = scipy.integrate.solve_ivp(rhs, (0, 2), np.zeros(6), t_eval=r.t, method="DOP853",
                                    rtol=1e-10, atol=1e-12, max_step=1e-4).y.T
    assert np.abs(ref[:, :3]).max() > 1e-4
    assert np.abs(r.displacement_m - ref[:, :3]).max() < 1e-4 * np.abs(ref[:, :3]).max()


def test_monte_carlo_groups_are_independent_and_seeded():
    gens = sim.generators(10)
    s = sim.draw_scenarios([5.0] * 3, [4e4] * 3, [5.0] * 3, [0] * 3, [0] * 3,
                           {"mass": 0.1, "stiffness": 1000.0, "damping": 1.0}, 4000, gens)
    zm = (s.mass - 5.0).ravel() / 0.1
    zk = (s.stiffness - 4e4).ravel() / 1000.0
    assert abs(np.corrcoef(zm, zk)[0, 1]) < 0.05  # Cristallo's seed-10 draws had r = 1
    assert zm.std() == pytest.approx(1.0, abs=0.05)
    again = sim.draw_scenarios([5.0] * 3, [4e4] * 3, [5.0] * 3, [0] * 3, [0] * 3,
                               {"mass": 0.1, "stiffness": 1000.0, "damping": 1.0}, 4000,
                               sim.generators(10))
    np.testing.assert_array_equal(s.mass, again.mass)
    tight = sim.truncated_normal(np.random.default_rng(0), [1.0], 2.0, 1000)
    assert tight.min() > 0


def test_monte_carlo_band_contains_every_scenario_and_differs(ctx):
    r = _run(ctx, scenarios=6, mass_sd_kg=0.2, stiffness_sd_n_per_m=2000.0, duration_s=2.0,
             sample_rate_hz=512.0)
    lo, hi = r.displacement_band_m
    assert np.all(lo <= hi) and np.ptp(r.scenario_peak_displacement_m[:, 0]) > 1e-5
    assert r.scenario_peak_displacement_m.shape == (6, 3)


def test_bad_inputs_and_cancel(ctx):
    with pytest.raises(SchemaError, match="floor: no such floor"):
        _run(ctx, floor=5)
    with pytest.raises(SchemaError, match="noise_f_max_hz"):
        _run(ctx, excitation="white_noise", sample_rate_hz=128.0, noise_f_max_hz=100.0)
    with pytest.raises(SchemaError, match="x0_m: one value per floor"):
        _run(ctx, x0_m=[0.001])
    with pytest.raises(SchemaError, match="damping_sd_ns_per_m"):
        _run(ctx, profile="soton_beam", damping_sd_ns_per_m=1.0)
    with pytest.raises(SchemaError, match="excitation: not one of"):
        tools.make_inputs(MOD, {"excitation": "bomb"})
    c = tools.Context(scene=ctx.scene, cancelled=lambda: True)
    with pytest.raises(tools.Cancelled):
        tools.run(MOD, tools.make_inputs(MOD, {"scenarios": 3, "mass_sd_kg": 0.1}), c)


def test_plots_and_summary(example):
    titles = [p.title for p in tools.plots(MOD, example)]
    assert any("PSD" in t for t in titles) and sum("displacement" in t for t in titles) >= 3
    assert "7.3925e-3" in tools.summary_lines(MOD, example)[1].replace("0.0073925", "7.3925e-3")
