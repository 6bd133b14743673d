"""`twin3d serve` put together: the source opened once, its feed (read-only), the fan-out, the
web server and the pump between them. The CLI, the tests and the benchmark start it the same
way: `WebService(source, scene, ...).start()` ... `.stop()`."""

from __future__ import annotations

from twin3d import paths
from twin3d.live.live_feed import LiveFeed
from twin3d.live.sources import open_source
from twin3d.scenefile.records import Scene
from twin3d.web.fanout import Hub
from twin3d.web.pump import Pump
from twin3d.web.rig_asset import rig_asset
from twin3d.web.scene_info import plot_channels, scene_info
from twin3d.web.server import Site, WebServer


def shown(url: str) -> str:
    """A source URL as the page and /status show it: never with a password."""
    from twin3d.io.mqtt_link import redact_url

    return redact_url(url)


class WebService:
    """Raises ValueError/FileNotFoundError for a source it cannot open, MeshFileError for a
    mesh it cannot serve (both before anything starts), OSError from start() when the port
    cannot be bound."""

    def __init__(self, source: str, scene: Scene, *, bind: str = "127.0.0.1", port: int = 0,
                 rate_hz: float = 30.0, token: str | None = None, profile: str | None = None,
                 queue_frames: int | None = None, drop_after_s: float | None = None):
        self.scene = scene
        rig = rig_asset(scene, paths.ASSETS)
        ingest = open_source(source, scene)
        # commands=False: no commander, so nothing on this side can write to the rig
        self.feed = LiveFeed(ingest, scene, profile=profile, start=False, commands=False)
        hub_args = {k: v for k, v in (("queue_frames", queue_frames),
                                      ("drop_after_s", drop_after_s)) if v is not None}
        self.hub = Hub(**hub_args)
        info = scene_info(scene, profile, shown(source))
        self.site = Site(info, rig, token=token, source=shown(source),
                         status_extra=self._status)
        self.server = WebServer(self.hub, self.site, bind, port)
        self.rate_hz = rate_hz
        self.pump: Pump | None = None

    def _status(self) -> dict:
        ing = self.feed.ingest
        pump = self.pump
        return {"source_status": ing.status, "estimator": self.feed.mode,
                "source_counters": dict(ing.counters), "display_rate_hz": self.rate_hz,
                "frames_encoded": pump.seq if pump else 0,
                "encode_cpu_s": round(pump.encode_s, 4) if pump else 0.0,
                "source_t": round(self.feed.t, 3),
                "last_error": (pump.error if pump else "") or ing.last_error or ""}

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> WebService:
        self.server.start()  # binds first: a port in use fails before the source starts
        self.feed.ingest.start()
        self.pump = Pump(self.feed, self.hub.publish, self.server.loop, self.rate_hz,
                         plot_channels(self.scene)).start()
        return self

    def stop(self) -> None:
        if self.pump is not None:
            self.pump.stop()
        self.server.stop()
        self.feed.close()
