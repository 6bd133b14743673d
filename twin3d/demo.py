"""`twin3d demo` without a window: the simulated rig runs a short scripted show and prints a
status line per second (the 3D scene takes over this script when it exists)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .physics import rig, warmup
from .scene_file import load_scene
from .sim import SimulatedRig

# (start time s, what, command): a run-up under the PI speed loop, a slow open-loop voltage
# ramp through the first resonance (where the crank lingers: the Sommerfeld effect), a stop.
SHOW = (
    (0.0, "run-up to 250 rpm", dict(mode=rig.MODE_SPEED, speed_rpm=250.0, ramp_rpm_per_s=100.0)),
    (6.0, "voltage ramp through mode 1", dict(mode=rig.MODE_DUTY)),
    (24.0, "ramp down and stop", dict(mode=rig.MODE_SPEED, speed_rpm=0.0, ramp_rpm_per_s=150.0)),
)
DUTY_RAMP = (0.045, 0.004)  # duty at the start of the voltage ramp, and its rate per second


def command_at(t: float, duty: float) -> tuple[str, rig.RigCommand]:
    label, kwargs = SHOW[0][1], SHOW[0][2]
    for start, what, kw in SHOW:
        if t >= start:
            label, kwargs = what, kw
    if kwargs.get("mode") == rig.MODE_DUTY:
        return label, rig.RigCommand(mode=rig.MODE_DUTY, duty=duty)
    return label, rig.RigCommand(**kwargs)


def run_demo(scene_name: str = "three_storey", seconds: float = 30.0, realtime: bool = True,
             out: Callable[[str], None] | None = print) -> dict:
    t_start = time.perf_counter()
    warmup()
    scene = load_scene(scene_name)
    sim = SimulatedRig(scene)
    if out:
        out(f"twin3d demo: {scene.data.name}, simulated rig, {sim.sample_rate:g} Hz sampling, "
            f"physics at {1 / sim.dt:g} Hz (warm-up {time.perf_counter() - t_start:.1f} s)")
    block = scene.data.sampling.block_samples
    n_blocks = int(np.ceil(seconds * sim.sample_rate / block))
    peak_drift = np.zeros(sim.system.n)
    peak_speed = 0.0
    wall0 = time.perf_counter()
    physics_wall = 0.0
    next_print = 0.0
    duty = DUTY_RAMP[0]
    for _ in range(n_blocks):
        t = sim.t
        if t >= SHOW[1][0]:
            duty = DUTY_RAMP[0] + DUTY_RAMP[1] * (t - SHOW[1][0])
        label, command = command_at(t, duty)
        sim.set_command(command)
        p0 = time.perf_counter()
        b = sim.advance(block)
        physics_wall += time.perf_counter() - p0
        n = sim.system.n
        drift = np.abs(np.diff(b.truth[:, rig.O_U:rig.O_U + n], axis=1, prepend=0.0)).max(axis=0)
        peak_drift = np.maximum(peak_drift, drift)
        peak_speed = max(peak_speed, sim.speed_rpm)
        if out and sim.t >= next_print:
            out(f"t {sim.t:6.1f} s | {label:<28} | crank {sim.speed_rpm:7.1f} rpm | "
                f"drift " + " ".join(f"{1e3 * d:5.2f}" for d in drift) + " mm | "
                f"winding {sim.state[rig.S_TW]:5.1f} C")
            next_print += 1.0
        if realtime:
            lag = sim.t - (time.perf_counter() - wall0)
            if lag > 0:
                time.sleep(lag)
    return {"scene": scene.data.name, "seconds": sim.t, "blocks": n_blocks,
            "samples_per_channel": n_blocks * block, "channels": list(sim.channels),
            "peak_speed_rpm": peak_speed, "final_speed_rpm": sim.speed_rpm,
            "peak_drift_m": peak_drift, "clipped_samples": sim.clipped,
            "physics_realtime_factor": sim.t / max(physics_wall, 1e-9)}
