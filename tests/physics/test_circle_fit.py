"""Circle-fit identification and the least-squares chain update, against analytic FRFs."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.physics import circle_fit as cf
from twin3d.physics.structure import LinearModel, frf, modal_analysis

M = np.array([5.0394, 4.9919, 4.9693])
K = np.array([34958.3691, 43195.1237, 43295.9086])
C = np.array([7.8963, 4.0129, 5.4905])
F = np.arange(1, 1400) / 32.0  # Cristallo's 1/32 Hz grid up to ~44 Hz


def _noisy(h, rng, rel=0.02, floor=0.002):
    n = lambda: rng.standard_normal(h.shape) + 1j * rng.standard_normal(h.shape)  # noqa: E731
    return h * (1 + rel * n()) + floor * n()


def test_circle_of_an_sdof_mobility_gives_its_frequency_damping_and_modal_constant():
    fn, zeta, A = 12.3, 0.004, 0.2  # A in Y = jw A / (wn^2 - w^2 + 2j zeta wn w)
    wn = 2 * np.pi * fn
    f = fn + np.arange(-6, 7) * 0.03
    w = 2 * np.pi * f
    y = 1j * w * A / (wn**2 - w**2 + 2j * zeta * wn * w) + (0.01 - 0.02j)  # residual offset
    c = cf.fit_circle(f, y)
    assert c.frequency_hz == pytest.approx(fn, rel=1e-6)  # between bins, not quantised
    assert c.damping_ratio == pytest.approx(zeta, rel=1e-4)
    assert c.radius == pytest.approx(A / (4 * zeta * wn), rel=1e-6)  # diameter A/(2 zeta wn)
    assert c.modal_constant == pytest.approx(A, rel=1e-4)
    assert cf.fit_circle(f, -y).modal_constant == pytest.approx(-A, rel=1e-4)


def test_bands_skip_low_frequency_bumps_and_anti_resonances():
    model = LinearModel.chain(M, K, C)
    h = frf(model, F, 1, "accelerance")
    h[F < 2.5] += 50 * np.exp(-((F[F < 2.5] - 1.5) / 0.1) ** 2)[:, None]  # big noise bumps
    bands = cf.find_bands(F, h, 3)
    ref = modal_analysis(model).frequencies_hz
    np.testing.assert_allclose([b.peak_hz for b in bands], ref, atol=1 / 32)
    for b, fr in zip(bands, ref):
        assert F[b.lo] < fr < F[b.hi - 1]
    with pytest.raises(ValueError, match="need 4"):
        cf.find_bands(F, h, 4)


@pytest.mark.parametrize("floor", [1, 2, 3])
def test_chain_recovered_from_noisy_frfs_excited_at_any_floor(floor):
    model = LinearModel.chain(M, K, C)
    h = _noisy(frf(model, F, floor, "accelerance"), np.random.default_rng(floor))
    ident = cf.identify(F, h)
    ref = modal_analysis(model)
    assert ident.driving_point == floor - 1
    np.testing.assert_allclose(ident.frequencies_hz, ref.frequencies_hz, rtol=2e-4)
    np.testing.assert_allclose(ident.damping_ratios, ref.damping_ratios, rtol=0.05)
    # mass-normalised shapes from the modal constants (calibrated FRF)
    phi = ref.shapes * np.sign(ref.shapes[floor - 1])
    np.testing.assert_allclose(ident.shapes, phi, atol=0.05 * np.abs(phi).max())
    fit = cf.update_chain(F, h, floor, M, ident)
    np.testing.assert_allclose(fit.stiffness_n_per_m, K, rtol=2e-3)
    np.testing.assert_allclose(fit.damping_ns_per_m, C, rtol=0.05)
    assert fit.gain == pytest.approx(1.0, abs=0.01)
    assert fit.fit_error < fit.start_error


def test_masses_recovered_from_a_calibrated_frf_and_gain_when_scale_is_unknown():
    model = LinearModel.chain(M, K, C)
    h = _noisy(frf(model, F, 2, "accelerance"), np.random.default_rng(7))
    ident = cf.identify(F, h)
    fit = cf.update_chain(F, h, 2, M * [1.1, 0.9, 1.05], ident, fit_mass=True, fit_gain=False)
    np.testing.assert_allclose(fit.mass_kg, M, rtol=0.01)
    np.testing.assert_allclose(fit.stiffness_n_per_m, K, rtol=0.01)
    # a sensor 3x too sensitive: the gain takes it, the chain is unchanged
    fit = cf.update_chain(F, 3 * h, 2, M, cf.identify(F, 3 * h))
    assert fit.gain == pytest.approx(3.0, rel=0.01)
    np.testing.assert_allclose(fit.stiffness_n_per_m, K, rtol=2e-3)
