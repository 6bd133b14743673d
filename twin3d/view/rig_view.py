"""The rig drawn in the scene: one mesh per motion group, vertices, normals and colours
written straight into panda3d's vertex buffers every frame (no Mesh.generate() per frame).

Two shadings (view/materials.py LOOK, set before the rig is built): "pbr" (default: metal
materials, soft shadows, view/lighting.py) and "classic" (Ursina's lit_with_shadows_shader, the
look before issue 14, kept as the bench's baseline).

The structure's legs bend (clamped-guided Hermite shape between floors, see meshes.py); their
flat-shading normals are recomputed each frame so the light follows the bend, and their colour
shows each storey's true inter-storey drift against the rig's drift limit.
"""

from __future__ import annotations

import numpy as np
from ursina import AmbientLight, DirectionalLight, Entity, Mesh, Text, Vec3, color, scene
from ursina.shaders import lit_with_shadows_shader

from twin3d.scenefile.meshes import COLOURS, Part, floor_heights, sway_displacement, sway_weights
from twin3d.scenefile.records import Geometry
from twin3d.view.colours import displacement_colours, drift_colours
from twin3d.view.materials import LOOK, material_uv
from twin3d.view.vertex_buffers import (column_view, crease_normals, face_normals,
                                          feature_edges)

_GROUPS = ("structure", "table", "rotor", "fixed")
URSINA_WINDING = [0, 2, 1]  # corner order of a trimesh triangle as drawn (see _flat_arrays)


def _flat_arrays(parts: list[Part]):
    """Unshared vertices (crisp edges), normals (smooth within 40 degrees: crease_normals),
    per-vertex colours, material (texture coordinates, materials.material_uv) and the vertex
    range of each part, for a list of parts."""
    vs, ns, cs, uvs, ranges, start = [], [], [], [], {}, 0
    for p in parts:
        m = p.mesh
        # Ursina's axes (x right, y up, z forward) are left-handed: trimesh's outward
        # (anticlockwise) triangles must be wound the other way, or panda culls the outside
        # and draws the inside (seen as slab walls above the slab, the rotor through the can)
        vs.append(m.vertices[m.faces[:, URSINA_WINDING]].reshape(-1, 3))
        ns.append(crease_normals(m)[:, URSINA_WINDING].reshape(-1, 3))
        rgba = np.array(COLOURS[p.kind], dtype=float) / 255.0
        cs.append(np.tile(rgba, (len(m.faces) * 3, 1)))
        uvs.append(np.tile(material_uv(p.kind), (len(m.faces) * 3, 1)))
        ranges[p.name] = (start, start + 3 * len(m.faces))
        start += 3 * len(m.faces)
    return (np.vstack(vs).astype(np.float32), np.vstack(ns).astype(np.float32),
            np.vstack(cs).astype(np.float32), np.vstack(uvs).astype(np.float32), ranges)


DAMAGE_RGBA = np.array([0.85, 0.1, 0.85, 1.0], dtype=np.float32)  # a storey localised as changed
LABEL_PULL_M = 0.03  # billboard labels drawn this far towards the eye (per size_scale)


class RigView:
    """Entities of the rig; `show(q, theta, x_g, drift_ratio)` poses and colours them."""

    def __init__(self, parts: list[Part], geometry: Geometry, labels: bool = True,
                 size_scale: float = 1.0):
        self.geometry = geometry
        self.look = LOOK.shading
        self.size_scale = size_scale  # labels grow with a structure larger than the lab's
        self.entities: dict[str, Entity] = {}
        self.root = Entity()  # the rig's groups: all that the sun's shadow camera draws
        self.base_vertices: dict[str, np.ndarray] = {}
        kinds = {p.name: p.kind for p in parts}
        for group in _GROUPS:
            members = [p for p in parts if p.moves_with == group]
            if not members:
                continue
            v, n, c, uv, ranges = _flat_arrays(members)
            mesh = Mesh(vertices=v.ravel(), triangles=np.arange(len(v), dtype=np.uint32),
                        normals=n.ravel(), colors=c.ravel(), uvs=uv.ravel(), static=False)
            e = Entity(parent=self.root, model=mesh, color=color.white,
                       shader=self._shader(group))
            if self.look == "classic":
                # Ursina's default shadow colour is blue; neutral shadows keep aluminium grey
                e.set_shader_input("shadow_color", color.rgba(0.0, 0.0, 0.0, 0.35))
            self.entities[group] = e
            self.base_vertices[group] = v
            if group == "structure":
                self.base_colours = c
                legs = [rng for name, rng in ranges.items() if kinds[name] == "leg"]
        rotor = [p for p in parts if p.moves_with == "rotor"]
        if "rotor" in self.entities:  # spin the rotor group about its own shaft axis (z)
            centre = Vec3(*rotor[0].mesh.centroid)
            self.entities["rotor"].origin = centre
            self.entities["rotor"].position = centre
        v = self.base_vertices["structure"]
        self.j0, self.j1, self.w1 = sway_weights(v[:, 1].astype(float), geometry)
        # Leg vertices: their triangles get new normals each frame, and the colour of the
        # storey whose free length they lie in (-1: within a floor's clamps).
        self.leg_rows = leg_rows = np.concatenate([np.arange(a, b) for a, b in legs])
        # only triangles with a vertex in a free (bending) length change their normals
        bends = ((self.w1 > 0) & (self.w1 < 1))[leg_rows].reshape(-1, 3).any(axis=1)
        self.bend_rows = leg_rows.reshape(-1, 3)[bends].ravel()
        storey = np.where(self.j1 == self.j0 + 1, self.j0, -1)
        self.leg_storey = storey[leg_rows]  # -1: within a floor's clamps
        inside = self.leg_storey >= 0
        self.colour_rows, self.colour_storey = leg_rows[inside], storey[leg_rows][inside]
        self._work = v.copy()
        self.colour_by = LOOK.colour
        self.ghost = self._make_ghost([p for p in parts if p.moves_with == "structure"]) \
            if LOOK.ghost else None
        self.floor_labels: list[Text] = []
        if labels:
            self._make_labels()
        self._light()

    def _make_ghost(self, parts: list[Part]):
        """The structure at rest as faint lines along its edges (see-through, drawn behind
        coincident faces): the sway reads against it."""
        from panda3d.core import (Geom, GeomLines, GeomNode, GeomVertexData, GeomVertexFormat,
                                  TransparencyAttrib)

        segments = np.vstack([feature_edges(p.mesh) for p in parts]).astype(np.float32)
        vdata = GeomVertexData("ghost", GeomVertexFormat.get_v3(), Geom.UH_static)
        vdata.unclean_set_num_rows(len(segments) * 2)
        memoryview(vdata.modify_array(0)).cast("B").cast("f")[:] = segments.ravel()
        lines = GeomLines(Geom.UH_static)
        lines.add_next_vertices(len(segments) * 2)
        geom = Geom(vdata)
        geom.add_primitive(lines)
        node = GeomNode("ghost")
        node.add_geom(geom)
        ghost = scene.attach_new_node(node)
        ghost.set_color(0.62, 0.82, 1.0, 0.55)
        ghost.set_transparency(TransparencyAttrib.M_alpha)
        ghost.set_render_mode_thickness(1.5)
        ghost.set_shader_off(10)
        ghost.set_light_off(10)
        ghost.set_depth_write(False)
        ghost.set_depth_offset(-2)  # where it lies on the frame at rest, the frame wins
        return ghost

    def _shader(self, group: str):
        if self.look == "pbr":
            from twin3d.view.lighting import pbr_shader

            return pbr_shader
        # classic: the base plate and motor stator do not take the shadow shader: the shadow
        # map, fitted to the moving rig, left the wide base in its own shadow (near black)
        return None if group == "fixed" else lit_with_shadows_shader

    def _light(self) -> None:
        if self.look == "classic":
            self.sun = DirectionalLight(shadows=True, shadow_map_resolution=(1024, 1024))
            self.sun.look_at(Vec3(0.5, -1.6, 1.1))
            self.sun.update_bounds(self.entities["structure"])
            AmbientLight(color=color.rgba(0.52, 0.53, 0.56, 1.0))
            return
        from twin3d.view.lighting import Sun

        # from above and from the default camera's left: the faces it sees are lit, the
        # shadows fall back and to the right where they are seen
        self.sun = Sun(Vec3(0.45, -1.0, 0.35), casters=self.root)
        texel = self.sun.fit(list(self.entities.values()))
        for e in self.entities.values():
            e.set_shader_input("normal_offset", 1.5 * texel)
        # fixed-function extras (labels are unlit; the scale bar's caps) still want ambient
        AmbientLight(color=color.rgba(0.52, 0.53, 0.56, 1.0))

    def _make_labels(self) -> None:
        g = self.geometry
        fx, fz = g.floor_size_m[1], g.floor_size_m[0]
        k = self.size_scale
        for i, y in enumerate(floor_heights(g), 1):
            # right-aligned: a label that grows (app.py keeps signs a size on screen) grows
            # away from the frame, never over its legs
            t = Text(f"floor {i}", parent=scene, scale=0.9 * k, billboard=True, origin=(0.5, 0),
                     color=color.rgba(0.9, 0.93, 1.0, 1))
            t.setLightOff()  # labels are signs, not lit objects
            # Ursina's billboard=True pulls a text 1 m towards the eye (offset True == 1): in
            # stereo the labels then float far in front of the frame; a few cm keeps them
            # clear of the legs at the structure's own depth
            t.setBillboardPointEye(LABEL_PULL_M * k)
            t.base_position = Vec3(-fx / 2, y, -fz / 2)
            t.position = t.base_position
            self.floor_labels.append(t)
        self.face_labels(Vec3(1, 0, 0))

    def face_labels(self, right: Vec3) -> None:
        """Put each floor label just left of its slab as the camera (screen right `right`)
        sees it: at the slab corner furthest to the left, a margin beyond it."""
        g, k = self.geometry, self.size_scale
        fx, fz = g.floor_size_m[1], g.floor_size_m[0]
        corners = [Vec3(sx * fx / 2, 0, sz * fz / 2) for sx in (-1, 1) for sz in (-1, 1)]
        left = min(corners, key=lambda c: c.x * right.x + c.z * right.z)
        for label in self.floor_labels:
            label.base_position = Vec3(left.x, label.base_position.y, left.z) - right * 0.025 * k

    def show(self, q: np.ndarray, theta: float = 0.0, x_g: float = 0.0,
             drift_ratio: np.ndarray | None = None, damaged_storeys=(),
             magnification: float = 1.0, drift_limit_m: float | None = None) -> None:
        """q = [x_g, x_1..x_N]: absolute sway displacements as drawn (m, magnified);
        theta: rotor angle (rad); drift_ratio: each storey's |drift| / drift limit (true);
        damaged_storeys: 1-based storeys the localisation names (TwinState.localisation),
        whose legs are drawn in DAMAGE_RGBA. With LOOK.colour "displacement" (and
        drift_limit_m given) the whole structure is coloured by its true sway relative to the
        base (drawn / magnification) against N storeys x the drift limit."""
        v = self._work
        v[:] = self.base_vertices["structure"]
        v[:, 0] += sway_displacement(self.j0, self.j1, self.w1, q).astype(np.float32)
        # a fresh view each frame: modifyArray() is what marks the array for re-upload
        mesh = self.entities["structure"].model
        column_view(mesh, "vertex")[:] = v
        rows = self.bend_rows
        column_view(mesh, "normal")[rows] = -face_normals(v[rows])  # URSINA_WINDING
        if self.colour_by == "displacement" and drift_limit_m:
            reference = magnification * len(q[1:]) * drift_limit_m
            moved = v[:, 0] - self.base_vertices["structure"][:, 0] - q[0]
            column_view(mesh, "color")[:] = displacement_colours(moved / reference)
        elif drift_ratio is not None:  # one colour per storey, spread to its leg vertices
            per_storey = drift_colours(np.asarray(drift_ratio)).astype(np.float32)
            column_view(mesh, "color")[self.colour_rows] = per_storey[self.colour_storey]
        for st in damaged_storeys:
            column_view(mesh, "color")[self.colour_rows[self.colour_storey == st - 1]] = \
                DAMAGE_RGBA
        self.pose_rigid(q, theta, x_g)

    def pose_rigid(self, q: np.ndarray, theta: float, x_g: float) -> None:
        """Floor labels, table group and rotor: moved as whole entities, no vertex writes."""
        for i, label in enumerate(self.floor_labels, 1):
            label.position = label.base_position + Vec3(float(q[i]), 0, 0)
        if "table" in self.entities:
            self.entities["table"].x = float(x_g)
        if "rotor" in self.entities:
            self.entities["rotor"].rotation_z = float(np.degrees(theta))


class LabFloor:
    """A dark lab floor with a faint 0.1 m grid under the base, so the rig stands on something
    and its shadows land somewhere."""

    def __init__(self, y: float, size: float = 4.0, cell: float = 0.1):
        from ursina import Grid

        # vertex colours: the lit shader ignores an entity colour on Ursina's plane model
        pbr = LOOK.shading == "pbr"
        rgba = (0.20, 0.21, 0.23, 1.0) if pbr else (0.16, 0.17, 0.19, 1.0)
        # the shaded floor is lit per vertex (view/lighting.py: why), on cells of size / 48
        quad = _floor_mesh(size, 48 if pbr else 1, rgba)
        if pbr:  # lit, takes the rig's shadows, fades into the background around the rig
            from twin3d.view.lighting import floor_shader

            self.floor = Entity(model=quad, y=y - 0.001, shader=floor_shader)
            self.floor.set_shader_input("fade_range", (0.12 * size, 0.4 * size))
        else:
            self.floor = Entity(model=quad, y=y - 0.001)
        grid = 0.8 * size if pbr else size  # the shaded floor has faded out beyond this
        self.grid = Entity(model=Grid(int(grid / cell), int(grid / cell)), rotation_x=90,
                           scale=grid, y=y, color=color.rgba(0.3, 0.33, 0.38, 0.2 if pbr else 0.35))


def _floor_mesh(size: float, cells: int, rgba) -> Mesh:
    """A square of `size` on y = 0 centred on the origin, cut into cells x cells squares, facing
    up in Ursina's left-handed axes (wound the other way it was culled, unseen)."""
    n = cells + 1
    edge = [size * (i / cells - 0.5) for i in range(n)]
    vertices = [(x, 0, z) for z in edge for x in edge]
    triangles = []
    for j in range(cells):
        for i in range(cells):
            a = j * n + i
            triangles += [(a, a + 1, a + n + 1), (a, a + n + 1, a + n)]
    return Mesh(vertices=vertices, triangles=triangles, normals=[(0, 1, 0)] * len(vertices),
                colors=[rgba] * len(vertices), uvs=[material_uv("lab_floor")] * len(vertices))


class ScaleBar:
    """A true-size bar (not magnified) in front of the frame, with its length written on it."""

    def __init__(self, length_m: float, position: Vec3, size_scale: float = 1.0):
        k = size_scale  # thickness and text grow with a structure larger than the lab's
        w = 0.004 * k
        # a sign, not a part of the rig: lit only in the classic look
        self.bar = Entity(model="cube", scale=(length_m, w, w), position=position,
                          color=color.rgb(0.92, 0.92, 0.95),
                          shader=lit_with_shadows_shader if LOOK.shading == "classic" else None)
        for end in (-0.5, 0.5):
            Entity(parent=self.bar, model="cube", x=end, scale=(w / length_m, 4, 1),
                   color=color.rgb(0.92, 0.92, 0.95))
        size = f"{1000 * length_m:.0f} mm" if length_m < 1 else f"{length_m:g} m"
        self.text = Text(f"{size} (true size)", parent=scene, scale=0.75 * k,
                         billboard=True, origin=(0, -0.6), position=position + Vec3(0, 0.012 * k, 0),
                         color=color.rgba(0.9, 0.9, 0.95, 1))
        self.text.setLightOff()  # a sign, like the floor labels: full brightness
        self.text.setBillboardPointEye(LABEL_PULL_M * k)  # at its own depth (see the labels)

