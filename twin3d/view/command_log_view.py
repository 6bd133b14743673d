"""The operator view's command log (layout region `log`): who holds the rig's lease and how this
twin's heartbeats go, then the newest commands first, each at its latest word: sent, refused by
the twin's dry run (its plain reason, with the number), accepted, rejected, done, timed out.
Refusals, rejections and timeouts are in the warning colour. A read-only feed (no commander)
shows nothing.

The log is the commander's (`twin3d.live.alarm_log.CommandLog`, fed by the command channel);
this draws it, four times a second at most, and only the lines that changed.
"""

from __future__ import annotations

import time

from ursina import Entity, Text, camera

from twin3d.view import layout
from twin3d.view import widgets as W

MAX_ENTRIES = 4  # lines drawn at most; long ones wrap onto two
REFRESH_S = 0.25
LINE_GAP = 0.2  # between entries, in line heights


class CommandLogView(Entity):
    def __init__(self):
        super().__init__(parent=camera.ui)
        r = layout.region("log")
        self.region = r
        W.box(self, (r.x, r.top), (r.w, r.h), W.PANEL, z=0.02)
        self.pad = 0.004
        self.lease = W.label("", self, (0, 0), W.TEXT_S, W.MUTED)
        layout.place(self.lease, "log", at=(self.pad, self.pad), width=r.w - 2 * self.pad,
                     max_lines=1)
        self.lines = [W.label("", self, (0, 0), W.TEXT_S, W.TEXT) for _ in range(MAX_ENTRIES)]
        layout.register(self, "log")
        self._next = 0.0
        self._seen = None
        self.enabled = False

    def update_log(self, commander, wall: float | None = None) -> None:
        """Redraw from `commander` (None: a read-only feed, nothing shown)."""
        wall = time.monotonic() if wall is None else wall
        if wall < self._next:
            return
        self._next = wall + REFRESH_S
        self.enabled = commander is not None
        if commander is None:
            return
        lease, ok = commander.lease()
        entries = commander.log.latest(MAX_ENTRIES)
        seen = (lease, ok, tuple(entries))
        if seen == self._seen:
            return
        self._seen = seen
        self.lease.text = lease
        self.lease.color = W.MUTED if ok else W.WARN
        line_h = Text.size * W.TEXT_S
        gap = LINE_GAP * line_h  # the ink of a line reaches a little past its line height
        y = self.pad + line_h + gap
        room = self.region.h - self.pad
        for text, entry in zip(self.lines, entries + [None] * MAX_ENTRIES):
            lines = min(2, int((room - y) / line_h + 1e-6))
            if entry is None or lines < 1:
                text.enabled = False
                continue
            text.enabled = True
            layout.place(text, "log", at=(self.pad, y), width=self.region.w - 2 * self.pad,
                         max_lines=lines)
            text.text = entry.line()
            text.color = W.WARN if entry.bad else W.TEXT
            y += line_h * (text.text.count("\n") + 1) + gap
        if not entries:
            self.lines[0].enabled = True
            layout.place(self.lines[0], "log", at=(self.pad, y), max_lines=1)
            self.lines[0].text = "no commands yet: the motor panel sends them"
            self.lines[0].color = W.MUTED
