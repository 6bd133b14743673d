"""The self-running tour for a big screen (`twin3d demo --kiosk`): each mode shape, a motor
run-up through the first resonance with the Sommerfeld slowdown, an earthquake on the table.
Captions are large and plain; nothing needs a mouse; the tour loops."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin3d.live.feeds import ModeFeed, SimFeed
from twin3d.physics import rig
from twin3d.physics.excitations import earthquake
from twin3d.physics.structure import modal_analysis
from twin3d.scenefile.records import Scene
from twin3d.view.colours import nice_number

SHAPES = {1: "all floors sway together, the top the most",
          2: "the top and bottom floors move against the middle one",
          3: "neighbouring floors move against each other"}


@dataclass(frozen=True)
class Step:
    seconds: float
    caption: str | None  # None: the feed's own label
    subtitle: str
    make_feed: Callable[[], object]
    preset: str = "iso"


def mode_steps(scene: Scene, seconds: float = 9.0) -> list[Step]:
    modes = modal_analysis(scene.model())
    steps = []
    for k, f in enumerate(modes.frequencies_hz, 1):
        slow = nice_number(f / 0.6)  # about 0.6 cycles per second on screen
        what = SHAPES.get(k, "a higher mode of the frame")
        steps.append(Step(seconds, None,
                          f"Mode {k} at {f:.1f} Hz: {what}. Slowed {slow:g} times.",
                          lambda k=k, slow=slow: ModeFeed(scene, k, slow=slow), "front"))
    return steps


# (start time s, what, command): a run-up under the PI speed loop, a slow open-loop voltage
# ramp through the first resonance (where the crank lingers: the Sommerfeld effect), a stop.
SHOW = (
    (0.0, "run-up to 250 rpm", dict(mode=rig.MODE_SPEED, speed_rpm=250.0, ramp_rpm_per_s=100.0)),
    (6.0, "voltage ramp through mode 1", dict(mode=rig.MODE_DUTY)),
    (24.0, "ramp down and stop", dict(mode=rig.MODE_SPEED, speed_rpm=0.0, ramp_rpm_per_s=150.0)),
)
DUTY_RAMP = (0.045, 0.004)  # duty at the start of the voltage ramp, and its rate per second


def command_at(t: float, duty: float) -> tuple[str, rig.RigCommand]:
    label, kwargs = SHOW[0][1], SHOW[0][2]
    for start, what, kw in SHOW:
        if t >= start:
            label, kwargs = what, kw
    if kwargs.get("mode") == rig.MODE_DUTY:
        return label, rig.RigCommand(mode=rig.MODE_DUTY, duty=duty)
    return label, rig.RigCommand(**kwargs)


def run_up_step(scene: Scene, seconds: float = 30.0) -> Step:
    def script(t: float):
        duty = DUTY_RAMP[0] + DUTY_RAMP[1] * max(0.0, t - SHOW[1][0])
        return command_at(t, duty)

    # the crank lingers at the first mode of the frame as the rig carries it (actuator hung
    # on: 5.8 Hz on the lab rig), not the bare frame's 6.2 Hz the mode steps show
    f1 = float(next(f for f in scene.frame_modes().frequencies_hz if f > 0))
    return Step(seconds, "motor run-up through the first resonance",
                f"The motor speeds up slowly. Near {f1:.1f} Hz the crank lingers: the shaking "
                "frame takes the motor's power (Sommerfeld effect). See the speed plot.",
                lambda: SimFeed(scene, script=script), "iso")


def earthquake_step(scene: Scene, seconds: float = 22.0, pga_m_s2: float = 0.35,
                    seed: int = 7) -> Step:
    def make():
        feed = SimFeed(scene)
        fs = 1.0 / feed.sim.dt
        record = earthquake(int(seconds * fs), fs, pga_m_s2, seed, duration_s=seconds - 4.0)

        def base_acc(t0: float, n: int, dt: float) -> np.ndarray:
            i0 = int(round(t0 / dt))
            out = np.zeros(n)
            part = record[i0:i0 + n]
            out[:part.size] = part
            return out

        feed.base_acc = base_acc
        feed.label = f"earthquake on the table (synthetic, peak {pga_m_s2:g} m/s^2)"
        return feed

    limit_mm = 1000 * scene.data.limits.drift_limit_m
    return Step(seconds, None, "A synthetic earthquake shakes the table. Colours show each "
                f"storey's drift against the {limit_mm:g} mm safety limit.", make, "iso")


def tour(scene: Scene) -> list[Step]:
    return [*mode_steps(scene), run_up_step(scene), earthquake_step(scene)]


class Tour:
    """Advances through the steps with the app's clock and swaps the app's feed."""

    def __init__(self, app, steps: list[Step]):
        self.app, self.steps = app, steps
        self.index, self.elapsed = -1, 0.0
        self.next()
        import os  # the browser view's URL (`twin3d serve`) as a QR code for phones

        from twin3d.view.qr_badge import WEB_URL_ENV, QrBadge

        url = os.environ.get(WEB_URL_ENV, "").strip()
        self.qr_badge = QrBadge(url) if url else None

    def next(self) -> None:
        self.index = (self.index + 1) % len(self.steps)
        step = self.steps[self.index]
        self.elapsed = 0.0
        self.app.set_feed(step.make_feed(), step.caption, step.subtitle)
        self.app.camera.preset(step.preset)

    def advance(self, dt: float) -> None:
        self.elapsed += dt
        if self.elapsed >= self.steps[self.index].seconds:
            self.next()
