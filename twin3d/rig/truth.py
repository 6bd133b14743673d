"""The simulated rig: the physics core stepped in blocks, read out through the scene's sensors.

Plain state plus a step function: `SimulatedRig` owns the rig state vector and the command in
force; `advance(n_samples)` runs the numba kernel at the physics rate and returns one block of
sensor readings at the sample rate. Nothing here draws or talks to hardware.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin3d.physics import rig
from twin3d.physics.sensors import SensorSpec, measure
from twin3d.scenefile.records import Scene


@dataclass(frozen=True)
class Block:
    """One block of samples: the true physics outputs and the sensor readings."""

    t0: float  # s, time of the first sample
    fs: float  # Hz
    channels: tuple[str, ...]
    readings: np.ndarray  # (n_samples, n_channels), physical units
    truth: rig.RigOutputs  # physics outputs at the sample instants


def true_channel(out: rig.RigOutputs, sensor, system: rig.RigSystem) -> np.ndarray:
    """The physical quantity a sensor of the scene file measures (see rig.SENSOR_QUANTITIES)."""
    return rig.sensor_truth(out, system, sensor.quantity, sensor.floor, sensor.phase)


class SimulatedRig:
    """Ground-truth rig: physics at the motor rate, sensors at the sample rate."""

    def __init__(self, scene: Scene, profile: str | None = None, seed: int = 0):
        self.scene = scene
        self.system = rig.build_rig(scene.model(profile), scene.motor_params(),
                                    scene.crank_params(), scene.actuator_params())
        self.state = rig.initial_state(self.system)
        self.command = rig.RigCommand(mode=rig.MODE_SPEED, speed_rpm=0.0,
                                      ramp_rpm_per_s=scene.data.limits.max_accel_rpm_per_s)
        self.physics_rate = scene.data.motor.physics_rate_hz
        self.sample_rate = scene.data.sampling.rate_hz
        self.decimation = max(1, int(round(self.physics_rate / self.sample_rate)))
        self.dt = 1.0 / (self.sample_rate * self.decimation)  # physics step, exact multiple
        self.t = 0.0
        self.rng = np.random.default_rng(seed)
        self.sensors = dict(scene.data.sensors)
        self.specs = {name: SensorSpec(name=name, unit=s.unit,
                                       sensitivity=s.sensitivity_v_per_unit,
                                       noise_rms=s.noise_rms, adc_bits=s.adc_bits,
                                       full_scale_v=s.full_scale_v)
                      for name, s in self.sensors.items()}
        self.clipped = 0

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self.sensors)

    def set_command(self, command: rig.RigCommand) -> None:
        self.command = command

    def set_stroke(self, stroke_m: float) -> None:
        self.system = rig.with_stroke(self.system, stroke_m)

    def advance(self, n_samples: int, forces=None, base_acc=None) -> Block:
        """Run n_samples sample periods; forces/base_acc are given at the physics rate."""
        n_steps = n_samples * self.decimation
        out = rig.run(self.system, self.state, self.command, self.dt, n_steps,
                      self.decimation, forces, base_acc, self.t)
        t0 = self.t + self.decimation * self.dt
        self.t += n_steps * self.dt
        readings = np.empty((n_samples, len(self.sensors)))
        for j, (name, s) in enumerate(self.sensors.items()):
            true = true_channel(out, s, self.system)
            readings[:, j], clipped = measure(true, self.specs[name], self.rng)
            self.clipped += clipped
        return Block(t0, self.sample_rate, self.channels, readings, out)

    @property
    def speed_rpm(self) -> float:
        return float(self.view.omega / rig.RPM / self.system.crank.gear_ratio)

    @property
    def view(self) -> rig.RigStateView:
        """Named, writable views into the rig state."""
        return rig.RigStateView(self.state, self.system.n)
