"""`twin3d demo`: the live twin on the simulated rig, with nothing else to start.

The rig runs in this process behind the real protocol (`twin3d.rig.inprocess`: ground truth
that differs from the twin's model, sensor noise, ambient shaking, interlocks). The twin ingests
its blocks, estimates the state with the Kalman filter, tracks the modes, and a scripted
operator commands the rig through the twin's dry run, the lease and heartbeats, until a person
takes the motor panel. Headless, a status line per second compares the estimate with the rig's
ground truth.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

# (rig time s, caption, command): listen to the ambient shaking and calibrate the model from
# it (and from the run-up), run up below mode 1, ask for a speed on mode 1 (the twin refuses
# it with the predicted drift), settle just below, stop. ON_MODE_1 is the crank speed of mode 1
# of the model the twin holds when the command goes (after the calibration: its model, not the
# scene's).
CALIBRATION_S = 20.0  # of data; the fit itself takes well under a second in the worker
ON_MODE_1 = "mode 1"
SCRIPT = (
    (0.0, "ambient shaking only: the twin tracks the modes", None),
    (0.5, f"the twin calibrates its model from {CALIBRATION_S:g} s of the rig's own data",
     ("calibrate", {"seconds": CALIBRATION_S})),
    (4.0, "operator: run up to 250 rpm, below mode 1", ("set_speed", {"rpm": 250.0})),
    (16.0, "operator asks for the speed of mode 1", ("set_speed", {"rpm": ON_MODE_1})),
    (20.0, "operator: 320 rpm, just below mode 1", ("set_speed", {"rpm": 320.0})),
    (34.0, "operator: stop (ramp down)", ("stop", {})),
)
LOOP_S = 44.0  # the script starts again after this, in the scene


class DemoOperator:
    """The scripted operator: each step's command once per loop, sent through the commander,
    until anyone else has used the commander (a person on the motor panel)."""

    def __init__(self, commander, loop: bool = True, calibrate=None, model_hz=None):
        self.commander = commander
        self.model_hz = model_hz  # () -> the model's frequencies now (ON_MODE_1)
        self.calibrate = calibrate  # feed.calibrate: the first loop's calibration step
        self.loop = loop
        self.done: set[tuple[int, int]] = set()  # (loop number, step index) already sent
        self.issued = 0
        self.active = True
        self.last_result: tuple[bool, str] = (True, "")

    def _others(self) -> int:
        c = self.commander.counters
        return c.sent + c.refused_by_twin + c.send_failures - self.issued

    def __call__(self, t: float) -> str | None:
        if not self.active:
            return None
        if self._others() > 0:
            self.active = False
            return "operator in control: scripted demo stopped"
        n, tl = (int(t // LOOP_S), t % LOOP_S) if self.loop else (0, t)
        label = None
        for i, (start, caption, command) in enumerate(SCRIPT):
            if tl >= start:
                label = caption
                if command is not None and (n, i) not in self.done:
                    self.done.add((n, i))
                    if command[0] == "calibrate":  # the twin's own action, not the rig's
                        if n == 0 and self.calibrate is not None:
                            self.calibrate(**command[1])
                        continue
                    verb, args = command
                    if args.get("rpm") == ON_MODE_1:
                        args = {**args, "rpm": round(60.0 * float(self.model_hz()[0]), 1)}
                    self.issued += 1
                    self.last_result = self.commander.send(verb, args)
        return label


def make_demo_feed(scene, seed: int = 0, loop: bool = True, audit=None,
                   profile: str | None = None, calibrate: bool = True):
    """The in-process rig, the live feed on it (on `profile`, default the scene's) and the
    scripted operator, who has the twin calibrate itself first unless told not to."""
    from twin3d.live.live_feed import LiveFeed

    feed = LiveFeed(f"sim?seed={seed}", scene, user="demo", audit=audit, start=False,
                    profile=profile)
    feed.script = DemoOperator(feed.commander, loop=loop,
                               calibrate=feed.calibrate if calibrate else None,
                               model_hz=lambda: feed.model_hz)
    feed.ingest.start()
    return feed


def run_demo(scene_name: str = "three_storey", seconds: float = 30.0,
             out: Callable[[str], None] | None = print, store: str | None = "none",
             say: Callable[[str], None] | None = None, profile: str | None = None,
             calibrate: bool = True) -> dict:
    """Headless: the live twin for `seconds` of wall time, a status line per second."""
    from twin3d.physics import warmup
    from twin3d.scenefile.profiles import load_user_scene

    t_start = time.perf_counter()
    warmup()
    scene = load_user_scene(scene_name)
    feed = make_demo_feed(scene, loop=False, profile=profile, calibrate=calibrate)
    if store != "none":  # the monitoring history (None: the user's default file)
        from twin3d.live.history_feed import HistoryFeed

        HistoryFeed.open_for(feed, store, say=say)
    rig = feed.ingest.rig
    n = scene.n_storeys
    if out:
        out(f"twin3d demo: {scene.data.description}; simulated rig in this process "
            f"({rig.core.truth}), live twin on it (warm-up {time.perf_counter() - t_start:.1f} s)")
    err2 = ref2 = 0.0
    compared = 0
    peak_speed = 0.0
    next_print = time.monotonic() + 1.0
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            feed.ingest.wait(min(0.05, max(end - time.monotonic(), 0.0)))
            seen = feed.last_seq
            feed.advance()
            truth = rig.core.truth_at(feed.last_seq)
            if truth is not None and feed.last_seq != seen:
                # the estimate after a new block against the rig's own state at its end
                e = feed.floor_disp_m - truth[:n]
                err2 += float(e @ e)
                ref2 += float(truth[:n] @ truth[:n])
                compared += 1
            peak_speed = max(peak_speed, abs(feed.speed_rpm))
            if out and time.monotonic() >= next_print:
                next_print += 1.0
                out(_status_line(feed, truth, n))
        feed.settle()
        st = feed.step()
    finally:
        feed.close()
    c = feed.commander.counters
    return {"scene": scene.data.name, "seconds": seconds, "source": st.source,
            "status": st.status, **{k: st.counters[k] for k in st.counters},
            "rig_time_s": st.t, "latency_ms_p50": feed.latency_ms(50),
            "latency_ms_p99": feed.latency_ms(99), "estimator": feed.mode,
            "estimate_error_rel_rms": (np.sqrt(err2 / ref2) if ref2 > 0 else None),
            "estimates_compared": compared,
            "tracked_hz": [None if not np.isfinite(f) else round(f, 4) for f in st.tracked_hz],
            "truth_modes_hz": [round(float(f), 4) for f in rig.core.truth_hz],
            "model_hz": [round(f, 4) for f in st.model_hz], "alarm": st.alarm,
            "model_profile": st.model_name, "calibration": st.calibration,
            "peak_speed_rpm": peak_speed, "final_speed_rpm": st.speed_rpm,
            "commands": {k: getattr(c, k) for k in vars(c)},
            "last_notice": feed.commander.notice[1], "channels": list(st.units),
            "history": feed.store.counters() if feed.store is not None else None}


def _status_line(feed, truth, n: int) -> str:
    st = feed.state()
    tracked = " ".join("  -  " if not np.isfinite(f) else f"{f:5.2f}" for f in st.tracked_hz) \
        or "(collecting)"
    est = 1e3 * st.floor_disp_m[n - 1]
    true = f"{1e3 * truth[n - 1]:+7.3f}" if truth is not None else "   -   "
    return (f"t {st.t:5.1f} s | crank {st.speed_rpm:6.1f} rpm | floor {n} est {est:+7.3f} "
            f"true {true} mm | tracked {tracked} Hz | p99 {feed.latency_ms(99) or 0:5.1f} ms"
            f" | {feed.label}" + (f" | {feed.sublabel}" if feed.sublabel else ""))
