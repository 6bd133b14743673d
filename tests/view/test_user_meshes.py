"""User meshes named in the scene file, and the generated meshes kept as GLB under assets."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import trimesh

from twin3d.scenefile.meshes import generated_parts, rig_parts, scene_parts
from twin3d.scenefile.records import SCENES_DIR, load_scene
from twin3d.scenefile.schema import SchemaError


def _scene_with(tmp_path, extra: str):
    text = (SCENES_DIR / "three_storey.toml").read_text() + "\n" + extra
    path = tmp_path / "scene.toml"
    path.write_text(text)
    return load_scene(path)


def test_generated_meshes_round_trip_through_the_glb_cache(tmp_path):
    g = load_scene().data.geometry
    fresh = {p.name: p for p in generated_parts(g, tmp_path)}
    assert len(list(tmp_path.glob("rig-*.glb"))) == 1
    cached = {p.name: p for p in generated_parts(g, tmp_path)}  # loaded from the file
    assert set(cached) == set(fresh) == {p.name for p in rig_parts(g)}
    for name, p in fresh.items():
        q = cached[name]
        assert (q.kind, q.moves_with) == (p.kind, p.moves_with)
        assert len(q.mesh.faces) == len(p.mesh.faces)
        np.testing.assert_allclose(q.mesh.bounds, p.mesh.bounds, atol=1e-6)


def test_a_damaged_cache_file_is_rebuilt(tmp_path):
    g = load_scene().data.geometry
    generated_parts(g, tmp_path)
    path = next(tmp_path.glob("rig-*.glb"))
    path.write_bytes(b"not a glb")
    parts = generated_parts(g, tmp_path)
    assert len(parts) == len(rig_parts(g))
    assert path.read_bytes()[:4] == b"glTF"


def test_a_user_stl_replaces_the_generated_table_scaled_and_placed(tmp_path):
    box = trimesh.creation.box(extents=(400.0, 20.0, 300.0))  # a table in millimetres
    box.export(tmp_path / "table.stl")
    scene = _scene_with(tmp_path, '[meshes.table]\nfile = "table.stl"\nscale = 0.001\n'
                        'offset_m = [0.0, -0.01, 0.0]\n')
    parts, problems = scene_parts(scene, tmp_path / "cache")
    assert problems == []
    tables = [p for p in parts if p.kind == "table"]
    assert [p.name for p in tables] == ["user_table"]
    assert tables[0].moves_with == "table"
    np.testing.assert_allclose(tables[0].mesh.extents, (0.4, 0.02, 0.3), rtol=1e-9)
    np.testing.assert_allclose(tables[0].mesh.bounds[:, 1], (-0.02, 0.0), atol=1e-12)


@pytest.mark.parametrize("content", [None, b"solid broken\n facet nonsense\n", b"\x00" * 10])
def test_a_missing_or_broken_mesh_is_reported_and_the_generated_part_drawn(tmp_path, content):
    if content is not None:
        (tmp_path / "rotor.stl").write_bytes(content)
    scene = _scene_with(tmp_path, '[meshes.rotor]\nfile = "rotor.stl"\n')
    parts, problems = scene_parts(scene, tmp_path / "cache")
    assert len(problems) == 1
    assert "meshes.rotor.file" in problems[0] and "generated rotor" in problems[0]
    assert [p.name for p in parts if p.kind == "rotor"] == ["rotor"]  # the generated one


def test_an_unknown_part_kind_is_a_schema_error(tmp_path):
    with pytest.raises(SchemaError, match=r"meshes\.roof: not a part kind"):
        _scene_with(tmp_path, '[meshes.roof]\nfile = "roof.stl"\n')


def test_render_with_a_bad_mesh_warns_and_still_draws(tmp_path):
    scene = tmp_path / "bad.toml"
    scene.write_text((SCENES_DIR / "three_storey.toml").read_text()
                     + '\n[meshes.table]\nfile = "missing.stl"\n')
    out = tmp_path / "bad.png"
    r = subprocess.run([sys.executable, "-m", "twin3d", "render", "--scene", str(scene),
                        "--out", str(out), "--size", "320x180"], capture_output=True, text=True,
                       timeout=120, env={"EGL_PLATFORM": "surfaceless",
                                         "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr[-500:]
    assert "meshes.table.file: no such file" in r.stderr
    assert out.stat().st_size > 1000
