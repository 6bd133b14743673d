"""Surface materials of the rig's parts (pure data, no rendering): how metallic and how rough
each kind is, and the axis it was brushed or ground along.

The shaded look (view/lighting.py) reads these per vertex, packed into the mesh's texture
coordinates by `material_uv` (one mesh holds several materials: the structure's floors, legs
and clamps bend together, so they cannot be split into entities). Base colours stay in
scenefile/meshes.py COLOURS (the GLB export uses them too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHADINGS = ("pbr", "classic")  # classic: Ursina's lit_with_shadows_shader (the bench baseline)
COLOUR_BY = ("drift", "displacement")


@dataclass
class Look:
    """How the rig is drawn, chosen on the command line (--ghost, --colour) before the scene
    is built; RigView reads `LOOK` when it is built."""

    shading: str = "pbr"
    ghost: bool = False  # the undeformed structure drawn faintly behind the moving one
    colour: str = "drift"  # legs by storey drift, or the whole frame by its displacement


LOOK = Look()

# brush axes in the scene's axes (Ursina: x sway, y up, z across); 0: no grain
NONE, SWAY, UP, ACROSS = 0, 1, 2, 3


@dataclass(frozen=True)
class Material:
    metallic: float  # 0 dielectric .. 1 bare metal
    roughness: float  # 0 mirror .. 1 chalk (GGX alpha = roughness^2)
    brush: int = NONE  # the grain's axis: highlights stretch across it


MATERIALS = {
    # 6082 aluminium: slabs machined along the sway, legs drawn along their length
    # (aluminium below 1.0 metallic: its oxide and brushing scatter some light diffusely)
    "floor": Material(0.85, 0.38, SWAY),
    "leg": Material(0.85, 0.34, UP),
    "clamp": Material(1.0, 0.55),  # bead-blasted steel blocks
    "foot": Material(1.0, 0.45, UP),
    "table": Material(1.0, 0.30, SWAY),  # ground steel slip table
    "carriage": Material(0.9, 0.40),
    "rail": Material(1.0, 0.22, SWAY),  # hardened, ground linear rails
    "base": Material(0.0, 0.85),  # painted steel plate
    "stator": Material(0.55, 0.42),  # black anodised motor can
    "mount": Material(0.9, 0.40),  # the motor's bare aluminium end bell, flange and foot
    "rotor": Material(0.7, 0.35),
    "shaft": Material(1.0, 0.18),
    "crank": Material(0.85, 0.32),
    "rod": Material(0.9, 0.36, SWAY),
    "lab_floor": Material(0.0, 0.72),  # sealed concrete
}
DEFAULT = Material(0.5, 0.5)


def material_uv(kind: str) -> tuple[float, float]:
    """(u, v) carrying the material of `kind` to the shader: u = brush axis + metallic / 2
    (integer part the axis, fraction the metalness), v = roughness."""
    m = MATERIALS.get(kind, DEFAULT)
    return m.brush + 0.5 * min(max(m.metallic, 0.0), 0.999), min(max(m.roughness, 0.03), 1.0)


def decode_uv(uv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shader's reading of material_uv, in numpy (for tests): brush axis, metallic,
    roughness."""
    uv = np.asarray(uv, dtype=float)
    axis = np.floor(uv[..., 0])
    return axis.astype(int), 2.0 * (uv[..., 0] - axis), uv[..., 1]
