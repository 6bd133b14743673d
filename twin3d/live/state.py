"""What the scene displays, whatever the source: one snapshot of the twin per frame.

A feed (the simulated rig here; MQTT, serial and replay ingest with the state estimator in the
live twin) has `step(wall_dt) -> TwinState`: it advances its source by the wall time since the
last frame and returns the newest state plus a short history of chosen channels for the plots.
The scene never computes physics; it draws this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class TwinState:
    source: str  # "sim", "mqtt://host:port", "serial:///dev/ttyX", "replay:PATH"
    t: float  # s, source time of this state
    floor_disp_m: np.ndarray  # (N,) floor displacements relative to the table
    table_disp_m: float  # table displacement (absolute), m
    motor_angle_rad: float  # rotor angle (the crank turns with it through the gear)
    crank_angle_rad: float
    speed_rpm: float  # crank speed
    sample_rate_hz: float
    history_t: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (n,) s
    history: dict[str, np.ndarray] = field(default_factory=dict)  # channel -> (n,) values
    units: dict[str, str] = field(default_factory=dict)  # channel -> unit
    counters: dict[str, int] = field(default_factory=dict)  # blocks, gaps, crc_errors, ...
    status: str = "ok"  # rig status: ok, tripped, estop, lost
    tracked_hz: tuple[float, ...] = ()  # live natural-frequency estimates (empty: none yet)
    # the natural frequencies the tracked ones are compared against, for every feed: the frame
    # as the rig carries it (Scene.rig_model, actuator hung on, coil open; feeds.rig_model_hz)
    model_hz: tuple[float, ...] = ()
    alarm: str = ""  # e.g. "mode 1 2.3 % below model"
    # damage localisation (twin3d.live.damage_watch): the storeys the standing alarm names,
    # each {storey, change_percent, ci95_percent}; its status (learning, watching, storeys,
    # unexplained); a simulated rig's truth (empty/None for a real rig)
    localisation: tuple[dict, ...] = ()
    localisation_status: str = ""
    truth_hz: tuple[float, ...] = ()
    estimate_vs_truth_rel_rms: float | None = None
    # the monitoring history (twin3d.live.history_feed): the trend of the tracked frequencies
    # over the last hours with calibrations and alarms (None: history off), and a store that is
    # down or wrong, said in one line (empty while it takes the records)
    trend: object = None  # twin3d.live.history_feed.Trend
    history_warning: str = ""
    model_name: str = ""  # the profile the twin's model is (a calibration names a new one)
    calibration: str = ""  # the latest calibration's word: progress, result or refusal
    calibration_progress: float | None = None  # 0..1 while one collects or fits, else None


@dataclass(frozen=True)
class TrackerUpdate:
    """One update of the natural-frequency tracker, as `monitor --jsonl` prints it: the
    tracked frequencies (NaN: not identified), the model's, each mode's interval half-width
    (z sigma, Hz; `physics.frequency_tracking.DepartureAlarm`), the modes departing in this
    update (+1 above, -1 below, 0 not) and the alarm as it stands after it."""

    t: float  # s, source time of the window's newest sample
    frequencies_hz: tuple[float, ...]
    model_hz: tuple[float, ...]
    interval_hz: tuple[float, ...]
    damping: tuple[float, ...]
    departing: tuple[int, ...]
    alarm_modes: tuple[int, ...]  # 1-based modes whose persistent alarm stands
    alarm: str  # the feed's alarm text after this update ("" none)
    localisation_status: str = ""

    def to_json(self) -> dict:
        """Plain numbers (NaN stays NaN: the JSON printer writes it as null)."""
        def r(v, d=6):
            return [round(float(x), d) for x in v]

        return {"t": round(self.t, 4), "frequencies_hz": r(self.frequencies_hz),
                "model_frequencies_hz": r(self.model_hz),
                "interval_hz": r(self.interval_hz, 7), "damping": r(self.damping, 5),
                "departing": list(self.departing), "alarm_modes": list(self.alarm_modes),
                "alarm": self.alarm, "localisation_status": self.localisation_status}


class UpdateStats:
    """`monitor --json`'s `updates`: how many tracker updates, each mode's mean and standard
    deviation of the tracked frequency (over the updates that identified it), the fraction of
    updates with an alarm standing, and the source time of the first one."""

    def __init__(self) -> None:
        self.count = 0
        self.alarmed = 0
        self.first_alarm_t: float | None = None
        self._n = self._mean = self._m2 = None

    def add(self, u: TrackerUpdate) -> None:
        f = np.asarray(u.frequencies_hz, dtype=float)
        if self._n is None or self._n.size != f.size:  # a new layout: modes start again
            self._n, self._mean, self._m2 = (np.zeros(f.size) for _ in range(3))
        ok = np.isfinite(f)
        self._n += ok
        # Welford: a 1e-4 Hz scatter on 6 Hz would drown in a sum of squares' rounding
        d = np.where(ok, f - self._mean, 0.0)
        self._mean += np.where(ok, d / np.maximum(self._n, 1), 0.0)
        self._m2 += np.where(ok, d * (f - self._mean), 0.0)
        self.count += 1
        if u.alarm:
            self.alarmed += 1
            if self.first_alarm_t is None:
                self.first_alarm_t = u.t

    def summary(self) -> dict:
        n = self._n if self._n is not None else np.zeros(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, self._mean, np.nan) if n.size else n
            var = np.where(n > 1, self._m2 / (n - 1), np.nan) if n.size else n
        return {"count": self.count, "identified": n.astype(int).tolist(),
                "mean_hz": [round(float(v), 5) for v in mean],
                "std_hz": [round(float(np.sqrt(max(v, 0.0))), 6) if np.isfinite(v)
                           else float("nan") for v in var],
                "alarm_fraction": self.alarmed / self.count if self.count else None,
                "first_alarm_t": self.first_alarm_t}
