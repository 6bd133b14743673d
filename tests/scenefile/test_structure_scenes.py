"""Scenes of a structure alone (no motor, crank or actuator), the [excitation] table, the
structure's sensor quantities, and `twin3d scene new`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

from twin3d.physics.shear_frame import Loading
from twin3d.scenefile.meshes import floor_heights, frame_parts, generated_parts, rig_parts
from twin3d.scenefile.records import SCENES_DIR, RigPartMissing, load_scene
from twin3d.scenefile.schema import SchemaError

BUILDING = SCENES_DIR / "building_five_storey.toml"
LOS_ALAMOS = SCENES_DIR / "los_alamos_frame.toml"
THREE = SCENES_DIR / "three_storey.toml"
LINE = re.compile(r"^[^\n]+$")


def chain_eigen_hz(m, k, base_mass: float = 0.0) -> np.ndarray:
    """Natural frequencies of a chain assembled spring by spring: storey i's spring joins the
    mass below (the ground for storey 1 on a fixed base; the base mass, tied to nothing below,
    when base_mass > 0) to floor i."""
    masses = ([base_mass] if base_mass else []) + list(m)
    off = 1 if base_mass else 0
    K = np.zeros((len(masses), len(masses)))
    for i, kk in enumerate(k):
        top = i + off
        if top == 0:  # storey 1 on a fixed base
            K[0, 0] += kk
        else:
            K[np.ix_([top - 1, top], [top - 1, top])] += kk * np.array([[1, -1], [-1, 1]])
    w2 = scipy.linalg.eigvalsh(K, np.diag(masses))
    return np.sqrt(np.clip(w2, 0, None)) / (2 * np.pi)


def test_shipped_structure_scenes_load_without_the_rig():
    b = load_scene(BUILDING)
    assert not b.has_rig and b.data.motor is None and b.data.crank is None
    assert b.data.actuator is None and b.actuator_params() is None
    assert b.data.sampling.rate_hz == 100.0 and b.n_storeys == 5
    assert b.loading() == Loading("floor_force", 5)
    assert b.input_role() == "force_floor5"
    assert set(b.data.sensors) == {"force_floor5"} | {f"acc_floor{i}" for i in range(1, 6)}
    m = np.diag(b.model().M)
    k = [1.8e9, 1.7e9, 1.5e9, 1.3e9, 1.1e9]
    np.testing.assert_allclose(b.frame_modes().frequencies_hz, chain_eigen_hz(m, k), rtol=1e-9)
    assert 2.5 < b.frame_modes().frequencies_hz[0] < 3.5  # a five-storey building's first mode
    la = load_scene(LOS_ALAMOS)
    assert not la.has_rig and la.loading().free_base and la.input_role() == "force_base"
    f = la.frame_modes().frequencies_hz
    assert f[0] == 0.0 and f.size == 4  # rigid body on its rails, then three flexible modes
    np.testing.assert_allclose(f, chain_eigen_hz([5.2] * 3, [3.5e5] * 3, base_mass=6.4),
                               rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(f[1:], [30.2, 57.0, 75.8], atol=0.1)
    for scene in (b, la):
        with pytest.raises(RigPartMissing) as e:
            scene.motor_params()
        assert LINE.match(str(e.value)) and "structure alone" in str(e.value)
        with pytest.raises(SchemaError, match="needs the rig"):
            scene.crank_params()


def test_the_lab_rig_is_one_scene_among_others():
    s = load_scene("three_storey")
    assert s.has_rig and s.loading() == Loading() and s.input_role() == "acc_table"
    assert s.motor_params().pole_pairs == 8 and s.actuator_params().floor == 1
    # the rig-carried model: the actuator's proof mass is the fourth DOF
    assert s.frame_modes().frequencies_hz.size == 4


def _structure_text(extra: str = "", **replace) -> str:
    text = BUILDING.read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + extra


def _load(tmp_path: Path, text: str):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return load_scene(p)


@pytest.mark.parametrize("mutate,key,problem", [
    (lambda t: t.replace("floor = 5\n\n[sampling]", "floor = 6\n\n[sampling]"),
     "excitation.floor", "floor_force needs its floor"),
    (lambda t: t.replace('kind = "floor_force"\nfloor = 5', 'kind = "base_force"'),
     "excitation.base_mass_kg", "a force on the base needs the base's mass"),
    (lambda t: t.replace('kind = "floor_force"\nfloor = 5', 'kind = "base_acceleration"\n'
                         "base_mass_kg = 3.0"),
     "excitation.base_mass_kg", "a prescribed base acceleration leaves no base DOF"),
    (lambda t: t.replace("floor = 5\n\n[sampling]", "floor = 5\nbase_stiffness_n_per_m = 1e6"
                         "\n\n[sampling]"),
     "excitation.base_mass_kg", "a base spring or damper needs a base mass"),
    (lambda t: t.replace('kind = "floor_force"', 'kind = "shaker"'),
     "excitation.kind", "not one of the allowed values"),
    (lambda t: t.replace('quantity = "floor_force"\nfloor = 5', 'quantity = "floor_force"\n'
                         "floor = 4"),
     "sensors.force_floor5.floor", "a floor force is measured where the excitation's force"),
    (lambda t: t.replace('quantity = "floor_force"\nfloor = 5', 'quantity = "base_force"'),
     "sensors.force_floor5.quantity", "a base force needs excitation.kind base_force"),
    (lambda t: t + '\n[sensors.speed]\nquantity = "motor_speed"\nunit = "rpm"\n'
     "sensitivity_v_per_unit = 0.001\n", "sensors.speed.quantity", "this scene has no motor"),
    (lambda t: t + '\n[sensors.f_act]\nquantity = "actuator_force"\nunit = "N"\n'
     "sensitivity_v_per_unit = 0.01\n", "sensors.f_act.quantity", "this scene has no actuator"),
    (lambda t: t.replace("rate_hz = 100", "rate_hz = 9"), "sampling.rate_hz", "out of range"),
    (lambda t: t.replace("storey_heights_m = [4, 3.5, 3.5, 3.5, 3.5]",
                         "storey_heights_m = [4, 3.5]"),
     "geometry.storey_heights_m", "needs one value per storey"),
])
def test_bad_structure_scenes_give_one_line(tmp_path, mutate, key, problem):
    text = BUILDING.read_text()
    bad = mutate(text)
    assert bad != text
    p = tmp_path / "bad.toml"
    p.write_text(bad)
    with pytest.raises(SchemaError) as e:
        load_scene(p)
    msg = str(e.value)
    assert LINE.match(msg) and msg.startswith(f"{p}:{key}: {problem}"), msg


def test_rig_parts_come_whole_with_their_limits(tmp_path):
    three = THREE.read_text()
    crank = three[three.index("[crank]"):three.index("[actuator]")]
    with pytest.raises(SchemaError, match=r"s\.toml:motor: missing: a scene with a \[crank\]"):
        _load(tmp_path, three.replace(three[three.index("[motor]"):three.index("[crank]")], ""))
    with pytest.raises(SchemaError, match=r"s\.toml:crank: missing: a scene with a \[motor\]"):
        _load(tmp_path, three.replace(crank, ""))
    with pytest.raises(SchemaError, match=r"limits\.max_speed_rpm: missing \(a scene with the "
                                          r"rig's motor needs it\)"):
        _load(tmp_path, three.replace("max_speed_rpm = 1800.0\n", ""))
    with pytest.raises(SchemaError, match=r"excitation\.kind: the rig's crank drives the table"):
        _load(tmp_path, three + '\n[excitation]\nkind = "floor_force"\nfloor = 3\n')
    # the rig at a low sample rate: its blocks must stay short beside the heartbeat timeout
    with pytest.raises(SchemaError, match=r"sampling\.block_samples: a block lasts 5 s"):
        _load(tmp_path, three.replace("rate_hz = 1000.0", "rate_hz = 10.0"))
    s = _load(tmp_path, three.replace("rate_hz = 1000.0", "rate_hz = 10.0").replace(
        "block_samples = 50", "block_samples = 5"))
    assert s.has_rig and s.data.sampling.rate_hz == 10.0
    # 10 Hz is the lowest sampling rate a scene takes
    s = _load(tmp_path, _structure_text(**{"rate_hz = 100": "rate_hz = 10"}))
    assert s.data.sampling.rate_hz == 10.0


def test_storey_heights_place_the_floors(tmp_path):
    g = load_scene(BUILDING).data.geometry
    h = floor_heights(g)
    np.testing.assert_allclose(h + g.floor_size_m[2] / 2 - g.base_clearance_m,
                               np.cumsum([4.0, 3.5, 3.5, 3.5, 3.5]))
    # the uniform pitch of the lab frame is unchanged
    lab = load_scene("three_storey").data.geometry
    np.testing.assert_allclose(np.diff(floor_heights(lab)), lab.storey_pitch_m)


def test_a_structure_alone_is_drawn_without_motor_crank_or_rod(tmp_path):
    g = load_scene(BUILDING).data.geometry
    kinds = {p.kind for p in frame_parts(g)}
    assert kinds == {"floor", "leg", "clamp", "foot", "table", "base"}
    assert {"stator", "rotor", "crank", "rod"} <= {p.kind for p in rig_parts(g)}
    fresh = {p.name for p in generated_parts(g, tmp_path, rig=False)}
    assert [q.name for q in tmp_path.iterdir()][0].startswith("frame-")
    cached = {p.name for p in generated_parts(g, tmp_path, rig=False)}  # read back
    assert cached == fresh == {p.name for p in frame_parts(g)}


# --- twin3d scene new ---------------------------------------------------------------------

def twin3d(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin3d", *args], capture_output=True,
                          text=True, timeout=120)


def test_scene_new_writes_a_valid_scene_whose_modes_are_its_chains(tmp_path):
    out = tmp_path / "frame.toml"
    r = twin3d("scene", "new", "--storeys", "4", "--mass", "1200,1100,1000,900",
               "--stiffness", "2e6", "--height", "3.2", "--excitation", "floor_force:4",
               "--rate", "100", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    scene = load_scene(out)
    assert not scene.has_rig and scene.n_storeys == 4 and scene.data.sampling.rate_hz == 100
    assert scene.loading() == Loading("floor_force", 4)
    assert set(scene.data.sensors) == {"force_floor4", "acc_floor1", "acc_floor2", "acc_floor3",
                                       "acc_floor4"}
    ref = chain_eigen_hz([1200, 1100, 1000, 900], [2e6] * 4)
    np.testing.assert_allclose(scene.frame_modes().frequencies_hz, ref, rtol=1e-9)
    # default damping: stiffness-proportional, 2 % on mode 1
    assert scene.frame_modes().damping_ratios[0] == pytest.approx(0.02, rel=1e-6)
    assert np.all(np.diff(floor_heights(scene.data.geometry)) == pytest.approx(3.2))
    import json

    summary = json.loads(r.stdout)
    assert summary["modes_hz"] == pytest.approx(list(ref), rel=1e-9)
    # its generated frame, in the mesh cache: four floors, legs, no motor
    import trimesh

    glb = trimesh.load(summary["mesh"], force="scene")
    names = set(glb.graph.nodes_geometry)
    assert {f"floor{i}" for i in range(1, 5)} <= names and "leg_1" in names
    assert not names & {"stator", "rotor", "crank", "rod"}
    # a free base on rails: the base is the first mass, the first mode the rigid body
    out2 = tmp_path / "la.toml"
    r = twin3d("scene", "new", "--storeys", "3", "--mass", "5.2", "--stiffness", "3.5e5",
               "--height", "0.1778", "--excitation", "base_force:m=6.4,k=0", "--out", str(out2))
    assert r.returncode == 0, r.stderr
    la = load_scene(out2)
    assert la.loading().free_base and "force_base" in la.data.sensors
    assert "acc_table" in la.data.sensors
    np.testing.assert_allclose(la.frame_modes().frequencies_hz,
                               chain_eigen_hz([5.2] * 3, [3.5e5] * 3, 6.4), rtol=1e-9, atol=1e-6)
    # the rate was chosen from the top mode (75.8 Hz): a round rate >= 5x it
    assert la.data.sampling.rate_hz == 500.0


@pytest.mark.parametrize("args,words", [
    (["--storeys", "0"], "--storeys"),
    (["--storeys", "21"], "--storeys"),
    (["--mass", "5,5"], "--mass: 2 values for 3 storeys"),
    (["--mass", "-1"], "--mass: out of range"),
    (["--stiffness", "abc"], "--stiffness: not a number list"),
    (["--damping", "-2"], "--damping: out of range"),
    (["--height", "0"], "--height: out of range"),
    (["--excitation", "floor_force:4"], "--excitation: no such floor"),
    (["--excitation", "floor_force"], "--excitation: floor_force needs its floor"),
    (["--excitation", "base_force:m=0"], "--excitation: bad base value"),
    (["--excitation", "shaker"], "--excitation: unknown"),
    (["--rate", "5"], "--rate"),
    (["--out", "/nonexistent-dir/x.toml"], "--out"),
    (["--out", "x.txt"], "--out: a scene file ends in .toml"),
])
def test_scene_new_bad_options_exit_2_with_one_line(tmp_path, args, words):
    base = {"--storeys": "3", "--mass": "5", "--stiffness": "4e4",
            "--out": str(tmp_path / "x.toml")}
    for flag, val in zip(args[::2], args[1::2]):
        base[flag] = val
    argv = [a for kv in base.items() for a in kv]
    r = subprocess.run([sys.executable, "-m", "twin3d", "scene", "new", *argv],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    err = r.stderr.strip()
    assert "\n" not in err and words in err and "Traceback" not in err, err
    assert not (tmp_path / "x.toml").exists() and not list(tmp_path.glob(".x-*"))


def test_tools_on_a_structure_alone(capsys):
    """The modes tool takes the scene's excitation (free base: the rigid-body mode first, the
    FRF an accelerance); a tool input that needs the rig's parts is refused in one line."""
    import json

    from twin3d.cli.main import main
    from twin3d.physics.shear_frame import frf

    assert main(["tool", "modes", "--scene", str(LOS_ALAMOS), "--set", "f_max_hz=100",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["results"]
    la = load_scene(LOS_ALAMOS)
    assert out["frequencies_hz"][0] == 0.0 and out["damping_ratios"][0] is None
    np.testing.assert_allclose(out["frequencies_hz"], la.frame_modes().frequencies_hz)
    f = np.array(out["frequency_hz"])
    ref = 20 * np.log10(np.abs(frf(la.model(), la.loading(), f)[:, 1]))
    np.testing.assert_allclose(out["frf_db"], ref, rtol=1e-9)
    peak = f[np.argmax(out["frf_db"])]  # floor 1's accelerance peaks at a flexible mode
    assert np.min(np.abs(la.frame_modes().frequencies_hz[1:] - peak)) < 0.5
    for argv in (["simulator", "--set", "excitation=crank"],
                 ["vibration_control", "--set", "use_scene_actuator=true"]):
        assert main(["tool", *argv, "--scene", str(BUILDING)]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "the scene has no [" in err, err
