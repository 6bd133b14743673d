"""Linear structural model: matrices, modes, damping and FRFs against independent references.

References are closed-form results (uniform fixed-free chain frequencies, SDOF receptance and
transmissibility, Rayleigh damping ratios), direct dense numpy/scipy solves built here from the
raw matrices, and published numbers for the lab structure.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from twin3d.physics.structure import (
    LinearModel,
    chain_matrix,
    chain_receptance_batch,
    frf,
    leg_storey_stiffness,
    modal_analysis,
    rayleigh_damping,
    storey_drift,
)

# Default identified model ("southampton_identified").
M_DEF = np.array([5.0394, 4.9919, 4.9693])
K_DEF = np.array([34958.3691, 43195.1237, 43295.9086])
C_DEF = np.array([7.8963, 4.0129, 5.4905])

# Very soft design-page model.
M_DES = np.array([4.8724882, 5.4758033, 5.6923249])
K_DES = np.array([4203.0027, 4147.6895, 5101.4822])
C_DES = np.array([2.2007146, 9.2277e-4, 2.6138e-3])


def default_model() -> LinearModel:
    return LinearModel.chain(M_DEF, K_DEF, C_DEF)


def explicit_chain(a) -> np.ndarray:
    """Chain(a) written out by hand, independent of chain_matrix's loop."""
    a = np.asarray(a, dtype=float)
    out = np.diag(a + np.append(a[1:], 0.0))
    out -= np.diag(a[1:], 1) + np.diag(a[1:], -1)
    return out


def random_chain(rng, n):
    m = rng.uniform(1.0, 8.0, n)
    k = rng.uniform(5e3, 6e4, n)
    c = rng.uniform(0.5, 30.0, n)  # non-proportional on purpose
    return m, k, c


def uniform_chain_frequencies_hz(k, m, n):
    """Closed form for a uniform fixed-free chain: w_r = 2 sqrt(k/m) sin((2r-1) pi / (2(2N+1)))."""
    r = np.arange(1, n + 1)
    return 2 * np.sqrt(k / m) * np.sin((2 * r - 1) * np.pi / (2 * (2 * n + 1))) / (2 * np.pi)


def state_matrix(M, C, K):
    """First-order matrix [[0, I], [-M^-1 K, -M^-1 C]] built here, not by state_matrices()."""
    n = M.shape[0]
    Minv_K = np.linalg.solve(M, K)
    Minv_C = np.linalg.solve(M, C)
    return np.block([[np.zeros((n, n)), np.eye(n)], [-Minv_K, -Minv_C]])


# ---------------------------------------------------------------------------------------------
# Matrices
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_chain_matrix_matches_hand_written_form(n):
    rng = np.random.default_rng(n)
    a = rng.uniform(1.0, 10.0, n)
    np.testing.assert_array_equal(chain_matrix(a), explicit_chain(a))


def test_chain_model_matrices_for_default_structure():
    model = default_model()
    a1, a2, a3 = K_DEF
    K_hand = np.array([[a1 + a2, -a2, 0.0], [-a2, a2 + a3, -a3], [0.0, -a3, a3]])
    c1, c2, c3 = C_DEF
    C_hand = np.array([[c1 + c2, -c2, 0.0], [-c2, c2 + c3, -c3], [0.0, -c3, c3]])
    np.testing.assert_array_equal(model.K, K_hand)
    np.testing.assert_array_equal(model.C, C_hand)
    np.testing.assert_array_equal(model.M, np.diag(M_DEF))
    assert model.n == 3


def test_state_matrices_match_hand_built_first_order_form():
    rng = np.random.default_rng(7)
    m, k, c = random_chain(rng, 4)
    model = LinearModel.chain(m, k, c)
    A, B = model.state_matrices()
    np.testing.assert_allclose(A, state_matrix(model.M, model.C, model.K), rtol=1e-13, atol=1e-9)
    # inputs: forces enter through M^-1, base acceleration as -1 on every floor
    np.testing.assert_allclose(B[4:, :4], np.diag(1.0 / m), rtol=1e-14)
    np.testing.assert_array_equal(B[4:, 4], -np.ones(4))
    np.testing.assert_array_equal(B[:4], 0.0)


# ---------------------------------------------------------------------------------------------
# Natural frequencies of the reference models
# ---------------------------------------------------------------------------------------------

def test_default_model_natural_frequencies():
    f = modal_analysis(default_model()).frequencies_hz
    # published to 4 decimals: half a unit in the last place
    np.testing.assert_allclose(f, [6.2036, 17.8002, 26.4022], atol=5e-5)
    # and independently: square roots of the eigenvalues of M^-1 K from a general eigensolver
    lam = np.sort(np.linalg.eigvals(np.linalg.solve(np.diag(M_DEF), explicit_chain(K_DEF))).real)
    np.testing.assert_allclose(f, np.sqrt(lam) / (2 * np.pi), rtol=1e-12)


def test_beam_model_stiffness_frequencies_and_rayleigh_damping():
    E, b, h, ell = 70e9, 25e-3, 3e-3, 153.3e-3
    k = leg_storey_stiffness(E, b, h, ell)
    k_hand = 4 * 12 * E * (b * h**3 / 12) / ell**3
    assert k == pytest.approx(k_hand, rel=1e-14)
    assert k == pytest.approx(52460.85, abs=0.005)  # quoted to 2 decimals
    m = 5.201
    M = np.diag([m] * 3)
    K = chain_matrix([k] * 3)
    f = modal_analysis(LinearModel(M, np.zeros((3, 3)), K)).frequencies_hz
    np.testing.assert_allclose(f, [7.1137, 19.9321, 28.8028], atol=5e-5)  # quoted to 4 dp
    np.testing.assert_allclose(f, uniform_chain_frequencies_hz(k, m, 3), rtol=1e-12)

    C = rayleigh_damping(M, K, 0.002, modes=(1, 2))
    # recover alpha and beta from C = alpha M + beta K (M = m I): off-diagonals are beta K only
    beta = C[0, 1] / K[0, 1]
    alpha = (C[0, 0] - beta * K[0, 0]) / m
    np.testing.assert_allclose(C, alpha * M + beta * K, rtol=1e-12, atol=1e-15)
    assert alpha == pytest.approx(0.131762, rel=5e-6)  # quoted to 6 significant figures
    assert beta == pytest.approx(2.35386e-5, rel=5e-6)
    # damping ratios of the damped eigenproblem equal alpha/(2 w) + beta w / 2 (exact for
    # proportional damping); zeta = 0.2 % on the two target modes
    w = 2 * np.pi * f
    zeta = modal_analysis(LinearModel(M, C, K)).damping_ratios
    np.testing.assert_allclose(zeta, alpha / (2 * w) + beta * w / 2, rtol=1e-9)
    np.testing.assert_allclose(zeta[:2], 0.002, rtol=1e-9)
    assert zeta[2] > 0.002  # stiffness-proportional part dominates above mode 2


def test_blueprint_model():
    k = leg_storey_stiffness(69.98e9, 25.4e-3, 3.175e-3, 152.4e-3)
    assert k == pytest.approx(64292.0, rel=1e-4)  # 64292 is quoted from rounded dimensions
    model = LinearModel.chain([5.3095] * 3, [64292.0] * 3, [0.0] * 3)
    f = modal_analysis(model).frequencies_hz
    np.testing.assert_allclose(f, [7.79, 21.84, 31.56], atol=0.006)  # quoted to 2 decimals
    np.testing.assert_allclose(f, uniform_chain_frequencies_hz(64292.0, 5.3095, 3), rtol=1e-12)


def test_design_page_model_frequencies_and_receptance():
    model = LinearModel.chain(M_DES, K_DES, C_DES)
    f = modal_analysis(model).frequencies_hz
    np.testing.assert_allclose(f, [1.96763, 5.93351, 8.35587], atol=5e-6)  # quoted to 5 dp
    x = np.abs(frf(model, 1.97, 1, "displacement")[0])
    # quoted to 5 significant figures
    np.testing.assert_allclose(x, [0.030176, 0.055460, 0.066896], rtol=2e-5)


# ---------------------------------------------------------------------------------------------
# Mode shapes and damping ratios
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [3, 5])
def test_mode_shapes_are_mass_normalised_and_match_eigh(n):
    if n == 3:
        model = default_model()
    else:
        model = LinearModel.chain(*random_chain(np.random.default_rng(11), n))
    modes = modal_analysis(model)
    phi = modes.shapes
    # round-off of a well-conditioned symmetric eigenproblem
    np.testing.assert_allclose(phi.T @ model.M @ phi, np.eye(n), atol=1e-12)
    w = 2 * np.pi * modes.frequencies_hz
    np.testing.assert_allclose(phi.T @ model.K @ phi, np.diag(w**2), rtol=1e-10,
                               atol=1e-9 * w[-1] ** 2)
    w2_ref, phi_ref = scipy.linalg.eigh(model.K, model.M)
    np.testing.assert_allclose(w**2, w2_ref, rtol=1e-12)
    for r in range(n):  # same vectors up to sign; convention: largest entry positive
        sign = np.sign(phi_ref[np.argmax(np.abs(phi_ref[:, r])), r])
        np.testing.assert_allclose(phi[:, r], sign * phi_ref[:, r], atol=1e-12)
        assert phi[np.argmax(np.abs(phi[:, r])), r] > 0
    # residual of the generalised eigenproblem itself
    np.testing.assert_allclose(model.K @ phi, model.M @ phi * w**2, atol=1e-9 * w[-1] ** 2)


@pytest.mark.parametrize("n", [3, 5])
def test_damping_ratios_match_state_space_eigenvalues(n):
    if n == 3:
        model = default_model()
    else:
        model = LinearModel.chain(*random_chain(np.random.default_rng(5), n))
    modes = modal_analysis(model)
    lam = scipy.linalg.eig(state_matrix(model.M, model.C, model.K), right=False)
    lam = lam[lam.imag > 0]
    lam = lam[np.argsort(np.abs(lam))]  # light damping: |lambda| order = undamped order
    assert lam.size == n
    np.testing.assert_allclose(modes.damping_ratios, -lam.real / np.abs(lam), rtol=1e-8)
    np.testing.assert_allclose(modes.damped_frequencies_hz, lam.imag / (2 * np.pi), rtol=1e-10)
    assert np.all(modes.damping_ratios > 0)


def test_damping_ratios_for_default_model_are_light_and_non_proportional():
    modes = modal_analysis(default_model())
    zeta = modes.damping_ratios
    # modal damping estimated from the undamped shapes (phi^T C phi)_rr / (2 w_r): close to, but
    # not exactly, the complex-eigenvalue ratio for non-proportional damping
    w = 2 * np.pi * modes.frequencies_hz
    approx = np.diag(modes.shapes.T @ default_model().C @ modes.shapes) / (2 * w)
    np.testing.assert_allclose(zeta, approx, rtol=1e-3)
    assert np.all((zeta > 1e-3) & (zeta < 2e-2))


# ---------------------------------------------------------------------------------------------
# Frequency response functions
# ---------------------------------------------------------------------------------------------

FREQS = np.array([0.3, 4.0, 6.2036, 11.0, 17.8, 22.5, 26.4, 40.0])


def direct_receptance(M, C, K, f_hz, load):
    out = []
    for f in np.atleast_1d(f_hz):
        w = 2 * np.pi * f
        out.append(np.linalg.solve(K - w**2 * M + 1j * w * C, load.astype(complex)))
    return np.array(out)


@pytest.mark.parametrize("n", [3, 5])
def test_force_frf_equals_direct_dense_solve(n):
    if n == 3:
        model = default_model()
    else:
        model = LinearModel.chain(*random_chain(np.random.default_rng(3), n))
    w = 2 * np.pi * FREQS
    for floor in range(1, n + 1):
        e = np.zeros(n)
        e[floor - 1] = 1.0
        x_ref = direct_receptance(model.M, model.C, model.K, FREQS, e)
        # only round-off separates two dense solves of the same (near-resonant) system
        tol = dict(rtol=1e-9, atol=1e-12 * np.abs(x_ref).max())
        np.testing.assert_allclose(frf(model, FREQS, floor, "displacement"), x_ref, **tol)
        np.testing.assert_allclose(frf(model, FREQS, floor, "velocity"),
                                   1j * w[:, None] * x_ref, rtol=1e-9,
                                   atol=1e-12 * np.abs(w[:, None] * x_ref).max())
        np.testing.assert_allclose(frf(model, FREQS, floor, "accelerance"),
                                   -(w**2)[:, None] * x_ref, rtol=1e-9,
                                   atol=1e-12 * np.abs(w[:, None] ** 2 * x_ref).max())


def test_receptance_is_symmetric_reciprocity():
    model = LinearModel.chain(*random_chain(np.random.default_rng(9), 5))
    H = np.stack([frf(model, FREQS, j, "displacement") for j in range(1, 6)], axis=2)
    # H[f, i, j] = x_i per unit force at j; Maxwell-Betti: H_ij = H_ji
    np.testing.assert_allclose(H, np.swapaxes(H, 1, 2), rtol=1e-9, atol=1e-15)


def test_single_dof_receptance_is_analytic():
    m, k, c = 2.5, 4.0e4, 12.0
    model = LinearModel.chain([m], [k], [c])
    f = np.linspace(0.1, 40.0, 57)
    w = 2 * np.pi * f
    H = 1.0 / (k - m * w**2 + 1j * c * w)
    np.testing.assert_allclose(frf(model, f, 1, "displacement")[:, 0], H, rtol=1e-12)
    np.testing.assert_allclose(frf(model, f, 1, "velocity")[:, 0], 1j * w * H, rtol=1e-12)
    np.testing.assert_allclose(frf(model, f, 1, "accelerance")[:, 0], -w**2 * H, rtol=1e-12)
    # peak near the damped resonance with height ~ 1/(c w_n)
    wn = np.sqrt(k / m)
    x_res = frf(model, wn / (2 * np.pi), 1)[0, 0]
    assert x_res == pytest.approx(1.0 / (1j * c * wn), rel=1e-12)


def test_base_excitation_frf():
    model = default_model()
    w = 2 * np.pi * FREQS
    load = -model.M @ np.ones(3)
    x_ref = direct_receptance(model.M, model.C, model.K, FREQS, load)
    scale = np.abs(x_ref).max()
    np.testing.assert_allclose(frf(model, FREQS, "base", "displacement"), x_ref, rtol=1e-9,
                               atol=1e-12 * scale)
    np.testing.assert_allclose(frf(model, FREQS, "base", "velocity"), 1j * w[:, None] * x_ref,
                               rtol=1e-9, atol=1e-12 * np.abs(w[:, None] * x_ref).max())
    # absolute acceleration = relative (-w^2 x) + base (1)
    np.testing.assert_allclose(frf(model, FREQS, "base", "accelerance"),
                               1.0 - (w**2)[:, None] * x_ref, rtol=1e-9, atol=1e-9)
    # quasi-static limit: relative displacement -> -K^-1 M 1, transmissibility -> 1
    x0 = frf(model, 1e-4, "base", "displacement")[0]
    np.testing.assert_allclose(x0.real, -np.linalg.solve(model.K, model.M @ np.ones(3)),
                               rtol=1e-6)
    np.testing.assert_allclose(frf(model, 1e-4, "base", "accelerance")[0], 1.0, atol=1e-7)


def test_single_storey_base_transmissibility_is_analytic():
    m, k, c = 5.0, 35000.0, 8.0
    model = LinearModel.chain([m], [k], [c])
    f = np.linspace(0.2, 30.0, 41)
    w = 2 * np.pi * f
    T = (k + 1j * c * w) / (k - m * w**2 + 1j * c * w)
    np.testing.assert_allclose(frf(model, f, "base", "accelerance")[:, 0], T, rtol=1e-11)
    np.testing.assert_allclose(frf(model, f, "base", "displacement")[:, 0],
                               -m / (k - m * w**2 + 1j * c * w), rtol=1e-12)


def test_frf_rejects_bad_arguments():
    model = default_model()
    with pytest.raises(ValueError):
        frf(model, 5.0, 1, "strain")
    with pytest.raises(ValueError):
        frf(model, 5.0, 0)
    with pytest.raises(ValueError):
        frf(model, 5.0, 4)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_chain_receptance_batch_equals_frf(n):
    rng = np.random.default_rng(100 + n)
    ns = 6
    mass = rng.uniform(1.0, 8.0, (ns, n))
    stiff = rng.uniform(5e3, 6e4, (ns, n))
    damp = rng.uniform(0.5, 30.0, (ns, n))
    f = np.array([0.5, 3.0, 7.7, 15.0, 26.0, 45.0])
    omega = 2 * np.pi * f
    for floor in range(n):
        out = chain_receptance_batch(mass, stiff, damp, omega, floor)
        assert out.shape == (ns, f.size, n)
        for s in range(ns):
            model = LinearModel.chain(mass[s], stiff[s], damp[s])
            ref = frf(model, f, floor + 1, "displacement")
            # Thomas algorithm vs LU: round-off, amplified at most by the (lightly damped)
            # resonance condition number
            np.testing.assert_allclose(out[s], ref, rtol=1e-8, atol=1e-12 * np.abs(ref).max())


def test_chain_receptance_batch_at_a_natural_frequency():
    """At an exact natural frequency the Thomas sweep meets a near-singular pivot: still right."""
    model = default_model()
    f1 = modal_analysis(model).frequencies_hz[0]
    out = chain_receptance_batch(M_DEF[None], K_DEF[None], C_DEF[None],
                                 np.array([2 * np.pi * f1]), 2)
    ref = frf(model, f1, 3)
    np.testing.assert_allclose(out[0], ref, rtol=1e-8)


def test_storey_drift_is_relative_to_the_storey_below_and_the_table():
    np.testing.assert_array_equal(storey_drift(np.array([1.0, 3.0, 2.5])), [1.0, 2.0, -0.5])
    # a history (K, N) or any leading axes: floor by floor along the last axis
    u = np.arange(24.0).reshape(2, 4, 3) ** 1.5
    d = storey_drift(u)
    assert d.shape == u.shape
    np.testing.assert_array_equal(d[..., 0], u[..., 0])
    np.testing.assert_array_equal(d[..., 1:], u[..., 1:] - u[..., :-1])
    # complex amplitudes: the complex difference, not a difference of magnitudes
    x = np.array([1.0, -1.0 + 0.0j])
    np.testing.assert_array_equal(storey_drift(x), [1.0, -2.0])
    assert storey_drift(np.cumsum(np.ones(5)))[1:].tolist() == [1.0] * 4
