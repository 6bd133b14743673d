"""Calibration figures: compute time of a live calibration (90 s of 4 channels at 1 kHz)
against model_update's path on the same FRFs and against scipy's csd-based FRF estimation,
and what it buys on the simulated rig: modes against the truth's, and the Kalman estimate of
the floors against the truth, before and after."""

from __future__ import annotations

import numpy as np

from twin3d.bench import best, figure

FS = 1000.0


def _rig_record(seconds: float, rpm: float = 0.0):
    """Table, floors and the truth's floor displacements from the simulated rig (RigCore:
    ground truth southampton_measured, ambient shaking, sensor noise)."""
    from twin3d.rig.core import RigCore
    from twin3d.scenefile.records import load_scene

    scene = load_scene("three_storey")
    core = RigCore(scene, seed=11)
    if rpm:
        core.start_running(rpm)
    rows, truth = [], []
    for i in range(int(seconds * FS / scene.data.sampling.block_samples)):
        out = core.step(0.05 * i)
        rows.append(out.block.readings)
        truth.append(out.block.truth.floor_disp)
    data, u = np.vstack(rows), np.vstack(truth)
    ch = list(scene.data.sensors)
    x = data[:, ch.index("acc_table")]
    y = data[:, [ch.index(f"acc_floor{i}") for i in (1, 2, 3)]]
    return scene, core, x, y, u[:, :3]


def _calibrate(scene, x, y):
    from twin3d.physics.calibration import calibrate

    p = scene.data.profiles[scene.data.model.active]
    return calibrate(x, y, [1, 2, 3], FS, p.mass_kg, p.stiffness_n_per_m, p.damping_ns_per_m,
                     carried=scene.carried,
                     input_noise_rms=scene.data.sensors["acc_table"].noise_rms)


def _scipy_frfs(x, y, nper):
    import scipy.signal

    _, pxx = scipy.signal.welch(x, fs=FS, nperseg=nper)
    out = []
    for j in range(y.shape[1]):
        _, pxy = scipy.signal.csd(x, y[:, j], fs=FS, nperseg=nper)
        _, coh = scipy.signal.coherence(x, y[:, j], fs=FS, nperseg=nper)
        out.append((pxy / pxx, coh))
    return out


def _estimate_error(scene, model, x, y, u_true) -> float:
    from twin3d.physics.estimator import build_estimator, estimate, initial_state

    est = build_estimator(model, FS, (1, 2, 3), 0.003)
    u, _ = estimate(est, initial_state(est), x, y)
    skip = int(5 * FS)  # past the filter's start
    e = u[skip:, :3] - u_true[skip:]
    return float(np.sqrt(np.sum(e**2) / np.sum(u_true[skip:] ** 2)))


def bench_calibration(seconds: float) -> list[dict]:
    from twin3d.physics import circle_fit
    from twin3d.physics.frf_estimate import estimate_frf

    scene, core, x, y, u = _rig_record(seconds)
    cal = _calibrate(scene, x, y)  # warm
    t_ours = best(lambda: _calibrate(scene, x, y), 3)
    nper = cal.frf.nperseg
    t_est = best(lambda: estimate_frf(x, y, FS, nper), 3)
    t_scipy = best(lambda: _scipy_frfs(x, y, nper), 3)
    f, h = cal.frf.frequency_hz, cal.frf.h
    band = (f > 2) & (f < 34)
    m0 = np.diag(scene.model().M)

    def model_update_path():  # circle fits + update_chain, as `model_update` on a file
        ident = circle_fit.identify(f[band], h[band], 3, 2.0, 34.0)
        circle_fit.update_chain(f[band], h[band], ident.driving_point + 1, m0, ident)

    t_mu = best(model_update_path, 3)
    err_start = np.max(np.abs(cal.start_frequencies_hz / core.truth_hz - 1)) * 100
    err_cal = np.max(np.abs(cal.frequencies_hz / core.truth_hz - 1)) * 100
    e_before = _estimate_error(scene, scene.rig_model(), x, y, u)
    from twin3d.physics.structure import LinearModel

    e_after = _estimate_error(scene, scene.carried(LinearModel.chain(
        cal.mass_kg, cal.stiffness_n_per_m, cal.damping_ns_per_m)), x, y, u)
    label = f"{seconds:g} s, 4 channels at 1 kHz"
    return [
        # ours also estimates the FRFs and models the window's leakage (9 model points per
        # bin); the goal is absolute: under 1 s
        figure(f"calibration compute ({label}; goal < 1 s: {t_ours:.2f} s)", t_ours, t_mu,
               "model_update path (circle fits + update_chain) on the same FRFs", "s", 0.1),
        figure(f"FRF estimation H1 + coherence ({label})", t_est, t_scipy,
               "scipy.signal welch + csd + coherence per floor", "s", 1.5),
        figure("calibrated modes vs the simulated rig's truth, max error (goal < 0.5 %)",
               err_cal, err_start, "the identified start model", "%", 10.0),
        figure("Kalman estimate vs truth, relative rms (goal < 3 %)", e_after * 100,
               e_before * 100, "the identified start model", "%", 3.0),
    ]


def steps(quick: bool) -> list:
    return [("live calibration", lambda: bench_calibration(30.0 if quick else 90.0))]
