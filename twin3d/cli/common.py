"""What every command group shares: the one-line usage error (exit 2), the JSON printer, the
scene window options and the broker client options."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np


class UsageError(Exception):
    """Bad input from the command line: one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise UsageError(f"{self.prog}: {message}")


def _jsonable(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def emit(obj: dict) -> None:
    print(json.dumps(obj, default=_jsonable))


def resolve_window(choice: str) -> str:
    """`auto`: onscreen where there is a display, else headless (no window)."""
    if choice != "auto":
        return choice
    return "onscreen" if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") else "none"


def scene_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--window", choices=("auto", "onscreen", "offscreen", "none"),
                    default="auto", help="auto: onscreen with a display, else none")
    sp.add_argument("--frames", type=int, help="run N frames and exit (offscreen default 300)")
    sp.add_argument("--screenshot", type=Path, help="PNG of the last frame")
    sp.add_argument("--size", type=window_size, default=(1280, 720), help="WxH pixels")
    sp.add_argument("--fullscreen", action="store_true")
    sp.add_argument("--kiosk", action="store_true",
                    help="full screen, self-running tour with captions, no mouse needed")


def check_scene_options(args, command: str) -> str:
    window = resolve_window(args.window)
    if args.frames is not None and args.frames < 1:
        raise UsageError(f"twin3d {command}: --frames out of range (got {args.frames}, "
                         "allowed >= 1)")
    if window == "none" and (args.screenshot or args.kiosk):
        raise UsageError(f"twin3d {command}: --screenshot/--kiosk need a window (got --window "
                         f"{args.window} on a machine without a display; use --window offscreen)")
    return window


def window_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WxH, got {text!r}") from None
    if not (64 <= w <= 7680 and 64 <= h <= 4320):
        raise argparse.ArgumentTypeError(f"size out of range (got {text}, allowed 64x64..7680x4320)")
    return w, h


def credentials(text: str | None, what: str) -> tuple[str | None, str | None]:
    if text is None:
        text = os.environ.get("TWIN3D_MQTT_AUTH")
    if not text:
        return None, None
    user, colon, password = text.partition(":")
    if not colon or not user:
        raise UsageError(f"twin3d: {what} must be user:password (got {text.split(':')[0]!r}:...)")
    return user, password


def tls_options(ca: str | None):
    if ca is None:
        return None
    from twin3d.io.mqtt_link import Tls

    if not Path(ca).is_file():
        raise UsageError(f"twin3d: --tls-ca: no such file (got {ca!r})")
    return Tls(ca_certs=ca)


def hostport(text: str, flag: str) -> tuple[str, int]:
    from twin3d.io.mqtt_link import parse_hostport

    try:
        return parse_hostport(text)
    except ValueError as e:
        raise UsageError(f"twin3d: {flag}: {e}") from None
