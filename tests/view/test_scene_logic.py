"""The scene's pure logic (no Ursina window): magnifier, colour maps, normals, feeds, kiosk tour."""

from __future__ import annotations

import numpy as np
import pytest

from twin3d.live.feeds import History, ModeFeed, SimFeed
from twin3d.physics.structure import modal_analysis
from twin3d.view.colours import DRIFT_COLOURS, drift_colours, nice_number
from twin3d.view.magnifier import Magnifier
from twin3d.view.vertex_buffers import face_normals
from twin3d.scenefile.records import load_scene

SERIES = {m * 10.0**k for m in (1, 2, 5) for k in range(-6, 7)}


@pytest.fixture(scope="module")
def scene():
    return load_scene()


# --- nice_number and the magnifier -------------------------------------------------------

@pytest.mark.parametrize("x, want", [(1.0, 1.0), (1.999, 1.0), (2.0, 2.0), (4.99, 2.0),
                                     (5.0, 5.0), (7.3, 5.0), (9.99, 5.0), (10.0, 10.0),
                                     (19.99, 10.0), (20.0, 20.0), (1000.0, 1000.0),
                                     (0.3, 0.2), (0.1, 0.1), (0.0051, 5e-3), (3e5, 2e5),
                                     (0.0, 1.0), (-4.0, 1.0), (float("nan"), 1.0)])
def test_nice_number_is_the_largest_1_2_5_not_above(x, want):
    assert nice_number(x) == pytest.approx(want, rel=1e-12)


def test_nice_number_never_exceeds_x_and_is_within_2_5x():
    for x in np.geomspace(1e-4, 1e5, 397):
        n = nice_number(x)
        assert any(np.isclose(n, s, rtol=1e-12) for s in SERIES)
        assert n <= x * (1 + 1e-9) and n > x / 2.5 - 1e-12


def _in_series(f):
    return any(np.isclose(f, s, rtol=1e-12) for s in SERIES)


def test_magnifier_picks_a_1_2_5_factor_for_the_target():
    m = Magnifier(target_m=0.1)
    f = m.update(np.array([0.0, 2e-4, -4e-4]), 1 / 60)  # largest |motion| 0.4 mm -> ideal 250
    assert f == 200.0 and _in_series(f)
    assert 0.1 / 2.5 < f * 4e-4 <= 0.1  # the drawn motion spans about the target


def test_magnifier_drops_at_once_when_motion_grows_and_rises_only_after_decay():
    m = Magnifier(target_m=0.1, decay_s=3.0)
    assert m.update(np.array([1e-4]), 1 / 60) == 1000.0
    assert m.update(np.array([1e-3]), 1 / 60) == 100.0  # drops in the same frame
    factors = [m.update(np.array([1e-4]), 1 / 60) for _ in range(60)]  # 1 s of small motion
    assert set(factors) == {100.0}  # not yet: the peak decays over decay_s
    t = 1.0
    while m.factor == 100.0 and t < 60:
        m.update(np.array([1e-4]), 1 / 60)
        t += 1 / 60
    # peak 1e-3 * exp(-t/3) must fall to 1e-4 * 10/2 (target/peak >= 200) before it rises
    assert 3.0 * np.log(2.0) - 0.05 < t < 3.0 * np.log(2.0) + 4.0
    assert m.factor in (200.0, 500.0, 1000.0)
    for _ in range(600):
        m.update(np.array([1e-4]), 1 / 60)
    assert m.factor == 1000.0


def test_magnifier_has_no_flicker_for_small_wobbles():
    m = Magnifier(target_m=0.1)
    seen = {m.update(np.array([a]), 1 / 60) for a in 3e-4 * (1 + 0.3 * np.sin(np.arange(600)))}
    assert len(seen) <= 2  # at most the first pick and one drop; never back and forth
    factors = [m.update(np.array([a]), 1 / 60) for a in 3e-4 * (1 + 0.3 * np.sin(np.arange(600)))]
    assert len(set(factors)) == 1


def test_magnifier_is_bounded():
    m = Magnifier(target_m=0.1, lo=1.0, hi=5000.0)
    assert m.update(np.zeros(4), 1 / 60) == 5000.0  # nothing moves: the largest factor
    assert m.update(np.array([0.0]), 1 / 60) <= 5000.0
    assert m.update(np.array([1e-9]), 1 / 60) == 5000.0  # tiny motion: still at most hi
    assert m.update(np.array([10.0]), 1 / 60) == 1.0  # huge motion: never below lo
    assert m.update(np.array([-50.0]), 1 / 60) == 1.0
    assert Magnifier(0.1).update(np.array([]), 1 / 60) == 5000.0


# --- colours and normals ------------------------------------------------------------------

def test_drift_colours_grey_at_rest_red_at_and_beyond_the_limit():
    c = drift_colours(np.array([0.0, 1.0, 1.7, -3.0]))
    assert c.shape == (4, 4)
    np.testing.assert_allclose(c[0], DRIFT_COLOURS[0])
    for row in c[1:]:
        np.testing.assert_allclose(row, DRIFT_COLOURS[-1])
    assert c[1, 0] > 0.9 and c[1, 1] < 0.3 and c[1, 2] < 0.3  # red
    assert abs(c[0, 0] - c[0, 1]) < 0.1 and abs(c[0, 1] - c[0, 2]) < 0.1  # grey
    np.testing.assert_allclose(c[:, 3], 1.0)


def test_drift_colours_redden_monotonically():
    r = np.linspace(0, 1.2, 241)
    c = drift_colours(r)
    assert np.all(c[:, 0] >= DRIFT_COLOURS[0, 0] - 1e-12)  # never less red than at rest
    # the red channel peaks at amber (1.0 at half the limit) and eases to 0.95 at the limit,
    # so "redness" is red over the other two channels, and that rises all the way
    redness = c[:, 0] - (c[:, 1] + c[:, 2]) / 2
    assert np.all(np.diff(redness) >= -1e-12)
    assert redness[-1] - redness[0] > 0.7
    assert np.all(np.diff(c[:, 2]) <= 1e-12)  # blue only falls


def test_face_normals_against_hand_computed_triangles():
    tris = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0],  # counter-clockwise in xy: +z
                     [0, 0, 0], [2, 0, 0], [0, 0, 3],  # (2,0,0) x (0,0,3) = (0,-6,0)
                     [1, 1, 1], [2, 1, 1], [1, 4, 5]], dtype=np.float32)  # (1,0,0)x(0,3,4)
    n = face_normals(tris.copy())
    assert n.shape == (9, 3)
    want = np.array([[0, 0, 1], [0, -1, 0], [0, -0.8, 0.6]])
    np.testing.assert_allclose(n, np.repeat(want, 3, axis=0), atol=1e-6)
    # a degenerate triangle gives a finite (zero) normal, not NaN
    assert np.all(np.isfinite(face_normals(np.zeros((3, 3), np.float32))))


# --- feeds -------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 3])
def test_mode_feed_plays_the_mode_shape(scene, k):
    modes = modal_analysis(scene.model())
    feed = ModeFeed(scene, k, slow=20.0, amplitude_m=2e-3)
    phi = modes.shapes[:, k - 1]
    s = feed.step(0.0)
    assert s.t == 0.0 and s.table_disp_m == 0.0 and s.speed_rpm == 0.0
    u = np.asarray(s.floor_disp_m)
    # parallel to phi_k; the largest floor is positive and moves amplitude_m
    np.testing.assert_allclose(u / np.linalg.norm(u), phi / np.linalg.norm(phi) *
                               np.sign(phi[np.argmax(np.abs(phi))]), atol=1e-12)
    assert u.max() == pytest.approx(2e-3) and np.max(np.abs(u)) == pytest.approx(2e-3)
    assert feed.frequency_hz == pytest.approx(modes.frequencies_hz[k - 1])
    assert f"mode {k}" in feed.label and "20x slower" in feed.label


def test_mode_feed_phase_follows_wall_time_over_slow(scene):
    feed = ModeFeed(scene, 2, slow=25.0, amplitude_m=1e-3)
    f = feed.frequency_hz
    u0 = np.asarray(feed.step(0.0).floor_disp_m)
    T = 0.0
    for _ in range(37):
        s = feed.step(1 / 60)
        T += 1 / 60
    assert s.t == pytest.approx(T / 25.0)
    np.testing.assert_allclose(s.floor_disp_m, u0 * np.cos(2 * np.pi * f * T / 25.0),
                               atol=1e-12)
    # half a (slowed) period later the shape is mirrored
    feed2 = ModeFeed(scene, 2, slow=25.0, amplitude_m=1e-3)
    s2 = feed2.step(25.0 / (2 * f))
    np.testing.assert_allclose(s2.floor_disp_m, -u0, atol=1e-12)
    assert feed2.step(-1.0).t == s2.t  # negative wall steps do not run time backwards


def test_mode_feed_rejects_a_mode_out_of_range(scene):
    with pytest.raises(ValueError, match="1..3, got 4"):
        ModeFeed(scene, 4)


def test_sim_feed_runs_in_real_time(scene):
    feed = SimFeed(scene)
    assert feed.sim.t == 0.0
    for _ in range(30):  # 0.5 s of 60 Hz frames
        s = feed.step(1 / 60)
    assert s.t == pytest.approx(0.5, abs=1.5 / feed.sim.sample_rate)
    # a long frame (0.5 s) is caught up over the next frames, max_block_s at a time, never lost
    t0 = feed.sim.t
    s = feed.step(0.5)
    assert s.t - t0 == pytest.approx(min(0.5, feed.max_block_s), abs=1.5 / feed.sim.sample_rate)
    for _ in range(10):
        s = feed.step(0.0)
    assert s.t - t0 == pytest.approx(0.5, abs=1.5 / feed.sim.sample_rate)
    slow = SimFeed(scene, time_scale=0.25)
    for _ in range(30):
        s = slow.step(1 / 60)
    assert s.t == pytest.approx(0.125, abs=1.5 / slow.sim.sample_rate)
    assert "4x slower" in slow.label


def test_sim_feed_speed_limit_and_estop_latch(scene):
    feed = SimFeed(scene)
    top = scene.data.limits.max_speed_rpm
    ok, msg = feed.set_speed(top + 200)
    assert not ok and f"{top + 200:g}" in msg and f"{top:g}" in msg
    ok, msg = feed.set_speed(-5)
    assert not ok and "-5" in msg
    assert feed.sim.command.speed_rpm == 0.0  # refused commands do not reach the rig
    ok, msg = feed.set_speed(300)
    assert ok and "300" in msg and feed.sim.command.speed_rpm == 300.0
    ok, _ = feed.estop()
    assert ok and feed.status == "estop"
    ok, msg = feed.set_speed(100)
    assert not ok and "reset" in msg and feed.status == "estop"
    assert feed.step(0.05).status == "estop"
    ok, _ = feed.reset()
    assert ok and feed.status == "ok"
    ok, _ = feed.set_speed(100)
    assert ok and feed.sim.command.speed_rpm == 100.0


def test_sim_feed_history_is_bounded(scene):
    feed = SimFeed(scene, history_s=2.0)
    for _ in range(50):  # 5 s of rig time in 0.1 s blocks
        s = feed.step(0.1)
    assert s.t == pytest.approx(5.0, abs=0.01)
    t = s.history_t
    assert t.size > 0 and t[-1] == pytest.approx(s.t, abs=0.01)
    span = t[-1] - t[0]
    assert 2.0 - 0.01 <= span <= 2.0 + feed.max_block_s + 0.01
    assert all(v.shape == t.shape for v in s.history.values())
    assert np.all(np.diff(t) > 0)


def test_history_keeps_the_last_seconds():
    h = History(1.0)
    for i in range(30):
        t = 0.1 * i + np.arange(10) / 100
        h.append(t, {"a": t * 2})
    t, v = h.arrays()
    assert t[-1] == pytest.approx(2.99) and t[-1] - t[0] <= 1.1
    np.testing.assert_allclose(v["a"], 2 * t)
    assert History(1.0).arrays()[0].size == 0


# --- kiosk tour --------------------------------------------------------------------------

def test_kiosk_tour_has_each_mode_a_run_up_and_an_earthquake(scene):
    from twin3d.view.kiosk import tour

    steps = tour(scene)
    n_modes = modal_analysis(scene.model()).frequencies_hz.size
    assert len(steps) == n_modes + 2
    for k, step in enumerate(steps[:n_modes], 1):
        feed = step.make_feed()
        assert isinstance(feed, ModeFeed) and feed.mode == k
        assert f"Mode {k}" in step.subtitle and step.seconds > 0
    assert "run-up" in steps[n_modes].caption
    assert isinstance(steps[n_modes].make_feed(), SimFeed)
    assert "earthquake" in steps[-1].subtitle.lower()


def test_kiosk_earthquake_drives_the_table_not_the_motor(scene):
    from twin3d.view.kiosk import tour

    feed = tour(scene)[-1].make_feed()
    assert "earthquake" in feed.label
    table = []
    for _ in range(180):  # 3 s of frames
        s = feed.step(1 / 60)
        table.append(s.table_disp_m)
    assert s.t == pytest.approx(3.0, abs=0.01)
    assert np.max(np.abs(table)) > 1e-4  # the table moves (m)
    assert np.max(np.abs(s.floor_disp_m)) > 0
    assert abs(s.speed_rpm) < 1.0  # the motor stays still
