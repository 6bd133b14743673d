"""Where the panels live: the tool menu (every engineering tool, each with its generated
panel) on the left, the calibration panel under it when the feed can calibrate its model,
and the motor panel at the bottom right when the feed takes commands."""

from __future__ import annotations

from twin3d.view.motor_panel import MotorPanel
from twin3d.view.tool_panel import ToolMenu


class PanelDock:
    def __init__(self, scene, feed):
        self.menu = ToolMenu(scene, position=(-0.87, 0.38), size=(0.3, 0.0),
                             panel_position=(-0.55, 0.38), panel_size=(1.0, 0.8))
        self.motor = None
        self.calibration = None
        if hasattr(feed, "calibrate"):
            from twin3d.view.calibration_panel import CalibrationPanel

            self.calibration = CalibrationPanel(feed)
        sink = motor_sink(feed)
        if sink is not None:
            self.motor = MotorPanel(sink, scene.data.limits, position=(0.45, -0.215),
                                    size=(0.42, 0.25))

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
