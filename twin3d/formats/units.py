"""Unit names (the SEP-005 `unit_str` of a channel) and their conversion to SI.

Every channel is carried in SI: a file's or a map's unit is looked up here and its values
multiplied by the factor. A unit not in the table is kept as it is (factor 1), so a role check
can still say what it found. Roles name their quantity (`acc_*`: acceleration, `force_*`:
force), so a role knows its unit without a scene.
"""

from __future__ import annotations

import re

G0 = 9.80665  # standard gravity, m/s^2 (ISO 80000-3): what a unit "g" means
INCH, FOOT, LBF = 0.0254, 0.3048, 4.4482216152605

# unit name -> (SI unit, factor to SI)
_TABLE: dict[str, tuple[str, float]] = {
    "m/s^2": ("m/s^2", 1.0), "g": ("m/s^2", G0), "mg": ("m/s^2", 1e-3 * G0),
    "mm/s^2": ("m/s^2", 1e-3), "cm/s^2": ("m/s^2", 1e-2), "gal": ("m/s^2", 1e-2),
    "in/s^2": ("m/s^2", INCH), "ft/s^2": ("m/s^2", FOOT),
    "N": ("N", 1.0), "kN": ("N", 1e3), "mN": ("N", 1e-3), "lbf": ("N", LBF),
    "m": ("m", 1.0), "mm": ("m", 1e-3), "cm": ("m", 1e-2), "um": ("m", 1e-6), "in": ("m", INCH),
    "m/s": ("m/s", 1.0), "mm/s": ("m/s", 1e-3), "in/s": ("m/s", INCH),
    "s": ("s", 1.0), "ms": ("s", 1e-3), "Hz": ("Hz", 1.0),
    "V": ("V", 1.0), "mV": ("V", 1e-3), "A": ("A", 1.0), "Pa": ("Pa", 1.0),
    # frequency response functions: accelerance and transmissibility
    "m/s^2/N": ("m/s^2/N", 1.0), "g/N": ("m/s^2/N", G0), "g/lbf": ("m/s^2/N", G0 / LBF),
    "m/s^2/m/s^2": ("", 1.0), "g/g": ("", 1.0), "1": ("", 1.0), "": ("", 1.0),
}
# spellings seen in files: m/s2 (LMS, Dewesoft), m/s², m s^-2, (m/s^2)/N, ...
_SPELLING = [(re.compile(r"\s+"), ""), (re.compile(r"[²]"), "^2"), (re.compile(r"\*\*"), "^"),
             (re.compile(r"s2\b"), "s^2"), (re.compile(r"ms\^-2|ms-2|m\.s\^-2|m\.s-2"), "m/s^2"),
             (re.compile(r"[()]"), ""), (re.compile(r"µ|μ"), "u")]
_ALIASES = {"none": "", "-": "", "g's": "g", "gs": "g", "newton": "N", "n": "N", "kn": "kN",
            "lb": "lbf", "hz": "Hz", "pa": "Pa", "v": "V", "mv": "mV"}

ROLE_UNITS = {"acc": "m/s^2", "force": "N"}  # role prefix -> its quantity's SI unit
ROLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def canonical(unit: str) -> str:
    """A unit name written one way (`m/s2`, `m/s²`, `(m/s^2)/N` -> `m/s^2`, `m/s^2/N`)."""
    u = unit.strip()
    for pattern, repl in _SPELLING:
        u = pattern.sub(repl, u)
    return _ALIASES.get(u.lower(), u)


def to_si(unit: str) -> tuple[str, float]:
    """(SI unit, factor): values in `unit` times factor are in the SI unit. An unknown unit
    comes back unchanged with factor 1."""
    u = canonical(unit)
    return _TABLE.get(u, (u, 1.0))


def known(unit: str) -> bool:
    return canonical(unit) in _TABLE


def role_unit(role: str) -> str | None:
    """The SI unit a role's name implies (`acc_floor3` -> m/s^2, `force_base` -> N); None for a
    role outside the naming convention (its scene sensor says)."""
    return ROLE_UNITS.get(role.split("_", 1)[0]) if "_" in role else None
