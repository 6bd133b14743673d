"""Open a source URL as one uniform ingest object.

    mqtt://host[:port][/rig_id]          a rig on a broker (mqtts:// with ?ca=FILE for TLS;
                                         credentials from TWIN3D_MQTT_USER / TWIN3D_MQTT_PASSWORD)
    serial:///dev/ttyX[?baud=N]          a rig speaking `$D/$M` lines
    replay:PATH[?speed=X]                a recording folder, at X times real time (0: flat out)
    tcp://host:port                      T3D1 blocks back to back on a raw TCP stream
    sim[?rpm=0&seed=0]                   the simulated rig in this process: registered by
                                         twin3d.rig.inprocess (`twin3d.live.sources` loads it)

Each scheme is a module that registers its opener (`twin3d.io.schemes.register_scheme`);
importing this module registers the ones of `twin3d.io`. Every source is an `Ingest`
(`twin3d.io.ingest`): `Ingested` blocks from `poll()` and the same counters everywhere.
"""

from __future__ import annotations

# the schemes of twin3d.io: each module registers its own opener when imported
from twin3d.io import mqtt_source, replay_source, serial_source, tcp_source  # noqa: F401
from twin3d.io.ingest import COUNTERS, Ingest, Ingested, LinkSource
from twin3d.io.mqtt_source import MqttSource
from twin3d.io.replay_source import ReplaySource
from twin3d.io.schemes import opener_for, register_scheme, registered_schemes
from twin3d.io.serial_source import SerialSource
from twin3d.io.tcp_source import TcpSource


def open_source(url: str, scene=None) -> Ingest:
    """The ingest object for a source URL (not started). Raises ValueError (one clear line)
    for a URL it cannot use, listing the registered schemes when the scheme is unknown; the
    scene gives the simulated rig and serial defaults."""
    return opener_for(url)(url, scene)


__all__ = ["open_source", "register_scheme", "registered_schemes", "COUNTERS", "Ingest",
           "Ingested", "LinkSource", "MqttSource", "SerialSource", "ReplaySource", "TcpSource"]
