"""The rig drawn in the scene: one mesh per motion group, vertices, normals and colours
written straight into panda3d's vertex buffers every frame (no Mesh.generate() per frame).

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
from twin3d.view.colours import drift_colours
from twin3d.view.vertex_buffers import column_view, face_normals

_GROUPS = ("structure", "table", "rotor", "fixed")


def _flat_arrays(parts: list[Part]):
    """Unshared vertices (crisp edges), face normals, per-vertex colours, and the vertex range
    of each part, for a list of parts."""
    vs, ns, cs, ranges, start = [], [], [], {}, 0
    for p in parts:
        m = p.mesh
        vs.append(m.vertices[m.faces].reshape(-1, 3))
        ns.append(np.repeat(m.face_normals, 3, axis=0))
        rgba = np.array(COLOURS[p.kind], dtype=float) / 255.0
        cs.append(np.tile(rgba, (len(m.faces) * 3, 1)))
        ranges[p.name] = (start, start + 3 * len(m.faces))
        start += 3 * len(m.faces)
    return (np.vstack(vs).astype(np.float32), np.vstack(ns).astype(np.float32),
            np.vstack(cs).astype(np.float32), ranges)


DAMAGE_RGBA = np.array([0.85, 0.1, 0.85, 1.0], dtype=np.float32)  # a storey localised as changed


class RigView:
    """Entities of the rig; `show(q, theta, x_g, drift_ratio)` poses and colours them."""

    def __init__(self, parts: list[Part], geometry: Geometry, labels: bool = True,
                 size_scale: float = 1.0):
        self.geometry = geometry
        self.size_scale = size_scale  # labels grow with a structure larger than the lab's
        self.entities: dict[str, Entity] = {}
        self.base_vertices: dict[str, np.ndarray] = {}
        kinds = {p.name: p.kind for p in parts}
        for group in _GROUPS:
            members = [p for p in parts if p.moves_with == group]
            if not members:
                continue
            v, n, c, ranges = _flat_arrays(members)
            mesh = Mesh(vertices=v.ravel(), triangles=np.arange(len(v), dtype=np.uint32),
                        normals=n.ravel(), colors=c.ravel(), static=False)
            # The base plate and motor stator do not take the shadow shader: the shadow map,
            # fitted to the moving rig, left the wide base in its own shadow (near black).
            e = Entity(model=mesh, color=color.white,
                       shader=None if group == "fixed" else lit_with_shadows_shader)
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
        self.floor_labels: list[Text] = []
        if labels:
            self._make_labels()
        self.sun = DirectionalLight(shadows=True, shadow_map_resolution=(1024, 1024))
        self.sun.look_at(Vec3(0.5, -1.6, 1.1))
        self.sun.update_bounds(self.entities["structure"])
        AmbientLight(color=color.rgba(0.52, 0.53, 0.56, 1.0))

    def _make_labels(self) -> None:
        g = self.geometry
        fx, fz = g.floor_size_m[1], g.floor_size_m[0]
        k = self.size_scale
        for i, y in enumerate(floor_heights(g), 1):
            t = Text(f"floor {i}", parent=scene, scale=0.55 * k, billboard=True, origin=(0, 0),
                     color=color.rgba(0.9, 0.93, 1.0, 1))
            t.setLightOff()  # labels are signs, not lit objects
            t.base_position = Vec3(-fx / 2 - 0.09 * k, y, -fz / 2)
            t.position = t.base_position
            self.floor_labels.append(t)

    def show(self, q: np.ndarray, theta: float = 0.0, x_g: float = 0.0,
             drift_ratio: np.ndarray | None = None, damaged_storeys=()) -> None:
        """q = [x_g, x_1..x_N]: absolute sway displacements as drawn (m, magnified);
        theta: rotor angle (rad); drift_ratio: each storey's |drift| / drift limit (true);
        damaged_storeys: 1-based storeys the localisation names (TwinState.localisation),
        whose legs are drawn in DAMAGE_RGBA."""
        v = self._work
        v[:] = self.base_vertices["structure"]
        v[:, 0] += sway_displacement(self.j0, self.j1, self.w1, q).astype(np.float32)
        # a fresh view each frame: modifyArray() is what marks the array for re-upload
        mesh = self.entities["structure"].model
        column_view(mesh, "vertex")[:] = v
        rows = self.bend_rows
        column_view(mesh, "normal")[rows] = face_normals(v[rows])
        if drift_ratio is not None:  # one colour per storey, spread to its leg vertices
            per_storey = drift_colours(np.asarray(drift_ratio)).astype(np.float32)
            column_view(mesh, "color")[self.colour_rows] = per_storey[self.colour_storey]
        for st in damaged_storeys:
            column_view(mesh, "color")[self.colour_rows[self.colour_storey == st - 1]] = \
                DAMAGE_RGBA
        self.pose_rigid(q, theta, x_g)

    def pose_rigid(self, q: np.ndarray, theta: float, x_g: float) -> None:
        """Floor labels, table group and rotor: moved as whole entities, no vertex writes."""
        for i, label in enumerate(self.floor_labels, 1):
            label.x = label.base_position.x + float(q[i])
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
        half = size / 2
        rgba = (0.16, 0.17, 0.19, 1.0)
        quad = Mesh(vertices=[(-half, 0, -half), (half, 0, -half), (half, 0, half), (-half, 0, half)],
                    triangles=[(0, 2, 1), (0, 3, 2)], normals=[(0, 1, 0)] * 4, colors=[rgba] * 4)
        Entity(model=quad, y=y - 0.001)
        Entity(model=Grid(int(size / cell), int(size / cell)), rotation_x=90, scale=size, y=y,
               color=color.rgba(0.3, 0.33, 0.38, 0.35))


class ScaleBar:
    """A true-size bar (not magnified) in front of the frame, with its length written on it."""

    def __init__(self, length_m: float, position: Vec3, size_scale: float = 1.0):
        k = size_scale  # thickness and text grow with a structure larger than the lab's
        w = 0.004 * k
        self.bar = Entity(model="cube", scale=(length_m, w, w), position=position,
                          color=color.rgb(0.92, 0.92, 0.95), shader=lit_with_shadows_shader)
        for end in (-0.5, 0.5):
            Entity(parent=self.bar, model="cube", x=end, scale=(w / length_m, 4, 1),
                   color=color.rgb(0.92, 0.92, 0.95))
        size = f"{1000 * length_m:.0f} mm" if length_m < 1 else f"{length_m:g} m"
        self.text = Text(f"{size} (true size)", parent=scene, scale=0.45 * k,
                         billboard=True, origin=(0, -0.6), position=position + Vec3(0, 0.012 * k, 0),
                         color=color.rgba(0.9, 0.9, 0.95, 1))
