"""MQTT link: a paho-mqtt 2.x client in its own network thread.

Topics live under `twin3d/<rig_id>/` (DESIGN.md section 4): data (T3D1 blocks), meta (retained
JSON), state (retained JSON; the last will sets "status": "lost"), cmd, ack, heartbeat.

What paho leaves to us (notes/HEADLESS.md section 5): TCP_NODELAY (Nagle adds 8-14 ms to every
block), re-subscribing after a reconnect, and a bounded hand-over to the consumer. Incoming
messages become frozen `Message`s in a bounded queue; when the consumer falls behind, the
oldest message is dropped and counted in `overflows` (a viewer wants the newest data; a
recorder keeps up, and its loss is visible either way). Reconnection uses paho's exponential
backoff (min_backoff doubling to max_backoff) and is counted.
"""

from __future__ import annotations

import json
import queue
import re
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import paho.mqtt.client as mqtt

from twin3d.io.inbox import Inbox

ROOT = "twin3d"
DEFAULT_RIG_ID = "rig1"
DEFAULT_PORT = 1883
TOPIC_NAMES = ("data", "meta", "state", "cmd", "ack", "heartbeat")
# a rig id: one topic level we build topics from (no / + # wildcards, no spaces or control
# characters); also the rig's broker account name
RIG_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def topic(rig_id: str, name: str) -> str:
    """`twin3d/<rig_id>/<name>`; name is one of TOPIC_NAMES (or `+`/`#` for filters)."""
    return f"{ROOT}/{rig_id}/{name}"


@dataclass(frozen=True)
class Topics:
    data: str
    meta: str
    state: str
    cmd: str
    ack: str
    heartbeat: str

    @classmethod
    def for_rig(cls, rig_id: str = DEFAULT_RIG_ID) -> Topics:
        return cls(*(topic(rig_id, n) for n in TOPIC_NAMES))

    # Identity comes from the broker, not from the payload: each operator publishes commands
    # on `cmd/<user>` and heartbeats on `heartbeat/<user>`, and the broker's ACL lets an account
    # write only its own (io/broker_config.py). The rig subscribes to `cmd/+`, `heartbeat/+`.
    def cmd_of(self, user: str) -> str:
        return f"{self.cmd}/{user}"

    def heartbeat_of(self, user: str) -> str:
        return f"{self.heartbeat}/{user}"

    @property
    def cmd_filter(self) -> str:
        return f"{self.cmd}/+"

    @property
    def heartbeat_filter(self) -> str:
        return f"{self.heartbeat}/+"

    @staticmethod
    def user_in(topic_: str, base: str) -> str | None:
        """The user level of `base/<user>`, or None when `topic_` is not one."""
        if not topic_.startswith(base + "/"):
            return None
        user = topic_[len(base) + 1:]
        return user if user and "/" not in user else None


# where a broker password and user name may come from besides a file (never argv or a URL)
PASSWORD_ENV = "TWIN3D_MQTT_PASSWORD"
USER_ENV = "TWIN3D_MQTT_USER"


def redact_url(url: str) -> str:
    """A URL fit to print or store: any `user:password@` loses the password (`user:***@`).
    Every source URL echoed in JSON, logs or a recording's meta.json goes through this."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    if "@" not in parts.netloc:
        return url
    creds, _, hostpart = parts.netloc.rpartition("@")
    user, colon, _ = creds.partition(":")
    netloc = f"{user}{':***' if colon else ''}@{hostpart}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def parse_hostports(text: str, default_port: int = DEFAULT_PORT) -> list[tuple[str, int]]:
    """`h1:p1,h2:p2,...` (the nodes of one cluster) -> [(host, port), ...]. A bad entry is a
    ValueError naming it; a node given twice is refused (it would count as two)."""
    nodes = []
    for n, entry in enumerate(text.split(","), 1):
        if not entry.strip():
            raise ValueError(f"broker address list {text!r}: entry {n} is empty")
        try:
            node = parse_hostport(entry.strip(), default_port)
        except ValueError as e:
            raise ValueError(f"broker address list entry {n}: {e}") from None
        if node in nodes:
            raise ValueError(f"broker address list {text!r}: {node[0]}:{node[1]} given twice")
        nodes.append(node)
    return nodes


def parse_hostport(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """`host:port` or `host` -> (host, port). Raises ValueError with a clear message."""
    host, colon, port = text.rpartition(":")
    if not colon:
        host, port = text, str(default_port)
    if not host:
        raise ValueError(f"broker address {text!r} has no host (expected HOST:PORT)")
    try:
        p = int(port)
    except ValueError:
        raise ValueError(f"broker port {port!r} in {text!r} is not a number") from None
    if not 1 <= p <= 65535:
        raise ValueError(f"broker port {p} out of range (allowed 1..65535)")
    return host, p


@dataclass(frozen=True)
class Message:
    """One received message; t_recv_ns is the host's wall clock at arrival (time.time_ns)."""

    topic: str
    payload: bytes
    retain: bool
    qos: int
    t_recv_ns: int

    def json(self):
        """The payload as JSON, or None when it is not valid JSON (never raises)."""
        try:
            return json.loads(self.payload)
        except (ValueError, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes | str
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True)
class Tls:
    ca_certs: str | None = None  # None: the system CAs
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False  # skip the host-name check (a self-signed lab broker by IP)


@dataclass
class LinkCounters:
    connects: int = 0
    disconnects: int = 0
    connect_failures: int = 0
    received: int = 0
    overflows: int = 0
    published: int = 0
    publish_failed: int = 0
    failovers: int = 0  # connections to another node of the cluster after losing one


class MqttLink:
    """A connected MQTT client (a `twin3d.io.link.TopicLink`): `start()`, `publish()`,
    `subscribe()`, `get()/drain()`, `stop()`.

    Connection happens in the background; `wait_connected(timeout)` blocks until the broker
    accepts us. Subscriptions are remembered and renewed on every reconnect.

    `host` may be a list of (host, port): the nodes of one cluster. The link connects to the
    first that answers; when its node dies (or refuses) it moves on to the next, round robin,
    and counts a failover once another node accepts it. `host`/`port` name the current node.

    With several nodes and no will, a second connection is held to another node as a hot
    standby (`standby`): when the active node dies the link subscribes on the standby and
    carries on there. A fresh MQTT connection to NATS needs JetStream (the session record), so
    when the dead node led the sessions stream it waits for a leader election (8-10 s
    measured); the standby, connected before, subscribes and receives in 0.05 s. A link with a
    will gets no standby: the standby's own death would fire the will.
    """

    def __init__(self, host: str | list[tuple[str, int]], port: int = DEFAULT_PORT, *,
                 client_id: str | None = None,
                 username: str | None = None, password: str | None = None,
                 tls: Tls | None = None, will: Will | None = None,
                 subscriptions: tuple[str, ...] | list[str] = (), queue_size: int = 4096,
                 keepalive: int = 10, min_backoff: float = 0.1, max_backoff: float = 5.0,
                 standby: bool | None = None):
        self.nodes = ([(h, int(p)) for h, p in host] if isinstance(host, (list, tuple))
                      else [(host, int(port))])
        if not self.nodes:
            raise ValueError("no broker address given")
        self._node = 0  # index of the node we are connected (or connecting) to
        self._last_node: int | None = None  # the node of the last accepted connection
        self.host, self.port = self.nodes[0]
        self.counters = LinkCounters()
        self.last_error = ""
        self._queue: Inbox[Message] = Inbox(queue_size)
        self._subs: dict[str, int] = {t: 0 for t in subscriptions}
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._keepalive = keepalive
        self._started = False
        self.username = username
        self._ssl: ssl.SSLContext | None = None
        if tls is not None:
            ctx = ssl.create_default_context(cafile=tls.ca_certs)
            if tls.certfile:
                ctx.load_cert_chain(tls.certfile, tls.keyfile)
            ctx.check_hostname = not tls.insecure
            self._ssl = ctx
        client_id = client_id or f"twin3d-{uuid.uuid4().hex[:12]}"

        def client(cid: str, will_: Will | None) -> mqtt.Client:
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid,
                            protocol=mqtt.MQTTv311)
            if username is not None:
                c.username_pw_set(username, password)
            if tls is not None:
                c.tls_set_context(self._ssl)
                c.tls_insecure_set(tls.insecure)
            if will_ is not None:
                c.will_set(will_.topic, will_.payload, qos=will_.qos, retain=will_.retain)
            c.reconnect_delay_set(min_delay=min_backoff, max_delay=max_backoff)
            c.max_queued_messages_set(0)  # publishes while disconnected are refused
            c.on_socket_open = self._on_socket_open
            c.on_connect = self._on_connect
            c.on_connect_fail = self._on_connect_fail
            c.on_disconnect = self._on_disconnect
            c.on_message = self._on_message
            return c

        self._client = client(client_id, will)  # the active connection
        if standby is None:
            standby = len(self.nodes) > 1 and will is None
        if standby and will is not None:
            raise ValueError("a link with a will cannot hold a standby connection")
        self._standby = client(client_id + "-sb", None) if standby and len(self.nodes) > 1 \
            else None
        self._aims = {self._client: 0}  # paho client -> index of the node it is aimed at
        if self._standby is not None:
            self._aims[self._standby] = 1

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> MqttLink:
        """Connect in the background (retrying with backoff until the broker answers)."""
        if not self._started:
            self._started = True
            for c in self._clients():
                c.connect_async(*self.nodes[self._aims[c]], keepalive=self._keepalive)
                c.loop_start()
        return self

    def stop(self) -> None:
        if self._started:
            self._started = False
            for c in self._clients():
                try:
                    c.disconnect()
                finally:
                    c.loop_stop()
            self._connected.clear()

    def _clients(self) -> list:
        return [self._client] + ([self._standby] if self._standby is not None else [])

    def __enter__(self) -> MqttLink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # --- traffic -----------------------------------------------------------------------------

    def subscribe(self, topic_filter: str, qos: int = 0) -> None:
        with self._lock:
            self._subs[topic_filter] = qos
        if self.connected:
            self._client.subscribe(topic_filter, qos)

    def publish(self, topic_: str, payload: bytes | str, qos: int = 0,
                retain: bool = False) -> bool:
        """Queue one message for sending; False (and counted) when the link is down."""
        info = self._client.publish(topic_, payload, qos=qos, retain=retain)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            self.counters.published += 1
            return True
        self.counters.publish_failed += 1
        self.last_error = f"publish to {topic_} failed: {mqtt.error_string(info.rc)}"
        return False

    def get(self, timeout: float | None = None) -> Message | None:
        return self._queue.get(timeout)


    def drain(self, max_n: int = 1_000_000) -> list[Message]:
        return self._queue.drain(max_n)

    # --- paho callbacks (network thread) -----------------------------------------------------

    @staticmethod
    def _on_socket_open(client, userdata, sock) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):  # not a TCP socket (e.g. websockets wrapper)
            pass

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if client is not self._client:  # the standby is up: it subscribes when it takes over,
            # which is now if the active has failed (not merely slower to start: the first
            # node of the list is where the link goes when it answers)
            failed = self.counters.connect_failures or self.counters.disconnects
            if not reason_code.is_failure and not self._connected.is_set() and failed:
                self._take_over(self._client, up=True)
            return
        if reason_code.is_failure:
            self.counters.connect_failures += 1
            self.last_error = refusal_text(str(reason_code), self.username)
            return
        self._now_active(client)

    def _now_active(self, client) -> None:
        """`client` carries the link from now: count it and subscribe there."""
        self._node = self._aims[client]
        self.host, self.port = self.nodes[self._node]
        self.counters.connects += 1
        if self._last_node is not None and self._last_node != self._node:
            self.counters.failovers += 1
        self._last_node = self._node
        with self._lock:
            subs = list(self._subs.items())
        for t, q in subs:
            client.subscribe(t, q)
        self._connected.set()

    def _on_connect_fail(self, client, userdata) -> None:
        if client is not self._client:
            self._next_node(client)
            return
        self.counters.connect_failures += 1
        # paho does not hand us the exception: find out what failed (DNS, TCP or TLS)
        self.last_error = diagnose(self.host, self.port, self._ssl)
        if not self._take_over(client):
            self._next_node(client)

    def _next_node(self, client) -> None:
        """Aim `client`'s next reconnect at the next node (round robin), not the one the other
        connection holds. paho reconnects to its `_host`/`_port`; its public setters refuse
        while the loop is between attempts, which is exactly when we must change them, so the
        fields are set directly."""
        if len(self.nodes) < 2:
            return
        other = [self._aims[c] for c in self._clients() if c is not client and c.is_connected()]
        k = self._aims[client]
        for _ in range(len(self.nodes)):
            k = (k + 1) % len(self.nodes)
            if k not in other:
                break
        self._aims[client] = k
        client._host, client._port = self.nodes[k]
        if client is self._client:
            self._node = k
            self.host, self.port = self.nodes[k]

    def _take_over(self, dead, up: bool = False) -> bool:
        """The active connection is down: the standby, if connected (`up`: it just connected),
        carries on (True)."""
        with self._lock:
            sb = self._standby
            if sb is None or not (up or sb.is_connected()) or dead is not self._client:
                return False
            self._client, self._standby = sb, dead
        self._now_active(sb)
        self._next_node(dead)  # the old active reconnects elsewhere, as the standby
        return True

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if client is not self._client:
            if reason_code != 0 and self._started:
                self._next_node(client)  # the standby's node died: hold another
            return
        was_connected = self._connected.is_set()
        if was_connected:
            self.counters.disconnects += 1
        self._connected.clear()
        # after a refused CONNACK the refusal (say, bad password) is the news, not the close
        if reason_code != 0 and was_connected:
            self.last_error = f"disconnected from {self.host}:{self.port}: {reason_code}"
        elif reason_code != 0 and not self.last_error.startswith(("authentication refused",
                                                                  "broker refused")):
            self.last_error = f"disconnected from {self.host}:{self.port}: {reason_code}"
        if reason_code != 0 and self._started and not self._take_over(client):
            self._next_node(client)  # this node is gone or refuses us: try the next one

    def _on_message(self, client, userdata, msg) -> None:
        m = Message(msg.topic, bytes(msg.payload), bool(msg.retain), int(msg.qos),
                    time.time_ns())
        self.counters.received += 1
        self._queue.put(m)  # drops the oldest when full: the newest matters more
        self.counters.overflows = self._queue.overflows


def refusal_text(reason: str, username: str | None) -> str:
    """A CONNACK refusal in words: authentication is told apart from the rest."""
    low = reason.lower()
    if "user name or password" in low or "bad user" in low:
        return (f"authentication refused by the broker: bad user name or password "
                f"(user {username!r})" if username else
                "authentication refused by the broker: it needs a user name and password")
    if "not authori" in low:
        return (f"authentication refused by the broker: not authorised "
                f"(user {username!r})" if username else
                "authentication refused by the broker: not authorised (anonymous clients "
                "refused; give a user name and password)")
    return f"broker refused the connection: {reason}"


def diagnose(host: str, port: int, ctx: ssl.SSLContext | None, timeout: float = 3.0) -> str:
    """Why a connection to host:port fails: unknown host, refused, unreachable, or TLS."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        return f"unknown host {host!r} (DNS: {e.strerror or e})"
    except (OSError, UnicodeError) as e:
        return f"unknown host {host!r} ({e})"
    try:
        sock = socket.create_connection(infos[0][4][:2], timeout=timeout)
    except ConnectionRefusedError:
        return f"connection refused by {host}:{port} (no broker listening there)"
    except TimeoutError:
        return f"{host}:{port} unreachable (connect timed out)"
    except OSError as e:
        return f"{host}:{port} unreachable ({e.strerror or e})"
    try:
        if ctx is not None:
            try:
                ctx.wrap_socket(sock, server_hostname=host).close()
            except ssl.SSLError as e:
                return f"TLS failure with {host}:{port}: {e.reason or e}"
            except (OSError, ValueError) as e:
                return f"TLS failure with {host}:{port}: {e}"
    finally:
        sock.close()
    return f"no MQTT connection to {host}:{port} (the connection was dropped)"


__all__ = ["redact_url", "refusal_text", "diagnose", "MqttLink", "Message", "Will", "Tls", "Topics", "topic", "parse_hostport",
           "parse_hostports",
           "DEFAULT_RIG_ID", "DEFAULT_PORT", "ROOT", "TOPIC_NAMES", "LinkCounters"]
