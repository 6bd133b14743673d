"""The identification core: FRF estimation (against scipy's csd/welch), the leakage model, the
chain fit on data from models whose answer is known, refusals with their numbers, and the
simulated rig whose ambient shaking must be a true base excitation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from twin3d.physics.calibration import CalibrationRefused, calibrate
from twin3d.physics.frf_estimate import estimate_frf
from twin3d.physics.response import linear_response
from twin3d.physics.structure import LinearModel, modal_analysis, with_oscillator

FS = 1000.0
M = np.array([5.04, 4.99, 4.97])
K_TRUE = np.array([40500.0, 46700.0, 36800.0])
C_TRUE = np.array([7.9, 4.0, 5.5])


def carried(model: LinearModel) -> LinearModel:  # a 6.5 Hz device on floor 3, coil open
    return with_oscillator(model, 3, 0.4, 0.9, 0.9 * (2 * np.pi * 6.5) ** 2, 0.5)


def record(seconds: float, k=K_TRUE, noise=0.002, line_hz: float | None = None, seed=1):
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    ag = 0.02 * rng.standard_normal(n)
    if line_hz:  # a crank: a towering line on the table
        ag = ag + 2.0 * np.sin(2 * np.pi * line_hz * np.arange(n) / FS)
    model = carried(LinearModel.chain(M, k, C_TRUE))
    y = linear_response(model, 1 / FS, n, base_acc=ag).a_abs[:, :3]
    return (ag + noise * rng.standard_normal(n), y + noise * rng.standard_normal((n, 3)),
            modal_analysis(model).frequencies_hz)


def test_h1_h2_and_coherence_equal_scipys_csd_and_welch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20_000)
    y = np.column_stack([scipy.signal.lfilter([1, 0.5], [1, -0.9], x),
                         np.roll(x, 3) + 0.5 * rng.standard_normal(x.size)])
    est = estimate_frf(x, y, FS, 1024, find_lines=False)
    for j in range(2):
        f, pxy = scipy.signal.csd(x, y[:, j], fs=FS, nperseg=1024)
        _, pxx = scipy.signal.welch(x, fs=FS, nperseg=1024)
        _, coh = scipy.signal.coherence(x, y[:, j], fs=FS, nperseg=1024)
        np.testing.assert_allclose(est.frequency_hz, f)
        np.testing.assert_allclose(est.h[1:-1, j], (pxy / pxx)[1:-1], rtol=1e-9)
        np.testing.assert_allclose(est.coherence[1:-1, j], coh[1:-1], rtol=1e-9, atol=1e-12)
    h2 = estimate_frf(x, y, FS, 1024, estimator="H2", find_lines=False).h
    # H1 = gamma^2 H2, exactly, from the same spectra
    np.testing.assert_allclose(est.h[1:-1], (est.coherence * h2)[1:-1], rtol=1e-9)


def test_leakage_kernel_sums_to_one_and_flattens_a_sharp_peak():
    x, y, _ = record(40)
    est = estimate_frf(x, y, FS, 4000)
    off, w = est.kernel()
    assert w.sum() == pytest.approx(1.0) and w[off.size // 2] == w.max()
    flat = est.smoothed(lambda f: np.ones((f.size, 1)), est.frequency_hz[5:8])
    np.testing.assert_allclose(flat, 1.0)
    peak = lambda f: 1.0 / (6.0**2 - f**2 + 2j * 0.003 * 6.0 * f)[:, None]  # noqa: E731
    assert abs(est.smoothed(peak, np.array([6.0]))[0, 0]) < 0.5 * abs(peak(np.array([6.0]))[0, 0])


@pytest.mark.parametrize("line_hz", [None, 4.7])
def test_calibration_finds_a_known_chain_from_a_wrong_start(line_hz):
    x, y, truth_hz = record(60, line_hz=line_hz)
    cal = calibrate(x, y, [1, 2, 3], FS, M, 0.9 * K_TRUE, 2 * C_TRUE, carried=carried,
                    input_noise_rms=0.002)
    np.testing.assert_allclose(cal.frequencies_hz, truth_hz, rtol=1e-3)
    np.testing.assert_allclose(cal.stiffness_n_per_m, K_TRUE, rtol=0.01)
    assert cal.fit_error < 0.3 * cal.start_error
    if line_hz:
        assert np.min(np.abs(cal.lines_hz - line_hz)) < 0.01
        assert cal.frf.excluded[np.argmin(np.abs(cal.frf.frequency_hz - line_hz))]
    else:
        assert cal.lines_hz.size == 0


def test_too_little_excitation_is_refused_with_its_number():
    x, y, _ = record(30)
    with pytest.raises(CalibrationRefused, match=r"0\.50 times its sensor noise"):
        calibrate(x, y, [1, 2, 3], FS, M, K_TRUE, C_TRUE, carried=carried,
                  input_noise_rms=2 * np.std(x))


def test_outputs_unrelated_to_the_table_are_refused_for_coherence():
    x, _, _ = record(30)
    y = np.random.default_rng(9).standard_normal((x.size, 3))
    with pytest.raises(CalibrationRefused, match=r"too little coherence: median 0\.0\d on floor"):
        calibrate(x, y, [1, 2, 3], FS, M, K_TRUE, C_TRUE, carried=carried)


def test_too_short_a_record_is_refused():
    x, y, _ = record(5)
    with pytest.raises(CalibrationRefused, match="too short: 5.0 s"):
        calibrate(x, y, [1, 2, 3], FS, M, K_TRUE, C_TRUE, carried=carried)


def test_the_simulated_rigs_ambient_shaking_is_a_base_excitation():
    """The rig's ambient shaking reaches every mass on the table (the actuator's proof mass
    too): the transmissibilities it produces are the carried truth model's, so a calibration
    from them lands on the truth's modes (before the fix, mode 1 came out 0.7 % high)."""
    from twin3d.rig.core import RigCore
    from twin3d.scenefile.records import load_scene

    scene = load_scene("three_storey")
    core = RigCore(scene, seed=3)
    rows = [core.step(0.05 * i).block.readings for i in range(1200)]  # 60 s
    data = np.vstack(rows)
    ch = list(scene.data.sensors)
    x = data[:, ch.index("acc_table")]
    y = data[:, [ch.index(f"acc_floor{i}") for i in (1, 2, 3)]]
    p = scene.data.profiles[scene.data.model.active]
    cal = calibrate(x, y, [1, 2, 3], FS, p.mass_kg, p.stiffness_n_per_m, p.damping_ns_per_m,
                    carried=scene.carried)
    np.testing.assert_allclose(cal.frequencies_hz, core.truth_hz, rtol=1e-3)
    assert abs(cal.start_frequencies_hz[0] / core.truth_hz[0] - 1) > 0.02  # it had to move
