"""The server without a browser: read-only by construction, viewers' junk counted and ignored,
bad HTTP answered 4xx, the token, and the fan-out dropping a viewer that cannot keep up while
the others get every frame."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading
import urllib.error
import urllib.request

import aiohttp
import pytest

from tests.test_architecture import MODULES, imported_names, room
from twin3d.web import frames


class WsReader:
    """A well-behaved viewer in a thread of its own: counts what it receives; may send junk."""

    def __init__(self, url: str):
        self.url = url.replace("http://", "ws://").split("?")[0] + "ws" + \
            ("?" + url.split("?")[1] if "?" in url else "")
        self.binary, self.text, self.closed = 0, 0, False
        self.big = 0  # frames of the fan-out test (marked by their size)
        self.loop = asyncio.new_event_loop()
        self.ws = None
        self.ready = threading.Event()
        self.error = None
        threading.Thread(target=self.loop.run_until_complete, args=(self._run(),),
                         daemon=True).start()
        assert self.ready.wait(20), self.error

    async def _run(self):
        try:
            async with aiohttp.ClientSession() as s, s.ws_connect(self.url, max_msg_size=0) as ws:
                self.ws = ws
                self.ready.set()
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.BINARY:
                        self.binary += 1
                        self.big += len(msg.data) > 10_000
                    elif msg.type == aiohttp.WSMsgType.TEXT:
                        self.text += 1
        except Exception as e:  # noqa: BLE001  (reported by the test)
            self.error = e
            self.ready.set()
        self.closed = True

    def send(self, data: bytes | str) -> None:
        send = self.ws.send_bytes if isinstance(data, bytes) else self.ws.send_str
        asyncio.run_coroutine_threadsafe(send(data), self.loop).result(10)

    def close(self) -> None:
        if self.ws is not None and not self.closed:
            asyncio.run_coroutine_threadsafe(self.ws.close(), self.loop).result(10)


def _raw(port: int, request: bytes, rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.sendall(request)
    return s


def _status_line(port: int, request: bytes) -> int:
    with _raw(port, request) as s:
        s.settimeout(10)
        head = s.recv(4096)
    return int(head.split()[1])


# --- read-only by construction ---------------------------------------------------------------

def test_the_web_room_imports_no_command_path():
    web = {n: src for n, src in MODULES.items() if room(n) == "web"}
    assert len(web) >= 7
    for name, src in web.items():
        for imp in imported_names(name, src, MODULES):
            assert room(imp) not in ("protocol", "rig", "view", "tools"), f"{name} imports {imp}"
        # the live feed is only ever built without its command path
        if "LiveFeed(" in src:
            assert src.count("LiveFeed(") == src.count("commands=False)"), name
        assert ".publish(" not in src.replace("hub.publish(", "").replace("self.publish(", ""), \
            name


def test_every_route_is_a_get(sim_service):
    from twin3d.web.server import make_app

    app = make_app(sim_service.hub, sim_service.site)
    methods = {r.method for r in app.router.routes()}
    assert methods <= {"GET", "HEAD"}, methods
    assert sim_service.feed.commander is None  # the feed was built without a command path


def test_junk_from_viewers_is_counted_ignored_and_never_reaches_the_source(sim_service,
                                                                            wait_for,
                                                                            get_json):
    source = sim_service.feed.ingest
    bus = source.rig.bus
    spy = bus.link(client_id="spy").start()  # sees everything anyone publishes to the rig
    spy.subscribe("twin3d/#")
    spy.drain()
    published_before = source.link.counters.published
    before = get_json(sim_service.url + "status.json")["viewer_messages_ignored"]
    junk, calm = WsReader(sim_service.url), WsReader(sim_service.url)
    cmd = '{"op": "set_speed", "args": {"rpm": 400}, "id": "x", "user": "web"}'
    for payload in (cmd, b"\x00\xff" * 100, "estop"):
        junk.send(payload)
    assert wait_for(lambda: get_json(sim_service.url + "status.json")[
        "viewer_messages_ignored"] >= before + 3)
    junk.send(os.urandom(10_000))  # over the 4 KiB limit: the server closes that socket
    assert wait_for(lambda: junk.closed)
    st = get_json(sim_service.url + "status.json")
    assert st["viewer_messages_ignored"] >= before + 4
    # the calm viewer still gets frames; the server still serves
    n = calm.binary
    assert wait_for(lambda: calm.binary > n + 5)
    calm.close()
    # nothing reached the rig: the twin's link published nothing, no command on the bus
    assert source.link.counters.published == published_before == 0
    seen = [m.topic for m in spy.drain()]
    assert seen and not any("/cmd" in t or "/heartbeat" in t for t in seen), set(seen)
    assert abs(get_json(sim_service.url + "status.json")["source_counters"]["blocks"]) > 0
    spy.stop()


# --- bad HTTP ----------------------------------------------------------------------------------

def test_oversized_and_malformed_requests_get_a_4xx(sim_service, get_json):
    port = sim_service.server.port
    long_line = b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    big_header = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20_000 + b"\r\n\r\n"
    garbage = b"\x16\x03\x01\x02\x00junk that is no HTTP\r\n\r\n"
    body = b"POST /status.json HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + \
        b"z" * 65536
    for req in (long_line, big_header, garbage, body):
        code = _status_line(port, req)
        assert 400 <= code < 500, (req[:40], code)
    assert _status_line(port, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n") == 404
    assert get_json(sim_service.url + "status.json")["source_status"] == "ok"


def test_status_page_html_and_json(sim_service, get_json):
    st = get_json(sim_service.url + "status.json")
    for key in ("viewers", "frames_sent", "frames_dropped", "viewers_dropped",
                "viewer_messages_ignored", "frames_published"):
        assert isinstance(st[key], int)
    assert st["frames_published"] > 0
    html = urllib.request.urlopen(sim_service.url + "status").read().decode()
    assert "frames_dropped" in html and "viewers" in html


# --- the token and the fan-out, on a server of their own (no source: frames from the test) ---

@pytest.fixture
def bare_server(scene):
    from twin3d.web.fanout import Hub
    from twin3d.web.scene_info import scene_info
    from twin3d.web.server import Site, WebServer

    made = []

    def make(token=None, queue_frames=4, drop_after_s=0.3):
        srv = WebServer(Hub(queue_frames, drop_after_s), Site(scene_info(scene), None, token))
        made.append(srv.start())
        return srv

    yield make
    for srv in made:
        srv.stop()


def test_a_token_guards_the_page_the_stream_and_the_status(bare_server):
    srv = bare_server(token="s3cret-token")
    for path in ("", "scene.json", "status.json", "ws"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(srv.url + path)
        assert e.value.code == 403
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(srv.url + path + "?token=wrong-token")
    assert b"twin3d" in urllib.request.urlopen(srv.url + "?token=s3cret-token").read()
    # the page's code is not secret, and the page passes the token on
    assert urllib.request.urlopen(srv.url + "static/app.js").status == 200
    ok = WsReader(srv.url + "?token=s3cret-token")
    ok.close()
    assert srv.hub.counters.refused >= 8


def test_a_slow_viewer_is_dropped_while_the_others_get_every_frame(bare_server, wait_for):
    srv = bare_server(queue_frames=4, drop_after_s=0.3)
    good = [WsReader(srv.url) for _ in range(2)]
    key = base64.b64encode(os.urandom(16))
    slow = _raw(srv.port, b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
                + key + b"\r\n\r\n", rcvbuf=4096)  # reads its handshake answer, then nothing
    assert wait_for(lambda: srv.hub.counters.viewers == 3)
    frame = frames.encode(0, 0.0, [0.0] * 3, 0.0, 0.0, 0.0)  # a real frame, padded big
    big = frame + b"\0" * (128 * 1024)
    sent = 0
    while srv.hub.counters.viewers_dropped == 0 and sent < 3000:
        srv.publish(big)
        sent += 1
        # lock-step with the good viewers: they never fall behind by construction, so any
        # frame dropped is the slow viewer's
        assert wait_for(lambda: all(g.big >= sent for g in good), timeout=20), \
            [g.big for g in good]
    c = srv.hub.counters
    assert c.viewers_dropped == 1 and c.frames_dropped > 0
    assert wait_for(lambda: srv.hub.counters.viewers == 2)
    # the good viewers keep getting frames after the drop
    for _ in range(5):
        srv.publish(big)
        sent += 1
        assert wait_for(lambda: all(g.big == sent for g in good))
    assert all(not g.closed for g in good)
    slow.settimeout(10)  # the server aborted the slow viewer's connection: it ends
    try:
        while slow.recv(65536):
            pass
    except ConnectionResetError:
        pass
    slow.close()
    for g in good:
        g.close()
