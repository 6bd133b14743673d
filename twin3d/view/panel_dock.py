"""Where the panels live: the tool menu (every engineering tool, each with its generated
panel) on the left, the calibration panel under it when the feed can calibrate its model,
and the motor panel at the bottom right when the feed takes commands."""

from __future__ import annotations

from twin3d.view import layout
from twin3d.view.motor_panel import MotorPanel
from twin3d.view.tool_panel import ToolMenu


class PanelDock:
    """Each panel in its layout region: the menu and calibration in `tools`, an open tool
    panel in `panel`, the motor panel in `motor`."""

    def __init__(self, scene, feed):
        tools, panel = layout.region("tools"), layout.region("panel")
        self.menu = layout.register(
            ToolMenu(scene, position=(tools.x, tools.top), size=(tools.w, 0.0),
                     panel_position=(panel.x, panel.top), panel_size=(panel.w, panel.h),
                     on_open=lambda p: layout.register(p, "panel")), "tools")
        self.motor = None
        self.calibration = None
        if hasattr(feed, "calibrate"):
            from twin3d.view.calibration_panel import CalibrationPanel

            top = tools.top - self.menu.height - layout.GAP  # under the menu, to the bottom
            self.calibration = layout.register(
                CalibrationPanel(feed, position=(tools.x, top), size=(tools.w, top - tools.bottom)),
                "tools")
        sink = motor_sink(feed)
        if sink is not None:
            motor = layout.region("motor")
            self.motor = layout.register(
                MotorPanel(sink, scene.data.limits, position=(motor.x, motor.top),
                           size=(motor.w, motor.h)), "motor")

    def set_feed(self, feed) -> None:
        if self.calibration is not None and hasattr(feed, "calibrate"):
            self.calibration.feed = feed
        sink = motor_sink(feed)
        if self.motor is not None and sink is not None:
            self.motor.sink = sink


def motor_sink(feed):
    """What the motor panel commands: a live feed's commander (through the rig's protocol),
    or the feed itself when it is the simulated rig (kiosk); None for a read-only feed."""
    sink = getattr(feed, "commander", None) or feed
    if all(hasattr(sink, m) for m in ("set_speed", "stop", "estop", "reset")):
        return sink
    return None
