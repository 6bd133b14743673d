"""The simulated rig as its own process: ground-truth physics at real time behind the wire protocol.

`RigCore` is the rig without a wire: it steps `twin3d.rig.truth.SimulatedRig` one block at a time,
adds ambient table shaking, feeds the interlocks and answers decoded commands. A transport
(`MqttTransport` over `twin3d.io.mqtt_link`, `PtyTransport` speaking the `$D/$M/$A/$C` lines of
`twin3d.io.serial_lines` through a pseudo-terminal) carries it; `run_rig` paces the loop at
real time.

Ground truth differs from the twin on purpose (DESIGN.md section 3): by default the storey
stiffnesses are refitted so that the bare frame's modes sit at the Southampton rig's *measured*
peaks, 6.500 / 17.469 / 26.500 Hz, where the twin's default model (the identified chain) has
6.204 / 17.800 / 26.402 Hz; masses and damping stay those of the identified chain. Other truths:
`swansea` (7.0 / 19.4 / 29.1 Hz), or any profile name of the scene. A scene that is not a
three-storey chain gets the identified mode-1 gap as a uniform stiffness scale.

Ambient: the table also carries band-limited Gaussian acceleration (physics.excitations, 1-80 Hz,
0.02 m/s^2 rms by default, a periodic 20 s record looped seamlessly), so the modes show in the
data even with the motor stopped. The crank constrains the table in the kernel, so the ambient
part enters as its equivalent inertial floor forces -M 1 a_amb, and it is added to the
accelerometer readings (they measure absolute acceleration).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from twin3d.protocol.audit import AuditLog
from twin3d.protocol.commands import Ack, CommandError, decode_command, make_command, parse_cli_args
from twin3d.rig.interlocks import Interlocks, Trip
from twin3d.physics import rig
from twin3d.physics.excitations import band_limited_noise
from twin3d.physics.structure import LinearModel, modal_analysis
from twin3d.scenefile.records import Scene
from twin3d.rig.truth import SimulatedRig

# Target modes (Hz) of the named truths; fitted by storey stiffness on the identified masses.
TRUTH_TARGETS = {"southampton_measured": (6.500, 17.469, 26.500),
                 "swansea": (7.0, 19.4, 29.1)}
DEFAULT_TRUTH = "southampton_measured"
AMBIENT_BAND_HZ = (1.0, 80.0)
AMBIENT_RMS = 0.02  # m/s^2
AMBIENT_LOOP_S = 20.0
STATE_EVERY_S = 0.25
# Commands taken from the inbox per block (50 ms): a command costs ~60 us, so a flood costs at
# most ~15 ms of each block; the interlocks' rate limit refuses all but 20 a second anyway.
COMMANDS_PER_BLOCK = 250


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
        self.interlocks = Interlocks(scene.data.limits, scene.n_storeys,
                                     scene.data.crank.stroke_m,
                                     act.floor if act.installed else None)
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
                            if s.quantity in ("table_acceleration", "floor_acceleration")]
        self._applied = None
        self._truth_tail: deque = deque(maxlen=400)  # (seq, floors' displacement at its end)

    def start_running(self, rpm: float) -> None:
        """Start with the motor running at `rpm` (as if from the rig's own panel): no lease is
        taken, so no operator's heartbeat is needed to keep it running."""
        lim = self.scene.data.limits
        if not 0 <= rpm <= lim.max_speed_rpm:
            raise ValueError(f"start speed {rpm:g} rpm outside 0..{lim.max_speed_rpm:g} rpm")
        il = self.interlocks
        il.drive = replace(il.drive, speed_rpm=float(rpm), ramp_rpm_per_s=lim.max_accel_rpm_per_s)

    # ---- inputs --------------------------------------------------------------------------

    def command(self, payload: bytes | str, now: float) -> list[Ack | Trip]:
        """One command from the wire: its acks (and an e-stop's trip). Never raises."""
        try:
            cmd = decode_command(payload)
        except CommandError as e:
            return [self._bad(e, now, payload)]
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

    def heartbeat(self, payload: bytes | str, now: float) -> None:
        try:
            obj = json.loads(payload)
            user = obj.get("user", "") if isinstance(obj, dict) else ""
        except (ValueError, UnicodeDecodeError):
            user = ""
        self.interlocks.heartbeat(user if isinstance(user, str) else "", now)

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
        forces = -np.outer(a_amb, sim.system.M @ np.ones(sim.system.n))
        block = sim.advance(self.block_samples, forces=forces)
        # the sensors see the ambient table motion too (they measure absolute acceleration)
        block.readings[:, self._accel_cols] += a_amb[sim.decimation - 1::sim.decimation, None]
        n = sim.system.n
        u = block.truth[:, rig.O_U:rig.O_U + n]
        drift = float(np.abs(np.diff(u, axis=1, prepend=0.0)).max())
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
                "winding_temp_c": round(float(self.sim.state[rig.S_TW]), 2),
                "last_trip": self.last_trip, "truth": self.truth, **il.snapshot()}


# ---- transports --------------------------------------------------------------------------

class MqttTransport:
    """The rig on an MQTT broker: data, retained meta and state (last will: lost), cmd, ack.

    `link` is an `MqttLink` (`MqttTransport.connect`) or a loopback link to a twin in this
    process (`twin3d.rig.inprocess`); the rig cannot tell them apart."""

    def __init__(self, link, rig_id: str):
        from twin3d.io.mqtt_link import Topics

        self.topics = Topics.for_rig(rig_id)
        self.link = link
        link.subscribe(self.topics.cmd, qos=1)
        link.subscribe(self.topics.heartbeat, qos=0)
        link.start()

    @staticmethod
    def will(rig_id: str):
        from twin3d.io.mqtt_link import Topics, Will

        return Will(Topics.for_rig(rig_id).state, json.dumps({"status": "lost", "rig_id": rig_id}))

    @classmethod
    def connect(cls, host: str, port: int, rig_id: str, username: str | None = None,
                password: str | None = None, tls=None) -> MqttTransport:
        from twin3d.io.mqtt_link import MqttLink

        return cls(MqttLink(host, port, client_id=f"twin3d-rig-{rig_id}-{os.getpid()}",
                            username=username, password=password, tls=tls,
                            will=cls.will(rig_id)), rig_id)

    def wait_ready(self, timeout: float) -> bool:
        return self.link.wait_connected(timeout)

    def start(self, core: RigCore) -> None:
        self._overflows_seen = self.link.counters.overflows
        self._meta = json.dumps(core.meta())
        self._meta_for = -1  # connection count the retained meta was last published on

    def _republish_meta(self) -> None:
        # after a reconnect (a restarted broker keeps no retained messages) meta goes out again
        n = self.link.counters.connects
        if n != self._meta_for and self.link.connected:
            if self.link.publish(self.topics.meta, self._meta, qos=1, retain=True):
                self._meta_for = n

    def poll(self, core: RigCore, now: float) -> list:
        events = []
        lost = self.link.counters.overflows - self._overflows_seen
        if lost:  # a flood overran the inbox: those commands get no ack, so say so
            self._overflows_seen += lost
            core._audit("inbox_overflow", dropped=lost, total=self._overflows_seen)
        # a bounded share of each block: a flood slows the command path, never the data
        for m in self.link.drain(COMMANDS_PER_BLOCK):
            if m.retain:
                continue  # a retained command is stale by definition
            if m.topic == self.topics.cmd:
                events += core.command(m.payload, now)
            elif m.topic == self.topics.heartbeat:
                core.heartbeat(m.payload, now)
        return events

    def send(self, core: RigCore, out: Outgoing | None, events: list, state: dict | None) -> None:
        from twin3d.io.t3d1 import encode

        self._republish_meta()
        if out is not None:
            self.link.publish(self.topics.data, encode(out.seq, out.t0_ns, out.block.fs,
                                                       out.block.readings))
        for e in events:
            if isinstance(e, Ack):
                self.link.publish(self.topics.ack, e.to_json(), qos=1)
        if state is not None:
            state["inbox_overflows"] = self.link.counters.overflows
            self.link.publish(self.topics.state, json.dumps(state), qos=1, retain=True)

    def close(self, core: RigCore, now: float) -> None:
        state = core.state(now)
        state["status"] = "offline"  # a clean exit; only a lost connection says "lost"
        self.link.publish(self.topics.state, json.dumps(state), qos=1, retain=True)
        self.link.stop()  # paho sends what is queued before the DISCONNECT


class PtyTransport:
    """The rig on a serial line: a pseudo-terminal whose slave is linked at `path`.

    Sends `$M` once a second and one `$D` per sample (t_us: rig clock, us since the epoch), `$A`
    for every ack; reads `$C,<id>,<op>,<key=value>...` commands. Any good line from the host
    is its heartbeat (`$C,<id>,heartbeat` exists only for that); the user is `serial`.
    """

    def __init__(self, path: str):
        import tty

        from twin3d.io.serial_lines import LineParser

        self.path = path
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no newline translation
        os.set_blocking(self.master, False)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(os.ttyname(self.slave), path)
        self.parser = LineParser()
        self.overruns = 0
        self._meta_at = 0.0
        self._pending = b""

    def wait_ready(self, timeout: float) -> bool:
        return True

    def start(self, core: RigCore) -> None:
        pass

    def _write(self, data: bytes) -> None:
        data = self._pending + data
        try:
            n = os.write(self.master, data)
        except BlockingIOError:
            n = 0
        except OSError:
            n = len(data)  # nobody at the other end: the line is simply lost
        rest = data[n:]
        if len(rest) > 1 << 16:  # the host is not reading: drop, count, stay current
            self.overruns += 1
            rest = b""
        self._pending = rest

    def poll(self, core: RigCore, now: float) -> list:
        from twin3d.io.serial_lines import CmdLine

        events = []
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            for msg in self.parser.feed(chunk):
                core.interlocks.heartbeat("serial", now)
                if isinstance(msg, CmdLine) and msg.op != "heartbeat":
                    events += core.serial_command(msg.id, msg.op, msg.args, now)
        return events

    def send(self, core: RigCore, out: Outgoing | None, events: list, state: dict | None) -> None:
        from twin3d.io.serial_lines import encode_ack, encode_data, encode_meta

        parts = []
        if out is not None:
            if time.time() - self._meta_at >= 1.0:
                parts.append(encode_meta(core.sim.channels, [u.replace(",", ";")
                                                             for u in core.units]))
                self._meta_at = time.time()
            b = out.block
            t0_us = out.t0_ns // 1000
            for k, row in enumerate(b.readings):
                seq = out.seq * core.block_samples + k
                parts.append(encode_data(seq, t0_us + int(round(k * 1e6 / b.fs)), row))
        for e in events:
            if isinstance(e, Ack):
                reason = (e.reason or e.outcome).replace(",", ";").replace("*", "x")
                reason = reason.replace("$", "").encode("ascii", "replace").decode("ascii")
                parts.append(encode_ack(e.id or "-", e.status, reason))
        if parts:
            self._write(b"".join(parts))

    def close(self, core: RigCore, now: float) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if os.path.islink(self.path):
            os.unlink(self.path)


# ---- the loop ----------------------------------------------------------------------------

def run_rig(core: RigCore, transport, seconds: float | None = None,
            log=None, clock=time.time, sleep=time.sleep, stop=None) -> dict:
    """Run at real time until `seconds` of rig time have passed, or until `stop` (a
    threading.Event) is set, or SIGTERM/SIGINT when run on the main thread.

    Each block is computed and sent once its last sample's time has come, as an acquisition
    card would deliver it; the rig clock starts when the loop does."""
    import threading

    flag = threading.Event() if stop is None else stop
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, lambda signum, frame: flag.set()) if main else None
    block_s = core.block_samples / core.sim.sample_rate
    wall0 = clock()
    if core.seq == 0:
        core.start_ns = int(round(wall0 * 1e9)) - int(round(core.sim.t * 1e9))
    transport.start(core)
    core._audit("start", truth=core.truth, scene=core.scene.data.name)
    next_state = 0.0
    late = 0
    t_origin = core.sim.t
    try:
        while not flag.is_set() and (seconds is None or core.sim.t < seconds - 1e-9):
            lag = wall0 + (core.sim.t - t_origin) + block_s - clock()
            if lag > 0:
                if flag.wait(lag) if stop is not None else sleep(lag):
                    break
            elif lag < -block_s:
                late += 1
            now = clock()
            events = transport.poll(core, now)
            out = core.step(now)
            events += out.events
            state = None
            if events or now >= next_state:
                state = core.state(now)
                next_state = now + STATE_EVERY_S
            transport.send(core, out, events, state)
            if log:
                for e in events:
                    log(json.dumps(e.to_dict()))
    except KeyboardInterrupt:
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, old)
        now = clock()
        core._audit("stop", seconds=core.sim.t, blocks=core.seq)
        transport.close(core, now)
    return {"rig_id": core.rig_id, "seconds": core.sim.t, "blocks": core.seq,
            "late_blocks": late, "truth": core.truth,
            "truth_modes_hz": [float(f) for f in core.truth_hz],
            "counters": dict(vars(core.interlocks.counters)), "status": core.interlocks.status}
