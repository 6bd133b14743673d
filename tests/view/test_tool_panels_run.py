"""Every engineering tool runs from its panel in the headless scene: its example typed into the
generated fields, Run pressed, frames stepped until the worker finishes, a result shown and no
error. One subprocess (Ursina is one app per process: `run_scene_script`) runs `_script` for
the facts the tests assert on."""

from __future__ import annotations

import pytest


def _script() -> dict:
    import time

    from twin3d.view import engine

    engine.start("offscreen", (1280, 720))
    from ursina import application

    from twin3d import tools
    from twin3d.view.tool_panel import ToolMenu, literal
    from twin3d.scenefile.records import load_scene

    scene = load_scene()
    menu = ToolMenu(scene)
    facts = {}
    for name, tool in tools.discover().items():
        panel = menu.open(name)
        for key, value in tool.EXAMPLE.items():
            panel.set_input(key, literal(value))
        started = panel.press_run()
        deadline = time.monotonic() + 240  # bounds a hung worker only; never a timing check
        while panel.busy and time.monotonic() < deadline:
            application.base.taskMgr.step()
        application.base.taskMgr.step()
        facts[name] = {"started": bool(started), "busy": bool(panel.busy),
                       "error": panel.error_text, "has_result": panel.result is not None,
                       "summary": panel.summary_text}
    return facts


@pytest.fixture(scope="module")
def runs(run_scene_script, tmp_path_factory):
    # the tools run with a home of their own: nothing they write lands in the user's
    home = tmp_path_factory.mktemp("tool-home")
    return run_scene_script(__file__, timeout=900, env={"HOME": str(home)})


def test_every_tool_runs_from_its_panel_and_shows_a_result(runs):
    from twin3d import tools

    assert set(runs) == set(tools.discover())
    for name, f in runs.items():
        assert f["started"], name
        assert not f["busy"], f"{name} still running"
        assert f["error"] == "", f"{name}: {f['error']}"
        assert f["has_result"], name
        assert f["summary"].strip(), f"{name} shows no summary"
