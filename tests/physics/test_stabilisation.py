"""Stabilisation diagram, shapes and the storey-mode choice (physics.stabilisation), the data
band (physics.modal_peaks) and the bounded chain fit, against models whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.physics import modal_peaks
from twin3d.physics import stabilisation as S
from twin3d.physics.chain_update import chain_damping, fit_chain
from twin3d.physics.structure import LinearModel, frf, modal_analysis

M = np.array([5.0, 5.2, 4.8, 5.1])
K = np.array([4.0e4, 3.6e4, 3.3e4, 2.9e4])


def _chain():
    c = chain_damping(M, K, 0.01)
    model = LinearModel.chain(M, K, c)
    return model, modal_analysis(model)


def _exact_poles(model):
    A, _ = model.state_matrices()
    lam = np.linalg.eigvals(A)
    lam = lam[lam.imag > 0]
    return lam[np.argsort(lam.imag)]


def test_stable_poles_of_a_noise_free_frf_are_the_exact_ones():
    """The z-domain rational model is not exactly a continuous system's FRF, so a few more
    orders than 2 per mode are needed; the stable poles then sit on the exact eigenvalues."""
    model, _ = _chain()
    f = np.linspace(2.0, 50.0, 700)
    poles, _ = S.stable_poles(f, frf(model, f, 2, "accelerance"), range(8, 31, 2))
    exact = _exact_poles(model)
    assert len(poles) == exact.size
    np.testing.assert_allclose([p.lam for p in poles], exact, rtol=1e-4)
    assert S.lscf_poles(f, frf(model, f, 2, "accelerance"), 20).size >= exact.size


def test_stable_poles_keep_the_modes_and_drop_the_noise_poles():
    model, modes = _chain()
    rng = np.random.default_rng(2)
    f = np.linspace(2.0, 50.0, 700)
    h = frf(model, f, 4, "accelerance")
    h = h * (1 + 0.02 * (rng.standard_normal(h.shape) + 1j * rng.standard_normal(h.shape)))
    poles, diagram = S.stable_poles(f, h, range(8, 41, 2))
    assert len(diagram) == 17 and max(p.size for p in diagram) > 4  # noise poles exist
    assert len(poles) == 4  # ... and are gone
    np.testing.assert_allclose([p.frequency_hz for p in poles], modes.frequencies_hz,
                               rtol=2e-3)
    np.testing.assert_allclose([p.damping_ratio for p in poles], modes.damping_ratios,
                               rtol=0.1)


def test_residue_shapes_are_the_chains_modes_and_count_their_sign_changes():
    model, modes = _chain()
    f = np.linspace(2.0, 50.0, 700)
    poles, _ = S.stable_poles(f, frf(model, f, 1, "accelerance"), range(8, 25, 2))
    res = S.mode_shapes(f, frf(model, f, 1, "accelerance"), poles)
    for r in range(4):
        phi, col = S.real_shape(res[:, r])
        assert col > 0.999
        assert S.mac(phi, modes.shapes[:, r]) > 0.999
        assert S.sign_changes(phi) == r  # Sturm: mode r + 1 of a chain changes sign r times
    # base excitation (a transmissibility) gives the same shapes
    t = frf(model, f, "base", "accelerance")
    res_t = S.mode_shapes(f, t, poles)
    assert all(S.mac(S.real_shape(res_t[:, r])[0], modes.shapes[:, r]) > 0.999
               for r in range(4))


def test_an_in_phase_pole_beside_mode_1_is_not_a_storey_mode():
    """A torsional-like mode (every floor in phase, like mode 1) at 1.23 x mode 1, weaker: the
    chain's mode 1 is chosen and the other rejected with its reason; a pole whose shape fits
    no storey mode (two sign changes below mode 2) is rejected too."""
    model, modes = _chain()
    f = np.linspace(2.0, 50.0, 1500)
    h = frf(model, f, 4, "accelerance")
    w = 2 * np.pi * f
    extra = []
    for fx, shape, amp in ((1.23 * modes.frequencies_hz[0], [0.3, 0.6, 0.8, 1.0], 0.3),
                           (0.5 * (modes.frequencies_hz[0] + modes.frequencies_hz[1]),
                            [1.0, -1.0, 1.0, 0.2], 0.05)):
        wx = 2 * np.pi * fx
        h = h + amp * np.outer(-w * w / (wx * wx - w * w + 2j * 0.01 * wx * w), shape) / 5.0
        extra.append(fx)
    poles, _ = S.stable_poles(f, h, range(12, 41, 2))
    pf = np.array([p.frequency_hz for p in poles])
    assert all(np.min(np.abs(pf / fx - 1)) < 2e-3 for fx in extra)  # physical poles, stable
    res = S.mode_shapes(f, h, poles)
    pick = S.bending_modes(poles, res, 4, modes.shapes)
    chosen = [poles[i].frequency_hz for i in pick.modes]
    np.testing.assert_allclose(chosen, modes.frequencies_hz, rtol=2e-3)
    why = {round(poles[i].frequency_hz, 1): text for i, text in pick.rejected.items()}
    assert "weaker" in why[round(extra[0], 1)] or "MAC" in why[round(extra[0], 1)]
    assert "sign changes" in why[round(extra[1], 1)]


def test_data_band_spans_the_coherent_peaks_only():
    model, modes = _chain()
    f = np.linspace(0.1, 200.0, 4000)
    h = frf(model, f, 1, "accelerance")
    coh = np.ones(h.shape)
    # a sharp incoherent bump at 120 Hz (an unmeasured input) is no resonance of ours
    h[np.abs(f - 120.0) < 0.3] *= 30.0
    coh[np.abs(f - 120.0) < 2.0] = 0.1
    band = modal_peaks.data_band(f, h, 4, coh)
    assert band.lo_hz < modes.frequencies_hz[0] and modes.frequencies_hz[-1] < band.hi_hz < 100
    with pytest.raises(ValueError, match="no resonance peak"):
        modal_peaks.data_band(f, h, 4, np.zeros(h.shape))


def test_fit_chain_explicit_bounds_clip_the_start_and_report_the_bound():
    model, _ = _chain()
    f = np.linspace(3.0, 45.0, 300)
    c = chain_damping(M, K, 0.01)
    h = frf(model, f, 1, "accelerance")

    def response(m, k, cc, f_):
        return frf(LinearModel.chain(m, k, cc), f_, 1, "accelerance")

    # bounds around the truth: found, nothing on a bound
    lo = np.concatenate([K / 2, c / 10])
    hi = np.concatenate([K * 2, c * 10])
    fit = fit_chain(f, h, response, M, [(K * 1.3, c)], fit_gain=False, bounds=(lo, hi))
    np.testing.assert_allclose(fit.stiffness_n_per_m, K, rtol=1e-4)
    assert fit.at_bound == ()
    # storey 2 may not reach its true value: it ends on its bound, and says so
    hi2 = hi.copy()
    hi2[1] = 0.8 * K[1]
    fit = fit_chain(f, h, response, M, [(K, c)], fit_gain=False, bounds=(lo, hi2))
    assert "stiffness 2" in fit.at_bound
    assert fit.stiffness_n_per_m[1] == pytest.approx(0.8 * K[1], rel=2e-3)
    with pytest.raises(ValueError, match="bounds"):
        fit_chain(f, h, response, M, [(K, c)], bounds=(hi, lo))
