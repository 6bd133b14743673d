"""Planar finite element model of the shear frame in its sway plane (pure; no I/O).

Plane: x is the sway direction, z is up; every node has (u_x, u_z, theta) with theta the
counter-clockwise rotation in the (x, z) plane (theta = -rotation about +y, the CalculiX DOF 5).

What is modelled, and why:
- **Legs** are beams (Euler-Bernoulli or Timoshenko, consistent mass) along two leg lines at
  x = +-(floor length / 2 + leg thickness / 2): in the sway plane the two legs on one side of
  the floors act as one member with twice the section. Only the free length between clamps is
  flexible; their axial stiffness lets the floors rock (frame action), which a shear building
  ignores.
- **Floors** are rigid bodies (a 25.4 mm plate is ~5000 times stiffer in bending than a leg)
  with the slab's mass and rocking inertia, the clamp blocks' mass and the leg length held in
  the clamp. Every mass is a point mass (the slab's inertia by two half-masses at +-r), so the
  CalculiX export carries exactly the same inertia.
- **Clamps**: the leg end at each clamp edge follows the body it is clamped to; its rotation is
  tied rigidly (clamp stiffness 0) or through a rotational spring k_r (N m/rad per leg), the
  one parameter that absorbs bolt slip and block compliance when calibrated to measurements.
- **Feet**: the base clamp blocks are rigid bodies carried by the L-angle's vertical flange, a
  short stiff cantilever from the table (clamped, like Cristallo's pinned solid foot faces) to the
  block's mid-height.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg


@dataclass(frozen=True, kw_only=True)
class FrameSpec:
    """Geometry and material of the frame (SI units)."""

    n_storeys: int
    floor_size_m: tuple[float, float, float]  # across the sway, along the sway, thickness
    leg_width_m: float
    leg_thickness_m: float
    free_leg_length_m: float
    base_clearance_m: float
    clamp_block_m: tuple[float, float, float]  # across, height, thickness (along the sway)
    foot_leg_m: float
    foot_thickness_m: float
    foot_depth_m: float
    youngs_modulus_pa: float
    density_kg_m3: float
    poisson_ratio: float
    floor_mass_kg: float = 0.0  # 0: density x slab volume
    clamp_stiffness_n_m_per_rad: float = 0.0  # per leg end; 0: rigid clamp
    legs_per_side: int = 2

    @property
    def slab_mass_kg(self) -> float:
        a, b, t = self.floor_size_m
        return self.floor_mass_kg or self.density_kg_m3 * a * b * t


@dataclass(frozen=True)
class Section:
    """A beam section in the sway plane: depth along the bending direction, width out of it."""

    depth_m: float
    width_m: float
    youngs_modulus_pa: float
    density_kg_m3: float
    poisson_ratio: float

    @property
    def area(self) -> float:
        return self.depth_m * self.width_m

    @property
    def inertia(self) -> float:
        return self.width_m * self.depth_m**3 / 12.0

    @property
    def shear_modulus(self) -> float:
        return self.youngs_modulus_pa / (2.0 * (1.0 + self.poisson_ratio))


@dataclass(frozen=True)
class Body:
    """A rigid body: reference point, nodes attached to it, and its point masses (x, z, kg)."""

    name: str
    ref: tuple[float, float]
    rigid_nodes: tuple[int, ...]  # follow the body in translation and rotation
    hinged_nodes: tuple[int, ...]  # follow it in translation; rotation through the clamp spring
    masses: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True)
class FrameModel:
    """Nodes (x, z), beam elements (i, j, section), clamped nodes and rigid bodies."""

    nodes: np.ndarray
    elements: tuple[tuple[int, int, str], ...]
    sections: dict[str, Section]
    fixed: tuple[int, ...]
    bodies: tuple[Body, ...]
    floors: tuple[int, ...]  # body index of floor 1..N
    clamp_stiffness: float  # N m/rad per spring (0: rigid)
    leg_elements: int  # elements per free leg length
    legs_per_node: int = 1  # legs a leg-line node stands for (each has its clamp spring)


def floor_heights(spec: FrameSpec) -> np.ndarray:
    """Mid-plane height of floors 1..N above the table, m (the scene meshes' convention)."""
    ft = spec.floor_size_m[2]
    pitch = spec.free_leg_length_m + ft
    return spec.base_clearance_m + spec.free_leg_length_m + ft / 2 + pitch * np.arange(
        spec.n_storeys)


def build_frame(spec: FrameSpec, elements_per_leg: int = 4) -> FrameModel:
    """The planar frame model of `spec` with `elements_per_leg` beams per free leg length."""
    if elements_per_leg < 1:
        raise ValueError(f"elements_per_leg must be >= 1, got {elements_per_leg}")
    n, ne = spec.n_storeys, elements_per_leg
    fx, ft = spec.floor_size_m[1], spec.floor_size_m[2]
    t, w, c = spec.leg_thickness_m, spec.leg_width_m, spec.base_clearance_m
    bx, _, bz = spec.clamp_block_m
    mat = (spec.youngs_modulus_pa, spec.density_kg_m3, spec.poisson_ratio)
    nl = spec.legs_per_side
    sections = {"leg": Section(t, nl * w, *mat),
                "foot": Section(spec.foot_thickness_m, nl * spec.foot_depth_m, *mat)}
    a = fx / 2 + t / 2  # leg centre lines
    x_block = a + t / 2 + bz / 2
    x_foot = a + t / 2 + bz + spec.foot_thickness_m / 2
    heights = floor_heights(spec)
    leg_mass_per_m = spec.density_kg_m3 * sections["leg"].area
    block_mass = spec.density_kg_m3 * bx * spec.clamp_block_m[1] * bz

    nodes: list[tuple[float, float]] = []

    def node(x: float, z: float) -> int:
        nodes.append((x, z))
        return len(nodes) - 1

    elements: list[tuple[int, int, str]] = []
    fixed: list[int] = []
    bodies: list[Body] = []
    # Per side: base block body on its foot, then the legs storey by storey.
    ends: dict[tuple[int, int], tuple[int, int]] = {}  # (side, storey) -> (bottom, top) nodes
    base_bodies = []
    for side in (-1.0, 1.0):
        foot_root = node(side * x_foot, 0.0)
        foot_top = node(side * x_foot, c / 2)
        fixed.append(foot_root)
        elements.append((foot_root, foot_top, "foot"))
        for i in range(n):
            z0 = c + i * (spec.free_leg_length_m + ft)
            chain = [node(side * a, z0 + spec.free_leg_length_m * k / ne) for k in range(ne + 1)]
            elements += [(p, q, "leg") for p, q in zip(chain[:-1], chain[1:])]
            ends[(int(side), i)] = (chain[0], chain[-1])
        # base block + the leg inside it (point masses at their centres)
        masses = ((side * x_block, c / 2, nl * block_mass), (side * a, c / 2, leg_mass_per_m * c))
        base_bodies.append(Body(f"base{'LR'[side > 0]}", (side * a, c / 2), (foot_top,),
                                (ends[(int(side), 0)][0],), masses))
    bodies += base_bodies
    r = np.sqrt((fx**2 + ft**2) / 12.0)  # slab rocking inertia m (fx^2 + ft^2)/12 as m/2 at +-r
    m_slab = spec.slab_mass_kg
    floors = []
    for i, zf in enumerate(heights):
        masses = [(-r, zf, m_slab / 2), (r, zf, m_slab / 2)]
        hinged = []
        for side in (-1, 1):
            masses += [(side * x_block, zf, nl * block_mass), (side * a, zf, leg_mass_per_m * ft)]
            hinged.append(ends[(side, i)][1])
            if i + 1 < n:
                hinged.append(ends[(side, i + 1)][0])
        floors.append(len(bodies))
        bodies.append(Body(f"floor{i + 1}", (0.0, zf), (), tuple(hinged), tuple(masses)))
    return FrameModel(np.array(nodes), tuple(elements), sections, tuple(fixed), tuple(bodies),
                      tuple(floors), spec.clamp_stiffness_n_m_per_rad, ne, nl)


# ---------------------------------------------------------------------------------------------
# Element matrices
# ---------------------------------------------------------------------------------------------

def beam_matrices(sec: Section, length: float, theory: str = "euler-bernoulli"
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Local stiffness and consistent mass (6x6) of a plane beam, DOFs (u1, v1, th1, u2, v2, th2).

    Timoshenko: shear flexibility through phi = 12 EI / (kappa G A L^2) (kappa = 5/6 for a
    rectangle) and the section's rotary inertia; Euler-Bernoulli: phi = 0, no rotary inertia.
    """
    L, E, A, Iz, rho = length, sec.youngs_modulus_pa, sec.area, sec.inertia, sec.density_kg_m3
    tim = theory == "timoshenko"
    phi = 12 * E * Iz / (5.0 / 6.0 * sec.shear_modulus * A * L**2) if tim else 0.0
    K = np.zeros((6, 6))
    K[np.ix_([0, 3], [0, 3])] = E * A / L * np.array([[1, -1], [-1, 1]])
    kb = E * Iz / ((1 + phi) * L**3) * np.array([
        [12, 6 * L, -12, 6 * L],
        [6 * L, (4 + phi) * L**2, -6 * L, (2 - phi) * L**2],
        [-12, -6 * L, 12, -6 * L],
        [6 * L, (2 - phi) * L**2, -6 * L, (4 + phi) * L**2]])
    b = [1, 2, 4, 5]
    K[np.ix_(b, b)] = kb
    M = np.zeros((6, 6))
    m = rho * A * L
    M[np.ix_([0, 3], [0, 3])] = m / 6 * np.array([[2, 1], [1, 2]])
    mb = m / 420 * np.array([
        [156, 22 * L, 54, -13 * L],
        [22 * L, 4 * L**2, 13 * L, -3 * L**2],
        [54, 13 * L, 156, -22 * L],
        [-13 * L, -3 * L**2, -22 * L, 4 * L**2]])
    if tim:  # rotary inertia of the section
        mb = mb + rho * Iz / (30 * L) * np.array([
            [36, 3 * L, -36, 3 * L],
            [3 * L, 4 * L**2, -3 * L, -L**2],
            [-36, -3 * L, 36, -3 * L],
            [3 * L, -L**2, -3 * L, 4 * L**2]])
    M[np.ix_(b, b)] = mb
    return K, M


def _rotation(dx: float, dz: float) -> np.ndarray:
    L = np.hypot(dx, dz)
    c, s = dx / L, dz / L
    r = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1.0]])
    T = np.zeros((6, 6))
    T[:3, :3] = T[3:, 3:] = r
    return T


# ---------------------------------------------------------------------------------------------
# Assembly with rigid bodies and clamp springs
# ---------------------------------------------------------------------------------------------

def _body_rows(ref, x: float, z: float) -> np.ndarray:
    """Rigid-body kinematics: (u_x, u_z, theta) of point (x, z) from the body's (U, W, Theta)."""
    return np.array([[1.0, 0.0, -(z - ref[1])], [0.0, 1.0, x - ref[0]], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Assembled:
    K: np.ndarray  # reduced stiffness, N/m and N m/rad
    M: np.ndarray  # reduced mass
    T: np.ndarray  # node DOFs (3 per node) = T @ reduced DOFs
    body_dofs: np.ndarray  # (n_bodies, 3) reduced-DOF index of each body's (U, W, Theta)


def assemble(model: FrameModel, theory: str = "euler-bernoulli") -> Assembled:
    """Reduced K and M: free node DOFs, rotation of clamp-spring nodes, 3 DOFs per body."""
    nn = len(model.nodes)
    owner: dict[int, tuple[int, bool]] = {}
    for b, body in enumerate(model.bodies):
        for i in body.rigid_nodes:
            owner[i] = (b, True)
        for i in body.hinged_nodes:
            owner[i] = (b, model.clamp_stiffness <= 0)  # rigid clamp: rotation tied too
    fixed = set(model.fixed)
    n_red = 0
    own_dofs: dict[int, list[int]] = {}
    for i in range(nn):
        if i in fixed:
            continue
        if i not in owner:
            own_dofs[i] = [n_red, n_red + 1, n_red + 2]
            n_red += 3
        elif not owner[i][1]:
            own_dofs[i] = [n_red]  # its own rotation only
            n_red += 1
    body_dofs = np.arange(n_red, n_red + 3 * len(model.bodies)).reshape(-1, 3)
    n_red += 3 * len(model.bodies)
    T = np.zeros((3 * nn, n_red))
    for i in range(nn):
        rows = slice(3 * i, 3 * i + 3)
        if i in fixed:
            continue
        if i not in owner:
            T[rows, own_dofs[i]] = np.eye(3)
            continue
        b, rigid = owner[i]
        body = model.bodies[b]
        kin = _body_rows(body.ref, *model.nodes[i])
        T[rows, body_dofs[b]] = kin if rigid else np.vstack([kin[:2], np.zeros(3)])
        if not rigid:
            T[3 * i + 2, own_dofs[i][0]] = 1.0
    Kf = np.zeros((3 * nn, 3 * nn))
    Mf = np.zeros((3 * nn, 3 * nn))
    for i, j, name in model.elements:
        d = model.nodes[j] - model.nodes[i]
        k, m = beam_matrices(model.sections[name], float(np.hypot(*d)), theory)
        R = _rotation(*d)
        idx = [3 * i, 3 * i + 1, 3 * i + 2, 3 * j, 3 * j + 1, 3 * j + 2]
        Kf[np.ix_(idx, idx)] += R.T @ k @ R
        Mf[np.ix_(idx, idx)] += R.T @ m @ R
    K = T.T @ Kf @ T
    M = T.T @ Mf @ T
    for b, body in enumerate(model.bodies):
        bd = body_dofs[b]
        for x, z, m in body.masses:  # point mass: translations follow the body
            kin = _body_rows(body.ref, x, z)[:2]
            M[np.ix_(bd, bd)] += m * kin.T @ kin
        if model.clamp_stiffness > 0:  # spring between each leg end's rotation and the body's
            for i in body.hinged_nodes:
                p, q = own_dofs[i][0], bd[2]
                kr = model.clamp_stiffness * model.legs_per_node
                K[p, p] += kr
                K[q, q] += kr
                K[p, q] -= kr
                K[q, p] -= kr
    return Assembled(K, M, T, body_dofs)


@dataclass(frozen=True)
class FrameModes:
    """Modes of the frame below f_max: frequencies, floor sway and node displacements."""

    frequencies_hz: np.ndarray  # (n_modes,)
    floor_sway: np.ndarray  # (n_modes, N): floor sway, largest |entry| = +1
    node_displacements: np.ndarray  # (n_modes, n_nodes, 3): u_x, u_z (m), theta (rad), same scale
    nodes: np.ndarray  # (n_nodes, 2): x, z (m)


def frame_modes(model: FrameModel, f_max_hz: float = np.inf,
                theory: str = "euler-bernoulli") -> FrameModes:
    """Solve K phi = w^2 M phi (scipy.linalg.eigh) and keep the modes below f_max_hz."""
    asm = assemble(model, theory)
    w2, phi = scipy.linalg.eigh(asm.K, asm.M)
    f = np.sqrt(np.clip(w2, 0.0, None)) / (2 * np.pi)
    keep = f <= f_max_hz
    f, phi = f[keep], phi[:, keep]
    sway = phi[asm.body_dofs[list(model.floors), 0], :].T  # (modes, N)
    nodal = (asm.T @ phi).T.reshape(len(f), -1, 3)
    for r in range(len(f)):
        # one sign and scale convention: the largest floor sway is +1 (modes without floor
        # sway, e.g. foot modes, are scaled by their largest node translation)
        ref = sway[r] if np.max(np.abs(sway[r])) > 1e-9 * np.max(np.abs(nodal[r])) \
            else nodal[r][:, :2].ravel()
        scale = ref[np.argmax(np.abs(ref))]
        sway[r] /= scale
        nodal[r] /= scale
    return FrameModes(f, sway, nodal, model.nodes.copy())


def frame_frequencies(spec: FrameSpec, elements_per_leg: int, f_max_hz: float = np.inf,
                      theory: str = "euler-bernoulli") -> np.ndarray:
    return frame_modes(build_frame(spec, elements_per_leg), f_max_hz, theory).frequencies_hz


def shear_building_stiffness(spec: FrameSpec) -> float:
    """Storey stiffness of 2 x legs_per_side clamped-guided legs, N/m: 12 E I / L^3 each."""
    inertia = spec.leg_width_m * spec.leg_thickness_m**3 / 12.0
    return 2 * spec.legs_per_side * 12 * spec.youngs_modulus_pa * inertia / \
        spec.free_leg_length_m**3


def beam_frequencies(length_m: float, section: Section, n_elements: int, end: str = "free",
                     theory: str = "euler-bernoulli") -> np.ndarray:
    """Bending frequencies (Hz) of one beam clamped at x = 0 with its other end `free`
    (cantilever) or `guided` (slope and axial motion held, transverse motion free)."""
    nodes = np.column_stack([np.linspace(0.0, length_m, n_elements + 1),
                             np.zeros(n_elements + 1)])
    model = FrameModel(nodes, tuple((i, i + 1, "b") for i in range(n_elements)),
                       {"b": section}, (0,), (), (), 0.0, n_elements)
    asm = assemble(model, theory)
    K, M = asm.K, asm.M
    keep = np.ones(K.shape[0], bool)
    keep[0::3] = False  # drop axial DOFs: bending modes only
    if end == "guided":
        keep[-1] = False
    w2 = scipy.linalg.eigh(K[np.ix_(keep, keep)], M[np.ix_(keep, keep)], eigvals_only=True)
    return np.sqrt(w2) / (2 * np.pi)
