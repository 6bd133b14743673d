"""What the page needs once, computed here in Python and sent as `/scene.json`: the frame's
heights, the drift limit, the model's natural frequencies, its mode shapes (for "mode shapes on
demand"), and which sensors feed the two plots. The same facts the desktop scene takes from
the scene file (`view/app.py`, `live/feeds.py` ModeFeed)."""

from __future__ import annotations

from twin3d.live.feeds import mode_motions, rig_model_hz
from twin3d.scenefile.meshes import floor_heights
from twin3d.scenefile.records import Scene


def plot_channels(scene: Scene) -> dict[str, str | None]:
    """The sensors behind the plots: the top floor's and the table's accelerometer and the
    motor speed (None when the scene has no such sensor), as the desktop's LivePlots picks."""
    sensors = scene.data.sensors
    floors = [(s.floor, k) for k, s in sensors.items() if s.quantity == "floor_acceleration"]
    return {"floor_top": max(floors)[1] if floors else None,
            "table": next((k for k, s in sensors.items()
                           if s.quantity == "table_acceleration"), None),
            "speed": next((k for k, s in sensors.items() if s.quantity == "motor_speed"), None)}


def scene_info(scene: Scene, profile: str | None = None, source: str = "") -> dict:
    g = scene.data.geometry
    heights = floor_heights(g)
    top = float(heights[-1] + g.floor_size_m[2] / 2)
    # as ModeFeed draws them: on a base that is a DOF the base moves too (a free base's first
    # mode is its rigid-body motion at 0 Hz); the largest DOF +1, floors relative to the base
    motions = mode_motions(scene, profile)
    chans = plot_channels(scene)
    top_floor = max((s.floor for s in scene.data.sensors.values()
                     if s.quantity == "floor_acceleration"), default=scene.n_storeys)
    return {
        "title": f"twin3d  |  {scene.data.description}", "source": source,
        "n_storeys": scene.n_storeys, "floor_heights_m": [float(h) for h in heights],
        "height_m": top, "table_depth_m": float(g.table_size_m[0]),
        "drift_limit_m": float(scene.data.limits.drift_limit_m),
        "model_hz": [float(f) for f in rig_model_hz(scene, profile)],
        "modes": {"frequencies_hz": [m.frequency_hz for m in motions],
                  "damping": [m.damping for m in motions],
                  "base": [m.base for m in motions],
                  "shapes": [[float(v) for v in m.floors] for m in motions]},
        "plots": {"acceleration": [f"floor {top_floor}", "table"], "speed": "crank speed (rpm)",
                  "channels": chans},
        "magnify_target_m": 0.1 * top,  # as the desktop's Magnifier(target_m=0.1 * height)
    }
