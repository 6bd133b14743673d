"""Live calibration on the simulated rig (ground truth southampton_measured, the twin starting
on southampton_identified): the twin collects, fits in its worker, switches estimator, tracker
reference, dry run and model name without a restart, and remembers it as a profile; a record
that cannot calibrate is refused with its number and the model kept. Also `twin3d calibrate`
and `--profile` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from twin3d.live.live_feed import LiveFeed
from twin3d.scenefile.profiles import load_user_scene
from twin3d.scenefile.schema import SchemaError


def run_until(feed: LiveFeed, done, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not done():
        feed.ingest.wait(0.05)
        feed.advance()


def test_scene_with_active_switches_and_checks_the_profile():
    scene = load_user_scene("three_storey")
    other = next(p for p in scene.data.profiles if p != scene.data.model.active)
    assert scene.with_active(other).data.model.active == other
    assert scene.with_active(None) is scene
    with pytest.raises(SchemaError, match="unknown profile"):
        scene.with_active("no_such_profile")


@pytest.mark.slow
def test_the_twin_calibrates_itself_on_the_running_rig_and_switches_without_restart(
        monkeypatch, tmp_path):
    scene = load_user_scene("three_storey")
    feed = LiveFeed("sim?rpm=250", scene, user="tester")
    try:
        start_hz = np.array(feed.model_hz)
        run_until(feed, lambda: feed.est is not None and feed.t > 0.2, 10)
        cal = feed.calibrate(12.0, save_as="lab_cal")
        run_until(feed, lambda: not cal.active, 60)
        assert cal.state == "done", cal.message
        truth = feed.ingest.rig.core.truth_hz
        # the start model is 3.3 % off on mode 1; the calibrated one sits on the truth
        assert abs(start_hz[0] / truth[0] - 1) > 0.03
        np.testing.assert_allclose(feed.model_hz, truth, rtol=2e-3)
        # one model for every reader: scene's active profile, tracker, dry run, state
        assert feed.profile_name == "lab_cal" == feed.scene.data.model.active
        np.testing.assert_allclose(feed.tracker.model_frequencies_hz, feed.model_hz)
        assert feed.commander.channel.scene.data.model.active == "lab_cal"
        st = feed.state()
        assert st.model_name == "lab_cal" and st.calibration_progress is None
        assert "calibrated from 12 s" in st.calibration and "saved as lab_cal" in st.calibration
        # saved with its provenance
        from twin3d.scenefile import profiles

        doc = json.loads(profiles._path("lab_cal").read_text())
        prov = doc["provenance"]
        assert prov["tool"] == "calibrate" and prov["source"] == "sim"
        assert prov["source_time_s"][1] - prov["source_time_s"][0] == pytest.approx(12, abs=0.1)
        assert 0.9 < prov["coherence_median"] <= 1 and prov["fit_error"] < prov["start_fit_error"]
        # the estimator runs on the new model and keeps estimating
        seq = feed.last_seq
        run_until(feed, lambda: feed.last_seq is not None and feed.last_seq > seq + 5, 10)
        assert np.all(np.isfinite(feed.floor_disp_m))
    finally:
        feed.close()


def test_a_record_too_short_to_calibrate_is_refused_and_the_model_kept():
    scene = load_user_scene("three_storey")
    feed = LiveFeed("sim", scene, commands=False)
    try:
        before = feed.model_hz
        run_until(feed, lambda: feed.est is not None, 10)
        cal = feed.calibrate(2.0)
        assert 0 <= cal.progress < 1
        run_until(feed, lambda: not cal.active, 30)
        assert cal.state == "refused"
        assert "too short: 2.0 s" in cal.message and "needs >=" in cal.message
        assert feed.model_hz == before and feed.profile_name == scene.data.model.active
        # one at a time
        feed.calibrate(30.0)
        second = feed.calibrate(30.0)
        assert second.state == "refused" and "already in progress" in second.message
    finally:
        feed.close()


def _cli(*args, timeout=120):
    p = subprocess.run([sys.executable, "-m", "twin3d", *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.slow
def test_calibrate_cli_saves_a_profile_that_monitor_starts_on():
    rc, out, err = _cli("calibrate", "--source", "sim?rpm=250", "--seconds", "10",
                        "--save-as", "cli_cal", "--store", "none", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["profile"] == "cli_cal" and d["saved"] is True
    for key in ("frequencies_hz", "storey_stiffness_n_per_m", "storey_damping_ns_per_m",
                "truth_frequencies_hz", "fit"):
        assert d[key], key
    np.testing.assert_allclose(d["frequencies_hz"], d["truth_frequencies_hz"], rtol=3e-3)
    assert max(abs(e) for e in d["error_vs_truth_percent"]) < 0.3
    assert "calibrate: calibrating: collecting" in err  # progress on stderr
    rc, out, err = _cli("monitor", "--profile", "cli_cal", "--seconds", "1", "--store", "none",
                        "--json")
    assert rc == 0, err
    m = json.loads(out)
    assert m["model_profile"] == "cli_cal"
    np.testing.assert_allclose(m["model_frequencies_hz"], d["frequencies_hz"], rtol=1e-4)


@pytest.mark.parametrize("argv, word", [
    (["calibrate", "--seconds", "2"], "--seconds"),
    (["calibrate", "--seconds", "nan"], "--seconds"),
    (["calibrate", "--profile", "no_such_profile", "--store", "none"], "no_such_profile"),
    (["calibrate", "--save-as", "bad name!", "--store", "none"], "not a valid profile name"),
    (["monitor", "--profile", "no_such_profile", "--store", "none"], "no_such_profile"),
    (["demo", "--profile", "no_such_profile", "--store", "none", "--seconds", "1"],
     "no_such_profile"),
])
def test_calibration_options_exit_2_with_one_line(argv, word):
    rc, out, err = _cli(*argv, timeout=60)
    assert rc == 2, (rc, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and "Traceback" not in err
