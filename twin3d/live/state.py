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
