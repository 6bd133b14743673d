"""`mqtt://HOST[:PORT][/RIG]` and `mqtts://...`: a rig on a broker, as an ingest object.

mqtts:// takes `?ca=FILE` for the broker's CA (default: the system CAs); credentials come from
TWIN3D_MQTT_USER / TWIN3D_MQTT_PASS. The same `MqttSource` reads a rig in this process through
`twin3d.io.loopback` (the `sim` source): the protocol is the same either way.
"""

from __future__ import annotations

import os
from collections import deque
from urllib.parse import parse_qs, urlsplit

from twin3d.io.ingest import Ingest, Ingested, LinkSource
from twin3d.io.link import TopicLink
from twin3d.io.schemes import register_scheme


class MqttSource(LinkSource):
    """Blocks from `twin3d/<rig_id>/data`, the retained meta and state; acks go to `events` and
    to every callable in `ack_listeners` (the twin's commander).

    `link` is a `twin3d.io.mqtt_link.MqttLink` on a broker, or a `twin3d.io.loopback`
    link to a rig in this process: the same protocol either way."""

    link: TopicLink

    def __init__(self, url: str, link: TopicLink, rig_id: str):
        super().__init__(url)
        from twin3d.io.mqtt_link import Topics

        self.topics = Topics.for_rig(rig_id)
        self.link = link
        for t in (self.topics.data, self.topics.meta, self.topics.state, self.topics.ack):
            link.subscribe(t)
        self.ack_listeners: list = []
        self._pending: deque = deque()

    def _take(self, message) -> None:
        self._pending.append(message)  # handled in order with the rest at the next poll

    def poll(self, max_blocks: int = 10_000) -> list[Ingested]:
        msgs = list(self._pending) + self.link.drain()
        self._pending.clear()
        self.counters["overflows"] = self.link.counters.overflows
        out = []
        for m in msgs:
            if m.topic == self.topics.data:
                it = self._accept(m.payload, m.t_recv_ns)
                if it is not None:
                    out.append(it)
            elif m.topic == self.topics.meta:
                obj = m.json()
                if obj is None:
                    self.counters["invalid"] += 1
                    self.last_error = "meta message is not JSON"
                else:
                    self.set_meta(obj)  # counts and explains a bad one
            elif m.topic == self.topics.state:
                obj = m.json()
                if isinstance(obj, dict):
                    self.rig_state = obj
                    self.events.append({"kind": "state", **obj})
            elif m.topic == self.topics.ack:
                obj = m.json()
                if isinstance(obj, dict):
                    for listener in self.ack_listeners:
                        listener(obj)
                self.events.append({"kind": "ack", **(obj if isinstance(obj, dict)
                                                      else {"raw": m.payload.decode(
                                                          "utf-8", "replace")})})
        if not self.link.connected:
            self.status = "lost"
        elif self.rig_state is not None:
            self.status = str(self.rig_state.get("status", "ok"))
        else:
            self.status = "ok" if self.counters["blocks"] else "waiting"
        return out


@register_scheme("mqtt", "mqtts", usage="mqtt://HOST:PORT[/RIG]")
def open_mqtt(url: str, scene=None) -> Ingest:
    from twin3d.io.mqtt_link import DEFAULT_RIG_ID, MqttLink, Tls

    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"source {url!r}: no broker host (expected mqtt://HOST:PORT[/RIG])")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise ValueError(f"source {url!r}: bad port (allowed 1..65535)") from None
    rig_id = parts.path.strip("/") or DEFAULT_RIG_ID
    if "/" in rig_id or "+" in rig_id or "#" in rig_id:
        raise ValueError(f"source {url!r}: rig id {rig_id!r} must be one topic level")
    q = parse_qs(parts.query)
    tls = Tls(ca_certs=q["ca"][-1] if "ca" in q else None) if parts.scheme == "mqtts" else None
    link = MqttLink(parts.hostname, port, tls=tls, username=os.environ.get("TWIN3D_MQTT_USER"),
                    password=os.environ.get("TWIN3D_MQTT_PASS"))
    return MqttSource(url, link, rig_id)
