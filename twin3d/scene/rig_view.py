"""The rig drawn in the scene: one mesh per motion group, vertices written straight into
panda3d's vertex buffer every frame (no Mesh.generate() per frame)."""

from __future__ import annotations

import numpy as np
from ursina import DirectionalLight, AmbientLight, Entity, Mesh, Vec3, color
from ursina.shaders import lit_with_shadows_shader

from ..meshes import COLOURS, Part, sway_displacement, sway_weights
from ..scene_file import Geometry

_GROUPS = ("structure", "table", "rotor", "fixed")


def _flat_arrays(parts: list[Part]):
    """Unshared vertices (crisp edges), face normals, per-vertex colours of a list of parts."""
    vs, ns, cs = [], [], []
    for p in parts:
        m = p.mesh
        vs.append(m.vertices[m.faces].reshape(-1, 3))
        ns.append(np.repeat(m.face_normals, 3, axis=0))
        rgba = np.array(COLOURS[p.kind], dtype=float) / 255.0
        cs.append(np.tile(rgba, (len(m.faces) * 3, 1)))
    return (np.vstack(vs).astype(np.float32), np.vstack(ns).astype(np.float32),
            np.vstack(cs).astype(np.float32))


class RigView:
    """Entities of the rig; `show(q, theta, x_g)` poses them."""

    def __init__(self, parts: list[Part], geometry: Geometry):
        self.entities: dict[str, Entity] = {}
        self.base_vertices: dict[str, np.ndarray] = {}
        for group in _GROUPS:
            members = [p for p in parts if p.moves_with == group]
            if not members:
                continue
            v, n, c = _flat_arrays(members)
            mesh = Mesh(vertices=v.ravel(), triangles=np.arange(len(v), dtype=np.uint32),
                        normals=n.ravel(), colors=c.ravel(), static=False)
            e = Entity(model=mesh, shader=lit_with_shadows_shader, color=color.white)
            # Ursina's default shadow colour is blue; neutral shadows keep aluminium grey
            e.set_shader_input("shadow_color", color.rgba(0.0, 0.0, 0.0, 0.3))
            self.entities[group] = e
            self.base_vertices[group] = v
        rotor = [p for p in parts if p.moves_with == "rotor"]
        if "rotor" in self.entities:  # spin the rotor group about its own shaft axis (z)
            centre = Vec3(*rotor[0].mesh.centroid)
            self.entities["rotor"].origin = centre
            self.entities["rotor"].position = centre
        v = self.base_vertices["structure"]
        self.j0, self.j1, self.w1 = sway_weights(v[:, 1].astype(float), geometry)
        self._work = v.copy()
        self.sun = DirectionalLight(shadows=True, shadow_map_resolution=(2048, 2048))
        self.sun.look_at(Vec3(0.6, -1.5, 1.0))
        self.sun.update_bounds(self.entities["fixed"] if "fixed" in self.entities else None)
        AmbientLight(color=color.rgba(0.5, 0.5, 0.52, 1.0))

    def show(self, q: np.ndarray, theta: float = 0.0, x_g: float = 0.0) -> None:
        """q = [x_g, x_1..x_N]: absolute sway displacements (m, already magnified)."""
        v = self._work
        base = self.base_vertices["structure"]
        v[:] = base
        v[:, 0] += sway_displacement(self.j0, self.j1, self.w1, q).astype(np.float32)
        _write_vertices(self.entities["structure"].model, v)
        if "table" in self.entities:
            self.entities["table"].x = float(x_g)
        if "rotor" in self.entities:
            self.entities["rotor"].rotation_z = float(np.degrees(theta))


def _write_vertices(mesh: Mesh, v: np.ndarray) -> None:
    """Overwrite the positions in the GPU-side vertex array (column 0 of array 0)."""
    vdata = mesh.geomNode.modifyGeom(0).modifyVertexData()
    view = memoryview(vdata.modifyArray(0)).cast("B").cast("f")
    stride = len(view) // len(v)
    if stride == 3:
        view[:] = v.ravel()
    else:  # interleaved array: positions first in each row
        arr = np.frombuffer(view, dtype=np.float32).reshape(len(v), stride)
        arr[:, :3] = v
