"""The motor panel: crank speed slider, Stop, a latched E-STOP and Reset, over a sink.

The sink is whatever takes motor commands: the simulated rig (`twin3d.live.feeds.SimFeed`) in
the kiosk, or the live command path (`twin3d.live.commander.Commander`). The speed range and
the e-stop latch are the wire protocol's (`twin3d.protocol.commands.arg_range`,
`twin3d.protocol.latch.Latch`), so the panel offers what the rig accepts.

Programmatic API (tests, kiosk): set_speed(rpm), press_stop(), press_estop(), press_reset();
latched, target_rpm, last_ok, last_message, refusal.
"""

from __future__ import annotations

from typing import Protocol

from ursina import Entity, camera

from twin3d.protocol.commands import arg_range
from twin3d.protocol.latch import Latch
from twin3d.view import widgets as W


class MotorSink(Protocol):
    """What the motor panel drives: the sim rig adapter now, the live command path later.
    Each command returns (ok, message); a refusal is (False, reason)."""

    status: str

    def set_speed(self, rpm: float) -> tuple[bool, str]: ...
    def stop(self) -> tuple[bool, str]: ...
    def estop(self) -> tuple[bool, str]: ...
    def reset(self) -> tuple[bool, str]: ...


def call_sink(fn, *args) -> tuple[bool, str]:
    """(ok, message) from a sink command, whatever it does: returns a tuple, a bool, None
    (taken as ok), or raises (a refusal with the exception's text)."""
    try:
        r = fn(*args)
    except Exception as e:
        return False, str(e) or type(e).__name__
    if r is None:
        return True, ""
    if isinstance(r, tuple) and len(r) == 2:
        return bool(r[0]), str(r[1])
    return bool(r), ""


class MotorPanel(Entity):
    """Crank speed slider (set_speed's range, 0..limits.max_speed_rpm, sent on release), Stop
    (ramp down), a latched E-STOP and Reset; shows the sink's status and its last refusal."""

    def __init__(self, sink, limits, position=(0.25, -0.1), size=(0.6, 0.36), parent=None,
                 step_rpm: float = 30.0):
        super().__init__(parent=parent if parent is not None else camera.ui,
                         position=(position[0], position[1], 0))
        self.sink = sink
        lo, hi = arg_range("set_speed", "rpm", limits)  # the rig's own range for a speed
        self.min_rpm, self.max_rpm = float(lo), float(hi)
        self.step_rpm = step_rpm
        w, h = size
        pad = 0.02
        W.box(self, (0, 0), (w, h), W.PANEL, z=0.02)
        W.label("motor", self, (pad, -0.012), W.TEXT_L, W.ACCENT)
        self._status = W.label("", self, (w - pad, -0.018), W.TEXT_M, W.TEXT, origin=(0.5, 0.5))
        # slider: track + fill + knob; click or drag on the track, the command goes on release
        self._track_x, self._track_w = pad + 0.07, w - 2 * pad - 0.14
        y_tr = -0.058
        self._track = W.button("", self, (self._track_x, y_tr), (self._track_w, 0.038),
                               colour=W.FIELD)
        self._track.on_click = self._grab
        self._fill = W.box(self, (self._track_x, y_tr - 0.011), (self._track_w, 0.016),
                           W.ACCENT, z=-0.015)
        self._knob = W.box(self, (self._track_x, y_tr + 0.006), (0.014, 0.05), W.TEXT,
                           z=-0.02)
        W.button("\u2212", self, (pad, y_tr), (0.055, 0.038),
                 on_click=lambda: self.set_speed(self.target_rpm - self.step_rpm))
        W.button("+", self, (w - pad - 0.055, y_tr), (0.055, 0.038),
                 on_click=lambda: self.set_speed(self.target_rpm + self.step_rpm))
        self._speed = W.label("", self, (w / 2, -0.1), W.TEXT_M, W.TEXT, origin=(0, 0.5))
        bw = (w - 3 * pad) / 2
        y_b = -0.135
        self.stop_button = W.button("Stop", self, (pad, y_b), (bw * 0.55, 0.058),
                                    on_click=self.press_stop)
        self.reset_button = W.button("Reset", self, (pad + bw * 0.55 + pad / 2, y_b),
                                     (bw * 0.45 - pad / 2, 0.058), on_click=self.press_reset,
                                     colour=W.FIELD)
        self.estop_button = W.button("E-STOP", self, (2 * pad + bw, y_b + 0.006), (bw, 0.07),
                                     on_click=self.press_estop, colour=W.ESTOP,
                                     text_scale=W.TEXT_L)
        # the last answer (a refusal with its reason) in the room left at the bottom
        y_msg = y_b - 0.075
        lines = max(1, int((h + y_msg - pad / 2) / (W.TEXT_S * W.Text.size)))
        self._message = W.label("", self, (pad, y_msg), W.TEXT_S, W.MUTED,
                                wrap_width=w - 2 * pad, max_lines=lines)
        # latched at once by E-STOP (whatever the sink answers) or by the rig's own status
        self.latch = Latch("e-stop latched: press Reset first")
        self.target_rpm = 0.0
        self.last_ok, self.last_message, self.refusal = True, "", ""
        self._dragging = False
        self._show_speed(0.0)
        self._status_seen = None
        self._notice_seen = None

    @property
    def latched(self) -> bool:
        return self.latch.latched

    # --- commands ----------------------------------------------------------------------
    def _result(self, ok: bool, message: str) -> None:
        self.last_ok, self.last_message = ok, message
        if not ok:
            self.refusal = message
        said = message if ok or message.startswith("refused") else f"refused: {message}"
        self._message.text = said
        self._message.color = W.MUTED if ok else W.WARN  # refused: safe, but not done

    def set_speed(self, rpm: float) -> bool:
        """Ask the sink for a crank speed (clamped to the allowed range); True when accepted."""
        refused = self.latch.admits("set_speed")
        if refused:
            self._result(False, refused)
            return False
        rpm = min(max(float(rpm), self.min_rpm), self.max_rpm)
        ok, msg = call_sink(self.sink.set_speed, rpm)
        if ok:
            self.target_rpm = rpm
        self._show_speed(self.target_rpm)
        self._result(ok, msg or f"speed {rpm:.0f} rpm")
        return ok

    def press_stop(self) -> bool:
        ok, msg = call_sink(self.sink.stop)
        if ok:
            self.target_rpm = 0.0
            self._show_speed(0.0)
        self._result(ok, msg or "stopping (ramp down)")
        return ok

    def press_estop(self) -> bool:
        # latch first: whatever the sink answers, the panel refuses speed until Reset
        self.latch.engage("E-STOP pressed")
        ok, msg = call_sink(self.sink.estop)
        self.target_rpm = 0.0
        self._show_speed(0.0)
        self._show_latch()
        self._result(ok, msg or "e-stop: latched until reset")
        return ok

    def press_reset(self) -> bool:
        ok, msg = call_sink(self.sink.reset)
        if ok:
            self.latch.release()
        self._show_latch()
        self._result(ok, msg or "reset")
        return ok

    # --- drawing -------------------------------------------------------------------------
    def _show_speed(self, rpm: float) -> None:
        span = self.max_rpm - self.min_rpm
        frac = (rpm - self.min_rpm) / span if span > 0 else 0.0
        self._fill.scale_x = max(frac * self._track_w, 1e-4)
        self._knob.x = self._track_x + frac * self._track_w - 0.007
        self._speed.text = f"{rpm:.0f} rpm  (max {self.max_rpm:.0f})"

    def _show_latch(self) -> None:
        W.set_button_text(self.estop_button, "E-STOP\nLATCHED" if self.latched else "E-STOP")
        self.estop_button.color = W.ESTOP.tint(0.15) if self.latched else W.ESTOP
        self.stop_button.disabled = self.latch.admits("stop") is not None  # stop: always
        self._track.disabled = self.latched
        self.reset_button.color = W.BUTTON.tint(0.1) if self.latched else W.FIELD

    def _grab(self) -> None:
        self._dragging = not self.latched

    def update(self) -> None:
        from ursina import mouse

        if self._dragging:
            if mouse.left and mouse.hovered_entity is self._track and mouse.point is not None:
                frac = min(max(mouse.point[0] + 0.5, 0.0), 1.0)  # track-local x is -0.5..0.5
                rpm = self.min_rpm + frac * (self.max_rpm - self.min_rpm)
                self._show_speed(rpm)
                self._pending = rpm
            elif not mouse.left:
                self._dragging = False
                if getattr(self, "_pending", None) is not None:
                    self.set_speed(self._pending)
                    self._pending = None
        notice = getattr(self.sink, "notice", None)  # a live rig answers later, by ack
        if notice is not None and notice != self._notice_seen:
            self._notice_seen = notice
            if notice[1]:
                self._result(*notice)
        target = getattr(self.sink, "target_rpm", None)  # the rig's own, when it reports one
        if target is not None and not self._dragging and target != self.target_rpm:
            self.target_rpm = float(target)
            self._show_speed(self.target_rpm)
        status = str(getattr(self.sink, "status", ""))
        if status != self._status_seen:
            self._status_seen = status
            self._status.text = f"status: {status}"
            self._status.color = W.ERROR if status in ("estop", "tripped", "lost") else W.OK
        if status == "estop" and not self.latched:  # latched elsewhere (rig, watchdog)
            self.latch.engage("the rig reports an e-stop")
            self._show_latch()
