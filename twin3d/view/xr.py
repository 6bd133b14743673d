"""`--xr`: the scene in an OpenXR headset through panda3d-openxr, an optional extra
(`pip install 'twin3d[xr]'`).

Two things must be there, and `refusal()` says in one line which one is not: the package
(module `p3dopenxr`) and an OpenXR runtime (Monado, SteamVR, the Oculus/Meta runtime, WMR).
The runtime is found where the OpenXR loader looks for it: env XR_RUNTIME_JSON, then
active_runtime.json under $XDG_CONFIG_HOME, $XDG_CONFIG_DIRS, /usr/local/etc and /etc
(Linux), or the ActiveRuntime registry value (Windows).

In the headset the structure stands on the lab floor in front of the viewer at its true size
(the lab rig is 0.6 m tall, so it is put on a 0.8 m table); the orbit camera, the stereo
options and the 2D overlay do not apply there (the window keeps the mono view).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

PACKAGE_MODULE = "p3dopenxr"
INSTALL_HINT = "pip install 'twin3d[xr]'"
_MANIFEST = Path("openxr") / "1" / "active_runtime.json"


def runtime_manifest(env: dict[str, str] | None = None, home: Path | None = None,
                     platform: str = sys.platform) -> str | None:
    """Where the OpenXR loader would find the active runtime, or None when it would not."""
    env = os.environ if env is None else env
    if env.get("XR_RUNTIME_JSON"):
        return env["XR_RUNTIME_JSON"] if Path(env["XR_RUNTIME_JSON"]).is_file() else None
    if platform.startswith("win"):
        return _windows_runtime()
    home = Path.home() if home is None else home
    folders = [Path(env.get("XDG_CONFIG_HOME") or home / ".config")]
    folders += [Path(p) for p in (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":") if p]
    folders += [Path("/usr/local/etc"), Path("/etc")]
    for folder in folders:
        if (folder / _MANIFEST).is_file():
            return str(folder / _MANIFEST)
    return None


def _windows_runtime() -> str | None:
    try:
        import winreg

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Khronos\OpenXR\1") as key:
            return str(winreg.QueryValueEx(key, "ActiveRuntime")[0]) or None
    except OSError:
        return None


def refusal(env: dict[str, str] | None = None, home: Path | None = None) -> str | None:
    """One line saying why a headset cannot be used here, or None when it can be tried."""
    if importlib.util.find_spec(PACKAGE_MODULE) is None:
        return (f"--xr needs panda3d-openxr, which is not installed ({INSTALL_HINT}), and an "
                "OpenXR runtime such as Monado or SteamVR")
    if runtime_manifest(env, home) is None:
        return ("--xr: no OpenXR runtime is installed (no XR_RUNTIME_JSON and no "
                "openxr/1/active_runtime.json in ~/.config, /etc/xdg or /etc): install and "
                "start one, such as Monado or SteamVR")
    return None


def start(app, table_height_m: float = 0.8):
    """Hand the rendering of `app`'s scene to the headset (after `refusal()` said None); the
    structure's base goes on a table in front of the viewer, 1 m away."""
    from p3dopenxr.p3dopenxr import P3DOpenXR
    from ursina import application, scene

    xr = P3DOpenXR(application.base)
    xr.init(near=0.05, far=200.0)
    # the tracking space's origin is the floor under the viewer; the rig stands ahead of them
    xr.tracking_space_anchor.reparent_to(scene)
    xr.tracking_space_anchor.set_pos(0, -table_height_m, 1.0)
    return xr
