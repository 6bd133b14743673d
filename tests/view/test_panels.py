"""Tool panels, the tool menu and the motor panel, driven offscreen.

Ursina is one app per process, so `_script` runs in a subprocess (`run_scene_script`,
tests/view/conftest.py): it builds the widgets, drives them through their programmatic API and
button callbacks, steps frames and returns facts; the tests assert on those facts (coarse pixel
facts only)."""

from __future__ import annotations

import time

import pytest


class FakeSink:
    """A motor sink that records every call and refuses speeds above 1000 rpm."""

    def __init__(self):
        self.calls = []
        self.status = "ok"
        self.explode = False

    def set_speed(self, rpm):
        self.calls.append(["set_speed", rpm])
        if self.explode:
            raise RuntimeError("link down")
        if rpm > 1000:
            return False, f"{rpm:g} rpm is above the 1000 rpm test limit"
        return True, f"speed set to {rpm:g} rpm"

    def stop(self):
        self.calls.append(["stop"])
        return True, "ramping down"

    def estop(self):
        self.calls.append(["estop"])
        self.status = "estop"
        return True, "braked"

    def reset(self):
        self.calls.append(["reset"])
        self.status = "ok"
        return True, "reset"


class Limits:
    max_speed_rpm = 1800.0


def _script(out_dir: str) -> dict:
    from pathlib import Path

    from twin3d.view import engine

    engine.start("offscreen", (1280, 720))
    from ursina import application

    from twin3d import tools as T
    from twin3d.view import widgets as W
    from twin3d.view.motor_panel import MotorPanel
    from twin3d.view.tool_panel import ToolMenu, ToolPanel, literal
    from twin3d.scenefile.records import load_scene

    app = application.base
    out = Path(out_dir)
    facts: dict = {}

    def step(n=1):
        for _ in range(n):
            app.taskMgr.step()

    def run_until_idle(panel, limit_s=240.0):
        t0 = time.monotonic()
        while panel.busy and time.monotonic() - t0 < limit_s:
            step()
            time.sleep(0.005)  # let the worker thread have the GIL
        step()

    scene = load_scene()
    tools = T.discover()
    # every discovered tool gets a panel whose defaults, shown as text, validate again
    built, roundtrip_errors = {}, []
    for name, tool in tools.items():
        p = ToolPanel(tool, scene=scene)
        built[name] = [len(p.fields), p.rows_per_page, p.n_pages]
        for fd in p.fields.values():
            if fd.kind != "text" or fd.default is None:
                continue
            text = literal(fd.default)
            value = text if fd.tp is str else T.parse_value(text)
            try:
                T.make_inputs(tool, {fd.name: value}, scene=scene)
            except Exception as e:  # collected, asserted empty by the test
                roundtrip_errors.append(f"{name}.{fd.name}: {e}")
        from ursina import destroy
        destroy(p)
    step()
    facts["built"] = built
    facts["n_init_fields"] = {n: len([f for f in __import__("dataclasses").fields(t.Inputs)
                                      if f.init]) for n, t in tools.items()}
    facts["roundtrip_errors"] = roundtrip_errors

    # the tool menu opens the modes panel through the button's own callback
    menu = ToolMenu(scene=scene, position=(-0.87, 0.46), size=(0.3, 0.0),
                    panel_position=(-0.55, 0.46), panel_size=(1.4, 0.9))
    facts["menu"] = sorted(menu.buttons)
    menu.buttons["modes"].on_click()
    panel = menu.panel
    step(2)
    facts["modes_fields"] = list(panel.fields)
    # type into a field the way a keyboard does: click, backspace, keystroke
    box = panel.fields["frf_floor"].control
    box.on_click()
    app.input("backspace")
    app.text_input("3")
    step()
    facts["typed"] = box.value
    facts["started"] = panel.press_run()
    facts["busy_after_press"] = panel.busy
    run_until_idle(panel)
    step(2)
    facts["busy_end"] = panel.busy
    facts["error_after_run"] = panel.error_text
    facts["summary"] = panel.summary_text.splitlines()
    facts["n_plots"] = len(panel._plots)
    facts["progress"] = panel.progress.value
    engine.screenshot(out / "modes_panel.png")
    first_result = panel.result

    panel.set_input("frf_floor", "99")
    facts["bad_started"] = panel.press_run()
    facts["bad_busy"] = panel.busy
    step(2)
    facts["bad_error"] = panel.error_text
    facts["result_kept"] = panel.result is first_result
    img = engine.pixels().astype(int)
    red = (img[..., 0] > 200) & (img[..., 1] < 120) & (img[..., 2] < 120)
    facts["red_pixels"] = int(red.sum())
    engine.screenshot(out / "modes_error.png")
    panel.set_input("f_max_hz", "abc")
    panel.set_input("frf_floor", "2")
    facts["text_error"] = panel.error_text if not panel.press_run() else "ran"
    panel.set_input("f_max_hz", "40.0")

    # paging: a short panel holds one row per page
    small = ToolPanel(tools["modes"], scene=scene, position=(0.2, 0.0), size=(0.9, 0.48))
    facts["small_pages"] = [small.rows_per_page, small.n_pages]
    small.show_page(1)
    facts["small_enabled"] = [fd.row.enabled for fd in small.fields.values()]
    from ursina import destroy
    destroy(small)
    old = menu.panel
    menu.open("modes")  # reopening replaces the panel
    step()
    facts["old_panel_gone"] = old is not menu.panel and old.is_empty()
    menu.close()
    facts["closed"] = menu.panel is None
    destroy(menu)
    step()

    # motor panel with a recording sink
    sink = FakeSink()
    motor = MotorPanel(sink, Limits(), position=(-0.3, 0.2), size=(0.6, 0.36))
    step()
    facts["m_ok"] = motor.set_speed(600)
    facts["m_clamped"] = motor.set_speed(5000)  # clamped to 1800, refused by the sink
    facts["m_refusal"] = motor.refusal
    facts["m_target"] = motor.target_rpm
    step()
    engine.screenshot(out / "motor_refused.png")
    img = engine.pixels().astype(int)
    amber = (img[..., 0] > 200) & (img[..., 1] > 120) & (img[..., 1] < 220) & (img[..., 2] < 110)
    top = 360 - int(0.2 * 720)  # the panel's top row; its last answer sits in the bottom half
    facts["m_warn_text"] = int(amber[top + int(0.18 * 720):top + int(0.36 * 720), :].sum())
    facts["m_stop"] = motor.press_stop()
    facts["m_estop"] = motor.press_estop()
    n_calls = len(sink.calls)
    facts["m_latched_refused"] = motor.set_speed(300)
    facts["m_calls_while_latched"] = len(sink.calls) - n_calls
    step()
    facts["m_status_text"] = motor._status.text
    engine.screenshot(out / "motor_estop.png")
    facts["m_reset"] = motor.press_reset()
    facts["m_after_reset"] = motor.set_speed(300)
    sink.explode = True
    facts["m_exception"] = [motor.set_speed(400), motor.refusal]
    sink.explode = False
    sink.status = "estop"  # latched elsewhere (the rig's own interlock)
    step()
    facts["m_latched_by_status"] = motor.latched
    facts["m_calls"] = sink.calls
    W.TextBox.active_box = None
    return facts


@pytest.fixture(scope="module")
def ui(tmp_path_factory, run_scene_script):
    out = tmp_path_factory.mktemp("panels")
    facts = run_scene_script(__file__, out, timeout=400)
    facts["out"] = str(out)
    return facts


def test_every_discovered_tool_gets_a_panel_whose_defaults_validate(ui):
    assert "modes" in ui["built"] and ui["built"].keys() == ui["n_init_fields"].keys()
    for name, (n_fields, rows, pages) in ui["built"].items():
        assert n_fields == ui["n_init_fields"][name]
        assert rows * pages >= n_fields and rows * (pages - 1) < max(n_fields, 1)
    assert ui["roundtrip_errors"] == []
    assert ui["menu"] == sorted(ui["built"])
    assert ui["old_panel_gone"] and ui["closed"]


def test_modes_panel_runs_in_a_worker_and_shows_three_modes(ui):
    assert ui["modes_fields"] == ["profile", "frf_floor", "f_max_hz"]
    assert ui["typed"] == "3"
    assert ui["started"] and ui["busy_after_press"]
    assert not ui["busy_end"] and ui["error_after_run"] == ""
    lines = [s for s in ui["summary"] if s.startswith("mode ")]
    assert len(lines) == 3 and "6.20" in lines[0]
    assert ui["n_plots"] == 1 and ui["progress"] == 1.0


def test_bad_input_shows_the_schema_error_in_red_and_does_not_run(ui):
    assert not ui["bad_started"] and not ui["bad_busy"] and ui["result_kept"]
    assert "frf_floor" in ui["bad_error"] and "1..20" in ui["bad_error"]
    assert "got 99" in ui["bad_error"]
    assert ui["red_pixels"] > 200  # the error line is drawn in red
    assert "f_max_hz" in ui["text_error"] and "must be a number" in ui["text_error"]


def test_inputs_page_when_the_panel_is_short(ui):
    rows, pages = ui["small_pages"]
    assert rows == 1 and pages == 3
    assert ui["small_enabled"] == [False, True, False]


def test_motor_panel_drives_the_sink_and_shows_refusals(ui):
    assert ui["m_ok"] is True and ui["m_clamped"] is False
    assert "1000 rpm test limit" in ui["m_refusal"] and ui["m_target"] == 600
    assert ui["m_warn_text"] > 50  # the refusal is printed in the warning colour, on the panel
    assert ui["m_stop"] and ui["m_estop"]
    assert ui["m_latched_refused"] is False and ui["m_calls_while_latched"] == 0
    assert ui["m_status_text"] == "status: estop"
    assert ui["m_reset"] and ui["m_after_reset"]
    assert ui["m_exception"] == [False, "link down"]
    assert ui["m_latched_by_status"] is True
    assert ui["m_calls"] == [["set_speed", 600.0], ["set_speed", 1800.0], ["stop"], ["estop"],
                             ["reset"], ["set_speed", 300.0], ["set_speed", 400.0]]
