"""Live calibration: the twin learns its rig from the data it is watching.

`LiveCalibration` collects `seconds` of the table's and the floors' accelerations as blocks
arrive (ambient shaking, the crank running, or both), then fits the model in the tracker's
worker process (`physics.calibration.calibrate`, well under a second, never in the frame loop)
and hands the result back. The feed then switches to it without a restart
(`LiveFeed.use_calibration`): the scene's active profile becomes the calibrated one, so the
estimator, the tracker's reference, the dry run and the HUD's model line all read the one
model. Saved as a profile (with provenance: source, time span, coherence, fit residual) when
a name is given.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np

from twin3d.physics.calibration import Calibration, CalibrationRefused, calibrate
from twin3d.scenefile.records import Profile, Scene

COLLECTING, FITTING, DONE, REFUSED = "collecting", "fitting", "done", "refused"


def fit_record(x: np.ndarray, y: np.ndarray, floors: tuple[int, ...], fs: float,
               scene: Scene, profile: str, input_noise_rms: float | None,
               fit_mass: bool) -> Calibration | str:
    """The worker's job: a Calibration, or the refusal's one line (never raises for bad
    data, so the frame loop only ever reads a result)."""
    p = scene.data.profiles[profile]
    try:
        return calibrate(x, y, floors, fs, p.mass_kg, p.stiffness_n_per_m, p.damping_ns_per_m,
                         carried=scene.carried, fit_mass=fit_mass,
                         input_noise_rms=input_noise_rms)
    except CalibrationRefused as e:
        return f"calibration refused: {e}"


def with_calibrated_profile(scene: Scene, name: str, cal: Calibration, source: str) -> Scene:
    """The scene with `name` added (or replaced) as a chain profile and made active."""
    prof = Profile(kind="chain", source=source, mass_kg=tuple(map(float, cal.mass_kg)),
                   stiffness_n_per_m=tuple(map(float, cal.stiffness_n_per_m)),
                   damping_ns_per_m=tuple(map(float, cal.damping_ns_per_m)))
    data = scene.data
    return dataclasses.replace(scene, data=dataclasses.replace(
        data, profiles={**data.profiles, name: prof},
        model=dataclasses.replace(data.model, active=name)))


class LiveCalibration:
    """One calibration in progress: collect, fit (in the worker), done or refused."""

    def __init__(self, seconds: float, fs: float, floors: tuple[int, ...], source: str,
                 start_profile: str, save_as: str = "", fit_mass: bool = False):
        self.seconds = float(seconds)
        self.fs = fs
        self.floors = floors
        self.source = source
        self.start_profile = start_profile
        self.save_as = save_as
        self.fit_mass = fit_mass
        self.needed = max(1, int(round(seconds * fs)))
        self.state = COLLECTING
        self.message = f"calibrating: collecting {seconds:g} s of data"
        self.result: Calibration | None = None
        self.profile = ""  # the name the twin now uses (saved or not)
        self.saved = False
        self.t_span: tuple[float, float] | None = None  # source time
        self.utc_span: tuple[str, str] | None = None
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._n = 0
        self.future = None

    @property
    def progress(self) -> float:
        """0..1 while collecting, then 1."""
        return min(1.0, self._n / self.needed) if self.state == COLLECTING else 1.0

    @property
    def active(self) -> bool:
        return self.state in (COLLECTING, FITTING)

    def add(self, t: np.ndarray, table_acc: np.ndarray, floor_acc: np.ndarray) -> bool:
        """Take one block; True once enough has been collected."""
        if self.state != COLLECTING:
            return False
        now = datetime.now(UTC).isoformat(timespec="seconds")
        if self._n == 0:
            self.t_span = (float(t[0]), float(t[-1]))
            self.utc_span = (now, now)
        self._x.append(np.array(table_acc, dtype=float))
        self._y.append(np.array(floor_acc, dtype=float))
        self._n += len(table_acc)
        self.t_span = (self.t_span[0], float(t[-1]))
        self.utc_span = (self.utc_span[0], now)
        self.message = (f"calibrating: collecting {self.progress * self.seconds:.0f} / "
                        f"{self.seconds:g} s")
        return self._n >= self.needed

    def record(self) -> tuple[np.ndarray, np.ndarray]:
        x = np.concatenate(self._x)[:self.needed]
        y = np.concatenate(self._y)[:self.needed]
        self._x, self._y = [], []
        return x, y

    def refuse(self, why: str) -> None:
        self.state, self.message = REFUSED, why
        self._x, self._y = [], []

    def provenance(self) -> dict:
        """What a saved profile, the history and `calibrate --json` say about this one."""
        cal = self.result
        out = {"tool": "calibrate", "source": self.source, "start_profile": self.start_profile,
               "source_time_s": list(self.t_span or ()), "utc": list(self.utc_span or ()),
               "seconds": self.seconds}
        if cal is not None:
            out.update(cal.summary())
        return out

    def finish(self, cal: Calibration, profile: str, saved: bool) -> None:
        self.result, self.profile, self.saved = cal, profile, saved
        self.state = DONE
        f = "/".join(f"{v:.2f}" for v in cal.frequencies_hz)
        self.message = (f"calibrated from {self.seconds:g} s: {f} Hz, coherence "
                        f"{cal.coherence:.2f}, residual {cal.fit_error:.3f}"
                        + (f", saved as {profile}" if saved else ""))
