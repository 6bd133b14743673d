"""Start Ursina for a given window mode, with the measured fixes for offscreen rendering.

Must run before `ursina` is imported anywhere (panda3d reads its configuration at import).
Offscreen uses EGL (no X needed). Two fixes from notes/HEADLESS.md: entities without a shader
fall back to fixed-function (panda3d's Cg auto-shader fails under EGL and the process then
aborts at exit), and the UI lens is sized by hand (an offscreen buffer never sends
aspectRatioChanged, so camera.ui content would be invisible).
"""

from __future__ import annotations

import os
from pathlib import Path
from twin3d import paths

ASSETS = paths.ASSETS
BACKGROUND = (0.07, 0.08, 0.10, 1)  # the window's clear colour (the shaded floor fades to it)
_app = None


def start(window: str = "offscreen", size: tuple[int, int] = (1280, 720),
          fullscreen: bool = False, display: int | None = None):
    """The Ursina app (a per-process singleton), configured for `window` (onscreen: on
    screen number `display`, view/screens.py)."""
    global _app
    if _app is not None:
        return _app
    from panda3d.core import loadPrcFileData

    lines = ["audio-library-name null", "sync-video false", f"win-size {size[0]} {size[1]}",
             "notify-level-device fatal", "notify-level-glgsg fatal", "model-cache-dir",
             "framebuffer-multisample 1", "multisamples 4", "notify-level-display fatal"]
    if window == "offscreen":
        os.environ.setdefault("EGL_PLATFORM", "surfaceless")
        lines += ["window-type offscreen", "load-display p3headlessgl"]
    for line in lines:
        loadPrcFileData("", line)
    from ursina import Entity, Ursina, application, window as win

    application.asset_folder = ASSETS
    application.compressed_models_folder = ASSETS / "models_compressed"
    if window == "offscreen":
        Entity.setShaderAuto = lambda self, *a, **k: self.setShaderOff()
    _keep_the_font_pages()
    _app = Ursina(window_type=window, size=size, borderless=False, fullscreen=fullscreen,
                  development_mode=False, editor_ui_enabled=False)
    if window != "none":
        win.update_aspect_ratio()
        if hasattr(win, "editor_ui") and win.editor_ui:
            win.editor_ui.enabled = False
        win.color = BACKGROUND
    if window == "onscreen" and display is not None:
        from twin3d.view import screens

        screens.place(win, screens.pick(display, win.monitors), fullscreen, size)
    from panda3d.core import ClockObject

    clock = ClockObject.getGlobalClock()
    clock.setMode(ClockObject.MNonRealTime if window != "onscreen" else ClockObject.MNormal)
    clock.setFrameRate(60)
    if window == "offscreen":
        _bound_the_frame_queue(_app)
    return _app


def _keep_the_font_pages() -> None:
    """Ursina's Text clears the shared font (every glyph page) each time a Text is made, only to
    set the pixel size it already has: each label or button made rasterised its glyphs into a
    new page texture, which stayed prepared on the GPU after it was destroyed. Every Text
    (labels, buttons, the 3D signs) now sets the size only when it differs."""
    import builtins

    from ursina import Text

    def set_font(text, value) -> None:
        font = builtins.loader.loadFont(value)
        if font:
            text._font = font
            font.setLineHeight(text.line_height)
            if text.text:
                text.text = text.raw_text

    def set_resolution(text, value: float) -> None:
        if text._font.getPixelsPerUnit() != value:
            text._font.clear()  # panda3d changes a font's pixel size only while it has no glyphs
            text._font.setPixelsPerUnit(value)

    Text.font = property(lambda text: text._font, set_font)
    Text.resolution = property(lambda text: text._font.getPixelsPerUnit(), set_resolution)


SOFTWARE_GL = ("llvmpipe", "softpipe", "swrast", "software")  # renderer names of CPU rasterisers


def renderer() -> str:
    """The GL vendor and renderer of the started app ("" before a window exists)."""
    win = getattr(_app, "win", None) if _app is not None else None
    if win is None or win.get_gsg() is None:
        return ""
    gsg = win.get_gsg()
    return f"{gsg.get_driver_vendor()} {gsg.get_driver_renderer()}".strip()


def software_gl() -> bool:
    """Whether frames are rasterised on the CPU (llvmpipe): costs there are not a GPU's."""
    return any(name in renderer().lower() for name in SOFTWARE_GL)


# Offscreen there is no buffer swap to wait on, and software GL (llvmpipe) queues frame after
# frame, then stalls while it renders them: frames of 1.6-2.4 s every ~18 frames in the demo at
# 1920x1080, long enough for the rig's 2 s watchdog to lapse the command lease (heartbeats go
# out from the frame loop). Reading the frame back every other frame waits for the queue: the
# longest of 290 demo frames fell from 2.4 s to 0.53 s, the mean rose from 0.136 to 0.176 s (the
# queued frames' work now falls inside the run), and heartbeats went out 128 times, not 47.
OFFSCREEN_SYNC_EVERY = 2


def _bound_the_frame_queue(app) -> None:
    def sync(task):
        if task.frame % OFFSCREEN_SYNC_EVERY == OFFSCREEN_SYNC_EVERY - 1 and app.win is not None:
            app.win.get_screenshot()  # waits until the frame is rendered
        return task.cont

    app.taskMgr.add(sync, "twin3d_offscreen_sync", sort=55)  # after the frame (sort 50)


def screenshot(path: Path | str) -> Path:
    from panda3d.core import Filename

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _app.win.saveScreenshot(Filename.fromOsSpecific(str(path)))
    return path


def pixels():
    """The last frame as an (H, W, 3) uint8 array, top row first."""
    import numpy as np

    tex = _app.win.getScreenshot()
    img = np.frombuffer(tex.getRamImageAs("RGB"), np.uint8)
    return np.flipud(img.reshape(tex.getYSize(), tex.getXSize(), 3))
