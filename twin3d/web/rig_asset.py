"""The rig's meshes for the browser: the GLB the project generates (`scenefile.meshes`), served
as it is, and a sidecar that tells the page how every vertex of it moves.

The page loads the GLB with three.js's GLTFLoader, which keeps each mesh's vertices in the
file's order; the sidecar lists, per node in that same order, the node's role (structure, table,
rotor, fixed) and, for structure nodes, the desktop scene's sway weights (j0, j1, w1) of every
vertex (`scenefile.meshes.sway_weights` on the GLB's own vertex heights). So the browser bends
the legs with exactly the desktop's map: x += (1 - w1) q[j0] + w1 q[j1].
"""

from __future__ import annotations

import json
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin3d.scenefile.meshes import (_ROLES, export_glb, generated_glb, kind_of, scene_parts,
                                     sway_weights)
from twin3d.scenefile.records import Scene

_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
_DTYPES = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32,
           5126: np.float32}


class MeshFileError(ValueError):
    """A mesh file that cannot be served (one line: which file and why)."""


@dataclass(frozen=True)
class RigAsset:
    glb: bytes  # the GLB file's bytes, served unchanged
    path: Path
    sway: dict  # the sidecar: {"nodes": [{"name", "role", "j0", "j1", "w1", "pivot"}...]}


def glb_positions(glb: bytes) -> list[tuple[str, np.ndarray]]:
    """(node name, (n, 3) float32 positions in scene axes) for every mesh node, in the file's
    node order: the vertices as a glTF loader sees them (node translation/matrix applied)."""
    if len(glb) < 20 or glb[:4] != b"glTF":
        raise MeshFileError("not a GLB file (no glTF header)")
    length, ctype = struct.unpack_from("<I4s", glb, 12)
    if ctype != b"JSON":
        raise MeshFileError("GLB: first chunk is not JSON")
    doc = json.loads(glb[20:20 + length])
    off = 20 + length
    blen, btype = struct.unpack_from("<I4s", glb, off)
    binary = glb[off + 8:off + 8 + blen] if btype == b"BIN\x00" else b""
    out = []
    for node in doc.get("nodes", []):
        if "mesh" not in node:
            continue
        mesh = doc["meshes"][node["mesh"]]
        acc = doc["accessors"][mesh["primitives"][0]["attributes"]["POSITION"]]
        view = doc["bufferViews"][acc["bufferView"]]
        start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
        n = acc["count"]
        dtype = _DTYPES[acc["componentType"]]
        width = _COMPONENTS[acc["type"]]
        stride = view.get("byteStride", 0) or width * np.dtype(dtype).itemsize
        raw = np.frombuffer(binary, np.uint8, count=stride * (n - 1) + width * 4, offset=start)
        pos = np.lib.stride_tricks.as_strided(raw, (n, width * 4), (stride, 1)).copy()
        pos = pos.view(dtype).reshape(n, width).astype(np.float32)
        m = np.array(node["matrix"], dtype=float).reshape(4, 4).T if "matrix" in node \
            else np.eye(4)
        if "translation" in node:
            m[:3, 3] += node["translation"]
        pos = (pos @ m[:3, :3].T + m[:3, 3]).astype(np.float32)
        out.append((node.get("name", f"node{len(out)}"), pos))
    return out


def sway_sidecar(glb: bytes, scene: Scene) -> dict:
    """How each node of the GLB moves: role, and per-vertex sway weights for the structure;
    the rotor group's pivot (its first part's centroid, as the desktop scene spins it)."""
    g = scene.data.geometry
    nodes, pivot = [], None
    for name, pos in glb_positions(glb):
        kind = "floor" if name.startswith("user_structure") else \
            name[len("user_"):] if name.startswith("user_") else kind_of(name)
        role = _ROLES.get(kind, "fixed")
        entry = {"name": name, "role": role, "n": int(len(pos))}
        if role == "structure":
            j0, j1, w1 = sway_weights(pos[:, 1].astype(float), g)
            entry.update(j0=j0.tolist(), j1=j1.tolist(), w1=w1.tolist())
        if role == "rotor" and pivot is None:
            # trimesh's centroid is area-weighted; the rotor is a closed cylinder, so its
            # bounding-box centre is the same point on the shaft axis
            pivot = ((pos.min(axis=0) + pos.max(axis=0)) / 2).astype(float).tolist()
        nodes.append(entry)
    return {"nodes": nodes, "rotor_pivot": pivot or [0.0, 0.0, 0.0],
            "n_storeys": scene.n_storeys}


def rig_asset(scene: Scene, assets: Path, folder: Path | None = None) -> RigAsset:
    """The GLB to serve: the generated one (assets/generated, written if missing), or, when the
    scene file names its own meshes, those meshes with the generated parts they replace gone.
    A user mesh that cannot be used raises MeshFileError (the CLI's one line, exit 2)."""
    parts, problems = scene_parts(scene, assets / "generated")
    if problems:
        raise MeshFileError(problems[0].split("; drawing")[0])
    if scene.data.meshes:
        out = (folder or Path(tempfile.mkdtemp(prefix="twin3d-web-"))) / "rig-user.glb"
        path = export_glb(parts, out)
    else:
        path = generated_glb(scene.data.geometry, assets / "generated", scene.has_rig)
        if not path.is_file():  # a read-only checkout: write the generated parts elsewhere
            out = (folder or Path(tempfile.mkdtemp(prefix="twin3d-web-"))) / path.name
            path = export_glb(parts, out)
    try:
        glb = path.read_bytes()
    except OSError as e:
        raise MeshFileError(f"cannot read the mesh file {path} ({e.strerror or e})") from None
    try:
        sway = sway_sidecar(glb, scene)
    except (KeyError, IndexError, ValueError, struct.error) as e:
        raise MeshFileError(f"mesh file {path} is not a usable GLB ({e})") from None
    return RigAsset(glb, path, sway)
