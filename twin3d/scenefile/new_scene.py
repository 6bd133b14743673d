"""A structure-only scene file written from a few storey values (`twin3d scene new`).

The frame drawn is the generated frame of `meshes.py` (the lab frame's proportions scaled to
the storey height); the model is one chain profile; the sensors are an accelerometer per floor,
one on the base when the base moves, and a force gauge where a force drives the structure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin3d.physics.shear_frame import Loading, modes
from twin3d.physics.structure import LinearModel

# the lab frame's proportions (scenes/three_storey.toml), per metre of storey pitch
_LAB_PITCH = 0.1778
_LAB = {"floor_size_m": (0.254, 0.3048, 0.0254), "leg_width_m": 0.0254,
        "leg_thickness_m": 0.003175, "base_clearance_m": 0.0254,
        "clamp_block_m": (0.0254, 0.0254, 0.0127), "foot_leg_m": 0.0508,
        "foot_thickness_m": 0.00635, "foot_depth_m": 0.0254, "table_size_m": (0.40, 0.45, 0.02)}
DEFAULT_ZETA = 0.02  # damping ratio of mode 1 when no storey damping is given
DEFAULT_HEIGHT_M = 3.0
DRIFT_RATIO = 1.0 / 200.0  # drift limit: 0.5 % of the storey height (a serviceability order)


@dataclass(frozen=True)
class FrameSpec:
    """What `scene new` is given: storey values (one per storey), the loading, the rate."""

    name: str
    mass_kg: tuple[float, ...]
    stiffness_n_per_m: tuple[float, ...]
    damping_ns_per_m: tuple[float, ...] | None  # None: stiffness-proportional, DEFAULT_ZETA
    heights_m: tuple[float, ...]
    loading: Loading
    rate_hz: float | None  # None: chosen from the highest mode

    @property
    def n(self) -> int:
        return len(self.mass_kg)


def storey_damping(mass_kg, stiffness_n_per_m, loading: Loading = Loading(),
                   zeta: float = DEFAULT_ZETA) -> np.ndarray:
    """Stiffness-proportional storey dampers c_i = (2 zeta / w_1) k_i: the first flexible mode
    of the frame as loaded (on its base, if that is a DOF) gets `zeta` exactly (C = beta K with
    an undamped base gives zeta_r = beta w_r / 2), higher modes more."""
    undamped = LinearModel.chain(mass_kg, stiffness_n_per_m, np.zeros(len(mass_kg)))
    f = modes(undamped, loading).frequencies_hz
    w1 = 2 * np.pi * f[f > 0][0]
    return 2 * zeta / w1 * np.asarray(stiffness_n_per_m, dtype=float)


def default_rate_hz(top_mode_hz: float) -> float:
    """A round sampling rate at least 5x the highest mode (>= 10 Hz): 10, 20, 50, 100, ..."""
    need = max(10.0, 5.0 * top_mode_hz)
    decade = 10 ** math.floor(math.log10(need))
    for step in (1, 2, 5, 10):
        if step * decade >= need:
            return float(min(step * decade, 10000.0))
    return 10000.0


def _num(x: float) -> str:
    """A TOML number with 10 significant digits (an integer-looking one reads back exactly)."""
    return f"{float(x):.10g}"


def _list(xs) -> str:
    return "[" + ", ".join(_num(x) for x in xs) + "]"


def scene_text(spec: FrameSpec) -> str:
    """The TOML text of the scene (validated by the caller through load_scene)."""
    n, load = spec.n, spec.loading
    damping = (np.asarray(spec.damping_ns_per_m) if spec.damping_ns_per_m is not None
               else storey_damping(spec.mass_kg, spec.stiffness_n_per_m, load))
    model = LinearModel.chain(spec.mass_kg, spec.stiffness_n_per_m, damping)
    freqs = modes(model, load).frequencies_hz
    rate = spec.rate_hz or default_rate_hz(float(freqs.max()))
    h = float(np.mean(spec.heights_m))
    s = h / _LAB_PITCH
    lab = {k: (tuple(v * s for v in val) if isinstance(val, tuple) else val * s)
           for k, val in _LAB.items()}
    ft = lab["floor_size_m"][2]
    uniform = max(spec.heights_m) - min(spec.heights_m) <= 1e-9 * h
    damping_note = ("given" if spec.damping_ns_per_m is not None else
                    f"stiffness-proportional, {100 * DEFAULT_ZETA:g} % on the first flexible mode")
    kind_note = {"base_acceleration": "base acceleration (a shake table or the ground)",
                 "floor_force": f"a force at floor {load.floor}",
                 "base_force": "a force on the base"}[load.kind]
    out = [
        f"# twin3d scene written by `twin3d scene new`: a {n}-storey shear frame alone "
        "(no motor, crank or actuator).",
        "# Units are SI throughout (the key names say which). Validated by "
        "twin3d.scenefile.records.",
        f'name = "{spec.name}"',
        f'description = "{n}-storey shear frame driven by {kind_note}"',
        "",
        "[geometry]",
        "# the generated frame of meshes.py: the lab frame's proportions scaled to the storey "
        "height",
        f"n_storeys = {n}",
        f"floor_size_m = {_list(lab['floor_size_m'])}",
        f"leg_width_m = {_num(lab['leg_width_m'])}",
        f"leg_thickness_m = {_num(lab['leg_thickness_m'])}",
        f"storey_pitch_m = {_num(h)}",
        f"free_leg_length_m = {_num(h - ft)}",
    ]
    if not uniform:
        out.append(f"storey_heights_m = {_list(spec.heights_m)}")
    out += [f"{k} = {_list(lab[k]) if isinstance(lab[k], tuple) else _num(lab[k])}"
            for k in ("base_clearance_m", "clamp_block_m", "foot_leg_m", "foot_thickness_m",
                      "foot_depth_m", "table_size_m")]
    out += [
        "",
        "[model]",
        'active = "chain"',
        "",
        "[profiles.chain]",
        'kind = "chain"',
        f'source = "twin3d scene new; storey damping {damping_note}"',
        f"mass_kg = {_list(spec.mass_kg)}",
        f"stiffness_n_per_m = {_list(spec.stiffness_n_per_m)}",
        f"damping_ns_per_m = {_list(damping)}",
        "",
        "[excitation]",
        f'kind = "{load.kind}"',
    ]
    if load.kind == "floor_force":
        out.append(f"floor = {load.floor}")
    if load.has_base:
        out += [f"base_mass_kg = {_num(load.base_mass_kg)}",
                f"base_stiffness_n_per_m = {_num(load.base_stiffness_n_per_m)}"
                + ("   # 0: a free base" if load.free_base else ""),
                f"base_damping_ns_per_m = {_num(load.base_damping_ns_per_m)}"]
    out += ["", "[sampling]", f"rate_hz = {_num(rate)}",
            f"block_samples = {max(1, int(round(rate / 20)))}   # 20 blocks per second", ""]
    # accelerometers about 1 V/g on a 24-bit +-10 V acquisition; a force gauge whose full
    # scale is the structure's weight
    acc = ('unit = "m/s^2"\nsensitivity_v_per_unit = 0.1\nnoise_rms = 0.0001\nadc_bits = 24\n'
           "full_scale_v = 10.0\n")
    weight = 9.81 * (sum(spec.mass_kg) + load.base_mass_kg)
    force = (f'unit = "N"\nsensitivity_v_per_unit = {_num(10.0 / weight)}\n'
             f"noise_rms = {_num(weight * 1e-5)}\nadc_bits = 24\nfull_scale_v = 10.0\n")
    if load.kind == "base_acceleration" or load.has_base:
        out.append(f'[sensors.acc_table]\nquantity = "table_acceleration"\n{acc}')
    if load.kind == "floor_force":
        out.append(f'[sensors.force_floor{load.floor}]\nquantity = "floor_force"\n'
                   f"floor = {load.floor}\n{force}")
    if load.kind == "base_force":
        out.append(f'[sensors.force_base]\nquantity = "base_force"\n{force}')
    for i in range(1, n + 1):
        out.append(f'[sensors.acc_floor{i}]\nquantity = "floor_acceleration"\nfloor = {i}\n{acc}')
    out += ["[limits]",
            f"drift_limit_m = {_num(DRIFT_RATIO * min(spec.heights_m))}   "
            "# 0.5 % of the storey height", ""]
    return "\n".join(out)
