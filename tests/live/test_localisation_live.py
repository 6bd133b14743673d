"""The live side's damage watch: the baseline is whatever model the feed holds now (a new
model object restarts learning on it), alarms go to the history once per change, and the
truth comparison pairs estimates with a source's truth by block number."""

from __future__ import annotations

import numpy as np

from twin3d.live.damage_watch import DamageWatch, TruthWatch
from twin3d.physics.structure import LinearModel, with_oscillator
from twin3d.scenefile.records import load_scene


def _models():
    scene = load_scene("three_storey")
    return scene.rig_model(), scene.rig_model("southampton_numerical")


def test_watch_follows_the_feeds_current_model():
    a, b = _models()
    w = DamageWatch(3, learn_updates=3)
    fa = np.sqrt(np.linalg.eigvals(np.linalg.solve(a.M, a.K)).real)
    fa = np.sort(fa) / (2 * np.pi)
    assert w.status == "waiting"
    for _ in range(3):
        w.update(a, fa * (1 + 1e-4 * np.arange(4)))
    assert w.status == "watching"
    first = w.monitor
    w.update(b, fa)  # a calibration replaced the model: learning starts again on it
    assert w.monitor is not first and w.status == "learning"
    assert not w.changed()


def test_alarm_change_is_reported_once():
    a, _ = _models()
    w = DamageWatch(3, learn_updates=5, k=2, n=3)
    rng = np.random.default_rng(1)
    f0 = w.update(a, [np.nan] * 4) or None
    m = w.monitor.model
    f0 = m.frequencies_hz()
    for _ in range(5):
        w.update(a, f0 * (1 + 5e-4 * rng.standard_normal(4)))
    fd = m.frequencies_hz(np.array([0.0, -0.1, 0.0]))
    w.update(a, fd)
    w.update(a, fd)
    assert w.alarm is not None and w.alarm.storeys == (2,)
    assert w.changed() and not w.changed()
    fields = w.record_fields()
    assert [r["storey"] for r in fields["storeys"]] == [2]
    assert abs(fields["storeys"][0]["change_percent"] + 10) < 0.5


class _Source:
    def __init__(self):
        self.truth = {}

    def truth_at(self, seq):
        return self.truth.get(seq)


def test_truth_watch_pairs_by_seq():
    tw = TruthWatch(3)
    src = _Source()
    tw.estimate(1, np.array([1.0, 2.0, 2.0]))
    tw.match(src)
    assert tw.rel_rms is None  # its truth has not arrived yet
    src.truth[1] = np.array([1.0, 2.0, 2.0, 9.0])  # more than the floors: the floors count
    tw.estimate(2, np.array([0.0, 0.0, 3.0]))
    src.truth[2] = np.array([0.0, 0.0, 2.0])
    tw.match(src)
    assert abs(tw.rel_rms - np.sqrt(1.0 / (9 + 4))) < 1e-12
