"""The live twin's feed: ingest from a source, estimate the structure's state, hand the scene a
`TwinState` per frame (the same `step(wall_dt)` as `twin3d.live.feeds.SimFeed`).

Per frame: drain the source's queue; for every block run the steady-state Kalman filter
(`physics.estimator`: the modal model driven by the measured table acceleration, corrected by
the floor accelerations); push the accelerations into the natural-frequency tracker (its fits
run in a worker process, so a frame never waits for one); integrate
the motor speed into the rotor and crank angles; keep a short history for the plots. When the
source carries no floor accelerometers the model runs open loop, driven by the table
acceleration alone (exact discretisation, `physics.lti`), and says so in `mode`.

Latency is measured from the rig's time stamp of a block's last sample to the moment the
filter has produced the state that includes it (host clock; for a replay, the time the block
was due).
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import scipy.signal

from twin3d.live.feeds import History, rig_model_hz
from twin3d.io.ingest import Ingest, Ingested
from twin3d.live.sources import open_source
from twin3d.physics import lti
from twin3d.scenefile.records import Scene
from twin3d.live.state import TrackerUpdate, TwinState

RPM = 2.0 * np.pi / 60.0
TABLE_HIGHPASS_HZ = 0.3  # the table displacement is shown from acceleration, without drift


class LiveFeed:
    def __init__(self, source: str | Ingest, scene: Scene, profile: str | None = None,
                 history_s: float = 10.0, track_window_s: float = 10.0,
                 latency_window: int = 2_000, start: bool = True, commands: bool = True,
                 user: str | None = None, audit=None, script=None):
        # the model in use is the scene's active profile, for every reader (a calibration
        # replaces it: `use_calibration`)
        scene = scene.with_active(profile)
        profile = None
        self.scene = scene
        self.profile_name = scene.data.model.active
        self.calibration = None  # a LiveCalibration, the latest
        # script(t) -> caption or None, called every frame: a scripted operator (the demo)
        self.script = script
        self.label = ""
        self.last_seq: int | None = None  # of the newest block taken in
        self.ingest = open_source(source, scene) if isinstance(source, str) else source
        # a rig reached through the MQTT protocol (a broker, or the in-process rig) can be
        # commanded: the motor panel's sink, with the dry run, acks and heartbeats
        self._pool = self._fit = None  # the tracker's worker and its fit in progress
        self.commander = None
        # the monitoring history (twin3d.live.history_feed.HistoryFeed.attach; --store): None
        # when off; emit(record) hands it any record
        self.store = None
        if commands and hasattr(self.ingest, "ack_listeners"):
            from twin3d.live.commander import Commander

            self.commander = Commander(self.ingest, scene, user=user, audit=audit)
        # the structure as the rig carries it: the actuator (coil open) is one more degree of
        # freedom, and tuned at 6.5 Hz it splits mode 1 in two; a bare-frame model would read
        # the split pair as one mode some 10 % off and raise a false alarm
        self.model = scene.rig_model(profile)
        self.model_hz = rig_model_hz(scene, profile)  # this model's: TwinState.model_hz
        self.n = scene.n_storeys  # floors drawn; the device's mass is not
        # motor turns per crank turn; a structure alone has no crank (its angles stay at 0)
        self.gear = scene.data.crank.gear_ratio if scene.data.crank is not None else 1.0
        self.history = History(history_s)
        self.track_window_s = track_window_s
        self.latencies_ms: deque[float] = deque(maxlen=latency_window)
        from twin3d.live.damage_watch import DamageWatch, TruthWatch

        # localisation against whatever self.model is when each update comes (a calibration
        # replaces it); estimate vs the truth of a simulated rig
        self.damage_watch = DamageWatch(self.n)
        self.truth_watch = TruthWatch(self.n)
        self.mode = "waiting"  # kalman | open-loop | waiting
        self.tracked_hz: tuple[float, ...] = ()
        self.alarm = ""
        # every tracker update, newest last, for a reader that drains it (monitor --jsonl)
        self.updates: deque[TrackerUpdate] = deque(maxlen=10_000)
        # a replay as fast as possible has no deadline: every update is computed (the feed
        # waits for the fit in progress instead of skipping one)
        self.every_update = getattr(self.ingest, "speed", None) == 0
        self.t = 0.0
        self.fs = scene.data.sampling.rate_hz
        self._t_first_ns: int | None = None
        self._layout_key = None
        self._floor_disp = np.zeros(self.n)
        self._table_disp = 0.0
        self._motor_angle = 0.0
        self._speed_rpm = 0.0
        # Build the filter (and load its kernel) before data flows, for the meta's channels or,
        # until a broker's meta arrives, for the scene's own (what a rig of this scene sends).
        meta = self.ingest.meta
        if meta is not None:
            self._layout(meta.channels, meta.fs)
        else:
            self._layout(tuple(scene.data.sensors), scene.data.sampling.rate_hz)
        if self.est is not None:
            from twin3d.physics.estimator import estimate

            estimate(self.est, self.est_state.copy(), np.zeros(2),
                     np.zeros((2, len(self.col_floors))))
        if start:
            self.ingest.start()

    def close(self) -> None:
        self.ingest.stop()
        if self.store is not None:
            self.store.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # --- set-up once the channels are known ---------------------------------------------------

    def _layout(self, channels: tuple[str, ...], fs: float) -> None:
        """Which columns are the table, the floors and the motor speed; build the filter."""
        sensors = self.scene.data.sensors
        col = {name: j for j, name in enumerate(channels)}
        self.col_table = next((col[k] for k, s in sensors.items()
                               if s.quantity == "table_acceleration" and k in col), None)
        floors = sorted((s.floor, col[k]) for k, s in sensors.items()
                        if s.quantity == "floor_acceleration" and k in col)
        self.floors = tuple(f for f, _ in floors if 1 <= f <= self.n)
        self.col_floors = [j for f, j in floors if 1 <= f <= self.n]
        self.col_speed = next((col[k] for k, s in sensors.items()
                               if s.quantity == "motor_speed" and k in col), None)
        self.units = {name: (sensors[name].unit if name in sensors else "") for name in channels}
        if self.ingest.meta is not None:
            self.units.update(zip(self.ingest.meta.channels, self.ingest.meta.units))
        self.channels = channels
        self.fs = fs
        # the plots' history holds one set of channels: a new layout starts it afresh (a mix of
        # old and new names cannot be drawn, and once crashed the frame loop)
        self.history = History(self.history.seconds)
        # a fit in progress was for the old layout's tracker: its result is not taken
        if getattr(self, "_fit", None) is not None:
            self._fit.cancel()
        cal = getattr(self, "calibration", None)
        if cal is not None and cal.active and (channels, fs) != self._layout_key:
            cal.refuse("calibration stopped: the source's channels or rate changed")
        self._fit = None
        self.tracked_hz, self.alarm = (), ""
        self.est = self.tracker = None
        # the structure's measured input: the table's acceleration, else the scene's input
        # sensor (a force: Scene.input_role)
        self.col_input = self.col_table
        if self.col_input is None and hasattr(self.scene, "input_role"):
            self.col_input = col.get(self.scene.input_role())
        if self.col_floors and (self.col_table is not None or self._force_floor() is not None
                                and self.col_input is not None):
            from twin3d.physics.estimator import initial_state

            self.est = self._estimator(self.model)
            self.est_state = initial_state(self.est)
            self.mode = "kalman" if self.col_table is not None else "kalman (floor force)"
        elif self.col_table is not None:
            # no floor sensors: the model driven open loop by the measured table acceleration
            A, B = self.model.state_matrices()
            self.ol = lti.discretise(A, B[:, -1:], 1.0 / fs, "foh")
            self.ol_x = np.zeros(2 * self.model.n)
            self.ol_prev: float | None = None
            self.mode = "open-loop"
        else:
            self.mode = "no table accelerometer"
        # the tracker: from the structure's measured input to the floors
        if self.col_input is not None and self.col_floors and min(self.model_hz) > 0:
            from twin3d.physics.frequency_tracking import FrequencyTracker, window_for

            # the window, bands and resolution follow the rate and the modes (a building at
            # 100 Hz as well as the lab rig at 1 kHz)
            window = window_for(fs, self.model_hz, self.track_window_s)
            # the input is only ever a column of a scene sensor, so its noise is known
            noise = sensors[channels[self.col_input]].noise_rms
            self.tracker = FrequencyTracker(fs, self.model_hz, window_s=window,
                                            update_s=min(1.0, window / 2),
                                            input_noise_rms=noise or None)
        # table displacement: s / (s + wc)^3 is 1/s^2 well above wc and has no DC drift
        wc = 2 * np.pi * TABLE_HIGHPASS_HZ
        self.tb_b, self.tb_a = scipy.signal.bilinear([1.0, 0.0], [1.0, 3 * wc, 3 * wc**2, wc**3],
                                                     fs)
        self.tb_zi = np.zeros(3)
        self._layout_key = (channels, fs)

    def _estimator(self, model):
        """The Kalman filter of `model` for the floors measured now."""
        from twin3d.physics.estimator import build_estimator

        sensors = self.scene.data.sensors
        noise = np.mean([sensors[self.channels[j]].noise_rms or 0.003 for j in self.col_floors])
        force = self._force_floor()
        # a force input is measured: what drives the floors unmeasured (wind) is taken as an
        # equivalent ground acceleration at the floor sensors' noise level
        return build_estimator(model, self.fs, measured_floors=self.floors,
                               accel_noise_rms=max(float(noise), 1e-4),
                               **({} if force is None else
                                  {"force_floor": force,
                                   "process_noise_rms": max(float(noise), 1e-4)}))

    def _force_floor(self) -> int | None:
        """The floor a measured force drives, for a scene without a table accelerometer
        driven by a force at a floor on a fixed base (a free or sprung base is not filtered)."""
        e = getattr(getattr(self.scene, "data", None), "excitation", None)
        if self.col_table is not None or e is None or e.kind != "floor_force":
            return None
        return int(e.floor)

    # --- per block ----------------------------------------------------------------------------

    def _process(self, it: Ingested) -> None:
        b = it.block
        meta = self.ingest.meta
        channels = meta.channels if meta is not None and len(meta.channels) == b.n_channels \
            else tuple(f"ch{j}" for j in range(b.n_channels))
        if self._layout_key != (channels, b.fs):
            # the meta changed (channels renamed, added, dropped) or the rate did: the columns
            # are looked up by name again and the filter rebuilt for them
            self._layout(channels, b.fs)
        v = it.values
        self.last_seq = b.seq
        if self._t_first_ns is None:
            self._t_first_ns = b.t0_ns
        elif it.restart and b.t0_ns < self._t_first_ns + int(self.t * 1e9):
            # a new stream whose clock is behind the old one's: the twin's time runs on
            self._t_first_ns = b.t0_ns - int((self.t + 1.0 / b.fs) * 1e9)
        t = (b.t0_ns - self._t_first_ns) * 1e-9 + np.arange(b.n_samples) / b.fs
        self.t = float(t[-1])
        if self.col_table is not None:
            ag = v[:, self.col_table]
            if self.est is not None:
                from twin3d.physics.estimator import estimate

                y = v[:, self.col_floors]
                u, _ = estimate(self.est, self.est_state, ag, y)
                self._floor_disp = u[-1, :self.n].copy()
                self.truth_watch.estimate(b.seq, self._floor_disp)
                self._calibration_data(t, ag, y)
            elif self.mode == "open-loop":
                # from the state at the previous block's last sample (row 0) through this block
                w = ag if self.ol_prev is None else np.concatenate([[self.ol_prev], ag])
                X = lti.step_sequence(self.ol.Phi, self.ol.G0, self.ol.G1, self.ol_x,
                                      np.ascontiguousarray(w[:, None]))
                self.ol_x = X[-1].copy()
                self.ol_prev = float(ag[-1])
                self._floor_disp = X[-1, :self.n].copy()
            xg, self.tb_zi = scipy.signal.lfilter(self.tb_b, self.tb_a, ag, zi=self.tb_zi)
            self._table_disp = float(xg[-1])
        elif self.est is not None:  # a measured floor force on a fixed base
            from twin3d.physics.estimator import estimate

            u, _ = estimate(self.est, self.est_state, v[:, self.col_input], v[:, self.col_floors])
            self._floor_disp = u[-1, :self.n].copy()
            self.truth_watch.estimate(b.seq, self._floor_disp)
        if self.tracker is not None:
            due = self.tracker.append(v[:, self.col_input], v[:, self.col_floors])
            if due and self._fit is not None and self.every_update:
                self._collect_fit(wait_s=120.0)
            if due and self._fit is None:  # one fit at a time; a busy worker skips one
                self._fit = self._worker().submit(self.tracker.identify_decimated,
                                                  *self.tracker.window_data())
                self._fit_t = self.t  # the window's newest sample: the update's time
        if self.col_speed is not None:
            rpm = v[:, self.col_speed]
            self._motor_angle = float((self._motor_angle + np.sum(rpm) * RPM / b.fs)
                                      % (2 * np.pi * self.gear))  # crank stays continuous
            self._speed_rpm = float(rpm[-1] / self.gear)
        self.history.append(t, {name: v[:, j] for j, name in enumerate(self.channels)})
        self.latencies_ms.append((time.time_ns() - it.t_rig_ns) * 1e-6)

    # --- frequency tracking off the frame loop --------------------------------------------------

    def _worker(self):
        """One process for the tracker's fits (0.05-0.2 s of CPU each, much of it Python that
        holds the GIL): in a thread they delayed the estimator by up to 30 ms at 10 kHz; in
        their own process the frame loop and the ingest never wait for them. The window sent
        over is the decimated one (a few thousand samples)."""
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn: a fork of a process running the link and rig threads could inherit a
            # held lock; the worker imports numpy and scipy once (~1 s) and then stays
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def _collect_fit(self, wait_s: float = 0.0) -> None:
        fit = self._fit
        if fit is None:
            return
        if wait_s > 0:
            from concurrent.futures import wait

            wait([fit], timeout=wait_s)
        if not fit.done():
            return
        self._fit = None
        if self.tracker is None or fit.cancelled():
            return  # the layout changed under it: the next fit counts
        if fit.exception() is not None:  # the worker failed: said, not raised into the frame
            self.alarm = f"frequency tracker failed: {fit.exception()!r}"[:200]
            return
        self.tracked_hz = tuple(self.tracker.accept(fit.result()))
        # persistent, significant departures only (physics.frequency_tracking.DepartureAlarm)
        d = self.tracker.departures.shift_percent  # the latest identified, per mode
        modes = [f"mode {r} {abs(d[r - 1]):.1f} % {'below' if d[r - 1] < 0 else 'above'} model"
                 for r in self.tracker.alarm_modes]
        # localisation against the model held now; its standing alarm names the storey first
        self.damage_watch.update(self.model, self.tracked_hz)
        damage = self.damage_watch.alarm
        if self.damage_watch.changed():  # raised, moved or cleared: into the history
            from twin3d.history import records

            self.emit(records.localisation(**self.damage_watch.record_fields(), source_t=self.t))
        self.alarm = "; ".join(([damage.message()] if damage is not None else []) + modes)
        self.updates.append(TrackerUpdate(
            getattr(self, "_fit_t", self.t), self.tracked_hz,
            tuple(self.tracker.model_frequencies_hz),
            tuple(self.tracker.interval_hz()), tuple(self.tracker.damping),
            tuple(int(v) for v in self.tracker.departures.departing),
            tuple(self.tracker.alarm_modes), self.alarm, self.damage_watch.status))

    # --- live calibration -------------------------------------------------------------------

    def calibrate(self, seconds: float, save_as: str = "", fit_mass: bool = False):
        """Start calibrating from the next `seconds` of data; returns the LiveCalibration
        (its state, progress and message say how it goes)."""
        from twin3d.live.calibration import LiveCalibration

        cal = LiveCalibration(seconds, self.fs, self.floors, self.ingest.url,
                              self.profile_name, save_as, fit_mass)
        if self.calibration is not None and self.calibration.active:
            cal.refuse("calibration refused: one is already in progress")
            return cal
        self.calibration = cal
        if self.est is None:
            cal.refuse("calibration refused: it needs the table and floor accelerometers "
                       f"(the source gives {', '.join(self.channels) or 'none yet'})")
        return cal

    def _calibration_data(self, t: np.ndarray, ag: np.ndarray, y: np.ndarray) -> None:
        cal = self.calibration
        if cal is None or not cal.add(t, ag, y):
            return
        from twin3d.live.calibration import FITTING, fit_record

        cal.state, cal.message = FITTING, f"calibrating: fitting the model to {cal.seconds:g} s"
        noise = self.scene.data.sensors[self.channels[self.col_table]].noise_rms
        cal.future = self._worker().submit(fit_record, *cal.record(), self.floors, self.fs,
                                           self.scene, self.profile_name, noise, cal.fit_mass)

    def _collect_calibration(self, wait_s: float = 0.0) -> None:
        from twin3d.live.calibration import FITTING

        cal = self.calibration
        if cal is None or cal.future is None or cal.state != FITTING:
            return
        if wait_s > 0:
            from concurrent.futures import wait

            wait([cal.future], timeout=wait_s)
        if not cal.future.done():
            return
        fut, cal.future = cal.future, None
        if fut.cancelled():
            cal.refuse("calibration cancelled")
        elif fut.exception() is not None:  # the worker failed: said, not raised into the frame
            cal.refuse(f"calibration failed: {fut.exception()!r}"[:200])
        elif isinstance(fut.result(), str):
            cal.refuse(fut.result())
        else:
            self.use_calibration(cal, fut.result())
        self.emit_calibration(cal)

    def emit_calibration(self, cal) -> None:
        """The calibration (done or refused) into the monitoring history."""
        from twin3d.history import records

        r = cal.result
        self.emit(records.calibration(
            cal.profile, r.frequencies_hz if r is not None else (),
            r.stiffness_n_per_m if r is not None else (),
            r.damping_ns_per_m if r is not None else (), cal.source,
            *(cal.t_span or (None, None)), coherence=r.coherence if r is not None else None,
            residual=r.fit_error if r is not None else None, status=cal.state,
            message=cal.message, saved=cal.saved))

    def use_calibration(self, cal, result) -> None:
        """Switch to the calibrated model without a restart: it becomes the scene's active
        profile (saved first when asked); estimator and tracker are rebuilt on it."""
        from datetime import UTC, datetime

        from twin3d.live.calibration import with_calibrated_profile

        name = cal.save_as or f"calibrated-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        saved, note = False, ""
        cal.result = result  # provenance() reads it
        if cal.save_as:
            from twin3d.scenefile import profiles as profile_store
            from twin3d.scenefile.schema import SchemaError

            try:
                profile_store.save(name, result.mass_kg, result.stiffness_n_per_m,
                                   result.damping_ns_per_m, source=f"live calibration from "
                                   f"{cal.source}", provenance=cal.provenance())
                saved = True
            except (SchemaError, OSError) as e:  # the twin still uses it, unsaved
                note = f"; not saved: {e}"
        self.scene = with_calibrated_profile(self.scene, name, result,
                                             f"live calibration from {cal.source}")
        self.profile_name = name
        self.model = self.scene.rig_model()
        self.model_hz = rig_model_hz(self.scene)
        if self.commander is not None:
            self.commander.use_scene(self.scene)
        if self.est is not None:  # the filter on the new model; the tracker keeps its window
            from twin3d.physics.estimator import initial_state

            self.est = self._estimator(self.model)
            self.est_state = initial_state(self.est)
            self.tracker.retarget(self.model_hz)
            self.alarm = ""  # the next fit compares with the new model
        cal.finish(result, name, saved)
        cal.message += note

    def worker_pids(self) -> list[int]:
        """Process ids of the tracker's worker (none before the first fit): what a benchmark
        adds to this process's CPU time."""
        procs = getattr(self._pool, "_processes", None) if self._pool is not None else None
        return list(procs or ())

    def settle(self, timeout: float = 5.0) -> None:
        """Wait for a fit in progress and take its result (the end of a headless run)."""
        self._collect_fit(timeout)

    def advance(self) -> None:
        """Take in every block that arrived: estimator, tracker, commands; no state built (a
        headless loop calls this often and `state()` when it reports)."""
        for it in self.ingest.poll():
            self._process(it)
        self.truth_watch.match(self.ingest)
        self._collect_fit()
        self._collect_calibration()
        if self.store is not None:  # tracker results and alarms into the history
            self.store.observe(self)
        if self.script is not None:
            label = self.script(self.t)
            if label:
                self.label = label
        if self.commander is not None:
            self.commander.tick()

    def step(self, wall_dt: float = 0.0) -> TwinState:
        """Take in every block that arrived since the last frame; the newest state.
        (wall_dt is part of the feed interface; live sources run on their own clock.)"""
        self.advance()
        return self.state()

    def state(self) -> TwinState:
        t_hist, hist = self.history.arrays()
        counters = dict(self.ingest.counters)
        return TwinState(
            source=self.ingest.url, t=self.t, floor_disp_m=self._floor_disp.copy(),
            table_disp_m=self._table_disp, motor_angle_rad=self._motor_angle,
            crank_angle_rad=self._motor_angle / self.gear, speed_rpm=self._speed_rpm,
            sample_rate_hz=self.fs, history_t=t_hist, history=hist,
            units=dict(getattr(self, "units", {})), counters=counters,
            status=self.ingest.status, tracked_hz=self.tracked_hz, model_hz=self.model_hz,
            alarm=self.alarm, localisation=tuple(self.damage_watch.rows()),
            localisation_status=self.damage_watch.status,
            truth_hz=tuple(getattr(self.ingest, "truth_frequencies_hz", None) or ()),
            estimate_vs_truth_rel_rms=self.truth_watch.rel_rms,
            model_name=self.profile_name,
            calibration=self.calibration.message if self.calibration is not None else "",
            calibration_progress=(self.calibration.progress if self.calibration is not None
                                  and self.calibration.active else None),
            **({} if self.store is None else {"trend": self.store.trend(),
                                              "history_warning": self.store.warning()}))

    def emit(self, record) -> None:
        """One record (twin3d.history.records: a calibration, a localisation...) into the
        monitoring history and the scene's trend; nothing when history is off. Never waits."""
        if self.store is not None:
            self.store.emit(record)

    @property
    def sublabel(self) -> str:
        """The command path's latest word (sent, accepted, refused with the number, done)."""
        return self.commander.notice[1] if self.commander is not None else ""

    @property
    def floor_disp_m(self) -> np.ndarray:
        """The newest estimate of the floors' displacement relative to the table, m."""
        return self._floor_disp

    @property
    def speed_rpm(self) -> float:
        """The newest measured crank speed, rpm."""
        return self._speed_rpm

    def latency_ms(self, q: float) -> float | None:
        """The q-th percentile (0..100) of the latencies measured so far, ms."""
        if not self.latencies_ms:
            return None
        return float(np.percentile(np.fromiter(self.latencies_ms, float), q))
