"""The page survives its source restarting: a rig process on a real mosquitto broker is stopped
and a new one started; the server's one subscription carries on and the open page keeps
drawing the new rig's state."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _rig(port: int, rig_id: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "twin3d", "rig", "--mqtt",
                             f"127.0.0.1:{port}", "--rig-id", rig_id, "--seconds", "120"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def test_the_page_survives_the_rig_restarting(broker, scene, chromium, wait_for, get_json):
    from twin3d.web.service import WebService

    rig = _rig(broker.port, "webrig")
    service = WebService(f"mqtt://127.0.0.1:{broker.port}/webrig", scene, port=0).start()
    page = chromium.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(service.url)
        page.wait_for_function("window.__twin && __twin.info && __twin.info.counters.blocks > 20"
                               " && __twin.renders > 3", timeout=90_000)
        t_before = page.evaluate("__twin.frame.t")
        _stop(rig)
        # the rig says it went offline (its clean exit) or its will says lost
        assert wait_for(lambda: get_json(service.url + "status.json")["source_status"]
                        not in ("ok", "waiting"), timeout=30)
        page.wait_for_function("__twin.info.status !== 'ok'", timeout=30_000)
        rig = _rig(broker.port, "webrig")
        page.wait_for_function("__twin.info.status === 'ok' && "
                               "__twin.info.counters.seq_resets >= 1", timeout=90_000)
        n = page.evaluate("__twin.frames")
        page.wait_for_function(f"__twin.frames > {n + 10} && __twin.frame.t > {t_before}",
                               timeout=30_000)
        st = get_json(service.url + "status.json")
        assert st["source_status"] == "ok" and st["source_counters"]["seq_resets"] >= 1
        assert st["viewers"] == 1  # the same page, never reconnected
        assert page.evaluate("__twin.reconnects") == 0
        assert errors == []
        assert page.inner_text("#hud-status").startswith("ok")
    finally:
        page.close()
        service.stop()
        _stop(rig)
