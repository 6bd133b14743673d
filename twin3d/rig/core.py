"""The simulated rig's core: ground-truth physics behind the interlocks, one block per step.

`RigCore` is the rig without a wire or a clock: it steps `twin3d.rig.truth.SimulatedRig` one block
at a time, adds ambient table shaking, feeds the interlocks and answers decoded commands, and
returns what a transport (`twin3d.rig.transports`) should send; `twin3d.rig.loop.run_rig` paces
it at real time.

Ground truth differs from the twin on purpose (DESIGN.md section 3): by default the storey
stiffnesses are refitted so that the bare frame's modes sit at the Southampton rig's *measured*
peaks, 6.500 / 17.469 / 26.500 Hz, where the twin's default model (the identified chain) has
6.204 / 17.800 / 26.402 Hz; masses and damping stay those of the identified chain. Other truths:
`swansea` (7.0 / 19.4 / 29.1 Hz), or any profile name of the scene. A scene that is not a
three-storey chain gets the identified mode-1 gap as a uniform stiffness scale.

Ambient: the table also carries band-limited Gaussian acceleration (physics.excitations, 1-80 Hz,
0.02 m/s^2 rms by default, a periodic 20 s record looped seamlessly), so the modes show in the
data even with the motor stopped. The crank constrains the table in the kernel, so the ambient
part enters as its equivalent inertial forces -m a_amb on every mass the table carries (the
floors and the actuator's proof mass: left off the latter, the rig is no longer base-excited
and its transmissibilities move mode 1 by 0.7 %), and it is added to the
accelerometer readings (they measure absolute acceleration).
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from twin3d.physics import rig
from twin3d.physics.control import dvf_critical_gain
from twin3d.physics.excitations import band_limited_noise
from twin3d.physics.structure import LinearModel, modal_analysis, storey_drift
from twin3d.protocol.audit import AuditLog
from twin3d.protocol.commands import (Ack, CommandError, check_arg, decode_command, make_command,
                                      parse_cli_args)
from twin3d.rig.interlocks import Interlocks, Trip
from twin3d.rig.truth import SimulatedRig
from twin3d.scenefile.records import Scene

# Target modes (Hz) of the named truths; fitted by storey stiffness on the identified masses.
TRUTH_TARGETS = {"southampton_measured": (6.500, 17.469, 26.500),
                 "swansea": (7.0, 19.4, 29.1)}
DEFAULT_TRUTH = "southampton_measured"
AMBIENT_BAND_HZ = (1.0, 80.0)
AMBIENT_RMS = 0.02  # m/s^2
AMBIENT_LOOP_S = 20.0


def _fit_stiffness(mass, stiffness, damping, targets_hz) -> np.ndarray:
    import scipy.optimize

    targets = np.asarray(targets_hz)

    def residual(log_k):
        m = LinearModel.chain(mass, np.exp(log_k), damping)
        return modal_analysis(m).frequencies_hz / targets - 1.0

    r = scipy.optimize.least_squares(residual, np.log(stiffness), xtol=1e-12, ftol=1e-12)
    return np.exp(r.x)


def truth_model(scene: Scene, truth: str = DEFAULT_TRUTH) -> tuple[LinearModel, str]:
    """The rig's ground-truth structure and a one-line description of it."""
    if truth in scene.data.profiles:
        return scene.model(truth), f"scene profile {truth}"
    if truth not in TRUTH_TARGETS:
        raise ValueError(f"truth {truth!r} unknown (allowed: {', '.join(TRUTH_TARGETS)} or a "
                         f"profile: {', '.join(scene.data.profiles)})")
    base = scene.data.profiles[scene.data.model.active]
    targets = TRUTH_TARGETS[truth]
    if base.kind == "chain" and scene.n_storeys == len(targets):
        k = _fit_stiffness(base.mass_kg, base.stiffness_n_per_m, base.damping_ns_per_m, targets)
        return (LinearModel.chain(base.mass_kg, k, base.damping_ns_per_m),
                f"{truth}: storey stiffness fitted to modes " +
                "/".join(f"{f:g}" for f in targets) + " Hz")
    nominal = scene.model()
    scale = (targets[0] / modal_analysis(nominal).frequencies_hz[0]) ** 2
    return (LinearModel(M=nominal.M, C=nominal.C, K=nominal.K * scale),
            f"{truth}: stiffness x{scale:.4f} (mode 1 at {targets[0]:g} Hz)")


@dataclass
class Outgoing:
    """What one step produced for the transport to send."""

    block: object  # twin3d.rig.truth.Block (readings with the ambient part)
    seq: int
    t0_ns: int
    events: list = field(default_factory=list)  # Ack | Trip


class RigCore:
    """The simulated rig behind its interlocks, one block per `step()`; no wire, no clock."""

    def __init__(self, scene: Scene, *, truth: str = DEFAULT_TRUTH, seed: int = 0,
                 ambient_rms: float = AMBIENT_RMS, rig_id: str = "rig1",
                 audit: AuditLog | None = None, start_ns: int | None = None):
        self.scene = scene
        self.rig_id = rig_id
        self.sim = SimulatedRig(scene, seed=seed)
        model, self.truth = truth_model(scene, truth)
        self.sim.system = rig.build_rig(model, scene.motor_params(), scene.crank_params(),
                                        scene.actuator_params())
        # what a tracker should find: the frame with the actuator hung on it (coil open)
        self.truth_hz = modal_analysis(scene.carried(model)).frequencies_hz
        act = scene.data.actuator
        # the DVF gain at which THIS structure (the truth it simulates, not the twin's model)
        # goes unstable with its actuator: the interlocks refuse gains near it
        self.dvf_critical_gain = (dvf_critical_gain(model, scene.actuator_params())
                                  if act.installed else None)
        self.interlocks = Interlocks(scene.data.limits, scene.n_storeys,
                                     scene.data.crank.stroke_m,
                                     act.floor if act.installed else None,
                                     dvf_critical_gain=self.dvf_critical_gain)
        self.block_samples = scene.data.sampling.block_samples
        self.start_ns = time.time_ns() if start_ns is None else start_ns
        self.seq = 0
        self.audit = audit
        self.last_trip: dict | None = None
        n_loop = int(AMBIENT_LOOP_S * self.sim.sample_rate) * self.sim.decimation
        fs_phys = 1.0 / self.sim.dt
        self.ambient = (band_limited_noise(n_loop, fs_phys, *AMBIENT_BAND_HZ, ambient_rms, seed)
                        if ambient_rms > 0 else np.zeros(n_loop))
        self._amb_pos = 0
        self._accel_cols = [j for j, s in enumerate(self.sim.sensors.values())
                            if rig.SENSOR_QUANTITIES[s.quantity].absolute_acceleration]
        self._applied = None
        self._truth_tail: deque = deque(maxlen=400)  # (seq, floors' displacement at its end)

    def start_running(self, rpm: float) -> None:
        """Start with the motor running at `rpm` (as if from the rig's own panel): no lease is
        taken, so no operator's heartbeat is needed to keep it running."""
        lim = self.scene.data.limits
        refused = check_arg("set_speed", "rpm", rpm, lim, self.scene.n_storeys,
                            what="start speed")
        if refused:
            raise ValueError(refused)
        il = self.interlocks
        il.drive = replace(il.drive, speed_rpm=float(rpm), ramp_rpm_per_s=lim.max_accel_rpm_per_s)

    # ---- inputs --------------------------------------------------------------------------

    def command(self, payload: bytes | str, now: float,
                user: str | None = None) -> list[Ack | Trip]:
        """One command from the wire: its acks (and an e-stop's trip). Never raises.

        `user`: who sent it, as the broker knows it (the `cmd/<user>` topic level, which the
        broker's ACL lets only that account write); a payload `user` that differs is
        rejected. None: a wire with no broker identity (the serial line)."""
        try:
            cmd = decode_command(payload)
        except CommandError as e:
            return [self._bad(e, now, payload)]
        if user is not None and cmd.user != user:
            return [self._bad(CommandError("user", "differs from the broker account that "
                                           "sent the command", got=cmd.user,
                                           allowed=repr(user), cmd_id=cmd.id), now, payload)]
        self._audit("command", **json.loads(cmd.to_json()))
        events = self.interlocks.submit(cmd, now)
        self._record(events)
        return events

    def _bad(self, error: CommandError, now: float, payload) -> Ack:
        ack = self.interlocks.reject_bad(error, now)
        text = (bytes(payload[:512]).decode("utf-8", "replace")
                if isinstance(payload, (bytes, bytearray)) else str(payload)[:512])
        self._audit("bad_command", reason=ack.reason, id=ack.id, payload=text)
        self._audit("ack", **ack.to_dict())
        return ack

    def serial_command(self, cmd_id: str, op: str, args: dict, now: float) -> list[Ack | Trip]:
        """A `$C` line: values are text, the user is whoever holds the port."""
        try:
            typed = parse_cli_args(op, [f"{k}={v}" for k, v in args.items()])
        except CommandError as e:
            e.cmd_id = cmd_id
            return [self._bad(e, now, f"$C,{cmd_id},{op},{args}")]
        cmd = make_command(op, typed, user="serial", cmd_id=cmd_id, sent=now)
        return self.command(cmd.to_json(), now)

    def heartbeat(self, payload: bytes | str, now: float, user: str | None = None) -> None:
        """`user`: from the `heartbeat/<user>` topic (the broker's identity); the payload's
        own `user` then counts only when it agrees (None: trust the payload, serial-era)."""
        try:
            obj = json.loads(payload)
            said = obj.get("user", "") if isinstance(obj, dict) else ""
        except (ValueError, UnicodeDecodeError):
            said = ""
        said = said if isinstance(said, str) else ""
        if user is not None and said not in ("", user):
            return  # a heartbeat claiming to be someone else keeps no lease alive
        self.interlocks.heartbeat(user if user is not None else said, now)

    # ---- the step ------------------------------------------------------------------------

    def _apply(self) -> None:
        d = self.interlocks.drive
        key = (d.brake, d.speed_rpm, d.ramp_rpm_per_s, d.gain, d.stroke_m)
        if key == self._applied:
            return
        if self._applied is None or d.stroke_m != self._applied[4]:
            self.sim.set_stroke(d.stroke_m)
        if d.brake:
            cmd = rig.RigCommand(mode=rig.MODE_BRAKE, dvf_gain=d.gain)
        else:
            cmd = rig.RigCommand(mode=rig.MODE_SPEED, speed_rpm=d.speed_rpm,
                                 ramp_rpm_per_s=d.ramp_rpm_per_s, dvf_gain=d.gain)
        self.sim.set_command(cmd)
        self._applied = key

    def _ambient(self, n_steps: int) -> np.ndarray:
        idx = (self._amb_pos + np.arange(n_steps)) % self.ambient.size
        self._amb_pos = int((self._amb_pos + n_steps) % self.ambient.size)
        return self.ambient[idx]

    def step(self, now: float) -> Outgoing:
        """Advance one block: physics, sensors, interlocks; `now` is the wall clock (s)."""
        self._apply()
        sim = self.sim
        n_steps = self.block_samples * sim.decimation
        a_amb = self._ambient(n_steps)
        # every mass riding on the table is shaken: the floors and the actuator's proof mass
        masses = np.append(sim.system.M @ np.ones(sim.system.n), sim.system.p[rig.P_MP])
        forces = -np.outer(a_amb, masses)
        block = sim.advance(self.block_samples, forces=forces)
        # the sensors see the ambient table motion too (they measure absolute acceleration)
        block.readings[:, self._accel_cols] += a_amb[sim.decimation - 1::sim.decimation, None]
        u = block.truth.floor_disp
        drift = float(np.abs(storey_drift(u)).max())
        events = self.interlocks.update(now, sim.speed_rpm, drift)
        self._record(events)
        self._apply()
        self._truth_tail.append((self.seq, u[-1].copy()))
        out = Outgoing(block, self.seq, self.start_ns + int(round(block.t0 * 1e9)), events)
        self.seq += 1
        return out

    def _record(self, events) -> None:
        for e in events:
            if isinstance(e, Trip):
                self.last_trip = e.to_dict()
                fields = e.to_dict()
                fields["trip"] = fields.pop("kind")
                del fields["event"]
                self._audit("trip", **fields)
            else:
                self._audit("ack", **e.to_dict())

    def _audit(self, kind: str, **fields) -> None:
        if self.audit is not None:
            self.audit.write(kind, rig_id=self.rig_id, **fields)

    # ---- reports -------------------------------------------------------------------------

    def truth_at(self, seq: int | None) -> np.ndarray | None:
        """The floors' true displacement (relative to the table) at the last sample of block
        `seq`, while it is among the last 400 blocks: what an estimate is compared with."""
        for s, u in reversed(list(self._truth_tail)):
            if s == seq:
                return u
        return None

    @property
    def units(self) -> list[str]:
        return [s.unit for s in self.sim.sensors.values()]

    def meta(self) -> dict:
        from twin3d.io.t3d1 import make_meta

        start = datetime.fromtimestamp(self.start_ns * 1e-9, UTC).isoformat()
        return make_meta(self.sim.channels, self.units, self.sim.sample_rate,
                         self.block_samples, rig_id=self.rig_id, start_timestamp=start,
                         scene=self.scene.data.name, source="simulated rig",
                         truth=self.truth, truth_modes_hz=[float(f) for f in self.truth_hz],
                         limits={k: getattr(self.scene.data.limits, k) for k in
                                 self.scene.data.limits.__dataclass_fields__})

    def state(self, now: float) -> dict:
        il = self.interlocks
        status = il.status  # ok | estop | tripped (the broker's last will says lost)
        return {"status": status, "rig_id": self.rig_id, "t": now,
                "speed_rpm": round(self.sim.speed_rpm, 3), "seq": self.seq,
                "winding_temp_c": round(float(self.sim.view.winding_temp), 2),
                "last_trip": self.last_trip, "truth": self.truth, **il.snapshot()}
