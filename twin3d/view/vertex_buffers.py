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
    for each of the triangle's vertices (flat shading)."""
    t = v.reshape(-1, 3, 3)
    n = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
    return np.repeat(n, 3, axis=0)
