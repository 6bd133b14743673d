"""Write numpy arrays straight into a panda3d vertex column (positions, normals, colours).

`Mesh.generate()` rebuilds the whole GeomVertexData (too slow per frame, HEADLESS.md 2.5);
here the GPU-side array is overwritten in place and panda3d re-uploads only that array.
"""

from __future__ import annotations

import numpy as np
from panda3d.core import InternalName


def column_view(mesh, name: str) -> np.ndarray:
    """A writable (rows, components) float32 view of column `name` ("vertex", "normal",
    "color") of the mesh's first Geom; writing to it modifies the vertex data."""
    vdata = mesh.geomNode.modifyGeom(0).modifyVertexData()
    fmt = vdata.getFormat()
    iname = InternalName.make(name)
    index = fmt.getArrayWith(iname)
    if index < 0:
        raise KeyError(f"mesh has no {name!r} column")
    array_format = fmt.getArray(index)
    column = array_format.getColumn(iname)
    stride = array_format.getStride() // 4
    start = column.getStart() // 4
    raw = np.frombuffer(memoryview(vdata.modifyArray(index)).cast("B").cast("f"), np.float32)
    return raw.reshape(-1, stride)[:, start:start + column.getNumComponents()]


def write_column(mesh, name: str, values: np.ndarray) -> None:
    column_view(mesh, name)[:] = values


def face_normals(v: np.ndarray) -> np.ndarray:
    """Unit normals of triangles given as unshared vertices (3 rows per triangle), repeated
    for each of the triangle's vertices (flat shading); right-handed: anticlockwise corners
    give the normal towards the viewer (RigView's triangles are wound the other way)."""
    t = v.reshape(-1, 3, 3)
    n = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
    return np.repeat(n, 3, axis=0)


def crease_normals(m, crease_deg: float = 40.0) -> np.ndarray:
    """(faces, 3 corners, 3) unit normals: at each corner the mean of the normals of the faces
    round that vertex within crease_deg of this face's, weighted by their angle at the vertex (a
    cylinder's side shades round, exactly radial; its rim and a box's edges stay sharp: flat
    facets on a cylinder read as flutes)."""
    fn = np.asarray(m.face_normals, dtype=float)
    faces = np.asarray(m.faces)
    adj = np.asarray(m.vertex_faces)[faces]  # (F, 3, D) faces round each corner, -1 padded
    valid = adj >= 0
    adj = np.where(valid, adj, 0)
    # the angle each neighbouring face makes at this corner's vertex
    at_vertex = faces[adj] == faces[:, :, None, None]  # (F, 3, D, 3)
    angle = (np.asarray(m.face_angles)[adj] * at_vertex).sum(axis=-1)
    near = valid & (np.einsum("fcdk,fk->fcd", fn[adj], fn) > np.cos(np.radians(crease_deg)))
    n = (fn[adj] * (angle * near)[..., None]).sum(axis=2)
    return n / np.maximum(np.linalg.norm(n, axis=2, keepdims=True), 1e-12)


def feature_edges(m, angle_deg: float = 20.0) -> np.ndarray:
    """(n, 2, 3) end points of a mesh's edges where its faces meet at more than angle_deg (a
    box's twelve edges; not the diagonals of its quads or the rings of a segmented leg), and
    of its open boundary."""
    sharp = m.face_adjacency_edges[m.face_adjacency_angles > np.radians(angle_deg)]
    counts = np.bincount(m.edges_unique_inverse, minlength=len(m.edges_unique))
    boundary = m.edges_unique[counts == 1]
    return m.vertices[np.vstack([sharp, boundary])]
