"""`mqtt://HOST[:PORT][/RIG]` and `mqtts://...`: a rig on a broker, as an ingest object.

mqtts:// takes `?ca=FILE` for the broker's CA (default: the system CAs). The user name comes
from the URL (`mqtt://USER@HOST`) or TWIN3D_MQTT_USER; the password only from the environment
(TWIN3D_MQTT_PASSWORD): a password in the URL is refused. The source's `url` is redacted. The same `MqttSource` reads a rig in this process through
`twin3d.io.loopback` (the `sim` source): the protocol is the same either way.
"""

from __future__ import annotations

import os
from collections import deque
from urllib.parse import parse_qs, unquote, urlsplit

from twin3d.io.ingest import Ingest, Ingested, LinkSource, check_ack
from twin3d.io.link import TopicLink
from twin3d.io.schemes import register_scheme


MAX_JSON_BYTES = 65_536  # a meta of 256 channels is ~30 kB; state and acks are far smaller


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
                out += self._accept(m.payload, m.t_recv_ns)
            elif len(m.payload) > MAX_JSON_BYTES:  # meta, state, ack: never this big
                name = "bad_meta" if m.topic == self.topics.meta else \
                    "bad_state" if m.topic == self.topics.state else "bad_ack"
                self.counters[name] += 1
                self.last_error = f"ignored a {len(m.payload)}-byte message on {m.topic}"
            elif m.topic == self.topics.meta:
                if not m.payload:
                    continue  # a cleared retained meta: the last good one stays
                obj = m.json()
                if obj is None:
                    self.counters["bad_meta"] += 1
                    self.last_error = "meta message is not JSON"
                else:
                    self.set_meta(obj)  # counts and explains a bad one
            elif m.topic == self.topics.state:
                if m.payload:
                    self.set_state(m.json())  # counts and explains a bad one
            elif m.topic == self.topics.ack:
                obj = m.json()
                why = check_ack(obj)
                if why:
                    self.counters["bad_ack"] += 1
                    self.last_error = f"ignored an ack: {why}"
                    continue
                for listener in self.ack_listeners:
                    listener(obj)
                self.events.append({**obj, "kind": "ack"})
        out += self._expire()
        if not self.link.connected:
            self.status = "lost"
        elif self.rig_state is not None:
            self.status = self._status_of(str(self.rig_state.get("status", "ok")))
        else:
            self.status = self._status_of("ok" if self.counters["blocks"] else "waiting")
        return out


@register_scheme("mqtt", "mqtts", usage="mqtt://[USER@]HOST:PORT[/RIG]")
def open_mqtt(url: str, scene=None) -> Ingest:
    from twin3d.io.mqtt_link import (DEFAULT_RIG_ID, PASSWORD_ENV, USER_ENV, MqttLink, Tls,
                                      redact_url)

    shown = redact_url(url)
    parts = urlsplit(url)
    if parts.password is not None or ":" in parts.netloc.rpartition("@")[0]:
        raise ValueError(f"source {shown!r}: a password in the URL is refused (it shows in the "
                         "process list and in what the twin prints); use mqtt://USER@HOST:PORT "
                         "and env TWIN3D_MQTT_PASSWORD")
    if not parts.hostname:
        raise ValueError(f"source {shown!r}: no broker host (expected mqtt://HOST:PORT[/RIG])")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise ValueError(f"source {shown!r}: bad port (allowed 1..65535)") from None
    rig_id = parts.path.strip("/") or DEFAULT_RIG_ID
    if "/" in rig_id or "+" in rig_id or "#" in rig_id:
        raise ValueError(f"source {shown!r}: rig id {rig_id!r} must be one topic level")
    q = parse_qs(parts.query)
    tls = Tls(ca_certs=q["ca"][-1] if "ca" in q else None) if parts.scheme == "mqtts" else None
    user = unquote(parts.username) if parts.username else os.environ.get(USER_ENV)
    password = (os.environ.get(PASSWORD_ENV) or os.environ.get("TWIN3D_MQTT_PASS")
                if user else None)
    link = MqttLink(parts.hostname, port, tls=tls, username=user or None, password=password)
    return MqttSource(shown, link, rig_id)
