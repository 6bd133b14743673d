"""The server's one subscription to the source: a thread runs the live twin's feed (the same
`LiveFeed` as `twin3d monitor`: ingest, estimator, tracker) and, at the display rate, encodes
one frame and hands it to the fan-out on the server's loop.

The feed is built with `commands=False`: no commander, so no command path exists from here
to the rig. Only `poll`/`wait` of the source are ever called.
"""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np

from twin3d.live.live_feed import LiveFeed
from twin3d.web import frames

INFO_EVERY_S = 0.25  # the HUD's slow facts, as often as the desktop HUD's status block
PLOT_RATE_HZ = 250.0  # plot samples per second sent (the plots span 10 s)


class Pump:
    def __init__(self, feed: LiveFeed, publish, loop: asyncio.AbstractEventLoop,
                 rate_hz: float = 30.0, plot_channels: dict | None = None):
        self.feed, self.publish, self.loop = feed, publish, loop
        self.period = 1.0 / rate_hz
        self.chans = plot_channels or {}
        self.seq = 0
        self.encode_s = 0.0  # CPU spent building and encoding frames (the pump's own cost)
        self._last_plot_t = -np.inf
        self._last_info = ""
        self._next_info = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="web pump", daemon=True)
        self.error = ""

    def start(self) -> Pump:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        ingest = self.feed.ingest
        next_tick = time.monotonic()
        while not self._stop.is_set():
            ingest.wait(max(0.0, min(0.02, next_tick - time.monotonic())))
            try:
                self.feed.advance()
                if self.error.startswith("feed:"):
                    self.error = ""  # it recovered: the page stops saying so
            except Exception as e:  # a fault in the feed is shown, never kills the server
                self.error = f"feed: {type(e).__name__}: {e}"[:200]
            now = time.monotonic()
            if now < next_tick:
                continue
            next_tick = max(next_tick + self.period, now - self.period)
            if self.loop.is_closed():  # the server is stopping
                return
            try:
                self._tick(now)
            except Exception as e:  # a state that cannot be encoded is shown, never fatal
                self.error = f"frame: {type(e).__name__}: {e}"[:200]

    def _plot_rows(self, state) -> tuple[np.ndarray, float, float]:
        """The history samples after the last frame's, every `stride`-th sample of the source
        (PLOT_RATE_HZ), continuing the last frame's spacing; their step and the time of the
        last one."""
        t = state.history_t
        if t.size == 0:
            return np.zeros((0, 3)), 0.0, state.t
        if t[-1] < self._last_plot_t:  # the feed's history restarted (new layout)
            self._last_plot_t = -np.inf
        fs = state.sample_rate_hz or 1.0
        stride = max(1, int(round(fs / PLOT_RATE_HZ)))
        start = self._last_plot_t + (stride - 0.5) / fs
        if not np.isfinite(start):
            start = t[-1] - 1.0  # a fresh stream: its last second
        new = np.arange(np.searchsorted(t, start), t.size, stride)
        if new.size == 0:
            return np.zeros((0, 3)), 0.0, state.t
        self._last_plot_t = float(t[new[-1]])
        cols = []
        for key in frames.PLOT_CHANNELS:
            name = self.chans.get(key)
            series = state.history.get(name) if name else None
            cols.append(series[new] if series is not None and series.size == t.size
                        else np.full(new.size, np.nan))
        return np.stack(cols, axis=1), stride / fs, self._last_plot_t

    def _tick(self, now: float) -> None:
        c0 = time.thread_time()
        feed = self.feed
        state = feed.state()
        rows, dt, t_end = self._plot_rows(state)
        data = frames.encode(self.seq, state.t, state.floor_disp_m, state.table_disp_m,
                             state.motor_angle_rad, state.speed_rpm, rows, dt, t_end)
        self.seq += 1
        info = None
        if now >= self._next_info:
            self._next_info = now + INFO_EVERY_S
            err = self.error or feed.ingest.last_error or \
                getattr(getattr(feed.ingest, "link", None), "last_error", "") or ""
            text = frames.info_message(state, feed.mode, err)
            if text != self._last_info:
                info = self._last_info = text
        self.encode_s += time.thread_time() - c0
        if info is not None:
            self.loop.call_soon_threadsafe(self.publish, info)
        self.loop.call_soon_threadsafe(self.publish, data)
