"""`twin3d serve`: the browser view. One subscription to a source, any number of browsers
(twin3d.web); read-only. Bad input (a source URL it cannot open or reach, a port in use, a mesh
file it cannot serve) is one line and exit 2."""

from __future__ import annotations

import errno
import ipaddress
import sys
import time

from twin3d.cli.common import UsageError, emit, number

WAIT_BROKER_S = 5.0


def _bind_address(text: str) -> str:
    import argparse

    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        if text == "localhost":
            return "127.0.0.1"
        raise argparse.ArgumentTypeError(f"not an IP address (got {text!r}; e.g. 127.0.0.1, "
                                         "0.0.0.0 for every interface)") from None


def _token(text: str) -> str:
    import argparse
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.~-]{8,128}", text):
        raise argparse.ArgumentTypeError("must be 8..128 of letters, digits, _ . ~ - "
                                         "(it travels in the page's URL)")
    return text


def _page_url(bind: str, port: int, token: str | None) -> str:
    """The URL to open (and to put in the kiosk's QR code): for a wildcard bind, this host's
    name on the LAN."""
    host = bind
    if ipaddress.ip_address(bind).is_unspecified:
        import socket

        # the address this host would use towards the LAN (a UDP "connect" sends nothing);
        # phones rarely resolve a host name
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect(("10.255.255.255", 1))
                host = s.getsockname()[0]
            except OSError:
                host = socket.gethostname()
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}/" + (f"?token={token}" if token else "")


def cmd_serve(args) -> int:
    from twin3d.scenefile.profiles import load_user_scene
    from twin3d.web.rig_asset import MeshFileError
    from twin3d.web.service import WebService, shown

    scene = load_user_scene(args.scene)
    if args.profile is not None:
        scene.model(args.profile)  # an unknown one: SchemaError naming the known (exit 2)
    try:
        service = WebService(args.source, scene, bind=args.bind, port=args.port,
                             rate_hz=args.rate, token=args.token, profile=args.profile)
    except MeshFileError as e:
        raise UsageError(f"twin3d serve: mesh file: {e}") from None
    except (ValueError, FileNotFoundError) as e:
        raise UsageError(f"twin3d serve: --source: {e}") from None
    from twin3d.io.mqtt_link import MqttLink

    link = getattr(service.feed.ingest, "link", None)
    if isinstance(link, MqttLink):  # a broker: is it there at all?
        link.start()
        if not link.wait_connected(WAIT_BROKER_S):
            err = link.last_error or "no answer"
            link.stop()
            raise UsageError(f"twin3d serve: --source: no connection to the broker for "
                             f"{shown(args.source)} ({err})")
    try:
        service.start()
    except OSError as e:
        service.feed.close()
        why = "port in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
        raise UsageError(f"twin3d serve: cannot listen on {args.bind}:{args.port} ({why})") \
            from None
    url = _page_url(args.bind, service.server.port, args.token)
    out = {"url": url, "status": url.split("?")[0] + "status.json", "source": shown(args.source),
           "bind": args.bind, "port": service.server.port}
    if args.json:
        emit(out)
    else:
        print(f"twin3d serve: {shown(args.source)} at {url} (status: {out['status']}); "
              f"QR code on the kiosk: TWIN3D_WEB_URL={url} twin3d demo --kiosk")
    sys.stdout.flush()
    end = time.monotonic() + args.seconds if args.seconds else float("inf")
    try:
        while time.monotonic() < end:
            time.sleep(min(0.5, max(end - time.monotonic(), 0.0)))
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
    return 0


def register(add) -> None:
    s = add("serve", cmd_serve, "the live twin in any browser: a read-only 3D view of one "
            "source for many viewers (three.js page, WebSocket, /status)")
    s.add_argument("--source", required=True,
                   help="sim, mqtt://HOST:PORT[/RIG], serial:///dev/ttyX, replay:PATH[?speed=X]")
    s.add_argument("--bind", type=_bind_address, default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for the LAN)")
    s.add_argument("--port", type=number(0, 65535, integer=True), default=8080,
                   help="TCP port (0: any free one)")
    s.add_argument("--profile", help="saved model profile for the model frequencies and modes")
    s.add_argument("--token", type=_token, help="viewers need ?token=T in the page's URL")
    s.add_argument("--rate", type=number(1.0, 60.0), default=30.0,
                   help="frames per second sent to the browsers (1..60)")
    s.add_argument("--seconds", type=number(0, 365 * 86400.0, lo_open=True), default=None,
                   help="stop after S s (default: Ctrl-C)")
