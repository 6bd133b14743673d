"""Wires for the simulated rig: `MqttTransport` (an MQTT broker, or the in-process loopback bus)
and `PtyTransport` (the `$D/$M/$A/$C` lines of `twin3d.io.serial_lines` on a pseudo-terminal).

A transport has `wait_ready`, `start`, `poll` (commands in, handed to the `RigCore`), `send`
(one step's block, acks and state out) and `close`; `twin3d.rig.loop.run_rig` drives it.
"""

from __future__ import annotations

import json
import os
import time

from twin3d.protocol.commands import Ack
from twin3d.rig.core import Outgoing, RigCore

# Commands taken from the inbox per block (50 ms): a command costs ~60 us, so a flood costs at
# most ~15 ms of each block; the interlocks' rate limit refuses all but 20 a second anyway.
COMMANDS_PER_BLOCK = 250


class MqttTransport:
    """The rig on an MQTT broker: data, retained meta and state (last will: lost), cmd, ack.

    `link` is an `MqttLink` (`MqttTransport.connect`) or a loopback link to a twin in this
    process (`twin3d.rig.inprocess`); the rig cannot tell them apart."""

    def __init__(self, link, rig_id: str, data_link=None):
        from twin3d.io.mqtt_link import Topics

        self.topics = Topics.for_rig(rig_id)
        self.link = link
        # on a cluster the data blocks get a connection of their own (see `connect`)
        self.data_link = data_link or link
        if data_link is not None:
            data_link.start()
        # identity from the broker: operator USER may write only cmd/USER and heartbeat/USER
        # (the ACL of io/broker_config.py), so the user is taken from the topic
        link.subscribe(self.topics.cmd_filter, qos=1)
        link.subscribe(self.topics.heartbeat_filter, qos=0)
        link.start()

    @staticmethod
    def will(rig_id: str):
        from twin3d.io.mqtt_link import Topics, Will

        return Will(Topics.for_rig(rig_id).state, json.dumps({"status": "lost", "rig_id": rig_id}))

    @classmethod
    def connect(cls, host: str | list[tuple[str, int]], port: int, rig_id: str,
                username: str | None = None, password: str | None = None,
                tls=None) -> MqttTransport:
        """`host`: one broker, or a cluster's [(host, port), ...] (the link fails over).

        On a cluster the data blocks (QoS 0, not retained) go on a second connection: NATS
        stores QoS 1 and retained messages (state, acks, meta) in JetStream, and while the
        cluster elects a new leader for those streams (a node died) each such publish holds
        up its connection's reading for seconds (measured 4 s each on nats-server 2.9), data
        behind it included. Data on its own connection never touches JetStream."""
        from twin3d.io.mqtt_link import MqttLink

        client_id = f"twin3d-rig-{rig_id}-{os.getpid()}"
        link = MqttLink(host, port, client_id=client_id, username=username, password=password,
                        tls=tls, will=cls.will(rig_id))
        data = (MqttLink(host, port, client_id=client_id + "-data", username=username,
                         password=password, tls=tls)
                if isinstance(host, list) and len(host) > 1 else None)
        return cls(link, rig_id, data)

    def wait_ready(self, timeout: float) -> bool:
        return self.link.wait_connected(timeout) and self.data_link.wait_connected(timeout)

    def start(self, core: RigCore) -> None:
        from twin3d.io.mqtt_link import topic

        self._truth_topic = topic(core.rig_id, "truth")
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
            user = self.topics.user_in(m.topic, self.topics.cmd)
            if user is not None:
                events += core.command(m.payload, now, user=user)
                continue
            user = self.topics.user_in(m.topic, self.topics.heartbeat)
            if user is not None:
                core.heartbeat(m.payload, now, user=user)
        return events

    def send(self, core: RigCore, out: Outgoing | None, events: list, state: dict | None) -> None:
        from twin3d.io.t3d1 import encode

        self._republish_meta()
        if out is not None:
            self.data_link.publish(self.topics.data, encode(out.seq, out.t0_ns, out.block.fs,
                                                            out.block.readings))
            # the simulated rig's ground truth (a real rig has none to publish): retained, so a
            # twin that joins late sees the truth's modes and damage at once
            self.link.publish(self._truth_topic, json.dumps(truth_message(core, out)),
                              retain=True)
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
        if self.data_link is not self.link:
            self.data_link.stop()


def truth_message(core: RigCore, out: Outgoing) -> dict:
    """`twin3d/<rig>/truth` for one block: the floors' true displacement (relative to the
    table) at the block's last sample, the truth's modes (actuator hung on, coil open) and the
    damage in force; `seq` ties it to the data block."""
    return {"rig_id": core.rig_id, "seq": out.seq,
            "floor_disp_m": [float(u) for u in out.block.truth.floor_disp[-1]],
            "frequencies_hz": [float(f) for f in core.sim.truth_frequencies_hz()],
            "damage": core.sim.damage_in_force}


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
