"""`twin3d rig --damage` on a real mosquitto publishes its truth on the retained
`twin3d/<rig>/truth`; the MQTT source takes it (and counts what is malformed), and `monitor
--json` reports the truth's modes and the estimate's distance to the truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg

from twin3d.io.mqtt_link import MqttLink
from twin3d.io.mqtt_source import check_truth, open_mqtt
from twin3d.physics.structure import LinearModel, with_oscillator
from twin3d.scenefile.records import load_scene

RIG_ID = "dmg"


@pytest.fixture(scope="module")
def damaged_rig(broker_port, tmp_path_factory, stop_rig):
    env = {**os.environ, "TWIN3D_AUDIT_DIR": str(tmp_path_factory.mktemp("audit"))}
    proc = subprocess.Popen([sys.executable, "-m", "twin3d", "rig", "--mqtt",
                             f"127.0.0.1:{broker_port}", "--rig-id", RIG_ID, "--seconds", "120",
                             "--truth", "southampton_identified", "--damage", "2:-0.10"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    yield proc
    stop_rig(proc)


def _damaged_hz() -> np.ndarray:
    scene = load_scene("three_storey")
    p = scene.data.profiles["southampton_identified"]
    a = scene.data.actuator
    k = np.asarray(p.stiffness_n_per_m) * np.array([1.0, 0.9, 1.0])
    m = with_oscillator(LinearModel.chain(p.mass_kg, k, p.damping_ns_per_m), a.floor,
                        a.base_mass_kg, a.proof_mass_kg, a.stiffness_n_per_m, a.damping_ns_per_m)
    return np.sqrt(scipy.linalg.eigh(m.K, m.M, eigvals_only=True)) / (2 * np.pi)


def test_source_takes_truth_and_counts_bad_truth(damaged_rig, broker_port, wait_until):
    src = open_mqtt(f"mqtt://127.0.0.1:{broker_port}/{RIG_ID}")
    src.start()
    try:
        seen: list = []

        def blocks():
            seen.extend(it.block.seq for it in src.poll())
            return len(seen) > 5 and src.truth_frequencies_hz is not None

        assert wait_until(blocks, timeout=60), damaged_rig.stderr and "no data/truth"
        np.testing.assert_allclose(src.truth_frequencies_hz, _damaged_hz(), rtol=1e-9)
        assert src.truth_damage == [{"storey": 2, "fraction": -0.1}]
        assert wait_until(lambda: blocks() and src.truth_at(seen[-1]) is not None)
        assert src.truth_at(seen[-1]).shape == (3,)
        # untrusted input on the truth topic: every bad one counted, none taken
        pub = MqttLink("127.0.0.1", broker_port).start()
        assert pub.wait_connected(10)
        bad = [b"not json", b"[1, 2]", json.dumps({"seq": -1}).encode(),
               json.dumps({"seq": 1, "floor_disp_m": ["x"], "frequencies_hz": [1.0]}).encode(),
               json.dumps({"seq": 1, "floor_disp_m": [0.0], "frequencies_hz": [1e300]}).encode(),
               json.dumps({"seq": 1, "floor_disp_m": [0.0], "frequencies_hz": [6.0],
                           "damage": [{"storey": 0, "fraction": -0.1}]}).encode(),
               b"x" * 70_000]
        for payload in bad:
            pub.publish(f"twin3d/{RIG_ID}/truth", payload, qos=1)
        assert wait_until(lambda: (blocks(), src.counters["bad_truth"] >= len(bad))[1],
                          timeout=20)
        assert src.counters["bad_truth"] == len(bad)
        np.testing.assert_allclose(src.truth_frequencies_hz, _damaged_hz(), rtol=1e-9)
        pub.stop()
    finally:
        src.stop()


def test_check_truth_accepts_the_rigs_message():
    assert check_truth({"seq": 3, "floor_disp_m": [1e-4, 2e-4, 3e-4],
                        "frequencies_hz": [5.7, 6.8, 17.4, 26.1],
                        "damage": [{"storey": 2, "fraction": -0.1}]}) == ""
    assert "seq" in check_truth({"seq": True, "floor_disp_m": [0.0], "frequencies_hz": [1.0]})


def test_monitor_reports_truth_and_estimate_error(damaged_rig, broker_port, run_twin3d):
    code, out, err = run_twin3d("monitor", "--source", f"mqtt://127.0.0.1:{broker_port}/{RIG_ID}",
                                "--seconds", "4", "--json", timeout=90)
    assert code == 0, err
    np.testing.assert_allclose(out["truth_frequencies_hz"], _damaged_hz(), atol=1e-4)
    rel = out["estimate_vs_truth_rel_rms"]
    # the twin's model is the undamaged identified chain: close to the truth, not equal
    assert rel is not None and 0.0 < rel < 0.5
    assert out["localisation"] == [] and out["localisation_status"] in ("waiting", "learning")
    assert out["bad_truth"] == 0
