"""Live-path figures: the estimator's per-sample cost and the frequency tracker's update cost."""

from __future__ import annotations

import numpy as np

from twin3d.bench import best, figure

FS = 1000.0


def _model():
    from twin3d.physics.structure import LinearModel

    return LinearModel.chain([5.0394, 4.9919, 4.9693], [34958.3691, 43195.1237, 43295.9086],
                             [7.8963, 4.0129, 5.4905])


def _signals(seconds: float):
    from twin3d.physics.excitations import band_limited_noise
    from twin3d.physics.response import linear_response

    n = int(round(seconds * FS))
    ag = band_limited_noise(n, FS, 1.0, 40.0, 0.3, seed=0)
    truth = linear_response(_model(), 1 / FS, n, base_acc=ag)
    rng = np.random.default_rng(1)
    return ag + 0.003 * rng.standard_normal(n), truth.a_abs + 0.003 * rng.standard_normal((n, 3))


def _numpy_loop(est, ag, y):
    """The same steady-state filter, one sample at a time with numpy mat-vec products."""
    r = est.n_modes
    z = np.zeros(2 * r)
    u = np.empty((ag.size, est.n_floors))
    wp = ag[0]
    for k in range(ag.size):
        z = est.Phi @ z + est.G0 * wp + est.G1 * (ag[k] - wp)
        if not np.isnan(y[k]).any():
            z = z + est.L @ (y[k] - est.H @ z - est.D * ag[k])
        u[k] = est.shapes @ z[:r]
        wp = ag[k]
    return u


def bench_estimator(seconds: float) -> list[dict]:
    from twin3d.physics.estimator import build_estimator, estimate, initial_state

    est = build_estimator(_model(), FS, (1, 2, 3), 0.003, 0.05)
    ag, y = _signals(seconds)
    estimate(est, initial_state(est), ag[:10], y[:10])  # compile outside the timing
    blocks = range(0, ag.size, 50)  # 20 blocks per second, as the rig sends them

    def ours():
        x = initial_state(est)
        for i in blocks:
            estimate(est, x, ag[i:i + 50], y[i:i + 50])

    t_ours = best(ours, 3)
    t_numpy = best(lambda: _numpy_loop(est, ag, y), 1)
    u_ours, _ = estimate(est, initial_state(est), ag, y)
    label = f"Kalman estimator, {seconds:g} s at 1 kHz in 50-sample blocks (3 floors, 3 modes)"
    f1 = figure(label, t_ours, t_numpy, "numpy per-sample loop, same filter", "s", 20.0)
    # the two agree to round-off: they run the same filter
    f1["max_difference_m"] = float(np.abs(u_ours[:2000] - _numpy_loop(est, ag[:2000],
                                                                      y[:2000])).max())
    f2 = figure("Kalman estimator: wall s per s of 1 kHz data", t_ours / seconds, 1.0,
                "real time", "s/s", 100.0)
    return [f1, f2]


def bench_tracker() -> list[dict]:
    from twin3d.physics.frequency_tracking import FrequencyTracker
    from twin3d.physics.structure import modal_analysis

    ag, y = _signals(20.0)
    tracker = FrequencyTracker(FS, modal_analysis(_model()).frequencies_hz)
    tracker.identify(ag, y)  # first call pays the imports
    t = best(lambda: tracker.identify(ag, y), 3)
    return [figure("frequency tracker: one update on a 20 s window (4 channels, 1 kHz)", t, 1.0,
                   "the 1 s update period", "s", 10.0)]


def steps(quick: bool) -> list:
    return [("live estimator", lambda: bench_estimator(10.0 if quick else 60.0)),
            ("frequency tracker", bench_tracker)]
