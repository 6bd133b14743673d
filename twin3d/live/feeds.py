"""Feeds for the scene: each turns wall time into the next `TwinState` to draw.

`SimFeed` runs the simulated rig (ground truth, not an estimate) in real time or slowed down;
`ModeFeed` plays one mode shape as a harmonic at its natural frequency, slowed down so that a
60 Hz screen can show it. Live ingest (MQTT, serial, replay) provides the same `step` in
`twin3d.live.live_feed`. Feeds hold the physics; the scene only draws what `step` returns.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from twin3d.physics import rig
from twin3d.physics.shear_frame import modes as loaded_modes
from twin3d.protocol.commands import check_arg
from twin3d.protocol.latch import Latch
from twin3d.scenefile.records import Scene
from twin3d.rig.truth import SimulatedRig
from twin3d.live.state import TwinState


def rig_model_hz(scene: Scene, profile: str | None = None) -> tuple[float, ...]:
    """What `TwinState.model_hz` holds, for every feed: the natural frequencies of the model the
    twin compares against, the frame as the rig carries it (`Scene.rig_model`: with the
    actuator hung on it, coil open), ascending; on a base that is a DOF, with the base (a free
    base's rigid-body mode at 0 Hz left out: nothing measures it as a peak)."""
    return tuple(float(f) for f in scene.frame_modes(profile).frequencies_hz if f > 0)


@dataclass(frozen=True)
class ModeMotion:
    """One mode of the scene's model as the scenes draw it (this desktop's ModeFeed, the web
    page's mode buttons): natural frequency, damping ratio (0 for a free base's rigid-body
    mode), and the shape scaled so that its largest DOF is +1, split into the base's motion and
    the floors' relative to the base (on a fixed base: 0 and the floors)."""

    frequency_hz: float
    damping: float
    base: float
    floors: np.ndarray


def mode_motions(scene: Scene, profile: str | None = None) -> list[ModeMotion]:
    """Every mode of the scene's model as loaded: on a base that is a DOF (a force-driven frame
    on rails or springs) the modes of frame and base together, the base moving too (first: a
    free base's 0 Hz)."""
    loading = scene.loading()
    modes = loaded_modes(scene.model(profile), loading)
    out = []
    for k in range(modes.frequencies_hz.size):
        phi = modes.shapes[:, k]
        phi = phi / phi[int(np.argmax(np.abs(phi)))]
        base = float(phi[0]) if loading.has_base else 0.0
        floors = phi[1:] - base if loading.has_base else phi
        zeta = float(modes.damping_ratios[k])
        out.append(ModeMotion(float(modes.frequencies_hz[k]),
                              zeta if np.isfinite(zeta) else 0.0, base, floors))
    return out


class History:
    """The last `seconds` of chosen channels, kept as a ring of blocks (cheap appends)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.blocks: deque[tuple[np.ndarray, dict[str, np.ndarray]]] = deque()

    def append(self, t: np.ndarray, values: dict[str, np.ndarray]) -> None:
        self.blocks.append((t, values))
        while self.blocks and self.blocks[-1][0][-1] - self.blocks[0][0][-1] > self.seconds:
            self.blocks.popleft()

    def arrays(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if not self.blocks:
            return np.zeros(0), {}
        t = np.concatenate([b[0] for b in self.blocks])
        keys = self.blocks[-1][1].keys()
        return t, {k: np.concatenate([b[1][k] for b in self.blocks]) for k in keys}


class SimFeed:
    """The simulated rig, advanced by wall time x `time_scale` per frame.

    `script(t) -> (label, RigCommand) | None` may drive the command from rig time (the kiosk
    tour and the demo); otherwise commands come from `set_speed`/`stop`/`estop` (the motor
    panel). `base_acc(t0, n, dt)` may prescribe the table's acceleration (an earthquake)."""

    def __init__(self, scene: Scene, time_scale: float = 1.0, history_s: float = 10.0,
                 script=None, base_acc=None, seed: int = 0, max_block_s: float = 0.1):
        self.scene = scene
        self.sim = SimulatedRig(scene, seed=seed)
        self.time_scale = time_scale
        self.script = script
        self.base_acc = base_acc
        self.max_block_s = max_block_s
        self.history = History(history_s)
        self.label = "simulated rig (ground truth), real time" if time_scale == 1 else \
            f"simulated rig (ground truth), {1 / time_scale:g}x slower"
        self.latch = Latch("e-stop latched: reset first")  # the sink's e-stop, until reset
        self._carry = 0.0
        self.model_hz = rig_model_hz(scene)
        self.max_accel = scene.data.limits.max_accel_rpm_per_s
        self._last_state: TwinState | None = None
        self.step(0.0)

    # --- the motor panel's sink (rig-side limits as DESIGN.md section 5 says) ---
    def set_speed(self, rpm: float) -> tuple[bool, str]:
        refused = self.latch.admits("set_speed") or check_arg(
            "set_speed", "rpm", rpm, self.scene.data.limits, self.scene.n_storeys, what="speed")
        if refused:
            return False, refused
        self.sim.set_command(rig.RigCommand(mode=rig.MODE_SPEED, speed_rpm=float(rpm),
                                            ramp_rpm_per_s=self.max_accel))
        return True, f"speed set to {rpm:g} rpm"

    def stop(self) -> tuple[bool, str]:
        return self.set_speed(0.0) if not self.latch.latched else (True, "stopped")

    def estop(self) -> tuple[bool, str]:
        self.latch.engage("e-stop")
        self.script = None
        self.sim.set_command(rig.RigCommand(mode=rig.MODE_BRAKE))
        return True, "e-stop: motor braked, latched until reset"

    def reset(self) -> tuple[bool, str]:
        self.latch.release()
        self.sim.set_command(rig.RigCommand(mode=rig.MODE_SPEED, speed_rpm=0.0))
        return True, "reset"

    @property
    def status(self) -> str:
        """ok, or estop while latched."""
        return self.latch.state

    # --- the feed ---
    def step(self, wall_dt: float) -> TwinState:
        sim = self.sim
        self._carry += max(wall_dt, 0.0) * self.time_scale * sim.sample_rate
        n = int(min(self._carry, self.max_block_s * sim.sample_rate))
        # at most max_block_s of rig time per frame; a backlog beyond 1 s is dropped, so a slow
        # frame rate slows the rig down rather than making it jump
        self._carry = min(self._carry - n, sim.sample_rate)
        if n > 0:
            if self.script is not None and not self.latch.latched:
                scripted = self.script(sim.t)
                if scripted is not None:
                    self.label, command = scripted
                    sim.set_command(command)
            ag = None
            if self.base_acc is not None:
                steps = n * sim.decimation
                ag = self.base_acc(sim.t, steps, sim.dt)
                if sim.command.table != rig.TABLE_PRESCRIBED:
                    sim.set_command(rig.RigCommand(mode=rig.MODE_COAST,
                                                   table=rig.TABLE_PRESCRIBED))
            block = sim.advance(n, base_acc=ag)
            t = block.t0 + np.arange(n) / block.fs
            self.history.append(t, {name: block.readings[:, j]
                                    for j, name in enumerate(block.channels)})
        return self._state()

    def _state(self) -> TwinState:
        sim, x = self.sim, self.sim.view
        t_hist, hist = self.history.arrays()
        gear = sim.system.crank.gear_ratio
        return TwinState(
            source="sim", t=sim.t, floor_disp_m=x.floor_disp.copy(),
            table_disp_m=float(x.table_disp), motor_angle_rad=float(x.theta),
            crank_angle_rad=float(x.theta / gear), speed_rpm=sim.speed_rpm,
            sample_rate_hz=sim.sample_rate, history_t=t_hist, history=hist,
            units={k: s.unit for k, s in self.scene.data.sensors.items()},
            counters={"clipped": sim.clipped}, status=self.status,
            model_hz=self.model_hz)


class ModeFeed:
    """Mode `mode` (1-based) of the scene's model as a harmonic motion, `slow` times slower
    than real; the top of the shape moves `amplitude_m` (physical; the scene magnifies)."""

    def __init__(self, scene: Scene, mode: int, slow: float = 20.0, amplitude_m: float = 1e-3,
                 profile: str | None = None):
        motions = mode_motions(scene, profile)
        if not 1 <= mode <= len(motions):
            raise ValueError(f"mode must be 1..{len(motions)}, got {mode}")
        m = motions[mode - 1]
        self.base_shape = m.base * amplitude_m  # the largest DOF moves amplitude_m
        self.shape = m.floors * amplitude_m  # floors relative to the base
        self.mode, self.slow = mode, slow
        self.frequency_hz, self.damping = m.frequency_hz, m.damping
        self.model_hz = rig_model_hz(scene, profile)  # the HUD's reference, as for every feed
        self.t = 0.0  # model time
        self.label = (f"mode {mode}, {self.frequency_hz:.2f} Hz, damping "
                      f"{100 * self.damping:.2f} %, {slow:g}x slower")

    def step(self, wall_dt: float) -> TwinState:
        self.t += max(wall_dt, 0.0) / self.slow
        c = np.cos(2 * np.pi * self.frequency_hz * self.t)
        return TwinState(source=f"model: mode {self.mode}", t=self.t,
                         floor_disp_m=self.shape * c, table_disp_m=self.base_shape * c,
                         motor_angle_rad=0.0,
                         crank_angle_rad=0.0, speed_rpm=0.0, sample_rate_hz=0.0,
                         model_hz=self.model_hz)
