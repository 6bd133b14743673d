"""Parameter records of the rig's parts, SI units. Pure data: the scene file fills them in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MotorParams:
    """BLDC motor, driver and crank-side inertia. Electrical values per phase (star)."""

    phase_resistance_ohm: float
    phase_inductance_h: float  # self minus mutual
    ke_v_s_per_rad: float  # per-phase flat-top back-EMF constant (line-to-line is twice this)
    pole_pairs: int
    inertia_kg_m2: float  # rotor plus crank disc
    viscous_n_m_s: float
    coulomb_n_m: float
    bus_voltage_v: float
    current_limit_a: float
    speed_kp: float  # duty per rad/s of speed error
    speed_ki: float  # duty per rad of integrated speed error
    thermal_resistance_k_per_w: float
    thermal_capacity_j_per_k: float
    ambient_c: float = 20.0
    coulomb_smoothing_rad_s: float = 0.5

    @property
    def torque_constant(self) -> float:
        """N m/A with two phases conducting on their flat tops."""
        return 2.0 * self.ke_v_s_per_rad


@dataclass(frozen=True)
class CrankParams:
    stroke_m: float  # crank eccentricity r: table displacement x_g = r sin(theta / G)
    gear_ratio: float  # motor turns per crank turn
    table_mass_kg: float  # slip table, yoke and everything moving with the base


@dataclass(frozen=True)
class ActuatorParams:
    floor: int  # 1-based
    base_mass_kg: float
    proof_mass_kg: float
    stiffness_n_per_m: float
    damping_ns_per_m: float
    force_factor_n_per_a: float  # Bl
    coil_resistance_ohm: float
    max_current_a: float
    installed: bool = True
