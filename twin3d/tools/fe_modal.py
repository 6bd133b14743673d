"""fe_modal: finite element modes of the blueprint frame, cross-checked with CalculiX.

The open replacement of Cristallo's ABAQUS page (TOOLS.md 6): a planar beam-frame model built
from the scene's [geometry] (`physics.fe_frame`), modes below f_max, a mesh-convergence series,
the same model run through `ccx` when it is installed, and an ABAQUS deck on request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin3d.tools._calculix import abaqus_deck, run_ccx
from twin3d.physics.fe_frame import (FrameSpec, build_frame, frame_modes, shear_building_stiffness)
from twin3d.scenefile.schema import SchemaError, spec
from twin3d.tools import Cancelled, Context, Plot

NAME = "fe_modal"
SUMMARY = "FE beam-frame modes of the blueprint geometry below f_max, checked against CalculiX"


@dataclass(frozen=True, kw_only=True)
class Inputs:
    profile: str = spec("", doc="unused by the FE model (it is built from [geometry]); kept "
                        "for the common tool contract")
    f_max_hz: float = spec(40.0, unit="Hz", lo=1.0, hi=2000.0, doc="keep modes below this")
    youngs_modulus_pa: float = spec(0.0, unit="Pa", lo=0.0, hi=1e12,
                                    doc="0: the scene's (Cristallo: 1.015e7 psi = 69.982 GPa)")
    density_kg_m3: float = spec(0.0, unit="kg/m^3", lo=0.0, hi=30000.0,
                                doc="0: the scene's (Cristallo: 2.5265e-4 slinch/in^3)")
    poisson_ratio: float = spec(-1.0, lo=-1.0, hi=0.5, doc="-1: the scene's")
    leg_thickness_m: float = spec(0.0, unit="m", lo=0.0, hi=0.05, doc="0: the scene's")
    free_leg_length_m: float = spec(0.0, unit="m", lo=0.0, hi=2.0, doc="0: the scene's")
    floor_mass_kg: float = spec(0.0, unit="kg", lo=0.0, hi=1000.0,
                                doc="0: density x slab volume")
    clamp_stiffness_n_m_per_rad: float = spec(0.0, unit="N m/rad", lo=0.0, hi=1e9,
                                              doc="rotational clamp spring per leg end; 0: rigid")
    elements_per_leg: int = spec(4, lo=1, hi=64, doc="beam elements per free leg length")
    beam_theory: str = spec("timoshenko", choices=("timoshenko", "euler-bernoulli"))
    convergence_max: int = spec(16, lo=1, hi=64, doc="largest mesh of the convergence series")
    calculix: bool = spec(True, doc="cross-check with CalculiX when ccx is on PATH")
    ccx_elements_per_leg: int = spec(16, lo=2, hi=64,
                                     doc="ccx mesh (its expanded bricks converge slower)")
    export_abaqus: str = spec("", doc="write an ABAQUS .inp of the model to this path")


@dataclass(frozen=True)
class Result:
    frequencies_hz: np.ndarray  # modes below f_max
    floor_sway: np.ndarray  # (modes, floors): largest |entry| = +1
    node_xz_m: np.ndarray  # (nodes, 2)
    node_displacements: np.ndarray  # (modes, nodes, 3): u_x, u_z, theta, floor-sway scale
    shear_building_hz: np.ndarray  # 12 E I / L^3 storeys with slab masses only
    storey_stiffness_n_per_m: float
    floor_mass_kg: float
    convergence_elements: np.ndarray  # elements per leg
    convergence_hz: np.ndarray  # (meshes, modes)
    ccx_frequencies_hz: np.ndarray  # empty when CalculiX did not run
    ccx_message: str
    abaqus_path: str


EXAMPLE: dict = {"elements_per_leg": 4, "f_max_hz": 40.0}


def frame_spec(inputs: Inputs, geometry) -> FrameSpec:
    """The FE model's geometry and material: the scene's [geometry] with the inputs' overrides."""
    g = geometry
    return FrameSpec(
        n_storeys=g.n_storeys, floor_size_m=tuple(g.floor_size_m),
        leg_width_m=g.leg_width_m, leg_thickness_m=inputs.leg_thickness_m or g.leg_thickness_m,
        free_leg_length_m=inputs.free_leg_length_m or g.free_leg_length_m,
        base_clearance_m=g.base_clearance_m, clamp_block_m=tuple(g.clamp_block_m),
        foot_leg_m=g.foot_leg_m, foot_thickness_m=g.foot_thickness_m,
        foot_depth_m=g.foot_depth_m,
        youngs_modulus_pa=inputs.youngs_modulus_pa or g.youngs_modulus_pa,
        density_kg_m3=inputs.density_kg_m3 or g.density_kg_m3,
        poisson_ratio=g.poisson_ratio if inputs.poisson_ratio < 0 else inputs.poisson_ratio,
        floor_mass_kg=inputs.floor_mass_kg,
        clamp_stiffness_n_m_per_rad=inputs.clamp_stiffness_n_m_per_rad)


def _shear_building(fs: FrameSpec) -> tuple[float, np.ndarray]:
    from twin3d.physics.structure import LinearModel, modal_analysis

    k = shear_building_stiffness(fs)
    n = fs.n_storeys
    model = LinearModel.chain([fs.slab_mass_kg] * n, [k] * n, [0.0] * n)
    return k, modal_analysis(model).frequencies_hz


def run(inputs: Inputs, ctx: Context) -> Result:
    fs = frame_spec(inputs, ctx.get_scene().data.geometry)
    ctx.report(0.0, "FE model")
    modes = frame_modes(build_frame(fs, inputs.elements_per_leg), inputs.f_max_hz,
                        inputs.beam_theory)
    n_modes = len(modes.frequencies_hz)
    meshes = [m for m in (1, 2, 4, 8, 16, 32, 64) if m <= inputs.convergence_max]
    conv = np.full((len(meshes), n_modes), np.nan)
    for k, m in enumerate(meshes):
        if ctx.cancelled():
            raise Cancelled("fe_modal cancelled during the convergence series")
        ctx.report(0.1 + 0.5 * k / len(meshes), f"convergence: {m} elements per leg")
        f = frame_modes(build_frame(fs, m), np.inf, inputs.beam_theory).frequencies_hz
        conv[k, :min(n_modes, f.size)] = f[:n_modes]
    if inputs.calculix and n_modes:
        if ctx.cancelled():
            raise Cancelled("fe_modal cancelled before the CalculiX run")
        ctx.report(0.65, "CalculiX")
        ccx = run_ccx(build_frame(fs, inputs.ccx_elements_per_leg), n_modes + 3)
        ccx_f, message = ccx.frequencies_hz[ccx.frequencies_hz <= inputs.f_max_hz * 1.05], \
            ccx.message
        ccx_f = ccx_f[:n_modes]
    else:
        ccx_f = np.zeros(0)
        message = "CalculiX cross-check not requested" if not inputs.calculix else \
            "no modes below f_max to cross-check"
    path = ""
    if inputs.export_abaqus:
        path = _export(inputs.export_abaqus, build_frame(fs, inputs.elements_per_leg),
                       inputs.f_max_hz)
    k, f_sb = _shear_building(fs)
    ctx.report(1.0, "done")
    return Result(frequencies_hz=modes.frequencies_hz, floor_sway=modes.floor_sway,
                  node_xz_m=modes.nodes, node_displacements=modes.node_displacements,
                  shear_building_hz=f_sb, storey_stiffness_n_per_m=k,
                  floor_mass_kg=fs.slab_mass_kg, convergence_elements=np.array(meshes),
                  convergence_hz=conv, ccx_frequencies_hz=ccx_f, ccx_message=message,
                  abaqus_path=path)


def _export(target: str, model, f_max_hz: float) -> str:
    p = Path(target).expanduser()
    if p.suffix.lower() != ".inp":
        raise SchemaError("fe_modal", "export_abaqus", "must be a path ending in .inp", target)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(abaqus_deck(model, f_max_hz), encoding="utf-8")
    except OSError as e:
        raise SchemaError("fe_modal", "export_abaqus", f"cannot write ({e.strerror})",
                          target) from None
    return str(p)


def summary(r: Result) -> list[str]:
    lines = [f"mode {i}: {f:.3f} Hz (shear building {sb:.2f} Hz)" for i, (f, sb) in
             enumerate(zip(r.frequencies_hz, r.shear_building_hz), 1)]
    if r.ccx_frequencies_hz.size:
        lines.append("CalculiX: " + ", ".join(f"{f:.3f}" for f in r.ccx_frequencies_hz) + " Hz")
    lines.append(r.ccx_message)
    if r.abaqus_path:
        lines.append(f"ABAQUS deck written to {r.abaqus_path}")
    return lines


def plots(r: Result) -> list[Plot]:
    x = r.convergence_elements.astype(float)
    return [Plot("mesh convergence", x, tuple(r.convergence_hz.T),
                 tuple(f"mode {i + 1}" for i in range(r.convergence_hz.shape[1])),
                 xlabel="elements per leg", ylabel="frequency (Hz)", logx=True)]
