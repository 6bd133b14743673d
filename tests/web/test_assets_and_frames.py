"""What the server sends besides pictures: the GLB as the project generates it with the desktop
scene's sway weights beside it, the binary frame, and the plot samples the pump picks."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from twin3d.scenefile.meshes import geometry_key, sway_weights
from twin3d.web import frames
from twin3d.web.rig_asset import MeshFileError, glb_positions, rig_asset


def test_glb_reader_agrees_with_trimesh_and_weights_with_the_desktop(scene, sim_service,
                                                                       get_json):
    from twin3d import paths

    path = paths.ASSETS / "generated" / f"rig-{geometry_key(scene.data.geometry)}.glb"
    glb = path.read_bytes()
    assert sim_service.site.rig.glb == glb  # served unchanged
    ours = dict(glb_positions(glb))
    loaded = trimesh.load(path, force="scene", process=False)
    assert set(ours) == set(loaded.graph.nodes_geometry)
    for name in loaded.graph.nodes_geometry:
        transform, geom = loaded.graph[name]
        v = trimesh.transformations.transform_points(loaded.geometry[geom].vertices, transform)
        assert np.allclose(ours[name], v, atol=1e-7), name  # same vertices, same order
    sway = get_json(sim_service.url + "rig/sway.json")
    legs = 0
    for node in sway["nodes"]:
        if node["role"] != "structure":
            assert "w1" not in node
            continue
        j0, j1, w1 = sway_weights(ours[node["name"]][:, 1].astype(float), scene.data.geometry)
        assert node["j0"] == j0.tolist() and node["j1"] == j1.tolist()
        assert node["w1"] == w1.tolist()  # exactly the desktop's weights
        legs += node["name"].startswith("leg") and 0 < min(w1) < 1 or max(w1) < 1
    assert legs >= 4
    roles = {n["name"]: n["role"] for n in sway["nodes"]}
    assert roles["table"] == "table" and roles["rotor"] == "rotor" and roles["base"] == "fixed"


def test_a_missing_user_mesh_is_one_clear_error(tmp_path):
    from twin3d import paths
    from twin3d.scenefile.records import SCENES_DIR, load_scene

    f = tmp_path / "s.toml"
    f.write_text((SCENES_DIR / "three_storey.toml").read_text()
                 + '\n[meshes.rotor]\nfile = "nowhere.stl"\n')
    with pytest.raises(MeshFileError, match="meshes.rotor.file: no such file .*nowhere.stl"):
        rig_asset(load_scene(f), paths.ASSETS)


def test_a_user_mesh_is_served_in_place_of_the_generated_part(tmp_path):
    from twin3d import paths
    from twin3d.scenefile.records import SCENES_DIR, load_scene

    trimesh.creation.box(extents=(0.3, 0.01, 0.2)).export(tmp_path / "table.stl")
    f = tmp_path / "s.toml"
    f.write_text((SCENES_DIR / "three_storey.toml").read_text()
                 + '\n[meshes.table]\nfile = "table.stl"\n')
    asset = rig_asset(load_scene(f), paths.ASSETS, tmp_path)
    names = [n["name"] for n in asset.sway["nodes"]]
    assert "user_table" in names and "table" not in names
    assert dict((n["name"], n["role"]) for n in asset.sway["nodes"])["user_table"] == "table"


def test_frame_round_trip_and_junk():
    plot = np.array([[0.1, -0.2, 300.0], [0.15, np.nan, 301.0]])
    data = frames.encode(7, 12.5, [1e-4, 2e-4, -3e-4], 5e-4, 1.25, 299.5, plot, 0.004,
                         12.498, t_wall=1000.25)
    f = frames.decode(data)
    assert (f.seq, f.t, f.t_wall) == (7, 12.5, 1000.25)
    assert np.allclose(f.floor_disp_m, [1e-4, 2e-4, -3e-4], rtol=1e-6)
    assert np.allclose(f.plot, plot, rtol=1e-6, equal_nan=True)
    assert f.speed_rpm == pytest.approx(299.5) and f.plot_dt_s == pytest.approx(0.004)
    assert f.plot_end_t == pytest.approx(12.498, abs=1e-6)
    assert len(data) == frames.HEADER.size + 4 * (3 + 6)
    assert frames.t_wall_of(data) == 1000.25
    for junk in (b"", b"T3W1", data[:-1], b"XXXX" + data[4:]):
        with pytest.raises(ValueError):
            frames.decode(junk)


def test_the_page_decodes_the_servers_frame(live_page):
    plot = np.array([[0.5, -0.25, 120.0]] * 3)
    data = frames.encode(3, 4.5, [0.001, 0.002, 0.003], -0.0005, 2.0, 118.0, plot, 0.004, 4.25)
    got = live_page.evaluate("""(bytes) => { const f = __twin.decodeFrame(
        new Uint8Array(bytes).buffer); return [f.seq, f.t, Array.from(f.floors), f.table,
        f.angle, f.rpm, f.np, Array.from(f.plot), f.plotEnd]; }""", list(data))
    assert got[:2] == [3, 4.5] and got[6] == 3
    assert np.allclose(got[2], [0.001, 0.002, 0.003]) and got[3] == pytest.approx(-0.0005)
    assert np.allclose(got[7], plot.ravel()) and got[8] == pytest.approx(4.25, abs=1e-6)


def test_the_pump_sends_each_sample_once_decimated(sim_service, wait_for):
    """Plot samples of consecutive frames continue each other at PLOT_RATE_HZ: none twice,
    no hole (the history is 1 kHz; one in four is sent)."""
    got = []

    def take(frame):
        if isinstance(frame, bytes):
            got.append(frames.decode(frame))

    hub = sim_service.hub
    old = hub.publish

    def both(frame):
        take(frame)
        old(frame)

    sim_service.pump.publish = both
    try:
        assert wait_for(lambda: len(got) > 20, timeout=20)
    finally:
        sim_service.pump.publish = old
    ts = []
    for f in got[1:]:
        ts += [f.plot_end_t - (len(f.plot) - 1 - i) * f.plot_dt_s for i in range(len(f.plot))]
    steps = np.diff(ts)
    dts = [f.plot_dt_s for f in got[1:] if len(f.plot)]
    assert len(dts) > 5 and np.allclose(dts, 0.004)
    assert np.allclose(steps, 0.004, atol=1e-6), steps[np.abs(steps - 0.004) > 1e-6][:5]


def test_every_page_file_ships_in_the_wheel():
    """pyproject's package-data globs cover every file the server serves from static/."""
    import fnmatch
    import tomllib

    from twin3d import paths
    from twin3d.web.server import STATIC

    cfg = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())
    globs = cfg["tool"]["setuptools"]["package-data"]["twin3d.web"]
    files = [p.relative_to(STATIC.parent).as_posix() for p in STATIC.rglob("*") if p.is_file()
             and "__pycache__" not in p.parts]
    assert len(files) >= 10
    missing = [f for f in files if not any(fnmatch.fnmatch(f, g) and f.count("/") == g.count("/")
                                           for g in globs)]
    assert missing == []
    lic = (STATIC / "vendor" / "three" / "LICENSE").read_text()
    assert "MIT" in lic and "three.js" in lic.lower()
    assert "0.176.0" in (STATIC / "vendor" / "three" / "SOURCE.md").read_text()


def test_scene_info_modes_of_a_free_base_move_the_base_as_the_desktop_draws_them():
    """/scene.json's mode shapes are those of the frame as loaded: on rails (a free base) the
    base is a DOF and moves in every mode, the first being the rigid-body motion at 0 Hz."""
    import json

    from twin3d.live.feeds import ModeFeed
    from twin3d.physics.shear_frame import solved_model
    from twin3d.physics.structure import modal_analysis
    from twin3d.scenefile.records import load_scene
    from twin3d.web.scene_info import scene_info

    scene = load_scene("los_alamos_frame")
    modes = json.loads(json.dumps(scene_info(scene), allow_nan=False))["modes"]  # strict JSON
    solved = solved_model(scene.model(), scene.loading())
    ref = modal_analysis(solved)  # base DOF first
    assert np.allclose(modes["frequencies_hz"], ref.frequencies_hz)
    assert modes["frequencies_hz"][0] == pytest.approx(0.0, abs=1e-6)
    assert modes["damping"][0] == 0.0  # a rigid-body mode has no damping ratio: drawn undamped
    masses = np.diag(solved.M)
    for k in range(len(modes["frequencies_hz"])):
        base, floors = modes["base"][k], np.array(modes["shapes"][k])
        absolute = np.r_[base, base + floors]
        phi = ref.shapes[:, k]
        assert np.allclose(absolute, phi / phi[np.argmax(np.abs(phi))])  # largest DOF +1
        if k:  # a flexible mode keeps the momentum at zero: the base moves against the floors
            assert masses @ absolute == pytest.approx(0.0, abs=1e-9 * masses.sum())
            assert abs(base) > 1e-3
        state = ModeFeed(scene, k + 1, amplitude_m=1e-3).step(0.0)  # what the desktop draws
        assert np.allclose(state.floor_disp_m, 1e-3 * floors)
        assert state.table_disp_m == pytest.approx(1e-3 * base)
