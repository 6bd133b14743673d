"""The browser view's tests: one `twin3d serve` service on the simulated rig and one headless
Chromium (the system one, driven by Playwright; never a downloaded browser) per session."""

from __future__ import annotations

import json
import urllib.request

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox"]


def get(url: str, timeout: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def get_json(url: str) -> dict:
    return json.loads(get(url))


@pytest.fixture(name="get_json", scope="session")
def get_json_fixture():
    return get_json


@pytest.fixture(scope="session")
def scene():
    from twin3d.scenefile.records import load_scene

    return load_scene("three_storey")


@pytest.fixture(scope="session")
def sim_service(scene):
    """`twin3d serve --source sim?rpm=300` in this process on a free port (the motor runs, so
    the frame sways visibly and the speed is not zero)."""
    from twin3d.web.service import WebService

    service = WebService("sim?rpm=300", scene, port=0).start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_page(chromium, sim_service):
    """The page on the sim service, once it has drawn frames from the stream."""
    page = chromium.new_page(viewport={"width": 1000, "height": 640})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(sim_service.url)
    page.wait_for_function("window.__twin && __twin.renders > 3 && __twin.frames > 3 "
                           "&& __twin.infos > 0", timeout=60_000)
    page.errors = errors
    yield page
    page.close()
