"""The simulated rig inside the twin's own process, behind the real wire protocol.

`twin3d demo` and the `sim` source need nothing else running, yet the twin they show is the live
twin: the rig (`twin3d.rig.core.RigCore`: ground truth that differs from the twin's model, sensor
noise, ambient shaking, interlocks, watchdog) runs `run_rig` in a thread and speaks T3D1 blocks,
JSON commands, acks, state and heartbeats over an in-process bus (`twin3d.io.loopback`); the twin
reads it with the same `MqttSource`, estimator and tracker as a rig on a broker, and commands it
through the same dry run and lease. Only the socket is missing.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qs

from twin3d.io.loopback import LoopbackBus
from twin3d.io.mqtt_source import MqttSource
from twin3d.io.schemes import query_float, register_scheme
from twin3d.protocol.commands import arg_range
from twin3d.rig.core import AMBIENT_RMS, DEFAULT_TRUTH, RigCore
from twin3d.rig.loop import run_rig
from twin3d.rig.transports import MqttTransport
from twin3d.rig.truth import parse_damage

SIM_RIG_ID = "sim"


class InProcessRig:
    """RigCore + run_rig in a daemon thread on a `LoopbackBus`."""

    def __init__(self, scene, *, rig_id: str = SIM_RIG_ID, truth: str = DEFAULT_TRUTH,
                 seed: int = 0, ambient_rms: float = AMBIENT_RMS, start_rpm: float = 0.0,
                 audit=None, damage=()):
        self.bus = LoopbackBus()
        self.rig_id = rig_id
        self.core = RigCore(scene, truth=truth, seed=seed, ambient_rms=ambient_rms,
                            rig_id=rig_id, audit=audit)
        self.core.sim.set_damage(damage)  # twin3d.rig.truth.Damage items
        if start_rpm:
            self.core.start_running(start_rpm)
        self._transport = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.summary: dict | None = None

    def start(self) -> InProcessRig:
        if self._thread is None:
            from twin3d.physics import warmup

            warmup()  # compile (or load) the kernels before the rig's clock starts
            link = self.bus.link(will=MqttTransport.will(self.rig_id),
                                 client_id=f"rig-{self.rig_id}")
            self._transport = MqttTransport(link, self.rig_id)
            self._thread = threading.Thread(target=self._run, name="in-process rig",
                                            daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        self.summary = run_rig(self.core, self._transport, stop=self._stop)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def kill(self) -> None:
        """The rig dies without a word: its loop stops and the bus publishes its will."""
        self._transport.link.kill()
        self._stop.set()


class SimSource(MqttSource):
    """The `sim` source: an in-process rig and the twin's link to it, started and stopped
    together."""

    def __init__(self, scene, rpm: float = 0.0, seed: int = 0, rig_id: str = SIM_RIG_ID,
                 **rig_options):
        self.rig = InProcessRig(scene, rig_id=rig_id, seed=seed, start_rpm=rpm, **rig_options)
        super().__init__("sim", self.rig.bus.link(client_id="twin"), rig_id)

    def start(self) -> SimSource:
        self.rig.start()
        super().start()
        return self

    def stop(self) -> None:
        super().stop()
        self.rig.stop()


SIM_USAGE = "sim[?rpm=R&seed=N&truth=PROFILE&damage=STOREY:FRACTION[@T]...]"


@register_scheme("sim", usage=SIM_USAGE)
def open_sim(url: str, scene) -> SimSource:
    """The `sim` source URL: this scene's rig in this process, optionally already running,
    with another truth (`truth=`: a named truth, a scene or saved profile) and damage
    (`damage=2:-0.1@30`, repeatable: storey 2's stiffness x 0.9 from rig time 30 s)."""
    if scene is None:
        raise ValueError("source 'sim' needs a scene")
    name, _, query = url.partition("?")
    if name != "sim":
        raise ValueError(f"source {url!r} not understood (expected {SIM_USAGE})")
    q = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(q) - {"rpm", "seed", "truth", "damage"})
    if unknown:
        raise ValueError(f"source {url!r}: unknown parameter {unknown[0]!r} (expected "
                         f"{SIM_USAGE})")
    lo, hi = arg_range("set_speed", "rpm", scene.data.limits)
    try:
        damage = [parse_damage(d, scene.n_storeys) for d in q.get("damage", [])]
    except ValueError as e:
        raise ValueError(f"source {url!r}: {e}") from None
    truth = q["truth"][-1] if "truth" in q else DEFAULT_TRUTH
    try:
        return SimSource(scene, rpm=query_float(q, "rpm", 0.0, lo, hi, url),
                         seed=int(query_float(q, "seed", 0, 0, 2**31, url)), truth=truth,
                         damage=damage)
    except ValueError as e:  # an unknown truth
        raise ValueError(f"source {url!r}: {e}") from None
