"""`replay:FILE.uff?map=COL=ROLE,...[&fs=HZ][&speed=X]`: a measurement file (UFF 58, .mat, CSV,
NPZ, HDF5, Parquet) played as a live source without importing it first. Registered with the
replay scheme of `twin3d.io.replay_source` (io may not import this room);
`twin3d.live.sources` imports this module."""

from __future__ import annotations

from urllib.parse import unquote

from twin3d.formats.channel_map import ChannelMap
from twin3d.formats.read import TIMESERIES_SUFFIXES, read_timeseries
from twin3d.formats.recording import to_recording
from twin3d.io.replay_source import ReplaySource, register_replay_file
from twin3d.io.schemes import query_float


def scene_sensor_units(scene) -> dict[str, str]:
    """A scene's sensors as name -> unit (duck-typed: this room does not import the scene)."""
    return {name: s.unit for name, s in scene.data.sensors.items()}


def _query(url: str) -> dict[str, list[str]]:
    """The URL's query, split on & and the first =; unlike parse_qs a + stays a + (UFF
    channel names such as 3+X)."""
    out: dict[str, list[str]] = {}
    for part in url.partition("?")[2].split("&"):
        if part:
            k, _, v = part.partition("=")
            out.setdefault(unquote(k), []).append(unquote(v))
    return out


def open_replay_file(url: str, path: str, _parsed: dict, scene) -> ReplaySource:
    q = _query(url)
    unknown = sorted(set(q) - {"map", "fs", "speed"})
    if unknown:
        raise ValueError(f"source {url!r}: unknown option {unknown[0]!r} (map, fs, speed)")
    if "map" not in q:
        raise ValueError(f"source {url!r}: a file needs ?map=COL=ROLE,... (which column is "
                         "which sensor)")
    speed = query_float(q, "speed", 1.0, 0.0, 1000.0, url)
    fs = query_float(q, "fs", 0.0, 0.0, 1e6, url) or None
    cmap = ChannelMap.parse(q["map"][-1], source=url)
    if scene is not None:
        cmap.check_roles(scene_sensor_units(scene), scene.data.name, source=url)
    # FormatError (a ValueError) is the one clear line the caller shows
    rec = to_recording(read_timeseries(path, cmap, fs=fs), channel_map=str(cmap))
    return ReplaySource(url, path, speed, recording=rec)


register_replay_file([s for s in TIMESERIES_SUFFIXES if s not in (".txt",)], open_replay_file)
