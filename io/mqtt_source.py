"""`mqtt://HOST[:PORT][/RIG]` and `mqtts://...`: a rig on a broker, as an ingest object.

`mqtt://H1:P1,H2:P2,H3:P3/RIG` names the nodes of a cluster: the link connects to any and fails
over (`failovers`; `max_gap_s` is the longest time between two blocks received).
`mqtt://.../+` is every rig on the broker (`EveryRig`, for `twin3d monitor`).

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
TRUTH_KEEP = 400  # blocks of truth kept to compare estimates with (20 s at 20 blocks/s)


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
        self._last_block_ns: int | None = None
        self.max_gap_ns = 0  # the longest time between two blocks received (arrival times)
        # a simulated rig's ground truth (`twin3d/<rig>/truth`; a real rig never sends one)
        from twin3d.io.mqtt_link import topic

        self.truth_topic = topic(rig_id, "truth")
        link.subscribe(self.truth_topic)
        self.counters.setdefault("bad_truth", 0)
        self.truth_frequencies_hz: tuple[float, ...] | None = None
        self.truth_damage: list[dict] = []
        self._truth: dict = {}  # seq -> floor displacements, the last TRUTH_KEEP blocks

    @property
    def failovers(self) -> int:
        """Connections to another node of the cluster after losing one (0 for one broker)."""
        return getattr(self.link.counters, "failovers", 0)

    @property
    def max_gap_s(self) -> float:
        return self.max_gap_ns / 1e9

    def truth_at(self, seq: int | None):
        """The floors' true displacement at the end of data block `seq` (numpy array), or None
        when the source has no truth for it."""
        return self._truth.get(seq)

    def _take_truth(self, obj) -> None:
        import numpy as np

        why = check_truth(obj)
        if why:
            self.counters["bad_truth"] += 1
            self.last_error = f"ignored a truth message: {why}"
            return
        self.truth_frequencies_hz = tuple(float(f) for f in obj["frequencies_hz"])
        self.truth_damage = [{"storey": int(d["storey"]), "fraction": float(d["fraction"])}
                             for d in obj["damage"]]
        self._truth[obj["seq"]] = np.asarray(obj["floor_disp_m"], dtype=float)
        while len(self._truth) > TRUTH_KEEP:  # dicts keep insertion order: oldest first
            del self._truth[next(iter(self._truth))]

    def _take(self, message) -> None:
        self._pending.append(message)  # handled in order with the rest at the next poll

    def poll(self, max_blocks: int = 10_000) -> list[Ingested]:
        msgs = list(self._pending) + self.link.drain()
        self._pending.clear()
        self.counters["overflows"] = self.link.counters.overflows
        out = []
        for m in msgs:
            if m.topic == self.topics.data:
                if self._last_block_ns is not None:  # a failover shows as one long gap here
                    self.max_gap_ns = max(self.max_gap_ns, m.t_recv_ns - self._last_block_ns)
                self._last_block_ns = m.t_recv_ns
                out += self._accept(m.payload, m.t_recv_ns)
            elif len(m.payload) > MAX_JSON_BYTES:  # meta, state, ack: never this big
                name = "bad_meta" if m.topic == self.topics.meta else \
                    "bad_state" if m.topic == self.topics.state else \
                    "bad_truth" if m.topic == self.truth_topic else "bad_ack"
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
            elif m.topic == self.truth_topic:
                if m.payload:
                    self._take_truth(m.json())
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


def _finite_list(v, lo: float, hi: float, max_len: int = 64) -> bool:
    import math

    return (isinstance(v, list) and 0 < len(v) <= max_len and
            all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                and lo <= x <= hi for x in v))


def check_truth(obj) -> str:
    """Why a truth message is not usable ('' when it is): untrusted input, checked whole."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    seq = obj.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**63:
        return f"seq {seq!r} is not a block number"
    if not _finite_list(obj.get("floor_disp_m"), -10.0, 10.0):
        return "floor_disp_m is not a list of finite displacements (|u| <= 10 m)"
    if not _finite_list(obj.get("frequencies_hz"), 0.0, 1e5):
        return "frequencies_hz is not a list of finite frequencies (0..1e5 Hz)"
    damage = obj.get("damage", [])
    if not isinstance(damage, list) or len(damage) > 64 or not all(
            isinstance(d, dict) and isinstance(d.get("storey"), int)
            and not isinstance(d.get("storey"), bool) and 1 <= d["storey"] <= 64
            and _finite_list([d.get("fraction")], -1.0, 10.0) for d in damage):
        return "damage is not a list of {storey, fraction}"
    return ""


EVERY_RIG = "+"  # `mqtt://HOST:PORT/+`: every rig on the broker (twin3d monitor)


def _link_and_rig(url: str):
    """(link, rig id, URL fit to print) for `mqtt[s]://[USER@]HOST:PORT[,HOST:PORT...][/RIG]`."""
    from twin3d.io.mqtt_link import (DEFAULT_RIG_ID, PASSWORD_ENV, USER_ENV, MqttLink, Tls,
                                      parse_hostports, redact_url)

    shown = redact_url(url)
    parts = urlsplit(url)
    creds, _, hosts = parts.netloc.rpartition("@")
    if parts.password is not None or ":" in creds:
        raise ValueError(f"source {shown!r}: a password in the URL is refused (it shows in the "
                         "process list and in what the twin prints); use mqtt://USER@HOST:PORT "
                         "and env TWIN3D_MQTT_PASSWORD")
    if not hosts:
        raise ValueError(f"source {shown!r}: no broker host (expected mqtt://HOST:PORT[/RIG])")
    try:  # one broker, or the nodes of a cluster: h1:p1,h2:p2,...
        nodes = parse_hostports(hosts, 8883 if parts.scheme == "mqtts" else 1883)
    except ValueError as e:
        raise ValueError(f"source {shown!r}: {e}") from None
    rig_id = parts.path.strip("/") or DEFAULT_RIG_ID
    if rig_id != EVERY_RIG and ("/" in rig_id or "+" in rig_id or "#" in rig_id):
        raise ValueError(f"source {shown!r}: rig id {rig_id!r} must be one topic level")
    q = parse_qs(parts.query)
    tls = Tls(ca_certs=q["ca"][-1] if "ca" in q else None) if parts.scheme == "mqtts" else None
    user = unquote(creds) if creds else os.environ.get(USER_ENV)
    password = (os.environ.get(PASSWORD_ENV) or os.environ.get("TWIN3D_MQTT_PASS")
                if user else None)
    link = MqttLink(nodes, tls=tls, username=user or None, password=password)
    return link, rig_id, shown


def every_rig(url: str) -> bool:
    """True for a source URL that names every rig (`mqtt://.../+`)."""
    return url.startswith(("mqtt://", "mqtts://")) and \
        urlsplit(url).path.strip("/") == EVERY_RIG


@register_scheme("mqtt", "mqtts", usage="mqtt://[USER@]HOST:PORT[/RIG]")
def open_mqtt(url: str, scene=None) -> Ingest:
    link, rig_id, shown = _link_and_rig(url)
    if rig_id == EVERY_RIG:
        raise ValueError(f"source {shown!r}: rig id '+' (every rig) is only for `twin3d "
                         "monitor`; name one rig (mqtt://HOST:PORT/RIG)")
    return MqttSource(shown, link, rig_id)


class _RigView:
    """One rig's share of a link subscribed to every rig: what an MqttSource needs of a link."""

    def __init__(self, link):
        self._link = link
        self._inbox: deque = deque()

    counters = property(lambda self: self._link.counters)
    connected = property(lambda self: self._link.connected)
    last_error = property(lambda self: self._link.last_error)

    def subscribe(self, topic_filter: str, qos: int = 0) -> None:
        pass  # the shared link already has `twin3d/+/...`

    def drain(self, max_n: int = 1_000_000) -> list:
        out = []
        while self._inbox and len(out) < max_n:
            out.append(self._inbox.popleft())
        return out

    def publish(self, *args, **kwargs) -> bool:
        return self._link.publish(*args, **kwargs)


class EveryRig:
    """Every rig on a broker (`mqtt://HOST:PORT/+`) through one link: one `MqttSource` per rig
    id seen on `twin3d/+/data|meta|state`, created on its first message."""

    def __init__(self, url: str):
        from twin3d.io.mqtt_link import RIG_ID, topic

        self.link, _, self.url = _link_and_rig(url)
        self._rig_id = RIG_ID
        for name in ("data", "meta", "state"):
            self.link.subscribe(topic(EVERY_RIG, name))
        self.rigs: dict[str, MqttSource] = {}
        self._views: dict[str, _RigView] = {}
        self.ignored = 0  # messages on a topic whose rig level is no valid rig id

    def start(self) -> EveryRig:
        self.link.start()
        return self

    def stop(self) -> None:
        self.link.stop()

    def wait(self, timeout: float) -> bool:
        m = self.link.get(timeout)
        if m is not None:
            self._route(m)
        return m is not None

    def _route(self, m) -> None:
        parts = m.topic.split("/")
        rig = parts[1] if len(parts) == 3 else ""
        if not self._rig_id.match(rig):
            self.ignored += 1
            return
        if rig not in self.rigs:
            view = self._views[rig] = _RigView(self.link)
            base = self.url.split("?")[0].rstrip("/").rpartition("/")[0]
            self.rigs[rig] = MqttSource(f"{base}/{rig}", view, rig)
        self._views[rig]._inbox.append(m)

    def poll(self) -> dict[str, list[Ingested]]:
        """Each rig's blocks since the last poll."""
        for m in self.link.drain():
            self._route(m)
        return {rig: src.poll() for rig, src in self.rigs.items()}
