"""An in-process message bus with the MQTT semantics the twin uses, for a rig in the same process.

`twin3d demo` and the `sim` source run the simulated rig in a thread behind exactly the wire
protocol a real rig speaks on a broker: T3D1 blocks on `data`, retained `meta` and `state`, JSON
commands on `cmd/<user>`, `ack`, `heartbeat/<user>`, and the `state` last will. `LoopbackLink` has the
interface of `twin3d.io.mqtt_link.MqttLink` (start, stop, connected, publish, subscribe, get,
drain, counters), so the rig transport and the MQTT source run unchanged on either. Payloads
are bytes, as on a socket; nothing is shared between the two sides but those bytes.

Topic filters use MQTT's `+` (one level) and a final `#`; retained messages are delivered on subscribe;
`kill()` drops a link without a clean disconnect, which publishes its will (a rig that died).
"""

from __future__ import annotations

import threading
import time

from twin3d.io.inbox import Inbox
from twin3d.io.mqtt_link import LinkCounters, Message, Will


def _matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching: `+` is one level, a final `#` the rest (or nothing)."""
    f_levels, t_levels = topic_filter.split("/"), topic.split("/")
    for i, f in enumerate(f_levels):
        if f == "#" and i == len(f_levels) - 1:
            return True
        if i >= len(t_levels) or (f != "+" and f != t_levels[i]):
            return False
    return len(f_levels) == len(t_levels)


class LoopbackBus:
    """The broker: routes each publish to every connected link subscribed to its topic."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._links: list[LoopbackLink] = []
        self._retained: dict[str, tuple[bytes, int]] = {}

    def link(self, **kwargs) -> LoopbackLink:
        return LoopbackLink(self, **kwargs)

    def _attach(self, link: LoopbackLink) -> None:
        with self._lock:
            self._links.append(link)

    def _detach(self, link: LoopbackLink) -> None:
        with self._lock:
            if link in self._links:
                self._links.remove(link)

    def _retained_for(self, topic_filter: str) -> list[tuple[str, bytes, int]]:
        with self._lock:
            return [(t, p, q) for t, (p, q) in self._retained.items()
                    if _matches(topic_filter, t)]

    def route(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        with self._lock:
            if retain:
                if payload:
                    self._retained[topic] = (payload, qos)
                else:  # an empty retained message clears the topic, as on a broker
                    self._retained.pop(topic, None)
            links = list(self._links)
        now = time.time_ns()
        for link in links:
            link._deliver(topic, payload, qos, False, now)


class LoopbackLink:
    """One client of a `LoopbackBus`, with the `MqttLink` interface (`twin3d.io.link.TopicLink`)."""

    def __init__(self, bus: LoopbackBus, *, subscriptions=(), will: Will | None = None,
                 queue_size: int = 4096, client_id: str = ""):
        self.bus = bus
        self.host, self.port = "in-process", 0
        self.client_id = client_id
        self.counters = LinkCounters()
        self.last_error = ""
        self._queue: Inbox[Message] = Inbox(queue_size)
        self._subs: dict[str, int] = {t: 0 for t in subscriptions}
        self._will = will
        self._connected = threading.Event()
        self._sending = threading.Lock()

    def start(self) -> LoopbackLink:
        if not self._connected.is_set():
            self.bus._attach(self)
            self._connected.set()
            self.counters.connects += 1
            for t in list(self._subs):
                self._send_retained(t)
        return self

    def stop(self) -> None:
        """A clean disconnect: the will is not published."""
        if self._connected.is_set():
            self._connected.clear()
            self.bus._detach(self)

    def kill(self) -> None:
        """The client vanished (crash, cable): the bus publishes its will, after anything the
        client had already handed over (as a broker would: the will is the last word)."""
        with self._sending:
            if not self._connected.is_set():
                return
            self.stop()
            self.counters.disconnects += 1
            if self._will is not None:
                payload = self._will.payload
                self.bus.route(self._will.topic, payload.encode() if isinstance(payload, str)
                               else bytes(payload), self._will.qos, self._will.retain)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def subscribe(self, topic_filter: str, qos: int = 0) -> None:
        new = topic_filter not in self._subs
        self._subs[topic_filter] = qos
        if new and self.connected:
            self._send_retained(topic_filter)

    def _send_retained(self, topic_filter: str) -> None:
        now = time.time_ns()
        for t, p, q in self.bus._retained_for(topic_filter):
            self._queue.put(Message(t, p, True, q, now))

    def publish(self, topic: str, payload: bytes | str, qos: int = 0,
                retain: bool = False) -> bool:
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        with self._sending:  # a publish and a kill never interleave
            if not self.connected:
                self.counters.publish_failed += 1
                self.last_error = f"publish to {topic} failed: not connected"
                return False
            self.bus.route(topic, data, qos, retain)
        self.counters.published += 1
        return True

    def _deliver(self, topic: str, payload: bytes, qos: int, retain: bool, now: int) -> None:
        if any(_matches(f, topic) for f in self._subs):
            self.counters.received += 1
            self._queue.put(Message(topic, payload, retain, qos, now))
            self.counters.overflows = self._queue.overflows

    def get(self, timeout: float | None = None) -> Message | None:
        return self._queue.get(timeout)

    def drain(self, max_n: int = 1_000_000) -> list[Message]:
        return self._queue.drain(max_n)
