"""The physics core: pure functions and numba kernels, arrays in and arrays out, no I/O.

May import: numpy, scipy, numba and its own modules; nothing else of twin3d."""

from __future__ import annotations

import time


def warmup() -> float:
    """Compile (or load from the numba cache) every kernel with the production dtypes.

    Call once at start-up, never inside a frame. Returns the seconds it took.
    """
    import numpy as np

    from twin3d.physics import lti, nonlinear, rig, sensors, structure

    t0 = time.perf_counter()
    lti.step_sequence(np.eye(2), np.zeros((2, 1)), np.zeros((2, 1)), np.zeros(2),
                      np.zeros((2, 1)))
    nonlinear.integrate_cubic(np.zeros((2, 2)), np.zeros((2, 2)), np.eye(1), np.zeros(1),
                              np.zeros(2), np.zeros((2, 2)), 1e-3, 1e-6, 1e-9)
    structure.chain_receptance_batch(np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)),
                                     np.ones(1), 0)
    sensors.measure(np.zeros(2), sensors.SensorSpec(name="x", unit="", sensitivity=1.0,
                                                    noise_rms=0.0, adc_bits=16,
                                                    full_scale_v=1.0), np.random.default_rng(0))
    from twin3d.physics.params import CrankParams, MotorParams
    from twin3d.physics.structure import LinearModel

    system = rig.build_rig(LinearModel.chain([1.0], [1.0], [0.0]),
                           MotorParams(1.0, 1e-3, 0.01, 1, 1e-4, 0.0, 0.0, 24.0, 1.0, 0.0, 0.0,
                                       1.0, 1.0), CrankParams(0.0, 1.0, 1.0))
    rig.run(system, rig.initial_state(system), rig.RigCommand(), 1e-4, 2, 1)
    # the live twin's Kalman filter runs on the first block: compile it here, not in a frame
    from twin3d.physics import estimator

    est = estimator.build_estimator(LinearModel.chain([1.0, 1.0], [1e3, 1e3], [1.0, 1.0]),
                                    100.0, measured_floors=(1, 2))
    estimator.estimate(est, estimator.initial_state(est), np.zeros(4), np.zeros((4, 2)))
    return time.perf_counter() - t0
