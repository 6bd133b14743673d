"""What every command group shares: the one-line usage error (exit 2), the JSON printer, the
scene window options and the broker client options."""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

import numpy as np

from twin3d.io.mqtt_link import PASSWORD_ENV, RIG_ID, USER_ENV


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


def _finite(obj):
    """JSON has no Infinity or NaN: a non-finite number is printed as null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, (np.floating, np.integer)):
        return _finite(obj.item())
    return obj


def emit(obj: dict) -> None:
    """Exactly one strict JSON object on stdout."""
    print(json.dumps(_finite(obj), default=_jsonable, allow_nan=False))


# --- option types: argparse calls them, a ValueError/ArgumentTypeError becomes one line --------

def number(lo: float, hi: float, *, lo_open: bool = False, integer: bool = False):
    """An option type: a finite number in [lo, hi] ((lo, hi] with lo_open)."""
    def parse(text: str):
        try:
            v = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number (got {text!r})") from None
        ok = math.isfinite(v) and (lo < v if lo_open else lo <= v) and v <= hi
        if not ok:
            fmt = (lambda b: str(int(b))) if integer else (lambda b: f"{b:g}")
            lo_s = f"> {fmt(lo)}" if lo_open else f">= {fmt(lo)}"
            raise argparse.ArgumentTypeError(f"out of range (got {text}, allowed {lo_s} and "
                                             f"<= {fmt(hi)})")
        return v
    parse.__name__ = "number"
    return parse


def topic_level(text: str) -> str:
    """An option type for an MQTT topic level we build topics from (a rig id): one level,
    no wildcards (+ #), no slash, no control characters."""
    if not RIG_ID.match(text):
        raise argparse.ArgumentTypeError(f"must be 1..64 of letters, digits, _ . - (no / + # "
                                         f"or spaces; got {text!r})")
    return text


def new_folder(text: str) -> Path:
    """An option type for a folder to create or fill: not an existing file, and its parent a
    folder."""
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
    if not p.exists() and p.parent.exists() and not p.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{str(p.parent)!r} is not a folder")
    return p


def out_file(text: str) -> Path:
    """An option type for a file to write: not a folder, in a folder that exists."""
    p = Path(text)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    if not p.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no folder {str(p.parent)!r} to write {p.name!r} in")
    if str(p.resolve()).startswith(("/proc/", "/sys/", "/dev/")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a regular file location")
    return p


def resolve_window(choice: str) -> str:
    """`auto`: onscreen where there is a display, else headless (no window)."""
    if choice != "auto":
        return choice
    return "onscreen" if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") else "none"


def scene_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--window", choices=("auto", "onscreen", "offscreen", "none"),
                    default="auto", help="auto: onscreen with a display, else none")
    sp.add_argument("--frames", type=number(1, 10**7, integer=True),
                    help="run N frames and exit (offscreen default 300)")
    sp.add_argument("--screenshot", type=out_file, help="PNG of the last frame")
    sp.add_argument("--size", type=window_size, default=(1280, 720), help="WxH pixels")
    sp.add_argument("--fullscreen", action="store_true")
    sp.add_argument("--kiosk", action="store_true",
                    help="full screen, self-running tour with captions, no mouse needed")


def check_scene_options(args, command: str) -> str:
    window = resolve_window(args.window)
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




def read_password_file(path: str, what: str) -> str:
    """The first line of FILE (a password never travels on the command line, where
    /proc/PID/cmdline shows it to every user of the machine)."""
    try:
        with open(path, encoding="utf-8") as f:
            pw = f.readline().rstrip("\r\n")
    except OSError as e:
        raise UsageError(f"twin3d: {what}: cannot read {path!r} ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise UsageError(f"twin3d: {what}: {path!r} is not UTF-8 text") from None
    if not pw:
        raise UsageError(f"twin3d: {what}: {path!r} holds no password on its first line")
    return pw


def credentials(user: str | None, password_file: str | None = None,
                what: str = "--auth") -> tuple[str | None, str | None]:
    """(user, password) for the broker. The user comes from `--auth USER` (or env
    TWIN3D_MQTT_USER); the password from `--password-file FILE` or env TWIN3D_MQTT_PASSWORD,
    never from argv: a `user:password` on the command line is refused."""
    if user is not None and ":" in user:
        raise UsageError(f"twin3d: {what} takes a user name only (got {user.split(':')[0]!r}:...);"
                         f" pass the password with --password-file FILE or env {PASSWORD_ENV}")
    if user is None:
        user = os.environ.get(USER_ENV) or None
    if not user:
        if password_file:
            raise UsageError(f"twin3d: --password-file needs a user name ({what} USER)")
        return None, None
    if any(ord(ch) < 32 or ch in "+#/" for ch in user) or len(user) > 64:
        raise UsageError(f"twin3d: {what}: user name must be 1..64 characters, no / + # or "
                         f"control characters (got {user!r})")
    if password_file:
        return user, read_password_file(password_file, "--password-file")
    return user, os.environ.get(PASSWORD_ENV)


def mqtt_options(sp: argparse.ArgumentParser) -> None:
    """The broker client options every MQTT command shares (rig, cmd, replay --mqtt)."""
    sp.add_argument("--auth", metavar="USER",
                    help=f"broker user name (or env {USER_ENV}); the password comes from "
                         f"--password-file or env {PASSWORD_ENV}, never from the command line")
    sp.add_argument("--password-file", metavar="FILE",
                    help="file whose first line is the broker password")
    sp.add_argument("--tls-ca", help="CA certificate: connect with TLS")


def mqtt_client_args(args) -> dict:
    """username, password, tls for an MqttLink from the shared options."""
    user, password = credentials(args.auth, args.password_file)
    return {"username": user, "password": password, "tls": tls_options(args.tls_ca)}


def tls_options(ca: str | None):
    if ca is None:
        return None
    from twin3d.io.mqtt_link import Tls

    if not Path(ca).is_file():
        raise UsageError(f"twin3d: --tls-ca: no such file (got {ca!r})")
    return Tls(ca_certs=ca)


def hostports(text: str, flag: str) -> list[tuple[str, int]]:
    """`h1:p1,h2:p2,...`: the nodes of a broker cluster (one entry: a single broker)."""
    from twin3d.io.mqtt_link import parse_hostports

    try:
        return parse_hostports(text)
    except ValueError as e:
        raise UsageError(f"twin3d: {flag}: {e}") from None


def hostport(text: str, flag: str) -> tuple[str, int]:
    from twin3d.io.mqtt_link import parse_hostport

    try:
        return parse_hostport(text)
    except ValueError as e:
        raise UsageError(f"twin3d: {flag}: {e}") from None


def profile_option(sp: argparse.ArgumentParser) -> None:
    """--profile NAME: the model the live twin starts on (a scene profile or a saved one, such
    as a calibration); unknown names exit 2 listing the known ones."""
    sp.add_argument("--profile", default=None, metavar="NAME",
                    help="model profile to start on (the scene's or a saved one, e.g. a "
                         "calibration's); default: the scene's active profile")
