"""The web server of `twin3d serve` (aiohttp: HTTP, WebSocket and the load test's clients in one
well-kept asyncio library). Every route is a GET: the page and its files, the rig's GLB and
its sway sidecar, the scene facts, /status (HTML and JSON) and the /ws stream. There is no
route that accepts data and no handler that writes to the source: read-only by construction.

Requests are bounded (aiohttp's limits: request line and header fields 8 KiB, no bodies are
read, 4 KiB at most per WebSocket message, which is then ignored); anything else gets a 4xx.
With a viewer token, every route but the page's static code wants `?token=`.
"""

from __future__ import annotations

import asyncio
import gzip
import hmac
import html
import json
import mimetypes
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web

from twin3d.web.fanout import Hub
from twin3d.web.rig_asset import RigAsset

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 4096  # no route reads a body; aiohttp answers 413 beyond this if one ever did
MAX_WS_MESSAGE = 4096
SNDBUF = 32 * 1024  # per viewer socket: bounds what a stuck viewer holds (and its lag)


@dataclass
class Site:
    """What the server serves besides the stream."""

    scene: dict  # scene_info()
    rig: RigAsset | None
    token: str | None = None
    source: str = ""
    started: float = field(default_factory=time.time)
    status_extra: object = None  # () -> dict: the pump's and the source's figures


def _static_files() -> dict[str, tuple[bytes, bytes, str]]:
    """path under static/ -> (bytes, gzip bytes, content type): read and compressed once."""
    out = {}
    for p in STATIC.rglob("*"):
        if p.is_file() and (p.suffix in (".js", ".html", ".css", ".md") or p.name == "LICENSE"):
            data = p.read_bytes()
            ctype = mimetypes.guess_type(p.name)[0] or "text/plain"
            if p.suffix == ".js":
                ctype = "text/javascript"
            out[p.relative_to(STATIC).as_posix()] = (data, gzip.compress(data, 6), ctype)
    return out


def make_app(hub: Hub, site: Site) -> web.Application:
    files = _static_files()

    @web.middleware
    async def guard(request: web.Request, handler):
        if site.token and not request.path.startswith("/static/"):
            given = request.query.get("token", "")
            if not hmac.compare_digest(given.encode(), site.token.encode()):
                hub.counters.refused += 1
                raise web.HTTPForbidden(text="twin3d: this view needs ?token=...\n")
        return await handler(request)

    def _file(request: web.Request, rel: str) -> web.Response:
        if rel not in files:
            raise web.HTTPNotFound()
        data, packed, ctype = files[rel]
        headers = {"Cache-Control": "no-cache" if rel.endswith(".html") else "max-age=3600"}
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            data = packed
        return web.Response(body=data, content_type=ctype, headers=headers)

    async def index(request):
        return _file(request, "index.html")

    async def static(request):
        return _file(request, request.match_info["path"])

    async def scene_json(request):
        return web.json_response(site.scene)

    async def rig_glb(request):
        if site.rig is None:
            raise web.HTTPNotFound()
        return web.Response(body=site.rig.glb, content_type="model/gltf-binary")

    async def rig_sway(request):
        if site.rig is None:
            raise web.HTTPNotFound()
        return web.json_response(site.rig.sway)

    def status_dict() -> dict:
        extra = site.status_extra() if site.status_extra else {}
        return {"source": site.source, "uptime_s": round(time.time() - site.started, 1),
                **hub.status(), **extra}

    async def status_json(request):
        return web.json_response(status_dict())

    async def status_html(request):
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v))}"
                       f"</td></tr>" for k, v in status_dict().items())
        return web.Response(text=f"<!doctype html><meta charset=utf-8><meta http-equiv=refresh "
                                 f"content=2><title>twin3d serve: status</title><h1>twin3d serve"
                                 f"</h1><table>{rows}</table>", content_type="text/html")

    async def no_icon(request):
        return web.Response(status=204)

    async def stream(request):
        ws = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE, heartbeat=10.0, compress=False)
        await ws.prepare(request)
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
            except OSError:
                pass
        if transport is None or transport.is_closing():
            return ws
        viewer = hub.add(transport, request.remote or "")
        try:
            async for msg in ws:  # a viewer has nothing to say: counted, ignored
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.ERROR):
                    hub.counters.viewer_messages += 1
        finally:
            if ws.exception() is not None:  # e.g. a message over MAX_WS_MESSAGE (closed 1009)
                hub.counters.viewer_messages += 1
            hub.remove(viewer)
        return ws

    app = web.Application(client_max_size=MAX_BODY, middlewares=[guard])
    app.router.add_get("/", index)
    app.router.add_get("/static/{path:.+}", static)
    app.router.add_get("/scene.json", scene_json)
    app.router.add_get("/rig.glb", rig_glb)
    app.router.add_get("/rig/sway.json", rig_sway)
    app.router.add_get("/status", status_html)
    app.router.add_get("/status.json", status_json)
    app.router.add_get("/ws", stream)
    app.router.add_get("/favicon.ico", no_icon)
    return app


class WebServer:
    """The app on a loop of its own thread (tests, the benchmark and the CLI all use it).
    `start()` binds (OSError when the port is taken) and returns once listening."""

    def __init__(self, hub: Hub, site: Site, bind: str = "127.0.0.1", port: int = 0):
        self.hub, self.site, self.bind, self.port = hub, site, bind, port
        self.loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def start(self) -> WebServer:
        ready: dict = {}
        started = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self._open())
            except BaseException as e:  # noqa: BLE001  (handed to start()'s caller)
                ready["error"] = e
                started.set()
                return
            started.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="web server", daemon=True)
        self._thread.start()
        started.wait()
        if "error" in ready:
            raise ready["error"]
        return self

    async def _open(self) -> None:
        self._runner = web.AppRunner(make_app(self.hub, self.site), access_log=None,
                                     handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind, self.port, reuse_address=False)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"http://{host}:{self.port}/"

    def call(self, fn, *args) -> None:
        """Run fn(*args) on the server's loop (thread-safe)."""
        self.loop.call_soon_threadsafe(fn, *args)

    def publish(self, frame: bytes | str) -> None:
        self.call(self.hub.publish, frame)

    def stop(self) -> None:
        if self._thread is None:
            return

        async def close():
            if self._runner is not None:
                await self._runner.cleanup()

        try:
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        except Exception:  # noqa: BLE001  (stopping: nothing left to tell)
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self._thread = None
