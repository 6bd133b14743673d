"""The live side's damage localisation and its comparison with a simulated rig's truth.

`DamageWatch` feeds every tracker update to `physics.localisation.DamageMonitor`, whose baseline
is the model the live side holds as its reference *now* (`LiveFeed.model`, the frame as the rig
carries it): when that model is replaced (a calibration), the watch starts again on the new one
(it learns the tracker's scatter on it afresh). `TruthWatch` compares the Kalman estimate of
the floors with the truth a simulated rig publishes (`truth_at(seq)` on the source), as a
relative rms over the last `TRUTH_WINDOW` blocks.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from twin3d.physics.localisation import DamageMonitor, Localisation, StoreyModel
from twin3d.physics.structure import LinearModel

TRUTH_WINDOW = 200  # blocks (10 s at 20 blocks/s) in estimate_vs_truth_rel_rms


class DamageWatch:
    """Localisation on the live side's current reference model; `changed()` and
    `record_fields()` say when and what goes into the monitoring history."""

    def __init__(self, n_storeys: int, **monitor_options):
        self.n_storeys = n_storeys
        self.options = monitor_options
        self.monitor: DamageMonitor | None = None
        self._model: LinearModel | None = None
        self.failed = ""
        self._said: tuple | None = None  # the standing alarm's key last reported

    def update(self, model: LinearModel, tracked_hz) -> Localisation | None:
        if model is not self._model:
            self._model = model
            try:
                self.monitor = DamageMonitor(StoreyModel.from_matrices(model.M, model.K,
                                                                       self.n_storeys),
                                             **self.options)
                self.failed = ""
            except ValueError as e:  # not a shear chain: no localisation, said once
                self.monitor, self.failed = None, f"no localisation: {e}"
        if self.monitor is None or len(tracked_hz) != self._model.n:
            return None
        return self.monitor.update(tracked_hz)

    def changed(self) -> bool:
        """True once each time the standing alarm appears, changes storeys or clears: when a
        localisation record goes into the monitoring history (not per update)."""
        a = self.alarm
        key = None if a is None else a.key
        if key == self._said:
            return False
        self._said = key
        return True

    def record_fields(self) -> dict:
        """`twin3d.history.records.localisation`'s arguments for the standing alarm (no
        storeys and no reason: it cleared)."""
        a = self.alarm
        if a is None:
            return {"storeys": [], "unexplained": "", "status": self.status}
        return {"storeys": a.rows(), "status": self.status,
                "unexplained": a.message() if a.verdict == "unexplained" else ""}

    @property
    def alarm(self) -> Localisation | None:
        return None if self.monitor is None else self.monitor.alarm

    @property
    def status(self) -> str:
        """learning | watching | storeys | unexplained | (why there is none)"""
        if self.monitor is None:
            return self.failed or "waiting"
        if self.monitor.learning:
            return "learning"
        return self.monitor.alarm.verdict if self.monitor.alarm is not None else "watching"

    def rows(self) -> list[dict]:
        """`monitor --json`'s `localisation`: the storeys the standing alarm names."""
        a = self.alarm
        return a.rows() if a is not None else []


class TruthWatch:
    """Estimate of the floors vs a simulated rig's truth, block by block (matched by seq)."""

    def __init__(self, n_floors: int, window: int = TRUTH_WINDOW):
        self.n = n_floors
        self._pending: deque = deque(maxlen=40)  # (seq, estimate) waiting for its truth
        self._sums: deque = deque(maxlen=window)  # (|e|^2, |truth|^2) per block

    def estimate(self, seq: int, floor_disp: np.ndarray) -> None:
        self._pending.append((seq, floor_disp[:self.n].copy()))

    def match(self, source) -> None:
        """Pair the waiting estimates with the truth that has arrived for them."""
        truth_at = getattr(source, "truth_at", None)
        if truth_at is None:
            self._pending.clear()
            return
        keep = deque(maxlen=self._pending.maxlen)
        for seq, est in self._pending:
            u = truth_at(seq)
            if u is None:
                keep.append((seq, est))
                continue
            u = np.asarray(u)[:self.n]
            e = est - u
            self._sums.append((float(e @ e), float(u @ u)))
        self._pending = keep

    @property
    def rel_rms(self) -> float | None:
        """sqrt(sum |estimate - truth|^2 / sum |truth|^2) over the window; None without truth."""
        if not self._sums:
            return None
        e2, r2 = np.sum(np.array(self._sums), axis=0)
        return float(np.sqrt(e2 / r2)) if r2 > 0 else None
