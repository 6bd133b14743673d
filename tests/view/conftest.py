"""The scene tests' one way to run Ursina: a test module's `_script(*args) -> dict` in a fresh
subprocess, offscreen, its facts back as JSON.

Ursina is one app per process, so a test module that needs the scene defines `_script` (it
starts the engine itself, drives the widgets, and returns JSON-able facts; numpy values are
converted) and asks `run_scene_script(__file__, *args)` for the facts in a module-scoped
fixture; the tests assert on those. The subprocess runs without a display (DISPLAY and
WAYLAND_DISPLAY unset, EGL surfaceless: ../shared/notes/HEADLESS.md) and with its own empty
profile store. To debug one by hand: `python -c "import runpy; print(runpy.run_path(
'tests/view/test_x.py')['_script']())"` with the same environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FACTS = "SCENE-FACTS "  # the line of stdout that carries the facts (Ursina prints too)

_RUNNER = f"""
import importlib.util, json, sys
import numpy as np
path, func, args = sys.argv[1], sys.argv[2], sys.argv[3:]
spec = importlib.util.spec_from_file_location("scene_script", path)
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
facts = getattr(module, func)(*args)
print({FACTS!r} + json.dumps(facts, default=lambda o: np.asarray(o).tolist()), flush=True)
"""


def headless_env(**extra: str) -> dict[str, str]:
    """This process's environment without a display, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.setdefault("EGL_PLATFORM", "surfaceless")
    env.update(extra)
    return env


@pytest.fixture(scope="session", name="headless_env")
def headless_env_fixture():
    """headless_env(**extra): the environment of a scene subprocess (the CLI's too)."""
    return headless_env


@pytest.fixture(scope="session")
def run_scene_script(tmp_path_factory):
    """run(module_file, *args, timeout=300, env=None, func="_script") -> the facts (a dict).

    Runs `func(*args)` of the test module at `module_file` (pass `__file__`) in a subprocess;
    args go over as strings. A non-zero exit fails with the tail of its stderr."""

    def run(module_file, *args, timeout: float = 300, env: dict | None = None,
            func: str = "_script") -> dict:
        profiles = tmp_path_factory.mktemp("scene-profiles")
        full_env = headless_env(TWIN3D_PROFILES_DIR=str(profiles), **(env or {}))
        r = subprocess.run([sys.executable, "-c", _RUNNER, str(module_file), func,
                            *map(str, args)], capture_output=True, text=True, env=full_env,
                           timeout=timeout)
        where = f"{Path(module_file).name}:{func}"
        assert r.returncode == 0, f"{where} exited {r.returncode}:\n{r.stderr[-3000:]}"
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith(FACTS)]
        assert lines, f"{where} printed no facts:\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}"
        return json.loads(lines[-1][len(FACTS):])

    return run


def step_until(app, cond, timeout: float) -> bool:
    """In a scene script: step the app a frame at a time until cond() or `timeout` s of wall
    time; True if cond() came true (the short sleep lets the rig's and the feed's threads run)."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.step(1)
        time.sleep(0.005)
        if cond():
            return True
    return False
