"""The physics core: pure functions and numba kernels, arrays in and arrays out, no I/O.

May import: numpy, scipy, numba and its own modules; nothing else of twin3d."""

from __future__ import annotations

import time
from collections.abc import Callable

# the numba event a warm-up step is announced as (numba:compile says when a kernel compiles)
WARMUP_EVENT = "twin3d:warmup"


def _live_steps() -> list[tuple[str, Callable[[], object]]]:
    """(kernel family, a call with the production dtypes): what the live twin and the simulated
    rig run in their first frame."""
    import numpy as np

    from twin3d.physics import estimator, lti, nonlinear, rig, sensors, structure
    from twin3d.physics.params import CrankParams, MotorParams
    from twin3d.physics.structure import LinearModel

    def rig_step():
        system = rig.build_rig(LinearModel.chain([1.0], [1.0], [0.0]),
                               MotorParams(1.0, 1e-3, 0.01, 1, 1e-4, 0.0, 0.0, 24.0, 1.0, 0.0,
                                           0.0, 1.0, 1.0), CrankParams(0.0, 1.0, 1.0))
        rig.run(system, rig.initial_state(system), rig.RigCommand(), 1e-4, 2, 1)

    def estimator_step():  # the live twin's Kalman filter runs on the first block
        est = estimator.build_estimator(LinearModel.chain([1.0, 1.0], [1e3, 1e3], [1.0, 1.0]),
                                        100.0, measured_floors=(1, 2))
        estimator.estimate(est, estimator.initial_state(est), np.zeros(4), np.zeros((4, 2)))

    return [
        ("step_sequence", lambda: lti.step_sequence(
            np.eye(2), np.zeros((2, 1)), np.zeros((2, 1)), np.zeros(2), np.zeros((2, 1)))),
        ("integrate_cubic", lambda: nonlinear.integrate_cubic(
            np.zeros((2, 2)), np.zeros((2, 2)), np.eye(1), np.zeros(1), np.zeros(2),
            np.zeros((2, 2)), 1e-3, 1e-6, 1e-9)),
        ("chain_receptance_batch", lambda: structure.chain_receptance_batch(
            np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), np.ones(1), 0)),
        ("sensors", lambda: sensors.measure(
            np.zeros(2), sensors.SensorSpec(name="x", unit="", sensitivity=1.0, noise_rms=0.0,
                                            adc_bits=16, full_scale_v=1.0),
            np.random.default_rng(0))),
        ("rig_run", rig_step),
        ("estimator", estimator_step),
    ]


def warmup(extra: list[tuple[str, Callable[[], object]]] | None = None) -> float:
    """Compile (or load from the numba cache) every kernel of the live twin and the simulated
    rig with the production dtypes, then the `extra` (name, call) steps of the caller.

    Call once at start-up, never inside a frame. Returns the seconds it took. Each step is
    announced as a numba event of kind WARMUP_EVENT (data: step, index, of), so a front end
    listening for it and for "numba:compile" can show progress when a compile happens.
    """
    from numba.core import event

    steps = _live_steps() + list(extra or [])
    t0 = time.perf_counter()
    for i, (name, call) in enumerate(steps):
        with event.trigger_event(WARMUP_EVENT, data={"step": name, "index": i,
                                                     "of": len(steps)}):
            call()
    return time.perf_counter() - t0
