"""The beam-frame FE model: element against beam theory, frame against the shear building."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.physics.fe_frame import (FrameSpec, Section, beam_frequencies, build_frame,
                                     frame_modes, shear_building_stiffness)

LEG = Section(0.003175, 0.0254, 69.982e9, 2700.05, 0.33)
L = 0.1524


def _analytic(beta_l: float) -> float:
    """Euler-Bernoulli beam frequency (Hz) for a root beta L of the frequency equation."""
    return beta_l**2 / (2 * np.pi * L**2) * np.sqrt(
        LEG.youngs_modulus_pa * LEG.inertia / (LEG.density_kg_m3 * LEG.area))


def _spec(**kw) -> FrameSpec:
    base = dict(n_storeys=3, floor_size_m=(0.254, 0.3048, 0.0254), leg_width_m=0.0254,
                leg_thickness_m=0.003175, free_leg_length_m=0.1524, base_clearance_m=0.0254,
                clamp_block_m=(0.0254, 0.0254, 0.0127), foot_leg_m=0.0508,
                foot_thickness_m=0.00635, foot_depth_m=0.0254, youngs_modulus_pa=69.982e9,
                density_kg_m3=2700.05, poisson_ratio=0.33)
    return FrameSpec(**(base | kw))


def test_cantilever_matches_euler_bernoulli_roots():
    f = beam_frequencies(L, LEG, 8, "free")
    # roots of cos(bL) cosh(bL) = -1
    np.testing.assert_allclose(f[:2], [_analytic(1.8751040687), _analytic(4.6940911330)],
                               rtol=2e-4)


def test_clamped_guided_matches_euler_bernoulli_roots():
    f = beam_frequencies(L, LEG, 8, "guided")
    # roots of tan(bL) + tanh(bL) = 0 (clamped at one end, sliding at the other)
    np.testing.assert_allclose(f[:2], [_analytic(2.3650203623), _analytic(5.4978039217)],
                               rtol=2e-4)


def test_timoshenko_is_slightly_softer_and_converges_to_euler_bernoulli_when_slender():
    eb = beam_frequencies(L, LEG, 8)[0]
    tim = beam_frequencies(L, LEG, 8, theory="timoshenko")[0]
    assert 0.998 * eb < tim < eb
    thin = Section(0.0003175, 0.0254, 69.982e9, 2700.05, 0.33)
    assert beam_frequencies(L, thin, 8, theory="timoshenko")[0] == pytest.approx(
        beam_frequencies(L, thin, 8)[0], rel=1e-5)


def test_storey_stiffness_is_tools_md_64292():
    assert shear_building_stiffness(_spec()) == pytest.approx(64292, abs=1)


def test_frame_with_rigid_clamps_sits_just_below_the_shear_building():
    spec = _spec()
    modes = frame_modes(build_frame(spec, 4), 40.0)
    # TOOLS.md 6.4: shear building 7.79, 21.84, 31.56 Hz with slab masses only; legs, blocks
    # and floor rocking make the frame softer: 7.62/21.34/30.84 Hz with masses lumped
    sb = np.array([7.79, 21.84, 31.56])
    assert modes.frequencies_hz.size == 3
    assert np.all(modes.frequencies_hz < sb)
    np.testing.assert_allclose(modes.frequencies_hz, [7.62, 21.34, 30.84], rtol=0.01)
    # every stiffness term is proportional to E and no mass is: frequencies scale as sqrt(E)
    stiff = frame_modes(build_frame(_spec(youngs_modulus_pa=69.982e10), 4), 200.0)
    np.testing.assert_allclose(stiff.frequencies_hz[:3] / modes.frequencies_hz,
                               np.sqrt(10), rtol=0.02)


def test_clamp_spring_softens_monotonically_and_stiff_spring_recovers_rigid_clamp():
    rigid = frame_modes(build_frame(_spec(), 4)).frequencies_hz[0]
    f = [frame_modes(build_frame(_spec(clamp_stiffness_n_m_per_rad=k), 4)).frequencies_hz[0]
         for k in (100.0, 1000.0, 1e8)]
    assert f[0] < f[1] < f[2] < rigid
    assert f[2] == pytest.approx(rigid, rel=1e-4)


def test_mode_shapes_have_one_sign_convention_and_node_motion():
    modes = frame_modes(build_frame(_spec(), 4), 40.0)
    for sway in modes.floor_sway:
        assert sway[np.argmax(np.abs(sway))] == pytest.approx(1.0)
    first = modes.floor_sway[0]
    assert np.all(first > 0) and np.all(np.diff(first) > 0)  # mode 1: all floors in phase
    assert modes.node_displacements.shape == (3, len(modes.nodes), 3)
    feet = modes.nodes[:, 1] == 0.0
    assert np.allclose(modes.node_displacements[:, feet], 0.0)  # clamped on the table
