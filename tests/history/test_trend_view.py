"""The scene's trend of the tracked frequencies: three hours read back from a real SQLite history
(a step of -2 % in mode 1 an hour ago, a calibration, an alarm raised and cleared), drawn by the
scene offscreen; and the HUD's line for a store that is down."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.view.conftest import headless_env  # noqa: F401  (the scene tests' environment)

SIZE = (1280, 720)


def _script(db: str, png: str) -> dict:
    from dataclasses import replace

    from twin3d.history import Writer, records
    from twin3d.view import engine

    engine.start("offscreen", SIZE)
    from twin3d.live.feeds import SimFeed
    from twin3d.live.history_feed import HistoryFeed
    from twin3d.scenefile.records import load_scene
    from twin3d.view.app import TwinApp

    scene = load_scene()
    sim = SimFeed(scene)
    model = np.array(sim.step(0.0).model_hz)
    now = time.time()
    url = f"sqlite:///{db}"
    w = Writer(url)
    for i in range(1080):  # three hours, one update each 10 s
        t = now - 3 * 3600 + 10 * i
        f = model * (1 + 0.002 * np.sin(i / 40))
        f[1:] *= 1 + 0.003 * np.arange(1, len(f))  # the modes apart
        if t > now - 3600:
            f[0] *= 0.98  # mode 1 2 % down an hour ago
        w.put(records.tracker_update(f, t=t, rig="sim"))
    w.put(records.calibration("live_1", model, [1, 2, 3], [1, 2, 3], "sim",
                              t=now - 2 * 3600, rig="sim"))
    w.put(records.alarm(True, "mode 1 2.0 % below model", mode=1, t=now - 3600 + 30, rig="sim"))
    w.put(records.alarm(False, "mode 1 2.0 % below model", mode=1, t=now - 1800, rig="sim"))
    w.put(records.alarm(True, "elsewhere", t=now - 1700, rig="other"))  # another rig's
    assert w.flush(20)
    w.close()

    hf = HistoryFeed.open(url, rig="sim")
    deadline = time.monotonic() + 20
    while hf.writer.preloaded is None and time.monotonic() < deadline:
        time.sleep(0.02)

    class Feed:
        warning = ""

        def step(self, dt):
            return replace(sim.step(dt), trend=hf.trend(), history_warning=self.warning)

    feed = Feed()
    app = TwinApp(scene, feed, "offscreen", SIZE, plots=True, panels=False)
    app.step(4)
    app.screenshot(png)
    tp = app.trend
    facts = {"enabled": tp.enabled, "n_drawn": tp.n_drawn, "n_marks": tp.n_marks,
             "yrange": list(tp.yrange), "xrange": list(tp.xrange), "title": tp.title.text,
             "points": int(hf.trend().t.size), "labels": sorted(t.text for t in tp._legend),
             "status": tp.status.text}
    feed.warning = "history DOWN, 12 buffered, 0 lost: connection refused"
    app.hud._next_status = 0.0
    app.step(2)
    facts["hud_alarm"] = [t.text for t in app.hud.alarm]
    hf.close()
    return facts


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    from tests.view.conftest import _RUNNER, FACTS  # the scene tests' subprocess runner
    import json
    import subprocess
    import sys

    d = tmp_path_factory.mktemp("trend")
    png = d / "trend.png"
    r = subprocess.run([sys.executable, "-c", _RUNNER, __file__, "_script", str(d / "h.sqlite"),
                        str(png)], capture_output=True, text=True, timeout=300,
                       env=headless_env())
    assert r.returncode == 0, r.stderr[-3000:]
    line = [ln for ln in r.stdout.splitlines() if ln.startswith(FACTS)][-1]
    out = json.loads(line[len(FACTS):])
    out["png"] = str(png)
    return out


@pytest.mark.slow
def test_the_trend_shows_the_last_hours_read_back_with_its_marks(facts):
    assert facts["enabled"] and facts["points"] == 1080
    assert facts["n_marks"] == 3  # calibration, raised, cleared: this rig's only
    assert facts["n_drawn"] > 200  # four modes over three hours
    lo, hi = facts["yrange"]
    assert lo < -2.0 < -1.5 < hi and hi < 3  # the -2 % step is on the axis, not lost in it
    assert facts["xrange"] == [-6.0, 0.0]
    assert "6 h" in facts["title"] and facts["status"].startswith("history")
    modes = [t for t in facts["labels"] if t.startswith("\u2014 ")]
    assert modes[0].startswith("\u2014 f1") and len(modes) == 4
    # the marks in view are named in the legend (calibrations were read as mode 4's data)
    assert {"| calibrated", "| alarm", "| cleared"} <= set(facts["labels"])


@pytest.mark.slow
def test_the_hud_says_when_the_store_is_down(facts):
    assert "history DOWN" in facts["hud_alarm"][-1]


@pytest.mark.slow
def test_the_picture_has_the_marks(facts):
    from PIL import Image

    img = np.asarray(Image.open(facts["png"]).convert("RGB")).astype(int)
    green = (img[..., 1] > 200) & (img[..., 0] < 120) & (img[..., 2] < 160)
    red = (img[..., 0] > 220) & (img[..., 1] < 110) & (img[..., 2] < 100)
    assert green.sum() > 20 and red.sum() > 20
