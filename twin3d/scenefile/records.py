"""The scene file (TOML): the structure's geometry, model profiles, excitation, sensors and
limits, and (optional, the lab rig's) motor, crank and actuator. `load_scene(NAME|PATH)`
validates every field (see `schema`). A scene without [motor] and [crank] describes a
structure alone (`Scene.has_rig` False): its modes, FRFs and tools work, the rig does not."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin3d.physics.params import ActuatorParams, CrankParams, MotorParams
from twin3d.physics.rig import SENSOR_QUANTITIES
from twin3d.physics.shear_frame import INPUT_KINDS, Loading
from twin3d.physics.shear_frame import modes as loaded_modes
from twin3d.physics.structure import (LinearModel, Modes, leg_storey_stiffness,
                                rayleigh_damping, with_oscillator)
from twin3d.scenefile.schema import SchemaError, build, spec
from twin3d.paths import SCENES

SCENES_DIR = SCENES


@dataclass(frozen=True, kw_only=True)
class Geometry:
    n_storeys: int = spec(unit="", lo=1, hi=20)
    floor_size_m: tuple[float, ...] = spec(unit="m", lo=0.0, lo_open=True, length=3,
                                           doc="x (across the sway), y (sway direction), thickness")
    leg_width_m: float = spec(unit="m", lo=0.0, lo_open=True)
    leg_thickness_m: float = spec(unit="m", lo=0.0, lo_open=True)
    storey_pitch_m: float = spec(unit="m", lo=0.0, lo_open=True)
    free_leg_length_m: float = spec(unit="m", lo=0.0, lo_open=True)
    storey_heights_m: tuple[float, ...] = spec((), unit="m", lo=0.0, lo_open=True,
                                               doc="floor-to-floor, one per storey; empty: "
                                                   "storey_pitch_m each")
    base_clearance_m: float = spec(0.0254, unit="m", lo=0.0, doc="leg below floor 1's clamp")
    clamp_block_m: tuple[float, ...] = spec(unit="m", lo=0.0, lo_open=True, length=3)
    foot_leg_m: float = spec(unit="m", lo=0.0, lo_open=True)
    foot_thickness_m: float = spec(unit="m", lo=0.0, lo_open=True)
    foot_depth_m: float = spec(unit="m", lo=0.0, lo_open=True)
    table_size_m: tuple[float, ...] = spec(unit="m", lo=0.0, lo_open=True, length=3)
    density_kg_m3: float = spec(2700.0, unit="kg/m^3", lo=0.0, lo_open=True)
    youngs_modulus_pa: float = spec(69.98e9, unit="Pa", lo=0.0, lo_open=True)
    poisson_ratio: float = spec(0.33, lo=0.0, hi=0.5)


@dataclass(frozen=True, kw_only=True)
class Damping:
    kind: str = spec("rayleigh", choices=("rayleigh",))
    zeta: float = spec(unit="", lo=0.0, hi=1.0)
    modes: tuple[int, ...] = spec((1, 2), lo=1, length=2)


@dataclass(frozen=True, kw_only=True)
class Profile:
    """A structural model: a chain of storey values, or a beam model of the legs."""

    kind: str = spec(choices=("chain", "beam"))
    source: str = spec("")
    # chain
    mass_kg: tuple[float, ...] = spec((), unit="kg", lo=0.0, lo_open=True)
    stiffness_n_per_m: tuple[float, ...] = spec((), unit="N/m", lo=0.0, lo_open=True)
    damping_ns_per_m: tuple[float, ...] = spec((), unit="N s/m", lo=0.0)
    cubic_stiffness_n_per_m3: tuple[float, ...] = spec((), unit="N/m^3")
    # beam
    floor_mass_kg: float = spec(0.0, unit="kg", lo=0.0)
    youngs_modulus_pa: float = spec(0.0, unit="Pa", lo=0.0)
    leg_width_m: float = spec(0.0, unit="m", lo=0.0)
    leg_thickness_m: float = spec(0.0, unit="m", lo=0.0)
    leg_length_m: float = spec(0.0, unit="m", lo=0.0)
    legs_per_storey: int = spec(4, lo=1, hi=16)
    damping: Damping | None = spec(None)


@dataclass(frozen=True, kw_only=True)
class Model:
    active: str = spec()


@dataclass(frozen=True, kw_only=True)
class Motor:
    name: str = spec()
    source: str = spec()
    phase_resistance_ohm: float = spec(unit="ohm", lo=0.0, lo_open=True)
    phase_inductance_h: float = spec(unit="H", lo=0.0, lo_open=True)
    ke_v_s_per_rad: float = spec(unit="V s/rad", lo=0.0, lo_open=True)
    pole_pairs: int = spec(lo=1, hi=64)
    rotor_inertia_kg_m2: float = spec(unit="kg m^2", lo=0.0, lo_open=True)
    viscous_n_m_s: float = spec(unit="N m s/rad", lo=0.0)
    coulomb_n_m: float = spec(unit="N m", lo=0.0)
    bus_voltage_v: float = spec(unit="V", lo=0.0, lo_open=True, hi=1000.0)
    current_limit_a: float = spec(unit="A", lo=0.0, lo_open=True)
    speed_kp: float = spec(unit="1/(rad/s)", lo=0.0)
    speed_ki: float = spec(unit="1/rad", lo=0.0)
    thermal_resistance_k_per_w: float = spec(unit="K/W", lo=0.0, lo_open=True)
    thermal_capacity_j_per_k: float = spec(unit="J/K", lo=0.0, lo_open=True)
    ambient_c: float = spec(20.0, unit="degC", lo=-40.0, hi=60.0)
    physics_rate_hz: float = spec(20000.0, unit="Hz", lo=1000.0, hi=200000.0)


@dataclass(frozen=True, kw_only=True)
class Crank:
    stroke_m: float = spec(unit="m", lo=0.0, hi=0.01)
    gear_ratio: float = spec(1.0, lo=0.0, lo_open=True, hi=100.0)
    disc_inertia_kg_m2: float = spec(unit="kg m^2", lo=0.0)
    table_mass_kg: float = spec(unit="kg", lo=0.0, lo_open=True)


@dataclass(frozen=True, kw_only=True)
class Actuator:
    installed: bool = spec(True)
    floor: int = spec(1, lo=1)
    base_mass_kg: float = spec(unit="kg", lo=0.0)
    proof_mass_kg: float = spec(unit="kg", lo=0.0, lo_open=True)
    stiffness_n_per_m: float = spec(unit="N/m", lo=0.0, lo_open=True)
    damping_ns_per_m: float = spec(unit="N s/m", lo=0.0)
    force_factor_n_per_a: float = spec(unit="N/A", lo=0.0, lo_open=True)
    coil_resistance_ohm: float = spec(unit="ohm", lo=0.0, lo_open=True)
    max_current_a: float = spec(unit="A", lo=0.0, lo_open=True)


@dataclass(frozen=True, kw_only=True)
class Excitation:
    """How the structure is driven (physics.shear_frame.Loading): the base's acceleration (the
    lab rig's crank table), a force at one floor, or a force on a base of its own (mass on a
    spring to the ground; stiffness 0: a free base on rails)."""

    kind: str = spec("base_acceleration", choices=INPUT_KINDS)
    floor: int = spec(0, lo=0, doc="for floor_force: 1..N")
    base_mass_kg: float = spec(0.0, unit="kg", lo=0.0,
                               doc="a force input's base as a DOF; 0: a fixed base")
    base_stiffness_n_per_m: float = spec(0.0, unit="N/m", lo=0.0, doc="0: a free base")
    base_damping_ns_per_m: float = spec(0.0, unit="N s/m", lo=0.0)


# what a sensor can measure: the rig's table of how each is read from the physics outputs,
# then the input forces of a structure driven by a force (no rig: nothing of the rig's reads them)
STRUCTURE_QUANTITIES = ("floor_force", "base_force")
QUANTITIES = tuple(SENSOR_QUANTITIES) + STRUCTURE_QUANTITIES
# quantities only the rig's parts produce, and the part each needs
RIG_QUANTITIES = {"motor_speed": "motor", "phase_current": "motor", "bus_voltage": "motor",
                  "winding_temperature": "motor", "actuator_force": "actuator"}


@dataclass(frozen=True, kw_only=True)
class Sensor:
    """One acquisition channel; its name is its key under [sensors]."""

    quantity: str = spec(choices=QUANTITIES)
    unit: str = spec()
    floor: int = spec(0, lo=0, doc="for floor_acceleration and floor_force: 1..N")
    phase: str = spec("", choices=("", "a", "b", "c"))
    sensitivity_v_per_unit: float = spec(unit="V/unit", lo=0.0, lo_open=True)
    noise_rms: float = spec(0.0, unit="unit", lo=0.0)
    adc_bits: int = spec(16, lo=8, hi=32)
    full_scale_v: float = spec(10.0, unit="V", lo=0.0, lo_open=True)


@dataclass(frozen=True, kw_only=True)
class Sampling:
    rate_hz: float = spec(1000.0, unit="Hz", lo=10.0, hi=10000.0)
    block_samples: int = spec(50, lo=1, hi=10000)


@dataclass(frozen=True, kw_only=True)
class Limits:
    # bounds of any lab crank rig: a limit beyond them is a typo, not a rig. The motor's,
    # crank's and actuator's limits are required with those parts (RIG_LIMITS), absent without.
    max_speed_rpm: float | None = spec(None, unit="rpm", lo=0.0, lo_open=True, hi=20_000.0)
    max_accel_rpm_per_s: float | None = spec(None, unit="rpm/s", lo=0.0, lo_open=True,
                                             hi=100_000.0)
    drift_limit_m: float = spec(unit="m", lo=0.0, lo_open=True)
    stroke_range_m: tuple[float, ...] | None = spec(None, unit="m", lo=0.0, length=2)
    heartbeat_timeout_s: float = spec(2.0, unit="s", lo=0.1, hi=60.0)
    max_dvf_gain: float | None = spec(None, unit="A/(m/s)", lo=0.0, hi=1000.0)


RIG_LIMITS = ("max_speed_rpm", "max_accel_rpm_per_s", "stroke_range_m", "max_dvf_gain")


MESH_KINDS = ("structure", "floor", "leg", "clamp", "foot", "table", "base", "stator", "rotor",
              "shaft", "crank", "rod")


@dataclass(frozen=True, kw_only=True)
class UserMesh:
    """A mesh file (STL, OBJ or GLB, e.g. exported from FreeCAD) drawn instead of the generated
    parts of one kind; `structure` replaces floors, legs and clamps together. Vertices are
    scaled, rotated (degrees about x, y, z, in that order) and moved into scene axes (x sway,
    y up, z across; origin on the table top), then mapped onto the model by height."""

    file: str = spec(doc="path, relative to the scene file")
    scale: float = spec(1.0, lo=0.0, lo_open=True, doc="e.g. 0.001 for a file in mm")
    rotation_deg: tuple[float, ...] = spec((0.0, 0.0, 0.0), unit="deg", length=3)
    offset_m: tuple[float, ...] = spec((0.0, 0.0, 0.0), unit="m", length=3)


@dataclass(frozen=True, kw_only=True)
class SceneData:
    name: str = spec()
    description: str = spec("")
    geometry: Geometry = spec()
    model: Model = spec()
    profiles: dict[str, Profile] = spec()
    motor: Motor | None = spec(None, doc="the lab rig's: absent for a structure alone")
    crank: Crank | None = spec(None, doc="the lab rig's: absent for a structure alone")
    actuator: Actuator | None = spec(None)
    excitation: Excitation = spec(Excitation())
    sampling: Sampling = spec()
    sensors: dict[str, Sensor] = spec()
    limits: Limits = spec()
    meshes: dict[str, UserMesh] = spec({}, doc="part kind -> a user mesh file (MESH_KINDS)")


class RigPartMissing(SchemaError):
    """A rig part (motor, crank) asked of a scene that describes a structure alone."""


@dataclass(frozen=True, kw_only=True)
class Scene:
    """A validated scene: its data plus the derived physics parameters."""

    path: Path
    data: SceneData

    @property
    def n_storeys(self) -> int:
        return self.data.geometry.n_storeys

    @property
    def has_rig(self) -> bool:
        """True for the lab rig (a motor driving the table through a crank); False for a
        structure alone, where nothing of the rig (simulator, commands, motor panel) exists."""
        return self.data.motor is not None and self.data.crank is not None

    def require_rig(self, what: str) -> None:
        """Raise RigPartMissing (one line naming `what`) unless this scene has the rig."""
        if not self.has_rig:
            raise RigPartMissing(str(self.path), "motor", f"{what} needs the rig's [motor] and "
                                 "[crank]; this scene describes a structure alone")

    def loading(self) -> Loading:
        """How the structure is driven, for physics.shear_frame."""
        e = self.data.excitation
        return Loading(e.kind, e.floor, e.base_mass_kg, e.base_stiffness_n_per_m,
                       e.base_damping_ns_per_m)

    def input_role(self) -> str:
        """The channel role of the input: acc_table, force_floorK or force_base."""
        e = self.data.excitation
        return {"base_acceleration": "acc_table", "floor_force": f"force_floor{e.floor}",
                "base_force": "force_base"}[e.kind]

    def frame_modes(self, profile: str | None = None) -> Modes:
        """Modes of the structure as it stands (rig-carried model, on its base when the base
        is a DOF: a free base adds the rigid-body mode at 0 Hz, first)."""
        return loaded_modes(self.rig_model(profile), self.loading())

    def model(self, profile: str | None = None) -> LinearModel:
        name = profile or self.data.model.active
        if name not in self.data.profiles:
            raise SchemaError(str(self.path), "profile", "unknown profile", name,
                              ", ".join(sorted(self.data.profiles)))
        return profile_model(self.data.profiles[name], self.n_storeys)

    def with_active(self, profile: str | None) -> Scene:
        """This scene with `profile` (checked) as its active model, so that every reader of
        the active model (estimator, tracker, dry run, HUD) uses the same one."""
        if not profile or profile == self.data.model.active:
            return self
        self.model(profile)  # unknown: a SchemaError naming the known ones
        return dataclasses.replace(self, data=dataclasses.replace(
            self.data, model=dataclasses.replace(self.data.model, active=profile)))

    def carried(self, model: LinearModel) -> LinearModel:
        """`model` as the rig carries it: with the installed actuator hung on its floor, coil
        open (one more degree of freedom, the last); unchanged when none is installed."""
        a = self.data.actuator
        if a is None or not a.installed:
            return model
        return with_oscillator(model, a.floor, a.base_mass_kg, a.proof_mass_kg,
                               a.stiffness_n_per_m, a.damping_ns_per_m)

    def rig_model(self, profile: str | None = None) -> LinearModel:
        """The model of the structure the live twin estimates: `carried(model(profile))`."""
        return self.carried(self.model(profile))

    def cubic_stiffness(self, profile: str | None = None) -> np.ndarray:
        p = self.data.profiles[profile or self.data.model.active]
        return np.asarray(p.cubic_stiffness_n_per_m3 or np.zeros(self.n_storeys), dtype=float)

    def motor_params(self) -> MotorParams:
        self.require_rig("the motor")
        m, c = self.data.motor, self.data.crank
        return MotorParams(
            m.phase_resistance_ohm, m.phase_inductance_h, m.ke_v_s_per_rad, m.pole_pairs,
            m.rotor_inertia_kg_m2 + c.disc_inertia_kg_m2 / c.gear_ratio**2, m.viscous_n_m_s,
            m.coulomb_n_m, m.bus_voltage_v, m.current_limit_a, m.speed_kp, m.speed_ki,
            m.thermal_resistance_k_per_w, m.thermal_capacity_j_per_k, m.ambient_c)

    def crank_params(self) -> CrankParams:
        self.require_rig("the crank")
        c = self.data.crank
        return CrankParams(c.stroke_m, c.gear_ratio, c.table_mass_kg)

    def actuator_params(self) -> ActuatorParams | None:
        """The actuator's parameters; None when the scene has no [actuator]."""
        a = self.data.actuator
        if a is None:
            return None
        return ActuatorParams(a.floor, a.base_mass_kg, a.proof_mass_kg, a.stiffness_n_per_m,
                              a.damping_ns_per_m, a.force_factor_n_per_a, a.coil_resistance_ohm,
                              a.max_current_a, a.installed)


def profile_model(p: Profile, n: int) -> LinearModel:
    """The LinearModel of a profile for an n-storey frame."""
    if p.kind == "chain":
        return LinearModel.chain(p.mass_kg, p.stiffness_n_per_m, p.damping_ns_per_m)
    k = leg_storey_stiffness(p.youngs_modulus_pa, p.leg_width_m, p.leg_thickness_m,
                             p.leg_length_m, p.legs_per_storey)
    undamped = LinearModel.chain([p.floor_mass_kg] * n, [k] * n, [0.0] * n)
    C = rayleigh_damping(undamped.M, undamped.K, p.damping.zeta, p.damping.modes)
    return LinearModel(M=undamped.M, C=C, K=undamped.K)


def resolve(name_or_path: str | Path) -> Path:
    """A scene name (`three_storey`) from scenes/, or a path to a .toml file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists() or "/" in str(name_or_path):
        return p
    return SCENES_DIR / f"{name_or_path}.toml"


def load_scene(name_or_path: str | Path = "three_storey") -> Scene:
    """Read and validate a scene file, and nothing else (the user's saved profiles join by an
    explicit `scenefile.profiles.with_saved_profiles`). Raises SchemaError (one clear line)."""
    path = resolve(name_or_path)
    file = str(path)
    if not path.is_file():
        known = ", ".join(sorted(q.stem for q in SCENES_DIR.glob("*.toml")))
        raise SchemaError(file, "scene", "no such scene file", str(name_or_path),
                          f"a .toml path or one of: {known}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SchemaError(file, "toml", f"not valid TOML: {e}") from None
    except RecursionError:  # tomllib recurses per nesting level
        raise SchemaError(file, "toml", "nested too deep to be a scene file") from None
    data = build(SceneData, raw, file)
    _check_consistency(data, file)
    return Scene(path=path, data=data)


def _check_consistency(d: SceneData, file: str) -> None:
    n = d.geometry.n_storeys
    if d.model.active not in d.profiles:
        raise SchemaError(file, "model.active", "no profile of that name", d.model.active,
                          ", ".join(sorted(d.profiles)))
    for name, p in d.profiles.items():
        key = f"profiles.{name}"
        if p.kind == "chain":
            for fld in ("mass_kg", "stiffness_n_per_m", "damping_ns_per_m"):
                vals = getattr(p, fld)
                if len(vals) != n:
                    raise SchemaError(file, f"{key}.{fld}", "needs one value per storey", vals,
                                      f"{n} values (geometry.n_storeys)")
        else:
            for fld in ("floor_mass_kg", "youngs_modulus_pa", "leg_width_m", "leg_thickness_m",
                        "leg_length_m"):
                if getattr(p, fld) <= 0:
                    raise SchemaError(file, f"{key}.{fld}", "a beam profile needs it positive",
                                      getattr(p, fld), "> 0")
            if p.damping is None:
                raise SchemaError(file, f"{key}.damping", "a beam profile needs damping", None,
                                  "a table {kind, zeta, modes}")
            if max(p.damping.modes) > n or p.damping.modes[0] == p.damping.modes[1]:
                raise SchemaError(file, f"{key}.damping.modes", "two different modes needed",
                                  p.damping.modes, f"1..{n}")
        if p.cubic_stiffness_n_per_m3 and len(p.cubic_stiffness_n_per_m3) != n:
            raise SchemaError(file, f"{key}.cubic_stiffness_n_per_m3", "needs one value per storey",
                              p.cubic_stiffness_n_per_m3, f"{n} values")
    for kind in d.meshes:
        if kind not in MESH_KINDS:
            raise SchemaError(file, f"meshes.{kind}", "not a part kind", kind,
                              " | ".join(MESH_KINDS))
    if d.geometry.storey_heights_m and len(d.geometry.storey_heights_m) != n:
        raise SchemaError(file, "geometry.storey_heights_m", "needs one value per storey",
                          d.geometry.storey_heights_m, f"{n} values (geometry.n_storeys)")
    if d.actuator is not None and d.actuator.floor > n:
        raise SchemaError(file, "actuator.floor", "no such floor", d.actuator.floor, f"1..{n}")
    _check_rig_parts(d, file)
    _check_excitation(d, file)
    parts = {"motor": d.motor is not None,
             "actuator": d.actuator is not None and d.actuator.installed}
    e = d.excitation
    for name, s in d.sensors.items():
        key = f"sensors.{name}"
        if s.quantity in ("floor_acceleration", "floor_force") and not 1 <= s.floor <= n:
            raise SchemaError(file, f"{key}.floor", "no such floor", s.floor, f"1..{n}")
        if s.quantity == "phase_current" and not s.phase:
            raise SchemaError(file, f"{key}.phase", "a phase current needs its phase",
                              s.phase, "a | b | c")
        part = RIG_QUANTITIES.get(s.quantity)
        if part is not None and not parts[part]:
            raise SchemaError(file, f"{key}.quantity", f"this scene has no {part}", s.quantity,
                              "a quantity of the structure (accelerations, input force)")
        if s.quantity == "floor_force" and (e.kind != "floor_force" or s.floor != e.floor):
            raise SchemaError(file, f"{key}.floor", "a floor force is measured where the "
                              "excitation's force acts", s.floor,
                              f"excitation.kind floor_force at floor {e.floor or 'K'}")
        if s.quantity == "base_force" and e.kind != "base_force":
            raise SchemaError(file, f"{key}.quantity", "a base force needs excitation.kind "
                              "base_force", s.quantity, e.kind)


def _check_rig_parts(d: SceneData, file: str) -> None:
    """The rig comes whole (motor with crank) with its limits; a structure alone has neither."""
    if (d.motor is None) != (d.crank is None):
        have, lack = ("motor", "crank") if d.crank is None else ("crank", "motor")
        raise SchemaError(file, lack, f"missing: a scene with a [{have}] needs its [{lack}] "
                          "too (or neither, for a structure alone)")
    if d.motor is None:
        return
    for fld in RIG_LIMITS:
        if getattr(d.limits, fld) is None:
            raise SchemaError(file, f"limits.{fld}", "missing (a scene with the rig's motor "
                              "needs it)")
    lo, hi = d.limits.stroke_range_m
    if lo > hi or not lo <= d.crank.stroke_m <= hi:
        raise SchemaError(file, "crank.stroke_m", "outside limits.stroke_range_m",
                          d.crank.stroke_m, f"{lo:g}..{hi:g} m")
    # the rig's loop reads commands and heartbeats once per block: a block must be short
    # beside the watchdog's timeout (at a low sample rate, fewer samples per block)
    block_s = d.sampling.block_samples / d.sampling.rate_hz
    if block_s > d.limits.heartbeat_timeout_s / 4:
        raise SchemaError(file, "sampling.block_samples", f"a block lasts {block_s:g} s: the "
                          "rig reads its commands once per block", d.sampling.block_samples,
                          f"<= {d.limits.heartbeat_timeout_s / 4 * d.sampling.rate_hz:g} "
                          "(a quarter of limits.heartbeat_timeout_s)")
    if d.excitation.kind != "base_acceleration":
        raise SchemaError(file, "excitation.kind", "the rig's crank drives the table",
                          d.excitation.kind, "base_acceleration (or no [motor] and [crank])")


def _check_excitation(d: SceneData, file: str) -> None:
    e, n = d.excitation, d.geometry.n_storeys
    if e.kind == "floor_force" and not 1 <= e.floor <= n:
        raise SchemaError(file, "excitation.floor", "floor_force needs its floor", e.floor,
                          f"1..{n}")
    if e.kind != "floor_force" and e.floor:
        raise SchemaError(file, "excitation.floor", f"only floor_force has a floor (kind is "
                          f"{e.kind})", e.floor, "0 or absent")
    base = (e.base_mass_kg, e.base_stiffness_n_per_m, e.base_damping_ns_per_m)
    if e.kind == "base_acceleration" and any(base):
        raise SchemaError(file, "excitation.base_mass_kg", "a prescribed base acceleration "
                          "leaves no base DOF: base_* must be 0 or absent",
                          e.base_mass_kg, "0")
    if e.kind == "base_force" and e.base_mass_kg <= 0:
        raise SchemaError(file, "excitation.base_mass_kg", "a force on the base needs the "
                          "base's mass", e.base_mass_kg, "> 0 kg")
    if e.base_mass_kg == 0 and (e.base_stiffness_n_per_m or e.base_damping_ns_per_m):
        raise SchemaError(file, "excitation.base_mass_kg", "a base spring or damper needs a "
                          "base mass", e.base_mass_kg, "> 0 kg")
