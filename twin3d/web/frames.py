"""What goes down the browser's WebSocket: a small binary frame per display tick, encoded once
and sent to every viewer, and a JSON `info` text message (the HUD's slower facts) when it
changes, at most a few times a second.

Binary frame, little endian:

    0  4s  magic b"T3W1"
    4  u16 n_floors            6  u16 n_plot (samples for the plots since the last frame)
    8  u32 seq (frames since the server started)
   12  f64 t_wall (server's time.time() when the frame was encoded: latency origin)
   20  f64 t (source time of the state, s)
   28  f32 table_disp_m   32 f32 motor_angle_rad   36 f32 speed_rpm   40 f32 plot_dt_s
   44  f32 plot_lag_s (t minus the time of the last plot sample)
   48  f32 x n_floors   floor displacements relative to the table, m
   ..  f32 x 3 n_plot   plot samples, row by row: top floor accel, table accel, crank rpm
                        (NaN where the source has no such channel)

The page's decoder (static/app.js, `decodeFrame`) reads the same layout; `decode` here is the
same for tests and the benchmark.
"""

from __future__ import annotations

import json
import math
import struct
import time
from dataclasses import dataclass

import numpy as np

MAGIC = b"T3W1"
HEADER = struct.Struct("<4sHHIddfffff")
PLOT_CHANNELS = ("floor_top", "table", "speed")


@dataclass(frozen=True)
class Frame:
    seq: int
    t_wall: float
    t: float
    table_disp_m: float
    motor_angle_rad: float
    speed_rpm: float
    plot_dt_s: float
    plot_end_t: float  # source time of the last plot row
    floor_disp_m: np.ndarray
    plot: np.ndarray  # (n_plot, 3)


def encode(seq: int, t: float, floor_disp_m, table_disp_m: float, motor_angle_rad: float,
           speed_rpm: float, plot: np.ndarray | None = None, plot_dt_s: float = 0.0,
           plot_end_t: float | None = None, t_wall: float | None = None) -> bytes:
    floors = np.asarray(floor_disp_m, dtype="<f4")
    rows = np.zeros((0, 3), "<f4") if plot is None else np.asarray(plot, dtype="<f4")
    head = HEADER.pack(MAGIC, floors.size, rows.shape[0], seq & 0xFFFFFFFF,
                       time.time() if t_wall is None else t_wall, t, table_disp_m,
                       motor_angle_rad, speed_rpm, plot_dt_s,
                       0.0 if plot_end_t is None else t - plot_end_t)
    return head + floors.tobytes() + rows.tobytes()


def decode(data: bytes) -> Frame:
    """The frame in `data`; ValueError when it is not one."""
    if len(data) < HEADER.size or data[:4] != MAGIC:
        raise ValueError("not a T3W1 frame")
    _, nf, npl, seq, t_wall, t, xg, th, rpm, dt, lag = HEADER.unpack_from(data)
    if len(data) != HEADER.size + 4 * (nf + 3 * npl):
        raise ValueError("T3W1 frame length does not match its counts")
    floors = np.frombuffer(data, "<f4", nf, HEADER.size).astype(float)
    plot = np.frombuffer(data, "<f4", 3 * npl, HEADER.size + 4 * nf).reshape(npl, 3)
    return Frame(seq, t_wall, t, xg, th, rpm, dt, t - lag, floors, plot.astype(float))


def t_wall_of(data: bytes) -> float:
    """The encoding time stamp of a frame (for latency), without decoding the rest."""
    return struct.unpack_from("<d", data, 12)[0]


def info_message(state, mode: str, last_error: str, extra: dict | None = None) -> str:
    """The HUD's slow facts of a `TwinState` as one JSON text message (null for non-finite)."""
    def fin(values):
        return [round(float(v), 4) if math.isfinite(v) else None for v in values]

    c = state.counters
    return json.dumps({
        "type": "info", "source": state.source, "status": state.status, "alarm": state.alarm,
        "t": round(float(state.t), 3), "speed_rpm": round(float(state.speed_rpm), 2),
        "sample_rate_hz": state.sample_rate_hz, "estimator": mode,
        "tracked_hz": fin(state.tracked_hz), "model_hz": fin(state.model_hz),
        "counters": {k: int(c.get(k, 0)) for k in ("blocks", "gaps", "lost_blocks", "crc_errors",
                                                     "invalid", "duplicates", "seq_resets",
                                                     "overflows")},
        "last_error": last_error, **(extra or {})}, allow_nan=False)
