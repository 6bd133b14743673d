"""`twin3d render`: an offscreen picture of the scene at rest or in one of its mode shapes,
or (`--gif`) one animated cycle of a mode. Works with no display (EGL)."""

from __future__ import annotations

from pathlib import Path

from twin3d.live.feeds import ModeFeed
from twin3d.scenefile.records import Scene


def _app(scene: Scene, mode: int | None, size, slow: float, stereo=None):
    from twin3d.view.app import TwinApp

    feed = ModeFeed(scene, mode or 1, slow=slow, amplitude_m=1e-3 if mode else 0.0)
    caption = None if mode else f"{scene.data.name}: at rest"
    if not mode:  # the caption says it once; the line under it falls back to the scene's title
        feed.label = ""
    app = TwinApp(scene, feed, "offscreen", size, caption=caption, plots=False, panels=False)
    if stereo is not None:  # a StereoSetup (view/stereo.py)
        from twin3d.view.stereo import attach

        attach(app, stereo)
    return app, feed


def render(scene: Scene, out: Path, mode: int | None = None,
           size: tuple[int, int] = (1920, 1080), frames: int = 3, stereo=None,
           layout_report: Path | None = None) -> Path:
    """A still: mode K drawn at its largest displacement (a quarter cycle before phase 0 is
    avoided by holding the feed at t = 0, where cos = 1); with `layout_report`, the JSON of
    every text's box (twin3d.view.layout)."""
    app, feed = _app(scene, mode, size, slow=1e9, stereo=stereo)  # frozen at the peak
    if mode:
        feed.label = feed.label.rsplit(",", 1)[0] + ", shape at its peak"
    app.step(frames)
    shot = app.screenshot(out)
    if layout_report is not None:
        from twin3d.view import layout

        layout.write_report(layout_report)
    return shot


def render_gif(scene: Scene, out: Path, mode: int, size: tuple[int, int] = (960, 540),
               frames_per_cycle: int = 36, fps: int = 18, stereo=None) -> Path:
    """One cycle of mode K as an animated GIF (frames_per_cycle frames, played at fps)."""
    from PIL import Image

    from twin3d.view import engine

    app, feed = _app(scene, mode, size, slow=1.0, stereo=stereo)
    f = feed.frequency_hz
    # the app's offscreen clock advances 1/60 s per frame; choose the slow-motion factor so
    # that one cycle takes exactly frames_per_cycle frames, and say it in the caption
    feed.slow = f * frames_per_cycle / 60.0
    feed.label = feed.label.rsplit(",", 1)[0] + f", {f * frames_per_cycle / fps:.0f}x slower"
    app.step(2)
    images = []
    for _ in range(frames_per_cycle):
        app.step(1)
        images.append(Image.fromarray(engine.pixels()).convert("P", palette=Image.ADAPTIVE))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(out, save_all=True, append_images=images[1:], duration=int(1000 / fps),
                   loop=0, optimize=False)
    return out

