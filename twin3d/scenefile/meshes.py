"""Meshes of the rig generated from the scene file's geometry (trimesh), and the map that moves
every vertex with the model's state.

Scene axes (Ursina's): x is the sway direction, y is up, z is across the sway. The origin is
the top of the slip table, under the middle of the frame, with the table at rest.

Motion of a vertex at height y: floors move rigidly with their floor displacement; a leg vertex
in storey i between the clamps (local coordinate s in [0, 1]) moves as a clamped-guided beam,
u_{i-1} + (u_i - u_{i-1}) (3 s^2 - 2 s^3) (cubic Hermite with zero end slopes); everything on the
table moves with the table. So the displacement of every vertex is w0 q[j0] + w1 q[j1] with
q = [x_g, x_g + u_1, ..., x_g + u_N] (absolute sway displacements), precomputed per vertex.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import trimesh

from twin3d.scenefile.records import Geometry

# Part colours (RGBA 0-255): brushed aluminium frame, darker clamps, steel table, motor black
# with its bare aluminium end bell, flange and foot (mount).
# (how metallic and rough each kind is: view/materials.py)
COLOURS = {
    "floor": (196, 202, 210, 255), "leg": (170, 176, 186, 255), "clamp": (120, 126, 136, 255),
    "foot": (150, 156, 166, 255), "table": (150, 158, 172, 255), "base": (96, 102, 114, 255),
    "stator": (40, 44, 54, 255), "mount": (178, 184, 194, 255), "rotor": (200, 120, 40, 255), "shaft": (210, 210, 215, 255),
    "crank": (180, 60, 50, 255), "rod": (220, 180, 60, 255), "rail": (185, 190, 198, 255),
    "carriage": (70, 110, 160, 255),
}
# Bumped when the generated parts change shape: the cached GLB of a geometry is then rebuilt
MESH_VERSION = 3


@dataclass(frozen=True)
class Part:
    name: str  # e.g. "floor2", "leg_3", "table", "stator"
    kind: str  # a key of COLOURS
    mesh: trimesh.Trimesh
    moves_with: str  # "structure" (height map), "table", "rotor" (spins), "fixed"


def _box(size, centre, segments_y: int = 1) -> trimesh.Trimesh:
    """A box; with segments_y > 1 its four side faces are split into bands along y so that it
    can bend smoothly (rings of 4 corners, no internal walls, few triangles)."""
    if segments_y <= 1:
        box = trimesh.creation.box(extents=size)
        box.apply_translation(centre)
        return box
    sx, sy, sz = (s / 2 for s in size)
    corners = np.array([(-sx, -sz), (sx, -sz), (sx, sz), (-sx, sz)])  # (x, z), anticlockwise
    ys = np.linspace(-sy, sy, segments_y + 1)
    verts = np.array([(x, y, z) for y in ys for x, z in corners])
    faces = []
    for r in range(segments_y):
        a, b = 4 * r, 4 * (r + 1)
        for k in range(4):
            k1 = (k + 1) % 4
            faces += [(a + k, a + k1, b + k1), (a + k, b + k1, b + k)]
    top = 4 * segments_y
    faces += [(0, 2, 1), (0, 3, 2), (top, top + 1, top + 2), (top, top + 2, top + 3)]
    box = trimesh.Trimesh(verts, np.array(faces), process=True)
    trimesh.repair.fix_normals(box)
    box.apply_translation(centre)
    return box


def floor_heights(g: Geometry) -> np.ndarray:
    """Height of each floor slab's mid-plane above the table, m (floors 1..N): storey pitches
    (or the per-storey heights when given) stacked from the top of floor 1's free legs."""
    if g.storey_heights_m:
        tops = g.base_clearance_m + np.cumsum(g.storey_heights_m)
        return tops - g.floor_size_m[2] / 2
    first = g.base_clearance_m + g.free_leg_length_m + g.floor_size_m[2] / 2
    return first + g.storey_pitch_m * np.arange(g.n_storeys)


def structure_parts(g: Geometry) -> list[Part]:
    """Floors, legs, clamp blocks and feet of the frame."""
    fx, fy, ft = g.floor_size_m[1], g.floor_size_m[0], g.floor_size_m[2]  # sway, across, thick
    heights = floor_heights(g)
    parts = []
    for i, y in enumerate(heights, 1):
        parts.append(Part(f"floor{i}", "floor", _box((fx, ft, fy), (0, y, 0)), "structure"))
    leg_top = heights[-1] + ft / 2
    t, w = g.leg_thickness_m, g.leg_width_m
    bx, by, bz = g.clamp_block_m  # bz: the block's thickness, along the sway
    # Legs stand against the two floor faces normal to the sway, thin along the sway (x),
    # at the corners; clamp blocks outside each leg at every floor and at the base.
    for k, (sx, sz) in enumerate(((-1, -1), (1, -1), (-1, 1), (1, 1))):
        cx = sx * (fx / 2 + t / 2)
        cz = sz * (fy / 2 - w / 2)
        leg = _box((t, leg_top, w), (cx, leg_top / 2, cz), 12 * g.n_storeys + 4)
        parts.append(Part(f"leg_{k + 1}", "leg", leg, "structure"))
        bxc = cx + sx * (t / 2 + bz / 2)
        for level, y in enumerate([g.base_clearance_m / 2, *heights]):
            block = _box((bz, by if level else g.base_clearance_m, bx), (bxc, y, cz))
            parts.append(Part(f"clamp_{k + 1}_{level}", "clamp", block, "structure"))
        foot = _l_angle(g.foot_leg_m, g.foot_thickness_m, g.foot_depth_m, sx)
        foot.apply_translation((bxc + sx * bz / 2, 0.0, cz))
        parts.append(Part(f"foot_{k + 1}", "foot", foot, "table"))
    return parts


def _l_angle(leg: float, t: float, depth: float, outward: int) -> trimesh.Trimesh:
    """An L-angle foot: a vertical flange against the lowest clamp, a flange on the table
    pointing outward along the sway; depth along z."""
    up = trimesh.creation.box(extents=(t, leg, depth))
    up.apply_translation((outward * t / 2, leg / 2, 0))
    flat = trimesh.creation.box(extents=(leg, t, depth))
    flat.apply_translation((outward * leg / 2, t / 2, 0))
    return trimesh.util.concatenate([flat, up])


def _cylinder_z(r: float, length: float, centre, sections: int = 48) -> trimesh.Trimesh:
    """A cylinder along z (the motor's shaft axis) centred at `centre`: trimesh builds it
    along z already (a quarter turn about x had stood the motor's can, the rotor and the crank
    disc on end: the "hat with a brim")."""
    cyl = trimesh.creation.cylinder(radius=r, height=length, sections=sections)
    cyl.apply_translation(centre)
    return cyl


def _motor(mx: float, my: float, base_top: float) -> tuple[trimesh.Trimesh, trimesh.Trimesh]:
    """The BLDC motor's fixed parts: (the black anodised can with its cooling fins, the bare
    aluminium around it: the rear end bell, the square front flange and the foot bracket down
    to the base plate). Two colours, as on a real motor: one dark can reads as a hat."""
    r, z0, z1 = 0.0435 / 2 + 0.012, -0.115, -0.041  # can radius, rear and front faces
    body = [_cylinder_z(r, z1 - z0, (mx, my, (z0 + z1) / 2))]
    for z in np.linspace(z0 + 0.012, z1 - 0.012, 9):  # cooling fins
        body.append(_cylinder_z(r + 0.003, 0.003, (mx, my, z)))
    side = 2 * r + 0.012
    mount = [_cylinder_z(r - 0.002, 0.008, (mx, my, z0 - 0.004)),  # rear end bell
             _box((side, side, 0.006), (mx, my, z1 + 0.003))]  # front flange
    foot = my - side / 2 - base_top  # from the flange's lower edge down to the base plate
    if foot > 0:
        mount.append(_box((side, foot, 0.006), (mx, base_top + foot / 2, z1 + 0.003)))
    mount.append(_box((side, 0.005, 0.05), (mx, base_top + 0.0025, z1 - 0.022)))
    return trimesh.util.concatenate(body), trimesh.util.concatenate(mount)


def _bolted(disc: trimesh.Trimesh, mx: float, my: float, z: float, r: float,
            n: int = 3) -> trimesh.Trimesh:
    """A disc with n bolt heads at radius r on its front face (z): its turning reads at a
    glance; symmetric, so its centroid stays on the shaft (the pivot it spins about)."""
    bolts = [_cylinder_z(0.0032, 0.003, (mx + r * np.cos(a), my + r * np.sin(a), z), 12)
             for a in 2 * np.pi * np.arange(n) / n]
    return trimesh.util.concatenate([disc, *bolts])


def exciter_parts(g: Geometry) -> list[Part]:
    """Slip table on two linear rails (carriages under its sides), base, BLDC motor (finned
    can on a flange and foot; rotor hub, shaft), crank disc with its pin, and the rod ending in
    a scotch yoke round the pin."""
    tx, th, tz = g.table_size_m[1], g.table_size_m[2], g.table_size_m[0]
    base_top = -th
    parts = [Part("table", "table", _box((tx, th, tz), (0, -th / 2, 0)), "table"),
             Part("base", "base", _box((tx * 1.9, 0.03, tz * 1.25), (tx * 0.3, -th - 0.015, 0)),
                  "fixed")]
    # linear rails on the base beside the table, carriages on them bolted to its sides
    rail_w, rail_h = 0.012, 0.011
    for k, sz in enumerate((-1, 1), 1):
        zc = sz * (tz / 2 + rail_w / 2 + 0.004)
        parts.append(Part(f"rail_{k}", "rail", _box((tx * 1.45, rail_h, rail_w),
                                                    (0, base_top + rail_h / 2, zc)), "fixed"))
        for j, cx in enumerate((-0.3 * tx, 0.3 * tx), 1):
            block = _box((0.045, 0.012, rail_w + 0.012), (cx, base_top + rail_h + 0.001, zc))
            tab = _box((0.035, 0.004, 0.01), (cx, -0.002, sz * (tz / 2 + 0.003)))
            parts.append(Part(f"carriage_{k}{j}", "carriage",
                              trimesh.util.concatenate([block, tab]), "table"))
    # motor beside the table along the sway axis, shaft along z
    mx, my = tx / 2 + 0.16, 0.02
    can, mount = _motor(mx, my, base_top)
    parts.append(Part("stator", "stator", can, "fixed"))
    parts.append(Part("mount", "mount", mount, "fixed"))
    hub = _cylinder_z(0.0435 / 2, 0.012, (mx, my, -0.028))
    parts.append(Part("rotor", "rotor", _bolted(hub, mx, my, -0.0215, 0.013), "rotor"))
    parts.append(Part("shaft", "shaft", _cylinder_z(0.004, 0.07, (mx, my, -0.01)), "rotor"))
    # crank disc on the shaft's end, its pin reaching forward through the yoke's slot
    pin_r = 0.018  # drawn eccentricity (the true one, crank.stroke_m, is a fraction of a mm)
    disc = _bolted(_cylinder_z(0.03, 0.01, (mx, my, 0.02)), mx, my, 0.0265, 0.02, 4)
    pin = _cylinder_z(0.004, 0.022, (mx + pin_r, my, 0.034), 16)
    parts.append(Part("crank", "crank", trimesh.util.concatenate([disc, pin]), "rotor"))
    parts.append(Part("rod", "rod", _yoke_rod(tx / 2, mx, my, pin_r, 0.036), "table"))
    return parts


def _yoke_rod(x0: float, mx: float, my: float, pin_r: float, z: float) -> trimesh.Trimesh:
    """A rod from the table's edge (x0) to a scotch yoke: a frame round the crank pin whose
    slot lets the pin ride up and down while it pushes the table along the sway."""
    bar, depth = 0.006, 0.008
    inner_h, inner_w = 2 * pin_r + 0.012, 0.03  # the pin's full travel, and sway play
    outer_h, outer_w = inner_h + 2 * bar, inner_w + 2 * bar
    left = mx - outer_w / 2
    pieces = [_box((left - x0, 0.008, depth), ((x0 + left) / 2, my, z)),
              _box((outer_w, bar, depth), (mx, my + (inner_h + bar) / 2, z)),
              _box((outer_w, bar, depth), (mx, my - (inner_h + bar) / 2, z))]
    for sx in (-1, 1):
        pieces.append(_box((bar, inner_h, depth), (mx + sx * (inner_w + bar) / 2, my, z)))
    return trimesh.util.concatenate(pieces)


def rig_parts(g: Geometry) -> list[Part]:
    return structure_parts(g) + exciter_parts(g)


def frame_parts(g: Geometry) -> list[Part]:
    """A structure alone: the frame on its base slab (the "table" part, which moves with the
    base) over a fixed ground plate; no motor, crank or rod."""
    return structure_parts(g) + [p for p in exciter_parts(g) if p.kind in ("table", "base")]


_ROLES = {"floor": "structure", "leg": "structure", "clamp": "structure", "foot": "table",
          "table": "table", "rod": "table", "carriage": "table", "base": "fixed",
          "rail": "fixed", "stator": "fixed", "mount": "fixed", "rotor": "rotor", "shaft": "rotor",
          "crank": "rotor"}
STRUCTURE_KINDS = ("floor", "leg", "clamp")


def kind_of(name: str) -> str:
    """A part's kind from its name: floor2 -> floor, clamp_3_1 -> clamp, table -> table."""
    return name.rstrip("0123456789").split("_")[0]


def generated_parts(g: Geometry, folder: Path | None = None, rig: bool = True) -> list[Part]:
    """The generated parts (the rig's, or with rig=False the frame alone), kept as one GLB per
    geometry under `folder` (assets/generated): loaded when it is there, written when it is
    not (so a changed geometry regenerates)."""
    make = rig_parts if rig else frame_parts
    if folder is None:
        return make(g)
    path = generated_glb(g, folder, rig)
    if path.is_file():
        try:
            loaded = trimesh.load(path, force="scene")
            parts = []
            for name in loaded.graph.nodes_geometry:
                transform, geom = loaded.graph[name]
                mesh = loaded.geometry[geom].copy()
                mesh.apply_transform(transform)
                kind = kind_of(name)
                parts.append(Part(name, kind, mesh, _ROLES[kind]))
            if parts:
                return sorted(parts, key=lambda p: _ORDER.get(p.kind, 99))
        except Exception:  # a damaged cache file is rebuilt, never fatal
            pass
    parts = make(g)
    try:
        export_glb(parts, path)
    except OSError:
        pass  # a read-only checkout still draws the generated meshes
    return parts


_ORDER = {k: i for i, k in enumerate(("floor", "leg", "clamp", "foot", "table", "carriage",
                                      "base", "rail", "stator", "mount", "rotor", "shaft", "crank",
                                      "rod"))}


def user_mesh(spec_, scene_dir: Path) -> trimesh.Trimesh:
    """Load one user mesh and place it in scene axes (raises ValueError with the reason)."""
    path = Path(spec_.file)
    if not path.is_absolute():
        path = scene_dir / path
    if not path.is_file():
        raise ValueError(f"no such file {path}")
    try:
        mesh = trimesh.load(path, force="mesh")
    except Exception as e:  # trimesh raises many kinds for a broken file
        raise ValueError(f"cannot read {path.name}: {type(e).__name__}: {e}") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ValueError(f"{path.name} holds no triangles")
    mesh = mesh.copy()
    mesh.apply_scale(spec_.scale)
    rx, ry, rz = np.radians(spec_.rotation_deg)
    for angle, axis in ((rx, (1, 0, 0)), (ry, (0, 1, 0)), (rz, (0, 0, 1))):
        if angle:
            mesh.apply_transform(trimesh.transformations.rotation_matrix(angle, axis))
    mesh.apply_translation(spec_.offset_m)
    return mesh


def scene_parts(scene, folder: Path | None = None) -> tuple[list[Part], list[str]]:
    """The parts to draw: generated ones, with any user meshes of the scene file put in their
    place. A user mesh that cannot be used is reported (one line each) and the generated part
    is drawn instead."""
    parts = generated_parts(scene.data.geometry, folder, rig=scene.has_rig)
    problems = []
    for kind, spec_ in scene.data.meshes.items():
        try:
            mesh = user_mesh(spec_, scene.path.parent)
        except ValueError as e:
            problems.append(f"{scene.path}:meshes.{kind}.file: {e}; drawing the generated "
                            f"{kind} instead")
            continue
        # a user's motor is the whole motor: our flange and foot would float round it
        replaced = STRUCTURE_KINDS if kind == "structure" else \
            ("stator", "mount") if kind == "stator" else (kind,)
        parts = [p for p in parts if p.kind not in replaced]
        shown_as = "floor" if kind == "structure" else kind
        # structure vertices move with the height map, whatever mesh they come from
        parts.append(Part(f"user_{kind}", shown_as, mesh, _ROLES[shown_as]))
    return parts, problems


def generated_glb(g: Geometry, folder: Path, rig: bool = True) -> Path:
    """Where the generated parts of a geometry are kept (the rig's, or the frame alone)."""
    return folder / f"{'rig' if rig else 'frame'}-{geometry_key(g)}.glb"


def geometry_key(g: Geometry) -> str:
    """Short hash of the geometry and MESH_VERSION: generated meshes are rebuilt when either
    changes."""
    key = {**asdict(g), "mesh_version": MESH_VERSION}
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def export_glb(parts: list[Part], path: Path) -> Path:
    """Write the parts as one GLB scene (node names = part names), colours per face."""
    scene = trimesh.Scene()
    for p in parts:
        m = p.mesh.copy()
        m.visual.face_colors = COLOURS[p.kind]
        scene.add_geometry(m, node_name=p.name, geom_name=p.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    scene.export(path)
    return path


def sway_weights(y: np.ndarray, g: Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-vertex (j0, j1, w1): displacement = (1 - w1) q[j0] + w1 q[j1] along the sway.

    q = [x_g, x_1, ..., x_N] absolute sway displacements of the table and the floors. A vertex
    in storey i's free leg length, at s in [0, 1], takes the clamped-guided Hermite weight
    3 s^2 - 2 s^3; on or within a floor's clamps it moves with that floor; at or below the
    lowest clamp with the table.
    """
    heights = floor_heights(g)
    half = g.floor_size_m[2] / 2
    bottoms = np.concatenate(([g.base_clearance_m], heights[:-1] + half))  # free length starts
    tops = heights - half  # free length ends (underside of floor i's clamp)
    j0 = np.zeros(y.size, dtype=np.int64)
    j1 = np.zeros(y.size, dtype=np.int64)
    w1 = np.zeros(y.size)
    for i in range(g.n_storeys):
        lo, hi = bottoms[i], tops[i]
        inside = (y > lo) & (y < hi)
        s = (y[inside] - lo) / (hi - lo)
        j0[inside], j1[inside] = i, i + 1
        w1[inside] = 3 * s**2 - 2 * s**3
        on_floor = (y >= hi) & (y <= heights[i] + half + 1e-9)
        j0[on_floor] = j1[on_floor] = i + 1
        w1[on_floor] = 1.0
    above = y > heights[-1] + half
    j0[above] = j1[above] = g.n_storeys
    w1[above] = 1.0
    return j0, j1, w1


def sway_displacement(j0, j1, w1, q: np.ndarray) -> np.ndarray:
    """Sway displacement of every vertex for absolute DOF displacements q = [x_g, x_1..x_N]."""
    return (1.0 - w1) * q[j0] + w1 * q[j1]
