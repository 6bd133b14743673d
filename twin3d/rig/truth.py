"""The simulated rig: the physics core stepped in blocks, read out through the scene's sensors.

Plain state plus a step function: `SimulatedRig` owns the rig state vector and the command in
force; `advance(n_samples)` runs the numba kernel at the physics rate and returns one block of
sensor readings at the sample rate. Nothing here draws or talks to hardware.

Damage: `set_damage([Damage(storey, fraction, t), ...])` scales storey `storey`'s stiffness of
the truth by (1 + fraction) from rig time t on (several on one storey multiply); it takes effect
at the first block that starts at or after t, so within one block (50 ms on the lab's scene).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from twin3d.physics import rig
from twin3d.physics.localisation import StoreyModel
from twin3d.physics.structure import LinearModel, modal_analysis, with_oscillator
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


@dataclass(frozen=True)
class Damage:
    """Storey `storey` (1-based) of the truth loses (fraction < 0) or gains stiffness,
    k -> k (1 + fraction), from rig time `t` (s) on."""

    storey: int
    fraction: float
    t: float = 0.0

    def __str__(self) -> str:
        return f"{self.storey}:{self.fraction:g}@{self.t:g}"


def parse_damage(text: str, n_storeys: int) -> Damage:
    """`STOREY:FRACTION[@T]` (e.g. `2:-0.10@30`); ValueError with one line when bad."""
    head, at, t_text = str(text).strip().partition("@")
    storey_text, colon, frac_text = head.partition(":")
    form = "expected STOREY:FRACTION[@T], e.g. 2:-0.10@30"
    if not colon:
        raise ValueError(f"damage {text!r}: {form}")
    try:
        storey = int(storey_text)
    except ValueError:
        raise ValueError(f"damage {text!r}: storey {storey_text!r} is not a whole number") \
            from None
    if not 1 <= storey <= n_storeys:
        raise ValueError(f"damage {text!r}: storey {storey} out of range (1..{n_storeys})")
    try:
        fraction = float(frac_text)
    except ValueError:
        raise ValueError(f"damage {text!r}: fraction {frac_text!r} is not a number") from None
    if not math.isfinite(fraction) or fraction <= -1.0 or fraction > 10.0:
        raise ValueError(f"damage {text!r}: fraction {frac_text} out of range (> -1 and <= 10:"
                         " the stiffness is scaled by 1 + fraction)")
    t = 0.0
    if at:
        try:
            t = float(t_text)
        except ValueError:
            raise ValueError(f"damage {text!r}: time {t_text!r} is not a number") from None
        if not math.isfinite(t) or t < 0:
            raise ValueError(f"damage {text!r}: time {t_text} must be >= 0 s (rig time)")
    return Damage(storey, fraction, t)


def damage_factors(damage, n_storeys: int, t: float = math.inf) -> np.ndarray:
    """(N,) stiffness factor of each storey from the damage in force at rig time t."""
    f = np.ones(n_storeys)
    for d in damage:
        if d.t <= t + 1e-9:
            f[d.storey - 1] *= 1.0 + d.fraction
    return f


def true_channel(out: rig.RigOutputs, sensor, system: rig.RigSystem) -> np.ndarray:
    """The physical quantity a sensor of the scene file measures (see rig.SENSOR_QUANTITIES)."""
    return rig.sensor_truth(out, system, sensor.quantity, sensor.floor, sensor.phase)


class SimulatedRig:
    """Ground-truth rig: physics at the motor rate, sensors at the sample rate."""

    def __init__(self, scene: Scene, profile: str | None = None, seed: int = 0):
        scene.require_rig("the simulated rig")  # a structure alone: RigPartMissing, one line
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
        self.damage: tuple[Damage, ...] = ()
        self._active_damage = np.ones(scene.n_storeys)
        self._k_intact: np.ndarray | None = None  # the truth's K before any damage

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self.sensors)

    def set_command(self, command: rig.RigCommand) -> None:
        self.command = command

    def set_stroke(self, stroke_m: float) -> None:
        self.system = rig.with_stroke(self.system, stroke_m)

    def set_damage(self, damage) -> None:
        """The damage schedule (Damage items); storeys are checked against this scene."""
        n = self.scene.n_storeys
        for d in damage:
            if not 1 <= d.storey <= n:
                raise ValueError(f"damage {d}: storey {d.storey} out of range (1..{n})")
        self.damage = tuple(damage)
        self._apply_damage()

    def _apply_damage(self) -> None:
        factors = damage_factors(self.damage, self.scene.n_storeys, self.t)
        if np.array_equal(factors, self._active_damage):
            return
        if self._k_intact is None:
            self._k_intact = self.system.K.copy()
        n = self.scene.n_storeys
        storeys = StoreyModel.from_matrices(self.system.M, self._k_intact, n)
        K = storeys.stiffness(factors - 1.0)
        self.system = replace(self.system, K=np.ascontiguousarray(K))
        self._active_damage = factors

    @property
    def damage_in_force(self) -> list[dict]:
        """Each storey's stiffness change in force now (only the changed ones)."""
        return [{"storey": i + 1, "fraction": round(float(f - 1.0), 6)}
                for i, f in enumerate(self._active_damage) if f != 1.0]

    def truth_model(self) -> LinearModel:
        """The structure as simulated now (damage included), with the actuator hung on it
        (coil open): what a tracker should find."""
        s = self.system
        model = LinearModel(M=s.M, C=s.C, K=s.K)
        a = s.actuator
        if a is None or not a.installed:
            return model
        # build_rig already put the device's base mass on its floor
        return with_oscillator(model, a.floor, 0.0, a.proof_mass_kg, a.stiffness_n_per_m,
                               a.damping_ns_per_m)

    def truth_frequencies_hz(self) -> np.ndarray:
        """The truth's natural frequencies now, ascending (recomputed when the damage or the
        structure changes)."""
        key = (id(self.system.K), self.system.K.tobytes())
        if getattr(self, "_truth_hz", (None,))[0] != key:
            self._truth_hz = (key, modal_analysis(self.truth_model()).frequencies_hz)
        return self._truth_hz[1]

    def advance(self, n_samples: int, forces=None, base_acc=None) -> Block:
        """Run n_samples sample periods; forces/base_acc are given at the physics rate."""
        if self.damage:
            self._apply_damage()
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
