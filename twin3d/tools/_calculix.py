"""The frame model of `twin3d.physics.fe_frame` as solver input decks, and a CalculiX run.

CalculiX (`ccx`): B31 beams (which ccx expands into C3D8I bricks, so the check also covers
the beam theory), `*RIGID BODY` floors and base blocks, `MASS` elements for the point masses,
all nodes held in the sway plane, and a `*FREQUENCY` step. A finite clamp spring is a small
rigid body on each leg end whose rotation node (in ccx its translations are the body's
rotations) is tied to the floor's rotation node by a `SPRING2` element; its reference node
sits on the floor body. ABAQUS: the same deck with true B31 beams, `PIN NSET` ties and
rotational `SPRING2` elements (written, not run here).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin3d.physics.fe_frame import FrameModel


@dataclass(frozen=True)
class CcxResult:
    frequencies_hz: np.ndarray
    message: str  # why there are no frequencies, or how they were obtained
    inp: str  # the deck that was run


def _lines(values, per_line: int = 8) -> list[str]:
    vals = [str(v) for v in values]
    return [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]


def _deck(model: FrameModel, n_modes: int, f_max_hz: float, flavour: str) -> str:
    """Shared writer. Node ids: model nodes 1..n, then extra nodes (masses, body nodes)."""
    out = ["** twin3d planar frame: x sway, z up, SI units (m, kg, s, N, Pa)",
           f"** {flavour} deck written by twin3d.tools._calculix", "*NODE"]
    nid = len(model.nodes)
    out += [f"{i + 1}, {x:.9g}, 0, {z:.9g}" for i, (x, z) in enumerate(model.nodes)]
    extra: list[str] = []

    def new_node(x: float, z: float) -> int:
        nonlocal nid
        nid += 1
        extra.append(f"{nid}, {x:.9g}, 0, {z:.9g}")
        return nid

    springs: list[tuple[int, int]] = []  # (leg end rot node or node, body rot/ref node)
    bodies_txt: list[str] = []
    mass_txt: list[str] = []
    in_plane: list[int] = []  # body reference nodes: held in the plane
    rot_nodes: list[int] = []  # ccx rotation nodes: only rotation about y may move
    eid = len(model.elements)
    rigid_clamp = model.clamp_stiffness <= 0
    for b, body in enumerate(model.bodies):
        ref = new_node(*body.ref)
        rot = new_node(*body.ref) if flavour == "ccx" else None
        members = [i + 1 for i in body.rigid_nodes]
        pinned = []
        for i in body.hinged_nodes:
            if rigid_clamp:
                members.append(i + 1)
            elif flavour == "ccx":
                # small body on the leg end: its ref node rides on the floor body, its
                # rotation node is sprung to the floor's rotation node
                href, hrot = new_node(*model.nodes[i]), new_node(*model.nodes[i])
                bodies_txt += [f"*NSET, NSET=H{i + 1}", f"{i + 1}",
                               f"*RIGID BODY, NSET=H{i + 1}, REF NODE={href}, ROT NODE={hrot}"]
                members.append(href)
                rot_nodes.append(hrot)
                springs.append((hrot, rot))
            else:
                pinned.append(i + 1)
                springs.append((i + 1, ref))
        for k, (x, z, m) in enumerate(body.masses):
            mn = new_node(x, z)
            eid += 1
            mass_txt += [f"*ELEMENT, TYPE=MASS, ELSET=M{b}_{k}", f"{eid}, {mn}",
                         f"*MASS, ELSET=M{b}_{k}", f"{m:.9g}"]
            (members if flavour == "ccx" else pinned).append(mn)
        name = f"B{b}"
        bodies_txt += [f"*NSET, NSET={name}", *_lines(members)]
        if flavour == "ccx":
            bodies_txt.append(f"*RIGID BODY, NSET={name}, REF NODE={ref}, ROT NODE={rot}")
            rot_nodes.append(rot)
        else:
            line = f"*RIGID BODY, REF NODE={ref}, TIE NSET={name}"
            if pinned:
                bodies_txt += [f"*NSET, NSET={name}P", *_lines(pinned)]
                line += f", PIN NSET={name}P"
            bodies_txt.append(line)
        in_plane.append(ref)
    out += extra
    beam_type = "B31"
    for sname in model.sections:
        ids = [e + 1 for e, (_, _, s) in enumerate(model.elements) if s == sname]
        out.append(f"*ELEMENT, TYPE={beam_type}, ELSET=E{sname.upper()}")
        out += [f"{e}, {model.elements[e - 1][0] + 1}, {model.elements[e - 1][1] + 1}"
                for e in ids]
    out += mass_txt
    for sname, sec in model.sections.items():
        out += [f"*MATERIAL, NAME=MAT_{sname.upper()}", "*ELASTIC",
                f"{sec.youngs_modulus_pa:.9g}, {sec.poisson_ratio:.9g}", "*DENSITY",
                f"{sec.density_kg_m3:.9g}",
                f"*BEAM SECTION, ELSET=E{sname.upper()}, MATERIAL=MAT_{sname.upper()}, "
                "SECTION=RECT",
                f"{sec.depth_m:.9g}, {sec.width_m:.9g}", "1, 0, 0"]  # depth along x (the sway)
    out += bodies_txt
    if springs:
        kr = model.clamp_stiffness * model.legs_per_node
        first = eid + 1
        out.append("*ELEMENT, TYPE=SPRING2, ELSET=ECLAMP")
        out += [f"{eid + 1 + k}, {a}, {b}" for k, (a, b) in enumerate(springs)]
        eid += len(springs)
        # ccx: rotation about y is translation DOF 2 of the rotation nodes; ABAQUS: DOF 5
        dof = 2 if flavour == "ccx" else 5
        out += ["*SPRING, ELSET=ECLAMP", f"{dof}, {dof}", f"{kr:.9g}"]
        del first
    # boundary conditions: feet clamped on the table; everything held in the x-z plane
    body_nodes = {i for body in model.bodies for i in (*body.rigid_nodes, *body.hinged_nodes)}
    fixed = set(model.fixed)
    out.append("*BOUNDARY")
    out += [f"{i + 1}, 1, 6" for i in sorted(fixed)]
    free = [i + 1 for i in range(len(model.nodes)) if i not in fixed and (
        i not in body_nodes or (not rigid_clamp and flavour != "ccx"
                                and any(i in b.hinged_nodes for b in model.bodies)))]
    for n in free:
        out += [f"{n}, 2, 2", f"{n}, 4, 4", f"{n}, 6, 6"]
    for n in in_plane:
        out += [f"{n}, 2, 2"] + ([f"{n}, 4, 4", f"{n}, 6, 6"] if flavour != "ccx" else [])
    for n in rot_nodes:
        out += [f"{n}, 1, 1", f"{n}, 3, 3"]
    out += ["*STEP"]
    if flavour == "ccx":
        out += ["*FREQUENCY", f"{n_modes}"]
    else:
        out += ["*FREQUENCY, EIGENSOLVER=LANCZOS", f", 0., {f_max_hz:.9g}"]
    out += ["*END STEP", ""]
    return "\n".join(out)


# Spider arms stand for the rigid bodies in the CalculiX deck: ccx expands beams into bricks and
# a *RIGID BODY holding a beam node ties only its mean displacement (a hinge), whereas beams
# meeting at a node are joined by a rigid knot. Arms: 30 mm square, E x 1e4, massless.
ARM_SIZE_M = 0.03
ARM_STIFFENING = 1e4
HINGE_LENGTH_M = 5e-4  # clamp spring = this much leg inside the clamp with E_h = k_r h / I


def ccx_deck(model: FrameModel, n_modes: int) -> str:
    """CalculiX input deck asking for the lowest `n_modes` eigenfrequencies."""
    leg = model.sections["leg"]
    out = ["** twin3d planar frame for CalculiX: x sway, z up, SI units (m, kg, s, N, Pa)",
           "** rigid bodies as stiff massless spider beams; point masses as MASS elements",
           "*NODE"]
    out += [f"{i + 1}, {x:.9g}, 0, {z:.9g}" for i, (x, z) in enumerate(model.nodes)]
    nid = len(model.nodes)
    extra, arms, hinges, masses = [], [], [], []

    def new_node(x: float, z: float) -> int:
        nonlocal nid
        nid += 1
        extra.append(f"{nid}, {x:.9g}, 0, {z:.9g}")
        return nid

    rigid_clamp = model.clamp_stiffness <= 0
    for body in model.bodies:
        ref = new_node(*body.ref)
        for i in body.rigid_nodes:
            arms.append((ref, i + 1))
        for i in body.hinged_nodes:
            if rigid_clamp:
                arms.append((ref, i + 1))
                continue
            x, z = model.nodes[i]
            inner = new_node(x, z + HINGE_LENGTH_M * np.sign(body.ref[1] - z))
            hinges.append((i + 1, inner))
            arms.append((ref, inner))
        for x, z, m in body.masses:
            at_ref = np.hypot(x - body.ref[0], z - body.ref[1]) < 1e-9
            mn = ref if at_ref else new_node(x, z)
            if not at_ref:
                arms.append((ref, mn))
            masses.append((mn, m))
    out += extra
    eid = 0
    groups = [(name, [(i + 1, j + 1) for i, j, s in model.elements if s == name])
              for name in model.sections]
    groups += [("arm", arms), ("hinge", hinges)]
    for name, pairs in groups:
        if pairs:
            out.append(f"*ELEMENT, TYPE=B31, ELSET=E{name.upper()}")
            out += [f"{eid + k + 1}, {a}, {b}" for k, (a, b) in enumerate(pairs)]
            eid += len(pairs)
    for k, (n, m) in enumerate(masses):
        out += [f"*ELEMENT, TYPE=MASS, ELSET=M{k}", f"{eid + k + 1}, {n}",
                f"*MASS, ELSET=M{k}", f"{m:.9g}"]
    # nu = 0 in the bricks ccx expands the beams into: with the real nu the rigid knots at the
    # clamps suppress the strip's anticlastic curvature (a plate effect, +1.2 % on mode 1,
    # measured) that no beam theory has; the beam model itself uses nu only for G.
    props = [(name, sec.youngs_modulus_pa, sec.density_kg_m3, 0.0,
              sec.depth_m, sec.width_m, "1, 0, 0") for name, sec in model.sections.items()]
    props.append(("arm", leg.youngs_modulus_pa * ARM_STIFFENING, 0.0, leg.poisson_ratio,
                  ARM_SIZE_M, ARM_SIZE_M, "0, 1, 0"))
    if hinges:
        e_h = model.clamp_stiffness * model.legs_per_node * HINGE_LENGTH_M / leg.inertia
        props.append(("hinge", e_h, 0.0, 0.0, leg.depth_m, leg.width_m,
                      "1, 0, 0"))
    for name, e, rho, nu, depth, width, axis in props:
        out += [f"*MATERIAL, NAME=MAT_{name.upper()}", "*ELASTIC", f"{e:.9g}, {nu:.9g}",
                "*DENSITY", f"{rho:.9g}",
                f"*BEAM SECTION, ELSET=E{name.upper()}, MATERIAL=MAT_{name.upper()}, "
                "SECTION=RECT", f"{depth:.9g}, {width:.9g}", axis]
    # feet clamped on the table; every node held in the sway plane (y = 0)
    out.append("*BOUNDARY")
    out += [f"{i + 1}, 1, 6" for i in model.fixed]
    # no in-plane SPCs: they clash with ccx's knot MPCs; out-of-plane modes are told apart by
    # the caller (their floor sway is zero), and none lies near the sway modes
    out += ["*STEP", "*FREQUENCY", f"{n_modes}", "*END STEP", ""]
    return "\n".join(out)


def abaqus_deck(model: FrameModel, f_max_hz: float) -> str:
    """ABAQUS/Standard input deck: all eigenfrequencies below f_max_hz (Lanczos)."""
    return _deck(model, 0, f_max_hz, "abaqus")


def parse_dat(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz, the CYCLES/TIME column) of the first eigenvalue table in a .dat file,
    and the participation factors (modes x 6: x, y, z, rotations about x, y, z)."""
    start = text.find("E I G E N V A L U E   O U T P U T")
    if start < 0:
        raise ValueError("no eigenvalue output in the .dat file")
    freqs: list[float] = []
    part: dict[int, list[float]] = {}
    table = "eig"
    for line in text[start:].splitlines()[1:]:
        if "P A R T I C I P A T I O N" in line:
            table = "part"
            continue
        if "E F F E C T I V E" in line or "E I G E N V A L U E" in line:
            break
        cols = line.split()
        if not cols or not cols[0].isdigit():
            continue
        if table == "eig" and len(cols) == 5:
            freqs.append(float(cols[3]))
        elif table == "part" and len(cols) == 7:
            part[int(cols[0])] = [float(c) for c in cols[1:]]
    factors = np.array([part.get(i + 1, [np.nan] * 6) for i in range(len(freqs))])
    return np.array(freqs), factors.reshape(len(freqs), 6)


def in_plane(factors: np.ndarray) -> np.ndarray:
    """Sway-plane (x-z) modes: participation in x or about y outweighs y and about x."""
    f = np.nan_to_num(np.abs(factors))
    return np.maximum(f[:, 0], f[:, 4]) >= np.maximum(f[:, 1], f[:, 3])


def ccx_path() -> str | None:
    return shutil.which("ccx")


def run_ccx(model: FrameModel, n_modes: int, timeout_s: float = 60.0) -> CcxResult:
    """Run CalculiX on the model in a temporary folder; never raises for a missing or failing
    ccx: the message then says why the frequencies are empty."""
    deck = ccx_deck(model, n_modes)
    exe = ccx_path()
    if exe is None:
        return CcxResult(np.zeros(0), "CalculiX cross-check skipped: `ccx` is not on PATH "
                         "(Debian/Ubuntu: apt install calculix-ccx)", deck)
    with tempfile.TemporaryDirectory(prefix="twin3d_ccx_") as tmp:
        (Path(tmp) / "frame.inp").write_text(deck, encoding="utf-8")
        env = dict(os.environ, OMP_NUM_THREADS="1", CCX_NPROC_EQUATION_SOLVER="1")
        try:
            proc = subprocess.run([exe, "frame"], cwd=tmp, capture_output=True, text=True,
                                  timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            return CcxResult(np.zeros(0), f"CalculiX cross-check: ccx ran past {timeout_s:g} s "
                             "and was stopped", deck)
        except OSError as e:
            return CcxResult(np.zeros(0), f"CalculiX cross-check: could not start ccx ({e})",
                             deck)
        dat = Path(tmp) / "frame.dat"
        err = next((ln.strip() for ln in proc.stdout.splitlines() if "*ERROR" in ln), "")
        if err or not dat.is_file():
            return CcxResult(np.zeros(0), f"CalculiX cross-check failed: {err or 'no .dat'}",
                             deck)
        try:
            freqs, factors = parse_dat(dat.read_text(encoding="utf-8", errors="replace"))
            freqs = freqs[in_plane(factors)]
        except ValueError as e:
            return CcxResult(np.zeros(0), f"CalculiX cross-check failed: {e}", deck)
    return CcxResult(freqs, f"CalculiX {exe}: B31 beams (expanded to C3D8I bricks), "
                     f"{model.leg_elements} elements per leg", deck)
