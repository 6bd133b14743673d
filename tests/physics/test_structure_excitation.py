"""A shear frame driven by base acceleration, a floor force or a force on a free or sprung base
(physics/shear_frame.py), against independent references: closed-form 1- and 2-DOF results,
matrices written out by hand, scipy.signal's state-space evaluation and discrete simulation,
and the fixed-base limit of a stiff base spring."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.signal

from twin3d.physics.shear_frame import (Loading, frf, input_vector, modes, simulate,
                                        solved_model, state_space, with_base)
from twin3d.physics.structure import LinearModel, modal_analysis

F = np.linspace(0.5, 60.0, 240)  # Hz
W = 2 * np.pi * F


def random_chain(seed: int, n: int) -> LinearModel:
    rng = np.random.default_rng(seed)
    return LinearModel.chain(rng.uniform(2.0, 8.0, n), rng.uniform(2e4, 8e4, n),
                             rng.uniform(1.0, 20.0, n))


def test_one_storey_accelerance_and_transmissibility_closed_form():
    m, k, c = 5.0, 4.0e4, 6.0
    model = LinearModel.chain([m], [k], [c])
    dyn = k - W**2 * m + 1j * W * c
    h = frf(model, Loading("floor_force", 1), F)
    np.testing.assert_allclose(h[:, 1], -W**2 / dyn, rtol=1e-10)
    np.testing.assert_array_equal(h[:, 0], 0.0)  # a fixed base does not move
    t = frf(model, Loading(), F)
    np.testing.assert_allclose(t[:, 1], (k + 1j * W * c) / dyn, rtol=1e-10)
    np.testing.assert_array_equal(t[:, 0], 1.0)  # the base is the input
    # receptance and mobility follow from the accelerance by 1/(jw)^2, 1/(jw)
    np.testing.assert_allclose(frf(model, Loading("floor_force", 1), F, "displacement")[:, 1],
                               1 / dyn, rtol=1e-10)
    np.testing.assert_allclose(frf(model, Loading("floor_force", 1), F, "velocity")[:, 1],
                               1j * W / dyn, rtol=1e-10)


def test_free_base_two_dof_closed_form():
    """Base mass m_b on rails (no spring), one storey m on k, c above it, force on the base."""
    mb, m, k, c = 6.4, 5.2, 3.5e5, 20.0
    kc = k + 1j * W * c
    det = (kc - W**2 * mb) * (kc - W**2 * m) - kc**2
    xb, x1 = (kc - W**2 * m) / det, kc / det
    h = frf(LinearModel.chain([m], [k], [c]), Loading("base_force", 0, mb), F)
    np.testing.assert_allclose(h[:, 0], -W**2 * xb, rtol=1e-9)
    np.testing.assert_allclose(h[:, 1], -W**2 * x1, rtol=1e-9)
    md = modes(LinearModel.chain([m], [k], [c]), Loading("base_force", 0, mb))
    assert md.frequencies_hz[0] == 0.0 and np.isnan(md.damping_ratios[0])  # rigid-body mode
    f2 = np.sqrt(k * (mb + m) / (mb * m)) / (2 * np.pi)
    assert md.frequencies_hz[1] == pytest.approx(f2, rel=1e-12)
    rigid = md.shapes[:, 0]
    np.testing.assert_allclose(rigid, rigid[0])  # the whole frame translates
    # the flexible mode has zero momentum: mb phi_b + m phi_1 = 0
    assert mb * md.shapes[0, 1] + m * md.shapes[1, 1] == pytest.approx(0.0, abs=1e-12)
    # a force on a free mass: accelerance tends to 1 / total mass at low frequency
    low = frf(LinearModel.chain([m], [k], [c]), Loading("base_force", 0, mb), [1e-3])
    np.testing.assert_allclose(low[0].real, 1 / (mb + m), rtol=1e-6)


def test_with_base_is_the_chain_with_the_base_as_its_first_floor():
    model = random_chain(1, 4)
    mb, kb, cb = 7.0, 1.2e4, 3.0
    full = with_base(model, mb, kb, cb)
    m = np.concatenate(([mb], np.diag(model.M)))
    k = np.concatenate(([kb], [model.K[0, 0] + model.K[0, 1]], -np.diag(model.K, 1)))
    c = np.concatenate(([cb], [model.C[0, 0] + model.C[0, 1]], -np.diag(model.C, 1)))
    ref = LinearModel.chain(m, k, c)  # storeys k_b, k_1..k_N from the ground up
    np.testing.assert_allclose(full.M, ref.M)
    np.testing.assert_allclose(full.K, ref.K, rtol=1e-12, atol=1e-12 * np.abs(ref.K).max())
    np.testing.assert_allclose(full.C, ref.C, rtol=1e-12, atol=1e-12 * np.abs(ref.C).max())


@pytest.mark.parametrize("loading", [
    Loading(),
    Loading("floor_force", 3),
    Loading("floor_force", 2, 9.0, 5e4, 4.0),  # a force on a frame on a sprung base
    Loading("base_force", 0, 6.0),  # free base
    Loading("base_force", 0, 6.0, 3e4, 2.0),  # sprung base
])
def test_frf_matches_direct_solve_and_scipy_state_space(loading):
    model = random_chain(2, 4)
    h = frf(model, loading, F)
    # direct dense solve of (K - w^2 M + j w C) x = f, built here from the hand-made chain
    s = solved_model(model, loading)
    b = input_vector(model, loading)
    for i in (0, 57, 199):
        x = np.linalg.solve(s.K - W[i] ** 2 * s.M + 1j * W[i] * s.C, b)
        acc = -W[i] ** 2 * x
        if loading.has_base:
            ref = acc
        elif loading.kind == "base_acceleration":
            ref = np.concatenate(([1.0], acc + 1.0))
        else:
            ref = np.concatenate(([0.0], acc))
        np.testing.assert_allclose(h[i], ref, rtol=1e-9, atol=1e-12)
    # scipy.signal: the first-order form evaluated as transfer functions, output by output
    A, B, C, D = state_space(model, loading)
    for j in range(C.shape[0]):
        num, den = scipy.signal.ss2tf(A, B, C[j:j + 1], D[j:j + 1])
        ref = np.polyval(num[0], 1j * W) / np.polyval(den, 1j * W)
        np.testing.assert_allclose(h[:, j], ref, rtol=1e-6, atol=1e-9)


def test_a_free_base_passes_the_fixed_base_transmissibility():
    """Floors over base, both measured, with a force on a free base: the frame sees only its
    base's motion, so the ratio is the fixed-base transmissibility, whatever the base mass."""
    model = random_chain(3, 3)
    t_fixed = frf(model, Loading(), F)[:, 1:]
    for mb in (0.5, 6.0, 200.0):
        h = frf(model, Loading("base_force", 0, mb), F)
        np.testing.assert_allclose(h[:, 1:] / h[:, [0]], t_fixed, rtol=1e-8)


def test_stiff_base_spring_tends_to_the_fixed_base_chain():
    model = random_chain(4, 3)
    fixed = frf(model, Loading("floor_force", 2), F)
    errs = []
    for kb in (1e8, 1e10, 1e12):
        h = frf(model, Loading("floor_force", 2, 5.0, kb), F)
        errs.append(np.max(np.abs(h[:, 1:] - fixed[:, 1:]) / np.abs(fixed[:, 1:]).max()))
        assert np.max(np.abs(h[:, 0])) < 1e3 * np.abs(fixed).max() / kb * 1e5
    assert errs[0] < 1e-2 and errs[2] < 1e-6 and errs[0] > errs[1] > errs[2]
    # and its modes: the fixed chain's, plus the base bouncing on its spring far above
    f_fixed = modal_analysis(model).frequencies_hz
    f_stiff = modes(model, Loading("floor_force", 2, 5.0, 1e12)).frequencies_hz
    np.testing.assert_allclose(f_stiff[:3], f_fixed, rtol=1e-6)
    assert f_stiff[3] > 1e3


def test_free_base_modes_are_the_eigenvalues_of_the_free_chain():
    model = random_chain(5, 4)
    mb = 4.0
    md = modes(model, Loading("base_force", 0, mb))
    m = np.concatenate(([mb], np.diag(model.M)))
    ks = np.concatenate(([model.K[0, 0] + model.K[0, 1]], -np.diag(model.K, 1)))
    K = np.zeros((5, 5))  # the free-free chain, written out spring by spring
    for i, k in enumerate(ks):
        K[i:i + 2, i:i + 2] += k * np.array([[1, -1], [-1, 1]])
    w2 = scipy.linalg.eigvalsh(K, np.diag(m))
    np.testing.assert_allclose(md.frequencies_hz[1:], np.sqrt(w2[1:]) / (2 * np.pi), rtol=1e-10)
    assert md.frequencies_hz[0] == 0.0
    assert np.all(np.isfinite(md.damping_ratios[1:])) and np.all(md.damping_ratios[1:] > 0)


def test_simulate_matches_scipy_dlsim_and_the_frf_in_steady_state():
    model = random_chain(6, 3)
    loading = Loading("floor_force", 3)
    fs = 100.0
    rng = np.random.default_rng(0)
    u = rng.normal(size=3000)
    y, x_end = simulate(model, loading, u, fs)
    A, B, C, D = state_space(model, loading)
    Ad, Bd, Cd, Dd, _ = scipy.signal.cont2discrete((A, B, C, D), 1 / fs, method="zoh")
    _, y_ref, x_ref = scipy.signal.dlsim((Ad, Bd, Cd, Dd, 1 / fs), u)
    np.testing.assert_allclose(y, y_ref, rtol=1e-8, atol=1e-10 * np.abs(y_ref).max())
    # continuing from the state after 1000 samples equals one long run
    y_a, x_a = simulate(model, loading, u[:1000], fs)
    y_b, _ = simulate(model, loading, u[1000:], fs, x0=x_a)
    np.testing.assert_allclose(np.vstack([y_a, y_b]), y, rtol=1e-10, atol=1e-12)
    assert x_end.shape == (6,)
    # a slow sine on a well-damped frame settles to H(j w) (amplitude and phase): the
    # response's projection on e^{-j w t} over whole periods of the tail, y = Im(H e^{j w t})
    damped = LinearModel(M=model.M, C=30 * model.C, K=model.K)
    f0, fs2 = 2.0, 2000.0
    t = np.arange(int(20 * fs2)) / fs2
    y, _ = simulate(damped, loading, np.sin(2 * np.pi * f0 * t), fs2)
    tail = slice(int(10 * fs2), None)  # 10 s: 20 whole periods
    h_sim = 1j * 2 * np.mean(y[tail] * np.exp(-2j * np.pi * f0 * t[tail])[:, None], axis=0)
    h = frf(damped, loading, [f0])[0]
    # the held input reaches the state half a sample late (w dt / 2 = 3 mrad); the direct
    # share (1/m on the forced floor) is read at the sample itself
    d = state_space(damped, loading)[3][:, 0]
    h_zoh = (h - d) * np.exp(-1j * np.pi * f0 / fs2) + d
    np.testing.assert_allclose(h_sim[1:], h_zoh[1:], rtol=3e-3)  # unsettled: ~1e-3


def test_loading_refuses_what_it_cannot_be():
    model = random_chain(7, 3)
    with pytest.raises(ValueError, match="floor must be 1..3"):
        frf(model, Loading("floor_force", 4), F)
    with pytest.raises(ValueError, match="base_force needs a base mass"):
        frf(model, Loading("base_force"), F)
    with pytest.raises(ValueError, match="loading kind must be one of"):
        frf(model, Loading("earthquake"), F)
    with pytest.raises(ValueError, match="output must be one of"):
        frf(model, Loading(), F, output="jerk")
    assert Loading("base_force", 0, 1.0).free_base and not Loading().has_base
    assert not Loading("floor_force", 1, 1.0, 5.0).free_base
