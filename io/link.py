"""What every link under a source has in common, as typing protocols.

A link is a connection run by its own thread (or an in-process bus) that hands what it receives
to the frame loop through a bounded queue (`twin3d.io.inbox.Inbox`). `Link` is the part every
link shares: `twin3d.io.mqtt_link.MqttLink`, `twin3d.io.loopback.LoopbackLink`,
`twin3d.io.serial_link.SerialLink` and `twin3d.io.tcp_source.TcpLink`. How a link sends is
not common: a message bus publishes to topics (`TopicLink`: MQTT and the loopback bus), a byte
stream writes bytes (`ByteLink`: a serial line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from twin3d.io.mqtt_link import Message

M = TypeVar("M", covariant=True)  # what get()/drain() hand out


class Counters(Protocol):
    """Every link counts messages dropped from its full queue (the oldest go first)."""

    @property
    def overflows(self) -> int: ...


@runtime_checkable
class Link(Protocol[M]):
    """Start, stop, connection state, and the received messages in arrival order."""

    last_error: str  # the latest problem, in words ("" when none)

    @property
    def counters(self) -> Counters: ...

    @property
    def connected(self) -> bool: ...

    def start(self) -> Link[M]:
        """Connect in the background (retrying while the other end is not there)."""
        ...

    def stop(self) -> None: ...

    def wait_connected(self, timeout: float) -> bool: ...

    def get(self, timeout: float | None = None) -> M | None:
        """The next message, waiting up to `timeout` s; None when nothing came."""
        ...

    def drain(self, max_n: int = 1_000_000) -> list[M]:
        """Every message waiting (at most max_n), without waiting."""
        ...


@runtime_checkable
class TopicLink(Link["Message"], Protocol):
    """A message bus: topics to subscribe to and publish on (MQTT, the in-process bus)."""

    def subscribe(self, topic_filter: str, qos: int = 0) -> None: ...

    def publish(self, topic: str, payload: bytes | str, qos: int = 0,
                retain: bool = False) -> bool:
        """Hand one message over for sending; False (counted, `last_error`) when down."""
        ...


@runtime_checkable
class ByteLink(Link[M], Protocol[M]):
    """A byte stream that carries lines both ways (a serial port)."""

    def write(self, data: bytes) -> bool:
        """Send bytes; False (counted, `last_error`) when the stream is down."""
        ...


__all__ = ["Link", "TopicLink", "ByteLink", "Counters"]
