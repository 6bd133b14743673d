"""The generated tool panel and the tool menu, in camera.ui.

ToolPanel knows nothing about any one tool: rows come from dataclasses.fields(tool.Inputs) and
their schema.spec metadata, validation is twin3d.tools.make_inputs (the one-line SchemaError goes
to the error line), the run happens in a worker thread, and the result is applied in the main
thread by the panel's update(), so the frame never waits for a tool. ToolMenu lists every
discovered tool and opens its panel.

Programmatic API (tests, kiosk): set_input(name, text), press_run(), busy, result, error_text,
summary_text.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
import threading
import time
import typing
from typing import Any

from ursina import Entity, camera, destroy

from twin3d import tools as T
from twin3d.scenefile.schema import SchemaError, allowed_text
from twin3d.view import widgets as W
from twin3d.view.plot_drawing import plot_from_spec, readable_height

SUMMARY = W.TEXT_S  # result lines' text scale: the most words per line that still read
PLOT_MIN_H = readable_height()  # a result plot gets at least this; the lines the rest, scrolling
MIN_SUMMARY_ROWS = 5  # ... but never fewer rows than this (a verdict and its reason)
SUMMARY_LINE = SUMMARY * W.Text.size  # their line height


def literal(value: Any) -> str:
    """A value as the TOML literal a text field shows (and twin3d.tools.parse_value reads)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if value != value else
                                                        ("inf" if value > 0 else "-inf"))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f'{k} = {chr(34) + v + chr(34) if isinstance(v, str) else literal(v)}'
                 for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return "" if value is None else str(value)


def _base_type(tp):
    """X for X | None, else tp."""
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType")):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return inner[0] if inner else tp
    return tp


@dataclasses.dataclass
class _Field:
    name: str
    tp: Any
    meta: dict
    default: Any
    control: Any = None  # TextBox | CycleButton
    kind: str = "text"  # text | bool | choice
    row: Any = None

    def current(self):
        """The control's value: raw text, or the chosen object for bool/choice."""
        return self.control.value

    def default_shown(self):
        return self.default if self.kind != "text" else literal(self.default)


class ToolPanel(Entity):
    """A panel for one tool module: inputs (paged), Run, progress, error line, results.

    position: top-left corner; size: (w, h) in camera.ui units. scene: a twin3d Scene (also used
    to offer the scene's profiles for a `profile` field); None lets the tool load the default
    scene in its worker."""

    def __init__(self, tool, scene=None, position=(-0.66, 0.44), size=(1.32, 0.88),
                 parent=None, on_close=None, max_summary_lines: int = 24, max_plots: int = 2):
        super().__init__(parent=parent if parent is not None else camera.ui,
                         position=(position[0], position[1], 0))
        self.tool, self.scene, self.size = tool, scene, (float(size[0]), float(size[1]))
        self.max_summary_lines, self.max_plots = max_summary_lines, max_plots
        w, h = self.size
        self.left_w = min(0.62, 0.40 * w)
        pad = 0.02
        W.box(self, (0, 0), self.size, W.PANEL, z=0.02)
        W.box(self, (self.left_w, -pad), (0.002, h - 2 * pad), W.PANEL_EDGE, z=0.015)
        W.label(tool.NAME, self, (pad, -0.012), W.TEXT_L, W.ACCENT)
        summary = textwrap.wrap(tool.SUMMARY, W.wrap_chars(self.left_w - 2 * pad, W.TEXT_S))
        if len(summary) > 2:  # two lines at most: the input rows start right below
            summary = [summary[0], summary[1][:-1] + "\u2026"]
        W.label("\n".join(summary), self, (pad, -0.055), W.TEXT_S, W.MUTED)
        if on_close is not None:
            W.button("\u00d7", self, (w - 0.055, -0.01), (0.045, 0.045), on_click=on_close,
                     colour=W.FIELD)
        # inputs
        self.fields: dict[str, _Field] = {}
        self._build_fields(pad)
        self.rows_per_page = max(1, int((h - 0.135 - 0.27) / 0.075))
        self.page = 0
        self.n_pages = max(1, math.ceil(len(self.fields) / self.rows_per_page))
        bottom = -h + pad
        y_nav = -0.135 - self.rows_per_page * 0.075 - 0.005
        self._page_text = W.label("", self, (self.left_w / 2, y_nav - 0.022), W.TEXT_S, W.MUTED,
                                  origin=(0, 0))
        self._prev = W.button("\u2039 prev", self, (pad, y_nav), (0.12, 0.042),
                              on_click=lambda: self.show_page(self.page - 1), text_scale=W.TEXT_S)
        self._next = W.button("next \u203a", self, (self.left_w - pad - 0.12, y_nav),
                              (0.12, 0.042), on_click=lambda: self.show_page(self.page + 1),
                              text_scale=W.TEXT_S)
        # run, progress, error, doc hint
        y_run = bottom + 0.205
        self.run_button = W.button("Run", self, (pad, y_run), (0.16, 0.055),
                                   on_click=self.press_run, colour=W.OK.tint(-0.45))
        self.progress = W.ProgressBar(self, (pad + 0.18, y_run - 0.012),
                                      (self.left_w - 0.22 - pad, 0.016))
        self._progress_text = W.label("", self, (pad + 0.18, y_run - 0.03), W.TEXT_S, W.MUTED,
                                      wrap_width=self.left_w - 0.18 - 2 * pad, max_lines=2)
        line_h = W.TEXT_S * W.Text.size
        self._error = W.label("", self, (pad, y_run - 0.075), W.TEXT_S, W.ERROR,
                              wrap_width=self.left_w - 2 * pad, max_lines=3)
        # the focused input's doc, in the room left under the error lines
        hint_top = y_run - 0.075 - 3 * line_h - 0.008
        self._hint = W.label("", self, (pad, hint_top), W.TEXT_S, W.MUTED,
                             wrap_width=self.left_w - 2 * pad,
                             max_lines=max(1, int((hint_top - bottom) / line_h)))
        # results
        self._res_x = self.left_w + pad
        W.label("result", self, (self._res_x, -0.012), W.TEXT_L, W.TEXT)
        self._summary = W.label("press Run", self, (self._res_x, -0.065), SUMMARY, W.TEXT,
                                wrap_width=w - self._res_x - pad)
        self._summary_lines: list[str] = []
        self.lines_shown = max_summary_lines
        self.scroll = 0  # the first result line shown (scroll wheel over the results)
        self._plots: list = []
        # state
        self.busy = False
        self.result = None
        self.error_text = ""
        self.summary_text = ""
        self._worker: threading.Thread | None = None
        self._outcome = None
        self._fraction, self._message, self._t0 = 0.0, "", 0.0
        self._cancel = False
        self.show_page(0)

    # --- inputs --------------------------------------------------------------------------
    def _build_fields(self, pad: float) -> None:
        hints = typing.get_type_hints(self.tool.Inputs)
        ctl_w = min(0.26, 0.42 * self.left_w)
        ctl_x = self.left_w - pad - ctl_w
        previous_box = None
        for f in dataclasses.fields(self.tool.Inputs):
            if not f.init:
                continue
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
            meta = dict(f.metadata)
            fd = _Field(f.name, _base_type(hints[f.name]), meta, default)
            row = Entity(parent=self)
            W.label(f.name, row, (pad, 0), W.TEXT_M * 0.85, W.TEXT)
            unit = meta.get("unit") or ""
            rng = allowed_text(meta) or (unit if unit else "")
            # two lines under the name: long choice lists wrap instead of losing their end
            W.label(rng, row, (pad, -0.03), W.TEXT_S, W.MUTED, wrap_width=ctl_x - 2 * pad,
                    max_lines=2)
            size = (ctl_w, 0.046)
            choices = meta.get("choices")
            if fd.name == "profile" and self.scene is not None:
                choices = ("", *sorted(self.scene.data.profiles))
            focus = (lambda fd=fd: self._show_doc(fd))
            if fd.tp is bool:
                fd.kind = "bool"
                fd.control = W.CycleButton(row, (ctl_x, 0), size, [False, True], bool(default),
                                           shown=lambda v: "on" if v else "off",
                                           on_change=lambda v, fd=fd: self._edited(fd))
            elif choices and fd.tp in (str, int, float):
                fd.kind = "choice"
                fd.control = W.CycleButton(row, (ctl_x, 0), size, list(choices),
                                           default if default in choices else choices[0],
                                           shown=lambda v: str(v) if v != "" else "(active)",
                                           on_change=lambda v, fd=fd: self._edited(fd))
            else:
                fd.control = W.TextBox(row, (ctl_x, 0), size, literal(default),
                                       on_change=lambda v, fd=fd: self._edited(fd),
                                       on_focus=focus,
                                       placeholder="(active model)" if fd.name == "profile"
                                       else "")
                if previous_box is not None:
                    previous_box.next_box = fd.control
                previous_box = fd.control
            fd.row = row
            self.fields[fd.name] = fd

    def show_page(self, page: int) -> None:
        self.page = min(max(page, 0), self.n_pages - 1)
        for i, fd in enumerate(self.fields.values()):
            on = i // self.rows_per_page == self.page
            fd.row.enabled = on
            if on:
                fd.row.position = (0, -0.135 - (i % self.rows_per_page) * 0.075, 0)
        paged = self.n_pages > 1
        self._prev.enabled = paged and self.page > 0
        self._next.enabled = paged and self.page < self.n_pages - 1
        self._page_text.text = (f"inputs {self.page + 1}/{self.n_pages}" if paged else "")

    def _show_doc(self, fd: _Field) -> None:
        doc = fd.meta.get("doc") or ""
        self._hint.text = f"{fd.name}: {doc}" if doc else fd.name

    def _edited(self, fd: _Field) -> None:
        self._show_doc(fd)
        if self.error_text:
            self._set_error("")

    def input(self, key):
        if key not in ("scroll down", "scroll up") or not self.enabled:
            return
        step = 1 if key == "scroll down" else -1
        from ursina import mouse

        over_results = mouse.position is not None and \
            mouse.position[0] > self.getPos(camera.ui)[0] + self._res_x
        if over_results:
            self.scroll_results(step)
        elif self.n_pages > 1:
            self.show_page(self.page + step)

    def set_input(self, name: str, text) -> None:
        """Set a field as a user would: text for text fields; 'on'/'off'/'true'/'false' for
        toggles; the option's text for choices."""
        if name not in self.fields:
            raise KeyError(f"{self.tool.NAME} has no input {name!r} "
                           f"(inputs: {', '.join(self.fields)})")
        fd = self.fields[name]
        if fd.kind == "bool":
            fd.control.value = str(text).strip().lower() in ("on", "true", "1", "yes")
        elif fd.kind == "choice":
            match = [o for o in fd.control.options if str(o) == str(text)]
            if not match:
                raise ValueError(f"{name}: {text!r} is not one of "
                                 f"{', '.join(map(str, fd.control.options))}")
            fd.control.value = match[0]
        else:
            fd.control.value = str(text)
        self._edited(fd)

    def values(self) -> dict[str, Any]:
        """The inputs that differ from their defaults, as make_inputs wants them."""
        sets = {}
        for fd in self.fields.values():
            v = fd.current()
            if v == fd.default_shown():
                continue
            if fd.kind != "text":
                sets[fd.name] = v
            elif fd.tp is str:
                sets[fd.name] = v  # a string field takes the text as typed, quotes or not
            else:
                sets[fd.name] = T.parse_value(v.strip())
        return sets

    # --- running ---------------------------------------------------------------------------
    def _set_error(self, text: str) -> None:
        self.error_text = text
        self._error.text = text

    def press_run(self) -> bool:
        """Validate and start the tool in a worker thread; while busy, ask it to cancel.
        Returns True when a run started."""
        if self.busy:
            self._cancel = True
            self._progress_text.text = "cancelling\u2026"
            return False
        if W.TextBox.active_box is not None:
            W.TextBox.active_box.deactivate()
        try:
            inputs = T.make_inputs(self.tool, self.values(), scene=self.scene,
                                   source=self.tool.NAME)
        except SchemaError as e:
            self._set_error(str(e))
            return False
        except (TypeError, ValueError) as e:  # a field type the schema cannot read from text
            self._set_error(f"{self.tool.NAME}: {e}")
            return False
        self._set_error("")
        self.busy, self._cancel, self._outcome = True, False, None
        self._fraction, self._message, self._t0 = 0.0, "", time.perf_counter()
        ctx = T.Context(scene=self.scene, progress=self._on_progress,
                        cancelled=lambda: self._cancel)
        W.set_button_text(self.run_button, "Cancel")
        self._worker = threading.Thread(target=self._work, args=(inputs, ctx), daemon=True,
                                        name=f"tool-{self.tool.NAME}")
        self._worker.start()
        return True

    def _on_progress(self, fraction: float, message: str) -> None:
        # worker thread: plain attribute writes only; update() draws them
        self._fraction, self._message = fraction, message

    def _work(self, inputs, ctx) -> None:
        try:
            result = T.run(self.tool, inputs, ctx)
            self._outcome = ("ok", result, ctx.scene)
        except T.Cancelled:
            self._outcome = ("error", "cancelled", None)
        except Exception as e:  # shown in the panel; the scene keeps running
            refused = getattr(e, "result", None)  # a refusal carries its result (and numbers)
            self._outcome = (("refused", refused, ctx.scene, str(e)) if refused is not None else
                             ("error", f"{self.tool.NAME} failed: {type(e).__name__}: {e}", None))

    def update(self) -> None:
        if not self.busy:
            return
        self.progress.value = self._fraction
        elapsed = time.perf_counter() - self._t0
        self._progress_text.text = (f"{self._message}  " if self._message else "") + \
            f"{100 * self._fraction:.0f} %  {elapsed:.1f} s"
        if self._worker is not None and not self._worker.is_alive() and self._outcome:
            self._apply(self._outcome)

    def _apply(self, outcome) -> None:
        if outcome[0] == "refused":  # the would-be result shown, the refusal in red above it
            self._apply(("ok",) + tuple(outcome[1:3]))
            self._set_error(f"refused: {outcome[3]}")
            self._progress_text.text = "refused"
            self._progress_text.color = W.WARN
            self._summary.color = W.WARN
            return
        self.busy, self._worker = False, None
        W.set_button_text(self.run_button, "Run")
        if outcome[0] == "error":
            self._set_error(outcome[1])
            self._progress_text.text = ""
            self.progress.value = 0
            return
        _, result, scene = outcome
        if self.scene is None and scene is not None:
            self.scene = scene  # keep the scene the tool loaded: the next run reuses it
        self.result = result
        self.progress.value = 1.0
        ok = verdict_ok(result)
        self._progress_text.text = f"done in {time.perf_counter() - self._t0:.1f} s" + \
            ("" if ok else ": UNSTABLE")
        self._progress_text.color = W.MUTED if ok else W.WARN
        self.show_result(result)

    def show_result(self, result) -> None:
        try:
            lines = T.summary_lines(self.tool, result)
        except Exception as e:  # a tool's summary bug must not take the scene down
            lines = [f"(summary failed: {e})"]
        self.summary_text = "\n".join(lines)
        self._summary_lines = W.wrap_measured(self.summary_text or "(no summary)",
                                              self._summary.wrap_width,
                                              self._summary.measure).split("\n")
        self._summary.color = W.TEXT if verdict_ok(result) else W.WARN
        for p in self._plots:
            destroy(p)
        self._plots = []
        try:
            specs = T.plots(self.tool, result)[: self.max_plots]
        except Exception as e:
            self._set_error(f"plots failed: {e}")
            specs = []
        w, h = self.size
        # the lines take what the plots leave them; more scroll (the panel's own height and
        # max_summary_lines cap them too)
        room = h - 0.085 - len(specs) * (PLOT_MIN_H + 0.01)
        self.lines_shown = max(MIN_SUMMARY_ROWS, min(self.max_summary_lines,
                                                     int(room / SUMMARY_LINE)))
        self.scroll = 0
        self.scroll_results(0)
        if not specs:
            return
        top = -0.065 - SUMMARY_LINE * self._shown_lines() - 0.02
        avail = h + top - 0.02
        ph = avail / len(specs) - 0.01
        for i, spec in enumerate(specs):
            pos = (self._res_x, top - i * (ph + 0.01))
            self._plots.append(plot_from_spec(spec, parent=self, position=pos,
                                              size=(w - self._res_x - 0.02, ph)))
            self._plots[-1].z = -0.01

    def _shown_lines(self) -> int:
        return min(len(self._summary_lines), self.lines_shown) or 1

    def scroll_results(self, step: int) -> None:
        """Scroll the result lines by `step`; a last line says how many more are below."""
        lines, n = self._summary_lines, self._shown_lines()
        if len(lines) <= n:
            self.scroll = 0
            self._summary.text = "\n".join(lines)
            return
        room = n - 1  # the last row tells what is hidden
        self.scroll = min(max(self.scroll + step, 0), len(lines) - room)
        shown = lines[self.scroll:self.scroll + room]
        below = len(lines) - self.scroll - room
        more = f"\u2026 {below} more lines: scroll down" if below else "\u2026 scroll up"
        self._summary.text = "\n".join(shown + [more])


def verdict_ok(result) -> bool:
    """False for a result that says it is unstable (a `stable` field that is False): shown in
    the warning colour, not beside a plain "done"."""
    return getattr(result, "stable", True) is not False


class ToolMenu(Entity):
    """A list of every discovered tool; clicking one opens its ToolPanel (one at a time)."""

    def __init__(self, scene=None, position=(-0.87, 0.44), size=(0.42, 0.0), parent=None,
                 panel_position=(-0.42, 0.44), panel_size=(1.28, 0.88), on_open=None):
        super().__init__(parent=parent if parent is not None else camera.ui,
                         position=(position[0], position[1], 0))
        self.scene, self.on_open = scene, on_open
        self.panel_position, self.panel_size = panel_position, panel_size
        self.tools = T.discover()
        self.panel: ToolPanel | None = None
        self._panel_parent = parent if parent is not None else camera.ui
        w = size[0]
        row = 0.044
        self.height = h = size[1] or 0.058 + row * len(self.tools)
        W.box(self, (0, 0), (w, h), W.PANEL, z=0.02)
        W.label("tools", self, (0.02, -0.008), W.TEXT_L, W.ACCENT)
        self.buttons = {}
        for i, name in enumerate(self.tools):
            self.buttons[name] = W.button(name, self, (0.02, -0.05 - i * row), (w - 0.04, 0.038),
                                          on_click=lambda n=name: self.open(n))

    def open(self, name: str) -> ToolPanel:
        self.close()
        self.panel = ToolPanel(self.tools[name], scene=self.scene, position=self.panel_position,
                               size=self.panel_size, parent=self._panel_parent,
                               on_close=self.close)
        for n, b in self.buttons.items():
            b.color = W.ACCENT.tint(-0.45) if n == name else W.BUTTON
        if self.on_open:
            self.on_open(self.panel)
        return self.panel

    def close(self) -> None:
        if self.panel is not None:
            if self.panel.scene is not None:
                self.scene = self.panel.scene  # reuse a scene the panel loaded
            destroy(self.panel)
            self.panel = None
            for b in self.buttons.values():
                b.color = W.BUTTON
