"""The operator view's alarm banner (layout region `banner`): the most urgent standing alarm (the
rig's status, the twin's alarms, the history store, a lost command lease) in its severity's
colour, with the time it was raised; press A or click Acknowledge to acknowledge it (then the
next one, if any).

An unacknowledged alarm is a filled bar (red: critical, amber: warning, blue: advisory); once
acknowledged it stays, quiet (dark bar, coloured text), while it stands. One that cleared before
anyone acknowledged it stays until acknowledged, marked cleared. The alarm logic is
`twin3d.live.alarm_log.AlarmLog`; this only draws it and takes the key and click.
"""

from __future__ import annotations

import time

from ursina import Entity, Text, camera, color

from twin3d.live.alarm_log import (ADVISORY, CRITICAL, WARNING, AlarmLog, lease_alarms,
                                   state_alarms)
from twin3d.view import layout
from twin3d.view import widgets as W

FILL = {CRITICAL: W.ESTOP, WARNING: W.WARN, ADVISORY: W.BUTTON}
INK = {CRITICAL: W.TEXT, WARNING: color.rgba(0.08, 0.06, 0.02, 1), ADVISORY: W.TEXT}  # on FILL
QUIET = {CRITICAL: W.ERROR, WARNING: W.WARN, ADVISORY: W.ACCENT}  # text once acknowledged
ACK_KEY = "a"
BUTTON_W = 0.25


class AlarmBanner(Entity):
    """`update(state)` once a frame (TwinApp); `acknowledge()` is the key's and the click's."""

    def __init__(self, clock=time.time):
        super().__init__(parent=camera.ui)
        self.clock = clock
        self.alarms = AlarmLog()
        r = self.region = layout.region("banner")
        self.box = W.box(self, (r.x, r.top), (r.w, r.h), FILL[WARNING], z=0.02)
        self.pad = pad = 0.012
        self.text_w = r.w - BUTTON_W - 3 * pad
        self.text = W.label("", self, (0, 0), W.TEXT_M, W.TEXT)
        layout.place(self.text, "banner", at=(pad, pad), width=self.text_w, max_lines=2)
        self.button = W.button("Acknowledge (A)", self, (r.right - BUTTON_W - pad, r.top - pad),
                               (BUTTON_W, r.h - 2 * pad), on_click=self.acknowledge,
                               text_scale=W.TEXT_S / W.TEXT_M)
        layout.register(self, "banner")
        self._shown = None
        self._commander = None
        self.enabled = False

    def update_alarms(self, state, commander=None) -> None:
        """The alarms this frame's state (and the commander's lease) stand for: TwinApp calls
        it once a frame."""
        current = state_alarms(state.status, state.alarm, getattr(state, "history_warning", ""))
        self._commander = commander  # its audit log records who acknowledged what
        if commander is not None:
            current.update(lease_alarms(commander.source.rig_state, commander.user,
                                        commander.operator,
                                        commander.scene.data.limits.heartbeat_timeout_s))
        self.alarms.update(current, self.clock())
        self._show()

    def acknowledge(self) -> bool:
        top = self.alarms.top()
        done = top is not None and self.alarms.acknowledge(top.key, self.clock())
        audit = getattr(self._commander, "audit", None)
        if done and audit is not None:  # an acknowledgement is an operator's act: audited
            audit.write("alarm_ack", user=self._commander.user, alarm=top.text,
                        severity=top.severity, raised_at=top.raised_at, cleared=not top.active)
        self._show()
        return done

    def input(self, key: str) -> None:
        if key == ACK_KEY and self.enabled and W.TextBox.active_box is None:  # not while typing
            self.acknowledge()

    def _show(self) -> None:
        top = self.alarms.top()
        n = len(self.alarms.standing())
        shown = None if top is None else (top.key, top.text, top.acked, top.active, n)
        if shown == self._shown:
            return  # re-laying out text costs more than drawing the rig
        self._shown = shown
        self.enabled = top is not None
        if top is None:
            return
        more = f"   (+{n - 1} more)" if n > 1 else ""
        state = "" if top.acked else "  NEW"
        self.text.text = f"{top.severity.upper()}{state}  {top.describe()}{more}"
        lines = self.text.text.count("\n") + 1  # one line sits in the middle of the bar
        layout.place(self.text, "banner", at=(self.pad, max(
            self.pad, (self.region.h - lines * Text.size * W.TEXT_M) / 2)), width=self.text_w,
            max_lines=2)
        self.box.color = W.PANEL if top.acked else FILL[top.severity]
        self.text.color = QUIET[top.severity] if top.acked else INK[top.severity]
        self.button.enabled = self.alarms.unacknowledged > 0
