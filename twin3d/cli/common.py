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
    sp.add_argument("--display", type=number(0, 63, integer=True), metavar="N",
                    help="onscreen: the window on screen N (0 first; with --kiosk or "
                         "--fullscreen it covers that screen)")
    sp.add_argument("--xr", action="store_true",
                    help="the scene in an OpenXR headset (optional extra: pip install "
                         "'twin3d[xr]', and an OpenXR runtime)")
    stereo_options(sp)
    layout_report_option(sp)
    look_options(sp)


def look_options(sp: argparse.ArgumentParser) -> None:
    """--ghost and --colour: how the rig is drawn (view/materials.py LOOK)."""
    sp.add_argument("--ghost", action="store_true",
                    help="draw the undeformed structure faintly behind the moving one")
    sp.add_argument("--colour", choices=("drift", "displacement"), default="drift",
                    help="colour the legs by storey drift (default), or the whole frame by "
                         "its sway relative to the base")


def apply_look(args) -> None:
    """Hand --ghost and --colour to the scene before it is built (no Ursina import here)."""
    from twin3d.view.materials import LOOK

    LOOK.ghost, LOOK.colour = args.ghost, args.colour


def layout_report_option(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--layout-report", type=out_file, metavar="FILE.json",
                    help="write every text element's box, pixel height and layout region for "
                    "the last frame (needs a window: offscreen, or onscreen with --frames)")


def stereo_options(sp: argparse.ArgumentParser) -> None:
    """--stereo MODE and the screen geometry its eye separation comes from (view/stereo.py)."""
    from twin3d.view.stereo import MODES, Viewing

    sp.add_argument("--stereo", choices=MODES,
                    help="3D output: side-by-side or top-bottom (3D TVs, projectors, "
                         "powerwalls), anaglyph (red/cyan glasses)")
    for flag, lo, hi, field, what in (
            ("--screen-width", 0.1, 100.0, "screen_width_m", "width of the picture on the screen"),
            ("--viewing-distance", 0.3, 100.0, "viewing_distance_m", "viewer to screen"),
            ("--eye-separation", 0.04, 0.08, "eye_separation_m", "the viewer's eyes")):
        sp.add_argument(flag, type=number(lo, hi), metavar="M",
                        help=f"stereo: {what}, m (default {getattr(Viewing, field):g})")


def stereo_setup(args, command: str):
    """The StereoSetup the options ask for, or None; geometry without --stereo is refused."""
    given = {k: getattr(args, k) for k in ("screen_width", "viewing_distance", "eye_separation")
             if getattr(args, k, None) is not None}
    if args.stereo is None:
        if given:
            flag = "--" + next(iter(given)).replace("_", "-")
            raise UsageError(f"twin3d {command}: {flag} sets up stereo output: give --stereo "
                             f"MODE too")
        return None
    from twin3d.view.stereo import StereoSetup, Viewing

    return StereoSetup(args.stereo, Viewing(**{f"{k}_m": v for k, v in given.items()}))


def screen_output(args, command: str) -> dict:
    """run_scene's stereo, xr and display arguments from the checked options."""
    return {"stereo": stereo_setup(args, command), "xr": args.xr, "display": args.display}


def check_scene_options(args, command: str) -> str:
    window = resolve_window(args.window)
    if window == "none" and (args.screenshot or args.kiosk or args.layout_report):
        raise UsageError(f"twin3d {command}: --screenshot/--kiosk/--layout-report need a window "
                         f"(got --window {args.window} on a machine without a display; use "
                         "--window offscreen)")
    if args.layout_report and window == "onscreen" and args.frames is None:
        raise UsageError(f"twin3d {command}: --layout-report onscreen needs --frames N (the "
                         "report is of the last frame)")
    _check_screen_output(args, command, window)
    return window


def _check_screen_output(args, command: str, window: str) -> None:
    """--xr, --display and --stereo: each refused in one line where it cannot work."""
    if args.xr:
        from twin3d.view.xr import refusal

        if args.stereo:
            raise UsageError(f"twin3d {command}: --xr and --stereo: a headset is stereo "
                             f"already; give one of them")
        problem = refusal()
        if problem:
            raise UsageError(f"twin3d {command}: {problem}")
        if window != "onscreen":
            raise UsageError(f"twin3d {command}: --xr needs --window onscreen (got {window})")
    if args.display is not None:
        if window != "onscreen":
            raise UsageError(f"twin3d {command}: --display N picks the screen of an onscreen "
                             f"window (got --window {window})")
        from twin3d.view import screens

        try:
            screens.pick(args.display, screens.monitors())
        except ValueError as e:
            raise UsageError(f"twin3d {command}: --display: {e}") from None
    if args.stereo and window == "none":
        raise UsageError(f"twin3d {command}: --stereo needs a window (got --window "
                         f"{args.window} on a machine without a display; use --window offscreen)")
    stereo_setup(args, command)


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
