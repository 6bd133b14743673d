"""The tracker's alarm: k-of-n persistence on a synthetic sequence, the fit's standard error of a
pole's frequency against Monte Carlo, and on a simulated five-storey building at 100 Hz (force
on the roof, unmeasured wind on every floor, read back through the UFF importer): no alarm
while it stands undamaged, a 5 % storey loss detected within two windows (under a lighter
wind)."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.physics.frequency_tracking import (DepartureAlarm, FrequencyTracker,
                                               pole_frequency_sigma, window_for)

F_MODEL = 10.0


def _alarm(**kw) -> DepartureAlarm:
    args = dict(n_modes=1, every=1, margin_percent=2.0, z=3.0, k=3, n=5, min_spread_windows=5)
    args.update(kw)
    return DepartureAlarm(**args)


def _learn(a: DepartureAlarm, sigma: float = 0.01) -> None:
    rng = np.random.default_rng(0)
    for v in F_MODEL + sigma * rng.standard_normal(6):
        assert a.update([v], [np.nan], [F_MODEL]) == []


def test_k_of_n_raises_on_the_kth_departure_and_clears_when_back():
    a = _alarm()
    _learn(a)
    far = F_MODEL * 1.05  # 5 % above: beyond 2 % + 3 sigma
    seq = [far, F_MODEL, far, np.nan, far]  # 3 of the last 5 identified, NaN counts neither
    got = [a.update([v], [np.nan], [F_MODEL]) for v in seq]
    assert got == [[], [], [], [], [1]]
    assert a.standing == {1: 1} and a.shift_percent[0] == pytest.approx(5.0)
    # back inside: the alarm stands until 3 of the last 5 are back (the one back in the
    # sequence counts: the second clears it)
    got = [a.update([F_MODEL], [np.nan], [F_MODEL]) for _ in range(2)]
    assert got == [[1], []] and a.standing == {}


def test_two_departures_in_five_never_alarm_and_sides_do_not_mix():
    a = _alarm()
    _learn(a)
    for v in [1.05, 1.0, 0.95, 1.0, 1.05, 1.0, 0.95, 1.0] * 3:
        assert a.update([F_MODEL * v], [np.nan], [F_MODEL]) == []


def test_departure_must_be_significant_and_beyond_the_margin():
    # a 2.5 % departure: beyond the 2 % margin, but not beyond it by 3 sigma of a 0.1 Hz scatter
    a = _alarm()
    _learn(a, sigma=0.1)
    for _ in range(5):
        assert a.update([F_MODEL * 1.025], [np.nan], [F_MODEL]) == []
    # the fit's own standard error widens the interval too
    b = _alarm()
    _learn(b, sigma=0.001)
    for _ in range(5):
        assert b.update([F_MODEL * 1.04], [0.1], [F_MODEL]) == []
        assert b.departing[0] == 0
    for _ in range(5):  # the same estimates, now with a tight fit: significant
        b.update([F_MODEL * 1.04], [0.001], [F_MODEL])
    assert b.standing == {1: 1}


def test_no_vote_until_the_scatter_is_known():
    a = _alarm()
    for _ in range(4):  # 4 windows: the scatter needs 5
        assert a.update([F_MODEL * 1.1], [1e-4], [F_MODEL]) == []
    assert np.all(a.departing == 0)


def test_pole_frequency_sigma_matches_monte_carlo():
    """Coefficients drawn around a 2-pole denominator with a known covariance: the spread of the
    natural frequency of their roots against the first-order propagation."""
    fs = 100.0
    f0, zeta = 3.0, 0.02
    s = 2 * np.pi * f0 * (-zeta + 1j * np.sqrt(1 - zeta ** 2))
    z0 = np.exp(s / fs)
    a = np.real(np.poly([z0, np.conj(z0)]))
    rng = np.random.default_rng(1)
    m = rng.standard_normal((2, 2))
    cov = 1e-8 * (m @ m.T + np.eye(2))
    draws = rng.multivariate_normal(a[1:], cov, 20_000)
    f = []
    for d in draws:
        r = np.roots(np.r_[1.0, d])
        r = r[np.argmax(r.imag)]
        f.append(abs(np.log(r) * fs) / (2 * np.pi))
    assert pole_frequency_sigma(a, cov, z0, fs) == pytest.approx(np.std(f), rel=0.05)


def test_window_follows_the_rate_and_the_modes():
    # the lab rig at 1 kHz keeps its 10 s; a slow structure gets 50 periods of its first mode;
    # close modes need 4 Welch bins across their bands (half the gaps: 2.01-2.03 Hz)
    assert window_for(1000.0, [6.0, 7.0, 17.8, 26.4], 10.0) == pytest.approx(10.0)
    assert window_for(100.0, [0.5, 1.6], 10.0) == pytest.approx(100.0)
    assert window_for(100.0, [2.0, 2.02, 2.04], 10.0) == pytest.approx(4 / 0.02)
    tr = FrequencyTracker(10.0, [0.3, 1.1, 2.0], window_s=window_for(10.0, [0.3, 1.1, 2.0], 10))
    assert tr.decimation == 1 and tr._nperseg / tr.fs >= 4 / 0.09


@pytest.fixture(scope="module")
def building(tmp_path_factory):
    from twin3d.bench.false_alarms import LEARN_S, building_record, imported

    scene, ts = building_record(LEARN_S + 45.0)
    return scene, imported(ts, tmp_path_factory.mktemp("uff"))


@pytest.mark.slow
def test_building_at_100_hz_undamaged_gives_no_alarm(building):
    from twin3d.bench.false_alarms import LEARN_S, _run_record
    from twin3d.physics.structure import modal_analysis

    scene, ts = building
    judge = _run_record(scene, ts)
    r = judge.rates()
    assert r["updates"] == pytest.approx((ts.n_samples / ts.fs - judge.window) + 1, abs=1)
    assert r["ours"] == 0
    # the rule the tracker had (any mode 2 % off in one update) alarms on the same updates
    assert r["baseline"] > 0.3 * r["updates"]
    f0 = modal_analysis(scene.model()).frequencies_hz
    np.testing.assert_allclose(judge.tracker.last[:2], f0[:2], rtol=0.01)
    assert judge.monitor.learning is False and judge.rates(LEARN_S)["updates"] > 30


@pytest.mark.slow
def test_five_percent_storey_loss_is_detected_within_two_windows():
    from twin3d.bench.false_alarms import (LEARN_S, LIGHT_WIND_RMS_N, _run_record,
                                           building_record)

    scene, ts = building_record(LEARN_S + 35.0, damage=(1, -0.05, LEARN_S),
                                wind_rms=LIGHT_WIND_RMS_N)
    judge = _run_record(scene, ts)
    first, _ = judge.first_alarm(LEARN_S)
    assert first is not None and first - LEARN_S <= 2 * judge.window
    # named by the localisation (its magnitude is issue 12's: not checked here)
    assert judge.monitor.alarm is not None and judge.monitor.alarm.storeys == (1,)
    assert judge.rates(0.0)["ours"] > 0 and not any(o for t, o, *_ in judge.updates
                                                      if t < LEARN_S)
